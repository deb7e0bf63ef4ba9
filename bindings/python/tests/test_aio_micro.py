"""swiftnats.aio.micro: services on an aio client, their handlers (plain or ``async def``) run
on the event loop, errors answered and counted, discovery awaited while the loop keeps
serving, stop and done_cb after the handler coroutines, and the same on a sync client."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, List

import pytest

import swiftnats
from swiftnats import aio, micro
from test_aio import assert_no_other_tasks, run, until


def test_add_service_handlers_run_on_the_loop(nats_server):
    async def main():
        loop_thread = threading.get_ident()
        threads = set()
        async with await aio.connect(nats_server) as nc:
            svc = await aio.micro.add_service(nc, name="calc", version="1.0.0", description="adds",
                                              metadata={"k": "v"})
            assert isinstance(svc, aio.micro.Service) and repr(svc).startswith("<aio.Service calc 1.0.0")
            async with svc:
                @svc.endpoint("add", subject="calc.add")
                def add(req: aio.micro.Request) -> None:  # plain: answers without await
                    threads.add(threading.get_ident())
                    a, b = req.json()
                    req.respond_json(a + b)

                @svc.endpoint("mul", subject="calc.mul")
                async def mul(req: aio.micro.Request) -> None:
                    threads.add(threading.get_ident())
                    a, b = req.json()
                    await asyncio.sleep(0)
                    await req.respond_json(a * b)  # nats.py style: awaited

                group = svc.add_group("math", queue_group="mq")
                @group.endpoint("neg")
                async def neg(req: aio.micro.Request) -> None:
                    threads.add(threading.get_ident())
                    await req.respond(str(-int(req.data)).encode(), headers={"X-Kind": "neg"})

                assert svc.add_endpoint("echo", lambda req: req.respond(req.data), group="math") == "math.echo"

                assert (await nc.request("calc.add", b"[2, 3]", timeout=5)).data == b"5"
                assert (await nc.request("calc.mul", b"[2, 3]", timeout=5)).data == b"6"
                reply = await nc.request("math.neg", b"7", timeout=5)
                assert reply.data == b"-7" and reply.headers["X-Kind"] == "neg"
                assert (await nc.request("math.echo", b"e", timeout=5)).data == b"e"
                replies = await asyncio.gather(*(nc.request("calc.mul", b"[%d, 2]" % i, timeout=5) for i in range(20)))
                assert [r.data for r in replies] == [b"%d" % (2 * i) for i in range(20)]
                assert threads == {loop_thread}

                doc = svc.info()
                assert doc["name"] == "calc" and doc["metadata"] == {"k": "v"}
                assert {e["name"] for e in doc["endpoints"]} == {"add", "mul", "neg", "echo"}
                assert {e["subject"]: e["queue_group"] for e in doc["endpoints"]}["math.neg"] == "mq"
            assert svc.stopped
            await svc.stop()  # idempotent
        assert_no_other_tasks()

    run(main())


def test_async_handlers_one_at_a_time_unless_concurrency(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with await aio.micro.add_service(nc, name="order", version="1.0.0") as svc:
                running = {"serial": 0, "wide": 0}
                peak = {"serial": 0, "wide": 0}
                seen: List[bytes] = []

                def endpoint(kind: str):
                    async def handler(req):
                        running[kind] += 1
                        peak[kind] = max(peak[kind], running[kind])
                        if kind == "serial":
                            seen.append(req.data)
                        await asyncio.sleep(0.01)
                        running[kind] -= 1
                        await req.respond(req.data)
                    return handler

                svc.add_endpoint("serial", endpoint("serial"), subject="order.serial")
                svc.add_endpoint("wide", endpoint("wide"), subject="order.wide", concurrency=8)
                payloads = [b"%d" % i for i in range(16)]
                for subject in ("order.serial", "order.wide"):
                    replies = await asyncio.gather(*(nc.request(subject, p, timeout=5) for p in payloads))
                    assert [r.data for r in replies] == payloads
                assert peak["serial"] == 1 and seen == payloads  # in order, one at a time
                assert peak["wide"] > 1

    run(main())


def test_exceptions_answer_errors_and_are_counted(nats_server):
    async def main():
        reported: List[Any] = []

        async def on_error(error, endpoint):  # a coroutine error_cb runs on the loop too
            await asyncio.sleep(0)
            reported.append((type(error), endpoint))

        async with await aio.connect(nats_server) as nc:
            async with await aio.micro.add_service(nc, name="failing", version="1.0.0", error_cb=on_error) as svc:
                @svc.endpoint("svcerr", subject="f.svcerr")
                async def svcerr(req):
                    await asyncio.sleep(0)
                    raise aio.micro.ServiceError("400", "bad input", b"details")

                @svc.endpoint("boom", subject="f.boom")
                async def boom(req):
                    await asyncio.sleep(0)
                    raise ValueError("kaput")

                @svc.endpoint("plainboom", subject="f.plainboom")
                def plainboom(req):
                    raise KeyError("nope")

                reply = await nc.request("f.svcerr", b"", timeout=5)
                assert reply.headers["Nats-Service-Error-Code"] == "400"
                assert reply.headers["Nats-Service-Error"] == "bad input" and reply.data == b"details"
                reply = await nc.request("f.boom", b"", timeout=5)
                assert reply.headers["Nats-Service-Error-Code"] == "500"
                assert reply.headers["Nats-Service-Error"] == "ValueError('kaput')"
                reply = await nc.request("f.plainboom", b"", timeout=5)
                assert reply.headers["Nats-Service-Error-Code"] == "500"
                assert "KeyError" in reply.headers["Nats-Service-Error"]
                await until(lambda: len(reported) == 2, what=f"{reported}")
                assert sorted(t.__name__ for t, _ in reported) == ["KeyError", "ValueError"]

                async def counted() -> dict:
                    [found] = await aio.micro.stats(nc, "failing", timeout=1, max_replies=1)
                    return {e.name: (e.num_requests, e.num_errors, e.last_error) for e in found.endpoints}

                deadline = time.monotonic() + 5
                while True:
                    by_name = await counted()
                    if all(v[1] == 1 for v in by_name.values()) or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.02)
                assert by_name["svcerr"] == (1, 1, "400:bad input")
                assert by_name["boom"] == (1, 1, "500:ValueError('kaput')")
                assert by_name["plainboom"][:2] == (1, 1)
                assert svc.stats()["endpoints"][0]["num_errors"] == 1  # the local document agrees

    run(main())


def test_discovery_is_awaited_while_the_loop_serves(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with await aio.micro.add_service(nc, name="disc", version="2.0.0") as svc:
                @svc.endpoint("echo", subject="disc.echo")
                async def echo(req):
                    await req.respond(b"echo:" + req.data)

                # no max_replies: the library gathers for the whole second, in a worker thread
                started = time.monotonic()
                ping = asyncio.ensure_future(aio.micro.ping(nc, timeout=1.0))
                await asyncio.sleep(0.05)
                assert not ping.done()
                reply = await nc.request("disc.echo", b"x", timeout=5)  # served by this loop meanwhile
                assert reply.data == b"echo:x" and not ping.done()
                pings = await ping
                assert time.monotonic() - started >= 0.9
                assert [(p.name, p.version, p.id) for p in pings] == [("disc", "2.0.0", svc.id)]
                [info] = await aio.micro.info(nc, "disc", svc.id, timeout=1, max_replies=1)
                assert isinstance(info, aio.micro.InfoResponse)
                assert [e.subject for e in info.endpoints] == ["disc.echo"]
                [stats] = await aio.micro.stats(nc, "disc", timeout=1, max_replies=1)
                assert stats.endpoints[0].num_requests == 1

    run(main())


def test_stop_waits_for_handler_coroutines_then_runs_done_cb(nats_server):
    async def main():
        events: List[str] = []
        async with await aio.connect(nats_server) as nc, await aio.connect(nats_server) as requester:
            async def done(service):
                await asyncio.sleep(0)
                events.append(f"done stopped={service.stopped}")

            svc = await aio.micro.add_service(nc, name="slow", version="1.0.0", done_cb=done)

            @svc.endpoint("slow", subject="slow.op")
            async def slow(req):
                await asyncio.sleep(0.2)
                events.append("handled")
                await req.respond(b"late")

            await nc.flush()
            pending = asyncio.ensure_future(requester.request("slow.op", b"", timeout=5))
            await until(lambda: svc.stats()["endpoints"][0]["num_requests"] == 1, what="received")
            await svc.stop()
            assert events == ["handled", "done stopped=True"]
            assert (await pending).data == b"late"
            assert svc.stopped
            with pytest.raises(swiftnats.IllegalStateError):
                svc.add_endpoint("more", lambda req: None)
        assert_no_other_tasks()

    run(main())


def test_a_handler_stops_its_own_service(nats_server):
    async def main():
        done = asyncio.Event()
        async with await aio.connect(nats_server) as nc:
            svc = await aio.micro.add_service(nc, name="selfstop", version="1.0.0", done_cb=lambda s: done.set())

            @svc.endpoint("quit", subject="selfstop.quit")
            async def quit_(req):
                await req.respond(b"bye")
                await svc.stop()  # returns without waiting for this very handler
                assert not done.is_set()

            assert (await nc.request("selfstop.quit", b"", timeout=5)).data == b"bye"
            await asyncio.wait_for(done.wait(), 5)
            assert svc.stopped

    run(main())


def test_unanswered_and_later_answers(nats_server):
    async def main():
        kept: List[aio.micro.Request] = []
        async with await aio.connect(nats_server) as nc:
            async with await aio.micro.add_service(nc, name="later", version="1.0.0") as svc:
                @svc.endpoint("keep", subject="later.keep")
                async def keep(req):
                    kept.append(req)  # not answered here: as in the sync module, it stays open

                request = asyncio.ensure_future(nc.request("later.keep", b"", timeout=5))
                await until(lambda: kept, what="handled")
                await asyncio.sleep(0.05)
                assert not request.done()
                kept[0].respond(b"now")  # answered later, without await
                assert (await request).data == b"now"
                with pytest.raises(swiftnats.TimeoutError):
                    await nc.request("later.keep", b"", timeout=0.2)  # never answered
                stats = svc.stats()["endpoints"][0]
                # the kept one is in flight (stop() would wait for it) until it is dropped
                assert stats["num_requests"] == 1 and stats["num_errors"] == 0
                assert stats["processing_time"] >= 50_000_000  # the first: until its answer
                kept.clear()
                await until(lambda: svc.stats()["endpoints"][0]["num_requests"] == 2, what="dropped, counted")
                assert svc.stats()["endpoints"][0]["num_errors"] == 0

    run(main())


def test_close_of_the_client_ends_the_handler_tasks(nats_server):
    async def main():
        started = asyncio.Event()
        done = []
        nc = await aio.connect(nats_server)
        requester = await aio.connect(nats_server)
        svc = await aio.micro.add_service(nc, name="closing", version="1.0.0", done_cb=lambda s: done.append(1))

        @svc.endpoint("forever", subject="closing.forever")
        async def forever(req):
            started.set()
            await asyncio.sleep(60)

        await nc.flush()
        pending = asyncio.ensure_future(requester.request("closing.forever", b"", timeout=0.5))
        await asyncio.wait_for(started.wait(), 5)
        begun = time.monotonic()
        await nc.close()  # cancels the handler task: no task is left behind
        assert time.monotonic() - begun < 3
        await until(lambda: svc.stopped, what="stopped with its connection")
        await until(lambda: done, what="done_cb")
        with pytest.raises((swiftnats.TimeoutError, swiftnats.NoRespondersError)):
            await pending
        await requester.close()
        await svc.stop()  # after the connection: nothing to do
        assert_no_other_tasks()

    run(main())


def test_type_checks(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async def stats_handler(name):
                return {}

            with pytest.raises(TypeError):
                await aio.micro.add_service(nc, name="x", version="1.0.0", stats_handler=stats_handler)
            with pytest.raises(TypeError):
                await aio.micro.add_service(nc, name="x", version="1.0.0", done_cb=42)
            with pytest.raises(swiftnats.InvalidArgumentError):
                await aio.micro.add_service(nc, name="bad name", version="1.0.0")
            async with await aio.micro.add_service(nc, name="x", version="1.0.0",
                                                   stats_handler=lambda ep: {"ep": ep}) as svc:
                with pytest.raises(TypeError):
                    svc.add_endpoint("e", 42)
                with pytest.raises(TypeError):
                    with svc:
                        pass
                svc.add_endpoint("e", lambda req: None)
                assert svc.stats()["endpoints"][0]["data"] == {"ep": "e"}

    run(main())


def test_async_handlers_on_a_sync_client(nc):
    """On a sync client the plain handlers run on the library's threads, the coroutines on the
    loop that was running at add_service."""

    async def main():
        loop_thread = threading.get_ident()
        threads = {}
        async with await aio.micro.add_service(nc, name="mixed", version="1.0.0") as svc:
            @svc.endpoint("co", subject="mixed.co")
            async def co(req):
                threads["co"] = threading.get_ident()
                await req.respond(b"co")

            @svc.endpoint("plain", subject="mixed.plain")
            def plain(req):
                threads["plain"] = threading.get_ident()
                req.respond(b"plain")

            assert (await asyncio.to_thread(nc.request, "mixed.co", b"", 5)).data == b"co"
            assert (await asyncio.to_thread(nc.request, "mixed.plain", b"", 5)).data == b"plain"
            assert [p.name for p in await aio.micro.ping(nc, "mixed", max_replies=1)] == ["mixed"]
        assert threads["co"] == loop_thread and threads["plain"] != loop_thread

    run(main())


def test_sync_discovery_sees_an_aio_service(nats_server):
    """Interop: the sync module (another connection, another thread) discovers and calls a
    service whose handlers run on an asyncio loop."""

    async def main():
        async with await aio.connect(nats_server) as nc:
            async with await aio.micro.add_service(nc, name="seen", version="3.1.4") as svc:
                @svc.endpoint("hello", subject="seen.hello")
                async def hello(req):
                    await req.respond(b"hello " + req.data)

                def from_a_sync_client():
                    with swiftnats.connect(nats_server) as other:
                        assert other.request("seen.hello", b"sync", timeout=5).data == b"hello sync"
                        return micro.info(other, "seen", max_replies=1)

                [found] = await asyncio.to_thread(from_a_sync_client)
                assert (found.name, found.version, found.id) == ("seen", "3.1.4", svc.id)

    run(main())


def test_drain_of_the_client_answers_what_the_handlers_received(nats_server):
    async def main():
        started = asyncio.Event()
        done = []
        nc = await aio.connect(nats_server)
        async with await aio.connect(nats_server) as requester:
            svc = await aio.micro.add_service(nc, name="draining", version="1.0.0", done_cb=lambda s: done.append(1))

            @svc.endpoint("slow", subject="draining.slow")
            async def slow(req):
                started.set()
                await asyncio.sleep(0.2)
                await req.respond(b"finished")

            await nc.flush()
            pending = asyncio.ensure_future(requester.request("draining.slow", b"", timeout=5))
            await asyncio.wait_for(started.wait(), 5)
            await nc.drain()  # stops the service first: its handler coroutine answers
            assert (await pending).data == b"finished"
            assert svc.stopped and done == [1] and nc.is_closed
        assert_no_other_tasks()

    run(main())
