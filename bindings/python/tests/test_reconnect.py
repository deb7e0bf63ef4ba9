"""Reconnect and fail-over through the binding: server restart on the same port, the reconnect
buffer, requests while the server is gone, giving up, a cluster with discovered servers and
lame-duck mode, and the argument checks of the new options."""

from __future__ import annotations

import subprocess
import threading
import time
from typing import List

import pytest

import swiftnats
from conftest import NATSServer, eventually, free_port, nats_server_bin

FAST = dict(reconnect_time_wait=0.05, reconnect_jitter=0, max_reconnect_attempts=-1)


def seq(value: int) -> bytes:
    return value.to_bytes(4, "big")


@pytest.fixture
def restartable(tmp_path):
    """A server on a fixed port that the test can stop and start again."""
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


def test_restart_restores_subscriptions_and_delivers_buffer_once(restartable):
    start, servers = restartable
    events: List[str] = []
    nc = swiftnats.connect(
        servers[0].url,
        disconnected_cb=lambda: events.append("disconnected"),
        reconnected_cb=lambda: events.append("reconnected"),
        closed_cb=lambda: events.append("closed"),
        **FAST,
    )
    with nc:
        sub = nc.subscribe("rc.>")
        queued = nc.subscribe("rc.>", queue="workers")
        nc.flush()
        servers[0].stop()
        eventually(lambda: nc.is_reconnecting, what="reconnecting")
        # the callback runs on a library thread: it may come a moment after the state shows
        eventually(lambda: events == ["disconnected"], what=f"events {events}")
        assert nc.connected_url is None
        for i in range(300):
            nc.publish("rc.gap", seq(i))
        start()
        eventually(lambda: "reconnected" in events, timeout=10)
        assert nc.is_connected
        assert nc.stats["reconnects"] == 1
        for s in (sub, queued):
            got = [int.from_bytes(s.next_msg(timeout=2).data, "big") for _ in range(300)]
            assert got == list(range(300))
            with pytest.raises(swiftnats.TimeoutError):
                s.next_msg(timeout=0.1)  # nothing twice
    assert events == ["disconnected", "reconnected", "closed"]


def test_callback_subscription_keeps_receiving_after_restart(restartable):
    start, servers = restartable
    got: List[bytes] = []
    reconnected = threading.Event()
    with swiftnats.connect(servers[0].url, reconnected_cb=reconnected.set, **FAST) as nc:
        nc.subscribe("cb", cb=lambda msg: got.append(msg.data))
        nc.flush()
        servers[0].stop()
        eventually(lambda: nc.is_reconnecting)
        nc.publish("cb", b"during")
        start()
        assert reconnected.wait(10)
        nc.publish("cb", b"after")
        eventually(lambda: got == [b"during", b"after"], what=f"got {got}")


def test_reconnect_buffer_full_raises(server):
    disconnected = threading.Event()
    with swiftnats.connect(server.url, reconnect_buffer_size=2048, disconnected_cb=disconnected.set, **FAST) as nc:
        server.stop()
        # Publishes go to the library directly (and raise there) once disconnected_cb has run:
        # before it, the outbox may still batch them, and a refusal then reaches error_cb
        # (outbox.py's docstring).
        assert disconnected.wait(5)
        accepted = 0
        with pytest.raises(swiftnats.ReconnectBufferFullError) as info:
            for _ in range(1000):
                nc.publish("full", b"x" * 100)
                accepted += 1
        assert 10 < accepted < 21
        assert info.value.status == swiftnats.Status.RECONNECT_BUFFER_FULL
        assert "reconnect buffer" in info.value.detail
        assert swiftnats.OutboundBufferLimitError is swiftnats.ReconnectBufferFullError


def test_reconnect_buffer_disabled_and_drain_while_reconnecting(server):
    with swiftnats.connect(server.url, reconnect_buffer_size=0, **FAST) as nc:
        server.stop()
        eventually(lambda: nc.is_reconnecting)
        with pytest.raises(swiftnats.NotConnectedError):
            nc.publish("x", b"1")
        with pytest.raises(swiftnats.NotConnectedError):
            nc.drain(timeout=1)


