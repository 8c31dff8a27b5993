"""The edge between modelmon and the ``v3io`` client: retries with backoff and jitter, error translation.

Every web-API call of the V3IO backend goes through :meth:`V3ioCalls.call`. Transient failures
(connection refused/reset/dropped, timeouts, HTTP 429/502/503/504) are retried a bounded number of
times with "full jitter" exponential backoff; what is left is raised as a :mod:`modelmon.core.errors` type.
Messages name the operation and the path, never the access key.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any

from v3io.dataplane import RaiseForStatus

from modelmon.backends.retry import RetryPolicy
from modelmon.core.errors import BackendError, BackendUnavailable, NotFound

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, http.client.HTTPException)
#: V3IO answers a ConditionExpression that evaluated to false with HTTP 400 and this error code (negative
#: in the body). Some engine versions add a second, inner error (16777245) to the same body; clients (storey's
#: ``V3ioDriver._is_false_condition_error``, frames' and v3io-tsdb's ``isFalseConditionError``) therefore
#: look for the code in the body *text*, whatever its layout. So does :func:`is_condition_false`.
CONDITION_FALSE_CODE = 16777244
_CONDITION_FALSE_TEXT = re.compile(rb'ErrorCode\W{0,8}-?16777244(?!\d)')
#: The container of paths that do not name one (MLRun keeps model-monitoring tables in "users").
DEFAULT_CONTAINER = "users"




def split_path(path: str) -> tuple[str, str]:
    """``"users/pipelines/p/t"`` → ``("users", "pipelines/p/t")``: the first segment is the container.

    A single-segment name (``"t1"``) lives in :data:`DEFAULT_CONTAINER`.
    """
    if not isinstance(path, str) or not path.strip("/"):
        raise ValueError(f"V3IO path {path!r} must be '<container>/<path>'")
    if path.startswith("/") or "\\" in path or "\0" in path:
        raise ValueError(f"V3IO path {path!r} must be relative ('<container>/<path>'), without '\\'")
    parts = path.rstrip("/").split("/")
    if len(parts) == 1:
        parts.insert(0, DEFAULT_CONTAINER)
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"V3IO path {path!r} has an empty, '.' or '..' segment")
    return parts[0], "/".join(parts[1:])


def error_code(response: Any) -> int | None:
    """V3IO's ``ErrorCode`` from an error body (as a positive number), if there is one."""
    try:
        code = json.loads(response.body).get("ErrorCode")
    except (ValueError, TypeError, AttributeError):
        return None
    return abs(int(code)) if isinstance(code, int | float) else None


def is_condition_false(response: Any) -> bool:
    """A 400 whose body holds the false-condition code: as the top-level ``ErrorCode`` or anywhere in its text.

    The text match (an ``ErrorCode`` key, then 16777244, as a number or text, nested or escaped) is what
    storey and frames rely on; it does not need the body to be one JSON object with the code on top.
    """
    if response.status_code != 400:
        return False
    if error_code(response) == CONDITION_FALSE_CODE:
        return True
    body = response.body or b""
    return bool(_CONDITION_FALSE_TEXT.search(body.encode() if isinstance(body, str) else bytes(body)))


def error_message(response: Any) -> str:
    try:
        return str(json.loads(response.body).get("ErrorMessage") or "")[:300]
    except (ValueError, TypeError, AttributeError):
        return bytes(response.body or b"")[:300].decode(errors="replace")


class V3ioCalls:
    """Runs client calls with ``raise_for_status=never``, retrying what is transient."""

    def __init__(self, policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The response of ``fn(*args, **kwargs)``; ``BackendUnavailable`` once the retries are spent."""
        kwargs["raise_for_status"] = RaiseForStatus.never
        delays = self.policy.delays(self._rng)
        while True:
            try:
                response = fn(*args, **kwargs)
            except TRANSIENT_ERRORS as exc:
                cause: str = type(exc).__name__
                failure: BaseException | None = exc
            else:
                if response.status_code not in TRANSIENT_STATUS:
                    return response
                cause, failure = f"HTTP {response.status_code} {error_message(response)}", None
            delay = next(delays, None)
            if delay is None:
                raise BackendUnavailable(f"V3IO {what}: still failing after {self.policy.attempts} tries ({cause})") \
                    from failure
            log.debug("V3IO %s: %s, retrying in %.3fs", what, cause, delay)
            self._sleep(delay)

    def sleep_before_retry(self, attempt: int) -> bool:
        """Back off before retry ``attempt`` (from 0) of a partly failed batch; ``False`` when none is left."""
        if attempt >= self.policy.attempts - 1:
            return False
        self._sleep(self._rng.uniform(0, min(self.policy.cap_s, self.policy.base_s * 2**attempt)))
        return True


def check(response: Any, what: str, ok: tuple[int, ...] = (200, 204)) -> Any:
    """``response`` if its status is in ``ok``; else ``NotFound`` (404) or ``BackendError``."""
    if response.status_code in ok:
        return response
    if response.status_code == 404:
        raise NotFound(f"V3IO {what}: not found")
    raise BackendError(f"V3IO {what}: HTTP {response.status_code} {error_message(response)}")
