/*
 * cnats_bench.c - the same benchmarks as snats_bench.c, against cnats (libnats), so that
 * swiftnats is measured beside the reference C client in the same run.
 *
 * Usage: cnats_bench MODE COUNT SIZE [URL]
 *   MODE  pub     publish COUNT messages of SIZE bytes to a subject nobody subscribes to,
 *                 then flush (one PING/PONG round trip).
 *         pubsub  a subscriber connection and a publisher connection in one process; time
 *                 until the subscriber has counted COUNT messages. Pending limits unlimited.
 *         req     a responder connection and a requester connection; COUNT sequential
 *                 requests (SIZE-byte request, SIZE-byte reply) after 100 warm-up requests;
 *                 p50 and p99 latency (nearest rank).
 *   URL   default nats://127.0.0.1:14222
 * Env: CNATS_SEND_ASAP=1 sets natsOptions_SetSendAsap(true) on every connection (cnats then
 *      writes each publish at once instead of letting its flusher thread batch them for
 *      about 1 ms); reported as client=cnats-asap.
 *
 * Prints one machine-readable line, the same as snats_bench:
 *   RESULT client=cnats|cnats-asap mode=... size=... count=... secs=... msgs_per_s=...
 *          mb_per_s=... [pub_only_secs=...] [p50_us=... p99_us=...]
 * (MB = 10^6 payload bytes.) Exit status: 0 ok, 1 usage, 2 a call failed, 3 pubsub did not
 * receive everything within 60 s, 4 a reply had the wrong size.
 *
 * Build: cc -O2 -o cnats_bench cnats_bench.c $(pkg-config --cflags --libs libnats) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *client_name = "cnats";
static bool send_asap = false;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define CHECK(call)                                                                          \
    do {                                                                                     \
        natsStatus s_ = (call);                                                              \
        if (s_ != NATS_OK) {                                                                 \
            fprintf(stderr, "cnats_bench: %s failed: %s\n", #call, natsStatus_GetText(s_));  \
            nats_PrintLastErrorStack(stderr);                                                \
            exit(2);                                                                         \
        }                                                                                    \
    } while (0)

static natsConnection *bench_connect(const char *url, const char *name) {
    natsOptions *opts = NULL;
    natsConnection *conn = NULL;
    CHECK(natsOptions_Create(&opts));
    CHECK(natsOptions_SetURL(opts, url));
    CHECK(natsOptions_SetName(opts, name));
    CHECK(natsOptions_SetTimeout(opts, 5000));
    if (send_asap) CHECK(natsOptions_SetSendAsap(opts, true));
    CHECK(natsConnection_Connect(&conn, opts));
    natsOptions_Destroy(opts);
    return conn;
}

/* ---------------- pubsub ---------------- */

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static atomic_llong received;
static long long target;
static double t_last;

static void on_msg(natsConnection *conn, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)closure;
    natsMsg_Destroy(msg); /* cnats hands the message over: the callback destroys it */
    long long r = atomic_fetch_add_explicit(&received, 1, memory_order_relaxed) + 1;
    if (r == target) {
        t_last = now_s();
        pthread_mutex_lock(&done_mu);
        pthread_cond_signal(&done_cv);
        pthread_mutex_unlock(&done_mu);
    }
}

/* ---------------- req ---------------- */

