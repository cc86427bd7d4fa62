"""Load rule packs from the `datasec_scan.rules` entry-point group; any load problem is fatal."""

from __future__ import annotations

import inspect
import types
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from .rule import RuleMeta

ENTRY_POINT_GROUP = "datasec_scan.rules"


class PackError(Exception):
    """A rule pack could not be loaded or is inconsistent; the CLI exits 2 with this message."""


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
    version = ep.dist.version if ep.dist is not None else "0"
    return ep.name, obj, version


def _entry_points() -> list[EntryPoint]:
    eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
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
        packs.append((ep.name, ep.dist.version if ep.dist is not None else "0"))
        try:
            spec = importlib.util.find_spec(ep.module.split(".")[0])
        except (ImportError, ValueError):
            spec = None
        if spec is not None:  # a package's folders, or a single module's own file (not the folder it sits in)
            folders += list(spec.submodule_search_locations or ())
            if spec.origin and not spec.submodule_search_locations:
                folders.append(spec.origin)
    return tuple(sorted(packs)), tuple(sorted(set(folders)))
