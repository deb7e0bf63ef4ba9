"""Exceptions of swiftnats, one class per ``snats_status``, named after nats.py's.

Every exception raised for a failed library call is a :class:`SwiftNatsError` carrying
``.status`` (the ``snats_status`` value, an ``int``) and ``.detail`` (the library's
``snats_last_error()`` text, copied right after the failed call).
"""

from __future__ import annotations

import asyncio
import builtins
import ctypes
import sys
from typing import Any, Dict, Optional, Tuple, Type

from ._lib import lib

__all__ = [
    "Status",
    "SwiftNatsError",
    "TimeoutError",
    "InvalidArgumentError",
    "InvalidSubjectError",
    "NoRespondersError",
    "MaxPayloadError",
    "ConnectionClosedError",
    "NotConnectedError",
    "NoServersError",
    "SocketError",
    "ProtocolError",
    "StaleConnectionError",
    "SlowConsumerError",
    "PermissionViolationError",
    "AuthorizationError",
    "InvalidSubscriptionError",
    "DrainingError",
    "IllegalStateError",
    "MaxDeliveredError",
    "ServerError",
    "InvalidJSONError",
    "NotFoundError",
    "BufferTooSmallError",
    "ReconnectBufferFullError",
    "TLSError",
    "PublishRefusedError",
    "CallLostError",
    "RPCError",
    "APIError",
    "BadRequestError",
    "APINotFoundError",
    "StreamNotFoundError",
    "ConsumerNotFoundError",
    "MsgNotFoundError",
    "ServiceUnavailableError",
    "WrongLastSequenceError",
    "WrongLastMsgIDError",
    "StreamNotMatchError",
    "JetStreamNotEnabledError",
    "MissedHeartbeatError",
    "ParseError",
    "InvalidRequestError",
    "MethodNotFoundError",
    "InvalidParamsError",
    "InternalError",
    # nats.py spellings
    "OutboundBufferLimitError",
    "BadSubjectError",
    "BadSubscriptionError",
    "ConnectionDrainingError",
    "JsonParseError",
    "error_for_status",
]


class Status:
    """The values of the C enum ``snats_status`` (stable; new ones are only appended)."""

    OK = 0
    ERR = 1
    INVALID_ARG = 2
    INVALID_SUBJECT = 3
    TIMEOUT = 4
    NO_RESPONDERS = 5
    MAX_PAYLOAD = 6
    CONNECTION_CLOSED = 7
    NOT_CONNECTED = 8
    NO_SERVER = 9
    IO_ERROR = 10
    PROTOCOL_ERROR = 11
    STALE_CONNECTION = 12
    SLOW_CONSUMER = 13
    PERMISSION_VIOLATION = 14
    AUTH_FAILED = 15
    INVALID_SUBSCRIPTION = 16
    DRAINING = 17
    ILLEGAL_STATE = 18
    MAX_DELIVERED = 19
    SERVER_ERROR = 20
    INVALID_JSON = 21
    NOT_FOUND = 22
    BUFFER_TOO_SMALL = 23
    RECONNECT_BUFFER_FULL = 24
    TLS_ERROR = 25
    RPC_ERROR = 26
    PUBLISH_REFUSED = 27
    CALL_LOST = 28
    JS_API_ERROR = 29
    JS_NOT_ENABLED = 30
    MISSED_HEARTBEAT = 31


def status_text(status: int) -> str:
    """The library's name of a status, e.g. ``"SNATS_TIMEOUT: timeout"``."""
    text = lib.snats_status_text(status)
    return text.decode("utf-8", "replace") if text else "unknown status"


class SwiftNatsError(Exception):
    """Base of every swiftnats error.

    Attributes:
        status: the ``snats_status`` value (an ``int``; see :class:`Status`).
        detail: the library's explanation (``snats_last_error()`` of the failed call, or the
            text an asynchronous error came with).
    """

    #: the status this class stands for (the base class stands for SNATS_ERR and unknown ones)
    default_status: int = Status.ERR

    def __init__(self, detail: str = "", status: Optional[int] = None) -> None:
        self.status: int = self.default_status if status is None else int(status)
        self.detail: str = detail
        super().__init__(self._message())

    def _message(self) -> str:
        name = status_text(self.status)
        return f"{name}: {self.detail}" if self.detail else name

    def __str__(self) -> str:
        return self._message()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, detail={self.detail!r})"

    def __reduce__(self) -> Tuple[Type["SwiftNatsError"], Tuple[str, int]]:  # picklable
        return (type(self), (self.detail, self.status))


