/*
 * test_request.c - Request/reply: replies, no responders, timeouts, concurrency, headers,
 * msg_respond, closing during a wait, argument checks.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>

/* Replies "re:<payload>", and echoes header "X-Id" back as "X-Echo". */
static void responder_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    (void)closure;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "re:%.*s", (int)snats_msg_data_len(msg), (const char *)snats_msg_data(msg));
    const snats_headers *in = snats_msg_headers(msg);
    const char *id = NULL;
    if (in != NULL && snats_headers_get(&id, in, "X-Id") == SNATS_OK) {
        snats_headers *out = NULL;
        if (snats_headers_create(&out) != SNATS_OK) FAIL("headers_create");
        if (snats_headers_set(out, "X-Echo", id) != SNATS_OK) FAIL("headers_set");
        snats_status s = snats_publish_msg(conn, snats_msg_reply(msg), NULL, out, buf, (size_t)n);
        if (s != SNATS_OK) FAIL("publish_msg reply: %s", snats_status_text(s));
        snats_headers_destroy(out);
        return;
    }
    snats_status s = snats_msg_respond(msg, buf, (size_t)n);
    if (s != SNATS_OK) FAIL("respond: %s", snats_status_text(s));
}

typedef struct {
    test_server srv;
    snats_conn *rc; /* responder connection */
    snats_conn *qc; /* requester connection */
    snats_sub *responder;
} fixture;

static void fixture_up(fixture *f) {
    server_start(&f->srv);
    f->rc = connect_or_fail(f->srv.url);
    f->qc = connect_or_fail(f->srv.url);
    CHECK_OK(snats_subscribe(&f->responder, f->rc, "svc.echo", responder_cb, NULL));
    CHECK_OK(snats_conn_flush(f->rc, harness_ms(5000)));
}

static void fixture_down(fixture *f) {
    snats_sub_destroy(f->responder);
    snats_conn_destroy(f->qc);
    snats_conn_destroy(f->rc);
    server_stop(&f->srv);
}

static void req_reply(void) {
    fixture f;
    fixture_up(&f);
    for (int i = 0; i < 20; i++) {
        char q[32], want[40];
        int n = snprintf(q, sizeof q, "hello-%d", i);
        snprintf(want, sizeof want, "re:%s", q);
        snats_msg *reply = NULL;
        CHECK_OK(snats_request(&reply, f.qc, "svc.echo", q, (size_t)n, harness_ms(5000)));
        CHECK_NOT_NULL(reply);
        CHECK_EQ_STR((const char *)snats_msg_data(reply), want);
        CHECK_EQ_INT(snats_msg_data_len(reply), strlen(want));
        CHECK_EQ_INT(snats_msg_status_code(reply), 0);
        /* The reply arrived on an inbox of the requester. */
        if (strncmp(snats_msg_subject(reply), "_INBOX.", 7) != 0)
            FAIL("reply subject \"%s\" is not an inbox", snats_msg_subject(reply));
        snats_msg_release(reply);
    }
    /* An empty request (NULL data, len 0). */
    snats_msg *reply = NULL;
    CHECK_OK(snats_request(&reply, f.qc, "svc.echo", NULL, 0, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(reply), "re:");
    snats_msg_release(reply);
    /* The same connection can be requester and responder. */
    CHECK_OK(snats_request(&reply, f.rc, "svc.echo", "self", 4, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(reply), "re:self");
    snats_msg_release(reply);
    fixture_down(&f);
}

static void req_no_responders_fast(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_msg *reply = (snats_msg *)0x1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_request(&reply, c, "nobody.home", "x", 1, 10000), SNATS_NO_RESPONDERS);
    int64_t el = harness_now_ms() - t0;
    CHECK_NULL(reply);
    if (el > harness_ms(2000)) FAIL("no-responders took %lld ms of a 10000 ms timeout", (long long)el);
    CHECK(strlen(snats_last_error()) > 0);
    /* Again, to show the connection is fine and the answer repeatable. */
    CHECK_STATUS(snats_request(&reply, c, "nobody.home", "x", 1, 10000), SNATS_NO_RESPONDERS);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void req_timeout(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    /* A subscriber that never answers: no 503, just silence. */
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, c, "svc.silent"));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_msg *reply = (snats_msg *)0x1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_request(&reply, c, "svc.silent", "x", 1, 300), SNATS_TIMEOUT);
    int64_t el = harness_now_ms() - t0;
    CHECK_NULL(reply);
    if (el < 250) FAIL("request timed out after %lld ms, before 300 ms", (long long)el);
    if (el > harness_ms(3000)) FAIL("request with a 300 ms timeout took %lld ms", (long long)el);
    /* The request did reach the subscriber, with a reply subject. */
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, silent, harness_ms(5000)));
    CHECK_NOT_NULL(snats_msg_reply(m));
    /* A late answer to a timed-out request is ignored; the next request still works. */
    CHECK_OK(snats_msg_respond(m, "late", 4));
    snats_msg_release(m);
    snats_sub *echo = NULL;
    CHECK_OK(snats_subscribe(&echo, c, "svc.echo", responder_cb, NULL));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_request(&reply, c, "svc.echo", "next", 4, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(reply), "re:next");
    snats_msg_release(reply);
    snats_sub_destroy(echo);
    snats_sub_destroy(silent);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    snats_conn *conn;
    int index;
    int ok;
    char error[256];
} req_worker;

