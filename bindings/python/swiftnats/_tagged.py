"""Asynchronous publishes whose acks reach Python in batches.

A ctypes callback costs several times what an ack carries, so ``publish_async`` sends tagged
publishes (``snats_js_publish_async_tagged``) and the library hands over every ack read
together in one call, as ``snats_js_pub_outcome`` records: one callback per batch, not per
publish. Each publish's future is found by its tag.

The handler is given to the context once, with a closure that stays registered as long as
the publisher lives; it holds the publisher strongly only while publishes await their
outcome (their futures must be settled even when the context is dropped meanwhile), and
weakly otherwise, so that a context no publish uses any more is collected.
"""

from __future__ import annotations

import ctypes
import itertools
import struct
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _runtime as rt
from ._jsapi import PubAck, with_json
from ._lib import TAGGED_ACK_HANDLER, lib
from .errors import _check, reported_error
from .headers import HeadersArg, c_headers

#: ``snats_js_pub_outcome``: tag, seq, stream, domain, error, status, api_code, api_err_code,
#: duplicate (56 bytes; the C harness checks the layout).
OUTCOME = struct.Struct("=QQQQQiii?3x")

#: (the publish's future, its ack or None, its error or None)
Settled = Tuple[Any, Optional[PubAck], Optional[BaseException]]


def _text(address: int) -> str:
    return ctypes.string_at(address).decode("utf-8", "replace")


class _Route:
    """The registered closure of a publisher's acks: the publisher, strongly while it awaits
    outcomes, weakly otherwise."""

    def __init__(self, publisher: "TaggedPublisher") -> None:
        self.weak = weakref.ref(publisher)
        self.strong: Optional[TaggedPublisher] = None

    def __call__(self, address: int, count: int) -> None:
        publisher = self.strong or self.weak()
        if publisher is not None:
            publisher._deliver(address, count)


class TaggedPublisher:
    """The asynchronous publishes of one JetStream context: ``publish`` sends one for a future;
    ``on_batch`` gets the settled ones, list by list, on the thread the library runs the
    context's callbacks on (a delivery thread, or the asyncio loop's through its dispatch
    queue)."""

    def __init__(self, handle: rt.Handle, on_batch: Callable[[List[Settled]], None]) -> None:
        self._handle = handle
        self._on_batch = on_batch
        self._lock = threading.Lock()
        self._waiting: Dict[int, Any] = {}
        self._tags = itertools.count(1)
        self._route = _Route(self)
        self._listening = False

    def publish(self, subject: str, payload: Any, headers: HeadersArg, options: Optional[Dict[str, Any]],
                future: Any) -> None:
        """Sends one publish whose outcome settles @p future; raises (and nothing will come)
        when the library refuses it. Blocks while the context's window is full."""
        subj = rt.subject_arg(subject)
        data, size = rt.payload_arg(payload)
        with self._lock:
            tag = next(self._tags)
            if not self._listening:
                self._listen()
            self._waiting[tag] = future
            self._route.strong = self
        try:
            if headers or options:
                with c_headers(headers) as hdrs, self._handle.use() as js:
                    with_json(options, lambda doc: _check(
                        lib.snats_js_publish_async_tagged(js, subj, hdrs, data, size, doc, tag)))
            else:
                js = self._handle.acquire()
                try:
                    _check(lib.snats_js_publish_async_tagged(js, subj, None, data, size, None, tag))
                finally:
                    self._handle.release()
        except BaseException:
            with self._lock:
                self._waiting.pop(tag, None)
                if not self._waiting:
                    self._route.strong = None
            raise

    def _listen(self) -> None:
        """Under the lock, once: registers the route (until this publisher is collected) and
        gives it to the context."""
        key = rt.register(self._route)
        try:
            with self._handle.use() as js:
                _check(lib.snats_js_set_tagged_ack_handler(js, TAGGED_ACKS_THUNK, key))
        except BaseException:
            rt.unregister(key)
            raise
        weakref.finalize(self, rt.unregister, key)
        self._listening = True

    def _deliver(self, address: int, count: int) -> None:
        settled: List[Settled] = []
        streams: Dict[int, str] = {}  # consecutive records of one stream share its pointer
        with self._lock:
            pop = self._waiting.pop
            for tag, seq, stream, domain, error, status, code, err_code, duplicate in OUTCOME.iter_unpack(
                    ctypes.string_at(address, count * OUTCOME.size)):
                future = pop(tag, None)
                if future is None:
                    continue
                if status == 0:
                    name = streams.get(stream)
                    if name is None:
                        name = streams[stream] = _text(stream)
                    ack = PubAck(stream=name, seq=seq, domain=_text(domain) if domain else None, duplicate=duplicate)
                    settled.append((future, ack, None))
                else:
                    settled.append((future, None, reported_error(status, _text(error) if error else "", code, err_code)))
            if not self._waiting:
                self._route.strong = None
        self._on_batch(settled)


def _on_tagged_acks(js: Optional[int], outcomes: Optional[int], count: int, closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            deliver = rt.lookup(closure)
            if deliver is not None and outcomes:
                deliver(outcomes, count)
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: an asynchronous publish's ack handler raised")


TAGGED_ACKS_THUNK = TAGGED_ACK_HANDLER(_on_tagged_acks)
