"""The asyncio client: :func:`connect` and :class:`Client` (publish, request, flush,
subscribe, drain, close, state). How it runs is told in the package's docstring; the pump is
:mod:`._pump`, the callbacks :mod:`._events`, the subscriptions :mod:`.subscription`."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Protocol, Sequence, Set, Tuple, Union

from .. import _runtime as rt
from .. import client as _client
from .._delivery import DispatchQueue
from .._lib import lib
from .._runtime import Payload, log
from ..errors import (
    ConnectionClosedError,
    InvalidSubscriptionError,
    DrainingError,
    Status,
    _check,
    _last_error,
    error_for_status,
)
from ..errors import TimeoutError as SwiftNatsTimeoutError
from ..headers import HeadersArg, c_headers
from ._events import FLUSH_THUNK, REPLY_THUNK, Events
from ._pump import Pump
from ._util import accepts_two, is_coroutine_callable
from .msg import Msg
from .subscription import ASYNC, QUEUE, AsyncMsgHandler, Subscription

if TYPE_CHECKING:  # pragma: no cover
    from .jetstream import JetStreamContext

__all__ = ["connect", "Client"]


async def connect(
    servers: Union[str, Sequence[str]] = _client.DEFAULT_URL,
    *,
    error_cb: Optional[Callable[..., Any]] = None,
    closed_cb: Optional[Callable[..., Any]] = None,
    disconnected_cb: Optional[Callable[..., Any]] = None,
    reconnected_cb: Optional[Callable[..., Any]] = None,
    connected_cb: Optional[Callable[..., Any]] = None,
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
        connected_cb=connected_cb, discovered_server_cb=discovered_server_cb, lame_duck_mode_cb=lame_duck_mode_cb,
    )
    for name, cb in callbacks.items():
        if cb is not None and not callable(cb):
            raise TypeError(f"{name} must be callable")
    for name in ("custom_reconnect_delay", "user_jwt_cb", "signature_cb"):
        if options.get(name) is not None and is_coroutine_callable(options[name]):
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


class _Serving(Protocol):
    """A micro service or RPC server on a client (aio.micro, aio.rpc), stopped by its drain()."""

    async def _stop_serving(self) -> None: ...


class Client(Events, Pump):
    """An asyncio connection to a NATS server (made by :func:`connect`)."""

    _nc: _client.Client
    _subs: Dict[int, Subscription]  # registry key -> live subscription
    _consumers: "Set[asyncio.Task[None]]"  # coroutine-callback consumer tasks
    _draining: bool
    _drained: bool
    _close_waiters: "Set[asyncio.Task[Any]]"
    _waiters_changed: "Optional[asyncio.Future[None]]"
    # micro services and RPC servers on this client (aio.micro, aio.rpc): stopped by drain()
    _serving: "weakref.WeakSet[_Serving]"

    def __init__(self) -> None:
        raise TypeError("use await swiftnats.aio.connect() to make a Client")

    @classmethod
    def _new(cls, loop: asyncio.AbstractEventLoop, callbacks: Dict[str, Optional[Callable[..., Any]]]) -> "Client":
        self = object.__new__(cls)
        self._loop = loop
        self._thread = threading.get_ident()
        self._queue = DispatchQueue(Msg)
        self._error_cb = callbacks["error_cb"]
        self._error_cb_takes_sub = self._error_cb is not None and accepts_two(self._error_cb)
        self._callbacks = callbacks
        self._subs = {}
        self._consumers = set()
        self._tasks = set()  # tasks running connection callbacks
        # being drained (how many drains): their buffers hold back the next batch
        self._holds = {}
        self._draining = False
        self._drained = False
        self._watching = False
        self._paused = False
        self._poll = None
        self._shutdown_task = None
        self._close_waiters = set()
        self._waiters_changed = None
        self._idle_waiter = None
        self._started = False  # connected and watched (a connect cancelled meanwhile is not)
        self._serving = weakref.WeakSet()
        return self

    # -- the callbacks given to the sync connect (they run on the loop's thread) ---------------


    @property
    def sync_client(self) -> _client.Client:
        """The underlying :class:`swiftnats.Client` (bound to this loop's dispatch queue: its
        callbacks run on this loop)."""
        return self._nc

    async def publish(self, subject: str, payload: Payload = b"", reply: str = "", headers: HeadersArg = None) -> None:
        # only buffers: the outbox straight away when it takes the message (the hot path)
        if reply or headers or not self._nc._outbox.add(subject, payload):
            self._nc.publish(subject, payload, reply=reply, headers=headers)

    async def request(self, subject: str, payload: Payload = b"", timeout: float = 0.5, headers: HeadersArg = None) -> Msg:
        """Sends a request and waits up to @p timeout seconds for the first reply. Raises as
        :meth:`swiftnats.Client.request` (TimeoutError, NoRespondersError, ...)."""
        subj = rt.subject_arg(subject)
        data, size = rt.payload_arg(payload)
        ms = rt.ms_arg(timeout)
        nc = self._nc
        future: "asyncio.Future[Msg]" = self._loop.create_future()
        # the reply comes in the pump's batch under this key (no callback); a failure, to
        # REPLY_THUNK
        key = rt.register((self, future))
        try:
            if headers:
                with c_headers(headers) as hdrs, nc._use() as ptr:
                    _check(lib.snats_request_tagged(ptr, subj, hdrs, data, size, ms, key, REPLY_THUNK, key))
            else:
                with nc._use() as ptr:
                    _check(lib.snats_request_tagged(ptr, subj, None, data, size, ms, key, REPLY_THUNK, key))
        except BaseException:
            rt.unregister(key)  # with a failed status neither comes
            raise
        return await future

    async def flush(self, timeout: float = 10.0) -> None:
        """Waits until the server has processed everything sent before (PING/PONG)."""
        ms = rt.ms_arg(timeout)
        future: "asyncio.Future[None]" = self._loop.create_future()
        key = rt.register((self, future))
        try:
            with self._nc._use() as ptr:
                _check(lib.snats_conn_flush_async(ptr, ms, FLUSH_THUNK, key))
        except BaseException:
            rt.unregister(key)
            raise
        await future

    async def rtt(self, timeout: float = 10.0) -> float:
        """The round trip to the server, in seconds (a flush, timed)."""
        started = time.perf_counter()
        await self.flush(timeout)
        return time.perf_counter() - started

    async def wait_connected(self, timeout: float = 5.0) -> None:
        """As :meth:`swiftnats.Client.wait_connected`, without blocking the loop (it looks
        every 20 ms: a readiness wait, not a hot path)."""
        deadline = self._loop.time() + timeout
        while True:
            if self.is_connected or self.is_draining:
                return
            if self.is_closed:
                raise ConnectionClosedError("the client is closed")
            left = deadline - self._loop.time()
            if left <= 0:
                raise SwiftNatsTimeoutError(f"not connected within {timeout} s")
            await asyncio.sleep(min(0.02, left))

    async def unsubscribe(self, subject: str) -> int:
        """Ends every live subscription of this client on exactly @p subject (as
        :meth:`swiftnats.Client.unsubscribe`); returns how many."""
        if not isinstance(subject, str):
            raise TypeError(f"subject must be a str, not {type(subject).__name__}")
        ended = 0
        for sub in [s for s in list(self._subs.values()) if s.subject == subject]:
            try:
                await sub.unsubscribe()
                ended += 1
            except InvalidSubscriptionError:
                pass
        return ended

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
        return self._subscribe(subject, queue, cb, max_msgs, pending_msgs_limit, pending_bytes_limit)

    def _subscribe(
        self, subject: str, queue: str, cb: Optional[AsyncMsgHandler], max_msgs: int, pending_msgs_limit: Optional[int],
        pending_bytes_limit: Optional[int], make: Optional[Callable[[str, Any, Optional[int], Optional[int]], int]] = None,
    ) -> "Subscription":
        """As :meth:`subscribe`; with @p make, the subscription is made by it (a JetStream
        consume, see ``swiftnats.Client._subscribe``)."""
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
        if make is None:
            sync_sub = nc.subscribe(
                subject, queue=queue, cb=sub._push_from_sync, max_msgs=max_msgs,
                pending_msgs_limit=pending_msgs_limit, pending_bytes_limit=pending_bytes_limit,
            )
        else:
            sync_sub = nc._subscribe(subject, queue, sub._push_from_sync, max_msgs, pending_msgs_limit,
                                     pending_bytes_limit, make)
        # no message can be delivered before the pump runs again, on this thread
        sub._sub = sync_sub
        sync_sub._aio = sub  # type: ignore[attr-defined]
        if sync_sub._key is not None:
            self._subs[sync_sub._key] = sub
        return sub

    def jetstream(self, domain: Optional[str] = None, prefix: Optional[str] = None, timeout: float = 5.0,
                  publish_async_max_pending: int = 4000) -> "JetStreamContext":
        """A JetStream context whose calls are coroutines
        (:class:`swiftnats.aio.jetstream.JetStreamContext`)."""
        from .jetstream import JetStreamContext  # noqa: PLC0415 - JetStream only when used

        return JetStreamContext(self, domain=domain, prefix=prefix, timeout=timeout,
                                publish_async_max_pending=publish_async_max_pending)

    def jsm(self, domain: Optional[str] = None, prefix: Optional[str] = None, timeout: float = 5.0) -> "JetStreamContext":
        """nats.py's JetStream management object: the same context."""
        return self.jetstream(domain=domain, prefix=prefix, timeout=timeout)

    def new_inbox(self) -> str:
        return self._nc.new_inbox()

    # -- drain, close -------------------------------------------------------------------------

    async def drain(self, timeout: float = 30.0) -> None:
        """Stops the client's micro services and RPC servers (their handler coroutines answer
        what was received), unsubscribes every subscription, lets their callbacks (coroutine
        ones included) run for what is already in flight, flushes, then closes. Messages in flight for
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
        deadline = self._loop.time() + timeout
        me = asyncio.current_task()
        holds: Set[Subscription] = set()
        try:
            await self._stop_serving(deadline)
            # a drain called from a subscription's own callback must not wait for that callback
            holds = {s for s in self._subs.values() if s._mode is ASYNC and s._task is not me}
            ms = await self._hold(holds, deadline)
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

    async def _stop_serving(self, deadline: float) -> None:
        """Stops the micro services and RPC servers of this client (aio.micro, aio.rpc) before a
        drain: their stop waits for the handler coroutines of the requests received, which the
        library's drain does not know of (their C handler has returned), so that their answers
        go out before the connection closes."""
        for server in list(self._serving):
            left = deadline - self._loop.time()
            if left <= 0:
                return
            task = self._loop.create_task(server._stop_serving())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            done, _ = await asyncio.wait({task}, timeout=left)
            if done and not task.cancelled() and task.exception() is not None:
                log.error("swiftnats.aio: stopping %r before a drain failed: %r", server, task.exception())

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
                if self._drained and sub._mode is QUEUE:
                    sub._finish(ConnectionClosedError, "the connection is closed")
                else:
                    sub._end(ConnectionClosedError, "the connection is closed")
            self._subs.clear()
            self._holds.clear()
            await self._wait_tasks()
            self._run_queued()
            self._queue.destroy()


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

