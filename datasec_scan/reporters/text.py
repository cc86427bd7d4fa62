"""Human-readable report: one finding per block, `path:line:col: CODE [severity] message`, then the line."""

from __future__ import annotations

from collections import Counter

from ..model import ScanResult, Severity
from ..redact import inert
from . import package_verdicts

_COLOURS = {Severity.CRITICAL: "\x1b[1;31m", Severity.HIGH: "\x1b[31m", Severity.MEDIUM: "\x1b[33m",
            Severity.LOW: "\x1b[36m"}
_RESET = "\x1b[0m"


def render(result: ScanResult, colour: bool = False, **_: object) -> str:
    out: list[str] = []
    for f in result.findings:
        sev = f"[{f.severity.label}]"
        if colour:
            sev = f"{_COLOURS[f.severity]}{sev}{_RESET}"
        tags = " (suppressed: " + inert(f.suppression.justification) + ")" if f.suppression else ""
        tags += " (fallback scan)" if f.fallback else ""
        loc = f.location
        out.append(f"{inert(loc.path)}:{loc.line}:{loc.column}: {f.rule} {sev} {inert(f.message)}{tags}")
        if f.snippet:
            out.append(f"    {inert(f.snippet)}")
        for i, step in enumerate(f.flow, start=1):
            out.append(f"    {i}. {inert(step.location.path)}:{step.location.line}: {inert(step.message)}")
    for n in result.all_notifications:
        out.append(f"{inert(n.path)}: {n.level.value}: {n.kind}: {inert(n.message)}")
    for v in package_verdicts(result):  # one line per archive / installed distribution, to read or grep
        out.append(f"package {inert(v.package)}: {v.verdict.upper()} — {v.summary}")
    active = result.active_findings
    counts = Counter(f.severity for f in active)
    summary = ", ".join(f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True)) or "no findings"
    suppressed = len(result.findings) - len(active)
    extra = f", {suppressed} suppressed" if suppressed else ""
    notes = len(result.all_notifications)
    extra += f", {notes} notification{'s' if notes != 1 else ''}" if notes else ""
    out.append(f"Scanned {len(result.files)} file{'s' if len(result.files) != 1 else ''}: {summary}{extra}.")
    return "\n".join(out) + "\n"
