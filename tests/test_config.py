"""Configuration: [tool.datasec-scan] keys, gitignore-style excludes, per-path overrides, errors, `config` command."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasec_scan.cli import main
from datasec_scan.config import Config, ConfigError, Override, find_pyproject, from_table, gitignore_match, load, render
from datasec_scan.model import Severity

FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"
LINE = f'KEY = "{FAKE_KEY}"\n'


def run(cwd: Path, *args: str):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[tool.datasec-scan]\n{table}\n')
    return tmp_path


def _paths(result) -> set[str]:
    return {f["path"] for f in json.loads(result.output)["findings"]}


@pytest.mark.parametrize("patterns, path, expected", [
    (["vendor/"], "vendor/a.py", True),
    (["vendor/"], "src/vendor/a.py", True),
    (["vendor/"], "vendor.py", False),
    (["/vendor"], "src/vendor/a.py", False),
    (["/vendor"], "vendor/a.py", True),
    (["*.env"], "deploy/prod.env", True),
    (["src/*.py"], "src/a.py", True),
    (["src/*.py"], "src/sub/a.py", False),
    (["src/**/*.py"], "src/sub/deep/a.py", True),
    (["**/fixtures/"], "a/b/fixtures/x.py", True),
    (["tests/**", "!tests/keep.py"], "tests/keep.py", False),
    (["tests/**", "!tests/keep.py"], "tests/other.py", True),
    (["build/", "!build/keep.py"], "build/keep.py", True),  # as in git: no re-including inside an excluded folder
    (["a?c.py"], "abc.py", True),
    (["[ab].py"], "c.py", False),
    (["# comment", ""], "x.py", False),
])
def test_gitignore_semantics(patterns: list[str], path: str, expected: bool) -> None:
    assert gitignore_match(tuple(patterns), path) is expected


def test_table_with_every_key() -> None:
    cfg = from_table({
        "select": ["DS1", "DS2"], "ignore": ["DS301"], "exclude": ["vendor/"], "respect-gitignore": False,
        "fail-on": "medium", "egress": {"allow": ["api.example.com"]}, "rules": {"DS201": {"entropy": 4.5}},
        "overrides": [{"paths": ["tests/**"], "ignore": ["DS2"]}], "limits": {"max-file-bytes": 10},
    }, "p.toml", root="/r")
    assert cfg.select == ("DS1", "DS2") and cfg.exclude == ("vendor/",) and not cfg.respect_gitignore
    assert cfg.fail_on is Severity.MEDIUM and cfg.rule_options == {"DS201": {"entropy": 4.5}}
    assert cfg.overrides == (Override(("tests/**",), ("DS2",)),) and cfg.limits.max_file_bytes == 10


@pytest.mark.parametrize("table, needle", [
    ({"colour": True}, "`tool.datasec-scan.colour`"),
    ({"fail-on": "severe"}, "`fail-on`"),
    ({"exclude": "vendor/"}, "`exclude`"),
    ({"respect-gitignore": "yes"}, "`respect-gitignore`"),
    ({"overrides": {"paths": ["a"]}}, "`overrides`"),
    ({"overrides": [{"ignore": ["DS201"]}]}, "`overrides[0].paths`"),
    ({"overrides": [{"paths": ["a"], "severity": "low"}]}, "`overrides[0].severity`"),
    ({"overrides": [{"paths": [], "ignore": []}]}, "`overrides[0].paths`"),
    ({"limits": {"max-bytes": 1}}, "`limits.max-bytes`"),
])
def test_bad_values_name_the_key_and_the_file(table: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_table(table, "/somewhere/pyproject.toml")
    assert needle in str(err.value) and "/somewhere/pyproject.toml" in str(err.value)


@pytest.mark.parametrize("table, needle", [
    ("unknown-key = 1", "unknown key `tool.datasec-scan.unknown-key`"),
    ('fail-on = "severe"', "`fail-on`"),
    ("[[tool.datasec-scan.overrides]]\npaths = ['a']\nwhat = 1", "`overrides[0].what`"),
    ("[tool.datasec-scan.rules.DS999]\nx = 1", "`tool.datasec-scan.rules.DS999` names no installed rule"),
])
def test_cli_exits_2_naming_key_and_file(tmp_path: Path, table: str, needle: str) -> None:
    _project(tmp_path, table)
    (tmp_path / "a.py").write_text("x = 1\n")
    for args in (["scan", "--no-cache", "a.py"], ["config"]):
        if args == ["config"] and "DS999" in needle:
            continue  # `config` shows options without loading rules
        result = run(tmp_path, *args)
        assert result.exit_code == 2, result.output
        assert needle in result.output and str(tmp_path / "pyproject.toml") in result.output


def test_nearest_pyproject_found_from_relative_file_paths(tmp_path: Path) -> None:
    """As under pre-commit: cwd is the repository root and the files are given relative to it."""
    _project(tmp_path, 'fail-on = "low"')
    (tmp_path / ".git").mkdir()
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "m.py").write_text("x = 1\n")
    old = os.getcwd()
    os.chdir(tmp_path / "src")
    try:
        assert find_pyproject(Path("pkg/m.py")) == (tmp_path / "pyproject.toml").resolve()
        cfg = load([Path("pkg/m.py")])
    finally:
        os.chdir(old)
    assert cfg.fail_on is Severity.LOW and Path(cfg.root) == tmp_path.resolve()


def test_exclude_is_gitignore_style_relative_to_the_config_and_covers_named_files(tmp_path: Path) -> None:
    _project(tmp_path, 'exclude = ["vendor/", "/generated.py"]')
    for rel in ("app.py", "vendor/lib.py", "src/vendor/lib.py", "generated.py", "src/generated.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(LINE)
    result = run(tmp_path, "scan", "--no-cache", "--format", "json", "--select", "DS201")
    assert _paths(result) == {"app.py", "src/generated.py"}
    named = run(tmp_path, "scan", "--no-cache", "--format", "json", "--select", "DS201", "vendor/lib.py", "app.py")
    assert _paths(named) == {"app.py"}  # pre-commit names files: the exclude still holds
    sub = run(tmp_path / "src", "scan", "--no-cache", "--format", "json", "--select", "DS201", ".")
    assert _paths(sub) == {"generated.py"}  # patterns stay relative to the pyproject.toml


def test_respect_gitignore_switch(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "gen.py").write_text(LINE)
    (tmp_path / "app.py").write_text(LINE)
    _project(tmp_path, "")
    assert _paths(run(tmp_path, "scan", "--no-cache", "--format", "json", "--select", "DS201")) == {"app.py"}
    _project(tmp_path, "respect-gitignore = false")
    assert _paths(run(tmp_path, "scan", "--no-cache", "--format", "json", "--select", "DS201")) == {
        "app.py", "build/gen.py"}


def test_overrides_apply_per_path_after_the_cached_scan(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_keys.py").write_text(LINE)
    (tmp_path / "app.py").write_text(LINE)
    cache = tmp_path.parent / (tmp_path.name + "-cache")
    args = ("scan", "--format", "json", "--select", "DS201", "--cache-dir", str(cache), "app.py", "tests")
    _project(tmp_path, '[[tool.datasec-scan.overrides]]\npaths = ["tests/"]\nignore = ["DS201"]')
    assert _paths(run(tmp_path, *args)) == {"app.py"}
    # Same cache, override changed: the cached per-file results stay valid and the new override applies.
    _project(tmp_path, '[[tool.datasec-scan.overrides]]\npaths = ["app.py"]\nignore = ["provider-token"]')
    assert _paths(run(tmp_path, *args)) == {"tests/test_keys.py"}
    _project(tmp_path, "")
    assert _paths(run(tmp_path, *args)) == {"app.py", "tests/test_keys.py"}


def test_cache_key_ignores_what_is_applied_after_the_scan() -> None:
    base = Config()
    assert base.cache_key() == replace(base, exclude=("x",), overrides=(Override(("a",), ("DS1",)),),
                                       fail_on=Severity.LOW, source="p", root="/r").cache_key()
    assert base.cache_key() != replace(base, inline_ignores=False).cache_key()
    assert base.cache_key() != replace(base, rule_options={"DS201": {"a": 1}}).cache_key()


def test_config_command_prints_loadable_toml_and_json(tmp_path: Path) -> None:
    _project(tmp_path, 'ignore = ["DS3"]\nexclude = ["vendor/"]\nfail-on = "medium"\n'
                       '[tool.datasec-scan.egress]\nallow = ["api.example.com"]\n'
                       '[tool.datasec-scan.rules.DS201]\nwords = ["a", "b"]\nlimit = 3\n'
                       '[[tool.datasec-scan.overrides]]\npaths = ["tests/**"]\nignore = ["DS201"]\n')
    result = run(tmp_path, "config")
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "pyproject.toml") in result.output
    again = from_table(tomllib.loads(result.output)["tool"]["datasec-scan"], "printed")
    original = load([tmp_path])
    assert replace(again, source="", root="") == replace(original, source="", root="")
    as_json = json.loads(run(tmp_path, "config", "--format", "json").output)
    assert as_json["config"]["fail-on"] == "medium" and as_json["config"]["overrides"][0]["paths"] == ["tests/**"]
    assert as_json["source"] == str(tmp_path / "pyproject.toml")


def test_config_command_defaults_outside_a_project(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    result = run(tmp_path, "config")
    assert result.exit_code == 0 and "(defaults)" in result.output
    assert tomllib.loads(result.output)["tool"]["datasec-scan"]["fail-on"] == "high"
    assert render(Config()) == render(Config())


def test_isolated_reads_no_configuration(tmp_path: Path) -> None:
    """Vetting a package: its own pyproject.toml must not be able to switch the scanner off."""
    _project(tmp_path, 'exclude = ["*"]\nignore = ["DS"]')
    (tmp_path / "evil.py").write_text(LINE)
    assert _paths(run(tmp_path, "scan", "--no-cache", "--format", "json")) == set()
    assert _paths(run(tmp_path, "scan", "--no-cache", "--format", "json", "--isolated")) == {"evil.py"}
    both = run(tmp_path, "scan", "--isolated", "--config", "pyproject.toml")
    assert both.exit_code == 2
