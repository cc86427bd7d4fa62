"""Archives scanned in memory: malicious-looking packages caught, limits and path tricks reported, nothing extracted."""

from __future__ import annotations

import io
import json
import re
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasec_scan.archives import (build_archive, example_findings, expand, parse_txtar, read_archive,
                                   with_record)
from datasec_scan.cli import main
from datasec_scan.config import Config, Limits
from datasec_scan.discover import discover
from datasec_scan.plugins import RuleSet
from datasec_scan.scheduler import collect, scan_targets

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PACKAGES = sorted((FIXTURES / "packages").glob("*.txtar"))


def build_package(source: Path, folder: Path) -> tuple[Path, dict[str, list[str]]]:
    """Build a fixtures/packages/*.txtar archive into `folder`; returns its path and the header's directives."""
    comment, files = parse_txtar(source.read_text("utf-8"))
    header: dict[str, list[str]] = {}
    for line in comment.splitlines():
        m = re.match(r"^(archive|expect|note|record):\s*(.+)$", line.strip())
        if m:
            header.setdefault(m.group(1), []).append(m.group(2).strip())
    name = header["archive"][0]
    if name.endswith(".whl") and header.get("record") != ["as-is"]:
        files = with_record(files)
    path = folder / name
    path.write_bytes(build_archive(name, files))
    return path, header


