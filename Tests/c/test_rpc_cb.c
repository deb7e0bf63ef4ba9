/*
 * test_rpc_cb.c - RPC streams without blocking: snats_rpc_client_call_stream_cb() gives each
 * item in order, then the end, an RPC error (-32601 for an unknown method), SNATS_TIMEOUT or
 * SNATS_CONNECTION_CLOSED, one call at a time; snats_rpc_stream_destroy() stops the callbacks,
 * from the test or from the callback itself; snats_rpc_stream_next() refuses such a stream;
 * argument checks (and those of snats_rpc_client_describe_cb()) never call the callback.
 * The server and the recorders are shared with test_rpc_cb_loop.c (rpc_cb.h).
 */
#define _GNU_SOURCE
#include "rpc_cb.h"

#include <stdlib.h>

/* ---- server side ---- */

bool rcb_send_count(snats_rpc_request *req, const json_t *params) {
    json_int_t n = json_integer_value(json_array_get(params, 0));
    json_int_t upto = n < 0 ? 2 : n;
    for (json_int_t i = 0; i < upto; i++) {
        json_t *item = json_integer(i);
        CHECK_OK(snats_rpc_request_send_item(req, item));
        json_decref(item);
    }
    if (n >= 0) return true;
    CHECK_OK(snats_rpc_request_fail(req, "generator failed", NULL));
    return false;
}

/* Streams 0 .. n-1 (params [n]); n < 0 streams two items and then fails. */
static void count(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    if (rcb_send_count(req, params)) CHECK_OK(snats_rpc_request_end_stream(req)); /* also when there was no item */
}

static atomic_bool g_ticker_stop;
static atomic_int g_ticker_sent;
static atomic_int g_tickers; /* running now */

/* Streams 0 .. n-1 (params [n, interval_ms]), one item per interval, until g_ticker_stop
 * (which also ends a wait between two items). */
static void ticker(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    json_int_t n = json_integer_value(json_array_get(params, 0));
    json_int_t interval = json_integer_value(json_array_get(params, 1));
    atomic_fetch_add(&g_tickers, 1);
    for (json_int_t i = 0; i < n && !atomic_load(&g_ticker_stop); i++) {
        json_t *item = json_integer(i);
        CHECK_OK(snats_rpc_request_send_item(req, item));
        json_decref(item);
        atomic_fetch_add(&g_ticker_sent, 1);
        for (json_int_t t = 0; t < interval && !atomic_load(&g_ticker_stop); t += 5) harness_sleep_ms(5);
    }
    CHECK_OK(snats_rpc_request_end_stream(req));
    atomic_fetch_sub(&g_tickers, 1);
}

/* Stops the tickers (their endpoint runs one call at a time) and waits for them to end. */
static void stop_tickers(void) {
    atomic_store(&g_ticker_stop, true);
    CHECK_EVENTUALLY(atomic_load(&g_tickers) == 0, 5000);
    atomic_store(&g_ticker_stop, false);
}

void rcb_whoami(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    json_t *result = json_string("calc");
    snats_rpc_request_respond(req, result);
    json_decref(result);
}

/* Answers JSON null. */
static void nothing(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    snats_rpc_request_respond(req, NULL);
}

static void crash(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    snats_rpc_request_fail(req, "division by zero", NULL);
}

static void nop_msg(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    (void)closure;
}

void rcb_server_up(rcb_fixture *f) {
    server_start(&f->srv);
    f->s = connect_or_fail(f->srv.url);
    CHECK_OK(snats_rpc_server_create(&f->server, f->s, "calc", NULL));
    json_t *n = json_pack("[{s:s,s:s}]", "name", "n", "type", "integer");
    CHECK_OK(snats_rpc_server_register(f->server, "count", n, "counts to n", 0, count, NULL));
    json_decref(n);
    CHECK_OK(snats_rpc_server_register(f->server, "ticker", NULL, NULL, 0, ticker, NULL));
    CHECK_OK(snats_rpc_server_register(f->server, "whoami", NULL, "names the namespace", 0, rcb_whoami, NULL));
    CHECK_OK(snats_rpc_server_register(f->server, "crash", NULL, NULL, 0, crash, NULL));
    CHECK_OK(snats_rpc_server_register(f->server, "nothing", NULL, NULL, 0, nothing, NULL));
    CHECK_OK(snats_rpc_server_start(f->server, NULL));
    CHECK_OK(snats_subscribe(&f->silent, f->s, "rpc.calc.silent", nop_msg, NULL));
    CHECK_OK(snats_conn_flush(f->s, harness_ms(5000)));
}

