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

import asyncio
import ctypes
import inspect
import threading
import traceback as _traceback
import typing
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _runtime as rt
from ._json import call_with_json_outcome, json_new, json_value
from ._lib import RPC_CALLBACK, RPC_HANDLER, lib
from .client import Client
from .errors import (
    IllegalStateError,
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    MethodNotFoundError,
    ParseError,
    RPCError,
    Status,
    SwiftNatsError,
    _check,
    _last_error,
    error_for_status,
    rpc_error,
)
from .rpc_objects import ServiceDict, expose, exposed_methods
from .rpc_proxy import POSITIONAL_KEY, AsyncProxy, Proxy

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
]

Params = Union[Mapping[str, Any], Sequence[Any], None]
#: call_with_callback's callback(result, error): error is None on success.
Callback = Callable[[Any, Optional[BaseException]], None]

_DEFAULT_TIMEOUT = 5.0

# --------------------------------------------------------------------------------------------
# JSON across the boundary
# --------------------------------------------------------------------------------------------


class _LentJSON:
    """``with _LentJSON(value) as ref``: a new ``json_t*`` for @p value (NULL for None) that
    lives for the C calls in the block and is released after it."""

    __slots__ = ("ref",)

    def __init__(self, value: Any) -> None:
        self.ref: Optional[int] = None if value is None else json_new(value)

    def __enter__(self) -> Optional[int]:
        return self.ref

    def __exit__(self, *exc: Any) -> None:
        if self.ref is not None:
            lib.snats_json_decref(self.ref)


def _params_value(params: Params) -> Any:
    """Params as the JSON value to send: a dict, a list, or None for none."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, (list, tuple)):
        return list(params)
    raise TypeError(f"params must be a dict or a list, not {type(params).__name__}")


def _take(out: ctypes.c_void_p) -> Any:
    """The Python value of an owned ``json_t*`` out-parameter, which is released."""
    if not out.value:
        return None
    try:
        return json_value(out.value)
    finally:
        lib.snats_json_decref(out.value)


def _error_of(obj: Any) -> RPCError:
    if not isinstance(obj, dict):
        return InternalError(None, f"malformed error object: {obj!r}")
    return rpc_error(obj.get("code", -32603), str(obj.get("message", "")), obj.get("data"))


def _outcome(status: int, result: ctypes.c_void_p, error: ctypes.c_void_p) -> Any:
    """The result of an RPC call, or raises its error (read right after the call)."""
    if status == Status.RPC_ERROR and error.value:
        raise _error_of(_take(error))
    _check(status)
    return _take(result)


def method_infos(listing: List[Dict[str, Any]]) -> List[MethodInfo]:
    """The library's describe listing as :class:`MethodInfo` entries."""
    return [MethodInfo(m["method"], m["namespace"], m["subject"], m["params"], m["description"], m["instances"],
                       bool(m.get("stream", False)))
            for m in listing]


def _batch_calls(calls: Sequence[Any]) -> List[Tuple[str, Any]]:
    """The calls of a batch as (method, params value or None): ``(method, params)``,
    ``(method,)`` or a method name each."""
    parsed: List[Tuple[str, Any]] = []
    for call in calls:
        if isinstance(call, str):
            parsed.append((call, None))
            continue
        method, *rest = call
        if len(rest) > 1:
            raise ValueError(f"a batch call is (method, params), got {call!r}")
        parsed.append((method, _params_value(rest[0] if rest else None)))
    return parsed


# --------------------------------------------------------------------------------------------
# Parameter descriptions
# --------------------------------------------------------------------------------------------

_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array",
               dict: "object", type(None): "null"}


