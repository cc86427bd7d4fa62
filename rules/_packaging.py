"""Helpers for the packaging-level rules (DS150-DS154): INI/TOML reading with offsets, archive paths."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*(?:[#;].*)?$")
_KEY = re.compile(r"^([A-Za-z0-9_.+\-]+)\s*[=:]\s*(.*?)\s*$")


@dataclass(frozen=True)
class IniEntry:
    """One `key = value` of an INI-shaped file; `parent` is set for an indented line continuing `parent =`."""

    section: str
    parent: str | None
    key: str
    value: str
    start: int
    end: int


def ini_entries(text: str) -> Iterator[IniEntry]:
    """Entries of setup.cfg / entry_points.txt shaped text, with character offsets of each line."""
    section = ""
    current: str | None = None
    offset = 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        start, offset = offset, offset + len(raw)
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        m = _SECTION.match(line)
        if m:
            section, current = m.group(1).strip(), None
            continue
        indented = line[:1] in (" ", "\t")
        lead = len(line) - len(line.lstrip())
        if indented and current is not None:
            km = _KEY.match(stripped)
            if km:
                yield IniEntry(section, current, km.group(1), km.group(2), start + lead, start + len(line))
            continue
        km = _KEY.match(stripped)
        if km:
            current = km.group(1)
            yield IniEntry(section, None, km.group(1), km.group(2), start + lead, start + len(line))


def load_toml(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return None


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def key_span(text: str, key: str, after: int = 0) -> tuple[int, int]:
    """The line defining `key` (bare or quoted) at or after `after`; the start of the file if not found."""
    m = re.compile(r'(?m)^[ \t]*["\']?' + re.escape(key) + r'["\']?[ \t]*=.*$').search(text, after)
    if m is None and after:
        return key_span(text, key)
    return (m.start(), m.end()) if m else (0, min(len(text), len(text.split("\n", 1)[0])))


def table_start(text: str, header: str) -> int:
    m = re.compile(r"(?m)^[ \t]*\[" + re.escape(header) + r"\][ \t]*$").search(text)
    return m.start() if m else 0


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def archive_of(path: str) -> tuple[str | None, str]:
    """(the innermost archive's file name, the member path inside it) of a display path; (None, path) outside."""
    if "!/" not in path:
        return None, path
    head, member = path.rsplit("!/", 1)
    return head.rsplit("!/", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1], member
