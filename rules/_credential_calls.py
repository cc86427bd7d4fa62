"""Which call arguments hand a literal credential to an authenticating API (DS203; DS202 defers to it)."""

from __future__ import annotations

import ast
import base64
import binascii
import collections
import fnmatch
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from datasec_scan.lazycst import cst

from datasec_scan.fallback import bound_nodes
from datasec_scan.semantics.constants import TreeFolding, fold, literal_value

from ._catalog import load
from ._credentials import is_secret_name
from ._prescreen import UNICODE_WORDS, WORDS_TABLE


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


_LITERALS = frozenset({"SimpleString", "ConcatenatedString"})  # libcst's type names


def _has_literal(arg: cst.Arg) -> bool:
    value = arg.value
    if type(value) in (cst.Tuple, cst.List):
        return any(type(e.value).__name__ in _LITERALS or is_built_string(e.value) for e in value.elements)  # type: ignore
    return type(value).__name__ in _LITERALS or is_built_string(value) or _constant_name(value)


def _constant_name(value: cst.BaseExpression) -> bool:
    """`SIGNING_KEY`, `_OPS_KEY`: a name spelled like a module constant (which may hold a literal)."""
    return type(value) is cst.Name and value.value.lstrip("_").isupper()  # type: ignore[attr-defined]


def _constant_literal(node: cst.BaseExpression, names: object) -> tuple[str, tuple[str, ...]] | None:
    """The literal a module constant is bound to, once, when its name is not one DS202 judges (`API_SECRET = "..."`
    is reported there, at the assignment)."""
    if names is None or not _constant_name(node) or is_secret_name(node.value):  # type: ignore[attr-defined]
        return None
    bound = names.single_value(node.value)  # type: ignore[attr-defined]
    return string_literal(bound) if bound is not None else None


def _constant_sequence(node: cst.BaseExpression, names: object) -> list[cst.BaseExpression] | None:
    """The elements of a tuple or list literal, written in place or bound once to a module constant."""
    if names is not None and _constant_name(node):
        node = names.single_value(node.value) or node  # type: ignore[attr-defined]
    if isinstance(node, (cst.Tuple, cst.List)) and all(isinstance(e, cst.Element) for e in node.elements):
        return [e.value for e in node.elements]
    return None


def _constant_item(node: cst.BaseExpression, names: object) -> tuple[str, tuple[str, ...]] | None:
    """`_MAIL[1]`: the literal at an index of a module constant's tuple or list."""
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    index = node.slice[0].slice.value
    items = _constant_sequence(node.value, names)
    if items is None or not isinstance(index, cst.Integer) or int(index.value, 0) >= len(items):
        return None
    return string_literal(items[int(index.value, 0)])


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
    positional: list[cst.BaseExpression] = []
    for a in call.args:
        if a.keyword is not None or a.star == "**":
            continue
        if not a.star:
            positional.append(a.value)
            continue
        unpacked = _constant_sequence(a.value, names)  # `s.login(*_MAIL)` with `_MAIL = ("me@...", "pw")`
        if unpacked is None:
            break  # (the positions after an unknown unpacking are not known)
        positional += unpacked
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
        nodes: list[tuple[cst.BaseExpression, str]] = [(positional[i], "") for i in api.args if i < len(positional)]
        nodes += [(keyword[k].value, k) for k in api.keywords if k in keyword]
        for node, kw in nodes:
            if api.tuple_index >= 0:
                if not isinstance(node, (cst.Tuple, cst.List)) or len(node.elements) <= api.tuple_index:
                    continue
                node = node.elements[api.tuple_index].value
            lit = string_literal(node) or built_string(node) or _constant_literal(node, names) or _constant_item(
                node, names)
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
    """A cheap shape test: an expression that builds a string out of pieces rather than a plain literal.
    (Exact type tests: libcst's node classes are ABCs, whose failing `isinstance` costs a Python-level call; these
    concrete classes have no subclasses.)"""
    kind = type(node)
    if kind is cst.BinaryOperation:
        return type(node.operator) is cst.Add  # type: ignore[attr-defined]
    if kind is cst.Subscript:
        return type(node.value).__name__ in _LITERALS  # type: ignore[attr-defined]
    if kind is cst.Call:
        func = node.func  # type: ignore[attr-defined]
        if type(func) is cst.Attribute:
            return func.attr.value in _BUILDER_METHODS
        return type(func) is cst.Name and func.value in _B64_DECODERS
    return False


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


