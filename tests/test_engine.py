"""The per-file engine: decoding, pre-screen, parse failures and rule failures become notifications."""

from __future__ import annotations

import dataclasses
import gc
import signal
import time

import libcst as cst

from datasec_scan.config import Config
from datasec_scan.engine import decode, file_kind, python_view, scan_file
from datasec_scan.model import Category
from datasec_scan.plugins import RuleSet
from datasec_scan.rule import Rule

DOC = """Test rule.

## What it does
x
## Why is this bad?
x
## Example
x
## How to fix
x
## References
x
"""


class Boom(Rule):
    __doc__ = DOC
    code = "DS990"
    name = "boom"
    category = Category.REMOTE_ACCESS
    INVALID = ("boom()\n",)

    def visit_Call(self, node: cst.Call) -> None:
        raise RuntimeError("rule bug")


class Calls(Rule):
    __doc__ = DOC
    code = "DS991"
    name = "calls"
    category = Category.REMOTE_ACCESS
    triggers = ("danger",)
    INVALID = ("danger()\n",)
    visits = 0

    def visit_Call(self, node: cst.Call) -> None:
        type(self).visits += 1
        if isinstance(node.func, cst.Name) and node.func.value == "danger":
            self.report(node, "danger called")


def test_file_kinds() -> None:
    assert file_kind("a/b.py") == "python"
    assert file_kind("x.pth") == "pth"
    assert file_kind(".env.local") == "config"
    assert file_kind("setup.cfg") == "config"
    assert file_kind("README.md") is None


def test_pep263_cookie_and_bom() -> None:
    latin = "# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n".encode("latin-1")
    assert "café" in (decode("a.py", latin, "python").text or "")
    bom = b"\xef\xbb\xbfx = 1\n"
    assert decode("a.py", bom, "python").text == "x = 1\n"
    utf16 = "x = 'é'\n".encode("utf-16")
    assert decode("a.py", utf16, "python").text == "x = 'é'\n"


def test_undecodable_bytes_are_replaced_and_said() -> None:
    result = decode("a.py", b"x = '\xff\xfe\xfa'\n", "python")
    assert result.text is not None and result.notifications[0].kind == "encoding"


def test_parse_error_is_a_notification_not_a_crash() -> None:
    result = scan_file("a.py", b"def broken(:\n    danger()\n", RuleSet((Calls,), ()), Config())
    assert [n.kind for n in result.notifications] == ["parse-error"]


def test_rule_failure_names_rule_and_keeps_other_findings() -> None:
    result = scan_file("a.py", b"danger()\n", RuleSet((Boom, Calls), ()), Config())
    assert [f.rule for f in result.findings] == ["DS991"]
    (note,) = result.notifications
    assert note.kind == "rule-error" and note.rule == "DS990" and "rule bug" in note.message


def test_prescreen_skips_files_no_rule_can_match() -> None:
    Calls.visits = 0
    scan_file("a.py", b"print('hello')\n", RuleSet((Calls,), ()), Config())
    assert Calls.visits == 0
    scan_file("a.py", b"danger()\n", RuleSet((Calls,), ()), Config())
    assert Calls.visits == 1


def test_positions_are_one_based() -> None:
    result = scan_file("a.py", b"x = 1\n  \nif x:\n    danger()\n", RuleSet((Calls,), ()), Config())
    (f,) = result.findings
    assert (f.location.line, f.location.column) == (4, 5)
    assert f.snippet == "danger()"


def test_pth_python_view_keeps_line_numbers() -> None:
    text = "/some/path\nimport danger; danger()\n# comment\n"
    assert python_view(text, "pth").splitlines() == ["", "import danger; danger()", ""]
    result = scan_file("evil.pth", text.encode(), RuleSet((Calls,), ()), Config())
    assert [(f.rule, f.location.line) for f in result.findings] == [("DS991", 2)]


def test_binary_file_is_reported_not_scanned() -> None:
    result = scan_file("a.py", b"\x7fELF\x00\x00\x01danger()", RuleSet((Calls,), ()), Config())
    assert not result.findings and result.notifications[0].kind == "binary"


def test_scan_is_deterministic() -> None:
    data = b"danger()\ndanger()\n"
    rules = RuleSet((Calls,), ())
    assert scan_file("a.py", data, rules, Config()) == scan_file("a.py", data, rules, Config())


class Slow(Rule):
    __doc__ = DOC
    code = "DS992"
    name = "slow"
    category = Category.REMOTE_ACCESS
    INVALID = ("danger()\n",)

    def visit_Call(self, node: cst.Call) -> None:
        try:
            time.sleep(30)  # stands for a rule stuck on a hostile file
        except Exception:  # a rule's own handler must not swallow the time limit
            pass


def test_a_file_over_the_time_limit_is_reported_and_the_next_file_is_scanned() -> None:
    limited = Config(limits=dataclasses.replace(Config().limits, max_file_seconds=1))
    rules = RuleSet((Slow, Calls), ())
    stuck = scan_file("stuck.py", b"danger()\n", rules, limited)
    assert [n.kind for n in stuck.notifications] == ["timeout"] and not stuck.findings
    assert "max-file-seconds" in stuck.notifications[0].message
    after = scan_file("next.py", b"x = 1\n", rules, limited)
    assert not after.notifications  # the alarm is off again
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_scan_file_pauses_the_cyclic_collector_only_while_it_runs() -> None:
    seen = []

    class Probe(Rule):
        """Probe.

        ## What it does
        Notes whether the collector runs.

        ## Why is this bad?
        It is not.

        ## Example
        ```python
        x = 1
        ```
        """

        code, name, category = "DS990", "probe", Category.REMOTE_ACCESS
        INVALID = ("x = 1\n",)

        def visit_Module(self, node: cst.Module) -> None:
            seen.append(gc.isenabled())

    assert gc.isenabled()
    scan_file("a.py", b"x = 1\n", RuleSet((Probe,), ()), Config())
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        scan_file("a.py", b"x = 1\n", RuleSet((Probe,), ()), Config())
        assert not gc.isenabled()  # a caller's choice is left as it was
    finally:
        gc.enable()


def test_a_scan_leaves_no_syntax_tree_in_cyclic_garbage() -> None:
    """Reference counting frees a file's tree as soon as its scan ends: nothing of it waits in a reference cycle
    for the collector (which would then walk the whole tree, about 6% of a scan). Every built-in rule runs over
    the rule fixtures (read as bytes, never imported), whose shapes reach the data-flow and decoding helpers."""
    from pathlib import Path

    from datasec_scan.plugins import discover
    from datasec_scan.rule import FileContext

    rules = discover()
    fixtures = sorted((Path(__file__).resolve().parent.parent / "fixtures").glob("*.py"))
    assert fixtures
    for path in fixtures:  # once first, so that lazily built module-level caches exist before the count
        scan_file(path.name, path.read_bytes(), rules, Config())
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for path in fixtures:
            scan_file(path.name, path.read_bytes(), rules, Config())
        gc.collect()
        left = [o for o in gc.garbage if issubclass(type(o), (cst.CSTNode, FileContext))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert not left, f"{len(left)} tree nodes or contexts were only freed by the cyclic collector"
