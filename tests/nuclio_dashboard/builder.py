"""What Nuclio's builder fails on before it builds anything, for the test dashboard (a function then ends in
state ``error`` with the builder's message).

Written from reading Nuclio's source (nothing copied): ``pkg/platform/abstract/platform.go``
(``functionBuildRequired``: a function needs ``spec.build.path``, ``spec.build.functionSourceCode``,
``spec.build.image`` or ``spec.image``), ``pkg/processor/build/builder.go`` (``resolveFunctionPath``,
``writeFunctionSourceCodeToTempFile``, the code-entry types and the URL each needs) and ``pkg/common/git``
(a git clone needs a branch, tag or reference). A ``sourceCode`` function's ``/opt/nuclio`` holds only its one
file, so a ``pip install`` of that directory fails there as pip fails on a directory without a project, and
an install of any other local path fails because the build has no such path.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from collections.abc import Mapping
from typing import Any

HANDLER_DIR = "/opt/nuclio"
CODE_ENTRY_TYPES = ("sourceCode", "image", "archive", "git", "github", "s3")
NO_CODE_ENTRY = ("Failed determining whether function should build: Function must have either spec.build.path,"
                 "spec.build.functionSourceCode, spec.build.image or spec.image set in order to create")


def build_failure(config: Mapping[str, Any]) -> str | None:
    """The builder's error for ``config``, or ``None`` when the build would start."""
    spec = config.get("spec") or {}
    build = spec.get("build") or {}
    source_code = build.get("functionSourceCode") or ""
    path = build.get("path") or ""
    kind = build.get("codeEntryType") or ""
    attributes = build.get("codeEntryAttributes") or {}
    if not (source_code or path or build.get("image") or spec.get("image") or kind == "s3"):
        return NO_CODE_ENTRY
    if source_code:
        if not spec.get("runtime"):
            return "Failed to save function code to temporary file: Runtime must be explicitly defined when using " \
                   "Function Source Code"
        try:
            base64.b64decode(source_code, validate=True)
        except (binascii.Error, ValueError):
            return "Failed to save function code to temporary file: Failed to decode function source code"
    elif kind and kind not in CODE_ENTRY_TYPES:
        return f"Unsupported code entry type: {kind}"
    elif kind in ("archive", "github") and not re.match(r"^https?://[^/]", path):
        return "Must provide valid URL when code entry type is github or archive"
    elif kind == "git":
        if not re.match(r"^https?://[^/]", path):
            return "Failed to download function from the given URL: git path must be a repository URL"
        if not isinstance(attributes, Mapping) or not attributes:
            return "Git code entry attributes must exist when cloning function from git"
        if not any(isinstance(attributes.get(k), str) and attributes[k] for k in ("branch", "tag", "reference")):
            return ("Failed to resolve git reference: No git reference was specified. "
                    "(must specify branch/tag/reference)")
        if "workDir" in attributes and not isinstance(attributes["workDir"], str):
            return "Work directory is expected to be string"
    return _install_failure(build.get("commands") or [], only_source_code=bool(source_code) and not spec.get("image"))


def _install_failure(commands: list[str], *, only_source_code: bool) -> str | None:
    """A ``pip install`` of a local path the build does not have."""
    for command in commands:
        for target in _pip_targets(command):
            local = target.split("[")[0]
            if local == HANDLER_DIR or local.startswith(HANDLER_DIR + "/"):
                if only_source_code:
                    return (f"Failed to build processor image: RUN {command}: ERROR: Directory {local!r} is not "
                            "installable. Neither 'setup.py' nor 'pyproject.toml' found.")
            elif local.startswith(("/", "./", "../")) or local in (".", ".."):
                return (f"Failed to build processor image: RUN {command}: ERROR: Invalid requirement: {local!r}: "
                        f"It looks like a path. File {local!r} does not exist.")
    return None


def _pip_targets(command: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    for i, word in enumerate(words[:-1]):
        if re.fullmatch(r"(.*/)?pip3?(\.\d+)?", word) and words[i + 1] == "install":
            return [w for w in words[i + 2:] if not w.startswith("-")]
    return []
