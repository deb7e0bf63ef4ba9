"""JetStream for asyncio (``nc.jetstream()`` of an aio client), with nats.py's names: every call
is awaitable and none blocks the loop. The library's completions run in the connection's
dispatch queue, which the loop drains: they complete futures on the loop's thread, and no
thread waits for anyone.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from .. import _runtime as rt
from .._json import call_with_json_outcome
from .._jsapi import Info, PubAck, RawStreamMsg, publish_options, with_json
from .._lib import lib
from ..errors import NotFoundError, TimeoutError, _check
from ..headers import HeadersArg
from ..jetstream import (
    FETCH_THUNK,
    STORED_MSG_THUNK,
    JetStreamManagement,
    _context_options,
    create_context,
    fetch_options,
    get_msg_arguments,
    ordered_options,
    pull_consumer_config,
    subscription_maker,
)
from .._tagged import Settled, TaggedPublisher
from ._events import FLUSH_THUNK
from ._handlers import running_loop, settle
from ._util import set_future
from .msg import Msg

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .kv import KeyValue
    from .obj import ObjectStore

__all__ = ["JetStreamContext", "PullSubscription"]


class JetStreamContext(JetStreamManagement):
    """JetStream on an asyncio client: the management calls of
    :class:`swiftnats.jetstream.JetStreamManagement` as coroutines, publishing, pulling."""

    def __init__(self, nc: "Client", domain: Optional[str] = None, prefix: Optional[str] = None, timeout: float = 5.0,
                 publish_async_max_pending: int = 4000) -> None:
        self._aio = nc
        self._nc = nc._nc
        self._loop = nc._loop
        self._max_pending = publish_async_max_pending
        self._in_flight = 0  # asynchronous publishes whose outcome has not reached the loop
        self._room: "Optional[asyncio.Future[None]]" = None  # set while publishers wait for the window
        self._done: "Optional[asyncio.Future[None]]" = None  # set while publish_async_completed waits
        self._handle = create_context(self._nc, _context_options(domain, prefix, timeout, publish_async_max_pending))
        self._publisher = TaggedPublisher(self._handle, self._settle_publishes)

    def close(self) -> None:
        self._handle.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    async def _run(self, operation: str, arguments: Optional[Dict[str, Any]], convert: Callable[[Any], Any]) -> Any:
        future: "asyncio.Future[Any]" = self._loop.create_future()
        with self._handle.use() as js:
            call_with_json_outcome(
                lambda thunk, key: with_json(
                    arguments, lambda doc: lib.snats_js_call_async(js, operation.encode(), doc, thunk, key)),
                functools.partial(settle, future))
        return convert(await future)

    async def find_stream_name_by_subject(self, subject: str) -> str:
        names: List[str] = await self._run("stream_names", {"subject": subject}, list)
        if not names:
            raise NotFoundError(f"no stream listens on {subject!r}")
        return names[0]

    # -- publishing ---------------------------------------------------------------------------

    async def publish(self, subject: str, payload: bytes = b"", timeout: Optional[float] = None,
                      stream: Optional[str] = None, headers: HeadersArg = None, *, msg_id: Optional[str] = None,
                      expected_last_seq: Optional[int] = None, expected_last_subject_seq: Optional[int] = None,
                      expected_last_msg_id: Optional[str] = None) -> PubAck:
        """As :meth:`swiftnats.jetstream.JetStreamContext.publish`, awaited."""
        ack_future = await self.publish_async(
            subject, payload, headers, msg_id=msg_id, stream=stream, expected_last_seq=expected_last_seq,
            expected_last_subject_seq=expected_last_subject_seq, expected_last_msg_id=expected_last_msg_id)
        if timeout is None:
            return await ack_future
        try:
            return await asyncio.wait_for(ack_future, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no ack for the publish on {subject!r} within {timeout} s") from None

    async def publish_async(self, subject: str, payload: bytes = b"", headers: HeadersArg = None, *,
                            msg_id: Optional[str] = None, stream: Optional[str] = None,
                            expected_last_seq: Optional[int] = None, expected_last_subject_seq: Optional[int] = None,
                            expected_last_msg_id: Optional[str] = None) -> "asyncio.Future[PubAck]":
        """Publishes without waiting for the ack: returns a future of the :class:`PubAck`. While
        ``publish_async_max_pending`` acks are awaited, waits (without blocking the loop) for
        one to come."""
        while self._in_flight >= self._max_pending:
            if self._room is None:
                self._room = self._loop.create_future()
            await asyncio.shield(self._room)
        future: "asyncio.Future[PubAck]" = self._loop.create_future()
        options = publish_options(msg_id, stream, expected_last_seq, expected_last_subject_seq, expected_last_msg_id)
        self._publisher.publish(subject, payload, headers, options, future)
        self._in_flight += 1
        return future

    def _settle_publishes(self, settled: List[Settled]) -> None:
        """The outcomes of publishes, on the loop's thread (the library runs the context's
        callbacks in the client's dispatch queue, which the loop turns)."""
        if running_loop() is not self._loop:  # pragma: no cover - the dispatch queue runs on the loop
            try:
                self._loop.call_soon_threadsafe(self._settle_publishes, settled)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass
            return
        self._in_flight -= len(settled)
        for future, ack, error in settled:
            set_future(future, ack, error)
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)
        if self._in_flight == 0 and self._done is not None:
            done, self._done = self._done, None
            if not done.done():
                done.set_result(None)

    async def publish_async_completed(self, timeout: float = 10.0) -> None:
        """Waits until every asynchronous publish so far has its outcome. Raises TimeoutError."""
        if self._in_flight == 0:
            return
        if self._done is None:
            self._done = self._loop.create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._done), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{self._in_flight} asynchronous publishes unfinished after {timeout} s") from None

    def publish_async_pending(self) -> int:
        """How many asynchronous publishes await their outcome."""
        return self._in_flight

    # -- Key-Value ----------------------------------------------------------------------------

    async def create_key_value(self, config: Any = None, **params: Any) -> "KeyValue":
        """As :meth:`swiftnats.jetstream.JetStreamContext.create_key_value`, awaited."""
        from ..kv import bucket_config  # noqa: PLC0415
        from ._buckets import open_bucket  # noqa: PLC0415
        from .kv import KV_BUCKETS, KeyValue  # noqa: PLC0415

        bucket, settings = bucket_config(config, params)
        return KeyValue(self, bucket, await open_bucket(self, bucket, settings, KV_BUCKETS))

    async def key_value(self, bucket: str) -> "KeyValue":
        """As :meth:`swiftnats.jetstream.JetStreamContext.key_value`, awaited. Raises
        BucketNotFoundError."""
        from ._buckets import open_bucket  # noqa: PLC0415
        from .kv import KV_BUCKETS, KeyValue  # noqa: PLC0415

        return KeyValue(self, bucket, await open_bucket(self, bucket, None, KV_BUCKETS))

    async def delete_key_value(self, bucket: str) -> bool:
        from ..kv import BucketNotFoundError  # noqa: PLC0415

        try:
            await self.delete_stream("KV_" + bucket)
        except NotFoundError as error:
            raise BucketNotFoundError(str(error.detail), status=error.status, code=404, err_code=10059) from None
        return True

    # -- Object Store -------------------------------------------------------------------------

    async def create_object_store(self, bucket: Optional[str] = None, config: Any = None, **params: Any) -> "ObjectStore":
        """As :meth:`swiftnats.jetstream.JetStreamContext.create_object_store`, awaited."""
        from ..obj import object_config  # noqa: PLC0415
        from ._buckets import open_bucket  # noqa: PLC0415
        from .obj import OBJECT_BUCKETS, ObjectStore  # noqa: PLC0415

        name, settings = object_config(bucket, config, params)
        return ObjectStore(self, name, await open_bucket(self, name, settings, OBJECT_BUCKETS))

    async def object_store(self, bucket: str) -> "ObjectStore":
        """As :meth:`swiftnats.jetstream.JetStreamContext.object_store`, awaited. Raises
        BucketNotFoundError."""
        from ._buckets import open_bucket  # noqa: PLC0415
        from .obj import OBJECT_BUCKETS, ObjectStore  # noqa: PLC0415

        return ObjectStore(self, bucket, await open_bucket(self, bucket, None, OBJECT_BUCKETS))

    async def delete_object_store(self, bucket: str) -> bool:
        from ..kv import BucketNotFoundError  # noqa: PLC0415

        try:
            await self.delete_stream("OBJ_" + bucket)
        except NotFoundError as error:
            raise BucketNotFoundError(str(error.detail), status=error.status, code=404, err_code=10059) from None
        return True

    # -- stored messages ----------------------------------------------------------------------

    async def get_msg(self, stream_name: str, seq: Optional[int] = None, subject: Optional[str] = None,
                      direct: bool = False, next: bool = False) -> RawStreamMsg:
        """As :meth:`swiftnats.jetstream.JetStreamContext.get_msg`, awaited."""
        sequence, subj = get_msg_arguments(seq, subject, next)
        future: "asyncio.Future[RawStreamMsg]" = self._loop.create_future()
        key = rt.register(functools.partial(settle, future))
        try:
            with self._handle.use() as js:
                _check(lib.snats_js_stream_get_msg_async(js, rt.text_arg(stream_name, "stream"), sequence, subj, direct,
                                                         STORED_MSG_THUNK, key))
        except BaseException:
            rt.unregister(key)
            raise
        return await future

    async def get_last_msg(self, stream_name: str, subject: str, direct: bool = False) -> RawStreamMsg:
        return await self.get_msg(stream_name, subject=subject, direct=direct)

    # -- pulling ------------------------------------------------------------------------------

    async def pull_subscribe(self, subject: str, durable: Optional[str] = None, stream: Optional[str] = None,
                             config: Any = None) -> "PullSubscription":
        """As :meth:`swiftnats.jetstream.JetStreamContext.pull_subscribe`, awaited."""
        stream = stream or await self.find_stream_name_by_subject(subject)
        if durable is not None:
            try:
                await self.consumer_info(stream, durable)
                return PullSubscription(self, stream, durable, ephemeral=False)
            except NotFoundError:
                pass
        info: Info = await self.add_consumer(stream, pull_consumer_config(subject, config, durable))
        return PullSubscription(self, stream, info.name, ephemeral=durable is None)

    async def subscribe(self, subject: str, queue: str = "", cb: Optional[Callable[[Msg], Any]] = None,
                        durable: Optional[str] = None, stream: Optional[str] = None, config: Any = None,
                        manual_ack: bool = False, ordered_consumer: bool = False, deliver_policy: Optional[str] = None,
                        headers_only: Optional[bool] = None, pending_msgs_limit: Optional[int] = None,
                        pending_bytes_limit: Optional[int] = None) -> Any:
        """As :meth:`swiftnats.jetstream.JetStreamContext.subscribe`: an aio subscription fed by
        a consumer; @p cb may be ``async def``; ``next_msg()`` and ``messages`` as for any."""
        stream = stream or await self.find_stream_name_by_subject(subject)
        info: Optional[Info] = None
        if not ordered_consumer:
            durable = durable or queue or None
            if durable is not None:
                try:
                    info = await self.consumer_info(stream, durable)
                except NotFoundError:
                    info = None
            if info is None:
                info = await self.add_consumer(stream, pull_consumer_config(subject, config, durable, deliver_policy,
                                                                            headers_only, ephemeral=True))
        make, acks = subscription_maker(self._handle, stream, info, ordered_options(subject, deliver_policy, headers_only))
        handler = cb
        if cb is not None and acks and not manual_ack:
            async def handler(msg: Msg) -> None:
                result = cb(msg)
                if asyncio.iscoroutine(result):
                    await result
                if not msg._ackd:
                    await msg.ack()
        return self._aio._subscribe(subject, "", handler, 0, pending_msgs_limit, pending_bytes_limit, make)

    async def pull_subscribe_bind(self, durable: str, stream: str) -> "PullSubscription":
        await self.consumer_info(stream, durable)
        return PullSubscription(self, stream, durable, ephemeral=False)

    async def _fetch(self, stream: str, consumer: str, batch: int, timeout: float, max_bytes: Optional[int],
                     heartbeat: Optional[float], no_wait: bool) -> List[Msg]:
        if batch <= 0:
            raise ValueError("batch must be positive")
        future: "asyncio.Future[List[Msg]]" = self._loop.create_future()
        key = rt.register((functools.partial(settle, future), self._nc, Msg))
        try:
            with self._handle.use() as js:
                with_json(fetch_options(max_bytes, heartbeat, no_wait), lambda doc: _check(lib.snats_js_fetch_async(
                    js, stream.encode(), consumer.encode(), batch, rt.ms_arg(timeout), doc, FETCH_THUNK, key)))
        except BaseException:
            rt.unregister(key)
            raise
        return await future