def test_request_in_flight_fails_when_server_goes(server):
    with swiftnats.connect(server.url, **FAST) as nc:
        silent = nc.subscribe("silent")
        result: List[BaseException] = []

        def ask() -> None:
            try:
                nc.request("silent", b"q", timeout=20)
            except BaseException as e:  # noqa: BLE001 - recorded for the assertion
                result.append(e)

        t = threading.Thread(target=ask)
        t.start()
        silent.next_msg(timeout=2)  # the request reached the server
        started = time.monotonic()
        server.stop()
        t.join(10)
        assert not t.is_alive()
        assert time.monotonic() - started < 5
        assert isinstance(result[0], swiftnats.NotConnectedError)


def test_request_and_flush_made_while_reconnecting_complete_after(restartable):
    start, servers = restartable
    with swiftnats.connect(servers[0].url, **FAST) as nc:
        nc.subscribe("echo", cb=lambda msg: msg.respond(msg.data))
        nc.flush()
        servers[0].stop()
        eventually(lambda: nc.is_reconnecting)
        replies: List[bytes] = []
        flushed = threading.Event()
        t1 = threading.Thread(target=lambda: replies.append(nc.request("echo", b"42", timeout=20).data))
        t2 = threading.Thread(target=lambda: (nc.flush(timeout=20), flushed.set()))
        t1.start()
        t2.start()
        time.sleep(0.1)
        assert replies == [] and not flushed.is_set()  # both wait for a server
        start()
        t1.join(10)
        t2.join(10)
        assert replies == [b"42"]
        assert flushed.is_set()


def test_gives_up_after_max_attempts(server):
    attempts: List[int] = []
    closed = threading.Event()

    def delay(n: int) -> float:
        attempts.append(n)
        return 0.01

    nc = swiftnats.connect(
        server.url, max_reconnect_attempts=2, custom_reconnect_delay=delay, closed_cb=closed.set
    )
    server.stop()
    assert closed.wait(10)
    assert attempts == [1, 2]
    assert nc.is_closed
    with pytest.raises(swiftnats.ConnectionClosedError):
        nc.publish("x", b"1")
    nc.close()


def test_custom_delay_that_raises_is_reported_and_defaults(server):
    errors: List[BaseException] = []

    def delay(n: int) -> float:
        raise RuntimeError("no delay for you")

    nc = swiftnats.connect(server.url, custom_reconnect_delay=delay, error_cb=lambda e, s: errors.append(e))
    server.stop()
    eventually(lambda: len(errors) == 1, what="the error reported")
    assert isinstance(errors[0], RuntimeError)
    started = time.monotonic()
    nc.close()  # cuts the 2 s default pause short
    assert time.monotonic() - started < 2


def test_close_while_reconnecting_is_prompt(server):
    closed = threading.Event()
    nc = swiftnats.connect(server.url, reconnect_time_wait=60, closed_cb=closed.set)
    server.stop()
    eventually(lambda: nc.is_reconnecting)
    started = time.monotonic()
    nc.close()
    assert time.monotonic() - started < 5
    assert closed.is_set()


def test_allow_reconnect_false_closes(server):
    closed = threading.Event()
    nc = swiftnats.connect(server.url, allow_reconnect=False, closed_cb=closed.set)
    server.stop()
    assert closed.wait(5)
    assert nc.stats["reconnects"] == 0


class Cluster:
    def __init__(self, tmp_path, size: int) -> None:
        self.tmp_path = tmp_path
        self.client_ports = [free_port() for _ in range(size)]
        self.route_ports = [free_port() for _ in range(size)]
        self.nodes: List[NATSServer] = []

    def start(self, index: int) -> NATSServer:
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in self.route_ports)
        srv = NATSServer(
            self.tmp_path / f"node{index}",
            [
                "-p", str(self.client_ports[index]),
                "--cluster_name", "snats",
                "--cluster", f"nats://127.0.0.1:{self.route_ports[index]}",
                "--routes", routes,
                "-n", f"node{index}",
            ],
        )
        self.nodes.append(srv)
        srv.start()
        return srv

    def url(self, index: int) -> str:
        return f"nats://127.0.0.1:{self.client_ports[index]}"

    def stop(self) -> None:
        for srv in self.nodes:
            srv.stop()


