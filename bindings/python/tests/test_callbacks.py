"""What callbacks may do, and how their errors are reported."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from conftest import eventually

import swiftnats
from swiftnats import _runtime


@pytest.mark.parametrize(
    "how",
    ["unsubscribe", "close", "drain"],
)
def test_callback_ends_its_own_subscription(nc, how):
    got = []
    holder = {}
    first = threading.Event()

    def cb(msg):
        got.append(msg.data)
        if len(got) == 1:
            sub = holder["sub"]
            if how == "unsubscribe":
                sub.unsubscribe()
            elif how == "close":
                sub.close()
            else:
                sub.drain(timeout=5.0)
            first.set()

    holder["sub"] = nc.subscribe("self.end", cb=cb)
    nc.flush()
    nc.publish("self.end", b"first")
    assert first.wait(5)
    for i in range(5):
        nc.publish("self.end", b"%d" % i)
    nc.flush()
    time.sleep(0.2)  # show that nothing more is delivered
    assert got == [b"first"]
    eventually(lambda: not holder["sub"].is_valid, timeout=2.0, what="the subscription ended")


def test_callback_calls_request(nc):
    nc.subscribe("svc.double", cb=lambda m: m.respond(m.data * 2))
    results = []
    done = threading.Event()

    def trigger(msg):
        reply = nc.request("svc.double", msg.data, timeout=5.0)  # blocking call in a callback
        nc.flush(timeout=5.0)
        results.append(reply.data)
        if len(results) == 3:
            done.set()

    nc.subscribe("trigger", cb=trigger)
    nc.flush()
    for word in (b"a", b"bc", b"def"):
        nc.publish("trigger", word)
    assert done.wait(10), results
    assert results == [b"aa", b"bcbc", b"defdef"]


def test_callback_closes_connection(nats_server):
    # Client.close() in a callback: snats_conn_close() there, snats_conn_destroy() on another
    # thread. Repeated: the closed callback used to be lost in about one run in two (destroy
    # returned before it ran), fixed in the library at 4264cf0.
    for attempt in range(10):
        closed = threading.Event()
        nc = swiftnats.connect(nats_server, closed_cb=closed.set)
        returned = threading.Event()

        def cb(msg, nc=nc, returned=returned):
            nc.close()  # from a callback of this very connection
            returned.set()

        nc.subscribe("close.me", cb=cb)
        nc.flush()
        nc.publish("close.me", b"")
        assert returned.wait(5)
        eventually(lambda: nc.is_closed, what="closed")
        assert closed.wait(2), f"closed_cb not called (attempt {attempt})"
        nc.close()


def test_callback_closes_connection_client_usable_after(nats_server):
    nc = swiftnats.connect(nats_server)
    returned = threading.Event()

    def cb(msg):
        nc.close()
        returned.set()

    nc.subscribe("close.me", cb=cb)
    nc.flush()
    nc.publish("close.me", b"")
    assert returned.wait(5)
    eventually(lambda: nc.is_closed, what="closed")
    with pytest.raises(swiftnats.ConnectionClosedError):
        nc.publish("x", b"")
    nc.close()


def test_closed_cb_from_server_side_close(server):
    closed, disconnected = threading.Event(), threading.Event()
    nc = swiftnats.connect(server.url, closed_cb=closed.set, disconnected_cb=disconnected.set)
    nc.close()
    assert closed.is_set()
    assert not disconnected.is_set()  # only when the server side ends the connection


def test_error_cb_slow_consumer(nats_server):
    errors = []
    got_error = threading.Event()

    def on_error(err, sub):
        errors.append((err, sub))
        got_error.set()

    release = threading.Event()
    nc = swiftnats.connect(nats_server, pending_msgs_limit=5, error_cb=on_error)
    try:
        sub = nc.subscribe("burst", cb=lambda m: release.wait(10))
        nc.flush()
        for i in range(50):
            nc.publish("burst", b"%d" % i)
        nc.flush()
        assert got_error.wait(5), "no slow consumer error"
        err, where = errors[0]
        assert isinstance(err, swiftnats.SlowConsumerError)
        assert err.status == swiftnats.Status.SLOW_CONSUMER
        assert where is sub
        release.set()
        eventually(lambda: sub.delivered + sub.dropped == 50, what=f"{sub.delivered}+{sub.dropped}")
        assert sub.dropped > 0
        assert len([e for e, _ in errors if isinstance(e, swiftnats.SlowConsumerError)]) == 1  # once per episode
    finally:
        release.set()
        nc.close()


def test_error_cb_slow_consumer_sync_subscription(nats_server):
    errors = []
    nc = swiftnats.connect(nats_server, error_cb=lambda err, sub: errors.append((err, sub)))
    try:
        sub = nc.subscribe("burst.sync", pending_msgs_limit=3)
        nc.flush()
        for i in range(10):
            nc.publish("burst.sync", b"%d" % i)
        nc.flush()
        eventually(lambda: errors, what="slow consumer error")
        assert isinstance(errors[0][0], swiftnats.SlowConsumerError) and errors[0][1] is sub
        eventually(lambda: sub.dropped == 7, what=f"dropped {sub.dropped}")
        assert [sub.next_msg(timeout=5.0).data for _ in range(3)] == [b"0", b"1", b"2"]
    finally:
        nc.close()


def test_callback_exception_goes_to_error_cb(nats_server):
    reported = []
    got = threading.Event()

    def on_error(err, sub):
        reported.append((err, sub))
        got.set()

    with swiftnats.connect(nats_server, error_cb=on_error) as nc:
        delivered = []

        def bad(msg):
            delivered.append(msg.data)
            raise RuntimeError(f"boom {msg.data!r}")

        sub = nc.subscribe("raise", cb=bad)
        nc.flush()
        nc.publish("raise", b"1")
        nc.publish("raise", b"2")
        eventually(lambda: len(reported) == 2, what=f"reported {reported}")
        assert [str(e) for e, _ in reported] == ["boom b'1'", "boom b'2'"]
        assert all(isinstance(e, RuntimeError) and s is sub for e, s in reported)
        assert delivered == [b"1", b"2"]  # the subscription survives the exceptions
        assert sub.is_valid


def test_callback_exception_logged_without_error_cb(nc, caplog):
    caplog.set_level(logging.ERROR, logger="swiftnats")
    done = threading.Event()

    def bad(msg):
        try:
            raise ValueError("logged, not lost")
        finally:
            done.set()

    nc.subscribe("raise.log", cb=bad)
    nc.flush()
    nc.publish("raise.log", b"")
    assert done.wait(5)
    eventually(lambda: any("logged, not lost" in (r.exc_text or "") or
                           (r.exc_info and "logged, not lost" in str(r.exc_info[1]))
                           for r in caplog.records), what="log record")


def test_error_cb_exception_is_logged(nats_server, caplog):
    caplog.set_level(logging.ERROR, logger="swiftnats")

    def broken_error_cb(err, sub):
        raise KeyError("error_cb itself fails")

    with swiftnats.connect(nats_server, error_cb=broken_error_cb) as nc:
        nc.subscribe("raise.twice", cb=lambda m: 1 / 0)
        nc.flush()
        nc.publish("raise.twice", b"")
        eventually(lambda: any(r.exc_info and isinstance(r.exc_info[1], (KeyError, ZeroDivisionError))
                               for r in caplog.records), what="log record")
        nc.flush()  # still usable


def test_closed_cb_exception_goes_to_error_cb(nats_server):
    reported = []

    def closed():
        raise RuntimeError("closed_cb fails")

    nc = swiftnats.connect(nats_server, closed_cb=closed, error_cb=lambda e, s: reported.append((e, s)))
    nc.close()
    assert len(reported) == 1
    assert isinstance(reported[0][0], RuntimeError) and reported[0][1] is None


def test_coroutine_callback_rejected(nc):
    async def cb(msg):  # pragma: no cover
        pass

    with pytest.raises(TypeError):
        nc.subscribe("x", cb=cb)


def test_registry_released(nats_server):
    baseline = _runtime.registry_size()

    def use_and_close():
        with swiftnats.connect(nats_server, closed_cb=lambda: None) as nc:
            subs = [nc.subscribe(f"reg.{i}", cb=lambda m: None) for i in range(5)]
            auto = nc.subscribe("reg.auto", cb=lambda m: None, max_msgs=1)
            nc.publish("reg.auto", b"")
            nc.flush()
            eventually(lambda: auto.delivered == 1)
            for s in subs[:2]:
                s.close()
            # the connection's events + 3 open subscriptions + the auto-unsubscribed one
            assert _runtime.registry_size() == baseline + 1 + 4

    use_and_close()
    eventually(lambda: _runtime.registry_size() == baseline, what="registry back to baseline")


def test_many_messages_through_callback(nc):
    total = 5000
    count = [0]
    done = threading.Event()

    def cb(msg):
        count[0] += 1
        if count[0] == total:
            done.set()

    nc.subscribe("many", cb=cb)
    nc.flush()
    for i in range(total):
        nc.publish("many", b"x" * 16)
    assert done.wait(30), count[0]
