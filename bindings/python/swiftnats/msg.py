"""Received messages."""

from __future__ import annotations

import ctypes
import struct
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Type, TypeVar

from ._lib import lib
from ._runtime import Payload, decode, ms_arg
from .errors import IllegalStateError, InvalidArgumentError, _check
from .headers import HeaderItems, HeadersArg, parse_header_block, read_headers
from .outbox import RECORD_LENGTHS

if TYPE_CHECKING:  # pragma: no cover
    from ._jsapi import Metadata
    from .client import Client

_IN_PROGRESS = 3  # SNATS_JS_IN_PROGRESS
#: guards the acknowledged flag of every message (a check and a set)
_ACK_LOCK = threading.Lock()

__all__ = ["Msg"]

_RECORD_LENGTHS = RECORD_LENGTHS.unpack_from
#: a dispatch queue's record head: the tag, then the four lengths
_TAGGED_RECORD = struct.Struct("=QIIII").unpack_from

#: Msg or a subclass (``aio.Msg``): what its class methods make
_M = TypeVar("_M", bound="Msg")


class Msg:
    """A message, copied out of the library: it holds no C memory.

    Attributes:
        subject: the subject it was published on.
        reply: the reply subject, "" when none.
        data: the payload.
        headers: the first value of each header key, None when the message had no header block
            (see :meth:`header_values` for every value of a key).
        status: the inline status code of the header block (503, 408...), 0 when none.
        description: the text after the status code ("No Responders"), "" when none.
        received_at: when it was read from the library (``time.time()``; one batch shares it);
            0.0 for a message made by hand.
        sub: the :class:`~swiftnats.Subscription` it arrived on (None for a reply to a request,
            or a message made by hand).

    A received header block is parsed by the library (``snats_headers_parse``) the first time
    ``headers``, ``status``, ``description`` or the header methods are read.
    """

    # Class-level defaults: a message built from a batch sets only what it has.
    reply: str = ""
    data: bytes = b""
    received_at: float = 0.0
    _block: Optional[bytes] = None  # a header block not yet parsed
    _header_items: Optional[HeaderItems] = None
    _status: int = 0
    _description: str = ""
    _client: "Optional[Client]" = None
    _sub: Any = None
    _tag: int = 0
    _ackd: bool = False  # a final acknowledgement went (JetStream)

    def __init__(self, subject: str, reply: str = "", data: bytes = b"", headers: Optional[Dict[str, str]] = None,
                 status: int = 0, description: str = "") -> None:
        self.subject = subject
        if reply:
            self.reply = reply
        if data:
            self.data = data
        if headers is not None:
            self.headers = headers
        if status:
            self._status = status
        if description:
            self._description = description

    # -- headers, parsed by the library on first use --------------------------------------------

    def _parsed(self) -> None:
        block = self._block
        if block is None:
            return
        # Parsed into locals and published before the block is dropped: the library call lets
        # the GIL go, and another thread reading the headers meanwhile parses too, not reads
        # half-set fields.
        status, description, items = parse_header_block(block)
        self._status, self._description, self._header_items = status, description, items
        self._block = None

    @property
    def headers(self) -> Optional[Dict[str, str]]:
        self._parsed()
        items = self._header_items
        return None if items is None else {k: v[0] for k, v in items if v}

    @headers.setter
    def headers(self, value: Optional[Dict[str, str]]) -> None:
        self._parsed()
        self._header_items = None if value is None else tuple((k, (v,)) for k, v in value.items())

    @property
    def status(self) -> int:
        self._parsed()
        return self._status

    @status.setter
    def status(self, value: int) -> None:
        self._parsed()
        self._status = value

    @property
    def description(self) -> str:
        self._parsed()
        return self._description

    @description.setter
    def description(self, value: str) -> None:
        self._parsed()
        self._description = value

    @property
    def sub(self) -> Any:
        if self._sub is None and self._tag:
            from ._runtime import lookup  # noqa: PLC0415 - the tag's owner, when it is a subscription

            owner = lookup(self._tag)
            owner = getattr(owner, "_aio", owner)  # an asyncio subscription's sync core
            self._sub = owner if hasattr(owner, "unsubscribe") else None
        return self._sub

    # -- construction from the library --------------------------------------------------------

    @classmethod
    def _copy(cls: Type[_M], handle: int, client: "Optional[Client]") -> _M:
        """Copies a ``snats_msg*`` (borrowed or owned; the caller still releases an owned one)."""
        length = lib.snats_msg_data_len(handle)
        data = ctypes.string_at(lib.snats_msg_data(handle), length) if length else b""
        hdrs = lib.snats_msg_headers(handle)
        status = lib.snats_msg_status_code(handle)
        msg = cls(subject=decode(lib.snats_msg_subject(handle)), reply=decode(lib.snats_msg_reply(handle)), data=data,
                  status=status, description=decode(lib.snats_headers_description(hdrs)) if status and hdrs else "")
        msg._header_items = read_headers(hdrs)
        msg._client = client
        msg.received_at = time.time()
        return msg

    @classmethod
    def _unpack(
        cls: Type[_M], raw: bytes, count: int, client: "Optional[Client]", tags: Optional[List[int]] = None,
        sub: Any = None,
    ) -> "Tuple[List[_M], List[int]]":
        """Builds the messages of a snats_sub_next_msgs() batch (per record four native uint32
        lengths: subject, reply, header block, payload; then those bytes), and the size of
        each as the pending limits count it (header block + payload). With @p tags, the
        records are snats_dispatch_queue_next_msgs() ones: each starts with its
        subscription's uint64 tag, appended to @p tags (and kept as the message's, for
        ``msg.sub``); else @p sub is every message's subscription.

        The hot loop of every subscription: fields left at their class defaults (no reply, no
        headers) are not set, and each distinct subject of the batch is decoded once."""
        msgs: List[_M] = []
        sizes: List[int] = []
        append = msgs.append
        append_size = sizes.append
        lengths = _RECORD_LENGTHS
        new = object.__new__
        subjects: Dict[bytes, str] = {}
        offset = 0
        tagged = _TAGGED_RECORD if tags is not None else None
        add_tag = tags.append if tags is not None else None
        received = time.time()
        tag = 0
        for _ in range(count):
            if tagged is not None:
                tag, subject_len, reply_len, header_len, data_len = tagged(raw, offset)
                add_tag(tag)  # type: ignore[misc]
                offset += 24
            else:
                subject_len, reply_len, header_len, data_len = lengths(raw, offset)
                offset += 16
            end = offset + subject_len
            raw_subject = raw[offset:end]
            subject = subjects.get(raw_subject)
            if subject is None:
                subject = subjects[raw_subject] = raw_subject.decode("utf-8", "replace")
            msg = new(cls)
            msg.subject = subject
            msg._client = client
            msg.received_at = received
            if tag:
                msg._tag = tag
            elif sub is not None:
                msg._sub = sub
            offset = end
            if reply_len:
                end = offset + reply_len
                msg.reply = raw[offset:end].decode("utf-8", "replace")
                offset = end
            if header_len:
                end = offset + header_len
                msg._block = raw[offset:end]  # parsed by the library when first read
                offset = end
            end = offset + data_len
            msg.data = raw[offset:end]
            offset = end
            append(msg)
            append_size(header_len + data_len)
        return msgs, sizes

    @classmethod
    def _take(cls: Type[_M], handle: int, client: "Optional[Client]") -> _M:
        """Copies an owned ``snats_msg*`` and releases it."""
        try:
            return cls._copy(handle, client)
        finally:
            lib.snats_msg_release(handle)

    # -- API ----------------------------------------------------------------------------------

    def header_values(self, key: str) -> List[str]:
        """Every value of header @p key, in wire order ([] when absent). Keys match exactly."""
        self._parsed()
        for k, values in self._header_items or ():
            if k == key:
                return list(values)
        return []

    @property
    def header_items(self) -> List[Tuple[str, List[str]]]:
        """Every header as ``(key, [values])`` pairs, in wire order."""
        self._parsed()
        return [(k, list(v)) for k, v in self._header_items or ()]

    def respond(self, data: Payload = b"", headers: HeadersArg = None) -> None:
        """Publishes @p data on this message's reply subject, over the connection it arrived on.

        Raises InvalidArgumentError when the message has no reply subject.
        """
        if not self.reply:
            raise InvalidArgumentError("the message has no reply subject")
        if self._client is None:
            raise IllegalStateError("the message was not received by a client")
        # at once, and without teaching the outbox a reply subject that will not come back
        self._client._publish_now(self.reply, data, "", headers)

    # -- JetStream acknowledgements (messages of a consumer) -----------------------------------

    def _acknowledge(self, kind: int, delay: Optional[float] = None, reason: Optional[str] = None,
                     timeout: float = 0.0) -> None:
        """Sends a ``snats_js_ack_kind`` for this message; ack, nak and term are final."""
        if self._client is None:
            raise IllegalStateError("the message was not received by a client")
        if not self.reply:
            raise IllegalStateError("not a JetStream consumer's message: it has no reply subject")
        final = kind != _IN_PROGRESS
        with _ACK_LOCK:  # a second final ack, or progress after one, is refused
            if self._ackd:
                raise IllegalStateError("the message was acknowledged already")
            if final:
                self._ackd = True
        try:
            with self._client._use() as conn:
                _check(lib.snats_js_ack_reply(
                    conn, self.reply.encode(), kind, ms_arg(delay, "delay") if delay else 0,
                    reason.encode() if reason else None, ms_arg(timeout) if timeout else 0))
        except BaseException:
            if final:
                self._ackd = False
            raise

    def ack(self) -> None:
        """Acknowledges a JetStream consumer's message: it will not come again. Raises
        IllegalStateError when it was acknowledged already, or is not a consumer's message."""
        self._acknowledge(0)

    def ack_sync(self, timeout: float = 1.0) -> None:
        """Acknowledges and waits up to @p timeout seconds for the server to confirm it."""
        self._acknowledge(0, timeout=timeout)

    def nak(self, delay: Optional[float] = None) -> None:
        """Asks for the message again (after @p delay seconds when given)."""
        self._acknowledge(1, delay=delay)

    def term(self, reason: Optional[str] = None) -> None:
        """Stops its redelivery for good (with a reason, for servers from 2.10.4)."""
        self._acknowledge(2, reason=reason)

    def in_progress(self) -> None:
        """Still working on it: the consumer's ack wait starts again (not final)."""
        self._acknowledge(_IN_PROGRESS)

    @property
    def is_acked(self) -> bool:
        """Whether a final acknowledgement (ack, nak, term) was sent."""
        return self._ackd

    @property
    def metadata(self) -> "Metadata":
        """The JetStream metadata of a consumer's message (stream and consumer sequences,
        deliveries, pending, timestamp). Raises InvalidArgumentError for other messages."""
        from ._jsapi import Metadata  # noqa: PLC0415 - JetStream only when used

        if not self.reply:
            raise InvalidArgumentError("not a JetStream consumer's message: no reply subject")
        return Metadata.of(self.reply)

    def __repr__(self) -> str:
        data = self.data if len(self.data) <= 64 else self.data[:64] + b"..."
        parts = [f"subject={self.subject!r}"]
        if self.reply:
            parts.append(f"reply={self.reply!r}")
        parts.append(f"data={data!r}")
        if self.headers is not None:
            parts.append(f"headers={self.headers!r}")
        if self.status:
            parts.append(f"status={self.status}")
        if self.description:
            parts.append(f"description={self.description!r}")
        return f"<Msg {' '.join(parts)}>"