@pytest.fixture
def cluster(tmp_path):
    made: List[Cluster] = []

    def make(size: int) -> Cluster:
        made.append(Cluster(tmp_path, size))
        return made[-1]

    yield make
    for c in made:
        c.stop()


def test_discovered_servers_and_failover(cluster):
    cl = cluster(2)
    cl.start(0)
    discovered = threading.Event()
    disconnected = threading.Event()
    reconnected = threading.Event()
    with swiftnats.connect(
        cl.url(0),
        discovered_server_cb=discovered.set,
        disconnected_cb=disconnected.set,
        reconnected_cb=reconnected.set,
        **FAST,
    ) as nc:
        assert nc.discovered_servers == []
        assert nc.servers == [cl.url(0)]
        cl.start(1)
        assert discovered.wait(10)
        assert nc.discovered_servers == [cl.url(1)]
        assert sorted(nc.servers) == sorted([cl.url(0), cl.url(1)])
        sub = nc.subscribe("fo")
        nc.flush()
        cl.nodes[0].proc.kill()  # abrupt
        assert disconnected.wait(5)
        nc.publish("fo", b"buffered")  # buffered, or already on node 1
        assert reconnected.wait(10)
        assert nc.connected_url == cl.url(1)
        assert sub.next_msg(timeout=2).data == b"buffered"


def test_lame_duck_mode_moves_the_client(cluster):
    cl = cluster(2)
    cl.start(0)
    cl.start(1)
    lame = threading.Event()
    reconnected = threading.Event()
    with swiftnats.connect(
        cl.url(0), lame_duck_mode_cb=lame.set, reconnected_cb=reconnected.set, dont_randomize=True, **FAST
    ) as nc:
        eventually(lambda: len(nc.discovered_servers) == 1, timeout=10)
        subprocess.run([nats_server_bin(), "--signal", f"ldm={cl.nodes[0].proc.pid}"], check=True)
        assert lame.wait(10)
        assert reconnected.wait(10)
        assert nc.connected_url == cl.url(1)
    cl.nodes[0].proc.kill()  # a lame duck takes its time to stop


def test_dont_randomize_and_ignore_discovered(cluster):
    cl = cluster(2)
    cl.start(0)
    cl.start(1)
    with swiftnats.connect([cl.url(1), cl.url(0)], dont_randomize=True, ignore_discovered_servers=True) as nc:
        assert nc.connected_url == cl.url(1)
        assert nc.servers == [cl.url(1), cl.url(0)]
        nc.flush()
        assert nc.discovered_servers == []


def test_server_list_has_no_credentials(server):
    port = server.url.rsplit(":", 1)[1]
    with swiftnats.connect(f"nats://alice:s3cret@127.0.0.1:{port}") as nc:
        assert nc.servers == [f"nats://127.0.0.1:{port}"]
        assert "s3cret" not in repr(nc)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(max_reconnect_attempts=-2),
        dict(reconnect_time_wait=-1),
        dict(reconnect_jitter=-1),
        dict(reconnect_jitter_tls=-1),
        dict(reconnect_buffer_size=-1),
        dict(reconnect_buffer_size=1 << 40),
    ],
    ids=lambda kw: next(iter(kw)),
)
def test_bad_reconnect_options(server, kwargs):
    with pytest.raises(swiftnats.InvalidArgumentError):
        swiftnats.connect(server.url, **kwargs)


@pytest.mark.parametrize(
    "name", ["reconnected_cb", "discovered_server_cb", "lame_duck_mode_cb", "custom_reconnect_delay"]
)
def test_callbacks_must_be_callable(server, name):
    with pytest.raises(TypeError):
        swiftnats.connect(server.url, **{name: 42})


# -- connecting in the background ------------------------------------------------------------