if sys.version_info >= (3, 11):  # asyncio.TimeoutError is builtins.TimeoutError

    class TimeoutError(SwiftNatsError, builtins.TimeoutError):
        """The wait ended before the event (SNATS_TIMEOUT). Also a builtin ``TimeoutError``
        and so an ``asyncio.TimeoutError``."""

        default_status = Status.TIMEOUT

else:  # asyncio.TimeoutError is a class of its own before Python 3.11

    class TimeoutError(SwiftNatsError, builtins.TimeoutError, asyncio.TimeoutError):
        """The wait ended before the event (SNATS_TIMEOUT). Also a builtin ``TimeoutError``
        and an ``asyncio.TimeoutError``."""

        default_status = Status.TIMEOUT


class InvalidArgumentError(SwiftNatsError, ValueError):
    """A bad value: NULL handle, malformed URL, timeout <= 0... (SNATS_INVALID_ARG)."""

    default_status = Status.INVALID_ARG


class InvalidSubjectError(InvalidArgumentError):
    """Empty token, whitespace, or a wildcard where none may be (SNATS_INVALID_SUBJECT)."""

    default_status = Status.INVALID_SUBJECT


class NoRespondersError(SwiftNatsError):
    """The server reported no subscriber for a request (SNATS_NO_RESPONDERS)."""

    default_status = Status.NO_RESPONDERS


class MaxPayloadError(SwiftNatsError):
    """Headers + payload exceed the server's max_payload (SNATS_MAX_PAYLOAD)."""

    default_status = Status.MAX_PAYLOAD


class ConnectionClosedError(SwiftNatsError):
    """The connection is closed, or closed during the call (SNATS_CONNECTION_CLOSED)."""

    default_status = Status.CONNECTION_CLOSED


class NotConnectedError(SwiftNatsError, builtins.ConnectionError):
    """The connection is not (yet, or any longer) connected (SNATS_NOT_CONNECTED): also what
    a call or request waiting for its answer gets at once when this client's link to the
    server is lost. Also a builtin ``ConnectionError``."""

    default_status = Status.NOT_CONNECTED


class CallLostError(SwiftNatsError, builtins.ConnectionResetError):
    """An RPC call's server went silent (SNATS_CALL_LOST): neither its answer nor a liveness
    frame came for two heartbeat intervals, so the server died or lost its link while it had
    the call (docs/RPC.md "Liveness"). Also a builtin ``ConnectionResetError`` (and so a
    ``ConnectionError``). Whether the call ran cannot be known."""

    default_status = Status.CALL_LOST


class NoServersError(SwiftNatsError):
    """No server of the list could be reached (SNATS_NO_SERVER)."""

    default_status = Status.NO_SERVER


class SocketError(SwiftNatsError):
    """A socket error (SNATS_IO_ERROR)."""

    default_status = Status.IO_ERROR


class ProtocolError(SwiftNatsError):
    """The server sent something the protocol does not allow (SNATS_PROTOCOL_ERROR)."""

    default_status = Status.PROTOCOL_ERROR


class StaleConnectionError(SwiftNatsError):
    """The server stopped answering PINGs (SNATS_STALE_CONNECTION)."""

    default_status = Status.STALE_CONNECTION


class SlowConsumerError(SwiftNatsError):
    """A subscription's pending limit was hit; messages were dropped (SNATS_SLOW_CONSUMER)."""

    default_status = Status.SLOW_CONSUMER


class PermissionViolationError(SwiftNatsError):
    """The server refused a publish or subscribe (SNATS_PERMISSION_VIOLATION)."""

    default_status = Status.PERMISSION_VIOLATION


class AuthorizationError(SwiftNatsError):
    """The server refused the credentials (SNATS_AUTH_FAILED)."""

    default_status = Status.AUTH_FAILED


