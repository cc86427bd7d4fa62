"""The rule plugin API: CST rules (libcst visitors), text rules, their metadata, examples and per-file context."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Mapping

from .lazycst import cst

from .model import CODE_PATTERN, ArchiveView, Category, Confidence, MemberInfo, RuleInfo, Severity  # noqa: F401  (MemberInfo: re-exported for rule packs)

if TYPE_CHECKING:  # pragma: no cover
    from .semantics.dataflow import FlowAnalysis
    from .semantics.names import NameResolver

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "How to fix", "References")


@dataclass(frozen=True)
class Example:
    """A code example for a rule; `path` lets an example pretend to be `setup.py`, `x.pth`, `.env`;
    `egress_allow` scans it as if `[tool.datasec-scan.egress] allow` listed those destinations."""

    code: str
    path: str = "example.py"
    egress_allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """What a rule says before the engine has positions: the node (or text span) and the message."""

    rule: type["RuleMeta"]
    message: str
    node: cst.CSTNode | None = None
    span: tuple[int, int] | None = None  # character offsets into the file text
    severity: Severity | None = None
    confidence: Confidence | None = None
    flow: tuple[tuple[Any, str], ...] = ()  # (node or span, message)
    secrets: tuple[str, ...] = ()
    nested_from: str | None = None  # set when found inside a decoded payload
    fallback: bool = False  # made by a rule's `fallback` hook in a reduced scan (libcst could not parse)


class FileContext:
    """Everything a rule may know about the file it is visiting; semantic analyses are computed lazily."""

    def __init__(
        self,
        path: str,
        text: str,
        kind: str,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        module: cst.Module | None = None,
        depth: int = 0,
        limits: Any = None,
        egress_allow: tuple[str, ...] = (),
    ) -> None:
        self.path = path
        self.egress_allow = egress_allow  # [tool.datasec-scan.egress] allow: disclosed destinations
        self.text = text
        self.kind = kind
        self.module = module
        self.depth = depth
        self.limits = limits
        self.reports: list[Report] = []
        self.notes: list[tuple[str, str]] = []  # (kind, message) the engine turns into notifications
        self._options = options or {}
        # Set by the engine: scan decoded text as Python, report its findings at the anchor node.
        self.scan_nested: Callable[[str, cst.CSTNode, str], int] = lambda source, anchor, how: 0

    def options_for(self, rule: type["RuleMeta"]) -> Mapping[str, Any]:
        return self._options.get(rule.code, {})

    @property
    def filename(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!/", 1)[-1]

    @cached_property
    def names(self) -> "NameResolver":
        from .semantics.names import NameResolver

        assert self.module is not None, "name resolution needs a parsed module"
        return NameResolver(self.module, self.text)

    @cached_property
    def flow(self) -> "FlowAnalysis":
        from .semantics.dataflow import FlowAnalysis

        assert self.module is not None, "data flow needs a parsed module"
        return FlowAnalysis(self.module, self.names)

    def note(self, kind: str, message: str) -> None:
        self.notes.append((kind, message))

    def release(self) -> None:
        """Forget everything but the reports and notes once the rules are done. Helpers cache analyses on the
        context that refer back to it; such a cycle would keep the whole syntax tree alive until the cyclic
        collector's next pass, which then costs about 6% of a scan."""
        reports, notes = self.reports, self.notes
        self.__dict__.clear()
        self.reports, self.notes = reports, notes


class RuleMeta:
    """Metadata every rule carries; subclasses set the class attributes."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    category: ClassVar[Category]
    severity: ClassVar[Severity] = Severity.HIGH
    confidence: ClassVar[Confidence] = Confidence.MEDIUM
    cwe: ClassVar[tuple[int, ...]] = ()
    attack: ClassVar[tuple[str, ...]] = ()
    status: ClassVar[str] = "stable"
    # File kinds the rule reads: "python", "pth" (import lines of .pth files), "config" (.env/.ini/...).
    file_kinds: ClassVar[tuple[str, ...]] = ("python",)
    # Substrings of which at least one must occur in a file for the rule to run; empty means always.
    triggers: ClassVar[tuple[str, ...]] = ()
    VALID: ClassVar[tuple[str | Example, ...]] = ()
    INVALID: ClassVar[tuple[str | Example, ...]] = ()
    kind: ClassVar[str] = ""
    pack: ClassVar[str] = ""

    @classmethod
    def info(cls) -> RuleInfo:
        doc = inspect.cleandoc(cls.__doc__ or "")
        summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
        body = doc.split("\n\n", 1)[1] if "\n\n" in doc else ""
        return RuleInfo(
            code=cls.code,
            name=cls.name,
            category=cls.category,
            severity=cls.severity,
            confidence=cls.confidence,
            cwe=tuple(cls.cwe),
            attack=tuple(cls.attack),
            summary=summary,
            doc=body,
            kind=cls.kind,
            pack=cls.pack,
            status=cls.status,
        )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """A cheap necessary condition on the text for the rule to report anything: no parse is made without one."""
        return not cls.triggers or any(t in text for t in cls.triggers)

    @classmethod
    def applies_to(cls, path: str, text: str) -> bool:
        """Whether the rule runs on this file at all; rules override it for conditions on the path as well."""
        return cls.triggered_by(text)

    @classmethod
    def problems(cls) -> list[str]:
        """What is wrong with this rule's declaration; empty when it is well-formed."""
        found = []
        if not CODE_PATTERN.match(cls.code or ""):
            found.append(f"code {cls.code!r} is not of the form DSnnn")
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cls.name or ""):
            found.append(f"name {cls.name!r} is not kebab-case")
        if not isinstance(getattr(cls, "category", None), Category):
            found.append("category is not a datasec_scan.model.Category")
        doc = cls.__doc__ or ""
        for section in DOC_SECTIONS:
            if section not in doc:
                found.append(f"docstring lacks the section {section!r}")
        if not cls.INVALID:
            found.append("no INVALID examples")
        return found


