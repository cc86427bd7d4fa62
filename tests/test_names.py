"""The name resolver sees through the dynamic-name tricks backdoors use to hide `os.system` and `exec`."""

from __future__ import annotations

import libcst as cst
import pytest

from datasec_scan.semantics.constants import fold
from datasec_scan.semantics.names import NameResolver

TRICKS = {
    "concat-import": ("__import__('o'+'s').system('id')", "os.system"),
    "import-module": ("import importlib\nimportlib.import_module('os').system('id')", "os.system"),
    "import-module-rebound": ("import importlib\nm = importlib.import_module('sub' + 'process')\nm.Popen('x')",
                              "subprocess.Popen"),
    "getattr-builtins": ("import builtins\ngetattr(builtins, 'ex'+'ec')('x')", "builtins.exec"),
    "getattr-dunder-builtins": ("getattr(__builtins__, 'exec')('x')", "builtins.exec"),
    "globals-subscript": ("globals()['eval']('x')", "builtins.eval"),
    "globals-builtins-subscript": ("globals()['__builtins__']['eval']('x')", "builtins.eval"),
    "locals-subscript": ("locals()['exec']('x')", "builtins.exec"),
    "vars-builtins": ("import builtins\nvars(builtins)['exec']('x')", "builtins.exec"),
    "builtins-dict": ("import builtins\nbuiltins.__dict__['exec']('x')", "builtins.exec"),
    "dunder-builtins-dict": ("__builtins__.__dict__['exec']('x')", "builtins.exec"),
    "dunder-builtins-subscript": ("exec_ = __builtins__['exec']\nexec_('x')", "builtins.exec"),
    "hex-and-unicode-escapes": ("getattr(__import__('\\x6f\\x73'), '\\u0073ystem')('id')", "os.system"),
    "fullwidth-identifier": ("\uff45\uff58\uff45\uff43('x')", "builtins.exec"),
    "from-import-alias": ("from subprocess import Popen as P\nP('x')", "subprocess.Popen"),
    "rebound-twice": ("import os\nf = os.system\ng = f\ng('id')", "os.system"),
    "rebound-builtin": ("e = eval\ne('x')", "builtins.eval"),
    "getattr-module-alias": ("import os as o\nx = getattr(o, 'sys' + 'tem')\nx('id')", "os.system"),
    "sys-modules": ("import sys\nsys.modules['os'].system('x')", "os.system"),
    "rot13-module": ("import codecs\ngetattr(__import__(codecs.decode('bf', 'rot13')), 'system')('id')", "os.system"),
    "reversed-slices": ("getattr(__import__('so'[::-1]), 'metsys'[::-1])('id')", "os.system"),
    "join-of-chars": ("import builtins as b\ngetattr(b, ''.join(['e','v','a','l']))('x')", "builtins.eval"),
    "join-map-chr": ("getattr(__import__(''.join(map(chr, [111, 115]))), 'system')('id')", "os.system"),
    "join-reversed": ("getattr(__import__(''.join(reversed('so'))), 'system')('id')", "os.system"),
    "star-import": ("from os import *\nsystem('id')", "os.system"),
    "rot13-lambda-helper": ("import codecs as c\nr = lambda s: c.decode(s, 'rot_13')\ngetattr(__import__(r('bf')), "
                            "r('flfgrz'))('id')", "os.system"),
    "chr-list-def-helper": ("A = [111, 115]\ndef j(x):\n    '''Join.'''\n    return ''.join(chr(i) for i in x)\n"
                            "getattr(__import__(j(A)), j([115, 121, 115, 116, 101, 109]))('id')", "os.system"),
    "shifted-codes": ("getattr(__import__(''.join(chr(int(n) - 7) for n in '118/122'.split('/'))), 'system')('id')",
                      "os.system"),
    "item-of-constant-tables": ("T = {'m': 'os', 'f': 'system'}\nP = ('x', 'sub', 'process')\n"
                                "getattr(__import__(T['m']), T['f'])('id')\n__import__(P[1] + P[-1]).Popen('x')",
                                "subprocess.Popen"),
    "import-fromlist": ("m = __import__('urllib.request', fromlist=['urlopen'])\nm.urlopen('u')",
                        "urllib.request.urlopen"),
    "module-docstring": ('"""Tools.\n\nId: os"""\ngetattr(__import__(__doc__.rsplit("Id: ", 1)[1].strip()), "system")("id")',
                         "os.system"),
    "partial-without-arguments": ("import functools\nrun = functools.partial(exec)\nrun('x')", "builtins.exec"),
    "helper-returning-a-sink": ("import builtins\ndef pick(n):\n    return vars(builtins)[n[::-1]]\npick('cexe')('x')",
                                "builtins.exec"),
    "lambda-returning-a-module-attribute": ("import os\nget = lambda m, a: getattr(m, a)\nget(os, 'sys' + 'tem')('id')",
                                            "os.system"),
    "accept-unpacking": ("import socket\ns = socket.socket()\nconn, addr = s.accept()\nconn.recv(10)",
                         "socket.socket().accept()[0].recv"),
}


