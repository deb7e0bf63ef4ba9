/*
 * test_delivery.c - Where callbacks run: the bounded delivery pool (thread count independent
 * of the number of subscriptions, lent threads for callbacks blocked in the library),
 * dedicated threads, and dispatch queues driven by the test's own threads (dispatch, the fd
 * with epoll, packed batches, limits, connection events), one callback at a time per
 * subscription in every mode, and what a callback may do (drain, close) in each.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------- */

/* The `Threads:` line of /proc/self/status. */
static int process_threads(void) {
    FILE *f = fopen("/proc/self/status", "r");
    CHECK_NOT_NULL(f);
    char line[256];
    int threads = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "Threads:", 8) == 0) {
            threads = atoi(line + 8);
            break;
        }
    }
    fclose(f);
    CHECK(threads > 0);
    return threads;
}

static snats_options *options_for(const char *url) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    return o;
}

static snats_conn *connect_with(snats_options *o) {
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    return c;
}

static void count_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure);

static int queue_pending(snats_dispatch_queue *q) {
    int msgs = -1;
    int64_t bytes = -1;
    CHECK_OK(snats_dispatch_queue_get_pending(&msgs, &bytes, q));
    return msgs;
}

static uint64_t dropped_of(snats_sub *s) {
    uint64_t n = 0;
    CHECK_OK(snats_sub_get_dropped(&n, s));
    return n;
}

/* Dispatches @p q on this thread until *done reaches @p want (fails after @p timeout_ms). */
static void dispatch_until(snats_dispatch_queue *q, atomic_int *done, int want, int64_t timeout_ms) {
    int64_t deadline = harness_now_ms() + harness_ms(timeout_ms);
    while (atomic_load(done) < want) {
        if (harness_now_ms() > deadline) FAIL("dispatch: %d of %d callbacks after %lld ms", atomic_load(done), want,
                                              (long long)harness_ms(timeout_ms));
        int ran = -1;
        CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 50));
        CHECK(ran >= 0 && ran <= 64);
    }
}

/* ------------------------------------------------------------------------------------------
 * The pool's size does not follow the number of subscriptions
 * ---------------------------------------------------------------------------------------- */

#define MANY_SUBS 10000
#define THREAD_LIMIT 24

typedef struct {
    atomic_int calls;
    atomic_bool stop;
    atomic_int max_threads;
} many_ctx;

static void many_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    atomic_fetch_add(&((many_ctx *)closure)->calls, 1);
}

static void note_threads(many_ctx *m) {
    int now = process_threads();
    int seen = atomic_load(&m->max_threads);
    while (now > seen && !atomic_compare_exchange_weak(&m->max_threads, &seen, now)) {
    }
}

static void *thread_sampler(void *arg) {
    many_ctx *m = arg;
    while (!atomic_load(&m->stop)) {
        note_threads(m);
        harness_sleep_ms(1);
    }
    return NULL;
}

static void delivery_pool_thread_count_is_bounded(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    static many_ctx m;
    static snats_sub *subs[MANY_SUBS];
    pthread_t sampler;
    harness_spawn(&sampler, thread_sampler, &m); /* counts itself among the threads */
    char subject[64];
    for (int i = 0; i < MANY_SUBS; i++) {
        snprintf(subject, sizeof subject, "many.%d", i);
        CHECK_OK(snats_subscribe(&subs[i], c, subject, many_cb, &m));
    }
    CHECK_OK(snats_conn_flush(c, harness_ms(10000)));
    note_threads(&m);
    for (int i = 0; i < MANY_SUBS; i++) {
        snprintf(subject, sizeof subject, "many.%d", i);
        CHECK_OK(snats_publish(c, subject, "x", 1));
    }
    CHECK_OK(snats_conn_flush(c, harness_ms(10000)));
    CHECK_EVENTUALLY(atomic_load(&m.calls) == MANY_SUBS, 20000);
    int alive = -1, size = -1;
    CHECK_OK(snats_get_delivery_pool_threads(&alive, &size));
    CHECK(size >= 2);
    if (alive > size + 2) FAIL("the pool has %d threads alive for a size of %d", alive, size);
    harness_sleep_ms(100);
    atomic_store(&m.stop, true);
    harness_join(sampler);
    note_threads(&m);
    if (atomic_load(&m.max_threads) > THREAD_LIMIT)
        FAIL("%d threads for %d subscriptions (limit %d)", atomic_load(&m.max_threads), MANY_SUBS, THREAD_LIMIT);
    CHECK_EQ_INT(atomic_load(&m.calls), MANY_SUBS); /* once each */
    for (int i = 0; i < MANY_SUBS; i++) snats_sub_destroy(subs[i]);
    snats_conn_destroy(c);
    if (process_threads() > THREAD_LIMIT) FAIL("%d threads after the end", process_threads());
    server_stop(&srv);
}

static int pool_alive(void) {
    int alive = -1, size = -1;
    CHECK_OK(snats_get_delivery_pool_threads(&alive, &size));
    return alive;
}

/* The process-wide pool follows snats_set_delivery_pool_size, and keeps delivering. */
static void delivery_pool_size_changes(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    static atomic_int calls;
    snats_sub *subs[8];
    for (int i = 0; i < 8; i++) {
        char subject[32];
        snprintf(subject, sizeof subject, "resize.%d", i);
        CHECK_OK(snats_subscribe(&subs[i], c, subject, count_cb, &calls));
    }
    CHECK_OK(snats_set_delivery_pool_size(4));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    int want = 0;
    for (int size = 4; size >= 1; size -= 3) {
        CHECK_OK(snats_set_delivery_pool_size(size));
        for (int round = 0; round < 50; round++)
            for (int i = 0; i < 8; i++) {
                char subject[32];
                snprintf(subject, sizeof subject, "resize.%d", i);
                CHECK_OK(snats_publish(c, subject, "x", 1));
                want++;
            }
        CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
        CHECK_EVENTUALLY(atomic_load(&calls) == want, 10000);
        int alive = -1, got = -1;
        CHECK_OK(snats_get_delivery_pool_threads(&alive, &got));
        CHECK_EQ_INT(got, size);
        CHECK_EVENTUALLY(pool_alive() <= size, 5000); /* a smaller size, as threads go idle */
    }
    for (int i = 0; i < 8; i++) snats_sub_destroy(subs[i]);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    atomic_int calls;
    atomic_bool release;
} hold_ctx;

/* Holds its thread until released, so that every subscription's thread is alive at once. */
static void hold_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    hold_ctx *h = closure;
    atomic_fetch_add(&h->calls, 1);
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (!atomic_load(&h->release) && harness_now_ms() < deadline) harness_sleep_ms(1);
}

#define DEDICATED_SUBS 12

/* A dedicated subscription (by the call, or by the connection's option) has a thread of its
 * own: callbacks blocked outside the library do not hold the others back, and each thread
 * ends with its subscription. */
static void delivery_dedicated_threads_end_with_subscription(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_options *o = options_for(srv.url);
    CHECK_OK(snats_options_set_dedicated_delivery(o, true));
    snats_conn *dc = connect_with(o);
    int before = process_threads();
    static hold_ctx h;
    snats_sub *subs[DEDICATED_SUBS];
    for (int i = 0; i < DEDICATED_SUBS; i++) {
        char subject[32];
        snprintf(subject, sizeof subject, "own.%d", i);
        if (i % 2 == 0) CHECK_OK(snats_subscribe_dedicated(&subs[i], c, subject, NULL, hold_cb, &h));
        else CHECK_OK(snats_subscribe(&subs[i], dc, subject, hold_cb, &h)); /* dedicated by option */
    }
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_conn_flush(dc, harness_ms(5000)));
    for (int i = 0; i < DEDICATED_SUBS; i++) {
        char subject[32];
        snprintf(subject, sizeof subject, "own.%d", i);
        CHECK_OK(snats_publish(c, subject, "x", 1));
    }
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    /* All held at once: a pool of 2 could not do that. */
    CHECK_EVENTUALLY(atomic_load(&h.calls) == DEDICATED_SUBS, 5000);
    CHECK(process_threads() >= before + DEDICATED_SUBS);
    atomic_store(&h.release, true);
    for (int i = 0; i < DEDICATED_SUBS; i++) snats_sub_destroy(subs[i]);
    CHECK_EVENTUALLY(process_threads() <= before + 1, 5000);
    snats_conn_destroy(dc);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * One at a time, in order, in every mode
 * ---------------------------------------------------------------------------------------- */

