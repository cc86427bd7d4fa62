"""libcst, imported on first use: a run that never parses with libcst (a warm run, a file every screen turns
away) does not pay for importing it, which is 0.2-0.4 s and most of a one-file pre-commit run."""

from __future__ import annotations

import importlib
from typing import Any


class _OnDemand:
    """Stands for a module: the first lookup of each attribute imports it; the value is then kept here."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self._module), attribute)
        setattr(self, attribute, value)
        return value


cst: Any = _OnDemand("libcst")
