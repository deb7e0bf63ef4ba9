"""Subscription life: next_msg, auto-unsubscribe, drain, pending counts, close."""

from __future__ import annotations

import builtins
import gc
import threading
import time

import pytest

from conftest import eventually

import swiftnats
from swiftnats import _runtime


@pytest.mark.parametrize(
    "error", [swiftnats.TimeoutError, builtins.TimeoutError, swiftnats.SwiftNatsError],
    ids=["swiftnats.TimeoutError", "builtins.TimeoutError", "SwiftNatsError"],
)
def test_next_msg_timeout(nc, error):
    sub = nc.subscribe("quiet")
    start = time.monotonic()
    with pytest.raises(error) as info:
        sub.next_msg(timeout=0.1)
    assert info.value.status == swiftnats.Status.TIMEOUT
    assert time.monotonic() - start >= 0.09


def test_next_msg_with_zero_timeout_polls(nc):
    sub = nc.subscribe("poll")
    start = time.monotonic()
    for _ in range(50):
        with pytest.raises(swiftnats.TimeoutError):
            sub.next_msg(timeout=0)
    assert time.monotonic() - start < 0.5
    nc.publish("poll", b"x")
    nc.flush()
    deadline = time.monotonic() + 5
    while sub.pending[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert sub.next_msg(timeout=0).data == b"x"
    with pytest.raises(swiftnats.InvalidArgumentError):
        sub.next_msg(timeout=-1)


def test_next_msg_in_order(nc):
    sub = nc.subscribe("order")
    for i in range(100):
        nc.publish("order", b"%d" % i)
    assert [sub.next_msg(timeout=5.0).data for _ in range(100)] == [b"%d" % i for i in range(100)]
    assert sub.delivered == 100


def test_next_msg_on_callback_subscription(nc):
    sub = nc.subscribe("cbsub", cb=lambda m: None)
    with pytest.raises(swiftnats.IllegalStateError):
        sub.next_msg(timeout=0.1)


@pytest.mark.parametrize("how", ["unsubscribe-limit", "max_msgs"])
def test_auto_unsubscribe_callback(nc, how):
    got = []
    cb = lambda m: got.append(m.data)  # noqa: E731
    if how == "max_msgs":
        sub = nc.subscribe("auto", cb=cb, max_msgs=3)
    else:
        sub = nc.subscribe("auto", cb=cb)
        sub.unsubscribe(limit=3)
    nc.flush()
    for i in range(10):
        nc.publish("auto", b"%d" % i)
    nc.flush()
    eventually(lambda: len(got) >= 3, what=f"3 messages, got {got}")
    time.sleep(0.2)  # show that no fourth one comes
    assert got == [b"0", b"1", b"2"]
    assert sub.delivered == 3
    eventually(lambda: not sub.is_valid, what="subscription ended after its limit")


@pytest.mark.parametrize("how", ["unsubscribe-limit", "max_msgs"])
def test_auto_unsubscribe_sync(nc, how):
    sub = nc.subscribe("auto.sync", max_msgs=3) if how == "max_msgs" else nc.subscribe("auto.sync")
    if how == "unsubscribe-limit":
        sub.unsubscribe(limit=3)
    nc.flush()
    for i in range(10):
        nc.publish("auto.sync", b"%d" % i)
    nc.flush()
    assert [sub.next_msg(timeout=5.0).data for _ in range(3)] == [b"0", b"1", b"2"]
    with pytest.raises(swiftnats.MaxDeliveredError):
        sub.next_msg(timeout=0.5)
    assert sub.delivered == 3


def test_auto_unsubscribe_after_some_delivered(nc):
    sub = nc.subscribe("auto.late")
    for i in range(2):
        nc.publish("auto.late", b"%d" % i)
    assert [sub.next_msg(timeout=5.0).data for _ in range(2)] == [b"0", b"1"]
    sub.unsubscribe(limit=3)  # counts the two already delivered
    for i in range(2, 6):
        nc.publish("auto.late", b"%d" % i)
    assert sub.next_msg(timeout=5.0).data == b"2"
    with pytest.raises(swiftnats.MaxDeliveredError):
        sub.next_msg(timeout=0.5)


def test_unsubscribe(nc):
    sub = nc.subscribe("unsub")
    nc.publish("unsub", b"before")
    nc.flush()
    sub.unsubscribe()
    assert not sub.is_valid
    with pytest.raises(swiftnats.InvalidSubscriptionError):
        sub.next_msg(timeout=0.1)
    with pytest.raises(swiftnats.InvalidSubscriptionError):
        sub.unsubscribe()
    assert repr(sub) == "<Subscription 'unsub' sync ended>"


def test_unsubscribe_negative_limit(nc):
    with pytest.raises(ValueError):
        nc.subscribe("x").unsubscribe(limit=-1)


@pytest.mark.parametrize("mode", ["callback", "sync"])
def test_subscription_drain(nc, mode):
    total = 50
    got = []
    if mode == "callback":
        def cb(msg):
            time.sleep(0.002)  # slow consumer: messages queue up
            got.append(msg.data)
        sub = nc.subscribe("drain.sub", cb=cb)
    else:
        sub = nc.subscribe("drain.sub")
    nc.flush()
    for i in range(total):
        nc.publish("drain.sub", b"%d" % i)
    if mode == "callback":
        sub.drain(timeout=10.0)
        assert got == [b"%d" % i for i in range(total)]
    else:
        done = []
        t = threading.Thread(target=lambda: done.append(sub.drain(timeout=10.0)))
        t.start()
        while True:
            try:
                got.append(sub.next_msg(timeout=5.0).data)
            except (swiftnats.InvalidSubscriptionError, swiftnats.TimeoutError):
                break
        t.join(10)
        assert done == [None]
        assert got == [b"%d" % i for i in range(total)]
    assert not sub.is_valid
    assert sub.delivered == total
    nc.publish("drain.sub", b"after")
    nc.flush()
    assert sub.delivered == total




@pytest.mark.parametrize("what", ["subscription", "connection"])
def test_drain_timeout(nats_server, what):
    nc = swiftnats.connect(nats_server)
    release = threading.Event()
    entered = threading.Event()

    def stuck(msg):
        entered.set()
        release.wait(5)

    sub = nc.subscribe("drain.stuck", cb=stuck)
    nc.flush()
    for _ in range(3):
        nc.publish("drain.stuck", b"")
    nc.flush()
    assert entered.wait(5)
    outcome = []

    def drain():
        try:
            (sub if what == "subscription" else nc).drain(timeout=0.2)
            outcome.append(None)
        except Exception as e:
            outcome.append(e)

    t = threading.Thread(target=drain)
    t.start()
    try:
        t.join(2.0)  # ten times the drain timeout, while the callback is still blocked
        returned_in_time = not t.is_alive()
    finally:
        release.set()
        t.join(10)
        nc.close()
    assert len(outcome) == 1 and isinstance(outcome[0], swiftnats.TimeoutError), outcome
    assert not sub.is_valid
    assert returned_in_time, "drain(timeout=0.2) still blocked after 2 s"


def test_pending_and_limits(nc):
    release = threading.Event()
    entered = threading.Event()

    def blocked(msg):
        entered.set()
        release.wait(10)

    sub = nc.subscribe("pending", cb=blocked)
    sub.set_pending_limits(1000, 10_000_000)
    nc.flush()
    for _ in range(11):
        nc.publish("pending", b"12345")
    nc.flush()
    assert entered.wait(5)
    eventually(lambda: sub.pending == (10, 50), what=f"pending {sub.pending}")
    release.set()
    eventually(lambda: sub.pending == (0, 0) and sub.delivered == 11, what="all delivered")
    assert sub.dropped == 0


def test_set_pending_limits_invalid(nc):
    sub = nc.subscribe("limits")
    with pytest.raises(swiftnats.InvalidArgumentError):
        sub.set_pending_limits(-1, 0)
    sub.close()
    with pytest.raises(swiftnats.InvalidSubscriptionError):
        sub.set_pending_limits(10, 10)


def test_close_idempotent_and_context_manager(nc):
    baseline = _runtime.registry_size()
    with nc.subscribe("ctx", cb=lambda m: None) as sub:
        assert sub.is_valid
        assert _runtime.registry_size() == baseline + 1
    assert sub.is_closed and not sub.is_valid
    sub.close()
    sub.close()
    assert _runtime.registry_size() == baseline
    assert repr(sub) == "<Subscription 'ctx' async closed>"
    assert sub.pending == (0, 0)
    with pytest.raises(swiftnats.InvalidSubscriptionError):
        sub.unsubscribe()


def test_counters_survive_close(nc):
    sub = nc.subscribe("count")
    nc.publish("count", b"a")
    nc.publish("count", b"b")
    sub.next_msg(timeout=5.0)
    sub.next_msg(timeout=5.0)
    sub.close()
    assert sub.delivered == 2 and sub.dropped == 0


def test_next_msg_woken_by_close_from_other_thread(nc):
    sub = nc.subscribe("wake")
    errors = []

    def reader():
        try:
            sub.next_msg(timeout=30.0)
        except swiftnats.SwiftNatsError as e:
            errors.append(e)

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.1)  # let the reader block
    sub.close()
    t.join(10)
    assert not t.is_alive(), "next_msg not woken by close"
    assert len(errors) == 1 and isinstance(errors[0], swiftnats.InvalidSubscriptionError), errors


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda sub: sub.next_msg(timeout=0.5), swiftnats.ConnectionClosedError),
        (lambda sub: sub.unsubscribe(), swiftnats.ConnectionClosedError),
        (lambda sub: sub.drain(timeout=0.5), swiftnats.ConnectionClosedError),
        (lambda sub: sub.unsubscribe(limit=5), swiftnats.ConnectionClosedError),
        (lambda sub: sub.set_pending_limits(10, 10), swiftnats.InvalidSubscriptionError),
    ],
    ids=["next_msg", "unsubscribe", "drain", "auto-unsubscribe", "set_pending_limits"],
)
def test_subscription_after_client_close(nats_server, call, error):
    nc = swiftnats.connect(nats_server)
    sub = nc.subscribe("after")
    cbsub = nc.subscribe("after.cb", cb=lambda m: None)
    nc.publish("after", b"x")
    nc.flush()
    nc.close()
    assert not sub.is_valid and not cbsub.is_valid
    with pytest.raises(error) as info:
        call(sub)
    assert type(info.value) is error
    sub.close()
    cbsub.close()


