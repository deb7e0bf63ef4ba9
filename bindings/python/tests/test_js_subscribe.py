"""Continuous consumption (``js.subscribe()``), blocking and asyncio: a subscription fed by
pulls of a consumer; a durable one with a callback gets everything in order and acks it (or,
with ``manual_ack``, leaves the acks to the application); subscribers sharing a queue share the
messages; an ordered consumer delivers in order, nothing twice, across a server restart;
``next_msg()`` without a callback; ``unsubscribe()`` stops the delivery; ``headers_only`` and
``deliver_policy``. Every test runs against its own nats-server with JetStream (the restart
tests against one on a fixed port and store directory, which they stop and start again)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Callable, List

import pytest
import swiftnats
from conftest import NATSServer, eventually, free_port
from swiftnats import aio
from swiftnats.jetstream import JetStreamContext

from aio_support import run, until, until_async

FAST = dict(reconnect_time_wait=0.05, reconnect_jitter=0, max_reconnect_attempts=-1)


@pytest.fixture
def jnc(js_url):
    client = swiftnats.connect(js_url, name="pytest-js-subscribe")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def js(jnc) -> JetStreamContext:
    return jnc.jetstream()


class Collector:
    """A callback that keeps what it gets, and waits for a count of them."""

    def __init__(self, then: Callable[[swiftnats.Msg], None] = lambda msg: None) -> None:
        self.msgs: List[swiftnats.Msg] = []
        self.cond = threading.Condition()
        self.then = then

    def __call__(self, msg: swiftnats.Msg) -> None:
        with self.cond:
            self.msgs.append(msg)
            self.cond.notify_all()
        self.then(msg)

    def wait(self, count: int, timeout: float = 5.0) -> List[swiftnats.Msg]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.msgs) >= count, timeout):
                pytest.fail(f"{len(self.msgs)} of {count} messages within {timeout} s")
            return list(self.msgs)

    @property
    def data(self) -> List[bytes]:
        with self.cond:
            return [m.data for m in self.msgs]


def numbered(count: int, start: int = 0) -> List[bytes]:
    return [b"%d" % i for i in range(start, start + count)]


def consumer_settled(js: JetStreamContext, stream: str, consumer: str, ack_pending: int = 0,
                     pending: int = 0) -> Callable[[], bool]:
    def check() -> bool:
        info = js.consumer_info(stream, consumer)
        return info.num_ack_pending == ack_pending and info.num_pending == pending
    return check


class Restartable:
    """A nats-server with JetStream on a fixed port and store directory, stopped and started
    again (a new process each time, the same streams)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.store = tmp_path / "js-store"
        self.servers: List[NATSServer] = []

    def start(self) -> NATSServer:
        srv = NATSServer(self.tmp_path / f"nats-{len(self.servers)}",
                         ["-js", "-sd", str(self.store), "-p", str(self.port)])
        self.servers.append(srv)
        srv.start()
        return srv

    @property
    def current(self) -> NATSServer:
        return self.servers[-1]

    def restart(self) -> NATSServer:
        self.current.stop()
        return self.start()

    def stop(self) -> None:
        for srv in self.servers:
            srv.stop()


@pytest.fixture
def restartable(tmp_path):
    servers = Restartable(tmp_path)
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()


# -- blocking ----------------------------------------------------------------------------------


