from __future__ import annotations

import base64

import nbformat
import pytest
from deploy_paths import REPO
from nbclient import NotebookClient

NOTEBOOK = REPO / "notebooks" / "quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_runs_top_to_bottom_against_the_dashboard(dashboard, bundle, tmp_path, monkeypatch,
                                                                      v3io_env):
    monkeypatch.setenv("NUCLIO_DASHBOARD_URL", dashboard.url)
    monkeypatch.setenv("MODELMON_NOTEBOOK", str(NOTEBOOK))
    monkeypatch.setenv("MODELMON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELMON_BUNDLE", str(bundle))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    row_count = dashboard.config("row-count")
    assert row_count["metadata"]["labels"]["nuclio.io/project-name"] == "quickstart"
    spec = row_count["spec"]
    assert (spec["runtime"], spec["minReplicas"], spec["maxReplicas"]) == ("python:3.11", 1, 2)
    assert spec["build"]["commands"] == ["pip install modelmon"]
    assert {"name": "MODELMON_PROJECT", "value": "quickstart"} in spec["env"]
    code = base64.b64decode(spec["build"]["functionSourceCode"]).decode()
    assert "class RowCountApp" in code and "def handler(context, event)" in code
    assert "not exported" not in code and "nuclio: ignore" not in code

    assert {"quickstart-stream", "quickstart-controller", "quickstart-writer", "quickstart-histogram-data-drift",
            "quickstart-system-performance"} <= set(dashboard.functions)
    last = nb.cells[-1].outputs
    assert any("0 endpoints, 0 results" in out.get("text", "") for out in last)
