"""The read-only walks and the validation-free parse agree with libcst's own visit and parse."""

from __future__ import annotations

import ast
import collections
import gc
import weakref
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

import datasec_rules
import datasec_scan
from datasec_scan.tree import layout, parse_python, visitor_method_names, walk, walk_batched

SOURCES = sorted((Path(__file__).parent.parent / "fixtures").glob("*.py")) + [Path(ast.__file__), Path(collections.__file__)]


class _Recorder(cst.CSTVisitor):
    def __init__(self, prune: type | None = None) -> None:
        self.events: collections.Counter[tuple[str, str]] = collections.Counter()
        self.prune = prune

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not isinstance(node, layout()):
            self.events["visit", type(node).__name__] += 1
        return not (self.prune and isinstance(node, self.prune))

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if not isinstance(original_node, layout()):
            self.events["leave", type(original_node).__name__] += 1


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.left = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a pruned subtree: its calls are not seen

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(type(node.func).__name__)

    def leave_Call(self, original_node: cst.Call) -> None:
        self.left += 1


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_walk_sees_what_libcst_visit_sees(path: Path) -> None:
    module = parse_python(path.read_text(encoding="utf-8"))
    for prune in (None, cst.FunctionDef):
        ours, theirs = _Recorder(prune), _Recorder(prune)
        walk(module, ours)
        module.visit(theirs)
        assert ours.events == theirs.events
    ours_calls, their_calls = _Calls(), _Calls()
    walk(module, ours_calls)
    module.visit(their_calls)
    assert sorted(ours_calls.calls) == sorted(their_calls.calls)
    assert ours_calls.left == their_calls.left == len(ours_calls.calls)


class _Everything(cst.CSTVisitor):
    def __init__(self) -> None:
        self.seen: collections.defaultdict[str, list[tuple[str, int]]] = collections.defaultdict(list)

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.seen[type(node).__name__].append(("visit", id(node)))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.seen[type(original_node).__name__].append(("leave", id(original_node)))


def _seen_by(name: str, module: cst.Module, walker: Any) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    visitor = type(f"Sees{name}", (cst.CSTVisitor,), {
        f"visit_{name}": lambda self, node: seen.append(("visit", id(node))),
        f"leave_{name}": lambda self, node: seen.append(("leave", id(node)))})()
    walker(module, visitor)
    return sorted(seen)


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_walks_skip_only_subtrees_without_a_visited_node_type(path: Path) -> None:
    # Walks enter a node only when its type, or a type libcst's annotations allow below it, has a method:
    # for every node type in the file, a visitor of that type alone sees the nodes libcst's full visit sees (in
    # the walk's own order: dataclass fields, as before).
    module = parse_python(path.read_text(encoding="utf-8"))
    everything = _Everything()
    module.visit(everything)
    for name, expected in sorted(everything.seen.items()):
        if isinstance(getattr(cst, name, None), type) and not issubclass(getattr(cst, name), layout()):
            assert _seen_by(name, module, walk) == sorted(expected), name
            assert _seen_by(name, module, lambda m, v: walk_batched(m, [v])) == sorted(expected), name


def test_batched_walk_calls_every_visitor_and_ignores_pruning() -> None:
    module = parse_python("def f():\n    g(1)\nh(2)\n")
    first, second = _Calls(), _Calls()
    walk_batched(module, [first, second])
    assert first.calls == second.calls == ["Name", "Name"]  # one visitor cannot hide nodes from another


