"""NATS micro services (ADR-32) for asyncio: :mod:`swiftnats.micro` with the same names,
awaitable where they block.

    from swiftnats import aio

    async with await aio.connect(url) as nc:
        async with await aio.micro.add_service(nc, name="calc", version="1.0.0") as svc:
            @svc.endpoint("add", subject="calc.add")
            async def add(req: aio.micro.Request) -> None:
                a, b = req.json()
                await req.respond_json(a + b)

            print(await aio.micro.ping(nc, "calc"))

On an aio client every handler and callback of the service runs on the event loop's thread:
a plain handler in the library's call (inside the client's pump), an ``async def`` one (or a
plain one that returns an awaitable) as a task of the loop, one request at a time per
endpoint and in order unless the endpoint's ``concurrency`` allows more. The request is kept
until the coroutine returns; one that raises :class:`ServiceError` answers with that code and
description, any other exception answers ``500`` with the exception's ``repr`` and goes to
``error_cb`` (as the sync module does); either is counted in the endpoint's ``num_errors`` and
``last_error``. A handler that returns without answering leaves the request unanswered (it may
be answered later), as in the sync module. The answers (:meth:`Request.respond`, ...) send at
once and may be awaited or not. ``done_cb`` runs once the service has stopped and every
handler coroutine has returned.

On a sync :class:`swiftnats.Client` the plain handlers run on the library's threads, the
coroutine ones on the loop that was running at :func:`add_service`.

Discovery (:func:`ping`, :func:`info`, :func:`stats`) waits in a worker thread: the library's
gathering blocks, but needs nothing of the loop, which keeps serving meanwhile (the services of
this very connection answer from it). :meth:`Service.stop` drains in a worker thread too.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

from .. import micro as _micro
from .._lib import lib
from .._runtime import Payload, log
from ..errors import _check
from ..headers import HeadersArg
from ..micro import (
    EndpointInfo,
    EndpointStats,
    Group,
    Handler,
    InfoResponse,
    PingResponse,
    ServiceError,
    StatsResponse,
)
from ._handlers import DONE, Done, HandlerLoop, Lane, running_loop, settle
from ._util import is_coroutine_callable

__all__ = [
    "add_service",
    "Service",
    "Group",
    "Request",
    "ServiceError",
    "ping",
    "info",
    "stats",
    "Handler",
    "PingResponse",
    "InfoResponse",
    "StatsResponse",
    "EndpointInfo",
    "EndpointStats",
]

#: the longest wait of :meth:`Service.stop` for handler coroutines (the library waits as long
#: for its handlers); those still running then are cancelled
STOP_WAIT = 30.0


class Request(_micro.Request):
    """A request to an endpoint, as :class:`swiftnats.micro.Request`; its answers are sent at
    once and return an awaitable, so that ``await req.respond(...)`` (nats.py) and
    ``req.respond(...)`` both work."""

    __slots__ = ()

    def respond(self, data: Payload = b"", headers: HeadersArg = None) -> Done:  # type: ignore[override]
        super().respond(data, headers)
        return DONE

    def respond_json(self, value: Any) -> Done:  # type: ignore[override]
        super().respond_json(value)
        return DONE

    def respond_error(self, code: str, description: str, data: Payload = b"",  # type: ignore[override]
                      headers: HeadersArg = None) -> Done:
        super().respond_error(code, description, data, headers)
        return DONE


def _sync_client(nc: Any) -> Any:
    return getattr(nc, "sync_client", nc)


def _aio_client(nc: Any) -> Any:
    from .client import Client  # noqa: PLC0415 - the package imports this module

    return nc if isinstance(nc, Client) else None


async def add_service(
    nc: Any,
    *,
    name: str,
    version: str,
    description: str = "",
    metadata: Optional[Mapping[str, str]] = None,
    queue_group: Optional[str] = None,
    queue_group_disabled: bool = False,
    stats_handler: Optional[Callable[[str], Any]] = None,
    done_cb: Optional[Callable[["Service"], Any]] = None,
    error_cb: Optional[Callable[[BaseException, Optional[str]], Any]] = None,
) -> "Service":
    """Starts a service on @p nc (an aio client, or a sync one) and returns it (``async with``
    stops it). Arguments as :func:`swiftnats.micro.add_service`; ``done_cb`` and ``error_cb``
    may be coroutine functions (run on the loop), ``stats_handler`` must return its value."""
    if stats_handler is not None and is_coroutine_callable(stats_handler):
        raise TypeError("stats_handler must be a plain function (it returns its value to the library)")
    for label, cb in (("done_cb", done_cb), ("error_cb", error_cb)):
        if cb is not None and not callable(cb):
            raise TypeError(f"{label} must be callable")
    client = _aio_client(nc)
    loop = client._loop if client is not None else asyncio.get_running_loop()
    handlers = HandlerLoop(client, loop)
    # done_cb: the library's done callback starts Service._finished, which waits for the
    # handler coroutines before it runs the user's
    svc = Service._start(_sync_client(nc), name, version, description, metadata, queue_group, queue_group_disabled,
                         stats_handler, None, error_cb)
    svc._setup(client, handlers, done_cb)
    return svc


class Service(_micro.Service):
    """A running service instance, as :class:`swiftnats.micro.Service`; :meth:`stop` is
    awaitable, and ``async with`` stops it. Endpoints and groups are added as in the sync
    module (those calls do not block)."""

    _request_class = Request
    _handlers: HandlerLoop
    _finish_task: "Optional[asyncio.Task[None]]"

    def _setup(self, client: Any, handlers: HandlerLoop, done_cb: Optional[Callable[["Service"], Any]]) -> None:
        self._client = client
        self._handlers = handlers
        self._user_done_cb = done_cb
        self._finish_task = None
        loop = handlers.loop
        assert loop is not None  # add_service gives it the client's loop or the running one
        self._finished_future: "asyncio.Future[None]" = loop.create_future()
        # read by the done thunk when it runs (on the loop for an aio client: not before)
        self._done_cb = lambda _service: self._finished()
        if client is not None:
            client._serving.add(self)  # its drain() stops the service first

    # -- endpoints ----------------------------------------------------------------------------

    def _add(self, group: Optional[int], name: str, handler: Handler, subject: Optional[str],
             queue_group: Optional[str], queue_group_disabled: bool, metadata: Optional[Mapping[str, str]],
             pending_limits: Optional[Tuple[int, int]], concurrency: int = 1) -> str:
        if not callable(handler):
            raise TypeError("handler must be callable")
        endpoint = _Endpoint(self, handler, concurrency)
        return super()._add(group, name, endpoint, subject, queue_group, queue_group_disabled, metadata,
                            pending_limits, concurrency)

    # -- requests (in the library's call: on the loop for an aio client) ------------------------

    def _dispatch(self, handler: Handler, request: _micro.Request) -> None:
        endpoint: _Endpoint = handler  # type: ignore[assignment]  # what _add registers as the handler
        try:
            result = endpoint.handler(request)
        except ServiceError as e:
            self._answer_error(request, e.code, e.description, e.data)
            return
        except Exception as e:  # noqa: BLE001 - answered as the sync module does, then reported
            self._answer_error(request, "500", repr(e), b"")
            self._report(e, None)
            return
        if result is not None and inspect.isawaitable(result):
            endpoint.lane.submit(lambda: self._run(request, result), lambda: self._drop(request, result))

    async def _run(self, request: _micro.Request, awaitable: Awaitable[Any]) -> None:
        """A handler coroutine, on the loop; @p request keeps the library's request."""
        try:
            await awaitable
        except ServiceError as e:
            self._answer_error(request, e.code, e.description, e.data)
        except Exception as e:  # noqa: BLE001
            self._answer_error(request, "500", repr(e), b"")
            self._report(e, None)
        except asyncio.CancelledError:
            _unavailable(request)  # the client closes
            raise

    def _drop(self, request: _micro.Request, awaitable: Awaitable[Any]) -> None:
        """A handler coroutine that cannot run (its loop closed or the service's tasks ended)."""
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        _unavailable(request)

    # -- callbacks (the library's threads or the loop: to the loop) -----------------------------

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        if not self._handlers.call(self._run_callback, fn, args):
            self._run_callback(fn, args)  # no loop any more: a plain callback still runs

    def _run_callback(self, fn: Callable[..., Any], args: Any) -> None:
        try:
            result = fn(*args)
        except Exception:
            log.exception("swiftnats: a micro callback raised")
            return
        if inspect.isawaitable(result):
            if self._handlers.on_loop():
                self._handlers.spawn(self._await_callback(result), handler=False)
            elif inspect.iscoroutine(result):
                result.close()  # nothing can run it

    @staticmethod
    async def _await_callback(awaitable: Awaitable[Any]) -> None:
        try:
            await awaitable
        except Exception:
            log.exception("swiftnats: a micro callback raised")

    def _finished(self) -> None:
        """The library's done callback, on the loop: the user's runs once the handler coroutines
        have returned too."""
        if self._finish_task is None and self._handlers.on_loop():
            self._finish_task = self._handlers.spawn(self._finish(), handler=False)
        elif self._finish_task is None:  # the loop is closed: nothing waits any more
            if self._user_done_cb is not None:
                self._run_callback(self._user_done_cb, (self,))

    async def _finish(self) -> None:
        try:
            await self._handlers.wait(STOP_WAIT)
            if self._user_done_cb is not None:
                try:
                    result = self._user_done_cb(self)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("swiftnats: the micro done callback raised")
        finally:
            if not self._finished_future.done():
                self._finished_future.set_result(None)
        # the library is done with the service: free it (not before: its done callback may
        # still wait in the queue, and freeing forgets the closure it finds Python by)
        await asyncio.to_thread(self._handle.close)

    # -- life cycle ---------------------------------------------------------------------------

    async def stop(self) -> None:  # type: ignore[override]
        """Drains the endpoints and ``$SRV`` handlers (in a worker thread: the loop keeps
        running the handlers of what was received), waits for the handler coroutines (at most
        :data:`STOP_WAIT` seconds, then cancels them), runs done_cb, and frees the service;
        idempotent. From one of the service's own handler coroutines it returns once drained:
        done_cb then runs when the handlers have returned."""
        use = self._handle.try_use()
        if use is not None:
            def drain() -> None:
                with use as svc:
                    _check(lib.snats_service_stop(svc))

            await asyncio.to_thread(drain)
        if asyncio.current_task() in self._handlers.tasks or running_loop() is not self._handlers.loop:
            return
        # the done callback comes from the thread that stopped, or from the loop's queue
        await asyncio.wait({self._finished_future}, timeout=STOP_WAIT + 5)
        await asyncio.to_thread(self._handle.close)

    async def _stop_serving(self) -> None:
        """Before a drain of the client."""
        await self.stop()

    async def __aenter__(self) -> "Service":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def __enter__(self) -> "Service":
        raise TypeError("use async with for an asyncio service")

    def __repr__(self) -> str:
        return super().__repr__().replace("<Service", "<aio.Service", 1)


