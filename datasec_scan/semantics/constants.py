"""Constant folding of string building: literals, `+`, `''.join`, `chr`, `bytes.fromhex`, `%`, f-strings, slices."""

from __future__ import annotations

import ast
import codecs
import operator
import re
from typing import TYPE_CHECKING, Union

from ..lazycst import cst

if TYPE_CHECKING:  # pragma: no cover
    from .names import NameResolver

Const = Union[str, bytes, int]
Env = dict  # a helper's or comprehension's own names: name -> Const, or a list of Consts for a sequence
MAX_FOLDED = 1_000_000  # characters; folding stops rather than build something huge
_MAX_DEPTH = 60
_MAX_ITEMS = 200_000  # items a comprehension is folded over
_INT_OPERATORS = {"BitXor": operator.xor, "Subtract": operator.sub, "Add": operator.add}  # by libcst type name


def literal_value(node: cst.SimpleString) -> str | bytes | None:
    """The value of a string literal token; `ast.literal_eval` of a single literal evaluates nothing."""
    try:
        value = ast.literal_eval(node.value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (str, bytes)) else None


def fold(expr: cst.BaseExpression, names: "NameResolver | None" = None, _depth: int = 0,
         env: "Env | None" = None) -> Const | None:
    """The constant value an expression builds, or None when it depends on anything not constant."""
    if _depth > _MAX_DEPTH:
        return None
    d = _depth + 1
    if isinstance(expr, cst.SimpleString):
        return literal_value(expr)
    if isinstance(expr, cst.Integer):
        try:
            return int(expr.value.replace("_", ""), 0)
        except ValueError:
            return None
    if isinstance(expr, cst.ConcatenatedString):
        return _join(fold(expr.left, names, d, env), fold(expr.right, names, d, env))
    if isinstance(expr, cst.FormattedString):
        parts = []
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value.replace("{{", "{").replace("}}", "}"))
            elif isinstance(part, cst.FormattedStringExpression) and part.format_spec is None and part.conversion is None:
                value = fold(part.expression, names, d, env)
                if value is None:
                    return None
                parts.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
            else:
                return None
        return "".join(parts)
    if isinstance(expr, cst.BinaryOperation):
        left, right = fold(expr.left, names, d, env), fold(expr.right, names, d, env)
        if isinstance(expr.operator, cst.Add):
            if isinstance(left, int) and isinstance(right, int):
                return left + right
            return _join(left, right)
        if isinstance(expr.operator, cst.Modulo) and isinstance(left, str) and isinstance(expr.right, cst.Tuple):
            items = _elements(expr.right, names, d, env)
            right = tuple(items) if items is not None else None  # type: ignore[assignment]
        if isinstance(expr.operator, cst.Modulo) and isinstance(left, str) and right is not None:
            try:
                return _bounded(left % right)
            except (TypeError, ValueError, KeyError):
                return None
        if isinstance(expr.operator, cst.Multiply):
            if isinstance(left, (str, bytes)) and isinstance(right, int) and len(left) * right <= MAX_FOLDED:
                return left * right
        if isinstance(left, int) and isinstance(right, int) and type(expr.operator).__name__ in _INT_OPERATORS:
            return _INT_OPERATORS[type(expr.operator).__name__](left, right)
        return None
    if isinstance(expr, cst.Subscript):
        return _fold_subscript(expr, names, d, env)
    if isinstance(expr, cst.Call):
        return _fold_call(expr, names, d, env)
    if isinstance(expr, cst.Name):
        if env is not None and expr.value in env:
            bound = env[expr.value]
            return None if isinstance(bound, list) else bound
        return _fold_name(expr.value, names, d) if names is not None else None
    return None


def _fold_name(name: str, names: "NameResolver", d: int) -> Const | None:
    """A name bound once, folded once per module: `s = s[:8] + '0' + s[9:]` or `b = a + a; c = b + b` would
    otherwise cost time exponential in the depth. A name met again while it is being folded is not constant."""
    known = names.folded.get(name)
    # A value is reusable anywhere; "not constant" only where no more depth is left than when it was found.
    if known is not None and (known[0] is not None or d >= known[1]):
        return known[0]  # type: ignore[return-value]
    value = names.single_value(name)
    if value is None:
        return None
    names.folded[name] = (None, 0)
    result = fold(value, names, d)
    names.folded[name] = (result, d)
    return result


def fold_str(expr: cst.BaseExpression, names: "NameResolver | None" = None, env: "Env | None" = None) -> str | None:
    value = fold(expr, names, 0, env)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _bounded(value: Const) -> Const | None:
    return value if not isinstance(value, (str, bytes)) or len(value) <= MAX_FOLDED else None


