"""Redaction: the only form in which a secret may leave the scanner (a short prefix and a hash)."""

from __future__ import annotations

import hashlib
import re

# C0/C1 controls (ESC, CSI, OSC...), bidi controls and marks, line/paragraph separators, lone surrogates
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                      r"\ud800-\udfff]")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def redact(secret: str) -> str:
    shown = min(4, len(secret) // 4)
    return f"{secret[:shown]}…[redacted sha256:{secret_hash(secret)[:8]}]"


def redact_all(text: str, secrets: tuple[str, ...]) -> str:
    pieces = set(secrets)
    for s in secrets:  # a multi-line secret (a PEM block) leaks line by line too
        pieces.update(line.strip() for line in s.splitlines() if len(line.strip()) >= 8)
    for s in sorted(pieces, key=len, reverse=True):
        if len(s) >= 4:
            text = text.replace(s, redact(s))
    return text


def inert(text: str) -> str:
    """Text made safe for a terminal or log: control and bidi characters shown as escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)
