"""The nuctl path: ``modelmon deploy --output`` prints nuctl commands; run as printed (by a real shell, with a
stand-in nuctl), they deploy configs whose stream triggers get a usable access key on the platform named."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml
from deploy_paths import REPO
from nuclio_dashboard import nuctl
from nuclio_dashboard.platform import Namespace

from modelmon.cli import main

KEY = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"
SECRET = {"modelmon-credentials": {"access-key": KEY}}


def printed_commands(bundle, out, capsys, *extra):
    assert main(["deploy", "--bundle", str(bundle), "--project", "shop", "--output", str(out),
                 "--function", "writer", "histogram-data-drift", *extra]) == 0
    stdout = capsys.readouterr().out
    return stdout, [line.strip() for line in stdout.splitlines() if line.startswith("  nuctl ")]


def run_in_shell(commands, tmp_path, env):
    """Run the printed lines as a user pasting them would (bash expands "$V3IO_ACCESS_KEY"); the calls."""
    log = tmp_path / "nuctl-calls.jsonl"
    nuctl.install(tmp_path / "bin", log)
    script = tmp_path / "deploy.sh"
    script.write_text("set -e\n" + "\n".join(commands) + "\n")
    shell_env = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", **env}
    subprocess.run(["bash", str(script)], check=True, env=shell_env, cwd=tmp_path, timeout=60)
    return nuctl.calls(log)


def test_kube_commands_deploy_with_the_secret_reference(bundle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the bundle lies elsewhere: --path names it in full
    out = tmp_path / "out"
    stdout, commands = printed_commands(bundle, out, capsys)
    assert "the secret 'modelmon-credentials' with key 'access-key' must hold the V3IO access key" in stdout
    assert "$NUCTL_REGISTRY names the image registry" in stdout
    calls = run_in_shell(commands, tmp_path, {})
    assert calls[0] == ["create", "project", "shop", "--platform", "kube"]
    assert calls[1] == ["deploy", "shop-writer", "--path", str(bundle), "--file", str(out / "writer" / "function.yaml"),
                        "--project-name", "shop", "--platform", "kube"]
    deployed = [nuctl.deployed_config(call) for call in calls[1:]]
    assert [(platform, config["metadata"]["name"]) for platform, config in deployed] == [
        ("kube", "shop-writer"), ("kube", "shop-histogram-data-drift")]
    with_secret = Namespace(secrets=SECRET, access_keys={KEY})
    assert [with_secret.start_failure(config) for _, config in deployed] == [None, None]
    without = Namespace(secrets={})
    assert {without.start_failure(config) for _, config in deployed} == {
        'Error: secret "modelmon-credentials" not found'}


def test_another_secret_is_named_in_the_files(bundle, tmp_path, capsys):
    out = tmp_path / "out"
    _, commands = printed_commands(bundle, out, capsys, "--access-key-secret", "v3io-auth/key")
    deployed = [nuctl.deployed_config(call) for call in run_in_shell(commands, tmp_path, {})[1:]]
    namespace = Namespace(secrets={"v3io-auth": {"key": KEY}}, access_keys={KEY})
    assert [namespace.start_failure(config) for _, config in deployed] == [None, None]


def test_docker_commands_pass_the_key_from_the_shell_and_never_write_it(bundle, tmp_path, capsys):
    out = tmp_path / "out"
    stdout, commands = printed_commands(bundle, out, capsys, "--platform", "local", "--access-key", "env")
    assert "$V3IO_ACCESS_KEY must be set in the shell that runs them" in stdout
    assert all(line.endswith('--platform local --env "V3IO_ACCESS_KEY=$V3IO_ACCESS_KEY"')
               for line in commands[1:])
    for path in out.glob("*/function.yaml"):
        assert "V3IO_ACCESS_KEY" not in {e["name"] for e in yaml.safe_load(path.read_text())["spec"]["env"]}
    docker = Namespace(platform="local", access_keys={KEY})

    deployed = [nuctl.deployed_config(call) for call in run_in_shell(commands, tmp_path, {"V3IO_ACCESS_KEY": KEY})[1:]]
    assert [platform for platform, _ in deployed] == ["local", "local"]
    assert [docker.start_failure(config) for _, config in deployed] == [None, None]

    (tmp_path / "nuctl-calls.jsonl").unlink()
    unset = [nuctl.deployed_config(call) for call in run_in_shell(commands, tmp_path, {})[1:]]
    assert docker.start_failure(unset[0][1]) == (
        "trigger \"results\": V3IO answered 401 Unauthorized: no access key (password '$generate', V3IO_ACCESS_KEY '')")


def test_the_committed_secret_reference_on_docker_is_refused(bundle, tmp_path, capsys):
    assert main(["deploy", "--bundle", str(bundle), "--output", str(tmp_path), "--platform", "local"]) == 1
    assert ("platform local: Nuclio's Docker platform ignores secret references, so V3IO_ACCESS_KEY would be "
            "empty; use --access-key env") in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("platform", ["kube", "local"])
def test_a_file_without_the_key_fails_as_nuctl_would_deploy_it(bundle, tmp_path, capsys, platform):
    """The check behind the other tests: the key entry removed, nothing else supplies it."""
    out = tmp_path / "out"
    _, commands = printed_commands(bundle, out, capsys, "--platform", platform, "--access-key", "env")
    stripped = [line.replace(' --env "V3IO_ACCESS_KEY=$V3IO_ACCESS_KEY"', "") for line in commands]
    deployed = [nuctl.deployed_config(c) for c in run_in_shell(stripped, tmp_path, {"V3IO_ACCESS_KEY": KEY})[1:]]
    failure = Namespace(platform=platform, secrets=SECRET).start_failure(deployed[0][1])
    assert failure is not None and "no access key" in failure


def test_the_commands_docs_deploy_md_shows_are_the_printed_ones(tmp_path, capsys, monkeypatch):
    doc = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    shown = [line for block in re.findall(r"```(?:sh|text)\n(.*?)```", doc, flags=re.S)
             for line in block.splitlines() if line.strip().startswith(("nuctl ", "deploy them with nuctl"))]
    monkeypatch.chdir(tmp_path)
    assert main(["deploy", "--bundle", str(REPO), "--project", "fraud", "--output", "deploy"]) == 0
    printed = {line.strip().replace(f"--path {REPO} ", "--path . ") for line in capsys.readouterr().out.splitlines()}
    assert len(shown) >= 8
    assert [line for line in shown if line.strip() not in printed] == []