def _join(left: Const | None, right: Const | None) -> Const | None:
    if isinstance(left, str) and isinstance(right, str) or isinstance(left, bytes) and isinstance(right, bytes):
        return _bounded(left + right)  # type: ignore[operator]
    return None


def _elements(expr: cst.BaseExpression, names: "NameResolver | None", d: int,
              env: "Env | None" = None) -> list[Const] | None:
    if isinstance(expr, (cst.List, cst.Tuple)):
        values = [fold(e.value, names, d, env) if isinstance(e, cst.Element) else None for e in expr.elements]
        return None if any(v is None for v in values) else values  # type: ignore[return-value]
    if isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
        return _comprehension(expr, names, d, env)
    if isinstance(expr, cst.Name):
        bound = env.get(expr.value) if env is not None else None
        if isinstance(bound, list):
            return bound  # a helper's parameter given a list of constants
        value = names.single_value(expr.value) if names is not None and bound is None else None
        if isinstance(value, (cst.List, cst.Tuple)) and d < _MAX_DEPTH:
            return _elements(value, names, d + 1)  # `"".join(PARTS)`, `PARTS = ["aW1w", "b3J0"]`
    if isinstance(expr, cst.Call) and len(expr.args) == 1 and dotted_is(expr.func, "reversed"):
        inner = _elements(expr.args[0].value, names, d, env)  # ''.join(reversed("...")))
        return inner[::-1] if inner is not None else None
    if isinstance(expr, cst.Call) and len(expr.args) == 2 and dotted_is(expr.func, "map") and dotted_is(
            expr.args[0].value, "chr"):
        codes = _elements(expr.args[1].value, names, d, env)  # ''.join(map(chr, [105, 109, ...]))
        if codes is None or not all(isinstance(c, int) and 0 <= c < 0x110000 for c in codes):
            return None
        return [chr(c) for c in codes]  # type: ignore[arg-type]
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in (
            "split", "rsplit") and all(a.keyword is None for a in expr.args) and len(expr.args) <= 2:
        base = fold(expr.func.value, names, d, env)  # "105/109/112".split("/"), doc.rsplit("Id:", 1)
        sep = fold(expr.args[0].value, names, d, env) if expr.args else None
        most = fold(expr.args[1].value, names, d, env) if len(expr.args) > 1 else -1
        if isinstance(base, str) and (sep is None and not expr.args or isinstance(sep, str) and sep) and isinstance(
                most, int):
            return getattr(base, expr.func.attr.value)(sep, most)  # type: ignore[no-any-return]
        return None
    value = fold(expr, names, d, env)
    return list(value) if isinstance(value, (str, bytes)) else None


def _fold_subscript(expr: cst.Subscript, names: "NameResolver | None", d: int,
                    env: "Env | None" = None) -> Const | None:
    if len(expr.slice) != 1:
        return None
    sl = expr.slice[0].slice
    if isinstance(sl, cst.Index) and isinstance(expr.value, cst.Name) and names is not None and (
            env is None or expr.value.value not in env):
        return _fold_item(expr.value.value, sl.value, names, d, env)  # `PARTS[2]`, `TABLE["k"]`
    if isinstance(sl, cst.Index) and isinstance(expr.value, cst.Call):  # `text.rsplit(":", 1)[1]`
        items = _elements(expr.value, names, d, env) if isinstance(expr.value.func, cst.Attribute) and \
            expr.value.func.attr.value in ("split", "rsplit") else None
        index = fold(sl.value, names, d, env) if not isinstance(sl.value, cst.UnaryOperation) else _negative(sl.value)
        if items is not None and isinstance(index, int) and -len(items) <= index < len(items):
            return items[index]
        return None
    value = fold(expr.value, names, d, env)
    if not isinstance(value, (str, bytes)):
        return None
    if isinstance(sl, cst.Slice):
        bounds = []
        for part in (sl.lower, sl.upper, sl.step):
            if part is None:
                bounds.append(None)
                continue
            folded = fold(part, names, d, env) if not isinstance(part, cst.UnaryOperation) else _negative(part)
            if not isinstance(folded, int):
                return None
            bounds.append(folded)
        try:
            return value[slice(*bounds)]
        except ValueError:
            return None
    return None


def _negative(node: cst.UnaryOperation) -> int | None:
    if isinstance(node.operator, cst.Minus) and isinstance(node.expression, cst.Integer):
        value = fold(node.expression)
        return -value if isinstance(value, int) else None
    return None


