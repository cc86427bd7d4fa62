"""DS201 provider-token: a credential in a provider's recognisable token format."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, FileContext, TextMatch, TextRule

from ._credentials import (
    VALIDATORS,
    TokenFormat,
    in_test_path,
    is_placeholder,
    looks_like_example,
    token_formats,
)

KEYWORD_WINDOW = 120  # characters between a context keyword and the token it introduces
NEAR_WINDOW = 400  # characters around an AWS access key id searched for its secret key
BLOCK_LIMIT = 20_000  # characters from a private key's BEGIN line to its END line
MIN_KEY_MATERIAL = 64  # base64 characters a private key block needs to be more than a stand-in
# ...and by kind: the smallest real key of each (a 512-bit RSA or 1024-bit DSA key is over 400 characters, an
# OpenSSH or PGP block over 300, a P-256 EC key about 160; PKCS#8 Ed25519 is 64). A shorter body is a documentation
# example cut down to a line or two.
MIN_KEY_MATERIAL_BY_KIND = {"RSA": 400, "DSA": 400, "OPENSSH": 300, "PGP": 300, "EC": 150}

_BEGIN = re.compile(r"-----BEGIN (?:(RSA|EC|DSA|OPENSSH|PGP|ENCRYPTED|SSH2 ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?-----")
_B64 = re.compile(r"[A-Za-z0-9+/=]{1,20000}")
_ESCAPES = re.compile(r"\\[nrt]")
_STANDIN = re.compile(r"\.\.\.|…|[xX]{6}|<[^>\n]{1,80}>|\$\{|\{\{")
_HEX_DIGEST = re.compile(r"[0-9a-f]{40}")  # a git commit or SHA-1 beside a key id, not its base64 secret
_EXAMPLE_CONTEXT = re.compile(r"(?i)AccountName=devstoreaccount1")
# Prose introducing a value as a sample, shortly before it (API documentation: "A token looks something like
# this: <code>sp=r&amp;...&amp;sig=...</code>").
_EXAMPLE_PROSE = re.compile(r"(?i)\b(?:looks? (?:something )?like(?: this)?:|for (?:example|instance)\b|e\.g\.|"
                            r"an example\b|example:|sample:)")


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    order: int
    fmt: TokenFormat


@cache
def _keyword(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _candidates(text: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    formats = token_formats()
    by_id = {f.id: f for f in formats}
    lowered = text.lower()
    for order, fmt in enumerate(formats):
        if fmt.near or not fmt.may_occur(text, lowered):
            continue
        if fmt.keyword:
            for k in _keyword(fmt.keyword).finditer(text):
                stop = min(len(text), k.end() + KEYWORD_WINDOW + 2000)
                m = fmt.pattern.search(text, k.end(), stop)
                if m and m.start() <= k.end() + KEYWORD_WINDOW and (m.end() < stop or stop == len(text)):
                    found.append(_Candidate(m.start(), m.end(), order, fmt))
            continue
        found.extend(_Candidate(m.start(), m.end(), order, fmt) for m in fmt.pattern.finditer(text))
    for order, fmt in enumerate(formats):  # secrets that only count next to another format's token
        if not fmt.near or fmt.near not in by_id:
            continue
        # next to a documented example key id (`AKIAIOSFODNN7EXAMPLE`) a secret is the example's too
        anchors = [c for c in found if c.fmt.id == fmt.near and not looks_like_example(text[c.start:c.end])]
        for a in anchors:
            lo, hi = max(0, a.start - NEAR_WINDOW), min(len(text), a.end + NEAR_WINDOW)
            for m in fmt.pattern.finditer(text, lo, hi):
                if (m.end() < hi or hi == len(text)) and (m.start() > lo or lo == 0) and not (
                        m.start() < a.end and a.start < m.end()) and not _HEX_DIGEST.fullmatch(m.group()):
                    found.append(_Candidate(m.start(), m.end(), order, fmt))
    return found


def _judge(fmt: TokenFormat, secret: str, text: str, start: int) -> TextMatch | None:
    if is_placeholder(secret, fmt.prefix):
        return None
    verdict = VALIDATORS[fmt.validator](secret) if fmt.validator else ""
    if verdict == "reject":
        return None
    severity, confidence = fmt.severity, fmt.confidence
    message = f"{fmt.provider} in source"
    if verdict == "valid" and fmt.validator == "github_crc32":
        confidence = Confidence.HIGH
        message += " (its CRC32 checksum matches: very likely a real token)"
    elif verdict == "invalid" and fmt.validator == "github_crc32":
        confidence = Confidence.LOW
        severity = min(severity, Severity.MEDIUM)
        message += " (its CRC32 checksum does not match: probably not a live token)"
    elif verdict == "invalid" and fmt.validator == "jwt":
        severity, confidence = Severity.LOW, Confidence.LOW
        message += " (unsigned, alg none)"
    lo = max(0, start - 300)  # the line around the token, bounded (minified files have long lines)
    line_start = text.rfind("\n", lo, start) + 1 or lo
    line_end = text.find("\n", start, start + 300)
    line = text[line_start:line_end if line_end >= 0 else min(len(text), start + 300)]
    if verdict == "example" or looks_like_example(secret) or _EXAMPLE_CONTEXT.search(line) or _EXAMPLE_PROSE.search(
            text, max(0, start - 240), start):
        return TextMatch(0, 0, f"{fmt.provider} that looks like a documented example or test value; "
                         "make sure it is not a real credential", Severity.LOW, Confidence.LOW, (secret,))
    return TextMatch(0, 0, message + "; revoke it and load it from the environment or a secret manager",
                     severity, confidence, (secret,))


def _private_keys(text: str, path: str) -> Iterator[TextMatch]:
    for m in _BEGIN.finditer(text):
        kind = m.group(1) or ""
        end = text.find("-----END ", m.end(), m.end() + BLOCK_LIMIT)
        if end < 0:
            continue
        close = text.find("-----", end + 9, end + 80)
        if close < 0:
            continue
        block_end = close + 5
        body = text[m.end():end]
        if _STANDIN.search(body):
            continue
        material = sum(len(run) for run in _B64.findall(_ESCAPES.sub(" ", body)))
        if material < MIN_KEY_MATERIAL_BY_KIND.get(kind, MIN_KEY_MATERIAL):
            continue
        secret = text[m.start():block_end]
        before = text[max(0, m.start() - 80):m.start()]
        label = {"RSA": "RSA", "EC": "EC", "DSA": "DSA", "OPENSSH": "OpenSSH", "PGP": "PGP"}.get(kind, "")
        what = f"{label} private key block".strip() if label else "private key block"
        if '"private_key"' in before or "'private_key'" in before:
            what = "Google service-account JSON private_key"
        severity, confidence = Severity.HIGH, Confidence.HIGH
        message = f"{what} in source; the whole key is exposed. Revoke it and load it from a file or secret manager"
        if "ENCRYPTED" in kind or "ENCRYPTED" in body[:200]:
            severity = Severity.MEDIUM
            message = f"encrypted {what} in source; look for its passphrase nearby and move both out"
        elif in_test_path(path):
            severity = Severity.MEDIUM
            message = f"{what} in a test file (usually a key made for the tests); make sure it is not used anywhere else"
        yield TextMatch(m.start(), block_end, message, severity, confidence, (secret,))


class ProviderToken(TextRule):
    """A credential in a recognisable provider token format.

    ## What it does
    Finds strings shaped like provider credentials anywhere in Python and configuration files:
    over 80 formats of more than 40 providers (AWS, GitHub, GitLab, Slack, Stripe, Twilio,
    SendGrid, Mailgun, Discord, Telegram, Google, Azure, OpenAI, Anthropic, Hugging Face, PyPI,
    npm, Heroku, DigitalOcean, Shopify, Square, Datadog, JWTs) and PEM/OpenSSH/PGP private key
    blocks. The formats are data (`rules/catalogs/credentials_tokens.toml`). Where a format carries a
    checksum (GitHub and npm tokens end in a base62 CRC32 of their random part), a matching checksum
    raises confidence to high and a wrong one lowers it. An AWS secret access key next to an access
    key id is reported as well. Documented example keys (`AKIAIOSFODNN7EXAMPLE`) and values marked
    `EXAMPLE`/`dummy`/`fake`/`test` are reported at low severity and low confidence, so they stay
    visible without raising alarms; placeholders (`xxxx`, `<TOKEN>`, `${TOKEN}`, `{{ token }}`,
    `your-token-here`, one repeated character, `1234...`) are not reported.

    ## Why is this bad?
    A token in the source is in every clone, wheel, fork and CI log; anyone who reads it can act as
    you until it is revoked. Attackers scan public code for these formats within minutes of a push.

    ## Example
    ```python
    AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"   # reported, low: the documented AWS example
    SLACK = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXX"  # placeholder: not reported
    ```

    ## How to fix
    Revoke or rotate the credential at the provider first (it is already exposed), then read it at
    run time from the environment or a secret manager (`os.environ["GITHUB_TOKEN"]`), and keep it out
    of version control with a `.gitignore`d `.env` file.

    ## References
    - CWE-798: Use of Hard-coded Credentials
    - https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/
    - https://docs.aws.amazon.com/IAM/latest/UserGuide/security-creds.html
    """

    code = "DS201"
    name = "provider-token"
    category = Category.CREDENTIALS
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = (798,)
    attack = ("T1552.001",)
    file_kinds = ("python", "pth", "config")
    VALID = (
        'token = "ghp_short"\n',
        'SLACK = "https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX"\n',
        'GITHUB_TOKEN = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n',
        'KEY = "<YOUR_STRIPE_KEY>"  # sk_live_...\n',
        Example("OPENAI_API_KEY=${OPENAI_API_KEY}\n", ".env"),
        'PEM = """-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----"""\n',
    )
    INVALID = (
        'key = "AKIAIOSFODNN7EXAMPLE"\n',
        Example("KEY=AKIAIOSFODNN7EXAMPLE\n", ".env"),
        'hook = "https://hooks.slack.com/services/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"\n',
        Example("STRIPE_KEY=sk_live_N0tRea1F1xtureStr1peKey99\n", ".env"),
    )

    def scan(self, text: str) -> Iterator[TextMatch]:
        found = list(self._scan(text))
        if text is self.context.text:
            _REPORTED[self.context] = frozenset(s for m in found for s in m.secrets)
        return iter(found)

    def _scan(self, text: str) -> Iterator[TextMatch]:
        return iter(tokens_in(text, self.context.path))


def tokens_in(text: str, path: str = "") -> list[TextMatch]:
    """Every token and private key block in `text`, judged, one per span (also used on strings built at run time)."""
    judged: list[tuple[int, int, int, TextMatch]] = []
    for c in _candidates(text):
        verdict = _judge(c.fmt, text[c.start:c.end], text, c.start)
        if verdict is not None:
            judged.append((c.start, c.end, c.order, verdict))
    for m in _private_keys(text, path):
        judged.append((m.start, m.end, -1, m))
    judged.sort(key=lambda j: (j[0], -(j[1] - j[0]), j[2]))
    taken: list[tuple[int, int]] = []
    out: list[TextMatch] = []
    for start, end, _, match in judged:
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        out.append(TextMatch(start, end, match.message, match.severity, match.confidence, match.secrets))
    return out


_REPORTED: weakref.WeakKeyDictionary[FileContext, frozenset[str]] = weakref.WeakKeyDictionary()


def reported_secrets(context: FileContext) -> frozenset[str]:
    """The secrets DS201 reports in this file, so the other DS2xx rules can leave them to it."""
    if context not in _REPORTED:
        ProviderToken(context).scan(context.text)
    return _REPORTED[context]
