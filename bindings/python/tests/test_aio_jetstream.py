"""JetStream on the asyncio client (``nc.jetstream()`` of an ``aio`` client): every call
awaited, none blocking the loop (a task keeps ticking through a long fetch), the same results
and errors as the blocking context; and interoperation with nats-py's JetStream, each side
publishing what the other fetches and acknowledges."""

from __future__ import annotations

import asyncio
import datetime
import gc
import os
import signal
import time
import weakref

import pytest
import swiftnats
from swiftnats import _runtime, aio
from swiftnats.aio.jetstream import JetStreamContext, PullSubscription

from aio_support import Ticker, run, until, until_async


async def fetch_all(psub: PullSubscription, count: int, timeout: float = 5.0) -> list[aio.Msg]:
    got: list[aio.Msg] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{len(got)} of {count} messages within {timeout} s")
        try:
            got += await psub.fetch(count - len(got), timeout=0.5)
        except swiftnats.TimeoutError:
            pass
    return got


# -- management --------------------------------------------------------------------------------


def test_aio_stream_lifecycle(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            assert isinstance(js, JetStreamContext)
            assert (await js.account_info()).streams == 0

            info = await js.add_stream(name="ORDERS", subjects=["orders.>"], max_age=3600, storage="memory")
            assert info.config.name == "ORDERS" and info.config.max_age == 3600.0
            assert isinstance(info.config.max_age, float) and info.config.duplicate_window == 120.0
            info = await js.add_stream({"name": "EVENTS", "subjects": ["events.*"], "max_age": 1.5,
                                        "storage": "memory"})
            assert info.config.max_age == 1.5

            config = (await js.stream_info("ORDERS")).config
            config["max_msgs"] = 10
            updated = await js.update_stream(config)
            assert updated.config.max_msgs == 10 and updated.config.max_age == 3600.0
            assert (await js.update_stream(name="EVENTS", subjects=["events.*"], max_age=7200,
                                           storage="memory")).config.max_age == 7200.0

            assert sorted(await js.stream_names()) == ["EVENTS", "ORDERS"]
            assert await js.stream_names(subject="events.x") == ["EVENTS"]
            infos = await js.streams_info()
            assert {i.config.name: i.config.max_age for i in infos} == {"ORDERS": 3600.0, "EVENTS": 7200.0}
            assert [i.config.name for i in await js.streams_info(subject="orders.new")] == ["ORDERS"]
            assert await js.find_stream_name_by_subject("orders.new") == "ORDERS"
            with pytest.raises(swiftnats.NotFoundError):
                await js.find_stream_name_by_subject("nothing.here")

            for i in range(6):
                await js.publish("events.a" if i % 2 else "events.b", b"%d" % i)
            await js.publish("events.c", b"c")
            info = await js.stream_info("EVENTS", subjects_filter="events.*")
            assert info.state.subjects == {"events.a": 3, "events.b": 3, "events.c": 1}
            assert await js.purge_stream("EVENTS", subject="events.a") is True
            assert (await js.stream_info("EVENTS")).state.messages == 4
            assert await js.purge_stream("EVENTS", seq=7) is True  # below 7: only events.c is left
            state = (await js.stream_info("EVENTS")).state
            assert (state.messages, state.first_seq) == (1, 7)
            assert (await js.get_last_msg("EVENTS", "events.c")).seq == 7
            with pytest.raises(swiftnats.MsgNotFoundError):
                await js.get_last_msg("EVENTS", "events.b")
            for i in range(5):
                await js.publish("events.d", b"%d" % i)
            assert await js.purge_stream("EVENTS", keep=2) is True
            state = (await js.stream_info("EVENTS")).state
            assert (state.messages, state.first_seq, state.last_seq) == (2, 11, 12)
            assert await js.delete_msg("EVENTS", 11) is True
            with pytest.raises(swiftnats.MsgNotFoundError):
                await js.get_msg("EVENTS", 11)
            assert await js.purge_stream("EVENTS") is True
            assert (await js.stream_info("EVENTS")).state.messages == 0

            # many calls in flight at once
            infos = await asyncio.gather(*(js.stream_info(name) for name in ["ORDERS", "EVENTS"] * 25))
            assert [i.config.name for i in infos] == ["ORDERS", "EVENTS"] * 25

            assert await js.delete_stream("EVENTS") is True
            with pytest.raises(swiftnats.StreamNotFoundError):
                await js.stream_info("EVENTS")
            assert await js.stream_names() == ["ORDERS"]

    run(main())


def test_aio_consumer_lifecycle(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="C", subjects=["c.>"], storage="memory")
            for i in range(4):
                await js.publish("c.a" if i % 2 else "c.b", b"%d" % i)
            durable = await js.add_consumer("C", durable_name="dur", ack_policy="explicit", ack_wait=30,
                                            filter_subject="c.a")
            assert durable.name == "dur" and durable.config.ack_wait == 30.0 and durable.num_pending == 2
            other = await js.add_consumer("C", {"durable_name": "dict", "ack_policy": "explicit", "ack_wait": 2.5})
            assert other.config.ack_wait == 2.5
            ephemeral = await js.add_consumer("C", ack_policy="explicit")
            assert ephemeral.name not in ("dur", "dict") and ephemeral.config.durable_name is None
            assert sorted(await js.consumer_names("C")) == sorted(["dur", "dict", ephemeral.name])
            assert sorted(i.name for i in await js.consumers_info("C")) == sorted(["dur", "dict", ephemeral.name])
            assert (await js.consumer_info("C", "dur")).config.ack_wait == 30.0
            updated = await js.update_consumer("C", durable_name="dur", ack_policy="explicit", ack_wait=10,
                                               filter_subject="c.a", description="updated")
            assert updated.config.ack_wait == 10.0 and updated.config.description == "updated"
            assert await js.delete_consumer("C", "dur") is True
            with pytest.raises(swiftnats.ConsumerNotFoundError) as err:
                await js.consumer_info("C", "dur")
            assert (err.value.code, err.value.err_code) == (404, 10014)
            with pytest.raises(swiftnats.ConsumerNotFoundError):
                await js.delete_consumer("C", "dur")
            assert sorted(await js.consumer_names("C")) == sorted(["dict", ephemeral.name])

    run(main())


# -- errors ------------------------------------------------------------------------------------


def test_aio_api_errors(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            for call in (js.stream_info("MISSING"), js.delete_stream("MISSING"), js.purge_stream("MISSING"),
                         js.consumer_info("MISSING", "c"), js.get_msg("MISSING", 1),
                         js.update_stream(name="MISSING", subjects=["m"])):
                with pytest.raises(swiftnats.StreamNotFoundError) as err:
                    await call
                e = err.value
                assert (e.code, e.err_code) == (404, 10059) and e.status == swiftnats.Status.NOT_FOUND
                assert isinstance(e, swiftnats.NotFoundError) and isinstance(e, swiftnats.APIError)

            await js.add_stream(name="E", subjects=["e.*"], storage="memory")
            await js.add_stream(name="OTHER", subjects=["other"], storage="memory")
            await js.publish("e.a", b"1", msg_id="one")
            await js.publish("e.b", b"2", msg_id="two")
            assert (await js.publish("e.a", b"3", msg_id="three", expected_last_msg_id="two")).seq == 3
            with pytest.raises(swiftnats.WrongLastMsgIDError) as err:
                await js.publish("e.a", b"x", expected_last_msg_id="one")
            assert (err.value.code, err.value.err_code) == (400, 10070)
            with pytest.raises(swiftnats.WrongLastSequenceError) as err:
                await js.publish("e.a", b"x", expected_last_seq=2)
            assert (err.value.code, err.value.err_code) == (400, 10071)
            assert isinstance(err.value, swiftnats.BadRequestError)
            assert (await js.publish("e.a", b"4", expected_last_seq=3)).seq == 4
            with pytest.raises(swiftnats.WrongLastSequenceError):
                await js.publish("e.b", b"x", expected_last_subject_seq=1)
            assert (await js.publish("e.b", b"5", expected_last_subject_seq=2)).seq == 5
            with pytest.raises(swiftnats.StreamNotMatchError) as err:
                await js.publish("e.a", b"x", stream="OTHER")
            assert err.value.err_code == 10060
            started = time.monotonic()
            with pytest.raises(swiftnats.NoRespondersError):
                await js.publish("nobody.listens", b"x")
            assert time.monotonic() - started < 4
            with pytest.raises(swiftnats.MsgNotFoundError) as err:
                await js.get_msg("E", 99)
            assert (err.value.code, err.value.err_code) == (404, 10037)
            with pytest.raises(swiftnats.MsgNotFoundError):
                await js.get_last_msg("E", "e.none")
            assert (await js.stream_info("E")).state.messages == 5

    run(main())


def test_aio_jetstream_not_enabled(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            js = nc.jetstream()
            started = time.monotonic()
            with pytest.raises(swiftnats.JetStreamNotEnabledError) as err:
                await js.account_info()
            assert err.value.status == swiftnats.Status.JS_NOT_ENABLED
            with pytest.raises(swiftnats.JetStreamNotEnabledError):
                await js.add_stream(name="X", subjects=["x"])
            assert time.monotonic() - started < 4

    run(main())


def test_aio_publish_timeout_is_a_swiftnats_timeout(js_url):
    """As the blocking context's publish (and an aio request with a timeout): an ack that does
    not come within the publish's timeout raises swiftnats.TimeoutError."""

    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await nc.subscribe("silent", cb=lambda m: None)  # listens, never answers
            await nc.flush()
            started = time.monotonic()
            with pytest.raises(swiftnats.TimeoutError):
                await js.publish("silent", b"x", timeout=0.3)
            assert time.monotonic() - started < 3

    run(main())


def test_aio_publish_async_completed_timeout_is_a_swiftnats_timeout(js_url):
    """As the blocking context's: publish_async_completed past its timeout raises
    swiftnats.TimeoutError; the publish's own future fails after the context's timeout."""

    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream(timeout=1)
            await nc.subscribe("silent", cb=lambda m: None)
            await nc.flush()
            pending = await js.publish_async("silent", b"y")
            assert js.publish_async_pending() == 1
            started = time.monotonic()
            try:
                with pytest.raises(swiftnats.TimeoutError):
                    await js.publish_async_completed(timeout=0.3)
                assert time.monotonic() - started < 0.9
            finally:
                with pytest.raises(swiftnats.TimeoutError):  # the context's 1 s
                    await pending
            assert js.publish_async_pending() == 0

    run(main())


# -- publishing --------------------------------------------------------------------------------


def test_aio_publish_acks_dedup_and_headers(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="PUB", subjects=["pub.>"], storage="memory")
            acks = [await js.publish("pub.a", b"%d" % i) for i in range(3)]
            assert [(a.stream, a.seq, a.duplicate, a.domain) for a in acks] == [
                ("PUB", 1, False, None), ("PUB", 2, False, None), ("PUB", 3, False, None)]
            first = await js.publish("pub.a", b"once", msg_id="id-1", headers={"X-Trace": "t1"})
            again = await js.publish("pub.a", b"twice", msg_id="id-1")
            assert (first.seq, first.duplicate) == (4, False) and (again.seq, again.duplicate) == (4, True)
            assert (await js.stream_info("PUB")).state.messages == 4
            stored = await js.get_msg("PUB", 4)
            assert (stored.subject, stored.seq, stored.data, stored.stream) == ("pub.a", 4, b"once", "PUB")
            assert stored.headers == {"X-Trace": "t1", "Nats-Msg-Id": "id-1"}
            # gathered publishes
            acks = await asyncio.gather(*(js.publish("pub.b", b"%d" % i) for i in range(50)))
            assert sorted(a.seq for a in acks) == list(range(5, 55))

    run(main())


def test_aio_context_is_collected_once_its_acks_came(js_url):
    """The acks' handler is registered only while publishes wait: a context no publish uses any
    more is not held by it."""
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="PAG", subjects=["pag"], storage="memory")
            gc.collect()  # earlier tests' contexts, whose routes would leave during this one
            baseline = _runtime.registry_size()
            futures = [await js.publish_async("pag", b"x") for _ in range(200)]
            assert _runtime.registry_size() == baseline + 1  # one route for the acks, not one per publish
            await js.publish_async_completed(timeout=10)
            assert [f.result().seq for f in futures] == list(range(1, 201))
            gone = weakref.ref(js)
            del js, futures
            gc.collect()
            assert gone() is None
            assert _runtime.registry_size() == baseline  # the route went with it

    run(main())


def test_aio_publish_async_window(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream(publish_async_max_pending=16)
            await js.add_stream(name="PA", subjects=["pa"], storage="memory")
            baseline = _runtime.registry_size()
            ticker = Ticker(0.001)
            futures = []
            most = 0
            for i in range(1000):
                future = await js.publish_async("pa", b"%d" % i, msg_id=f"pa-{i}" if i % 3 == 0 else None)
                assert isinstance(future, asyncio.Future)
                futures.append(future)
                most = max(most, js.publish_async_pending())
            assert most <= 16
            await js.publish_async_completed(timeout=10)
            await ticker.stop()
            assert ticker.ticks > 1  # the window was awaited, not blocked on
            assert js.publish_async_pending() == 0
            assert all(f.done() for f in futures)
            acks = [f.result() for f in futures]
            assert [a.seq for a in acks] == list(range(1, 1001))
            assert {a.stream for a in acks} == {"PA"} and {a.duplicate for a in acks} == {False}
            assert (await js.stream_info("PA")).state.messages == 1000
            assert (await js.get_msg("PA", 1000)).data == b"999"
            # one key for the context's acks (registered while it lives), none per publish
            await until(lambda: _runtime.registry_size() == baseline + 1, what="the publishes' registry keys released")

            # failing ones: each future raises its error
            wrong_seq = await js.publish_async("pa", b"x", expected_last_seq=1)
            wrong_stream = await js.publish_async("pa", b"x", stream="ELSEWHERE")
            nobody = await js.publish_async("nobody.listens", b"x")
            ok = await js.publish_async("pa", b"ok")
            with pytest.raises(swiftnats.WrongLastSequenceError) as err:
                await wrong_seq
            assert err.value.err_code == 10071
            with pytest.raises(swiftnats.StreamNotMatchError):
                await wrong_stream
            with pytest.raises(swiftnats.NoRespondersError):
                await nobody
            assert (await ok).seq == 1001
            await js.publish_async_completed()
            assert js.publish_async_pending() == 0
            with pytest.raises(swiftnats.InvalidSubjectError):
                await js.publish_async("pa.*", b"x")
            assert js.publish_async_pending() == 0
            # one key for the context's acks (registered while it lives), none per publish
            await until(lambda: _runtime.registry_size() == baseline + 1, what="the publishes' registry keys released")

    run(main())


@pytest.mark.parametrize("direct", [False, True])
def test_aio_get_msg(js_url, direct):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="GET", subjects=["get.*"], storage="memory", allow_direct=True)
            for i in range(6):
                await js.publish("get.a" if i % 2 == 0 else "get.b", b"%d" % i, headers={"N": str(i)})
            by_seq = await js.get_msg("GET", 4, direct=direct)
            assert (by_seq.seq, by_seq.subject, by_seq.data, by_seq.headers) == (4, "get.b", b"3", {"N": "3"})
            assert by_seq.stream == "GET"
            assert (await js.get_msg("GET", subject="get.a", direct=direct)).seq == 5
            assert (await js.get_last_msg("GET", "get.b", direct=direct)).data == b"5"
            nxt = await js.get_msg("GET", seq=2, subject="get.a", next=True, direct=direct)
            assert (nxt.seq, nxt.data) == (3, b"2")
            with pytest.raises(swiftnats.MsgNotFoundError):
                await js.get_msg("GET", 99, direct=direct)
            with pytest.raises(ValueError):
                await js.get_msg("GET", seq=1, next=True, direct=direct)
            got = await asyncio.gather(*(js.get_msg("GET", seq, direct=direct) for seq in range(1, 7)))
            assert [m.data for m in got] == [b"%d" % i for i in range(6)]

    run(main())


# -- pulling -----------------------------------------------------------------------------------


def test_aio_fetch(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="F", subjects=["f"], storage="memory")
            for i in range(10):
                await js.publish("f", bytes([65 + i]) * 100)
            psub = await js.pull_subscribe("f", durable="fd")
            assert isinstance(psub, PullSubscription) and (psub.stream, psub.consumer) == ("F", "fd")
            first = await psub.fetch(3, timeout=2)
            assert [m.data[:1] for m in first] == [b"A", b"B", b"C"]
            assert all(isinstance(m, aio.Msg) for m in first)
            limited = await psub.fetch(10, timeout=2, max_bytes=350)
            assert 1 <= len(limited) <= 3 and limited[0].data[:1] == b"D"
            rest = await fetch_all(psub, 7 - len(limited))
            msgs = first + limited + rest
            assert [m.data[0] for m in msgs] == list(range(65, 75))
            for m in msgs:
                await m.ack()
            started = time.monotonic()
            with pytest.raises(swiftnats.TimeoutError) as err:
                await psub.fetch(1, timeout=0.5)
            assert isinstance(err.value, asyncio.TimeoutError)
            assert 0.4 < time.monotonic() - started < 2.5
            started = time.monotonic()
            with pytest.raises(swiftnats.TimeoutError):
                await psub.fetch(5, timeout=5, no_wait=True)
            assert time.monotonic() - started < 2
            await js.publish("f", b"late")
            assert [m.data for m in await psub.fetch(5, timeout=5, no_wait=True)] == [b"late"]
            with pytest.raises(swiftnats.TimeoutError):
                await psub.fetch(1, timeout=1, heartbeat=0.3)
            with pytest.raises(ValueError):
                await psub.fetch(0)
            await until_async(lambda: _ack_pending_is(psub, 1), what="the acks recorded")

    run(main())


async def _ack_pending_is(psub: PullSubscription, count: int) -> bool:
    return (await psub.consumer_info()).num_ack_pending == count


def test_aio_fetch_does_not_block_the_loop(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="NB", subjects=["nb"], storage="memory")
            psub = await js.pull_subscribe("nb", durable="nb")

            # an empty pull waits its full second; the loop keeps running meanwhile
            ticker = Ticker()
            started = time.monotonic()
            with pytest.raises(swiftnats.TimeoutError):
                await psub.fetch(1, timeout=1)
            elapsed = time.monotonic() - started
            await ticker.stop()
            assert elapsed >= 0.9
            assert ticker.ticks >= 40, ticker.ticks  # ~100 at 10 ms a tick when never blocked

            # a message published by another task while the pull waits ends it early
            async def publish_later():
                await asyncio.sleep(0.3)
                return await js.publish("nb", b"hello")

            started = time.monotonic()
            got, ack = await asyncio.gather(psub.fetch(1, timeout=5), publish_later())
            assert [m.data for m in got] == [b"hello"] and ack.seq == 1
            assert time.monotonic() - started < 2
            await got[0].ack_sync()

            # many pulls at once, on as many consumers
            pulls = [await js.pull_subscribe("nb", durable=f"p{i}", config={"deliver_policy": "new"})
                     for i in range(10)]
            ticker = Ticker()
            waiting = asyncio.gather(*(p.fetch(1, timeout=3) for p in pulls))
            await asyncio.sleep(0.5)
            await js.publish("nb", b"all")
            results = await waiting
            await ticker.stop()
            assert [[m.data for m in r] for r in results] == [[b"all"]] * 10
            assert ticker.ticks >= 20

    run(main())


def test_aio_missed_heartbeat_does_not_block_the_loop(js_server):
    async def main():
        async with await aio.connect(js_server.url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="MH", subjects=["mh"], storage="memory")
            psub = await js.pull_subscribe("mh", durable="mh")
            ticker = Ticker()
            os.kill(js_server.proc.pid, signal.SIGSTOP)
            try:
                started = time.monotonic()
                with pytest.raises(swiftnats.MissedHeartbeatError):
                    await psub.fetch(1, timeout=10, heartbeat=0.3)
                assert time.monotonic() - started < 5
            finally:
                os.kill(js_server.proc.pid, signal.SIGCONT)
            await ticker.stop()
            assert ticker.ticks >= 20
            await js.publish("mh", b"after")
            assert [m.data for m in await fetch_all(psub, 1)] == [b"after"]

    run(main())


def test_aio_acks(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="ACK", subjects=["ack"], storage="memory")
            for i in range(6):
                await js.publish("ack", b"%d" % i)
            await js.add_consumer("ACK", durable_name="acker", ack_policy="explicit", ack_wait=1.0)
            psub = await js.pull_subscribe_bind("acker", "ACK")
            m0, m1, m2, m3, m4, m5 = await psub.fetch(6, timeout=2)

            await m0.ack()
            assert m0.is_acked
            for again in (m0.ack, m0.ack_sync, m0.nak, m0.term):
                with pytest.raises(swiftnats.IllegalStateError):
                    await again()
            await m1.ack_sync(timeout=2)
            assert m1.is_acked
            with pytest.raises(swiftnats.IllegalStateError):
                await m1.ack_sync()
            await m2.term()
            await m3.term(reason="bad payload")
            nak_at = time.monotonic()
            await m4.nak(delay=0.5)
            assert m4.is_acked
            for _ in range(5):
                await m5.in_progress()
                assert not m5.is_acked
                await asyncio.sleep(0.4)
            again = await psub.fetch(5, timeout=2, no_wait=True)
            assert [m.data for m in again] == [b"4"]
            assert time.monotonic() - nak_at >= 0.5
            meta = again[0].metadata
            assert (meta.num_delivered, meta.sequence.stream, meta.sequence.consumer) == (2, 5, 7)
            await again[0].ack_sync()
            await m5.ack_sync()
            info = await psub.consumer_info()
            assert info.num_ack_pending == 0 and info.num_pending == 0
            with pytest.raises(swiftnats.TimeoutError):
                await psub.fetch(1, timeout=1.5)

    run(main())


def test_aio_metadata(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="META", subjects=["meta.*"], storage="memory")
            await js.publish("meta.skip", b"s")
            for i in range(3):
                await js.publish("meta.a", b"%d" % i)
            before = time.time()
            psub = await js.pull_subscribe("meta.a", durable="md")
            metas = [m.metadata for m in await psub.fetch(3, timeout=2)]
            assert [(md.sequence.stream, md.sequence.consumer) for md in metas] == [(2, 1), (3, 2), (4, 3)]
            assert [md.num_pending for md in metas] == [2, 1, 0]
            assert {(md.stream, md.consumer, md.num_delivered, md.domain) for md in metas} == {("META", "md", 1, None)}
            assert all(md.timestamp.utcoffset() == datetime.timedelta(0) for md in metas)
            assert all(abs(md.timestamp.timestamp() - before) < 30 for md in metas)

    run(main())


def test_aio_pull_subscribe_config_durations_in_seconds(js_url):
    """As the blocking context: pull_subscribe's config durations are seconds."""

    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="PSC", subjects=["psc"], storage="memory")
            psub = await js.pull_subscribe("psc", durable="cfg", config={"ack_wait": 2.5})
            config = (await psub.consumer_info()).config
            assert config.ack_wait == 2.5 and config.ack_policy == "explicit" and config.filter_subject == "psc"

    run(main())


def test_aio_pull_subscribe_forms(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="PSF", subjects=["psf.*"], storage="memory")
            eph = await js.pull_subscribe("psf.a")
            assert eph.stream == "PSF" and eph.consumer in await js.consumer_names("PSF")
            assert (await eph.consumer_info()).config.durable_name is None
            await eph.unsubscribe()
            assert eph.consumer not in await js.consumer_names("PSF")
            dur = await js.pull_subscribe("psf.b", durable="keep")
            await dur.unsubscribe()
            assert await js.consumer_names("PSF") == ["keep"]
            await js.publish("psf.b", b"1")
            bound = await js.pull_subscribe_bind("keep", "PSF")
            assert [m.data for m in await bound.fetch(1, timeout=2)] == [b"1"]
            with pytest.raises(swiftnats.ConsumerNotFoundError):
                await js.pull_subscribe_bind("missing", "PSF")
            with pytest.raises(swiftnats.NotFoundError):
                await js.pull_subscribe("no.stream.here")

    run(main())


def test_aio_work_queue_shared_by_two_pull_subscriptions(js_url):
    total = 300

    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="WQ", subjects=["wq.jobs"], retention="workqueue", storage="memory")
            first = await js.pull_subscribe("wq.jobs", durable="workers")
            second = await js.pull_subscribe("wq.jobs", durable="workers")
            assert await js.consumer_names("WQ") == ["workers"]
            for i in range(total):
                await js.publish_async("wq.jobs", b"%d" % i)
            await js.publish_async_completed()
            got: dict[str, list[int]] = {"first": [], "second": []}
            done = asyncio.Event()

            async def work(name, psub):
                while not done.is_set():
                    try:
                        batch = await psub.fetch(7, timeout=0.5)
                    except swiftnats.TimeoutError:
                        continue
                    for m in batch:
                        await m.ack()
                    got[name] += [int(m.data) for m in batch]
                    if len(got["first"]) + len(got["second"]) >= total:
                        done.set()

            await asyncio.wait_for(asyncio.gather(work("first", first), work("second", second)), 30)
            assert sorted(got["first"] + got["second"]) == list(range(total))
            assert got["first"] and got["second"]
            await until_async(lambda: _stream_messages_are(js, "WQ", 0), what="the work queue emptied")
            assert (await js.consumer_info("WQ", "workers")).num_ack_pending == 0

    run(main())


