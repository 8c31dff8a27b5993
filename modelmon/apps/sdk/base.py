"""The base class of monitoring applications and the code that runs one on a context."""

from __future__ import annotations

import abc
import functools
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any, cast

import pandas as pd

from modelmon.apps.sdk.context import MonitoringApplicationContext
from modelmon.apps.sdk.evaluate import evaluate_app
from modelmon.apps.sdk.mlrun_evaluate import evaluate_mlrun, is_mlrun_form
from modelmon.apps.sdk.mlrun_stats import dict_to_histogram
from modelmon.core.results import (
    ModelMonitoringApplicationMetric,
    ModelMonitoringApplicationResult,
    ModelMonitoringApplicationStats,
)

Output = tuple[list[ModelMonitoringApplicationResult], list[ModelMonitoringApplicationMetric]]
log = logging.getLogger(__name__)


class _LegacyContext:
    """``self.context`` of a 1.6-style app (MLRun's run context then): a keyword logger, the project's
    name and the ``log_*`` methods, bound to the current window."""

    def __init__(self, monitoring_context: MonitoringApplicationContext) -> None:
        self.logger = monitoring_context.logger
        self.project = monitoring_context.project_name
        self._monitoring_context = monitoring_context

    def log_artifact(self, *args: Any, **kwargs: Any) -> str:
        return self._monitoring_context.log_artifact(*args, **kwargs)

    def log_dataset(self, *args: Any, **kwargs: Any) -> str:
        return self._monitoring_context.log_dataset(*args, **kwargs)

    def log_model(self, *args: Any, **kwargs: Any) -> str:
        return self._monitoring_context.log_model(*args, **kwargs)


