/*
 * test_queue_turn.c - An event loop's owner taking one turn (snats_dispatch_queue_turn():
 * read the sockets, run callbacks, take the batch, never wait) and requests whose reply comes
 * out of the batch as a tagged record (snats_request_tagged(); failures go to its callback).
 *
 * Every case runs on a connection bound to a dispatch queue twice: read by the library's
 * reader (the default), and read by the queue's owner
 * (snats_options_set_read_on_dispatch_queue(opts, true)). The responders live on another,
 * normally served connection (the delivery pool). The test's thread is the queue's owner
 * (the epoll case: a thread of its own); every callback of the queue must run there.
 *
 * Records are parsed as snats_dispatch_queue_next_msgs() documents them: a native-endian
 * uint64_t tag, four native uint32_t lengths (subject, reply, header block, payload), then
 * those bytes; the records of a call fill exactly *used bytes.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define SUB_TAG 7u           /* the batch subscription qt.msgs on the queue-bound connection */
#define TAG_A 0xDEADBEEF00000001ull
#define MAX_RECS 1024

static const char *const read_names[2] = {"library reads", "owner reads"};

typedef enum { VIA_NEXT_MSGS, VIA_TURN } via;
static const char *const via_names[2] = {"next_msgs", "turn"};

/* SNATS_INVALID_ARG, with a message saying why. */
#define CHECK_INVALID(call)                                              \
    do {                                                                 \
        CHECK_STATUS(call, SNATS_INVALID_ARG);                           \
        CHECK(snats_last_error() != NULL && snats_last_error()[0] != 0); \
    } while (0)

