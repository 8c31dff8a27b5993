"""What the Nuclio glue of every modelmon function asks of the platform and its events.

The deployable handlers (``controller/``, ``writer/``, ``apps/``, ``functions/``) stay thin: they register a
shutdown hook, walk an event's records, turn a body into bytes and handle each record the same way, here.

**Nuclio does not redeliver a failed event.** In its default mode (``explicitAckMode: disable``) a stream
trigger marks an event only when the handler returned without an error, but it goes on with the next
event, and marking a later one commits past the failed one (nuclio ``pkg/processor/trigger/v3iostream/
trigger.go`` ``ConsumeClaim``; ``kafka/trigger.go`` ``ConsumeClaim``). A handler that raises therefore
loses its record. :class:`HandlerRetry` is how every stream function keeps it instead: an outage is retried
inside the handler until the backend answers, for at most the retry deadline; past it the record is
*parked* (put back at the end of its own stream, with its first position) and the handler returns; any
other failure is tried a few times and then dead-lettered. A record is never dropped silently. A function that
reads a stream another function also reads parks on a stream of its own instead (``park_to``, read by a second
trigger of the same function): a copy put back on the shared stream would make the other function handle it
again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

from modelmon.backends.base import OutRecord
from modelmon.core.errors import BackendUnavailable, NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.events.envelope import Body

if TYPE_CHECKING:
    from modelmon.backends.base import Stream
    from modelmon.core.config import Settings
    from modelmon.functions.dead_letters import DeadLetters

__all__ = ["DEAD_LETTERED", "DONE", "PARKED", "TRANSIENT", "Body", "Delivery", "Handled", "HandlerRetry",
           "Position", "body_bytes", "each_record", "is_transient", "on_shutdown", "parked_body"]

T = TypeVar("T")
_log = logging.getLogger(__name__)

#: Where a record sits in its stream: ``(shard, sequence)``.
Position = tuple[int, int]

#: What the backends raise when the store is out (``BackendUnavailable`` once their own retries are spent);
#: the built-in connection errors in case a client's error reaches a function untranslated.
TRANSIENT: tuple[type[BaseException], ...] = (BackendUnavailable, ConnectionError, TimeoutError)
#: How often one record may be parked before it is dead-lettered: a record whose failure looks like an
#: outage but never ends (about an hour with the default deadline) must not circle forever.
MAX_PARKS = 60
#: A parked copy starts with this; its header line is followed by the original bytes, unchanged.
PARKED_MAGIC = b'{"modelmon_parked":'
DONE, PARKED, DEAD_LETTERED = "done", "parked", "dead-lettered"


def on_shutdown(context: Any, callback: Callable[[], None]) -> None:
    """Have the platform call ``callback`` when the worker stops; a no-op where there is no such hook.

    ``nuclio_sdk.test.Platform`` lacks ``set_termination_callback``; the real platform and
    ``modelmon run`` have it.
    """
    set_callback = getattr(context.platform, "set_termination_callback", None)
    if callable(set_callback):
        set_callback(callback)


def body_bytes(body: Body) -> bytes:
    """``body`` as bytes, so a record is hashed, replayed and dead-lettered as the bytes it was.

    A body Nuclio already decoded from JSON is re-encoded with sorted keys (the same dict always gives
    the same bytes) by the standard library, which writes what the bytes would have held: NaN as
    ``NaN`` (orjson would write ``null``, storing a value the same body as bytes has rejected) and lone
    surrogates as they are (readers then refuse them); what JSON cannot hold is written as its ``str``,
    and a body nested too deep for any encoder as a short note saying so. Never raises: the reader
    decides (it dead-letters what is no tracking record).

    >>> body_bytes(b"{}"), body_bytes("é"), body_bytes({"b": 1, "a": [2], "n": float("nan")})
    (b'{}', b'\\xc3\\xa9', b'{"a":[2],"b":1,"n":NaN}')
    """
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    try:
        text = json.dumps(body, default=str, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (RecursionError, TypeError, ValueError):  # nested past the interpreter's limit, or odd keys
        text = f"<a decoded {type(body).__name__} body that cannot be encoded as JSON>"
    return text.encode("utf-8", "surrogatepass")


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One record of an event: its body as bytes and its ``(shard, sequence)`` (``None`` outside streams).

    A parked copy (:class:`HandlerRetry`) is delivered with its original body, its own ``position`` and
    the ``origin`` where the record was first delivered; ``parked`` counts how often it was parked and
    ``parked_by`` names the function that parked it last (its bundle name), so a function reading a stream
    another one parks on can tell that copy is not its own.
    """

    body: bytes
    position: Position | None = None
    origin: Position | None = None
    parked: int = 0
    parked_by: str | None = None

    @property
    def first_position(self) -> Position | None:
        """Where the record was first delivered: its identity for idempotent writes and dead letters."""
        return self.origin if self.origin is not None else self.position