# --- pre-screens (`applies_to`): cheap necessary conditions on the text for DS202/DS203 to report anything ---
#
# They are derived from the visitors above, not from what code usually looks like. Identifiers are looked for
# in the text and, when it is not ASCII, in its NFKC form too (the name resolver folds identifiers that way);
# string-literal names (dict keys, `config["..."]`, `os.getenv("...")`) also in the text with escapes decoded.

_ID_TAIL = r"(?:_|[^\x00-\x7f])*"
# After the last word of a name that `_check` is given: the rest of an identifier and then what may follow an
# assignment target, keyword argument or parameter (`=`, `:`, `,`, `)`, `]`, a comment or a line continuation),
# or the rest of a string-literal name (no letter or digit) and a quote.
_IDENT_FOLLOW = re.compile(_ID_TAIL + r"[ \t\r\n\f]*[=:,)\]\\#]")
_STR_FOLLOW = re.compile(r"[^A-Za-z0-9]*[\"']")
_ESCAPE = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}\n]{1,100}\}|[0-7]{1,3}|\r\n|[\s\S])")


def _unescape_one(m: re.Match[str]) -> str:
    s = m.group()
    kind = s[1]
    try:
        if kind in "xuU":
            return chr(int(s[2:], 16))
        if kind == "N":
            import unicodedata

            return unicodedata.lookup(s[3:-1])
        if kind in "01234567":
            return chr(int(s[1:], 8))
    except (ValueError, KeyError, OverflowError):
        return "\x00"
    if kind in "\r\n":
        return ""  # backslash-newline inside a string joins the lines
    return s[1] if kind in "\"'" else "\x00"


def text_views(text: str, strings: bool = False) -> tuple[str, ...]:
    """The text, its NFKC form when not ASCII, and (`strings`) the text with string escapes decoded."""
    views = [text]
    if not text.isascii():
        import unicodedata

        folded = unicodedata.normalize("NFKC", text)
        if folded != text:
            views.append(folded)
    if strings and "\\" in text:
        decoded = _ESCAPE.sub(_unescape_one, text)
        if decoded != text:
            views.append(decoded)
    return tuple(views)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(text: str) -> str:
    """The text with ASCII capitals lowered and every character in its place. `str.lower` (fast) does that unless
    a character lowers to two (U+0130) or to an ASCII letter (the Kelvin sign); `translate` (slow) always does."""
    low = text.lower()
    if text.isascii() or (len(low) == len(text) and "\u212a" not in text):
        return low
    return text.translate(_ASCII_LOWER)


# What may follow the last piece of a name `_check` is given (`_IDENT_FOLLOW` or `_STR_FOLLOW`), as a lookahead.
_NAME_END = r"(?![a-z0-9])(?=[^a-z0-9]*[\"']|(?:_|[^\x00-\x7f])*[ \t\r\n\f]*[=:,)\]\\#])"


