"""Per-file result cache: JSON entries keyed by content hash, path, tool and rule code, and config; never pickled."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .model import (Category, Confidence, FileResult, Finding, FlowStep, Level, Location, Notification, RuleInfo,
                    Severity, Suppression)

MAX_BYTES = 200_000_000  # the cache prunes its oldest entries beyond this size
ENTRY_FORMAT = 1


def default_dir() -> Path:
    explicit = os.environ.get("DATASEC_SCAN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "datasec-scan"


def code_fingerprint(rule_sources: list[str]) -> str:
    """Changes whenever the engine or a rule pack's files change on disk, even without a version bump.
    `rule_sources` are the packs' package folders, or the files of single-module packs."""
    parts = [__version__, sys.version]
    sources = {Path(__file__).parent} | {Path(f) for f in rule_sources}
    for source in sorted(sources):
        files = sorted(source.rglob("*")) if source.is_dir() else [source]
        for path in files:
            if path.suffix in (".py", ".toml", ".json") and "__pycache__" not in path.parts:
                try:
                    st = path.stat()
                except OSError:
                    continue
                parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Cache:
    folder: Path
    salt: str  # code fingerprint + rule codes + config: anything that changes per-file results

    def key(self, path: str, data: bytes) -> str:
        h = hashlib.sha256()
        for piece in (self.salt.encode(), path.encode("utf-8", "surrogateescape"), data):
            h.update(len(piece).to_bytes(8, "little"))
            h.update(piece)
        return h.hexdigest()

    def _file(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], f"{key[2:]}.json")  # (a string: a warm run looks up every file)

    def _rules_file(self) -> Path:
        return self.folder / f"rules-{hashlib.sha256(self.salt.encode()).hexdigest()[:32]}.json"

    def rule_infos(self) -> tuple[RuleInfo, ...] | None:
        """The rules' descriptions stored by an earlier run with the same salt (so a run that finds every file
        in the cache reports them without importing the rules, or the parser they need)."""
        try:
            return tuple(RuleInfo(**{**d, "category": Category(d["category"]), "severity": Severity(d["severity"]),
                                     "confidence": Confidence(d["confidence"]), "cwe": tuple(d["cwe"]),
                                     "attack": tuple(d["attack"])})
                         for d in json.loads(self._rules_file().read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put_rule_infos(self, infos: tuple[RuleInfo, ...]) -> None:
        rows = [{**asdict(i), "category": i.category.value, "severity": i.severity.value,
                 "confidence": i.confidence.value} for i in infos]
        self._write(self._rules_file(), rows)

    def get(self, key: str) -> FileResult | None:
        try:
            with open(self._file(key), "rb") as handle:
                return _result_from(json.loads(handle.read()))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a missing, partial or foreign entry is a miss, never an error

    def put(self, key: str, result: FileResult) -> None:
        self._write(Path(self._file(key)), _result_to(result))

    @staticmethod
    def _write(target: Path, content: object) -> None:
        import tempfile  # (a run answered from the cache writes nothing)

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(content, handle, ensure_ascii=True, separators=(",", ":"))
            os.replace(tmp, target)  # atomic: concurrent runs see a whole entry or none
        except OSError:
            pass

    def prune(self, max_bytes: int = MAX_BYTES, every_seconds: int = 3600) -> None:
        """Drop the oldest entries beyond `max_bytes`; looks at most once per `every_seconds`."""
        stamp = self.folder / ".last-prune"
        try:
            if stamp.exists() and time.time() - stamp.stat().st_mtime < every_seconds:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp.touch()
        except OSError:
            return
        try:
            entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.folder.glob("*/*.json")]
        except OSError:
            return
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= max_bytes:
                break
            try:
                path.unlink()
                total -= size
            except OSError:
                pass


def _loc(d: dict[str, Any]) -> Location:
    return Location(d["path"], d["line"], d["column"], d["end_line"], d["end_column"])


def _loc_dict(loc: Location) -> dict[str, Any]:
    return {"path": loc.path, "line": loc.line, "column": loc.column, "end_line": loc.end_line,
            "end_column": loc.end_column}


def _result_to(r: FileResult) -> dict[str, Any]:
    return {
        "format": ENTRY_FORMAT, "path": r.path, "lines": r.lines,
        "findings": [{
            "rule": f.rule, "name": f.name, "category": f.category.value, "severity": f.severity.value,
            "confidence": f.confidence.value, "message": f.message, "location": _loc_dict(f.location),
            "snippet": f.snippet, "flow": [{"location": _loc_dict(s.location), "message": s.message} for s in f.flow],
            "secret_hashes": list(f.secret_hashes), "fallback": f.fallback,
            "suppression": None if f.suppression is None else [f.suppression.kind, f.suppression.justification],
        } for f in r.findings],
        "notifications": [{"path": n.path, "kind": n.kind, "message": n.message, "level": n.level.value,
                           "rule": n.rule} for n in r.notifications],
    }


def _result_from(d: dict[str, Any]) -> FileResult:
    if d.get("format") != ENTRY_FORMAT:
        raise ValueError("old cache entry")
    findings = tuple(Finding(
        rule=f["rule"], name=f["name"], category=Category(f["category"]), severity=Severity(f["severity"]),
        confidence=Confidence(f["confidence"]), message=f["message"], location=_loc(f["location"]),
        snippet=f["snippet"], flow=tuple(FlowStep(_loc(s["location"]), s["message"]) for s in f["flow"]),
        secret_hashes=tuple(f["secret_hashes"]), fallback=f["fallback"],
        suppression=Suppression(*f["suppression"]) if f["suppression"] else None,
    ) for f in d["findings"])
    notes = tuple(Notification(n["path"], n["kind"], n["message"], Level(n["level"]), n["rule"])
                  for n in d["notifications"])
    return FileResult(d["path"], findings, notes, d["lines"])
