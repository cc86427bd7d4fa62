"""HTML report: one self-contained page (jinja2, autoescape on, strict CSP, no scripts, no external resources)."""

from __future__ import annotations

import dataclasses
import functools
import enum
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping

import jinja2

from ..model import Category, Finding, ScanResult, Severity
from ..redact import inert

TEMPLATES = Path(__file__).parent / "templates"
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
SEVERITY_COLOURS = {"critical": "#8b0000", "high": "#d62728", "medium": "#e6a100", "low": "#1f77b4"}


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["inert"] = lambda value: inert(str(value))
    return env


def _bars(counts: Mapping[str, int], colours: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Rows of a horizontal bar chart: label, count, bar width in percent of the largest count."""
    top = max(counts.values(), default=0) or 1
    return [{"label": label, "count": n, "width": round(100 * n / top, 1),
             "colour": (colours or {}).get(label, "#555")} for label, n in counts.items()]


def _plain(value: Any) -> Any:
    """Egress entries of any shape (dataclass, mapping, object) -> a mapping of printable values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif not isinstance(value, Mapping):
        value = {k: v for k, v in vars(value).items() if not k.startswith("_")} if hasattr(value, "__dict__") \
            else {"value": value}
    out = {}
    for k, v in value.items():
        if isinstance(v, enum.Enum):
            v = v.value
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            v = ", ".join(f"{f.name}={getattr(v, f.name)}" for f in dataclasses.fields(v))
        elif isinstance(v, (list, tuple, set, frozenset)):
            v = ", ".join(str(x) for x in v)
        out[str(k)] = v
    return out


def _egress(egress: Iterable[Any] | None) -> dict[str, Any] | None:
    if egress is None:
        return None
    rows = [_plain(e) for e in egress]
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    return {"columns": columns, "rows": rows}


def context(result: ScanResult, egress: Iterable[Any] | None = None) -> dict[str, Any]:
    findings = result.findings
    active = [f for f in findings if f.suppression is None]
    by_severity = Counter(f.severity for f in active)
    by_category = Counter(f.category for f in active)
    matrix = {c.value: {s.label: sum(1 for f in active if f.category == c and f.severity == s)
                        for s in sorted(Severity, reverse=True)} for c in Category}
    grouped: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        grouped[f.location.path].append(f)
    used = {f.rule for f in findings}
    return {
        "csp": CSP,
        "tool_version": result.tool_version,
        "root": result.root,
        "files_scanned": len(result.files),
        "total": len(findings),
        "active": len(active),
        "suppressed": len(findings) - len(active),
        "severities": [s.label for s in sorted(Severity, reverse=True)],
        "severity_bars": _bars({s.label: by_severity[s] for s in sorted(Severity, reverse=True)}, SEVERITY_COLOURS),
        "category_bars": _bars({c.value: by_category[c] for c in Category}),
        "matrix": matrix,
        "files": [{"path": path, "findings": items} for path, items in sorted(grouped.items())],
        "notifications": result.all_notifications,
        "rules": [r for r in result.rules if r.code in used],
        "egress": _egress(egress),
        "colours": SEVERITY_COLOURS,
    }


def render(result: ScanResult, egress: Iterable[Any] | None = None, **_: object) -> str:
    """The page; pass `egress` (an egress inventory: dataclasses or mappings) to add that section."""
    return _environment().get_template("report.html.j2").render(**context(result, egress))
