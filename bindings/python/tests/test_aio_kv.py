"""Key-Value on the asyncio client (``await js.create_key_value()``): the blocking tests of
test_kv.py, every call awaited; watches read with ``await w.updates()`` and ``async for``,
the loop running while a watch waits for changes; and interoperation with nats-py's
Key-Value (each side reading and watching what the other wrote)."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import time
from typing import List, Optional

import pytest
import swiftnats
from conftest import pause_server, requires_server
from swiftnats import aio
from swiftnats.aio.jetstream import JetStreamContext
from swiftnats.aio.kv import KeyValue, KeyWatcher
from swiftnats.kv import BucketStatus, Entry

from aio_support import stalled as stalled_by, Ticker, run


def with_kv(js_url, body, bucket: str = "KV", **config):
    """Runs ``body(js, kv)`` on a fresh aio connection, a bucket made for it."""
    async def main():
        async with await aio.connect(js_url, name="pytest-aio-kv") as nc:
            js = nc.jetstream()
            kv = await js.create_key_value(bucket=bucket, **(config or {"history": 10, "storage": "memory"}))
            await body(js, kv)

    run(main())


async def initial(watcher: KeyWatcher, timeout: float = 5.0) -> List[Entry]:
    """The entries a watch delivers before its marker (None), which it consumes."""
    got: List[Entry] = []
    deadline = time.monotonic() + timeout
    while True:
        entry = await watcher.updates(max(0.05, deadline - time.monotonic()))
        if entry is None:
            return got
        got.append(entry)


async def no_more(watcher: KeyWatcher, wait: float = 0.2) -> None:
    """Nothing else comes (not a second marker either)."""
    with pytest.raises(swiftnats.TimeoutError):
        extra = await watcher.updates(wait)
        pytest.fail(f"unexpected {extra!r}")


def summary(entries: List[Optional[Entry]]) -> List[object]:
    return [None if e is None else (e.key, e.value, e.operation) for e in entries]


# -- buckets -----------------------------------------------------------------------------------


def test_aio_create_bind_delete_bucket(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            assert isinstance(js, JetStreamContext)
            kv = await js.create_key_value(bucket="cfg", history=5, ttl=3600, max_value_size=1024, storage="memory",
                                           description="settings")
            assert isinstance(kv, KeyValue) and kv.bucket == "cfg"
            status = await kv.status()
            assert isinstance(status, BucketStatus)
            assert (status.bucket, status.values, status.history, status.bytes) == ("cfg", 0, 5, 0)
            assert status.ttl == 3600.0 and isinstance(status.ttl, float)
            assert status.backing_store == "JetStream" and status.is_compressed is False
            config = status.stream_info.config
            assert config.name == "KV_cfg" and config.subjects == ["$KV.cfg.>"]
            assert (config.max_msgs_per_subject, config.max_age, config.max_msg_size) == (5, 3600.0, 1024)
            assert config.storage == "memory" and config.description == "settings"
            assert (await (await js.create_key_value(bucket="short", ttl=1.5, storage="memory")).status()).ttl == 1.5
            defaults = await (await js.create_key_value(bucket="plain")).status()
            assert (defaults.history, defaults.ttl) == (1, 0.0)

            rev = await kv.put("k", b"v")
            bound = await js.key_value("cfg")
            assert isinstance(bound, KeyValue)
            assert (await bound.get("k")).revision == rev and (await bound.status()).history == 5

            with pytest.raises(swiftnats.InvalidArgumentError):
                await js.create_key_value(bucket="a.b")
            with pytest.raises(ValueError):
                await js.create_key_value(history=3)

            assert await js.delete_key_value("cfg") is True
            assert sorted(await js.stream_names()) == ["KV_plain", "KV_short"]
            with pytest.raises(swiftnats.BucketNotFoundError) as err:
                await js.key_value("cfg")
            assert isinstance(err.value, swiftnats.StreamNotFoundError)
            assert (err.value.code, err.value.err_code) == (404, 10059)
            with pytest.raises(swiftnats.BucketNotFoundError) as err:
                await js.delete_key_value("cfg")
            assert isinstance(err.value, swiftnats.NotFoundError)
            assert (err.value.code, err.value.err_code) == (404, 10059)

    run(main())


def test_aio_calls_on_a_deleted_bucket(js_url):
    async def body(js, kv):
        await kv.put("k", b"v")
        await js.delete_key_value("doomed")
        for call in (kv.keys, lambda: kv.history("k"), kv.watch, kv.status):
            with pytest.raises(swiftnats.BucketNotFoundError) as err:
                await call()
            assert (err.value.code, err.value.err_code) == (404, 10059)

    with_kv(js_url, body, bucket="doomed", storage="memory")


# -- values ------------------------------------------------------------------------------------


def test_aio_put_get_and_revisions(js_url):
    async def body(js, kv):
        before = datetime.datetime.now(datetime.timezone.utc)
        assert [await kv.put("color", b"red"), await kv.put("size", b"XL"), await kv.put("color", b"blue")] == [1, 2, 3]
        entry = await kv.get("color")
        assert isinstance(entry, Entry)
        assert (entry.bucket, entry.key, entry.value, entry.revision, entry.operation) == ("KV", "color", b"blue", 3,
                                                                                           "PUT")
        assert entry.created is not None and entry.created >= before - datetime.timedelta(seconds=5)
        assert (await kv.get("color", revision=1)).value == b"red"
        assert (await kv.get("size", revision=2)).value == b"XL"
        with pytest.raises(swiftnats.KeyNotFoundError):
            await kv.get("color", revision=2)  # size's revision
        with pytest.raises(swiftnats.KeyNotFoundError):
            await kv.get("color", revision=99)
        with pytest.raises(swiftnats.KeyNotFoundError) as err:
            await kv.get("nothing")
        assert isinstance(err.value, swiftnats.MsgNotFoundError) and err.value.err_code == 10037
        binary = bytes(range(256)) * 4
        await kv.put("bin", binary)
        assert (await kv.get("bin")).value == binary
        await kv.put("empty", b"")
        assert (await kv.get("empty")).value == b""
        # many at once
        revisions = await asyncio.gather(*(kv.put(f"many.{i}", b"%d" % i) for i in range(50)))
        assert sorted(revisions) == list(range(6, 56))
        values = await asyncio.gather(*(kv.get(f"many.{i}") for i in range(50)))
        assert [v.value for v in values] == [b"%d" % i for i in range(50)]

    with_kv(js_url, body)


def test_aio_create_update_delete_purge(js_url):
    async def body(js, kv):
        r1 = await kv.create("lock", b"one")
        with pytest.raises(swiftnats.KeyWrongLastSequenceError) as err:
            await kv.create("lock", b"two")
        assert isinstance(err.value, swiftnats.WrongLastSequenceError) and err.value.err_code == 10071
        assert (await kv.get("lock")).value == b"one"
        assert await kv.delete("lock") is True
        with pytest.raises(swiftnats.KeyNotFoundError):
            await kv.get("lock")
        r2 = await kv.create("lock", b"three")  # after a delete
        assert r2 > r1 and (await kv.get("lock")).value == b"three"

        r3 = await kv.update("lock", b"four", last=r2)
        with pytest.raises(swiftnats.KeyWrongLastSequenceError):
            await kv.update("lock", b"five", last=r2)
        assert (await kv.get("lock")).revision == r3
        with pytest.raises(swiftnats.KeyWrongLastSequenceError):
            await kv.delete("lock", last=r2)
        with pytest.raises(swiftnats.KeyWrongLastSequenceError):
            await kv.purge("lock", last=r2)

        history = await kv.history("lock")
        assert [(e.operation, e.value) for e in history] == [
            ("PUT", b"one"), ("DEL", b""), ("PUT", b"three"), ("PUT", b"four")]
        assert [e.revision for e in history] == [1, 2, 3, 4]
        assert await kv.purge("lock") is True
        with pytest.raises(swiftnats.KeyNotFoundError):
            await kv.get("lock")
        assert [e.operation for e in await kv.history("lock")] == ["PURGE"]
        await kv.create("lock", b"again")  # after a purge
        with pytest.raises(swiftnats.KeyNotFoundError):
            await kv.history("never")

    with_kv(js_url, body)


def test_aio_keys_and_status(js_url):
    async def body(js, kv):
        assert await kv.keys() == []
        for key in ("a.1", "a.2", "b.1", "c"):
            await kv.put(key, b"v")
        await kv.put("a.1", b"again")
        await kv.put("gone", b"x")
        await kv.delete("gone")
        assert sorted(await kv.keys()) == ["a.1", "a.2", "b.1", "c"]
        assert sorted(await kv.keys("a.*")) == ["a.1", "a.2"]
        assert sorted(await kv.keys(["a.1", "b.*"])) == ["a.1", "b.1"]
        assert await kv.keys("zzz") == []
        status = await kv.status()
        assert (status.values, status.history) == (7, 10) and status.bytes > 0
        assert status.stream_info.state.messages == 7

    with_kv(js_url, body)


def test_aio_max_value_size_and_invalid_keys(js_url):
    async def body(js, kv):
        await kv.put("fits", b"x" * 64)
        with pytest.raises(swiftnats.BadRequestError) as err:
            await kv.put("big", b"x" * 65)
        assert err.value.err_code == 10054
        with pytest.raises(swiftnats.KeyNotFoundError):
            await kv.get("big")
        for key in ("", ".a", "a.", "a b", "a*", "a.>"):
            for call in (lambda: kv.put(key, b"v"), lambda: kv.get(key), lambda: kv.create(key, b"v"),
                         lambda: kv.update(key, b"v", last=1), lambda: kv.delete(key), lambda: kv.purge(key),
                         lambda: kv.history(key)):
                with pytest.raises(swiftnats.InvalidArgumentError):
                    await call()
        for bad_filter in ("", ".a", "a.", "a b"):
            with pytest.raises(swiftnats.InvalidArgumentError):
                await kv.watch(bad_filter)
        assert (await kv.status()).values == 1

    with_kv(js_url, body, bucket="small", max_value_size=64, storage="memory")


# -- watches -----------------------------------------------------------------------------------


def test_aio_watch_initial_values_marker_then_updates(js_url):
    async def body(js, kv):
        await kv.put("a", b"1")
        await kv.put("b", b"2")
        await kv.put("a", b"3")
        await kv.put("c", b"x")
        await kv.delete("c")
        watcher = await kv.watch()
        assert isinstance(watcher, KeyWatcher)
        try:
            first = await initial(watcher)
            assert [(e.key, e.value, e.revision, e.operation) for e in first] == [
                ("b", b"2", 2, "PUT"), ("a", b"3", 3, "PUT"), ("c", b"", 5, "DEL")]
            assert [e.delta for e in first] == [2, 1, 0]
            await no_more(watcher)
            await kv.put("d", b"4")
            await kv.delete("a")
            await kv.put("b", b"5")
            await kv.purge("c")  # (a purge drops the key's earlier revisions, even undelivered ones)
            changes = [await watcher.updates(2) for _ in range(4)]
            assert [(e.key, e.value, e.revision, e.operation) for e in changes] == [
                ("d", b"4", 6, "PUT"), ("a", b"", 7, "DEL"), ("b", b"5", 8, "PUT"), ("c", b"", 9, "PURGE")]
            await no_more(watcher)
        finally:
            await watcher.stop()

    with_kv(js_url, body)


def test_aio_watch_empty_bucket_and_updates_only(js_url):
    async def body(js, kv):
        watcher = await kv.watchall()
        try:
            assert await watcher.updates(2) is None
            await no_more(watcher, 0.1)
            await kv.put("first", b"1")
            assert summary([await watcher.updates(2)]) == [("first", b"1", "PUT")]
        finally:
            await watcher.stop()
        watcher = await kv.watch(updates_only=True)
        try:
            assert await watcher.updates(2) is None
            await no_more(watcher, 0.1)
            await kv.put("second", b"2")
            await kv.delete("first")
            assert summary([await watcher.updates(2), await watcher.updates(2)]) == [
                ("second", b"2", "PUT"), ("first", b"", "DEL")]
            await no_more(watcher, 0.1)
        finally:
            await watcher.stop()

    with_kv(js_url, body)


def test_aio_watch_options_and_filters(js_url):
    async def body(js, kv):
        await kv.put("user.1", b"u1")
        await kv.put("admin.1", b"a1")
        await kv.put("user.1", b"u1b")
        await kv.put("user.2", b"u2")
        await kv.delete("user.2")

        async def first_of(**options):
            watcher = await kv.watch(options.pop("keys", None), **options)
            try:
                return await initial(watcher)
            finally:
                await watcher.stop()

        assert [(e.key, e.value, e.operation) for e in await first_of(include_history=True)] == [
            ("user.1", b"u1", "PUT"), ("admin.1", b"a1", "PUT"), ("user.1", b"u1b", "PUT"),
            ("user.2", b"u2", "PUT"), ("user.2", b"", "DEL")]
        assert summary(await first_of(ignore_deletes=True)) == [("admin.1", b"a1", "PUT"), ("user.1", b"u1b", "PUT")]
        assert [(e.key, e.value, e.revision) for e in await first_of(meta_only=True)] == [
            ("admin.1", b"", 2), ("user.1", b"", 3), ("user.2", b"", 5)]
        assert summary(await first_of(keys="user.*")) == [("user.1", b"u1b", "PUT"), ("user.2", b"", "DEL")]
        assert summary(await first_of(keys="admin.1", include_history=True)) == [("admin.1", b"a1", "PUT")]
        assert await first_of(keys="nobody.>") == []

        watcher = await kv.watch("user.*", ignore_deletes=True, meta_only=True)
        try:
            assert [(e.key, e.value) for e in await initial(watcher)] == [("user.1", b"")]
            await kv.put("admin.2", b"no")
            await kv.delete("user.1")
            await kv.put("user.3", b"secret")
            assert [(e.key, e.value, e.operation) for e in [await watcher.updates(2)]] == [("user.3", b"", "PUT")]
            await no_more(watcher, 0.1)
        finally:
            await watcher.stop()

    with_kv(js_url, body)


@requires_server((2, 10, 0), "a watch of several key filters (a consumer's filter_subjects)")
def test_aio_watch_several_key_filters(js_url):
    async def body(js, kv):
        for key in ("a.1", "b.1", "c.1"):
            await kv.put(key, b"v")
        watcher = await kv.watch(["a.*", "c.*"])
        try:
            assert [e.key for e in await initial(watcher)] == ["a.1", "c.1"]
            await kv.put("b.2", b"no")
            await kv.put("c.2", b"yes")
            assert (await watcher.updates(2)).key == "c.2"
            await no_more(watcher, 0.1)
        finally:
            await watcher.stop()

    with_kv(js_url, body)


def test_aio_watch_does_not_block_the_loop(js_url):
    async def body(js, kv):
        watcher = await kv.watch()
        try:
            assert await watcher.updates(2) is None
            # nothing changes: the wait takes its full second, the loop ticking meanwhile
            ticker = Ticker()
            started = time.monotonic()
            with pytest.raises(swiftnats.TimeoutError):
                await watcher.updates(1.0)
            elapsed = time.monotonic() - started
            await ticker.stop()
            assert elapsed >= 0.9
            assert ticker.ticks >= 40, ticker.ticks  # ~100 at 10 ms a tick when never blocked

            # a change made by another task while the watch waits ends the wait at once
            async def put_later():
                await asyncio.sleep(0.2)
                return await kv.put("late", b"news")

            ticker = Ticker()
            started = time.monotonic()
            entry, revision = await asyncio.gather(watcher.updates(5), put_later())
            await ticker.stop()
            assert (entry.key, entry.value, entry.revision) == ("late", b"news", revision)
            assert time.monotonic() - started < 1.5
            assert ticker.ticks >= 10
        finally:
            await watcher.stop()

        # several watches waiting at once, on one loop
        watchers = [await kv.watch("fan", updates_only=True) for _ in range(5)]
        try:
            for w in watchers:
                assert await w.updates(2) is None
            ticker = Ticker()
            waiting = asyncio.gather(*(w.updates(3) for w in watchers))
            await asyncio.sleep(0.3)
            await kv.put("fan", b"out")
            got = await waiting
            await ticker.stop()
            assert [(e.key, e.value) for e in got] == [("fan", b"out")] * 5
            assert ticker.ticks >= 15
        finally:
            for w in watchers:
                await w.stop()

    with_kv(js_url, body)


def test_aio_watch_async_for_and_stop(js_url):
    async def body(js, kv):
        await kv.put("a", b"1")
        watcher = await kv.watch()
        seen: List[Optional[Entry]] = []

        async def reader():
            async for entry in watcher:
                seen.append(entry)

        task = asyncio.ensure_future(reader())
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await kv.put("b", b"2")  # after the marker: a change
        while len(seen) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        assert summary(seen) == [("a", b"1", "PUT"), None, ("b", b"2", "PUT")]
        stopped = time.monotonic()
        await watcher.stop()
        await asyncio.wait_for(task, 3)  # the iteration ends
        assert time.monotonic() - stopped < 0.5, "async for went on after stop()"
        await kv.put("c", b"3")
        await asyncio.sleep(0.1)
        assert len(seen) == 3  # nothing after the stop
        await watcher.stop()  # again: nothing

    with_kv(js_url, body)


def test_aio_watch_stop_wakes_a_waiting_task(js_url):
    async def body(js, kv):
        watcher = await kv.watch()
        assert await watcher.updates(2) is None
        outcome: List[object] = []

        async def wait():
            try:
                outcome.append(await watcher.updates(10))
            except swiftnats.SwiftNatsError as error:
                outcome.append(error)

        task = asyncio.ensure_future(wait())
        await asyncio.sleep(0.1)
        stopped = time.monotonic()
        await watcher.stop()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if not done:
            task.cancel()
            pytest.fail("a task awaiting updates() was not woken by stop() within 1 s")
        # woken by the stop, as the blocking watcher's reader is, not by its own timeout
        assert time.monotonic() - stopped < 1.0, outcome
        assert not isinstance(outcome[0], swiftnats.TimeoutError), outcome

    with_kv(js_url, body)


def test_aio_bucket_calls_right_after_connect(js_url):
    """The first calls of a fresh aio client may be Key-Value ones (a bucket made by another
    client bound, a watch made), with no other round trip before them."""
    sync = swiftnats.connect(js_url)
    try:
        sync.jetstream().create_key_value(bucket="early").put("k", b"v")
    finally:
        sync.close()

    async def main():
        async with await aio.connect(js_url) as nc:
            started = time.monotonic()
            kv = await nc.jetstream().key_value("early")
            assert time.monotonic() - started < 2
            watcher = await kv.watch()
            try:
                assert summary(await initial(watcher)) == [("k", b"v", "PUT")]
            finally:
                await watcher.stop()
        async with await aio.connect(js_url) as nc:
            started = time.monotonic()
            made = await nc.jetstream().create_key_value(bucket="early2", history=2)
            assert time.monotonic() - started < 2
            assert await made.put("k", b"v") == 1

    run(main())


# -- interoperation with nats-py ---------------------------------------------------------------


def test_aio_interop_nats_py_writes_swiftnats_reads_and_watches(js_url):
    nats = pytest.importorskip("nats")

    async def main():
        theirs = await nats.connect(js_url)
        ours = await aio.connect(js_url)
        try:
            their_kv = await theirs.jetstream().create_key_value(bucket="PYKV", history=10, ttl=3600)
            r1 = await their_kv.put("app.name", b"demo")
            await their_kv.put("app.port", b"8080")
            r3 = await their_kv.put("app.name", b"demo-2")
            await their_kv.put("tmp", b"t")
            await their_kv.delete("tmp")

            kv = await ours.jetstream().key_value("PYKV")
            status = await kv.status()
            assert (status.history, status.ttl, status.values) == (10, 3600.0, 5)
            entry = await kv.get("app.name")
            assert (entry.value, entry.revision, entry.operation) == (b"demo-2", r3, "PUT")
            assert (await kv.get("app.name", revision=r1)).value == b"demo"
            with pytest.raises(swiftnats.KeyNotFoundError):
                await kv.get("tmp")
            assert sorted(await kv.keys()) == ["app.name", "app.port"]
            assert [(e.operation, e.value) for e in await kv.history("app.name")] == [
                ("PUT", b"demo"), ("PUT", b"demo-2")]
            assert [e.operation for e in await kv.history("tmp")] == ["PUT", "DEL"]

            watcher = await kv.watch("app.*")
            try:
                assert summary(await initial(watcher)) == [("app.port", b"8080", "PUT"), ("app.name", b"demo-2", "PUT")]
                r = await their_kv.put("app.debug", b"true")
                await their_kv.delete("app.port")
                await their_kv.purge("app.name")
                await their_kv.put("other", b"not watched")
                changes = [await watcher.updates(2) for _ in range(3)]
                assert [(e.key, e.value, e.operation) for e in changes] == [
                    ("app.debug", b"true", "PUT"), ("app.port", b"", "DEL"), ("app.name", b"", "PURGE")]
                assert changes[0].revision == r
                await no_more(watcher, 0.1)
            finally:
                await watcher.stop()
        finally:
            await ours.close()
            await theirs.close()

    run(main())


def test_aio_interop_swiftnats_writes_nats_py_reads_and_watches(js_url):
    nats = pytest.importorskip("nats")

    async def main():
        theirs = await nats.connect(js_url)
        ours = await aio.connect(js_url)
        try:
            kv = await ours.jetstream().create_key_value(bucket="SWKV", history=5, ttl=60)
            r1 = await kv.put("a", b"1")
            r2 = await kv.put("b", b"2")
            r3 = await kv.put("a", b"3")
            await kv.delete("b")

            their_kv = await theirs.jetstream().key_value("SWKV")
            status = await their_kv.status()
            assert (status.history, status.ttl, status.values) == (5, 60.0, 4)
            got = await their_kv.get("a")
            assert (got.value, got.revision) == (b"3", r3)
            assert (await their_kv.get("a", revision=r1)).value == b"1"
            with pytest.raises(nats.js.errors.KeyNotFoundError):
                await their_kv.get("b")
            assert await their_kv.keys() == ["a"]
            history = await their_kv.history("b")
            assert [(e.value, e.revision, e.operation) for e in history] == [(b"2", r2, None), (b"", 4, "DEL")]

            watcher = await their_kv.watchall()
            try:
                initial_entries = []
                while (entry := await watcher.updates(timeout=5)) is not None:
                    initial_entries.append(entry)
                assert [(e.key, e.value, e.revision, e.operation) for e in initial_entries] == [
                    ("a", b"3", 3, None), ("b", b"", 4, "DEL")]
                r5 = await kv.put("c", b"new")
                await kv.delete("a")
                await kv.purge("b")
                changes = [await watcher.updates(timeout=5) for _ in range(3)]
                assert [(e.key, e.value, e.revision, e.operation) for e in changes] == [
                    ("c", b"new", r5, None), ("a", b"", r5 + 1, "DEL"), ("b", b"", r5 + 2, "PURGE")]
            finally:
                await watcher.stop()
        finally:
            await ours.close()
            await theirs.close()

    run(main())


def test_aio_bucket_open_watch_and_keys_do_not_block_the_loop(js_server):
    """Opening a bucket, starting a watch and listing keys each wait for the server without
    blocking the loop: with the server stopped (SIGSTOP) for 0.5 s, a ticker keeps ticking and
    each call completes once the server answers."""
    async def main():
        async with await aio.connect(js_server.url) as nc:
            js = nc.jetstream()
            made = await js.create_key_value(bucket="NB", storage="memory")
            await made.put("a", b"1")

            def stalled(call):
                return stalled_by(js_server.proc.pid, call)

            kv = await stalled(js.key_value("NB"))
            assert (await kv.get("a")).value == b"1"
            watcher = await stalled(kv.watchall())
            assert (await watcher.updates(5)).key == "a"
            assert await watcher.updates(5) is None
            await kv.put("b", b"2")
            assert (await watcher.updates(5)).key == "b"
            await watcher.stop()
            assert sorted(await stalled(kv.keys())) == ["a", "b"]
            with pytest.raises(swiftnats.BucketNotFoundError):
                await js.key_value("MISSING")

    run(main())


def test_aio_watch_start_failure_raises_and_releases(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            kv = await js.create_key_value(bucket="WF", storage="memory")
            baseline = swiftnats._runtime.registry_size()
            await js.delete_key_value("WF")
            with pytest.raises(swiftnats.BucketNotFoundError):
                await kv.watchall()
            assert swiftnats._runtime.registry_size() == baseline

    run(main())


def test_aio_cancelled_opens_and_watches_leave_nothing_behind(js_server):
    """A bucket open or a watch start whose task is cancelled while the server has not answered
    (stopped by SIGSTOP) leaves no handle, no registry key and no consumer once it answers."""
    async def main():
        async with await aio.connect(js_server.url) as nc:
            js = nc.jetstream()
            await js.create_key_value(bucket="CX", storage="memory")
            kv = await js.key_value("CX")
            baseline = swiftnats._runtime.registry_size()
            pause_server(js_server.proc.pid)
            try:
                for start in (lambda: js.key_value("CX"), lambda: kv.watchall()):
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(start(), 0.05)
            finally:
                os.kill(js_server.proc.pid, signal.SIGCONT)
            await asyncio.sleep(0.5)  # the answers come, and are let go
            assert swiftnats._runtime.registry_size() == baseline
            info = await js.stream_info("KV_CX")
            deadline = time.monotonic() + 5
            while info.state.consumer_count and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                info = await js.stream_info("KV_CX")
            assert info.state.consumer_count == 0, "the cancelled watch's consumer stayed"

    run(main())
