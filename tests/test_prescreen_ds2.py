"""The DS202/DS203 pre-screens (`applies_to`) are necessary conditions, and sharper than substrings."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasec_scan.rule import Example
from rules.credential_passed_to_auth_api import CredentialPassedToAuthApi
from rules.secret_assigned_to_name import SecretAssignedToName

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RULES = {
    SecretAssignedToName: "secret_assigned_to_name.py",
    CredentialPassedToAuthApi: "credential_passed_to_auth_api.py",
}
BENIGN = (
    "class A: pass\n",
    "for key in d.keys():\n    print(key)\n",
    "required = True\n",
    'print(", ".join(items))\n',
    "import os\npath = os.path.join(base, 'x')\n",
    "def f(x):\n    return x + 1\n",
    "kwds = sorted(kw, key=len)\n",
    'msg = "you must pass a token to the client"\n',
    "data = self.buf.decode('utf-8')\n",
)
# Shapes the rules report that a substring pre-screen would easily miss (made-up, fake values).
ADVERSARIAL = {
    SecretAssignedToName: (
        'd = {"db pass": "Xk9#mQ2vL7pR"}\n',
        'cfg = {"db_passwor\\x64": "Xk9#mQ2vL7pR"}\n',
        'cfg = {"\\tpass": "Xk9#mQ2vL7pR"}\n',
        'headers = {"AUTHORIZATION": "Bearer Zk8Qw2Lm9Xp4Rt7Vn3Bc"}\n',
        '\u00e9pass = "Xk9#mQ2vL7pR"\n',
        'pass_ = "Xk9#mQ2vL7pR"\n',
        "(secret  # the value\n ) = 'Zk8Qw2Lm9Xp4Rt7Vn3Bc'\n",
        'head = "ghp_"\ntail = "N0tRea1F1xtureT0kenAbCdEfGhIjXXXXXX"\nvalue = head + tail\n',
        'value = chr(103) + chr(104)\n',
        'parts = ("ghp_N0tRea1", "F1xture")\nvalue = (""\n         .join(parts))\n',
        'value = (\n    "erutxiF1aeR0N_phg"  # reversed\n)[::-1]\n',
        'value = bytes.fromhex("6768705f").decode()\n',
    ),
    CredentialPassedToAuthApi: (
        ('m = __import__("smt" + "plib")\ns = m.SMTP("mail.example.com")\n'
         'getattr(s, "lo" + "gin")(user="bot", password="Tr0ub4dor&3x")\n'),
        'import sys\nm = getattr(sys, "mod" + "ules")["psy" + "copg2"]\nm.connect(password="Wq7zT9mP2v")\n',
        'import jwt\ntok = jwt.encode({"sub": "u"}, "Zk8Qw2Lm9Xp4Rt7Vn3Bc")\n',
        'import requests\nrequests.get("https://example.com", auth = (  # creds\n    "user", "Zk8Qw2Lm9Xp4"))\n',
    ),
}


def _code(example: str | Example) -> tuple[str, str]:
    return (example.code, example.path) if isinstance(example, Example) else (example, "example.py")


@pytest.mark.parametrize("rule", list(RULES), ids=lambda r: r.code)
def test_invalid_examples_and_fixture_pass_the_prescreen(rule) -> None:  # type: ignore[no-untyped-def]
    for example in rule.INVALID:
        code, path = _code(example)
        assert rule.applies_to(path, code), code
    fixture = FIXTURES / RULES[rule]
    assert rule.applies_to(str(fixture), fixture.read_text(encoding="utf-8"))


@pytest.mark.parametrize("rule", list(RULES), ids=lambda r: r.code)
def test_adversarial_shapes_pass_the_prescreen(rule) -> None:  # type: ignore[no-untyped-def]
    for code in ADVERSARIAL[rule]:
        assert rule.applies_to("example.py", code), code


@pytest.mark.parametrize("rule", list(RULES), ids=lambda r: r.code)
@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_does_not_pass(rule, text: str) -> None:  # type: ignore[no-untyped-def]
    assert not rule.applies_to("example.py", text)
