"""DS105 install-hook-side-effects: network, process or exec effects in setup.py hooks or at import time."""

from __future__ import annotations

from datasec_scan.lazycst import cst

from datasec_scan import fallback
from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, Rule
from datasec_scan.semantics.constants import fold_str

from . import _prescreen as ps
from ._remote import (
    DECODED,
    DOWNLOAD_EXEC_COMMANDS,
    NETWORK,
    REVERSE_SHELL_COMMANDS,
    SOCKET,
    Analyzer,
    any_match,
    code_of,
    keyword,
    match_command,
    positional,
    short,
)

_HOOK_COMMANDS = {"install", "develop", "egg_info", "build", "build_py", "build_ext", "build_clib", "build_scripts",
                  "sdist", "bdist_wheel", "bdist_egg", "install_lib", "install_scripts", "install_data", "Command",
                  "editable_wheel", "dist_info"}
_BUILD_ONLY = {"build", "build_py", "build_ext", "build_clib", "build_scripts", "sdist", "bdist_wheel", "bdist_egg",
               "Command", "editable_wheel", "dist_info"}
_PATH_JOINS = frozenset({"os.path.join", "ntpath.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath",
                         "pathlib.Path().joinpath"})
# Windows programs and scripts a spawn may start by file name: code that cannot be reviewed in the package's source
_NATIVE_PROGRAMS = (".exe", ".scr", ".bat", ".cmd", ".vbs", ".ps1", ".msi", ".com", ".hta")
_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream", "urlopen")
_NETWORK_CALLS = ("urllib.request.urlretrieve", "urllib.urlretrieve", "socket.socket().connect",
                  "socket.create_connection", "smtplib.SMTP", "ftplib.FTP", "http.client.HTTPConnection().request",
                  "http.client.HTTPSConnection().request", "urllib.request.urlopen", "urllib2.urlopen",
                  "urllib.urlopen", "urllib3.PoolManager().request", "urllib3.request", "aiohttp.request",
                  "dns.resolver.resolve", "dns.resolver.query", "socket.gethostbyname", "webbrowser.open",
                  *(f"requests.{v}" for v in _VERBS), *(f"requests.Session().{v}" for v in _VERBS),
                  *(f"httpx.{v}" for v in _VERBS), *(f"httpx.Client().{v}" for v in _VERBS),
                  *(f"aiohttp.ClientSession().{v}" for v in _VERBS))
_CUSTOMIZE = ("sitecustomize.py", "usercustomize.py")
# Pre-screen of the text (see rules/_prescreen.py and `applies_to`): an effect `_effect` can see — a spawner, a
# network call, an exec/deserialize sink.
_EFFECTS = ps.any_of(ps.SPAWN, ps.Names(_NETWORK_CALLS), ps.EXEC_SINK)
_BUILD_TOOLS = {"git", "hg", "svn", "pkg-config", "cmake", "make", "gmake", "ninja", "meson", "gcc", "g++", "cc", "c++",
                "clang", "clang++", "cl", "cl.exe", "nvcc", "cython", "uname", "xcrun", "ldconfig", "ar", "ranlib",
                "swig", "protoc", "cargo", "rustc", "go", "npm", "yarn", "node", "llvm-config", "sw_vers", "lsb_release",
                "brew", "nproc", "sysctl", "where", "which", "mpicc", "icc", "icpc", "ifort", "gfortran", "f2py"}


_WINDOWS_BUILD_TOOLS = {"msbuild", "nmake", "link", "lib", "rc", "mt", "devenv", "vswhere", "dumpbin", "signtool",
                        "setupvars", "conda", "pip", "python", "py", "pythonw", "7z", "tar", "curl", "git-bash"}