class _InstanceOrClassMethod:
    """A method callable on an instance, or on the class (then on a default-constructed instance)."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __get__(self, instance: Any, owner: type) -> Callable[..., Any]:
        if instance is not None:
            return functools.partial(self.func, instance)

        @functools.wraps(self.func)
        def on_default_instance(*args: Any, **kwargs: Any) -> Any:
            arguments = kwargs.pop("class_arguments", None) or {}  # MLRun's evaluate builds the app with them
            try:
                app = owner(**arguments)
            except TypeError as exc:
                raise TypeError(
                    f"{owner.__name__}.{self.func.__name__}() on the class needs an app constructible without "
                    f"arguments ({exc}); call {owner.__name__}(...).{self.func.__name__}(...) instead"
                ) from None
            return self.func(app, *args, **kwargs)

        return on_default_instance


class ModelMonitoringApplicationBase(abc.ABC):
    """Subclass this and implement ``do_tracking(self, monitoring_context)``.

    ``do_tracking`` returns a result, a metric, a list of them, or a ``dict[str, float]`` of metrics.
    Apps may take constructor arguments (deployed apps get them from the function's configuration).
    ``NAME`` is the app's default registered name.
    """

    NAME: str | None = None
    context: Any = None  # set for 1.6-style apps while they run
    #: MLRun 1.6's helper on the app class (1.7+ has it on the context too)
    dict_to_histogram = staticmethod(dict_to_histogram)

    @abc.abstractmethod
    def do_tracking(self, *args: Any, **kwargs: Any) -> Any:
        """Analyse one window; see the class docstring for what to return."""

    @_InstanceOrClassMethod
    def evaluate(
        self,
        sample_df: pd.DataFrame | str | None = None,
        func_name: str | None = None,
        *,
        reference_df: pd.DataFrame | None = None,
        feature_stats: dict[str, dict[str, Any]] | None = None,
        start: Any = None,
        end: Any = None,
        base_period: int | None = None,
        **options: Any,
    ) -> pd.DataFrame:
        """Run this app on DataFrames, with no infrastructure, and return its results and metrics.

        One row per window × result/metric, with columns ``application_name, endpoint_id,
        start_infer_time, end_infer_time`` (UTC ``Timestamp``), ``type`` ('result'|'metric'), ``name,
        value, status, status_name, kind, kind_name, extra_data``: ``status_name`` is ``"detected"`` where
        ``status`` is 2 (the integer MLRun stores), and both are ``None`` for a metric. A missing (NaN)
        value is NaN in ``value``.

        With ``base_period`` (minutes) the rows are split by their ``timestamp`` column (epoch ms or
        datetimes) into the controller's windows, ``[k * period, (k + 1) * period)`` since the epoch, and
        only full windows are analysed: those inside ``[start, end)`` when given, else those the data
        covers (its first and last rows within one typical row spacing of the window's edges). Without
        it, one window ``[start, end)``, by default from the first row to just after the last. Rows left
        out are counted in ``result.attrs["rows_left_out"]`` and named by a
        :class:`~modelmon.apps.sdk.PartialWindowsWarning`.

        The reference comes from ``reference_df`` (via ``modelmon.stats.feature_stats``) or
        ``feature_stats``; ``reference_df``'s rows are also the context's ``reference_rows`` (the rows apps
        such as multivariate-drift fit on), unless ``reference_rows=`` gives other rows. ``options`` fill
        the rest of the context: ``endpoint_id``, ``feature_names``, ``label_names``, ``model_endpoint``
        (e.g. with ``reference_performance``), ``labels_df``, ``error_count`` and ``objects`` (an
        ObjectStore that keeps logged artifacts). Callable on the class too, when the app needs no
        constructor arguments.

        MLRun 1.8+'s form is accepted as well: ``evaluate(func_path=None, func_name=None, *,
        sample_data=, reference_data=, class_arguments=, run_local=True, endpoints=, start=, end=,
        base_period=, ...)`` (see :mod:`modelmon.apps.sdk.mlrun_evaluate`); it returns the same DataFrame.
        There ``endpoints`` without ``sample_data`` read the endpoints' stored traffic of ``project=`` (by
        default the one ``MODELMON_HOME``/``MODELMON_PROJECT`` name).
        """
        if is_mlrun_form(sample_df, list(options)):
            if isinstance(sample_df, pd.DataFrame):
                raise TypeError("evaluate: in MLRun's form the data goes in sample_data= (the first argument is "
                                "func_path); or call evaluate(sample_df, reference_df=...)")
            arguments = options.pop("class_arguments", None)
            app = type(self)(**arguments) if arguments else self
            for name, value in (("reference_df", reference_df), ("feature_stats", feature_stats)):
                if value is not None:
                    raise TypeError(f"evaluate: {name}= is not part of MLRun's form; give reference_data=")
            if "func_path" in options and sample_df is not None:
                raise TypeError("evaluate: func_path given twice (the first argument is func_path)")
            func_path = options.pop("func_path", sample_df)
            return _float_values(evaluate_mlrun(app, func_path, func_name, start=start, end=end,
                                                base_period=base_period, **options))
        if func_name is not None:
            raise TypeError("evaluate(sample_df, ...) takes its other arguments by keyword")
        return _float_values(evaluate_app(
            self, cast(pd.DataFrame, sample_df), reference_df=reference_df, feature_stats=feature_stats,
            start=start, end=end, base_period=base_period, **options,
        ))


def _float_values(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its ``value`` column as floats: a missing (NaN) value, ``None`` in its output, is NaN."""
    values = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    out = frame.assign(value=values)
    out.attrs.update(frame.attrs)
    return out


#: MLRun 1.7's name of the base class (its ``do_tracking(monitoring_context)`` form).
ModelMonitoringApplicationBaseV2 = ModelMonitoringApplicationBase


def is_legacy(app: ModelMonitoringApplicationBase) -> bool:
    """True when the app's ``do_tracking`` has MLRun 1.6's long signature."""
    method = app.do_tracking
    function = getattr(method, "__func__", method)
    try:
        return _known_legacy_signature(function)
    except TypeError:  # an unhashable callable: not kept
        return _has_legacy_signature(function)


def _has_legacy_signature(do_tracking: Callable[..., Any]) -> bool:
    params = inspect.signature(do_tracking).parameters
    return "application_name" in params and "sample_df" in params