def each_record(event: Any) -> Iterator[Delivery]:
    """The records of ``event``: one, or each of the list Nuclio passes when batching is on."""
    for one in event if isinstance(event, list) else (event,):
        yield _unpark(body_bytes(one.body), _position(one))


def _position(event: Any) -> Position | None:
    """The record's stream position; ``None`` outside stream triggers (HTTP, cron, tests)."""
    shard, offset = event.shard_id, event.offset
    return (shard, offset) if isinstance(shard, int) and isinstance(offset, int) else None


# --------------------------------------------------------------------------------------- retrying

def is_transient(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from or while handling, is an outage (:data:`TRANSIENT`).

    An app that wraps a store error in its own exception still fails because of the outage.

    >>> is_transient(BackendUnavailable("framesd restarting")), is_transient(ValueError("bad row"))
    (True, False)
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TRANSIENT):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def parked_body(record: Delivery, function: str, reason: str, time_ms: int) -> bytes:
    """The bytes of ``record`` parked once more: a one-line JSON header, a newline, the original body."""
    origin = record.first_position
    header = {"modelmon_parked": record.parked + 1, "function": function,
              "origin": list(origin) if origin is not None else None, "reason": reason[:500], "time_ms": time_ms}
    return orjson.dumps(header) + b"\n" + record.body


def _unpark(body: bytes, position: Position | None) -> Delivery:
    """The delivery of ``body``: a parked copy's header is taken off (anything unreadable stays as it is)."""
    if not body.startswith(PARKED_MAGIC):
        return Delivery(body, position)
    head, _, inner = body.partition(b"\n")
    try:
        header = orjson.loads(head)
        parked, origin = int(header["modelmon_parked"]), header["origin"]
        first = (int(origin[0]), int(origin[1])) if origin is not None else None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
        return Delivery(body, position)
    function = header.get("function")
    return Delivery(inner, position, origin=first, parked=parked,
                    parked_by=function if isinstance(function, str) else None)


@dataclasses.dataclass(frozen=True)
class Handled(Generic[T]):
    """What became of one record: ``DONE`` (with the processing's ``value``), ``PARKED`` or ``DEAD_LETTERED``."""

    outcome: str
    value: T | None = None

    def count_kept(self, totals: dict[str, int], otherwise: str = "dead_lettered") -> None:
        """Count a record that gave no value in ``totals``: under ``"parked"`` (a key added only when a record
        was parked, so handlers' reports keep their shape) or else under ``otherwise``."""
        key = "parked" if self.outcome == PARKED else otherwise
        totals[key] = totals.get(key, 0) + 1


