"""SARIF 2.1.0 report for GitHub code scanning, built with sarif-om and serialized to deterministic JSON."""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import attr
import sarif_om as om

from ..model import Confidence, Finding, FlowStep, Level, Location, Notification, RuleInfo, ScanResult, Severity
from . import package_verdicts

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "datasec-scan"
INFORMATION_URI = "https://pypi.org/project/datasec-scan/"
DEFAULT_CATEGORY = "datasec-scan/"
SRCROOT = "%SRCROOT%"
SUPPRESSED_CHOICES = ("include", "omit")
LIMIT_NOTE = "sarif-limit"  # notification kind of the reporter's own degradation notes

LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0"}
PROBLEM_SEVERITY = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
                    Severity.LOW: "recommendation"}
PRECISION = {Confidence.HIGH: "high", Confidence.MEDIUM: "medium", Confidence.LOW: "low"}
SUPPRESSION_KIND = {"inline": "inSource", "baseline": "external"}


@dataclass(frozen=True)
class Limits:
    """GitHub code scanning's limits (hard ones unless noted); see docs/github-code-scanning.md."""

    max_results: int = 25_000  # results per run (hard)
    stored_results: int = 5_000  # results GitHub stores per run (soft): past it, most severe results go first
    max_flow_steps: int = 1_000  # thread flow locations shown per result (hard limit 10,000)
    max_tags: int = 20  # tags per rule (only the first 10 are shown)
    max_description: int = 1_024  # characters of shortDescription / fullDescription
    max_gzip_bytes: int = 10_000_000  # gzip-compressed upload size


# --- primaryLocationLineHash, as github/codeql-action computes it (src/fingerprints.ts) -----------------------

_BLOCK = 100
_MASK = (1 << 64) - 1
_MULT = 37
_FIRST_MOD = pow(_MULT, _BLOCK, 1 << 64)
_TAB, _SPACE, _LF, _CR, _EOF = 9, 32, 10, 13, 65535


def _utf16_units(text: str) -> Iterable[int]:
    """The UTF-16 code units a JavaScript string of `text` holds (what `charCodeAt` walks)."""
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            yield 0xD800 + (cp >> 10)
            yield 0xDC00 + (cp & 0x3FF)
        else:
            yield cp


def hash_lines(content: bytes | str) -> dict[int, str]:
    """`primaryLocationLineHash` of every line (1-based) of a file's contents.

    Each line's value hashes the next 100 characters from the line's first character, spaces and tabs
    left out, CR and CRLF read as LF, an end-of-file mark and zero padding after the last character; the
    hash is a polynomial rolling hash (multiplier 37) in unsigned 64-bit arithmetic, written in lowercase
    hex, followed by `:n` for its n-th occurrence in the file. Bytes are read as UTF-8 with undecodable
    bytes replaced, and counted in UTF-16 code units, as the upload action reads them.
    """
    text = content.decode("utf-8", "replace") if isinstance(content, (bytes, bytearray)) else content
    window = [0] * _BLOCK
    starts = [-1] * _BLOCK  # line number whose first character sits at this window slot, or -1
    counts: dict[str, int] = {}
    out: dict[int, str] = {}
    value, index, line, line_start, prev_cr = 0, 0, 0, True, False

    def feed(units: Iterable[int]) -> None:
        nonlocal value, index, line, line_start, prev_cr
        for c in units:
            if c == _SPACE or c == _TAB or (prev_cr and c == _LF):
                prev_cr = False
                continue
            if c == _CR:
                c, prev_cr = _LF, True
            else:
                prev_cr = False
            if starts[index] != -1:  # the window now holds the 100 characters from that line's start
                key = format(value, "x")
                counts[key] = counts.get(key, 0) + 1
                out[starts[index]] = f"{key}:{counts[key]}"
                starts[index] = -1
            if line_start:
                line_start = False
                line += 1
                starts[index] = line
            if c == _LF:
                line_start = True
            value = (value * _MULT + c - _FIRST_MOD * window[index]) & _MASK
            window[index] = c
            index = (index + 1) % _BLOCK

    feed(_utf16_units(text))
    feed((_EOF,))
    for _ in range(_BLOCK):  # flush: pad with zeros until every pending line start has its full window
        if starts[index] != -1:
            key = format(value, "x")
            counts[key] = counts.get(key, 0) + 1
            out[starts[index]] = f"{key}:{counts[key]}"
            starts[index] = -1
        value = (value * _MULT - _FIRST_MOD * window[index]) & _MASK
        window[index] = 0
        index = (index + 1) % _BLOCK
    return out


