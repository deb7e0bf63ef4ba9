"""Object Store buckets for asyncio (``await js.create_object_store()``,
``await js.object_store()``), with nats.py's names. Every call is a coroutine whose outcome the
library's completion brings to the loop: no thread waits, and no executor is used. A put's
reader and a get's writer run on the loop too, chunk by chunk, as the acks and chunks come
(a file object given to them is read or written there, as nats.py does)."""

from __future__ import annotations

import asyncio
import ctypes
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, List, Optional, Union

from .. import _runtime as rt
from .._json import call_with_json_outcome, json_value
from .._jsapi import Info, with_json
from .._lib import JSON_HANDLER, OBJ_BUCKET_HANDLER, OBJ_WATCH_HANDLER, OBJ_WATCH_STARTED_HANDLER, OBJ_WRITER, lib
from ..errors import SwiftNatsError, library_error
from ..obj import _READ_THUNK, ObjectResult, _meta, _Reader, _Writer, object_error, object_handle, status_info
from ._buckets import BucketKind
from ._handlers import settle
from ._watch import LoopWatcher, watch_thunks

if TYPE_CHECKING:  # pragma: no cover
    from .jetstream import JetStreamContext

__all__ = ["ObjectStore", "ObjectWatcher"]


def _failure(status: int) -> SwiftNatsError:
    return object_error(library_error(status))


#: how an object bucket opens without blocking
OBJECT_BUCKETS = BucketKind(lambda *args: lib.snats_obj_bucket_create_async(*args),
                            lambda *args: lib.snats_obj_bucket_bind_async(*args),
                            object_handle, _failure).with_thunk(OBJ_BUCKET_HANDLER)


class _Transfer:
    """A put's reader (bytes or a file object) or a get's writer, and the future of its
    outcome: the info, or the reader's or writer's own exception, or the library's failure."""

    def __init__(self, future: "asyncio.Future[Info]", reader: Optional[_Reader] = None,
                 writer: Optional[_Writer] = None) -> None:
        self.future = future
        self.reader = reader
        self.writer = writer

    def read(self, buffer: int, capacity: int) -> int:
        return self.reader.read(buffer, capacity) if self.reader is not None else -1

    def write(self, data: bytes) -> int:
        if self.writer is None:
            return 1
        try:
            self.writer(data)
            return 0
        except BaseException as error:  # reported as the get's outcome, which stops
            self.writer.error = error
            return 1

    def done(self, status: int, value: Optional[int]) -> None:
        own = (self.reader.error if self.reader is not None else None) or \
            (self.writer.error if self.writer is not None else None)
        if own is not None:
            settle(self.future, None, own)
        elif status == 0:
            settle(self.future, Info(json_value(value)), None)
        else:
            settle(self.future, None, _failure(status))


def _on_chunk(data: Optional[int], length: int, closure: Optional[int]) -> int:
    """A get's chunk to its writer; anything but 0 stops the get (an exception escaping here
    would read as 0, "go on", and lose the chunk)."""
    try:
        rt.enter_callback()
        try:
            transfer = rt.lookup(closure)
            if transfer is None:
                return 1
            try:
                chunk = ctypes.string_at(data or 0, length) if length else b""
            except BaseException as error:
                if transfer.writer is not None:
                    transfer.writer.error = error
                return 1
            written: int = transfer.write(chunk)
            return written
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover
        rt.log.exception("swiftnats.aio: an object chunk's callback raised")
        return 1


