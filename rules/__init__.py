"""The built-in datasec-scan rule pack: one rule per module, collected here for the entry point."""

from __future__ import annotations

import importlib
import pkgutil

from datasec_scan.rule import RuleMeta


def _collect() -> list[type[RuleMeta]]:
    found: dict[str, type[RuleMeta]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, RuleMeta) and value.code and value.__module__ == module.__name__:
                found[value.code] = value
    return [found[code] for code in sorted(found)]


RULES = _collect()
