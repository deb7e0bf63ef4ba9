"""The asyncio client, run by the event loop itself: the same names as the synchronous client
(and nats.py's).

    import asyncio
    from swiftnats import aio

    async def main():
        async with await aio.connect("nats://127.0.0.1:4222") as nc:
            async def echo(msg):
                await msg.respond(msg.data)
            await nc.subscribe("echo", cb=echo)
            print((await nc.request("echo", b"hi", timeout=1.0)).data)

    asyncio.run(main())

How it runs (no library thread ever runs Python code of an aio client, and no thread is made
per subscription, request or flush):

- :func:`connect` makes a dispatch queue (``snats_dispatch_queue``) and binds the connection to
  it: the library then runs every C callback of the connection (connection events, async
  request and flush completions, micro and RPC handlers) only inside
  ``snats_dispatch_queue_dispatch()``, and every subscription is bound to the queue without a C
  callback (``snats_subscribe_on()``), its messages taken in tagged batches
  (``snats_dispatch_queue_next_msgs()``). Connecting itself runs in a worker thread.
- The queue's descriptor is registered with ``loop.add_reader``; it is readable while work
  waits. The *pump* takes batches and runs the queued callbacks, both without waiting, until
  neither has more, at most a few rounds per wake-up (the descriptor stays readable when work
  is left, so the loop comes back after its other callbacks).
- Plain callbacks run inline in the pump, in order. ``async def`` callbacks run one at a time
  per subscription, in order: each subscription has a buffer and a consumer task that exists
  only while the buffer has messages. :meth:`Subscription.next_msg` reads such a buffer too.
  These buffers apply the subscription's pending limits as the library does (past them,
  messages are dropped, counted in ``dropped`` and reported once per episode as
  :class:`~swiftnats.SlowConsumerError`); ``pending`` and ``delivered`` count them.
- :meth:`Client.request` and :meth:`Client.flush` are ``snats_request_async`` /
  ``snats_conn_flush_async``: their completion runs in the pump and completes a future.
- :meth:`Client.drain` runs ``snats_conn_drain`` in a worker thread while the loop keeps
  pumping; while a drain runs, the next batch is only taken once the buffers of the
  subscriptions being drained are empty (the library counts a taken batch as being handled
  until the next take), so a drain ends after every coroutine callback has run.
- :meth:`Client.close` closes the connection (``snats_conn_close`` in a worker thread, the
  loop pumping meanwhile), runs what that queued (the closed callback, failed requests), stops
  watching the descriptor, ends every subscription task and waits for the tasks running
  callbacks: no task is left pending. A client the library closes (server gone for good)
  ends the same way by itself.
- The connection's micro and RPC handlers run on the loop's thread too. A blocking call of
  ``sync_client`` made on the loop's thread blocks the loop, and one that waits for a handler
  of this connection (a sync request to its own subscription, ``micro.ping`` of its own
  service) waits until its timeout: use the awaitable methods, or ``asyncio.to_thread``.

Connection callbacks (error_cb, disconnected_cb, closed_cb, reconnected_cb,
discovered_server_cb, lame_duck_mode_cb) may be plain functions or coroutine functions and run
on the event loop's thread. ``error_cb(error, subscription)`` may also take the error alone (as
nats.py's). custom_reconnect_delay, user_jwt_cb and signature_cb must return their value and
run on library threads, as in the synchronous client.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import functools
import inspect
import threading
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Deque, Dict, List, Optional, Sequence, Set, Tuple, Union

from . import _runtime as rt
from . import client as _client
from ._delivery import DispatchQueue
from ._lib import FLUSH_HANDLER, REPLY_HANDLER, lib
from .errors import (
    ConnectionClosedError,
    DrainingError,
    IllegalStateError,
    InvalidArgumentError,
    InvalidSubscriptionError,
    MaxDeliveredError,
    SlowConsumerError,
    Status,
    SwiftNatsError,
    _check,
    _last_error,
    error_for_status,
)
from .errors import TimeoutError as SwiftNatsTimeoutError
from .headers import HeadersArg, c_headers
from .msg import Msg as _SyncMsg
from .subscription import Subscription as _SyncSubscription
from ._runtime import Payload, log

__all__ = ["connect", "Client", "Subscription", "Msg"]

AsyncMsgHandler = Callable[["Msg"], Union[Awaitable[None], None]]

#: per wake-up of the pump: at most this many rounds of (take a batch, run queued callbacks)
_PUMP_ROUNDS = 8
#: queued C callbacks run per round
_DISPATCH_MAX = 256
#: while a drain holds back the next batch, the descriptor is not watched (it would stay
#: readable) and queued callbacks are run every this many seconds
_HOLD_POLL = 0.002


class Msg(_SyncMsg):
    """A received message; as :class:`swiftnats.Msg`, with a coroutine :meth:`respond`."""

    async def respond(self, data: Payload = b"", headers: HeadersArg = None) -> None:  # type: ignore[override]
        _SyncMsg.respond(self, data, headers)  # only buffers: nothing to wait for

    @classmethod
    def _of(cls, msg: _SyncMsg) -> "Msg":
        copy = object.__new__(cls)
        copy.__dict__.update(msg.__dict__)
        return copy


def _is_coroutine_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def _accepts_two(fn: Callable[..., Any]) -> bool:
    """Whether @p fn can take two positional arguments (error_cb(error, subscription)); a
    nats.py-style error_cb(error) cannot."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    count = 0
    for p in params:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return True
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count >= 2


