"""A tracked model server for Nuclio, in the shape of MLRun's ``V2ModelServer``.

Subclass it, load the model in :meth:`ModelServer.load` and answer ``request["inputs"]`` in
:meth:`ModelServer.predict`; the Nuclio handler calls :meth:`ModelServer.do_event`. With
:meth:`ModelServer.set_tracking` every request (or a sample of them) is reported to the project's
tracking stream with its id, inputs, outputs, start time and latency. Tracking never fails a request.
"""

from __future__ import annotations

import logging
from typing import Any

import nuclio_sdk

from modelmon.backends.base import Stream
from modelmon.core.paths import ProjectPaths
from modelmon.events import endpoint_uid
from modelmon.tracking.client import TrackedModel, TrackingClient
from modelmon.tracking.request import Timer, request_id_of

_log = logging.getLogger(__name__)


class ModelServer:
    """One model behind a Nuclio function; ``function_uri`` is ``project/function[:tag]``.

    The endpoint id is MLRun's hash of (project, function, model name, version), the same id
    :func:`modelmon.endpoints.registration.register_model_endpoint` gives the model when registered with this
    ``function_uri``, so registered metadata and tracked traffic land on one endpoint.
    """

    def __init__(self, name: str, *, project: str, function_uri: str | None = None, version: str | None = None,
                 model_class: str = "", streams: Stream | None = None, labels: dict[str, Any] | None = None) -> None:
        if not name:
            raise ValueError("a model server needs a model name")
        self.name = name
        self.project = project
        self.function_uri = function_uri or f"{project}/serving"
        self.version = version
        self.model_class = model_class or type(self).__name__
        self.streams = streams
        self.labels = dict(labels or {})
        self.endpoint_id = endpoint_uid(project, self.function_uri, name, version)
        self.tracking: TrackingClient | None = None
        self.ready = False
        #: the server's own figures (MLRun's ``V2ModelServer.metrics``), sent with each tracked answer
        self.metrics: dict[str, Any] = {}

    def load(self) -> None:
        """Load or train the model (called once, before the first request)."""

    def predict(self, request: dict[str, Any]) -> Any:
        """The outputs for ``request["inputs"]`` (a list of rows): one prediction per row."""
        raise NotImplementedError(f"{type(self).__name__} must implement predict(request)")

    def set_metric(self, name: str, value: Any) -> None:
        """Set one of the server's own figures (MLRun's ``set_metric``); tracked answers carry them all, and
        the v3io backend charts the numbers as MLRun's ``custom_metrics``."""
        self.metrics[name] = value

    def set_tracking(self, stream_path: str | None = None, sampling_percentage: float = 100,
                     batch: int | None = None, **options: Any) -> TrackingClient:
        """Report requests to ``stream_path`` (default: the project's tracking stream).

        ``batch``: requests per stream record (default 100); ``options`` go to
        :class:`~modelmon.tracking.TrackingClient` (``max_delay_s``, ``buffer_size``, ``seed``).
        """
        if self.streams is None:
            raise ValueError(f"model server {self.name!r}: tracking needs the backend's streams (streams=...)")
        if self.tracking is not None:
            self.tracking.close()
        model = TrackedModel(model=self.name, function_uri=self.function_uri, version=self.version,
                             model_class=self.model_class, endpoint_id=self.endpoint_id, labels=self.labels)
        self.tracking = TrackingClient(self.streams, stream_path or ProjectPaths(self.project).tracking_stream,
                                       model, batch_size=batch or 100, sampling_percentage=sampling_percentage,
                                       **options)
        return self.tracking

    def do_event(self, event: nuclio_sdk.Event) -> dict[str, Any]:
        """Serve one request: ``{"inputs": [[...], ...], "id"?: ...}`` → ``{"id", "model_name", "outputs"}``.

        Raises ``ValueError`` for a body without inputs; a model error is tracked as an error event
        and re-raised (the request fails, as it would untracked).
        """
        body = event.body
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
            raise ValueError("request body must be a JSON object with a non-empty 'inputs' list")
        if not self.ready:
            self.load()
            self.ready = True
        request_id = request_id_of(event, body)
        timer = Timer()
        try:
            outputs = self.predict(body)
        except Exception as exc:
            self._track(request_id, body["inputs"], None, timer, f"{type(exc).__name__}: {exc}")
            raise
        self._track(request_id, body["inputs"], outputs, timer, None)
        response = {"id": request_id, "model_name": self.name, "outputs": _listed(outputs)}
        if self.version:
            response["model_version"] = self.version
        return response

    def close(self) -> None:
        """Flush tracked requests and stop the pusher (the function's termination callback)."""
        if self.tracking is not None:
            self.tracking.close()

    def _track(self, request_id: str, inputs: Any, outputs: Any, timer: Timer, error: str | None) -> None:
        if self.tracking is None:
            return
        latency_us = timer.elapsed_us()
        try:
            self.tracking.record(request_id, inputs, outputs, timer.start_ns, latency_us, error,
                                 self.metrics if error is None else None)
        except Exception:  # tracking must never fail the request
            _log.exception("tracking request %s failed", request_id)


def _listed(outputs: Any) -> Any:
    to_list = getattr(outputs, "tolist", None)
    return to_list() if to_list is not None else outputs
