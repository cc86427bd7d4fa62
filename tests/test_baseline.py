"""Baselines: stable bytes when code moves, no secrets or line numbers, create/update/scan --baseline."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from datasec_scan.cli import main
from datasec_scan.model import Category, Confidence, FileResult, Finding, Location, Severity
from datasec_scan.suppress import BaselineEntry, dump_baseline, fingerprint, keyed

KEY = "AKIAIOSFODNN7EXAMPLE"


def run(cwd: Path, *args: str):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def _write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text)


def _project(root: Path) -> Path:
    _write(root, "pyproject.toml", '[project]\nname = "x"\n\n[tool.datasec-scan]\nselect = ["DS201"]\n'
                                   'fail-on = "low"\n')
    _write(root, "app/settings.py", f'def load():\n    return "{KEY}"\n\n\nBACKUP = "{KEY}"\n')
    _write(root, "app/other.py", f'X = "{KEY}"\nY = "{KEY}"\n')
    _write(root, ".env", f"AWS_ACCESS_KEY_ID={KEY}\n")
    return root


def test_baseline_bytes_do_not_change_when_code_moves(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert run(root, "baseline", "create", "baseline.json").exit_code == 0
    first = (root / "baseline.json").read_bytes()
    # Lines added above, functions reordered, indentation and spacing changed: same findings, same file.
    _write(root, "app/settings.py", f'"""Settings."""\nimport os\n\n\nBACKUP  =  "{KEY}"\n\n\n'
                                    f'def load():\n        return "{KEY}"\n')
    _write(root, "app/other.py", f'# header\n\n\nX = "{KEY}"\n\nY = "{KEY}"\n')
    assert run(root, "baseline", "create", "baseline.json").exit_code == 0
    assert (root / "baseline.json").read_bytes() == first


def test_baseline_file_holds_no_secret_no_line_numbers_no_timestamps(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run(root, "baseline", "create", "baseline.json")
    text = (root / "baseline.json").read_text()
    data = json.loads(text)
    assert KEY not in text and "line" not in text and "time" not in text and "date" not in text
    assert data["tool"] == "datasec-scan" and data["version"] == 1
    entries = data["entries"]
    assert entries == sorted(entries, key=lambda e: (e["path"], e["rule"], e["fingerprint"], e["occurrence"]))
    assert {e["path"] for e in entries} == {".env", "app/settings.py", "app/other.py"}
    assert all(set(e) == {"path", "rule", "fingerprint", "occurrence"} for e in entries)
    assert text.endswith("}\n")


def test_scan_with_baseline_suppresses_known_and_fails_on_new(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run(root, "baseline", "create", "baseline.json")
    clean = run(root, "scan", "--no-cache", "--baseline", "baseline.json", "--format", "json")
    assert clean.exit_code == 0, clean.output
    found = json.loads(clean.output)["findings"]
    assert found and all(f["suppressed"]["kind"] == "baseline" for f in found)
    _write(root, "app/new.py", f'LEAK = "{KEY}"\n')
    with_new = run(root, "scan", "--no-cache", "--baseline", "baseline.json", "--format", "json")
    assert with_new.exit_code == 1
    active = [f for f in json.loads(with_new.output)["findings"] if f["suppressed"] is None]
    assert [f["path"] for f in active] == ["app/new.py"]


def test_duplicates_and_distinct_secrets_on_equal_lines() -> None:
    def finding(line: int, secret_hash: str) -> Finding:
        return Finding("DS201", "provider-token", Category.CREDENTIALS, Severity.HIGH, Confidence.HIGH, "m",
                       Location("a.py", line), snippet='x = "AKIA…[redacted sha256:00]"', secret_hashes=(secret_hash,))

    same = [finding(1, "aa"), finding(5, "aa")]
    entries = [e for _, e in keyed([FileResult("a.py", tuple(same))], Path.cwd())]
    assert [e.occurrence for e in entries] == [0, 1] and entries[0].fingerprint == entries[1].fingerprint
    assert fingerprint(finding(1, "aa")) != fingerprint(finding(1, "bb"))
    assert fingerprint(finding(1, "aa")) == fingerprint(
        Finding("DS201", "provider-token", Category.CREDENTIALS, Severity.LOW, Confidence.LOW, "other message",
                Location("a.py", 99), snippet='x   =  "AKIA…[redacted sha256:00]"', secret_hashes=("aa",)))
    assert dump_baseline(reversed([BaselineEntry("b", "DS1", "f"), BaselineEntry("a", "DS1", "f")])) == \
        dump_baseline([BaselineEntry("a", "DS1", "f"), BaselineEntry("b", "DS1", "f")])


def test_update_reports_and_removes_stale_entries(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run(root, "baseline", "create", "baseline.json")
    before = json.loads((root / "baseline.json").read_text())["entries"]
    _write(root, "app/other.py", f'X = "{KEY}"\n')  # Y's finding is gone
    (root / ".env").unlink()  # a file is gone
    _write(root, "app/new.py", f'LEAK = "{KEY}"\n')  # new finding: not accepted without --add-new
    result = run(root, "baseline", "update", "baseline.json")
    assert result.exit_code == 0, result.output
    stale_lines = [line for line in result.output.splitlines() if line.startswith("stale:")]
    assert len(stale_lines) == 2 and any(".env" in s for s in stale_lines) and any("app/other.py" in s
                                                                                   for s in stale_lines)
    assert "2 stale entries removed" in result.output and "1 new finding not added" in result.output
    after = json.loads((root / "baseline.json").read_text())["entries"]
    assert len(after) == len(before) - 2 and not any(e["path"] == "app/new.py" for e in after)
    run(root, "baseline", "update", "baseline.json", "--add-new")
    assert any(e["path"] == "app/new.py" for e in json.loads((root / "baseline.json").read_text())["entries"])


def test_update_of_a_subset_keeps_entries_of_unscanned_paths(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run(root, "baseline", "create", "baseline.json")
    before = (root / "baseline.json").read_bytes()
    result = run(root, "baseline", "update", "baseline.json", "app/settings.py")
    assert result.exit_code == 0 and "0 stale entries removed" in result.output
    assert (root / "baseline.json").read_bytes() == before


def test_baseline_works_from_a_subfolder(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run(root, "baseline", "create", "baseline.json")
    result = run(root / "app", "scan", "--no-cache", "--baseline", "../baseline.json", ".")
    assert result.exit_code == 0, result.output
    assert "suppressed" in result.output


def test_bad_baseline_exits_2(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "bad.json").write_text('{"entries": "nope"}')
    for args in (["scan", "--no-cache", "--baseline", "bad.json"], ["baseline", "update", "bad.json"]):
        result = run(root, *args)
        assert result.exit_code == 2 and "bad.json" in result.output and "baseline" in result.output
