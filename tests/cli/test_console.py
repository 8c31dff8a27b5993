"""The console script itself: ``--version``, exit codes, and help text for every sub-command."""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from modelmon.cli import main
from modelmon.cli.console import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]


def subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[str | None, argparse.ArgumentParser]]:
    """Each sub-command's name -> (its one-line help in ``modelmon --help``, its own parser)."""
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    return {name: (helps.get(name), sub) for name, sub in action.choices.items()}


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert capsys.readouterr().out.strip() == f"modelmon {importlib.metadata.version('modelmon')}"
    assert importlib.metadata.version("modelmon") == declared


def test_version_from_the_installed_script():
    proc = subprocess.run([sys.executable, "-m", "modelmon", "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"modelmon {importlib.metadata.version('modelmon')}")


def test_user_errors_exit_1_with_one_line_on_stderr(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["endpoints", "--home", str(missing)]) == 1  # a ModelmonError (NotFound)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"modelmon: error: no modelmon home at {missing} (use --home or MODELMON_HOME)"]
    assert main(["deploy", "--output", str(tmp_path / "out"), "--base-period", "0"]) == 1  # a ValueError
    assert capsys.readouterr().err.splitlines() == ["modelmon: error: --base-period 0: must be at least 1 minute"]
    assert main(["batch-infer", str(tmp_path / "no.csv"), "--model", str(tmp_path / "m.pkl"),
                 "--home", str(tmp_path / "home")]) == 1  # a FileNotFoundError
    assert capsys.readouterr().err.splitlines() == [f"modelmon: error: dataset {str(tmp_path / 'no.csv')!r} "
                                                    "does not exist"]


def test_usage_errors_stay_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["endpoints", "--no-such-option"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["batch-infer", "data.csv"])  # --model is required
    assert exit_info.value.code == 2
    assert main([]) == 2  # no command: the help, as a usage error
    assert "COMMAND" in capsys.readouterr().out


def test_every_subcommand_has_help_and_a_description():
    found = subcommands(build_parser())
    assert len(found) >= len(COMMANDS)  # every module adds at least one
    missing = [f"{name}: {what}" for name, (help_text, sub) in sorted(found.items())
               for what, text in (("help", help_text), ("description", sub.description)) if not (text or "").strip()]
    assert missing == []


def test_every_option_of_every_subcommand_has_help():
    missing = [f"{name} {'/'.join(action.option_strings) or action.dest}"
               for name, (_help, sub) in sorted(subcommands(build_parser()).items())
               for action in sub._actions if not (action.help or "").strip()]
    assert missing == []


@pytest.mark.parametrize("name", sorted(subcommands(build_parser())))
def test_subcommand_help_prints(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: modelmon {name}") and "options:" in out
