/*
 * queue_records.c - The records, fixture, failure callback and owner's step shared by
 * test_queue_tagged.c and test_queue_turn.c (see queue_records.h).
 */
#define _GNU_SOURCE
#include "queue_records.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>

const char *const read_names[2] = {"library reads", "owner reads"};
const char *const via_names[2] = {"next_msgs", "turn"};

/* ------------------------------------------------------------------------------------------
 * Records
 * ---------------------------------------------------------------------------------------- */

unsigned char g_buf[1 << 20];
rec g_recs[MAX_RECS];

void parse_batch(const unsigned char *buf, size_t used, size_t count) {
    if (count > MAX_RECS) FAIL("%zu records in one batch", count);
    const unsigned char *p = buf, *end = buf + used;
    for (size_t i = 0; i < count; i++) {
        if ((size_t)(end - p) < 24) FAIL("record %zu of %zu cut short (%zu of %zu bytes left)", i, count,
                                         (size_t)(end - p), used);
        rec *r = &g_recs[i];
        uint32_t len[4];
        memcpy(&r->tag, p, sizeof r->tag);
        memcpy(len, p + 8, sizeof len);
        p += 24;
        size_t total = (size_t)len[0] + len[1] + len[2] + len[3];
        if ((size_t)(end - p) < total) FAIL("record %zu of %zu: lengths %u/%u/%u/%u overrun the batch", i, count,
                                            len[0], len[1], len[2], len[3]);
        const char **fields[4] = {&r->subject, &r->reply, &r->hdr, &r->data};
        uint32_t *lens[4] = {&r->subject_len, &r->reply_len, &r->hdr_len, &r->data_len};
        for (int k = 0; k < 4; k++) {
            *fields[k] = (const char *)p;
            *lens[k] = len[k];
            p += len[k];
        }
    }
    if (p != end) FAIL("%zu records fill %zu of %zu bytes", count, (size_t)(p - buf), used);
}

static bool rec_is(const char *bytes, uint32_t len, const char *text) {
    return len == strlen(text) && memcmp(bytes, text, len) == 0;
}

#define CHECK_REC_DATA(r, text)                                                                          \
    do {                                                                                                 \
        if (!rec_is((r)->data, (r)->data_len, (text)))                                                   \
            FAIL("record (tag %llu) carries \"%.*s\", expected \"%s\"", (unsigned long long)(r)->tag,   \
                 (int)(r)->data_len, (r)->data, (text));                                                 \
    } while (0)

bool hdr_has(const rec *r, const char *line) {
    if (r->hdr_len < 12 || memcmp(r->hdr, "NATS/1.0", 8) != 0 || memcmp(r->hdr + r->hdr_len - 4, "\r\n\r\n", 4) != 0)
        return false;
    char needle[128];
    int n = snprintf(needle, sizeof needle, "\r\n%s\r\n", line);
    return memmem(r->hdr, r->hdr_len, needle, (size_t)n) != NULL;
}

void check_reply_rec(const rec *r, uint64_t tag, const char *data) {
    if (r->tag != tag) FAIL("record tag %llu, expected %llu", (unsigned long long)r->tag, (unsigned long long)tag);
    if (r->subject_len < 8 || memcmp(r->subject, "_INBOX.", 7) != 0)
        FAIL("reply record on subject \"%.*s\"", (int)r->subject_len, r->subject);
    CHECK_EQ_INT(r->reply_len, 0);
    CHECK_REC_DATA(r, data);
    if (!hdr_has(r, "X-Resp: yes")) FAIL("reply record without the responder's header (%u bytes: \"%.*s\")", r->hdr_len,
                                          (int)r->hdr_len, r->hdr);
}

void check_sub_rec(const rec *r, const char *subject, const char *data) {
    if (r->tag != SUB_TAG) FAIL("record tag %llu, expected the subscription's %u", (unsigned long long)r->tag, SUB_TAG);
    if (!rec_is(r->subject, r->subject_len, subject))
        FAIL("record on \"%.*s\", expected \"%s\"", (int)r->subject_len, r->subject, subject);
    CHECK_EQ_INT(r->reply_len, 0);
    CHECK_EQ_INT(r->hdr_len, 0);
    CHECK_REC_DATA(r, data);
}