# --- serialization -------------------------------------------------------------------------------------------

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_KEEP_DEFAULT = {"level"}  # a result's level defaults to its rule's, so an explicit "warning" must stay


def _clean(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, SARIF property name, default to leave out or _NO_DEFAULT) of a sarif-om class."""
    out = []
    for a in attr.fields(cls):
        default = a.default
        if isinstance(default, attr.Factory):  # type: ignore[arg-type]
            default = default.factory()
        if default is attr.NOTHING or default is None or a.name in _KEEP_DEFAULT:
            default = _NO_DEFAULT
        out.append((a.name, a.metadata["schema_property_name"], default))
    return tuple(out)


_NO_DEFAULT = object()


def to_json(obj: Any) -> Any:
    """sarif-om objects (attrs classes) to plain JSON data under their SARIF names; None and defaults left out."""
    kind = type(obj)
    if kind is str:
        return _clean(obj)
    if kind is list or kind is tuple:
        return [to_json(v) for v in obj]
    if kind is dict:
        return {_clean(str(k)): to_json(v) for k, v in obj.items() if v is not None}
    if kind is bool or kind is int or kind is float:
        return obj
    if not attr.has(kind):  # str/int subclasses (enums) and anything else JSON knows
        return _clean(str(obj)) if isinstance(obj, str) else obj
    out = {}
    for name, key, default in _fields(kind):
        value = getattr(obj, name)
        if value is None or (default is not _NO_DEFAULT and value == default and type(value) is type(default)):
            continue
        out[key] = to_json(value)
    return out


def dumps(log: om.SarifLog) -> str:
    return json.dumps(to_json(log), sort_keys=True, ensure_ascii=True, separators=(",", ":")) + "\n"


# --- pieces --------------------------------------------------------------------------------------------------

_URI_SAFE = "/!$&'()*+,;=@-._~"  # RFC 3986 pchar minus ':' (a colon in a first segment would read as a scheme)
_DRIVE = re.compile(r"^[A-Za-z]:/")


@functools.lru_cache(maxsize=4096)
def _quote(path: str) -> str:
    try:
        return quote(path, safe=_URI_SAFE, errors="surrogateescape")  # undecodable file-name bytes as themselves
    except UnicodeEncodeError:
        return quote(path, safe=_URI_SAFE, errors="surrogatepass")


def artifact_location(path: str) -> om.ArtifactLocation:
    """Repo-relative POSIX paths against %SRCROOT%; absolute paths as file URIs."""
    if path.startswith("/"):
        return om.ArtifactLocation(uri="file://" + _quote(path))
    if _DRIVE.match(path):
        return om.ArtifactLocation(uri="file:///" + path[:2] + _quote(path[2:]))
    rel = path.removeprefix("./")
    return om.ArtifactLocation(uri=_quote(rel), uri_base_id=SRCROOT)


def root_uri(root: str) -> str:
    absolute = os.path.abspath(root).replace(os.sep, "/")
    if _DRIVE.match(absolute):
        uri = "file:///" + absolute[:2] + _quote(absolute[2:])
    else:
        uri = "file://" + _quote(absolute)
    return uri if uri.endswith("/") else uri + "/"


def region(loc: Location, snippet: str = "") -> om.Region | None:
    if loc.line < 1:
        return None
    reg = om.Region(start_line=loc.line)
    if loc.column >= 1:
        reg.start_column = loc.column
    if loc.end_line >= 1 and (loc.end_line, loc.end_column) >= (loc.line, loc.column):
        reg.end_line = loc.end_line
        if loc.end_column >= 1 and (loc.end_line > loc.line or loc.end_column >= max(loc.column, 1)):
            reg.end_column = loc.end_column
    if snippet:
        reg.snippet = om.ArtifactContent(text=snippet)
    return reg


def physical(loc: Location, snippet: str = "") -> om.Location:
    return om.Location(physical_location=om.PhysicalLocation(artifact_location=artifact_location(loc.path),
                                                             region=region(loc, snippet)))


def truncate(text: str, limit: int) -> str:
    """At most `limit` UTF-16 code units (as GitHub counts), cut at a word boundary with an ellipsis."""
    if sum(2 if ord(c) > 0xFFFF else 1 for c in text) <= limit:
        return text
    cut = text[: limit - 1]
    while sum(2 if ord(c) > 0xFFFF else 1 for c in cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"


_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def doc_sections(doc: str) -> dict[str, str]:
    """Markdown sections by lowercased heading; `#` lines inside fenced code blocks are code, not headings."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in doc.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading:
            current = sections.setdefault(heading.group(1).lower(), [])
        elif current is not None:
            current.append(line)
    return {k: "\n".join(v).strip() for k, v in sections.items()}


