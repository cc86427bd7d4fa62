"""DS106 pth-code-execution: a .pth line that runs more than an import at every interpreter start."""

from __future__ import annotations

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, Rule
from datasec_scan.semantics.constants import fold_str
from datasec_scan.tree import Visitor, walk

from ._remote import (
    CODE_SINKS,
    DECODERS,
    DESER_SINKS,
    NETWORK_CALLS,
    Analyzer,
    CappedInTestCode,
    any_match,
    code_of,
    short,
)

_QUIET_CALLS = ("os.environ.get", "os.getenv", "builtins.__import__", "sys.path.insert", "sys.path.append",
                "builtins.getattr", "builtins.hasattr", "os.path.join", "os.path.dirname", "os.path.exists",
                "importlib.util.find_spec", "builtins.print")
_DANGER_TEXT = ("\\x", "chr(", "b64decode", "decompress", "fromhex", "exec(", "eval(", "compile(", "marshal",
                "pickle", "subprocess", "os.system", "popen", "urlopen", "socket")


class PthCodeExecution(CappedInTestCode, Rule):
    """A `.pth` file line that runs code at every Python start, beyond a plain import.

    ## What it does
    Python's `site` module executes every line of a `.pth` file in `site-packages` that starts
    with `import`. The scanner shows those lines to the rule as Python; the rule reports a line
    that executes code (`exec`, `eval`, `__import__` of a computed name), spawns a process, opens
    a network connection or decodes a payload (high). A line that only imports a module and calls
    a function of it with constant arguments — the shape of editable-install finders and
    setuptools' `distutils-precedence.pth` — is not reported; other code is reported low.

    In test code (`tests/`, `test_*.py`, `conftest.py`, docs and examples folders) a finding is
    capped at medium: that code is not what the package runs on install or import.

    ## Why is this bad?
    A `.pth` line runs in every Python process of the environment, before any user code, without
    any import of the package — an ideal persistence hook that few reviewers look at.

    ## Example
    ```text
    import os, base64; exec(base64.b64decode("aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik="))
    ```

    ## How to fix
    Ship `.pth` files that list paths only, or a single `import module` line; do the work in the
    module, in the clear, where it can be reviewed.

    ## References
    - CWE-506: Embedded Malicious Code
    - MITRE ATT&CK T1546.018 (Python Startup Hooks)
    - https://docs.python.org/3/library/site.html
    """

    code = "DS106"
    name = "pth-code-execution"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = (506,)
    attack = ("T1546.018",)
    file_kinds = ("pth",)
    triggers = ("import",)
    VALID = (
        Example("/opt/project/src\n", "paths.pth"),
        Example("import _virtualenv\n", "_virtualenv.pth"),
        Example("import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; "
                "enabled and __import__('_distutils_hack').add_shim(); \n", "distutils-precedence.pth"),
        Example("import __editable___pkg_1_0_finder; __editable___pkg_1_0_finder.install()\n", "__editable__.pkg.pth"),
    )
    INVALID = (
        Example("import os, base64; exec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='))\n", "evil.pth"),
        Example("import subprocess; subprocess.Popen(['curl', 'https://example.com/x'])\n", "evil.pth"),
    )

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if self.context.kind != "pth":
            return
        if all(isinstance(s, cst.Import) for s in node.body):
            return
        an = Analyzer.of(self.context)
        imported: set[str] = set()
        for s in node.body:
            if isinstance(s, cst.Import):
                imported |= {a.evaluated_name.split(".")[0] for a in s.names}
        reasons: list[str] = []
        other: list[str] = []
        text = code_of(node, 10_000)

        class _Calls(Visitor):
            def visit_Call(self, call: cst.Call) -> None:
                qualified = an.call_names(call)
                if qualified & (CODE_SINKS | DESER_SINKS) or an.spawn(call) or any_match(qualified, NETWORK_CALLS) \
                        or qualified & set(DECODERS):
                    reasons.append(code_of(call.func, 30))
                    return
                if "builtins.__import__" in qualified or "importlib.import_module" in qualified:
                    if not call.args or fold_str(call.args[0].value, an.names) is None:
                        reasons.append("__import__ of a computed name")
                    return
                if any_match(qualified, _QUIET_CALLS):
                    return
                root = call.func
                while isinstance(root, (cst.Attribute, cst.Call)):
                    root = root.value if isinstance(root, cst.Attribute) else root.func
                if isinstance(root, cst.Name) and (root.value in imported or root.value == "__import__"):
                    if all(fold_str(a.value, an.names) is not None or isinstance(a.value, (cst.Name, cst.Integer))
                           for a in call.args):
                        return
                other.append(code_of(call.func, 30))

        for s in node.body:
            walk(s, _Calls())
        marks = [m for m in _DANGER_TEXT if m in text]
        if reasons or marks:
            what = ", ".join(dict.fromkeys(reasons or marks))
            self.report(node, f".pth line runs code at every interpreter start ({what}): `{short(text, 70)}`",
                        severity=Severity.HIGH, confidence=Confidence.HIGH)
        elif other:
            self.report(node, f".pth line runs code at every interpreter start: `{short(text, 70)}`",
                        severity=Severity.LOW, confidence=Confidence.MEDIUM)
