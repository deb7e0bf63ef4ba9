/*
 * test_subscription.c - Subscriptions family: callbacks, wildcards, queue groups, sync
 * subscriptions, auto-unsubscribe, unsubscribe, pending limits and slow consumers, counters,
 * drain, and the calls a callback may make (destroy its own subscription, close its
 * connection, a blocking request).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------- */

#define MAX_RECORDED 256

/* Records what a callback sees. */
typedef struct {
    pthread_mutex_t mu;
    int count;
    char data[MAX_RECORDED][64];
    char subject[MAX_RECORDED][64];
    snats_conn *conn_seen;
    snats_sub *sub_seen;
    void *closure_seen;
    bool wrong_thread_order;
} recorder;

static void recorder_init(recorder *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

static int recorded(recorder *r) {
    pthread_mutex_lock(&r->mu);
    int n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void record_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    recorder *r = closure;
    pthread_mutex_lock(&r->mu);
    if (r->count < MAX_RECORDED) {
        snprintf(r->data[r->count], sizeof r->data[0], "%.*s", (int)snats_msg_data_len(msg),
                 (const char *)snats_msg_data(msg));
        snprintf(r->subject[r->count], sizeof r->subject[0], "%s", snats_msg_subject(msg));
    }
    r->count++;
    r->conn_seen = conn;
    r->sub_seen = sub;
    r->closure_seen = closure;
    pthread_mutex_unlock(&r->mu);
}

static void count_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    atomic_fetch_add((atomic_int *)closure, 1);
}

/* Error callback recorder. */
typedef struct {
    pthread_mutex_t mu;
    int count;
    snats_status status;
    snats_sub *sub;
} err_recorder;

static err_recorder g_err = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void err_cb(snats_conn *conn, snats_sub *sub, snats_status status, const char *text, void *closure) {
    (void)conn;
    (void)text;
    (void)closure;
    pthread_mutex_lock(&g_err.mu);
    g_err.count++;
    g_err.status = status;
    g_err.sub = sub;
    pthread_mutex_unlock(&g_err.mu);
}

static int err_count(void) {
    pthread_mutex_lock(&g_err.mu);
    int n = g_err.count;
    pthread_mutex_unlock(&g_err.mu);
    return n;
}

static atomic_int g_closed;

static void closed_cb(snats_conn *conn, void *closure) {
    (void)conn;
    (void)closure;
    atomic_fetch_add(&g_closed, 1);
}

static snats_conn *connect_with_callbacks(const char *url) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    CHECK_OK(snats_options_set_error_cb(o, err_cb, NULL));
    CHECK_OK(snats_options_set_closed_cb(o, closed_cb, NULL));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    return c;
}

static uint64_t delivered_of(snats_sub *s) {
    uint64_t n = 0;
    CHECK_OK(snats_sub_get_delivered(&n, s));
    return n;
}

static uint64_t dropped_of(snats_sub *s) {
    uint64_t n = 0;
    CHECK_OK(snats_sub_get_dropped(&n, s));
    return n;
}

static int pending_of(snats_sub *s) {
    int n = -1;
    CHECK_OK(snats_sub_get_pending(&n, NULL, s));
    return n;
}

/* Takes exactly n messages from a sync subscription, then shows no more come. */
static void expect_sync_count(snats_sub *sub, int n) {
    for (int i = 0; i < n; i++) {
        snats_msg *m = NULL;
        snats_status s = snats_sub_next_msg(&m, sub, harness_ms(5000));
        if (s != SNATS_OK) FAIL("%s: message %d of %d: %s", snats_sub_subject(sub), i + 1, n, snats_status_text(s));
        snats_msg_release(m);
    }
    snats_msg *m = NULL;
    snats_status s = snats_sub_next_msg(&m, sub, 200);
    if (s != SNATS_TIMEOUT) FAIL("%s: expected exactly %d messages, got more (%s)", snats_sub_subject(sub), n, snats_status_text(s));
}

/* ------------------------------------------------------------------------------------------
 * Delivery
 * ---------------------------------------------------------------------------------------- */