async def _stream_messages_are(js: JetStreamContext, name: str, count: int) -> bool:
    return (await js.stream_info(name)).state.messages == count


def test_aio_registry_after_jetstream_calls(js_url):
    async def main():
        async with await aio.connect(js_url) as nc:
            js = nc.jetstream()
            await js.add_stream(name="REG", subjects=["reg"], storage="memory")
            psub = await js.pull_subscribe("reg", durable="reg")
            baseline = _runtime.registry_size()
            for i in range(10):
                await js.publish("reg", b"%d" % i)
            msgs = await fetch_all(psub, 10)
            await asyncio.gather(*(m.ack_sync() for m in msgs))
            with pytest.raises(swiftnats.TimeoutError):
                await psub.fetch(1, timeout=0.2)
            await js.get_msg("REG", 1)
            with pytest.raises(swiftnats.StreamNotFoundError):
                await js.stream_info("NOPE")
            assert _runtime.registry_size() == baseline + 1  # the context's acks route, not one per call

    run(main())


# -- interoperation with nats-py ---------------------------------------------------------------


def test_interop_nats_py_publishes_swiftnats_fetches(js_url):
    nats = pytest.importorskip("nats")

    async def main():
        theirs = await nats.connect(js_url)
        ours = await aio.connect(js_url)
        try:
            their_js = theirs.jetstream()
            js = ours.jetstream()
            # a stream made by swiftnats, durations as nats-py reads them
            await js.add_stream(name="IOP", subjects=["iop.*"], retention="workqueue", max_age=3600)
            their_info = await their_js.stream_info("IOP")
            assert their_info.config.max_age == 3600.0 and getattr(their_info.config.retention, "value", their_info.config.retention) == "workqueue"

            their_acks = []
            for i in range(50):
                their_acks.append(await their_js.publish("iop.in", b"%d" % i, headers={"K": f"v{i}"}))
            dup = await their_js.publish("iop.in", b"dup", headers={"Nats-Msg-Id": "m-1"})
            again = await their_js.publish("iop.in", b"dup", headers={"Nats-Msg-Id": "m-1"})
            assert again.duplicate and again.seq == dup.seq
            assert [a.seq for a in their_acks] == list(range(1, 51)) and dup.seq == 51

            psub = await js.pull_subscribe("iop.in", durable="swift")
            msgs = await fetch_all(psub, 51)
            assert [m.data for m in msgs[:50]] == [b"%d" % i for i in range(50)]
            assert [m.headers for m in msgs[:50]] == [{"K": f"v{i}"} for i in range(50)]
            assert msgs[50].data == b"dup" and msgs[50].headers == {"Nats-Msg-Id": "m-1"}
            assert [m.metadata.sequence.stream for m in msgs] == list(range(1, 52))
            for m in msgs:
                await m.ack()
            await until_async(lambda: _ack_pending_is(psub, 0), what="swiftnats' acks recorded")
            info = await psub.consumer_info()
            assert info.num_ack_pending == 0 and info.num_pending == 0
            await until_async(lambda: _stream_messages_are(js, "IOP", 0), what="the work queue emptied")
            assert (await their_js.stream_info("IOP")).state.messages == 0
            their_consumer = await their_js.consumer_info("IOP", "swift")
            assert their_consumer.num_ack_pending == 0 and their_consumer.delivered.stream_seq == 51
        finally:
            await ours.close()
            await theirs.close()

    run(main())


