"""Loading the monitoring application a function runs, from its ``"module:Class"`` path."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from modelmon.core.errors import ConfigError

#: Where the built-in apps lived before ``modelmon.apps`` became the app package: app records stored
#: then still name these modules.
_MOVED_MODULES = {f"modelmon.apps.{name}": f"modelmon.apps.builtin.{name}" for name in (
    "data_quality", "evidently_base", "evidently_drift", "histogram_drift", "model_performance",
    "system_performance")}


def load_app(class_path: str | None, kwargs: Mapping[str, Any] | None = None) -> Any:
    """An instance of the class ``class_path`` names, built with ``kwargs``.

    Any failure is a :class:`ConfigError` naming the class path, so a misconfigured function fails
    at ``init_context`` with one readable line instead of on every window.
    """
    if not class_path or ":" not in class_path:
        raise ConfigError(f"application class {class_path!r}: expected 'package.module:ClassName'")
    module_name, _, class_name = class_path.partition(":")
    module_name = _MOVED_MODULES.get(module_name, module_name)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any error raised while importing user code
        raise ConfigError(f"application class {class_path!r}: cannot import {module_name!r}: "
                          f"{type(exc).__name__}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"application class {class_path!r}: module {module_name!r} has no class {class_name!r}")
    if not callable(getattr(cls, "do_tracking", None)):
        raise ConfigError(f"application class {class_path!r}: {class_name} has no do_tracking method")
    try:
        return cls(**dict(kwargs or {}))
    except Exception as exc:  # a bad constructor argument or a failing constructor
        raise ConfigError(f"application class {class_path!r}: constructing it with {dict(kwargs or {})} failed: "
                          f"{type(exc).__name__}: {exc}") from None
