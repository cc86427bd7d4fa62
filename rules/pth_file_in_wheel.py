"""DS152 pth-file-in-wheel: a package archive ships a .pth file with executable `import` lines."""

from __future__ import annotations

import re
from collections.abc import Iterator

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import Example, TextMatch, TextRule

from ._packaging import archive_of

_EXEC_LINE = re.compile(r"(?m)^import[ \t].*$")
_SITE_DIRS = re.compile(r"^[^/]+\.data/(?:purelib|platlib)/[^/]+\.pth$")


class PthFileInWheel(TextRule):
    """A `.pth` file with executable lines shipped inside a wheel, egg or sdist.

    ## What it does
    Reports each `import` line of a `.pth` file found inside a package archive. A `.pth` at the
    top of a wheel (or in its `*.data/purelib|platlib/` folder) is installed straight into
    `site-packages`, where `site` executes its `import` lines at every interpreter start: medium
    severity, high confidence. A `.pth` elsewhere in a wheel, or in an sdist or egg, only runs if
    something installs it there: low severity. Outside archives the rule is silent; the content of
    the line is judged by DS106 (pth-code-execution).

    ## Why is this bad?
    Installing the package is enough to run its code in every later Python process of the
    environment — pip, the test runner, the user's scripts — without the package ever being
    imported. Few packages need this (editable installs, coverage's subprocess hook, setuptools'
    distutils shim); a package that does should be able to say why.

    ## Example
    ```text
    evil-1.0-py3-none-any.whl!/evil_init.pth:
    import evil._boot
    ```

    ## How to fix
    Drop the `.pth` file; let users import the package (or call an explicit entry point) when they
    want its behaviour. A path-only `.pth` (no `import` lines) is not reported.

    ## References
    - CWE-506: Embedded Malicious Code
    - MITRE ATT&CK T1546.018 (Python Startup Hooks)
    - https://docs.python.org/3/library/site.html
    """

    code = "DS152"
    name = "pth-file-in-wheel"
    category = Category.REMOTE_ACCESS
    severity = Severity.MEDIUM
    confidence = Confidence.HIGH
    cwe = (506,)
    attack = ("T1546.018",)
    file_kinds = ("pth",)
    triggers = ("import",)
    VALID = (
        Example("import demo._boot\n", "demo.pth"),
        Example("demo/vendor\n", "demo-1.0-py3-none-any.whl!/demo.pth"),
    )
    INVALID = (
        Example("import demo._boot\n", "demo-1.0-py3-none-any.whl!/demo.pth"),
        Example("import os; os.environ.setdefault('X', '1')\n", "demo-1.0.tar.gz!/demo-1.0/demo.pth"),
    )

    def scan(self, text: str) -> Iterator[TextMatch]:
        archive, member = archive_of(self.context.path)
        if archive is None:
            return
        lower = archive.lower()
        installed = lower.endswith(".whl") and ("/" not in member or bool(_SITE_DIRS.match(member)))
        where = ("installed into site-packages by the wheel" if installed
                 else f"shipped in {archive}" + (" (outside the wheel's site-packages root)" if lower.endswith(".whl")
                                                  else ""))
        for m in _EXEC_LINE.finditer(text):
            yield TextMatch(m.start(), m.end(), f"`.pth` file {where}; this line runs at every Python start",
                            severity=None if installed else Severity.LOW,
                            confidence=None if installed else Confidence.MEDIUM)
