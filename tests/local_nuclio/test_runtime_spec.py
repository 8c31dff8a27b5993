from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from runtime_fixtures import BUNDLES

from modelmon.backends.base import SeekTo
from modelmon.core.errors import ConfigError
from modelmon.local_nuclio.cron_schedule import cron_schedule, parse_duration
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.spec import load_bundle, load_function
from modelmon.local_nuclio.stream_source import stream_source


def write(dir_: Path, text: str, name: str = "function.yaml") -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    path = dir_ / name
    path.write_text(textwrap.dedent(text))
    return path


def test_bundle_finds_root_and_nested_functions_sorted():
    specs = load_bundle(BUNDLES / "demo")
    assert [s.name for s in specs] == ["consumer", "echo", "scheduled", "ticker"]
    echo = next(s for s in specs if s.name == "echo")
    assert echo.module == "echo_handler" and echo.entry == "handler"
    assert dict(echo.env) == {"GREETING": "hello"}  # the valueFrom secret is skipped
    (http,) = echo.triggers
    assert (http.kind, http.name, http.num_workers, http.function) == ("http", "http", 2, "echo")


def test_select_functions_by_name_and_unknown_name_is_named():
    assert [s.name for s in load_bundle(BUNDLES / "demo", ["ticker", "echo"])] == ["echo", "ticker"]
    with pytest.raises(ConfigError, match=r"no function named nope \(found: consumer, echo, scheduled, ticker\)"):
        load_bundle(BUNDLES / "demo", ["nope"])


def test_stream_trigger_path_group_and_seek():
    (trigger,) = load_function(BUNDLES / "demo" / "consumer" / "function.yaml").triggers
    source = stream_source(trigger)
    assert source.paths == ("projects/test/model-endpoints/stream",)
    assert (source.group, source.seek, source.shards, trigger.num_workers) == ("consumer", SeekTo.EARLIEST, 4, 2)


def test_v3io_url_and_kafka_topics(tmp_path):
    path = write(tmp_path, """
        metadata: {name: f}
        spec:
          handler: m:h
          triggers:
            s:
              kind: v3ioStream
              url: v3io:///projects/p/model-endpoints/stream-app
            k:
              kind: kafka-cluster
              attributes: {topics: [orders, returns], initialOffset: latest, partitions: 3}
    """)
    s, k = load_function(path).triggers
    v3io = stream_source(s)
    assert (v3io.paths, v3io.group, v3io.seek) == (("projects/p/model-endpoints/stream-app",), "f-s", SeekTo.LATEST)
    kafka = stream_source(k)
    assert (kafka.paths, kafka.seek, kafka.shards) == (("orders", "returns"), SeekTo.LATEST, 3)


def test_cron_interval_and_schedule():
    (tick,) = load_function(BUNDLES / "demo" / "ticker" / "function.yaml").triggers
    schedule = cron_schedule(tick)
    assert schedule.interval_s == 0.1 and schedule.body == b"tick" and schedule.headers == {"X-Source": "cron"}
    assert schedule.next_after(1000.0) == pytest.approx(1000.1)
    (every,) = load_function(BUNDLES / "demo" / "jobs" / "scheduled" / "function.yaml").triggers
    sched = cron_schedule(every)
    assert sched.next_after(1000.2) == 1001.0 and sched.body == b'{"job": "sweep"}'
    assert sched.headers == {"Content-Type": "application/json"}
    assert parse_duration("1h2m3.5s") == 3723.5
    with pytest.raises(ValueError, match="'10 parsecs' is not a duration"):
        parse_duration("10 parsecs")