/* ------------------------------------------------------------------------------------------
 * Records
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    uint64_t tag;
    const char *subject, *reply, *hdr, *data;
    uint32_t subject_len, reply_len, hdr_len, data_len;
} rec;

static unsigned char g_buf[1 << 20];
static rec g_recs[MAX_RECS];

/* Parses @p count records that must fill exactly @p used bytes of @p buf into g_recs. */
static void parse_batch(const unsigned char *buf, size_t used, size_t count) {
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
        r->subject = (const char *)p;
        r->subject_len = len[0];
        p += len[0];
        r->reply = (const char *)p;
        r->reply_len = len[1];
        p += len[1];
        r->hdr = (const char *)p;
        r->hdr_len = len[2];
        p += len[2];
        r->data = (const char *)p;
        r->data_len = len[3];
        p += len[3];
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

/* The header block is well formed and has the line "Key: value". */
static bool hdr_has(const rec *r, const char *line) {
    if (r->hdr_len < 12 || memcmp(r->hdr, "NATS/1.0", 8) != 0 || memcmp(r->hdr + r->hdr_len - 4, "\r\n\r\n", 4) != 0)
        return false;
    char needle[128];
    int n = snprintf(needle, sizeof needle, "\r\n%s\r\n", line);
    return memmem(r->hdr, r->hdr_len, needle, (size_t)n) != NULL;
}

/* A tagged request's reply: on an inbox subject, no reply subject. */
static void check_reply_rec(const rec *r, uint64_t tag, const char *data) {
    if (r->tag != tag) FAIL("record tag %llu, expected %llu", (unsigned long long)r->tag, (unsigned long long)tag);
    if (r->subject_len < 8 || memcmp(r->subject, "_INBOX.", 7) != 0)
        FAIL("reply record on subject \"%.*s\"", (int)r->subject_len, r->subject);
    CHECK_EQ_INT(r->reply_len, 0);
    CHECK_REC_DATA(r, data);
    if (!hdr_has(r, "X-Resp: yes")) FAIL("reply record without the responder's header (%u bytes: \"%.*s\")", r->hdr_len,
                                          (int)r->hdr_len, r->hdr);
}

static void check_sub_rec(const rec *r, const char *subject, const char *data) {
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

static pthread_t g_owner;
static atomic_int g_closed;       /* the queue-bound connection's closed callback */
static atomic_int g_closed_wrong; /* ... off the owner's thread */
static atomic_int g_echoes;       /* requests qt.echo answered */
static atomic_int g_silent;       /* requests qt.silent swallowed */

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

typedef struct {
    test_server srv;
    bool read;
    snats_dispatch_queue *q;
    int qfd;
    snats_conn *c;      /* bound to q (reads on it with read) */
    snats_conn *p;      /* plain: responders and publisher */
    snats_sub *echo;    /* qt.echo on p */
    snats_sub *silent;  /* qt.silent on p: never answers */
    snats_sub *msgs;    /* qt.msgs on c: a batch subscription, tag SUB_TAG */
} qt;

static int queue_pending(snats_dispatch_queue *q) {
    int msgs = -1;
    CHECK_OK(snats_dispatch_queue_get_pending(&msgs, NULL, q));
    return msgs;
}

static int fd_ready(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    if (n < 0) FAIL("poll: %s", strerror(errno));
    return n;
}

static snats_conn *connect_bound(const char *url, snats_dispatch_queue *q, bool read, snats_conn_handler closed,
                                 void *closure) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    CHECK_OK(snats_options_set_dispatch_queue(o, q));
    if (read) CHECK_OK(snats_options_set_read_on_dispatch_queue(o, true));
    CHECK_OK(snats_options_set_closed_cb(o, closed, closure));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    return c;
}

/* One turn that must find nothing at all. */
static void turn_empty(snats_dispatch_queue *q) {
    size_t used = 99, count = 99;
    int ran = 99;
    CHECK_OK(snats_dispatch_queue_turn(q, 64, g_buf, sizeof g_buf, MAX_RECS, &used, &count, &ran));
    if (ran != 0 || count != 0 || used != 0) FAIL("an idle turn ran %d callback(s), took %zu record(s)", ran, count);
}

static void qt_up(qt *t, bool read) {
    memset(t, 0, sizeof *t);
    t->read = read;
    g_owner = pthread_self();
    atomic_store(&g_closed, 0);
    atomic_store(&g_closed_wrong, 0);
    server_start(&t->srv);
    CHECK_OK(snats_dispatch_queue_create(&t->q, 0, 0));
    CHECK_OK(snats_dispatch_queue_fd(&t->qfd, t->q));
    t->c = connect_bound(t->srv.url, t->q, read, on_closed, NULL);
    t->p = connect_or_fail(t->srv.url);
    CHECK_OK(snats_subscribe(&t->echo, t->p, "qt.echo", echo_cb, NULL));
    CHECK_OK(snats_subscribe(&t->silent, t->p, "qt.silent", silent_cb, NULL));
    CHECK_OK(snats_conn_flush(t->p, harness_ms(5000)));
    /* This thread becomes the owner (with read, the owner alone reads c from now on). */
    turn_empty(t->q);
    CHECK_OK(snats_subscribe_on(&t->msgs, t->c, "qt.msgs", NULL, t->q, NULL, (void *)(uintptr_t)SUB_TAG));
    CHECK_OK(snats_conn_flush(t->c, harness_ms(5000)));
}

/* Everything published so far by p has been read off c's socket and queued: p's flush puts
 * it in c's outbound stream at the server, ahead of the PONG that ends c's flush (whose wait,
 * on the owner, reads c's socket when the owner reads). */
static void settle(qt *t) {
    CHECK_OK(snats_conn_flush(t->p, harness_ms(5000)));
    CHECK_OK(snats_conn_flush(t->c, harness_ms(5000)));
}

/* Turns until the closed callback ran; nothing else may come. */
static void wait_closed(qt *t) {
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (atomic_load(&g_closed) < 1) {
        if (harness_now_ms() > deadline) FAIL("the closed callback did not run");
        fd_ready(t->qfd, 5);
        size_t used = 0, count = 0;
        CHECK_OK(snats_dispatch_queue_turn(t->q, 64, g_buf, sizeof g_buf, MAX_RECS, &used, &count, NULL));
        if (count != 0) FAIL("%zu record(s) came while closing", count);
    }
}

static void qt_down(qt *t) {
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

static void publish_text(snats_conn *c, const char *subject, const char *text) {
    CHECK_OK(snats_publish(c, subject, text, strlen(text)));
}

/* ------------------------------------------------------------------------------------------
 * The failure callback
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    atomic_int bad; /* a reply with the failure, the wrong connection, or off the owner */
    int64_t at;
    snats_conn *conn;
    char error[256];
} fail_rec;

static void fail_init(fail_rec *f, snats_conn *conn) {
    memset(f, 0, sizeof *f);
    f->status = SNATS_OK;
    f->conn = conn;
}

static void on_fail(snats_conn *conn, snats_status status, snats_msg *reply, void *closure) {
    fail_rec *f = closure;
    f->at = harness_now_ms();
    if (reply != NULL || conn != f->conn || !pthread_equal(pthread_self(), g_owner)) atomic_fetch_add(&f->bad, 1);
    snprintf(f->error, sizeof f->error, "%s", snats_last_error() ? snats_last_error() : "");
    atomic_store(&f->status, status);
    atomic_fetch_add(&f->calls, 1);
}

static void check_no_failure(const fail_rec *f, const char *what) {
    if (atomic_load(&f->calls) != 0)
        FAIL("%s: the failure callback ran (%s: %s)", what, snats_status_text(atomic_load(&f->status)), f->error);
}

/* ------------------------------------------------------------------------------------------
 * The owner's step
 * ---------------------------------------------------------------------------------------- */

/* Waits up to @p wait_ms for the descriptor, then one step of the owner: a turn, or a dispatch
 * then a next_msgs (neither waiting). The records land in g_recs; returns how many. */
static size_t step(qt *t, via v, int wait_ms, int *ran) {
    fd_ready(t->qfd, wait_ms);
    size_t used = 0, count = 0;
    int r = 0;
    if (v == VIA_TURN) {
        CHECK_OK(snats_dispatch_queue_turn(t->q, 64, g_buf, sizeof g_buf, MAX_RECS, &used, &count, &r));
    } else {
        CHECK_OK(snats_dispatch_queue_dispatch(t->q, 64, 0, &r));
        CHECK_OK(snats_dispatch_queue_next_msgs(t->q, g_buf, sizeof g_buf, MAX_RECS, 0, &used, &count));
    }
    parse_batch(g_buf, used, count);
    if (ran != NULL) *ran = r;
    return count;
}

/* Steps for @p ms: nothing may come (no record, no failure). */
static void step_nothing_for(qt *t, via v, int64_t ms, const fail_rec *f, const char *what) {
    int64_t until = harness_now_ms() + ms;
    while (harness_now_ms() < until) {
        size_t n = step(t, v, 5, NULL);
        if (n != 0) FAIL("%s: %zu unexpected record(s), the first tagged %llu", what, n, (unsigned long long)g_recs[0].tag);
        if (f != NULL) check_no_failure(f, what);
    }
}

/* Steps until the failure callback ran (no record may come meanwhile). */
static void step_until_failed(qt *t, via v, fail_rec *f, int64_t timeout_ms, const char *what) {
    int64_t deadline = harness_now_ms() + timeout_ms;
    while (atomic_load(&f->calls) == 0) {
        if (harness_now_ms() > deadline) FAIL("%s: no failure callback within %lld ms", what, (long long)timeout_ms);
        size_t n = step(t, v, 5, NULL);
        if (n != 0) FAIL("%s: %zu record(s) (the first tagged %llu) for a request that fails", what, n,
                         (unsigned long long)g_recs[0].tag);
    }
}

/* ------------------------------------------------------------------------------------------
 * A tagged request answered: one record, before the subscription's messages
 * ---------------------------------------------------------------------------------------- */

static void queue_turn_tagged_reply_in_batch(void) {
    for (int read = 0; read < 2; read++) {
        static qt t;
        qt_up(&t, read);
        for (int v = VIA_NEXT_MSGS; v <= VIA_TURN; v++) {
            char what[96], xreq[32], echo_line[64];
            snprintf(what, sizeof what, "%s, %s", read_names[read], via_names[v]);
            snprintf(xreq, sizeof xreq, "v-%d-%d", read, v);
            snprintf(echo_line, sizeof echo_line, "X-Echo: %s", xreq);
            const uint64_t tag = TAG_A + (uint64_t)(2 * read + v);
            static fail_rec f;
            fail_init(&f, t.c);
            snats_headers *h = NULL;
            CHECK_OK(snats_headers_create(&h));
            CHECK_OK(snats_headers_set(h, "X-Req", xreq));

            /* Three messages before the reply, three after it (p sends them after the answer). */
            publish_text(t.p, "qt.msgs", "m0");
            publish_text(t.p, "qt.msgs", "m1");
            publish_text(t.p, "qt.msgs", "m2");
            CHECK_OK(snats_conn_flush(t.p, harness_ms(5000)));
            int echoes = atomic_load(&g_echoes);
            int64_t timeout = harness_ms(300), started = harness_now_ms();
            CHECK_OK(snats_request_tagged(t.c, "qt.echo", h, "hello", 5, timeout, tag, on_fail, &f));
            snats_headers_destroy(h); /* copied */
            CHECK_EVENTUALLY(atomic_load(&g_echoes) == echoes + 1, 5000);
            publish_text(t.p, "qt.msgs", "m3");
            publish_text(t.p, "qt.msgs", "m4");
            publish_text(t.p, "qt.msgs", "m5");
            settle(&t);
            CHECK_EQ_INT(queue_pending(t.q), 6);

            size_t used = 0, count = 0;
            int ran = -1;
            if (v == VIA_NEXT_MSGS) {
                CHECK_OK(snats_dispatch_queue_next_msgs(t.q, g_buf, sizeof g_buf, 64, 0, &used, &count));
            } else {
                CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, sizeof g_buf, 64, &used, &count, &ran));
                CHECK_EQ_INT(ran, 0);
            }
            if (count != 7) FAIL("%s: %zu record(s) in the batch, expected the reply and 6 messages", what, count);
            parse_batch(g_buf, used, count);
            check_reply_rec(&g_recs[0], tag, "re:hello");
            if (!hdr_has(&g_recs[0], echo_line)) FAIL("%s: the request's header did not make the round trip", what);
            static const char *const texts[6] = {"m0", "m1", "m2", "m3", "m4", "m5"};
            for (int i = 0; i < 6; i++) check_sub_rec(&g_recs[1 + i], "qt.msgs", texts[i]);
            CHECK_EQ_INT(queue_pending(t.q), 0);
            CHECK_EQ_INT(fd_ready(t.qfd, 0), 0);
            check_no_failure(&f, what);

            /* Exactly once: past the request's timeout, neither a second record nor a failure. */
            int64_t quiet_until = started + timeout + harness_ms(200);
            step_nothing_for(&t, (via)v, quiet_until - harness_now_ms(), &f, what);
            check_no_failure(&f, what);
        }
        qt_down(&t);
    }
}

