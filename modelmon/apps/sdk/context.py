"""The monitoring context an application receives for one window of one endpoint (MLRun's names)."""

from __future__ import annotations

import functools
import logging
import pathlib
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

from modelmon.apps.reference_rows import rows_key
from modelmon.apps.sdk.app_logger import app_logger
from modelmon.apps.sdk.artifact_formats import is_figure
from modelmon.apps.sdk.artifact_items import Artifact, LoggedArtifact, sanitise_key
from modelmon.apps.sdk.endpoint_view import ModelEndpointView
from modelmon.apps.sdk.mlrun_stats import dict_to_histogram, padded_stats

FeatureStats = dict[str, dict[str, Any]]

#: Sample-store columns that are bookkeeping, not model inputs or outputs.
META_COLUMNS = ("timestamp", "request_id", "latency_us", "batch_id", "error")
#: The bookkeeping columns MLRun's ``sample_df`` does not have (it has ``timestamp``): in ``window_df`` only,
#: unless the app asks for them (``SAMPLE_DF_BOOKKEEPING = True``; modelmon's built-in apps do).
BOOKKEEPING_COLUMNS = ("request_id", "latency_us", "batch_id", "error")
#: The conventional name of a ground-truth column carried in the window's rows.
LABEL_COLUMN = "label"


class ArtifactSink(Protocol):
    """Where ``log_artifact``/``log_dataset`` store what an application logs."""

    def log_artifact(
        self, context: MonitoringApplicationContext, name: str, body: Any, fmt: str | None,
        *, unique_per_endpoint: bool = True,
    ) -> str:
        """Store the artifact for the context's window and return its path/key.

        ``unique_per_endpoint=False`` stores one artifact per app and window shared by all endpoints.
        """


def wants_bookkeeping_columns(app: object) -> bool:
    """Whether ``app``'s ``sample_df`` keeps ``request_id``, ``latency_us``, ``batch_id`` and ``error``:
    its ``SAMPLE_DF_BOOKKEEPING`` attribute, by default true for modelmon's built-in apps only."""
    wanted = getattr(app, "SAMPLE_DF_BOOKKEEPING", None)
    if wanted is not None:
        return bool(wanted)
    return type(app).__module__.startswith("modelmon.apps.builtin")