def _set_future(future: "asyncio.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
    if future.done():  # cancelled by its awaiter
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


# --------------------------------------------------------------------------------------------
# Completions of snats_request_async() / snats_conn_flush_async(): the closure is a registry
# key of (client, future). They run in the pump (on the loop's thread); once the connection
# has ended, on the thread that ended it (then handed to the loop).
# --------------------------------------------------------------------------------------------


def _on_reply(conn: Optional[int], status: int, reply: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            entry = rt.lookup(closure)
            rt.unregister(closure)
            if entry is None:
                return
            client, future = entry
            if status == Status.OK and reply:
                client._settle(future, Msg._copy(reply, client._nc), None)  # borrowed: copy now
            else:
                st = status if status != Status.OK else Status.ERR
                client._settle(future, None, error_for_status(st, _last_error()))
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover - a bug here must not pass silently
        log.exception("swiftnats.aio: error completing a request")


def _on_flush(conn: Optional[int], status: int, closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            entry = rt.lookup(closure)
            rt.unregister(closure)
            if entry is None:
                return
            client, future = entry
            error = None if status == Status.OK else error_for_status(status, _last_error())
            client._settle(future, None, error)
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover
        log.exception("swiftnats.aio: error completing a flush")


_REPLY_THUNK = REPLY_HANDLER(_on_reply)
_FLUSH_THUNK = FLUSH_HANDLER(_on_flush)

_CALLBACK_NAMES = (
    "error_cb", "closed_cb", "disconnected_cb", "reconnected_cb", "discovered_server_cb", "lame_duck_mode_cb",
)


async def connect(
    servers: Union[str, Sequence[str]] = _client.DEFAULT_URL,
    *,
    error_cb: Optional[Callable[..., Any]] = None,
    closed_cb: Optional[Callable[..., Any]] = None,
    disconnected_cb: Optional[Callable[..., Any]] = None,
    reconnected_cb: Optional[Callable[..., Any]] = None,
    discovered_server_cb: Optional[Callable[..., Any]] = None,
    lame_duck_mode_cb: Optional[Callable[..., Any]] = None,
    **options: Any,
) -> "Client":
    """As :func:`swiftnats.connect` (same options). The connection callbacks may be plain or
    coroutine functions; they run on the event loop's thread. ``closed_cb`` and
    ``disconnected_cb`` receive the reason when they take an argument (as in the sync
    client); ``error_cb`` receives ``(error, subscription)``, or ``(error)`` when it takes one
    argument."""
    callbacks = dict(
        error_cb=error_cb, closed_cb=closed_cb, disconnected_cb=disconnected_cb, reconnected_cb=reconnected_cb,
        discovered_server_cb=discovered_server_cb, lame_duck_mode_cb=lame_duck_mode_cb,
    )
    for name, cb in callbacks.items():
        if cb is not None and not callable(cb):
            raise TypeError(f"{name} must be callable")
    for name in ("custom_reconnect_delay", "user_jwt_cb", "signature_cb"):
        if options.get(name) is not None and _is_coroutine_callable(options[name]):
            raise TypeError(f"{name} must be a plain function (it returns its value to the library)")
    loop = asyncio.get_running_loop()
    client = Client._new(loop, callbacks)
    connect_call = functools.partial(
        _client.connect, servers, _dispatch_queue=client._queue, **client._sync_callbacks(), **options
    )
    future = loop.run_in_executor(None, connect_call)
    try:
        nc = await asyncio.shield(future)  # cancelled, the connect goes on: see below
    except asyncio.CancelledError:
        # the worker thread connects anyway: close what it makes, then release the queue
        def abandon(f: "asyncio.Future[_client.Client]") -> None:
            if not f.cancelled() and f.exception() is None:
                f.result().close()
            client._queue.destroy()

        future.add_done_callback(abandon)
        raise
    except BaseException:
        client._queue.destroy()
        raise
    client._start(nc)
    return client


class Client:
    """An asyncio connection to a NATS server (made by :func:`connect`)."""

    _nc: _client.Client

    def __init__(self) -> None:
        raise TypeError("use await swiftnats.aio.connect() to make a Client")

    @classmethod
    def _new(cls, loop: asyncio.AbstractEventLoop, callbacks: Dict[str, Optional[Callable[..., Any]]]) -> "Client":
        self = object.__new__(cls)
        self._loop = loop
        self._thread = threading.get_ident()
        self._queue = DispatchQueue(Msg)
        self._error_cb = callbacks["error_cb"]
        self._error_cb_takes_sub = self._error_cb is not None and _accepts_two(self._error_cb)
        self._callbacks = callbacks
        self._subs: Dict[int, Subscription] = {}  # registry key -> live subscription
        self._consumers: Set["asyncio.Task[None]"] = set()  # coroutine-callback consumer tasks
        self._tasks: Set["asyncio.Task[Any]"] = set()  # tasks running connection callbacks
        # being drained (how many drains): their buffers hold back the next batch
        self._holds: Dict[Subscription, int] = {}
        self._draining = False
        self._drained = False
        self._watching = False
        self._paused = False
        self._poll: Optional[asyncio.TimerHandle] = None
        self._shutdown_task: "Optional[asyncio.Task[None]]" = None
        self._close_waiters: Set["asyncio.Task[Any]"] = set()
        self._waiters_changed: "Optional[asyncio.Future[None]]" = None
        self._idle_waiter: "Optional[asyncio.Future[None]]" = None
        self._started = False  # connected and watched (a connect cancelled meanwhile is not)
        return self

    # -- the callbacks given to the sync connect (they run on the loop's thread) ---------------

    def _sync_callbacks(self) -> Dict[str, Any]:
        cbs = self._callbacks

        def event(name: str, with_reason: bool) -> Optional[Callable[..., None]]:
            cb = cbs[name]
            if cb is None:
                return None
            wants = with_reason and _client.takes_argument(cb)
            if with_reason:
                return lambda reason: self._call_user(cb, (reason,) if wants else ())
            return lambda: self._call_user(cb, ())

        closed = event("closed_cb", True)

        def on_closed(reason: Any) -> None:
            if closed is not None:
                closed(reason)
            # closed by the library (server gone, reconnect given up, drain): end the client
            if self._started and self._shutdown_task is None:
                if self._on_loop_thread():
                    self._begin_shutdown()
                else:
                    self._to_loop(self._begin_shutdown)

        return dict(
            error_cb=self._on_sync_error,
            closed_cb=on_closed,
            disconnected_cb=event("disconnected_cb", True),
            reconnected_cb=event("reconnected_cb", False),
            discovered_server_cb=event("discovered_server_cb", False),
            lame_duck_mode_cb=event("lame_duck_mode_cb", False),
        )

    def _on_sync_error(self, error: BaseException, sub: Optional[_SyncSubscription]) -> None:
        self._report(error, getattr(sub, "_aio", None) if sub is not None else None)

    def _on_loop_thread(self) -> bool:
        """True on the loop's thread while the loop is open (a client never closed is closed
        at exit, after its loop: then nothing runs on the loop any more)."""
        return threading.get_ident() == self._thread and not self._loop.is_closed()

    def _to_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: nothing can run it any more
            pass

    def _call_user(self, fn: Callable[..., Any], args: Tuple[Any, ...], is_error_cb: bool = False) -> None:
        """Runs a user callback on the loop's thread: a plain one now, a coroutine one as a task
        (awaited by close()). What it raises goes to error_cb (or to logging for error_cb).
        Once the loop is closed, a plain callback runs on the calling thread and a coroutine
        one is dropped."""
        if not self._on_loop_thread():
            if not self._loop.is_closed():
                self._to_loop(self._call_user, fn, args, is_error_cb)
                return
            try:
                result = fn(*args)
            except Exception:
                log.exception("swiftnats.aio: a callback raised after its event loop closed")
                return
            if inspect.iscoroutine(result):
                result.close()  # nothing can run it
            return
        try:
            result = fn(*args)
        except Exception as e:
            self._user_failed(e, is_error_cb)
            return
        if inspect.isawaitable(result):
            self._spawn(self._await_user(result, is_error_cb))

    async def _await_user(self, awaitable: Awaitable[Any], is_error_cb: bool) -> None:
        try:
            await awaitable
        except Exception as e:
            self._user_failed(e, is_error_cb)

    def _user_failed(self, error: BaseException, is_error_cb: bool) -> None:
        if is_error_cb:
            log.error("swiftnats.aio: the error callback raised", exc_info=(type(error), error, error.__traceback__))
        else:
            self._report(error, None)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = self._loop.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self, error: BaseException, sub: Optional["Subscription"]) -> None:
        """Gives @p error (asynchronous, or raised by a callback) to error_cb, or to logging."""
        cb = self._error_cb
        if cb is not None:
            self._call_user(cb, (error, sub) if self._error_cb_takes_sub else (error,), is_error_cb=True)
        elif isinstance(error, SwiftNatsError) and error.__traceback__ is None:
            log.error("swiftnats.aio: asynchronous error: %s (subscription: %r)", error, sub)
        else:
            log.error("swiftnats.aio: exception in a callback (subscription: %r)", sub,
                      exc_info=(type(error), error, error.__traceback__))

    def _settle(self, future: "asyncio.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
        if self._on_loop_thread():
            _set_future(future, result, error)
        else:
            self._to_loop(_set_future, future, result, error)

    # -- the pump -------------------------------------------------------------------------------

    def _start(self, nc: _client.Client) -> None:
        self._nc = nc
        self._started = True
        self._watch()

    def _watch(self) -> None:
        if not self._watching and self._queue.ptr is not None:
            self._loop.add_reader(self._queue.fd, self._pump)
            self._watching = True

    def _unwatch(self) -> None:
        if self._watching:
            self._loop.remove_reader(self._queue.fd)
            self._watching = False
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
        self._paused = False

    def _pump(self) -> None:
        """The queue's descriptor is readable: take batches and run queued callbacks."""
        queue = self._queue
        if queue.ptr is None:
            return
        try:
            held = False
            ran = 0
            more = False
            for _ in range(_PUMP_ROUNDS):
                more = False
                if self._holds and self._holding():
                    held = True
                else:
                    held = False
                    tags, msgs, sizes = queue.take(0, self._nc)
                    if msgs:
                        self._deliver(tags, msgs, sizes)
                        # another round: the library counts a batch as being handled until
                        # the next take (a drain waits for that), and more may wait
                        more = True
                if queue.ptr is None:
                    break
                ran = queue.dispatch(_DISPATCH_MAX, 0)
                # a round that took nothing and ran fewer than the maximum emptied the queue;
                # what comes since makes the descriptor readable again (level-triggered)
                if not (more or ran >= _DISPATCH_MAX) or queue.ptr is None:
                    more = False
                    break
            if more and queue.ptr is not None:
                self._loop.call_soon(self._pump)  # rounds used up: after the loop's other work
            elif held and not ran and queue.ptr is not None and self._pending_in_queue():
                self._pause()
        except Exception:
            log.exception("swiftnats.aio: error in the pump")
        finally:
            rt.hand_over_publishes()

    def _deliver(self, tags: List[int], msgs: List[Msg], sizes: List[int]) -> None:
        """Runs the batch: plain callbacks now, in order; buffers the rest."""
        lookup = rt.lookup
        last_tag = None
        sub: Optional[Subscription] = None
        for tag, msg, size in zip(tags, msgs, sizes):
            if tag != last_tag:
                last_tag = tag
                owner = lookup(tag)
                sub = getattr(owner, "_aio", None) if owner is not None else None
            if sub is None or sub._stopped:
                continue
            if sub._mode is _PLAIN:
                try:
                    result = sub._cb(msg)
                except Exception as e:  # user code: report, never end the delivery
                    self._report(e, sub)
                    continue
                if result is not None and inspect.isawaitable(result):
                    sub._adopt(result)  # a plain callable that returned an awaitable
            else:
                sub._push(msg, size)

    def _holding(self) -> bool:
        for sub in self._holds:
            if sub._busy():
                return True
        return False

    def _pending_in_queue(self) -> bool:
        msgs = ctypes.c_int()
        lib.snats_dispatch_queue_get_pending(ctypes.byref(msgs), None, self._queue.ptr)
        return msgs.value > 0

    def _pause(self) -> None:
        """A drain holds back the next batch: stop watching the descriptor (it stays readable
        while messages wait) and run queued callbacks by a timer until the hold ends."""
        if self._watching:
            self._loop.remove_reader(self._queue.fd)
            self._watching = False
        self._paused = True
        if self._poll is None:
            self._poll = self._loop.call_later(_HOLD_POLL, self._unpause)

    def _unpause(self) -> None:
        self._poll = None
        if self._paused:
            self._paused = False
            self._watch()

    def _released(self) -> None:
        """A held subscription's buffer emptied: take batches again (at once: the take tells
        the library that the last batch was handled, which a drain waits for)."""
        idle = self._idle_waiter
        if idle is not None and not idle.done():
            idle.set_result(None)
        if self._paused:
            if self._poll is not None:
                self._poll.cancel()
                self._poll = None
            self._unpause()
        if self._queue.ptr is not None:
            self._loop.call_soon(self._pump)

    # -- publish, request, subscribe ------------------------------------------------------------

    @property
    def sync_client(self) -> _client.Client:
        """The underlying :class:`swiftnats.Client` (bound to this loop's dispatch queue: its
        callbacks run on this loop)."""
        return self._nc

    async def publish(self, subject: str, payload: Payload = b"", reply: str = "", headers: HeadersArg = None) -> None:
        self._nc.publish(subject, payload, reply=reply, headers=headers)  # only buffers

    async def request(self, subject: str, payload: Payload = b"", timeout: float = 0.5, headers: HeadersArg = None) -> Msg:
        """Sends a request and waits up to @p timeout seconds for the first reply. Raises as
        :meth:`swiftnats.Client.request` (TimeoutError, NoRespondersError, ...)."""
        subj = rt.subject_arg(subject)
        data, size = rt.payload_arg(payload)
        ms = rt.ms_arg(timeout)
        nc = self._nc
        future: "asyncio.Future[Msg]" = self._loop.create_future()
        key = rt.register((self, future))
        try:
            if headers:
                with c_headers(headers) as hdrs, nc._use() as ptr:
                    _check(lib.snats_request_msg_async(ptr, subj, hdrs, data, size, ms, _REPLY_THUNK, key))
            else:
                with nc._use() as ptr:
                    _check(lib.snats_request_async(ptr, subj, data, size, ms, _REPLY_THUNK, key))
        except BaseException:
            rt.unregister(key)  # with a failed status the callback never runs
            raise
        return await future

    async def flush(self, timeout: float = 10.0) -> None:
        """Waits until the server has processed everything sent before (PING/PONG)."""
        ms = rt.ms_arg(timeout)
        future: "asyncio.Future[None]" = self._loop.create_future()
        key = rt.register((self, future))
        try:
            with self._nc._use() as ptr:
                _check(lib.snats_conn_flush_async(ptr, ms, _FLUSH_THUNK, key))
        except BaseException:
            rt.unregister(key)
            raise
        await future

    async def rtt(self, timeout: float = 10.0) -> float:
        """The round trip to the server, in seconds (a flush, timed)."""
        started = time.perf_counter()
        await self.flush(timeout)
        return time.perf_counter() - started

    async def subscribe(
        self,
        subject: str,
        queue: str = "",
        cb: Optional[AsyncMsgHandler] = None,
        max_msgs: int = 0,
        pending_msgs_limit: Optional[int] = None,
        pending_bytes_limit: Optional[int] = None,
    ) -> "Subscription":
        """Subscribes to @p subject (in queue group @p queue if given). With @p cb (a plain or
        ``async def`` function) each message is passed to it on the loop, one at a time, in
        order; without, read with :meth:`Subscription.next_msg` or ``sub.messages``. @p
        max_msgs > 0 ends it after that many messages."""
        if cb is not None and not callable(cb):
            raise TypeError("cb must be callable")
        if self._draining:
            raise DrainingError("the connection is draining")
        nc = self._nc
        default_msgs, default_bytes = nc._pending_limits
        limits = (
            default_msgs if pending_msgs_limit is None else pending_msgs_limit,
            default_bytes if pending_bytes_limit is None else pending_bytes_limit,
        )
        sub = Subscription._new(self, cb, limits, max_msgs)
        sync_sub = nc.subscribe(
            subject, queue=queue, cb=sub._push_from_sync, max_msgs=max_msgs,
            pending_msgs_limit=pending_msgs_limit, pending_bytes_limit=pending_bytes_limit,
        )
        # no message can be delivered before the pump runs again, on this thread
        sub._sub = sync_sub
        sync_sub._aio = sub  # type: ignore[attr-defined]
        if sync_sub._key is not None:
            self._subs[sync_sub._key] = sub
        return sub

    def new_inbox(self) -> str:
        return self._nc.new_inbox()

    # -- drain, close -------------------------------------------------------------------------

    async def _hold(self, subs: Set["Subscription"], deadline: float) -> int:
        """Holds back new batches while @p subs have buffered messages or a callback running,
        and waits (until @p deadline, loop time) until they have none: from then on, what they
        have buffered always comes from the last batch taken, which the library counts as
        being handled until the next take. So a library drain started now waits for their
        callbacks. Returns the milliseconds left (at least 1)."""
        for sub in subs:
            self._holds[sub] = self._holds.get(sub, 0) + 1
        loop = self._loop
        while self._holding() and loop.time() < deadline:
            waiter: "asyncio.Future[None]" = loop.create_future()
            self._idle_waiter = waiter
            try:
                await asyncio.wait({waiter}, timeout=deadline - loop.time())
            finally:
                self._idle_waiter = None
        return max(1, int((deadline - loop.time()) * 1000))

    def _unhold(self, subs: Set["Subscription"]) -> None:
        for sub in subs:
            count = self._holds.get(sub, 0) - 1
            if count > 0:
                self._holds[sub] = count
            else:
                self._holds.pop(sub, None)
        self._released()

    async def drain(self, timeout: float = 30.0) -> None:
        """Unsubscribes every subscription, lets their callbacks (coroutine ones included) run
        for what is already in flight, flushes, then closes. Messages in flight for
        subscriptions without callback stay readable with next_msg (then it raises
        ConnectionClosedError). Raises TimeoutError when not done in time (the connection is
        closed anyway), DrainingError when a drain is running, ConnectionClosedError when
        already closed."""
        rt.ms_arg(timeout)  # checks the type
        nc = self._nc
        if self._shutdown_task is not None or nc.is_closed:
            raise ConnectionClosedError("the connection is closed")
        if self._draining:
            raise DrainingError("a drain is running")
        self._draining = True
        me = asyncio.current_task()
        # a drain called from a subscription's own callback must not wait for that callback
        holds = {s for s in self._subs.values() if s._mode is _ASYNC and s._task is not me}
        try:
            ms = await self._hold(holds, self._loop.time() + timeout)
        except BaseException:
            self._draining = False
            self._unhold(holds)
            raise

        def run() -> Tuple[int, str]:
            with nc._use() as ptr:
                st = lib.snats_conn_drain(ptr, ms)
                return st, (_last_error() if st != Status.OK else "")

        try:
            status, detail = await asyncio.to_thread(run)
        finally:
            self._draining = False
            self._unhold(holds)
        if status in (Status.OK, Status.TIMEOUT):  # the library closed the connection
            self._drained = True  # what next_msg has buffered stays readable
            await self.close()
        if status != Status.OK:
            raise error_for_status(status, detail)

    async def close(self) -> None:
        """Closes the connection: flushes buffered publishes, fails pending requests with
        ConnectionClosedError, runs the closed callback, ends every subscription (cancelling
        coroutine callbacks still running) and waits for the tasks of callbacks. Idempotent;
        allowed from callbacks."""
        task = self._begin_shutdown()
        me = asyncio.current_task()
        if me is task:  # pragma: no cover
            return
        if me is not None:
            self._close_waiters.add(me)
            changed = self._waiters_changed
            if changed is not None and not changed.done():
                changed.set_result(None)
        try:
            await asyncio.shield(task)
        finally:
            if me is not None:
                self._close_waiters.discard(me)

    def _begin_shutdown(self) -> "asyncio.Task[None]":
        if self._shutdown_task is None:
            self._shutdown_task = self._loop.create_task(self._shutdown())
        return self._shutdown_task

    async def _shutdown(self) -> None:
        nc = self._nc
        try:
            # Not on the loop, which keeps pumping meanwhile: when the library has closed the
            # connection by itself, its teardown waits in the queue and snats_conn_close waits
            # for it; while reconnecting it waits for the attempt in progress.
            await asyncio.to_thread(nc._close_connection, False)
            self._run_queued()  # failed requests, the closed callback
        finally:
            self._unwatch()
            nc._release()  # destroys the connection handle
            for sub in list(self._subs.values()):
                if self._drained and sub._mode is _QUEUE:
                    sub._finish(ConnectionClosedError, "the connection is closed")
                else:
                    sub._end(ConnectionClosedError, "the connection is closed")
            self._subs.clear()
            self._holds.clear()
            await self._wait_tasks()
            self._run_queued()
            self._queue.destroy()

    def _run_queued(self) -> None:
        """Runs what waits in the queue (nothing is delivered any more: messages are dropped)."""
        queue = self._queue
        if queue.ptr is None:
            return
        for _ in range(10_000):
            try:
                _, msgs, _ = queue.take(0, None)
                ran = queue.dispatch(_DISPATCH_MAX, 0)
            except Exception:  # pragma: no cover
                log.exception("swiftnats.aio: error running the queue at close")
                return
            if not msgs and not ran:
                return

    async def _wait_tasks(self) -> None:
        """Cancels the consumer tasks and waits for them and for the tasks running callbacks;
        not for the tasks waiting in close() (they end once it returns)."""
        shutdown = asyncio.current_task()
        for task in list(self._consumers):
            if task not in self._close_waiters:
                task.cancel()
        while True:
            pending = {
                t for t in (self._consumers | self._tasks)
                if not t.done() and t is not shutdown and t not in self._close_waiters
            }
            if not pending:
                return
            changed: "asyncio.Future[None]" = self._loop.create_future()
            self._waiters_changed = changed
            try:
                await asyncio.wait(pending | {changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._waiters_changed = None
                if not changed.done():
                    changed.cancel()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- state and information ----------------------------------------------------------------

    @property
    def state(self) -> _client.ConnState:
        return self._nc.state

    @property
    def is_connected(self) -> bool:
        return self._nc.is_connected

    @property
    def is_connecting(self) -> bool:
        return self._nc.state == _client.ConnState.CONNECTING

    @property
    def is_reconnecting(self) -> bool:
        return self._nc.is_reconnecting

    @property
    def is_closed(self) -> bool:
        return self._nc.is_closed

    @property
    def is_draining(self) -> bool:
        return self._draining or self._nc.is_draining

    @property
    def servers(self) -> List[str]:
        """The server pool (configured and discovered), URLs without credentials."""
        return self._nc.servers

    @property
    def discovered_servers(self) -> List[str]:
        """The servers learned from the cluster, URLs without credentials."""
        return self._nc.discovered_servers

    @property
    def connected_url(self) -> Optional[str]:
        return self._nc.connected_url

    @property
    def stats(self) -> Dict[str, int]:
        return self._nc.stats

    @property
    def last_error(self) -> Optional[BaseException]:
        """As :attr:`swiftnats.Client.last_error`."""
        return self._nc.last_error

    @property
    def server_info(self) -> Dict[str, Any]:
        return self._nc.server_info

    @property
    def max_payload(self) -> int:
        return self._nc.max_payload

    def __repr__(self) -> str:
        return repr(self._nc).replace("<Client", "<aio.Client", 1)


# --------------------------------------------------------------------------------------------
# Subscriptions
# --------------------------------------------------------------------------------------------

_PLAIN = "plain"  # a plain callback: run inline in the pump
_ASYNC = "async"  # a coroutine callback: buffered, run by a consumer task
_QUEUE = "queue"  # no callback: buffered for next_msg()


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

    def __init__(self) -> None:
        raise TypeError("use await Client.subscribe() to make a Subscription")

    @classmethod
    def _new(cls, client: Client, cb: Optional[AsyncMsgHandler], limits: Tuple[int, int], max_msgs: int) -> "Subscription":
        self = object.__new__(cls)
        self._client = client
        self._cb = cb
        if cb is None:
            self._mode = _QUEUE
        elif _is_coroutine_callable(cb):
            self._mode = _ASYNC
        else:
            self._mode = _PLAIN
        self._msgs: Deque[Tuple[Any, int]] = collections.deque()  # (message, size)
        self._bytes = 0
        self._max_msgs, self._max_bytes = limits
        self._dropped = 0
        self._slow = False
        self._received = 0  # messages taken from the library (delivered, buffered or dropped)
        self._limit = max_msgs if max_msgs > 0 else 0
        self._task: "Optional[asyncio.Task[None]]" = None
        self._waiters: "Deque[asyncio.Future[Msg]]" = collections.deque()
        self._stopped = False  # takes no more messages
        self._end_error: Optional[Tuple[type, str]] = None  # what next_msg raises once empty
        return self

    # -- delivery (on the loop's thread, from the pump) ----------------------------------------

    def _push_from_sync(self, msg: _SyncMsg) -> None:  # pragma: no cover - the pump calls _push
        self._push(msg, len(msg.data))

    def _push(self, msg: Any, size: int) -> None:
        self._received += 1
        if self._mode is _QUEUE and not self._msgs:
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
            self._msgs.append((msg, size))
            self._bytes += size
            if self._mode is _ASYNC and self._task is None:
                self._start_consumer()
        if self._limit and self._received >= self._limit:
            self._reached_limit()

    def _adopt(self, awaitable: Awaitable[Any]) -> None:
        """The plain callback returned an awaitable: from now on, run it as a coroutine
        callback (this awaitable first), one at a time."""
        self._mode = _ASYNC
        self._msgs.append((_Started(awaitable), 0))
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
        try:
            while msgs:
                msg, size = msgs.popleft()
                self._taken(size)
                try:
                    if type(msg) is _Started:
                        await msg.awaitable
                    else:
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

    def _finish(self, cls: type, text: str) -> None:
        """The library ended the subscription (auto-unsubscribe count, drain): no more
        messages come, what is buffered is still delivered, then next_msg raises @p cls."""
        self._stopped = True
        if hasattr(self, "_sub"):
            self._client._subs.pop(self._sub._key, None)
        if self._end_error is None:
            self._end_error = (cls, text)
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        if self._msgs or self._end_error is None:
            return
        cls, text = self._end_error
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(cls(text))

    def _end(self, cls: type, text: str) -> "Optional[asyncio.Task[None]]":
        """Ends delivery: buffered messages are dropped (as the library drops what is queued),
        next_msg raises @p cls, the consumer task is cancelled (unless it is the caller, or
        waits in close()). Returns the task to wait for."""
        self._stopped = True
        self._msgs.clear()
        self._bytes = 0
        if self._end_error is None:
            self._end_error = (cls, text)
        self._wake_waiters()
        client = self._client
        if hasattr(self, "_sub"):
            client._subs.pop(self._sub._key, None)
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
        if self._mode is not _QUEUE:
            raise IllegalStateError("next_msg() on a subscription with a callback")
        if timeout is not None:
            if rt.ms_arg(timeout) <= 0:
                raise InvalidArgumentError("timeout must be positive")
        if self._msgs:
            msg, size = self._msgs.popleft()
            self._taken(size)
            if not self._msgs:
                if self in self._client._holds:
                    self._client._released()
                self._wake_waiters()
            return msg  # type: ignore[no-any-return]
        if self._end_error is not None:
            cls, text = self._end_error
            raise cls(text)
        loop = self._client._loop
        waiter: "asyncio.Future[Msg]" = loop.create_future()
        self._waiters.append(waiter)
        timer = None
        if timeout is not None:
            timer = loop.call_later(
                timeout, _set_future, waiter, None,
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
        holds = {self} if self._mode is _ASYNC and self._task is not me else set()
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
