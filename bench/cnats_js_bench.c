/*
 * cnats_js_bench.c - the JetStream benchmarks of js_bench.c against cnats (libnats 3.4), so
 * that swiftnats is measured beside the reference C client in the same run.
 *
 * Usage: cnats_js_bench MODE COUNT SIZE [URL]
 *   MODE  jspub    COUNT js_Publish() of SIZE bytes (each waits for its ack), after 100
 *                  warm-up ones; msgs/s, p50 and p99 latency (nearest rank).
 *         jsasync  COUNT js_PublishAsync() (jsOptions.PublishAsync.MaxPending 4000, swiftnats'
 *                  default window; StallWait 5000 ms, swiftnats' context timeout, instead of
 *                  cnats' 200 ms), then js_PublishAsyncComplete(); msgs/s from the first
 *                  publish until every ack is in.
 *         fetch    the stream is filled with COUNT messages first (asynchronous publishes, not
 *                  timed); then js_PullSubscribe() (durable "bench": explicit acks, filtered on
 *                  the stream's subject) is read with natsSubscription_Fetch() in batches of
 *                  100, each message acked (natsMsg_Ack()), until COUNT came; then one flush,
 *                  so the acks reached the server. msgs/s from the first fetch to that flush.
 *         kvput    COUNT kvStore_Put() of SIZE-byte values on 1,000 keys in turn, after 100
 *                  warm-up puts; p50 and p99 per put, ops/s.
 *         kvget    the 1,000 keys are written first (not timed); COUNT kvStore_Get() of them
 *                  in turn, after 100 warm-up gets; p50 and p99 per get, ops/s.
 *   URL   default nats://127.0.0.1:14222 (a server with JetStream: nats-server -js)
 *
 * Each run creates its own memory-storage stream (JSB_<pid>_<ns>, subject jsb.<pid>.<ns>) or
 * Key-Value bucket (jsb_<pid>_<ns>, js_MemoryStorage, otherwise kvConfig_Init's defaults) and
 * deletes it at the end.
 *
 * Prints one machine-readable line, the same as js_bench:
 *   RESULT client=cnats mode=... size=... count=... secs=... msgs_per_s=... mb_per_s=...
 *          [p50_us=... p99_us=...]
 * (MB = 10^6 payload bytes.) Exit status: 0 ok, 1 usage, 2 a call failed, 4 a wrong answer.
 *
 * Build: cc -O2 -o cnats_js_bench cnats_js_bench.c $(pkg-config --cflags --libs libnats) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <nats/nats.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLIENT "cnats"
#define KEYS 1000
#define WARMUP 100
#define BATCH 100

static jsErrCode err_code;

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

#define CHECK(call)                                                                                     \
    do {                                                                                                \
        err_code = 0;                                                                                   \
        natsStatus s_ = (call);                                                                         \
        if (s_ != NATS_OK) {                                                                            \
            fprintf(stderr, "cnats_js_bench: %s failed: %s (err_code %d)\n", #call, natsStatus_GetText(s_), \
                    (int)err_code);                                                                     \
            nats_PrintLastErrorStack(stderr);                                                           \
            exit(2);                                                                                    \
        }                                                                                               \
    } while (0)

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

static atomic_llong ack_failures;

/* cnats calls this only for failures (no AckHandler is set). */
static void on_pub_err(jsCtx *js, jsPubAckErr *pae, void *closure) {
    (void)js;
    (void)closure;
    if (atomic_fetch_add_explicit(&ack_failures, 1, memory_order_relaxed) == 0)
        fprintf(stderr, "cnats_js_bench: an asynchronous publish failed: %s (err_code %d: %s)\n",
                natsStatus_GetText(pae->Err), (int)pae->ErrCode, pae->ErrText ? pae->ErrText : "");
}