def _fold_call(call: cst.Call, names: "NameResolver | None", d: int,
               env: "Env | None" = None) -> Const | None:
    args = [a.value for a in call.args if a.keyword is None and not a.star]
    func = call.func
    if isinstance(func, cst.Attribute):
        method = func.attr.value
        if method == "join" and len(args) == 1:
            sep = fold(func.value, names, d, env)
            items = _elements(args[0], names, d, env)
            if isinstance(sep, str) and items is not None and all(isinstance(i, str) for i in items):
                return _bounded(sep.join(items))  # type: ignore[arg-type]
            return None
        if method == "fromhex" and len(args) == 1 and dotted_is(func.value, "bytes", "bytearray"):
            text = fold(args[0], names, d, env)
            try:
                return bytes.fromhex(text) if isinstance(text, str) else None
            except ValueError:
                return None
        if method in ("decode", "encode") and _is_codecs(func.value, names) and len(args) == 2:
            text, codec = fold(args[0], names, d, env), fold(args[1], names, d, env)
            if isinstance(text, str) and isinstance(codec, str) and codec.lower().replace("-", "_") in ("rot13", "rot_13"):
                return codecs.decode(text, "rot13")
            return None
        base = fold(func.value, names, d, env)
        if method in ("decode", "encode") and isinstance(base, (str, bytes)):
            try:
                return base.decode("utf-8", "replace") if isinstance(base, bytes) else base.encode("utf-8")
            except (LookupError, ValueError):
                return None
        if method in ("lower", "upper", "strip", "replace") and isinstance(base, str):
            consts = [fold(a, names, d, env) for a in args]
            if all(isinstance(c, str) for c in consts):
                try:
                    return _bounded(getattr(base, method)(*consts))
                except (TypeError, ValueError):
                    return None
        if method == "format" and isinstance(base, str):
            consts = [fold(a, names, d, env) for a in args]
            if all(c is not None for c in consts) and not any(a.keyword for a in call.args):
                try:
                    return _bounded(base.format(*consts))
                except (IndexError, KeyError, ValueError):
                    return None
        return None
    if isinstance(func, cst.Name):
        if func.value == "chr" and len(args) == 1:
            code = fold(args[0], names, d, env)
            return chr(code) if isinstance(code, int) and 0 <= code < 0x110000 else None
        if func.value in ("bytes", "bytearray") and len(args) == 1 and isinstance(
                args[0], (cst.List, cst.Tuple, cst.Name)):
            items = _elements(args[0], names, d, env)  # `bytes([98, 117, ...])`, also a helper's list parameter
            if items is not None and all(type(i) is int and 0 <= i < 256 for i in items):
                return bytes(items)  # type: ignore[arg-type]
        if func.value in ("str", "bytes") and len(args) == 1:
            value = fold(args[0], names, d, env)
            return value if isinstance(value, (str, bytes)) else None
        if func.value == "int" and len(args) == 1:
            text = fold(args[0], names, d, env)
            return int(text) if isinstance(text, str) and text.strip().isdecimal() and len(text) < 20 else None
        if names is not None and (env is None or func.value not in env):
            return _fold_helper_call(func.value, call, names, d, env)
    return None


def _fold_helper_call(name: str, call: cst.Call, names: "NameResolver", d: int,
                      env: "Env | None") -> Const | None:
    """A call of the module's own one-expression helper with constant arguments (`_r = lambda s: codecs.decode(s,
    "rot13")`, `def j(x): return "".join(chr(i) for i in x)`): its expression with the parameters bound."""
    helper = names.single_helper(name)
    if helper is None or name in names.inlining or any(a.keyword is not None or a.star for a in call.args):
        return None  # (a helper met again while it is being inlined calls itself: not folded)
    params, expression = helper
    if len(call.args) > len(params):
        return None
    local: dict[str, Const | list[Const]] = {}
    for i, param in enumerate(params):
        if i < len(call.args):
            arg = call.args[i].value
            value: Const | list[Const] | None = fold(arg, names, d, env)
            if value is None and isinstance(arg, (cst.Name, cst.List, cst.Tuple)):
                value = _elements(arg, names, d, env)
        else:
            value = fold(param.default, names, d) if param.default is not None else None
        if value is None:
            return None
        local[param.name.value] = value
    names.inlining.add(name)
    try:
        return fold(expression, names, d, local)
    finally:
        names.inlining.discard(name)