#define ORDER_MSGS 2000

typedef struct {
    atomic_bool inside;
    atomic_int overlaps;
    atomic_int out_of_order;
    atomic_int next;
    atomic_int done;
} order_ctx;

static void order_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    order_ctx *o = closure;
    if (atomic_exchange(&o->inside, true)) atomic_fetch_add(&o->overlaps, 1);
    char text[16];
    snprintf(text, sizeof text, "%.*s", (int)snats_msg_data_len(msg), (const char *)snats_msg_data(msg));
    if (atoi(text) != atomic_load(&o->next))
        atomic_fetch_add(&o->out_of_order, 1);
    atomic_store(&o->next, atoi(text) + 1);
    /* A little work, so that a second callback running at once would be seen. */
    for (volatile int spin = 0; spin < 2000; spin++) {
    }
    if (atomic_load(&o->done) % 97 == 0) sched_yield();
    atomic_store(&o->inside, false);
    atomic_fetch_add(&o->done, 1);
}

static void publish_numbered(snats_conn *c, const char *subject, int n) {
    char text[16];
    for (int i = 0; i < n; i++) {
        int len = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(snats_publish(c, subject, text, (size_t)len));
    }
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
}

static void check_order(order_ctx *o, const char *mode) {
    if (atomic_load(&o->overlaps) != 0) FAIL("%s: %d callbacks overlapped", mode, atomic_load(&o->overlaps));
    if (atomic_load(&o->out_of_order) != 0) FAIL("%s: %d out of order", mode, atomic_load(&o->out_of_order));
    CHECK_EQ_INT(atomic_load(&o->next), ORDER_MSGS);
    CHECK_EQ_INT(atomic_load(&o->done), ORDER_MSGS);
}

typedef struct {
    snats_dispatch_queue *q;
    order_ctx *o;
    atomic_int failures;
} driver_ctx;

/* Two of these dispatch the same queue at once: the subscription must stay serial. */
static void *queue_driver(void *arg) {
    driver_ctx *d = arg;
    int64_t deadline = harness_now_ms() + harness_ms(20000);
    while (atomic_load(&d->o->done) < ORDER_MSGS && harness_now_ms() < deadline) {
        int ran = 0;
        snats_status s = snats_dispatch_queue_dispatch(&ran, d->q, 7, 20);
        if (s != SNATS_OK || ran < 0 || ran > 7) atomic_fetch_add(&d->failures, 1);
    }
    return NULL;
}

static void delivery_order_one_at_a_time(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_conn *pub = connect_or_fail(srv.url);

    /* The shared pool; a second busy subscription competes for its threads. */
    static order_ctx pooled, other, dedicated, queued;
    snats_sub *sub = NULL, *sub2 = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "order.pool", order_cb, &pooled));
    CHECK_OK(snats_subscribe(&sub2, c, "order.other", order_cb, &other));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    publish_numbered(pub, "order.pool", ORDER_MSGS);
    publish_numbered(pub, "order.other", ORDER_MSGS);
    CHECK_EVENTUALLY(atomic_load(&pooled.done) == ORDER_MSGS && atomic_load(&other.done) == ORDER_MSGS, 20000);
    check_order(&pooled, "pool");
    check_order(&other, "pool (second subscription)");
    snats_sub_destroy(sub);
    snats_sub_destroy(sub2);

    /* A thread of its own. */
    CHECK_OK(snats_subscribe_dedicated(&sub, c, "order.dedicated", NULL, order_cb, &dedicated));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    publish_numbered(pub, "order.dedicated", ORDER_MSGS);
    CHECK_EVENTUALLY(atomic_load(&dedicated.done) == ORDER_MSGS, 20000);
    check_order(&dedicated, "dedicated");
    snats_sub_destroy(sub);

    /* A dispatch queue, driven by two threads of the test at once. */
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    CHECK_OK(snats_subscribe_on(&sub, c, "order.queue", NULL, q, order_cb, &queued));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    publish_numbered(pub, "order.queue", ORDER_MSGS);
    harness_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&queued.done), 0); /* nothing runs until someone dispatches */
    driver_ctx d = {.q = q, .o = &queued};
    pthread_t t1, t2;
    harness_spawn(&t1, queue_driver, &d);
    harness_spawn(&t2, queue_driver, &d);
    harness_join(t1);
    harness_join(t2);
    CHECK_EQ_INT(atomic_load(&d.failures), 0);
    check_order(&queued, "dispatch queue");
    CHECK_EQ_INT(queue_pending(q), 0);
    snats_sub_destroy(sub);
    snats_dispatch_queue_destroy(q);

    snats_conn_destroy(pub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Callbacks blocked in the library do not starve the pool
 * ---------------------------------------------------------------------------------------- */

#define CHAIN 8

static atomic_int g_chain_failures;

static void chain_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    int i = (int)(intptr_t)closure;
    char answer[256];
    int len;
    if (i == CHAIN - 1) {
        len = snprintf(answer, sizeof answer, "end");
    } else {
        char next[32];
        snprintf(next, sizeof next, "chain.%d", i + 1);
        snats_msg *reply = NULL;
        snats_status s = snats_request(&reply, conn, next, NULL, 0, harness_ms(10000));
        if (s != SNATS_OK) {
            atomic_fetch_add(&g_chain_failures, 1);
            len = snprintf(answer, sizeof answer, "%d:%s", i, snats_status_text(s));
        } else {
            len = snprintf(answer, sizeof answer, "%d>%.*s", i, (int)snats_msg_data_len(reply),
                           (const char *)snats_msg_data(reply));
            snats_msg_release(reply);
        }
    }
    if (snats_msg_respond(msg, answer, (size_t)len) != SNATS_OK) atomic_fetch_add(&g_chain_failures, 1);
}

static void delivery_nested_requests_deeper_than_pool(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = options_for(srv.url);
    CHECK_OK(snats_options_set_delivery_pool_size(o, 2));
    snats_conn *c = connect_with(o);
    snats_sub *subs[CHAIN];
    for (int i = 0; i < CHAIN; i++) {
        char subject[32];
        snprintf(subject, sizeof subject, "chain.%d", i);
        CHECK_OK(snats_subscribe(&subs[i], c, subject, chain_cb, (void *)(intptr_t)i));
    }
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    int before = process_threads();
    for (int round = 0; round < 3; round++) {
        snats_msg *reply = NULL;
        int64_t started = harness_now_ms();
        CHECK_OK(snats_request(&reply, c, "chain.0", "go", 2, harness_ms(5000)));
        CHECK(harness_now_ms() - started < harness_ms(5000));
        CHECK_EQ_STR((const char *)snats_msg_data(reply), "0>1>2>3>4>5>6>end");
        CHECK_OK(snats_msg_release(reply));
    }
    CHECK_EQ_INT(atomic_load(&g_chain_failures), 0);
    /* The threads lent to the blocked handlers end: the connection's pool is back to 2. */
    CHECK_EVENTUALLY(process_threads() <= before + 2, 5000);
    for (int i = 0; i < CHAIN; i++) snats_sub_destroy(subs[i]);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Dispatch queues
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    pthread_t owner;
    atomic_int calls;
    atomic_int wrong_thread;
    atomic_int out_of_order;
} epoll_ctx;

static void epoll_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    epoll_ctx *e = closure;
    if (!pthread_equal(pthread_self(), e->owner)) atomic_fetch_add(&e->wrong_thread, 1);
    char text[16];
    snprintf(text, sizeof text, "%.*s", (int)snats_msg_data_len(msg), (const char *)snats_msg_data(msg));
    if (atoi(text) != atomic_load(&e->calls)) atomic_fetch_add(&e->out_of_order, 1);
    atomic_fetch_add(&e->calls, 1);
}

