"""DS202 secret-assigned-to-name: a string literal bound to a name, key or parameter that holds a secret."""

from __future__ import annotations

import libcst as cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import literal_value

from ._credential_calls import credential_args, string_literal
from ._credentials import (
    classify_value,
    in_test_path,
    is_password_name,
    is_secret_name,
    matches_token_format,
)
from .provider_token import reported_secrets

_SPECIAL_CHARS = frozenset("<>[]|")


def _target_name(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.Subscript) and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
        key = target.slice[0].slice.value
        if isinstance(key, cst.SimpleString):
            value = literal_value(key)
            return value if isinstance(value, str) else None
    return None


class SecretAssignedToName(Rule):
    """A string literal bound to a name, key or parameter that holds a secret.

    ## What it does
    Reports a string literal assigned to a secret-like name: a variable, annotated variable, attribute
    (`app.secret_key`), class attribute, subscript (`config["API_TOKEN"]`), dict key
    (`{"password": ...}`, Django `DATABASES` `PASSWORD`), keyword argument or parameter default.
    Secret-like names end in password/passwd/pwd/pass/passphrase/secret/token/credentials or
    api/secret/private/access/signing... + key (`SECRET_KEY`, `apiKey`, `client_secret`). Names that
    only look secret are left alone: `token_type`, `password_field`, `NextToken`, `TOKEN_URL`,
    `eos_token`, anything ending in `_PATH`/`_FILE`/`_URL`/`_NAME`/`_TYPE`/`_FIELD`/`_HEADER`/
    `_PREFIX`/`_ENV`/`_LENGTH`. Values that are not secrets are left alone too: placeholders
    (`changeme`, `<KEY>`, `${X}`, `%s`, `{}`), values shorter than 6 characters, text with spaces, the
    name itself, identifiers such as `"access_token"`, URLs and file paths. A value read from the
    environment or a secret manager is not a literal and is never reported.

    Severity is high for values that look generated (long, varied characters), medium for
    human-chosen passwords, low for documented examples, test markers and password hashes. Values in
    a provider token format are left to DS201, and credentials passed to a known authenticating API
    are left to DS203, so one secret gives one finding.

    ## Why is this bad?
    A password or key written into the source is shared with everyone who can read the repository
    or the package, cannot be rotated without a release, and is often the same in every deployment.

    ## Example
    ```python
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "PASSWORD": "Wq7#zT9!mP2v"}}
    ```

    ## How to fix
    Rotate the secret, then read it at run time: `os.environ["DB_PASSWORD"]`, a secret manager, or a
    settings file that is not committed.

    ## References
    - CWE-798: Use of Hard-coded Credentials
    - CWE-259: Use of Hard-coded Password
    """

    code = "DS202"
    name = "secret-assigned-to-name"
    category = Category.CREDENTIALS
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = (798, 259)
    attack = ("T1552.001",)
    triggers = ("ass", "ASS", "wd", "WD", "ecret", "ECRET", "oken", "OKEN", "Key", "KEY", "key", "red", "RED")
    VALID = (
        'token_type = "Bearer"\n',
        'password = os.environ["DB_PASSWORD"]\n',
        'PASSWORD = "changeme"\n',
        'TOKEN_URL = "https://auth.example.com/oauth/token"\n',
        'def login(user, password=None): ...\n',
        'password_field = "password"\n',
        'API_KEY = "<YOUR_API_KEY>"\n',
    )
    INVALID = (
        'SECRET_KEY = "q8#Nf2@kLp7!xZ0w$Rt5vB9m"\n',
        'DATABASES = {"default": {"PASSWORD": "Wq7#zT9!mP2v"}}\n',
        'def connect(host, api_key="Zk8Qw2Lm9Xp4Rt7Vn3Bc"): ...\n',
        'class Config:\n    db_password = "hunter2hunter2"\n',
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        self._auth_nodes: set[int] = set()

    def _check(self, name: str | None, value_node: cst.BaseExpression, where: str) -> None:
        if not name or not is_secret_name(name):
            return
        lit = string_literal(value_node)
        if lit is None:
            return
        value, pieces = lit
        if _SPECIAL_CHARS & set(value) or matches_token_format(value.strip(), name) is not None or (
                value.strip() in reported_secrets(self.context)):
            return
        verdict = classify_value(value, name)
        if verdict is None:
            return
        if verdict == "example":
            severity, confidence, note = Severity.LOW, Confidence.LOW, "; it looks like a documented example or test value"
        elif verdict == "hash":
            severity, confidence, note = Severity.LOW, Confidence.LOW, "; it looks like a password hash, not the password"
        elif value.isalpha() and (value.islower() or value.isupper()) and not is_password_name(name):
            severity, confidence, note = Severity.LOW, Confidence.LOW, "; it is a plain word, probably not a real key"
        elif verdict == "strong":
            severity, confidence, note = Severity.HIGH, Confidence.MEDIUM, ""
        else:
            severity, confidence, note = Severity.MEDIUM, Confidence.MEDIUM, ""
        if value.startswith("django-insecure-"):
            severity, note = Severity.MEDIUM, "; Django marks it as an insecure development key"
        if severity > Severity.MEDIUM and in_test_path(self.context.path):
            severity, note = Severity.MEDIUM, note + "; in a test or example file"
        self.report(value_node, f"hardcoded secret in {where} `{name}`{note}; read it from the environment "
                    "or a secret manager", severity=severity, confidence=confidence, secrets=[value, *pieces])

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            target = t.target
            if isinstance(target, (cst.Tuple, cst.List)) and isinstance(node.value, (cst.Tuple, cst.List)) and len(
                    target.elements) == len(node.value.elements):
                for te, ve in zip(target.elements, node.value.elements):
                    self._check(_target_name(te.value), ve.value, "assignment to")
            else:
                self._check(_target_name(target), node.value, _where(target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check(_target_name(node.target), node.value, _where(node.target))

    def visit_Dict(self, node: cst.Dict) -> None:
        for element in node.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                key = literal_value(element.key)
                if isinstance(key, str):
                    self._check(key, element.value, "dict key")

    def visit_Call(self, node: cst.Call) -> None:
        args = [a for a in node.args if a.keyword is not None and string_literal(a.value) is not None]
        if not any(is_secret_name(a.keyword.value) for a in args):  # type: ignore[union-attr]
            return
        auth = {id(c.node) for c in credential_args(node, self.context)}
        for a in args:
            if id(a.value) not in auth:
                self._check(a.keyword.value, a.value, "keyword argument")  # type: ignore[union-attr]

    def visit_Param(self, node: cst.Param) -> None:
        if node.default is not None:
            self._check(node.name.value, node.default, "default of parameter")


def _where(target: cst.BaseExpression) -> str:
    if isinstance(target, cst.Attribute):
        return "attribute"
    if isinstance(target, cst.Subscript):
        return "item"
    return "assignment to"
