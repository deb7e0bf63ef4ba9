/*
 * test_queue_tagged.c - Requests whose reply comes out of a dispatch queue's batch as a tagged
 * record (snats_request_tagged()): one record, ahead of the subscription's messages, taken by
 * snats_dispatch_queue_next_msgs() or _turn(); failures (no responders, a timeout, the
 * connection closed) go to the callback, once, with no record; bad arguments give a status and
 * nothing afterwards; 200 requests in flight each come back once. The fixture, the records and
 * the owner's step come from queue_records.h (each case runs with the library reading and with
 * the owner reading).
 */
#define _GNU_SOURCE
#include "queue_records.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------------------------
 * A tagged request answered: one record, before the subscription's messages
 * ---------------------------------------------------------------------------------------- */

static void queue_tagged_reply_in_batch(void) {
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
                CHECK_OK(snats_dispatch_queue_next_msgs(g_buf, sizeof g_buf, &used, &count, t.q, 64, 0));
            } else {
                CHECK_OK(snats_dispatch_queue_turn(g_buf, sizeof g_buf, &used, &count, &ran, t.q, 64, 64));
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

static void queue_tagged_failures(void) {
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

static void queue_tagged_bad_arguments(void) {
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
        snats_conn *c2 = harness_connect_on_queue(t.srv.url, t.q, read, harness_count_closed, &g_closed_other);
        snats_conn_close(c2);
        fail_rec cf;
        fail_init(&cf, c2);
        CHECK_STATUS(snats_request_tagged(c2, "qt.echo", NULL, "x", 1, T, 6, on_fail, &cf), SNATS_CONNECTION_CLOSED);
        int64_t deadline = harness_now_ms() + harness_ms(5000);
        while (atomic_load(&g_closed_other) < 1) {
            if (harness_now_ms() > deadline) FAIL("%s: the second connection's closed callback did not run", read_names[read]);
            if (qt_step(&t, VIA_TURN, 5, NULL) != 0) FAIL("%s: a record after bad calls", read_names[read]);
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
        while ((n = qt_step(&t, VIA_TURN, 5, NULL)) == 0) {
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

static void queue_tagged_many_in_flight(void) {
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
            if (batches % 2 == 0) CHECK_OK(snats_dispatch_queue_turn(g_buf, 2048, &used, &count, NULL, t.q, 64, 16));
            else CHECK_OK(snats_dispatch_queue_next_msgs(g_buf, 2048, &used, &count, t.q, 16, 0));
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

const test_case queue_tagged_tests[] = {
    TEST(queue_tagged_reply_in_batch),
    TEST(queue_tagged_failures),
    TEST(queue_tagged_bad_arguments),
    TEST(queue_tagged_many_in_flight),
};
HARNESS_TABLE_COUNT(queue_tagged);
