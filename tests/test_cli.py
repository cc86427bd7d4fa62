"""The command line as a user runs it: scan formats, exit codes, rules, explain, version."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from datasec_scan import __version__
from datasec_scan.cli import main

FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(f'import os\nAWS_KEY = "{FAKE_KEY}"\n')
    (tmp_path / "clean.py").write_text("print('hello')\n")
    return tmp_path


def invoke(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args), catch_exceptions=False)
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(main, list(args), catch_exceptions=False)


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_rules_table_lists_columns_and_builtin_rules() -> None:
    result = invoke("rules")
    assert result.exit_code == 0
    header = result.output.splitlines()[0].split()
    assert header == ["CODE", "NAME", "CATEGORY", "SEVERITY", "CONFIDENCE", "STATUS"]
    assert "DS201" in result.output


def test_explain_renders_doc_sections() -> None:
    result = invoke("explain", "DS201")
    assert result.exit_code == 0
    for section in ("What it does", "Why is this bad?", "How to fix"):
        assert section in result.output


def test_explain_unknown_rule_is_usage_error() -> None:
    assert invoke("explain", "DS000").exit_code == 2


def test_text_scan_exit_code_and_redaction(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = invoke("scan", str(root), "--fail-on", "low")  # the documented example key is reported low
    assert result.exit_code == 1
    assert "app.py:2:" in result.output and "DS201" in result.output
    assert FAKE_KEY not in result.output


def test_fail_on_threshold(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert invoke("scan", str(root)).exit_code == 0  # only a low finding: below the default threshold
    (root / "app.py").write_text('x = 1\n')
    assert invoke("scan", str(root), "--fail-on", "low").exit_code == 0


def test_json_output_is_stable_and_versioned(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    first = invoke("scan", str(root), "--format", "json").output
    second = invoke("scan", str(root), "--format", "json").output
    assert first == second
    data = json.loads(first)
    assert data["version"] == 1 and data["files_scanned"] == 2
    assert FAKE_KEY not in first
    assert {f["rule"] for f in data["findings"]} >= {"DS201"}


def test_output_file(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    out = tmp_path / "report.json"
    result = invoke("scan", str(root), "--format", "json", "-o", str(out), "--fail-on", "low")
    assert result.exit_code == 1 and result.output == ""
    assert json.loads(out.read_text())["findings"]


def test_missing_path_is_reported(tmp_path: Path) -> None:
    result = invoke("scan", str(tmp_path / "nope"))
    assert result.exit_code == 0 and "unreadable" in result.output


def test_bad_config_exits_2_naming_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.datasec-scan]\nfail-onn = 'high'\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "a.py")])
    assert result.exit_code == 2
    assert "fail-onn" in result.output and "pyproject.toml" in result.output