static void *req_worker_run(void *arg) {
    req_worker *w = arg;
    for (int i = 0; i < 100; i++) {
        char q[64], want[72];
        int n = snprintf(q, sizeof q, "t%d-r%d", w->index, i);
        snprintf(want, sizeof want, "re:%s", q);
        snats_msg *reply = NULL;
        snats_status s = snats_request(&reply, w->conn, "svc.echo", q, (size_t)n, harness_ms(10000));
        if (s != SNATS_OK) {
            snprintf(w->error, sizeof w->error, "request %s: %s (%s)", q, snats_status_text(s), snats_last_error());
            return NULL;
        }
        if (strcmp((const char *)snats_msg_data(reply), want) != 0) {
            snprintf(w->error, sizeof w->error, "request %s got reply \"%s\"", q, (const char *)snats_msg_data(reply));
            snats_msg_release(reply);
            return NULL;
        }
        snats_msg_release(reply);
        w->ok++;
    }
    return NULL;
}

static void req_concurrent_threads_matched(void) {
    fixture f;
    fixture_up(&f);
    req_worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].conn = f.qc; /* one connection, one shared reply subscription */
        w[i].index = i;
        harness_spawn(&t[i], req_worker_run, &w[i]);
    }
    for (int i = 0; i < 4; i++) harness_join(t[i]);
    for (int i = 0; i < 4; i++) {
        if (w[i].error[0]) FAIL("thread %d: %s", i, w[i].error);
        CHECK_EQ_INT(w[i].ok, 100);
    }
    fixture_down(&f);
}

