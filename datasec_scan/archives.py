"""Wheels, sdists and eggs read in memory (never extracted, never built): members within limits, archive rules."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from collections import OrderedDict
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable, Mapping

from .config import Config, Limits
from .kinds import file_kind
from .model import ArchiveView, FileResult, Finding, Level, Location, MemberInfo, Notification
from .redact import inert

if TYPE_CHECKING:  # pragma: no cover
    from .discover import Target
    from .plugins import RuleSet
    from .rule import ArchiveRule

SEP = "!/"  # `pkg-1.0.tar.gz!/pkg-1.0/setup.py`
_TYPES = ((".tar.gz", "tar"), (".tgz", "tar"), (".tar.bz2", "tar"), (".tbz2", "tar"), (".tar.xz", "tar"),
          (".txz", "tar"), (".tar", "tar"), (".whl", "zip"), (".egg", "zip"), (".zip", "zip"))
_SUFFIXES = tuple(suffix for suffix, _ in _TYPES)
RATIO_FROM = 1 << 20  # compression ratios are only judged past this many uncompressed bytes
CHUNK = 1 << 16


def _read_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged archive may raise (the archive modules are imported when an archive is opened: a
    scan of plain files never needs them)."""
    import lzma
    import tarfile
    import zipfile
    import zlib

    return (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError,
            OSError, RuntimeError, NotImplementedError, ValueError)


def archive_type(name: str) -> str | None:
    """"zip" or "tar" for the archive names the scanner opens, else None."""
    lower = name.rsplit(SEP, 1)[-1].lower()
    if not lower.endswith(_SUFFIXES):  # (most names: one test)
        return None
    return next((kind for suffix, kind in _TYPES if lower.endswith(suffix)), None)


def is_archive(name: str) -> bool:
    return archive_type(name) is not None


def archive_format(name: str) -> str:
    """wheel | egg | sdist: what the archive is as a Python package (a .zip or tarball is read as an sdist)."""
    lower = name.rsplit(SEP, 1)[-1].lower()
    return "wheel" if lower.endswith(".whl") else "egg" if lower.endswith(".egg") else "sdist"


def outer_archive(path: str) -> str | None:
    """The outermost archive of a display path (`a.whl!/x.py` -> `a.whl`), or None outside archives."""
    if SEP in path:
        return path.split(SEP, 1)[0]
    return path if is_archive(path) else None


@dataclass(frozen=True)
class Listing:
    members: tuple[MemberInfo, ...]
    notifications: tuple[Notification, ...]


def _path_trick(name: str) -> str | None:
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "a `..` component (would escape the extraction folder)"
    return None


class _Reader:
    """Reads members one by one within the limits, hashing each; says every limit it hits."""

    def __init__(self, display: str, limits: Limits, keep: Callable[[str], bool], packed_size: int, depth: int):
        self.display = display
        self.limits = limits
        self.keep = keep
        self.packed_size = max(1, packed_size)
        self.depth = depth
        self.total = 0
        self.members: list[MemberInfo] = []
        self.notes: list[Notification] = []
        self.seen: set[str] = set()
        self.stopped = False

    def note(self, name: str | None, kind: str, message: str, level: Level = Level.WARNING) -> None:
        path = self.display if name is None else f"{self.display}{SEP}{name}"
        self.notes.append(Notification(path, kind, message, level))

    def admit(self, name: str) -> bool:
        """Count the member against limits.max-archive-members; False once the limit is reached."""
        if len(self.members) >= self.limits.max_archive_members:
            self.note(None, "archive-limit", f"more than limits.max-archive-members "
                      f"({self.limits.max_archive_members:,}) members; the rest not read")
            self.stopped = True
            return False
        trick = _path_trick(name)
        if trick:
            self.note(name, "archive-path", f"member name has {trick}; read in memory, never extracted")
        if name in self.seen:
            self.note(name, "archive-duplicate", "member name occurs more than once; installers keep the last copy, "
                      "which is the one scanned")
        self.seen.add(name)
        return True

    def link(self, name: str, kind: str, target: str) -> None:
        self.members.append(MemberInfo(name, 0, kind))
        self.note(name, "archive-link", f"{'symbolic' if kind == 'symlink' else 'hard'} link member "
                  f"(to {inert(target)[:120]!r}) not followed")

    def read(self, name: str, handle: BinaryIO, compressed: int | None) -> None:
        """Read one regular member: hash all of it (within limits), keep its bytes when wanted."""
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        keep = self.keep(name)
        size = 0
        problem = None
        while True:
            block = handle.read(CHUNK)
            if not block:
                break
            size += len(block)
            self.total += len(block)
            digest.update(block)
            if keep:
                chunks.append(block)
            if size > self.limits.max_member_bytes:
                problem = ("too-large", f"member exceeds limits.max-member-bytes ({self.limits.max_member_bytes:,}); "
                           "not read further")
                break
            if self.total > self.limits.max_archive_bytes:
                problem = ("archive-limit", f"archive expands past limits.max-archive-bytes "
                           f"({self.limits.max_archive_bytes:,}); members after this not read")
                self.stopped = True
                break
            base = compressed if compressed is not None else self.packed_size
            total = size if compressed is not None else self.total
            if total > RATIO_FROM and total > self.limits.max_compression_ratio * max(1, base):
                problem = ("archive-bomb", f"compression ratio over limits.max-compression-ratio "
                           f"({self.limits.max_compression_ratio}); looks like a decompression bomb, not read further")
                self.stopped = compressed is None  # a tar stream bomb ends the archive, a zip member only itself
                break
        if problem:
            self.note(name, *problem)
            self.members.append(MemberInfo(name, size, "file"))
            return
        if is_archive(name) and self.depth >= self.limits.max_archive_depth:
            self.note(name, "archive-depth", f"nested archive deeper than limits.max-archive-depth "
                      f"({self.limits.max_archive_depth}); not opened")
        self.members.append(MemberInfo(name, size, "file", digest.digest(), b"".join(chunks) if keep else None))


