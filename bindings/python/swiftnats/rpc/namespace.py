"""The RPC object: server and client of a namespace (or, for calls, a namespace group)."""

from __future__ import annotations

import asyncio
import ctypes
import inspect
import threading
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .. import _runtime as rt
from .._json import call_with_json_outcome
from .._lib import lib
from ..client import Client
from ..errors import (
    IllegalStateError,
    Status,
    _check,
    error_for_status,
)
from ._wire import (
    _DEFAULT_TIMEOUT,
    _OUTCOME_THUNK,
    Callback,
    MethodInfo,
    Params,
    _batch_calls,
    _error_of,
    _LentJSON,
    _outcome,
    _params_value,
    _take,
    method_infos,
)
from .objects import exposed_methods
from .params import describe_parameters
from .proxy import Proxy
from .references import REF_KEY, CallableReference, Reference, is_reference, lend_arguments, reference_infos, revoke_all
from .serving import _CALL_THUNK, _LoopThread, _Method
from .streams import _STREAM_THUNK, STREAM_END, CallbackStream, RPCStream


class RPC:
    """Server and client of a namespace (or, for calls, of a namespace group: a list of
    namespaces tried in order, the next one answering when one has no server for the method).
    Thread-safe; a context manager that closes it. The connection may be shared."""

    def __init__(self, nc: Client, namespace: Union[str, Sequence[str]] = "default", *, root: Optional[str] = None,
                 timeout: float = _DEFAULT_TIMEOUT, loop: Optional[asyncio.AbstractEventLoop] = None,
                 check_types: bool = True, heartbeat: float = 1.0,
                 reference: Optional[Mapping[str, Any]] = None) -> None:
        """``reference``: a reference received in a call's params (``{"$ref": {...}}``) makes
        this object a client of it instead of a namespace: its calls reach the lent methods
        (it serves nothing, and describes what the reference lists)."""
        self._nc = getattr(nc, "sync_client", nc)  # an aio.Client works too
        #: whether methods registered from their signature have their annotations enforced
        self.check_types = check_types
        self._remote: Optional[Proxy] = None
        #: the reference this object calls (a dict), None for a client of namespaces
        self.reference: Optional[Dict[str, Any]] = None
        self._lent: List[Reference] = []  # references lent until revoked or closed
        self._calls_lent: Dict[int, List[Reference]] = {}  # call_async id -> its references
        names = [namespace] if isinstance(namespace, str) else list(namespace)
        if not names:
            raise ValueError("namespace must name at least one namespace")
        if reference is not None:
            if not is_reference(dict(reference)):
                raise ValueError(f"not a reference: {reference!r}")
            self.reference = dict(reference)
            names = []
        self.namespaces: Tuple[str, ...] = tuple(names)
        self.namespace = names[0] if names else ""
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
            if self.reference is not None:
                with _LentJSON(self.reference) as j:
                    _check(lib.snats_rpc_client_create_from_ref(ctypes.byref(out), conn, j))
            elif len(names) == 1 and root is None:
                _check(lib.snats_rpc_client_create(ctypes.byref(out), conn, rt.text_arg(names[0], "namespace")))
            else:
                array = (ctypes.c_char_p * len(names))(*(rt.text_arg(n, "namespace") for n in names))
                _check(lib.snats_rpc_client_create_group(ctypes.byref(out), conn, array, len(names),
                                                         rt.optional_text_arg(root, "root")))
        self._client = rt.Handle(rt.out_ptr(out, "RPC client"), lib.snats_rpc_client_destroy,
                                 lambda: IllegalStateError("the RPC object is closed"), "RPC client",
                                 defer_on_callback_thread=True)
        try:
            self.heartbeat = heartbeat
        except BaseException:
            self._client.close()  # a bad interval: nothing made is kept
            raise
        if self.reference is not None:  # made for a handler's proxy: freed with it
            weakref.finalize(self, self._client.close)

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
        (:func:`swiftnats.rpc.objects.expose`), and those of the services it holds in its
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

    # -- references --------------------------------------------------------------------------

    def lend(self, target: Any) -> Reference:
        """Lends @p target (a function, or an object with ``@expose``\\ d methods, or a
        :class:`~swiftnats.rpc.objects.ServiceDict`) until :meth:`Reference.revoke` or
        :meth:`close`: pass it in calls' params, and servers get a proxy to it that stays valid
        after the call (see :mod:`swiftnats.rpc.references`). Functions and objects passed
        directly are lent for their call only."""
        lent = Reference(self, target)
        with self._lock:
            self._lent = [r for r in self._lent if not r.revoked] + [lent]
        return lent

    def _lend(self, params: Params) -> Tuple[Any, List[Reference]]:
        """The params to send, and the references lent for this call."""
        return lend_arguments(self, _params_value(params))

    def _resolve_references(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
        """A handler's arguments with every reference replaced by a proxy to it."""
        if not any(is_reference(v) for v in args) and not any(is_reference(v) for v in kwargs.values()):
            return args, kwargs
        return (tuple(self._reference_proxy(v) if is_reference(v) else v for v in args),
                {k: self._reference_proxy(v) if is_reference(v) else v for k, v in kwargs.items()})

    def _reference_proxy(self, reference: Dict[str, Any]) -> Any:
        """A proxy to a reference a handler received: its methods as functions (a callable for
        a lent function), calling through a client of this object's connection."""
        caller = RPC(self._nc, timeout=self.timeout, heartbeat=self.heartbeat, reference=reference)
        proxy = Proxy(caller)
        proxy._learn(reference_infos(reference))
        return CallableReference(proxy) if reference[REF_KEY].get("function") else proxy

    # -- calling -------------------------------------------------------------------------------

    def _ms(self, timeout: Optional[float]) -> int:
        return rt.ms_arg(self.timeout if timeout is None else timeout)

    def call(self, method: str, params: Params = None, timeout: Optional[float] = None) -> Any:
        """Calls @p method with a dict or a list of params and returns its result. Raises
        :class:`RPCError` (a subclass for the standard codes) for an error answer,
        :class:`swiftnats.TimeoutError` when no answer came in time."""
        value, lent = self._lend(params)
        try:
            result, error = ctypes.c_void_p(), ctypes.c_void_p()
            with _LentJSON(value) as p, self._client.use() as client:
                status = lib.snats_rpc_client_call(ctypes.byref(result), ctypes.byref(error), client,
                                                   rt.text_arg(method, "method"), p, self._ms(timeout))
                return _outcome(status, result, error)
        finally:
            revoke_all(lent)

    def call_async(self, method: str, params: Params = None) -> int:
        """Sends a call and returns its id at once; :meth:`get_response` collects the result."""
        value, lent = self._lend(params)
        out = ctypes.c_uint64()
        try:
            with _LentJSON(value) as p, self._client.use() as client:
                _check(lib.snats_rpc_client_call_async(ctypes.byref(out), client, rt.text_arg(method, "method"), p))
        except BaseException:
            revoke_all(lent)
            raise
        if lent:
            with self._lock:
                self._calls_lent[int(out.value)] = lent
        return int(out.value)

    def _call_over(self, request_id: int) -> None:
        with self._lock:
            lent = self._calls_lent.pop(int(request_id), [])
        revoke_all(lent)

    def get_response(self, request_id: int, timeout: Optional[float] = None) -> Any:
        """The result of a :meth:`call_async` call (raises as :meth:`call`). After a timeout the
        call stays pending; once answered its id is forgotten (:class:`NotFoundError`)."""
        result, error = ctypes.c_void_p(), ctypes.c_void_p()
        with self._client.use() as client:
            status = lib.snats_rpc_client_get_response(ctypes.byref(result), ctypes.byref(error), client,
                                                       int(request_id), self._ms(timeout))
        if status != Status.TIMEOUT:  # answered, failed or lost: over (a timeout leaves it pending)
            self._call_over(request_id)
        return _outcome(status, result, error)

    def cancel(self, request_id: int) -> None:
        """Forgets a pending :meth:`call_async` call."""
        with self._client.use() as client:
            _check(lib.snats_rpc_client_cancel(client, int(request_id)))
        self._call_over(request_id)

    def call_with_callback(self, method: str, params: Params, callback: Callback,
                           timeout: Optional[float] = None) -> None:
        """Sends a call; ``callback(result, error)`` runs once on a library thread with the
        result (error None) or the exception (an RPCError, or a timeout)."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        value, lent = self._lend(params)
        if lent:
            def over(result: Any, error: Optional[BaseException], then: Callback = callback) -> None:
                revoke_all(lent)
                then(result, error)
            callback = over
        key = rt.register(callback)
        try:
            with _LentJSON(value) as p, self._client.use() as client:
                _check(lib.snats_rpc_client_call_cb(client, rt.text_arg(method, "method"), p, self._ms(timeout),
                                                    _OUTCOME_THUNK, key))
        except BaseException:
            rt.unregister(key)
            revoke_all(lent)
            raise

    def call_batch(self, calls: Sequence[Any], timeout: Optional[float] = None) -> List[Any]:
        """Sends every call at once, ``(method, params)`` or ``(method,)`` each, and waits for
        all (the timeout is for the whole batch). Returns one entry per call, in order: its
        result, or the exception (``isinstance(r, Exception)``) for a failed one."""
        lent: List[Reference] = []
        entries: List[List[Any]] = []
        try:
            for method, params in _batch_calls(calls):
                value, call_lent = lend_arguments(self, params)
                lent.extend(call_lent)
                entries.append([method] if value is None else [method, value])
            out = ctypes.c_void_p()
            with _LentJSON(entries) as j, self._client.use() as client:
                _check(lib.snats_rpc_client_call_batch(ctypes.byref(out), client, j, self._ms(timeout)))
        finally:
            revoke_all(lent)
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
        value, lent = self._lend(params)
        out = ctypes.c_void_p()
        try:
            with _LentJSON(value) as p, self._client.use() as client:
                _check(lib.snats_rpc_client_call_stream(ctypes.byref(out), client, rt.text_arg(method, "method"), p,
                                                        self._ms(timeout)))
        except BaseException:
            revoke_all(lent)
            raise
        stream = RPCStream(rt.out_ptr(out, "RPC stream"), on_close=(lambda: revoke_all(lent)) if lent else None)
        if lent:  # a stream dropped unread revokes them when collected; close() in any case
            weakref.finalize(stream, revoke_all, lent)
            with self._lock:
                self._lent.extend(lent)
        return stream

    def stream_to(self, method: str, params: Params, sink: Callable[[Any, Optional[BaseException]], None],
                  timeout: Optional[float] = None) -> CallbackStream:
        """Calls a streaming method without waiting: ``sink(item, None)`` runs for each item,
        in order, then ``sink(STREAM_END, None)`` or ``sink(None, exception)`` once (a timeout
        when no item came within @p timeout), where the library calls back (on a library
        thread, or on the loop's thread for an aio client). Close the returned stream when done
        with it (early: no more calls of @p sink)."""
        value, lent = self._lend(params)
        if lent:
            def over(item: Any, error: Optional[BaseException], then: Callable[[Any, Optional[BaseException]], None] = sink) -> None:
                if error is not None or item is STREAM_END:
                    revoke_all(lent)
                then(item, error)
            sink = over
        key = rt.register(sink)
        out = ctypes.c_void_p()
        try:
            with _LentJSON(value) as p, self._client.use() as client:
                _check(lib.snats_rpc_client_call_stream_cb(ctypes.byref(out), client, rt.text_arg(method, "method"), p,
                                                           self._ms(timeout), _STREAM_THUNK, key))
        except BaseException:
            rt.unregister(key)
            revoke_all(lent)
            raise
        return CallbackStream(rt.out_ptr(out, "RPC stream"), key, on_close=(lambda: revoke_all(lent)) if lent else None)

    def proxy(self, describe_timeout: float = 0.5) -> Proxy:
        """The remote methods as functions (``proxy.math.add(1, 2)``), with their signatures,
        described now (waits @p describe_timeout). See :mod:`swiftnats.rpc.proxy`."""
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
        if self.reference is not None:
            return reference_infos(self.reference)
        out = ctypes.c_void_p()
        with self._client.use() as client:
            _check(lib.snats_rpc_client_describe(ctypes.byref(out), client, rt.ms_arg(timeout)))
        return method_infos(_take(out))

    def describe_to(self, callback: Callable[[Optional[List[MethodInfo]], Optional[BaseException]], None],
                    timeout: float = 1.0) -> None:
        """As :meth:`describe` without waiting: every namespace is asked at once, and
        ``callback(methods, error)`` runs once after @p timeout, where the library calls back."""
        if self.reference is not None:
            callback(reference_infos(self.reference), None)
            return

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
            lent = self._lent + [r for rs in self._calls_lent.values() for r in rs]
            self._lent, self._calls_lent = [], {}
        revoke_all(lent)
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