def full_description(info: RuleInfo) -> str:
    """The doc's "What it does" and "Why is this bad?" sections (the whole doc if it has no sections)."""
    sections = doc_sections(info.doc)
    parts = [sections[k] for k in ("what it does", "why is this bad?") if sections.get(k)]
    text = "\n\n".join(parts) if parts else info.doc.strip()
    return text or info.summary or info.code


def rule_tags(info: RuleInfo) -> list[str]:
    tags = ["security", info.category.value] + [f"external/cwe/cwe-{c}" for c in info.cwe]
    return list(dict.fromkeys(tags))  # unique, first occurrence kept


def descriptor(info: RuleInfo, limits: Limits, notes: list[Notification]) -> om.ReportingDescriptor:
    tags = rule_tags(info)
    if len(tags) > limits.max_tags:
        notes.append(Notification("", LIMIT_NOTE, f"rule {info.code} has {len(tags)} tags, over GitHub's limit of "
                                  f"{limits.max_tags}; the last {len(tags) - limits.max_tags} were left out",
                                  Level.WARNING, info.code))
        tags = tags[: limits.max_tags]
    doc = info.doc.strip() or info.summary or info.code
    return om.ReportingDescriptor(
        id=info.code,
        name=info.name,
        short_description=om.MultiformatMessageString(text=truncate(info.summary or info.name or info.code,
                                                                    limits.max_description)),
        full_description=om.MultiformatMessageString(text=truncate(full_description(info), limits.max_description)),
        help=om.MultiformatMessageString(text=doc, markdown=doc),
        default_configuration=om.ReportingConfiguration(level=LEVEL[info.severity]),
        properties={
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[info.severity],
            "precision": PRECISION[info.confidence],
            "problem.severity": PROBLEM_SEVERITY[info.severity],
        },
    )


def _info_from_finding(f: Finding) -> RuleInfo:
    """A descriptor for a finding whose rule is not in result.rules (results must reference a rule)."""
    return RuleInfo(f.rule, f.name, f.category, f.severity, f.confidence, (), (), f.name or f.rule, "", "cst", "")


def code_flow(steps: tuple[FlowStep, ...], limit: int) -> tuple[om.CodeFlow, int]:
    """One thread flow; over `limit` steps, the first ones and the last (the sink) are kept. Returns (flow, cut)."""
    cut = max(0, len(steps) - limit)
    kept = list(steps) if not cut else list(steps[: max(limit - 1, 0)]) + [steps[-1]]
    locations = []
    for i, step in enumerate(kept):
        message = step.message
        if cut and i == len(kept) - 1:
            message = f"[{cut} intermediate step(s) left out] {message}"
        loc = physical(step.location)
        loc.message = om.Message(text=message or "step")
        locations.append(om.ThreadFlowLocation(location=loc))
    return om.CodeFlow(thread_flows=[om.ThreadFlow(locations=locations)]), cut


def priority(f: Finding) -> tuple:
    """Sort key: active before suppressed, most severe and most confident first, then by place."""
    return (f.suppression is not None, -int(f.severity), -int(f.confidence), f.sort_key())


@dataclass
class _Plan:
    findings: list[Finding]
    compact: bool = False  # snippets and code flows left out (upload size)
    notes: list[Notification] = field(default_factory=list)


