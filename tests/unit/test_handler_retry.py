"""HandlerRetry: how every stream function keeps a record that Nuclio would not deliver again.

Time is a fake clock that ``sleep`` moves on, so the tests check the deadline exactly and take no time.
"""

from __future__ import annotations

import dataclasses

import nuclio_sdk
import pytest

from modelmon.core.config import Settings
from modelmon.core.errors import BackendError, BackendUnavailable, InvalidEvent, NotFound
from modelmon.events import DeadLetter
from modelmon.functions.dead_letters import DeadLetters
from modelmon.functions.handling import (
    DEAD_LETTERED,
    DONE,
    MAX_PARKS,
    PARKED,
    Delivery,
    HandlerRetry,
    each_record,
    is_transient,
    parked_body,
)
from modelmon.testing import MemoryStream, stream_records

SOURCE = "projects/p/model-endpoints/stream-app"
DEAD = "projects/p/model-endpoints/stream-dead-letter"


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class OutageStream(MemoryStream):
    """A memory stream whose puts fail while ``down`` (the web API is out too)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def put_records(self, path, records):
        if self.down:
            raise BackendUnavailable("V3IO put records: still failing after 6 tries (ConnectionRefusedError)")
        return super().put_records(path, records)


class Flaky:
    """``process``: fails ``outages`` times with BackendUnavailable, then ``errors`` times with ValueError."""

    def __init__(self, outages: int = 0, errors: int = 0, until=None) -> None:
        self.outages, self.errors, self.until = outages, errors, until
        self.calls: list[Delivery] = []

    def __call__(self, record: Delivery) -> str:
        self.calls.append(record)
        if self.until is not None and not self.until(record):
            raise BackendUnavailable("TSDB write: framesd UNAVAILABLE")
        if self.outages:
            self.outages -= 1
            raise BackendUnavailable("TSDB write: framesd UNAVAILABLE")
        if self.errors:
            self.errors -= 1
            raise ValueError(f"bad record {record.body!r}")
        return "stored"


@pytest.fixture
def setup():
    streams, clock = OutageStream(), FakeTime()
    streams.create(SOURCE, shards=2)
    retry = HandlerRetry(streams, SOURCE, DeadLetters(streams, DEAD, "my-app", source=SOURCE), deadline_s=10.0,
                         max_attempts=3, sleep=clock.sleep, monotonic=clock.monotonic, clock=lambda: 7)
    return retry, streams, clock


def letters(streams) -> list[DeadLetter]:
    try:
        return [DeadLetter.from_body(r.data) for r in stream_records(streams, DEAD)]
    except NotFound:  # never created: nothing was dead-lettered
        return []


def redelivered(streams) -> list[Delivery]:
    """The source stream's records as a handler would receive them (parked copies unwrapped)."""
    events = [nuclio_sdk.Event(body=r.data, shard_id=r.shard, offset=r.sequence)
              for r in stream_records(streams, SOURCE)]
    return list(each_record(events))


def test_an_outage_within_the_deadline_is_waited_out_in_the_handler(setup):
    retry, streams, clock = setup
    process = Flaky(outages=5)
    handled = retry.handle(Delivery(b"w1", (1, 40)), process)
    assert (handled.outcome, handled.value) == (DONE, "stored")
    assert len(process.calls) == 6 and clock.sleeps == [0.1, 0.2, 0.4, 0.8, 1.6]  # backoff doubling
    assert not stream_records(streams, SOURCE) and not letters(streams)  # nothing parked, nothing given up


def test_past_the_deadline_the_record_is_parked_on_its_shard_with_its_first_position(setup):
    retry, streams, clock = setup
    process = Flaky(outages=1000)
    handled = retry.handle(Delivery(b'{"window": 1}', (1, 40)), process)
    assert handled.outcome == PARKED and clock.now == 110.0  # woke up at the deadline, not after it
    assert max(clock.sleeps) == 2.0  # the backoff is capped
    (copy,) = redelivered(streams)
    # same shard, original bytes, and who parked it
    assert copy == Delivery(b'{"window": 1}', (1, 1), origin=(1, 40), parked=1, parked_by="my-app")
    assert not letters(streams)

    handled = retry.handle(copy, Flaky())  # the copy comes back after the records put meanwhile
    assert (handled.outcome, handled.value) == (DONE, "stored")


def test_a_parked_copy_parked_again_keeps_its_first_position(setup):
    retry, streams, _ = setup
    copy = Delivery(b"w", (0, 9), origin=(0, 2), parked=3)
    assert retry.handle(copy, Flaky(outages=1000)).outcome == PARKED
    (again,) = redelivered(streams)
    assert (again.body, again.origin, again.parked) == (b"w", (0, 2), 4)


