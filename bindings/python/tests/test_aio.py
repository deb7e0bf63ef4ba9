"""The asyncio client: run by the event loop on the connection's dispatch queue (no library
thread runs its Python code, no thread or task per subscription), callbacks plain or ``async
def``, requests and flushes completed as futures, drain and close leaving no task behind, and
interoperation with nats-py."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
from typing import Any, List

import pytest

import swiftnats
from swiftnats import aio
from conftest import NATSServer, free_port, nats_server_bin

FAST = dict(reconnect_time_wait=0.05, reconnect_jitter=0, max_reconnect_attempts=-1)


def run(coro):
    async def runner():
        asyncio.current_task().set_name("test-runner")
        return await asyncio.wait_for(coro, 30)

    return asyncio.run(runner())


def _process_threads() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def assert_no_other_tasks() -> None:
    """Only the test's own task (and wait_for's wrapper) is left on the loop."""
    me = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not me and not t.done() and t.get_name() != "test-runner"]
    assert others == [], others


async def until(predicate, timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {what or predicate}")
        await asyncio.sleep(0.005)


# -- publish / subscribe ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["coroutine-cb", "plain-cb"])
def test_aio_pubsub_and_request(nats_server, kind):
    async def main():
        async with await aio.connect(nats_server, name="aio") as nc:
            assert nc.is_connected and repr(nc).startswith("<aio.Client connected")
            got = []
            done = asyncio.Event()

            if kind == "coroutine-cb":
                async def cb(msg):
                    got.append(msg.data)
                    await asyncio.sleep(0)
                    if len(got) == 10:
                        done.set()
            else:
                def cb(msg):
                    got.append(msg.data)
                    if len(got) == 10:
                        done.set()

            await nc.subscribe("aio.data", cb=cb)

            async def echo(msg):
                await msg.respond(b"re:" + msg.data)

            await nc.subscribe("aio.echo", cb=echo)
            await nc.flush()
            for i in range(10):
                await nc.publish("aio.data", b"%d" % i)
            await asyncio.wait_for(done.wait(), 5)
            assert got == [b"%d" % i for i in range(10)]  # in order
            reply = await nc.request("aio.echo", b"x", timeout=5.0)
            assert isinstance(reply, aio.Msg) and reply.data == b"re:x"
        assert nc.is_closed
        assert_no_other_tasks()

    run(main())


@pytest.mark.parametrize("kind", ["plain", "coroutine", "lambda-returning-coroutine", "next_msg"])
def test_order_of_many_messages_on_the_loop_thread(nats_server, kind):
    count = 5000

    async def main():
        loop_thread = threading.get_ident()
        threads = set()
        got: List[int] = []
        done = asyncio.Event()

        def record(msg):
            threads.add(threading.get_ident())
            got.append(int(msg.data))
            if len(got) == count:
                done.set()

        async def acb(msg):
            record(msg)

        async with await aio.connect(nats_server) as nc, await aio.connect(nats_server) as pub:
            if kind == "plain":
                sub = await nc.subscribe("order", cb=record)
            elif kind == "coroutine":
                sub = await nc.subscribe("order", cb=acb)
            elif kind == "lambda-returning-coroutine":
                sub = await nc.subscribe("order", cb=lambda m: acb(m))
            else:
                sub = await nc.subscribe("order")
            await nc.flush()
            for i in range(count):
                await pub.publish("order", b"%d" % i)
            await pub.flush()
            if kind == "next_msg":
                for _ in range(count):
                    record(await sub.next_msg(timeout=5))
            await asyncio.wait_for(done.wait(), 20)
            assert got == list(range(count))
            assert threads == {loop_thread}
            await until(lambda: sub.delivered == count, what=f"delivered {sub.delivered}")
            assert sub.pending == (0, 0) and sub.dropped == 0
        assert_no_other_tasks()

    run(main())


def test_coroutine_callbacks_one_at_a_time_per_subscription(nats_server):
    async def main():
        inside = {"a": 0, "b": 0}
        most = {"a": 0, "b": 0}
        both = []
        seen = {"a": [], "b": []}
        done = asyncio.Event()

        def make(name):
            async def cb(msg):
                inside[name] += 1
                most[name] = max(most[name], inside[name])
                both.append(inside["a"] + inside["b"])
                await asyncio.sleep(0.001)
                seen[name].append(int(msg.data))
                inside[name] -= 1
                if len(seen["a"]) == 30 and len(seen["b"]) == 30:
                    done.set()
            return cb

        async with await aio.connect(nats_server) as nc:
            await nc.subscribe("one.a", cb=make("a"))
            await nc.subscribe("one.b", cb=make("b"))
            await nc.flush()
            for i in range(30):
                await nc.publish("one.a", b"%d" % i)
                await nc.publish("one.b", b"%d" % i)
            await asyncio.wait_for(done.wait(), 10)
            assert most == {"a": 1, "b": 1}  # one at a time per subscription
            assert max(both) == 2  # the two subscriptions do run side by side
            assert seen == {"a": list(range(30)), "b": list(range(30))}
            # the consumer task exists only while there is work
            await until(lambda: not nc._consumers, what="consumer tasks ended")
            assert_no_other_tasks()

    run(main())


def test_queue_group_and_headers(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            a, b = [], []
            await nc.subscribe("qg", queue="workers", cb=lambda m: a.append(m))
            await nc.subscribe("qg", queue="workers", cb=lambda m: b.append(m))
            hdr = await nc.subscribe("hdr")
            await nc.flush()
            for i in range(100):
                await nc.publish("qg", b"%d" % i)
            await nc.publish("hdr", b"h", headers={"K": ["1", "2"], "Other": "x"})
            msg = await hdr.next_msg(timeout=5)
            assert msg.headers == {"K": "1", "Other": "x"} and msg.header_values("K") == ["1", "2"]
            await nc.flush()
            await until(lambda: len(a) + len(b) == 100)
            assert sorted(int(m.data) for m in a + b) == list(range(100))

    run(main())


# -- next_msg --------------------------------------------------------------------------------


def test_aio_next_msg_timeout_and_iteration(nats_server):
    async def main():
        nc = await aio.connect(nats_server)
        try:
            sub = await nc.subscribe("aio.sync", max_msgs=3)
            with pytest.raises(asyncio.TimeoutError):
                await sub.next_msg(timeout=0.1)
            with pytest.raises(swiftnats.TimeoutError):
                await sub.next_msg(timeout=0.05)
            for i in range(5):
                await nc.publish("aio.sync", b"%d" % i)
            await nc.flush()
            assert [m.data async for m in sub.messages] == [b"0", b"1", b"2"]
            with pytest.raises(swiftnats.MaxDeliveredError):
                await sub.next_msg(timeout=0.1)
        finally:
            await nc.close()

    run(main())


def test_next_msg_ends_on_unsubscribe_and_close(nats_server):
    async def main():
        nc = await aio.connect(nats_server)
        sub = await nc.subscribe("nm.unsub")
        waiting = asyncio.ensure_future(sub.next_msg(timeout=None))
        await asyncio.sleep(0.05)
        await sub.unsubscribe()
        with pytest.raises(swiftnats.InvalidSubscriptionError):
            await waiting
        other = await nc.subscribe("nm.close")
        collected = asyncio.ensure_future(asyncio.wait_for(_collect(other), 10))
        await nc.publish("nm.close", b"1")
        await nc.flush()
        await until(lambda: other.delivered == 1)
        waiting = asyncio.ensure_future(other.next_msg(timeout=None))
        await asyncio.sleep(0.05)
        await nc.close()
        assert await collected == [b"1"]
        with pytest.raises(swiftnats.ConnectionClosedError):
            await waiting
        assert_no_other_tasks()

    run(main())


async def _collect(sub) -> List[bytes]:
    out = []
    try:
        out.append((await sub.next_msg(timeout=5)).data)
    except swiftnats.SwiftNatsError:
        pass
    return out


def test_callback_subscription_has_no_next_msg(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            sub = await nc.subscribe("x", cb=lambda m: None)
            with pytest.raises(swiftnats.IllegalStateError):
                await sub.next_msg()

    run(main())


# -- request / flush -------------------------------------------------------------------------


def test_request_no_responders_timeout_and_headers(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            with pytest.raises(swiftnats.NoRespondersError):
                await nc.request("aio.nobody", b"", timeout=5.0)

            async def silent(msg):
                pass

            await nc.subscribe("aio.silent", cb=silent)

            async def echo_headers(msg):
                await msg.respond(msg.data, headers={"Seen": (msg.headers or {}).get("Sent", "-")})

            await nc.subscribe("aio.hdr", cb=echo_headers)
            await nc.flush()
            started = time.monotonic()
            with pytest.raises(swiftnats.TimeoutError) as info:
                await nc.request("aio.silent", b"", timeout=0.2)
            assert isinstance(info.value, asyncio.TimeoutError)
            assert 0.15 < time.monotonic() - started < 2
            reply = await nc.request("aio.hdr", b"p", timeout=5, headers={"Sent": "yes"})
            assert reply.data == b"p" and reply.headers == {"Seen": "yes"}
            # many in flight from one task
            replies = await asyncio.gather(*(nc.request("aio.hdr", b"%d" % i, timeout=5) for i in range(200)))
            assert [r.data for r in replies] == [b"%d" % i for i in range(200)]
            with pytest.raises(swiftnats.InvalidSubjectError):
                await nc.request("bad subject", b"")
            assert swiftnats._runtime.lookup  # the registry holds no request any more:
            assert not any(isinstance(v, tuple) for v in list(swiftnats._runtime._registry.values()))

    run(main())


def test_cancelled_request_and_late_reply(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async def slow(msg):
                await asyncio.sleep(0.2)
                await msg.respond(b"late")

            await nc.subscribe("aio.slow", cb=slow)
            await nc.flush()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(nc.request("aio.slow", b"", timeout=5), 0.05)
            await asyncio.sleep(0.4)  # the late reply finds a cancelled future: ignored
            assert (await nc.request("aio.slow", b"", timeout=5)).data == b"late"

    run(main())


def test_flush_rtt_and_closed_errors(nats_server):
    async def main():
        nc = await aio.connect(nats_server)
        await nc.flush()
        await nc.flush(timeout=1)
        rtt = await nc.rtt()
        assert 0 < rtt < 1
        with pytest.raises(swiftnats.InvalidArgumentError):
            await nc.flush(timeout=0)
        await nc.close()
        assert nc.is_closed and nc.state == swiftnats.ConnState.CLOSED
        with pytest.raises(swiftnats.ConnectionClosedError):
            await nc.flush()
        with pytest.raises(swiftnats.ConnectionClosedError):
            await nc.request("x", b"")
        with pytest.raises(swiftnats.ConnectionClosedError):
            await nc.publish("x", b"")
        with pytest.raises(swiftnats.ConnectionClosedError):
            await nc.subscribe("x")
        await nc.close()  # idempotent

    run(main())


def test_pending_request_fails_when_closed(nats_server):
    async def main():
        nc = await aio.connect(nats_server)
        await nc.subscribe("aio.never", cb=lambda m: None)
        await nc.flush()
        waiting = asyncio.ensure_future(nc.request("aio.never", b"", timeout=10))
        await asyncio.sleep(0.05)
        await nc.close()
        with pytest.raises(swiftnats.ConnectionClosedError):
            await waiting

    run(main())


# -- callbacks calling the client ------------------------------------------------------------


def test_request_flush_and_subscribe_from_callbacks(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async def double(msg):
                await msg.respond(b"%d" % (2 * int(msg.data)))

            async def quadruple(msg):  # a request from inside a callback, on the same connection
                half = await nc.request("calc.double", msg.data, timeout=5)
                await nc.flush()
                full = await nc.request("calc.double", half.data, timeout=5)
                await msg.respond(full.data)

            await nc.subscribe("calc.double", cb=double)
            await nc.subscribe("calc.quad", cb=quadruple)
            await nc.flush()
            assert (await nc.request("calc.quad", b"5", timeout=5)).data == b"20"
            results = await asyncio.gather(*(nc.request("calc.quad", b"%d" % i, timeout=5) for i in range(50)))
            assert [int(r.data) for r in results] == [4 * i for i in range(50)]

            # a chain of subscriptions made and requested from callbacks
            async def level(msg):
                depth = int(msg.data)
                if depth == 0:
                    await msg.respond(b"bottom")
                    return
                subject = f"chain.{depth}"
                if not hasattr(level, subject):
                    setattr(level, subject, True)
                    await nc.subscribe(subject, cb=level)
                    await nc.flush()
                reply = await nc.request(subject, b"%d" % (depth - 1), timeout=5)
                await msg.respond(reply.data + b"<")

            await nc.subscribe("chain.top", cb=level)
            await nc.flush()
            assert (await nc.request("chain.top", b"5", timeout=10)).data == b"bottom<<<<<"

    run(main())


@pytest.mark.parametrize("how", ["unsubscribe", "close", "drain"])
def test_callback_ends_its_own_subscription(nats_server, how):
    async def main():
        async with await aio.connect(nats_server) as nc:
            got = []
            holder = {}

            async def cb(msg):
                got.append(msg.data)
                if len(got) == 1:
                    await getattr(holder["sub"], how)()
                    await asyncio.sleep(0.05)

            holder["sub"] = await nc.subscribe("self.end", cb=cb)
            await nc.flush()
            for i in range(5):
                await nc.publish("self.end", b"%d" % i)
            await nc.flush()
            # A flush does not promise that the server has sent a connection its own messages
            # (nats-py sees the same): wait for the first, then for the callbacks to settle.
            await until(lambda: got, what="the first message")
            await until(lambda: not nc._consumers, what="consumer ended")
            if how == "drain":
                assert got == [b"%d" % i for i in range(5)]  # what was in flight still runs
            else:
                assert got == [b"0"]
            assert not holder["sub"].is_valid
            assert_no_other_tasks()

    run(main())


def test_close_from_a_callback(nats_server):
    async def main():
        closed = asyncio.Event()
        nc = await aio.connect(nats_server, closed_cb=closed.set)

        async def cb(msg):
            await nc.close()
            await msg.respond(b"unreachable")  # pragma: no cover - closed

        other = []
        await nc.subscribe("close.me", cb=cb)
        await nc.subscribe("close.other", cb=lambda m: other.append(m))
        await nc.flush()
        await nc.publish("close.me", b"")
        await asyncio.wait_for(closed.wait(), 5)
        await until(lambda: not nc._consumers and not nc._tasks)
        assert nc.is_closed
        assert_no_other_tasks()

    run(main())


def test_exception_in_callback_goes_to_error_cb(nats_server):
    async def main():
        events = []
        closed = asyncio.Event()

        async def on_closed():
            events.append("closed")
            closed.set()

        async def on_error(err, sub):
            events.append((type(err).__name__, sub.subject if sub else None))

        nc = await aio.connect(nats_server, closed_cb=on_closed, error_cb=on_error)

        async def bad(msg):
            raise RuntimeError("boom")

        def bad_plain(msg):
            raise ValueError("bang")

        await nc.subscribe("aio.bad", cb=bad)
        await nc.subscribe("aio.bad.plain", cb=bad_plain)
        await nc.flush()
        await nc.publish("aio.bad", b"")
        await nc.publish("aio.bad.plain", b"")
        await until(lambda: len(events) == 2, what=f"{events}")
        assert sorted(events) == [("RuntimeError", "aio.bad"), ("ValueError", "aio.bad.plain")]
        await nc.close()
        assert closed.is_set()  # closed_cb has run when close() returns
        assert events[-1] == "closed"
        assert_no_other_tasks()

    run(main())


def test_error_cb_with_one_argument_and_logging(nats_server, caplog):
    async def main():
        errors = []
        nc = await aio.connect(nats_server, error_cb=lambda e: errors.append(e))  # nats.py's shape
        await nc.subscribe("e1", cb=lambda m: 1 / 0)
        await nc.flush()
        await nc.publish("e1", b"")
        await until(lambda: errors)
        assert isinstance(errors[0], ZeroDivisionError)
        await nc.close()

        quiet = await aio.connect(nats_server)  # no error_cb: logged
        await quiet.subscribe("e2", cb=lambda m: 1 / 0)
        await quiet.flush()
        await quiet.publish("e2", b"")
        await until(lambda: any("exception in a callback" in r.message for r in caplog.records))
        await quiet.close()

    with caplog.at_level(logging.ERROR, logger="swiftnats"):
        run(main())


def test_slow_coroutine_callback_drops_past_the_pending_limits(nats_server):
    async def main():
        errors = []
        release = asyncio.Event()
        nc = await aio.connect(nats_server, error_cb=lambda e, s: errors.append((e, s)))

        async def stuck(msg):
            await release.wait()

        try:
            sub = await nc.subscribe("burst", cb=stuck, pending_msgs_limit=5)
            await nc.flush()
            for i in range(50):
                await nc.publish("burst", b"%d" % i)
            await nc.flush()
            await until(lambda: errors, what="slow consumer error")
            err, where = errors[0]
            assert isinstance(err, swiftnats.SlowConsumerError) and where is sub
            await until(lambda: sub.dropped + sub.pending[0] + 1 == 50, what=f"{sub.dropped} {sub.pending}")
            release.set()
            await until(lambda: sub.delivered + sub.dropped == 50, what=f"{sub.delivered}+{sub.dropped}")
            assert sub.dropped > 0
            # Once per episode and buffer, never per message: the subscription's Python buffer at
            # most once (the callback is stuck throughout), the library's queue once each time the
            # loop fell behind the burst (more than once on a loaded machine).
            slow = [(e, s) for e, s in errors if isinstance(e, swiftnats.SlowConsumerError)]
            assert all(s is sub for _, s in slow), slow
            assert len([e for e, _ in slow if "past the pending limits" in e.detail]) <= 1, slow
            assert 1 <= len(slow) < sub.dropped, (slow, sub.dropped)
        finally:
            release.set()
            await nc.close()

    run(main())


# -- connection callbacks --------------------------------------------------------------------


@pytest.fixture
def restartable(tmp_path):
    port = free_port()
    servers: List[NATSServer] = []

    def start() -> NATSServer:
        srv = NATSServer(tmp_path / f"nats-{len(servers)}", ["-p", str(port)])
        servers.append(srv)
        srv.start()
        return srv

    start()
    yield start, servers
    for srv in servers:
        srv.stop()


def _recorder(kind: str, events: List[Any], loop_thread: List[int]):
    """A callback of @p kind (plain / coroutine) that notes its name, its arguments and
    whether it ran on the loop's thread."""

    def make(name):
        if kind == "plain":
            def cb(*args):
                events.append((name, threading.get_ident() == loop_thread[0], args))
        else:
            async def cb(*args):
                await asyncio.sleep(0)
                events.append((name, threading.get_ident() == loop_thread[0], args))
        return cb

    return make


