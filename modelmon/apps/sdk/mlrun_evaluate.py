"""``App.evaluate`` in MLRun 1.8+'s keyword form, as MLRun's hub notebooks call it::

    MyApp.evaluate(func_path="my_app.py", func_name="my-app", sample_data=df, reference_data=ref,
                   class_arguments={"threshold": 0.3}, run_local=True)

MLRun builds a job from ``func_path`` and runs it; modelmon already has the class, so it runs the app here
on the DataFrames (as :func:`~modelmon.apps.sdk.evaluate.evaluate_app` does) and returns the same
results DataFrame. What only concerns building an image (``tag``, ``image``, ``requirements``, …) is
accepted and has no effect; what modelmon cannot do here (run remotely, write the outputs, read an
endpoint's stored data) is a ``ValueError`` saying what to do instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from modelmon.apps.sdk.evaluate import evaluate_app
from modelmon.core.timeutil import TimeLike

if TYPE_CHECKING:
    from modelmon.apps.sdk.base import ModelMonitoringApplicationBase

#: Keywords only MLRun's form has: any of them selects it.
MLRUN_KEYWORDS = frozenset({
    "func_path", "func_name", "tag", "run_local", "auto_build", "sample_data", "reference_data", "image",
    "with_repo", "class_handler", "class_arguments", "requirements", "requirements_file", "endpoints",
    "write_output", "existing_data_handling", "stream_profile",
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
    if sample_data is None:
        if endpoints:
            raise ValueError("evaluate(endpoints=...) without sample_data: modelmon's evaluate analyses the data "
                             "you pass; give sample_data (e.g. from project.get_sample_df) or run the registered "
                             "app on the endpoints' traffic")
        raise ValueError("evaluate needs sample_data: a DataFrame, or a .parquet or .csv file")
    sample_df = _frame(sample_data, "sample_data")
    reference_df = None if reference_data is None else _frame(reference_data, "reference_data")
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
