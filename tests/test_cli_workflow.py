"""Workflow flags of `scan`: --since REF (git diff), progress bar conditions."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasec_scan import workflow
from datasec_scan.cli import main
from datasec_scan.workflow import PROGRESS_FROM, parse_diff, progress_wanted, with_progress

KEY = "AKIAIOSFODNN7EXAMPLE"


def run(cwd: Path, *args: str, env: dict[str, str] | None = None):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)
    finally:
        os.chdir(old)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.name", "Test User")
    git(tmp_path, "config", "user.email", "test@example.com")
    git(tmp_path, "config", "commit.gpgsign", "false")
    (tmp_path / "pyproject.toml").write_text('[tool.datasec-scan]\nselect = ["DS201"]\nfail-on = "low"\n')
    (tmp_path / "old.py").write_text(f'A = "{KEY}"\n\n\ndef f():\n    return 1\n')
    (tmp_path / "untouched.py").write_text(f'B = "{KEY}"\n')
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def _found(result) -> set[tuple[str, int]]:
    return {(f["path"], f["line"]) for f in json.loads(result.output)["findings"]}


def test_since_reports_only_changed_lines_and_untracked_files(repo: Path) -> None:
    (repo / "old.py").write_text(f'A = "{KEY}"\n\n\ndef f():\n    return "{KEY}"\n')  # line 5 changed
    (repo / "brand_new.py").write_text(f'C = "{KEY}"\n')  # untracked: wholly changed
    (repo / "sub").mkdir()
    (repo / "sub" / "staged.py").write_text(f'x = 1\nD = "{KEY}"\n')
    git(repo, "add", "sub/staged.py")
    everything = run(repo, "scan", "--no-cache", "--format", "json")
    assert ("untouched.py", 1) in _found(everything) and ("old.py", 1) in _found(everything)
    since = run(repo, "scan", "--no-cache", "--format", "json", "--since", "HEAD")
    assert since.exit_code == 1, since.output
    assert _found(since) == {("old.py", 5), ("brand_new.py", 1), ("sub/staged.py", 2)}
    # From a subfolder the paths shown are relative to it, and the diff still applies.
    sub = run(repo / "sub", "scan", "--no-cache", "--format", "json", "--since", "HEAD", ".")
    assert _found(sub) == {("staged.py", 2)}


def test_since_with_nothing_changed_passes(repo: Path) -> None:
    result = run(repo, "scan", "--no-cache", "--since", "HEAD")
    assert result.exit_code == 0, result.output


def test_since_bad_ref_or_no_repository_exits_2(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    bad = run(repo, "scan", "--no-cache", "--since", "no-such-ref")
    assert bad.exit_code == 2 and "no-such-ref" in bad.output
    option_like = run(repo, "scan", "--no-cache", "--since=--output=x")
    assert option_like.exit_code == 2
    outside = tmp_path_factory.mktemp("not-a-repo")
    (outside / ".git").write_text("")  # stop config lookup here; not a valid repository
    assert run(outside, "scan", "--no-cache", "--since", "HEAD").exit_code == 2


def test_parse_diff_hunks() -> None:
    diff = "\n".join([
        "diff --git a/x.py b/x.py", "--- a/x.py", "+++ b/x.py",
        "@@ -1,0 +2,3 @@", "+a", "+b", "+c",
        "@@ -10 +12 @@", "-old", "+new",
        "@@ -20,2 +22,0 @@", "-gone", "-gone",
        "diff --git a/gone.py b/gone.py", "--- a/gone.py", "+++ /dev/null", "@@ -1 +0,0 @@", "-x",
        'diff --git "a/sp ace\\303\\251.py" "b/sp ace\\303\\251.py"', '--- "a/sp ace\\303\\251.py"',
        '+++ "b/sp ace\\303\\251.py"', "@@ -0,0 +1 @@", "+y",
        "diff --git a/dist/p.whl b/dist/p.whl", "index 1..2 100644",
        "Binary files a/dist/p.whl and b/dist/p.whl differ",
    ])
    assert parse_diff(diff) == {"x.py": {2, 3, 4, 12}, "sp aceé.py": {1}, "dist/p.whl": None}


def _many_files(root: Path, n: int = PROGRESS_FROM + 1) -> None:
    for i in range(n):
        (root / f"m{i:03}.py").write_text(f"x = {i}\n")


@pytest.mark.parametrize("count, fmt, output, tty, env, expected", [
    (PROGRESS_FROM + 1, "text", None, True, {}, True),
    (PROGRESS_FROM, "text", None, True, {}, False),  # small scans
    (PROGRESS_FROM + 1, "text", None, False, {}, False),  # pipes
    (PROGRESS_FROM + 1, "text", None, True, {"CI": "true"}, False),  # CI
    (PROGRESS_FROM + 1, "json", None, True, {}, False),  # JSON to stdout
    (PROGRESS_FROM + 1, "sarif", None, True, {}, False),  # SARIF to stdout
    (PROGRESS_FROM + 1, "sarif", Path("out.sarif"), True, {}, True),
])
def test_progress_conditions(count, fmt, output, tty, env, expected) -> None:
    assert progress_wanted(count, fmt, output, stderr_tty=tty, env=env) is expected


def test_progress_bar_draws_and_passes_everything_through() -> None:
    stream = io.StringIO()
    assert list(with_progress(iter(range(5)), 5, True, stream)) == list(range(5))  # type: ignore[arg-type]
    assert "scanning [" in stream.getvalue() and "5/5 files" in stream.getvalue()
    quiet = io.StringIO()
    assert list(with_progress(iter(range(5)), 5, False, quiet)) == list(range(5))  # type: ignore[arg-type]
    assert quiet.getvalue() == ""


def test_cli_progress_only_on_a_terminal_and_never_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _many_files(tmp_path)
    (tmp_path / ".git").mkdir()  # stop the config lookup here
    monkeypatch.delenv("CI", raising=False)
    args = ("scan", "--no-cache", "-j", "1", ".")
    assert "scanning [" not in run(tmp_path, *args).stderr  # CliRunner's stderr is not a terminal
    monkeypatch.setattr(workflow, "_stderr_is_tty", lambda: True)
    shown = run(tmp_path, *args)
    assert f"{PROGRESS_FROM + 1}/{PROGRESS_FROM + 1} files" in shown.stderr
    assert "scanning [" not in shown.stdout
    assert "scanning [" not in run(tmp_path, *args, env={"CI": "true"}).stderr
    as_json = run(tmp_path, *args, "--format", "json")
    assert "scanning [" not in as_json.stderr and json.loads(as_json.stdout)["files_scanned"] == PROGRESS_FROM + 1