class Rule(RuleMeta):
    """A CST rule: `visit_<Node>`/`leave_<Node>` methods over libcst's tree of one Python file, run in one pass with
    the other rules (`tree.walk_batched`); it calls `report`. (A plain class, so that loading rules imports no
    libcst: a file every screen turns away is never parsed.)"""

    kind = "cst"

    # Reduced scan (datasec_scan/fallback.py) when libcst cannot parse a file: regexes over the raw text,
    # each a pattern or a (pattern, message) pair. Override `fallback` instead for ast-level checks.
    fallback_patterns: ClassVar[tuple[Any, ...]] = ()

    @classmethod
    def fallback(cls, tree: Any, text: str, context: FileContext) -> Iterator["TextMatch"]:
        """Findings for a file libcst could not parse: `tree` is CPython's `ast.Module`, or None when ast failed too.

        Called only for triggered rules, only when libcst failed or was not asked (limits); the engine
        marks what it yields `fallback=True` and notes the reduced scan. Default: `fallback_patterns`.
        """
        for entry in cls.fallback_patterns:
            pattern, message = entry if isinstance(entry, tuple) else (entry, f"{cls.name} pattern (reduced scan)")
            for m in re.finditer(pattern, text):
                yield TextMatch(m.start(), m.end(), message)

    @classmethod
    def triggered_by_tree(cls, tree: Any, text: str) -> bool:
        """A necessary condition on CPython's `ast.Module` of a file the text screen let through, for rules that can
        tell more from a syntax tree ten times cheaper to build than libcst's. The engine asks it only when every
        rule left for the file has one, and parses with libcst only for those that hold. Default: no such screen."""
        return True

    @classmethod
    def screens_tree(cls) -> bool:
        return cls.triggered_by_tree.__func__ is not Rule.triggered_by_tree.__func__  # type: ignore[attr-defined]

    @classmethod
    def has_fallback(cls) -> bool:
        return bool(cls.fallback_patterns) or cls.fallback.__func__ is not Rule.fallback.__func__  # type: ignore[attr-defined]

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context

    @property
    def options(self) -> Mapping[str, Any]:
        return self.context.options_for(type(self))

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        severity: Severity | None = None,
        confidence: Confidence | None = None,
        flow: Iterable[tuple[Any, str]] = (),
        secrets: Iterable[str] = (),
    ) -> None:
        self.context.reports.append(
            Report(type(self), message, node=node, severity=severity, confidence=confidence,
                   flow=tuple(flow), secrets=tuple(s for s in secrets if s))
        )


@dataclass(frozen=True)
class TextMatch:
    start: int
    end: int
    message: str
    severity: Severity | None = None
    confidence: Confidence | None = None
    secrets: tuple[str, ...] = field(default=())


class TextRule(RuleMeta):
    """A text rule: reads the raw text of Python and config files, no parse needed."""

    kind = "text"
    file_kinds = ("python", "pth", "config")

    def __init__(self, context: FileContext) -> None:
        self.context = context

    @property
    def options(self) -> Mapping[str, Any]:
        return self.context.options_for(type(self))

    def scan(self, text: str) -> Iterator[TextMatch]:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self) -> None:
        for m in self.scan(self.context.text):
            self.context.reports.append(
                Report(type(self), m.message, span=(m.start, m.end), severity=m.severity,
                       confidence=m.confidence, secrets=tuple(s for s in m.secrets if s))
            )


@dataclass(frozen=True)
class ArchiveMatch:
    member: str  # member name the finding points at
    message: str
    line: int = 1
    severity: Severity | None = None
    confidence: Confidence | None = None


class ArchiveRule(RuleMeta):
    """An archive rule: looks at a whole archive's member list (names, sizes, digests, some contents).

    Run by datasec_scan.archives once per archive (wheel, sdist, egg, nested archive) and once per
    installed distribution; never by the per-file engine. `wants` names the members (fnmatch patterns
    on member names) whose bytes `check` may read through `ArchiveView.text`. Examples are archives
    written as txtar text (`-- path --` lines before each member's content), with the example's `path`
    naming the archive, e.g. `Example(listing, "demo-1.0-py3-none-any.whl")`.
    """

    kind = "archive"
    file_kinds = ()
    formats: ClassVar[tuple[str, ...]] = ("wheel", "sdist", "egg", "zip", "installed")
    wants: ClassVar[tuple[str, ...]] = ()

    def __init__(self, archive: ArchiveView, options: Mapping[str, Any] | None = None) -> None:
        self.archive = archive
        self.options = options or {}

    def check(self) -> Iterator[ArchiveMatch]:  # pragma: no cover - abstract
        raise NotImplementedError
