"""Scan many files: read, fan out over processes, gather FileResults in a stable order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from .archives import is_container, read_member, scan_container
from .cache import Cache, code_fingerprint, default_dir
from .config import Config
from .discover import Target, read_target
from .model import FileResult, Level, Notification

if TYPE_CHECKING:  # pragma: no cover
    from .plugins import RuleSet

PARALLEL_FROM = 40  # below this many files a pool costs more than it saves


def scan_target(target: Target, rules: RuleSet, config: Config, cache: Cache | None = None) -> FileResult:
    from .engine import scan_file  # here: a run answered from the cache never imports the parser
    if is_container(target):  # an archive or installed distribution as a whole: archive rules, limits met
        return scan_container(target, rules, config)
    data = read_member(target, config.limits) if target.member else read_target(target, config.limits.max_file_bytes)
    if isinstance(data, Notification):
        return FileResult(target.display, notifications=(data,))
    if cache is None:
        return scan_file(target.display, data, rules, config)
    key = cache.key(target.display, data)
    result = cache.get(key)
    if result is None:
        result = scan_file(target.display, data, rules, config)
        if not any(n.kind == "timeout" for n in result.notifications):  # machine-dependent: not for reuse
            cache.put(key, result)
    return result


def _scan_chunk(args: tuple[list[Target], RuleSet, Config, Cache | None]) -> list[FileResult]:
    targets, rules, config, cache = args
    return [scan_target(t, rules, config, cache) for t in targets]


def open_cache(config: Config, select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
               folder: Path | None = None) -> Cache:
    """A cache whose entries are only valid for this code, these rule packs, this rule selection and this
    configuration: everything that decides which rules run and how. Found without importing the rules."""
    from .plugins import pack_sources

    packs, folders = pack_sources()
    salt = "|".join([code_fingerprint(list(folders)), repr(packs), repr((select, ignore)), config.cache_key()])
    return Cache(folder or default_dir(), salt)


def cached_result(target: Target, config: Config, cache: Cache) -> FileResult | None:
    """The stored result of a file whose content, path and salt match; None for a miss or an archive."""
    if is_container(target):
        return None
    data = read_member(target, config.limits) if target.member else read_target(target, config.limits.max_file_bytes)
    return None if isinstance(data, Notification) else cache.get(cache.key(target.display, data))


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def scan_targets(targets: list[Target], rules: RuleSet | Callable[[], RuleSet], config: Config, jobs: int = 0,
                 cache: Cache | None = None) -> Iterator[FileResult]:
    """FileResults for the targets, in the targets' order. `rules` may be a function that loads them: when a
    filled cache answers for every file, the rules (and the parser) are never imported."""
    found: dict[int, FileResult] = {}
    if cache is not None and cache.folder.is_dir():  # an empty cache answers nothing: skip the look-up pass
        for i, t in enumerate(targets):
            hit = cached_result(t, config, cache)
            if hit is not None:
                found[i] = hit
    todo = [t for i, t in enumerate(targets) if i not in found]
    missed = _scan_all(todo, rules() if todo and callable(rules) else rules, config, jobs, cache) if todo else iter(())
    for i in range(len(targets)):
        yield found[i] if i in found else next(missed)


def _scan_all(targets: list[Target], rules: RuleSet, config: Config, jobs: int, cache: Cache | None
              ) -> Iterator[FileResult]:
    jobs = jobs or default_jobs()
    if jobs == 1 or len(targets) < PARALLEL_FROM:
        for t in targets:
            yield scan_target(t, rules, config, cache)
        return
    yield from _scan_pooled(targets, rules, config, jobs, cache)


# A worker that dies (SIGKILL, out of memory, a crash in a native parser) breaks the whole pool: every
# unfinished task fails with BrokenProcessPool. Workers mark the files they start in shared memory, so after a
# break the file each dead chunk was on is known: it is retried alone in a fresh process (and reported if
# that dies too), and the other unfinished files go to a new pool. No other file loses its result.
_started = None  # the worker's view of the shared "file i was started" bytes (set by _init_worker)


def _init_worker(started) -> None:  # pragma: no cover - runs in workers
    global _started
    _started = started


def _scan_indexed(args: tuple[list[int], list[Target], RuleSet, Config, Cache | None]) -> list[FileResult]:
    indexes, targets, rules, config, cache = args
    out = []
    for i, t in zip(indexes, targets):
        if _started is not None:
            _started[i] = 1
        out.append(scan_target(t, rules, config, cache))
    return out


def _isolated(target: Target, rules: RuleSet, config: Config, cache: Cache | None) -> FileResult:
    """Scan one file in a fresh process of its own; if that process dies too, say so."""
    from concurrent.futures import ProcessPoolExecutor  # (pools are imported when used: a one-file run needs none)
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            return pool.submit(scan_target, target, rules, config, cache).result()
    except BrokenProcessPool:
        return FileResult(target.display, notifications=(Notification(
            target.display, "worker-crashed", "the process scanning this file died (killed, out of memory or a "
            "crash in a parser), also when retried alone; file not scanned", Level.ERROR),))
    except Exception as exc:  # e.g. a result that cannot be sent back from the worker
        return FileResult(target.display, notifications=(Notification(
            target.display, "internal-error", f"scan failed in a worker: {type(exc).__name__}: {str(exc)[:200]}",
            Level.ERROR),))


def _size(target: Target) -> int:
    try:
        return target.path.stat().st_size if not target.member else 0
    except OSError:
        return 0


def _balanced_chunks(todo: list[int], targets: list[Target], jobs: int) -> list[list[int]]:
    """Largest files first, in chunks of about equal bytes: the pool ends on small tasks, so no worker
    sits idle while another finishes a big file (results are put back in order as they come)."""
    sizes = {i: _size(targets[i]) + 1_000 for i in todo}  # + a per-file cost: reading, decoding, bookkeeping
    budget = sum(sizes.values()) // (jobs * 16) + 1
    chunks: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i in sorted(todo, key=lambda i: (-sizes[i], i)):
        current.append(i)
        total += sizes[i]
        if total >= budget or len(current) >= 64:
            chunks.append(current)
            current, total = [], 0
    return chunks + [current] if current else chunks


def _scan_pooled(targets: list[Target], rules: RuleSet, config: Config, jobs: int, cache: Cache | None
                 ) -> Iterator[FileResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    results: dict[int, FileResult] = {}
    todo = list(range(len(targets)))
    shown = 0
    while todo:
        chunks = _balanced_chunks(todo, targets, jobs)
        started = multiprocessing.RawArray("b", len(targets))
        unfinished: list[list[int]] = []
        with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(started,)) as pool:
            futures = [pool.submit(_scan_indexed, (c, [targets[i] for i in c], rules, config, cache)) for c in chunks]
            for chunk, future in zip(chunks, futures):
                try:
                    results.update(zip(chunk, future.result()))
                except Exception:  # BrokenProcessPool, or a result that could not come back: retry these files
                    unfinished.append(chunk)
                while shown in results:
                    yield results[shown]
                    shown += 1
        # a chunk runs in its own order: the file it died on is the last one it started
        suspects = {next(i for i in reversed(chunk) if started[i]) for chunk in unfinished
                    if any(started[i] for i in chunk)}
        if unfinished and not suspects:  # the pool broke before any file started: trust nothing
            suspects = {i for chunk in unfinished for i in chunk}
        for i in sorted(suspects):
            results[i] = _isolated(targets[i], rules, config, cache)
        todo = [i for chunk in unfinished for i in chunk if i not in suspects]
        while shown in results:
            yield results[shown]
            shown += 1


def collect(results: Iterable[FileResult]) -> tuple[FileResult, ...]:
    return tuple(sorted(results, key=lambda r: r.path))
