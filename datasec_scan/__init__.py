"""datasec-scan: a static scanner for backdoors in Python code."""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _drop_working_folder() -> None:
    """`python -m datasec_scan.cli` puts the working folder first on `sys.path`. Run inside a tree being vetted, its
    `ast.py`, `click/` or a `*.dist-info` naming a rule pack would be imported in place of the real ones, and run.
    Drop that entry before anything else is imported, unless this package itself was found there (a checkout run from
    its root)."""
    if not _sys.path or not isinstance(_sys.path[0], str):
        return
    first = _os.path.abspath(_sys.path[0] or _os.curdir)
    home = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    if first == _os.path.abspath(_os.curdir) and first != home:
        del _sys.path[0]


_drop_working_folder()
