"""Namespaced remote procedure calls for asyncio: :class:`swiftnats.rpc.RPC` with the same
names, awaitable where they block. Also importable as ``swiftnats.rpc.AsyncRPC``.

    from swiftnats import aio

    async with await aio.connect(url) as nc, aio.rpc.RPC(nc, namespace="myapp") as rpc:
        @rpc.method("math.add")
        async def add(a: float, b: float) -> float:
            return a + b

        @rpc.method
        async def countdown(n: int):
            for i in range(n, 0, -1):
                yield i                                  # streamed item by item

        await rpc.start()
        await rpc.call("math.add", {"a": 5, "b": 3})    # 8
        [x async for x in rpc.call_stream("countdown", [3])]   # [3, 2, 1]

Serving. On an aio client the library runs every method handler on the event loop's thread
(inside the client's pump). A plain function (or generator) runs right there, as in the sync
module; an ``async def`` function or async generator (or a plain function returning an
awaitable) runs as a task of the loop: the call is kept (``snats_rpc_request_retain``), its
result answered when the coroutine returns, an async generator's items sent one by one as it
yields them (``snats_rpc_request_send_item``, then ``snats_rpc_request_end_stream``). Calls of
one method run one at a time, in order, unless it was registered with ``concurrency`` N (then
up to N at once). Exceptions answer as in the sync module: :class:`RPCError` with its code,
anything else -32603 with the traceback. On a sync :class:`swiftnats.Client` plain handlers run
on the library's threads and coroutines on the loop running at :meth:`RPC.start`.

Calling. :meth:`RPC.call`, :meth:`RPC.call_batch` and :meth:`RPC.call_async` use the library's
callback form (``snats_rpc_client_call_cb``), whose callbacks run as connection events: on the
loop for an aio client, where they complete the futures directly (no thread is involved).
:meth:`RPC.call_stream` and :meth:`RPC.describe` do the same with
``snats_rpc_client_call_stream_cb`` (each item handed to the async iterator as it comes) and
``snats_rpc_client_describe_cb``.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import itertools
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .. import rpc as _rpc
from .._json import json_value
from .._lib import lib
from .._runtime import log
from ..errors import (
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    MethodNotFoundError,
    NotFoundError,
    ParseError,
    RPCError,
    SlowConsumerError,
    SwiftNatsError,
)
from ..errors import TimeoutError as SwiftNatsTimeoutError
from ..rpc.proxy import AsyncProxy
from ..rpc.references import REF_KEY, CallableReference, Reference, reference_infos
from ..rpc import MethodInfo, describe_parameters
from ..rpc._wire import _DEFAULT_TIMEOUT, Params, _batch_calls
from ..rpc.serving import _answer_exception, _answer_result, _end_stream, _Method, _send
from ._handlers import HandlerLoop, Lane, running_loop, settle

__all__ = [
    "RPC",
    "AsyncStream",
    "MethodInfo",
    "RPCError",
    "ParseError",
    "InvalidRequestError",
    "MethodNotFoundError",
    "InvalidParamsError",
    "InternalError",
    "describe_parameters",
]

#: how long stop() and close() wait for handler coroutines before cancelling them (the library
#: waits as long for its handlers)
STOP_WAIT = 30.0

_END = object()


def _aio_client(nc: Any) -> Any:
    from .client import Client  # noqa: PLC0415 - the package imports this module

    return nc if isinstance(nc, Client) else None


# --------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------


class _LoopMethod(_Method):
    """A registered function whose coroutines run on the loop, in the method's lane."""

    def __init__(self, owner: "_LoopRPC", name: str, fn: Callable[..., Any], concurrency: int) -> None:
        super().__init__(owner, name, fn)
        self.lane = Lane(owner._handlers, concurrency)

    def dispatch(self, req: int, params_ptr: Optional[int]) -> None:
        """In the library's call (on the loop for an aio client)."""
        try:
            result = self.invoke(json_value(params_ptr))  # a coroutine function only makes one
            if inspect.isasyncgen(result) or inspect.isawaitable(result):
                lib.snats_rpc_request_retain(req)  # answered when the coroutine is done
                self.lane.submit(functools.partial(self._run, req, result), functools.partial(self._drop, req, result))
            else:
                _answer_result(req, result)
        except Exception as e:  # noqa: BLE001 - the caller hears about it
            _answer_exception(req, e)

    async def _run(self, req: int, result: Any) -> None:
        """On the loop: awaits the coroutine, or sends the async generator's items."""
        try:
            if inspect.isasyncgen(result):
                async for item in result:
                    _send(lib.snats_rpc_request_send_item, req, item)
                _end_stream(req)
            else:
                _send(lib.snats_rpc_request_respond, req, await result)
        except Exception as e:  # noqa: BLE001
            _answer_exception(req, e)
        except asyncio.CancelledError:
            lib.snats_rpc_request_fail(req, f"the call of {self.name} was cancelled: its server is closing".encode(), None)
            raise
        finally:
            lib.snats_rpc_request_release(req)

    def _drop(self, req: int, result: Any) -> None:
        """A call that cannot run (the loop closed, or the server's tasks ended)."""
        try:
            if inspect.iscoroutine(result):
                result.close()
            lib.snats_rpc_request_fail(req, f"the call of {self.name} was dropped: its server is closing".encode(), None)
        finally:
            lib.snats_rpc_request_release(req)


