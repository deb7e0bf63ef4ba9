#!/usr/bin/env python3
"""Many subscriptions on one connection, from Python: threads, memory and throughput, measured
as snats_scale.c does (see there), printing the same RESULT line.

usage: py_scale.py swiftnats|swiftnats-aio|natspy NSUBS COUNT SIZE URL
       py_scale.py pub swiftnats|swiftnats-aio|natspy NSUBS COUNT SIZE URL   (the publisher)

  swiftnats      the sync binding: swiftnats.connect, nc.subscribe(subj, cb=...); callbacks in
                 batches on the library's delivery pool (client=swiftnats-py)
  swiftnats-aio  swiftnats.aio with nats-py's names (client=swiftnats-aio); when it fails,
                 prints "SKIP client=swiftnats-aio reason=..." and exits 0
  natspy         nats-py (asyncio), one task per subscription (client=nats-py)

The subscriber connection subscribes to scale.0 .. scale.<NSUBS-1> with the default pending
limits, then flushes (the subscribe time); a second connection of the same client, in a child
process (so that threads and memory are the subscriber's alone) connected beforehand, publishes
COUNT messages of SIZE bytes round-robin over those subjects (pub_secs: publish and flush). msgs/s is measured from the
first message received to the last; the wait ends when all came, after 10 s without progress
or after 300 s. Threads and memory come from /proc/self/status after the last message.
dropped: the subscriptions' drop counters (swiftnats) or the slow-consumer errors heard
(nats-py reports one per dropped message); slow_consumer: slow-consumer errors heard.
"""
import asyncio
import itertools
import subprocess
import sys
import tempfile
import threading
import time

IDLE_SECS = 10
MAX_WAIT_SECS = 300


def proc_status(key):
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name == key:
                return int(value.split()[0])
    return -1


class Tally:
    """Counts messages from any thread: next() on itertools.count is atomic in CPython."""

    def __init__(self, nsubs, count):
        self.target = count
        self.counter = itertools.count(1)
        self.received = 0
        self.t_first = None
        self.t_last = None
        self.per_sub = [0] * nsubs
        self.done = threading.Event()
        self.slow_consumer = 0

    def hit(self, index):
        n = next(self.counter)
        now = time.perf_counter()
        self.per_sub[index] += 1  # one subscription's callbacks run one at a time
        self.received = n if n > self.received else self.received
        if n == 1:
            self.t_first = now
        if n == self.target:
            self.t_last = now
            self.done.set()

    def bad_subs(self):
        nsubs = len(self.per_sub)
        share, extra = divmod(self.target, nsubs)
        return sum(1 for i, got in enumerate(self.per_sub) if got != share + (1 if i < extra else 0))


def wait_for(tally, sleep):
    """Polls until all came, IDLE_SECS without progress or MAX_WAIT_SECS; returns the time of the
    last progress seen (used as the last message's time when some are missing)."""
    seen, last_progress = -1, time.perf_counter()
    deadline = last_progress + MAX_WAIT_SECS
    while True:
        received = tally.received
        if tally.done.is_set():
            return tally.t_last
        now = time.perf_counter()
        if received != seen:
            seen, last_progress = received, now
        if now - last_progress > IDLE_SECS or now > deadline:
            return last_progress
        yield sleep


def report(client, nsubs, count, size, tally, last, sub_secs, pub_secs, dropped, threads, rss, hwm):
    received = sum(tally.per_sub)  # exact: each subscription counts alone
    secs = (last - tally.t_first) if tally.t_first is not None and last > tally.t_first else 0.0
    rate = received / secs if secs > 0 else 0.0
    print(f"RESULT client={client} mode=scale subs={nsubs} count={count} size={size} received={received} "
          f"secs={secs:.4f} msgs_per_s={rate:.0f} sub_secs={sub_secs:.3f} pub_secs={pub_secs:.3f} "
          f"threads={threads} rss_mb={rss / 1024:.1f} hwm_mb={hwm / 1024:.1f} dropped={dropped} "
          f"slow_consumer={tally.slow_consumer} bad_subs={tally.bad_subs()}", flush=True)


class Publisher:
    """This script run as the publisher, in a child process: connected when made."""

    def __init__(self, which, nsubs, count, size, url):
        self.errors = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "pub", which, str(nsubs), str(count), str(size), url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.fail("did not start")

    def fail(self, what):
        self.proc.wait()
        self.errors.seek(0)
        lines = self.errors.read().strip().splitlines()
        raise RuntimeError(f"the publisher {what} (exit {self.proc.returncode}): {lines[-1] if lines else ''}")

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self):
        """Its pub_secs (publish and flush)."""
        line = self.proc.stdout.readline()
        if self.proc.wait() != 0 or not line.strip():
            self.fail("failed")
        return float(line)


def publish_sync(nsubs, count, size, url):
    import swiftnats
    payload = b"x" * size
    with swiftnats.connect(url) as nc:
        print("ready", flush=True)
        if not sys.stdin.readline():
            sys.exit(2)
        publish = nc.publish
        start = time.perf_counter()
        for i in range(count):
            publish(f"scale.{i % nsubs}", payload)
        nc.flush(timeout=120)
        print(f"{time.perf_counter() - start:.4f}", flush=True)


