/*
 * js_worker.c - take jobs out of a JetStream stream through a durable pull consumer: fetch a
 * batch, handle and acknowledge each job, and stop once a fetch finds nothing for WAIT_MS.
 * Start several: the consumer shares the jobs out, each to one worker. js_producer.c queues
 * them.
 *
 * Usage:  js_worker [URL] [STREAM] [CONSUMER] [BATCH] [WAIT_MS]
 *   URL       server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   STREAM    default "JOBS"
 *   CONSUMER  default "workers" (created when missing; durable: it remembers what was acked)
 *   BATCH     messages per fetch; default 16
 *   WAIT_MS   how long a fetch waits for jobs; default 2000
 * Prints "handled N jobs" at the end.
 *
 * Build:  cc -o js_worker js_worker.c $(pkg-config --cflags --libs swiftnats)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swiftnats.h>

#define CHECK(call)                                                                           \
    do {                                                                                      \
        snats_status s_ = (call);                                                             \
        if (s_ != SNATS_OK) {                                                                 \
            fprintf(stderr, "js_worker: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                      \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

#define MAX_BATCH 256

/* Says which call failed and why, then exits. */
static void die(const char *what, snats_status s) {
    fprintf(stderr, "js_worker: %s failed: %s (%s)\n", what, snats_status_text(s), snats_last_error());
    exit(1);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *stream = argc > 2 ? argv[2] : "JOBS";
    const char *consumer = argc > 3 ? argv[3] : "workers";
    int batch = argc > 4 ? atoi(argv[4]) : 16;
    int wait_ms = argc > 5 ? atoi(argv[5]) : 2000;
    if (batch <= 0 || batch > MAX_BATCH || wait_ms <= 0) {
        fprintf(stderr, "usage: js_worker [URL] [STREAM] [CONSUMER] [BATCH 1..%d] [WAIT_MS>0]\n", MAX_BATCH);
        return 2;
    }

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));
    snats_jetstream *js = NULL;
    CHECK(snats_jetstream_create(&js, conn, NULL));

    /* A durable pull consumer (no deliver_subject) with explicit acks: a job not acknowledged
     * within ack_wait (nanoseconds) is delivered again, to this worker or another. */
    json_t *config = json_pack("{s:s, s:s, s:I}", "durable_name", consumer, "ack_policy", "explicit", "ack_wait",
                               (json_int_t)30 * 1000000000);
    json_t *info = NULL;
    snats_status s = snats_js_consumer_add(&info, js, stream, config);
    json_decref(config);
    if (s == SNATS_NOT_FOUND) {
        fprintf(stderr, "js_worker: no stream %s (run js_producer first)\n", stream);
        return 1;
    }
    if (s == SNATS_JS_NOT_ENABLED) {
        fprintf(stderr, "js_worker: the server has no JetStream (start nats-server with -js)\n");
        return 1;
    }
    if (s != SNATS_OK) die("snats_js_consumer_add", s);
    printf("consumer %s on stream %s: %lld jobs waiting\n", consumer, stream,
           (long long)json_integer_value(json_object_get(info, "num_pending")));
    json_decref(info);

    snats_msg *msgs[MAX_BATCH];
    int handled = 0, redelivered = 0;
    char last[128] = "";
    for (;;) {
        int count = 0;
        s = snats_js_fetch(msgs, batch, &count, js, stream, consumer, wait_ms, NULL);
        if (s == SNATS_TIMEOUT) break; /* nothing came within wait_ms: the queue is empty */
        if (s != SNATS_OK) die("snats_js_fetch", s);
        for (int i = 0; i < count; i++) {
            /* "Handle" the job; the metadata says whether an earlier attempt failed. */
            snprintf(last, sizeof last, "%s", (const char *)snats_msg_data(msgs[i]));
            json_t *meta = NULL;
            if (snats_js_msg_metadata(&meta, msgs[i]) == SNATS_OK) {
                if (json_integer_value(json_object_get(meta, "num_delivered")) > 1) redelivered++;
                json_decref(meta);
            }
            /* Done: the work queue removes it. (snats_js_msg_nak() would ask for it again,
             * snats_js_msg_term() would give up on it.) */
            CHECK(snats_js_msg_ack(msgs[i]));
            snats_msg_release(msgs[i]);
            handled++;
        }
    }
    /* The acks were sent without waiting: make sure the server has them before leaving. */
    CHECK(snats_conn_flush(conn, 5000));
    printf("handled %d jobs (%d redelivered)%s%s\n", handled, redelivered, handled ? ", the last: " : "", last);

    snats_jetstream_destroy(js);
    snats_conn_destroy(conn);
    return 0;
}
