"""The real install path: build a wheel, install it into a fresh virtual environment, scan from there."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_into_fresh_venv_and_scans(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
                   check=True, timeout=600)
    (wheel,) = dist.glob("datasec_scan-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("datasec_rules/") for n in names), "built-in pack must install as datasec_rules"
    assert not any(n.startswith("rules/") for n in names), "the generic name `rules` must not be installed"
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    py = env / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=900)
    sample = tmp_path / "sample"
    sample.mkdir()
    (sample / "settings.py").write_text('AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n')
    scan = subprocess.run([str(env / "bin" / "datasec-scan"), "scan", str(sample), "--format", "json"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert scan.returncode in (0, 1), scan.stderr
    assert '"DS201"' in scan.stdout and "AKIAIOSFODNN7EXAMPLE" not in scan.stdout
    listed = subprocess.run([str(env / "bin" / "datasec-scan"), "rules"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "DS201" in listed.stdout


def test_record_mismatch_severity_follows_what_the_file_does_and_where_the_wheel_is() -> None:
    from datasec_rules.record_mismatch import _mismatch_severity

    from datasec_scan.model import Severity

    wheel = "dist/demo-1.0-py3-none-any.whl"
    fixture = "poetry-2.5.1.tar.gz!/poetry-2.5.1/tests/fixtures/distributions/demo-1.0-py3-none-any.whl"
    assert _mismatch_severity(wheel, "demo/__init__.py") == Severity.HIGH
    assert _mismatch_severity(wheel, "demo-1.0.data/scripts/demo") == Severity.HIGH
    assert _mismatch_severity(wheel, "demo-1.0.dist-info/METADATA") == Severity.MEDIUM
    assert _mismatch_severity(fixture, "demo/__init__.py") == Severity.MEDIUM
    assert _mismatch_severity(fixture, "demo-1.0.dist-info/METADATA") == Severity.LOW
