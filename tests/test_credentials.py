"""DS2xx credential rules: redaction of every token format in every report, checksums, filters, linear regexes."""

from __future__ import annotations

import base64
import importlib.util
import json
import re

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from datasec_rules import _credentials as creds
from datasec_rules.credentials_in_url import _URL
from datasec_rules.high_entropy_string import _QUOTED, HighEntropyString
from datasec_rules.provider_token import ProviderToken
from datasec_scan.config import Config
from datasec_scan.engine import scan_file
from datasec_scan.model import ScanResult, Severity
from datasec_scan.reporters import render
from datasec_scan.rule import FileContext

FORMATS = creds.token_formats()
REPORT_FORMATS = ["text", "json"] + [f for f in ("sarif", "html")
                                     if importlib.util.find_spec(f"datasec_scan.reporters.{f}") is not None]


def _b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


_ALNUM = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=40)
_JWTS = st.builds(
    lambda sub, sig: f"{_b64url({'alg': 'RS256', 'typ': 'JWT'})}.{_b64url({'sub': sub, 'iat': 1700000000})}.{sig}",
    _ALNUM, _ALNUM.map(lambda s: s * 2))
_PEM_LINE = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=64, max_size=64)
_PEMS = st.builds(lambda kind, lines: (kind, lines), st.sampled_from(["RSA ", "EC ", "OPENSSH ", ""]),
                  st.lists(_PEM_LINE, min_size=7, max_size=12))  # (real keys: 400+ characters for RSA)


def _values(fmt: creds.TokenFormat) -> st.SearchStrategy[str]:
    if fmt.id == "jwt":
        return _JWTS
    return st.from_regex(fmt.body, fullmatch=True)


def _source(fmt: creds.TokenFormat, value: str, kind: str) -> str:
    if fmt.near:
        lead = 'ID = "AKIAZ7NQWKJ5XV3MTRBP"\n' if kind == "python" else "ID=AKIAZ7NQWKJ5XV3MTRBP\n"
        return lead + (f'OTHER = "{value}"\n' if kind == "python" else f"OTHER={value}\n")
    if fmt.keyword:
        return f'{fmt.context_sample}"{value}"\n' if kind == "python" else f"{fmt.context_sample.strip(' =')}={value}\n"
    return f'TOKEN = "{value}"\n' if kind == "python" else f"TOKEN={value}\n"


CHEAP_FORMATS = [f for f in REPORT_FORMATS if f != "html"]  # html compiles its template per call: render it once


def _render_all(results: list, ruleset, formats: list[str]) -> dict[str, str]:
    scan = ScanResult("/repo", tuple(results), tuple(r.info() for r in ruleset.rules), "test")
    return {fmt: render(scan, fmt) for fmt in formats}


def _scan_and_render(path: str, source: str, ruleset, formats: list[str] | None = None) -> tuple[list, dict[str, str]]:
    result = scan_file(path, source.encode("utf-8"), ruleset, Config())
    return list(result.findings), _render_all([result], ruleset, REPORT_FORMATS if formats is None else formats)


def _reportable(fmt: creds.TokenFormat, value: str) -> bool:
    if creds.is_placeholder(value, fmt.prefix):
        return False
    return not fmt.validator or creds.VALIDATORS[fmt.validator](value) != "reject"


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.id for f in FORMATS])
def test_a_formats_screen_holds_for_every_token(fmt: creds.TokenFormat) -> None:
    """Anchors and prefilters decide whether a format is searched at all: every token (with the keyword it
    needs before it) must pass them."""
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(value=_values(fmt))
    def check(value: str) -> None:
        text = f"{fmt.context_sample}{value}"
        assert fmt.may_occur(text, text.lower()), text

    check()


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.id for f in FORMATS])
@pytest.mark.parametrize("kind", ["python", "config"])
def test_every_format_is_reported_and_never_leaks(fmt: creds.TokenFormat, kind: str, ruleset) -> None:
    seen: list[tuple[str, object]] = []

    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              phases=(Phase.explicit, Phase.generate))
    @given(value=_values(fmt))
    def check(value: str) -> None:
        assume(_reportable(fmt, value))
        path = "settings.py" if kind == "python" else ".env"
        result = scan_file(path, _source(fmt, value, kind).encode("utf-8"), ruleset, Config())
        assert any(f.rule == "DS201" for f in result.findings), f"{fmt.id}: DS201 missed a generated value"
        for name, text in _render_all([result], ruleset, CHEAP_FORMATS).items():
            assert value not in text, f"{fmt.id}: the full secret appears in the {name} report"
        seen.append((value, result))

    check()
    assert seen, f"{fmt.id}: no generated value passed the placeholder filter"
    for name, text in _render_all([r for _, r in seen], ruleset, REPORT_FORMATS).items():
        for value, _ in seen:
            assert value not in text, f"{fmt.id}: the full secret appears in the {name} report"


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(pem=_PEMS, escaped=st.booleans())
def test_private_key_blocks_never_leak(pem, escaped: bool, ruleset) -> None:
    kind, lines = pem
    body = ("\\n" if escaped else "\n").join(lines)
    block = f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"
    source = f'KEY = """{block}"""\n'
    findings, outputs = _scan_and_render("keys.py", source, ruleset, CHEAP_FORMATS)
    assert any(f.rule == "DS201" and "private key" in f.message.lower() for f in findings)
    for text in outputs.values():
        assert block not in text
        for line in lines:
            assert line not in text


SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%&*+-.=?^_~"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(secret=st.text(SECRET_CHARS, min_size=12, max_size=40), where=st.sampled_from(["assign", "kwarg", "auth", "url"]))
def test_name_context_and_url_secrets_never_leak(secret: str, where: str, ruleset) -> None:
    assume(creds.classify_value(secret, "password") in ("strong", "weak"))
    assume(any(c.isdigit() for c in secret))  # a plain word may occur in rule documentation (SARIF/HTML help)
    source = {
        "assign": f'DB_PASSWORD = "{secret}"\n',
        "kwarg": f'connect(host="h", password="{secret}")\n',
        "auth": f'import requests\nrequests.get("https://api.internal.corp", auth=("svc", "{secret}"))\n',
        "url": f'URL = "postgresql://app:{secret}@db.internal.corp/app"\n',
    }[where]
    assume(where != "url" or not set(secret) & set("@%#?"))
    findings, outputs = _scan_and_render("app.py", source, ruleset, CHEAP_FORMATS)
    assert findings, source
    for text in outputs.values():
        assert secret not in text


def test_html_and_all_reports_of_name_and_url_secrets(ruleset) -> None:
    secret = "Zk8Qw2-Lm9Xp4+Rt7Vn3Bc"
    pem = "\n".join([secret * 3] * 8)
    sources = [
        f'DB_PASSWORD = "{secret}"\n',
        f'connect(host="h", password="{secret}")\n',
        f'import requests\nrequests.get("https://api.internal.corp", auth=("svc", "{secret}"))\n',
        f'URL = "postgresql://app:{secret}@db.internal.corp/app"\n',
        f'KEY = """-----BEGIN RSA PRIVATE KEY-----\n{pem}\n-----END RSA PRIVATE KEY-----"""\n',
    ]
    results = [scan_file(f"f{i}.py", src.encode(), ruleset, Config()) for i, src in enumerate(sources)]
    assert all(r.findings for r in results)
    for text in _render_all(results, ruleset, REPORT_FORMATS).values():
        assert secret not in text


# --- the GitHub CRC32 checksum ----------------------------------------------------------------

def test_base62_is_fixed_width() -> None:
    assert creds.base62(0) == "000000"
    assert creds.base62(61) == "00000z"
    assert creds.base62(62) == "000010"
    assert creds.base62(0xFFFFFFFF) == "4gfFC3"


def test_github_checksum_round_trip() -> None:
    body = "N0tRea1F1xtureT0kenF0rDS201Aa7"
    token = "ghp_" + body + creds.crc32_suffix(body)
    assert len(token) == 40
    assert creds.github_checksum_ok(token)
    assert creds.github_checksum_ok("npm_" + body + creds.crc32_suffix(body))
    broken = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert not creds.github_checksum_ok(broken)
    assert not creds.github_checksum_ok(token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not creds.github_checksum_ok("ghp_short")


@given(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=30, max_size=30))
def test_checksum_decides_confidence(body: str) -> None:
    assume(not creds.is_placeholder(body) and not creds.looks_like_example(body))
    good = "ghp_" + body + creds.crc32_suffix(body)
    bad = "ghp_" + body + ("000000" if creds.crc32_suffix(body) != "000000" else "000001")
    # a body of mostly zeros with a zero suffix reads as a placeholder (rightly unreported): not this test's case
    assume(not any(creds.is_placeholder(t, "ghp_") or creds.looks_like_example(t) for t in (good, bad)))
    (m_good,) = list(ProviderToken(FileContext("a.py", f'T = "{good}"', "python")).scan(f'T = "{good}"'))
    (m_bad,) = list(ProviderToken(FileContext("a.py", f'T = "{bad}"', "python")).scan(f'T = "{bad}"'))
    assert m_good.confidence.label == "high" and m_good.severity == Severity.HIGH
    assert m_bad.confidence.label == "low" and m_bad.severity == Severity.MEDIUM


