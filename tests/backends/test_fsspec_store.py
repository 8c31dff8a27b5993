"""The fsspec stores beyond the contract: S3's own behaviour (endpoint, credentials, missing bucket, outages,
prefix listings) against moto's S3 server, and writes that stay whole when a writer is killed.

The sample and object contract tests (test_contract_files.py) also run on these stores ("fsspec-file",
"fsspec-s3"); here is what only a remote object store, or a crash, shows.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import signal

import boto3
import fsspec_workers as workers
import numpy as np
import pandas as pd
import pytest
from fsspec_openers import STORE_BACKENDS
from moto.server import ThreadedMotoServer
from moto_s3 import KEY, SECRET, MotoS3, shared_moto
from test_contract_processes import test_sigkill_mid_batch_leaves_no_partial_batch as contract_sigkill_test

from modelmon.backends.fsspec_store import RetryPolicy, open_fsspec_stores
from modelmon.backends.fsspec_store.calls import FsCalls
from modelmon.backends.fsspec_store.folder import Folder
from modelmon.backends.fsspec_store.location import open_location
from modelmon.backends.fsspec_store.objects import FsspecObjectStore
from modelmon.backends.local.samples import LocalSampleStore
from modelmon.core.errors import BackendError, BackendUnavailable, CorruptStore, NotFound

HOUR = 3_600_000
T0 = 1_700_000_000_000 // HOUR * HOUR
SPAWN = multiprocessing.get_context("spawn")
FAST_RETRY = RetryPolicy(attempts=3, base_s=0.01, cap_s=0.02)


def _rows(start: int, n: int, step: int = 1000) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": np.arange(start, start + n * step, step, dtype="int64"),
                         "f1": np.arange(n, dtype="float64")})


@pytest.fixture
def s3_url():
    """A fresh bucket on this process's moto server, with a prefix, and options reaching it."""
    server = shared_moto()
    return f"s3://{server.new_bucket()}/mm", server.options()


# ------------------------------------------------------------------------------------- addresses


def test_endpoint_url_option_reaches_an_s3_compatible_server(s3_url):
    url, options = s3_url
    samples, objects = open_fsspec_stores(url, options)
    objects.put_object("artifacts/a.json", b"{}")
    samples.append("ep1", _rows(T0, 10), "b1")

    bucket = url.removeprefix("s3://").split("/")[0]
    keys = sorted(o["Key"] for o in shared_moto().client().list_objects_v2(Bucket=bucket)["Contents"])
    assert len(keys) == 3 and keys[0] == "mm/objects/artifacts/a.json"  # plain S3 objects, local's layout
    stem = keys[2].removeprefix("mm/samples/ep1/hour=2023111422/").removesuffix(".parquet")
    assert keys[1:] == [f"mm/samples/ep1/batches/{stem}/hour=2023111422",  # the batch's marker (empty)
                        f"mm/samples/ep1/hour=2023111422/{stem}.parquet"]
    assert len(samples.read("ep1", T0, T0 + HOUR)) == 10


def test_credentials_and_endpoint_from_the_usual_environment_variables(s3_url, monkeypatch):
    url, options = s3_url
    open_fsspec_stores(url, options)[1].put_object("a/b", b"written with options")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", options["endpoint_url"])

    _, objects = open_fsspec_stores(url)  # no storage_options at all

    assert objects.get_object("a/b") == b"written with options"


@pytest.mark.parametrize("url", ["/data/mm", "data", "nosuchfs://x/y"])
def test_a_url_that_names_no_known_file_system_is_refused(url):
    with pytest.raises(ValueError, match="URL"):
        open_fsspec_stores(url)


def test_s3_needs_a_bucket():
    with pytest.raises(ValueError, match="names no bucket"):
        open_fsspec_stores("s3://", {"endpoint_url": shared_moto().endpoint_url})


def test_a_missing_bucket_is_named_and_never_reads_as_an_empty_store():
    server = shared_moto()
    samples, objects = open_fsspec_stores("s3://no-such-bucket-mm/prefix", server.options())
    calls = [lambda: objects.put_object("a/b", b"x"), lambda: objects.get_object("a/b"),
             lambda: objects.list_objects("a/"), lambda: objects.delete_object("a/b"),
             lambda: samples.append("ep1", _rows(T0, 3), "b1"), lambda: samples.read("ep1", T0, T0 + HOUR)]
    for call in calls:
        with pytest.raises(NotFound, match=r"bucket 'no-such-bucket-mm' \(s3://no-such-bucket-mm/prefix\) does not"):
            call()


