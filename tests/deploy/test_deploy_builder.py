"""What a real Nuclio builder does with the configs a dashboard deploy sends, from the archive source.

The archive is made by ``modelmon deploy --archive`` and unpacked where the builder puts the downloaded code
(``/opt/nuclio``, here a temp folder). Then each config's build step runs as the image's ``RUN`` would:
``pip install /opt/nuclio`` for the bundle's functions, ``pip install 'modelmon @ <archive URL>'`` for an
app whose code is embedded (the URL pointing at the same file). pip runs ``--no-deps --target`` (modelmon's
dependencies come from this venv: a fresh venv would download them from an index, which takes minutes), and
the handlers are imported by a ``python -S`` whose path holds only the unpacked bundle, or only the embedded
file, plus the installed modelmon and this venv's site-packages read without its ``.pth`` files — so neither
the checkout nor its editable install of modelmon is importable there.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest
import sdk_app
from deploy_paths import REPO, SOURCE

import modelmon
from modelmon.cli import main
from modelmon.core.config import Settings
from modelmon.deploy import render_bundle
from modelmon.deploy.schema import POST_COPY, bundle_targets

pytestmark = pytest.mark.slow  # builds modelmon's wheel twice (a few seconds each)

SITE_PACKAGES = sysconfig.get_paths()["purelib"]


def test_the_archive_source_builds_every_function_and_an_embedded_app(tmp_path, capsys, dashboard):
    archive = tmp_path / "modelmon-bundle.tar.gz"
    assert main(["deploy", "--archive", str(archive), "--bundle", str(REPO)]) == 0
    assert f"wrote {archive}" in capsys.readouterr().out

    # the builder downloads the archive and unpacks it into /opt/nuclio
    opt_nuclio = tmp_path / "opt" / "nuclio"
    with tarfile.open(archive) as tar:
        tar.extractall(opt_nuclio, filter="data")
    unpacked = sorted(p.relative_to(opt_nuclio).as_posix() for p in opt_nuclio.rglob("*") if p.is_file())
    assert "pyproject.toml" in unpacked and "README.md" in unpacked and "modelmon/__init__.py" in unpacked
    assert not [f for f in unpacked if f.endswith("function.yaml")]  # the builder would merge a root one

    functions = render_bundle(REPO, Settings(project="fraud", backend="v3io"), source=SOURCE)
    handlers = {}
    installs = set()
    for function in functions:
        build = function.config["spec"]["build"]
        assert (build["codeEntryType"], build["path"]) == ("archive", SOURCE), function.function
        module, _, entry = function.config["spec"]["handler"].partition(":")
        handlers[module] = entry
        commands = build["commands"]
        installs.update(t.split("[")[0] for c in commands[commands.index(POST_COPY) + 1:] for t in bundle_targets(c))
    assert installs == {"/opt/nuclio"}  # every function installs the unpacked bundle (some with extras)

    site = tmp_path / "site"
    pip_install(f"pip install --no-cache-dir {opt_nuclio}", site)
    probe = ("import importlib, json, modelmon\n"
             f"handlers = {handlers!r}\n"
             "found = {m: callable(getattr(importlib.import_module(m), e, None)) for m, e in handlers.items()}\n"
             "print(json.dumps({'found': found, 'modelmon': modelmon.__file__}))\n")
    out = isolated_python(probe, [opt_nuclio, site], cwd=tmp_path)
    assert out["found"] == dict.fromkeys(handlers, True) and len(handlers) >= 8
    # /opt/nuclio comes first on the processor's path, as here: its modelmon/ is the code pip installed
    assert out["modelmon"] == str(opt_nuclio / "modelmon" / "__init__.py")
    assert (site / "modelmon" / "__init__.py").read_bytes() == (opt_nuclio / "modelmon" / "__init__.py").read_bytes()

    # an app whose code is embedded: only its file is in /opt/nuclio; the glue travels inside it
    with modelmon.get_or_create_project("fraud", home=tmp_path / "home", backend="local", target="nuclio",
                                        dashboard_url=dashboard.url, bundle_dir=REPO) as project:
        project.set_model_monitoring_function(func=sdk_app.__file__, application_class="RowCountApp",
                                              name="row-count", minimum=3)
    spec = dashboard.config("fraud-row-count")["spec"]
    module, _, entry = spec["handler"].partition(":")
    function_dir = tmp_path / "row-count" / "opt" / "nuclio"
    function_dir.mkdir(parents=True)
    (function_dir / f"{module}.py").write_bytes(base64.b64decode(spec["build"]["functionSourceCode"]))
    (install,) = [c for c in spec["build"]["commands"] if "modelmon @" in c]
    app_site = tmp_path / "app-site"
    pip_install(install.replace(SOURCE, archive.as_uri()), app_site)  # the same archive, by URL
    env = {e["name"]: e["value"] for e in spec["env"] if "value" in e}
    env.update(MODELMON_BACKEND="local", MODELMON_HOME=str(tmp_path / "function-home"))
    probe = ("import importlib, json, logging, types\n"
             f"handler_module = importlib.import_module({module!r})\n"
             "context = types.SimpleNamespace(user_data=types.SimpleNamespace(), platform=None,\n"
             "                                logger=logging.getLogger('row-count'))\n"
             "handler_module.init_context(context)\n"
             "runner = context.user_data.runner\n"
             f"print(json.dumps({{'glue': handler_module.{entry}.__module__,\n"
             "                   'app': type(runner.app).__name__, 'minimum': runner.app.minimum,\n"
             "                   'app_name': runner.app_name}))\n")
    out = isolated_python(probe, [function_dir, app_site], cwd=function_dir, env=env)
    assert out == {"glue": "apps.handler", "app": "RowCountApp", "minimum": 3, "app_name": "row-count"}


def pip_install(command: str, target: Path) -> None:
    """Run a config's ``pip install`` into ``target``, without dependencies (see the module docstring)."""
    words = shlex.split(command)
    assert words[:2] == ["pip", "install"], command
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--disable-pip-version-check", "--target", str(target), *words[2:]],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr


def isolated_python(code: str, path: list[Path], *, cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` with ``path`` then this venv's site-packages (no ``.pth``: no editable modelmon) as sys.path."""
    setup = f"import sys; sys.path[:0] = {[str(p) for p in path]!r}; sys.path.append({SITE_PACKAGES!r})\n"
    done = subprocess.run([sys.executable, "-S", "-c", setup + code], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