class _LoopRPC(_rpc.RPC):
    """The sync object underneath, whose methods run their coroutines on the loop."""

    def __init__(self, nc: Any, namespace: Union[str, Sequence[str]], root: Optional[str], timeout: float,
                 handlers: HandlerLoop, check_types: bool, heartbeat: float,
                 reference: Optional[Dict[str, Any]] = None) -> None:
        self._handlers = handlers
        super().__init__(nc, namespace, root=root, timeout=timeout, check_types=check_types, heartbeat=heartbeat,
                         reference=reference)

    def _new_method(self, name: str, fn: Callable[..., Any], concurrency: int) -> _Method:
        return _LoopMethod(self, name, fn, concurrency)

    def _reference_proxy(self, reference: Dict[str, Any]) -> Any:
        """A handler's proxy to a reference, for ``await``: calls complete on the loop."""
        client = self._handlers.client
        caller = RPC(client if client is not None else self._nc, timeout=self.timeout, heartbeat=self.heartbeat,
                     reference=reference)
        proxy = AsyncProxy(caller)
        proxy._learn(reference_infos(reference))
        return CallableReference(proxy) if reference[REF_KEY].get("function") else proxy


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


class RPC:
    """Server and client of a namespace (or a namespace group), as :class:`swiftnats.rpc.RPC`,
    for asyncio. ``nc`` is an aio client (everything runs on its loop) or a sync one. An async
    context manager that closes it."""

    def __init__(self, nc: Any, namespace: Union[str, Sequence[str]] = "default", *, root: Optional[str] = None,
                 timeout: float = _DEFAULT_TIMEOUT, check_types: bool = True, heartbeat: float = 1.0,
                 reference: Optional[Dict[str, Any]] = None) -> None:
        client = _aio_client(nc)
        self._handlers = HandlerLoop(client, client._loop if client is not None else running_loop())
        self._rpc = _LoopRPC(nc, namespace, root, timeout, self._handlers, check_types, heartbeat, reference)
        self._pending: "Dict[int, asyncio.Future[Any]]" = {}  # call_async ids
        self._remote: Optional[AsyncProxy] = None
        self._ids = itertools.count(1)
        if client is not None:
            client._serving.add(self)  # its drain() stops the servers first

    @property
    def sync(self) -> _rpc.RPC:
        """The underlying thread-based object (its blocking calls block the loop)."""
        return self._rpc

    @property
    def namespaces(self) -> Tuple[str, ...]:
        return self._rpc.namespaces

    @property
    def namespace(self) -> str:
        return self._rpc.namespace

    @property
    def root(self) -> Optional[str]:
        return self._rpc.root

    @property
    def timeout(self) -> float:
        """The default timeout of calls, in seconds."""
        return self._rpc.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._rpc.timeout = value

    @property
    def reference(self) -> Optional[Dict[str, Any]]:
        """The reference this object calls, None for a client of namespaces."""
        return self._rpc.reference

    def lend(self, target: Any) -> Reference:
        """As :meth:`swiftnats.rpc.RPC.lend`: lends @p target until revoked (its calls
        run on the loop as this object's handlers do)."""
        return self._rpc.lend(target)

    @property
    def heartbeat(self) -> float:
        """The liveness interval of calls, in seconds, as :attr:`swiftnats.rpc.RPC.heartbeat`."""
        return self._rpc.heartbeat

    @heartbeat.setter
    def heartbeat(self, seconds: float) -> None:
        self._rpc.heartbeat = seconds

    # -- serving -------------------------------------------------------------------------------

    def register_handler(self, method: str, handler: Callable[..., Any], **options: Any) -> None:
        """As :meth:`swiftnats.rpc.RPC.register_handler` (params, description, concurrency).
        Does not block, except for a flush when the server already runs."""
        self._rpc.register_handler(method, handler, **options)

    def serve(self, service: Any, prefix: str = "", **options: Any) -> List[str]:
        """As :meth:`swiftnats.rpc.RPC.serve`: an object's exposed methods (plain, generators,
        ``async def``, async generators), and those of its sub-services, in one call."""
        return self._rpc.serve(service, prefix, **options)

    def method(self, name: Union[str, Callable[..., Any], None] = None, **options: Any) -> Any:
        """Decorator: ``@rpc.method("math.add")``, ``@rpc.method()`` or ``@rpc.method``."""
        return self._rpc.method(name, **options)

    rpc_method = method

    async def start(self, prefix: str = "") -> None:
        """Serves every registered method (the library's start flushes: in a worker thread)."""
        self._handlers.bind()
        await asyncio.to_thread(self._rpc.start, prefix)

    start_server = start

    async def stop(self) -> None:
        """Stops serving: the library drains (in a worker thread; calls already received still
        reach their handlers on the loop), then waits for the handler coroutines (at most
        :data:`STOP_WAIT` seconds, then cancels them). :meth:`start` may follow."""
        await asyncio.to_thread(self._rpc.stop)
        await self._handlers.wait(STOP_WAIT)

    async def _stop_serving(self) -> None:
        """Before a drain of the client."""
        await self.stop()

    @property
    def server_ids(self) -> Dict[str, str]:
        return self._rpc.server_ids

    # -- calling -------------------------------------------------------------------------------

    def _send_call(self, method: str, params: Params, timeout: Optional[float]) -> "asyncio.Future[Any]":
        future: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
        self._rpc.call_with_callback(method, params, functools.partial(settle, future), timeout)
        return future

    async def call(self, method: str, params: Params = None, timeout: Optional[float] = None) -> Any:
        """Calls @p method and returns its result; raises as :meth:`swiftnats.rpc.RPC.call`.
        Waits for the library's callback (no thread)."""
        return await self._send_call(method, params, timeout)

    async def call_batch(self, calls: Sequence[Any], timeout: Optional[float] = None) -> List[Any]:
        """Sends every call at once, ``(method, params)`` or ``(method,)`` each, and waits for
        all (each for at most @p timeout). One entry per call, in order: its result, or the
        exception for a failed one."""
        futures: List["asyncio.Future[Any]"] = []
        for method, params in _batch_calls(calls):
            try:
                futures.append(self._send_call(method, params, timeout))
            except SwiftNatsError as e:  # refused by the library: this call's outcome
                failed: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
                failed.set_exception(e)
                futures.append(failed)
        return list(await asyncio.gather(*futures, return_exceptions=True))

    async def call_async(self, method: str, params: Params = None, timeout: Optional[float] = None) -> int:
        """Sends a call and returns its id at once; :meth:`get_response` collects the outcome.
        The call fails with a timeout after @p timeout seconds (the object's default)."""
        future = self._send_call(method, params, timeout)
        request_id = next(self._ids)
        self._pending[request_id] = future
        return request_id

    async def get_response(self, request_id: int, timeout: Optional[float] = None) -> Any:
        """The outcome of a :meth:`call_async` call (raises as :meth:`call`). After a timeout
        the call stays pending; once collected its id is forgotten (:class:`NotFoundError`)."""
        future = self._pending.get(request_id)
        if future is None:
            raise NotFoundError(f"no pending call has id {request_id}")
        wait = self._rpc.timeout if timeout is None else timeout
        done, _ = await asyncio.wait({future}, timeout=wait)
        if not done:
            raise SwiftNatsTimeoutError(f"call {request_id} not answered within {wait} s")
        self._pending.pop(request_id, None)
        return future.result()

    def cancel(self, request_id: int) -> None:
        """Forgets a pending :meth:`call_async` call (its outcome is dropped)."""
        future = self._pending.pop(request_id, None)
        if future is None:
            raise NotFoundError(f"no pending call has id {request_id}")
        future.cancel()

    def call_with_callback(self, method: str, params: Params, callback: Callable[[Any, Optional[BaseException]], Any],
                           timeout: Optional[float] = None) -> None:
        """Sends a call; ``callback(result, error)`` (plain or ``async def``) runs once on the
        loop with the result (error None) or the exception."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        handlers = self._handlers
        handlers.bind()

        def done(result: Any, error: Optional[BaseException]) -> None:
            if not handlers.call(self._run_callback, callback, result, error):
                self._run_callback(callback, result, error)  # no loop any more

        self._rpc.call_with_callback(method, params, done, timeout)

    def _run_callback(self, callback: Callable[..., Any], result: Any, error: Optional[BaseException]) -> None:
        try:
            outcome = callback(result, error)
        except Exception:
            log.exception("swiftnats: an RPC callback raised")
            return
        if inspect.isawaitable(outcome):
            if self._handlers.on_loop():
                self._handlers.spawn(_logged(outcome), handler=False)
            elif inspect.iscoroutine(outcome):
                outcome.close()

    def call_stream(self, method: str, params: Params = None, timeout: Optional[float] = None) -> "AsyncStream":
        """``async for item in rpc.call_stream(...)`` (no await before it): sends the call and
        returns its items as an :class:`AsyncStream`, each waited for at most @p timeout (then
        :class:`swiftnats.TimeoutError`)."""
        items = _StreamItems(asyncio.get_running_loop())
        return AsyncStream(self._rpc.stream_to(method, params, items.put, timeout), items)

    async def proxy(self, describe_timeout: float = 0.5) -> AsyncProxy:
        """The remote methods as coroutine functions (``await proxy.math.add(1, 2)``), with
        their signatures, described now without blocking the loop. Kept as :attr:`remote`."""
        self._remote = await AsyncProxy(self, describe_timeout).refresh()
        return self._remote

    @property
    def remote(self) -> AsyncProxy:
        """The proxy of the last :meth:`proxy`, or one that describes at its first call of a
        method it does not know."""
        if self._remote is None:
            self._remote = AsyncProxy(self)
        return self._remote

    async def describe(self, timeout: float = 1.0) -> List[MethodInfo]:
        """The methods the namespace(s) offer: every namespace is asked at once, and the
        library's callback completes the listing after @p timeout (no thread waits)."""
        future: "asyncio.Future[List[MethodInfo]]" = asyncio.get_running_loop().create_future()
        self._rpc.describe_to(functools.partial(settle, future), timeout)
        return await future

    # -- life cycle ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Stops serving (calls received are still answered: the handler coroutines are waited
        for, at most :data:`STOP_WAIT` seconds), fails the calls still waiting, frees the
        object; idempotent."""
        try:
            await asyncio.to_thread(self._rpc.stop)
        except SwiftNatsError:  # the connection is gone: nothing to drain
            pass
        await self._handlers.wait(STOP_WAIT)
        await asyncio.to_thread(self._rpc.close)
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()

    disconnect = close

    async def __aenter__(self) -> "RPC":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._rpc).replace("<RPC", "<aio.RPC", 1)


async def _logged(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("swiftnats: an RPC callback raised")


#: How many items of a stream may wait unread before it ends with SlowConsumerError (the
#: library's default pending limit of a subscription, which bounds the sync stream).
STREAM_BUFFER = 65536


class AsyncStream:
    """The items of a streaming call, in order: an async iterator, and an async context
    manager that stops it. Items come from the library's callback as they arrive (no thread
    waits). Leaving the iteration early (``break``, an exception) stops the stream as soon as
    the iterator is dropped, or at :meth:`aclose`. More than :data:`STREAM_BUFFER` items
    waiting unread end it with :class:`swiftnats.SlowConsumerError`, as the sync stream's
    pending limit does."""

    __slots__ = ("_stream", "_items", "_done")

    def __init__(self, stream: _rpc.CallbackStream, items: "_StreamItems") -> None:
        self._stream = stream
        self._items = items
        self._done = False

    def __aiter__(self) -> "AsyncStream":
        return self

    async def __anext__(self) -> Any:
        if self._done:
            raise StopAsyncIteration
        try:
            item = await self._items.get()
        except BaseException:
            self.close()
            raise
        if item is _rpc.STREAM_END:
            self.close()
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        """Stops the stream (items still coming are dropped); idempotent."""
        self._done = True
        self._stream.close()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


class _StreamItems:
    """The items a callback stream hands over, for its async iterator: ``put`` from where the
    library calls back (the loop's thread for an aio client, else through
    ``call_soon_threadsafe``), ``get`` on the loop."""

    __slots__ = ("_loop", "_items", "_waiter", "_failed")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: "collections.deque[Tuple[Any, Optional[BaseException]]]" = collections.deque()
        self._waiter: "Optional[asyncio.Future[None]]" = None
        self._failed = False

    def put(self, item: Any, error: Optional[BaseException]) -> None:
        if running_loop() is self._loop:
            self._put(item, error)
            return
        try:
            self._loop.call_soon_threadsafe(self._put, item, error)
        except RuntimeError:  # the loop is closed: nobody iterates any more
            pass

    def _put(self, item: Any, error: Optional[BaseException]) -> None:
        if self._failed:
            return  # after the failure the reader was told of: the stream is being closed
        if len(self._items) >= STREAM_BUFFER and error is None:
            item, error = None, SlowConsumerError(
                f"more than {STREAM_BUFFER} items of an RPC stream waited unread")
        self._failed = error is not None
        self._items.append((item, error))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item, error = self._items.popleft()
        if error is not None:
            raise error
        return item