def describe_parameters(fn: Callable[..., Any], types: bool = True) -> Optional[List[Dict[str, Any]]]:
    """The parameter description of a function, as the library takes it: one entry per
    parameter, with its JSON type when annotated (int, float, str, bool, list, dict) unless
    @p types is False, whether it is required, and ``kind`` for ``*args`` / ``**kwargs``. None
    when it has no signature."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no types
        hints = {}
    described: List[Dict[str, Any]] = []
    for p in signature.parameters.values():
        entry: Dict[str, Any] = {"name": p.name}
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            entry["kind"] = "var_positional"
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            entry["kind"] = "var_keyword"
        else:
            json_type = _JSON_TYPES.get(hints.get(p.name)) if types else None  # type: ignore[arg-type]
            if json_type is not None:
                entry["type"] = json_type
            entry["required"] = p.default is inspect.Parameter.empty
        described.append(entry)
    return described


# --------------------------------------------------------------------------------------------
# Serving: answering one call
# --------------------------------------------------------------------------------------------


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
        of a positional-only parameter, say), any other comes from inside the function."""
        args, kwargs = self.arguments(params)
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
            result = self.invoke(json_value(params_ptr))
            if inspect.isgenerator(result):
                for item in result:
                    _send(lib.snats_rpc_request_send_item, req, item)
                _end_stream(req)
                return
            _send(lib.snats_rpc_request_respond, req, result)
        except RPCError as e:
            _answer_error(req, e)
        except Exception as e:  # noqa: BLE001 - the caller hears about it
            _answer_failure(req, e)

    async def _run_async(self, req: int, params: Any) -> None:
        try:
            args, kwargs = self.arguments(params)
            self.check_binding(args, kwargs)  # a coroutine is made before it runs: check first
            if self.is_async_gen:
                async for item in self.fn(*args, **kwargs):
                    _send(lib.snats_rpc_request_send_item, req, item)
                _end_stream(req)
            else:
                _send(lib.snats_rpc_request_respond, req, await self.fn(*args, **kwargs))
        except RPCError as e:
            _answer_error(req, e)
        except Exception as e:  # noqa: BLE001
            _answer_failure(req, e)
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


