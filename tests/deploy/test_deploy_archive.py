"""``modelmon deploy --archive``: the bundle archive a dashboard's builder unpacks to /opt/nuclio."""

from __future__ import annotations

import re
import shutil
import tarfile

import pytest
from deploy_paths import REPO

from modelmon.core.errors import ConfigError
from modelmon.deploy.archive import write_archive


def test_the_archive_holds_the_installable_bundle_and_is_the_same_each_time(tmp_path):
    first = write_archive(REPO, tmp_path / "a" / "modelmon-bundle.tar.gz")
    second = write_archive(REPO, tmp_path / "b" / "modelmon-bundle.tar.gz")
    assert first.path.read_bytes() == second.path.read_bytes()  # no times, owners or order of the disk
    with tarfile.open(first.path) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names) == list(first.files)
    assert {"pyproject.toml", "README.md", "modelmon/__init__.py", "apps/handler.py", "controller/handler.py",
            "writer/handler.py", "functions/stream/handler.py"} <= set(names)
    assert not [n for n in names if n.endswith("function.yaml") or "__pycache__" in n or n.startswith((".", "/"))]
    assert {(m.mtime, m.uid, m.gid, m.mode) for m in members} == {(0, 0, 0, 0o644)}
    assert "apps.handler" in first.handlers and "functions.stream.handler" in first.handlers


def test_a_bundle_the_archive_cannot_hold_is_refused_naming_what_is_missing(tmp_path, bundle):
    with pytest.raises(ConfigError, match=re.escape("no pyproject.toml; the archive is the bundle that `pip install")):
        write_archive(bundle, tmp_path / "x.tar.gz")
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    (copy / "pyproject.toml").write_text('[project]\nname = "modelmon"\nreadme = "README.md"\n')
    with pytest.raises(ConfigError, match=re.escape("it names README.md, which is missing")):
        write_archive(copy, tmp_path / "x.tar.gz")
    (copy / "README.md").write_text("modelmon\n")
    (copy / "modelmon").mkdir()
    missing_module = "no controller/handler.py, the handler module of function 'controller'"
    with pytest.raises(ConfigError, match=re.escape(missing_module)):
        write_archive(copy, tmp_path / "x.tar.gz")
    (copy / "controller" / "handler.py").write_text("def handler(context, event):\n    return None\n")
    missing_folder = "no folder functions/, where the handler 'functions.stream.handler' of function 'stream' lives"
    with pytest.raises(ConfigError, match=re.escape(missing_folder)):
        write_archive(copy, tmp_path / "x.tar.gz")
    with pytest.raises(ValueError, match=re.escape("the file must end in .tar.gz")):
        write_archive(REPO, tmp_path / "x.zip")
    assert not list(tmp_path.glob("*.tar.gz*"))  # nothing half-written
