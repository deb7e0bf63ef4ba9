"""Publishes buffered on the Python side and handed to the library in batches.

A ctypes call costs more than everything else a publish does, so ``Client.publish`` of a plain
message (no reply, no headers, ``bytes`` payload, a subject already published on) appends a
record to the connection's :class:`Outbox` and returns; the records go to the library in one
``snats_publish_packed()`` call (the layout of ``snats_sub_next_msgs()`` records, reversed).

When buffered publishes are handed over:

- once :data:`RECORDS_MAX` records wait, by the publishing thread;
- before any other call into the library that may send something (``hand_over_publishes`` in
  ``_runtime.py``: every handle use, every return from a callback, micro and RPC answers): a
  request, flush, subscribe, a response or the next batch of a subscription's thread always
  follows the publishes made before it, in the order they were made;
- otherwise by one flusher thread for the whole process, woken when a buffer stops being
  empty: as soon as the publishing thread lets go of the GIL (it blocks, sleeps, returns to an
  event loop, or reaches the interpreter's switch interval).

What only shows later: a publish whose record the library refuses when it is handed over (the
connection closed meanwhile, the reconnect buffer is full, or a server with a smaller
max_payload took over) is lost, and the error goes to the connection's error callback, as an
asynchronous error. Everything the library would refuse at the call (an invalid subject, a
payload over max_payload, a closed or reconnecting connection) takes the direct path instead
and raises there.
"""

from __future__ import annotations

import ctypes
import logging
import struct
import threading
from typing import Any, Callable, Dict, List, Optional, Set

from ._lib import lib
from .errors import Status, SwiftNatsError, _last_error, error_for_status

#: A publishing thread hands its connection's records over itself once this many wait (the
#: flusher thread has not had the GIL meanwhile).
RECORDS_MAX = 8192

#: The four native uint32 lengths (subject, reply, header block, payload) that begin a record,
#: here and in snats_sub_next_msgs() batches (msg.py).
RECORD_LENGTHS = struct.Struct("=IIII")
_SUBJECTS_MAX = 1024
_SIZES_PER_SUBJECT_MAX = 32

# Outboxes holding records, and outboxes in the middle of a hand-over (their records taken but
# maybe not yet in the library). A box is in one or the other from its first record until the
# hand-over of its last one has returned; _runtime.hand_over_publishes tests both.
pending: Set["Outbox"] = set()
busy: Set["Outbox"] = set()
_wake = threading.Event()
_flusher_lock = threading.Lock()
_flusher: Optional[threading.Thread] = None


def hand_over_all() -> None:
    """Hands every connection's buffered publishes to the library; returns once those being
    handed over by other threads are in the library too."""
    for box in tuple(pending | busy):
        box.hand_over()


def _run_flusher() -> None:
    while True:
        _wake.wait()
        _wake.clear()
        try:
            hand_over_all()
        except Exception:  # pragma: no cover - a bug here must not end the thread silently
            logging.getLogger("swiftnats").exception("swiftnats: error in the outbox flusher")


def _start_flusher() -> None:
    global _flusher
    with _flusher_lock:
        if _flusher is None:
            _flusher = threading.Thread(target=_run_flusher, name="swiftnats-outbox", daemon=True)
            _flusher.start()


