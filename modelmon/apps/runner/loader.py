"""Loading the monitoring application a function runs, from its ``"module:Class"`` path.

What an app function accepts is decided here: a class with a ``do_tracking`` method (a subclass of
:class:`~modelmon.apps.sdk.ModelMonitoringApplicationBase`, or an MLRun-style class), not abstract, whose
constructor takes the registered kwargs. Registration runs the same checks (:func:`check_app_class`,
:func:`check_kwargs`) before it writes anything, so an app that would fail here is refused there.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from modelmon.core.errors import ConfigError

#: Where the built-in apps lived before ``modelmon.apps`` became the app package: app records stored
#: then still name these modules.
MOVED_MODULES = {f"modelmon.apps.{name}": f"modelmon.apps.builtin.{name}" for name in (
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
    module_name = MOVED_MODULES.get(module_name, module_name)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any error raised while importing user code
        raise ConfigError(f"application class {class_path!r}: cannot import {module_name!r}: "
                          f"{type(exc).__name__}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ConfigError(f"application class {class_path!r}: module {module_name!r} has no class {class_name!r}")
    kwargs = dict(kwargs or {})
    try:
        check_app_class(cls)
        check_kwargs(cls, kwargs)
    except ValueError as exc:
        raise ConfigError(f"application class {class_path!r}: {exc}") from None
    try:
        return cls(**kwargs)
    except Exception as exc:  # a failing constructor
        raise ConfigError(f"application class {class_path!r}: constructing it with {kwargs} failed: "
                          f"{type(exc).__name__}: {exc}") from None


def check_app_class(cls: type) -> None:
    """``ValueError`` unless ``cls`` is a monitoring application an app function can build."""
    if not callable(getattr(cls, "do_tracking", None)):
        raise ValueError(f"{cls.__name__} has no do_tracking method: subclass "
                         "modelmon.ModelMonitoringApplicationBase and define do_tracking(self, monitoring_context)")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        raise ValueError(f"{cls.__name__} is abstract: it does not define {missing}")


def check_kwargs(cls: type, kwargs: Mapping[str, Any]) -> None:
    """``ValueError`` unless ``cls(**kwargs)`` binds: an unknown name (with the closest accepted one), or a
    required argument missing. Checked against the signature only: the constructor is not run."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # no signature to read (a C-implemented constructor): the function will tell
        return
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        params = signature.parameters.values()
        accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
        unknown = [] if takes_any else [k for k in kwargs if k not in accepted]
        listing = f"it accepts {', '.join(accepted)}" if accepted else "it accepts no arguments"
        if unknown:
            name = unknown[0]
            close = difflib.get_close_matches(name, accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{cls.__name__} has no argument {name!r}{hint}; {listing}") from None
        raise ValueError(f"{cls.__name__} cannot be built with {dict(kwargs)}: {exc}; {listing}") from None
