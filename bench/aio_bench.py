#!/usr/bin/env python3
"""asyncio clients side by side: swiftnats.aio against nats-py, same server, same process.

usage: aio_bench.py [--server URL] [--count N] [--requests N] [--size BYTES] [--reps N]
                    [--clients swiftnats,natspy,floor]

Modes (each client on its own connections, created on one event loop):
  pubsub  a publisher connection publishes COUNT messages of SIZE bytes, a subscriber
          connection receives them in an ``async def`` callback; msgs/s from the first
          publish to the last message received. swiftnats.aio also runs with a plain
          callback (pubsub-plain), which nats-py does not take.
  req     REQUESTS sequential requests of SIZE bytes from one connection to an ``async def``
          responder on another (respond with the payload); p50 and p99 latency.

The asyncio floor (client "floor", req only; bench/aio_floor.py): the same requests with no
client library, the least any asyncio client has to do on this machine. Two raw TCP
connections to the server
(CONNECT and SUB by hand, each acknowledged by a PONG), non-blocking sockets on one event loop
through loop.add_reader; the reader callbacks buffer what they receive and cut out complete
MSG frames. The requester PUBs to bench.floor with a reply subject _INBOX.floor.<n> and awaits
a future its reader callback completes; the responder PUBs the payload back, either from a
Task running an ``async def`` (asyncio-floor: the shape of the clients' echo handlers) or
directly in its reader callback (asyncio-floor-plain): the req p50 no asyncio client can
expect to beat, whatever it does on the loop.

Without --server, a nats-server is started on a free loopback port (never 4222) and stopped
at the end (NATS_SERVER_BIN, else PATH, else /usr/sbin/nats-server).

Prints one RESULT line per run, in bench/py_bench.py's format (client=swiftnats-aio,
nats-py-aio, asyncio-floor or asyncio-floor-plain), then a table of medians over --reps
repetitions and each client's req p50 against nats-py's. Speed is measured here, never
asserted by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))  # the package, uninstalled
sys.path.insert(0, HERE)

from aio_floor import floor_req  # noqa: E402


def result(client: str, mode: str, size: int, count: int, secs: float, extra: str = "") -> str:
    line = (f"RESULT client={client} mode={mode} size={size} count={count} secs={secs:.4f} "
            f"msgs_per_s={count / secs:.0f} mb_per_s={count * size / secs / 1e6:.2f}{extra}")
    print(line, flush=True)
    return line


def percentiles(latencies: List[float]) -> Tuple[float, float, str]:
    latencies = sorted(latencies)

    def pick(p: float) -> float:
        index = max(0, min(len(latencies) - 1, int(p / 100 * len(latencies) + 0.999999) - 1))
        return latencies[index] * 1e6

    return pick(50), pick(99), f" p50_us={pick(50):.1f} p99_us={pick(99):.1f}"


# -- the two clients, one program -------------------------------------------------------------
# Both modes are the same code for either client: only its connect differs (imported when
# used, so that nats-py stays optional).

Connect = Callable[[str], Awaitable[Any]]


async def swiftnats_connect(url: str) -> Any:
    from swiftnats import aio

    return await aio.connect(url)


async def natspy_connect(url: str) -> Any:
    import nats

    return await nats.connect(url)


async def bench_pubsub(connect: Connect, url: str, count: int, size: int, plain: bool = False) -> float:
    """A publisher connection publishes COUNT messages, a subscriber connection receives them
    in an ``async def`` callback (or a plain one: swiftnats.aio only); seconds from the first
    publish to the last message received."""
    payload = b"x" * size
    sub_nc = await connect(url)
    pub_nc = await connect(url)
    try:
        done = asyncio.Event()
        received = 0

        def on_plain(msg) -> None:
            nonlocal received
            received += 1
            if received == count:
                done.set()

        async def on_msg(msg) -> None:
            nonlocal received
            received += 1
            if received == count:
                done.set()

        await sub_nc.subscribe("bench.pubsub", cb=on_plain if plain else on_msg,
                               pending_msgs_limit=0, pending_bytes_limit=0)
        await sub_nc.flush()
        publish = pub_nc.publish
        start = time.perf_counter()
        for _ in range(count):
            await publish("bench.pubsub", payload)
        await pub_nc.flush(timeout=60)
        await asyncio.wait_for(done.wait(), 120)
        return time.perf_counter() - start
    finally:
        await pub_nc.close()
        await sub_nc.close()


async def bench_req(connect: Connect, url: str, count: int, size: int) -> List[float]:
    """COUNT sequential requests from one connection to an ``async def`` echo responder on
    another, after 100 unmeasured ones; the latency of each."""
    payload = b"x" * size
    responder = await connect(url)
    requester = await connect(url)
    try:
        async def echo(msg) -> None:
            await msg.respond(msg.data)

        await responder.subscribe("bench.req", cb=echo)
        await responder.flush()
        request = requester.request
        for _ in range(100):
            await request("bench.req", payload, timeout=5)
        latencies = []
        for _ in range(count):
            sent = time.perf_counter()
            await request("bench.req", payload, timeout=5)
            latencies.append(time.perf_counter() - sent)
        return latencies
    finally:
        await requester.close()
        await responder.close()


# -- swiftnats.aio RPC --------------------------------------------------------------------------


async def swiftnats_rpc(url: str, count: int, size: int, proxy: bool = False) -> List[float]:
    """An echo method of swiftnats.aio.rpc called with params [a SIZE-byte string]: the same
    wire exchange as py_bench.py's nats-py rpc mode (the JSON envelope by hand). With @p
    proxy, through ``await remote.echo(text)``."""
    from swiftnats import aio

    text = "x" * size
    server_nc = await aio.connect(url)
    client_nc = await aio.connect(url)
    try:
        async with aio.rpc.RPC(server_nc, namespace="bench") as server, \
                aio.rpc.RPC(client_nc, namespace="bench") as client:
            @server.method("echo")
            async def echo(value: str) -> str:
                return value

            await server.start()
            if proxy:
                remote_echo = (await client.proxy()).echo

                def call(_name: str, params: List[str]) -> Any:
                    return remote_echo(*params)
            else:
                call = client.call
            for _ in range(100):
                await call("echo", [text])
            latencies = []
            for _ in range(count):
                sent = time.perf_counter()
                await call("echo", [text])
                latencies.append(time.perf_counter() - sent)
            return latencies
    finally:
        await client_nc.close()
        await server_nc.close()


# -- server ------------------------------------------------------------------------------------


class Server:
    """A nats-server on a free loopback port, read from its ports file."""

    def __init__(self) -> None:
        binary = os.environ.get("NATS_SERVER_BIN") or shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.dir = tempfile.mkdtemp(prefix="aio_bench_server.")
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", self.dir],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        ports = os.path.join(self.dir, f"nats-server_{self.proc.pid}.ports")
        deadline = time.monotonic() + 10
        while True:
            try:
                with open(ports) as f:
                    self.url = json.load(f)["nats"][0]
                break
            except (FileNotFoundError, ValueError, KeyError, IndexError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    sys.exit("nats-server did not start")
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- main --------------------------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="NATS URL (default: start a nats-server on a free port)")
    parser.add_argument("--count", type=int, default=100_000, help="pub+sub messages (default 100000)")
    parser.add_argument("--requests", type=int, default=2000, help="sequential requests (default 2000)")
    parser.add_argument("--size", type=int, default=16, help="payload bytes (default 16)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions, medians reported (default 3)")
    parser.add_argument("--clients", default="swiftnats,natspy,floor",
                        help="comma-separated: swiftnats,natspy,floor (default: all three)")
    args = parser.parse_args(argv)
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = sorted(set(clients) - {"swiftnats", "natspy", "floor"})
    if unknown:
        parser.error(f"unknown client(s): {', '.join(unknown)}")
    if "natspy" in clients:
        try:
            import nats  # noqa: F401
        except ImportError:
            print("nats-py is not installed: skipping it", file=sys.stderr)
            clients.remove("natspy")

    server = None if args.server else Server()
    url = args.server or server.url  # type: ignore[union-attr]
    rates: Dict[str, List[float]] = {}
    p50s: Dict[str, List[float]] = {}
    p99s: Dict[str, List[float]] = {}

    def run_req(name: str, bench: Callable[[], Awaitable[List[float]]]) -> None:
        started = time.perf_counter()
        latencies = asyncio.run(bench())
        p50, p99, extra = percentiles(latencies)
        result(name, "req", args.size, args.requests, time.perf_counter() - started, extra)
        p50s.setdefault(name, []).append(p50)
        p99s.setdefault(name, []).append(p99)

    try:
        print(f"server {url}; count={args.count} requests={args.requests} size={args.size} reps={args.reps}",
              flush=True)
        for _ in range(args.reps):
            for client in clients:
                if client == "floor":
                    run_req("asyncio-floor", lambda: floor_req(url, args.requests, args.size, plain=False))
                    run_req("asyncio-floor-plain", lambda: floor_req(url, args.requests, args.size, plain=True))
                    continue
                if client == "swiftnats":
                    runs = [("swiftnats-aio", lambda: bench_pubsub(swiftnats_connect, url, args.count, args.size)),
                            ("swiftnats-aio-plain",
                             lambda: bench_pubsub(swiftnats_connect, url, args.count, args.size, plain=True))]
                    request_run = lambda: bench_req(swiftnats_connect, url, args.requests, args.size)  # noqa: E731
                    name = "swiftnats-aio"
                else:
                    runs = [("nats-py-aio", lambda: bench_pubsub(natspy_connect, url, args.count, args.size))]
                    request_run = lambda: bench_req(natspy_connect, url, args.requests, args.size)  # noqa: E731
                    name = "nats-py-aio"
                for label, bench in runs:
                    secs = asyncio.run(bench())
                    mode = "pubsub-plain" if label.endswith("-plain") else "pubsub"
                    result(name, mode, args.size, args.count, secs)
                    rates.setdefault(f"{name} {mode}", []).append(args.count / secs)
                run_req(name, request_run)
                if client == "swiftnats":
                    # RPC: nats-py's side of this comparison is py_bench.py's rpc mode.
                    started = time.perf_counter()
                    latencies = asyncio.run(swiftnats_rpc(url, args.requests, args.size))
                    _, _, extra = percentiles(latencies)
                    result(name, "rpc", args.size, args.requests, time.perf_counter() - started, extra)
                    started = time.perf_counter()
                    latencies = asyncio.run(swiftnats_rpc(url, args.requests, args.size, proxy=True))
                    _, _, extra = percentiles(latencies)
                    result(name, "proxy", args.size, args.requests, time.perf_counter() - started, extra)
    finally:
        if server is not None:
            server.stop()

    print()
    print(f"| asyncio, {args.size} B, medians of {args.reps} | pub+sub msgs/s | req p50 | req p99 |")
    print("|---|---|---|---|")
    for name in ("swiftnats-aio", "nats-py-aio", "asyncio-floor", "asyncio-floor-plain"):
        if name not in p50s:
            continue
        if f"{name} pubsub" in rates:
            rate = statistics.median(rates[f"{name} pubsub"])
            plain = rates.get(f"{name} pubsub-plain")
            extra = f" ({statistics.median(plain) / 1e3:.0f} k/s plain cb)" if plain else ""
            pubsub = f"{rate / 1e3:.0f} k/s{extra}"
        else:
            pubsub = "–"  # the floor measures requests only
        print(f"| {name} | {pubsub} | {statistics.median(p50s[name]):.1f} µs "
              f"| {statistics.median(p99s[name]):.1f} µs |")
    if "swiftnats-aio" in p50s and "nats-py-aio" in p50s:
        ratio = statistics.median(rates["swiftnats-aio pubsub"]) / statistics.median(rates["nats-py-aio pubsub"])
        lat = statistics.median(p50s["swiftnats-aio"]) / statistics.median(p50s["nats-py-aio"])
        print(f"\nswiftnats-aio/nats-py: pub+sub {ratio:.2f}x the rate; req p50 {lat:.2f}x the latency")
    if "asyncio-floor" in p50s:
        both = "swiftnats-aio" in p50s and "nats-py-aio" in p50s  # the ratio line is there
        print(("" if both else "\n") + floor_line(p50s))
    return 0


def floor_line(p50s: Dict[str, List[float]]) -> str:
    """The floor's req p50 as a share of nats-py's: how low any asyncio client could go."""
    natspy = statistics.median(p50s["nats-py-aio"]) if "nats-py-aio" in p50s else None

    def share(name: str) -> str:
        p50 = statistics.median(p50s[name])
        return f"{p50:.1f} µs" + (f" = {p50 / natspy:.2f}x nats-py's" if natspy else "")

    line = f"asyncio floor (no client library, async def handler): req p50 {share('asyncio-floor')}"
    if "asyncio-floor-plain" in p50s:
        line += f" (plain callback: {share('asyncio-floor-plain')})"
    return line


if __name__ == "__main__":
    sys.exit(main())
