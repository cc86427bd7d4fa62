"""Which call arguments hand a literal credential to an authenticating API (DS203; DS202 defers to it)."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import libcst as cst

from datasec_scan.semantics.constants import fold, literal_value

from ._catalog import load


@dataclass(frozen=True)
class AuthApi:
    what: str
    names: tuple[str, ...]
    args: tuple[int, ...] = ()
    keywords: tuple[str, ...] = ()
    method: str = ""
    any_call: bool = False
    tuple_index: int = -1


@dataclass(frozen=True)
class CredentialArg:
    """One literal credential handed to an API: the literal node, its value and the pieces of its source."""

    api: AuthApi
    node: cst.BaseExpression
    value: str
    pieces: tuple[str, ...]
    resolved: bool  # the callee resolved to a catalogued name (not just a method name)
    callee: str
    keyword: str = ""  # the keyword the value was passed as, if any


@lru_cache(maxsize=1)
def auth_apis() -> tuple[AuthApi, ...]:
    return tuple(
        AuthApi(what=e["what"], names=tuple(e.get("names", ())), args=tuple(e.get("args", ())),
                keywords=tuple(e.get("keywords", ())), method=e.get("method", ""), any_call=bool(e.get("any_call")),
                tuple_index=int(e.get("tuple_index", -1)))
        for e in load("credentials_auth_apis")["api"]
    )


def string_literal(node: cst.BaseExpression) -> tuple[str, tuple[str, ...]] | None:
    """(value, source pieces) of a plain string literal or implicit concatenation of literals."""
    if isinstance(node, cst.SimpleString):
        value = literal_value(node)
        if value is None:
            return None
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        return text, tuple({text, node.raw_value})
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_literal(node.left), string_literal(node.right)  # type: ignore[arg-type]
        if left is None or right is None:
            return None
        return left[0] + right[0], left[1] + right[1]
    return None


def _resolved_names(call: cst.Call, names: object) -> frozenset[str]:
    try:
        found = names.qualified_names(call.func)  # type: ignore[attr-defined]
    except Exception:  # the resolver is an optional helper here; a failure means "unknown"
        return frozenset()
    return frozenset(n.replace("()", "") for n in found)


def _matches(api: AuthApi, resolved: frozenset[str]) -> str | None:
    for pattern in api.names:
        if "*" in pattern:
            hit = next((n for n in sorted(resolved) if fnmatch.fnmatchcase(n, pattern)), None)
            if hit:
                return hit
        elif pattern in resolved:
            return pattern
    return None


def _method(call: cst.Call) -> str:
    if isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    if isinstance(call.func, cst.Name):
        return call.func.value
    return ""


@lru_cache(maxsize=1)
def _screen() -> tuple[frozenset[str], frozenset[str]]:
    last = {n.rsplit(".", 1)[-1] for api in auth_apis() for n in api.names} | {api.method for api in auth_apis() if api.method}
    return frozenset(last), frozenset(k for api in auth_apis() for k in api.keywords)


def _has_literal(arg: cst.Arg) -> bool:
    value = arg.value
    if isinstance(value, (cst.Tuple, cst.List)):
        return any(isinstance(e.value, (cst.SimpleString, cst.ConcatenatedString)) or is_built_string(e.value)
                   for e in value.elements)
    return isinstance(value, (cst.SimpleString, cst.ConcatenatedString)) or is_built_string(value)


_ALIAS = re.compile(r"\bimport\b[^\n]*?\bas\s+([A-Za-z_][A-Za-z0-9_]*)")
_ALIASES: "weakref.WeakKeyDictionary[object, frozenset[str]]" = weakref.WeakKeyDictionary()


def _aliases(context: object) -> frozenset[str]:
    """Names the module binds with `import ... as name` (a cheap text view; lines of `from x import (a as b)` too)."""
    if context not in _ALIASES:
        text = getattr(context, "text", "")
        _ALIASES[context] = frozenset(_ALIAS.findall(text)) | frozenset(re.findall(r"^\s+[A-Za-z_.]+\s+as\s+([A-Za-z_][A-Za-z0-9_]*)", text, re.M))
    return _ALIASES[context]


def worth_resolving(call: cst.Call, context: object = None) -> bool:
    """A cheap screen before name resolution: a literal argument and a catalogued method or keyword name."""
    if not any(_has_literal(a) for a in call.args):
        return False
    last, keywords = _screen()
    method = _method(call)
    if method in last or any(a.keyword is not None and a.keyword.value in keywords for a in call.args):
        return True
    # maybe an alias: `from smtplib import SMTP as Mailer`
    return isinstance(call.func, cst.Name) and context is not None and call.func.value in _aliases(context)


def credential_args(call: cst.Call, context: object) -> Iterator[CredentialArg]:
    """Literal credentials this call passes to an authenticating API, by the catalog.

    `context` is the rule's FileContext; its name resolver is only built once a call passes the cheap screen.
    """
    if not worth_resolving(call, context):
        return
    try:
        names = context.names  # type: ignore[attr-defined]
    except Exception:  # no resolver available: match by method name only
        names = None
    resolved = _resolved_names(call, names)
    method = _method(call)
    positional = [a for a in call.args if a.keyword is None and not a.star]
    keyword = {a.keyword.value: a for a in call.args if a.keyword is not None}
    seen: set[int] = set()
    for api in auth_apis():
        hit = _matches(api, resolved)
        if api.any_call:
            callee, is_resolved = (next(iter(sorted(resolved)), method) or "call"), True
        elif hit:
            callee, is_resolved = hit, True
        elif api.method and method == api.method and not any(
                _matches(other, resolved) for other in auth_apis() if not other.any_call):
            callee, is_resolved = method, False
        else:
            continue
        nodes: list[tuple[cst.BaseExpression, str]] = [(positional[i].value, "") for i in api.args if i < len(positional)]
        nodes += [(keyword[k].value, k) for k in api.keywords if k in keyword]
        for node, kw in nodes:
            if api.tuple_index >= 0:
                if not isinstance(node, (cst.Tuple, cst.List)) or len(node.elements) <= api.tuple_index:
                    continue
                node = node.elements[api.tuple_index].value
            lit = string_literal(node) or built_string(node)
            if lit is None or id(node) in seen:
                continue
            seen.add(id(node))
            yield CredentialArg(api, node, lit[0], lit[1], is_resolved, callee, kw)


# --- strings built from pieces to hide them (`"ghp_" + "..."`, `"".join([...])`, b64decode("..."), "..."[::-1]) ---
_B64_DECODERS = frozenset({"b64decode", "urlsafe_b64decode", "standard_b64decode", "b32decode", "b16decode",
                           "decodebytes", "decodestring"})
_BUILDER_METHODS = frozenset({"join", "decode"}) | _B64_DECODERS


def _b64_call(node: cst.BaseExpression) -> cst.Call | None:
    """`base64.b64decode(x)` (or `b64decode(x)`), possibly wrapped in `.decode(...)`."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "decode" and (
            isinstance(node.func.value, cst.Call)):
        node = node.func.value
    if not isinstance(node, cst.Call) or len(node.args) < 1:
        return None
    func = node.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    return node if name in _B64_DECODERS else None


