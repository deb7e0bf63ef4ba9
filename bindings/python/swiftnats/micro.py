"""NATS micro services (the Service API, ADR-32): :func:`add_service`, endpoints and groups,
requests, and discovery (:func:`ping`, :func:`info`, :func:`stats`).

    import swiftnats
    from swiftnats import micro

    with swiftnats.connect(url) as nc, micro.add_service(nc, name="calc", version="1.0.0") as svc:
        @svc.endpoint("add", subject="calc.add")
        def add(req: micro.Request) -> None:
            a, b = req.json()
            req.respond_json(a + b)

Handlers run on library threads, one request at a time per endpoint. A handler that raises
:class:`ServiceError` answers with that code and description; any other exception answers
``500`` with the exception's ``repr`` (as nats.py does). Names follow nats.py's ``nats.micro``.
"""

from __future__ import annotations

import ctypes
import json
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Type, TypeVar

from . import _runtime as rt
from ._json import call_with_json_outcome, json_new, json_value
from ._lib import MICRO_HANDLER, SERVICE_DONE_HANDLER, SERVICE_ERROR_HANDLER, STATS_HANDLER, lib
from ._runtime import Payload
from .client import Client
from .errors import IllegalStateError, _check, error_for_status
from .headers import HeadersArg, c_headers
from .msg import Msg

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

#: handler(request): answer with request.respond / respond_json / respond_error, or raise.
Handler = Callable[["Request"], None]


class ServiceError(Exception):
    """Raised by a handler to answer with an error (nats.py's ``ServiceError``)."""

    def __init__(self, code: str, description: str, data: bytes = b"") -> None:
        super().__init__(f"{code}:{description}")
        self.code = str(code)
        self.description = description
        self.data = data

    def __repr__(self) -> str:
        return f"{self.code}:{self.description}"


class Request:
    """A request to an endpoint. Answer it once, in the handler or later from another thread."""

    __slots__ = ("_cell", "msg", "__weakref__")

    def __init__(self, ptr: int) -> None:
        # Retained so that it can be answered after the handler returned; released with the
        # Request object (the finalizer holds the cell, not the Request).
        self._cell = _RequestCell(lib.snats_micro_request_retain(ptr))
        weakref.finalize(self, self._cell.release)
        self.msg = Msg._copy(lib.snats_micro_request_msg(ptr), None)

    @property
    def subject(self) -> str:
        return self.msg.subject

    @property
    def reply(self) -> str:
        return self.msg.reply

    @property
    def data(self) -> bytes:
        return self.msg.data

    @property
    def headers(self) -> Optional[Dict[str, str]]:
        return self.msg.headers

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.msg.data or b"null")

    def respond(self, data: Payload = b"", headers: HeadersArg = None) -> None:
        payload, length = rt.payload_arg(data)
        with self._use() as ptr, c_headers(headers) as hdrs:
            _check(lib.snats_micro_request_respond(ptr, hdrs, payload, length))

    def respond_json(self, value: Any) -> None:
        handle = json_new(value)
        try:
            with self._use() as ptr:
                _check(lib.snats_micro_request_respond_json(ptr, handle))
        finally:
            lib.snats_json_decref(handle)

    def respond_error(self, code: str, description: str, data: Payload = b"", headers: HeadersArg = None) -> None:
        """Answers with the ``Nats-Service-Error`` / ``Nats-Service-Error-Code`` headers (plus
        @p headers); counted in the endpoint's ``num_errors`` and ``last_error``."""
        payload, length = rt.payload_arg(data)
        with self._use() as ptr, c_headers(headers) as hdrs:
            _check(
                lib.snats_micro_request_respond_error(
                    ptr, rt.text_arg(str(code), "code"), rt.text_arg(description, "description"), hdrs, payload, length
                )
            )

    def _use(self) -> "_RequestUse":
        return _RequestUse(self._cell)

    def __repr__(self) -> str:
        return f"<Request {self.subject!r} {len(self.data)} bytes>"