static void sub_async_callback_in_order(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    recorder r;
    recorder_init(&r);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "sub.a", record_cb, &r));
    CHECK_NOT_NULL(sub);
    CHECK(snats_sub_is_valid(sub));
    CHECK_EQ_STR(snats_sub_subject(sub), "sub.a");
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 100; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "msg-%d", i);
        CHECK_OK(snats_publish(c, "sub.a", buf, (size_t)n));
    }
    CHECK_EVENTUALLY(recorded(&r) == 100, 10000);
    for (int i = 0; i < 100; i++) {
        char want[32];
        snprintf(want, sizeof want, "msg-%d", i);
        CHECK_EQ_STR(r.data[i], want);
        CHECK_EQ_STR(r.subject[i], "sub.a");
    }
    CHECK(r.conn_seen == c);
    CHECK(r.sub_seen == sub);
    CHECK(r.closure_seen == &r);
    CHECK_EQ_INT(delivered_of(sub), 100);
    CHECK_EQ_INT(dropped_of(sub), 0);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_wildcards(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *star = NULL, *gt = NULL, *mid = NULL, *exact = NULL;
    CHECK_OK(snats_subscribe_sync(&star, c, "w.*"));
    CHECK_OK(snats_subscribe_sync(&gt, c, "w.>"));
    CHECK_OK(snats_subscribe_sync(&mid, c, "w.*.c"));
    CHECK_OK(snats_subscribe_sync(&exact, c, "w.a"));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    const char *subjects[] = {"w.a", "w.a.b", "w.b.c", "w.b.c.d", "x.a", "w"};
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++)
        CHECK_OK(snats_publish(c, subjects[i], "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    expect_sync_count(star, 1);  /* w.a */
    expect_sync_count(gt, 4);    /* w.a w.a.b w.b.c w.b.c.d */
    expect_sync_count(mid, 1);   /* w.b.c */
    expect_sync_count(exact, 1); /* w.a */
    snats_sub_destroy(star);
    snats_sub_destroy(gt);
    snats_sub_destroy(mid);
    snats_sub_destroy(exact);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_queue_group_split(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c1 = connect_or_fail(srv.url);
    snats_conn *c2 = connect_or_fail(srv.url);
    snats_conn *p = connect_or_fail(srv.url);
    atomic_int n1 = 0, n2 = 0, nplain = 0;
    snats_sub *q1 = NULL, *q2 = NULL, *plain = NULL, *qs = NULL;
    CHECK_OK(snats_queue_subscribe(&q1, c1, "jobs", "workers", count_cb, &n1));
    CHECK_OK(snats_queue_subscribe(&q2, c2, "jobs", "workers", count_cb, &n2));
    CHECK_OK(snats_subscribe(&plain, c1, "jobs", count_cb, &nplain));
    CHECK_OK(snats_conn_flush(c1, harness_ms(5000)));
    CHECK_OK(snats_conn_flush(c2, harness_ms(5000)));
    for (int i = 0; i < 200; i++) CHECK_OK(snats_publish(p, "jobs", "j", 1));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));
    CHECK_EVENTUALLY(atomic_load(&n1) + atomic_load(&n2) == 200 && atomic_load(&nplain) == 200, 10000);
    harness_sleep_ms(200); /* to show no duplicate arrives */
    CHECK_EQ_INT(atomic_load(&n1) + atomic_load(&n2), 200);
    CHECK(atomic_load(&n1) > 0);
    CHECK(atomic_load(&n2) > 0);
    CHECK_EQ_INT(atomic_load(&nplain), 200);

    /* A sync queue member of another group gets all of them. */
    CHECK_OK(snats_queue_subscribe_sync(&qs, p, "jobs", "other-group"));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));
    for (int i = 0; i < 5; i++) CHECK_OK(snats_publish(p, "jobs", "j", 1));
    expect_sync_count(qs, 5);

    snats_sub_destroy(q1);
    snats_sub_destroy(q2);
    snats_sub_destroy(plain);
    snats_sub_destroy(qs);
    snats_conn_destroy(c1);
    snats_conn_destroy(c2);
    snats_conn_destroy(p);
    server_stop(&srv);
}