def test_durable_cb_delivers_everything_in_order_and_acks(js):
    js.add_stream(name="ORDERS", subjects=["orders.*"], storage="memory")
    for i in range(100):
        js.publish("orders.new", b"%d" % i)
    js.publish("orders.other", b"not this subject")
    got = Collector()
    sub = js.subscribe("orders.new", durable="proc", cb=got)
    assert isinstance(sub, swiftnats.Subscription) and sub.is_async and sub.subject == "orders.new"
    got.wait(100)
    # and what comes while it runs
    for i in range(100, 150):
        js.publish("orders.new", b"%d" % i)
    msgs = got.wait(150)
    assert [m.data for m in msgs] == numbered(150)
    assert [m.subject for m in msgs] == ["orders.new"] * 150
    assert [m.metadata.sequence.stream for m in msgs] == list(range(1, 101)) + list(range(102, 152))
    assert {m.metadata.consumer for m in msgs} == {"proc"} and {m.metadata.num_delivered for m in msgs} == {1}
    eventually(consumer_settled(js, "ORDERS", "proc"), what="every message acked")
    assert all(m.is_acked for m in msgs)
    info = js.consumer_info("ORDERS", "proc")
    assert info.config.durable_name == "proc" and info.config.ack_policy == "explicit"
    assert info.config.filter_subject == "orders.new" and info.config.deliver_subject is None  # a pull consumer
    assert info.delivered.stream_seq == 151 and info.num_redelivered == 0
    time.sleep(0.1)
    assert len(got.msgs) == 150  # nothing twice

    # the durable consumer stays; a new subscription goes on where the last one stopped
    sub.unsubscribe()
    assert js.consumer_names("ORDERS") == ["proc"]
    js.publish("orders.new", b"after")
    again = Collector()
    js.subscribe("orders.new", durable="proc", cb=again)
    assert [m.data for m in again.wait(1)] == [b"after"]
    eventually(consumer_settled(js, "ORDERS", "proc"), what="the last one acked")
    assert js.consumer_names("ORDERS") == ["proc"]


def test_manual_ack_leaves_messages_pending(js):
    js.add_stream(name="MAN", subjects=["man"], storage="memory")
    got = Collector()
    js.subscribe("man", durable="manual", cb=got, manual_ack=True)
    for i in range(10):
        js.publish("man", b"%d" % i)
    msgs = got.wait(10)
    assert [m.data for m in msgs] == numbered(10)
    eventually(consumer_settled(js, "MAN", "manual", ack_pending=10), what="ten delivered, none acked")
    time.sleep(0.2)
    assert js.consumer_info("MAN", "manual").num_ack_pending == 10  # still: nobody acked them
    assert not any(m.is_acked for m in msgs)
    for m in msgs[:4]:
        m.ack()
    eventually(consumer_settled(js, "MAN", "manual", ack_pending=6), what="four acked")
    for m in msgs[4:]:
        m.ack_sync()
    assert js.consumer_info("MAN", "manual").num_ack_pending == 0
    assert len(got.msgs) == 10


def test_callback_acknowledging_itself_is_not_acked_again(js):
    js.add_stream(name="SELF", subjects=["self"], storage="memory")

    def decide(msg: swiftnats.Msg) -> None:
        if msg.data == b"3" and msg.metadata.num_delivered == 1:
            msg.nak()  # again, please: the subscription must not ack it after this
        elif msg.data == b"5":
            msg.term()

    got = Collector(decide)
    js.subscribe("self", durable="self", cb=got)
    for i in range(8):
        js.publish("self", b"%d" % i)
    msgs = got.wait(9)
    assert sorted(m.data for m in msgs) == sorted(numbered(8) + [b"3"])
    threes = [m for m in msgs if m.data == b"3"]
    assert [m.metadata.num_delivered for m in threes] == [1, 2]
    eventually(consumer_settled(js, "SELF", "self"), what="all acked or terminated")
    time.sleep(0.1)
    assert len(got.msgs) == 9


def test_queue_shares_the_work(js):
    js.add_stream(name="WORK", subjects=["work"], storage="memory")
    first, second = Collector(), Collector()
    s1 = js.subscribe("work", queue="workers", cb=first)
    s2 = js.subscribe("work", queue="workers", cb=second)
    assert js.consumer_names("WORK") == ["workers"]  # one consumer, shared
    for i in range(200):
        js.publish("work", b"%d" % i)
    eventually(lambda: len(first.msgs) + len(second.msgs) >= 200, what="200 messages between them")
    eventually(consumer_settled(js, "WORK", "workers"), what="every message acked")
    time.sleep(0.1)
    both = first.data + second.data
    assert len(both) == 200 and sorted(both) == sorted(numbered(200))  # each message once
    assert first.data and second.data  # shared: the server hands the pulls of both their part
    assert first.data == sorted(first.data, key=int) and second.data == sorted(second.data, key=int)
    s1.unsubscribe()
    # the other one goes on alone
    for i in range(200, 210):
        js.publish("work", b"%d" % i)
    eventually(lambda: len(first.msgs) + len(second.msgs) >= 210, what="the last ten")
    assert second.data[-10:] == numbered(10, 200)
    s2.unsubscribe()


