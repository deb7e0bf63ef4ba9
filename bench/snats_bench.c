/*
 * snats_bench.c - swiftnats benchmarks, the same modes and output as cnats_bench.c.
 *
 * Usage: snats_bench MODE COUNT SIZE [URL]
 *   MODE  pub     publish COUNT messages of SIZE bytes to a subject nobody subscribes to,
 *                 then flush (one PING/PONG round trip); time from first publish to PONG.
 *         pubsub  a subscriber connection and a publisher connection in one process; time
 *                 from the first publish until the subscriber's callback has counted COUNT.
 *                 The subscription's pending limits are unlimited (0), so nothing is dropped
 *                 by the client.
 *         req     a responder connection and a requester connection; COUNT sequential
 *                 requests (SIZE-byte request, SIZE-byte reply), after 100 warm-up requests;
 *                 reports the p50 and p99 latency (nearest rank).
 *         rpc     an RPC server (namespace "bench", method "echo") and an RPC client on two
 *                 connections; COUNT sequential calls with params [a SIZE-byte string],
 *                 answered with that string, after 100 warm-up calls; p50 and p99 as req.
 *   URL   default nats://127.0.0.1:14222
 *
 * Prints one machine-readable line:
 *   RESULT client=swiftnats mode=... size=... count=... secs=... msgs_per_s=... mb_per_s=...
 *          [pub_only_secs=...] [p50_us=... p99_us=...]
 * (MB = 10^6 payload bytes.) Exit status: 0 ok, 1 usage, 2 a call failed, 3 pubsub did not
 * receive everything within 60 s, 4 a reply had the wrong size.
 *
 * Build: cc -O2 -o snats_bench snats_bench.c $(pkg-config --cflags --libs swiftnats) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <swiftnats.h>

#define CLIENT "swiftnats"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define CHECK(call)                                                                          \
    do {                                                                                     \
        snats_status s_ = (call);                                                            \
        if (s_ != SNATS_OK) {                                                                \
            fprintf(stderr, "snats_bench: %s failed: %s (%s)\n", #call, snats_status_text(s_), \
                    snats_last_error());                                                     \
            exit(2);                                                                         \
        }                                                                                    \
    } while (0)

static snats_conn *bench_connect(const char *url, const char *name) {
    snats_options *opts = NULL;
    snats_conn *conn = NULL;
    CHECK(snats_options_create(&opts));
    CHECK(snats_options_set_url(opts, url));
    CHECK(snats_options_set_name(opts, name));
    CHECK(snats_options_set_connect_timeout(opts, 5000));
    CHECK(snats_conn_connect(&conn, opts));
    snats_options_destroy(opts);
    return conn;
}

/* ---------------- pubsub ---------------- */

static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static atomic_llong received;
/* Requests whose answer could not be sent (said at the end, never dropped silently). */
static atomic_llong unanswered;
static long long target;
static double t_last;

static void on_msg(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg; /* borrowed: the library releases it */
    (void)closure;
    long long r = atomic_fetch_add_explicit(&received, 1, memory_order_relaxed) + 1;
    if (r == target) {
        t_last = now_s();
        pthread_mutex_lock(&done_mu);
        pthread_cond_signal(&done_cv);
        pthread_mutex_unlock(&done_mu);
    }
}

/* ---------------- req ---------------- */

static void on_request(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)closure;
    if (snats_msg_reply(msg) != NULL && snats_msg_respond(msg, snats_msg_data(msg), snats_msg_data_len(msg)) != SNATS_OK)
        atomic_fetch_add(&unanswered, 1);
}

/* ---------------- rpc ---------------- */

static void on_echo(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    if (snats_rpc_request_respond(req, json_array_get(params, 0)) != SNATS_OK) atomic_fetch_add(&unanswered, 1);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *sorted, long long n, double p) {
    long long idx = (long long)(p / 100.0 * (double)n + 0.999999) - 1;
    if (idx < 0) idx = 0;
    if (idx >= n) idx = n - 1;
    return sorted[idx];
}

/* ---------------- round trips (req, rpc) ---------------- */

/* One round trip; returns the size of the answer (the payload, echoed). Exits on failure. */
typedef size_t (*round_trip_fn)(void *ctx);

/* 100 warm-up round trips (they set up reply subscriptions and delivery threads), then COUNT
 * timed ones; prints the RESULT line with p50 and p99. */
static int report_round_trips(const char *mode, int size, long long count, round_trip_fn round_trip, void *ctx) {
    for (int i = 0; i < 100; i++) round_trip(ctx);
    double *lat = malloc(sizeof(double) * (size_t)count);
    if (lat == NULL) return 2;
    double t0 = now_s();
    for (long long i = 0; i < count; i++) {
        double a = now_s();
        size_t got = round_trip(ctx);
        lat[i] = (now_s() - a) * 1e6;
        if (got != (size_t)size) {
            fprintf(stderr, "bad answer size %zu\n", got);
            free(lat);
            return 4;
        }
    }
    double el = now_s() - t0;
    qsort(lat, (size_t)count, sizeof(double), cmp_double);
    printf("RESULT client=%s mode=%s size=%d count=%lld secs=%.4f msgs_per_s=%.0f mb_per_s=%.2f "
           "p50_us=%.1f p99_us=%.1f\n",
           CLIENT, mode, size, count, el, (double)count / el, (double)count * size / el / 1e6,
           percentile(lat, count, 50), percentile(lat, count, 99));
    free(lat);
    return 0;
}

