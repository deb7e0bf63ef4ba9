"""Subscriptions of an aio client: how their messages reach a plain callback (inline in the
pump), an ``async def`` callback (a buffer and a consumer task that exists only while the
buffer has messages), or :meth:`Subscription.next_msg` (a buffer and a future per waiter).
The buffers apply the subscription's pending limits as the library does."""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Deque, List, Optional, Tuple, Type, Union, final

from .. import _runtime as rt
from ..errors import (
    ConnectionClosedError,
    IllegalStateError,
    InvalidArgumentError,
    InvalidSubscriptionError,
    MaxDeliveredError,
    SlowConsumerError,
    Status,
)
from ..errors import TimeoutError as SwiftNatsTimeoutError
from ..msg import Msg as _SyncMsg
from ..subscription import Subscription as _SyncSubscription
from ._util import is_coroutine_callable, set_future
from .msg import Msg

if TYPE_CHECKING:
    from .client import Client

__all__ = ["Subscription", "AsyncMsgHandler", "PLAIN", "ASYNC", "QUEUE"]

AsyncMsgHandler = Callable[["Msg"], Union[Awaitable[None], None]]

PLAIN = "plain"  # a plain callback: run inline in the pump
ASYNC = "async"  # a coroutine callback: buffered, run by a consumer task
QUEUE = "queue"  # no callback: buffered for next_msg()


@final  # so that ``type(x) is _Started`` narrows both ways
class _Started:
    """The awaitable a plain callback returned, run in order by the consumer task."""

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Awaitable[Any]) -> None:
        self.awaitable = awaitable


