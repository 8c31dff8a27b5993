"""Parsing ``--source`` and pointing configs at it (modelmon.deploy.code_source)."""

from __future__ import annotations

import pytest
from deploy_paths import REPO

from modelmon.core.config import Settings
from modelmon.deploy import render_app, render_bundle, validate_config
from modelmon.deploy.code_source import (
    CodeSource,
    apply_source,
    check_bundle_source,
    has_code_entry,
    parse_source,
    source_from,
    with_source,
)
from modelmon.deploy.render import load_templates

ARCHIVE = "https://files.example/modelmon/modelmon-bundle.tar.gz"
SETTINGS = Settings(project="fraud", base_period_minutes=5, backend="v3io")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        (ARCHIVE, CodeSource("archive", ARCHIVE)),
        ("http://10.0.0.5:8000/modelmon.zip", CodeSource("archive", "http://10.0.0.5:8000/modelmon.zip")),
        ("git+https://git.example/org/modelmon.git@main",
         CodeSource("git", "https://git.example/org/modelmon.git", "branch", "main")),
        ("git+https://git.example/org/modelmon.git@refs/heads/release/1.x",
         CodeSource("git", "https://git.example/org/modelmon.git", "branch", "release/1.x")),
        ("git+https://git.example/org/modelmon.git@refs/tags/v0.1.0",
         CodeSource("git", "https://git.example/org/modelmon.git", "tag", "v0.1.0")),
        (" image:registry.example/ml/modelmon-functions:0.1.0 ",
         CodeSource("image", "registry.example/ml/modelmon-functions:0.1.0")),
    ],
)
def test_each_form_parses_and_prints_back(text, parsed):
    assert parse_source(text) == parsed
    assert parse_source(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected one of: https://<host>/<path>/modelmon-bundle.tar.gz"),
        ("./modelmon-bundle.tar.gz", "a dashboard's builder cannot read a local path"),
        ("/work/main", "a dashboard's builder cannot read a local path"),
        ("https://files.example/modelmon", "must end in one of .tar.gz, .tar.bz2, .tar.xz, .tar, .zip"),
        ("https:///modelmon.tar.gz", "the archive URL has no host"),
        ("git+https://git.example/org/modelmon.git", "a git source needs a ref"),
        ("git@git.example:org/modelmon.git", "a git repository is written git+https://"),
        ("git+ssh://git.example/org/modelmon.git@main", "the repository must be an http(s) URL"),
        ("git+https://me:pw@git.example/org/modelmon.git@main", "credentials in the URL"),
        ("git+https://git.example/org/modelmon.git@3f2a9c1", "not a commit; tag the commit"),
        ("git+https://git.example/org/modelmon.git@main#subdirectory=x", "#fragments"),
        ("git+https://git.example/org/modelmon.git@bad..ref", "is not a branch name"),
        ("image:", "expected image:<name>[:<tag>]"),
        ("image:Registry/Bad Name", "expected image:<name>[:<tag>]"),
    ],
)
def test_bad_sources_say_what_is_wrong(text, message):
    with pytest.raises(ValueError) as info:
        parse_source(text)
    assert message in str(info.value)


def test_the_environment_names_the_source_when_none_is_given():
    assert source_from(None, {}) is None
    assert source_from(None, {"MODELMON_SOURCE": ARCHIVE}) == CodeSource("archive", ARCHIVE)
    assert source_from("image:m:1", {"MODELMON_SOURCE": ARCHIVE}).kind == "image"  # the argument wins
    with pytest.raises(ValueError, match=r"^\$MODELMON_SOURCE: source 'x': a dashboard's builder"):
        source_from(None, {"MODELMON_SOURCE": "x"})


def test_pip_installs_modelmon_from_a_url_source_with_its_extras():
    assert parse_source(ARCHIVE).pip_requirement() == f"modelmon @ {ARCHIVE}"
    assert parse_source("git+https://g.example/m.git@refs/tags/v1").pip_requirement("[evidently]") == (
        "modelmon[evidently] @ git+https://g.example/m.git@v1")
    assert parse_source("image:m:1").pip_requirement() is None


