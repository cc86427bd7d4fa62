"""Catalogs of qualified names and patterns, kept as TOML data in rules/catalogs/, read once per process."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

CATALOG_DIR = Path(__file__).resolve().parent / "catalogs"


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed catalog `rules/catalogs/<name>.toml`; a missing or broken catalog is a load error."""
    with open(CATALOG_DIR / f"{name}.toml", "rb") as handle:
        return tomllib.load(handle)


def names(catalog: str, key: str) -> tuple[str, ...]:
    """A list of strings from a catalog, addressed as `table.key` (dots walk into tables)."""
    value: Any = load(catalog)
    for part in key.split("."):
        value = value[part]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"catalog {catalog}.toml: `{key}` is not a list of strings")
    return tuple(value)


def table(catalog: str, key: str) -> dict[str, Any]:
    """A table (mapping) from a catalog, addressed as `table.key`."""
    value: Any = load(catalog)
    for part in key.split("."):
        value = value[part]
    if not isinstance(value, dict):
        raise TypeError(f"catalog {catalog}.toml: `{key}` is not a table")
    return value


@lru_cache(maxsize=256)
def glob_regex(globs: tuple[str, ...]) -> re.Pattern[str]:
    """Catalog globs (`requests.*`, exact names) as one regex whose `match` says whether any glob matches a name."""
    return re.compile("|".join(fnmatch.translate(g) for g in globs))
