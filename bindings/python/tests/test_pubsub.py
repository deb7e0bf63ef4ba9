"""Publish and subscribe: callbacks, wildcards, queue groups, subjects, payload limits."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from conftest import eventually

import swiftnats


def test_publish_subscribe_callback(nc):
    got = []
    done = threading.Event()

    def handler(msg):
        got.append((msg.subject, msg.reply, msg.data, msg.headers, msg.status, threading.get_ident()))
        if len(got) == 3:
            done.set()

    sub = nc.subscribe("greet.joe", cb=handler)
    nc.flush()
    nc.publish("greet.joe", b"one")
    nc.publish("greet.joe", b"two", reply="reply.here")
    nc.publish("greet.joe", b"")
    assert done.wait(5)
    assert [g[:5] for g in got] == [
        ("greet.joe", "", b"one", None, 0),
        ("greet.joe", "reply.here", b"two", None, 0),
        ("greet.joe", "", b"", None, 0),
    ]
    assert got[0][5] != threading.get_ident()  # delivered on a library thread
    assert sub.delivered == 3
    assert sub.is_async and sub.is_valid
    assert repr(sub) == "<Subscription 'greet.joe' async valid>"


@pytest.mark.parametrize(
    "payload",
    [b"", b"x", bytes(range(256)) * 4, bytearray(b"bytearray"), memoryview(b"memoryview"), b"nul\0inside\0"],
    ids=["empty", "one-byte", "binary-1k", "bytearray", "memoryview", "embedded-nul"],
)
def test_payload_types(nc, payload):
    sub = nc.subscribe("payload")
    nc.publish("payload", payload)
    assert sub.next_msg(timeout=5.0).data == bytes(payload)


def test_str_payload_rejected(nc):
    with pytest.raises(TypeError):
        nc.publish("x", "text")  # type: ignore[arg-type]


WILDCARD_CASES = [
    ("foo.*", ["foo.bar", "foo.bar.baz", "foo", "foo.baz", "bar.foo"], ["foo.bar", "foo.baz"]),
    ("foo.>", ["foo.bar", "foo.bar.baz", "foo", "bar.foo"], ["foo.bar", "foo.bar.baz"]),
    ("*.bar", ["foo.bar", "x.bar", "foo.bar.baz", "bar"], ["foo.bar", "x.bar"]),
    ("*.*.c", ["a.b.c", "a.c", "a.b.c.d", "x.y.c"], ["a.b.c", "x.y.c"]),
    (">", ["a", "a.b", "a.b.c"], ["a", "a.b", "a.b.c"]),
]


@pytest.mark.parametrize(
    "pattern,published,expected", WILDCARD_CASES, ids=[c[0] for c in WILDCARD_CASES]
)
@pytest.mark.parametrize("mode", ["callback", "sync"])
def test_wildcards(nc, pattern, published, expected, mode):
    got = []
    if mode == "callback":
        sub = nc.subscribe(pattern, cb=lambda m: got.append(m.subject))
    else:
        sub = nc.subscribe(pattern)
    nc.flush()
    for subject in published:
        nc.publish(subject, subject.encode())
    nc.publish("end.marker.x.y", b"")  # after the others, on one connection: arrives last
    nc.flush()
    if mode == "callback":
        eventually(lambda: len(got) >= len(expected), what=f"{pattern}: {got}")
        time.sleep(0.1)  # show that no other subject arrives
        got = [s for s in got if not s.startswith("end.")]
    else:
        while True:
            try:
                m = sub.next_msg(timeout=0.3)
            except swiftnats.TimeoutError:
                break
            if not m.subject.startswith("end."):
                got.append(m.subject)
    assert got == expected, pattern


@pytest.mark.parametrize("split", ["one-connection", "two-connections"])
def test_queue_group_splits_messages(nats_server, nc, split):
    other = swiftnats.connect(nats_server) if split == "two-connections" else nc
    counts = Counter()
    lock = threading.Lock()
    total = 200

    def member(name):
        def cb(msg):
            with lock:
                counts[name] += 1
        return cb

    everyone = []
    try:
        a = nc.subscribe("work", queue="workers", cb=member("a"))
        b = other.subscribe("work", queue="workers", cb=member("b"))
        plain = nc.subscribe("work", cb=lambda m: everyone.append(m.data))
        nc.flush()
        other.flush()
        for i in range(total):
            nc.publish("work", str(i).encode())
        nc.flush()
        eventually(lambda: counts["a"] + counts["b"] >= total and len(everyone) >= total,
                   what=f"queue members got {dict(counts)}, plain {len(everyone)}")
        time.sleep(0.1)  # show that no message is delivered twice
        assert counts["a"] + counts["b"] == total
        assert counts["a"] > 0 and counts["b"] > 0, dict(counts)
        assert len(everyone) == total
        assert a.queue == "workers" and b.queue == "workers" and plain.queue == ""
    finally:
        if other is not nc:
            other.close()


def test_sync_queue_subscription(nc):
    a = nc.subscribe("q.sync", queue="g")
    b = nc.subscribe("q.sync", queue="g")
    nc.flush()
    for i in range(20):
        nc.publish("q.sync", b"%d" % i)
    nc.flush()
    received = []
    for sub in (a, b):
        while True:
            try:
                received.append(sub.next_msg(timeout=0.2).data)
            except swiftnats.TimeoutError:
                break
    assert sorted(received, key=int) == [b"%d" % i for i in range(20)]


INVALID_SUBJECT_CASES = [
    ("publish-empty", lambda nc: nc.publish("", b"x")),
    ("publish-space", lambda nc: nc.publish("a b", b"x")),
    ("publish-empty-token", lambda nc: nc.publish("a..b", b"x")),
    ("publish-leading-dot", lambda nc: nc.publish(".a", b"x")),
    ("publish-star", lambda nc: nc.publish("a.*", b"x")),
    ("publish-gt", lambda nc: nc.publish("a.>", b"x")),
    ("publish-tab", lambda nc: nc.publish("a\tb", b"x")),
    ("publish-nul", lambda nc: nc.publish("a\0b", b"x")),
    ("publish-bad-reply", lambda nc: nc.publish("a", b"x", reply="r r")),
    ("publish-headers-bad-subject", lambda nc: nc.publish("a b", b"x", headers={"k": "v"})),
    ("subscribe-empty", lambda nc: nc.subscribe("")),
    ("subscribe-space", lambda nc: nc.subscribe("a b")),
    ("subscribe-empty-token", lambda nc: nc.subscribe("a..b")),
    ("subscribe-callback-bad", lambda nc: nc.subscribe("a..b", cb=lambda m: None)),
    ("request-star", lambda nc: nc.request("a.*", b"x")),
    ("request-empty", lambda nc: nc.request("", b"x")),
]


@pytest.mark.parametrize("call", [c[1] for c in INVALID_SUBJECT_CASES], ids=[c[0] for c in INVALID_SUBJECT_CASES])
def test_invalid_subject(nc, call):
    with pytest.raises(swiftnats.InvalidSubjectError) as info:
        call(nc)
    assert isinstance(info.value, ValueError)
    assert info.value.status == swiftnats.Status.INVALID_SUBJECT
    nc.flush()  # the connection is still fine


@pytest.mark.parametrize("queue", ["has space", "tab\there"], ids=["space", "tab"])
def test_invalid_queue_name(nc, queue):
    with pytest.raises(swiftnats.InvalidArgumentError):
        nc.subscribe("a", queue=queue)


@pytest.mark.parametrize(
    "call",
    [
        lambda nc, n: nc.publish("big", b"x" * n),
        lambda nc, n: nc.publish("big", b"x" * n, reply="r"),
        lambda nc, n: nc.publish("big", b"x" * (n - 10), headers={"Key": "a-long-enough-value"}),
        lambda nc, n: nc.request("big", b"x" * n, timeout=1.0),
        lambda nc, n: nc.request("big", b"x" * n, timeout=1.0, headers={"K": "v"}),
    ],
    ids=["publish", "publish-reply", "publish-headers-count", "request", "request-headers"],
)
def test_max_payload_exceeded(nc, call):
    limit = nc.max_payload
    with pytest.raises(swiftnats.MaxPayloadError) as info:
        call(nc, limit + 1)
    assert info.value.status == swiftnats.Status.MAX_PAYLOAD
    assert nc.is_connected
    nc.publish("big", b"x" * limit)  # exactly max_payload is fine
    nc.flush()


def test_subscription_dropped_by_user_keeps_delivering(nc):
    got = threading.Event()
    nc.subscribe("kept", cb=lambda m: got.set())  # the Subscription object is not kept
    import gc

    gc.collect()
    nc.flush()
    nc.publish("kept", b"")
    assert got.wait(5)


def test_callback_batches_carry_headers_replies_and_large_payloads(nc):
    """Callback subscriptions take messages in batches (snats_sub_next_msgs): every part of a
    record survives, including a payload larger than the first batch buffer."""
    got = []
    done = threading.Event()

    def cb(msg):
        got.append(msg)
        if len(got) == 4:
            done.set()

    nc.subscribe("batch.>", cb=cb)
    nc.flush()
    big = bytes(range(256)) * 2048  # 512 KiB: more than one batch buffer
    nc.publish("batch.plain", b"one")
    nc.publish("batch.reply", b"two", reply="inbox.x")
    nc.publish("batch.hdrs", b"three", headers={"K": ["a", "b"], "Other": "v"})
    nc.publish("batch.big", big)
    assert done.wait(10)
    plain, reply, hdrs, large = got
    assert (plain.subject, plain.reply, plain.data, plain.headers) == ("batch.plain", "", b"one", None)
    assert (reply.subject, reply.reply, reply.data) == ("batch.reply", "inbox.x", b"two")
    assert hdrs.data == b"three"
    assert hdrs.headers == {"K": "a", "Other": "v"}
    assert hdrs.header_values("K") == ["a", "b"]
    assert hdrs.header_items == [("K", ["a", "b"]), ("Other", ["v"])]
    assert large.subject == "batch.big" and large.data == big


def test_parse_header_block_matches_the_library():
    from swiftnats.headers import parse_header_block

    assert parse_header_block(b"NATS/1.0 503 No Responders\r\n\r\n") == (503, "No Responders", ())
    assert parse_header_block(b"NATS/1.0\r\nA: 1\r\nB:2 \r\nA:  3\r\nbad line\r\n\r\n") == (
        0, "", (("A", ("1", "3")), ("B", ("2",))))
    assert parse_header_block(b"NATS/1.0 408\r\n\r\n") == (408, "", ())
