"""Publishes buffered in Python (swiftnats/outbox.py): they arrive, in order, also around
direct calls and from many threads; what the library refuses at the call still raises there,
and what it refuses at the hand-over reaches error_cb."""

from __future__ import annotations

import struct
import threading
import time

import pytest

from conftest import NATSServer, free_port


import swiftnats


def _records_waiting(nc) -> int:
    return len(nc._outbox._records)


def _drain_sub(sub, count, timeout=5.0):
    return [sub.next_msg(timeout=timeout) for _ in range(count)]


def test_second_publish_on_a_subject_is_buffered_and_the_flusher_sends_it(nats_server):
    with swiftnats.connect(nats_server) as sub_nc, swiftnats.connect(nats_server) as nc:
        sub = sub_nc.subscribe("ob.flusher")
        sub_nc.flush()
        nc.publish("ob.flusher", b"first")  # direct: the subject is new
        assert _records_waiting(nc) == 0
        nc.publish("ob.flusher", b"second")  # buffered
        # Nothing on this thread calls the library: only the flusher thread can hand it over.
        deadline = time.monotonic() + 5
        while _records_waiting(nc) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert _records_waiting(nc) == 0
        assert [m.data for m in _drain_sub(sub, 2)] == [b"first", b"second"]


def test_buffered_and_direct_publishes_keep_their_order(nc, nats_server):
    with swiftnats.connect(nats_server) as sub_nc:
        sub = sub_nc.subscribe("ob.order")
        sub.set_pending_limits(0, 0)
        sub_nc.flush()
        for i in range(2000):
            data = str(i).encode()
            if i % 7 == 0:
                nc.publish("ob.order", data, headers={"n": str(i)})  # direct
            elif i % 11 == 0:
                nc.publish("ob.order", data, reply="ob.reply")  # direct
            elif i % 13 == 0:
                nc.publish("ob.order", bytearray(data))  # direct: not bytes
            else:
                nc.publish("ob.order", data)  # buffered
        got = [int(m.data) for m in _drain_sub(sub, 2000)]
        assert got == list(range(2000))


def test_a_request_follows_the_publishes_made_before_it(nc, nats_server):
    counted = [0]

    def handler(msg):  # one subscription, so one thread sees both subjects in wire order
        if msg.subject == "ob.count.add":
            counted[0] += 1
        else:
            msg.respond(str(counted[0]).encode())

    with swiftnats.connect(nats_server) as responder:
        responder.subscribe("ob.count.>", cb=handler).set_pending_limits(0, 0)
        responder.flush()
        for round_ in range(1, 4):
            for _ in range(500):
                nc.publish("ob.count.add", b"")
            assert nc.request("ob.count.query", b"", timeout=5).data == str(500 * round_).encode()


