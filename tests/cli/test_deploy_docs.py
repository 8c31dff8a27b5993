"""The ``modelmon deploy`` and ``nuctl`` commands docs/deploy.md shows work as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from modelmon.cli import main
from modelmon.cli.console import build_parser
from modelmon.cli.deploy import select_functions
from modelmon.deploy.render import default_bundle_dir

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def shell_commands(program: str) -> list[list[str]]:
    """Every ``program ...`` command in the doc's ``sh`` blocks, continuation lines joined, comments dropped."""
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in text.splitlines() if line.strip().startswith(program + " ")]


DEPLOY = [argv for argv in shell_commands("modelmon") if argv[1] == "deploy"]


def test_the_doc_shows_deploy_commands():
    assert len(DEPLOY) >= 5
    assert any("--function" in argv for argv in DEPLOY)


@pytest.mark.parametrize("argv", DEPLOY, ids=[" ".join(a[2:]) for a in DEPLOY])
def test_documented_deploy_command_parses_and_selects_functions(argv):
    args = build_parser().parse_args(argv[1:])  # a usage error would exit 2 here
    assert args.func is not None and (args.output or args.dashboard_url or args.archive)
    if args.function:
        names = select_functions(default_bundle_dir(), args.function)
        assert len(names) >= len(args.function)


def test_documented_output_commands_write_what_the_nuctl_commands_deploy(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NUCLIO_DASHBOARD_URL", raising=False)
    for argv in DEPLOY:
        if "--output" in argv:
            assert main(argv[1:]) == 0, argv
    assert "wrote deploy/model-monitoring-controller/function.yaml" in capsys.readouterr().out
    nuctl = [argv for argv in shell_commands("nuctl") if argv[1] == "deploy" and "deploy/" in " ".join(argv)]
    assert len(nuctl) == 4
    for argv in nuctl:
        config = yaml.safe_load((tmp_path / argv[argv.index("--file") + 1]).read_text(encoding="utf-8"))
        assert config["metadata"]["name"] == argv[2]  # the name nuctl deploys is the rendered one
        assert argv[argv.index("--project-name") + 1] == "fraud" == config["metadata"]["labels"][
            "nuclio.io/project-name"]