def test_parse_without_validation_builds_the_same_tree_and_restores_validation() -> None:
    text = Path(ast.__file__).read_text(encoding="utf-8")
    assert parse_python(text).deep_equals(cst.parse_module(text))
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")  # validation is back on for anything built after the parse
    with pytest.raises(cst.ParserSyntaxError):
        parse_python("def (:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("still not")


def test_no_code_uses_libcsts_rebuilding_visit() -> None:
    offenders = []
    for package in (datasec_scan, datasec_rules):
        for path in Path(package.__path__[0]).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "visit":
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, f"use datasec_scan.tree.walk instead of node.visit: {offenders}"


def test_a_visitor_declining_the_root_sits_the_tree_out() -> None:
    class Declines(_Calls):
        def __init__(self) -> None:
            super().__init__()
            self.left_module = False

        def visit_Module(self, node: cst.Module) -> bool:
            return False

        def leave_Module(self, original_node: cst.Module) -> None:
            self.left_module = True

    module = parse_python("g(1)\nh(2)\n")
    declines, stays = Declines(), _Calls()
    walk_batched(module, [declines, stays])
    assert declines.calls == [] and declines.left_module
    assert stays.calls == ["Name", "Name"]


def test_visitor_method_names_are_cached_without_keeping_local_classes_alive() -> None:
    def make() -> type:
        class Local(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None: ...

            def leave_Call(self, node: cst.Call) -> None: ...
        return Local

    local = make()
    assert visitor_method_names(local) == ("leave_Call", "visit_Name")
    assert visitor_method_names(local) is visitor_method_names(local)
    ref = weakref.ref(local)
    del local
    gc.collect()
    assert ref() is None


def test_node_positions_equal_libcsts_position_metadata() -> None:
    from libcst.metadata import MetadataWrapper, PositionProvider

    from datasec_scan.tree import node_positions

    source = ('import os\n\n\nclass A:\n    """doc"""\n\n    def f(self, x=(1,\n             2)):\n'
              '        return os.system(f"echo {x}")  # c\n\n\nif __name__ == "__main__":\n    A().f()\n')
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found = node_positions(module)
    assert dict(found) == dict(expected) and len(found) > 50


def test_positions_of_wanted_nodes_equal_the_full_pass() -> None:
    from libcst.metadata import MetadataWrapper, PositionProvider

    from datasec_scan.tree import names_in, node_positions

    source = ('import os\n\n\n@decorator(1,\n           2)\nclass A(Base):\n    """doc"""\n\n    def f(self, x=(1,\n'
              '             2)):\n        y = [a for a in x]  # c\n        return os.system(f"echo {x}" \\\n'
              '                         "more")\n\n\nif __name__ == "__main__":\n    A().f(); print(1)\n')
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    klass = module.body[1]
    wanted = [*names_in(module), klass, klass.body.body[1], module.body[-1]]
    found = node_positions(module, wanted)
    assert all(found[n] == expected[n] for n in wanted)
    # the pass stops once the last wanted node's code is generated: an early node alone, or one inside a class
    for early in ([module.body[0]], names_in(klass.decorators[0]), [klass.body.body[1].params]):
        found = node_positions(module, early)
        assert all(found[n] == expected[n] for n in early) and module.body[-1] not in found


class _Ifs(cst.CSTVisitor):
    def visit_If(self, node: cst.If) -> None:
        pass


def test_walks_still_enter_deep_subtrees_no_visitor_needs() -> None:
    # Expressions cannot hold an `if`, but a chain of 600 implicit string concatenations nests 600 deep, deeper
    # than libcst's recursive passes (positions of findings elsewhere in the file) can go: the walk must meet it.
    deep = "if x:\n    pass\nT = (\n" + "\n".join(f"    'x{i}'" for i in range(600)) + "\n)\n"
    module = parse_python(deep)
    with pytest.raises(RecursionError):
        walk_batched(module, [_Ifs()])
    with pytest.raises(RecursionError):
        walk(module, _Ifs())


def test_modules_hold_libcst_itself_once_it_is_used() -> None:
    """`lazycst` stands in for libcst until first use, then puts libcst itself in its place (an attribute of a
    module is looked up four times faster than one of the stand-in, and rules look them up by the million)."""
    import sys

    parse_python("x = 1\n")
    holders = [m for name, m in list(sys.modules.items())
               if name.split(".")[0] in ("datasec_scan", "datasec_rules", "rules") and "cst" in vars(m)]
    assert len(holders) > 20 and all(vars(m)["cst"] is sys.modules["libcst"] for m in holders)