class InvalidSubscriptionError(SwiftNatsError):
    """The subscription is closed (SNATS_INVALID_SUBSCRIPTION)."""

    default_status = Status.INVALID_SUBSCRIPTION


class DrainingError(SwiftNatsError):
    """The connection or subscription is draining (SNATS_DRAINING)."""

    default_status = Status.DRAINING


class IllegalStateError(SwiftNatsError):
    """The call does not fit the object's kind or state (SNATS_ILLEGAL_STATE)."""

    default_status = Status.ILLEGAL_STATE


class MaxDeliveredError(SwiftNatsError):
    """The subscription delivered its auto-unsubscribe count (SNATS_MAX_DELIVERED)."""

    default_status = Status.MAX_DELIVERED


class ServerError(SwiftNatsError):
    """The server sent -ERR (SNATS_SERVER_ERROR)."""

    default_status = Status.SERVER_ERROR


class InvalidJSONError(SwiftNatsError, ValueError):
    """Text that is not the JSON expected (SNATS_INVALID_JSON)."""

    default_status = Status.INVALID_JSON


class NotFoundError(SwiftNatsError, LookupError):
    """No such key or item (SNATS_NOT_FOUND)."""

    default_status = Status.NOT_FOUND


class BufferTooSmallError(SwiftNatsError):
    """A caller's buffer cannot hold the result (SNATS_BUFFER_TOO_SMALL)."""

    default_status = Status.BUFFER_TOO_SMALL


class ReconnectBufferFullError(SwiftNatsError):
    """Reconnecting, and the publish does not fit the reconnect buffer
    (SNATS_RECONNECT_BUFFER_FULL); nothing was buffered."""

    default_status = Status.RECONNECT_BUFFER_FULL


class TLSError(SwiftNatsError):
    """TLS failed: certificate files, handshake or verification (SNATS_TLS_ERROR)."""

    default_status = Status.TLS_ERROR


class PublishRefusedError(SwiftNatsError):
    """Publishes buffered while reconnecting were larger than the new server's max_payload and
    were not sent (SNATS_PUBLISH_REFUSED, reported to ``error_cb``); every other buffered
    publish was. ``detail`` says how many and on which subjects."""

    default_status = Status.PUBLISH_REFUSED


class RPCError(SwiftNatsError):
    """A remote procedure answered with an error (SNATS_RPC_ERROR), or a handler raises one to
    answer with it.

    Attributes:
        code: the JSON-RPC code (-32700 parse error, -32600 invalid request, -32601 method not
            found, -32602 invalid params, -32603 internal error, -32000..-32099 server errors,
            anything else the application's).
        message: the error's message.
        data: anything JSON; from a swiftnats server a dict with ``namespace``, ``instance``,
            ``host``, ``method``, and ``traceback`` / ``details`` when the handler gave them.
    """

    default_status = Status.RPC_ERROR
    #: the code of a subclass (RPCError itself takes any)
    default_code = -32603

    def __init__(self, code: Optional[int] = None, message: str = "", data: Any = None) -> None:
        self.code: int = self.default_code if code is None else int(code)
        self.message: str = message
        self.data: Any = data
        super().__init__(message, status=Status.RPC_ERROR)

    def _message(self) -> str:
        return f"RPC Error ({self.code}): {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, message={self.message!r}, data={self.data!r})"

    def __reduce__(self) -> Any:  # picklable
        return (rpc_error, (self.code, self.message, self.data))

    @property
    def traceback(self) -> Optional[str]:
        """The server-side traceback, when the handler's failure came with one."""
        return self.data.get("traceback") if isinstance(self.data, dict) else None


class ParseError(RPCError):
    """-32700: the server could not parse the request as JSON."""

    default_code = -32700


class InvalidRequestError(RPCError):
    """-32600: the request is not an RPC request (no id or method, params not structured)."""

    default_code = -32600


class MethodNotFoundError(RPCError, LookupError):
    """-32601: no server of the namespace(s) has the method."""

    default_code = -32601


class InvalidParamsError(RPCError, TypeError):
    """-32602: the params do not fit the method's parameters (the message names the one)."""

    default_code = -32602


