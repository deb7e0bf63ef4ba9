"""JetStream: streams, consumers, publishing with acks, pulling (``nc.jetstream()``), with
nats.py's names. The library does the protocol (``snats_js_*``); this module converts.

Management calls take configurations as nats.py does: a dict (or an :class:`Info`) and/or
keyword arguments, durations in seconds::

    js = nc.jetstream()
    js.add_stream(name="ORDERS", subjects=["orders.>"], retention="workqueue", max_age=3600)
    ack = js.publish("orders.new", b"42", msg_id="order-42")
    psub = js.pull_subscribe("orders.new", durable="worker")
    for msg in psub.fetch(10, timeout=1.0):
        msg.ack()
"""

from __future__ import annotations

import concurrent.futures
import ctypes
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from . import _runtime as rt
from ._jsapi import Info, PubAck, RawStreamMsg, config_document, infos, publish_options, take_json, with_json
from ._lib import FETCH_HANDLER, JS_MSG_HANDLER, lib
from .errors import ConnectionClosedError, NotFoundError, _check, library_error
from ._tagged import Settled, TaggedPublisher
from .headers import HeadersArg, c_headers
from .msg import Msg

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .kv import KeyValue
    from .obj import ObjectStore
    from .subscription import Subscription

__all__ = ["JetStreamContext", "PullSubscription", "JetStreamManagement"]

#: how long the ephemeral consumer of a ``subscribe()`` outlives its subscription
_EPHEMERAL_INACTIVE = 5.0


def ordered_options(subject: str, deliver_policy: Optional[str], headers_only: Optional[bool]) -> Dict[str, Any]:
    """The consume options of an ordered ``subscribe()``."""
    ordered: Dict[str, Any] = {"filter_subject": subject}
    if deliver_policy is not None:
        ordered["deliver_policy"] = deliver_policy
    if headers_only:
        ordered["headers_only"] = True
    return {"ordered": ordered}


def pull_consumer_config(subject: str, config: Any, durable: Optional[str] = None, deliver_policy: Optional[str] = None,
                         headers_only: Optional[bool] = None, ephemeral: bool = False) -> Dict[str, Any]:
    """The pull consumer ``pull_subscribe()`` and ``subscribe()`` make when they find none:
    the caller's configuration (durations in seconds: ``add_consumer`` converts them), explicit
    acks and @p subject as the filter unless it says otherwise."""
    settings: Dict[str, Any] = {}
    if config is not None:
        settings.update(config.as_dict() if hasattr(config, "as_dict") else dict(config))
    settings.setdefault("ack_policy", "explicit")
    settings.setdefault("filter_subject", subject)
    if deliver_policy is not None:
        settings.setdefault("deliver_policy", deliver_policy)
    if headers_only:
        settings.setdefault("headers_only", True)
    if durable is not None:
        settings["durable_name"] = durable
    elif ephemeral:
        settings.setdefault("inactive_threshold", _EPHEMERAL_INACTIVE)
    return settings


def is_push_consumer(info: Info) -> bool:
    return info.config is not None and bool(info.config.deliver_subject)


def push_maker(handle: rt.Handle, stream: str, consumer: str) -> Callable[[str, Any, Optional[int], Optional[int]], int]:
    """What ``Client._subscribe`` calls to subscribe to a push consumer in the mode it needs."""
    from .client import _NO_MSG_HANDLER  # noqa: PLC0415 - the client imports this module lazily
    from ._delivery import BATCH_THUNK  # noqa: PLC0415

    stream_arg, consumer_arg = stream.encode(), consumer.encode()

    def make(mode: str, out: Any, key: Optional[int], queue_ptr: Optional[int]) -> int:
        with handle.use() as js:
            if mode == "queue":
                return int(lib.snats_js_push_subscribe(out, js, stream_arg, consumer_arg, queue_ptr, _NO_MSG_HANDLER, key))
            if mode == "batch":
                return int(lib.snats_js_push_subscribe_batch(out, js, stream_arg, consumer_arg, BATCH_THUNK, key))
            return int(lib.snats_js_push_subscribe(out, js, stream_arg, consumer_arg, None, _NO_MSG_HANDLER, None))
    return make


