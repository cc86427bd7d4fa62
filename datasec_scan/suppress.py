"""Accepting findings: inline `# datasec: ignore[DS201] -- reason` comments, per-path overrides, baselines."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import tokenize
import warnings
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

from .config import Config
from .model import CODE_PATTERN, FileResult, Finding, Level, Notification, Suppression
from .redact import inert

# --- inline ignores -------------------------------------------------------------------------------

PRESCREEN = re.compile(r"datasec\s*:\s*ignore", re.IGNORECASE)
_COMMENT = re.compile(r"#\s*datasec\s*:\s*ignore(?![\w-])(?P<rest>.*)$", re.IGNORECASE)
_WELL_FORMED = re.compile(r"^\[(?P<ids>[^\]]*)\]\s*--\s*(?P<reason>\S.*?)\s*$")
_RULE_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SYNTAX = "`# datasec: ignore[DS201] -- reason`"


@dataclass(frozen=True)
class InlineIgnore:
    """One ignore comment: its line, the lines it covers, the rule ids and the reason (or what is wrong)."""

    line: int
    start: int
    end: int
    ids: tuple[str, ...] = ()
    reason: str = ""
    problem: str = ""


def _lines(text: str) -> list[str]:
    """Lines as Python (and the engine) count them: only CR, LF and CRLF end a line, not FF or U+2028."""
    return text.split("\n")


def _comments_python(text: str) -> list[tuple[int, str, bool]] | None:
    """(line, comment text, stands alone on its line) for each comment; None when tokenize fails."""
    found = []
    lines = _lines(text)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                row, col = tok.start
                before = lines[row - 1][:col] if row - 1 < len(lines) else ""
                found.append((row, tok.string, not before.strip()))
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError):
        return None
    return found


def _comments_lines(text: str) -> list[tuple[int, str, bool]]:
    """Comments found line by line (config files, or Python that does not tokenize)."""
    found = []
    for row, line in enumerate(_lines(text), start=1):
        m = _COMMENT.search(line)
        if m:
            found.append((row, line[m.start():], not line[:m.start()].strip()))
    return found


def statement_spans(text: str) -> list[tuple[int, int]] | None:
    """Line spans of every statement (a compound statement's header only); None when `ast` cannot parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `1if x else y` warns: the scanned code's business, not the user's stderr
            tree = ast.parse(text)
        nodes = list(ast.walk(tree))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    spans = []
    for node in nodes:
        if not isinstance(node, ast.stmt):
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        body = getattr(node, "body", None)
        if isinstance(node, ast.Match):
            end = node.subject.end_lineno or node.lineno
        elif isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            end = max(node.lineno, body[0].lineno - 1)
        else:
            end = node.end_lineno or node.lineno
        spans.append((start, end))
    return spans


def _scope(target: int, spans: list[tuple[int, int]] | None) -> tuple[int, int]:
    if not spans:
        return target, target
    holding = [s for s in spans if s[0] <= target <= s[1]]
    if not holding:
        return target, target
    return min(holding, key=lambda s: (s[1] - s[0], -s[0]))


def _next_code_line(lines: list[str], after: int) -> int:
    for row in range(after + 1, len(lines) + 1):
        stripped = lines[row - 1].strip()
        if stripped and not stripped.startswith("#"):
            return row
    return after


def parse_ignores(text: str, kind: str) -> list[InlineIgnore]:
    """Every `# datasec: ignore` comment of a file with the statement lines it covers."""
    if not PRESCREEN.search(text):
        return []
    text = re.sub(r"\r\n?", "\n", text)  # line numbers as the engine counts them
    comments = _comments_python(text) if kind == "python" else None
    spans = statement_spans(text) if comments is not None else None
    if comments is None:
        comments = _comments_lines(text)
    lines = _lines(text)
    found = []
    for row, comment, alone in comments:
        m = _COMMENT.search(comment)
        if m is None:
            continue
        target = _next_code_line(lines, row) if alone else row
        start, end = _scope(target, spans)
        if alone:
            start = min(start, row)
        rest = m.group("rest").strip()
        well = _WELL_FORMED.match(rest)
        if well is None:
            found.append(InlineIgnore(row, start, end, problem=(
                "needs rule ids and a reason" if not rest.startswith("[") else
                "needs a reason after ` -- `" if "]" in rest else "has no closing `]`")))
            continue
        ids = tuple(i.strip() for i in well.group("ids").split(",") if i.strip())
        bad = [i for i in ids if not (CODE_PATTERN.match(i) or _RULE_NAME.match(i))]
        if not ids or bad:
            what = "names no rule" if not ids else "names no rule id: " + ", ".join(repr(b) for b in bad)
            found.append(InlineIgnore(row, start, end, problem=what))
            continue
        found.append(InlineIgnore(row, start, end, ids, well.group("reason")))
    return found


def apply_inline(path: str, text: str, kind: str, findings: Iterable[Finding],
                 known: Iterable[str] = ()) -> tuple[list[Finding], list[Notification]]:
    """Mark findings covered by a well-formed ignore as suppressed; report malformed and unused ignores.

    `known` holds the codes and names of the rules that ran: an ignore naming one of them that
    suppresses nothing is reported as unused (ignores of rules that did not run are left alone).
    """
    findings = list(findings)
    ignores = parse_ignores(text, kind)
    if not ignores:
        return findings, []
    used: set[tuple[int, str]] = set()
    out = []
    for f in findings:
        if f.suppression is None:
            for ig in ignores:
                if ig.problem or not ig.start <= f.location.line <= ig.end:
                    continue
                hit = next((i for i in ig.ids if i in (f.rule, f.name)), None)
                if hit is not None:
                    used.add((ig.line, hit))
                    f = replace(f, suppression=Suppression("inline", inert(ig.reason)))
                    break
        out.append(f)
    known_ids = set(known)
    notes = []
    for ig in ignores:
        if ig.problem:
            notes.append(Notification(path, "bad-ignore", f"line {ig.line}: ignore comment {ig.problem}; "
                                      f"write {SYNTAX}; nothing suppressed", Level.WARNING))
            continue
        for i in ig.ids:
            if (ig.line, i) not in used and i in known_ids:
                notes.append(Notification(path, "unused-ignore", f"line {ig.line}: ignore of {i} suppresses "
                                          "nothing; remove it", Level.WARNING))
    return out, notes


# --- per-path overrides ----------------------------------------------------------------------------


def apply_overrides(files: Iterable[FileResult], config: Config, cwd: Path | None = None) -> tuple[FileResult, ...]:
    """Drop findings of rules that an `[[overrides]]` entry turns off for their file."""
    if not config.overrides:
        return tuple(files)
    out = []
    for fr in files:
        kept = tuple(f for f in fr.findings if not config.ignored_here(f.rule, f.name, f.location.path, cwd))
        out.append(fr if len(kept) == len(fr.findings) else replace(fr, findings=kept))
    return tuple(out)


# --- baseline --------------------------------------------------------------------------------------

BASELINE_VERSION = 1


class BaselineError(Exception):
    """The baseline file cannot be read or is not a datasec-scan baseline; the CLI exits 2."""


@dataclass(frozen=True, order=True)
class BaselineEntry:
    """An accepted finding: no line numbers, no timestamps, no secret values."""

    path: str
    rule: str
    fingerprint: str
    occurrence: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rule": self.rule, "fingerprint": self.fingerprint, "occurrence": self.occurrence}


def fingerprint(f: Finding) -> str:
    """Hash of the rule, the whitespace-collapsed (already redacted) code line and the secrets' hashes."""
    code = " ".join(f.snippet.split())
    text = "\0".join([f.rule, code, ",".join(sorted(f.secret_hashes))])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def baseline_path(display: str, base: Path, cwd: Path | None = None) -> str:
    """A finding's path relative to the baseline file's folder, so a baseline works from any folder."""
    full = os.path.normpath(os.path.join(os.path.abspath(cwd or Path.cwd()), display))
    try:
        return Path(os.path.relpath(full, os.path.abspath(base))).as_posix()
    except ValueError:  # another drive on Windows
        return Path(full).as_posix()


def keyed(files: Iterable[FileResult], base: Path, cwd: Path | None = None) -> list[tuple[Finding, BaselineEntry]]:
    """Each finding with its baseline entry; equal lines get occurrence 0, 1, ... in file order."""
    out = []
    for fr in files:
        seen: dict[tuple[str, str], int] = defaultdict(int)
        for f in sorted(fr.findings, key=Finding.sort_key):
            fp = fingerprint(f)
            n = seen[(f.rule, fp)]
            seen[(f.rule, fp)] += 1
            out.append((f, BaselineEntry(baseline_path(f.location.path, base, cwd), f.rule, fp, n)))
    return out


def dump_baseline(entries: Iterable[BaselineEntry]) -> str:
    data = {"tool": "datasec-scan", "version": BASELINE_VERSION,
            "entries": [e.to_dict() for e in sorted(set(entries))]}
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def load_baseline(file: Path) -> list[BaselineEntry]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"{file}: cannot read baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("tool") != "datasec-scan" or not isinstance(data.get("entries"), list):
        raise BaselineError(f"{file}: not a datasec-scan baseline (expected {{\"tool\": \"datasec-scan\", "
                            "\"entries\": [...]}})")
    if data.get("version") != BASELINE_VERSION:
        raise BaselineError(f"{file}: baseline version {data.get('version')!r} is not supported "
                            f"(this datasec-scan writes version {BASELINE_VERSION})")
    entries = []
    for n, e in enumerate(data["entries"]):
        try:
            entry = BaselineEntry(str(e["path"]), str(e["rule"]), str(e["fingerprint"]), int(e.get("occurrence", 0)))
        except (KeyError, TypeError, ValueError):
            raise BaselineError(f"{file}: entry {n} needs path, rule, fingerprint and occurrence") from None
        entries.append(entry)
    return entries


def create_entries(files: Iterable[FileResult], base: Path, cwd: Path | None = None) -> list[BaselineEntry]:
    """Entries for every active (not inline-suppressed) finding."""
    return sorted({e for f, e in keyed(files, base, cwd) if f.suppression is None})


def apply_baseline(files: Iterable[FileResult], entries: Iterable[BaselineEntry], file: Path,
                   cwd: Path | None = None) -> tuple[tuple[FileResult, ...], set[BaselineEntry]]:
    """Mark active findings listed in the baseline as suppressed; also return the entries that matched."""
    wanted = set(entries)
    base = file.parent
    used: set[BaselineEntry] = set()
    out = []
    for fr in files:
        pairs = keyed([fr], base, cwd)
        marked = {}
        for f, e in pairs:
            if f.suppression is None and e in wanted:
                used.add(e)
                marked[id(f)] = replace(f, suppression=Suppression("baseline", f"accepted in baseline {file.name}"))
        if marked:
            fr = replace(fr, findings=tuple(sorted((marked.get(id(f), f) for f in fr.findings), key=Finding.sort_key)))
        out.append(fr)
    return tuple(out), used


def stale_entries(entries: Iterable[BaselineEntry], used: set[BaselineEntry], scanned: Iterable[str],
                  targets: Iterable[Path], file: Path, cwd: Path | None = None) -> list[BaselineEntry]:
    """Entries that no longer match: their file was scanned and lacks the finding, or it is gone."""
    base = file.parent
    scanned_rel = {baseline_path(p, base, cwd) for p in scanned}
    roots = [os.path.abspath(os.path.join(cwd or Path.cwd(), t)) for t in targets]
    stale = []
    for e in entries:
        if e in used:
            continue
        full = os.path.normpath(os.path.join(os.path.abspath(base), e.path))
        under = any(full == r or full.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
        if e.path in scanned_rel or (under and not os.path.exists(full)):
            stale.append(e)
    return sorted(stale)