def test_retry_on_failed_connect_then_wait_connected(restartable):
    start, servers = restartable
    servers[0].stop()
    url = servers[0].url
    events: List[str] = []
    nc = swiftnats.connect(url, retry_on_failed_connect=True, connected_cb=lambda: events.append("connected"),
                           reconnected_cb=lambda: events.append("reconnected"), reconnect_time_wait=0.05,
                           max_reconnect_attempts=-1, connect_timeout=0.5)
    try:
        assert not nc.is_connected
        with pytest.raises(swiftnats.TimeoutError):
            nc.wait_connected(timeout=0.1)
        sub = nc.subscribe("bg.>")  # made before any server is there
        nc.publish("bg.early", b"1")
        start()
        nc.wait_connected(timeout=5)
        assert nc.is_connected
        assert sub.next_msg(timeout=2).data == b"1"
        eventually(lambda: events == ["connected"], what=str(events))
    finally:
        nc.close()
    with pytest.raises(swiftnats.ConnectionClosedError):
        nc.wait_connected(timeout=1)
    with pytest.raises(swiftnats.NoServersError):
        swiftnats.connect(url.replace(url.rsplit(":", 1)[1], str(free_port())), connect_timeout=0.5)


def test_publishes_while_connecting_in_the_background_are_refused_at_the_call(restartable):
    start, servers = restartable
    servers[0].stop()
    errors: List[BaseException] = []
    nc = swiftnats.connect(servers[0].url, retry_on_failed_connect=True, reconnect_buffer_size=64,
                           error_cb=lambda e, s: errors.append(e), connect_timeout=0.5, max_reconnect_attempts=-1)
    try:
        # The same subject again and again: past the first publish, a connected client batches
        # them in Python; one connecting must take the direct path, so the full reconnect buffer
        # raises at the call instead of reaching only error_cb.
        with pytest.raises(swiftnats.ReconnectBufferFullError):
            for _ in range(100):
                nc.publish("bg.same", b"x" * 10)
        assert errors == []
    finally:
        nc.close()


def test_aio_retry_on_failed_connect_and_wait_connected(restartable):
    import asyncio

    from swiftnats import aio

    start, servers = restartable
    servers[0].stop()

    async def main():
        events = []

        async def connected():
            events.append("connected")

        nc = await aio.connect(servers[0].url, retry_on_failed_connect=True, connected_cb=connected,
                               reconnect_time_wait=0.05, max_reconnect_attempts=-1, connect_timeout=0.5)
        try:
            with pytest.raises(asyncio.TimeoutError):
                await nc.wait_connected(timeout=0.1)
            got = []
            await nc.subscribe("abg.x", cb=got.append)
            await asyncio.to_thread(start)
            await nc.wait_connected(timeout=5)
            await nc.publish("abg.x", b"2")
            await nc.flush()
            for _ in range(200):
                if got and events:
                    break
                await asyncio.sleep(0.01)
            assert [m.data for m in got] == [b"2"] and events == ["connected"]
        finally:
            await nc.close()

    asyncio.run(main())


def test_unsubscribe_by_subject(nats_server):
    import asyncio

    from swiftnats import aio

    with swiftnats.connect(nats_server) as nc, swiftnats.connect(nats_server) as other:
        got: List[bytes] = []
        a = nc.subscribe("by.subject", cb=lambda m: got.append(m.data))
        b = nc.subscribe("by.subject")
        c = nc.subscribe("by.*")
        theirs = other.subscribe("by.subject")
        nc.flush()
        other.flush()
        assert nc.unsubscribe("by.subject") == 2
        assert nc.unsubscribe("by.subject") == 0
        nc.publish("by.subject", b"x")
        nc.flush()
        assert c.next_msg(timeout=2).data == b"x", "another subject's subscription stays"
        assert theirs.next_msg(timeout=2).data == b"x", "another client's stays"
        for sub in (a, b):
            with pytest.raises(swiftnats.InvalidSubscriptionError):
                sub.unsubscribe()
        assert nc.unsubscribe("by.*") == 1
        with pytest.raises(TypeError):
            nc.unsubscribe(b"by.subject")  # type: ignore[arg-type]

    async def main():
        async with await aio.connect(nats_server) as anc:
            s1 = await anc.subscribe("aby.subject", cb=lambda m: None)
            s2 = await anc.subscribe("aby.subject")
            await anc.subscribe("aby.other")
            assert await anc.unsubscribe("aby.subject") == 2
            assert await anc.unsubscribe("aby.subject") == 0
            with pytest.raises(swiftnats.InvalidSubscriptionError):
                await s2.next_msg(timeout=0.5)
            del s1

    asyncio.run(main())