/* ------------------------------------------------------------------------------------------
 * Failures: the callback, once, and no record
 * ---------------------------------------------------------------------------------------- */

static void queue_turn_tagged_failures(void) {
    for (int read = 0; read < 2; read++) {
        for (int v = VIA_NEXT_MSGS; v <= VIA_TURN; v++) {
            char what[128];
            static qt t;
            qt_up(&t, read);
            static fail_rec f;

            /* No responders. */
            snprintf(what, sizeof what, "%s, %s: no responders", read_names[read], via_names[v]);
            fail_init(&f, t.c);
            int64_t started = harness_now_ms();
            CHECK_OK(snats_request_tagged(t.c, "qt.nobody", NULL, "x", 1, harness_ms(5000), 101, on_fail, &f));
            step_until_failed(&t, (via)v, &f, harness_ms(4000), what);
            if (atomic_load(&f.status) != SNATS_NO_RESPONDERS)
                FAIL("%s: %s (%s)", what, snats_status_text(atomic_load(&f.status)), f.error);
            CHECK_EQ_INT(atomic_load(&f.bad), 0);
            CHECK(f.at - started < harness_ms(4000));
            step_nothing_for(&t, (via)v, harness_ms(200), NULL, what);
            CHECK_EQ_INT(atomic_load(&f.calls), 1);

            /* A subscriber that never answers: SNATS_TIMEOUT after about the timeout. */
            snprintf(what, sizeof what, "%s, %s: silent", read_names[read], via_names[v]);
            fail_init(&f, t.c);
            int silent = atomic_load(&g_silent);
            int64_t timeout = harness_ms(300);
            started = harness_now_ms();
            CHECK_OK(snats_request_tagged(t.c, "qt.silent", NULL, "x", 1, timeout, 102, on_fail, &f));
            step_until_failed(&t, (via)v, &f, timeout + harness_ms(3000), what);
            if (atomic_load(&f.status) != SNATS_TIMEOUT)
                FAIL("%s: %s (%s)", what, snats_status_text(atomic_load(&f.status)), f.error);
            CHECK_EQ_INT(atomic_load(&f.bad), 0);
            int64_t took = f.at - started;
            if (took < timeout - 20 || took > timeout + harness_ms(200))
                FAIL("%s: SNATS_TIMEOUT after %lld ms for a timeout of %lld ms", what, (long long)took, (long long)timeout);
            CHECK_EQ_INT(atomic_load(&g_silent), silent + 1);
            step_nothing_for(&t, (via)v, harness_ms(200), NULL, what);
            CHECK_EQ_INT(atomic_load(&f.calls), 1);

            /* The connection closed while the request waits. */
            snprintf(what, sizeof what, "%s, %s: closed", read_names[read], via_names[v]);
            fail_init(&f, t.c);
            silent = atomic_load(&g_silent);
            timeout = harness_ms(20000);
            CHECK_OK(snats_request_tagged(t.c, "qt.silent", NULL, "x", 1, timeout, 103, on_fail, &f));
            CHECK_EVENTUALLY(atomic_load(&g_silent) == silent + 1, 5000); /* it is waiting at the server's side */
            started = harness_now_ms();
            snats_conn_close(t.c);
            step_until_failed(&t, (via)v, &f, harness_ms(5000), what);
            snats_status s = atomic_load(&f.status);
            if (s != SNATS_CONNECTION_CLOSED && s != SNATS_NOT_CONNECTED)
                FAIL("%s: %s (%s), expected SNATS_CONNECTION_CLOSED or SNATS_NOT_CONNECTED", what, snats_status_text(s),
                     f.error);
            CHECK_EQ_INT(atomic_load(&f.bad), 0);
            CHECK(f.at - started < harness_ms(5000));
            wait_closed(&t);
            step_nothing_for(&t, (via)v, harness_ms(200), NULL, what);
            CHECK_EQ_INT(atomic_load(&f.calls), 1);
            /* A closed connection takes no more. */
            fail_init(&f, t.c);
            CHECK_STATUS(snats_request_tagged(t.c, "qt.echo", NULL, "x", 1, timeout, 104, on_fail, &f),
                         SNATS_CONNECTION_CLOSED);
            step_nothing_for(&t, (via)v, harness_ms(100), &f, what);
            qt_down(&t);
        }
    }
}

/* ------------------------------------------------------------------------------------------
 * Bad arguments: the status, and nothing afterwards
 * ---------------------------------------------------------------------------------------- */

static atomic_int g_closed_other;

static void on_closed_other(snats_conn *conn, void *closure) {
    (void)conn;
    (void)closure;
    atomic_fetch_add(&g_closed_other, 1);
}

