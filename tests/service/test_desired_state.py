"""The desired-state directories the SDK writes and the service reads (no processes)."""

from __future__ import annotations

import json
import os
import time

import pytest

from modelmon.service import HomeLayout, remove_function, write_function
from modelmon.service.desired import content_hash, desired_names, desired_projects, read_desired, unused_versions

CONFIG = "metadata: {name: p-f}\nspec: {handler: 'app:handler'}\n"


def test_a_function_is_a_link_to_an_immutable_version_directory(tmp_path):
    home = tmp_path / "home"
    version = write_function(home, "p", "f", CONFIG, files={"app.py": b"X = 1\n"}, python_paths=["rel/dir"])
    link = HomeLayout(home).functions_dir("p") / "f"
    assert link.is_symlink() and os.readlink(link).startswith(".versions/f-")
    assert sorted(p.name for p in link.iterdir()) == ["app.py", "function.yaml", "service.json"]
    assert (link / "function.yaml").read_text() == CONFIG and (link / "app.py").read_bytes() == b"X = 1\n"
    assert json.loads((link / "service.json").read_text()) == {"python_paths": [os.path.abspath("rel/dir")]}
    assert version == content_hash(link.resolve()) and len(version) == 16
    (desired,) = read_desired(home, "p").values()
    assert (desired.name, desired.directory, desired.version, desired.error) == ("f", link.resolve(), version, None)
    assert desired.python_paths == (os.path.abspath("rel/dir"),)
    assert desired_names(home, "p") == ["f"] and desired_projects(home) == ["p"]


def test_the_version_is_the_content_whatever_directory_holds_it(tmp_path):
    home = tmp_path / "home"
    first = write_function(home, "p", "f", CONFIG, files={"app.py": b"X = 1\n"})
    old_dir = (HomeLayout(home).functions_dir("p") / "f").resolve()
    assert write_function(home, "p", "f", CONFIG, files={"app.py": b"X = 1\n"}) == first  # same content
    assert (HomeLayout(home).functions_dir("p") / "f").resolve() != old_dir  # in a fresh directory
    (old_dir / "__pycache__").mkdir()
    (old_dir / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"compiled")
    assert content_hash(old_dir) == first  # Python's caches are not content
    assert write_function(home, "p", "f", CONFIG, files={"app.py": b"X = 2\n"}) != first
    assert write_function(home, "p", "f", CONFIG + "# changed\n", files={"app.py": b"X = 1\n"}) != first


def test_removing_and_bad_input(tmp_path):
    home = tmp_path / "home"
    write_function(home, "p", "f", CONFIG)
    assert remove_function(home, "p", "f") and not remove_function(home, "p", "f")
    assert desired_names(home, "p") == [] and read_desired(home, "p") == {}
    for bad in ("../x.py", "function.yaml", "service.json", ".hidden"):
        with pytest.raises(ValueError, match=r"must be a relative path inside the function.s directory"):
            write_function(home, "p", "g", CONFIG, files={bad: b""})
    with pytest.raises(ValueError, match="function 'a/b' is not a valid name"):
        write_function(home, "p", "a/b", CONFIG)
    assert desired_names(home, "p") == []


def test_an_unreadable_sidecar_is_an_error_of_that_function(tmp_path):
    home = tmp_path / "home"
    write_function(home, "p", "f", CONFIG)
    link = HomeLayout(home).functions_dir("p") / "f"
    (link / "service.json").write_text('{"python_paths": "not-a-list"}')
    assert "python_paths must be a list of directories" in read_desired(home, "p")["f"].error


def test_only_old_unlinked_unused_versions_are_garbage(tmp_path):
    home = tmp_path / "home"
    write_function(home, "p", "f", CONFIG)
    running = (HomeLayout(home).functions_dir("p") / "f").resolve()
    write_function(home, "p", "f", CONFIG + "# v2\n")
    write_function(home, "p", "f", CONFIG + "# v3\n")
    linked = (HomeLayout(home).functions_dir("p") / "f").resolve()
    versions = sorted(linked.parent.iterdir())
    assert unused_versions(home, "p", [running]) == []  # all just written: maybe about to be linked
    old = time.time() - 3600
    for directory in versions:
        os.utime(directory, (old, old))
    (garbage,) = unused_versions(home, "p", [running])
    assert garbage not in (running, linked) and garbage in versions