def test_ordered_consumer_in_order_across_a_server_restart(restartable):
    reconnected = threading.Event()
    nc = swiftnats.connect(restartable.current.url, reconnected_cb=reconnected.set, **FAST)
    try:
        js = nc.jetstream()
        js.add_stream(name="EV", subjects=["ev.>"], storage="file")
        for i in range(50):
            js.publish(f"ev.{i % 3}", b"%d" % i)
        got = Collector()
        sub = js.subscribe("ev.>", ordered_consumer=True, cb=got)
        assert sub.is_async
        msgs = got.wait(50)
        assert [m.data for m in msgs] == numbered(50)
        # an ordered consumer: ephemeral, no acks
        consumers = js.consumers_info("EV")
        assert len(consumers) == 1 and consumers[0].config.ack_policy == "none"
        assert consumers[0].config.durable_name is None

        restartable.restart()
        assert reconnected.wait(10), "no reconnect"
        for i in range(50, 100):
            js.publish(f"ev.{i % 3}", b"%d" % i)
        msgs = got.wait(100, timeout=15)
        time.sleep(0.2)
        msgs = list(got.msgs)
        assert [m.data for m in msgs] == numbered(100)  # nothing twice, nothing skipped, in order
        assert [m.metadata.sequence.stream for m in msgs] == list(range(1, 101))
        sub.unsubscribe()
    finally:
        nc.close()


def test_ordered_consumer_without_callback(js):
    js.add_stream(name="OC", subjects=["oc.*"], storage="memory")
    for i in range(20):
        js.publish("oc.a" if i % 2 else "oc.b", b"%d" % i)
    sub = js.subscribe("oc.a", ordered_consumer=True)
    assert not sub.is_async
    assert [sub.next_msg(2).data for _ in range(10)] == [b"%d" % i for i in range(1, 20, 2)]
    with pytest.raises(swiftnats.TimeoutError):
        sub.next_msg(0.2)
    js.publish("oc.a", b"later")
    assert sub.next_msg(2).data == b"later"
    # starting at the last message
    last = js.subscribe("oc.b", ordered_consumer=True, deliver_policy="last")
    assert last.next_msg(2).data == b"18"
    with pytest.raises(swiftnats.TimeoutError):
        last.next_msg(0.2)
    sub.unsubscribe()
    last.unsubscribe()


def test_next_msg_without_callback(js):
    js.add_stream(name="SYNC", subjects=["sync"], storage="memory")
    for i in range(5):
        js.publish("sync", b"%d" % i)
    sub = js.subscribe("sync", durable="reader")
    assert not sub.is_async
    msgs = [sub.next_msg(2) for _ in range(5)]
    assert [m.data for m in msgs] == numbered(5)
    assert [m.metadata.sequence.stream for m in msgs] == [1, 2, 3, 4, 5]
    with pytest.raises(swiftnats.TimeoutError):
        sub.next_msg(0.2)
    # without a callback the application acks
    assert js.consumer_info("SYNC", "reader").num_ack_pending == 5
    for m in msgs:
        m.ack_sync()
    assert js.consumer_info("SYNC", "reader").num_ack_pending == 0
    js.publish("sync", b"later")
    late = sub.next_msg(2)
    assert late.data == b"later" and late.metadata.sequence.stream == 6
    late.ack_sync()
    assert consumer_settled(js, "SYNC", "reader")()
    # with a callback it cannot be read
    with pytest.raises(swiftnats.IllegalStateError):
        js.subscribe("sync", durable="cb", cb=lambda msg: None).next_msg(0.1)


