#!/usr/bin/env python3
"""Python-side benchmarks: the swiftnats binding (client=swiftnats-py) and nats-py
(client=nats-py), same modes and RESULT line as the C benchmarks.

usage: py_bench.py swiftnats|natspy pub|pubsub|req|rpc|proxy COUNT SIZE URL

rpc: an echo method called with params [a SIZE-byte string]. swiftnats-py uses swiftnats.rpc;
nats-py sends and answers the documented JSON envelope by hand (what an RPC library written on
nats-py does), so the two are the same wire exchange. proxy (swiftnats only): the same method
called through a proxy, ``remote.echo(text)`` (signature bound, params built, then rpc.call).
"""
import asyncio
import sys
import threading
import time


def result(client, mode, size, count, secs, extra=""):
    print(f"RESULT client={client} mode={mode} size={size} count={count} secs={secs:.4f} "
          f"msgs_per_s={count / secs:.0f} mb_per_s={count * size / secs / 1e6:.2f}{extra}", flush=True)


def percentiles(latencies):
    latencies.sort()
    def pick(p):
        index = max(0, min(len(latencies) - 1, int(p / 100 * len(latencies) + 0.999999) - 1))
        return latencies[index] * 1e6
    return f" p50_us={pick(50):.1f} p99_us={pick(99):.1f}"


def bench_swiftnats(mode, count, size, url):
    import swiftnats
    payload = b"x" * size
    if mode == "pub":
        with swiftnats.connect(url) as nc:
            publish = nc.publish
            start = time.perf_counter()
            for _ in range(count):
                publish("bench.nosub", payload)
            nc.flush(timeout=60)
            result("swiftnats-py", mode, size, count, time.perf_counter() - start)
    elif mode == "pubsub":
        with swiftnats.connect(url) as sub_nc, swiftnats.connect(url) as pub_nc:
            done = threading.Event()
            received = [0]

            def on_msg(msg):
                received[0] += 1
                if received[0] == count:
                    done.set()

            sub = sub_nc.subscribe("bench.pubsub", cb=on_msg)
            sub.set_pending_limits(0, 0)
            sub_nc.flush()
            publish = pub_nc.publish
            start = time.perf_counter()
            for _ in range(count):
                publish("bench.pubsub", payload)
            pub_nc.flush(timeout=60)
            if not done.wait(120):
                sys.exit(f"pubsub: only {received[0]}/{count} received")
            result("swiftnats-py", mode, size, count, time.perf_counter() - start)
    elif mode in ("rpc", "proxy"):
        from swiftnats.rpc import RPC
        text = "x" * size
        with swiftnats.connect(url) as server_nc, swiftnats.connect(url) as client_nc, \
                RPC(server_nc, namespace="bench") as server, RPC(client_nc, namespace="bench") as client:
            def echo(value: str) -> str:
                return value

            server.register_handler("echo", echo)
            server.start()
            if mode == "proxy":
                remote_echo = client.proxy().echo

                def call(_name, params):
                    return remote_echo(*params)
            else:
                call = client.call
            for _ in range(100):
                call("echo", [text])
            latencies = []
            start = time.perf_counter()
            for _ in range(count):
                sent = time.perf_counter()
                call("echo", [text])
                latencies.append(time.perf_counter() - sent)
            result("swiftnats-py", mode, size, count, time.perf_counter() - start, percentiles(latencies))
    else:
        with swiftnats.connect(url) as responder, swiftnats.connect(url) as requester:
            responder.subscribe("bench.req", cb=lambda msg: msg.respond(msg.data))
            responder.flush()
            latencies = []
            start = time.perf_counter()
            for _ in range(count):
                sent = time.perf_counter()
                requester.request("bench.req", payload, timeout=5)
                latencies.append(time.perf_counter() - sent)
            result("swiftnats-py", mode, size, count, time.perf_counter() - start, percentiles(latencies))


async def bench_natspy(mode, count, size, url):
    import nats
    payload = b"x" * size
    if mode == "pub":
        nc = await nats.connect(url)
        start = time.perf_counter()
        for _ in range(count):
            await nc.publish("bench.nosub", payload)
        await nc.flush(timeout=60)
        result("nats-py", mode, size, count, time.perf_counter() - start)
        await nc.close()
    elif mode == "pubsub":
        sub_nc = await nats.connect(url)
        pub_nc = await nats.connect(url)
        done = asyncio.Event()
        received = [0]

        async def on_msg(msg):
            received[0] += 1
            if received[0] == count:
                done.set()

        await sub_nc.subscribe("bench.pubsub", cb=on_msg, pending_msgs_limit=count + 1,
                               pending_bytes_limit=(count + 1) * (size + 64))
        await sub_nc.flush()
        start = time.perf_counter()
        for _ in range(count):
            await pub_nc.publish("bench.pubsub", payload)
        await pub_nc.flush(timeout=60)
        await asyncio.wait_for(done.wait(), 120)
        result("nats-py", mode, size, count, time.perf_counter() - start)
        await pub_nc.close()
        await sub_nc.close()
    elif mode == "rpc":
        import json
        server = await nats.connect(url)
        client = await nats.connect(url)

        async def on_call(msg):
            call = json.loads(msg.data)
            await msg.respond(json.dumps({"id": call["id"], "result": call["params"][0], "error": None}).encode())

        await server.subscribe("rpc.bench.echo", queue="q", cb=on_call)
        await server.flush()
        text = "x" * size
        latencies = []
        start = time.perf_counter()
        for i in range(count):
            sent = time.perf_counter()
            body = json.dumps({"id": str(i), "method": "echo", "params": [text]}).encode()
            reply = json.loads((await client.request("rpc.bench.echo", body, timeout=5)).data)
            if reply["error"] is not None:
                sys.exit(f"rpc: {reply['error']}")
            latencies.append(time.perf_counter() - sent)
        result("nats-py", mode, size, count, time.perf_counter() - start, percentiles(latencies))
        await client.close()
        await server.close()
    else:
        responder = await nats.connect(url)
        requester = await nats.connect(url)

        async def on_req(msg):
            await msg.respond(msg.data)

        await responder.subscribe("bench.req", cb=on_req)
        await responder.flush()
        latencies = []
        start = time.perf_counter()
        for _ in range(count):
            sent = time.perf_counter()
            await requester.request("bench.req", payload, timeout=5)
            latencies.append(time.perf_counter() - sent)
        result("nats-py", mode, size, count, time.perf_counter() - start, percentiles(latencies))
        await requester.close()
        await responder.close()


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    client, mode, count, size, url = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    if client == "swiftnats":
        bench_swiftnats(mode, count, size, url)
    else:
        asyncio.run(bench_natspy(mode, count, size, url))


if __name__ == "__main__":
    main()