static void sub_bad_arguments(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    atomic_int n = 0;
    snats_sub *sub = (snats_sub *)0x1;
    static const char *bad[] = {"", "a..b", "a b", ".a", "a.", "a.>.b", "a\tb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sub = (snats_sub *)0x1;
        snats_status s = snats_subscribe(&sub, c, bad[i], count_cb, &n);
        if (s != SNATS_INVALID_SUBJECT) FAIL("subscribe(\"%s\") = %s", bad[i], snats_status_text(s));
        CHECK_NULL(sub);
        s = snats_subscribe_sync(&sub, c, bad[i]);
        if (s != SNATS_INVALID_SUBJECT) FAIL("subscribe_sync(\"%s\") = %s", bad[i], snats_status_text(s));
        s = snats_queue_subscribe(&sub, c, bad[i], "q", count_cb, &n);
        if (s != SNATS_INVALID_SUBJECT) FAIL("queue_subscribe(\"%s\") = %s", bad[i], snats_status_text(s));
        s = snats_queue_subscribe_sync(&sub, c, bad[i], "q");
        if (s != SNATS_INVALID_SUBJECT) FAIL("queue_subscribe_sync(\"%s\") = %s", bad[i], snats_status_text(s));
    }
    CHECK_STATUS(snats_subscribe(NULL, c, "a", count_cb, &n), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_subscribe(&sub, NULL, "a", count_cb, &n), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_subscribe(&sub, c, NULL, count_cb, &n), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_subscribe(&sub, c, "a", NULL, &n), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_subscribe_sync(NULL, c, "a"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_subscribe_sync(&sub, NULL, "a"), SNATS_INVALID_ARG);
    static const char *bad_queues[] = {"", "a b", "a\tb"};
    for (size_t i = 0; i < sizeof bad_queues / sizeof bad_queues[0]; i++) {
        snats_status s = snats_queue_subscribe(&sub, c, "a", bad_queues[i], count_cb, &n);
        if (s != SNATS_INVALID_ARG) FAIL("queue_subscribe(queue \"%s\") = %s", bad_queues[i], snats_status_text(s));
        s = snats_queue_subscribe_sync(&sub, c, "a", bad_queues[i]);
        if (s != SNATS_INVALID_ARG) FAIL("queue_subscribe_sync(queue \"%s\") = %s", bad_queues[i], snats_status_text(s));
    }
    CHECK_STATUS(snats_queue_subscribe(&sub, c, "a", NULL, count_cb, &n), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_queue_subscribe_sync(&sub, c, "a", NULL), SNATS_INVALID_ARG);
    /* Null handles on the accessors. */
    CHECK(!snats_sub_is_valid(NULL));
    CHECK_NULL(snats_sub_subject(NULL));
    snats_sub_destroy(NULL);
    CHECK_STATUS(snats_sub_unsubscribe(NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_auto_unsubscribe(NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_drain(NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_set_pending_limits(NULL, 1, 1), SNATS_INVALID_ARG);
    int pm;
    int64_t pb;
    uint64_t u;
    CHECK_STATUS(snats_sub_get_pending(&pm, &pb, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_get_delivered(&u, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_get_dropped(&u, NULL), SNATS_INVALID_ARG);
    snats_msg *m = (snats_msg *)0x1;
    CHECK_STATUS(snats_sub_next_msg(&m, NULL, 100), SNATS_INVALID_ARG);
    CHECK_NULL(m);
    /* And NULL out-pointers on a valid subscription. */
    CHECK_OK(snats_subscribe_sync(&sub, c, "valid"));
    CHECK_STATUS(snats_sub_get_delivered(NULL, sub), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_get_dropped(NULL, sub), SNATS_INVALID_ARG);
    CHECK_OK(snats_sub_get_pending(NULL, NULL, sub));
    CHECK_STATUS(snats_sub_next_msg(NULL, sub, 100), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_next_msg(&m, sub, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_auto_unsubscribe(sub, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_auto_unsubscribe(sub, -3), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_drain(sub, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_set_pending_limits(sub, -1, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_set_pending_limits(sub, 0, -1), SNATS_INVALID_ARG);
    CHECK(snats_sub_is_valid(sub));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Synchronous subscriptions
 * ---------------------------------------------------------------------------------------- */

static void sub_sync_next_msg_and_timeout(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "sync.x"));
    snats_msg *m = (snats_msg *)0x1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 300), SNATS_TIMEOUT);
    int64_t el = harness_now_ms() - t0;
    CHECK_NULL(m);
    if (el < 250) FAIL("next_msg timed out after %lld ms, before 300 ms", (long long)el);
    CHECK_OK(snats_publish(c, "sync.x", "one", 3));
    CHECK_OK(snats_publish(c, "sync.x", "two", 3));
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "one");
    snats_msg_release(m);
    CHECK_EQ_INT(delivered_of(sub), 1);
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "two");
    snats_msg_release(m);
    CHECK_EQ_INT(delivered_of(sub), 2);
    CHECK_EQ_INT(pending_of(sub), 0);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* A zero timeout polls: SNATS_TIMEOUT at once when nothing is queued, the queued message
 * otherwise (one and a batch alike). */
static void sub_zero_timeout_polls(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "poll.x"));
    snats_msg *m = (snats_msg *)0x1;
    int64_t t0 = harness_now_ms();
    for (int i = 0; i < 100; i++) CHECK_STATUS(snats_sub_next_msg(&m, sub, 0), SNATS_TIMEOUT);
    int64_t el = harness_now_ms() - t0;
    CHECK_NULL(m);
    if (el > 200) FAIL("100 polls of an empty subscription took %lld ms", (long long)el);
    unsigned char buf[256];
    size_t used = 1, count = 1;
    CHECK_STATUS(snats_sub_next_msgs(buf, sizeof buf, &used, &count, sub, 4, 0), SNATS_TIMEOUT);
    CHECK_EQ_INT((int)count, 0);

    CHECK_OK(snats_publish(c, "poll.x", "one", 3));
    CHECK_OK(snats_publish(c, "poll.x", "two", 3));
    CHECK_OK(snats_publish(c, "poll.x", "three", 5));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(pending_of(sub) == 3, 5000);
    CHECK_OK(snats_sub_next_msg(&m, sub, 0));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "one");
    snats_msg_release(m);
    CHECK_OK(snats_sub_next_msgs(buf, sizeof buf, &used, &count, sub, 4, 0));
    CHECK_EQ_INT((int)count, 2);
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 0), SNATS_TIMEOUT);
    CHECK_EQ_INT(delivered_of(sub), 3);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* Reads one record of snats_sub_next_msgs(); returns the position after it. */
static const unsigned char *read_record(const unsigned char *p, char *subject, char *reply,
                                        uint32_t *header_len, char *data) {
    uint32_t len[4];
    memcpy(len, p, sizeof len);
    p += sizeof len;
    memcpy(subject, p, len[0]);
    subject[len[0]] = 0;
    p += len[0];
    memcpy(reply, p, len[1]);
    reply[len[1]] = 0;
    p += len[1];
    *header_len = len[2];
    p += len[2];
    memcpy(data, p, len[3]);
    data[len[3]] = 0;
    return p + len[3];
}

static void sub_next_msgs_batches(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "batch.>"));
    unsigned char buf[256];
    size_t used = 99, count = 99;
    CHECK_STATUS(snats_sub_next_msgs(buf, sizeof buf, &used, &count, sub, 10, 200), SNATS_TIMEOUT);
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(count, 0);

    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    CHECK_OK(snats_headers_add(h, "K", "v"));
    CHECK_OK(snats_publish(c, "batch.a", "one", 3));
    CHECK_OK(snats_publish_request(c, "batch.b", "reply.to", "two", 3));
    CHECK_OK(snats_publish_msg(c, "batch.c", NULL, h, "three", 5));
    CHECK_OK(snats_publish(c, "batch.d", "four", 4));
    snats_headers_destroy(h);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    int64_t deadline = harness_now_ms() + harness_ms(5000);
    while (pending_of(sub) < 4 && harness_now_ms() < deadline) harness_sleep_ms(5);

    /* at most 3 by count */
    CHECK_OK(snats_sub_next_msgs(buf, sizeof buf, &used, &count, sub, 3, harness_ms(5000)));
    CHECK_EQ_INT(count, 3);
    char subject[64], reply[64], data[64];
    uint32_t header_len = 0;
    const unsigned char *p = read_record(buf, subject, reply, &header_len, data);
    CHECK_EQ_STR(subject, "batch.a");
    CHECK_EQ_STR(reply, "");
    CHECK_EQ_INT(header_len, 0);
    CHECK_EQ_STR(data, "one");
    p = read_record(p, subject, reply, &header_len, data);
    CHECK_EQ_STR(subject, "batch.b");
    CHECK_EQ_STR(reply, "reply.to");
    CHECK_EQ_STR(data, "two");
    const unsigned char *third = p + 16 + strlen("batch.c");
    p = read_record(p, subject, reply, &header_len, data);
    CHECK_EQ_STR(subject, "batch.c");
    if (header_len < 12 || memcmp(third, "NATS/1.0", 8) != 0) FAIL("header block not passed raw (%u bytes)", header_len);
    CHECK_EQ_STR(data, "three");
    CHECK_EQ_INT((size_t)(p - buf), used);
    CHECK_EQ_INT(delivered_of(sub), 3);

    /* a buffer too small for the first record: its size is told and it stays queued */
    size_t need = 16 + strlen("batch.d") + 4;
    CHECK_STATUS(snats_sub_next_msgs(buf, need - 1, &used, &count, sub, 10, harness_ms(5000)), SNATS_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(used, need);
    CHECK_EQ_INT(count, 0);
    CHECK_EQ_INT(pending_of(sub), 1);
    CHECK_OK(snats_sub_next_msgs(buf, need, &used, &count, sub, 10, harness_ms(5000)));
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_INT(used, need);
    read_record(buf, subject, reply, &header_len, data);
    CHECK_EQ_STR(data, "four");

    /* bad arguments */
    CHECK_STATUS(snats_sub_next_msgs(buf, sizeof buf, &used, &count, NULL, 1, 100), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_next_msgs(NULL, sizeof buf, &used, &count, sub, 1, 100), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_next_msgs(buf, sizeof buf, &used, &count, sub, 0, 100), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_next_msgs(buf, sizeof buf, &used, &count, sub, 1, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_next_msgs(buf, sizeof buf, NULL, &count, sub, 1, 100), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_sub_next_msgs(buf, sizeof buf, &used, NULL, sub, 1, 100), SNATS_INVALID_ARG);

    /* the end of the subscription ends the batches */
    CHECK_OK(snats_sub_unsubscribe(sub));
    CHECK_STATUS(snats_sub_next_msgs(buf, sizeof buf, &used, &count, sub, 1, 100), SNATS_INVALID_SUBSCRIPTION);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_next_msg_on_async_is_illegal(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    atomic_int n = 0;
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "async.x", count_cb, &n));
    snats_msg *m = (snats_msg *)0x1;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 100), SNATS_ILLEGAL_STATE);
    CHECK_NULL(m);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    snats_sub *sub;
    _Atomic snats_status status;
} next_waiter;

