#!/usr/bin/env python3
"""JetStream from Python: the swiftnats binding (sync: client=swiftnats-py; asyncio:
client=swiftnats-aio) and nats-py (asyncio: client=nats-py), the modes and RESULT line of the
C JetStream benchmarks (bench/js_bench.c, bench/cnats_js_bench.c).

usage: js_py_bench.py swiftnats|swiftnats-aio|natspy jspub|jsasync|fetch|kvput|kvget COUNT SIZE URL

  jspub    COUNT ``js.publish`` (each awaits its ack) after 100 warm-up ones; p50/p99 latency.
  jsasync  COUNT ``js.publish_async`` (the default window of 4000 awaited acks), then
           ``publish_async_completed``; msgs/s until every ack is in.
  fetch    the stream is filled with COUNT messages first (publish_async, not timed); then a
           pull subscription (durable "bench", explicit acks, filtered on the subject) is read
           with ``fetch(100)``, each message acked, until COUNT came; then a flush.
  kvput    COUNT ``kv.put`` of SIZE-byte values on 1,000 keys in turn, after 100 warm-up puts.
  kvget    the 1,000 keys are written first (not timed); COUNT ``kv.get``, after 100 warm-ups.

Each run makes its own memory stream or bucket and deletes it. The Key-Value buckets of both
libraries are the same stream (allow_direct, as swiftnats and cnats make them: nats-py is given
``direct=True``, which its KeyValueConfig leaves off by default, so that every client reads
with DIRECT.GET). jspub and jsasync check afterwards (not timed) that the stream holds every
message.
"""
import asyncio
import os
import sys
import time

KEYS = 1000
WARMUP = 100
BATCH = 100


def result(client, mode, size, count, secs, extra=""):
    print(f"RESULT client={client} mode={mode} size={size} count={count} secs={secs:.4f} "
          f"msgs_per_s={count / secs:.0f} mb_per_s={count * size / secs / 1e6:.2f}{extra}", flush=True)


def percentiles(latencies):
    latencies.sort()

    def pick(p):
        index = max(0, min(len(latencies) - 1, int(p / 100 * len(latencies) + 0.999999) - 1))
        return latencies[index] * 1e6
    return f" p50_us={pick(50):.1f} p99_us={pick(99):.1f}"


def names():
    tag = f"{os.getpid()}_{time.time_ns()}"
    return f"JSBP_{tag}", f"jsbp.{tag.replace('_', '.')}", f"jsbp_{tag}"


def check_stored(stored, count):
    if stored != count:
        sys.exit(f"the stream holds {stored} messages, not {count}")


# -- swiftnats, synchronous ---------------------------------------------------------------------

def bench_swiftnats(mode, count, size, url):
    import swiftnats

    client = "swiftnats-py"
    payload = b"x" * size
    stream, subject, bucket = names()
    with swiftnats.connect(url) as nc:
        js = nc.jetstream()
        if mode in ("kvput", "kvget"):
            kv = js.create_key_value(bucket=bucket, storage="memory")
            try:
                put, get = kv.put, kv.get
                if mode == "kvget":
                    for i in range(KEYS):
                        put(f"k{i}", payload)
                latencies = []
                for i in range(WARMUP):
                    (put(f"k{i % KEYS}", payload) if mode == "kvput" else get(f"k{i % KEYS}"))
                start = time.perf_counter()
                for i in range(count):
                    key = f"k{i % KEYS}"
                    sent = time.perf_counter()
                    if mode == "kvput":
                        put(key, payload)
                    elif len(get(key).value) != size:
                        sys.exit("a value of the wrong size")
                    latencies.append(time.perf_counter() - sent)
                result(client, mode, size, count, time.perf_counter() - start, percentiles(latencies))
            finally:
                kv.close()
                js.delete_key_value(bucket)
            return
        js.add_stream(name=stream, subjects=[subject], storage="memory")
        try:
            if mode == "jspub":
                publish = js.publish
                for _ in range(WARMUP):
                    publish(subject, payload)
                latencies = []
                start = time.perf_counter()
                for _ in range(count):
                    sent = time.perf_counter()
                    publish(subject, payload)
                    latencies.append(time.perf_counter() - sent)
                result(client, mode, size, count, time.perf_counter() - start, percentiles(latencies))
                check_stored(js.stream_info(stream).state.messages, count + WARMUP)
            elif mode == "jsasync":
                publish_async = js.publish_async
                start = time.perf_counter()
                for _ in range(count):
                    publish_async(subject, payload)
                js.publish_async_completed(timeout=120)
                result(client, mode, size, count, time.perf_counter() - start)
                check_stored(js.stream_info(stream).state.messages, count)
            else:  # fetch
                publish_async = js.publish_async
                for _ in range(count):
                    publish_async(subject, payload)
                js.publish_async_completed(timeout=120)
                psub = js.pull_subscribe(subject, durable="bench", stream=stream)
                got = 0
                start = time.perf_counter()
                while got < count:
                    msgs = psub.fetch(BATCH, timeout=5)
                    for msg in msgs:
                        msg.ack()
                    got += len(msgs)
                nc.flush(timeout=60)
                result(client, mode, size, count, time.perf_counter() - start)
        finally:
            js.delete_stream(stream)