static void delivery_queue_fd_with_epoll(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    int fd = -1;
    CHECK_OK(snats_dispatch_queue_fd(&fd, q));
    CHECK(fd >= 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = fd;
    CHECK_EQ_INT(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    struct epoll_event got[4];
    CHECK_EQ_INT(epoll_wait(ep, got, 4, 0), 0); /* no work yet */

    static epoll_ctx e;
    e.owner = pthread_self();
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_on(&sub, c, "epoll.msgs", NULL, q, epoll_cb, &e));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    publish_numbered(c, "epoll.msgs", 100);

    int total = 0, wakeups = 0;
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (atomic_load(&e.calls) < 100) {
        if (harness_now_ms() > deadline) FAIL("%d of 100 callbacks ran", atomic_load(&e.calls));
        int n = epoll_wait(ep, got, 4, (int)harness_ms(5000));
        if (n != 1) FAIL("epoll_wait returned %d with %d of 100 callbacks run", n, atomic_load(&e.calls));
        CHECK_EQ_INT(got[0].data.fd, fd);
        CHECK(got[0].events & EPOLLIN);
        wakeups++;
        int ran = -1;
        CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 0));
        CHECK(ran >= 0 && ran <= 64);
        total += ran;
    }
    CHECK_EQ_INT(total, 100);
    CHECK(wakeups >= 2); /* at most 64 per call */
    CHECK_EQ_INT(atomic_load(&e.wrong_thread), 0);
    CHECK_EQ_INT(atomic_load(&e.out_of_order), 0);
    /* All taken: the fd is quiet, and a dispatch without waiting runs nothing. */
    CHECK_EQ_INT(epoll_wait(ep, got, 4, 0), 0);
    int ran = -1;
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 0));
    CHECK_EQ_INT(ran, 0);
    int64_t started = harness_now_ms();
    ran = -1;
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 50)); /* waits, then nothing */
    CHECK_EQ_INT(ran, 0);
    CHECK(harness_now_ms() - started >= 40);
    CHECK_EQ_INT(epoll_wait(ep, got, 4, 0), 0);
    CHECK_EQ_INT(queue_pending(q), 0);

    /* More work makes it readable again. */
    CHECK_OK(snats_publish(c, "epoll.msgs", "100", 3));
    CHECK_EQ_INT(epoll_wait(ep, got, 4, (int)harness_ms(5000)), 1);
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 0));
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(epoll_wait(ep, got, 4, 0), 0);

    CHECK_EQ_INT(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), 0);
    close(ep);
    snats_sub_destroy(sub);
    snats_dispatch_queue_destroy(q);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    uint64_t tag;
    char subject[64];
    char reply[64];
    uint32_t header_len;
    char data[64];
} batch_record;

/* Reads one record of snats_dispatch_queue_next_msgs(); returns the position after it. */
static const unsigned char *read_tagged(const unsigned char *p, batch_record *r) {
    uint32_t len[4];
    memcpy(&r->tag, p, sizeof r->tag);
    p += sizeof r->tag;
    memcpy(len, p, sizeof len);
    p += sizeof len;
    CHECK(len[0] < sizeof r->subject && len[1] < sizeof r->reply && len[3] < sizeof r->data);
    memcpy(r->subject, p, len[0]);
    r->subject[len[0]] = 0;
    p += len[0];
    memcpy(r->reply, p, len[1]);
    r->reply[len[1]] = 0;
    p += len[1];
    r->header_len = len[2];
    p += len[2];
    memcpy(r->data, p, len[3]);
    r->data[len[3]] = 0;
    return p + len[3];
}

#define TAGGED_EACH 50

static void delivery_queue_batches_tagged(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    snats_sub *a = NULL, *b = NULL;
    CHECK_OK(snats_subscribe_on(&a, c, "tagged.a", NULL, q, NULL, (void *)1));
    CHECK_OK(snats_subscribe_on(&b, c, "tagged.b", NULL, q, NULL, (void *)2));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));

    static unsigned char buf[65536];
    size_t used = 99, count = 99;
    /* Empty: nothing after the wait, or at once without one. */
    int64_t started = harness_now_ms();
    CHECK_OK(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 10, 100));
    CHECK(harness_now_ms() - started >= 90);
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(count, 0);
    used = count = 99;
    CHECK_OK(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 10, 0));
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(count, 0);

    char text[16];
    for (int i = 0; i < TAGGED_EACH; i++) {
        int len = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(snats_publish(c, "tagged.a", text, (size_t)len));
        CHECK_OK(snats_publish_request(c, "tagged.b", "back.b", text, (size_t)len));
    }
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(queue_pending(q) == 2 * TAGGED_EACH, 5000);
    int64_t bytes = 0;
    CHECK_OK(snats_dispatch_queue_get_pending(NULL, &bytes, q));
    CHECK(bytes > 0);

    int next[3] = {0, 0, 0};
    int batches = 0;
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (next[1] + next[2] < 2 * TAGGED_EACH) {
        if (harness_now_ms() > deadline) FAIL("only %d + %d records", next[1], next[2]);
        /* Small batches, so that the records of one call mix both subscriptions. */
        CHECK_OK(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 7, harness_ms(5000)));
        CHECK(count >= 1 && count <= 7);
        batches++;
        const unsigned char *p = buf;
        for (size_t i = 0; i < count; i++) {
            batch_record r;
            p = read_tagged(p, &r);
            if (r.tag != 1 && r.tag != 2) FAIL("record with tag %llu", (unsigned long long)r.tag);
            CHECK_EQ_STR(r.subject, r.tag == 1 ? "tagged.a" : "tagged.b");
            CHECK_EQ_STR(r.reply, r.tag == 1 ? "" : "back.b");
            CHECK_EQ_INT(r.header_len, 0);
            CHECK_EQ_INT(atoi(r.data), next[r.tag]); /* in order per tag */
            next[r.tag]++;
        }
        CHECK_EQ_INT((size_t)(p - buf), used);
    }
    CHECK_EQ_INT(next[1], TAGGED_EACH);
    CHECK_EQ_INT(next[2], TAGGED_EACH);
    CHECK(batches >= (2 * TAGGED_EACH + 6) / 7);
    CHECK_EQ_INT(queue_pending(q), 0);
    CHECK_OK(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 10, 0));
    CHECK_EQ_INT(count, 0);

    /* A buffer too small for the first record: its size is told, and it stays queued. */
    CHECK_OK(snats_publish(c, "tagged.a", "last", 4));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(queue_pending(q) == 1, 5000);
    size_t need = 8 + 16 + strlen("tagged.a") + 4;
    used = count = 99;
    CHECK_STATUS(snats_dispatch_queue_next_msgs(buf, 5, &used, &count, q, 10, harness_ms(1000)), SNATS_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(used, need);
    CHECK_EQ_INT(count, 0);
    CHECK_STATUS(snats_dispatch_queue_next_msgs(buf, need - 1, &used, &count, q, 10, 0), SNATS_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(used, need);
    CHECK_EQ_INT(queue_pending(q), 1);
    CHECK_OK(snats_dispatch_queue_next_msgs(buf, need, &used, &count, q, 10, 0));
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_INT(used, need);
    batch_record r;
    read_tagged(buf, &r);
    CHECK_EQ_INT(r.tag, 1);
    CHECK_EQ_STR(r.data, "last");

    /* The queue may be released first: the subscriptions keep it. */
    snats_dispatch_queue_destroy(q);
    CHECK_OK(snats_publish(c, "tagged.b", "after", 5));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_sub_destroy(a);
    snats_sub_destroy(b);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    snats_dispatch_queue *q;
    bool batches;
    _Atomic snats_status status;
    atomic_int got;
    atomic_llong elapsed;
} waiter_ctx;

static void *queue_waiter(void *arg) {
    waiter_ctx *w = arg;
    int64_t started = harness_now_ms();
    if (w->batches) {
        unsigned char buf[256];
        size_t used = 99, count = 99;
        atomic_store(&w->status, snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, w->q, 10, harness_ms(20000)));
        atomic_store(&w->got, (int)count + (int)used);
    } else {
        int ran = 99;
        atomic_store(&w->status, snats_dispatch_queue_dispatch(&ran, w->q, 64, harness_ms(20000)));
        atomic_store(&w->got, ran);
    }
    atomic_store(&w->elapsed, harness_now_ms() - started);
    return NULL;
}

