"""Bounded recursive decoding of literal payloads: base64/32/85, hex, zlib/gzip/bz2/lzma, rot13, reversal, XOR, Fernet.

Decoding is analysis, not execution: nothing decoded here is ever imported, run, unpickled or
unmarshalled. Every step is bounded by `Limits.max_decode_layers` and `Limits.max_decoded_bytes`
(decompression asks for at most that many bytes, never more); when a bound stops decoding the
result says so in `limited`, and the caller turns that into a notification.

Two entry points:

- `peel(value, limits)` guesses the layers of a bare literal (a blob in a variable);
- `decode_expr(expr, names, decoders, limits)` follows the decoder calls the code itself wraps
  around a literal (`zlib.decompress(base64.b64decode("..."))`, `bytes(b ^ 7 for b in ...)`,
  `Fernet(key).decrypt(token)`), applying them in the order the code would.
"""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import codecs
import lzma
import re
import warnings
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Union

from ..lazycst import cst

from ..tree import code_for_node
from .constants import fold

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Limits
    from .names import NameResolver

Data = Union[str, bytes]

_B64 = re.compile(rb"^[A-Za-z0-9+/\s]+={0,2}\s*$")
_B64URL = re.compile(rb"^[A-Za-z0-9_\-\s]+={0,2}\s*$")
_B32 = re.compile(rb"^[A-Z2-7\s]+=*\s*$")
_HEX = re.compile(rb"^(?:[0-9a-fA-F]{2}|\s)+$")
_PY_HINT = re.compile(r"\b(import|exec|eval|def|lambda|socket|subprocess|system|print|open|return|compile)\b")
_MAGIC = {b"\x78\x01": "zlib", b"\x78\x5e": "zlib", b"\x78\x9c": "zlib", b"\x78\xda": "zlib", b"\x1f\x8b": "gzip",
          b"BZh": "bz2", b"\xfd7zXZ\x00": "lzma", b"\x5d\x00\x00": "lzma"}
MIN_BLOB = 16  # characters; shorter literals are words, not payloads


class DecodeLimit(Exception):
    """A bound stopped decoding; the message says which."""


@dataclass(frozen=True)
class Peeled:
    """The outcome of decoding: the innermost value, the layers taken (outermost first) and any bound hit."""

    data: Data
    layers: tuple[str, ...] = ()
    limited: str | None = None
    note: str | None = None  # something decoding could not do (e.g. Fernet without `cryptography`)

    @property
    def how(self) -> str:
        return "+".join(self.layers) or "literal"

    @property
    def text(self) -> str | None:
        """The value as text when it is text (UTF-8, mostly printable); None for binary data."""
        return as_text(self.data)


def as_text(data: Data) -> str | None:
    if isinstance(data, str):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if text and printable >= 0.95 * len(text) else None


def looks_like_python(text: str | None, limit: int = 1_000_000) -> bool:
    """True when text parses as Python and does something (a call, import, def, assignment)."""
    if not text or len(text) < 6 or len(text) > limit or not _PY_HINT.search(text) and "(" not in text:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a decoded payload's `SyntaxWarning`s are not for the user's stderr
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return any(isinstance(n, (ast.Call, ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign,
                              ast.Lambda)) for n in ast.walk(tree))


def _limits(limits: "Limits | None") -> tuple[int, int]:
    if limits is None:
        from ..config import Limits

        limits = Limits()
    return max(1, limits.max_decode_layers), max(1, limits.max_decoded_bytes)


def _bytes(data: Data) -> bytes:
    return data if isinstance(data, bytes) else data.encode("latin-1", "replace")


def _inflate(data: bytes, kind: str, limit: int) -> bytes:
    """Decompress at most `limit` bytes; more is a DecodeLimit, never an unbounded allocation."""
    if kind == "zlib":
        out = zlib.decompressobj().decompress(data, limit + 1)
    elif kind == "gzip":
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, limit + 1)
    elif kind == "bz2":
        out = bz2.BZ2Decompressor().decompress(data, max_length=limit + 1)
    elif kind == "lzma":
        out = lzma.LZMADecompressor().decompress(data, max_length=limit + 1)
    else:  # pragma: no cover - callers pass known kinds
        raise ValueError(kind)
    if len(out) > limit:
        raise DecodeLimit(f"{kind} output over limits.max-decoded-bytes ({limit:,})")
    return out