static void queue_turn_tagged_bad_arguments(void) {
    for (int read = 0; read < 2; read++) {
        static qt t;
        qt_up(&t, read);
        static fail_rec f;
        fail_init(&f, t.c);
        int echoes = atomic_load(&g_echoes);
        const int64_t T = harness_ms(300);

        CHECK_INVALID(snats_request_tagged(NULL, "qt.echo", NULL, "x", 1, T, 1, on_fail, &f));
        CHECK_INVALID(snats_request_tagged(t.c, NULL, NULL, "x", 1, T, 1, on_fail, &f));
        CHECK_INVALID(snats_request_tagged(t.c, "qt.echo", NULL, "x", 1, T, 1, NULL, &f));
        CHECK_INVALID(snats_request_tagged(t.c, "qt.echo", NULL, "x", 1, 0, 1, on_fail, &f));
        CHECK_INVALID(snats_request_tagged(t.c, "qt.echo", NULL, "x", 1, -5, 1, on_fail, &f));
        CHECK_INVALID(snats_request_tagged(t.c, "qt.echo", NULL, NULL, 3, T, 1, on_fail, &f));
        static const char *const bad[] = {"", "qt.*", "qt.>", "a b", "a..b"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            snats_status s = snats_request_tagged(t.c, bad[i], NULL, "x", 1, T, 2, on_fail, &f);
            if (s != SNATS_INVALID_SUBJECT) FAIL("request_tagged(\"%s\") = %s", bad[i], snats_status_text(s));
        }
        int64_t max_payload = 0;
        CHECK_OK(snats_conn_get_max_payload(&max_payload, t.c));
        char *big = calloc(1, (size_t)max_payload + 1);
        CHECK_NOT_NULL(big);
        CHECK_STATUS(snats_request_tagged(t.c, "qt.echo", NULL, big, (size_t)max_payload + 1, T, 3, on_fail, &f),
                     SNATS_MAX_PAYLOAD);
        free(big);

        /* Not bound to a queue: a plain connection, even with a subscription on one. */
        fail_rec pf;
        fail_init(&pf, t.p);
        CHECK_STATUS(snats_request_tagged(t.p, "qt.echo", NULL, "x", 1, T, 4, on_fail, &pf), SNATS_ILLEGAL_STATE);
        CHECK(snats_last_error() != NULL && snats_last_error()[0] != 0);
        snats_sub *on_q = NULL;
        CHECK_OK(snats_subscribe_on(&on_q, t.p, "qt.elsewhere", NULL, t.q, NULL, (void *)99));
        CHECK_STATUS(snats_request_tagged(t.p, "qt.echo", NULL, "x", 1, T, 5, on_fail, &pf), SNATS_ILLEGAL_STATE);
        snats_sub_destroy(on_q);

        /* Closed: another connection on the queue. */
        atomic_store(&g_closed_other, 0);
        snats_conn *c2 = connect_bound(t.srv.url, t.q, read, on_closed_other, NULL);
        snats_conn_close(c2);
        fail_rec cf;
        fail_init(&cf, c2);
        CHECK_STATUS(snats_request_tagged(c2, "qt.echo", NULL, "x", 1, T, 6, on_fail, &cf), SNATS_CONNECTION_CLOSED);
        int64_t deadline = harness_now_ms() + harness_ms(5000);
        while (atomic_load(&g_closed_other) < 1) {
            if (harness_now_ms() > deadline) FAIL("%s: the second connection's closed callback did not run", read_names[read]);
            if (step(&t, VIA_TURN, 5, NULL) != 0) FAIL("%s: a record after bad calls", read_names[read]);
        }
        snats_conn_destroy(c2);

        /* Nothing comes of any of them: no record, no callback, no request sent. */
        for (int v = VIA_NEXT_MSGS; v <= VIA_TURN; v++) step_nothing_for(&t, (via)v, T + harness_ms(100), &f, read_names[read]);
        check_no_failure(&pf, "unbound connection");
        check_no_failure(&cf, "closed connection");
        CHECK_EQ_INT(atomic_load(&g_echoes), echoes);
        CHECK_EQ_INT(atomic_load(&g_closed_other), 1);

        /* The connection still works: no payload, no headers. */
        CHECK_OK(snats_request_tagged(t.c, "qt.echo", NULL, NULL, 0, harness_ms(5000), 7000, on_fail, &f));
        int64_t until = harness_now_ms() + harness_ms(5000);
        size_t n = 0;
        while ((n = step(&t, VIA_TURN, 5, NULL)) == 0) {
            if (harness_now_ms() > until) FAIL("%s: no record for a valid request after the bad ones", read_names[read]);
            check_no_failure(&f, read_names[read]);
        }
        CHECK_EQ_INT(n, 1);
        check_reply_rec(&g_recs[0], 7000, "re:");
        step_nothing_for(&t, VIA_TURN, harness_ms(100), &f, read_names[read]);
        qt_down(&t);
    }
}

/* ------------------------------------------------------------------------------------------
 * Many tagged requests in flight
 * ---------------------------------------------------------------------------------------- */

#define IN_FLIGHT 200
#define IN_FLIGHT_MSGS 50

static uint64_t flight_tag(int i) { return 0x100000ull + (uint64_t)i * 7919u; }

static void queue_turn_tagged_many_in_flight(void) {
    for (int read = 0; read < 2; read++) {
        static qt t;
        qt_up(&t, read);
        static fail_rec f;
        fail_init(&f, t.c);
        static int seen[IN_FLIGHT];
        memset(seen, 0, sizeof seen);
        char text[32];
        for (int i = 0; i < IN_FLIGHT; i++) {
            int len = snprintf(text, sizeof text, "req-%d", i);
            snats_headers *h = NULL;
            if (i % 3 == 0) {
                CHECK_OK(snats_headers_create(&h));
                CHECK_OK(snats_headers_set(h, "X-Req", text));
            }
            CHECK_OK(snats_request_tagged(t.c, "qt.echo", h, text, (size_t)len, harness_ms(10000), flight_tag(i),
                                          on_fail, &f));
            snats_headers_destroy(h);
            if (i % 4 == 0) { /* subscription messages among the replies */
                snprintf(text, sizeof text, "%d", i / 4);
                publish_text(t.p, "qt.msgs", text);
            }
        }
        CHECK_OK(snats_conn_flush(t.p, harness_ms(5000)));

        int replies = 0, msgs = 0, batches = 0;
        int64_t deadline = harness_now_ms() + harness_ms(15000);
        while (replies < IN_FLIGHT || msgs < IN_FLIGHT_MSGS) {
            if (harness_now_ms() > deadline) FAIL("%s: %d of %d replies, %d of %d messages", read_names[read], replies,
                                                  IN_FLIGHT, msgs, IN_FLIGHT_MSGS);
            check_no_failure(&f, read_names[read]);
            /* Small batches in a small buffer, alternating the two ways to take them. */
            fd_ready(t.qfd, 5);
            size_t used = 0, count = 0;
            if (batches % 2 == 0) CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, 2048, 16, &used, &count, NULL));
            else CHECK_OK(snats_dispatch_queue_next_msgs(t.q, g_buf, 2048, 16, 0, &used, &count));
            batches++;
            CHECK(count <= 16);
            parse_batch(g_buf, used, count);
            bool subs_begun = false;
            for (size_t k = 0; k < count; k++) {
                const rec *r = &g_recs[k];
                if (r->tag == SUB_TAG) {
                    snprintf(text, sizeof text, "%d", msgs);
                    check_sub_rec(r, "qt.msgs", text);
                    msgs++;
                    subs_begun = true;
                    continue;
                }
                uint64_t idx = r->tag >= 0x100000ull ? (r->tag - 0x100000ull) / 7919u : IN_FLIGHT;
                int i = idx < IN_FLIGHT ? (int)idx : 0;
                if (idx >= IN_FLIGHT || flight_tag(i) != r->tag)
                    FAIL("%s: a record with the unknown tag %llu", read_names[read], (unsigned long long)r->tag);
                if (seen[i]++ != 0) FAIL("%s: a second record for request %d", read_names[read], i);
                /* The owner alone reads c: nothing arrives while it takes, so replies lead. */
                if (read && subs_begun) FAIL("%s: a reply after a subscription message in one batch", read_names[read]);
                snprintf(text, sizeof text, "re:req-%d", i);
                check_reply_rec(r, r->tag, text);
                if (i % 3 == 0) {
                    char line[64];
                    snprintf(line, sizeof line, "X-Echo: req-%d", i);
                    if (!hdr_has(r, line)) FAIL("%s: request %d lost its header", read_names[read], i);
                }
                replies++;
            }
        }
        CHECK(batches >= (IN_FLIGHT + IN_FLIGHT_MSGS) / 16);
        for (int i = 0; i < IN_FLIGHT; i++) CHECK_EQ_INT(seen[i], 1);
        step_nothing_for(&t, VIA_TURN, harness_ms(200), &f, read_names[read]);
        check_no_failure(&f, read_names[read]);
        qt_down(&t);
    }
}