@pytest.mark.parametrize("kind", ["plain", "coroutine"])
def test_connection_callbacks_run_on_the_loop(restartable, kind):
    start, servers = restartable

    async def main():
        loop_thread = [threading.get_ident()]
        events: List[Any] = []
        make = _recorder(kind, events, loop_thread)
        nc = await aio.connect(
            servers[0].url,
            disconnected_cb=make("disconnected"),
            reconnected_cb=make("reconnected"),
            closed_cb=make("closed"),
            error_cb=make("error"),
            **FAST,
        )
        sub = await nc.subscribe("rc", cb=lambda m: 1 / 0)
        await nc.flush()
        await nc.publish("rc", b"")
        await until(lambda: any(e[0] == "error" for e in events), what=f"{events}")
        servers[0].stop()
        await until(lambda: any(e[0] == "disconnected" for e in events), what=f"{events}")
        assert nc.is_reconnecting and not nc.is_connected and nc.connected_url is None
        start()
        await until(lambda: any(e[0] == "reconnected" for e in events), timeout=10, what=f"{events}")
        await until(lambda: nc.is_connected)
        got = []
        await nc.subscribe("rc.after", cb=lambda m: got.append(m.data))
        await nc.publish("rc.after", b"again")
        await nc.flush()
        await until(lambda: got == [b"again"])
        await nc.close()
        names = [e[0] for e in events]
        assert names == ["error", "disconnected", "reconnected", "closed"], events
        assert all(on_loop for _, on_loop, _ in events), events
        assert isinstance(events[0][2][0], ZeroDivisionError) and events[0][2][1] is sub
        # a callback taking arguments gets the reason (None after a close that lost no server)
        assert isinstance(events[1][2][0], swiftnats.SwiftNatsError) and events[3][2] == (None,)
        assert events[2][2] == ()
        assert_no_other_tasks()

    run(main())


