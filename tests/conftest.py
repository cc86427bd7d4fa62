"""Shared pytest fixtures: the installed rule set and paths of the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasec_scan.plugins import RuleSet, discover

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    return discover()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read or write the user's cache."""
    monkeypatch.setenv("DATASEC_SCAN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
