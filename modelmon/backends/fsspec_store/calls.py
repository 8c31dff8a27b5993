"""The edge between modelmon and an fsspec file system: bounded retries, error translation.

Every file-system call of the fsspec stores goes through :meth:`FsCalls.call`. What fsspec and its
implementations raise differs by file system (s3fs turns S3 error codes into ``OSError`` subclasses with
the botocore error as ``__cause__``; a local folder raises plain ``OSError``), so the checks look at the
whole cause chain, and at class *names* for botocore and aiohttp errors, which keeps ``file://`` free of
S3's packages. Transient failures (refused or dropped connections, timeouts, throttling, 5xx) are retried
with "full jitter" backoff a bounded number of times, then raised as ``BackendUnavailable``; a missing file
is the caller's to interpret (``missing=``); anything else is a :mod:`modelmon.core.errors` type naming the
operation and the store, never a credential.
"""

from __future__ import annotations

import errno
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from modelmon.backends.retry import RetryPolicy
from modelmon.core.errors import BackendError, BackendUnavailable, NotFound

log = logging.getLogger(__name__)
T = TypeVar("T")

#: HTTP statuses S3 (and S3-compatible stores) answer when the same request may succeed later.
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
#: S3 error codes of the same kind (throttling, an overloaded or restarting server).
TRANSIENT_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError",
                             "ServiceUnavailable", "RequestLimitExceeded", "OperationAborted"})
#: errno values s3fs gives those codes (``EBUSY`` for SlowDown/503, ``EREMOTEIO`` for 500) and their local kin.
TRANSIENT_ERRNOS = frozenset({errno.EBUSY, errno.EAGAIN, getattr(errno, "EREMOTEIO", errno.EIO)})
#: Client-library errors that mean the request never got an answer (botocore, aiohttp, fsspec), by class name.
TRANSIENT_CLASSES = frozenset({
    "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
    "HTTPClientError", "ResponseParserError", "IncompleteReadError", "ProxyConnectionError",
    "ClientConnectionError", "ClientConnectorError", "ServerDisconnectedError", "ClientPayloadError",
    "ServerTimeoutError", "FSTimeoutError",
})
#: S3 error codes of bad or missing credentials: retrying never helps, the message says what to check.
DENIED_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                          "InvalidToken", "AllAccessDisabled", "AccountProblem", "NotSignedUp"})
CREDENTIAL_HINT = ("check the credentials: storage_options key/secret/token, or AWS_ACCESS_KEY_ID, "
                   "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE in the environment")


#: S3 calls are slower and throttle harder than V3IO's: fewer, longer-spaced tries (~2 s in all).
FS_RETRY = RetryPolicy(attempts=5, base_s=0.1)


class FsCalls:
    """Runs file-system calls for the store at ``where`` (a URL without credentials)."""

    def __init__(self, where: str, policy: RetryPolicy | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        self.where = where
        self.policy = policy or FS_RETRY
        self._sleep = sleep
        self._rng = rng or random.Random()

    def call(self, what: str, fn: Callable[[], T], *, missing: Callable[[], T] | None = None) -> T:
        """``fn()``, retried while it fails transiently.

        A missing file or folder returns ``missing()`` when given, else raises ``NotFound`` ("<what> does
        not exist"); a missing bucket always raises ``NotFound`` naming it, so a misnamed bucket never reads
        as an empty store.
        """
        delays = self.policy.delays(self._rng)
        while True:
            try:
                return fn()
            except Exception as exc:  # the edge: every client library's error is translated below
                failure = exc
            if bucket_missing(failure):
                bucket = self.where.split("://", 1)[-1].split("/", 1)[0]
                raise NotFound(f"{what}: bucket {bucket!r} ({self.where}) does not exist; create it or fix the "
                               "store's URL") from failure
            if isinstance(failure, FileNotFoundError | NotADirectoryError | IsADirectoryError):
                if missing is not None:
                    return missing()
                raise NotFound(f"{what} does not exist") from failure
            if not is_transient(failure):
                raise translate(failure, what, self.where) from failure
            delay = next(delays, None)
            if delay is None:
                raise BackendUnavailable(f"{what} on {self.where}: still failing after {self.policy.attempts} "
                                         f"tries ({describe(failure)})") from failure
            log.debug("%s on %s: %s, retrying in %.3fs", what, self.where, describe(failure), delay)
            self._sleep(delay)


def translate(exc: BaseException, what: str, where: str) -> BackendError:
    """The error to raise for a failure that is neither transient nor a missing file."""
    if access_denied(exc):
        return BackendError(f"{what} on {where}: access denied ({describe(exc)}); {CREDENTIAL_HINT}")
    return BackendError(f"{what} on {where}: {describe(exc)}")


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the errors it was raised from (``__cause__``, else ``__context__``), at most 8 deep."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _s3_error(exc: BaseException) -> tuple[str, int | None]:
    """The S3 error code and HTTP status of a botocore ``ClientError`` (``("", None)`` for other errors)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return "", None
    error = response.get("Error") or {}
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return str(error.get("Code") or ""), status if isinstance(status, int) else None


def bucket_missing(exc: BaseException) -> bool:
    """Whether S3 answered that the bucket does not exist (s3fs raises it as a plain FileNotFoundError)."""
    return any(_s3_error(e)[0] == "NoSuchBucket" for e in causes(exc))


def access_denied(exc: BaseException) -> bool:
    """Whether a remote store refused the credentials (or found none)."""
    for e in causes(exc):
        # s3fs raises PermissionError without an errno for S3's refusals; a local folder's has one (EACCES)
        if (isinstance(e, PermissionError) and e.errno is None) or _s3_error(e)[0] in DENIED_CODES:
            return True
        if _class_names(e) & {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    """Whether the same call may succeed later: an outage, a timeout or throttling, not a refusal."""
    if access_denied(exc):
        return False
    for e in causes(exc):
        code, status = _s3_error(e)
        if code in TRANSIENT_CODES or status in TRANSIENT_STATUS:
            return True
        if isinstance(e, ConnectionError | TimeoutError) or _class_names(e) & TRANSIENT_CLASSES:
            return True
        if isinstance(e, OSError) and e.errno in TRANSIENT_ERRNOS:
            return True
    return False


def describe(exc: BaseException) -> str:
    """``Type: message``, cut to a line: enough to see what failed without dumping a response body."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