@pytest.mark.parametrize("kind", ["plain", "coroutine"])
def test_closed_by_the_server_side_with_reasons(server, kind):
    async def main():
        loop_thread = [threading.get_ident()]
        events: List[Any] = []
        make = _recorder(kind, events, loop_thread)
        nc = await aio.connect(
            server.url, allow_reconnect=False,
            disconnected_cb=lambda reason: make("disconnected")(reason),
            closed_cb=lambda reason: make("closed")(reason),
        )
        sub = await nc.subscribe("gone", cb=lambda m: None)
        server.stop()
        await until(lambda: [e[0] for e in events] == ["disconnected", "closed"], what=f"{events}")
        assert all(on_loop for _, on_loop, _ in events)
        assert isinstance(events[0][2][0], swiftnats.SocketError)
        await until(lambda: nc._shutdown_task is not None and nc._shutdown_task.done())
        assert nc.is_closed and not sub.is_valid
        assert not nc._watching and nc._queue.ptr is None  # the client ended itself
        await nc.close()
        assert_no_other_tasks()

    run(main())


@pytest.fixture
def cluster(tmp_path):
    from test_reconnect import Cluster

    made: List[Cluster] = []

    def make(size: int) -> Cluster:
        made.append(Cluster(tmp_path, size))
        return made[-1]

    yield make
    for c in made:
        c.stop()


