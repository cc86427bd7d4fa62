"""DS103 command-listener: a server socket or request handler that executes what it receives (a bind shell)."""

from __future__ import annotations

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import fold_str
from datasec_scan.tree import Visitor, walk

from . import _prescreen as ps
from ._remote import (
    ARGV_SPAWN,
    CODE_SINKS,
    DESER_SINKS,
    HANDLER_BASES,
    LISTENER,
    SHELL_SPAWN,
    SOCKET,
    Analyzer,
    argv_command,
    code_of,
    keyword,
    positional,
)
from .reverse_shell import wiring

_STREAM_SERVERS = frozenset({"asyncio.start_server", "asyncio.start_unix_server", "asyncio.streams.start_server"})
_STREAM_READS = (".read(", ".readline(", ".readexactly(", ".readuntil(")
class _NameCollector(Visitor):
    def __init__(self) -> None:
        self.names: list[str] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node.value)


_LOOPBACK = ("127.", "localhost", "::1", "ip6-localhost")
# Remote procedure servers (`xmlrpc.server`, jsonrpclib) publish what is registered with them.
_REGISTER = ("register_function", "register_instance")
_RUNNERS = CODE_SINKS | SHELL_SPAWN | ARGV_SPAWN | DESER_SINKS
_RUNNER_MODULES = frozenset({"os", "subprocess", "builtins", "pty", "commands", "posix", "nt"})

# Pre-screen (necessary for any report, see rules/_prescreen.py): a server — `.bind(...)`/`.accept()` as written,
# a request-handler base class, or an asyncio stream server — and a sink: exec/deserialize, a spawner, or a strong
# wiring (os.dup2, `.stdin.write`).
_APPLIES = ps.all_of(
    ps.any_of(ps.word("bind", "accept", *_REGISTER), ps.Names(sorted(HANDLER_BASES)), ps.Names(sorted(_STREAM_SERVERS))),
    ps.any_of(ps.EXEC_SINK, ps.SPAWN, ps.DUP2, ps.STDIN_WRITE),
)