# --- placeholders, examples and names ---------------------------------------------------------

@pytest.mark.parametrize("value", [
    "changeme", "<YOUR_API_KEY>", "xxxx", "XXXXXXXXXXXXXXXX", "${VAR}", "${API_TOKEN:-default}", "{{ var }}",
    "{{api_token}}", "%s", "%(password)s", "{}", "{password}", "your-token-here", "YOUR_TOKEN_HERE", "test", "password",
    "aaaaaaaaaaaa", "abcdefghijklmnop", "1234567890", "0123456789abcdef", "abababababab", "****", "********",
    "replace-with-your-key", "insert-token-here", "$API_TOKEN", "%API_TOKEN%", "...", "REDACTED",
    "sk-proj-your-openai-project-key-goes-here",
])
def test_placeholders_are_recognised(value: str) -> None:
    assert creds.is_placeholder(value)


@pytest.mark.parametrize("value", [
    "Zk8Qw2Lm9Xp4Rt7Vn3Bc", "hunter2hunter2", "q8#Nf2@kLp7!xZ0w", "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",
    "AKIAZ7NQWKJ5XV3MTRBP", "correcthorsebattery",
])
def test_real_looking_values_are_not_placeholders(value: str) -> None:
    assert not creds.is_placeholder(value)


def test_documented_examples_are_examples_not_placeholders() -> None:
    for value in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "dummy-token-Zk8Qw2",
                  "fake_key_Zk8Qw2Lm9", "sk_test_Zk8Qw2Lm9Xp4Rt7Vn3Bc", "synthetic-unused", "mock-key-Zk8Qw2"):
        assert creds.looks_like_example(value)
        assert not creds.is_placeholder(value)
    text = 'K = "AKIAIOSFODNN7EXAMPLE"\n'
    (m,) = list(ProviderToken(FileContext("a.py", text, "python")).scan(text))
    assert m.severity == Severity.LOW and "documented example" in m.message


@pytest.mark.parametrize("name", ["password", "DB_PASSWD", "apiKey", "client_secret", "AUTH_TOKEN", "SECRET_KEY",
                                  "private_key", "aws_secret_access_key", "smtp_pass", "accesstoken", "x_api_key"])
def test_secret_names(name: str) -> None:
    assert creds.is_secret_name(name)


@pytest.mark.parametrize("name", ["token_type", "password_field", "NextToken", "TOKEN_URL", "SECRET_KEY_FILE",
                                  "PASSWORD_HASHERS", "eos_token", "AUTH_HEADER_PREFIX", "api_key_env", "token_length",
                                  "password_reset_timeout", "key", "monkey", "bypass", "secretary_name"])
def test_names_that_only_look_secret(name: str) -> None:
    assert not creds.is_secret_name(name)


def test_hashes_and_uuids_are_not_strong_secrets() -> None:
    assert creds.classify_value("5f4dcc3b5aa765d61d8327deb882cf99", "password") == "hash"
    assert creds.classify_value("$2b$12$N0tRea1Sa1tN0tRea1Sa1uN0tRea1HashValueN0tRea1Has", "password") == "hash"
    assert creds.classify_value("6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b", "token") is None


# --- catalog sanity and linear-time regexes ---------------------------------------------------

def test_at_least_forty_providers() -> None:
    providers = {f.provider.split(" ")[0] for f in FORMATS}
    assert len(FORMATS) >= 40 and len(providers) >= 30


_NESTED = re.compile(r"\([^()]*[*+}]\)[*+{]")


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.id for f in FORMATS])
def test_format_regexes_have_no_nested_or_unbounded_quantifiers(fmt: creds.TokenFormat) -> None:
    assert not _NESTED.search(fmt.body), fmt.body
    assert not re.search(r"(?<!\\)[*+]", fmt.body.replace("\\*", "").replace("\\+", "").replace("+/", "")
                         .replace("%+", "").replace("+]", "]")), f"unbounded quantifier in {fmt.body}"


