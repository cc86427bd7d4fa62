"""Paths -> the files to scan: walks folders (gitignore-aware), skips what is not ours, never follows links out."""

from __future__ import annotations

import fnmatch
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .archives import expand as expand_archive, is_archive
from .config import Limits
from .kinds import file_kind
from .model import Level, Notification

SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", ".venv", "venv", "node_modules", ".mypy_cache",
             ".pytest_cache", ".ruff_cache", ".eggs"}


@dataclass(frozen=True)
class Target:
    """A file to scan: the path shown in findings and the path to read (inside archives: the member chain)."""

    display: str
    path: Path
    member: tuple[str, ...] = ()  # `a.tar.gz!/a/b.whl!/b/x.py` -> path a.tar.gz, member ("a/b.whl", "b/x.py")


def display_path(path: Path, root: Path) -> str:
    try:
        shown = path.absolute().relative_to(root).as_posix()
    except ValueError:
        shown = path.as_posix()
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8 on disk: show its bytes escaped, read it by `path`
        shown = os.fsencode(shown).decode("utf-8", "backslashreplace")
    return shown


def _git_visible(folder: Path) -> set[Path] | None:
    """Files git would track under `folder` (tracked + untracked, not ignored); None outside a work tree."""
    try:
        out = subprocess.run(["git", "-C", str(folder), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {(folder / os.fsdecode(p)).absolute() for p in out.split(b"\0") if p}


def _excluded(rel: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        p = pattern.strip("/")
        if fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p + "/*") or any(
                fnmatch.fnmatch(part, p) for part in rel.split("/")):
            return True
    return False


def discover(paths: list[Path], root: Path, exclude: tuple[str, ...] = (), respect_gitignore: bool = True,
             limits: Limits | None = None) -> tuple[list[Target], list[Notification]]:
    """Expand paths to scannable files; explicitly named files are scanned whatever their kind or ignore status."""
    targets: dict[str, Target] = {}
    notes: list[Notification] = []
    for given in paths:
        shown = display_path(given, root)
        try:
            st = os.stat(given, follow_symlinks=False)
        except OSError as exc:
            notes.append(Notification(shown, "unreadable", f"cannot access: {exc.strerror or exc}", Level.ERROR))
            continue
        if stat.S_ISREG(st.st_mode) and is_archive(given.name):  # the archive, then its members
            targets.update((t.display, t) for t in expand_archive(shown, given, limits or Limits()))
            continue
        if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
            targets[shown] = Target(shown, given)
            continue
        if not stat.S_ISDIR(st.st_mode):
            notes.append(Notification(shown, "not-a-file", "not a regular file or folder; not read", Level.NOTE))
            continue
        visible = _git_visible(given) if respect_gitignore else None
        _walk_folder(given, root, exclude, visible, limits or Limits(), targets, notes)
    return [targets[k] for k in sorted(targets)], notes


def _walk_folder(given: Path, root: Path, exclude: tuple[str, ...], visible: set[Path] | None, limits: Limits,
                 targets: dict[str, Target], notes: list[Notification]) -> None:
    """Top-down and in name order, like `os.walk`, but from `os.scandir` entries: whether an entry is a folder or
    a link comes with the listing, not from a system call per name (Django's tree has 2,400 folders)."""
    folders = [(os.fspath(given), "")]  # (folder, its path relative to `given` with a trailing "/")
    prefix = _shown_prefix(given, root)
    while folders:
        folder, relative = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            notes.append(Notification(display_path(Path(exc.filename or folder), root), "unreadable",
                                      f"cannot list folder: {exc.strerror}", Level.ERROR))
            continue
        dirs, files = [], []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirs if is_dir else files).append(entry)
        below = []
        for entry in sorted(dirs, key=lambda e: e.name):
            if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                continue
            if entry.is_symlink():  # loops, links out of the root
                notes.append(Notification(display_path(Path(entry.path), root), "symlink",
                                          "symbolic link to a folder not followed", Level.NOTE))
                continue
            below.append((entry.path, f"{relative}{entry.name}/"))
        for entry in sorted(files, key=lambda e: e.name):
            name = entry.name
            archive = is_archive(name)
            if file_kind(name) is None and not archive:  # by name first: most files are not read
                continue
            if _excluded(relative + name, exclude):
                continue
            full = Path(entry.path)
            if visible is not None and full.absolute() not in visible:
                continue
            if entry.is_symlink():
                notes.append(Notification(display_path(full, root), "symlink", "symbolic link not followed",
                                          Level.NOTE))
                continue
            shown = prefix + _shown(relative + name) if prefix is not None else display_path(full, root)
            if archive:
                targets.update((t.display, t) for t in expand_archive(shown, full, limits))
                continue
            targets[shown] = Target(shown, full)
        folders.extend(reversed(below))


def _shown_prefix(folder: Path, root: Path) -> str | None:
    """What `display_path` puts before a path relative to `folder` when `folder` is under `root` (None when not: a
    root inside the folder shows the files under it relative to it, the others in full)."""
    try:
        folder.absolute().relative_to(root)
    except ValueError:
        return None
    shown = display_path(folder, root)
    return "" if shown == "." else shown if shown.endswith("/") else shown + "/"


def _shown(relative: str) -> str:
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:  # as display_path: a name that is not UTF-8 on disk is shown with its bytes escaped
        return os.fsencode(relative).decode("utf-8", "backslashreplace")
    return relative


def read_target(target: Target, max_bytes: int) -> bytes | Notification:
    """The file's bytes, or a notification saying why they could not be read; never blocks on FIFOs."""
    not_a_file = Notification(target.display, "not-a-file", "not a regular file (device, FIFO or socket); not read",
                              Level.NOTE)
    try:
        st = os.stat(target.path)
    except OSError as exc:
        return Notification(target.display, "unreadable", f"cannot access: {exc.strerror or exc}", Level.ERROR)
    if not stat.S_ISREG(st.st_mode):
        return not_a_file
    if st.st_size > max_bytes:
        return Notification(target.display, "too-large", f"file is {st.st_size:,} bytes, over limits.max-file-bytes "
                            f"({max_bytes:,}); not scanned")
    try:  # non-blocking and checked again on the open file: a FIFO swapped in after the stat cannot hang us
        fd = os.open(target.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        return Notification(target.display, "unreadable", f"cannot read: {exc.strerror or exc}", Level.ERROR)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return not_a_file
        chunks = []
        left = max_bytes + 1
        while left > 0:  # (plain reads: no buffered file object per file)
            chunk = os.read(fd, min(left, max(st.st_size + 1, 1 << 16)))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        return Notification(target.display, "unreadable", f"cannot read: {exc.strerror or exc}", Level.ERROR)
    finally:
        os.close(fd)