/* snats_dispatch_queue_wake ends a wait from another thread, at once and with nothing. */
static void delivery_queue_wake_ends_a_wait(void) {
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    for (int batches = 0; batches < 2; batches++) {
        waiter_ctx w = {.q = q, .batches = batches, .status = SNATS_ERR, .got = -1};
        pthread_t t;
        harness_spawn(&t, queue_waiter, &w);
        harness_sleep_ms(100); /* most likely waiting by now; if not, the wake is kept for it */
        CHECK_OK(snats_dispatch_queue_wake(q));
        harness_join(t);
        CHECK_OK(atomic_load(&w.status));
        CHECK_EQ_INT(atomic_load(&w.got), 0);
        if (atomic_load(&w.elapsed) >= harness_ms(10000))
            FAIL("a woken %s returned after %lld ms", batches ? "next_msgs" : "dispatch", (long long)atomic_load(&w.elapsed));
    }
    /* A wake with nobody waiting ends the next wait, and only that one. */
    CHECK_OK(snats_dispatch_queue_wake(q));
    int64_t started = harness_now_ms();
    int ran = -1;
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, harness_ms(20000)));
    CHECK_EQ_INT(ran, 0);
    CHECK(harness_now_ms() - started < harness_ms(10000));
    started = harness_now_ms();
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 50));
    CHECK(harness_now_ms() - started >= 40);
    /* The fd does not turn readable for a wake. */
    int fd = -1;
    CHECK_OK(snats_dispatch_queue_fd(&fd, q));
    CHECK_OK(snats_dispatch_queue_wake(q));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CHECK_EQ_INT(poll(&p, 1, 0), 0);
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, harness_ms(20000)));
    CHECK_EQ_INT(ran, 0);
    snats_dispatch_queue_destroy(q);
}

typedef struct {
    pthread_mutex_t mu;
    int slow_reports;
    int other_reports;
    snats_sub *subs[4];
} err_ctx;

static void err_cb(snats_conn *conn, snats_sub *sub, snats_status status, const char *text, void *closure) {
    (void)conn;
    (void)text;
    err_ctx *e = closure;
    pthread_mutex_lock(&e->mu);
    if (status == SNATS_SLOW_CONSUMER && sub != NULL) e->slow_reports++;
    else e->other_reports++;
    pthread_mutex_unlock(&e->mu);
}

static int slow_reports(err_ctx *e) {
    pthread_mutex_lock(&e->mu);
    int n = e->slow_reports;
    pthread_mutex_unlock(&e->mu);
    return n;
}

static void count_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    atomic_fetch_add((atomic_int *)closure, 1);
}

static void delivery_queue_limits_report_slow_consumer(void) {
    test_server srv;
    server_start(&srv);
    static err_ctx e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    snats_options *o = options_for(srv.url);
    CHECK_OK(snats_options_set_error_cb(o, err_cb, &e));
    snats_conn *c = connect_with(o);

    /* A callback subscription and a batch subscription, each on a queue of 10. */
    snats_dispatch_queue *q = NULL, *bq = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 10, 0));
    CHECK_OK(snats_dispatch_queue_create(&bq, 10, 0));
    static atomic_int calls;
    snats_sub *sub = NULL, *batch = NULL;
    CHECK_OK(snats_subscribe_on(&sub, c, "limits.cb", NULL, q, count_cb, &calls));
    CHECK_OK(snats_subscribe_on(&batch, c, "limits.batch", NULL, bq, NULL, (void *)7));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 50; i++) {
        CHECK_OK(snats_publish(c, "limits.cb", "x", 1));
        CHECK_OK(snats_publish(c, "limits.batch", "y", 1));
    }
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(dropped_of(sub) == 40 && dropped_of(batch) == 40, 5000);
    CHECK_EVENTUALLY(slow_reports(&e) == 2, 5000);
    harness_sleep_ms(200); /* once per episode */
    CHECK_EQ_INT(slow_reports(&e), 2);
    CHECK_EQ_INT(e.other_reports, 0);
    CHECK_EQ_INT(dropped_of(sub), 40);
    CHECK_EQ_INT(dropped_of(batch), 40);
    CHECK_EQ_INT(queue_pending(q), 10);
    CHECK_EQ_INT(queue_pending(bq), 10);
    int64_t bytes = 0;
    CHECK_OK(snats_dispatch_queue_get_pending(NULL, &bytes, q));
    CHECK_EQ_INT(bytes, 10);
    CHECK_EQ_INT(atomic_load(&calls), 0);

    /* Handled, the queues take messages again. */
    dispatch_until(q, &calls, 10, 5000);
    CHECK_EQ_INT(queue_pending(q), 0);
    static unsigned char buf[4096];
    size_t used = 0, count = 0;
    CHECK_OK(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, bq, 100, harness_ms(1000)));
    CHECK_EQ_INT(count, 10);
    CHECK_EQ_INT(queue_pending(bq), 0);
    CHECK_OK(snats_publish(c, "limits.cb", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    dispatch_until(q, &calls, 11, 5000);
    CHECK_EQ_INT(dropped_of(sub), 40);

    snats_sub_destroy(sub);
    snats_sub_destroy(batch);
    snats_dispatch_queue_destroy(q);
    snats_dispatch_queue_destroy(bq);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    pthread_t owner;
    atomic_int closed;
    atomic_int msgs;
    atomic_int wrong_thread;
} events_ctx;

static void events_closed_cb(snats_conn *conn, void *closure) {
    (void)conn;
    events_ctx *e = closure;
    if (!pthread_equal(pthread_self(), e->owner)) atomic_fetch_add(&e->wrong_thread, 1);
    atomic_fetch_add(&e->closed, 1);
}

/* A connection bound to @p q, its closed callback counted in @p e (run on e->owner), read by
 * the queue's owner when @p read_on_queue. */
static snats_conn *connect_on_queue(const char *url, snats_dispatch_queue *q, bool read_on_queue, events_ctx *e) {
    snats_options *o = options_for(url);
    CHECK_OK(snats_options_set_dispatch_queue(o, q));
    if (read_on_queue) CHECK_OK(snats_options_set_read_on_dispatch_queue(o, true));
    CHECK_OK(snats_options_set_closed_cb(o, events_closed_cb, e));
    return connect_with(o);
}

static void events_msg_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    events_ctx *e = closure;
    if (!pthread_equal(pthread_self(), e->owner)) atomic_fetch_add(&e->wrong_thread, 1);
    atomic_fetch_add(&e->msgs, 1);
}

static void delivery_connection_events_on_queue(void) {
    test_server srv;
    server_start(&srv);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    int fd = -1;
    CHECK_OK(snats_dispatch_queue_fd(&fd, q));
    static events_ctx e;
    e.owner = pthread_self();
    snats_conn *c = connect_on_queue(srv.url, q, false, &e);

    /* The connection's callback subscriptions wait on the queue too. */
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "events.msg", events_msg_cb, &e));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_publish(c, "events.msg", "x", 1));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CHECK_EQ_INT(poll(&p, 1, (int)harness_ms(5000)), 1);
    harness_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&e.msgs), 0);
    dispatch_until(q, &e.msgs, 1, 5000);

    /* Close returns without the closed callback, which waits for the next dispatch. */
    snats_conn_close(c);
    CHECK(snats_conn_is_closed(c));
    harness_sleep_ms(200);
    CHECK_EQ_INT(atomic_load(&e.closed), 0);
    p.revents = 0;
    CHECK_EQ_INT(poll(&p, 1, (int)harness_ms(5000)), 1);
    dispatch_until(q, &e.closed, 1, 5000);
    CHECK_EQ_INT(atomic_load(&e.closed), 1);
    CHECK_EQ_INT(atomic_load(&e.wrong_thread), 0);
    int ran = -1;
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 100));
    CHECK_EQ_INT(ran, 0);
    CHECK_EQ_INT(atomic_load(&e.closed), 1); /* once */
    p.revents = 0;
    CHECK_EQ_INT(poll(&p, 1, 0), 0);

    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    snats_dispatch_queue_destroy(q);
    server_stop(&srv);
}

