"""The warm-up before the first study loads every module the steps import when they run, and highdicom's
module attribute table."""

from __future__ import annotations

import ast
import inspect

from highdicom import _standard_utils

from workers.pipeline import steps
from workers.pipeline.warm import STEP_MODULES, warm_up


def test_every_module_a_step_imports_when_it_runs_is_warmed() -> None:
    tree = ast.parse(inspect.getsource(steps))
    imported = set()
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
    assert imported, "the steps import nothing when they run: the warm-up has nothing to do"
    assert imported <= set(STEP_MODULES), sorted(imported - set(STEP_MODULES))


def test_warm_up_loads_the_module_attribute_table() -> None:
    _standard_utils.get_module_attribute_map.cache_clear()
    warm_up()
    assert _standard_utils.get_module_attribute_map.cache_info().currsize == 1