/* ------------------------------------------------------------------------------------------
 * The turn: a completion and a batch in one call
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    atomic_int wrong_thread;
    char data[64];
} async_rec;

static void on_async(snats_conn *conn, snats_status status, snats_msg *reply, void *closure) {
    (void)conn;
    async_rec *a = closure;
    if (!pthread_equal(pthread_self(), g_owner)) atomic_fetch_add(&a->wrong_thread, 1);
    if (reply != NULL) snprintf(a->data, sizeof a->data, "%.*s", (int)snats_msg_data_len(reply), (const char *)snats_msg_data(reply));
    atomic_store(&a->status, status);
    atomic_fetch_add(&a->calls, 1);
}

static uint64_t in_msgs_of(snats_conn *c) {
    uint64_t n = 0;
    CHECK_OK(snats_conn_get_stats(&n, NULL, NULL, NULL, c));
    return n;
}

static void queue_turn_runs_completion_and_takes_batch(void) {
    for (int read = 0; read < 2; read++) {
        static qt t;
        qt_up(&t, read);
        const char *what = read_names[read];

        /* A completion and three messages waiting: one turn runs the one and takes the others. */
        static async_rec a;
        memset(&a, 0, sizeof a);
        int echoes = atomic_load(&g_echoes);
        CHECK_OK(snats_request_async(t.c, "qt.echo", "one", 3, harness_ms(5000), on_async, &a));
        CHECK_EVENTUALLY(atomic_load(&g_echoes) == echoes + 1, 5000);
        publish_text(t.p, "qt.msgs", "a");
        publish_text(t.p, "qt.msgs", "b");
        publish_text(t.p, "qt.msgs", "c");
        settle(&t);
        CHECK_EQ_INT(atomic_load(&a.calls), 0);
        size_t used = 0, count = 0;
        int ran = -1;
        CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, sizeof g_buf, 64, &used, &count, &ran));
        if (ran != 1 || count != 3) FAIL("%s: the turn ran %d callback(s) and took %zu message(s), expected 1 and 3",
                                         what, ran, count);
        CHECK_EQ_INT(atomic_load(&a.calls), 1);
        CHECK_EQ_INT(atomic_load(&a.status), SNATS_OK);
        CHECK_EQ_STR(a.data, "re:one");
        CHECK_EQ_INT(atomic_load(&a.wrong_thread), 0);
        parse_batch(g_buf, used, count);
        check_sub_rec(&g_recs[0], "qt.msgs", "a");
        check_sub_rec(&g_recs[1], "qt.msgs", "b");
        check_sub_rec(&g_recs[2], "qt.msgs", "c");
        turn_empty(t.q);
        CHECK_EQ_INT(fd_ready(t.qfd, 0), 0);

        /* A reply still in the socket (owner reads) or just queued (library reads): the turn
         * that reads it runs its completion, in the same call. */
        memset(&a, 0, sizeof a);
        echoes = atomic_load(&g_echoes);
        uint64_t in_before = in_msgs_of(t.c);
        CHECK_OK(snats_request_async(t.c, "qt.echo", "two", 3, harness_ms(5000), on_async, &a));
        CHECK_EVENTUALLY(atomic_load(&g_echoes) == echoes + 1, 5000);
        if (fd_ready(t.qfd, (int)harness_ms(5000)) != 1) FAIL("%s: the descriptor is not readable for the reply", what);
        if (read) CHECK_EQ_INT(in_msgs_of(t.c), in_before); /* nobody but the owner reads c */
        int64_t deadline = harness_now_ms() + harness_ms(5000);
        while (atomic_load(&a.calls) == 0) {
            if (harness_now_ms() > deadline) FAIL("%s: the completion did not run", what);
            ran = -1;
            CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, sizeof g_buf, 64, &used, &count, &ran));
            CHECK_EQ_INT(count, 0);
            /* The turn that read the reply ran its completion. */
            if (read && in_msgs_of(t.c) > in_before && atomic_load(&a.calls) == 0)
                FAIL("%s: a turn read the reply but did not run its completion", what);
            CHECK_EQ_INT(ran, atomic_load(&a.calls));
            if (ran == 0) fd_ready(t.qfd, 5);
        }
        CHECK_EQ_INT(atomic_load(&a.status), SNATS_OK);
        CHECK_EQ_STR(a.data, "re:two");
        CHECK_EQ_INT(atomic_load(&a.wrong_thread), 0);
        CHECK_EQ_INT(fd_ready(t.qfd, 0), 0);
        step_nothing_for(&t, VIA_TURN, harness_ms(100), NULL, what);
        CHECK_EQ_INT(atomic_load(&a.calls), 1);
        qt_down(&t);
    }
}

/* ------------------------------------------------------------------------------------------
 * The turn never waits; bad arguments
 * ---------------------------------------------------------------------------------------- */

static atomic_int g_cb_msgs;

static void count_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    (void)closure;
    if (!pthread_equal(pthread_self(), g_owner)) FAIL("a queue's callback ran off the owner's thread");
    atomic_fetch_add(&g_cb_msgs, 1);
}

/* 100 turns of an idle queue return at once, with nothing. */
static void idle_turns(snats_dispatch_queue *q, const char *what) {
    int64_t started = harness_now_ms();
    for (int i = 0; i < 100; i++) {
        int64_t one = harness_now_ms();
        turn_empty(q);
        if (harness_now_ms() - one > harness_ms(50)) FAIL("%s: an idle turn took %lld ms", what, (long long)(harness_now_ms() - one));
    }
    if (harness_now_ms() - started > harness_ms(500))
        FAIL("%s: 100 idle turns took %lld ms", what, (long long)(harness_now_ms() - started));
}