static void *next_thread(void *arg) {
    next_waiter *w = arg;
    snats_msg *m = NULL;
    atomic_store(&w->status, snats_sub_next_msg(&m, w->sub, harness_ms(20000)));
    snats_msg_release(m);
    return NULL;
}

/* Closing the connection ends a waiting next_msg with SNATS_CONNECTION_CLOSED. */
static void sub_next_msg_connection_closed(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "wait.x"));
    next_waiter w = {.sub = sub, .status = SNATS_OK};
    pthread_t t;
    harness_spawn(&t, next_thread, &w);
    harness_sleep_ms(100); /* let it wait; the status is the same if it has not yet */
    snats_conn_close(c);
    harness_join(t);
    CHECK_EQ_INT(atomic_load(&w.status), SNATS_CONNECTION_CLOSED);
    snats_msg *m = NULL;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 100), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_sub_unsubscribe(sub), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_sub_auto_unsubscribe(sub, 5), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_sub_drain(sub, 1000), SNATS_CONNECTION_CLOSED);
    CHECK(!snats_sub_is_valid(sub));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Auto-unsubscribe and unsubscribe
 * ---------------------------------------------------------------------------------------- */

static void sub_auto_unsubscribe_sync(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "auto.sync"));
    CHECK_OK(snats_sub_auto_unsubscribe(sub, 3));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 5; i++) CHECK_OK(snats_publish(c, "auto.sync", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 3; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        snats_msg_release(m);
    }
    snats_msg *m = (snats_msg *)0x1;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 500), SNATS_MAX_DELIVERED);
    CHECK_NULL(m);
    CHECK_EQ_INT(delivered_of(sub), 3);
    CHECK(!snats_sub_is_valid(sub));
    CHECK_STATUS(snats_sub_auto_unsubscribe(sub, 10), SNATS_INVALID_SUBSCRIPTION);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_auto_unsubscribe_async_exact(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    atomic_int n = 0;
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "auto.async", count_cb, &n));
    CHECK_OK(snats_sub_auto_unsubscribe(sub, 3));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 10; i++) CHECK_OK(snats_publish(c, "auto.async", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(atomic_load(&n) >= 3, 5000);
    harness_sleep_ms(300); /* to show no fourth delivery */
    CHECK_EQ_INT(atomic_load(&n), 3);
    CHECK_EQ_INT(delivered_of(sub), 3);
    CHECK_EVENTUALLY(!snats_sub_is_valid(sub), 5000);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* The library stops at max even if the server's UNSUB arrives late: publish first, then
 * set the limit on messages already queued. */
static void sub_auto_unsubscribe_counts_delivered(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "auto.late"));
    for (int i = 0; i < 6; i++) CHECK_OK(snats_publish(c, "auto.late", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(pending_of(sub) == 6, 5000);
    for (int i = 0; i < 2; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        snats_msg_release(m);
    }
    /* 2 delivered already: 2 more, then MAX_DELIVERED although 4 are queued. */
    CHECK_OK(snats_sub_auto_unsubscribe(sub, 4));
    for (int i = 0; i < 2; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        snats_msg_release(m);
    }
    snats_msg *m = NULL;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 200), SNATS_MAX_DELIVERED);
    CHECK_EQ_INT(delivered_of(sub), 4);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_auto_unsubscribe_already_reached(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "auto.reached"));
    for (int i = 0; i < 2; i++) CHECK_OK(snats_publish(c, "auto.reached", "x", 1));
    for (int i = 0; i < 2; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        snats_msg_release(m);
    }
    CHECK_OK(snats_sub_auto_unsubscribe(sub, 2)); /* ended now */
    CHECK(!snats_sub_is_valid(sub));
    CHECK_OK(snats_publish(c, "auto.reached", "x", 1));
    snats_msg *m = NULL;
    snats_status s = snats_sub_next_msg(&m, sub, 200);
    if (s != SNATS_MAX_DELIVERED && s != SNATS_INVALID_SUBSCRIPTION)
        FAIL("next_msg after the count was reached: %s", snats_status_text(s));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_unsubscribe_twice(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "unsub.x"));
    /* Queued messages are discarded by unsubscribe. */
    for (int i = 0; i < 3; i++) CHECK_OK(snats_publish(c, "unsub.x", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(pending_of(sub) == 3, 5000);
    CHECK_OK(snats_sub_unsubscribe(sub));
    CHECK(!snats_sub_is_valid(sub));
    CHECK_STATUS(snats_sub_unsubscribe(sub), SNATS_INVALID_SUBSCRIPTION);
    snats_msg *m = (snats_msg *)0x1;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 100), SNATS_INVALID_SUBSCRIPTION);
    CHECK_NULL(m);
    CHECK_STATUS(snats_sub_set_pending_limits(sub, 10, 10), SNATS_INVALID_SUBSCRIPTION);
    CHECK_STATUS(snats_sub_drain(sub, 1000), SNATS_INVALID_SUBSCRIPTION);
    CHECK_STATUS(snats_sub_auto_unsubscribe(sub, 1), SNATS_INVALID_SUBSCRIPTION);
    CHECK_EQ_STR(snats_sub_subject(sub), "unsub.x"); /* valid until destroy */
    snats_sub_destroy(sub);

    /* An async subscription gets nothing after unsubscribe. */
    atomic_int n = 0;
    CHECK_OK(snats_subscribe(&sub, c, "unsub.y", count_cb, &n));
    CHECK_OK(snats_publish(c, "unsub.y", "x", 1));
    CHECK_EVENTUALLY(atomic_load(&n) == 1, 5000);
    CHECK_OK(snats_sub_unsubscribe(sub));
    CHECK_OK(snats_publish(c, "unsub.y", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    harness_sleep_ms(200); /* to show nothing more arrives */
    CHECK_EQ_INT(atomic_load(&n), 1);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_subscribe_on_closed_connection(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_conn_close(c);
    atomic_int n = 0;
    snats_sub *sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_subscribe(&sub, c, "a", count_cb, &n), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(sub);
    sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_subscribe_sync(&sub, c, "a"), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(sub);
    CHECK_STATUS(snats_queue_subscribe(&sub, c, "a", "q", count_cb, &n), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_queue_subscribe_sync(&sub, c, "a", "q"), SNATS_CONNECTION_CLOSED);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Pending limits, slow consumers
 * ---------------------------------------------------------------------------------------- */

static void sub_pending_limits_drop_and_report(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_with_callbacks(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "slow.x"));
    CHECK_OK(snats_sub_set_pending_limits(sub, 10, 0));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 100; i++) CHECK_OK(snats_publish(c, "slow.x", "0123456789", 10));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(dropped_of(sub) == 90, 5000);
    int pm = -1;
    int64_t pb = -1;
    CHECK_OK(snats_sub_get_pending(&pm, &pb, sub));
    CHECK_EQ_INT(pm, 10);
    CHECK(pb >= 100);

    CHECK_EVENTUALLY(err_count() >= 1, 5000);
    harness_sleep_ms(100); /* once per episode, not once per drop */
    pthread_mutex_lock(&g_err.mu);
    int errs = g_err.count;
    snats_status st = g_err.status;
    snats_sub *esub = g_err.sub;
    pthread_mutex_unlock(&g_err.mu);
    CHECK_EQ_INT(errs, 1);
    CHECK_EQ_INT(st, SNATS_SLOW_CONSUMER);
    CHECK(esub == sub);

    /* The 10 kept are the first 10, in order; then the queue is empty. */
    expect_sync_count(sub, 10);
    CHECK_EQ_INT(delivered_of(sub), 10);

    /* A new overflow is a new episode. */
    for (int i = 0; i < 30; i++) CHECK_OK(snats_publish(c, "slow.x", "0123456789", 10));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(dropped_of(sub) == 110, 5000);
    CHECK_EVENTUALLY(err_count() == 2, 5000);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_pending_bytes_limit(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_with_callbacks(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "slow.bytes"));
    CHECK_OK(snats_sub_set_pending_limits(sub, 0, 1000)); /* msgs unlimited, 1000 bytes */
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    char payload[100];
    memset(payload, 'b', sizeof payload);
    for (int i = 0; i < 50; i++) CHECK_OK(snats_publish(c, "slow.bytes", payload, sizeof payload));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(dropped_of(sub) > 0, 5000);
    int pm = -1;
    int64_t pb = -1;
    CHECK_OK(snats_sub_get_pending(&pm, &pb, sub));
    CHECK(pb <= 1000);
    CHECK(pm > 0 && pm <= 10);
    CHECK_EVENTUALLY((int)dropped_of(sub) + pending_of(sub) == 50, 5000);
    CHECK_EVENTUALLY(err_count() == 1, 5000);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_pending_limits_from_options(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, srv.url));
    CHECK_OK(snats_options_set_pending_limits(o, 5, 0));
    CHECK_OK(snats_options_set_error_cb(o, err_cb, NULL));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "slow.opts"));
    for (int i = 0; i < 20; i++) CHECK_OK(snats_publish(c, "slow.opts", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(dropped_of(sub) == 15, 5000);
    CHECK_EQ_INT(pending_of(sub), 5);
    /* 0 = unlimited: raise the limits, nothing more is dropped. */
    CHECK_OK(snats_sub_set_pending_limits(sub, 0, 0));
    for (int i = 0; i < 100; i++) CHECK_OK(snats_publish(c, "slow.opts", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(pending_of(sub) == 105, 5000);
    CHECK_EQ_INT(dropped_of(sub), 15);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* An async subscription whose callback is stuck: drops counted, the callback's sub non-NULL. */
typedef struct {
    atomic_bool release;
    atomic_int n;
} stuck_ctx;

static void stuck_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    stuck_ctx *s = closure;
    while (!atomic_load(&s->release)) harness_sleep_ms(2);
    atomic_fetch_add(&s->n, 1);
}

static void sub_slow_consumer_async(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_with_callbacks(srv.url);
    stuck_ctx s = {0};
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "slow.async", stuck_cb, &s));
    CHECK_OK(snats_sub_set_pending_limits(sub, 5, 0));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 50; i++) CHECK_OK(snats_publish(c, "slow.async", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(err_count() == 1, 5000);
    pthread_mutex_lock(&g_err.mu);
    CHECK_EQ_INT(g_err.status, SNATS_SLOW_CONSUMER);
    CHECK(g_err.sub == sub);
    pthread_mutex_unlock(&g_err.mu);
    /* One message is in the callback, at most 5 wait: 44 or 45 dropped. */
    CHECK_EVENTUALLY(dropped_of(sub) >= 44, 5000);
    uint64_t dropped = dropped_of(sub);
    CHECK(dropped == 44 || dropped == 45);
    atomic_store(&s.release, true);
    CHECK_EVENTUALLY((uint64_t)atomic_load(&s.n) + dropped == 50, 5000);
    CHECK_EQ_INT(delivered_of(sub), 50 - (int)dropped);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Drain
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    atomic_int n;
    int sleep_ms;
    atomic_bool release;
} slow_ctx;

static void slow_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    slow_ctx *s = closure;
    /* Held until released, or at most 3 s (times SNATS_TEST_SLOW) so that a library that waits for it cannot hang. */
    int64_t until = harness_now_ms() + harness_ms(3000);
    while (!atomic_load(&s->release) && harness_now_ms() < until) harness_sleep_ms(2);
    harness_sleep_ms(s->sleep_ms);
    atomic_fetch_add(&s->n, 1);
}

static void sub_drain_async(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    slow_ctx s = {.sleep_ms = 20};
    atomic_store(&s.release, true);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "drain.sub", slow_cb, &s));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 10; i++) CHECK_OK(snats_publish(c, "drain.sub", "x", 1));
    CHECK_OK(snats_sub_drain(sub, harness_ms(10000)));
    CHECK_EQ_INT(atomic_load(&s.n), 10);
    CHECK_EQ_INT(delivered_of(sub), 10);
    CHECK(!snats_sub_is_valid(sub));
    CHECK_STATUS(snats_sub_drain(sub, 1000), SNATS_INVALID_SUBSCRIPTION);
    /* Nothing more after the drain. */
    CHECK_OK(snats_publish(c, "drain.sub", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    harness_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&s.n), 10);
    CHECK(!snats_conn_is_closed(c)); /* a subscription drain leaves the connection open */
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    snats_sub *sub;
    int64_t timeout_ms;
    _Atomic snats_status status;
    atomic_int done;
} sub_drain_waiter;