typedef struct {
    snats_conn *conn;
    const char *payload;
    int size;
} req_ctx;

static size_t request_once(void *arg) {
    req_ctx *c = arg;
    snats_msg *reply = NULL;
    CHECK(snats_request(&reply, c->conn, "bench.req", c->payload, (size_t)c->size, 5000));
    size_t got = snats_msg_data_len(reply);
    snats_msg_release(reply);
    return got;
}

typedef struct {
    snats_rpc_client *client;
    json_t *params;
} rpc_ctx;

static size_t call_once(void *arg) {
    rpc_ctx *c = arg;
    json_t *result = NULL;
    CHECK(snats_rpc_client_call(&result, NULL, c->client, "echo", c->params, 5000));
    size_t got = json_string_length(result);
    json_decref(result);
    return got;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s pub|pubsub|req|rpc COUNT SIZE [URL]\n", argv[0]);
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
    char *payload = malloc(size > 0 ? (size_t)size : 1);
    if (payload == NULL) return 2;
    memset(payload, 'x', size > 0 ? (size_t)size : 1);

    if (strcmp(mode, "pub") == 0) {
        snats_conn *conn = bench_connect(url, "snats-bench-pub");
        double t0 = now_s();
        for (long long i = 0; i < count; i++) CHECK(snats_publish(conn, "bench.nosub", payload, (size_t)size));
        CHECK(snats_conn_flush(conn, 60000));
        double el = now_s() - t0;
        printf("RESULT client=%s mode=pub size=%d count=%lld secs=%.4f msgs_per_s=%.0f mb_per_s=%.2f\n",
               CLIENT, size, count, el, (double)count / el, (double)count * size / el / 1e6);
        snats_conn_destroy(conn);
    } else if (strcmp(mode, "pubsub") == 0) {
        snats_conn *sub_conn = bench_connect(url, "snats-bench-sub");
        snats_conn *pub_conn = bench_connect(url, "snats-bench-pub");
        snats_sub *sub = NULL;
        target = count;
        CHECK(snats_subscribe(&sub, sub_conn, "bench.pubsub", on_msg, NULL));
        CHECK(snats_sub_set_pending_limits(sub, 0, 0)); /* unlimited: no client-side drops */
        CHECK(snats_conn_flush(sub_conn, 10000));        /* the server has the SUB */
        double t0 = now_s();
        for (long long i = 0; i < count; i++)
            CHECK(snats_publish(pub_conn, "bench.pubsub", payload, (size_t)size));
        CHECK(snats_conn_flush(pub_conn, 60000));
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
            uint64_t dropped = 0;
            if (snats_sub_get_dropped(&dropped, sub) != SNATS_OK) dropped = 0;
            fprintf(stderr, "pubsub: only %lld/%lld received (client dropped %llu); slow consumer?\n", got,
                    target, (unsigned long long)dropped);
            printf("RESULT client=%s mode=pubsub size=%d count=%lld secs=nan msgs_per_s=nan mb_per_s=nan "
                   "received=%lld\n",
                   CLIENT, size, count, got);
            return 3;
        }
        double el = t_last - t0;
        printf("RESULT client=%s mode=pubsub size=%d count=%lld secs=%.4f msgs_per_s=%.0f mb_per_s=%.2f "
               "pub_only_secs=%.4f\n",
               CLIENT, size, count, el, (double)count / el, (double)count * size / el / 1e6, t_pub);
        snats_sub_destroy(sub);
        snats_conn_destroy(pub_conn);
        snats_conn_destroy(sub_conn);
    } else if (strcmp(mode, "req") == 0) {
        snats_conn *resp_conn = bench_connect(url, "snats-bench-responder");
        snats_conn *req_conn = bench_connect(url, "snats-bench-requester");
        snats_sub *sub = NULL;
        CHECK(snats_subscribe(&sub, resp_conn, "bench.req", on_request, NULL));
        CHECK(snats_conn_flush(resp_conn, 10000));
        req_ctx ctx = {req_conn, payload, size};
        int rc = report_round_trips("req", size, count, request_once, &ctx);
        if (rc != 0) return rc;
        snats_sub_destroy(sub);
        snats_conn_destroy(req_conn);
        snats_conn_destroy(resp_conn);
    } else if (strcmp(mode, "rpc") == 0) {
        snats_conn *server_conn = bench_connect(url, "snats-bench-rpc-server");
        snats_conn *client_conn = bench_connect(url, "snats-bench-rpc-client");
        snats_rpc_server *server = NULL;
        CHECK(snats_rpc_server_create(&server, server_conn, "bench", NULL));
        CHECK(snats_rpc_server_register(server, "echo", NULL, NULL, 0, on_echo, NULL));
        CHECK(snats_rpc_server_start(server, NULL));
        snats_rpc_client *client = NULL;
        CHECK(snats_rpc_client_create(&client, client_conn, "bench"));
        rpc_ctx ctx = {client, json_pack("[s%]", payload, (size_t)size)};
        int rc = report_round_trips("rpc", size, count, call_once, &ctx);
        if (rc != 0) return rc;
        json_decref(ctx.params);
        snats_rpc_client_destroy(client);
        snats_rpc_server_destroy(server);
        snats_conn_destroy(client_conn);
        snats_conn_destroy(server_conn);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 1;
    }
    free(payload);
    if (atomic_load(&unanswered) > 0) {
        fprintf(stderr, "%lld answers could not be sent\n", (long long)atomic_load(&unanswered));
        return 1;
    }
    return 0;
}