def apply(step: str, data: Data, limit: int) -> Data:
    """One decoding step by name; ValueError when the data is not of that form, DecodeLimit at a bound."""
    raw = _bytes(data)
    try:
        if step == "base64":
            return base64.b64decode(b"".join(raw.split()) + b"=" * (-len(b"".join(raw.split())) % 4))
        if step == "base64url":
            compact = b"".join(raw.split())
            return base64.urlsafe_b64decode(compact + b"=" * (-len(compact) % 4))
        if step == "base32":
            return base64.b32decode(b"".join(raw.split()), casefold=True)
        if step == "base32hex":
            return base64.b32hexdecode(b"".join(raw.split()), casefold=True)
        if step == "base85":
            return base64.b85decode(b"".join(raw.split()))
        if step == "ascii85":
            return base64.a85decode(raw, adobe=raw.startswith(b"<~"))
        if step == "hex":
            return bytes.fromhex(raw.decode("ascii"))
        if step in ("zlib", "gzip", "bz2", "lzma"):
            return _inflate(raw, step, limit)
        if step == "rot13":
            return codecs.decode(data if isinstance(data, str) else raw.decode("latin-1"), "rot13")
        if step == "reverse":
            return data[::-1]
        if step == "utf8":
            return raw.decode("utf-8", "replace")
    except (binascii.Error, ValueError, UnicodeError, zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
        raise ValueError(f"not {step}: {exc}") from None
    raise ValueError(f"unknown decoding step {step!r}")


def _check_size(data: Data, limit: int) -> None:
    if len(data) > limit:
        raise DecodeLimit(f"decoded payload over limits.max-decoded-bytes ({limit:,})")


def _guess(data: Data) -> list[str]:
    """Which steps could apply to this value, most specific first."""
    raw = _bytes(data)
    steps = [kind for magic, kind in _MAGIC.items() if raw.startswith(magic)]
    if steps or len(raw) < MIN_BLOB:
        return steps
    compact = b"".join(raw.split())
    if _HEX.match(raw) and len(compact) % 2 == 0:
        steps.append("hex")
    if _B32.match(raw) and len(compact) % 8 == 0:
        steps.append("base32")
    if _B64.match(raw):
        steps.append("base64")
    elif _B64URL.match(raw):
        steps.append("base64url")
    return steps


def _plausible(out: Data) -> bool:
    raw = _bytes(out)
    return len(raw) > 0 and (as_text(out) is not None or any(raw.startswith(m) for m in _MAGIC))


def peel(value: Data, limits: "Limits | None" = None, layers: tuple[str, ...] = ()) -> Peeled:
    """Guess and remove encoding layers of a bare literal until what is left is Python, text or unknown bytes."""
    max_layers, max_bytes = _limits(limits)
    data = value
    taken = list(layers)
    try:
        while True:
            text = as_text(data)
            if text is not None and looks_like_python(text, max_bytes):
                break
            step_taken = False
            for step in _guess(data):
                if len(taken) >= max_layers:
                    raise DecodeLimit(f"more than limits.max-decode-layers ({max_layers}) layers")
                try:
                    out = apply(step, data, max_bytes)
                except ValueError:
                    continue
                _check_size(out, max_bytes)
                if _plausible(out):
                    data, step_taken = out, True
                    taken.append(step)
                    break
            if step_taken:
                continue
            if text is not None and len(text) >= MIN_BLOB:  # rot13 and reversal only when they reveal code
                for step in ("reverse", "rot13"):
                    out = apply(step, text, max_bytes)
                    if looks_like_python(out, max_bytes) and not looks_like_python(text, max_bytes):
                        data = out
                        taken.append(step)
                        break
            break
    except DecodeLimit as exc:
        return Peeled(data, tuple(taken), limited=str(exc))
    return Peeled(data, tuple(taken))


# ---------------------------------------------------------------------------------------------------------------
# Decoder chains written in code.


class _Chain:
    def __init__(self, names: "NameResolver | None", decoders: Mapping[str, str], limits: "Limits | None") -> None:
        self.names = names
        self.decoders = decoders
        self.max_layers, self.max_bytes = _limits(limits)
        self.notes: list[str] = []

    def step(self, step: str, value: Peeled) -> Peeled:
        if len(value.layers) >= self.max_layers:
            raise DecodeLimit(f"more than limits.max-decode-layers ({self.max_layers}) layers")
        out = apply(step, value.data, self.max_bytes)
        _check_size(out, self.max_bytes)
        return Peeled(out, value.layers + (step,))

    def evaluate(self, expr: cst.BaseExpression, depth: int = 0) -> Peeled | None:
        if depth > 40:
            return None
        folded = fold(expr, self.names)
        if isinstance(folded, (str, bytes)):
            _check_size(folded, self.max_bytes)
            return Peeled(folded, _fold_layers(expr, self.names))
        if isinstance(expr, cst.Name) and self.names is not None:
            value = self.names.single_value(expr.value)
            return self.evaluate(value, depth + 1) if value is not None else None
        if isinstance(expr, cst.Await):
            return None
        if isinstance(expr, cst.Subscript):
            return self._subscript(expr, depth)
        if isinstance(expr, cst.Call):
            return self._call(expr, depth)
        return None

    def _subscript(self, expr: cst.Subscript, depth: int) -> Peeled | None:
        if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Slice):
            return None
        sl = expr.slice[0].slice
        step = fold(sl.step, self.names) if isinstance(sl.step, cst.BaseExpression) and not isinstance(
            sl.step, cst.UnaryOperation) else None
        reverse = (sl.lower is None and sl.upper is None and isinstance(sl.step, cst.UnaryOperation)
                   and isinstance(sl.step.operator, cst.Minus) and fold(sl.step.expression) == 1)
        if not reverse or step is not None:
            return None
        inner = self.evaluate(expr.value, depth + 1)
        return self.step("reverse", inner) if inner is not None else None

    def _call(self, call: cst.Call, depth: int) -> Peeled | None:
        args = [a.value for a in call.args if a.keyword is None and not a.star]
        func = call.func
        qualified = self.names.call_names(call) if self.names is not None else frozenset()
        catalogued = any(q in self.decoders for q in qualified)
        if isinstance(func, cst.Attribute) and func.attr.value in ("decode", "encode") and not catalogued:
            inner = self.evaluate(func.value, depth + 1)
            if inner is None:
                return None
            codec = fold(args[0], self.names) if args else "utf-8"
            codec = codec.lower().replace("-", "_") if isinstance(codec, str) else "utf_8"
            if codec in ("rot13", "rot_13"):
                return self.step("rot13", inner)
            if codec in ("hex", "hex_codec"):
                return self.step("hex", inner)
            if codec in ("base64", "base64_codec"):
                return self.step("base64", inner)
            if func.attr.value == "decode":
                return Peeled(_bytes(inner.data).decode("utf-8", "replace"), inner.layers)
            return Peeled(inner.data.encode("utf-8") if isinstance(inner.data, str) else inner.data, inner.layers)
        if isinstance(func, cst.Attribute) and func.attr.value == "decrypt" and args:
            return self._fernet(func, args[0], depth)
        if isinstance(func, cst.Attribute) and func.attr.value == "join" and len(args) == 1:
            if isinstance(args[0], cst.Call):  # ''.join(reversed(...)), ''.join(map(...)) of a decodable value
                inner = self.evaluate(args[0], depth + 1)
                return Peeled(inner.data, inner.layers) if inner is not None and isinstance(inner.data, str) else None
            return self._xor(args[0], depth)
        if qualified & {"builtins.bytes", "builtins.bytearray"} and len(args) == 1 and isinstance(
                args[0], (cst.ListComp, cst.GeneratorExp)):
            return self._xor(args[0], depth, as_bytes=True)
        if qualified & {"builtins.str", "builtins.bytes", "builtins.bytearray"} and args:
            inner = self.evaluate(args[0], depth + 1)
            if inner is None:
                return None
            if "builtins.str" in qualified:
                return Peeled(_bytes(inner.data).decode("utf-8", "replace"), inner.layers)
            return Peeled(_bytes(inner.data), inner.layers)
        if "builtins.reversed" in qualified and args:
            inner = self.evaluate(args[0], depth + 1)
            return self.step("reverse", inner) if inner is not None else None
        step = next((self.decoders[q] for q in sorted(qualified) if q in self.decoders), None)
        if step is None or not args:
            return None
        inner = self.evaluate(args[0], depth + 1)
        if inner is None:
            return None
        if step == "codecs":
            codec = fold(args[1], self.names) if len(args) > 1 else None
            if codec is None:
                codec = next((fold(a.value, self.names) for a in call.args if a.keyword and a.keyword.value == "encoding"),
                             "utf-8")
            codec = str(codec).lower().replace("-", "_")
            step = {"rot13": "rot13", "rot_13": "rot13", "hex": "hex", "hex_codec": "hex", "base64": "base64",
                    "base64_codec": "base64", "zlib": "zlib", "zlib_codec": "zlib", "bz2": "bz2",
                    "bz2_codec": "bz2"}.get(codec, "utf8")
        if step == "reverse":
            return self.step("reverse", inner)
        return self.step(step, inner)

    def _fernet(self, func: cst.Attribute, token_expr: cst.BaseExpression, depth: int) -> Peeled | None:
        maker = func.value
        if isinstance(maker, cst.Name) and self.names is not None:
            maker = self.names.single_value(maker.value) or maker
        if not isinstance(maker, cst.Call) or self.names is None or not any(
                q.endswith("Fernet") for q in self.names.call_names(maker)) or not maker.args:
            return None
        key = self.evaluate(maker.args[0].value, depth + 1)
        token = self.evaluate(token_expr, depth + 1)
        if key is None or token is None:
            return None
        try:
            from cryptography.fernet import Fernet, InvalidToken  # type: ignore[import-not-found]
        except ImportError:
            self.notes.append("Fernet payload with a literal key not decrypted: `cryptography` is not installed")
            return Peeled(token.data, token.layers + ("fernet",), note=self.notes[-1])
        try:
            out = Fernet(_bytes(key.data)).decrypt(_bytes(token.data))
        except (InvalidToken, ValueError, TypeError):
            return None
        _check_size(out, self.max_bytes)
        return Peeled(out, token.layers + ("fernet",))

    def _xor(self, comp: cst.BaseExpression, depth: int, as_bytes: bool = False) -> Peeled | None:
        """`bytes(b ^ K for b in X)`, `''.join(chr(ord(c) ^ K) for c in X)`, keys `key[i % len(key)]`."""
        if not isinstance(comp, (cst.ListComp, cst.GeneratorExp)) or comp.for_in.inner_for_in is not None or \
                comp.for_in.ifs:
            return None
        target, iterable, index_name = comp.for_in.target, comp.for_in.iter, None
        if isinstance(target, cst.Tuple) and len(target.elements) == 2 and isinstance(iterable, cst.Call) and \
                isinstance(iterable.func, cst.Name) and iterable.func.value == "enumerate" and iterable.args:
            first, second = target.elements[0].value, target.elements[1].value
            if not (isinstance(first, cst.Name) and isinstance(second, cst.Name)):
                return None
            index_name, target, iterable = first.value, second, iterable.args[0].value
        if not isinstance(target, cst.Name):
            return None
        elt = comp.elt
        wrap_chr = isinstance(elt, cst.Call) and isinstance(elt.func, cst.Name) and elt.func.value == "chr" and elt.args
        if wrap_chr:
            elt = elt.args[0].value  # type: ignore[union-attr]
            if _is_item(elt, target.value):  # ''.join(chr(c) for c in [105, 109, ...]): a chr-join, no key
                codes = self._ints(iterable)
                if codes is None:
                    return None
                return Peeled("".join(map(chr, codes)), ("chr",))
        if not (isinstance(elt, cst.BinaryOperation) and isinstance(elt.operator, cst.BitXor)):
            return None
        item = target.value
        for this, other in ((elt.left, elt.right), (elt.right, elt.left)):
            if _is_item(this, item):
                key = self._xor_key(other, index_name)
                if key is None:
                    return None
                inner = self.evaluate(iterable, depth + 1)
                if inner is None:
                    codes = self._ints(iterable)
                    if codes is None:
                        return None
                    inner = Peeled("".join(map(chr, codes)) if wrap_chr or not as_bytes else bytes(
                        c & 0xFF for c in codes), ("ints",))
                if len(inner.layers) >= self.max_layers:
                    raise DecodeLimit(f"more than limits.max-decode-layers ({self.max_layers}) layers")
                values = list(inner.data.encode("latin-1") if isinstance(inner.data, str) else inner.data)
                out = [v ^ key[i % len(key)] for i, v in enumerate(values)]
                if wrap_chr or not as_bytes:
                    return Peeled("".join(map(chr, out)), inner.layers + ("xor",))
                if any(v > 255 for v in out):
                    return None
                return Peeled(bytes(out), inner.layers + ("xor",))
        return None

    def _ints(self, expr: cst.BaseExpression) -> list[int] | None:
        if isinstance(expr, cst.Name) and self.names is not None:
            expr = self.names.single_value(expr.value) or expr
        if isinstance(expr, (cst.List, cst.Tuple)):
            values = [fold(e.value, self.names) for e in expr.elements]
            if all(isinstance(v, int) and 0 <= v < 0x110000 for v in values) and len(values) <= self.max_bytes:
                return values  # type: ignore[return-value]
        return None

    def _xor_key(self, expr: cst.BaseExpression, index_name: str | None) -> list[int] | None:
        value = fold(expr, self.names)
        if isinstance(value, int):
            return [value]
        if isinstance(value, str) and len(value) == 1:
            return [ord(value)]
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "ord" and expr.args:
            return self._xor_key(expr.args[0].value, index_name)
        if index_name and isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(
                expr.slice[0].slice, cst.Index):
            key = fold(expr.value, self.names)
            index = expr.slice[0].slice.value
            if isinstance(key, (str, bytes)) and key and isinstance(index, cst.BinaryOperation) and isinstance(
                    index.operator, cst.Modulo) and isinstance(index.left, cst.Name) and index.left.value == index_name:
                return list(key.encode("latin-1") if isinstance(key, str) else key)
        return None