@lru_cache(maxsize=1)
def _secret_word_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each secret word and compound ending with the name-end lookahead (`_NAME_END`)."""
    from ._credentials import SECRET_COMPOUND_ENDINGS, SECRET_WORDS

    return tuple((w, re.compile(re.escape(w) + _NAME_END)) for w in sorted(SECRET_WORDS | set(SECRET_COMPOUND_ENDINGS)))


_KEY_END = re.compile("key" + _NAME_END)


def _one_piece(word: str) -> bool:
    """Whether `_credentials.name_words` can see the word as one piece: lower, Capitalized or UPPER."""
    return word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())


def _is_name_end(text: str, start: int, end: int) -> bool:
    """Whether a secret word at text[start:end] may end a name that DS202 judges (see `_IDENT_FOLLOW`)."""
    if _STR_FOLLOW.match(text, end):
        return True
    if text[start:end] == "pass":  # the keyword: only part of an identifier when joined to more identifier characters
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before in "_0123456789" or not before.isascii() or after == "_" or not after.isascii()):
            return False
    return _IDENT_FOLLOW.match(text, end) is not None


def may_name_secret(text: str) -> bool:
    """Necessary for `_credentials.is_secret_name(name)` (or an Authorization header) for a name DS202 reads.

    `is_secret_name` splits a name into pieces ([A-Z]?[a-z]+, [A-Z]+, digits) and wants the last piece to be a
    secret word, or `key` after a key qualifier, or the name to be one piece ending in a compound ending
    (`mypassword`, `ACCESSTOKEN`). So the last piece is followed by no ASCII letter or digit; a secret word that
    must be a whole piece is not preceded by a letter (lower case) or a capital (upper case); and the name ends
    there, but for identifier characters that are no piece (`_`, non-ASCII letters).

    The regexes run on the text with ASCII letters lowered (positions kept) and carry the name-end condition as a
    lookahead, so the regex engine rejects most candidates itself."""
    from ._credentials import KEY_QUALIFIERS, SECRET_COMPOUND_ENDINGS

    qualifiers = tuple(KEY_QUALIFIERS)
    for view in text_views(text, strings=True):
        low = _ascii_lower(view)
        if "authorization" in low:
            return True
        # Each secret word on its own: a regex that starts with a literal is searched at C speed.
        for word, pattern in _secret_word_patterns():
            if word not in low:
                continue
            for m in pattern.finditer(low):
                start, end = m.span()
                piece = view[start:end]
                if not _one_piece(piece):
                    continue
                if word not in SECRET_COMPOUND_ENDINGS and start:  # a whole piece: what precedes it matters
                    before = view[start - 1]
                    if (piece.islower() and before.isascii() and before.isalpha()) or (
                            piece.isupper() and "A" <= before <= "Z"):
                        continue
                if _is_name_end(view, start, end):
                    return True
        if "key" not in low:
            continue
        for m in _KEY_END.finditer(low):  # `key` after a qualifier and any separators (`api_key`, `apiKey`, `API-KEY`)
            cut = m.start()
            while cut and not ("a" <= low[cut - 1] <= "z" or "0" <= low[cut - 1] <= "9"):
                cut -= 1
            if low.endswith(qualifiers, max(0, cut - 11), cut) and _is_name_end(view, m.start(), m.end()):
                return True
    return False


# Strings built from pieces (`is_built_string`, then `built_string` must fold them to a str):
_DECODERS = re.compile(r"b64decode|b32decode|b16decode|decodebytes|decodestring")
# `"..."[::-1]`: a subscript with a slice of a string literal (or parenthesized one)
_LITERAL_SLICE = re.compile(r"[\"'](?:[\s)\\]|#[^\n]*)*+\[[^\]]*:")
# `x.decode(...)`/`x.join(...)`: the receiver is looked at on the same line (`fold` gives up on attributes `a.b`)
_METHOD = re.compile(r"\.\s*(join|decode)(?!\w)")
_JOIN_ARG = re.compile(r"\s*(?:(\()\s*(?:([^\W\d]\w*)(\s*\(|[\"'])?)?|[#\\])")
# `a + b`: the operands next to the plus sign on its line
_PLUS = re.compile(r"\+(?!=)")
_RIGHT = re.compile(r"[ \t]*(?:([^\W\d]\w*)([ \t]*\(|[\"'])?|([0-9\[{~+\-])|(\.[0-9]))")
_STR_CALLS = frozenset({"chr", "str", "bytes"})
_ELEMENT_CALLS = frozenset({"reversed", "map"}) | _STR_CALLS
_FOLDING_NAMES = _STR_CALLS | {"codecs", "bytearray"}  # names `fold` knows without a binding
_NOT_FOLDABLE = frozenset({"None", "True", "False", "not", "and", "or", "in", "is", "if", "else", "lambda", "await",
                           "yield", "return", "for", "from", "import", "as", "del", "assert", "raise"})


class _Words:
    """How often each identifier occurs (in any view of the text): a name `fold` resolves is bound once by an
    assignment (`names.single_value`), so it occurs at least twice, the binding and the use."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._counts: list[collections.Counter[str]] | None = None

    def bound(self, name: str) -> bool:
        if name in _NOT_FOLDABLE:
            return False
        if not name.isascii():
            return True  # its NFKC form may be spelled differently elsewhere
        if self._counts is None:  # the words of each view, counted once (a translate and a split for ASCII text)
            self._counts = [collections.Counter(v.encode("ascii").translate(WORDS_TABLE).decode("ascii").split()
                                                if v.isascii() else UNICODE_WORDS.findall(v)) for v in text_views(self._text)]
        return max(c[name] for c in self._counts) >= 2




