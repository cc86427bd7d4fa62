"""DS153 compiled-module-without-source: an importable .so/.pyd/.pyc in a package that has no source for it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import ArchiveMatch, ArchiveRule, Example

_EXTENSION = re.compile(r"^(?P<stem>.+?)(?:\.[A-Za-z0-9_\-]+)?\.(?:so|pyd)$", re.IGNORECASE)
_LEGACY_PYC = re.compile(r"^(?P<stem>.+)\.py[co]$", re.IGNORECASE)
_WHEEL_TAG = re.compile(r"-([^-]+-[^-]+-[^-]+)\.whl$", re.IGNORECASE)
_SOURCES = (".py", ".pyx", ".c", ".cpp", ".cc", ".rs", ".f90")


def _pure(view) -> bool:
    """Whether a wheel (or installed distribution) declares itself pure Python."""
    wheel = next((m for m in view.members if re.fullmatch(r"[^/]+\.dist-info/WHEEL", m.name)), None)
    text = view.text(wheel.name) if wheel is not None else None
    if text:
        purelib = re.search(r"(?mi)^Root-Is-Purelib:\s*true\s*$", text) is not None
        tags = re.findall(r"(?mi)^Tag:\s*(\S+)\s*$", text)
        return purelib and all(t.endswith("-none-any") for t in tags)
    m = _WHEEL_TAG.search(view.path)
    return bool(m and m.group(1).lower().endswith("-none-any"))


class CompiledModuleWithoutSource(ArchiveRule):
    """An importable compiled module (.so, .pyd, legacy .pyc) without source, where source is expected.

    ## What it does
    Looks at a package's member list. In a wheel (or installed distribution) that declares itself
    pure Python (`Root-Is-Purelib: true` and only `-none-any` tags), any extension module
    (`.so`/`.pyd`) is reported high — it is imported instead of a `.py` of the same name — and so is
    a legacy `.pyc`/`.pyo` outside `__pycache__` without its `.py` (Python imports it as is). In an
    sdist or egg, a compiled module with no source file next to it is reported medium. Platform
    wheels ship extension modules by design and are not reported for them.

    ## Why is this bad?
    Compiled code cannot be reviewed or scanned: a pure-Python package that ships a binary module,
    or bytecode without its source, hides whatever that module does from every reader and every
    source scanner — including this one.

    ## Example
    ```text
    demo-1.0-py3-none-any.whl
      demo/__init__.py
      demo/_speedups.cpython-311-x86_64-linux-gnu.so   <- pure wheel, binary module
    ```

    ## How to fix
    Ship the source and build platform wheels for compiled extensions (tagged for their platform),
    or drop the compiled file.

    ## References
    - CWE-506: Embedded Malicious Code
    - https://packaging.python.org/en/latest/specifications/binary-distribution-format/
    - PEP 3147 (`__pycache__` and sourceless imports)
    """

    code = "DS153"
    name = "compiled-module-without-source"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.MEDIUM
    cwe = (506,)
    formats = ("wheel", "sdist", "egg", "installed")
    wants = ("*.dist-info/WHEEL",)
    VALID = (
        Example("-- demo/__init__.py --\nx = 1\n-- demo/__pycache__/__init__.cpython-311.pyc --\nbytecode\n"
                "-- demo-1.0.dist-info/WHEEL --\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                "demo-1.0-py3-none-any.whl"),
        Example("-- demo/__init__.py --\n-- demo/_speedups.cpython-311-x86_64-linux-gnu.so --\nELF\n"
                "-- demo-1.0.dist-info/WHEEL --\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64\n",
                "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        Example("-- demo-1.0/demo/_speedups.c --\nint x;\n-- demo-1.0/demo/_speedups.cpython-311-x86_64-linux-gnu.so --\n"
                "ELF\n", "demo-1.0.tar.gz"),
    )
    INVALID = (
        Example("-- demo/__init__.py --\nx = 1\n-- demo/_core.cpython-311-x86_64-linux-gnu.so --\nELF\n"
                "-- demo-1.0.dist-info/WHEEL --\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
                "demo-1.0-py3-none-any.whl"),
        Example("-- demo/__init__.py --\nx = 1\n-- demo/core.pyc --\nbytecode\n", "demo-1.0-py3-none-any.whl"),
        Example("-- demo-1.0/setup.py --\n-- demo-1.0/demo/loader.pyc --\nbytecode\n", "demo-1.0.tar.gz"),
    )

    def check(self) -> Iterator[ArchiveMatch]:
        view = self.archive
        files = {m.name for m in view.members if m.kind == "file"}
        stems = {name.rsplit(".", 1)[0] for name in files if name.lower().endswith(_SOURCES)}
        binary_ok = view.format in ("wheel", "installed") and not _pure(view)
        where = {"wheel": "pure-Python wheel", "installed": "pure-Python distribution"}.get(view.format, view.format)
        for name in sorted(files):
            if "/__pycache__/" in f"/{name}":
                continue  # sourceless __pycache__ bytecode is never imported (PEP 3147)
            ext = _EXTENSION.match(name)
            pyc = _LEGACY_PYC.match(name)
            if ext and not binary_ok:
                stem = ext.group("stem")
                if view.format in ("wheel", "installed"):
                    shadow = f"; it is imported instead of {stem}.py" if f"{stem}.py" in files else ""
                    yield ArchiveMatch(name, f"{where} ships compiled extension module `{name}`{shadow}")
                elif stem not in stems:
                    yield ArchiveMatch(name, f"{where} ships compiled extension module `{name}` without its source",
                                       severity=Severity.MEDIUM)
            elif pyc and pyc.group("stem") not in stems:
                severity = None if view.format in ("wheel", "installed") else Severity.MEDIUM
                yield ArchiveMatch(name, f"bytecode `{name}` without its source: Python imports it as is, "
                                   "nobody can read it", severity=severity)