/* The server goes away with reconnect off: the library closes a queue-bound connection on a
 * thread of its own, so the owner's close and destroy return without dispatching; the
 * disconnected and closed callbacks then run at the owner's next dispatch, with a handle that
 * is still valid memory (its connection detached). */
static void events_disconnected_cb(snats_conn *conn, void *closure) {
    events_ctx *e = closure;
    if (!pthread_equal(pthread_self(), e->owner)) atomic_fetch_add(&e->wrong_thread, 1);
    /* After snats_conn_destroy: the handle answers, as closed. */
    if (!snats_conn_is_closed(conn)) atomic_fetch_add(&e->wrong_thread, 100);
    atomic_fetch_add(&e->msgs, 1);
}

static void delivery_library_close_on_queue_then_destroy(void) {
    test_server srv;
    server_start(&srv);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    static events_ctx e;
    memset(&e, 0, sizeof e);
    e.owner = pthread_self();
    snats_options *o = options_for(srv.url);
    CHECK_OK(snats_options_set_dispatch_queue(o, q));
    CHECK_OK(snats_options_set_allow_reconnect(o, false));
    CHECK_OK(snats_options_set_closed_cb(o, events_closed_cb, &e));
    CHECK_OK(snats_options_set_disconnected_cb(o, events_disconnected_cb, &e));
    snats_conn *c = connect_with(o);
    server_kill(&srv);
    CHECK_EVENTUALLY(snats_conn_is_closed(c), 5000);
    /* Nothing dispatched: the teardown did not wait in the queue, so these return. */
    snats_conn_close(c);
    snats_conn_destroy(c);
    CHECK_EQ_INT(atomic_load(&e.closed), 0);
    dispatch_until(q, &e.closed, 1, 5000);
    CHECK_EQ_INT(atomic_load(&e.msgs), 1); /* disconnected, before closed */
    CHECK_EQ_INT(atomic_load(&e.wrong_thread), 0);
    snats_dispatch_queue_destroy(q);
}

/* ------------------------------------------------------------------------------------------
 * Drain and close from a callback, in every mode
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    atomic_int calls;
    atomic_int returned;
    atomic_bool published;
    _Atomic snats_status status;
} self_ctx;

static void self_drain_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)msg;
    self_ctx *s = closure;
    if (atomic_fetch_add(&s->calls, 1) != 0) return;
    /* Drain after the test published everything, so that all of it is in flight. */
    int64_t deadline = harness_now_ms() + harness_ms(5000);
    while (!atomic_load(&s->published) && harness_now_ms() < deadline) harness_sleep_ms(1);
    atomic_store(&s->status, snats_sub_drain(sub, harness_ms(5000)));
    atomic_fetch_add(&s->returned, 1);
}

static void self_close_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    (void)msg;
    self_ctx *s = closure;
    if (atomic_fetch_add(&s->calls, 1) != 0) return;
    snats_conn_close(conn);
    atomic_store(&s->status, snats_conn_is_closed(conn) ? SNATS_OK : SNATS_ERR);
    atomic_fetch_add(&s->returned, 1);
}

typedef enum { ON_POOL, ON_DEDICATED, ON_QUEUE } where;

static snats_sub *subscribe_where(snats_conn *c, const char *subject, where w, snats_dispatch_queue *q,
                                  snats_msg_handler cb, void *closure) {
    snats_sub *sub = NULL;
    switch (w) {
    case ON_POOL: CHECK_OK(snats_subscribe(&sub, c, subject, cb, closure)); break;
    case ON_DEDICATED: CHECK_OK(snats_subscribe_dedicated(&sub, c, subject, NULL, cb, closure)); break;
    case ON_QUEUE: CHECK_OK(snats_subscribe_on(&sub, c, subject, NULL, q, cb, closure)); break;
    }
    return sub;
}

/* Waits for *counter >= want, dispatching @p q on this thread when there is one. */
static void wait_for(snats_dispatch_queue *q, atomic_int *counter, int want) {
    if (q != NULL) dispatch_until(q, counter, want, 10000);
    else CHECK_EVENTUALLY(atomic_load(counter) >= want, 10000);
}

static void drain_from_callback(where w, const char *mode) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_dispatch_queue *q = NULL;
    if (w == ON_QUEUE) CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    static self_ctx s;
    memset(&s, 0, sizeof s);
    s.status = SNATS_ERR;
    snats_sub *sub = subscribe_where(c, "self.drain", w, q, self_drain_cb, &s);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 5; i++) CHECK_OK(snats_publish(c, "self.drain", "x", 1));
    atomic_store(&s.published, true);
    wait_for(q, &s.returned, 1);
    if (atomic_load(&s.status) != SNATS_OK) FAIL("%s: drain in the callback returned %s", mode,
                                                   snats_status_text(atomic_load(&s.status)));
    wait_for(q, &s.calls, 5); /* what was in flight is still delivered */
    CHECK_EVENTUALLY(!snats_sub_is_valid(sub), 5000);
    harness_sleep_ms(100);
    if (q != NULL) {
        int ran = -1;
        CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 0));
        CHECK_EQ_INT(ran, 0);
    }
    CHECK_EQ_INT(atomic_load(&s.calls), 5);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000))); /* the connection is fine */
    snats_sub_destroy(sub);
    snats_dispatch_queue_destroy(q);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void close_from_callback(where w, bool conn_on_queue, const char *mode) {
    test_server srv;
    server_start(&srv);
    snats_dispatch_queue *q = NULL;
    if (w == ON_QUEUE) CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    static events_ctx e;
    memset(&e, 0, sizeof e);
    e.owner = pthread_self();
    snats_options *o = options_for(srv.url);
    CHECK_OK(snats_options_set_closed_cb(o, events_closed_cb, &e));
    if (conn_on_queue) CHECK_OK(snats_options_set_dispatch_queue(o, q));
    snats_conn *c = connect_with(o);
    static self_ctx s;
    memset(&s, 0, sizeof s);
    s.status = SNATS_ERR;
    snats_sub *sub = subscribe_where(c, "self.close", w, q, self_close_cb, &s);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 5; i++) {
        snats_status st = snats_publish(c, "self.close", "x", 1);
        CHECK(st == SNATS_OK || (i > 0 && st == SNATS_CONNECTION_CLOSED));
    }
    wait_for(q, &s.returned, 1);
    if (atomic_load(&s.status) != SNATS_OK) FAIL("%s: not closed after snats_conn_close in the callback", mode);
    CHECK(snats_conn_is_closed(c));
    wait_for(conn_on_queue ? q : NULL, &e.closed, 1);
    harness_sleep_ms(100);
    if (q != NULL) {
        int ran = -1;
        CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 0));
        CHECK_EQ_INT(ran, 0);
    }
    CHECK_EQ_INT(atomic_load(&s.calls), 1);
    CHECK_EQ_INT(atomic_load(&e.closed), 1);
    if (conn_on_queue) CHECK_EQ_INT(atomic_load(&e.wrong_thread), 0);
    CHECK(!snats_sub_is_valid(sub));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    snats_dispatch_queue_destroy(q);
    server_stop(&srv);
}

static void delivery_drain_and_close_from_callback(void) {
    drain_from_callback(ON_POOL, "pool");
    drain_from_callback(ON_DEDICATED, "dedicated");
    drain_from_callback(ON_QUEUE, "queue");
    close_from_callback(ON_POOL, false, "pool");
    close_from_callback(ON_DEDICATED, false, "dedicated");
    close_from_callback(ON_QUEUE, false, "queue (subscription)");
    close_from_callback(ON_QUEUE, true, "queue (connection)");
}

/* ------------------------------------------------------------------------------------------
 * Bad arguments
 * ---------------------------------------------------------------------------------------- */