def test_unreferenced_sync_subscription_is_destroyed(nc):
    baseline = _runtime.registry_size()
    sub = nc.subscribe("gone")
    finalizer = sub._finalizer
    del sub
    gc.collect()
    assert not finalizer.alive
    assert _runtime.registry_size() == baseline


# -- what a message says of its arrival ----------------------------------------------------------


def test_a_message_knows_its_subscription_and_receive_time(nc):
    got = []
    before = time.time()
    cb_sub = nc.subscribe("origin.cb", cb=got.append)
    sync_sub = nc.subscribe("origin.sync")
    nc.flush()
    nc.publish("origin.cb", b"1", headers={"K": ["a", "b"]})
    nc.publish("origin.sync", b"2")
    nc.flush()
    msg = sync_sub.next_msg(timeout=2)
    deadline = time.time() + 2
    while not got and time.time() < deadline:
        time.sleep(0.01)
    after = time.time()
    assert msg.sub is sync_sub and got[0].sub is cb_sub
    assert before <= msg.received_at <= after and before <= got[0].received_at <= after
    # the header block, parsed by the library on first read
    assert got[0].headers == {"K": "a"} and got[0].header_values("K") == ["a", "b"] and got[0].status == 0
    made = swiftnats.Msg("by.hand", data=b"x", headers={"A": "1"}, status=503, description="No Responders")
    assert made.sub is None and made.received_at == 0.0
    assert (made.headers, made.status, made.description) == ({"A": "1"}, 503, "No Responders")


def test_aio_messages_know_their_subscription(nats_server):
    import asyncio

    from swiftnats import aio

    async def main():
        async with await aio.connect(nats_server) as nc:
            got = []
            cb_sub = await nc.subscribe("aorigin.cb", cb=got.append)
            it_sub = await nc.subscribe("aorigin.it")
            await nc.flush()
            await nc.publish("aorigin.cb", b"1")
            await nc.publish("aorigin.it", b"2", headers={"H": "v"})
            msg = await it_sub.next_msg(timeout=2)
            for _ in range(200):
                if got:
                    break
                await asyncio.sleep(0.01)
            assert msg.sub is it_sub and got[0].sub is cb_sub
            assert msg.headers == {"H": "v"} and msg.received_at > 0

    asyncio.run(main())