class PullSubscription:
    """A pull consumer to fetch from, asyncio (nats.py's ``PullSubscription``)."""

    def __init__(self, js: JetStreamContext, stream: str, consumer: str, ephemeral: bool) -> None:
        self._js = js
        self.stream = stream
        self.consumer = consumer
        self._ephemeral = ephemeral

    async def fetch(self, batch: int = 1, timeout: Optional[float] = 5.0, heartbeat: Optional[float] = None, *,
                    max_bytes: Optional[int] = None, no_wait: bool = False) -> List[Msg]:
        """As :meth:`swiftnats.jetstream.PullSubscription.fetch`, awaited."""
        return await self._js._fetch(self.stream, self.consumer, batch, 5.0 if timeout is None else timeout, max_bytes,
                                     heartbeat, no_wait)

    async def consumer_info(self) -> Info:
        info: Info = await self._js.consumer_info(self.stream, self.consumer)
        return info

    async def unsubscribe(self) -> None:
        if self._ephemeral:
            await self._js.delete_consumer(self.stream, self.consumer)
            self._ephemeral = False


async def ack_sync(msg: Msg, timeout: float) -> None:
    """The double ack of an asyncio message: the confirmation awaited, the loop free."""
    from ..errors import IllegalStateError  # noqa: PLC0415
    from ..msg import _ACK_LOCK  # noqa: PLC0415

    if msg._client is None:
        raise IllegalStateError("the message was not received by a client")
    if not msg.reply:
        raise IllegalStateError("not a JetStream consumer's message: it has no reply subject")
    with _ACK_LOCK:
        if msg._ackd:
            raise IllegalStateError("the message was acknowledged already")
        msg._ackd = True
    future: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
    key = rt.register((_AckWaiter(), future))
    try:
        with msg._client._use() as conn:
            _check(lib.snats_js_ack_sync_async(conn, msg.reply.encode(), rt.ms_arg(timeout), FLUSH_THUNK, key))
    except BaseException:
        rt.unregister(key)
        msg._ackd = False
        raise
    try:
        await future
    except BaseException:
        msg._ackd = False
        raise


class _AckWaiter:
    """What FLUSH_THUNK's completion expects of its key's owner (an aio client's ``_settle``)."""

    @staticmethod
    def _settle(future: "asyncio.Future[None]", result: Any, error: Optional[BaseException]) -> None:
        settle(future, result, error)
