"""The quick-start notebook deploys a working custom app (issue 15, item 6).

The notebook runs top to bottom against the test dashboard, with the V3IO web-API and frames test servers
as the project's store; the dashboard's namespace holds the secret the notebook's function refers to, with
the key those servers accept. The dashboard cannot run functions, so the test then runs what it received
for ``row-count`` — the notebook's exported config and embedded code, materialised as Nuclio's builder
does — under the local runtime, next to the bundle's stream, controller and writer rendered for the
project, each with the environment the platform gives it (secret references resolved). Tracked traffic
then yields ``row_count`` results, read through the SDK, from the notebook's own ``do_tracking``.
"""

from __future__ import annotations

import base64
import copy
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import numpy as np
import orjson
import pytest
import yaml
from deploy_paths import REPO, SOURCE
from nbclient import NotebookClient
from nuclio_dashboard import NuclioDashboard
from nuclio_dashboard.platform import Namespace
from v3io_server.stack import ACCESS_KEY

import modelmon
from modelmon.backends import OutRecord
from modelmon.backends.base import SeekTo, scan_all
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.timeutil import now_ms
from modelmon.deploy import render_bundle, validate_config
from modelmon.events import tracking_body
from modelmon.local_nuclio import LocalRuntime
from modelmon.local_nuclio.spec import load_function
from modelmon.queries import app_failures, dead_letters, result_history
from modelmon.testing.traffic import spread_requests

pytestmark = pytest.mark.slow

NOTEBOOK = REPO / "notebooks" / "quickstart.ipynb"
PROJECT, APP, MODEL = "quickstart", "row-count", "churn"
MINUTE = 60_000
PERIOD = 10 * MINUTE  # the notebook's base period
ROWS = 12  # per window
CORE = ["model-monitoring-stream", "model-monitoring-controller", "model-monitoring-writer"]


@pytest.fixture
def cluster(monkeypatch) -> Iterator[NuclioDashboard]:
    """A dashboard whose namespace has the secret ``modelmon-credentials`` holding the servers' access key."""
    monkeypatch.delenv("NUCLIO_DROP_API", raising=False)
    namespace = Namespace(secrets={"modelmon-credentials": {"access-key": ACCESS_KEY}}, access_keys=[ACCESS_KEY])
    with NuclioDashboard(building_polls=1, namespace=namespace) as server:
        yield server


