"""Qualified names of expressions, seeing through aliases, `__import__`, `getattr`, `globals()[...]` and rebinding.

A light, flow-insensitive resolver: one walk of the module collects every binding of every name
(imports, assignments, `with ... as`, walrus, defs), and an expression resolves to the union of
what its names may be bound to ("any-match"). Names are dotted strings:

- `os.system`, `subprocess.Popen`, `builtins.exec` (a bare `exec` resolves to `builtins.exec`);
- the result of a call is written with `()`: `s = socket.socket(); s.connect` -> `socket.socket().connect`;
- a name defined in the module itself (def/class) is `<local>.name`, so it never passes for a builtin;
- a name reached through a string the module computes (`getattr(builtins, "cexe"[::-1])`, `__import__("o" + "s")`)
  is given twice: as itself and marked, `~builtins.exec` (`COMPUTED`), since legitimate code names what it calls.
"""

from __future__ import annotations

import builtins
import fnmatch
import unicodedata
from typing import Iterable, Sequence

from ..lazycst import cst

from ..tree import Visitor, walk
from .constants import INVOKED_LAMBDA, Const, fold, fold_str

BUILTIN_NAMES = frozenset(dir(builtins))
GLOBALS = "<globals>"  # what `globals()`, `locals()`, `vars()` and `__builtins__.__dict__` resolve to
_IMPORTERS = frozenset({"builtins.__import__", "importlib.import_module", "importlib.__import__"})
_NAMESPACES = frozenset({"builtins.globals", "builtins.locals", "builtins.vars"})
_PARTIAL = "functools.partial"
COMPUTED = "~"  # the mark of a name reached through a computed string (sorts after every name: `_MAX_NAMES` keeps names)
_CLASS_ATTRIBUTE = "self."  # the key a class-body assignment `X = v` is also bound under, as `self.X`
_MAX_NAMES = 32  # per expression, so a pathological module cannot blow up resolution
# Names a query may expand: names rebound from each other hundreds of times (`new = old.clone()`,
# `old = new` in a long test module) would otherwise cost exponential time.
_MAX_EXPANSIONS = 2_000


def _ident(name: str) -> str:
    return unicodedata.normalize("NFKC", name)  # Python itself folds identifiers this way


def dotted(expr: cst.BaseExpression) -> str | None:
    """`a.b.c` written out, without resolving anything; None for anything else."""
    kind = type(expr)  # (exact types: libcst's ABC `isinstance` costs a Python-level call when it fails)
    if kind is cst.Name:
        return _ident(expr.value)  # type: ignore[attr-defined]
    if kind is cst.Attribute:
        base = dotted(expr.value)  # type: ignore[attr-defined]
        return f"{base}.{_ident(expr.attr.value)}" if base else None  # type: ignore[attr-defined]
    return None


def _import_name(node: cst.Attribute | cst.Name) -> str:
    return dotted(node) or ""