class MonitoringApplicationContext:
    """Everything ``do_tracking`` may read about the window it analyses (MLRun's names).

    Expensive values are loaded only when first used, from loaders passed by whoever builds the
    context (the app runtime reads them from the backend; ``App.evaluate`` from DataFrames):

    - ``window_df``: the window's rows as stored, indexed from 0 (features, predictions, ``timestamp``
      in epoch ms, ``request_id``, ``latency_us``, …), from a DataFrame or a callable returning one;
    - ``sample_df``: ``window_df`` as MLRun gives it, without the bookkeeping columns and with
      ``timestamp`` as UTC datetimes (unless ``bookkeeping_columns``: then ``window_df`` itself);
    - ``feature_stats``/``sample_df_stats``: the reference's and the window's statistics, numeric
      histograms padded as MLRun pads them (see :mod:`modelmon.apps.sdk.mlrun_stats`);
    - ``error_count``: model errors in the window (an int or a callable returning one); by default
      the number of non-null values of an ``error`` column of the rows, else 0;
    - ``labels_df``: ground-truth labels for the window's requests, with a ``request_id`` column to
      join on (a DataFrame or a callable); by default the window's rows, i.e. the labels are the
      columns already present in them (e.g. a ``label`` column);
    - ``model_endpoint``: MLRun's object (``metadata``/``spec``/``status``), also readable as the record's dict;
    - ``reference_rows``: the endpoint's reference *rows* (a DataFrame, or a callable returning one or
      ``None``), for apps that need more than histograms: in the app function, the sample kept when the
      endpoint was registered with ``reference_data``; in ``evaluate``, its reference data. ``None`` when
      there are none. Shared between windows: copy it before changing it in place;
    - ``reference_rows_key``: a short text that changes whenever the reference rows do (a str or a
      callable), so an app can keep what it fitted on the rows per endpoint and refit only on a new
      reference; by default a digest of the rows.
    """

    def __init__(
        self,
        *,
        application_name: str,
        project_name: str,
        endpoint_id: str,
        endpoint_name: str = "",
        start_infer_time: pd.Timestamp,
        end_infer_time: pd.Timestamp,
        sample_df: pd.DataFrame | Callable[[], pd.DataFrame],
        feature_stats: FeatureStats | None = None,
        feature_names: Sequence[str] = (),
        label_names: Sequence[str] = (),
        model_endpoint: Mapping[str, Any] | None = None,
        logger: logging.Logger | Any = None,
        nuclio_logger: Any = None,
        artifact_sink: ArtifactSink | None = None,
        stats_fn: Callable[[pd.DataFrame, FeatureStats], FeatureStats] | None = None,
        latest_request: pd.Timestamp | None = None,
        output_stream_uri: str = "",
        error_count: int | Callable[[], int] | None = None,
        labels_df: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
        bookkeeping_columns: bool = False,
        reference_rows: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None,
        reference_rows_key: str | Callable[[], str | None] | None = None,
    ) -> None:
        self.application_name = application_name
        self.project_name = project_name
        self.endpoint_id = endpoint_id
        self.endpoint_name = endpoint_name
        self.start_infer_time = start_infer_time
        self.end_infer_time = end_infer_time
        self.feature_names = list(feature_names)
        self.label_names = list(label_names)
        # the view is built on first use from what was given (not from attributes the app may have changed)
        self._model_endpoint = model_endpoint
        self._endpoint_view = functools.partial(ModelEndpointView.from_record, endpoint_id=endpoint_id,
                                                name=endpoint_name, project=project_name,
                                                feature_names=feature_names, label_names=label_names)
        self.logger = app_logger(application_name, logger)
        #: the Nuclio context's logger in a function (no keyword fields there); else ``logger``
        self.nuclio_logger = nuclio_logger if nuclio_logger is not None else self.logger
        self.latest_request = latest_request
        self.output_stream_uri = output_stream_uri
        self.bookkeeping_columns = bookkeeping_columns
        self._reference_stats: FeatureStats = feature_stats or {}
        self._sample_df = sample_df
        self._artifact_sink = artifact_sink
        self._stats_fn = stats_fn
        self._error_count = error_count
        self._labels_df = labels_df
        self._reference_rows = reference_rows
        self._reference_rows_key = reference_rows_key

    #: MLRun's helper: ``feature_stats``-style dict → DataFrame of normalised histograms, one column a feature
    dict_to_histogram = staticmethod(dict_to_histogram)

    @functools.cached_property
    def model_endpoint(self) -> ModelEndpointView:
        """MLRun's endpoint object, also the record's dict: built on first use (its times and sections cost a
        tenth of a context, and most apps never look)."""
        given = self._model_endpoint
        if isinstance(given, ModelEndpointView):
            return given
        return self._endpoint_view(given or {})

    @functools.cached_property
    def window_df(self) -> pd.DataFrame:
        """The window's rows as stored, with every column, indexed from 0."""
        source = self._sample_df
        df = source() if callable(source) else source
        index = df.index
        if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
            # already indexed from 0: a shallow copy, not a copy of every value (a 1M x 50 window touched
            # 400 MB of fresh memory here, most of a cold window's time)
            return df.copy(deep=False)
        return df.reset_index(drop=True)

    @functools.cached_property
    def sample_df(self) -> pd.DataFrame:
        """The window's rows as MLRun gives them, indexed from 0: ``timestamp`` (UTC datetimes), features and
        predictions."""
        if self.bookkeeping_columns:
            return self.window_df
        df = self.window_df.copy(deep=False)
        for column in BOOKKEEPING_COLUMNS:  # deleted from a shallow copy: DataFrame.drop copies every value
            if column in df.columns:
                del df[column]
        stamps = df["timestamp"] if "timestamp" in df.columns else None
        if stamps is not None and pd.api.types.is_numeric_dtype(stamps) and not pd.api.types.is_bool_dtype(stamps):
            df = df.assign(timestamp=pd.to_datetime(stamps, unit="ms", utc=True))  # epoch ms as stored
        return df

    @functools.cached_property
    def feature_stats(self) -> FeatureStats:
        """The reference statistics, numeric histograms padded to ``∓sys.float_info.max`` as MLRun's."""
        return padded_stats(self._reference_stats)

    @property
    def reference_feature_stats(self) -> FeatureStats:
        """The reference statistics as given, without MLRun's padding: for modelmon's histogram apps, which
        read padded and unpadded histograms alike and need not pay for padding them per window (about as
        long as counting a 10k-row window). Do not change it: it is the endpoint's, shared."""
        return self._reference_stats

    @functools.cached_property
    def sample_df_stats(self) -> FeatureStats:
        """The window's statistics over the reference's bins, padded as ``feature_stats`` (same bins)."""
        stats_fn = self._stats_fn
        if stats_fn is None:
            from modelmon.stats import sample_df_stats

            stats_fn = sample_df_stats
        return padded_stats(stats_fn(self.window_df, self._reference_stats))

    @functools.cached_property
    def error_count(self) -> int:
        """Model errors in the window (requests that produced no prediction row)."""
        source = self._error_count
        if source is not None:
            count = source() if callable(source) else source
            if isinstance(count, bool) or int(count) != count or count < 0:
                raise ValueError(f"error_count must be a non-negative whole number, got {count!r}")
            return int(count)
        if "error" in self.window_df.columns:
            return int(self.window_df["error"].notna().sum())
        return 0

    @functools.cached_property
    def labels_df(self) -> pd.DataFrame:
        """Ground-truth labels of the window's requests (``request_id`` + label columns)."""
        source = self._labels_df
        if source is None:
            return self.window_df
        return source() if callable(source) else source

    @functools.cached_property
    def reference_rows(self) -> pd.DataFrame | None:
        """The endpoint's reference rows (every column the reference had), or ``None``; read on first use.

        In the app function: a uniform sample (up to 20,000 rows) of the ``reference_data`` the endpoint was
        registered with, ``.attrs["reference_rows_total"]`` rows before sampling.
        """
        source = self._reference_rows
        return source() if callable(source) else source

    @functools.cached_property
    def reference_rows_key(self) -> str | None:
        """Changes whenever ``reference_rows`` do (``None``: no reference rows): a key to cache fits by."""
        source = self._reference_rows_key
        if source is not None:
            return source() if callable(source) else source
        rows = self.reference_rows
        return None if rows is None else rows_key(rows)

    @functools.cached_property
    def project(self) -> AppProject:
        """MLRun's ``project`` as apps use it: ``name`` and the ``log_*`` methods (artifacts shared by the
        app's endpoints for this window)."""
        return AppProject(self)

    def log_artifact(
        self, item: str | Artifact, body: Any = None, tag: str = "", local_path: str = "",
        artifact_path: str | None = None, format: str | None = None, upload: bool | None = None,
        labels: Mapping[str, str] | None = None, target_path: str | None = None, *,
        df: pd.DataFrame | None = None, figure: Any = None, unique_per_endpoint: bool = True, **kwargs: Any,
    ) -> LoggedArtifact:
        """Store an artifact for this project/app/endpoint/window; returns where it went (a ``str``, with
        MLRun's ``key``, ``tag``, ``labels``).

        ``item`` is an artifact object (``TableArtifact``, ``Artifact``, ``PlotlyArtifact``) or a key,
        with exactly one of ``body`` (text, bytes, or a JSON-able object), ``df``, ``figure`` (matplotlib
        or plotly) or ``local_path`` (a file). ``format`` is one of json/text/html/csv/parquet/png/binary;
        by default it is chosen from the payload. Keys are sanitised
        (:func:`~modelmon.apps.sdk.artifact_items.sanitise_key`). ``artifact_path``, ``upload`` and
        ``target_path`` are MLRun's storage options and are ignored: the backend's object store keeps it.
        """
        kind = "artifact"
        if isinstance(item, Artifact):
            if body is not None or df is not None or figure is not None:
                raise ValueError(f"log_artifact({item!r}): pass the payload in the artifact or as body=, not both")
            payload = item.payload()
            body, df, figure = payload.get("body"), payload.get("df"), payload.get("figure")
            format = format or payload.get("format")
            key, kind = item.key, item.kind
            tag, labels = tag or item.tag, {**item.labels, **(labels or {})}
        else:
            key = item
            if local_path and body is None and df is None and figure is None:
                source = pathlib.Path(local_path)
                body = source.read_bytes()
                format = format or _format_of_file(source)
        name = sanitise_key(key)
        payloads = [x for x in (body, df, figure) if x is not None]
        if len(payloads) != 1:
            raise ValueError(f"log_artifact({name!r}) needs exactly one of body, df or figure (or a local_path)")
        if figure is not None and not is_figure(figure):
            raise ValueError(
                f"log_artifact({name!r}): figure must be a matplotlib or plotly figure, got {type(figure).__name__}"
            )
        if self._artifact_sink is None:
            raise RuntimeError("this context has no artifact store (run the app through modelmon)")
        path = self._artifact_sink.log_artifact(
            self, name, payloads[0], format, unique_per_endpoint=unique_per_endpoint
        )
        if name != key:
            self.logger.debug("artifact key sanitised", key=key, stored_as=name)
        all_labels = {**dict(labels or {}), "mlrun/app-name": self.application_name}
        if unique_per_endpoint:
            all_labels["mlrun/endpoint-id"] = self.endpoint_id
        return LoggedArtifact(path, key=name, kind=kind, tag=tag, labels=all_labels)

    def log_dataset(
        self, key: str | None = None, df: pd.DataFrame | None = None, tag: str = "", local_path: str | None = None,
        artifact_path: str | None = None, upload: bool | None = None, labels: Mapping[str, str] | None = None,
        format: str = "", preview: int | None = None, stats: bool | None = None, target_path: str = "",
        extra_data: dict[str, Any] | None = None, label_column: str | None = None, *, name: str | None = None,
        unique_per_endpoint: bool = True, **kwargs: Any,
    ) -> LoggedArtifact:
        """Store a DataFrame as a dataset artifact (parquet by default, or csv): MLRun's
        ``log_dataset(key, df, tag=, labels=, format=)``; ``name=`` is modelmon's older spelling of ``key``."""
        key = key if key is not None else name
        if key is None:
            raise ValueError("log_dataset needs a key")
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"log_dataset({key!r}) needs a pandas DataFrame, got {type(df).__name__}")
        format = format or "parquet"
        if format not in ("parquet", "csv"):
            raise ValueError(f"log_dataset({key!r}): format must be 'parquet' or 'csv', got {format!r}")
        logged = self.log_artifact(key, df=df, format=format, tag=tag, labels=labels,
                                   unique_per_endpoint=unique_per_endpoint)
        logged.kind = "dataset"
        return logged

    def log_model(
        self, key: str, body: Any = None, framework: str = "", tag: str = "", model_dir: str | None = None,
        model_file: str | None = None, algorithm: str | None = None, metrics: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None, artifact_path: str | None = None, upload: bool | None = None,
        labels: Mapping[str, str] | None = None, *, unique_per_endpoint: bool = True, **kwargs: Any,
    ) -> LoggedArtifact:
        """Store a model: its bytes as ``<key>.bin`` and what MLRun keeps about it (framework, algorithm,
        metrics, parameters, file name) as ``<key>-spec.json``.

        The bytes are ``body`` (bytes or text; another object is pickled) or the file ``model_file``
        (under ``model_dir`` when given).
        """
        if body is None:
            if not model_file:
                raise ValueError(f"log_model({key!r}) needs body= or model_file=")
            body = (pathlib.Path(model_dir or ".") / model_file).read_bytes()
        elif not isinstance(body, bytes | str):
            body = pickle.dumps(body)
        logged = self.log_artifact(key, body=body, format="binary", tag=tag, labels=labels,
                                   unique_per_endpoint=unique_per_endpoint)
        spec = {"framework": framework, "algorithm": algorithm, "model_file": model_file, "tag": tag,
                "metrics": dict(metrics or {}), "parameters": dict(parameters or {}),
                "labels": dict(labels or {})}
        self.log_artifact(f"{logged.key}-spec", body=spec, format="json", unique_per_endpoint=unique_per_endpoint)
        logged.kind = "model"
        return logged