static void req_request_msg_with_headers(void) {
    fixture f;
    fixture_up(&f);
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    CHECK_OK(snats_headers_set(h, "X-Id", "abc-123"));
    snats_msg *reply = NULL;
    CHECK_OK(snats_request_msg(&reply, f.qc, "svc.echo", h, "body", 4, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(reply), "re:body");
    const snats_headers *rh = snats_msg_headers(reply);
    CHECK_NOT_NULL(rh);
    const char *v = NULL;
    CHECK_OK(snats_headers_get(&v, rh, "X-Echo"));
    CHECK_EQ_STR(v, "abc-123");
    snats_msg_release(reply);
    /* NULL headers: a plain request. */
    CHECK_OK(snats_request_msg(&reply, f.qc, "svc.echo", NULL, "plain", 5, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(reply), "re:plain");
    CHECK_NULL(snats_msg_headers(reply));
    snats_msg_release(reply);
    /* The headers object is unchanged and reusable. */
    CHECK_EQ_INT(snats_headers_key_count(h), 1);
    CHECK_OK(snats_request_msg(&reply, f.qc, "svc.echo", h, NULL, 0, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(reply), "re:");
    snats_msg_release(reply);
    /* No responders through request_msg too. */
    CHECK_STATUS(snats_request_msg(&reply, f.qc, "nobody.here", h, "x", 1, harness_ms(5000)), SNATS_NO_RESPONDERS);
    CHECK_NULL(reply);
    snats_headers_destroy(h);
    fixture_down(&f);
}

/* msg_respond on a message received on a sync subscription. */
static void req_msg_respond(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *rc = connect_or_fail(srv.url);
    snats_conn *qc = connect_or_fail(srv.url);
    snats_sub *svc = NULL, *inbox_sub = NULL;
    CHECK_OK(snats_subscribe_sync(&svc, rc, "svc.sync"));
    CHECK_OK(snats_subscribe_sync(&inbox_sub, qc, "my.inbox"));
    CHECK_OK(snats_conn_flush(rc, harness_ms(5000)));
    CHECK_OK(snats_conn_flush(qc, harness_ms(5000)));
    CHECK_OK(snats_publish_request(qc, "svc.sync", "my.inbox", "question", 8));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, svc, harness_ms(5000)));
    CHECK_EQ_STR(snats_msg_reply(m), "my.inbox");
    CHECK_OK(snats_msg_respond(m, "answer", 6));
    CHECK_OK(snats_msg_respond(m, NULL, 0)); /* may respond more than once; empty body */
    CHECK_STATUS(snats_msg_respond(m, NULL, 3), SNATS_INVALID_ARG);
    snats_msg_release(m);
    snats_msg *r = NULL;
    CHECK_OK(snats_sub_next_msg(&r, inbox_sub, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(r), "answer");
    CHECK_EQ_STR(snats_msg_subject(r), "my.inbox");
    snats_msg_release(r);
    CHECK_OK(snats_sub_next_msg(&r, inbox_sub, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_data_len(r), 0);
    snats_msg_release(r);

    /* No reply subject: SNATS_INVALID_ARG. */
    CHECK_OK(snats_publish(qc, "svc.sync", "no-reply", 8));
    CHECK_OK(snats_sub_next_msg(&m, svc, harness_ms(5000)));
    CHECK_NULL(snats_msg_reply(m));
    CHECK_STATUS(snats_msg_respond(m, "x", 1), SNATS_INVALID_ARG);
    snats_msg_release(m);
    CHECK_STATUS(snats_msg_respond(NULL, "x", 1), SNATS_INVALID_ARG);

    /* Responding after the connection closed: SNATS_CONNECTION_CLOSED. */
    CHECK_OK(snats_publish_request(qc, "svc.sync", "my.inbox", "q2", 2));
    CHECK_OK(snats_sub_next_msg(&m, svc, harness_ms(5000)));
    snats_conn_close(rc);
    CHECK_STATUS(snats_msg_respond(m, "x", 1), SNATS_CONNECTION_CLOSED);
    snats_msg_release(m);

    snats_sub_destroy(svc);
    snats_sub_destroy(inbox_sub);
    snats_conn_destroy(rc);
    snats_conn_destroy(qc);
    server_stop(&srv);
}

static void req_bad_arguments(void) {
    fixture f;
    fixture_up(&f);
    snats_msg *reply = (snats_msg *)0x1;
    CHECK_STATUS(snats_request(NULL, f.qc, "svc.echo", "x", 1, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_request(&reply, NULL, "svc.echo", "x", 1, 1000), SNATS_INVALID_ARG);
    CHECK_NULL(reply);
    reply = (snats_msg *)0x1;
    CHECK_STATUS(snats_request(&reply, f.qc, NULL, "x", 1, 1000), SNATS_INVALID_ARG);
    CHECK_NULL(reply);
    CHECK_STATUS(snats_request(&reply, f.qc, "svc.echo", NULL, 1, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_request(&reply, f.qc, "svc.echo", "x", 1, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_request(&reply, f.qc, "svc.echo", "x", 1, -10), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_request_msg(&reply, f.qc, "svc.echo", NULL, "x", 1, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_request_msg(NULL, f.qc, "svc.echo", NULL, "x", 1, 1000), SNATS_INVALID_ARG);
    static const char *bad[] = {"", "svc.*", "svc.>", "a b", "a..b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reply = (snats_msg *)0x1;
        snats_status s = snats_request(&reply, f.qc, bad[i], "x", 1, 1000);
        if (s != SNATS_INVALID_SUBJECT) FAIL("request(\"%s\") = %s", bad[i], snats_status_text(s));
        CHECK_NULL(reply);
        s = snats_request_msg(&reply, f.qc, bad[i], NULL, "x", 1, 1000);
        if (s != SNATS_INVALID_SUBJECT) FAIL("request_msg(\"%s\") = %s", bad[i], snats_status_text(s));
    }
    /* Still fine. */
    CHECK_OK(snats_request(&reply, f.qc, "svc.echo", "ok", 2, harness_ms(5000)));
    snats_msg_release(reply);
    fixture_down(&f);
}

typedef struct {
    snats_conn *conn;
    atomic_int started;
    _Atomic snats_status status;
    int64_t elapsed;
} req_waiter;

static void *req_wait_thread(void *arg) {
    req_waiter *w = arg;
    snats_msg *reply = NULL;
    atomic_store(&w->started, 1);
    int64_t t0 = harness_now_ms();
    atomic_store(&w->status, snats_request(&reply, w->conn, "svc.silent", "x", 1, harness_ms(20000)));
    w->elapsed = harness_now_ms() - t0;
    snats_msg_release(reply);
    return NULL;
}

static void req_closed_during_wait(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, c, "svc.silent"));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    req_waiter w = {.conn = c, .status = SNATS_OK};
    pthread_t t;
    harness_spawn(&t, req_wait_thread, &w);
    /* The request is waiting once the silent subscriber has it. */
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, silent, harness_ms(5000)));
    snats_msg_release(m);
    snats_conn_close(c);
    harness_join(t);
    CHECK_EQ_INT(atomic_load(&w.status), SNATS_CONNECTION_CLOSED);
    if (w.elapsed > harness_ms(5000)) FAIL("the request waited %lld ms after the close", (long long)w.elapsed);
    snats_sub_destroy(silent);
    snats_conn_destroy(c);
    server_stop(&srv);
}

const test_case request_tests[] = {
    TEST(req_reply),
    TEST(req_no_responders_fast),
    TEST(req_timeout),
    TEST(req_concurrent_threads_matched),
    TEST(req_request_msg_with_headers),
    TEST(req_msg_respond),
    TEST(req_bad_arguments),
    TEST(req_closed_during_wait),
};
HARNESS_TABLE_COUNT(request);