def read_archive(display: str, fileobj: BinaryIO, limits: Limits, keep: Callable[[str], bool] = lambda n: False,
                 depth: int = 0) -> Listing:
    """List an archive and read its regular members in memory within `limits`; bytes kept where `keep` says."""
    kind = archive_type(display)
    try:
        fileobj.seek(0, os.SEEK_END)
        packed = fileobj.tell()
        fileobj.seek(0)
    except (OSError, ValueError):
        packed = 0
    reader = _Reader(display, limits, keep, packed, depth)
    try:
        if kind == "zip":
            _read_zip(reader, fileobj)
        else:
            _read_tar(reader, fileobj)
    except _read_errors() as exc:
        reader.note(None, "archive-error", f"cannot read archive: {type(exc).__name__}: {exc}", Level.ERROR)
    return Listing(tuple(reader.members), tuple(reader.notes))


def _read_zip(reader: _Reader, fileobj: BinaryIO) -> None:
    import zipfile

    with zipfile.ZipFile(fileobj) as zf:
        for info in zf.infolist():
            if reader.stopped or not reader.admit(info.filename):
                return
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                try:
                    target = zf.read(info)[:200].decode("utf-8", "replace")
                except _read_errors():
                    target = "?"
                reader.link(info.filename, "symlink", target)
            elif info.is_dir():
                reader.members.append(MemberInfo(info.filename, 0, "dir"))
            elif info.flag_bits & 0x1:
                reader.note(info.filename, "archive-encrypted", "encrypted member; not read", Level.WARNING)
                reader.members.append(MemberInfo(info.filename, info.file_size, "file"))
            else:
                try:
                    with zf.open(info) as handle:
                        reader.read(info.filename, handle, info.compress_size)
                except _read_errors() as exc:
                    reader.note(info.filename, "archive-error", f"cannot read member: {type(exc).__name__}: {exc}",
                                Level.ERROR)


def _read_tar(reader: _Reader, fileobj: BinaryIO) -> None:
    import tarfile

    with tarfile.open(fileobj=fileobj, mode="r:*") as tf:
        while not reader.stopped:
            info = tf.next()
            if info is None:
                return
            if not reader.admit(info.name):
                return
            if info.issym() or info.islnk():
                reader.link(info.name, "symlink" if info.issym() else "hardlink", info.linkname)
            elif info.isdir():
                reader.members.append(MemberInfo(info.name, 0, "dir"))
            elif info.isreg():
                handle = tf.extractfile(info)
                if handle is not None:
                    reader.read(info.name, handle, None)
            else:
                reader.members.append(MemberInfo(info.name, 0, "other"))
                reader.note(info.name, "archive-special", "device, FIFO or other special member; not read")
            tf.members.clear()  # keep memory flat on long archives


# --- discovery and member reading ------------------------------------------------------------------


def _wanted_member(name: str) -> bool:
    return file_kind(name) is not None or is_archive(name)


def expand(display: str, path: Path, limits: Limits) -> list["Target"]:
    """An archive on disk -> a target for the archive itself (archive rules, notifications) and one per
    scannable member, nested archives included down to limits.max-archive-depth."""
    from .discover import Target

    out = [Target(display, path)]
    try:
        with open(path, "rb") as handle:
            listing = read_archive(display, handle, limits, keep=is_archive)
    except OSError:
        return out  # the archive target reports it
    _expand_listing(out, display, path, (), listing, limits)
    return out


