"""Importing a function's handler the way Nuclio's Python wrapper does.

The wrapper puts the function's directory on ``sys.path``, runs ``importlib.import_module(module)``
and takes ``getattr(module, function)``; ``init_context`` is looked up in the same module.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.spec import FunctionSpec


@dataclasses.dataclass(frozen=True)
class LoadedHandler:
    """The handler callable of a function and its module's optional ``init_context``."""

    module: ModuleType
    handler: Callable[..., Any]
    init_context: Callable[..., Any] | None


def load_handler(spec: FunctionSpec, extra_paths: Sequence[Path] = ()) -> LoadedHandler:
    """Import ``spec.handler`` with the function's directory (then ``extra_paths``) first on ``sys.path``.

    Any failure is a one-line :class:`ConfigError` naming the function.yaml and the module.
    """
    for path in reversed([spec.directory, *extra_paths]):
        text = str(Path(path).resolve())
        if text in sys.path:
            sys.path.remove(text)
        sys.path.insert(0, text)
    where = f"{spec.source}: handler {spec.handler!r}"
    try:
        module = importlib.import_module(spec.module)
    except Exception as exc:  # any error raised while importing user code (ImportError, SyntaxError, ...)
        raise ConfigError(f"{where}: cannot import module {spec.module!r}: {type(exc).__name__}: {exc}") from None
    handler = getattr(module, spec.entry, None)
    if not callable(handler):
        origin = getattr(module, "__file__", None) or spec.module
        raise ConfigError(f"{where}: module {spec.module!r} ({origin}) has no function {spec.entry!r}")
    init_context = getattr(module, "init_context", None)
    return LoadedHandler(module=module, handler=handler, init_context=init_context if callable(init_context) else None)
