"""The statement-only binding walk finds exactly what a full libcst visit finds."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import libcst as cst
import pytest

from datasec_scan.semantics.names import _Bindings
from datasec_scan.tree import walk as full_walk

SAMPLE = '''
import os, subprocess as sp
from x import *
if a:
    import b
elif c:
    from d import e as f
else:
    g = h
try:
    i = 1
except E as err:
    j = 2
else:
    k = 3
finally:
    l = 4
for m in n:
    o = 5
else:
    p = 6
while q:
    r = 7
with open(s) as t, u() as (v, w):
    x1: int = 8
class C:
    y = 9
    def meth(self):
        z = os.system
match cmd:
    case [a1]:
        b1 = 10
    case _:
        c1 = 11
if d1: e1 = 12; import f1
async def g1():
    async with h1() as i1:
        j1, k1 = 1, 2
'''


def bindings(module: cst.Module, walk: bool) -> tuple[dict, list]:
    collector = _Bindings()
    if walk:
        collector.walk_statements(module.body)
    else:
        full_walk(module, collector)  # every node, as `NameResolver` walks a file holding `:=`
    code = cst.Module([]).code_for_node
    return ({k: sorted(v if isinstance(v, str) else code(v) for v in vs) for k, vs in collector.bound.items()},
            sorted(collector.star_modules))


def test_walk_matches_full_visit_on_every_statement_form() -> None:
    module = cst.parse_module(SAMPLE)
    assert bindings(module, True) == bindings(module, False)


@pytest.mark.parametrize("name", ["os.py", "subprocess.py", "inspect.py", "typing.py", "zipfile.py"])
def test_walk_matches_full_visit_on_stdlib_modules(name: str) -> None:
    text = (Path(sysconfig.get_paths()["stdlib"]) / name).read_text("utf-8")
    if ":=" in text:
        pytest.skip("modules with walrus use the full visit")
    module = cst.parse_module(text)
    assert bindings(module, True) == bindings(module, False)