def test_threads_publish_concurrently_without_loss_or_reordering(nc, nats_server):
    threads, per_thread = 4, 5000
    with swiftnats.connect(nats_server) as sub_nc:
        sub = sub_nc.subscribe("ob.threads")
        sub.set_pending_limits(0, 0)
        sub_nc.flush()
        start = threading.Barrier(threads)

        def publisher(tid):
            start.wait()
            for seq in range(per_thread):
                nc.publish("ob.threads", f"{tid}:{seq}".encode())

        workers = [threading.Thread(target=publisher, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        nc.flush()
        last = {t: -1 for t in range(threads)}
        for msg in _drain_sub(sub, threads * per_thread):
            tid, seq = map(int, msg.data.split(b":"))
            assert seq == last[tid] + 1, f"thread {tid}: {seq} after {last[tid]}"
            last[tid] = seq
        assert last == {t: per_thread - 1 for t in range(threads)}
        with pytest.raises(swiftnats.TimeoutError):
            sub.next_msg(timeout=0.2)
        assert nc.stats["out_msgs"] == threads * per_thread


def test_close_hands_over_what_is_buffered(nats_server):
    with swiftnats.connect(nats_server) as sub_nc:
        sub = sub_nc.subscribe("ob.close")
        sub.set_pending_limits(0, 0)
        sub_nc.flush()
        nc = swiftnats.connect(nats_server)
        for i in range(3000):
            nc.publish("ob.close", str(i).encode())
        nc.close()
        assert [int(m.data) for m in _drain_sub(sub, 3000)] == list(range(3000))


def test_what_the_library_would_refuse_still_raises_at_the_call(nc):
    nc.publish("ob.known", b"x")  # learnt: the next ones take the buffered path
    with pytest.raises(swiftnats.MaxPayloadError):
        nc.publish("ob.known", b"x" * (nc.max_payload + 1))
    with pytest.raises(swiftnats.InvalidSubjectError):
        nc.publish("ob.bad subject", b"x")
    with pytest.raises(TypeError):
        nc.publish("ob.known", "text")
    assert "ob.bad subject" not in nc._outbox._subjects
    nc.close()
    with pytest.raises(swiftnats.ConnectionClosedError):
        nc.publish("ob.known", b"x")


def test_replies_go_out_at_once_and_are_not_learnt(nc, nats_server):
    with swiftnats.connect(nats_server) as responder:
        responder.subscribe("ob.echo", cb=lambda m: m.respond(m.data))
        responder.flush()
        for i in range(20):
            assert nc.request("ob.echo", str(i).encode(), timeout=5).data == str(i).encode()
        assert responder._outbox._subjects == {}


def _record(subject: bytes, payload: bytes) -> bytes:
    return struct.pack("=IIII", len(subject), 0, 0, len(payload)) + subject + payload


def _hand_over(nc, *records: bytes) -> None:
    """Hands @p records over as the outbox does with what it buffered."""
    nc._outbox._records.extend(records)
    nc._outbox.hand_over()


def test_a_record_refused_at_the_hand_over_is_reported_and_the_rest_published(nats_server):
    errors = []
    got_error = threading.Event()

    def on_error(error, sub):
        errors.append(error)
        # error_cb runs outside the hand-over: it may publish and flush on the same client
        nc.publish("ob.rest", b"from error_cb")
        nc.flush()
        got_error.set()

    with swiftnats.connect(nats_server) as sub_nc, swiftnats.connect(nats_server, error_cb=on_error) as nc:
        sub = sub_nc.subscribe("ob.rest")
        sub_nc.flush()
        _hand_over(nc, _record(b"ob.rest", b"1"), _record(b"ob.bad subject", b"2"), _record(b"ob.rest", b"3"))
        assert got_error.wait(5)
        assert isinstance(errors[0], swiftnats.InvalidSubjectError)
        assert "1 buffered publish lost" in str(errors[0])
        assert [m.data for m in _drain_sub(sub, 3)] == [b"1", b"3", b"from error_cb"]


def test_records_handed_over_after_close_are_reported_lost(nats_server):
    errors = []
    nc = swiftnats.connect(nats_server, error_cb=lambda e, s: errors.append(e))
    nc.close()
    _hand_over(nc, _record(b"ob.late", b"1"), _record(b"ob.late", b"2"))
    assert len(errors) == 1
    assert isinstance(errors[0], swiftnats.ConnectionClosedError)
    assert "2 buffered publishes lost" in str(errors[0])


def test_an_rpc_reply_follows_what_the_handler_published(nats_server):
    from swiftnats.rpc import RPC

    seen = [0]

    def counter(msg):  # one subscription: audit records and the query in wire order
        if msg.subject == "ob.audit.event":
            seen[0] += 1
        else:
            msg.respond(str(seen[0]).encode())

    def handler(n):
        for _ in range(n):
            server_nc.publish("ob.audit.event", b"")
        return n

    with swiftnats.connect(nats_server) as server_nc, swiftnats.connect(nats_server) as client_nc, \
            swiftnats.connect(nats_server) as counter_nc, RPC(server_nc, namespace="ob") as server, \
            RPC(client_nc, namespace="ob") as client:
        counter_nc.subscribe("ob.audit.>", cb=counter).set_pending_limits(0, 0)
        counter_nc.flush()
        server.register_handler("emit", handler)
        server.start()
        total = 0
        for n in (1, 2000, 3000):
            # The library sends the handler's result once the handler returns; the handler's
            # publishes must be on the wire before it.
            assert client.call("emit", [n]) == n
            total += n
            assert client_nc.request("ob.audit.query", b"", timeout=5).data == str(total).encode()


def test_a_micro_response_follows_what_the_handler_published(nats_server):
    from swiftnats import micro

    seen = [0]

    def counter(msg):
        if msg.subject == "ob.audit.event":
            seen[0] += 1
        else:
            msg.respond(str(seen[0]).encode())

    with swiftnats.connect(nats_server) as server_nc, swiftnats.connect(nats_server) as client_nc, \
            swiftnats.connect(nats_server) as counter_nc:
        counter_nc.subscribe("ob.audit.>", cb=counter).set_pending_limits(0, 0)
        counter_nc.flush()

        def emit(req):
            n = int(req.data)
            for _ in range(n):
                server_nc.publish("ob.audit.event", b"")
            req.respond(req.data)

        with micro.add_service(server_nc, name="ob", version="1.0.0") as service:
            service.add_endpoint("emit", emit, subject="ob.emit")
            server_nc.flush()
            total = 0
            for n in (1, 2000, 3000):
                assert client_nc.request("ob.emit", str(n).encode(), timeout=5).data == str(n).encode()
                total += n
                assert client_nc.request("ob.audit.query", b"", timeout=5).data == str(total).encode()


def test_a_smaller_max_payload_after_a_reconnect_is_enforced_at_the_call(server_factory, tmp_path):
    port = free_port()

    def start(limit: int) -> NATSServer:
        conf = tmp_path / f"max_payload_{limit}.conf"
        conf.write_text(f"max_payload: {limit}\n")
        return server_factory(["-p", str(port), "-c", str(conf)])

    first = start(4096)
    reconnected = threading.Event()
    with swiftnats.connect(first.url, reconnected_cb=reconnected.set, reconnect_time_wait=0.05,
                           reconnect_jitter=0, max_reconnect_attempts=-1) as nc:
        nc.publish("ob.size", b"x" * 2000)
        nc.publish("ob.size", b"x" * 2000)  # buffered: the size is now known to fit
        nc.flush()
        first.stop()
        start(1024)
        assert reconnected.wait(10)  # reconnected_cb runs after the outbox has re-read the limit
        assert nc.max_payload == 1024
        with pytest.raises(swiftnats.MaxPayloadError):
            nc.publish("ob.size", b"x" * 2000)
        sub = nc.subscribe("ob.size")
        nc.publish("ob.size", b"x" * 1000)
        nc.publish("ob.size", b"x" * 1000)
        assert [len(sub.next_msg(timeout=5).data) for _ in range(2)] == [1000, 1000]