static void *sub_drain_thread(void *arg) {
    sub_drain_waiter *w = arg;
    atomic_store(&w->status, snats_sub_drain(w->sub, w->timeout_ms));
    atomic_store(&w->done, 1);
    return NULL;
}

static void sub_drain_sync(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "drain.sync"));
    for (int i = 0; i < 3; i++) CHECK_OK(snats_publish(c, "drain.sync", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    sub_drain_waiter w = {.sub = sub, .timeout_ms = harness_ms(20000), .status = SNATS_ERR};
    pthread_t t;
    harness_spawn(&t, sub_drain_thread, &w);
    /* The drain waits for the application to take the 3 queued messages. */
    for (int i = 0; i < 3; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        snats_msg_release(m);
    }
    harness_join(t);
    CHECK_EQ_INT(atomic_load(&w.status), SNATS_OK);
    snats_msg *m = NULL;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 100), SNATS_INVALID_SUBSCRIPTION);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void sub_drain_timeout(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    slow_ctx s = {.sleep_ms = 0};
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "drain.stuck", slow_cb, &s));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 3; i++) CHECK_OK(snats_publish(c, "drain.stuck", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    int64_t t0 = harness_now_ms();
    snats_status st = snats_sub_drain(sub, 300);
    int64_t el = harness_now_ms() - t0;
    if (el > harness_ms(1500))
        FAIL("snats_sub_drain(sub, 300) blocked %lld ms (status %s): it waited for the running callback",
             (long long)el, snats_status_text(st));
    CHECK_EQ_INT(st, SNATS_TIMEOUT);
    if (el < 250) FAIL("drain timed out after %lld ms, before 300 ms", (long long)el);
    CHECK(!snats_sub_is_valid(sub)); /* ended anyway */
    atomic_store(&s.release, true);
    snats_sub_destroy(sub);
    CHECK(!snats_conn_is_closed(c));
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * What a callback may do
 * ---------------------------------------------------------------------------------------- */

static atomic_int g_self_destroy_calls;

static void self_destroy_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)msg;
    (void)closure;
    atomic_fetch_add(&g_self_destroy_calls, 1);
    snats_sub_destroy(sub); /* the rest of this callback must not use sub */
}

