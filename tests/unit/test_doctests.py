"""Run the doctests of every modelmon module (the examples in docstrings must stay true)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import modelmon

# Modules whose import needs an optional extra are still listed: a failing import is a failure.
MODULES = sorted(
    m.name for m in pkgutil.walk_packages(modelmon.__path__, "modelmon.")
    if not m.ispkg and m.name != "modelmon.__main__"  # importing __main__ runs the CLI
)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    module = importlib.import_module(name)
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testmod(module, optionflags=flags, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest(s) failed in {name}"
