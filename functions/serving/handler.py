"""Example tracked model server: an iris classifier behind an http trigger, with tracking on.

``POST {"inputs": [[5.1, 3.5, 1.4, 0.2], ...]}`` answers ``{"id", "model_name", "outputs": [0, ...]}``;
every request is reported to the project's tracking stream, so the stream function creates (or
updates) the endpoint ``endpoint_uid(project, "<project>/<function>", MODEL_NAME, None)``. Pass your own
``"id"`` in the body to log ground-truth labels for it later (``log_labels``).
"""

from __future__ import annotations

import os
from typing import Any

import nuclio_sdk

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import function_name
from modelmon.functions.handling import on_shutdown
from modelmon.tracking import ModelServer

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


class IrisServer(ModelServer):
    """A logistic regression trained on scikit-learn's bundled iris data set when the function starts."""

    def load(self) -> None:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        data = load_iris()
        self.model = LogisticRegression(max_iter=500).fit(data.data, data.target)

    def predict(self, request: dict[str, Any]) -> list[int]:
        predictions: list[int] = self.model.predict(request["inputs"]).tolist()
        return predictions


def init_context(context: nuclio_sdk.Context) -> None:
    settings = Settings.from_env()
    backend = make_backend(settings)
    server = IrisServer(os.environ.get("MODEL_NAME") or "iris", project=settings.project,
                        function_uri=f"{settings.project}/{_served_function(settings.project)}",
                        streams=backend.streams)
    server.load()
    server.ready = True
    server.set_tracking(
        batch=int(os.environ.get("TRACKING_BATCH") or 100),
        sampling_percentage=float(os.environ.get("TRACKING_SAMPLING_PERCENTAGE") or 100),
        max_delay_s=float(os.environ.get("TRACKING_MAX_DELAY_S") or 1.0),
    )
    context.user_data.server = server

    def close() -> None:
        server.close()
        backend.close()

    on_shutdown(context, close)


def _served_function(project: str) -> str:
    """This function's name in MLRun's function URI ``<project>/<function>``, as registration assumes.

    Nuclio's ``NUCLIO_FUNCTION_NAME`` is the deployed name, ``<project>-<function>``
    (:func:`~modelmon.core.paths.deployed_name`): without dropping that prefix, the tracked endpoint
    would not be the one ``register_model_endpoint`` made for ``<project>/serving``.
    """
    return function_name(os.environ.get("NUCLIO_FUNCTION_NAME") or "serving", project)


def handler(context: nuclio_sdk.Context, event: nuclio_sdk.Event) -> Any:
    server: IrisServer = context.user_data.server
    if event.method == "GET":  # health / tracking counters
        return {"model": server.name, "endpoint_id": server.endpoint_id,
                "tracking": server.tracking.stats() if server.tracking else None}
    try:
        return server.do_event(event)
    except ValueError as exc:  # a bad request body, or inputs the model cannot take
        return nuclio_sdk.Response(body={"error": str(exc)}, headers={}, content_type="application/json",
                                   status_code=400)
