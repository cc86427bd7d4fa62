"""DS154 record-mismatch: a wheel's (or installed distribution's) files do not match its RECORD."""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterator

from datasec_scan.model import Category, Confidence, Severity
from datasec_scan.rule import ArchiveMatch, ArchiveRule, Example

from ._credentials import in_test_path

_RECORD = re.compile(r"^[^/]+\.dist-info/RECORD$")
_SIGNATURES = re.compile(r"^[^/]+\.dist-info/RECORD(?:\.jws|\.p7s)?$")


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class RecordMismatch(ArchiveRule):
    """Files that do not match the package's RECORD: unlisted, altered or missing.

    ## What it does
    Reads `*.dist-info/RECORD` — the list of every file with its sha256 — of a wheel, and of each
    installed distribution, and compares it with what is really there. A file that runs (Python
    code, a `.pth`, a native library, a script) whose content does not match its recorded hash is
    reported high (in an installed environment: modified after installation), other files
    (metadata, data) medium; a wheel kept among the tests or examples of the scanned tree (a
    fixture, never installed) one step lower. A wheel member not listed in RECORD, or a wheel without a RECORD, is reported
    medium; a listed file that is absent low.

    ## Why is this bad?
    RECORD is what tools use to audit, verify and uninstall a package. A wheel rebuilt by hand to
    slip in a file, or a site-packages file patched after installation (a classic persistence trick:
    append a payload to a popular package's `__init__.py`), leaves exactly this trace.

    ## Example
    ```text
    demo-1.0.dist-info/RECORD:
    demo/__init__.py,sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6
    # ... but demo/__init__.py now holds different bytes
    ```

    ## How to fix
    Rebuild the wheel with a build tool instead of editing it; for an installed environment,
    reinstall the distribution (`pip install --force-reinstall --no-deps NAME==VERSION`) and find
    out what modified it.

    ## References
    - CWE-494: Download of Code Without Integrity Check
    - https://packaging.python.org/en/latest/specifications/recording-installed-packages/
    """

    code = "DS154"
    name = "record-mismatch"
    category = Category.REMOTE_ACCESS
    severity = Severity.HIGH
    confidence = Confidence.HIGH
    cwe = (494,)
    formats = ("wheel", "installed")
    wants = ("*.dist-info/RECORD",)
    VALID = (
        Example("-- demo/__init__.py --\nx = 1\n-- demo-1.0.dist-info/RECORD --\n"
                "demo/__init__.py,sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6\n"
                "demo-1.0.dist-info/RECORD,,\n", "demo-1.0-py3-none-any.whl"),
    )
    INVALID = (
        Example("-- demo/__init__.py --\nx = 2\n-- demo-1.0.dist-info/RECORD --\n"
                "demo/__init__.py,sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6\n"
                "demo-1.0.dist-info/RECORD,,\n", "demo-1.0-py3-none-any.whl"),
        Example("-- demo/__init__.py --\nx = 1\n-- demo/extra.py --\nimport os\n-- demo-1.0.dist-info/RECORD --\n"
                "demo/__init__.py,sha256=nia_NpkRxFwkPGhBR7I_yeHc_PJX0pmhxjIBam_NM_Q,6\n"
                "demo-1.0.dist-info/RECORD,,\n", "demo-1.0-py3-none-any.whl"),
        Example("-- demo/__init__.py --\nx = 1\n", "demo-1.0-py3-none-any.whl"),
    )

    def check(self) -> Iterator[ArchiveMatch]:
        view = self.archive
        records = [m for m in view.members if _RECORD.match(m.name)]
        files = {m.name: m for m in view.members if m.kind == "file"}
        if not records:
            if view.format == "wheel":
                yield ArchiveMatch(next(iter(files), ""), "wheel has no *.dist-info/RECORD: its files cannot be "
                                   "verified", severity=Severity.MEDIUM)
            return
        record = records[0]
        text = view.text(record.name)
        if text is None:
            return
        listed: set[str] = set()
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or not row[0]:
                continue
            path = row[0]
            listed.add(path)
            algo, _, expected = (row[1] if len(row) > 1 else "").partition("=")
            if view.format == "installed" and (path.startswith("../") or path.endswith(".pyc")):
                continue  # scripts outside site-packages; bytecode compiled at install is not hashed
            member = files.get(path)
            if member is None:
                if expected:
                    yield ArchiveMatch(record.name, f"`{path}` is listed in RECORD but absent", line=number,
                                       severity=Severity.LOW)
                continue
            if algo != "sha256" or not expected or member.sha256 is None:
                continue
            if _b64(member.sha256) != expected:
                when = "was modified after installation" if view.format == "installed" else "does not match RECORD"
                yield ArchiveMatch(record.name, f"`{path}` {when}: sha256 {_b64(member.sha256)[:12]}… instead of "
                                   f"{expected[:12]}…", line=number, severity=_mismatch_severity(view.path, path))
        if view.format == "wheel":
            for name in sorted(set(files) - listed):
                if not _SIGNATURES.match(name):
                    yield ArchiveMatch(name, f"`{name}` is in the wheel but not in RECORD", severity=Severity.MEDIUM)


_RUNS = (".py", ".pyw", ".pth", ".so", ".pyd", ".dll", ".dylib", ".exe", ".sh", ".bat", ".cmd", ".ps1", ".pyc")


def _mismatch_severity(archive: str, member: str) -> Severity:
    """High for a file that runs (code, a `.pth`, a native library, a script), medium for data and metadata; one step
    lower for a wheel kept among the tests or examples of the scanned tree (a fixture, never installed)."""
    runs = member.lower().endswith(_RUNS) or member.split("/")[-2:-1] == ["scripts"]
    if in_test_path(archive):
        return Severity.MEDIUM if runs else Severity.LOW
    return Severity.HIGH if runs else Severity.MEDIUM