def _last_call(source: str) -> tuple[NameResolver, cst.Call]:
    module = cst.parse_module(source + "\n")
    call = module.body[-1].body[0].value  # type: ignore[attr-defined]
    return NameResolver(module), call


@pytest.mark.parametrize("source,want", TRICKS.values(), ids=TRICKS.keys())
def test_trick_resolves(source: str, want: str) -> None:
    names, call = _last_call(source)
    assert want in names.call_names(call)


def test_import_without_fromlist_is_the_top_package() -> None:
    names, call = _last_call("m = __import__('urllib.request', fromlist=[])\nm.urlopen('u')")
    assert "urllib.urlopen" in names.call_names(call)


def test_helpers_are_inlined_only_when_plain() -> None:
    """A helper bound twice, decorated, with more than one statement, or called with keywords is not folded."""
    for source in ("def j(x):\n    return x + 'm'\nj = str\nj('os')", "@cache\ndef j(x):\n    return x\nj('os')",
                   "def j(x):\n    y = x\n    return y\nj('os')", "def j(x):\n    return x\nj(x='os')",
                   "def j(*x):\n    return x[0]\nj('os')"):
        names, call = _last_call(source)
        assert fold(call, names) is None, source
    names, call = _last_call("def j(x, y='m'):\n    return x + y\nj('os')")
    assert fold(call, names) == "osm"


def test_await_and_async_unpacking() -> None:
    module = cst.parse_module(
        "import asyncio\nasync def f():\n    r, w = await asyncio.open_connection('h', 1)\n    await r.readline()\n")
    func = module.body[1]
    call = func.body.body[-1].body[0].value.expression  # type: ignore[attr-defined]
    assert "asyncio.open_connection()[0].readline" in NameResolver(module).call_names(call)


def test_local_definitions_do_not_pass_for_builtins() -> None:
    names, call = _last_call("def exec(x):\n    return x\nexec('1')")
    assert "builtins.exec" not in names.call_names(call)


def test_unknown_dynamic_name_resolves_to_nothing_builtin() -> None:
    names, call = _last_call("import sys\ngetattr(__import__(sys.argv[1]), 'system')('id')")
    assert "os.system" not in names.call_names(call)


@pytest.mark.parametrize("expr,value", [
    ("'a' + 'b'", "ab"), ("''.join(reversed('cexe'))", "exec"), ("''.join(map(chr, [101, 120]))", "ex"),
    ("codecs.decode('rkrp', 'rot13')", "exec"), ("bytes.fromhex('6f73')", b"os"), ("'%s%s' % ('o', 's')", "os"),
    ("a / 'b'", None), ("1 ^ 3", 2), ("''.join(chr(c - 1) for c in [112, 116])", "os"),
    ("''.join([c for c in 'ab' if c])", None), ("int('42') - 2", 40), ("bytes([111, 115]).decode()", "os"),
    ("bytearray((111, 115))", b"os"), ("bytes([300])", None), ("bytes(['o'])", None),
])
def test_fold(expr: str, value: object) -> None:
    assert fold(cst.parse_expression(expr)) == value


