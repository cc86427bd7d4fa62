"""Properties: any bytes give a result and never an exception; generated programs scan deterministically to valid SARIF."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasec_scan.config import Config
from datasec_scan.engine import scan_file
from datasec_scan.model import FileResult, ScanResult
from datasec_scan.plugins import RuleSet, discover
from datasec_scan.reporters import render

SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "sarif" / "sarif-schema-2.1.0.json"
HAS_SARIF = importlib.util.find_spec("datasec_scan.reporters.sarif") is not None
RELAXED = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

_RULES: RuleSet | None = None


def rules() -> RuleSet:
    global _RULES
    if _RULES is None:
        _RULES = discover()
    return _RULES


def result_of(path: str, data: bytes) -> FileResult:
    result = scan_file(path, data, rules(), Config())
    assert isinstance(result, FileResult) and result.path == path
    broken = [n for n in result.notifications if n.kind in ("internal-error", "rule-error")]
    assert not broken, broken
    return result


def scan_result(*files: FileResult) -> ScanResult:
    return ScanResult(".", files, tuple(r.info() for r in rules().rules), "0")


# Python-looking bytes find more paths through the engine than uniform noise does.
FRAGMENTS = [b"import os\n", b"exec(", b"eval(", b"base64.b64decode(", b"'aGVsbG8='", b")", b"(", b"\n", b"\r",
             b"\x00", b"\xff", b"\xfe\xff", b"# coding: latin-1\n", b"# -*- coding: utf-16 -*-\n", b"socket.socket()",
             b"os.dup2(s.fileno(), 0)", b"AKIAIOSFODNN7EXAMPLE", b"password = 'hunter2hunter2'", b"    ", b"\t",
             b"def f():\n", b"class A:\n", b"lambda: ", b"not ", b"+1", b"[", b"]", b"{", b"}", b"\\", b'"""', b"'''",
             b"\x1b[2J", "\u202e".encode(), b"\xef\xbb\xbf", b"print 'x'\n", b"(x): int = 1\n", b"import ", b";"]
PYTHONISH = st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=20), max_size=60).map(b"".join)
ANY_BYTES = st.binary(max_size=2000) | PYTHONISH


@RELAXED
@given(data=ANY_BYTES, name=st.sampled_from(["a.py", "setup.py", "pkg/__init__.py", ".env", "x.pth", "c.cfg"]))
def test_any_bytes_give_a_result_never_an_exception(data: bytes, name: str) -> None:
    result = result_of(name, data)
    for fmt in ("json", "text") + (("sarif",) if HAS_SARIF else ()):
        out = render(scan_result(result), fmt)
        if fmt != "text":
            json.loads(out)
            out.encode("ascii")
        assert "\x1b" not in out or fmt != "text"


def hypothesmith_programs():
    hypothesmith = pytest.importorskip("hypothesmith")
    return hypothesmith.from_grammar()


@pytest.fixture(scope="module")
def sarif_validator():
    if not HAS_SARIF:
        pytest.skip("SARIF reporter (datasec_scan/reporters/sarif.py) not present")
    jsonschema = pytest.importorskip("jsonschema")
    if not SCHEMA.exists():
        pytest.skip(f"SARIF schema not found at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft7Validator(schema) if "draft-07" in schema.get("$schema", "") else \
        jsonschema.validators.validator_for(schema)(schema)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=st.deferred(hypothesmith_programs))
def test_generated_programs_scan_deterministically(source: str) -> None:
    data = source.encode("utf-8", "surrogatepass")
    first = render(scan_result(result_of("gen.py", data)), "json")
    second = render(scan_result(result_of("gen.py", data)), "json")
    assert first == second


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=st.deferred(hypothesmith_programs))
def test_generated_programs_give_valid_sarif(source: str, sarif_validator) -> None:
    result = result_of("gen.py", source.encode("utf-8", "surrogatepass"))
    log = json.loads(render(scan_result(result), "sarif"))
    errors = sorted(sarif_validator.iter_errors(log), key=str)
    assert not errors, errors[0]


SECRETS = st.one_of(
    st.from_regex(r"AKIA[A-Z2-7]{16}", fullmatch=True),
    st.from_regex(r"ghp_[A-Za-z0-9]{36}", fullmatch=True),
    st.from_regex(r"xoxb-[0-9]{11}-[A-Za-z0-9]{24}", fullmatch=True),
)


@RELAXED
@given(secret=SECRETS, wrapper=st.sampled_from(["key = '{}'\n", "KEY={}\n", "url = 'https://u:{}@example.com/'\n",
                                                 "# {}\n", "call(token='{}')\n"]))
def test_secrets_never_leave_redacted_form(secret: str, wrapper: str) -> None:
    for name in ("a.py", ".env"):
        result = result_of(name, wrapper.format(secret).encode())
        for fmt in ("json", "text") + (("sarif",) if HAS_SARIF else ()):
            assert secret not in render(scan_result(result), fmt), fmt
