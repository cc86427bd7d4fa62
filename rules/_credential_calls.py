"""Which call arguments hand a literal credential to an authenticating API (DS203; DS202 defers to it)."""

from __future__ import annotations

import fnmatch
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import libcst as cst

from datasec_scan.semantics.constants import literal_value

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
        return any(isinstance(e.value, (cst.SimpleString, cst.ConcatenatedString)) for e in value.elements)
    return isinstance(value, (cst.SimpleString, cst.ConcatenatedString))


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
            lit = string_literal(node)
            if lit is None or id(node) in seen:
                continue
            seen.add(id(node))
            yield CredentialArg(api, node, lit[0], lit[1], is_resolved, callee, kw)
