"""DS109 web-route-executes-input: a Flask/Django/FastAPI handler passing request data to exec, a shell or pickle."""

from __future__ import annotations

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.tree import names_in

from . import _prescreen as ps
from ._remote import REQUEST, Analyzer, code_of, is_route, keyword, positional, shell_code

_NOT_INPUT = {"self", "cls", "request", "req", "response", "db", "session", "background_tasks", "current_user", "user",
              "settings", "app"}
# Pre-screen (necessary for any report, see rules/_prescreen.py): a sink (exec/deserialize or a spawner) and request
# data — a request source, or a parameter of a function decorated as a route.
_APPLIES = ps.all_of(ps.any_of(ps.EXEC_SINK, ps.SPAWN), ps.any_of(ps.REQUEST, ps.ROUTE))


class WebRouteExecutesInput(ps.CodeScreen, Rule):
    """A web handler (Flask, Django, FastAPI, ...) passing request data to `eval`/`exec`, a shell, or `pickle.loads`.

    ## What it does
    Finds request data — `flask.request.args/form/json/data/headers/cookies`, Django's
    `request.GET/POST/body/META/COOKIES`, DRF's `request.data`, FastAPI route parameters, Tornado's
    `self.get_argument(...)` — that
    reaches `eval`, `exec`, `compile`, `os.system`, `os.popen`, `subprocess` with `shell=True`,
    `pickle.loads`, `marshal.loads` or an unsafe `yaml.load`, directly or through variables; and
    an argv spawner whose program is the request's (`subprocess.run(shlex.split(request.args["cmd"]))`) or
    that hands the request's text to a shell (`["sh", "-c", probe]`, `["cmd", "/c", x]`, `["python", "-c", x]`).
    Request data as one argument of a fixed program (`["ping", "-c", "1", host]`) is not reported.

    ## Why is this bad?
    Anyone who can send a request runs code or commands on the server: a web shell. Planted
    deliberately it is a backdoor; by accident it is remote code execution.

    ## Example
    ```python
    import os
    from flask import Flask, request
    app = Flask(__name__)

    @app.route("/debug")
    def debug():
        return os.popen(request.args["cmd"]).read()
    ```

    ## How to fix
    Never pass request data to an interpreter or a shell. Map requests to a fixed set of
    operations; parse data with `json`; run programs with an argument list and no shell.

    ## References
    - CWE-94: Improper Control of Generation of Code ('Code Injection')
    - CWE-78: Improper Neutralization of Special Elements used in an OS Command
    - CWE-502: Deserialization of Untrusted Data
    - MITRE ATT&CK T1505.003 (Web Shell)
    """

    code = "DS109"
    name = "web-route-executes-input"
    category = Category.REMOTE_ACCESS
    severity = Severity.CRITICAL
    confidence = Confidence.HIGH
    cwe = (94, 78, 502)
    attack = ("T1505.003",)
    screen = staticmethod(_APPLIES)
    VALID = (
        "from flask import Flask, request\nimport subprocess\napp = Flask(__name__)\n@app.route('/v')\ndef v():\n"
        "    return subprocess.run(['git', 'log', '-1'], capture_output=True).stdout\n",
        "import ast\nfrom flask import request\ndef parse():\n    return ast.literal_eval(request.args['v'])\n",
    )
    INVALID = (
        "import os\nfrom flask import Flask, request\napp = Flask(__name__)\n@app.route('/d')\ndef d():\n"
        "    return os.popen(request.args['cmd']).read()\n",
        "import subprocess\ndef run(request):\n    subprocess.call(request.GET['c'], shell=True)\n",
        "import pickle\nfrom fastapi import FastAPI\napp = FastAPI()\n@app.post('/load')\nasync def load(blob: bytes):\n"
        "    return pickle.loads(blob)\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """A sink and request data (a request object or a route's parameters)."""
        return ps.memo(cls.code, text, cls.screen)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._routes: list[set[str]] = []  # per enclosing function: its request-derived parameter names
        self._funcs: list[cst.FunctionDef] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params: set[str] = set()
        if is_route(node):
            params = {p.name.value for p in node.params.params + node.params.kwonly_params
                      if p.name.value not in _NOT_INPUT and not (p.default is not None and "Depends" in code_of(
                          p.default, 80))}
        outer = self._routes[-1] if self._routes else set()
        self._routes.append(params | outer)
        self._funcs.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._routes.pop()
        self._funcs.pop()

    def visit_Call(self, node: cst.Call) -> None:
        an = Analyzer.of(self.context)
        sink = an.exec_sink(node)
        if sink is not None:
            name, arg = sink[1].replace("builtins.", ""), sink[2]
        else:
            spawn = an.spawn(node)
            if spawn is None:
                return
            args = positional(node)
            name, arg = spawn[1], args[0] if args else keyword(node, "args") or keyword(node, "cmd")
            if arg is None:
                return
            if spawn[0] == "argv":  # the program itself from the request; request data as one argument is not
                if isinstance(arg, cst.Name):
                    arg = an.names.single_value(arg.value) or arg
                if isinstance(arg, (cst.List, cst.Tuple)):
                    if not arg.elements or not isinstance(arg.elements[0], cst.Element):
                        return
                    code = shell_code(arg, an.names)
                    if code is not None:  # `["sh", "-c", request.GET["cmd"]]`
                        arg = code
                        name += " (as a shell command)"
                        sources = an.sources(arg, want=(REQUEST,), scope=self._funcs[-1] if self._funcs else None)
                        self._report(node, name, arg, sources, an)
                        return
                    arg = arg.elements[0].value
                elif not (isinstance(arg, cst.Call) and (
                        "shlex.split" in an.call_names(arg) or isinstance(arg.func, cst.Attribute)
                        and arg.func.attr.value == "split")):
                    return  # a bare value as argv: too often a fixed program chosen elsewhere
                name += " (program chosen by the request)"
        sources = an.sources(arg, want=(REQUEST,), scope=self._funcs[-1] if self._funcs else None)
        self._report(node, name, arg, sources, an)

    def _report(self, node: cst.Call, name: str, arg: cst.BaseExpression, sources: dict, an: Analyzer) -> None:
        src = sources.get(REQUEST)
        if src is not None:
            steps = src.steps
        else:
            param = self._route_param(arg, an)
            if param is None:
                return
            steps = ((param, f"source: route parameter `{code_of(param)}`"),)
        self.report(node, f"web handler passes request data to {name}", severity=Severity.CRITICAL,
                    confidence=Confidence.HIGH, flow=tuple(steps) + ((node, f"sink: {name}"),))

    def _route_param(self, arg: cst.BaseExpression, an: Analyzer) -> cst.Name | None:
        params = self._routes[-1] if self._routes else set()
        if not params:
            return None
        found: list[cst.Name] = []
        members = an._members(self._funcs[-1]) if self._funcs else frozenset()  # noqa: SLF001
        _follow(arg, 0, params, found, set(), members, an)
        return found[0] if found else None


def _follow(expr: cst.BaseExpression, depth: int, params: set[str], found: list[cst.Name], seen: set[str],
            members: frozenset[int], an: Analyzer) -> None:
    """Route parameters `expr` is built from, through up to three assignments inside the route's function.
    (Module-level: a nested function that calls itself is a reference cycle holding the nodes it saw.)"""
    for n in names_in(expr):
        if n.value in params:
            found.append(n)
        elif depth < 3 and n.value not in seen:
            seen.add(n.value)
            for value in an.names._bound.get(n.value, [])[:4]:  # noqa: SLF001
                if isinstance(value, cst.BaseExpression) and id(value) in members:
                    _follow(value, depth + 1, params, found, seen, members, an)

