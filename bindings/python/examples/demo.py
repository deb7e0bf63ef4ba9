#!/usr/bin/env python3
"""swiftnats from Python: publish/subscribe, headers, request/reply, a synchronous
subscription and RPC, against the server named on the command line (or $NATS_URL)."""
import os
import sys
import threading

import swiftnats
from swiftnats.rpc import RPC


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    with swiftnats.connect(url, name="swiftnats-python-demo") as nc:
        print(f"connected: {nc!r}")

        received = []
        three = threading.Event()

        def on_greeting(msg):
            received.append(msg)
            print(f"  callback got {msg.subject}: {msg.data.decode()} headers={msg.headers}")
            if len(received) == 3:
                three.set()

        nc.subscribe("demo.greet.*", cb=on_greeting)
        nc.subscribe("demo.time", cb=lambda msg: msg.respond(b"it is demo o'clock"))
        nc.flush()

        for name in ("ann", "bob", "cid"):
            nc.publish(f"demo.greet.{name}", f"hello {name}".encode(), headers={"From": "demo.py"})
        if not three.wait(5):
            print("greetings did not arrive", file=sys.stderr)
            return 1

        reply = nc.request("demo.time", b"what time is it?", timeout=2.0)
        print(f"  request/reply: {reply.data.decode()}")

        try:
            nc.request("demo.nobody", b"?", timeout=2.0)
        except swiftnats.NoRespondersError as error:
            print(f"  no responders, at once: {error.detail}")

        inbox = nc.subscribe("demo.queue")
        nc.publish("demo.queue", b"read me with next_msg")
        print(f"  next_msg: {inbox.next_msg(timeout=2.0).data.decode()}")
        with RPC(nc, namespace="pydemo") as rpc:
            @rpc.method("math.add")
            def add(a: float, b: float) -> float:
                return a + b

            @rpc.method
            def countdown(n: int):
                yield from range(n, 0, -1)

            rpc.start()
            print(f"  rpc math.add: {rpc.call('math.add', {'a': 5, 'b': 3})}, "
                  f"batch: {rpc.call_batch([('math.add', [1, 2]), ('nope', None)])}, "
                  f"stream: {list(rpc.call_stream('countdown', [3]))}")
        print(f"  stats: {nc.stats}")
    print("python demo: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
