"""Data that used to be corrupted or lost without a word: JSON keys with escapes or non-ASCII
bytes, multi-line RPC and micro errors, empty streams, the reconnect buffer against a smaller
max_payload, the reason of a disconnect, discovery replies that are not micro documents.
Each sync feature is also tried through swiftnats.aio."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, List

import pytest

import swiftnats
from swiftnats import aio, micro
from swiftnats.rpc import RPC, AsyncRPC

from conftest import NATSServer, eventually, free_port

MULTILINE = "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad\r\nvalue"


# -- JSON keys ---------------------------------------------------------------------------------

KEYED = [{"café": 1}, {"a\\b": 2}, ["a\nb", {"x\ty": 1}], {"名前": "x"}, {"k\"q": {"é\n": ["ü"]}}]


@pytest.mark.parametrize("value", KEYED, ids=range(len(KEYED)))
def test_json_keys_with_escapes_and_non_ascii_cross_rpc(nc, value):
    with RPC(nc, namespace="keys") as rpc:
        @rpc.method
        def echo(**params: Any) -> Any:
            return params

        @rpc.method
        def same(v: Any) -> Any:
            return v

        rpc.start()
        assert rpc.call("same", [value]) == value
        if isinstance(value, dict):
            assert rpc.call("echo", value) == value  # the keys reach the handler as sent


def test_json_keys_async(nc):
    async def main() -> None:
        async with AsyncRPC(nc, namespace="akeys") as rpc:
            @rpc.method
            async def same(v: Any) -> Any:
                return v

            await rpc.start()
            for value in KEYED:
                assert await rpc.call("same", [value]) == value

    asyncio.run(main())


# -- multi-line errors ---------------------------------------------------------------------------

def _raw_request(nats_server: str, subject: str, body: dict) -> Any:
    with swiftnats.connect(nats_server) as raw:
        return raw.request(subject, json.dumps(body).encode(), timeout=5)


def test_multiline_rpc_error_is_answered(nc, nats_server):
    with RPC(nc, namespace="ml") as rpc:
        @rpc.method
        def boom() -> None:
            raise ValueError(MULTILINE)

        @rpc.method
        def stream_boom():
            yield 1
            raise RuntimeError(MULTILINE)

        rpc.start()
        started = time.monotonic()
        with pytest.raises(swiftnats.InternalError) as info:
            rpc.call("boom", timeout=5)
        assert time.monotonic() - started < 4, "answered, not timed out"
        assert MULTILINE in info.value.message
        items: List[Any] = []
        with pytest.raises(swiftnats.InternalError) as info:
            for item in rpc.call_stream("stream_boom", timeout=5):
                items.append(item)
        assert items == [1]
        assert MULTILINE in info.value.message
        reply = _raw_request(nats_server, "rpc.ml.boom", {"id": "1", "method": "boom"})
        header = reply.headers["Nats-Service-Error"]
        assert "\n" not in header and "\r" not in header
        assert "ValueError: bad" in header
        assert MULTILINE in json.loads(reply.data)["error"]["message"]


def test_multiline_rpc_error_async(nc):
    async def main() -> None:
        async with AsyncRPC(nc, namespace="aml") as rpc:
            @rpc.method
            async def boom() -> None:
                raise ValueError(MULTILINE)

            await rpc.start()
            with pytest.raises(swiftnats.InternalError) as info:
                await rpc.call("boom", timeout=5)
            assert MULTILINE in info.value.message

    asyncio.run(main())


def test_multiline_micro_error_is_answered(nc):
    with micro.add_service(nc, name="mlsvc", version="1.0.0") as svc:
        @svc.endpoint("fail", subject="mlsvc.fail")
        def fail(req: micro.Request) -> None:
            req.respond_error("500", MULTILINE)

        @svc.endpoint("raise", subject="mlsvc.raise")
        def raise_(req: micro.Request) -> None:
            raise micro.ServiceError("400", MULTILINE)

        nc.flush()
        for subject in ("mlsvc.fail", "mlsvc.raise"):
            reply = nc.request(subject, b"", timeout=5)
            header = reply.headers["Nats-Service-Error"]
            assert "\n" not in header and "ValueError: bad" in header
        # Counted once the handler has returned, which may be just after the reply arrived.
        eventually(lambda: sorted(e.num_errors for e in micro.stats(nc, "mlsvc")[0].endpoints) == [1, 1])
        assert any(MULTILINE in e.last_error for e in micro.stats(nc, "mlsvc")[0].endpoints)


# -- empty streams -----------------------------------------------------------------------------

def test_empty_stream_is_an_empty_sequence(nc, nats_server):
    with RPC(nc, namespace="empty") as rpc:
        @rpc.method
        def nothing(n: int):
            yield from range(n)

        rpc.start()
        assert list(rpc.call_stream("nothing", [0])) == []
        assert rpc.call("nothing", [0]) == []
        assert list(rpc.call_stream("nothing", [2])) == [0, 1]
        assert rpc.call("nothing", [2]) == [0, 1]
        reply = _raw_request(nats_server, "rpc.empty.nothing", {"id": "e", "method": "nothing", "params": [0]})
        assert json.loads(reply.data) == {"id": "e", "result": [], "error": None}


def test_empty_stream_async(nc):
    async def main() -> None:
        async with AsyncRPC(nc, namespace="aempty") as rpc:
            @rpc.method
            async def nothing(n: int):
                for i in range(n):
                    yield i

            await rpc.start()
            assert [x async for x in rpc.call_stream("nothing", [0])] == []
            assert await rpc.call("nothing", [0]) == []

    asyncio.run(main())


# -- the reconnect buffer against a smaller max_payload ----------------------------------------

def _restart_small(tmp_path: Path, port: int) -> NATSServer:
    conf = tmp_path / "small.conf"
    conf.write_text("max_payload: 1024\n")
    srv = NATSServer(tmp_path / "small", ["-p", str(port), "-c", str(conf)])
    srv.start()
    return srv


def test_replay_refuses_only_what_the_new_server_cannot_take(tmp_path):
    port = free_port()
    first = NATSServer(tmp_path / "first", ["-p", str(port)])
    first.start()
    errors: List[BaseException] = []
    reasons: List[Any] = []
    nc = swiftnats.connect(first.url, reconnect_time_wait=0.05, max_reconnect_attempts=-1,
                           error_cb=lambda e, sub: errors.append(e),
                           disconnected_cb=lambda reason: reasons.append(reason))
    second = None
    try:
        sub = nc.subscribe("replay.>")
        nc.flush()
        first.stop()
        eventually(lambda: nc.is_reconnecting, what="reconnecting")
        expected, refused = [], []
        for i in range(1050):
            if i % 100 == 7:
                nc.publish(f"replay.big.{i}", b"x" * 2048)
                refused.append(f"replay.big.{i}")
            else:
                nc.publish("replay.ok", str(i).encode())
                expected.append(i)
        second = _restart_small(tmp_path, port)
        got = []
        while len(got) < len(expected):
            got.append(int(sub.next_msg(timeout=5).data))
        assert got == expected, "every valid publish, in order"
        eventually(lambda: any(isinstance(e, swiftnats.PublishRefusedError) for e in errors), what="reported")
        refusal = next(e for e in errors if isinstance(e, swiftnats.PublishRefusedError))
        assert f"{len(refused)} publishes" in refusal.detail and refused[0] in refusal.detail
        assert nc.stats["lost_publishes"] == len(refused)
        assert nc.stats["reconnects"] == 1 and len(reasons) == 1
        assert isinstance(reasons[0], swiftnats.SwiftNatsError)
    finally:
        nc.close()
        first.stop()
        if second is not None:
            second.stop()


# -- why a connection dropped ------------------------------------------------------------------

def test_disconnected_cb_receives_the_reason(server_factory):
    srv = server_factory()
    reasons: List[Any] = []
    plain: List[str] = []
    closed: List[Any] = []
    nc = swiftnats.connect(srv.url, reconnect_time_wait=0.02, max_reconnect_attempts=1,
                           disconnected_cb=lambda reason: reasons.append(reason),
                           closed_cb=lambda reason: closed.append(reason))
    other = swiftnats.connect(srv.url, allow_reconnect=False, disconnected_cb=lambda: plain.append("called"))
    try:
        assert nc.last_error is None
        srv.stop()
        eventually(lambda: len(closed) == 1 and plain == ["called"], timeout=10, what="closed")
        assert isinstance(reasons[0], swiftnats.SocketError), reasons
        assert "the server closed the connection" in reasons[0].detail
        assert isinstance(closed[0], swiftnats.NoServersError), closed
        assert isinstance(nc.last_error, swiftnats.NoServersError)
    finally:
        nc.close()
        other.close()
    assert isinstance(nc.last_error, swiftnats.NoServersError)  # kept once closed


def test_callbacks_with_defaults_keep_them(server_factory):
    """Only a callback that asks for an argument receives the reason: a default stays."""
    srv = server_factory()
    done = __import__("threading").Event()
    nc = swiftnats.connect(srv.url, allow_reconnect=False, closed_cb=lambda ev=done: ev.set())
    nc.close()
    assert done.wait(5)


def test_server_error_is_the_reason_async(tmp_path, server_factory):
    conf = tmp_path / "short.conf"
    conf.write_text("max_control_line: 256\n")
    srv = server_factory(["-c", str(conf)])

    async def main() -> None:
        got: "asyncio.Queue[Any]" = asyncio.Queue()

        async def on_closed(reason: Any) -> None:
            await got.put(reason)

        nc = await aio.connect(srv.url, allow_reconnect=False, closed_cb=on_closed)
        try:
            await nc.publish("long." + "x" * 400, b"1")
            reason = await asyncio.wait_for(got.get(), 5)
            assert isinstance(reason, swiftnats.ServerError), reason
            assert "control line" in reason.detail.lower()
            assert isinstance(nc.last_error, swiftnats.ServerError)
        finally:
            await nc.close()

    asyncio.run(main())


# -- discovery ---------------------------------------------------------------------------------

def test_discovery_reports_ignored_replies(nats_server):
    errors: List[BaseException] = []
    nc = swiftnats.connect(nats_server, error_cb=lambda e, sub: errors.append(e))
    other = swiftnats.connect(nats_server)
    try:
        with micro.add_service(nc, name="real", version="1.0.0"):
            other.subscribe("$SRV.INFO", cb=lambda m: m.respond(b"not json"))
            other.subscribe("$SRV.INFO", cb=lambda m: m.respond(
                b'{"name":"old","id":"42","version":"0.1.0","endpoints":[]}'))
            other.flush()
            nc.flush()
            found = micro.info(nc, timeout=1.0)
            assert sorted(i.name for i in found) == ["old", "real"]
            eventually(lambda: any("1 reply to $SRV.INFO ignored: 1 not a JSON object" in str(e) for e in errors),
                       what=f"reported: {errors}")
    finally:
        other.close()
        nc.close()
