"""Shared analysis for the DS1xx rules: catalogs, the provenance of a sink's argument, command-string patterns."""

from __future__ import annotations

import base64
import fnmatch
import re
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from datasec_scan.lazycst import cst

from datasec_scan.model import Severity
from datasec_scan.rule import FileContext
from datasec_scan.semantics.constants import fold, fold_str
from datasec_scan.semantics.dataflow import INDIRECT_CALLS, in_memory_buffer
from datasec_scan.semantics.decode import Peeled, decode_expr, looks_like_python
from datasec_scan.semantics.names import NameResolver, dotted
from datasec_scan.tree import Visitor, calls_in, code_for_node, names_in, strings_in, walk

from . import _catalog
from ._credentials import in_test_path

CODE_SINKS = frozenset(_catalog.names("exec", "code.names"))
DESER_SINKS = frozenset(_catalog.names("exec", "deserialize.names"))
YAML_LOAD = frozenset(_catalog.names("exec", "deserialize.yaml_load"))
YAML_UNSAFE = frozenset(_catalog.names("exec", "deserialize.yaml_unsafe_loaders"))
NEEDS_KEYWORD = _catalog.table("exec", "deserialize.needs_keyword")
SHELL_SPAWN = frozenset(_catalog.names("process", "spawn.shell"))
ARGV_SPAWN = frozenset(_catalog.names("process", "spawn.argv"))
SHELL_KEYWORD = frozenset(_catalog.names("process", "spawn.shell_keyword"))
_EXEC_SINKS = CODE_SINKS | DESER_SINKS | YAML_LOAD  # (one set test turns most calls away)
# Calls that run a target with arguments: threads, processes, `atexit`, `functools.partial` (the data flow's table)
_STARTERS = frozenset(INDIRECT_CALLS)
_SPAWNERS = SHELL_SPAWN | ARGV_SPAWN
DECODERS: dict[str, str] = dict(_catalog.table("decoders", "decoders"))
NETWORK_CALLS = _catalog.names("inbound", "network.calls")
SOCKET_METHODS = frozenset(_catalog.names("inbound", "network.socket_methods"))
SOCKET_CALLS = _catalog.names("inbound", "network.socket_calls")
LISTENER_CALLS = _catalog.names("inbound", "listener.calls")
HANDLER_BASES = frozenset(_catalog.names("inbound", "listener.handler_bases"))
HANDLER_ATTRS = frozenset(_catalog.names("inbound", "listener.handler_attributes"))
ENV_CALLS = _catalog.names("inbound", "environment.calls")
ENV_ATTRS = frozenset(_catalog.names("inbound", "environment.attributes"))
FILE_CALLS = _catalog.names("inbound", "file.calls")
USER_CALLS = _catalog.names("inbound", "user.calls")
USER_ATTRS = frozenset(_catalog.names("inbound", "user.attributes"))
REQUEST_ATTRS = frozenset(_catalog.names("inbound", "request.attributes"))
REQUEST_PARAM_ATTRS = frozenset(_catalog.names("inbound", "request.parameter_attributes"))
ROUTE_DECORATORS = frozenset(_catalog.names("inbound", "request.route_decorators"))


def _importing(modules: Iterable[str]) -> re.Pattern[str]:
    """A line importing one of these modules: `import a, discord`, `from discord.ext import commands`."""
    alternatives = "|".join(map(re.escape, modules))
    listed = r"(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*)*"  # `import os, discord`: modules before it
    return re.compile(r"^[ \t]*(?:from[ \t]+(?:%s)\b|import[ \t]+%s(?:%s)\b)" % (alternatives, listed, alternatives),
                      re.M)


CHAT_MODULES = _importing(_catalog.names("inbound", "chat.modules"))
CHAT_MESSAGES = frozenset(_catalog.names("inbound", "chat.messages"))
CHAT_ATTRS = frozenset(_catalog.names("inbound", "chat.attributes"))
CHAT_HANDLERS = frozenset(_catalog.names("inbound", "chat.handler_decorators"))
EVENT_MODULES = _importing(_catalog.names("inbound", "events.modules"))
CLIENT_EVENTS = _catalog.names("inbound", "events.client_decorators")
SERVER_EVENTS = _catalog.names("inbound", "events.server_decorators")

_COMMAND_DECORATORS = frozenset({"command", "slash_command", "hybrid_command", "user_command"})
_STEGANO_REVEAL = ("lsb.reveal", "lsbset.reveal", "exifHeader.reveal", "red.reveal", "wav.reveal")
_FETCH_PROGRAMS = frozenset({"curl", "wget", "invoke-webrequest", "iwr", "invoke-restmethod", "irm"})


def _command_decorator(decorator: cst.BaseExpression) -> bool:
    """`@bot.command()`, `@commands.command(name="x")`, `@client.tree.command`: a chat bot's command handler."""
    if isinstance(decorator, cst.Call):
        decorator = decorator.func
    return isinstance(decorator, cst.Attribute) and decorator.attr.value in _COMMAND_DECORATORS


# Labels of where data comes from, most dangerous first.
NETWORK, SOCKET, LISTENER, REQUEST, DECODED, ENV, FILE, USER = (
    "network", "socket", "listener", "request", "decoded", "environment", "file", "user-input")
LABEL_TEXT = {NETWORK: "data fetched from the network", SOCKET: "data received on a socket",
              LISTENER: "data a server received", REQUEST: "web request data", DECODED: "a decoded literal payload",
              ENV: "an environment variable", FILE: "a local file", USER: "command-line or console input"}
_HINTS = {
    NETWORK: ("requests", "urlopen", "httpx", "aiohttp", "http.client", "httplib", "urllib3", "dns.", "resolver",
              "pycurl", "ftplib", "paramiko", "Request(", "import_module", "__import__", "curl", "wget", "WebRequest",
              "apiclient",  # (googleapiclient)
              *_catalog.names("inbound", "chat.modules"),  # (a chat bot's messages)
              *_catalog.names("inbound", "events.modules"),  # (an event handler's arguments)
              "on_message", "message_callback_add"),  # (a network client's message callback)
    SOCKET: ("socket", "recv", "open_connection", "Telnet", "websocket"),
    LISTENER: ("accept", "rfile", "RequestHandler", "recv", "self.request", "self.path",
               *_catalog.names("inbound", "events.modules")),
    REQUEST: ("request",),
    DECODED: ("b64decode", "b32decode", "b16decode", "b85decode", "a85decode", "decodebytes", "codecs.decode",
              "decompress", "fromhex", "unhexlify", "a2b_", "Fernet", "reveal"),
    ENV: ("environ", "getenv"),
    FILE: ("open(", "read_text", "read_bytes", "get_data", "read_binary"),
    USER: ("input(", "argv", "stdin"),
}
_TRANSFORMS = frozenset({"builtins.str", "builtins.bytes", "builtins.bytearray", "builtins.memoryview",
                         "json.loads", "builtins.reversed", "builtins.list"}) | frozenset(DECODERS)
