"""Frozen data shared by the engine, rules and reporters: severities, locations, findings, results."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

CODE_PATTERN = re.compile(r"^DS[1-9]\d{2}$")  # a rule code: DS, then three digits


class Severity(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; use one of critical, high, medium, low") from None

    def raised(self, steps: int = 1) -> "Severity":
        return Severity(max(Severity.LOW, min(Severity.CRITICAL, self + steps)))


class Confidence(enum.IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class Category(str, enum.Enum):
    REMOTE_ACCESS = "remote-access"
    CREDENTIALS = "credentials"
    OUTBOUND_DATA = "outbound-data"


class Level(str, enum.Enum):
    """Notification levels, named as SARIF names them."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, order=True)
class Location:
    path: str
    line: int
    column: int = 1
    end_line: int = 0
    end_column: int = 0


@dataclass(frozen=True)
class FlowStep:
    """One step of a data path: where it is and what happens there."""

    location: Location
    message: str


@dataclass(frozen=True)
class Suppression:
    kind: str  # "inline" or "baseline"
    justification: str


@dataclass(frozen=True)
class Finding:
    rule: str
    name: str
    category: Category
    severity: Severity
    confidence: Confidence
    message: str
    location: Location
    snippet: str = ""
    flow: tuple[FlowStep, ...] = ()
    secret_hashes: tuple[str, ...] = ()
    fallback: bool = False
    suppression: Suppression | None = None

    def sort_key(self) -> tuple:
        return (self.location.path, self.location.line, self.location.column, self.rule, self.message)


@dataclass(frozen=True)
class Notification:
    """Something the scan could not do, said instead of passed over."""

    path: str
    kind: str
    message: str
    level: Level = Level.WARNING
    rule: str | None = None

    def sort_key(self) -> tuple:
        return (self.path, self.kind, self.message)


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    category: Category
    severity: Severity
    confidence: Confidence
    cwe: tuple[int, ...]
    attack: tuple[str, ...]
    summary: str
    doc: str
    kind: str  # "cst" or "text"
    pack: str
    status: str = "stable"  # stable | experimental | opt-in


@dataclass(frozen=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    notifications: tuple[Notification, ...] = ()
    lines: int = 0


@dataclass(frozen=True)
class ScanResult:
    root: str
    files: tuple[FileResult, ...]
    rules: tuple[RuleInfo, ...]
    tool_version: str
    notifications: tuple[Notification, ...] = field(default=())
    # (display path, package) for files of installed distributions; archive members group by their archive.
    packages: tuple[tuple[str, str], ...] = field(default=())

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(sorted((f for fr in self.files for f in fr.findings), key=Finding.sort_key))

    @property
    def all_notifications(self) -> tuple[Notification, ...]:
        found = [n for fr in self.files for n in fr.notifications] + list(self.notifications)
        return tuple(sorted(found, key=Notification.sort_key))

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppression is None)


@dataclass(frozen=True)
class MemberInfo:
    """One member of an archive (or one file of an installed distribution), as an archive rule sees it."""

    name: str  # path inside the archive, as stored
    size: int  # uncompressed bytes (as read, not as the header claims)
    kind: str = "file"  # file | dir | symlink | hardlink | other
    sha256: bytes | None = None  # digest of the content, when it was read whole
    data: bytes | None = None  # content, only for members an archive rule `wants`


@dataclass(frozen=True)
class ArchiveView:
    """What archive rules see: the archive's display path, its format and its members."""

    path: str  # display path of the archive, e.g. `dist/pkg-1.0-py3-none-any.whl`
    format: str  # wheel | sdist | egg | zip | installed
    members: tuple[MemberInfo, ...]

    def member(self, name: str) -> MemberInfo | None:
        return next((m for m in self.members if m.name == name), None)

    def text(self, name: str) -> str | None:
        m = self.member(name)
        return None if m is None or m.data is None else m.data.decode("utf-8", errors="replace")

    def member_path(self, name: str) -> str:
        """The display path of a member: `archive!/member` (an installed distribution joins with `/`)."""
        return f"{self.path}/{name}" if self.format == "installed" else f"{self.path}!/{name}"