@pytest.mark.parametrize("kind", ["plain", "coroutine"])
def test_discovered_servers_and_lame_duck_mode_callbacks(cluster, kind):
    cl = cluster(2)
    cl.start(0)

    async def main():
        loop_thread = [threading.get_ident()]
        events: List[Any] = []
        make = _recorder(kind, events, loop_thread)
        nc = await aio.connect(
            cl.url(0), dont_randomize=True,
            discovered_server_cb=make("discovered"),
            lame_duck_mode_cb=make("lame_duck"),
            reconnected_cb=make("reconnected"),
            **FAST,
        )
        assert nc.servers == [cl.url(0)] and nc.discovered_servers == []
        await asyncio.to_thread(cl.start, 1)
        await until(lambda: any(e[0] == "discovered" for e in events), timeout=10, what=f"{events}")
        assert nc.discovered_servers == [cl.url(1)]
        assert sorted(nc.servers) == sorted([cl.url(0), cl.url(1)])
        subprocess.run([nats_server_bin(), "--signal", f"ldm={cl.nodes[0].proc.pid}"], check=True)
        await until(lambda: any(e[0] == "lame_duck" for e in events), timeout=10, what=f"{events}")
        await until(lambda: any(e[0] == "reconnected" for e in events), timeout=10, what=f"{events}")
        assert nc.connected_url == cl.url(1)
        assert all(on_loop for _, on_loop, _ in events), events
        await nc.close()
        assert_no_other_tasks()

    try:
        run(main())
    finally:
        cl.nodes[0].proc.kill()  # a lame duck takes its time to stop