_WINDOW = 256  # characters looked at before an operator: enough for any operand's last token, and linear time


def _line_before(text: str, pos: int) -> str:
    """The line up to `pos`, at most `_WINDOW` characters of it; a cut one starts with a NUL (an unknown token)."""
    low = max(0, pos - _WINDOW)
    nl = text.rfind("\n", low, pos)
    return text[nl + 1:pos] if nl >= 0 or low == 0 else "\x00" + text[low:pos]


def _tail_token(line: str) -> str:
    """The identifiers, dots and digits that end the line (`a.b`, `x1`, `1.5`); the line ends in one such character."""
    i = len(line)
    while i and (line[i - 1].isalnum() or line[i - 1] in "_." or not line[i - 1].isascii()) and line[i - 1] != "\x00":
        i -= 1
    return "0" if i and line[i - 1] == "\x00" else line[i:]  # cut by the window: unknown, kept like a number


def _receiver_may_fold(text: str, dot: int, words: _Words) -> bool:
    """Whether the receiver of `.join`/`.decode` (the dot at `dot`) may fold: a literal, call, subscript, a bound
    name or `codecs`; not an attribute (`os.path.join`, `self.data.decode`) or a number."""
    before = _line_before(text, dot)
    stripped = before.rstrip()
    if not stripped.strip():
        return True  # the receiver is on an earlier line (perhaps before a comment): unknown
    last = stripped[-1]
    if last in "\"')]":
        return True
    if not (last.isalnum() or last == "_" or not last.isascii()):
        return True  # unusual: keep
    token = _tail_token(stripped)
    if token[0].isdigit():
        return True  # a number (no string) or a token cut by the window: keep
    if "." in token:
        return False  # `a.b.join`, `self.data.decode`: fold gives up on attributes
    return token in _FOLDING_NAMES or words.bound(token)


def _join_arg_may_fold(text: str, end: int, words: _Words) -> bool:
    """Whether the argument of `sep.join(...)` (text from `end`) may fold: not an unbound name or a call `fold`
    does not know (`", ".join(items)` with `items` never assigned, `", ".join(sorted(x))`)."""
    m = _JOIN_ARG.match(text, end)
    if m is None:
        return False  # `sep.join` not called here (`map(sep.join, rows)`)
    if m.group(1) is None:
        return True  # a comment or a line continuation before the call: unknown
    name, after = m.group(2), m.group(3)
    if name is None:
        return True  # a list, tuple, string, parenthesized expression, or an argument on a later line
    if after is not None and after[-1] in "\"'":
        return True  # a prefixed string literal
    if after is not None:
        return name in _ELEMENT_CALLS
    return name in _FOLDING_NAMES or words.bound(name)


