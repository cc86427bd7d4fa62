"""Nothing runs: scanning a tree (and its wheel/sdist) whose every entry point would leave a marker never leaves one."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

HOOKS = {
    # each file, if executed or imported, creates <MARKERS>/<name> (the path is filled in per test)
    "setup.py": "import pathlib\npathlib.Path({marker!r}).write_text('setup.py ran')\n"
                "from setuptools import setup\nsetup(name='victim', version='1.0')\n",
    "victim/__init__.py": "import pathlib\npathlib.Path({marker!r}).write_text('package imported')\n",
    "victim/sub/__init__.py": "import pathlib\npathlib.Path({marker!r}).write_text('subpackage imported')\n",
    "victim/__main__.py": "import pathlib\npathlib.Path({marker!r}).write_text('__main__ ran')\n",
    "victim.pth": "import pathlib; pathlib.Path({marker!r}).write_text('pth line ran')\n",
    "conftest.py": "import pathlib\npathlib.Path({marker!r}).write_text('conftest imported')\n",
    "sitecustomize.py": "import pathlib\npathlib.Path({marker!r}).write_text('sitecustomize imported')\n",
    "usercustomize.py": "import pathlib\npathlib.Path({marker!r}).write_text('usercustomize imported')\n",
    "tests/test_victim.py": "import pathlib\npathlib.Path({marker!r}).write_text('test module imported')\n",
    "noxfile.py": "import pathlib\npathlib.Path({marker!r}).write_text('noxfile imported')\n",
    "docs/conf.py": "import pathlib\npathlib.Path({marker!r}).write_text('sphinx conf ran')\n",
    # a payload that would run if decoded payloads were executed rather than analysed
    "victim/payload.py": "import base64\nexec(base64.b64decode({payload!r}))\n",
    "victim/pickled.py": "import pickle\npickle.loads({pickled!r})\n",
}


def build_tree(root: Path, markers: Path) -> list[Path]:
    import base64
    import pickle

    class Marker:  # unpickling this would call pathlib.Path(...).write_text(...)
        def __reduce__(self):
            import pathlib

            return (pathlib.Path.write_text, (pathlib.Path(markers / "pickle"), "unpickled"))

    made = []
    for rel, template in HOOKS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = str(markers / rel.replace("/", "_"))
        payload = base64.b64encode(f"open({marker + '-payload'!r}, 'w').write('decoded payload ran')".encode()).decode()
        try:
            pickled = pickle.dumps(Marker())
        except Exception:  # pragma: no cover - the class is local; pickle by reference may refuse it
            pickled = b""
        path.write_text(template.format(marker=marker, payload=payload, pickled=pickled))
        made.append(path)
    (root / "pyproject.toml").write_text("[build-system]\nrequires = ['setuptools']\nbuild-backend = "
                                         "'setuptools.build_meta'\n[project]\nname = 'victim'\nversion = '1.0'\n")
    return made


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("datasec-scan")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "datasec_scan.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["DATASEC_SCAN_CACHE_DIR"] = str(cwd / "cache")
    return subprocess.run(cmd + list(args), cwd=cwd, capture_output=True, timeout=300, env=env)


def make_wheel(tree: Path, out: Path) -> Path:
    wheel = out / "victim-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path in sorted(tree.rglob("*")):
            if path.is_file() and path.name not in ("setup.py", "pyproject.toml"):
                zf.write(path, path.relative_to(tree).as_posix())
        zf.writestr("victim-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: victim\nVersion: 1.0\n")
        zf.writestr("victim-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                    "Tag: py3-none-any\n")
        zf.writestr("victim-1.0.dist-info/RECORD", "")
    return wheel


def make_sdist(tree: Path, out: Path) -> Path:
    sdist = out / "victim-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                tf.add(path, f"victim-1.0/{path.relative_to(tree).as_posix()}")
        info = tarfile.TarInfo("victim-1.0/PKG-INFO")
        data = b"Metadata-Version: 2.1\nName: victim\nVersion: 1.0\n"
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return sdist


@pytest.fixture()
def victim(tmp_path: Path) -> tuple[Path, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    tree = tmp_path / "victim-src"
    build_tree(tree, markers)
    return tree, markers


def test_the_markers_would_appear_if_the_code_ran(victim: tuple[Path, Path]) -> None:
    """Control: the hooks are live. Run one in a throwaway interpreter and see its marker (never by the scanner)."""
    tree, markers = victim
    subprocess.run([sys.executable, "-I", str(tree / "conftest.py")], check=True, timeout=60)
    assert (markers / "conftest.py").exists()
    (markers / "conftest.py").unlink()


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_scanning_the_tree_runs_nothing(victim: tuple[Path, Path], fmt: str) -> None:
    tree, markers = victim
    if fmt == "sarif" and not importlib.util.find_spec("datasec_scan.reporters.sarif"):
        pytest.skip("SARIF reporter not present")
    done = cli("scan", str(tree), "--format", fmt, "-j", "2", cwd=tree.parent)
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    assert list(markers.iterdir()) == []
    if fmt == "json":
        report = json.loads(done.stdout)
        assert report["files_scanned"] >= len(HOOKS) - 1
        assert any(f["rule"].startswith("DS1") for f in report["findings"])  # it did look inside


@pytest.mark.skipif(not importlib.util.find_spec("datasec_scan.archives"), reason="archive scanning not present")
def test_scanning_the_wheel_and_sdist_runs_nothing(victim: tuple[Path, Path], tmp_path: Path) -> None:
    tree, markers = victim
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel, sdist = make_wheel(tree, dist), make_sdist(tree, dist)
    done = cli("scan", str(wheel), str(sdist), "--format", "json", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    assert list(markers.iterdir()) == []
    report = json.loads(done.stdout)
    for archive in (wheel, sdist):
        assert any(f"{archive.name}!/" in f["path"] for f in report["findings"]), report["findings"][:3]
    assert not [p for p in tmp_path.rglob("*") if p.suffix == ".py" and "victim-src" not in str(p)
                and "markers" not in str(p)], "archive members were extracted to disk"


def test_python_dash_m_inside_the_vetted_tree_runs_nothing(victim: tuple[Path, Path]) -> None:
    """`python -m datasec_scan.cli scan .` run inside the tree: `-m` puts the working folder first on sys.path, where
    a module named like one the scanner imports (and a distribution naming a rule pack) would shadow the real one."""
    tree, markers = victim
    for name in ("click.py", "json/__init__.py", "dataclasses.py"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(f"import pathlib\npathlib.Path({str(markers / 'shadow')!r}).write_text({name!r})\n")
    info = tree / "evil-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[datasec_scan.rules]\nevil = victim:RULES\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONSAFEPATH")}
    env["DATASEC_SCAN_CACHE_DIR"] = str(tree.parent / "cache")
    done = subprocess.run([sys.executable, "-m", "datasec_scan.cli", "scan", ".", "--format", "json"], cwd=tree,
                          capture_output=True, timeout=300, env=env)
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    assert list(markers.iterdir()) == []