def _on_outcome(status: int, result: Optional[int], error: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            callback = rt.lookup(closure)
            rt.unregister(closure)  # called once
            if callback is None:
                return
            callback(*_callback_outcome(status, result, error))
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: an RPC callback raised")


def _callback_outcome(status: int, result: Optional[int], error: Optional[int]) -> Tuple[Any, Optional[BaseException]]:
    """What a ``snats_rpc_callback`` was given, as (result, exception); read during the call."""
    if status == Status.OK:
        return json_value(result), None
    if status == Status.RPC_ERROR and error:
        return None, _error_of(json_value(error))
    return None, error_for_status(status, _last_error())


#: What a callback stream hands over after its last item.
STREAM_END = object()


def _on_stream_event(status: int, item: Optional[int], error: Optional[int], closure: Optional[int]) -> None:
    """An event of snats_rpc_client_call_stream_cb(): an item, then the end or the error."""
    try:
        rt.enter_callback()
        try:
            sink = rt.lookup(closure)
            if sink is None:
                return
            if status == Status.OK and not item:
                rt.unregister(closure)  # the last event
                sink(STREAM_END, None)
                return
            value, failure = _callback_outcome(status, item, error)
            if failure is not None:
                rt.unregister(closure)
            sink(value, failure)
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: an RPC stream callback raised")


_CALL_THUNK = RPC_HANDLER(_on_call)
_OUTCOME_THUNK = RPC_CALLBACK(_on_outcome)
_STREAM_THUNK = RPC_CALLBACK(_on_stream_event)


class CallbackStream:
    """A streaming call whose events go to a sink, ``sink(item, None)`` per item, then
    ``sink(STREAM_END, None)`` or ``sink(None, exception)`` (what ``aio.rpc`` iterates).
    :meth:`close` stops it early; the sink is not called after it returns."""

    def __init__(self, handle: int, key: int) -> None:
        self._handle = rt.Handle(handle, lib.snats_rpc_stream_destroy, lambda: IllegalStateError("the stream is closed"),
                                 "stream")
        self._key = key

    def close(self) -> None:
        self._handle.close()
        rt.unregister(self._key)


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


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodInfo:
    """A method as :meth:`RPC.describe` finds it."""

    method: str
    namespace: str
    subject: str
    params: Optional[List[Dict[str, Any]]]
    description: str
    instances: int
    #: a generator method: :meth:`RPC.call_stream` reads its items (a proxy iterates it)
    stream: bool = False


class RPCStream:
    """The items of a streaming call, in order (an iterator and a context manager). The
    timeout applies to each wait for the next item."""

    def __init__(self, handle: int) -> None:
        self._handle = rt.Handle(handle, lib.snats_rpc_stream_destroy, lambda: IllegalStateError("the stream is closed"),
                                 "stream")

    def __iter__(self) -> "RPCStream":
        return self

    def __next__(self) -> Any:
        item, error = ctypes.c_void_p(), ctypes.c_void_p()
        with self._handle.use() as stream:
            status = lib.snats_rpc_stream_next(ctypes.byref(item), ctypes.byref(error), stream)
            if status == Status.OK and not item.value:
                raise StopIteration
            return _outcome(status, item, error)

    def close(self) -> None:
        """Stops reading; items still coming are dropped."""
        self._handle.close()

    def __enter__(self) -> "RPCStream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class RPC:
    """Server and client of a namespace (or, for calls, of a namespace group: a list of
    namespaces tried in order, the next one answering when one has no server for the method).
    Thread-safe; a context manager that closes it. The connection may be shared."""

    def __init__(self, nc: Client, namespace: Union[str, Sequence[str]] = "default", *, root: Optional[str] = None,
                 timeout: float = _DEFAULT_TIMEOUT, loop: Optional[asyncio.AbstractEventLoop] = None,
                 check_types: bool = True, heartbeat: float = 1.0) -> None:
        self._nc = getattr(nc, "sync_client", nc)  # an aio.Client works too
        #: whether methods registered from their signature have their annotations enforced
        self.check_types = check_types
        self._remote: Optional[Proxy] = None
        names = [namespace] if isinstance(namespace, str) else list(namespace)
        if not names:
            raise ValueError("namespace must name at least one namespace")
        self.namespaces: Tuple[str, ...] = tuple(names)
        self.namespace = names[0]
        self.root = root
        self.timeout = timeout
        self._loop = loop
        self._loop_thread: Optional[_LoopThread] = None
        self._lock = threading.Lock()
        self._servers: Dict[str, rt.Handle] = {}
        self._keys: List[int] = []
        self._prefix: Optional[str] = None
        out = ctypes.c_void_p()
        with self._nc._use() as conn:
            if len(names) == 1 and root is None:
                _check(lib.snats_rpc_client_create(ctypes.byref(out), conn, rt.text_arg(names[0], "namespace")))
            else:
                array = (ctypes.c_char_p * len(names))(*(rt.text_arg(n, "namespace") for n in names))
                _check(lib.snats_rpc_client_create_group(ctypes.byref(out), conn, array, len(names),
                                                         rt.optional_text_arg(root, "root")))
        self._client = rt.Handle(rt.out_ptr(out, "RPC client"), lib.snats_rpc_client_destroy,
                                 lambda: IllegalStateError("the RPC object is closed"), "RPC client",
                                 defer_on_callback_thread=True)
        self.heartbeat = heartbeat

    @property
    def heartbeat(self) -> float:
        """The liveness interval of calls, in seconds (docs/RPC.md "Liveness"; 1.0 by default):
        a call whose timeout is longer than two intervals asks its server for a liveness frame
        every interval, and fails with :class:`CallLostError` (a ``ConnectionResetError``) as
        soon as neither its answer nor a frame came for two intervals, instead of waiting out
        its timeout. A long call of a live server runs to its timeout. 0 turns it off (for
        servers that send no frames); otherwise at least 0.1."""
        return self._heartbeat

    @heartbeat.setter
    def heartbeat(self, seconds: float) -> None:
        milliseconds = 0 if seconds == 0 else rt.ms_arg(seconds, "heartbeat")
        with self._client.use() as client:
            _check(lib.snats_rpc_client_set_heartbeat(client, milliseconds))
        self._heartbeat = float(seconds)

    # -- serving -------------------------------------------------------------------------------

    def register_handler(self, method: str, handler: Callable[..., Any], *, params: Any = "auto",
                         description: Optional[str] = None, concurrency: int = 1,
                         check_types: Optional[bool] = None) -> None:
        """Serves @p handler as @p method (dotted names allowed) in every namespace of this
        object; also after :meth:`start`. ``params``: the parameter description ("auto": from
        the signature; None: unchecked). ``concurrency``: calls handled at once (1: in order).
        ``check_types``: whether the description made from the signature ("auto") carries the
        annotations' JSON types, which the server then enforces (default: the object's
        ``check_types``, True); False keeps only names, defaults, ``*args`` and ``**kwargs``
        (annotations written for readers rather than for callers). An explicit ``params`` is
        used as given."""
        if not callable(handler):
            raise TypeError("handler must be callable")
        types = self.check_types if check_types is None else check_types
        described = describe_parameters(handler, types=types) if params == "auto" else params
        description = description if description is not None else (inspect.getdoc(handler) or "").split("\n")[0]
        entry = self._new_method(method, handler, int(concurrency))
        # a generator streams its result: describe() (and so a proxy) knows it
        streams = inspect.isgeneratorfunction(handler) or inspect.isasyncgenfunction(handler)
        register = lib.snats_rpc_server_register_stream if streams else lib.snats_rpc_server_register
        key = rt.register(entry)
        try:
            for namespace in self.namespaces:
                with _LentJSON(described) as desc, self._server(namespace).use() as server:
                    _check(register(server, rt.text_arg(method, "method"), desc, rt.text_arg(description, "description"),
                                    int(concurrency), _CALL_THUNK, key))
        except BaseException:
            rt.unregister(key)
            raise
        with self._lock:
            self._keys.append(key)

    def serve(self, service: Any, prefix: str = "", **options: Any) -> List[str]:
        """Serves a whole object in one call: every method marked ``@expose``
        (:func:`swiftnats.rpc_objects.expose`), and those of the services it holds in its
        attributes under dotted names (``addition.add``); a dict serves its functions and
        sub-services under its keys. Options as :meth:`register_handler`. Returns the method
        names, sorted. Also after :meth:`start`."""
        methods = exposed_methods(service, f"{prefix}." if prefix else "")
        for name, function in methods:
            self.register_handler(name, function, **options)
        return [name for name, _ in methods]

    def _new_method(self, name: str, fn: Callable[..., Any], concurrency: int) -> "_Method":
        """How a registered function is called (the asyncio face runs coroutines its own way,
        @p concurrency of them at once)."""
        return _Method(self, name, fn)

    def method(self, name: Union[str, Callable[..., Any], None] = None, **options: Any) -> Any:
        """Decorator: ``@rpc.method("math.add")``, ``@rpc.method()`` or ``@rpc.method`` (the
        function's name). Options as :meth:`register_handler`."""
        if callable(name):
            self.register_handler(name.__name__, name, **options)
            return name

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.register_handler(name or fn.__name__, fn, **options)
            return fn
        return register

    #: NAS_RPC's name for :meth:`method`
    rpc_method = method

    def start(self, prefix: str = "") -> None:
        """Serves every registered method (``prefix="api"``: ``math.add`` as ``api.math.add``).
        On return any client on the same NATS server can call them."""
        if self._loop is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                pass
        for namespace in self.namespaces:
            with self._server(namespace).use() as server:
                _check(lib.snats_rpc_server_start(server, rt.optional_text_arg(prefix or None, "prefix")))
        self._prefix = prefix

    #: NAS_RPC's name for :meth:`start`
    start_server = start

    def stop(self) -> None:
        """Stops serving (calls already received are answered); :meth:`start` may follow."""
        with self._lock:
            servers = list(self._servers.values())
        for handle in servers:
            use = handle.try_use()
            if use is not None:
                with use as server:
                    _check(lib.snats_rpc_server_stop(server))

    @property
    def server_ids(self) -> Dict[str, str]:
        """namespace -> the running micro service's instance id."""
        ids: Dict[str, str] = {}
        with self._lock:
            servers = dict(self._servers)
        for namespace, handle in servers.items():
            use = handle.try_use()
            if use is not None:
                with use as server:
                    raw = lib.snats_rpc_server_id(server)
                    if raw:
                        ids[namespace] = rt.decode(raw)
        return ids

    def _server(self, namespace: str) -> rt.Handle:
        with self._lock:
            handle = self._servers.get(namespace)
            if handle is not None:
                return handle
            out = ctypes.c_void_p()
            with self._nc._use() as conn:
                _check(lib.snats_rpc_server_create(ctypes.byref(out), conn, rt.text_arg(namespace, "namespace"),
                                                   rt.optional_text_arg(self.root, "root")))
            handle = rt.Handle(rt.out_ptr(out, "RPC server"), lib.snats_rpc_server_destroy,
                               lambda: IllegalStateError("the RPC object is closed"), "RPC server",
                               defer_on_callback_thread=True)
            self._servers[namespace] = handle
            return handle

    def _handler_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                return self._loop
            if self._loop_thread is None:
                self._loop_thread = _LoopThread()
            return self._loop_thread.loop

    # -- calling -------------------------------------------------------------------------------

    def _ms(self, timeout: Optional[float]) -> int:
        return rt.ms_arg(self.timeout if timeout is None else timeout)

    def call(self, method: str, params: Params = None, timeout: Optional[float] = None) -> Any:
        """Calls @p method with a dict or a list of params and returns its result. Raises
        :class:`RPCError` (a subclass for the standard codes) for an error answer,
        :class:`swiftnats.TimeoutError` when no answer came in time."""
        result, error = ctypes.c_void_p(), ctypes.c_void_p()
        with _LentJSON(_params_value(params)) as p, self._client.use() as client:
            status = lib.snats_rpc_client_call(ctypes.byref(result), ctypes.byref(error), client,
                                               rt.text_arg(method, "method"), p, self._ms(timeout))
            return _outcome(status, result, error)

    def call_async(self, method: str, params: Params = None) -> int:
        """Sends a call and returns its id at once; :meth:`get_response` collects the result."""
        out = ctypes.c_uint64()
        with _LentJSON(_params_value(params)) as p, self._client.use() as client:
            _check(lib.snats_rpc_client_call_async(ctypes.byref(out), client, rt.text_arg(method, "method"), p))
        return int(out.value)

    def get_response(self, request_id: int, timeout: Optional[float] = None) -> Any:
        """The result of a :meth:`call_async` call (raises as :meth:`call`). After a timeout the
        call stays pending; once answered its id is forgotten (:class:`NotFoundError`)."""
        result, error = ctypes.c_void_p(), ctypes.c_void_p()
        with self._client.use() as client:
            status = lib.snats_rpc_client_get_response(ctypes.byref(result), ctypes.byref(error), client,
                                                       int(request_id), self._ms(timeout))
            return _outcome(status, result, error)

    def cancel(self, request_id: int) -> None:
        """Forgets a pending :meth:`call_async` call."""
        with self._client.use() as client:
            _check(lib.snats_rpc_client_cancel(client, int(request_id)))

    def call_with_callback(self, method: str, params: Params, callback: Callback,
                           timeout: Optional[float] = None) -> None:
        """Sends a call; ``callback(result, error)`` runs once on a library thread with the
        result (error None) or the exception (an RPCError, or a timeout)."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        value = _params_value(params)
        key = rt.register(callback)
        try:
            with _LentJSON(value) as p, self._client.use() as client:
                _check(lib.snats_rpc_client_call_cb(client, rt.text_arg(method, "method"), p, self._ms(timeout),
                                                    _OUTCOME_THUNK, key))
        except BaseException:
            rt.unregister(key)
            raise

    def call_batch(self, calls: Sequence[Any], timeout: Optional[float] = None) -> List[Any]:
        """Sends every call at once, ``(method, params)`` or ``(method,)`` each, and waits for
        all (the timeout is for the whole batch). Returns one entry per call, in order: its
        result, or the exception (``isinstance(r, Exception)``) for a failed one."""
        entries = [[method] if params is None else [method, params] for method, params in _batch_calls(calls)]
        out = ctypes.c_void_p()
        with _LentJSON(entries) as j, self._client.use() as client:
            _check(lib.snats_rpc_client_call_batch(ctypes.byref(out), client, j, self._ms(timeout)))
        results: List[Any] = []
        for entry in _take(out):
            status = entry.get("status")
            if status == Status.OK:
                results.append(entry.get("result"))
            elif status == Status.RPC_ERROR:
                results.append(_error_of(entry.get("error")))
            else:
                results.append(error_for_status(int(status), str(entry.get("message", ""))))
        return results

    def call_stream(self, method: str, params: Params = None, timeout: Optional[float] = None) -> RPCStream:
        """Calls a streaming method (a generator on the server): iterate the returned stream
        for its items. The timeout applies to each item."""
        out = ctypes.c_void_p()
        with _LentJSON(_params_value(params)) as p, self._client.use() as client:
            _check(lib.snats_rpc_client_call_stream(ctypes.byref(out), client, rt.text_arg(method, "method"), p,
                                                    self._ms(timeout)))
        return RPCStream(rt.out_ptr(out, "RPC stream"))

    def stream_to(self, method: str, params: Params, sink: Callable[[Any, Optional[BaseException]], None],
                  timeout: Optional[float] = None) -> CallbackStream:
        """Calls a streaming method without waiting: ``sink(item, None)`` runs for each item,
        in order, then ``sink(STREAM_END, None)`` or ``sink(None, exception)`` once (a timeout
        when no item came within @p timeout), where the library calls back (on a library
        thread, or on the loop's thread for an aio client). Close the returned stream when done
        with it (early: no more calls of @p sink)."""
        value = _params_value(params)
        key = rt.register(sink)
        out = ctypes.c_void_p()
        try:
            with _LentJSON(value) as p, self._client.use() as client:
                _check(lib.snats_rpc_client_call_stream_cb(ctypes.byref(out), client, rt.text_arg(method, "method"), p,
                                                           self._ms(timeout), _STREAM_THUNK, key))
        except BaseException:
            rt.unregister(key)
            raise
        return CallbackStream(rt.out_ptr(out, "RPC stream"), key)

    def proxy(self, describe_timeout: float = 0.5) -> Proxy:
        """The remote methods as functions (``proxy.math.add(1, 2)``), with their signatures,
        described now (waits @p describe_timeout). See :mod:`swiftnats.rpc_proxy`."""
        return Proxy(self, describe_timeout).refresh()

    @property
    def remote(self) -> Proxy:
        """A proxy made on first use (:meth:`proxy`) and kept: ``rpc.remote.math.add(1, 2)``."""
        if self._remote is None:
            self._remote = self.proxy()
        return self._remote

    def describe(self, timeout: float = 1.0) -> List[MethodInfo]:
        """The methods the namespace(s) offer, with their parameters (waits @p timeout for
        every server instance to answer)."""
        out = ctypes.c_void_p()
        with self._client.use() as client:
            _check(lib.snats_rpc_client_describe(ctypes.byref(out), client, rt.ms_arg(timeout)))
        return method_infos(_take(out))

    def describe_to(self, callback: Callable[[Optional[List[MethodInfo]], Optional[BaseException]], None],
                    timeout: float = 1.0) -> None:
        """As :meth:`describe` without waiting: every namespace is asked at once, and
        ``callback(methods, error)`` runs once after @p timeout, where the library calls back."""
        def outcome(value: Any, error: Optional[BaseException]) -> None:
            callback(None if error is not None else method_infos(value), error)

        with self._client.use() as client:
            call_with_json_outcome(lambda thunk, key: lib.snats_rpc_client_describe_cb(client, rt.ms_arg(timeout), thunk, key),
                                   outcome)

    # -- life cycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stops serving, forgets pending calls; idempotent."""
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
            keys, self._keys = self._keys, []
            loop_thread, self._loop_thread = self._loop_thread, None
        for handle in servers:
            handle.close()
        self._client.close()
        for key in keys:
            rt.unregister(key)
        if loop_thread is not None:
            loop_thread.stop()

    #: NAS_RPC's name for :meth:`close`
    disconnect = close

    def __enter__(self) -> "RPC":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RPC {'/'.join(self.namespaces)}{'' if self._prefix is None else ' serving'}>"


def __getattr__(name: str) -> Any:
    """``AsyncRPC`` is :class:`swiftnats.aio.rpc.RPC` (imported on first use: it needs this
    module)."""
    if name == "AsyncRPC":
        from .aio.rpc import RPC as AsyncRPC  # noqa: PLC0415

        return AsyncRPC
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