static void sub_destroy_from_own_callback(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "self.destroy", self_destroy_cb, NULL));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 5; i++) CHECK_OK(snats_publish(c, "self.destroy", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(atomic_load(&g_self_destroy_calls) >= 1, 5000);
    harness_sleep_ms(300); /* to show no further callback */
    CHECK_EQ_INT(atomic_load(&g_self_destroy_calls), 1);
    /* The connection is fine afterwards. */
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    atomic_int n;
    _Atomic snats_status unsub_status;
} self_unsub_ctx;

static void self_unsub_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)msg;
    self_unsub_ctx *s = closure;
    if (atomic_fetch_add(&s->n, 1) + 1 == 2) atomic_store(&s->unsub_status, snats_sub_unsubscribe(sub));
}

static void sub_unsubscribe_from_own_callback(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    self_unsub_ctx s = {.unsub_status = SNATS_ERR};
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "self.unsub", self_unsub_cb, &s));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 5; i++) CHECK_OK(snats_publish(c, "self.unsub", "x", 1));
    CHECK_EVENTUALLY(atomic_load(&s.n) >= 2, 5000);
    harness_sleep_ms(300);
    CHECK_EQ_INT(atomic_load(&s.n), 2);
    CHECK_EQ_INT(atomic_load(&s.unsub_status), SNATS_OK);
    CHECK(!snats_sub_is_valid(sub));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static atomic_int g_close_cb_calls;