def _result(f: Finding, rule_index: dict[str, int], hashes: Callable[[str, int], str | None], limits: Limits,
            compact: bool, notes: list[Notification]) -> om.Result:
    res = om.Result(
        message=om.Message(text=f.message or f.name or f.rule),
        rule_id=f.rule,
        rule_index=rule_index[f.rule],
        level=LEVEL[f.severity],
        locations=[physical(f.location, "" if compact else f.snippet)],
        properties={"category": f.category.value, "confidence": f.confidence.label, "severity": f.severity.label,
                    "fallback": f.fallback},
    )
    fingerprint = hashes(f.location.path, f.location.line) if f.location.line >= 1 else None
    if fingerprint:
        res.partial_fingerprints = {"primaryLocationLineHash": fingerprint}
    if f.flow and not compact:
        flow, cut = code_flow(f.flow, limits.max_flow_steps)
        res.code_flows = [flow]
        if cut:
            notes.append(Notification(f.location.path, LIMIT_NOTE, f"line {f.location.line}: {f.rule} data path of "
                                      f"{len(f.flow)} steps shortened to {limits.max_flow_steps} (GitHub shows at "
                                      "most that many); the sink is kept", Level.NOTE, f.rule))
    if f.suppression is not None:
        res.suppressions = [om.Suppression(kind=SUPPRESSION_KIND.get(f.suppression.kind, "external"),
                                           justification=f.suppression.justification or None)]
    return res


def _notification(n: Notification, descriptors: dict[str, int], rule_index: dict[str, int]) -> om.Notification:
    note = om.Notification(
        message=om.Message(text=n.message or n.kind),
        level=n.level.value,
        descriptor=om.ReportingDescriptorReference(id=n.kind, index=descriptors[n.kind]),
    )
    if n.path:
        note.locations = [om.Location(physical_location=om.PhysicalLocation(
            artifact_location=artifact_location(n.path)))]
    if n.rule and n.rule in rule_index:
        note.associated_rule = om.ReportingDescriptorReference(id=n.rule, index=rule_index[n.rule])
    return note


def build(result: ScanResult, plan: _Plan, category: str, hashes: Callable[[str, int], str | None],
          limits: Limits, information_uri: str = INFORMATION_URI) -> om.SarifLog:
    notes: list[Notification] = list(plan.notes)
    infos: dict[str, RuleInfo] = {}
    for info in result.rules:
        infos.setdefault(info.code, info)
    for f in plan.findings:
        if f.rule not in infos:
            infos[f.rule] = _info_from_finding(f)
    codes = sorted(infos)
    rule_index = {code: i for i, code in enumerate(codes)}
    rules = [descriptor(infos[c], limits, notes) for c in codes]

    findings = plan.findings
    if len(findings) > limits.stored_results:  # GitHub keeps only so many: let the cut fall on the least severe
        findings = sorted(findings, key=priority)
    results = [_result(f, rule_index, hashes, limits, plan.compact, notes) for f in findings]

    all_notes = sorted(list(result.all_notifications) + notes, key=lambda n: (n.sort_key(), n.level.value,
                                                                              n.rule or ""))
    kinds = sorted({n.kind for n in all_notes})
    descriptors = {k: i for i, k in enumerate(kinds)}
    invocation = om.Invocation(
        execution_successful=not any(n.level == Level.ERROR for n in all_notes),
        tool_execution_notifications=[_notification(n, descriptors, rule_index) for n in all_notes] or None,
    )
    driver = om.ToolComponent(
        name=TOOL_NAME,
        version=result.tool_version,
        semantic_version=result.tool_version,
        information_uri=information_uri,
        rules=rules,
        notifications=[om.ReportingDescriptor(id=k) for k in kinds] or None,
    )
    run = om.Run(
        tool=om.Tool(driver=driver),
        results=results,
        invocations=[invocation],
        original_uri_base_ids={SRCROOT: om.ArtifactLocation(uri=root_uri(result.root))},
        column_kind="unicodeCodePoints",
    )
    if category:
        run.automation_details = om.RunAutomationDetails(id=category if category.endswith("/") else category + "/")
    verdicts = package_verdicts(result)  # archives / installed distributions: a verdict each, for gates
    if verdicts:
        run.properties = {"packages": [v.as_dict() for v in verdicts]}
    return om.SarifLog(version=SARIF_VERSION, schema_uri=SCHEMA_URI, runs=[run])


