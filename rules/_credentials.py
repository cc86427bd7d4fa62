"""Shared pieces of the DS2xx credential rules: placeholder and example filters, entropy, checksums, token formats."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from datasec_scan.model import Confidence, Severity

from ._catalog import load

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Values that stand for "put your secret here" rather than being one.
PLACEHOLDER_WORDS = frozenset({
    "changeme", "change_me", "change-me", "changethis", "changeit", "password", "passwd", "pass", "pwd",
    "secret", "secrets", "test", "testing", "tests", "token", "apikey", "api_key", "api-key", "key",
    "none", "null", "nil", "undefined", "todo", "fixme", "tbd", "redacted", "hidden", "masked",
    "placeholder", "dummy", "default", "example", "sample", "foo", "bar", "baz", "foobar", "qux",
    "xxx", "empty", "unset", "notset", "not_set", "not-set", "required", "optional", "secret_key",
    "secretkey", "access_token", "auth_token", "private_key", "client_secret", "mypassword",
    "my_password", "mysecret", "my_secret", "yourpassword", "your_password", "password123", "secret123",
    "s3cr3t", "p4ssw0rd", "passw0rd", "top_secret", "topsecret", "supersecret", "super_secret",
    "bearer", "basic", "digest", "token_here", "insert_here", "ignored", "unused", "invalid",
})
_TEMPLATE = re.compile(
    r"\$\{[^}]{0,200}\}|\{\{[^}]{0,200}\}\}|\{%[^%]{0,200}%\}|<[^<>]{1,200}>|%\([A-Za-z0-9_]{1,80}\)[sdr]|%[sdr]\b"
    r"|\{[A-Za-z0-9_.!:\[\]]{0,80}\}|^\$[A-Za-z_][A-Za-z0-9_]{0,80}$|^%[A-Za-z_][A-Za-z0-9_]{0,80}%$|\$\([^)]{0,200}\)"
)
_FILLER = re.compile(r"[xX]{4}|\*{3}|\.{3}|…|#{3}|_{4}|-{4}|0{8}|1{8}|9{8}")
_YOUR = re.compile(r"(?i)(?:^|[^a-z])(?:your|my|insert|replace|enter|put|paste|add|fill|set)[-_ .]{0,3}(?:real[-_ ]{0,2}|own[-_ ]{0,2}|actual[-_ ]{0,2}|new[-_ ]{0,2})?"
                   r"(?:[a-z]{2,12}[-_ .]{0,3}){0,2}(?:token|key|secret|password|pass|pwd|api|credential|id|value|here|webhook)")
_HERE = re.compile(r"(?i)(?:[-_ .]here$|goes[-_ .]?here|replace[-_ .]?(?:me|this|with)|^(?:insert|change)[-_ .]?(?:me|this|it)$)")
_EXAMPLE = re.compile(r"(?i)example|dummy|fake|sample|test|placeholder|demo|unused|mock|synthetic")
KNOWN_EXAMPLES = frozenset({
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "devstoreaccount1",
    # the example key pair of Amazon S3's 2006 developer guide, still used by tests of request signing
    "0PN5J17HBGZHT7JJ3X82", "uV3F3YluFJax1cknvbcGwgjvx4QpvB+leU8dUj2o",
    # the Azure storage emulator's (Azurite's) published account key
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
})
_JWT_EXAMPLE_PAYLOAD = re.compile(r"John Doe|1234567890|example\.(?:com|org|net)|\btest|\bdemo|\bsample", re.IGNORECASE)
HASH_FORMS = re.compile(
    r"^(?:\$(?:2[abxy]?|5|6|argon2i?d?|scrypt|pbkdf2[-a-z0-9]*|1|apr1|y|7)\$[^\s]{8,}"
    r"|(?:pbkdf2_sha\d+|bcrypt(?:_sha256)?|argon2|sha1|md5|scrypt|sha256|sha512)\$[^\s]{8,}"
    r"|\{(?:SSHA|SHA|SMD5|MD5|CRYPT|PBKDF2[-A-Z0-9]*)\}[^\s]{4,}"
    r"|[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128}"
    r"|[0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64})$"
)
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TEST_PATH = re.compile(r"(?:^|[/\\])(?:tests?|t|testing|test_[^/\\]*|[^/\\]*_tests?\.py|tests?\.py|conftest\.py|"
                       r"docs?|docs_src|examples?|samples?|tutorials?)(?:[/\\]|$)", re.IGNORECASE)


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _sequential(chars: str) -> bool:
    if len(chars) < 6:
        return False
    steps = sum(1 for a, b in zip(chars, chars[1:]) if abs(ord(b) - ord(a)) == 1)
    return steps >= 0.75 * (len(chars) - 1)


def _periodic(chars: str) -> bool:
    for period in range(1, 5):
        if len(chars) >= 2 * period + 2 and chars == (chars[:period] * (len(chars) // period + 1))[:len(chars)]:
            return True
    return False


def is_placeholder(value: str, prefix: str = "") -> bool:
    """True when a value is a stand-in for a secret (`changeme`, `<KEY>`, `${X}`, `xxxx`, `aaaa`, `1234...`)."""
    text = value.strip().strip("'\"")
    if not text:
        return True
    lowered = text.lower()
    if lowered in PLACEHOLDER_WORDS or lowered.strip("<>[]{}()") in PLACEHOLDER_WORDS:
        return True
    if _TEMPLATE.search(text) or _FILLER.search(text) or _YOUR.search(text) or _HERE.search(text):
        return True
    body = text[len(prefix):] if prefix and text.startswith(prefix) else text
    alnum = "".join(ch for ch in body if ch.isalnum())
    if len(alnum) >= 6 and len(set(alnum.lower())) <= 3:
        return True
    return _sequential(alnum) or _periodic(alnum)


# Passwords that documentation uses as examples (Oracle's scott/tiger, redis.conf's foobared, ...).
DEMO_PASSWORDS = frozenset({"tiger", "foobared", "hunter2", "s3cr3t", "passw0rd", "p4ssw0rd", "p@ssw0rd", "p@ssword",
                            "letmein", "opensesame", "swordfish", "sekrit", "secret1", "password1", "pass123"})
# Words a value is made of when it describes itself instead of being random (`secret_password_123`).
_SELF_DESCRIBING = frozenset({"secret", "secrets", "password", "passwd", "pass", "pwd", "token", "key", "api", "my",
                              "your", "super", "top", "very", "private", "access", "auth", "admin", "user", "db", "ssl",
                              "client", "app", "default", "new", "old", "the", "some", "a", "sk", "pk", "bad", "wrong",
                              "good", "correct", "invalid", "valid", "other", "another", "foo", "bar", "baz", "root",
                              "mongo", "redis", "postgres", "mysql", "login", "sentinel", "proxy", "basic"})


def looks_like_example(value: str) -> bool:
    """True for values documented as examples or marked as test data (`AKIAIOSFODNN7EXAMPLE`, `...dummy...`)."""
    if value in KNOWN_EXAMPLES or value.lower() in DEMO_PASSWORDS or _EXAMPLE.search(value):
        return True
    words = re.findall(r"[a-z]+", value.lower())
    return sum(map(len, words)) >= 6 and all(w in _SELF_DESCRIBING for w in words)


def looks_like_hash(value: str) -> bool:
    return bool(HASH_FORMS.match(value.strip()))


def in_test_path(path: str) -> bool:
    return bool(TEST_PATH.search(path.replace("\\", "/")))


def base62(number: int, width: int = 6) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def crc32_suffix(body: str) -> str:
    """The 6-character base62 CRC32 that GitHub-style tokens carry after their random part."""
    return base62(binascii.crc32(body.encode("ascii", "replace")) & 0xFFFFFFFF)


def github_checksum_ok(token: str) -> bool:
    """`ghp_`/`gho_`/.../`npm_` + 30 random characters + base62 CRC32 of those 30 characters."""
    _, _, rest = token.partition("_")
    if len(rest) != 36 or not rest.isascii() or not rest.isalnum():
        return False
    return crc32_suffix(rest[:30]) == rest[30:]


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token: str) -> tuple[dict, dict] | None:
    """Header and payload of a JWT when both decode to JSON objects and the header names an algorithm."""
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    try:
        header = json.loads(_b64url(pieces[0]))
        payload = json.loads(_b64url(pieces[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(header, dict) or not isinstance(payload, dict) or "alg" not in header:
        return None
    return header, payload


def _validate_jwt(token: str) -> str:
    parts = jwt_parts(token)
    if parts is None:
        return "reject"
    header, payload = parts
    if _JWT_EXAMPLE_PAYLOAD.search(json.dumps(payload, sort_keys=True)):
        return "example"
    if str(header.get("alg", "")).lower() == "none":
        return "invalid"
    return "valid"


def _validate_github(token: str) -> str:
    return "valid" if github_checksum_ok(token) else "invalid"


# name -> function(secret) -> "valid" | "invalid" | "example" | "reject"
VALIDATORS: dict[str, Callable[[str], str]] = {"github_crc32": _validate_github, "jwt": _validate_jwt}

_BOUNDARY = "A-Za-z0-9_"


@dataclass(frozen=True)
class TokenFormat:
    """One provider token format, read from rules/catalogs/credentials_tokens.toml."""

    id: str
    provider: str
    body: str  # the regex of the token itself (no lookarounds): also what tests generate values from
    severity: Severity
    confidence: Confidence
    prefix: str = ""
    validator: str = ""
    keyword: str = ""  # a regex that must occur shortly before the token
    near: str = ""  # the id of a format that must occur near the token
    boundary: str = _BOUNDARY
    context_sample: str = ""  # for tests: text to put before a generated value so `keyword` matches
    note: str = ""
    anchors: tuple[str, ...] = ()  # one must occur in the text for the format to be searched (cheap pre-screen)
    anchors_ci: bool = False
    # for a format without a literal anchor: a regex that finds part of every token and begins with a literal, so
    # the regex engine can search for that literal (a pattern beginning with a character class is tried everywhere)
    prefilter: str = ""

    def may_occur(self, text: str, lowered: str) -> bool:
        if self.prefilter:
            return _prefilter(self.prefilter).search(text) is not None
        if not self.anchors:
            return True
        haystack = lowered if self.anchors_ci else text
        return any(a in haystack for a in self.anchors)

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.body, self.boundary)


@cache
def _prefilter(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


@cache
def _compile(body: str, boundary: str) -> re.Pattern[str]:
    before = boundary.replace("=", "")  # `KEY=value`: an equals sign may touch a token's start, never its end
    return re.compile(f"(?<![{before}])(?:{body})(?![{boundary}])")


def _default_anchor(body: str) -> tuple[str, ...]:
    literal = leading_literal(body)
    return (literal,) if len(literal) >= 2 else ()


_META = set("[](){}?*+|^$")


def leading_literal(body: str) -> str:
    """The fixed text a regex starts with (`ghp_` of `ghp_[A-Za-z0-9]{36}`, `dp.pt.` of `dp\\.pt\\.`)."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and not body[i + 1].isalnum():
            out.append(body[i + 1])
            i += 2
            continue
        if ch in _META or ch == "\\" or ch == ".":
            break
        out.append(ch)
        i += 1
    if i < len(body) and body[i] in "?*{" and out:  # a quantifier applies to the last literal character
        out.pop()
    return "".join(out)