def test_bundle_functions_get_the_code_entry_of_each_kind():
    (writer,) = render_bundle(REPO, SETTINGS, functions=["model-monitoring-writer"])
    assert not has_code_entry(writer.config)
    build = with_source(writer.config, parse_source(ARCHIVE))["spec"]["build"]
    assert build == {"codeEntryType": "archive", "path": ARCHIVE,
                     "commands": ["@nuclio.postCopy", "pip install --no-cache-dir /opt/nuclio"]}
    git = with_source(writer.config, parse_source("git+https://g.example/m.git@refs/tags/v1"))["spec"]["build"]
    assert (git["codeEntryType"], git["path"], git["codeEntryAttributes"]) == ("git", "https://g.example/m.git",
                                                                                 {"tag": "v1"})
    image = with_source(writer.config, parse_source("image:registry.example/mm:1"))["spec"]
    assert image["image"] == "registry.example/mm:1" and image["build"].keys() == {"commands"}  # nothing to build
    for source in (ARCHIVE, "git+https://g.example/m.git@main", "image:registry.example/mm:1"):
        config = with_source(writer.config, parse_source(source))
        assert has_code_entry(config) and validate_config(config) == [], source
    # switching sources leaves nothing of the previous one
    assert with_source(with_source(writer.config, parse_source("image:m:1")), parse_source(ARCHIVE)) == with_source(
        writer.config, parse_source(ARCHIVE))


def test_an_embedded_app_installs_modelmon_from_the_source_instead_of_opt_nuclio():
    (evidently,) = [t for t in load_templates(REPO) if t.name == "evidently-data-drift"]
    app = render_app(evidently, SETTINGS, "drift", "m:C", requirements=["scipy>=1.10"])
    app.config["spec"]["build"]["functionSourceCode"] = "cHJpbnQoMSkK"
    assert validate_config(app.config) == [
        "spec.build.commands[1]: \"pip install --no-cache-dir '/opt/nuclio[evidently]'\" installs /opt/nuclio, which "
        "holds only the embedded source code (install modelmon from the source instead)"]
    config = with_source(app.config, parse_source(ARCHIVE))
    assert config["spec"]["build"]["commands"] == [
        "@nuclio.postCopy", f"pip install --no-cache-dir 'modelmon[evidently] @ {ARCHIVE}'",
        "pip install --no-cache-dir 'scipy>=1.10'"]
    assert config["spec"]["build"]["codeEntryType"] == "sourceCode" and validate_config(config) == []
    on_image = with_source(app.config, parse_source("image:registry.example/mm:1"))["spec"]
    assert on_image["build"]["baseImage"] == "registry.example/mm:1" and "image" not in on_image
    assert on_image["build"]["commands"] == ["@nuclio.postCopy", "pip install --no-cache-dir 'scipy>=1.10'"]


def test_an_embedded_app_with_no_bundle_install_gets_one():
    config = {"spec": {"runtime": "python:3.11", "handler": "app:handler",
                       "build": {"functionSourceCode": "cHJpbnQoMSkK", "commands": ["pip install scipy"]}}}
    apply_source(config, parse_source("git+https://g.example/m.git@main"))
    assert config["spec"]["build"]["commands"] == [
        "pip install --no-cache-dir 'modelmon @ git+https://g.example/m.git@main'", "pip install scipy"]


def test_a_git_source_of_a_bundle_with_a_root_function_yaml_is_refused(tmp_path):
    git = parse_source("git+https://g.example/m.git@main")
    with pytest.raises(ValueError, match=r"root function\.yaml .* would be merged by Nuclio's builder into every"):
        check_bundle_source(git, REPO)
    check_bundle_source(git, tmp_path)  # no root function.yaml: nothing to merge
    check_bundle_source(parse_source(ARCHIVE), REPO)
