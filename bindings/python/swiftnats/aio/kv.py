"""Key-Value buckets for asyncio (``await js.create_key_value()``, ``await js.key_value()``),
with nats.py's names. Every call is a coroutine whose outcome the library's completion brings
to the loop (no thread waits); a watch's entries come as callbacks on the loop.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Dict, List, Optional, Sequence, Union

from .. import _runtime as rt
from .._json import call_with_json_outcome
from .._lib import (
    KV_BUCKET_HANDLER,
    KV_ENTRIES_HANDLER,
    KV_ENTRY_HANDLER,
    KV_REVISION_HANDLER,
    KV_WATCH_HANDLER,
    KV_WATCH_STARTED_HANDLER,
    lib,
)
from .._jsapi import with_json
from ..errors import ConnectionClosedError, SwiftNatsError, TimeoutError, library_error
from ..kv import BucketStatus, Entry, _translated, bucket_handle, kv_check, watch_options
from ._handlers import settle

if TYPE_CHECKING:  # pragma: no cover
    from .jetstream import JetStreamContext

__all__ = ["KeyValue", "KeyWatcher"]


def _failure(status: int) -> SwiftNatsError:
    return _translated(library_error(status))


def _on_revision(kv: Optional[int], status: int, revision: int, closure: Optional[int]) -> None:
    _complete(closure, lambda: (revision, None) if status == 0 else (None, _failure(status)))


def _on_entry(kv: Optional[int], status: int, entry: Optional[int], closure: Optional[int]) -> None:
    _complete(closure, lambda: (Entry._of(entry), None) if status == 0 and entry else (None, _failure(status)))


def _on_entries(kv: Optional[int], status: int, entries: Any, count: int, closure: Optional[int]) -> None:
    _complete(closure, lambda: ([Entry._of(int(entries[index] or 0)) for index in range(count)], None) if status == 0
              else (None, _failure(status)))


def _complete(closure: Optional[int], outcome: Callable[[], Any]) -> None:
    """Settles the future registered under @p closure (on the loop's thread: the connection's
    dispatch queue); a bug here is logged, never silent."""
    try:
        rt.enter_callback()
        try:
            future = rt.lookup(closure)
            rt.unregister(closure)
            if future is not None:
                result, error = outcome()
                settle(future, result, error)
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover
        rt.log.exception("swiftnats.aio: a Key-Value completion raised")


def _on_opened(js: Optional[int], status: int, kv: Optional[int], closure: Optional[int]) -> None:
    """A bucket opened without waiting: its handle to the future, or (nobody waits any more)
    closed at once."""
    try:
        rt.enter_callback()
        try:
            future = rt.lookup(closure)
            rt.unregister(closure)
            handle = bucket_handle(kv) if status == 0 and kv else None
            if future is None or future.done():
                if handle is not None:
                    handle.close()
            elif handle is not None:
                settle(future, handle, None)
            else:
                settle(future, None, _failure(status))
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover
        rt.log.exception("swiftnats.aio: opening a bucket raised")


async def open_bucket(js: "JetStreamContext", bucket: str, config: Optional[Dict[str, Any]]) -> rt.Handle:
    """Creates (@p config given) or binds a bucket without blocking the loop; its handle."""
    future: "asyncio.Future[rt.Handle]" = js._loop.create_future()
    key = rt.register(future)
    try:
        with js._handle.use() as ptr:
            if config is None:
                kv_check(lib.snats_kv_bucket_bind_async(ptr, rt.text_arg(bucket, "bucket"), _OPENED_THUNK, key))
            else:
                with_json(config, lambda doc: kv_check(
                    lib.snats_kv_bucket_create_async(ptr, rt.text_arg(bucket, "bucket"), doc, _OPENED_THUNK, key)))
    except BaseException:
        rt.unregister(key)
        raise
    try:
        return await future
    except asyncio.CancelledError:
        # Cancelled after the bucket came (the task had not resumed yet): nobody takes it.
        if future.done() and not future.cancelled() and future.exception() is None:
            future.result().close()
        raise


def _on_watch(watcher: Optional[int], entry: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            watch = rt.lookup(closure)
            if watch is not None:
                watch._queue.put_nowait(Entry._of(entry) if entry else None)
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover
        rt.log.exception("swiftnats.aio: a watch callback raised")


def _on_watch_started(kv: Optional[int], status: int, watcher: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            watch = rt.lookup(closure)
            if watch is None:  # its task was cancelled before the start came: nobody takes it
                if watcher:
                    lib.snats_kv_watcher_destroy(watcher)
                return
            watch._started_with(status, watcher)
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover
        rt.log.exception("swiftnats.aio: starting a watch raised")


#: put in a watch's queue by stop(): the end, for the tasks waiting
_STOPPED: Any = object()

_REVISION_THUNK = KV_REVISION_HANDLER(_on_revision)
_ENTRY_THUNK = KV_ENTRY_HANDLER(_on_entry)
_ENTRIES_THUNK = KV_ENTRIES_HANDLER(_on_entries)
_WATCH_THUNK = KV_WATCH_HANDLER(_on_watch)
_WATCH_STARTED_THUNK = KV_WATCH_STARTED_HANDLER(_on_watch_started)
_OPENED_THUNK = KV_BUCKET_HANDLER(_on_opened)


class KeyValue:
    """A bucket, asyncio: as :class:`swiftnats.kv.KeyValue`, every call awaited."""

    def __init__(self, js: "JetStreamContext", bucket: str, handle: rt.Handle) -> None:
        """Made by ``await js.key_value()`` / ``await js.create_key_value()`` (:func:`open_bucket`)."""
        self._js = js
        self.bucket = bucket
        self._loop = js._loop
        self._handle = handle

    def close(self) -> None:
        self._handle.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    async def _await(self, start: Callable[[int, int], int]) -> Any:
        future: "asyncio.Future[Any]" = self._loop.create_future()
        key = rt.register(future)
        try:
            with self._handle.use() as kv:
                kv_check(start(kv, key))
        except BaseException:
            rt.unregister(key)
            raise
        return await future

    async def put(self, key: str, value: bytes) -> int:
        data, size = rt.payload_arg(value)
        revision: int = await self._await(
            lambda kv, k: lib.snats_kv_put_async(kv, rt.text_arg(key, "key"), data, size, _REVISION_THUNK, k))
        return revision

    async def create(self, key: str, value: bytes) -> int:
        data, size = rt.payload_arg(value)
        revision: int = await self._await(
            lambda kv, k: lib.snats_kv_create_async(kv, rt.text_arg(key, "key"), data, size, _REVISION_THUNK, k))
        return revision

    async def update(self, key: str, value: bytes, last: Optional[int] = None) -> int:
        data, size = rt.payload_arg(value)
        revision: int = await self._await(lambda kv, k: lib.snats_kv_update_async(
            kv, rt.text_arg(key, "key"), data, size, last or 0, _REVISION_THUNK, k))
        return revision

    async def delete(self, key: str, last: Optional[int] = None) -> bool:
        await self._await(lambda kv, k: lib.snats_kv_delete_async(kv, rt.text_arg(key, "key"), last or 0, False,
                                                                  _REVISION_THUNK, k))
        return True

    async def purge(self, key: str, last: Optional[int] = None) -> bool:
        await self._await(lambda kv, k: lib.snats_kv_delete_async(kv, rt.text_arg(key, "key"), last or 0, True,
                                                                  _REVISION_THUNK, k))
        return True

    async def get(self, key: str, revision: Optional[int] = None) -> Entry:
        entry: Entry = await self._await(
            lambda kv, k: lib.snats_kv_get_async(kv, rt.text_arg(key, "key"), revision or 0, _ENTRY_THUNK, k))
        return entry

    async def history(self, key: str) -> List[Entry]:
        entries: List[Entry] = await self._await(
            lambda kv, k: lib.snats_kv_history_async(kv, rt.text_arg(key, "key"), _ENTRIES_THUNK, k))
        return entries

    async def _json(self, start: Callable[[int, Any, int], int]) -> Any:
        """A call whose answer is JSON (keys, status), its errors in the KV spelling."""
        future: "asyncio.Future[Any]" = self._loop.create_future()
        try:
            with self._handle.use() as kv:
                call_with_json_outcome(lambda thunk, k: start(kv, thunk, k), functools.partial(settle, future))
            return await future
        except SwiftNatsError as error:
            raise _translated(error) from None

    async def keys(self, filters: Optional[Union[str, List[str]]] = None) -> List[str]:
        if isinstance(filters, list) and len(filters) > 1:
            found = set()
            for one in filters:
                found.update(await self.keys(one))
            return sorted(found)
        pattern = filters[0] if isinstance(filters, list) and filters else filters
        arg = rt.optional_text_arg(pattern if isinstance(pattern, str) else None, "filter")
        keys: List[str] = await self._json(lambda kv, thunk, k: lib.snats_kv_keys_async(kv, arg, thunk, k))
        return keys

    async def status(self) -> BucketStatus:
        return BucketStatus.of(await self._json(lambda kv, thunk, k: lib.snats_kv_status_async(kv, thunk, k)))

    async def watch(self, keys: Union[str, Sequence[str], None] = None, *, include_history: bool = False,
                    ignore_deletes: bool = False, meta_only: bool = False, updates_only: bool = False) -> "KeyWatcher":
        """Watches keys: their values, then None once, then changes (``await w.updates()``, or
        ``async for entry in w``)."""
        return await KeyWatcher._start(self, watch_options(keys, include_history, ignore_deletes, meta_only, updates_only))

    async def watchall(self, **options: Any) -> "KeyWatcher":
        return await self.watch(None, **options)


class KeyWatcher:
    """An asyncio watch (nats.py's ``KeyWatcher``): :meth:`updates`, ``async for``, :meth:`stop`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Made by :meth:`KeyValue.watch`."""
        self._queue: "asyncio.Queue[Any]" = asyncio.Queue()
        self._started: "asyncio.Future[None]" = loop.create_future()
        self._stopped = False
        self._handle: Optional[rt.Handle] = None
        # Registered until the watch stops: the entries and the start both come through it.
        self._key = rt.register(self)

    @classmethod
    async def _start(cls, kv: KeyValue, options: Dict[str, Any]) -> "KeyWatcher":
        """Starts the watch without blocking the loop: its consumer is made while the loop goes
        on (entries may be queued before it returns)."""
        watch = cls(kv._loop)
        try:
            with kv._handle.use() as ptr:
                with_json(options, lambda doc: kv_check(lib.snats_kv_watch_async(
                    ptr, None, doc, _WATCH_THUNK, _WATCH_STARTED_THUNK, watch._key)))
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
            self._handle = rt.Handle(watcher, lib.snats_kv_watcher_destroy,
                                     lambda: ConnectionClosedError("the watch is stopped"), "kv-watcher")
            if self._stopped:  # its task was cancelled meanwhile
                self._handle.close()
            elif not self._started.done():
                self._started.set_result(None)
            return
        rt.unregister(self._key)
        if not self._started.done():
            self._started.set_exception(_failure(status))

    async def updates(self, timeout: float = 5.0) -> Optional[Entry]:
        """The next entry, or None for the marker after the initial values. Raises TimeoutError,
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
        entry: Optional[Entry] = item
        return entry

    def __aiter__(self) -> AsyncIterator[Optional[Entry]]:
        return self._entries()

    async def _entries(self) -> AsyncIterator[Optional[Entry]]:
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