@pytest.fixture
def notebook(cluster, tmp_path, monkeypatch, v3io_env) -> nbformat.NotebookNode:
    """The notebook, run top to bottom (the bundle it deploys is this checkout; its archive's URL the source)."""
    monkeypatch.setenv("NUCLIO_DASHBOARD_URL", cluster.url)
    monkeypatch.setenv("MODELMON_NOTEBOOK", str(NOTEBOOK))
    monkeypatch.setenv("MODELMON_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELMON_BUNDLE", str(REPO))
    monkeypatch.setenv("MODELMON_SOURCE", SOURCE)  # the bundle archive's URL, for every function it deploys
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def test_the_notebook_deploys_a_working_app_whose_results_the_sdk_reads(notebook, cluster, tmp_path):
    config = cluster.config(f"{PROJECT}-{APP}")  # named as the SDK names its functions
    assert cluster.functions[f"{PROJECT}-{APP}"]["status"]["state"] == "ready"  # the secret resolved, V3IO took the key
    assert config["metadata"]["labels"]["nuclio.io/project-name"] == PROJECT
    spec = config["spec"]
    assert (spec["runtime"], spec["minReplicas"], spec["maxReplicas"]) == ("python:3.11", 1, 1)
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in spec["env"]}
    assert env == {
        "MODELMON_PROJECT": PROJECT, "MODELMON_BACKEND": "v3io", "MODELMON_BASE_PERIOD": "10",
        "MODELMON_APP_NAME": APP, "MODELMON_APP_KWARGS": '{"minimum": 10}',
        "V3IO_API": os.environ["V3IO_API"], "V3IO_FRAMESD": os.environ["V3IO_FRAMESD"],
        "V3IO_ACCESS_KEY": {"secretKeyRef": {"name": "modelmon-credentials", "key": "access-key"}}}
    # the trigger an app function of the bundle has, for this app's stream
    bundle_trigger = yaml.safe_load((REPO / "apps/histogram-data-drift/function.yaml").read_text())["spec"][
        "triggers"]["windows"]
    container, _, stream = ProjectPaths(PROJECT).app_stream(APP).partition("/")
    assert spec["triggers"] == {"windows": {
        **bundle_trigger, "url": os.environ["V3IO_API"],
        "attributes": {**bundle_trigger["attributes"], "containerName": container, "streamPath": stream,
                       "consumerGroup": APP}}}
    assert spec["build"]["commands"] == [f'pip install --no-cache-dir "{SOURCE}"']  # the bundle, not an index
    for name in CORE:  # the SDK's functions are built from the same archive
        build = cluster.config(f"{PROJECT}-{name}")["spec"]["build"]
        assert (build["codeEntryType"], build["path"]) == ("archive", SOURCE)
    assert validate_config(config) == []
    code = base64.b64decode(spec["build"]["functionSourceCode"]).decode()
    assert "class RowCountApp" in code and "AppRunner(app, settings.app_name" in code
    assert "not exported" not in code and "nuclio: ignore" not in code
    assert {f"{PROJECT}-model-monitoring-stream", f"{PROJECT}-model-monitoring-controller",
            f"{PROJECT}-model-monitoring-writer", f"{PROJECT}-histogram-data-drift"} <= set(cluster.functions)
    assert any("0 endpoints, 0 results" in out.get("text", "") for out in notebook.cells[-1].outputs)

    base = now_ms() // PERIOD * PERIOD - 4 * PERIOD
    with modelmon.get_or_create_project(PROJECT, home=tmp_path / "home", target="nuclio",
                                        dashboard_url=cluster.url, bundle_dir=REPO) as project:
        registered = project.registry.get(APP)  # registered by the notebook: the controller dispatches to it
        assert (registered.class_path, dict(registered.kwargs), registered.enabled) == (
            "__main__:RowCountApp", {"minimum": 10}, True)
        with running(cluster, [*core_configs(tmp_path), config], tmp_path):
            send(project, base, 2 * PERIOD)
            send(project, base + 2 * PERIOD, PERIOD, rows=4)  # fewer than the app's minimum of 10
            # every window's result: a write retried past its deadline is parked and stored after later
            # windows' (at-least-once, not in order), so the latest window alone says too little
            # what to look at if a window is missing: the app's failures, the pairs' progress, dead letters, the
            # endpoint's watermark and counts, and how far each consumer group got in each stream
            def state() -> dict[str, object]:
                endpoint = project.list_model_endpoints().to_dict("records")
                return {"failures": app_failures(project.backend, PROJECT).to_dict("records"),
                        "schedules": dict(scan_all(project.backend.kv, ProjectPaths(PROJECT).schedules_table)),
                        "dead_letters": dead_letters(project.backend, PROJECT).to_dict("records"),
                        "endpoints": endpoint, "streams": stream_positions(project.backend.streams)}

            wait_for(lambda: latest_end(project) == base + 3 * PERIOD
                     and len(result_history(project.backend, PROJECT, app_name=APP)) >= 3, explain=state)
            latest = project.get_results(app_name=APP)
            history = result_history(project.backend, PROJECT, app_name=APP).sort_values("start_ms")
            seen = state()
        project.remove_model_monitoring_function(APP)  # the SDK manages the notebook's function as its own
        assert f"{PROJECT}-{APP}" not in cluster.functions
        assert [a.name for a in project.registry.list()] == ["histogram-data-drift"]

    assert list(zip(history["start_ms"], history["end_ms"], history["result_name"], history["value"],
                    strict=True)) == [(base, base + PERIOD, "row_count", ROWS),
                                      (base + PERIOD, base + 2 * PERIOD, "row_count", ROWS),
                                      (base + 2 * PERIOD, base + 3 * PERIOD, "row_count", 4)], seen
    assert history["status"].tolist() == [0, 0, 2]  # no_detection, no_detection, detected
    assert (latest["endpoint_name"].tolist(), latest["status_name"].tolist(), latest["value"].tolist()) == (
        [MODEL], ["detected"], [4])


