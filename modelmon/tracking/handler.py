"""Tracking a plain Nuclio handler: a decorator that times each call and reports it.

::

    def init_context(context):
        context.user_data.tracking = TrackingClient(backend.streams, paths.tracking_stream, TrackedModel(...))

    @tracked
    def handler(context, event):
        return {"outputs": model.predict(event.body["inputs"]).tolist()}

The client is looked up on ``context.user_data`` at call time, so a handler without one runs untracked.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import nuclio_sdk

from modelmon.tracking.request import Timer, request_id_of

_log = logging.getLogger(__name__)

Handler = Callable[[nuclio_sdk.Context, nuclio_sdk.Event], Any]


def body_inputs(event: nuclio_sdk.Event) -> Any:
    """The request's inputs: ``body["inputs"]`` of a JSON object body, else the body itself."""
    body = event.body
    return body["inputs"] if isinstance(body, dict) and "inputs" in body else body


def result_outputs(result: Any) -> Any:
    """The handler's outputs: ``result["outputs"]`` of a dict result, else the result itself."""
    return result["outputs"] if isinstance(result, dict) and "outputs" in result else result


def tracked(
    handler: Handler | None = None,
    *,
    inputs: Callable[[nuclio_sdk.Event], Any] = body_inputs,
    outputs: Callable[[Any], Any] = result_outputs,
    client_attr: str = "tracking",
) -> Any:
    """Decorate ``handler(context, event)`` so each call is reported to ``context.user_data.<client_attr>``.

    Usable bare (``@tracked``) or with options (``@tracked(inputs=..., outputs=...)``). A handler that
    raises is reported as an error event and the exception propagates unchanged; a failure to extract
    or record tracking data is logged and never reaches the caller.
    """

    def decorate(function: Handler) -> Handler:
        @functools.wraps(function)
        def wrapper(context: nuclio_sdk.Context, event: nuclio_sdk.Event) -> Any:
            client = getattr(context.user_data, client_attr, None)
            if client is None:
                return function(context, event)
            timer = Timer()
            try:
                result = function(context, event)
            except Exception as exc:
                _report(client, event, inputs, None, timer, f"{type(exc).__name__}: {exc}", outputs)
                raise
            _report(client, event, inputs, result, timer, None, outputs)
            return result

        return wrapper

    return decorate(handler) if handler is not None else decorate


def _report(client: Any, event: nuclio_sdk.Event, inputs: Callable[[nuclio_sdk.Event], Any], result: Any,
            timer: Timer, error: str | None, outputs: Callable[[Any], Any]) -> None:
    latency_us = timer.elapsed_us()
    try:
        out = None if error is not None else outputs(result)
        client.record(request_id_of(event, event.body), inputs(event), out, timer.start_ns, latency_us, error)
    except Exception:  # tracking must never fail the request
        _log.exception("tracking the request failed")