def test_a_record_parked_max_parks_times_is_dead_lettered_at_its_first_position(setup):
    retry, streams, _ = setup
    handled = retry.handle(Delivery(b"w", (0, 9), origin=(0, 2), parked=MAX_PARKS), Flaky(outages=1000))
    assert handled.outcome == DEAD_LETTERED and not stream_records(streams, SOURCE)
    (letter,) = letters(streams)
    assert (letter.payload, letter.shard, letter.sequence, letter.function, letter.source) == (
        b"w", 0, 2, "my-app", SOURCE)
    assert letter.reason.startswith(f"still failing after {MAX_PARKS} parks: BackendUnavailable: TSDB write")


def test_while_the_stream_is_down_too_the_record_is_tried_and_parked_in_turn_until_one_works(setup):
    retry, streams, clock = setup
    streams.down = True
    process = Flaky(until=lambda _: clock.now >= 130.0)  # the store is back 30 s in; the stream never was
    handled = retry.handle(Delivery(b"w", (0, 5)), process)
    assert (handled.outcome, handled.value) == (DONE, "stored")  # never returned without the record

    streams.down, process = True, Flaky(outages=1000)
    original_sleep = clock.sleep

    def stream_back_later(seconds: float) -> None:
        original_sleep(seconds)
        streams.down = clock.now < 1_000.0

    retry._sleep = stream_back_later
    assert retry.handle(Delivery(b"w", (0, 6)), process).outcome == PARKED
    assert clock.now >= 1_000.0 and [d.origin for d in redelivered(streams)] == [(0, 6)]


def test_other_failures_are_tried_max_attempts_times_then_dead_lettered(setup):
    retry, streams, _ = setup
    assert retry.handle(Delivery(b"x", (1, 3)), Flaky(errors=2)).value == "stored"  # a glitch: third try works
    handled = retry.handle(Delivery(b"bad", (1, 4)), Flaky(errors=99))
    assert handled.outcome == DEAD_LETTERED
    (letter,) = letters(streams)
    assert letter.reason == "ValueError: bad record b'bad'"
    assert (letter.payload, letter.shard, letter.sequence, letter.attempts) == (b"bad", 1, 4, 3)
    assert not stream_records(streams, SOURCE)


def test_dead_lettering_waits_out_an_outage_of_the_dead_letter_stream(setup):
    retry, streams, clock = setup
    streams.down = True
    original_sleep = clock.sleep

    def back_after_three(seconds: float) -> None:
        original_sleep(seconds)
        streams.down = len(clock.sleeps) < 5  # 2 sleeps between the 3 attempts, then 3 while it is down

    retry._sleep = back_after_three
    assert retry.handle(Delivery(b"bad", (1, 4)), Flaky(errors=99)).outcome == DEAD_LETTERED
    assert [letter.payload for letter in letters(streams)] == [b"bad"]


def test_outages_the_app_wrapped_in_its_own_error_are_outages():
    def wrapped() -> None:
        try:
            raise BackendUnavailable("frames down")
        except BackendUnavailable:
            raise RuntimeError("evidently: cannot load the reference") from None

    with pytest.raises(RuntimeError) as info:
        wrapped()
    assert is_transient(info.value)  # even ``from None``: the app failed because the store was out
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError as exc:
            raise RuntimeError("report failed") from exc
    except RuntimeError as exc:
        assert is_transient(exc)
    assert not is_transient(BackendError("V3IO put item: HTTP 400")) and not is_transient(InvalidEvent("x"))


def test_a_parked_header_is_one_json_line_and_a_broken_one_is_left_as_the_body():
    record = Delivery(b"line1\nline2", (0, 1))
    data = parked_body(record, "fn", "BackendUnavailable: a\nb", 5)
    assert data.count(b"\n") == 2 and data.endswith(b"\nline1\nline2")  # the reason's newline is escaped
    event = nuclio_sdk.Event(body=data, shard_id=0, offset=8)
    assert list(each_record(event)) == [Delivery(b"line1\nline2", (0, 8), origin=(0, 1), parked=1, parked_by="fn")]
    broken = b'{"modelmon_parked": "x"}\nbody'
    assert list(each_record(nuclio_sdk.Event(body=broken, shard_id=0, offset=9))) == [Delivery(broken, (0, 9))]