static void queue_turn_never_blocks_and_bad_arguments(void) {
    /* A queue with nothing bound to it. */
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    idle_turns(q, "empty queue");
    size_t used = 99, count = 99;
    CHECK_OK(snats_dispatch_queue_turn(q, 1, g_buf, sizeof g_buf, 1, &used, &count, NULL)); /* ran optional */
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(count, 0);
    int ran = 99;
    CHECK_INVALID(snats_dispatch_queue_turn(NULL, 64, g_buf, sizeof g_buf, 64, &used, &count, &ran));
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(count, 0);
    snats_dispatch_queue_destroy(q);

    for (int read = 0; read < 2; read++) {
        static qt t;
        qt_up(&t, read);
        const char *what = read_names[read];
        /* Connected, with a request in flight that nobody answers: still at once. */
        static fail_rec f;
        fail_init(&f, t.c);
        CHECK_OK(snats_request_tagged(t.c, "qt.silent", NULL, "x", 1, harness_ms(20000), 55, on_fail, &f));
        idle_turns(t.q, what);

        /* Work waiting: a callback and a message. Invalid calls touch none of it. */
        snats_sub *cb = NULL;
        atomic_store(&g_cb_msgs, 0);
        CHECK_OK(snats_subscribe(&cb, t.c, "qt.cb", count_cb, NULL)); /* the connection's queue */
        CHECK_OK(snats_conn_flush(t.c, harness_ms(5000)));
        publish_text(t.p, "qt.cb", "x");
        publish_text(t.p, "qt.msgs", "y");
        settle(&t);
        CHECK_EQ_INT(queue_pending(t.q), 2);
        unsigned char small[64];
        used = count = 99;
        ran = 99;
        CHECK_INVALID(snats_dispatch_queue_turn(t.q, 0, g_buf, sizeof g_buf, 64, &used, &count, &ran));
        CHECK_EQ_INT(used, 0);
        CHECK_EQ_INT(count, 0);
        CHECK_EQ_INT(ran, 0);
        CHECK_INVALID(snats_dispatch_queue_turn(t.q, -1, g_buf, sizeof g_buf, 64, &used, &count, &ran));
        CHECK_INVALID(snats_dispatch_queue_turn(t.q, 64, g_buf, sizeof g_buf, 0, &used, &count, &ran));
        CHECK_INVALID(snats_dispatch_queue_turn(t.q, 64, NULL, sizeof g_buf, 64, &used, &count, &ran));
        CHECK_INVALID(snats_dispatch_queue_turn(t.q, 64, small, sizeof small, 64, NULL, &count, &ran));
        CHECK_INVALID(snats_dispatch_queue_turn(t.q, 64, small, sizeof small, 64, &used, NULL, &ran));
        CHECK_INVALID(snats_dispatch_queue_turn(t.q, 64, NULL, 0, 64, NULL, NULL, NULL));
        CHECK_EQ_INT(atomic_load(&g_cb_msgs), 0);
        CHECK_EQ_INT(queue_pending(t.q), 2);
        CHECK_EQ_INT(fd_ready(t.qfd, 0), 1);
        /* ran NULL is fine. */
        CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, sizeof g_buf, 64, &used, &count, NULL));
        CHECK_EQ_INT(atomic_load(&g_cb_msgs), 1);
        CHECK_EQ_INT(count, 1);
        parse_batch(g_buf, used, count);
        check_sub_rec(&g_recs[0], "qt.msgs", "y");
        CHECK_EQ_INT(fd_ready(t.qfd, 0), 0);
        idle_turns(t.q, what);

        check_no_failure(&f, what);
        snats_sub_destroy(cb);
        qt_down(&t);
        /* The silent request ended with the connection: its failure ran at the close. */
        CHECK_EQ_INT(atomic_load(&f.calls), 1);
        snats_status s = atomic_load(&f.status);
        if (s != SNATS_CONNECTION_CLOSED && s != SNATS_NOT_CONNECTED)
            FAIL("%s: a request pending at the destroy ended with %s", what, snats_status_text(s));
    }
}

/* ------------------------------------------------------------------------------------------
 * A record bigger than the buffer
 * ---------------------------------------------------------------------------------------- */

#define BIG 300

static void queue_turn_buffer_too_small(void) {
    for (int read = 0; read < 2; read++) {
        static qt t;
        qt_up(&t, read);
        const char *what = read_names[read];
        snats_sub *cb = NULL;
        atomic_store(&g_cb_msgs, 0);
        CHECK_OK(snats_subscribe(&cb, t.c, "qt.cb", count_cb, NULL));
        CHECK_OK(snats_conn_flush(t.c, harness_ms(5000)));

        /* Waiting: two callbacks, a big tagged reply, a big batch message. */
        static char payload[BIG + 1], reply_text[BIG + 4];
        memset(payload, 'p', BIG);
        snprintf(reply_text, sizeof reply_text, "re:%s", payload);
        static fail_rec f;
        fail_init(&f, t.c);
        int echoes = atomic_load(&g_echoes);
        publish_text(t.p, "qt.cb", "1");
        publish_text(t.p, "qt.cb", "2");
        publish_text(t.p, "qt.msgs", payload);
        CHECK_OK(snats_request_tagged(t.c, "qt.echo", NULL, payload, BIG, harness_ms(5000), TAG_A, on_fail, &f));
        CHECK_EVENTUALLY(atomic_load(&g_echoes) == echoes + 1, 5000);
        settle(&t);

        /* The reply comes first, and does not fit: the callbacks have run all the same. */
        size_t used = 0, count = 99;
        int ran = -1;
        CHECK_STATUS(snats_dispatch_queue_turn(t.q, 64, g_buf, 64, 64, &used, &count, &ran), SNATS_BUFFER_TOO_SMALL);
        size_t need = used;
        if (need <= 64 + BIG) FAIL("%s: the reply record needs %zu bytes", what, need);
        CHECK_EQ_INT(count, 0);
        CHECK_EQ_INT(ran, 2);
        CHECK_EQ_INT(atomic_load(&g_cb_msgs), 2);
        if (fd_ready(t.qfd, 0) != 1) FAIL("%s: the descriptor is not readable with the reply record still queued", what);
        CHECK_STATUS(snats_dispatch_queue_turn(t.q, 64, g_buf, need - 1, 64, &used, &count, &ran), SNATS_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(used, need);
        CHECK_EQ_INT(ran, 0);
        if (fd_ready(t.qfd, 0) != 1) FAIL("%s: the descriptor is not readable with the reply record still queued", what);
        /* Room for it exactly: the reply alone. */
        CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, need, 64, &used, &count, &ran));
        CHECK_EQ_INT(count, 1);
        CHECK_EQ_INT(used, need);
        parse_batch(g_buf, used, count);
        check_reply_rec(&g_recs[0], TAG_A, reply_text);

        /* The subscription's message, the same way. */
        size_t need_msg = 8 + 16 + strlen("qt.msgs") + BIG;
        if (fd_ready(t.qfd, 0) != 1) FAIL("%s: the descriptor is not readable with a message still queued", what);
        CHECK_STATUS(snats_dispatch_queue_turn(t.q, 64, g_buf, 100, 64, &used, &count, NULL), SNATS_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(used, need_msg);
        CHECK_EQ_INT(queue_pending(t.q), 1);
        if (fd_ready(t.qfd, 0) != 1) FAIL("%s: the descriptor is not readable with a message still queued", what);
        CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, need_msg, 64, &used, &count, &ran));
        CHECK_EQ_INT(count, 1);
        CHECK_EQ_INT(used, need_msg);
        CHECK_EQ_INT(ran, 0);
        parse_batch(g_buf, used, count);
        check_sub_rec(&g_recs[0], "qt.msgs", payload);
        CHECK_EQ_INT(queue_pending(t.q), 0);
        CHECK_EQ_INT(fd_ready(t.qfd, 0), 0);
        check_no_failure(&f, what);
        CHECK_EQ_INT(atomic_load(&g_cb_msgs), 2);

        /* A big reply that the too-small turn itself reads off the socket (owner reads: it
         * waits unread until then; library reads: it is queued already). It stays queued, and
         * the descriptor says so. */
        fail_init(&f, t.c);
        echoes = atomic_load(&g_echoes);
        uint64_t in_before = in_msgs_of(t.c);
        CHECK_OK(snats_request_tagged(t.c, "qt.echo", NULL, payload, BIG, harness_ms(5000), TAG_A + 1, on_fail, &f));
        CHECK_EVENTUALLY(atomic_load(&g_echoes) == echoes + 1, 5000);
        if (fd_ready(t.qfd, (int)harness_ms(5000)) != 1) FAIL("%s: the descriptor is not readable for the reply", what);
        if (read) CHECK_EQ_INT(in_msgs_of(t.c), in_before);
        snats_status s;
        int64_t deadline = harness_now_ms() + harness_ms(5000);
        while ((s = snats_dispatch_queue_turn(t.q, 64, g_buf, 64, 64, &used, &count, &ran)) == SNATS_OK) {
            CHECK_EQ_INT(count, 0); /* only a part of it was in the socket yet */
            if (harness_now_ms() > deadline) FAIL("%s: the big reply did not come", what);
            fd_ready(t.qfd, 5);
        }
        CHECK_STATUS(s, SNATS_BUFFER_TOO_SMALL);
        need = used;
        CHECK(need > 64 + BIG);
        if (fd_ready(t.qfd, 0) != 1)
            FAIL("%s: after SNATS_BUFFER_TOO_SMALL the descriptor is not readable, with the reply record still "
                 "queued", what);
        CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, need, 64, &used, &count, &ran));
        CHECK_EQ_INT(count, 1);
        CHECK_EQ_INT(used, need);
        parse_batch(g_buf, used, count);
        check_reply_rec(&g_recs[0], TAG_A + 1, reply_text);
        CHECK_EQ_INT(fd_ready(t.qfd, 0), 0);
        check_no_failure(&f, what);
        snats_sub_destroy(cb);
        qt_down(&t);
    }
}

