/*
 * js_bench.c - JetStream benchmarks of swiftnats (the C API of jetStreamGroup and kvGroup),
 * the same modes, counts and output as cnats_js_bench.c.
 *
 * Usage: js_bench MODE COUNT SIZE [URL]
 *   MODE  jspub    COUNT synchronous publishes of SIZE bytes (snats_js_publish(): each waits for
 *                  its ack), after 100 warm-up ones; msgs/s, p50 and p99 latency (nearest rank).
 *         jsasync  COUNT asynchronous publishes (snats_js_publish_async(), the context's default
 *                  window of 4000 acks awaited at once), then snats_js_publish_async_complete();
 *                  msgs/s from the first publish until every ack is in.
 *         fetch    the stream is filled with COUNT messages first (asynchronous publishes, not
 *                  timed); then a durable pull consumer (explicit acks, filtered on the
 *                  stream's subject) is read with snats_js_fetch() in batches of 100, each
 *                  message acked (snats_js_msg_ack()), until COUNT came; then one flush, so
 *                  the acks reached the server. msgs/s from the first fetch to that flush.
 *         kvput    COUNT snats_kv_put() of SIZE-byte values on 1,000 keys in turn, after 100
 *                  warm-up puts; p50 and p99 per put, ops/s.
 *         kvget    the 1,000 keys are written first (not timed); COUNT snats_kv_get() of them
 *                  in turn, after 100 warm-up gets; p50 and p99 per get, ops/s.
 *   URL   default nats://127.0.0.1:14222 (a server with JetStream: nats-server -js)
 *
 * Each run creates its own memory-storage stream (JSB_<pid>_<ns>, subject jsb.<pid>.<ns>) or
 * Key-Value bucket (jsb_<pid>_<ns>, storage "memory", otherwise the defaults) and deletes it
 * at the end.
 *
 * Prints one machine-readable line:
 *   RESULT client=swiftnats mode=... size=... count=... secs=... msgs_per_s=... mb_per_s=...
 *          [p50_us=... p99_us=...]
 * (MB = 10^6 payload bytes.) Exit status: 0 ok, 1 usage, 2 a call failed, 4 a wrong answer.
 *
 * Build: cc -O2 -o js_bench js_bench.c $(pkg-config --cflags --libs swiftnats) -ljansson -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <swiftnats.h>

#define CLIENT "swiftnats"
#define KEYS 1000
#define WARMUP 100
#define BATCH 100

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system, all threads) of this process so far, in seconds. */
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* The process's CPU time since cpu_t0 (set next to each timed part's start), per message, on
 * stderr: what the client spent, beside the RESULT line's wall-clock rate. */
static double cpu_t0;
static void report_cpu(const char *mode, int size, long long count) {
    double cpu = cpu_s() - cpu_t0;
    fprintf(stderr, "CPU %s %s size=%d: %.0f ms user+sys in the timed part, %.2f us per message\n", CLIENT, mode,
            size, cpu * 1e3, cpu * 1e6 / (double)count);
}

static void fail(const char *what, snats_status s) {
    int code = 0, err_code = 0;
    snats_js_last_api_error(&code, &err_code);
    fprintf(stderr, "js_bench: %s failed: %s (%s; api code %d, err_code %d)\n", what, snats_status_text(s),
            snats_last_error(), code, err_code);
    exit(2);
}

