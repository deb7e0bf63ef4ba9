"""Key-Value buckets (``js.create_key_value()``, ``js.key_value()``) with nats.py's names. The
buckets are nats.go's and nats.py's layout (the library's ``snats_kv_*``), so a bucket written
here is read there and the reverse::

    kv = js.create_key_value(bucket="config", history=5)
    kv.put("db.host", b"10.0.0.1")
    kv.get("db.host").value            # b"10.0.0.1"
    with kv.watch("db.*") as watcher:
        for entry in watcher:            # current values, None, then changes
            ...
"""

from __future__ import annotations

import ctypes
import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Union

from . import _runtime as rt
from ._json import json_value
from ._jsapi import Info, bucket_settings, with_json
from ._lib import KV_WATCH_HANDLER, lib
from ._watch import Watcher
from .errors import (
    ConnectionClosedError,
    MsgNotFoundError,
    StreamNotFoundError,
    SwiftNatsError,
    WrongLastSequenceError,
    _check,
)

if TYPE_CHECKING:  # pragma: no cover
    from .jetstream import JetStreamContext

__all__ = ["KeyValue", "Entry", "KeyWatcher", "BucketStatus", "KeyNotFoundError", "KeyWrongLastSequenceError",
           "BucketNotFoundError"]

_NANOS = 1_000_000_000
_OPERATIONS = ("PUT", "DEL", "PURGE")


class KeyNotFoundError(MsgNotFoundError):
    """The key has no value: never written, deleted or purged (nats.py's ``KeyNotFoundError``)."""


class KeyWrongLastSequenceError(WrongLastSequenceError):
    """``create`` of a key that has a value, or ``update`` with another last revision."""


class BucketNotFoundError(StreamNotFoundError):
    """No such bucket."""


def _translated(error: SwiftNatsError) -> SwiftNatsError:
    """The KV spelling of a JetStream error (same status, codes and text)."""
    for source, target in ((StreamNotFoundError, BucketNotFoundError), (MsgNotFoundError, KeyNotFoundError),
                           (WrongLastSequenceError, KeyWrongLastSequenceError)):
        if isinstance(error, source):
            return target(error.description, status=error.status, code=error.code, err_code=error.err_code)
    return error


def kv_check(status: int) -> None:
    """``_check`` with the KV spellings of the errors."""
    try:
        _check(status)
    except SwiftNatsError as error:
        raise _translated(error) from None


