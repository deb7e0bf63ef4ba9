"""RPC proxies (swiftnats.rpc_proxy): remote methods as functions with the servers'
signatures, bound locally (TypeError before anything is sent), dotted names by attribute or
item, positional and keyword arguments at once (the "*" form of docs/RPC.md), streams as
iterators, and methods that come and go; sync and asyncio."""

from __future__ import annotations

import asyncio
import inspect
import pydoc
import time
from typing import Any, List

import pytest

import swiftnats
from swiftnats import aio
from swiftnats.rpc import RPC
from test_aio import run


def _serve(server: Any, calls: List[str]) -> None:
    @server.method("math.add")
    def add(a: int, b: int = 0) -> int:
        """Adds two integers."""
        calls.append("add")
        return a + b

    @server.method("math.vec.norm")
    def norm(x: float, y: float) -> float:
        return (x * x + y * y) ** 0.5

    @server.method
    def everything(a: int, *rest: Any, flag: bool = False, **options: Any) -> Any:
        calls.append("everything")
        return {"a": a, "rest": list(rest), "flag": flag, "options": options}

    @server.method
    def countdown(n: int):
        yield from range(n, 0, -1)


def test_signatures_local_binding_and_dotted_names(nc):
    calls: List[str] = []
    with RPC(nc, namespace="px") as server, RPC(nc, namespace="px") as client:
        _serve(server, calls)
        server.start()
        remote = client.proxy()
        assert remote.methods == ["countdown", "everything", "math.add", "math.vec.norm"]
        assert str(inspect.signature(remote.math.add)) == "(a: int, b: int = <optional>)"
        assert str(inspect.signature(remote.everything)) == \
            "(a: int, *rest, flag: bool = <optional>, **options)"
        assert "Adds two integers." in pydoc.render_doc(remote.math.add)
        assert remote.math.add(1, 2) == 3
        assert remote.math.add(a=5) == 5  # b not sent: the server's default
        assert remote["math.add"](2, b=3) == 5
        assert remote.math["vec.norm"](3, 4) == 5.0
        assert remote.math.vec.norm(x=3, y=4) == 5.0
        assert "math" in dir(remote)
        sent = len(calls)
        with pytest.raises(TypeError, match="too many positional arguments"):
            remote.math.add(1, 2, 3)
        with pytest.raises(TypeError, match="missing a required argument: 'a'"):
            remote.math.add(b=1)
        with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
            remote.math.add(1, c=2)
        assert len(calls) == sent, "a wrong call reached the server"


def test_positional_and_keyword_at_once(nc):
    calls: List[str] = []
    with RPC(nc, namespace="pxmix") as server, RPC(nc, namespace="pxmix") as client:
        _serve(server, calls)
        server.start()
        remote = client.remote
        assert remote.everything(1, 2, 3, flag=True, x=5) == {"a": 1, "rest": [2, 3], "flag": True, "options": {"x": 5}}
        assert remote.everything(1, 2) == {"a": 1, "rest": [2], "flag": False, "options": {}}
        assert remote.everything(a=1, y="z") == {"a": 1, "rest": [], "flag": False, "options": {"y": "z"}}
        # the same form by hand, checked by the server's description
        assert client.call("everything", {"*": [7, 8], "flag": True}) == \
            {"a": 7, "rest": [8], "flag": True, "options": {}}
        with pytest.raises(swiftnats.InvalidParamsError, match="parameter 'a' given by position and by name"):
            client.call("everything", {"*": [7], "a": 1})
        with pytest.raises(swiftnats.InvalidParamsError, match="must be an array of positional values"):
            client.call("everything", {"*": 7})
        with pytest.raises(swiftnats.InvalidParamsError, match="parameter 'a' must be integer"):
            client.call("everything", {"*": ["x"]})


def test_streams_and_methods_that_come_and_go(nc, nats_server):
    calls: List[str] = []
    with RPC(nc, namespace="pxlive") as server, RPC(nc, namespace="pxlive") as client:
        _serve(server, calls)
        server.start()
        remote = client.proxy()
        assert list(remote.countdown(3)) == [3, 2, 1]
        later_nc = swiftnats.connect(nats_server)
        try:
            with RPC(later_nc, namespace="pxlive") as later:
                @later.method
                def hello(name: str) -> str:
                    return f"hello {name}"

                later.start()
                assert remote.hello("you") == "hello you"  # not known yet: described again
                assert str(inspect.signature(remote.hello)) == "(name: str)"
            started = time.monotonic()
            with pytest.raises(swiftnats.MethodNotFoundError):
                remote.hello("again")  # its server is gone: at once, not a timeout
            assert time.monotonic() - started < 1
            assert "hello" not in remote.methods
        finally:
            later_nc.close()