def test_ephemeral_subscription(js):
    js.add_stream(name="EPH", subjects=["eph"], storage="memory")
    js.publish("eph", b"one")
    got = Collector()
    sub = js.subscribe("eph", cb=got)
    assert [m.data for m in got.wait(1)] == [b"one"]
    consumers = js.consumers_info("EPH")
    assert len(consumers) == 1
    consumer = consumers[0]
    assert consumer.config.durable_name is None and consumer.config.ack_policy == "explicit"
    assert consumer.config.inactive_threshold == 5.0
    eventually(consumer_settled(js, "EPH", consumer.name), what="acked")
    sub.unsubscribe()


def test_unsubscribe_stops_delivery(js):
    js.add_stream(name="STOP", subjects=["stop"], storage="memory")
    got = Collector()
    sub = js.subscribe("stop", durable="stopper", cb=got)
    for i in range(5):
        js.publish("stop", b"%d" % i)
    got.wait(5)
    eventually(consumer_settled(js, "STOP", "stopper"), what="the first five acked")
    sub.unsubscribe()
    assert not sub.is_valid
    for i in range(5, 10):
        js.publish("stop", b"%d" % i)
    time.sleep(0.3)
    assert got.data == numbered(5)
    # the rest wait in the consumer for the next subscriber
    info = js.consumer_info("STOP", "stopper")
    assert info.delivered.stream_seq == 5 and info.num_pending == 5
    rest = js.subscribe("stop", durable="stopper")
    assert [rest.next_msg(2).data for _ in range(5)] == numbered(5, 5)


def test_headers_only(js):
    js.add_stream(name="HO", subjects=["ho.*"], storage="memory")
    payload = b"x" * 1000
    js.publish("ho.a", payload, headers={"Kind": "big"})
    js.publish("ho.a", b"", headers={"Kind": "empty"})
    durable = js.subscribe("ho.a", durable="heads", headers_only=True)
    first, second = durable.next_msg(2), durable.next_msg(2)
    assert first.data == b"" and first.headers["Kind"] == "big" and first.headers["Nats-Msg-Size"] == "1000"
    assert second.data == b"" and second.headers["Kind"] == "empty" and second.headers["Nats-Msg-Size"] == "0"
    assert js.consumer_info("HO", "heads").config.headers_only is True
    ordered = js.subscribe("ho.a", ordered_consumer=True, headers_only=True)
    msg = ordered.next_msg(2)
    assert msg.data == b"" and msg.headers["Nats-Msg-Size"] == "1000" and msg.headers["Kind"] == "big"
    full = js.subscribe("ho.a", ordered_consumer=True)
    assert full.next_msg(2).data == payload


def test_deliver_policy_new(js):
    js.add_stream(name="DP", subjects=["dp"], storage="memory")
    for i in range(3):
        js.publish("dp", b"old %d" % i)
    got = Collector()
    js.subscribe("dp", durable="fresh", cb=got, deliver_policy="new")
    assert js.consumer_info("DP", "fresh").config.deliver_policy == "new"
    js.publish("dp", b"new")
    assert [m.data for m in got.wait(1)] == [b"new"]
    time.sleep(0.1)
    assert got.data == [b"new"]


def test_subscribe_binds_an_existing_consumer(js):
    js.add_stream(name="BIND", subjects=["bind.*"], storage="memory")
    js.add_consumer("BIND", durable_name="made", filter_subject="bind.x", ack_policy="explicit", max_deliver=3)
    js.publish("bind.x", b"x")
    sub = js.subscribe("bind.x", durable="made")
    assert sub.next_msg(2).data == b"x"
    assert js.consumer_names("BIND") == ["made"]
    assert js.consumer_info("BIND", "made").config.max_deliver == 3  # not replaced
    # a push consumer is subscribed to as one
    js.add_consumer("BIND", durable_name="push", deliver_subject="somewhere", ack_policy="explicit")
    push = js.subscribe("bind.x", durable="push")
    msg = push.next_msg(2)
    assert msg.data == b"x" and msg.metadata.consumer == "push"
    msg.ack_sync()
    assert js.consumer_info("BIND", "push").num_ack_pending == 0
    # no stream listens
    with pytest.raises(swiftnats.NotFoundError):
        js.subscribe("nobody.listens", durable="x")


# -- asyncio -----------------------------------------------------------------------------------


