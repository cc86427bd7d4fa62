"""`[tool.datasec-scan]` in pyproject.toml -> a frozen, validated Config; unknown keys are errors."""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
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
    max_file_seconds: int = 60  # wall time for one file's scan; 0: no limit (see docs/limits.md)
    max_decoded_bytes: int = 1_000_000
    max_decode_layers: int = 8
    max_parse_depth: int = 800  # bracket nesting above which libcst is not asked to parse
    # Shape pre-checks before libcst parses (datasec_scan/fallback.py); above them a reduced scan runs instead.
    max_parse_tokens: int = 250_000  # libcst needs ~2 KB per token: bounds memory and time
    max_expression_chain: int = 1_000  # tokens in one run (`1+1+...`, `a.b.c...`, `not not ...`) between commas
    max_fallback_ast_tokens: int = 500_000  # CPython ast in the reduced scan; above it, regexes only
    # Archives (wheels, sdists, eggs) read in memory; see datasec_scan/archives.py.
    max_archive_members: int = 20_000
    max_archive_bytes: int = 500_000_000  # total uncompressed bytes read from one archive
    max_member_bytes: int = 100_000_000  # uncompressed bytes of one member
    max_compression_ratio: int = 200  # uncompressed/compressed, checked for members over 1 MiB
    max_archive_depth: int = 2  # archives inside archives


