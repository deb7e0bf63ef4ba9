"""Delivery of messages to Python callbacks in batches, without a thread per subscription.

For the asyncio client, every subscription is bound to the connection's queue without a C
callback (snats_subscribe_on() with cb NULL), tagged with its registry key. Whoever drains the
queue takes whole batches for all subscriptions at once (snats_dispatch_queue_next_msgs(): one
ctypes call per batch) and runs the callbacks in order per subscription:

- the asyncio client: the event loop, woken by the queue's file descriptor (``add_reader``);
  its pump (``aio/_pump.py``) delivers the batches itself: plain callbacks inline, coroutine
  callbacks and ``next_msg()`` through per-subscription buffers.

The sync client does not drain a queue itself: its subscriptions are batch subscriptions on
the library's delivery pool (:data:`BATCH_THUNK`), which bounds the threads, keeps each
subscription's order and lends a thread while a callback blocks in the library.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Generic, List, Optional, Tuple, Type, TypeVar, overload

from . import _runtime as rt
from ._lib import BATCH_HANDLER, lib
from .errors import Status, _check
from .msg import Msg

__all__ = ["DispatchQueue", "BATCH_THUNK", "set_delivery_pool_size", "delivery_pool_threads"]

#: a batch: at most this many messages, in a buffer of this many bytes to start with (it
#: grows for a larger message)
BATCH_MSGS = 1024
BATCH_BYTES = 256 * 1024


#: the class of a queue's messages
_M = TypeVar("_M", bound=Msg)


class DispatchQueue(Generic[_M]):
    """A ``snats_dispatch_queue``: its handle, descriptor and batch buffer."""

    @overload
    def __init__(self: "DispatchQueue[Msg]") -> None: ...

    @overload
    def __init__(self, msg_class: Type[_M]) -> None: ...

    def __init__(self, msg_class: Type[Any] = Msg) -> None:
        #: the class of the messages :meth:`take` makes (``aio.Msg`` for the asyncio client)
        self.msg_class: Type[_M] = msg_class
        out = ctypes.c_void_p()
        _check(lib.snats_dispatch_queue_create(ctypes.byref(out), 0, 0))
        self.ptr: Optional[int] = out.value
        fd = ctypes.c_int()
        _check(lib.snats_dispatch_queue_fd(ctypes.byref(fd), self.ptr))
        self.fd = fd.value
        self._capacity = BATCH_BYTES
        self._buf = ctypes.create_string_buffer(self._capacity)
        self._used = ctypes.c_size_t()
        self._count = ctypes.c_size_t()
        self._ran = ctypes.c_int()

    def take(self, timeout_ms: int, client: Any) -> Tuple[List[int], List[_M], List[int]]:
        """Waits up to @p timeout_ms (0: not at all) for messages, then takes a batch: their
        tags, the messages and their sizes (as the pending limits count them). Empty when
        none came or the queue was woken. One thread at a time."""
        return self._batch(lambda: lib.snats_dispatch_queue_next_msgs(
            self._buf, self._capacity, ctypes.byref(self._used), ctypes.byref(self._count),
            self.ptr, BATCH_MSGS, timeout_ms), client)

    def turn(self, max_callbacks: int, client: Any) -> Tuple[int, List[int], List[_M], List[int]]:
        """One turn of the owner (snats_dispatch_queue_turn()): reads the sockets, runs up to
        @p max_callbacks pending callbacks, takes a batch; never waits. Returns how many
        callbacks ran, then the batch as :meth:`take` does. One thread at a time."""
        ran = self._ran
        total = 0

        def call() -> int:
            nonlocal total
            st = lib.snats_dispatch_queue_turn(
                self._buf, self._capacity, ctypes.byref(self._used), ctypes.byref(self._count),
                ctypes.byref(ran), self.ptr, max_callbacks, BATCH_MSGS)
            total += ran.value  # they ran even when the batch did not fit
            return st  # type: ignore[no-any-return]

        tags, msgs, sizes = self._batch(call, client)
        return total, tags, msgs, sizes

    def _batch(self, call: Callable[[], int], client: Any) -> Tuple[List[int], List[_M], List[int]]:
        """Makes @p call (a take into the batch buffer) until its first record fits, then
        builds the messages."""
        tags: List[int] = []
        while True:
            st = call()
            if st == Status.BUFFER_TOO_SMALL:
                self._capacity = max(self._capacity * 2, self._used.value)
                self._buf = ctypes.create_string_buffer(self._capacity)
                continue
            _check(st)
            count = self._count.value
            if count == 0:
                return tags, [], []
            msgs, sizes = self.msg_class._unpack(
                ctypes.string_at(self._buf, self._used.value), count, client, tags)
            return tags, msgs, sizes

    @property
    def used(self) -> int:
        """Bytes of the last batch taken."""
        return self._used.value

    @property
    def capacity(self) -> int:
        """Bytes the batch buffer holds."""
        return self._capacity

    def dispatch(self, max_callbacks: int, timeout_ms: int) -> int:
        """Runs pending C callbacks (connection events, micro and RPC handlers, completions)
        on this thread; returns how many ran."""
        ran = ctypes.c_int()
        _check(lib.snats_dispatch_queue_dispatch(ctypes.byref(ran), self.ptr, max_callbacks, timeout_ms))
        return ran.value

    def wake(self) -> None:
        if self.ptr is not None:
            lib.snats_dispatch_queue_wake(self.ptr)

    def destroy(self) -> None:
        """Releases the handle; the connection keeps the queue until it ends."""
        ptr, self.ptr = self.ptr, None
        if ptr is not None:
            lib.snats_dispatch_queue_destroy(ptr)


def _on_batch(
    conn: Optional[int], sub_ptr: Optional[int], records: Optional[int], used: int, count: int,
    closure: Optional[int],
) -> None:
    """The sync client's subscriptions: a batch of one subscription's messages, on a thread of
    the library's delivery pool (snats_subscribe_batch()). The library keeps the calls of one
    subscription one at a time and in order, and lends the pool a thread while a callback
    blocks in a library call (a request served by another callback of this connection)."""
    try:
        rt.enter_callback()
        try:
            sub = rt.lookup(closure)
            if sub is None or not count or records is None:  # records: never NULL with messages
                return
            client = sub._client
            msgs, sizes = Msg._unpack(ctypes.string_at(records, used), count, client, sub=sub)
            held = sub._held = [sizes, 0]
            cb = sub._cb
            for msg in msgs:
                if sub._final is not None:
                    break  # closed by a callback: deliver nothing more
                held[1] += 1
                try:
                    cb(msg)
                except Exception as e:  # user code: report, never end the delivery
                    client._report_callback_exception(e, sub)
            sub._held = [[], 0]
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover - a bug here must not pass silently
        rt.log.exception("swiftnats: error delivering a batch")


#: the one C callback of every sync subscription with a callback
BATCH_THUNK = BATCH_HANDLER(_on_batch)


def set_delivery_pool_size(threads: int) -> None:
    """Sets the number of threads of the library's process-wide delivery pool, which runs the
    callbacks of every connection (default: one per core, at least 2). Takes effect at once.
    Raises InvalidArgumentError for @p threads < 1."""
    _check(lib.snats_set_delivery_pool_size(threads))


def delivery_pool_threads() -> Tuple[int, int]:
    """(threads alive now, size) of the process-wide delivery pool. Threads alive may exceed
    the size while callbacks block in library calls (the pool lends threads then)."""
    alive, size = ctypes.c_int(), ctypes.c_int()
    _check(lib.snats_get_delivery_pool_threads(ctypes.byref(alive), ctypes.byref(size)))
    return alive.value, size.value