class _Bindings(Visitor):
    def __init__(self) -> None:
        self.bound: dict[str, list[cst.BaseExpression | str]] = {}
        self.star_modules: list[str] = []
        self.functions: dict[str, list[cst.FunctionDef]] = {}

    def bind(self, name: str, value: cst.BaseExpression | str) -> None:
        self.bound.setdefault(_ident(name), []).append(value)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _import_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.bind(alias.asname.name.value, full)
            else:
                self.bind(full.split(".")[0], full.split(".")[0])

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = _import_name(node.module) if node.module is not None else ""
        module = "." * len(node.relative) + module
        if isinstance(node.names, cst.ImportStar):
            self.star_modules.append(module)
            return
        for alias in node.names:
            name = _import_name(alias.name)
            target = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            self.bind(target, f"{module}.{name}" if module else name)

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)) and len(
                target.elements) == len(value.elements):
            for t, v in zip(target.elements, value.elements):
                self._bind_target(t.value, v.value)
        elif isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Call, cst.Await)):
            # `conn, addr = s.accept()`: each name is the call's result indexed, `socket.socket().accept()[0]`
            for i, t in enumerate(target.elements):
                if not isinstance(t, cst.StarredElement):
                    index = cst.Index(cst.Integer(str(i)))
                    self._bind_target(t.value, cst.Subscript(value, [cst.SubscriptElement(index)]))

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self._bind_target(t.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, node.value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, node.value)

    def visit_For(self, node: cst.For) -> None:
        """`for load in (browser_cookie3.chrome, browser_cookie3.firefox)`: the name may be any of the functions or
        modules listed. Only for two or more items, so the name is never bound once (`fold` and its ast mirror never
        follow such a binding), and only when every item is an attribute (`module.function`): other items would add
        little to resolve and blur a same-named variable elsewhere in the module (the resolver is module-wide)."""
        if isinstance(node.target, cst.Name) and isinstance(node.iter, (cst.List, cst.Tuple, cst.Set)) and len(
                node.iter.elements) >= 2 and all(isinstance(e, cst.Element) and isinstance(e.value, cst.Attribute)
                                                 and dotted(e.value) is not None for e in node.iter.elements):
            for element in node.iter.elements:
                if isinstance(element, cst.Element):
                    self.bind(node.target.value, element.value)

    def visit_Call(self, node: cst.Call) -> None:
        """`(lambda f, g: lambda x: f(g(x)))(exec, compile)`: an invoked lambda's parameters are its arguments."""
        if isinstance(node.func, cst.Lambda):
            params = [*node.func.params.posonly_params, *node.func.params.params]
            for param, arg in zip(params, node.args):
                if arg.keyword is not None or arg.star:
                    break
                self.bind(param.name.value, arg.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name, node.item)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.bind(node.name.value, f"<local>.{_ident(node.name.value)}")
        self.functions.setdefault(_ident(node.name.value), []).append(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.bind(node.name.value, f"<local>.{_ident(node.name.value)}")
        if isinstance(node.body, cst.IndentedBlock):  # class attributes, as methods see them: `self.X`, `cls.X`
            for st in node.body.body:
                if isinstance(st, cst.SimpleStatementLine):
                    for small in st.body:
                        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(
                                small.targets[0].target, cst.Name):
                            self.bind(_CLASS_ATTRIBUTE + small.targets[0].target.value, small.value)

    def walk_statements(self, statements: Sequence[cst.CSTNode]) -> None:
        """The same bindings as a full visit, walking statements only: expressions (but for walrus) bind nothing."""
        for st in statements:
            if isinstance(st, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                for small in st.body:
                    handler = self._SMALL.get(type(small).__name__)
                    if handler is not None:
                        handler(self, small)
                continue
            if isinstance(st, cst.FunctionDef):
                self.visit_FunctionDef(st)
            elif isinstance(st, cst.ClassDef):
                self.visit_ClassDef(st)
            elif isinstance(st, cst.With):
                for item in st.items:
                    self.visit_WithItem(item)
            elif isinstance(st, cst.For):
                self.visit_For(st)
            for block in _blocks(st):
                self.walk_statements(block.body if isinstance(block, cst.IndentedBlock) else [block])

    _SMALL = {"Import": visit_Import, "ImportFrom": visit_ImportFrom, "Assign": visit_Assign,
              "AnnAssign": visit_AnnAssign}  # by libcst's type names


def _blocks(st: cst.CSTNode) -> list[cst.BaseSuite]:
    """The suites directly inside a compound statement (bodies, else/elif, except, finally, match cases)."""
    found: list[cst.BaseSuite] = []
    for name in ("body", "orelse", "finalbody", "handlers", "cases"):
        part = getattr(st, name, None)
        if part is None:
            continue
        for piece in part if isinstance(part, (list, tuple)) else [part]:
            if isinstance(piece, cst.BaseSuite):
                found.append(piece)
            elif isinstance(piece, cst.If):  # elif
                found.extend(_blocks(piece))
            elif isinstance(getattr(piece, "body", None), cst.BaseSuite):  # Else, Finally, ExceptHandler, MatchCase
                found.append(piece.body)
    return found


def _docstring(module: cst.Module) -> cst.SimpleString | None:
    first = module.body[0] if module.body else None
    if isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1 and isinstance(first.body[0], cst.Expr) and \
            isinstance(first.body[0].value, cst.SimpleString):
        return first.body[0].value
    return None


class NameResolver:
    """Resolves expressions of one module to the dotted names they may stand for."""

    def __init__(self, module: cst.Module, text: str | None = None) -> None:
        collector = _Bindings()
        if text is not None and ":=" not in text and not INVOKED_LAMBDA.search(text):
            collector.walk_statements(module.body)  # about as cheap as it gets; a full visit costs a parse
        else:
            walk(module, collector)
        self._bound = collector.bound
        docstring = _docstring(module)
        if docstring is not None:
            self._bound.setdefault("__doc__", []).append(docstring)  # payloads hidden in the module's docstring
        self._stars = tuple(collector.star_modules)
        self._functions = collector.functions
        # by node id, with the node: rules resolve temporary trees too (a decoder with a literal put in place of its
        # parameter), and a freed node's id is reused, so an id alone could answer for another node
        self._cache: dict[int, tuple[cst.BaseExpression, frozenset[str]]] = {}
        self._resolving: set[str] = set()
        self._names: dict[str, frozenset[str]] = {}  # a name's meaning, when it does not depend on the query
        self._cut: set[str] = set()  # names a cycle was cut at during the current expansion
        self._budget = _MAX_EXPANSIONS
        # `constants.fold` remembers what a name folds to: (value, the depth it was folded at)
        self.folded: dict[str, tuple[object, int]] = {}
        self.inlining: set[str] = set()  # helpers `constants.fold` is inlining (so a recursive one stops)
        # the helpers this resolver is inlining, innermost last: each parameter's argument and constant value
        self._arguments: list[tuple[dict[str, cst.BaseExpression], dict[str, Const]]] = []
        self._inlined: set[str] = set()

    def is_bound(self, name: str) -> bool:
        return _ident(name) in self._bound

    def class_attribute(self, expr: cst.BaseExpression) -> cst.BaseExpression | None:
        """The value a class body binds once to the attribute `self.X`/`cls.X` names, if any."""
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value in ("self", "cls"):
            return self.single_value(_CLASS_ATTRIBUTE + _ident(expr.attr.value))
        return None

    def single_value(self, name: str) -> cst.BaseExpression | None:
        """The expression a name is bound to when the module binds it exactly once, by assignment."""
        values = self._bound.get(_ident(name), [])
        if len(values) == 1 and isinstance(values[0], cst.BaseExpression) and name not in self._resolving:
            return values[0]
        return None

    def imports_only(self, name: str, module: str) -> bool:
        """Whether every binding of `name` is an import of `module` (`import codecs as _c`)."""
        values = self._bound.get(_ident(name), [])
        return bool(values) and all(v == module for v in values)

    def single_helper(self, name: str) -> tuple[list[cst.Param], cst.BaseExpression] | None:
        """The parameters and expression of a helper bound once to a lambda or an undecorated `def` whose body is one
        `return` (after a docstring), when it takes plain parameters only; else None."""
        value = self.single_value(name)
        if isinstance(value, cst.Lambda):
            params, expression = value.params, value.body
        else:
            found = self._functions.get(_ident(name), [])
            if len(found) != 1 or self._bound.get(_ident(name)) != [f"<local>.{_ident(name)}"]:
                return None
            node = found[0]
            if node.decorators or node.asynchronous is not None or not isinstance(node.body, cst.IndentedBlock):
                return None
            body = list(node.body.body)
            if len(body) == 2 and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1 and \
                    isinstance(body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, cst.SimpleString):
                body = body[1:]  # the docstring
            if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine) or len(body[0].body) != 1:
                return None
            returned = body[0].body[0]
            if not isinstance(returned, cst.Return) or returned.value is None:
                return None
            params, expression = node.params, returned.value
        if params.star_arg is not cst.MaybeSentinel.DEFAULT or params.kwonly_params or params.star_kwarg:
            return None
        return [*params.posonly_params, *params.params], expression

    def qualified_names(self, expr: cst.BaseExpression) -> frozenset[str]:
        found = self._cache.get(id(expr))
        if found is None or found[0] is not expr:
            self._budget = _MAX_EXPANSIONS
            found = self._cache[id(expr)] = (expr, frozenset(sorted(self._resolve(expr))[:_MAX_NAMES]))
        return found[1]

    def call_names(self, call: cst.Call) -> frozenset[str]:
        """What the called function may be: `os.system`, `builtins.exec`, `socket.socket().connect`."""
        return self.qualified_names(call.func)

    def matches(self, expr: cst.BaseExpression, patterns: Iterable[str]) -> str | None:
        """The first resolved name matching any pattern (exact or fnmatch-style `requests.*`), or None."""
        names = self.qualified_names(expr)
        for pattern in patterns:
            if pattern in names:
                return pattern
            if any(ch in pattern for ch in "*?["):
                for n in sorted(names):
                    if fnmatch.fnmatchcase(n, pattern):
                        return n
        return None

    def _name(self, name: str) -> set[str]:
        name = _ident(name)
        if self._arguments and name in self._arguments[-1][0]:
            return self._argument(name)
        if name == "__builtins__":
            return {"builtins"}
        if name in self._bound:
            known = self._names.get(name)
            if known is not None:
                return set(known)
            if name in self._resolving or self._budget <= 0:
                self._cut.add(name)  # a cycle (or the budget): what this expansion sees depends on the query
                return set()
            self._budget -= 1
            outer_cut, self._cut = self._cut, set()
            outer_arguments, self._arguments = self._arguments, []  # a module binding never sees a helper's parameters
            self._resolving.add(name)
            try:
                found: set[str] = set()
                for value in self._bound[name]:
                    found |= {value} if isinstance(value, str) else self._resolve(value)
                found = found or {f"<unknown>.{name}"}
            finally:
                self._arguments = outer_arguments
                self._resolving.discard(name)
                self._cut.discard(name)  # a cycle back to this name itself does not depend on the query
                inner_cut, self._cut = self._cut, outer_cut | self._cut
            if not inner_cut:
                self._names[name] = frozenset(found)
            return found
        if name in BUILTIN_NAMES:
            return {f"builtins.{name}"}
        return {f"{m}.{name}" for m in self._stars}

    def _resolve(self, expr: cst.BaseExpression) -> set[str]:
        if isinstance(expr, cst.Name):
            return self._name(expr.value)
        if isinstance(expr, cst.Attribute):
            attr = _ident(expr.attr.value)
            bases = self._resolve(expr.value)
            if attr == "__dict__" and bases & {"builtins"}:
                return {GLOBALS} | {f"{b}.__dict__" for b in bases}
            found = {f"{b}.{attr}" for b in bases}
            if isinstance(expr.value, cst.Name) and expr.value.value in ("self", "cls") and \
                    _CLASS_ATTRIBUTE + attr in self._bound:
                found |= self._name(_CLASS_ATTRIBUTE + attr)  # `_run = staticmethod(exec)` ... `cls._run(code)`
            return found
        if isinstance(expr, cst.Call):
            return self._resolve_call(expr)
        if isinstance(expr, cst.Subscript):
            return self._resolve_subscript(expr)
        if isinstance(expr, cst.BooleanOperation):
            return self._resolve(expr.left) | self._resolve(expr.right)
        if isinstance(expr, cst.IfExp):
            return self._resolve(expr.body) | self._resolve(expr.orelse)
        if isinstance(expr, cst.NamedExpr):
            return self._resolve(expr.value)
        if isinstance(expr, cst.Await):
            return self._resolve(expr.expression)
        return set()

    def _resolve_call(self, call: cst.Call) -> set[str]:
        funcs = self._resolve(call.func)
        args = [a.value for a in call.args if a.keyword is None and not a.star]
        found: set[str] = set()
        if funcs & _IMPORTERS and args:
            module = self._fold_str(args[0])
            if module:
                given = args[3] if len(args) > 3 else next(
                    (a.value for a in call.args if a.keyword is not None and a.keyword.value == "fromlist"), None)
                # `__import__("a.b", fromlist=["c"])` is `a.b` itself; without a fromlist, the top package `a`
                fromlist = given is not None and not (isinstance(given, (cst.List, cst.Tuple)) and not given.elements
                                                      or isinstance(given, cst.Name) and given.value == "None")
                top = module if "importlib.import_module" in funcs or fromlist else module.split(".")[0]
                found |= self._marked({top}, args[0])
        if "builtins.getattr" in funcs and len(args) >= 2:
            attr = self._fold_str(args[1])
            if attr:
                found |= self._marked({f"builtins.{attr}" if base == GLOBALS else f"{base}.{attr}"
                                       for base in self._resolve(args[0])}, args[1])
        if funcs & _NAMESPACES:
            found.add(GLOBALS)
        if funcs & {"builtins.staticmethod", "builtins.classmethod"} and args:
            found |= self._resolve(args[0])
        if _PARTIAL in funcs and len(args) == 1:  # `partial(f, **keywords)` is called as `f` (bound arguments would
            found |= self._resolve(args[0])       # shift a later call's arguments; the data flow sees those)
        called = _ident(call.func.value) if isinstance(call.func, cst.Name) else None
        if called is not None and not (self._arguments and called in self._arguments[-1][0]):
            found |= self._inline(called, call)
        if "builtins.vars" in funcs and args:
            found |= {GLOBALS for b in self._resolve(args[0]) if b == "builtins"}
        return found | {f"{f}()" for f in funcs if not f.startswith("<unknown>")}

    def _inline(self, name: str, call: cst.Call) -> set[str]:
        """What a call of the module's own one-expression helper returns (`def _g(n): return vars(builtins)[n[::-1]]`,
        `_g("cexe")`): its expression resolved with the parameters bound to the call's arguments."""
        helper = self.single_helper(name)
        if helper is None or name in self._inlined or any(
                a.keyword is not None or a.star for a in call.args) or len(call.args) > len(helper[0]):
            return set()
        params, expression = helper
        arguments: dict[str, cst.BaseExpression] = {}
        constants: dict[str, Const] = {}
        for i, param in enumerate(params):
            argument = call.args[i].value if i < len(call.args) else param.default
            if argument is None:
                return set()
            arguments[param.name.value] = argument
            value = fold(argument, self, 0, self._constants())
            if value is not None:
                constants[param.name.value] = value
        self._arguments.append((arguments, constants))
        self._inlined.add(name)  # (a helper met again while it is being inlined calls itself: not inlined)
        try:
            return self._resolve(expression)
        finally:
            self._inlined.discard(name)
            self._arguments.pop()

    def _argument(self, name: str) -> set[str]:
        """A parameter of the helper being inlined: its argument, resolved where the call was written."""
        innermost = self._arguments.pop()
        try:
            return self._resolve(innermost[0][name])
        finally:
            self._arguments.append(innermost)

    def _constants(self) -> dict[str, Const] | None:
        return self._arguments[-1][1] if self._arguments else None

    def _fold_str(self, expr: cst.BaseExpression) -> str | None:
        return fold_str(expr, self, self._constants())

    def _resolve_subscript(self, sub: cst.Subscript) -> set[str]:
        if len(sub.slice) != 1 or not isinstance(sub.slice[0].slice, cst.Index):
            return set()
        index = sub.slice[0].slice.value
        if isinstance(index, cst.Integer):  # an element of a call's result: `s.accept()[0]`
            return {f"{b}[{index.value}]" for b in self._resolve(sub.value) if b.endswith(")")}
        key = self._fold_str(index)
        if not key:
            return set()
        # an item of an object a class builds, by key: `MongoClient(uri)["db"]["users"]` is
        # `pymongo.MongoClient()[][]` (not of any call's result: `os.environ.copy()["x"]` is a value, not a client)
        found: set[str] = {f"{b}[]" for b in self._resolve(sub.value) if b.endswith("[]") and "(" in b or (
            b.endswith("()") and b[:-2].rsplit(".", 1)[-1][:1].isupper())}
        for base in self._resolve(sub.value):
            if base in (GLOBALS, "builtins", "builtins.__dict__"):
                bound = base == GLOBALS and (self.is_bound(key) or key == "__builtins__")
                found |= self._name(key) if bound else {f"builtins.{key}"}
            elif base == "sys.modules":
                found.add(key)
        return self._marked(found, index)

    def _marked(self, found: set[str], key: cst.BaseExpression) -> set[str]:
        """The names a lookup by `key` found, with their computed marks when the key is computed."""
        if self._plain(key):
            return found
        return found | {COMPUTED + name for name in found if not name.startswith(COMPUTED)}

    def _plain(self, key: cst.BaseExpression) -> bool:
        """A string literal, or a name (or helper parameter) given one: nothing computed."""
        for _ in range(8):  # (names bound to each other in a cycle)
            if not isinstance(key, cst.Name):
                break
            name = _ident(key.value)
            if self._arguments and name in self._arguments[-1][0]:
                key = self._arguments[-1][0][name]
                if not isinstance(key, cst.SimpleString):
                    return False  # (the argument was written in the caller: a name there is not looked up here)
            else:
                value = self.single_value(name)
                if value is None:
                    return False
                key = value
        return isinstance(key, cst.SimpleString)
