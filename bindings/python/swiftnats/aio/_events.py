"""What the library calls back on an aio client, and how it reaches the event loop: the
completions of async requests and flushes (thunks whose closure is a registry key of
``(client, future)``), and :class:`Events`, the part of :class:`~swiftnats.aio.Client` that
runs connection callbacks and user callbacks on the loop's thread."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Coroutine, Dict, Optional, Tuple

from .. import _runtime as rt
from .. import client as _client
from .._lib import FLUSH_HANDLER, REPLY_HANDLER
from .._runtime import log
from ..errors import Status, SwiftNatsError, _last_error, error_for_status
from ..subscription import Subscription as _SyncSubscription
from ._util import set_future
from .msg import Msg

if TYPE_CHECKING:
    from .subscription import Subscription

__all__ = ["Events", "REPLY_THUNK", "FLUSH_THUNK"]

# --------------------------------------------------------------------------------------------
# Completions of snats_request_async() / snats_conn_flush_async(): the closure is a registry
# key of (client, future). They run in the pump (on the loop's thread); once the connection
# has ended, on the thread that ended it (then handed to the loop).
# --------------------------------------------------------------------------------------------


def _complete(closure: Optional[int], what: str, outcome: Callable[[Any], Tuple[Any, Optional[BaseException]]]) -> None:
    """Settles the future registered under @p closure with ``outcome(client)`` (a result and
    an error); a bug here is logged, never silent."""
    try:
        rt.enter_callback()
        try:
            entry = rt.lookup(closure)
            rt.unregister(closure)
            if entry is None:
                return
            client, future = entry
            result, error = outcome(client)
            client._settle(future, result, error)
        finally:
            rt.leave_callback()
    except BaseException:  # pragma: no cover - a bug here must not pass silently
        log.exception("swiftnats.aio: error completing a %s", what)


def _on_reply(conn: Optional[int], status: int, reply: Optional[int], closure: Optional[int]) -> None:
    def outcome(client: Any) -> Tuple[Any, Optional[BaseException]]:
        if status == Status.OK and reply:
            return Msg._copy(reply, client._nc), None  # borrowed: copy now
        return None, error_for_status(status if status != Status.OK else Status.ERR, _last_error())

    _complete(closure, "request", outcome)


def _on_flush(conn: Optional[int], status: int, closure: Optional[int]) -> None:
    _complete(closure, "flush", lambda client: (None, None if status == Status.OK else
                                                  error_for_status(status, _last_error())))


REPLY_THUNK = REPLY_HANDLER(_on_reply)
FLUSH_THUNK = FLUSH_HANDLER(_on_flush)


class Events:
    """The connection callbacks of an aio client and the plumbing that runs user callbacks on
    the loop's thread (a mixin of :class:`~swiftnats.aio.Client`, whose ``_new`` sets the
    attributes used here)."""

    _loop: asyncio.AbstractEventLoop
    _thread: int
    _callbacks: Dict[str, Optional[Callable[..., Any]]]
    _error_cb: Optional[Callable[..., Any]]
    _error_cb_takes_sub: bool
    _tasks: "set[asyncio.Task[Any]]"
    _started: bool
    _shutdown_task: "Optional[asyncio.Task[None]]"
    #: starts the client's shutdown once (Client._begin_shutdown)
    _begin_shutdown: "Callable[[], asyncio.Task[None]]"

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
            connected_cb=event("connected_cb", False),
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

    def _spawn(self, coro: "Coroutine[Any, Any, None]") -> None:
        task = self._loop.create_task(coro)
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
            set_future(future, result, error)
        else:
            self._to_loop(set_future, future, result, error)
