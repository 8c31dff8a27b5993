"""An app's source files when ``func`` is a folder or a list of files: what is shipped, the module each file
is, which one defines the app class, and how they all travel inside one Nuclio source file.

A folder ships every ``.py`` file under it (not hidden ones, nor ``__pycache__``), keeping its layout, so
``from helpers import x`` and ``from mypkg.tools import y`` work in the function as they did next to the
app; a list ships its files side by side under their own names. The function finds them on its path (the
local target writes them next to the function's config); Nuclio's source-code entry type takes a single
file, so :func:`embedded_modules_prelude` puts the others inside it, served by an import hook.
"""

from __future__ import annotations

import ast
import base64
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

#: The most a folder may ship: an app's code, not its data or a virtualenv.
MAX_FILES = 200
MAX_BYTES = 5 * 1024 * 1024

_MODULE_PART = re.compile(r"[A-Za-z_]\w*")


def collect_files(func: str | Path | Sequence[str | Path]) -> tuple[dict[str, bytes], dict[str, Path]]:
    """The files ``func`` (a folder, or a list of ``.py`` files) ships: relative POSIX path -> bytes, and
    relative path -> the file it came from; ``ValueError`` saying what is wrong."""
    if isinstance(func, str | Path):
        folder = Path(func)
        paths = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*.py"))
                 if p.is_file() and not _skipped(p.relative_to(folder))}
        if not paths:
            raise ValueError(f"func folder {str(func)!r} has no .py files")
    else:
        paths = {}
        for item in func:
            path = Path(item)
            if path.suffix != ".py" or not path.is_file():
                raise ValueError(f"func: {str(item)!r} is not an existing .py file")
            if path.name in paths and paths[path.name].resolve() != path.resolve():
                raise ValueError(f"func: two files are named {path.name!r} ({paths[path.name]}, {path}); "
                                 "files in a list ship side by side, so their names must differ")
            paths[path.name] = path
        if not paths:
            raise ValueError("func is an empty list: give the app's .py files")
    if len(paths) > MAX_FILES:
        raise ValueError(f"func ships {len(paths)} .py files; at most {MAX_FILES} (is it the app's own folder?)")
    files = {name: path.read_bytes() for name, path in paths.items()}
    size = sum(len(data) for data in files.values())
    if size > MAX_BYTES:
        raise ValueError(f"func ships {size:,} bytes of .py files; at most {MAX_BYTES:,} (is it the app's own folder?)")
    for name in files:
        module_name(name)  # every file must be importable by a module name
    return files, paths


def _skipped(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in relative.parts)


def module_name(relative_path: str) -> str:
    """The module a shipped file is: ``helpers.py`` -> ``helpers``, ``pkg/__init__.py`` -> ``pkg``.

    >>> module_name("pkg/tools.py"), module_name("pkg/__init__.py")
    ('pkg.tools', 'pkg')
    """
    parts = list(PurePosixPath(relative_path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(_MODULE_PART.fullmatch(p) for p in parts):
        raise ValueError(f"func: {relative_path!r} cannot be imported (its path is not a Python module name)")
    return ".".join(parts)


def defining_file(files: Mapping[str, bytes], class_name: str, where: str) -> str:
    """The one shipped file that defines ``class ClassName`` at its top level."""
    pattern = re.compile(rf"^class\s+{re.escape(class_name)}\b", re.MULTILINE)
    found = [name for name, data in files.items() if pattern.search(data.decode("utf-8", errors="replace"))]
    if not found:
        raise ValueError(f"application_class {class_name!r} is not defined in any file of func {where}")
    if len(found) > 1:
        raise ValueError(f"application_class {class_name!r} is defined in several files of func {where}: "
                         f"{', '.join(sorted(found))}; give it as 'module:{class_name}'")
    return found[0]


def embedded_modules_prelude(files: Mapping[str, bytes], main: str) -> str:
    """Python code that makes every shipped file but ``main`` importable from inside ``main`` itself: the
    sources, base64-encoded, and a meta-path finder serving them (packages included, folders without an
    ``__init__.py`` as namespace packages)."""
    modules: dict[str, tuple[bool, str, str]] = {}  # name -> (is package, file name, base64 source)
    for name, data in files.items():
        module = module_name(name)
        is_package = PurePosixPath(name).name == "__init__.py"
        if name != main or "." in module:  # a nested main file is imported under its dotted name too
            modules[module] = (is_package, name, base64.b64encode(data).decode())
        for depth in range(1, module.count(".") + 1):  # the packages above it
            modules.setdefault(".".join(module.split(".")[:depth]), (True, "", ""))
    return _PRELUDE.format(modules=repr(dict(sorted(modules.items()))))


def insert_after_future_imports(code: str, addition: str) -> str:
    """``code`` with ``addition`` inserted after its docstring and ``from __future__`` imports, which must stay
    first in a module."""
    tree = ast.parse(code)
    line = 0
    for index, node in enumerate(tree.body):
        docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
            and isinstance(node.value.value, str)
        if docstring or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            line = node.end_lineno or node.lineno
        else:
            break
    lines = code.splitlines(keepends=True)
    head = "".join(lines[:line])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + addition + "".join(lines[line:])


_PRELUDE = '''
# --- modelmon: the app's other files, shipped inside this one (Nuclio's source-code entry is one file) ---
import base64 as _modelmon_b64, importlib.abc as _modelmon_abc, importlib.util as _modelmon_util, sys as _modelmon_sys


class _ModelmonShippedFiles(_modelmon_abc.MetaPathFinder, _modelmon_abc.Loader):
    modules = {modules}

    def find_spec(self, name, path=None, target=None):
        if name not in self.modules:
            return None
        return _modelmon_util.spec_from_loader(name, self, is_package=self.modules[name][0])

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        is_package, file_name, source = self.modules[module.__name__]
        if is_package:
            module.__path__ = []
        module.__file__ = file_name or None
        exec(compile(_modelmon_b64.b64decode(source), file_name or module.__name__, "exec"), module.__dict__)


if not any(type(f).__name__ == "_ModelmonShippedFiles" for f in _modelmon_sys.meta_path):
    _modelmon_sys.meta_path.insert(0, _ModelmonShippedFiles())
# --- end of modelmon's shipped files ---
'''