def _expand_listing(out: list, display: str, path: Path, chain: tuple[str, ...], listing: Listing, limits: Limits):
    from .discover import Target

    for m in listing.members:
        if m.kind != "file":
            continue
        shown = f"{display}{SEP}{m.name}"
        if file_kind(m.name) is not None:
            out.append(Target(shown, path, chain + (m.name,)))
        elif is_archive(m.name) and m.data is not None and len(chain) < limits.max_archive_depth:
            out.append(Target(shown, path, chain + (m.name,)))
            inner = read_archive(shown, io.BytesIO(m.data), limits, keep=is_archive, depth=len(chain) + 1)
            _expand_listing(out, shown, path, chain + (m.name,), inner, limits)


_CONTAINERS: "OrderedDict[tuple, dict[str, MemberInfo] | Notification]" = OrderedDict()
_CONTAINERS_KEPT = 3


def _container(path: Path, chain: tuple[str, ...], limits: Limits) -> dict[str, MemberInfo] | Notification:
    """The regular members (bytes of scannable ones) of the archive at path!/chain..., cached per process."""
    display = SEP.join([path.as_posix(), *chain])
    try:
        st = os.stat(path)
    except OSError as exc:
        return Notification(display, "unreadable", f"cannot access: {exc.strerror or exc}", Level.ERROR)
    key = (str(path), st.st_mtime_ns, st.st_size, chain, limits)
    if key in _CONTAINERS:
        _CONTAINERS.move_to_end(key)
        return _CONTAINERS[key]
    if chain:
        parent = _container(path, chain[:-1], limits)
        if isinstance(parent, Notification):
            return parent
        m = parent.get(chain[-1])
        if m is None or m.data is None:
            return Notification(display, "archive-error", "nested archive could not be read", Level.ERROR)
        listing = read_archive(display, io.BytesIO(m.data), limits, keep=_wanted_member, depth=len(chain))
    else:
        try:
            with open(path, "rb") as handle:
                listing = read_archive(display, handle, limits, keep=_wanted_member)
        except OSError as exc:
            return Notification(display, "unreadable", f"cannot read: {exc.strerror or exc}", Level.ERROR)
    members = {m.name: m for m in listing.members if m.kind == "file"}
    _CONTAINERS[key] = members
    while len(_CONTAINERS) > _CONTAINERS_KEPT:
        _CONTAINERS.popitem(last=False)
    return members


def read_member(target: "Target", limits: Limits) -> bytes | Notification:
    """A member target's bytes (path!/chain), or a notification saying why not."""
    container = _container(target.path, target.member[:-1], limits)
    if isinstance(container, Notification):
        return Notification(target.display, container.kind, container.message, container.level)
    m = container.get(target.member[-1])
    if m is None:
        return Notification(target.display, "unreadable", "member not found (archive changed during the scan?)",
                            Level.ERROR)
    if m.data is None:  # too large, bomb or cut off: the archive target says which
        return Notification(target.display, "too-large", f"member of {m.size:,} bytes not read (archive limits)")
    return m.data


# --- archive rules ---------------------------------------------------------------------------------


def archive_rules(rules: "RuleSet", fmt: str) -> list[type[ArchiveRule]]:
    from .rule import ArchiveRule  # here, not at the top: reading archives needs no parser (libcst)

    return [r for r in rules.rules if isinstance(r, type) and issubclass(r, ArchiveRule) and fmt in r.formats]


def run_archive_rules(view: ArchiveView, rules: Iterable[type[ArchiveRule]], config: Config
                      ) -> tuple[list[Finding], list[Notification]]:
    """Run archive rules over one archive view; a failing rule is reported, the others keep their findings."""
    findings: list[Finding] = []
    notes: list[Notification] = []
    for rule in rules:
        try:
            matches = list(rule(view, config.rule_options.get(rule.code, {})).check())
        except Exception as exc:  # a broken rule must not cost the other rules their findings
            notes.append(Notification(view.path, "rule-error", f"rule {rule.code} ({rule.name}) failed: "
                                      f"{type(exc).__name__}: {exc}", Level.ERROR, rule=rule.code))
            continue
        for m in matches:
            text = view.text(m.member) or ""
            lines = text.splitlines()
            snippet = inert(lines[m.line - 1].strip())[:200] if 0 < m.line <= len(lines) else ""
            findings.append(Finding(
                rule=rule.code, name=rule.name, category=rule.category, severity=m.severity or rule.severity,
                confidence=m.confidence or rule.confidence, message=inert(m.message),
                location=Location(view.member_path(m.member), m.line, 1), snippet=snippet))
    return sorted(findings, key=Finding.sort_key), notes