class InternalError(RPCError):
    """-32603: the handler failed ("Internal error: <message>")."""

    default_code = -32603


_RPC_BY_CODE: Dict[int, Type[RPCError]] = {
    cls.default_code: cls for cls in (ParseError, InvalidRequestError, MethodNotFoundError, InvalidParamsError, InternalError)
}


def rpc_error(code: int, message: str = "", data: Any = None) -> RPCError:
    """The RPCError (subclass for the standard codes) of an error object's fields."""
    cls = _RPC_BY_CODE.get(int(code), RPCError)
    return cls(int(code), message, data)


class APIError(SwiftNatsError):
    """The JetStream API answered with an error (SNATS_JS_API_ERROR; SNATS_NOT_FOUND for its
    404s). The class is chosen by ``code`` and ``err_code``, as nats.py's.

    Attributes:
        code: the HTTP-like code (400, 404, 503...; 409 for a pull the server ended).
        err_code: the server's precise code (10071 wrong last sequence...), 0 when none.
        description: the server's text.
    """

    default_status = Status.JS_API_ERROR
    #: the err_code a subclass stands for (0: any)
    default_err_code = 0

    def __init__(self, description: str = "", status: Optional[int] = None, code: int = 0, err_code: int = 0) -> None:
        self.code: int = code
        self.err_code: int = err_code or self.default_err_code
        self.description: str = description
        super().__init__(description, status=status)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, err_code={self.err_code}, description={self.description!r})"

    def __reduce__(self) -> Any:  # picklable
        return (api_error, (self.code, self.err_code, self.description, self.status))


class BadRequestError(APIError):
    """400: the request was refused (a bad configuration, a failed expectation...)."""


class APINotFoundError(APIError, NotFoundError):
    """404: no such stream, consumer or message (SNATS_NOT_FOUND)."""

    default_status = Status.NOT_FOUND


class StreamNotFoundError(APINotFoundError):
    """err_code 10059: no such stream."""

    default_err_code = 10059


class ConsumerNotFoundError(APINotFoundError):
    """err_code 10014: no such consumer."""

    default_err_code = 10014


class MsgNotFoundError(APINotFoundError):
    """err_code 10037: no such message."""

    default_err_code = 10037


class ServiceUnavailableError(APIError):
    """503: JetStream cannot serve the request now (no leader, not enough resources...)."""


class WrongLastSequenceError(BadRequestError):
    """err_code 10071: a publish expected another last sequence (of the stream or the subject)."""

    default_err_code = 10071


class WrongLastMsgIDError(BadRequestError):
    """err_code 10070: a publish expected another last message id."""

    default_err_code = 10070


class StreamNotMatchError(BadRequestError):
    """err_code 10060: a publish expected another stream."""

    default_err_code = 10060


class JetStreamNotEnabledError(SwiftNatsError):
    """Nobody answers the JetStream API: the server, account or domain has no JetStream
    (SNATS_JS_NOT_ENABLED)."""

    default_status = Status.JS_NOT_ENABLED


class MissedHeartbeatError(SwiftNatsError):
    """A consumer's idle heartbeats stopped: its server went away (SNATS_MISSED_HEARTBEAT)."""

    default_status = Status.MISSED_HEARTBEAT


_API_BY_ERR_CODE: Dict[int, Type[APIError]] = {
    cls.default_err_code: cls
    for cls in (StreamNotFoundError, ConsumerNotFoundError, MsgNotFoundError, WrongLastSequenceError, WrongLastMsgIDError,
                StreamNotMatchError)
}
_API_BY_CODE: Dict[int, Type[APIError]] = {400: BadRequestError, 404: APINotFoundError, 503: ServiceUnavailableError}


def api_error(code: int, err_code: int, description: str = "", status: Optional[int] = None) -> APIError:
    """The APIError (subclass by err_code, else by code) of an API error's fields."""
    cls = _API_BY_ERR_CODE.get(int(err_code)) or _API_BY_CODE.get(int(code), APIError)
    if status is None:
        status = Status.NOT_FOUND if code == 404 else Status.JS_API_ERROR
    return cls(description, status=status, code=int(code), err_code=int(err_code))