class Subscription:
    """A subscription of an aio :class:`Client` (made by ``Client.subscribe()``). One with a
    callback, or one read with :meth:`next_msg`, stays active until unsubscribed, drained,
    closed, or its connection closes."""

    _sub: _SyncSubscription
    _client: "Client"
    _cb: Optional[AsyncMsgHandler]
    _mode: str  # PLAIN, ASYNC or QUEUE
    # buffered messages (and, once a plain callback returned an awaitable, that awaitable)
    # and their sizes, side by side (a tuple each would cost the garbage collector a tracked
    # object per message)
    _msgs: "Deque[Union[Msg, _Started]]"
    _sizes: Deque[int]
    _bytes: int
    _max_msgs: int
    _max_bytes: int
    _dropped: int
    _slow: bool
    _received: int  # messages taken from the library (delivered, buffered or dropped)
    _limit: int
    _task: "Optional[asyncio.Task[None]]"
    _waiters: "Deque[asyncio.Future[Msg]]"
    _stopped: bool  # takes no more messages
    _end_error: Optional[Tuple[Type[Exception], str]]  # what next_msg raises once empty

    def __init__(self) -> None:
        raise TypeError("use await Client.subscribe() to make a Subscription")

    @classmethod
    def _new(cls, client: "Client", cb: Optional[AsyncMsgHandler], limits: Tuple[int, int], max_msgs: int) -> "Subscription":
        self = object.__new__(cls)
        self._client = client
        self._cb = cb
        if cb is None:
            self._mode = QUEUE
        elif is_coroutine_callable(cb):
            self._mode = ASYNC
        else:
            self._mode = PLAIN
        self._msgs = collections.deque()
        self._sizes = collections.deque()
        self._bytes = 0
        self._max_msgs, self._max_bytes = limits
        self._dropped = 0
        self._slow = False
        self._received = 0
        self._limit = max_msgs if max_msgs > 0 else 0
        self._task = None
        self._waiters = collections.deque()
        self._stopped = False
        self._end_error = None
        return self

    # -- delivery (on the loop's thread, from the pump) ----------------------------------------

    def _push_from_sync(self, msg: _SyncMsg) -> None:  # pragma: no cover - the pump calls _push
        # the client's dispatch queue makes aio messages; a sync one would be wrapped
        self._push(msg if isinstance(msg, Msg) else Msg._of(msg), len(msg.data))

    def _push(self, msg: Msg, size: int) -> None:
        self._received += 1
        if self._mode is QUEUE and not self._msgs:
            waiters = self._waiters
            while waiters:
                waiter = waiters.popleft()
                if not waiter.done():
                    waiter.set_result(msg)
                    if self._limit and self._received >= self._limit:
                        self._reached_limit()
                    return
        if (self._max_msgs > 0 and len(self._msgs) >= self._max_msgs) or (
            self._max_bytes > 0 and self._bytes + size > self._max_bytes
        ):
            self._dropped += 1
            if not self._slow:
                self._slow = True
                self._client._report(
                    SlowConsumerError(f"subscription on {self.subject!r}: messages dropped past the pending limits"),
                    self,
                )
        else:
            self._msgs.append(msg)
            self._sizes.append(size)
            self._bytes += size
            if self._mode is ASYNC and self._task is None:
                self._start_consumer()
        if self._limit and self._received >= self._limit:
            self._reached_limit()

    def _push_run(self, msgs: List[Msg], sizes: List[int], start: int, end: int) -> None:
        """Pushes msgs[start:end] (sizes alike), in order: at once when nothing can stop the
        run part way (no limit, no waiter, room for all of it), else one by one."""
        n = end - start
        if (
            self._limit
            or (self._mode is QUEUE and self._waiters)
            or (self._max_msgs > 0 and len(self._msgs) + n > self._max_msgs)
            or self._max_bytes > 0
        ):
            for index in range(start, end):
                if self._stopped:
                    return
                self._push(msgs[index], sizes[index])
            return
        self._received += n
        run_sizes = sizes[start:end]
        self._msgs.extend(msgs[start:end])
        self._sizes.extend(run_sizes)
        self._bytes += sum(run_sizes)
        if self._mode is ASYNC and self._task is None:
            self._start_consumer()

    def _adopt(self, awaitable: Awaitable[Any]) -> None:
        """The plain callback returned an awaitable: from now on, run it as a coroutine
        callback (this awaitable first), one at a time."""
        self._mode = ASYNC
        self._msgs.append(_Started(awaitable))
        self._sizes.append(0)
        if self._task is None:
            self._start_consumer()

    def _start_consumer(self) -> None:
        client = self._client
        task = client._loop.create_task(self._consume())
        self._task = task
        client._consumers.add(task)
        task.add_done_callback(client._consumers.discard)

    async def _consume(self) -> None:
        client = self._client
        msgs = self._msgs
        cb = self._cb
        assert cb is not None  # ASYNC mode: there is a callback
        try:
            popleft = msgs.popleft
            pop_size = self._sizes.popleft
            while msgs:
                msg = popleft()
                self._bytes -= pop_size()
                if self._slow:
                    self._taken(0)
                try:
                    if type(msg) is _Started:
                        await msg.awaitable
                    else:
                        # a coroutine callback, or a plain one that returned an awaitable once
                        # (should it return None now, the TypeError is reported below)
                        await cb(msg)  # type: ignore[misc]
                except Exception as e:  # user code: report, never end the delivery
                    client._report(e, self)
        finally:
            self._task = None
            if self in client._holds:
                client._released()

    def _taken(self, size: int) -> None:
        self._bytes -= size
        if self._slow and (self._max_msgs <= 0 or len(self._msgs) < self._max_msgs // 2):
            self._slow = False

    def _busy(self) -> bool:
        """Holds back the next batch during a drain: messages buffered or a callback running."""
        return bool(self._msgs) or self._task is not None

    def _reached_limit(self) -> None:
        """The auto-unsubscribe count was taken: the library has ended the subscription."""
        self._finish(MaxDeliveredError, "the auto-unsubscribe count was delivered")

    def _finish(self, cls: Type[Exception], text: str) -> None:
        """The library ended the subscription (auto-unsubscribe count, drain): no more
        messages come, what is buffered is still delivered, then next_msg raises @p cls."""
        self._stopped = True
        if hasattr(self, "_sub"):
            self._forget()
        if self._end_error is None:
            self._end_error = (cls, text)
        self._wake_waiters()

    def _forget(self) -> None:
        """Leaves the client's registry of live subscriptions."""
        key = self._sub._key
        if key is not None:  # always set: an aio subscription has a callback (_push_from_sync)
            self._client._subs.pop(key, None)

    def _wake_waiters(self) -> None:
        if self._msgs or self._end_error is None:
            return
        cls, text = self._end_error
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(cls(text))

    def _end(self, cls: Type[Exception], text: str) -> "Optional[asyncio.Task[None]]":
        """Ends delivery: buffered messages are dropped (as the library drops what is queued),
        next_msg raises @p cls, the consumer task is cancelled (unless it is the caller, or
        waits in close()). Returns the task to wait for."""
        self._stopped = True
        self._msgs.clear()
        self._sizes.clear()
        self._bytes = 0
        if self._end_error is None:
            self._end_error = (cls, text)
        self._wake_waiters()
        client = self._client
        if hasattr(self, "_sub"):
            self._forget()
        client._holds.pop(self, None)
        task = self._task
        if task is None or task.done():
            return None
        me = asyncio.current_task()
        if task is me or task in client._close_waiters:
            return None
        task.cancel()
        return task

    @staticmethod
    async def _wait_for(task: "Optional[asyncio.Task[None]]") -> None:
        if task is not None:
            await asyncio.wait({task})

    # -- API ----------------------------------------------------------------------------------

    @property
    def subject(self) -> str:
        return self._sub.subject

    @property
    def queue(self) -> str:
        return self._sub.queue

    @property
    def delivered(self) -> int:
        """Messages delivered: callbacks started (or messages returned by next_msg)."""
        return max(0, self._sub.delivered - len(self._msgs) - self._dropped)

    @property
    def dropped(self) -> int:
        """Messages dropped because the pending limits were reached."""
        return self._sub.dropped + self._dropped

    @property
    def pending(self) -> Tuple[int, int]:
        """(messages, bytes) waiting for delivery."""
        msgs, nbytes = self._sub.pending
        return msgs + len(self._msgs), nbytes + self._bytes

    @property
    def pending_msgs(self) -> int:
        return self.pending[0]

    @property
    def pending_bytes(self) -> int:
        return self.pending[1]

    @property
    def is_valid(self) -> bool:
        return self._sub.is_valid

    async def next_msg(self, timeout: Optional[float] = 1.0) -> Msg:
        """The next message of a subscription without callback, waiting up to @p timeout
        seconds (None: no limit). Raises TimeoutError (also an ``asyncio.TimeoutError``),
        MaxDeliveredError (the auto-unsubscribe count was delivered), InvalidSubscriptionError
        (unsubscribed), ConnectionClosedError, or IllegalStateError for a subscription with a
        callback."""
        if self._mode is not QUEUE:
            raise IllegalStateError("next_msg() on a subscription with a callback")
        if timeout is not None:
            if rt.ms_arg(timeout) <= 0:
                raise InvalidArgumentError("timeout must be positive")
        if self._msgs:
            msg = self._msgs.popleft()
            self._taken(self._sizes.popleft())
            if not self._msgs:
                if self in self._client._holds:
                    self._client._released()
                self._wake_waiters()
            assert type(msg) is not _Started  # only ASYNC mode buffers those
            return msg
        if self._end_error is not None:
            cls, text = self._end_error
            raise cls(text)
        loop = self._client._loop
        waiter: "asyncio.Future[Msg]" = loop.create_future()
        self._waiters.append(waiter)
        timer = None
        if timeout is not None:
            timer = loop.call_later(
                timeout, set_future, waiter, None,
                SwiftNatsTimeoutError(f"no message within {timeout} s", Status.TIMEOUT),
            )
        try:
            return await waiter
        finally:
            if timer is not None:
                timer.cancel()
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass

    async def unsubscribe(self, limit: int = 0) -> None:
        """Ends the subscription now (limit == 0: buffered messages are dropped and a running
        coroutine callback is cancelled, unless it is the caller), or after @p limit messages
        in all (limit > 0)."""
        self._sub.unsubscribe(limit)
        if limit > 0:
            self._limit = limit
            if self._received >= limit:
                self._reached_limit()
            return
        await self._wait_for(self._end(InvalidSubscriptionError, "the subscription is unsubscribed"))

    async def drain(self, timeout: float = 30.0) -> None:
        """Unsubscribes, then waits until every message in flight was handled: its callback
        run, or (without callback) buffered for next_msg, which returns them before raising
        InvalidSubscriptionError. Raises TimeoutError when not done in time (the subscription
        ends anyway)."""
        client = self._client
        rt.ms_arg(timeout)  # checks the type
        me = asyncio.current_task()
        holds = {self} if self._mode is ASYNC and self._task is not me else set()
        ms = await client._hold(holds, client._loop.time() + timeout)
        try:
            await asyncio.to_thread(self._sub.drain, ms / 1000)
        finally:
            client._unhold(holds)
            # what is still buffered (drained from its own callback, or a timeout) is delivered
            self._finish(InvalidSubscriptionError, "the subscription is drained")

    async def close(self) -> None:
        """Unsubscribes if still active and frees the subscription. Idempotent."""
        self._sub.close()
        await self._wait_for(self._end(InvalidSubscriptionError, "the subscription is closed"))

    @property
    def messages(self) -> AsyncIterator[Msg]:
        """Messages of a subscription without callback, until it ends (nats.py's name)."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Msg]:
        while True:
            try:
                yield await self.next_msg(timeout=None)
            except (InvalidSubscriptionError, MaxDeliveredError, ConnectionClosedError):
                return

    async def __aenter__(self) -> "Subscription":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        sub = getattr(self, "_sub", None)
        if sub is None:
            return f"<aio.Subscription {self._mode} (subscribing)>"
        return repr(sub).replace("<Subscription", "<aio.Subscription", 1).replace(" async ", f" {self._mode} ", 1)
