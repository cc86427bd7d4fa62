"""Folder walks: which files are found, and that each is shown by the same path `display_path` gives it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datasec_scan.discover import discover, display_path


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for name in ("a.py", "pkg/b.py", "pkg/deep/c.py", "pkg/notes.txt", "pkg/setup.cfg", "__pycache__/x.py",
                 "node_modules/y.py", "pkg/z.egg-info/PKG-INFO", "wheel-1.0-py3-none-any.whl"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x = 1\n")
    with open(os.path.join(os.fsencode(root / "pkg"), b"caf\xe9.py"), "w") as handle:  # not UTF-8 on disk
        handle.write("y = 2\n")
    (root / "link.py").symlink_to(root / "a.py")
    return root


@pytest.mark.parametrize("given", [".", "proj", "proj/pkg", "ABSOLUTE", "OUTSIDE"])
def test_walked_files_are_shown_as_display_path_shows_them(tree: Path, given: str, monkeypatch) -> None:
    base = tree.parent
    monkeypatch.chdir(tree if given == "." else base)
    root = Path.cwd() if given != "OUTSIDE" else tree / "pkg"  # OUTSIDE: the folder is not under the root
    path = {"ABSOLUTE": tree, "OUTSIDE": tree}.get(given, Path(given))
    targets, notes = discover([path], root, respect_gitignore=False)
    assert targets, given
    for t in targets:
        assert t.display == display_path(t.path, root), (given, t)
    names = sorted(t.path.name for t in targets if not t.member)
    expected = ["a.py", "b.py", "c.py", "caf\udce9.py", "setup.cfg", "wheel-1.0-py3-none-any.whl"]
    assert names == sorted(n for n in expected if given != "proj/pkg" or n not in ("a.py", "wheel-1.0-py3-none-any.whl"))
    assert any("caf\\xe9.py" in t.display for t in targets)
    assert [n.kind for n in notes] == (["symlink"] if given != "proj/pkg" else [])
