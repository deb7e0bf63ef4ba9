"""Calls back to the caller (docs/RPC.md "References"): a caller passes a function or an
object with exposed methods, the server's handler gets a proxy and calls it back, in this
process, in another process, and from a C server; the reference's lifetime."""

import asyncio
import inspect
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import swiftnats
from swiftnats import aio
from swiftnats.rpc import RPC, Reference
from swiftnats.rpc.objects import ServiceDict, expose

REPO = Path(__file__).resolve().parents[3]


class Progress:
    """An object lent to a server: its exposed methods, and a sub-service."""

    def __init__(self) -> None:
        self.seen = []
        self.log = Log()

    @expose
    def step(self, done: int, total: int) -> str:
        self.seen.append((done, total))
        return f"{done}/{total}"

    @expose
    def squares(self, n: int):
        for i in range(n):
            yield i * i

    def private(self) -> None:  # not exposed: not reachable
        raise AssertionError("not lent")


class Log:
    def __init__(self) -> None:
        self.lines = []

    @expose
    def write(self, line: str) -> None:
        self.lines.append(line)


# A server in a process of its own: calls back what callers pass, and keeps proxies for later.
SERVER_SCRIPT = textwrap.dedent("""
    import inspect, sys, swiftnats
    from swiftnats.rpc import RPC
    nc = swiftnats.connect(sys.argv[1])
    rpc = RPC(nc, namespace="jobs")
    kept = {}

    @rpc.method
    def run(name: str, report) -> str:
        for i in range(3):
            report(i + 1, 3)
        return f"{name}: done"

    @rpc.method
    def work(progress, n: int) -> list:
        answers = [progress.step(i, n) for i in range(1, n + 1)]
        progress.log.write("worked")
        return answers + [list(progress.squares(4)), str(inspect.signature(progress.step))]

    @rpc.method
    def keep(name: str, target) -> str:
        kept[name] = target
        return "kept"

    @rpc.method
    def poke(name: str, value: int):
        return kept[name](value)

    @rpc.method
    def wrong_call(report) -> str:
        try:
            report(1, 2, 3)
        except TypeError as e:
            return "TypeError: " + str(e)
        return "no error"

    rpc.start()
    print("ready", flush=True)
    sys.stdin.readline()
""")


@pytest.fixture
def jobs(nats_server):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, nats_server], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.kill()
    proc.wait()


def test_a_server_in_another_process_calls_back_a_passed_function(nc, jobs):
    seen = []
    with RPC(nc, namespace="jobs") as rpc:
        assert rpc.call("run", ["build", lambda done, total: seen.append((done, total))]) == "build: done"
        assert seen == [(1, 3), (2, 3), (3, 3)]
        # through a proxy, with keyword arguments
        assert rpc.remote.run(name="test", report=lambda done, total: seen.append(done)) == "test: done"
        assert seen[3:] == [1, 2, 3]


def test_a_passed_object_is_called_with_its_signature_sub_services_and_streams(nc, jobs):
    progress = Progress()
    with RPC(nc, namespace="jobs") as rpc:
        answer = rpc.call("work", [progress, 2])
    assert answer == ["1/2", "2/2", [0, 1, 4, 9], "(done: int, total: int)"]
    assert progress.seen == [(1, 2), (2, 2)]
    assert progress.log.lines == ["worked"]


def test_a_wrong_call_back_is_a_local_type_error_in_the_server(nc, jobs):
    with RPC(nc, namespace="jobs") as rpc:
        assert rpc.call("wrong_call", [lambda done, total: None]).startswith("TypeError: ")


def test_a_reference_passed_in_a_call_ends_with_the_call(nc, jobs):
    with RPC(nc, namespace="jobs") as rpc:
        assert rpc.call("keep", ["f", lambda x: x * 2]) == "kept"
        started = time.monotonic()
        with pytest.raises(swiftnats.MethodNotFoundError) as info:
            rpc.call("poke", ["f", 21])  # the server calls the function kept from the last call
        assert time.monotonic() - started < 2, "at once, not after a timeout"
        assert "revoked" in str(info.value)


def test_a_lent_reference_lives_until_revoked(nc, jobs):
    with RPC(nc, namespace="jobs") as rpc:
        with rpc.lend(lambda x: x * 2) as doubler:
            assert isinstance(doubler, Reference) and not doubler.revoked
            assert doubler.subject.startswith("_INBOX.")
            assert rpc.call("keep", ["g", doubler]) == "kept"
            assert rpc.call("poke", ["g", 21]) == 42  # after the call that passed it
            assert rpc.call("poke", ["g", 4]) == 8
        assert doubler.revoked
        with pytest.raises(swiftnats.MethodNotFoundError):
            rpc.call("poke", ["g", 1])
        lent = rpc.lend(ServiceDict(inc=lambda x: x + 1))
        assert lent.json["$ref"]["methods"]["inc"]["stream"] is False
    assert lent.revoked, "close() revokes what the object lent"