@dataclass
class Entry:
    """One revision of a key (nats.py's ``KeyValue.Entry``). ``operation`` is "PUT", "DEL" or
    "PURGE"; ``delta`` how many later revisions were pending when a watch delivered it."""

    bucket: str
    key: str
    value: Optional[bytes]
    revision: int
    delta: int = 0
    created: Optional[datetime.datetime] = None
    operation: str = "PUT"

    @classmethod
    def _of(cls, handle: int) -> "Entry":
        length = lib.snats_kv_entry_value_len(handle)
        value = ctypes.string_at(lib.snats_kv_entry_value(handle), length) if length else b""
        nanos = lib.snats_kv_entry_created(handle)
        created = datetime.datetime.fromtimestamp(nanos // _NANOS, tz=datetime.timezone.utc).replace(
            microsecond=(nanos % _NANOS) // 1000) if nanos else None
        operation = lib.snats_kv_entry_operation(handle)
        return cls(bucket=(lib.snats_kv_entry_bucket(handle) or b"").decode(), key=(lib.snats_kv_entry_key(handle) or b"").decode(),
                   value=value, revision=lib.snats_kv_entry_revision(handle), delta=lib.snats_kv_entry_delta(handle),
                   created=created, operation=_OPERATIONS[operation] if 0 <= operation < 3 else "PUT")

    @classmethod
    def _take(cls, handle: int) -> "Entry":
        try:
            return cls._of(handle)
        finally:
            lib.snats_kv_entry_destroy(handle)


@dataclass
class BucketStatus:
    """A bucket's status (nats.py's ``KeyValue.BucketStatus``); ``ttl`` in seconds."""

    bucket: str
    values: int
    history: int
    ttl: float
    bytes: int
    backing_store: str
    is_compressed: bool
    stream_info: Info

    @classmethod
    def of(cls, doc: Dict[str, Any]) -> "BucketStatus":
        return cls(bucket=doc["bucket"], values=doc["values"], history=doc["history"], ttl=doc["ttl"] / _NANOS,
                   bytes=doc["bytes"], backing_store=doc["backing_store"], is_compressed=doc["is_compressed"],
                   stream_info=Info.of(doc["info"]))


_BUCKET_SETTINGS = frozenset({"history", "ttl", "max_value_size", "max_bytes", "storage", "replicas", "description",
                              "compression", "metadata"})


def bucket_config(config: Any, params: Dict[str, Any]) -> "tuple[str, Dict[str, Any]]":
    """The bucket name and the library's settings from nats.py's forms (``ttl`` in seconds)."""
    return bucket_settings(None, config, params, _BUCKET_SETTINGS)


def open_bucket(js: "Any", bucket: str, config: Optional[Dict[str, Any]]) -> rt.Handle:
    """Creates (@p config given) or binds a bucket; its handle."""
    out = ctypes.c_void_p()
    with js._handle.use() as ptr:
        if config is None:
            kv_check(lib.snats_kv_bucket_bind(ctypes.byref(out), ptr, bucket.encode()))
        else:
            with_json(config, lambda doc: kv_check(lib.snats_kv_bucket_create(ctypes.byref(out), ptr, bucket.encode(), doc)))
    return bucket_handle(rt.out_ptr(out, "bucket"))


def bucket_handle(pointer: int) -> rt.Handle:
    """The handle of an owned ``snats_kv *``."""
    return rt.Handle(pointer, lib.snats_kv_destroy, lambda: ConnectionClosedError("the bucket handle is closed"), "kv")


def watch_options(keys: Union[str, Sequence[str], None], include_history: bool, ignore_deletes: bool,
                  meta_only: bool, updates_only: bool) -> Dict[str, Any]:
    filters = [keys] if isinstance(keys, str) else list(keys or [">"])
    return {"keys": filters, "include_history": include_history, "ignore_deletes": ignore_deletes,
            "meta_only": meta_only, "updates_only": updates_only}


class KeyValue:
    """A bucket (``js.key_value()``, ``js.create_key_value()``). Thread-safe."""

    def __init__(self, js: "JetStreamContext", bucket: str, config: Optional[Dict[str, Any]] = None) -> None:
        self._js = js
        self.bucket = bucket
        self._handle = open_bucket(js, bucket, config)

    def close(self) -> None:
        self._handle.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    def _revision(self, call: Callable[[int, Any], int]) -> int:
        revision = ctypes.c_uint64()
        with self._handle.use() as kv:
            kv_check(call(kv, ctypes.byref(revision)))
        return revision.value

    def put(self, key: str, value: bytes) -> int:
        """Stores @p value; the new revision."""
        data, size = rt.payload_arg(value)
        return self._revision(lambda kv, out: lib.snats_kv_put(out, kv, rt.text_arg(key, "key"), data, size))

    def create(self, key: str, value: bytes) -> int:
        """Stores @p value only if @p key has none; KeyWrongLastSequenceError otherwise."""
        data, size = rt.payload_arg(value)
        return self._revision(lambda kv, out: lib.snats_kv_create(out, kv, rt.text_arg(key, "key"), data, size))

    def update(self, key: str, value: bytes, last: Optional[int] = None) -> int:
        """Stores @p value only if @p key's last revision is @p last (compare-and-set)."""
        data, size = rt.payload_arg(value)
        return self._revision(
            lambda kv, out: lib.snats_kv_update(out, kv, rt.text_arg(key, "key"), data, size, last or 0))

    def get(self, key: str, revision: Optional[int] = None) -> Entry:
        """The current value of @p key (or the one at @p revision); KeyNotFoundError when none."""
        out = ctypes.c_void_p()
        with self._handle.use() as kv:
            kv_check(lib.snats_kv_get(ctypes.byref(out), kv, rt.text_arg(key, "key"), revision or 0))
        return Entry._take(rt.out_ptr(out, "entry"))

    def delete(self, key: str, last: Optional[int] = None) -> bool:
        """Marks @p key deleted (its history stays); True."""
        with self._handle.use() as kv:
            kv_check(lib.snats_kv_delete(kv, rt.text_arg(key, "key"), last or 0))
        return True

    def purge(self, key: str, last: Optional[int] = None) -> bool:
        """Marks @p key purged, dropping its earlier revisions; True."""
        with self._handle.use() as kv:
            kv_check(lib.snats_kv_purge(kv, rt.text_arg(key, "key"), last or 0))
        return True

    def keys(self, filters: Optional[Union[str, List[str]]] = None) -> List[str]:
        """The keys with a value ([] when none), among @p filters (one: wildcards allowed)."""
        if isinstance(filters, list) and len(filters) > 1:
            return sorted({key for one in filters for key in self.keys(one)})
        pattern = filters[0] if isinstance(filters, list) and filters else filters
        arg = rt.optional_text_arg(pattern if isinstance(pattern, str) else None, "filter")
        out = ctypes.c_void_p()
        with self._handle.use() as kv:
            kv_check(lib.snats_kv_keys(ctypes.byref(out), kv, arg))
        try:
            found: List[str] = json_value(out.value)
            return found
        finally:
            lib.snats_json_decref(out.value)

    def history(self, key: str) -> List[Entry]:
        """Every revision kept of @p key, oldest first; KeyNotFoundError when none."""
        entries = ctypes.POINTER(ctypes.c_void_p)()
        count = ctypes.c_int()
        with self._handle.use() as kv:
            kv_check(lib.snats_kv_history(ctypes.byref(entries), ctypes.byref(count), kv, rt.text_arg(key, "key")))
        try:
            return [Entry._of(int(entries[index] or 0)) for index in range(count.value)]
        finally:
            lib.snats_kv_entries_destroy(entries, count.value)

    def status(self) -> BucketStatus:
        out = ctypes.c_void_p()
        with self._handle.use() as kv:
            kv_check(lib.snats_kv_status(ctypes.byref(out), kv))
        try:
            return BucketStatus.of(json_value(out.value))
        finally:
            lib.snats_json_decref(out.value)

    def watch(self, keys: Union[str, Sequence[str], None] = None, *, include_history: bool = False,
              ignore_deletes: bool = False, meta_only: bool = False, updates_only: bool = False) -> "KeyWatcher":
        """Watches keys: their values, then None once, then changes (see :class:`KeyWatcher`)."""
        return KeyWatcher(self, watch_options(keys, include_history, ignore_deletes, meta_only, updates_only))

    def watchall(self, **options: Any) -> "KeyWatcher":
        return self.watch(None, **options)


class KeyWatcher(Watcher[Entry]):
    """A watch of keys: :meth:`updates` (an :class:`Entry`, or None once after the current
    values), iteration until stopped, :meth:`stop`, a context manager."""

    def __init__(self, kv: KeyValue, options: Dict[str, Any]) -> None:
        out = ctypes.c_void_p()
        with kv._handle.use() as ptr:
            with_json(options, lambda doc: kv_check(lib.snats_kv_watch(ctypes.byref(out), ptr, None, doc,
                                                                       KV_WATCH_HANDLER(), None)))
        super().__init__(rt.out_ptr(out, "watcher"), _next_entry, lib.snats_kv_watcher_stop,
                         lib.snats_kv_watcher_destroy, "kv-watcher")


def _next_entry(watcher: int, timeout_ms: int) -> Optional[Entry]:
    out = ctypes.c_void_p()
    kv_check(lib.snats_kv_watcher_next(ctypes.byref(out), watcher, timeout_ms))
    return Entry._take(out.value) if out.value else None
