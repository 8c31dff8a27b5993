"""Where a monitoring app's class comes from, and the files a function needs to import it.

``set_model_monitoring_function`` accepts a class, an instance, a ``"module:Class"`` path, or a
class name together with ``func``: a ``.py`` file, a folder, or a list of ``.py`` files (an app with
helper modules; :mod:`modelmon.apps.source_files`). The result is the ``class_path`` the app function
loads plus the source files to ship next to its handler. :func:`validate_app` checks, before anything is
registered or started, that the function will be able to build the app.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import importlib
import logging
import os
import re
import sys
import tempfile
import types
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from modelmon.apps.runner.failure import app_location
from modelmon.apps.runner.loader import MOVED_MODULES, check_app_class, check_kwargs
from modelmon.apps.source_files import (
    collect_files,
    defining_file,
    embedded_modules_prelude,
    insert_after_future_imports,
    module_name,
)

log = logging.getLogger(__name__)

_IDENT = re.compile(r"[A-Za-z_]\w*")


@dataclasses.dataclass(frozen=True)
class AppSource:
    class_path: str  # "module:Class"
    class_name: str
    # file name (a relative POSIX path for a folder's files) -> content, shipped with the function
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    import_root: Path | None = None  # a directory to put on the function's sys.path (local runs)
    origin: Path | None = None  # the func file the class is defined in
    cls: type | None = None  # the class itself, when it was given as a class or an instance
    main_file: str | None = None  # the key of ``files`` that defines the class (None: the only file)

    @property
    def main(self) -> str:
        """The shipped file that defines the class."""
        if self.main_file is not None:
            return self.main_file
        (name,) = self.files
        return name


def default_app_name(class_name: str) -> str:
    """``HistogramDriftApp`` -> ``histogram-drift-app`` (a valid function and app name)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", class_name).replace("_", "-").lower()


def resolve_app(func: str | Path | Sequence[str | Path] | None, application_class: Any) -> AppSource:
    """The app's class path and files; ``ValueError`` naming ``func`` or ``application_class``.

    ``func`` is a ``.py`` file, a folder (all its ``.py`` files ship, in their layout) or a list of ``.py``
    files (shipped side by side); ``application_class`` is then the class's name, or ``"module:Class"``
    when several files define a class of that name.
    """
    if application_class is None:
        raise ValueError("application_class is required (a class, an instance, 'module:Class' or a class name)")
    if func is not None and not isinstance(func, str | Path):
        if not isinstance(func, Sequence):
            raise ValueError(f"func must be a .py file, a folder or a list of .py files, not {type(func).__name__}")
        return _from_files(func, application_class, f"{[str(f) for f in func]}")
    if func is not None and Path(func).is_dir():
        return _from_files(func, application_class, repr(str(func)))
    if func is not None:
        path = Path(func)
        if path.suffix != ".py" or not path.is_file():
            raise ValueError(f"func {str(func)!r} must be an existing .py file, a folder or a list of .py files")
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


def _from_files(func: str | Path | Sequence[str | Path], application_class: Any, where: str) -> AppSource:
    """An app whose ``func`` is a folder or a list of files."""
    if not isinstance(application_class, str):
        raise ValueError("application_class must be the name of the class defined in func's files")
    files, paths = collect_files(func)
    module, _, class_name = application_class.rpartition(":")
    if not _IDENT.fullmatch(class_name):
        raise ValueError(f"application_class {application_class!r}: expected a class name or 'module:ClassName'")
    if module:
        by_module = {module_name(name): name for name in files}
        if module not in by_module:
            raise ValueError(f"application_class {application_class!r}: func {where} has no module {module!r} "
                             f"(it has {', '.join(sorted(by_module))})")
        main = by_module[module]
    else:
        main = defining_file(files, class_name, where)
    return AppSource(f"{module_name(main)}:{class_name}", class_name, files, origin=paths[main].resolve(),
                     main_file=main)


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
        with _shipped_files_importable(source):
            module = _run_file(module_name, source.files[source.main], source.origin, what)
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


