"""JSON report with a documented, versioned shape (see docs/json-format.md); deterministic bytes."""

from __future__ import annotations

import json

from ..model import Finding, Notification, ScanResult
from . import package_verdicts

SCHEMA_VERSION = 1


def finding_dict(f: Finding) -> dict:
    loc = f.location
    return {
        "rule": f.rule,
        "name": f.name,
        "category": f.category.value,
        "severity": f.severity.label,
        "confidence": f.confidence.label,
        "message": f.message,
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
        "snippet": f.snippet,
        "flow": [{"path": s.location.path, "line": s.location.line, "column": s.location.column,
                  "message": s.message} for s in f.flow],
        "secret_hashes": list(f.secret_hashes),
        "fallback": f.fallback,
        "suppressed": None if f.suppression is None else {"kind": f.suppression.kind,
                                                           "justification": f.suppression.justification},
    }


def notification_dict(n: Notification) -> dict:
    return {"path": n.path, "kind": n.kind, "level": n.level.value, "message": n.message, "rule": n.rule}


def to_dict(result: ScanResult) -> dict:
    findings = result.findings
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "datasec-scan", "version": result.tool_version},
        "files_scanned": len(result.files),
        "findings": [finding_dict(f) for f in findings],
        "notifications": [notification_dict(n) for n in result.all_notifications],
        "rules": sorted({f.rule for f in findings}),
        "packages": [v.as_dict() for v in package_verdicts(result)],  # per archive / installed distribution
    }


def render(result: ScanResult, **_: object) -> str:
    return json.dumps(to_dict(result), indent=2, sort_keys=True, ensure_ascii=True) + "\n"
