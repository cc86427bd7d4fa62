"""Tree screens (`Rule.triggered_by_tree`, on CPython's ast) are necessary conditions, and spare libcst's parse."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from datasec_scan import engine
from datasec_scan.config import Config
from datasec_scan.plugins import RuleSet
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import TreeFolding, fold
from datasec_scan.semantics.names import NameResolver
from rules.auth_bypass_magic_value import AuthBypassMagicValue
from rules.secret_assigned_to_name import SecretAssignedToName
from test_prescreen_ds2 import ADVERSARIAL

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Names the module binds (`s`, `n`, `parts`, `w`, `u`: some fold, some do not) and names it does not (`t`, `d`);
# helpers `fold` may inline (`h`, `r`, `k`), containers it may index (`parts`, `table`) and an alias of codecs (`cc`).
PREAMBLE = ("s = 'abc'\nn = 3\nu = f()\nw = s + 'x'\nparts = ['a', 'b']\nloop = loop + 'x'\nimport codecs as cc\n"
            "table = {'k': 'v', 'a': s}\ndef h(x, y='-'):\n    '''Doc.'''\n    return x + y\nr = lambda v: v[::-1]\n"
            "def k(seq):\n    return ''.join(chr(c ^ 1) for c in seq)\n")
LEAVES = ("'ab'", "b'ab'", "'Xk9#mQ2vL7pR'", "3", "0x10", "s", "n", "u", "w", "t", "loop", "x.y", "True",
          'f"{s}"', 'f"{s!r}"', 'f"{s=}"', 'f"{t:>4}"', "'a' 'b'", "-1")


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        items = st.sampled_from(["[{0}, {1}]", "({0}, {1})", "reversed({0})", "map(chr, [{0}])", "parts",
                                 "[c for c in {0}]", "s", "t", "(chr(c - {1}) for c in {0})", "{0}.split({1})",
                                 "[v for v in {0} if v]"])
        listed = st.tuples(items, inner, inner).map(lambda x: x[0].format(x[1], x[2]))
        shapes = st.sampled_from([
            "{0} + {1}", "{0} % {1}", "{0} % ({1}, {1})", "{0} * {1}", "{0} ^ {1}", "{0} - {1}", "{0}[1:]",
            "{0}[::-1]", "{0}[1:2,]", "{0}[0]", "{0}.lower()", "{0}.replace({1}, {1})", "{0}.format({1})",
            "{0}.format(k={1})", "{0}.format(**d)", "{0}.format(*d)", "{0}.decode()", "{0}.encode()",
            "bytes.fromhex({0})", "codecs.decode({0}, {1})", "chr({0})", "str({0})", "bytes({0})", "({0})",
            "base64.b64decode({0})", "{0}.strip()", "g({0})", "h({0})", "h({0}, {1})", "r({0})", "k({0})",
            "table[{0}]", "parts[{0}]", "cc.decode({0}, {1})", "int({0})", "h(x={0})", "{0}.split({1})[0]",
            "{0}.rsplit({1}, 1)[-1]", "__doc__.split({0})[1]",
        ])
        joined = st.tuples(inner, listed).map(lambda x: f"{x[0]}.join({x[1]})")
        built = st.tuples(shapes, inner, inner).map(lambda x: x[0].format(x[1], x[2]))
        return built | joined | st.tuples(listed).map(lambda x: f"bytes({x[0]})")
    return st.recursive(st.sampled_from(LEAVES), extend, max_leaves=6)


def _both(expression: str) -> tuple[cst.BaseExpression, ast.expr] | None:
    try:
        return cst.parse_expression(expression), ast.parse(expression, mode="eval").body
    except (cst.ParserSyntaxError, SyntaxError):
        return None


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(_expressions())
@example("''.join(parts)")
@example('f"{s=}"')
@example("'abcdef'[1:2,]")
@example("'{}'.format(*d)")
@example("k([105, 106])")
@example("cc.decode('nop', 'rot13')")
@example("''.join(chr(int(c) - 1) for c in '105/106'.split('/'))")
@example("table['a'] + parts[-1]")
@example("'Id: x'.rsplit('Id:', 1)[1].strip()")
@example("'ab'.rsplit('ab', 1)[-1]")
def test_may_fold_tree_holds_wherever_fold_gives_a_value(expression: str) -> None:
    parsed = _both(expression)
    if parsed is None:
        return
    names = NameResolver(cst.parse_module(PREAMBLE))
    if fold(parsed[0], names) is not None or fold(parsed[0]) is not None:
        assert _folding().may_fold(parsed[1]), expression


def _folding() -> TreeFolding:
    folding = TreeFolding()
    for node in ast.walk(ast.parse(PREAMBLE)):
        folding.bind(node)
    return folding


def test_may_fold_on_the_tree_is_sharper_than_a_shape() -> None:
    for expression in ("'a' + t", "x.y + 'a'", "', '.join(items)", "g(s) + 'x'", "'a' - 'b'", "u + 'x'",
                       "loop + 'x'"):
        assert not _folding().may_fold(ast.parse(expression, mode="eval").body), expression


class _Unscreened(SecretAssignedToName):
    """DS202 as it would run without its tree screen: the oracle for what the screen may not drop."""

    @classmethod
    def triggered_by_tree(cls, tree, text: str) -> bool:  # type: ignore[no-untyped-def]
        return True


def _reports(code: str, path: str = "example.py") -> list:
    ruleset = RuleSet((_Unscreened,), (("test", "0"),))
    return [f for f in engine.scan_file(path, code.encode("utf-8"), ruleset, Config()).findings if f.rule == "DS202"]


def _screen(code: str) -> bool:
    tree = ast.parse(code)
    return SecretAssignedToName.triggered_by_tree(tree, code)


NAMES = ("password", "api_key", "token_type", "x", "Authorization", "db_pass", "TOKEN", "self.secret",
         'cfg["client_secret"]', "ｐａｓｓ", "ſecret")
STATEMENTS = ("{n} = {v}\n", "{n}: str = {v}\n", "d = {{'{k}': {v}}}\n", "call({k}={v})\n", "call({v})\n",
              "def f(a, {k}={v}): pass\n", "def f(*, {k}={v}): pass\n", "os.getenv('{k}', {v})\n",
              "a, {n} = 1, {v}\n", "lambda {k}={v}: 0\n")


@st.composite
def _programs(draw: st.DrawFn) -> str:
    lines = [draw(st.sampled_from(["", PREAMBLE, "head = 'ghp_'\ntail = 'N0tRea1F1xtureT0kenAbCdEfGhIjXXXXXX'\n"]))]
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(NAMES))
        key = name if name.isidentifier() else "secret_key"
        value = draw(_expressions() | st.sampled_from(["head + tail", "'Zk8Qw2Lm9Xp4Rt7Vn3Bc'",
                                                       "'Bearer Zk8Qw2Lm9Xp4Rt7Vn3Bc'"]))
        lines.append(draw(st.sampled_from(STATEMENTS)).format(n=name, k=key, v=value))
    return "".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(_programs())
@example("head = 'ghp_'\ntail = 'N0tRea1F1xtureT0kenAbCdEfGhIjXXXXXX'\nvalue = head + tail\n")
@example("ſecret = 'Zk8Qw2Lm9Xp4Rt7Vn3Bc'\n")
def test_ds202_tree_screen_never_drops_a_finding(code: str) -> None:
    try:
        ast.parse(code)
    except SyntaxError:
        return
    if not _screen(code):
        assert _reports(code) == [], code


def test_ds202_tree_screen_passes_every_invalid_example_and_the_fixture() -> None:
    codes = [e if isinstance(e, str) else e.code for e in SecretAssignedToName.INVALID]
    codes += list(ADVERSARIAL[SecretAssignedToName])
    codes.append((FIXTURES / "secret_assigned_to_name.py").read_text(encoding="utf-8"))
    for code in codes:
        assert _screen(code), code


@pytest.mark.parametrize("code", [
    'name = get_name()\nlabel = "Hello " + name\ntoken_type = "Bearer"\n',
    'def auth(token):\n    return "Bearer " + token\n',
    "def login(user, password=None):\n    return check(password)\n",
    'password = os.environ["DB_PASSWORD"]\nurl = base + "/api"\n',
])
def test_ds202_tree_screen_rejects_benign_files_the_text_screen_lets_through(code: str) -> None:
    assert SecretAssignedToName.applies_to("example.py", code)
    assert not _screen(code)


def test_libcst_parses_only_when_a_rule_holds_on_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    original = engine.parse_python

    def counting(source: str) -> cst.Module:
        parsed.append(source)
        return original(source)

    monkeypatch.setattr(engine, "parse_python", counting)
    ruleset = RuleSet((SecretAssignedToName,), (("test", "0"),))
    benign = 'def auth(token):\n    return "Bearer " + token\n'
    assert engine.scan_file("a.py", benign.encode(), ruleset, Config()).findings == ()
    assert parsed == []
    secret = 'SECRET_KEY = "q8#Nf2@kLp7!xZ0w$Rt5vB9m"\n'
    assert [f.rule for f in engine.scan_file("b.py", secret.encode(), ruleset, Config()).findings] == ["DS202"]
    assert parsed == [secret]


SUBJECTS = ("request.args.get('k')", "password", "token", "user.role", "x", "hashlib.sha256(pw.encode()).hexdigest()",
            "request.headers['X-Debug']", "'abcd'", "request.headers.get(key='X-Token')", "cfg['api_key']", "cfg[k]",
            "hashlib.sha256(data=pw).hexdigest()", "pw.strip().lower()", "r.args['k']", "body", "self.secret",
            "account.name", "get_token()", "(password)")
VALUES = ("'letmein-42'", "'ab'", "'enabled'", "KEY", "'lk' + 'jh42'", "b'Sup3rS3cret!'", "None", "42", "s", "t",
          "'%s-key' % 'master'")
TESTS = ("{s} == {v}", "{v} == {s}", "{s} in ({v}, 'other-value')", "{s} in [{v}]", "hmac.compare_digest({s}, {v})",
         "cmp({s}, {v})", "a and {s} == {v}", "not {s} == {v}", "{s} == {v} == {s}", "{s} != {v}", "x or {s} == {v}")
BODIES = ("return True", "session['admin'] = True", "login_user(u)", "return view(*args)", "pass", "return u",
          "return redirect('/admin')", "g.user = u", "return authenticate(u)", "auth.login(u)", "is_admin = True",
          "x, session['k'] = 1, 2", "return {'ok': True}", "return (True)", "ok = 1; return grant_access(u)",
          "current_user: object = u", "return None")
FUNCTIONS = ("login", "check_password", "helper", "verify_token", "index", "authenticate", "get_user_from_token",
             "process")
DECORATORS = ("", "@app.route('/')\n", "@login_required\n", "@router.post('/x')\n")


@st.composite
def _auth_programs(draw: st.DrawFn) -> str:
    lines = [draw(st.sampled_from(["", "KEY = 'mast' + 'erkey'\n", "from flask import request, session\n",
                                   "from flask import request as r\n"]))]
    for _ in range(draw(st.integers(1, 2))):
        test = draw(st.sampled_from(TESTS)).format(s=draw(st.sampled_from(SUBJECTS)), v=draw(st.sampled_from(VALUES)))
        func = draw(st.sampled_from(FUNCTIONS))
        decorator = draw(st.sampled_from(DECORATORS))
        setup = draw(st.sampled_from(["", "    body = request.args['k']\n", "    body = r.form['p']\n"]))
        if draw(st.booleans()):
            code = f"{decorator}def {func}(u, password, token, *args):\n{setup}    return {test}\n"
        else:
            code = (f"{decorator}def {func}(u, password, token, *args):\n{setup}    if {test}:\n        "
                    f"{draw(st.sampled_from(BODIES))}\n")
        wrap = draw(st.sampled_from(["", "class View:\n", "def outer_check():\n"]))
        if wrap:
            code = wrap + "".join("    " + line + "\n" for line in code.splitlines())
        lines.append(code)
        if draw(st.booleans()):
            lines.append(f"if {test}:\n    {draw(st.sampled_from(BODIES))}\n")
    return "".join(lines)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(_auth_programs())
@example("KEY = 'mast' + 'erkey'\ndef login(u, password, token):\n    if password == KEY:\n        return True\n")
def test_ds108_tree_screen_never_drops_a_finding(code: str) -> None:
    unscreened = type("Unscreened", (AuthBypassMagicValue,), {"triggered_by_tree": classmethod(lambda c, t, x: True)})
    ruleset = RuleSet((unscreened,), (("test", "0"),))
    if not AuthBypassMagicValue.triggered_by_tree(ast.parse(code), code):
        assert not engine.scan_file("example.py", code.encode(), ruleset, Config()).findings, code


def test_ds108_tree_screen_passes_the_invalid_examples_and_the_fixture() -> None:
    codes = [e if isinstance(e, str) else e.code for e in AuthBypassMagicValue.INVALID]
    codes.append((FIXTURES / "auth_bypass_magic_value.py").read_text(encoding="utf-8"))
    for code in codes:
        assert AuthBypassMagicValue.triggered_by_tree(ast.parse(code), code), code
    benign = "def check(user):\n    if user.role == 'admin':\n        return True\n    if x == 'on':\n        pass\n"
    assert AuthBypassMagicValue.applies_to("example.py", benign.replace("'admin'", "'no'"))
    assert not AuthBypassMagicValue.triggered_by_tree(ast.parse(benign.replace("'admin'", "'no'")), benign)


class _RaisingScreen(SecretAssignedToName):
    @classmethod
    def triggered_by_tree(cls, tree, text: str) -> bool:  # type: ignore[no-untyped-def]
        raise ValueError("broken screen")


class _Plain(Rule):
    """A rule without a tree screen: its presence means libcst parses anyway, so no tree is built."""

    code = "DS999"
    name = "plain"


def test_a_failing_screen_lets_its_rule_run_and_unscreened_rules_skip_the_tree(monkeypatch: pytest.MonkeyPatch
                                                                              ) -> None:
    secret = 'SECRET_KEY = "q8#Nf2@kLp7!xZ0w$Rt5vB9m"\n'
    ruleset = RuleSet((_RaisingScreen,), (("test", "0"),))
    assert [f.rule for f in engine.scan_file("b.py", secret.encode(), ruleset, Config()).findings] == ["DS202"]
    built: list[str] = []
    monkeypatch.setattr(engine.fallback, "quiet_ast", lambda text: built.append(text))
    engine.scan_file("c.py", secret.encode(), RuleSet((SecretAssignedToName, _Plain), (("test", "0"),)), Config())
    assert built == []
    assert _Plain.screens_tree() is False and SecretAssignedToName.screens_tree() is True


def test_no_tree_is_built_for_a_file_over_the_ast_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    monkeypatch.setattr(engine.fallback, "quiet_ast", lambda text: built.append(text))
    secret = 'SECRET_KEY = "q8#Nf2@kLp7!xZ0w$Rt5vB9m"\n'
    small = Config(limits=replace(Config().limits, max_fallback_ast_tokens=10))
    result = engine.scan_file("b.py", secret.encode(), RuleSet((SecretAssignedToName,), (("test", "0"),)), small)
    assert built == [] and [f.rule for f in result.findings] == ["DS202"]


def test_no_tree_is_built_when_many_rules_are_left(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    original = engine.fallback.quiet_ast
    monkeypatch.setattr(engine.fallback, "quiet_ast", lambda text: built.append(text) or original(text))
    secret = 'SECRET_KEY = "q8#Nf2@kLp7!xZ0w$Rt5vB9m"\n'
    many = tuple(type(f"Copy{i}", (SecretAssignedToName,), {"code": f"DS9{i:02d}"})
                 for i in range(engine.TREE_SCREENS_UP_TO + 1))
    result = engine.scan_file("b.py", secret.encode(), RuleSet(many, (("test", "0"),)), Config())
    assert built == [] and len(result.findings) == len(many)
    engine.scan_file("c.py", secret.encode(), RuleSet(many[:engine.TREE_SCREENS_UP_TO], (("test", "0"),)), Config())
    assert built == [secret]


BINDING_FORMS = '''
a = 1
b: str = "x"
c, d = 2, 3
with open(p) as e, ctx() as (f, g):
    h = 4
def outer():
    i = 5
    class Inner:
        j = 6
    for k in range(3):
        l = 7
    else:
        m = 8
try:
    n = 9
except E:
    o = 10
else:
    q = 11
finally:
    r = 12
match v:
    case 1:
        s = 13
while t:
    u = 14
if w:
    pass
elif y:
    z = 15
'''


def test_bindings_from_statements_equal_bindings_from_every_node() -> None:
    from datasec_scan import fallback

    by_nodes = fallback.bound_nodes(ast.parse(BINDING_FORMS))[1].bound
    by_statements = fallback.folding_of(ast.parse(BINDING_FORMS), BINDING_FORMS).bound
    assert {k: len(v) for k, v in by_statements.items()} == {k: len(v) for k, v in by_nodes.items()}
    assert set(by_nodes) >= set("abcdefghijlmnoqrsuz")