async def publish_asyncio(connect, nsubs, count, size, url):
    payload = b"x" * size
    nc = await connect(url)
    print("ready", flush=True)
    if not sys.stdin.readline():
        sys.exit(2)
    publish = nc.publish
    start = time.perf_counter()
    for i in range(count):
        await publish(f"scale.{i % nsubs}", payload)
    await nc.flush(timeout=120)
    print(f"{time.perf_counter() - start:.4f}", flush=True)
    await nc.close()


# -- swiftnats, sync --------------------------------------------------------------------------

def bench_swiftnats(nsubs, count, size, url):
    import swiftnats
    tally = Tally(nsubs, count)

    def on_error(error, sub=None):
        if isinstance(error, swiftnats.SlowConsumerError):
            tally.slow_consumer += 1
        else:
            print(f"py_scale: async error {error!r}", file=sys.stderr)

    publisher = Publisher("swiftnats", nsubs, count, size, url)
    sub_nc = swiftnats.connect(url, error_cb=on_error)
    start = time.perf_counter()
    subs = []
    hit = tally.hit
    for i in range(nsubs):
        subs.append(sub_nc.subscribe(f"scale.{i}", cb=lambda msg, i=i: hit(i)))
    sub_nc.flush(timeout=120)
    sub_secs = time.perf_counter() - start

    publisher.go()
    waiter = wait_for(tally, 0.01)
    while True:
        try:
            time.sleep(next(waiter))
        except StopIteration as stop:
            last = stop.value
            break
    threads, rss, hwm = proc_status("Threads"), proc_status("VmRSS"), proc_status("VmHWM")
    pub_secs = publisher.finish()
    dropped = sum(sub.dropped for sub in subs)
    report("swiftnats-py", nsubs, count, size, tally, last, sub_secs, pub_secs, dropped, threads, rss, hwm)
    sub_nc.close()


# -- asyncio clients: nats-py and swiftnats.aio -------------------------------------------------

async def bench_asyncio(client, connect, nsubs, count, size, url, slow_consumer_type):
    tally = Tally(nsubs, count)

    async def on_error(error, *rest):
        if slow_consumer_type is not None and isinstance(error, slow_consumer_type):
            tally.slow_consumer += 1
        else:
            print(f"py_scale: async error {error!r}", file=sys.stderr)

    publisher = Publisher("natspy" if client == "nats-py" else client, nsubs, count, size, url)
    sub_nc = await connect(url, error_cb=on_error)
    hit = tally.hit

    def make_cb(i):
        async def cb(msg):
            hit(i)
        return cb

    start = time.perf_counter()
    subs = []
    for i in range(nsubs):
        subs.append(await sub_nc.subscribe(f"scale.{i}", cb=make_cb(i)))
    await sub_nc.flush(timeout=120)
    sub_secs = time.perf_counter() - start

    publisher.go()
    waiter = wait_for(tally, 0.01)
    while True:
        try:
            pause = next(waiter)
        except StopIteration as stop:
            last = stop.value
            break
        await asyncio.sleep(pause)
    threads, rss, hwm = proc_status("Threads"), proc_status("VmRSS"), proc_status("VmHWM")
    pub_secs = publisher.finish()
    if client == "nats-py":
        dropped = tally.slow_consumer  # nats-py reports each dropped message
    else:
        counts = [getattr(sub, "dropped", None) for sub in subs]
        dropped = "?" if any(c is None or callable(c) for c in counts) else sum(counts)
    report(client, nsubs, count, size, tally, last, sub_secs, pub_secs, dropped, threads, rss, hwm)
    await sub_nc.close()


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "pub":
        which, nsubs, count, size, url = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        if which == "swiftnats":
            publish_sync(nsubs, count, size, url)
        elif which == "natspy":
            import nats
            asyncio.run(publish_asyncio(nats.connect, nsubs, count, size, url))
        else:
            from swiftnats import aio
            asyncio.run(publish_asyncio(aio.connect, nsubs, count, size, url))
        return
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    which, nsubs, count, size, url = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    if which == "swiftnats":
        bench_swiftnats(nsubs, count, size, url)
    elif which == "natspy":
        import nats
        import nats.errors
        asyncio.run(bench_asyncio("nats-py", nats.connect, nsubs, count, size, url, nats.errors.SlowConsumerError))
    elif which == "swiftnats-aio":
        try:
            import swiftnats
            from swiftnats import aio
            asyncio.run(bench_asyncio("swiftnats-aio", aio.connect, nsubs, count, size, url,
                                      getattr(swiftnats, "SlowConsumerError", None)))
        except Exception as e:  # being rewritten: report why and leave the column empty
            reason = f"{type(e).__name__}: {e}".replace("\n", " ")[:200]
            print(f"SKIP client=swiftnats-aio reason={reason}", flush=True)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