def test_names_rebinding_each_other_many_times_resolve_in_bounded_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # `new = old.clone()` / `old = new` hundreds of times (a long migrations test module): each name's
    # meaning is the union over its bindings, and naive expansion of that union is exponential.
    lines = ["import os", "old = os.environ", "new = old"]
    for i in range(150):
        lines += [f"new = old.clone({i})", "old = new", f"mid{i % 7} = new.copy()", f"new = mid{i % 7}"]
    lines.append("old.send(1)")
    module = cst.parse_module("\n".join(lines) + "\n")
    call = module.body[-1].body[0].value
    calls = 0
    original = NameResolver._name

    def counted(self: NameResolver, name: str) -> set[str]:
        nonlocal calls
        calls += 1
        assert calls < 100_000, "name expansion is not bounded"
        return original(self, name)

    monkeypatch.setattr(NameResolver, "_name", counted)
    resolved = NameResolver(module).call_names(call)
    assert resolved and calls < 100_000


@pytest.mark.parametrize("lines,last,value", [
    # bound once but built from itself (CPython's test_strftime): no constant, and no exponential re-folding
    (["s = s[:8] + '0' + s[9:]"], "s", None),
    # each name twice the one before: folded once per name, not 2**n times
    (["a0 = 'x'"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(1, 16)], "a15", "x" * 2 ** 15),
    (["a0 = f()"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(1, 40)], "a39", None),
])
def test_fold_follows_each_name_once(monkeypatch: pytest.MonkeyPatch, lines: list[str], last: str,
                                     value: object) -> None:
    names = NameResolver(cst.parse_module("\n".join(lines) + "\n"))
    calls = 0
    original = NameResolver.single_value

    def counted(self: NameResolver, name: str) -> cst.BaseExpression | None:
        nonlocal calls
        calls += 1
        assert calls < 1_000, "folding is not bounded"
        return original(self, name)

    monkeypatch.setattr(NameResolver, "single_value", counted)
    assert fold(cst.parse_expression(last), names) == value
    assert fold(cst.parse_expression(f"{last} + ''"), names) == value  # and again, from what is remembered
    assert calls <= len(lines) + 1


def test_names_rebound_from_each_other_keep_every_origin() -> None:
    lines = ["import os", "old = os.environ", "new = old"]
    for i in range(200):
        lines += [f"new = old.clone({i})", "old = new"]
    module = cst.parse_module("\n".join(lines + ["old.send(1)"]) + "\n")
    call = module.body[-1].body[0].value
    assert "os.environ.send" in NameResolver(module).call_names(call)  # as with a handful of rebindings


def test_answers_for_temporary_nodes_never_go_to_a_later_node() -> None:
    # Rules resolve trees they build and drop (a decoder with a literal put in place of its parameter); a later node
    # may get a dropped node's id, and must not get its answer.
    resolver = NameResolver(cst.parse_module("import os, subprocess\n"))
    for i in range(200):
        text = "os.system" if i % 2 else "subprocess.run"
        temporary = cst.parse_expression(text)
        assert resolver.qualified_names(temporary) == {text}, i
        del temporary


def test_recursive_helpers_are_not_inlined_forever() -> None:
    names, call = _last_call("def f(x):\n    return f(x) + f(x)\nf('a')")
    assert fold(call, names) is None
    names, call = _last_call("def f(x):\n    return g(x)\ndef g(x):\n    return f(x) + 'b'\nf('a')")
    assert fold(call, names) is None


