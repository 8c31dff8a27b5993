"""The supervised runtime with real processes, the local backend and real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.request

import pytest
from runtime_fixtures import BUNDLES, wait_for

from modelmon.backends import OutRecord, scan_all
from modelmon.core.config import Settings
from modelmon.core.errors import ConfigError, CorruptStore, NotFound
from modelmon.core.paths import ProjectPaths
from modelmon.local_nuclio import LocalRuntime

STREAM = ProjectPaths("test").tracking_stream
TABLE = "runtime-test/processed"
GROUP = "kv-consumer"
pytestmark = pytest.mark.slow



def get_json(port, path="/"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return json.loads(resp.read())


def put_ids(backend, ids, key=None, **extra):
    """Put ``{"id": i, **extra}`` records, keyed by their id (or all by ``key``: one shard)."""
    backend.streams.create(STREAM, shards=2)
    records = [OutRecord(json.dumps({"id": i, **extra}).encode(), partition_key=key or i) for i in ids]
    backend.streams.put_records(STREAM, records)


def processed(backend):
    return dict(scan_all(backend.kv, TABLE))


def committed(backend):
    return [backend.streams.committed(STREAM, GROUP, shard) or 0 for shard in range(2)]


def web_port(runtime):
    (api,) = runtime.status()["web"].triggers
    return api["port"]


def test_each_function_in_its_own_process_with_its_env(settings, backend):
    with LocalRuntime(BUNDLES / "procs", settings) as runtime:
        status = runtime.status()
        assert sorted(status) == ["kv-consumer", "web"]
        assert all(s.alive and s.ready and s.restarts == 0 for s in status.values())
        assert len({s.pid for s in status.values()} | {os.getpid()}) == 3
        answer = get_json(web_port(runtime))
        assert answer == {"pid": status["web"].pid, "greeting": "from-function-yaml", "project": "test",
                          "home": os.path.abspath(settings.home)}
        put_ids(backend, [f"id-{i}" for i in range(20)])
        wait_for(lambda: len(processed(backend)) == 20, what="20 records processed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_crashing_function_is_restarted_and_the_others_keep_running(settings, backend):
    base = free_port()
    with LocalRuntime(BUNDLES / "procs", settings, http_port_base=base, restart_backoff_s=0.2) as runtime:
        before = runtime.status()
        port = web_port(runtime)
        assert port == base
        with pytest.raises(OSError):
            get_json(port, "/crash")
        wait_for(lambda: runtime.status()["web"].restarts == 1 and runtime.status()["web"].ready, what="restart")
        after = runtime.status()
        assert after["web"].pid != before["web"].pid
        assert get_json(port)["pid"] == after["web"].pid  # same port after the restart
        assert after["kv-consumer"].pid == before["kv-consumer"].pid and after["kv-consumer"].restarts == 0
        put_ids(backend, ["after-crash"])
        wait_for(lambda: "after-crash" in processed(backend), what="consumer still consuming")


def test_sigkill_mid_batch_loses_and_duplicates_no_committed_write(settings, backend):
    ids = [f"k{i:03d}" for i in range(300)]
    put_ids(backend, ids)
    runtime = LocalRuntime(BUNDLES / "procs", settings, functions=["kv-consumer"], restart_backoff_s=0.1,
                           env={**os.environ, "CONSUMER_SLEEP_MS": "3"})
    with runtime:
        wait_for(lambda: sum(committed(backend)) - 2 >= 1, what="a first commit")
        before = committed(backend)
        victim = runtime.status()["kv-consumer"].pid
        os.kill(victim, signal.SIGKILL)
        assert 0 < sum(before) - 2 < 300  # killed in the middle: some but not all records committed
        wait_for(lambda: runtime.status()["kv-consumer"].restarts == 1, what="restart after SIGKILL")
        wait_for(lambda: committed(backend) == [len(_on_shard(backend, s)) + 1 for s in range(2)], timeout=30,
                 what="every record committed")
        assert runtime.status()["kv-consumer"].pid != victim
    items = processed(backend)
    assert sorted(items) == ids  # nothing lost
    assert {item["writes"] for item in items.values()} == {1}  # nothing written twice
    assert all(a >= b for a, b in zip(committed(backend), before, strict=True))  # no committed offset went back
    deliveries = dict(scan_all(backend.kv, f"{TABLE}-deliveries"))
    assert sorted(deliveries) == ids and all(d["n"] >= 1 for d in deliveries.values())


def _on_shard(backend, shard):
    return backend.streams.read(STREAM, shard, 1, limit=10_000)


def test_group_resumes_after_runtime_restart_and_passes_over_poison(settings, backend):
    """A record whose handler raises is delivered once and passed over, as Nuclio does in its default mode;
    the records after it are handled and their marks commit past it, and nothing is dead-lettered by the
    runtime (the function would have to keep the record itself: ``modelmon.functions.handling``)."""
    settings = Settings(home=settings.home, project="test", max_retries=2)
    put_ids(backend, ["a1", "a2", "a3"])
    with LocalRuntime(BUNDLES / "procs", settings, functions=["kv-consumer"]):
        wait_for(lambda: len(processed(backend)) == 3, what="first run")
    put_ids(backend, ["b1", "b2"])
    put_ids(backend, ["poison-1"], key="same-shard", poison=True)
    put_ids(backend, ["b3"], key="same-shard")  # right after the poison: its mark commits past it
    with LocalRuntime(BUNDLES / "procs", settings, functions=["kv-consumer"]):
        wait_for(lambda: len(processed(backend)) == 6, what="second run")
        wait_for(lambda: committed(backend) == [len(_on_shard(backend, s)) + 1 for s in range(2)], what="commit")
    deliveries = {k: v["n"] for k, v in scan_all(backend.kv, f"{TABLE}-deliveries")}
    assert deliveries == {"a1": 1, "a2": 1, "a3": 1, "b1": 1, "b2": 1, "poison-1": 1, "b3": 1}
    assert sorted(processed(backend)) == ["a1", "a2", "a3", "b1", "b2", "b3"]
    with pytest.raises(NotFound):
        backend.streams.describe(ProjectPaths("test").dead_letter_stream)


def test_stop_sends_sigterm_and_termination_callbacks_run(settings, backend):
    runtime = LocalRuntime(BUNDLES / "procs", settings, functions=["kv-consumer"])
    with runtime:
        pid = runtime.status()["kv-consumer"].pid
    terminated = sorted(scan_all(backend.kv, f"{TABLE}-terminated"))
    assert [key for key, _ in terminated] == [f"{pid}-0", f"{pid}-1"]  # both workers' callbacks
    assert not runtime.status()["kv-consumer"].alive


def test_handler_that_does_not_import_is_one_error_and_no_restart(tmp_path, settings):
    (tmp_path / "function.yaml").write_text("metadata: {name: broken}\nspec: {handler: 'missing_mod_q:handler'}\n")
    runtime = LocalRuntime(tmp_path, settings)
    with pytest.raises(ConfigError) as info:
        runtime.__enter__()
    message = str(info.value)
    assert message == (f"{tmp_path / 'function.yaml'}: handler 'missing_mod_q:handler': cannot import module "
                       "'missing_mod_q': ModuleNotFoundError: No module named 'missing_mod_q'")
    assert runtime.status()["broken"].restarts == 0


def test_corrupt_store_fails_before_any_process(settings):
    home = settings.home
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "modelmon.db"), "wb") as f:
        f.write(b"this is not a database" * 100)
    runtime = LocalRuntime(BUNDLES / "procs", settings)
    with pytest.raises(CorruptStore):
        runtime.start()
    assert runtime.status() == {}