@lru_cache(maxsize=1)
def token_formats() -> tuple[TokenFormat, ...]:
    data = load("credentials_tokens")
    formats = []
    for entry in data["format"]:
        formats.append(TokenFormat(
            id=entry["id"], provider=entry["provider"], body=entry["regex"],
            severity=Severity.parse(entry.get("severity", "high")),
            confidence=Confidence[entry.get("confidence", "high").upper()],
            prefix=entry.get("prefix", ""), validator=entry.get("validator", ""), keyword=entry.get("keyword", ""),
            near=entry.get("near", ""), boundary=entry.get("boundary", _BOUNDARY),
            context_sample=entry.get("context_sample", ""), note=entry.get("note", ""),
            anchors=tuple(entry["anchors"]) if "anchors" in entry else _default_anchor(entry["regex"]),
            anchors_ci=bool(entry.get("anchors_ci", False)), prefilter=entry.get("prefilter", ""),
        ))
    ids = [f.id for f in formats]
    if len(set(ids)) != len(ids):
        raise ValueError("credentials_tokens.toml: duplicate format ids")
    for f in formats:
        if f.validator and f.validator not in VALIDATORS:
            raise ValueError(f"credentials_tokens.toml: {f.id}: unknown validator {f.validator!r}")
    return tuple(formats)


