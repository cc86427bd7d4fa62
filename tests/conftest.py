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