static void nop_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    (void)closure;
}

/* SNATS_INVALID_ARG, with a message saying why. */
#define CHECK_INVALID(call)                                                \
    do {                                                                   \
        CHECK_STATUS(call, SNATS_INVALID_ARG);                             \
        CHECK(snats_last_error() != NULL && snats_last_error()[0] != 0);   \
    } while (0)

static void delivery_bad_arguments(void) {
    /* the process-wide pool */
    CHECK_INVALID(snats_set_delivery_pool_size(0));
    CHECK_INVALID(snats_set_delivery_pool_size(-3));
    int alive = -1, size = -1;
    CHECK_INVALID(snats_get_delivery_pool_threads(NULL, &size));
    CHECK_INVALID(snats_get_delivery_pool_threads(&alive, NULL));
    CHECK_OK(snats_get_delivery_pool_threads(&alive, &size));
    CHECK(size >= 2);
    CHECK(alive >= 0);
    CHECK_OK(snats_set_delivery_pool_size(3));
    CHECK_OK(snats_get_delivery_pool_threads(&alive, &size));
    CHECK_EQ_INT(size, 3);

    /* options */
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_INVALID(snats_options_set_delivery_pool_size(NULL, 2));
    CHECK_INVALID(snats_options_set_delivery_pool_size(o, -1));
    CHECK_OK(snats_options_set_delivery_pool_size(o, 0));
    CHECK_OK(snats_options_set_delivery_pool_size(o, 4));
    CHECK_INVALID(snats_options_set_dedicated_delivery(NULL, true));
    CHECK_OK(snats_options_set_dedicated_delivery(o, true));
    CHECK_OK(snats_options_set_dedicated_delivery(o, false));

    /* queues */
    snats_dispatch_queue *q = (snats_dispatch_queue *)&alive;
    CHECK_INVALID(snats_dispatch_queue_create(NULL, 0, 0));
    CHECK_INVALID(snats_dispatch_queue_create(&q, -1, 0));
    CHECK_NULL(q);
    q = (snats_dispatch_queue *)&alive;
    CHECK_INVALID(snats_dispatch_queue_create(&q, 0, -1));
    CHECK_NULL(q);
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    CHECK_NOT_NULL(q);
    snats_dispatch_queue_destroy(NULL);

    CHECK_INVALID(snats_options_set_dispatch_queue(NULL, q));
    CHECK_OK(snats_options_set_dispatch_queue(o, q));
    CHECK_OK(snats_options_set_dispatch_queue(o, NULL));

    int fd = -1;
    CHECK_INVALID(snats_dispatch_queue_fd(NULL, q));
    CHECK_INVALID(snats_dispatch_queue_fd(&fd, NULL));
    CHECK_OK(snats_dispatch_queue_fd(&fd, q));
    CHECK(fd >= 0);

    int ran = 99;
    CHECK_INVALID(snats_dispatch_queue_dispatch(&ran, NULL, 1, 0));
    CHECK_EQ_INT(ran, 0);
    CHECK_INVALID(snats_dispatch_queue_dispatch(&ran, q, 0, 0));
    CHECK_INVALID(snats_dispatch_queue_dispatch(&ran, q, -1, 0));
    CHECK_INVALID(snats_dispatch_queue_dispatch(&ran, q, 1, -1));
    CHECK_OK(snats_dispatch_queue_dispatch(NULL, q, 1, 0));
    CHECK_OK(snats_dispatch_queue_dispatch(NULL, q, 1, 10));
    CHECK_INVALID(snats_dispatch_queue_wake(NULL));

    unsigned char buf[64];
    size_t used = 99, count = 99;
    CHECK_INVALID(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, NULL, 1, 0));
    CHECK_EQ_INT(used, 0);
    CHECK_EQ_INT(count, 0);
    CHECK_INVALID(snats_dispatch_queue_next_msgs(NULL, sizeof buf, &used, &count, q, 1, 0));
    CHECK_INVALID(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 0, 0));
    CHECK_INVALID(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 1, -1));
    CHECK_INVALID(snats_dispatch_queue_next_msgs(buf, sizeof buf, NULL, &count, q, 1, 0));
    CHECK_INVALID(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, NULL, q, 1, 0));
    CHECK_OK(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 1, 0));
    CHECK_EQ_INT(count, 0);

    int msgs = 99;
    int64_t bytes = 99;
    CHECK_INVALID(snats_dispatch_queue_get_pending(&msgs, &bytes, NULL));
    CHECK_OK(snats_dispatch_queue_get_pending(NULL, NULL, q));
    CHECK_OK(snats_dispatch_queue_get_pending(&msgs, &bytes, q));
    CHECK_EQ_INT(msgs, 0);
    CHECK_EQ_INT(bytes, 0);

    /* subscribing */
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = (snats_sub *)&alive;
    CHECK_INVALID(snats_subscribe_on(NULL, c, "bad.args", NULL, q, nop_cb, NULL));
    CHECK_INVALID(snats_subscribe_on(&sub, NULL, "bad.args", NULL, q, nop_cb, NULL));
    CHECK_NULL(sub);
    sub = (snats_sub *)&alive;
    CHECK_INVALID(snats_subscribe_on(&sub, c, NULL, NULL, q, nop_cb, NULL));
    CHECK_NULL(sub);
    sub = (snats_sub *)&alive;
    CHECK_INVALID(snats_subscribe_on(&sub, c, "bad.args", NULL, NULL, nop_cb, NULL));
    CHECK_NULL(sub);
    sub = (snats_sub *)&alive;
    CHECK_INVALID(snats_subscribe_on(&sub, c, "bad.args", NULL, NULL, NULL, NULL));
    CHECK_NULL(sub);
    CHECK_STATUS(snats_subscribe_on(&sub, c, "bad..subject", NULL, q, nop_cb, NULL), SNATS_INVALID_SUBJECT);
    CHECK_NULL(sub);
    CHECK_STATUS(snats_subscribe_on(&sub, c, "", NULL, q, NULL, NULL), SNATS_INVALID_SUBJECT);
    CHECK_INVALID(snats_subscribe_on(&sub, c, "bad.args", "", q, nop_cb, NULL));
    CHECK_INVALID(snats_subscribe_on(&sub, c, "bad.args", "a b", q, NULL, NULL));
    CHECK_NULL(sub);

    sub = (snats_sub *)&alive;
    CHECK_INVALID(snats_subscribe_dedicated(NULL, c, "bad.args", NULL, nop_cb, NULL));
    CHECK_INVALID(snats_subscribe_dedicated(&sub, NULL, "bad.args", NULL, nop_cb, NULL));
    CHECK_NULL(sub);
    sub = (snats_sub *)&alive;
    CHECK_INVALID(snats_subscribe_dedicated(&sub, c, NULL, NULL, nop_cb, NULL));
    CHECK_NULL(sub);
    sub = (snats_sub *)&alive;
    CHECK_INVALID(snats_subscribe_dedicated(&sub, c, "bad.args", NULL, NULL, NULL));
    CHECK_NULL(sub);
    CHECK_STATUS(snats_subscribe_dedicated(&sub, c, "bad..subject", NULL, nop_cb, NULL), SNATS_INVALID_SUBJECT);
    CHECK_INVALID(snats_subscribe_dedicated(&sub, c, "bad.args", "", nop_cb, NULL));
    CHECK_INVALID(snats_subscribe_dedicated(&sub, c, "bad.args", "a\tb", nop_cb, NULL));
    CHECK_NULL(sub);

    /* valid calls still work after all that, with and without a queue group */
    snats_sub *good = NULL, *grouped = NULL;
    CHECK_OK(snats_subscribe_on(&good, c, "bad.args", "workers", q, NULL, (void *)5));
    CHECK_OK(snats_subscribe_dedicated(&grouped, c, "bad.args", "workers", nop_cb, NULL));
    snats_sub_destroy(good);
    snats_sub_destroy(grouped);

    /* closed connection */
    snats_conn_close(c);
    CHECK_STATUS(snats_subscribe_on(&sub, c, "bad.args", NULL, q, nop_cb, NULL), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(sub);
    CHECK_STATUS(snats_subscribe_dedicated(&sub, c, "bad.args", NULL, nop_cb, NULL), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(sub);

    snats_conn_destroy(c);
    snats_options_destroy(o);
    snats_dispatch_queue_destroy(q);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * A queue's owner reads the socket (read on dispatch queue), and publishes written on the
 * caller's thread (send asap)
 * ---------------------------------------------------------------------------------------- */

static uint64_t in_msgs_of(snats_conn *c) {
    uint64_t n = 0;
    CHECK_OK(snats_conn_get_stats(&n, NULL, NULL, NULL, c));
    return n;
}

static void echo_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    epoll_ctx *e = closure;
    if (e != NULL) {
        if (!pthread_equal(pthread_self(), e->owner)) atomic_fetch_add(&e->wrong_thread, 1);
        atomic_fetch_add(&e->calls, 1);
    }
    CHECK_OK(snats_msg_respond(msg, snats_msg_data(msg), (size_t)snats_msg_data_len(msg)));
}

static void *publish_ten(void *arg) {
    snats_conn *pub = arg;
    publish_numbered(pub, "owner.msgs", 10); /* and flushes, on this thread */
    return NULL;
}

static void delivery_queue_owner_reads_the_socket(void) {
    test_server srv;
    server_start(&srv);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    int fd = -1;
    CHECK_OK(snats_dispatch_queue_fd(&fd, q));
    static events_ctx ev;
    ev.owner = pthread_self();
    snats_conn *c = connect_on_queue(srv.url, q, true, &ev);
    snats_conn *p = connect_or_fail(srv.url);
    snats_sub *echo = NULL;
    CHECK_OK(snats_subscribe(&echo, p, "owner.echo", echo_cb, NULL));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));

    /* One dispatch makes this thread the owner: from now on only this thread reads c. */
    int ran = -1;
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 0));
    CHECK_EQ_INT(ran, 0);
    static epoll_ctx e;
    e.owner = pthread_self();
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "owner.msgs", epoll_cb, &e));
    /* The PONG can only be read by this thread, inside the flush's wait. */
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));

    /* Published from another thread, so that no wait of the owner's reads c meanwhile. */
    pthread_t t;
    harness_spawn(&t, publish_ten, p);
    harness_join(t);
    harness_sleep_ms(100);
    /* The messages are in c's socket, unread: nothing counted, nothing queued, yet the
     * queue's descriptor is readable for them. */
    CHECK_EQ_INT(in_msgs_of(c), 0);
    CHECK_EQ_INT(queue_pending(q), 0);
    CHECK_EQ_INT(atomic_load(&e.calls), 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    CHECK_EQ_INT(poll(&pfd, 1, (int)harness_ms(5000)), 1);
    CHECK(pfd.revents & POLLIN);

    dispatch_until(q, &e.calls, 10, 5000);
    CHECK_EQ_INT(atomic_load(&e.calls), 10);
    CHECK_EQ_INT(atomic_load(&e.wrong_thread), 0);
    CHECK_EQ_INT(atomic_load(&e.out_of_order), 0);
    CHECK_EQ_INT(in_msgs_of(c), 10);

    /* A blocking request from the owner: its wait reads the reply off the socket. */
    snats_msg *reply = NULL;
    CHECK_OK(snats_request(&reply, c, "owner.echo", "ping", 4, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_data_len(reply), 4);
    CHECK(memcmp(snats_msg_data(reply), "ping", 4) == 0);
    CHECK_OK(snats_msg_release(reply));
    CHECK_EQ_INT(in_msgs_of(c), 11);
    /* Everything read and run: the descriptor is quiet again. */
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, q, 64, 0));
    CHECK_EQ_INT(ran, 0);
    pfd.revents = 0;
    CHECK_EQ_INT(poll(&pfd, 1, 0), 0);
    CHECK_EQ_INT(atomic_load(&e.calls), 10);

    snats_sub_destroy(sub);
    snats_sub_destroy(echo);
    snats_conn_destroy(c);
    /* The closed callback waits in the queue (with the connection it holds) for the owner. */
    dispatch_until(q, &ev.closed, 1, 5000);
    CHECK_EQ_INT(atomic_load(&ev.wrong_thread), 0);
    snats_conn_destroy(p);
    snats_dispatch_queue_destroy(q);
    server_stop(&srv);
}

