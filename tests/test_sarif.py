"""SARIF reporter: OASIS schema validity, GitHub code scanning requirements and limits, line fingerprints."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from datasec_scan.cli import main
from datasec_scan.model import (
    Category,
    Confidence,
    FileResult,
    Finding,
    FlowStep,
    Level,
    Location,
    Notification,
    RuleInfo,
    ScanResult,
    Severity,
    Suppression,
)
from datasec_scan.reporters import render as render_any
from datasec_scan.reporters.sarif import LIMIT_NOTE, Limits, hash_lines, render, truncate

REPO = Path(__file__).resolve().parent.parent
FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"


# --- schema --------------------------------------------------------------------------------------------------


def _schema_path() -> Path:
    given_path = os.environ.get("DATASEC_SARIF_SCHEMA")
    return Path(given_path) if given_path else REPO.parent / "shared" / "sarif" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator():
    path = _schema_path()
    if not path.is_file():
        pytest.skip(f"SARIF 2.1.0 schema not found at {path} (set DATASEC_SARIF_SCHEMA to its path)")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def check(validator, text: str) -> dict:
    """Valid SARIF in ASCII, one trailing newline; returns the parsed log."""
    text.encode("ascii")
    assert text.endswith("}\n")
    log = json.loads(text)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    return log


# --- building results by hand --------------------------------------------------------------------------------


def rule(code: str, severity: Severity = Severity.HIGH, confidence: Confidence = Confidence.HIGH,
         category: Category = Category.REMOTE_ACCESS, cwe: tuple[int, ...] = (506,), doc: str | None = None
         ) -> RuleInfo:
    doc = doc if doc is not None else (f"## What it does\nFinds {code} things.\n\n## Why is this bad?\nIt is bad.\n\n"
                                       "## Example\n```python\nexec(x)\n```\n\n## How to fix\nDo not.\n")
    return RuleInfo(code, f"rule-{code.lower()}", category, severity, confidence, cwe, ("T1059",),
                    f"Summary of {code}", doc, "cst", "builtin")


RULES = (rule("DS101", Severity.CRITICAL, cwe=(94, 506)),
         rule("DS201", Severity.HIGH, Confidence.MEDIUM, Category.CREDENTIALS, (798,)),
         rule("DS302", Severity.MEDIUM, Confidence.LOW, Category.OUTBOUND_DATA, (359,)),
         rule("DS205", Severity.LOW, Confidence.LOW, Category.CREDENTIALS, (798,)))
INFO = {r.code: r for r in RULES}


def finding(code: str, path: str = "pkg/mod.py", line: int = 3, column: int = 5, severity: Severity | None = None,
            message: str | None = None, **extra) -> Finding:
    info = INFO.get(code) or rule(code)
    return Finding(code, info.name, info.category, severity or info.severity, info.confidence,
                   message or f"{code} found something", Location(path, line, column, line, column + 10),
                   snippet=f"snippet of {code}", **extra)


FLOW = (FlowStep(Location("pkg/mod.py", 1, 1, 1, 20), "source (network): `requests.get(url)`"),
        FlowStep(Location("pkg/mod.py", 2, 1, 2, 12), "assigned to `payload`"),
        FlowStep(Location("pkg/mod.py", 3, 5, 3, 15), "sink: exec"))


def rich_result(root: str = "/repo") -> ScanResult:
    files = (
        FileResult("pkg/mod.py", (
            finding("DS101", flow=FLOW),
            finding("DS201", line=7, secret_hashes=("0123456789abcdef",)),
            finding("DS201", line=9, suppression=Suppression("inline", "test fixture, fake key")),
            finding("DS302", line=11, suppression=Suppression("baseline", "accepted in baseline .datasec-baseline")),
            finding("DS205", line=12, fallback=True),
        ), (Notification("pkg/mod.py", "unused-ignore", "line 20: ignore of DS999 suppresses nothing"),)),
        FileResult("dir with space/caf\u00e9 #1%.py", (finding("DS101", path="dir with space/caf\u00e9 #1%.py"),)),
        FileResult("dist-1.0.tar.gz!/dist/setup.py", (finding("DS101", path="dist-1.0.tar.gz!/dist/setup.py"),)),
        FileResult("pkg/whole_file.pyc", (finding("DS999", path="pkg/whole_file.pyc", line=0, column=0),)),
        FileResult("pkg/empty.py", (), (Notification("pkg/empty.py", "parse-error", "not Python", Level.WARNING),)),
    )
    notes = (Notification("missing.py", "unreadable", "cannot access: No such file", Level.ERROR),)
    return ScanResult(root, files, RULES, "1.2.3", notes)


def run_of(log: dict) -> dict:
    assert len(log["runs"]) == 1
    return log["runs"][0]


# --- the log as a whole --------------------------------------------------------------------------------------


def test_rich_result_is_valid_sarif(validator) -> None:
    log = check(validator, render(rich_result()))
    assert log["version"] == "2.1.0" and "sarif-schema-2.1.0" in log["$schema"]
    run = run_of(log)
    assert len(run["results"]) == 8
    assert run["columnKind"] == "unicodeCodePoints"


def test_github_required_rule_properties(validator) -> None:
    run = run_of(check(validator, render(rich_result())))
    driver = run["tool"]["driver"]
    assert driver["name"] == "datasec-scan" and driver["version"] == "1.2.3" and driver["semanticVersion"] == "1.2.3"
    assert driver["informationUri"].startswith("https://")
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {"DS101", "DS201", "DS205", "DS302", "DS999"}  # all known rules, plus one a finding names
    assert [r["id"] for r in driver["rules"]] == sorted(rules)
    expected = {"DS101": ("error", "9.5", "high"), "DS201": ("error", "8.0", "medium"),
                "DS302": ("warning", "5.5", "low"), "DS205": ("note", "3.0", "low")}
    for code, (level, sec, precision) in expected.items():
        r = rules[code]
        assert r["name"] == INFO[code].name
        assert r["shortDescription"]["text"] == INFO[code].summary
        full = r["fullDescription"]["text"]
        assert full.startswith(f"Finds {code} things.") and "It is bad." in full and "How to fix" not in full
        assert r["help"]["markdown"] == INFO[code].doc.strip() and r["help"]["text"]
        assert r["defaultConfiguration"]["level"] == level
        props = r["properties"]
        assert props["security-severity"] == sec and 0.0 <= float(props["security-severity"]) <= 10.0
        assert props["precision"] == precision
        assert props["problem.severity"] in ("error", "warning", "recommendation")
        assert props["tags"][:2] == ["security", INFO[code].category.value]
        assert {f"external/cwe/cwe-{c}" for c in INFO[code].cwe} <= set(props["tags"])
        assert len(props["tags"]) <= 20
    assert rules["DS205"]["properties"]["problem.severity"] == "recommendation"


def test_results_locations_and_properties(validator) -> None:
    log = check(validator, render(rich_result("/work/some repo")))
    run = run_of(log)
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///work/some%20repo/"}}
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    by_uri = {}
    for res in run["results"]:
        assert rules[res["ruleIndex"]] == res["ruleId"]
        assert res["message"]["text"] and res["level"] in ("error", "warning", "note")
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        by_uri.setdefault(loc["artifactLocation"]["uri"], []).append(res)
    assert set(by_uri) == {"pkg/mod.py", "dir%20with%20space/caf%C3%A9%20%231%25.py", "dist-1.0.tar.gz!/dist/setup.py",
                           "pkg/whole_file.pyc"}
    first = by_uri["pkg/mod.py"][0]
    assert first["ruleId"] == "DS101" and first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 15, "snippet": {"text": "snippet of DS101"}}
    assert first["properties"] == {"category": "remote-access", "confidence": "high", "severity": "critical",
                                   "fallback": False}
    assert by_uri["pkg/mod.py"][-1]["properties"]["fallback"] is True
    # a whole-file finding has no region (line 0 is not a SARIF line)
    assert "region" not in by_uri["pkg/whole_file.pyc"][0]["locations"][0]["physicalLocation"]


def test_level_follows_each_finding_not_only_its_rule(validator) -> None:
    sr = ScanResult("/repo", (FileResult("a.py", (finding("DS101", path="a.py", severity=Severity.MEDIUM),)),), RULES,
                    "1")
    res = run_of(check(validator, render(sr)))["results"][0]
    assert res["level"] == "warning"  # kept explicit although SARIF's default: the rule's default is "error"
    assert res["properties"]["severity"] == "medium"


def test_code_flows(validator) -> None:
    run = run_of(check(validator, render(rich_result())))
    flows = [r for r in run["results"] if "codeFlows" in r]
    assert len(flows) == 1
    steps = flows[0]["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["location"]["message"]["text"] for s in steps] == [s.message for s in FLOW]
    assert [s["location"]["physicalLocation"]["region"]["startLine"] for s in steps] == [1, 2, 3]


def test_invocation_and_notifications(validator) -> None:
    run = run_of(check(validator, render(rich_result())))
    assert len(run["invocations"]) == 1
    inv = run["invocations"][0]
    assert inv["executionSuccessful"] is False  # an error-level notification (unreadable file)
    notes = inv["toolExecutionNotifications"]
    kinds = [d["id"] for d in run["tool"]["driver"]["notifications"]]
    got = {(n["descriptor"]["id"], n["level"], n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
           for n in notes}
    assert got == {("unreadable", "error", "missing.py"), ("parse-error", "warning", "pkg/empty.py"),
                   ("unused-ignore", "warning", "pkg/mod.py")}
    for n in notes:
        assert kinds[n["descriptor"]["index"]] == n["descriptor"]["id"] and n["message"]["text"]
    text = json.dumps(run)
    assert "startTimeUtc" not in text and "endTimeUtc" not in text


def test_execution_successful_without_error_notifications(validator) -> None:
    sr = ScanResult("/repo", (FileResult("a.py", (finding("DS101", path="a.py"),)),), RULES, "1")
    run = run_of(check(validator, render(sr)))
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["results"][0]["ruleId"] == "DS101"


def test_empty_scan_still_has_a_run_with_empty_results(validator) -> None:
    run = run_of(check(validator, render(ScanResult("/repo", (), RULES, "1"))))
    assert run["results"] == [] and len(run["tool"]["driver"]["rules"]) == len(RULES)


@pytest.mark.parametrize("category, expected", [(None, "datasec-scan/"), ("backdoors/py", "backdoors/py/"),
                                                ("team/datasec/", "team/datasec/"), ("", None)])
def test_run_automation_details(validator, category, expected) -> None:
    options = {} if category is None else {"category": category}
    run = run_of(check(validator, render(rich_result(), **options)))
    assert run.get("automationDetails", {}).get("id") == expected


def test_paths_outside_the_root_and_odd_names(validator) -> None:
    files = (FileResult("/opt/site-packages/evil.pth", (finding("DS101", path="/opt/site-packages/evil.pth"),)),
             FileResult("a\udcff.py", (finding("DS101", path="a\udcff.py", message="bad \ud800 text"),)),
             FileResult("./b:c.py", (finding("DS101", path="./b:c.py"),)))
    run = run_of(check(validator, render(ScanResult(".", files, RULES, "1"))))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert {"uri": "file:///opt/site-packages/evil.pth"} in uris  # absolute: a file URI, no base
    assert {"uri": "a%FF.py", "uriBaseId": "%SRCROOT%"} in uris  # an undecodable file-name byte as itself
    assert {"uri": "b%3Ac.py", "uriBaseId": "%SRCROOT%"} in uris  # a colon would read as a URI scheme
    assert any(r["message"]["text"] == "bad \ufffd text" for r in run["results"])
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")


def test_description_truncation() -> None:
    assert truncate("short", 1024) == "short"
    long = "word " * 400
    cut = truncate(long, 1024)
    assert len(cut) <= 1024 and cut.endswith("\u2026") and not cut[:-1].endswith(" ")
    emoji = "\U0001f600" * 600  # 1,200 UTF-16 code units
    cut = truncate(emoji, 1024)
    assert sum(2 if ord(c) > 0xFFFF else 1 for c in cut) <= 1024


def test_full_description_takes_what_and_why_sections_code_comments_included() -> None:
    doc = ("## What it does\nFinds it.\n```python\n# a comment, not a heading\nexec(x)\n```\n\n"
           "## Why is this bad?\nBad.\n\n## How to fix\nDo not.\n")
    run = run_of(json.loads(render(ScanResult("/repo", (), (rule("DS104", doc=doc),), "1"))))
    full = run["tool"]["driver"]["rules"][0]["fullDescription"]["text"]
    assert full == "Finds it.\n```python\n# a comment, not a heading\nexec(x)\n```\n\nBad."
    plain = run_of(json.loads(render(ScanResult("/repo", (), (rule("DS104", doc="Just text."),), "1"))))
    assert plain["tool"]["driver"]["rules"][0]["fullDescription"]["text"] == "Just text."


def test_long_docs_are_cut_to_github_lengths(validator) -> None:
    long_rule = rule("DS150", doc="## What it does\n" + "Looks at things. " * 200 + "\n## Why is this bad?\nBad.\n")
    long_rule = RuleInfo(**{**long_rule.__dict__, "summary": "S" * 3000})
    run = run_of(check(validator, render(ScanResult("/repo", (), (long_rule,), "1"))))
    r = run["tool"]["driver"]["rules"][0]
    assert len(r["shortDescription"]["text"]) <= 1024 and len(r["fullDescription"]["text"]) <= 1024
    assert r["fullDescription"]["text"].endswith("\u2026")
    assert r["help"]["markdown"] == long_rule.doc.strip()  # help carries the whole doc


# --- suppressed findings -------------------------------------------------------------------------------------


def test_suppressed_included_by_default(validator) -> None:
    run = run_of(check(validator, render(rich_result())))
    suppressed = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r["suppressions"]
                  for r in run["results"] if "suppressions" in r}
    assert suppressed == {
        9: [{"kind": "inSource", "justification": "test fixture, fake key"}],
        11: [{"kind": "external", "justification": "accepted in baseline .datasec-baseline"}]}
    assert render(rich_result()) == render(rich_result(), sarif_suppressed="include")


def test_suppressed_omitted(validator) -> None:
    run = run_of(check(validator, render(rich_result(), sarif_suppressed="omit")))
    assert len(run["results"]) == 6
    assert not any("suppressions" in r for r in run["results"])
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]
            if r["ruleId"] in ("DS201", "DS302")} == {7}


def test_unknown_suppressed_mode_is_an_error() -> None:
    with pytest.raises(ValueError):
        render(rich_result(), sarif_suppressed="hide")


# --- determinism ---------------------------------------------------------------------------------------------


def test_byte_identical_for_identical_input() -> None:
    a = render(rich_result(), line_hashes={("pkg/mod.py", 3): "abc:1"})
    b = render(rich_result(), line_hashes={("pkg/mod.py", 3): "abc:1"})
    assert a == b
    assert render_any(rich_result(), "sarif") == render(rich_result())


def test_input_order_does_not_change_the_bytes() -> None:
    base = rich_result()
    shuffled_files = list(base.files)
    random.Random(7).shuffle(shuffled_files)
    shuffled = ScanResult(base.root, tuple(shuffled_files), tuple(reversed(base.rules)), base.tool_version,
                          base.notifications)
    assert render(shuffled) == render(base)


# --- primaryLocationLineHash ---------------------------------------------------------------------------------

# Published expectations of github/codeql-action's own unit tests of its fingerprint hash (src/fingerprints.test.ts).
_SEVEN = ["e9496ae3ebfced30:1", "fb7c023a8b9ccb3f:1", "ce8ba1a563dcdaca:1", "e20e36e16fcb0cc8:1", "b3edc88f2938467e:1",
          "c8e28b0b4002a3a0:1", "c129715d7a2bc9a3:1"]
PUBLISHED = [
    ("", ["c129715d7a2bc9a3:1"]),
    (" a\nb\n  \t\tc\n d", ["271789c17abda88f:1", "54703d4cd895b18:1", "180aee12dab6264:1", "a23a3dc5e078b07b:1"]),
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End",
     ["8b7cf3e952e7aeb2:1", "b1ae1287ec4718d9:1", "bff680108adb0fcc:1", "c6805c5e1288b612:1", "b86d3392aea1be30:1",
      "e6ceba753e1a442:1"]),
    (" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n", _SEVEN),
    (" hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r", _SEVEN),
    (" hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n", _SEVEN),
    (" hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n", _SEVEN),
    ("Lorem ipsum dolor sit amet.\n" * 10,
     [f"a7f2ff13bc495cf2:{n}" for n in range(1, 7)]
     + ["a7f2ff1481e87703:1", "a9cf91f7bbf1862b:1", "55ec222b86bcae53:1", "cc97dc7b1d7d8f7b:1", "c129715d7a2bc9a3:1"]),
]


def reference_hashes(text: str) -> dict[int, str]:
    """A second, deliberately naive reading of the upload action's hash (no rolling window).

    1. The file as JavaScript holds it: UTF-16 code units.
    2. Normalize: spaces and tabs dropped, an LF right after a CR dropped, CR becomes LF; then a 65535 end mark.
    3. A line starts at position 0 and after every LF (the end mark can start the last "line").
    4. A line's value: sum over the 100 code units from its start (zeros past the end) of unit * 37^(99-k),
       mod 2^64, in lowercase hex without leading zeros, plus ":n" for the n-th time that value occurs.
    """
    data = text.encode("utf-16-le", "surrogatepass")
    units = [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]
    stream: list[int] = []
    after_cr = False
    for u in units:
        if u in (9, 32):
            after_cr = False
            continue
        if u == 10 and after_cr:
            after_cr = False
            continue
        after_cr = u == 13
        stream.append(10 if u == 13 else u)
    stream.append(65535)
    starts = [0] + [i + 1 for i, u in enumerate(stream) if u == 10]
    padded = stream + [0] * 100
    seen: Counter[str] = Counter()
    out = {}
    for number, start in enumerate(starts, 1):
        value = sum(padded[start + k] * 37 ** (99 - k) for k in range(100)) % 2 ** 64
        key = format(value, "x")
        seen[key] += 1
        out[number] = f"{key}:{seen[key]}"
    return out


@pytest.mark.parametrize("text, expected", PUBLISHED, ids=[f"published-{i}" for i in range(len(PUBLISHED))])
def test_line_hash_matches_published_values(text: str, expected: list[str]) -> None:
    got = hash_lines(text)
    assert [got[n] for n in sorted(got)] == expected
    assert sorted(got) == list(range(1, len(expected) + 1))
    assert reference_hashes(text) == got
    assert hash_lines(text.encode("utf-8")) == got


@pytest.mark.parametrize("text", [
    "x = 1\n",
    "a\n\n\n",
    "\tindented\r\n    more\r\n",
    "\r \n",  # a space between CR and LF: two line ends
    "k = '" + "A" * 250 + "'\nshort\n",  # lines longer than the 100-unit window
    "same\n" * 30,
    "emoji = '\U0001f600\U0001f4a9'  # two UTF-16 units each\nnext\n",
    "caf\u00e9 \ufeff\u2028 \x00\n",
    "\ufffflast unit 65535 like the end mark",
])
def test_line_hash_agrees_with_naive_reference(text: str) -> None:
    assert hash_lines(text) == reference_hashes(text)


def test_line_hash_of_bytes_reads_utf8_with_replacement() -> None:
    raw = b"ok\n\xff\xfe bad bytes\n"
    assert hash_lines(raw) == reference_hashes(raw.decode("utf-8", "replace"))
    assert hash_lines(b"\xef\xbb\xbfx\n") == reference_hashes("\ufeffx\n")  # a BOM counts, as the action reads it


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from(list(" \t\r\nab=(){}\u00e9\u4e2d\U0001f600\x00")), max_size=400))
def test_line_hash_property(text: str) -> None:
    assert hash_lines(text) == reference_hashes(text)


def test_fingerprints_from_read_source(validator) -> None:
    sources = {"pkg/mod.py": b"import requests\npayload = requests.get(url).text\n    exec(payload)\n" + b"\n" * 20}
    read = []

    def read_source(path: str) -> bytes | None:
        read.append(path)
        return sources.get(path)

    run = run_of(check(validator, render(rich_result(), read_source=read_source)))
    expected = hash_lines(sources["pkg/mod.py"])
    for res in run["results"]:
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        line = res["locations"][0]["physicalLocation"].get("region", {}).get("startLine")
        if uri == "pkg/mod.py":
            assert res["partialFingerprints"] == {"primaryLocationLineHash": expected[line]}
        else:  # content unavailable (None), or no line: no fingerprint rather than a wrong one
            assert "partialFingerprints" not in res
    assert len(read) == len(set(read))  # each file read once
    assert "pkg/whole_file.pyc" not in read  # nothing to fingerprint without a line


def test_fingerprints_from_given_line_hashes_and_none_without_content(validator) -> None:
    run = run_of(check(validator, render(rich_result(), line_hashes={("pkg/mod.py", 3): "deadbeef:1"})))
    prints = [r.get("partialFingerprints") for r in run["results"]]
    assert prints.count({"primaryLocationLineHash": "deadbeef:1"}) == 1
    assert prints.count(None) == len(prints) - 1
    bare = run_of(json.loads(render(rich_result())))
    assert not any("partialFingerprints" in r for r in bare["results"])


def test_read_source_errors_mean_no_fingerprint(validator) -> None:
    def broken(path: str) -> bytes | None:
        raise OSError("gone")

    run = run_of(check(validator, render(rich_result(), read_source=broken)))
    assert not any("partialFingerprints" in r for r in run["results"])


# --- GitHub limits -------------------------------------------------------------------------------------------


def many(n: int) -> ScanResult:
    severities = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    findings = tuple(finding("DS101", path=f"f{i % 7}.py", line=i + 1, severity=severities[i % 4]) for i in range(n))
    return ScanResult("/repo", (FileResult("all.py", findings),), RULES, "1")


def limit_notes(run: dict) -> list[str]:
    return [n["message"]["text"] for n in run["invocations"][0].get("toolExecutionNotifications", [])
            if n["descriptor"]["id"] == LIMIT_NOTE]


def test_results_over_the_limit_keep_the_most_severe(validator) -> None:
    limits = Limits(max_results=10, stored_results=10)
    run = run_of(check(validator, render(many(40), limits=limits)))
    assert len(run["results"]) == 10
    assert {r["properties"]["severity"] for r in run["results"]} == {"critical"}
    notes = limit_notes(run)
    assert any("40 results" in t and "limit of 10" in t for t in notes)
    assert run["invocations"][0]["executionSuccessful"] is True  # a warning, not a failure


def test_suppressed_results_go_first_when_cutting(validator) -> None:
    base = many(6)
    fr = base.files[0]
    quiet = tuple(replace_suppressed(f) for f in fr.findings[:3]) + fr.findings[3:]
    sr = ScanResult("/repo", (FileResult("all.py", quiet),), RULES, "1")
    run = run_of(check(validator, render(sr, limits=Limits(max_results=3, stored_results=3))))
    assert len(run["results"]) == 3 and not any("suppressions" in r for r in run["results"])


def replace_suppressed(f: Finding) -> Finding:
    from dataclasses import replace

    return replace(f, severity=Severity.CRITICAL, suppression=Suppression("inline", "ok"))


def test_over_the_stored_count_most_severe_come_first(validator) -> None:
    run = run_of(check(validator, render(many(12), limits=Limits(stored_results=5))))
    assert len(run["results"]) == 12
    sev = [r["properties"]["severity"] for r in run["results"]]
    order = ["critical", "high", "medium", "low"]
    assert sev == sorted(sev, key=order.index)
    assert any("ordered most severe first" in t for t in limit_notes(run))
    small = run_of(json.loads(render(many(4))))  # under the limit: ordered by place
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in small["results"]] == [1, 2, 3, 4]


def test_long_data_paths_are_shortened_keeping_the_sink(validator) -> None:
    steps = tuple(FlowStep(Location("a.py", i, 1), f"step {i}") for i in range(1, 51))
    sr = ScanResult("/repo", (FileResult("a.py", (finding("DS101", path="a.py", line=50, flow=steps),)),), RULES, "1")
    run = run_of(check(validator, render(sr, limits=Limits(max_flow_steps=10))))
    locs = run["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"]
    assert len(locs) == 10
    assert [loc["location"]["message"]["text"] for loc in locs[:9]] == [f"step {i}" for i in range(1, 10)]
    assert locs[-1]["location"]["message"]["text"].endswith("step 50") and "40 intermediate" in \
        locs[-1]["location"]["message"]["text"]
    assert any("50 steps" in t for t in limit_notes(run))
    full = run_of(json.loads(render(sr)))  # the default limit (1,000) leaves 50 steps alone
    assert len(full["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"]) == 50


def test_tags_stay_within_the_limit(validator) -> None:
    wide = rule("DS103", cwe=tuple(range(100, 130)))
    run = run_of(check(validator, render(ScanResult("/repo", (), (wide,), "1"))))
    tags = run["tool"]["driver"]["rules"][0]["properties"]["tags"]
    assert len(tags) == 20 and tags[:3] == ["security", "remote-access", "external/cwe/cwe-100"]
    assert any("DS103" in t and "32 tags" in t for t in limit_notes(run))


def test_upload_size_limit_degrades_snippets_then_results(validator) -> None:
    from dataclasses import replace

    noise = random.Random(3)
    findings = tuple(replace(f, snippet="".join(noise.choice("abcdefghijklmnopqrstuvwxyz0123456789 =()")
                                                 for _ in range(150))) for f in many(400).files[0].findings)
    sr = ScanResult("/repo", (FileResult("all.py", findings),), RULES, "1")
    full = render(sr)
    import gzip

    size = len(gzip.compress(full.encode(), compresslevel=6, mtime=0))
    small = render(sr, limits=Limits(max_gzip_bytes=size - 1))  # just over: snippets and flows go, results stay
    run = run_of(check(validator, small))
    assert len(run["results"]) == 400
    assert not any("snippet" in r["locations"][0]["physicalLocation"].get("region", {}) for r in run["results"])
    assert any("snippets and data-flow paths were left out" in t for t in limit_notes(run))
    compact = len(gzip.compress(small.encode(), compresslevel=6, mtime=0))
    assert compact < size
    tiny = render(sr, limits=Limits(max_gzip_bytes=compact // 2))  # then the least severe results go
    run = run_of(check(validator, tiny))
    assert len(gzip.compress(tiny.encode(), compresslevel=6, mtime=0)) <= compact // 2
    assert 0 < len(run["results"]) < 400
    kept = {r["properties"]["severity"] for r in run["results"]}
    assert "critical" in kept and "low" not in kept
    assert any("most severe of 400" in t for t in limit_notes(run))
    assert render(sr, limits=Limits(max_gzip_bytes=compact // 2)) == tiny  # still deterministic


@pytest.mark.slow
def test_real_result_limit() -> None:
    """25,001 findings against GitHub's real 25,000-per-run limit (no schema check: it is the slow part)."""
    log = json.loads(render(many(25_001)))
    run = run_of(log)
    assert len(run["results"]) == 25_000
    counts = Counter(r["properties"]["severity"] for r in run["results"])
    assert counts == {"critical": 6_250, "high": 6_250, "medium": 6_250, "low": 6_250}  # one of 6,251 low left out
    assert run["results"][0]["properties"]["severity"] == "critical"  # over 5,000: most severe first
    assert any("25001 results" in t for t in limit_notes(run))


