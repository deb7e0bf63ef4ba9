"""A thin asyncio layer over the synchronous client, with the same names (and nats.py's).

    import asyncio
    from swiftnats import aio

    async def main():
        async with await aio.connect("nats://127.0.0.1:4222") as nc:
            async def echo(msg):
                await msg.respond(msg.data)
            await nc.subscribe("echo", cb=echo)
            print((await nc.request("echo", b"hi", timeout=1.0)).data)

    asyncio.run(main())

Blocking calls (request, flush, drain, close, next_msg) run in a worker thread
(``asyncio.to_thread``); publish only buffers, so it runs inline. Messages of a subscription
with a callback are passed from the library thread to the event loop
(``loop.call_soon_threadsafe``) and handled one at a time, in order, by one task per
subscription; callbacks may be coroutine functions or plain functions. Note that the library's
pending limits do not apply to messages already handed to the event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from dataclasses import fields
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Optional, Sequence, Tuple, Union

from . import client as _client
from .errors import ConnectionClosedError, InvalidSubscriptionError, MaxDeliveredError
from .errors import TimeoutError as SwiftNatsTimeoutError
from .headers import HeadersArg
from .msg import Msg as _SyncMsg
from .subscription import Subscription as _SyncSubscription
from ._runtime import Payload, log

__all__ = ["connect", "Client", "Subscription", "Msg"]

AsyncMsgHandler = Callable[["Msg"], Union[Awaitable[None], None]]

_MSG_FIELDS = [f.name for f in fields(_SyncMsg)]


class Msg(_SyncMsg):
    """A received message; as :class:`swiftnats.Msg`, with a coroutine :meth:`respond`."""

    async def respond(self, data: Payload = b"", headers: HeadersArg = None) -> None:  # type: ignore[override]
        _SyncMsg.respond(self, data, headers)  # only buffers: no need for a thread

    @classmethod
    def _of(cls, msg: _SyncMsg) -> "Msg":
        return cls(**{name: getattr(msg, name) for name in _MSG_FIELDS})


async def _maybe_await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


class _Bridge:
    """Runs user callbacks on the event loop, given from library threads."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.tasks: "set[asyncio.Task[None]]" = set()
        self.error_cb: Optional[Callable[..., Any]] = None
        self.subs: "weakref.WeakKeyDictionary[_SyncSubscription, Subscription]" = weakref.WeakKeyDictionary()

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: nothing can run the callback any more
            pass

    def spawn(self, coro: Awaitable[None]) -> None:
        task: "asyncio.Task[None]" = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def run_user(self, fn: Callable[..., Any], *args: Any, sub: Optional["Subscription"] = None) -> None:
        """From a library thread: schedule fn(*args) on the loop; errors go to error_cb."""

        async def run() -> None:
            try:
                await _maybe_await(fn(*args))
            except Exception as e:
                await self.report(e, sub, failed=fn)

        self.call_soon(self.spawn, run())

    async def report(self, error: BaseException, sub: Optional["Subscription"], failed: Any = None) -> None:
        cb = self.error_cb
        if cb is not None and cb is not failed:
            try:
                await _maybe_await(cb(error, sub))
                return
            except Exception:
                log.exception("swiftnats.aio: the error callback raised")
        log.error("swiftnats.aio: error (subscription: %r)", sub, exc_info=(type(error), error, error.__traceback__))


def _event_cb(bridge: "_Bridge", cb: Optional[Callable[..., Any]]) -> Optional[Callable[..., None]]:
    """A closed or disconnected callback for the sync layer: it always takes the reason, and
    hands it on when @p cb takes an argument (as the sync client does)."""
    if cb is None:
        return None
    if _client.takes_argument(cb):
        return lambda reason: bridge.run_user(cb, reason)
    return lambda reason: bridge.run_user(cb)


async def connect(
    servers: Union[str, Sequence[str]] = _client.DEFAULT_URL,
    *,
    closed_cb: Optional[Callable[..., Any]] = None,
    disconnected_cb: Optional[Callable[..., Any]] = None,
    error_cb: Optional[Callable[[BaseException, Optional["Subscription"]], Any]] = None,
    **options: Any,
) -> "Client":
    """As :func:`swiftnats.connect` (same options); callbacks may be coroutine functions and
    run on the event loop."""
    bridge = _Bridge(asyncio.get_running_loop())
    bridge.error_cb = error_cb

    def on_error(error: BaseException, sub: Optional[_SyncSubscription]) -> None:
        wrapper = bridge.subs.get(sub) if sub is not None else None
        bridge.call_soon(lambda: bridge.spawn(bridge.report(error, wrapper)))

    nc = await asyncio.to_thread(
        _client.connect,
        servers,
        closed_cb=_event_cb(bridge, closed_cb),
        disconnected_cb=_event_cb(bridge, disconnected_cb),
        error_cb=on_error,
        **options,
    )
    return Client(nc, bridge)


