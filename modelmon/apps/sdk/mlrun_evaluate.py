"""``App.evaluate`` in MLRun 1.8+'s keyword form, as MLRun's hub notebooks call it::

    MyApp.evaluate(func_path="my_app.py", func_name="my-app", sample_data=df, reference_data=ref,
                   class_arguments={"threshold": 0.3}, run_local=True)

MLRun builds a job from ``func_path`` and runs it; modelmon already has the class, so it runs the app here
on the DataFrames (as :func:`~modelmon.apps.sdk.evaluate.evaluate_app` does) and returns the same
results DataFrame. Without ``sample_data``, ``endpoints`` with ``start`` and ``end`` read the endpoints'
stored traffic and reference (its ``feature_stats`` and the reference rows kept at registration), as MLRun
does, from the project ``project=`` names (a
:class:`~modelmon.project.Project`, or the one ``MODELMON_HOME``/``MODELMON_PROJECT`` name, as MLRun
uses its current project), in MLRun's windows: ``base_period`` minutes from ``start``. What only
concerns building an image (``tag``, ``image``, ``requirements``, …) is accepted and has no effect;
what modelmon cannot do here (run remotely, write the outputs) is a ``ValueError`` saying what to do
instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelmon.apps.sdk.evaluate import evaluate_app
from modelmon.core.timeutil import TimeLike, to_ms

if TYPE_CHECKING:
    from modelmon.apps.sdk.base import ModelMonitoringApplicationBase

#: Keywords only MLRun's form has: any of them selects it.
MLRUN_KEYWORDS = frozenset({
    "func_path", "func_name", "tag", "run_local", "auto_build", "sample_data", "reference_data", "image",
    "with_repo", "class_handler", "class_arguments", "requirements", "requirements_file", "endpoints",
    "write_output", "existing_data_handling", "stream_profile", "project",
})


def is_mlrun_form(first: Any, keywords: Sequence[str]) -> bool:
    """Whether an ``evaluate`` call is MLRun's: a path (or nothing) first, or one of MLRun's keywords."""
    return first is None or isinstance(first, str | os.PathLike) or any(k in MLRUN_KEYWORDS for k in keywords)


def evaluate_mlrun(
    app: ModelMonitoringApplicationBase,
    func_path: str | os.PathLike[str] | None = None,
    func_name: str | None = None,
    *,
    tag: str | None = None,
    run_local: bool = True,
    auto_build: bool = True,
    sample_data: pd.DataFrame | str | None = None,
    reference_data: pd.DataFrame | str | None = None,
    image: str | None = None,
    with_repo: bool | None = False,
    class_handler: str | None = None,
    requirements: str | list[str] | None = None,
    requirements_file: str = "",
    endpoints: Sequence[str | tuple[str, str]] | str | None = None,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    base_period: int | None = None,
    write_output: bool = False,
    existing_data_handling: Any = None,
    stream_profile: Any = None,
    project: Any = None,
) -> pd.DataFrame:
    """Run ``app`` (already built with its ``class_arguments``) as MLRun's ``evaluate`` would run it locally.

    ``func_name`` names the app in the results (MLRun's application name); ``endpoints`` (names, or
    ``(name, uid)`` pairs) repeat the analysis of ``sample_data`` once per endpoint, under its uid.
    """
    del tag, auto_build, image, with_repo, class_handler, requirements, requirements_file  # image building only
    if not run_local:
        raise ValueError("evaluate(run_local=False): modelmon evaluates on this machine only; to run the app on "
                         "live traffic, register it with project.set_model_monitoring_function(...)")
    if write_output or stream_profile is not None:
        raise ValueError("evaluate(write_output=True): evaluate returns the results without storing them; the "
                         "app registered with project.set_model_monitoring_function(...) stores its results")
    del existing_data_handling  # only with write_output
    if func_path is not None and not Path(func_path).exists():
        raise ValueError(f"func_path {str(func_path)!r} does not exist")
    reference_df = None if reference_data is None else _frame(reference_data, "reference_data")
    if sample_data is None:
        if not endpoints:
            raise ValueError("evaluate needs sample_data (a DataFrame, or a .parquet or .csv file), or endpoints= "
                             "with start= and end= to read their stored traffic")
        frames = _on_stored_traffic(app, endpoints, start, end, base_period, reference_df, project)
    else:
        sample_df = _frame(sample_data, "sample_data")
        frames = [
            evaluate_app(app, sample_df, reference_df=reference_df, start=start, end=end, base_period=base_period,
                         endpoint_id=endpoint_id)
            for endpoint_id in _endpoint_ids(endpoints)
        ]
    rows_left_out = sum(int(f.attrs.get("rows_left_out", 0)) for f in frames)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if func_name is not None:
        frame = frame.assign(application_name=str(func_name))
    frame.attrs["rows_left_out"] = rows_left_out
    return frame


def _frame(data: pd.DataFrame | str, what: str) -> pd.DataFrame:
    """``data`` as a DataFrame: itself, or read from a local parquet or CSV file."""
    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, str | os.PathLike):
        raise ValueError(f"{what} must be a pandas DataFrame or a file path, got {type(data).__name__}")
    path = Path(data)
    if "://" in str(data) or not path.is_file():
        raise ValueError(f"{what} {str(data)!r}: expected a DataFrame or an existing local .parquet/.csv file "
                         "(MLRun's dataset URIs are not read here)")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"{what} {str(data)!r}: read .parquet or .csv files, not {path.suffix or 'no suffix'}")


def _endpoint_ids(endpoints: Sequence[str | tuple[str, str]] | str | None) -> list[str]:
    """The endpoint ids to analyse ``sample_data`` under: one default id, or one per listed endpoint."""
    if endpoints is None or endpoints == "all":
        return ["evaluate"]
    if isinstance(endpoints, str):
        raise ValueError(f"endpoints={endpoints!r}: give a list of names or (name, uid) pairs, or 'all'")
    ids = []
    for endpoint in endpoints:
        if isinstance(endpoint, tuple | list) and len(endpoint) == 2:
            ids.append(str(endpoint[1]))
        elif isinstance(endpoint, str):
            ids.append(endpoint)
        else:
            raise ValueError(f"endpoints: {endpoint!r} is neither a name nor a (name, uid) pair")
    return ids or ["evaluate"]


def _on_stored_traffic(app: ModelMonitoringApplicationBase, endpoints: Sequence[str | tuple[str, str]] | str,
                       start: TimeLike | None, end: TimeLike | None, base_period: int | None,
                       reference_df: pd.DataFrame | None, project: Any) -> list[pd.DataFrame]:
    """The app on each endpoint's stored traffic in MLRun's windows ``[start + k * base_period, ...)``."""
    from modelmon.backends import make_backend
    from modelmon.core.config import Settings
    from modelmon.core.paths import ProjectPaths
    from modelmon.endpoints.reference_rows import read_reference_rows
    from modelmon.endpoints.store import EndpointStore

    if start is None or end is None:
        raise ValueError("evaluate(endpoints=...) without sample_data needs start= and end= (the data to read)")
    start_ms, end_ms = to_ms(start), to_ms(end)
    period_ms = (end_ms - start_ms) if base_period is None else base_period * 60_000
    if end_ms <= start_ms or period_ms <= 0 or (end_ms - start_ms) % period_ms:
        raise ValueError(f"evaluate: end - start must be a positive multiple of base_period ({base_period} min)")
    owned = project is None or isinstance(project, str)
    settings = None
    if owned:
        settings = Settings.from_env(project=project) if isinstance(project, str) else Settings.from_env()
    backend = make_backend(settings) if settings is not None else project.backend
    name = settings.project if settings is not None else project.name
    try:
        store = EndpointStore(backend.kv, name)
        frames = []
        for endpoint in _stored_endpoints(store, name, endpoints):
            reference = endpoint.feature_stats if reference_df is None else None  # reference_data wins
            stored = None if reference_df is not None or not reference else read_reference_rows(
                backend.objects, ProjectPaths(name), endpoint.endpoint_id, reference)
            for window_start in range(start_ms, end_ms, period_ms):
                window_end = window_start + period_ms
                frames.append(evaluate_app(
                    app, backend.samples.read(endpoint.endpoint_id, window_start, window_end),
                    reference_df=reference_df, feature_stats=reference,
                    start=window_start, end=window_end, endpoint_id=endpoint.endpoint_id,
                    feature_names=endpoint.feature_names or None, label_names=endpoint.label_names,
                    model_endpoint=endpoint.to_dict(), reference_rows=None if stored is None else stored.frame))
        return frames
    finally:
        if owned:
            backend.close()


def _stored_endpoints(store: Any, project: str, endpoints: Sequence[str | tuple[str, str]] | str) -> list[Any]:
    """The endpoints ``endpoints`` names: ``"all"``, names (every endpoint of that name) or (name, uid) pairs."""
    from modelmon.core.errors import NotFound

    if endpoints == "all":
        return list(store.scan())
    if isinstance(endpoints, str):
        raise ValueError(f"endpoints={endpoints!r}: give a list of names or (name, uid) pairs, or 'all'")
    found = []
    for ref in endpoints:
        if isinstance(ref, tuple | list) and len(ref) == 2:
            endpoint = store.get(str(ref[1]))
            named = [endpoint] if endpoint is not None else []
        elif isinstance(ref, str):
            named = list(store.scan(name=ref))
        else:
            raise ValueError(f"endpoints: {ref!r} is neither a name nor a (name, uid) pair")
        if not named:
            raise NotFound(f"project {project!r} has no model endpoint {ref!r}")
        found.extend(named)
    return found
