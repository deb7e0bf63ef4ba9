/*
 * snats_scale.c - swiftnats with many subscriptions on one connection: threads, memory and
 * throughput. The same measurement and output as cnats_scale.c and py_scale.py.
 *
 * Usage: snats_scale pool|queue NSUBS COUNT SIZE URL
 *   pool   NSUBS callback subscriptions (snats_subscribe), callbacks on the library's
 *          default delivery pool.
 *   queue  the subscriber connection is bound to a dispatch queue
 *          (snats_options_set_dispatch_queue) that one thread of this program drains with
 *          snats_dispatch_queue_dispatch().
 * The subscriber connection subscribes to scale.0 .. scale.<NSUBS-1> (default pending limits:
 * drops are counted, not prevented), then flushes: that is the subscribe time. A second
 * connection, in a child process (this program run as `snats_scale pub NSUBS COUNT SIZE URL`,
 * so that the threads and memory measured are the subscriber's alone), connected before the
 * subscriptions are made, then publishes COUNT messages of SIZE bytes round-robin over those
 * subjects and reports its time (pub_secs: publish and flush). msgs/s is measured at the
 * subscriber, from the first message received to the last. The wait ends when every message
 * came, or after 10 s without progress, or after 300 s. Threads and memory are read from
 * /proc/self/status after the last message, before closing.
 *
 * Prints one line:
 *   RESULT client=swiftnats-c-pool|swiftnats-c-queue mode=scale subs=N count=C size=S
 *          received=R secs=.. msgs_per_s=.. sub_secs=.. pub_secs=.. threads=T rss_mb=..
 *          hwm_mb=.. dropped=D slow_consumer=E bad_subs=B
 * (dropped: the subscriptions' dropped counters summed; slow_consumer: SNATS_SLOW_CONSUMER
 * errors heard; bad_subs: subscriptions that did not receive exactly their share.)
 * Exit status: 0 ok (even with losses: see received), 1 usage, 2 a call failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <swiftnats.h>

#define SCALE_PROGRAM "snats_scale"
#include "scale_common.h"

#define CHECK(call)                                                                          \
    do {                                                                                     \
        snats_status s_ = (call);                                                            \
        if (s_ != SNATS_OK) {                                                                \
            fprintf(stderr, "snats_scale: %s failed: %s (%s)\n", #call, snats_status_text(s_), \
                    snats_last_error());                                                     \
            exit(2);                                                                         \
        }                                                                                    \
    } while (0)

static atomic_llong received;
static atomic_llong t_first_ns; /* 0 until the first message */
static atomic_llong t_last_ns;  /* set by the message that completes the count */
static atomic_int slow_consumers;
static atomic_uint *per_sub; /* messages received per subscription */
static long long target;

static void on_msg(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg; /* borrowed */
    atomic_fetch_add_explicit(&per_sub[(intptr_t)closure], 1, memory_order_relaxed);
    long long r = atomic_fetch_add_explicit(&received, 1, memory_order_relaxed) + 1;
    if (r == 1) atomic_store(&t_first_ns, now_ns());
    if (r == target) atomic_store(&t_last_ns, now_ns());
}

static void on_error(snats_conn *conn, snats_sub *sub, snats_status status, const char *text, void *closure) {
    (void)conn;
    (void)sub;
    (void)closure;
    if (status == SNATS_SLOW_CONSUMER)
        atomic_fetch_add(&slow_consumers, 1);
    else
        fprintf(stderr, "snats_scale: async error %s: %s\n", snats_status_text(status), text ? text : "");
}

static atomic_bool stop_draining;

static void *drain_queue(void *arg) {
    snats_dispatch_queue *queue = arg;
    while (!atomic_load(&stop_draining)) {
        int ran = 0;
        snats_status s = snats_dispatch_queue_dispatch(&ran, queue, 4096, 100);
        if (s != SNATS_OK) {
            fprintf(stderr, "snats_scale: dispatch failed: %s (%s)\n", snats_status_text(s), snats_last_error());
            exit(2);
        }
    }
    return NULL;
}

static snats_conn *scale_connect(const char *url, const char *name, snats_dispatch_queue *queue) {
    snats_options *opts = NULL;
    snats_conn *conn = NULL;
    CHECK(snats_options_create(&opts));
    CHECK(snats_options_set_url(opts, url));
    CHECK(snats_options_set_name(opts, name));
    CHECK(snats_options_set_connect_timeout(opts, 5000));
    CHECK(snats_options_set_error_cb(opts, on_error, NULL));
    if (queue != NULL) CHECK(snats_options_set_dispatch_queue(opts, queue));
    CHECK(snats_conn_connect(&conn, opts));
    snats_options_destroy(opts);
    return conn;
}