_PLAIN_LAYERS = frozenset({"concat", "escapes"})  # string building that hides nothing
_TORNADO_INPUT = frozenset({"get_argument", "get_arguments", "get_body_argument", "get_body_arguments",
                            "get_query_argument", "get_query_arguments", "get_cookie", "get_secure_cookie",
                            "get_signed_cookie"})


def code_of(node: cst.CSTNode, limit: int = 60) -> str:
    text = " ".join(code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def any_match(names: Iterable[str], patterns: Iterable[str]) -> str | None:
    """The first name (sorted) matching the first pattern (in order) that any name matches; exact or fnmatch-style."""
    names = sorted(names)
    union = _catalog.glob_regex(patterns if isinstance(patterns, tuple) else tuple(patterns))
    if not any(union.match(n) for n in names):  # one regex turns most calls away
        return None
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            for n in names:
                if fnmatch.fnmatchcase(n, pattern):
                    return n
        elif pattern in names:
            return pattern
    return None


def positional(call: cst.Call) -> list[cst.BaseExpression]:
    return [a.value for a in call.args if a.keyword is None and not a.star]


def keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def argument(call: cst.Call, index: int, name: str) -> cst.BaseExpression | None:
    args = positional(call)
    return args[index] if len(args) > index else keyword(call, name)


def is_true(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


class CappedInTestCode:
    """A rule mixin: findings in test code (`tests/`, `test_*.py`, `conftest.py`, docs and examples folders) are capped
    at `test_code_severity`. A test server comparing a fixed token, a test writing a startup file into a temporary
    home or a fixture wheel's `.pth` is not what the package runs on install or import; it stays visible, below high."""

    test_code_severity: ClassVar[Severity] = Severity.MEDIUM

    def report(self, node: cst.CSTNode, message: str, *, severity: Severity | None = None,
               **kwargs: Any) -> None:
        given = severity if severity is not None else type(self).severity  # type: ignore[attr-defined]
        if given > self.test_code_severity and in_test_path(self.context.path):  # type: ignore[attr-defined]
            severity, message = self.test_code_severity, message + " (in test code)"
        super().report(node, message, severity=severity, **kwargs)  # type: ignore[misc]


class FunctionScopes:
    """Mixin for rules that gather facts per function (module level counts as one) and judge them on leaving it.

    The rule sets `scope_type` (built as `scope_type(node=...)`), reads `self._scopes[-1]` while visiting and
    implements `_finish(scope)`."""

    scope_type: ClassVar[Any]
    _scopes: list[Any]

    def _enter(self, node: cst.CSTNode) -> None:
        self.__dict__.setdefault("_scopes", []).append(self.scope_type(node=node))

    def visit_Module(self, node: cst.Module) -> None:
        self._enter(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        self._finish(self._scopes.pop())

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._enter(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._finish(self._scopes.pop())

    def _finish(self, scope: Any) -> None:  # pragma: no cover - each rule implements it
        raise NotImplementedError


@dataclass(frozen=True)
class Source:
    label: str
    steps: tuple[tuple[cst.CSTNode, str], ...]


class _FunctionMembers(Visitor):
    """Ids of the nodes inside a function, not inside its nested functions, lambdas or classes."""

    def __init__(self, scope: cst.CSTNode) -> None:
        self.scope = scope
        self.found: set[int] = set()
        self.new_scopes = (cst.FunctionDef, cst.Lambda, cst.ClassDef)

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.found.add(id(node))
        return node is self.scope or type(node) not in self.new_scopes  # (exact types: no ABC isinstance per node)


class Analyzer:
    """Per-file helper shared by the DS1xx rules (one per FileContext): sources, sinks and decoding."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.names: NameResolver = context.names
        self._flow = None
        self._flow_failed = False
        self._decoded: dict[int, Peeled | None] = {}
        self._noted: set[str] = set()
        # One object, so the data-flow layer solves once per file; through a weak reference, since a bound method
        # kept on the instance is a cycle that holds this analyzer (and what it refers to) until the collector runs.
        analyzer = weakref.ref(self)
        self._classify = lambda expr: analyzer().classify(expr)  # type: ignore[union-attr]
        self._hints: dict[tuple[str], bool] = {}
        self._scope_members: dict[int, frozenset[int]] = {}
        self._chat: bool | None = None  # whether the module imports a chat-bot library
        self._events: bool | None = None  # whether the module imports an event-handler library (Socket.IO)
        self._message_callbacks: frozenset[str] | None = None  # functions registered as `on_message` callbacks

    @classmethod
    def of(cls, context: FileContext) -> Analyzer:
        found = getattr(context, "_ds1xx_analyzer", None)
        if found is None:
            found = cls(context)
            context._ds1xx_analyzer = found  # type: ignore[attr-defined]
        return found

    # --- sinks ---------------------------------------------------------------------------------

    def call_names(self, call: cst.Call) -> frozenset[str]:
        return self.names.call_names(call)

    def exec_sink(self, call: cst.Call) -> tuple[str, str, cst.BaseExpression] | None:
        """(kind "code"/"deserialize", qualified name, payload argument) when the call runs code or loads objects."""
        qualified = self.call_names(call)
        if qualified.isdisjoint(_EXEC_SINKS):
            return self._started_sink(call) if not qualified.isdisjoint(_STARTERS) else None
        args = positional(call)
        code = next((q for q in sorted(qualified) if q in CODE_SINKS), None)
        if code is not None:
            arg = args[0] if args else keyword(call, "source") or keyword(call, "code") or keyword(call, "path_name")
            return ("code", code, arg) if arg is not None else None
        load = next((q for q in sorted(qualified) if q in DESER_SINKS), None)
        if load is not None:
            needed = NEEDS_KEYWORD.get(load)
            if needed is not None:
                key, _, want = needed.partition("=")
                value = keyword(call, key)
                if value is None or (want and not (isinstance(value, cst.Name) and value.value == want)) or (
                        not want and not is_true(value)):
                    return None
            arg = args[0] if args else keyword(call, "data") or keyword(call, "file") or keyword(call, "s")
            return ("deserialize", load, arg) if arg is not None else None
        yaml = next((q for q in sorted(qualified) if q in YAML_LOAD), None)
        if yaml is not None and args:
            loader = keyword(call, "Loader") or (args[1] if len(args) > 1 else None)
            if loader is not None and self.names.qualified_names(loader) & YAML_UNSAFE:
                return "deserialize", f"{yaml}(Loader={code_of(loader, 30)})", args[0]
        return None

    def started(self, call: cst.Call):
        """(target, arguments) of a call that runs a target later (a thread, a process, `atexit`, `partial`), else
        None: the data flow's reading of its table of indirect calls."""
        flow = self.flow()
        return flow.indirect(call) if flow is not None else None

    def _started_sink(self, call: cst.Call) -> tuple[str, str, cst.BaseExpression] | None:
        """`Process(target=exec, args=(code,))`, `partial(exec, code)`: a target that is a code sink, started or bound
        with its first argument, runs that argument."""
        started = self.started(call)
        if started is None or not started[1] or started[1][0][:2] != ("", None):
            return None
        target, (first, *_) = started
        code = next((q for q in sorted(self.names.qualified_names(target)) if q in CODE_SINKS), None)
        starter = next(q for q in sorted(self.call_names(call)) if q in _STARTERS)
        return ("code", f"{code} (through {starter})", first[2]) if code else None

    def spawn(self, call: cst.Call) -> tuple[str, str] | None:
        """("shell"|"argv", qualified name) when the call starts a process; argv calls with shell=True are "shell"."""
        qualified = self.call_names(call)
        if qualified.isdisjoint(_SPAWNERS):
            return None
        shell = next((q for q in sorted(qualified) if q in SHELL_SPAWN), None)
        if shell is not None:
            return "shell", shell
        argv = next((q for q in sorted(qualified) if q in ARGV_SPAWN), None)
        if argv is not None:
            if argv in SHELL_KEYWORD and self.truthy(keyword(call, "shell")):
                return "shell", argv
            return "argv", argv
        return None

    def forwarded_spawn(self, call: cst.Call) -> cst.Call | None:
        """`run = lambda cmd: subprocess.run(cmd, shell=True)` (or a one-`return` def) then `run("reg add ...")`: the
        spawn the wrapper makes, with this call's first argument in place of the wrapper's first parameter."""
        if not isinstance(call.func, cst.Name) or not call.args or call.args[0].keyword is not None or call.args[0].star:
            return None
        helper = self.names.single_helper(call.func.value)
        if helper is None or not helper[0]:
            return None
        params, inner = helper
        if not isinstance(inner, cst.Call) or not inner.args or self.spawn(inner) is None:
            return None
        first = inner.args[0]
        if first.keyword is not None or not isinstance(first.value, cst.Name) or first.value.value != params[0].name.value:
            return None
        return inner.with_changes(args=[first.with_changes(value=call.args[0].value), *inner.args[1:]])

    def truthy(self, expr: cst.BaseExpression | None) -> bool:
        if expr is None:
            return False
        if is_true(expr):
            return True
        value = fold(expr, self.names)
        return isinstance(value, int) and value != 0

    def command_text(self, call: cst.Call) -> str | None:
        """The folded command a spawner runs: a shell string, or an argv list joined with spaces."""
        args = positional(call)
        first = args[0] if args else keyword(call, "args") or keyword(call, "cmd") or keyword(call, "command")
        if first is None:
            return None
        if isinstance(first, cst.Name):
            first = self.names.single_value(first.value) or first
        if isinstance(first, (cst.List, cst.Tuple)):
            parts = []
            for el in first.elements:
                value = fold_str(el.value, self.names) if isinstance(el, cst.Element) else None
                parts.append(value if value is not None else "*")
            text = " ".join(parts)
            qualified = self.call_names(call)
            if any(q.startswith("os.exec") or q.startswith("os.spawn") for q in qualified) and len(args) > 1:
                text = " ".join(fold_str(a, self.names) or "*" for a in args[1:])
            return text if text.strip("* ") else None
        text = fold_str(first, self.names)
        if text is None and any(q.startswith(("os.exec", "os.spawn")) for q in self.call_names(call)):
            rest = [fold_str(a, self.names) for a in args[1:]]
            text = " ".join(r or "*" for r in rest) if any(rest) else None
        if text is None and isinstance(first, (cst.FormattedString, cst.BinaryOperation, cst.ConcatenatedString)):
            text = self.partial_text(first)  # `f'reg add "{KEY}" /v {name} /d "{path}"'`
            text = text if text.strip("* ") else None
        return text

    def partial_text(self, expr: cst.BaseExpression, depth: int = 0) -> str:
        """A command string built from literals and values: what folds, with `*` for each part that does not."""
        value = fold_str(expr, self.names)
        if value is not None or depth > 6:
            return value if value is not None else "*"
        if isinstance(expr, cst.FormattedString):
            raw = "r" in expr.prefix.lower()
            return "".join(_fstring_text(p.value, raw) if isinstance(p, cst.FormattedStringText)
                           else self.partial_text(p.expression, depth + 1)  # type: ignore[union-attr]
                           for p in expr.parts)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add) or isinstance(
                expr, cst.ConcatenatedString):
            return self.partial_text(expr.left, depth + 1) + self.partial_text(expr.right, depth + 1)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
            template = fold_str(expr.left, self.names)  # `"echo %s | base64 -d | bash" % blob`
            return re.sub(r"%[-#0 +]*\d*(?:\.\d+)?[sdrifx]", "*", template) if template is not None else "*"
        if isinstance(expr, cst.Name):
            bound = self.names.single_value(expr.value)
            return self.partial_text(bound, depth + 1) if bound is not None else "*"
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            flow = self.flow()  # `self.key` set in `__init__`
            values = flow.values_of(expr) if flow is not None else ()
            return self.partial_text(values[0], depth + 1) if len(values) == 1 else "*"
        return "*"

    # --- sources -------------------------------------------------------------------------------

    def classify(self, expr: cst.BaseExpression) -> tuple[str, ...]:
        """Labels of a source expression itself (the data-flow `classify` callback; no propagation here)."""
        if isinstance(expr, cst.Call):
            return self._classify_call(expr)
        if isinstance(expr, (cst.Attribute, cst.Subscript, cst.Name)):
            qualified = self.names.qualified_names(expr)
            found = []
            if any(q in ENV_ATTRS or any(q.startswith(a + ".") or q.startswith(a + "[") for a in ENV_ATTRS)
                   for q in qualified):
                found.append(ENV)
            if any(q in USER_ATTRS or q.startswith("sys.argv") for q in qualified):
                found.append(USER)
            if any(q == r or q.startswith(r + ".") for q in qualified for r in REQUEST_ATTRS) or isinstance(expr, cst.Attribute) and self._request_parameter(expr):
                found.append(REQUEST)
            if isinstance(expr, cst.Attribute) and self._handler_input(expr):
                found.append(LISTENER)
            if isinstance(expr, cst.Attribute) and self._chat_message(expr) or isinstance(
                    expr, cst.Name) and self._chat_command_argument(expr):
                found.append(NETWORK)
            if isinstance(expr, cst.Name):
                found.extend(label for label in self._event_argument(expr) if label not in found)
                if NETWORK not in found and self._message_callback_argument(expr):
                    found.append(NETWORK)
            return tuple(found)
        return ()

    def _classify_call(self, call: cst.Call) -> tuple[str, ...]:
        qualified = self.call_names(call)
        found: list[str] = []
        # A method called on a fetched response is still fetched data: `urlopen(u).read()`, `r.content.decode()`.
        results = {q.split("()", 1)[0] for q in qualified if "()" in q}
        if any_match(qualified, NETWORK_CALLS) or any_match(results, NETWORK_CALLS):
            found.append(NETWORK)
        if any_match(qualified, LISTENER_CALLS):
            found.append(LISTENER)
        elif isinstance(call.func, cst.Attribute) and call.func.attr.value in SOCKET_METHODS and not self._local_pipe(
                call.func.value):
            receiver = self.names.qualified_names(call.func.value)
            server_side = any(fnmatch.fnmatchcase(r, "*.accept()[[]0[]]*") for r in receiver) or (
                isinstance(call.func.value, cst.Attribute) and self._handler_input(call.func.value))
            found.append(LISTENER if server_side else SOCKET)
        elif any_match(qualified, SOCKET_CALLS) and not any(q.endswith((".send", ".sendall", ".connect", ".close"))
                                                          for q in qualified):
            found.append(SOCKET)
        if self.own_source(call, qualified):
            found.append(DECODED)  # the module reading its own text: a payload kept in its comments or docstrings
        if any(q.endswith(_STEGANO_REVEAL) for q in qualified):
            found.append(DECODED)  # text hidden in an image's pixels or metadata (`stegano.lsb.reveal(png)`, forks)
        if NETWORK not in found and not qualified.isdisjoint(_SPAWNERS) and self._fetch_command(call):
            found.append(NETWORK)  # `subprocess.getoutput("curl -s https://...")`: what the fetch printed
        if any_match(qualified, ENV_CALLS):
            found.append(ENV)
        if any_match(qualified, FILE_CALLS) and in_memory_buffer(call, self.call_names) is None:
            found.append(FILE)
        if any_match(qualified, USER_CALLS):
            found.append(USER)
        if isinstance(call.func, cst.Attribute):
            found.extend(label for label in self.classify(call.func.value) if label in (REQUEST, LISTENER)
                         and label not in found)
            if REQUEST not in found and self._request_parameter(call.func):
                found.append(REQUEST)  # `await request.json()`, `request.get_json()`, `await request.post()`
            if call.func.attr.value in _TORNADO_INPUT and isinstance(call.func.value, cst.Name) and \
                    call.func.value.value == "self" and REQUEST not in found and "tornado" in self.context.text:
                found.append(REQUEST)  # a Tornado RequestHandler's `self.get_argument("cmd")`
        if isinstance(call.func, (cst.Name, cst.Lambda)) and len(call.args) == 1 and not qualified & _TRANSFORMS:
            peeled = self._decoded_by_lambda(call)
            if peeled is not None and peeled.layers:
                found.append(DECODED)
        if any(q in DECODERS for q in qualified):
            peeled = self.decoded(call)
            if peeled is None:
                peeled = self._decoded_through_parameter(call)
            if peeled is not None and peeled.layers:
                found.append(DECODED)
        return tuple(found)

    def _local_pipe(self, receiver: cst.BaseExpression) -> bool:
        """An end of `multiprocessing.Pipe()`: what it receives comes from the program's own processes."""
        if "Pipe" not in self.context.text:
            return False
        values: list[cst.BaseExpression] = [receiver]
        if isinstance(receiver, (cst.Name, cst.Attribute)):
            flow = self.flow()
            values += flow.values_of(receiver)[:4] if flow is not None else []
        for value in values:
            if isinstance(value, cst.Subscript):
                value = value.value  # `parent, child = Pipe()`: each end is the call's result indexed
            if any(q.startswith(_PIPES) for q in self.names.qualified_names(value)):
                return True
        return False

    def own_source(self, call: cst.Call, qualified: frozenset[str] | None = None) -> bool:
        """`inspect.getsource(sys.modules[__name__])`, `open(__file__).read()`, `Path(__file__).read_text()`: the
        module's own text, which only hides something when the module runs part of it."""
        if "__file__" not in self.context.text and "__name__" not in self.context.text:
            return False
        if qualified is None:
            qualified = self.call_names(call)
        if qualified & _SOURCE_READERS:
            args = positional(call)
            return bool(args) and code_of(args[0], 60).replace(" ", "") in _OWN_MODULE
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("read", "read_text", "readlines"):
            opened = call.func.value
            if isinstance(opened, cst.Call) and opened.args and code_of(opened.args[0].value, 20) == "__file__":
                return bool(self.call_names(opened) & {"builtins.open", "io.open", "codecs.open", "pathlib.Path"})
        return False

    def _fetch_command(self, call: cst.Call) -> bool:
        """A spawned command that fetches a URL and prints it (`curl -s URL`, `wget -qO- URL`, `Invoke-WebRequest`)."""
        text = self.command_text(call)
        if not text or "://" not in text:
            return False
        words = text.replace("\\", "/").split()
        program = words[0].rsplit("/", 1)[-1].lower().removesuffix(".exe") if words else ""
        if program in ("powershell", "pwsh") and len(words) > 1:
            program = next((w.lower() for w in words[1:] if not w.startswith("-")), "")
        return program in _FETCH_PROGRAMS and not any(w in ("-o", "-O", "--output", "-OutFile") for w in words[1:])

    def _request_parameter(self, expr: cst.Attribute) -> bool:
        """`request.GET`, `req.headers`, `self.request.data`: a handler's request object's inputs."""
        if expr.attr.value not in REQUEST_PARAM_ATTRS:
            return False
        base = expr.value
        if isinstance(base, cst.Attribute) and isinstance(base.value, cst.Name) and base.value.value == "self":
            base = base.attr
        if not isinstance(base, cst.Name) or base.value not in ("request", "req"):
            return False
        bound = self.names.qualified_names(expr.value) if isinstance(expr.value, cst.Name) else frozenset()
        return not any(b.startswith(("urllib", "six.", "requests", "http")) for b in bound)

    def _chat_module(self) -> bool:
        if self._chat is None:
            self._chat = CHAT_MODULES.search(self.context.text) is not None
        return self._chat

    def _chat_message(self, expr: cst.Attribute) -> bool:
        """`message.content`, `update.message.text`, `event.raw_text`: the text of a chat bot's incoming message."""
        if expr.attr.value not in CHAT_ATTRS:
            return False
        base = expr.value
        if isinstance(base, cst.Attribute):
            if base.attr.value == "message" and self._in_chat_command(expr):
                return True  # `ctx.message.content` in a `@bot.command()` (a bot split over files imports elsewhere)
            base = base.attr
        if not isinstance(base, cst.Name) or not self._chat_module():
            return False
        return base.value in CHAT_MESSAGES or self._handler_message(base)

    def _decorated_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        """The decorated function a node is in (handlers are registered by decorators)."""
        flow = self.flow()
        function = flow.function_of(node) if flow is not None else None
        return function if function is not None and function.decorators else None

    @staticmethod
    def parameters(function: cst.FunctionDef, skip: int = 0) -> list[str]:
        """The names a function's parameters bind, the first `skip` positional ones left out."""
        params = function.params
        given = [*params.posonly_params, *params.params][skip:] + list(params.kwonly_params)
        if isinstance(params.star_arg, cst.Param):
            given.append(params.star_arg)
        return [p.name.value for p in given]

    def _handler_message(self, name: cst.Name) -> bool:
        """The first parameter of a function registered for incoming chat messages (`@bot.message_handler()`)."""
        function = self._decorated_function(name)
        positional = [*function.params.posonly_params, *function.params.params] if function is not None else []
        if not positional or positional[0].name.value != name.value:
            return False
        for d in function.decorators:  # type: ignore[union-attr]
            decorator = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
            if isinstance(decorator, cst.Attribute) and decorator.attr.value in CHAT_HANDLERS:
                return True
        return False

    def _in_chat_command(self, node: cst.CSTNode) -> bool:
        function = self._decorated_function(node)
        return function is not None and any(_command_decorator(d.decorator) for d in function.decorators)

    def _chat_command_argument(self, name: cst.Name) -> bool:
        """A parameter (after the context) of a chat bot's command (`@bot.command()`, `@tree.command()`): the words
        someone typed in the chat."""
        if not self._chat_module() or not self._in_chat_command(name):
            return False
        return name.value in self.parameters(self._decorated_function(name), skip=1)  # type: ignore[arg-type]

    def _event_argument(self, name: cst.Name) -> tuple[str, ...]:
        """A parameter of a function a Socket.IO client (`@sio.event`, `@sio.on("cmd")`) or server registers for an
        event: what the other end sent (network for a client, listener for a server)."""
        if self._events is None:
            self._events = EVENT_MODULES.search(self.context.text) is not None
        function = self._decorated_function(name) if self._events else None
        if function is None or name.value not in self.parameters(function):
            return ()
        labels: list[str] = []
        for d in function.decorators:
            registered = self.names.qualified_names(d.decorator.func if isinstance(d.decorator, cst.Call)
                                                    else d.decorator)
            if any_match(registered, CLIENT_EVENTS):
                labels.append(NETWORK)
            elif any_match(registered, SERVER_EVENTS):
                labels.append(LISTENER)
        return tuple(labels)

    def _message_callback_argument(self, name: cst.Name) -> bool:
        """A parameter (after the first) of a function a network client calls with each message it receives:
        registered as `on_message` (`WebSocketApp(url, on_message=f)`, paho-mqtt's `client.on_message = f`, STOMP) or
        with `message_callback_add(topic, f)`."""
        if self._message_callbacks is None:
            text = self.context.text
            self._message_callbacks = frozenset(m.group(1) for m in _MESSAGE_CALLBACK.finditer(text)) if (
                "on_message" in text or "message_callback_add" in text) else frozenset()
        if not self._message_callbacks:
            return False
        flow = self.flow()
        function = flow.function_of(name) if flow is not None else None
        return function is not None and function.name.value in self._message_callbacks and (
            name.value in self.parameters(function, skip=1))

    @staticmethod
    def _handler_input(expr: cst.Attribute) -> bool:
        """`self.rfile`, `self.request` (socketserver), `self.path`, `self.headers` of a request handler."""
        return isinstance(expr.value, cst.Name) and expr.value.value == "self" and expr.attr.value in HANDLER_ATTRS

    def sources(self, expr: cst.BaseExpression, want: Iterable[str] | None = None, use_flow: bool = True,
                scope: cst.CSTNode | None = None) -> dict[str, Source]:
        """Where the data in `expr` may come from: label -> one path.

        Direct sources (the expression itself, its receivers, transforms; variables assigned in
        `scope`, the function the caller is in, when given) always; the module's data flow
        (variables, helpers, returns, attributes) only when a label in `want` could occur in this
        file at all, since solving it costs passes over the whole module.
        """
        found: dict[str, Source] = {}
        follow: object = scope if scope is not None else ("all" if self.flow() is None else None)
        for node, label in self._direct(expr, follow, 0, set()):
            if label not in found:
                found[label] = Source(label, ((node, f"source: {LABEL_TEXT.get(label, label)}: `{code_of(node)}`"),))
        wanted = set(want) if want is not None else set(LABEL_TEXT)
        top = {NETWORK, SOCKET, LISTENER, REQUEST}
        if wanted & set(found) & top or wanted <= set(found) or not use_flow or not self._possible(
                wanted - set(found)):
            return found
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.Integer)):
            return found
        flow = self.flow()
        if flow is not None:
            try:
                for taint in flow.taints(expr, self._classify):
                    if taint.label in LABEL_TEXT and (taint.label not in found or len(found[taint.label].steps) < 2):
                        if taint.steps:
                            found[taint.label] = Source(taint.label, tuple(taint.steps))
            except Exception as exc:  # the data-flow layer must not cost the rule its direct findings
                self.note_once("flow-error", f"data flow failed ({type(exc).__name__}: {exc}); direct sources only")
        return found

    def _possible(self, labels: set[str]) -> bool:
        """Could any of these labels have a source in this file? A cheap text test before solving data flow."""
        text = self.context.text
        for label in labels:
            key = (label,)
            if key not in self._hints:
                self._hints[key] = any(h in text for h in _HINTS.get(label, ()))
            if self._hints[key]:
                return True
        return False

    def flow(self):
        """The module's data-flow analysis (constructed lazily; its passes run on the first question)."""
        if self._flow is None and not self._flow_failed:
            try:
                self._flow = self.context.flow
            except Exception as exc:  # data flow is optional: without it the rules see direct sources only
                self._flow_failed = True
                self.note_once("flow-error", f"data flow unavailable ({type(exc).__name__}); direct sources only")
        return self._flow

    def _direct(self, expr: cst.BaseExpression, follow: bool, depth: int, seen: set[str]
                ) -> Iterator[tuple[cst.CSTNode, str]]:
        if depth > 12:
            return
        for label in self.classify(expr):
            yield expr, label
        d = depth + 1
        if isinstance(expr, (cst.Attribute, cst.Subscript)):
            yield from self._direct(expr.value, follow, d, seen)
        elif isinstance(expr, cst.Await):
            yield from self._direct(expr.expression, follow, d, seen)
        elif isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Attribute):
                yield from self._direct(expr.func.value, follow, d, seen)
            qualified = self.call_names(expr)
            if qualified & _TRANSFORMS or (isinstance(expr.func, cst.Attribute) and expr.func.attr.value in (
                    "join", "format", "decode", "encode", "strip", "replace")):
                for arg in positional(expr):
                    yield from self._direct(arg, follow, d, seen)
            else:
                buffer = in_memory_buffer(expr, self.call_names)
                if buffer is not None:  # `Image.open(io.BytesIO(requests.get(u).content))`
                    yield from self._direct(buffer, follow, d, seen)
        elif isinstance(expr, cst.BinaryOperation):
            yield from self._direct(expr.left, follow, d, seen)
            yield from self._direct(expr.right, follow, d, seen)
        elif isinstance(expr, (cst.IfExp,)):
            yield from self._direct(expr.body, follow, d, seen)
            yield from self._direct(expr.orelse, follow, d, seen)
        elif isinstance(expr, cst.BooleanOperation):
            yield from self._direct(expr.left, follow, d, seen)
            yield from self._direct(expr.right, follow, d, seen)
        elif isinstance(expr, cst.FormattedString):
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    yield from self._direct(part.expression, follow, d, seen)
        elif isinstance(expr, (cst.List, cst.Tuple)):
            for el in expr.elements:
                yield from self._direct(el.value, follow, d, seen)
        elif isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
            yield from self._direct(expr.for_in.iter, follow, d, seen)
        elif isinstance(expr, cst.Name) and follow is not None and expr.value not in seen:
            seen.add(expr.value)
            members = self._members(follow) if isinstance(follow, cst.CSTNode) else None
            for value in self.names._bound.get(expr.value, [])[:8]:  # noqa: SLF001 - the resolver's bindings
                if not isinstance(value, cst.BaseExpression):
                    continue
                anchor = value.value if isinstance(value, cst.Subscript) and isinstance(
                    value.value, (cst.Call, cst.Await)) else value  # `a, b = call()` binds call()[i]
                if members is None or id(anchor) in members:  # same function: no cross-scope name mixing
                    yield from self._direct(value, follow, d, seen)

    def local_value(self, name: str, scope: cst.CSTNode | None) -> cst.BaseExpression | None:
        """The one value `name` is bound to inside `scope` (a function; its nested functions excluded), else the
        module-wide single value."""
        single = self.names.single_value(name)
        if single is not None or scope is None:
            return single
        members = self._members(scope)
        inside = [v for v in self.names._bound.get(name, [])[:16]  # noqa: SLF001 - the resolver's bindings
                  if isinstance(v, cst.BaseExpression) and id(v) in members]
        return inside[0] if len(inside) == 1 else None

    def _members(self, scope: cst.CSTNode) -> frozenset[int]:
        """Ids of the nodes inside a function (not its nested functions); cached per function."""
        key = id(scope)
        if key not in self._scope_members:
            collect = _FunctionMembers(scope)
            walk(scope, collect)
            self._scope_members[key] = frozenset(collect.found)
        return self._scope_members[key]

    # --- decoding ------------------------------------------------------------------------------

    def decoded(self, expr: cst.BaseExpression) -> Peeled | None:
        """The literal payload an expression decodes (following the decoder calls written around it)."""
        key = id(expr)
        if key not in self._decoded:
            peeled = decode_expr(expr, self.names, DECODERS, self.context.limits)
            if peeled is not None and peeled.limited:
                self.note_once("decode-limit", f"payload at `{code_of(expr, 40)}` not fully decoded: {peeled.limited}")
            if peeled is not None and peeled.note:
                self.note_once("decode-skipped", peeled.note)
            self._decoded[key] = peeled
        return self._decoded[key]

    def _decoded_by_lambda(self, call: cst.Call) -> Peeled | None:
        """`unpack = lambda s: b64decode(codecs.decode(s, "rot13"))` then `unpack("...")`, or the lambda called where it
        is written (`(lambda s: ...)("...")`): the body with the argument in place of the parameter."""
        fn = call.func if isinstance(call.func, cst.Lambda) else self.names.single_value(
            call.func.value)  # type: ignore[attr-defined]
        if not isinstance(fn, cst.Lambda) or len(fn.params.params) != 1 or not isinstance(fn.body, cst.Call):
            return None
        param = fn.params.params[0].name.value
        uses = [node for node in names_in(fn.body) if node.value == param]
        if len(uses) != 1:
            return None
        try:
            swapped = fn.body.deep_replace(uses[0], call.args[0].value)
        except Exception:  # noqa: BLE001
            return None
        peeled = decode_expr(swapped, self.names, DECODERS, self.context.limits)  # type: ignore[arg-type]
        return peeled if peeled is not None and set(peeled.layers) - _PLAIN_LAYERS else None

    def decoded_call(self, call: cst.Call) -> Peeled | None:
        """What a decoder call decodes: its literal argument, or the literal a helper's caller passes it."""
        return self.decoded(call) or self._decoded_through_parameter(call)

    def _decoded_through_parameter(self, call: cst.Call) -> Peeled | None:
        """`def unpack(x): return zlib.decompress(b64decode(x))` called with a literal: decode with the argument put
        in place of the parameter (only once the module's data flow exists, and only for a one-name innermost argument)."""
        if self._flow is None:
            return None
        inlined = self._inline_helpers(call)
        if inlined is not call:
            peeled = decode_expr(inlined, self.names, DECODERS, self.context.limits)  # type: ignore[arg-type]
            if peeled is not None and set(peeled.layers) - _PLAIN_LAYERS:
                return peeled
        inner: cst.BaseExpression = call
        for _ in range(8):
            if isinstance(inner, cst.Subscript):  # `b64decode(s[::-1])`
                inner = inner.value
                continue
            if not isinstance(inner, cst.Call) or not inner.args:
                break
            inner = inner.args[0].value
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) and inner.func.attr.value in (
                    "encode", "decode", "strip"):
                inner = inner.func.value
        base: cst.BaseExpression = call
        for _ in range(3):  # `b = s.encode("ascii")` with `s` the parameter: step through such local re-encodings
            if not isinstance(inner, cst.Name):
                return None
            try:
                values = self._flow.values_of(inner)
            except Exception:  # noqa: BLE001 - data flow is optional here
                return None
            for value in values[:4]:
                if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.Name)) and value is not inner:
                    try:
                        swapped = base.deep_replace(inner, value)
                    except Exception:  # noqa: BLE001, S112 - an odd tree shape: try the next value
                        continue
                    peeled = decode_expr(swapped, self.names, DECODERS, self.context.limits)  # type: ignore[arg-type]
                    if peeled is not None and set(peeled.layers) - _PLAIN_LAYERS and len(peeled.data or b"") >= 4:
                        return peeled  # (not the `''` a variable starts as before it is read from somewhere)
            step = values[0] if len(values) == 1 else None
            if not (isinstance(step, cst.Call) and isinstance(step.func, cst.Attribute) and step.func.attr.value in (
                    "encode", "decode", "strip")):
                return None
            try:
                base = base.deep_replace(inner, step)
            except Exception:  # noqa: BLE001 - an odd tree shape
                return None
            inner = step.func.value
        return None

    def _inline_helpers(self, call: cst.Call) -> cst.Call:
        """The decoder call with each argument-less call of a module helper returning one value replaced by that value
        (`b64decode(part_a() + part_b())`, where `def part_a(): return "aW1w"`), a few levels deep; else the call."""
        assert self._flow is not None
        flow = self._flow
        for _ in range(3):
            helpers = [(c, r) for c in calls_in(call)[:64] if (r := flow.single_return(c)) is not None]
            if not helpers:
                break
            try:
                for helper, value in helpers[:16]:
                    call = call.deep_replace(helper, value)  # type: ignore[assignment]
            except Exception:  # noqa: BLE001 - an odd tree shape: decode what there is
                break
        return call

    def payload_literal(self, expr: cst.BaseExpression) -> cst.CSTNode:
        """The literal node a decoded payload comes from (for anchoring nested findings), else the expression."""
        best: cst.CSTNode = expr
        size = -1
        for node in strings_in(expr):
            if len(node.value) > size:
                best, size = node, len(node.value)
        if size < 0:
            for name in names_in(expr):  # `exec(base64.b64decode(STAGE))`: the literal is where STAGE is assigned
                value = self.names.single_value(name.value)
                if value is not None and value is not expr:
                    found = self.payload_literal(value)
                    if isinstance(found, cst.SimpleString):
                        return found
        return best

    def note_once(self, kind: str, message: str) -> None:
        if message not in self._noted:
            self._noted.add(message)
            self.context.note(kind, message)


