"""Bounded decoding of literal payloads: layers found, order kept, bounds respected, nothing executed."""

from __future__ import annotations

import base64
import bz2
import codecs
import gzip
import lzma
import zlib

import libcst as cst
import pytest

from datasec_scan.config import Limits
from datasec_scan.semantics.decode import decode_expr, looks_like_python, peel
from datasec_scan.semantics.names import NameResolver
from datasec_rules._catalog import table

CODE = "import os\nos.system('id')\n"
DECODERS = table("decoders", "decoders")


@pytest.mark.parametrize("blob,layers", [
    (base64.b64encode(CODE.encode()).decode(), ("base64",)),
    (base64.b64encode(zlib.compress(CODE.encode())).decode(), ("base64", "zlib")),
    (base64.b64encode(gzip.compress(CODE.encode(), mtime=0)).decode(), ("base64", "gzip")),
    (base64.b64encode(bz2.compress(CODE.encode())).decode(), ("base64", "bz2")),
    (base64.b64encode(lzma.compress(CODE.encode())).decode(), ("base64", "lzma")),
    (base64.b32encode(CODE.encode()).decode(), ("base32",)),
    (CODE.encode().hex(), ("hex",)),
    (base64.b64encode(base64.b64encode(CODE.encode())).decode(), ("base64", "base64")),
    (CODE[::-1], ("reverse",)),
    (codecs.encode(CODE, "rot13"), ("rot13",)),
])
def test_peel_finds_layers(blob: str, layers: tuple[str, ...]) -> None:
    result = peel(blob)
    assert result.layers == layers
    assert looks_like_python(result.text)


def test_peel_leaves_words_and_python_alone() -> None:
    assert peel("hello world").layers == ()
    assert peel(CODE).layers == ()
    assert peel("deadbeef").layers == ()  # too short to be a payload


def test_layer_bound_is_reported() -> None:
    blob = CODE.encode()
    for _ in range(5):
        blob = base64.b64encode(blob)
    result = peel(blob, Limits(max_decode_layers=3))
    assert result.limited and "max-decode-layers" in result.limited


def test_decompression_bomb_is_bounded() -> None:
    bomb = base64.b64encode(zlib.compress(b"A" * 5_000_000)).decode()
    result = peel(bomb, Limits(max_decoded_bytes=100_000))
    assert result.limited and "max-decoded-bytes" in result.limited
    assert len(result.data) <= 100_000 + len(bomb)


def _arg(source: str) -> tuple[NameResolver, cst.BaseExpression]:
    module = cst.parse_module(source)
    call = module.body[-1].body[0].value  # type: ignore[attr-defined]
    return NameResolver(module), call.args[0].value


def _decode(source: str, limits: Limits | None = None):
    names, arg = _arg(source)
    return decode_expr(arg, names, DECODERS, limits)


def test_chain_in_code_order() -> None:
    blob = base64.b64encode(zlib.compress(CODE.encode())).decode()
    result = _decode(f"import zlib\nfrom base64 import b64decode as d\nK = '{blob}'\nexec(zlib.decompress(d(K)))\n")
    assert result is not None and result.layers == ("base64", "zlib") and result.text == CODE


def test_chain_xor_single_byte_and_key() -> None:
    single = bytes(c ^ 7 for c in CODE.encode()).hex()
    result = _decode(f"exec(bytes(b ^ 7 for b in bytes.fromhex('{single}')))\n")
    assert result is not None and result.text == CODE and "xor" in result.layers
    keyed = bytes(c ^ b"key"[i % 3] for i, c in enumerate(CODE.encode())).hex()
    result = _decode(f"k = b'key'\nexec(bytes([b ^ k[i % len(k)] for i, b in enumerate(bytes.fromhex('{keyed}'))]))\n")
    assert result is not None and result.text == CODE
    chars = "".join(chr(ord(c) ^ 3) for c in CODE)
    result = _decode(f"exec(''.join(chr(ord(c) ^ 3) for c in {chars!r}))\n")
    assert result is not None and result.text == CODE


def test_chain_codecs_reverse_and_escapes() -> None:
    rot = codecs.encode(CODE, "rot13")
    assert _decode(f"import codecs\nexec(codecs.decode({rot!r}, 'rot13'))\n").text == CODE
    assert _decode(f"exec({CODE[::-1]!r}[::-1])\n").text == CODE
    assert _decode(f"exec(''.join(reversed({CODE[::-1]!r})))\n").text == CODE
    escaped = "".join(f"\\x{ord(c):02x}" for c in CODE)
    assert _decode(f"exec('{escaped}')\n").layers == ("escapes",)
    assert _decode("exec(chr(105) + chr(109))\n").layers == ("chr",)


def test_plain_literals_have_no_layers() -> None:
    assert _decode("exec('1+1')\n").layers == ()
    assert _decode("exec('x = 1\\n' + 'y = 2')\n").layers == ("concat",)


def test_not_literal_derived() -> None:
    assert _decode("import base64, sys\nexec(base64.b64decode(sys.argv[1]))\n") is None


def test_chain_bound_is_reported() -> None:
    bomb = base64.b64encode(zlib.compress(b"A" * 2_000_000)).decode()
    result = _decode(f"import zlib, base64\nexec(zlib.decompress(base64.b64decode('{bomb}')))\n",
                     Limits(max_decoded_bytes=50_000))
    assert result is not None and result.limited


def test_fernet_without_cryptography_is_noted() -> None:
    result = _decode("from cryptography.fernet import Fernet\n"
                     "exec(Fernet(b'k' * 44).decrypt(b'gAAAAA' + b'x' * 40))\n")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        assert result is not None and result.note and "cryptography" in result.note