def test_what_cannot_be_lent(nc):
    with RPC(nc, namespace="jobs") as rpc:
        with pytest.raises(TypeError):
            rpc.lend(42)
        with pytest.raises(TypeError):
            rpc.lend(object())  # nothing exposed
        # plain data is sent as data, not lent
        assert rpc._lend([1, "x", {"a": 1}, [2]]) == ([1, "x", {"a": 1}, [2]], [])


def test_references_of_a_stream_end_with_it_or_with_the_rpc_object(nc):
    with RPC(nc, namespace="streams") as server:
        kept = {}

        @server.method
        def numbers(n: int, fn):
            kept["fn"] = fn
            for i in range(n):
                yield fn(i)

        @server.method
        def poke(x: int) -> int:
            return kept["fn"](x)

        server.start()
        rpc = RPC(nc, namespace="streams")
        stream = rpc.call_stream("numbers", [3, lambda i: i * 2])
        assert list(stream) == [0, 2, 4]
        with pytest.raises(swiftnats.MethodNotFoundError):
            rpc.call("poke", [1])  # revoked when the stream ended
        stream = rpc.call_stream("numbers", [5, lambda i: -i])
        assert next(stream) == 0  # abandoned after one item
        assert rpc.call("poke", [7]) == -7  # still lent while the stream is open
        rpc.close()  # ... and revoked by close()
        with RPC(nc, namespace="streams") as other, pytest.raises(swiftnats.MethodNotFoundError):
            other.call("poke", [1])


def test_callbacks_in_one_process_and_call_async(nc):
    with RPC(nc, namespace="local") as rpc:
        @rpc.method
        def twice(fn, x: int) -> int:
            return fn(x) + fn(x)

        rpc.start()
        assert rpc.call("twice", {"fn": lambda x: x + 1, "x": 2}) == 6
        rid = rpc.call_async("twice", [lambda x: x * 10, 1])
        assert rpc.get_response(rid) == 20
        assert rpc._calls_lent == {}, "revoked once collected"
        outcome = []
        done = threading.Event()
        rpc.call_with_callback("twice", [lambda x: -x, 3], lambda r, e: (outcome.append((r, e)), done.set()))
        assert done.wait(5) and outcome == [(-6, None)]
        batch = rpc.call_batch([("twice", [lambda x: 1, 0]), ("twice", [abs, -4])])
        assert batch == [2, 8]


def test_aio_callbacks_both_ways(nats_server, jobs):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, "aiojobs") as server:
                @server.method
                async def run(report, n: int) -> int:
                    total = 0
                    for i in range(n):
                        total += await report(i)  # an awaitable proxy on an asyncio server
                    return total

                await server.start()
                async with aio.rpc.RPC(nc, "aiojobs") as rpc:
                    async def report(i: int) -> int:  # an async def is lent as well
                        await asyncio.sleep(0)
                        return i * 100

                    assert await rpc.call("run", [report, 3]) == 300
                    assert await (await rpc.proxy()).run(lambda i: i, 4) == 6
                # an asyncio caller, a server in another (sync) process
                async with aio.rpc.RPC(nc, "jobs") as rpc:
                    seen = []
                    assert await rpc.call("run", ["aio", lambda d, t: seen.append(d)]) == "aio: done"
                    assert seen == [1, 2, 3]
                    progress = Progress()
                    answer = await rpc.call("work", [progress, 1])
                    assert answer[0] == "1/1" and progress.log.lines == ["worked"]

    asyncio.run(main())


def _cc() -> str:
    return shutil.which("cc") or shutil.which("gcc") or ""


@pytest.mark.skipif(not _cc(), reason="no C compiler")
def test_a_c_server_calls_back_a_python_function(nats_server, tmp_path):
    library = Path(os.environ.get("SWIFTNATS_LIBRARY") or swiftnats._lib.lib._name).resolve()
    binary = tmp_path / "rpc_server"
    subprocess.run([_cc(), "-std=c11", "-O1", "-o", str(binary), str(REPO / "bindings/c/examples/rpc_server.c"),
                    f"-I{REPO / 'Include'}", str(library), "-ljansson", "-lpthread", f"-Wl,-rpath,{library.parent}"],
                   check=True)
    proc = subprocess.Popen([str(binary), nats_server, "cjobs"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("ready")
        ticks = []
        with swiftnats.connect(nats_server) as nc, RPC(nc, namespace="cjobs") as rpc:
            assert rpc.call("countdown", [3, ticks.append]) == "liftoff"
            assert ticks == [3, 2, 1]
            assert rpc.remote.countdown(2, lambda tick: ticks.append(-tick)) == "liftoff"
            assert ticks[3:] == [-2, -1]
    finally:
        proc.terminate()
        proc.wait(10)
