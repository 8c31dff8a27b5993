"""Registering with reference_data keeps a bounded, seeded sample of its rows in the object store, on every
backend; a new reference replaces it, a reference given as feature_stats alone removes it, and rows of
another reference than the record's are never read back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from v3io_server.stack import local_or_v3io

from modelmon.backends import make_backend
from modelmon.backends.memory import InMemoryObjectStore
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.endpoints.reference_rows import read_reference_rows, rows_to_keep, write_reference_rows
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.stats import feature_stats

PROJECT = "rows"
PATHS = ProjectPaths(PROJECT)


def _reference(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows),
                         "plan": rng.choice(["basic", "pro"], rows), "label": rng.integers(0, 2, rows),
                         "row": np.arange(rows)})


@pytest.fixture(params=["local", "v3io"])
def backend(request, tmp_path):
    with local_or_v3io(request.param, tmp_path) as opened:
        yield opened


def test_registration_keeps_a_seeded_uniform_sample_of_every_column(backend):
    reference = _reference(30_000)
    endpoint = register_model_endpoint(backend, PROJECT, "churn", reference_data=reference, label_names=["label"])
    stored = read_reference_rows(backend.objects, PATHS, endpoint.endpoint_id, endpoint.feature_stats)
    assert stored is not None and (stored.kept, stored.total) == (20_000, 30_000)
    frame = stored.frame
    assert list(frame.columns) == ["x", "y", "plan", "label", "row"] and len(frame) == 20_000
    assert frame["row"].is_monotonic_increasing and frame["row"].is_unique  # original order, no repeats
    pd.testing.assert_frame_equal(frame, reference.iloc[frame["row"]].reset_index(drop=True))
    assert frame.attrs["reference_rows_total"] == 30_000
    # uniform: each third of the reference gives about a third of the sample (binomial sd ~ 67)
    thirds = np.bincount(frame["row"].to_numpy() // 10_000)
    assert all(abs(t - 20_000 / 3) < 400 for t in thirds)
    # the same reference registered again keeps the same rows (fixed seed)
    register_model_endpoint(backend, PROJECT, "churn", reference_data=reference, label_names=["label"])
    again = read_reference_rows(backend.objects, PATHS, endpoint.endpoint_id, endpoint.feature_stats)
    assert again is not None and again.frame["row"].tolist() == frame["row"].tolist()


def test_a_new_reference_replaces_the_rows_and_feature_stats_alone_remove_them(backend):
    endpoint = register_model_endpoint(backend, PROJECT, "churn", reference_data=_reference(500))
    path = PATHS.reference_rows_object(endpoint.endpoint_id)
    assert backend.objects.list_objects(path) == [path]
    newer = register_model_endpoint(backend, PROJECT, "churn", reference_data=_reference(800, seed=1))
    stored = read_reference_rows(backend.objects, PATHS, newer.endpoint_id, newer.feature_stats)
    assert stored is not None and (stored.kept, stored.total) == (800, 800)
    # registering other fields keeps them; the same stats given as feature_stats keep them too
    register_model_endpoint(backend, PROJECT, "churn", labels={"team": "risk"})
    register_model_endpoint(backend, PROJECT, "churn", feature_stats=newer.feature_stats)
    assert backend.objects.list_objects(path) == [path]
    # a reference given as other feature_stats has no rows: the old ones go
    register_model_endpoint(backend, PROJECT, "churn", feature_stats=feature_stats(_reference(300, seed=2)))
    assert backend.objects.list_objects(path) == []
    # keep_reference_rows=0 keeps none (and drops what another reference left)
    register_model_endpoint(backend, PROJECT, "churn", reference_data=_reference(500))
    register_model_endpoint(backend, PROJECT, "churn", reference_data=_reference(600, seed=3), keep_reference_rows=0)
    assert backend.objects.list_objects(path) == []


def test_rows_of_another_reference_are_not_read_back(backend):
    """The record is written before the rows: a registration that stopped in between leaves the record's new
    stats with the previous rows, which readers must not take for the new reference's."""
    old, new = _reference(400), _reference(400, seed=5)
    endpoint = register_model_endpoint(backend, PROJECT, "churn", reference_data=new)
    write_reference_rows(backend.objects, PATHS, endpoint.endpoint_id, old, feature_stats(old))
    assert read_reference_rows(backend.objects, PATHS, endpoint.endpoint_id, endpoint.feature_stats) is None
    unchecked = read_reference_rows(backend.objects, PATHS, endpoint.endpoint_id)
    assert unchecked is not None and unchecked.frame["x"].tolist() == old["x"].tolist()


def test_a_wide_reference_keeps_fewer_rows():
    """At most 4 million values: 1,000 columns keep 4,000 rows (a wider one never fewer than 1,000)."""
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(5_000, 1_000))).add_prefix("p")
    objects = InMemoryObjectStore()
    write_reference_rows(objects, PATHS, "pixels", wide, {"p0": {}})
    stored = read_reference_rows(objects, PATHS, "pixels", {"p0": {}})
    assert stored is not None and (stored.kept, stored.total, stored.frame.shape) == (4_000, 5_000, (4_000, 1_000))
    assert (rows_to_keep(10**6, 10), rows_to_keep(10**6, 10**5), rows_to_keep(300, 10**5)) == (20_000, 1_000, 300)


def test_columns_of_mixed_values_are_kept_as_text(backend):
    mixed = _reference(200).assign(extra=[1, "a", None, 2.5] * 50)
    endpoint = register_model_endpoint(backend, PROJECT, "mixed", reference_data=mixed, feature_names=["x", "y"])
    stored = read_reference_rows(backend.objects, PATHS, endpoint.endpoint_id, endpoint.feature_stats)
    assert stored is not None and stored.as_text == ("extra",)
    assert stored.frame["extra"].tolist()[:4] == ["1", "a", None, "2.5"] and "plan" in stored.frame.columns


@pytest.mark.parametrize("value", [-1, 2.5, True, "10"])
def test_keep_reference_rows_must_be_a_whole_number(tmp_path, value):
    backend = make_backend(Settings(home=str(tmp_path), project=PROJECT))
    try:
        with pytest.raises(ValueError, match="keep_reference_rows must be a whole number of rows"):
            register_model_endpoint(backend, PROJECT, "churn", reference_data=_reference(10),
                                    keep_reference_rows=value)
    finally:
        backend.close()
