"""Where a monitoring app's class comes from, and the files a function needs to import it.

``set_model_monitoring_function`` accepts a class, an instance, a ``"module:Class"`` path, or a
class name together with ``func`` (a ``.py`` file). The result is the ``class_path`` the app
function loads plus the source files to ship next to its handler.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

_IDENT = re.compile(r"[A-Za-z_]\w*")


@dataclasses.dataclass(frozen=True)
class AppSource:
    class_path: str  # "module:Class"
    class_name: str
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)  # file name -> content, shipped with it
    import_root: Path | None = None  # a directory to put on the function's sys.path (local runs)


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
        return AppSource(f"{path.stem}:{application_class}", application_class, {path.name: path.read_bytes()})
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
        return AppSource(class_path, cls.__name__, {Path(source).name: Path(source).read_bytes()})
    root = Path(source).resolve().parents[cls.__module__.count(".")]
    return AppSource(class_path, cls.__name__, import_root=root)


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