class Outbox:
    """One connection's buffered publishes. Thread-safe."""

    __slots__ = (
        "_handle", "_report", "_send_lock", "_records", "_idle", "_subjects", "_max_payload", "_open",
        "__weakref__",
    )

    def __init__(self, handle: Any, report: Callable[[BaseException], None]) -> None:
        self._handle = handle  # the connection's rt.Handle
        self._report = report  # gives an asynchronous error to the connection's error callback
        self._send_lock = threading.Lock()  # one hand-over at a time, so batches keep their order
        # Records waiting, appended without a lock (list.append and taking a prefix are atomic)
        self._records: List[bytes] = []
        # True when no wake-up of the flusher is due: a hand-over sets it before taking the
        # records, and the first add after that clears it and wakes the flusher, so a record
        # appended after a hand-over took its share always has another one coming.
        self._idle = True
        # subject -> {payload size -> record head}; only subjects the library has accepted in
        # a direct publish, and sizes within max_payload
        self._subjects: Dict[str, Dict[int, bytes]] = {}
        self._max_payload = 0
        self._open = False

    # -- the publishing side ------------------------------------------------------------------

    def add(self, subject: str, payload: Any) -> bool:
        """Buffers a plain publish; False when it must take the direct path instead."""
        heads = self._subjects.get(subject)
        if heads is None or type(payload) is not bytes or not self._open:
            return False
        size = len(payload)
        head = heads.get(size)
        if head is None:
            if size > self._max_payload:
                return False
            head = self._head(heads, subject, size)
        records = self._records
        records.append(head + payload)
        pending.add(self)  # after the append: a hand-over that discards it takes the record
        if self._idle:
            self._idle = False
            _wake.set()
        if len(records) >= RECORDS_MAX:
            self.hand_over()
        return True

    def learn(self, subject: str) -> None:
        """Lets later publishes on @p subject be buffered: the library accepted it in a direct
        publish."""
        subjects = self._subjects
        if len(subjects) >= _SUBJECTS_MAX:
            subjects.clear()
        subjects.setdefault(subject, {})

    @staticmethod
    def _head(heads: Dict[int, bytes], subject: str, size: int) -> bytes:
        """A record's bytes before the payload (the four lengths and the subject); kept for
        the first sizes published on the subject."""
        raw = subject.encode("utf-8", "surrogateescape")
        head = RECORD_LENGTHS.pack(len(raw), 0, 0, size) + raw
        if len(heads) < _SIZES_PER_SUBJECT_MAX:
            heads[size] = head
        return head

    # -- connection state ---------------------------------------------------------------------

    def resume(self) -> None:
        """The connection is up: buffer again (max_payload is read again: the server may have
        changed)."""
        value = ctypes.c_int64()
        try:
            ptr = self._handle.acquire_raw()
        except SwiftNatsError:
            return  # closed meanwhile
        try:
            status = lib.snats_conn_get_max_payload(ctypes.byref(value), ptr)
        finally:
            self._handle.release()
        if status == Status.OK:
            if value.value != self._max_payload:
                for heads in list(self._subjects.values()):  # (publishers may add subjects)
                    heads.clear()  # their sizes were checked against the old max_payload
                self._max_payload = value.value
            self._open = True
        if _flusher is None:
            _start_flusher()

    def pause(self) -> None:
        """The connection is down or closing: publishes take the direct path, which reports
        what the library does with them at the call."""
        self._open = False

    # -- handing over -------------------------------------------------------------------------

    def hand_over(self) -> None:
        """Gives the buffered records to the library (on any thread)."""
        errors: List[SwiftNatsError] = []
        with self._send_lock:
            busy.add(self)
            pending.discard(self)
            self._idle = True
            try:
                records = self._records
                count = len(records)
                if count:
                    taken = records[:count]
                    del records[:count]
                    errors = self._publish(b"".join(taken))
            finally:
                busy.discard(self)
        for error in errors:  # outside the lock: error_cb may publish or flush
            self._report(error)

    def _publish(self, records: bytes) -> List[SwiftNatsError]:
        """Publishes @p records; returns the errors of those the library refused."""
        try:
            ptr = self._handle.acquire_raw()
        except SwiftNatsError as e:
            return [_lost(e.status, e.detail, _count(records, 0))]
        errors: List[SwiftNatsError] = []
        published = ctypes.c_size_t()
        try:
            offset = 0
            while offset < len(records):
                rest = records[offset:] if offset else records
                status = lib.snats_publish_packed(ctypes.byref(published), ptr, rest, len(rest))
                if status == Status.OK:
                    break
                detail = _last_error()
                offset = _skip(records, offset, published.value)
                if status in _PER_RECORD:  # only that record is refused: go on with the rest
                    errors.append(_lost(status, detail, 1))
                    offset = _skip(records, offset, 1)
                else:  # the connection refuses them all
                    errors.append(_lost(status, detail, _count(records, offset)))
                    break
        finally:
            self._handle.release()
        return errors


_PER_RECORD = (Status.MAX_PAYLOAD, Status.INVALID_SUBJECT, Status.INVALID_ARG)


def _skip(records: bytes, offset: int, count: int) -> int:
    """The offset @p count records after @p offset."""
    for _ in range(count):
        subject, reply, header, payload = RECORD_LENGTHS.unpack_from(records, offset)
        offset += RECORD_LENGTHS.size + subject + reply + header + payload
    return offset


def _count(records: bytes, offset: int) -> int:
    count = 0
    while offset < len(records):
        offset = _skip(records, offset, 1)
        count += 1
    return count


def _lost(status: int, detail: str, count: int) -> SwiftNatsError:
    """The error of @p count buffered publishes lost for @p status."""
    return error_for_status(status, f"{count} buffered publish{'es' if count != 1 else ''} lost: {detail}")