def _is_item(expr: cst.BaseExpression, item: str) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value == item
    return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "ord"
            and len(expr.args) == 1 and isinstance(expr.args[0].value, cst.Name) and expr.args[0].value.value == item)


def _plain_literal(expr: cst.BaseExpression, names: "NameResolver | None") -> bool:
    """A literal written out as itself (not built, not escaped into unreadability), possibly via one name."""
    if isinstance(expr, cst.Name) and names is not None:
        value = names.single_value(expr.value)
        return value is not None and _plain_literal(value, None)
    if isinstance(expr, cst.SimpleString):
        return not escaped(expr)
    if isinstance(expr, cst.ConcatenatedString):
        return _plain_literal(expr.left, None) and _plain_literal(expr.right, None)  # type: ignore[arg-type]
    return False


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|N\{)")


def escaped(node: cst.SimpleString) -> bool:
    """True when a literal spells most of its letters as escapes (`"\\x69\\x6d\\x70..."`)."""
    body = node.value
    if "b" in node.prefix.lower():
        return False  # escapes are how bytes are written, not a disguise
    hits = len(_ESCAPE.findall(body))
    return hits >= 4 and hits * 4 >= 0.5 * len(body)


def decode_expr(expr: cst.BaseExpression, names: "NameResolver | None", decoders: Mapping[str, str],
                limits: "Limits | None" = None) -> Peeled | None:
    """Evaluate the decoding the code applies to a literal; None when it is not literal-derived.

    A plain literal comes back with no layers; one built by folding (`chr`-joins, `bytes.fromhex`,
    concatenation) or escaped into unreadability carries the layer "folded"/"escapes".
    """
    chain = _Chain(names, decoders, limits)
    try:
        result = chain.evaluate(expr)
    except DecodeLimit as exc:
        return Peeled(b"", ("?",), limited=str(exc))
    except ValueError:
        return None
    if result is not None and chain.notes and result.note is None:
        result = Peeled(result.data, result.layers, result.limited, chain.notes[-1])
    return result