def _near_misses(fmt: creds.TokenFormat) -> list[str]:
    sample = fmt.prefix + "Zk8Qw2Lm9Xp4Rt7Vn3Bc" * 3
    n = 100_000
    return [
        sample[:-1] * (n // max(1, len(sample) - 1)),
        fmt.prefix + "A" * n,
        (fmt.prefix + "a1") * (n // (len(fmt.prefix) + 2)),
        sample[: len(sample) // 2] + "!" + "9" * n,
        "-----BEGIN RSA PRIVATE KEY-----\n" * (n // 32),
        "user:pass@" * (n // 10) + "://",
        "a://" + "b" * n + ":" + "c" * n,
    ]


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.id for f in FORMATS])
def test_format_regexes_finish_on_long_near_misses(fmt: creds.TokenFormat) -> None:
    for text in _near_misses(fmt):
        list(fmt.pattern.finditer(text))  # completes: bounded quantifiers, anchored prefixes
        if fmt.keyword:
            list(re.finditer(fmt.keyword, text))


def test_text_rules_finish_on_long_near_misses() -> None:
    n = 100_000
    texts = ["-----BEGIN RSA PRIVATE KEY-----\n" * (n // 32), "postgresql://u:" + "p@" * n, '"' + "A1" * n + '"',
             "eyJ" + "a" * n + ".eyJ" + "b" * n, "aws_secret_access_key " * (n // 22), "https://" + ":" * n + "@",
             'key = "q8Nf2kLp7xZ0wRt5vB9mJ3cY", ' * (n // 30)]  # one long minified line of many strings
    for text in texts:
        list(ProviderToken(FileContext("a.py", text, "python")).scan(text))
        list(HighEntropyString(FileContext("a.json", text, "config")).scan(text))
        list(_URL.finditer(text))
        list(_QUOTED.finditer(text))


def test_tokens_built_from_pieces_are_reported_and_never_leak(ruleset) -> None:
    body = "N0tRea1F1xtureT0kenAbCdEfGhIjKlMnOpq"
    token = "ghp_" + body
    encoded = base64.b64encode(token.encode()).decode()
    sources = [
        f'X = "{token[:12]}" + "{token[12:]}"\n',
        f'P = ["{token[:10]}", "{token[10:25]}", "{token[25:]}"]\nX = "".join(P)\n',
        f'X = "{token[::-1]}"[::-1]\n',
        f'import base64\nX = base64.b64decode("{encoded}").decode()\n',
    ]
    for source in sources:
        findings, outputs = _scan_and_render("app.py", source, ruleset, CHEAP_FORMATS)
        assert any(f.rule == "DS202" and "assembled" in f.message for f in findings), source
        for text in outputs.values():
            assert token not in text and body[:20] not in text and encoded not in text and token[::-1] not in text


def test_human_chosen_passwords_in_test_files_are_low(ruleset) -> None:
    source = ('import requests\nPASSWORD = "Sw0rdf1shy"\nrequests.get("https://api.internal.corp", auth=("u", "Sw0rdf1shy"))\n'
              'URL = "postgresql://app:Sw0rdf1shy@db.internal.corp/app"\n')
    for path, in_tests in (("app/settings.py", False), ("tests/test_login.py", True)):
        findings, _ = _scan_and_render(path, source, ruleset, [])
        ds2 = [f for f in findings if f.rule.startswith("DS2")]
        assert {f.rule for f in ds2} >= {"DS202", "DS203", "DS204"}, path
        severities = {f.severity for f in ds2}
        assert severities == {Severity.LOW} if in_tests else min(severities) >= Severity.MEDIUM, (path, ds2)


@pytest.mark.parametrize("path, source", [
    (".env", "export DB_PASSWORD='Wq7zT9mP2vK4xR'\n"),
    ("deploy/values.yaml", "db:\n  password: Wq7zT9mP2vK4xR  # prod\n"),
    ("settings.json", '{"db": {"password": "Wq7zT9mP2vK4xR"}}'),
    ("app.properties", "spring.datasource.password=Wq7zT9mP2vK4xR\n"),
])
def test_config_file_secrets_are_reported_once_and_never_leak(path: str, source: str, ruleset) -> None:
    findings, outputs = _scan_and_render(path, source, ruleset)
    assert [(f.rule, f.severity) for f in findings] == [("DS206", Severity.HIGH)], findings
    for text in outputs.values():
        assert "Wq7zT9mP2vK4xR" not in text


def test_config_file_values_in_templates_and_tests_are_lowered(ruleset) -> None:
    for path, expected in ((".env", Severity.MEDIUM), (".env.example", Severity.LOW), ("docker-compose.yml", Severity.LOW),
                           ("tests/settings.ini", Severity.LOW), (".github/workflows/ci.yml", Severity.LOW),
                           ("deploy/settings.yml", Severity.MEDIUM)):
        source = "- SMTP_PASSWORD=Np5Rt7Vb9\n" if path.endswith(".yml") else "SMTP_PASSWORD=Np5Rt7Vb9\n"
        findings, _ = _scan_and_render(path, source, ruleset, [])
        assert [f.severity for f in findings if f.rule == "DS206"] == [expected], path


@pytest.mark.parametrize(("name", "value"), [
    ("password", "string"),                           # a schema's type for the field
    ("passphrase", "string?"),
    ("SECRET_KEY", "AWSSecretKey"),                    # the name of a field looked up in a file
    ("license_key", "389-exception"),                  # a license identifier
    ("license_key", "LicenseRef-scancode-example"),
    ("REQUEST_TYPE_ACCESS_TOKEN", "auth-request-type/at"),
    ("refresh_token", "hf_oauth__refresh_token"),      # a value naming itself
    ("spdx_license_key", "Zk8Qw2Lm9Xp4Rt7V"),          # an SPDX identifier's field
    ("URL_TOKEN", "realms/{realm-name}/protocol/openid-connect/token"),  # a URL template
    ("search_token", "#mesondefine"),                  # a directive keyword
    ("_LABEL_TOKEN", "@wandbcode{"),                   # a parser marker
])
def test_names_and_identifiers_are_not_credentials(name: str, value: str) -> None:
    assert not creds.is_secret_name(name) or creds.classify_value(value, name) is None


@pytest.mark.parametrize(("name", "value"), [
    ("password", "summer-2024"),                      # a human password made of a word and a number
    ("DB_PASSWORD", "kafkapassword"),                  # a weak password that names itself is still a password
    ("SECRET_KEY", "newsecret"),                       # one plain word: a weak secret, still reported
    ("api_key", "example-token-Zk8Qw2Lm9Xp4"),
    ("license_key", "A1B2-C3D4-E5F6-G7H8"),
])
def test_secret_values_beside_those_shapes_still_count(name: str, value: str) -> None:
    assert creds.is_secret_name(name) and creds.classify_value(value, name) is not None


def test_public_keys_are_not_secrets_and_private_keys_are() -> None:
    filler = "Zk8Qw2Lm9Xp4Rt7Vn3Bc" * 12
    rsa_public = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + filler
    ec_public = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + filler
    pkcs8_private = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC" + filler
    pkcs1_private = "MIIEpAIBAAKCAQEA" + filler
    assert creds.public_key_der(rsa_public) and creds.public_key_der(ec_public)
    assert creds.classify_value(rsa_public, "_TOKEN") is None
    assert not creds.public_key_der(pkcs8_private) and not creds.public_key_der(pkcs1_private)
    assert creds.classify_value(pkcs8_private, "_TOKEN") is not None


def test_a_token_introduced_as_a_sample_in_prose_is_an_example() -> None:
    sas = "sv=2021-06-08&sr=c&sig=Zk8Qw2Lm9Xp4Rt7Vn3BcZk8Qw2Lm9Xp4Rt7Vn3BcQ%3D"
    doc = f'{{"documentation": "<p>A token looks something like this:</p> <code>sp=r&amp;{sas}</code>"}}\n'
    (m,) = list(ProviderToken(FileContext("service-2.json", doc, "json")).scan(doc))
    assert m.severity == Severity.LOW and "documented example" in m.message
    config = f'AZURE_SAS = "{sas}"\n'
    (m,) = list(ProviderToken(FileContext("a.py", config, "python")).scan(config))
    assert m.severity >= Severity.MEDIUM


@pytest.mark.parametrize(("path", "expected"), [
    ("pyotp-2.12.1/test.py", True), ("pkg/tests.py", True), ("docs_src/security/tutorial004.py", True),
    ("pkg/contest.py", False), ("pkg/latest.py", False), ("pkg/testing_tools.py", False),
])
def test_test_and_example_paths(path: str, expected: bool) -> None:
    assert creds.in_test_path(path) is expected
