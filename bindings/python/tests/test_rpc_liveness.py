"""Call liveness (docs/RPC.md "Liveness"): a caller whose server dies with its call fails
with CallLostError (a ConnectionResetError) within about two heartbeat intervals instead of
waiting out its timeout; a long call of a live server is not cut off; the caller's own lost
link fails its waiting calls at once with a ConnectionError too."""

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import swiftnats
from swiftnats import aio
from swiftnats.rpc import RPC

# A server in a process of its own, killed with SIGKILL while it works on a call: nothing
# it could do on the way out (no close, no drain) tells the caller.
SERVER_SCRIPT = textwrap.dedent("""
    import sys, time, swiftnats
    from swiftnats.rpc import RPC
    nc = swiftnats.connect(sys.argv[1])
    rpc = RPC(nc, namespace="live")

    @rpc.method
    def hang(seconds: float) -> str:
        print("working", flush=True)
        time.sleep(seconds)
        return "done"

    rpc.start()
    print("ready", flush=True)
    sys.stdin.readline()
""")

INTERVAL = 0.3


class ServerProcess:
    def __init__(self, url: str) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, url], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def kill_once_working(self) -> "threading.Thread":
        """Kills the process with SIGKILL once it has started on a call (in a thread)."""

        def kill() -> None:
            assert self.proc.stdout is not None
            assert self.proc.stdout.readline().strip() == "working"
            time.sleep(2 * INTERVAL)  # it sent liveness frames meanwhile
            self.killed_at = time.monotonic()
            self.proc.send_signal(signal.SIGKILL)

        thread = threading.Thread(target=kill)
        thread.start()
        return thread

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def remote(nats_server):
    server = ServerProcess(nats_server)
    yield server
    server.close()


def test_the_error_family():
    lost = swiftnats.CallLostError("gone")
    assert isinstance(lost, ConnectionResetError) and isinstance(lost, ConnectionError)
    assert isinstance(lost, swiftnats.SwiftNatsError) and lost.status == swiftnats.Status.CALL_LOST == 28
    assert "SNATS_CALL_LOST" in str(lost)
    assert isinstance(swiftnats.NotConnectedError("x"), ConnectionError)
    again = pickle.loads(pickle.dumps(lost))
    assert type(again) is swiftnats.CallLostError and again.detail == "gone"


def test_a_killed_server_is_detected_within_two_intervals(nc, remote):
    with RPC(nc, namespace="live", heartbeat=INTERVAL) as rpc:
        killer = remote.kill_once_working()
        started = time.monotonic()
        with pytest.raises(swiftnats.CallLostError, match="hang"):
            rpc.call("hang", [30], timeout=20)
        killer.join()
        detected = time.monotonic() - remote.killed_at
        assert detected < 2 * INTERVAL + 0.5, detected
        assert time.monotonic() - started > 2 * INTERVAL, "it was alive before it was killed"


def test_a_long_call_of_a_live_server_is_not_cut_off(nc, remote):
    with RPC(nc, namespace="live", heartbeat=0.1) as rpc:
        assert rpc.call("hang", [1.0], timeout=10) == "done"


def test_the_heartbeat_option_is_checked(nc):
    with RPC(nc, namespace="live") as rpc:
        assert rpc.heartbeat == 1.0
        with pytest.raises(swiftnats.InvalidArgumentError):
            rpc.heartbeat = 0.05
        with pytest.raises(TypeError):
            rpc.heartbeat = "1"
        rpc.heartbeat = 0
        assert rpc.heartbeat == 0


def test_without_frames_a_silent_server_costs_the_whole_timeout(nc):
    taker = nc.subscribe("rpc.live.hang", queue="q")  # takes calls, never answers
    with RPC(nc, namespace="live", heartbeat=0) as rpc:
        started = time.monotonic()
        with pytest.raises(swiftnats.TimeoutError):
            rpc.call("hang", [1], timeout=1.0)
        assert time.monotonic() - started >= 0.95
    taker.unsubscribe()


def test_the_callers_own_lost_link_fails_its_call_at_once(server):
    nc = swiftnats.connect(server.url, max_reconnect_attempts=-1)
    try:
        taker = nc.subscribe("rpc.live.hang", queue="q")
        nc.flush()
        with RPC(nc, namespace="live", heartbeat=5) as rpc:
            threading.Timer(0.5, server.stop).start()
            started = time.monotonic()
            with pytest.raises(ConnectionError) as info:
                rpc.call("hang", [1], timeout=30)
            assert isinstance(info.value, swiftnats.NotConnectedError)
            assert time.monotonic() - started < 3, "at once, not after the timeout or two intervals"
        taker.unsubscribe()
    finally:
        nc.close()


def test_aio_a_killed_server_is_detected_within_two_intervals(nats_server, remote):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, "live", heartbeat=INTERVAL) as rpc:
                killer = remote.kill_once_working()
                with pytest.raises(swiftnats.CallLostError):
                    await rpc.call("hang", [30], timeout=20)
                detected = time.monotonic() - remote.killed_at
                killer.join()
                assert detected < 2 * INTERVAL + 0.5, detected
                # and a proxy call the same
                remote2 = ServerProcess(nats_server)
                try:
                    killer = remote2.kill_once_working()
                    proxy = await rpc.proxy()
                    with pytest.raises(ConnectionResetError):
                        await proxy.hang(30)
                    killer.join()
                    assert time.monotonic() - remote2.killed_at < 2 * INTERVAL + 0.5
                finally:
                    remote2.close()

    asyncio.run(main())


def test_aio_a_long_call_of_a_live_server_is_not_cut_off(nats_server, remote):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, "live", heartbeat=0.1) as rpc:
                assert rpc.heartbeat == 0.1
                assert await rpc.call("hang", [1.0], timeout=10) == "done"

    asyncio.run(main())


def test_aio_servers_send_frames_for_their_async_handlers(nats_server):
    async def main():
        async with await aio.connect(nats_server) as nc:
            async with aio.rpc.RPC(nc, "aiolive", heartbeat=0.1) as rpc:

                @rpc.method
                async def nap(seconds: float) -> str:
                    await asyncio.sleep(seconds)
                    return "rested"

                await rpc.start()
                assert await rpc.call("nap", [0.8], timeout=10) == "rested"
                # a sync client calling the asyncio server
                with RPC(nc.sync_client, namespace="aiolive", heartbeat=0.1) as sync_rpc:
                    assert await asyncio.to_thread(sync_rpc.call, "nap", [0.6], 10) == "rested"

    asyncio.run(main())