static void publish_async_all(jsCtx *js, const char *subject, const char *payload, int size, long long count) {
    for (long long i = 0; i < count; i++) CHECK(js_PublishAsync(js, subject, payload, size, NULL));
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 120000;
    CHECK(js_PublishAsyncComplete(js, &po));
    if (atomic_load(&ack_failures) != 0) {
        fprintf(stderr, "cnats_js_bench: %lld of %lld asynchronous publishes failed\n",
                (long long)atomic_load(&ack_failures), count);
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

    natsOptions *opts = NULL;
    natsConnection *conn = NULL;
    CHECK(natsOptions_Create(&opts));
    CHECK(natsOptions_SetURL(opts, url));
    CHECK(natsOptions_SetName(opts, "cnats-js-bench"));
    CHECK(natsOptions_SetTimeout(opts, 5000));
    CHECK(natsConnection_Connect(&conn, opts));
    natsOptions_Destroy(opts);

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    jo.PublishAsync.MaxPending = 4000;
    jo.PublishAsync.StallWait = 5000;
    jo.PublishAsync.ErrHandler = on_pub_err;
    jsCtx *js = NULL;
    CHECK(natsConnection_JetStream(&js, conn, &jo));

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
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        const char *subjects[1] = {subject};
        sc.Name = stream;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Storage = js_MemoryStorage;
        CHECK(js_AddStream(NULL, js, &sc, NULL, &err_code));

        if (strcmp(mode, "jspub") == 0) {
            for (int i = 0; i < WARMUP; i++) CHECK(js_Publish(NULL, js, subject, payload, size, NULL, &err_code));
            cpu_t0 = cpu_s();
            double t0 = now_s();
            for (long long i = 0; i < count; i++) {
                double a = now_s();
                CHECK(js_Publish(NULL, js, subject, payload, size, NULL, &err_code));
                lat[i] = (now_s() - a) * 1e6;
            }
            report(mode, size, count, now_s() - t0, lat);
        } else if (strcmp(mode, "jsasync") == 0) {
            cpu_t0 = cpu_s();
            double t0 = now_s();
            publish_async_all(js, subject, payload, size, count);
            report(mode, size, count, now_s() - t0, NULL);
        } else { /* fetch */
            publish_async_all(js, subject, payload, size, count); /* the fill: not timed */
            jsSubOptions so;
            jsSubOptions_Init(&so);
            so.Stream = stream;
            so.Config.AckPolicy = js_AckExplicit;
            natsSubscription *sub = NULL;
            CHECK(js_PullSubscribe(&sub, js, subject, "bench", NULL, &so, &err_code));
            long long got = 0;
            cpu_t0 = cpu_s();
            double t0 = now_s();
            while (got < count) {
                natsMsgList list = {0};
                CHECK(natsSubscription_Fetch(&list, sub, BATCH, 5000, &err_code));
                for (int i = 0; i < list.Count; i++) {
                    if (natsMsg_GetDataLength(list.Msgs[i]) != size) {
                        fprintf(stderr, "cnats_js_bench: fetched a message of %d bytes\n",
                                natsMsg_GetDataLength(list.Msgs[i]));
                        return 4;
                    }
                    CHECK(natsMsg_Ack(list.Msgs[i], NULL));
                }
                got += list.Count;
                natsMsgList_Destroy(&list);
            }
            CHECK(natsConnection_FlushTimeout(conn, 60000)); /* the acks are at the server */
            double el = now_s() - t0;
            if (got != count) {
                fprintf(stderr, "cnats_js_bench: fetched %lld of %lld\n", got, count);
                return 4;
            }
            report(mode, size, count, el, NULL);
            natsSubscription_Destroy(sub); /* a durable: the stream's deletion removes it */
        }
        CHECK(js_DeleteStream(js, stream, NULL, &err_code));
    } else {
        kvStore *kv = NULL;
        kvConfig kc;
        kvConfig_Init(&kc);
        kc.Bucket = bucket;
        kc.StorageType = js_MemoryStorage;
        CHECK(js_CreateKeyValue(&kv, js, &kc));
        if (strcmp(mode, "kvput") == 0) {
            for (int i = 0; i < WARMUP; i++) {
                snprintf(key, sizeof key, "k%d", i % KEYS);
                CHECK(kvStore_Put(NULL, kv, key, payload, size));
            }
            cpu_t0 = cpu_s();
            double t0 = now_s();
            for (long long i = 0; i < count; i++) {
                snprintf(key, sizeof key, "k%lld", i % KEYS);
                double a = now_s();
                uint64_t rev = 0;
                CHECK(kvStore_Put(&rev, kv, key, payload, size));
                lat[i] = (now_s() - a) * 1e6;
            }
            report(mode, size, count, now_s() - t0, lat);
        } else {
            for (int i = 0; i < KEYS; i++) {
                snprintf(key, sizeof key, "k%d", i);
                CHECK(kvStore_Put(NULL, kv, key, payload, size));
            }
            for (int i = 0; i < WARMUP; i++) {
                kvEntry *e = NULL;
                snprintf(key, sizeof key, "k%d", i % KEYS);
                CHECK(kvStore_Get(&e, kv, key));
                kvEntry_Destroy(e);
            }
            cpu_t0 = cpu_s();
            double t0 = now_s();
            for (long long i = 0; i < count; i++) {
                kvEntry *e = NULL;
                snprintf(key, sizeof key, "k%lld", i % KEYS);
                double a = now_s();
                CHECK(kvStore_Get(&e, kv, key));
                int len = kvEntry_ValueLen(e);
                kvEntry_Destroy(e);
                lat[i] = (now_s() - a) * 1e6;
                if (len != size) {
                    fprintf(stderr, "cnats_js_bench: a value of %d bytes\n", len);
                    return 4;
                }
            }
            report(mode, size, count, now_s() - t0, lat);
        }
        kvStore_Destroy(kv);
        CHECK(js_DeleteKeyValue(js, bucket));
    }
    free(lat);
    jsCtx_Destroy(js);
    natsConnection_Destroy(conn);
    free(payload);
    nats_Close();
    return 0;
}
