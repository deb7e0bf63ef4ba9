"""Loading of libswiftnats and the ctypes declaration of every ``snats_`` function.

This is the only module that knows the C ABI (``Include/swiftnats.h``). Everything else in the
package goes through :data:`lib`, whose functions all have ``argtypes`` and ``restype`` declared
once, here, in header order.

The library is looked up in this order:

1. ``$SWIFTNATS_LIBRARY``: a path to the shared library (an error if it cannot be loaded);
2. the library a wheel carries, ``swiftnats/_native/libswiftnats.so`` (``make wheel``), with
   the libraries bundled beside it (Jansson) loaded first, so that its dependencies resolve
   to them;
3. an installed library: ``ctypes.util.find_library("swiftnats")``, then ``/usr/local/lib`` and
   ``/usr/lib`` (and their multiarch / lib64 variants);
4. a build tree: walking up from this file to a directory holding
   ``.build/release/libswiftnats.so`` or ``.build/debug/libswiftnats.so``.

It is loaded with :class:`ctypes.CDLL`, which releases the GIL for the duration of every call.
(``ctypes.PyDLL`` keeps the GIL, and deadlocks as soon as a blocking call such as a request
waits on a library thread that needs the GIL to run a Python callback.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sysconfig
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_bool,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = [
    "lib",
    "library_path",
    "LibraryNotFoundError",
    "SIGNATURES",
    "CONN_HANDLER",
    "ERROR_HANDLER",
    "MSG_HANDLER",
    "BATCH_HANDLER",
    "REPLY_HANDLER",
    "FLUSH_HANDLER",
    "RECONNECT_DELAY_HANDLER",
    "USER_JWT_HANDLER",
    "SIGNATURE_HANDLER",
    "MICRO_HANDLER",
    "SERVICE_DONE_HANDLER",
    "SERVICE_ERROR_HANDLER",
    "STATS_HANDLER",
    "PUB_ACK_HANDLER",
    "TAGGED_ACK_HANDLER",
    "FETCH_HANDLER",
    "JS_MSG_HANDLER",
    "KV_WATCH_HANDLER",
    "KV_BUCKET_HANDLER",
    "KV_WATCH_STARTED_HANDLER",
    "KV_REVISION_HANDLER",
    "KV_ENTRY_HANDLER",
    "KV_ENTRIES_HANDLER",
    "OBJ_READER",
    "OBJ_WRITER",
    "OBJ_WATCH_HANDLER",
    "OBJ_BUCKET_HANDLER",
    "OBJ_WATCH_STARTED_HANDLER",
    "LIBRARY_ENV",
]

LIBRARY_ENV = "SWIFTNATS_LIBRARY"
_SONAME = "libswiftnats.so"


class LibraryNotFoundError(OSError):
    """libswiftnats could not be found or loaded."""


# --------------------------------------------------------------------------------------------
# Locating the library
# --------------------------------------------------------------------------------------------


def _installed_candidates() -> List[str]:
    found: List[str] = []
    name = ctypes.util.find_library("swiftnats")
    if name:
        found.append(name)
    dirs = ["/usr/local/lib", "/usr/lib", "/usr/local/lib64", "/usr/lib64"]
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if multiarch:
        dirs += [f"/usr/local/lib/{multiarch}", f"/usr/lib/{multiarch}"]
    for d in dirs:
        for so in (_SONAME, _SONAME + ".0"):
            p = os.path.join(d, so)
            if os.path.exists(p):
                found.append(p)
    return found


def _build_tree_candidates(start: Path) -> List[str]:
    found: List[str] = []
    for directory in [start, *start.parents]:
        for config in ("release", "debug"):
            p = directory / ".build" / config / _SONAME
            if p.exists():
                found.append(str(p))
        if found:
            break
    return found


#: where a wheel puts the library and what it bundles
_NATIVE = Path(__file__).resolve().parent / "_native"


def _bundled_candidates() -> List[str]:
    """The wheel's library, once the libraries bundled with it are loaded (globally: the
    dynamic loader then resolves the library's needs to them by their soname)."""
    library = _NATIVE / _SONAME
    if not library.exists():
        return []
    for bundled in sorted(_NATIVE.iterdir()):
        if bundled.name != _SONAME and ".so" in bundled.name:
            try:
                ctypes.CDLL(str(bundled), mode=ctypes.RTLD_GLOBAL)
            except OSError:  # the library's own load then says what is missing
                pass
    return [str(library)]


def _candidates() -> List[Tuple[str, str]]:
    """(origin, path-or-name) pairs in search order, without the environment variable."""
    out: List[Tuple[str, str]] = [("bundled", c) for c in _bundled_candidates()]
    out += [("installed", c) for c in _installed_candidates()]
    out += [("build tree", c) for c in _build_tree_candidates(Path(__file__).resolve().parent)]
    return out


def _load() -> Tuple[ctypes.CDLL, str]:
    env = os.environ.get(LIBRARY_ENV)
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise LibraryNotFoundError(f"${LIBRARY_ENV}={env!r} cannot be loaded: {e}") from e
    errors: List[str] = []
    for origin, candidate in _candidates():
        try:
            return ctypes.CDLL(candidate), candidate
        except OSError as e:  # try the next one
            errors.append(f"{origin} {candidate}: {e}")
    tried = "; ".join(errors) if errors else "no candidate found"
    raise LibraryNotFoundError(
        f"libswiftnats not found ({tried}). Install it (make install), build it (swift build), "
        f"or set ${LIBRARY_ENV} to the path of libswiftnats.so"
    )


# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------

c_status = c_int  # snats_status (enum)
c_conn_state = c_int  # snats_conn_state (enum)
c_handle = c_void_p  # snats_options*, snats_conn*, snats_sub*, snats_msg*, snats_headers*
c_json = c_void_p  # json_t*
c_handle_p = POINTER(c_void_p)  # T** out-parameters

