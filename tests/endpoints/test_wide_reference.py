"""A wide model's reference statistics outgrow one V3IO attribute (61,200 bytes): the record stores them in
parts, on every backend, and reads them back whole; re-registering a narrower reference replaces them whole."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from v3io_server.stack import local_or_v3io

from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.record import MAX_ATTRIBUTE_BYTES
from modelmon.endpoints.registration import get_model_endpoint, register_model_endpoint
from modelmon.endpoints.store import EndpointStore

PROJECT = "wide"


def _reference(features: int, rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(features)
    return pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"feature_{i:03d}" for i in range(features)])


@pytest.fixture(params=["local", "v3io"])
def backend(request, tmp_path):
    with local_or_v3io(request.param, tmp_path) as opened:
        yield opened


def test_a_reference_of_200_features_is_stored_in_parts_and_read_whole(backend):
    wide = _reference(200)
    endpoint = register_model_endpoint(backend, PROJECT, "wide-model", reference_data=wide)
    item = EndpointStore(backend.kv, ProjectPaths(PROJECT)).item(endpoint.endpoint_id)
    assert item is not None and item["feature_stats_parts"] >= 2
    assert all(len(v.encode()) <= MAX_ATTRIBUTE_BYTES for k, v in item.items() if k.startswith("feature_stats")
               and isinstance(v, str))
    read = get_model_endpoint(backend, PROJECT, endpoint.endpoint_id)
    assert list(read.feature_stats) == list(wide.columns)
    assert json.dumps(read.feature_stats) == json.dumps(endpoint.feature_stats)

    narrow = _reference(3)
    register_model_endpoint(backend, PROJECT, "wide-model", endpoint_id=endpoint.endpoint_id, reference_data=narrow)
    item = EndpointStore(backend.kv, ProjectPaths(PROJECT)).item(endpoint.endpoint_id)
    assert item["feature_stats_parts"] == 1  # the longer value's stale parts are not read
    assert list(get_model_endpoint(backend, PROJECT, endpoint.endpoint_id).feature_stats) == list(narrow.columns)
