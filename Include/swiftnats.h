/**
 * @file swiftnats.h
 * @brief swiftnats: a NATS client with RPC and micro-services, as a C library.
 *
 * Conventions, true of every function below unless its comment says otherwise:
 *  - Fallible functions return ::snats_status; ::SNATS_OK is 0. On failure,
 *    snats_last_error() has a message for the calling thread.
 *  - Out-parameters come first (a caller's buffer with its capacity among them). On failure
 *    an out-pointer is set to NULL (or 0).
 *  - Ownership words: *owned* (the caller releases it with the named function),
 *    *borrowed* (valid only as long as stated), *copied* (the library copies it; the caller
 *    may free it on return).
 *  - `json_t *` arguments are borrowed (the library takes its own reference when it keeps
 *    one); `json_t **` outputs are new references, released with json_decref() or
 *    snats_json_decref().
 *  - Timeouts are int64_t milliseconds and must be greater than 0. Payloads are
 *    `const void *data, size_t len`; data may be NULL when len is 0.
 *  - A NULL handle or other bad argument returns ::SNATS_INVALID_ARG (or a more precise
 *    status); the library never aborts on a caller's mistake. `*_destroy(NULL)` is a no-op.
 *  - Every function is thread-safe. Callbacks run on the library's delivery pool (or a
 *    subscription's dedicated thread), or on your own thread when you dispatch a dispatch
 *    queue (see \ref deliveryGroup); never on the library's network thread. A callback may
 *    call any function of this header, blocking ones included, without deadlock (on a
 *    dispatch queue, as long as the work it waits for is dispatched: see \ref deliveryGroup).
 */
