"""Where the sync client's callbacks run: batches on the library's delivery pool, no thread per
subscription, each subscription's messages one at a time and in order, and a callback that
blocks in the library (a request served by another callback) never stalls the others."""

from __future__ import annotations

import threading
import time

import swiftnats
from conftest import eventually


def _process_threads() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def test_ten_thousand_subscriptions_add_no_threads(nc):
    before_python, before_process = threading.active_count(), _process_threads()
    count = 10_000
    got = []
    lock = threading.Lock()

    def cb(msg):
        with lock:
            got.append(msg.subject)

    subs = [nc.subscribe(f"scale.{i}", cb=cb) for i in range(count)]
    nc.flush()
    for i in range(count):
        nc.publish(f"scale.{i}", b"x")
    nc.flush()
    eventually(lambda: len(got) == count, timeout=30, what=f"{len(got)} of {count} delivered")
    # The pool's threads show up (as dummy threads) once they have run a callback: a few.
    assert threading.active_count() - before_python <= 4, "a Python thread per subscription"
    # The library's pool: a few threads, whatever the number of subscriptions.
    assert _process_threads() - before_process <= 4, _process_threads() - before_process
    assert sorted(got) == sorted(f"scale.{i}" for i in range(count))
    for sub in subs[:10]:
        sub.close()


def test_order_and_one_callback_at_a_time_per_subscription(nc):
    seen = {"a": [], "b": []}
    inside = {"a": 0, "b": 0}
    overlaps = []

    def make(name):
        def cb(msg):
            inside[name] += 1
            if inside[name] != 1:
                overlaps.append(name)
            seen[name].append(int(msg.data))
            if int(msg.data) % 500 == 0:
                time.sleep(0.001)  # let the other subscription's batches interleave
            inside[name] -= 1
        return cb

    nc.subscribe("order.a", cb=make("a"))
    nc.subscribe("order.b", cb=make("b"))
    nc.flush()
    for i in range(3000):
        nc.publish("order.a", b"%d" % i)
        nc.publish("order.b", b"%d" % i)
    nc.flush()
    eventually(lambda: len(seen["a"]) == 3000 and len(seen["b"]) == 3000, timeout=20)
    assert seen["a"] == list(range(3000)) and seen["b"] == list(range(3000))
    assert overlaps == []


def test_request_chain_deeper_than_the_pool(nc):
    # Each level's callback requests the next level, served by another callback of the same
    # connection: deeper than the pool's threads, it completes only because the pool lends a
    # thread while a callback blocks in the library.
    depth = 8

    def level(i):
        def cb(msg):
            answer = b"%d" % i
            if i + 1 < depth:
                answer += b"," + nc.request(f"chain.{i + 1}", b"", timeout=5.0).data
            msg.respond(answer)
        return cb

    for i in range(depth):
        nc.subscribe(f"chain.{i}", cb=level(i))
    nc.flush()
    reply = nc.request("chain.0", b"", timeout=10.0)
    assert reply.data == b",".join(b"%d" % i for i in range(depth))


def test_drain_waits_for_callbacks_and_close_from_callback(nats_server):
    nc = swiftnats.connect(nats_server)
    done = []

    def slow(msg):
        time.sleep(0.002)
        done.append(msg.data)

    sub = nc.subscribe("drain.me", cb=slow)
    nc.flush()
    for i in range(200):
        nc.publish("drain.me", b"%d" % i)
    nc.flush()
    sub.drain(timeout=10.0)
    assert len(done) == 200, "drain returned before every callback ran"
    closed = threading.Event()

    def closer(msg):
        nc.close()
        closed.set()

    nc.subscribe("close.me", cb=closer)
    nc.flush()
    nc.publish("close.me", b"")
    assert closed.wait(5)
    eventually(lambda: nc.is_closed, what="closed")


def test_pool_size_is_configurable():
    alive, size = swiftnats.delivery_pool_threads()
    assert size >= 2 and alive >= 0
    try:
        swiftnats.set_delivery_pool_size(size + 1)
        assert swiftnats.delivery_pool_threads()[1] == size + 1
        try:
            swiftnats.set_delivery_pool_size(0)
        except swiftnats.InvalidArgumentError:
            pass
        else:
            raise AssertionError("a pool of 0 threads was accepted")
    finally:
        swiftnats.set_delivery_pool_size(size)