static int run_publisher(long nsubs, long long count, const char *payload, int size, const char *url) {
    snats_conn *conn = scale_connect(url, "snats-scale-pub", NULL);
    char line[64], subject[64];
    printf("ready\n");
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL) return 2; /* the subscriber went away */
    double t0 = now_s();
    for (long long i = 0; i < count; i++) {
        snprintf(subject, sizeof subject, "scale.%lld", i % nsubs);
        CHECK(snats_publish(conn, subject, payload, (size_t)size));
    }
    CHECK(snats_conn_flush(conn, 120000));
    printf("%.4f\n", now_s() - t0);
    fflush(stdout);
    snats_conn_destroy(conn);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s pool|queue NSUBS COUNT SIZE URL\n", argv[0]);
        return 1;
    }
    const char *mode = argv[1];
    long nsubs = atol(argv[2]);
    long long count = atoll(argv[3]);
    int size = atoi(argv[4]);
    const char *url = argv[5];
    bool use_queue = strcmp(mode, "queue") == 0, pub = strcmp(mode, "pub") == 0;
    if ((!use_queue && !pub && strcmp(mode, "pool") != 0) || nsubs <= 0 || count <= 0 || size < 0) {
        fprintf(stderr, "usage: %s pool|queue NSUBS COUNT SIZE URL (NSUBS, COUNT > 0)\n", argv[0]);
        return 1;
    }
    char *payload = calloc(1, size > 0 ? (size_t)size : 1);
    if (payload == NULL) return 2;
    memset(payload, 'x', (size_t)size);
    if (pub) return run_publisher(nsubs, count, payload, size, url);

    target = count;
    snats_sub **subs = calloc((size_t)nsubs, sizeof *subs);
    per_sub = calloc((size_t)nsubs, sizeof *per_sub);
    if (subs == NULL || per_sub == NULL) {
        fprintf(stderr, "snats_scale: out of memory\n");
        return 2;
    }
    publisher publisher;
    start_publisher(&publisher, argv);

    snats_dispatch_queue *queue = NULL;
    pthread_t drainer;
    if (use_queue) {
        CHECK(snats_dispatch_queue_create(&queue, 0, 0)); /* the subscriptions' own limits apply */
        if (pthread_create(&drainer, NULL, drain_queue, queue) != 0) {
            fprintf(stderr, "snats_scale: pthread_create failed\n");
            return 2;
        }
    }
    snats_conn *sub_conn = scale_connect(url, "snats-scale-sub", queue);
    char subject[64];
    double t0 = now_s();
    for (long i = 0; i < nsubs; i++) {
        snprintf(subject, sizeof subject, "scale.%ld", i);
        CHECK(snats_subscribe(&subs[i], sub_conn, subject, on_msg, (void *)(intptr_t)i));
    }
    CHECK(snats_conn_flush(sub_conn, 120000)); /* the server has every SUB */
    double sub_secs = now_s() - t0;

    fputs("go\n", publisher.go);
    fflush(publisher.go);
    /* wait: all received, or 10 s without progress, or 300 s */
    long long seen = -1;
    double last_progress = now_s(), deadline = now_s() + 300;
    int64_t progress_ns = now_ns();
    for (;;) {
        long long r = atomic_load(&received);
        if (r >= target) break;
        if (r != seen) {
            seen = r;
            last_progress = now_s();
            progress_ns = now_ns();
        }
        if (now_s() - last_progress > 10 || now_s() > deadline) break;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    long threads = proc_status("Threads");
    long rss_kb = proc_status("VmRSS"), hwm_kb = proc_status("VmHWM");
    long long got = atomic_load(&received);
    int64_t first = atomic_load(&t_first_ns), last = got >= target ? atomic_load(&t_last_ns) : progress_ns;
    double secs = (first > 0 && last > first) ? (double)(last - first) / 1e9 : 0;
    double pub_secs = finish_publisher(&publisher);
    if (pub_secs < 0) return 2;

    uint64_t dropped = 0;
    long bad_subs = 0;
    for (long i = 0; i < nsubs; i++) {
        uint64_t d = 0;
        CHECK(snats_sub_get_dropped(&d, subs[i]));
        dropped += d;
        long long share = count / nsubs + (i < count % nsubs ? 1 : 0);
        if ((long long)atomic_load(&per_sub[i]) != share) bad_subs++;
    }
    printf("RESULT client=swiftnats-c-%s mode=scale subs=%ld count=%lld size=%d received=%lld secs=%.4f "
           "msgs_per_s=%.0f sub_secs=%.3f pub_secs=%.3f threads=%ld rss_mb=%.1f hwm_mb=%.1f dropped=%llu "
           "slow_consumer=%d bad_subs=%ld\n",
           mode, nsubs, count, size, got, secs, secs > 0 ? (double)got / secs : 0.0, sub_secs, pub_secs, threads,
           rss_kb / 1024.0, hwm_kb / 1024.0, (unsigned long long)dropped, atomic_load(&slow_consumers), bad_subs);
    fflush(stdout);

    snats_conn_close(sub_conn);
    for (long i = 0; i < nsubs; i++) snats_sub_destroy(subs[i]);
    snats_conn_destroy(sub_conn);
    if (use_queue) {
        atomic_store(&stop_draining, true);
        CHECK(snats_dispatch_queue_wake(queue));
        pthread_join(drainer, NULL);
        snats_dispatch_queue_destroy(queue);
    }
    free(subs);
    free((void *)per_sub);
    free(payload);
    return 0;
}
