"""Workflow glue around a scan: config excludes, `--since REF` (git diff), progress, baselines, `config` command."""

from __future__ import annotations

import codecs
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator, Mapping, TextIO

import click

from .config import Config
from .model import FileResult, Finding, Notification

PROGRESS_FROM = 200  # more files than this get a progress bar (on a terminal only)


class WorkflowError(Exception):
    """A workflow step cannot run (bad git ref, not a git work tree, unreadable baseline); the CLI exits 2."""


# --- excludes --------------------------------------------------------------------------------------


def without_excluded(targets: list, config: Config, cwd: Path) -> list:
    """Drop targets matching the config's gitignore-style `exclude` (named files too: pre-commit names them)."""
    if not config.exclude:
        return targets
    return [t for t in targets if not config.excluded(t.display, cwd)]


# --- diff-aware scanning ---------------------------------------------------------------------------

Changes = Mapping[str, "frozenset[int] | None"]  # absolute path -> changed lines (None: the whole file)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=cwd, capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise WorkflowError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise WorkflowError(f"git {' '.join(args[:2])} failed: {message[-1] if message else done.returncode}")
    return done.stdout.decode("utf-8", "surrogateescape")


def _unquote(path: str) -> str:
    if path.startswith('"') and path.endswith('"'):
        raw = codecs.escape_decode(path[1:-1].encode("utf-8", "surrogateescape"))[0]
        return raw.decode("utf-8", "surrogateescape")  # type: ignore[union-attr]
    return path


def parse_diff(diff: str) -> dict[str, set[int] | None]:
    """Added/changed line numbers per new-side path of a `git diff --unified=0` patch (None: a binary file)."""
    changed: dict[str, set[int] | None] = {}
    current: set[int] | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = _unquote(line[4:].rstrip("\t"))
            current = None if target == "/dev/null" else changed.setdefault(target.removeprefix("b/"), set())
        elif line.startswith("@@") and current is not None:
            m = _HUNK.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else 1)
                current.update(range(start, start + count))
        elif line.startswith("Binary files ") and line.endswith(" differ"):
            target = _unquote(line[len("Binary files "):-len(" differ")].rsplit(" and ", 1)[-1])
            if target != "/dev/null":
                changed[target.removeprefix("b/")] = None  # an archive: its members count as wholly changed
            current = None
    return changed


def changed_since(ref: str, cwd: Path) -> dict[str, frozenset[int] | None]:
    """Lines changed in the work tree since `ref` (absolute paths); untracked files count as wholly changed."""
    if ref.startswith("-"):
        raise WorkflowError(f"--since: {ref!r} is not a git ref")
    top = Path(_git(["rev-parse", "--show-toplevel"], cwd).strip())
    try:
        _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd)
    except WorkflowError:
        raise WorkflowError(f"--since: {ref!r} is not a commit in the repository at {top}") from None
    diff = _git(["diff", "--no-color", "--no-ext-diff", "--unified=0", "--src-prefix=a/", "--dst-prefix=b/",
                 ref, "--", "."], top)
    out: dict[str, frozenset[int] | None] = {
        os.path.normpath(top / p): None if lines is None else frozenset(lines) for p, lines in parse_diff(diff).items()}
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard"], top)
    for p in untracked.split("\0"):
        if p:
            out[os.path.normpath(top / p)] = None
    return out


def _absolute(display: str, cwd: Path) -> str:
    """The file on disk a shown path stands for (an archive member stands for its archive)."""
    return os.path.normpath(os.path.join(os.path.abspath(cwd), display.split("!/", 1)[0]))


def only_changed_targets(targets: list, changes: Changes, cwd: Path) -> list:
    return [t for t in targets if _absolute(t.display, cwd) in changes]


