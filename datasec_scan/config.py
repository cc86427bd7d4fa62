"""`[tool.datasec-scan]` in pyproject.toml -> a frozen, validated Config; unknown keys are errors."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from .model import Severity


class ConfigError(Exception):
    """The configuration is wrong; the message names the key and the file. The CLI exits 2."""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 5_000_000
    max_line_chars: int = 1_000_000
    max_nested_depth: int = 3
    max_decoded_bytes: int = 1_000_000
    max_decode_layers: int = 8
    max_parse_depth: int = 800  # bracket nesting above which libcst is not asked to parse


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()  # empty: every default-enabled rule
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    fail_on: Severity = Severity.HIGH
    egress_allow: tuple[str, ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    limits: Limits = Limits()
    source: str = "(defaults)"

    def cache_key(self) -> str:
        """A stable text of everything that may change per-file results (where it came from does not)."""
        return repr(replace(self, source=""))

    def rule_enabled(self, code: str, status: str) -> bool:
        def matches(patterns: tuple[str, ...]) -> bool:
            return any(code == p or (p and code.startswith(p)) for p in patterns)

        if matches(self.ignore):
            return False
        if self.select:
            return matches(self.select)
        return status != "opt-in"


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of strings")
    return tuple(value)


def _severity(value: Any, key: str, where: str) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: `{key}`: {exc}") from None


def from_table(table: Mapping[str, Any], where: str) -> Config:
    """Build a Config from the `[tool.datasec-scan]` table; `where` names the file for messages."""
    cfg = Config(source=where)
    known = {"select", "ignore", "exclude", "respect-gitignore", "fail-on", "egress", "rules", "limits"}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key `tool.datasec-scan.{key}` (known: {', '.join(sorted(known))})")
        if key in ("select", "ignore", "exclude"):
            cfg = replace(cfg, **{key: _strings(value, key, where)})
        elif key == "respect-gitignore":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: `respect-gitignore` must be true or false")
            cfg = replace(cfg, respect_gitignore=value)
        elif key == "fail-on":
            cfg = replace(cfg, fail_on=_severity(value, key, where))
        elif key == "egress":
            if not isinstance(value, dict) or set(value) - {"allow"}:
                raise ConfigError(f"{where}: `egress` takes only `allow = [...]`")
            cfg = replace(cfg, egress_allow=_strings(value.get("allow", []), "egress.allow", where))
        elif key == "rules":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ConfigError(f"{where}: `rules` must be a table of tables, e.g. [tool.datasec-scan.rules.DS201]")
            cfg = replace(cfg, rule_options={k: dict(v) for k, v in value.items()})
        elif key == "limits":
            names = {f.name.replace("_", "-"): f.name for f in fields(Limits)}
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: `limits` must be a table")
            changes = {}
            for lk, lv in value.items():
                if lk not in names:
                    raise ConfigError(f"{where}: unknown key `limits.{lk}` (known: {', '.join(sorted(names))})")
                if not isinstance(lv, int) or isinstance(lv, bool) or lv < 0:
                    raise ConfigError(f"{where}: `limits.{lk}` must be a non-negative integer")
                changes[names[lk]] = lv
            cfg = replace(cfg, limits=replace(cfg.limits, **changes))
    return cfg


def load_file(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from None
    table = data.get("tool", {}).get("datasec-scan", {}) if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `tool.datasec-scan` must be a table")
    return from_table(table, str(path))


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a `[tool.datasec-scan]` table, walking up from `start`."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{candidate}: cannot read configuration: {exc}") from None
            if "datasec-scan" in data.get("tool", {}):
                return candidate
        if (folder / ".git").exists():
            break
    return None


def load(paths: list[Path], explicit: Path | None = None) -> Config:
    if explicit is not None:
        return load_file(explicit)
    for p in paths:
        found = find_pyproject(p)
        if found is not None:
            return load_file(found)
    return Config()
