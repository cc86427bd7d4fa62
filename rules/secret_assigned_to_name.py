"""DS202 secret-assigned-to-name: a string literal bound to a name, key or parameter that holds a secret."""

from __future__ import annotations

import base64
import re
import unicodedata

from datasec_scan.lazycst import cst

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import literal_value

from ._credential_calls import (
    built_string,
    credential_args,
    is_built_string,
    may_build_string,
    may_name_secret,
    may_report_secret,
    string_literal,
)
from ._credentials import (
    classify_value,
    in_test_path,
    is_password_name,
    is_secret_name,
    matches_token_format,
)
from .provider_token import reported_secrets, tokens_in

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

    The literal fallback of an environment read (`os.getenv("DB_PASSWORD", "...")`,
    `os.environ.get`/`setdefault`) is judged against the variable's name, and the credential of an
    `Authorization` header value (`Bearer ...`, `Basic` user:password) against the header. Strings split
    and rebuilt to hide them (`"ghp_" + "..."`, `"".join(parts)`, `"..."[::-1]`,
    `base64.b64decode("...").decode()`) are folded without running anything: a provider token found in
    the result is reported here (DS201 only reads text), whatever it is bound to.

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
    # `triggered_by` below is the pre-screen; `triggers` only documents what it looks for.
    triggers = ("password", "secret", "token", "key", "Authorization", "join(", "+", "[::-1]", "b64decode")
    VALID = (
        'token_type = "Bearer"\n',
        'password = os.environ["DB_PASSWORD"]\n',
        'PASSWORD = "changeme"\n',
        'TOKEN_URL = "https://auth.example.com/oauth/token"\n',
        'def login(user, password=None): ...\n',
        'password_field = "password"\n',
        'API_KEY = "<YOUR_API_KEY>"\n',
        'import os\nDB_PASSWORD = os.getenv("DB_PASSWORD", "")\n',
        'BASE_URL = "https://" + "api.example.com"\n',
    )
    INVALID = (
        'SECRET_KEY = "q8#Nf2@kLp7!xZ0w$Rt5vB9m"\n',
        'DATABASES = {"default": {"PASSWORD": "Wq7#zT9!mP2v"}}\n',
        'def connect(host, api_key="Zk8Qw2Lm9Xp4Rt7Vn3Bc"): ...\n',
        'class Config:\n    db_password = "hunter2hunter2"\n',
        'import os\nSMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "Fallback-Pw-9271")\n',
        'TOKEN = "ghp_N0tRea1F1xture" + "T0kenAbCdEfGhIjKlMnOpq"\n',
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """Necessary for a report (see `_credential_calls`' pre-screens): a word that can end a name
        `is_secret_name` accepts, written where a name `_check` reads can end (an identifier followed by `=`, `:`,
        `,`, `)`... or a string key followed by its quote) or an Authorization header; or a string built from
        pieces that `built_string` may fold (a provider token in it is reported whatever it is bound to)."""
        return may_name_secret(text) or may_build_string(text)

    @classmethod
    def triggered_by_tree(cls, tree, text: str) -> bool:
        """A pair the visitors below may report, seen on CPython's tree (`may_report_secret`). CPython folds
        identifiers to NFKC and libcst does not: where a character of the text folds into an ASCII letter or digit,
        names may read differently, so such files are not screened."""
        return may_report_secret(tree) or _folds_into_ascii(text)

    def __init__(self, context) -> None:
        super().__init__(context)
        self._auth_nodes: set[int] = set()

    def _built(self, node: cst.BaseExpression, name: str | None) -> tuple[str, tuple[str, ...]] | None:
        """The value of a string built from literal pieces, names bound once to literals included (`"".join(parts)`)."""
        lit = built_string(node)
        if lit is None and _has_name(node):
            try:
                lit = built_string(node, self.context.names)
            except Exception:  # the resolver is optional here
                lit = None
        return lit

    def _built_tokens(self, node: cst.BaseExpression, value: str, pieces: tuple[str, ...]) -> bool:
        """Report provider tokens hidden by building them from pieces (DS201 cannot see them in the text)."""
        reported = reported_secrets(self.context)
        found = [m for m in tokens_in(value, self.context.path) if not set(m.secrets) & reported]
        for m in found:
            secret = m.secrets[0] if m.secrets else value
            self.report(node, f"{m.message.split(';')[0]}, assembled at run time from pieces (which hides it from "
                        "scanners); revoke it and load it from the environment or a secret manager",
                        severity=m.severity, confidence=m.confidence, secrets=[secret, value, *pieces])
        return bool(found)

    def _check(self, name: str | None, value_node: cst.BaseExpression, where: str) -> None:
        built = is_built_string(value_node)
        if not built and not (name and (is_secret_name(name) or name.lower() in _AUTH_HEADERS)):
            return
        lit = string_literal(value_node)
        if lit is None and built:
            lit = self._built(value_node, name)
            if lit is None or self._built_tokens(value_node, *lit):
                return
            where = f"{where.replace('assignment to', 'value built from pieces for')}"
        if lit is None or not name:
            return
        value, pieces = lit
        if name.lower() in _AUTH_HEADERS:
            scheme = _AUTH_SCHEME.match(value.strip())
            if scheme is None:
                return
            value = scheme.group(2)
            if scheme.group(1).lower() == "basic":
                value = _basic_password(value)
                if value is None:
                    return
            pieces = (*pieces, scheme.group(2))
        elif not is_secret_name(name):
            return
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
        if severity >= Severity.MEDIUM and in_test_path(self.context.path):
            # test files set up users and servers with made-up passwords; a generated-looking one stays medium
            severity = Severity.MEDIUM if verdict == "strong" else Severity.LOW
            note += "; in a test or example file"
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
        env = _env_default(node)
        if env is not None:
            self._check(env[0], env[1], "fallback of environment variable")
            return
        args = [a for a in node.args if (a.keyword is not None and string_literal(a.value) is not None) or (
            is_built_string(a.value))]
        if not args or not any(is_built_string(a.value) or is_secret_name(a.keyword.value) or (  # type: ignore[union-attr]
                a.keyword.value.lower() in _AUTH_HEADERS) for a in args):  # type: ignore[union-attr]
            return
        auth = {id(c.node) for c in credential_args(node, self.context)}
        for a in args:
            if id(a.value) not in auth:
                self._check(a.keyword.value if a.keyword is not None else None, a.value, "keyword argument")

    def visit_Param(self, node: cst.Param) -> None:
        if node.default is not None:
            self._check(node.name.value, node.default, "default of parameter")


_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
_AUTH_SCHEME = re.compile(r"^(Bearer|Token|token|Basic|Bot|JWT|Bearer:)\s{1,4}(\S{6,4096})$")


def _basic_password(encoded: str) -> str | None:
    """The password of a `Basic` credential (base64 of `user:password`)."""
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return password if sep and password else None


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]")


