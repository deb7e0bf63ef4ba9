"""What the JetStream contexts (sync and asyncio) share: the library's JSON in and out, nats.py's
result types, configurations as keyword arguments.

Durations are seconds (floats) here, as in nats.py; the JetStream API counts nanoseconds. The
conversion is presentation only: which members are durations is the server's schema, listed in
:data:`DURATIONS`.
"""

from __future__ import annotations

import ctypes
import datetime
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional

from ._json import json_new, json_value
from ._lib import lib
from .errors import _check
from .msg import Msg

__all__ = ["Info", "PubAck", "SequencePair", "Metadata", "RawStreamMsg", "config_document", "publish_options"]

#: Members of stream and consumer configurations whose values are durations (``backoff``: a
#: list of them).
DURATIONS = frozenset({
    "max_age", "duplicate_window", "ack_wait", "idle_heartbeat", "inactive_threshold", "max_expires", "backoff",
    "subject_delete_marker_ttl", "pause_until_ns",
})
_NANOS = 1_000_000_000


def _to_nanos(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_to_nanos(item) for item in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return int(round(value * _NANOS))


def _to_seconds(value: Any) -> Any:
    if isinstance(value, list):
        return [_to_seconds(item) for item in value]
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return value / _NANOS


def _config_out(document: Dict[str, Any]) -> Dict[str, Any]:
    return {key: (_to_seconds(value) if key in DURATIONS else value) for key, value in document.items()}


class Info(dict):  # type: ignore[type-arg]
    """A JetStream API document (stream info, consumer info, account info...): a ``dict`` whose
    members are also attributes, nested alike (``info.config.name``, ``info.state.messages``).
    A member the server left out reads as None. Durations of ``config`` are seconds."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _wrap(self.get(name))

    def as_dict(self) -> Dict[str, Any]:
        return dict(self)

    @classmethod
    def of(cls, document: Dict[str, Any]) -> "Info":
        config = document.get("config")
        if isinstance(config, dict):
            document = dict(document, config=_config_out(config))
        return cls(document)


def _wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, Info):
        return Info(value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


def config_document(config: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """A configuration for the API from nats.py's forms: a dict (or an object with ``as_dict``,
    such as :class:`Info`) and/or keyword arguments; None members dropped, durations (seconds)
    in nanoseconds."""
    merged: Dict[str, Any] = {}
    if config is not None:
        merged.update(config.as_dict() if hasattr(config, "as_dict") else dict(config))
    merged.update(params)
    return {key: (_to_nanos(value) if key in DURATIONS else value) for key, value in merged.items() if value is not None}


def bucket_settings(bucket: Optional[str], config: Any, params: Dict[str, Any],
                    allowed: "frozenset[str]") -> "tuple[str, Dict[str, Any]]":
    """A bucket's name and the library's settings from nats.py's forms: a ``KeyValueConfig`` or
    ``ObjectStoreConfig`` (its ``as_dict()`` has ``ttl`` in nanoseconds already; members this
    library does not take, such as nats.py's defaults for placement, are left out), and/or a
    dict or keyword arguments (``ttl`` in seconds)."""
    settings: Dict[str, Any] = {}
    name = bucket
    if config is not None and hasattr(config, "as_dict") and not isinstance(config, dict):
        native = config.as_dict()
        name = name or native.get("bucket")
        settings.update({key: value for key, value in native.items() if key in allowed and value is not None})
        config = None
    given: Dict[str, Any] = dict(config) if isinstance(config, dict) else vars(config) if config is not None else {}
    given.update(params)
    name = name or given.pop("bucket", None)
    given.pop("bucket", None)
    if not name:
        raise ValueError("a bucket needs a name (bucket=...)")
    if given.get("ttl") is not None:
        given["ttl"] = int(round(given["ttl"] * _NANOS))
    settings.update({key: value for key, value in given.items() if value is not None})
    return name, settings


def publish_options(msg_id: Optional[str], stream: Optional[str], expected_last_seq: Optional[int],
                    expected_last_subject_seq: Optional[int], expected_last_msg_id: Optional[str]) -> Optional[Dict[str, Any]]:
    if msg_id is None and stream is None and expected_last_seq is None and expected_last_subject_seq is None \
            and expected_last_msg_id is None:
        return None  # most publishes: no dictionaries made
    options = {
        "msg_id": msg_id, "expected_stream": stream, "expected_last_seq": expected_last_seq,
        "expected_last_subject_seq": expected_last_subject_seq, "expected_last_msg_id": expected_last_msg_id,
    }
    present = {key: value for key, value in options.items() if value is not None}
    return present or None


def with_json(value: Any, body: Callable[[Optional[int]], Any]) -> Any:
    """Runs @p body with a new ``json_t*`` of @p value (NULL for None), released after."""
    handle = json_new(value) if value is not None else None
    try:
        return body(handle)
    finally:
        if handle:
            lib.snats_json_decref(handle)


def take_json(call: Callable[[Any], int]) -> Any:
    """Makes a call with a ``json_t **`` out-parameter and converts (then releases) what it gave."""
    out = ctypes.c_void_p()
    _check(call(ctypes.byref(out)))
    try:
        return json_value(out.value)
    finally:
        lib.snats_json_decref(out.value)


@dataclass
class PubAck:
    """A stream's ack of a publish (nats.py's ``PubAck``)."""

    stream: str
    seq: int
    domain: Optional[str] = None
    duplicate: Optional[bool] = None

    @classmethod
    def _of(cls, handle: int) -> "PubAck":
        domain = lib.snats_js_pub_ack_domain(handle)
        return cls(stream=(lib.snats_js_pub_ack_stream(handle) or b"").decode(), seq=lib.snats_js_pub_ack_seq(handle),
                   domain=domain.decode() if domain else None, duplicate=bool(lib.snats_js_pub_ack_duplicate(handle)))


@dataclass
class SequencePair:
    consumer: int
    stream: int


@dataclass
class Metadata:
    """What a consumer's message's reply subject says (nats.py's ``Msg.Metadata``)."""

    sequence: SequencePair
    num_pending: int
    num_delivered: int
    timestamp: datetime.datetime
    stream: str
    consumer: str
    domain: Optional[str] = None

    @classmethod
    def of(cls, reply: str) -> "Metadata":
        doc = take_json(lambda out: lib.snats_js_metadata(out, reply.encode()))
        nanos = int(doc["timestamp"])
        stamp = datetime.datetime.fromtimestamp(nanos // _NANOS, tz=datetime.timezone.utc)
        return cls(
            sequence=SequencePair(consumer=doc["sequence"]["consumer"], stream=doc["sequence"]["stream"]),
            num_pending=doc["num_pending"], num_delivered=doc["num_delivered"],
            timestamp=stamp.replace(microsecond=(nanos % _NANOS) // 1000), stream=doc["stream"],
            consumer=doc["consumer"], domain=doc.get("domain"))


@dataclass
class RawStreamMsg:
    """A stored message read back from a stream (nats.py's ``RawStreamMsg``)."""

    subject: str
    seq: int
    data: bytes = b""
    headers: Optional[Dict[str, str]] = None
    stream: Optional[str] = None
    time: Optional[str] = None
    header_items: List[Any] = field(default_factory=list)

    @classmethod
    def of(cls, msg: Msg) -> "RawStreamMsg":
        headers = dict(msg.headers or {})
        seq = int(headers.pop("Nats-Sequence", "0") or 0)
        stream = headers.pop("Nats-Stream", None)
        stamp = headers.pop("Nats-Time-Stamp", None)
        headers.pop("Nats-Subject", None)
        items = [(k, v) for k, v in msg.header_items if k not in ("Nats-Sequence", "Nats-Stream", "Nats-Time-Stamp", "Nats-Subject")]
        return cls(subject=msg.subject, seq=seq, data=msg.data, headers=headers or None, stream=stream, time=stamp,
                   header_items=items)


def infos(documents: Iterable[Dict[str, Any]]) -> List[Info]:
    return [Info.of(document) for document in documents]