static void close_conn_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    (void)msg;
    (void)closure;
    atomic_fetch_add(&g_close_cb_calls, 1);
    snats_conn_close(conn);
    if (!snats_conn_is_closed(conn)) FAIL("connection not closed after snats_conn_close in a callback");
}

static void sub_close_connection_from_callback(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_with_callbacks(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "self.close", close_conn_cb, NULL));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    /* The first message's callback closes the connection, maybe before the loop is done. */
    for (int i = 0; i < 5; i++) {
        snats_status s = snats_publish(c, "self.close", "x", 1);
        CHECK(s == SNATS_OK || (i > 0 && s == SNATS_CONNECTION_CLOSED));
    }
    CHECK_EVENTUALLY(atomic_load(&g_closed) == 1, 5000); /* closed callback, soon after */
    CHECK(snats_conn_is_closed(c));
    harness_sleep_ms(200);
    CHECK_EQ_INT(atomic_load(&g_close_cb_calls), 1);
    CHECK_EQ_INT(atomic_load(&g_closed), 1);
    CHECK(!snats_sub_is_valid(sub));
    snats_sub_destroy(sub);
    snats_conn_destroy(c); /* from another thread, afterwards */
    server_stop(&srv);
}

static void echo_responder_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)closure;
    char buf[128];
    int n = snprintf(buf, sizeof buf, "re:%.*s", (int)snats_msg_data_len(msg), (const char *)snats_msg_data(msg));
    snats_status s = snats_msg_respond(msg, buf, (size_t)n);
    if (s != SNATS_OK) FAIL("respond: %s", snats_status_text(s));
}

typedef struct {
    atomic_int done;
    _Atomic snats_status status;
    _Atomic snats_status flush_status;
    char reply[128];
} req_in_cb_ctx;