def _folds_into_ascii(text: str) -> bool:
    return not text.isascii() and any(_ASCII_WORD.search(unicodedata.normalize("NFKC", ch))
                                       for ch in set(_NON_ASCII.findall(text)))


def _has_name(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) or any(_has_name(c) for c in node.children)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr.value}" if inner else ""
    return ""


def _env_default(call: cst.Call) -> tuple[str, cst.BaseExpression] | None:
    """(variable, default) of `os.getenv("X", "lit")`, `os.environ.get(...)`, `os.environ.setdefault(...)`."""
    func = _dotted(call.func)
    if not func or not (func.endswith(("getenv", "getenvb")) or func.endswith(("environ.get", "environ.setdefault"))):
        return None
    positional = [a for a in call.args if a.keyword is None and not a.star]
    default = positional[1].value if len(positional) > 1 else next(
        (a.value for a in call.args if a.keyword is not None and a.keyword.value in ("default", "value")), None)
    if not positional or default is None or not isinstance(positional[0].value, cst.SimpleString):
        return None
    name = literal_value(positional[0].value)
    return (name, default) if isinstance(name, str) else None


def _where(target: cst.BaseExpression) -> str:
    if isinstance(target, cst.Attribute):
        return "attribute"
    if isinstance(target, cst.Subscript):
        return "item"
    return "assignment to"
