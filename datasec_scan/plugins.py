"""Load rule packs from the `datasec_scan.rules` entry-point group; any load problem is fatal."""

from __future__ import annotations

import inspect
import os
import re
import sys
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from .rule import RuleMeta

ENTRY_POINT_GROUP = "datasec_scan.rules"


class PackError(Exception):
    """A rule pack could not be loaded or is inconsistent; the CLI exits 2 with this message."""


@dataclass(frozen=True)
class EntryPoint:
    """One line of a group in an installed distribution's entry_points.txt, with that distribution's version."""

    name: str
    value: str  # `module.path:attribute.path [extras]`
    version: str

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].split("[", 1)[0].strip()

    def load(self) -> object:
        import importlib

        found: object = importlib.import_module(self.module)
        for attribute in filter(None, self.value.partition(":")[2].split("[", 1)[0].strip().split(".")):
            found = getattr(found, attribute)
        return found


def entry_points(group: str) -> list[EntryPoint]:
    """The group's entry points, from the distributions on `sys.path` in path order, the first distribution of a
    name winning, as `importlib.metadata.entry_points` finds them. Read here from the `*.dist-info`/`*.egg-info`
    folders themselves: importing `importlib.metadata` (email, zipfile, importlib.resources) takes 30-50 ms, a tenth
    of a warm run. Whatever else could hold distributions (a zip or egg on the path, another finder that lists
    distributions) or is not a plain path (`Path` or bytes entries in `sys.path`) is left to `importlib.metadata`."""
    from importlib.machinery import PathFinder

    others = [f for f in sys.meta_path if hasattr(f, "find_distributions") and f is not PathFinder]
    if others or any(not isinstance(p, str) or os.path.isfile(p) or p.endswith(".egg") for p in sys.path):
        return _standard_entry_points(group)
    try:
        return _entry_points_in_folders(group)
    except UnicodeDecodeError:  # let importlib.metadata say what it says about a damaged distribution
        return _standard_entry_points(group)


def _entry_points_in_folders(group: str) -> list[EntryPoint]:
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for child in names:  # (in listing order, as importlib.metadata takes them)
            stem, dot, suffix = child.lower().rpartition(".")
            if not dot or suffix not in ("dist-info", "egg-info"):
                continue
            key = re.sub(r"[-_.]+", "_", stem.partition("-")[0])
            if key in seen:
                continue
            seen.add(key)
            info = os.path.join(folder or ".", child)
            lines = _read_lines(os.path.join(info, "entry_points.txt"))
            entries = [(n, v) for section, n, v in _ini_pairs(lines) if section == group]
            if entries:
                version = _version(info)
                found += [EntryPoint(n, v, version) for n, v in entries]
    return found


def _standard_entry_points(group: str) -> list[EntryPoint]:
    from importlib.metadata import entry_points as standard

    return [EntryPoint(ep.name, ep.value, ep.dist.version if ep.dist is not None else "0")
            for ep in standard(group=group)]


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().splitlines()
    except OSError:
        return []


def _ini_pairs(lines: list[str]) -> Iterable[tuple[str, str, str]]:
    """(section, name, value) of entry_points.txt lines (`[group]` headers, `name = value`, `#` comments)."""
    section = ""
    for line in map(str.strip, lines):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif "=" in line:
            name, _, value = line.partition("=")
            yield section, name.strip(), value.strip()


def _version(info: str) -> str:
    """The `Version:` header of the distribution's METADATA (or an egg-info's PKG-INFO)."""
    for name in ("METADATA", "PKG-INFO"):
        for line in _read_lines(os.path.join(info, name)):
            if not line.strip():
                break  # the headers end at the first blank line
            key, _, value = line.partition(":")
            if key.strip().lower() == "version":
                return value.strip()
    return "0"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[type[RuleMeta], ...]
    packs: tuple[tuple[str, str], ...]  # (pack name, version) for cache keys and SARIF

    def by_code(self, code: str) -> type[RuleMeta] | None:
        return next((r for r in self.rules if r.code == code), None)

    def select(self, codes: Iterable[str]) -> "RuleSet":
        wanted = set(codes)
        return RuleSet(tuple(r for r in self.rules if r.code in wanted), self.packs)


def rules_from(obj: object) -> list[type[RuleMeta]]:
    """The rule classes an entry point names: a module's `RULES`, a list, or a callable returning one."""
    from .rule import RuleMeta
    if isinstance(obj, types.ModuleType):
        obj = getattr(obj, "RULES", None)
        if obj is None:
            raise TypeError("module has no RULES list")
    if callable(obj) and not inspect.isclass(obj):
        obj = obj()
    if inspect.isclass(obj):
        obj = [obj]
    found = list(obj)  # type: ignore[arg-type]
    for r in found:
        if not (inspect.isclass(r) and issubclass(r, RuleMeta)):
            raise TypeError(f"{r!r} is not a datasec_scan Rule or TextRule class")
    return found


def load_pack(name: str, obj: object, version: str) -> list[type[RuleMeta]]:
    try:
        rules = rules_from(obj)
    except Exception as exc:
        raise PackError(f"rule pack {name!r}: {exc}") from exc
    for r in rules:
        problems = r.problems()
        if problems:
            raise PackError(f"rule pack {name!r}: rule {r.__name__} ({r.code or '?'}): " + "; ".join(problems))
        if not r.pack:
            r.pack = name
    return rules


def build_ruleset(packs: Iterable[tuple[str, object, str]]) -> RuleSet:
    """Combine packs given as (name, object, version); a code used twice is an error naming both packs."""
    seen: dict[str, str] = {}
    rules: list[type[RuleMeta]] = []
    versions = []
    for name, obj, version in packs:
        versions.append((name, version))
        for r in load_pack(name, obj, version):
            if r.code in seen:
                raise PackError(f"rule pack {name!r}: rule code {r.code} is already defined by pack {seen[r.code]!r}")
            seen[r.code] = name
            rules.append(r)
    rules.sort(key=lambda r: r.code)
    return RuleSet(tuple(rules), tuple(sorted(versions)))


def _load_entry_point(ep: EntryPoint) -> tuple[str, object, str]:
    try:
        obj = ep.load()
    except Exception as exc:
        raise PackError(f"rule pack {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}") from exc
    return ep.name, obj, ep.version


def _entry_points() -> list[EntryPoint]:
    eps = sorted(entry_points(ENTRY_POINT_GROUP), key=lambda e: e.name)
    if not eps:
        raise PackError(f"no rule packs found in entry-point group {ENTRY_POINT_GROUP!r}; is datasec-scan installed?")
    return list({ep.name: ep for ep in eps}.values())  # one distribution may be visible twice on sys.path


def discover() -> RuleSet:
    return build_ruleset(_load_entry_point(ep) for ep in _entry_points())


def pack_sources() -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The installed packs as (name, version) and where their code lives (package folders, single-module files),
    found without importing them (for cache keys: a pack's files changing on disk makes its results stale)."""
    import importlib.util

    packs, folders = [], []
    for ep in _entry_points():
        packs.append((ep.name, ep.version))
        try:
            spec = importlib.util.find_spec(ep.module.split(".")[0])
        except (ImportError, ValueError):
            spec = None
        if spec is not None:  # a package's folders, or a single module's own file (not the folder it sits in)
            folders += list(spec.submodule_search_locations or ())
            if spec.origin and not spec.submodule_search_locations:
                folders.append(spec.origin)
    return tuple(sorted(packs)), tuple(sorted(set(folders)))
