"""Scan many files: read, fan out over processes, gather FileResults in a stable order."""

from __future__ import annotations

import os
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable, Iterator

from .archives import is_container, read_member, scan_container
from .cache import Cache, code_fingerprint, default_dir
from .config import Config
from .discover import Target, read_target
from .engine import scan_file
from .model import FileResult, Notification
from .plugins import RuleSet

PARALLEL_FROM = 40  # below this many files a pool costs more than it saves


def scan_target(target: Target, rules: RuleSet, config: Config, cache: Cache | None = None) -> FileResult:
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
        cache.put(key, result)
    return result


def _scan_chunk(args: tuple[list[Target], RuleSet, Config, Cache | None]) -> list[FileResult]:
    targets, rules, config, cache = args
    return [scan_target(t, rules, config, cache) for t in targets]


def open_cache(rules: RuleSet, config: Config, folder: Path | None = None) -> Cache:
    """A cache whose entries are only valid for this code, these rules and this configuration."""
    modules = sorted({r.__module__ for r in rules.rules})
    salt = "|".join([code_fingerprint(modules), ",".join(r.code for r in rules.rules), repr(rules.packs),
                     config.cache_key()])
    return Cache(folder or default_dir(), salt)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def scan_targets(targets: list[Target], rules: RuleSet, config: Config, jobs: int = 0,
                 cache: Cache | None = None) -> Iterator[FileResult]:
    """FileResults for the targets, in the targets' order."""
    jobs = jobs or default_jobs()
    if jobs == 1 or len(targets) < PARALLEL_FROM:
        for t in targets:
            yield scan_target(t, rules, config, cache)
        return
    size = max(1, min(64, len(targets) // (jobs * 8)))
    chunks = [targets[i:i + size] for i in range(0, len(targets), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for results in pool.map(_scan_chunk, [(c, rules, config, cache) for c in chunks]):
            yield from results


def collect(results: Iterable[FileResult]) -> tuple[FileResult, ...]:
    return tuple(sorted(results, key=lambda r: r.path))