def subscription_maker(handle: rt.Handle, stream: str, info: Optional[Info],
                       options: Optional[Dict[str, Any]]) -> "tuple[Callable[[str, Any, Optional[int], Optional[int]], int], bool]":
    """How ``subscribe()`` subscribes once it has its consumer's @p info (None: an ordered
    consume with @p options): the maker, and whether its messages take acks."""
    if info is None:
        return consume_maker(handle, stream, None, options), False
    acks = (info.config.ack_policy if info.config is not None else "explicit") != "none"
    if is_push_consumer(info):
        return push_maker(handle, stream, info.name), acks
    return consume_maker(handle, stream, info.name, None), acks


def consume_maker(handle: rt.Handle, stream: str, consumer: Optional[str],
                  options: Optional[Dict[str, Any]]) -> Callable[[str, Any, Optional[int], Optional[int]], int]:
    """What ``Client._subscribe`` calls to make a consume in the mode it needs."""
    from .client import _NO_MSG_HANDLER  # noqa: PLC0415 - the client imports this module lazily
    from ._delivery import BATCH_THUNK  # noqa: PLC0415

    stream_arg = stream.encode()
    consumer_arg = consumer.encode() if consumer else None

    def make(mode: str, out: Any, key: Optional[int], queue_ptr: Optional[int]) -> int:
        with handle.use() as js:
            def start(doc: Optional[int]) -> int:
                if mode == "queue":
                    return int(lib.snats_js_consume_on(out, js, stream_arg, consumer_arg, doc, queue_ptr, _NO_MSG_HANDLER, key))
                if mode == "batch":
                    return int(lib.snats_js_consume_batch(out, js, stream_arg, consumer_arg, doc, BATCH_THUNK, key))
                return int(lib.snats_js_consume(out, js, stream_arg, consumer_arg, doc, _NO_MSG_HANDLER, None))
            return int(with_json(options, start))
    return make


def _context_options(domain: Optional[str], prefix: Optional[str], timeout: float,
                     publish_async_max_pending: int) -> Dict[str, Any]:
    options: Dict[str, Any] = {"timeout_ms": rt.ms_arg(timeout), "max_pending_publishes": publish_async_max_pending}
    if domain is not None:
        options["domain"] = domain
    if prefix is not None:
        options["api_prefix"] = prefix
    return options


def create_context(nc: "Client", options: Dict[str, Any]) -> rt.Handle:
    out = ctypes.c_void_p()
    with nc._use() as conn:
        with_json(options, lambda doc: _check(lib.snats_jetstream_create(ctypes.byref(out), conn, doc)))
    return rt.Handle(rt.out_ptr(out, "JetStream context"), lib.snats_jetstream_destroy,
                     lambda: ConnectionClosedError("the JetStream context is closed"), "js")


