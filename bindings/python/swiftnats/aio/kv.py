"""Key-Value buckets for asyncio (``await js.create_key_value()``, ``await js.key_value()``),
with nats.py's names. Every call is a coroutine whose outcome the library's completion brings
to the loop (no thread waits); a watch's entries come as callbacks on the loop.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Union

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
from ..errors import SwiftNatsError, library_error
from ..kv import BucketStatus, Entry, _translated, bucket_handle, kv_check, watch_options
from ._buckets import BucketKind
from ._handlers import settle
from ._watch import LoopWatcher, watch_thunks

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
                try:
                    result, error = outcome()
                except BaseException as failure:  # the outcome unreadable: the awaiting task gets why
                    result, error = None, failure
                settle(future, result, error)
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover
        rt.log.exception("swiftnats.aio: a Key-Value completion raised")


#: how a Key-Value bucket opens without blocking
KV_BUCKETS = BucketKind(lambda *args: lib.snats_kv_bucket_create_async(*args),
                        lambda *args: lib.snats_kv_bucket_bind_async(*args),
                        bucket_handle, _failure).with_thunk(KV_BUCKET_HANDLER)


_REVISION_THUNK = KV_REVISION_HANDLER(_on_revision)
_ENTRY_THUNK = KV_ENTRY_HANDLER(_on_entry)
_ENTRIES_THUNK = KV_ENTRIES_HANDLER(_on_entries)
_WATCH_THUNK, _WATCH_STARTED_THUNK = watch_thunks(KV_WATCH_HANDLER, KV_WATCH_STARTED_HANDLER,
                                                  lambda watcher: lib.snats_kv_watcher_destroy(watcher), "watch")


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


class KeyWatcher(LoopWatcher[Entry]):
    """An asyncio watch (nats.py's ``KeyWatcher``): :meth:`updates`, ``async for``, :meth:`stop`."""

    _destroy = staticmethod(lambda watcher: lib.snats_kv_watcher_destroy(watcher))
    _kind = "kv-watcher"

    @classmethod
    async def _start(cls, kv: KeyValue, options: Dict[str, Any]) -> "KeyWatcher":
        """Starts the watch without blocking the loop: its consumer is made while the loop goes
        on (entries may be queued before it returns)."""
        def start(key: int) -> None:
            with kv._handle.use() as ptr:
                with_json(options, lambda doc: kv_check(lib.snats_kv_watch_async(
                    ptr, None, doc, _WATCH_THUNK, _WATCH_STARTED_THUNK, key)))

        return await cls._begin(kv._loop, start)

    def _item(self, pointer: int) -> Entry:
        return Entry._of(pointer)

    def _failure(self, status: int) -> SwiftNatsError:
        return _failure(status)
