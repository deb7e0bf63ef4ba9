/*
 * cnats_scale.c - nats.c (libnats) with many subscriptions on one connection: threads, memory
 * and throughput. The same measurement and output as snats_scale.c (see there).
 *
 * Usage: cnats_scale default|global NSUBS COUNT SIZE URL
 * (the publisher is this program in a child process: `cnats_scale pub NSUBS COUNT SIZE URL`)
 *   default  nats.c's default: each async subscription has a message delivery thread of its own.
 *   global   natsOptions_UseGlobalMessageDelivery(opts, true): the library's delivery pool
 *            (its default size; nats_SetMessageDeliveryPoolSize() is not called).
 * Prints one line:
 *   RESULT client=cnats-default|cnats-global mode=scale subs=N count=C size=S received=R
 *          secs=.. msgs_per_s=.. sub_secs=.. pub_secs=.. threads=T rss_mb=.. hwm_mb=..
 *          dropped=D slow_consumer=E bad_subs=B
 * Exit status: 0 ok (even with losses: see received), 1 usage, 2 a call failed.
 *
 * Build: cc -O2 -o cnats_scale cnats_scale.c $(pkg-config --cflags --libs libnats) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <nats/nats.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCALE_PROGRAM "cnats_scale"
#include "scale_common.h"

#define CHECK(call)                                                                          \
    do {                                                                                     \
        natsStatus s_ = (call);                                                              \
        if (s_ != NATS_OK) {                                                                 \
            fprintf(stderr, "cnats_scale: %s failed: %s\n", #call, natsStatus_GetText(s_));  \
            nats_PrintLastErrorStack(stderr);                                                \
            exit(2);                                                                         \
        }                                                                                    \
    } while (0)

static atomic_llong received;
static atomic_llong t_first_ns;
static atomic_llong t_last_ns;
static atomic_int slow_consumers;
static atomic_uint *per_sub;
static long long target;

static void on_msg(natsConnection *conn, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)conn;
    (void)sub;
    natsMsg_Destroy(msg); /* nats.c hands the message over */
    atomic_fetch_add_explicit(&per_sub[(intptr_t)closure], 1, memory_order_relaxed);
    long long r = atomic_fetch_add_explicit(&received, 1, memory_order_relaxed) + 1;
    if (r == 1) atomic_store(&t_first_ns, now_ns());
    if (r == target) atomic_store(&t_last_ns, now_ns());
}

static void on_error(natsConnection *conn, natsSubscription *sub, natsStatus err, void *closure) {
    (void)conn;
    (void)sub;
    (void)closure;
    if (err == NATS_SLOW_CONSUMER)
        atomic_fetch_add(&slow_consumers, 1);
    else
        fprintf(stderr, "cnats_scale: async error %s\n", natsStatus_GetText(err));
}

static natsConnection *scale_connect(const char *url, const char *name, bool global) {
    natsOptions *opts = NULL;
    natsConnection *conn = NULL;
    CHECK(natsOptions_Create(&opts));
    CHECK(natsOptions_SetURL(opts, url));
    CHECK(natsOptions_SetName(opts, name));
    CHECK(natsOptions_SetTimeout(opts, 5000));
    CHECK(natsOptions_SetErrorHandler(opts, on_error, NULL));
    if (global) CHECK(natsOptions_UseGlobalMessageDelivery(opts, true));
    CHECK(natsConnection_Connect(&conn, opts));
    natsOptions_Destroy(opts);
    return conn;
}

static int run_publisher(long nsubs, long long count, const char *payload, int size, const char *url) {
    natsConnection *conn = scale_connect(url, "cnats-scale-pub", false);
    char line[64], subject[64];
    printf("ready\n");
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL) return 2; /* the subscriber went away */
    double t0 = now_s();
    for (long long i = 0; i < count; i++) {
        snprintf(subject, sizeof subject, "scale.%lld", i % nsubs);
        CHECK(natsConnection_Publish(conn, subject, payload, size));
    }
    CHECK(natsConnection_FlushTimeout(conn, 120000));
    printf("%.4f\n", now_s() - t0);
    fflush(stdout);
    natsConnection_Destroy(conn);
    nats_Close();
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s default|global NSUBS COUNT SIZE URL\n", argv[0]);
        return 1;
    }
    const char *mode = argv[1];
    long nsubs = atol(argv[2]);
    long long count = atoll(argv[3]);
    int size = atoi(argv[4]);
    const char *url = argv[5];
    bool global = strcmp(mode, "global") == 0, pub = strcmp(mode, "pub") == 0;
    if ((!global && !pub && strcmp(mode, "default") != 0) || nsubs <= 0 || count <= 0 || size < 0) {
        fprintf(stderr, "usage: %s default|global NSUBS COUNT SIZE URL (NSUBS, COUNT > 0)\n", argv[0]);
        return 1;
    }
    char *payload = calloc(1, size > 0 ? (size_t)size : 1);
    if (payload == NULL) return 2;
    memset(payload, 'x', (size_t)size);
    if (pub) return run_publisher(nsubs, count, payload, size, url);

    target = count;
    natsSubscription **subs = calloc((size_t)nsubs, sizeof *subs);
    per_sub = calloc((size_t)nsubs, sizeof *per_sub);
    if (subs == NULL || per_sub == NULL) {
        fprintf(stderr, "cnats_scale: out of memory\n");
        return 2;
    }
    publisher publisher;
    start_publisher(&publisher, argv);

    natsConnection *sub_conn = scale_connect(url, "cnats-scale-sub", global);
    char subject[64];
    double t0 = now_s();
    for (long i = 0; i < nsubs; i++) {
        snprintf(subject, sizeof subject, "scale.%ld", i);
        CHECK(natsConnection_Subscribe(&subs[i], sub_conn, subject, on_msg, (void *)(intptr_t)i));
    }
    CHECK(natsConnection_FlushTimeout(sub_conn, 120000));
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

    long long dropped = 0;
    long bad_subs = 0;
    for (long i = 0; i < nsubs; i++) {
        int64_t d = 0;
        CHECK(natsSubscription_GetDropped(subs[i], &d));
        dropped += d;
        long long share = count / nsubs + (i < count % nsubs ? 1 : 0);
        if ((long long)atomic_load(&per_sub[i]) != share) bad_subs++;
    }
    printf("RESULT client=cnats-%s mode=scale subs=%ld count=%lld size=%d received=%lld secs=%.4f "
           "msgs_per_s=%.0f sub_secs=%.3f pub_secs=%.3f threads=%ld rss_mb=%.1f hwm_mb=%.1f dropped=%lld "
           "slow_consumer=%d bad_subs=%ld\n",
           mode, nsubs, count, size, got, secs, secs > 0 ? (double)got / secs : 0.0, sub_secs, pub_secs, threads,
           rss_kb / 1024.0, hwm_kb / 1024.0, dropped, atomic_load(&slow_consumers), bad_subs);
    fflush(stdout);

    natsConnection_Close(sub_conn);
    for (long i = 0; i < nsubs; i++) natsSubscription_Destroy(subs[i]);
    natsConnection_Destroy(sub_conn);
    free(subs);
    free((void *)per_sub);
    free(payload);
    nats_Close();
    return 0;
}
