"""Object Store buckets for asyncio (``await js.create_object_store()``): the calls of
:class:`swiftnats.obj.ObjectStore` as coroutines. A put or get moves a whole object through a
reader or writer, chunk by chunk, so it runs on the loop's default executor (a worker thread
of the loop's own pool) while the loop goes on; watches deliver on the loop.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, AsyncIterator, BinaryIO, Callable, List, Optional, TypeVar, Union

from .._jsapi import Info
from ..errors import SwiftNatsError, TimeoutError
from ..obj import ObjectResult, ObjectStore as _SyncObjectStore, ObjectWatcher as _SyncObjectWatcher

__all__ = ["ObjectStore", "ObjectWatcher"]

_T = TypeVar("_T")


class ObjectStore:
    """An object bucket, asyncio: as :class:`swiftnats.obj.ObjectStore`, every call awaited."""

    def __init__(self, store: _SyncObjectStore, loop: asyncio.AbstractEventLoop) -> None:
        self._store = store
        self._loop = loop
        self.bucket = store.bucket

    async def _run(self, call: Callable[[], _T]) -> _T:
        return await self._loop.run_in_executor(None, call)

    async def put(self, name: str, data: Union[bytes, bytearray, memoryview, str, BinaryIO], meta: Any = None) -> Info:
        return await self._run(functools.partial(self._store.put, name, data, meta))

    async def get(self, name: str, writeinto: Optional[BinaryIO] = None) -> ObjectResult:
        return await self._run(functools.partial(self._store.get, name, writeinto))

    async def get_info(self, name: str, show_deleted: bool = False) -> Info:
        return await self._run(functools.partial(self._store.get_info, name, show_deleted))

    info = get_info

    async def delete(self, name: str) -> bool:
        return await self._run(functools.partial(self._store.delete, name))

    async def list(self, ignore_deletes: bool = False) -> List[Info]:
        return await self._run(functools.partial(self._store.list, ignore_deletes))

    async def add_link(self, name: str, target: Info) -> Info:
        return await self._run(functools.partial(self._store.add_link, name, target))

    async def add_bucket_link(self, name: str, bucket: str) -> Info:
        return await self._run(functools.partial(self._store.add_bucket_link, name, bucket))

    async def status(self) -> Info:
        return await self._run(self._store.status)

    async def watch(self, include_history: bool = False, ignore_deletes: bool = False,
                    updates_only: bool = False) -> "ObjectWatcher":
        watcher = await self._run(functools.partial(self._store.watch, include_history, ignore_deletes, updates_only))
        return ObjectWatcher(watcher, self._loop)

    def close(self) -> None:
        self._store.close()


class ObjectWatcher:
    """An asyncio watch of the objects' infos: ``await updates()`` (None once after the current
    ones), ``async for``, ``await stop()``."""

    def __init__(self, watcher: _SyncObjectWatcher, loop: asyncio.AbstractEventLoop) -> None:
        self._watcher = watcher
        self._loop = loop
        self._stopped = False

    async def updates(self, timeout: float = 5.0) -> Optional[Info]:
        return await self._loop.run_in_executor(None, functools.partial(self._watcher.updates, timeout))

    def __aiter__(self) -> AsyncIterator[Optional[Info]]:
        return self._infos()

    async def _infos(self) -> AsyncIterator[Optional[Info]]:
        while not self._stopped:
            try:
                yield await self.updates(1.0)
            except TimeoutError:
                continue
            except SwiftNatsError:  # stopped, or its connection closed
                return

    async def stop(self) -> None:
        self._stopped = True
        self._watcher.stop()

