"""DS206 secret-in-config-file: a literal password, token or key under a secret-like key in a config file."""

from __future__ import annotations

import re
from collections.abc import Iterator

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, TextMatch, TextRule

from ._credentials import (
    DEMO_PASSWORDS,
    classify_value,
    in_test_path,
    is_secret_name,
    matches_token_format,
)
from .provider_token import reported_secrets

# `KEY=value`, `key = value`, `key: value`, `export KEY=value`, `- KEY=value` (a compose file's environment list),
# `"key": value`; the value is read by `_value` (quotes, inline comments).
_ENTRY = re.compile(
    r"^[ \t]*(?:export[ \t]+|-[ \t]+)?(?P<kq>[\"']?)(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,100})(?P=kq)[ \t]*[=:][ \t]*"
    r"(?P<value>[^\r\n]*)", re.MULTILINE)
_JSON_ENTRY = re.compile(r"\"(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,100})\"\s*:\s*\"(?P<value>(?:[^\"\\\r\n]|\\.){1,4096})\"")
_INLINE_COMMENT = re.compile(r"[ \t]+[#;]")
# Values that are references or ciphertext rather than the secret: sops/Jasypt `ENC[...]`/`ENC(...)`, Ansible vault,
# YAML tags, anchors, aliases and block scalars, inline tables and lists.
_NOT_A_LITERAL = re.compile(r"^(?:ENC[\[(]|\$ANSIBLE_VAULT|vault:|[!&*|>{\[])")
# Files that document the shape of a configuration for others to copy.
_TEMPLATE_FILE = re.compile(r"(?i)(?:^|[/\\])(?:[^/\\]*[.-](?:example|sample|template|dist|tpl|defaults?)(?:\.[^/\\]*)?"
                            r"|(?:examples?|samples?)[._-][^/\\]*"
                            r"|\.env\.[a-z]+|docker-compose[^/\\]*|compose\.ya?ml"
                            r"|\.github[/\\]workflows[/\\][^/\\]+\.ya?ml|\.gitlab-ci\.ya?ml)$")
_ENV_ONLY = re.compile(r"(?i)(?:^|[/\\])\.env$")


def _value(raw: str) -> tuple[int, str] | None:
    """(offset in `raw`, text) of a config value: the inside of its quotes, or the bare value without a comment."""
    raw = raw.rstrip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return (1, raw[1:end]) if end > 1 else None
    cut = _INLINE_COMMENT.search(raw)
    bare = (raw[:cut.start()] if cut else raw).rstrip().rstrip(",")
    return (0, bare) if bare else None


