"""Object Store for asyncio (``await js.create_object_store()``): buckets and objects, a
reader that raises or gives more than asked, every call without an executor and without
blocking the loop (the server stopped meanwhile), cancelled transfers that leave nothing
behind, watches; and interoperation with nats-py's object store (each side reading, with equal
digests, what the other put in several chunks)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import os
import signal
import threading
import time

import pytest

import swiftnats
from swiftnats import aio
from swiftnats.obj import ObjectNotFoundError

from aio_support import Ticker, run, stalled as stalled_by
from conftest import pause_server
from obj_support import HELLO_DIGEST, Exploding, digest_of, jnc, js, messages, pattern  # noqa: F401 (fixtures)


# -- asyncio -----------------------------------------------------------------------------------


def test_aio_buckets_and_objects(js_url, tmp_path):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            with pytest.raises(swiftnats.BucketNotFoundError):
                await js.object_store("files")
            with pytest.raises(swiftnats.BucketNotFoundError):
                await js.delete_object_store("files")
            obs = await js.create_object_store(bucket="files", storage="memory")
            assert obs.bucket == "files"
            info = await obs.put("greeting", b"hello")
            assert info.digest == HELLO_DIGEST and info.size == 5
            assert (await obs.get("greeting")).data == b"hello"
            assert (await obs.get_info("greeting")).nuid == info.nuid

            data = pattern(200_000, 3)
            path = tmp_path / "in.bin"
            path.write_bytes(data)
            with open(path, "rb") as f:
                assert (await obs.put("file", f, meta={"options": {"max_chunk_size": 50_000}})).chunks == 4
            with open(tmp_path / "out.bin", "wb") as f:
                assert (await obs.get("file", writeinto=f)).data is None
            assert (tmp_path / "out.bin").read_bytes() == data

            await obs.add_link("alias", info)
            assert (await obs.get("alias")).data == b"hello"
            await obs.add_bucket_link("whole", "files")
            with pytest.raises(swiftnats.InvalidArgumentError):
                await obs.get("whole")
            assert sorted(i.name for i in await obs.list()) == ["alias", "file", "greeting", "whole"]
            assert await obs.delete("greeting") is True
            with pytest.raises(ObjectNotFoundError):
                await obs.get("greeting")
            assert (await obs.get_info("greeting", show_deleted=True)).deleted is True
            assert sorted(i.name for i in await obs.list(ignore_deletes=True)) == ["alias", "file", "whole"]
            assert (await obs.status()).bucket == "files"

            bound = await js.object_store("files")
            assert (await bound.get("file")).data == data
            assert await js.delete_object_store("files") is True

    run(main())


class Overfilling(io.RawIOBase):
    """A binary file whose reads give more than they are asked for."""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return b"y" * (n + 10)


def test_a_reader_returning_more_than_asked_fails_the_put(js_url, js):
    """The library's buffer holds what it asked for: a file object that gives more is refused
    before anything is copied (sync and asyncio alike)."""
    obs = js.create_object_store(bucket="over")
    with pytest.raises(ValueError, match="returned"):
        obs.put("too-much", Overfilling(), meta={"options": {"max_chunk_size": 1000}})
    assert messages(js, "over") == 0

    async def main():
        async with await aio.connect(js_url) as nc:
            aobs = await nc.jetstream().object_store("over")
            with pytest.raises(ValueError, match="returned"):
                await aobs.put("too-much", Overfilling(), meta={"options": {"max_chunk_size": 1000}})

    run(main())
    assert messages(js, "over") == 0


def test_aio_reader_raises(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            obs = await js.create_object_store(bucket="files")
            source = Exploding(5)
            with pytest.raises(RuntimeError) as err:
                await obs.put("broken", source, meta={"options": {"max_chunk_size": 1000}})
            assert err.value is source.error
            with pytest.raises(ObjectNotFoundError):
                await obs.get_info("broken", show_deleted=True)
            assert (await js.stream_info("OBJ_files")).state.messages == 0

    run(main())


class NoExecutor(concurrent.futures.ThreadPoolExecutor):
    """A loop's default executor that refuses work: the asyncio Object Store must not use one."""

    def submit(self, fn, *args, **kwargs):  # type: ignore[override]
        raise AssertionError(f"the executor was asked to run {fn!r}")


