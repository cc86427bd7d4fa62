"""The pre-commit hooks as a user runs them: the real `pre-commit try-repo` against a temporary git repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"
HOOKS = REPO / ".pre-commit-hooks.yaml"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pre_commit_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    pytest.importorskip("pre_commit", reason="the pre-commit package is part of the test extra")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    env["PRE_COMMIT_COLOR"] = "never"
    return env


@pytest.fixture()
def user_repo(tmp_path: Path) -> Path:
    """A repository with one clean commit and a planted credential.

    Its pyproject.toml excludes vendor/ and sets fail-on = "low" (the documented example key is reported at
    low severity): the hook only fails and passes as asserted when it reads the repository's config.
    """
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "Test User")
    _git(repo, "config", "user.email", "test@example.com")
    _git(repo, "config", "commit.gpgsign", "false")
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n\n'
                                         '[tool.datasec-scan]\nexclude = ["vendor/"]\nfail-on = "low"\n')
    (repo / "app.py").write_text("def greet(name):\n    return 'hello ' + name\n")
    (repo / "vendor").mkdir()
    (repo / "vendor" / "third_party.py").write_text(f'KEY = "{FAKE_KEY}"\n')
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "clean")
    (repo / "settings.py").write_text(f'import os\nAWS_ACCESS_KEY_ID = "{FAKE_KEY}"\n')
    _git(repo, "add", "settings.py")
    return repo


def _try_repo(repo: Path, env: dict[str, str], hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    """try-repo at this checkout's HEAD commit (CI's clone is clean; locally, commit what you want tried)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", "--ref", head.stdout.strip(), str(REPO),
                           hook, *args],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=900)


def test_hooks_file_covers_every_kind_of_file_the_scanner_reads() -> None:
    from pre_commit.clientlib import load_manifest

    from datasec_scan.engine import file_kind

    hooks = {h["id"]: h for h in load_manifest(str(HOOKS))}
    assert set(hooks) == {"datasec-scan", "datasec-scan-all"}
    staged = hooks["datasec-scan"]
    assert staged["language"] == "python" and staged["pass_filenames"] and not staged["require_serial"]
    pattern = re.compile(staged["files"])
    for name in ["a.py", "pkg/setup.py", "evil.pth", "setup.cfg", "pyproject.toml", ".env", "deploy/.env.prod",
                 "app.ini", "conf/app.cfg", "c.yaml", "c.yml", "d.json", "x.conf", "x.properties", "stub.pyi"]:
        assert pattern.search(name), name
        assert file_kind(name) is not None, name
    for name in ["README.md", "image.png", "a.pyc"]:
        assert not pattern.search(name), name
    whole = hooks["datasec-scan-all"]
    assert whole["pass_filenames"] is False and whole["always_run"] is True and whole["entry"].endswith(" .")


@pytest.mark.slow
def test_try_repo_fails_on_planted_credential_and_passes_clean_files(user_repo: Path,
                                                                     pre_commit_env: dict[str, str]) -> None:
    if subprocess.run(["git", "ls-files", "--error-unmatch", ".pre-commit-hooks.yaml"], cwd=REPO,
                      capture_output=True).returncode != 0:
        pytest.skip(".pre-commit-hooks.yaml is not committed; pre-commit try-repo only sees tracked files")
    failing = _try_repo(user_repo, pre_commit_env, "datasec-scan", "--files", "settings.py", "app.py")
    out = failing.stdout + failing.stderr
    assert failing.returncode != 0, out
    assert "DS201" in out and "settings.py" in out, out
    assert "AKIA…[redacted" in out, out
    assert FAKE_KEY not in out, out

    # vendor/ holds the same key but the repository's pyproject.toml excludes it: the config is read.
    passing = _try_repo(user_repo, pre_commit_env, "datasec-scan", "--files", "app.py", "vendor/third_party.py",
                        "pyproject.toml")
    out = passing.stdout + passing.stderr
    assert passing.returncode == 0, out
    assert "Passed" in out and "DS201" not in out, out


@pytest.mark.slow
def test_try_repo_whole_repository_hook(user_repo: Path, pre_commit_env: dict[str, str]) -> None:
    if subprocess.run(["git", "ls-files", "--error-unmatch", ".pre-commit-hooks.yaml"], cwd=REPO,
                      capture_output=True).returncode != 0:
        pytest.skip(".pre-commit-hooks.yaml is not committed; pre-commit try-repo only sees tracked files")
    done = _try_repo(user_repo, pre_commit_env, "datasec-scan-all", "--files", "app.py")  # names are not passed
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "settings.py" in out and "DS201" in out and "vendor/third_party.py" not in out, out
    assert FAKE_KEY not in out, out