#define CHECK(call)                                \
    do {                                           \
        snats_status s_ = (call);                  \
        if (s_ != SNATS_OK) fail(#call, s_);       \
    } while (0)

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

static void report(const char *mode, int size, long long count, double el, double *lat) {
    report_cpu(mode, size, count); /* before the sort */
    printf("RESULT client=%s mode=%s size=%d count=%lld secs=%.4f msgs_per_s=%.0f mb_per_s=%.2f", CLIENT, mode, size,
           count, el, (double)count / el, (double)count * size / el / 1e6);
    if (lat != NULL) {
        qsort(lat, (size_t)count, sizeof(double), cmp_double);
        printf(" p50_us=%.1f p99_us=%.1f", percentile(lat, count, 50), percentile(lat, count, 99));
    }
    printf("\n");
    fflush(stdout);
}

/* ---------------- asynchronous publishes ---------------- */

static atomic_llong acked, ack_failures;

static void on_ack(snats_jetstream *js, snats_status status, const snats_js_pub_ack *ack, void *closure) {
    (void)js;
    (void)ack;
    (void)closure;
    if (status == SNATS_OK)
        atomic_fetch_add_explicit(&acked, 1, memory_order_relaxed);
    else if (atomic_fetch_add_explicit(&ack_failures, 1, memory_order_relaxed) == 0)
        fprintf(stderr, "js_bench: an asynchronous publish failed: %s (%s)\n", snats_status_text(status),
                snats_last_error());
}

/* COUNT asynchronous publishes and the wait for all their acks; exits on any failure. */
static void publish_async_all(snats_jetstream *js, const char *subject, const char *payload, int size,
                              long long count) {
    for (long long i = 0; i < count; i++)
        CHECK(snats_js_publish_async(js, subject, NULL, payload, (size_t)size, NULL, on_ack, NULL));
    CHECK(snats_js_publish_async_complete(js, 120000));
    if (atomic_load(&ack_failures) != 0) {
        fprintf(stderr, "js_bench: %lld of %lld asynchronous publishes failed\n", (long long)atomic_load(&ack_failures),
                count);
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s jspub|jsasync|fetch|kvput|kvget COUNT SIZE [URL]\n", argv[0]);
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
    int is_kv = strcmp(mode, "kvput") == 0 || strcmp(mode, "kvget") == 0;
    if (!is_kv && strcmp(mode, "jspub") != 0 && strcmp(mode, "jsasync") != 0 && strcmp(mode, "fetch") != 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 1;
    }
    char *payload = malloc(size > 0 ? (size_t)size : 1);
    if (payload == NULL) return 2;
    memset(payload, 'x', size > 0 ? (size_t)size : 1);

    snats_options *opts = NULL;
    snats_conn *conn = NULL;
    CHECK(snats_options_create(&opts));
    CHECK(snats_options_set_url(opts, url));
    CHECK(snats_options_set_name(opts, "snats-js-bench"));
    CHECK(snats_options_set_connect_timeout(opts, 5000));
    CHECK(snats_conn_connect(&conn, opts));
    snats_options_destroy(opts);
    snats_jetstream *js = NULL;
    CHECK(snats_jetstream_create(&js, conn, NULL)); /* defaults: 5 s timeout, 4000 pending */

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long tag = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    char stream[96], subject[96], bucket[96], key[32];
    snprintf(stream, sizeof stream, "JSB_%d_%lld", (int)getpid(), tag);
    snprintf(subject, sizeof subject, "jsb.%d.%lld", (int)getpid(), tag);
    snprintf(bucket, sizeof bucket, "jsb_%d_%lld", (int)getpid(), tag);

    double *lat = NULL;
    if (strcmp(mode, "jspub") == 0 || is_kv) {
        lat = malloc(sizeof(double) * (size_t)count);
        if (lat == NULL) return 2;
    }

    if (!is_kv) {
        json_t *config = json_pack("{s:s, s:[s], s:s}", "name", stream, "subjects", subject, "storage", "memory");
        CHECK(snats_js_stream_add(NULL, js, config));
        json_decref(config);

        if (strcmp(mode, "jspub") == 0) {
            for (int i = 0; i < WARMUP; i++) CHECK(snats_js_publish(NULL, js, subject, NULL, payload, (size_t)size, NULL));
            cpu_t0 = cpu_s();
            double t0 = now_s();
            for (long long i = 0; i < count; i++) {
                double a = now_s();
                CHECK(snats_js_publish(NULL, js, subject, NULL, payload, (size_t)size, NULL));
                lat[i] = (now_s() - a) * 1e6;
            }
            report(mode, size, count, now_s() - t0, lat);
        } else if (strcmp(mode, "jsasync") == 0) {
            cpu_t0 = cpu_s();
            double t0 = now_s();
            publish_async_all(js, subject, payload, size, count);
            double el = now_s() - t0;
            if (atomic_load(&acked) != count) {
                fprintf(stderr, "js_bench: %lld acks for %lld publishes\n", (long long)atomic_load(&acked), count);
                return 4;
            }
            report(mode, size, count, el, NULL);
        } else { /* fetch */
            publish_async_all(js, subject, payload, size, count); /* the fill: not timed */
            json_t *cc = json_pack("{s:s, s:s, s:s}", "durable_name", "bench", "ack_policy", "explicit",
                                   "filter_subject", subject);
            CHECK(snats_js_consumer_add(NULL, js, stream, cc));
            json_decref(cc);
            snats_msg *msgs[BATCH];
            long long got = 0;
            cpu_t0 = cpu_s();
            double t0 = now_s();
            while (got < count) {
                int n = 0;
                CHECK(snats_js_fetch(msgs, BATCH, &n, js, stream, "bench", 5000, NULL));
                for (int i = 0; i < n; i++) {
                    if (snats_msg_data_len(msgs[i]) != (size_t)size) {
                        fprintf(stderr, "js_bench: fetched a message of %zu bytes\n", snats_msg_data_len(msgs[i]));
                        return 4;
                    }
                    CHECK(snats_js_msg_ack(msgs[i]));
                    snats_msg_release(msgs[i]);
                }
                got += n;
            }
            CHECK(snats_conn_flush(conn, 60000)); /* the acks are at the server */
            double el = now_s() - t0;
            if (got != count) {
                fprintf(stderr, "js_bench: fetched %lld of %lld\n", got, count);
                return 4;
            }
            report(mode, size, count, el, NULL);
        }
        CHECK(snats_js_stream_delete(js, stream));
    } else {
        snats_kv *kv = NULL;
        json_t *config = json_pack("{s:s}", "storage", "memory");
        CHECK(snats_kv_bucket_create(&kv, js, bucket, config));
        json_decref(config);
        if (strcmp(mode, "kvput") == 0) {
            for (int i = 0; i < WARMUP; i++) {
                snprintf(key, sizeof key, "k%d", i % KEYS);
                CHECK(snats_kv_put(NULL, kv, key, payload, (size_t)size));
            }
            cpu_t0 = cpu_s();
            double t0 = now_s();
            for (long long i = 0; i < count; i++) {
                snprintf(key, sizeof key, "k%lld", i % KEYS);
                double a = now_s();
                uint64_t rev = 0;
                CHECK(snats_kv_put(&rev, kv, key, payload, (size_t)size));
                lat[i] = (now_s() - a) * 1e6;
            }
            report(mode, size, count, now_s() - t0, lat);
        } else {
            for (int i = 0; i < KEYS; i++) {
                snprintf(key, sizeof key, "k%d", i);
                CHECK(snats_kv_put(NULL, kv, key, payload, (size_t)size));
            }
            for (int i = 0; i < WARMUP; i++) {
                snats_kv_entry *e = NULL;
                snprintf(key, sizeof key, "k%d", i % KEYS);
                CHECK(snats_kv_get(&e, kv, key, 0));
                snats_kv_entry_destroy(e);
            }
            cpu_t0 = cpu_s();
            double t0 = now_s();
            for (long long i = 0; i < count; i++) {
                snats_kv_entry *e = NULL;
                snprintf(key, sizeof key, "k%lld", i % KEYS);
                double a = now_s();
                CHECK(snats_kv_get(&e, kv, key, 0));
                size_t len = snats_kv_entry_value_len(e);
                snats_kv_entry_destroy(e);
                lat[i] = (now_s() - a) * 1e6;
                if (len != (size_t)size) {
                    fprintf(stderr, "js_bench: a value of %zu bytes\n", len);
                    return 4;
                }
            }
            report(mode, size, count, now_s() - t0, lat);
        }
        snats_kv_destroy(kv);
        CHECK(snats_kv_bucket_delete(js, bucket));
    }
    free(lat);
    snats_jetstream_destroy(js);
    snats_conn_destroy(conn);
    free(payload);
    return 0;
}
