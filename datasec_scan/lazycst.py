"""libcst, imported on first use: a run that never parses with libcst (a warm run, a file every screen turns
away) does not pay for importing it, which is 0.2-0.4 s and most of a one-file pre-commit run."""

from __future__ import annotations

import importlib
import sys
from typing import Any


class _OnDemand:
    """Stands for a module until an attribute is first looked up: then imports it and puts the module itself in its
    place, in every loaded module that imported this stand-in as `cst`. (An attribute of the stand-in costs four
    times an attribute of a module, and rules look up `cst.Name` and its kin millions of times.)"""

    def __init__(self, module: str) -> None:
        self._module = module
        self._replaced = False

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self._module)
        if not self._replaced:
            self._replaced = True
            for loaded in list(sys.modules.values()):
                namespace = getattr(loaded, "__dict__", None)
                if isinstance(namespace, dict) and namespace.get("cst") is self:
                    namespace["cst"] = module
        value = getattr(module, attribute)
        setattr(self, attribute, value)  # (for whoever still holds the stand-in under another name)
        return value


cst: Any = _OnDemand("libcst")