class JetStreamManagement:
    """The management calls (streams, consumers, account), shared by the sync and asyncio
    contexts: each method names an operation of ``snats_js_call``; :meth:`_run` makes it
    (blocking here, awaitable in ``swiftnats.aio``)."""

    _handle: rt.Handle

    def _run(self, operation: str, arguments: Optional[Dict[str, Any]], convert: Callable[[Any], Any]) -> Any:
        with self._handle.use() as js:
            value = take_json(
                lambda out: with_json(arguments, lambda doc: lib.snats_js_call(out, js, operation.encode(), doc)))
        return convert(value)

    def account_info(self) -> Any:
        """The account's JetStream usage and limits (:class:`Info`)."""
        return self._run("account_info", None, Info.of)

    def add_stream(self, config: Any = None, **params: Any) -> Any:
        """Creates a stream (or accepts an identical one): ``add_stream(name="S", subjects=["s.>"])``
        or a config dict. Returns its :class:`Info`."""
        return self._run("stream_add", {"config": config_document(config, params)}, Info.of)

    def update_stream(self, config: Any = None, **params: Any) -> Any:
        """Replaces a stream's configuration (the whole of it, with its name)."""
        return self._run("stream_update", {"config": config_document(config, params)}, Info.of)

    def delete_stream(self, name: str) -> Any:
        """Deletes a stream; True. Raises StreamNotFoundError."""
        return self._run("stream_delete", {"name": name}, lambda doc: bool(doc.get("success")))

    def stream_info(self, name: str, subjects_filter: Optional[str] = None) -> Any:
        """A stream's :class:`Info` (``config``, ``state``); with @p subjects_filter, the message
        count per subject in ``state.subjects``. Raises StreamNotFoundError."""
        arguments: Dict[str, Any] = {"name": name}
        if subjects_filter is not None:
            arguments["subjects_filter"] = subjects_filter
        return self._run("stream_info", arguments, Info.of)

    def streams_info(self, subject: Optional[str] = None) -> Any:
        """Every stream's :class:`Info` (only those listening on @p subject when given)."""
        return self._run("stream_list", {"subject": subject} if subject else None, infos)

    def stream_names(self, subject: Optional[str] = None) -> Any:
        """The streams' names (only those listening on @p subject when given)."""
        return self._run("stream_names", {"subject": subject} if subject else None, list)

    def find_stream_name_by_subject(self, subject: str) -> Any:
        """The name of the stream listening on @p subject; NotFoundError when none."""
        def first(names: List[str]) -> str:
            if not names:
                raise NotFoundError(f"no stream listens on {subject!r}")
            return names[0]
        return self._run("stream_names", {"subject": subject}, first)

    def purge_stream(self, name: str, seq: Optional[int] = None, subject: Optional[str] = None,
                     keep: Optional[int] = None) -> Any:
        """Removes a stream's messages (those of @p subject, below @p seq, or all but the last
        @p keep); True."""
        arguments = {key: value for key, value in (("name", name), ("seq", seq), ("filter", subject), ("keep", keep))
                     if value is not None}
        return self._run("stream_purge", arguments, lambda doc: bool(doc.get("success")))

    def delete_msg(self, stream_name: str, seq: int) -> Any:
        """Deletes one stored message; True. Raises MsgNotFoundError."""
        return self._run("stream_delete_msg", {"name": stream_name, "seq": seq}, lambda doc: bool(doc.get("success")))

    def add_consumer(self, stream: str, config: Any = None, durable_name: Optional[str] = None, **params: Any) -> Any:
        """Creates a consumer (or accepts an identical one); named by ``durable_name`` or
        ``name``, else ephemeral. Durations in seconds (``ack_wait=30``). Returns its :class:`Info`."""
        if durable_name is not None:
            params["durable_name"] = durable_name
        return self._run("consumer_add", {"stream": stream, "config": config_document(config, params)}, Info.of)

    def update_consumer(self, stream: str, config: Any = None, **params: Any) -> Any:
        """Changes a named consumer's configuration."""
        return self._run("consumer_update", {"stream": stream, "config": config_document(config, params)}, Info.of)

    def delete_consumer(self, stream: str, consumer: str) -> Any:
        """Deletes a consumer; True. Raises ConsumerNotFoundError."""
        return self._run("consumer_delete", {"stream": stream, "name": consumer}, lambda doc: bool(doc.get("success")))

    def consumer_info(self, stream: str, consumer: str) -> Any:
        """A consumer's :class:`Info`. Raises ConsumerNotFoundError."""
        return self._run("consumer_info", {"stream": stream, "name": consumer}, Info.of)

    def consumers_info(self, stream: str) -> Any:
        """Every consumer's :class:`Info` of a stream."""
        return self._run("consumer_list", {"stream": stream}, infos)

    def consumer_names(self, stream: str) -> Any:
        """A stream's consumers' names."""
        return self._run("consumer_names", {"stream": stream}, list)


# --------------------------------------------------------------------------------------------
# Library callbacks: publishes' acks, a fetch's messages, a stored message
# --------------------------------------------------------------------------------------------


