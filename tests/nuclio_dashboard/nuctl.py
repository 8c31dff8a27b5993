"""A stand-in ``nuctl`` for tests: records each call, and builds the config ``nuctl deploy`` would deploy.

:func:`install` puts an executable ``nuctl`` on a directory that appends its arguments (as the shell
passed them, variables expanded) to a JSON-lines log. :func:`deployed_config` applies what Nuclio's
``pkg/nuctl/command/deploy.go`` does with those arguments (read, not copied): load ``--file``, take the
name from the argument and the project from ``--project-name`` (a label), then append each
``--env NAME=VALUE`` to ``spec.env`` as a plain value.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

PROJECT_LABEL = "nuclio.io/project-name"
_SCRIPT = """#!{python}
import json, sys
with open({log!r}, "a", encoding="utf-8") as out:
    out.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def install(bin_dir: Path, log: Path) -> Path:
    """Write the stand-in ``bin_dir/nuctl``; each call appends its argv to ``log``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "nuctl"
    script.write_text(_SCRIPT.format(python=sys.executable, log=str(log)), encoding="utf-8")
    script.chmod(0o755)
    return script


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []


def deployed_config(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """``(platform, config)`` of one ``nuctl deploy NAME --file F [--env K=V]... --platform P`` call."""
    if argv[:1] != ["deploy"] or len(argv) < 2:
        raise ValueError(f"not a nuctl deploy call: {argv}")
    name, options = argv[1], _options(argv[2:])
    config: dict[str, Any] = yaml.safe_load(Path(options["--file"][-1]).read_text(encoding="utf-8"))
    metadata = config.setdefault("metadata", {})
    metadata["name"] = name
    if "--project-name" in options:
        metadata.setdefault("labels", {})[PROJECT_LABEL] = options["--project-name"][-1]
    env = config.setdefault("spec", {}).setdefault("env", [])
    for pair in options.get("--env", []):
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"Environment variable must be in the form of name=value: {pair}")
        env.append({"name": key, "value": value})
    return options.get("--platform", ["auto"])[-1], config


def _options(words: list[str]) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for flag, value in zip(words[::2], words[1::2], strict=True):
        if not flag.startswith("--"):
            raise ValueError(f"unexpected argument {flag!r}")
        options.setdefault(flag, []).append(value)
    return options
