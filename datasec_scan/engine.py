"""Scan one file: decode, pre-screen, parse once, one batched visit of the triggered rules -> FileResult."""

from __future__ import annotations

import bisect
import codecs
import contextlib
import gc
import io
import re
import signal
import threading
import tokenize
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .lazycst import cst

from . import fallback
from .config import Config
from .kinds import CONFIG_SUFFIXES, PYTHON_SUFFIXES, file_kind  # noqa: F401  (re-exported)
from .model import FileResult, Finding, FlowStep, Level, Location, Notification
from .plugins import RuleSet
from .redact import inert, redact_all, secret_hash
from .rule import FileContext, Report, Rule, RuleMeta, TextRule
from .tree import node_positions, parse_python, walk_batched

_PTH_EXEC_LINE = re.compile(r"^import[ \t]")
_BRACKETS = re.compile(r"[()\[\]{}]")
SNIPPET_CHARS = 200
# CPython's tree is built for the tree screens only when at most this many rules are left after the text screens.
# Measured on Django and the standard library: with up to five, every tree screen fails for 15-85% of the lines
# (sparing libcst's parse); with six or more, for 0-10%, and building the tree then costs more than it saves.
TREE_SCREENS_UP_TO = 5


@dataclass(frozen=True)
class Decoded:
    text: str | None
    notifications: tuple[Notification, ...] = ()


def decode(path: str, data: bytes, kind: str) -> Decoded:
    """Bytes -> text: BOM, PEP 263 cookie for Python, UTF-8 otherwise; damage is said, not hidden."""
    notes: list[Notification] = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not data.startswith(codecs.BOM_UTF32_LE):
        try:
            return Decoded(data.decode("utf-16").replace("\r\n", "\n"))
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        if looks_binary(data):
            return Decoded(None, (Notification(path, "binary", "looks binary or compiled (magic number or control "
                                               "bytes), not scanned", Level.WARNING),))
        notes.append(Notification(path, "nul-bytes", f"file holds {data.count(0):,} NUL byte(s) (Python refuses to run "
                                  "it as is); scanned with them removed"))
        data = data.replace(b"\x00", b"")
    encoding = "utf-8"
    if kind in ("python", "pth"):
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except (SyntaxError, LookupError) as exc:
            notes.append(Notification(path, "encoding", f"bad coding declaration ({exc}); read as UTF-8"))
            encoding = "utf-8"
    if encoding == "utf-8-sig" or data.startswith(codecs.BOM_UTF8):
        data = data.removeprefix(codecs.BOM_UTF8)
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except (UnicodeError, LookupError, ValueError, TypeError) as exc:
        text = data.decode("utf-8", errors="replace")
        notes.append(Notification(path, "encoding", f"not valid {encoding} ({exc}); undecodable bytes replaced"))
    return Decoded(text, tuple(notes))


_BINARY_MAGIC = (b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe",
                 b"PK\x03\x04", b"\x1f\x8b", b"\xfd7zXZ", b"BZh", b"\x00asm", b"!<arch>")
_CONTROL_BYTES = bytes(range(0, 9)) + bytes(range(14, 27)) + bytes(range(28, 32))


def looks_binary(data: bytes) -> bool:
    """Compiled or binary content (ELF/PE/Mach-O/archive magic, a .pyc header, or >10% control bytes)."""
    head = data[:8192]
    if head.startswith(_BINARY_MAGIC) or (head[2:4] == b"\r\n" and b"\x00" in head[4:16]):
        return True
    return len(head) - len(head.translate(None, _CONTROL_BYTES)) > len(head) // 10


def python_view(text: str, kind: str) -> str:
    """The Python the interpreter would run: the file itself, or a .pth file's `import` lines in place."""
    if kind != "pth":
        return text
    return "".join(line if _PTH_EXEC_LINE.match(line) else "\n" for line in text.splitlines(keepends=True))


def _too_deep(text: str, limit: int) -> bool:
    depth = peak = 0
    for m in _BRACKETS.finditer(text):
        depth += 1 if m.group() in "([{" else -1
        peak = max(peak, depth)
        if peak > limit:
            return True
    return False