typedef struct {
    snats_dispatch_queue *q;
    int stop_fd; /* an eventfd of the test's: a wake does not make the queue's fd readable */
    atomic_int wakeups;
    atomic_int ran;
} owner_loop_ctx;

/* The owner as an event loop: epoll on the queue's descriptor, dispatch what it holds. */
static void *owner_loop(void *arg) {
    owner_loop_ctx *l = arg;
    int fd = -1;
    CHECK_OK(snats_dispatch_queue_fd(&fd, l->q));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = fd;
    CHECK_EQ_INT(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
    ev.data.fd = l->stop_fd;
    CHECK_EQ_INT(epoll_ctl(ep, EPOLL_CTL_ADD, l->stop_fd, &ev), 0);
    bool stop = false;
    while (!stop) {
        struct epoll_event got[2];
        int n = epoll_wait(ep, got, 2, -1); /* the runner's timeout ends a hang */
        if (n < 0) FAIL("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            if (got[i].data.fd == l->stop_fd) {
                stop = true;
                continue;
            }
            atomic_fetch_add(&l->wakeups, 1);
            int ran = -1;
            CHECK_OK(snats_dispatch_queue_dispatch(&ran, l->q, 64, 0));
            CHECK(ran >= 0 && ran <= 64);
            atomic_fetch_add(&l->ran, ran);
        }
    }
    CHECK_EQ_INT(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), 0);
    close(ep);
    return NULL;
}

#define OWNER_REQUESTS 20

/* The requester is not the owner: each reply reaches it only because the owner's loop wakes
 * for the socket's bytes and reads them; the echo runs in that loop too. */
static void delivery_queue_owner_driven_by_epoll_across_requests(void) {
    test_server srv;
    server_start(&srv);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    static events_ctx ev;
    ev.owner = pthread_self(); /* the loop has ended by the close: this thread dispatches it */
    snats_conn *c = connect_on_queue(srv.url, q, true, &ev);
    static owner_loop_ctx l;
    l.q = q;
    l.stop_fd = eventfd(0, EFD_CLOEXEC);
    CHECK(l.stop_fd >= 0);
    pthread_t owner;
    harness_spawn(&owner, owner_loop, &l);
    static epoll_ctx e;
    e.owner = owner;
    snats_sub *echo = NULL;
    CHECK_OK(snats_subscribe(&echo, c, "owner.echo", echo_cb, &e));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));

    for (int i = 0; i < OWNER_REQUESTS; i++) {
        char text[32];
        int len = snprintf(text, sizeof text, "request %d", i);
        snats_msg *reply = NULL;
        snats_status s = snats_request(&reply, c, "owner.echo", text, (size_t)len, harness_ms(5000));
        if (s != SNATS_OK) FAIL("request %d of %d returned %s", i, OWNER_REQUESTS, snats_status_text(s));
        CHECK_EQ_INT(snats_msg_data_len(reply), len);
        CHECK(memcmp(snats_msg_data(reply), text, (size_t)len) == 0);
        CHECK_OK(snats_msg_release(reply));
    }
    CHECK_EQ_INT(atomic_load(&e.calls), OWNER_REQUESTS);
    CHECK_EQ_INT(atomic_load(&e.wrong_thread), 0);
    CHECK_EQ_INT(atomic_load(&l.ran), OWNER_REQUESTS);
    CHECK(atomic_load(&l.wakeups) >= OWNER_REQUESTS); /* one request at a time */

    CHECK_EQ_INT(in_msgs_of(c), 2 * OWNER_REQUESTS); /* each request and its reply */

    uint64_t one = 1;
    CHECK_EQ_INT(write(l.stop_fd, &one, sizeof one), (long long)sizeof one);
    harness_join(owner);
    close(l.stop_fd);

    /* With the loop stopped nobody reads c: a reply from a responder elsewhere (which does
     * not need the queue) stays in the socket, and the request times out. */
    snats_conn *p = connect_or_fail(srv.url);
    snats_sub *other = NULL;
    CHECK_OK(snats_subscribe(&other, p, "owner.other", echo_cb, NULL));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));
    snats_msg *reply = (snats_msg *)&l;
    CHECK_STATUS(snats_request(&reply, c, "owner.other", "late", 4, 300), SNATS_TIMEOUT);
    CHECK_NULL(reply);
    CHECK_EQ_INT(in_msgs_of(c), 2 * OWNER_REQUESTS);

    snats_sub_destroy(other);
    snats_conn_destroy(p);
    snats_sub_destroy(echo);
    snats_conn_destroy(c);
    dispatch_until(q, &ev.closed, 1, 5000);
    CHECK_EQ_INT(atomic_load(&ev.wrong_thread), 0);
    snats_dispatch_queue_destroy(q);
    server_stop(&srv);
}

