"""Connections: :func:`connect` and :class:`Client`."""

from __future__ import annotations

import ctypes
import atexit
import enum
import inspect
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Dict, List, Optional, Sequence, Set, Tuple, Union

from . import _runtime as rt
from ._lib import (
    CONN_HANDLER,
    ERROR_HANDLER,
    MSG_HANDLER,
    RECONNECT_DELAY_HANDLER,
    SIGNATURE_HANDLER,
    USER_JWT_HANDLER,
    lib,
)
from ._runtime import Payload
from .errors import (
    ConnectionClosedError,
    InvalidSubscriptionError,
    InvalidArgumentError,
    Status,
    SwiftNatsError,
    _check,
    _last_error,
    error_for_status,
)
from .headers import HeadersArg, c_headers
from ._json import json_value
from .msg import Msg
from .outbox import Outbox
from ._delivery import BATCH_THUNK
from .subscription import MsgHandler, Subscription

if TYPE_CHECKING:  # pragma: no cover
    from .jetstream import JetStreamContext

__all__ = ["connect", "Client", "ConnState", "ClosedCallback", "ErrorCallback"]

ClosedCallback = Callable[[], None]
#: custom_reconnect_delay(attempts) -> seconds to wait before the next pass through the servers
ReconnectDelayCallback = Callable[[int], float]
#: user_jwt_cb() -> the user JWT; signature_cb(nonce: bytes) -> the 64-byte Ed25519 signature
UserJWTCallback = Callable[[], Union[str, bytes]]
SignatureCallback = Callable[[bytes], bytes]
#: error_cb(error, subscription): an asynchronous SwiftNatsError (slow consumer, permission
#: violation, -ERR...) or an exception raised by one of this client's callbacks; the
#: subscription concerned, or None.
ErrorCallback = Callable[[BaseException, Optional[Subscription]], None]

DEFAULT_URL = "nats://127.0.0.1:4222"


class ConnState(enum.IntEnum):
    """snats_conn_state."""

    DISCONNECTED = 0
    CONNECTING = 1
    CONNECTED = 2
    RECONNECTING = 3
    DRAINING = 4
    CLOSED = 5


# --------------------------------------------------------------------------------------------
# Connection events: one _Events per connection, registered under an integer key that is the
# `closure` of the C callbacks; it holds the user callables (not the Client, so that an
# unused Client can be collected) until snats_conn_destroy() has returned.
# --------------------------------------------------------------------------------------------


class _Events:
    def __init__(
        self,
        closed_cb: Optional[ClosedCallback],
        disconnected_cb: Optional[ClosedCallback],
        error_cb: Optional[ErrorCallback],
        reconnected_cb: Optional[ClosedCallback] = None,
        discovered_server_cb: Optional[ClosedCallback] = None,
        lame_duck_mode_cb: Optional[ClosedCallback] = None,
        custom_reconnect_delay: Optional[ReconnectDelayCallback] = None,
        user_jwt_cb: Optional[UserJWTCallback] = None,
        signature_cb: Optional[SignatureCallback] = None,
        connected_cb: Optional[ClosedCallback] = None,
    ) -> None:
        self.connected_cb = connected_cb
        self.closed_cb = closed_cb
        self.disconnected_cb = disconnected_cb
        self.error_cb = error_cb
        self.reconnected_cb = reconnected_cb
        self.discovered_server_cb = discovered_server_cb
        self.lame_duck_mode_cb = lame_duck_mode_cb
        self.custom_reconnect_delay = custom_reconnect_delay
        self.user_jwt_cb = user_jwt_cb
        self.signature_cb = signature_cb
        # snats_sub* address -> Subscription, to give error_cb the subscription concerned
        self.subs: "weakref.WeakValueDictionary[int, Subscription]" = weakref.WeakValueDictionary()
        self.closed = threading.Event()
        self.outbox: Optional[Outbox] = None  # the client's, once made

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as e:
            self.report(e, None, failed=fn)

    def report(self, error: BaseException, sub: Optional[Subscription], failed: Any = None) -> None:
        """Gives @p error to the error callback, or to logging when there is none (or when it is
        the error callback itself that failed)."""
        cb = self.error_cb
        if cb is not None and failed is not cb:
            try:
                cb(error, sub)
                return
            except Exception:
                rt.log.exception("swiftnats: the error callback raised")
        if isinstance(error, SwiftNatsError) and error.__traceback__ is None:
            rt.log.error("swiftnats: asynchronous error: %s (subscription: %r)", error, sub)
        else:
            rt.log.error(
                "swiftnats: exception in a callback (subscription: %r)",
                sub,
                exc_info=(type(error), error, error.__traceback__),
            )