def _helper_expression(expr: cst.BaseExpression, names: "NameResolver | None") -> cst.BaseExpression | None:
    """The expression of the module's one-expression helper a call invokes (what `fold` inlines), if it is one."""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and names is not None:
        helper = names.single_helper(expr.func.value)
        return helper[1] if helper is not None else None
    return None


def _fold_layers(expr: cst.BaseExpression, names: "NameResolver | None") -> tuple[str, ...]:
    """How a folded constant was written: () as itself, or the trick that hid it ("escapes", "chr", "hex", "concat")."""
    if isinstance(expr, cst.Name) and names is not None:
        value = names.single_value(expr.value)
        if value is None:
            return ("concat",)
        return _fold_layers(_helper_expression(value, names) or value, None)
    helper = _helper_expression(expr, names)
    if helper is not None:
        return _fold_layers(helper, None)  # `r("phey ...")` with `r = lambda s: codecs.decode(s, "rot13")`
    if _plain_literal(expr, None):
        return ()
    if isinstance(expr, cst.SimpleString):
        return ("escapes",)
    code = code_for_node(expr)[:20_000]
    if "chr(" in code:
        return ("chr",)
    if "rot13" in code or "rot_13" in code:
        return ("rot13",)
    if "fromhex" in code:
        return ("hex",)
    if _ESCAPE.search(code) and isinstance(expr, cst.ConcatenatedString):
        return ("escapes",)
    if "bytes(" in code or "[::-1]" in code:
        return ("bytes",) if "bytes(" in code else ("reverse",)
    return ("concat",)
