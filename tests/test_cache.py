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


def test_a_wholly_cached_scan_imports_neither_rules_nor_parser(tmp_path: Path) -> None:
    """Every file answered from the cache: the rules' descriptions come from the cache too, so neither the rule
    packs nor libcst are imported (start-up is most of a warm run). One changed file loads the rules again, and
    libcst only when some rule's screens let the file through to the parse."""
    import subprocess
    import sys

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text(f'token = "{FAKE}"\nimport os\nos.system("id")\n')
    (src / "b.py").write_text("print(1)\n")
    probe = ("import sys\nfrom datasec_scan.cli import main\ntry:\n    main()\nfinally:\n"
             "    print(sorted(m for m in ('tarfile', 'zipfile', 'tempfile', 'importlib.metadata', 'datasec_scan.packages') if m in sys.modules),"
             " file=sys.stderr)\n"
             "    print(sorted(m for m in ('libcst', 'datasec_rules') if m in sys.modules), file=sys.stderr)\n")

    def scan() -> tuple[str, str]:
        done = subprocess.run([sys.executable, "-c", probe, "scan", str(src), "--format", "json", "--cache-dir",
                               str(tmp_path / "cache")], capture_output=True, text=True, timeout=120)
        return done.stdout, done.stderr.strip().splitlines()[-1]

    cold, cold_modules = scan()
    warm, warm_modules = scan()
    assert cold_modules == "['datasec_rules', 'libcst']"
    # nor the archive readers, the package verdicts or the cache's writer, which a source tree's warm run never uses
    assert subprocess.run([sys.executable, "-c", probe, "scan", str(src), "--format", "json", "--cache-dir",
                           str(tmp_path / "cache")], capture_output=True, text=True).stderr.splitlines()[-2] == "[]"
    assert warm_modules == "[]" and warm == cold and json.loads(warm)["rules"]
    (src / "b.py").write_text("print(2)\n")
    changed, changed_modules = scan()
    assert changed_modules == "['datasec_rules']" and json.loads(changed)["findings"] == json.loads(cold)["findings"]
    (src / "b.py").write_text("import os\nos.system(input())\n")
    assert scan()[1] == "['datasec_rules', 'libcst']"


def test_rule_descriptions_round_trip_through_the_cache(tmp_path: Path) -> None:
    from datasec_scan.cli import load_rules

    infos = tuple(r.info() for r in load_rules().rules)
    cache = Cache(tmp_path, "salt")
    assert cache.rule_infos() is None
    cache.put_rule_infos(infos)
    assert cache.rule_infos() == infos
    assert Cache(tmp_path, "other salt").rule_infos() is None


def test_the_code_fingerprint_follows_the_packs_files_without_importing_them(tmp_path: Path) -> None:
    import os

    from datasec_scan.cache import code_fingerprint
    from datasec_scan.plugins import pack_sources

    packs, sources = pack_sources()
    assert "builtin" in {name for name, _ in packs}
    assert any(Path(s, "provider_token.py").exists() for s in sources)  # its package folder, found by name
    single = tmp_path / "mypack.py"  # a single-module pack: only its own file counts, not its folder
    single.write_text("RULES = []\n")
    (tmp_path / "unrelated.py").write_text("x = 1\n")
    before = code_fingerprint([str(single)])
    (tmp_path / "unrelated.py").write_text("x = 22\n")
    assert code_fingerprint([str(single)]) == before
    single.write_text("RULES = [] \n")
    os.utime(single, ns=(1, 1))
    assert code_fingerprint([str(single)]) != before