def test_helpers_returning_callables() -> None:
    # bound arguments would shift a later call's arguments: the partial is not the function (DS101 reports the binding)
    names, call = _last_call("import functools\nrun = functools.partial(exec, 'x')\nrun()")
    assert "builtins.exec" not in names.call_names(call)
    # a parameter is the caller's argument, not a module name of the same spelling
    names, call = _last_call("import os\nn = 'nothing'\ndef pick(n):\n    return getattr(os, n)\npick('system')('id')")
    assert "os.system" in names.call_names(call) and "os.nothing" not in names.call_names(call)
    # a module name is resolved outside the helper, even where a parameter has its spelling
    names, call = _last_call("import os\nf = os.system\ndef pick(f):\n    return f\npick(print)('id')")
    assert names.call_names(call) == {"builtins.print", "<local>.pick()"}
    # a helper that returns itself, or calls itself, stops
    for source in ("def f(x):\n    return f(x)\nf(1)()", "def f(x):\n    return f\nf(1)(2)",
                   "g = lambda x: g(g(x))\ng(1)()"):
        names, call = _last_call(source)
        assert not {n for n in names.call_names(call) if n.startswith("builtins.")}


def test_names_reached_through_computed_strings_are_marked() -> None:
    from datasec_scan.semantics.names import COMPUTED

    cases = [  # (source, the name its last call resolves to, whether that name is reached through a computed string)
        ("import builtins\ngetattr(builtins, 'ex' + 'ec')('x')", "builtins.exec", True),
        ("getattr(__import__('so'[::-1]), 'system')('id')", "os.system", True),
        ("import builtins\nvars(builtins)['lave'[::-1]]('x')", "builtins.eval", True),
        ("import builtins\ndef pick(n):\n    return getattr(builtins, n[::-1])\npick('cexe')('x')", "builtins.exec", True),
        ("import builtins\ngetattr(builtins, 'exec')('x')", "builtins.exec", False),
        ("import builtins\nNAME = 'exec'\ngetattr(builtins, NAME)('x')", "builtins.exec", False),
        ("import builtins\ndef pick(n):\n    return getattr(builtins, n)\npick('exec')('x')", "builtins.exec", False),
        ("import importlib\nimportlib.import_module('os').system('id')", "os.system", False),
    ]
    for source, name, computed in cases:
        names, call = _last_call(source)
        found = names.call_names(call)
        if computed:
            assert {name, COMPUTED + name} <= found, source
        else:
            assert name in found and not any(n.startswith(COMPUTED) for n in found), source


def test_invoked_lambdas_bind_their_parameters() -> None:
    from datasec_scan.tree import calls_in

    source = "run = (lambda f, g: lambda x: f(g(x, '<m>', 'exec')))(exec, compile)\n"
    module = cst.parse_module(source)
    inner = [c for c in calls_in(module) if isinstance(c.func, cst.Name) and c.func.value == "f"][0]
    assert "builtins.exec" in NameResolver(module, source).call_names(inner)
    assert "builtins.exec" in NameResolver(module).call_names(inner)


def test_class_attributes_resolve_for_self_and_cls() -> None:
    module = cst.parse_module("import os\nclass A:\n    run = staticmethod(os.system)\n    def go(self):\n"
                              "        self.run('id')\n")
    call = module.body[1].body.body[1].body.body[0].body[0].value  # type: ignore[attr-defined]
    assert "os.system" in NameResolver(module).call_names(call)
    other = cst.parse_module("import os\nclass A:\n    def go(self):\n        self.run('id')\n")
    call = other.body[1].body.body[0].body.body[0].body[0].value  # type: ignore[attr-defined]
    assert "os.system" not in NameResolver(other).call_names(call)


def test_a_helper_turning_byte_lists_into_names_is_folded() -> None:
    names, call = _last_call("n = lambda _: bytes(_).decode()\nn([101, 120, 101, 99])")
    assert fold(call, names) == "exec"


def test_keyed_items_of_a_built_object_resolve_and_of_a_value_do_not() -> None:
    names, call = _last_call("from pymongo import MongoClient\nMongoClient(u)['db']['users'].insert_one(x)")
    assert "pymongo.MongoClient()[][].insert_one" in names.call_names(call)
    names, call = _last_call("import os\nenv = os.environ.copy()\nenv['PATH'].split()")
    assert not any(n.startswith("os.environ") for n in names.call_names(call))
