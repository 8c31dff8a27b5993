"""Where a Nuclio dashboard's builder gets modelmon: ``--source``, ``source=`` or ``$MODELMON_SOURCE``.

A dashboard receives only each function's JSON config; nothing copies the bundle to ``/opt/nuclio`` (on the
nuctl route, ``nuctl deploy --path .`` does). So a config sent to a dashboard names its code with one of
Nuclio's code-entry types (``docs/reference/function-configuration/code-entry-types.md``, and
``pkg/processor/build/builder.go``, read, not copied):

- ``https://host/path/modelmon-bundle.tar.gz`` — code entry ``archive``: the builder downloads the archive,
  unpacks it and copies it to ``/opt/nuclio``, where the functions' ``pip install /opt/nuclio`` and their
  handlers (``apps.handler``, ``functions.stream.handler``...) find it. ``modelmon deploy --archive FILE``
  makes it (:mod:`modelmon.deploy.archive`). The URL must need no authentication.
- ``git+https://host/org/modelmon.git@REF`` — code entry ``git``: the builder clones ``REF`` (a branch name,
  ``refs/heads/<branch>`` or ``refs/tags/<tag>``; it clones at depth 1, so not a commit).
- ``image:NAME`` — ``spec.image``: an image Nuclio built from the bundle (the processor, the bundle in
  ``/opt/nuclio``, modelmon installed); nothing is built.

An app whose code travels inside its config (the ``sourceCode`` entry, :func:`~modelmon.apps.source.embed_source`)
has only that file in ``/opt/nuclio``: it installs modelmon from the same source with pip
(``modelmon @ <archive URL>`` or ``modelmon @ git+<URL>@<ref>``), or, from an image, builds on that image
(``spec.build.baseImage``) and installs nothing.

A bundle whose root holds a ``function.yaml`` cannot be a ``git`` source: Nuclio's builder merges the
``function.yaml`` at the root of downloaded code into the config it builds (maps and lists are joined),
so every function would also get the root function's triggers. The archive leaves ``function.yaml`` out.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from modelmon.core.config import ENV_SOURCE
from modelmon.deploy.schema import BUNDLE_PATH, POST_COPY, bundle_targets

#: Archive formats both Nuclio's builder (its documented list) and pip unpack.
ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar", ".zip")
#: The package name pip installs from a source given by URL (``modelmon @ URL``).
PACKAGE = "modelmon"
SourceKind = Literal["archive", "git", "image"]

FORMS = ("https://<host>/<path>/modelmon-bundle.tar.gz (an archive made with `modelmon deploy --archive FILE`)",
         "git+https://<host>/<org>/modelmon.git@<branch> (or @refs/tags/<tag>)",
         "image:<image Nuclio built from the bundle>")
MISSING = (
    "a Nuclio dashboard gets only the function configs, not the bundle: say where its builder gets modelmon "
    f"with --source (or source=, or ${ENV_SOURCE}): " + "; ".join(FORMS)
    + ". Make the archive with `modelmon deploy --archive modelmon-bundle.tar.gz` and upload it where the "
    "builder can download it"
)
_IMAGE = re.compile(r"^[a-z0-9][A-Za-z0-9._/:@-]*$")
_GIT_REF = re.compile(r"^(refs/(heads|tags)/)?[\w.][\w./-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


@dataclasses.dataclass(frozen=True)
class CodeSource:
    """One parsed source: an archive URL, a git repository and ref, or an image."""

    kind: SourceKind
    location: str  # the archive URL, the repository URL (no ``git+``, no ``@ref``) or the image name
    ref_kind: Literal["", "branch", "tag"] = ""  # git only
    ref: str = ""  # git only: the branch or tag name

    def __str__(self) -> str:
        if self.kind == "image":
            return f"image:{self.location}"
        if self.kind == "git":
            return f"git+{self.location}@{'refs/tags/' + self.ref if self.ref_kind == 'tag' else self.ref}"
        return self.location

    def pip_requirement(self, extras: str = "") -> str | None:
        """What pip installs modelmon from (``extras`` like ``"[evidently]"``); ``None`` for an image.

        >>> parse_source("git+https://h/o/modelmon.git@refs/tags/v1").pip_requirement("[evidently]")
        'modelmon[evidently] @ git+https://h/o/modelmon.git@v1'
        """
        if self.kind == "image":
            return None
        url = f"git+{self.location}@{self.ref}" if self.kind == "git" else self.location
        return f"{PACKAGE}{extras} @ {url}"


def parse_source(text: str | CodeSource) -> CodeSource:
    """``text`` as a :class:`CodeSource`; ``ValueError`` saying what is wrong and which forms are accepted.

    >>> parse_source("https://files.example/m/modelmon-bundle.tar.gz").kind
    'archive'
    >>> parse_source("git+https://git.example/org/modelmon.git@main")
    CodeSource(kind='git', location='https://git.example/org/modelmon.git', ref_kind='branch', ref='main')
    >>> str(parse_source("image:registry.example/modelmon-functions:1.2"))
    'image:registry.example/modelmon-functions:1.2'
    """
    if isinstance(text, CodeSource):
        return text
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"source {text!r}: expected one of: " + "; ".join(FORMS))
    text = text.strip()
    if text.startswith("image:"):
        return _image(text)
    if text.startswith("git+"):
        return _git(text)
    if text.startswith(("http://", "https://")):
        return _archive(text)
    if text.startswith(("git@", "ssh://", "git://")) or text.endswith(".git"):
        raise ValueError(f"source {text!r}: a git repository is written git+https://<host>/<repo>.git@<branch> "
                         "(the builder clones over http(s))")
    raise ValueError(f"source {text!r}: a dashboard's builder cannot read a local path; expected one of: "
                     + "; ".join(FORMS))


def source_from(value: str | CodeSource | None, environ: Mapping[str, str] | None = None) -> CodeSource | None:
    """``value`` parsed, or ``$MODELMON_SOURCE`` when ``value`` is ``None`` (``None`` when neither is set)."""
    if value is None:
        value = (os.environ if environ is None else environ).get(ENV_SOURCE, "").strip() or None
        if value is None:
            return None
        try:
            return parse_source(value)
        except ValueError as exc:
            raise ValueError(f"${ENV_SOURCE}: {exc}") from None
    return parse_source(value)


def require_source(source: CodeSource | None) -> CodeSource:
    """``source``, or ``ValueError`` saying what to pass (a dashboard deploy needs one)."""
    if source is None:
        raise ValueError(MISSING)
    return source


def check_bundle_source(source: CodeSource, bundle_dir: Path | str) -> None:
    """``ValueError`` for a git source of a bundle whose root ``function.yaml`` the builder would merge into
    every function (see the module docstring)."""
    root_config = Path(bundle_dir) / "function.yaml"
    if source.kind == "git" and root_config.is_file():
        raise ValueError(
            f"source {source}: the repository's root function.yaml ({root_config}) would be merged by Nuclio's "
            "builder into every function cloned from it (each would get that function's triggers too); deploy "
            "from an archive, which leaves function.yaml out: `modelmon deploy --archive modelmon-bundle.tar.gz`, "
            "upload it, then --source https://<host>/<path>/modelmon-bundle.tar.gz")


def has_code_entry(config: Mapping[str, Any]) -> bool:
    """Whether ``config`` names code a dashboard's builder can get: embedded code, a path or URL, or an image
    (Nuclio refuses a function with none of ``spec.build.path``, ``functionSourceCode``, ``image``, ``spec.image``).
    """
    spec = config.get("spec") or {}
    build = spec.get("build") or {}
    return bool(spec.get("image") or build.get("functionSourceCode") or build.get("path") or build.get("image")
                or build.get("codeEntryType") == "s3")


def apply_source(config: dict[str, Any], source: CodeSource) -> None:
    """Point ``config`` (in place) at its code: the bundle from ``source``, or, for a config that carries its
    own code (``build.functionSourceCode``), modelmon installed from ``source``."""
    spec = config.setdefault("spec", {})
    build = spec.setdefault("build", {})
    if build.get("functionSourceCode"):
        _install_from(spec, build, source)
        return
    for field in ("codeEntryType", "codeEntryAttributes", "path"):
        build.pop(field, None)
    spec.pop("image", None)
    if source.kind == "image":
        # Nuclio builds nothing (no path, no embedded code): the image holds the bundle and the processor, and
        # the build commands are ignored (kept, so that another source can be applied to this config again)
        spec["image"] = source.location
        if not build:
            del spec["build"]
        return
    build["codeEntryType"] = source.kind
    build["path"] = source.location
    if source.kind == "git":
        build["codeEntryAttributes"] = {source.ref_kind: source.ref}


def with_source(config: Mapping[str, Any], source: CodeSource) -> dict[str, Any]:
    """A copy of ``config`` with :func:`apply_source` applied."""
    copied = copy.deepcopy(dict(config))
    apply_source(copied, source)
    return copied


def _install_from(spec: dict[str, Any], build: dict[str, Any], source: CodeSource) -> None:
    """The build of a config carrying its own code: ``/opt/nuclio`` holds only that file, so every install of
    the bundle becomes an install of modelmon from ``source`` (one is added if the build had none)."""
    spec.pop("image", None)  # an image would make Nuclio ignore the code
    build["codeEntryType"] = "sourceCode"
    commands: list[str] = list(build.get("commands") or [])
    rewritten: list[str] = []
    installed = False
    for command in commands:
        targets = bundle_targets(command)
        if not targets:
            rewritten.append(command)
            continue
        installed = True
        words = [w for w in shlex.split(command) if w not in targets]
        if source.kind != "image":
            extras = targets[0][len(BUNDLE_PATH):] if targets[0].startswith(BUNDLE_PATH) else ""
            words.append(str(source.pip_requirement(extras)))
        if _installs_something(words):
            rewritten.append(shlex.join(words))
    if not installed and source.kind != "image":
        rewritten.insert(0, shlex.join(["pip", "install", "--no-cache-dir", str(source.pip_requirement())]))
    if rewritten == [POST_COPY] or not rewritten:
        build.pop("commands", None)
    else:
        build["commands"] = rewritten
    if source.kind == "image":
        build["baseImage"] = source.location  # modelmon is installed in it


def _installs_something(words: list[str]) -> bool:
    """Whether a ``pip install`` command still names a package once the bundle's paths are taken out."""
    for i, word in enumerate(words[:-1]):
        if word == "install":
            return any(not w.startswith("-") for w in words[i + 1:])
    return True


