"""The rule plugin API: packs come from entry points; a broken pack or a duplicate code is fatal (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datasec_scan import plugins
from datasec_scan.model import Category
from datasec_scan.plugins import PackError, build_ruleset
from datasec_scan.rule import Rule

PACK = '''
"""A third-party rule pack used by the tests."""
import libcst as cst
from datasec_scan.model import Category, Severity
from datasec_scan.rule import Rule


class NoTodo(Rule):
    """Flags calls named `todo_backdoor`.

    ## What it does
    Finds calls to `todo_backdoor()`.

    ## Why is this bad?
    Test only.

    ## Example
    `todo_backdoor()`

    ## How to fix
    Remove it.

    ## References
    - none
    """

    code = "DS901"
    name = "todo-backdoor"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    triggers = ("todo_backdoor",)
    VALID = ("other()\\n",)
    INVALID = ("todo_backdoor()\\n",)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "todo_backdoor":
            self.report(node, "call to todo_backdoor")


RULES = [NoTodo]
'''


def make_pack(root: Path, name: str, body: str, code: str = "DS901") -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(body.replace("DS901", code))
    dist = root / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[datasec_scan.rules]\n{name} = {name}:RULES\n")


def run_cli(args: list[str], extra_path: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(extra_path))
    return subprocess.run([sys.executable, "-m", "datasec_scan.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_third_party_pack_is_discovered_and_runs(tmp_path: Path) -> None:
    make_pack(tmp_path, "thirdpack", PACK)
    target = tmp_path / "code"
    target.mkdir()
    (target / "a.py").write_text("todo_backdoor()\n")
    listed = run_cli(["rules"], tmp_path, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "DS901" in listed.stdout and "DS201" in listed.stdout
    scanned = run_cli(["scan", "code"], tmp_path, tmp_path)
    assert scanned.returncode == 1, scanned.stdout + scanned.stderr
    assert "code/a.py:1:1: DS901 [high] call to todo_backdoor" in scanned.stdout


def test_pack_that_fails_to_import_exits_2_naming_the_pack(tmp_path: Path) -> None:
    make_pack(tmp_path, "brokenpack", "raise ImportError('missing dependency frobnicate')\n")
    result = run_cli(["scan", "."], tmp_path, tmp_path)
    assert result.returncode == 2
    assert "brokenpack" in result.stderr and "frobnicate" in result.stderr


def test_duplicate_rule_code_exits_2_naming_both_packs(tmp_path: Path) -> None:
    make_pack(tmp_path, "dupepack", PACK, code="DS201")
    result = run_cli(["rules"], tmp_path, tmp_path)
    assert result.returncode == 2
    assert "DS201" in result.stderr and "dupepack" in result.stderr and "builtin" in result.stderr


def test_malformed_rule_is_rejected() -> None:
    class NoDocs(Rule):
        code = "DS999"
        name = "no-docs"
        category = Category.REMOTE_ACCESS

    with pytest.raises(PackError, match="What it does"):
        build_ruleset([("badpack", [NoDocs], "1")])


def test_module_without_rules_is_an_error() -> None:
    import types

    with pytest.raises(PackError, match="RULES"):
        build_ruleset([("emptypack", types.ModuleType("emptypack"), "1")])


def test_builtin_pack_is_registered_through_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group=plugins.ENTRY_POINT_GROUP)}
    assert names.get("builtin") == "datasec_rules:RULES"


def _dist_info(folder: Path, dirname: str, name: str, version: str, entry_points: str) -> None:
    info = folder / dirname
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA description.\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_entry_points_are_found_as_importlib_metadata_finds_them(tmp_path: Path, monkeypatch) -> None:
    """The reader that spares a run importing importlib.metadata gives the same entry points, in the same order:
    the first distribution of a (normalized) name on the path wins, comments and other groups are skipped."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _dist_info(first, "Some_Pack-2.0.dist-info", "Some_Pack", "2.0",
               "# a comment\n[console_scripts]\nsp = some_pack.cli:main\n\n[datasec_scan.rules]\n"
               "some = some_pack:RULES\nmore = some_pack.extra:make_rules [speed]\n")
    _dist_info(second, "some.pack-1.0.dist-info", "some.pack", "1.0", "[datasec_scan.rules]\nold = old_pack:RULES\n")
    _dist_info(second, "other-0.3.egg-info", "other", "0.3", "[datasec_scan.rules]\nother = other:RULES\n")
    (second / "legacy.egg-info").write_text("Metadata-Version: 1.0\nName: legacy\n")  # an egg-info file
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    for group in (plugins.ENTRY_POINT_GROUP, "console_scripts", "datasec_scan.egress", "no.such.group"):
        assert plugins.entry_points(group) == plugins._standard_entry_points(group), group
    found = {ep.name: ep for ep in plugins.entry_points(plugins.ENTRY_POINT_GROUP)}
    assert "old" not in found and found["some"].version == "2.0" and found["other"].version == "0.3"
    assert found["more"].module == "some_pack.extra"


def test_a_zip_on_the_path_leaves_entry_points_to_importlib_metadata(tmp_path: Path, monkeypatch) -> None:
    import zipfile

    archive = tmp_path / "packs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zpack-1.5.dist-info/METADATA", "Metadata-Version: 2.1\nName: zpack\nVersion: 1.5\n")
        zf.writestr("zpack-1.5.dist-info/entry_points.txt", "[datasec_scan.rules]\nzpack = zpack:RULES\n")
    monkeypatch.syspath_prepend(str(archive))
    found = plugins.entry_points(plugins.ENTRY_POINT_GROUP)
    assert found == plugins._standard_entry_points(plugins.ENTRY_POINT_GROUP)
    assert ("zpack", "1.5") in {(ep.name, ep.version) for ep in found}


def test_an_entry_point_loads_the_attribute_path_it_names() -> None:
    assert plugins.EntryPoint("x", "os.path:join", "1").load() is __import__("os").path.join
    assert plugins.EntryPoint("x", "datasec_scan.plugins : PackError [extra]", "1").load() is PackError


def test_an_undecodable_entry_points_file_is_left_to_importlib_metadata(tmp_path: Path, monkeypatch) -> None:
    _dist_info(tmp_path, "bad-1.0.dist-info", "bad", "1.0", "")
    (tmp_path / "bad-1.0.dist-info" / "entry_points.txt").write_bytes(b"[datasec_scan.rules]\nbad = b\xff:RULES\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    asked = []
    monkeypatch.setattr(plugins, "_standard_entry_points", lambda group: asked.append(group) or [])
    assert plugins.entry_points(plugins.ENTRY_POINT_GROUP) == [] and asked == [plugins.ENTRY_POINT_GROUP]


def test_a_path_object_on_sys_path_does_not_break_pack_discovery(tmp_path: Path, monkeypatch) -> None:
    _dist_info(tmp_path, "ppack-1.0.dist-info", "ppack", "1.0", "[datasec_scan.rules]\nppack = ppack:RULES\n")
    monkeypatch.setattr(sys, "path", [tmp_path, *sys.path])  # some programs append Path objects
    found = plugins.entry_points(plugins.ENTRY_POINT_GROUP)
    assert found == plugins._standard_entry_points(plugins.ENTRY_POINT_GROUP)