class AppProject:
    """``monitoring_context.project``: the project's ``name`` and MLRun's logging methods.

    In MLRun these log to the project, outside any endpoint; here the artifacts are stored for the
    current app and window, shared by its endpoints (``unique_per_endpoint=False``).
    """

    def __init__(self, context: MonitoringApplicationContext) -> None:
        self._context = context
        self.name = context.project_name
        self.metadata = _ProjectMetadata(context.project_name)

    def log_artifact(self, item: str | Artifact, body: Any = None, **kwargs: Any) -> LoggedArtifact:
        kwargs.setdefault("unique_per_endpoint", False)
        return self._context.log_artifact(item, body, **kwargs)

    def log_dataset(self, key: str | None = None, df: pd.DataFrame | None = None, **kwargs: Any) -> LoggedArtifact:
        kwargs.setdefault("unique_per_endpoint", False)
        return self._context.log_dataset(key, df, **kwargs)

    def log_model(self, key: str, body: Any = None, **kwargs: Any) -> LoggedArtifact:
        kwargs.setdefault("unique_per_endpoint", False)
        return self._context.log_model(key, body, **kwargs)

    def __repr__(self) -> str:
        return f"AppProject(name={self.name!r})"


class _ProjectMetadata:
    def __init__(self, name: str) -> None:
        self.name = name


def _format_of_file(path: pathlib.Path) -> str:
    from modelmon.apps.sdk.artifact_formats import FORMATS

    suffix = path.suffix[1:].lower()
    by_extension = {ext: fmt for fmt, ext in FORMATS.items()}
    return by_extension.get(suffix) or (suffix if suffix in FORMATS else "binary")
