"""Micro services through the binding, and interop with nats-py: its `nats.micro` parsers read
our PING / INFO / STATS answers (gathered by a plain nats-py connection), and a service
written with nats-py's micro API is found and read by our discovery client."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, List

import pytest

import swiftnats
from swiftnats import micro
from conftest import eventually


@pytest.fixture
def svc(nc):
    service = micro.add_service(
        nc, name="calc", version="1.2.0", description='a "quoted" calculator', metadata={"lang": "python"},
        stats_handler=lambda endpoint: {"endpoint": endpoint},
    )
    yield service
    service.stop()


def test_endpoints_answers_and_errors(nc, svc):
    @svc.endpoint("add", subject="calc.add")
    def add(req: micro.Request) -> None:
        a, b = req.json()
        req.respond_json(a + b)

    math = svc.add_group("math")

    @math.endpoint("fail")
    def fail(req: micro.Request) -> None:
        raise micro.ServiceError("400", "bad numbers")

    @math.endpoint("crash")
    def crash(req: micro.Request) -> None:
        raise RuntimeError("boom")

    @svc.endpoint("mul", group="ops")
    def mul(req: micro.Request) -> None:
        a, b = req.json()
        req.respond_json(a * b)

    assert nc.request("ops.mul", b"[2, 3]", timeout=2).data == b"6"
    assert nc.request("calc.add", b"[2, 3]", timeout=2).data == b"5"
    failed = nc.request("math.fail", b"", timeout=2)
    assert failed.headers == {"Nats-Service-Error": "bad numbers", "Nats-Service-Error-Code": "400"}
    crashed = nc.request("math.crash", b"", timeout=2)
    assert crashed.headers["Nats-Service-Error-Code"] == "500"
    assert "boom" in crashed.headers["Nats-Service-Error"]
    # An endpoint counts a request once its handler has returned, which may be after the reply
    # arrived here: wait until each of the four has counted its one.
    eventually(lambda: all(e["num_requests"] == 1 for e in svc.stats()["endpoints"]), what="each endpoint counted")
    stats = {e["name"]: e for e in svc.stats()["endpoints"]}
    assert stats["add"]["num_requests"] == 1 and stats["add"]["num_errors"] == 0
    assert stats["fail"]["last_error"] == "400:bad numbers"
    assert stats["crash"]["num_errors"] == 1
    assert stats["add"]["data"] == {"endpoint": "add"}
    info = svc.info()
    assert [e["subject"] for e in info["endpoints"]] == ["calc.add", "math.fail", "math.crash", "ops.mul"]
    assert info["description"] == 'a "quoted" calculator'


def test_answer_later_from_another_thread(nc, svc):
    kept: List[micro.Request] = []

    def later(req: micro.Request) -> None:
        kept.append(req)
        threading.Timer(0.02, lambda: req.respond(b"later " + req.data, headers={"X-Late": "1"})).start()

    svc.add_endpoint("later", later)
    reply = nc.request("later", b"hi", timeout=2)
    assert reply.data == b"later hi" and reply.headers == {"X-Late": "1"}


def test_discovery_ping_info_stats(nc, svc):
    svc.add_endpoint("echo", lambda req: req.respond(req.data))
    other = micro.add_service(nc, name="calc", version="1.2.0")
    try:
        assert {p.id for p in micro.ping(nc, "calc", timeout=0.5)} == {svc.id, other.id}
        assert len(micro.ping(nc, timeout=2, max_replies=1)) == 1
        [only] = micro.info(nc, "calc", svc.id, timeout=0.5)
        assert only.metadata == {"lang": "python"} and only.description == 'a "quoted" calculator'
        assert only.endpoints == [micro.EndpointInfo("echo", "echo", "q", None)]
        [counted] = micro.stats(nc, "calc", svc.id, timeout=0.5)
        assert counted.endpoints[0].data == {"endpoint": "echo"} and counted.started.endswith("Z")
        assert micro.stats(nc, "nobody", timeout=2) == []
        with pytest.raises(swiftnats.InvalidArgumentError):
            micro.ping(nc, None, "id-without-name")
    finally:
        other.stop()


def test_queue_groups(nc):
    with micro.add_service(nc, name="q", version="1.0.0", queue_group="custom") as service:
        service.add_endpoint("a", lambda r: None)
        service.add_endpoint("b", lambda r: None, queue_group_disabled=True)
        g = service.add_group("g", queue_group="g-q")
        g.add_endpoint("c", lambda r: None)
        assert [e["queue_group"] for e in service.info()["endpoints"]] == ["custom", "", "g-q"]


def test_stop_done_and_reset(nc):
    done = threading.Event()
    service = micro.add_service(nc, name="stopper", version="1.0.0", done_cb=lambda s: done.set())
    service.add_endpoint("x", lambda r: r.respond(b"ok"))
    nc.request("x", b"", timeout=2)
    service.reset()
    assert service.stats()["endpoints"][0]["num_requests"] == 0
    service.stop()
    assert done.is_set() and service.stopped
    service.stop()  # idempotent
    with pytest.raises(swiftnats.SwiftNatsError):
        service.add_endpoint("y", lambda r: None)


def test_closing_the_connection_stops_the_service(nats_server):
    nc = swiftnats.connect(nats_server)
    done = threading.Event()
    service = micro.add_service(nc, name="ends", version="1.0.0", done_cb=lambda s: done.set())
    nc.close()
    assert done.wait(5)
    assert service.stopped


def test_slow_consumer_reports_and_stops(nc):
    errors: List[Any] = []
    service = micro.add_service(nc, name="slow", version="1.0.0", error_cb=lambda e, ep: errors.append((e, ep)))
    service.add_endpoint("slow", lambda r: time.sleep(0.1), pending_limits=(2, 0))
    for _ in range(20):
        nc.publish("slow", b"x")
    eventually(lambda: errors, what="a slow-consumer report")
    assert isinstance(errors[0][0], swiftnats.SlowConsumerError) and errors[0][1] == "slow"
    eventually(lambda: service.stopped)


def test_concurrency(nc, svc):
    lock = threading.Lock()
    state = {"running": 0, "most": 0}

    def slow(req: micro.Request) -> None:
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        time.sleep(0.1)
        with lock:
            state["running"] -= 1
        req.respond(b"")

    svc.add_endpoint("par", slow, concurrency=3)
    sub = nc.subscribe(nc.new_inbox())
    for _ in range(3):
        nc.publish("par", b"", reply=sub.subject)
    for _ in range(3):
        sub.next_msg(timeout=5)
    assert state["most"] == 3
    with pytest.raises(swiftnats.InvalidArgumentError):
        svc.add_endpoint("bad", slow, concurrency=0)


@pytest.mark.parametrize(
    "kwargs",
    [dict(name="bad name", version="1.0.0"), dict(name="ok", version="1.0"), dict(name="ok", version="1.0.0", queue_group=">")],
    ids=["name", "version", "queue-group"],
)
def test_invalid_configuration(nc, kwargs):
    with pytest.raises(swiftnats.InvalidArgumentError):
        micro.add_service(nc, **kwargs)


def test_invalid_endpoints(nc, svc):
    with pytest.raises(swiftnats.InvalidArgumentError):
        svc.add_endpoint("bad.name", lambda r: None)
    with pytest.raises(swiftnats.InvalidArgumentError):
        svc.add_endpoint("ok", lambda r: None, subject="has space")
    with pytest.raises(TypeError):
        svc.add_endpoint("ok", 42)


# ---- interop with nats-py (installed by scripts/deps.sh) -------------------------------------

import nats  # noqa: E402
import nats.micro  # noqa: E402
from nats.micro.service import ServiceInfo, ServicePing, ServiceStats  # noqa: E402


async def _gather(url: str, subject: str, wait: float = 0.5) -> List[dict]:
    """A plain nats-py connection sends to $SRV.* and collects every answer."""
    import json

    client = await nats.connect(url)
    try:
        inbox = client.new_inbox()
        sub = await client.subscribe(inbox)
        await client.publish(subject, b"", reply=inbox)
        found = []
        while True:
            try:
                msg = await sub.next_msg(timeout=wait)
            except nats.errors.TimeoutError:
                return found
            found.append(json.loads(msg.data))
    finally:
        await client.close()


def test_nats_py_reads_our_documents(nats_server, nc, svc):
    svc.add_endpoint("add", lambda r: r.respond(b"5"), subject="calc.add", metadata={"params": "a,b"})
    nc.request("calc.add", b"", timeout=2)
    # The endpoint counts the request once its handler has returned, maybe just after the reply.
    eventually(lambda: svc.stats()["endpoints"][0]["num_requests"] == 1, what="the request counted")
    pings = asyncio.run(_gather(nats_server, "$SRV.PING.calc"))
    infos = asyncio.run(_gather(nats_server, "$SRV.INFO.calc"))
    stats = asyncio.run(_gather(nats_server, f"$SRV.STATS.calc.{svc.id}"))
    assert len(pings) == len(infos) == len(stats) == 1
    ping = ServicePing.from_dict(pings[0])
    assert (ping.name, ping.id, ping.version) == ("calc", svc.id, "1.2.0")
    info = ServiceInfo.from_dict(infos[0])
    assert info.endpoints[0].subject == "calc.add" and info.endpoints[0].metadata == {"params": "a,b"}
    assert info.metadata == {"lang": "python"}
    parsed = ServiceStats.from_dict(stats[0])  # started: 6 fractional digits + Z parses
    assert parsed.endpoints[0].num_requests == 1
    assert parsed.endpoints[0].data == {"endpoint": "add"}


def test_we_find_a_nats_py_service(nats_server, nc):
    ready = threading.Event()
    stop = threading.Event()

    async def run_service() -> None:
        client = await nats.connect(nats_server)
        service = await nats.micro.add_service(client, name="pysvc", version="0.3.0", description="from nats-py")

        async def handler(req) -> None:
            if req.data == b"fail":
                raise nats.micro.ServiceError("418", "teapot")
            await req.respond(req.data)

        await service.add_endpoint(name="echo", subject="py.echo", handler=handler)
        # add_endpoint only queues the SUB; the server must have it before our request.
        await client.flush()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.02)
        await service.stop()
        await client.close()

    thread = threading.Thread(target=lambda: asyncio.run(run_service()))
    thread.start()
    try:
        assert ready.wait(10)
        assert nc.request("py.echo", b"hi", timeout=2).data == b"hi"
        nc.request("py.echo", b"fail", timeout=2)
        [ping] = micro.ping(nc, "pysvc", timeout=0.5)
        assert ping.version == "0.3.0"
        [info] = micro.info(nc, "pysvc", ping.id, timeout=0.5)
        assert info.endpoints[0].subject == "py.echo" and info.description == "from nats-py"
        # nats-py counts an error after sending it: the reply may arrive first.
        def counted() -> bool:
            [stats] = micro.stats(nc, "pysvc", timeout=0.5)
            return stats.endpoints[0].num_requests == 2 and stats.endpoints[0].num_errors == 1

        eventually(counted, what="nats-py's counters")
    finally:
        stop.set()
        thread.join(10)