class _RequestCell:
    """The retained ``snats_micro_request*`` of a Request."""

    __slots__ = ("ptr", "lock")

    def __init__(self, ptr: Optional[int]) -> None:
        self.ptr = ptr
        self.lock = threading.Lock()

    def release(self) -> None:
        with self.lock:
            ptr, self.ptr = self.ptr, None
        if ptr is not None:
            lib.snats_micro_request_release(ptr)


class _RequestUse:
    __slots__ = ("_cell",)

    def __init__(self, cell: _RequestCell) -> None:
        self._cell = cell

    def __enter__(self) -> int:
        ptr = self._cell.ptr
        if ptr is None:
            raise IllegalStateError("the request was released")
        rt.hand_over_publishes()  # the answer follows what the handler published
        return ptr

    def __exit__(self, *exc: Any) -> None:
        pass


# --------------------------------------------------------------------------------------------
# Callbacks from C: one thunk per kind for the whole process; the closure is a registry key.
# --------------------------------------------------------------------------------------------


def _on_request(req: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            if not req:
                return
            entry = rt.lookup(closure)
            if entry is None:
                # The Python side is gone (released while a request was delivered): say so.
                lib.snats_micro_request_respond_error(req, b"503", b"service unavailable", None, None, 0)
                return
            service, handler = entry
            service._dispatch(handler, service._request_class(req))
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: error in the micro request thunk")


def _on_done(svc: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            service = rt.lookup(closure)
            if service is not None:
                service._stopped.set()
                if service._done_cb is not None:
                    service._call(service._done_cb, service)
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: error in the micro done thunk")


def _on_error(svc: Optional[int], ep: Optional[int], status: int, text: Optional[bytes], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            service = rt.lookup(closure)
            if service is not None and service._error_cb is not None:
                name = rt.decode(lib.snats_endpoint_name(ep)) if ep else None
                service._call(service._error_cb, error_for_status(status, rt.decode(text)), name)
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: error in the micro error thunk")


def _on_stats(endpoint: Optional[bytes], closure: Optional[int]) -> Optional[int]:
    try:
        rt.enter_callback()
        try:
            service = rt.lookup(closure)
            if service is None or service._stats_handler is None:
                return None
            value = service._stats_handler(rt.decode(endpoint))
            return None if value is None else json_new(value)  # the library takes this reference
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: the stats handler failed")
        return None


_REQUEST_THUNK = MICRO_HANDLER(_on_request)
_DONE_THUNK = SERVICE_DONE_HANDLER(_on_done)
_ERROR_THUNK = SERVICE_ERROR_HANDLER(_on_error)
_STATS_THUNK = STATS_HANDLER(_on_stats)


# --------------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------------


def add_service(
    nc: Client,
    *,
    name: str,
    version: str,
    description: str = "",
    metadata: Optional[Mapping[str, str]] = None,
    queue_group: Optional[str] = None,
    queue_group_disabled: bool = False,
    stats_handler: Optional[Callable[[str], Any]] = None,
    done_cb: Optional[Callable[["Service"], None]] = None,
    error_cb: Optional[Callable[[BaseException, Optional[str]], None]] = None,
) -> "Service":
    """Starts a service on @p nc and returns it (a context manager that stops it).

    Args:
        name: letters, digits, ``-`` and ``_``; version: a semantic version ("1.0.0").
        metadata: strings, reported by PING, INFO and STATS.
        queue_group: default queue group of the endpoints ("q"); queue_group_disabled: every
            instance receives every request.
        stats_handler(endpoint_name) -> JSON-able ``data`` for STATS.
        done_cb(service): once stopped and every handler has returned.
        error_cb(error, endpoint_name or None): an asynchronous error of the service's
            subscriptions (slow consumer...), after which the service stops; also exceptions
            raised by handlers (answered with a 500 error; the service keeps running).

    Raises:
        InvalidArgumentError for a bad name, version, queue group or metadata.
    """
    return Service._start(nc, name, version, description, metadata, queue_group, queue_group_disabled,
                          stats_handler, done_cb, error_cb)


#: Service or a subclass (``aio.micro.Service``): what :meth:`Service._start` makes
_S = TypeVar("_S", bound="Service")


class Service:
    """A running service instance. Thread-safe."""

    #: the class of the requests handed to the handlers
    _request_class: Callable[[int], Request] = Request

    id: str
    name: str
    version: str
    _nc: Client
    _stats_handler: Optional[Callable[[str], Any]]
    _done_cb: Optional[Callable[["Service"], None]]
    _error_cb: Optional[Callable[[BaseException, Optional[str]], None]]
    _stopped: threading.Event  # set by the done thunk
    _keys: List[int]  # registry keys of the endpoints' handlers
    _groups: Dict[str, "Group"]  # groups made by add_endpoint(group=prefix)
    _groups_lock: threading.Lock
    _key: int  # this service's registry key (the closure of its callbacks)
    _handle: rt.Handle

    def __init__(self) -> None:
        raise TypeError("use swiftnats.micro.add_service()")

    @classmethod
    def _start(cls: Type[_S], nc: Client, name: str, version: str, description: str, metadata: Optional[Mapping[str, str]],
               queue_group: Optional[str], queue_group_disabled: bool, stats_handler: Optional[Callable[[str], Any]],
               done_cb: Optional[Callable[["Service"], None]],
               error_cb: Optional[Callable[[BaseException, Optional[str]], None]]) -> _S:
        for label, cb in (("stats_handler", stats_handler), ("done_cb", done_cb), ("error_cb", error_cb)):
            if cb is not None and not callable(cb):
                raise TypeError(f"{label} must be callable")
        self = object.__new__(cls)
        self._nc = nc
        self._stats_handler = stats_handler
        self._done_cb = done_cb
        self._error_cb = error_cb
        self._stopped = threading.Event()
        self._keys = []
        self._groups = {}
        self._groups_lock = threading.Lock()
        self._key = rt.register(self)
        cfg = ctypes.c_void_p()
        svc = ctypes.c_void_p()
        try:
            _check(lib.snats_service_config_create(ctypes.byref(cfg), rt.text_arg(name, "name"), rt.text_arg(version, "version")))
            _check(lib.snats_service_config_set_description(cfg.value, rt.text_arg(description, "description")))
            if metadata:
                meta = json_new(dict(metadata))
                try:
                    _check(lib.snats_service_config_set_metadata(cfg.value, meta))
                finally:
                    lib.snats_json_decref(meta)
            _check(lib.snats_service_config_set_queue_group(
                cfg.value, rt.optional_text_arg(queue_group, "queue_group"), bool(queue_group_disabled)))
            _check(lib.snats_service_config_set_done_cb(cfg.value, _DONE_THUNK, self._key))
            _check(lib.snats_service_config_set_error_cb(cfg.value, _ERROR_THUNK, self._key))
            if stats_handler is not None:
                _check(lib.snats_service_config_set_stats_cb(cfg.value, _STATS_THUNK, self._key))
            with nc._use() as conn:
                _check(lib.snats_service_create(ctypes.byref(svc), conn, cfg.value))
        except BaseException:
            rt.unregister(self._key)
            raise
        finally:
            lib.snats_service_config_destroy(cfg.value)
        self._handle = rt.Handle(rt.out_ptr(svc, "service"), self._destroy, _stopped_error, "service",
                                 defer_on_callback_thread=True)
        self.id = rt.decode(lib.snats_service_id(self._handle.address))
        self.name = name
        self.version = version
        return self

    # -- endpoints ----------------------------------------------------------------------------

    def add_endpoint(self, name: str, handler: Handler, *, subject: Optional[str] = None,
                     group: "Optional[Any]" = None, queue_group: Optional[str] = None,
                     queue_group_disabled: bool = False, metadata: Optional[Mapping[str, str]] = None,
                     pending_limits: Optional[Tuple[int, int]] = None, concurrency: int = 1) -> str:
        """Adds an endpoint (also while running); returns its full subject. ``group``: a
        :class:`Group`, or a prefix (its group is made once and reused). ``concurrency`` lets
        the handler run on up to that many requests at once (default 1: in order)."""
        if group is not None:
            target = group if isinstance(group, Group) else self._group_named(str(group))
            return target.add_endpoint(name, handler, subject=subject, queue_group=queue_group,
                                       queue_group_disabled=queue_group_disabled, metadata=metadata,
                                       pending_limits=pending_limits, concurrency=concurrency)
        return self._add(None, name, handler, subject, queue_group, queue_group_disabled, metadata, pending_limits,
                         concurrency)

    def _group_named(self, prefix: str) -> "Group":
        with self._groups_lock:
            found = self._groups.get(prefix)
            if found is None:
                found = self._groups[prefix] = self.add_group(prefix)
            return found

    def endpoint(self, name: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add_endpoint`."""
        def register(handler: Handler) -> Handler:
            self.add_endpoint(name, handler, **options)
            return handler
        return register

    def add_group(self, name: str, *, queue_group: Optional[str] = None, queue_group_disabled: bool = False) -> "Group":
        """A subject prefix for endpoints, with a default queue group."""
        return Group._make(self, None, name, queue_group, queue_group_disabled)

    def _add(self, group: Optional[int], name: str, handler: Handler, subject: Optional[str], queue_group: Optional[str],
             queue_group_disabled: bool, metadata: Optional[Mapping[str, str]], pending_limits: Optional[Tuple[int, int]],
             concurrency: int = 1) -> str:
        if not callable(handler):
            raise TypeError("handler must be callable")
        cfg = ctypes.c_void_p()
        key = rt.register((self, handler))
        ep = ctypes.c_void_p()
        try:
            _check(lib.snats_endpoint_config_create(ctypes.byref(cfg)))
            if subject is not None:
                _check(lib.snats_endpoint_config_set_subject(cfg.value, rt.text_arg(subject, "subject")))
            _check(lib.snats_endpoint_config_set_queue_group(
                cfg.value, rt.optional_text_arg(queue_group, "queue_group"), bool(queue_group_disabled)))
            if metadata is not None:
                meta = json_new(dict(metadata))
                try:
                    _check(lib.snats_endpoint_config_set_metadata(cfg.value, meta))
                finally:
                    lib.snats_json_decref(meta)
            if concurrency != 1:
                _check(lib.snats_endpoint_config_set_concurrency(cfg.value, concurrency))
            if pending_limits is not None:
                msgs, size = pending_limits
                _check(lib.snats_endpoint_config_set_pending_limits(cfg.value, msgs, size))
            with self._handle.use() as svc:
                self._keys.append(key)  # before the C call: a concurrent stop must see it
                if group is None:
                    _check(lib.snats_service_add_endpoint(ctypes.byref(ep), svc, rt.text_arg(name, "name"), cfg.value,
                                                          _REQUEST_THUNK, key))
                else:
                    _check(lib.snats_group_add_endpoint(ctypes.byref(ep), group, rt.text_arg(name, "name"), cfg.value,
                                                        _REQUEST_THUNK, key))
                full = rt.decode(lib.snats_endpoint_subject(ep.value))
        except BaseException:
            rt.unregister(key)
            raise
        finally:
            lib.snats_endpoint_config_destroy(cfg.value)
        return full

    # -- requests -----------------------------------------------------------------------------

    def _dispatch(self, handler: Handler, request: Request) -> None:
        try:
            handler(request)
        except ServiceError as e:
            self._answer_error(request, e.code, e.description, e.data)
        except Exception as e:  # noqa: BLE001 - answered as nats.py does, then reported
            self._answer_error(request, "500", repr(e), b"")
            self._report(e, None)

    def _answer_error(self, request: Request, code: str, description: str, data: bytes) -> None:
        try:
            request.respond_error(code, description or "error", data)
        except Exception as e:  # noqa: BLE001
            self._report(e, None)

    def _report(self, error: BaseException, endpoint: Optional[str]) -> None:
        if self._error_cb is not None:
            self._call(self._error_cb, error, endpoint)
        else:
            rt.log.error("swiftnats: micro handler error: %r", error)

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            rt.log.exception("swiftnats: a micro callback raised")

    # -- monitoring and life cycle ------------------------------------------------------------

    def info(self) -> Dict[str, Any]:
        """This instance's INFO document."""
        return self._document(lib.snats_service_get_info)

    def stats(self) -> Dict[str, Any]:
        """This instance's STATS document."""
        return self._document(lib.snats_service_get_stats)

    def _document(self, getter: Callable[..., int]) -> Dict[str, Any]:
        out = ctypes.c_void_p()
        with self._handle.use() as svc:
            _check(getter(ctypes.byref(out), svc))
        try:
            value: Dict[str, Any] = json_value(out.value)
            return value
        finally:
            lib.snats_json_decref(out.value)

    def reset(self) -> None:
        with self._handle.use() as svc:
            _check(lib.snats_service_reset(svc))

    @property
    def stopped(self) -> bool:
        use = self._handle.try_use()
        if use is None:
            return True
        with use as svc:
            return bool(lib.snats_service_is_stopped(svc))

    def stop(self) -> None:
        """Drains the endpoints and `$SRV` handlers, runs done_cb; idempotent."""
        use = self._handle.try_use()
        if use is not None:
            with use as svc:
                _check(lib.snats_service_stop(svc))
        self._handle.close()  # frees the C service (after calls in flight) and the handler keys

    def _destroy(self, ptr: int) -> None:
        lib.snats_service_destroy(ptr)
        for key in self._keys:
            rt.unregister(key)
        rt.unregister(self._key)

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Service {self.name} {self.version} {self.id}{' stopped' if self.stopped else ''}>"


def _stopped_error() -> IllegalStateError:
    return IllegalStateError("the service was stopped and released")


class Group:
    """A subject prefix with a default queue group; groups nest."""

    _service: Service
    _ptr: int  # the snats_group*

    def __init__(self) -> None:
        raise TypeError("use Service.add_group()")

    @classmethod
    def _make(cls, service: Service, parent: Optional["Group"], name: str, queue_group: Optional[str],
              queue_group_disabled: bool) -> "Group":
        out = ctypes.c_void_p()
        with service._handle.use() as svc:
            if parent is None:
                _check(lib.snats_service_add_group(ctypes.byref(out), svc, rt.text_arg(name, "name"),
                                                   rt.optional_text_arg(queue_group, "queue_group"), bool(queue_group_disabled)))
            else:
                _check(lib.snats_group_add_group(ctypes.byref(out), parent._ptr, rt.text_arg(name, "name"),
                                                 rt.optional_text_arg(queue_group, "queue_group"), bool(queue_group_disabled)))
        self = object.__new__(cls)
        self._service = service
        self._ptr = rt.out_ptr(out, "group")
        weakref.finalize(self, lib.snats_group_destroy, self._ptr)
        return self

    def add_endpoint(self, name: str, handler: Handler, **options: Any) -> str:
        return self._service._add(
            self._ptr, name, handler, options.get("subject"), options.get("queue_group"),
            options.get("queue_group_disabled", False), options.get("metadata"), options.get("pending_limits"),
            options.get("concurrency", 1))

    def endpoint(self, name: str, **options: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add_endpoint(name, handler, **options)
            return handler
        return register

    def add_group(self, name: str, *, queue_group: Optional[str] = None, queue_group_disabled: bool = False) -> "Group":
        return Group._make(self._service, self, name, queue_group, queue_group_disabled)


# --------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------


def _strings(value: Any) -> Dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


@dataclass
class PingResponse:
    """A PING answer. Fields a service left out read as empty; ``raw`` is the whole document."""

    name: str
    id: str
    version: str
    metadata: Dict[str, str]
    raw: Dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "PingResponse":
        return cls(str(raw.get("name", "")), str(raw.get("id", "")), str(raw.get("version", "")),
                   _strings(raw.get("metadata")), raw)


@dataclass
class EndpointInfo:
    name: str
    subject: str
    queue_group: str
    metadata: Optional[Dict[str, str]]


@dataclass
class InfoResponse(PingResponse):
    description: str = ""
    endpoints: List[EndpointInfo] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "InfoResponse":
        base = PingResponse.from_dict(raw)
        endpoints = [
            EndpointInfo(str(e.get("name", "")), str(e.get("subject", "")), str(e.get("queue_group") or ""),
                         _strings(e["metadata"]) if isinstance(e.get("metadata"), dict) else None)
            for e in raw.get("endpoints") or [] if isinstance(e, dict)
        ]
        return cls(base.name, base.id, base.version, base.metadata, raw, str(raw.get("description") or ""), endpoints)


@dataclass
class EndpointStats:
    name: str
    subject: str
    queue_group: str
    num_requests: int
    num_errors: int
    last_error: str
    processing_time: int  #: nanoseconds
    average_processing_time: int  #: nanoseconds
    data: Any = None


@dataclass
class StatsResponse(PingResponse):
    started: str = ""
    endpoints: List[EndpointStats] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "StatsResponse":
        base = PingResponse.from_dict(raw)
        endpoints = [
            EndpointStats(str(e.get("name", "")), str(e.get("subject", "")), str(e.get("queue_group") or ""),
                          int(e.get("num_requests") or 0), int(e.get("num_errors") or 0), str(e.get("last_error") or ""),
                          int(e.get("processing_time") or 0), int(e.get("average_processing_time") or 0), e.get("data"))
            for e in raw.get("endpoints") or [] if isinstance(e, dict)
        ]
        return cls(base.name, base.id, base.version, base.metadata, raw, str(raw.get("started") or ""), endpoints)


def _discover(getter: Callable[..., int], nc: Client, name: Optional[str], id: Optional[str], timeout: float,
              max_replies: int) -> List[Dict[str, Any]]:
    out = ctypes.c_void_p()
    with nc._use() as conn:
        _check(getter(ctypes.byref(out), conn, rt.optional_text_arg(name, "name"), rt.optional_text_arg(id, "id"),
                      rt.ms_arg(timeout), max_replies))
    try:
        found: List[Dict[str, Any]] = json_value(out.value)
        return found
    finally:
        lib.snats_json_decref(out.value)


def discover_to(getter: Callable[..., int], nc: Client, name: Optional[str], id: Optional[str], timeout: float,
                max_replies: int, callback: Callable[[Any, Optional[BaseException]], None]) -> None:
    """Discovery without waiting (``snats_micro_{ping,info,stats}_cb`` as @p getter):
    ``callback(documents, error)`` runs once, where the library calls back (on the loop's
    thread for an aio client)."""
    with nc._use() as conn:
        call_with_json_outcome(
            lambda thunk, key: getter(conn, rt.optional_text_arg(name, "name"), rt.optional_text_arg(id, "id"),
                                      rt.ms_arg(timeout), max_replies, thunk, key), callback)


def ping(nc: Client, name: Optional[str] = None, id: Optional[str] = None, *, timeout: float = 1.0,
         max_replies: int = 0) -> List[PingResponse]:
    """The services that answer PING within @p timeout seconds (or the first @p max_replies);
    narrowed by service name and instance id. Works with services of any NATS client (older
    ones that send no ``type`` included); replies that are not micro documents are left out
    and reported to the connection's ``error_cb`` (how many, and why)."""
    return [PingResponse.from_dict(d) for d in _discover(lib.snats_micro_ping, nc, name, id, timeout, max_replies)]


def info(nc: Client, name: Optional[str] = None, id: Optional[str] = None, *, timeout: float = 1.0,
         max_replies: int = 0) -> List[InfoResponse]:
    """INFO answers (description, endpoints), as :func:`ping`."""
    return [InfoResponse.from_dict(d) for d in _discover(lib.snats_micro_info, nc, name, id, timeout, max_replies)]


def stats(nc: Client, name: Optional[str] = None, id: Optional[str] = None, *, timeout: float = 1.0,
          max_replies: int = 0) -> List[StatsResponse]:
    """STATS answers (per-endpoint counters), as :func:`ping`."""
    return [StatsResponse.from_dict(d) for d in _discover(lib.snats_micro_stats, nc, name, id, timeout, max_replies)]