static void request_in_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    (void)msg;
    req_in_cb_ctx *r = closure;
    snats_msg *reply = NULL;
    snats_status s = snats_request(&reply, conn, "svc.echo", "ping", 4, harness_ms(5000));
    if (s == SNATS_OK) {
        snprintf(r->reply, sizeof r->reply, "%s", (const char *)snats_msg_data(reply));
        snats_msg_release(reply);
    }
    atomic_store(&r->flush_status, snats_conn_flush(conn, harness_ms(5000)));
    atomic_store(&r->status, s);
    atomic_store(&r->done, 1);
}

static void sub_blocking_request_in_callback(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    /* The responder, the trigger subscription and the request all use the same connection. */
    snats_sub *responder = NULL, *trigger = NULL;
    CHECK_OK(snats_subscribe(&responder, c, "svc.echo", echo_responder_cb, NULL));
    req_in_cb_ctx r = {.status = SNATS_ERR, .flush_status = SNATS_ERR};
    CHECK_OK(snats_subscribe(&trigger, c, "trigger", request_in_cb, &r));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_publish(c, "trigger", "go", 2));
    CHECK_EVENTUALLY(atomic_load(&r.done) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&r.status), SNATS_OK);
    CHECK_EQ_INT(atomic_load(&r.flush_status), SNATS_OK);
    CHECK_EQ_STR(r.reply, "re:ping");
    snats_sub_destroy(trigger);
    snats_sub_destroy(responder);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* Drain from the subscription's own callback: returns after the round trip; the queued
 * messages are still delivered, then the subscription ends. The callback drains only once the
 * publisher's flush has returned: the server has then routed all ten messages to the
 * subscription, so none can miss it because the UNSUB overtook a PUB still in flight (the
 * server reads the two connections independently; seen with nats-server 2.15 and 2.9). */
typedef struct {
    atomic_int n;
    atomic_int drain_calls;
    _Atomic snats_status drain_status;
    atomic_llong drain_ms;
    atomic_bool published;
} self_drain_ctx;

static bool self_drain_published(void *arg) { return atomic_load(&((self_drain_ctx *)arg)->published); }

static void self_drain_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)msg;
    self_drain_ctx *d = closure;
    if (atomic_fetch_add(&d->n, 1) == 0) {
        if (!harness_wait_until(self_drain_published, d, 5000)) FAIL("the publisher's flush did not return");
        atomic_fetch_add(&d->drain_calls, 1);
        int64_t t0 = harness_now_ms();
        atomic_store(&d->drain_status, snats_sub_drain(sub, harness_ms(10000)));
        atomic_store(&d->drain_ms, harness_now_ms() - t0);
    }
    harness_sleep_ms(5);
}

static void sub_drain_from_own_callback(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_conn *p = connect_or_fail(srv.url);
    self_drain_ctx d = {.drain_status = SNATS_ERR};
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "drain.self", self_drain_cb, &d));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 10; i++) CHECK_OK(snats_publish(p, "drain.self", "x", 1));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));
    atomic_store(&d.published, true);
    CHECK_EVENTUALLY(atomic_load(&d.drain_calls) == 1 && atomic_load(&d.drain_status) != SNATS_ERR, 5000);
    CHECK_EQ_INT(atomic_load(&d.drain_status), SNATS_OK);
    if (atomic_load(&d.drain_ms) > harness_ms(5000)) FAIL("drain in the callback took %lld ms", (long long)atomic_load(&d.drain_ms));
    CHECK_EVENTUALLY(atomic_load(&d.n) == 10, 5000);
    CHECK_EVENTUALLY(!snats_sub_is_valid(sub), 5000);
    /* Nothing after the drain. */
    CHECK_OK(snats_publish(p, "drain.self", "x", 1));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));
    harness_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&d.n), 10);
    snats_sub_destroy(sub);
    snats_conn_destroy(p);
    snats_conn_destroy(c);
    server_stop(&srv);
}

const test_case subscription_tests[] = {
    TEST(sub_async_callback_in_order),
    TEST(sub_wildcards),
    TEST(sub_queue_group_split),
    TEST(sub_bad_arguments),
    TEST(sub_sync_next_msg_and_timeout),
    TEST(sub_zero_timeout_polls),
    TEST(sub_next_msgs_batches),
    TEST(sub_next_msg_on_async_is_illegal),
    TEST(sub_next_msg_connection_closed),
    TEST(sub_auto_unsubscribe_sync),
    TEST(sub_auto_unsubscribe_async_exact),
    TEST(sub_auto_unsubscribe_counts_delivered),
    TEST(sub_auto_unsubscribe_already_reached),
    TEST(sub_unsubscribe_twice),
    TEST(sub_subscribe_on_closed_connection),
    TEST(sub_pending_limits_drop_and_report),
    TEST(sub_pending_bytes_limit),
    TEST(sub_pending_limits_from_options),
    TEST(sub_slow_consumer_async),
    TEST(sub_drain_async),
    TEST(sub_drain_sync),
    TEST(sub_drain_timeout),
    TEST(sub_drain_from_own_callback),
    TEST(sub_destroy_from_own_callback),
    TEST(sub_unsubscribe_from_own_callback),
    TEST(sub_close_connection_from_callback),
    TEST(sub_blocking_request_in_callback),
};
HARNESS_TABLE_COUNT(subscription);
