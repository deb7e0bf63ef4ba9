"""Connecting, closing, state, information."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from conftest import eventually, free_port

import swiftnats
from swiftnats import _runtime


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "make_servers",
    [
        lambda url: url,
        lambda url: [url],
        lambda url: f"nats://127.0.0.1:{free_port()},{url}",
        lambda url: [f"nats://127.0.0.1:{free_port()}", url],
        lambda url: f"127.0.0.1:{_port(url)}",
    ],
    ids=["url", "list", "comma-list-first-dead", "list-first-dead", "bare-host-port"],
)
def test_connect_variants(nats_server, make_servers):
    nc = swiftnats.connect(make_servers(nats_server), name="variants", connect_timeout=2.0)
    try:
        assert nc.is_connected
        assert not nc.is_closed
        assert nc.state == swiftnats.ConnState.CONNECTED
        assert nc.connected_url == nats_server
    finally:
        nc.close()
    assert nc.is_closed and not nc.is_connected


@pytest.mark.parametrize(
    "servers",
    [lambda: f"nats://127.0.0.1:{free_port()}", lambda: [f"nats://127.0.0.1:{free_port()}"] * 2],
    ids=["one-dead-port", "two-dead-ports"],
)
def test_connect_no_server(servers):
    with pytest.raises(swiftnats.NoServersError) as info:
        swiftnats.connect(servers(), connect_timeout=1.0)
    assert info.value.status == swiftnats.Status.NO_SERVER
    assert info.value.detail  # the library's explanation was copied


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"servers": "ftp://127.0.0.1:4222"}, swiftnats.InvalidArgumentError),
        ({"servers": []}, swiftnats.InvalidArgumentError),
        ({"servers": "nats://127.0.0.1:99999"}, swiftnats.InvalidArgumentError),
        ({"connect_timeout": 0}, swiftnats.InvalidArgumentError),
        ({"ping_interval": -1}, swiftnats.InvalidArgumentError),
        ({"max_pings_out": 0}, swiftnats.InvalidArgumentError),
        ({"pending_msgs_limit": -1}, swiftnats.InvalidArgumentError),
        ({"inbox_prefix": "bad.*"}, swiftnats.InvalidArgumentError),
    ],
    ids=["bad-scheme", "empty-list", "bad-port", "zero-connect-timeout", "negative-ping",
         "zero-pings-out", "negative-pending", "wildcard-inbox-prefix"],
)
def test_connect_invalid_options(kwargs, error):
    with pytest.raises(error):
        swiftnats.connect(**kwargs)


def test_context_manager_and_repr(nats_server):
    with swiftnats.connect(nats_server) as nc:
        assert repr(nc) == f"<Client connected {nats_server}>"
        assert nc.is_connected
    assert nc.is_closed
    assert repr(nc) == "<Client closed>"


def test_close_idempotent_and_closed_cb_once(nats_server):
    closed = []
    nc = swiftnats.connect(nats_server, closed_cb=lambda: closed.append(threading.get_ident()))
    nc.close()
    # the header: the closed callback runs once, before snats_conn_close() returns
    assert len(closed) == 1
    assert closed[0] != threading.get_ident()  # on a library thread
    nc.close()
    nc.close()
    assert len(closed) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda nc: nc.publish("a", b"x"),
        lambda nc: nc.request("a", b"x"),
        lambda nc: nc.subscribe("a"),
        lambda nc: nc.flush(),
        lambda nc: nc.rtt(),
        lambda nc: nc.new_inbox(),
        lambda nc: nc.server_info,
        lambda nc: nc.drain(),
    ],
    ids=["publish", "request", "subscribe", "flush", "rtt", "new_inbox", "server_info", "drain"],
)
def test_use_after_close(nats_server, call):
    nc = swiftnats.connect(nats_server)
    nc.close()
    with pytest.raises(swiftnats.ConnectionClosedError):
        call(nc)


def test_server_info_and_max_payload(nc):
    info = nc.server_info
    assert isinstance(info, dict)
    assert isinstance(info["server_id"], str) and info["server_id"]
    assert info["max_payload"] == nc.max_payload
    assert nc.max_payload == 1024 * 1024  # nats-server's default
    assert info.get("headers") is True


def test_rtt_and_flush(nc):
    rtt = nc.rtt(timeout=5.0)
    assert 0 < rtt < 5.0
    nc.flush(timeout=5.0)


@pytest.mark.parametrize("timeout", [0, -1.0], ids=["zero", "negative"])
def test_flush_rejects_non_positive_timeout(nc, timeout):
    with pytest.raises(swiftnats.InvalidArgumentError) as info:
        nc.flush(timeout=timeout)
    assert info.value.status == swiftnats.Status.INVALID_ARG


def test_new_inbox(nats_server):
    with swiftnats.connect(nats_server, inbox_prefix="_MY.INBOX") as nc:
        a, b = nc.new_inbox(), nc.new_inbox()
    assert a != b
    assert a.startswith("_MY.INBOX.") and b.startswith("_MY.INBOX.")


def test_stats(nc):
    assert nc.stats == {"in_msgs": 0, "in_bytes": 0, "out_msgs": 0, "out_bytes": 0, "reconnects": 0, "lost_publishes": 0}
    sub = nc.subscribe("stats.x")
    for _ in range(3):
        nc.publish("stats.x", b"hello")
    nc.flush()
    for _ in range(3):
        assert sub.next_msg(timeout=5.0).data == b"hello"
    assert nc.stats == {"in_msgs": 3, "in_bytes": 15, "out_msgs": 3, "out_bytes": 15, "reconnects": 0, "lost_publishes": 0}
    nc.close()
    assert nc.stats == {"in_msgs": 3, "in_bytes": 15, "out_msgs": 3, "out_bytes": 15, "reconnects": 0, "lost_publishes": 0}


def test_no_echo(nats_server):
    with swiftnats.connect(nats_server, no_echo=True) as quiet, swiftnats.connect(nats_server) as other:
        mine = quiet.subscribe("echo")
        theirs = quiet.subscribe("echo.other")
        quiet.flush()
        quiet.publish("echo", b"self")
        other.publish("echo.other", b"other")
        other.flush()
        assert theirs.next_msg(timeout=5.0).data == b"other"
        with pytest.raises(swiftnats.TimeoutError):
            mine.next_msg(timeout=0.2)


def test_disconnected_and_closed_cb_when_server_stops(server):
    disconnected, closed = threading.Event(), threading.Event()
    nc = swiftnats.connect(
        server.url, disconnected_cb=disconnected.set, closed_cb=closed.set, allow_reconnect=False
    )
    try:
        server.stop()
        assert disconnected.wait(10), "disconnected_cb not called"
        eventually(lambda: not nc.is_connected, what="not connected once the server is gone")
    finally:
        nc.close()
    assert closed.is_set()


def test_unclosed_client_is_closed_when_collected(nats_server):
    closed = threading.Event()
    baseline = _runtime.registry_size()
    nc = swiftnats.connect(nats_server, closed_cb=closed.set)
    nc.publish("x", b"y")
    del nc
    gc.collect()
    assert closed.wait(5), "the finalizer did not close the connection"
    eventually(lambda: _runtime.registry_size() == baseline, what="registry entry released")


def test_client_not_constructible_directly():
    with pytest.raises(TypeError):
        swiftnats.Client()


AUTH_CASES = [
    # (server args, connect kwargs or URL builder, expected error or None)
    ("user-ok", ["--user", "alice", "--pass", "s3cret"], {"user": "alice", "password": "s3cret"}, None),
    ("user-in-url", ["--user", "alice", "--pass", "s3cret"], "alice:s3cret@", None),
    ("url-wins-over-option", ["--user", "alice", "--pass", "s3cret"],
     ("alice:s3cret@", {"user": "alice", "password": "wrong"}), None),
    ("wrong-password", ["--user", "alice", "--pass", "s3cret"], {"user": "alice", "password": "nope-pw"},
     swiftnats.AuthorizationError),
    ("no-credentials", ["--user", "alice", "--pass", "s3cret"], {}, swiftnats.AuthorizationError),
    ("token-ok", ["--auth", "t0ken"], {"token": "t0ken"}, None),
    ("token-wrong", ["--auth", "t0ken"], {"token": "bad-t0ken"}, swiftnats.AuthorizationError),
]


@pytest.mark.parametrize("args,how,error", [c[1:] for c in AUTH_CASES], ids=[c[0] for c in AUTH_CASES])
def test_authentication(server_factory, args, how, error):
    srv = server_factory(args)
    url, kwargs = srv.url, {}
    if isinstance(how, tuple):
        userinfo, kwargs = how
        url = url.replace("nats://", "nats://" + userinfo)
    elif isinstance(how, str):
        url = url.replace("nats://", "nats://" + how)
    else:
        kwargs = how
    if error is None:
        with swiftnats.connect(url, **kwargs) as nc:
            assert nc.is_connected
            assert nc.connected_url == srv.url  # without credentials
    else:
        with pytest.raises(error) as info:
            swiftnats.connect(url, connect_timeout=2.0, **kwargs)
        for secret in ("s3cret", "nope-pw", "t0ken"):
            assert secret not in str(info.value), "credentials in the error text"


def test_client_drain(nats_server):
    closed = []
    nc = swiftnats.connect(nats_server, closed_cb=lambda: closed.append(1))
    got = []

    def slow(msg):
        time.sleep(0.002)
        got.append(msg.data)

    sub = nc.subscribe("drain.client", cb=slow)
    sync = nc.subscribe("drain.client.sync")
    nc.flush()
    for i in range(50):
        nc.publish("drain.client", b"%d" % i)
    nc.drain(timeout=10.0)
    assert got == [b"%d" % i for i in range(50)]
    assert nc.is_closed and closed == [1]
    assert not sub.is_valid and not sync.is_valid
    with pytest.raises(swiftnats.ConnectionClosedError):
        nc.publish("x", b"")
    with pytest.raises(swiftnats.ConnectionClosedError):
        nc.drain()


def test_client_drain_while_draining(nats_server):
    nc = swiftnats.connect(nats_server)
    release, entered = threading.Event(), threading.Event()

    def blocked(msg):
        entered.set()
        release.wait(10)

    nc.subscribe("drain.busy", cb=blocked)
    nc.flush()
    nc.publish("drain.busy", b"")
    assert entered.wait(5)
    first = threading.Thread(target=nc.drain, kwargs={"timeout": 10.0})
    first.start()
    try:
        eventually(lambda: nc.is_draining, what="draining")
        with pytest.raises(swiftnats.DrainingError):
            nc.drain(timeout=1.0)
        with pytest.raises(swiftnats.DrainingError):
            nc.subscribe("during.drain")
        nc.publish("during.drain", b"allowed")  # publishing is allowed during a drain
    finally:
        release.set()
        first.join(10)
    assert nc.is_closed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verbose": True},
        {"pedantic": True},
        {"verbose": True, "pedantic": True},
        {"name": "named-client"},
        {"ping_interval": 0.05, "max_pings_out": 3},
        {"pending_msgs_limit": 0, "pending_bytes_limit": 0},
        {"inbox_prefix": "_CUSTOM"},
    ],
    ids=["verbose", "pedantic", "verbose-pedantic", "name", "fast-pings", "unlimited-pending", "inbox-prefix"],
)
def test_connect_options_work(nats_server, kwargs):
    with swiftnats.connect(nats_server, **kwargs) as nc:
        nc.subscribe("opt.echo", cb=lambda m: m.respond(m.data))
        sub = nc.subscribe("opt.sync")
        nc.flush()
        for i in range(20):
            assert nc.request("opt.echo", b"%d" % i, timeout=5.0).data == b"%d" % i
            nc.publish("opt.sync", b"%d" % i)
        assert [sub.next_msg(timeout=5.0).data for _ in range(20)] == [b"%d" % i for i in range(20)]
        if "ping_interval" in kwargs:
            time.sleep(0.3)  # several keep-alive PINGs: the connection must stay up
        nc.flush()
        assert nc.is_connected


def test_close_from_many_threads(nats_server):
    closed = []
    nc = swiftnats.connect(nats_server, closed_cb=lambda: closed.append(1))
    barrier = threading.Barrier(8)
    errors = []

    def closer():
        try:
            barrier.wait()
            nc.close()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=closer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert nc.is_closed
    eventually(lambda: closed == [1], what=f"closed_cb once, got {closed}")