class SecretInConfigFile(TextRule):
    """A literal password, token or key stored under a secret-like key in a configuration file.

    ## What it does
    Reads `.env`, INI/`.cfg`/`.conf`, `.properties`, TOML, YAML and JSON files line by line for entries
    whose key names a secret (`DB_PASSWORD=...`, `password = ...`, `api_key: ...`, `"client_secret": "..."`,
    a compose file's `- POSTGRES_PASSWORD=...`) and judges the value the way DS202 judges a Python literal.
    References are not reported: `${DB_PASSWORD}`, `{{ vault_password }}`, `%(pw)s`, `$SECRET`, encrypted
    values (`ENC[...]`, Ansible vault), YAML tags and anchors, file paths, URLs (DS204's) and placeholders
    (`changeme`, `<YOUR_KEY>`). Values in a provider token format are DS201's.

    Severity is high for values that look generated, medium for human-chosen passwords, low for
    documented examples, password hashes and plain words. Files meant to be copied (`.env.example`,
    `settings.sample.ini`, `config.dist.yaml`), compose files (local development defaults), CI
    workflows (`.github/workflows/*.yml`, `.gitlab-ci.yml`: the throw-away passwords of service
    containers) and test paths lower a human-chosen value to low and a generated-looking one to medium.

    ## Why is this bad?
    Configuration files are committed, copied into images and published with packages; a password in
    one opens the service to everyone who can read the repository or the artifact, and rotating it
    means finding every copy.

    ## Example
    ```ini
    [database]
    password = Wq7#zT9!mP2v
    ```

    ## How to fix
    Rotate the secret, remove it from the file (and its history), and let the file refer to it:
    `password = ${DB_PASSWORD}` filled in from the environment at deploy time, a secret manager, or an
    encrypted file (sops, Ansible vault). Commit a `.env.example` with placeholders, never the `.env`.

    ## References
    - CWE-798: Use of Hard-coded Credentials
    - CWE-260: Password in Configuration File
    - MITRE ATT&CK T1552.001: Unsecured Credentials: Credentials In Files
    """

    code = "DS206"
    name = "secret-in-config-file"
    category = Category.CREDENTIALS
    severity = Severity.MEDIUM
    confidence = Confidence.MEDIUM
    cwe = (798, 260)
    attack = ("T1552.001",)
    file_kinds = ("config",)
    # is_secret_name needs one of these words in the key: pass*, pwd, secret, token, *key, cred*
    triggers = ("ass", "ASS", "wd", "WD", "ecret", "ECRET", "oken", "OKEN", "key", "Key", "KEY", "red", "RED")
    VALID = (
        Example("DB_PASSWORD=${DB_PASSWORD}\n", ".env"),
        Example("[database]\npassword = %(db_password)s\n", "app.ini"),
        Example("database:\n  password: '{{ vault_db_password }}'\n", "config.yaml"),
        Example('{"password_min_length": 12, "token_url": "https://auth.example.com/token"}\n', "settings.json"),
        Example("api_key: ENC[AES256_GCM,data:N0tRea1,iv:Zk8Q,tag:Wq7z,type:str]\n", "secrets.yaml"),
        Example("SECRET_KEY=changeme\n", ".env"),
    )
    INVALID = (
        Example("DB_PASSWORD=Wq7zT9mP2vK4xR\n", ".env"),
        Example("[database]\npassword = Wq7#zT9!mP2v\n", "app.ini"),
        Example('{"client_secret": "Zk8Qw2Lm9Xp4Rt7Vn3Bc"}\n', "settings.json"),
    )

    def scan(self, text: str) -> Iterator[TextMatch]:
        path = self.context.path
        entries = _JSON_ENTRY.finditer(text) if path.lower().endswith(".json") else _ENTRY.finditer(text)
        for m in entries:
            key = m.group("key")
            if not is_secret_name(key):
                continue
            found = _value(m.group("value")) if m.re is _ENTRY else (0, m.group("value"))
            if found is None:
                continue
            offset, value = found
            judged = self._judge(key, value)
            if judged is not None:
                start = m.start("value") + offset
                yield TextMatch(start, start + len(value), *judged)

    def _judge(self, key: str, value: str) -> tuple[str, Severity, Confidence, tuple[str, ...]] | None:
        if _NOT_A_LITERAL.match(value) or matches_token_format(value, key) is not None or (
                value in reported_secrets(self.context)):
            return None
        verdict = classify_value(value, key)
        if verdict is None:
            return None
        path = self.context.path
        if verdict in ("example", "hash") or value.lower() in DEMO_PASSWORDS:
            what = "a password hash" if verdict == "hash" else "a documented example or test value"
            severity, note = Severity.LOW, f" (it looks like {what})"
        elif value.isalpha() and (value.islower() or value.isupper()):
            return None  # `secret_key: config`, `password: postgres`: a label or a local default, not a secret
        elif value.isalpha():
            severity, note = Severity.LOW, " (a plain word: probably a label, not a secret)"
        else:
            strong = verdict == "strong"
            severity = Severity.HIGH if strong else Severity.MEDIUM
            note = "" if strong else " (it looks human-chosen or a default)"
            if (in_test_path(path) or _TEMPLATE_FILE.search(path)) and not _ENV_ONLY.search(path):
                severity = Severity.MEDIUM if strong else Severity.LOW
                note += " (in a test, example, template, compose or CI file)"
        confidence = Confidence.MEDIUM if severity > Severity.LOW else Confidence.LOW
        return (f"hardcoded secret under `{key}` in a config file{note}; reference a secret store or an environment "
                "variable instead", severity, confidence, (value,))
