"""DS205 high-entropy-string: a quoted random-looking string that may be an unrecognised secret (opt-in)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import TextMatch, TextRule

from ._credentials import (
    UUID,
    is_placeholder,
    is_secret_name,
    looks_like_example,
    matches_token_format,
    shannon_entropy,
)
from .provider_token import reported_secrets

BASE64_LIMIT = 4.5  # bits per character, as detect-secrets' default base64 limit
LINE_WINDOW = 200  # characters of context looked at on each side of a string
HEX_LIMIT = 3.0  # bits per character, as detect-secrets' default hex limit
_QUOTED = re.compile(r"\"([A-Za-z0-9+/=_.~-]{20,200})\"|'([A-Za-z0-9+/=_.~-]{20,200})'")
_HEX = re.compile(r"^[0-9a-fA-F]{20,200}$")
_HASHY = re.compile(r"(?i)sha[0-9-]*|hash|digest|checksum|integrity|md5|etag|commit|revision|\brev\b|fingerprint|"
                    r"nonce|salt|uuid|guid|\bid\b|_id\b|\bids?\s*=")
_LOCK_FILES = re.compile(r"(?i)(?:^|[/\\])(?:[^/\\]*\.lock|package-lock\.json|npm-shrinkwrap\.json|pnpm-lock\.ya?ml|"
                         r"composer\.lock|[^/\\]*lock\.json|go\.sum)$")
_BOUND_TO = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[\"']?\s*\]?\s*(?::|=|:=)\s*$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){1,20}$")


def _decodes_to_text(value: str) -> bool:
    """True when a base64 string decodes to mostly printable text: an encoded payload, not a key."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if "-" in value or "_" in value else None,
                               validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) < 12:
        return False
    printable = sum(1 for b in raw if 32 <= b < 127 or b in (9, 10, 13))
    return printable / len(raw) > 0.9


class HighEntropyString(TextRule):
    """A quoted string of random-looking characters that may be a secret in no known format (opt-in).

    ## What it does
    Reports quoted strings of 20-200 base64 or hex characters whose Shannon entropy is above
    detect-secrets' default limits (4.5 bits per character for base64, 3.0 for hex). It stays out of
    the way of everything that is random but not secret: lock files (`*.lock`,
    `package-lock.json`), hex digests on lines that speak of hashes, checksums, commits or ids,
    UUIDs, dotted names, placeholders, base64 that decodes to text (an encoded payload, which the
    remote-access rules inspect), strings without a digit, and values in a known provider format
    (reported by DS201). It is opt-in (`select = ["DS205"]`) and low severity: it is a net for
    secrets the other rules cannot name, and it will also catch some test vectors and salts.

    ## Why is this bad?
    Keys for internal services and providers without a recognisable prefix look like nothing but
    randomness; committing one exposes it as much as any named token.

    ## Example
    ```python
    SIGNING = "q8Nf2kLp7xZ0wRt5vB9mJ3cY6hD1sG4a"
    ```

    ## How to fix
    If it is a secret, rotate it and read it at run time; if it is not (a test vector, a public
    key fingerprint), add `# datasec: ignore[DS205] -- <why>` on the line.

    ## References
    - CWE-798: Use of Hard-coded Credentials
    - https://github.com/Yelp/detect-secrets (entropy limits)
    """

    code = "DS205"
    name = "high-entropy-string"
    category = Category.CREDENTIALS
    severity = Severity.LOW
    confidence = Confidence.LOW
    cwe = (798,)
    status = "opt-in"
    file_kinds = ("python", "pth", "config")
    VALID = (
        'ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"\n',
        'sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"\n',
        'NAME = "this_is_not_random_at_all"\n',
    )
    INVALID = ('SIGNING = "q8Nf2kLp7xZ0wRt5vB9mJ3cY6hD1sG4a"\n',)

    def scan(self, text: str) -> Iterator[TextMatch]:
        if _LOCK_FILES.search(self.context.path):
            return
        for m in _QUOTED.finditer(text):
            group = 1 if m.group(1) is not None else 2
            value = m.group(group)
            if not any(c.isdigit() for c in value) or UUID.match(value) or _DOTTED.match(value):
                continue
            is_hex = bool(_HEX.match(value))
            entropy = shannon_entropy(value)
            if entropy <= (HEX_LIMIT if is_hex else BASE64_LIMIT):
                continue
            # the line around the string, at most LINE_WINDOW characters each side (minified files have long lines)
            line_start = text.rfind("\n", max(0, m.start() - LINE_WINDOW), m.start()) + 1 or max(0, m.start() - LINE_WINDOW)
            line_end = text.find("\n", m.end(), m.end() + LINE_WINDOW)
            line = text[line_start:line_end if line_end >= 0 else min(len(text), m.end() + LINE_WINDOW)]
            if is_hex and _HASHY.search(line):
                continue
            if is_placeholder(value) or looks_like_example(value) or matches_token_format(value) is not None:
                continue
            if not is_hex and _decodes_to_text(value):
                continue
            bound = _BOUND_TO.search(text[line_start:m.start()])
            if bound and is_secret_name(bound.group(1)):
                continue  # a literal bound to a secret-like name is DS202's
            if value in reported_secrets(self.context):
                continue
            kind = "hex" if is_hex else "base64-like"
            yield TextMatch(m.start(group), m.end(group),
                            f"high-entropy {kind} string ({entropy:.1f} bits/char); if it is a secret, move it out "
                            "of the source", Severity.LOW, Confidence.LOW, (value,))
