/*
 * test_rpc_cb_loop.c - snats_rpc_client_describe_cb() gives the array of the blocking form,
 * and both callback forms (streams and describe) driven by an event loop: a connection bound
 * to a dispatch queue, whose callbacks run only in the test thread's dispatch, and whose
 * answers that came in time still count when the owner dispatches late.
 * Shares its server and recorders with test_rpc_cb.c (rpc_cb.h).
 */
#define _GNU_SOURCE
#include "rpc_cb.h"

#include <stdlib.h>

/* snats_rpc_client_call_cb()'s callback, recorded in a rcb_describe_state. */
static void on_called(snats_status status, const json_t *result, const json_t *error, void *closure) {
    (void)error;
    rcb_describe_state *st = closure;
    st->value = result ? json_deep_copy(result) : NULL;
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

static void check_same(const json_t *blocking, const json_t *called_back) {
    if (!json_equal(blocking, called_back)) {
        char *a = json_dumps(blocking, JSON_COMPACT), *b = json_dumps(called_back, JSON_COMPACT);
        FAIL("describe: blocking %s != callback %s", a, b);
    }
}

static void rpc_describe_cb_matches_blocking_form(void) {
    rcb_fixture f;
    rcb_calc_up(&f);
    /* A second namespace, for a group client. */
    snats_rpc_server *other = NULL;
    CHECK_OK(snats_rpc_server_create(&other, f.s, "other", NULL));
    CHECK_OK(snats_rpc_server_register(other, "whoami", NULL, NULL, 0, rcb_whoami, NULL));
    CHECK_OK(snats_rpc_server_register(other, "only_other", NULL, NULL, 0, rcb_whoami, NULL));
    CHECK_OK(snats_rpc_server_start(other, NULL));
    const char *ring[] = {"other", "calc"};
    snats_rpc_client *group = NULL;
    CHECK_OK(snats_rpc_client_create_group(&group, f.s, ring, 2, NULL));

    static rcb_describe_state st;
    snats_rpc_client *clients[] = {f.client, group};
    size_t expected[] = {5, 6};
    for (int i = 0; i < 2; i++) {
        json_t *methods = NULL;
        CHECK_OK(snats_rpc_client_describe(&methods, clients[i], harness_ms(300)));
        CHECK_EQ_INT(json_array_size(methods), expected[i]);
        memset(&st, 0, sizeof st);
        int64_t started = harness_now_ms();
        CHECK_OK(snats_rpc_client_describe_cb(clients[i], harness_ms(300), rcb_on_described, &st));
        CHECK(harness_now_ms() - started < harness_ms(250));
        CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 5000);
        /* Every namespace is asked at once: one timeout, not one per namespace. */
        int64_t took = harness_now_ms() - started;
        if (took < harness_ms(300) - 20 || took >= harness_ms(600))
            FAIL("describe_cb of %d namespace(s) took %lld ms with a timeout of %lld ms", i + 1, (long long)took,
                 (long long)harness_ms(300));
        harness_sleep_ms(100);
        CHECK_EQ_INT(atomic_load(&st.calls), 1);
        CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
        check_same(methods, st.value);
        json_decref(methods);
        json_decref(st.value);
    }
    /* A namespace without a server: an empty array. */
    snats_rpc_client *nobody = NULL;
    CHECK_OK(snats_rpc_client_create(&nobody, f.s, "nobody"));
    memset(&st, 0, sizeof st);
    CHECK_OK(snats_rpc_client_describe_cb(nobody, harness_ms(300), rcb_on_described, &st));
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 5000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(json_array_size(st.value), 0);
    json_decref(st.value);
    snats_rpc_client_destroy(nobody);
    snats_rpc_client_destroy(group);
    snats_rpc_server_destroy(other);
    rcb_calc_down(&f);
}

/* ---- a dispatch queue ---- */

static atomic_int g_closed;

/* The "calc" server, and a client of it (f->client) on a connection bound to a new queue
 * (f->c), which it returns. */
static snats_dispatch_queue *queue_client_up(rcb_fixture *f) {
    rcb_server_up(f);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    f->c = harness_connect_on_queue(f->srv.url, q, false, harness_count_closed, &g_closed);
    CHECK_OK(snats_rpc_client_create(&f->client, f->c, "calc"));
    return q;
}

/* Destroys the client and its connection (whose closed callback waits for the dispatch), q,
 * then the server. */
static void queue_client_down(rcb_fixture *f, snats_dispatch_queue *q) {
    snats_rpc_client_destroy(f->client);
    f->client = NULL;
    snats_conn_destroy(f->c);
    f->c = f->s;
    harness_dispatch_until(q, &g_closed, 1);
    snats_dispatch_queue_destroy(q);
    rcb_calc_down(f);
}

/* The client's connection is bound to a queue: every callback runs in the test thread's
 * dispatch, none before it. */
