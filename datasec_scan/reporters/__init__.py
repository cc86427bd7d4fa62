"""Reporters: pure functions from a ScanResult to text; loaded by name so unused ones are never imported."""

from __future__ import annotations

import importlib
from typing import Callable

from ..model import ScanResult

FORMATS = ("text", "json", "sarif", "html")


def reporter(fmt: str) -> Callable[..., str]:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return importlib.import_module(f"{__name__}.{fmt}").render


def render(result: ScanResult, fmt: str, **options: object) -> str:
    return reporter(fmt)(result, **options)
