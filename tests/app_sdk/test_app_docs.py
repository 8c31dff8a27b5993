"""The README's "Write your own app" example runs as written and prints what the README shows (so the front
door cannot rot)."""

from __future__ import annotations

import pathlib
import re

import pytest

from modelmon import ResultStatusApp
from modelmon.apps.sdk import PartialWindowsWarning

DOC = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    return DOC.read_text().split("## Write your own app", 1)[1].split("\n## ", 1)[0]


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", _section(), flags=re.DOTALL)
    assert len(blocks) == 1, "the section should hold exactly one python example"
    return blocks[0]


def _printed() -> str:
    """The output the README says the example prints (the text block after "which prints")."""
    blocks = re.findall(r"which prints\n\n```text\n(.*?)```", _section(), flags=re.DOTALL)
    assert len(blocks) == 1, "the section should show the example's output once"
    return blocks[0]


def test_the_write_your_own_app_example_prints_what_the_readme_shows(capsys):
    namespace: dict = {"__name__": "docs_example"}
    with pytest.warns(PartialWindowsWarning, match=r"left out 300 of 1500 rows \(300 from 2024-05-01T12:02:00"):
        exec(compile(_example(), str(DOC), "exec"), namespace)  # the example as a user would paste it
    assert capsys.readouterr().out == _printed()
    results = namespace["results"]
    shift = results[results["name"] == "mean_shift"]
    assert shift["status"].tolist() == [ResultStatusApp.no_detection, ResultStatusApp.detected]
    assert shift["status_name"].tolist() == ["no_detection", "detected"]
    assert shift["value"].iloc[1] > 0.5
    assert shift["extra_data"].iloc[1]["feature"] == "age"
    assert results[results["name"] == "rows"]["value"].tolist() == [600, 600]
    assert results.attrs["rows_left_out"] == 300