def test_interop_swiftnats_publishes_nats_py_fetches(js_url):
    nats = pytest.importorskip("nats")

    async def main():
        theirs = await nats.connect(js_url)
        ours = await aio.connect(js_url)
        try:
            their_js = theirs.jetstream()
            js = ours.jetstream()
            # a stream made by nats-py, read by swiftnats
            await their_js.add_stream(name="IOP2", subjects=["iop2.*"], max_age=60)
            assert (await js.stream_info("IOP2")).config.max_age == 60.0

            acks = []
            for i in range(40):
                acks.append(await js.publish("iop2.x", b"%d" % i, headers={"H": f"h{i}"}, msg_id=f"id-{i}"))
            again = await js.publish("iop2.x", b"again", msg_id="id-0")
            assert again.duplicate is True and again.seq == acks[0].seq
            futures = [await js.publish_async("iop2.x", b"a%d" % i, msg_id=f"async-{i}") for i in range(10)]
            await js.publish_async_completed()
            acks += [f.result() for f in futures]
            assert [a.seq for a in acks] == list(range(1, 51))

            # a consumer made by swiftnats, seen by nats-py with its durations in seconds
            await js.add_consumer("IOP2", durable_name="py", ack_policy="explicit", ack_wait=30,
                                  filter_subject="iop2.x")
            assert (await their_js.consumer_info("IOP2", "py")).config.ack_wait == 30.0
            their_psub = await their_js.pull_subscribe("iop2.x", durable="py", stream="IOP2")
            got = []
            deadline = time.monotonic() + 10
            while len(got) < 50 and time.monotonic() < deadline:
                try:
                    batch = await their_psub.fetch(50 - len(got), timeout=1)
                except nats.errors.TimeoutError:
                    continue
                for m in batch:
                    await m.ack()
                got += batch
            assert len(got) == 50
            assert [m.data for m in got] == [b"%d" % i for i in range(40)] + [b"a%d" % i for i in range(10)]
            for i, m in enumerate(got[:40]):
                assert m.headers["H"] == f"h{i}" and m.headers["Nats-Msg-Id"] == f"id-{i}"
            assert [m.headers["Nats-Msg-Id"] for m in got[40:]] == [f"async-{i}" for i in range(10)]
            assert [m.metadata.sequence.stream for m in got] == [a.seq for a in acks]
            assert [m.metadata.sequence.consumer for m in got] == list(range(1, 51))
            assert {m.metadata.num_delivered for m in got} == {1}
            assert {m.metadata.stream for m in got} == {"IOP2"} and {m.metadata.consumer for m in got} == {"py"}
            await theirs.flush()
            await until_async(lambda: _consumer_done(js, "IOP2", "py"), what="nats-py's acks recorded")

            # nats-py reads back what swiftnats stored
            stored = await their_js.get_msg("IOP2", acks[3].seq)
            assert stored.data == b"3" and stored.headers["H"] == "h3"
        finally:
            await ours.close()
            await theirs.close()

    run(main())


async def _consumer_done(js: JetStreamContext, stream: str, consumer: str) -> bool:
    info = await js.consumer_info(stream, consumer)
    return info.num_ack_pending == 0 and info.num_pending == 0