void rcb_calc_up(rcb_fixture *f) {
    rcb_server_up(f);
    f->c = f->s;
    CHECK_OK(snats_rpc_client_create(&f->client, f->c, "calc"));
}

void rcb_calc_down(rcb_fixture *f) {
    atomic_store(&g_ticker_stop, true);
    snats_rpc_client_destroy(f->client);
    if (f->c != f->s) snats_conn_destroy(f->c);
    snats_sub_destroy(f->silent);
    snats_rpc_server_destroy(f->server);
    snats_conn_destroy(f->s);
    server_stop(&f->srv);
}

/* ---- the stream callback ---- */

void rcb_stream_init(rcb_stream_state *st) {
    memset(st, 0, sizeof *st);
    st->end_status = SNATS_ERR;
    st->values = json_array();
}

void rcb_stream_init_owned(rcb_stream_state *st) {
    rcb_stream_init(st);
    st->check_owner = true;
    st->owner = pthread_self();
}

void rcb_stream_free(rcb_stream_state *st) {
    json_decref(st->values);
    json_decref(st->error);
    st->values = st->error = NULL;
}

void rcb_on_stream(snats_status status, const json_t *result, const json_t *error, void *closure) {
    rcb_stream_state *st = closure;
    if (atomic_fetch_add(&st->inside, 1) != 0) atomic_fetch_add(&st->overlapping, 1);
    if (atomic_load(&st->ended)) atomic_fetch_add(&st->after_end, 1);
    if (st->check_owner && !pthread_equal(pthread_self(), st->owner)) atomic_fetch_add(&st->wrong_thread, 1);
    if (status == SNATS_OK && result != NULL) {
        if (error != NULL) atomic_fetch_add(&st->bad_args, 1);
        json_array_append_new(st->values, json_deep_copy(result));
        int items = atomic_fetch_add(&st->items, 1) + 1;
        snats_rpc_stream *victim = atomic_load(&st->destroy_me);
        if (victim != NULL && items >= st->destroy_after &&
            atomic_compare_exchange_strong(&st->destroy_me, &victim, NULL)) {
            snats_rpc_stream_destroy(victim); /* returns at once from the callback */
            atomic_store(&st->destroyed_at, atomic_load(&st->calls) + 1);
        }
    } else {
        if (result != NULL) atomic_fetch_add(&st->bad_args, 1);
        if (status == SNATS_RPC_ERROR) {
            if (error == NULL) atomic_fetch_add(&st->bad_args, 1);
            else st->error = json_deep_copy(error);
        } else {
            if (error != NULL) atomic_fetch_add(&st->bad_args, 1);
            snprintf(st->message, sizeof st->message, "%s", snats_last_error() ? snats_last_error() : "");
        }
        atomic_store(&st->end_status, status);
        atomic_store(&st->ended, 1);
    }
    atomic_fetch_add(&st->calls, 1);
    atomic_fetch_sub(&st->inside, 1);
}

void rcb_stream_wait_end(rcb_stream_state *st, int64_t timeout_ms) {
    CHECK_EVENTUALLY(atomic_load(&st->ended) == 1 && atomic_load(&st->inside) == 0, timeout_ms);
    int calls = atomic_load(&st->calls);
    harness_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&st->calls), calls);
    CHECK_EQ_INT(calls, atomic_load(&st->items) + 1);
    CHECK_EQ_INT(atomic_load(&st->after_end), 0);
    CHECK_EQ_INT(atomic_load(&st->overlapping), 0);
    CHECK_EQ_INT(atomic_load(&st->bad_args), 0);
    CHECK_EQ_INT(atomic_load(&st->wrong_thread), 0);
}