# --- end to end ----------------------------------------------------------------------------------------------


def test_cli_scan_writes_valid_sarif_without_the_secret(validator, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "src").mkdir()
    source = f'import os\nAWS_KEY = "{FAKE_KEY}"\n'
    (tmp_path / "src" / "settings.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    args = ["scan", "src", "--format", "sarif", "--no-cache", "-j", "1", "--isolated"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    run = run_of(check(validator, result.output))
    without_docs = json.dumps({**run, "tool": None})  # DS201's own doc names the documented fake key
    assert FAKE_KEY not in without_docs and FAKE_KEY[:12] not in without_docs
    hits = [r for r in run["results"] if r["ruleId"] == "DS201"]
    assert hits, run["results"]
    loc = hits[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "src/settings.py", "uriBaseId": "%SRCROOT%"}
    assert loc["region"]["startLine"] == 2
    assert hits[0]["partialFingerprints"]["primaryLocationLineHash"] == hash_lines(source)[2]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/" or \
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == Path.cwd().as_uri() + "/"
    assert run["automationDetails"] == {"id": "datasec-scan/"}
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert again.output == result.output  # byte-identical on a second run


def test_cli_sarif_options(validator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app.py").write_text(f'AWS_KEY = "{FAKE_KEY}"  # datasec: ignore[DS201] -- documented fake key\n'
                                     f'OTHER_KEY = "{FAKE_KEY}"\n')
    monkeypatch.chdir(tmp_path)
    base = ["scan", ".", "--format", "sarif", "--no-cache", "-j", "1", "--isolated", "-o", "out.sarif"]
    CliRunner().invoke(main, base + ["--sarif-category", "py/backdoors"], catch_exceptions=False)
    run = run_of(check(validator, (tmp_path / "out.sarif").read_text()))
    assert run["automationDetails"] == {"id": "py/backdoors/"}
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r.get("suppressions")
             for r in run["results"] if r["ruleId"] == "DS201"}
    assert lines[1] == [{"kind": "inSource", "justification": "documented fake key"}]
    assert lines[2] is None
    CliRunner().invoke(main, base + ["--sarif-suppressed", "omit"], catch_exceptions=False)
    run = run_of(check(validator, (tmp_path / "out.sarif").read_text()))
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]
            if r["ruleId"] == "DS201"} == {2}
    assert FAKE_KEY not in json.dumps({**run, "tool": None})
    bad = CliRunner().invoke(main, base + ["--sarif-suppressed", "hide"])
    assert bad.exit_code == 2
