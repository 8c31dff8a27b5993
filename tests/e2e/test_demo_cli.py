"""``modelmon demo --json`` as a user runs it: a subprocess, one JSON object on stdout, progress on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BUNDLE = Path(__file__).resolve().parents[2]  # the repository checkout is the bundle


def test_demo_json_reports_a_undetected_and_c_detected(tmp_path):
    home = tmp_path / "demo-home"
    proc = subprocess.run(
        [sys.executable, "-m", "modelmon", "demo", "--json", "--home", str(home), "--bundle", str(BUNDLE)],
        capture_output=True, text=True, timeout=150, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)  # stdout is exactly one JSON object
    endpoints = {e["name"]: e for e in report["endpoints"]}
    assert list(endpoints) == ["cancer-stable", "cancer-gradual", "cancer-shift"]
    stable, gradual, shift = endpoints.values()
    assert (stable["max_status"], stable["drifted_features"]) == ("no_detection", [])
    assert shift["max_status"] == "detected"
    shifted = set(shift["drifted_features"])
    assert len(shifted) == 20 and all(f.startswith(("mean_", "worst_")) for f in shifted)
    assert gradual["max_status"] in ("potential_detection", "detected")
    assert set(gradual["drifted_features"]) == {f for f in shifted if f.startswith("mean_")}
    for endpoint in endpoints.values():
        # 8 windows x (2 drift + 5 data-quality + 5 system-performance results)
        assert (endpoint["windows"], endpoint["results"], endpoint["failures"]) == (8, 96, 0)
        assert len(endpoint["endpoint_id"]) == 40
    assert 0 < report["elapsed_s"] < 120
    assert "windows analysed: 72/72" in proc.stderr
    assert (home / "functions.log").stat().st_size > 0  # the functions' logs stay out of the terminal


def test_demo_refuses_to_wipe_a_directory_that_is_not_a_demo_home(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "modelmon", "demo", "--home", str(precious)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "not a demo home" in proc.stderr
    assert (precious / "notes.txt").read_text(encoding="utf-8") == "keep me"
