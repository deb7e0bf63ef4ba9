"""What the Key-Value and Object Store watches (read without a callback) share: the watcher's
handle, the blocking ``updates``, iteration until stopped, ``stop`` and the context manager."""

from __future__ import annotations

from typing import Any, Callable, Generic, Iterator, Optional, TypeVar

from . import _runtime as rt
from .errors import ConnectionClosedError, SwiftNatsError, TimeoutError

__all__ = ["Watcher"]

_T = TypeVar("_T")


class Watcher(Generic[_T]):
    """A watch read with :meth:`updates` or by iterating (which ends when it is stopped); a
    context manager that stops it. @p next_item(watcher_ptr, timeout_ms) returns the next item
    or None for the marker after the initial values (raising as the library says); @p stop and
    @p destroy are the library's functions for the handle."""

    def __init__(self, ptr: int, next_item: Callable[[int, int], Optional[_T]], stop: Callable[[int], Any],
                 destroy: Callable[[int], None], name: str) -> None:
        self._next_item = next_item
        self._stop = stop
        self._handle = rt.Handle(ptr, destroy, lambda: ConnectionClosedError("the watch is stopped"), name)

    def updates(self, timeout: float = 5.0) -> Optional[_T]:
        """The next item, or None for the marker after the initial values. Raises TimeoutError."""
        with self._handle.use() as watcher:
            return self._next_item(watcher, rt.ms_arg(timeout))

    def __iter__(self) -> Iterator[Optional[_T]]:
        while not self._handle.closed:
            try:
                yield self.updates(1.0)
            except TimeoutError:
                continue
            except SwiftNatsError:  # stopped (and drained), or the connection closed
                return

    def stop(self) -> None:
        """Stops the watch: a thread waiting in :meth:`updates` wakes up (it gets what was
        queued, then the end)."""
        use = self._handle.try_use()
        if use is not None:
            with use as watcher:
                self._stop(watcher)
        self._handle.close()

    def __enter__(self) -> "Watcher[_T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
