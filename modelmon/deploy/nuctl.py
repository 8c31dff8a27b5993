"""The ``nuctl`` commands that deploy configs written by ``modelmon deploy --output``.

nuctl loads ``--file``, then takes the function's name from its argument, the project from
``--project-name`` and appends each ``--env NAME=VALUE`` to ``spec.env`` (``pkg/nuctl/command/deploy.go``).
The access key is never in the command: with :meth:`AccessKey.nuctl_env` it is ``"$V3IO_ACCESS_KEY"``,
which the user's shell expands. The registry comes from nuctl's own ``$NUCTL_REGISTRY``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

from modelmon.core.config import ENV_V3IO_ACCESS_KEY
from modelmon.deploy.access_key import AccessKey
from modelmon.deploy.render import RenderedFunction

#: Nuclio's platforms: ``kube`` (Kubernetes; a dashboard on a cluster) and ``local`` (Docker).
PLATFORMS = ("kube", "local")


def check_platform(platform: str, access_key: AccessKey | None) -> None:
    """``ValueError`` for a platform Nuclio does not have, or a secret reference on ``local``, which
    keeps only plain env values (``pkg/platform/local/platform.go``): the key would be empty."""
    if platform not in PLATFORMS:
        raise ValueError(f"platform {platform!r}: Nuclio's platforms are {', '.join(PLATFORMS)}")
    if platform == "local" and (access_key is None or access_key.source == "secret"):
        raise ValueError(f"platform local: Nuclio's Docker platform ignores secret references, so "
                         f"{ENV_V3IO_ACCESS_KEY} would be empty; use --access-key env")


def nuctl_commands(
    rendered: Sequence[RenderedFunction],
    files: Sequence[Path],
    bundle_dir: Path,
    *,
    platform: str = "kube",
    access_key: AccessKey | None = None,
) -> list[str]:
    """Shell lines: create the project, then ``nuctl deploy`` each written file with the bundle as its path.

    >>> from modelmon.deploy.render import RenderedFunction
    >>> f = RenderedFunction("writer", "p-w", "p", {})
    >>> key = AccessKey.nuctl_env()
    >>> for line in nuctl_commands([f], [Path("w.yaml")], Path("."), platform="local", access_key=key):
    ...     print(line)
    nuctl create project p --platform local
    nuctl deploy p-w --path . --file w.yaml --project-name p --platform local --env "V3IO_ACCESS_KEY=$V3IO_ACCESS_KEY"
    """
    check_platform(platform, access_key)
    if not rendered:
        return []
    projects = {f.project for f in rendered}
    lines = [shlex.join(["nuctl", "create", "project", p, "--platform", platform]) for p in sorted(projects)]
    for function, file in zip(rendered, files, strict=True):
        line = shlex.join(["nuctl", "deploy", function.name, "--path", str(bundle_dir), "--file", str(file),
                           "--project-name", function.project, "--platform", platform])
        if access_key is not None and access_key.source == "nuctl-env":
            line += f' --env "{ENV_V3IO_ACCESS_KEY}=${ENV_V3IO_ACCESS_KEY}"'
        lines.append(line)
    return lines