def python_payload(peeled: Peeled | None, limit: int = 1_000_000) -> str | None:
    text = peeled.text if peeled is not None else None
    return text if text is not None and looks_like_python(text, limit) else None


def short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TOKENISH = re.compile(r"[A-Za-z0-9+/_\-]{20,}={0,2}")


def snippet(text: str, limit: int = 60) -> tuple[str, tuple[str, ...]]:
    """A short one-line excerpt of decoded text and the token-like strings in it, for the engine to redact."""
    shown = short(text, limit)
    return shown, tuple(sorted({m.group() for m in _TOKENISH.finditer(shown)}))


# --- command strings ---------------------------------------------------------------------------------------------

REVERSE_SHELL_COMMANDS = [
    (re.compile(r"/dev/(tcp|udp)/[^\s/]+/\d+", re.IGNORECASE), "bash /dev/tcp redirection"),
    (re.compile(r"\bn(c|cat|etcat)(\.exe)?\b[^|;&]*\s-[a-z]*[ec]\s*\S*(sh|cmd|powershell)", re.IGNORECASE), "netcat -e shell"),
    (re.compile(r"\bn(c|cat)\b[^|;&]*--(exec|sh-exec)", re.IGNORECASE), "ncat --exec"),
    (re.compile(r"mkfifo\b.*\|\s*(/bin/)?(ba|z|da)?sh\b.*\|\s*n(c|cat|etcat)\b", re.IGNORECASE), "mkfifo netcat shell"),
    (re.compile(r"mknod\b.*\bp\b.*(nc|telnet)\b", re.IGNORECASE), "mknod pipe shell"),
    (re.compile(r"\bsocat\b.*\bexec:", re.IGNORECASE), "socat exec"),
    (re.compile(r"\bsocat\b.*\btcp(4|6)?(-connect|-listen)?:.*\b(pty|system:)", re.IGNORECASE), "socat pty"),
    (re.compile(r"\btelnet\b[^|]*\|\s*(/bin/)?(ba)?sh\b[^|]*\|\s*telnet\b", re.IGNORECASE), "telnet pipe shell"),
    (re.compile(r"\b(python[23w]?|perl|ruby|php|lua)\b.*\s-[cerE]\s.*socket.*(connect|fsockopen|TCPSocket|open\()"
                r".*(dup2|pty|spawn|subprocess|exec|popen|/bin/sh|system|sh\b|cmd)", re.IGNORECASE | re.DOTALL),
     "scripting-language socket shell one-liner"),
    (re.compile(r"\bfsockopen\s*\(.*\b(exec|shell_exec|system|proc_open)\b", re.IGNORECASE), "php fsockopen shell"),
    (re.compile(r"New-Object\s+System\.Net\.Sockets\.TCPClient.*(iex|Invoke-Expression)", re.IGNORECASE | re.DOTALL),
     "powershell TCPClient shell"),
    (re.compile(r"0<&\d+\s*;?\s*exec\s+\d+<>/dev/tcp", re.IGNORECASE), "bash exec fd shell"),
]

