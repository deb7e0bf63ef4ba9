"""RPC through the binding: decorators (plain, generator, async), dict and list params,
prefixes, namespace isolation and groups, every error code, async calls, callbacks, batches,
streams, describe, the asyncio face, a server in another process, and interop with a plain
nats-py client that knows only the documented wire format."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, List

import pytest

import swiftnats
from swiftnats.rpc import RPC, AsyncRPC, MethodInfo, describe_parameters
from conftest import eventually


def calculator(nc: swiftnats.Client, namespace: str = "calc", prefix: str = "") -> RPC:
    rpc = RPC(nc, namespace=namespace)

    @rpc.method("math.add")
    def add(a: float, b: float) -> float:
        """Adds two numbers."""
        return a + b

    @rpc.rpc_method()
    def whoami() -> str:
        return namespace

    @rpc.method
    def echo(*args: Any, **kwargs: Any) -> Any:
        return kwargs if kwargs else list(args)

    @rpc.method("validate")
    def validate(data: str) -> bool:
        if not data:
            raise ValueError("Data cannot be empty")
        return True

    @rpc.method
    def teapot() -> None:
        raise swiftnats.RPCError(-32042, "I'm a teapot", {"brew": "earl grey"})

    @rpc.method
    def count(n: int):
        for i in range(n):
            yield i

    @rpc.method
    def broken():
        yield "a"
        yield "b"
        raise RuntimeError("generator failed")

    @rpc.method
    async def double(x: int) -> int:
        await asyncio.sleep(0.01)
        return 2 * x

    @rpc.method
    async def agen(n: int):
        for i in range(n):
            await asyncio.sleep(0)
            yield i * i

    @rpc.method
    def unserialisable() -> Any:
        return object()

    rpc.start(prefix)
    return rpc


@pytest.fixture
def calc(nc):
    rpc = calculator(nc)
    yield rpc
    rpc.close()


def test_call_with_dict_and_list_params(calc):
    assert calc.call("math.add", {"a": 5, "b": 3}) == 8
    assert calc.call("math.add", [4, 7.5]) == 11.5
    assert calc.call("math.add", (1, 2)) == 3
    assert calc.call("echo", {"x": [1, "two", None]}) == {"x": [1, "two", None]}
    assert calc.call("echo") == []
    assert calc.call("whoami") == "calc"
    assert calc.call("validate", {"data": "hello"}) is True
    with pytest.raises(TypeError):
        calc.call("echo", 42)  # type: ignore[arg-type]
    with pytest.raises(swiftnats.InvalidArgumentError):
        calc.call("bad method")
    with pytest.raises(swiftnats.InvalidArgumentError):
        calc.call("echo", timeout=0)


def test_namespaces_are_isolated_and_prefix(nc):
    prod, dev = calculator(nc, "production"), calculator(nc, "development", prefix="v1")
    try:
        assert prod.call("whoami") == "production"
        assert dev.call("v1.whoami") == "development"
        with pytest.raises(swiftnats.MethodNotFoundError):
            dev.call("whoami")
        with RPC(nc, namespace="staging") as staging, pytest.raises(swiftnats.MethodNotFoundError):
            staging.call("whoami")
    finally:
        prod.close()
        dev.close()


def test_error_codes(calc, nc):
    with pytest.raises(swiftnats.InternalError) as info:
        calc.call("validate", {"data": ""})
    err = info.value
    assert err.code == -32603 and err.message == "Internal error: Data cannot be empty"
    assert str(err) == "RPC Error (-32603): Internal error: Data cannot be empty"
    assert err.data["namespace"] == "calc" and err.data["method"] == "validate"
    assert err.data["instance"] == calc.server_ids["calc"] and err.data["host"]
    assert "ValueError: Data cannot be empty" in err.traceback
    assert isinstance(err, swiftnats.RPCError) and isinstance(err, swiftnats.SwiftNatsError)

    with pytest.raises(swiftnats.RPCError) as info:
        calc.call("teapot")
    assert (info.value.code, info.value.message, info.value.data["details"]) == (-32042, "I'm a teapot", {"brew": "earl grey"})

    with pytest.raises(swiftnats.InvalidParamsError, match="missing required parameter 'b'"):
        calc.call("math.add", {"a": 1})
    with pytest.raises(swiftnats.InvalidParamsError, match="parameter 'b' must be number, got string"):
        calc.call("math.add", {"a": 1, "b": "x"})
    with pytest.raises(swiftnats.InvalidParamsError, match="unexpected parameter 'c'"):
        calc.call("math.add", {"a": 1, "b": 2, "c": 3})
    with pytest.raises(TypeError):  # InvalidParamsError is a TypeError too
        calc.call("math.add", [1, 2, 3])
    with pytest.raises(swiftnats.InternalError, match="not JSON serialisable"):
        calc.call("unserialisable")

    started = time.monotonic()
    with pytest.raises(swiftnats.MethodNotFoundError) as info:
        calc.call("nope", timeout=10)
    assert time.monotonic() - started < 2  # at once, not by timing out
    assert info.value.message == "Method not found: nope"

    # Raw bodies: parse error and invalid requests, with the micro error headers.
    reply = nc.request("rpc.calc.math.add", b"{not json", timeout=2)
    body = json.loads(reply.data)
    assert body["error"]["code"] == -32700 and body["id"] is None and body["result"] is None
    assert reply.headers["Nats-Service-Error-Code"] == "-32700"
    for bad in (b"[1, 2]", b'{"id": "7"}', b'{"method": "math.add"}', b'{"id": 1, "method": "math.add", "params": 5}'):
        assert json.loads(nc.request("rpc.calc.math.add", bad, timeout=2).data)["error"]["code"] == -32600, bad
    # jsonrpc: "2.0" is accepted and ignored
    ok = json.loads(nc.request("rpc.calc.math.add", b'{"jsonrpc": "2.0", "id": 9, "method": "math.add", "params": [1, 2]}', timeout=2).data)
    assert ok == {"id": 9, "result": 3, "error": None}


def test_async_calls_and_get_response(calc):
    ids = [calc.call_async("double", [i]) for i in range(5)]
    assert [calc.get_response(i) for i in reversed(ids)] == [8, 6, 4, 2, 0]
    with pytest.raises(swiftnats.NotFoundError):
        calc.get_response(ids[0], timeout=0.1)
    rid = calc.call_async("validate", {"data": ""})
    with pytest.raises(swiftnats.InternalError):
        calc.get_response(rid)
    rid = calc.call_async("nope")
    with pytest.raises(swiftnats.MethodNotFoundError):
        calc.get_response(rid)
    rid = calc.call_async("whoami")
    calc.cancel(rid)
    with pytest.raises(swiftnats.NotFoundError):
        calc.cancel(rid)


def test_answer_from_another_thread_and_timeouts(nc):
    with RPC(nc, namespace="later") as rpc:
        gate = threading.Event()

        @rpc.method(concurrency=4)
        def wait_for_gate() -> str:
            gate.wait(5)
            return "opened"

        rpc.start()
        rid = rpc.call_async("wait_for_gate")
        with pytest.raises(swiftnats.TimeoutError):
            rpc.get_response(rid, timeout=0.05)  # still pending afterwards
        with pytest.raises(swiftnats.TimeoutError):
            rpc.call("wait_for_gate", timeout=0.05)
        gate.set()
        assert rpc.get_response(rid, timeout=2) == "opened"


def test_callback_form(calc):
    outcomes: List[Any] = []
    done = threading.Event()

    def collect(result: Any, error: Any) -> None:
        outcomes.append((result, error))
        if len(outcomes) == 3:
            done.set()

    calc.call_with_callback("math.add", [1, 2], collect)
    calc.call_with_callback("nope", None, collect)
    calc.call_with_callback("double", [1], collect, timeout=0.001)
    assert done.wait(5)
    results = sorted(outcomes, key=lambda o: repr(type(o[1])))
    assert (3, None) in outcomes
    assert any(isinstance(e, swiftnats.MethodNotFoundError) for _, e in results)
    assert any(isinstance(e, swiftnats.TimeoutError) for _, e in results)


def test_batch_with_mixed_outcomes(calc):
    results = calc.call_batch([
        ("math.add", {"a": 1, "b": 2}),
        ("validate", {"data": ""}),
        ("nope", None),
        ("math.add", [3, 4]),
        ("math.add", {"a": 1}),
        ("whoami",),
    ])
    assert results[0] == 3 and results[3] == 7 and results[5] == "calc"
    assert isinstance(results[1], swiftnats.InternalError)
    assert isinstance(results[2], swiftnats.MethodNotFoundError)
    assert isinstance(results[4], swiftnats.InvalidParamsError)


def test_batch_runs_concurrently(nc):
    with RPC(nc, namespace="slow") as rpc:
        @rpc.method(concurrency=8)
        def sleepy(i: int) -> int:
            time.sleep(0.3)
            return i

        rpc.start()
        started = time.monotonic()
        assert rpc.call_batch([("sleepy", [i]) for i in range(6)], timeout=5) == list(range(6))
        assert time.monotonic() - started < 1.5


def test_streams(calc):
    assert list(calc.call_stream("count", [500])) == list(range(500))
    assert list(calc.call_stream("agen", [4])) == [0, 1, 4, 9]
    stream = calc.call_stream("broken")
    assert next(stream) == "a" and next(stream) == "b"
    with pytest.raises(swiftnats.InternalError, match="generator failed") as info:
        next(stream)
    assert "RuntimeError: generator failed" in info.value.traceback
    assert list(calc.call_stream("whoami")) == ["calc"]  # not streaming: one item
    with pytest.raises(swiftnats.MethodNotFoundError):
        list(calc.call_stream("nope"))
    with calc.call_stream("count", [1000]) as abandoned:
        assert next(abandoned) == 0
    assert calc.call("count", [3]) == [0, 1, 2]  # a plain call gets every item


def test_namespace_group_falls_through(nc):
    left, right = RPC(nc, namespace="left"), RPC(nc, namespace="right")
    left.register_handler("only_left", lambda: "left")
    left.register_handler("both", lambda: "left")
    right.register_handler("only_right", lambda: "right")
    right.register_handler("both", lambda: "right")
    left.start()
    right.start()
    try:
        with RPC(nc, namespace=["left", "right"]) as ring:
            assert ring.call("only_left") == "left"
            assert ring.call("only_right") == "right"
            assert ring.call("both") == "left"
            assert ring.call_batch([("only_right",), ("only_left",)]) == ["right", "left"]
            with pytest.raises(swiftnats.MethodNotFoundError) as info:
                ring.call("none")
            assert info.value.data["namespaces"] == ["left", "right"]
            assert [m.method for m in ring.describe(0.3)] == ["both", "only_left", "only_right"]
            left.stop()
            assert ring.call("both") == "right"
    finally:
        left.close()
        right.close()


def test_group_registration_serves_every_member(nc):
    with RPC(nc, namespace=["public", "private"]) as group:
        group.register_handler("open", lambda: "open")
        group.start()
        with RPC(nc, namespace="private") as private:
            assert private.call("open") == "open"
        assert set(group.server_ids) == {"public", "private"}


def test_describe_and_micro_info(calc, nc):
    methods = {m.method: m for m in calc.describe(0.3)}
    add = methods["math.add"]
    assert add == MethodInfo("math.add", "calc", "rpc.calc.math.add",
                             [{"name": "a", "type": "number", "required": True},
                              {"name": "b", "type": "number", "required": True}],
                             "Adds two numbers.", 1)
    assert methods["echo"].params == [{"name": "args", "required": False, "kind": "var_positional"},
                                      {"name": "kwargs", "required": False, "kind": "var_keyword"}]
    [info] = swiftnats.micro.info(nc, "calc", timeout=0.3)
    names = {e.name: e for e in info.endpoints}
    assert names["math_add"].metadata["rpc.method"] == "math.add"
    assert names["math_add"].queue_group == "q"
    [stats] = swiftnats.micro.stats(nc, "calc", timeout=0.3)
    assert stats.name == "calc"


def test_describe_parameters():
    def f(a: int, b: "float" = 1.0, *rest: Any, flag: bool = False, **kw: Any) -> None: ...
    assert describe_parameters(f) == [
        {"name": "a", "type": "integer", "required": True},
        {"name": "b", "type": "number", "required": False},
        {"name": "rest", "kind": "var_positional"},
        {"name": "flag", "type": "boolean", "required": False},
        {"name": "kw", "kind": "var_keyword"},
    ]


def test_registration_mistakes(nc):
    with pytest.raises(swiftnats.InvalidArgumentError, match="namespace"):
        RPC(nc, namespace="my.app").register_handler("x", lambda: 1)
    with RPC(nc, namespace="mistakes") as rpc:
        rpc.register_handler("a.b", lambda: 1)
        with pytest.raises(swiftnats.InvalidArgumentError):
            rpc.register_handler("a.b", lambda: 1)
        with pytest.raises(swiftnats.InvalidArgumentError, match="share the endpoint name"):
            rpc.register_handler("a_b", lambda: 1)
        with pytest.raises(swiftnats.InvalidArgumentError):
            rpc.register_handler("a.*", lambda: 1)
        with pytest.raises(TypeError):
            rpc.register_handler("x", "not callable")  # type: ignore[arg-type]
        rpc.start()
        with pytest.raises(swiftnats.IllegalStateError):
            rpc.start()
        rpc.register_handler("late", lambda: "late")  # while running
        assert rpc.call("late") == "late"
    with pytest.raises(swiftnats.IllegalStateError):
        rpc.call("late")


def test_closed_connection(nats_server):
    nc = swiftnats.connect(nats_server)
    rpc = RPC(nc, namespace="gone")
    nc.close()
    with pytest.raises(swiftnats.ConnectionClosedError):
        rpc.call("x")
    rpc.close()


def test_asyncio_face(nc):
    async def main() -> None:
        async with AsyncRPC(nc, namespace="aio") as rpc:
            @rpc.method
            async def add(a: int, b: int) -> int:
                return a + b

            @rpc.method
            def plain(x: int) -> int:
                return -x

            @rpc.method
            async def slow() -> None:
                await asyncio.sleep(1)

            @rpc.method
            async def squares(n: int):
                for i in range(n):
                    yield i * i

            await rpc.start()
            assert await rpc.call("add", [1, 2]) == 3
            assert await rpc.call("plain", {"x": 5}) == -5
            results = await asyncio.gather(*(rpc.call("add", [i, i]) for i in range(20)))
            assert results == [2 * i for i in range(20)]
            rid = await rpc.call_async("add", [2, 2])
            assert await rpc.get_response(rid) == 4
            assert [x async for x in rpc.call_stream("squares", [4])] == [0, 1, 4, 9]
            batch = await rpc.call_batch([("add", [1, 1]), ("nope",)])
            assert batch[0] == 2 and isinstance(batch[1], swiftnats.MethodNotFoundError)
            with pytest.raises(swiftnats.MethodNotFoundError):
                await rpc.call("nope")
            with pytest.raises(asyncio.TimeoutError):  # swiftnats.TimeoutError is one
                await rpc.call("slow", timeout=0.05)
            assert [m.method for m in await rpc.describe(0.3)] == ["add", "plain", "slow", "squares"]

    asyncio.run(main())


SERVER_SCRIPT = textwrap.dedent("""
    import os, sys, threading, swiftnats
    from swiftnats.rpc import RPC
    nc = swiftnats.connect(sys.argv[1])
    rpc = RPC(nc, namespace="remote")

    @rpc.method
    def pid() -> int:
        return os.getpid()

    @rpc.method
    def divide(a: float, b: float) -> float:
        return a / b

    rpc.start()
    print("ready", flush=True)
    sys.stdin.readline()  # serve until stdin closes
    rpc.close()
    nc.close()