class InstallHookSideEffects(Rule):
    """Network access, process spawning or code execution in install hooks, setup.py, package `__init__` or sitecustomize.

    ## What it does
    Finds effects that run when a package is installed or imported rather than when it is used:

    - `setup.py` command classes (`cmdclass`/`distclass`) overriding `install`, `develop`,
      `egg_info`, `build_*` whose methods touch the network, spawn processes or `exec` (network:
      high; a process in `install`/`develop`/`egg_info`: medium; a build step running a compiler: low);
    - statements at the top level of `setup.py`, outside `setup()`, doing the same (a
      `git describe` for the version: low; network: high);
    - network access (high) or process spawning (medium) at import time, at the top level of a
      package `__init__.py`;
    - any of these in `sitecustomize.py`/`usercustomize.py`, which run at every interpreter start (high);
    - the same effects inside module-level helper functions that a hook, the top level or
      sitecustomize calls (up to three calls deep), or starts as a thread target or registers as a
      callback, reported where the effect is and naming the helper.

    A process that is a download-and-run or reverse-shell command is critical; one whose command
    is decoded or fetched at run time, or that starts a Windows program or script by file name
    (`bot.exe`, `run.bat`: code no one can review in the package's source), is at least high.

    ## Why is this bad?
    `pip install` of an sdist runs `setup.py` with the installing user's rights, and importing a
    package runs its `__init__`; malware uses both to act before anyone calls the code. Legitimate
    packages rarely need the network or a shell at those moments.

    ## Example
    ```python
    from setuptools import setup
    from setuptools.command.install import install
    import urllib.request

    class PostInstall(install):
        def run(self):
            urllib.request.urlopen("https://example.com/beacon")
            install.run(self)

    setup(name="pkg", cmdclass={"install": PostInstall})
    ```

    ## How to fix
    Do build work in the build backend, keep installs declarative, and move network or process
    work behind an explicit function or command the user calls.

    ## References
    - CWE-506: Embedded Malicious Code
    - CWE-829: Inclusion of Functionality from Untrusted Control Sphere
    - MITRE ATT&CK T1195.001 (Compromise Software Dependencies and Development Tools), T1546.016 (Installer Packages)
    """

    code = "DS105"
    name = "install-hook-side-effects"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    cwe = (506, 829)
    attack = ("T1195.001", "T1546.016")
    VALID = (
        Example("import subprocess\nfrom setuptools import setup\n"
                "v = subprocess.check_output(['git', 'describe']).decode()\n"
                "setup(name='pkg', version=v)\n", "setup.py"),
        Example("import os\n__all__ = ['x']\nHOME = os.environ.get('HOME')\n", "pkg/__init__.py"),
        "import urllib.request\nurllib.request.urlopen('https://example.com')\n",
    )
    INVALID = (
        Example("from setuptools import setup\nfrom setuptools.command.install import install\nimport urllib.request\n"
                "class PostInstall(install):\n    def run(self):\n"
                "        urllib.request.urlopen('https://example.com/beacon')\n        install.run(self)\n"
                "setup(name='pkg', cmdclass={'install': PostInstall})\n", "setup.py"),
        Example("import requests\nrequests.post('https://example.com/hi', data={'v': 1})\n", "pkg/__init__.py"),
        Example("import subprocess\nsubprocess.Popen(['sh', '-c', 'id'])\n", "sitecustomize.py"),
    )

    @classmethod
    def applies_to(cls, path: str, text: str) -> bool:
        """Only where `visit_Module` lets the rule look (setup.py, `__init__.py`, site/usercustomize, a setup script
        under another name), and only with an effect in the text; setup.py always (its reduced scan needs no more)."""
        name = path.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!/", 1)[-1]  # as FileContext.filename
        if name == "setup.py":
            return True
        if name != "__init__.py" and name not in _CUSTOMIZE and not (
                ("setuptools" in text or "distutils" in text) and "setup(" in text and "cmdclass" in text):
            return False
        return ps.memo(cls.code, text, _EFFECTS)

    @classmethod
    def triggered_by_tree(cls, tree, text: str) -> bool:
        """An effect in the code alone (without docstrings and comment lines), or what the reduced scan of a
        setup.py would report on this tree (the path is not asked here: elsewhere that finds nothing)."""
        return ps.memo_code(cls.code, tree, text, _EFFECTS) or any(fallback.install_hook(tree, text, "setup.py"))

    @classmethod
    def fallback(cls, tree, text, context):  # type: ignore[override]
        """Reduced scan when libcst cannot parse the file (the engine marks these findings `fallback`)."""
        yield from fallback.install_hook(tree, text, context.filename)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._functions = 0
        self._classes: list[str | None] = []  # the hook command a class overrides, or None
        self._main_guard = 0
        self._setup_calls = 0
        self._function_names: list[str] = []  # enclosing module-level functions (outside classes)
        self._helper_effects: dict[str, list[cst.Call]] = {}  # module-level function -> its calls of other things
        self._helper_calls: dict[str, list[str]] = {}  # module-level function -> local functions it calls
        self._entries: list[tuple[str, str | None, bool]] = []  # (local function, hook, top level) called from there
        name = context.filename
        self._kind = ("setup" if name == "setup.py" else "init" if name == "__init__.py"
                      else "customize" if name in _CUSTOMIZE else None)

    def visit_Module(self, node: cst.Module) -> bool:
        if self._kind is None:
            code = self.context.text
            if ("setuptools" in code or "distutils" in code) and "setup(" in code and "cmdclass" in code:
                self._kind = "setup"  # a setup script under another name
        return self._kind is not None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions += 1
        if not self._classes:
            self._function_names.append(node.name.value)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._functions -= 1
        if not self._classes:
            self._function_names.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._functions += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._functions -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        an = Analyzer.of(self.context)
        hook = None
        for base in node.bases:
            for q in an.names.qualified_names(base.value):
                last = q.rsplit(".", 1)[-1]
                if (q.startswith(("setuptools", "distutils")) or last in _HOOK_COMMANDS) and last in _HOOK_COMMANDS:
                    hook = last
        outer = self._classes[-1] if self._classes else None
        self._classes.append(hook or outer)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()

    def visit_If(self, node: cst.If) -> None:
        if self._kind is None:
            return
        test = code_of(node.test, 80).replace("'", '"')
        if test.startswith("__name__ == \"__main__\"") or test == "\"__main__\" == __name__":
            self._main_guard += 1

    def leave_If(self, original_node: cst.If) -> None:
        if self._kind is None:
            return
        test = code_of(original_node.test, 80).replace("'", '"')
        if test.startswith("__name__ == \"__main__\"") or test == "\"__main__\" == __name__":
            self._main_guard -= 1

    def _effect(self, node: cst.Call, an: Analyzer) -> tuple[str, str, str | None] | None:
        """(kind network/process/exec, what, command text) for a call with an effect."""
        qualified = an.call_names(node)
        spawn = an.spawn(node)
        if spawn is not None:
            return "process", spawn[1], an.command_text(node)
        hit = any_match(qualified, _NETWORK_CALLS)
        if hit:
            return "network", hit, None
        sink = an.exec_sink(node)
        if sink is not None:
            sources = an.sources(sink[2], want=(NETWORK, SOCKET, DECODED))
            if {NETWORK, SOCKET, DECODED} & set(sources):
                return "exec", sink[1].replace("builtins.", ""), None
        return None

    @staticmethod
    def _build_tool(node: cst.Call, command: str | None, an: Analyzer) -> bool:
        spawn = an.spawn(node)
        if spawn is None or spawn[0] != "argv" or not command:
            return False
        program = command.split()[0].rsplit("/", 1)[-1].lower()
        return program in _BUILD_TOOLS

    def visit_Call(self, node: cst.Call) -> None:
        if self._kind is None:
            return
        an = Analyzer.of(self.context)
        qualified = an.call_names(node)
        if self._kind == "setup" and any(q.endswith(".setup") and q.startswith(("setuptools", "distutils"))
                                         for q in qualified):
            self._setup_calls += 1
        hook = self._classes[-1] if self._classes else None
        top = self._functions == 0 and not self._classes and self._main_guard == 0
        local = next((q[8:] for q in qualified if q.startswith("<local>.")), None)
        if self._function_names and not self._classes:
            # inside a module-level helper: remember its calls, judged only if a hook or the top level calls it
            owner = self._function_names[0]
            if local is not None:
                self._helper_calls.setdefault(owner, []).append(local)
            else:
                self._helper_effects.setdefault(owner, []).append(node)
        if not (hook and self._kind == "setup" or top or self._kind == "customize"):
            return
        if local is not None:
            self._entries.append((local, hook, top))
            return
        for arg in node.args:  # `threading.Thread(target=_beacon).start()`, `atexit.register(_beacon)`
            if isinstance(arg.value, cst.Name) and an.names.is_bound(arg.value.value):
                target = next((q[8:] for q in an.names.qualified_names(arg.value) if q.startswith("<local>.")), None)
                if target is not None:
                    self._entries.append((target, hook, top))
        self._judge(node, an, hook, top)

    def leave_Module(self, original_node: cst.Module) -> None:
        """Effects of module-level helpers that a hook, the top level or sitecustomize calls (three calls deep)."""
        if not self._entries:
            return
        an = Analyzer.of(self.context)
        done: set[int] = set()
        for name, hook, top in self._entries:
            seen = {name}
            todo = [name]
            for _ in range(3):
                nxt = []
                for fn in todo:
                    for call in self._helper_effects.get(fn, ()):
                        if id(call) not in done:
                            done.add(id(call))
                            self._judge(call, an, hook, top, via=name)
                    for callee in self._helper_calls.get(fn, ()):
                        if callee not in seen:
                            seen.add(callee)
                            nxt.append(callee)
                todo = nxt

    @staticmethod
    def _native_program(node: cst.Call, an: Analyzer) -> str | None:
        """The Windows executable or script a spawn starts, when a literal names one (`bot.exe`, `run.bat`): a program
        the package ships or fetches, which no one can review in its source."""
        args = positional(node)
        program = args[0] if args else keyword(node, "args")
        if isinstance(program, (cst.List, cst.Tuple)) and program.elements:
            program = program.elements[0].value
        if isinstance(program, cst.Name):
            program = an.names.single_value(program.value) or program
        text: str | None = None
        for _ in range(4):  # the path's last part: `join(here, "tools", "bot.exe")`, `f"{d}\\bot.exe"`, `d / "x.bat"`
            if isinstance(program, cst.Call) and program.args and an.call_names(program) & _PATH_JOINS:
                program = program.args[-1].value
            elif isinstance(program, cst.BinaryOperation) and isinstance(program.operator, (cst.Add, cst.Divide)):
                program = program.right
            elif isinstance(program, cst.FormattedString) and program.parts:
                last = program.parts[-1]
                text = last.value if isinstance(last, cst.FormattedStringText) else None
                program = None
        if program is not None:
            text = fold_str(program, an.names)
        name = (text or "").strip().strip("\"'").replace("\\", "/").rsplit("/", 1)[-1]
        stem, dot, extension = name.rpartition(".")
        if not (dot and stem and " " not in name and f".{extension.lower()}" in _NATIVE_PROGRAMS):
            return None
        if stem.lower() in _BUILD_TOOLS or stem.lower() in _WINDOWS_BUILD_TOOLS or stem.lower().startswith("vcvars"):
            return None  # `cmake.exe`, `msbuild.exe`, `vcvarsall.bat`: what a Windows build runs
        return name

    def _judge(self, node: cst.Call, an: Analyzer, hook: str | None, top: bool, via: str | None = None) -> None:
        effect = self._effect(node, an)
        if effect is None:
            return
        kind, what, command = effect
        if kind == "process" and self._build_tool(node, command, an):
            return  # `git describe` for a version, a compiler or cmake for an extension: what builds do
        danger = command and (match_command(command, DOWNLOAD_EXEC_COMMANDS) or match_command(
            command, REVERSE_SHELL_COMMANDS))
        hidden = kind == "process" and any({DECODED, NETWORK, SOCKET} & set(an.sources(
            a.value, want=(DECODED, NETWORK, SOCKET))) for a in node.args)
        shown = f": `{short(command, 50)}`" if command else ""
        if self._kind == "customize":
            where, severity = f"{self.context.filename} (runs at every interpreter start)", Severity.HIGH
        elif hook and self._kind == "setup":
            where = f"setup.py `{hook}` command hook"
            if kind == "process":
                severity = Severity.LOW if hook in _BUILD_ONLY else Severity.MEDIUM
            else:
                severity = Severity.HIGH
        elif self._kind == "setup":
            where = "setup.py at module level (runs on every pip install of the sdist)"
            severity = Severity.LOW if kind == "process" else Severity.HIGH
        else:
            where = "package __init__.py at import time"
            severity = Severity.MEDIUM if kind == "process" else Severity.HIGH
        if via is not None:
            where = f"`{via}()`, called from {where}"
        native = kind == "process" and not danger and self._native_program(node, an)
        if native:
            shown += f" (runs the program `{native}`)"
            severity = max(severity, Severity.HIGH)
        if danger:
            severity = Severity.CRITICAL
        elif kind == "exec" or hidden:
            shown += " (command decoded or fetched at run time)" if hidden else ""
            severity = max(severity, Severity.HIGH)
        confidence = Confidence.HIGH if severity >= Severity.HIGH else Confidence.MEDIUM
        label = {"network": "network access", "process": "process spawned", "exec": "code execution"}[kind]
        self.report(node, f"{label} in {where}: {what}{shown}", severity=severity, confidence=confidence)
