/*
 * dispatch_libuv.c - run every callback on libuv's loop thread: a dispatch queue takes the
 * connection's callbacks (messages and connection events), a uv_poll_t watches the queue's
 * file descriptor, and its poll callback runs the waiting work with
 * snats_dispatch_queue_dispatch(). No library thread ever runs this program's code, so
 * the callbacks may touch loop state (timers, handles) directly.
 *
 * Usage:  dispatch_libuv [URL] [COUNT] [TIMEOUT_S]
 *   URL        server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   COUNT      messages to publish to ourselves and receive; default 1000, at most 65536
 *              (all are published before the loop runs: past a subscription's pending
 *              limit, 65536 by default, messages would be dropped as a slow consumer)
 *   TIMEOUT_S  give up (exit 1) after this many seconds; default 30
 *
 * Prints "received COUNT messages on the libuv loop" and exits 0 when all came, in order.
 * Build:  cc -o dispatch_libuv dispatch_libuv.c $(pkg-config --cflags --libs swiftnats libuv)
 *         (Debian: apt-get install libuv1-dev)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <swiftnats.h>
#include <uv.h>

#define CHECK(call)                                                                           \
    do {                                                                                      \
        snats_status s_ = (call);                                                             \
        if (s_ != SNATS_OK) {                                                                 \
            fprintf(stderr, "dispatch_libuv: %s failed: %s (%s)\n", #call, snats_status_text(s_), \
                    snats_last_error());                                                      \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

#define UV_CHECK(call)                                                                        \
    do {                                                                                      \
        int r_ = (call);                                                                      \
        if (r_ != 0) {                                                                        \
            fprintf(stderr, "dispatch_libuv: %s failed: %s\n", #call, uv_strerror(r_));       \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

/* Touched only on the loop thread: no locks needed, which is the point. */
typedef struct {
    pthread_t loop_thread;
    snats_conn *conn;
    snats_sub *sub;
    snats_dispatch_queue *queue;
    uv_poll_t poll;
    uv_timer_t timeout;
    int count;
    int received;
    int out_of_order;
    int wrong_thread;
    int closed;
    int timed_out;
} state;

static void stop_watching(state *st) {
    uv_poll_stop(&st->poll);
    uv_timer_stop(&st->timeout);
}

static void on_message(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    state *st = closure;
    if (!pthread_equal(pthread_self(), st->loop_thread)) st->wrong_thread++;
    /* The payload is followed by a NUL byte, so a text payload reads as a C string. */
    if (atoi((const char *)snats_msg_data(msg)) != st->received) st->out_of_order++;
    if (++st->received == st->count) {
        /* All here: close from the callback. The closed callback is queued, not run now. */
        snats_conn_close(conn);
    }
}

static void on_closed(snats_conn *conn, void *closure) {
    (void)conn;
    state *st = closure;
    if (!pthread_equal(pthread_self(), st->loop_thread)) st->wrong_thread++;
    st->closed = 1;
    stop_watching(st); /* nothing left to wait for: uv_run returns */
}

/* The queue's fd is readable: run what waits, up to 256 callbacks, without blocking. */
static void on_queue_readable(uv_poll_t *handle, int status, int events) {
    state *st = handle->data;
    if (status < 0) {
        fprintf(stderr, "dispatch_libuv: poll: %s\n", uv_strerror(status));
        stop_watching(st);
        return;
    }
    if (events & UV_READABLE) CHECK(snats_dispatch_queue_dispatch(NULL, st->queue, 256, 0));
}

static void on_timeout(uv_timer_t *timer) {
    state *st = timer->data;
    st->timed_out = 1;
    stop_watching(st);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    int count = argc > 2 ? atoi(argv[2]) : 1000;
    int timeout_s = argc > 3 ? atoi(argv[3]) : 30;
    if (count <= 0 || count > 65536 || timeout_s <= 0) {
        fprintf(stderr, "usage: dispatch_libuv [URL] [COUNT 1..65536] [TIMEOUT_S>0]\n");
        return 2;
    }
    static state st;
    st.loop_thread = pthread_self();
    st.count = count;

    snats_dispatch_queue *queue = NULL;
    CHECK(snats_dispatch_queue_create(&queue, 0, 0));
    st.queue = queue;
    int fd = -1;
    CHECK(snats_dispatch_queue_fd(&fd, queue));

    /* Every callback of connections made with these options waits on the queue. */
    snats_options *opts = NULL;
    CHECK(snats_options_create(&opts));
    CHECK(snats_options_set_url(opts, url));
    CHECK(snats_options_set_dispatch_queue(opts, queue));
    CHECK(snats_options_set_closed_cb(opts, on_closed, &st));
    CHECK(snats_conn_connect(&st.conn, opts));
    snats_options_destroy(opts);

    char subject[64];
    snprintf(subject, sizeof subject, "examples.dispatch_libuv.%ld", (long)getpid());
    CHECK(snats_subscribe(&st.sub, st.conn, subject, on_message, &st));
    CHECK(snats_conn_flush(st.conn, 5000));
    char text[16];
    for (int i = 0; i < count; i++) {
        int len = snprintf(text, sizeof text, "%d", i);
        CHECK(snats_publish(st.conn, subject, text, (size_t)len));
    }
    CHECK(snats_conn_flush(st.conn, 5000));

    /* libuv watches the fd (only wait on it: never read or close it). */
    uv_loop_t *loop = uv_default_loop();
    UV_CHECK(uv_poll_init(loop, &st.poll, fd));
    st.poll.data = &st;
    UV_CHECK(uv_poll_start(&st.poll, UV_READABLE, on_queue_readable));
    UV_CHECK(uv_timer_init(loop, &st.timeout));
    st.timeout.data = &st;
    UV_CHECK(uv_timer_start(&st.timeout, on_timeout, (uint64_t)timeout_s * 1000, 0));
    uv_run(loop, UV_RUN_DEFAULT);

    /* Remove the fd from the loop before the queue can go. */
    uv_close((uv_handle_t *)&st.poll, NULL);
    uv_close((uv_handle_t *)&st.timeout, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);

    snats_sub_destroy(st.sub);
    snats_conn_destroy(st.conn);
    snats_dispatch_queue_destroy(queue);

    if (st.received < count) {
        fprintf(stderr, "dispatch_libuv: only %d of %d messages within %d s\n", st.received, count, timeout_s);
        return 1;
    }
    if (st.out_of_order || st.wrong_thread || !st.closed) {
        fprintf(stderr, "dispatch_libuv: %d out of order, %d off the loop thread, closed callback %s\n",
                st.out_of_order, st.wrong_thread, st.closed ? "ran" : "missing");
        return 1;
    }
    printf("received %d messages on the libuv loop\n", st.received);
    return 0;
}