/* ------------------------------------------------------------------------------------------
 * The descriptor: quiet after a turn took everything, readable for new work
 * ---------------------------------------------------------------------------------------- */

static void expect_readable(qt *t, const char *what, const char *for_what) {
    if (fd_ready(t->qfd, (int)harness_ms(5000)) != 1) FAIL("%s: the descriptor is not readable for %s", what, for_what);
}

static void expect_quiet(qt *t, const char *what, const char *after) {
    if (fd_ready(t->qfd, 0) != 0) FAIL("%s: the descriptor is still readable after %s", what, after);
}

static void queue_turn_descriptor_settles(void) {
    for (int read = 0; read < 2; read++) {
        static qt t;
        qt_up(&t, read);
        const char *what = read_names[read];
        size_t used = 0, count = 0;
        int ran = -1;
        turn_empty(t.q);
        expect_quiet(&t, what, "an idle turn");

        /* A subscription's message. */
        publish_text(t.p, "qt.msgs", "one");
        CHECK_OK(snats_conn_flush(t.p, harness_ms(5000)));
        expect_readable(&t, what, "a message");
        int64_t deadline = harness_now_ms() + harness_ms(5000);
        for (count = 0; count == 0;) {
            if (harness_now_ms() > deadline) FAIL("%s: the message did not come", what);
            CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, sizeof g_buf, 64, &used, &count, &ran));
        }
        CHECK_EQ_INT(count, 1);
        expect_quiet(&t, what, "the turn that took the message");

        /* A tagged reply. */
        static fail_rec f;
        fail_init(&f, t.c);
        CHECK_OK(snats_request_tagged(t.c, "qt.echo", NULL, "r", 1, harness_ms(5000), 42, on_fail, &f));
        expect_readable(&t, what, "a tagged reply");
        deadline = harness_now_ms() + harness_ms(5000);
        for (count = 0; count == 0;) {
            if (harness_now_ms() > deadline) FAIL("%s: the reply did not come", what);
            CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, sizeof g_buf, 64, &used, &count, &ran));
            if (count == 0) fd_ready(t.qfd, 5);
        }
        CHECK_EQ_INT(count, 1);
        parse_batch(g_buf, used, count);
        check_reply_rec(&g_recs[0], 42, "re:r");
        expect_quiet(&t, what, "the turn that took the reply");

        /* A completion. */
        static async_rec a;
        memset(&a, 0, sizeof a);
        CHECK_OK(snats_request_async(t.c, "qt.echo", "c", 1, harness_ms(5000), on_async, &a));
        expect_readable(&t, what, "a completion");
        deadline = harness_now_ms() + harness_ms(5000);
        while (atomic_load(&a.calls) == 0) {
            if (harness_now_ms() > deadline) FAIL("%s: the completion did not run", what);
            CHECK_OK(snats_dispatch_queue_turn(t.q, 64, g_buf, sizeof g_buf, 64, &used, &count, &ran));
            CHECK_EQ_INT(count, 0);
            if (ran == 0) fd_ready(t.qfd, 5);
        }
        expect_quiet(&t, what, "the turn that ran the completion");

        /* Level-triggered: readable while anything is left behind by max_msgs or max_callbacks. */
        snats_sub *cb = NULL;
        atomic_store(&g_cb_msgs, 0);
        CHECK_OK(snats_subscribe(&cb, t.c, "qt.cb", count_cb, NULL));
        CHECK_OK(snats_conn_flush(t.c, harness_ms(5000)));
        for (int i = 0; i < 6; i++) publish_text(t.p, "qt.msgs", "m");
        for (int i = 0; i < 3; i++) publish_text(t.p, "qt.cb", "c");
        int echoes = atomic_load(&g_echoes);
        CHECK_OK(snats_request_tagged(t.c, "qt.echo", NULL, "again", 5, harness_ms(5000), 43, on_fail, &f));
        CHECK_EVENTUALLY(atomic_load(&g_echoes) == echoes + 1, 5000);
        settle(&t);
        CHECK_EQ_INT(queue_pending(t.q), 9);
        /* One callback and two records a turn: the reply and 6 messages, 3 callbacks. */
        size_t want_counts[4] = {2, 2, 2, 1};
        for (int round = 0; round < 4; round++) {
            CHECK_OK(snats_dispatch_queue_turn(t.q, 1, g_buf, sizeof g_buf, 2, &used, &count, &ran));
            CHECK_EQ_INT(count, want_counts[round]);
            CHECK_EQ_INT(ran, round < 3 ? 1 : 0);
            parse_batch(g_buf, used, count);
            if (round == 0) {
                check_reply_rec(&g_recs[0], 43, "re:again");
                check_sub_rec(&g_recs[1], "qt.msgs", "m");
            }
            if (round < 3) {
                if (fd_ready(t.qfd, 0) != 1)
                    FAIL("%s: the descriptor went quiet after round %d with work left", what, round);
            }
        }
        CHECK_EQ_INT(atomic_load(&g_cb_msgs), 3);
        expect_quiet(&t, what, "the turns took everything");
        check_no_failure(&f, what);
        snats_sub_destroy(cb);
        qt_down(&t);
    }
}

/* ------------------------------------------------------------------------------------------
 * An owner loop on epoll, turning only
 * ---------------------------------------------------------------------------------------- */

#define LOOP_REQUESTS 1000
#define LOOP_MSGS 300  /* to the batch subscription */
#define LOOP_CBS 300   /* to a callback subscription */
#define LOOP_TAG_BASE 0x7000000000000000ull

typedef struct {
    qt *t;
    pthread_t owner;
    atomic_bool ready;
    atomic_int batch_msgs;
    atomic_int cb_msgs;
    atomic_int cb_wrong_thread;
    atomic_int cb_out_of_order;
    atomic_int async_done;
    atomic_int async_bad;
    int requests_done;
    int turns, wakeups;
    fail_rec fail;
} loop_ctx;

static void loop_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    loop_ctx *l = closure;
    if (!pthread_equal(pthread_self(), l->owner)) atomic_fetch_add(&l->cb_wrong_thread, 1);
    char text[16];
    snprintf(text, sizeof text, "%.*s", (int)snats_msg_data_len(msg), (const char *)snats_msg_data(msg));
    if (atoi(text) != atomic_load(&l->cb_msgs)) atomic_fetch_add(&l->cb_out_of_order, 1);
    atomic_fetch_add(&l->cb_msgs, 1);
}

