"""Registering a model endpoint: its names, reference statistics and reference performance.

An endpoint is registered under the id its traffic carries: MLRun 1.8+ assigns one and its serving
functions send it as ``endpoint_id`` (pass it as ``endpoint_id=``); without one the id is derived as
MLRun before 1.8 and modelmon's tracking do (:func:`modelmon.events.endpoint_uid` of the function, model
name and version), so a tracked model server reports on the registered endpoint whether it was
registered before or after its first request. As in MLRun 1.8+, a name and its function
(:mod:`modelmon.endpoints.identity`) identify one endpoint: registering a name that its function
already has updates that endpoint (whatever its id), and registering it under another id is refused.
Registering again updates the same record in place: the traffic counters, times and watermark the
stream function keeps are never touched.

With ``reference_data`` a bounded uniform sample of its rows is kept too (:mod:`modelmon.endpoints.reference_rows`),
after the record: apps that need rows rather than histograms read it as ``context.reference_rows``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from modelmon.backends.base import Backend
from modelmon.core.errors import NotFound
from modelmon.core.paths import ProjectPaths, check_name
from modelmon.core.timeutil import now_ms
from modelmon.endpoints.feature_types import stats_types
from modelmon.endpoints.identity import DEFAULT_TAG, FunctionRef, ambiguous, candidates, same_function
from modelmon.endpoints.record import ModelEndpoint
from modelmon.endpoints.reference_rows import (
    DEFAULT_MAX_ROWS,
    delete_reference_rows,
    stats_digest,
    stored_stats_digest,
    write_reference_rows,
)
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
    endpoint_id: str | None = None,
    uid: str | None = None,
    function_name: str | None = None,
    function_tag: str | None = None,
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
    keep_reference_rows: int = DEFAULT_MAX_ROWS,
) -> ModelEndpoint:
    """Create or update the endpoint ``name`` and return the stored record.

    ``endpoint_id`` (MLRun's ``uid`` is accepted too): the id its traffic carries (MLRun 1.8+ events'
    ``endpoint_id``); without it the endpoint that ``name`` and its function already have is updated, or
    one is created under the derived id. The function is ``function_name`` (and ``function_tag``, MLRun's
    names) or ``function_uri`` (``project/function[:tag]``); left out, an existing endpoint keeps its own
    and a new one is served by ``serving``.

    ``reference_data`` (the training set, say) gives MLRun-format ``feature_stats`` of its feature
    columns (and of the ``label_names`` columns it has); alternatively pass ``feature_stats`` computed
    elsewhere. ``feature_names`` default to the reference's columns except ``label_names``. Arguments
    left ``None`` keep what is stored.

    With ``reference_data``, up to ``keep_reference_rows`` of its rows (all columns; a uniform sample with
    a fixed seed, fewer for a very wide reference; 0: none) are kept in the object store for the apps that
    need rows (``context.reference_rows``: multivariate drift, importance, segments, performance
    estimation). A new reference replaces them; a reference given as ``feature_stats`` alone removes them.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("name: a model endpoint needs a non-empty model name")
    if reference_data is not None and feature_stats is not None:
        raise ValueError("pass reference_data or feature_stats, not both")
    if isinstance(keep_reference_rows, bool) or not isinstance(keep_reference_rows, int) or keep_reference_rows < 0:
        raise ValueError(f"keep_reference_rows must be a whole number of rows (0: none), got {keep_reference_rows!r}")
    endpoint_id = _given_id(endpoint_id, uid)
    function_uri = _given_function(project, function_uri, function_name, function_tag)
    store = EndpointStore(backend.kv, project)
    endpoint_id, function_uri = _target(store, project, name, endpoint_id, function_uri, model_version)
    label_list = _names(label_names, "label_names")
    feature_list = _names(feature_names, "feature_names")
    stats: dict[str, Any] | None = None
    if reference_data is not None:
        feature_list, stats = _reference_stats(reference_data, feature_list, label_list or [])
    elif feature_stats is not None:
        stats = _checked_stats(feature_stats)
        if feature_list is None:
            feature_list = [f for f in stats if f not in (label_list or [])]
    fields: dict[str, Any] = {"name": name, "project": project, "model": name, "registered": True}
    optional = {
        "function_uri": function_uri, "model_version": model_version,
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
    new = {"function_uri": default_function_uri(project), "model_version": ""}
    endpoint = ModelEndpoint(endpoint_id=endpoint_id, created_ms=now_ms(), **{**new, **fields})
    store.register(endpoint, fields)
    registered = get_model_endpoint(backend, project, endpoint_id)
    if stats is not None:  # after the record: rows are only read with the feature_stats they were kept with
        _keep_rows(backend, ProjectPaths(project), registered, reference_data, keep_reference_rows)
    return registered


def get_model_endpoint(backend: Backend, project: str, endpoint: str | None = None, *,
                       function_name: str | None = None, function_tag: str | None = None,
                       endpoint_id: str | None = None) -> ModelEndpoint:
    """The endpoint with id ``endpoint``, else the one named ``endpoint`` (of function ``function_name``
    with tag ``function_tag``, when given); MLRun's ``endpoint_id=`` takes the id alone.

    A name that several endpoints have (served by different functions, or tracked under several ids) is
    refused with a ``ValueError`` listing each one's id and function.
    """
    store = EndpointStore(backend.kv, project)
    if endpoint_id is not None:
        found = store.get(endpoint_id) if isinstance(endpoint_id, str) and endpoint_id else None
        if (found is None or (endpoint is not None and found.name != endpoint)
                or not FunctionRef.of(found).matches(function_name, function_tag)):
            named_so = "" if endpoint is None else f" named {endpoint!r}"
            raise NotFound(f"project {project!r} has no model endpoint with id {endpoint_id!r}{named_so}"
                           + _served(function_name, function_tag))
        return found
    if not isinstance(endpoint, str) or not endpoint:
        raise ValueError("endpoint: give an endpoint id or name")
    found = store.get(endpoint)
    if found is not None and FunctionRef.of(found).matches(function_name, function_tag):
        return found
    named = list(store.scan(name=endpoint))
    matches = same_function(named, function_name, function_tag)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ambiguous(endpoint, project, matches)
    others = f"; endpoints named so: {candidates(named)}" if named else ""
    raise NotFound(f"project {project!r} has no model endpoint with id or name {endpoint!r}"
                   f"{_served(function_name, function_tag)}{others}")


def _served(function_name: str | None, function_tag: str | None) -> str:
    if function_name is None and function_tag is None:
        return ""
    return f" served by function {function_name or '*'}:{function_tag or '*'}"


def _given_id(endpoint_id: str | None, uid: str | None) -> str | None:
    if uid is not None and endpoint_id is not None and uid != endpoint_id:
        raise ValueError(f"endpoint_id {endpoint_id!r} and uid {uid!r} differ: pass one of them")
    given = endpoint_id if endpoint_id is not None else uid
    return None if given is None else check_name(given, "endpoint_id")


def _given_function(project: str, function_uri: str | None, function_name: str | None,
                    function_tag: str | None) -> str | None:
    """The ``function_uri`` the arguments name (``None``: not given)."""
    if function_name is None:
        if function_tag is not None:
            raise ValueError("function_tag needs function_name (the function the tag is of)")
        if function_uri is not None and (not isinstance(function_uri, str) or not function_uri):
            raise ValueError(f"function_uri must be 'project/function[:tag]', got {function_uri!r}")
        return function_uri
    check_name(function_name, "function_name")
    if function_tag is not None:
        check_name(function_tag, "function_tag")
    if function_uri is not None and not FunctionRef.of_uri(function_uri, project).matches(
            function_name, function_tag or DEFAULT_TAG):
        raise ValueError(f"function_uri {function_uri!r} is not function {function_name!r} "
                         f"(tag {function_tag or DEFAULT_TAG!r}): pass one of them")
    return function_uri or f"{project}/{function_name}" + (f":{function_tag}" if function_tag else "")


def _target(store: EndpointStore, project: str, name: str, endpoint_id: str | None, function_uri: str | None,
            model_version: str | None) -> tuple[str, str | None]:
    """The id to register ``name`` under and its function (``None``: keep the stored one).

    A name and its function identify one endpoint: the one that has them is updated; giving them to another
    id is refused.
    """
    named = list(store.scan(name=name, brief=True))
    if endpoint_id is None:
        pool = named if function_uri is None else [
            e for e in named if FunctionRef.of(e) == FunctionRef.of_uri(function_uri, project)]
        if len(pool) > 1:
            raise ambiguous(name, project, pool)
        if not pool:
            uri = function_uri or default_function_uri(project)
            return endpoint_uid(project, uri, name, model_version), uri
        endpoint = pool[0]
        if model_version is not None and endpoint.model_version not in ("", model_version):
            raise ValueError(
                f"model endpoint {name!r} of function {FunctionRef.of(endpoint)} exists with id "
                f"{endpoint.endpoint_id} for model version {endpoint.model_version!r}: a name and function "
                f"identify one endpoint (as in MLRun 1.8+); pass endpoint_id={endpoint.endpoint_id!r} to move it "
                f"to version {model_version!r}, or register the new version under another name or function")
        return endpoint.endpoint_id, function_uri
    existing = store.get(endpoint_id)
    function = (FunctionRef.of_uri(function_uri, project) if function_uri is not None
                else FunctionRef.of(existing) if existing is not None
                else FunctionRef.of_uri(default_function_uri(project), project))
    if existing is not None and existing.name == name and FunctionRef.of(existing) == function:
        return endpoint_id, function_uri  # it has them already (traffic under several ids may share them)
    taken = [e for e in named if e.endpoint_id != endpoint_id and FunctionRef.of(e) == function]
    if taken:
        raise ValueError(
            f"model endpoint {name!r} of function {function} already exists with id {taken[0].endpoint_id}: a "
            f"name and function identify one endpoint (as in MLRun 1.8+); register under "
            f"endpoint_id={taken[0].endpoint_id!r}, or give endpoint {endpoint_id} another name or function")
    return endpoint_id, function_uri


def _keep_rows(backend: Backend, paths: ProjectPaths, endpoint: ModelEndpoint, reference_data: pd.DataFrame | None,
               max_rows: int) -> None:
    """Keep a sample of the new reference's rows, or drop rows that belonged to the previous reference."""
    if reference_data is not None and max_rows > 0:
        write_reference_rows(backend.objects, paths, endpoint.endpoint_id, reference_data, endpoint.feature_stats,
                             max_rows=max_rows)
    elif reference_data is not None or stored_stats_digest(backend.objects, paths, endpoint.endpoint_id) not in (
            None, stats_digest(endpoint.feature_stats)):
        delete_reference_rows(backend.objects, paths, endpoint.endpoint_id)  # none kept, or another reference's


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
