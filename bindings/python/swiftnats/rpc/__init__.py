"""Namespaced remote procedure calls over NATS: :class:`RPC` (threads), servers and clients
in one object, as the Python RPC libraries over NATS have them. Its asyncio face is
:class:`swiftnats.aio.rpc.RPC` (also importable as ``swiftnats.rpc.AsyncRPC``).

    import swiftnats
    from swiftnats.rpc import RPC

    with swiftnats.connect(url) as nc, RPC(nc, namespace="myapp") as rpc:
        @rpc.method("math.add")
        def add(a: float, b: float) -> float:
            return a + b

        rpc.start()                                   # serve (prefix="api": "api.math.add")
        rpc.call("math.add", {"a": 5, "b": 3})        # 8, with a dict or a list of params
        rid = rpc.call_async("math.add", [1, 2])      # ... rpc.get_response(rid) -> 3
        rpc.call_batch([("math.add", [1, 2]), ("nope", None)])   # [3, MethodNotFoundError(...)]

A server for namespace ``ns`` is a NATS micro service named ``ns`` whose endpoints are the
methods, on subjects ``rpc.<ns>.<method>``: ``snats micro info ns`` lists them with their
parameters, and several processes serving ``ns`` share the calls. The wire format
(docs/RPC.md) is plain JSON, so any NATS client can call or serve.

Handlers are plain functions, generators (their items are streamed: read them with
:meth:`RPC.call_stream`), ``async def`` functions and async generators (run on the event loop
that was running when :meth:`start` was called, else on a loop thread of this object). Params
are checked against the function's signature and its annotations (int, float, str, bool, list,
dict) before it runs. A handler that raises :class:`RPCError` answers with that code; any other
exception answers -32603 ``Internal error: <message>`` with its traceback in the error data.
Errors reach callers as :class:`RPCError` subclasses carrying ``code``, ``message`` and
``data``; a method no server has raises :class:`MethodNotFoundError` at once.
"""

from __future__ import annotations

from typing import Any

from ..errors import (
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    MethodNotFoundError,
    ParseError,
    RPCError,
)
from ._wire import Callback, MethodInfo, Params
from .namespace import RPC
from .objects import ServiceDict, expose
from .params import describe_parameters
from .proxy import AsyncProxy, Proxy
from .references import Reference
from .streams import STREAM_END, CallbackStream, RPCStream

__all__ = [
    "RPC",
    "AsyncRPC",
    "RPCStream",
    "CallbackStream",
    "STREAM_END",
    "MethodInfo",
    "RPCError",
    "ParseError",
    "InvalidRequestError",
    "MethodNotFoundError",
    "InvalidParamsError",
    "InternalError",
    "describe_parameters",
    "expose",
    "ServiceDict",
    "Proxy",
    "AsyncProxy",
    "Reference",
    "Params",
    "Callback",
]


def __getattr__(name: str) -> Any:
    """``AsyncRPC`` is :class:`swiftnats.aio.rpc.RPC` (imported on first use: it needs this
    module)."""
    if name == "AsyncRPC":
        from ..aio.rpc import RPC as AsyncRPC  # noqa: PLC0415

        return AsyncRPC
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

