"""Where a monitoring app's class comes from, and the files a function needs to import it.

``set_model_monitoring_function`` accepts a class, an instance, a ``"module:Class"`` path, or a
class name together with ``func`` (a ``.py`` file). The result is the ``class_path`` the app
function loads plus the source files to ship next to its handler. :func:`validate_app` checks,
before anything is registered or started, that the function will be able to build the app.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import logging
import re
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelmon.apps.runner.failure import app_location
from modelmon.apps.runner.loader import MOVED_MODULES, check_app_class, check_kwargs

log = logging.getLogger(__name__)

_IDENT = re.compile(r"[A-Za-z_]\w*")


@dataclasses.dataclass(frozen=True)
class AppSource:
    class_path: str  # "module:Class"
    class_name: str
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)  # file name -> content, shipped with it
    import_root: Path | None = None  # a directory to put on the function's sys.path (local runs)
    origin: Path | None = None  # the func file the class is defined in
    cls: type | None = None  # the class itself, when it was given as a class or an instance


def default_app_name(class_name: str) -> str:
    """``HistogramDriftApp`` -> ``histogram-drift-app`` (a valid function and app name)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", class_name).replace("_", "-").lower()


def resolve_app(func: str | Path | None, application_class: Any) -> AppSource:
    """The app's class path and files; ``ValueError`` naming ``func`` or ``application_class``."""
    if application_class is None:
        raise ValueError("application_class is required (a class, an instance, 'module:Class' or a class name)")
    if func is not None:
        path = Path(func)
        if path.suffix != ".py" or not path.is_file():
            raise ValueError(f"func {str(func)!r} must be an existing .py file")
        if not isinstance(application_class, str) or not _IDENT.fullmatch(application_class):
            raise ValueError("application_class must be the class name defined in func")
        if not re.search(rf"^class\s+{application_class}\b", path.read_text(encoding="utf-8"), re.MULTILINE):
            raise ValueError(f"application_class {application_class!r} is not defined in func {str(func)!r}")
        return AppSource(f"{path.stem}:{application_class}", application_class, {path.name: path.read_bytes()},
                         origin=path.resolve())
    if isinstance(application_class, str):
        module, _, name = application_class.partition(":")
        if not name or not all(_IDENT.fullmatch(p) for p in [*module.split("."), name]):
            raise ValueError(f"application_class {application_class!r}: expected 'package.module:ClassName'")
        return AppSource(application_class, name)
    cls = application_class if isinstance(application_class, type) else type(application_class)
    if not callable(getattr(cls, "do_tracking", None)):
        raise ValueError(f"application_class {cls.__name__}: has no do_tracking method")
    defining_module = sys.modules.get(cls.__module__)
    source = getattr(defining_module, "__file__", None)
    if cls.__module__ == "__main__" or source is None or "<" in cls.__qualname__:
        raise ValueError(
            f"application_class {cls.__name__}: defined in {cls.__module__} (a notebook or script), which a "
            "function cannot import; save it to a file and pass func='<file>.py', application_class='<ClassName>'"
        )
    class_path = f"{cls.__module__}:{cls.__qualname__}"
    if "." not in cls.__module__:  # a top-level module: ship its file with the function
        return AppSource(class_path, cls.__name__, {Path(source).name: Path(source).read_bytes()}, cls=cls)
    root = Path(source).resolve().parents[cls.__module__.count(".")]
    return AppSource(class_path, cls.__name__, import_root=root, cls=cls)


def validate_app(source: AppSource, kwargs: Mapping[str, Any], *, module_must_import: bool = True) -> type | None:
    """The app's class, once it is known that its function can build it with ``kwargs``; else ``ValueError``.

    The class must import (a ``func`` file is run as a throwaway module: ``sys.modules`` keeps no copy, so
    registering the file again after an edit checks the new code), be a monitoring application, and
    ``kwargs`` must bind to its constructor (which is not run). A ``"module:Class"`` that cannot be
    imported here is an error unless not ``module_must_import`` (a package only the function's image
    has): then nothing is checked and ``None`` is returned.
    """
    what = f"application_class {source.class_path!r}"
    cls = source.cls or _import_class(source, what, module_must_import)
    if cls is None:
        return None
    try:
        check_app_class(cls)
        check_kwargs(cls, kwargs)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    return cls


def _import_class(source: AppSource, what: str, module_must_import: bool) -> type | None:
    module_name, _, class_name = source.class_path.partition(":")
    if source.origin is not None:
        module = _run_file(module_name, source.files[source.origin.name], source.origin, what)
    else:
        module_name = MOVED_MODULES.get(module_name, module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name) or module_must_import:
                raise ValueError(f"{what}: cannot import {module_name!r}: {exc}") from None
            log.warning("%s: module %r is not importable here; its class and arguments are not checked",
                        what, module_name)
            return None
        except Exception as exc:  # anything the module raised while importing
            raise ValueError(f"{what}: importing {module_name!r} failed: {_described(exc)}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ValueError(f"{what}: module {module_name!r} has no class {class_name!r}")
    return cls


def _run_file(module_name: str, code: bytes, origin: Path, what: str) -> types.ModuleType:
    """``code`` (the file shipped to the function) run as module ``module_name``, which is in
    ``sys.modules`` only while it runs (dataclasses and pickling look their module up there)."""
    module = types.ModuleType(module_name)
    module.__file__ = str(origin)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        exec(compile(code, str(origin), "exec"), module.__dict__)  # the user's own app file, as the function runs it
    except (Exception, SystemExit) as exc:
        raise ValueError(f"{what}: importing {origin.name} failed: {_described(exc)}") from None
    finally:
        if previous is None:
            sys.modules.pop(module_name, None)
        else:
            sys.modules[module_name] = previous
    return module


def _described(exc: BaseException) -> str:
    location = None if isinstance(exc, SyntaxError) else app_location(exc)  # a SyntaxError names its line
    return f"{type(exc).__name__}: {exc}" + (f" (at {location})" if location else "")


def embed_source(config: dict[str, Any], source: AppSource) -> None:
    """Ship a single-file app inside the config (``build.functionSourceCode``), as Nuclio's
    source-code entry type does: the file becomes the handler module and re-exports the template's
    ``init_context``/``handler``, so the app class and the glue load from one module."""
    (file_name, code), = source.files.items()
    spec = config["spec"]
    glue_module, _, entry = spec["handler"].partition(":")
    footer = f"\n\nfrom {glue_module} import init_context, {entry}  # noqa: E402,F401  (modelmon app glue)\n"
    spec["handler"] = f"{Path(file_name).stem}:{entry}"
    build = spec.setdefault("build", {})
    build["functionSourceCode"] = base64.b64encode(code + footer.encode()).decode()
    build["codeEntryType"] = "sourceCode"
