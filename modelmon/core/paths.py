"""Where everything lives: the one place that derives stream, table and file paths.

Paths are V3IO paths (``<container>/<path>``) in MLRun's layout: where MLRun keeps a table, modelmon's
table at that path is of the same kind (KV, TSDB, stream, files) with MLRun's keys, labels and columns
(:data:`MLRUN_KINDS` lists them; ``tests/writer/test_mlrun_paths.py`` checks every path), and modelmon's own
tables sit beside them under names MLRun does not use. The local backend uses the same strings as logical
names. docs/v3io.md lists the layout.
"""

from __future__ import annotations

import dataclasses
import re

#: The longest name that becomes a path segment, key or label (a file name may hold 255 bytes, and keys
#: join a few names: ``<endpoint>.<app>.<result>``).
MAX_NAME_LENGTH = 128
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_name(value: str, what: str) -> str:
    """``value`` if it is a safe path segment, else ``ValueError`` naming ``what``.

    Safe: letters, digits, '_', '-', '.', starting with a letter or digit, no '..', at most
    :data:`MAX_NAME_LENGTH` characters, matched in full (so no trailing newline either).

    >>> check_name("x" * 129, "endpoint id")
    Traceback (most recent call last):
    ValueError: endpoint id 'xxx...x' is not a valid name: use 1-128 letters, digits, '_', '-', '.'
    """
    if (not isinstance(value, str) or len(value) > MAX_NAME_LENGTH or not _NAME.fullmatch(value)
            or ".." in value):
        shown = value if not isinstance(value, str) or len(value) <= 2 * MAX_NAME_LENGTH else value[:64] + "..."
        raise ValueError(f"{what} {shown!r} is not a valid name: use 1-{MAX_NAME_LENGTH} letters, digits, "
                         "'_', '-', '.'")
    return value


def deployed_name(project: str, function: str) -> str:
    """The Nuclio function name of ``function`` in ``project`` (DNS-1123: lower case, '-').

    Here rather than in :mod:`modelmon.deploy`: deployed functions (the serving example) derive their own
    name from it, and must not import the deploy machinery (nuclio-jupyter) to do so.

    >>> deployed_name("Fraud", "model_monitoring-stream")
    'fraud-model-monitoring-stream'
    """
    return re.sub(r"[^a-z0-9-]", "-", f"{project}-{function}".lower()).strip("-")



def function_name(deployed: str, project: str | None) -> str:
    """The bundle's name of a function deployed as ``deployed`` for ``project``: the inverse of
    :func:`deployed_name` (a name without the project's prefix is returned as it is).

    For a function that knows only its deployed name (Nuclio's ``NUCLIO_FUNCTION_NAME``); a config
    deploy rendered also keeps the bundle name in a label (:data:`modelmon.functions.roles.FUNCTION_LABEL`).

    >>> function_name("fraud-model-monitoring-stream", "fraud"), function_name("consumer", "fraud")
    ('model-monitoring-stream', 'consumer')
    """
    return deployed.removeprefix(deployed_name(project, "") + "-") if project else deployed

#: The names under ``monitoring-apps/`` that are tables of their own, so no endpoint's per-endpoint KV
#: (``monitoring-apps/<endpoint_id>``, as MLRun names it) may take them.
MONITORING_APPS_TABLES = frozenset({"app-results", "metrics", "app-results-latest", "app-results-history",
                                    "metrics-history", "app-results-extra-data", "app-metrics", "registry",
                                    "alerts", "failures"})


def _endpoint_table_name(endpoint_id: str) -> str:
    check_name(endpoint_id, "endpoint id")
    if endpoint_id in MONITORING_APPS_TABLES or endpoint_id.removesuffix("_metrics") in MONITORING_APPS_TABLES:
        raise ValueError(f"endpoint id {endpoint_id!r} names one of the project's monitoring-apps tables: "
                         "it has no per-endpoint table in MLRun's layout")
    return endpoint_id