def core_configs(tmp_path: Path) -> list[dict]:
    """The bundle's stream, controller and writer rendered for the project (the controller looking every
    second: the traffic's windows are in the past)."""
    settings = Settings.from_env(backend="v3io", project=PROJECT, base_period_minutes=10)
    rendered = render_bundle(REPO, settings, functions=CORE)
    return [(f.with_cron_interval("1s") if f.function == "model-monitoring-controller" else f).config
            for f in rendered]


class running:
    """The configs as Nuclio would run them, under the local runtime: a ``sourceCode`` function's code is
    written as its handler's module (what Nuclio's builder does with ``functionSourceCode``); each function
    gets the environment the dashboard's platform gives its container (secret references resolved)."""

    def __init__(self, cluster: NuclioDashboard, configs: list[dict], tmp_path: Path) -> None:
        # the runtime checks the store before it starts; each function's own key is its container's
        settings = Settings.from_env(backend="v3io", project=PROJECT, home=str(tmp_path / "runtime"))
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("V3IO_", "MODELMON_"))}
        self.runtime = LocalRuntime(REPO, settings, env=base_env, explicit={})
        self.functions = []
        for config in configs:
            env = cluster.namespace.container_env(config)
            assert isinstance(env, dict), env
            self.functions.append((load_function(materialise(config, tmp_path / "functions")), env))

    def __enter__(self) -> LocalRuntime:
        self.runtime.start([])
        for spec, env in self.functions:
            self.runtime.add(spec, env=env)
        self.runtime.wait_ready(timeout=60)
        return self.runtime

    def __exit__(self, *exc: object) -> None:
        self.runtime.stop()


def materialise(config: dict, root: Path) -> Path:
    """``<root>/<name>/function.yaml`` and, for embedded code, ``<handler module>.py`` beside it."""
    config = copy.deepcopy(config)
    directory = root / config["metadata"]["name"]
    directory.mkdir(parents=True)
    build = config["spec"].get("build") or {}
    source = build.pop("functionSourceCode", None)
    if source:
        module = config["spec"]["handler"].partition(":")[0]
        (directory / f"{module}.py").write_bytes(base64.b64decode(source))
    path = directory / "function.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def send(project, start_ms: int, span_ms: int, rows: int = ROWS) -> None:
    """``rows`` requests per base period of ``[start_ms, start_ms + span_ms)``, the last at its end - 1 ms
    (so the endpoint's watermark closes each window as soon as it is stored)."""
    rng = np.random.default_rng(start_ms)
    requests = spread_requests(MODEL, start_ms, span_ms, rows * span_ms // PERIOD, rng, features=3)
    body = tracking_body(model=MODEL, version="1", function_uri=f"{PROJECT}/serving", requests=requests)
    project.backend.streams.put_records(ProjectPaths(PROJECT).tracking_stream,
                                        [OutRecord(orjson.dumps(body), partition_key=MODEL)])


def stream_positions(streams) -> dict[str, list[tuple[int, int | None]]]:
    """Per stream and consumer group: each shard's (next sequence to be written, group's committed position).
    A committed position past a record the group's function never handled is a record lost on the way in."""
    paths = ProjectPaths(PROJECT)
    groups = {paths.tracking_stream: "model-monitoring-stream", paths.app_stream(APP): APP,
              paths.writer_stream: "model-monitoring-writer"}
    out = {}
    for path, group in groups.items():
        shards = range(streams.describe(path).shards)
        out[f"{path} ({group})"] = [(streams.seek(path, s, SeekTo.LATEST), streams.committed(path, group, s))
                                    for s in shards]
    return out


def latest_end(project) -> int | None:
    results = project.get_results(app_name=APP)
    return None if results.empty else int(results["end_ms"].max())


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0,
             explain: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s:g}s"
                               + (f"; state: {explain()}" if explain is not None else ""))
        time.sleep(0.3)