class HandlerRetry:
    """Handles each record of one stream function so that Nuclio's commit rule loses none.

    ``process(record)`` is the function's work on one record; it dead-letters bad input itself. Then:

    * an outage (:func:`is_transient`) is retried with backoff (``backoff_s`` doubling up to ``max_backoff_s``)
      for ``deadline_s`` from when the handler took the record; the shard waits, so nothing after the record
      is handled before it. Past the deadline the record is parked on ``park_to`` (by default ``source``, on
      the record's shard, or any when it has no position; a separate park stream takes it on any shard, as
      its shards are not the source's): it comes back after the records put meanwhile, with ``origin`` = its
      first position. The function must read ``park_to`` too (a second trigger when it is not ``source``);
      dead letters name ``source`` with the first position either way.
      While even the park fails, the record is tried and parked in turn until one works: returning without
      either would lose it (keep the deadline below the function's Nuclio ``eventTimeout``);
    * any other exception is tried ``max_attempts`` times in all, then dead-lettered with its reason;
    * a record parked :data:`MAX_PARKS` times is dead-lettered instead of parked again.
    """

    def __init__(self, streams: Stream, source: str, dead_letters: DeadLetters, *, deadline_s: float = 60.0,
                 max_attempts: int = 3, logger: Any = None, backoff_s: float = 0.1, max_backoff_s: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], int] = now_ms, park_to: str | None = None) -> None:
        self.streams = streams
        self.source = source
        self.park_to = park_to or source
        self.dead_letters = dead_letters
        self.deadline_s = deadline_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self._logger = logger
        self._sleep, self._monotonic, self._clock = sleep, monotonic, clock

    @classmethod
    def for_function(cls, settings: Settings, streams: Stream, source: str, function: str,
                     logger: Any = None, *, park_to: str | None = None) -> HandlerRetry:
        """The retry of ``function`` (its bundle name) reading ``source`` (and parking on ``park_to``, by default
        ``source``), as ``settings`` configure it."""
        from modelmon.functions.dead_letters import DeadLetters  # imported here: it imports this module

        letters = DeadLetters(streams, ProjectPaths(settings.project).dead_letter_stream, function, source=source)
        return cls(streams, source, letters, deadline_s=settings.retry_deadline_seconds,
                   max_attempts=settings.max_retries, logger=logger, park_to=park_to)

    def handle(self, record: Delivery, process: Callable[[Delivery], T]) -> Handled[T]:
        """``process(record)`` under the rules above; returns once the record is done, parked or dead-lettered."""
        started = self._monotonic()
        outages = failures = 0
        while True:
            try:
                return Handled(DONE, process(record))
            except Exception as exc:  # every failure is sorted below; none escapes silently
                error = exc
            reason = f"{type(error).__name__}: {error}"
            if not is_transient(error):
                failures += 1
                if failures >= self.max_attempts:
                    return self._dead_letter(record, reason, failures + outages)
                self._warn("record failed; trying again", record, failures + outages, reason)
                self._sleep(self._delay(failures))
                continue
            outages += 1
            if self._monotonic() - started >= self.deadline_s:
                if record.parked >= MAX_PARKS:
                    return self._dead_letter(record, f"still failing after {record.parked} parks: {reason}",
                                             failures + outages)
                refused = self._park(record, reason)
                if refused is None:
                    return Handled(PARKED)
                if refused:
                    return self._dead_letter(record, f"{reason}; cannot park it: {refused}", failures + outages)
            else:
                self._warn("backend unavailable; retrying", record, failures + outages, reason)
            remaining = self.deadline_s - (self._monotonic() - started)  # wake up at the deadline, not after it
            self._sleep(min(self._delay(outages), remaining) if remaining > 0 else self._delay(outages))

    def _park(self, record: Delivery, reason: str) -> str | None:
        """Put ``record`` back on ``park_to``: ``None`` once it is there, ``""`` while the stream is out too,
        else why it cannot be parked (the stream refuses it)."""
        own_stream = self.park_to == self.source
        shard = record.position[0] if record.position is not None and own_stream else None
        data = parked_body(record, self.dead_letters.function, reason, self._clock())
        try:
            try:
                self.streams.put_records(self.park_to, [OutRecord(data, shard=shard)])
            except NotFound:  # only where no trigger reads it yet (a record that came by HTTP, a test)
                self.streams.create(self.park_to, shards=1 if shard is None else shard + 1)
                self.streams.put_records(self.park_to, [OutRecord(data, shard=shard)])
        except Exception as exc:  # an outage: try again; anything else: the record cannot be parked
            if is_transient(exc):
                self._warn("cannot park the record either; retrying", record, 0, f"{type(exc).__name__}: {exc}")
                return ""
            return f"{type(exc).__name__}: {exc}"
        self._warn("record parked after the retry deadline", record, 0, reason, level="error")
        return None

    def _dead_letter(self, record: Delivery, reason: str, attempts: int) -> Handled[T]:
        """Dead-letter ``record``, waiting out an outage of the dead-letter stream itself."""
        outages = 0
        while True:
            try:
                self.dead_letters.reject(reason, record.body, record.first_position, attempts=attempts)
                break
            except Exception as exc:  # only an outage is waited out
                if not is_transient(exc):
                    raise
                outages += 1
                self._sleep(self._delay(outages))
        self._warn("record dead-lettered", record, attempts, reason, level="error")
        return Handled(DEAD_LETTERED)

    def _delay(self, attempt: int) -> float:
        return float(min(self.max_backoff_s, self.backoff_s * 2.0 ** (min(attempt, 30) - 1)))

    def _warn(self, message: str, record: Delivery, attempt: int, reason: str, level: str = "warn") -> None:
        fields = {"function": self.dead_letters.function, "position": record.first_position,
                  "parked": record.parked, "attempt": attempt, "error": reason[:300]}
        log_with = getattr(self._logger, f"{level}_with", None)
        if callable(log_with):
            log_with(message, **fields)
        else:
            _log.log(logging.ERROR if level == "error" else logging.WARNING, "%s %s", message, fields)
