"""What the Object Store tests (blocking and asyncio) share: digests, byte patterns no two
chunks share, the client, context and bucket fixtures, a reader that fails."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from typing import List

import pytest

import swiftnats
from swiftnats.jetstream import JetStreamContext
from swiftnats.obj import ObjectStore, ObjectWatcher

HELLO_DIGEST = "SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
EMPTY_DIGEST = "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="


def digest_of(data: bytes) -> str:
    return "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes no two chunks share (a counter's SHA-256 blocks)."""
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d-%d" % (seed, block)).digest()
        block += 1
    return bytes(out[:size])


@pytest.fixture
def jnc(js_url):
    client = swiftnats.connect(js_url, name="pytest-obj")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def js(jnc) -> JetStreamContext:
    return jnc.jetstream()


@pytest.fixture
def obs(js) -> ObjectStore:
    return js.create_object_store(bucket="files")


def messages(js, bucket: str = "files") -> int:
    return js.stream_info("OBJ_" + bucket).state.messages


def initial(watcher: ObjectWatcher, timeout: float = 5.0) -> List[swiftnats.jetstream.Info]:
    """The infos a watch delivers before its marker (None), which it consumes."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        info = watcher.updates(max(0.05, deadline - time.monotonic()))
        if info is None:
            return got
        got.append(info)


class Exploding(io.RawIOBase):
    """A binary file whose reads give @p good chunks of bytes, then raise."""

    def __init__(self, good: int, size: int = 1000) -> None:
        self.good = good
        self.size = size
        self.reads = 0
        self.error = RuntimeError("the disk is on fire")

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        self.reads += 1
        if self.reads > self.good:
            raise self.error
        return b"x" * min(n, self.size)
