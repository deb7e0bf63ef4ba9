"""What the asyncio Key-Value and Object Store watches share: a watch started without blocking
the loop (the library's ``*_watch_async``), whose items come as callbacks on the loop into a
queue read by :meth:`LoopWatcher.updates` or ``async for``, and :meth:`LoopWatcher.stop`."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable, Generic, Optional, Type, TypeVar

from .. import _runtime as rt
from ..errors import ConnectionClosedError, SwiftNatsError, TimeoutError

__all__ = ["LoopWatcher", "watch_thunks"]

_T = TypeVar("_T")
_W = TypeVar("_W", bound="LoopWatcher[Any]")

#: put in a watch's queue by stop(): the end, for the tasks waiting
_STOPPED: Any = object()


class LoopWatcher(Generic[_T]):
    """An asyncio watch: :meth:`updates` (None once after the initial items), ``async for``,
    :meth:`stop`. Subclasses say what an item is (:meth:`_item`), how a failed start reads
    (:meth:`_failure`), and the library's destroy function of their watcher (``_destroy``)."""

    _destroy: Callable[[int], None]
    _kind = "watcher"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queue: "asyncio.Queue[Any]" = asyncio.Queue()
        self._started: "asyncio.Future[None]" = loop.create_future()
        self._stopped = False
        self._handle: Optional[rt.Handle] = None
        # Registered until the watch stops: the items and the start both come through it.
        self._key = rt.register(self)

    def _item(self, pointer: int) -> _T:
        raise NotImplementedError

    def _failure(self, status: int) -> SwiftNatsError:
        raise NotImplementedError

    @classmethod
    async def _begin(cls: Type[_W], loop: asyncio.AbstractEventLoop, start: Callable[[int], None]) -> _W:
        """Starts the watch without blocking the loop: ``start(key)`` makes the library call
        (raising when it is refused); items may be queued before this returns."""
        watch = cls(loop)
        try:
            start(watch._key)
        except BaseException:
            rt.unregister(watch._key)
            raise
        try:
            await watch._started
        except asyncio.CancelledError:
            # Cancelled while starting, or after the start came but before the task resumed:
            # the watch is stopped now, or at its start (_started_with).
            watch._end()
            raise
        return watch

    def _started_with(self, status: int, watcher: Optional[int]) -> None:
        """On the loop (the dispatch queue): the watch's start; a watcher nobody waits for any
        more (its task was cancelled) is stopped at once."""
        if status == 0 and watcher:
            self._handle = rt.Handle(watcher, type(self)._destroy,
                                     lambda: ConnectionClosedError("the watch is stopped"), self._kind)
            if self._stopped:  # its task was cancelled meanwhile
                self._handle.close()
            elif not self._started.done():
                self._started.set_result(None)
            return
        rt.unregister(self._key)
        if not self._started.done():
            self._started.set_exception(self._failure(status))

    async def updates(self, timeout: float = 5.0) -> Optional[_T]:
        """The next item, or None for the marker after the initial ones. Raises TimeoutError,
        and ConnectionClosedError once the watch is stopped and what it queued is read."""
        if self._stopped and self._queue.empty():
            raise ConnectionClosedError("the watch is stopped")
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no change within {timeout} s") from None
        if item is _STOPPED:
            self._queue.put_nowait(_STOPPED)  # for every other reader too
            raise ConnectionClosedError("the watch is stopped")
        result: Optional[_T] = item
        return result

    def __aiter__(self) -> AsyncIterator[Optional[_T]]:
        return self._items()

    async def _items(self) -> AsyncIterator[Optional[_T]]:
        while True:
            try:
                yield await self.updates(3600.0)
            except TimeoutError:
                continue
            except ConnectionClosedError:
                return

    async def stop(self) -> None:
        """Stops the watch: a task waiting in :meth:`updates` or ``async for`` ends at once
        (after what was queued)."""
        self._end()

    def _end(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._handle is not None:
            self._handle.close()
        rt.unregister(self._key)
        self._queue.put_nowait(_STOPPED)


def watch_thunks(item_type: Any, started_type: Any, destroy: Callable[[int], None], kind: str) -> "tuple[Any, Any]":
    """The library callbacks of a kind of watch: its items, and its start (a watcher whose
    task was cancelled before the start came is destroyed with @p destroy)."""

    def on_item(watcher: Optional[int], item: Optional[int], closure: Optional[int]) -> None:
        try:
            rt.enter_callback()
            try:
                watch = rt.lookup(closure)
                if watch is not None:
                    watch._queue.put_nowait(watch._item(item) if item else None)
            finally:
                rt.leave_callback()
        except BaseException:  # pragma: no cover
            rt.log.exception("swiftnats.aio: a %s callback raised", kind)

    def on_started(owner: Optional[int], status: int, watcher: Optional[int], closure: Optional[int]) -> None:
        try:
            rt.enter_callback()
            try:
                watch = rt.lookup(closure)
                if watch is None:  # its task was cancelled before the start came: nobody takes it
                    if watcher:
                        destroy(watcher)
                    return
                watch._started_with(status, watcher)
            finally:
                rt.leave_callback()
        except BaseException:  # pragma: no cover
            rt.log.exception("swiftnats.aio: starting a %s raised", kind)

    return item_type(on_item), started_type(on_started)
