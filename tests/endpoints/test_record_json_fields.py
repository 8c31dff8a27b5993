"""An endpoint record's JSON attributes read back as ``json`` reads them, whichever decoder reads them: integers
beyond 64 bits stay integers, ``NaN`` (which ``json.dumps`` writes) stays a float, and a damaged attribute keeps
its default."""

from __future__ import annotations

import json
import math

from modelmon.endpoints.record import ModelEndpoint

STATS = {"f0": {"count": 10, "mean": 0.5, "min": -1.25, "max": 2.0, "hist": [[1, 2, 7], [0.0, 1.0, 2.0, 3.0]]}}


def _read(**attributes: str) -> ModelEndpoint:
    return ModelEndpoint.from_item({"endpoint_id": "ep", "name": "m", **attributes})


def test_plain_json_attributes_read_back_equal():
    endpoint = _read(feature_stats=json.dumps(STATS), labels=json.dumps({"team": "a", "tier": 2}),
                     feature_names=json.dumps(["f0", "f1"]))
    assert endpoint.feature_stats == STATS
    assert endpoint.labels == {"team": "a", "tier": 2}
    assert endpoint.feature_names == ["f0", "f1"]


def test_integers_beyond_64_bits_stay_exact_integers():
    big = 2**70 + 1
    endpoint = _read(feature_stats=json.dumps({"f0": {"count": 3, "max": big}}), labels=json.dumps({"id": big}))
    assert endpoint.feature_stats["f0"]["max"] == big and isinstance(endpoint.feature_stats["f0"]["max"], int)
    assert endpoint.labels == {"id": big}


def test_nan_as_json_dumps_writes_it_reads_as_nan():
    endpoint = _read(feature_stats=json.dumps({"f0": {"mean": float("nan"), "count": 0}}))
    assert math.isnan(endpoint.feature_stats["f0"]["mean"]) and endpoint.feature_stats["f0"]["count"] == 0


def test_a_damaged_attribute_keeps_its_default():
    endpoint = _read(feature_stats="{not json", feature_names=json.dumps(["f0"]))
    assert endpoint.feature_stats == {} and endpoint.feature_names == ["f0"]