DOWNLOAD_EXEC_COMMANDS = [
    (re.compile(r"\b(curl|wget|fetch)\b[^|;&]*(https?|ftp)://[^|;&]*\|\s*(sudo\s+)?(/\S*/)?(ba|z|da|k)?sh\b", re.IGNORECASE),
     "download piped into a shell"),
    (re.compile(r"\b(curl|wget|fetch)\b[^|;&]*(https?|ftp)://[^|;&]*\|\s*(sudo\s+)?(python[0-9.]*|perl|ruby|php|node)"
                r"\b", re.IGNORECASE), "download piped into an interpreter"),
    (re.compile(r"\b(ba|z)?sh\s+-c\s+[\"']?\$\((curl|wget)\b", re.IGNORECASE), "shell running a downloaded script"),
    (re.compile(r"\b(curl|wget)\b[^;&|]*(https?|ftp)://.*(&&|;)\s*(sudo\s+)?chmod\s+(\+|u\+|a\+|[0-7]*[1357]\b)", re.IGNORECASE | re.DOTALL),
     "download then chmod +x"),
    (re.compile(r"\b(curl|wget)\b[^;&|]*\s-(o|O)\s*(\S+).*(&&|;)\s*(\./|/tmp/|sh\s|bash\s|python)", re.IGNORECASE | re.DOTALL),
     "download then run"),
    (re.compile(r"\b(iex|Invoke-Expression)\b.*\b(DownloadString|DownloadFile|Invoke-WebRequest|iwr|irm|"
                r"Invoke-RestMethod|Net\.WebClient)", re.IGNORECASE | re.DOTALL), "PowerShell download cradle"),
    (re.compile(r"\b(DownloadString|Invoke-WebRequest|iwr|irm|Invoke-RestMethod)\b.*\|\s*(iex|Invoke-Expression)\b",
                re.IGNORECASE | re.DOTALL), "PowerShell download cradle"),
    (re.compile(r"\b(iwr|Invoke-WebRequest|Start-BitsTransfer|DownloadFile)\b.*(https?|ftp)://.*[;\n|]\s*"
                r"(Start-Process|saps|start|Invoke-Item|ii|Invoke-Expression|iex|rundll32|msiexec|&)\s",
                re.IGNORECASE | re.DOTALL),
     "PowerShell download then run"),
    (re.compile(r"\bpowershell(\.exe)?\b.*\s-(e|ec|enc|encodedcommand)\s+[A-Za-z0-9+/=]{16,}", re.IGNORECASE | re.DOTALL),
     "PowerShell -EncodedCommand"),
    # `pip install https://files.pypihosted.org/.../x.tar.gz`: an sdist from a site that is not a code host; its build
    # runs its setup.py
    (re.compile(r"\bpip[0-9.]*(\.exe)?\s+install\b[^|;&]*(?<!index-url)(?<!-i)(?<!-f)(?<!find-links)(?<!-r)"
                r"(?<!requirement)(?<!-c)(?<!constraint)\s[\"']?(https?|ftp)://(?!(?:[\w-]+\.)*(?:pypi\.org|"
                r"pythonhosted\.org|github\.com|githubusercontent\.com|gitlab\.com|bitbucket\.org|"
                r"download\.pytorch\.org|pypi\.nvidia\.com|data\.pyg\.org|huggingface\.co)[/:])",
                re.IGNORECASE), "pip install from a URL"),
    (re.compile(r"\bcertutil(\.exe)?\b.*-urlcache\b.*-f\b", re.IGNORECASE), "certutil download"),
    (re.compile(r"\bbitsadmin(\.exe)?\b.*/transfer\b", re.IGNORECASE), "bitsadmin download"),
    (re.compile(r"\bmshta(\.exe)?\s+(https?|vbscript|javascript):", re.IGNORECASE), "mshta remote script"),
    (re.compile(r"\bregsvr32\b.*/i:https?://", re.IGNORECASE), "regsvr32 remote scriptlet"),
]