def aio_settled(js, stream: str, consumer: str, ack_pending: int = 0, pending: int = 0):
    async def check() -> bool:
        info = await js.consumer_info(stream, consumer)
        return info.num_ack_pending == ack_pending and info.num_pending == pending
    return check


def test_aio_durable_async_cb_delivers_in_order_and_acks(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="ORDERS", subjects=["orders.*"], storage="memory")
            for i in range(100):
                await js.publish("orders.new", b"%d" % i)
            got: List[aio.Msg] = []
            running = 0
            overlapped = False

            async def cb(msg):
                nonlocal running, overlapped
                running += 1
                overlapped = overlapped or running > 1
                await asyncio.sleep(0)  # the callback really awaits
                got.append(msg)
                running -= 1

            sub = await js.subscribe("orders.new", durable="proc", cb=cb)
            assert isinstance(sub, aio.Subscription)
            await until(lambda: len(got) == 100, what="the first hundred")
            for i in range(100, 150):
                await js.publish("orders.new", b"%d" % i)
            await until(lambda: len(got) == 150, what="all of them")
            assert [m.data for m in got] == numbered(150)
            assert isinstance(got[0], aio.Msg)
            assert [m.metadata.sequence.stream for m in got] == list(range(1, 151))
            assert not overlapped  # one at a time
            await until_async(aio_settled(js, "ORDERS", "proc"), what="every message acked")
            assert all(m.is_acked for m in got)
            await asyncio.sleep(0.1)
            assert len(got) == 150
            await sub.unsubscribe()
            assert await js.consumer_names("ORDERS") == ["proc"]

    run(main())


def test_aio_plain_cb_and_manual_ack(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="MAN", subjects=["man"], storage="memory")
            plain: List[aio.Msg] = []
            await js.subscribe("man", durable="plain", cb=plain.append)  # a plain callback, acked after it
            manual: List[aio.Msg] = []

            async def keep(msg):
                manual.append(msg)

            await js.subscribe("man", durable="manual", cb=keep, manual_ack=True)
            for i in range(10):
                await js.publish("man", b"%d" % i)
            await until(lambda: len(plain) == 10 and len(manual) == 10, what="ten each")
            assert [m.data for m in plain] == [m.data for m in manual] == numbered(10)
            await until_async(aio_settled(js, "MAN", "plain"), what="the plain callback's acked")
            await until_async(aio_settled(js, "MAN", "manual", ack_pending=10), what="ten delivered, none acked")
            await asyncio.sleep(0.2)
            assert (await js.consumer_info("MAN", "manual")).num_ack_pending == 10
            for m in manual[:5]:
                await m.ack()
            await until_async(aio_settled(js, "MAN", "manual", ack_pending=5), what="five acked")
            for m in manual[5:]:
                await m.ack_sync()
            assert (await js.consumer_info("MAN", "manual")).num_ack_pending == 0

    run(main())


def test_aio_next_msg_messages_and_unsubscribe(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="SYNC", subjects=["sync"], storage="memory")
            for i in range(5):
                await js.publish("sync", b"%d" % i)
            sub = await js.subscribe("sync", durable="reader")
            msgs = [await sub.next_msg(2) for _ in range(3)]
            async for m in sub.messages:
                msgs.append(m)
                if len(msgs) == 5:
                    break
            assert [m.data for m in msgs] == numbered(5)
            with pytest.raises(swiftnats.TimeoutError):
                await sub.next_msg(0.2)
            assert (await js.consumer_info("SYNC", "reader")).num_ack_pending == 5
            for m in msgs:
                await m.ack()
            await until_async(aio_settled(js, "SYNC", "reader"), what="acked")

            # unsubscribe stops the delivery; what comes after waits in the consumer
            got: List[aio.Msg] = []
            stop_sub = await js.subscribe("sync", durable="stopper", cb=got.append, deliver_policy="new")
            await js.publish("sync", b"before")
            await until(lambda: len(got) == 1, what="one delivered")
            await stop_sub.unsubscribe()
            for i in range(3):
                await js.publish("sync", b"after %d" % i)
            await asyncio.sleep(0.3)
            assert [m.data for m in got] == [b"before"]
            info = await js.consumer_info("SYNC", "stopper")
            assert info.num_pending == 3 and info.delivered.stream_seq == 6

    run(main())


