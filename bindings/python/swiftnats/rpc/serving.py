"""Serving: how one call of a registered Python function is answered (results, streamed items,
errors with tracebacks), on the library's thread or an event loop."""

from __future__ import annotations

import asyncio
import inspect
import threading
import traceback as _traceback
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

from .. import _runtime as rt
from .._json import json_value
from .._lib import RPC_HANDLER, lib
from ..errors import (
    InvalidParamsError,
    RPCError,
    _check,
)
from ._wire import _LentJSON
from .proxy import POSITIONAL_KEY

if TYPE_CHECKING:
    from .namespace import RPC



def _send(fn: Callable[..., int], req: int, value: Any) -> None:
    try:
        lent = _LentJSON(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"the result is not JSON serialisable: {e}") from e
    rt.hand_over_publishes()  # the answer follows what the handler published
    with lent as j:
        _check(fn(req, j))


def _end_stream(req: int) -> None:
    """Ends a generator's stream (zero items make an empty stream, not a null result)."""
    rt.hand_over_publishes()  # the end follows what the handler published
    _check(lib.snats_rpc_request_end_stream(req))


def _answer_error(req: int, error: RPCError) -> None:
    rt.hand_over_publishes()
    with _LentJSON(error.data) as details:
        lib.snats_rpc_request_error(req, int(error.code), rt.text_arg(error.message or "error", "message"), details)


def _answer_failure(req: int, error: BaseException) -> None:
    message = str(error) or type(error).__name__
    trace = "".join(_traceback.format_exception(type(error), error, error.__traceback__))
    rt.hand_over_publishes()
    lib.snats_rpc_request_fail(req, message.encode("utf-8", "replace"), trace.encode("utf-8", "replace"))


def _answer_result(req: int, result: Any) -> None:
    """Answers with a handler's result: a generator's items streamed then the end, else the
    value."""
    if inspect.isgenerator(result):
        for item in result:
            _send(lib.snats_rpc_request_send_item, req, item)
        _end_stream(req)
        return
    _send(lib.snats_rpc_request_respond, req, result)


def _answer_exception(req: int, error: Exception) -> None:
    """Answers with what a handler raised: an RPCError with its code, anything else -32603
    with its traceback."""
    if isinstance(error, RPCError):
        _answer_error(req, error)
    else:
        _answer_failure(req, error)


class _Method:
    """A registered Python function and how to call it."""

    def __init__(self, owner: "RPC", name: str, fn: Callable[..., Any]) -> None:
        self.owner = owner
        self.name = name
        self.fn = fn
        self.is_async_gen = inspect.isasyncgenfunction(fn)
        self.is_async = self.is_async_gen or inspect.iscoroutinefunction(fn)
        try:
            self.signature: Optional[inspect.Signature] = inspect.signature(fn)
        except (TypeError, ValueError):
            self.signature = None

    @staticmethod
    def arguments(params: Any) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
        """Positional and keyword arguments of the params: an array, an object, or an object
        whose ``"*"`` key holds the positional values (docs/RPC.md)."""
        if isinstance(params, list):
            return tuple(params), {}
        if not isinstance(params, dict):
            return (), {}
        if POSITIONAL_KEY in params:
            named = dict(params)
            positional = named.pop(POSITIONAL_KEY)
            return tuple(positional) if isinstance(positional, list) else (positional,), named
        return (), params

    def invoke(self, params: Any) -> Any:
        """Calls the function. The library has checked the params against the signature's
        description; a TypeError that binding the signature explains is -32602 (keyword use
        of a positional-only parameter, say), any other comes from inside the function.
        References among the arguments arrive as proxies."""
        args, kwargs = self.owner._resolve_references(*self.arguments(params))
        try:
            return self.fn(*args, **kwargs)
        except TypeError as e:
            self.check_binding(args, kwargs)
            raise e from None

    def check_binding(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        if self.signature is not None:
            try:
                self.signature.bind(*args, **kwargs)
            except TypeError as e:
                raise InvalidParamsError(None, f"Invalid params: {e}") from None

    def dispatch(self, req: int, params_ptr: Optional[int]) -> None:
        """On the method's library thread."""
        if self.is_async:
            lib.snats_rpc_request_retain(req)  # answered on the event loop
            try:
                asyncio.run_coroutine_threadsafe(self._run_async(req, json_value(params_ptr)), self.owner._handler_loop())
            except BaseException:
                lib.snats_rpc_request_release(req)
                raise
            return
        try:
            _answer_result(req, self.invoke(json_value(params_ptr)))
        except Exception as e:  # noqa: BLE001 - the caller hears about it
            _answer_exception(req, e)

    async def _run_async(self, req: int, params: Any) -> None:
        try:
            args, kwargs = self.owner._resolve_references(*self.arguments(params))
            self.check_binding(args, kwargs)  # a coroutine is made before it runs: check first
            if self.is_async_gen:
                async for item in self.fn(*args, **kwargs):
                    _send(lib.snats_rpc_request_send_item, req, item)
                _end_stream(req)
            else:
                _send(lib.snats_rpc_request_respond, req, await self.fn(*args, **kwargs))
        except Exception as e:  # noqa: BLE001
            _answer_exception(req, e)
        finally:
            lib.snats_rpc_request_release(req)


def _on_call(req: Optional[int], params: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            if not req:
                return
            method = rt.lookup(closure)
            if method is None:  # the Python side is gone
                lib.snats_rpc_request_fail(req, b"the method is no longer served", None)
                return
            method.dispatch(req, params)
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: error in the RPC handler thunk")



_CALL_THUNK = RPC_HANDLER(_on_call)


class _LoopThread:
    """An event loop on a thread of its own, for ``async def`` handlers when no loop runs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="swiftnats-rpc-loop", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout=5)


