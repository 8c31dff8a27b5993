"""``system-performance``: latency percentiles, error rate and throughput per window, against SLOs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelmon.apps.sdk import ModelMonitoringApplicationBase, MonitoringApplicationContext
from modelmon.apps.sdk.thresholds import Thresholds
from modelmon.core.arrays import FloatArray
from modelmon.core.results import ModelMonitoringApplicationMetric, ModelMonitoringApplicationResult, ResultKindApp
from modelmon.core.results import ResultStatusApp as Status
from modelmon.core.timeutil import to_ms

_PERCENTILES = (50, 95, 99)


class SystemPerformanceApplication(ModelMonitoringApplicationBase):
    """How the model server behaved in the window, from the stored rows and the window's error count.

    Results (kind ``system_performance``): ``latency_p50_us``, ``latency_p95_us``, ``latency_p99_us``
    (over the ``latency_us`` column), ``error_rate`` (errors / (rows + errors)) and
    ``throughput_per_minute`` (rows per minute of window). Each is ``detected`` beyond its SLO,
    ``potential_detection`` beyond ``warning_fraction`` of it (for throughput: below the minimum, or
    below minimum / ``warning_fraction``), ``irrelevant`` without an SLO or without data. Metrics:
    ``request_count`` and ``error_count``.

    :param latency_p50_slo_us: SLO of the median latency in microseconds (``None``: no SLO).
    :param latency_p95_slo_us: SLO of the 95th percentile latency.
    :param latency_p99_slo_us: SLO of the 99th percentile latency (default one second).
    :param error_rate_slo: highest acceptable share of failed requests (default 1%).
    :param min_throughput_per_minute: lowest acceptable rows per minute (``None``: no SLO).
    :param warning_fraction: in (0, 1]; how close to an SLO a value becomes a potential detection.
    """

    NAME = "system-performance"

    def __init__(
        self,
        *,
        latency_p50_slo_us: float | None = None,
        latency_p95_slo_us: float | None = None,
        latency_p99_slo_us: float | None = 1_000_000.0,
        error_rate_slo: float | None = 0.01,
        min_throughput_per_minute: float | None = None,
        warning_fraction: float = 0.8,
    ) -> None:
        if not 0 < warning_fraction <= 1:
            raise ValueError(f"warning_fraction must be in (0, 1], got {warning_fraction!r}")
        self.latency_p50_slo_us = latency_p50_slo_us
        self.latency_p95_slo_us = latency_p95_slo_us
        self.latency_p99_slo_us = latency_p99_slo_us
        self.error_rate_slo = error_rate_slo
        self.min_throughput_per_minute = min_throughput_per_minute
        self.warning_fraction = warning_fraction
        slos = {f"latency_p{p}_us": getattr(self, f"latency_p{p}_slo_us") for p in _PERCENTILES}
        slos["error_rate"] = error_rate_slo
        self._limits: dict[str, Thresholds | None] = {
            name: None if slo is None else Thresholds(warning_fraction * slo, slo) for name, slo in slos.items()
        }
        self._limits["throughput_per_minute"] = None if min_throughput_per_minute is None else Thresholds(
            min_throughput_per_minute / warning_fraction, min_throughput_per_minute, higher_is_worse=False
        )

    def do_tracking(self, monitoring_context: MonitoringApplicationContext) -> list[Any]:
        """The window's latency, error rate and throughput, each judged against its SLO."""
        df = monitoring_context.sample_df
        if "error" in df.columns:
            df = df[df["error"].isna()]
        rows, errors = len(df), monitoring_context.error_count
        values: dict[str, float | None] = dict.fromkeys(self._limits)
        latency = _latencies(df)
        if latency.size:
            for p, value in zip(_PERCENTILES, np.percentile(latency, _PERCENTILES), strict=True):
                values[f"latency_p{p}_us"] = float(value)
        if rows + errors:
            values["error_rate"] = errors / (rows + errors)
        minutes = (to_ms(monitoring_context.end_infer_time) - to_ms(monitoring_context.start_infer_time)) / 60_000
        if minutes > 0:
            values["throughput_per_minute"] = rows / minutes
        outputs: list[Any] = [self._result(name, value, rows) for name, value in values.items()]
        outputs.append(ModelMonitoringApplicationMetric("request_count", rows + errors))
        outputs.append(ModelMonitoringApplicationMetric("error_count", errors))
        return outputs

    def _result(self, name: str, value: float | None, rows: int) -> ModelMonitoringApplicationResult:
        limit = self._limits[name]
        extra: dict[str, Any] = {"rows": rows, "slo": None if limit is None else limit.to_dict()}
        if value is None:
            extra["reason"] = "no data in the window"
            status = Status.irrelevant
        else:
            status = Status.irrelevant if limit is None else limit.status(value)
        return ModelMonitoringApplicationResult(
            name, 0.0 if value is None else value, ResultKindApp.system_performance, status, extra
        )


def _latencies(df: pd.DataFrame) -> FloatArray:
    """Latencies in microseconds of the rows that have one."""
    if "latency_us" not in df.columns:
        return np.empty(0)
    column = df["latency_us"]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):  # as stored: no parse
        values = column.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    finite: FloatArray = values[np.isfinite(values)]
    return finite
