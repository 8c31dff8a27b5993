"""The public surface is exact (as httpx's ``test_exported_members``): every package's ``__all__`` is the
sorted list of the public names it defines or imports, and each of them resolves. "Sorted" is ruff's
isort-style order (RUF022): CONSTANTS, then Classes, then everything else, each in natural order.

A name only its own package uses is imported from its module, not re-exported; a package that exports
nothing has no public names at all. Submodules and ``from __future__`` features are not exports.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import types

import pytest

import modelmon

#: Dunder names a package may export on purpose (as httpx exports ``__version__``).
EXPORTED_DUNDERS = ("__version__",)
#: The type of the object ``from __future__ import annotations`` binds in every module: never an export.
FUTURE_FEATURE = type(annotations)

PACKAGES = ["modelmon", *sorted(m.name for m in pkgutil.walk_packages(modelmon.__path__, "modelmon.") if m.ispkg)]


def isort_order(name: str) -> tuple[int, list[int | str]]:
    """RUF022's key: SCREAMING_CASE first, CamelCase next, the rest last; digits compare as numbers."""
    kind = 0 if len(name) > 1 and name.upper() == name else 1 if name[:1].isupper() else 2
    return kind, [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def public_names(module: types.ModuleType) -> list[str]:
    """What ``from module import *`` should give: ``dir()`` (lazy names too) minus submodules and features."""
    names = [name for name in dir(module) if not name.startswith("_") or name in EXPORTED_DUNDERS]
    return sorted(
        (name for name in names if not isinstance(getattr(module, name), types.ModuleType | FUTURE_FEATURE)),
        key=isort_order,
    )


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_exactly_the_public_names(name):
    package = importlib.import_module(name)
    exported = list(getattr(package, "__all__", []))
    assert exported == sorted(exported, key=isort_order), f"{name}.__all__ is not sorted"
    assert exported == public_names(package)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves(name):
    package = importlib.import_module(name)
    for exported in getattr(package, "__all__", []):
        assert getattr(package, exported) is not None, f"{name}.{exported}"


def test_modelmon_exports_the_app_author_api():
    assert {"ModelMonitoringApplicationBase", "ModelMonitoringApplicationResult", "get_or_create_project",
            "Project", "ModelmonError"} <= set(modelmon.__all__)