static void on_request(natsConnection *conn, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)sub;
    (void)closure;
    const char *reply = natsMsg_GetReply(msg);
    if (reply != NULL) natsConnection_Publish(conn, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, long long n, double p) {
    long long idx = (long long)(p / 100.0 * (double)n + 0.999999) - 1;
    if (idx < 0) idx = 0;
    if (idx >= n) idx = n - 1;
    return sorted[idx];
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s pub|pubsub|req COUNT SIZE [URL]\n", argv[0]);
        return 1;
    }
    const char *mode = argv[1];
    long long count = atoll(argv[2]);
    int size = atoi(argv[3]);
    const char *url = argc > 4 ? argv[4] : "nats://127.0.0.1:14222";
    if (count <= 0 || size < 0) {
        fprintf(stderr, "COUNT must be > 0 and SIZE >= 0\n");
        return 1;
    }
    const char *asap = getenv("CNATS_SEND_ASAP");
    if (asap != NULL && strcmp(asap, "1") == 0) {
        send_asap = true;
        client_name = "cnats-asap";
    }
    char *payload = malloc(size > 0 ? (size_t)size : 1);
    if (payload == NULL) return 2;
    memset(payload, 'x', size > 0 ? (size_t)size : 1);

    if (strcmp(mode, "pub") == 0) {
        natsConnection *conn = bench_connect(url, "cnats-bench-pub");
        double t0 = now_s();
        for (long long i = 0; i < count; i++) CHECK(natsConnection_Publish(conn, "bench.nosub", payload, size));
        CHECK(natsConnection_FlushTimeout(conn, 60000));
        double el = now_s() - t0;
        printf("RESULT client=%s mode=pub size=%d count=%lld secs=%.4f msgs_per_s=%.0f mb_per_s=%.2f\n",
               client_name, size, count, el, (double)count / el, (double)count * size / el / 1e6);
        natsConnection_Destroy(conn);
    } else if (strcmp(mode, "pubsub") == 0) {
        natsConnection *sub_conn = bench_connect(url, "cnats-bench-sub");
        natsConnection *pub_conn = bench_connect(url, "cnats-bench-pub");
        natsSubscription *sub = NULL;
        target = count;
        CHECK(natsConnection_Subscribe(&sub, sub_conn, "bench.pubsub", on_msg, NULL));
        CHECK(natsSubscription_SetPendingLimits(sub, -1, -1)); /* unlimited */
        CHECK(natsConnection_Flush(sub_conn));
        double t0 = now_s();
        for (long long i = 0; i < count; i++) CHECK(natsConnection_Publish(pub_conn, "bench.pubsub", payload, size));
        CHECK(natsConnection_FlushTimeout(pub_conn, 60000));
        double t_pub = now_s() - t0;

        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 60;
        pthread_mutex_lock(&done_mu);
        while (atomic_load(&received) < target)
            if (pthread_cond_timedwait(&done_cv, &done_mu, &deadline) != 0) break;
        pthread_mutex_unlock(&done_mu);
        long long got = atomic_load(&received);
        if (got < target) {
            int64_t dropped = 0;
            natsSubscription_GetDropped(sub, &dropped);
            fprintf(stderr, "pubsub: only %lld/%lld received (client dropped %lld); slow consumer?\n", got,
                    target, (long long)dropped);
            printf("RESULT client=%s mode=pubsub size=%d count=%lld secs=nan msgs_per_s=nan mb_per_s=nan "
                   "received=%lld\n",
                   client_name, size, count, got);
            return 3;
        }
        double el = t_last - t0;
        printf("RESULT client=%s mode=pubsub size=%d count=%lld secs=%.4f msgs_per_s=%.0f mb_per_s=%.2f "
               "pub_only_secs=%.4f\n",
               client_name, size, count, el, (double)count / el, (double)count * size / el / 1e6, t_pub);
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
        natsConnection_Destroy(pub_conn);
        natsConnection_Destroy(sub_conn);
    } else if (strcmp(mode, "req") == 0) {
        natsConnection *resp_conn = bench_connect(url, "cnats-bench-responder");
        natsConnection *req_conn = bench_connect(url, "cnats-bench-requester");
        natsSubscription *sub = NULL;
        CHECK(natsConnection_Subscribe(&sub, resp_conn, "bench.req", on_request, NULL));
        CHECK(natsConnection_Flush(resp_conn));
        for (int i = 0; i < 100; i++) { /* warm-up: creates the reply inbox subscription */
            natsMsg *reply = NULL;
            CHECK(natsConnection_Request(&reply, req_conn, "bench.req", payload, size, 5000));
            natsMsg_Destroy(reply);
        }
        double *lat = malloc(sizeof(double) * (size_t)count);
        if (lat == NULL) return 2;
        double t0 = now_s();
        for (long long i = 0; i < count; i++) {
            natsMsg *reply = NULL;
            double a = now_s();
            CHECK(natsConnection_Request(&reply, req_conn, "bench.req", payload, size, 5000));
            lat[i] = (now_s() - a) * 1e6;
            if (natsMsg_GetDataLength(reply) != size) {
                fprintf(stderr, "bad reply size %d\n", natsMsg_GetDataLength(reply));
                return 4;
            }
            natsMsg_Destroy(reply);
        }
        double el = now_s() - t0;
        qsort(lat, (size_t)count, sizeof(double), cmp_double);
        printf("RESULT client=%s mode=req size=%d count=%lld secs=%.4f msgs_per_s=%.0f mb_per_s=%.2f "
               "p50_us=%.1f p99_us=%.1f\n",
               client_name, size, count, el, (double)count / el, (double)count * size / el / 1e6,
               percentile(lat, count, 50), percentile(lat, count, 99));
        free(lat);
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
        natsConnection_Destroy(req_conn);
        natsConnection_Destroy(resp_conn);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 1;
    }
    free(payload);
    nats_Close();
    return 0;
}