class Client:
    """The asyncio face of a :class:`swiftnats.Client` (made by :func:`connect`)."""

    def __init__(self, nc: _client.Client, bridge: _Bridge) -> None:
        self._nc = nc
        self._bridge = bridge

    @property
    def sync_client(self) -> _client.Client:
        """The underlying synchronous client."""
        return self._nc

    async def publish(self, subject: str, payload: Payload = b"", reply: str = "", headers: HeadersArg = None) -> None:
        self._nc.publish(subject, payload, reply=reply, headers=headers)

    async def request(self, subject: str, payload: Payload = b"", timeout: float = 0.5, headers: HeadersArg = None) -> Msg:
        reply = await asyncio.to_thread(self._nc.request, subject, payload, timeout, headers)
        return Msg._of(reply)

    async def subscribe(
        self,
        subject: str,
        queue: str = "",
        cb: Optional[AsyncMsgHandler] = None,
        max_msgs: int = 0,
        pending_msgs_limit: Optional[int] = None,
        pending_bytes_limit: Optional[int] = None,
    ) -> "Subscription":
        wrapper = Subscription(self._bridge)
        sync_cb = wrapper._start(cb) if cb is not None else None
        try:
            sub = self._nc.subscribe(
                subject, queue=queue, cb=sync_cb, max_msgs=max_msgs,
                pending_msgs_limit=pending_msgs_limit, pending_bytes_limit=pending_bytes_limit,
            )
        except BaseException:
            wrapper._stop()
            raise
        wrapper._sub = sub
        self._bridge.subs[sub] = wrapper
        return wrapper

    async def flush(self, timeout: float = 10.0) -> None:
        await asyncio.to_thread(self._nc.flush, timeout)

    async def rtt(self, timeout: float = 10.0) -> float:
        return await asyncio.to_thread(self._nc.rtt, timeout)

    async def drain(self, timeout: float = 30.0) -> None:
        await asyncio.to_thread(self._nc.drain, timeout)

    async def close(self) -> None:
        await asyncio.to_thread(self._nc.close)

    def new_inbox(self) -> str:
        return self._nc.new_inbox()

    @property
    def is_connected(self) -> bool:
        return self._nc.is_connected

    @property
    def is_closed(self) -> bool:
        return self._nc.is_closed

    @property
    def is_draining(self) -> bool:
        return self._nc.is_draining

    @property
    def stats(self) -> Dict[str, int]:
        return self._nc.stats

    @property
    def last_error(self) -> Optional[BaseException]:
        """As :attr:`swiftnats.Client.last_error`."""
        return self._nc.last_error

    @property
    def connected_url(self) -> Optional[str]:
        return self._nc.connected_url

    @property
    def server_info(self) -> Dict[str, Any]:
        return self._nc.server_info

    @property
    def max_payload(self) -> int:
        return self._nc.max_payload

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._nc).replace("<Client", "<aio.Client", 1)


class Subscription:
    """The asyncio face of a :class:`swiftnats.Subscription`."""

    _sub: _SyncSubscription

    def __init__(self, bridge: _Bridge) -> None:
        self._bridge = bridge
        self._queue: "Optional[asyncio.Queue[Optional[Msg]]]" = None
        self._task: "Optional[asyncio.Task[None]]" = None

    # a subscription with a callback: library thread -> queue on the loop -> one task, in order
    def _start(self, cb: AsyncMsgHandler) -> Callable[[_SyncMsg], None]:
        queue: "asyncio.Queue[Optional[Msg]]" = asyncio.Queue()
        self._queue = queue
        bridge = self._bridge

        async def consume() -> None:
            while True:
                msg = await queue.get()
                if msg is None:
                    return
                try:
                    await _maybe_await(cb(msg))
                except Exception as e:
                    await bridge.report(e, self)

        self._task = asyncio.ensure_future(consume())

        def on_msg(msg: _SyncMsg) -> None:  # library thread
            bridge.call_soon(queue.put_nowait, Msg._of(msg))

        return on_msg

    def _stop(self) -> None:
        if self._queue is not None:
            self._queue.put_nowait(None)

    @property
    def subject(self) -> str:
        return self._sub.subject

    @property
    def queue(self) -> str:
        return self._sub.queue

    @property
    def delivered(self) -> int:
        return self._sub.delivered

    @property
    def dropped(self) -> int:
        return self._sub.dropped

    @property
    def pending(self) -> Tuple[int, int]:
        return self._sub.pending

    @property
    def is_valid(self) -> bool:
        return self._sub.is_valid

    async def next_msg(self, timeout: float = 1.0) -> Msg:
        return Msg._of(await asyncio.to_thread(self._sub.next_msg, timeout))

    async def unsubscribe(self, limit: int = 0) -> None:
        self._sub.unsubscribe(limit)
        if limit == 0:
            self._stop()

    async def drain(self, timeout: float = 30.0) -> None:
        try:
            await asyncio.to_thread(self._sub.drain, timeout)
        finally:
            self._stop()

    async def close(self) -> None:
        await asyncio.to_thread(self._sub.close)
        self._stop()

    @property
    def messages(self) -> AsyncIterator[Msg]:
        """Messages of a subscription without callback, until it ends (nats.py's name)."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Msg]:
        while True:
            try:
                yield await self.next_msg(timeout=3600.0)
            except SwiftNatsTimeoutError:
                continue
            except (InvalidSubscriptionError, MaxDeliveredError, ConnectionClosedError):
                return

    async def __aenter__(self) -> "Subscription":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._sub).replace("<Subscription", "<aio.Subscription", 1)
