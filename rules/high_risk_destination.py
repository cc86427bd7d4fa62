"""DS303 high-risk-destination: an outbound call to a raw IP, chat webhook, paste site, request catcher, tunnel or dynamic DNS."""

from __future__ import annotations

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule

from ._outbound import RISK_TEXT, Analyzer, host_risk, label_text, may_reach_network
from ._prescreen import CodeTextScreen


class HighRiskDestination(CodeTextScreen, Rule):
    """An outbound call goes to a destination attackers favour: a raw public IP, a chat webhook, a paste site,
    a request catcher, a tunnel or a dynamic-DNS name.

    ## What it does
    Resolves the destination of every network call (HTTP clients, sockets, SMTP/FTP/SSH, DNS lookups,
    `curl`/`wget` subprocesses, webhook clients) and checks it against lists kept as data in
    `rules/catalogs/hosts.toml`: Discord/Slack/Teams webhooks and the Telegram bot API, paste and
    file-drop sites, request catchers (webhook.site, requestbin, pipedream, interact.sh / oast.*,
    Burp Collaborator), tunnels (ngrok, trycloudflare, serveo, localtunnel...), dynamic-DNS domains
    (duckdns, no-ip...), and raw IP literals that are public. Private, loopback, link-local and
    well-known public DNS resolver addresses are not reported; the documentation ranges
    (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) *are*, so examples and fixtures can use them.

    A bare request is **medium**; **high** when sensitive data (see DS301's sources) reaches it.

    ## Why is this bad?
    These destinations need no infrastructure of one's own and leave no account behind, which is
    why stealers and backdoors use them. Legitimate products talk to their own named services.

    ## Example
    ```python
    import requests
    requests.post("https://discord.com/api/webhooks/1/abc", json={"content": "hi"})
    ```

    ## How to fix
    Remove the call. If the integration is genuine (a build bot posting to the team's Slack), read
    the webhook URL from configuration instead of hard-coding it, and disclose it.

    ## References
    - CWE-200: Exposure of Sensitive Information to an Unauthorized Actor
    - MITRE ATT&CK T1567 Exfiltration Over Web Service, T1102 Web Service
    """

    code = "DS303"
    name = "high-risk-destination"
    category = Category.OUTBOUND_DATA
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = (200,)
    attack = ("T1567", "T1102")
    VALID = (
        "import requests\nrequests.get('https://api.example.com/status')\n",
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.connect(('8.8.8.8', 80))\n",
        "import requests\nrequests.get('http://127.0.0.1:8000/health')\n",
        "import os, requests\nrequests.post(os.environ['SLACK_WEBHOOK_URL'], json={'text': 'build ok'})\n",
    )
    INVALID = (
        "import requests\nrequests.post('https://discord.com/api/webhooks/1/abc', json={'content': 'hi'})\n",
        "import socket\ns = socket.socket()\ns.connect(('203.0.113.5', 4444))\n",
        "import requests\nrequests.get('https://abc123.ngrok-free.app/x')\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """Necessary for a report: a network call of the sink catalog, see `_outbound`'s pre-screens."""
        return may_reach_network(text)

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self._reported_with: set[int] = set()  # `Conn(host).send(...)`: the inner connect is reported by the send

    def visit_Call(self, node: cst.Call) -> None:
        analyzer = Analyzer.of(self.context)
        sink = analyzer.sink(node)
        if sink is None or id(node) in self._reported_with:
            return
        if sink.spec.destination == "receiver" and isinstance(node.func, cst.Attribute) and isinstance(
                node.func.value, cst.Call):
            self._reported_with.add(id(node.func.value))
        risky = [(d, r) for d in analyzer.destinations(sink) if (r := host_risk(d.host, d.path))]
        if not risky:
            return
        dest, risk = risky[0]
        flows = analyzer.data_taints(sink)
        if sink.spec.destination == "receiver" and not flows and id(node.func.value if isinstance(
                node.func, cst.Attribute) else node) not in self._reported_with:
            return  # the connect call that opened this connection is reported already
        message = f"{sink.method}() talks to {dest.text()}, {RISK_TEXT[risk]}"
        if flows:
            _, taint = min(flows, key=lambda f: len(f[1].steps))
            self.report(node, f"{message}, sending {label_text(taint.label)}", severity=Severity.HIGH,
                        flow=taint.steps + ((node, f"sink: sent to {dest.text()}"),))
        else:
            self.report(node, message)
