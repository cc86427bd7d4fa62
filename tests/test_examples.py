"""Every VALID/INVALID example of every discovered rule is a test case (`DS101-invalid-0`)."""

from __future__ import annotations

import pytest

from datasec_scan.plugins import discover
from datasec_scan.testing import check_example, example_cases

CASES = example_cases(discover())


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_example(case) -> None:
    _, rule, example, must_report = case
    problem = check_example(rule, example, must_report)
    assert problem is None, problem


def test_every_rule_is_well_formed() -> None:
    for rule in discover().rules:
        assert rule.problems() == [], rule.code
