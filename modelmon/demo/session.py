"""A running demo: a fresh home, the rendered bundle under the local runtime, apps, endpoints, traffic.

::

    with DemoSession(DemoConfig(home=Path(".modelmon-demo"))) as demo:
        demo.send_traffic()
        demo.wait_for_windows(progress=print)

The end-to-end tests use the same session to kill functions and send malformed events mid-run.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from modelmon.alerts.configs import AlertConfig, AlertConfigStore
from modelmon.alerts.evaluator import Evaluator
from modelmon.apps.registry import AppRegistry
from modelmon.backends import Backend, OutRecord, make_backend
from modelmon.backends.base import SeekTo
from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError
from modelmon.core.paths import ProjectPaths
from modelmon.core.project_record import write_record
from modelmon.core.timeutil import now_ms
from modelmon.demo.bundle import DemoBundle, render_demo_functions
from modelmon.demo.dataset import DemoModel, check_demo_model, train_demo_model
from modelmon.demo.traffic import Scenario, TrafficGenerator, TrafficPlan, default_scenarios
from modelmon.deploy.render import default_bundle_dir
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.local_nuclio import LocalRuntime
from modelmon.queries import app_failures, result_history

DEMO_APPS = ("histogram-data-drift", "data-quality", "system-performance")
#: The alert the demo stores: the drift app's overall score suspected or detected in two windows within an hour,
#: to the log (``MODELMON_ALERT_WEBHOOK_URL`` in the environment adds the quick start's webhook).
DEMO_ALERT = AlertConfig(name="demo-drift", events=("data_drift_detected", "data_drift_suspected"), severity="high",
                         apps=("histogram-data-drift",), results=("general_drift",), count=2, period_s=3600,
                         notifications=({"kind": "log"},),
                         description="general_drift suspected or detected in 2 windows within an hour")
DEFAULT_HOME = ".modelmon-demo"
MAX_ROWS_PER_WINDOW = 60_000  # one-minute windows, at most one row per millisecond
_MARKER = ".modelmon-demo"  # a file that marks a directory as a demo home, safe to wipe
Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """What the demo runs: ``windows`` one-minute windows of ``rows_per_window`` rows per endpoint."""

    home: Path = Path(DEFAULT_HOME)
    project: str = "demo"
    windows: int = 8
    rows_per_window: int = 500
    seed: int = 0
    apps: tuple[str, ...] = DEMO_APPS
    controller_interval: str = "1s"
    bundle_dir: Path | None = None
    ready_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        """Bad numbers are refused here, before a session touches the home."""
        for name, value, low, high in (("windows", self.windows, 1, None),
                                       ("rows_per_window", self.rows_per_window, 1, MAX_ROWS_PER_WINDOW),
                                       ("seed", self.seed, 0, None)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
                bound = f"between {low} and {high}" if high else f"of at least {low}"
                raise ValueError(f"{name} must be a whole number {bound}, got {value!r}")
        if not isinstance(self.ready_timeout_s, int | float) or not self.ready_timeout_s > 0:
            raise ValueError(f"ready_timeout_s must be a positive number of seconds, got {self.ready_timeout_s!r}")
        if not self.apps:
            raise ValueError("apps: the demo needs at least one monitoring app")


@dataclasses.dataclass(frozen=True)
class WindowProgress:
    """How many (endpoint, app, window) triples got a result or a failure record, of those expected."""

    done: int
    expected: int
    failed: int
    unexpected: int  # results for windows outside the plan (should stay 0)

    @property
    def complete(self) -> bool:
        return self.done >= self.expected


class DemoSession:
    """Owns the demo home, the runtime and the backend handle of one demo run."""

    def __init__(self, config: DemoConfig, progress: Progress | None = None, storage: Settings | None = None) -> None:
        """``storage``: the backend and its credentials (e.g. ``Settings(backend="v3io", v3io_api=...)``);
        by default the local backend in the demo home. Home, project and base period come from ``config``."""
        self.config = config
        self.progress: Progress = progress or (lambda _: None)
        self.settings = dataclasses.replace(storage or Settings(), home=str(config.home.resolve()),
                                            project=config.project, base_period_minutes=1)
        self.paths = ProjectPaths(config.project)
        self.started = time.monotonic()
        self.runtime: LocalRuntime | None = None
        self.bundle: DemoBundle | None = None
        self.backend: Backend | None = None
        self.model: DemoModel | None = None
        self.scenarios: list[Scenario] = []
        self.generator: TrafficGenerator | None = None
        self.endpoint_ids: dict[str, str] = {}  # scenario key -> endpoint id

    # ------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Check everything, then wipe the home, start the functions, train the model, register apps and
        endpoints. A home that is not a demo's, a missing bundle or app, or no scikit-learn raise before
        the home is touched."""
        config = self.config
        check_home(config.home)
        bundle_dir = (config.bundle_dir or default_bundle_dir()).resolve()
        rendered = render_demo_functions(bundle_dir, self.settings, config.apps, config.controller_interval)
        check_demo_model()
        prepare_home(config.home)
        # the project's record: status, the UI and the reader commands then cut its 1-minute windows
        write_record(config.home, config.project, base_period_minutes=self.settings.base_period_minutes)
        self.bundle = rendered.write(config.home / "bundle")
        self.backend = make_backend(self.settings)
        if self.bundle.alerts_group is not None:  # stored before the alerts function first reads its configs
            AlertConfigStore(self.backend.kv, self.paths).store(DEMO_ALERT)
        self.progress(f"starting {len(self.bundle.names)} functions: {', '.join(self.bundle.names)} "
                      f"(logs in {self.log_file})")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(bundle_dir), os.environ.get(
            "PYTHONPATH", "")) if p)}
        self.runtime = LocalRuntime(self.bundle.directory, self.settings, env=env, log_file=self.log_file)
        self.runtime.start()
        self.model = train_demo_model(config.seed)  # while the functions start
        registry = AppRegistry(self.backend.kv, self.paths, self.settings.base_period_minutes)
        for app in self.bundle.apps:
            registry.register(app.name, app.class_path)
        plan = TrafficPlan.ending_at(now_ms(), config.windows, config.rows_per_window)
        self.generator = TrafficGenerator(self.model, config.project, plan, seed=config.seed)
        self.scenarios = default_scenarios(self.model.feature_names)
        for scenario in self.scenarios:
            endpoint = register_model_endpoint(
                self.backend, config.project, scenario.name, reference_data=self.model.reference,
                label_names=["prediction"], model_class="sklearn.linear_model.LogisticRegression",
                function_uri=self.generator.function_uri, model_version="1", labels={"scenario": scenario.key},
            )
            if endpoint.endpoint_id != self.generator.endpoint_id(scenario):
                raise ConfigError(f"endpoint {scenario.name}: registered id {endpoint.endpoint_id} differs from "
                                  f"the tracked one {self.generator.endpoint_id(scenario)}")
            self.endpoint_ids[scenario.key] = endpoint.endpoint_id
        self.runtime.wait_ready(config.ready_timeout_s)
        self.progress(f"functions ready after {self.elapsed_s:.1f}s; model trained on {len(self.model.reference)} "
                      f"rows x {len(self.model.feature_names)} features")

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
            self.runtime = None
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def __enter__(self) -> DemoSession:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def log_file(self) -> Path:
        """Where the functions' log lines go."""
        return self.config.home / "functions.log"

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    # ------------------------------------------------------------------------------- traffic

    def send_traffic(self, windows: Sequence[int] | None = None) -> int:
        """Put the tracking records of ``windows`` (default: all), in time order; the records sent."""
        assert self.generator is not None and self.backend is not None, "start() the session first"
        stream = self.paths.tracking_stream
        self.backend.streams.create(stream)
        sent = 0
        for window in range(self.config.windows) if windows is None else windows:
            records = [r for s in self.scenarios for r in self.generator.records(s, window)]
            self.put(records)
            sent += len(records)
        requests = sent * self.generator.plan.requests_per_record
        self.progress(f"sent {sent} tracking records ({requests} requests) to {stream}")
        return sent

    def put(self, records: Sequence[OutRecord]) -> None:
        """Put raw records on the tracking stream (the tests' way to send malformed events)."""
        assert self.backend is not None, "start() the session first"
        for first in range(0, len(records), 1000):  # a put is atomic up to 1,000 records
            self.backend.streams.put_records(self.paths.tracking_stream, records[first:first + 1000])

    # ------------------------------------------------------------------------------- waiting

    def expected_windows(self) -> set[tuple[str, str, int]]:
        """Every (endpoint id, app name, window start) the plan closes."""
        assert self.generator is not None and self.bundle is not None
        return {(endpoint_id, app.name, start) for endpoint_id in self.endpoint_ids.values()
                for app in self.bundle.apps for start in self.generator.plan.window_starts}

    def history(self) -> pd.DataFrame:
        assert self.backend is not None and self.generator is not None
        return result_history(self.backend, self.config.project, since_ms=self.generator.plan.first_start_ms)

    def window_progress(self) -> WindowProgress:
        assert self.backend is not None
        expected = self.expected_windows()
        history = self.history()
        seen = set(zip(history["endpoint_id"], history["app_name"], history["start_ms"].astype(int), strict=True))
        failures = app_failures(self.backend, self.config.project)
        failed = set(zip(failures["endpoint_id"], failures["app_name"], failures["start_ms"].astype(int),
                         strict=True))
        return WindowProgress(done=len((seen | failed) & expected), expected=len(expected),
                              failed=len(failed & expected), unexpected=len((seen | failed) - expected))

    def wait_for_alerts(self, timeout_s: float = 30.0, poll_s: float = 0.3) -> list[dict[str, Any]]:
        """Once the alerts function has read every writer event (its consumer group's committed offset, the next
        record to read, is at the end of the writer stream), the active alerts; none when the bundle has no
        alerts function. ``TimeoutError`` after ``timeout_s``."""
        assert self.backend is not None and self.bundle is not None, "start() the session first"
        group = self.bundle.alerts_group
        if group is None:
            return []
        streams, path = self.backend.streams, self.paths.writer_stream
        deadline = time.monotonic() + timeout_s
        while any((streams.committed(path, group, shard) or 0) < streams.seek(path, shard, SeekTo.LATEST)
                  for shard in range(streams.describe(path).shards)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the alerts function had not read every result in {timeout_s:g}s "
                                   f"(see {self.log_file})")
            time.sleep(poll_s)
        return Evaluator(self.backend.kv, self.paths).activations(active_only=True)

    def wait_for_windows(self, timeout_s: float = 90.0, poll_s: float = 0.5) -> WindowProgress:
        """Poll until every expected window has a result or failure; ``TimeoutError`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            state = self.window_progress()
            if state != last:
                self.progress(f"windows analysed: {state.done}/{state.expected}"
                              + (f" ({state.failed} failed)" if state.failed else ""))
                last = state
            if state.complete:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {state.done} of {state.expected} windows were analysed in {timeout_s:g}s")
            time.sleep(poll_s)


def check_home(home: Path) -> None:
    """``ConfigError`` unless ``home`` is missing, empty, or a previous demo's home (the only kind wiped)."""
    if home.exists() or home.is_symlink():
        if not home.is_dir():
            raise ConfigError(f"{home}: demo home is not a directory; choose another --home")
        if any(home.iterdir()) and not (home / _MARKER).is_file():
            raise ConfigError(f"{home}: not empty and not a demo home; choose another --home")
    elif home.parent.exists() and not home.parent.is_dir():
        raise ConfigError(f"{home}: {home.parent} is not a directory; choose another --home")


def prepare_home(home: Path) -> None:
    """Create ``home`` empty: a previous demo home is wiped, any other non-empty directory refused."""
    check_home(home)
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / _MARKER).write_text("modelmon demo home: wiped by every `modelmon demo`\n", encoding="utf-8")
