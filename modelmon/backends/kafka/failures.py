"""kafka-python's errors translated into modelmon's at the backend's edge.

The Stream role raises only :mod:`modelmon.core.errors` types (and ``ValueError`` for bad arguments):
a missing topic is ``NotFound``; anything the client marks retriable (a broker down, a timeout, a
leader moving, a coordinator loading) is ``BackendUnavailable``, raised once the client's own retries,
bounded by the backend's ``timeout_s``, are spent; a record failing its CRC is ``CorruptStore``; any
other broker refusal is a ``BackendError`` naming Kafka's error.
"""

from __future__ import annotations

from kafka import errors as kafka_errors

from modelmon.core.errors import BackendError, BackendUnavailable, CorruptStore, ModelmonError, NotFound

#: Broker errors that are not the client's ``retriable`` kind but go away by themselves.
_TRANSIENT: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.CoordinatorLoadInProgressError,
    kafka_errors.CoordinatorNotAvailableError,
    kafka_errors.NotCoordinatorError,
    kafka_errors.NotEnoughReplicasError,
    kafka_errors.NotEnoughReplicasAfterAppendError,
    ConnectionError,
    TimeoutError,
)
_CORRUPT: tuple[type[BaseException], ...] = (kafka_errors.CorruptRecordError, kafka_errors.InvalidRecordError)


def is_missing_topic(exc: BaseException) -> bool:
    """Whether ``exc`` says the topic (or partition) does not exist."""
    return isinstance(exc, kafka_errors.UnknownTopicOrPartitionError)


def is_transient(exc: BaseException) -> bool:
    """Whether the same call may succeed later (a missing topic is retriable to Kafka, not to us)."""
    if is_missing_topic(exc):
        return False
    return isinstance(exc, _TRANSIENT) or bool(getattr(exc, "retriable", False))


def translate(exc: BaseException, what: str, path: str | None = None) -> ModelmonError:
    """The modelmon error for ``exc``, raised by the call described by ``what`` (on stream ``path``)."""
    if isinstance(exc, ModelmonError):
        return exc
    if path is not None and is_missing_topic(exc):
        return NotFound(f"stream {path!r} does not exist (Kafka: {exc})")
    if isinstance(exc, _CORRUPT):
        return CorruptStore(f"Kafka {what}: {exc}")
    if is_transient(exc):
        return BackendUnavailable(f"Kafka {what}: {type(exc).__name__}: {exc}")
    return BackendError(f"Kafka {what}: {type(exc).__name__}: {exc}")


#: What :func:`translate` handles; anything else (a bug, a bad argument) propagates as it is.
KAFKA_FAILURES: tuple[type[BaseException], ...] = (kafka_errors.KafkaError, OSError)
