"""DS203 credential-passed-to-auth-api: a literal password or key handed to an authenticating API."""

from __future__ import annotations

import re

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule

from ._credential_calls import credential_args, may_pass_credential
from ._credentials import (
    in_test_path,
    is_placeholder,
    looks_like_example,
    looks_strong,
    matches_token_format,
)
from ._prescreen import CodeTextScreen
from .provider_token import reported_secrets

# A Google account's app password as Google shows it: four groups of four letters (spaces are otherwise prose).
_APP_PASSWORD = re.compile(r"[a-z]{4}(?: [a-z]{4}){3}")


class CredentialPassedToAuthApi(CodeTextScreen, Rule):
    """A literal password, secret or token passed to an API that authenticates with it.

    ## What it does
    Finds string literals given as the credential argument of authenticating calls: `requests`/
    `httpx` `auth=(user, "pw")`, `HTTPBasicAuth`/`HTTPDigestAuth`, `smtplib.SMTP(...).login`,
    `imaplib`/`ftplib`/`poplib` logins, `paramiko` `SSHClient.connect(password=...)`, `boto3`
    `client`/`resource`/`Session(aws_secret_access_key=...)`, `psycopg2`/`pymysql`/
    `mysql.connector`/`asyncpg` `connect(password=...)`, `sqlalchemy.URL.create(password=...)`,
    `ldap` `simple_bind_s`, `ldap3.Connection`, `redis.Redis(password=...)`,
    `pymongo.MongoClient(password=...)`, `jwt.encode(payload, "key")` and API clients taking a
    token. The APIs are a catalog (`rules/catalogs/credentials_auth_apis.toml`) matched by qualified
    name, so aliases and objects created from a known class (`s = smtplib.SMTP(); s.login(...)`)
    resolve. When the receiver cannot be resolved, the method name (`.login`, `.simple_bind_s`)
    still matches, with medium severity and low confidence. Placeholders (`"password"`,
    `"changeme"`, `"${PASS}"`) are not reported; example and test values are reported low, and so are
    human-chosen passwords in test files. A literal split or base64-encoded to hide it
    (`base64.b64decode("...").decode()`, `"Wq7z" + "T9mP"`) is folded and judged the same way, and so
    is a pair kept in a module constant and unpacked or indexed (`s.login(*_MAIL)`, `s.login(_MAIL[0],
    _MAIL[1])`). A Google app password is read with its spaces (`"abcd efgh ijkl mnop"`).
    Credentials inside URLs (`create_engine("postgresql://u:pw@host/db")`) are DS204's.

    ## Why is this bad?
    The argument is by construction a live credential for a real service: whoever reads the code
    can log in to the mail server, database, directory or cloud account as the application.

    ## Example
    ```python
    import smtplib
    server = smtplib.SMTP("mail.example.com", 587)
    server.login("alerts", "Tr0ub4dor&3x")
    ```

    ## How to fix
    Rotate the credential, then pass a value read at run time (`os.environ["SMTP_PASSWORD"]`, a
    secret manager, `keyring`), or use the API's credential chain (boto3 reads its keys itself).

    ## References
    - CWE-798: Use of Hard-coded Credentials
    - CWE-259: Use of Hard-coded Password
    """

    code = "DS203"
    name = "credential-passed-to-auth-api"
    category = Category.CREDENTIALS
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = (798, 259)
    attack = ("T1552.001",)
    # `triggered_by` below is the pre-screen; `triggers` only documents what it looks for.
    triggers = ("auth=", "aws_secret_access_key", "login", "password=", "smtplib", "boto3", "redis", "jwt")
    VALID = (
        'import smtplib, os\ns = smtplib.SMTP("mail.example.com")\ns.login("bot", os.environ["SMTP_PASSWORD"])\n',
        'import requests\nrequests.get("https://example.com", auth=("user", "password"))\n',
        'import boto3\nboto3.client("s3")\n',
    )
    INVALID = (
        'import smtplib\ns = smtplib.SMTP("mail.example.com")\ns.login("bot", "Tr0ub4dor&3x")\n',
        'import requests\nrequests.get("https://example.com", auth=("user", "Zk8Qw2Lm9Xp4"))\n',
        'import paramiko\nc = paramiko.SSHClient()\nc.connect("203.0.113.5", username="root", password="Wq7zT9mP2v")\n',
        'import boto3\nboto3.client("s3", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",\n'
        '             aws_secret_access_key="Zk8Qw2-Lm9Xp4+Rt7Vn3Bc")\n',
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """Necessary for a report (see `_credential_calls`' pre-screens): `auth=(...)` or an AWS secret keyword
        (matched on any call); else a catalogued method, name, keyword or an import alias (`worth_resolving`)
        and an API that can match: a method name (`.login`, `.connect` with `password=`), a catalogued
        module's name, or a dynamic way to reach one (`__import__`, importlib, `sys.modules`, builtins)."""
        return may_pass_credential(text)

    def visit_Call(self, node: cst.Call) -> None:
        for arg in credential_args(node, self.context):
            value = arg.value.strip()
            if len(value) < 4 or is_placeholder(value) or any(c.isspace() for c in value) and not (
                    _APP_PASSWORD.fullmatch(value)):
                continue
            if not value.isprintable() or matches_token_format(value, arg.keyword) is not None or (
                    value in reported_secrets(self.context)):
                continue  # DS201 reports values in a provider token format
            if looks_like_example(value):
                severity, confidence = Severity.LOW, Confidence.LOW
                note = "; it looks like a documented example or test value"
            elif arg.resolved:
                severity, confidence, note = Severity.HIGH, Confidence.HIGH, ""
            else:
                severity, confidence = Severity.MEDIUM, Confidence.LOW
                note = f"; `.{arg.callee}` is matched by method name only"
            if severity >= Severity.MEDIUM and in_test_path(self.context.path) and not looks_strong(value):
                # tests log in to their own fake servers with made-up passwords
                severity, note = Severity.LOW, note + "; in a test or example file"
            self.report(arg.node, f"hardcoded credential passed to {arg.api.what} (`{arg.callee}`){note}; pass a value "
                        "read at run time instead", severity=severity, confidence=confidence,
                        secrets=[arg.value, *arg.pieces])