def _on_transfer_done(status: int, value: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            transfer = rt.lookup(closure)
            rt.unregister(closure)  # called once, after the last read or write
            if transfer is not None:
                try:
                    transfer.done(status, value)
                except BaseException as error:  # the info unreadable: the awaiting task gets why
                    settle(transfer.future, None, error)
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover
        rt.log.exception("swiftnats.aio: an object transfer's completion raised")


_CHUNK_THUNK = OBJ_WRITER(_on_chunk)
_DONE_THUNK = JSON_HANDLER(_on_transfer_done)


class ObjectStore:
    """An object bucket, asyncio: as :class:`swiftnats.obj.ObjectStore`, every call awaited."""

    def __init__(self, js: "JetStreamContext", bucket: str, handle: rt.Handle) -> None:
        """Made by ``await js.object_store()`` / ``await js.create_object_store()``."""
        self._js = js
        self._loop = js._loop
        self.bucket = bucket
        self._handle = handle

    def close(self) -> None:
        self._handle.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    async def _transfer(self, transfer: _Transfer, start: Callable[[int, int], int]) -> Info:
        key = rt.register(transfer)
        try:
            with self._handle.use() as obs:
                status = start(obs, key)
            if status != 0:
                raise _failure(status)
        except BaseException:
            rt.unregister(key)
            raise
        return await transfer.future

    async def put(self, name: str, data: Union[bytes, bytearray, memoryview, str, BinaryIO], meta: Any = None) -> Info:
        """Stores @p data (bytes, str, or a binary file object read until its end) as @p name,
        in chunks; replaces an object of that name. Returns its info."""
        transfer = _Transfer(self._loop.create_future(), reader=_Reader(data))

        def start(obs: int, key: int) -> int:
            status: int = with_json(_meta(name, meta), lambda doc: lib.snats_obj_put_async(obs, doc, _READ_THUNK, _DONE_THUNK, key))
            return status

        return await self._transfer(transfer, start)

    async def get(self, name: str, writeinto: Optional[BinaryIO] = None) -> ObjectResult:
        """Reads @p name (following a link), checking its size and digest: the bytes, or
        written into @p writeinto chunk by chunk. Raises ObjectNotFoundError."""
        writer = _Writer(writeinto)
        transfer = _Transfer(self._loop.create_future(), writer=writer)
        arg = rt.text_arg(name, "name")
        info = await self._transfer(transfer, lambda obs, key: lib.snats_obj_get_async(obs, arg, _CHUNK_THUNK, _DONE_THUNK, key))
        return ObjectResult(info=info, data=None if writeinto is not None else b"".join(writer.parts))

    async def _json(self, start: Callable[[int, Any, int], int]) -> Any:
        """A call whose answer is JSON, its errors in the Object Store spelling."""
        future: "asyncio.Future[Any]" = self._loop.create_future()
        try:
            with self._handle.use() as obs:
                call_with_json_outcome(lambda thunk, key: start(obs, thunk, key), lambda value, error: settle(
                    future, value, object_error(error) if isinstance(error, SwiftNatsError) else error))
        except SwiftNatsError as error:
            raise object_error(error) from None
        return await future

    async def get_info(self, name: str, show_deleted: bool = False) -> Info:
        """An object's info. Raises ObjectNotFoundError."""
        arg = rt.text_arg(name, "name")
        return Info(await self._json(lambda obs, thunk, key: lib.snats_obj_info_async(obs, arg, show_deleted, thunk, key)))

    info = get_info

    async def delete(self, name: str) -> bool:
        arg = rt.text_arg(name, "name")
        await self._json(lambda obs, thunk, key: lib.snats_obj_delete_async(obs, arg, thunk, key))
        return True

    async def list(self, ignore_deletes: bool = False) -> List[Info]:
        """The objects' infos (deleted ones too unless @p ignore_deletes, as nats.py)."""
        docs = await self._json(lambda obs, thunk, key: lib.snats_obj_list_async(obs, not ignore_deletes, thunk, key))
        return [Info(doc) for doc in docs]

    async def add_link(self, name: str, target: Info) -> Info:
        """Adds @p name as a link to the object whose info is @p target."""
        arg = rt.text_arg(name, "name")

        def start(obs: int, thunk: Any, key: int) -> int:
            status: int = with_json(dict(target), lambda doc: lib.snats_obj_add_link_async(obs, arg, doc, thunk, key))
            return status

        return Info(await self._json(start))

    async def add_bucket_link(self, name: str, bucket: str) -> Info:
        arg, target = rt.text_arg(name, "name"), rt.text_arg(bucket, "bucket")
        return Info(await self._json(lambda obs, thunk, key: lib.snats_obj_add_bucket_link_async(obs, arg, target, thunk, key)))

    async def status(self) -> Info:
        """As :meth:`swiftnats.obj.ObjectStore.status`."""
        return status_info(await self._json(lambda obs, thunk, key: lib.snats_obj_status_async(obs, thunk, key)))

    async def watch(self, include_history: bool = False, ignore_deletes: bool = False,
                    updates_only: bool = False) -> "ObjectWatcher":
        """Watches the objects' infos: the current ones, None once, then each change."""
        options = {"include_history": include_history, "ignore_deletes": ignore_deletes, "updates_only": updates_only}

        def start(key: int) -> None:
            with self._handle.use() as obs:
                with_json(options, lambda doc: _check_start(lib.snats_obj_watch_async(
                    obs, doc, _WATCH_THUNK, _WATCH_STARTED_THUNK, key)))

        return await ObjectWatcher._begin(self._loop, start)


def _check_start(status: int) -> None:
    if status != 0:
        raise _failure(status)


class ObjectWatcher(LoopWatcher[Info]):
    """An asyncio watch of the objects' infos: ``await updates()`` (None once after the current
    ones), ``async for``, ``await stop()``."""

    _destroy = staticmethod(lambda watcher: lib.snats_obj_watcher_destroy(watcher))
    _kind = "obj-watcher"

    def _item(self, pointer: int) -> Info:
        return Info(json_value(pointer))

    def _failure(self, status: int) -> SwiftNatsError:
        return _failure(status)


_WATCH_THUNK, _WATCH_STARTED_THUNK = watch_thunks(OBJ_WATCH_HANDLER, OBJ_WATCH_STARTED_HANDLER,
                                                  lambda watcher: lib.snats_obj_watcher_destroy(watcher), "watch")