@contextlib.contextmanager
def _shipped_files_importable(source: AppSource) -> Iterator[None]:
    """While the app's file runs, its other files import as they will in the function: from a throwaway
    copy laid out as shipped, first on ``sys.path``; the modules imported from it are forgotten afterwards,
    so registering again after an edit checks the new code."""
    if len(source.files) == 1:
        with _only_shipped(source):
            yield
        return
    with tempfile.TemporaryDirectory(prefix="modelmon-app-") as copy:
        for name, data in source.files.items():
            target = Path(copy, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        shipped = {module_name(name) for name in source.files}
        before = {name: sys.modules.pop(name) for name in shipped if name in sys.modules}  # the app's own, not these
        sys.path.insert(0, copy)
        try:
            yield
        finally:
            sys.path.remove(copy)
            for name in [n for n, m in sys.modules.items() if str(getattr(m, "__file__", "") or "").startswith(copy)]:
                del sys.modules[name]
            sys.modules.update(before)


@contextlib.contextmanager
def _only_shipped(source: AppSource) -> Iterator[None]:
    """While a single-file app runs, the files next to it are not importable, as in its function where only
    that file is shipped (a notebook has its own folder on ``sys.path``, which would hide the difference)."""
    assert source.origin is not None
    folder = source.origin.parent
    inside = str(folder) + os.sep
    saved = list(sys.path)
    sys.path[:] = [p for p in saved if Path(p or ".").resolve() != folder]
    imported = {name: m for name, m in sys.modules.items()
                if os.path.abspath(str(getattr(m, "__file__", "") or "/")).startswith(inside)}
    for name in imported:
        del sys.modules[name]
    try:
        yield
    except ValueError as exc:
        missing = re.search(r"No module named '([\w.]+)'", str(exc))
        top = missing.group(1).split(".")[0] if missing else ""
        if top and ((folder / f"{top}.py").is_file() or (folder / top).is_dir()):
            raise ValueError(f"{exc}; {top!r} is next to {source.origin.name} but only that file ships: pass "
                             f"func=<its folder> (or a list of its files, or with_repo=True)") from None
        raise
    finally:
        sys.path[:] = saved
        sys.modules.update(imported)


def _run_file(module_name: str, code: bytes, origin: Path, what: str) -> types.ModuleType:
    """``code`` (the file shipped to the function) run as module ``module_name``, which is in
    ``sys.modules`` only while it runs (dataclasses and pickling look their module up there)."""
    module = types.ModuleType(module_name)
    module.__file__ = str(origin)
    module.__package__ = module_name.rpartition(".")[0]  # a folder's nested file may import relatively
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


def embed_source(config: dict[str, Any], source: AppSource, glue: Mapping[str, bytes] | None = None) -> None:
    """Ship the app inside the config (``build.functionSourceCode``), as Nuclio's source-code entry type
    does: the class's file becomes the handler module and re-exports the template's
    ``init_context``/``handler``, so the app class and the glue load from one module. An app of several
    files carries the others inside it (:func:`~modelmon.apps.source_files.embedded_modules_prelude`).

    ``glue``: the file(s) of the template's handler module (``{"apps/handler.py": ...}``), carried the same
    way: on Nuclio ``/opt/nuclio`` holds only the embedded file, and the bundle's top-level folders are not
    part of the installed modelmon package."""
    file_name = source.main
    code = source.files[file_name].decode("utf-8")
    shipped = dict(source.files)
    for name, data in (glue or {}).items():
        if name in shipped:
            raise ValueError(f"func ships {name!r}, the file of the app function's glue ({config['spec']['handler']}); "
                             "rename it")
        shipped[name] = data
    if len(shipped) > 1:
        prelude = embedded_modules_prelude(shipped, file_name)
        # a class in a folder's package is imported under its dotted name (relative imports need it): the
        # handler file then only carries the files and the glue
        code = prelude if "/" in file_name else insert_after_future_imports(code, prelude)
    spec = config["spec"]
    glue_module, _, entry = spec["handler"].partition(":")
    footer = f"\n\nfrom {glue_module} import init_context, {entry}  # noqa: E402,F401  (modelmon app glue)\n"
    spec["handler"] = f"{Path(file_name).stem}:{entry}"
    build = spec.setdefault("build", {})
    build["functionSourceCode"] = base64.b64encode((code + footer).encode("utf-8")).decode()
    build["codeEntryType"] = "sourceCode"
