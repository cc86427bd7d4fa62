"""DS201 provider-token: a credential in a provider's recognisable token format."""

from __future__ import annotations

import re
from typing import Iterator

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, TextMatch, TextRule

_PATTERNS = {
    "AWS access key id": re.compile(r"\b((?:AKIA|ASIA)[A-Z2-7]{16})\b"),
    "GitHub token": re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36})\b"),
    "Slack token": re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]{10,})\b"),
    "private key block": re.compile(r"(-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----)"),
}


class ProviderToken(TextRule):
    """A credential in a recognisable provider token format.

    ## What it does
    Finds strings shaped like provider credentials (AWS, GitHub, Slack, private keys) anywhere in
    Python and configuration files.

    ## Why is this bad?
    A token in the source is in every clone, wheel and fork; anyone who reads it can act as you.

    ## Example
    ```python
    GITHUB_TOKEN = "ghp_..."
    ```

    ## How to fix
    Revoke the token, then read it from the environment or a secret manager.

    ## References
    - CWE-798: Use of Hard-coded Credentials
    """

    code = "DS201"
    name = "provider-token"
    category = Category.CREDENTIALS
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = (798,)
    triggers = ("AKIA", "ASIA", "gh", "xox", "PRIVATE KEY")
    VALID = ('token = "ghp_short"\n',)
    INVALID = ('key = "AKIAIOSFODNN7EXAMPLE"\n', Example("KEY=AKIAIOSFODNN7EXAMPLE\n", ".env"))

    def scan(self, text: str) -> Iterator[TextMatch]:
        for label, pattern in _PATTERNS.items():
            for m in pattern.finditer(text):
                yield TextMatch(m.start(1), m.end(1), f"{label} in source", secrets=(m.group(1),))