def matches_token_format(value: str, context: str = "") -> TokenFormat | None:
    """The token format a whole value matches (DS201 reports it), if any; `context` is the name it is bound to."""
    for f in token_formats():
        if f.near or (f.keyword and not (context and re.search(f.keyword, context))):
            continue
        if f.pattern.fullmatch(value):
            return f
    return None


def string_values(text: str) -> Iterator[re.Match[str]]:
    """Quoted strings on one line (the cheap text view a text rule has of literals)."""
    return _QUOTED.finditer(text)


_QUOTED = re.compile(r"""(?P<q>["'])(?P<v>[^"'\\\n]{1,400})(?P=q)""")


# --- names that hold secrets, and values that are secrets ------------------------------------
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
SECRET_WORDS = frozenset({"password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "token", "apikey",
                          "secretkey", "privatekey", "accesskey", "credential", "credentials", "creds"})
SECRET_COMPOUND_ENDINGS = ("password", "passwd", "secret", "token", "apikey", "secretkey", "privatekey", "accesskey")
KEY_QUALIFIERS = frozenset({"api", "secret", "private", "access", "signing", "encryption", "master", "auth", "client",
                            "consumer", "app", "application", "license", "webhook", "hmac", "jwt", "service"})
NONSECRET_FIRST = frozenset({
    "next", "prev", "previous", "continuation", "page", "pagination", "is", "has", "use", "uses", "should", "enable",
    "enabled", "require", "requires", "show", "min", "max", "num", "no", "skip", "allow", "check", "validate", "get",
    "set", "eos", "bos", "pad", "unk", "mask", "sep", "cls", "start", "end", "special", "stop", "begin", "image", "audio",
    "video", "vision", "eot", "eom", "fim", "think", "tool", "additional", "last", "first", "sync", "cancel", "cancellation",
    "idempotency", "resume", "cursor", "marker", "lexer", "parse", "parser", "spdx", "label",
})
NONSECRET_LAST = frozenset({
    "path", "paths", "file", "files", "filename", "url", "urls", "uri", "endpoint", "name", "names", "type", "types",
    "field", "fields", "header", "headers", "prefix", "suffix", "env", "envvar", "var", "variable", "length", "len",
    "size", "id", "ids", "label", "description", "help", "text", "message", "msg", "error", "errors", "param", "params",
    "parameter", "attr", "attribute", "column", "col", "kind", "mode", "policy", "location", "dir", "directory",
    "hash", "hashed", "hasher", "hashers", "digest", "validator", "validators", "regex", "pattern", "re", "format",
    "fmt", "template", "expiry", "expires", "expiration", "ttl", "timeout", "age", "lifetime", "count", "limit",
    "retries", "attempts", "scope", "scopes", "audience", "issuer", "algorithm", "algorithms", "alg", "cls", "class",
    "model", "schema", "serializer", "form", "widget", "input", "prompt", "hint", "placeholder", "required", "changed",
    "ok", "valid", "style", "char", "chars", "separator", "sep", "delimiter", "scheme", "method", "index", "idx",
    "position", "pos", "status", "state", "source", "store", "storage", "backend", "backends", "provider", "manager",
    "getter", "setter", "loader", "callback", "func", "fn", "handler", "cache", "version", "encoding", "charset",
    "key", "keys", "map", "mapping", "list", "dict", "set", "table", "view", "views", "option",
    "options", "setting", "settings", "config", "command", "cmd", "arg", "args", "flag", "flags", "display", "title",
    "verbose", "reset", "confirm", "confirmation", "again", "repeat", "strength", "rule", "rules", "info",
    "detail", "details", "level", "min", "max", "generator", "factory", "service", "client", "value_type",
    "usage", "used", "counter", "enabled", "disabled", "optional", "entry", "entries",
})