def test_aio_queue_shares_the_work(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="WORK", subjects=["work"], storage="memory")
            first: List[bytes] = []
            second: List[bytes] = []

            async def one(msg):
                first.append(msg.data)

            async def two(msg):
                second.append(msg.data)

            await js.subscribe("work", queue="workers", cb=one)
            await js.subscribe("work", queue="workers", cb=two)
            assert await js.consumer_names("WORK") == ["workers"]
            for i in range(200):
                await js.publish("work", b"%d" % i)
            await until(lambda: len(first) + len(second) >= 200, what="200 between them")
            await until_async(aio_settled(js, "WORK", "workers"), what="all acked")
            await asyncio.sleep(0.1)
            assert len(first) + len(second) == 200 and sorted(first + second) == sorted(numbered(200))
            assert first and second

    run(main())


def test_aio_headers_only_and_ordered(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="HO", subjects=["ho.*"], storage="memory")
            for i in range(30):
                await js.publish(f"ho.{i % 2}", b"%d" % i * 10, headers={"N": str(i)})
            heads = await js.subscribe("ho.0", durable="heads", headers_only=True)
            msg = await heads.next_msg(2)
            assert msg.data == b"" and msg.headers["N"] == "0" and msg.headers["Nats-Msg-Size"] == "10"

            got: List[aio.Msg] = []

            async def cb(msg):
                await asyncio.sleep(0)
                got.append(msg)

            await js.subscribe("ho.1", ordered_consumer=True, cb=cb)
            await until(lambda: len(got) == 15, what="the odd ones")
            assert [m.headers["N"] for m in got] == [str(i) for i in range(1, 30, 2)]
            await js.publish("ho.1", b"late")
            await until(lambda: len(got) == 16, what="the late one")
            assert got[-1].data == b"late"
            ordered_heads = await js.subscribe("ho.1", ordered_consumer=True, headers_only=True)
            first = await ordered_heads.next_msg(2)
            assert first.data == b"" and first.headers["N"] == "1" and first.headers["Nats-Msg-Size"] == "10"

    run(main())


def test_aio_ordered_consumer_across_a_server_restart(restartable):
    async def main():
        reconnected = asyncio.Event()
        async with await aio.connect(restartable.current.url, reconnected_cb=reconnected.set, **FAST) as nc:
            js = nc.jetstream()
            await js.add_stream(name="EV", subjects=["ev.>"], storage="file")
            for i in range(50):
                await js.publish(f"ev.{i % 3}", b"%d" % i)
            got: List[aio.Msg] = []

            async def cb(msg):
                got.append(msg)

            sub = await js.subscribe("ev.>", ordered_consumer=True, cb=cb)
            await until(lambda: len(got) == 50, what="the first fifty")
            await asyncio.to_thread(restartable.restart)
            await asyncio.wait_for(reconnected.wait(), 10)
            for i in range(50, 100):
                await js.publish(f"ev.{i % 3}", b"%d" % i)
            await until(lambda: len(got) >= 100, timeout=15, what="all hundred")
            await asyncio.sleep(0.2)
            assert [m.data for m in got] == numbered(100)
            assert [m.metadata.sequence.stream for m in got] == list(range(1, 101))
            await sub.unsubscribe()

    run(main())


def test_aio_ordered_subscribe_right_after_connect(js_url):
    """An ordered subscription with its stream named may be the first call of a fresh aio
    client (no other round trip before it)."""
    sync = swiftnats.connect(js_url)
    try:
        sync.jetstream().add_stream(name="FIRST", subjects=["first"], storage="memory")
        sync.jetstream().publish("first", b"1")
    finally:
        sync.close()

    async def main():
        async with await aio.connect(js_url) as nc:
            started = time.monotonic()
            sub = await nc.jetstream().subscribe("first", stream="FIRST", ordered_consumer=True)
            assert time.monotonic() - started < 2
            assert (await sub.next_msg(2)).data == b"1"

    run(main())
