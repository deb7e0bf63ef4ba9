/*
 * test_rpc_liveness.c - RPC call liveness (docs/RPC.md "Liveness"): a call whose server took
 * it and then went silent (a subscriber that never answers, a server whose connection closed)
 * fails with SNATS_CALL_LOST two heartbeat intervals after it was last heard of, through
 * snats_rpc_client_call(), snats_rpc_client_call_cb() and snats_rpc_client_get_response() (a
 * lost call is forgotten); a real server working long on a call keeps it alive with its
 * liveness frames; snats_rpc_client_set_heartbeat() checks its argument and 0 turns liveness
 * off; a request asks for frames ("heartbeat": interval) only when its timeout is longer than
 * two intervals (and always from snats_rpc_client_call_async()).
 * Every test runs a nats-server with two connections: s for the servers, c for the client.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <jansson.h>

/* The heartbeat interval of the clients here (200 ms, longer under valgrind). */
#define HB harness_ms(200)

/* ---- server side ---- */

/* Takes a call of the silent subscriber and never answers it. */
static void take_and_ignore(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    atomic_fetch_add((atomic_int *)closure, 1);
}

static atomic_int g_slow_started;

/* Works for a second (blocking its thread), then answers "done". */
static void slow(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    atomic_fetch_add(&g_slow_started, 1);
    harness_sleep_ms(harness_ms(1000));
    json_t *result = json_string("done");
    CHECK_OK(snats_rpc_request_respond(req, result));
    json_decref(result);
}

static _Atomic(snats_rpc_request *) g_held;

/* Keeps the call (released by the test) and never answers it. */
static void hold(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    atomic_store(&g_held, snats_rpc_request_retain(req));
}

/* ---- fixture ---- */

/* A nats-server; conn s with, on demand, a subscriber of rpc.live.hang in queue group "q"
 * that takes every call and never answers (silent) or the RPC server of namespace "live"
 * (server); conn c with a client of "live". */
typedef struct {
    test_server srv;
    snats_conn *s, *c;
    snats_sub *silent;
    atomic_int taken; /* calls the silent subscriber took */
    snats_rpc_server *server;
    snats_rpc_client *client;
} live_fixture;

static void live_up(live_fixture *f) {
    memset(f, 0, sizeof *f);
    server_start(&f->srv);
    f->s = connect_or_fail(f->srv.url);
    f->c = connect_or_fail(f->srv.url);
    CHECK_OK(snats_rpc_client_create(&f->client, f->c, "live"));
}

static void live_silent_up(live_fixture *f) {
    CHECK_OK(snats_queue_subscribe(&f->silent, f->s, "rpc.live.hang", "q", take_and_ignore, &f->taken));
    CHECK_OK(snats_conn_flush(f->s, harness_ms(5000)));
}

static void live_server_up(live_fixture *f) {
    CHECK_OK(snats_rpc_server_create(&f->server, f->s, "live", NULL));
    CHECK_OK(snats_rpc_server_register(f->server, "slow", NULL, NULL, 0, slow, NULL));
    CHECK_OK(snats_rpc_server_register(f->server, "hold", NULL, NULL, 0, hold, NULL));
    CHECK_OK(snats_rpc_server_start(f->server, NULL));
}

static void live_down(live_fixture *f) {
    snats_rpc_client_destroy(f->client);
    snats_conn_destroy(f->c);
    snats_sub_destroy(f->silent);
    snats_rpc_server_destroy(f->server);
    snats_conn_destroy(f->s);
    server_stop(&f->srv);
}

/* A call lost took two intervals (counted from before the request went: a few ms of clock
 * granularity allowed), and much less than its timeout. */
static void check_lost_in_time(int64_t took_ms) {
    if (took_ms < 2 * HB - 10 || took_ms >= harness_ms(1500))
        FAIL("the call was lost after %lld ms, expected %lld .. %lld ms", (long long)took_ms,
             (long long)(2 * HB - 10), (long long)harness_ms(1500));
}

/* ---- tests ---- */

static void rpc_liveness_silent_server_call_is_lost(void) {
    live_fixture f;
    live_up(&f);
    live_silent_up(&f);
    CHECK(strncmp(snats_status_text(SNATS_CALL_LOST), "SNATS_CALL_LOST", strlen("SNATS_CALL_LOST")) == 0);
    CHECK_EQ_INT(SNATS_CALL_LOST, 28);
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, HB));
    json_t *result = NULL, *error = NULL;
    int64_t start = harness_now_ms();
    CHECK_STATUS(snats_rpc_client_call(&result, &error, f.client, "hang", NULL, harness_ms(10000)), SNATS_CALL_LOST);
    int64_t took = harness_now_ms() - start;
    CHECK(strstr(snats_last_error(), "\"hang\"") != NULL);
    CHECK_NULL(result);
    CHECK_NULL(error);
    check_lost_in_time(took);
    CHECK_EQ_INT(atomic_load(&f.taken), 1); /* the call was taken, not lost on the way */
    live_down(&f);
}

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    atomic_llong at_ms;    /* harness_now_ms() of the (first) call */
    atomic_int bad_args;   /* a result or an error object with a failure: must stay 0 */
    char message[256];     /* snats_last_error() inside */
} lost_state;

