"""The asyncio layer."""

from __future__ import annotations

import asyncio

import pytest

import swiftnats
from swiftnats import aio


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


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

    run(main())


def test_aio_next_msg_timeout_and_iteration(nats_server):
    async def main():
        nc = await aio.connect(nats_server)
        try:
            sub = await nc.subscribe("aio.sync", max_msgs=3)
            with pytest.raises(asyncio.TimeoutError):
                await sub.next_msg(timeout=0.1)
            for i in range(5):
                await nc.publish("aio.sync", b"%d" % i)
            await nc.flush()
            assert [m.data async for m in sub.messages] == [b"0", b"1", b"2"]
        finally:
            await nc.close()

    run(main())


def test_aio_callbacks(nats_server):
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

        await nc.subscribe("aio.bad", cb=bad)
        await nc.flush()
        await nc.publish("aio.bad", b"")
        for _ in range(500):
            if events:
                break
            await asyncio.sleep(0.01)
        assert events == [("RuntimeError", "aio.bad")]
        await nc.close()
        await asyncio.wait_for(closed.wait(), 5)
        assert events[-1] == "closed"

    run(main())


def test_aio_no_responders(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            with pytest.raises(swiftnats.NoRespondersError):
                await nc.request("aio.nobody", b"", timeout=5.0)

    run(main())