# nats.py's names for the same errors
BadSubjectError = InvalidSubjectError
BadSubscriptionError = InvalidSubscriptionError
ConnectionDrainingError = DrainingError
JsonParseError = InvalidJSONError
OutboundBufferLimitError = ReconnectBufferFullError

#: every snats_status value (except SNATS_OK) -> its exception class
_BY_STATUS: Dict[int, Type[SwiftNatsError]] = {
    Status.ERR: SwiftNatsError,
    Status.INVALID_ARG: InvalidArgumentError,
    Status.INVALID_SUBJECT: InvalidSubjectError,
    Status.TIMEOUT: TimeoutError,
    Status.NO_RESPONDERS: NoRespondersError,
    Status.MAX_PAYLOAD: MaxPayloadError,
    Status.CONNECTION_CLOSED: ConnectionClosedError,
    Status.NOT_CONNECTED: NotConnectedError,
    Status.NO_SERVER: NoServersError,
    Status.IO_ERROR: SocketError,
    Status.PROTOCOL_ERROR: ProtocolError,
    Status.STALE_CONNECTION: StaleConnectionError,
    Status.SLOW_CONSUMER: SlowConsumerError,
    Status.PERMISSION_VIOLATION: PermissionViolationError,
    Status.AUTH_FAILED: AuthorizationError,
    Status.INVALID_SUBSCRIPTION: InvalidSubscriptionError,
    Status.DRAINING: DrainingError,
    Status.ILLEGAL_STATE: IllegalStateError,
    Status.MAX_DELIVERED: MaxDeliveredError,
    Status.SERVER_ERROR: ServerError,
    Status.INVALID_JSON: InvalidJSONError,
    Status.NOT_FOUND: NotFoundError,
    Status.BUFFER_TOO_SMALL: BufferTooSmallError,
    Status.RECONNECT_BUFFER_FULL: ReconnectBufferFullError,
    Status.TLS_ERROR: TLSError,
    Status.PUBLISH_REFUSED: PublishRefusedError,
    Status.CALL_LOST: CallLostError,
    Status.RPC_ERROR: RPCError,
    Status.JS_API_ERROR: APIError,
    Status.JS_NOT_ENABLED: JetStreamNotEnabledError,
    Status.MISSED_HEARTBEAT: MissedHeartbeatError,
}


def error_for_status(status: int, detail: str = "") -> SwiftNatsError:
    """Builds (does not raise) the exception for a non-OK status; unknown values give the base
    class with that status."""
    cls = _BY_STATUS.get(int(status), SwiftNatsError)
    if cls is RPCError:  # without its error object: the code is unknown
        return RPCError(None, detail)
    return cls(detail, status=status)


def _last_error() -> str:
    text = lib.snats_last_error()
    return text.decode("utf-8", "replace") if text else ""


def library_error(status: int) -> SwiftNatsError:
    """The exception for a failed call's @p status, with this thread's ``snats_last_error()``
    and, for a JetStream API error, its codes (``snats_js_last_api_error()``): call it right
    after the library call (or in its callback), on the same thread."""
    detail = _last_error()
    if status in (Status.JS_API_ERROR, Status.NOT_FOUND):
        code, err_code = ctypes.c_int(), ctypes.c_int()
        lib.snats_js_last_api_error(ctypes.byref(code), ctypes.byref(err_code))
        return reported_error(status, detail, code.value, err_code.value)
    return error_for_status(status, detail)


def reported_error(status: int, detail: str, code: int, err_code: int) -> SwiftNatsError:
    """The exception for a failure the library reported with its text and JetStream API codes
    (0 when none), as :func:`library_error` builds it from the thread's last error."""
    if status in (Status.JS_API_ERROR, Status.NOT_FOUND) and (code or err_code):
        return api_error(code, err_code, detail, status)
    return error_for_status(status, detail)


def _check(status: int) -> None:
    """Raises the exception for @p status, with this thread's ``snats_last_error()`` (copied at
    once); returns for SNATS_OK. Call it right after the library call, on the same thread."""
    if status != Status.OK:
        raise library_error(status)