#: Per function: ``inspect.signature`` costs a few µs, on every window of every endpoint.
_known_legacy_signature = functools.lru_cache(maxsize=256)(_has_legacy_signature)


def run_application(app: ModelMonitoringApplicationBase, context: MonitoringApplicationContext) -> Output:
    """Call ``app.do_tracking`` for ``context`` (either signature) and normalise what it returns.

    Stats outputs (:class:`~modelmon.core.results.ModelMonitoringApplicationStats`) are stored as JSON
    artifacts of the window named after their kind. Raises ``ValueError`` when the app returns something
    that is not a result, metric or stats.
    """
    if is_legacy(app):
        app.context = _LegacyContext(context)
        try:
            returned = app.do_tracking(
                application_name=context.application_name,
                sample_df_stats=context.sample_df_stats,
                feature_stats=context.feature_stats,
                sample_df=context.sample_df,
                start_infer_time=context.start_infer_time,
                end_infer_time=context.end_infer_time,
                latest_request=context.latest_request,
                endpoint_id=context.endpoint_id,
                output_stream_uri=context.output_stream_uri,
            )
        finally:
            app.context = None
    else:
        returned = app.do_tracking(context)
    results, metrics, stats = split_output(returned)
    for item in stats:
        store_stats(context, item)
    return results, metrics


def store_stats(context: MonitoringApplicationContext, stats: ModelMonitoringApplicationStats) -> str | None:
    """Keep ``stats`` as the window's JSON artifact ``<kind>`` (``current_stats``, ``drift_measures``);
    where the context stores no artifacts they are logged and dropped."""
    try:
        return str(context.log_artifact(stats.name.value, stats.to_dict()))
    except RuntimeError as exc:  # a context built without an artifact store
        log.warning("%s: stats %r not stored: %s", context.application_name, stats.name.value, exc)
        return None


def normalise_output(returned: Any) -> Output:
    """Results and metrics from whatever ``do_tracking`` returned (stats outputs left out)."""
    results, metrics, _ = split_output(returned)
    return results, metrics


def split_output(returned: Any) -> tuple[list[ModelMonitoringApplicationResult], list[ModelMonitoringApplicationMetric],
                                         list[ModelMonitoringApplicationStats]]:
    """Results, metrics and stats from whatever ``do_tracking`` returned, as MLRun accepts it: one output,
    a ``dict`` of metrics, or lists and tuples of them, nested or empty (``([], [])``, ``[[r1], m1]``)."""
    results: list[ModelMonitoringApplicationResult] = []
    metrics: list[ModelMonitoringApplicationMetric] = []
    stats: list[ModelMonitoringApplicationStats] = []
    for item in _flattened(returned, top=True):
        if isinstance(item, ModelMonitoringApplicationResult):
            results.append(item)
        elif isinstance(item, ModelMonitoringApplicationMetric):
            metrics.append(item)
        else:
            stats.append(item)
    names = [r.name for r in results] + [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ValueError(f"do_tracking returned duplicate names: {sorted(names)}")
    kinds = [s.name.value for s in stats]
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"do_tracking returned stats of one kind twice: {sorted(kinds)}")
    return results, metrics, stats


_OUTPUTS = (ModelMonitoringApplicationResult, ModelMonitoringApplicationMetric, ModelMonitoringApplicationStats)


def _flattened(returned: Any, *, top: bool = False) -> Iterable[Any]:
    """The outputs in ``returned``, lists and tuples opened at any depth, a ``dict`` read as metrics."""
    if returned is None:
        return
    if isinstance(returned, _OUTPUTS):
        yield returned
    elif isinstance(returned, dict):
        yield from (ModelMonitoringApplicationMetric(k, v) for k, v in returned.items())
    elif isinstance(returned, list | tuple):
        for item in returned:
            yield from _flattened(item)
    elif top:
        raise ValueError(f"do_tracking returned {type(returned).__name__}; expected results or metrics")
    else:
        raise ValueError(f"do_tracking returned a {type(returned).__name__} in its list")