def _plus_may_fold(text: str, pos: int, words: _Words) -> bool:
    """Whether `left + right` around the plus sign at `pos` may fold to a string: neither side is a number,
    a display, a unary operation, an attribute, a call of something `fold` does not know, or an unbound name."""
    right = _RIGHT.match(text, pos + 1)
    if right is not None:
        if right.group(3) or right.group(4):
            return False  # a number, list, dict/set or unary operation: never a str
        name = right.group(1)
        if name is not None and name not in _FOLDING_NAMES:
            if right.group(2) and right.group(2)[-1] in "\"'":
                pass  # a prefixed string literal: `+ f"..."`, `+ b"..."`
            elif right.group(2):
                return False  # `f(x)`: fold only knows chr/str/bytes as bare calls
            elif not words.bound(name):
                return False
    before = _line_before(text, pos).rstrip()
    if before and (before[-1].isalnum() or before[-1] == "_" or not before[-1].isascii()):
        token = _tail_token(before)
        if token[0].isdigit():
            return True  # a number ends the left side: `"%d" % 1 + "x"` folds
        if "." in token:
            return False  # `a.b + x`: an attribute does not fold
        if not words.bound(token):
            return False
    return True


def may_build_string(text: str) -> bool:
    """Necessary for DS202 to fold a string built from pieces (`"ghp_" + "..."`, `"".join(parts)`, `"..."[::-1]`,
    `base64.b64decode("...").decode()`): `is_built_string` shapes whose pieces `fold` can resolve."""
    if _DECODERS.search(text) or _LITERAL_SLICE.search(text):
        return True
    words = _Words(text)
    for m in _METHOD.finditer(text):
        if _receiver_may_fold(text, m.start(), words) and (m.group(1) == "decode" or _join_arg_may_fold(text, m.end(), words)):
            return True
    for m in _PLUS.finditer(text):
        if _plus_may_fold(text, m.start(), words):
            return True
    return False



# DS202 on CPython's syntax tree: once the text screen lets a file through, this decides without libcst's parse
# whether any (name, value) pair the visitors would `_check` can be reported. Branch for branch with them.

def _is_built_tree(node: ast.AST) -> bool:
    """`is_built_string` on CPython's tree."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Add)
    if isinstance(node, ast.Subscript):
        return isinstance(node.value, (ast.Constant, ast.JoinedStr))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in _BUILDER_METHODS
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _B64_DECODERS


def _built_may_fold_tree(node: ast.AST, folding: TreeFolding) -> bool:
    """Whether `built_string` may give a value: the base64 path (`_b64_call`) or `fold` of the whole."""
    inner = node.func.value if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
        node.func.attr == "decode" and isinstance(node.func.value, ast.Call)) else node
    if isinstance(inner, ast.Call) and (inner.args or inner.keywords):
        func = inner.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in _B64_DECODERS:
            return any(folding.may_fold(a.value if isinstance(a, (ast.Starred, ast.keyword)) else a)
                       for a in [*inner.args, *inner.keywords])
    return folding.may_fold(node)


def _tree_target_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) and isinstance(
            target.slice.value, str):
        return target.slice.value
    return None


def _checked_pairs(nodes: list[ast.AST]) -> Iterator[tuple[str | None, ast.AST]]:
    """The (name, value) pairs DS202's visitors hand to `_check` (a superset)."""
    for node in nodes:
        kind = type(node)  # (exact types: CPython's parser makes no subclasses)
        if kind is ast.Assign:
            for target in node.targets:
                if isinstance(target, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)) and len(
                        target.elts) == len(node.value.elts):
                    yield from ((_tree_target_name(t), v) for t, v in zip(target.elts, node.value.elts))
                else:
                    yield _tree_target_name(target), node.value
        elif kind is ast.AnnAssign:
            if node.value is not None:
                yield _tree_target_name(node.target), node.value
        elif kind is ast.Dict:
            yield from ((k.value, v) for k, v in zip(node.keys, node.values)
                        if isinstance(k, ast.Constant) and isinstance(k.value, str))
        elif kind is ast.Call:
            positional = [a for a in node.args if not isinstance(a, ast.Starred)]
            if positional and isinstance(positional[0], ast.Constant) and isinstance(positional[0].value, str):
                # an environment read's fallback, judged against the variable's name (`_env_default`)
                yield from ((positional[0].value, v) for v in [*positional[1:2], *(k.value for k in node.keywords)])
            yield from ((None, a) for a in positional)
            yield from ((k.arg, k.value) for k in node.keywords)
        elif kind is ast.arguments:
            params = [*node.posonlyargs, *node.args]
            yield from ((p.arg, d) for p, d in zip(params[len(params) - len(node.defaults):], node.defaults))
            yield from ((p.arg, d) for p, d in zip(node.kwonlyargs, node.kw_defaults) if d is not None)