/* ------------------------------------------------------------------------------------------
 * Fixture
 * ---------------------------------------------------------------------------------------- */

pthread_t g_owner;
atomic_int g_echoes;
atomic_int g_silent;
static atomic_int g_closed;       /* the queue-bound connection's closed callback */
static atomic_int g_closed_wrong; /* ... off the owner's thread */

static void on_closed(snats_conn *conn, void *closure) {
    (void)conn;
    (void)closure;
    if (!pthread_equal(pthread_self(), g_owner)) atomic_fetch_add(&g_closed_wrong, 1);
    atomic_fetch_add(&g_closed, 1);
}

/* Answers "re:" + the payload, with the header X-Resp: yes and X-Echo: the request's X-Req. */
static void echo_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    (void)closure;
    size_t len = snats_msg_data_len(msg);
    char *answer = malloc(len + 4);
    CHECK_NOT_NULL(answer);
    memcpy(answer, "re:", 3);
    if (len > 0) memcpy(answer + 3, snats_msg_data(msg), len);
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    CHECK_OK(snats_headers_set(h, "X-Resp", "yes"));
    const char *req = NULL;
    const snats_headers *in = snats_msg_headers(msg);
    if (in != NULL && snats_headers_get(&req, in, "X-Req") == SNATS_OK) CHECK_OK(snats_headers_set(h, "X-Echo", req));
    CHECK_NOT_NULL(snats_msg_reply(msg));
    CHECK_OK(snats_publish_msg(conn, snats_msg_reply(msg), NULL, h, answer, len + 3));
    snats_headers_destroy(h);
    free(answer);
    atomic_fetch_add(&g_echoes, 1);
}

static void silent_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    (void)closure;
    atomic_fetch_add(&g_silent, 1);
}

int queue_pending(snats_dispatch_queue *q) {
    int msgs = -1;
    CHECK_OK(snats_dispatch_queue_get_pending(&msgs, NULL, q));
    return msgs;
}

int fd_ready(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0) FAIL("poll: %s", strerror(errno));
    return n;
}

void turn_empty(snats_dispatch_queue *q) {
    size_t used = 99, count = 99;
    int ran = 99;
    CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, q, 64, MAX_RECS));
    if (ran != 0 || count != 0 || used != 0) FAIL("an idle turn ran %d callback(s), took %zu record(s)", ran, count);
}

void qt_up(qt *t, bool read) {
    memset(t, 0, sizeof *t);
    t->read = read;
    g_owner = pthread_self();
    atomic_store(&g_closed, 0);
    atomic_store(&g_closed_wrong, 0);
    server_start(&t->srv);
    CHECK_OK(snats_dispatch_queue_create(&t->q, 0, 0));
    CHECK_OK(snats_dispatch_queue_fd(&t->qfd, t->q));
    t->c = harness_connect_on_queue(t->srv.url, t->q, read, on_closed, NULL);
    t->p = connect_or_fail(t->srv.url);
    CHECK_OK(snats_subscribe(&t->echo, t->p, "qt.echo", echo_cb, NULL));
    CHECK_OK(snats_subscribe(&t->silent, t->p, "qt.silent", silent_cb, NULL));
    CHECK_OK(snats_conn_flush(t->p, harness_ms(5000)));
    /* This thread becomes the owner (with read, the owner alone reads c from now on). */
    turn_empty(t->q);
    CHECK_OK(snats_subscribe_on(&t->msgs, t->c, "qt.msgs", NULL, t->q, NULL, (void *)(uintptr_t)SUB_TAG));
    CHECK_OK(snats_conn_flush(t->c, harness_ms(5000)));
}

/* p's flush puts what it published in c's outbound stream at the server, ahead of the PONG
 * that ends c's flush (whose wait, on the owner, reads c's socket when the owner reads). */