void rcb_check_counted(const rcb_stream_state *st, int n) {
    CHECK_EQ_INT(json_array_size(st->values), n);
    for (int i = 0; i < n; i++) {
        json_t *item = json_array_get(st->values, (size_t)i);
        if (!json_is_integer(item) || json_integer_value(item) != i) {
            char *text = json_dumps(st->values, JSON_COMPACT);
            FAIL("item %d out of order in %s", i, text);
        }
    }
}

static json_int_t code_of(const json_t *error) { return json_integer_value(json_object_get(error, "code")); }

snats_rpc_stream *rcb_start_stream(snats_rpc_client *client, const char *method, const char *params_json,
                                   int64_t timeout_ms, rcb_stream_state *st) {
    json_t *params = params_json ? json_loads(params_json, 0, NULL) : NULL;
    snats_rpc_stream *stream = (snats_rpc_stream *)st; /* overwritten */
    CHECK_OK(snats_rpc_client_call_stream_cb(&stream, client, method, params, timeout_ms, rcb_on_stream, st));
    json_decref(params);
    CHECK_NOT_NULL(stream);
    return stream;
}

/* Starts a stream of method (params as JSON text, NULL: none), waits up to wait_ms for its end
 * (nothing may follow it) and checks that it ended with want; the caller checks the rest, then
 * calls stream_done. */
static snats_rpc_stream *stream_to_end(rcb_stream_state *st, snats_rpc_client *client, const char *method,
                                       const char *params_json, int64_t timeout_ms, int64_t wait_ms,
                                       snats_status want) {
    rcb_stream_init(st);
    snats_rpc_stream *stream = rcb_start_stream(client, method, params_json, timeout_ms, st);
    rcb_stream_wait_end(st, wait_ms);
    snats_status got = atomic_load(&st->end_status);
    if (got != want) FAIL("%s: the stream ended with %s (%s), expected %s", method, snats_status_text(got), st->message,
                          snats_status_text(want));
    return stream;
}

static void stream_done(snats_rpc_stream *stream, rcb_stream_state *st) {
    snats_rpc_stream_destroy(stream);
    rcb_stream_free(st);
}

/* ---- describe ---- */

void rcb_describe_init_owned(rcb_describe_state *st) {
    memset(st, 0, sizeof *st);
    st->check_owner = true;
    st->owner = pthread_self();
}

