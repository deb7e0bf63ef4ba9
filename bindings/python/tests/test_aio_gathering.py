"""swiftnats.aio's streams, describe and micro discovery: the library's non-blocking forms
(snats_rpc_client_call_stream_cb, snats_rpc_client_describe_cb, snats_micro_*_cb) hand their
outcomes to callbacks on the loop, so no worker thread waits; a stream left early stops, a
silent one times out, unread items are bounded, and a closing client fails what is pending."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import swiftnats
from swiftnats import _runtime, aio
from test_aio import run


async def _serve(nc, namespace: str = "gather"):
    """An RPC server with a streaming method and a plain one, started."""
    server = aio.rpc.RPC(nc, namespace=namespace)

    @server.method
    def count(n: int, pause: float = 0.0):
        for i in range(n):
            if pause:
                time.sleep(pause)
            yield i

    @server.method
    async def slow_count(n: int):
        for i in range(n):
            await asyncio.sleep(0.002)
            yield i

    @server.method
    def plain() -> str:
        return "single"

    await server.start()
    return server


def test_streams_describe_and_discovery_run_no_worker_thread(nats_server, monkeypatch):
    async def main():
        async with await aio.connect(nats_server) as server_nc, await aio.connect(nats_server) as nc:
            async with await _serve(server_nc) as _, aio.rpc.RPC(nc, namespace="gather") as rpc:
                def no_threads(*args, **kwargs):
                    raise AssertionError("a worker thread on the path")

                threads = threading.active_count()
                monkeypatch.setattr(asyncio, "to_thread", no_threads)
                monkeypatch.setattr(asyncio.get_running_loop(), "run_in_executor", no_threads)
                assert [x async for x in rpc.call_stream("count", [5])] == [0, 1, 2, 3, 4]
                assert [x async for x in rpc.call_stream("plain")] == ["single"]
                with pytest.raises(swiftnats.MethodNotFoundError):
                    [x async for x in rpc.call_stream("nope")]
                methods = await rpc.describe(0.2)
                assert [m.method for m in methods] == ["count", "plain", "slow_count"]
                assert methods[0].params[0]["name"] == "n"
                pings, infos, stats = await asyncio.gather(
                    aio.micro.ping(nc, "gather"), aio.micro.info(nc, "gather"), aio.micro.stats(nc, "gather"))
                assert [p.name for p in pings] == ["gather"]
                assert {e.name for e in infos[0].endpoints} == {"count", "plain", "slow_count"}
                assert len(stats[0].endpoints) == 3
                assert threading.active_count() == threads
                monkeypatch.undo()

    run(main())


def test_discovery_completes_early_or_fails_with_the_closing(nats_server):
    async def main():
        async with await aio.connect(nats_server) as server_nc:
            async with await _serve(server_nc, "early"):
                nc = await aio.connect(nats_server)
                started = time.monotonic()
                assert len(await aio.micro.ping(nc, "early", timeout=5, max_replies=1)) == 1
                assert await aio.micro.ping(nc, "nobody", timeout=5) == []  # no responders: no wait
                assert time.monotonic() - started < 2
                pending = asyncio.ensure_future(aio.micro.info(nc, timeout=5))
                await asyncio.sleep(0.1)
                await nc.close()
                with pytest.raises(swiftnats.ConnectionClosedError):
                    await asyncio.wait_for(pending, 2)
                with pytest.raises(swiftnats.ConnectionClosedError):
                    await aio.micro.ping(nc)
                with pytest.raises(swiftnats.InvalidArgumentError):
                    await aio.micro.ping(server_nc, None, "an-id-without-a-name")

    run(main())


def test_leaving_a_stream_early_stops_it(nats_server):
    async def main():
        baseline = _runtime.registry_size()
        async with await aio.connect(nats_server) as server_nc, await aio.connect(nats_server) as nc:
            async with await _serve(server_nc, "early_exit"), aio.rpc.RPC(nc, namespace="early_exit") as rpc:
                during = _runtime.registry_size()
                got = []
                async for item in rpc.call_stream("slow_count", [1000]):
                    got.append(item)
                    if len(got) == 3:
                        break
                assert got == [0, 1, 2]
                # the stream is destroyed and its sink forgotten at once
                assert _runtime.registry_size() == during
                await asyncio.sleep(0.05)
                assert [x async for x in rpc.call_stream("count", [2])] == [0, 1]
        assert _runtime.registry_size() == baseline

    run(main())


def test_a_silent_stream_times_out(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            await nc.subscribe("rpc.quiet.hang", cb=lambda msg: None)  # listens, never answers
            await nc.flush()
            async with aio.rpc.RPC(nc, namespace="quiet") as rpc:
                started = time.monotonic()
                with pytest.raises(swiftnats.TimeoutError, match="within 200 ms"):
                    [x async for x in rpc.call_stream("hang", timeout=0.2)]
                assert time.monotonic() - started < 2

    run(main())


def test_unread_items_past_the_buffer_end_the_stream_with_slow_consumer(nats_server, monkeypatch):
    monkeypatch.setattr(aio.rpc, "STREAM_BUFFER", 10)

    async def main():
        async with await aio.connect(nats_server) as server_nc, await aio.connect(nats_server) as nc:
            async with await _serve(server_nc, "unread"), aio.rpc.RPC(nc, namespace="unread") as rpc:
                items = rpc.call_stream("count", [50])
                assert await items.__anext__() == 0
                await asyncio.sleep(0.5)  # the other 49 arrive meanwhile
                rest = []
                with pytest.raises(swiftnats.SlowConsumerError, match="more than 10 items"):
                    async for item in items:
                        rest.append(item)
                # ten waited at most (item 0 among them when it was still unread), in order
                assert rest == list(range(1, len(rest) + 1)) and 9 <= len(rest) <= 10

    run(main())


def test_a_stream_read_through_a_sync_client(nc, nats_server):
    """On a sync client the library calls back on its own threads: the items reach the loop
    through call_soon_threadsafe, in order."""

    async def main():
        async with await aio.connect(nats_server) as server_nc, await _serve(server_nc, "synced"):
            rpc = aio.rpc.RPC(nc, namespace="synced")
            try:
                assert [x async for x in rpc.call_stream("count", [300])] == list(range(300))
                assert [m.method for m in await rpc.describe(0.2)] == ["count", "plain", "slow_count"]
            finally:
                await rpc.close()

    run(main())


def test_a_busy_loop_keeps_the_answers_that_came_in_time(nc, nats_server):
    """The loop blocked past the timeouts (the answers came at once, from a sync client's
    library threads): a request, an RPC call, a stream and a discovery still get them, since
    the library judges a timeout only after the loop's own read of its socket."""
    nc.subscribe("busy.echo", cb=lambda msg: msg.respond(msg.data))
    server = swiftnats.rpc.RPC(nc, namespace="busy")

    @server.method
    def count(n: int):
        yield from range(n)

    server.start()
    try:
        async def main():
            async with await aio.connect(nats_server) as anc, aio.rpc.RPC(anc, namespace="busy") as rpc:
                request = asyncio.ensure_future(anc.request("busy.echo", b"in time", timeout=0.2))
                call = asyncio.ensure_future(rpc.call("count", [2], timeout=0.2))
                pings = asyncio.ensure_future(aio.micro.ping(anc, "busy", timeout=0.2))
                items = rpc.call_stream("count", [3], timeout=0.2)
                await asyncio.sleep(0)  # everything sent (the tasks ran), nothing answered yet
                time.sleep(0.5)  # the loop is busy: every answer waits unread, every deadline passes
                assert (await request).data == b"in time"
                assert await call == [0, 1]
                assert [p.name for p in await pings] == ["busy"]
                assert [x async for x in items] == [0, 1, 2]

        run(main())
    finally:
        server.close()