def test_callback_type_checks(nats_server):
    async def main():
        with pytest.raises(TypeError):
            await aio.connect(nats_server, closed_cb=42)

        async def delay(n):
            return 0.1

        with pytest.raises(TypeError):
            await aio.connect(nats_server, custom_reconnect_delay=delay)

    run(main())


# -- drain and close -------------------------------------------------------------------------


def test_drain_runs_every_coroutine_callback_and_leaves_no_task(nats_server):
    async def main():
        nc = await aio.connect(nats_server)
        requester = await aio.connect(nats_server)
        handled = []
        waiting = []

        async def slow_responder(msg):
            await asyncio.sleep(0.01)
            handled.append(msg.data)
            await msg.respond(b"ok:" + msg.data)

        async def slow_worker(msg):
            await asyncio.sleep(0.005)
            handled.append(msg.data)

        await nc.subscribe("drain.rpc", cb=slow_responder)
        await nc.subscribe("drain.work", cb=slow_worker)
        queued = await nc.subscribe("drain.queued")
        await nc.flush()
        replies = [asyncio.ensure_future(requester.request("drain.rpc", b"%d" % i, timeout=10)) for i in range(20)]
        for i in range(20):
            await requester.publish("drain.work", b"w%d" % i)
        await requester.publish("drain.queued", b"q")
        await requester.publish("drain.queued", b"unread")
        await requester.flush()
        await until(lambda: handled, what="started")
        reader = asyncio.ensure_future(queued.next_msg(timeout=5))
        assert not nc.is_draining
        draining = asyncio.ensure_future(nc.drain(timeout=10))
        await until(lambda: nc.is_draining or draining.done())
        with pytest.raises(swiftnats.DrainingError):
            await nc.drain()
        with pytest.raises(swiftnats.DrainingError):
            await nc.subscribe("drain.late")
        await draining
        assert nc.is_closed
        assert len(handled) == 40  # every callback ran before the drain ended
        assert [r.data for r in await asyncio.gather(*replies)] == [b"ok:%d" % i for i in range(20)]
        assert (await reader).data == b"q"
        # in flight for next_msg: still readable after the drain, then the end
        assert (await queued.next_msg(timeout=1)).data == b"unread"
        with pytest.raises(swiftnats.ConnectionClosedError):
            await queued.next_msg(timeout=1)
        await requester.close()
        assert_no_other_tasks()
        with pytest.raises(swiftnats.ConnectionClosedError):
            await nc.drain()

    run(main())


