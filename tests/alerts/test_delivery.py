"""The delivery outbox against real receivers: idempotent enqueue, backoff while a receiver is down,
giving up visibly, a slow receiver not holding others, and ``kill -9`` mid-delivery losing nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from notes import notes
from receivers import HttpReceiver

from modelmon.alerts.delivery import Backoff, Deliveries
from modelmon.core.paths import ProjectPaths
from modelmon.testing.clock import ManualClock

HOOK = ({"kind": "webhook", "url_env": "HOOK_URL"},)


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def outbox(backend, clock):
    return Deliveries(backend.kv, ProjectPaths("test"), clock=clock, timeout_s=2.0,
                      backoff=Backoff(base_ms=10_000, cap_ms=60_000, max_attempts=4))


def test_enqueue_is_idempotent_and_each_key_is_sent_once(outbox, monkeypatch):
    receiver = HttpReceiver().start()
    monkeypatch.setenv("HOOK_URL", receiver.url)
    batch = notes(5, (*HOOK, {"kind": "log"}))
    try:
        assert outbox.enqueue(batch) == 10
        assert outbox.enqueue(batch) == 0  # the same notifications again: nothing new
        summary = outbox.deliver_due()
        assert (summary.delivered, summary.retrying, summary.failed) == (10, 0, 0)
        assert outbox.enqueue(batch[:2]) == 0  # even after delivery
        assert outbox.deliver_due().delivered == 0
    finally:
        receiver.stop()
    assert sorted(receiver.keys()) == sorted(n.key for n in batch)
    assert receiver.unique()[batch[0].key]["summary"] == "general_drift detected on churn (window 0)"
    assert [r["state"] for r in outbox.list()] == ["delivered"] * 10


def test_receiver_down_then_back_gets_everything_once(outbox, clock, monkeypatch):
    receiver = HttpReceiver()  # not started: connections are refused
    monkeypatch.setenv("HOOK_URL", receiver.url)
    batch = notes(3, HOOK)
    outbox.enqueue(batch)
    first = outbox.deliver_due()
    assert (first.delivered, first.retrying) == (0, 3)
    pending = outbox.list(state="pending")
    assert [(p["attempts"], p["next_ms"] - clock.now) for p in pending] == [(1, 10_000)] * 3
    assert all("webhook to 127.0.0.1" in p["last_error"] for p in pending)
    clock.advance(5_000)  # before the backoff is over: nothing is due
    assert outbox.deliver_due().retrying == 0
    clock.advance(5_000)
    assert outbox.deliver_due().retrying == 3  # second failure: next in 20 s
    assert {p["next_ms"] - clock.now for p in outbox.list(state="pending")} == {20_000}
    receiver.start()
    try:
        clock.advance(20_000)
        assert outbox.deliver_due().delivered == 3
        clock.advance(3_600_000)
        assert outbox.deliver_due().delivered == 0
    finally:
        receiver.stop()
    assert sorted(receiver.keys()) == sorted(n.key for n in batch)  # each once
    assert outbox.list(state="pending") == []


def test_gives_up_after_max_attempts_and_lists_the_failure(outbox, clock, monkeypatch):
    monkeypatch.setenv("HOOK_URL", HttpReceiver().url)  # nobody listens
    outbox.enqueue(notes(1, HOOK))
    results = []
    for _ in range(4):
        results.append(outbox.deliver_due())
        clock.advance(60_000)
    assert [(s.retrying, s.failed) for s in results] == [(1, 0), (1, 0), (1, 0), (0, 1)]
    [failed] = outbox.list(state="failed")
    assert failed["attempts"] == 4 and failed["kind"] == "webhook"
    assert "ConnectionRefused" in failed["last_error"] or "URLError" in failed["last_error"]
    assert outbox.deliver_due().failed == 0  # a failed item is not tried again
    with pytest.raises(ValueError, match="state must be one of"):
        outbox.list(state="lost")


def test_missing_secret_env_is_a_recorded_failure(outbox, monkeypatch):
    monkeypatch.delenv("HOOK_URL", raising=False)
    outbox.enqueue(notes(1, HOOK))
    summary = outbox.deliver_due()
    assert summary.retrying == 1
    [pending] = outbox.list(state="pending")
    assert pending["last_error"] == "webhook channel: environment variable 'HOOK_URL' is not set"


def test_a_slow_receiver_does_not_hold_the_others(outbox, monkeypatch):
    slow, fast = HttpReceiver(delay_s=4.0).start(), HttpReceiver().start()
    monkeypatch.setenv("SLOW_URL", slow.url)
    monkeypatch.setenv("FAST_URL", fast.url)
    batch = notes(4, ({"kind": "webhook", "url_env": "SLOW_URL"}, {"kind": "webhook", "url_env": "FAST_URL"}))
    try:
        outbox.enqueue(batch)
        summary = outbox.deliver_due()  # the slow one times out after 2 s
    finally:
        fast.stop()
        slow.stop()
    assert (summary.delivered, summary.retrying) == (4, 4)
    assert sorted(fast.keys()) == sorted(n.key for n in batch)
    assert {p["kind"] for p in outbox.list(state="pending")} == {"webhook"}
    assert all("timed out" in p["last_error"] or "Timeout" in p["last_error"] for p in outbox.list(state="pending"))


def test_old_delivered_and_failed_items_are_pruned(outbox, clock, monkeypatch):
    receiver = HttpReceiver().start()
    monkeypatch.setenv("HOOK_URL", receiver.url)
    try:
        outbox.enqueue(notes(2, HOOK))
        outbox.deliver_due()
    finally:
        receiver.stop()
    outbox.enqueue(notes(1, HOOK, config="dead"))
    for _ in range(4):  # nobody listens now: 4 attempts, then failed
        outbox.deliver_due()
        clock.advance(60_000)
    assert [len(outbox.list(state=s)) for s in ("delivered", "failed")] == [2, 1]
    assert outbox.prune() == 0
    clock.advance(outbox.backoff.keep_delivered_ms)
    assert outbox.prune() == 2
    assert outbox.enqueue(notes(1, HOOK)) == 1  # forgotten: the evaluator is what stops an old window now
    clock.advance(outbox.backoff.keep_failed_ms)
    assert outbox.prune() == 1 and outbox.list(state="failed") == []


def test_email_through_the_outbox_with_a_key_derived_message_id(outbox):
    from receivers import SmtpReceiver

    from modelmon.alerts.channels.email import message_id

    smtp = SmtpReceiver().start()
    spec = {"kind": "email", "host": "127.0.0.1", "port": smtp.port, "tls": "none", "to": ["ops@example.com"]}
    batch = notes(3, (spec,))
    try:
        outbox.enqueue(batch)
        assert outbox.deliver_due().delivered == 3
    finally:
        smtp.stop()
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(message_id(n.key) for n in batch)
    assert {m["X-Modelmon-Key"] for m in smtp.messages} == {n.key for n in batch}


DELIVER = textwrap.dedent("""
    import sys
    from modelmon.alerts.delivery import Deliveries
    from modelmon.backends.local import open_local_backend
    from modelmon.core.paths import ProjectPaths
    backend = open_local_backend(sys.argv[1])
    Deliveries(backend.kv, ProjectPaths("test"), clock=lambda: int(sys.argv[2]), workers=2).deliver_due(budget_s=120)