def _comprehension(expr: cst.ListComp | cst.GeneratorExp, names: "NameResolver | None", d: int,
                   env: "Env | None") -> list[Const] | None:
    """`chr(c - 7) for c in CODES`: one `for` over constant items into a plain name, no conditions."""
    loop = expr.for_in
    if loop.inner_for_in is not None or loop.ifs or loop.asynchronous is not None or not isinstance(
            loop.target, cst.Name):
        return None
    items = _elements(loop.iter, names, d, env)
    if items is None or len(items) > _MAX_ITEMS:
        return None
    values = []
    local = dict(env or {})
    for item in items:
        local[loop.target.value] = item
        value = fold(expr.elt, names, d, local)
        if value is None:
            return None
        values.append(value)
    return values


def _fold_item(name: str, index: cst.BaseExpression, names: "NameResolver", d: int,
               env: "Env | None") -> Const | None:
    """An item of a list, tuple or dict literal a name is bound to once, at a constant index or key."""
    container = names.single_value(name)
    key = fold(index, names, d, env) if not isinstance(index, cst.UnaryOperation) else _negative(index)
    if isinstance(container, (cst.List, cst.Tuple)) and isinstance(key, int):
        elements = container.elements
        if -len(elements) <= key < len(elements) and isinstance(elements[key], cst.Element):
            return fold(elements[key].value, names, d)
    elif isinstance(container, cst.Dict) and isinstance(key, str):
        for element in container.elements:
            if isinstance(element, cst.DictElement) and fold(element.key, names, d) == key:
                return fold(element.value, names, d)
    return None