def only_changed(files: Iterable[FileResult], changes: Changes, cwd: Path) -> tuple[FileResult, ...]:
    """Keep findings whose lines (first to last) touch a changed line; drop files that did not change."""
    out = []
    for fr in files:
        key = _absolute(fr.path, cwd)
        if key not in changes:
            continue
        lines = changes[key]
        if lines is not None:
            def touched(f: Finding) -> bool:
                last = max(f.location.line, f.location.end_line)
                return any(n in lines for n in range(f.location.line, last + 1))  # type: ignore[operator]
            kept = tuple(f for f in fr.findings if touched(f))
            if len(kept) != len(fr.findings):
                fr = replace(fr, findings=kept)
        out.append(fr)
    return tuple(out)


# --- progress --------------------------------------------------------------------------------------


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress_wanted(count: int, fmt: str, output: Path | None, *, stderr_tty: bool | None = None,
                    env: Mapping[str, str] | None = None) -> bool:
    """A progress bar only for big scans, on a terminal, never under CI or while JSON/SARIF goes to stdout."""
    env = os.environ if env is None else env
    if count <= PROGRESS_FROM:
        return False
    if env.get("CI", "").strip().lower() in ("1", "true", "yes"):
        return False
    if fmt in ("json", "sarif") and output is None:
        return False
    return _stderr_is_tty() if stderr_tty is None else stderr_tty


def with_progress(results: Iterable[FileResult], count: int, enabled: bool,
                  stream: TextIO | None = None) -> Iterator[FileResult]:
    """Pass results through, drawing `scanning [####    ] n/N files` on stderr when enabled."""
    if not enabled:
        yield from results
        return
    out = stream or sys.stderr
    width, shown = 30, -1
    done = 0
    for result in results:
        done += 1
        filled = width * done // max(count, 1)
        if filled != shown or done == count:
            shown = filled
            out.write(f"\rscanning [{'#' * filled}{' ' * (width - filled)}] {done}/{count} files")
            out.flush()
        yield result
    out.write("\r" + " " * (width + 40) + "\r")
    out.flush()


# --- one scan for the workflow commands ------------------------------------------------------------


def run_scan(paths: list[Path], config: Config, rules, cwd: Path, jobs: int = 0
             ) -> tuple[tuple[FileResult, ...], list[Notification]]:
    """discover -> excludes -> scan -> overrides, as `scan` does (no cache, no progress)."""
    from .discover import discover
    from .scheduler import collect, scan_targets
    from .suppress import apply_overrides

    targets, notes = discover(paths, cwd, (), config.respect_gitignore, limits=config.limits)
    targets = without_excluded(targets, config, cwd)
    files = collect(scan_targets(targets, rules, config, jobs))
    return apply_overrides(files, config, cwd), notes


def read_baseline(file: Path | None):
    """The entries of `scan --baseline FILE`, read before scanning so a bad file fails fast."""
    if file is None:
        return None
    from .suppress import BaselineError, load_baseline

    try:
        return load_baseline(file)
    except BaselineError as exc:
        raise WorkflowError(str(exc)) from None


def finish(files: tuple[FileResult, ...], config: Config, cwd: Path, changes: Changes | None = None,
           baseline: list | None = None, baseline_file: Path | None = None) -> tuple[FileResult, ...]:
    """After the per-file scan: per-path overrides, `--since` line filter, baseline suppression."""
    from .suppress import apply_baseline, apply_overrides

    files = apply_overrides(files, config, cwd)
    if changes is not None:
        files = only_changed(files, changes, cwd)
    if baseline is not None and baseline_file is not None:
        files, _ = apply_baseline(files, baseline, baseline_file.absolute(), cwd)
    return files


# --- commands --------------------------------------------------------------------------------------


@click.command("config")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Read configuration from this file instead of the nearest pyproject.toml.")
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml", show_default=True)
def config_command(paths: tuple[Path, ...], config_file: Path | None, fmt: str) -> None:
    """Print the effective configuration for PATHS (default: the current folder)."""
    from .cli import load_config
    from .config import render

    config = load_config(list(paths) or [Path(".")], config_file)
    click.echo(render(config, fmt), nl=False)


