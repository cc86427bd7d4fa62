"""Precision on real code: scan popular sdists and count the high/critical findings per package and per rule.

Usage:
    python bench/real_packages.py [--cache /tmp/corpus] [--select DS1] [--list] [PACKAGE ...]

Downloads each package's source distribution once into the cache folder through datasec-scan's
own index client (the JSON API, sha256 checked; unlike `pip download --no-binary`, which prepares
the sdist's metadata by running its build backend, nothing is built), extracts it into a temporary folder as plain data (`tarfile` filter "data",
`zipfile` with path checks), runs `datasec-scan scan --format json` on it and prints:

- per package: files scanned, high and critical findings;
- per rule: high and critical findings over the whole corpus;
- with `--list`: every high/critical finding, one line each, for a verdict.

Every finding at high or above in code nobody here wrote is a false positive unless the package
really does what the rule describes; the aim is zero.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

DEFAULT_PACKAGES = ("pip", "setuptools", "requests", "django", "ipython", "paramiko", "celery", "boto3", "urllib3",
                    "sentry-sdk", "flask", "jinja2", "fabric", "tornado")
HIGH = ("high", "critical")


def scanner() -> list[str]:
    """The datasec-scan of this interpreter's environment (so the checkout under test is what runs)."""
    found = Path(sys.executable).with_name("datasec-scan")
    # (`-P`: `-m` would put the working folder, the unpacked package, first on sys.path, where its modules would
    # shadow the standard library's and run)
    return [str(found)] if found.exists() else [sys.executable, "-P", "-m", "datasec_scan.cli"]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name.lower())  # `discord.py`, `keyrings.alt` (PEP 503, with `_`)


def cached_sdist(cache: Path, package: str) -> Path | None:
    stem = _normalized(package)
    for candidate in sorted(cache.iterdir()):
        name = _normalized(candidate.name)
        if name.startswith(stem + "_") and name.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz")):
            rest = name[len(stem) + 1:]
            if rest[:1].isdigit():
                return candidate
    return None


def download(cache: Path, package: str) -> Path | None:
    found = cached_sdist(cache, package)
    if found is not None:
        return found
    from datasec_scan.packages import PackagesError, configured_index_url, fetch

    try:
        fetch(package, configured_index_url(), cache, wheels="none")
    except (PackagesError, OSError) as exc:
        print(f"  {package}: download failed: {exc}", file=sys.stderr)
        return None
    return cached_sdist(cache, package)


def extract(archive: Path, into: Path) -> Path:
    """Unpack an sdist as data: no links out, no devices, no absolute or `..` paths; nothing is executed."""
    into.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                target = (into / member.filename).resolve()
                if not str(target).startswith(str(into.resolve()) + os.sep) or member.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    return into


def scan(folder: Path, select: str) -> dict:
    cmd = scanner() + ["scan", "--format", "json", "--no-cache", "--fail-on", "critical"]
    if select:
        cmd += ["--select", select]
    done = subprocess.run(cmd + [str(folder)], capture_output=True, text=True, timeout=3600, cwd=folder, check=False)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = None
    if report is None or done.returncode not in (0, 1, 2):
        raise RuntimeError(f"datasec-scan failed on {folder} ({done.returncode}): {done.stderr.strip()[-500:]}")
    if done.returncode == 2:  # a rule failed on some file: the other findings stand, and the failure is said
        print(f"  {folder.name}: {done.stderr.strip()[-300:]}", file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", default=list(DEFAULT_PACKAGES))
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("DATASEC_CORPUS", "/tmp/corpus")))
    parser.add_argument("--select", default="DS1", help="rule prefix to report on (empty: all rules)")
    parser.add_argument("--list", action="store_true", help="print every high/critical finding")
    parser.add_argument("--json", type=Path, help="also write the per-package numbers here")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)

    per_rule: collections.Counter[tuple[str, str]] = collections.Counter()
    rows = []
    listed = []
    with tempfile.TemporaryDirectory(prefix="datasec-corpus-") as tmp:
        for package in args.packages:
            archive = download(args.cache, package)
            if archive is None:
                continue
            folder = extract(archive, Path(tmp) / archive.name.split(".tar")[0].removesuffix(".zip"))
            report = scan(folder, args.select)
            findings = [f for f in report["findings"] if f["suppressed"] is None]
            high = [f for f in findings if f["severity"] in HIGH]
            for f in high:
                per_rule[(f["rule"], f["severity"])] += 1
                listed.append(f"{archive.name}: {f['path']}:{f['line']} {f['rule']} {f['severity']}: {f['message']}")
            rows.append({"package": archive.name, "files": report["files_scanned"],
                         "critical": sum(f["severity"] == "critical" for f in high),
                         "high": sum(f["severity"] == "high" for f in high),
                         "medium_or_low": len(findings) - len(high)})
            print(f"  scanned {archive.name}: {rows[-1]['critical']} critical, {rows[-1]['high']} high",
                  file=sys.stderr, flush=True)

    width = max((len(r["package"]) for r in rows), default=10)
    print(f"{'package':<{width}}  {'files':>6}  {'critical':>8}  {'high':>5}  {'med/low':>7}")
    for r in rows:
        print(f"{r['package']:<{width}}  {r['files']:>6}  {r['critical']:>8}  {r['high']:>5}  {r['medium_or_low']:>7}")
    total = sum(r["critical"] + r["high"] for r in rows)
    print(f"\n{len(rows)} packages, {sum(r['files'] for r in rows)} files, {total} high/critical findings"
          f"{' (rules ' + args.select + '*)' if args.select else ''}")
    for (rule, severity), n in sorted(per_rule.items()):
        print(f"  {rule} {severity}: {n}")
    if args.list:
        print()
        print("\n".join(sorted(listed)))
    if args.json:
        args.json.write_text(json.dumps({"packages": rows, "per_rule": {f"{r} {s}": n for (r, s), n in
                                                                         sorted(per_rule.items())}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
