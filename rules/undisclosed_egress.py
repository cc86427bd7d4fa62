"""DS302 undisclosed-egress: an outbound call to a destination outside `[tool.datasec-scan.egress] allow`."""

from __future__ import annotations

from datasec_scan.lazycst import cst

from datasec_scan.egress import host_allowed
from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, Rule

from ._outbound import Analyzer, may_reach_network
from ._prescreen import CodeTextScreen


class UndisclosedEgress(CodeTextScreen, Rule):
    """An outbound call goes to a destination the project has not disclosed.

    ## What it does
    When the project lists where its code may send data,

    ```toml
    [tool.datasec-scan.egress]
    allow = ["api.github.com", "*.sentry.io", "10.0.0.0/8"]
    ```

    every network call (HTTP clients, sockets, SMTP, FTP, SSH, DNS lookups, `curl`/`wget`
    subprocesses, webhook clients) whose destination can be resolved statically — literal URLs and
    hosts, module constants, f-strings with a constant scheme and host, variables assigned once —
    must go to a listed host. `*.domain` matches any subdomain (not the bare domain); IP hosts match
    CIDR ranges or single addresses. The rule is silent when `allow` is not configured, and for
    destinations that are only known at run time (see `datasec-scan egress` for those).

    ## Why is this bad?
    A new destination in a diff is exactly what a reviewer should see: a dependency update or a
    contributor adding a call home is how data starts leaving a product unannounced.

    ## Example
    ```python
    import requests
    requests.post("https://collector.example.net/v1", json=payload)  # not in allow
    ```

    ## How to fix
    Remove the call, or disclose the destination by adding it to `[tool.datasec-scan.egress] allow`
    (and to the project's published data-flow disclosure).

    ## References
    - CWE-359: Exposure of Private Personal Information to an Unauthorized Actor
    - CWE-201: Insertion of Sensitive Information Into Sent Data
    """

    code = "DS302"
    name = "undisclosed-egress"
    category = Category.OUTBOUND_DATA
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = (359, 201)
    VALID = (
        "import requests\nrequests.get('https://example.com/x')\n",  # no allow list: silent
        Example("import requests\nrequests.get('https://api.example.com/x')\n", egress_allow=("*.example.com",)),
        Example("import requests, os\nrequests.get(os.environ['URL'])\n", egress_allow=("example.com",)),
    )
    INVALID = (
        Example("import requests\nrequests.post('https://collector.example.net/v1', json={})\n",
                egress_allow=("api.example.com", "*.example.org")),
        Example("import socket\ns = socket.create_connection(('203.0.113.5', 443))\n", egress_allow=("10.0.0.0/8",)),
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """Necessary for a report: a network call of the sink catalog, see `_outbound`'s pre-screens."""
        return may_reach_network(text)

    def visit_Call(self, node: cst.Call) -> None:
        allow = getattr(self.context, "egress_allow", ())
        if not allow:
            return
        analyzer = Analyzer.of(self.context)
        sink = analyzer.sink(node)
        if sink is None:
            return
        outside = sorted({d.text() for d in analyzer.destinations(sink) if d.known and not host_allowed(d.host, allow)})
        if outside:
            self.report(node, f"{sink.method}() sends to {', '.join(outside)}, which is not in "
                        "[tool.datasec-scan.egress] allow")