def _baseline_setup(paths: tuple[Path, ...], config_file: Path | None, select: tuple[str, ...],
                    ignore: tuple[str, ...], no_inline_ignores: bool):
    from .cli import load_config, load_rules

    targets = list(paths) or [Path(".")]
    config = load_config(targets, config_file)
    if no_inline_ignores:
        config = replace(config, inline_ignores=False)
    return targets, config, load_rules(config, select, ignore)


_baseline_options = [
    click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
    click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
    click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 help="Read configuration from this file instead of the nearest pyproject.toml."),
    click.option("--select", multiple=True, help="Only these rule codes or prefixes (repeatable)."),
    click.option("--ignore", multiple=True, help="Skip these rule codes or prefixes (repeatable)."),
    click.option("--no-inline-ignores", is_flag=True, help="Baseline inline-suppressed findings too."),
    click.option("-j", "--jobs", type=click.IntRange(0), default=0, help="Worker processes (0: all cores)."),
]


def _with_options(func):
    for option in reversed(_baseline_options):
        func = option(func)
    return func


@click.group("baseline")
def baseline_group() -> None:
    """Accept the current findings so that only new ones fail a scan (`scan --baseline FILE`)."""


@baseline_group.command("create")
@_with_options
def baseline_create(file: Path, paths: tuple[Path, ...], config_file: Path | None, select: tuple[str, ...],
                    ignore: tuple[str, ...], no_inline_ignores: bool, jobs: int) -> None:
    """Write FILE with every current finding under PATHS (default: the current folder)."""
    from .suppress import create_entries, dump_baseline

    targets, config, rules = _baseline_setup(paths, config_file, select, ignore, no_inline_ignores)
    cwd = Path.cwd()
    files, _ = run_scan(targets, config, rules, cwd, jobs)
    entries = create_entries(files, file.absolute().parent, cwd)
    file.write_text(dump_baseline(entries), encoding="utf-8")
    click.echo(f"datasec-scan: baseline {file}: {len(entries)} finding{'s' if len(entries) != 1 else ''} accepted",
               err=True)


@baseline_group.command("update")
@_with_options
@click.option("--add-new", is_flag=True, help="Also accept findings not yet in the baseline.")
def baseline_update(file: Path, paths: tuple[Path, ...], config_file: Path | None, select: tuple[str, ...],
                    ignore: tuple[str, ...], no_inline_ignores: bool, jobs: int, add_new: bool) -> None:
    """Remove entries of FILE that no longer match a finding under PATHS, and report them."""
    from .cli import _fail
    from .suppress import BaselineError, apply_baseline, create_entries, dump_baseline, load_baseline, stale_entries

    try:
        entries = load_baseline(file)
    except BaselineError as exc:
        raise _fail(str(exc)) from None
    targets, config, rules = _baseline_setup(paths, config_file, select, ignore, no_inline_ignores)
    cwd = Path.cwd()
    files, _ = run_scan(targets, config, rules, cwd, jobs)
    marked, used = apply_baseline(files, entries, file.absolute(), cwd)
    stale = stale_entries(entries, used, [fr.path for fr in files], targets, file.absolute(), cwd)
    for e in stale:
        click.echo(f"stale: {e.path}: {e.rule} (fingerprint {e.fingerprint}, occurrence {e.occurrence}) removed")
    kept = [e for e in entries if e not in set(stale)]
    new = [f for fr in marked for f in fr.findings if f.suppression is None]
    if add_new:
        kept += create_entries(marked, file.absolute().parent, cwd)
    file.write_text(dump_baseline(kept), encoding="utf-8")
    extra = f"{len(new)} new finding{'s' if len(new) != 1 else ''} " + ("added" if add_new else "not added "
                                                                        "(use --add-new to accept them)")
    click.echo(f"datasec-scan: baseline {file}: {len(stale)} stale entr{'ies' if len(stale) != 1 else 'y'} "
               f"removed, {len(set(kept))} kept; {extra}", err=True)
