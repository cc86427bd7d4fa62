"""Vet popular packages as downloaded archives: per-package verdicts (sdist + wheel) and the time each scan takes.

Wheels come from `pip download --no-deps --only-binary :all:` (a wheel download runs no build step);
sdists come through datasec-scan's own fetch code (index JSON API, sha256 checked) — never through pip,
whose sdist download runs the package's build backend.

    python bench/vet_packages.py                 # the default list, into a temporary folder
    python bench/vet_packages.py --dir /tmp/vet requests flask
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from datasec_scan.packages import PackagesError, configured_index_url, fetch

POPULAR = ["requests", "urllib3", "idna", "certifi", "charset-normalizer", "six", "click", "flask", "jinja2",
           "markupsafe", "itsdangerous", "werkzeug", "attrs", "packaging", "pyyaml", "python-dateutil", "pytz",
           "setuptools", "wheel", "pip", "typing-extensions", "tomli", "colorama", "rich", "pygments", "paramiko"]


def download(name: str, folder: Path, index: str) -> tuple[str, list[Path], str]:
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    try:
        _, version, sdists = fetch(name, index, folder, wheels="none")
    except PackagesError as exc:
        version, sdists = "?", []
        problems.append(f"sdist: {exc}")
    spec = name if version == "?" else f"{name}=={version}"
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                           "--quiet", "-d", str(folder), spec], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        problems.append("wheel: " + (done.stderr.strip().splitlines() or ["pip failed"])[-1])
    wheels = sorted(folder.glob("*.whl"))
    return version, sdists + wheels, "; ".join(problems)


def scan(archives: list[Path], jobs: int) -> tuple[dict, float]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "datasec_scan.cli", "scan", "--format", "json", "--no-cache",
                           "--isolated", "-j", str(jobs), *[str(a) for a in archives]],
                          capture_output=True, text=True, timeout=3600, cwd=archives[0].parent)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr.strip()[-500:])
    return json.loads(done.stdout), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=POPULAR)
    parser.add_argument("--dir", type=Path, help="download folder (kept) [default: temporary]")
    parser.add_argument("-j", "--jobs", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()
    index = configured_index_url(None)
    rows = []
    with tempfile.TemporaryDirectory(prefix="datasec-vet-") as tmp:
        base = args.dir or Path(tmp)
        for name in args.names:
            version, archives, problem = download(name, base / name, index)
            if not archives:
                rows.append({"package": name, "version": version, "error": problem})
                print(f"{name:20} {version:10} download failed: {problem}", flush=True)
                continue
            report, elapsed = scan(archives, args.jobs)
            files = report.get("files_scanned", 0)
            for v in report["packages"]:
                kind = "wheel" if v["package"].endswith(".whl") else "sdist"
                row = {"package": name, "version": version, "archive": v["package"], "kind": kind,
                       "verdict": v["verdict"], "findings": v["by_severity"], "files": v["files"],
                       "notifications": v["notifications"], "summary": v["summary"], "seconds": round(elapsed, 2),
                       "files_in_scan": files}
                rows.append(row)
                sev = ",".join(f"{n}{s[0]}" for s, n in v["by_severity"].items()) or "-"
                print(f"{name:20} {version:10} {kind:5} {v['verdict']:8} {sev:12} {v['files']:5} files "
                      f"{elapsed:7.1f}s  {v['summary'][:150]}", flush=True)
            if problem:
                print(f"{'':20} {'':10} note: {problem}", flush=True)
    total = sum({(r['package'], r.get('seconds', 0)) for r in rows if 'seconds' in r}, ())[1::2]
    print(f"\n{len(args.names)} packages, {sum(1 for r in rows if 'archive' in r)} archives, "
          f"scan time {sum(total):.1f}s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
