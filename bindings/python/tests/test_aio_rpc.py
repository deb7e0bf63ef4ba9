"""swiftnats.aio.rpc: RPC servers and clients on an aio client. Handlers (plain, generators,
``async def``, async generators) run on the event loop, errors map as in the sync module,
calls, batches and async calls complete from the library's callbacks on the loop (no worker
thread), streams arrive item by item, and a sync client in another connection interoperates."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List

import pytest

import swiftnats
from swiftnats import aio
from swiftnats.rpc import RPC
from test_aio import assert_no_other_tasks, run, until


def test_asyncrpc_is_the_aio_rpc():
    assert swiftnats.AsyncRPC is aio.rpc.RPC
    from swiftnats.rpc import AsyncRPC

    assert AsyncRPC is aio.rpc.RPC


def test_server_and_client_on_one_aio_connection(nats_server):
    async def main():
        loop_thread = threading.get_ident()
        threads = set()
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, namespace="calc") as rpc:
                @rpc.method("math.add")
                async def add(a: int, b: int) -> int:
                    threads.add(threading.get_ident())
                    await asyncio.sleep(0)
                    return a + b

                @rpc.method
                def neg(x: int) -> int:
                    threads.add(threading.get_ident())
                    return -x

                @rpc.method
                async def countdown(n: int):
                    threads.add(threading.get_ident())
                    for i in range(n, 0, -1):
                        await asyncio.sleep(0)
                        yield i

                @rpc.method
                def squares(n: int):
                    for i in range(n):
                        yield i * i

                @rpc.method
                def later(x: int):
                    return asyncio.sleep(0, result=x)  # a plain function returning an awaitable

                await rpc.start()
                assert rpc.server_ids.keys() == {"calc"}
                assert await rpc.call("math.add", {"a": 5, "b": 3}) == 8
                assert await rpc.call("neg", [5]) == -5
                assert await rpc.call("later", [7]) == 7
                assert await asyncio.gather(*(rpc.call("math.add", [i, i]) for i in range(30))) == [2 * i for i in range(30)]
                assert [x async for x in rpc.call_stream("countdown", [4])] == [4, 3, 2, 1]
                assert [x async for x in rpc.call_stream("squares", [4])] == [0, 1, 4, 9]
                assert await rpc.call("countdown", [3]) == [3, 2, 1]  # a plain caller gets the array
                assert [x async for x in rpc.call_stream("countdown", [0])] == []
                batch = await rpc.call_batch([("math.add", [1, 1]), ("nope",), "neg", ("neg", {"x": 2})])
                assert batch[0] == 2 and batch[3] == -2
                assert isinstance(batch[1], swiftnats.MethodNotFoundError)
                assert isinstance(batch[2], swiftnats.InvalidParamsError)  # neg without its x
                rid = await rpc.call_async("math.add", [2, 2])
                assert await rpc.get_response(rid) == 4
                with pytest.raises(swiftnats.NotFoundError):
                    await rpc.get_response(rid)  # collected: forgotten
                methods = await rpc.describe(0.3)
                assert [m.method for m in methods] == ["countdown", "later", "math.add", "neg", "squares"]
            assert threads == {loop_thread}
        assert_no_other_tasks()

    run(main())


def test_calls_complete_on_the_loop_without_threads(nats_server, monkeypatch):
    """call, call_batch, call_async/get_response and call_with_callback run no worker thread:
    the library's callbacks complete them on the loop."""

    async def main():
        loop_thread = threading.get_ident()
        async with await aio.connect(nats_server) as nc, await aio.connect(nats_server) as server_nc:
            async with aio.rpc.RPC(server_nc, namespace="nothread") as server:
                @server.method
                async def echo(v: Any) -> Any:
                    return v

                await server.start()
                async with aio.rpc.RPC(nc, namespace="nothread") as rpc:
                    def no_threads(*args, **kwargs):
                        raise AssertionError("a worker thread on the call path")

                    monkeypatch.setattr(asyncio, "to_thread", no_threads)
                    monkeypatch.setattr(asyncio.get_running_loop(), "run_in_executor", no_threads)
                    assert await rpc.call("echo", ["x"]) == "x"
                    assert await rpc.call_batch([("echo", [1]), ("echo", [2])]) == [1, 2]
                    rid = await rpc.call_async("echo", [3])
                    assert await rpc.get_response(rid, timeout=5) == 3
                    got = asyncio.get_running_loop().create_future()

                    async def callback(result, error):
                        got.set_result((result, error, threading.get_ident()))

                    rpc.call_with_callback("echo", [4], callback)
                    assert await got == (4, None, loop_thread)
                    monkeypatch.undo()

    run(main())


