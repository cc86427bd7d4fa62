"""Reporters: pure functions from a ScanResult to text; loaded by name so unused ones are never imported."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

from ..model import ScanResult

if TYPE_CHECKING:  # pragma: no cover
    from ..packages import Verdict

FORMATS = ("text", "json", "sarif", "html")


def reporter(fmt: str) -> Callable[..., str]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return importlib.import_module(f"{__name__}.{fmt}").render


def render(result: ScanResult, fmt: str, **options: object) -> str:
    return reporter(fmt)(result, **options)


def package_verdicts(result: ScanResult) -> list[Verdict]:
    """`packages.package_verdicts`, without importing the package machinery for a scan of plain source files."""
    from ..archives import outer_archive

    paths = [fr.path for fr in result.files] + [n.path for n in result.notifications]
    if not result.packages and not any(outer_archive(p) for p in paths):
        return []
    from ..packages import package_verdicts as verdicts

    return verdicts(result)