# `echo <base64> | base64 -d | bash`: a command the shell decodes before it runs it (also `printf`, `<<<`, `--decode`)
_SHELL_DECODE = re.compile(
    r"(?:\becho\s+(?:-n\s+)?|\bprintf\s+(?:%s\s+)?|<<<\s*)[\"']?([A-Za-z0-9+/]{8,}={0,2}|\*)[\"']?\s*"
    r"(?:\|\s*(?:sudo\s+)?base64\s+(?:-d|-D|--decode)\b)[^|;&]*\|\s*(?:sudo\s+)?"
    r"((?:/\S*/)?(?:ba|z|da|k)?sh|python[0-9.]*|perl|ruby|php|node)\b", re.IGNORECASE)


def shell_decoded(text: str) -> tuple[str | None, str] | None:
    """(decoded command, the program it is piped into) for `echo <base64> | base64 -d | sh`, else None; the
    command is None when the base64 text is built at run time (`*` in a partly folded command)."""
    found = _SHELL_DECODE.search(text[:20_000])
    if found is None:
        return None
    blob, program = found.group(1), found.group(2).rsplit("/", 1)[-1]
    if blob == "*":
        return None, program
    try:
        decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return (decoded, program) if decoded.strip() else None


# `on_message=f`, `client.on_message = self.f`, `client.message_callback_add("t/#", f)`: the callback's name.
_MESSAGE_CALLBACK = re.compile(r"(?:\bon_message\s*=\s*|\bmessage_callback_add\s*\([^,()]+,\s*)(?:self\.)?(\w+)")
_SOURCE_READERS = frozenset({"inspect.getsource", "inspect.getsourcelines", "linecache.getlines"})
_OWN_MODULE = ("sys.modules[__name__]", "sys.modules.get(__name__)", "__file__", "__import__(__name__)")
_PIPES = ("multiprocessing.Pipe()", "multiprocessing.connection.Pipe()", "multiprocessing.context.Pipe()")


