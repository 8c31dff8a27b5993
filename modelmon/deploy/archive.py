"""The bundle as an archive a Nuclio dashboard's builder unpacks to ``/opt/nuclio`` (``modelmon deploy --archive``).

It holds what the functions' build and handlers need, at its root (Nuclio's ``archive`` code entry copies the
unpacked root to ``/opt/nuclio``; pip installs the same archive from its URL): ``pyproject.toml`` and the files
it names (``README.md``), the ``modelmon`` package, and the top-level folder of every function's handler
(``apps/``, ``controller/``, ``functions/``, ``writer/``). It holds no ``function.yaml``: the builder would merge
one found at the root into every function's config (:mod:`modelmon.deploy.code_source`), and the configs come
from the deploy request anyway. Entries are sorted and carry no owner or time, so the same bundle gives the
same archive.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import tarfile
import tomllib
from collections.abc import Iterable
from pathlib import Path

from modelmon.core.errors import ConfigError
from modelmon.deploy.render import load_templates

PACKAGE_DIR = "modelmon"
PROJECT_FILE = "pyproject.toml"
SKIPPED_NAMES = {"function.yaml", "__pycache__"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


@dataclasses.dataclass(frozen=True)
class BundleArchive:
    """What :func:`write_archive` wrote."""

    path: Path
    files: tuple[str, ...]  # archive member names, sorted
    handlers: tuple[str, ...]  # the handler modules of the bundle's functions, each inside the archive


def bundle_files(bundle_dir: Path | str) -> tuple[list[str], list[str]]:
    """The bundle's relative POSIX paths the archive holds, and its functions' handler modules.

    ``ConfigError`` when the bundle cannot be installed or a handler's module is not in it.
    """
    root = Path(bundle_dir).resolve()
    project = root / PROJECT_FILE
    if not project.is_file():
        raise ConfigError(f"{root}: no {PROJECT_FILE}; the archive is the bundle that `pip install /opt/nuclio` "
                          "builds, so pass the bundle directory (the modelmon checkout) with --bundle")
    by_handler: dict[str, str] = {}  # handler module -> a function whose handler it is
    for template in load_templates(root):
        module = str(template.config.get("spec", {}).get("handler", "")).partition(":")[0]
        by_handler.setdefault(module, template.name)
    files = {PROJECT_FILE, *_project_files(project)}
    if not (root / PACKAGE_DIR).is_dir():
        raise ConfigError(f"{root}: no {PACKAGE_DIR}/ package")
    files.update(_walk(root, root / PACKAGE_DIR))
    for handler, function in sorted(by_handler.items()):
        folder = root / handler.split(".")[0]
        if not folder.is_dir():
            raise ConfigError(f"{root}: no folder {folder.name}/, where the handler {handler!r} of function "
                              f"{function!r} lives")
        files.update(_walk(root, folder))
        module = handler.replace(".", "/")
        if f"{module}.py" not in files and f"{module}/__init__.py" not in files:
            raise ConfigError(f"{root}: no {module}.py, the handler module of function {function!r}")
    return sorted(files), sorted(by_handler)


def write_archive(bundle_dir: Path | str, output: Path | str) -> BundleArchive:
    """Write the bundle's archive (``.tar.gz``) to ``output``; see the module docstring for what it holds."""
    target = Path(output)
    if not target.name.endswith(".tar.gz"):
        raise ValueError(f"--archive {str(output)!r}: the file must end in .tar.gz")
    root = Path(bundle_dir).resolve()
    files, handlers = bundle_files(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:  # no time in the gzip header
        for name in files:
            data = (root / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    partial.replace(target)
    return BundleArchive(target, tuple(files), tuple(handlers))


def _project_files(project: Path) -> Iterable[str]:
    """Files ``pyproject.toml`` names that the build reads (its readme, a license file)."""
    try:
        table = tomllib.loads(project.read_text(encoding="utf-8")).get("project", {})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{project}: {exc}") from None
    named = []
    readme = table.get("readme")
    named.append(readme if isinstance(readme, str) else (readme or {}).get("file"))
    license_ = table.get("license")
    named.append(license_.get("file") if isinstance(license_, dict) else None)
    for pattern in table.get("license-files") or []:  # globs
        yield from sorted(p.relative_to(project.parent).as_posix() for p in project.parent.glob(pattern)
                          if p.is_file())
    for name in named:
        if isinstance(name, str) and name:
            if not (project.parent / name).is_file():
                raise ConfigError(f"{project}: it names {name}, which is missing")
            yield name


def _walk(root: Path, folder: Path) -> Iterable[str]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(p.startswith(".") or p in SKIPPED_NAMES for p in relative.parts):
            continue
        if path.name.endswith(SKIPPED_SUFFIXES) or path.name.endswith(".egg-info"):
            continue
        yield relative.as_posix()