#: The ``stream-<name>`` streams of the project that are no application's.
_OWN_STREAMS = frozenset({"model-monitoring-writer", "labels", "dead-letter", "alerts-parked"})


#: The kind of table MLRun keeps at each of its paths, by :class:`ProjectPaths` attribute (a path modelmon
#: uses and MLRun does not is absent). Shapes: docs/v3io.md.
MLRUN_KINDS = {
    "tracking_stream": "stream", "writer_stream": "stream", "app_stream": "stream",
    "endpoints_table": "kv", "mlrun_endpoint_results_table": "kv", "mlrun_endpoint_metrics_table": "kv",
    "predictions_tsdb": "tsdb", "errors_tsdb": "tsdb", "events_tsdb": "tsdb",
    "mlrun_results_tsdb": "tsdb", "mlrun_metrics_tsdb": "tsdb",
}


@dataclasses.dataclass(frozen=True)
class ProjectPaths:
    """Every stream, KV table, TSDB table and object prefix of one project."""

    project: str

    def __post_init__(self) -> None:
        check_name(self.project, "project")

    @property
    def _streams(self) -> str:
        return f"projects/{self.project}/model-endpoints"

    @property
    def _pipelines(self) -> str:
        return f"users/pipelines/{self.project}"

    # streams
    @property
    def tracking_stream(self) -> str:
        return f"{self._streams}/stream"

    def app_stream(self, app_name: str) -> str:
        """The app's input stream, ``stream-<app>`` as MLRun names it; an app may not take the name of one of
        the project's other streams (``stream-labels`` would be both)."""
        if app_name in _OWN_STREAMS:
            raise ValueError(f"application name {app_name!r} is the name of one of the project's streams "
                             f"(reserved: {', '.join(sorted(_OWN_STREAMS))})")
        return f"{self._streams}/stream-{check_name(app_name, 'application name')}"

    @property
    def writer_stream(self) -> str:
        return f"{self._streams}/stream-model-monitoring-writer"

    @property
    def labels_stream(self) -> str:
        return f"{self._streams}/stream-labels"

    @property
    def dead_letter_stream(self) -> str:
        return f"{self._streams}/stream-dead-letter"

    @property
    def alerts_parked_stream(self) -> str:
        """Writer events the alerts function parked past its retry deadline; the alerts function alone reads it
        (parked on the writer stream they would make the writer write them again)."""
        return f"{self._streams}/stream-alerts-parked"

    # KV tables
    @property
    def endpoints_table(self) -> str:
        return f"{self._pipelines}/model-endpoints/endpoints"

    @property
    def app_results_table(self) -> str:
        """modelmon's latest result per endpoint, app and result (KV). Not ``app-results``: that is MLRun's
        TSDB of results (:attr:`mlrun_results_tsdb`); homes written before kept this table there."""
        return f"{self._pipelines}/monitoring-apps/app-results-latest"

    @property
    def app_results_extra_table(self) -> str:
        """Each window's ``extra_data`` per endpoint, app and result (the TSDB history holds the numbers)."""
        return f"{self._pipelines}/monitoring-apps/app-results-extra-data"

    @property
    def app_metrics_table(self) -> str:
        """The metrics of each endpoint and app's latest window (the TSDB ``metrics_tsdb`` holds every window)."""
        return f"{self._pipelines}/monitoring-apps/app-metrics"

    @property
    def apps_table(self) -> str:
        """Registered monitoring applications (the controller's list)."""
        return f"{self._pipelines}/monitoring-apps/registry"

    @property
    def schedules_table(self) -> str:
        """Per endpoint × app: ``last_analyzed`` (the controller's progress)."""
        return f"{self._pipelines}/monitoring-schedules/last-analyzed"

    @property
    def claims_table(self) -> str:
        """The controller's confirmed pushes: one item per batch of claimed windows."""
        return f"{self._pipelines}/monitoring-schedules/claims"

    @property
    def alerts_table(self) -> str:
        """Alerts raised by the writer when a result reaches ``detected``."""
        return f"{self._pipelines}/monitoring-apps/alerts"

    @property
    def alert_configs_table(self) -> str:
        """Alert configs (``modelmon.alerts.configs.AlertConfig``), one item per config name."""
        return f"{self._pipelines}/alerts/configs"

    @property
    def alert_activations_table(self) -> str:
        """Alert activations: one item per config, endpoint, app and result (state and history)."""
        return f"{self._pipelines}/alerts/activations"

    @property
    def alert_deliveries_table(self) -> str:
        """The notification outbox: one item per notification key and channel."""
        return f"{self._pipelines}/alerts/deliveries"

    @property
    def app_failures_table(self) -> str:
        return f"{self._pipelines}/monitoring-apps/failures"

    @property
    def labels_table(self) -> str:
        """Ground-truth labels for request ids not (yet) matched to a prediction."""
        return f"{self._pipelines}/model-endpoints/labels"

    # TSDB tables
    @property
    def predictions_tsdb(self) -> str:
        return f"{self._pipelines}/model-endpoints/predictions"

    @property
    def errors_tsdb(self) -> str:
        return f"{self._pipelines}/model-endpoints/errors"

    @property
    def app_results_tsdb(self) -> str:
        """modelmon's result history (one series per write: readers keep the newest per window)."""
        return f"{self._pipelines}/monitoring-apps/app-results-history"

    @property
    def metrics_tsdb(self) -> str:
        """modelmon's metric history (as :attr:`app_results_tsdb`). Not ``metrics``: that is MLRun's metrics
        TSDB (:attr:`mlrun_metrics_tsdb`, other labels and columns); homes written before kept it there."""
        return f"{self._pipelines}/monitoring-apps/metrics-history"

    # MLRun's own tables of application results, written in MLRun's shape for its dashboards and SDK
    @property
    def mlrun_results_tsdb(self) -> str:
        """MLRun's results TSDB: labels endpoint_id, application_name, result_name; time = window end."""
        return f"{self._pipelines}/monitoring-apps/app-results"

    @property
    def mlrun_metrics_tsdb(self) -> str:
        """MLRun's metrics TSDB: labels endpoint_id, application_name, metric_name; time = window end."""
        return f"{self._pipelines}/monitoring-apps/metrics"

    def mlrun_endpoint_results_table(self, endpoint_id: str) -> str:
        """MLRun's per-endpoint KV of results: key = app name, one attribute per result name.

        ``ValueError`` for an endpoint id that names one of the project's other tables in the same folder
        (``registry``, ``app-results``, ...): MLRun's ids are hashes and never do."""
        return f"{self._pipelines}/monitoring-apps/{_endpoint_table_name(endpoint_id)}"

    def mlrun_endpoint_metrics_table(self, endpoint_id: str) -> str:
        """MLRun's per-endpoint KV of metrics: key = ``<app>.<metric>``."""
        return f"{self._pipelines}/monitoring-apps/{_endpoint_table_name(endpoint_id)}_metrics"

    # objects (sample store and artifacts)
    def samples_prefix(self, endpoint_id: str) -> str:
        return f"{self._pipelines}/model-endpoints/parquet/{check_name(endpoint_id, 'endpoint id')}"

    @property
    def artifacts_prefix(self) -> str:
        return f"{self._pipelines}/artifacts"

    def reference_rows_object(self, endpoint_id: str) -> str:
        """The sample of the endpoint's reference rows kept at registration (one parquet object), for the apps
        that need rows rather than histograms; named by the endpoint id, so the endpoint record does not point
        at it."""
        return f"{self._pipelines}/model-endpoints/reference-rows/{check_name(endpoint_id, 'endpoint id')}.parquet"

    # --- added for issue 19 (MLRun's Grafana layout) by the events-TSDB work; 19-A owns the rest of this file
    @property
    def events_tsdb(self) -> str:
        """MLRun's ``events`` TSDB: the rolling figures and sampled feature rows its dashboards chart."""
        return f"{self._pipelines}/model-endpoints/events"