class _Lines:
    """Offset <-> line lookups over one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n?|\n", text)]  # as Python counts lines

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line(self, number: int) -> str:
        if number < 1 or number > len(self.starts):
            return ""
        start = self.starts[number - 1]
        end = self.starts[number] if number < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")


def _run_text_rules(context: FileContext, rules: Iterable[type[RuleMeta]]) -> list[Notification]:
    problems = []
    for rule in rules:
        try:
            rule(context).run()  # type: ignore[attr-defined]
        except Exception as exc:  # a broken rule must not cost the other rules their findings
            context.reports[:] = [r for r in context.reports if r.rule is not rule]
            problems.append(_rule_failure(context.path, rule, exc))
    return problems


def _tree_screen(rule: type[Rule], tree: Any, source: str) -> bool:
    try:
        return rule.triggered_by_tree(tree, source)
    except (Exception, RecursionError):  # a screen that cannot tell lets the rule run
        return True


def _rule_failure(path: str, rule: type[RuleMeta], exc: Exception) -> Notification:
    return Notification(path, "rule-error", f"rule {rule.code} ({rule.name}) failed: {type(exc).__name__}: {exc}",
                        Level.ERROR, rule=rule.code)


def _run_cst_rules(context: FileContext, rules: list[type[RuleMeta]]) -> list[Notification]:
    assert context.module is not None
    before = len(context.reports)
    try:
        walk_batched(context.module, [rule(context) for rule in rules])
        return []
    except RecursionError:
        del context.reports[before:]
        return [Notification(context.path, "too-deep", "syntax tree too deep to visit; Python rules skipped")]
    except Exception:
        del context.reports[before:]
    problems = []
    for rule in rules:  # find the failing rule(s) and keep what the others found
        mark = len(context.reports)
        try:
            walk_batched(context.module, [rule(context)])
        except Exception as exc:
            del context.reports[mark:]
            problems.append(_rule_failure(context.path, rule, exc))
    return problems


def analyze(path: str, text: str, kind: str, rules: RuleSet, config: Config, depth: int = 0
            ) -> tuple[list[Report], list[Notification], cst.Module | None]:
    """Run the rules over decoded text; reports still carry nodes of the returned module."""
    context = FileContext(path, text, kind, config.rule_options, depth=depth, limits=config.limits,
                          egress_allow=config.egress_allow)
    context.scan_nested = lambda source, anchor, how: _scan_nested(context, source, anchor, how, rules, config)
    try:  # (the context refers to itself through that function and the rules' caches: `release` breaks the cycles)
        notes: list[Notification] = []
        text_rules = [r for r in rules.rules if issubclass(r, TextRule) and kind in r.file_kinds and r.applies_to(path, text)]
        notes += _run_text_rules(context, text_rules)
        source = python_view(text, kind)
        cst_rules = [r for r in rules.rules if issubclass(r, Rule) and kind in r.file_kinds + (("pth",) if "python" in r.file_kinds else ())
                     and r.applies_to(path, source)]
        module = None
        tree = None
        # (within the reduced scan's ast budget: a token is at least a character)
        if 0 < len(cst_rules) <= TREE_SCREENS_UP_TO and all(r.screens_tree() for r in cst_rules) and (
                source.strip() and len(source) <= config.limits.max_fallback_ast_tokens):
            tree = fallback.quiet_ast(source)  # (None when CPython cannot parse it: then libcst decides)
            if tree is not None:
                cst_rules = [r for r in cst_rules if _tree_screen(r, tree, source)]
        if cst_rules and source.strip():
            # libcst is recursive: shapes it cannot take (or takes quadratic time or crashes on) get the reduced scan
            reason = (("too-deep", f"brackets nest deeper than limits.max-parse-depth ({config.limits.max_parse_depth})")
                      if _too_deep(source, config.limits.max_parse_depth) else fallback.obstacle(source, config.limits))
            if reason is None:
                try:
                    module = parse_python(source)
                except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError) as exc:
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    reason = ("parse-error", f"cannot parse as Python with libcst ({first})")
            if module is not None:
                context.module = module
                problems = _run_cst_rules(context, cst_rules)
                if any(n.kind == "too-deep" for n in problems):
                    problems = [n for n in problems if n.kind != "too-deep"]
                    module = context.module = None
                    reason = ("too-deep", "syntax tree too deep for libcst to visit")
                notes += problems
            if reason is not None:
                notes += fallback.run(context, cst_rules, source, reason, config.limits, tree)
        notes += [Notification(path, k, m) for k, m in context.notes]
        return context.reports, notes, module
    finally:
        context.release()


def _scan_nested(outer: FileContext, source: str, anchor: cst.CSTNode, how: str, rules: RuleSet, config: Config) -> int:
    """Scan a decoded payload as Python; its findings are reported at `anchor` in the outer file."""
    if outer.depth >= config.limits.max_nested_depth:
        outer.note("nested-depth", f"decoded payload ({how}) not scanned: limits.max-nested-depth "
                   f"({config.limits.max_nested_depth}) reached")
        return 0
    reports, notes, module = analyze(outer.path, source, "python", rules, config, outer.depth + 1)
    lines = _Lines(source)
    positions = _positions(module, reports)
    for r in reports:
        line = _locate(r, lines, positions)[0]
        snippet = inert(lines.line(line).strip())[:80]
        outer.reports.append(Report(r.rule, f"{r.message} [inside payload decoded from {how}, payload line {line}: "
                                    f"`{snippet}`]", node=anchor, severity=r.severity, confidence=r.confidence,
                                    secrets=r.secrets, nested_from=how, fallback=r.fallback))
    outer.notes.extend((n.kind, f"in payload decoded from {how}: {n.message}") for n in notes)
    return len(reports)


def _positions(module: cst.Module | None, reports: list[Report]):
    wanted = [n for r in reports for n in (r.node, *(step for step, _ in r.flow)) if isinstance(n, cst.CSTNode)]
    return node_positions(module, wanted) if module is not None and wanted else None


def _locate(target: Report | object, lines: _Lines, positions) -> tuple[int, int, int, int]:
    node = target.node if isinstance(target, Report) else target
    span = target.span if isinstance(target, Report) else (target if isinstance(target, tuple) else None)
    if isinstance(node, cst.CSTNode) and positions is not None and node in positions:
        rng = positions[node]
        return rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1
    if span is not None:
        (l1, c1), (l2, c2) = lines.position(span[0]), lines.position(span[1])
        return l1, c1, l2, c2
    return 1, 1, 1, 1


def to_findings(path: str, text: str, reports: list[Report], module: cst.Module | None) -> list[Finding]:
    lines = _Lines(text)  # a .pth file's Python view keeps its line numbers
    positions = _positions(module, reports)
    found: dict[tuple, Finding] = {}
    # Every secret of the file is hidden in every text: a line may hold another finding's secret too.
    file_secrets = tuple(sorted({s for r in reports for s in r.secrets}))
    for r in reports:
        l1, c1, l2, c2 = _locate(r, lines, positions)
        rule = r.rule
        secrets = file_secrets
        snippet = inert(redact_all(lines.line(l1), secrets).strip())[:SNIPPET_CHARS]
        flow = tuple(FlowStep(Location(path, *_locate(step, lines, positions)), inert(redact_all(msg, secrets)))
                     for step, msg in r.flow)
        finding = Finding(
            rule=rule.code, name=rule.name, category=rule.category,
            severity=r.severity or rule.severity, confidence=r.confidence or rule.confidence,
            message=inert(redact_all(r.message, secrets)), location=Location(path, l1, c1, l2, c2),
            snippet=snippet, flow=flow, secret_hashes=tuple(sorted({secret_hash(s) for s in r.secrets})),
            fallback=r.fallback,
        )
        key = (finding.rule, l1, c1, finding.message)
        if key not in found or found[key].severity < finding.severity:
            found[key] = finding
    return sorted(found.values(), key=Finding.sort_key)


class _OutOfTime(BaseException):
    """Raised by the alarm in the middle of a file's scan (a BaseException, so no rule's handler swallows it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise _OutOfTime


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Interrupt the scan after `seconds` of wall time, where the platform has interval timers (main thread only)."""
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection during one file's scan. A parse allocates up to a million nodes that form no
    cycles (reference counting frees them); collector passes over them cost a tenth of the scan. Any cycles the
    file leaves are collected after it, when the collector is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan_file(path: str, data: bytes, rules: RuleSet, config: Config) -> FileResult:
    """The per-file scan: a pure function of (path, bytes, rules, config); never raises (a failure is a notification).
    The one impurity is the time limit: a file over `limits.max-file-seconds` gets a `timeout` notification."""
    try:
        with _collector_paused(), _time_limit(config.limits.max_file_seconds):
            return _scan_file(path, data, rules, config)
    except _OutOfTime:
        return FileResult(path, notifications=(Notification(
            path, "timeout", f"scan stopped after limits.max-file-seconds ({config.limits.max_file_seconds} s); "
            "file not scanned", Level.WARNING),))
    except (Exception, RecursionError, MemoryError) as exc:  # last resort: one hostile file must not end the scan
        return FileResult(path, notifications=(Notification(
            path, "internal-error", f"scan failed: {type(exc).__name__}: {str(exc)[:200]}; file not scanned",
            Level.ERROR),))


def _scan_file(path: str, data: bytes, rules: RuleSet, config: Config) -> FileResult:
    kind = file_kind(path)
    if kind is None:
        return FileResult(path)
    if len(data) > config.limits.max_file_bytes:
        return FileResult(path, notifications=(Notification(
            path, "too-large", f"file is {len(data):,} bytes, over limits.max-file-bytes "
            f"({config.limits.max_file_bytes:,}); not scanned"),))
    decoded = decode(path, data, kind)
    if decoded.text is None:
        return FileResult(path, notifications=decoded.notifications)
    text = decoded.text
    reports, notes, module = analyze(path, text, kind, rules, config)
    findings = to_findings(path, text, reports, module)
    if config.inline_ignores:  # `# datasec: ignore[...] -- reason`, per whole statement (suppress.py)
        from .suppress import apply_inline

        findings, ignore_notes = apply_inline(path, text, kind, findings,
                                              [i for r in rules.rules for i in (r.code, r.name)])
        notes = list(notes) + ignore_notes
    return FileResult(path, tuple(findings), tuple(sorted(decoded.notifications + tuple(notes), key=Notification.sort_key)),
                      lines=text.count("\n") + 1)
