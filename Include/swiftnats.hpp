/**
 * @file swiftnats.hpp
 * @brief swiftnats for C++17: RAII handles over the C API of swiftnats.h, header-only.
 *
 * Conventions, true of everything in namespace `snats` unless a comment says otherwise:
 *  - Handles (Connection, Subscription, Service, RpcServer, RpcClient, JetStream, KeyValue,
 *    ObjectStore...) are move-only and release their C handle when destroyed; destruction waits
 *    for a callback running on another thread, so what a callable captured may go right after.
 *    A handle made from another (a Subscription from a Connection) must be destroyed first, as
 *    in C. `get()` gives the C handle, for what this layer does not wrap.
 *  - Failures throw snats::Error (status() is the ::snats_status, what() the library's message);
 *    SNATS_JS_API_ERROR throws snats::JsApiError, an RPC error object snats::RpcError. The
 *    calls where failing is part of normal operation (publish, request, flush, next_msg, ack,
 *    connect) have a non-throwing form that takes a `std::error_code &` last
 *    (snats::category(); snats::is(ec, SNATS_TIMEOUT); snats::last_error() says more).
 *  - Strings are std::string_view; one holding a NUL byte is refused (SNATS_INVALID_ARG), never
 *    cut short. Payloads are snats::Payload: any string or contiguous byte container, copied by
 *    the library before the call returns. Timeouts are std::chrono durations (milliseconds).
 *  - Callbacks are any copyable callables, capturing lambdas included (the one-shot completions
 *    of request_async, call_async and publish_async may be move-only). They run where the C header says
 *    (the delivery pool, never the network thread). An exception a callback throws never
 *    reaches the library: it is counted (Connection::callback_exceptions()) and reported to the
 *    connection's Options::on_error handler (stderr without one); a micro or RPC handler that
 *    throws answers its request with an error instead of leaving the caller to time out.
 *  - JSON is Jansson's json_t, held by snats::Json (one reference).
 *
 * Blocking and threads: as the C function each method calls (named in its comment or obvious
 * from its name) says in swiftnats.h.
 */
#ifndef SWIFTNATS_HPP
#define SWIFTNATS_HPP

#if __cplusplus < 201703L && !(defined(_MSVC_LANG) && _MSVC_LANG >= 201703L)
#error "swiftnats.hpp needs C++17 (for C, include swiftnats.h)"
#endif

#include "swiftnats/error.hpp"
#include "swiftnats/message.hpp"
#include "swiftnats/options.hpp"
#include "swiftnats/subscription.hpp"
#include "swiftnats/connection.hpp"
#include "swiftnats/micro.hpp"
#include "swiftnats/rpc.hpp"
#include "swiftnats/jetstream.hpp"
#include "swiftnats/kv.hpp"
#include "swiftnats/object_store.hpp"

#endif