def test_subscription_drain_waits_for_its_callbacks(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            handled = []

            async def slow(msg):
                await asyncio.sleep(0.005)
                handled.append(msg.data)

            sub = await nc.subscribe("sdrain", cb=slow)
            other = []
            await nc.subscribe("sdrain.other", cb=lambda m: other.append(m))
            await nc.flush()
            for i in range(30):
                await nc.publish("sdrain", b"%d" % i)
            await nc.flush()
            await until(lambda: handled)
            await sub.drain(timeout=10)
            assert handled == [b"%d" % i for i in range(30)]
            assert not sub.is_valid and not nc._consumers
            await nc.publish("sdrain.other", b"still")  # the connection goes on
            await nc.flush()
            await until(lambda: len(other) == 1)
            assert_no_other_tasks()

    run(main())


def test_close_cancels_running_callbacks_and_leaves_no_task(nats_server):
    async def main():
        nc = await aio.connect(nats_server)
        started = asyncio.Event()
        cancelled = []

        async def forever(msg):
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.append(msg.data)
                raise

        sub = await nc.subscribe("forever", cb=forever)
        await nc.flush()
        for i in range(3):
            await nc.publish("forever", b"%d" % i)
        await asyncio.wait_for(started.wait(), 5)
        await until(lambda: sub.pending[0] == 2, what=f"pending {sub.pending}")
        await nc.close()
        assert cancelled == [b"0"]
        assert_no_other_tasks()
        assert not nc._watching and nc._queue.ptr is None

    run(main())


_NO_PENDING_TASK_SCRIPT = r"""
import asyncio, sys, gc
from swiftnats import aio

async def main(url, how):
    nc = await aio.connect(url, closed_cb=lambda: print("CLOSED_CB", flush=True))
    async def slow(msg):
        await asyncio.sleep(0.01)
    async def hang(msg):
        await asyncio.sleep(3600)
    await nc.subscribe("a", cb=slow)
    await nc.subscribe("b", cb=hang)
    sub = await nc.subscribe("c")
    await nc.flush()
    for i in range(10):
        await nc.publish("a", b"")
        await nc.publish("b", b"")
        await nc.publish("c", b"")
    await nc.flush()
    await asyncio.sleep(0.05)
    if how == "close":
        await nc.close()
    elif how == "forget":  # closed at exit, after the loop: a plain closed_cb still runs
        pass
    else:
        try:
            await nc.drain(timeout=0.5)  # the hanging callback makes it time out
        except TimeoutError:
            pass
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    print("OTHERS", others)

asyncio.run(main(sys.argv[1], sys.argv[2]))
gc.collect()
print("DONE")
"""


@pytest.mark.parametrize("how", ["close", "drain", "forget"])
def test_no_task_destroyed_pending_under_warnings_as_errors(nats_server, how, tmp_path):
    script = tmp_path / "no_pending.py"
    script.write_text(_NO_PENDING_TASK_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", str(script), nats_server, how],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert out.returncode == 0, out.stderr
    if how == "forget":  # asyncio.run cancelled the running callback; the client closes at exit
        assert "DONE\nCLOSED_CB" in out.stdout, out.stdout + out.stderr
    else:
        assert "CLOSED_CB\nOTHERS []" in out.stdout and "DONE" in out.stdout, out.stdout + out.stderr
    assert "Task was destroyed" not in out.stderr and "never awaited" not in out.stderr, out.stderr
    assert "Traceback" not in out.stderr, out.stderr


# -- scale -----------------------------------------------------------------------------------


def test_ten_thousand_subscriptions_add_no_threads(nats_server):
    count = 10_000

    async def main():
        async with await aio.connect(nats_server) as nc:
            await nc.flush()
            before_python, before_process = threading.active_count(), _process_threads()
            got = []
            plain = lambda m: got.append(m.subject)  # noqa: E731

            async def coro(msg):
                got.append(msg.subject)

            for i in range(count):
                await nc.subscribe(f"scale.{i}", cb=plain if i % 2 else coro)
            await nc.flush()
            for i in range(count):
                await nc.publish(f"scale.{i}", b"x")
            await nc.flush()
            await until(lambda: len(got) == count, timeout=30, what=f"{len(got)} of {count}")
            assert sorted(got) == sorted(f"scale.{i}" for i in range(count))
            assert threading.active_count() == before_python, "a Python thread per subscription"
            assert _process_threads() - before_process <= 2, _process_threads() - before_process
            await until(lambda: not nc._consumers)
        assert_no_other_tasks()

    run(main())


# -- the loop owns its connection's socket ---------------------------------------------------


def _publish_from_another_thread(url: str, subject: str, count: int) -> None:
    """Publishes and flushes on a thread of its own while the loop's thread sleeps without
    entering the library (a library wait on the loop's thread would read its sockets)."""

    def publish() -> None:
        with swiftnats.connect(url) as other:
            for i in range(count):
                other.publish(subject, b"%d" % i)
            other.flush(timeout=2)

    thread = threading.Thread(target=publish)
    thread.start()
    while thread.is_alive():
        time.sleep(0.01)


def test_the_loop_reads_its_socket_itself(nats_server):
    """An aio connection's socket is read by its event loop (read on dispatch queue): while
    the loop is busy nothing reads it (no library thread counts the messages meanwhile), and
    once the loop turns the messages arrive, on it."""

    async def main():
        async with await aio.connect(nats_server) as nc:
            got: List[Any] = []
            await nc.subscribe("owner.reads", cb=lambda m: got.append((m.data, threading.get_ident())))
            await nc.flush()
            _publish_from_another_thread(nats_server, "owner.reads", 5)
            time.sleep(0.05)
            assert nc.stats["in_msgs"] == 0, "a library thread read the loop's socket"
            await until(lambda: len(got) == 5)
            assert [data for data, _ in got] == [b"%d" % i for i in range(5)]
            assert {ident for _, ident in got} == {threading.get_ident()}
            assert nc.stats["in_msgs"] == 5

    run(main())


def test_a_blocking_call_on_the_loop_reads_its_socket(nats_server):
    """A blocking library call made on the loop's thread (what asyncio code should not do,
    but may) still gets its answer: its wait reads the sockets the loop would have read."""

    async def main():
        with swiftnats.connect(nats_server) as responder:
            responder.subscribe("owner.svc", cb=lambda m: m.respond(b"pong:" + m.data))
            responder.flush()
            async with await aio.connect(nats_server) as nc:
                await nc.flush()
                reply = nc.sync_client.request("owner.svc", b"sync", timeout=2)  # blocks the loop
                assert reply.data == b"pong:sync"
                nc.sync_client.flush(timeout=2)
                assert (await nc.request("owner.svc", b"async", timeout=2)).data == b"pong:async"

    run(main())


# -- interoperation with nats-py -------------------------------------------------------------


PROBE = b"probe: is the subscription live?"


async def until_nats_py_listens(ours, their_sub, subject):
    """nats-py 2.16's flush() can return before the server has its SUB: _send_ping writes PING
    straight to the socket while SUB still waits in the flusher task's buffer, so the PONG can
    answer a PING that overtook the SUB (1 run in about 100 lost the first messages, CI included).
    Publish probes until one arrives; from then on the server routes the subject to nats-py, and
    every subscription nats-py made before their_sub too (one socket, written in order)."""
    import nats.errors

    deadline = asyncio.get_running_loop().time() + 5
    while True:
        await ours.publish(subject, PROBE)
        await ours.flush()
        try:
            if (await their_sub.next_msg(timeout=0.05)).data == PROBE:
                return
        except nats.errors.TimeoutError:
            if asyncio.get_running_loop().time() > deadline:
                raise


def test_interop_with_nats_py(nats_server):
    nats = pytest.importorskip("nats")

    async def main():
        theirs = await nats.connect(nats_server)
        ours = await aio.connect(nats_server)
        try:
            # nats-py publishes and requests; swiftnats.aio receives and answers
            got = []
            await ours.subscribe("interop.pub", cb=lambda m: got.append((m.data, m.headers)))

            async def answer(msg):
                await msg.respond(b"swift:" + msg.data, headers={"From": "swiftnats"})

            await ours.subscribe("interop.swift", cb=answer)
            await ours.flush()
            for i in range(100):
                await theirs.publish("interop.pub", b"%d" % i)
            await theirs.publish("interop.pub", b"h", headers={"Key": "value"})
            await theirs.flush()
            await until(lambda: len(got) == 101)
            assert [d for d, _ in got[:100]] == [b"%d" % i for i in range(100)]
            assert got[100] == (b"h", {"Key": "value"})
            reply = await theirs.request("interop.swift", b"q", timeout=5)
            assert reply.data == b"swift:q" and reply.headers == {"From": "swiftnats"}

            # swiftnats.aio publishes and requests; nats-py receives and answers
            async def their_answer(msg):
                await msg.respond(b"py:" + msg.data)

            await theirs.subscribe("interop.py", cb=their_answer)
            their_sub = await theirs.subscribe("interop.theirs")
            await theirs.flush()
            await until_nats_py_listens(ours, their_sub, "interop.theirs")
            for i in range(100):
                await ours.publish("interop.theirs", b"%d" % i)
            await ours.flush()
            seen = []
            while len(seen) < 100:
                data = (await their_sub.next_msg(timeout=5)).data
                if data != PROBE:  # a probe slower than until_nats_py_listens waited for
                    seen.append(data)
            assert seen == [b"%d" % i for i in range(100)]
            assert (await ours.request("interop.py", b"q", timeout=5)).data == b"py:q"
            replies = await asyncio.gather(*(ours.request("interop.py", b"%d" % i, timeout=5) for i in range(50)))
            assert [r.data for r in replies] == [b"py:%d" % i for i in range(50)]
            with pytest.raises(swiftnats.NoRespondersError):
                await ours.request("interop.nobody", b"", timeout=5)
        finally:
            await ours.close()
            await theirs.close()

    run(main())


def test_close_while_reconnecting_is_prompt(server):
    async def main():
        closed = []
        nc = await aio.connect(server.url, reconnect_time_wait=60, closed_cb=lambda: closed.append(threading.get_ident()))
        server.stop()
        await until(lambda: nc.is_reconnecting, what="reconnecting")
        started = time.monotonic()
        await nc.close()
        assert time.monotonic() - started < 5
        assert closed == [threading.get_ident()]
        assert_no_other_tasks()

    run(main())


# -- services on an aio connection: their handlers run on the loop too ------------------------


def test_rpc_and_micro_on_an_aio_connection(nats_server):
    from swiftnats import micro
    from swiftnats.rpc import AsyncRPC

    async def main():
        loop_thread = threading.get_ident()
        threads = set()
        async with await aio.connect(nats_server) as nc:
            async with AsyncRPC(nc, namespace="aioconn") as rpc:
                @rpc.method
                async def add(a: int, b: int) -> int:
                    threads.add(threading.get_ident())
                    return a + b

                @rpc.method
                def neg(x: int) -> int:
                    threads.add(threading.get_ident())
                    return -x

                @rpc.method
                async def squares(n: int):
                    for i in range(n):
                        yield i * i

                await rpc.start()
                assert await rpc.call("add", [1, 2]) == 3
                assert await rpc.call("neg", {"x": 5}) == -5
                assert await asyncio.gather(*(rpc.call("add", [i, i]) for i in range(20))) == [2 * i for i in range(20)]
                assert [x async for x in rpc.call_stream("squares", [4])] == [0, 1, 4, 9]
            assert threads == {loop_thread}

            def echo(req):
                threads.add(threading.get_ident())
                req.respond(b"svc:" + req.data)

            svc = micro.add_service(nc.sync_client, name="aiosvc", version="1.0.0")
            try:
                svc.add_endpoint("echo", echo)
                assert (await nc.request("echo", b"x", timeout=5)).data == b"svc:x"
                # a blocking discovery call waits for this loop's own handlers: not on the loop
                assert [p.name for p in await asyncio.to_thread(micro.ping, nc.sync_client)] == ["aiosvc"]
            finally:
                svc.stop()
            assert threads == {loop_thread}

    run(main())


def test_next_msg_subscription_drain_keeps_what_is_in_flight(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            sub = await nc.subscribe("nmdrain")
            await nc.flush()
            for i in range(5):
                await nc.publish("nmdrain", b"%d" % i)
            await nc.flush()
            await until(lambda: sub.pending[0] == 5, what=f"{sub.pending}")
            await sub.drain(timeout=5)
            assert [m.data async for m in sub.messages] == [b"%d" % i for i in range(5)]
            with pytest.raises(swiftnats.InvalidSubscriptionError):
                await sub.next_msg(timeout=0.1)

    run(main())


def test_close_right_after_the_library_closed_it(server):
    """The server goes and the library closes the connection (its teardown and closed event
    wait in the queue for the loop) just before close() is called: close() must not wait for
    a dispatch that only the loop it blocks could make."""

    async def main():
        closed = []
        nc = await aio.connect(server.url, allow_reconnect=False, closed_cb=lambda: closed.append(1))
        server.stop()  # blocks the loop: nothing is dispatched meanwhile
        time.sleep(0.3)
        started = time.monotonic()
        await nc.close()
        assert time.monotonic() - started < 5
        assert closed == [1] and nc.is_closed
        assert_no_other_tasks()

    run(main())


def test_cancelled_connect_leaves_nothing(nats_server):
    from swiftnats import client as sync_client

    async def main():
        connecting = asyncio.ensure_future(aio.connect(nats_server))
        await asyncio.sleep(0)
        connecting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await connecting
        await asyncio.sleep(0.2)  # the connect completes in its thread
        await until(lambda: all(c.is_closed for c in list(sync_client._live_clients)), what="the connection closed")
        assert_no_other_tasks()

    run(main())
