"""Streamed results as the caller reads them: an iterator (:class:`RPCStream`), or events
handed to a sink (:class:`CallbackStream`, what ``aio.rpc`` iterates)."""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Optional

from .. import _runtime as rt
from .._lib import RPC_CALLBACK, lib
from ..errors import (
    IllegalStateError,
    Status,
)
from ..errors import TimeoutError as SwiftNatsTimeoutError
from ._wire import _callback_outcome, _outcome

#: What a callback stream hands over after its last item.
STREAM_END = object()


def _on_stream_event(status: int, item: Optional[int], error: Optional[int], closure: Optional[int]) -> None:
    """An event of snats_rpc_client_call_stream_cb(): an item, then the end or the error."""
    try:
        rt.enter_callback()
        try:
            sink = rt.lookup(closure)
            if sink is None:
                return
            if status == Status.OK and not item:
                rt.unregister(closure)  # the last event
                sink(STREAM_END, None)
                return
            value, failure = _callback_outcome(status, item, error)
            if failure is not None:
                rt.unregister(closure)
            sink(value, failure)
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: an RPC stream callback raised")


_STREAM_THUNK = RPC_CALLBACK(_on_stream_event)


class CallbackStream:
    """A streaming call whose events go to a sink, ``sink(item, None)`` per item, then
    ``sink(STREAM_END, None)`` or ``sink(None, exception)`` (what ``aio.rpc`` iterates).
    :meth:`close` stops it early; the sink is not called after it returns."""

    def __init__(self, handle: int, key: int, on_close: Optional[Callable[[], None]] = None) -> None:
        self._handle = rt.Handle(handle, lib.snats_rpc_stream_destroy, lambda: IllegalStateError("the stream is closed"),
                                 "stream")
        self._key = key
        self._on_close = on_close

    def close(self) -> None:
        if self._handle.close() and self._on_close is not None:
            self._on_close()  # the references lent for the call
        rt.unregister(self._key)


class RPCStream:
    """The items of a streaming call, in order (an iterator and a context manager). The
    timeout applies to each wait for the next item."""

    def __init__(self, handle: int, on_close: Optional[Callable[[], None]] = None) -> None:
        self._handle = rt.Handle(handle, lib.snats_rpc_stream_destroy, lambda: IllegalStateError("the stream is closed"),
                                 "stream")
        self._on_close = on_close

    def __iter__(self) -> "RPCStream":
        return self

    def __next__(self) -> Any:
        item, error = ctypes.c_void_p(), ctypes.c_void_p()
        with self._handle.use() as stream:
            status = lib.snats_rpc_stream_next(ctypes.byref(item), ctypes.byref(error), stream)
        if status == Status.OK and not item.value:
            self._ended()
            raise StopIteration
        try:
            return _outcome(status, item, error)
        except BaseException as e:
            if not isinstance(e, SwiftNatsTimeoutError):  # a timeout leaves the stream open
                self._ended()
            raise

    def _ended(self) -> None:
        """The stream is over: the references lent for its call are revoked."""
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def close(self) -> None:
        """Stops reading; items still coming are dropped."""
        self._handle.close()
        self._ended()

    def __enter__(self) -> "RPCStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