def test_asyncio_proxy(nats_server):
    async def main():
        calls: List[str] = []
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, namespace="apx") as server, aio.rpc.RPC(nc, namespace="apx") as client:
                _serve(server, calls)

                @server.method
                async def slow_add(a: int, b: int) -> int:
                    await asyncio.sleep(0)
                    return a + b

                await server.start()
                remote = await client.proxy()
                assert client.remote is remote
                assert str(inspect.signature(remote.slow_add)) == "(a: int, b: int)"
                assert await remote.math.add(1, 2) == 3
                assert await remote.slow_add(a=2, b=5) == 7
                assert await remote.everything(1, 2, flag=True) == {"a": 1, "rest": [2], "flag": True, "options": {}}
                assert [x async for x in remote.countdown(3)] == [3, 2, 1]
                sent = len(calls)
                with pytest.raises(TypeError):
                    remote.math.add(1, 2, 3)  # at the call, before any await
                assert len(calls) == sent
                with pytest.raises(swiftnats.MethodNotFoundError):
                    await remote.nothing_here()
                assert server.serve(_Calculator(), prefix="calc")[0] == "calc.addition.add"
                await remote.refresh()
                assert await remote.calc.addition.add_later(1, 2) == 3
                # a proxy that has described nothing yet describes at its first call
                fresh = aio.rpc.RPC(nc, namespace="apx")
                try:
                    assert await fresh.remote.math.add(4, 4) == 8
                finally:
                    await fresh.close()
                # ... and a stream it has not described yet is an async iterator as well
                async with aio.rpc.RPC(nc, namespace="apx") as fresh:
                    assert [x async for x in fresh.remote.countdown(3)] == [3, 2, 1]
                async with aio.rpc.RPC(nc, namespace="apx") as fresh:
                    assert await fresh.remote.countdown(2) == [2, 1]  # awaited: the items in a list

    run(main())


# -- object services ---------------------------------------------------------------------------

from swiftnats.rpc import ServiceDict, expose  # noqa: E402


class _Addition:
    @expose
    def add(self, a: int, b: int) -> int:
        return a + b

    @expose
    async def add_later(self, a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b


class _Calculator:
    def __init__(self) -> None:
        self.addition = _Addition()
        self.extras = ServiceDict(neg=lambda x: -x, powers=ServiceDict(square=lambda x: x * x))
        self._private = _Addition()  # not served: private attribute
        self.calls = 0

    @expose
    def ping(self) -> str:
        self.calls += 1
        return "pong"

    @expose(name="version")
    def _version(self) -> int:
        return 2

    @expose
    def count(self, n: int):
        yield from range(n)

    def internal(self) -> str:  # not exposed: not reachable
        return "secret"


def test_object_services_and_their_hierarchy(nc):
    calculator = _Calculator()
    with RPC(nc, namespace="objs") as server, RPC(nc, namespace="objs") as client:
        served = server.serve(calculator)
        assert served == ["addition.add", "addition.add_later", "count", "extras.neg", "extras.powers.square", "ping",
                          "version"]
        server.start()
        remote = client.proxy()
        assert remote.ping() == "pong" and calculator.calls == 1
        assert remote.addition.add(2, 3) == 5
        assert remote.extras.powers.square(4) == 16
        assert remote.version() == 2
        assert list(remote.count(3)) == [0, 1, 2]
        with pytest.raises(swiftnats.MethodNotFoundError):
            client.call("internal")
        with pytest.raises(swiftnats.MethodNotFoundError):
            client.call("_private.add", [1, 2])
        with pytest.raises(TypeError, match="is no service"):
            server.serve(42)

        class Twice:
            @expose
            def ping(self) -> int:
                return 1

            @expose(name="ping")
            def other(self) -> int:
                return 2

        with pytest.raises(ValueError, match="two methods would be served as 'ping'"):
            server.serve(Twice())


def test_annotations_checked_or_not(nc):
    class Loose:
        @expose
        def work(self, job: dict) -> int:  # EasyRpc's own examples feed a list here
            return len(job)

    with RPC(nc, namespace="strict") as strict, RPC(nc, namespace="loose", check_types=False) as loose, \
            RPC(nc, namespace="strict") as strict_client, RPC(nc, namespace="loose") as loose_client:
        strict.serve(Loose())
        loose.serve(Loose())
        strict.start()
        loose.start()
        with pytest.raises(swiftnats.InvalidParamsError, match="parameter 'job' must be object, got array"):
            strict_client.call("work", [[1, 2, 3]])
        assert loose_client.call("work", [[1, 2, 3]]) == 3
        assert str(inspect.signature(loose_client.proxy().work)) == "(job)"
