"""Object Store buckets (``js.create_object_store()``, ``js.object_store()``) with nats.py's
names. The layout, chunks and digest are nats.go's and nats.py's (the library's
``snats_obj_*``), so an object put here is read there and the reverse::

    obs = js.create_object_store(bucket="files")
    obs.put("report.pdf", open("report.pdf", "rb"))     # bytes, str, or a binary file object
    result = obs.get("report.pdf")                      # result.info, result.data
    with open("copy.pdf", "wb") as out:
        obs.get("report.pdf", writeinto=out)            # streamed, chunk by chunk
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, BinaryIO, Dict, List, Optional, Union

from . import _runtime as rt
from ._json import json_value
from ._jsapi import Info, bucket_settings, take_json, with_json
from ._lib import OBJ_READER, OBJ_WATCH_HANDLER, OBJ_WRITER, lib
from ._watch import Watcher
from .errors import ConnectionClosedError, MsgNotFoundError, SwiftNatsError, library_error
from .kv import kv_check

__all__ = ["ObjectStore", "ObjectResult", "ObjectWatcher", "ObjectNotFoundError"]

_NANOS = 1_000_000_000


class ObjectNotFoundError(MsgNotFoundError):
    """No such object (or it was deleted)."""


@dataclass
class ObjectResult:
    """What ``get`` returns (nats.py's ``ObjectResult``): the info, and the bytes unless they
    were written into a file."""

    info: Info
    data: Optional[bytes] = None


def object_error(error: SwiftNatsError) -> SwiftNatsError:
    """The KV spellings of the JetStream errors, and ObjectNotFoundError for a missing object."""
    from .kv import KeyNotFoundError, _translated  # noqa: PLC0415

    translated = _translated(error)
    if isinstance(translated, KeyNotFoundError):
        return ObjectNotFoundError(translated.description, status=translated.status, code=translated.code,
                                   err_code=translated.err_code)
    return translated


def _check(status: int) -> None:
    if status != 0:
        raise object_error(library_error(status)) from None


def object_handle(pointer: int) -> rt.Handle:
    """The handle of an owned ``snats_obj *``."""
    return rt.Handle(pointer, lib.snats_obj_destroy, lambda: ConnectionClosedError("the object store handle is closed"), "obs")


def _meta(name: str, meta: Any) -> Dict[str, Any]:
    """The library's meta from nats.py's ``ObjectMeta`` (or a dict): name, description,
    headers, metadata, chunk size (``options.max_chunk_size``)."""
    doc: Dict[str, Any] = {"name": name}
    if meta is None:
        return doc
    source = meta.as_dict() if hasattr(meta, "as_dict") else dict(meta) if isinstance(meta, dict) else vars(meta)
    if source.get("description") is not None:
        doc["description"] = source["description"]
    headers = source.get("headers")
    if headers:
        doc["headers"] = {key: (value if isinstance(value, list) else [value]) for key, value in dict(headers).items()}
    if source.get("metadata"):
        doc["metadata"] = dict(source["metadata"])
    options = source.get("options")
    size = (options.get("max_chunk_size") if isinstance(options, dict) else getattr(options, "max_chunk_size", None)) \
        if options is not None else source.get("chunk_size")
    if size:
        doc["chunk_size"] = int(size)
    return doc


class _Reader:
    """Feeds a put from bytes or a binary file object, in the library's buffer."""

    def __init__(self, data: Union[bytes, bytearray, memoryview, str, BinaryIO]) -> None:
        if isinstance(data, str):
            data = data.encode()
        self._bytes = memoryview(data) if isinstance(data, (bytes, bytearray, memoryview)) else None
        self._file = None if self._bytes is not None else data
        self._offset = 0
        self.error: Optional[BaseException] = None

    def read(self, buffer: int, capacity: int) -> int:
        try:
            chunk: Any
            if self._bytes is not None:
                chunk = self._bytes[self._offset:self._offset + capacity]
                self._offset += len(chunk)
            else:
                chunk = self._file.read(capacity)  # type: ignore[union-attr]
                if chunk is not None and len(chunk) > capacity:
                    raise ValueError(f"read({capacity}) returned {len(chunk)} bytes")
            if chunk:
                ctypes.memmove(buffer, bytes(chunk), len(chunk))
            return len(chunk)
        except BaseException as error:  # reported after the put, which fails with SNATS_IO_ERROR
            self.error = error
            return -1


def _on_read(buffer: Optional[int], capacity: int, closure: Optional[int]) -> int:
    reader = rt.lookup(closure)
    return reader.read(buffer or 0, capacity) if reader is not None else -1


def _on_write(data: Optional[int], length: int, closure: Optional[int]) -> int:
    writer = rt.lookup(closure)
    if writer is None:
        return 1
    try:
        writer(ctypes.string_at(data or 0, length) if length else b"")
        return 0
    except BaseException as error:
        writer.error = error
        return 1


_READ_THUNK = OBJ_READER(_on_read)
_WRITE_THUNK = OBJ_WRITER(_on_write)


class _Writer:
    def __init__(self, target: Any) -> None:
        self._target = target
        self.parts: List[bytes] = []
        self.error: Optional[BaseException] = None

    def __call__(self, data: bytes) -> None:
        if self._target is None:
            self.parts.append(data)
        else:
            self._target.write(data)


def status_info(doc: Dict[str, Any]) -> Info:
    """A bucket's status as the library gives it, ``ttl`` in seconds and the stream's info."""
    doc["ttl"] = doc.get("ttl", 0) / _NANOS
    doc["info"] = Info.of(doc.get("info") or {})
    return Info(doc)


_BUCKET_SETTINGS = frozenset({"description", "ttl", "max_bytes", "storage", "replicas", "compression", "metadata"})


def object_config(bucket: Optional[str], config: Any, params: Dict[str, Any]) -> "tuple[str, Dict[str, Any]]":
    """The bucket name and the library's settings from nats.py's forms (``ttl`` in seconds)."""
    return bucket_settings(bucket, config, params, _BUCKET_SETTINGS)


class ObjectStore:
    """A bucket of objects. Thread-safe; calls block for their transfer."""

    def __init__(self, js: Any, bucket: str, config: Optional[Dict[str, Any]] = None) -> None:
        """@p js: a JetStream context (sync or asyncio: only its handle is used)."""
        self._js = js
        self.bucket = bucket
        out = ctypes.c_void_p()
        with js._handle.use() as ptr:
            if config is None:
                kv_check(lib.snats_obj_bucket_bind(ctypes.byref(out), ptr, bucket.encode()))
            else:
                with_json(config, lambda doc: kv_check(lib.snats_obj_bucket_create(ctypes.byref(out), ptr, bucket.encode(), doc)))
        self._handle = object_handle(rt.out_ptr(out, "object store"))

    def close(self) -> None:
        self._handle.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    def put(self, name: str, data: Union[bytes, bytearray, memoryview, str, BinaryIO], meta: Any = None) -> Info:
        """Stores @p data (bytes, str, or a binary file object read until its end) as @p name,
        in chunks; replaces an object of that name. Returns its info."""
        reader = _Reader(data)
        key = rt.register(reader)
        out = ctypes.c_void_p()
        try:
            with self._handle.use() as obs:
                status = with_json(_meta(name, meta), lambda doc: lib.snats_obj_put(ctypes.byref(out), obs, doc, _READ_THUNK, key))
        finally:
            rt.unregister(key)
        if reader.error is not None:
            raise reader.error
        _check(status)
        return self._take_info(out)

    def get(self, name: str, writeinto: Optional[BinaryIO] = None) -> ObjectResult:
        """Reads @p name (following a link), checking its size and digest: the bytes, or
        written into @p writeinto chunk by chunk. Raises ObjectNotFoundError."""
        writer = _Writer(writeinto)
        key = rt.register(writer)
        out = ctypes.c_void_p()
        try:
            with self._handle.use() as obs:
                status = lib.snats_obj_get(ctypes.byref(out), obs, rt.text_arg(name, "name"), _WRITE_THUNK, key)
        finally:
            rt.unregister(key)
        if writer.error is not None:
            raise writer.error
        _check(status)
        info = self._take_info(out)
        return ObjectResult(info=info, data=None if writeinto is not None else b"".join(writer.parts))

    def _take_info(self, out: ctypes.c_void_p) -> Info:
        try:
            return Info(json_value(out.value))
        finally:
            lib.snats_json_decref(out.value)

    def get_info(self, name: str, show_deleted: bool = False) -> Info:
        """An object's info. Raises ObjectNotFoundError."""
        out = ctypes.c_void_p()
        with self._handle.use() as obs:
            _check(lib.snats_obj_info(ctypes.byref(out), obs, rt.text_arg(name, "name"), show_deleted))
        return self._take_info(out)

    info = get_info

    def delete(self, name: str) -> bool:
        with self._handle.use() as obs:
            _check(lib.snats_obj_delete(obs, rt.text_arg(name, "name")))
        return True

    def list(self, ignore_deletes: bool = False) -> List[Info]:
        """The objects' infos (deleted ones too unless @p ignore_deletes, as nats.py)."""
        with self._handle.use() as obs:
            return [Info(doc) for doc in take_json(lambda out: lib.snats_obj_list(out, obs, not ignore_deletes))]

    def add_link(self, name: str, target: Info) -> Info:
        """Adds @p name as a link to the object whose info is @p target."""
        out = ctypes.c_void_p()
        with self._handle.use() as obs:
            with_json(dict(target), lambda doc: _check(lib.snats_obj_add_link(ctypes.byref(out), obs, rt.text_arg(name, "name"), doc)))
        return self._take_info(out)

    def add_bucket_link(self, name: str, bucket: str) -> Info:
        out = ctypes.c_void_p()
        with self._handle.use() as obs:
            _check(lib.snats_obj_add_bucket_link(ctypes.byref(out), obs, rt.text_arg(name, "name"), rt.text_arg(bucket, "bucket")))
        return self._take_info(out)

    def status(self) -> Info:
        """``bucket``, ``description``, ``ttl`` (seconds), ``storage``, ``replicas``, ``size``,
        ``sealed``, and the stream's ``info``."""
        out = ctypes.c_void_p()
        with self._handle.use() as obs:
            _check(lib.snats_obj_status(ctypes.byref(out), obs))
        try:
            return status_info(json_value(out.value))
        finally:
            lib.snats_json_decref(out.value)

    def watch(self, include_history: bool = False, ignore_deletes: bool = False,
              updates_only: bool = False) -> "ObjectWatcher":
        return ObjectWatcher(self, {"include_history": include_history, "ignore_deletes": ignore_deletes,
                                    "updates_only": updates_only})


class ObjectWatcher(Watcher[Info]):
    """A watch of the objects' infos: :meth:`updates` (None once after the current ones),
    iteration until stopped, :meth:`stop`, a context manager."""

    def __init__(self, store: ObjectStore, options: Dict[str, Any]) -> None:
        out = ctypes.c_void_p()
        with store._handle.use() as ptr:
            with_json(options, lambda doc: _check(lib.snats_obj_watch(ctypes.byref(out), ptr, doc, OBJ_WATCH_HANDLER(), None)))
        super().__init__(rt.out_ptr(out, "watcher"), _next_info, lib.snats_obj_watcher_stop,
                         lib.snats_obj_watcher_destroy, "obj-watcher")


def _next_info(watcher: int, timeout_ms: int) -> Optional[Info]:
    out = ctypes.c_void_p()
    _check(lib.snats_obj_watcher_next(ctypes.byref(out), watcher, timeout_ms))
    if not out.value:
        return None
    try:
        return Info(json_value(out.value))
    finally:
        lib.snats_json_decref(out.value)
