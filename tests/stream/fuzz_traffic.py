"""Valid tracking traffic for the stream function's fuzz test, and the cases the malformed classes build on.

A :class:`Case` is what one generator (one class of input) sends: the bodies to deliver, how, and what must
come of them: the valid requests among them (each stored exactly once), how many dead letters they cause and
an excerpt every letter's reason must hold. Valid requests are dated within the last 45 minutes (never the
last one), so they pass the default event-time bounds and their windows close before the controller runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from typing import Any

from ingest_fixtures import PROJECT, batched, single

from modelmon.events import endpoint_uid

MINUTE = 60_000
#: A value spliced into the JSON text as a bare literal that ``json.dumps`` cannot write.
HUGE_FLOAT = "__1e999__"
#: A valid endpoint known by MLRun's hash of its function, model and version (no ``endpoint_id``).
HASHED_META = {"model": "churn-fuzz", "function_uri": f"{PROJECT}/fuzz:latest", "version": "v1"}
HASHED = endpoint_uid(PROJECT, HASHED_META["function_uri"], HASHED_META["model"], HASHED_META["version"])


@dataclasses.dataclass(frozen=True)
class Spec:
    """An endpoint's shape: features per row, outputs per row (1: MLRun's flat list), rows per request."""

    features: int
    outputs: int
    max_rows: int = 1
    text: bool = False  # feature f1 is text

    def names(self) -> list[str]:
        return [f"f{i}" for i in range(self.features)] + [f"p{i}" for i in range(self.outputs)]


SPECS = {"ep-alpha": Spec(3, 1), "ep-beta": Spec(4, 2, max_rows=3), "ep-gamma": Spec(2, 1, text=True),
         HASHED: Spec(5, 1, max_rows=2), "ep-bigname": Spec(2, 1)}
#: Endpoints that get traffic from the first record on (``ep-bigname`` only from its own, refused, class).
ENDPOINTS = ("ep-alpha", "ep-beta", "ep-gamma", HASHED)
NUMERIC = ("ep-alpha", "ep-beta", HASHED)


@dataclasses.dataclass(frozen=True)
class Valid:
    """One request that must be stored once: its sample rows as (request_id, timestamp, latency_us, *values)."""

    endpoint_id: str
    request_id: str
    when_ms: int
    rows: tuple[tuple[Any, ...], ...]  # none for an error event
    microsec: int = 0
    error: bool = False


@dataclasses.dataclass
class Case:
    """What one generator sends and what must come of it.

    ``mode``: ``each`` (one call per body, each at a new stream position), ``redeliver`` (the same body twice
    at the same position), ``nuclio_batch`` (all bodies in one call, as Nuclio's batching delivers them) or
    ``positionless`` (no stream position, as over HTTP).
    """

    name: str
    bodies: list[bytes | dict]
    valid: list[Valid] = dataclasses.field(default_factory=list)
    letters: int = 0
    reason: str = ""
    mode: str = "each"
    duplicates: int = 0
    alone: bool = False  # each letter's payload is a record of the one bad request, replayable alone


def dump(body: Any) -> bytes:
    """JSON bytes as a careless producer writes them: NaN/Infinity, any integer, lone surrogates escaped."""
    return json.dumps(body).encode().replace(f'"{HUGE_FLOAT}"'.encode(), b"1e999")


class Traffic:
    """Seeded valid requests and records; ``now`` dates them."""

    def __init__(self, seed: int, now: int) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self._count = 0

    def request_id(self, prefix: str = "v") -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def when_ms(self) -> int:
        return self.now - self.rng.randint(MINUTE, 45 * MINUTE)

    def when(self, ms: int) -> int | float | str:
        """``ms`` as a producer may write it: epoch ms (int or float), MLRun's text, ISO with Z or an offset."""
        utc = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
        return self.rng.choice([
            ms, ms + 0.5, str(utc.replace(tzinfo=None)), utc.replace(tzinfo=None).isoformat() + "Z",
            utc.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(),
        ])

    def request(self, endpoint_id: str, *, error: bool = False, request_id: str | None = None,
                when_ms: int | None = None) -> tuple[dict, Valid]:
        """A valid request (or error event) of ``endpoint_id``: its batched entry and what must be stored."""
        spec, rng = SPECS[endpoint_id], self.rng
        count = rng.randint(1, spec.max_rows)
        features = [[round(rng.uniform(-1000, 1000), 4) for _ in range(spec.features)] for _ in range(count)]
        for row in features if spec.text else ():
            row[1] = rng.choice(["red", "green", "blue", "ünï ✓", ""])
        if spec.outputs == 1:
            outputs: list = [rng.randint(0, 1) for _ in range(count)]
            output_rows = [[o] for o in outputs]
        else:
            outputs = output_rows = [[round(rng.random(), 4) for _ in range(spec.outputs)] for _ in range(count)]
        inputs = features[0] if count == 1 and rng.random() < 0.5 else features  # a flat list is one row
        ms = self.when_ms() if when_ms is None else when_ms
        request_id = request_id or self.request_id()
        entry: dict[str, Any] = {"request": {"id": request_id, "inputs": inputs}, "when": self.when(ms)}
        if error:
            entry["error"] = "ValueError: the model failed"
            return entry, Valid(endpoint_id, request_id, ms, (), error=True)
        microsec = rng.randint(100, 50_000)
        entry.update(resp={"id": request_id, "outputs": outputs}, microsec=microsec)
        rows = tuple((request_id, ms, float(microsec), *f, *o) for f, o in zip(features, output_rows, strict=True))
        return entry, Valid(endpoint_id, request_id, ms, rows, microsec)

    def requests(self, endpoint_id: str, count: int) -> tuple[list[dict], list[Valid]]:
        pairs = [self.request(endpoint_id) for _ in range(count)]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    @staticmethod
    def meta(endpoint_id: str) -> dict:
        return dict(HASHED_META) if endpoint_id == HASHED else {"endpoint_id": endpoint_id}

    def record(self, target: str, entries: list[dict], /, **meta: Any) -> dict:
        """MLRun's batched shape for endpoint ``target`` (``meta`` overrides its fields)."""
        return batched(entries, **{**self.meta(target), **meta})

    def single(self, target: str, entry: dict, /, **meta: Any) -> dict:
        """MLRun's single shape (one request) for endpoint ``target``."""
        fields = {k: entry[k] for k in ("request", "resp", "when", "microsec", "error") if k in entry}
        body = single(**{**self.meta(target), **meta}, **fields)
        if "error" in entry:
            body.pop("resp"), body.pop("microsec")
        return body


# ------------------------------------------------------------------------------------------- valid classes
def valid_batch(t: Traffic) -> Case:
    """Clean, all-numeric batched records: the fast path."""
    endpoint_id = t.rng.choice(NUMERIC)
    entries, valid = t.requests(endpoint_id, t.rng.randint(1, 30))
    return Case("valid_batch", [dump(t.record(endpoint_id, entries))], valid)


def valid_text_batch(t: Traffic) -> Case:
    """Records with a text feature: the checked path."""
    entries, valid = t.requests("ep-gamma", t.rng.randint(1, 10))
    return Case("valid_text_batch", [dump(t.record("ep-gamma", entries))], valid)


def valid_single(t: Traffic) -> Case:
    endpoint_id = t.rng.choice(ENDPOINTS)
    entry, valid = t.request(endpoint_id)
    return Case("valid_single", [dump(t.single(endpoint_id, entry))], [valid])


def valid_errors(t: Traffic) -> Case:
    """Requests and error events (the model raised) in one record."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    pairs = [t.request(endpoint_id, error=t.rng.random() < 0.4) for _ in range(t.rng.randint(2, 8))]
    return Case("valid_errors", [dump(t.record(endpoint_id, [p[0] for p in pairs]))], [p[1] for p in pairs])


def valid_dict_body(t: Traffic) -> Case:
    """A body Nuclio already decoded from JSON."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entries, valid = t.requests(endpoint_id, t.rng.randint(1, 5))
    return Case("valid_dict_body", [t.record(endpoint_id, entries)], valid)


def valid_positionless(t: Traffic) -> Case:
    """A record without a stream position (HTTP): identified by its body's hash."""
    endpoint_id = t.rng.choice(ENDPOINTS)
    entries, valid = t.requests(endpoint_id, t.rng.randint(1, 5))
    return Case("valid_positionless", [dump(t.record(endpoint_id, entries))], valid, mode="positionless")


def valid_nuclio_batch(t: Traffic) -> Case:
    """Several records in one handler call (Nuclio's batching)."""
    bodies, valid = [], []
    for _ in range(t.rng.randint(2, 4)):
        endpoint_id = t.rng.choice(ENDPOINTS)
        entries, kept = t.requests(endpoint_id, t.rng.randint(1, 5))
        bodies.append(dump(t.record(endpoint_id, entries)))
        valid += kept
    return Case("valid_nuclio_batch", bodies, valid, mode="nuclio_batch")


VALID = (valid_batch, valid_text_batch, valid_single, valid_errors, valid_dict_body, valid_positionless,
         valid_nuclio_batch)


def warm_up(t: Traffic) -> list[Case]:
    """One record per endpoint first, so each has its names before malformed requests of other widths arrive."""
    cases = []
    for endpoint_id in ENDPOINTS:
        entries, valid = t.requests(endpoint_id, 3)
        cases.append(Case("valid_warm_up", [dump(t.record(endpoint_id, entries))], valid))
    return cases