static void loop_async(snats_conn *conn, snats_status status, snats_msg *reply, void *closure) {
    (void)conn;
    loop_ctx *l = closure;
    if (!pthread_equal(pthread_self(), l->owner) || status != SNATS_OK || reply == NULL ||
        snats_msg_data_len(reply) != 5 || memcmp(snats_msg_data(reply), "re:as", 5) != 0)
        atomic_fetch_add(&l->async_bad, 1);
    atomic_fetch_add(&l->async_done, 1);
}

/* One wake-up and one turn; returns whether the reply to request @p want (-1: none) came. */
static bool loop_turn(loop_ctx *l, int ep, int want) {
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, (int)harness_ms(5000));
    if (n < 0 && errno == EINTR) return false;
    if (n < 0) FAIL("epoll_wait: %s", strerror(errno));
    if (n == 0)
        FAIL("owner loop: no wake-up for 5 s at request %d (%d of %d messages, %d of %d callbacks)", want,
             atomic_load(&l->batch_msgs), LOOP_MSGS, atomic_load(&l->cb_msgs), LOOP_CBS);
    l->wakeups++;
    size_t used = 0, count = 0;
    int ran = -1;
    CHECK_OK(snats_dispatch_queue_turn(l->t->q, 64, g_buf, 8192, 128, &used, &count, &ran));
    CHECK(ran >= 0 && ran <= 64);
    l->turns++;
    parse_batch(g_buf, used, count);
    bool got = false;
    char text[32];
    for (size_t k = 0; k < count; k++) {
        const rec *r = &g_recs[k];
        if (r->tag == SUB_TAG) {
            snprintf(text, sizeof text, "%d", atomic_load(&l->batch_msgs));
            check_sub_rec(r, "qt.msgs", text);
            atomic_fetch_add(&l->batch_msgs, 1);
        } else if (want >= 0 && !got && r->tag == LOOP_TAG_BASE + (uint64_t)want) {
            snprintf(text, sizeof text, "re:r%d", want);
            check_reply_rec(r, r->tag, text);
            got = true;
        } else {
            FAIL("owner loop: a record tagged %llu while waiting for request %d", (unsigned long long)r->tag, want);
        }
    }
    check_no_failure(&l->fail, "owner loop");
    return got;
}

static void *owner_loop(void *arg) {
    loop_ctx *l = arg;
    l->owner = pthread_self();
    g_owner = l->owner; /* on_fail checks it */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = l->t->qfd;
    CHECK_EQ_INT(epoll_ctl(ep, EPOLL_CTL_ADD, l->t->qfd, &ev), 0);
    turn_empty(l->t->q); /* this thread is the owner from now on */
    atomic_store(&l->ready, true);
    char text[32];
    for (int i = 0; i < LOOP_REQUESTS; i++) {
        int len = snprintf(text, sizeof text, "r%d", i);
        if (i % 100 == 0) CHECK_OK(snats_request_async(l->t->c, "qt.echo", "as", 2, harness_ms(10000), loop_async, l));
        CHECK_OK(snats_request_tagged(l->t->c, "qt.echo", NULL, text, (size_t)len, harness_ms(10000),
                                      LOOP_TAG_BASE + (uint64_t)i, on_fail, &l->fail));
        while (!loop_turn(l, ep, i)) {
        }
        l->requests_done++;
    }
    while (atomic_load(&l->batch_msgs) < LOOP_MSGS || atomic_load(&l->cb_msgs) < LOOP_CBS ||
           atomic_load(&l->async_done) < LOOP_REQUESTS / 100)
        loop_turn(l, ep, -1);
    CHECK_EQ_INT(epoll_ctl(ep, EPOLL_CTL_DEL, l->t->qfd, NULL), 0);
    close(ep);
    return NULL;
}

static void *loop_publisher(void *arg) {
    loop_ctx *l = arg;
    while (!atomic_load(&l->ready)) harness_sleep_ms(1);
    char text[16];
    for (int i = 0; i < LOOP_MSGS || i < LOOP_CBS; i++) {
        int len = snprintf(text, sizeof text, "%d", i);
        if (i < LOOP_MSGS) CHECK_OK(snats_publish(l->t->p, "qt.msgs", text, (size_t)len));
        if (i < LOOP_CBS) CHECK_OK(snats_publish(l->t->p, "qt.cb", text, (size_t)len));
        if (i % 10 == 9) { /* spread over the requests */
            CHECK_OK(snats_conn_flush(l->t->p, harness_ms(5000)));
            harness_sleep_ms(2);
        }
    }
    CHECK_OK(snats_conn_flush(l->t->p, harness_ms(5000)));
    return NULL;
}

static void queue_turn_epoll_owner_loop(void) {
    for (int read = 0; read < 2; read++) {
        static qt t;
        qt_up(&t, read);
        static loop_ctx l;
        memset(&l, 0, sizeof l);
        l.t = &t;
        fail_init(&l.fail, t.c);
        snats_sub *cb = NULL;
        CHECK_OK(snats_subscribe(&cb, t.c, "qt.cb", loop_cb, &l));
        CHECK_OK(snats_conn_flush(t.c, harness_ms(5000)));
        pthread_t owner, publisher;
        harness_spawn(&owner, owner_loop, &l);
        harness_spawn(&publisher, loop_publisher, &l);
        harness_join(publisher);
        harness_join(owner);
        g_owner = pthread_self();

        CHECK_EQ_INT(l.requests_done, LOOP_REQUESTS);
        CHECK_EQ_INT(atomic_load(&l.batch_msgs), LOOP_MSGS);
        CHECK_EQ_INT(atomic_load(&l.cb_msgs), LOOP_CBS);
        CHECK_EQ_INT(atomic_load(&l.cb_wrong_thread), 0);
        CHECK_EQ_INT(atomic_load(&l.cb_out_of_order), 0);
        CHECK_EQ_INT(atomic_load(&l.async_done), LOOP_REQUESTS / 100);
        CHECK_EQ_INT(atomic_load(&l.async_bad), 0);
        check_no_failure(&l.fail, read_names[read]);
        CHECK(l.wakeups >= LOOP_REQUESTS);
        /* Nothing left over. */
        step_nothing_for(&t, VIA_TURN, harness_ms(100), &l.fail, read_names[read]);
        CHECK_EQ_INT(atomic_load(&l.cb_msgs), LOOP_CBS);
        snats_sub_destroy(cb);
        qt_down(&t);
    }
}

const test_case queue_turn_tests[] = {
    TEST(queue_turn_tagged_reply_in_batch),
    TEST(queue_turn_tagged_failures),
    TEST(queue_turn_tagged_bad_arguments),
    TEST(queue_turn_tagged_many_in_flight),
    TEST(queue_turn_runs_completion_and_takes_batch),
    TEST(queue_turn_never_blocks_and_bad_arguments),
    TEST(queue_turn_buffer_too_small),
    TEST(queue_turn_descriptor_settles),
    TEST(queue_turn_epoll_owner_loop),
};
HARNESS_TABLE_COUNT(queue_turn);