static void on_outcome(snats_status status, const json_t *result, const json_t *error, void *closure) {
    lost_state *st = closure;
    if (atomic_load(&st->calls) == 0) {
        atomic_store(&st->at_ms, (long long)harness_now_ms());
        snprintf(st->message, sizeof st->message, "%s", snats_last_error());
    }
    if (result != NULL || error != NULL) atomic_fetch_add(&st->bad_args, 1);
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

static void rpc_liveness_silent_server_callback_is_lost(void) {
    live_fixture f;
    live_up(&f);
    live_silent_up(&f);
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, HB));
    static lost_state st;
    int64_t start = harness_now_ms();
    CHECK_OK(snats_rpc_client_call_cb(f.client, "hang", NULL, harness_ms(10000), on_outcome, &st));
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 1500);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_CALL_LOST);
    check_lost_in_time((int64_t)atomic_load(&st.at_ms) - start);
    CHECK(strstr(st.message, "\"hang\"") != NULL);
    CHECK_EQ_INT(atomic_load(&st.bad_args), 0);
    harness_sleep_ms(harness_ms(300)); /* called once */
    CHECK_EQ_INT(atomic_load(&st.calls), 1);
    CHECK_EQ_INT(atomic_load(&f.taken), 1);
    live_down(&f);
}

static void rpc_liveness_silent_server_async_call_is_lost_and_forgotten(void) {
    live_fixture f;
    live_up(&f);
    live_silent_up(&f);
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, HB));
    uint64_t id = 0;
    int64_t start = harness_now_ms();
    CHECK_OK(snats_rpc_client_call_async(&id, f.client, "hang", NULL));
    CHECK(id != 0);
    json_t *result = NULL, *error = NULL;
    CHECK_STATUS(snats_rpc_client_get_response(&result, &error, f.client, id, harness_ms(10000)), SNATS_CALL_LOST);
    int64_t took = harness_now_ms() - start;
    CHECK(strstr(snats_last_error(), "\"hang\"") != NULL);
    CHECK_NULL(result);
    CHECK_NULL(error);
    check_lost_in_time(took);
    /* A lost call is forgotten. */
    CHECK_STATUS(snats_rpc_client_get_response(&result, &error, f.client, id, 100), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_rpc_client_cancel(f.client, id), SNATS_NOT_FOUND);
    CHECK_EQ_INT(atomic_load(&f.taken), 1);
    live_down(&f);
}

static void rpc_liveness_long_call_of_live_server_is_not_cut_off(void) {
    live_fixture f;
    live_up(&f);
    live_server_up(&f);
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, HB));
    json_t *result = NULL, *error = NULL;
    int64_t start = harness_now_ms();
    CHECK_OK(snats_rpc_client_call(&result, &error, f.client, "slow", NULL, harness_ms(5000)));
    int64_t took = harness_now_ms() - start;
    CHECK_EQ_STR(json_string_value(result), "done");
    CHECK_NULL(error);
    json_decref(result);
    CHECK(took >= harness_ms(1000)); /* it outlived five intervals */
    CHECK_EQ_INT(atomic_load(&g_slow_started), 1);
    live_down(&f);
}

/* Closes the server's connection (the closure) after 600 ms; returns when it is closed. */
static void *close_later(void *arg) {
    harness_sleep_ms(harness_ms(600));
    snats_conn_close(arg);
    return NULL;
}

static void rpc_liveness_server_connection_closed_call_is_lost(void) {
    live_fixture f;
    live_up(&f);
    live_server_up(&f);
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, HB));
    pthread_t closer;
    int64_t start = harness_now_ms();
    harness_spawn(&closer, close_later, f.s);
    json_t *result = NULL, *error = NULL;
    CHECK_STATUS(snats_rpc_client_call(&result, &error, f.client, "hold", NULL, harness_ms(10000)), SNATS_CALL_LOST);
    int64_t took = harness_now_ms() - start;
    CHECK(strstr(snats_last_error(), "\"hold\"") != NULL);
    CHECK_NULL(result);
    CHECK_NULL(error);
    harness_join(closer);
    if (took <= harness_ms(600) || took >= harness_ms(2000))
        FAIL("the call was lost after %lld ms, expected %lld .. %lld ms (the server's connection closed at %lld)",
             (long long)took, (long long)harness_ms(600), (long long)harness_ms(2000), (long long)harness_ms(600));
    snats_rpc_request *held = atomic_load(&g_held);
    CHECK_NOT_NULL(held); /* the server took the call before its connection closed */
    /* An answer after the close cannot be sent. */
    CHECK_STATUS(snats_rpc_request_respond(held, NULL), SNATS_CONNECTION_CLOSED);
    snats_rpc_request_release(held);
    live_down(&f);
}