def test_refused_credentials_raise_a_clear_error_without_the_secret():
    """moto checks signatures against its IAM users once its first 4 requests (the setup) are spent."""
    server = MotoS3(env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    try:
        iam = boto3.client("iam", endpoint_url=server.endpoint_url, aws_access_key_id="setup",
                           aws_secret_access_key="setup", region_name="us-east-1")
        iam.create_user(UserName="modelmon")
        key = iam.create_access_key(UserName="modelmon")["AccessKey"]
        iam.put_user_policy(UserName="modelmon", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        server.client().create_bucket(Bucket="guarded")
        good = {"endpoint_url": server.endpoint_url, "key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        _, objects = open_fsspec_stores("s3://guarded/mm", good)
        objects.put_object("a/b", b"1")
        assert objects.list_objects("a/") == ["a/b"]

        for wrong in ({**good, "secret": "not-the-secret-4242"}, {**good, "key": "AKIANOSUCHKEY"}):
            _, refused = open_fsspec_stores("s3://guarded/mm", wrong, retry=FAST_RETRY)
            for call in (lambda: refused.get_object("a/b"), lambda: refused.put_object("a/c", b"1")):  # noqa: B023
                with pytest.raises(BackendError, match="access denied") as caught:
                    call()
                assert not isinstance(caught.value, BackendUnavailable | NotFound)  # not retried: it never helps
                assert "AWS_ACCESS_KEY_ID" in str(caught.value) and "not-the-secret" not in str(caught.value)
        assert objects.list_objects("a/") == ["a/b"]  # nothing was written with the wrong credentials
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------- outages


def test_server_down_is_backend_unavailable_then_the_same_stores_recover():
    """moto's threaded server keeps its buckets across a stop and a start on the same port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                 region_name="us-east-1").create_bucket(Bucket="outage")
    samples, objects = open_fsspec_stores("s3://outage/mm", {"endpoint_url": endpoint, "key": KEY,
                                                             "secret": SECRET}, retry=FAST_RETRY)
    objects.put_object("before/x", b"kept")
    samples.append("ep1", _rows(T0, 5), "b1")
    server.stop()
    try:
        for call in (lambda: objects.get_object("before/x"), lambda: objects.put_object("during/x", b"1"),
                     lambda: objects.list_objects(""), lambda: samples.read("ep1", T0, T0 + HOUR),
                     lambda: samples.append("ep1", _rows(T0, 5), "b2")):
            with pytest.raises(BackendUnavailable, match="still failing after 3 tries"):
                call()
    finally:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
    try:
        assert objects.get_object("before/x") == b"kept"
        objects.put_object("after/x", b"1")
        samples.append("ep1", _rows(T0 + 5000, 5), "b3")
        assert objects.list_objects("") == ["after/x", "before/x"]
        assert len(samples.read("ep1", T0, T0 + HOUR)) == 10
    finally:
        server.stop()


def test_transient_failures_are_retried_within_the_policy():
    """Throttling as s3fs raises it (SlowDown: an OSError with EBUSY) is retried; the policy bounds the tries."""
    sleeps: list[float] = []
    calls = FsCalls("s3://b/p", RetryPolicy(attempts=4, base_s=0.1, cap_s=0.15), sleep=sleeps.append,
                    rng=random.Random(7))
    failures = iter([OSError(16, "Please reduce your request rate."), TimeoutError("read timed out")])

    def flaky() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "done"

    assert calls.call("put object 'x'", flaky) == "done"
    assert len(sleeps) == 2 and all(0 <= s <= 0.15 for s in sleeps)

    def always_busy() -> str:
        raise OSError(16, "Please reduce your request rate.")

    with pytest.raises(BackendUnavailable, match="after 4 tries"):
        calls.call("put object 'x'", always_busy)
    assert len(sleeps) == 2 + 3


# ---------------------------------------------------------------------------------------- listings


def test_a_read_lists_only_its_own_hours_never_the_bucket(s3_url, caplog):
    """s3fs logs each S3 request it makes (logger "s3fs", DEBUG): the listings of a read are its hours' prefixes."""
    url, options = s3_url
    samples, _ = open_fsspec_stores(url, options)
    for hour in range(6):
        samples.append("ep1", _rows(T0 + hour * HOUR, 4), f"b{hour}")
        samples.append("ep2", _rows(T0 + hour * HOUR, 4), f"b{hour}")
    bucket = url.removeprefix("s3://").split("/")[0]

    def requests(read) -> list[tuple[str, str]]:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="s3fs"):
            frame = read()
        made = [r.args for r in caplog.records if r.name == "s3fs" and r.msg.startswith("CALL")]
        assert all(kwargs["Bucket"] == bucket for _, _, kwargs in made)
        assert frame.timestamp.is_monotonic_increasing
        return [(method, kwargs.get("Prefix", kwargs.get("Key"))) for method, _, kwargs in made]

    one_hour = requests(lambda: samples.read("ep1", T0 + 2 * HOUR, T0 + 3 * HOUR))
    assert len(samples.read("ep1", T0, T0 + 6 * HOUR)) == 24  # no marker read as a sample file
    assert one_hour[0] == ("list_objects_v2", "mm/samples/ep1/hour=2023111500/")
    assert [m for m, _ in one_hour] == ["list_objects_v2", "get_object"]

    # a long range: the endpoint's hour folders (one delimited listing), then only those in range
    made = requests(lambda: samples.read("ep1", T0 - 48 * HOUR, T0 + 2 * HOUR))
    listings = [prefix for method, prefix in made if method == "list_objects_v2"]
    assert listings == ["mm/samples/ep1/", "mm/samples/ep1/hour=2023111422/", "mm/samples/ep1/hour=2023111423/"]
    assert len(made) == 3 + 2  # and a GET per file


def test_an_append_costs_the_same_requests_whatever_the_endpoints_history(s3_url, caplog):
    """The hours a batch was written to are its markers' listing, not a listing of the endpoint's files."""
    url, options = s3_url
    samples, _ = open_fsspec_stores(url, options)
    for i in range(30):
        samples.append("ep1", _rows(T0 - 10 * HOUR + i * HOUR // 3, 3), f"old-{i}")

    def requests(append) -> list[tuple[str, str]]:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="s3fs"):
            append()
        made = [r.args for r in caplog.records if r.name == "s3fs" and r.msg.startswith("CALL")]
        return [(method, kwargs.get("Prefix", kwargs.get("Key"))) for method, _, kwargs in made]

    new = requests(lambda: samples.append("ep1", _rows(T0, 5), "new"))
    assert [method for method, _ in new] == ["put_object", "put_object", "list_objects_v2"]
    assert new[2][1].startswith("mm/samples/ep1/batches/") and new[2][1].endswith("/")  # this batch only

    moved = requests(lambda: samples.append("ep1", _rows(T0 + 2 * HOUR, 5), "new"))  # now two hours later
    assert [method for method, _ in moved] == ["put_object"] * 2 + ["list_objects_v2"] + ["delete_object"] * 2
    assert samples.read("ep1", T0, T0 + 3 * HOUR)["timestamp"].min() == T0 + 2 * HOUR  # the old copy is gone


# ------------------------------------------------------------------------------------ bad files


@pytest.mark.parametrize("where", ["file", "s3"])
def test_an_unreadable_sample_file_is_a_corrupt_store_naming_it(where, s3_url, tmp_path):
    url, options = s3_url if where == "s3" else (tmp_path.as_uri(), None)
    samples, _ = open_fsspec_stores(url, options)
    samples.append("ep1", _rows(T0, 5), "b1")
    damaged = "samples/ep1/hour=2023111422/garbage.parquet"
    if where == "s3":
        bucket, prefix = url.removeprefix("s3://").split("/", 1)
        shared_moto().client().put_object(Bucket=bucket, Key=f"{prefix}/{damaged}", Body=b"not parquet")
    else:
        (tmp_path / damaged).write_bytes(b"not parquet")

    with pytest.raises(CorruptStore, match=r"samples/ep1/hour=2023111422/garbage\.parquet"):
        samples.read("ep1", T0, T0 + HOUR)


def test_hidden_temp_files_are_never_listed_or_read(tmp_path):
    """What a writer killed between its temp write and its rename leaves behind on a folder."""
    samples, objects = open_fsspec_stores(tmp_path.as_uri())
    objects.put_object("a/b", b"whole")
    samples.append("ep1", _rows(T0, 5), "b1")
    (tmp_path / "objects" / "a" / ".tmp-123-abcd-c").write_bytes(b"half")
    (tmp_path / "samples" / "ep1" / "hour=2023111422" / ".tmp-123-abcd-x.parquet").write_bytes(b"half")

    assert objects.list_objects("") == ["a/b"]
    assert len(samples.read("ep1", T0, T0 + HOUR)) == 5


def test_a_file_url_on_a_local_backend_home_reads_its_samples(tmp_path):
    """The layout is the local backend's: the same folder read either way."""
    LocalSampleStore(tmp_path / "samples").append("ep1", _rows(T0, 7), "b1")
    samples, _ = open_fsspec_stores(tmp_path.as_uri())
    assert samples.read("ep1", T0, T0 + HOUR)["f1"].tolist() == list(map(float, range(7)))


def test_a_file_system_without_whole_writes_gets_a_temp_file_moved_into_place(tmp_path):
    """The path for file systems that are neither local nor object stores (sftp, hdfs, ...), run on fsspec's
    local file system: its pipe_file and mv, as such a file system's would be."""
    location = open_location(tmp_path.as_uri())
    location.protocol = "sftp"  # what the write strategy is chosen by
    assert not location.is_local and not location.whole_writes
    objects = FsspecObjectStore(Folder(location, "objects", FsCalls(location.where)))
    objects.put_object("a/b/c", b"first")
    objects.put_object("a/b/c", b"second")
    assert objects.get_object("a/b/c") == b"second"
    assert sorted(p.name for p in (tmp_path / "objects" / "a" / "b").iterdir()) == ["c"]  # no temp file left


def test_memory_url_keeps_the_stores_in_this_process():
    samples, objects = open_fsspec_stores("memory://modelmon-test-" + os.urandom(4).hex())
    objects.put_object("a/b", b"1")
    samples.append("ep1", _rows(T0, 4), "b1")
    assert objects.list_objects("a") == ["a/b"] and len(samples.read("ep1", T0, T0 + HOUR)) == 4


def _use_in_child(samples, objects, results) -> None:
    objects.put_object("child/x", b"from the child")
    results.put((objects.get_object("child/x"), len(samples.read("ep1", T0, T0 + HOUR))))


@pytest.mark.slow
def test_stores_inherited_by_a_forked_child_work_there(s3_url):
    """s3fs refuses to run on its parent's event loop after a fork; the stores open it again instead."""
    samples, objects = open_fsspec_stores(*s3_url)
    samples.append("ep1", _rows(T0, 6), "b1")  # the parent's loop and connections are now in use
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    child = fork.Process(target=_use_in_child, args=(samples, objects, results))
    child.start()
    got = results.get(timeout=60)
    child.join(30)
    assert child.exitcode == 0 and got == (b"from the child", 6)
    assert objects.list_objects("child/") == ["child/x"]  # and the parent's stores still work


# ------------------------------------------------------------------------------------- kill -9


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("where", ["file", "s3"])
def test_sigkill_mid_write_leaves_only_whole_files(where, seed, s3_url, tmp_path):
    url, options = s3_url if where == "s3" else (tmp_path.as_uri(), None)
    started = SPAWN.Event()
    proc = SPAWN.Process(target=workers.write_until_killed, args=(url, options, started))
    proc.start()
    assert started.wait(120), "writer never finished a batch"
    proc.join(random.Random(seed).uniform(0.05, 0.5))  # somewhere random into its next writes
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL

    samples, objects = open_fsspec_stores(url, options)
    rows = samples.read("ep1", 0, 2**62)
    assert set(rows.groupby("batch").size()) == {workers.ROWS}  # every visible sample file is whole
    written = objects.list_objects("blobs/")
    assert written and all(workers.is_whole(objects.get_object(path)) for path in written)
    assert set(rows["batch"]) >= {int(p.split("/")[1].split(".")[0]) for p in written}  # samples go first

    # the stores still work after the kill, and the next writer overwrites any batch it repeats
    samples.append("ep1", _rows(T0, 3), "batch-0")
    objects.put_object(written[-1], workers.object_bytes(0))
    assert workers.is_whole(objects.get_object(written[-1]))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STORE_BACKENDS))
def test_the_contract_kill_test_on_the_fsspec_stores(name, tmp_path):
    """test_contract_processes.py's kill -9 test as it is, its samples on these stores (its streams local)."""
    with STORE_BACKENDS[name](tmp_path) as opener:
        contract_sigkill_test(opener, seed=3)