""")


@pytest.mark.slow
def test_kill_9_mid_delivery_loses_nothing(backend, home, clock, monkeypatch):
    receiver = HttpReceiver(delay_s=0.3).start()
    monkeypatch.setenv("HOOK_URL", receiver.url)
    outbox = Deliveries(backend.kv, ProjectPaths("test"), clock=clock)
    batch = notes(20, HOOK)
    outbox.enqueue(batch)
    proc = subprocess.Popen([sys.executable, "-c", DELIVER, str(home), str(clock.now)], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while len(receiver.requests) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        pending = outbox.list(state="pending")
        claimed = [p for p in pending if p["attempts"] == 1]  # sent or being sent when killed, never marked
        assert len(outbox.list(state="delivered")) >= 2 and len(claimed) <= 2  # 2 workers
        unclaimed = len(pending) - len(claimed)
        assert outbox.deliver_due().delivered == unclaimed  # a claim holds its lease: not sent meanwhile
        clock.advance(outbox.lease_ms)  # the killed deliverer's claims have lapsed
        assert outbox.deliver_due().delivered == len(claimed)
    finally:
        receiver.stop()
    keys = receiver.keys()
    assert set(keys) == {n.key for n in batch}  # at least once: nothing lost
    assert len(keys) - 20 <= len(claimed)  # a repeat only for what was in flight when killed
    assert len(receiver.unique()) == 20  # exactly once behind a receiver that dedupes by Idempotency-Key
    assert outbox.list(state="pending") == [] and len(outbox.list(state="delivered")) == 20
