"""The README's "Write your own app" example runs as written (so the front door cannot rot)."""

from __future__ import annotations

import pathlib
import re

from modelmon import ResultStatusApp

DOC = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = DOC.read_text()
    section = text.split("## Write your own app", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, "the section should hold exactly one python example"
    return blocks[0]


def test_the_write_your_own_app_example_runs_and_finds_the_drift(capsys):
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(_example(), str(DOC), "exec"), namespace)  # the example as a user would paste it
    results = namespace["results"]
    shift = results[results["name"] == "mean_shift"]
    assert shift["status"].tolist() == [ResultStatusApp.no_detection, ResultStatusApp.detected]
    assert shift["value"].iloc[1] > 0.5
    assert shift["extra_data"].iloc[1]["feature"] == "age"
    assert results[results["name"] == "rows"]["value"].tolist() == [600, 600]
    assert "mean_shift" in capsys.readouterr().out