def scan_json(runner: CliRunner, *args: str) -> tuple[int, dict]:
    result = runner.invoke(main, ["scan", "--format", "json", "--no-cache", "--isolated", *args],
                           catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("source", PACKAGES, ids=lambda p: p.stem)
def test_malicious_package_is_caught(source: Path, in_tmp: Path, ruleset: RuleSet) -> None:
    archive, header = build_package(source, in_tmp)
    code, report = scan_json(CliRunner(), archive.name)
    installed = {r.code for r in ruleset.rules}
    found = {(f["rule"], f["path"], f["line"]) for f in report["findings"]}
    for directive in header.get("expect", []):
        rule, where = directive.split(None, 1)
        member, _, line = where.partition(":")
        if rule not in installed:  # DS1xx rules come from another pack; DS15x are always there
            assert not rule.startswith("DS15"), rule
            continue
        path = f"{archive.name}!/{member}"
        assert any(r == rule and p == path and (not line or ln == int(line)) for r, p, ln in found), \
            f"{rule} expected at {path}:{line or '*'}; found {sorted(found)}"
    (verdict,) = [p for p in report["packages"] if p["package"] == archive.name]
    assert verdict["verdict"] != "clean" and verdict["findings"] >= 1
    assert code == (1 if verdict["verdict"] in ("critical", "high") else 0)
    assert sorted(p.name for p in in_tmp.iterdir()) == [archive.name], "nothing may be extracted or created"


@pytest.mark.parametrize("source", sorted(FIXTURES.glob("*.txtar")), ids=lambda p: p.stem)
def test_archive_rule_fixture(source: Path, ruleset: RuleSet) -> None:
    """fixtures/<rule>.txtar: `ruleid:`/`ok:` header lines name members (optionally `:line`) per rule."""
    text = source.read_text("utf-8")
    comment, _ = parse_txtar(text)
    name = re.search(r"(?m)^archive:\s*(\S+)", comment).group(1)
    found = {(f.rule, f.location.path.split("!/", 1)[1], f.location.line) for f in example_findings(name, text, ruleset)}
    checked = set()
    for kind, rule, where in re.findall(r"(?m)^(ruleid|ok):\s*(DS\d+)\s+(\S+)", comment):
        member, _, line = where.partition(":")
        hit = any(r == rule and m == member and (not line or ln == int(line)) for r, m, ln in found)
        assert hit == (kind == "ruleid"), f"{kind}: {rule} {where}; found {sorted(found)}"
        checked.add(rule)
    unexpected = {f for f in found if f[0] in checked and not any(
        f[1] == w.partition(":")[0] for k, r, w in re.findall(r"(?m)^(ruleid):\s*(DS\d+)\s+(\S+)", comment) if r == f[0])}
    assert not unexpected, f"reported but not annotated: {sorted(unexpected)}"


def test_member_paths_and_per_member_scan(in_tmp: Path) -> None:
    files = {"pkg-1.0/setup.py": b"from setuptools import setup\nsetup(name='pkg')\n",
             "pkg-1.0/pkg/__init__.py": b"KEY = 'AKIAIOSFODNN7EXAMPLE'\n", "pkg-1.0/README.rst": b"hi\n"}
    (in_tmp / "pkg-1.0.tar.gz").write_bytes(build_archive("pkg-1.0.tar.gz", files))
    targets, _ = discover([Path("pkg-1.0.tar.gz")], in_tmp)
    assert [t.display for t in targets] == ["pkg-1.0.tar.gz", "pkg-1.0.tar.gz!/pkg-1.0/pkg/__init__.py",
                                            "pkg-1.0.tar.gz!/pkg-1.0/setup.py"]
    assert targets[1].member == ("pkg-1.0/pkg/__init__.py",)
    code, report = scan_json(CliRunner(), "pkg-1.0.tar.gz")
    assert any(f["path"] == "pkg-1.0.tar.gz!/pkg-1.0/pkg/__init__.py" and f["rule"] == "DS201"
               for f in report["findings"])
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(report)


def test_formats_zip_tar_bz2_egg(in_tmp: Path) -> None:
    payload = {"demo/__init__.py": b"KEY = 'AKIAIOSFODNN7EXAMPLE'\n"}
    names = ["demo-1.0.zip", "demo-1.0.tgz", "demo-1.0.tar.bz2", "demo-1.0-py3.11.egg"]
    for name in names:
        (in_tmp / name).write_bytes(build_archive(name, payload))
    _, report = scan_json(CliRunner(), *names)
    assert {f["path"] for f in report["findings"] if f["rule"] == "DS201"} == {f"{n}!/demo/__init__.py" for n in names}
    assert sorted(p["package"] for p in report["packages"]) == sorted(names)


def _zip_with(entries: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return out.getvalue()


def test_zip_bomb_is_reported_and_scan_goes_on(in_tmp: Path) -> None:
    data = _zip_with([(zipfile.ZipInfo("bomb/zeros.py"), b"\0" * 8_000_000),
                      (zipfile.ZipInfo("bomb/ok.py"), b"KEY = 'AKIAIOSFODNN7EXAMPLE'\n")])
    (in_tmp / "bomb-1.0.zip").write_bytes(data)
    _, report = scan_json(CliRunner(), "bomb-1.0.zip")
    kinds = {(n["kind"], n["path"]) for n in report["notifications"]}
    assert ("archive-bomb", "bomb-1.0.zip!/bomb/zeros.py") in kinds
    assert any(f["path"] == "bomb-1.0.zip!/bomb/ok.py" for f in report["findings"])


def test_tar_stream_bomb_stops_reading() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        info = tarfile.TarInfo("big/zeros.bin")
        info.size = 6_000_000
        tf.addfile(info, io.BytesIO(b"\0" * info.size))
    listing = read_archive("big.tar.gz", io.BytesIO(out.getvalue()), Limits())
    assert [n.kind for n in listing.notifications] == ["archive-bomb"]


@pytest.mark.parametrize("limit,value,kind", [("max_archive_members", 3, "archive-limit"),
                                              ("max_archive_bytes", 100, "archive-limit"),
                                              ("max_member_bytes", 10, "too-large")])
def test_limits(limit: str, value: int, kind: str) -> None:
    files = {f"m/{i}.py": b"x = 1  # some text to pass small limits\n" for i in range(6)}
    limits = replace(Limits(), **{limit: value})
    listing = read_archive("m.zip", io.BytesIO(build_archive("m.zip", files)), limits)
    assert kind in {n.kind for n in listing.notifications}


def test_path_tricks_and_links_are_notifications(in_tmp: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for name, data in (("evil-1.0/../../../home/user/.bashrc.py", b"import os\n"),
                           ("/etc/evil.py", b"x = 1\n"), ("evil-1.0/setup.py", b"x = 1\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("evil-1.0/link.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
        hard = tarfile.TarInfo("evil-1.0/hard.py")
        hard.type, hard.linkname = tarfile.LNKTYPE, "evil-1.0/setup.py"
        tf.addfile(hard)
    (in_tmp / "evil-1.0.tar.gz").write_bytes(out.getvalue())
    symlink_zip = zipfile.ZipInfo("w/link.py")
    symlink_zip.external_attr = (0o120777 << 16)
    (in_tmp / "w-1.0-py3-none-any.whl").write_bytes(_zip_with([(symlink_zip, b"/etc/shadow"),
                                                               (zipfile.ZipInfo("w/../../x.py"), b"x = 1\n")]))
    _, report = scan_json(CliRunner(), "evil-1.0.tar.gz", "w-1.0-py3-none-any.whl")
    kinds = {(n["kind"], n["path"]) for n in report["notifications"]}
    assert ("archive-path", "evil-1.0.tar.gz!/evil-1.0/../../../home/user/.bashrc.py") in kinds
    assert ("archive-path", "evil-1.0.tar.gz!//etc/evil.py") in kinds
    assert ("archive-link", "evil-1.0.tar.gz!/evil-1.0/link.py") in kinds
    assert ("archive-link", "evil-1.0.tar.gz!/evil-1.0/hard.py") in kinds
    assert ("archive-link", "w-1.0-py3-none-any.whl!/w/link.py") in kinds
    assert ("archive-path", "w-1.0-py3-none-any.whl!/w/../../x.py") in kinds
    assert sorted(p.name for p in in_tmp.iterdir()) == ["evil-1.0.tar.gz", "w-1.0-py3-none-any.whl"]
    assert not (in_tmp.parent.parent / "home").exists()


def test_nested_archives_to_the_configured_depth(in_tmp: Path) -> None:
    wheel = build_archive("inner-1.0-py3-none-any.whl", with_record({
        "inner_boot.pth": b"import inner._boot\n", "inner/__init__.py": b"x = 1\n",
        "inner-1.0.dist-info/WHEEL": b"Root-Is-Purelib: true\nTag: py3-none-any\n"}))
    middle = build_archive("middle-1.0.tar.gz", {"middle-1.0/dist/inner-1.0-py3-none-any.whl": wheel})
    outer = build_archive("bundle.zip", {"bundle/middle-1.0.tar.gz": middle})
    (in_tmp / "bundle.zip").write_bytes(outer)
    _, report = scan_json(CliRunner(), "bundle.zip")
    deep = "bundle.zip!/bundle/middle-1.0.tar.gz!/middle-1.0/dist/inner-1.0-py3-none-any.whl!/inner_boot.pth"
    assert any(f["rule"] == "DS152" and f["path"] == deep for f in report["findings"])
    assert [p["package"] for p in report["packages"]] == ["bundle.zip"]
    # one level less: the wheel is not opened, and the scan says so
    (in_tmp / "pyproject.toml").write_text("[tool.datasec-scan.limits]\nmax-archive-depth = 1\n")
    result = CliRunner().invoke(main, ["scan", "--format", "json", "--no-cache", "bundle.zip"])
    report = json.loads(result.output)
    assert not any(f["path"] == deep for f in report["findings"])
    assert any(n["kind"] == "archive-depth" for n in report["notifications"])


def test_corrupt_archive_is_a_notification(in_tmp: Path) -> None:
    (in_tmp / "broken-1.0.tar.gz").write_bytes(b"\x1f\x8b\x08\x00garbage" * 10)
    (in_tmp / "broken-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 not really a zip")
    code, report = scan_json(CliRunner(), "broken-1.0.tar.gz", "broken-1.0-py3-none-any.whl")
    assert code == 0
    assert {n["path"] for n in report["notifications"] if n["kind"] == "archive-error"} == {
        "broken-1.0.tar.gz", "broken-1.0-py3-none-any.whl"}


def test_nothing_runs(in_tmp: Path) -> None:
    marker = in_tmp / "MARKER"
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    files = {"trap-1.0/setup.py": code.encode(), "trap-1.0/trap/__init__.py": code.encode(),
             "trap-1.0/trap.pth": f"import os; {code}".encode(), "trap-1.0/conftest.py": code.encode()}
    (in_tmp / "trap-1.0.tar.gz").write_bytes(build_archive("trap-1.0.tar.gz", files))
    (in_tmp / "trap-1.0-py3-none-any.whl").write_bytes(build_archive("trap-1.0-py3-none-any.whl", with_record({
        "trap.pth": f"import os; {code}".encode(), "trap/__init__.py": code.encode(),
        "trap-1.0.dist-info/WHEEL": b"Root-Is-Purelib: true\n"})))
    scan_json(CliRunner(), "trap-1.0.tar.gz", "trap-1.0-py3-none-any.whl")
    assert not marker.exists()


def test_many_members_through_the_process_pool(in_tmp: Path, ruleset: RuleSet) -> None:
    files = {f"many/m{i:03}.py": (b"KEY = 'AKIAIOSFODNN7EXAMPLE'\n" if i % 10 == 0 else b"x = 1\n") for i in range(90)}
    (in_tmp / "many-1.0.tar.gz").write_bytes(build_archive("many-1.0.tar.gz", files))
    config = Config()
    targets, _ = discover([Path("many-1.0.tar.gz")], in_tmp, limits=config.limits)
    pooled = collect(scan_targets(targets, ruleset, config, jobs=2))
    serial = collect(scan_targets(targets, ruleset, config, jobs=1))
    assert pooled == serial
    assert sum(1 for fr in pooled for f in fr.findings if f.rule == "DS201") == 9


def test_expand_counts_limits_member_targets(tmp_path: Path) -> None:
    files = {f"a/{i}.py": b"x = 1\n" for i in range(10)}
    path = tmp_path / "a.zip"
    path.write_bytes(build_archive("a.zip", files))
    targets = expand("a.zip", path, replace(Limits(), max_archive_members=4))
    assert len(targets) == 1 + 4


def test_fail_on_and_text_package_line(in_tmp: Path) -> None:
    archive, _ = build_package(FIXTURES / "packages" / "evil_wheel.txtar", in_tmp)
    runner = CliRunner()
    text = runner.invoke(main, ["scan", "--no-cache", "--isolated", archive.name])
    assert text.exit_code == 1
    assert re.search(rf"^package {re.escape(archive.name)}: HIGH — \d+ high: ", text.output, re.M), text.output
    assert runner.invoke(main, ["scan", "--no-cache", "--isolated", "--fail-on", "critical", archive.name]).exit_code == 0


def test_sarif_run_properties_carry_the_verdicts(in_tmp: Path) -> None:
    archive, _ = build_package(FIXTURES / "packages" / "evil_wheel.txtar", in_tmp)
    result = CliRunner().invoke(main, ["scan", "--no-cache", "--isolated", "--format", "sarif", archive.name])
    (run,) = json.loads(result.output)["runs"]
    (verdict,) = run["properties"]["packages"]
    assert verdict["package"] == archive.name and verdict["verdict"] == "high"
