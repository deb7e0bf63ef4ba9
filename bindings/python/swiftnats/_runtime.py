"""Plumbing shared by the wrappers: the closure registry, the "am I on a library callback
thread" flag, the handle guard, and conversions of Python values to C arguments."""

from __future__ import annotations

import ctypes
import itertools
import logging
import math
import threading
from typing import Any, Callable, Dict, Optional, Tuple, Type, Union

from . import outbox as _outbox
from .errors import InvalidArgumentError, InvalidSubjectError, SwiftNatsError

log = logging.getLogger("swiftnats")

Payload = Union[bytes, bytearray, memoryview]

# --------------------------------------------------------------------------------------------
# Closure registry: the `void *closure` given to C is an integer key into this table, never an
# id(). A key is never reused, so a late callback for an unregistered key finds nothing.
# --------------------------------------------------------------------------------------------

_registry_lock = threading.Lock()
_registry: Dict[int, Any] = {}
_keys = itertools.count(1)  # 0 would reach Python as None


def register(obj: Any) -> int:
    with _registry_lock:
        key = next(_keys)
        _registry[key] = obj
        return key


def unregister(key: Optional[int]) -> None:
    if key is None:
        return
    with _registry_lock:
        _registry.pop(key, None)


def lookup(key: Optional[int]) -> Any:
    if key is None:
        return None
    return _registry.get(key)  # dict.get is atomic under the GIL


def registry_size() -> int:
    """How many closures are registered (for tests and leak checks)."""
    with _registry_lock:
        return len(_registry)


def hand_over_publishes() -> None:
    """Hands the publishes buffered in Python to the library (see outbox.py). Called before
    every library call that may send something: handles call it in acquire() and try_use(),
    callbacks when they return, answers to micro and RPC requests before they go out."""
    if _outbox.pending or _outbox.busy:
        _outbox.hand_over_all()


# --------------------------------------------------------------------------------------------
# Callback threads
# --------------------------------------------------------------------------------------------

_tls = threading.local()


def enter_callback() -> None:
    """Marks the current thread as running a library callback (every thunk calls it first,
    and :func:`leave_callback` in ``finally``).

    On its first callback, a library thread keeps its Python thread state for good: ctypes
    makes one for a thread Python did not start and, unless it is kept, frees it again when
    the callback returns, which costs tens of microseconds a call on the delivery pool's
    long-lived threads."""
    depth = getattr(_tls, "depth", None)
    if depth is None:
        depth = 0
        if threading.current_thread().__class__.__name__ == "_DummyThread":
            ctypes.pythonapi.PyGILState_Ensure()  # never released: the state stays
    _tls.depth = depth + 1


def leave_callback() -> None:
    """Also hands over what the callback published: the library may answer for it next (an RPC
    handler's return value is sent by the library), and must not overtake its publishes."""
    _tls.depth -= 1
    hand_over_publishes()


def on_callback_thread() -> bool:
    """True while the current thread runs a callback of the library."""
    return getattr(_tls, "depth", 0) > 0


def off_callback_thread(fn: Callable[[], None], name: str) -> None:
    """Runs @p fn now, or on a new thread when the current one runs a library callback
    (snats_conn_destroy() must not run on a callback thread of its connection)."""
    if on_callback_thread():
        threading.Thread(target=fn, name=name, daemon=True).start()
    else:
        fn()


# --------------------------------------------------------------------------------------------
# Handle guard
# --------------------------------------------------------------------------------------------


