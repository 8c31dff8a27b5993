"""Registering a model endpoint: its names, reference statistics and reference performance.

The endpoint id is MLRun's (:func:`modelmon.events.endpoint_uid` of the function, model name and
version), so a model server tracked with the same ``function_uri`` reports on the registered endpoint
whether it was registered before or after its first request. Registering again updates the same record
in place: the traffic counters, times and watermark the stream function keeps are never touched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from modelmon.backends.base import Backend
from modelmon.core.errors import NotFound
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.feature_types import stats_types
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.store import EndpointStore
from modelmon.events import endpoint_uid
from modelmon.stats import feature_stats as compute_feature_stats

#: The function a model is taken to be served by when registered without ``function_uri``
#: (the default of MLRun's serving functions and of :class:`modelmon.tracking.ModelServer`).
DEFAULT_FUNCTION = "serving"


def default_function_uri(project: str) -> str:
    return f"{project}/{DEFAULT_FUNCTION}"


def register_model_endpoint(
    backend: Backend,
    project: str,
    name: str,
    *,
    model_uri: str | None = None,
    model_class: str | None = None,
    reference_data: pd.DataFrame | None = None,
    feature_stats: Mapping[str, Any] | None = None,
    feature_names: Sequence[str] | None = None,
    label_names: Sequence[str] | None = None,
    labels: Mapping[str, Any] | None = None,
    reference_performance: Mapping[str, float] | None = None,
    function_uri: str | None = None,
    model_version: str | None = None,
) -> ModelEndpoint:
    """Create or update the endpoint of model ``name`` and return the stored record.

    ``reference_data`` (the training set, say) gives MLRun-format ``feature_stats`` of its feature
    columns (and of the ``label_names`` columns it has); alternatively pass ``feature_stats`` computed
    elsewhere. ``feature_names`` default to the reference's columns except ``label_names``. Arguments
    left ``None`` keep what is stored.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("name: a model endpoint needs a non-empty model name")
    if reference_data is not None and feature_stats is not None:
        raise ValueError("pass reference_data or feature_stats, not both")
    function_uri = function_uri or default_function_uri(project)
    endpoint_id = endpoint_uid(project, function_uri, name, model_version)
    label_list = _names(label_names, "label_names")
    feature_list = _names(feature_names, "feature_names")
    stats: dict[str, Any] | None = None
    if reference_data is not None:
        feature_list, stats = _reference_stats(reference_data, feature_list, label_list or [])
    elif feature_stats is not None:
        stats = _checked_stats(feature_stats)
        if feature_list is None:
            feature_list = [f for f in stats if f not in (label_list or [])]
    fields: dict[str, Any] = {
        "name": name, "project": project, "function_uri": function_uri, "model": name,
        "model_version": model_version or "", "registered": True,
    }
    optional = {
        "model_uri": model_uri, "model_class": model_class,
        "labels": None if labels is None else dict(labels),
        "feature_names": feature_list, "label_names": label_list, "feature_stats": stats,
        # a new reference says what each feature is: the stream function stores the rows in those types
        "feature_types": None if stats is None else {name: kind for name, kind in stats_types(stats).items()
                                                     if feature_list is None or name in feature_list},
        "reference_performance": None if reference_performance is None else _checked_performance(
            reference_performance),
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    endpoint = ModelEndpoint(endpoint_id=endpoint_id, created_ms=now_ms(), **fields)
    EndpointStore(backend.kv, project).register(endpoint, fields)
    return get_model_endpoint(backend, project, endpoint_id)


def get_model_endpoint(backend: Backend, project: str, endpoint: str) -> ModelEndpoint:
    """The endpoint with id ``endpoint``, else the one registered or seen under that name."""
    if not isinstance(endpoint, str) or not endpoint:
        raise ValueError("endpoint: give an endpoint id or name")
    store = EndpointStore(backend.kv, project)
    found = store.get(endpoint)
    if found is not None:
        return found
    matches = list(store.scan(name=endpoint))
    if not matches:
        raise NotFound(f"project {project!r} has no model endpoint with id or name {endpoint!r}")
    if len(matches) > 1:
        ids = ", ".join(sorted(m.endpoint_id for m in matches))
        raise ValueError(f"model endpoint name {endpoint!r} is ambiguous in project {project!r}: use an id ({ids})")
    return matches[0]


def _names(values: Sequence[str] | None, what: str) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{what} must be a list of column names")
    if len(set(values)) != len(values):
        raise ValueError(f"{what} has duplicate names")
    return list(values)


def _reference_stats(data: Any, features: list[str] | None, labels: list[str]) -> tuple[list[str], dict[str, Any]]:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"reference_data must be a pandas DataFrame, got {type(data).__name__}")
    if data.empty:
        raise ValueError("reference_data is empty: feature statistics need rows")
    if features is None:
        features = [str(c) for c in data.columns if c not in labels]
    missing = [c for c in features if c not in data.columns]
    if missing:
        raise ValueError(f"reference_data has no column(s) {', '.join(missing)}")
    columns = features + [c for c in labels if c in data.columns and c not in features]
    return features, compute_feature_stats(data[columns])


def _checked_stats(stats: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(stats, Mapping) or not all(isinstance(v, Mapping) for v in stats.values()):
        raise ValueError("feature_stats must map each feature name to its statistics (MLRun's format)")
    value = {str(k): dict(v) for k, v in stats.items()}
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"feature_stats must be plain JSON ({exc})") from None
    return value


def _checked_performance(performance: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(performance, Mapping):
        raise ValueError("reference_performance must map metric names to numbers")
    out = {}
    for key, value in performance.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"reference_performance[{key!r}] must be a finite number, got {value!r}")
        out[str(key)] = float(value)
    return out