def may_report_secret(tree: ast.AST) -> bool:
    """Necessary for DS202 to report: a pair whose value is built from pieces that may fold, or a secret-like (or
    Authorization) name given a plain string literal."""
    nodes, folding = bound_nodes(tree)
    candidates = []
    for name, value in _checked_pairs(nodes):
        if _is_built_tree(value):
            candidates.append(value)
        elif name and isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)) and (
                is_secret_name(name) or name.lower() in ("authorization", "proxy-authorization")):
            return True
    return any(_built_may_fold_tree(value, folding) for value in candidates)

# DS203: `credential_args` yields only for a call that passes `worth_resolving` and matches a catalogued API.
_ANY_CALL = re.compile(r"(?:aws_secret_access_key|aws_session_token)\s*=(?!=)"
                       r"|auth\s*=(?!=)(?:\s|\\|#[^\n]*)*+[(\[]")  # `auth=(user, pw)`: tuple_index


@lru_cache(maxsize=1)
def _credential_words() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str],
                                 tuple[tuple[str, frozenset[str]], ...]]:
    """Word sets of the catalog for `may_pass_credential`: catalogued last names and methods, keywords, methods
    matched by name alone, module roots, and (method, keywords) of the APIs read only from keywords."""
    last, keywords = _screen()
    methods = frozenset(api.method for api in auth_apis() if api.method and api.args)
    roots = frozenset(n.split(".")[0] for api in auth_apis() if not api.any_call for n in api.names) - {""}
    kwonly = tuple((api.method, frozenset(api.keywords)) for api in auth_apis()
                   if api.method and not api.args and api.keywords)
    return frozenset(w for w in last if "*" not in w), keywords, methods, roots, kwonly


# How the resolver reaches a module without its name written as a word (`names.py`): `__import__`, importlib,
# `sys.modules`, the builtins namespaces (`globals()`, `vars(builtins)`, `__builtins__`), `getattr(sys, ...)`.
_DYNAMIC_WORDS = frozenset({"globals", "locals", "vars", "__import__", "import_module", "importlib", "modules"})


def may_pass_credential(text: str) -> bool:
    """Necessary for `credential_args` to yield for some call of the text (DS203): `auth=(...)` or an AWS secret
    keyword (any call); else a call `worth_resolving` (a catalogued last name, method or keyword, or an
    `import ... as` alias) and an API that can match (a method name, a catalogued module's name, or a dynamic
    way to reach a module). Words are looked up in the shared word set of the text (and its NFKC form)."""
    from ._prescreen import view

    v = view(text)
    if any(_ANY_CALL.search(form) for form in v.forms):
        return True
    words = v.words
    last, keywords, methods, roots, kwonly = _credential_words()
    keyword_words = keywords & words
    if words.isdisjoint(last) and "as" not in words and not any(
            _keyword_assigned(form, keyword_words) for form in v.forms):
        return False
    if not words.isdisjoint(methods) or not words.isdisjoint(roots) or not words.isdisjoint(_DYNAMIC_WORDS):
        return True
    if any("builtins" in form for form in v.forms) or ("getattr" in words and "sys" in words):
        return True
    return any(method in words and any(_keyword_assigned(form, kws & words) for form in v.forms)
               for method, kws in kwonly)


def _keyword_assigned(text: str, names: frozenset[str]) -> bool:
    """One of the names (words of the text) written as a keyword argument, `name=` (not `==`, not `.name=`)."""
    return any(re.search(rf"(?<![\w.]){re.escape(name)}\s*=(?!=)", text) for name in names)
