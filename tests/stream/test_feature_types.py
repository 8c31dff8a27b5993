"""A feature keeps one type on an endpoint: text in a numeric feature is rejected, a number in a text one is text."""

from __future__ import annotations

import numpy as np
from ingest_fixtures import PROJECT, batched, entry

from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import endpoint_uid

T = 1_709_294_400_000  # 2024-03-01 12:00 (the fixture accepts old times)


def test_text_in_a_numeric_feature_is_dead_lettered_alone_and_the_hour_still_reads(fn):
    fn.send(batched([entry(0, [1.0, 2.0], [0.0], T), entry(1, [3.0, 4.0], [1.0], T + 1)], endpoint_id="ep"),
            offset=1)
    fn.send(batched([entry(2, [5.0, "hello"], [0.0], T + 2), entry(3, [6.0, 7.0], [1.0], T + 3)], endpoint_id="ep"),
            offset=2)

    endpoint = fn.endpoint("ep")
    assert endpoint.feature_types == {"f0": "number", "f1": "number"}  # first seen, kept
    assert endpoint.request_count == 3
    (letter,) = fn.dead_letters()
    assert letter.reason == "request 'r2': feature 'f1' is numeric on endpoint ep; got 'hello'"
    samples = fn.samples("ep")
    assert samples["request_id"].tolist() == ["r0", "r1", "r3"]
    assert samples["f1"].dtype == np.float64 and samples["f1"].tolist() == [2.0, 4.0, 7.0]


def test_a_text_feature_first_seen_as_text_stores_later_numbers_as_text(fn):
    fn.send(batched([entry(0, [1.0, "red"], [0.0], T)], endpoint_id="ep"), offset=1)
    fn.send(batched([entry(1, [2.0, 7], [1.0], T + 1)], endpoint_id="ep"), offset=2)  # all numbers: fast path

    assert fn.endpoint("ep").feature_types == {"f0": "number", "f1": "text"}
    samples = fn.samples("ep")
    assert samples["f1"].tolist() == ["red", "7"] and samples["f0"].tolist() == [1.0, 2.0]
    assert not fn.dead_letters()


def test_a_registered_categorical_feature_is_text_from_the_first_request(fn):
    import pandas as pd

    reference = pd.DataFrame({"size": [1.0, 2.0, 3.0], "color": ["red", "blue", "red"], "label": [0, 1, 0]})
    register_model_endpoint(fn.backend, PROJECT, "churn", reference_data=reference, label_names=["label"],
                            function_uri=f"{PROJECT}/serving")
    endpoint_id = endpoint_uid(PROJECT, f"{PROJECT}/serving", "churn", None)
    assert fn.endpoint(endpoint_id).feature_types == {"size": "number", "color": "text"}

    fn.send(batched([entry(0, [1.5, 3], [0], T), entry(1, ["big", "red"], [1], T + 1)], model="churn",
                    function_uri=f"{PROJECT}/serving", version=None), offset=1)

    samples = fn.samples(endpoint_id)
    assert samples["request_id"].tolist() == ["r0"] and samples["color"].tolist() == ["3"]
    (letter,) = fn.dead_letters()
    assert letter.reason == f"request 'r1': feature 'size' is numeric on endpoint {endpoint_id}; got 'big'"