class Tracking(io.BytesIO):
    """A BytesIO that notes the threads its reads and writes run on."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__(data)
        self.threads = set()

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        self.threads.add(threading.get_ident())
        return super().read(n)

    def write(self, data) -> int:  # type: ignore[override]
        self.threads.add(threading.get_ident())
        return super().write(data)


def test_aio_calls_use_no_executor_and_do_not_block_the_loop(js_server):
    """Every asyncio Object Store call waits for the server without blocking the loop and
    without an executor (the loop's default one refuses work): with the server stopped
    (SIGSTOP) for 0.5 s a ticker keeps ticking and each call completes once it answers. A put's
    reads and a get's writes run on the loop's thread, chunk by chunk."""

    async def main():
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()
        async with await aio.connect(js_server.url) as nc:
            loop.set_default_executor(NoExecutor())  # until the close (connecting and closing use one)
            js = nc.jetstream()

            def stalled(call):
                return stalled_by(js_server.proc.pid, call)

            await stalled(js.create_object_store(bucket="files", storage="memory"))
            obs = await stalled(js.object_store("files"))
            data = pattern(400_000, 4)
            source = Tracking(data)
            info = await stalled(obs.put("big", source, meta={"options": {"max_chunk_size": 10_000}}))
            assert info.chunks == 40 and info.digest == digest_of(data)
            assert source.threads == {loop_thread}
            sink = Tracking()
            assert (await stalled(obs.get("big", writeinto=sink))).data is None
            assert sink.getvalue() == data and sink.threads == {loop_thread}
            assert (await stalled(obs.get_info("big"))).nuid == info.nuid
            assert [i.name for i in await stalled(obs.list())] == ["big"]
            assert (await stalled(obs.add_link("alias", info))).options.link.name == "big"
            assert (await stalled(obs.status())).bucket == "files"
            assert await stalled(obs.delete("alias")) is True
            watcher = await stalled(obs.watch())
            assert (await watcher.updates(5)).name == "big"
            assert (await watcher.updates(5)).name == "alias"
            assert await watcher.updates(5) is None
            await watcher.stop()
            loop.set_default_executor(concurrent.futures.ThreadPoolExecutor())

    run(main())


def test_aio_cancelled_transfers_leave_nothing_behind(js_server):
    """A put and a get whose tasks are cancelled while the server is stopped finish in the
    library once it answers (the put stored, the get's consumer gone), with no registry key
    left."""

    async def main():
        async with await aio.connect(js_server.url) as nc:
            js = nc.jetstream()
            obs = await js.create_object_store(bucket="files", storage="memory")
            await obs.put("there", b"hello")
            baseline = swiftnats._runtime.registry_size()
            pause_server(js_server.proc.pid)
            try:
                for start in (lambda: obs.put("later", b"x" * 5000), lambda: obs.get("there")):
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(start(), 0.05)
            finally:
                os.kill(js_server.proc.pid, signal.SIGCONT)
            deadline = time.monotonic() + 5
            while swiftnats._runtime.registry_size() != baseline and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert swiftnats._runtime.registry_size() == baseline
            assert (await obs.get("later")).data == b"x" * 5000
            info = await js.stream_info("OBJ_files")
            while info.state.consumer_count and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                info = await js.stream_info("OBJ_files")
            assert info.state.consumer_count == 0, "the cancelled get's consumer stayed"

    run(main())


def test_aio_watch_and_its_changes(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            obs = await js.create_object_store(bucket="files")
            await obs.put("first", b"1")
            watcher = await obs.watch()
            assert (await watcher.updates(5)).name == "first"
            assert await watcher.updates(5) is None
            ticker = Ticker()
            with pytest.raises(swiftnats.TimeoutError):
                await watcher.updates(0.5)
            assert ticker.ticks >= 10

            async def later():
                await asyncio.sleep(0.3)
                await obs.put("later", b"x")

            writer = asyncio.ensure_future(later())
            change = await watcher.updates(5)
            assert change.name == "later"
            await writer

            # async for: changes after the marker
            async def collect():
                async for info in watcher:
                    if info is not None and info.name == "last":
                        return info

            task = asyncio.ensure_future(collect())
            await asyncio.sleep(0.1)
            await obs.put("last", b"!")
            assert (await asyncio.wait_for(task, 5)).name == "last"
            await watcher.stop()
            await ticker.stop()
            with pytest.raises(swiftnats.ConnectionClosedError):
                await watcher.updates(1)

            await js.delete_object_store("files")
            with pytest.raises(swiftnats.BucketNotFoundError):
                await obs.watch()

    run(main())


# -- interoperation with nats-py ----------------------------------------------------------------


def test_interop_nats_py_puts_swiftnats_reads(js_url, tmp_path):
    nats = pytest.importorskip("nats")
    data = pattern(300_000, 5)  # three chunks of nats-py's 128 KiB

    async def main():
        theirs = await nats.connect(js_url)
        ours = await aio.connect(js_url)
        try:
            their_obs = await theirs.jetstream().create_object_store("shared")
            their_info = await their_obs.put("big", data)
            assert their_info.chunks == 3
            await their_obs.put("hello", b"hello")
            await their_obs.put("empty", b"")
            await their_obs.put("gone", b"soon deleted")
            await their_obs.delete("gone")

            obs = await ours.jetstream().object_store("shared")
            result = await obs.get("big")
            assert result.data == data
            assert result.info.digest == their_info.digest == digest_of(data)
            assert (result.info.size, result.info.chunks, result.info.nuid) == (300_000, 3, their_info.nuid)
            with open(tmp_path / "big", "wb") as f:
                await obs.get("big", writeinto=f)
            assert (tmp_path / "big").read_bytes() == data
            assert (await obs.get("hello")).info.digest == HELLO_DIGEST
            assert (await obs.get("empty")).data == b""
            with pytest.raises(ObjectNotFoundError):
                await obs.get("gone")
            assert (await obs.get_info("gone", show_deleted=True)).deleted is True
            assert sorted(i.name for i in await obs.list(ignore_deletes=True)) == ["big", "empty", "hello"]

            watcher = await obs.watch(ignore_deletes=True)
            names = []
            while (info := await watcher.updates(5)) is not None:
                names.append(info.name)
            assert sorted(names) == ["big", "empty", "hello"]
            await their_obs.put("new", b"from nats-py")
            assert (await watcher.updates(5)).name == "new"
            await watcher.stop()

            # replaced by nats-py: swiftnats reads the new bytes
            await their_obs.put("big", b"smaller")
            assert (await obs.get("big")).data == b"smaller"
        finally:
            await ours.close()
            await theirs.close()

    run(main())


def test_interop_swiftnats_puts_nats_py_reads(js_url):
    nats = pytest.importorskip("nats")
    data = pattern(300_000, 6)

    async def main():
        theirs = await nats.connect(js_url)
        ours = await aio.connect(js_url)
        try:
            obs = await ours.jetstream().create_object_store(bucket="shared")
            info = await obs.put("big", data, meta={"description": "from swiftnats", "headers": {"K": "v"},
                                                    "options": {"max_chunk_size": 65536}})
            assert info.chunks == 5
            await obs.put("default-chunks", data)
            await obs.put("empty", b"")
            await obs.add_link("alias", info)

            their_js = theirs.jetstream()
            their_obs = await their_js.object_store("shared")
            # nats-py checks the digest itself while it reads
            result = await their_obs.get("big")
            assert result.data == data and result.info.digest == info.digest == digest_of(data)
            assert (result.info.size, result.info.chunks, result.info.nuid) == (300_000, 5, info.nuid)
            assert result.info.description == "from swiftnats"
            assert result.info.options.max_chunk_size == 65536
            assert (await their_obs.get("default-chunks")).data == data
            assert (await their_obs.get("empty")).data == b""
            assert (await their_obs.get("alias")).data == data  # nats-py follows swiftnats' link
            their_info = await their_obs.get_info("big")
            assert their_info.digest == info.digest and their_info.bucket == "shared"
            assert sorted(i.name for i in await their_obs.list()) == ["alias", "big", "default-chunks", "empty"]

            await obs.delete("empty")
            with pytest.raises(nats.js.errors.ObjectNotFoundError):
                await their_obs.get_info("empty")
            assert (await their_obs.get_info("empty", show_deleted=True)).deleted is True
        finally:
            await ours.close()
            await theirs.close()

    run(main())
