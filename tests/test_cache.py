"""The per-file cache: warm runs give identical output, edits invalidate, bad entries are misses, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from datasec_scan.cache import Cache
from datasec_scan.cli import main
from datasec_scan.model import FileResult

FAKE = "AKIAIOSFODNN7EXAMPLE"  # the documented example key: reported (low), never a real secret


def run(*args: str) -> str:
    return CliRunner().invoke(main, list(args), catch_exceptions=False).output


def test_warm_scan_is_identical_and_uses_entries(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text(f'token = "{FAKE}"\n')
    (src / "b.py").write_text("print(1)\n")
    cache = tmp_path / "cache"
    cold = run("scan", str(src), "--format", "json", "--cache-dir", str(cache))
    entries = list(cache.glob("*/*.json"))
    assert len(entries) == 2
    warm = run("scan", str(src), "--format", "json", "--cache-dir", str(cache))
    assert warm == cold
    uncached = run("scan", str(src), "--format", "json", "--no-cache")
    assert uncached == cold
    for entry in entries:
        assert FAKE not in entry.read_text()


def test_changed_file_is_rescanned(tmp_path: Path) -> None:
    src = tmp_path / "a.py"
    src.write_text("x = 1\n")
    cache = tmp_path / "cache"
    assert json.loads(run("scan", str(src), "--format", "json", "--cache-dir", str(cache)))["findings"] == []
    src.write_text(f'token = "{FAKE}"\n')
    found = json.loads(run("scan", str(src), "--format", "json", "--cache-dir", str(cache)))["findings"]
    assert [f["rule"] for f in found] == ["DS201"]


def test_corrupt_or_foreign_entries_are_misses(tmp_path: Path) -> None:
    cache = Cache(tmp_path, "salt")
    key = cache.key("a.py", b"x")
    cache.put(key, FileResult("a.py", lines=1))
    assert cache.get(key) == FileResult("a.py", lines=1)
    next(tmp_path.glob("*/*.json")).write_text("{not json")
    assert cache.get(key) is None


def test_key_depends_on_salt_path_and_content() -> None:
    a = Cache(Path("/nonexistent"), "s1")
    b = Cache(Path("/nonexistent"), "s2")
    assert a.key("p.py", b"x") != b.key("p.py", b"x")
    assert a.key("p.py", b"x") != a.key("q.py", b"x")
    assert a.key("p.py", b"x") != a.key("p.py", b"y")


def test_prune_keeps_the_cache_bounded(tmp_path: Path) -> None:
    cache = Cache(tmp_path, "s")
    for i in range(20):
        cache.put(cache.key(f"{i}.py", b""), FileResult(f"{i}.py", lines=i))
    cache.prune(max_bytes=500)
    remaining = sum(p.stat().st_size for p in tmp_path.glob("*/*.json"))
    assert 0 < remaining <= 500
