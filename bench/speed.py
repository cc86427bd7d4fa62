"""Speed benchmark: datasec-scan cold, warm, one-file and scaled runs beside Bandit, ruff and Semgrep.

Run by hand (it is not a test):  python bench/speed.py [--corpus stdlib|django|PATH ...] [--repeat 3]
Prints a Markdown table of wall time, CPU time, peak RSS of the largest process, lines/s and ratios.
Corpora: `stdlib` is the running interpreter's Lib/ (site-packages excluded); `django` is Django's
source, taken from its wheel (downloaded once with pip into --cache; a wheel is only unpacked).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str | None:
    found = BIN / name
    return str(found) if found.exists() else shutil.which(name)


def python_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.py") if "site-packages" not in p.parts]


def count_lines(root: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in python_files(root))


def stdlib_corpus(work: Path) -> Path:
    """A copy of Lib/ without site-packages, so every tool sees the same files."""
    target = work / "stdlib"
    if not target.exists():
        lib = Path(sysconfig.get_paths()["stdlib"])
        shutil.copytree(lib, target, ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc"),
                        symlinks=True)
    return target


def django_corpus(cache: Path, work: Path) -> Path:
    """Django's source from its wheel: a wheel is unpacked, never built (an sdist download would run a build)."""
    target = work / "django"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("[Dd]jango-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                        "-d", str(cache), "django==5.1.4"], check=True)
        wheels = sorted(cache.glob("[Dd]jango-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        members = [m for m in wheel.namelist() if m.startswith("django/") and ".." not in m]
        wheel.extractall(work / "django-wheel", members=members)
    shutil.move(str(work / "django-wheel" / "django"), target)
    return target


def scaled(root: Path, factor: int, work: Path) -> Path:
    target = work / f"{root.name}-x{factor}"
    if not target.exists():
        for i in range(factor):
            shutil.copytree(root, target / f"copy{i}", symlinks=True)
    return target


def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    """Wall and CPU seconds and peak RSS (MB, largest process) of one command, via GNU time when present."""
    gnu_time = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        full = [str(gnu_time), "-f", "%e %U %S %M", "-o", stats.name, *cmd] if gnu_time.exists() else cmd
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(full, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rss = after.ru_maxrss / 1024
        if gnu_time.exists():
            parts = stats.read().split()
            if len(parts) >= 4:
                rss = float(parts[-1]) / 1024  # the measured process itself; workers are reported below
    if proc.returncode not in (0, 1):
        print(f"  ! {' '.join(cmd[:3])} exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-300:]}",
              file=sys.stderr)
    return {"wall": wall, "cpu": cpu, "rss": rss}


def median_run(cmd: list[str], cwd: Path, repeat: int, env: dict[str, str] | None = None, prepare=None) -> dict:
    runs = []
    for _ in range(repeat):
        if prepare:
            prepare()
        runs.append(measure(cmd, cwd, env))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def worker_peak_rss(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Peak RSS in MB of the largest process in the run, workers included (RUSAGE_CHILDREN of a wrapper)."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    return int(out.stdout.strip() or 0) / 1024


def bench_corpus(name: str, root: Path, repeat: int, work: Path) -> list[tuple]:
    scan = tool("datasec-scan")
    lines = count_lines(root)
    files = len(python_files(root))
    cache = work / f"cache-{name}"
    env = dict(os.environ, CI="true")
    rows = []

    def clear() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    base = [scan, "scan", str(root), "--format", "json", "--cache-dir", str(cache)]
    cold = median_run(base, work, repeat, env, prepare=clear)
    cold["rss"] = max(cold["rss"], worker_peak_rss([*base[:-2], "--no-cache"], work, env))
    rows.append((name, "datasec-scan cold", cold))
    warm = median_run(base, work, repeat, env)
    rows.append((name, "datasec-scan warm", warm))
    one = sorted(python_files(root), key=lambda p: abs(p.stat().st_size - 8000))[0]
    original = one.read_bytes()
    edits = iter(range(1_000_000))

    def edit_one() -> None:  # a new edit each run, so the file is always a cache miss
        one.write_bytes(original + f"\n# bench edit {next(edits)}\n".encode())

    try:
        changed = median_run(base, work, repeat, env, prepare=edit_one)
    finally:
        one.write_bytes(original)
    rows.append((name, "datasec-scan warm, one file changed", changed))
    one_file = median_run([scan, "scan", str(one), "--no-cache"], work, repeat, env)
    rows.append((name, "datasec-scan one file (pre-commit)", one_file))
    single = median_run([scan, "scan", str(root), "--format", "json", "--no-cache", "-j", "1"], work, 1, env)
    rows.append((name, "datasec-scan cold, 1 job", single))

    outputs = []
    for args in (base, base, [scan, "scan", str(root), "--format", "json", "--no-cache", "-j", "1"]):
        outputs.append(subprocess.run(args, cwd=work, env=env, capture_output=True).stdout)
    identical = len(set(outputs)) == 1
    if tool("bandit"):
        rows.append((name, "bandit -r", median_run([tool("bandit"), "-r", "-q", "-f", "json", str(root)], work,
                                                   repeat)))
    if tool("ruff"):
        rows.append((name, "ruff --select S", median_run([tool("ruff"), "check", "--no-cache", "--select", "S",
                                                         "--exit-zero", "-q", str(root)], work, repeat)))
    if tool("semgrep"):
        rows.append((name, "semgrep (local rules)", median_run([tool("semgrep"), "--config", str(HERE / "semgrep.yml"),
                                                               "--metrics=off", "-q", str(root)], work, 1)))
    print(f"\n### {name}: {files:,} Python files, {lines:,} lines; cold/warm/parallel JSON identical: {identical}\n")
    bandit = next((r[2]["wall"] for r in rows if r[1] == "bandit -r"), None)
    print("| tool | wall s | CPU s | peak RSS MB | lines/s | × cold | × Bandit |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for _, label, m in rows:
        ratio_bandit = f"{m['wall'] / bandit:.2f}" if bandit else "-"
        per_second = f"{lines / m['wall']:,.0f}" if "one file" not in label else "-"
        print(f"| {label} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['rss']:.0f} | {per_second} | "
              f"{m['wall'] / cold['wall']:.3f} | {ratio_bandit} |")
    return rows


def bench_scaling(root: Path, work: Path) -> None:
    scan = tool("datasec-scan")
    print(f"\n### scaling on {root.name} (cold, no cache)\n")
    print("| corpus | files | wall s | files/s |")
    print("|---|---:|---:|---:|")
    for factor in (1, 2, 4):
        tree = scaled(root, factor, work) if factor > 1 else root
        files = len(python_files(tree))
        m = measure([scan, "scan", str(tree), "--format", "json", "--no-cache"], work, dict(os.environ, CI="true"))
        print(f"| {factor}× | {files:,} | {m['wall']:.2f} | {files / m['wall']:,.0f} |")


def compile_bytecode() -> None:
    """Byte-compile the installed scanner as pip does on a regular install, so start-up is timed as users see it."""
    import importlib.util

    for package in ("datasec_scan", "datasec_rules"):
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            subprocess.run([sys.executable, "-m", "compileall", "-q", location], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", help="stdlib, django, or a folder (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "datasec-bench")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "corpus" / "sdists")
    parser.add_argument("--scaling", action="store_true", help="also time 1x, 2x, 4x copies of the first corpus")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if not tool("datasec-scan"):
        sys.exit("datasec-scan is not installed in this environment")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compile_bytecode()
    roots = []
    for corpus in args.corpus or ["stdlib", "django"]:
        if corpus == "stdlib":
            roots.append(("stdlib", stdlib_corpus(args.work)))
        elif corpus == "django":
            roots.append(("django", django_corpus(args.cache, args.work)))
        else:
            roots.append((Path(corpus).name, Path(corpus).resolve()))
    results = {}
    for name, root in roots:
        results[name] = bench_corpus(name, root, args.repeat, args.work)
    if args.scaling and roots:
        bench_scaling(roots[0][1], args.work)
    (args.work / "last.json").write_text(json.dumps({k: [(r[1], r[2]) for r in v] for k, v in results.items()},
                                                    indent=2))


if __name__ == "__main__":
    main()