static void rpc_liveness_set_heartbeat_arguments(void) {
    live_fixture f;
    live_up(&f);
    live_silent_up(&f);
    CHECK_STATUS(snats_rpc_client_set_heartbeat(NULL, 200), SNATS_INVALID_ARG);
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, 100)); /* the shortest */
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, HB));
    CHECK_STATUS(snats_rpc_client_set_heartbeat(f.client, 99), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_set_heartbeat(f.client, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_set_heartbeat(f.client, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_set_heartbeat(f.client, 86400001), SNATS_INVALID_ARG); /* past a day */
    CHECK_STATUS(snats_rpc_client_set_heartbeat(f.client, INT64_MAX), SNATS_INVALID_ARG);
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, 86400000)); /* the longest */
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, HB));
    /* Refused values leave the interval as it was. */
    json_t *result = NULL, *error = NULL;
    int64_t start = harness_now_ms();
    CHECK_STATUS(snats_rpc_client_call(&result, &error, f.client, "hang", NULL, harness_ms(10000)), SNATS_CALL_LOST);
    check_lost_in_time(harness_now_ms() - start);
    /* 0: no liveness, the call waits out its timeout. */
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, 0));
    start = harness_now_ms();
    CHECK_STATUS(snats_rpc_client_call(&result, &error, f.client, "hang", NULL, harness_ms(600)), SNATS_TIMEOUT);
    CHECK(harness_now_ms() - start >= harness_ms(600) - 10);
    CHECK_NULL(result);
    CHECK_NULL(error);
    CHECK_EQ_INT(atomic_load(&f.taken), 2);
    live_down(&f);
}

/* The next request on sub, parsed; fails the test unless it is a call of method "peek". */
static json_t *next_request(snats_sub *sub) {
    snats_msg *msg = NULL;
    CHECK_OK(snats_sub_next_msg(&msg, sub, harness_ms(2000)));
    CHECK_NOT_NULL(snats_msg_reply(msg));
    json_error_t why;
    json_t *body = json_loadb(snats_msg_data(msg), snats_msg_data_len(msg), 0, &why);
    if (body == NULL) FAIL("the request is not JSON (%s): %s", why.text, (const char *)snats_msg_data(msg));
    CHECK_EQ_STR(json_string_value(json_object_get(body, "method")), "peek");
    snats_msg_release(msg);
    return body;
}

static void rpc_liveness_request_asks_only_when_timeout_exceeds_two_intervals(void) {
    live_fixture f;
    live_up(&f);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, f.s, "rpc.live.peek"));
    CHECK_OK(snats_conn_flush(f.s, harness_ms(5000)));
    /* Literal values: what the requests say is checked, not how long anything takes. */
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, 200));
    json_t *result = NULL, *error = NULL;

    /* timeout == two intervals: the timeout comes first, no frames asked for. */
    CHECK_STATUS(snats_rpc_client_call(&result, &error, f.client, "peek", NULL, 400), SNATS_TIMEOUT);
    json_t *body = next_request(sub);
    CHECK_NULL(json_object_get(body, "heartbeat"));
    json_decref(body);

    /* One ms more: asked for, every 200 ms. Lost and timed out come together at 400 ms. */
    snats_status s = snats_rpc_client_call(&result, &error, f.client, "peek", NULL, 401);
    if (s != SNATS_CALL_LOST && s != SNATS_TIMEOUT)
        FAIL("a call of 401 ms returned %s, expected SNATS_CALL_LOST or SNATS_TIMEOUT", snats_status_text(s));
    body = next_request(sub);
    json_t *heartbeat = json_object_get(body, "heartbeat");
    CHECK(json_is_integer(heartbeat));
    CHECK_EQ_INT(json_integer_value(heartbeat), 200);
    json_decref(body);

    /* An async call always asks (its wait is not known yet)... */
    uint64_t id = 0;
    CHECK_OK(snats_rpc_client_call_async(&id, f.client, "peek", NULL));
    body = next_request(sub);
    CHECK_EQ_INT(json_integer_value(json_object_get(body, "heartbeat")), 200);
    json_decref(body);
    CHECK_OK(snats_rpc_client_cancel(f.client, id));
    /* ...unless liveness is off. */
    CHECK_OK(snats_rpc_client_set_heartbeat(f.client, 0));
    CHECK_OK(snats_rpc_client_call_async(&id, f.client, "peek", NULL));
    body = next_request(sub);
    CHECK_NULL(json_object_get(body, "heartbeat"));
    json_decref(body);
    CHECK_OK(snats_rpc_client_cancel(f.client, id));

    CHECK_NULL(result);
    CHECK_NULL(error);
    snats_sub_destroy(sub);
    live_down(&f);
}

const test_case rpc_liveness_tests[] = {
    TEST(rpc_liveness_silent_server_call_is_lost),
    TEST(rpc_liveness_silent_server_callback_is_lost),
    TEST(rpc_liveness_silent_server_async_call_is_lost_and_forgotten),
    TEST(rpc_liveness_long_call_of_live_server_is_not_cut_off),
    TEST(rpc_liveness_server_connection_closed_call_is_lost),
    TEST(rpc_liveness_set_heartbeat_arguments),
    TEST(rpc_liveness_request_asks_only_when_timeout_exceeds_two_intervals),
};
HARNESS_TABLE_COUNT(rpc_liveness);
