"""``python -m swiftnats run FILE[:setup]``: connects, runs setup(ctx), serves until SIGINT or
SIGTERM, then stops cleanly (cleanups, services and RPC objects stopped with their handlers
waited for, the connection drained)."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import swiftnats
from swiftnats import micro
from swiftnats.rpc import RPC

SERVICE = textwrap.dedent("""
    import time
    from swiftnats.rpc.objects import expose

    class Calculator:
        @expose
        def add(self, a: int, b: int) -> int:
            return a + b

        @expose
        def slow(self, seconds: float) -> str:
            time.sleep(seconds)
            return "finished"

    def setup(ctx):
        ctx.serve(Calculator(), namespace="calc")
        service = ctx.add_service(name="echo", version="1.0.0")
        service.add_endpoint("echo", lambda req: req.respond(req.data))
        marker = ctx.args[0]
        ctx.on_cleanup(lambda: open(marker, "a").write("first-registered\\n"))
        ctx.on_cleanup(lambda: open(marker, "a").write("last-registered\\n"))

    async def asetup(ctx):
        rpc = ctx.rpc("acalc")

        @rpc.method
        async def add(a: int, b: int) -> int:
            return a + b

        @rpc.method
        async def slow(seconds: float) -> str:
            import asyncio
            await asyncio.sleep(seconds)
            return "finished"

        await rpc.start()
        service = await ctx.add_service(name="aecho", version="1.0.0")
        service.add_endpoint("aecho", lambda req: req.respond(req.data))

        async def cleanup():
            open(ctx.args[0], "a").write("async-cleanup\\n")

        ctx.on_cleanup(cleanup)

    def broken(ctx):
        raise RuntimeError("setup failed on purpose")

    def bad_cleanup(ctx):
        def fail():
            raise OSError("cleanup failed on purpose")
        ctx.on_cleanup(fail)
""")


def run(tmp_path, url, target, *extra, env_url=False):
    (tmp_path / "service.py").write_text(SERVICE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-m", "swiftnats", "run", str(tmp_path / target)]
    if env_url:
        env["NATS_URL"] = url
    else:
        command += ["--server", url]
    command += ["--", str(tmp_path / "marker"), *extra]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)


def wait_ready(proc):
    line = proc.stderr.readline()
    assert "serving on" in line, line + proc.stderr.read()


@pytest.mark.parametrize("target, namespace, subject", [("service.py", "calc", "echo"),
                                                         ("service.py:asetup", "acalc", "aecho")])
def test_runs_until_sigterm_and_stops_cleanly(nc, nats_server, tmp_path, target, namespace, subject):
    proc = run(tmp_path, nats_server, target, env_url=(namespace == "acalc"))
    try:
        wait_ready(proc)
        with RPC(nc, namespace=namespace) as rpc:
            assert rpc.call("add", [2, 3]) == 5
            assert nc.request(subject, b"hi", timeout=2).data == b"hi"
            assert [s.name for s in micro.ping(nc, subject, timeout=0.5)] == [subject]
            # a call in flight when the signal comes is still answered
            rid = rpc.call_async("slow", [1.0])
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            assert rpc.get_response(rid, timeout=5) == "finished"
        assert proc.wait(15) == 0
        assert "stopped" in proc.stderr.read()
        if target == "service.py":
            assert (tmp_path / "marker").read_text() == "last-registered\nfirst-registered\n"
        else:
            assert (tmp_path / "marker").read_text() == "async-cleanup\n"
        assert micro.ping(nc, subject, timeout=0.3) == [], "the service is gone"
    finally:
        proc.kill()
        proc.wait()


def test_sigint_stops_it_too(nats_server, tmp_path):
    proc = run(tmp_path, nats_server, "service.py:setup")
    try:
        wait_ready(proc)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
    finally:
        proc.kill()
        proc.wait()


def test_a_failing_stop_step_is_reported_and_exits_1(nats_server, tmp_path):
    proc = run(tmp_path, nats_server, "service.py:bad_cleanup")
    try:
        wait_ready(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 1
        err = proc.stderr.read()
        assert "while stopping: OSError: cleanup failed on purpose" in err and "stopped" in err
    finally:
        proc.kill()
        proc.wait()


def test_a_failing_setup_exits_1_after_stopping(nats_server, tmp_path):
    proc = run(tmp_path, nats_server, "service.py:broken")
    assert proc.wait(15) == 1
    err = proc.stderr.read()
    assert "setup failed on purpose" in err and "stopped" in err


@pytest.mark.parametrize("target, message", [("missing.py", "no such file"), ("service.py:nothing", "no function nothing"),
                                             ("service.py:1x", "not a function name")])
def test_bad_command_lines_exit_2(nats_server, tmp_path, target, message):
    proc = run(tmp_path, nats_server, target)
    assert proc.wait(15) == 2
    assert message in proc.stderr.read()