def dotted_is(expr: cst.BaseExpression, *candidates: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value in candidates


def _is_codecs(expr: cst.BaseExpression, names: "NameResolver | None") -> bool:
    """`codecs`, or a name the module binds only to an import of it (`import codecs as _c`)."""
    return isinstance(expr, cst.Name) and (expr.value == "codecs" or names is not None and names.imports_only(
        expr.value, "codecs"))


# --- the same question on CPython's syntax tree, asked before libcst is (see `Rule.triggered_by_tree`) ---

# `(lambda f: ...)(exec)` written on one line: its parameters are bound by an expression, as a walrus binds its target
INVOKED_LAMBDA = re.compile(r"\(\s*lambda\b[^\n]*\)\s*\(")


class TreeFolding:
    """Whether `fold` could give a value for an expression, judged on CPython's `ast` (ten times cheaper to build
    than libcst's tree): a necessary condition, branch for branch with `fold`. Names follow the bindings that
    `names._Bindings` records as expressions (assignments, annotated assignments, walrus, `with ... as`): a name
    may fold only when it has one such binding and that value may fold. Call `bind` for every such node first."""

    def __init__(self) -> None:
        self.bound: dict[str, list[ast.AST]] = {}
        self.functions: set[str] = set()  # names of the module's `def`s (`fold` may inline one-`return` helpers)
        self._known: dict[str, bool] = {}
        self._assumed: set[str] = set()  # comprehension variables over items that may fold

    def bind(self, node: ast.AST) -> None:
        """Record the bindings of an `Assign`, `AnnAssign`, `NamedExpr`, `withitem`, `FunctionDef` or invoked-lambda
        `Call` node (others are ignored)."""
        if isinstance(node, ast.FunctionDef):
            self.functions.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self._bind_target(target, node.value)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            self._bind_target(node.target, node.value)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            self._bind_target(node.optional_vars, node.context_expr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Lambda):
            for param, arg in zip([*node.func.args.posonlyargs, *node.func.args.args], node.args):
                if isinstance(arg, ast.Starred):
                    break
                self.bound.setdefault(param.arg, []).append(arg)

    def _bind_target(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Starred):
            target = target.value
        if isinstance(target, ast.Name):
            self.bound.setdefault(target.id, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) and len(
                target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts):
                self._bind_target(t, v.value if isinstance(v, ast.Starred) else v)
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Call, ast.Await)):
            for t in target.elts:  # `a, b = f()`: each is the call's result indexed, which `fold` never folds
                if not isinstance(t, ast.Starred):
                    self._bind_target(t, ast.Subscript(value, ast.Constant(0)))

    def name(self, name: str) -> bool:
        known = self._known.get(name)
        if known is None:
            values = self.bound.get(name, ())
            self._known[name] = False  # met again while deciding: built from itself, which `fold` gives up on
            known = self._known[name] = len(values) == 1 and self.may_fold(values[0])
        return known

    def may_fold(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Name):  # (`__doc__`: the module's docstring, which `fold` may read)
            return node.id in self._assumed or node.id == "__doc__" or self.name(node.id)
        if isinstance(node, ast.JoinedStr):  # (`f"{x=}"` has a conversion in this tree and none in libcst's)
            return all(not isinstance(v, ast.FormattedValue) or self.may_fold(v.value) for v in node.values)
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mod, ast.Mult, ast.BitXor)) or not self.may_fold(node.left):
                return False
            if isinstance(node.op, ast.Sub) and any(isinstance(side, ast.Constant) and not isinstance(side.value, int)
                                                    for side in (node.left, node.right)):
                return False  # `fold` subtracts integers only
            if isinstance(node.op, ast.Mod) and isinstance(node.right, ast.Tuple):
                return self.elements_may_fold(node.right)
            return self.may_fold(node.right)
        if isinstance(node, ast.Subscript):
            index = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 1 else node.slice
            if not isinstance(index, ast.Slice):  # `PARTS[2]`: an item of a literal list, tuple or dict
                if isinstance(node.value, ast.Call):  # `text.rsplit(":", 1)[1]`, `[-1]`
                    return self.elements_may_fold(node.value) and (self.may_fold(index) or isinstance(
                        index, ast.UnaryOp) and isinstance(index.op, ast.USub) and isinstance(index.operand, ast.Constant))
                return isinstance(node.value, ast.Name) and len(self.bound.get(node.value.id, ())) == 1 and isinstance(
                    self.bound[node.value.id][0], (ast.List, ast.Tuple, ast.Dict))
            return self.may_fold(node.value)  # (`s[1:2,]` is one slice)
        if isinstance(node, ast.Call):
            return self._call(node)
        return False

    def _call(self, node: ast.Call) -> bool:
        args = [a for a in node.args if not isinstance(a, ast.Starred)]
        func = node.func
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method == "join" and len(args) == 1:
                return self.may_fold(func.value) and self.elements_may_fold(args[0])
            if method == "fromhex" and len(args) == 1 and _is_name(func.value, "bytes", "bytearray"):
                return self.may_fold(args[0])
            if method in ("decode", "encode") and isinstance(func.value, ast.Name) and len(args) == 2 and all(
                    self.may_fold(a) for a in args):
                return True  # `codecs.decode(s, "rot13")`, also through an alias of codecs
            if not self.may_fold(func.value):
                return False
            if method in ("decode", "encode"):
                return True
            if method in ("lower", "upper", "strip", "replace") or method == "format" and all(
                    k.arg is None for k in node.keywords):
                return all(self.may_fold(a) for a in args)
            return False
        if isinstance(func, ast.Name) and len(args) == 1 and func.id in ("chr", "str", "bytes", "int"):
            return self.may_fold(args[0]) or func.id == "bytes" and self.elements_may_fold(args[0])
        if _is_name(func, "bytes") and args and isinstance(args[0], (ast.List, ast.Tuple)):
            return self.elements_may_fold(args[0])
        if isinstance(func, ast.Name) and not node.keywords and len(args) == len(node.args) and (
                func.id in self.functions or any(isinstance(v, ast.Lambda) for v in self.bound.get(func.id, ()))):
            return all(self.elements_may_fold(a) for a in args)  # a helper of the module, inlined by `fold`
        return False

    def elements_may_fold(self, node: ast.AST) -> bool:
        """`_elements`: whether the items of a list, tuple, `reversed(...)`, `map(chr, ...)` may fold; for a name,
        also a list of literals it is bound to (`"".join(parts)`, see DS202's `_join_of_bound_list`)."""
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(not isinstance(e, ast.Starred) and self.may_fold(e) for e in node.elts)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            loop = node.generators[0]
            if len(node.generators) != 1 or loop.ifs or loop.is_async or not isinstance(loop.target, ast.Name) or \
                    not self.elements_may_fold(loop.iter):
                return False
            added = loop.target.id not in self._assumed
            self._assumed.add(loop.target.id)
            try:
                return self.may_fold(node.elt)
            finally:
                if added:
                    self._assumed.discard(loop.target.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("split", "rsplit") \
                and len(node.args) <= 2 and not node.keywords:
            return self.may_fold(node.func.value) and all(self.may_fold(a) for a in node.args)
        if isinstance(node, ast.Call) and len(node.args) == 1 and _is_name(node.func, "reversed"):
            return self.elements_may_fold(node.args[0])
        if isinstance(node, ast.Call) and len(node.args) == 2 and _is_name(node.func, "map") and _is_name(
                node.args[0], "chr"):
            return self.elements_may_fold(node.args[1])
        if isinstance(node, ast.Name) and len(self.bound.get(node.id, ())) == 1 and isinstance(
                self.bound[node.id][0], (ast.List, ast.Tuple)):
            return self.elements_may_fold(self.bound[node.id][0])
        return self.may_fold(node)


def _is_name(node: ast.AST, *candidates: str) -> bool:
    return isinstance(node, ast.Name) and node.id in candidates
