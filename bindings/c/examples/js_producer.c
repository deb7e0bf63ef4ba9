/*
 * js_producer.c - queue COUNT jobs in a JetStream work-queue stream, without waiting for each
 * ack: snats_js_publish_async() keeps up to a window of publishes in flight, a callback gets
 * each ack, and snats_js_publish_async_complete() waits for the last one. js_worker.c takes
 * the jobs out.
 *
 * Usage:  js_producer [URL] [STREAM] [SUBJECT] [COUNT]
 *   URL      server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   STREAM   default "JOBS" (created as a work queue on SUBJECT when missing)
 *   SUBJECT  default "jobs.work"
 *   COUNT    default 100
 * The server needs JetStream (`nats-server -js`).
 *
 * Build:  cc -o js_producer js_producer.c $(pkg-config --cflags --libs swiftnats)
 */
#define _POSIX_C_SOURCE 200809L /* getpid */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <swiftnats.h>

#define CHECK(call)                                                                             \
    do {                                                                                        \
        snats_status s_ = (call);                                                               \
        if (s_ != SNATS_OK) {                                                                   \
            fprintf(stderr, "js_producer: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                        \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

/* What the ack callback learns, read by main once every publish is complete. */
typedef struct {
    pthread_mutex_t mu;
    int acked;
    int failed;
    int duplicates;
    uint64_t last_seq;
} tally;

/* Runs on a library thread, once per publish, one at a time, in the order the acks come. */
static void on_ack(snats_jetstream *js, snats_status status, const snats_js_pub_ack *ack, void *closure) {
    (void)js;
    tally *t = closure;
    pthread_mutex_lock(&t->mu);
    if (status == SNATS_OK) {
        t->acked++;
        if (snats_js_pub_ack_duplicate(ack)) t->duplicates++;
        if (snats_js_pub_ack_seq(ack) > t->last_seq) t->last_seq = snats_js_pub_ack_seq(ack);
    } else {
        /* snats_last_error() is this thread's: the reason of this publish. */
        if (t->failed++ == 0)
            fprintf(stderr, "js_producer: a publish failed: %s (%s)\n", snats_status_text(status), snats_last_error());
    }
    pthread_mutex_unlock(&t->mu);
}

/* Creates the stream as a work queue unless it exists: each job is kept until a worker
 * acknowledges it, then removed. */
static void ensure_stream(snats_jetstream *js, const char *stream, const char *subject) {
    json_t *info = NULL;
    snats_status s = snats_js_stream_info(&info, js, stream, NULL);
    if (s == SNATS_OK) {
        printf("stream %s exists: %lld messages\n", stream,
               (long long)json_integer_value(json_object_get(json_object_get(info, "state"), "messages")));
        json_decref(info);
        return;
    }
    if (s == SNATS_JS_NOT_ENABLED) {
        fprintf(stderr, "js_producer: the server has no JetStream (start nats-server with -js)\n");
        exit(1);
    }
    if (s != SNATS_NOT_FOUND) {
        fprintf(stderr, "js_producer: snats_js_stream_info failed: %s (%s)\n", snats_status_text(s), snats_last_error());
        exit(1);
    }
    /* The server's own StreamConfig: durations in nanoseconds. */
    json_t *config = json_pack("{s:s, s:[s], s:s, s:I}", "name", stream, "subjects", subject, "retention", "workqueue",
                               "duplicate_window", (json_int_t)120 * 1000000000);
    CHECK(snats_js_stream_add(NULL, js, config));
    json_decref(config);
    printf("stream %s created: a work queue on \"%s\"\n", stream, subject);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *stream = argc > 2 ? argv[2] : "JOBS";
    const char *subject = argc > 3 ? argv[3] : "jobs.work";
    int count = argc > 4 ? atoi(argv[4]) : 100;
    if (count <= 0) {
        fprintf(stderr, "usage: js_producer [URL] [STREAM] [SUBJECT] [COUNT>0]\n");
        return 2;
    }

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));
    /* At most 64 publishes await their acks at once; the 65th waits for a slot. */
    json_t *options = json_pack("{s:i, s:i}", "max_pending_publishes", 64, "timeout_ms", 10000);
    snats_jetstream *js = NULL;
    CHECK(snats_jetstream_create(&js, conn, options));
    json_decref(options);
    ensure_stream(js, stream, subject);

    tally t = {.mu = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 1; i <= count; i++) {
        char job[64], id[64];
        int len = snprintf(job, sizeof job, "job %d of %d", i, count);
        /* A message id makes a retry safe: the stream stores one copy within its duplicate window. */
        snprintf(id, sizeof id, "%ld-%d", (long)getpid(), i);
        json_t *publish_options = json_pack("{s:s}", "msg_id", id);
        CHECK(snats_js_publish_async(js, subject, NULL, job, (size_t)len, publish_options, on_ack, &t));
        json_decref(publish_options);
    }
    /* Every callback has returned once this does. */
    CHECK(snats_js_publish_async_complete(js, 30000));

    pthread_mutex_lock(&t.mu);
    printf("published %d jobs to stream %s: %d acked (%d duplicates), %d failed, last sequence %llu\n", count, stream,
           t.acked, t.duplicates, t.failed, (unsigned long long)t.last_seq);
    int failed = t.failed;
    pthread_mutex_unlock(&t.mu);

    snats_jetstream_destroy(js);
    snats_conn_destroy(conn);
    return failed == 0 ? 0 : 1;
}