@dataclass(frozen=True)
class Override:
    """`[[tool.datasec-scan.overrides]]`: rules ignored for the files matching `paths` (gitignore-style)."""

    paths: tuple[str, ...]
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ()  # empty: every default-enabled rule
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # gitignore-style patterns, relative to `root`
    respect_gitignore: bool = True
    fail_on: Severity = Severity.HIGH
    egress_allow: tuple[str, ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    overrides: tuple[Override, ...] = ()
    inline_ignores: bool = True  # honour `# datasec: ignore[...] -- reason` comments (engine)
    limits: Limits = Limits()
    source: str = "(defaults)"
    root: str = ""  # folder that `exclude` and override `paths` are relative to; "" = current folder

    def cache_key(self) -> str:
        """A stable text of everything that may change per-file results (where it came from does not).

        Excludes, overrides and fail-on are applied after the per-file scan, so they are left out.
        """
        return repr(replace(self, source="", root="", exclude=(), overrides=(), fail_on=Severity.HIGH))

    def rule_enabled(self, code: str, status: str) -> bool:
        if rule_matches(code, "", self.ignore):
            return False
        if self.select:
            return rule_matches(code, "", self.select)
        return status != "opt-in"

    def relative(self, path: str, cwd: Path | None = None) -> str:
        """`path` (as shown, relative to `cwd`) relative to the config root, in POSIX form."""
        base = Path(self.root) if self.root else (cwd or Path.cwd())
        full = os.path.normpath(os.path.join(os.path.abspath(cwd or Path.cwd()), path))
        try:
            return Path(full).relative_to(os.path.abspath(base)).as_posix()
        except ValueError:
            return Path(full).as_posix().lstrip("/")

    def excluded(self, path: str, cwd: Path | None = None) -> bool:
        return bool(self.exclude) and gitignore_match(self.exclude, self.relative(path, cwd))

    def ignored_here(self, code: str, name: str, path: str, cwd: Path | None = None) -> bool:
        """Whether a per-path override turns this rule off for this file."""
        if not self.overrides:
            return False
        rel = self.relative(path, cwd)
        return any(rule_matches(code, name, o.ignore) and gitignore_match(o.paths, rel) for o in self.overrides)


def rule_matches(code: str, name: str, patterns: tuple[str, ...]) -> bool:
    """A rule code matches a pattern equal to it or a prefix of it (`DS2`); a rule name matches itself."""
    return any(p and (code == p or code.startswith(p) or (name and name == p)) for p in patterns)


# --- gitignore-style patterns --------------------------------------------------------------------


@lru_cache(maxsize=512)
def _compile(pattern: str) -> tuple[re.Pattern[str], bool, bool] | None:
    """(regex, negated, directory-only) for one gitignore line; None for blanks and comments."""
    pat = pattern.rstrip()
    if not pat or pat.startswith("#"):
        return None
    negated = pat.startswith("!")
    if negated:
        pat = pat[1:]
    dir_only = pat.endswith("/")
    pat = pat.rstrip("/")
    if not pat:
        return None
    anchored = "/" in pat
    pat = pat.lstrip("/")
    out, i = [], 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("/**", i) and i + 3 == len(pat):
            out.append("/.*")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        elif pat[i] == "[" and "]" in pat[i + 2:]:
            end = pat.index("]", i + 2)
            body = pat[i + 1:end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif pat[i] == "\\" and i + 1 < len(pat):
            out.append(re.escape(pat[i + 1]))
            i += 2
        else:
            out.append(re.escape(pat[i]))
            i += 1
    body = "".join(out)
    regex = re.compile(("^" if anchored else "^(?:.*/)?") + body + "$", re.DOTALL)
    return regex, negated, dir_only


def _last_match(patterns: tuple[str, ...], rel: str, is_dir: bool) -> bool | None:
    verdict = None
    for p in patterns:
        compiled = _compile(p)
        if compiled is None:
            continue
        regex, negated, dir_only = compiled
        if dir_only and not is_dir:
            continue
        if regex.match(rel):
            verdict = not negated
    return verdict


def gitignore_match(patterns: tuple[str, ...], rel: str) -> bool:
    """Whether a file at `rel` (POSIX, relative to the pattern root) is matched, as .gitignore would.

    A file inside a matched folder is matched; as in git, a later `!pattern` cannot re-include it.
    """
    parts = rel.strip("/").split("/")
    for i in range(1, len(parts)):
        if _last_match(patterns, "/".join(parts[:i]), True):
            return True
    return bool(_last_match(patterns, "/".join(parts), False))


# --- reading ---------------------------------------------------------------------------------------


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{key}` must be a list of strings")
    return tuple(value)


def _severity(value: Any, key: str, where: str) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: `{key}`: {exc}") from None


def _overrides(value: Any, where: str) -> tuple[Override, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}: `overrides` must be an array of tables: [[tool.datasec-scan.overrides]]")
    found = []
    for n, table in enumerate(value):
        key = f"overrides[{n}]"
        for k in table:
            if k not in ("paths", "ignore"):
                raise ConfigError(f"{where}: unknown key `{key}.{k}` (known: ignore, paths)")
        if "paths" not in table:
            raise ConfigError(f"{where}: `{key}.paths` is required (a list of gitignore-style patterns)")
        paths = _strings(table["paths"], f"{key}.paths", where)
        if not paths:
            raise ConfigError(f"{where}: `{key}.paths` must not be empty")
        found.append(Override(paths, _strings(table.get("ignore", []), f"{key}.ignore", where)))
    return tuple(found)


def from_table(table: Mapping[str, Any], where: str, root: str = "") -> Config:
    """Build a Config from the `[tool.datasec-scan]` table; `where` names the file for messages."""
    cfg = Config(source=where, root=root)
    known = {"select", "ignore", "exclude", "respect-gitignore", "fail-on", "egress", "rules", "limits", "overrides"}
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
        elif key == "overrides":
            cfg = replace(cfg, overrides=_overrides(value, where))
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
    return from_table(table, str(path), root=os.path.abspath(path.parent))


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a `[tool.datasec-scan]` table, walking up from `start`."""
    here = start.resolve()
    if here.is_file() or not here.exists():
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
    return Config(root=os.path.abspath(Path.cwd()))


# --- showing ---------------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def to_dict(cfg: Config) -> dict[str, Any]:
    """The effective configuration as the `[tool.datasec-scan]` table it is equivalent to."""
    return {
        "select": list(cfg.select),
        "ignore": list(cfg.ignore),
        "exclude": list(cfg.exclude),
        "respect-gitignore": cfg.respect_gitignore,
        "fail-on": cfg.fail_on.label,
        "egress": {"allow": list(cfg.egress_allow)},
        "rules": {k: dict(v) for k, v in sorted(cfg.rule_options.items())},
        "overrides": [{"paths": list(o.paths), "ignore": list(o.ignore)} for o in cfg.overrides],
        "limits": {f.name.replace("_", "-"): getattr(cfg.limits, f.name) for f in fields(Limits)},
    }


def render(cfg: Config, fmt: str = "toml") -> str:
    """The effective configuration: `toml` (valid TOML, loadable again) or `json`."""
    table = to_dict(cfg)
    if fmt == "json":
        return json.dumps({"source": cfg.source, "root": cfg.root, "config": table}, indent=2, sort_keys=True) + "\n"
    out = [f"# effective configuration; source: {cfg.source}", f"# paths are relative to: {cfg.root or '.'}",
           "[tool.datasec-scan]"]
    for key in ("select", "ignore", "exclude", "respect-gitignore", "fail-on"):
        out.append(f"{key} = {_toml_value(table[key])}")
    out += ["", "[tool.datasec-scan.egress]", f"allow = {_toml_value(table['egress']['allow'])}"]
    out += ["", "[tool.datasec-scan.limits]"] + [f"{k} = {_toml_value(v)}" for k, v in table["limits"].items()]
    for code, options in table["rules"].items():
        out += ["", f"[tool.datasec-scan.rules.{_toml_key(code)}]"]
        out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in options.items()]
    for o in table["overrides"]:
        out += ["", "[[tool.datasec-scan.overrides]]", f"paths = {_toml_value(o['paths'])}",
                f"ignore = {_toml_value(o['ignore'])}"]
    return "\n".join(out) + "\n"