def is_built_string(node: cst.BaseExpression) -> bool:
    """A cheap shape test: an expression that builds a string out of pieces rather than a plain literal."""
    if isinstance(node, cst.BinaryOperation):
        return isinstance(node.operator, cst.Add)
    if isinstance(node, cst.Subscript):
        return isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString))
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return node.func.attr.value in _BUILDER_METHODS
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in _B64_DECODERS


def _pieces(node: cst.CSTNode, out: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    budget[0] -= 1
    if isinstance(node, cst.SimpleString):
        value = literal_value(node)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if value:
            out.extend((value, node.raw_value))
        return
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in ("decode", "encode"):
        _pieces(node.func.value, out, budget)  # not the codec name
        return
    for child in node.children:
        _pieces(child, out, budget)


def _join_of_bound_list(node: cst.BaseExpression, names: object) -> tuple[str, cst.CSTNode] | None:
    """`"".join(parts)` where the module binds `parts` once to a list or tuple of literals (the folder stops at names)."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "join"
            and len(node.args) == 1 and isinstance(node.args[0].value, cst.Name)):
        return None
    bound = names.single_value(node.args[0].value.value)  # type: ignore[attr-defined]
    sep = fold(node.func.value)
    if not isinstance(bound, (cst.List, cst.Tuple)) or not isinstance(sep, str) or len(bound.elements) > 200:
        return None
    items = [fold(e.value) if isinstance(e, cst.Element) else None for e in bound.elements]
    return (sep.join(items), bound) if all(isinstance(i, str) for i in items) else None  # type: ignore[arg-type]


def built_string(node: cst.BaseExpression, names: object = None) -> tuple[str, tuple[str, ...]] | None:
    """(value, source pieces) of a string built from literals: concatenation, join, slicing, base64 decoding.

    `names` (a NameResolver) lets joined lists and concatenated names bound once to literals resolve too.
    """
    if not is_built_string(node):
        return None
    value: object = None
    bound: cst.CSTNode | None = None
    b64 = _b64_call(node)
    if b64 is not None:
        encoded = fold(b64.args[0].value, names)  # type: ignore[arg-type]
        if isinstance(encoded, str):
            encoded = encoded.encode("latin-1", "replace")
        if isinstance(encoded, bytes) and 8 <= len(encoded) <= 8192:
            try:
                raw = base64.b64decode(encoded + b"=" * (-len(encoded) % 4), altchars=b"-_" if b"-" in encoded or (
                    b"_" in encoded) else None)
                value = raw.decode("utf-8")
            except (ValueError, binascii.Error, UnicodeDecodeError):
                value = None
    else:
        value = fold(node, names)  # type: ignore[arg-type]
        joined = _join_of_bound_list(node, names) if value is None and names is not None else None
        if joined is not None:
            value, bound = joined
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str) or not 4 <= len(value) <= 4096:
        return None
    out: list[str] = []
    _pieces(node, out, [200])
    if bound is not None:
        _pieces(bound, out, [200])
    return value, tuple(dict.fromkeys(p for p in out if len(p) >= 3))