static void delivery_read_on_queue_needs_a_queue(void) {
    test_server srv;
    server_start(&srv);
    CHECK_INVALID(snats_options_set_read_on_dispatch_queue(NULL, true));
    CHECK_INVALID(snats_options_set_read_on_dispatch_queue(NULL, false));
    CHECK_INVALID(snats_options_set_send_asap(NULL, true));
    CHECK_INVALID(snats_options_set_send_asap(NULL, false));

    /* A server is there: only the missing queue can fail these. */
    snats_options *o = options_for(srv.url);
    CHECK_OK(snats_options_set_read_on_dispatch_queue(o, true));
    snats_conn *c = (snats_conn *)&srv;
    CHECK_INVALID(snats_conn_connect(&c, o));
    CHECK_NULL(c);
    /* A queue set then taken away is no queue. */
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    CHECK_OK(snats_options_set_dispatch_queue(o, q));
    CHECK_OK(snats_options_set_dispatch_queue(o, NULL));
    c = (snats_conn *)&srv;
    CHECK_INVALID(snats_conn_connect(&c, o));
    CHECK_NULL(c);

    /* Turned off again, or given its queue, the same options connect. */
    CHECK_OK(snats_options_set_read_on_dispatch_queue(o, false));
    CHECK_OK(snats_conn_connect(&c, o));
    CHECK_NOT_NULL(c);
    snats_conn_destroy(c);
    c = NULL;
    static events_ctx ev;
    ev.owner = pthread_self();
    CHECK_OK(snats_options_set_read_on_dispatch_queue(o, true));
    CHECK_OK(snats_options_set_dispatch_queue(o, q));
    CHECK_OK(snats_options_set_closed_cb(o, events_closed_cb, &ev));
    CHECK_OK(snats_conn_connect(&c, o));
    CHECK_NOT_NULL(c);
    snats_conn_state state = SNATS_CONN_CLOSED;
    CHECK_OK(snats_conn_get_state(&state, c));
    CHECK_EQ_INT(state, SNATS_CONN_CONNECTED);
    snats_conn_destroy(c);
    dispatch_until(q, &ev.closed, 1, 5000); /* its closed callback, queued by the destroy */
    snats_options_destroy(o);
    snats_dispatch_queue_destroy(q);
    server_stop(&srv);
}

#define ASAP_MSGS 5000
#define ASAP_RUN 100 /* messages per run: runs alternate between single and packed publishes */

typedef struct {
    atomic_int calls;
    atomic_int out_of_order;
    atomic_int bad_size;
    uint32_t next; /* one callback at a time per subscription */
} seq_ctx;

static void seq_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    seq_ctx *s = closure;
    if (snats_msg_data_len(msg) != 4) {
        atomic_fetch_add(&s->bad_size, 1);
    } else {
        const unsigned char *b = snats_msg_data(msg);
        uint32_t n = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (n != s->next) atomic_fetch_add(&s->out_of_order, 1);
        s->next = n + 1;
    }
    atomic_fetch_add(&s->calls, 1);
}

static void put_seq(unsigned char *b, uint32_t n) {
    b[0] = (unsigned char)(n >> 24);
    b[1] = (unsigned char)(n >> 16);
    b[2] = (unsigned char)(n >> 8);
    b[3] = (unsigned char)n;
}

static void delivery_send_asap_publishes_arrive_in_order(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *sc = connect_or_fail(srv.url);
    static seq_ctx s;
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, sc, "asap.seq", seq_cb, &s));
    CHECK_OK(snats_conn_flush(sc, harness_ms(5000)));
    snats_options *o = options_for(srv.url);
    CHECK_OK(snats_options_set_send_asap(o, true));
    snats_conn *c = connect_with(o);

    /* Packed records: four native uint32 lengths (subject, reply, headers, payload), then
     * the subject and the payload. */
    static const char subject[] = "asap.seq";
    const size_t record = 16 + (sizeof subject - 1) + 4;
    static unsigned char packed[ASAP_RUN * (16 + sizeof subject - 1 + 4)];
    int singles = 0, batches = 0;
    for (uint32_t n = 0; n < ASAP_MSGS; n += ASAP_RUN) {
        if ((n / ASAP_RUN) % 2 == 0) {
            for (uint32_t i = n; i < n + ASAP_RUN; i++) {
                unsigned char b[4];
                put_seq(b, i);
                CHECK_OK(snats_publish(c, subject, b, sizeof b));
            }
            singles++;
        } else {
            unsigned char *p = packed;
            for (uint32_t i = n; i < n + ASAP_RUN; i++) {
                uint32_t lengths[4] = {(uint32_t)(sizeof subject - 1), 0, 0, 4};
                memcpy(p, lengths, sizeof lengths);
                memcpy(p + sizeof lengths, subject, sizeof subject - 1);
                put_seq(p + sizeof lengths + sizeof subject - 1, i);
                p += record;
            }
            size_t published = 0;
            CHECK_OK(snats_publish_packed(&published, c, packed, (size_t)(p - packed)));
            CHECK_EQ_INT(published, ASAP_RUN);
            batches++;
        }
    }
    CHECK(singles > 0 && batches > 0);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_EVENTUALLY(atomic_load(&s.calls) >= ASAP_MSGS, 10000);
    harness_sleep_ms(100); /* no more than that */
    CHECK_EQ_INT(atomic_load(&s.calls), ASAP_MSGS);
    CHECK_EQ_INT(atomic_load(&s.bad_size), 0);
    CHECK_EQ_INT(atomic_load(&s.out_of_order), 0);
    CHECK_EQ_INT(s.next, ASAP_MSGS);
    uint64_t out_msgs = 0, out_bytes = 0;
    CHECK_OK(snats_conn_get_stats(NULL, NULL, &out_msgs, &out_bytes, c));
    CHECK_EQ_INT(out_msgs, ASAP_MSGS);
    CHECK_EQ_INT(out_bytes, 4 * ASAP_MSGS);
    CHECK_EQ_INT(dropped_of(sub), 0);

    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    snats_conn_destroy(sc);
    server_stop(&srv);
}

const test_case delivery_tests[] = {
    TEST(delivery_pool_thread_count_is_bounded),
    TEST(delivery_pool_size_changes),
    TEST(delivery_dedicated_threads_end_with_subscription),
    TEST(delivery_order_one_at_a_time),
    TEST(delivery_nested_requests_deeper_than_pool),
    TEST(delivery_queue_fd_with_epoll),
    TEST(delivery_queue_batches_tagged),
    TEST(delivery_queue_wake_ends_a_wait),
    TEST(delivery_queue_limits_report_slow_consumer),
    TEST(delivery_connection_events_on_queue),
    TEST(delivery_library_close_on_queue_then_destroy),
    TEST(delivery_drain_and_close_from_callback),
    TEST(delivery_bad_arguments),
    TEST(delivery_queue_owner_reads_the_socket),
    TEST(delivery_queue_owner_driven_by_epoll_across_requests),
    TEST(delivery_read_on_queue_needs_a_queue),
    TEST(delivery_send_asap_publishes_arrive_in_order),
};
HARNESS_TABLE_COUNT(delivery);