def test_errors_map_as_in_the_sync_module(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, namespace="errs") as rpc:
                @rpc.method
                async def custom() -> None:
                    raise swiftnats.RPCError(-32001, "app failure", {"why": "because"})

                @rpc.method
                async def crash() -> None:
                    await asyncio.sleep(0)
                    raise ValueError("bad\nline")

                @rpc.method
                async def typed(n: int) -> int:
                    return n

                @rpc.method
                async def half_stream(n: int):
                    yield 1
                    raise RuntimeError("stream broke")

                @rpc.method
                async def not_json() -> Any:
                    return object()

                @rpc.method
                async def slow() -> None:
                    await asyncio.sleep(0.5)

                await rpc.start()
                with pytest.raises(swiftnats.RPCError) as info:
                    await rpc.call("custom")
                assert info.value.code == -32001 and info.value.message == "app failure"
                assert info.value.data["details"] == {"why": "because"}
                with pytest.raises(swiftnats.InternalError) as info:
                    await rpc.call("crash")
                assert "bad\nline" in info.value.message and "ValueError" in info.value.data["traceback"]
                with pytest.raises(swiftnats.InvalidParamsError):
                    await rpc.call("typed", {"n": "text"})
                with pytest.raises(swiftnats.InvalidParamsError):
                    await rpc.call("typed", {"m": 1})
                with pytest.raises(swiftnats.MethodNotFoundError):
                    await rpc.call("missing")
                with pytest.raises(swiftnats.InternalError, match="JSON"):
                    await rpc.call("not_json")
                items: List[Any] = []
                with pytest.raises(swiftnats.InternalError, match="stream broke"):
                    async for item in rpc.call_stream("half_stream", [1]):
                        items.append(item)
                assert items == [1]
                with pytest.raises(asyncio.TimeoutError):  # swiftnats.TimeoutError is one
                    await rpc.call("slow", timeout=0.05)
                rid = await rpc.call_async("slow", timeout=5)
                with pytest.raises(swiftnats.TimeoutError):
                    await rpc.get_response(rid, timeout=0.05)  # stays pending
                assert await rpc.get_response(rid, timeout=5) is None
                rid = await rpc.call_async("slow", timeout=5)
                rpc.cancel(rid)
                with pytest.raises(swiftnats.NotFoundError):
                    rpc.cancel(rid)

                # the errors are counted by the micro layer (STATS)
                async def errors() -> dict:
                    [found] = await aio.micro.stats(nc, "errs", max_replies=1)
                    return {e.name: e.num_errors for e in found.endpoints}

                await until(lambda: True)
                counted = await errors()
                assert counted["custom"] == 1 and counted["crash"] == 1 and counted["half_stream"] == 1

    run(main())


def test_concurrency_of_async_methods(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, namespace="conc") as rpc:
                running = {"serial": 0, "wide": 0}
                peak = {"serial": 0, "wide": 0}
                order: List[int] = []

                def make(kind: str):
                    async def handler(i: int) -> int:
                        running[kind] += 1
                        peak[kind] = max(peak[kind], running[kind])
                        if kind == "serial":
                            order.append(i)
                        await asyncio.sleep(0.01)
                        running[kind] -= 1
                        return i
                    return handler

                rpc.register_handler("serial", make("serial"))
                rpc.register_handler("wide", make("wide"), concurrency=8)
                await rpc.start()
                for method in ("serial", "wide"):
                    results = await asyncio.gather(*(rpc.call(method, [i]) for i in range(16)))
                    assert results == list(range(16))
                assert peak["serial"] == 1 and order == list(range(16))
                assert peak["wide"] > 1

    run(main())


