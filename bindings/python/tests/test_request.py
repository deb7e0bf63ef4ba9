"""Request / reply."""

from __future__ import annotations

import threading
import time

import pytest

import swiftnats


@pytest.mark.parametrize("responder_kind", ["msg.respond", "publish-to-reply", "sync-responder"])
def test_request_reply(nc, responder_kind):
    stop = threading.Event()
    worker = None
    if responder_kind == "msg.respond":
        nc.subscribe("svc.echo", cb=lambda m: m.respond(b"echo:" + m.data))
    elif responder_kind == "publish-to-reply":
        nc.subscribe("svc.echo", cb=lambda m: nc.publish(m.reply, b"echo:" + m.data))
    else:
        sub = nc.subscribe("svc.echo")

        def serve():
            while not stop.is_set():
                try:
                    m = sub.next_msg(timeout=0.1)
                except swiftnats.TimeoutError:
                    continue
                m.respond(b"echo:" + m.data)

        worker = threading.Thread(target=serve)
        worker.start()
    try:
        nc.flush()
        for i in range(5):
            reply = nc.request("svc.echo", b"%d" % i, timeout=5.0)
            assert reply.data == b"echo:%d" % i
            assert reply.subject.startswith("_INBOX.")
            assert reply.status == 0
    finally:
        stop.set()
        if worker:
            worker.join()


def test_request_from_many_threads(nc):
    nc.subscribe("svc.add", cb=lambda m: m.respond(str(sum(map(int, m.data.split()))).encode()))
    nc.flush()
    results, errors = {}, []

    def client(n):
        try:
            results[n] = nc.request("svc.add", b"%d %d" % (n, n), timeout=5.0).data
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == {n: str(2 * n).encode() for n in range(20)}


def test_no_responders(nc):
    start = time.monotonic()
    with pytest.raises(swiftnats.NoRespondersError) as info:
        nc.request("nobody.listens", b"hi", timeout=10.0)
    assert info.value.status == swiftnats.Status.NO_RESPONDERS
    assert time.monotonic() - start < 5.0  # immediate, not the 10 s timeout


def test_request_timeout(nc):
    nc.subscribe("svc.silent", cb=lambda m: None)  # a responder that never answers
    nc.flush()
    with pytest.raises(swiftnats.TimeoutError) as info:
        nc.request("svc.silent", b"", timeout=0.2)
    assert isinstance(info.value, TimeoutError)
    assert info.value.status == swiftnats.Status.TIMEOUT


def test_respond_without_reply_subject(nc):
    sub = nc.subscribe("noreply")
    nc.publish("noreply", b"x")
    msg = sub.next_msg(timeout=5.0)
    assert msg.reply == ""
    with pytest.raises(swiftnats.InvalidArgumentError):
        msg.respond(b"nobody to answer")


def test_request_closed_during_wait(nats_server):
    nc = swiftnats.connect(nats_server)
    nc.subscribe("svc.slow", cb=lambda m: None)
    nc.flush()
    errors = []
    started = threading.Event()

    def waiter():
        started.set()
        try:
            nc.request("svc.slow", b"", timeout=30.0)
        except Exception as e:
            errors.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    started.wait()
    time.sleep(0.1)  # let the request reach its wait
    nc.close()
    t.join(10)
    assert not t.is_alive(), "request not woken by close"
    assert len(errors) == 1 and isinstance(errors[0], swiftnats.ConnectionClosedError), errors