void settle(qt *t) {
    CHECK_OK(snats_conn_flush(t->p, harness_ms(5000)));
    CHECK_OK(snats_conn_flush(t->c, harness_ms(5000)));
}

void wait_closed(qt *t) {
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (atomic_load(&g_closed) < 1) {
        if (harness_now_ms() > deadline) FAIL("the closed callback did not run");
        fd_ready(t->qfd, 5);
        size_t used = 0, count = 0;
        CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, NULL, t->q, 64, MAX_RECS));
        if (count != 0) FAIL("%zu record(s) came while closing", count);
    }
}

void qt_down(qt *t) {
    snats_sub_destroy(t->msgs);
    snats_conn_destroy(t->c);
    wait_closed(t);
    CHECK_EQ_INT(atomic_load(&g_closed), 1);
    CHECK_EQ_INT(atomic_load(&g_closed_wrong), 0);
    snats_dispatch_queue_destroy(t->q);
    snats_sub_destroy(t->echo);
    snats_sub_destroy(t->silent);
    snats_conn_destroy(t->p);
    server_stop(&t->srv);
}

void publish_text(snats_conn *c, const char *subject, const char *text) {
    CHECK_OK(snats_publish(c, subject, text, strlen(text)));
}

/* ------------------------------------------------------------------------------------------
 * The failure callback
 * ---------------------------------------------------------------------------------------- */

void fail_init(fail_rec *f, snats_conn *conn) {
    memset(f, 0, sizeof *f);
    f->status = SNATS_OK;
    f->conn = conn;
}

void on_fail(snats_conn *conn, snats_status status, snats_msg *reply, void *closure) {
    fail_rec *f = closure;
    f->at = harness_now_ms();
    if (reply != NULL || conn != f->conn || !pthread_equal(pthread_self(), g_owner)) atomic_fetch_add(&f->bad, 1);
    snprintf(f->error, sizeof f->error, "%s", snats_last_error() ? snats_last_error() : "");
    atomic_store(&f->status, status);
    atomic_fetch_add(&f->calls, 1);
}

void check_no_failure(const fail_rec *f, const char *what) {
    if (atomic_load(&f->calls) != 0)
        FAIL("%s: the failure callback ran (%s: %s)", what, snats_status_text(atomic_load(&f->status)), f->error);
}

/* ------------------------------------------------------------------------------------------
 * The owner's step
 * ---------------------------------------------------------------------------------------- */

size_t qt_step(qt *t, via v, int wait_ms, int *ran) {
    fd_ready(t->qfd, wait_ms);
    size_t used = 0, count = 0;
    int r = 0;
    if (v == VIA_TURN) {
        CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &r, t->q, 64, MAX_RECS));
    } else {
        CHECK_OK(snats_dispatch_queue_dispatch(&r, t->q, 64, 0));
        CHECK_OK(snats_dispatch_queue_next_msgs(g_buf, sizeof g_buf, &used, &count, t->q, MAX_RECS, 0));
    }
    parse_batch(g_buf, used, count);
    if (ran != NULL) *ran = r;
    return count;
}

void step_nothing_for(qt *t, via v, int64_t ms, const fail_rec *f, const char *what) {
    int64_t until = harness_now_ms() + ms;
    while (harness_now_ms() < until) {
        size_t n = qt_step(t, v, 5, NULL);
        if (n != 0) FAIL("%s: %zu unexpected record(s), the first tagged %llu", what, n, (unsigned long long)g_recs[0].tag);
        if (f != NULL) check_no_failure(f, what);
    }
}

void step_until_failed(qt *t, via v, fail_rec *f, int64_t timeout_ms, const char *what) {
    int64_t deadline = harness_now_ms() + timeout_ms;
    while (atomic_load(&f->calls) == 0) {
        if (harness_now_ms() > deadline) FAIL("%s: no failure callback within %lld ms", what, (long long)timeout_ms);
        size_t n = qt_step(t, v, 5, NULL);
        if (n != 0) FAIL("%s: %zu record(s) (the first tagged %llu) for a request that fails", what, n,
                         (unsigned long long)g_recs[0].tag);
    }
}