def name_words(name: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(name)]


def is_secret_name(name: str) -> bool:
    """`password`, `DB_PASSWD`, `apiKey`, `client_secret`, `AUTH_TOKEN` yes; `token_type`, `NextToken`, `TOKEN_URL` no."""
    words = name_words(name)
    if not words:
        return False
    last = words[-1]
    if last in NONSECRET_LAST and not (last == "key" and len(words) >= 2 and words[-2] in KEY_QUALIFIERS):
        return False
    if len(words) > 1 and words[0] in NONSECRET_FIRST:
        return False
    if last in SECRET_WORDS:
        return True
    if last == "key" and len(words) >= 2 and words[-2] in KEY_QUALIFIERS:
        return True
    return len(words) == 1 and last.endswith(SECRET_COMPOUND_ENDINGS)


def is_password_name(name: str) -> bool:
    words = name_words(name)
    return bool(words) and words[-1] in {"password", "passwd", "pwd", "pass", "passphrase", "passcode"}


_PATHLIKE = re.compile(r"^(?:[/~.]|[A-Za-z]:[\\/])|\.(?:pem|key|crt|cer|der|p12|pfx|json|txt|cfg|ini|env|ya?ml|toml|py|"
                       r"log|gpg|asc|jks|keystore|db|sqlite3?)$", re.IGNORECASE)
_IDENTIFIER_LIKE = re.compile(r"^_{0,2}(?:[a-z]+(?:[_.:-][a-z]+){1,8}|[A-Z]+(?:_[A-Z]+){1,8}|[a-z]+(?:[A-Z][a-z]+){1,8})_{0,2}$")


# A class or type name (`V1SecretVolumeSource`, `ServiceAccountTokenProjection`): an API model's field types.
_CLASS_NAME = re.compile(r"^(?:V\d+(?:alpha\d+|beta\d+)?(?:[A-Z][a-z]+){2,8}|(?:[A-Z][a-z]+){3,8}|"
                         r"[A-Z]{2,5}(?:[A-Z][a-z]+){2,8})$")  # (and `AWSSecretKey`: a field's name after an acronym)