def takes_argument(fn: Callable[..., Any]) -> bool:
    """Whether @p fn asks for one positional argument (a disconnected_cb or closed_cb that
    wants the reason, as nats.go's DisconnectErrHandler): a positional parameter without a
    default, or ``*args``. ``lambda ev=done: ev.set()`` does not: its default stays."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(
        (p.kind in positional and p.default is inspect.Parameter.empty) or p.kind is inspect.Parameter.VAR_POSITIONAL
        for p in params
    )


def disconnect_reason(conn: Optional[int]) -> Optional[SwiftNatsError]:
    """Why the connection last lost its server (snats_conn_last_error), None when it never did."""
    if not conn:
        return None
    text = ctypes.c_char_p()
    status = lib.snats_conn_last_error(ctypes.byref(text), conn)
    if status == 0:
        return None
    return error_for_status(status, (text.value or b"").decode("utf-8", "replace"))


def _connection_event(closure: Optional[int], name: str, conn: Optional[int] = None) -> None:
    """Runs the user callback `<name>_cb` (and sets the `closed` flag for that event); a
    disconnected_cb or closed_cb that takes an argument receives the reason (or None)."""
    try:
        rt.enter_callback()
        try:
            ev = rt.lookup(closure)
            if ev is not None:
                if name == "closed":
                    ev.closed.set()
                outbox = ev.outbox
                if outbox is not None:
                    if name in ("reconnected", "connected"):
                        outbox.resume()
                    elif name in ("disconnected", "closed"):
                        outbox.pause()
                user_cb = getattr(ev, name + "_cb")
                if user_cb is not None:
                    if name in ("disconnected", "closed") and takes_argument(user_cb):
                        ev.call(user_cb, disconnect_reason(conn))
                    else:
                        ev.call(user_cb)
        finally:
            rt.leave_callback()
    except BaseException:
        _thunk_failed(name)


def _on_closed(conn: Optional[int], closure: Optional[int]) -> None:
    _connection_event(closure, "closed", conn)


def _on_disconnected(conn: Optional[int], closure: Optional[int]) -> None:
    _connection_event(closure, "disconnected", conn)


def _on_reconnected(conn: Optional[int], closure: Optional[int]) -> None:
    _connection_event(closure, "reconnected")


def _on_connected(conn: Optional[int], closure: Optional[int]) -> None:
    _connection_event(closure, "connected")


def _on_discovered_servers(conn: Optional[int], closure: Optional[int]) -> None:
    _connection_event(closure, "discovered_server")


def _on_lame_duck(conn: Optional[int], closure: Optional[int]) -> None:
    _connection_event(closure, "lame_duck_mode")


def _on_reconnect_delay(conn: Optional[int], attempts: int, closure: Optional[int]) -> int:
    """Asks custom_reconnect_delay(attempts) for seconds; an exception or a bad value counts
    as the default wait (2 s), reported to the error callback."""
    fallback = 2000
    try:
        rt.enter_callback()
        try:
            ev = rt.lookup(closure)
            if ev is None or ev.custom_reconnect_delay is None:
                return fallback
            try:
                seconds = float(ev.custom_reconnect_delay(attempts))
                if seconds != seconds or seconds < 0:
                    raise ValueError(f"custom_reconnect_delay returned {seconds!r}, not seconds >= 0")
                return int(min(seconds, 86400.0) * 1000)
            except Exception as e:
                ev.report(e, None, failed=ev.custom_reconnect_delay)
                return fallback
        finally:
            rt.leave_callback()
    except BaseException:
        _thunk_failed("custom reconnect delay")
        return fallback


def _credential_handler(closure: Optional[int], which: str, produce: Callable[[Any], None]) -> int:
    """Runs the user's credential handler `which` through @p produce; an exception fails the
    handshake (SNATS_AUTH_FAILED) and is reported to the error callback."""
    try:
        rt.enter_callback()
        try:
            ev = rt.lookup(closure)
            handler = getattr(ev, which, None) if ev is not None else None
            if handler is None:
                return Status.AUTH_FAILED
            try:
                produce(handler)
                return Status.OK
            except Exception as e:
                ev.report(e, None, failed=handler)
                return Status.AUTH_FAILED
        finally:
            rt.leave_callback()
    except BaseException:
        _thunk_failed(which)
        return Status.AUTH_FAILED


def _on_user_jwt(out: Any, closure: Optional[int]) -> int:
    def produce(handler: UserJWTCallback) -> None:
        jwt = handler()
        raw = jwt.encode() if isinstance(jwt, str) else bytes(jwt)
        if not raw or b"\0" in raw:
            raise ValueError("user_jwt_cb must return a non-empty JWT")
        copy = _libc.malloc(len(raw) + 1)
        if not copy:
            raise MemoryError("cannot copy the JWT")
        ctypes.memmove(copy, raw + b"\0", len(raw) + 1)
        out[0] = copy  # the library frees it

    return _credential_handler(closure, "user_jwt_cb", produce)


def _on_signature(signature: Optional[int], nonce: Optional[bytes], closure: Optional[int]) -> int:
    def produce(handler: SignatureCallback) -> None:
        sig = bytes(handler(nonce or b""))
        if len(sig) != 64:
            raise ValueError(f"signature_cb must return the 64-byte Ed25519 signature, not {len(sig)} bytes")
        if signature is None:  # the library always passes its 64-byte buffer
            raise ValueError("no buffer for the signature")
        ctypes.memmove(signature, sig, 64)

    return _credential_handler(closure, "signature_cb", produce)


_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]


def _on_error(
    conn: Optional[int],
    sub: Optional[int],
    status: int,
    text: Optional[bytes],
    closure: Optional[int],
) -> None:
    try:
        rt.enter_callback()
        try:
            ev = rt.lookup(closure)
            if ev is not None:
                error = error_for_status(status, rt.decode(text))
                subscription = ev.subs.get(sub) if sub else None
                ev.report(error, subscription)
        finally:
            rt.leave_callback()
    except BaseException:
        _thunk_failed("error")


def _thunk_failed(which: str) -> None:
    try:
        rt.log.exception("swiftnats: error in the %s callback thunk", which)
    except BaseException:
        pass


# the C function pointers given to the options (live as long as the module)
_CLOSED_THUNK = CONN_HANDLER(_on_closed)
_DISCONNECTED_THUNK = CONN_HANDLER(_on_disconnected)
_RECONNECTED_THUNK = CONN_HANDLER(_on_reconnected)
_CONNECTED_THUNK = CONN_HANDLER(_on_connected)
_DISCOVERED_THUNK = CONN_HANDLER(_on_discovered_servers)
_LAME_DUCK_THUNK = CONN_HANDLER(_on_lame_duck)
_RECONNECT_DELAY_THUNK = RECONNECT_DELAY_HANDLER(_on_reconnect_delay)
_USER_JWT_THUNK = USER_JWT_HANDLER(_on_user_jwt)
_SIGNATURE_THUNK = SIGNATURE_HANDLER(_on_signature)
_ERROR_THUNK = ERROR_HANDLER(_on_error)
_NO_MSG_HANDLER = MSG_HANDLER()  # NULL: messages taken in batches (snats_subscribe_on)


def _conn_closed_error() -> ConnectionClosedError:
    return ConnectionClosedError("the connection is closed")


def _make_destroy(key: int) -> Callable[[int], None]:
    def destroy(ptr: int) -> None:
        lib.snats_conn_destroy(ptr)  # closes first if needed, waits for the closed callback
        rt.unregister(key)  # only now: no connection callback can come any more

    return destroy


def _finalize_client(handle: rt.Handle, dispatch_queue: Any = None) -> None:
    use = handle.try_use()
    if use is not None:
        with use as ptr:
            _close_conn(ptr, dispatch_queue)
    handle.close()


def _close_conn(ptr: int, dispatch_queue: Any) -> None:
    """snats_conn_close(). A connection bound to a dispatch queue (swiftnats.aio) whose owner
    may not dispatch it any more (its loop is gone): when the library closed the connection by
    itself, its teardown waits in the queue and snats_conn_close waits for it, so the close
    runs on a helper thread while this one dispatches the queue."""
    if dispatch_queue is None or dispatch_queue.ptr is None:
        lib.snats_conn_close(ptr)
        return
    done = threading.Event()

    def close() -> None:
        try:
            lib.snats_conn_close(ptr)
        finally:
            done.set()
            dispatch_queue.wake()

    threading.Thread(target=close, name="swiftnats-close", daemon=True).start()
    while not done.is_set():
        dispatch_queue.dispatch(256, 50)
    # the close queued the closed callback without waiting for it, possibly after the last
    # dispatch above (the wake-up ended it empty): run what is left
    while dispatch_queue.ptr is not None and dispatch_queue.dispatch(256, 0) > 0:
        pass


# At interpreter exit, open clients are closed before weakref.finalize's own exit hook destroys
# what is left (in reverse creation order, which would destroy subscriptions before their
# connection): closing first flushes publishes, fails waiting requests with
# ConnectionClosedError and runs closed callbacks while everything is still in place.
_live_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()
_exit_hook_lock = threading.Lock()
_exit_hook_registered = False


def _close_live_clients() -> None:
    for client in list(_live_clients):
        try:
            client.close()
        except Exception:  # pragma: no cover - best effort at exit
            rt.log.exception("swiftnats: closing a client at exit")


def _track(client: "Client") -> None:
    global _exit_hook_registered
    _live_clients.add(client)
    with _exit_hook_lock:
        if not _exit_hook_registered:
            # registered after the client's weakref.finalize, so that it runs before
            # finalize's exit hook (atexit runs hooks last-in, first-out)
            atexit.register(_close_live_clients)
            _exit_hook_registered = True


# --------------------------------------------------------------------------------------------
# connect()
# --------------------------------------------------------------------------------------------


def connect(
    servers: Union[str, Sequence[str]] = DEFAULT_URL,
    *,
    name: Optional[str] = None,
    connect_timeout: float = 2.0,
    ping_interval: float = 120.0,
    max_pings_out: int = 2,
    no_echo: bool = False,
    verbose: bool = False,
    pedantic: bool = False,
    inbox_prefix: str = "_INBOX",
    pending_msgs_limit: int = 65536,
    pending_bytes_limit: int = 64 * 1024 * 1024,
    user: Optional[str] = None,
    password: Optional[str] = None,
    token: Optional[str] = None,
    closed_cb: Optional[ClosedCallback] = None,
    disconnected_cb: Optional[ClosedCallback] = None,
    error_cb: Optional[ErrorCallback] = None,
    allow_reconnect: bool = True,
    max_reconnect_attempts: int = 60,
    reconnect_time_wait: float = 2.0,
    reconnect_jitter: float = 0.1,
    reconnect_jitter_tls: float = 1.0,
    custom_reconnect_delay: Optional[ReconnectDelayCallback] = None,
    reconnect_buffer_size: int = 8 * 1024 * 1024,
    dont_randomize: bool = False,
    ignore_discovered_servers: bool = False,
    reconnected_cb: Optional[ClosedCallback] = None,
    retry_on_failed_connect: bool = False,
    connected_cb: Optional[ClosedCallback] = None,
    discovered_server_cb: Optional[ClosedCallback] = None,
    lame_duck_mode_cb: Optional[ClosedCallback] = None,
    secure: bool = False,
    tls_ca_file: Optional[str] = None,
    tls_cert_file: Optional[str] = None,
    tls_key_file: Optional[str] = None,
    tls_hostname: Optional[str] = None,
    tls_verify_hostname: bool = True,
    tls_skip_verify: bool = False,
    tls_handshake_first: bool = False,
    nkeys_seed: Optional[str] = None,
    nkeys_seed_str: Optional[str] = None,
    user_credentials: Optional[str] = None,
    user_jwt_cb: Optional[UserJWTCallback] = None,
    signature_cb: Optional[SignatureCallback] = None,
    nkey: Optional[str] = None,
    _dispatch_queue: Any = None,
) -> "Client":
    """Connects to the first reachable server of @p servers and returns the :class:`Client`.

    Args:
        servers: a URL (``nats://[user[:password]@]host[:port]``, ``host[:port]``), several
            URLs separated by commas, or a list of URLs; shuffled unless dont_randomize.
        connect_timeout: seconds for connecting to one server (TCP and handshake).
        ping_interval: seconds between keep-alive PINGs; max_pings_out: unanswered PINGs
            before the connection is stale.
        pending_msgs_limit, pending_bytes_limit: default pending limits of subscriptions
            (0: unlimited).
        closed_cb(): called once when the connection is closed (by the application, or when
            the server is lost for good); disconnected_cb(): each time the link to the server
            is lost. Either may take one argument: it then receives why (a SwiftNatsError
            such as StaleConnectionError, SocketError, ServerError, TLSError; None after a
            close() that lost no server), as :attr:`Client.last_error` tells;
            reconnected_cb(): when it is back (subscriptions restored);
            retry_on_failed_connect: when no server answers, return the client anyway and
            connect in the background (as a reconnect: subscribe and publish meanwhile, they
            wait for the server); ``connected_cb()`` runs once it reaches one, and
            :meth:`Client.wait_connected` waits for it. Credentials refused still raise;
            discovered_server_cb(): the cluster announced new servers (see
            :attr:`Client.discovered_servers`); lame_duck_mode_cb(): the server is about to
            shut down (with reconnect on, the client moves to another one at once).
        allow_reconnect: reconnect when the server is lost (default) instead of closing.
        max_reconnect_attempts: failed attempts per server before it leaves the pool (-1:
            forever); reconnect_time_wait: seconds to pause after each pass through the
            servers, plus up to reconnect_jitter (reconnect_jitter_tls for tls:// servers);
            custom_reconnect_delay(attempts) -> seconds replaces that pause.
        reconnect_buffer_size: bytes of publishes kept while reconnecting and sent after it
            (0: publishing while reconnecting raises NotConnectedError); past it, publish
            raises ReconnectBufferFullError.
        dont_randomize: use the servers in the given order; ignore_discovered_servers: do not
            add the servers a cluster announces.
        secure: require TLS even for nats:// URLs (tls:// URLs and servers that require TLS
            use it anyway). tls_ca_file: PEM file of the CAs to trust (default: the system's);
            tls_cert_file + tls_key_file: a client certificate; tls_hostname: the name to expect
            in the server's certificate; tls_verify_hostname=False checks the chain only;
            tls_skip_verify=True accepts any certificate (tests only); tls_handshake_first: TLS
            before INFO (servers with handshake_first).
        nkeys_seed: a file holding an nkey seed; nkeys_seed_str: the seed itself (``SU...``);
            user_credentials: a .creds file (user JWT + seed); user_jwt_cb() -> JWT and
            signature_cb(nonce) -> 64-byte signature for keys kept elsewhere (or nkey= the public
            key with signature_cb alone). Credentials never appear in errors or URLs.
        error_cb(error, subscription): asynchronous errors (SlowConsumerError, ...) and
            exceptions raised by callbacks; without it they are logged ("swiftnats" logger).
            Callbacks run on library threads and may call any method, blocking ones included.

    ``_dispatch_queue`` (private, for :mod:`swiftnats.aio`): a ``_delivery.DispatchQueue`` the
    connection is bound to (snats_options_set_dispatch_queue()), whose owner also reads the
    socket (snats_options_set_read_on_dispatch_queue()): its events run in the queue
    owner's ``dispatch()``, and subscriptions with a callback are bound to the queue without a
    C callback (snats_subscribe_on()), their messages taken by the owner in batches.

    Raises:
        NoServersError, TimeoutError, AuthorizationError, ServerError, ProtocolError,
        InvalidArgumentError.
    """
    for cb_name, cb in (
        ("closed_cb", closed_cb),
        ("disconnected_cb", disconnected_cb),
        ("error_cb", error_cb),
        ("reconnected_cb", reconnected_cb),
        ("connected_cb", connected_cb),
        ("discovered_server_cb", discovered_server_cb),
        ("lame_duck_mode_cb", lame_duck_mode_cb),
        ("custom_reconnect_delay", custom_reconnect_delay),
        ("user_jwt_cb", user_jwt_cb),
        ("signature_cb", signature_cb),
    ):
        if cb is not None and not callable(cb):
            raise TypeError(f"{cb_name} must be callable")
        if cb is not None and inspect.iscoroutinefunction(cb):
            raise TypeError(f"{cb_name} must be a plain function (callbacks run on library threads)")

    events = _Events(
        closed_cb,
        disconnected_cb,
        error_cb,
        reconnected_cb=reconnected_cb,
        discovered_server_cb=discovered_server_cb,
        lame_duck_mode_cb=lame_duck_mode_cb,
        custom_reconnect_delay=custom_reconnect_delay,
        user_jwt_cb=user_jwt_cb,
        signature_cb=signature_cb,
        connected_cb=connected_cb,
    )
    key = rt.register(events)
    opts = ctypes.c_void_p()
    conn = ctypes.c_void_p()
    try:
        _check(lib.snats_options_create(ctypes.byref(opts)))
        o = opts.value
        if isinstance(servers, str):
            _check(lib.snats_options_set_url(o, rt.text_arg(servers, "servers")))
        else:
            urls = [rt.text_arg(u, "server URL") for u in servers]
            array = (ctypes.c_char_p * len(urls))(*urls)
            _check(lib.snats_options_set_servers(o, array, len(urls)))
        if name is not None:
            _check(lib.snats_options_set_name(o, rt.text_arg(name, "name")))
        _check(lib.snats_options_set_connect_timeout(o, rt.ms_arg(connect_timeout, "connect_timeout")))
        _check(lib.snats_options_set_ping_interval(o, rt.ms_arg(ping_interval, "ping_interval")))
        _check(lib.snats_options_set_max_pings_out(o, max_pings_out))
        _check(lib.snats_options_set_no_echo(o, bool(no_echo)))
        _check(lib.snats_options_set_verbose(o, bool(verbose)))
        _check(lib.snats_options_set_pedantic(o, bool(pedantic)))
        _check(lib.snats_options_set_inbox_prefix(o, rt.subject_arg(inbox_prefix, "inbox_prefix")))
        _check(lib.snats_options_set_pending_limits(o, pending_msgs_limit, pending_bytes_limit))
        if user is not None or password is not None:
            _check(
                lib.snats_options_set_user_info(
                    o, rt.optional_text_arg(user, "user"), rt.optional_text_arg(password, "password")
                )
            )
        if token is not None:
            _check(lib.snats_options_set_token(o, rt.text_arg(token, "token")))
        _check(lib.snats_options_set_closed_cb(o, _CLOSED_THUNK, key))
        _check(lib.snats_options_set_disconnected_cb(o, _DISCONNECTED_THUNK, key))
        _check(lib.snats_options_set_error_cb(o, _ERROR_THUNK, key))
        _check(lib.snats_options_set_reconnected_cb(o, _RECONNECTED_THUNK, key))
        _check(lib.snats_options_set_retry_on_failed_connect(o, bool(retry_on_failed_connect), _CONNECTED_THUNK, key))
        _check(lib.snats_options_set_discovered_servers_cb(o, _DISCOVERED_THUNK, key))
        _check(lib.snats_options_set_lame_duck_cb(o, _LAME_DUCK_THUNK, key))
        if custom_reconnect_delay is not None:
            _check(lib.snats_options_set_custom_reconnect_delay(o, _RECONNECT_DELAY_THUNK, key))
        _check(lib.snats_options_set_allow_reconnect(o, bool(allow_reconnect)))
        _check(lib.snats_options_set_max_reconnect(o, max_reconnect_attempts))
        _check(lib.snats_options_set_reconnect_wait(o, rt.ms_arg(reconnect_time_wait, "reconnect_time_wait")))
        _check(
            lib.snats_options_set_reconnect_jitter(
                o,
                rt.ms_arg(reconnect_jitter, "reconnect_jitter"),
                rt.ms_arg(reconnect_jitter_tls, "reconnect_jitter_tls"),
            )
        )
        _check(lib.snats_options_set_reconnect_buffer_size(o, reconnect_buffer_size))
        _check(lib.snats_options_set_no_randomize(o, bool(dont_randomize)))
        _check(lib.snats_options_set_ignore_discovered_servers(o, bool(ignore_discovered_servers)))
        _check(lib.snats_options_set_secure(o, bool(secure)))
        if tls_ca_file is not None:
            _check(lib.snats_options_set_tls_ca_file(o, rt.text_arg(str(tls_ca_file), "tls_ca_file")))
        if tls_cert_file is not None or tls_key_file is not None:
            _check(
                lib.snats_options_set_tls_client_cert(
                    o,
                    rt.optional_text_arg(None if tls_cert_file is None else str(tls_cert_file), "tls_cert_file"),
                    rt.optional_text_arg(None if tls_key_file is None else str(tls_key_file), "tls_key_file"),
                )
            )
        if tls_hostname is not None:
            _check(lib.snats_options_set_tls_hostname(o, rt.text_arg(tls_hostname, "tls_hostname")))
        _check(lib.snats_options_set_tls_verify_hostname(o, bool(tls_verify_hostname)))
        _check(lib.snats_options_set_tls_skip_verify(o, bool(tls_skip_verify)))
        _check(lib.snats_options_set_tls_handshake_first(o, bool(tls_handshake_first)))
        if _dispatch_queue is not None:
            _check(lib.snats_options_set_dispatch_queue(o, _dispatch_queue.ptr))
            # the event loop draining the queue reads the socket too, and writes what it
            # publishes at once (the outbox batches): no thread between them and the socket
            _check(lib.snats_options_set_read_on_dispatch_queue(o, True))
            _check(lib.snats_options_set_send_asap(o, True))
        if nkeys_seed is not None:
            _check(lib.snats_options_set_nkey_seed_file(o, rt.text_arg(str(nkeys_seed), "nkeys_seed")))
        if nkeys_seed_str is not None:
            _check(lib.snats_options_set_nkey_seed(o, rt.text_arg(nkeys_seed_str, "nkeys_seed_str")))
        if user_credentials is not None:
            _check(lib.snats_options_set_credentials_file(o, rt.text_arg(str(user_credentials), "user_credentials")))
        if user_jwt_cb is not None or (signature_cb is not None and nkey is None):
            if user_jwt_cb is None or signature_cb is None:
                raise InvalidArgumentError("user_jwt_cb needs signature_cb (or give nkey= with signature_cb)")
            _check(lib.snats_options_set_user_credentials_callbacks(o, _USER_JWT_THUNK, key, _SIGNATURE_THUNK, key))
        elif nkey is not None:
            if signature_cb is None:
                raise InvalidArgumentError("nkey= needs signature_cb")
            _check(lib.snats_options_set_nkey(o, rt.text_arg(nkey, "nkey"), _SIGNATURE_THUNK, key))
        _check(lib.snats_conn_connect(ctypes.byref(conn), o))
    except BaseException:
        rt.unregister(key)
        raise
    finally:
        lib.snats_options_destroy(opts.value)
    client = Client._create(
        rt.out_ptr(conn, "connection"), events, key, (pending_msgs_limit, pending_bytes_limit), _dispatch_queue
    )
    _track(client)
    return client


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


class Client:
    """A connection to a NATS server, made by :func:`connect`. Thread-safe.

    Use it as a context manager or call :meth:`close` (or :meth:`drain`); a client that is
    garbage collected, or still open when the interpreter exits, is closed then.
    """

    _handle: rt.Handle
    _outbox: Outbox
    _events: _Events
    _key: int
    _lock: threading.Lock
    _subs: Dict[int, Subscription]  # registry key -> subscription with a callback (held here)
    _ending_subs: Set[Subscription]  # with an auto-unsubscribe or drain under way (_sweep)
    _closing: bool
    _final_stats: Optional[Dict[str, int]]
    _final_reason: Optional[SwiftNatsError]
    _pending_limits: Tuple[int, int]  # the connection's defaults for new subscriptions
    _dispatch_queue: Any  # the _delivery.DispatchQueue it is bound to (swiftnats.aio), or None
    _finalizer: "weakref.finalize[..., Client]"

    def __init__(self) -> None:
        raise TypeError("use swiftnats.connect() to make a Client")

    @classmethod
    def _create(
        cls, ptr: int, events: _Events, key: int, pending_limits: Tuple[int, int], dispatch_queue: Any = None
    ) -> "Client":
        self = object.__new__(cls)
        self._handle = rt.Handle(
            ptr, _make_destroy(key), _conn_closed_error, "conn", defer_on_callback_thread=True
        )
        self._events = events
        self._key = key
        self._lock = threading.Lock()
        self._subs = {}
        self._ending_subs = set()
        self._closing = False
        self._final_stats = None
        self._final_reason = None
        self._pending_limits = pending_limits
        self._dispatch_queue = dispatch_queue
        self._outbox = Outbox(self._handle, lambda error: events.report(error, None))
        events.outbox = self._outbox
        if self.is_connected:  # connecting in the background: the "connected" event opens it
            self._outbox.resume()
        self._finalizer = weakref.finalize(self, _finalize_client, self._handle, dispatch_queue)
        return self

    # -- publish ------------------------------------------------------------------------------

    def publish(
        self,
        subject: str,
        payload: Payload = b"",
        reply: str = "",
        headers: HeadersArg = None,
    ) -> None:
        """Publishes @p payload on @p subject, with an optional reply subject and headers
        (``{key: value or [values]}``). Returns once the message is buffered.

        A plain publish (``bytes`` payload, no reply, no headers) on a subject this client has
        published on before waits in Python and reaches the library in a batch: at the latest
        when the publishing thread next lets go of the GIL, and always before any other call
        this process makes into the library, so that a request, flush or subscribe follows
        the publishes made before it (see ``swiftnats/outbox.py``).

        Raises InvalidSubjectError, MaxPayloadError, ConnectionClosedError, NotConnectedError.
        A buffered publish that the library refuses when it is handed over (the connection
        closed or was lost meanwhile) is reported to ``error_cb``.
        """
        if not reply and not headers:
            if self._outbox.add(subject, payload):
                return  # buffered (see outbox.py)
            self._publish_now(subject, payload, "", None)
            self._outbox.learn(subject)  # accepted: the next ones on it may be buffered
        else:
            self._publish_now(subject, payload, reply, headers)

    def _publish_now(self, subject: str, payload: Payload, reply: str, headers: HeadersArg) -> None:
        """Publishes through the library at once (after what is buffered)."""
        subj = rt.subject_arg(subject)
        rep = rt.optional_subject_arg(reply) if reply else None
        data, size = rt.payload_arg(payload)
        if headers:
            with c_headers(headers) as hdrs, self._use() as ptr:
                _check(lib.snats_publish_msg(ptr, subj, rep, hdrs, data, size))
        elif rep is None:
            with self._use() as ptr:
                _check(lib.snats_publish(ptr, subj, data, size))
        else:
            with self._use() as ptr:
                _check(lib.snats_publish_request(ptr, subj, rep, data, size))

    def request(
        self,
        subject: str,
        payload: Payload = b"",
        timeout: float = 0.5,
        headers: HeadersArg = None,
    ) -> Msg:
        """Sends a request and waits up to @p timeout seconds for the first reply.

        Raises TimeoutError, NoRespondersError, MaxPayloadError, InvalidSubjectError,
        ConnectionClosedError, NotConnectedError.
        """
        subj = rt.subject_arg(subject)
        data, size = rt.payload_arg(payload)
        ms = rt.ms_arg(timeout)
        out = ctypes.c_void_p()
        if headers:
            with c_headers(headers) as hdrs, self._use() as ptr:
                _check(lib.snats_request_msg(ctypes.byref(out), ptr, subj, hdrs, data, size, ms))
        else:
            with self._use() as ptr:
                _check(lib.snats_request(ctypes.byref(out), ptr, subj, data, size, ms))
        return Msg._take(rt.out_ptr(out, "reply"), self)

    # -- subscribe ----------------------------------------------------------------------------

    def wait_connected(self, timeout: float = 5.0) -> None:
        """Returns once the client is connected to a server: at once when it is; else (a
        connect retrying in the background, ``retry_on_failed_connect=True``, or a reconnect)
        when a handshake completes. Raises :class:`TimeoutError` after @p timeout seconds,
        :class:`ConnectionClosedError` when the client is (or becomes) closed."""
        ms = 0 if timeout == 0 else rt.ms_arg(timeout)
        with self._use() as conn:
            _check(lib.snats_conn_wait_connected(conn, ms))

    def unsubscribe(self, subject: str) -> int:
        """Ends every live subscription of this client on exactly @p subject (wildcards are
        compared as text: ``"a.*"`` ends the subscriptions made on ``"a.*"``); returns how many.
        Those made by other clients are untouched."""
        if not isinstance(subject, str):
            raise TypeError(f"subject must be a str, not {type(subject).__name__}")
        ended = 0
        for sub in [s for s in list(self._events.subs.values()) if s.subject == subject]:
            try:
                sub.unsubscribe()
                ended += 1
            except InvalidSubscriptionError:  # ended meanwhile (auto-unsubscribe, drain)
                pass
        return ended

    def subscribe(
        self,
        subject: str,
        queue: str = "",
        cb: Optional[MsgHandler] = None,
        max_msgs: int = 0,
        pending_msgs_limit: Optional[int] = None,
        pending_bytes_limit: Optional[int] = None,
    ) -> Subscription:
        """Subscribes to @p subject (``*`` matches one token, ``>`` the rest), in queue group
        @p queue if given.

        With @p cb, each message is passed to ``cb(msg)`` on a thread of the library's delivery
        pool, one at a time, in order (no thread per subscription); without, read messages with :meth:`Subscription.next_msg`. @p max_msgs > 0
        ends the subscription after that many messages. The pending limits default to the
        connection's.

        Raises InvalidSubjectError, InvalidArgumentError (bad queue name),
        ConnectionClosedError, DrainingError, NotConnectedError.
        """
        subj = rt.subject_arg(subject)
        q = rt.text_arg(queue, "queue") if queue else None

        def make(mode: str, out: Any, key: Optional[int], queue_ptr: Optional[int]) -> int:
            with self._use() as ptr:
                if mode == "queue":
                    return int(lib.snats_subscribe_on(out, ptr, subj, q, queue_ptr, _NO_MSG_HANDLER, key))
                if mode == "batch":
                    return int(lib.snats_subscribe_batch(out, ptr, subj, q, BATCH_THUNK, key))
                if q is not None:
                    return int(lib.snats_queue_subscribe_sync(out, ptr, subj, q))
                return int(lib.snats_subscribe_sync(out, ptr, subj))

        return self._subscribe(subject, queue, cb, max_msgs, pending_msgs_limit, pending_bytes_limit, make)

    def _subscribe(
        self, subject: str, queue: str, cb: Optional[MsgHandler], max_msgs: int, pending_msgs_limit: Optional[int],
        pending_bytes_limit: Optional[int], make: Callable[[str, Any, Optional[int], Optional[int]], int],
    ) -> Subscription:
        """Makes a subscription with ``make(mode, out, key, queue)``: "queue" (bound to the
        connection's dispatch queue, tagged with @p key), "batch" (batches on the delivery
        pool) or "sync" (read with next_msg). A JetStream consume is made the same way."""
        if cb is not None:
            if not callable(cb):
                raise TypeError("cb must be callable")
            if inspect.iscoroutinefunction(cb):
                raise TypeError("cb must be a plain function (it runs on the subscription's thread)")
        self._sweep()
        sub = Subscription(self, subject, queue, cb)
        out = ctypes.c_void_p()
        try:
            if cb is not None and self._dispatch_queue is not None:
                # bound to the connection's dispatch queue, taken in batches by its owner
                # (swiftnats.aio's event loop), tagged with the registry key
                st = make("queue", ctypes.byref(out), sub._key, self._dispatch_queue.ptr)
            elif cb is not None:
                # batches of messages on the library's delivery pool (see _delivery.py)
                st = make("batch", ctypes.byref(out), sub._key, None)
            else:
                st = make("sync", ctypes.byref(out), None, None)
            _check(st)
        except BaseException:
            sub._abandon()
            raise
        sub_ptr = rt.out_ptr(out, "subscription")
        sub._attach(sub_ptr)
        with self._lock:
            self._events.subs[sub_ptr] = sub
            if sub._key is not None and not self._closing:
                self._subs[sub._key] = sub
            closing = self._closing
        if closing:  # closed meanwhile: the subscription ended with the connection
            rt.unregister(sub._key)
        try:
            if pending_msgs_limit is not None or pending_bytes_limit is not None:
                default_msgs, default_bytes = self._pending_limits
                sub.set_pending_limits(
                    default_msgs if pending_msgs_limit is None else pending_msgs_limit,
                    default_bytes if pending_bytes_limit is None else pending_bytes_limit,
                )
            if max_msgs > 0:
                sub.unsubscribe(limit=max_msgs)
        except BaseException:
            sub.close()
            raise
        return sub

    # -- flush, rtt, drain, close -------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> None:
        """Waits until the server has processed everything sent before (PING/PONG).
        Raises TimeoutError, ConnectionClosedError, NotConnectedError."""
        ms = rt.ms_arg(timeout)
        with self._use() as ptr:
            _check(lib.snats_conn_flush(ptr, ms))

    def rtt(self, timeout: float = 10.0) -> float:
        """Measures the round trip to the server, in seconds."""
        ms = rt.ms_arg(timeout)
        us = ctypes.c_int64()
        with self._use() as ptr:
            _check(lib.snats_conn_rtt(ctypes.byref(us), ptr, ms))
        return us.value / 1e6

    def drain(self, timeout: float = 30.0) -> None:
        """Unsubscribes every subscription, delivers what is already queued, flushes, then
        closes. Raises TimeoutError when not done in time (the connection is closed anyway),
        DrainingError when a drain is running, ConnectionClosedError when already closed."""
        ms = rt.ms_arg(timeout)
        error: Optional[SwiftNatsError] = None
        with self._use() as ptr:
            st = lib.snats_conn_drain(ptr, ms)
            if st != Status.OK:
                error = error_for_status(st, _last_error())
        if error is not None:
            # The library closed the connection, but a callback may still be running past
            # the deadline; close() would wait for it. Releasing the handle is left to
            # close() or the finalizer, so the timeout is reported on time.
            raise error
        self.close()

    def close(self) -> None:
        """Closes the connection: flushes buffered publishes, ends every subscription, fails
        pending requests with ConnectionClosedError, runs the closed callback. Idempotent;
        allowed from callbacks."""
        if self._close_connection():
            self._release()

    def _close_connection(self, dispatching: bool = True) -> bool:
        """The first half of :meth:`close`: snats_conn_close(), keeping the handle (a
        connection bound to a dispatch queue has its closed callback still queued there, to be
        dispatched before the handle goes). False when close had begun already. With
        @p dispatching False, the dispatch queue's owner keeps dispatching meanwhile
        (swiftnats.aio's shutdown); else a queue-bound connection is closed as
        :func:`_close_conn` tells."""
        with self._lock:
            if self._closing:
                return False
            self._closing = True
        self._outbox.pause()  # what is buffered is handed over by try_use()
        use = self._handle.try_use()
        if use is not None:
            with use as ptr:
                _close_conn(ptr, self._dispatch_queue if dispatching else None)
                self._final_stats = self._read_stats(ptr)
                self._final_reason = disconnect_reason(ptr)
        return True

    def _release(self) -> None:
        """The second half of :meth:`close`: forgets the subscriptions and destroys the handle
        once no call uses it (off callback threads). Idempotent."""
        with self._lock:
            subs, self._subs = list(self._subs.values()), {}
        for sub in subs:
            rt.unregister(sub._key)
        self._finalizer()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state and information ----------------------------------------------------------------

    @property
    def state(self) -> ConnState:
        use = self._handle.try_use()
        if use is None:
            return ConnState.CLOSED
        state = ctypes.c_int()
        with use as ptr:
            _check(lib.snats_conn_get_state(ctypes.byref(state), ptr))
        return ConnState(state.value)

    @property
    def is_connected(self) -> bool:
        return self.state == ConnState.CONNECTED

    @property
    def is_closed(self) -> bool:
        use = self._handle.try_use()
        if use is None:
            return True
        with use as ptr:
            return bool(lib.snats_conn_is_closed(ptr))

    @property
    def is_draining(self) -> bool:
        return self.state == ConnState.DRAINING

    @property
    def is_reconnecting(self) -> bool:
        return self.state == ConnState.RECONNECTING

    @property
    def servers(self) -> List[str]:
        """The server pool (configured and discovered), URLs without credentials."""
        return self._server_list(lib.snats_conn_get_servers)

    @property
    def discovered_servers(self) -> List[str]:
        """The servers learned from the cluster (INFO connect_urls), URLs without credentials."""
        return self._server_list(lib.snats_conn_get_discovered_servers)

    def _server_list(self, getter: Callable[..., int]) -> List[str]:
        value = ctypes.c_void_p()
        with self._use() as ptr:
            _check(getter(ctypes.byref(value), ptr))
        try:
            return [str(url) for url in json_value(value.value)]
        finally:
            lib.snats_json_decref(value.value)

    @property
    def stats(self) -> Dict[str, int]:
        """Messages and payload bytes received and sent, reconnects, and lost_publishes
        (publishes accepted that never reached a server: buffered when their link died, or
        refused for a new server's max_payload): in_msgs, in_bytes, out_msgs, out_bytes,
        reconnects, lost_publishes (the last values once closed)."""
        use = self._handle.try_use()
        if use is None:
            return dict(
                self._final_stats
                or {"in_msgs": 0, "in_bytes": 0, "out_msgs": 0, "out_bytes": 0, "reconnects": 0, "lost_publishes": 0}
            )
        with use as ptr:
            return self._read_stats(ptr)

    @staticmethod
    def _read_stats(ptr: int) -> Dict[str, int]:
        v = [ctypes.c_uint64() for _ in range(6)]
        _check(lib.snats_conn_get_stats(*(ctypes.byref(x) for x in v[:4]), ptr))
        _check(lib.snats_conn_get_reconnects(ctypes.byref(v[4]), ptr))
        _check(lib.snats_conn_get_lost_publishes(ctypes.byref(v[5]), ptr))
        return {
            "in_msgs": v[0].value,
            "in_bytes": v[1].value,
            "out_msgs": v[2].value,
            "out_bytes": v[3].value,
            "reconnects": v[4].value,
            "lost_publishes": v[5].value,
        }

    @property
    def last_error(self) -> Optional[SwiftNatsError]:
        """Why the connection lost its server (or what closed it without close()): a
        SwiftNatsError such as StaleConnectionError, SocketError or ServerError; None while
        connected (a reconnect clears it). Kept once closed."""
        use = self._handle.try_use()
        if use is None:
            return self._final_reason
        with use as ptr:
            return disconnect_reason(ptr)

    @property
    def connected_url(self) -> Optional[str]:
        """The URL of the server the connection is on (without credentials), None when not
        connected."""
        use = self._handle.try_use()
        if use is None:
            return None
        with use as ptr:
            text = _read_string(lambda buf, cap: lib.snats_conn_get_connected_url(buf, cap, ptr), 256, none_on=Status.NOT_CONNECTED)
        return text

    @property
    def server_info(self) -> Dict[str, Any]:
        """The server's last INFO (server_id, version, max_payload, ...)."""
        info = ctypes.c_void_p()
        with self._use() as ptr:
            _check(lib.snats_conn_get_server_info(ctypes.byref(info), ptr))
        try:
            value: Dict[str, Any] = json_value(info.value)
            return value
        finally:
            lib.snats_json_decref(info.value)

    @property
    def max_payload(self) -> int:
        """The largest headers + payload a publish may carry, in bytes."""
        value = ctypes.c_int64()
        with self._use() as ptr:
            _check(lib.snats_conn_get_max_payload(ctypes.byref(value), ptr))
        return value.value

    def jetstream(self, domain: Optional[str] = None, prefix: Optional[str] = None, timeout: float = 5.0,
                  publish_async_max_pending: int = 4000) -> "JetStreamContext":
        """A JetStream context (:class:`swiftnats.jetstream.JetStreamContext`): streams,
        consumers, publishing with acks, pull subscriptions. @p domain or @p prefix name another
        JetStream API than the account's own; @p timeout bounds API calls and acks."""
        from .jetstream import JetStreamContext  # noqa: PLC0415 - JetStream only when used

        return JetStreamContext(self, domain=domain, prefix=prefix, timeout=timeout,
                                publish_async_max_pending=publish_async_max_pending)

    def jsm(self, domain: Optional[str] = None, prefix: Optional[str] = None, timeout: float = 5.0) -> "JetStreamContext":
        """nats.py's JetStream management object: the same context (its management calls)."""
        return self.jetstream(domain=domain, prefix=prefix, timeout=timeout)

    def new_inbox(self) -> str:
        """A unique subject under the connection's inbox prefix."""
        with self._use() as ptr:
            text = _read_string(lambda buf, cap: lib.snats_conn_new_inbox(buf, cap, ptr), 128)
        assert text is not None
        return text

    def __repr__(self) -> str:
        state = self.state
        url = self.connected_url if state == ConnState.CONNECTED else None
        return f"<Client {state.name.lower()}{' ' + url if url else ''}>"

    # -- internals ----------------------------------------------------------------------------

    def _use(self) -> ContextManager[int]:
        return self._handle.use()

    def _report_callback_exception(self, error: BaseException, sub: Optional[Subscription]) -> None:
        self._events.report(error, sub)

    def _forget_sub(self, sub: Subscription) -> None:
        """The subscription delivers no more: drop the client's references to it."""
        with self._lock:
            self._ending_subs.discard(sub)
            if sub._key is not None:
                self._subs.pop(sub._key, None)
            addr = sub._address
            if addr is not None and self._events.subs.get(addr) is sub:
                del self._events.subs[addr]
        rt.unregister(sub._key)

    def _note_ending(self, sub: Subscription) -> None:
        """@p sub has an auto-unsubscribe or drain under way: the next sweeps check it."""
        with self._lock:
            self._ending_subs.add(sub)

    def _sweep(self) -> None:
        """Forgets subscriptions whose auto-unsubscribe or drain has finished. Only those
        noted as ending are looked at: a subscribe costs the same with 100,000 others."""
        with self._lock:
            if not self._ending_subs:
                return
            candidates = list(self._ending_subs)
        for sub in candidates:
            if sub._ended():
                self._forget_sub(sub)


def _read_string(
    call: Callable[[Any, int], int], capacity: int, none_on: Optional[int] = None
) -> Optional[str]:
    """Calls a ``(char *buffer, size_t capacity)`` function, growing the buffer as needed."""
    while True:
        buf = ctypes.create_string_buffer(capacity)
        st = call(buf, capacity)
        if st == Status.BUFFER_TOO_SMALL and capacity < 1 << 20:
            capacity *= 4
            continue
        if none_on is not None and st == none_on:
            return None
        _check(st)
        return rt.decode(buf.value)
