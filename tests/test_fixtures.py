"""Every annotated fixture: the rules report exactly the annotated lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasec_scan.config import load_file
from datasec_scan.engine import file_kind
from datasec_scan.plugins import discover
from datasec_scan.testing import check_fixture, parse_annotations

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _fixture_files() -> list[Path]:
    files = []
    for p in sorted(FIXTURES.rglob("*")):
        if p.is_file() and "hostile" not in p.parts and "packages" not in p.parts and file_kind(p.name):
            if parse_annotations(p.read_text("utf-8", errors="replace")).codes():
                files.append(p)
    return files


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture(path: Path) -> None:
    local = path.parent / "pyproject.toml"  # a fixture folder may carry its own [tool.datasec-scan] config
    config = load_file(local) if path.parent != FIXTURES and local.is_file() else None
    report = check_fixture(path, discover(), config, display=path.relative_to(FIXTURES).as_posix())
    assert report.ok, report.explain()


def test_every_rule_has_a_fixture() -> None:
    rules = discover()
    named = {p.stem for p in FIXTURES.rglob("*") if p.is_file()}
    for rule in rules.rules:
        if rule.pack != "builtin":
            continue
        stem = rule.__module__.rsplit(".", 1)[-1]
        assert stem in named, f"{rule.code} has no fixture named fixtures/{stem}.*"