# A type in a schema (`"password": "string"`, `"passphrase": "string?"`): what a field holds, not its value.
_TYPE_NAME = re.compile(r"^(?:string|str|boolean|bool|integer|number|float|double|object|array|binary|bytes|"
                        r"text|null|date|datetime|uuid|secret|password)(?:\?|\[\])*$", re.IGNORECASE)
# Words and numbers joined by punctuation (`389-exception`, `gpl-2.0-plus`, `auth-request-type/at`), or one word
# with a sigil (`#mesondefine`, `@wandbcode{`): an identifier, a label, a slug or a marker. A human password may look
# like this, so it only counts for names that are not passwords. (One plain word stays a weak secret.)
_SLUG = re.compile(r"^(?:[a-z]+|\d+)(?:[-_.:/](?:[a-z]+|\d+(?:\.\d+)*)){1,8}$|^[#@.$%][a-z]+[{(:=]?$|^[a-z]+[{(]$")
# A path or URL template (`realms/{realm-name}/protocol/openid-connect/token`): where a token is sent, not one.
_PATH_TEMPLATE = re.compile(r"/[^/\s]*\{[\w-]+\}|\{[\w-]+\}[^/\s]*/")
_IMPORT_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){1,20}(?::[A-Za-z_][A-Za-z0-9_.]*)?$")
# An expression naming where a value is, with an index: `Jobs[-1].JobId` (a JMESPath in botocore's paginators).
_ACCESS_PATH = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\[-?\d*\](?:\[-?\d*\]|\.[A-Za-z_]\w*)*$")


def char_classes(value: str) -> int:
    return sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
                any(not c.isalnum() for c in value)))


def looks_strong(value: str) -> bool:
    """Long and varied enough to be a generated secret rather than a word or a human password."""
    entropy = shannon_entropy(value)
    classes = char_classes(value)
    if sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value))) < 2:
        return False  # one letter case and no digits: words, not generated
    return (len(value) >= 12 and entropy >= 3.0 and classes >= 3) or (len(value) >= 16 and entropy >= 3.3 and classes >= 2)


def public_key_der(value: str) -> bool:
    """Base64 DER of a public key or certificate (`MIIBIjANBgkq...`): a SEQUENCE whose first element is a SEQUENCE
    (SubjectPublicKeyInfo, Certificate), where a private key's (PKCS#1, PKCS#8, SEC1) is its version INTEGER."""
    if not value.startswith("M") or len(value) < 60:
        return False
    try:
        der = base64.b64decode(value[:64], validate=True)
    except ValueError:
        return False
    if len(der) < 6 or der[0] != 0x30:
        return False
    size = der[1] & 0x7F if der[1] & 0x80 else 0
    return 2 + size < len(der) and der[2 + size] == 0x30


def classify_value(value: str, name: str = "", min_length: int = 6) -> str | None:
    """None when the value is not a credential, else "example", "hash", "weak" or "strong"."""
    v = value.strip()
    if len(v) < min_length or len(v) > 4096 or is_placeholder(v) or any(c.isspace() for c in v):
        return None
    if public_key_der(v):
        return None
    if "://" in v or _PATHLIKE.search(v) or _IDENTIFIER_LIKE.match(v) or UUID.match(v) or _IMPORT_PATH.match(v) or \
            _ACCESS_PATH.match(v):
        return None
    if _TYPE_NAME.match(v) or v.startswith("LicenseRef-") or _PATH_TEMPLATE.search(v):
        return None
    if not (name and is_password_name(name)) and (_CLASS_NAME.match(v) or _SLUG.match(v) and re.search(
            "[a-z]{4}", v)):
        return None  # (a password may be words run together; a token, key or secret is not)
    if name:
        norm = re.sub(r"[^a-z0-9]", "", v.lower())
        name_norm = re.sub(r"[^a-z0-9]", "", name.lower())
        if norm == name_norm or norm in name_norm or v.lower() in name_words(name) or (
                len(name_norm) >= 8 and name_norm in norm and norm.replace(name_norm, "", 1).isalpha()
                and not is_password_name(name)):
            return None  # (`"refresh_token": "hf_oauth__refresh_token"`: a value that names itself)
    if not v.isprintable():
        return None
    if looks_like_example(v):
        return "example"
    if looks_like_hash(v) and (not name or is_password_name(name) or not v.isalnum()):
        return "hash"
    return "strong" if looks_strong(v) else "weak"
