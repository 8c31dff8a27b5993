from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from modelmon.apps.segments import (
    OTHER,
    SegmentReport,
    check_segment_by,
    choose_segments,
    escalated_status,
    worst_segments,
)
from modelmon.core.results import ResultStatusApp as Status


def test_most_frequent_values_are_segments_and_the_rest_is_other() -> None:
    reference = pd.DataFrame({"region": list("aaaaabbbbccd"), "x": np.arange(12.0)})
    segmentation = choose_segments(reference, ["region"], max_segments=2)
    assert segmentation.labels == ["region=a", "region=b"]
    window = pd.DataFrame({"region": ["b", "c", "z", "a", "a"], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    segments = segmentation.split(window, reference)
    assert [s.label for s in segments] == ["region=a", "region=b", OTHER]
    by_label = {s.label: s for s in segments}
    assert by_label["region=a"].window["x"].tolist() == [4.0, 5.0]
    assert by_label[OTHER].window["x"].tolist() == [2.0, 3.0]  # c (not chosen) and z (never seen)
    assert by_label[OTHER].reference is not None and by_label[OTHER].reference["region"].tolist() == ["c", "c", "d"]


def test_several_columns_make_combined_labels_and_missing_and_whole_floats_match() -> None:
    reference = pd.DataFrame({"tier": [1, 1, 2, 2, 2], "dev": ["ios", "ios", "web", None, "web"]})
    segmentation = choose_segments(reference, ["tier", "dev"], max_segments=5)
    assert segmentation.labels == ["tier=1, dev=ios", "tier=2, dev=web", "tier=2, dev=<missing>"]
    window = pd.DataFrame({"tier": [1.0, np.nan, 2.0], "dev": ["ios", "ios", None]})  # ints read back as floats
    assert segmentation.assign(window).tolist() == ["tier=1, dev=ios", OTHER, "tier=2, dev=<missing>"]


def test_a_chosen_segment_without_window_rows_is_listed_and_other_only_when_it_has_rows() -> None:
    reference = pd.DataFrame({"g": ["a", "b"]})
    segments = choose_segments(reference, "g").split(pd.DataFrame({"g": ["a"]}), reference)
    assert [(s.label, len(s.window), None if s.reference is None else len(s.reference)) for s in segments] == [
        ("g=a", 1, 1), ("g=b", 0, 1)]
    assert all(s.reference is None for s in choose_segments(reference, "g").split(reference))


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="non-empty list"):
        check_segment_by([])
    with pytest.raises(ValueError, match="twice"):
        check_segment_by(["a", "a"])
    with pytest.raises(ValueError, match=r"\['zone'\] not in the data"):
        choose_segments(pd.DataFrame({"g": [1]}), ["zone"])
    with pytest.raises(ValueError, match="max_segments"):
        choose_segments(pd.DataFrame({"g": [1]}), ["g"], max_segments=0)


def test_worst_segments_order_by_status_then_value_and_escalation_is_capped() -> None:
    reports = [
        SegmentReport("g=a", Status.no_detection, 0.9, 100),
        SegmentReport("g=b", Status.detected, 0.3, 100),
        SegmentReport("g=c", Status.detected, 0.5, 100),
        SegmentReport("g=d", Status.irrelevant, math.nan, 3, note="too few rows"),
    ]
    assert [r.label for r in worst_segments(reports, 3)] == ["g=c", "g=b", "g=a"]
    assert escalated_status(Status.no_detection, reports) == Status.potential_detection
    assert escalated_status(Status.no_detection, reports, ceiling=Status.detected) == Status.detected
    assert escalated_status(Status.detected, reports[:1]) == Status.detected
    assert reports[3].to_dict() == {"segment": "g=d", "status": -1, "value": None, "n_window": 3,
                                    "note": "too few rows"}
