"""Test support any rule pack can use: annotated fixtures (`# ruleid: DS101`) and VALID/INVALID examples."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .engine import file_kind, scan_file
from .model import Finding
from .plugins import RuleSet
from .rule import Example, RuleMeta

ANNOTATION = re.compile(r"^\s*(?:#|//|;)\s*(ruleid|ok|todoruleid|todook)\s*:\s*([A-Za-z0-9_,\s-]+?)\s*$")


@dataclass(frozen=True)
class Expectations:
    """Per rule code: lines that must report, lines that must not, and the known misses/false alarms."""

    ruleid: dict[str, set[int]] = field(default_factory=dict)
    ok: dict[str, set[int]] = field(default_factory=dict)
    todoruleid: dict[str, set[int]] = field(default_factory=dict)
    todook: dict[str, set[int]] = field(default_factory=dict)

    def codes(self) -> set[str]:
        return set(self.ruleid) | set(self.ok) | set(self.todoruleid) | set(self.todook)


def parse_annotations(text: str) -> Expectations:
    """Annotations stand alone on the line before the line they speak of (blank/comment lines skipped)."""
    exp = Expectations()
    pending: list[tuple[str, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        m = ANNOTATION.match(line)
        if m:
            pending.append((m.group(1), [c.strip() for c in m.group(2).split(",") if c.strip()]))
            continue
        stripped = line.strip()
        if not pending or not stripped or stripped.startswith("#"):
            continue
        for kind, codes in pending:
            for code in codes:
                getattr(exp, kind).setdefault(code, set()).add(number)
        pending = []
    return exp


@dataclass(frozen=True)
class FixtureReport:
    path: str
    missed: dict[str, list[int]]
    unexpected: dict[str, list[int]]
    unknown_rules: list[str]
    counts: dict[str, dict[str, int]]

    @property
    def ok(self) -> bool:
        return not (self.missed or self.unexpected or self.unknown_rules)

    def explain(self) -> str:
        parts = []
        if self.unknown_rules:
            parts.append(f"annotations name unknown rules: {', '.join(self.unknown_rules)}")
        for code, lines in sorted(self.missed.items()):
            parts.append(f"{code} missed on lines {lines}")
        for code, lines in sorted(self.unexpected.items()):
            parts.append(f"{code} reported unexpectedly on lines {lines}")
        return f"{self.path}: " + "; ".join(parts) if parts else f"{self.path}: ok"


def findings_for(path: str, text: str | bytes, rules: RuleSet, config: Config | None = None) -> list[Finding]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return list(scan_file(path, data, rules, config or Config()).findings)


def check_fixture(path: Path, rules: RuleSet, config: Config | None = None, display: str | None = None) -> FixtureReport:
    """Compare a fixture's annotations with what the rules report: exact line sets per rule."""
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    exp = parse_annotations(text)
    known = {r.code for r in rules.rules}
    unknown = sorted(exp.codes() - known)
    name = display or path.name
    scan_path = name if file_kind(name) else path.name
    found: dict[str, set[int]] = {}
    for f in findings_for(scan_path, data, rules, config):
        found.setdefault(f.rule, set()).add(f.location.line)
    missed: dict[str, list[int]] = {}
    unexpected: dict[str, list[int]] = {}
    counts: dict[str, dict[str, int]] = {}
    for code in sorted(exp.codes() & known | set(found)):
        want = exp.ruleid.get(code, set()) | exp.todook.get(code, set())
        got = found.get(code, set())
        if want - got:
            missed[code] = sorted(want - got)
        if got - want:
            unexpected[code] = sorted(got - want)
        counts[code] = {k: len(getattr(exp, k).get(code, ())) for k in ("ruleid", "ok", "todoruleid", "todook")}
    return FixtureReport(str(path), missed, unexpected, unknown, counts)


def example_cases(rules: RuleSet) -> list[tuple[str, type[RuleMeta], Example, bool]]:
    """(test id, rule, example, must_report) for every VALID/INVALID example: `DS101-invalid-0`."""
    cases = []
    for rule in rules.rules:
        for kind, examples, must in (("valid", rule.VALID, False), ("invalid", rule.INVALID, True)):
            for i, ex in enumerate(examples):
                example = ex if isinstance(ex, Example) else Example(ex)
                cases.append((f"{rule.code}-{kind}-{i}", rule, example, must))
    return cases


def check_example(rule: type[RuleMeta], example: Example, must_report: bool, rules: RuleSet | None = None) -> str | None:
    """None when the example behaves as declared, else a message saying what went wrong."""
    ruleset = rules or RuleSet((rule,), ())
    code = textwrap.dedent(example.code)
    if rule.kind == "archive":  # the example is an archive written as txtar text; its path names the archive
        from .archives import example_findings

        hits = [f for f in example_findings(example.path, code, ruleset) if f.rule == rule.code]
    else:
        config = Config(egress_allow=example.egress_allow) if example.egress_allow else None
        hits = [f for f in findings_for(example.path, code, ruleset, config) if f.rule == rule.code]
    if must_report and not hits:
        return f"{rule.code} reported nothing on INVALID example:\n{code}"
    if not must_report and hits:
        return f"{rule.code} reported on VALID example: {[f.message for f in hits]}\n{code}"
    return None