def test_a_record_without_a_position_is_parked_on_any_shard_with_none_recorded(setup):
    retry, streams, _ = setup
    assert retry.handle(Delivery(b"http"), Flaky(outages=1000)).outcome == PARKED
    (copy,) = redelivered(streams)
    assert (copy.body, copy.origin, copy.parked, copy.first_position) == (b"http", None, 1, copy.position)


def test_settings_give_the_deadline_and_attempts_and_the_letters_the_bundle_name():
    streams = MemoryStream()
    settings = Settings(project="p", retry_deadline_seconds=45, max_retries=5)
    retry = HandlerRetry.for_function(settings, streams, SOURCE, "my-app")
    assert (retry.deadline_s, retry.max_attempts, retry.source) == (45, 5, SOURCE)
    retry.dead_letters.reject("r", b"x")
    (letter,) = letters(streams)
    assert (letter.function, letter.source) == ("my-app", SOURCE)


def test_a_record_the_stream_refuses_to_park_is_dead_lettered_with_both_reasons(setup):
    retry = setup[0]

    class Refusing(OutageStream):
        def put_records(self, path, records):
            if path == SOURCE:
                raise BackendError("V3IO put records: HTTP 400 record too large")
            return super().put_records(path, records)

    refusing = Refusing()
    refusing.create(SOURCE)
    retry.streams = refusing
    retry.dead_letters = DeadLetters(refusing, DEAD, "my-app", source=SOURCE)
    assert retry.handle(Delivery(b"big", (0, 3)), Flaky(outages=1000)).outcome == DEAD_LETTERED
    (letter,) = letters(refusing)
    assert letter.reason == ("BackendUnavailable: TSDB write: framesd UNAVAILABLE; cannot park it: "
                             "BackendError: V3IO put records: HTTP 400 record too large")


def test_a_source_stream_no_trigger_created_yet_is_created_to_park_on():
    streams, clock = MemoryStream(), FakeTime()
    retry = HandlerRetry(streams, SOURCE, DeadLetters(streams, DEAD, "f"), deadline_s=1, sleep=clock.sleep,
                         monotonic=clock.monotonic)
    assert retry.handle(Delivery(b"w", (2, 1)), Flaky(outages=1000)).outcome == PARKED
    assert [(r.shard, r.data.endswith(b"\nw")) for r in stream_records(streams, SOURCE)] == [(2, True)]


PARK = "projects/p/model-endpoints/stream-my-app-parked"


def test_a_function_sharing_its_source_parks_on_its_own_stream_and_letters_still_name_the_source(setup):
    _, streams, clock = setup
    streams.create(PARK)
    retry = HandlerRetry(streams, SOURCE, DeadLetters(streams, DEAD, "my-app", source=SOURCE), deadline_s=10.0,
                         sleep=clock.sleep, monotonic=clock.monotonic, clock=lambda: 7, park_to=PARK)
    assert retry.handle(Delivery(b"w", (1, 40)), Flaky(outages=1000)).outcome == PARKED
    assert not stream_records(streams, SOURCE)  # nothing for the source's other readers to handle again
    (parked,) = stream_records(streams, PARK)
    (copy,) = each_record(nuclio_sdk.Event(body=parked.data, shard_id=parked.shard, offset=parked.sequence))
    # on any shard of the park stream (the source's shard 1 need not exist there), with the source position
    assert (copy.body, copy.position, copy.origin, copy.parked, copy.parked_by) == (b"w", (0, 1), (1, 40), 1, "my-app")

    assert retry.handle(copy, Flaky(outages=1000)).outcome == PARKED  # parked again: same stream, same origin
    again = [r for r in stream_records(streams, PARK) if r.sequence == 2]
    (second,) = each_record(nuclio_sdk.Event(body=again[0].data, shard_id=0, offset=2))
    assert (second.origin, second.parked) == ((1, 40), 2) and not stream_records(streams, SOURCE)

    handled = retry.handle(dataclasses.replace(second, parked=MAX_PARKS), Flaky(outages=1000))
    assert handled.outcome == DEAD_LETTERED
    (letter,) = letters(streams)
    assert (letter.source, letter.shard, letter.sequence) == (SOURCE, 1, 40)  # where it was first delivered


def test_for_function_parks_on_the_source_unless_told_otherwise():
    settings = Settings(project="p")
    assert HandlerRetry.for_function(settings, MemoryStream(), SOURCE, "f").park_to == SOURCE
    assert HandlerRetry.for_function(settings, MemoryStream(), SOURCE, "f", park_to=PARK).park_to == PARK