def _unavailable(request: _micro.Request) -> None:
    """Answers a request whose handler coroutine was cancelled or could not run, if it still
    can (mostly the connection is closing: then nothing goes out, and nothing is reported)."""
    try:
        request.respond_error("503", "service unavailable")
    except Exception:  # noqa: BLE001
        pass


class _Endpoint:
    """An endpoint's handler and the lane of its coroutines (the registered callable)."""

    __slots__ = ("handler", "lane")

    def __init__(self, service: Service, handler: Handler, concurrency: int) -> None:
        self.handler = handler
        self.lane = Lane(service._handlers, concurrency)

    def __call__(self, request: _micro.Request) -> Any:
        return self.handler(request)


# --------------------------------------------------------------------------------------------
# Discovery: the library's non-blocking gathering completes a future (on the loop's thread for
# an aio client); no thread waits
# --------------------------------------------------------------------------------------------


async def _gathered(getter: Callable[..., int], nc: Any, name: Optional[str], id: Optional[str], timeout: float,
                    max_replies: int) -> List[Dict[str, Any]]:
    future: "asyncio.Future[List[Dict[str, Any]]]" = asyncio.get_running_loop().create_future()
    _micro.discover_to(getter, _sync_client(nc), name, id, timeout, max_replies, functools.partial(settle, future))
    return await future


async def ping(nc: Any, name: Optional[str] = None, id: Optional[str] = None, *, timeout: float = 1.0,
               max_replies: int = 0) -> List[PingResponse]:
    """As :func:`swiftnats.micro.ping`, awaitable (the loop keeps running meanwhile)."""
    found = await _gathered(lib.snats_micro_ping_cb, nc, name, id, timeout, max_replies)
    return [PingResponse.from_dict(d) for d in found]


async def info(nc: Any, name: Optional[str] = None, id: Optional[str] = None, *, timeout: float = 1.0,
               max_replies: int = 0) -> List[InfoResponse]:
    """As :func:`swiftnats.micro.info`, awaitable."""
    found = await _gathered(lib.snats_micro_info_cb, nc, name, id, timeout, max_replies)
    return [InfoResponse.from_dict(d) for d in found]


async def stats(nc: Any, name: Optional[str] = None, id: Optional[str] = None, *, timeout: float = 1.0,
                max_replies: int = 0) -> List[StatsResponse]:
    """As :func:`swiftnats.micro.stats`, awaitable."""
    found = await _gathered(lib.snats_micro_stats_cb, nc, name, id, timeout, max_replies)
    return [StatsResponse.from_dict(d) for d in found]
