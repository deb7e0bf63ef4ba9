"""Received messages."""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Type, TypeVar

from ._lib import lib
from ._runtime import Payload, decode
from .errors import IllegalStateError, InvalidArgumentError
from .headers import HeaderItems, HeadersArg, parse_header_block, read_headers
from .outbox import RECORD_LENGTHS

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["Msg"]

_RECORD_LENGTHS = RECORD_LENGTHS.unpack_from
#: a dispatch queue's record head: the tag, then the four lengths
_TAGGED_RECORD = struct.Struct("=QIIII").unpack_from

#: Msg or a subclass (``aio.Msg``): what its class methods make
_M = TypeVar("_M", bound="Msg")


@dataclass(eq=False)
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
    """

    subject: str
    reply: str = ""
    data: bytes = b""
    headers: Optional[Dict[str, str]] = None
    status: int = 0
    description: str = ""
    _header_items: Optional[HeaderItems] = field(default=None, repr=False)
    _client: "Optional[Client]" = field(default=None, repr=False)

    # -- construction from the library --------------------------------------------------------

    @classmethod
    def _copy(cls: Type[_M], handle: int, client: "Optional[Client]") -> _M:
        """Copies a ``snats_msg*`` (borrowed or owned; the caller still releases an owned one)."""
        length = lib.snats_msg_data_len(handle)
        data = ctypes.string_at(lib.snats_msg_data(handle), length) if length else b""
        hdrs = lib.snats_msg_headers(handle)
        items = read_headers(hdrs)
        status = lib.snats_msg_status_code(handle)
        return cls(
            subject=decode(lib.snats_msg_subject(handle)),
            reply=decode(lib.snats_msg_reply(handle)),
            data=data,
            headers=None if items is None else {k: v[0] for k, v in items if v},
            status=status,
            description=decode(lib.snats_headers_description(hdrs)) if status and hdrs else "",
            _header_items=items,
            _client=client,
        )

    @classmethod
    def _unpack(
        cls: Type[_M], raw: bytes, count: int, client: "Optional[Client]", tags: Optional[List[int]] = None
    ) -> "Tuple[List[_M], List[int]]":
        """Builds the messages of a snats_sub_next_msgs() batch (per record four native uint32
        lengths: subject, reply, header block, payload; then those bytes), and the size of
        each as the pending limits count it (header block + payload). With @p tags, the
        records are snats_dispatch_queue_next_msgs() ones: each starts with its
        subscription's uint64 tag, appended to @p tags.

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
            offset = end
            if reply_len:
                end = offset + reply_len
                msg.reply = raw[offset:end].decode("utf-8", "replace")
                offset = end
            if header_len:
                end = offset + header_len
                msg.status, msg.description, items = parse_header_block(raw[offset:end])
                msg._header_items = items
                msg.headers = {k: v[0] for k, v in items if v}
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
        for k, values in self._header_items or ():
            if k == key:
                return list(values)
        return []

    @property
    def header_items(self) -> List[Tuple[str, List[str]]]:
        """Every header as ``(key, [values])`` pairs, in wire order."""
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