# -- swiftnats.aio and nats-py: the same coroutine, only the calls that differ are passed --------

async def bench_asyncio(client, mode, count, size, url):
    payload = b"x" * size
    stream, subject, bucket = names()
    if client == "swiftnats-aio":
        from swiftnats import aio

        nc = await aio.connect(url)
        # Not timed. Without an awaited round trip first, the blocking stream creation of
        # ``create_key_value`` on a fresh aio connection gets no reply (SNATS_TIMEOUT after 5 s):
        # a swiftnats bug, reported with this benchmark; the flush steps around it.
        await nc.flush()
        js = nc.jetstream()
        stream_config = dict(storage="memory")
        kv_config = dict(storage="memory")
        consumer_config = None  # swiftnats: explicit acks, filtered on the subject

        async def completed():
            await js.publish_async_completed(timeout=120)
    else:
        import nats
        from nats.js import api

        nc = await nats.connect(url)
        js = nc.jetstream()
        stream_config = dict(storage=api.StorageType.MEMORY)
        kv_config = dict(storage=api.StorageType.MEMORY, direct=True)
        consumer_config = api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT)

        async def completed():
            await asyncio.wait_for(js.publish_async_completed(), 120)
    try:
        if mode in ("kvput", "kvget"):
            kv = await js.create_key_value(bucket=bucket, **kv_config)
            try:
                put, get = kv.put, kv.get
                if mode == "kvget":
                    for i in range(KEYS):
                        await put(f"k{i}", payload)
                for i in range(WARMUP):
                    await (put(f"k{i % KEYS}", payload) if mode == "kvput" else get(f"k{i % KEYS}"))
                latencies = []
                start = time.perf_counter()
                for i in range(count):
                    key = f"k{i % KEYS}"
                    sent = time.perf_counter()
                    if mode == "kvput":
                        await put(key, payload)
                    elif len((await get(key)).value) != size:
                        sys.exit("a value of the wrong size")
                    latencies.append(time.perf_counter() - sent)
                result(client, mode, size, count, time.perf_counter() - start, percentiles(latencies))
            finally:
                await js.delete_key_value(bucket)
            return
        await js.add_stream(name=stream, subjects=[subject], **stream_config)
        try:
            if mode == "jspub":
                publish = js.publish
                for _ in range(WARMUP):
                    await publish(subject, payload)
                latencies = []
                start = time.perf_counter()
                for _ in range(count):
                    sent = time.perf_counter()
                    await publish(subject, payload)
                    latencies.append(time.perf_counter() - sent)
                result(client, mode, size, count, time.perf_counter() - start, percentiles(latencies))
                check_stored((await js.stream_info(stream)).state.messages, count + WARMUP)
            elif mode == "jsasync":
                publish_async = js.publish_async
                start = time.perf_counter()
                for _ in range(count):
                    await publish_async(subject, payload)
                await completed()
                result(client, mode, size, count, time.perf_counter() - start)
                check_stored((await js.stream_info(stream)).state.messages, count)
            else:  # fetch
                publish_async = js.publish_async
                for _ in range(count):
                    await publish_async(subject, payload)
                await completed()
                psub = await js.pull_subscribe(subject, durable="bench", stream=stream, config=consumer_config)
                got = 0
                start = time.perf_counter()
                while got < count:
                    msgs = await psub.fetch(BATCH, timeout=5)
                    for msg in msgs:
                        await msg.ack()
                    got += len(msgs)
                await nc.flush(timeout=60)
                result(client, mode, size, count, time.perf_counter() - start)
        finally:
            await js.delete_stream(stream)
    finally:
        await nc.close()


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    client, mode, count, size, url = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    if mode not in ("jspub", "jsasync", "fetch", "kvput", "kvget"):
        sys.exit(f"unknown mode {mode}")
    if client == "swiftnats":
        bench_swiftnats(mode, count, size, url)
    elif client == "swiftnats-aio":
        asyncio.run(bench_asyncio("swiftnats-aio", mode, count, size, url))
    elif client == "natspy":
        asyncio.run(bench_asyncio("nats-py", mode, count, size, url))
    else:
        sys.exit(f"unknown client {client}")


if __name__ == "__main__":
    main()
