"""DS204 credentials-in-url: a password written into a URL or DSN (`scheme://user:password@host`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, TextMatch, TextRule

from ._credentials import DEMO_PASSWORDS, in_test_path, is_placeholder, looks_like_example, looks_strong

_URL = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{1,20})://(?P<user>[^\s:@/?#'\"<>\\`]{0,128})"
    r":(?P<password>[^\s/?#'\"<>\\`]{1,256})@(?P<host>\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9_-][A-Za-z0-9._-]{0,252})"
)
_EXAMPLE_HOST = re.compile(
    r"(?i)^(?:(?:[a-z0-9-]+\.)?example(?:\.(?:com|org|net|edu))?|.*\.(?:example|test|invalid|localhost|local)|localhost|"
    r"host|hostname|server|myhost|db|database|127\.[0-9.]+|0\.0\.0\.0|\[::1?\]|192\.0\.2\.[0-9]+|198\.51\.100\.[0-9]+|"
    r"203\.0\.113\.[0-9]+)$"
)
_TEMPLATE_HOST = re.compile(r"^[{$%<]")
# key=value connection strings (libpq, ODBC, ADO.NET): `host=db user=app password=...`, `SERVER=...;UID=sa;PWD=...`
_DSN_PASSWORD = re.compile(r"(?i)(?<![A-Za-z0-9_])(?:password|pwd)[ \t]{0,3}=[ \t]{0,3}(?P<password>[^;'\"\s{}()\\]{4,128})")
_DSN_PEER = re.compile(r"(?i)(?<![A-Za-z0-9_])(?:host|hostaddr|server|data source|uid|user id|user|dbname|database|"
                       r"initial catalog|driver|port)[ \t]{0,3}=")
_DSN_LOCAL = re.compile(r"(?i)localhost|127\.0\.0\.1|\(local\)|example|\.test\b|\.invalid\b")


class CredentialsInUrl(TextRule):
    """A password embedded in a URL or connection string.

    ## What it does
    Finds `scheme://user:password@host` in any string, comment or configuration value: database
    DSNs (`postgresql://`, `mysql://`, `mongodb+srv://`, `redis://`), broker URLs (`amqp://`),
    proxies, Git remotes and HTTP URLs with basic auth. Placeholders are skipped
    (`user:password@`, `:${DB_PASS}@`, `:*****@`, `%(password)s`, `{password}`); URLs to example
    and local hosts (`example.com`, `localhost`, `203.0.113.0/24`) and example-marked passwords are
    reported at low severity, as are single-label hosts (`db`, `redis`: a compose file's development
    default). A password that looks generated is high, a human-chosen one medium (low in test files).
    In Python, `password=`/`PWD=` inside a quoted key=value connection string that also names a host,
    server, user or database (`"host=db user=app password=..."`, ODBC `"SERVER=...;UID=sa;PWD=..."`)
    is reported the same way.

    ## Why is this bad?
    Connection strings are logged, printed in tracebacks, copied into issues and shipped in
    packages; the password in them works for anyone who finds it.

    ## Example
    ```python
    engine = create_engine("postgresql://app:Wq7zT9mP2vK4@db.internal.corp/app")
    ```

    ## How to fix
    Rotate the password and build the URL at run time from separate settings
    (`os.environ["DATABASE_URL"]`, or `sqlalchemy.URL.create(..., password=os.environ[...])`).

    ## References
    - CWE-798: Use of Hard-coded Credentials
    - CWE-522: Insufficiently Protected Credentials
    - RFC 3986 section 3.2.1 (the userinfo subcomponent is deprecated for passwords)
    """

    code = "DS204"
    name = "credentials-in-url"
    category = Category.CREDENTIALS
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    cwe = (798, 522)
    attack = ("T1552.001",)
    file_kinds = ("python", "pth", "config")
    triggers = ("://", "password=", "PASSWORD=", "Password=", "pwd=", "PWD=", "Pwd=")
    VALID = (
        'URL = "postgresql://user:password@db.internal.corp/app"\n',
        'URL = f"postgresql://{user}:{password}@{host}/app"\n',
        'URL = "redis://:${REDIS_PASSWORD}@cache.internal.corp:6379"\n',
        'URL = "https://docs.python.org/3/library/urllib.parse.html"\n',
        'DSN = f"host={host} user={user} password={password}"\n',
        Example("DATABASE_URL=mysql://app:*****@db.internal.corp/app\n", ".env"),
    )
    INVALID = (
        'engine = create_engine("postgresql://app:Wq7zT9mP2vK4@db.internal.corp/app")\n',
        'ODBC = "DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql.internal.corp;UID=sa;PWD=Zk8Qw2Lm9Xp4;"\n',
        Example("broker_url: amqp://worker:Zk8Qw2Lm9Xp4@mq.internal.corp:5672//\n", "config.yaml"),
    )

    def scan(self, text: str) -> Iterator[TextMatch]:
        yield from self._urls(text)
        if self.context.kind != "config" and ("=" in text):
            yield from self._dsns(text)

    def _dsns(self, text: str) -> Iterator[TextMatch]:
        """`password=` inside a quoted key=value connection string that also names a host, server, user or database."""
        for m in _DSN_PASSWORD.finditer(text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            line_end = text.find("\n", m.end())
            line = text[line_start:line_end if line_end >= 0 else len(text)]
            before = text[line_start:m.start()]
            quote = next((q for q in ('"', "'") if before.count(q) % 2 == 1), None)
            if quote is None or not _DSN_PEER.search(line):  # not inside a string, or not a connection string
                continue
            password = m.group("password")
            if password.endswith(quote):
                password = password[:-1]
            if len(password) < 4 or is_placeholder(password) or "$" in password[:2] or "%" in password:
                continue
            if password.lower() in {"pass", "password", "passwd", "pwd", "secret"}:
                continue
            secrets = (password,)
            strong = looks_strong(password)
            severity = Severity.HIGH if strong else Severity.MEDIUM
            note = "" if strong else " (it looks human-chosen or a default)"
            if _DSN_LOCAL.search(line) or looks_like_example(password) or password.lower() in DEMO_PASSWORDS:
                severity, note = Severity.LOW, " to a local or example server, or an example value"
            elif in_test_path(self.context.path):
                severity = Severity.MEDIUM if strong else Severity.LOW
                note += " (in a test or example file)"
            start = m.start("password")
            yield TextMatch(start, start + len(password), f"password in a key=value connection string{note}; build it at "
                            "run time from a secret", severity, Confidence.MEDIUM if severity > Severity.LOW else
                            Confidence.LOW, secrets)

    def _urls(self, text: str) -> Iterator[TextMatch]:
        for m in _URL.finditer(text):
            password, host, user = m.group("password"), m.group("host"), m.group("user")
            decoded = unquote(password)
            if len(decoded) < 4 or is_placeholder(password) or is_placeholder(decoded) or _TEMPLATE_HOST.match(host):
                continue
            if any(c.isspace() for c in decoded) or not decoded.isprintable():
                continue
            if user and decoded.lower() in {"pass", "password", "passwd", "pwd", "secret", "pw"}:
                continue
            if "{" in password or "}" in password or "$" in password[:2]:
                continue
            secrets = tuple(sorted({password, decoded}))
            scheme = m.group("scheme").lower()
            if decoded in scheme:
                scheme = "connection"
            single_label = "." not in host.strip("[]") and ":" not in host
            if (_EXAMPLE_HOST.match(host.rstrip(".")) or single_label or looks_like_example(decoded)
                    or looks_like_example(host) or decoded.lower() in DEMO_PASSWORDS):
                yield TextMatch(m.start("password"), m.end("password"),
                                f"password in a {scheme}:// URL to an example, local or single-label host, or an example value; "
                                "make sure it is not a real credential", Severity.LOW, Confidence.LOW, secrets)
                continue
            strong = looks_strong(decoded)
            severity = Severity.HIGH if strong else Severity.MEDIUM
            note = "" if strong else " (it looks human-chosen or a default)"
            if user and decoded == unquote(user):
                severity, note = Severity.MEDIUM, " (the same as the user name: a default credential)"
            if in_test_path(self.context.path):
                severity = Severity.MEDIUM if strong else Severity.LOW
                note += " (in a test or example file)"
            yield TextMatch(m.start("password"), m.end("password"),
                            f"password embedded in a {scheme}:// URL{note}; build the URL at run time from a secret",
                            severity, Confidence.MEDIUM, secrets)
