/*
 * test_queue_turn.c - An event loop's owner taking one turn (snats_dispatch_queue_turn(): read
 * the sockets, run callbacks, take the batch, never wait): a completion and a batch in one
 * call, idle turns at once, bad arguments, a record bigger than the buffer, the descriptor
 * settling once a turn took everything, and an owner loop on epoll (a thread of its own)
 * turning only. The fixture, the records, the failure callback of snats_request_tagged() and
 * the owner's step come from queue_records.h (each case runs with the library reading and with
 * the owner reading).
 */
#define _GNU_SOURCE
#include "queue_records.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

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
        CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 64, 64));
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
            CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 64, 64));
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
    CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, NULL, q, 1, 1)); /* ran optional */
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(count, 0);
    int ran = 99;
    CHECK_INVALID(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, NULL, 64, 64));
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
        CHECK_INVALID(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 0, 64));
        CHECK_EQ_INT(used, 0);
        CHECK_EQ_INT(count, 0);
        CHECK_EQ_INT(ran, 0);
        CHECK_INVALID(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, -1, 64));
        CHECK_INVALID(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 64, 0));
        CHECK_INVALID(snats_dispatch_queue_turn(NULL, sizeof g_buf, &used, &count, &ran, t.q, 64, 64));
        CHECK_INVALID(snats_dispatch_queue_turn(small, sizeof small, NULL, &count, &ran, t.q, 64, 64));
        CHECK_INVALID(snats_dispatch_queue_turn(small, sizeof small, &used, NULL, &ran, t.q, 64, 64));
        CHECK_INVALID(snats_dispatch_queue_turn(NULL, 0, NULL, NULL, NULL, t.q, 64, 64));
        CHECK_EQ_INT(atomic_load(&g_cb_msgs), 0);
        CHECK_EQ_INT(queue_pending(t.q), 2);
        CHECK_EQ_INT(fd_ready(t.qfd, 0), 1);
        /* ran NULL is fine. */
        CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, NULL, t.q, 64, 64));
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
        CHECK_STATUS(snats_dispatch_queue_turn(g_buf, 64, &used, &count, &ran, t.q, 64, 64), SNATS_BUFFER_TOO_SMALL);
        size_t need = used;
        if (need <= 64 + BIG) FAIL("%s: the reply record needs %zu bytes", what, need);
        CHECK_EQ_INT(count, 0);
        CHECK_EQ_INT(ran, 2);
        CHECK_EQ_INT(atomic_load(&g_cb_msgs), 2);
        if (fd_ready(t.qfd, 0) != 1) FAIL("%s: the descriptor is not readable with the reply record still queued", what);
        CHECK_STATUS(snats_dispatch_queue_turn(g_buf, need - 1, &used, &count, &ran, t.q, 64, 64), SNATS_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(used, need);
        CHECK_EQ_INT(ran, 0);
        if (fd_ready(t.qfd, 0) != 1) FAIL("%s: the descriptor is not readable with the reply record still queued", what);
        /* Room for it exactly: the reply alone. */
        CHECK_OK(snats_dispatch_queue_turn(g_buf, need, &used, &count, &ran, t.q, 64, 64));
        CHECK_EQ_INT(count, 1);
        CHECK_EQ_INT(used, need);
        parse_batch(g_buf, used, count);
        check_reply_rec(&g_recs[0], TAG_A, reply_text);

        /* The subscription's message, the same way. */
        size_t need_msg = 8 + 16 + strlen("qt.msgs") + BIG;
        if (fd_ready(t.qfd, 0) != 1) FAIL("%s: the descriptor is not readable with a message still queued", what);
        CHECK_STATUS(snats_dispatch_queue_turn(g_buf, 100, &used, &count, NULL, t.q, 64, 64), SNATS_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(used, need_msg);
        CHECK_EQ_INT(queue_pending(t.q), 1);
        if (fd_ready(t.qfd, 0) != 1) FAIL("%s: the descriptor is not readable with a message still queued", what);
        CHECK_OK(snats_dispatch_queue_turn(g_buf, need_msg, &used, &count, &ran, t.q, 64, 64));
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
        while ((s = snats_dispatch_queue_turn(g_buf, 64, &used, &count, &ran, t.q, 64, 64)) == SNATS_OK) {
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
        CHECK_OK(snats_dispatch_queue_turn(g_buf, need, &used, &count, &ran, t.q, 64, 64));
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
            CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 64, 64));
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
            CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 64, 64));
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
            CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 64, 64));
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
            CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 1, 2));
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
    CHECK_OK(snats_dispatch_queue_turn(g_buf, 8192, &used, &count, &ran, l->t->q, 64, 128));
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
    TEST(queue_turn_runs_completion_and_takes_batch),
    TEST(queue_turn_never_blocks_and_bad_arguments),
    TEST(queue_turn_buffer_too_small),
    TEST(queue_turn_descriptor_settles),
    TEST(queue_turn_epoll_owner_loop),
};
HARNESS_TABLE_COUNT(queue_turn);