def test_five_field_schedule_fires_on_the_minute(tmp_path):
    path = write(tmp_path, """
        metadata: {name: f}
        spec: {handler: "m:h", triggers: {c: {kind: cron, attributes: {schedule: "*/5 * * * *"}}}}
    """)
    (trigger,) = load_function(path).triggers
    assert cron_schedule(trigger).next_after(0.0) == 300.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metadata: {name: f}\nspec: {handler: 'm:h', triggers: {t: {kind: rabbit-mq}}}",
         r"function.yaml: trigger 't' has kind 'rabbit-mq', which the local runtime does not run"),
        ("metadata: {name: f\nspec: [", r"function.yaml: invalid YAML at line \d+"),
        ("- just\n- a list\n", r"function.yaml: expected a mapping with 'metadata' and 'spec'"),
        ("metadata: {}\nspec: {handler: 'm:h'}", r"function.yaml: metadata.name is missing"),
        ("metadata: {name: f}\nspec: {handler: 'main.handler'}",
         r"function.yaml: spec.handler 'main.handler' must look like 'module.path:function'"),
        ("metadata: {name: f}\nspec: {handler: 'm:h', triggers: {c: {kind: cron, attributes: {interval: soon}}}}",
         r"trigger 'c': attributes.interval 'soon' is not a duration"),
        ("metadata: {name: f}\nspec: {handler: 'm:h', triggers: {c: {kind: cron, attributes: "
         "{schedule: '61 * * * *'}}}}",
         r"trigger 'c': attributes.schedule '61 \* \* \* \*' is not a cron expression"),
        ("metadata: {name: f}\nspec: {handler: 'm:h', triggers: {c: {kind: cron}}}",
         r"trigger 'c': set exactly one of attributes.interval and attributes.schedule"),
        ("metadata: {name: f}\nspec: {handler: 'm:h', triggers: {s: {kind: v3ioStream, attributes: {}}}}",
         r"trigger 's': needs attributes.containerName and attributes.streamPath"),
        ("metadata: {name: f}\nspec: {handler: 'm:h', triggers: {s: {kind: v3ioStream, attributes: "
         "{containerName: c, streamPath: s, seekTo: middle}}}}",
         r"trigger 's': attributes.seekTo 'middle' must be 'earliest' or 'latest'"),
        ("metadata: {name: f}\nspec: {handler: 'm:h', triggers: {h: {kind: http, numWorkers: 0}}}",
         r"trigger 'h': numWorkers 0 must be a whole number >= 1"),
    ],
)
def test_bad_function_yaml_is_one_line_naming_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_function(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_unreadable_file_and_missing_bundle(tmp_path):
    (tmp_path / "function.yaml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match=r"function.yaml: cannot read function.yaml"):
        load_bundle(tmp_path)
    with pytest.raises(ConfigError, match=r"bundle directory does not exist"):
        load_bundle(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"no function.yaml found"):
        load_bundle(tmp_path / "empty")


def test_duplicate_function_names_name_both_files(tmp_path):
    write(tmp_path, "metadata: {name: f}\nspec: {handler: 'm:h'}")
    write(tmp_path / "sub", "metadata: {name: f}\nspec: {handler: 'm:h'}")
    with pytest.raises(ConfigError, match=r"sub/function.yaml: function 'f' is also defined in .*function.yaml"):
        load_bundle(tmp_path)


def test_handler_that_does_not_import_names_module_and_file(tmp_path):
    path = write(tmp_path, "metadata: {name: f}\nspec: {handler: 'no_such_module_xyz:handler'}")
    with pytest.raises(ConfigError, match=r"function.yaml: handler 'no_such_module_xyz:handler': cannot import "
                                          r"module 'no_such_module_xyz': ModuleNotFoundError"):
        load_handler(load_function(path))
    (tmp_path / "broken_mod_xyz.py").write_text("def handler(:\n")
    path = write(tmp_path, "metadata: {name: f}\nspec: {handler: 'broken_mod_xyz:handler'}")
    with pytest.raises(ConfigError, match=r"cannot import module 'broken_mod_xyz': SyntaxError"):
        load_handler(load_function(path))
    (tmp_path / "fine_mod_xyz.py").write_text("x = 1\n")
    path = write(tmp_path, "metadata: {name: f}\nspec: {handler: 'fine_mod_xyz:handle'}")
    with pytest.raises(ConfigError, match=r"module 'fine_mod_xyz' \(.*fine_mod_xyz.py\) has no function 'handle'"):
        load_handler(load_function(path))