def wants_of(rules: Iterable[type[ArchiveRule]]) -> Callable[[str], bool]:
    patterns = tuple(p for r in rules for p in r.wants)
    return lambda name: any(fnmatchcase(name, p) for p in patterns)


def scan_archive_bytes(display: str, fileobj: BinaryIO, rules: "RuleSet", config: Config, depth: int = 0) -> FileResult:
    """Archive-level result: the archive rules' findings and every limit or path trick met while reading."""
    fmt = archive_format(display)
    chosen = archive_rules(rules, fmt)
    listing = read_archive(display, fileobj, config.limits, keep=wants_of(chosen), depth=depth)
    findings, notes = run_archive_rules(ArchiveView(display, fmt, listing.members), chosen, config)
    return FileResult(display, tuple(findings), tuple(sorted(listing.notifications + tuple(notes),
                                                             key=Notification.sort_key)))


def is_container(target: "Target") -> bool:
    """An archive (on disk or nested) or an installed distribution (`*.dist-info` folder): archive-level scan."""
    return is_archive(target.display) or target.path.name.endswith(".dist-info") and not target.member


def scan_container(target: "Target", rules: "RuleSet", config: Config) -> FileResult:
    if not target.member and target.path.name.endswith(".dist-info") and target.path.is_dir():
        from .packages import scan_distribution

        return scan_distribution(target, rules, config)
    if target.member:
        parent = _container(target.path, target.member[:-1], config.limits)
        if isinstance(parent, Notification):
            return FileResult(target.display, notifications=(Notification(target.display, parent.kind,
                                                                           parent.message, parent.level),))
        m = parent.get(target.member[-1])
        if m is None or m.data is None:
            return FileResult(target.display, notifications=(Notification(
                target.display, "archive-error", "nested archive could not be read", Level.ERROR),))
        return scan_archive_bytes(target.display, io.BytesIO(m.data), rules, config, depth=len(target.member))
    try:
        with open(target.path, "rb") as handle:
            return scan_archive_bytes(target.display, handle, rules, config)
    except OSError as exc:
        return FileResult(target.display, notifications=(Notification(
            target.display, "unreadable", f"cannot read: {exc.strerror or exc}", Level.ERROR),))


# --- building archives (tests, rule examples) ------------------------------------------------------


def parse_txtar(text: str) -> tuple[str, dict[str, bytes]]:
    """txtar text -> (comment, {member name: bytes}): each member starts with a `-- name --` line."""
    comment: list[str] = []
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines(keepends=True):
        m = re.match(r"^-- (.+?) --\s*$", line)
        if m:
            current = files.setdefault(m.group(1).strip(), [])
        elif current is None:
            comment.append(line)
        else:
            current.append(line)
    return "".join(comment), {k: "".join(v).encode("utf-8") for k, v in files.items()}


def record_line(name: str, data: bytes) -> str:
    import base64

    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def with_record(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """A wheel's files plus a correct `*.dist-info/RECORD` (the dist-info folder must be among the files)."""
    dist_info = next(n.split("/", 1)[0] for n in files if n.split("/", 1)[0].endswith(".dist-info"))
    record = f"{dist_info}/RECORD"
    lines = [record_line(n, d) for n, d in files.items() if n != record] + [f"{record},,"]
    return {**{n: d for n, d in files.items() if n != record}, record: ("\n".join(lines) + "\n").encode()}


def build_archive(name: str, files: Mapping[str, bytes]) -> bytes:
    """In-memory archive of `files`, typed by `name` (zip for .whl/.egg/.zip, tar for tarballs); deterministic."""
    import tarfile
    import zipfile

    out = io.BytesIO()
    if archive_type(name) == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, data in files.items():
                zf.writestr(zipfile.ZipInfo(member, (1980, 1, 1, 0, 0, 0)), data)
        return out.getvalue()
    lower = name.lower()
    mode = "w:gz" if lower.endswith(("gz", "tgz")) else "w:bz2" if "bz2" in lower else "w:xz" if "xz" in lower else "w"
    with tarfile.open(fileobj=out, mode=mode) as tf:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def example_findings(name: str, listing: str, rules: "RuleSet", config: Config | None = None) -> list[Finding]:
    """Archive-rule findings for an archive written as txtar text (rule examples, fixtures)."""
    _, files = parse_txtar(listing)
    result = scan_archive_bytes(name, io.BytesIO(build_archive(name, files)), rules, config or Config())
    return list(result.findings)


__all__ = ["SEP", "archive_type", "is_archive", "archive_format", "outer_archive", "read_archive", "expand",
           "read_member", "scan_container", "is_container", "run_archive_rules", "build_archive", "parse_txtar",
           "with_record", "record_line", "example_findings"]
