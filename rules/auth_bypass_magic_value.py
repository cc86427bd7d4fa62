"""DS108 auth-bypass-magic-value: request data or a credential compared with a hard-coded value that grants access."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from datasec_scan.lazycst import cst

from datasec_scan import fallback
from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Rule
from datasec_scan.semantics.constants import TreeFolding, fold

from . import _prescreen as ps
from ._remote import REQUEST, Analyzer, CappedInTestCode, code_of, is_route, positional, short

_CREDENTIAL = re.compile(r"(pass(w(or)?d)?|pwd|(?<![a-z])pw(?![a-z])|secret|token|api_?key|apikey|auth|credential|otp|pin\b|magic|"
                         r"backdoor|master_?key|access_?key|x-api|x-auth|x-debug|x-admin)", re.IGNORECASE)
_AUTH_FUNCTION = re.compile(r"(auth|login|log_in|signin|sign_in|check|verify|valid|permission|access|allowed|"
                            r"is_admin|require|credential|password|token|guard|bypass|override|master|backdoor|"
                            r"skeleton)", re.IGNORECASE)
_GRANT_CALLS = re.compile(r"(^|\.)(login_user|login|authenticate|grant\w*|set_admin|make_admin|allow\w*|"
                          r"create_access_token|encode_token|issue_token|remember_user)$", re.IGNORECASE)
_GRANT_WORDS = re.compile(r"admin|dashboard|superuser|root|authenticated|authorized|logged_in|is_staff", re.IGNORECASE)
_BORING = {"", "true", "false", "none", "null", "0", "1", "yes", "no", "on", "off", "get", "post", "put", "delete",
           "xmlhttprequest", "application/json", "json", "html", "text/html"}
_DIGESTS = ("hexdigest", "digest")
# A value that only a secret holds: the subject of `return secret == "..."` (an `auth`/`authorization` setting
# compared with "enabled" is configuration, not a password).
_SECRET = re.compile(r"(pass(w(or)?d)?|pwd|(?<![a-z])pw(?![a-z])|secret|token|api_?key|apikey|credential|otp|pin\b|magic|backdoor|"
                     r"master_?key|access_?key|x-api|x-auth|x-debug|x-admin)", re.IGNORECASE)
# Functions whose result is the authenticated user: returning one from the magic branch logs that user in.
_AUTHENTICATOR = re.compile(r"^(authenticate|_?login|log_in|sign_in|get_user_from_token|check_credentials|"
                            r"authenticate_credentials|authenticate_user|validate_user)$", re.IGNORECASE)
# Settings values compared in auth code that are states or schemes, never secrets.
_STATES = {"enabled", "disabled", "required", "optional", "basic", "bearer", "digest", "negotiate", "kerberos",
           "oauth", "oauth2", "token", "password", "session", "cookie", "header", "anonymous", "none", "local",
           "ldap", "saml", "oidc", "jwt", "plain", "scram-sha-1", "scram-sha-256", "gssapi", "x509", "default",
           "websocket", "upgrade", "keep-alive", "close", "chunked", "gzip", "h2c",  # (protocol words in headers)
           # OAuth token endpoint authentication methods (RFC 7591)
           "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "tls_client_auth",
           "self_signed_tls_client_auth"}

# A token decoded without checking its signature: whoever wrote it is believed (`jwt.decode(t, options=
# {"verify_signature": False})`, python-jose's `verify=False`).
_UNVERIFIED = re.compile(r"""verify_signature['"]?\s*:\s*False|\bverify\s*=\s*False""")
_NOT_MAGIC = frozenset(_BORING | _STATES)
_REQUEST_PARAMETERS = ("request", "req", "self", "cls")  # a handler's request, as its parameter or attribute
_NESTED_IFS = 2  # how deep `if`s inside the magic branch are searched for what grants access
_DEF_NAME: list[re.Pattern[str]] = []  # compiled at first use


def _auth_function(v: ps.View) -> bool:
    """Some function is named like an auth check (`_AUTH_FUNCTION` on the name as written)."""
    if not _DEF_NAME:  # no lookbehind, so that the regex engine can look for the literal `def` fast
        _DEF_NAME.append(re.compile(r"def[\s\\]+(\w+)"))
    return any(_AUTH_FUNCTION.search(m.group(1)) and not (m.start() and (form[m.start() - 1].isalnum()
                                                                       or form[m.start() - 1] == "_"))
               for form in v.forms for m in _DEF_NAME[0].finditer(form))


# Pre-screen (necessary for any report, see rules/_prescreen.py): inside a function (`def`), a comparison
# `_magic_comparison` takes (`==`, `in` a literal tuple/list/set, hmac/secrets.compare_digest), and the context
# either report needs: `visit_If` a route, request data or an auth-named function; `visit_Return` an auth-named
# function. (Credential-named subjects and granting bodies are no condition: `pass`, `True` are everywhere.)
_APPLIES = ps.all_of(
    ps.word("def"),
    ps.any_of(ps.regex("=="), ps.regex(r"(?<![\w.])in[\s\\]*[(\[{]"),
              ps.Names(["hmac.compare_digest", "secrets.compare_digest"])),
    ps.any_of(ps.REQUEST, ps.ROUTE, _auth_function),  # the cheapest first
)


def _in_functions(statements: list[ast.stmt], functions: tuple[tuple[str, bool], ...] = ()
                  ) -> Iterator[tuple[ast.If | ast.Return, tuple[tuple[str, bool], ...]]]:
    """Each `if` and each `return` of a comparison, call or boolean inside a function, with the enclosing functions
    (name, decorated), innermost last: where `visit_If` and `visit_Return` look."""
    for st in statements:
        kind = type(st)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            yield from _in_functions(st.body, (*functions, (st.name, bool(st.decorator_list))))
            continue
        if functions and (kind is ast.If or kind is ast.Return and isinstance(st.value, (ast.Compare, ast.Call,
                                                                                          ast.BoolOp))):
            yield st, functions
        for block in fallback.blocks(st):
            yield from _in_functions(block, functions)


def _compared(test: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
    """The pairs `_magic_comparison` may hand to `_pair`; any call of two arguments may be a `compare_digest`."""
    if isinstance(test, ast.BoolOp):
        for value in test.values:
            yield from _compared(value)
    elif isinstance(test, ast.Call):
        args = [a for a in test.args if not isinstance(a, ast.Starred)]
        if len(args) == 2:
            yield args[0], args[1]
    elif isinstance(test, ast.Compare) and len(test.ops) == 1:
        if isinstance(test.ops[0], ast.Eq):
            yield test.left, test.comparators[0]
        elif isinstance(test.ops[0], ast.In) and isinstance(test.comparators[0], (ast.Tuple, ast.List, ast.Set)):
            yield from ((test.left, el) for el in test.comparators[0].elts if not isinstance(el, ast.Starred))


def _magic_subjects(folding: Callable[[], TreeFolding], pair: tuple[ast.AST, ast.AST]) -> Iterator[ast.AST]:
    """The sides `_pair` may take as the subject: not a literal, compared with what may fold to a string it accepts
    (at least 4 characters, not a boring or state word)."""
    for subject, other in (pair, pair[::-1]):
        if isinstance(subject, ast.Constant) and isinstance(subject.value, (str, bytes, int)) and not isinstance(
                subject.value, bool):
            continue  # `fold(subject)` has a value
        if isinstance(other, ast.Constant):
            value = other.value.decode("latin-1") if isinstance(other.value, bytes) else other.value
            if isinstance(value, str) and len(value.strip()) >= 4 and value.strip().lower() not in _NOT_MAGIC:
                yield subject
        elif folding().may_fold(other):
            yield subject


def _undigest_tree(expr: ast.AST) -> ast.AST:
    """`_undigest` on CPython's tree."""
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _DIGESTS:
        inner = expr.func.value
        if isinstance(inner, ast.Call) and (inner.args or inner.keywords):
            arg = inner.args[0] if inner.args else inner.keywords[0].value  # (libcst's first argument either way)
            arg = arg.value if isinstance(arg, ast.Starred) else arg
            while isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr in (
                    "encode", "strip", "lower"):
                arg = arg.func.value
            return arg
    return expr


# What `_credential_named` and its CPython-tree mirror `_may_be_credential_named` share: calls that only normalise
# a value, and `user.role`-like attributes that name an account without being its credential.
_NORMALIZERS = frozenset({"strip", "lower", "upper", "encode", "decode"})
_ACCOUNT_OBJECTS = frozenset({"user", "self", "account"})
_ACCOUNT_FIELDS = frozenset({"role", "name", "username", "group"})

def _may_be_credential_named(expr: ast.AST) -> bool:
    """`_credential_named` on CPython's tree, where a key that is not a plain string may be one."""
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in _NORMALIZERS:
        expr = expr.func.value
    if isinstance(expr, ast.Name):
        return bool(_CREDENTIAL.search(expr.id))
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id in _ACCOUNT_OBJECTS and \
                expr.attr.lower() in _ACCOUNT_FIELDS:
            return False
        return bool(_CREDENTIAL.search(expr.attr))
    key: ast.AST | None = None
    if isinstance(expr, ast.Subscript):
        if isinstance(expr.slice, (ast.Slice, ast.Tuple)):
            return False
        key = expr.slice
    elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get" and (
            expr.args or expr.keywords):
        key = expr.args[0] if expr.args else expr.keywords[0].value
    if key is None:
        return False
    if isinstance(key, ast.Constant):
        return isinstance(key.value, str) and bool(_CREDENTIAL.search(key.value))
    return True


def _may_grant(body: list[ast.stmt], func: str, code: Callable[[ast.AST], str], depth: int = 0) -> bool:
    """`_grant` on CPython's tree, looser: an authenticator returning anything, any `session...` target."""
    for st in body:
        kind = type(st)
        if kind is ast.If and depth < _NESTED_IFS:
            if _may_grant(st.body, func, code, depth + 1) or _may_grant(st.orelse, func, code, depth + 1):
                return True
        elif kind is ast.Return and st.value is not None:
            value = st.value
            if _AUTHENTICATOR.search(func) or isinstance(value, ast.Constant) and value.value is True:
                return True
            if isinstance(value, ast.Call) and (_GRANT_CALLS.search(code(value.func)) or isinstance(
                    value.func, ast.Name) and any(isinstance(a, ast.Starred) for a in value.args)):
                return True
            if _GRANT_WORDS.search(code(value)) or _UNVERIFIED.search(code(value)):
                return True
        elif kind is ast.Expr and isinstance(st.value, ast.Call) and _GRANT_CALLS.search(code(st.value.func)):
            return True
        elif kind is ast.Assign or kind is ast.AugAssign or kind is ast.AnnAssign:
            for target in st.targets if kind is ast.Assign else [st.target]:
                text = code(target)
                if text.startswith("session") or _GRANT_WORDS.search(text) or text in (
                        "g.user", "request.user", "current_user"):
                    return True
    return False


class AuthBypassMagicValue(CappedInTestCode, Rule):
    """Request data or a credential compared with a hard-coded value whose match grants access: a magic-value backdoor.

    ## What it does
    Finds comparisons (`==`, `in`, `hmac.compare_digest`, a `hashlib` digest `==`) between a
    request-derived value (Flask `request.args/form/headers/cookies`, Django
    `request.GET/POST/META/COOKIES`, FastAPI parameters) or a credential-named value
    (`password`, `token`, `api_key`, `X-Auth` header...) and a hard-coded literal, where the
    true branch grants access: `return True`, `login_user(...)`, setting `session[...]`,
    returning an admin view, calling the wrapped view (skipping the check), returning a token decoded
    without checking its signature (`options={"verify_signature": False}`), or returning a user
    from an `authenticate`/`login` function, also from an `if` nested in the branch — in web handlers and in functions named like
    auth/login/check/verify or like a way around them (override, bypass, master, backdoor).
    `return <secret> == "..."` counts only for secret-named values (password, token, key...).
    Comparisons with `None`/`""` or with state and scheme words (`"enabled"`, `"basic"`, `"ldap"`),
    with values from a database or session (CSRF tokens), and role checks on user objects are not
    reported.

    In test code (`tests/`, `test_*.py`, `conftest.py`, docs and examples folders) a finding is
    capped at medium: that code is not what the package runs on install or import.

    ## Why is this bad?
    A hard-coded master password, token or header value lets whoever knows it in, whatever the
    real credentials are, and it cannot be rotated without a release.

    ## Example
    ```python
    from flask import request, session

    def login():
        if request.headers.get("X-Debug-Token") == "letmein-42":
            session["admin"] = True
            return "ok"
    ```

    ## How to fix
    Remove the magic value; authenticate against the user store with hashed passwords or real
    tokens, and compare secrets from configuration with `hmac.compare_digest`.

    ## References
    - CWE-798: Use of Hard-coded Credentials
    - CWE-288: Authentication Bypass Using an Alternate Path or Channel
    - CWE-912: Hidden Functionality
    """

    code = "DS108"
    name = "auth-bypass-magic-value"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    cwe = (798, 288, 912)
    attack = ("T1556",)
    VALID = (
        "def login(request):\n    if request.POST.get('csrf') == request.session.get('csrf'):\n        return True\n",
        "def check(user):\n    if user.role == 'admin':\n        return True\n",
        "def verify(token):\n    if token is None or token == '':\n        return False\n",
    )
    INVALID = (
        "from flask import request, session\ndef login():\n"
        "    if request.headers.get('X-Debug-Token') == 'letmein-42':\n        session['admin'] = True\n"
        "        return 'ok'\n",
        "def check_password(user, password):\n    if password == 'Sup3rS3cret!':\n        return True\n"
        "    return user.verify(password)\n",
    )

    @classmethod
    def triggered_by(cls, text: str) -> bool:
        """A comparison in a function, in an auth-named function, a route or near request data."""
        return ps.memo(cls.code, text, _APPLIES)

    @classmethod
    def triggered_by_tree(cls, tree, text: str) -> bool:
        """What each report needs, on CPython's tree: in a function, an `if` test or `return` value holding a
        comparison `_magic_comparison` takes, one side of which may fold to a string `_pair` accepts while the
        other (the subject) is no literal and may be request data or credential-named. For an `if`: a body that
        may grant (`_grant`), in a decorated (maybe route) or auth-named function or a file with request data;
        for a `return`: an auth-named function, and a secret-named subject or request data in the file. Whether
        request data reaches the subject is not followed: the file's code may hold request data (`ps.REQUEST`)."""

        def folding() -> TreeFolding:  # (the walk binding every name, wanted only for a side that is no literal)
            return fallback.folding_of(tree, text)

        request: list[bool] = []  # asked at most once

        def may_request() -> bool:
            if not request:
                request.append(ps.REQUEST(ps.code_view(text, tree)))
            return request[0]

        starts: list[list[int]] = []  # computed at most once

        def code(node: ast.AST) -> str:
            if not starts:
                starts.append(fallback.line_starts(text))
            return " ".join(fallback.source_of(text, starts[0], node).split())

        for statement, functions in _in_functions(tree.body):
            func = functions[-1][0]
            if isinstance(statement, ast.Return) and not _AUTH_FUNCTION.search(func):
                continue
            test = statement.test if isinstance(statement, ast.If) else statement.value
            subjects = [_undigest_tree(s) for pair in _compared(test) for s in _magic_subjects(folding, pair)]
            subjects = [s for s in subjects if _may_be_credential_named(s) or may_request()]
            if not subjects:
                continue
            if isinstance(statement, ast.Return):
                if may_request() or any(_SECRET.search(code(s)) for s in subjects):
                    return True
            elif _may_grant(statement.body, func, code) and (
                    functions[-1][1] or any(_AUTH_FUNCTION.search(name) for name, _ in functions) or may_request()):
                return True
        return False

    def __init__(self, context) -> None:
        super().__init__(context)
        self._functions: list[tuple[str, bool]] = []
        self._nodes: list[cst.FunctionDef] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append((node.name.value, is_route(node)))
        self._nodes.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._functions.pop()
        self._nodes.pop()

    def visit_If(self, node: cst.If) -> None:
        if not self._functions:
            return
        hit = self._magic_comparison(node.test)
        if hit is None:
            return
        subject, literal, request = hit
        func, route = self._functions[-1]
        grant = self._grant(node.body, func)
        if grant is None:
            return
        if not (route or request or _AUTH_FUNCTION.search(func) or any(_AUTH_FUNCTION.search(f) for f, _ in
                                                                        self._functions)):
            return
        confidence = Confidence.HIGH if (request and _CREDENTIAL.search(code_of(subject, 200))) or (
            _AUTH_FUNCTION.search(func) and _CREDENTIAL.search(code_of(subject, 200))) else Confidence.MEDIUM
        self.report(node.test, f"`{short(code_of(subject), 50)}` compared with a hard-coded value grants access "
                    f"({grant})", severity=Severity.HIGH, confidence=confidence, secrets=(literal,),
                    flow=((subject, "request or credential value"), (node.test, "compared with a literal"),
                          (node.body, f"grants access: {grant}")))

    def visit_Return(self, node: cst.Return) -> None:
        """`return password == "..."` in a function named like check/verify/auth."""
        if not self._functions or node.value is None or not isinstance(node.value, (cst.Comparison, cst.Call,
                                                                                     cst.BooleanOperation)):
            return
        func, _ = self._functions[-1]
        if not _AUTH_FUNCTION.search(func):
            return
        hit = self._magic_comparison(node.value)
        if hit is None:
            return
        subject, literal, request = hit
        if not (request or _SECRET.search(code_of(self._undigest(subject), 200))):
            return
        self.report(node, f"`{short(code_of(subject), 50)}` compared with a hard-coded value decides `{func}`",
                    severity=Severity.HIGH, confidence=Confidence.MEDIUM, secrets=(literal,))

    # --- the comparison --------------------------------------------------------------------------

    def _magic_comparison(self, test: cst.BaseExpression) -> tuple[cst.BaseExpression, str, bool] | None:
        if isinstance(test, cst.BooleanOperation):
            if isinstance(test.operator, cst.Or):
                return self._magic_comparison(test.left) or self._magic_comparison(test.right)
            return self._magic_comparison(test.left) or self._magic_comparison(test.right)
        an = Analyzer.of(self.context)
        if isinstance(test, cst.Call):
            qualified = an.call_names(test)
            args = positional(test)
            if qualified & {"hmac.compare_digest", "secrets.compare_digest"} and len(args) == 2:
                return self._pair(args[0], args[1], an)
            return None
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            if isinstance(target.operator, cst.Equal):
                return self._pair(test.left, target.comparator, an)
            if isinstance(target.operator, cst.In) and isinstance(target.comparator, (cst.Tuple, cst.List, cst.Set)):
                for el in target.comparator.elements:
                    hit = self._pair(test.left, el.value, an)
                    if hit is not None:
                        return hit
        return None

    def _pair(self, a: cst.BaseExpression, b: cst.BaseExpression, an: Analyzer
              ) -> tuple[cst.BaseExpression, str, bool] | None:
        for subject, other in ((a, b), (b, a)):
            value = fold(other, an.names)
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if not isinstance(value, str) or value.strip().lower() in _BORING or len(value.strip()) < 4 or (
                    value.strip().lower() in _STATES):
                continue
            if fold(subject, an.names) is not None:
                continue
            inner = self._undigest(subject)
            request = not self._plain_parameter(inner) and REQUEST in an.sources(
                inner, want=(REQUEST,), use_flow=False, scope=self._nodes[-1] if self._nodes else None)
            if request or self._credential_named(inner):
                return subject, value, request
        return None

    def _plain_parameter(self, expr: cst.BaseExpression) -> bool:
        """`parts[2]` where `parts` is a parameter of the enclosing function that is no route: the module's other
        bindings of the name (`parts = request.path.split("/")` elsewhere) say nothing about it."""
        while isinstance(expr, (cst.Subscript, cst.Attribute, cst.Call)):
            expr = expr.func if isinstance(expr, cst.Call) else expr.value
        if not isinstance(expr, cst.Name) or expr.value in _REQUEST_PARAMETERS or not self._nodes or (
                self._functions[-1][1]):
            return False
        return expr.value in Analyzer.parameters(self._nodes[-1])

    @staticmethod
    def _undigest(expr: cst.BaseExpression) -> cst.BaseExpression:
        """`hashlib.sha256(pw.encode()).hexdigest()` -> `pw`."""
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _DIGESTS:
            inner = expr.func.value
            if isinstance(inner, cst.Call) and inner.args:
                arg = inner.args[0].value
                while isinstance(arg, cst.Call) and isinstance(arg.func, cst.Attribute) and arg.func.attr.value in (
                        "encode", "strip", "lower"):
                    arg = arg.func.value
                return arg
        return expr

    @staticmethod
    def _credential_named(expr: cst.BaseExpression) -> bool:
        while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and (
                expr.func.attr.value in _NORMALIZERS):
            expr = expr.func.value
        if isinstance(expr, cst.Name):
            return bool(_CREDENTIAL.search(expr.value))
        if isinstance(expr, cst.Attribute):
            if isinstance(expr.value, cst.Name) and expr.value.value in _ACCOUNT_OBJECTS and \
                    expr.attr.value.lower() in _ACCOUNT_FIELDS:
                return False
            return bool(_CREDENTIAL.search(expr.attr.value))
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            key = fold(expr.slice[0].slice.value)
            return isinstance(key, str) and bool(_CREDENTIAL.search(key))
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "get" \
                and expr.args:
            key = fold(expr.args[0].value)
            return isinstance(key, str) and bool(_CREDENTIAL.search(key))
        return False

    # --- the branch ------------------------------------------------------------------------------

    def _grant(self, body: cst.BaseSuite, func: str = "", depth: int = 0) -> str | None:
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        for stmt in statements:
            if isinstance(stmt, cst.If) and depth < _NESTED_IFS:  # `if user is not None: return user`
                orelse = stmt.orelse.body if isinstance(stmt.orelse, cst.Else) else stmt.orelse  # (an `elif`: an If)
                found = self._grant(stmt.body, func, depth + 1) or (
                    self._grant(orelse, func, depth + 1) if orelse is not None else None)  # type: ignore[arg-type]
                if found:
                    return found
                continue
            lines = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else []
            for small in lines:
                if isinstance(small, cst.Return) and small.value is not None:
                    value = small.value
                    if isinstance(value, cst.Name) and value.value == "True":
                        return "returns True"
                    if isinstance(value, cst.Call):
                        name = code_of(value.func, 80)
                        if _GRANT_CALLS.search(name) or _GRANT_WORDS.search(code_of(value, 200)):
                            return f"returns `{short(code_of(value), 40)}`"
                        if value.args and any(a.star == "*" for a in value.args) and isinstance(value.func, cst.Name):
                            return f"calls the protected view `{name}` without the check"
                    if _GRANT_WORDS.search(code_of(value, 200)):
                        return f"returns `{short(code_of(value), 40)}`"
                    if _UNVERIFIED.search(code_of(value, 400)):
                        return "returns a token decoded without checking its signature"
                    text = code_of(value, 200)
                    if _AUTHENTICATOR.search(func) and not isinstance(value, (cst.SimpleString, cst.Integer)) and \
                            text not in ("None", "False") and "anonymous" not in text.lower():
                        return f"`{func}` returns `{short(text, 40)}` (a user) without checking the password"
                if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                    name = code_of(small.value.func, 80)
                    if _GRANT_CALLS.search(name):
                        return f"calls `{name}`"
                if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    for t in targets:
                        text = code_of(t, 80)
                        value_text = code_of(small.value, 80) if small.value is not None else ""
                        if text.startswith("session[") or _GRANT_WORDS.search(text) and value_text != "False" or (
                                text in ("g.user", "request.user", "current_user") and value_text != "None"):
                            return f"sets `{short(text, 30)}`"
        return None
