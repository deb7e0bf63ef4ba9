"""Subscriptions: with a callback (run on the library's delivery pool, see _delivery.py) or
synchronous (read with :meth:`Subscription.next_msg`).

A subscription with a callback gets its messages in batches (snats_subscribe_batch()): one
C-to-Python call and one hold of the GIL per batch instead of per message, and no thread per
subscription."""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, ContextManager, List, Optional, Tuple

from . import _runtime as rt
from ._lib import lib
from .errors import IllegalStateError, InvalidSubscriptionError, _check
from .msg import Msg

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["Subscription", "MsgHandler"]

MsgHandler = Callable[[Msg], None]


def _destroy_sub(ptr: int) -> None:
    lib.snats_sub_destroy(ptr)


def _closed_error() -> InvalidSubscriptionError:
    return InvalidSubscriptionError("the subscription is closed")


def _finalize(handle: rt.Handle, key: Optional[int]) -> None:
    rt.unregister(key)
    handle.close()


class Subscription:
    """A subscription of a :class:`~swiftnats.Client` (made by ``Client.subscribe()``).

    A subscription with a callback stays alive, held by its client, until it is closed,
    unsubscribed, drained, or its client closes; dropping the Python object does not end it.
    A synchronous one ends when the object is collected. Use it as a context manager, or call
    :meth:`close`, to end it deterministically.
    """

    def __init__(self, client: "Client", subject: str, queue: str, cb: Optional[MsgHandler]) -> None:
        self._client = client
        self._subject = subject
        self._queue = queue
        self._cb = cb
        # the batch taken from the library, as [sizes of its messages, how many callbacks have
        # started]: those not started are still pending, not yet delivered, as the user sees it
        self._held: List[Any] = [[], 0]
        self._key: Optional[int] = rt.register(self) if cb is not None else None
        self._handle: Optional[rt.Handle] = None
        self._lock = threading.Lock()
        self._ending = False  # auto-unsubscribe or drain pending: the client sweeps it later
        self._final: Optional[Tuple[int, int]] = None  # (delivered, dropped) at close
        self._finalizer: "Optional[weakref.finalize[..., Subscription]]" = None

    # -- set-up by the client -----------------------------------------------------------------

    def _attach(self, ptr: int) -> None:
        self._handle = rt.Handle(ptr, _destroy_sub, _closed_error, f"sub-{self._subject}")
        self._finalizer = weakref.finalize(self, _finalize, self._handle, self._key)

    def _abandon(self) -> None:
        """Subscribe failed: forget the registry key."""
        rt.unregister(self._key)
        self._key = None

    # -- API ----------------------------------------------------------------------------------

    @property
    def subject(self) -> str:
        return self._subject

    @property
    def queue(self) -> str:
        return self._queue

    @property
    def is_async(self) -> bool:
        """True when messages go to a callback."""
        return self._cb is not None

    @property
    def is_valid(self) -> bool:
        """Whether the subscription is still active."""
        use = self._handle.try_use() if self._handle else None
        if use is None:
            return False
        with use as ptr:
            return bool(lib.snats_sub_is_valid(ptr))

    def next_msg(self, timeout: float = 1.0) -> Msg:
        """Takes the next message of a synchronous subscription, waiting up to @p timeout
        seconds (0: a poll, what is queued now). Raises TimeoutError, MaxDeliveredError (auto-unsubscribe count reached),
        InvalidSubscriptionError (unsubscribed), ConnectionClosedError, or IllegalStateError
        for a subscription with a callback."""
        ms = rt.ms_arg(timeout)
        if self._cb is not None:
            raise IllegalStateError("next_msg() on a subscription with a callback")
        out = ctypes.c_void_p()
        with self._use() as ptr:
            _check(lib.snats_sub_next_msg(ctypes.byref(out), ptr, ms))
        msg = Msg._take(rt.out_ptr(out, "message"), self._client)
        msg._sub = self
        return msg

    def unsubscribe(self, limit: int = 0) -> None:
        """Ends the subscription now (limit == 0), or after @p limit messages in all, counting
        those delivered already (limit > 0)."""
        if limit < 0:
            raise ValueError("limit must be >= 0")
        with self._use() as ptr:
            if limit > 0:
                self._ending = True
                self._client._note_ending(self)
                _check(lib.snats_sub_auto_unsubscribe(ptr, limit))
            else:
                _check(lib.snats_sub_unsubscribe(ptr))
        if limit == 0:
            self._client._forget_sub(self)

    def drain(self, timeout: float = 30.0) -> None:
        """Unsubscribes, then waits until every message in flight was delivered or taken.
        Raises TimeoutError when not done in time (the subscription ends anyway)."""
        ms = rt.ms_arg(timeout)
        self._ending = True
        self._client._note_ending(self)
        with self._use() as ptr:
            _check(lib.snats_sub_drain(ptr, ms))

    def set_pending_limits(self, msgs: int = 65536, bytes: int = 64 * 1024 * 1024) -> None:
        """Sets how many messages / bytes may wait for delivery; 0 means unlimited. Past them,
        messages are dropped and reported once per episode as SlowConsumerError."""
        with self._use() as ptr:
            _check(lib.snats_sub_set_pending_limits(ptr, msgs, bytes))

    @property
    def pending(self) -> Tuple[int, int]:
        """(messages, bytes) waiting for delivery."""
        use = self._handle.try_use() if self._handle else None
        if use is None:
            return (0, 0)
        msgs, nbytes = ctypes.c_int(), ctypes.c_int64()
        with use as ptr:
            _check(lib.snats_sub_get_pending(ctypes.byref(msgs), ctypes.byref(nbytes), ptr))
        held_msgs, held_bytes = self._held_counts()
        return (msgs.value + held_msgs, nbytes.value + held_bytes)

    @property
    def delivered(self) -> int:
        """Messages delivered so far (callback run, or taken by next_msg)."""
        return self._counters()[0]

    @property
    def dropped(self) -> int:
        """Messages dropped because the pending limits were reached."""
        return self._counters()[1]

    def close(self) -> None:
        """Unsubscribes if still active and frees the subscription. Idempotent; allowed from
        the subscription's own callback."""
        with self._lock:
            if self._final is not None:
                return
            self._final = self._read_counters() if self._handle else (0, 0)
        use = self._handle.try_use() if self._handle else None
        if use is not None:
            with use as ptr:
                # ends it now, waking a next_msg() blocked on another thread, so that the
                # destroy below need not wait for that call's timeout
                lib.snats_sub_unsubscribe(ptr)
        self._client._forget_sub(self)
        if self._finalizer is not None:
            self._finalizer()  # unregister the key, then snats_sub_destroy (once idle)
        else:
            rt.unregister(self._key)

    @property
    def is_closed(self) -> bool:
        return self._final is not None

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._final is not None:
            state = "closed"
        else:
            state = "valid" if self.is_valid else "ended"
        queue = f" queue={self._queue!r}" if self._queue else ""
        kind = "async" if self._cb is not None else "sync"
        return f"<Subscription {self._subject!r}{queue} {kind} {state}>"

    # -- helpers ------------------------------------------------------------------------------

    def _use(self) -> ContextManager[int]:
        if self._handle is None:
            raise _closed_error()
        return self._handle.use()

    def _counters(self) -> Tuple[int, int]:
        if self._final is not None:
            return self._final
        return self._read_counters()

    def _read_counters(self) -> Tuple[int, int]:
        use = self._handle.try_use() if self._handle else None
        if use is None:
            return self._final or (0, 0)
        delivered, dropped = ctypes.c_uint64(), ctypes.c_uint64()
        with use as ptr:
            _check(lib.snats_sub_get_delivered(ctypes.byref(delivered), ptr))
            _check(lib.snats_sub_get_dropped(ctypes.byref(dropped), ptr))
        return (delivered.value - self._held_counts()[0], dropped.value)

    def _held_counts(self) -> Tuple[int, int]:
        """Messages and bytes of the batch in hand whose callbacks have not started."""
        sizes, started = self._held
        return len(sizes) - started, sum(sizes[started:])

    def _ended(self) -> bool:
        """True once an auto-unsubscribe or drain has finished (used by the client's sweep)."""
        return self._ending and not self.is_valid

    @property
    def _address(self) -> Optional[int]:
        return self._handle.address if self._handle else None