static void rpc_stream_and_describe_cb_on_dispatch_queue(void) {
    rcb_fixture f;
    snats_dispatch_queue *q = queue_client_up(&f);

    static rcb_stream_state st;
    rcb_stream_init_owned(&st);
    snats_rpc_stream *stream = rcb_start_stream(f.client, "count", "[50]", harness_ms(5000), &st);
    harness_sleep_ms(200); /* the items are here by now, but wait for the owner */
    CHECK_EQ_INT(atomic_load(&st.calls), 0);
    harness_dispatch_until(q, &st.ended, 1);
    rcb_stream_wait_end(&st, 100);
    CHECK_EQ_INT(atomic_load(&st.end_status), SNATS_OK);
    rcb_check_counted(&st, 50);
    snats_rpc_stream_destroy(stream);
    rcb_stream_free(&st);

    struct { const char *method; snats_status status; } ends[] = {
        {"nope", SNATS_RPC_ERROR}, {"silent", SNATS_TIMEOUT}, {"whoami", SNATS_OK}};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        rcb_stream_init_owned(&st);
        stream = rcb_start_stream(f.client, ends[i].method, NULL, harness_ms(300), &st);
        harness_dispatch_until(q, &st.ended, 1);
        rcb_stream_wait_end(&st, 100);
        if (atomic_load(&st.end_status) != ends[i].status)
            FAIL("%s ended with %d, expected %d", ends[i].method, (int)st.end_status, (int)ends[i].status);
        snats_rpc_stream_destroy(stream);
        rcb_stream_free(&st);
    }

    /* Destroyed between two dispatches: what waits in the queue is not delivered. */
    rcb_stream_init_owned(&st);
    stream = rcb_start_stream(f.client, "count", "[20]", harness_ms(5000), &st);
    harness_sleep_ms(200);
    snats_rpc_stream_destroy(stream);
    for (int i = 0; i < 5; i++) CHECK_OK(snats_dispatch_queue_dispatch(NULL, q, 64, 20));
    CHECK_EQ_INT(atomic_load(&st.calls), 0);
    rcb_stream_free(&st);

    /* describe_cb, the same way; compared with the blocking form on a connection of its own. */
    snats_rpc_client *plain = NULL;
    CHECK_OK(snats_rpc_client_create(&plain, f.s, "calc"));
    json_t *methods = NULL;
    CHECK_OK(snats_rpc_client_describe(&methods, plain, harness_ms(300)));
    static rcb_describe_state d;
    rcb_describe_init_owned(&d);
    CHECK_OK(snats_rpc_client_describe_cb(f.client, harness_ms(300), rcb_on_described, &d));
    harness_sleep_ms(100); /* the answers are here by now, but wait for the owner */
    CHECK_EQ_INT(atomic_load(&d.calls), 0);
    harness_dispatch_until(q, &d.calls, 1);
    CHECK_EQ_INT(atomic_load(&d.wrong_thread), 0);
    CHECK_EQ_INT(atomic_load(&d.status), SNATS_OK);
    check_same(methods, d.value);
    json_decref(methods);
    json_decref(d.value);
    snats_rpc_client_destroy(plain);

    queue_client_down(&f, q);
}

/* The owner of the queue dispatches only after the timeout (a busy event loop): what came in
 * time was waiting in its queue, ahead of the timeout, and is delivered as the blocking forms
 * (and snats_rpc_client_call_cb()) would: the items and the end, the methods. */
static void rpc_stream_and_describe_cb_late_dispatch_keeps_what_came_in_time(void) {
    rcb_fixture f;
    snats_dispatch_queue *q = queue_client_up(&f);
    int64_t timeout = harness_ms(300), late = harness_ms(300) + 300;

    /* Control: snats_rpc_client_call_cb() delivers the answer that came in time. */
    static rcb_describe_state d;
    memset(&d, 0, sizeof d);
    CHECK_OK(snats_rpc_client_call_cb(f.client, "whoami", NULL, timeout, on_called, &d));
    harness_sleep_ms(late);
    harness_dispatch_until(q, &d.calls, 1);
    CHECK_EQ_INT(atomic_load(&d.status), SNATS_OK);
    CHECK_EQ_STR(json_string_value(d.value), "calc");
    json_decref(d.value);

    char failures[512] = "";
    static rcb_stream_state st;
    rcb_stream_init(&st);
    snats_rpc_stream *stream = rcb_start_stream(f.client, "count", "[3]", timeout, &st);
    harness_sleep_ms(late);
    harness_dispatch_until(q, &st.ended, 1);
    rcb_stream_wait_end(&st, 100);
    if (atomic_load(&st.end_status) != SNATS_OK || atomic_load(&st.items) != 3)
        snprintf(failures, sizeof failures, " stream_cb: %d item(s), then status %d (%s);", atomic_load(&st.items),
                 (int)st.end_status, st.message);
    else
        rcb_check_counted(&st, 3);
    snats_rpc_stream_destroy(stream);
    rcb_stream_free(&st);

    memset(&d, 0, sizeof d);
    CHECK_OK(snats_rpc_client_describe_cb(f.client, timeout, rcb_on_described, &d));
    harness_sleep_ms(late);
    harness_dispatch_until(q, &d.calls, 1);
    CHECK_EQ_INT(atomic_load(&d.status), SNATS_OK);
    if (json_array_size(d.value) != 5) {
        size_t n = strlen(failures);
        snprintf(failures + n, sizeof failures - n, " describe_cb: %zu method(s), not 5;", json_array_size(d.value));
    }
    json_decref(d.value);
    if (failures[0] != '\0') FAIL("dispatched after the timeout:%s", failures);

    queue_client_down(&f, q);
}

const test_case rpc_cb_loop_tests[] = {
    TEST(rpc_describe_cb_matches_blocking_form),
    TEST(rpc_stream_and_describe_cb_on_dispatch_queue),
    TEST(rpc_stream_and_describe_cb_late_dispatch_keeps_what_came_in_time),
};
HARNESS_TABLE_COUNT(rpc_cb_loop);