def _fstring_text(source: str, raw: bool) -> str:
    """The text an f-string's literal part stands for (its escapes read, `{{` as `{`)."""
    text = source.replace("{{", "{").replace("}}", "}")
    if raw or "\\" not in text:
        return text
    try:
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        return text


def match_command(text: str, patterns: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, label in patterns:
        if pattern.search(text[:20_000]):
            return label
    return None


def string_literals(node: cst.CSTNode, names: NameResolver) -> Iterator[tuple[cst.CSTNode, str]]:
    """Every string a node contains, folded where it is built: (node, text)."""

    class _Strings(Visitor):
        def __init__(self) -> None:
            self.found: list[tuple[cst.CSTNode, str]] = []

        def visit_SimpleString(self, n: cst.SimpleString) -> None:
            value = fold_str(n)
            if value:
                self.found.append((n, value))

        def visit_ConcatenatedString(self, n: cst.ConcatenatedString) -> bool:
            value = fold_str(n, names)
            if value:
                self.found.append((n, value))
                return False
            return True

        def visit_BinaryOperation(self, n: cst.BinaryOperation) -> bool:
            value = fold_str(n, names)
            if value:
                self.found.append((n, value))
                return False
            return True

    collector = _Strings()
    walk(node, collector)
    yield from collector.found


def function_name(node: cst.FunctionDef) -> str:
    return node.name.value


def decorator_names(node: cst.FunctionDef) -> list[str]:
    found = []
    for dec in node.decorators:
        expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        name = dotted(expr)
        if name:
            found.append(name)
    return found


def is_route(node: cst.FunctionDef) -> bool:
    """Decorated as a web route: `@app.route(...)`, `@bp.get(...)`, `@router.post(...)`, `@api_view`."""
    for name in decorator_names(node):
        last = name.rsplit(".", 1)[-1]
        if "." in name and last in ROUTE_DECORATORS or last in ("api_view", "require_http_methods", "csrf_exempt",
                                                                 "require_POST", "require_GET"):
            return True
    return False


# Programs that run what they are given (a command, code, another program): their arguments are commands.
RUNS_ITS_ARGUMENTS = frozenset({
    "sh", "bash", "zsh", "dash", "ksh", "fish", "busybox", "cmd", "powershell", "pwsh", "python", "python2", "python3",
    "py", "pythonw", "perl", "ruby", "node", "php", "lua", "osascript", "wscript", "cscript", "mshta", "rundll32",
    "regsvr32", "sudo", "su", "doas", "env", "xargs", "nohup", "setsid", "timeout", "nice", "start", "schtasks",
    "ssh", "script", "expect", "tclsh", "awk", "gawk", "find",
})
_CODE_RUNNERS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "cmd", "powershell", "pwsh", "python",
                           "pythonw", "perl", "ruby", "node"})