""")


def test_server_in_another_process(nc, nats_server):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, nats_server], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        with RPC(nc, namespace="remote") as rpc:
            assert rpc.call("pid") == proc.pid
            with pytest.raises(swiftnats.InternalError, match="division by zero") as info:
                rpc.call("divide", [1, 0])
            assert "ZeroDivisionError" in info.value.traceback
            proc.stdin.close()
            assert proc.wait(10) == 0
            with pytest.raises(swiftnats.MethodNotFoundError):
                rpc.call("pid")
    finally:
        proc.kill()
        proc.wait()


# ---- interop: a plain NATS client that knows only the documented wire format ----

import nats  # noqa: E402


def test_plain_nats_py_client_calls_a_swiftnats_server(calc, nats_server):
    async def main() -> None:
        client = await nats.connect(nats_server)
        try:
            async def ask(subject: str, body: Any) -> Any:
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                msg = await client.request(subject, raw, timeout=2)
                return json.loads(msg.data), msg.headers

            reply, headers = await ask("rpc.calc.math.add", {"id": "a1", "method": "math.add", "params": {"a": 2, "b": 3}})
            assert reply == {"id": "a1", "result": 5, "error": None} and not headers
            reply, _ = await ask("rpc.calc.math.add", {"id": 2, "method": "math.add", "params": [2, 3]})
            assert reply["result"] == 5 and reply["id"] == 2
            reply, headers = await ask("rpc.calc.validate", {"id": "x", "method": "validate", "params": {"data": ""}})
            assert reply["result"] is None and reply["error"]["code"] == -32603
            assert reply["error"]["message"] == "Internal error: Data cannot be empty"
            assert headers["Nats-Service-Error-Code"] == "-32603"
            reply, _ = await ask("rpc.calc.math.add", b"garbage")
            assert reply["error"]["code"] == -32700
            # Streams: frames on the reply subject, numbered, then the end.
            inbox = client.new_inbox()
            sub = await client.subscribe(inbox)
            await client.publish("rpc.calc.count", json.dumps({"id": "s", "method": "count", "params": [3], "stream": True}).encode(), reply=inbox)
            frames = [json.loads((await sub.next_msg(timeout=2)).data) for _ in range(4)]
            assert [f["stream"] for f in frames] == ["item", "item", "item", "end"]
            assert [f["seq"] for f in frames] == [0, 1, 2, 3]
            assert [f["result"] for f in frames[:3]] == [0, 1, 2] and frames[3]["error"] is None
            with pytest.raises(nats.errors.NoRespondersError):
                await client.request("rpc.calc.nope", b"{}", timeout=2)
        finally:
            await client.close()

    asyncio.run(main())


def test_plain_nats_py_server_is_called_by_swiftnats(nc, nats_server):
    """A server written with nats-py alone, from docs/RPC.md."""
    ready = threading.Event()
    stop = threading.Event()

    async def serve() -> None:
        client = await nats.connect(nats_server)

        async def handler(msg: Any) -> None:
            call = json.loads(msg.data)
            a, b = call["params"] if isinstance(call["params"], list) else (call["params"]["a"], call["params"]["b"])
            if b == 0:
                body = {"id": call["id"], "result": None, "error": {"code": -32000, "message": "b is zero"}}
                await msg.respond(json.dumps(body).encode())
            else:
                await msg.respond(json.dumps({"id": call["id"], "result": a * b, "error": None}).encode())

        await client.subscribe("rpc.pyserver.mul", queue="q", cb=handler)
        await client.flush()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.02)
        await client.close()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    try:
        assert ready.wait(5)
        with RPC(nc, namespace="pyserver") as rpc:
            assert rpc.call("mul", [6, 7]) == 42
            with pytest.raises(swiftnats.RPCError) as info:
                rpc.call("mul", {"a": 1, "b": 0})
            assert info.value.code == -32000 and info.value.message == "b is zero"
    finally:
        stop.set()
        thread.join(5)