class Handle:
    """A C handle used by several threads. Calls hold it (``with h.use() as ptr``) for the
    duration of the C call; :meth:`close` marks it closed, and the C destroy function runs once
    no call holds it any more, so a blocking call on another thread never sees freed memory."""

    __slots__ = (
        "_lock", "_ptr", "_users", "_closed", "_destroy", "_closed_error", "_name", "_defer"
    )

    def __init__(
        self,
        ptr: int,
        destroy: Callable[[int], None],
        closed_error: Callable[[], SwiftNatsError],
        name: str,
        defer_on_callback_thread: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._ptr: Optional[int] = ptr
        self._users = 0
        self._closed = False
        self._destroy = destroy
        self._closed_error = closed_error
        self._name = name
        self._defer = defer_on_callback_thread

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def address(self) -> Optional[int]:
        """The pointer while not destroyed (for identity only: never call C with it)."""
        return self._ptr

    def acquire(self) -> int:
        """Holds the handle for one C call (pair with :meth:`release`, in ``finally``); raises
        the closed error once closed. Publishes still buffered in Python are handed to the
        library first, so that every call follows the publishes made before it."""
        hand_over_publishes()
        return self.acquire_raw()

    def acquire_raw(self) -> int:
        """As :meth:`acquire`, without handing over buffered publishes (for the hand-over)."""
        with self._lock:
            ptr = self._ptr
            if self._closed or ptr is None:
                raise self._closed_error()
            self._users += 1
            return ptr

    def release(self) -> None:
        self._release()

    def use(self) -> "_Use":
        """``with handle.use() as ptr:`` holds the handle for the block."""
        return _Use(self, self.acquire())

    def try_use(self) -> "Optional[_Use]":
        """As :meth:`use`, but gives None instead of raising when closed."""
        hand_over_publishes()
        with self._lock:
            if self._closed or self._ptr is None:
                return None
            self._users += 1
            return _Use(self, self._ptr)

    def _release(self) -> None:
        ptr = None
        with self._lock:
            self._users -= 1
            if self._closed and self._users == 0 and self._ptr is not None:
                ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._run_destroy(ptr)

    def close(self) -> bool:
        """Marks the handle closed; destroys it now or when the last call returns. Returns
        False when it was closed already."""
        ptr = None
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            if self._users == 0 and self._ptr is not None:
                ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._run_destroy(ptr)
        return True

    def _run_destroy(self, ptr: int) -> None:
        destroy = self._destroy
        if self._defer:
            off_callback_thread(lambda: destroy(ptr), f"swiftnats-destroy-{self._name}")
        else:
            destroy(ptr)


class _Use:
    __slots__ = ("_handle", "ptr")

    def __init__(self, handle: Handle, ptr: int) -> None:
        self._handle = handle
        self.ptr = ptr

    def __enter__(self) -> int:
        return self.ptr

    def __exit__(self, *exc: Any) -> None:
        self._handle._release()


# --------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------


def out_ptr(out: Any, what: str) -> int:
    """The pointer an out-parameter received on SNATS_OK (never NULL by the header's contract)."""
    value = out.value
    if not value:
        raise SwiftNatsError(f"the library returned SNATS_OK with a NULL {what}")
    return int(value)


_ENC = "utf-8"
_ERRORS = "surrogateescape"  # subjects and header values round-trip even if not UTF-8


def decode(raw: Optional[bytes]) -> str:
    return raw.decode(_ENC, _ERRORS) if raw else ""


def _encode(value: str, what: str, error: Type[SwiftNatsError]) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    raw = value.encode(_ENC, _ERRORS)
    if b"\0" in raw:
        raise error(f"{what} contains a NUL character: {value!r}")
    return raw


_subject_cache: Dict[str, bytes] = {}
_SUBJECT_CACHE_MAX = 4096


def subject_arg(subject: str, what: str = "subject") -> bytes:
    """The encoded subject (cached: publishers reuse a few subjects). Validity is the
    library's to check; only a NUL, which C would not see, is refused here."""
    raw = _subject_cache.get(subject)  # a non-str misses, and _encode raises TypeError
    if raw is not None:
        return raw
    raw = _encode(subject, what, InvalidSubjectError)
    if len(_subject_cache) >= _SUBJECT_CACHE_MAX:
        _subject_cache.clear()
    _subject_cache[subject] = raw
    return raw


def optional_subject_arg(subject: Optional[str], what: str = "reply") -> Optional[bytes]:
    return subject_arg(subject, what) if subject else None


def text_arg(value: str, what: str) -> bytes:
    return _encode(value, what, InvalidArgumentError)


def optional_text_arg(value: Optional[str], what: str) -> Optional[bytes]:
    return None if value is None else text_arg(value, what)


def payload_arg(data: Optional[Payload]) -> Tuple[Optional[bytes], int]:
    """(pointer argument, length) for ``const void *data, size_t len``; data is NULL when empty."""
    if data is None:
        return None, 0
    if isinstance(data, bytes):
        raw = data
    elif isinstance(data, (bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise TypeError(
            f"payload must be bytes, bytearray or memoryview, not {type(data).__name__}"
            + (" (encode the str first)" if isinstance(data, str) else "")
        )
    return (raw if raw else None), len(raw)


_MAX_MS = 2**62


def ms_arg(timeout: float, what: str = "timeout") -> int:
    """Float seconds -> int64 milliseconds, rounded up so that a small positive timeout stays
    positive. Zero and negative values are passed on: the library rejects them with
    SNATS_INVALID_ARG."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {type(timeout).__name__}")
    if math.isnan(timeout):
        raise InvalidArgumentError(f"{what} is NaN")
    if math.isinf(timeout):
        return _MAX_MS if timeout > 0 else -1
    return max(-_MAX_MS, min(_MAX_MS, math.ceil(timeout * 1000)))