def test_stop_and_close_answer_the_calls_in_flight(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc, await aio.connect(nats_server) as caller_nc:
            rpc = aio.rpc.RPC(nc, namespace="inflight")
            caller = aio.rpc.RPC(caller_nc, namespace="inflight")
            started = asyncio.Event()

            @rpc.method
            async def slow(x: int) -> int:
                started.set()
                await asyncio.sleep(0.2)
                return x

            await rpc.start()
            pending = asyncio.ensure_future(caller.call("slow", [1], timeout=5))
            await asyncio.wait_for(started.wait(), 5)
            await rpc.stop()  # waits for the coroutine, whose answer goes out
            assert await pending == 1
            with pytest.raises(swiftnats.MethodNotFoundError):
                await caller.call("slow", [2])
            await rpc.start()  # may start again
            started.clear()
            pending = asyncio.ensure_future(caller.call("slow", [3], timeout=5))
            await asyncio.wait_for(started.wait(), 5)
            await rpc.close()
            assert await pending == 3
            await rpc.close()  # idempotent
            await caller.close()
        assert_no_other_tasks()

    run(main())


def test_a_method_calls_another_on_the_same_connection(nats_server):
    """A handler coroutine awaits a call served by this very loop: no deadlock."""

    async def main():
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, namespace="nested") as rpc:
                @rpc.method
                async def inner(x: int) -> int:
                    return x * 10

                @rpc.method
                async def outer(x: int) -> int:
                    return await rpc.call("inner", [x]) + 1

                await rpc.start()
                assert await rpc.call("outer", [4], timeout=5) == 41

    run(main())


def test_interop_with_a_sync_client_in_another_connection(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, namespace="aioserves") as rpc:
                @rpc.method
                async def greet(name: str) -> str:
                    await asyncio.sleep(0)
                    return f"hello {name}"

                @rpc.method
                async def count(n: int):
                    for i in range(n):
                        yield i

                await rpc.start()

                def sync_side() -> Any:
                    with swiftnats.connect(nats_server) as other, RPC(other, namespace="aioserves") as client:
                        return (client.call("greet", ["sync"]), list(client.call_stream("count", [3])),
                                client.call_batch([("greet", ["b"]), ("nope",)]))

                greeting, items, batch = await asyncio.to_thread(sync_side)
                assert greeting == "hello sync" and items == [0, 1, 2]
                assert batch[0] == "hello b" and isinstance(batch[1], swiftnats.MethodNotFoundError)

            # a sync server on another connection, called from the loop
            with swiftnats.connect(nats_server) as other, RPC(other, namespace="syncserves") as server:
                @server.method
                def add(a: int, b: int) -> int:
                    return a + b

                @server.method
                def letters(word: str):
                    yield from word

                server.start()
                async with aio.rpc.RPC(nc, namespace="syncserves") as client:
                    assert await client.call("add", [1, 2]) == 3
                    assert [c async for c in client.call_stream("letters", ["abc"])] == ["a", "b", "c"]
                    with pytest.raises(swiftnats.InvalidParamsError):
                        await client.call("add", [1])

    run(main())


def test_async_methods_on_a_sync_client(nc):
    """On a sync client, coroutines run on the loop running at start(); plain methods on the
    library's threads."""

    async def main():
        loop_thread = threading.get_ident()
        threads = {}
        async with aio.rpc.RPC(nc, namespace="onsync") as rpc:
            @rpc.method
            async def co() -> str:
                threads["co"] = threading.get_ident()
                return "co"

            @rpc.method
            def plain() -> str:
                threads["plain"] = threading.get_ident()
                return "plain"

            await rpc.start()
            assert await rpc.call("co") == "co"
            assert await rpc.call("plain") == "plain"
            assert await rpc.call_batch([("co",), ("plain",)]) == ["co", "plain"]
        assert threads["co"] == loop_thread and threads["plain"] != loop_thread

    run(main())


def test_drain_of_the_client_answers_the_calls_in_flight(nats_server):
    async def main():
        started = asyncio.Event()
        nc = await aio.connect(nats_server)
        async with await aio.connect(nats_server) as caller_nc, aio.rpc.RPC(caller_nc, namespace="drn") as caller:
            rpc = aio.rpc.RPC(nc, namespace="drn")

            @rpc.method
            async def slow() -> str:
                started.set()
                await asyncio.sleep(0.2)
                return "finished"

            await rpc.start()
            pending = asyncio.ensure_future(caller.call("slow", timeout=5))
            await asyncio.wait_for(started.wait(), 5)
            await nc.drain()  # stops the server first: the coroutine's answer goes out
            assert await pending == "finished"
            assert nc.is_closed
            await rpc.close()  # after its connection: frees what is left
        assert_no_other_tasks()

    run(main())