def _image(text: str) -> CodeSource:
    name = text.removeprefix("image:").strip()
    if not name or not _IMAGE.fullmatch(name):
        raise ValueError(f"source {text!r}: expected image:<name>[:<tag>] (a registry name starts lowercase)")
    return CodeSource("image", name)


def _git(text: str) -> CodeSource:
    rest = text.removeprefix("git+")
    url, at, ref = rest.rpartition("@")
    if not at or "/" not in url or ref.count("://"):
        raise ValueError(f"source {text!r}: a git source needs a ref: git+https://<host>/<repo>.git@<branch> "
                         "(or @refs/tags/<tag>)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.path.strip("/"):
        raise ValueError(f"source {text!r}: the repository must be an http(s) URL (git+https://...), which the "
                         "builder clones")
    if parts.username or parts.password:
        raise ValueError(f"source {text!r}: credentials in the URL would be stored in every function's config; "
                         "use a repository the builder can clone without them, or an archive")
    if "#" in ref or "#" in url:
        raise ValueError(f"source {text!r}: #fragments (subdirectory, egg) are not supported: the bundle is the "
                         "repository's root")
    if _COMMIT.fullmatch(ref):
        raise ValueError(f"source {text!r}: Nuclio's builder clones a branch or tag at depth 1, not a commit; tag "
                         "the commit and pass @refs/tags/<tag>, or deploy an archive of it")
    if not _GIT_REF.fullmatch(ref) or ".." in ref:
        raise ValueError(f"source {text!r}: {ref!r} is not a branch name, refs/heads/<branch> or refs/tags/<tag>")
    if ref.startswith("refs/tags/"):
        return CodeSource("git", url, "tag", ref.removeprefix("refs/tags/"))
    return CodeSource("git", url, "branch", ref.removeprefix("refs/heads/"))


def _archive(text: str) -> CodeSource:
    parts = urlsplit(text)
    if not parts.netloc:
        raise ValueError(f"source {text!r}: the archive URL has no host")
    if not parts.path.lower().endswith(ARCHIVE_SUFFIXES):
        raise ValueError(f"source {text!r}: an archive URL must end in one of {', '.join(ARCHIVE_SUFFIXES)} "
                         "(the formats Nuclio's builder and pip both unpack); for a git repository write "
                         "git+https://...@<branch>")
    return CodeSource("archive", text)
