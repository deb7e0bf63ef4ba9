/*
 * sub.c - subscribe with a callback and print COUNT messages, then exit.
 *
 * Usage:  sub [URL] [SUBJECT] [COUNT] [TIMEOUT_S]
 *   URL        server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   SUBJECT    default "demo.pub" (wildcards allowed: "demo.*", "demo.>")
 *   COUNT      messages to wait for; default 10
 *   TIMEOUT_S  give up (exit 1) after this many seconds; default 30
 *
 * Prints "ready" once the server has the subscription, so a script can start publishing.
 * Build:  cc -o sub sub.c $(pkg-config --cflags --libs swiftnats)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <swiftnats.h>

#define CHECK(call)                                                                     \
    do {                                                                                \
        snats_status s_ = (call);                                                       \
        if (s_ != SNATS_OK) {                                                           \
            fprintf(stderr, "sub: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* Shared between the callback (a library thread) and main. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int received;
    int wanted;
} progress;

/* Runs on the subscription's delivery thread, one message at a time, in order. The message
 * is borrowed: the library releases it when we return. */
static void on_message(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    progress *p = closure;
    pthread_mutex_lock(&p->mu);
    p->received++;
    /* The payload is followed by a NUL byte, so a text payload prints as a C string. */
    printf("[%d] %s: %s\n", p->received, snats_msg_subject(msg), (const char *)snats_msg_data(msg));
    fflush(stdout);
    if (p->received >= p->wanted) pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *subject = argc > 2 ? argv[2] : "demo.pub";
    int count = argc > 3 ? atoi(argv[3]) : 10;
    int timeout_s = argc > 4 ? atoi(argv[4]) : 30;
    if (count <= 0 || timeout_s <= 0) {
        fprintf(stderr, "usage: sub [URL] [SUBJECT] [COUNT>0] [TIMEOUT_S>0]\n");
        return 2;
    }

    progress p = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, count};

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));
    snats_sub *sub = NULL;
    CHECK(snats_subscribe(&sub, conn, subject, on_message, &p));
    /* Stop after COUNT messages even if more are published: the library delivers no more. */
    CHECK(snats_sub_auto_unsubscribe(sub, count));
    /* The SUB is on its way; a flush waits until the server has it. */
    CHECK(snats_conn_flush(conn, 5000));
    printf("ready: listening on \"%s\" for %d messages\n", subject, count);
    fflush(stdout);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_s;
    pthread_mutex_lock(&p.mu);
    while (p.received < count) {
        if (pthread_cond_timedwait(&p.cv, &p.mu, &deadline) != 0) break;
    }
    int received = p.received;
    pthread_mutex_unlock(&p.mu);

    snats_sub_destroy(sub);   /* waits for a running callback to return */
    snats_conn_destroy(conn);
    if (received < count) {
        fprintf(stderr, "sub: only %d of %d messages within %d s\n", received, count, timeout_s);
        return 1;
    }
    printf("received %d messages\n", received);
    return 0;
}
