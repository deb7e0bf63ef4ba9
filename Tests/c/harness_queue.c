/*
 * harness_queue.c - connections bound to a dispatch queue, and an owner's dispatching (see
 * harness.h).
 */
#include "harness.h"

snats_conn *harness_connect_on_queue(const char *url, snats_dispatch_queue *q, bool read_on_queue,
                                     snats_conn_handler closed, void *closure) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    CHECK_OK(snats_options_set_dispatch_queue(o, q));
    if (read_on_queue) CHECK_OK(snats_options_set_read_on_dispatch_queue(o, true));
    CHECK_OK(snats_options_set_closed_cb(o, closed, closure));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    return c;
}

void harness_count_closed(snats_conn *conn, void *closure) {
    (void)conn;
    atomic_fetch_add((atomic_int *)closure, 1);
}

void harness_dispatch_until(snats_dispatch_queue *q, atomic_int *counter, int want) {
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (atomic_load(counter) < want) {
        if (harness_now_ms() > deadline) FAIL("%d of %d after dispatching", atomic_load(counter), want);
        CHECK_OK(snats_dispatch_queue_dispatch(NULL, q, 64, 50));
    }
}