#: typedef void (*snats_conn_handler)(snats_conn *conn, void *closure);
CONN_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p)
#: typedef void (*snats_error_handler)(snats_conn *, snats_sub *, snats_status, const char *, void *);
ERROR_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, c_status, c_char_p, c_void_p)
#: typedef int64_t (*snats_reconnect_delay_handler)(snats_conn *conn, int attempts, void *closure);
RECONNECT_DELAY_HANDLER = CFUNCTYPE(c_int64, c_void_p, c_int, c_void_p)
#: typedef snats_status (*snats_user_jwt_handler)(char **jwt, void *closure);
USER_JWT_HANDLER = CFUNCTYPE(c_status, POINTER(c_void_p), c_void_p)
#: typedef snats_status (*snats_signature_handler)(unsigned char signature[64], const char *nonce, void *closure);
SIGNATURE_HANDLER = CFUNCTYPE(c_status, c_void_p, c_char_p, c_void_p)
#: typedef void (*snats_micro_handler)(snats_micro_request *req, void *closure);
MICRO_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p)
#: typedef void (*snats_service_done_handler)(snats_service *svc, void *closure);
SERVICE_DONE_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p)
#: typedef void (*snats_service_error_handler)(snats_service *, snats_endpoint *, snats_status, const char *, void *);
SERVICE_ERROR_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, c_status, c_char_p, c_void_p)
#: typedef json_t *(*snats_stats_handler)(const char *endpoint_name, void *closure);  (new reference or NULL)
STATS_HANDLER = CFUNCTYPE(c_void_p, c_char_p, c_void_p)
#: typedef void (*snats_rpc_handler)(snats_rpc_request *req, const json_t *params, void *closure);
RPC_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p)
#: typedef void (*snats_rpc_callback)(snats_status, const json_t *result, const json_t *error, void *closure);
RPC_CALLBACK = CFUNCTYPE(None, c_status, c_void_p, c_void_p, c_void_p)
#: typedef void (*snats_msg_handler)(snats_conn *, snats_sub *, snats_msg *, void *closure);
MSG_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p, c_void_p)
#: typedef void (*snats_batch_handler)(snats_conn *, snats_sub *, const void *records, size_t used, size_t count, void *closure);
BATCH_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p, c_size_t, c_size_t, c_void_p)
#: typedef void (*snats_reply_handler)(snats_conn *, snats_status, snats_msg *reply, void *closure);
REPLY_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p, c_void_p)
#: typedef void (*snats_flush_handler)(snats_conn *, snats_status, void *closure);
FLUSH_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p)
#: typedef void (*snats_json_handler)(snats_status, const json_t *value, void *closure);
JSON_HANDLER = CFUNCTYPE(None, c_status, c_void_p, c_void_p)
#: typedef void (*snats_js_pub_ack_handler)(snats_jetstream *, snats_status, const snats_js_pub_ack *, void *closure);
PUB_ACK_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p, c_void_p)
#: typedef void (*snats_js_tagged_ack_handler)(snats_jetstream *, const snats_js_pub_outcome *, size_t count, void *closure);
TAGGED_ACK_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t, c_void_p)
#: typedef void (*snats_js_fetch_handler)(snats_jetstream *, snats_status, snats_msg **msgs, int count, void *closure);
FETCH_HANDLER = CFUNCTYPE(None, c_void_p, c_status, POINTER(c_void_p), c_int, c_void_p)
#: typedef void (*snats_js_msg_handler)(snats_jetstream *, snats_status, snats_msg *msg, void *closure);
JS_MSG_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p, c_void_p)
#: typedef void (*snats_kv_watch_handler)(snats_kv_watcher *, const snats_kv_entry *entry, void *closure);
KV_WATCH_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p)
#: typedef void (*snats_kv_bucket_handler)(snats_jetstream *, snats_status, snats_kv *kv, void *closure);
KV_BUCKET_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p, c_void_p)
#: typedef void (*snats_kv_watch_started_handler)(snats_kv *, snats_status, snats_kv_watcher *, void *closure);
KV_WATCH_STARTED_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p, c_void_p)
#: typedef void (*snats_kv_revision_handler)(snats_kv *, snats_status, uint64_t revision, void *closure);
KV_REVISION_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_uint64, c_void_p)
#: typedef void (*snats_kv_entry_handler)(snats_kv *, snats_status, const snats_kv_entry *, void *closure);
KV_ENTRY_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p, c_void_p)
#: typedef void (*snats_kv_entries_handler)(snats_kv *, snats_status, const snats_kv_entry *const *, int, void *);
KV_ENTRIES_HANDLER = CFUNCTYPE(None, c_void_p, c_status, POINTER(c_void_p), c_int, c_void_p)
#: typedef int64_t (*snats_obj_reader)(void *buffer, size_t capacity, void *closure);
OBJ_READER = CFUNCTYPE(c_int64, c_void_p, c_size_t, c_void_p)
#: typedef int (*snats_obj_writer)(const void *data, size_t len, void *closure);
OBJ_WRITER = CFUNCTYPE(c_int, c_void_p, c_size_t, c_void_p)
#: typedef void (*snats_obj_watch_handler)(snats_obj_watcher *, const json_t *info, void *closure);
OBJ_WATCH_HANDLER = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p)
#: typedef void (*snats_obj_bucket_handler)(snats_jetstream *, snats_status, snats_obj *obs, void *closure);
OBJ_BUCKET_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p, c_void_p)
#: typedef void (*snats_obj_watch_started_handler)(snats_obj *, snats_status, snats_obj_watcher *, void *closure);
OBJ_WATCH_STARTED_HANDLER = CFUNCTYPE(None, c_void_p, c_status, c_void_p, c_void_p)

# Borrowed `const char *` results are declared c_char_p: ctypes copies them into `bytes` at once.
# Owned `char *` results (snats_json_dumps) are declared c_void_p so they can be snats_free()d.
_Sig = Tuple[Optional[type], Sequence[type]]

