"""Key-Value, blocking (``js.create_key_value()``, ``js.key_value()``): buckets made, bound and
deleted; values put, read (at a revision too), created, updated with compare-and-set, deleted
and purged; histories, key listings and the bucket's status; watches (initial values, the
marker, then changes; updates only, history, deletes ignored, metadata only, key filters); the
errors as their classes; and interoperation with nats-py's Key-Value (each side reading and
watching what the other wrote). Every test runs against its own nats-server with JetStream."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from typing import List, Optional

import pytest
import swiftnats
from conftest import requires_server
from swiftnats.jetstream import JetStreamContext
from swiftnats.kv import BucketStatus, Entry, KeyValue, KeyWatcher


@pytest.fixture
def jnc(js_url):
    client = swiftnats.connect(js_url, name="pytest-kv")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def js(jnc) -> JetStreamContext:
    return jnc.jetstream()


@pytest.fixture
def kv(js) -> KeyValue:
    return js.create_key_value(bucket="KV", history=10, storage="memory")


def initial(watcher: KeyWatcher, timeout: float = 5.0) -> List[Entry]:
    """The entries a watch delivers before its marker (None), which it consumes."""
    got: List[Entry] = []
    deadline = time.monotonic() + timeout
    while True:
        entry = watcher.updates(max(0.05, deadline - time.monotonic()))
        if entry is None:
            return got
        got.append(entry)


def no_more(watcher: KeyWatcher, wait: float = 0.2) -> None:
    """Nothing else comes (not a second marker either)."""
    with pytest.raises(swiftnats.TimeoutError):
        extra = watcher.updates(wait)
        pytest.fail(f"unexpected {extra!r}")


def summary(entries: List[Optional[Entry]]) -> List[object]:
    return [None if e is None else (e.key, e.value, e.operation) for e in entries]


# -- buckets -----------------------------------------------------------------------------------


def test_create_bucket_settings(js):
    kv = js.create_key_value(bucket="cfg", history=5, ttl=3600, max_value_size=1024, storage="memory",
                             description="settings")
    assert isinstance(kv, KeyValue) and kv.bucket == "cfg"
    status = kv.status()
    assert isinstance(status, BucketStatus)
    assert status.bucket == "cfg" and status.values == 0 and status.bytes == 0
    assert status.history == 5
    assert status.ttl == 3600.0 and isinstance(status.ttl, float)
    assert status.is_compressed is False and status.backing_store == "JetStream"
    config = status.stream_info.config
    assert config.name == "KV_cfg" and config.subjects == ["$KV.cfg.>"]
    assert config.max_msgs_per_subject == 5 and config.max_age == 3600.0
    assert config.max_msg_size == 1024 and config.storage == "memory"
    assert config.description == "settings"
    assert config.allow_rollup_hdrs is True and config.deny_delete is True
    # the stream as JetStream sees it
    assert js.stream_info("KV_cfg").config.max_msgs_per_subject == 5
    assert "KV_cfg" in js.stream_names()

    # ttl in seconds, fractional ones too
    assert js.create_key_value(bucket="short", ttl=1.5, storage="memory").status().ttl == 1.5
    # the defaults: one revision per key, values never expire
    defaults = js.create_key_value(bucket="plain").status()
    assert defaults.history == 1 and defaults.ttl == 0.0
    assert defaults.stream_info.config.storage == "file"

    # the same settings again open the bucket
    again = js.create_key_value(bucket="cfg", history=5, ttl=3600, max_value_size=1024, storage="memory",
                                description="settings")
    assert again.status().history == 5
    # a dict config, keyword arguments winning
    cfg = js.create_key_value({"bucket": "fromdict", "history": 2, "storage": "memory"}, history=3)
    assert cfg.bucket == "fromdict" and cfg.status().history == 3


def test_create_bucket_refusals(js):
    with pytest.raises(ValueError):
        js.create_key_value(history=2)  # no name
    for bad in ("a.b", "a b", "a*", "a>"):
        with pytest.raises(swiftnats.InvalidArgumentError):
            js.create_key_value(bucket=bad)
    with pytest.raises(swiftnats.InvalidArgumentError):
        js.create_key_value(bucket="toomuch", history=65)
    with pytest.raises(swiftnats.InvalidArgumentError):
        js.key_value("a.b")
    assert js.stream_names() == []


def test_bind_and_delete_bucket(js):
    kv = js.create_key_value(bucket="shared", history=3)
    rev = kv.put("k", b"v")
    bound = js.key_value("shared")
    assert isinstance(bound, KeyValue) and bound.bucket == "shared"
    assert bound.get("k").value == b"v" and bound.get("k").revision == rev
    assert bound.status().history == 3
    bound.put("k", b"w")
    assert kv.get("k").value == b"w"

    assert js.delete_key_value("shared") is True
    assert js.stream_names() == []
    with pytest.raises(swiftnats.BucketNotFoundError) as err:
        js.key_value("shared")
    assert isinstance(err.value, swiftnats.StreamNotFoundError) and isinstance(err.value, swiftnats.NotFoundError)
    assert err.value.status == swiftnats.Status.NOT_FOUND
    assert (err.value.code, err.value.err_code) == (404, 10059)
    with pytest.raises(swiftnats.BucketNotFoundError):
        js.delete_key_value("shared")
    with pytest.raises(swiftnats.BucketNotFoundError):
        js.key_value("never")


def test_calls_on_a_deleted_bucket(js):
    kv = js.create_key_value(bucket="doomed", storage="memory")
    kv.put("k", b"v")
    js.delete_key_value("doomed")
    # the handle outlives its bucket: what needs the bucket says it is gone, in the KV spelling
    for call in (kv.keys, lambda: kv.history("k"), kv.watch, kv.status):
        with pytest.raises(swiftnats.BucketNotFoundError) as err:
            call()
        assert (err.value.code, err.value.err_code) == (404, 10059)


# -- values ------------------------------------------------------------------------------------


def test_put_get_and_revisions(kv):
    before = datetime.datetime.now(datetime.timezone.utc)
    r1 = kv.put("color", b"red")
    r2 = kv.put("size", b"XL")
    r3 = kv.put("color", b"blue")
    assert (r1, r2, r3) == (1, 2, 3)

    entry = kv.get("color")
    assert isinstance(entry, Entry)
    assert (entry.bucket, entry.key, entry.value, entry.revision, entry.operation) == ("KV", "color", b"blue", 3, "PUT")
    assert entry.delta == 0
    assert entry.created is not None
    assert before - datetime.timedelta(seconds=5) <= entry.created <= datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=5)
    # an older revision of the key
    old = kv.get("color", revision=r1)
    assert (old.value, old.revision, old.operation) == (b"red", 1, "PUT")
    assert kv.get("size", revision=r2).value == b"XL"
    # another key's revision is not this key's
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("color", revision=r2)
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("size", revision=r3)
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("color", revision=99)
    # a key never written
    with pytest.raises(swiftnats.KeyNotFoundError) as err:
        kv.get("nothing")
    assert isinstance(err.value, swiftnats.MsgNotFoundError) and isinstance(err.value, swiftnats.NotFoundError)
    assert (err.value.code, err.value.err_code) == (404, 10037)

    # any bytes, empty ones too; keys with every allowed character
    binary = bytes(range(256)) * 4
    kv.put("bin", binary)
    assert kv.get("bin").value == binary
    kv.put("empty", b"")
    assert kv.get("empty").value == b"" and kv.get("empty").operation == "PUT"
    odd = "a-b/c_d=e.F.9"
    kv.put(odd, b"odd")
    assert kv.get(odd).key == odd and kv.get(odd).value == b"odd"


def test_create_refuses_a_key_with_a_value(kv):
    r1 = kv.create("lock", b"owner-1")
    assert r1 == 1 and kv.get("lock").value == b"owner-1"
    with pytest.raises(swiftnats.KeyWrongLastSequenceError) as err:
        kv.create("lock", b"owner-2")
    assert isinstance(err.value, swiftnats.WrongLastSequenceError)
    assert isinstance(err.value, swiftnats.BadRequestError)
    assert err.value.err_code == 10071
    assert kv.get("lock").value == b"owner-1"

    # after a delete (and a purge) the key has no value: create works again
    kv.delete("lock")
    r2 = kv.create("lock", b"owner-3")
    assert kv.get("lock").value == b"owner-3" and kv.get("lock").revision == r2
    with pytest.raises(swiftnats.KeyWrongLastSequenceError):
        kv.create("lock", b"owner-4")
    kv.purge("lock")
    kv.create("lock", b"owner-5")
    assert kv.get("lock").value == b"owner-5"


def test_update_compare_and_set(kv):
    r1 = kv.put("counter", b"1")
    r2 = kv.update("counter", b"2", last=r1)
    assert r2 > r1 and kv.get("counter").value == b"2"
    # a stale revision is refused, and nothing is stored
    with pytest.raises(swiftnats.KeyWrongLastSequenceError) as err:
        kv.update("counter", b"3", last=r1)
    assert isinstance(err.value, swiftnats.WrongLastSequenceError) and err.value.err_code == 10071
    assert kv.get("counter").revision == r2
    # another key's write does not move this key's revision
    kv.put("other", b"x")
    r3 = kv.update("counter", b"3", last=r2)
    assert kv.get("counter").value == b"3" and kv.get("counter").revision == r3
    # a concurrent writer loses
    with pytest.raises(swiftnats.KeyWrongLastSequenceError):
        kv.update("counter", b"lost", last=r2)
    assert [e.value for e in kv.history("counter")] == [b"1", b"2", b"3"]
    # a deleted key: its marker is the last revision to compare with
    kv.delete("counter")
    marker = kv.history("counter")[-1].revision
    with pytest.raises(swiftnats.KeyWrongLastSequenceError):
        kv.update("counter", b"4", last=r3)
    kv.update("counter", b"4", last=marker)
    assert kv.get("counter").value == b"4"


def test_delete_and_purge(kv):
    for i in range(3):
        kv.put("k", b"%d" % i)
    kv.put("keep", b"kept")
    assert kv.delete("k") is True
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("k")
    history = kv.history("k")
    assert [(e.operation, e.value) for e in history] == [("PUT", b"0"), ("PUT", b"1"), ("PUT", b"2"), ("DEL", b"")]
    assert [e.revision for e in history] == [1, 2, 3, 5]
    assert all(e.key == "k" and e.bucket == "KV" for e in history)
    # the value before the delete is still there at its revision; the marker's is no value
    assert kv.get("k", revision=3).value == b"2"
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("k", revision=5)

    kv.put("k", b"back")
    assert kv.get("k").value == b"back"
    assert kv.purge("k") is True
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("k")
    history = kv.history("k")
    assert [(e.operation, e.value) for e in history] == [("PURGE", b"")]  # the earlier revisions went
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("k", revision=3)
    assert kv.get("keep").value == b"kept"

    # delete and purge with the last revision expected
    r = kv.put("cas", b"1")
    with pytest.raises(swiftnats.KeyWrongLastSequenceError):
        kv.delete("cas", last=r - 1)
    assert kv.get("cas").value == b"1"
    kv.delete("cas", last=r)
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("cas")
    r = kv.put("cas", b"2")
    with pytest.raises(swiftnats.KeyWrongLastSequenceError):
        kv.purge("cas", last=r + 5)
    kv.purge("cas", last=r)
    assert [e.operation for e in kv.history("cas")] == ["PURGE"]


def test_history(kv):
    kv.put("h", b"a")
    kv.put("other", b"o")
    kv.put("h", b"b")
    kv.delete("h")
    kv.put("h", b"c")
    history = kv.history("h")
    assert [(e.operation, e.value, e.revision) for e in history] == [
        ("PUT", b"a", 1), ("PUT", b"b", 3), ("DEL", b"", 4), ("PUT", b"c", 5)]
    created = [e.created for e in history]
    assert all(c is not None for c in created) and created == sorted(created)
    kv.purge("h")
    assert [e.operation for e in kv.history("h")] == ["PURGE"]
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.history("never")


def test_history_keeps_what_the_bucket_allows(js):
    kv = js.create_key_value(bucket="H3", history=3, storage="memory")
    for i in range(6):
        kv.put("k", b"%d" % i)
    assert [e.value for e in kv.history("k")] == [b"3", b"4", b"5"]
    assert kv.status().values == 3


def test_ttl_expires_values(js):
    kv = js.create_key_value(bucket="brief", ttl=0.5, storage="memory")
    assert kv.status().ttl == 0.5
    kv.put("k", b"v")
    assert kv.get("k").value == b"v"
    deadline = time.monotonic() + 5
    while True:
        try:
            kv.get("k")
        except swiftnats.KeyNotFoundError:
            break
        assert time.monotonic() < deadline, "the value outlived the bucket's ttl"
        time.sleep(0.05)
    assert kv.keys() == []


def test_keys(kv):
    assert kv.keys() == []
    assert kv.keys("a.*") == []
    for key in ("a.1", "a.2", "b.1", "c", "a.deep.x"):
        kv.put(key, b"v")
    kv.put("a.1", b"again")  # one key, two revisions
    kv.put("gone", b"x")
    kv.delete("gone")
    kv.put("purged", b"x")
    kv.purge("purged")
    assert sorted(kv.keys()) == ["a.1", "a.2", "a.deep.x", "b.1", "c"]
    assert sorted(kv.keys("a.*")) == ["a.1", "a.2"]
    assert sorted(kv.keys("a.>")) == ["a.1", "a.2", "a.deep.x"]
    assert sorted(kv.keys(["a.*"])) == ["a.1", "a.2"]
    assert sorted(kv.keys(["a.1", "b.*"])) == ["a.1", "b.1"]
    assert kv.keys("c") == ["c"]
    assert kv.keys("gone") == [] and kv.keys("zzz.*") == []


def test_status_counts(kv):
    status = kv.status()
    assert (status.values, status.history, status.bytes) == (0, 10, 0)
    kv.put("a", b"1")
    kv.put("a", b"2")
    kv.put("b", b"3")
    kv.delete("b")
    status = kv.status()
    assert status.values == 4  # every revision kept, markers included
    assert status.bytes > 0
    assert status.stream_info.state.messages == 4
    kv.purge("a")
    assert kv.status().values == 3  # a's two revisions gave way to its purge marker
    assert kv.status().history == 10


def test_max_value_size(js):
    kv = js.create_key_value(bucket="small", max_value_size=64, storage="memory")
    assert kv.status().stream_info.config.max_msg_size == 64
    kv.put("fits", b"x" * 64)
    assert kv.get("fits").value == b"x" * 64
    with pytest.raises(swiftnats.APIError) as err:
        kv.put("big", b"x" * 65)
    assert isinstance(err.value, swiftnats.BadRequestError) and err.value.err_code == 10054
    with pytest.raises(swiftnats.APIError):
        kv.create("big", b"x" * 1000)
    with pytest.raises(swiftnats.APIError):
        kv.update("fits", b"x" * 1000, last=1)
    with pytest.raises(swiftnats.KeyNotFoundError):
        kv.get("big")
    assert kv.get("fits").revision == 1 and kv.status().values == 1


@pytest.mark.parametrize("key", ["", ".a", "a.", "a b", "a*", "a.>", "ä", "a\tb", "$KV"])
def test_invalid_keys(kv, key):
    calls = [
        lambda: kv.put(key, b"v"),
        lambda: kv.get(key),
        lambda: kv.create(key, b"v"),
        lambda: kv.update(key, b"v", last=1),
        lambda: kv.delete(key),
        lambda: kv.purge(key),
        lambda: kv.history(key),
    ]
    for call in calls:
        with pytest.raises(swiftnats.InvalidArgumentError):
            call()
    assert kv.status().values == 0


def test_invalid_watch_filters(kv):
    for bad in ("", ".a", "a.", "a b"):
        with pytest.raises(swiftnats.InvalidArgumentError):
            kv.watch(bad)


def test_closed_bucket_handle(js):
    kv = js.create_key_value(bucket="closing", storage="memory")
    kv.put("k", b"v")
    kv.close()
    with pytest.raises(swiftnats.ConnectionClosedError):
        kv.get("k")
    assert js.key_value("closing").get("k").value == b"v"


# -- watches -----------------------------------------------------------------------------------


def test_watch_initial_values_marker_then_updates(kv):
    kv.put("a", b"1")
    kv.put("b", b"2")
    kv.put("a", b"3")
    kv.put("c", b"x")
    kv.delete("c")
    with kv.watch() as watcher:
        assert isinstance(watcher, KeyWatcher)
        first = initial(watcher)
        # the last revision of each key, in revision order (a delete is the key's last)
        assert [(e.key, e.value, e.revision, e.operation) for e in first] == [
            ("b", b"2", 2, "PUT"), ("a", b"3", 3, "PUT"), ("c", b"", 5, "DEL")]
        assert [e.delta for e in first] == [2, 1, 0]
        assert all(e.bucket == "KV" for e in first)
        no_more(watcher)  # exactly one marker

        kv.put("d", b"4")
        kv.delete("a")
        kv.put("b", b"5")
        kv.purge("c")  # (a purge drops the key's earlier revisions, even undelivered ones)
        changes = [watcher.updates(2) for _ in range(4)]
        assert [(e.key, e.value, e.revision, e.operation) for e in changes] == [
            ("d", b"4", 6, "PUT"), ("a", b"", 7, "DEL"), ("b", b"5", 8, "PUT"), ("c", b"", 9, "PURGE")]
        no_more(watcher)


def test_watch_of_many_keys(kv):
    count = 1200  # more than one pull's worth
    for i in range(count):
        kv.put(f"k.{i}", b"%d" % i)
    assert len(kv.keys()) == count
    with kv.watch() as watcher:
        first = initial(watcher)
        assert [e.revision for e in first] == list(range(1, count + 1))
        assert [e.value for e in first] == [b"%d" % i for i in range(count)]
        assert (first[0].delta, first[-1].delta) == (count - 1, 0)
        no_more(watcher, 0.1)
        kv.put("k.0", b"again")
        assert summary([watcher.updates(2)]) == [("k.0", b"again", "PUT")]


def test_watch_of_an_empty_bucket_gives_the_marker_first(kv):
    with kv.watchall() as watcher:
        started = time.monotonic()
        assert watcher.updates(2) is None
        assert time.monotonic() - started < 1.5
        no_more(watcher, 0.1)
        kv.put("first", b"1")
        entry = watcher.updates(2)
        assert (entry.key, entry.value, entry.revision, entry.operation) == ("first", b"1", 1, "PUT")
        no_more(watcher, 0.1)


def test_watch_updates_only(kv):
    kv.put("a", b"old")
    kv.put("b", b"old")
    with kv.watch(updates_only=True) as watcher:
        assert watcher.updates(2) is None  # no initial values: the marker at once
        no_more(watcher, 0.1)
        kv.put("a", b"new")
        kv.delete("b")
        assert summary([watcher.updates(2), watcher.updates(2)]) == [("a", b"new", "PUT"), ("b", b"", "DEL")]
        no_more(watcher, 0.1)


def test_watch_include_history(kv):
    kv.put("a", b"1")
    kv.put("b", b"1")
    kv.put("a", b"2")
    kv.delete("a")
    with kv.watch(include_history=True) as watcher:
        first = initial(watcher)
        assert [(e.key, e.value, e.revision, e.operation) for e in first] == [
            ("a", b"1", 1, "PUT"), ("b", b"1", 2, "PUT"), ("a", b"2", 3, "PUT"), ("a", b"", 4, "DEL")]
        assert [e.delta for e in first] == [3, 2, 1, 0]
        no_more(watcher, 0.1)
        kv.put("b", b"2")
        assert summary([watcher.updates(2)]) == [("b", b"2", "PUT")]
    # a key's history through a filtered watch
    with kv.watch("a", include_history=True) as watcher:
        assert summary(initial(watcher)) == [("a", b"1", "PUT"), ("a", b"2", "PUT"), ("a", b"", "DEL")]


def test_watch_ignore_deletes(kv):
    kv.put("a", b"1")
    kv.put("b", b"1")
    kv.delete("b")
    kv.put("c", b"1")
    kv.purge("c")
    with kv.watch(ignore_deletes=True) as watcher:
        assert summary(initial(watcher)) == [("a", b"1", "PUT")]
        no_more(watcher, 0.1)
        kv.delete("a")
        kv.purge("a")
        kv.put("d", b"2")
        assert summary([watcher.updates(2)]) == [("d", b"2", "PUT")]  # the delete and purge skipped
        no_more(watcher, 0.1)
    # a key whose last revision is a purge: the marker alone
    with kv.watch("a", ignore_deletes=True) as watcher:
        assert watcher.updates(2) is None


def test_watch_meta_only(kv):
    kv.put("a", b"value-a")
    kv.put("b", b"value-b")
    with kv.watch(meta_only=True) as watcher:
        first = initial(watcher)
        assert [(e.key, e.value, e.revision, e.operation) for e in first] == [
            ("a", b"", 1, "PUT"), ("b", b"", 2, "PUT")]
        kv.put("a", b"changed")
        kv.delete("b")
        changes = [watcher.updates(2), watcher.updates(2)]
        assert [(e.key, e.value, e.revision, e.operation) for e in changes] == [
            ("a", b"", 3, "PUT"), ("b", b"", 4, "DEL")]
    assert kv.get("a").value == b"changed"  # the values are stored, only not sent


def test_watch_key_filters(kv):
    for key in ("user.1", "user.2", "admin.1", "user.1.profile"):
        kv.put(key, key.encode())
    with kv.watch("user.*") as watcher:
        assert summary(initial(watcher)) == [("user.1", b"user.1", "PUT"), ("user.2", b"user.2", "PUT")]
        kv.put("admin.2", b"no")
        kv.put("user.1.profile", b"no")
        kv.put("user.3", b"yes")
        kv.delete("user.2")
        assert summary([watcher.updates(2), watcher.updates(2)]) == [("user.3", b"yes", "PUT"), ("user.2", b"", "DEL")]
        no_more(watcher, 0.1)
    with kv.watch("user.>") as watcher:
        assert [e.key for e in initial(watcher)] == ["user.1", "user.1.profile", "user.3", "user.2"]
    with kv.watch("admin.1") as watcher:
        assert summary(initial(watcher)) == [("admin.1", b"admin.1", "PUT")]
        kv.put("admin.1", b"again")
        kv.put("admin.10", b"no")
        assert summary([watcher.updates(2)]) == [("admin.1", b"again", "PUT")]
        no_more(watcher, 0.1)
    with kv.watch("nobody.*") as watcher:
        assert watcher.updates(2) is None


@requires_server((2, 10, 0), "a watch of several key filters (a consumer's filter_subjects)")
def test_watch_several_key_filters(kv):
    for key in ("a.1", "b.1", "c.1"):
        kv.put(key, b"v")
    with kv.watch(["a.*", "c.*"]) as watcher:
        assert [e.key for e in initial(watcher)] == ["a.1", "c.1"]
        kv.put("b.2", b"no")
        kv.put("c.2", b"yes")
        assert watcher.updates(2).key == "c.2"
        no_more(watcher, 0.1)


def test_watch_iteration_and_stop(kv):
    kv.put("a", b"1")
    seen: List[Optional[Entry]] = []
    watcher = kv.watch()
    done = threading.Event()

    def reader():
        for entry in watcher:
            seen.append(entry)
        done.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        kv.put("b", b"2")  # after the marker: a change
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert summary(seen) == [("a", b"1", "PUT"), None, ("b", b"2", "PUT")]
    finally:
        watcher.stop()
    assert done.wait(3), "iteration did not end after stop()"
    thread.join(3)
    with pytest.raises(swiftnats.ConnectionClosedError):
        watcher.updates(0.1)
    watcher.stop()  # again: nothing


def test_watch_stop_wakes_a_waiting_reader(kv):
    watcher = kv.watch()
    assert watcher.updates(2) is None
    outcome: List[object] = []

    def wait():
        started = time.monotonic()
        try:
            outcome.append(watcher.updates(10))
        except swiftnats.SwiftNatsError as error:
            outcome.append(error)
        outcome.append(time.monotonic() - started)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.2)
    watcher.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(outcome[0], (swiftnats.InvalidSubscriptionError, swiftnats.ConnectionClosedError)), outcome
    assert outcome[1] < 5


def test_two_watches_and_a_bound_handle(js, kv):
    kv.put("x", b"1")
    other = js.key_value("KV")
    with kv.watch("x") as w1, other.watch("x") as w2:
        assert summary(initial(w1)) == summary(initial(w2)) == [("x", b"1", "PUT")]
        other.put("x", b"2")
        assert w1.updates(2).value == b"2" and w2.updates(2).value == b"2"


# -- interoperation with nats-py ---------------------------------------------------------------


class TheirSide:
    """nats-py on an event loop of its own, each call run to completion."""

    def __init__(self, url: str) -> None:
        self.nats = pytest.importorskip("nats")
        self.loop = asyncio.new_event_loop()
        self.nc = self.run(self.nats.connect(url))
        self.js = self.nc.jetstream()

    def run(self, coro):
        return self.loop.run_until_complete(asyncio.wait_for(coro, 10))

    def close(self) -> None:
        try:
            self.run(self.nc.close())
        finally:
            self.loop.close()


@pytest.fixture
def theirs(js_url):
    side = TheirSide(js_url)
    try:
        yield side
    finally:
        side.close()


def test_interop_nats_py_writes_swiftnats_reads_and_watches(js, theirs):
    their_kv = theirs.run(theirs.js.create_key_value(bucket="PYKV", history=10, ttl=3600))
    r1 = theirs.run(their_kv.put("app.name", b"demo"))
    r2 = theirs.run(their_kv.put("app.port", b"8080"))
    r3 = theirs.run(their_kv.put("app.name", b"demo-2"))
    theirs.run(their_kv.put("tmp", b"t"))
    theirs.run(their_kv.delete("tmp"))
    r6 = theirs.run(their_kv.put("purged", b"p"))
    theirs.run(their_kv.purge("purged"))
    assert (r1, r2, r3, r6) == (1, 2, 3, 6)

    kv = js.key_value("PYKV")
    status = kv.status()
    assert status.history == 10 and status.ttl == 3600.0
    entry = kv.get("app.name")
    assert (entry.value, entry.revision, entry.operation) == (b"demo-2", r3, "PUT")
    assert kv.get("app.name", revision=r1).value == b"demo"
    assert kv.get("app.port").value == b"8080"
    for gone in ("tmp", "purged"):
        with pytest.raises(swiftnats.KeyNotFoundError):
            kv.get(gone)
    assert sorted(kv.keys()) == ["app.name", "app.port"]
    assert sorted(kv.keys("app.*")) == ["app.name", "app.port"]
    assert [(e.operation, e.value) for e in kv.history("app.name")] == [("PUT", b"demo"), ("PUT", b"demo-2")]
    assert [e.operation for e in kv.history("tmp")] == ["PUT", "DEL"]
    assert [e.operation for e in kv.history("purged")] == ["PURGE"]

    with kv.watch() as watcher:
        assert [(e.key, e.operation) for e in initial(watcher)] == [
            ("app.port", "PUT"), ("app.name", "PUT"), ("tmp", "DEL"), ("purged", "PURGE")]
        r = theirs.run(their_kv.put("app.debug", b"true"))
        theirs.run(their_kv.delete("app.port"))
        theirs.run(their_kv.purge("app.name"))
        changes = [watcher.updates(2) for _ in range(3)]
        assert [(e.key, e.value, e.operation) for e in changes] == [
            ("app.debug", b"true", "PUT"), ("app.port", b"", "DEL"), ("app.name", b"", "PURGE")]
        assert changes[0].revision == r
        no_more(watcher, 0.1)
    # swiftnats writes into nats-py's bucket, nats-py reads it back
    rev = kv.update("app.debug", b"false", last=r)
    got = theirs.run(their_kv.get("app.debug"))
    assert (got.value, got.revision) == (b"false", rev)


def test_interop_swiftnats_writes_nats_py_reads_and_watches(js, theirs):
    nats = theirs.nats
    kv = js.create_key_value(bucket="SWKV", history=5, ttl=60)
    r1 = kv.put("a", b"1")
    r2 = kv.put("b", b"2")
    r3 = kv.put("a", b"3")
    kv.delete("b")
    kv.create("c", b"created")

    their_kv = theirs.run(theirs.js.key_value("SWKV"))
    status = theirs.run(their_kv.status())
    assert status.history == 5 and status.ttl == 60.0 and status.values == 5
    got = theirs.run(their_kv.get("a"))
    assert (got.value, got.revision) == (b"3", r3)
    assert theirs.run(their_kv.get("a", revision=r1)).value == b"1"
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        theirs.run(their_kv.get("b"))
    assert theirs.run(their_kv.get("c")).value == b"created"
    assert sorted(theirs.run(their_kv.keys())) == ["a", "c"]
    history = theirs.run(their_kv.history("b"))
    assert [(e.value, e.revision, e.operation) for e in history] == [(b"2", r2, None), (b"", 4, "DEL")]
    # nats-py's compare-and-set against swiftnats' revisions
    r6 = theirs.run(their_kv.update("a", b"4", last=r3))
    assert kv.get("a").revision == r6 and kv.get("a").value == b"4"

    watcher = theirs.run(their_kv.watchall())
    try:
        initial_entries = []
        while True:
            entry = theirs.run(watcher.updates(timeout=5))
            if entry is None:
                break
            initial_entries.append(entry)
        assert [(e.key, e.value, e.operation) for e in initial_entries] == [
            ("b", b"", "DEL"), ("c", b"created", None), ("a", b"4", None)]
        kv.put("d", b"new")
        kv.delete("a")
        kv.purge("c")
        changes = [theirs.run(watcher.updates(timeout=5)) for _ in range(3)]
        assert [(e.key, e.value, e.operation) for e in changes] == [
            ("d", b"new", None), ("a", b"", "DEL"), ("c", b"", "PURGE")]
        assert [e.revision for e in changes] == [7, 8, 9]
    finally:
        theirs.run(watcher.stop())