#ifndef SWIFTNATS_H
#define SWIFTNATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/** \defgroup libGroup Library: version, statuses, errors, JSON helpers
 *  Nothing to initialise: the library starts its network thread on the first connect, and
 *  delivery pool threads when callbacks first need them. The documents this header names
 *  (docs/RPC.md, docs/JETSTREAM.md, ...) and the C and C++ examples are installed under
 *  `<prefix>/share/doc/swiftnats`. From C++17, `swiftnats.hpp` wraps this API in RAII handles
 *  that take any callable.
 *
 *  Callbacks and their closures, everywhere: the library never reads, writes or frees a
 *  `closure`; it hands it to the callback given with it. The closure must stay valid as long as
 *  that callback can run: for a one-shot completion (an `_async` call, a `_cb` gathering) until
 *  it has run, which it does exactly once when the call returned SNATS_OK and never otherwise;
 *  for the callbacks of a handle (a subscription's, a connection's options', a service's,
 *  a watcher's) until that handle's destroy function has returned and its last callback has
 *  returned: the destroy functions wait for a callback running on another thread, except where
 *  they say otherwise (snats_sub_destroy() on a callback thread of its connection,
 *  snats_service_destroy() once its 30 s wait is over). Functions returning ::snats_status mark their result
 *  `SNATS_NODISCARD`: a status left unread is a warning (define `SNATS_NO_NODISCARD` before
 *  including the header to turn the mark off).
 *  @{ */

#define SNATS_VERSION_MAJOR 0
#define SNATS_VERSION_MINOR 2
#define SNATS_VERSION_PATCH 0

/** Marks a function whose ::snats_status must be read (GCC and Clang warn when it is not).
 *  Define `SNATS_NO_NODISCARD` before including the header to turn the mark off. */
#if defined(SNATS_NO_NODISCARD) || !(defined(__GNUC__) || defined(__clang__))
#define SNATS_NODISCARD
#else
#define SNATS_NODISCARD __attribute__((warn_unused_result))
#endif

/** Outcome of a call. Values are stable; new ones are only ever appended. */
typedef enum {
    SNATS_OK = 0,                   /**< Success. */
    SNATS_ERR = 1,                  /**< Failure with no more precise status. */
    SNATS_INVALID_ARG = 2,          /**< NULL handle, bad value, malformed URL... */
    SNATS_INVALID_SUBJECT = 3,      /**< Empty token, whitespace, or a wildcard where none may be. */
    SNATS_TIMEOUT = 4,              /**< The wait ended before the event. */
    SNATS_NO_RESPONDERS = 5,        /**< The server reported no subscriber for a request. */
    SNATS_MAX_PAYLOAD = 6,          /**< Headers + payload exceed the server's max_payload. */
    SNATS_CONNECTION_CLOSED = 7,    /**< The connection is closed, or closed during the call. */
    SNATS_NOT_CONNECTED = 8,        /**< The connection is not (yet, or any longer) connected. */
    SNATS_NO_SERVER = 9,            /**< No server of the list could be reached. */
    SNATS_IO_ERROR = 10,            /**< A socket error. */
    SNATS_PROTOCOL_ERROR = 11,      /**< The server sent something the protocol does not allow. */
    SNATS_STALE_CONNECTION = 12,    /**< The server stopped answering PINGs. */
    SNATS_SLOW_CONSUMER = 13,       /**< A subscription's pending limit was hit; messages dropped. */
    SNATS_PERMISSION_VIOLATION = 14,/**< The server refused a publish or subscribe. */
    SNATS_AUTH_FAILED = 15,         /**< The server refused the credentials. */
    SNATS_INVALID_SUBSCRIPTION = 16,/**< The subscription is closed. */
    SNATS_DRAINING = 17,            /**< The connection or subscription is draining. */
    SNATS_ILLEGAL_STATE = 18,       /**< The call does not fit the object's kind or state. */
    SNATS_MAX_DELIVERED = 19,       /**< The subscription delivered its auto-unsubscribe count. */
    SNATS_SERVER_ERROR = 20,        /**< The server sent -ERR. */
    SNATS_INVALID_JSON = 21,        /**< Text that is not the JSON expected. */
    SNATS_NOT_FOUND = 22,           /**< No such key or item. */
    SNATS_BUFFER_TOO_SMALL = 23,    /**< A caller's buffer cannot hold the result. */
    SNATS_RECONNECT_BUFFER_FULL = 24,/**< Reconnecting, and the reconnect buffer is full. */
    SNATS_TLS_ERROR = 25,           /**< TLS failed: certificate files, handshake, verification. */
    SNATS_RPC_ERROR = 26,           /**< A remote procedure answered with an error object. */
    SNATS_PUBLISH_REFUSED = 27,     /**< Publishes buffered while reconnecting were larger than the
                                         new server's max_payload: not sent (the others were). */
    SNATS_CALL_LOST = 28,           /**< An RPC call's server went silent: neither its answer nor
                                         a liveness frame came within two heartbeat intervals
                                         (the server died or lost its link; docs/RPC.md "Liveness"). */
    SNATS_JS_API_ERROR = 29,        /**< The JetStream API answered with an error:
                                         snats_js_last_api_error() gives its codes. */
    SNATS_JS_NOT_ENABLED = 30,      /**< Nobody answers the JetStream API: the server (or the
                                         account, or the domain) has no JetStream. */
    SNATS_MISSED_HEARTBEAT = 31     /**< A consumer's idle heartbeats stopped: its server went away. */
} snats_status;

/**
 * @brief Returns the library version, "MAJOR.MINOR.PATCH".
 * @return A static string. Blocks: no. Threads: any.
 */
const char *snats_version(void);

/**
 * @brief Names a status, e.g. "SNATS_TIMEOUT: timeout".
 * @param status Any value; unknown values give "unknown status".
 * @return A static string. Blocks: no. Threads: any.
 */
const char *snats_status_text(snats_status status);

/**
 * @brief Returns the calling thread's message for its last failed call.
 * @return Borrowed: owned by the library and valid until the next call that fails on this
 *         thread; "" when no call has failed on it. Each thread has its own, so one thread's
 *         failure never overwrites another's message. Credentials never appear in it.
 * Blocks: no. Threads: any.
 */
const char *snats_last_error(void);

/**
 * @brief Releases a reference to a JSON value (json_decref() for callers, such as ctypes,
 *        that cannot call Jansson's inline functions).
 * @param json Taken: one reference is released; NULL is a no-op.
 * Blocks: no. Threads: as Jansson's (a value may be shared for reading).
 */
void snats_json_decref(json_t *json);

/**
 * @brief Adds a reference to a JSON value.
 * @param json Borrowed; NULL is allowed.
 * @return @p json, with one more reference (the caller owns it).
 * Blocks: no. Threads: as Jansson's.
 */
json_t *snats_json_incref(json_t *json);

/**
 * @brief Parses JSON text (any value, not only objects or arrays), strictly (RFC 8259): valid
 *        UTF-8, no U+0000, integers within int64, at most 2048 levels of nesting, nothing
 *        after the value but whitespace. The same parser reads every JSON body the library
 *        receives (RPC requests and replies, micro documents).
 * @param[out] json On SNATS_OK a new reference; else NULL.
 * @param text      Borrowed, NUL-terminated UTF-8.
 * @retval SNATS_OK           parsed.
 * @retval SNATS_INVALID_JSON not JSON; snats_last_error() says why, with line and column.
 * @retval SNATS_INVALID_ARG  @p json or @p text is NULL.
 * Blocks: no. Threads: any.
 */
snats_status snats_json_loads(json_t **json, const char *text) SNATS_NODISCARD;

/**
 * @brief Serialises JSON compactly, keys in insertion order, reals in the shortest form that
 *        reads back the same.
 * @param[out] text On SNATS_OK an owned NUL-terminated string, freed with snats_free(); else NULL.
 * @param json      Borrowed.
 * @retval SNATS_OK           serialised.
 * @retval SNATS_INVALID_JSON a string is not UTF-8 (json_string_nocheck()), or the value contains
 *         itself (or nests deeper than 2048 levels).
 * @retval SNATS_INVALID_ARG  a NULL argument.
 * Blocks: no. Threads: as Jansson's.
 */
snats_status snats_json_dumps(char **text, const json_t *json) SNATS_NODISCARD;

/**
 * @brief Frees memory the library returned as owned (snats_json_dumps()).
 * @param pointer Taken; NULL is a no-op.
 * Blocks: no. Threads: any.
 */
void snats_free(void *pointer);

/** @} */

/** \defgroup optsGroup Options
 *  Lifecycle: snats_options_create(), any snats_options_set_*(), snats_conn_connect(), which
 *  copies them, then snats_options_destroy() (at any time after the connect returns).
 *  Defaults follow nats.c: server nats://127.0.0.1:4222, connect timeout 2 s, ping every
 *  2 min with 2 outstanding allowed, echo on, inbox prefix "_INBOX", 65536 messages /
 *  64 MiB pending per subscription; reconnect on, 60 attempts per server, 2 s wait after each
 *  pass through the server list plus up to 100 ms jitter (1 s for tls:// servers), an 8 MiB
 *  reconnect buffer, the server list shuffled, servers announced by the cluster added.
 *  Every setter returns SNATS_OK, or SNATS_INVALID_ARG when @p opts is NULL or a value is
 *  out of range (stated per setter); Blocks: no; Threads: any, but one options object must not
 *  be changed from two threads at once.
 *  @{ */

typedef struct snats_options snats_options;
typedef struct snats_conn snats_conn;
typedef struct snats_sub snats_sub;
typedef struct snats_msg snats_msg;
typedef struct snats_headers snats_headers;
typedef struct snats_dispatch_queue snats_dispatch_queue;

/**
 * @brief Called for connection events (closed, disconnected, reconnected, discovered
 *        servers, lame-duck mode).
 * @param conn    Borrowed: the handle the application holds; valid during the call.
 * @param closure The pointer given with the callback, untouched.
 * Threads: as a connection event, one event at a time, in order: on the delivery pool (the
 * connection's own pool if it has one), or in snats_dispatch_queue_dispatch() of the
 * connection's dispatch queue (snats_options_set_dispatch_queue()). The closed callback runs
 * once, before snats_conn_close() returns, except when close was called from a callback of
 * the same connection (it runs soon after) and on a connection bound to a dispatch queue (it
 * runs at a later dispatch of that queue: keep dispatching until it has run before
 * snats_conn_destroy()). Any function may be called inside, except snats_conn_destroy() of
 * @p conn.
 */
typedef void (*snats_conn_handler)(snats_conn *conn, void *closure);

/**
 * @brief Called for asynchronous errors: SNATS_SLOW_CONSUMER (once per episode of a
 *        subscription), SNATS_PERMISSION_VIOLATION, SNATS_SERVER_ERROR, SNATS_AUTH_FAILED.
 * @param conn    Borrowed, valid during the call.
 * @param sub     Borrowed, the subscription concerned, or NULL.
 * @param status  What happened.
 * @param text    Borrowed, valid during the call: the detail (e.g. the server's -ERR text).
 * @param closure The pointer given with the callback, untouched.
 * Threads: as ::snats_conn_handler: a connection event (the delivery pool or the connection's
 * dispatch queue), in order with the other connection events.
 */
typedef void (*snats_error_handler)(snats_conn *conn, snats_sub *sub, snats_status status,
                                    const char *text, void *closure);

/**
 * @brief Called on the reconnect thread before each new pass through the server list,
 *        instead of waiting reconnect wait + jitter.
 * @param conn     Borrowed, valid during the call.
 * @param attempts Which pause this is (1, 2, ...): one per pass through the server list. With
 *                 a single server the first pause comes before the first attempt.
 * @param closure  The pointer given with the callback, untouched.
 * @return How long to wait, in milliseconds (negative counts as 0). snats_conn_close() ends
 *         the wait early.
 * Threads: the connection's reconnect thread. It may call snats_conn_close() (which ends the
 * reconnecting) and any function of other connections; it must not wait on @p conn
 * (flush, request: only this thread can bring it back) nor destroy it.
 */
typedef int64_t (*snats_reconnect_delay_handler)(snats_conn *conn, int attempts, void *closure);

/**
 * @brief Called at each handshake (reconnects included) for the user JWT, when the
 *        application keeps its credentials itself (see snats_options_set_user_credentials_callbacks()).
 * @param[out] jwt  Set to a NUL-terminated JWT allocated with malloc(); the library frees it.
 * @param closure   The pointer given with the callback, untouched.
 * @return SNATS_OK, or any other status to fail the handshake (SNATS_AUTH_FAILED reported).
 * Threads: the connecting thread (the caller of snats_conn_connect(), or the reconnect
 * thread), never the network thread. It must not call functions of the connection being made.
 */
typedef snats_status (*snats_user_jwt_handler)(char **jwt, void *closure);

/**
 * @brief Called at each handshake to sign the server's nonce with the user's nkey (Ed25519).
 * @param[out] signature 64 bytes to fill with the Ed25519 signature of @p nonce.
 * @param nonce   Borrowed, valid during the call: the nonce text, NUL-terminated.
 * @param closure The pointer given with the callback, untouched.
 * @return SNATS_OK, or any other status to fail the handshake.
 * Threads: as ::snats_user_jwt_handler.
 */
typedef snats_status (*snats_signature_handler)(unsigned char signature[64], const char *nonce, void *closure);

/**
 * @brief Creates options with the defaults above.
 * @param[out] opts On SNATS_OK owned (snats_options_destroy()); else NULL.
 * @retval SNATS_OK created. @retval SNATS_INVALID_ARG @p opts is NULL.
 * Blocks: no. Threads: any.
 */
snats_status snats_options_create(snats_options **opts) SNATS_NODISCARD;

/** @brief Destroys options. @param opts Taken; NULL is a no-op. Blocks: no. Threads: any. */
void snats_options_destroy(snats_options *opts);

/**
 * @brief Sets the servers from a comma-separated list of URLs:
 *        `nats://[user[:password]@]host[:port]`, a bare `host[:port]`, or `[ipv6]:port`.
 * @param opts Borrowed. @param urls Copied.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL argument, empty list, bad scheme or port.
 */
snats_status snats_options_set_url(snats_options *opts, const char *urls) SNATS_NODISCARD;

/**
 * @brief Sets the servers from an array of URLs. They are shuffled unless
 *        snats_options_set_no_randomize() says otherwise; the first connect tries each once.
 * @param opts Borrowed. @param urls Copied: @p count NUL-terminated URLs. @param count > 0.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL argument, count <= 0, or a bad URL.
 */
snats_status snats_options_set_servers(snats_options *opts, const char *const *urls, int count) SNATS_NODISCARD;

/** @brief Sets the client name sent in CONNECT. @param opts Borrowed. @param name Copied; NULL clears it.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_name(snats_options *opts, const char *name) SNATS_NODISCARD;

/** @brief Sets how long connecting to one server (TCP and handshake) may take.
 *  @param opts Borrowed. @param timeout_ms > 0.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or timeout_ms <= 0. */
snats_status snats_options_set_connect_timeout(snats_options *opts, int64_t timeout_ms) SNATS_NODISCARD;

/** @brief Sets the keep-alive PING interval. @param opts Borrowed. @param interval_ms > 0.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or interval_ms <= 0. */
snats_status snats_options_set_ping_interval(snats_options *opts, int64_t interval_ms) SNATS_NODISCARD;

/** @brief Sets how many keep-alive PINGs may go unanswered before the connection is stale
 *  (closed with SNATS_STALE_CONNECTION). @param opts Borrowed. @param max_pings_out >= 1.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or max_pings_out < 1. */
snats_status snats_options_set_max_pings_out(snats_options *opts, int max_pings_out) SNATS_NODISCARD;

/** @brief With @p no_echo true, the server does not deliver this connection's own publishes
 *  to its own subscriptions. @param opts Borrowed.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_no_echo(snats_options *opts, bool no_echo) SNATS_NODISCARD;

/** @brief With @p send_asap true, publishes and protocol messages (SUB, PING, ...) are written
 *  to the socket on the calling thread when it is idle, as nats.c's natsOptions_SetSendAsap()
 *  does, instead of the library's event-loop thread coalescing them (default false). Lower
 *  latency for an application that publishes rarely, answers requests, or batches its own
 *  publishes (snats_publish_packed()); a loop of single publishes then costs a system call
 *  each. Requests and snats_msg_respond() are written at once either way. TLS connections
 *  always write on the event-loop thread.
 *  @param opts Borrowed. @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL.
 *  Blocks: no. Threads: any. */
snats_status snats_options_set_send_asap(snats_options *opts, bool send_asap) SNATS_NODISCARD;

/** @brief Asks the server to acknowledge every op with +OK. @param opts Borrowed.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_verbose(snats_options *opts, bool verbose) SNATS_NODISCARD;

/** @brief Asks the server for strict protocol checks. @param opts Borrowed.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_pedantic(snats_options *opts, bool pedantic) SNATS_NODISCARD;

/** @brief Sets the prefix of reply inboxes ("_INBOX" by default).
 *  @param opts Borrowed. @param prefix Copied; a subject without wildcards.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL argument or invalid subject. */
snats_status snats_options_set_inbox_prefix(snats_options *opts, const char *prefix) SNATS_NODISCARD;

/** @brief Sets the default pending limits of new subscriptions; 0 means unlimited.
 *  @param opts Borrowed. @param max_msgs >= 0. @param max_bytes >= 0.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or a negative limit. */
snats_status snats_options_set_pending_limits(snats_options *opts, int max_msgs, int64_t max_bytes) SNATS_NODISCARD;

/** @brief Sets user and password for CONNECT (a URL's own user info takes precedence).
 *  @param opts Borrowed. @param user Copied; NULL clears both. @param password Copied; may be NULL.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_user_info(snats_options *opts, const char *user, const char *password) SNATS_NODISCARD;

/** @brief Sets the authentication token for CONNECT. @param opts Borrowed.
 *  @param token Copied; NULL clears it.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_token(snats_options *opts, const char *token) SNATS_NODISCARD;

/** @brief Sets the callback run once when the connection is closed (by the application or
 *  the server). @param opts Borrowed. @param cb NULL clears it. @param closure Passed to @p cb.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_closed_cb(snats_options *opts, snats_conn_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Sets the callback run each time the link to the server is lost (reconnecting starts at
 *  the same moment, so it may already have succeeded; the reconnected callback always comes
 *  after), or before the closed callback when reconnect is off. Not run by snats_conn_close().
 *  @param opts Borrowed. @param cb NULL clears it. @param closure Passed to @p cb.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_disconnected_cb(snats_options *opts, snats_conn_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Sets the callback run after a reconnect: subscriptions are restored and the
 *  reconnect buffer is on its way. @param opts Borrowed. @param cb NULL clears it.
 *  @param closure Passed to @p cb. @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_reconnected_cb(snats_options *opts, snats_conn_handler cb, void *closure) SNATS_NODISCARD;

/** @brief With @p retry true, a connect that reaches no server returns SNATS_OK anyway with a
 *  connection in state SNATS_CONN_RECONNECTING, which goes on trying in the background as
 *  after a lost link (reconnect wait, jitter, max reconnect attempts; giving up closes it, with
 *  the closed callback): subscribe and publish at once, they wait for the server (publishes in
 *  the reconnect buffer); snats_conn_wait_connected() waits for it. nats.c's
 *  natsOptions_SetRetryOnFailedConnect(). Needs reconnect allowed; credentials the server
 *  refuses still fail the connect at once.
 *  @param opts Borrowed. @param retry false: a connect that reaches no server fails (the default).
 *  @param connected_cb Run once when a connection retrying in the background reaches a server
 *  (not when the connect succeeds at once); NULL for none. @param closure Passed to it.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_retry_on_failed_connect(snats_options *opts, bool retry, snats_conn_handler connected_cb,
                                                       void *closure) SNATS_NODISCARD;

/** @brief Sets the callback run when the cluster announces servers (INFO connect_urls) that
 *  were not in the pool; read them with snats_conn_get_discovered_servers().
 *  @param opts Borrowed. @param cb NULL clears it. @param closure Passed to @p cb.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_discovered_servers_cb(snats_options *opts, snats_conn_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Sets the callback run when the server enters lame-duck mode (it is about to shut
 *  down). With reconnect on, the client then moves to another server at once.
 *  @param opts Borrowed. @param cb NULL clears it. @param closure Passed to @p cb.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_lame_duck_cb(snats_options *opts, snats_conn_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Turns reconnecting on (the default) or off. Off, losing the server closes the
 *  connection (disconnected, then closed callback).
 *  @param opts Borrowed. @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_allow_reconnect(snats_options *opts, bool allow) SNATS_NODISCARD;

/** @brief Sets how many failed reconnect attempts a server may have before it leaves the pool;
 *  once the pool is empty the connection closes (closed callback). A server tried less than
 *  the reconnect wait ago is tried again only when that wait is over.
 *  @param opts Borrowed. @param attempts -1 (forever) or more; default 60.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or attempts < -1. */
snats_status snats_options_set_max_reconnect(snats_options *opts, int attempts) SNATS_NODISCARD;

/** @brief Sets the pause after each pass through the server list while reconnecting.
 *  @param opts Borrowed. @param wait_ms >= 0; default 2000.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or wait_ms < 0. */
snats_status snats_options_set_reconnect_wait(snats_options *opts, int64_t wait_ms) SNATS_NODISCARD;

/** @brief Sets the random extra pause (0..jitter) added to the reconnect wait, for plain and
 *  for tls:// servers, so that many clients do not all return at once.
 *  @param opts Borrowed. @param jitter_ms >= 0; default 100. @param jitter_tls_ms >= 0; default 1000.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or a negative value. */
snats_status snats_options_set_reconnect_jitter(snats_options *opts, int64_t jitter_ms, int64_t jitter_tls_ms) SNATS_NODISCARD;

/** @brief Sets a callback that decides the pause between passes instead of wait + jitter.
 *  @param opts Borrowed. @param cb NULL clears it. @param closure Passed to @p cb.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_custom_reconnect_delay(snats_options *opts, snats_reconnect_delay_handler cb,
                                                      void *closure) SNATS_NODISCARD;

/** @brief Sets the reconnect buffer: publishes made while reconnecting wait in it and are sent,
 *  in order, after the subscriptions once connected again. When the next publish would not
 *  fit it fails with SNATS_RECONNECT_BUFFER_FULL (nothing blocks, nothing grows). 0 disables
 *  it: publishing while reconnecting then fails with SNATS_NOT_CONNECTED.
 *  @param opts Borrowed. @param bytes 0 to 2^31-1; default 8 MiB.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or out of range. */
snats_status snats_options_set_reconnect_buffer_size(snats_options *opts, int64_t bytes) SNATS_NODISCARD;

/** @brief With @p no_randomize true the server list is used in the given order.
 *  @param opts Borrowed. @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_no_randomize(snats_options *opts, bool no_randomize) SNATS_NODISCARD;

/** @brief With @p ignore true the servers a cluster announces are not added to the pool.
 *  @param opts Borrowed. @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_ignore_discovered_servers(snats_options *opts, bool ignore) SNATS_NODISCARD;

/*
 * TLS. A connection uses TLS for tls:// URLs, when snats_options_set_secure() or any TLS file
 * is set, and whenever the server's INFO says tls_required; the upgrade happens after INFO
 * (or before it, with snats_options_set_tls_handshake_first()). The server's certificate is
 * verified against the system's CAs (or the CA file), hostname included, unless told
 * otherwise. Files are read when connecting: a missing or malformed file, a failed
 * handshake and a rejected certificate make snats_conn_connect() return SNATS_TLS_ERROR.
 */

/** @brief Requires TLS even for nats:// URLs (a server that offers none is an error).
 *  @param opts Borrowed. @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_secure(snats_options *opts, bool secure) SNATS_NODISCARD;

/** @brief Trusts the certificate authorities of a PEM file instead of the system's.
 *  @param opts Borrowed. @param path Copied; NULL returns to the system's.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_tls_ca_file(snats_options *opts, const char *path) SNATS_NODISCARD;

/** @brief Presents a client certificate (PEM chain and PEM private key) to servers that ask.
 *  @param opts Borrowed. @param cert_path Copied. @param key_path Copied; both NULL to clear.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL, or only one path given. */
snats_status snats_options_set_tls_client_cert(snats_options *opts, const char *cert_path, const char *key_path) SNATS_NODISCARD;

/** @brief Sets the name expected in the server's certificate (and sent as SNI) instead of the
 *  URL's host. @param opts Borrowed. @param hostname Copied; NULL uses the URL's host.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_tls_hostname(snats_options *opts, const char *hostname) SNATS_NODISCARD;

/** @brief Turns the check of the certificate's host name off (the chain is still verified).
 *  @param opts Borrowed. @param verify Default true.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_tls_verify_hostname(snats_options *opts, bool verify) SNATS_NODISCARD;

/** @brief Accepts any server certificate. For tests only: it defeats the point of TLS.
 *  @param opts Borrowed. @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_tls_skip_verify(snats_options *opts, bool skip) SNATS_NODISCARD;

/** @brief Starts TLS right after TCP connects, before INFO, for servers configured with
 *  handshake_first (nats-server 2.10.3 and later). @param opts Borrowed.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_tls_handshake_first(snats_options *opts, bool first) SNATS_NODISCARD;

/*
 * Authentication. User and password (options or URL), a token (options, or `nats://TOKEN@host`),
 * an nkey seed (signs the server's nonce), a .creds file (user JWT + seed), or handlers for
 * keys kept elsewhere. A signed nonce goes with user/password when both are set; a server
 * that refuses makes snats_conn_connect() return SNATS_AUTH_FAILED with its message, and a
 * refusal while reconnecting reaches the error callback. No credential appears in any string
 * the library produces (URLs, errors, snats_last_error()). Seeds read from files and decoded
 * keys are zeroed once the nonce is signed.
 */

/** @brief Authenticates with an nkey seed held in memory (`SU...`): its public key goes in
 *  CONNECT and it signs the server's nonce. @param opts Borrowed. @param seed Copied (zeroed when
 *  neither the options nor a connection made from them need it any more); NULL clears it. Not
 *  checked until connect (SNATS_INVALID_ARG then).
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_nkey_seed(snats_options *opts, const char *seed) SNATS_NODISCARD;

/** @brief As snats_options_set_nkey_seed(), reading the seed from a file at each handshake.
 *  @param opts Borrowed. @param path Copied; NULL clears it.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_nkey_seed_file(snats_options *opts, const char *path) SNATS_NODISCARD;

/** @brief Authenticates with a .creds file (user JWT and nkey seed, as `nsc` writes them), read
 *  at each handshake. @param opts Borrowed. @param path Copied; NULL clears it.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_credentials_file(snats_options *opts, const char *path) SNATS_NODISCARD;

/** @brief Authenticates with a user JWT and nonce signatures from the application's handlers.
 *  @param opts Borrowed. @param jwt_cb With @p sig_cb, or both NULL to clear. @param sig_cb
 *  With @p jwt_cb. @param jwt_closure Passed to @p jwt_cb. @param sig_closure Passed to @p sig_cb.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL, or only one handler given. */
snats_status snats_options_set_user_credentials_callbacks(snats_options *opts, snats_user_jwt_handler jwt_cb,
                                                          void *jwt_closure, snats_signature_handler sig_cb,
                                                          void *sig_closure) SNATS_NODISCARD;

/** @brief Authenticates as nkey user @p public_key, the application signing the nonce.
 *  @param opts Borrowed. @param public_key Copied (`U...`). @param sig_cb Both NULL to clear.
 *  @param closure Passed to @p sig_cb.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL, or only one of the two given. */
snats_status snats_options_set_nkey(snats_options *opts, const char *public_key, snats_signature_handler sig_cb,
                                    void *closure) SNATS_NODISCARD;

/** @brief Sets the asynchronous error callback. @param opts Borrowed. @param cb NULL clears it.
 *  @param closure Passed to @p cb.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p opts is NULL. */
snats_status snats_options_set_error_cb(snats_options *opts, snats_error_handler cb, void *closure) SNATS_NODISCARD;

/** @} */

/** \defgroup connGroup Connection
 *  Lifecycle: snats_conn_connect() (or snats_conn_connect_to()), publish / subscribe /
 *  request / flush from any thread, then snats_conn_close() or snats_conn_drain(), and
 *  snats_conn_destroy(), which closes first if needed.
 *
 *  Losing the server: the state becomes SNATS_CONN_RECONNECTING and the disconnected callback
 *  runs; a library thread walks the server pool until a handshake succeeds. Meanwhile
 *  publishes go to the reconnect buffer, subscribing and unsubscribing work (the server hears
 *  of them on reconnect), flushes and requests made before the loss (or at that very moment)
 *  fail with SNATS_NOT_CONNECTED while new ones wait for the next server within their
 *  timeout, and drains fail with SNATS_NOT_CONNECTED. On reconnect every subscription is sent again with its queue group and
 *  the rest of its auto-unsubscribe count, then the buffer, then the reconnected callback runs.
 *  Bytes that were queued for the dead socket are lost (at most once, as in every NATS client).
 *  @{ */

/** Where a connection is in its life. */
typedef enum {
    SNATS_CONN_DISCONNECTED = 0,
    SNATS_CONN_CONNECTING = 1,
    SNATS_CONN_CONNECTED = 2,
    SNATS_CONN_RECONNECTING = 3,
    SNATS_CONN_DRAINING = 4,
    SNATS_CONN_CLOSED = 5
} snats_conn_state;

/**
 * @brief Connects to the first reachable server of @p opts and completes the handshake
 *        (INFO, CONNECT with headers and no_responders, PING/PONG).
 * @param[out] conn On SNATS_OK owned (snats_conn_destroy()); else NULL.
 * @param opts      Borrowed and copied; NULL uses the defaults.
 * @retval SNATS_OK            connected.
 * @retval SNATS_NO_SERVER     no server of the list answered in time.
 * @retval SNATS_TIMEOUT       a server accepted TCP but not the handshake in time.
 * @retval SNATS_AUTH_FAILED   the server refused the credentials (its message in
 *                             snats_last_error()), or it cannot take the nkey/JWT scheme.
 * @retval SNATS_TLS_ERROR     TLS files, handshake or certificate verification failed.
 * @retval SNATS_SERVER_ERROR  the server answered the handshake with another -ERR.
 * @retval SNATS_PROTOCOL_ERROR the server's first bytes are not a NATS INFO.
 * @retval SNATS_INVALID_ARG   @p conn is NULL, or invalid options (a malformed nkey seed, an
 *                             unreadable credentials file, a half-given client certificate).
 * Blocks: up to the connect timeout per server. Threads: any.
 */
snats_status snats_conn_connect(snats_conn **conn, const snats_options *opts) SNATS_NODISCARD;

/**
 * @brief Connects with default options to a comma-separated list of URLs.
 * @param[out] conn On SNATS_OK owned (snats_conn_destroy()); else NULL.
 * @param urls      Borrowed; NULL means nats://127.0.0.1:4222.
 * @retval SNATS_OK, SNATS_NO_SERVER, SNATS_TIMEOUT, SNATS_AUTH_FAILED, SNATS_SERVER_ERROR,
 *         SNATS_PROTOCOL_ERROR as snats_conn_connect().
 * @retval SNATS_INVALID_ARG @p conn is NULL or a URL is malformed.
 * Blocks: as snats_conn_connect(). Threads: any.
 */
snats_status snats_conn_connect_to(snats_conn **conn, const char *urls) SNATS_NODISCARD;

/**
 * @brief Flushes buffered publishes, closes the socket, ends every subscription and fails
 *        waiting requests and flushes with SNATS_CONNECTION_CLOSED. Idempotent.
 * @param conn Borrowed; NULL is a no-op.
 * Blocks: until the socket is closed, no callback of this connection is running any more and
 * the closed callback has run, unless called from a callback of this connection (then it
 * returns without waiting for other callbacks). On a connection bound to a dispatch queue it
 * does not wait for the closed callback, which is queued there for a later dispatch. While
 * reconnecting it also waits for the reconnect thread to give up its current attempt: at most
 * the connect timeout (plus name resolution and any credential handler it is running).
 * Threads: any, including this connection's callbacks.
 */
void snats_conn_close(snats_conn *conn);

/**
 * @brief Closes (as snats_conn_close()) and frees the connection handle.
 * @param conn Taken; NULL is a no-op. Subscription handles of this connection stay valid
 *             objects (closed) until their own snats_sub_destroy().
 * Blocks: as snats_conn_close(). Threads: any, but not from this connection's own callbacks
 * (use snats_conn_close() there, and destroy afterwards from another thread). A connection
 * bound to a dispatch queue may still have events queued (the closed callback): they run at
 * the queue's next dispatch with a @p conn that stays valid memory for them, on which every
 * call fails with SNATS_CONNECTION_CLOSED (or says closed).
 */
void snats_conn_destroy(snats_conn *conn);

/**
 * @brief Drains: unsubscribes every subscription, delivers what is already queued for them,
 *        flushes publishes, then closes. Publishing is allowed during the drain.
 * @param conn       Borrowed.
 * @param timeout_ms > 0: for the whole drain.
 * @retval SNATS_OK                drained and closed.
 * @retval SNATS_TIMEOUT           not finished in time; the connection is closed anyway.
 * @retval SNATS_DRAINING          a drain is already running.
 * @retval SNATS_CONNECTION_CLOSED already closed.
 * @retval SNATS_NOT_CONNECTED     reconnecting: nothing to drain from (try again later).
 * @retval SNATS_INVALID_ARG       NULL or timeout_ms <= 0.
 * Blocks: up to @p timeout_ms. Threads: any, including callbacks of other connections.
 */
snats_status snats_conn_drain(snats_conn *conn, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Reads the connection state.
 * @param[out] state Set on SNATS_OK. @param conn Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_state(snats_conn_state *state, snats_conn *conn) SNATS_NODISCARD;

/** @brief Whether the connection is closed (true for NULL). @param conn Borrowed.
 *  Blocks: no. Threads: any. */
bool snats_conn_is_closed(snats_conn *conn);

/**
 * @brief Waits until the connection is connected to a server: at once when it is; else (a
 *        connect retrying in the background, snats_options_set_retry_on_failed_connect(), or
 *        a reconnect) until a handshake completes.
 * @param conn Borrowed. @param timeout_ms >= 0 (0: only looks).
 * @retval SNATS_OK connected (or draining). @retval SNATS_TIMEOUT not within @p timeout_ms.
 * @retval SNATS_CONNECTION_CLOSED closed before or while waiting (reconnecting gave up).
 * @retval SNATS_INVALID_ARG NULL @p conn, or timeout_ms < 0.
 * Blocks: up to @p timeout_ms. Threads: any but the connection's callbacks (a callback waiting
 * for a reconnect would hold up the events it waits for).
 */
snats_status snats_conn_wait_connected(snats_conn *conn, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Publishes @p len bytes on @p subject. Returns once the message is in the outbound
 *        buffer; writes to the socket are coalesced on the network thread.
 * @param conn    Borrowed.
 * @param subject Borrowed for the call; no wildcards.
 * @param data    Borrowed for the call (copied); NULL allowed when @p len is 0.
 * @param len     Bytes of @p data; at most the server's max_payload.
 * @retval SNATS_OK                buffered.
 * @retval SNATS_INVALID_SUBJECT   @p subject is empty, has whitespace, empty tokens or wildcards.
 * @retval SNATS_MAX_PAYLOAD       @p len exceeds max_payload.
 * @retval SNATS_CONNECTION_CLOSED the connection is closed.
 * @retval SNATS_RECONNECT_BUFFER_FULL reconnecting, and the message does not fit the
 *                                 reconnect buffer (nothing was buffered).
 * @retval SNATS_NOT_CONNECTED     reconnecting with the reconnect buffer disabled.
 * @retval SNATS_INVALID_ARG       NULL @p conn or @p subject, or NULL @p data with @p len > 0.
 * Blocks: only while 256 KiB are already waiting for the socket (until the network thread
 * has taken them); never while reconnecting.
 * Threads: any.
 */
snats_status snats_publish(snats_conn *conn, const char *subject, const void *data, size_t len) SNATS_NODISCARD;

/**
 * @brief Publishes a batch of messages packed in one buffer, in order, holding the
 *        connection once for all of them. For bindings where each call is costly (ctypes):
 *        the mirror of snats_sub_next_msgs().
 *
 * Each message is one record: four native-endian `uint32_t` lengths (subject, reply, header
 * block, payload; reply 0 for none, header block 0 for a plain PUB), then the subject, reply,
 * raw header block and payload bytes, unpadded and not NUL-terminated. Records follow each
 * other and fill exactly @p len bytes. A header block starts with `NATS/1.0` and ends with
 * an empty line (CRLF CRLF).
 *
 * Records are checked one at a time as they are published: a bad record (cut short, a bad
 * subject or reply, a malformed header block, over max_payload), or one the connection
 * refuses, ends the call with its status; the records before it are published and counted
 * in @p published, those after it are not.
 * @param[out] published Optional (NULL for none): records published, also on failure.
 * @param conn      Borrowed.
 * @param records   Borrowed for the call (copied); NULL allowed when @p len is 0.
 * @param len       Bytes of @p records.
 * @retval SNATS_OK                every record buffered.
 * @retval SNATS_INVALID_SUBJECT   a record's subject or reply is invalid.
 * @retval SNATS_MAX_PAYLOAD       a record's header block + payload exceed max_payload.
 * @retval SNATS_INVALID_ARG       NULL @p conn, NULL @p records with @p len > 0, a record cut
 *                                 short, or a malformed header block.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_RECONNECT_BUFFER_FULL, SNATS_NOT_CONNECTED
 *                                 as snats_publish(), at the first record refused.
 * Blocks: as snats_publish(), between records. Threads: any.
 */
snats_status snats_publish_packed(size_t *published, snats_conn *conn, const void *records, size_t len) SNATS_NODISCARD;

/**
 * @brief Publishes with a reply subject (for a responder to answer on).
 * @param reply Borrowed for the call; a subject, or NULL for none.
 * Other parameters, statuses, blocking and threads: as snats_publish(); SNATS_INVALID_SUBJECT
 * also for a bad @p reply.
 */
snats_status snats_publish_request(snats_conn *conn, const char *subject, const char *reply,
                                   const void *data, size_t len) SNATS_NODISCARD;

/**
 * @brief Publishes with headers (HPUB) and an optional reply subject.
 * @param reply   Borrowed for the call; NULL for none.
 * @param headers Borrowed for the call (encoded before return); NULL or empty sends a plain PUB.
 * Other parameters, statuses, blocking and threads: as snats_publish(); SNATS_MAX_PAYLOAD
 * counts the encoded headers too.
 */
snats_status snats_publish_msg(snats_conn *conn, const char *subject, const char *reply,
                               const snats_headers *headers, const void *data, size_t len) SNATS_NODISCARD;

/**
 * @brief Sends a request and waits for the first reply. The reply inbox is one wildcard
 *        subscription shared by all requests of the connection.
 * @param[out] reply On SNATS_OK an owned message (snats_msg_release()); else NULL.
 * @param conn       Borrowed.
 * @param subject    Borrowed for the call; no wildcards.
 * @param data       Borrowed for the call; NULL allowed when @p len is 0.
 * @param len        At most the server's max_payload.
 * @param timeout_ms > 0.
 * @retval SNATS_OK                *reply holds the reply.
 * @retval SNATS_TIMEOUT           no reply within @p timeout_ms.
 * @retval SNATS_NO_RESPONDERS     the server reported no subscriber (immediately).
 * @retval SNATS_MAX_PAYLOAD       @p len exceeds max_payload.
 * @retval SNATS_INVALID_SUBJECT   bad @p subject.
 * @retval SNATS_CONNECTION_CLOSED closed before or during the wait.
 * @retval SNATS_NOT_CONNECTED     the server went away while waiting for the reply (a request
 *                                 sent while reconnecting is buffered and waits instead).
 * @retval SNATS_RECONNECT_BUFFER_FULL reconnecting, and the request does not fit the buffer.
 * @retval SNATS_INVALID_ARG       NULL pointer or timeout_ms <= 0.
 * Blocks: up to @p timeout_ms. Threads: any, including this connection's callbacks.
 */
snats_status snats_request(snats_msg **reply, snats_conn *conn, const char *subject,
                           const void *data, size_t len, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief As snats_request(), with headers.
 * @param headers Borrowed for the call; NULL for none.
 * Statuses, blocking and threads: as snats_request().
 */
snats_status snats_request_msg(snats_msg **reply, snats_conn *conn, const char *subject,
                               const snats_headers *headers, const void *data, size_t len,
                               int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Called once with the outcome of snats_request_async() or snats_request_msg_async().
 * @param conn    Borrowed, valid during the call.
 * @param status  SNATS_OK (a reply), SNATS_NO_RESPONDERS, SNATS_TIMEOUT,
 *                SNATS_NOT_CONNECTED (the server went away before the reply came) or
 *                SNATS_CONNECTION_CLOSED; snats_last_error() on this thread says more.
 * @param reply   With SNATS_OK, borrowed for the call (snats_msg_retain() to keep it); else NULL.
 * @param closure The pointer given with the request, untouched.
 * Threads: as a connection event: on the delivery pool, or in snats_dispatch_queue_dispatch()
 * of the connection's dispatch queue (an event loop completes its future there). Once the
 * connection has ended, on the thread that ended it.
 */
typedef void (*snats_reply_handler)(snats_conn *conn, snats_status status, snats_msg *reply, void *closure);

/**
 * @brief Sends a request without waiting: @p cb runs once with the first reply, or with why
 *        there is none. For event loops and for many requests in flight from one thread.
 * @param conn       Borrowed; must outlive the callback.
 * @param subject    Copied.
 * @param data       Copied; NULL allowed when @p len is 0.
 * @param timeout_ms > 0: past it @p cb gets SNATS_TIMEOUT.
 * @param cb         Required.
 * @retval SNATS_OK                the request is sent; @p cb will run exactly once.
 * @retval SNATS_INVALID_SUBJECT   bad subject. @retval SNATS_MAX_PAYLOAD too large.
 * @retval SNATS_CONNECTION_CLOSED closed. @retval SNATS_NOT_CONNECTED not connected.
 * @retval SNATS_INVALID_ARG       a NULL argument or timeout_ms <= 0.
 * With any status but SNATS_OK, @p cb is never called.
 * Blocks: as snats_publish(). Threads: any, callbacks included.
 */
snats_status snats_request_async(snats_conn *conn, const char *subject, const void *data, size_t len,
                                 int64_t timeout_ms, snats_reply_handler cb, void *closure) SNATS_NODISCARD;

/** @brief As snats_request_async(), with @p headers (borrowed, copied; NULL for none).
 *  Blocks and threads: as snats_request_async(). */
snats_status snats_request_msg_async(snats_conn *conn, const char *subject, const snats_headers *headers,
                                     const void *data, size_t len, int64_t timeout_ms, snats_reply_handler cb,
                                     void *closure) SNATS_NODISCARD;

/**
 * @brief Sends a request whose reply is taken with the messages of the connection's dispatch
 *        queue: snats_dispatch_queue_next_msgs() and snats_dispatch_queue_turn() return it as
 *        a record tagged @p tag, as soon as it is read. For event loops that take batches (a
 *        binding's asyncio layer): no callback runs for a reply. When no reply comes, @p cb
 *        runs once instead, with SNATS_NO_RESPONDERS, SNATS_TIMEOUT, SNATS_NOT_CONNECTED or
 *        SNATS_CONNECTION_CLOSED and a NULL reply (as a connection event, like
 *        snats_request_async()'s), and no record comes.
 * @param conn       Borrowed; bound to a dispatch queue (snats_options_set_dispatch_queue()).
 * @param subject    Copied. @param headers Borrowed, copied; NULL for none.
 * @param data       Copied; NULL allowed when @p len is 0.
 * @param timeout_ms > 0.
 * @param tag        The record's tag: any value, chosen not to collide with the tags of the
 *                   queue's subscriptions (their closures).
 * @param cb         Required: the failure. @param closure Passed to @p cb.
 * @retval SNATS_OK                sent: exactly one of the record and @p cb will come.
 * @retval SNATS_ILLEGAL_STATE     the connection is not bound to a dispatch queue.
 * @retval SNATS_INVALID_SUBJECT, SNATS_MAX_PAYLOAD, SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED,
 *         SNATS_INVALID_ARG as snats_request_async().
 * With any status but SNATS_OK, neither comes. Reply records wait outside the queue's
 * pending limits (the requests in flight bound them) and are never dropped.
 * Blocks: as snats_publish(). Threads: any, callbacks included.
 */
snats_status snats_request_tagged(snats_conn *conn, const char *subject, const snats_headers *headers,
                                  const void *data, size_t len, int64_t timeout_ms, uint64_t tag,
                                  snats_reply_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief Sends a PING and waits for the PONG: everything published before has reached the
 *        server.
 * @param conn Borrowed. @param timeout_ms > 0.
 * @retval SNATS_OK                the server answered (for a flush made while reconnecting: the
 *                                 new server, after the reconnect buffer).
 * @retval SNATS_TIMEOUT           no PONG within @p timeout_ms.
 * @retval SNATS_NOT_CONNECTED     the server went away before answering: what was published
 *                                 before may not have reached it.
 * @retval SNATS_CONNECTION_CLOSED closed before or during the wait.
 * @retval SNATS_INVALID_ARG       NULL or timeout_ms <= 0.
 * Blocks: up to @p timeout_ms. Threads: any, including callbacks.
 */
snats_status snats_conn_flush(snats_conn *conn, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Called once with the outcome of snats_conn_flush_async(): SNATS_OK when the PONG
 *        came, SNATS_TIMEOUT, SNATS_NOT_CONNECTED (the server went away before answering) or
 *        SNATS_CONNECTION_CLOSED. Threads: as snats_reply_handler.
 */
typedef void (*snats_flush_handler)(snats_conn *conn, snats_status status, void *closure);

/**
 * @brief As snats_conn_flush() without waiting: @p cb runs once when the server has
 *        processed everything sent before, or with why not.
 * @retval SNATS_OK the PING is queued; @p cb will run exactly once.
 * @retval SNATS_CONNECTION_CLOSED closed. @retval SNATS_NOT_CONNECTED not connected.
 * @retval SNATS_INVALID_ARG NULL @p conn or @p cb, or timeout_ms <= 0.
 * Blocks: no. Threads: any, callbacks included.
 */
snats_status snats_conn_flush_async(snats_conn *conn, int64_t timeout_ms, snats_flush_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief Measures the round trip to the server (a PING/PONG).
 * @param[out] rtt_us On SNATS_OK microseconds; else 0. @param conn Borrowed. @param timeout_ms > 0.
 * @retval SNATS_OK, SNATS_TIMEOUT, SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED, SNATS_INVALID_ARG
 *         as snats_conn_flush().
 * Blocks: up to @p timeout_ms. Threads: any.
 */
snats_status snats_conn_rtt(int64_t *rtt_us, snats_conn *conn, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Reads the traffic counters. Any out-pointer may be NULL.
 * @param[out] in_msgs Messages received. @param[out] in_bytes Their payload bytes.
 * @param[out] out_msgs Messages sent. @param[out] out_bytes Their payload bytes.
 * @param conn Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG @p conn is NULL.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_stats(uint64_t *in_msgs, uint64_t *in_bytes, uint64_t *out_msgs,
                                  uint64_t *out_bytes, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Reads how many times the connection was re-established after losing its server.
 * @param[out] reconnects Set on SNATS_OK. @param conn Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_reconnects(uint64_t *reconnects, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Reads how many publishes the connection accepted but knows never reached a server:
 *        still in its buffer (or in a socket write that failed) when their link died, or
 *        refused on replay because they exceed the new server's max_payload
 *        (SNATS_PUBLISH_REFUSED). Bytes the kernel had taken when a link died are not counted:
 *        whether the server read them cannot be known (core NATS delivers at most once).
 * @param[out] lost Set on SNATS_OK. @param conn Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_lost_publishes(uint64_t *lost, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Why the connection last lost its server, as nats.c's natsConnection_GetLastError():
 *        SNATS_STALE_CONNECTION (PONGs missed), SNATS_IO_ERROR (the socket closed or failed),
 *        SNATS_SERVER_ERROR / SNATS_AUTH_FAILED / SNATS_PERMISSION_VIOLATION (the server's
 *        -ERR), SNATS_PROTOCOL_ERROR, SNATS_TLS_ERROR; after a close that was not asked for,
 *        what closed it (SNATS_NO_SERVER when reconnecting gave up). Set before the
 *        disconnected and closed callbacks run, so they can call it.
 * @param[out] text May be NULL. Set to the reason's text ("" with SNATS_OK), owned by the
 *             library and valid on this thread until its next call of this function.
 * @param conn Borrowed.
 * @return The reason's status; SNATS_OK while a link is up (a reconnect clears the reason, as
 *         nats.go clears its last error) and after snats_conn_close() while connected.
 *         SNATS_INVALID_ARG for NULL @p conn.
 * Blocks: no. Threads: any, the connection's callbacks included.
 */
snats_status snats_conn_last_error(const char **text, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Lists the server pool (configured and discovered servers) as URLs without credentials.
 * @param[out] servers On SNATS_OK a new reference to a JSON array of strings; else NULL.
 * @param conn Borrowed.
 * @retval SNATS_OK listed. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_servers(json_t **servers, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Lists only the servers learned from the cluster (INFO connect_urls), without credentials.
 * @param[out] servers On SNATS_OK a new reference to a JSON array of strings; else NULL.
 * @param conn Borrowed.
 * @retval SNATS_OK listed. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_discovered_servers(json_t **servers, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Copies the URL of the server the connection is on, without credentials.
 * @param[out] buffer Receives a NUL-terminated URL. @param capacity Bytes available in @p buffer.
 * @param conn Borrowed.
 * @retval SNATS_OK               copied.
 * @retval SNATS_BUFFER_TOO_SMALL @p capacity is too small (nothing copied).
 * @retval SNATS_NOT_CONNECTED    not connected, or closed.
 * @retval SNATS_INVALID_ARG      a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_connected_url(char *buffer, size_t capacity, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Returns the server's last INFO as JSON (server_id, version, max_payload, ...).
 * @param[out] info On SNATS_OK a new reference to a JSON object; else NULL.
 * @param conn Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_server_info(json_t **info, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Reads the server's max_payload, the largest headers + payload a publish may carry.
 * @param[out] max_payload Bytes. @param conn Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_get_max_payload(int64_t *max_payload, snats_conn *conn) SNATS_NODISCARD;

/**
 * @brief Makes a unique subject under the connection's inbox prefix.
 * @param[out] buffer Receives the NUL-terminated subject. @param capacity Bytes in @p buffer
 *        (64 is enough for the default prefix). @param conn Borrowed.
 * @retval SNATS_OK made. @retval SNATS_BUFFER_TOO_SMALL @p capacity too small.
 * @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_conn_new_inbox(char *buffer, size_t capacity, snats_conn *conn) SNATS_NODISCARD;

/** @} */

/** \defgroup deliveryGroup Where callbacks run
 *  Callbacks (messages, service and RPC handlers, RPC call completions, connection events)
 *  run on a **delivery pool**: a few library threads shared by every connection of the
 *  process (one per core, at least two), whatever the number of subscriptions. Each
 *  subscription's callbacks stay one at a time, in order; a connection's events too.
 *
 *  A callback may call any function, blocking ones included (request, flush, drain, close,
 *  an RPC call): while it blocks inside the library, the pool lends another thread to the
 *  work waiting behind it, so a chain of in-process requests deeper than the pool does not
 *  deadlock. A callback that blocks outside the library (sleep, disk, a database) holds its
 *  thread: give such subscriptions a thread of their own (snats_subscribe_dedicated(),
 *  snats_options_set_dedicated_delivery()), or the connection a larger pool
 *  (snats_options_set_delivery_pool_size()).
 *
 *  A **dispatch queue** hands the callbacks to a thread of yours instead: bind a connection
 *  to it (snats_options_set_dispatch_queue()) or single subscriptions (snats_subscribe_on()),
 *  and run them with snats_dispatch_queue_dispatch(). Its file descriptor is readable while
 *  work waits, for epoll, poll, libuv (`uv_poll_t`) or libevent: no library thread then runs
 *  your code. Subscriptions bound without a callback deliver packed batches instead
 *  (snats_dispatch_queue_next_msgs()), what language bindings use.
 *
 *  Nothing is lent to a thread that dispatches a queue: a callback run there that waits for
 *  work bound to the same queue (a request answered by a handler on it, a drain of its
 *  subscriptions) waits until some thread dispatches the queue (it may do so itself), else
 *  until its timeout; snats_request_async() waits for nothing. When the library closes a
 *  connection bound to a queue by itself (the server lost with reconnect off, reconnecting
 *  given up), the closing work runs on a library thread: a snats_conn_close() or
 *  snats_conn_destroy() from the owner's thread returns without a dispatch, and the
 *  disconnected and closed callbacks run, in that order, at the next dispatch.
 *  @{ */

/**
 * @brief Sets the number of threads of the process-wide delivery pool (default: one per
 *        core, at least 2). Takes effect at once; a smaller size as threads go idle.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p threads < 1.
 * Blocks: no. Threads: any.
 */
snats_status snats_set_delivery_pool_size(int threads) SNATS_NODISCARD;

/**
 * @brief Reads the process-wide pool: threads alive now (lent ones included) and its size.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_get_delivery_pool_threads(int *alive, int *size) SNATS_NODISCARD;

/**
 * @brief Gives connections made with @p opts a delivery pool of their own, of @p threads
 *        threads (0, the default: the process-wide pool). It ends with the connection.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL @p opts or @p threads < 0.
 * Blocks: no. Threads: any.
 */
snats_status snats_options_set_delivery_pool_size(snats_options *opts, int threads) SNATS_NODISCARD;

/**
 * @brief With @p dedicated, every callback subscription of the connection gets a thread of
 *        its own (nats.c's default; costs a thread per subscription). Default false.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL @p opts.
 * Blocks: no. Threads: any.
 */
snats_status snats_options_set_dedicated_delivery(snats_options *opts, bool dedicated) SNATS_NODISCARD;

/**
 * @brief Binds connections made with @p opts to @p queue: their events, callback
 *        subscriptions, services and RPC callbacks wait there until the queue's owner runs
 *        them (snats_dispatch_queue_dispatch()). NULL unbinds.
 * @param queue Borrowed, and kept alive by each connection made with @p opts.
 * A connection bound to a queue does not wait for its closed callback in snats_conn_close():
 * it runs at the next dispatch.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL @p opts.
 * Blocks: no. Threads: any.
 */
snats_status snats_options_set_dispatch_queue(snats_options *opts, snats_dispatch_queue *queue) SNATS_NODISCARD;

/**
 * @brief With @p read, the owner of the connection's dispatch queue also reads the
 *        connection's socket (nats.c's event-loop mode, without adapters): the socket joins
 *        the queue's descriptor, and snats_dispatch_queue_dispatch() and
 *        snats_dispatch_queue_next_msgs() read what it holds before they look for work. A
 *        message or reply then reaches the owner with no library thread in between (by
 *        default the library's event-loop thread reads, then wakes the owner). Default false.
 *
 * The socket is read only by the queue's owner (the thread that last dispatched the queue or
 * took messages from it):
 * - while the owner dispatches, takes messages, or blocks in any blocking function of this
 *   library (a request, a flush, a drain, a close, from a callback or not: the wait reads the
 *   socket meanwhile, and notices an answer that another thread brings within 2 ms);
 * - not while it does anything else. An owner that stops draining for long leaves the
 *   server's PINGs and messages unread, as an event loop that stops turning does: the server
 *   then drops the connection as a slow consumer.
 * Blocking functions called before the owner first drains the queue (other than connecting)
 * wait for it. TLS links are read by the library's event-loop thread whatever this says.
 * Reconnects keep the queue's descriptor: the new socket takes the old one's place in it.
 * Requires a dispatch queue (snats_options_set_dispatch_queue()) when connecting.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL @p opts.
 * Blocks: no. Threads: any.
 */
snats_status snats_options_set_read_on_dispatch_queue(snats_options *opts, bool read) SNATS_NODISCARD;

/**
 * @brief Makes a dispatch queue.
 * @param[out] queue On SNATS_OK owned (snats_dispatch_queue_destroy()); else NULL.
 * @param max_msgs  Messages that may wait across its subscriptions (0: no limit); past it
 *                  (or @p max_bytes of payload and headers), messages are dropped, counted on
 *                  their subscription (snats_sub_get_dropped()) and reported once per episode
 *                  as SNATS_SLOW_CONSUMER, as a subscription's own pending limits are.
 * @param max_bytes 0: no limit.
 * @retval SNATS_OK made. @retval SNATS_INVALID_ARG NULL @p queue or a negative limit.
 * @retval SNATS_IO_ERROR the file descriptor could not be made.
 * Blocks: no. Threads: any.
 */
snats_status snats_dispatch_queue_create(snats_dispatch_queue **queue, int max_msgs, int64_t max_bytes) SNATS_NODISCARD;

/**
 * @brief Releases the caller's handle. Connections and subscriptions bound to the queue keep
 *        it (and its descriptor) until they end; remove the descriptor from your event loop
 *        first. Work still waiting in the queue keeps it too, with the connection it belongs
 *        to (a destroyed connection's closed callback): dispatch until your connections'
 *        closed callbacks have run before destroying the queue, or that memory and the
 *        queue's descriptors stay allocated. NULL is ignored.
 * Blocks: no. Threads: any, but not while another thread uses the handle.
 */
void snats_dispatch_queue_destroy(snats_dispatch_queue *queue);

/**
 * @brief The descriptor that is readable while the queue has work (callbacks to run or
 *        messages to take). Level-triggered: it stays readable until the work is taken.
 *        Only wait on it: never read, write or close it.
 * @param[out] fd The descriptor, valid while the queue lives.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_dispatch_queue_fd(int *fd, snats_dispatch_queue *queue) SNATS_NODISCARD;

/**
 * @brief Runs pending callbacks on the calling thread: waits up to @p timeout_ms for work
 *        (0: not at all), then runs up to @p max_callbacks, one subscription's in order.
 * @param[out] ran      Optional: how many ran.
 * @param queue         Borrowed.
 * @param max_callbacks > 0.
 * @param timeout_ms    >= 0.
 * @retval SNATS_OK          *ran callbacks ran: 0 when nothing came within @p timeout_ms or
 *                           snats_dispatch_queue_wake() was called.
 * @retval SNATS_INVALID_ARG NULL @p queue, @p max_callbacks < 1 or @p timeout_ms < 0.
 * Blocks: up to @p timeout_ms, and while the callbacks run. Threads: any; several threads
 * may dispatch one queue (a subscription's callbacks still run one at a time). A callback
 * may dispatch its own queue.
 */
snats_status snats_dispatch_queue_dispatch(int *ran, snats_dispatch_queue *queue, int max_callbacks,
                                           int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Takes the messages of the subscriptions bound to @p queue without a callback
 *        (snats_subscribe_on() with cb NULL), copied into @p buffer: waits up to
 *        @p timeout_ms for the first (0: not at all), then takes what is pending, up to
 *        @p max_msgs and as many as fit, in order per subscription.
 *
 * Each record is the subscription's tag (a native-endian `uint64_t`: the closure given to
 * snats_subscribe_on(), as an integer), or a snats_request_tagged() reply's tag, then the
 * message as snats_sub_next_msgs() writes it. Replies come first.
 * Until the next call on @p queue (from any thread: take batches from one thread at a time),
 * a drain counts the messages as still being handled.
 * @param[out] buffer Written up to *used. @param capacity Bytes available at @p buffer.
 * @param[out] used  Bytes written; with SNATS_BUFFER_TOO_SMALL, the size the first record needs.
 * @param[out] count Messages written.
 * @param queue Borrowed. @param max_msgs > 0. @param timeout_ms >= 0.
 * @retval SNATS_OK               *count messages: 0 when none came within @p timeout_ms or
 *                                snats_dispatch_queue_wake() was called.
 * @retval SNATS_BUFFER_TOO_SMALL the first record needs *used bytes; it stays queued.
 * @retval SNATS_INVALID_ARG      a NULL argument, @p max_msgs < 1 or @p timeout_ms < 0.
 * Blocks: up to @p timeout_ms. Threads: any (one at a time per queue: see above).
 */
snats_status snats_dispatch_queue_next_msgs(void *buffer, size_t capacity, size_t *used, size_t *count,
                                            snats_dispatch_queue *queue, size_t max_msgs, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief One turn of an event loop's owner, once per wake-up of the queue's descriptor:
 *        reads the sockets of the connections that read on the queue, runs up to
 *        @p max_callbacks pending callbacks, then takes the pending messages (and replies of
 *        snats_request_tagged()) into @p buffer as snats_dispatch_queue_next_msgs() does.
 *        Never waits. One call instead of snats_dispatch_queue_dispatch() and
 *        snats_dispatch_queue_next_msgs(): a callback that the read made (a request's
 *        completion) runs in the same turn, and the descriptor is settled once, at the end.
 * @param[out] buffer As snats_dispatch_queue_next_msgs()'s. @param capacity Likewise.
 * @param[out] used Likewise. @param[out] count Likewise.
 * @param[out] ran Optional: how many callbacks ran (also with SNATS_BUFFER_TOO_SMALL).
 * @param queue Borrowed. @param max_callbacks > 0. @param max_msgs As
 *        snats_dispatch_queue_next_msgs()'s.
 * @retval SNATS_OK               *ran callbacks ran and *count messages were taken (either may be 0).
 * @retval SNATS_BUFFER_TOO_SMALL the first record needs *used bytes; it stays queued (the
 *                                callbacks have run).
 * @retval SNATS_INVALID_ARG      a NULL argument (@p ran excepted), @p max_callbacks < 1 or
 *                                @p max_msgs < 1.
 * Blocks: while the callbacks run. Threads: any, one at a time per queue (as
 * snats_dispatch_queue_next_msgs()).
 */
snats_status snats_dispatch_queue_turn(void *buffer, size_t capacity, size_t *used, size_t *count, int *ran,
                                       snats_dispatch_queue *queue, int max_callbacks, size_t max_msgs) SNATS_NODISCARD;

/**
 * @brief Makes a snats_dispatch_queue_dispatch() or snats_dispatch_queue_next_msgs() waiting
 *        on @p queue now (or the next one to wait) return at once with nothing: how another
 *        thread stops the owner's loop.
 * @retval SNATS_OK woken. @retval SNATS_INVALID_ARG NULL @p queue.
 * Blocks: no. Threads: any.
 */
snats_status snats_dispatch_queue_wake(snats_dispatch_queue *queue) SNATS_NODISCARD;

/**
 * @brief Messages and bytes (payload and headers) waiting in the queue's subscriptions (those
 *        bound to it, with or without a callback; connection events are not counted).
 * @param[out] msgs Current count of messages; may be NULL. @param[out] bytes Of their bytes;
 *             may be NULL.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG NULL @p queue.
 * Blocks: no. Threads: any.
 */
snats_status snats_dispatch_queue_get_pending(int *msgs, int64_t *bytes, snats_dispatch_queue *queue) SNATS_NODISCARD;

/** @} */

/** \defgroup subGroup Subscriptions
 *  Lifecycle: snats_subscribe() (callback) or snats_subscribe_sync() (read with
 *  snats_sub_next_msg()), then snats_sub_unsubscribe(), snats_sub_auto_unsubscribe() or
 *  snats_sub_drain(), and snats_sub_destroy(), which unsubscribes first if needed.
 *  Messages of one subscription are delivered one at a time, in order, on the delivery pool
 *  (or a thread of its own, or a dispatch queue: see \ref deliveryGroup). Past the pending limits, messages are dropped, counted
 *  (snats_sub_get_dropped()) and reported once per episode as SNATS_SLOW_CONSUMER.
 *  @{ */

/**
 * @brief Called for each message of an asynchronous subscription.
 * @param conn    Borrowed, valid during the call.
 * @param sub     Borrowed, valid during the call.
 * @param msg     Borrowed for the call: the library releases it when the callback returns.
 *                Keep it with snats_msg_retain() (then snats_msg_release() it).
 * @param closure The pointer given at subscribe, untouched.
 * Threads: a delivery pool thread (or the subscription's own thread, or the thread
 * dispatching its queue); one call at a time, in arrival order. Any
 * function may be called inside, including snats_request(), snats_conn_flush(),
 * snats_sub_unsubscribe() / snats_sub_destroy() of @p sub, and snats_conn_close().
 */
typedef void (*snats_msg_handler)(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure);

/**
 * @brief Subscribes with a callback. Wildcards: `*` matches one token, `>` the rest.
 * @param[out] sub On SNATS_OK owned (snats_sub_destroy()); else NULL.
 * @param conn     Borrowed.
 * @param subject  Copied.
 * @param cb       Called for each message.
 * @param closure  Passed to @p cb.
 * @retval SNATS_OK                subscribed (SUB is on its way to the server; snats_conn_flush()
 *                                 waits until the server has it).
 * @retval SNATS_INVALID_SUBJECT   bad subject.
 * @retval SNATS_CONNECTION_CLOSED closed. @retval SNATS_DRAINING the connection is draining.
 * @retval SNATS_NOT_CONNECTED     not connected.
 * @retval SNATS_INVALID_ARG       a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_subscribe(snats_sub **sub, snats_conn *conn, const char *subject,
                             snats_msg_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief As snats_subscribe(), in queue group @p queue: each message goes to one member.
 * @param queue Copied; non-empty, no whitespace (else SNATS_INVALID_ARG).
 * Blocks and threads: as snats_subscribe().
 */
snats_status snats_queue_subscribe(snats_sub **sub, snats_conn *conn, const char *subject,
                                   const char *queue, snats_msg_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief Subscribes for reading with snats_sub_next_msg().
 * @param[out] sub On SNATS_OK owned (snats_sub_destroy()); else NULL.
 * Other parameters, statuses, blocking and threads: as snats_subscribe().
 */
snats_status snats_subscribe_sync(snats_sub **sub, snats_conn *conn, const char *subject) SNATS_NODISCARD;

/** @brief As snats_subscribe_sync(), in queue group @p queue (copied). Blocks and threads: as
 *  snats_subscribe(). */
snats_status snats_queue_subscribe_sync(snats_sub **sub, snats_conn *conn, const char *subject,
                                        const char *queue) SNATS_NODISCARD;

/**
 * @brief Subscribes with delivery through a dispatch queue: with @p cb, the callback runs in
 *        snats_dispatch_queue_dispatch(); with @p cb NULL, the messages are taken in batches
 *        by snats_dispatch_queue_next_msgs(), tagged with @p closure.
 * @param queue_group NULL, or copied (non-empty, no whitespace).
 * @param queue       Borrowed; kept alive by the subscription.
 * Other parameters and statuses: as snats_subscribe(); SNATS_INVALID_ARG for a NULL @p queue.
 * Blocks: no. Threads: any.
 */
snats_status snats_subscribe_on(snats_sub **sub, snats_conn *conn, const char *subject, const char *queue_group,
                                snats_dispatch_queue *queue, snats_msg_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief Called with a batch of messages of a snats_subscribe_batch() subscription.
 * @param records Borrowed for the call: @p count records of @p used bytes, as
 *                snats_sub_next_msgs() writes them (lengths, then subject, reply, header
 *                block and payload). Up to 1024 messages and about 256 KiB a call.
 * Threads: as snats_msg_handler: one call at a time per subscription, in order; the
 * messages count as being handled (for a drain) until the call returns.
 */
typedef void (*snats_batch_handler)(snats_conn *conn, snats_sub *sub, const void *records, size_t used,
                                    size_t count, void *closure);

/**
 * @brief As snats_subscribe() (in @p queue_group unless NULL), with the messages passed in
 *        batches: one call for what is queued, for bindings where a call costs more than a
 *        message (one Python callback per batch instead of per message).
 * @param cb Required. Other parameters and statuses: as snats_subscribe().
 * Blocks: no. Threads: any.
 */
snats_status snats_subscribe_batch(snats_sub **sub, snats_conn *conn, const char *subject, const char *queue_group,
                                   snats_batch_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief As snats_subscribe() (in @p queue_group unless NULL), with a thread of its own for
 *        the callback (nats.c's default): a callback that blocks outside the library holds
 *        no pool thread. The thread ends with the subscription.
 * Blocks: no. Threads: any.
 */
snats_status snats_subscribe_dedicated(snats_sub **sub, snats_conn *conn, const char *subject,
                                       const char *queue_group, snats_msg_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief Takes the next message of a synchronous subscription, waiting for one.
 * @param[out] msg On SNATS_OK owned (snats_msg_release()); else NULL.
 * @param sub        Borrowed.
 * @param timeout_ms > 0, or 0 to poll: the message queued now, or SNATS_TIMEOUT at once.
 * @retval SNATS_OK                   *msg holds the message.
 * @retval SNATS_TIMEOUT              none within @p timeout_ms (none queued, for a poll).
 * @retval SNATS_MAX_DELIVERED        the auto-unsubscribe count was delivered.
 * @retval SNATS_INVALID_SUBSCRIPTION unsubscribed (or drained and empty).
 * @retval SNATS_CONNECTION_CLOSED    the connection closed.
 * @retval SNATS_ILLEGAL_STATE        @p sub has a callback.
 * @retval SNATS_INVALID_ARG          a NULL argument or timeout_ms < 0.
 * Blocks: up to @p timeout_ms (a poll: no). Threads: any.
 */
snats_status snats_sub_next_msg(snats_msg **msg, snats_sub *sub, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Takes a batch of messages of a synchronous subscription, copied into @p buffer:
 *        waits for the first, then takes those queued behind it, up to @p max_msgs and as
 *        many as fit. One call per batch, for bindings where each call is costly (ctypes).
 *
 * Each message is one record: four native-endian `uint32_t` lengths (subject, reply, header
 * block, payload; reply 0 when none, header block 0 when none), then the subject, reply, the
 * raw `NATS/1.0` header block and the payload bytes, unpadded and not NUL-terminated. Records
 * follow each other; taken messages count as delivered. Until the next call on @p sub, a
 * drain counts the batch as still being handled (as a running callback), so that a binding
 * that runs callbacks on its own thread has run them all when snats_sub_drain() or
 * snats_conn_drain() returns.
 * @param[out] buffer Borrowed; written up to *used.
 * @param capacity   Bytes available at @p buffer.
 * @param[out] used  Bytes written; with SNATS_BUFFER_TOO_SMALL, the size the first record needs.
 * @param[out] count Messages written.
 * @param sub        Borrowed.
 * @param max_msgs   > 0.
 * @param timeout_ms > 0, or 0 to poll (what is queued now, or SNATS_TIMEOUT at once).
 * @retval SNATS_OK                   *count >= 1 messages in @p buffer.
 * @retval SNATS_BUFFER_TOO_SMALL     the first message needs *used bytes; it stays queued.
 * @retval SNATS_TIMEOUT              none within @p timeout_ms.
 * @retval SNATS_MAX_DELIVERED        the auto-unsubscribe count was delivered.
 * @retval SNATS_INVALID_SUBSCRIPTION unsubscribed (or drained and empty).
 * @retval SNATS_CONNECTION_CLOSED    the connection closed.
 * @retval SNATS_ILLEGAL_STATE        @p sub has a callback.
 * @retval SNATS_INVALID_ARG          a NULL argument, max_msgs <= 0 or timeout_ms < 0.
 * Blocks: up to @p timeout_ms (a poll: no). Threads: any.
 */
snats_status snats_sub_next_msgs(void *buffer, size_t capacity, size_t *used, size_t *count, snats_sub *sub,
                                 size_t max_msgs, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Ends the subscription now: UNSUB, queued messages discarded, no further callbacks.
 * @param sub Borrowed (still to be destroyed).
 * @retval SNATS_OK                   unsubscribed.
 * @retval SNATS_INVALID_SUBSCRIPTION already ended.
 * @retval SNATS_CONNECTION_CLOSED    the connection is closed (the subscription ended with it).
 * @retval SNATS_INVALID_ARG          @p sub is NULL.
 * Blocks: until a callback of @p sub running on another thread returns, except when called
 * from a callback of the same connection (its own callback, another subscription's, a
 * connection event): then it returns at once, and a callback of @p sub may still be running
 * elsewhere. Threads: any, including the subscription's own callback.
 */
snats_status snats_sub_unsubscribe(snats_sub *sub) SNATS_NODISCARD;

/**
 * @brief Ends the subscription after @p max messages in all (counting those delivered already);
 *        the server is told, and the library delivers no more than @p max.
 * @param sub Borrowed. @param max > 0.
 * @retval SNATS_OK set (or ended now, if @p max were already delivered).
 * @retval SNATS_INVALID_SUBSCRIPTION already ended. @retval SNATS_CONNECTION_CLOSED closed.
 * @retval SNATS_INVALID_ARG NULL or max <= 0.
 * Blocks: no. Threads: any.
 */
snats_status snats_sub_auto_unsubscribe(snats_sub *sub, int max) SNATS_NODISCARD;

/**
 * @brief Drains: UNSUB, wait until every message in flight has arrived and been delivered
 *        (callback) or taken (snats_sub_next_msg()), then end.
 * @param sub Borrowed. @param timeout_ms > 0.
 * @retval SNATS_OK drained. @retval SNATS_TIMEOUT not in time (the subscription ended anyway).
 * @retval SNATS_INVALID_SUBSCRIPTION already ended. @retval SNATS_CONNECTION_CLOSED closed.
 * @retval SNATS_NOT_CONNECTED reconnecting (the subscription stays).
 * @retval SNATS_INVALID_ARG NULL or timeout_ms <= 0.
 * Blocks: up to @p timeout_ms; from the subscription's own callback it returns after the
 * server round trip and the subscription ends when its queue is empty. Threads: any.
 */
snats_status snats_sub_drain(snats_sub *sub, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Sets the pending limits of this subscription; 0 means unlimited.
 * @param sub Borrowed. @param max_msgs >= 0. @param max_bytes >= 0.
 * @retval SNATS_OK set. @retval SNATS_INVALID_SUBSCRIPTION ended.
 * @retval SNATS_INVALID_ARG NULL or negative.
 * Blocks: no. Threads: any.
 */
snats_status snats_sub_set_pending_limits(snats_sub *sub, int max_msgs, int64_t max_bytes) SNATS_NODISCARD;

/**
 * @brief Reads how many messages and bytes wait for delivery. Either out-pointer may be NULL.
 * @param[out] msgs Current count of messages. @param[out] bytes Of their bytes. @param sub
 *             Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG @p sub is NULL.
 * Blocks: no. Threads: any.
 */
snats_status snats_sub_get_pending(int *msgs, int64_t *bytes, snats_sub *sub) SNATS_NODISCARD;

/**
 * @brief Reads how many messages were delivered (callback called or taken by next_msg).
 * @param[out] delivered Count. @param sub Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_sub_get_delivered(uint64_t *delivered, snats_sub *sub) SNATS_NODISCARD;

/**
 * @brief Reads how many messages were dropped because the pending limits were reached.
 * @param[out] dropped Count. @param sub Borrowed.
 * @retval SNATS_OK read. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_sub_get_dropped(uint64_t *dropped, snats_sub *sub) SNATS_NODISCARD;

/** @brief Whether the subscription is still active (false for NULL). @param sub Borrowed.
 *  Blocks: no. Threads: any. */
bool snats_sub_is_valid(snats_sub *sub);

/** @brief Returns the subject subscribed to. @param sub Borrowed.
 *  @return Borrowed: valid until snats_sub_destroy(); NULL when @p sub is NULL.
 *  Blocks: no. Threads: any. */
const char *snats_sub_subject(snats_sub *sub);

/**
 * @brief Unsubscribes if still active, then frees the handle.
 * @param sub Taken; NULL is a no-op.
 * Blocks: as snats_sub_unsubscribe(), and also waits for a callback of @p sub still running
 * after the subscription ended without waiting for it (the library closed the connection: a
 * drain that timed out, say), since that callback was given @p sub and its connection. Not
 * on one of the connection's callback threads, where it returns at once. Threads: any,
 * including its own callback (the rest of that callback must not use @p sub).
 */
void snats_sub_destroy(snats_sub *sub);

/** @} */

/** \defgroup msgGroup Messages
 *  A message passed to a callback is borrowed for the call; one returned through an
 *  out-parameter is owned. Accessors never fail on a valid message; on NULL they return
 *  NULL or 0. Strings and data returned live as long as the message. Blocks: no.
 *  Threads: any; a message may be read from several threads at once.
 *  @{ */

/** @brief Returns the subject. @param msg Borrowed. @return Borrowed, NUL-terminated. */
const char *snats_msg_subject(const snats_msg *msg);

/** @brief Returns the reply subject. @param msg Borrowed. @return Borrowed; NULL when none. */
const char *snats_msg_reply(const snats_msg *msg);

/** @brief Returns the payload. @param msg Borrowed.
 *  @return Borrowed; followed by a NUL byte (not counted), so a text payload is a C string. */
const void *snats_msg_data(const snats_msg *msg);

/** @brief Returns the payload length in bytes. @param msg Borrowed. */
size_t snats_msg_data_len(const snats_msg *msg);

/** @brief Returns the message's headers. @param msg Borrowed.
 *  @return Borrowed, read-only (the setters return SNATS_ILLEGAL_STATE on it), valid as long
 *  as the message; NULL when the message has no header block. */
const snats_headers *snats_msg_headers(const snats_msg *msg);

/** @brief Returns the inline status code (503 for no responders), 0 when none.
 *  @param msg Borrowed. */
int snats_msg_status_code(const snats_msg *msg);

/** @brief Keeps a message beyond its callback. @param msg Borrowed.
 *  @return @p msg, now also owned by the caller: release it with snats_msg_release(). */
snats_msg *snats_msg_retain(snats_msg *msg);

/**
 * @brief Drops one ownership of a message: one that snats_request(), snats_sub_next_msg() (or
 *        a similar call) handed out, or one snats_msg_retain() kept.
 * @param msg Taken; NULL is a no-op (SNATS_OK).
 * @retval SNATS_OK released.
 * @retval SNATS_ILLEGAL_STATE the caller owns no reference to @p msg: a message lent to a
 *         callback and not retained (the library releases it when the callback returns; this
 *         is nats.c's `natsMsg_Destroy` habit, harmless here), or a second release while the
 *         library still holds the message. Nothing is freed; snats_last_error() says which.
 *         A release after the last reference is gone cannot be detected (the memory is freed).
 * Blocks: no. Threads: any.
 */
snats_status snats_msg_release(snats_msg *msg);

/**
 * @brief Publishes a reply to @p msg, on its reply subject, over the connection it arrived on.
 * @param msg Borrowed. @param data Borrowed for the call. @param len At most max_payload.
 * @retval SNATS_OK sent to the outbound buffer.
 * @retval SNATS_INVALID_ARG NULL @p msg, no reply subject, or a message not received.
 * @retval SNATS_MAX_PAYLOAD, SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED as snats_publish().
 * Blocks: as snats_publish(). Threads: any.
 */
snats_status snats_msg_respond(const snats_msg *msg, const void *data, size_t len) SNATS_NODISCARD;

/** @} */

/** \defgroup hdrGroup Headers
 *  Lifecycle: snats_headers_create(), set/add/delete, pass to snats_publish_msg() or
 *  snats_request_msg() (they copy), snats_headers_destroy(). Keys are compared exactly; a
 *  key may have several values. Strings returned are borrowed: valid until the headers are
 *  next changed or destroyed (for a message's headers, as long as the message).
 *  Blocks: no. Threads: any, but one headers object must not be changed while another thread
 *  uses it.
 *  @{ */

/** @brief Creates an empty header set. @param[out] headers On SNATS_OK owned
 *  (snats_headers_destroy()); else NULL.
 *  @retval SNATS_OK created. @retval SNATS_INVALID_ARG @p headers is NULL. */
snats_status snats_headers_create(snats_headers **headers) SNATS_NODISCARD;

/** @brief Parses a raw header block, as the records of snats_sub_next_msgs() and of a dispatch
 *  queue's batches carry it (`NATS/1.0[ <status> <description>]\r\n` then `Key: value` lines),
 *  exactly as the library parses a received message's headers: the inline status and its
 *  description (snats_headers_status(), snats_headers_description()), then the keys in wire
 *  order, the values of a repeated key under its first occurrence, values trimmed of spaces and
 *  tabs, lines without a colon or with an empty key skipped.
 *  @param[out] headers On SNATS_OK owned (snats_headers_destroy()), and changeable; else NULL.
 *  @param block Borrowed for the call. @param len Its length in bytes.
 *  @retval SNATS_OK parsed. @retval SNATS_INVALID_ARG a NULL argument.
 *  @retval SNATS_PROTOCOL_ERROR @p block is empty or does not start with `NATS/1.0`.
 *  Blocks: no. Threads: any. */
snats_status snats_headers_parse(snats_headers **headers, const void *block, size_t len) SNATS_NODISCARD;

/** @brief Destroys a header set. @param headers Taken; NULL is a no-op. Never pass a
 *  message's headers (they belong to the message). */
void snats_headers_destroy(snats_headers *headers);

/** @brief Replaces every value of @p key with @p value. @param headers Borrowed.
 *  @param key Copied; no whitespace, control characters or ':'. @param value Copied; no CR/LF.
 *  @retval SNATS_OK set. @retval SNATS_ILLEGAL_STATE @p headers belong to a received message.
 *  @retval SNATS_INVALID_ARG NULL argument or forbidden characters. */
snats_status snats_headers_set(snats_headers *headers, const char *key, const char *value) SNATS_NODISCARD;

/** @brief Adds @p value after the existing values of @p key.
 *  Parameters and statuses as snats_headers_set(). */
snats_status snats_headers_add(snats_headers *headers, const char *key, const char *value) SNATS_NODISCARD;

/** @brief Removes @p key and all its values. @param headers Borrowed. @param key Borrowed.
 *  @retval SNATS_OK removed. @retval SNATS_NOT_FOUND no such key.
 *  @retval SNATS_ILLEGAL_STATE message headers. @retval SNATS_INVALID_ARG a NULL argument. */
snats_status snats_headers_delete(snats_headers *headers, const char *key) SNATS_NODISCARD;

/** @brief Reads the first value of @p key.
 *  @param[out] value On SNATS_OK borrowed (see the group's lifetime rule); else NULL.
 *  @param headers Borrowed. @param key Borrowed.
 *  @retval SNATS_OK found. @retval SNATS_NOT_FOUND no such key.
 *  @retval SNATS_INVALID_ARG a NULL argument. */
snats_status snats_headers_get(const char **value, const snats_headers *headers, const char *key) SNATS_NODISCARD;

/** @brief Counts the values of @p key (0 when absent; 0 for NULL arguments).
 *  @param headers Borrowed. @param key Borrowed. */
size_t snats_headers_value_count(const snats_headers *headers, const char *key);

/** @brief Reads value number @p index of @p key.
 *  @param[out] value On SNATS_OK borrowed; else NULL. @param headers Borrowed. @param key Borrowed.
 *  @param index From 0.
 *  @retval SNATS_OK found. @retval SNATS_NOT_FOUND no such key or index.
 *  @retval SNATS_INVALID_ARG a NULL argument. */
snats_status snats_headers_value_at(const char **value, const snats_headers *headers,
                                    const char *key, size_t index) SNATS_NODISCARD;

/** @brief Counts distinct keys (0 for NULL). @param headers Borrowed. */
size_t snats_headers_key_count(const snats_headers *headers);

/** @brief Reads key number @p index, in insertion (or wire) order.
 *  @param[out] key On SNATS_OK borrowed; else NULL. @param headers Borrowed. @param index From 0.
 *  @retval SNATS_OK found. @retval SNATS_NOT_FOUND index out of range.
 *  @retval SNATS_INVALID_ARG a NULL argument. */
snats_status snats_headers_key_at(const char **key, const snats_headers *headers, size_t index) SNATS_NODISCARD;

/** @brief Returns the inline status code of a received header block (503, 408, ...), else 0.
 *  @param headers Borrowed. */
int snats_headers_status(const snats_headers *headers);

/** @brief Returns the text after the status code ("No Responders"), "" when none, NULL for
 *  NULL. @param headers Borrowed. @return Borrowed (group lifetime rule). */
const char *snats_headers_description(const snats_headers *headers);

/** @} */


/** \defgroup microGroup Micro services (NATS Service API, ADR-32)
 *  Lifecycle: snats_service_config_create(), its setters, snats_service_create() (which copies
 *  the configuration: destroy it at any time after), snats_service_add_endpoint() /
 *  snats_service_add_group() (also while running), then snats_service_stop() and
 *  snats_service_destroy(). A service answers `$SRV.PING|INFO|STATS[.name[.id]]` exactly as
 *  nats.go's micro package does, so `nats micro ls|info|stats` and other NATS clients see it.
 *  Endpoints are queue subscriptions (group "q" unless the endpoint, its group or the service
 *  says otherwise; an empty queue group inherits). Each endpoint handles one request at a time,
 *  in order, where the connection's callbacks run (the delivery pool, or the connection's
 *  dispatch queue: see \ref deliveryGroup), unless snats_endpoint_config_set_concurrency()
 *  allows more.
 *  A service stops by itself when its connection closes, and after an asynchronous error of one
 *  of its subscriptions (a slow consumer).
 *
 *  Unless a function says otherwise: Blocks: no (configurations, accessors and answers; an
 *  answer is a publish, which waits only as snats_publish() does). Threads: any, handlers and
 *  callbacks included.
 *  @{ */

typedef struct snats_service_config snats_service_config;
typedef struct snats_endpoint_config snats_endpoint_config;
typedef struct snats_service snats_service;
typedef struct snats_group snats_group;
typedef struct snats_endpoint snats_endpoint;
typedef struct snats_micro_request snats_micro_request;

/**
 * @brief Handles one request of an endpoint.
 * @param req     Borrowed for the call; snats_micro_request_retain() keeps it for an answer
 *                from another thread later (then snats_micro_request_release()).
 * @param closure The pointer given with the handler, untouched.
 * Threads: where the connection's callbacks run (\ref deliveryGroup): a delivery pool thread,
 * a thread of the endpoint's own with snats_options_set_dedicated_delivery(), or the thread
 * dispatching the connection's dispatch queue; one request at a time per endpoint, in order.
 * With snats_endpoint_config_set_concurrency() N > 1: up to N at once, in no set order, on N
 * threads of the endpoint's own (on a connection bound to a dispatch queue: on the threads
 * dispatching it). Any function may be called inside, blocking ones included;
 * snats_service_stop() of its own service returns at once there (the done callback runs when
 * the handlers have returned).
 */
typedef void (*snats_micro_handler)(snats_micro_request *req, void *closure);

/** @brief Called once when a service has stopped (snats_service_stop(), its connection closed,
 *  or an asynchronous error) and every handler has returned: no handler, error or stats
 *  callback of the service runs after it. Not called when snats_service_create() fails.
 *  @param svc Borrowed, valid during the call.
 *  Threads: the thread that stopped it (after an asynchronous error, a short-lived library
 *  thread), or the one where the last handler returned or the last subscription ended: a
 *  delivery pool thread, an endpoint's own thread, a thread dispatching the connection's queue,
 *  or the thread closing the connection. */
typedef void (*snats_service_done_handler)(snats_service *svc, void *closure);

/** @brief Called for an asynchronous error of a service's subscription (a slow consumer: the
 *  server's permission errors name no subscription and go to the connection's error
 *  callback); the service then stops. Also called, without stopping it, when a `$SRV` request
 *  cannot be answered (it has no reply subject).
 *  @param svc Borrowed. @param ep Borrowed: the endpoint concerned, or NULL for a `$SRV` one.
 *  @param status What happened (e.g. SNATS_SLOW_CONSUMER). @param text Borrowed for the call.
 *  Threads: as a connection event (an asynchronous error), or in the `$SRV` subscription's
 *  callback (a request it cannot answer): on the delivery pool, or in the connection's dispatch
 *  queue. */
typedef void (*snats_service_error_handler)(snats_service *svc, snats_endpoint *ep, snats_status status,
                                            const char *text, void *closure);

/** @brief Supplies an endpoint's extra STATS `data`.
 *  @param endpoint_name Borrowed for the call.
 *  @return A new reference (the library releases it), or NULL for `"data": null`.
 *  Threads: the callback answering a STATS request (a delivery pool thread, or the thread
 *  dispatching the connection's queue), or the caller of snats_service_get_stats(). */
typedef json_t *(*snats_stats_handler)(const char *endpoint_name, void *closure);

/**
 * @brief Creates a service configuration.
 * @param[out] cfg On SNATS_OK owned (snats_service_config_destroy()); else NULL.
 * @param name    Copied; checked by snats_service_create(): letters, digits, `-`, `_`.
 * @param version Copied; checked by snats_service_create(): a semantic version (1.0.0).
 * @retval SNATS_OK created. @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: no. Threads: any.
 */
snats_status snats_service_config_create(snats_service_config **cfg, const char *name, const char *version) SNATS_NODISCARD;

/** @brief Destroys a service configuration. @param cfg Taken; NULL is a no-op. */
void snats_service_config_destroy(snats_service_config *cfg);

/** @brief Sets the description INFO reports. @param cfg Borrowed. @param description Copied; NULL for "".
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p cfg is NULL. */
snats_status snats_service_config_set_description(snats_service_config *cfg, const char *description) SNATS_NODISCARD;

/** @brief Sets the service metadata. @param cfg Borrowed.
 *  @param metadata Borrowed, read before return: a JSON object of strings; NULL for {}.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL @p cfg, or not an object of strings. */
snats_status snats_service_config_set_metadata(snats_service_config *cfg, const json_t *metadata) SNATS_NODISCARD;

/** @brief Sets the default queue group of the service's endpoints ("q" when NULL), or with
 *  @p disabled true plain subscriptions, so that every instance receives every request.
 *  @param cfg Borrowed. @param queue_group Copied; NULL or "" for the default.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p cfg is NULL. */
snats_status snats_service_config_set_queue_group(snats_service_config *cfg, const char *queue_group, bool disabled) SNATS_NODISCARD;

/** @brief Sets the done callback. @param cfg Borrowed. @param cb NULL clears it.
 *  @param closure Passed to @p cb; must stay valid until snats_service_destroy() of every
 *  service made from @p cfg has returned.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p cfg is NULL. */
snats_status snats_service_config_set_done_cb(snats_service_config *cfg, snats_service_done_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Sets the asynchronous error callback. @param cfg Borrowed. @param cb NULL clears it.
 *  @param closure Passed to @p cb; valid as the done callback's must be.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p cfg is NULL. */
snats_status snats_service_config_set_error_cb(snats_service_config *cfg, snats_service_error_handler cb,
                                               void *closure) SNATS_NODISCARD;

/** @brief Sets the STATS `data` callback. @param cfg Borrowed. @param cb NULL clears it.
 *  @param closure Passed to @p cb; valid as the done callback's must be.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p cfg is NULL. */
snats_status snats_service_config_set_stats_cb(snats_service_config *cfg, snats_stats_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Creates an endpoint configuration (all defaults: subject = endpoint name, inherited
 *  queue group, no metadata, the connection's pending limits).
 *  @param[out] cfg On SNATS_OK owned (snats_endpoint_config_destroy()); else NULL.
 *  @retval SNATS_OK created. @retval SNATS_INVALID_ARG @p cfg is NULL. */
snats_status snats_endpoint_config_create(snats_endpoint_config **cfg) SNATS_NODISCARD;

/** @brief Destroys an endpoint configuration. @param cfg Taken; NULL is a no-op. */
void snats_endpoint_config_destroy(snats_endpoint_config *cfg);

/** @brief Sets the subject (prefixed by the groups); NULL or "" uses the endpoint's name.
 *  @param cfg Borrowed. @param subject Copied; checked when the endpoint is added.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p cfg is NULL. */
snats_status snats_endpoint_config_set_subject(snats_endpoint_config *cfg, const char *subject) SNATS_NODISCARD;

/** @brief Sets the endpoint metadata INFO reports. @param cfg Borrowed.
 *  @param metadata Borrowed, read before return: an object of strings; NULL for null.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL @p cfg, or not an object of strings. */
snats_status snats_endpoint_config_set_metadata(snats_endpoint_config *cfg, const json_t *metadata) SNATS_NODISCARD;

/** @brief Sets the endpoint's queue group (NULL or "" inherits), or disables it.
 *  @param cfg Borrowed. @param queue_group Copied.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG @p cfg is NULL. */
snats_status snats_endpoint_config_set_queue_group(snats_endpoint_config *cfg, const char *queue_group, bool disabled) SNATS_NODISCARD;

/** @brief Lets the handler work on up to @p concurrency requests at once (default 1: one at a
 *  time, in order). With more than 1 the endpoint gets that many threads of its own (handlers
 *  that block, on a database say, then hold none of the delivery pool's); on a connection
 *  bound to a dispatch queue they run on the threads dispatching it instead. For slow
 *  handlers; the order is then lost.
 *  @param cfg Borrowed. @param concurrency 1 to 1024.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or out of range. */
snats_status snats_endpoint_config_set_concurrency(snats_endpoint_config *cfg, int concurrency) SNATS_NODISCARD;

/** @brief Sets the pending limits of the endpoint's subscription (0 = unlimited); past them
 *  requests are dropped and the service's error callback hears SNATS_SLOW_CONSUMER.
 *  @param cfg Borrowed. @param max_msgs >= 0. @param max_bytes >= 0.
 *  @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL or negative. */
snats_status snats_endpoint_config_set_pending_limits(snats_endpoint_config *cfg, int max_msgs, int64_t max_bytes) SNATS_NODISCARD;

/**
 * @brief Starts a service on @p conn: validates the configuration, then subscribes the nine
 *        `$SRV` handlers. Many services may share one connection.
 * @param[out] svc On SNATS_OK owned (snats_service_destroy()); else NULL.
 * @param conn Borrowed; must outlive the service handle. @param cfg Borrowed, copied.
 * @retval SNATS_OK running.
 * @retval SNATS_INVALID_ARG NULL argument, invalid name, version or queue group (nothing subscribed).
 * @retval SNATS_CONNECTION_CLOSED, SNATS_DRAINING the connection cannot subscribe.
 * Blocks: no. Threads: any.
 */
snats_status snats_service_create(snats_service **svc, snats_conn *conn, const snats_service_config *cfg) SNATS_NODISCARD;

/**
 * @brief Adds an endpoint, subscribed at once (also after the service started).
 * @param[out] ep May be NULL; on SNATS_OK the endpoint, borrowed from the service (valid
 *                until snats_service_destroy()); else NULL.
 * @param svc Borrowed. @param name Copied: letters, digits, `-`, `_`.
 * @param cfg Borrowed, copied; NULL for the defaults.
 * @param handler Called for each request. @param closure Passed to @p handler.
 * @retval SNATS_OK added. @retval SNATS_INVALID_ARG NULL argument, bad name, subject or queue group.
 * @retval SNATS_ILLEGAL_STATE the service has stopped.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_DRAINING the connection cannot subscribe.
 * Blocks: no. Threads: any, handlers included.
 */
snats_status snats_service_add_endpoint(snats_endpoint **ep, snats_service *svc, const char *name,
                                        const snats_endpoint_config *cfg, snats_micro_handler handler, void *closure) SNATS_NODISCARD;

/**
 * @brief Adds a group: a subject prefix ("" adds none) with a default queue group.
 * @param[out] group On SNATS_OK owned (snats_group_destroy(), at any time: its endpoints stay);
 *                   else NULL.
 * @param svc Borrowed. @param name Copied: a subject without `>`, or "".
 * @param queue_group Copied; NULL or "" inherits. @param disabled true: plain subscriptions.
 * @retval SNATS_OK added. @retval SNATS_INVALID_ARG a NULL argument or a bad name.
 * @retval SNATS_ILLEGAL_STATE the service has stopped.
 */
snats_status snats_service_add_group(snats_group **group, snats_service *svc, const char *name,
                                     const char *queue_group, bool disabled) SNATS_NODISCARD;

/** @brief Adds a group inside @p parent (prefixes join with "."). Parameters and statuses as
 *  snats_service_add_group(). */
snats_status snats_group_add_group(snats_group **group, snats_group *parent, const char *name,
                                   const char *queue_group, bool disabled) SNATS_NODISCARD;

/** @brief Adds an endpoint under @p group's prefix. Parameters and statuses as
 *  snats_service_add_endpoint(). */
snats_status snats_group_add_endpoint(snats_endpoint **ep, snats_group *group, const char *name,
                                      const snats_endpoint_config *cfg, snats_micro_handler handler, void *closure) SNATS_NODISCARD;

/** @brief Releases a group handle (not its endpoints). @param group Taken; NULL is a no-op. */
void snats_group_destroy(snats_group *group);

/**
 * @brief Stops the service: drains every endpoint and `$SRV` subscription (requests already
 *        received are still handled), waits for the handlers, then runs the done callback.
 *        Idempotent: a concurrent call waits for the first to finish.
 * @param svc Borrowed.
 * @retval SNATS_OK stopped (or stopping, when called from one of its handlers).
 * @retval SNATS_INVALID_ARG @p svc is NULL.
 * Blocks: for the drains (a server round trip each, at most 5 s each) and for running handlers
 * (at most 30 s; the done callback then runs when they return); from one of the service's own
 * handlers it does not wait. Threads: any, handlers included.
 */
snats_status snats_service_stop(snats_service *svc) SNATS_NODISCARD;

/** @brief Whether the service has stopped (true for NULL). @param svc Borrowed. */
bool snats_service_is_stopped(snats_service *svc);

/** @brief Zeroes every endpoint's counters and restarts the `started` clock.
 *  @param svc Borrowed. @retval SNATS_OK reset. @retval SNATS_INVALID_ARG @p svc is NULL. */
snats_status snats_service_reset(snats_service *svc) SNATS_NODISCARD;

/** @brief Stops (as snats_service_stop()) and frees the service. @param svc Taken; NULL is a
 *  no-op. Its endpoint handles are invalid afterwards. Blocks: as snats_service_stop().
 *  Threads: any, but not the service's own handlers or callbacks. */
void snats_service_destroy(snats_service *svc);

/** @brief The instance id (22 characters). @param svc Borrowed. @return Borrowed, valid while
 *  @p svc is; NULL for NULL. */
const char *snats_service_id(snats_service *svc);

/** @brief This instance's INFO document. @param[out] info On SNATS_OK a new reference; else NULL.
 *  @param svc Borrowed. @retval SNATS_OK made. @retval SNATS_INVALID_ARG a NULL argument. */
snats_status snats_service_get_info(json_t **info, snats_service *svc) SNATS_NODISCARD;

/** @brief This instance's STATS document. @param[out] stats On SNATS_OK a new reference; else NULL.
 *  @param svc Borrowed. @retval SNATS_OK made. @retval SNATS_INVALID_ARG a NULL argument. */
snats_status snats_service_get_stats(json_t **stats, snats_service *svc) SNATS_NODISCARD;

/** @brief The endpoint's name. @param ep Borrowed. @return Borrowed, valid while its service
 *  handle is; NULL for NULL. */
const char *snats_endpoint_name(snats_endpoint *ep);

/** @brief The endpoint's full subject. @param ep Borrowed. @return As snats_endpoint_name(). */
const char *snats_endpoint_subject(snats_endpoint *ep);

/** @brief The request as a message (subject, reply, headers, data: the snats_msg_* getters).
 *  @param req Borrowed. @return Borrowed, valid as long as @p req; NULL for NULL. */
const snats_msg *snats_micro_request_msg(snats_micro_request *req);

/**
 * @brief Answers the request with @p len bytes and optional headers.
 * @param req Borrowed. @param headers Borrowed for the call; NULL for none.
 * @param data Borrowed for the call; NULL allowed when @p len is 0.
 * @retval SNATS_OK sent. @retval SNATS_INVALID_ARG NULL @p req, or NULL @p data with @p len > 0.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_MAX_PAYLOAD, SNATS_NOT_CONNECTED as snats_publish()
 *         (the endpoint counts the failure in num_errors).
 * Blocks: no. Threads: any, also after the handler returned (with a retained request).
 */
snats_status snats_micro_request_respond(snats_micro_request *req, const snats_headers *headers,
                                         const void *data, size_t len) SNATS_NODISCARD;

/** @brief Answers with a JSON document. @param req Borrowed. @param json Borrowed for the call.
 *  @retval SNATS_OK sent; others as snats_micro_request_respond(). */
snats_status snats_micro_request_respond_json(snats_micro_request *req, const json_t *json) SNATS_NODISCARD;

/**
 * @brief Answers with an error: headers `Nats-Service-Error: description` and
 *        `Nats-Service-Error-Code: code`, @p data as the body. Counted in num_errors, and
 *        last_error becomes "code:description".
 * @param req Borrowed. @param code Borrowed for the call; non-empty. @param description
 *        Borrowed for the call; non-empty.
 * @param headers Borrowed for the call: more headers to send; NULL for none.
 * @param data Borrowed for the call; NULL allowed when @p len is 0.
 * @retval SNATS_OK sent. @retval SNATS_INVALID_ARG NULL, or an empty code or description.
 * Others as snats_micro_request_respond().
 */
snats_status snats_micro_request_respond_error(snats_micro_request *req, const char *code, const char *description,
                                               const snats_headers *headers, const void *data, size_t len) SNATS_NODISCARD;

/** @brief Keeps a request beyond its handler call, for an answer from another thread or an
 *  event loop. The endpoint counts it in flight until it is answered: its processing time runs
 *  until the answer, its num_requests (and num_errors) count then, and snats_service_stop()
 *  waits for the answer (or the release of a request never answered, counted then).
 *  @param req Borrowed. @return @p req. Threads: any. */
snats_micro_request *snats_micro_request_retain(snats_micro_request *req);

/** @brief Drops a retained request. @param req Taken; NULL is a no-op. */
void snats_micro_request_release(snats_micro_request *req);

/**
 * @brief Discovers services (any NATS client's): sends `$SRV.PING[.name[.id]]` and gathers the
 *        answers that arrive within @p timeout_ms (or until @p max_replies).
 * @param[out] replies On SNATS_OK a new reference to a JSON array of PING documents (empty when
 *                     no service answered); else NULL. A document counts when its `type` is
 *                     the verb's `io.nats.micro.v1.*_response`, or when it has no `type` but
 *                     names a service (`name` and `id`: older micro services). Other replies
 *                     (not JSON, another type) are left out and reported to the connection's
 *                     error callback as SNATS_INVALID_JSON, with how many and why.
 * @param conn Borrowed. @param name Borrowed; NULL for every service. @param id Borrowed; NULL
 *             for every instance (needs @p name). @param timeout_ms > 0.
 * @param max_replies 0 for no limit.
 * @retval SNATS_OK gathered. @retval SNATS_INVALID_ARG NULL @p replies or @p conn, an id without
 *         a name, a bad name, timeout_ms <= 0, max_replies < 0.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED the connection cannot ask.
 * Blocks: up to @p timeout_ms (returns early when no service exists). Threads: any.
 */
snats_status snats_micro_ping(json_t **replies, snats_conn *conn, const char *name, const char *id,
                              int64_t timeout_ms, int max_replies) SNATS_NODISCARD;

/** @brief As snats_micro_ping(), gathering INFO documents. Blocks: as snats_micro_ping(). */
snats_status snats_micro_info(json_t **replies, snats_conn *conn, const char *name, const char *id,
                              int64_t timeout_ms, int max_replies) SNATS_NODISCARD;

/** @brief As snats_micro_ping(), gathering STATS documents. Blocks: as snats_micro_ping(). */
snats_status snats_micro_stats(json_t **replies, snats_conn *conn, const char *name, const char *id,
                               int64_t timeout_ms, int max_replies) SNATS_NODISCARD;

/**
 * @brief Receives the outcome of a gathering that does not block: snats_micro_ping_cb() and
 *        its INFO and STATS forms, snats_rpc_client_describe_cb().
 * @param status  SNATS_OK, or why nothing was gathered (SNATS_CONNECTION_CLOSED: the
 *                connection closed first); snats_last_error() on this thread says more.
 * @param value   With SNATS_OK, borrowed for the call (json_incref() to keep it): the same
 *                array the blocking form returns; else NULL.
 * @param closure The pointer given with the call, untouched.
 * Threads: on the delivery pool, or in snats_dispatch_queue_dispatch() of the connection's
 * dispatch queue (an event loop completes its future there), after the timeout (earlier when
 * @p max_replies came, or when no service exists). Any function may be called inside,
 * blocking ones included.
 */
typedef void (*snats_json_handler)(snats_status status, const json_t *value, void *closure);

/**
 * @brief As snats_micro_ping() without waiting: @p cb runs once with the documents gathered.
 * @param conn Borrowed. @param name As snats_micro_ping(). @param id As snats_micro_ping().
 * @param timeout_ms As snats_micro_ping(). @param max_replies As snats_micro_ping().
 * @param cb Required. @param closure Passed to @p cb; must stay valid until @p cb has run.
 * @retval SNATS_OK the PING is sent; @p cb will run exactly once.
 * @retval SNATS_INVALID_ARG NULL @p conn or @p cb, an id without a name, a bad name,
 *         timeout_ms <= 0, max_replies < 0.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED the connection cannot ask.
 * With any status but SNATS_OK, @p cb is never called.
 * Blocks: no. Threads: any, callbacks included.
 */
snats_status snats_micro_ping_cb(snats_conn *conn, const char *name, const char *id, int64_t timeout_ms,
                                 int max_replies, snats_json_handler cb, void *closure) SNATS_NODISCARD;

/** @brief As snats_micro_ping_cb(), gathering INFO documents. */
snats_status snats_micro_info_cb(snats_conn *conn, const char *name, const char *id, int64_t timeout_ms,
                                 int max_replies, snats_json_handler cb, void *closure) SNATS_NODISCARD;

/** @brief As snats_micro_ping_cb(), gathering STATS documents. */
snats_status snats_micro_stats_cb(snats_conn *conn, const char *name, const char *id, int64_t timeout_ms,
                                  int max_replies, snats_json_handler cb, void *closure) SNATS_NODISCARD;

/** @} */

/** \defgroup rpcGroup RPC: namespaced remote procedure calls
 *  JSON-RPC-style calls over NATS, built on the micro layer (docs/RPC.md has the wire format,
 *  so that any NATS client can call a swiftnats server or serve one).
 *
 *  A server for namespace `ns` is a micro service named `ns`; each method is one of its
 *  endpoints, on subject `<root>.<ns>.[<prefix>.]<method>` (root "rpc" by default), queue group
 *  "q", so that every process serving `ns` shares the calls, and `snats micro info|stats ns`
 *  lists and counts them. Requests are `{"id", "method", "params"}`; replies
 *  `{"id", "result", "error"}`. Error codes follow JSON-RPC 2.0: -32700 parse error, -32600
 *  invalid request, -32601 method not found, -32602 invalid params, -32603 internal error,
 *  -32000..-32099 for servers. An error's `data` is an object with the server's `namespace`,
 *  `instance`, `host` and `method`, and `traceback` and `details` when the handler gave them.
 *
 *  A client calls one namespace, or a group of namespaces in order: a namespace with no server
 *  for the method passes the call to the next. A method no namespace has fails at once with
 *  SNATS_RPC_ERROR, code -32601, never by timing out.
 *
 *  Outcomes: SNATS_OK with `*result` (a new reference; JSON null is a json_t too), or
 *  SNATS_RPC_ERROR with `*error` = `{"code": int, "message": string, "data": any}` (a new
 *  reference, when @p error is not NULL); any other status is a local failure (SNATS_TIMEOUT,
 *  SNATS_CONNECTION_CLOSED, ...) with both outputs NULL.
 *
 *  Unless a function says otherwise: Blocks: no (accessors, registrations and answers; an
 *  answer is a publish, which waits only as snats_publish() does). Threads: any, handlers and
 *  callbacks included.
 *  @{ */

typedef struct snats_rpc_server snats_rpc_server;
typedef struct snats_rpc_client snats_rpc_client;
typedef struct snats_rpc_request snats_rpc_request;
typedef struct snats_rpc_stream snats_rpc_stream;

/**
 * @brief Handles one call of a method.
 * @param req     Borrowed for the call. Answer it with snats_rpc_request_respond(),
 *                snats_rpc_request_fail() or snats_rpc_request_error() (after any number of
 *                snats_rpc_request_send_item() for a streamed result). To answer later from
 *                another thread, snats_rpc_request_retain() it. A handler that returns without
 *                answering or retaining answers -32603 "Internal error: the handler of ...
 *                returned without a result".
 * @param params  Borrowed, valid as long as @p req: an object or an array (`{}` when the caller
 *                sent none), already checked against the method's parameter description.
 * @param closure The pointer given at registration, untouched.
 * Threads: as ::snats_micro_handler, the method being a micro endpoint: a delivery pool thread
 * or the connection's dispatch queue, one call at a time, in order (up to `concurrency` at
 * once when registered so, as snats_endpoint_config_set_concurrency() says). Any function may
 * be called inside, blocking ones included.
 */
typedef void (*snats_rpc_handler)(snats_rpc_request *req, const json_t *params, void *closure);

/**
 * @brief Receives the outcome of snats_rpc_client_call_cb().
 * @param status  SNATS_OK, SNATS_RPC_ERROR, or a local failure (SNATS_TIMEOUT,
 *                SNATS_CONNECTION_CLOSED...); snats_last_error() describes a failure.
 * @param result  Borrowed for the call: the result on SNATS_OK, else NULL.
 * @param error   Borrowed for the call: the error object on SNATS_RPC_ERROR, else NULL.
 * Threads: on the delivery pool, or in the connection's dispatch queue; the client's callbacks
 * one at a time, in order with each other (not with the connection's events). Calls that
 * snats_rpc_client_destroy() fails are called on the thread destroying the client; those the
 * connection's closing fails, as a connection event just before the closed callback. Any
 * function may be called inside, blocking ones included.
 */
typedef void (*snats_rpc_callback)(snats_status status, const json_t *result, const json_t *error, void *closure);

/**
 * @brief Creates the server of a namespace (not yet serving: register methods, then start).
 * @param[out] server On SNATS_OK owned (snats_rpc_server_destroy()); else NULL.
 * @param conn      Borrowed; must outlive the server. Many servers and clients may share it.
 * @param namespace_ Copied: letters, digits, `-` and `_` (it names the micro service).
 * @param root      Copied; NULL for "rpc".
 * @retval SNATS_OK created. @retval SNATS_INVALID_ARG a NULL argument, a bad namespace or root.
 * Blocks: no. Threads: any.
 */
snats_status snats_rpc_server_create(snats_rpc_server **server, snats_conn *conn, const char *namespace_,
                                     const char *root) SNATS_NODISCARD;

/** @brief Stops (as snats_rpc_server_stop()) and frees the server. @param server Taken; NULL is
 *  a no-op. Blocks: as snats_rpc_server_stop(). Threads: any, but not its own handlers. */
void snats_rpc_server_destroy(snats_rpc_server *server);

/**
 * @brief Registers a method, before or after start.
 * @param server  Borrowed.
 * @param method  Copied: dot-separated subject tokens, no wildcards (`math.add`). Its micro
 *                endpoint name replaces what ADR-32 forbids with `_` (`math_add`); two methods
 *                whose endpoint names would clash are refused.
 * @param params  Borrowed, read before return; NULL for no checking. A JSON array describing
 *                the parameters: each item a name (`"a"`: required, any type) or an object
 *                `{"name": "a", "type": "string"|"number"|"integer"|"boolean"|"array"|"object"|"null"|"any",
 *                "required": bool, "kind": "var_positional"|"var_keyword"}` (the name `*` is
 *                reserved). Calls that do not fit get -32602 naming the parameter;
 *                snats_rpc_client_describe() shows it. The handler's params are an array
 *                (positional), an object (named), or an object whose `"*"` key holds the first
 *                values by position and whose other keys name the rest (a call that passes both:
 *                docs/RPC.md), with or without a description.
 * @param description Copied; NULL for none.
 * @param concurrency How many calls the handler may work on at once (0 or 1: one at a time).
 * @param handler Called for each call. @param closure Passed to @p handler.
 * @retval SNATS_OK registered (and, when running, subscribed).
 * @retval SNATS_INVALID_ARG a NULL argument, a bad method name or description, a name clash,
 *         concurrency out of 0..1024.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_DRAINING the connection cannot subscribe.
 * Blocks: when running, for a flush (at most 5 s). Threads: any, handlers included.
 */
snats_status snats_rpc_server_register(snats_rpc_server *server, const char *method, const json_t *params,
                                       const char *description, int concurrency, snats_rpc_handler handler,
                                       void *closure) SNATS_NODISCARD;

/**
 * @brief As snats_rpc_server_register(), for a method that streams its result (its handler
 *        answers with snats_rpc_request_send_item() and snats_rpc_request_end_stream()): the
 *        endpoint's metadata says so (`rpc.stream`: `"true"`), snats_rpc_client_describe()
 *        lists it with `"stream": true`, and proxies (the Python binding's) iterate it.
 *        Callers may still call it plainly (all items in one array).
 */
snats_status snats_rpc_server_register_stream(snats_rpc_server *server, const char *method, const json_t *params,
                                              const char *description, int concurrency, snats_rpc_handler handler,
                                              void *closure) SNATS_NODISCARD;

/**
 * @brief Starts serving every registered method: creates the micro service and its endpoints
 *        and flushes, so that on return any client of the server's NATS server can call them.
 * @param server Borrowed. @param prefix Copied; NULL or "" for none. `api` serves `math.add`
 *               as `api.math.add`, on `rpc.<ns>.api.math.add`.
 * @retval SNATS_OK serving. @retval SNATS_INVALID_ARG NULL @p server or a bad prefix.
 * @retval SNATS_ILLEGAL_STATE already serving.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_DRAINING the connection cannot subscribe.
 * Blocks: for a flush (at most 5 s). Threads: any.
 */
snats_status snats_rpc_server_start(snats_rpc_server *server, const char *prefix) SNATS_NODISCARD;

/**
 * @brief Stops serving: the micro service drains (calls already received are answered) and
 *        stops. The server may be started again. Idempotent.
 * @param server Borrowed. @retval SNATS_OK stopped. @retval SNATS_INVALID_ARG @p server is NULL.
 * Blocks: as snats_service_stop(). Threads: any.
 */
snats_status snats_rpc_server_stop(snats_rpc_server *server) SNATS_NODISCARD;

/** @brief The running micro service's instance id. @param server Borrowed.
 *  @return Borrowed, valid until the server is started again or destroyed; NULL when not
 *  running or for NULL. */
const char *snats_rpc_server_id(snats_rpc_server *server);

/** @brief The method called, with the server's prefix. @param req Borrowed.
 *  @return Borrowed, valid as long as @p req; NULL for NULL. */
const char *snats_rpc_request_method(snats_rpc_request *req);

/** @brief The call's params (as the handler received them). @param req Borrowed.
 *  @return Borrowed, valid as long as @p req; NULL for NULL. */
const json_t *snats_rpc_request_params(snats_rpc_request *req);

/**
 * @brief Answers the call with @p result. After streamed items a non-null @p result is sent as
 *        one more item, and the stream then ends. A streaming method ends its stream with
 *        snats_rpc_request_end_stream() instead (a stream may have no items).
 * @param req Borrowed. @param result Borrowed for the call; NULL sends JSON null.
 * @retval SNATS_OK sent. @retval SNATS_INVALID_ARG @p req is NULL.
 * @retval SNATS_ILLEGAL_STATE the call was already answered.
 * @retval SNATS_MAX_PAYLOAD, SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED as snats_publish().
 *         A reply that cannot be sent is never dropped silently: the caller is answered
 *         -32603 "Internal error: the reply could not be sent: ..." when that can be sent,
 *         the endpoint counts an error, and the connection's error callback hears of it.
 * Blocks: no. Threads: any (a retained request from any thread).
 */
snats_status snats_rpc_request_respond(snats_rpc_request *req, const json_t *result) SNATS_NODISCARD;

/**
 * @brief Sends one item of a streamed result. A caller reading a stream
 *        (snats_rpc_client_call_stream()) receives it at once; a plain caller receives every
 *        item in one array when the call is answered. Items sent from several threads (a
 *        retained request) leave in the order of their calls.
 * @param req Borrowed. @param item Borrowed for the call; NULL sends JSON null.
 * @retval SNATS_OK sent (or kept for a plain caller). Others as snats_rpc_request_respond();
 *         an item that could not be sent was not counted: the stream goes on without it.
 */
snats_status snats_rpc_request_send_item(snats_rpc_request *req, const json_t *item) SNATS_NODISCARD;

/**
 * @brief Ends a streamed result: a caller reading the stream gets the end frame (after zero
 *        or more items: an empty stream is an empty sequence), a plain caller every item sent,
 *        in one array (`[]` for none). What a streaming method calls when its items are done.
 * @param req Borrowed.
 * @retval SNATS_OK sent. Others as snats_rpc_request_respond().
 * Blocks: no. Threads: any (a retained request from any thread).
 */
snats_status snats_rpc_request_end_stream(snats_rpc_request *req) SNATS_NODISCARD;

/**
 * @brief Fails the call as a crashed handler: code -32603, message "Internal error: <message>";
 *        also ends a stream. The reply carries the micro error headers (the endpoint counts it).
 * @param req Borrowed. @param message Copied. @param traceback Copied; NULL for none, else put
 *        in the error's data as `traceback`.
 * @retval SNATS_OK sent. @retval SNATS_INVALID_ARG NULL @p req or @p message.
 * Others as snats_rpc_request_respond().
 */
snats_status snats_rpc_request_fail(snats_rpc_request *req, const char *message, const char *traceback) SNATS_NODISCARD;

/**
 * @brief Answers with an error of any code (JSON-RPC reserves -32768..-32000; servers use
 *        -32000..-32099, applications any other). Also ends a stream.
 * @param req Borrowed. @param code The code. @param message Copied.
 * @param details Borrowed for the call; NULL for none, else the error's data `details`.
 * @retval SNATS_OK sent. @retval SNATS_INVALID_ARG NULL @p req or @p message.
 * Others as snats_rpc_request_respond().
 */
snats_status snats_rpc_request_error(snats_rpc_request *req, int code, const char *message, const json_t *details) SNATS_NODISCARD;

/** @brief Keeps a call beyond its handler, to answer it later from any thread.
 *  @param req Borrowed. @return @p req (NULL for NULL); release with snats_rpc_request_release().
 *  Threads: any. */
snats_rpc_request *snats_rpc_request_retain(snats_rpc_request *req);

/** @brief Drops a retained call. @param req Taken; NULL is a no-op. */
void snats_rpc_request_release(snats_rpc_request *req);

/**
 * @brief Creates a client of one namespace.
 * @param[out] client On SNATS_OK owned (snats_rpc_client_destroy()); else NULL.
 * @param conn Borrowed; must outlive the client. @param namespace_ Copied.
 * @retval SNATS_OK created. @retval SNATS_INVALID_ARG a NULL argument or a bad namespace.
 * Blocks: no. Threads: any.
 */
snats_status snats_rpc_client_create(snats_rpc_client **client, snats_conn *conn, const char *namespace_) SNATS_NODISCARD;

/**
 * @brief Creates a client of a namespace group: each call goes to the first namespace that
 *        has a server for the method.
 * @param[out] client On SNATS_OK owned (snats_rpc_client_destroy()); else NULL.
 * @param conn Borrowed. @param namespaces Borrowed, copied: @p count namespace names, in order.
 * @param count >= 1. @param root Copied; NULL for "rpc".
 * @retval SNATS_OK created. @retval SNATS_INVALID_ARG a NULL argument, count < 1, a bad name.
 * Blocks: no. Threads: any.
 */
snats_status snats_rpc_client_create_group(snats_rpc_client **client, snats_conn *conn,
                                           const char *const *namespaces, int count, const char *root) SNATS_NODISCARD;

/** @brief Forgets the client's pending calls, fails its waiting callback calls with
 *  SNATS_ILLEGAL_STATE (their callbacks run on this thread before it returns), and frees it.
 *  @param client Taken; NULL is a no-op.
 *  Blocks: while those callbacks run, and until a callback of the client running on another
 *  thread has returned. Threads: any, but not its own callbacks. */
void snats_rpc_client_destroy(snats_rpc_client *client);

/**
 * @brief Sets the liveness interval of the client's calls from now on (docs/RPC.md
 *        "Liveness"; 1000 ms by default). A call whose timeout is longer than two intervals
 *        asks its server for a liveness frame every interval while it works on the call (queued
 *        behind other calls included); when neither the answer nor a frame comes for two
 *        intervals (the server died, or lost its link) the call fails with SNATS_CALL_LOST at
 *        once instead of waiting out its timeout. A long call whose server is alive runs to its
 *        timeout. Calls sent with snats_rpc_client_call_async() always ask (their wait is not
 *        known when they are sent). Streams do not: their timeout already bounds each wait.
 * @param client Borrowed. @param interval_ms 0 (no liveness frames: for servers that do not
 *        send them), or from 100 to 86400000 (a day). A server honours at least 100 and at
 *        most a day, whatever a request asks for.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG a NULL client, or an interval out of range.
 * Blocks: no. Threads: any.
 */
snats_status snats_rpc_client_set_heartbeat(snats_rpc_client *client, int64_t interval_ms) SNATS_NODISCARD;

/**
 * @brief Calls @p method and waits for its outcome.
 * @param[out] result On SNATS_OK a new reference to the result; else NULL.
 * @param[out] error  May be NULL; on SNATS_RPC_ERROR a new reference to the error object; else NULL.
 * @param client Borrowed. @param method Borrowed for the call (with the server's prefix).
 * @param params Borrowed for the call: an object, an array, or NULL for none.
 * @param timeout_ms > 0.
 * @retval SNATS_OK the result. @retval SNATS_RPC_ERROR the error (-32601 at once when no server has the method).
 * @retval SNATS_TIMEOUT no reply in time. @retval SNATS_INVALID_ARG a NULL argument, params
 *         neither object nor array, a bad method name, timeout_ms <= 0.
 * @retval SNATS_CALL_LOST the server working on the call went silent for two liveness
 *         intervals (snats_rpc_client_set_heartbeat()).
 * @retval SNATS_NOT_CONNECTED this client's own link to the server was lost while it waited
 *         (the call failed at once; it may or may not have run).
 * @retval SNATS_MAX_PAYLOAD, SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED the request could not be sent.
 * Blocks: up to @p timeout_ms. Threads: any, callbacks included.
 */
snats_status snats_rpc_client_call(json_t **result, json_t **error, snats_rpc_client *client, const char *method,
                                   const json_t *params, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Sends a call and returns at once; snats_rpc_client_get_response() collects it.
 * @param[out] id On SNATS_OK the call's id (never 0); else 0.
 * @param client Borrowed. @param method As snats_rpc_client_call().
 * @param params As snats_rpc_client_call().
 * @retval SNATS_OK sent. Others as snats_rpc_client_call(), and SNATS_ILLEGAL_STATE.
 * Blocks: no. Threads: any.
 */
snats_status snats_rpc_client_call_async(uint64_t *id, snats_rpc_client *client, const char *method,
                                         const json_t *params) SNATS_NODISCARD;

/**
 * @brief Waits for the outcome of a call sent with snats_rpc_client_call_async(). Once an
 *        outcome is returned the id is forgotten; after SNATS_TIMEOUT the call stays pending
 *        (ask again, or snats_rpc_client_cancel() it).
 * @param[out] result As snats_rpc_client_call(). @param[out] error As snats_rpc_client_call().
 * @param client Borrowed.
 * @param id From snats_rpc_client_call_async(). @param timeout_ms > 0.
 * @retval SNATS_OK, SNATS_RPC_ERROR, SNATS_TIMEOUT, SNATS_CALL_LOST as snats_rpc_client_call()
 *         (a lost call is forgotten).
 * @retval SNATS_NOT_FOUND no pending call has @p id (collected already, or cancelled).
 * Blocks: up to @p timeout_ms. Threads: any.
 */
snats_status snats_rpc_client_get_response(json_t **result, json_t **error, snats_rpc_client *client, uint64_t id,
                                           int64_t timeout_ms) SNATS_NODISCARD;

/** @brief Forgets a pending call; its reply, if any, is dropped. @param client Borrowed.
 *  @retval SNATS_OK forgotten. @retval SNATS_NOT_FOUND no pending call has @p id.
 *  @retval SNATS_INVALID_ARG @p client is NULL. Blocks: no. */
snats_status snats_rpc_client_cancel(snats_rpc_client *client, uint64_t id) SNATS_NODISCARD;

/**
 * @brief Sends a call whose outcome goes to @p cb: once, with the result, the error,
 *        SNATS_TIMEOUT after @p timeout_ms, or SNATS_CALL_LOST as soon as its server went
 *        silent for two liveness intervals.
 * @param client Borrowed. @param method As snats_rpc_client_call().
 * @param params As snats_rpc_client_call(). @param timeout_ms > 0.
 * @param cb Called once. @param closure Passed to @p cb.
 * @retval SNATS_OK sent (@p cb will be called). Others as snats_rpc_client_call_async() (@p cb
 *         will not be called).
 * Blocks: no. Threads: any.
 */
snats_status snats_rpc_client_call_cb(snats_rpc_client *client, const char *method, const json_t *params,
                                      int64_t timeout_ms, snats_rpc_callback cb, void *closure) SNATS_NODISCARD;

/**
 * @brief Sends every call at once and waits for all of them (@p timeout_ms in total).
 * @param[out] results On SNATS_OK a new reference to an array with one object per call, in
 *                     order: `{"status": 0, "result": ...}`, `{"status": 26, "error": {...}}`
 *                     (SNATS_RPC_ERROR), or `{"status": <snats_status>, "message": "..."}` for
 *                     a local failure such as SNATS_TIMEOUT. Else NULL.
 * @param client Borrowed. @param calls Borrowed for the call: an array of `["method", params]`
 *               (params optional) or `{"method": ..., "params": ...}`.
 * @param timeout_ms > 0.
 * @retval SNATS_OK every outcome is in @p results (some may be failures).
 * @retval SNATS_INVALID_ARG a NULL argument, @p calls not of that shape, timeout_ms <= 0.
 * Blocks: up to @p timeout_ms. Threads: any.
 */
snats_status snats_rpc_client_call_batch(json_t **results, snats_rpc_client *client, const json_t *calls,
                                         int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Calls a streaming method; read its items with snats_rpc_stream_next(). A method that
 *        does not stream gives its result as the one item.
 * @param[out] stream On SNATS_OK owned (snats_rpc_stream_destroy()); else NULL.
 * @param client Borrowed. @param method As snats_rpc_client_call().
 * @param params As snats_rpc_client_call().
 * @param timeout_ms > 0: the longest wait for each item.
 * @retval SNATS_OK sent. Others as snats_rpc_client_call_async().
 * Blocks: no. Threads: any.
 */
snats_status snats_rpc_client_call_stream(snats_rpc_stream **stream, snats_rpc_client *client, const char *method,
                                          const json_t *params, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief Waits for the next item of a stream.
 * @param[out] item On SNATS_OK a new reference to the item, or NULL when the stream has ended.
 * @param[out] error May be NULL; on SNATS_RPC_ERROR the error that ended the stream (-32601
 *                   when no server has the method).
 * @param stream Borrowed.
 * @retval SNATS_OK an item, or the end. @retval SNATS_RPC_ERROR the stream ended with an error.
 * @retval SNATS_TIMEOUT no item within the timeout (the stream stays open: call again).
 * @retval SNATS_PROTOCOL_ERROR items were lost (a slow reader); the stream has ended.
 * @retval SNATS_INVALID_ARG a NULL argument.
 * Blocks: up to the stream's timeout. Threads: any, one at a time per stream.
 */
snats_status snats_rpc_stream_next(json_t **item, json_t **error, snats_rpc_stream *stream) SNATS_NODISCARD;

/**
 * @brief Calls a streaming method without waiting: @p cb gets each item, then the end or the
 *        error. For event loops, where no thread may wait in snats_rpc_stream_next().
 * @param[out] stream May be NULL. On SNATS_OK, when given, owned: snats_rpc_stream_destroy()
 *                    stops the stream early and must be called in any case, before or after
 *                    the end (snats_rpc_stream_next() on it is SNATS_ILLEGAL_STATE). Else NULL.
 *                    @p cb may run before it is set.
 * @param client Borrowed. @param method As snats_rpc_client_call().
 * @param params As snats_rpc_client_call().
 * @param timeout_ms > 0: the longest wait for each item. Past it the stream ends with
 *                   SNATS_TIMEOUT (unlike snats_rpc_stream_next(), which may be called again).
 * @param cb Required. Called with SNATS_OK and the item (borrowed for the call) for each
 *           item, in order; then once more to end: SNATS_OK with a NULL item (the end: a
 *           method that does not stream gives its result as the one item, then the end),
 *           SNATS_RPC_ERROR with the error object (-32601 when no server has the method),
 *           SNATS_TIMEOUT, SNATS_PROTOCOL_ERROR (items were lost), or SNATS_CONNECTION_CLOSED.
 *           One call at a time; threads as snats_rpc_callback.
 * @param closure Passed to @p cb; must stay valid until the last call, or until
 *                snats_rpc_stream_destroy() has returned.
 * @retval SNATS_OK sent; @p cb will run until the end, or until the stream is destroyed.
 * Others as snats_rpc_client_call_async() (@p cb will not be called).
 * Blocks: no. Threads: any, callbacks included.
 */
snats_status snats_rpc_client_call_stream_cb(snats_rpc_stream **stream, snats_rpc_client *client,
                                             const char *method, const json_t *params, int64_t timeout_ms,
                                             snats_rpc_callback cb, void *closure) SNATS_NODISCARD;

/** @brief Stops reading (items still coming are dropped) and frees the stream. For a stream of
 *         snats_rpc_client_call_stream_cb(), its callback is not called after this returns
 *         (a call running on another thread is waited for; from the callback itself it
 *         returns at once). Blocks: only for that running call.
 *  @param stream Taken; NULL is a no-op. */
void snats_rpc_stream_destroy(snats_rpc_stream *stream);

/**
 * @brief Lists the methods of the client's namespaces (from micro INFO), sorted by name.
 * @param[out] methods On SNATS_OK a new reference to an array of `{"method", "namespace",
 *                     "subject", "params" (the description, or null), "description",
 *                     "instances", "stream" (true when registered with
 *                     snats_rpc_server_register_stream())}`; a method in two namespaces of a group is listed once, for
 *                     the namespace that answers it. Else NULL.
 * @param client Borrowed. @param timeout_ms > 0: how long to gather answers.
 * @retval SNATS_OK listed (maybe empty). @retval SNATS_INVALID_ARG a NULL argument, timeout_ms <= 0.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED the connection cannot ask.
 * Blocks: up to @p timeout_ms per namespace. Threads: any.
 */
snats_status snats_rpc_client_describe(json_t **methods, snats_rpc_client *client, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief As snats_rpc_client_describe() without waiting: every namespace is asked at once and
 *        @p cb runs once, after @p timeout_ms, with the same array (or the failure).
 * @param client Borrowed. @param timeout_ms > 0. @param cb Required (snats_json_handler).
 * @param closure Passed to @p cb; must stay valid until @p cb has run.
 * @retval SNATS_OK asked; @p cb will run exactly once.
 * @retval SNATS_INVALID_ARG a NULL argument, timeout_ms <= 0.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED the connection cannot ask (@p cb will
 *         not be called).
 * Blocks: no. Threads: any, callbacks included.
 */
snats_status snats_rpc_client_describe_cb(snats_rpc_client *client, int64_t timeout_ms, snats_json_handler cb,
                                           void *closure) SNATS_NODISCARD;

/** @name References: calls back to the caller
 *  A caller lends methods of its own as a *reference*, puts the reference's JSON in a call's
 *  params, and the server calls them back with a client made from it, while the call runs or
 *  after (docs/RPC.md "References"). A reference is `{"$ref": {"subject": "<inbox prefix>.<nuid>.<token>",
 *  "methods": {"<name>": {"params": <description or null>, "stream": bool}}, "function": bool}}`;
 *  its method `m` is called with an ordinary RPC request to `<subject>.m`, answered (with
 *  liveness frames) as a server's calls are. It answers until snats_rpc_ref_destroy(), or
 *  until its connection is destroyed; after that its callers get SNATS_RPC_ERROR -32601 at
 *  once (the reference's process answers that itself while connected; once it is gone, no
 *  responders does). All references of a connection share one subscription, made with the
 *  first: lending and destroying cost no SUB or UNSUB. The token is random (128 bits): a server
 *  given one reference cannot guess another. A client is made only of a reference under its
 *  own connection's inbox prefix, so a caller cannot point a server at any other subject.
 *  @{ */

typedef struct snats_rpc_ref snats_rpc_ref;

/**
 * @brief Lends methods as a reference.
 * @param[out] ref On SNATS_OK owned (snats_rpc_ref_destroy()); else NULL.
 * @param conn Borrowed. The reference stops answering when the connection is destroyed;
 *        destroying the reference before or after it is safe.
 * @param methods Borrowed, read before return: an array of method names, or an object whose
 *        keys are the names and whose values are null, a parameter description (as
 *        snats_rpc_server_register()'s @p params), or `{"params": <description or null>,
 *        "stream": bool, "description": string}` (`stream` true: a streamed result, as
 *        snats_rpc_server_register_stream()). Names are dot-separated subject tokens.
 * @param function Non-zero: the reference stands for one function: @p methods must name exactly
 *        one method, "call" (a Python receiver gets a callable).
 * @param handler Called for each call of any of the methods; snats_rpc_request_method() says
 *        which. As ::snats_rpc_handler, but on the connection's delivery pool (or dispatch
 *        queue), up to 32 calls of the connection's references at once, in no set order: a
 *        call back that calls a server that calls back again does not wait for itself.
 * @param closure Passed to @p handler; must stay valid until snats_rpc_ref_destroy() returns.
 * @retval SNATS_OK lent: callable by whoever gets its JSON (its subscription goes out before
 *         any later publish of @p conn, so before a call that carries it).
 * @retval SNATS_INVALID_ARG a NULL argument, no method, a bad or repeated name, a bad
 *         description, @p function without exactly the method "call".
 * @retval SNATS_CONNECTION_CLOSED the connection is closed (nobody could call the reference).
 * @retval SNATS_DRAINING the connection cannot subscribe.
 * Blocks: no. Threads: any, handlers included.
 */
snats_status snats_rpc_ref_create(snats_rpc_ref **ref, snats_conn *conn, const json_t *methods, int function,
                                  snats_rpc_handler handler, void *closure) SNATS_NODISCARD;

/** @brief The reference as JSON, to put in a call's params. @param ref Borrowed.
 *  @return Borrowed, valid as long as @p ref (json_incref() it to keep it longer); NULL for a
 *  NULL @p ref. Blocks: no. Threads: any. */
const json_t *snats_rpc_ref_json(const snats_rpc_ref *ref);

/** @brief The reference's subject (`<inbox prefix>.<nuid>.<n>`). @param ref Borrowed.
 *  @return Borrowed, valid as long as @p ref; NULL for a NULL @p ref. Blocks: no. Threads: any. */
const char *snats_rpc_ref_subject(const snats_rpc_ref *ref);

/** @brief Revokes the reference and frees it: later calls answer -32601. A call of it being
 *  handled on another thread is waited for (so @p closure may be freed once this returns);
 *  from its own handler it is not. A retained request of it may still be answered.
 *  @param ref Taken; NULL is a no-op. Blocks: while a handler of it runs on another thread.
 *  Threads: any. */
void snats_rpc_ref_destroy(snats_rpc_ref *ref);

/**
 * @brief Creates a client of a reference received in a call's params: its calls (every
 *        snats_rpc_client_* call form, liveness included) go to `<subject>.<method>`.
 * @param[out] client On SNATS_OK owned (snats_rpc_client_destroy()); else NULL.
 * @param conn Borrowed; must outlive the client.
 * @param ref Borrowed, read before return: `{"$ref": {"subject": ...}}` or its inner object.
 * @retval SNATS_OK created. @retval SNATS_INVALID_ARG a NULL argument, or @p ref is no
 *         reference: no valid subject, or one not under @p conn's inbox prefix.
 * A subject so long that a call's control line would pass the server's 4096 bytes makes each
 * call fail with SNATS_INVALID_SUBJECT (the connection is untouched).
 * Blocks: no. Threads: any, handlers included. snats_rpc_client_describe() of it fails with
 * SNATS_ILLEGAL_STATE: the reference lists its methods itself.
 */
snats_status snats_rpc_client_create_from_ref(snats_rpc_client **client, snats_conn *conn, const json_t *ref) SNATS_NODISCARD;

/** @} */

/** @} */

/** \defgroup jetStreamGroup JetStream: streams, consumers, publishing, pulling
 *  Persistence on a NATS server run with JetStream (`nats-server -js`). A ::snats_jetstream
 *  context says where the API is (`$JS.API.`, a domain's `$JS.<domain>.API.`, or an imported
 *  prefix) and how long its calls wait; any number of contexts may share a connection.
 *
 *  Configurations and infos are the server's own JSON documents (`StreamConfig`,
 *  `StreamInfo`, `ConsumerConfig`, `ConsumerInfo` of the JetStream API, durations in
 *  nanoseconds): every field the server knows passes through, so new server features need no
 *  new function. Documents passed in are borrowed for the call; documents handed out are new
 *  references (json_decref() them).
 *
 *  Errors: an error object of the API becomes SNATS_NOT_FOUND (its code is 404: no such
 *  stream, consumer or message) or SNATS_JS_API_ERROR (any other); snats_js_last_api_error()
 *  then gives its `code` and `err_code` (10071: wrong last sequence, ...) and
 *  snats_last_error() its description. SNATS_JS_NOT_ENABLED: nobody answers the API (the
 *  server runs without JetStream, or the account has none). Other statuses are local, as for
 *  snats_request(): SNATS_TIMEOUT, SNATS_NOT_CONNECTED, SNATS_CONNECTION_CLOSED,
 *  SNATS_INVALID_ARG (a NULL argument, a name with `.`, `*`, `>` or whitespace, a document that
 *  is not an object), SNATS_INVALID_SUBJECT.
 *
 *  Unless a function says otherwise: it blocks for up to the context's timeout, and may be
 *  called from any thread, callbacks included (a callback that blocks lends its pool thread).
 *  @{ */

typedef struct snats_jetstream snats_jetstream;
typedef struct snats_js_pub_ack snats_js_pub_ack;

/**
 * @brief Creates a JetStream context on a connection.
 * @param[out] js On SNATS_OK owned (snats_jetstream_destroy()); else NULL.
 * @param conn    Borrowed; must outlive the context.
 * @param options Borrowed, read before return; NULL for the defaults. An object with any of:
 *                `domain` (string: the API of that JetStream domain), `api_prefix` (string: an
 *                imported API, e.g. "hub.js"; not with `domain`), `timeout_ms` (integer > 0,
 *                default 5000: API calls, publish acks, double acks), `max_pending_publishes`
 *                (integer > 0, default 4000: the window of snats_js_publish_async()).
 * @retval SNATS_OK created. @retval SNATS_INVALID_ARG a NULL argument, an unknown member, a
 *         member of the wrong type, a bad domain or prefix, both given.
 * @retval SNATS_CONNECTION_CLOSED @p conn is closed.
 * Blocks: no (nothing is sent). Threads: any.
 */
snats_status snats_jetstream_create(snats_jetstream **js, snats_conn *conn, const json_t *options) SNATS_NODISCARD;

/** @brief Frees a context. Asynchronous publishes and fetches in flight still complete (their
 *  callbacks get the context's handle, valid memory until the last has run).
 *  @param js Taken; NULL is a no-op. Blocks: no. Threads: any. */
void snats_jetstream_destroy(snats_jetstream *js);

/**
 * @brief The codes of the last JetStream API error on the calling thread.
 * @param[out] code     Set to the error's HTTP-like code (400, 404, 503...), or the status that
 *                      ended a pull (409); 0 when the last failure was not an API error.
 * @param[out] err_code Set to the server's `err_code` (10059 stream not found, 10071 wrong last
 *                      sequence, 10070 wrong last message id, 10060 wrong expected stream...);
 *                      0 when none. Either may be NULL.
 * Valid until this thread's next failing call. Blocks: no. Threads: any.
 */
void snats_js_last_api_error(int *code, int *err_code);

/**
 * @brief The account's JetStream usage and limits (`$JS.API.INFO`).
 * @param[out] info On SNATS_OK a new reference (`memory`, `storage`, `streams`, `consumers`,
 *             `limits`...); else NULL.
 * @param js Borrowed.
 * Statuses, blocking and threads: as the group says.
 */
snats_status snats_js_account_info(json_t **info, snats_jetstream *js) SNATS_NODISCARD;

/** \name Streams
 *  @{ */

/**
 * @brief Creates a stream.
 * @param[out] info On SNATS_OK, when not NULL, a new reference to the stream's info; else NULL.
 * @param js     Borrowed.
 * @param config Borrowed: a `StreamConfig` object with at least `name`; e.g.
 *               `{"name": "ORDERS", "subjects": ["orders.>"], "retention": "workqueue",
 *               "storage": "memory", "max_age": 3600000000000, "num_replicas": 3,
 *               "duplicate_window": 120000000000, "allow_direct": true}`; mirrors and sources
 *               as the server takes them (`mirror`, `sources`).
 * @retval SNATS_OK created (or it exists with the same configuration).
 * @retval SNATS_JS_API_ERROR refused: err_code 10058 a stream of that name exists with another
 *         configuration, 10065 subjects overlap another stream's, ...
 * Other statuses, blocking and threads: as the group says.
 */
snats_status snats_js_stream_add(json_t **info, snats_jetstream *js, const json_t *config) SNATS_NODISCARD;

/** @brief Changes a stream's configuration (the whole `StreamConfig`, with its `name`).
 *  @param[out] info As snats_js_stream_add(). @retval SNATS_NOT_FOUND no such stream.
 *  Other parameters, statuses, blocking and threads: as snats_js_stream_add(). */
snats_status snats_js_stream_update(json_t **info, snats_jetstream *js, const json_t *config) SNATS_NODISCARD;

/** @brief Deletes a stream, its messages and its consumers.
 *  @param js Borrowed. @param name Borrowed for the call.
 *  @retval SNATS_OK deleted. @retval SNATS_NOT_FOUND no such stream.
 *  Other statuses, blocking and threads: as the group says. */
snats_status snats_js_stream_delete(snats_jetstream *js, const char *name) SNATS_NODISCARD;

/**
 * @brief A stream's info: `config`, `state` (`messages`, `bytes`, `first_seq`, `last_seq`,
 *        `consumer_count`...), `cluster`, `created`.
 * @param[out] info On SNATS_OK a new reference; else NULL.
 * @param js Borrowed. @param name Borrowed for the call.
 * @param options Borrowed; NULL or `{"subjects_filter": "orders.*"}` (adds `state.subjects`,
 *        the count per subject) and/or `{"deleted_details": true}` (adds `state.deleted`).
 * @retval SNATS_NOT_FOUND no such stream.
 * Other statuses, blocking and threads: as the group says.
 */
snats_status snats_js_stream_info(json_t **info, snats_jetstream *js, const char *name, const json_t *options) SNATS_NODISCARD;

/** @brief Every stream's info, as an array (all pages of `STREAM.LIST`: one request per page).
 *  @param[out] infos On SNATS_OK a new reference to an array (empty when there are none).
 *  @param js Borrowed. @param subject Borrowed; NULL for all, else only the streams listening on
 *  subjects that match it. Statuses, blocking (per page) and threads: as the group says. */
snats_status snats_js_stream_list(json_t **infos, snats_jetstream *js, const char *subject) SNATS_NODISCARD;

/** @brief The streams' names, as an array of strings. Parameters, statuses, blocking and
 *  threads: as snats_js_stream_list(). */
snats_status snats_js_stream_names(json_t **names, snats_jetstream *js, const char *subject) SNATS_NODISCARD;

/**
 * @brief Removes messages from a stream.
 * @param[out] purged When not NULL, set to how many messages went (0 on failure).
 * @param js Borrowed. @param name Borrowed for the call.
 * @param options Borrowed; NULL for all messages, else any of `filter` (a subject, wildcards
 *        allowed: only its messages), `seq` (those below this sequence), `keep` (all but the
 *        last `keep`); not `seq` with `keep`.
 * @retval SNATS_NOT_FOUND no such stream. Other statuses, blocking and threads: as the group
 *         says.
 */
snats_status snats_js_stream_purge(uint64_t *purged, snats_jetstream *js, const char *name, const json_t *options) SNATS_NODISCARD;

/**
 * @brief Reads a stored message through the stream's leader (`STREAM.MSG.GET`).
 * @param[out] msg On SNATS_OK owned (snats_msg_release()): its subject, headers and data as
 *             stored, plus the headers `Nats-Stream`, `Nats-Subject`, `Nats-Sequence` and
 *             `Nats-Time-Stamp` (RFC 3339), as a direct get has them; no reply subject.
 * @param js Borrowed. @param stream Borrowed for the call.
 * @param seq     A sequence (> 0), or 0 with @p subject.
 * @param subject Borrowed; NULL: the message at @p seq. With @p seq 0: the last message on
 *                @p subject (wildcards allowed); with @p seq > 0: the first on @p subject at or
 *                after @p seq.
 * @retval SNATS_NOT_FOUND no such stream (err_code 10059) or message (10037).
 * @retval SNATS_INVALID_ARG a NULL argument, or neither @p seq nor @p subject.
 * Other statuses, blocking and threads: as the group says.
 */
snats_status snats_js_stream_get_msg(snats_msg **msg, snats_jetstream *js, const char *stream, uint64_t seq,
                                     const char *subject) SNATS_NODISCARD;

/** @brief As snats_js_stream_get_msg(), answered by any replica (`DIRECT.GET`): faster, for
 *  streams created with `"allow_direct": true`. Other streams get no answer: SNATS_JS_NOT_ENABLED
 *  (2.10+ servers answer "no responders") or SNATS_TIMEOUT (2.9 servers answer nothing). A
 *  missing message is SNATS_NOT_FOUND (err_code 10037). */
snats_status snats_js_stream_direct_get(snats_msg **msg, snats_jetstream *js, const char *stream, uint64_t seq,
                                        const char *subject) SNATS_NODISCARD;

/**
 * @brief Receives the outcome of snats_js_stream_get_msg_async().
 * @param js The context's handle, valid during the call. @param status As
 *        snats_js_stream_get_msg() returns it. @param msg With SNATS_OK, owned by the callee
 *        (snats_msg_release()); else NULL. @param closure The pointer given with the call.
 * Threads: as a connection event: on the delivery pool, or in the connection's dispatch queue.
 */
typedef void (*snats_js_msg_handler)(snats_jetstream *js, snats_status status, snats_msg *msg, void *closure);

/** @brief As snats_js_stream_get_msg() (or, with @p direct, snats_js_stream_direct_get()),
 *  without blocking: @p cb runs once with the message or why there is none.
 *  @param cb Required. @param closure Passed to @p cb. @retval SNATS_OK sent: @p cb will run
 *  exactly once. Any other status (as snats_js_stream_get_msg()): it never runs.
 *  Blocks: no. Threads: any, callbacks included. */
snats_status snats_js_stream_get_msg_async(snats_jetstream *js, const char *stream, uint64_t seq, const char *subject,
                                           bool direct, snats_js_msg_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Deletes one stored message (a missing one is SNATS_NOT_FOUND, err_code 10037, whatever
 *  the server's own code for it). @param js Borrowed. @param stream Borrowed for the call.
 *  @param seq > 0. @param erase Also overwrites its bytes on disk (slower).
 *  @retval SNATS_NOT_FOUND no such stream or message. Other statuses, blocking and threads: as
 *  the group says. */
snats_status snats_js_stream_delete_msg(snats_jetstream *js, const char *stream, uint64_t seq, bool erase) SNATS_NODISCARD;

/** @} */

/** \name Consumers
 *  Pull consumers (no `deliver_subject`) are read with snats_js_fetch(); push consumers deliver
 *  to their `deliver_subject`, which a plain subscription (snats_subscribe()) reads.
 *  @{ */

/**
 * @brief Creates a consumer on a stream, or accepts one that exists with the same
 *        configuration.
 * @param[out] info On SNATS_OK, when not NULL, a new reference to its info (`name`, `config`,
 *             `num_pending`, `num_ack_pending`, `delivered`...); else NULL.
 * @param js Borrowed. @param stream Borrowed for the call.
 * @param config Borrowed: a `ConsumerConfig`; with `durable_name` (or `name`) it is named and
 *        durable (unless `inactive_threshold`), without one the server names an ephemeral one
 *        (read `name` from @p info). E.g. `{"durable_name": "worker", "ack_policy": "explicit",
 *        "filter_subject": "orders.new", "max_deliver": 5, "ack_wait": 30000000000,
 *        "backoff": [1000000000, 5000000000], "max_ack_pending": 100}`; push consumers add
 *        `deliver_subject`, `idle_heartbeat`, `flow_control`.
 * @retval SNATS_NOT_FOUND no such stream. @retval SNATS_JS_API_ERROR refused (10012: a
 *         consumer of that name exists and that setting cannot change, ...).
 * @retval SNATS_INVALID_ARG also: `name` and `durable_name` differ.
 * @retval SNATS_INVALID_SUBJECT a bad `filter_subject` or `filter_subjects` entry.
 * Other statuses, blocking and threads: as the group says.
 */
snats_status snats_js_consumer_add(json_t **info, snats_jetstream *js, const char *stream, const json_t *config) SNATS_NODISCARD;

/** @brief Changes a named consumer's configuration (fails on 2.10+ servers when it does not
 *  exist). Parameters, statuses, blocking and threads: as snats_js_consumer_add(). */
snats_status snats_js_consumer_update(json_t **info, snats_jetstream *js, const char *stream, const json_t *config) SNATS_NODISCARD;

/** @brief Deletes a consumer. @param js Borrowed. @param stream Borrowed for the call. @param consumer Borrowed for the call.
 *  @retval SNATS_NOT_FOUND no such stream or consumer. Other statuses, blocking and threads: as
 *  the group says. */
snats_status snats_js_consumer_delete(snats_jetstream *js, const char *stream, const char *consumer) SNATS_NODISCARD;

/** @brief A consumer's info. @param[out] info On SNATS_OK a new reference; else NULL.
 *  @retval SNATS_NOT_FOUND no such stream or consumer (err_code 10014). Other parameters,
 *  statuses, blocking and threads: as snats_js_consumer_delete(). */
snats_status snats_js_consumer_info(json_t **info, snats_jetstream *js, const char *stream, const char *consumer) SNATS_NODISCARD;

/** @brief Every consumer's info of a stream, as an array (all pages). @param[out] infos On
 *  SNATS_OK a new reference. @param js Borrowed. @param stream Borrowed for the call.
 *  Statuses, blocking (per page) and threads: as the group says. */
snats_status snats_js_consumer_list(json_t **infos, snats_jetstream *js, const char *stream) SNATS_NODISCARD;

/** @brief A stream's consumers' names, as an array of strings. As snats_js_consumer_list(). */
snats_status snats_js_consumer_names(json_t **names, snats_jetstream *js, const char *stream) SNATS_NODISCARD;

/** @} */

/** \name Any management call, by name, blocking or not
 *  The functions above, for bindings and event loops: an operation's name and its arguments
 *  as one JSON object, its answer as JSON. Operations and arguments: `account_info` {};
 *  `stream_add`, `stream_update` {"config"}; `stream_delete` {"name"}; `stream_info` {"name",
 *  "subjects_filter"?, "deleted_details"?}; `stream_list`, `stream_names` {"subject"?} (answer:
 *  an array); `stream_purge` {"name", "filter"?, "seq"?, "keep"?} (answer: {"success",
 *  "purged"}); `stream_delete_msg` {"name", "seq", "erase"?}; `consumer_add` (create or
 *  accept), `consumer_create` (fails if it exists differently, 2.10+), `consumer_update`
 *  {"stream", "config"}; `consumer_info`, `consumer_delete` {"stream", "name"};
 *  `consumer_list`, `consumer_names` {"stream"}. Deletes answer {"success": true}.
 *  @{ */

/**
 * @brief Runs a management operation and waits for its answer.
 * @param[out] result On SNATS_OK a new reference; else NULL.
 * @param js Borrowed. @param operation Borrowed for the call: a name above.
 * @param arguments Borrowed for the call; NULL for none.
 * @retval SNATS_INVALID_ARG also: an unknown operation, a missing or unknown argument.
 * Other statuses, blocking and threads: as the group and the typed function say.
 */
snats_status snats_js_call(json_t **result, snats_jetstream *js, const char *operation, const json_t *arguments) SNATS_NODISCARD;

/**
 * @brief Starts a management operation; @p cb runs once with its answer or failure.
 * @param js Borrowed. @param operation As snats_js_call(). @param arguments As snats_js_call() (copied before return).
 * @param cb Required: a ::snats_json_handler; the answer is borrowed for the call (with a failure,
 *        snats_last_error() and snats_js_last_api_error() on the callback's thread say why).
 *        Runs as a connection event: on the delivery pool, or in the connection's dispatch
 *        queue (an event loop completes its future there).
 * @param closure Passed to @p cb.
 * @retval SNATS_OK sent: @p cb will run exactly once. Any other status: it never runs.
 * Blocks: no. Threads: any, callbacks included.
 */
snats_status snats_js_call_async(snats_jetstream *js, const char *operation, const json_t *arguments,
                                 snats_json_handler cb, void *closure) SNATS_NODISCARD;

/** @} */

/** \name Publishing to streams
 *  A publish is a request to the stream listening on its subject; the stream answers with an
 *  ack (::snats_js_pub_ack: stream, sequence, duplicate) or refuses. Options (a JSON object,
 *  borrowed for the call; NULL for none): `msg_id` (string: de-duplication within the
 *  stream's `duplicate_window`: the same id again is acked as a duplicate and not stored),
 *  `expected_stream` (refused with err_code 10060 unless the subject's stream is this one),
 *  `expected_last_seq` (10071 unless the stream's last sequence is this),
 *  `expected_last_subject_seq` (10071 unless the last message on the subject has this
 *  sequence; 0: none yet), `expected_last_msg_id` (10070), `timeout_ms` (snats_js_publish()
 *  only: instead of the context's).
 *  @{ */

/**
 * @brief Publishes to a stream and waits for its ack.
 * @param[out] ack When not NULL: on SNATS_OK an owned ack (snats_js_pub_ack_destroy()); else
 *             NULL.
 * @param js Borrowed. @param subject Borrowed for the call; no wildcards.
 * @param headers Borrowed for the call; NULL for none.
 * @param data Borrowed for the call; NULL allowed when @p len is 0.
 * @param options Borrowed for the call; NULL or as the group says.
 * @retval SNATS_OK stored (or a duplicate: snats_js_pub_ack_duplicate()).
 * @retval SNATS_NO_RESPONDERS no stream listens on @p subject (tried three times, 250 ms apart,
 *         within the timeout: a stream between leaders answers no one for a moment).
 * @retval SNATS_JS_API_ERROR refused: an expectation failed (err_code as the group says), the
 *         stream is full with `discard` "new" (10077), ...
 * @retval SNATS_TIMEOUT no ack within the timeout: the message may or may not be stored
 *         (publish again with the same `msg_id` to be sure).
 * @retval SNATS_MAX_PAYLOAD too large. Other statuses: as snats_request().
 * Blocks: until the ack, up to the timeout. Threads: any, callbacks included.
 */
snats_status snats_js_publish(snats_js_pub_ack **ack, snats_jetstream *js, const char *subject,
                              const snats_headers *headers, const void *data, size_t len, const json_t *options) SNATS_NODISCARD;

/**
 * @brief Receives the outcome of one snats_js_publish_async().
 * @param js      The context's handle, valid during the call (even after
 *                snats_jetstream_destroy()).
 * @param status  SNATS_OK (stored), or the failure as snats_js_publish() would return it, and:
 *                SNATS_NOT_CONNECTED — the link to the server was lost after the publish was
 *                written and before its ack came (the message may or may not be stored:
 *                publish again with the same `msg_id`, which the duplicate window makes safe);
 *                SNATS_TIMEOUT — no ack within the context's timeout;
 *                SNATS_CONNECTION_CLOSED — the connection closed first.
 *                snats_last_error() and snats_js_last_api_error() on this thread say more.
 * @param ack     With SNATS_OK, borrowed for the call; else NULL.
 * @param closure The pointer given with the publish, untouched.
 * Threads: as a connection event: on the delivery pool, or in the connection's dispatch queue;
 * one at a time, in the order the outcomes came. Any function may be called inside, blocking
 * ones and snats_js_publish_async() included (not snats_js_publish_async_complete()).
 */
typedef void (*snats_js_pub_ack_handler)(snats_jetstream *js, snats_status status, const snats_js_pub_ack *ack,
                                         void *closure);

/**
 * @brief Publishes to a stream without waiting for the ack: @p cb gets it. Up to the context's
 *        `max_pending_publishes` acks may be awaited at once.
 * @param js Borrowed. @param subject Copied. @param headers Copied; NULL for none. @param data Copied.
 * @param options As the group says, without `timeout_ms` (acks wait the context's timeout).
 * @param cb Required. @param closure Passed to @p cb.
 * @retval SNATS_OK sent (or buffered while reconnecting: then its ack comes from the new link):
 *         @p cb will run exactly once.
 * @retval SNATS_TIMEOUT the window stayed full for the context's timeout (acks are not coming
 *         back). @retval SNATS_INVALID_ARG, SNATS_INVALID_SUBJECT, SNATS_MAX_PAYLOAD,
 *         SNATS_CONNECTION_CLOSED, SNATS_RECONNECT_BUFFER_FULL as snats_publish().
 * With any status but SNATS_OK, @p cb never runs.
 * Blocks: only while the window is full. Threads: any, callbacks included.
 */
snats_status snats_js_publish_async(snats_jetstream *js, const char *subject, const snats_headers *headers,
                                    const void *data, size_t len, const json_t *options,
                                    snats_js_pub_ack_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Waits until every asynchronous publish of the context made so far has its outcome and
 *  its callback has returned. @param js Borrowed. @param timeout_ms > 0.
 *  @retval SNATS_OK all done. @retval SNATS_TIMEOUT some still wait.
 *  @retval SNATS_ILLEGAL_STATE called from one of the context's ack callbacks (it would wait
 *  for itself). Blocks: up to @p timeout_ms. Threads: any other. */
snats_status snats_js_publish_async_complete(snats_jetstream *js, int64_t timeout_ms) SNATS_NODISCARD;

/** @brief How many asynchronous publishes of the context await their ack.
 *  @param js Borrowed. @param[out] pending Set (0 on failure). Blocks: no. Threads: any. */
snats_status snats_js_publish_async_pending(snats_jetstream *js, int *pending) SNATS_NODISCARD;

/**
 * @brief The outcome of one snats_js_publish_async_tagged(), as the tagged ack handler gets it.
 * A plain struct, 56 bytes on 64-bit platforms; a later version adds fields only behind a new
 * handler type.
 */
typedef struct snats_js_pub_outcome {
    uint64_t tag;             /**< The publish's tag. */
    uint64_t seq;             /**< The stream sequence with SNATS_OK; else 0. */
    const char *stream;       /**< The stream with SNATS_OK; else NULL. Consecutive records of one
                                   call with the same stream share the pointer. */
    const char *domain;       /**< The JetStream domain, NULL when none. */
    const char *error;        /**< NULL with SNATS_OK; else what snats_last_error() would say. */
    snats_status status;      /**< As the snats_js_pub_ack_handler's status. */
    int32_t api_code;         /**< As snats_js_last_api_error()'s code; 0 when none. */
    int32_t api_err_code;     /**< As snats_js_last_api_error()'s err_code; 0 when none. */
    bool duplicate;           /**< With SNATS_OK: the message id was a duplicate, nothing stored. */
} snats_js_pub_outcome;

/**
 * @brief Receives the outcomes of tagged asynchronous publishes: every outcome that came
 *        together (often hundreds), in the order they came.
 * @param js       The context's handle, valid during the call (even after destroy).
 * @param outcomes @p count records, and every string in them: borrowed for the call.
 * @param count    > 0.
 * @param closure  The pointer given to snats_js_set_tagged_ack_handler().
 * Threads: as a snats_js_pub_ack_handler: a connection event, one at a time, interleaved in order
 * with the outcomes of untagged publishes.
 */
typedef void (*snats_js_tagged_ack_handler)(snats_jetstream *js, const snats_js_pub_outcome *outcomes, size_t count,
                                            void *closure);

/**
 * @brief Sets where the outcomes of the context's tagged publishes go (replacing the handler set
 *        before: outcomes still to come, of publishes made before, go to the new one with its
 *        closure). For bindings and loops where a call per ack costs more than the ack: one
 *        call per batch of acks read together.
 * @param js Borrowed. @param cb Required. @param closure Passed to @p cb.
 * @retval SNATS_OK set. @retval SNATS_INVALID_ARG NULL @p js or @p cb.
 * Blocks: no. Threads: any.
 */
snats_status snats_js_set_tagged_ack_handler(snats_jetstream *js, snats_js_tagged_ack_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief As snats_js_publish_async(), the outcome going to the context's tagged ack handler as
 *        a record carrying @p tag (any value: the caller's key for this publish).
 * @retval SNATS_ILLEGAL_STATE no tagged ack handler is set. Other statuses, the window, blocking
 *         and threads: as snats_js_publish_async(); with SNATS_OK exactly one record will carry
 *         @p tag, with any other status none.
 */
snats_status snats_js_publish_async_tagged(snats_jetstream *js, const char *subject, const snats_headers *headers,
                                           const void *data, size_t len, const json_t *options, uint64_t tag) SNATS_NODISCARD;

/** @brief The stream that stored the message. @param ack Borrowed.
 *  @return Borrowed, valid as long as @p ack; NULL for NULL. Blocks: no. Threads: any. */
const char *snats_js_pub_ack_stream(const snats_js_pub_ack *ack);
/** @brief The message's sequence in the stream (that of the first copy, for a duplicate); 0 for
 *  NULL. Blocks: no. Threads: any. */
uint64_t snats_js_pub_ack_seq(const snats_js_pub_ack *ack);
/** @brief True when the message id was seen within the duplicate window: not stored again.
 *  Blocks: no. Threads: any. */
bool snats_js_pub_ack_duplicate(const snats_js_pub_ack *ack);
/** @brief The stream's JetStream domain; NULL for none. Borrowed, as long as @p ack. */
const char *snats_js_pub_ack_domain(const snats_js_pub_ack *ack);
/** @brief Frees an ack from snats_js_publish(). @param ack Taken; NULL is a no-op. Never for the
 *  ack lent to a ::snats_js_pub_ack_handler. Blocks: no. Threads: any. */
void snats_js_pub_ack_destroy(snats_js_pub_ack *ack);

/** @} */

/** \name Pulling from consumers, acknowledging
 *  A fetch sends one pull request for up to @p batch messages and gathers the answers on an
 *  inbox of its own. It ends when the batch is complete, when `max_bytes` is reached, when the
 *  server ends the pull (its expiry, `no_wait` with nothing left, the consumer deleted: 409),
 *  or when the idle heartbeats it asked for stop. Options (JSON, borrowed; NULL for none):
 *  `max_bytes` (integer: at most this many bytes), `heartbeat_ms` (integer, at most half of
 *  @p expires_ms: the server sends an idle heartbeat this often; two missed end the fetch with
 *  SNATS_MISSED_HEARTBEAT instead of waiting out the expiry of a server that is gone),
 *  `no_wait` (true: answer at once with what is there).
 *
 *  Messages of consumers with an ack policy must be acknowledged (snats_js_msg_ack() and its
 *  kin), else they come again after the consumer's `ack_wait`.
 *  @{ */

/**
 * @brief Pulls up to @p batch messages from a pull consumer and waits for them.
 * @param[out] msgs  An array of at least @p batch slots, filled from the start with owned
 *                   messages (snats_msg_release() each).
 * @param batch      > 0.
 * @param[out] count Set to how many slots were filled (0 on failure).
 * @param js Borrowed. @param stream Borrowed for the call. @param consumer Borrowed for the call.
 * @param expires_ms > 0: the server keeps the pull open this long; the call returns by then
 *                   (plus up to a second for the server's last word when it is slow).
 * @param options    Borrowed for the call; NULL or as the group says.
 * @retval SNATS_OK at least one message (maybe fewer than @p batch: the pull expired, or
 *         `max_bytes` was reached).
 * @retval SNATS_TIMEOUT no message before the pull expired (or, with `no_wait`, none there).
 * @retval SNATS_MISSED_HEARTBEAT the heartbeats asked for stopped, and no message came.
 * @retval SNATS_JS_API_ERROR the server ended the pull with no message: code 409 (the consumer
 *         was deleted, is push-based, too many pulls wait, ...) or 400.
 * @retval SNATS_NO_RESPONDERS nobody takes pulls for @p consumer: it does not exist (2.10+
 *         servers say so at once; 2.9 servers say nothing, and the fetch ends at its expiry
 *         with SNATS_TIMEOUT).
 * @retval SNATS_CONNECTION_CLOSED the connection closed during the fetch (at once).
 * @retval SNATS_INVALID_ARG a NULL argument, @p batch or @p expires_ms not positive, a bad
 *         option. Other statuses: as the group says.
 * Blocks: up to @p expires_ms (+1 s). Threads: any, callbacks included.
 */
snats_status snats_js_fetch(snats_msg **msgs, int batch, int *count, snats_jetstream *js, const char *stream,
                            const char *consumer, int64_t expires_ms, const json_t *options) SNATS_NODISCARD;

/**
 * @brief Receives the outcome of snats_js_fetch_async().
 * @param js      The context's handle, valid during the call.
 * @param status  As snats_js_fetch() returns it.
 * @param msgs    @p count messages, each owned by the callee (snats_msg_release() each, now or
 *                later); the array itself is borrowed for the call. NULL when @p count is 0.
 * @param closure The pointer given with the fetch.
 * Threads: as a connection event: on the delivery pool, or in the connection's dispatch queue.
 * Any function may be called inside, blocking ones included.
 */
typedef void (*snats_js_fetch_handler)(snats_jetstream *js, snats_status status, snats_msg **msgs, int count,
                                       void *closure);

/** @brief As snats_js_fetch(), without blocking: @p cb runs once with the messages.
 *  @param cb Required. @param closure Passed to @p cb.
 *  @retval SNATS_OK the pull is sent: @p cb will run exactly once. Any other status: it never
 *  runs. Blocks: no. Threads: any, callbacks included. */
snats_status snats_js_fetch_async(snats_jetstream *js, const char *stream, const char *consumer, int batch,
                                  int64_t expires_ms, const json_t *options, snats_js_fetch_handler cb,
                                  void *closure) SNATS_NODISCARD;

/**
 * @brief Acknowledges a consumer's message: done, it will not come again.
 * @param msg Borrowed (a message from snats_js_fetch(), or a push consumer's subscription).
 * @retval SNATS_OK sent. @retval SNATS_ILLEGAL_STATE not a JetStream consumer's message, or
 *         acknowledged already (ack, nak and term are final: the second is refused).
 * @retval SNATS_INVALID_ARG NULL. Other statuses: as snats_publish().
 * Blocks: as snats_publish(). Threads: any, callbacks included.
 */
snats_status snats_js_msg_ack(snats_msg *msg) SNATS_NODISCARD;

/** @brief Acknowledges and waits for the server to confirm it recorded the ack (a double ack):
 *  once this returns SNATS_OK, the message will not come again. @param timeout_ms > 0.
 *  @retval SNATS_TIMEOUT no confirmation (the ack may be lost: it can be sent again).
 *  Other statuses: as snats_js_msg_ack() and snats_request(). Blocks: up to @p timeout_ms. */
snats_status snats_js_msg_ack_sync(snats_msg *msg, int64_t timeout_ms) SNATS_NODISCARD;

/** @brief Asks for the message again, after @p delay_ms (0: at once, or after the consumer's
 *  backoff). Final, as an ack. @param delay_ms >= 0. Statuses, blocking and threads: as
 *  snats_js_msg_ack(). */
snats_status snats_js_msg_nak(snats_msg *msg, int64_t delay_ms) SNATS_NODISCARD;

/** @brief Stops delivering the message (no redelivery). @param reason Borrowed; NULL for none:
 *  it goes to the server's term advisory (servers before 2.10.4 get no reason). Final.
 *  Statuses, blocking and threads: as snats_js_msg_ack(). */
snats_status snats_js_msg_term(snats_msg *msg, const char *reason) SNATS_NODISCARD;

/** @brief Still working on it: the consumer's ack wait starts again. Not final: may be sent any
 *  number of times before the ack. Statuses, blocking and threads: as snats_js_msg_ack(). */
snats_status snats_js_msg_in_progress(snats_msg *msg) SNATS_NODISCARD;

/** @brief The kinds of snats_js_ack_reply(). */
typedef enum {
    SNATS_JS_ACK = 0,         /**< Done. */
    SNATS_JS_NAK = 1,         /**< Again, after the delay. */
    SNATS_JS_TERM = 2,        /**< Never again, with the reason. */
    SNATS_JS_IN_PROGRESS = 3  /**< Still working. */
} snats_js_ack_kind;

/**
 * @brief Acknowledges by the message's reply subject, for bindings that keep a message's parts
 *        rather than its handle (they track "acknowledged already" themselves).
 * @param conn Borrowed. @param reply Borrowed for the call: the message's `$JS.ACK...` reply.
 * @param kind A ::snats_js_ack_kind. @param delay_ms With SNATS_JS_NAK, >= 0.
 * @param reason With SNATS_JS_TERM, borrowed; NULL for none.
 * @param timeout_ms 0: send only; > 0 (SNATS_JS_ACK only): wait for the server's confirmation,
 *        as snats_js_msg_ack_sync().
 * @retval SNATS_ILLEGAL_STATE @p reply is not a JetStream acknowledgement subject.
 * Other statuses, blocking and threads: as snats_js_msg_ack() / snats_js_msg_ack_sync().
 */
snats_status snats_js_ack_reply(snats_conn *conn, const char *reply, int kind, int64_t delay_ms,
                                const char *reason, int64_t timeout_ms) SNATS_NODISCARD;

/**
 * @brief As snats_js_ack_reply() with SNATS_JS_ACK and a timeout, without blocking: @p cb runs
 *        once with SNATS_OK (the server recorded the ack) or why not (SNATS_TIMEOUT,
 *        SNATS_NO_RESPONDERS, SNATS_NOT_CONNECTED, SNATS_CONNECTION_CLOSED).
 * @param conn Borrowed; the callback gets it back. @param reply Copied. @param timeout_ms > 0.
 * @param cb Required: a ::snats_flush_handler, run as a connection event (the delivery pool,
 *        or the connection's dispatch queue). @param closure Passed to @p cb.
 * @retval SNATS_OK sent: @p cb will run exactly once. Any other status (as snats_js_ack_reply()):
 *         it never runs. Blocks: no. Threads: any, callbacks included.
 */
snats_status snats_js_ack_sync_async(snats_conn *conn, const char *reply, int64_t timeout_ms, snats_flush_handler cb,
                                     void *closure) SNATS_NODISCARD;

/**
 * @brief The JetStream metadata of a consumer's message, from its reply subject.
 * @param[out] meta On SNATS_OK a new reference: `{"stream", "consumer", "domain" (null unless
 *             the reply carries one: servers send the short form without it), "num_delivered", "num_pending", "timestamp" (nanoseconds since the
 *             epoch), "sequence": {"stream", "consumer"}}`; else NULL.
 * @param msg Borrowed.
 * @retval SNATS_INVALID_ARG NULL, or not a JetStream consumer's message.
 * Blocks: no. Threads: any.
 */
snats_status snats_js_msg_metadata(json_t **meta, snats_msg *msg) SNATS_NODISCARD;

/** @brief As snats_js_msg_metadata(), from a reply subject (borrowed for the call). */
snats_status snats_js_metadata(json_t **meta, const char *reply) SNATS_NODISCARD;

/** @} */

/** \name Consuming continuously
 *  A consume is a subscription (a ::snats_sub) on an inbox of its own that the library keeps
 *  fed with pulls (as nats.go's `Consume`): up to `max_messages` asked for at once, a new pull
 *  once the count falls to `threshold_messages`. The consumer's statuses (idle heartbeats,
 *  pulls that ended) never reach the application. Everything that works on a subscription
 *  works on it: snats_sub_unsubscribe() (stops pulling), snats_sub_drain(), pending limits,
 *  snats_sub_next_msg() (when made without a callback), snats_sub_destroy().
 *
 *  Named consumer: it must exist (SNATS_NOT_FOUND otherwise, at once). When its heartbeats
 *  stop, or after a reconnect, pulls start again; when it is deleted, the consume ends
 *  (its subscription is unsubscribed) and the connection's error callback gets
 *  SNATS_INVALID_SUBSCRIPTION with the subscription. Missed heartbeats are reported there
 *  too (SNATS_MISSED_HEARTBEAT), and so are pulls the server refused (the next waits 500 ms).
 *
 *  Ordered (@p consumer NULL): the library makes an ephemeral consumer (no acks, memory, one
 *  replica) configured by `ordered` and checks each message's consumer sequence; on a gap,
 *  missed heartbeats, a reconnect or the consumer's deletion it makes it again from the
 *  stream sequence after the last message delivered: nothing is delivered twice, nothing out
 *  of order, nothing skipped. Unsubscribing deletes it.
 *
 *  Options (JSON, borrowed for the call; NULL for the defaults): `max_messages` (default 500),
 *  `max_bytes` (0: no limit), `expires_ms` (each pull, default 30000, at least 1000),
 *  `heartbeat_ms` (default half the expiry, at most 15000; at most half the expiry),
 *  `threshold_messages` (default half of max_messages), `ordered` (a `ConsumerConfig` subset
 *  for an ordered consume: `filter_subject` or `filter_subjects`, `deliver_policy`,
 *  `opt_start_seq`, `opt_start_time`, `headers_only`, `replay_policy`).
 *
 *  `filter_subjects` (here, in snats_js_consumer_add(), and a watch of several keys) needs
 *  nats-server 2.10: older servers ignore it, so the library refuses it there
 *  (SNATS_INVALID_ARG) rather than deliver what was filtered out.
 *
 *  An ordered consume whose subscription drops messages (its pending limits: a slow consumer,
 *  reported as any) makes its consumer again from the first message dropped: nothing is
 *  skipped.
 *  @{ */

/**
 * @brief Consumes with a callback (or, with @p cb NULL, for snats_sub_next_msg()).
 * @param[out] sub On SNATS_OK owned (snats_sub_destroy()); else NULL.
 * @param js Borrowed; its connection must outlive the subscription.
 * @param stream Borrowed for the call. @param consumer Borrowed for the call; NULL: ordered.
 * @param options Borrowed for the call; NULL or as the group says.
 * @param cb As snats_subscribe()'s: each message lent for the call, on the delivery pool (or
 *        the connection's dispatch queue), one at a time, in order. NULL: synchronous.
 * @param closure Passed to @p cb.
 * @retval SNATS_OK consuming. @retval SNATS_NOT_FOUND no such stream or consumer.
 * @retval SNATS_INVALID_ARG a NULL argument, a bad option, `ordered` with a consumer name.
 * @retval SNATS_JS_API_ERROR the ordered consumer could not be made.
 * Other statuses: as the group says. Blocks: one API round trip (two for an ordered one).
 * Threads: any, callbacks included.
 */
snats_status snats_js_consume(snats_sub **sub, snats_jetstream *js, const char *stream, const char *consumer,
                              const json_t *options, snats_msg_handler cb, void *closure) SNATS_NODISCARD;

/** @brief As snats_js_consume(), delivering batches of records (as snats_subscribe_batch()).
 *  @param cb Required. */
snats_status snats_js_consume_batch(snats_sub **sub, snats_jetstream *js, const char *stream, const char *consumer,
                                    const json_t *options, snats_batch_handler cb, void *closure) SNATS_NODISCARD;

/** @brief As snats_js_consume(), bound to a dispatch queue (as snats_subscribe_on()): with
 *  @p cb, callbacks run in snats_dispatch_queue_dispatch(); without, the messages come out of
 *  snats_dispatch_queue_next_msgs() tagged with @p closure. @param queue Borrowed; must outlive
 *  the subscription. */
snats_status snats_js_consume_on(snats_sub **sub, snats_jetstream *js, const char *stream, const char *consumer,
                                 const json_t *options, snats_dispatch_queue *queue, snats_msg_handler cb,
                                 void *closure) SNATS_NODISCARD;

/**
 * @brief Subscribes to a push consumer (one with a `deliver_subject`): a subscription on that
 *        subject, in its `deliver_group` when it has one. The consumer's flow-control requests
 *        and stall notices are answered by the library, its idle heartbeats never reach the
 *        application, and when the heartbeats it promised stop, the connection's error
 *        callback gets SNATS_MISSED_HEARTBEAT with the subscription (every two intervals while
 *        they stay away). Unsubscribing leaves the consumer.
 * @param[out] sub On SNATS_OK owned (snats_sub_destroy()); else NULL.
 * @param js Borrowed. @param stream Borrowed for the call. @param consumer Borrowed for the call.
 * @param queue NULL, or a dispatch queue to bind to (as snats_subscribe_on()).
 * @param cb NULL: synchronous (snats_sub_next_msg()), or tagged batches with @p queue; else as
 *        snats_subscribe()'s. @param closure Passed to @p cb (the batches' tag with @p queue).
 * @retval SNATS_NOT_FOUND no such stream or consumer.
 * @retval SNATS_INVALID_ARG a NULL argument, or a pull consumer.
 * Blocks: one API round trip. Threads: any, callbacks included.
 */
snats_status snats_js_push_subscribe(snats_sub **sub, snats_jetstream *js, const char *stream, const char *consumer,
                                     snats_dispatch_queue *queue, snats_msg_handler cb, void *closure) SNATS_NODISCARD;

/** @brief As snats_js_push_subscribe(), delivering batches of records (as
 *  snats_subscribe_batch()). @param cb Required. */
snats_status snats_js_push_subscribe_batch(snats_sub **sub, snats_jetstream *js, const char *stream,
                                           const char *consumer, snats_batch_handler cb, void *closure) SNATS_NODISCARD;

/** @} */

/** @} */

/** \defgroup kvGroup Key-Value store
 *  Buckets as nats.go and nats.py make them (ADR-8): the stream `KV_<bucket>` on subjects
 *  `$KV.<bucket>.<key>`, one message per revision, the last `history` kept per key; deletes
 *  and purges are markers (header `KV-Operation: DEL` or `PURGE`). A bucket written by
 *  swiftnats is read by nats.go and nats.py, and the reverse.
 *
 *  A bucket's `max_value_size` counts a delete's or purge's marker too (its headers): nats.go
 *  and the server do the same.
 *
 *  Keys: `[-/_=.a-zA-Z0-9]+`, not starting or ending with `.` (SNATS_INVALID_ARG otherwise);
 *  watches and listings take `*` and `>` as subject wildcards. A key with no value (never
 *  written, deleted, purged) is SNATS_NOT_FOUND (snats_js_last_api_error(): 404, 10037).
 *  Statuses otherwise, blocking and threads: as \ref jetStreamGroup says.
 *  @{ */

typedef struct snats_kv snats_kv;
typedef struct snats_kv_entry snats_kv_entry;
typedef struct snats_kv_watcher snats_kv_watcher;

/** @brief What an entry records. */
typedef enum {
    SNATS_KV_PUT = 0,    /**< A value. */
    SNATS_KV_DELETE = 1, /**< The key was deleted (its history stays). */
    SNATS_KV_PURGE = 2   /**< The key was purged (its history went). */
} snats_kv_operation;

/**
 * @brief Creates a bucket (or accepts an identical one).
 * @param[out] kv On SNATS_OK owned (snats_kv_destroy()); else NULL.
 * @param js Borrowed; must outlive @p kv. @param bucket Borrowed for the call: `[-_a-zA-Z0-9]+`.
 * @param config Borrowed for the call; NULL for the defaults: `history` (1..64, default 1),
 *        `ttl` (nanoseconds; 0: values never expire), `max_value_size`, `max_bytes`,
 *        `storage` ("file", default, or "memory"), `replicas`, `description`, `compression`
 *        (true: s2), `metadata`.
 * @retval SNATS_JS_API_ERROR the bucket exists with another configuration (10058).
 * @retval SNATS_INVALID_ARG a bad name, an unknown setting, or a setting of the wrong type.
 */
snats_status snats_kv_bucket_create(snats_kv **kv, snats_jetstream *js, const char *bucket, const json_t *config) SNATS_NODISCARD;

/** @brief Opens an existing bucket. @param[out] kv As snats_kv_bucket_create().
 *  @retval SNATS_NOT_FOUND no such bucket (10059). */
snats_status snats_kv_bucket_bind(snats_kv **kv, snats_jetstream *js, const char *bucket) SNATS_NODISCARD;

/** @brief Deletes a bucket and every key. @retval SNATS_NOT_FOUND no such bucket. */
snats_status snats_kv_bucket_delete(snats_jetstream *js, const char *bucket) SNATS_NODISCARD;

/** @brief The buckets' names, as a JSON array of strings (a new reference). */
snats_status snats_kv_bucket_names(json_t **names, snats_jetstream *js) SNATS_NODISCARD;

/** @brief Frees a bucket handle (the bucket stays). @param kv Taken; NULL is a no-op.
 *  Blocks: no. Threads: any. */
void snats_kv_destroy(snats_kv *kv);

/** @brief The bucket's status: `bucket`, `values` (revisions stored), `history`, `ttl`,
 *  `bytes`, `backing_store`, `is_compressed`, and `info` (the stream's info). A new reference. */
snats_status snats_kv_status(json_t **status, snats_kv *kv) SNATS_NODISCARD;

/** @brief Stores a value. @param[out] revision When not NULL, the new revision (0 on failure).
 *  @param kv Borrowed. @param key Borrowed for the call. @param data Borrowed for the call;
 *  NULL allowed when @p len is 0. @retval SNATS_JS_API_ERROR the bucket refused it (larger
 *  than its `max_value_size`, the bucket full...). */
snats_status snats_kv_put(uint64_t *revision, snats_kv *kv, const char *key, const void *data, size_t len) SNATS_NODISCARD;

/** @brief Stores a value only if the key has none (never written, deleted or purged).
 *  @retval SNATS_JS_API_ERROR it has one (err_code 10071). Otherwise as snats_kv_put(). */
snats_status snats_kv_create(uint64_t *revision, snats_kv *kv, const char *key, const void *data, size_t len) SNATS_NODISCARD;

/** @brief Stores a value only if the key's last revision is @p last (compare-and-set).
 *  @retval SNATS_JS_API_ERROR it is not (err_code 10071). Otherwise as snats_kv_put(). */
snats_status snats_kv_update(uint64_t *revision, snats_kv *kv, const char *key, const void *data, size_t len,
                             uint64_t last) SNATS_NODISCARD;

/**
 * @brief The key's current value, or the one at @p revision.
 * @param[out] entry On SNATS_OK owned (snats_kv_entry_destroy()); else NULL.
 * @param kv Borrowed. @param key Borrowed for the call. @param revision 0: the current one.
 * @retval SNATS_NOT_FOUND no value (or @p revision is another key's).
 */
snats_status snats_kv_get(snats_kv_entry **entry, snats_kv *kv, const char *key, uint64_t revision) SNATS_NODISCARD;

/** @brief Marks a key deleted (its history stays). @param last 0, or only if this is the key's
 *  last revision (else SNATS_JS_API_ERROR, 10071). */
snats_status snats_kv_delete(snats_kv *kv, const char *key, uint64_t last) SNATS_NODISCARD;

/** @brief Marks a key purged and drops its earlier revisions. @param last As snats_kv_delete(). */
snats_status snats_kv_purge(snats_kv *kv, const char *key, uint64_t last) SNATS_NODISCARD;

/** @brief The keys that have a value, as a JSON array of strings (a new reference).
 *  @param filter Borrowed for the call; NULL for all, else a key filter with wildcards. */
snats_status snats_kv_keys(json_t **keys, snats_kv *kv, const char *filter) SNATS_NODISCARD;

/**
 * @brief Every revision kept of a key, oldest first (deletes and purges included).
 * @param[out] entries On SNATS_OK an owned array of @p count owned entries
 *             (snats_kv_entries_destroy()); else NULL.
 * @param[out] count Set to the number of entries (0 on failure).
 * @retval SNATS_NOT_FOUND the key has no revision.
 */
snats_status snats_kv_history(snats_kv_entry ***entries, int *count, snats_kv *kv, const char *key) SNATS_NODISCARD;

/** @brief Frees an array from snats_kv_history() and its entries. NULL is a no-op. */
void snats_kv_entries_destroy(snats_kv_entry **entries, int count);

/** \name Key-Value without blocking
 *  The calls above for event loops: each callback runs once, as a connection event (on the
 *  delivery pool, or in the connection's dispatch queue), with the outcome the blocking form
 *  would return (snats_last_error() and snats_js_last_api_error() on the callback's thread say
 *  why a failure failed). SNATS_OK from the call: the callback will run exactly once; any
 *  other status: it never runs. The calls block no longer than a publish. Threads: any,
 *  callbacks included.
 *  @{ */

/** @brief Receives an opened bucket: @p js the context's handle (valid during the call),
 *  @p status as the blocking call's, @p kv on SNATS_OK owned by the receiver
 *  (snats_kv_destroy()), else NULL. */
typedef void (*snats_kv_bucket_handler)(snats_jetstream *js, snats_status status, snats_kv *kv, void *closure);

/** @brief As snats_kv_bucket_create(). @param bucket Copied. @param config Copied.
 *  @param cb Required. */
snats_status snats_kv_bucket_create_async(snats_jetstream *js, const char *bucket, const json_t *config,
                                          snats_kv_bucket_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_kv_bucket_bind(). @param bucket Copied. @param cb Required. */
snats_status snats_kv_bucket_bind_async(snats_jetstream *js, const char *bucket, snats_kv_bucket_handler cb,
                                        void *closure) SNATS_NODISCARD;

/** @brief Receives a revision: @p kv the bucket's handle (valid during the call), @p status as
 *  the blocking call's, @p revision the new revision (0 on failure). */
typedef void (*snats_kv_revision_handler)(snats_kv *kv, snats_status status, uint64_t revision, void *closure);

/** @brief Receives an entry: lent for the call (copy what you keep); NULL on failure. */
typedef void (*snats_kv_entry_handler)(snats_kv *kv, snats_status status, const snats_kv_entry *entry, void *closure);

/** @brief Receives entries: @p entries lent for the call (@p count of them; NULL when 0). */
typedef void (*snats_kv_entries_handler)(snats_kv *kv, snats_status status, const snats_kv_entry *const *entries,
                                         int count, void *closure);

/** @brief As snats_kv_put(). @param key Copied. @param data Copied. @param cb Required. */
snats_status snats_kv_put_async(snats_kv *kv, const char *key, const void *data, size_t len,
                                snats_kv_revision_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_kv_create(). @param key Copied. @param data Copied. @param cb Required. */
snats_status snats_kv_create_async(snats_kv *kv, const char *key, const void *data, size_t len,
                                   snats_kv_revision_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_kv_update(). @param key Copied. @param data Copied. @param cb Required. */
snats_status snats_kv_update_async(snats_kv *kv, const char *key, const void *data, size_t len, uint64_t last,
                                   snats_kv_revision_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_kv_delete() (or, with @p purge, snats_kv_purge()); the revision of the
 *  marker. @param key Copied. @param cb Required. */
snats_status snats_kv_delete_async(snats_kv *kv, const char *key, uint64_t last, bool purge,
                                   snats_kv_revision_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_kv_get(). @param key Copied. @param cb Required. */
snats_status snats_kv_get_async(snats_kv *kv, const char *key, uint64_t revision, snats_kv_entry_handler cb,
                                void *closure) SNATS_NODISCARD;
/** @brief As snats_kv_status(): the document to a ::snats_json_handler. */
snats_status snats_kv_status_async(snats_kv *kv, snats_json_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_kv_keys(): the array to a ::snats_json_handler. @param filter Copied. */
snats_status snats_kv_keys_async(snats_kv *kv, const char *filter, snats_json_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_kv_history(). @param key Copied. @param cb Required. */
snats_status snats_kv_history_async(snats_kv *kv, const char *key, snats_kv_entries_handler cb, void *closure) SNATS_NODISCARD;

/** @} */

/** @brief The entry's bucket. Borrowed, valid as long as @p entry; NULL for NULL. */
const char *snats_kv_entry_bucket(const snats_kv_entry *entry);
/** @brief The entry's key. Borrowed, valid as long as @p entry; NULL for NULL. */
const char *snats_kv_entry_key(const snats_kv_entry *entry);
/** @brief The value's bytes (NULL when empty). Borrowed, valid as long as @p entry. */
const void *snats_kv_entry_value(const snats_kv_entry *entry);
/** @brief The value's length. */
size_t snats_kv_entry_value_len(const snats_kv_entry *entry);
/** @brief The revision (the stream sequence). */
uint64_t snats_kv_entry_revision(const snats_kv_entry *entry);
/** @brief In a watch: how many later revisions were pending when it was delivered; 0 otherwise. */
uint64_t snats_kv_entry_delta(const snats_kv_entry *entry);
/** @brief When it was stored, in nanoseconds since the Unix epoch. */
int64_t snats_kv_entry_created(const snats_kv_entry *entry);
/** @brief A ::snats_kv_operation. */
int snats_kv_entry_operation(const snats_kv_entry *entry);
/** @brief Frees an entry. @param entry Taken; NULL is a no-op. Never for an entry lent to a
 *  ::snats_kv_watch_handler. Blocks: no. Threads: any. */
void snats_kv_entry_destroy(snats_kv_entry *entry);

/**
 * @brief Receives a watch's entries.
 * @param watcher The watcher's handle, valid during the call.
 * @param entry   Lent for the call (copy what you keep); NULL once, after the initial values
 *                (at once when there are none, or with `updates_only`).
 * @param closure The pointer given with the watch.
 * Threads: as a subscription's callbacks: on the delivery pool (or the connection's dispatch
 * queue), one at a time, in order. Any function may be called inside, except
 * snats_kv_watcher_destroy() of this watcher.
 */
typedef void (*snats_kv_watch_handler)(snats_kv_watcher *watcher, const snats_kv_entry *entry, void *closure);

/**
 * @brief Watches keys: their current values first (or every revision kept, with
 *        `include_history`), then NULL once, then each change as it happens; an ordered
 *        consumer under it (nothing twice or out of order, across reconnects).
 * @param[out] watcher On SNATS_OK owned (snats_kv_watcher_destroy()); else NULL.
 * @param kv Borrowed; must outlive the watcher.
 * @param keys Borrowed for the call; a key filter (`*`, `>`), NULL for all (or `keys` in
 *        @p options for several).
 * @param options Borrowed for the call; NULL or any of `keys` (array of filters; more than one
 *        needs nats-server 2.10, SNATS_INVALID_ARG before),
 *        `include_history`, `ignore_deletes`, `meta_only` (values left empty),
 *        `updates_only` (no initial values) (booleans).
 * @param cb NULL: read with snats_kv_watcher_next(). @param closure Passed to @p cb.
 * @retval SNATS_OK watching. @retval SNATS_INVALID_ARG a bad filter or option.
 * Blocks: two API round trips (snats_kv_watch_async() does not). Threads: any, callbacks
 * included.
 */
snats_status snats_kv_watch(snats_kv_watcher **watcher, snats_kv *kv, const char *keys, const json_t *options,
                            snats_kv_watch_handler cb, void *closure) SNATS_NODISCARD;

/** @brief Receives a started watch: @p kv the bucket's handle (valid during the call),
 *  @p status as snats_kv_watch()'s, @p watcher on SNATS_OK owned by the receiver
 *  (snats_kv_watcher_destroy()), else NULL. */
typedef void (*snats_kv_watch_started_handler)(snats_kv *kv, snats_status status, snats_kv_watcher *watcher,
                                               void *closure);

/**
 * @brief As snats_kv_watch(), without waiting for its consumer: @p started gets the watcher (or
 *        why there is none) once it is made, as a connection event.
 * @param cb As snats_kv_watch()'s. Its first calls may come before @p started's (they carry the
 *        watcher's handle, the same as @p started will hand over).
 * @param started Required. @param closure Passed to @p cb and @p started.
 * @retval SNATS_OK @p started will run exactly once (with a failure: no entry ever comes).
 * @retval SNATS_INVALID_ARG a bad filter or option, NULL @p kv or @p started.
 * @retval SNATS_CONNECTION_CLOSED, SNATS_NOT_CONNECTED the request could not be sent.
 * With any status but SNATS_OK, @p started never runs.
 * Blocks: no longer than a publish. Threads: any, callbacks included.
 */
snats_status snats_kv_watch_async(snats_kv *kv, const char *keys, const json_t *options, snats_kv_watch_handler cb,
                                  snats_kv_watch_started_handler started, void *closure) SNATS_NODISCARD;

/**
 * @brief The next entry of a watch made without a callback.
 * @param[out] entry On SNATS_OK an owned entry (snats_kv_entry_destroy()), or NULL for the
 *             marker after the initial values.
 * @param watcher Borrowed. @param timeout_ms > 0.
 * @retval SNATS_TIMEOUT nothing within @p timeout_ms.
 * @retval SNATS_INVALID_SUBSCRIPTION the watch is stopped and nothing is left.
 * @retval SNATS_ILLEGAL_STATE the watch has a callback.
 * Blocks: up to @p timeout_ms. Threads: any.
 */
snats_status snats_kv_watcher_next(snats_kv_entry **entry, snats_kv_watcher *watcher, int64_t timeout_ms) SNATS_NODISCARD;

/** @brief Stops a watch (its consumer goes); a callback running on another thread is waited
 *  for. Blocks: an UNSUB and that wait. Threads: any. */
snats_status snats_kv_watcher_stop(snats_kv_watcher *watcher) SNATS_NODISCARD;

/** @brief Stops and frees a watch. @param watcher Taken; NULL is a no-op. Not from its own
 *  callback. Blocks: as snats_kv_watcher_stop(). Threads: any. */
void snats_kv_watcher_destroy(snats_kv_watcher *watcher);

/** @} */

/** \defgroup objGroup Object Store
 *  Buckets of objects as nats.go and nats.py make them (ADR-20): the stream `OBJ_<bucket>`;
 *  an object's bytes in chunk messages on `$O.<bucket>.C.<nuid>`, its info (the JSON below,
 *  one message, the last kept) on `$O.<bucket>.M.<name in URL-safe base64>`; the digest is
 *  `SHA-256=<URL-safe base64>`. An object put by swiftnats is read by nats.go and nats.py,
 *  and the reverse.
 *
 *  An info: `{"name", "description", "headers": {"Key": ["value"...]}, "metadata": {...},
 *  "options": {"max_chunk_size", "link": {"bucket", "name"}}, "bucket", "nuid", "size",
 *  "mtime" (RFC 3339), "chunks", "digest", "deleted"}` (absent members: none). Infos handed
 *  out are new references. A missing or deleted object is SNATS_NOT_FOUND (404, 10037).
 *  Statuses otherwise, blocking and threads: as \ref jetStreamGroup says; puts and gets block
 *  for the whole transfer (and call the reader or writer on the calling thread). Each call
 *  has an `_async` form that waits for nothing (below).
 *  @{ */

typedef struct snats_obj snats_obj;
typedef struct snats_obj_watcher snats_obj_watcher;

/** @brief Fills @p buffer with up to @p capacity bytes of the object being put.
 *  @return How many bytes it put there; 0 at the end; a negative value fails the put
 *  (SNATS_IO_ERROR; the chunks stored so far are removed). Called on the put's thread
 *  (snats_obj_put_async(): as a connection event, one call at a time). */
typedef int64_t (*snats_obj_reader)(void *buffer, size_t capacity, void *closure);

/** @brief Takes the next @p len bytes of the object being read (borrowed for the call).
 *  @return 0 to go on; anything else stops the get (SNATS_IO_ERROR). Called on the get's
 *  thread (snats_obj_get_async(): as a connection event, one call at a time, in order). */
typedef int (*snats_obj_writer)(const void *data, size_t len, void *closure);

/** @brief Creates a bucket (or accepts an identical one).
 *  @param[out] obs On SNATS_OK owned (snats_obj_destroy()); else NULL. @param js Borrowed; must
 *  outlive @p obs. @param bucket Borrowed for the call: `[-_a-zA-Z0-9]+`. @param config
 *  Borrowed; NULL or any of `description`, `ttl` (nanoseconds), `max_bytes`, `storage` ("file"
 *  or "memory"), `replicas`, `compression` (bool), `metadata`.
 *  @retval SNATS_INVALID_ARG a bad name or an unknown setting. */
snats_status snats_obj_bucket_create(snats_obj **obs, snats_jetstream *js, const char *bucket, const json_t *config) SNATS_NODISCARD;
/** @brief Opens an existing bucket. @retval SNATS_NOT_FOUND no such bucket (10059). */
snats_status snats_obj_bucket_bind(snats_obj **obs, snats_jetstream *js, const char *bucket) SNATS_NODISCARD;
/** @brief Deletes a bucket and its objects. @retval SNATS_NOT_FOUND no such bucket. */
snats_status snats_obj_bucket_delete(snats_jetstream *js, const char *bucket) SNATS_NODISCARD;
/** @brief The buckets' names, as a JSON array of strings (a new reference). */
snats_status snats_obj_bucket_names(json_t **names, snats_jetstream *js) SNATS_NODISCARD;
/** @brief Frees a bucket handle (the bucket stays). @param obs Taken; NULL is a no-op. */
void snats_obj_destroy(snats_obj *obs);
/** @brief `{"bucket", "description", "ttl", "storage", "replicas", "size", "sealed", "info"}`
 *  (`info`: the stream's). A new reference. */
snats_status snats_obj_status(json_t **status, snats_obj *obs) SNATS_NODISCARD;

/**
 * @brief Stores an object read from @p reader, in chunks, with its digest; replaces the object
 *        of that name (its chunks are removed once the new info is stored).
 * @param[out] info When not NULL, on SNATS_OK the new info; else NULL.
 * @param obs Borrowed. @param meta Borrowed for the call: `{"name"}` required, and any of
 *        `description`, `headers` ({"Key": ["value"...]}), `metadata` ({"key": "value"}),
 *        `chunk_size` (bytes, default 131072).
 * @param reader Required; called until it returns 0. @param closure Passed to @p reader.
 * @retval SNATS_IO_ERROR the reader failed. @retval SNATS_JS_API_ERROR the bucket refused a
 *         chunk (full, ...). A failure removes the chunks already stored.
 */
snats_status snats_obj_put(json_t **info, snats_obj *obs, const json_t *meta, snats_obj_reader reader, void *closure) SNATS_NODISCARD;
/** @brief Stores @p len bytes as object @p name. @param data Borrowed for the call. */
snats_status snats_obj_put_bytes(json_t **info, snats_obj *obs, const char *name, const void *data, size_t len) SNATS_NODISCARD;
/** @brief Stores what a descriptor reads until its end. @param fd Read from, not closed.
 *  @retval SNATS_IO_ERROR reading failed. */
snats_status snats_obj_put_fd(json_t **info, snats_obj *obs, const json_t *meta, int fd) SNATS_NODISCARD;
/** @brief Stores a file. @param path Borrowed for the call. @retval SNATS_IO_ERROR it cannot be
 *  opened or read. */
snats_status snats_obj_put_file(json_t **info, snats_obj *obs, const json_t *meta, const char *path) SNATS_NODISCARD;

/**
 * @brief Reads an object into @p writer, chunk by chunk (following a link to an object), and
 *        checks its size and digest at the end.
 * @param[out] info When not NULL, on SNATS_OK its info (the target's, for a link); else NULL.
 * @param obs Borrowed. @param name Borrowed for the call.
 * @param writer Required. @param closure Passed to @p writer.
 * @retval SNATS_NOT_FOUND no such object. @retval SNATS_IO_ERROR the writer stopped it.
 * @retval SNATS_PROTOCOL_ERROR the bytes read do not match the info's size or digest (the
 *         writer has had them). @retval SNATS_INVALID_ARG @p name links a whole bucket.
 */
snats_status snats_obj_get(json_t **info, snats_obj *obs, const char *name, snats_obj_writer writer, void *closure) SNATS_NODISCARD;
/** @brief Reads an object into memory. @param[out] data On SNATS_OK malloc'd bytes (never NULL,
 *  even empty: snats_free()); else NULL. @param[out] len Their count. */
snats_status snats_obj_get_bytes(json_t **info, void **data, size_t *len, snats_obj *obs, const char *name) SNATS_NODISCARD;
/** @brief Writes an object to a descriptor (not closed). @retval SNATS_IO_ERROR writing failed. */
snats_status snats_obj_get_fd(json_t **info, snats_obj *obs, const char *name, int fd) SNATS_NODISCARD;
/** @brief Writes an object to a file (created or truncated, mode 0644). */
snats_status snats_obj_get_file(json_t **info, snats_obj *obs, const char *name, const char *path) SNATS_NODISCARD;

/** @brief An object's info. @param show_deleted Also a deleted object's (its `deleted` true).
 *  @retval SNATS_NOT_FOUND no such object. */
snats_status snats_obj_info(json_t **info, snats_obj *obs, const char *name, bool show_deleted) SNATS_NODISCARD;
/** @brief Marks an object deleted and removes its chunks. @retval SNATS_NOT_FOUND none. */
snats_status snats_obj_delete(snats_obj *obs, const char *name) SNATS_NODISCARD;
/** @brief The objects' infos, as a JSON array (a new reference). @param show_deleted Also the
 *  deleted ones. */
snats_status snats_obj_list(json_t **infos, snats_obj *obs, bool show_deleted) SNATS_NODISCARD;
/** @brief Adds @p name as a link to an object. @param target Borrowed: the target's info (from
 *  this or another bucket). @retval SNATS_INVALID_ARG @p target is a link, or @p name is an
 *  object. */
snats_status snats_obj_add_link(json_t **info, snats_obj *obs, const char *name, const json_t *target) SNATS_NODISCARD;
/** @brief Adds @p name as a link to the bucket @p bucket. */
snats_status snats_obj_add_bucket_link(json_t **info, snats_obj *obs, const char *name, const char *bucket) SNATS_NODISCARD;

/** @brief Receives a watch's infos: @p info lent for the call (json_incref() to keep it), NULL
 *  once after the current ones. Threads: as a subscription's callbacks. */
typedef void (*snats_obj_watch_handler)(snats_obj_watcher *watcher, const json_t *info, void *closure);

/** @brief Watches the objects' infos: the current ones, NULL once, then each change (puts,
 *  deletes, links). @param[out] watcher On SNATS_OK owned (snats_obj_watcher_destroy()).
 *  @param options Borrowed; NULL or any of `include_history`, `ignore_deletes`,
 *  `updates_only` (booleans). @param cb NULL: read with snats_obj_watcher_next().
 *  Blocks: two API round trips. */
snats_status snats_obj_watch(snats_obj_watcher **watcher, snats_obj *obs, const json_t *options,
                             snats_obj_watch_handler cb, void *closure) SNATS_NODISCARD;
/** @brief The next info (a new reference), or NULL for the marker. As snats_kv_watcher_next(). */
snats_status snats_obj_watcher_next(json_t **info, snats_obj_watcher *watcher, int64_t timeout_ms) SNATS_NODISCARD;
/** @brief Stops a watch. As snats_kv_watcher_stop(). */
snats_status snats_obj_watcher_stop(snats_obj_watcher *watcher) SNATS_NODISCARD;
/** @brief Stops and frees a watch. As snats_kv_watcher_destroy(). */
void snats_obj_watcher_destroy(snats_obj_watcher *watcher);

/** \name Object Store without blocking
 *  The calls above for event loops, as \ref kvGroup's `_async` calls: each callback runs
 *  once, as a connection event (on the delivery pool, or in the connection's dispatch queue),
 *  with the outcome the blocking form would return (snats_last_error() and
 *  snats_js_last_api_error() on the callback's thread say why a failure failed). SNATS_OK from
 *  the call: the callback will run exactly once; any other status (a NULL or bad argument, a
 *  closed connection): it never runs, and neither does a reader or writer. The calls block no
 *  longer than a publish. Threads: any, callbacks included. Outcomes that are JSON (infos, the
 *  list, the status) go to a ::snats_json_handler, lent for the call.
 *  @{ */

/** @brief Receives an opened bucket: @p js the context's handle (valid during the call),
 *  @p status as the blocking call's, @p obs on SNATS_OK owned by the receiver
 *  (snats_obj_destroy()), else NULL. */
typedef void (*snats_obj_bucket_handler)(snats_jetstream *js, snats_status status, snats_obj *obs, void *closure);

/** @brief As snats_obj_bucket_create(). @param bucket Copied. @param config Copied.
 *  @param cb Required. */
snats_status snats_obj_bucket_create_async(snats_jetstream *js, const char *bucket, const json_t *config,
                                           snats_obj_bucket_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_obj_bucket_bind(). @param bucket Copied. @param cb Required. */
snats_status snats_obj_bucket_bind_async(snats_jetstream *js, const char *bucket, snats_obj_bucket_handler cb,
                                         void *closure) SNATS_NODISCARD;
/** @brief As snats_obj_status(): the document to @p cb. */
snats_status snats_obj_status_async(snats_obj *obs, snats_json_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_obj_info(): the info to @p cb. @param name Copied. */
snats_status snats_obj_info_async(snats_obj *obs, const char *name, bool show_deleted, snats_json_handler cb,
                                  void *closure) SNATS_NODISCARD;
/** @brief As snats_obj_delete(): @p cb gets the deletion marker's info once the object's
 *  chunks are removed. @param name Copied. */
snats_status snats_obj_delete_async(snats_obj *obs, const char *name, snats_json_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_obj_list(): the array of infos to @p cb (SNATS_TIMEOUT when the current
 *  ones do not all come within the context's timeout). */
snats_status snats_obj_list_async(snats_obj *obs, bool show_deleted, snats_json_handler cb, void *closure) SNATS_NODISCARD;
/** @brief As snats_obj_add_link(): the link's info to @p cb. @param name Copied.
 *  @param target Copied. */
snats_status snats_obj_add_link_async(snats_obj *obs, const char *name, const json_t *target, snats_json_handler cb,
                                      void *closure) SNATS_NODISCARD;
/** @brief As snats_obj_add_bucket_link(). @param name Copied. @param bucket Copied. */
snats_status snats_obj_add_bucket_link_async(snats_obj *obs, const char *name, const char *bucket,
                                             snats_json_handler cb, void *closure) SNATS_NODISCARD;

/**
 * @brief As snats_obj_put(), without waiting: @p reader is called as a connection event (first
 *        once the previous info is looked up, then as chunks are acknowledged), one call at a
 *        time, with at most 16 chunks awaiting their acks; @p cb gets the new info once it is
 *        stored, or the failure once the chunks stored so far are removed.
 * @param meta Copied (as snats_obj_put()'s). @param reader Required; it should not block for
 *        long (it holds up the connection's other events). @param cb Required.
 * @param closure Passed to @p reader and @p cb; it must stay valid until @p cb has run.
 * @retval SNATS_OK @p cb will run exactly once, after the last call of @p reader. A lookup
 *         of the object it replaces failing otherwise than not-found fails it before any read.
 * @retval SNATS_INVALID_ARG a NULL argument, a bad meta. Others: the lookup could not be sent.
 */
snats_status snats_obj_put_async(snats_obj *obs, const json_t *meta, snats_obj_reader reader, snats_json_handler cb,
                                 void *closure) SNATS_NODISCARD;

/**
 * @brief As snats_obj_get(), without waiting: @p writer is called with each chunk as it comes
 *        (a connection event, one call at a time, in order); @p cb gets the info once the size
 *        and digest are checked, or the failure (SNATS_TIMEOUT: no chunk came for a whole
 *        period of the context's timeout, checked once a period). No call of @p writer
 *        comes after @p cb.
 * @param name Copied. @param writer Required; it should not block for long. @param cb Required.
 * @param closure Passed to @p writer and @p cb; it must stay valid until @p cb has run.
 * @retval SNATS_OK @p cb will run exactly once. @retval SNATS_INVALID_ARG a NULL argument.
 * Others: the lookup could not be sent.
 */
snats_status snats_obj_get_async(snats_obj *obs, const char *name, snats_obj_writer writer, snats_json_handler cb,
                                 void *closure) SNATS_NODISCARD;

/** @brief Receives a started watch: @p obs the bucket's handle (valid during the call),
 *  @p status as snats_obj_watch()'s, @p watcher on SNATS_OK owned by the receiver
 *  (snats_obj_watcher_destroy()), else NULL. */
typedef void (*snats_obj_watch_started_handler)(snats_obj *obs, snats_status status, snats_obj_watcher *watcher,
                                                void *closure);

/** @brief As snats_obj_watch(), without waiting for its consumer: as snats_kv_watch_async().
 *  @param options Borrowed for the call. @param cb As snats_obj_watch()'s; its first calls may
 *  come before @p started's. @param started Required. @param closure Passed to both. */
snats_status snats_obj_watch_async(snats_obj *obs, const json_t *options, snats_obj_watch_handler cb,
                                   snats_obj_watch_started_handler started, void *closure) SNATS_NODISCARD;

/** @} */

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* SWIFTNATS_H */