#: name -> (restype, argtypes), in header order. Every `snats_` function of the header is here.
SIGNATURES: Dict[str, _Sig] = {
    # Library: version, statuses, errors, JSON helpers
    "snats_version": (c_char_p, []),
    "snats_status_text": (c_char_p, [c_status]),
    "snats_last_error": (c_char_p, []),
    "snats_json_decref": (None, [c_json]),
    "snats_json_incref": (c_json, [c_json]),
    "snats_json_loads": (c_status, [POINTER(c_json), c_char_p]),
    "snats_json_dumps": (c_status, [POINTER(c_void_p), c_json]),
    "snats_free": (None, [c_void_p]),
    # Options
    "snats_options_create": (c_status, [c_handle_p]),
    "snats_options_destroy": (None, [c_handle]),
    "snats_options_set_url": (c_status, [c_handle, c_char_p]),
    "snats_options_set_servers": (c_status, [c_handle, POINTER(c_char_p), c_int]),
    "snats_options_set_name": (c_status, [c_handle, c_char_p]),
    "snats_options_set_connect_timeout": (c_status, [c_handle, c_int64]),
    "snats_options_set_ping_interval": (c_status, [c_handle, c_int64]),
    "snats_options_set_max_pings_out": (c_status, [c_handle, c_int]),
    "snats_options_set_no_echo": (c_status, [c_handle, c_bool]),
    "snats_options_set_send_asap": (c_status, [c_handle, c_bool]),
    "snats_options_set_verbose": (c_status, [c_handle, c_bool]),
    "snats_options_set_pedantic": (c_status, [c_handle, c_bool]),
    "snats_options_set_inbox_prefix": (c_status, [c_handle, c_char_p]),
    "snats_options_set_pending_limits": (c_status, [c_handle, c_int, c_int64]),
    "snats_options_set_user_info": (c_status, [c_handle, c_char_p, c_char_p]),
    "snats_options_set_token": (c_status, [c_handle, c_char_p]),
    "snats_options_set_closed_cb": (c_status, [c_handle, CONN_HANDLER, c_void_p]),
    "snats_options_set_disconnected_cb": (c_status, [c_handle, CONN_HANDLER, c_void_p]),
    "snats_options_set_reconnected_cb": (c_status, [c_handle, CONN_HANDLER, c_void_p]),
    "snats_options_set_retry_on_failed_connect": (c_status, [c_handle, c_bool, CONN_HANDLER, c_void_p]),
    "snats_options_set_discovered_servers_cb": (c_status, [c_handle, CONN_HANDLER, c_void_p]),
    "snats_options_set_lame_duck_cb": (c_status, [c_handle, CONN_HANDLER, c_void_p]),
    "snats_options_set_allow_reconnect": (c_status, [c_handle, c_bool]),
    "snats_options_set_max_reconnect": (c_status, [c_handle, c_int]),
    "snats_options_set_reconnect_wait": (c_status, [c_handle, c_int64]),
    "snats_options_set_reconnect_jitter": (c_status, [c_handle, c_int64, c_int64]),
    "snats_options_set_custom_reconnect_delay": (c_status, [c_handle, RECONNECT_DELAY_HANDLER, c_void_p]),
    "snats_options_set_reconnect_buffer_size": (c_status, [c_handle, c_int64]),
    "snats_options_set_no_randomize": (c_status, [c_handle, c_bool]),
    "snats_options_set_ignore_discovered_servers": (c_status, [c_handle, c_bool]),
    "snats_options_set_secure": (c_status, [c_handle, c_bool]),
    "snats_options_set_tls_ca_file": (c_status, [c_handle, c_char_p]),
    "snats_options_set_tls_client_cert": (c_status, [c_handle, c_char_p, c_char_p]),
    "snats_options_set_tls_hostname": (c_status, [c_handle, c_char_p]),
    "snats_options_set_tls_verify_hostname": (c_status, [c_handle, c_bool]),
    "snats_options_set_tls_skip_verify": (c_status, [c_handle, c_bool]),
    "snats_options_set_tls_handshake_first": (c_status, [c_handle, c_bool]),
    "snats_options_set_nkey_seed": (c_status, [c_handle, c_char_p]),
    "snats_options_set_nkey_seed_file": (c_status, [c_handle, c_char_p]),
    "snats_options_set_credentials_file": (c_status, [c_handle, c_char_p]),
    "snats_options_set_user_credentials_callbacks": (
        c_status,
        [c_handle, USER_JWT_HANDLER, c_void_p, SIGNATURE_HANDLER, c_void_p],
    ),
    "snats_options_set_nkey": (c_status, [c_handle, c_char_p, SIGNATURE_HANDLER, c_void_p]),
    "snats_options_set_error_cb": (c_status, [c_handle, ERROR_HANDLER, c_void_p]),
    # Connection
    "snats_conn_connect": (c_status, [c_handle_p, c_handle]),
    "snats_conn_connect_to": (c_status, [c_handle_p, c_char_p]),
    "snats_conn_close": (None, [c_handle]),
    "snats_conn_destroy": (None, [c_handle]),
    "snats_conn_drain": (c_status, [c_handle, c_int64]),
    "snats_conn_get_state": (c_status, [POINTER(c_conn_state), c_handle]),
    "snats_conn_is_closed": (c_bool, [c_handle]),
    "snats_conn_wait_connected": (c_status, [c_handle, c_int64]),
    "snats_publish": (c_status, [c_handle, c_char_p, c_void_p, c_size_t]),
    "snats_publish_request": (c_status, [c_handle, c_char_p, c_char_p, c_void_p, c_size_t]),
    "snats_publish_packed": (c_status, [POINTER(c_size_t), c_handle, c_void_p, c_size_t]),
    "snats_publish_msg": (
        c_status,
        [c_handle, c_char_p, c_char_p, c_handle, c_void_p, c_size_t],
    ),
    "snats_request": (
        c_status,
        [c_handle_p, c_handle, c_char_p, c_void_p, c_size_t, c_int64],
    ),
    "snats_request_msg": (
        c_status,
        [c_handle_p, c_handle, c_char_p, c_handle, c_void_p, c_size_t, c_int64],
    ),
    "snats_request_async": (
        c_status,
        [c_handle, c_char_p, c_void_p, c_size_t, c_int64, REPLY_HANDLER, c_void_p],
    ),
    "snats_request_msg_async": (
        c_status,
        [c_handle, c_char_p, c_handle, c_void_p, c_size_t, c_int64, REPLY_HANDLER, c_void_p],
    ),
    "snats_request_tagged": (
        c_status,
        [c_handle, c_char_p, c_handle, c_void_p, c_size_t, c_int64, c_uint64, REPLY_HANDLER, c_void_p],
    ),
    "snats_conn_flush": (c_status, [c_handle, c_int64]),
    "snats_conn_flush_async": (c_status, [c_handle, c_int64, FLUSH_HANDLER, c_void_p]),
    "snats_conn_rtt": (c_status, [POINTER(c_int64), c_handle, c_int64]),
    "snats_conn_get_stats": (
        c_status,
        [POINTER(c_uint64), POINTER(c_uint64), POINTER(c_uint64), POINTER(c_uint64), c_handle],
    ),
    "snats_conn_get_reconnects": (c_status, [POINTER(c_uint64), c_handle]),
    "snats_conn_get_lost_publishes": (c_status, [POINTER(c_uint64), c_handle]),
    "snats_conn_last_error": (c_status, [POINTER(c_char_p), c_handle]),
    "snats_conn_get_servers": (c_status, [POINTER(c_json), c_handle]),
    "snats_conn_get_discovered_servers": (c_status, [POINTER(c_json), c_handle]),
    "snats_conn_get_connected_url": (c_status, [c_char_p, c_size_t, c_handle]),
    "snats_conn_get_server_info": (c_status, [POINTER(c_json), c_handle]),
    "snats_conn_get_max_payload": (c_status, [POINTER(c_int64), c_handle]),
    "snats_conn_new_inbox": (c_status, [c_char_p, c_size_t, c_handle]),
    # Where callbacks run: delivery pool, dispatch queues
    "snats_set_delivery_pool_size": (c_status, [c_int]),
    "snats_get_delivery_pool_threads": (c_status, [POINTER(c_int), POINTER(c_int)]),
    "snats_options_set_delivery_pool_size": (c_status, [c_handle, c_int]),
    "snats_options_set_dedicated_delivery": (c_status, [c_handle, c_bool]),
    "snats_options_set_dispatch_queue": (c_status, [c_handle, c_handle]),
    "snats_options_set_read_on_dispatch_queue": (c_status, [c_handle, c_bool]),
    "snats_dispatch_queue_create": (c_status, [c_handle_p, c_int, c_int64]),
    "snats_dispatch_queue_destroy": (None, [c_handle]),
    "snats_dispatch_queue_fd": (c_status, [POINTER(c_int), c_handle]),
    "snats_dispatch_queue_dispatch": (c_status, [POINTER(c_int), c_handle, c_int, c_int64]),
    "snats_dispatch_queue_next_msgs": (
        c_status,
        [c_void_p, c_size_t, POINTER(c_size_t), POINTER(c_size_t), c_handle, c_size_t, c_int64],
    ),
    "snats_dispatch_queue_turn": (
        c_status,
        [c_void_p, c_size_t, POINTER(c_size_t), POINTER(c_size_t), POINTER(c_int), c_handle, c_int, c_size_t],
    ),
    "snats_dispatch_queue_wake": (c_status, [c_handle]),
    "snats_dispatch_queue_get_pending": (c_status, [POINTER(c_int), POINTER(c_int64), c_handle]),
    # Subscriptions
    "snats_subscribe": (c_status, [c_handle_p, c_handle, c_char_p, MSG_HANDLER, c_void_p]),
    "snats_queue_subscribe": (
        c_status,
        [c_handle_p, c_handle, c_char_p, c_char_p, MSG_HANDLER, c_void_p],
    ),
    "snats_subscribe_sync": (c_status, [c_handle_p, c_handle, c_char_p]),
    "snats_queue_subscribe_sync": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p]),
    "snats_subscribe_on": (
        c_status,
        [c_handle_p, c_handle, c_char_p, c_char_p, c_handle, MSG_HANDLER, c_void_p],
    ),
    "snats_subscribe_batch": (
        c_status,
        [c_handle_p, c_handle, c_char_p, c_char_p, BATCH_HANDLER, c_void_p],
    ),
    "snats_subscribe_dedicated": (
        c_status,
        [c_handle_p, c_handle, c_char_p, c_char_p, MSG_HANDLER, c_void_p],
    ),
    "snats_sub_next_msg": (c_status, [c_handle_p, c_handle, c_int64]),
    "snats_sub_next_msgs": (
        c_status,
        [c_void_p, c_size_t, POINTER(c_size_t), POINTER(c_size_t), c_handle, c_size_t, c_int64],
    ),
    "snats_sub_unsubscribe": (c_status, [c_handle]),
    "snats_sub_auto_unsubscribe": (c_status, [c_handle, c_int]),
    "snats_sub_drain": (c_status, [c_handle, c_int64]),
    "snats_sub_set_pending_limits": (c_status, [c_handle, c_int, c_int64]),
    "snats_sub_get_pending": (c_status, [POINTER(c_int), POINTER(c_int64), c_handle]),
    "snats_sub_get_delivered": (c_status, [POINTER(c_uint64), c_handle]),
    "snats_sub_get_dropped": (c_status, [POINTER(c_uint64), c_handle]),
    "snats_sub_is_valid": (c_bool, [c_handle]),
    "snats_sub_subject": (c_char_p, [c_handle]),
    "snats_sub_destroy": (None, [c_handle]),
    # Messages
    "snats_msg_subject": (c_char_p, [c_handle]),
    "snats_msg_reply": (c_char_p, [c_handle]),
    "snats_msg_data": (c_void_p, [c_handle]),
    "snats_msg_data_len": (c_size_t, [c_handle]),
    "snats_msg_headers": (c_handle, [c_handle]),
    "snats_msg_status_code": (c_int, [c_handle]),
    "snats_msg_retain": (c_handle, [c_handle]),
    "snats_msg_release": (c_status, [c_handle]),
    "snats_msg_respond": (c_status, [c_handle, c_void_p, c_size_t]),
    # Headers
    "snats_headers_create": (c_status, [c_handle_p]),
    "snats_headers_parse": (c_status, [c_handle_p, c_void_p, c_size_t]),
    "snats_headers_destroy": (None, [c_handle]),
    "snats_headers_set": (c_status, [c_handle, c_char_p, c_char_p]),
    "snats_headers_add": (c_status, [c_handle, c_char_p, c_char_p]),
    "snats_headers_delete": (c_status, [c_handle, c_char_p]),
    "snats_headers_get": (c_status, [POINTER(c_char_p), c_handle, c_char_p]),
    "snats_headers_value_count": (c_size_t, [c_handle, c_char_p]),
    "snats_headers_value_at": (c_status, [POINTER(c_char_p), c_handle, c_char_p, c_size_t]),
    "snats_headers_key_count": (c_size_t, [c_handle]),
    "snats_headers_key_at": (c_status, [POINTER(c_char_p), c_handle, c_size_t]),
    "snats_headers_status": (c_int, [c_handle]),
    "snats_headers_description": (c_char_p, [c_handle]),
    # Micro services
    "snats_service_config_create": (c_status, [c_handle_p, c_char_p, c_char_p]),
    "snats_service_config_destroy": (None, [c_handle]),
    "snats_service_config_set_description": (c_status, [c_handle, c_char_p]),
    "snats_service_config_set_metadata": (c_status, [c_handle, c_json]),
    "snats_service_config_set_queue_group": (c_status, [c_handle, c_char_p, c_bool]),
    "snats_service_config_set_done_cb": (c_status, [c_handle, SERVICE_DONE_HANDLER, c_void_p]),
    "snats_service_config_set_error_cb": (c_status, [c_handle, SERVICE_ERROR_HANDLER, c_void_p]),
    "snats_service_config_set_stats_cb": (c_status, [c_handle, STATS_HANDLER, c_void_p]),
    "snats_endpoint_config_create": (c_status, [c_handle_p]),
    "snats_endpoint_config_destroy": (None, [c_handle]),
    "snats_endpoint_config_set_subject": (c_status, [c_handle, c_char_p]),
    "snats_endpoint_config_set_metadata": (c_status, [c_handle, c_json]),
    "snats_endpoint_config_set_queue_group": (c_status, [c_handle, c_char_p, c_bool]),
    "snats_endpoint_config_set_concurrency": (c_status, [c_handle, c_int]),
    "snats_endpoint_config_set_pending_limits": (c_status, [c_handle, c_int, c_int64]),
    "snats_service_create": (c_status, [c_handle_p, c_handle, c_handle]),
    "snats_service_add_endpoint": (c_status, [c_handle_p, c_handle, c_char_p, c_handle, MICRO_HANDLER, c_void_p]),
    "snats_service_add_group": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p, c_bool]),
    "snats_group_add_group": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p, c_bool]),
    "snats_group_add_endpoint": (c_status, [c_handle_p, c_handle, c_char_p, c_handle, MICRO_HANDLER, c_void_p]),
    "snats_group_destroy": (None, [c_handle]),
    "snats_service_stop": (c_status, [c_handle]),
    "snats_service_is_stopped": (c_bool, [c_handle]),
    "snats_service_reset": (c_status, [c_handle]),
    "snats_service_destroy": (None, [c_handle]),
    "snats_service_id": (c_char_p, [c_handle]),
    "snats_service_get_info": (c_status, [POINTER(c_json), c_handle]),
    "snats_service_get_stats": (c_status, [POINTER(c_json), c_handle]),
    "snats_endpoint_name": (c_char_p, [c_handle]),
    "snats_endpoint_subject": (c_char_p, [c_handle]),
    "snats_micro_request_msg": (c_handle, [c_handle]),
    "snats_micro_request_respond": (c_status, [c_handle, c_handle, c_void_p, c_size_t]),
    "snats_micro_request_respond_json": (c_status, [c_handle, c_json]),
    "snats_micro_request_respond_error": (c_status, [c_handle, c_char_p, c_char_p, c_handle, c_void_p, c_size_t]),
    "snats_micro_request_retain": (c_handle, [c_handle]),
    "snats_micro_request_release": (None, [c_handle]),
    "snats_micro_ping": (c_status, [POINTER(c_json), c_handle, c_char_p, c_char_p, c_int64, c_int]),
    "snats_micro_info": (c_status, [POINTER(c_json), c_handle, c_char_p, c_char_p, c_int64, c_int]),
    "snats_micro_stats": (c_status, [POINTER(c_json), c_handle, c_char_p, c_char_p, c_int64, c_int]),
    "snats_micro_ping_cb": (c_status, [c_handle, c_char_p, c_char_p, c_int64, c_int, JSON_HANDLER, c_void_p]),
    "snats_micro_info_cb": (c_status, [c_handle, c_char_p, c_char_p, c_int64, c_int, JSON_HANDLER, c_void_p]),
    "snats_micro_stats_cb": (c_status, [c_handle, c_char_p, c_char_p, c_int64, c_int, JSON_HANDLER, c_void_p]),
    # RPC
    "snats_rpc_server_create": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p]),
    "snats_rpc_server_destroy": (None, [c_handle]),
    "snats_rpc_server_register": (c_status, [c_handle, c_char_p, c_json, c_char_p, c_int, RPC_HANDLER, c_void_p]),
    "snats_rpc_server_register_stream": (c_status, [c_handle, c_char_p, c_json, c_char_p, c_int, RPC_HANDLER,
                                                    c_void_p]),
    "snats_rpc_server_start": (c_status, [c_handle, c_char_p]),
    "snats_rpc_server_stop": (c_status, [c_handle]),
    "snats_rpc_server_id": (c_char_p, [c_handle]),
    "snats_rpc_request_method": (c_char_p, [c_handle]),
    "snats_rpc_request_params": (c_json, [c_handle]),
    "snats_rpc_request_respond": (c_status, [c_handle, c_json]),
    "snats_rpc_request_send_item": (c_status, [c_handle, c_json]),
    "snats_rpc_request_end_stream": (c_status, [c_handle]),
    "snats_rpc_request_fail": (c_status, [c_handle, c_char_p, c_char_p]),
    "snats_rpc_request_error": (c_status, [c_handle, c_int, c_char_p, c_json]),
    "snats_rpc_request_retain": (c_handle, [c_handle]),
    "snats_rpc_request_release": (None, [c_handle]),
    "snats_rpc_client_create": (c_status, [c_handle_p, c_handle, c_char_p]),
    "snats_rpc_client_create_group": (c_status, [c_handle_p, c_handle, POINTER(c_char_p), c_int, c_char_p]),
    "snats_rpc_client_destroy": (None, [c_handle]),
    "snats_rpc_client_call": (c_status, [POINTER(c_json), POINTER(c_json), c_handle, c_char_p, c_json, c_int64]),
    "snats_rpc_client_call_async": (c_status, [POINTER(c_uint64), c_handle, c_char_p, c_json]),
    "snats_rpc_client_get_response": (c_status, [POINTER(c_json), POINTER(c_json), c_handle, c_uint64, c_int64]),
    "snats_rpc_client_cancel": (c_status, [c_handle, c_uint64]),
    "snats_rpc_client_set_heartbeat": (c_status, [c_handle, c_int64]),
    "snats_rpc_ref_create": (c_status, [c_handle_p, c_handle, c_json, c_int, RPC_HANDLER, c_void_p]),
    "snats_rpc_ref_json": (c_json, [c_handle]),
    "snats_rpc_ref_subject": (c_char_p, [c_handle]),
    "snats_rpc_ref_destroy": (None, [c_handle]),
    "snats_rpc_client_create_from_ref": (c_status, [c_handle_p, c_handle, c_json]),
    "snats_rpc_client_call_cb": (c_status, [c_handle, c_char_p, c_json, c_int64, RPC_CALLBACK, c_void_p]),
    "snats_rpc_client_call_batch": (c_status, [POINTER(c_json), c_handle, c_json, c_int64]),
    "snats_rpc_client_call_stream": (c_status, [c_handle_p, c_handle, c_char_p, c_json, c_int64]),
    "snats_rpc_stream_next": (c_status, [POINTER(c_json), POINTER(c_json), c_handle]),
    "snats_rpc_client_call_stream_cb": (c_status, [c_handle_p, c_handle, c_char_p, c_json, c_int64, RPC_CALLBACK,
                                                   c_void_p]),
    "snats_rpc_stream_destroy": (None, [c_handle]),
    "snats_rpc_client_describe": (c_status, [POINTER(c_json), c_handle, c_int64]),
    "snats_rpc_client_describe_cb": (c_status, [c_handle, c_int64, JSON_HANDLER, c_void_p]),
    # JetStream
    "snats_jetstream_create": (c_status, [c_handle_p, c_handle, c_json]),
    "snats_jetstream_destroy": (None, [c_handle]),
    "snats_js_last_api_error": (None, [POINTER(c_int), POINTER(c_int)]),
    "snats_js_account_info": (c_status, [POINTER(c_json), c_handle]),
    "snats_js_stream_add": (c_status, [POINTER(c_json), c_handle, c_json]),
    "snats_js_stream_update": (c_status, [POINTER(c_json), c_handle, c_json]),
    "snats_js_stream_delete": (c_status, [c_handle, c_char_p]),
    "snats_js_stream_info": (c_status, [POINTER(c_json), c_handle, c_char_p, c_json]),
    "snats_js_stream_list": (c_status, [POINTER(c_json), c_handle, c_char_p]),
    "snats_js_stream_names": (c_status, [POINTER(c_json), c_handle, c_char_p]),
    "snats_js_stream_purge": (c_status, [POINTER(c_uint64), c_handle, c_char_p, c_json]),
    "snats_js_stream_get_msg": (c_status, [c_handle_p, c_handle, c_char_p, c_uint64, c_char_p]),
    "snats_js_stream_direct_get": (c_status, [c_handle_p, c_handle, c_char_p, c_uint64, c_char_p]),
    "snats_js_stream_get_msg_async": (c_status, [c_handle, c_char_p, c_uint64, c_char_p, c_bool, JS_MSG_HANDLER,
                                                 c_void_p]),
    "snats_js_stream_delete_msg": (c_status, [c_handle, c_char_p, c_uint64, c_bool]),
    "snats_js_consumer_add": (c_status, [POINTER(c_json), c_handle, c_char_p, c_json]),
    "snats_js_consumer_update": (c_status, [POINTER(c_json), c_handle, c_char_p, c_json]),
    "snats_js_consumer_delete": (c_status, [c_handle, c_char_p, c_char_p]),
    "snats_js_consumer_info": (c_status, [POINTER(c_json), c_handle, c_char_p, c_char_p]),
    "snats_js_consumer_list": (c_status, [POINTER(c_json), c_handle, c_char_p]),
    "snats_js_consumer_names": (c_status, [POINTER(c_json), c_handle, c_char_p]),
    "snats_js_call": (c_status, [POINTER(c_json), c_handle, c_char_p, c_json]),
    "snats_js_call_async": (c_status, [c_handle, c_char_p, c_json, JSON_HANDLER, c_void_p]),
    "snats_js_publish": (c_status, [c_handle_p, c_handle, c_char_p, c_handle, c_void_p, c_size_t, c_json]),
    "snats_js_publish_async": (c_status, [c_handle, c_char_p, c_handle, c_void_p, c_size_t, c_json, PUB_ACK_HANDLER,
                                          c_void_p]),
    "snats_js_publish_async_complete": (c_status, [c_handle, c_int64]),
    "snats_js_publish_async_pending": (c_status, [c_handle, POINTER(c_int)]),
    "snats_js_set_tagged_ack_handler": (c_status, [c_handle, TAGGED_ACK_HANDLER, c_void_p]),
    "snats_js_publish_async_tagged": (c_status, [c_handle, c_char_p, c_handle, c_void_p, c_size_t, c_json, c_uint64]),
    "snats_js_pub_ack_stream": (c_char_p, [c_handle]),
    "snats_js_pub_ack_seq": (c_uint64, [c_handle]),
    "snats_js_pub_ack_duplicate": (c_bool, [c_handle]),
    "snats_js_pub_ack_domain": (c_char_p, [c_handle]),
    "snats_js_pub_ack_destroy": (None, [c_handle]),
    "snats_js_fetch": (c_status, [POINTER(c_void_p), c_int, POINTER(c_int), c_handle, c_char_p, c_char_p, c_int64,
                                  c_json]),
    "snats_js_fetch_async": (c_status, [c_handle, c_char_p, c_char_p, c_int, c_int64, c_json, FETCH_HANDLER, c_void_p]),
    "snats_js_msg_ack": (c_status, [c_handle]),
    "snats_js_msg_ack_sync": (c_status, [c_handle, c_int64]),
    "snats_js_msg_nak": (c_status, [c_handle, c_int64]),
    "snats_js_msg_term": (c_status, [c_handle, c_char_p]),
    "snats_js_msg_in_progress": (c_status, [c_handle]),
    "snats_js_ack_reply": (c_status, [c_handle, c_char_p, c_int, c_int64, c_char_p, c_int64]),
    "snats_js_ack_sync_async": (c_status, [c_handle, c_char_p, c_int64, FLUSH_HANDLER, c_void_p]),
    "snats_js_msg_metadata": (c_status, [POINTER(c_json), c_handle]),
    "snats_js_metadata": (c_status, [POINTER(c_json), c_char_p]),
    "snats_js_consume": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p, c_json, MSG_HANDLER, c_void_p]),
    "snats_js_consume_batch": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p, c_json, BATCH_HANDLER, c_void_p]),
    "snats_js_consume_on": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p, c_json, c_handle, MSG_HANDLER,
                                       c_void_p]),
    "snats_js_push_subscribe": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p, c_handle, MSG_HANDLER, c_void_p]),
    "snats_js_push_subscribe_batch": (c_status, [c_handle_p, c_handle, c_char_p, c_char_p, BATCH_HANDLER, c_void_p]),
    # Key-Value
    "snats_kv_bucket_create": (c_status, [c_handle_p, c_handle, c_char_p, c_json]),
    "snats_kv_bucket_bind": (c_status, [c_handle_p, c_handle, c_char_p]),
    "snats_kv_bucket_create_async": (c_status, [c_handle, c_char_p, c_json, KV_BUCKET_HANDLER, c_void_p]),
    "snats_kv_bucket_bind_async": (c_status, [c_handle, c_char_p, KV_BUCKET_HANDLER, c_void_p]),
    "snats_kv_bucket_delete": (c_status, [c_handle, c_char_p]),
    "snats_kv_bucket_names": (c_status, [POINTER(c_json), c_handle]),
    "snats_kv_destroy": (None, [c_handle]),
    "snats_kv_status": (c_status, [POINTER(c_json), c_handle]),
    "snats_kv_put": (c_status, [POINTER(c_uint64), c_handle, c_char_p, c_void_p, c_size_t]),
    "snats_kv_create": (c_status, [POINTER(c_uint64), c_handle, c_char_p, c_void_p, c_size_t]),
    "snats_kv_update": (c_status, [POINTER(c_uint64), c_handle, c_char_p, c_void_p, c_size_t, c_uint64]),
    "snats_kv_get": (c_status, [c_handle_p, c_handle, c_char_p, c_uint64]),
    "snats_kv_delete": (c_status, [c_handle, c_char_p, c_uint64]),
    "snats_kv_purge": (c_status, [c_handle, c_char_p, c_uint64]),
    "snats_kv_keys": (c_status, [POINTER(c_json), c_handle, c_char_p]),
    "snats_kv_history": (c_status, [POINTER(POINTER(c_void_p)), POINTER(c_int), c_handle, c_char_p]),
    "snats_kv_entries_destroy": (None, [POINTER(c_void_p), c_int]),
    "snats_kv_put_async": (c_status, [c_handle, c_char_p, c_void_p, c_size_t, KV_REVISION_HANDLER, c_void_p]),
    "snats_kv_create_async": (c_status, [c_handle, c_char_p, c_void_p, c_size_t, KV_REVISION_HANDLER, c_void_p]),
    "snats_kv_update_async": (c_status, [c_handle, c_char_p, c_void_p, c_size_t, c_uint64, KV_REVISION_HANDLER,
                                         c_void_p]),
    "snats_kv_delete_async": (c_status, [c_handle, c_char_p, c_uint64, c_bool, KV_REVISION_HANDLER, c_void_p]),
    "snats_kv_get_async": (c_status, [c_handle, c_char_p, c_uint64, KV_ENTRY_HANDLER, c_void_p]),
    "snats_kv_status_async": (c_status, [c_handle, JSON_HANDLER, c_void_p]),
    "snats_kv_keys_async": (c_status, [c_handle, c_char_p, JSON_HANDLER, c_void_p]),
    "snats_kv_history_async": (c_status, [c_handle, c_char_p, KV_ENTRIES_HANDLER, c_void_p]),
    "snats_kv_entry_bucket": (c_char_p, [c_handle]),
    "snats_kv_entry_key": (c_char_p, [c_handle]),
    "snats_kv_entry_value": (c_void_p, [c_handle]),
    "snats_kv_entry_value_len": (c_size_t, [c_handle]),
    "snats_kv_entry_revision": (c_uint64, [c_handle]),
    "snats_kv_entry_delta": (c_uint64, [c_handle]),
    "snats_kv_entry_created": (c_int64, [c_handle]),
    "snats_kv_entry_operation": (c_int, [c_handle]),
    "snats_kv_entry_destroy": (None, [c_handle]),
    "snats_kv_watch": (c_status, [c_handle_p, c_handle, c_char_p, c_json, KV_WATCH_HANDLER, c_void_p]),
    "snats_kv_watch_async": (c_status, [c_handle, c_char_p, c_json, KV_WATCH_HANDLER, KV_WATCH_STARTED_HANDLER,
                                        c_void_p]),
    "snats_kv_watcher_next": (c_status, [c_handle_p, c_handle, c_int64]),
    "snats_kv_watcher_stop": (c_status, [c_handle]),
    "snats_kv_watcher_destroy": (None, [c_handle]),
    # Object Store
    "snats_obj_bucket_create": (c_status, [c_handle_p, c_handle, c_char_p, c_json]),
    "snats_obj_bucket_bind": (c_status, [c_handle_p, c_handle, c_char_p]),
    "snats_obj_bucket_delete": (c_status, [c_handle, c_char_p]),
    "snats_obj_bucket_names": (c_status, [POINTER(c_json), c_handle]),
    "snats_obj_destroy": (None, [c_handle]),
    "snats_obj_status": (c_status, [POINTER(c_json), c_handle]),
    "snats_obj_put": (c_status, [POINTER(c_json), c_handle, c_json, OBJ_READER, c_void_p]),
    "snats_obj_put_bytes": (c_status, [POINTER(c_json), c_handle, c_char_p, c_void_p, c_size_t]),
    "snats_obj_put_fd": (c_status, [POINTER(c_json), c_handle, c_json, c_int]),
    "snats_obj_put_file": (c_status, [POINTER(c_json), c_handle, c_json, c_char_p]),
    "snats_obj_get": (c_status, [POINTER(c_json), c_handle, c_char_p, OBJ_WRITER, c_void_p]),
    "snats_obj_get_bytes": (c_status, [POINTER(c_json), POINTER(c_void_p), POINTER(c_size_t), c_handle, c_char_p]),
    "snats_obj_get_fd": (c_status, [POINTER(c_json), c_handle, c_char_p, c_int]),
    "snats_obj_get_file": (c_status, [POINTER(c_json), c_handle, c_char_p, c_char_p]),
    "snats_obj_info": (c_status, [POINTER(c_json), c_handle, c_char_p, c_bool]),
    "snats_obj_delete": (c_status, [c_handle, c_char_p]),
    "snats_obj_list": (c_status, [POINTER(c_json), c_handle, c_bool]),
    "snats_obj_add_link": (c_status, [POINTER(c_json), c_handle, c_char_p, c_json]),
    "snats_obj_add_bucket_link": (c_status, [POINTER(c_json), c_handle, c_char_p, c_char_p]),
    "snats_obj_watch": (c_status, [c_handle_p, c_handle, c_json, OBJ_WATCH_HANDLER, c_void_p]),
    "snats_obj_watcher_next": (c_status, [POINTER(c_json), c_handle, c_int64]),
    "snats_obj_watcher_stop": (c_status, [c_handle]),
    "snats_obj_watcher_destroy": (None, [c_handle]),
    "snats_obj_bucket_create_async": (c_status, [c_handle, c_char_p, c_json, OBJ_BUCKET_HANDLER, c_void_p]),
    "snats_obj_bucket_bind_async": (c_status, [c_handle, c_char_p, OBJ_BUCKET_HANDLER, c_void_p]),
    "snats_obj_status_async": (c_status, [c_handle, JSON_HANDLER, c_void_p]),
    "snats_obj_info_async": (c_status, [c_handle, c_char_p, c_bool, JSON_HANDLER, c_void_p]),
    "snats_obj_delete_async": (c_status, [c_handle, c_char_p, JSON_HANDLER, c_void_p]),
    "snats_obj_list_async": (c_status, [c_handle, c_bool, JSON_HANDLER, c_void_p]),
    "snats_obj_add_link_async": (c_status, [c_handle, c_char_p, c_json, JSON_HANDLER, c_void_p]),
    "snats_obj_add_bucket_link_async": (c_status, [c_handle, c_char_p, c_char_p, JSON_HANDLER, c_void_p]),
    "snats_obj_put_async": (c_status, [c_handle, c_json, OBJ_READER, JSON_HANDLER, c_void_p]),
    "snats_obj_get_async": (c_status, [c_handle, c_char_p, OBJ_WRITER, JSON_HANDLER, c_void_p]),
    "snats_obj_watch_async": (c_status, [c_handle, c_json, OBJ_WATCH_HANDLER, OBJ_WATCH_STARTED_HANDLER, c_void_p]),
}


def _declare(dll: ctypes.CDLL) -> None:
    missing = [name for name in SIGNATURES if not hasattr(dll, name)]
    if missing:
        raise LibraryNotFoundError(
            f"{getattr(dll, '_name', dll)} lacks {', '.join(missing)}: "
            "the library is older than these bindings"
        )
    for name, (restype, argtypes) in SIGNATURES.items():
        fn = getattr(dll, name)
        fn.restype = restype
        fn.argtypes = list(argtypes)


lib, library_path = _load()
_declare(lib)


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
    v = lib.snats_version()
    return v.decode() if v else ""