def _hasher(read_source: Callable[[str], bytes | None] | None,
            given: Mapping[tuple[str, int], str] | None) -> Callable[[str, int], str | None]:
    cache: dict[str, dict[int, str] | None] = {}

    def lookup(path: str, line: int) -> str | None:
        if given is not None and (path, line) in given:
            return given[(path, line)]
        if read_source is None:
            return None
        if path not in cache:
            try:
                data = read_source(path)
            except (OSError, ValueError):
                data = None
            cache[path] = None if data is None else hash_lines(data)
        table = cache[path]
        return None if table is None else table.get(line)

    return lookup


def _gzip_size(text: str) -> int:
    return len(gzip.compress(text.encode("ascii"), compresslevel=6, mtime=0))


def render(result: ScanResult, *, category: str = DEFAULT_CATEGORY, sarif_suppressed: str = "include",
           read_source: Callable[[str], bytes | None] | None = None,
           line_hashes: Mapping[tuple[str, int], str] | None = None, limits: Limits | None = None,
           information_uri: str = INFORMATION_URI, **_: object) -> str:
    """The SARIF log of a scan.

    category: runAutomationDetails.id ("" leaves it out, so upload-sarif's `category` input applies);
    sarif_suppressed: "include" (with SARIF `suppressions`) or "omit"; read_source(path) -> file bytes or
    None, used only for `primaryLocationLineHash` (or give `line_hashes[(path, line)]` directly);
    limits: GitHub's limits (tests lower them).
    """
    if sarif_suppressed not in SUPPRESSED_CHOICES:
        raise ValueError(f"sarif_suppressed must be one of {', '.join(SUPPRESSED_CHOICES)}, not {sarif_suppressed!r}")
    limits = limits or Limits()
    hashes = _hasher(read_source, line_hashes)
    findings = list(result.findings)
    if sarif_suppressed == "omit":
        findings = [f for f in findings if f.suppression is None]
    notes: list[Notification] = []
    if len(findings) > limits.stored_results:
        notes.append(Notification("", LIMIT_NOTE, f"{min(len(findings), limits.max_results)} results, over the "
                                  f"{limits.stored_results} GitHub code scanning stores per analysis: results are "
                                  "ordered most severe first", Level.WARNING))
    if len(findings) > limits.max_results:
        kept = sorted(sorted(findings, key=priority)[: limits.max_results], key=Finding.sort_key)
        notes.append(Notification("", LIMIT_NOTE, f"{len(findings)} results, over GitHub's limit of "
                                  f"{limits.max_results} per run: the {len(findings) - limits.max_results} least "
                                  "severe were left out of this SARIF file (the JSON report has them all)",
                                  Level.WARNING))
        findings = kept
    plan = _Plan(findings, notes=notes)
    text = dumps(build(result, plan, category, hashes, limits, information_uri))
    size = _gzip_size(text)
    if size <= limits.max_gzip_bytes:
        return text
    # Over the upload size: first leave out snippets and data-flow paths, then the least severe results.
    compact_note = Notification("", LIMIT_NOTE, f"report is {size} bytes gzip-compressed, over GitHub's upload "
                                f"limit of {limits.max_gzip_bytes}: code snippets and data-flow paths were left out",
                                Level.WARNING)
    plan = replace(plan, compact=True, notes=notes + [compact_note])
    text = dumps(build(result, plan, category, hashes, limits, information_uri))
    size = _gzip_size(text)
    ranked = sorted(findings, key=priority)
    keep = len(ranked)
    while size > limits.max_gzip_bytes and keep > 0:
        keep = min(keep - 1, int(keep * limits.max_gzip_bytes / size * 0.95))
        keep = max(keep, 0)
        cut_note = Notification("", LIMIT_NOTE, f"still over GitHub's upload limit of {limits.max_gzip_bytes} "
                                f"bytes gzip-compressed: only the {keep} most severe of {len(ranked)} results were "
                                "kept (the JSON report has them all)", Level.WARNING)
        plan = _Plan(sorted(ranked[:keep], key=Finding.sort_key), compact=True,
                     notes=notes + [compact_note, cut_note])
        text = dumps(build(result, plan, category, hashes, limits, information_uri))
        size = _gzip_size(text)
    return text