def _settle_future(future: "concurrent.futures.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
    if future.set_running_or_notify_cancel():
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def _settle_futures(settled: "List[Settled]") -> None:
    for future, ack, error in settled:
        _settle_future(future, ack, error)


def _on_fetch(js: Optional[int], status: int, msgs: Any, count: int, closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            entry = rt.lookup(closure)
            rt.unregister(closure)
            handles = [msgs[index] for index in range(count)]
            if entry is None:
                for handle in handles:
                    lib.snats_msg_release(handle)
                return
            settle, client, cls = entry
            taken = [cls._take(handle, client) for handle in handles]
            settle(taken, None if taken or status == 0 else library_error(status))
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: a fetch callback raised")


def _on_stored_msg(js: Optional[int], status: int, msg: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            settle = rt.lookup(closure)
            rt.unregister(closure)
            if msg and status == 0:
                taken = Msg._take(msg, None)
                if settle is not None:
                    settle(RawStreamMsg.of(taken), None)
            elif settle is not None:
                settle(None, library_error(status))
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: a stored message callback raised")


FETCH_THUNK = FETCH_HANDLER(_on_fetch)
STORED_MSG_THUNK = JS_MSG_HANDLER(_on_stored_msg)


def fetch_options(max_bytes: Optional[int], heartbeat: Optional[float], no_wait: bool) -> Optional[Dict[str, Any]]:
    options: Dict[str, Any] = {}
    if max_bytes:
        options["max_bytes"] = max_bytes
    if heartbeat:
        options["heartbeat_ms"] = rt.ms_arg(heartbeat, "heartbeat")
    if no_wait:
        options["no_wait"] = True
    return options or None


def get_msg_arguments(seq: Optional[int], subject: Optional[str], next: bool) -> "tuple[int, Optional[bytes]]":
    if next and (seq is None or subject is None):
        raise ValueError("next=True needs both seq and subject")
    if not next and seq is not None and subject is not None:
        raise ValueError("give seq or subject (or both with next=True)")
    return (seq or 0), (rt.subject_arg(subject, "subject") if subject is not None else None)


class JetStreamContext(JetStreamManagement):
    """JetStream on a connection (``nc.jetstream()``): management (:class:`JetStreamManagement`),
    publishing with acks, pull subscriptions. Thread-safe; cheap; closed with its client."""

    def __init__(self, nc: "Client", domain: Optional[str] = None, prefix: Optional[str] = None, timeout: float = 5.0,
                 publish_async_max_pending: int = 4000) -> None:
        self._nc = nc
        self._timeout = timeout
        self._handle = create_context(nc, _context_options(domain, prefix, timeout, publish_async_max_pending))
        self._publisher = TaggedPublisher(self._handle, _settle_futures)

    def close(self) -> None:
        """Frees the context (asynchronous publishes in flight still complete)."""
        self._handle.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, subject: str, payload: bytes = b"", timeout: Optional[float] = None, stream: Optional[str] = None,
                headers: HeadersArg = None, *, msg_id: Optional[str] = None, expected_last_seq: Optional[int] = None,
                expected_last_subject_seq: Optional[int] = None, expected_last_msg_id: Optional[str] = None) -> PubAck:
        """Publishes to a stream and waits for its :class:`PubAck`. @p stream: refused unless the
        subject's stream is this one; @p msg_id: de-duplicated within the stream's window.
        Raises NoRespondersError (no stream), WrongLastSequenceError, WrongLastMsgIDError,
        StreamNotMatchError, TimeoutError."""
        options = publish_options(msg_id, stream, expected_last_seq, expected_last_subject_seq, expected_last_msg_id)
        if timeout is not None:
            options = dict(options or {}, timeout_ms=rt.ms_arg(timeout))
        subj = rt.subject_arg(subject)
        data, size = rt.payload_arg(payload)
        out = ctypes.c_void_p()
        with c_headers(headers) as hdrs, self._handle.use() as js:
            with_json(options, lambda doc: _check(lib.snats_js_publish(ctypes.byref(out), js, subj, hdrs, data, size, doc)))
        try:
            return PubAck._of(rt.out_ptr(out, "ack"))
        finally:
            lib.snats_js_pub_ack_destroy(out.value)

    def publish_async(self, subject: str, payload: bytes = b"", headers: HeadersArg = None, *,
                      msg_id: Optional[str] = None, stream: Optional[str] = None,
                      expected_last_seq: Optional[int] = None, expected_last_subject_seq: Optional[int] = None,
                      expected_last_msg_id: Optional[str] = None) -> "concurrent.futures.Future[PubAck]":
        """Publishes without waiting: the future gets the :class:`PubAck` or the error. While
        ``publish_async_max_pending`` acks are awaited, blocks until one comes. A future fails
        with NotConnectedError when the link was lost before its ack came (publish again with
        the same @p msg_id: the stream drops the duplicate)."""
        future: "concurrent.futures.Future[PubAck]" = concurrent.futures.Future()
        options = publish_options(msg_id, stream, expected_last_seq, expected_last_subject_seq, expected_last_msg_id)
        self._publisher.publish(subject, payload, headers, options, future)
        return future

    def publish_async_completed(self, timeout: float = 10.0) -> None:
        """Waits until every asynchronous publish so far has its outcome. Raises TimeoutError."""
        with self._handle.use() as js:
            _check(lib.snats_js_publish_async_complete(js, rt.ms_arg(timeout)))

    def publish_async_pending(self) -> int:
        """How many asynchronous publishes await their ack."""
        count = ctypes.c_int()
        with self._handle.use() as js:
            _check(lib.snats_js_publish_async_pending(js, ctypes.byref(count)))
        return count.value

    # -- Key-Value ----------------------------------------------------------------------------

    def create_key_value(self, config: Any = None, **params: Any) -> "KeyValue":
        """Creates a bucket (or opens an identical one): ``create_key_value(bucket="cfg",
        history=5, ttl=3600)`` (``ttl`` in seconds), or nats.py's ``KeyValueConfig``."""
        from .kv import KeyValue, bucket_config  # noqa: PLC0415

        bucket, settings = bucket_config(config, params)
        return KeyValue(self, bucket, settings)

    def key_value(self, bucket: str) -> "KeyValue":
        """Opens an existing bucket; BucketNotFoundError when there is none."""
        from .kv import KeyValue  # noqa: PLC0415

        return KeyValue(self, bucket)

    def delete_key_value(self, bucket: str) -> bool:
        """Deletes a bucket and its keys; True."""
        from .kv import kv_check  # noqa: PLC0415

        with self._handle.use() as js:
            kv_check(lib.snats_kv_bucket_delete(js, rt.text_arg(bucket, "bucket")))
        return True

    # -- Object Store -------------------------------------------------------------------------

    def create_object_store(self, bucket: Optional[str] = None, config: Any = None, **params: Any) -> "ObjectStore":
        """Creates an object bucket (or opens an identical one): ``description``, ``ttl``
        (seconds), ``max_bytes``, ``storage``, ``replicas``, ``compression``, ``metadata``."""
        from .obj import ObjectStore, object_config  # noqa: PLC0415

        name, settings = object_config(bucket, config, params)
        return ObjectStore(self, name, settings)

    def object_store(self, bucket: str) -> "ObjectStore":
        """Opens an existing object bucket; BucketNotFoundError when there is none."""
        from .obj import ObjectStore  # noqa: PLC0415

        return ObjectStore(self, bucket)

    def delete_object_store(self, bucket: str) -> bool:
        from .kv import kv_check  # noqa: PLC0415

        with self._handle.use() as js:
            kv_check(lib.snats_obj_bucket_delete(js, rt.text_arg(bucket, "bucket")))
        return True

    # -- stored messages ----------------------------------------------------------------------

    def get_msg(self, stream_name: str, seq: Optional[int] = None, subject: Optional[str] = None, direct: bool = False,
                next: bool = False) -> RawStreamMsg:
        """A stored message: at @p seq, the last on @p subject, or (@p next) the first on
        @p subject at or after @p seq; @p direct asks any replica (streams with
        ``allow_direct``). Raises MsgNotFoundError."""
        sequence, subj = get_msg_arguments(seq, subject, next)
        out = ctypes.c_void_p()
        getter = lib.snats_js_stream_direct_get if direct else lib.snats_js_stream_get_msg
        with self._handle.use() as js:
            _check(getter(ctypes.byref(out), js, rt.text_arg(stream_name, "stream"), sequence, subj))
        return RawStreamMsg.of(Msg._take(rt.out_ptr(out, "message"), None))  # no client: nothing to answer

    def get_last_msg(self, stream_name: str, subject: str, direct: bool = False) -> RawStreamMsg:
        """The last message stored on @p subject."""
        return self.get_msg(stream_name, subject=subject, direct=direct)

    # -- pulling ------------------------------------------------------------------------------

    def pull_subscribe(self, subject: str, durable: Optional[str] = None, stream: Optional[str] = None,
                       config: Any = None) -> "PullSubscription":
        """A pull subscription on @p subject: binds the consumer @p durable when it exists, else
        creates it (explicit acks, filtered on @p subject, with @p config's other settings);
        without @p durable, an ephemeral consumer, deleted by ``unsubscribe()``."""
        stream = stream or self.find_stream_name_by_subject(subject)
        if durable is not None:
            try:
                self.consumer_info(stream, durable)
                return PullSubscription(self, stream, durable, ephemeral=False)
            except NotFoundError:
                pass
        info = self.add_consumer(stream, pull_consumer_config(subject, config, durable))
        return PullSubscription(self, stream, info.name, ephemeral=durable is None)

    def pull_subscribe_bind(self, durable: str, stream: str) -> "PullSubscription":
        """A pull subscription on an existing consumer."""
        self.consumer_info(stream, durable)
        return PullSubscription(self, stream, durable, ephemeral=False)

    def subscribe(self, subject: str, queue: str = "", cb: Optional[Callable[[Msg], None]] = None,
                  durable: Optional[str] = None, stream: Optional[str] = None, config: Any = None,
                  manual_ack: bool = False, ordered_consumer: bool = False, deliver_policy: Optional[str] = None,
                  headers_only: Optional[bool] = None, pending_msgs_limit: Optional[int] = None,
                  pending_bytes_limit: Optional[int] = None) -> "Subscription":
        """A subscription fed by a consumer (nats.py's ``js.subscribe``), as any subscription:
        ``cb(msg)`` on the delivery pool, or ``next_msg()``. Under it the library pulls
        continuously (no push consumer, no flow control to answer).

        @p ordered_consumer: an ordered consumer of @p subject (no acks; nothing twice or out of
        order, across reconnects). Else the consumer @p durable (or @p queue: subscribers
        sharing it share the messages) is used, made when missing; without either, an
        ephemeral one (gone 5 s after the subscription). With @p cb and acks, each message is
        acked when @p cb returns unless @p manual_ack or it was acknowledged. A @p durable that
        is a push consumer (it has a ``deliver_subject``) is subscribed to as one: its flow
        control is answered and its heartbeats kept from @p cb."""
        stream = stream or self.find_stream_name_by_subject(subject)
        info: Optional[Info] = None
        if not ordered_consumer:
            durable = durable or queue or None
            if durable is not None:
                try:
                    info = self.consumer_info(stream, durable)
                except NotFoundError:
                    info = None
            if info is None:
                info = self.add_consumer(stream, pull_consumer_config(subject, config, durable, deliver_policy,
                                                                      headers_only, ephemeral=True))
        make, acks = subscription_maker(self._handle, stream, info, ordered_options(subject, deliver_policy, headers_only))
        handler = cb
        if cb is not None and acks and not manual_ack:
            def handler(msg: Msg) -> None:
                cb(msg)
                if not msg._ackd:
                    msg.ack()
        return self._nc._subscribe(subject, "", handler, 0, pending_msgs_limit, pending_bytes_limit, make)

    def _fetch(self, stream: str, consumer: str, batch: int, timeout: float, max_bytes: Optional[int],
               heartbeat: Optional[float], no_wait: bool) -> List[Msg]:
        if batch <= 0:
            raise ValueError("batch must be positive")
        slots = (ctypes.c_void_p * batch)()
        count = ctypes.c_int()
        options = fetch_options(max_bytes, heartbeat, no_wait)
        with self._handle.use() as js:
            status = with_json(options, lambda doc: lib.snats_js_fetch(
                slots, batch, ctypes.byref(count), js, stream.encode(), consumer.encode(), rt.ms_arg(timeout), doc))
            error = library_error(status) if status else None
        msgs = [Msg._take(int(slots[index] or 0), self._nc) for index in range(count.value)]
        if error is not None and not msgs:
            raise error
        return msgs


class PullSubscription:
    """A pull consumer to fetch from (nats.py's ``PullSubscription``)."""

    def __init__(self, js: Any, stream: str, consumer: str, ephemeral: bool) -> None:
        self._js = js
        self.stream = stream
        self.consumer = consumer
        self._ephemeral = ephemeral

    def fetch(self, batch: int = 1, timeout: Optional[float] = 5.0, heartbeat: Optional[float] = None, *,
              max_bytes: Optional[int] = None, no_wait: bool = False) -> List[Msg]:
        """Up to @p batch messages, waiting up to @p timeout seconds for the first. Raises
        TimeoutError when none came, MissedHeartbeatError when @p heartbeat was asked and the
        server went silent, APIError when the server ended the pull (consumer deleted...)."""
        msgs: List[Msg] = self._js._fetch(self.stream, self.consumer, batch, 5.0 if timeout is None else timeout,
                                          max_bytes, heartbeat, no_wait)
        return msgs

    def consumer_info(self) -> Info:
        return self._js.consumer_info(self.stream, self.consumer)  # type: ignore[no-any-return]

    def unsubscribe(self) -> None:
        """Deletes the consumer when the subscription made it ephemeral."""
        if self._ephemeral:
            self._js.delete_consumer(self.stream, self.consumer)
            self._ephemeral = False
