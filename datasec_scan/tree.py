"""libcst made cheap for reading: parsing without per-node validation, traversal without rebuilding nodes."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import typing
import weakref
from typing import Any, Callable, Iterable, Iterator, Mapping

from .lazycst import cst

if typing.TYPE_CHECKING:  # pragma: no cover
    from libcst.metadata import CodeRange


@functools.cache
def layout() -> tuple[type[cst.CSTNode], ...]:
    """Layout-only node types: no rule looks at them, and skipping them halves the walk."""
    return (cst.BaseParenthesizableWhitespace, cst.EmptyLine, cst.TrailingWhitespace, cst.Newline, cst.Comment,
            cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual, cst.LeftParen, cst.RightParen,
            cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace)


@functools.cache
def _empty_module() -> cst.Module:
    return cst.Module(body=())


def code_for_node(node: cst.CSTNode) -> str:
    """The source code of a node, as libcst generates it."""
    return _empty_module().code_for_node(node)


class Visitor:
    """A read-only visitor for `walk`: `visit_<Node>` (False skips the node's children) and `leave_<Node>` methods,
    or `on_visit`/`on_leave` overridden to see every node. A plain class: defining one does not import libcst."""

    def on_visit(self, node: cst.CSTNode) -> bool:
        return True

    def on_leave(self, node: cst.CSTNode) -> None:
        pass


# libcst's own recursive passes (positions, code generation) fail near 330 levels; stop before them so the
# file gets the reduced scan instead of a crash later.
MAX_TREE_DEPTH = 250

_Methods = dict[str, list[Callable[[Any], Any]]]
_SEQUENCES = (tuple, list)


def _skip_validation(node: cst.CSTNode) -> None:
    pass


def parse_python(source: str) -> cst.Module:
    """libcst's parse without its per-node validation: the parser only builds valid nodes, and checking
    every whitespace node with a regex is about a third of the parse (libcst's own comment on
    `CSTNode.__post_init__` says validation belongs elsewhere)."""
    post_init = cst.CSTNode.__post_init__
    cst.CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    try:
        return cst.parse_module(source)
    finally:
        cst.CSTNode.__post_init__ = post_init  # type: ignore[method-assign]


def _node_classes(annotation: Any) -> Iterator[type]:
    if isinstance(annotation, type):
        if issubclass(annotation, cst.CSTNode):
            yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _node_classes(argument)


@functools.cache
def _field_classes(node_type: type) -> tuple[tuple[str, tuple[type, ...]], ...]:
    """Each field of a node type with the node classes its annotation allows (none for text fields)."""
    hints = typing.get_type_hints(node_type)
    return tuple((f.name, tuple(_node_classes(hints.get(f.name)))) for f in dataclasses.fields(node_type))


def _is_a(kind: type, bases: tuple[type, ...]) -> bool:
    """`issubclass` by the method resolution order: libcst's node classes are ABCs, whose `issubclass` walks every
    subclass of the base the first time it is asked (most of the cost of a process's first walk)."""
    return any(base in kind.__mro__ for base in bases)


@functools.cache
def _subclasses(base: type) -> frozenset[type]:
    return frozenset({base}).union(*(_subclasses(sub) for sub in base.__subclasses__()))


@functools.cache
def _child_types(node_type: type) -> frozenset[type]:
    """The node types a node of this type may hold directly, by libcst's field annotations."""
    return frozenset().union(*(_subclasses(c) for _, classes in _field_classes(node_type) for c in classes))


class _Walker:
    """Tables for one set of skipped types: which fields of a node type to follow, and whether a value is a node to enter.
    Classifying by exact type keeps the walk off libcst's ABC `isinstance`, which is most of a naive walk. With
    `wanted` (the node type names some visitor has methods for), a node that holds nothing but layout is entered
    only when it is of such a type: names, strings, numbers and operators are a third of a tree and rarely
    visited. (Pruning more, by what types may occur below a node, saved no more on real code, cost a tenth of a
    second per process to tabulate, and must not skip deep subtrees, which the depth guard has to meet.)"""

    def __init__(self, skip: tuple[type, ...], wanted: frozenset[str] | None = None) -> None:
        self.skip = skip
        self.wanted = wanted
        self.fields: dict[type, tuple[str, ...]] = {}
        self.enter: dict[type, bool] = {}

    def children(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The node's children worth entering, in order (a list: cheaper than a generator for a few items)."""
        node_type = type(node)
        fields = self.fields.get(node_type)
        if fields is None:
            fields = self.fields[node_type] = tuple(
                name for name, classes in _field_classes(node_type)
                if any(self._enters(sub) for c in classes for sub in _subclasses(c)))
        enter = self.enter
        out = []
        for field in fields:
            value = getattr(node, field)
            if type(value) in _SEQUENCES:
                for item in value:
                    wanted = enter.get(type(item))
                    if wanted or wanted is None and self._classify(type(item)):
                        out.append(item)
            else:
                wanted = enter.get(type(value))
                if wanted or wanted is None and self._classify(type(value)):
                    out.append(value)
        return out

    def _enters(self, kind: type) -> bool:
        wanted = self.enter.get(kind)
        return self._classify(kind) if wanted is None else wanted

    def _classify(self, kind: type) -> bool:
        wanted = _is_a(kind, (cst.CSTNode,)) and not _is_a(kind, self.skip) and (
            self.wanted is None or kind.__name__ in self.wanted
            or any(not _is_a(child, self.skip) for child in _child_types(kind)))
        self.enter[kind] = wanted
        return wanted


@functools.cache
def _walker(skip: tuple[type, ...], wanted: frozenset[str] | None = None) -> _Walker:
    return _Walker(skip, wanted)


def _tables(visitors: list[Any]) -> tuple[_Methods, _Methods]:
    visit: _Methods = {}
    leave: _Methods = {}
    for visitor in visitors:
        for name in visitor_method_names(type(visitor)):
            kind, _, node_name = name.partition("_")
            (visit if kind == "visit" else leave).setdefault(node_name, []).append(getattr(visitor, name))
    return visit, leave


_METHOD_NAMES: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()


def visitor_method_names(visitor_type: type) -> tuple[str, ...]:
    """A visitor class's own `visit_<Node>`/`leave_<Node>` methods (libcst's empty stubs left out).
    Read from the class dictionaries, not `dir()`, and cached weakly: visitors defined inside functions are
    new classes on every call, so this must be cheap and must not keep them alive."""
    known = _METHOD_NAMES.get(visitor_type)
    if known is None:
        known = _METHOD_NAMES[visitor_type] = _own_method_names(visitor_type)
    return known


def _own_method_names(visitor_type: type) -> tuple[str, ...]:
    names = set()
    for klass in visitor_type.__mro__:
        if klass.__module__.startswith("libcst") or klass is object:
            continue
        names.update(name for name, value in vars(klass).items() if name.startswith(("visit_", "leave_"))
                     and callable(value) and not getattr(value, "_is_no_op", False))
    return tuple(sorted(names))


def _skip_for(visit: _Methods, leave: _Methods) -> tuple[type, ...]:
    return tuple(t for t in layout() if t.__name__ not in visit and t.__name__ not in leave)


def _walk_all(node: cst.CSTNode, depth: int, visit: _Methods, leave: _Methods, walker: _Walker) -> None:
    """`walk_batched`'s recursion (a module-level function: a nested one that calls itself is a reference cycle,
    which would hold the visitors, and through them the tree, until the cyclic collector runs)."""
    if depth > MAX_TREE_DEPTH:
        raise RecursionError(f"syntax tree deeper than {MAX_TREE_DEPTH}")
    name = type(node).__name__
    if depth:  # the root's visit methods ran in walk_batched
        for method in visit.get(name, ()):
            method(node)
    for child in walker.children(node):
        _walk_all(child, depth + 1, visit, leave, walker)
    for method in leave.get(name, ()):
        method(node)


def walk_batched(tree: cst.CSTNode, visitors: list[Any]) -> None:
    """One pass calling every visitor's `visit_<Node>`/`leave_<Node>`, as libcst's `visit_batched` does.
    Return values are ignored (one visitor cannot prune the others' children), except at the root: a
    visitor whose `visit_<Root>` returns False sits the rest of the tree out, as in a visit of its own."""
    root = type(tree).__name__
    active, idle = [], []
    for visitor in visitors:
        method = getattr(visitor, f"visit_{root}") if f"visit_{root}" in visitor_method_names(type(visitor)) else None
        (idle if method is not None and method(tree) is False else active).append(visitor)
    visit, leave = _tables(active)
    walker = _walker(_skip_for(visit, leave), frozenset(visit) | frozenset(leave))

    _walk_all(tree, 0, visit, leave, walker)
    for visitor in idle:
        if f"leave_{root}" in visitor_method_names(type(visitor)):
            getattr(visitor, f"leave_{root}")(tree)


def _walk_one(node: cst.CSTNode, depth: int, visitor: Any, generic: bool, visit: _Methods,
              leave: _Methods, walker: _Walker, each: Callable[[cst.CSTNode], None] | None = None) -> None:
    """`walk`'s and `walk_every`'s recursion (module-level for the reason `_walk_all` gives)."""
    if depth > MAX_TREE_DEPTH:
        raise RecursionError(f"syntax tree deeper than {MAX_TREE_DEPTH}")
    if each is not None:
        each(node)
    if generic:
        enter = visitor.on_visit(node)
    else:
        method = visit.get(type(node).__name__)
        enter = method is None or method[0](node) is not False
    if enter:
        for child in walker.children(node):
            _walk_one(child, depth + 1, visitor, generic, visit, leave, walker, each)
    if generic:
        visitor.on_leave(node)
    else:
        method = leave.get(type(node).__name__)
        if method is not None:
            method[0](node)


def _generic(visitor_type: type) -> bool:
    """Overrides `on_visit` or `on_leave` (those of `Visitor` and libcst's visitors only dispatch by name)."""
    return any(getattr(visitor_type, name, None) not in (getattr(Visitor, name), getattr(cst.CSTVisitor, name))
               for name in ("on_visit", "on_leave"))


def walk(tree: cst.CSTNode, visitor: Any) -> None:
    """`tree.visit(visitor)` for a read-only visitor (a `Visitor`, or a libcst one): `visit_<Node>` returning False
    skips the node's children, `leave_<Node>` always runs; a visitor overriding `on_visit`/`on_leave` gets every
    node through them."""
    generic = _generic(type(visitor))
    visit, leave = _tables([visitor])
    walker = _walker((), None) if generic else _walker(_skip_for(visit, leave), frozenset(visit) | frozenset(leave))
    _walk_one(tree, 0, visitor, generic, visit, leave, walker)


def walk_every(tree: cst.CSTNode, visitor: Any, each: Callable[[cst.CSTNode], None]) -> None:
    """`walk` that also calls `each(node)` on every node but layout, before the node's `visit_<Node>`: cheaper than
    a visitor overriding `on_visit`, which libcst dispatches by building each method's name."""
    visit, leave = _tables([visitor])
    _walk_one(tree, 0, visitor, False, visit, leave, _walker(_skip_for(visit, leave), None), each)


class _NameNodes(Visitor):
    def __init__(self) -> None:
        self.found: list[cst.Name] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.found.append(node)


class _StringNodes(Visitor):
    def __init__(self) -> None:
        self.found: list[cst.SimpleString] = []

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.found.append(node)


class _CallNodes(Visitor):
    def __init__(self) -> None:
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)


def calls_in(tree: cst.CSTNode) -> list[cst.Call]:
    """Every `Call` node under `tree` (itself included), in source order."""
    visitor = _CallNodes()
    walk(tree, visitor)
    return visitor.found


def names_in(tree: cst.CSTNode) -> list[cst.Name]:
    """Every `Name` node under `tree` (attribute names included), in source order. (Module-level visitors: a
    visitor class defined inside a function is a new class per call, and classes are cyclic garbage.)"""
    visitor = _NameNodes()
    walk(tree, visitor)
    return visitor.found


def strings_in(tree: cst.CSTNode) -> list[cst.SimpleString]:
    """Every `SimpleString` node under `tree`, in source order."""
    visitor = _StringNodes()
    walk(tree, visitor)
    return visitor.found


def node_positions(module: cst.Module, wanted: Iterable[cst.CSTNode] | None = None
                   ) -> Mapping[cst.CSTNode, CodeRange]:
    """Line/column ranges as libcst's `PositionProvider` gives them, for the `wanted` nodes (and their
    descendants) or every node. One code generation pass: `MetadataWrapper.resolve` adds a full metadata visit
    (libcst's transforming visitor, as slow as the code generation) that positions do not use, and recording
    every node's range is most of the pass's own cost."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    provider = PositionProvider()
    try:
        if wanted is None:
            provider._gen_impl(module)  # noqa: SLF001
        else:
            inside: set[cst.CSTNode] = set()
            for node in wanted:
                walk(node, _Descendants(inside))
            state = _wanted_positions()(default_indent=module.default_indent, default_newline=module.default_newline,
                                     provider=provider)
            state.wanted = inside
            state.pending = set(wanted)
            with contextlib.suppress(_AllPositioned):
                module._codegen(state)  # noqa: SLF001
        return provider._computed  # noqa: SLF001
    except AttributeError:  # a libcst whose internals moved: the public way
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


class _Descendants(Visitor):
    def __init__(self, found: set[cst.CSTNode]) -> None:
        self.found = found

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.found.add(node)
        return True


_NOTHING = contextlib.nullcontext()


class _AllPositioned(Exception):
    """Every wanted node has its range: the rest of the module's code need not be generated."""


@functools.cache
def _wanted_positions() -> type:
    """The code generation state below, built on first use (its base class is libcst's)."""
    from libcst.metadata.position_provider import PositionProvidingCodegenState

    class _WantedPositions(PositionProvidingCodegenState):
        """libcst's position-recording code generation, recording only the wanted nodes (a node's range may be taken
        from a child's, which is why the descendants of wanted nodes are wanted too); line and column are still
        counted over every token, so the recorded ranges are libcst's."""

        wanted: set[cst.CSTNode]
        pending: set[cst.CSTNode]  # the wanted nodes whose code is not generated yet: none left, the pass stops

        def before_codegen(self, node: cst.CSTNode) -> None:
            if node in self.wanted:
                super().before_codegen(node)

        def after_codegen(self, node: cst.CSTNode) -> None:
            if node in self.wanted:
                super().after_codegen(node)
                self.pending.discard(node)
                if not self.pending:
                    raise _AllPositioned

        def record_syntactic_position(self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None,
                                      end_node: cst.CSTNode | None = None):  # type: ignore[override]
            if node not in self.wanted:
                return _NOTHING
            return super().record_syntactic_position(node, start_node=start_node, end_node=end_node)

        def _update_position(self, value: str) -> None:
            if "\n" in value or "\r" in value:
                super()._update_position(value)
            else:
                self.column += len(value)

    return _WantedPositions