_CODE_FLAGS = frozenset({"-c", "/c", "/k", "-command", "-encodedcommand", "-ec", "-e"})


def shell_code(command: cst.List | cst.Tuple, names: NameResolver) -> cst.BaseExpression | None:
    """The command text an argv list hands to a shell or interpreter: `["sh", "-c", CMD]`, `["cmd", "/c", CMD]`,
    `["powershell", "-Command", CMD]`, `["python", "-c", CODE]`."""
    values = [e.value for e in command.elements if isinstance(e, cst.Element)]
    program = fold_str(values[0], names) if values else None
    if program is None or len(values) < 3:
        return None
    name = program.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe").rstrip("0123456789.")
    if name not in _CODE_RUNNERS:
        return None
    for i, value in enumerate(values[1:-1], start=1):
        flag = fold_str(value, names)
        if flag is not None and flag.lower() in _CODE_FLAGS:
            return values[i + 1]
        if flag is None or not flag.startswith(("-", "/")):
            return None  # `bash script.sh -c x`: the flag belongs to the script
    return None


def argv_command(command: cst.BaseExpression, names: NameResolver) -> cst.BaseExpression:
    """The part of an argv spawner's argument that says what runs: the text after a shell's `-c`, the program of a
    list whose program is written out (`["cat", path]`: only "cat"), else the whole argument."""
    if isinstance(command, cst.Name):
        command = names.single_value(command.value) or command
    if not isinstance(command, (cst.List, cst.Tuple)) or not command.elements or not isinstance(
            command.elements[0], cst.Element):
        return command
    code = shell_code(command, names)
    if code is not None:
        return code
    program = command.elements[0].value
    name = fold_str(program, names)
    if name is None or name.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe").rstrip(
            "0123456789.") in RUNS_ITS_ARGUMENTS:
        return command
    return program
