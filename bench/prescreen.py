"""How much of a corpus each rule's pre-screen lets through to the parser (run by hand, not a test).

Usage:  python bench/prescreen.py FOLDER [FOLDER ...] [--select DS1]
For every Python-reading rule: the share of lines in files where `applies_to(path, text)` holds, the
share where it is the only rule that holds, and the seconds the pre-screen itself took; then the share of
lines that get parsed at all (the union), before and after the rules' tree screens (`triggered_by_tree`).
A file is parsed when any rule applies, so one loose pre-screen costs the whole parse.
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

from datasec_scan import fallback
from datasec_scan.config import Limits
from datasec_scan.engine import TREE_SCREENS_UP_TO
from datasec_scan.plugins import discover
from datasec_scan.rule import Rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--select", default="", help="only rules whose code starts with this")
    args = parser.parse_args()
    rules = [r for r in discover().rules if issubclass(r, Rule) and "python" in r.file_kinds]
    shown = [r for r in rules if r.code.startswith(args.select)]
    total = parsed = after_trees = 0
    tree_seconds = 0.0
    through: collections.Counter[str] = collections.Counter()
    alone: collections.Counter[str] = collections.Counter()
    seconds: collections.Counter[str] = collections.Counter()
    for folder in args.folders:
        for path in sorted(folder.rglob("*.py")):
            text = path.read_bytes().decode("utf-8", "replace")
            lines = text.count("\n") + 1
            total += lines
            relative = str(path.relative_to(folder))
            hits = []
            for rule in rules:
                started = time.perf_counter()
                if rule.applies_to(relative, text):
                    hits.append(rule.code)
                seconds[rule.code] += time.perf_counter() - started
            parsed += lines if hits else 0
            # as the engine does: when every rule left has a tree screen, CPython's tree decides whether libcst parses
            screened = [r for r in rules if r.code in hits]
            if 0 < len(screened) <= TREE_SCREENS_UP_TO and all(r.screens_tree() for r in screened) and (
                    len(text) <= Limits().max_fallback_ast_tokens):
                tree = fallback.quiet_ast(text)
                if tree is not None:
                    started = time.perf_counter()
                    screened = [r for r in screened if r.triggered_by_tree(tree, text)]
                    tree_seconds += time.perf_counter() - started
            after_trees += lines if screened else 0
            for code in hits:
                through[code] += lines
            if len(hits) == 1:
                alone[hits[0]] += lines
    print(f"{total:,} lines; parsed (any rule applies): {100 * parsed / max(total, 1):.1f}%; "
          f"pre-screens took {sum(seconds.values()):.2f} s; after the tree screens: "
          f"{100 * after_trees / max(total, 1):.1f}% (tree screens took {tree_seconds:.2f} s)")
    for r in sorted(shown, key=lambda r: -through[r.code]):
        print(f"{r.code}  {100 * through[r.code] / max(total, 1):5.1f}%  alone {100 * alone[r.code] / max(total, 1):4.1f}%"
              f"  {seconds[r.code]:5.2f} s  {r.name}")


if __name__ == "__main__":
    main()
