"""How often ``segment_by`` flags a clean window, and how often it finds a drifted segment (the figures in
docs/apps.md, "Segments"): five regions of different feature levels, seeded windows."""

from __future__ import annotations

import pytest

from modelmon.apps.builtin import HistogramDataDriftApplication
from modelmon.core.results import ResultStatusApp as Status
from modelmon.stats import feature_stats
from tests.apps.segment_traffic import FEATURES, run, traffic

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup():
    reference = traffic(0, 10_000)
    return HistogramDataDriftApplication(reference_data=reference, segment_by=["region"]), \
        feature_stats(reference[FEATURES])


@pytest.mark.parametrize("rows", [300, 1000, 5000])
def test_clean_windows_flag_no_segment(setup, rows):
    app, stats = setup
    flagged = [seed for seed in range(100, 140)
               if run(app, traffic(seed, rows), stats)["segment_drift"].status > Status.no_detection]
    assert flagged == []


@pytest.mark.parametrize("rows, shift, named, detected", [
    (300, 1.0, 20, 20), (1000, 0.5, 17, 15), (1000, 1.0, 20, 20), (5000, 0.5, 20, 20)])
def test_a_drifted_segment_is_found(setup, rows, shift, named, detected):
    app, stats = setup
    results = [run(app, traffic(seed, rows, shifted_region="e", shift=shift), stats)["segment_drift"]
               for seed in range(200, 220)]
    assert sum(r.extra_data["worst_segment"] == "region=e" for r in results) == named
    assert sum(r.status == Status.detected for r in results) == detected
