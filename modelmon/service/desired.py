"""The desired state: which functions a project wants running, as directories the SDK writes and the service reads.

Each function is ``<home>/projects/<project>/functions/<function>/`` holding its rendered ``function.yaml``,
the app's own files next to it (a folder's files in their layout), and ``service.json`` (``python_paths``:
directories its process needs on ``PYTHONPATH``, such as the bundle checkout). The entry is a symlink to an
immutable version directory ``functions/.versions/<function>-<random>/``: writing a new version fills a fresh
directory, then swaps the link with one ``rename``, so the service polling every second never sees a
half-written function, and a function being rewritten never looks removed.

A function's *version* is the hash of its directory's content (:func:`content_hash`): rewriting the same
content changes nothing that runs, a changed config or app file restarts that function only. The
service deletes version directories no link names once no process runs from them (:func:`unused_versions`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from modelmon.core.paths import check_name
from modelmon.service.layout import HomeLayout

CONFIG = "function.yaml"
SIDECAR = "service.json"
VERSIONS = ".versions"
_GC_AGE_S = 60.0  # an unlinked version younger than this may be one the SDK is about to link


@dataclasses.dataclass(frozen=True)
class DesiredFunction:
    """One function directory as the service reads it."""

    name: str  # the bundle's function name (the directory name)
    directory: Path  # the version directory the link points to
    version: str  # content hash
    python_paths: tuple[str, ...] = ()
    error: str | None = None  # why the directory cannot be run (unreadable service.json)


def content_hash(directory: Path) -> str:
    """A short hash of every file under ``directory`` (names and bytes; ``__pycache__`` left out)."""
    digest = hashlib.sha256()
    root = Path(directory)
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.relative_to(root).parts)
    for path in files:
        data = path.read_bytes()
        digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def write_function(home: str | os.PathLike[str], project: str, name: str, config_yaml: str, *,
                   files: Mapping[str, bytes] | None = None, python_paths: Sequence[str] = ()) -> str:
    """Make ``name`` a desired function of ``project`` (replacing its previous version); returns its version."""
    check_name(project, "project")
    check_name(name, "function")
    for file_name in files or {}:
        _check_file_name(file_name)
    functions = HomeLayout(home).functions_dir(project)
    versions = functions / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=versions))
    (directory / CONFIG).write_text(config_yaml, encoding="utf-8")
    for file_name, data in (files or {}).items():
        (directory / file_name).parent.mkdir(parents=True, exist_ok=True)
        (directory / file_name).write_bytes(data)
    sidecar = {"python_paths": [os.path.abspath(p) for p in python_paths]}
    (directory / SIDECAR).write_text(json.dumps(sidecar, indent=1, sort_keys=True), encoding="utf-8")
    version = content_hash(directory)
    link = functions / name
    staged = functions / f".link-{name}-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(directory, functions), staged)
    if link.is_dir() and not link.is_symlink():  # a plain directory (written by hand): make way for the link
        shutil.rmtree(link)
    os.replace(staged, link)
    return version


def _check_file_name(file_name: str) -> None:
    """An app's file goes inside the function's directory: a relative POSIX path (a folder's layout kept),
    no part hidden or ``..``, and not the config or the sidecar."""
    parts = PurePosixPath(file_name).parts
    if (not parts or PurePosixPath(file_name).is_absolute() or "\\" in file_name
            or any(p.startswith(".") for p in parts) or file_name in (CONFIG, SIDECAR)):
        raise ValueError(f"files: {file_name!r} must be a relative path inside the function's directory, "
                         f"no part hidden or '..', other than {CONFIG} and {SIDECAR}")


def function_files(home: str | os.PathLike[str], project: str, name: str) -> dict[str, bytes] | None:
    """Every file of ``name``'s current version (relative POSIX path -> bytes), or ``None`` if it is not
    desired: what :func:`restore_function` needs to bring this version back."""
    directory = HomeLayout(home).functions_dir(project) / name
    if not (directory / CONFIG).is_file():
        return None
    root = directory.resolve()
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.relative_to(root).parts}


def restore_function(home: str | os.PathLike[str], project: str, name: str, files: Mapping[str, bytes]) -> str:
    """Make ``files`` (from :func:`function_files`) ``name``'s version again; returns the version, the one it
    had (the same content hashes the same)."""
    rest = dict(files)
    config = rest.pop(CONFIG).decode("utf-8")
    sidecar = json.loads(rest.pop(SIDECAR, b"{}") or b"{}")
    return write_function(home, project, name, config, files=rest, python_paths=sidecar.get("python_paths", []))


def remove_function(home: str | os.PathLike[str], project: str, name: str) -> bool:
    """Take ``name`` out of ``project``'s desired functions; returns whether it was there."""
    link = HomeLayout(home).functions_dir(project) / name
    if link.is_symlink():
        link.unlink()
        return True
    if link.is_dir():
        shutil.rmtree(link)
        return True
    return False


def desired_names(home: str | os.PathLike[str], project: str) -> list[str]:
    """The function names ``project`` wants running, sorted."""
    functions = HomeLayout(home).functions_dir(project)
    if not functions.is_dir():
        return []
    return sorted(p.name for p in functions.iterdir() if not p.name.startswith(".") and (p / CONFIG).is_file())


def desired_projects(home: str | os.PathLike[str]) -> list[str]:
    """The projects of ``home`` that have a functions directory."""
    projects = HomeLayout(home).projects_dir
    if not projects.is_dir():
        return []
    return sorted(p.name for p in projects.iterdir() if (p / "functions").is_dir())


def read_desired(home: str | os.PathLike[str], project: str, hashes: dict[Path, str] | None = None
                 ) -> dict[str, DesiredFunction]:
    """``project``'s desired functions by name. ``hashes`` caches versions by directory between calls
    (a version directory never changes once linked; a plain directory is hashed each time)."""
    functions = HomeLayout(home).functions_dir(project)
    out = {}
    for name in desired_names(home, project):
        entry = functions / name
        directory = entry.resolve()
        cached = hashes.get(directory) if hashes is not None and entry.is_symlink() else None
        try:
            version = cached or content_hash(directory)
        except OSError:  # removed while being read: it is not desired any more
            continue
        if hashes is not None and entry.is_symlink():
            hashes[directory] = version
        out[name] = _with_sidecar(DesiredFunction(name, directory, version))
    return out


def unused_versions(home: str | os.PathLike[str], project: str, in_use: Iterable[Path]) -> list[Path]:
    """Version directories no link names, no process runs from, and not just written: safe to delete."""
    functions = HomeLayout(home).functions_dir(project)
    versions = functions / VERSIONS
    if not versions.is_dir():
        return []
    keep = {p.resolve() for p in in_use}
    keep |= {(functions / name).resolve() for name in os.listdir(functions) if (functions / name).is_symlink()}
    cutoff = time.time() - _GC_AGE_S
    return sorted(p for p in versions.iterdir() if p.resolve() not in keep and p.stat().st_mtime < cutoff)


def _with_sidecar(function: DesiredFunction) -> DesiredFunction:
    path = function.directory / SIDECAR
    if not path.is_file():
        return function
    try:
        paths = json.loads(path.read_text(encoding="utf-8")).get("python_paths", [])
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("python_paths must be a list of directories")
    except (OSError, ValueError, AttributeError) as exc:
        return dataclasses.replace(function, error=f"{path}: {exc}")
    return dataclasses.replace(function, python_paths=tuple(paths))