class CommandListener(ps.CodeScreen, Rule):
    """A server socket or request handler that executes what it receives: a bind shell or command listener.

    ## What it does
    Finds servers — raw sockets that `bind` and `accept`/`recvfrom`, `socketserver` request
    handlers, `http.server` handlers (`do_GET`, `do_POST`), `asyncio.start_server` callbacks
    reading from their stream reader — that pass the received data to
    `exec`, `eval`, `os.system`, `subprocess`, `pickle.loads` or `marshal.loads`, or wire an
    accepted connection to a shell with `os.dup2`/`subprocess(stdin=conn)` (also in a loop over fds 0-2).
    Received data counts as a command when it is a shell's or an argv list's program; as one argument of a
    fixed program (`["git", "log", branch]`) it is not. Headers and cookies parsed with `http.cookies` or
    `email` stay what the server received. Also remote procedure
    servers (`xmlrpc.server`, jsonrpclib) that publish such a function (`register_function(os.system)`)
    or a whole module like `os` or `subprocess` (`register_instance(os)`).
    A server that only serves data, or only listens on 127.0.0.1 without executing anything, is
    not a finding; one bound to loopback that executes input is reported at high, not critical.

    ## Why is this bad?
    Anyone who can reach the port runs commands with the rights of the process.

    ## Example
    ```python
    import socket, subprocess
    srv = socket.socket()
    srv.bind(("0.0.0.0", 31337))
    srv.listen(1)
    conn, _ = srv.accept()
    subprocess.run(conn.recv(1024), shell=True)
    ```

    ## How to fix
    Remove it. If remote administration is a feature, use an authenticated protocol (SSH) and a
    fixed set of operations, never a string to run.

    ## References
    - CWE-506: Embedded Malicious Code
    - CWE-78: Improper Neutralization of Special Elements used in an OS Command
    - MITRE ATT&CK T1059 (Command and Scripting Interpreter), T1205 (Traffic Signaling)
    """

    code = "DS103"
    name = "command-listener"
    category = Category.REMOTE_ACCESS
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = (506, 78)
    attack = ("T1059", "T1205")
    screen = staticmethod(_APPLIES)
    VALID = (
        "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 8000))\ns.listen()\nc, _ = s.accept()\n"
        "c.sendall(b'hello')\n",
        "from http.server import BaseHTTPRequestHandler\nclass H(BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n        self.wfile.write(self.path.encode())\n",
        "import os\nfrom xmlrpc.server import SimpleXMLRPCServer\nserver = SimpleXMLRPCServer(('0.0.0.0', 8000))\n"
        "server.register_function(os.getcwd, 'cwd')\n",
    )
    INVALID = (
        "import socket, subprocess\nsrv = socket.socket()\nsrv.bind(('0.0.0.0', 31337))\nsrv.listen(1)\n"
        "conn, _ = srv.accept()\nsubprocess.run(conn.recv(1024), shell=True)\n",
        "import os, socketserver\nclass H(socketserver.StreamRequestHandler):\n    def handle(self):\n"
        "        os.system(self.rfile.readline().decode())\n",
        "import os\nfrom xmlrpc.server import SimpleXMLRPCServer\nserver = SimpleXMLRPCServer(('0.0.0.0', 8000))\n"
        "server.register_function(os.system, 'run')\nserver.serve_forever()\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """A server (bind/accept, a handler class, an asyncio stream server) and a sink."""
        return ps.memo(cls.code, text, cls.screen)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._handlers: list[bool] = []
        self._binds: list[tuple[cst.Call, str | None]] = []
        self._connects = 0
        self._pending: list[tuple[cst.Call, str, cst.BaseExpression | None, bool]] = []
        self._accepts: list[cst.Call] = []
        self._inner: set[int] = set()
        self._functions: list[tuple[str, str]] = []  # (name, first parameter) of the enclosing functions
        self._stream_handlers: dict[str, tuple[cst.Call, str | None]] = {}  # asyncio.start_server callbacks
        self._in_function: dict[int, tuple[str, str]] = {}  # pending call -> its function
        self._function_nodes: dict[str, cst.FunctionDef] = {}
        self._scope_nodes: list[cst.CSTNode] = []  # the module, then the enclosing functions

    def visit_Module(self, node: cst.Module) -> None:
        self._scope_nodes.append(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        an = Analyzer.of(self.context)
        is_handler = any(an.names.qualified_names(b.value) & HANDLER_BASES for b in node.bases)
        self._handlers.append(is_handler or (bool(self._handlers) and self._handlers[-1]))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._handlers.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params.params
        self._functions.append((node.name.value, params[0].name.value if params else ""))
        self._function_nodes.setdefault(node.name.value, node)
        self._scope_nodes.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._functions.pop()
        self._scope_nodes.pop()

    def visit_Call(self, node: cst.Call) -> None:
        an = Analyzer.of(self.context)
        func = node.func
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        args = positional(node)
        if method == "bind" and args and isinstance(args[0], cst.Tuple) and args[0].elements:
            self._binds.append((node, fold_str(args[0].elements[0].value, an.names)))
            return
        if method in _REGISTER and args:
            self._check_registered(node, method, args[0], an)
            return
        qualified = an.call_names(node)
        if qualified & _STREAM_SERVERS and args and isinstance(args[0], cst.Name):
            host = fold_str(args[1], an.names) if len(args) > 1 else fold_str(keyword(node, "host") or cst.Name(
                "None"), an.names)
            self._stream_handlers[args[0].value] = (node, host)
        if self._functions:
            self._in_function[id(node)] = self._functions[-1]
        if method in ("connect", "connect_ex") or "socket.create_connection" in an.call_names(node):
            self._connects += 1
        if method == "accept" and not node.args:  # (a socket's takes nothing; `stream.accept(rfp, wfp)` is another)
            self._accepts.append(node)
        in_handler = bool(self._handlers) and self._handlers[-1]
        if id(node) in self._inner:
            return
        sink = an.exec_sink(node)
        if sink is not None:
            arg = sink[2]
            while isinstance(arg, cst.Call) and an.exec_sink(arg) is not None:  # exec(marshal.loads(x)): one finding
                self._inner.add(id(arg))
                arg = an.exec_sink(arg)[2]  # type: ignore[index]
            self._pending.append((node, sink[1].replace("builtins.", ""), arg, in_handler))
            return
        # once a connection was accepted, `for fd in (0, 1, 2): os.dup2(conn.fileno(), fd)` is followed to its loop
        wired = wiring(an, node, self._scope_nodes[-1] if self._accepts and self._scope_nodes else None)
        spawn = an.spawn(node)
        if spawn is not None and not (wired is not None and wired[1]):  # (a shell on the accepted socket: below)
            command = args[0] if args else keyword(node, "args")
            if command is None:
                return  # (`Popen(**kwargs)`: nothing known is run; a pending None stands for a wiring)
            if spawn[0] == "argv":
                command = argv_command(command, an.names)  # `["git", "log", branch]`: the branch is no command
            self._pending.append((node, spawn[1], command, in_handler))
            return
        if wired is not None and wired[1]:
            self._pending.append((node, wired[0], None, in_handler))

    def _check_registered(self, node: cst.Call, method: str, target: cst.BaseExpression, an: Analyzer) -> None:
        """`server.register_function(os.system)`: a remote procedure server that runs whatever its callers send."""
        names = an.names.qualified_names(target)
        runner = sorted(names & _RUNNERS) if method == "register_function" else sorted(names & _RUNNER_MODULES)
        if not runner:
            return
        host = self._server_host(node.func.value, an)  # type: ignore[attr-defined]
        loopback = host is not None and host.startswith(_LOOPBACK)
        shown = runner[0].replace("builtins.", "")
        what = f"`{shown}`" if method == "register_function" else f"the whole `{shown}` module"
        self.report(node, f"command listener: a remote procedure server publishes {what} to its callers"
                    f" (bound to {host or 'an address not known here'})",
                    severity=Severity.HIGH if loopback else Severity.CRITICAL, confidence=Confidence.HIGH)

    @staticmethod
    def _server_host(server: cst.BaseExpression, an: Analyzer) -> str | None:
        """The host a server object was built to listen on: `SimpleXMLRPCServer(("0.0.0.0", 8000))`."""
        if isinstance(server, cst.Name):
            server = an.names.single_value(server.value) or server
        if not isinstance(server, cst.Call):
            return None
        address = next(iter(positional(server)), None) or keyword(server, "addr")
        if isinstance(address, cst.Tuple) and address.elements:
            return fold_str(address.elements[0].value, an.names)
        return None

    def _stream_input(self, call: cst.Call, arg: cst.BaseExpression | None, an: Analyzer
                      ) -> tuple[cst.Call, str | None] | None:
        """A sink in an `asyncio.start_server` callback whose argument is read from the callback's reader."""
        fn = self._in_function.get(id(call))
        if fn is None or fn[0] not in self._stream_handlers or not fn[1] or arg is None:
            return None
        reader = fn[1]
        todo, seen = [arg], 0
        while todo and seen < 6:
            expr = todo.pop()
            seen += 1
            text = code_of(expr, 400)
            if any(f"{reader}{r}" in text for r in _STREAM_READS):
                return self._stream_handlers[fn[0]]
            collector = _NameCollector()
            walk(expr, collector)
            for name in collector.names[:4]:
                value = an.local_value(name, self._function_nodes.get(fn[0]))
                if value is not None and value is not expr:
                    todo.append(value)
        return None

    def leave_Module(self, original_node: cst.Module) -> None:
        an = Analyzer.of(self.context)
        if self._stream_handlers:
            for call, sink, arg, _ in self._pending:
                found = self._stream_input(call, arg, an)
                if found is None:
                    continue
                server, host = found
                loopback = host is not None and host.startswith(_LOOPBACK)
                self.report(call, f"command listener: {sink} of what an asyncio stream server received"
                            f" (bound to {host or 'all interfaces'})",
                            severity=Severity.HIGH if loopback else Severity.CRITICAL, confidence=Confidence.HIGH,
                            flow=((server, "listens"), (call, f"sink: {sink}")))
                self._pending = [p for p in self._pending if p[0] is not call]
        server = bool(self._binds or self._accepts)
        loopback = bool(self._binds) and all(host is not None and host.startswith(_LOOPBACK) for _, host in self._binds)
        wired = False
        for call, sink, arg, in_handler in self._pending:
            if not (server or in_handler):
                continue
            if arg is None:  # dup2/stdin wiring of an accepted connection: one finding is enough
                if not self._accepts or wired:
                    continue
                wired = True
                what, source_steps = sink, ((self._accepts[0], "accepts a connection"),)
            else:
                sources = an.sources(arg, want=(LISTENER, SOCKET))
                src = sources.get(LISTENER)
                if src is not None and not in_handler and code_of(src.steps[0][0]).startswith("self."):
                    src = None  # `self.path` outside a request handler is just an attribute
                if src is None and SOCKET in sources and server and not self._connects:
                    src = sources[SOCKET]  # a UDP server's recvfrom
                if src is None:
                    continue
                what, source_steps = f"{sink} of what the server received", src.steps
            severity = Severity.HIGH if loopback else Severity.CRITICAL
            bound = self._binds and not in_handler
            where = f" (bound to {self._binds[0][1] or 'all interfaces'})" if bound else ""
            bind_step = ((self._binds[0][0], "listens"),) if bound else ()
            self.report(call, f"command listener: {what}{where}", severity=severity, confidence=Confidence.HIGH,
                        flow=bind_step + tuple(source_steps) + ((call, f"sink: {sink}"),))