void rcb_on_described(snats_status status, const json_t *value, void *closure) {
    rcb_describe_state *st = closure;
    if (atomic_load(&st->calls) != 0) FAIL("the describe callback ran twice");
    if (st->check_owner && !pthread_equal(pthread_self(), st->owner)) atomic_fetch_add(&st->wrong_thread, 1);
    if ((status == SNATS_OK) != (value != NULL)) FAIL("status %d with value %p", (int)status, (const void *)value);
    st->value = value ? json_deep_copy(value) : NULL;
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

/* ---- tests ---- */

static void rpc_stream_cb_items_in_order_then_end(void) {
    rcb_fixture f;
    rcb_calc_up(&f);
    static rcb_stream_state st;
    snats_rpc_stream *stream = stream_to_end(&st, f.client, "count", "[300]", harness_ms(2000), 10000, SNATS_OK);
    rcb_check_counted(&st, 300);
    /* Not for snats_rpc_stream_next, before or after the end. */
    json_t *item = (json_t *)&st, *error = (json_t *)&st;
    CHECK_STATUS(snats_rpc_stream_next(&item, &error, stream), SNATS_ILLEGAL_STATE);
    CHECK_NULL(item);
    CHECK_NULL(error);
    stream_done(stream, &st);

    /* No items at all: only the end. */
    stream = stream_to_end(&st, f.client, "count", "[0]", harness_ms(2000), 5000, SNATS_OK);
    CHECK_EQ_INT(atomic_load(&st.items), 0);
    stream_done(stream, &st);

    /* The timeout is per item: a stream longer than it is fine while items keep coming. */
    stream = stream_to_end(&st, f.client, "ticker", "[30, 10]", harness_ms(250), 10000, SNATS_OK);
    rcb_check_counted(&st, 30);
    stream_done(stream, &st);

    /* Without a stream handle: nothing to destroy. */
    rcb_stream_init(&st);
    json_t *params = json_pack("[i]", 5);
    CHECK_OK(snats_rpc_client_call_stream_cb(NULL, f.client, "count", params, harness_ms(2000), rcb_on_stream, &st));
    json_decref(params);
    rcb_stream_wait_end(&st, 5000);
    CHECK_EQ_INT(atomic_load(&st.end_status), SNATS_OK);
    rcb_check_counted(&st, 5);
    rcb_stream_free(&st);
    rcb_calc_down(&f);
}

static void rpc_stream_cb_plain_method_and_errors(void) {
    rcb_fixture f;
    rcb_calc_up(&f);
    static rcb_stream_state st;

    /* A method that does not stream: its result as the one item, then the end. */
    snats_rpc_stream *stream = stream_to_end(&st, f.client, "whoami", NULL, harness_ms(2000), 5000, SNATS_OK);
    CHECK_EQ_INT(json_array_size(st.values), 1);
    CHECK_EQ_STR(json_string_value(json_array_get(st.values, 0)), "calc");
    stream_done(stream, &st);
    stream = stream_to_end(&st, f.client, "nothing", NULL, harness_ms(2000), 5000, SNATS_OK); /* null is an item too */
    CHECK_EQ_INT(json_array_size(st.values), 1);
    CHECK(json_is_null(json_array_get(st.values, 0)));
    stream_done(stream, &st);

    /* No server has the method: -32601 at once. */
    int64_t started = harness_now_ms();
    stream = stream_to_end(&st, f.client, "nope", NULL, harness_ms(20000), 5000, SNATS_RPC_ERROR);
    CHECK(harness_now_ms() - started < harness_ms(5000));
    CHECK_EQ_INT(atomic_load(&st.items), 0);
    CHECK_EQ_INT(code_of(st.error), -32601);
    CHECK_EQ_STR(json_string_value(json_object_get(st.error, "message")), "Method not found: nope");
    stream_done(stream, &st);

    /* Items, then an error. */
    stream = stream_to_end(&st, f.client, "count", "[-1]", harness_ms(2000), 5000, SNATS_RPC_ERROR);
    rcb_check_counted(&st, 2);
    CHECK_EQ_INT(code_of(st.error), -32603);
    CHECK_EQ_STR(json_string_value(json_object_get(st.error, "message")), "Internal error: generator failed");
    stream_done(stream, &st);

    /* A plain method that fails: no item, the error. */
    stream = stream_to_end(&st, f.client, "crash", NULL, harness_ms(2000), 5000, SNATS_RPC_ERROR);
    CHECK_EQ_INT(atomic_load(&st.items), 0);
    CHECK_EQ_INT(code_of(st.error), -32603);
    stream_done(stream, &st);

    /* Params the server refuses. */
    stream = stream_to_end(&st, f.client, "count", "{\"n\": \"many\"}", harness_ms(2000), 5000, SNATS_RPC_ERROR);
    CHECK_EQ_INT(code_of(st.error), -32602);
    stream_done(stream, &st);
    rcb_calc_down(&f);
}

/* Someone listens on the method's subject but never answers: SNATS_TIMEOUT ends the stream. */
static void rpc_stream_cb_silent_method_times_out(void) {
    rcb_fixture f;
    rcb_calc_up(&f);
    static rcb_stream_state st;
    rcb_stream_init(&st);
    int64_t started = harness_now_ms();
    snats_rpc_stream *stream = rcb_start_stream(f.client, "silent", NULL, harness_ms(300), &st);
    json_t *item = NULL, *error = NULL;
    CHECK_STATUS(snats_rpc_stream_next(&item, &error, stream), SNATS_ILLEGAL_STATE); /* at once */
    CHECK(harness_now_ms() - started < harness_ms(250));
    rcb_stream_wait_end(&st, 5000);
    CHECK(harness_now_ms() - started >= 250);
    CHECK_EQ_INT(atomic_load(&st.end_status), SNATS_TIMEOUT);
    CHECK_EQ_INT(atomic_load(&st.items), 0);
    CHECK_NULL(st.error);
    CHECK(strstr(st.message, "timed out") != NULL);
    stream_done(stream, &st);

    /* Items that stop coming: the items, then SNATS_TIMEOUT. */
    atomic_store(&g_ticker_stop, false);
    char params[64];
    snprintf(params, sizeof params, "[3, %lld]", (long long)harness_ms(1500));
    stream = stream_to_end(&st, f.client, "ticker", params, harness_ms(400), 5000, SNATS_TIMEOUT);
    rcb_check_counted(&st, 1);
    stream_done(stream, &st);
    rcb_calc_down(&f); /* stops the ticker */
}

/* snats_rpc_stream_destroy stops the callbacks, called from the test or from the callback. */
static void rpc_stream_cb_destroy_stops_callbacks(void) {
    rcb_fixture f;
    rcb_calc_up(&f);
    static rcb_stream_state st;
    rcb_stream_init(&st);
    atomic_store(&g_ticker_stop, false);
    snats_rpc_stream *stream = rcb_start_stream(f.client, "ticker", "[100000, 5]", harness_ms(2000), &st);
    CHECK_EVENTUALLY(atomic_load(&st.items) >= 5, 5000);
    snats_rpc_stream_destroy(stream);
    int calls = atomic_load(&st.calls);
    int sent = atomic_load(&g_ticker_sent);
    harness_sleep_ms(300);
    CHECK(atomic_load(&g_ticker_sent) > sent + 5); /* the server kept sending */
    CHECK_EQ_INT(atomic_load(&st.calls), calls);
    CHECK_EQ_INT(atomic_load(&st.ended), 0);
    CHECK_EQ_INT(atomic_load(&st.inside), 0);
    CHECK_EQ_INT(atomic_load(&st.overlapping), 0);
    rcb_check_counted(&st, calls);
    rcb_stream_free(&st);
    stop_tickers();

    /* From the callback itself (the handle may come after the first items). */
    rcb_stream_init(&st);
    st.destroy_after = 3;
    stream = rcb_start_stream(f.client, "ticker", "[100000, 5]", harness_ms(2000), &st);
    atomic_store(&st.destroy_me, stream);
    CHECK_EVENTUALLY(atomic_load(&st.destroyed_at) > 0 && atomic_load(&st.inside) == 0, 5000);
    sent = atomic_load(&g_ticker_sent);
    harness_sleep_ms(300);
    CHECK(atomic_load(&g_ticker_sent) > sent + 5);
    CHECK_EQ_INT(atomic_load(&st.calls), atomic_load(&st.destroyed_at));
    CHECK_EQ_INT(atomic_load(&st.ended), 0);
    rcb_check_counted(&st, atomic_load(&st.calls));
    CHECK(atomic_load(&st.calls) >= 3);
    rcb_stream_free(&st);
    stop_tickers();

    /* Destroyed at once, before any item. */
    rcb_stream_init(&st);
    stream = rcb_start_stream(f.client, "count", "[1000]", harness_ms(2000), &st);
    snats_rpc_stream_destroy(stream);
    calls = atomic_load(&st.calls);
    harness_sleep_ms(300);
    CHECK_EQ_INT(atomic_load(&st.calls), calls);
    rcb_check_counted(&st, calls - atomic_load(&st.ended));
    rcb_stream_free(&st);
    rcb_calc_down(&f);
}

/* The connection closes under a stream waiting for its next item: SNATS_CONNECTION_CLOSED. */
static void rpc_stream_cb_connection_closed(void) {
    rcb_fixture f;
    rcb_server_up(&f);
    f.c = connect_or_fail(f.srv.url);
    CHECK_OK(snats_rpc_client_create(&f.client, f.c, "calc"));
    static rcb_stream_state st;
    rcb_stream_init(&st);
    atomic_store(&g_ticker_stop, false);
    snats_rpc_stream *stream = rcb_start_stream(f.client, "ticker", "[100000, 20]", harness_ms(30000), &st);
    CHECK_EVENTUALLY(atomic_load(&st.items) >= 2, 5000);
    int64_t started = harness_now_ms();
    snats_conn_close(f.c);
    rcb_stream_wait_end(&st, 5000);
    CHECK(harness_now_ms() - started < harness_ms(5000));
    CHECK_EQ_INT(atomic_load(&st.end_status), SNATS_CONNECTION_CLOSED);
    rcb_check_counted(&st, atomic_load(&st.items));
    stream_done(stream, &st);

    /* A closed connection cannot ask: the callback is not called. */
    rcb_stream_init(&st);
    stream = (snats_rpc_stream *)&st;
    CHECK_STATUS(snats_rpc_client_call_stream_cb(&stream, f.client, "count", NULL, 1000, rcb_on_stream, &st),
                 SNATS_CONNECTION_CLOSED);
    CHECK_NULL(stream);
    harness_sleep_ms(200);
    CHECK_EQ_INT(atomic_load(&st.calls), 0);
    rcb_stream_free(&st);
    rcb_calc_down(&f);
}

static void rpc_stream_and_describe_cb_bad_arguments(void) {
    rcb_fixture f;
    rcb_calc_up(&f);
    static rcb_stream_state st;
    rcb_stream_init(&st);
    snats_rpc_stream *stream = (snats_rpc_stream *)&st;
    json_t *scalar = json_integer(3);
#define STREAM_INVALID(...)                                                                             \
    do {                                                                                                \
        stream = (snats_rpc_stream *)&st;                                                               \
        CHECK_STATUS(snats_rpc_client_call_stream_cb(&stream, __VA_ARGS__), SNATS_INVALID_ARG);         \
        CHECK_NULL(stream);                                                                             \
    } while (0)
    STREAM_INVALID(NULL, "count", NULL, 1000, rcb_on_stream, &st);
    STREAM_INVALID(f.client, "count", NULL, 1000, NULL, &st);
    STREAM_INVALID(f.client, "count", NULL, 0, rcb_on_stream, &st);
    STREAM_INVALID(f.client, "count", NULL, -1, rcb_on_stream, &st);
    STREAM_INVALID(f.client, NULL, NULL, 1000, rcb_on_stream, &st);
    STREAM_INVALID(f.client, "bad method", NULL, 1000, rcb_on_stream, &st);
    STREAM_INVALID(f.client, "count", scalar, 1000, rcb_on_stream, &st);
#undef STREAM_INVALID
    CHECK_STATUS(snats_rpc_client_call_stream_cb(NULL, f.client, "count", NULL, 0, rcb_on_stream, &st), SNATS_INVALID_ARG);
    json_decref(scalar);
    snats_rpc_stream_destroy(NULL);

    static rcb_describe_state d;
    memset(&d, 0, sizeof d);
    CHECK_STATUS(snats_rpc_client_describe_cb(NULL, 1000, rcb_on_described, &d), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_describe_cb(f.client, 1000, NULL, &d), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_describe_cb(f.client, 0, rcb_on_described, &d), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_describe_cb(f.client, -1, rcb_on_described, &d), SNATS_INVALID_ARG);
    snats_conn_close(f.c);
    CHECK_STATUS(snats_rpc_client_describe_cb(f.client, 1000, rcb_on_described, &d), SNATS_CONNECTION_CLOSED);
    harness_sleep_ms(300);
    CHECK_EQ_INT(atomic_load(&st.calls), 0);
    CHECK_EQ_INT(atomic_load(&d.calls), 0);
    rcb_stream_free(&st);
    rcb_calc_down(&f);
}

const test_case rpc_cb_tests[] = {
    TEST(rpc_stream_cb_items_in_order_then_end),
    TEST(rpc_stream_cb_plain_method_and_errors),
    TEST(rpc_stream_cb_silent_method_times_out),
    TEST(rpc_stream_cb_destroy_stops_callbacks),
    TEST(rpc_stream_cb_connection_closed),
    TEST(rpc_stream_and_describe_cb_bad_arguments),
};
HARNESS_TABLE_COUNT(rpc_cb);
