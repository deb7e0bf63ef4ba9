/*
 * dispatch_epoll.c - run every callback on your own thread, from an epoll loop: a dispatch
 * queue takes the connection's callbacks (messages and connection events), its file
 * descriptor is readable while work waits, and snats_dispatch_queue_dispatch() runs that
 * work here. No library thread ever runs this program's code.
 *
 * Usage:  dispatch_epoll [URL] [COUNT] [TIMEOUT_S]
 *   URL        server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   COUNT      messages to publish to ourselves and receive; default 1000, at most 65536
 *              (all are published before the loop runs: past a subscription's pending
 *              limit, 65536 by default, messages would be dropped as a slow consumer)
 *   TIMEOUT_S  give up (exit 1) after this many seconds; default 30
 *
 * Prints "received COUNT messages on the loop thread" and exits 0 when all came, in order.
 * Build:  cc -o dispatch_epoll dispatch_epoll.c $(pkg-config --cflags --libs swiftnats)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <swiftnats.h>

#define CHECK(call)                                                                           \
    do {                                                                                      \
        snats_status s_ = (call);                                                             \
        if (s_ != SNATS_OK) {                                                                 \
            fprintf(stderr, "dispatch_epoll: %s failed: %s (%s)\n", #call, snats_status_text(s_), \
                    snats_last_error());                                                      \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

/* Touched only on the loop thread: no locks needed, which is the point. */
typedef struct {
    pthread_t loop_thread;
    int received;
    int out_of_order;
    int wrong_thread;
    int closed;
} state;

static void on_message(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    state *st = closure;
    if (!pthread_equal(pthread_self(), st->loop_thread)) st->wrong_thread++;
    /* The payload is followed by a NUL byte, so a text payload reads as a C string. */
    if (atoi((const char *)snats_msg_data(msg)) != st->received) st->out_of_order++;
    st->received++;
}

static void on_closed(snats_conn *conn, void *closure) {
    (void)conn;
    state *st = closure;
    if (!pthread_equal(pthread_self(), st->loop_thread)) st->wrong_thread++;
    st->closed = 1;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The event loop: waits on the queue's fd and dispatches until *value reaches target
 * (0), or the deadline passes (-1). A real program would wait on its sockets too. */
static int run_until(int ep, snats_dispatch_queue *queue, const int *value, int target, long long deadline) {
    while (*value < target) {
        long long left = deadline - now_ms();
        if (left <= 0) return -1;
        struct epoll_event ev;
        int n = epoll_wait(ep, &ev, 1, (int)(left < 1000 ? left : 1000));
        if (n < 0) {
            perror("dispatch_epoll: epoll_wait");
            return -1;
        }
        if (n == 0) continue;
        /* Readable: run what waits, up to 256 callbacks, without blocking the loop. */
        CHECK(snats_dispatch_queue_dispatch(NULL, queue, 256, 0));
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    int count = argc > 2 ? atoi(argv[2]) : 1000;
    int timeout_s = argc > 3 ? atoi(argv[3]) : 30;
    if (count <= 0 || count > 65536 || timeout_s <= 0) {
        fprintf(stderr, "usage: dispatch_epoll [URL] [COUNT 1..65536] [TIMEOUT_S>0]\n");
        return 2;
    }
    state st = {.loop_thread = pthread_self()};

    /* The queue, and the fd the loop waits on (only wait on it: never read or close it). */
    snats_dispatch_queue *queue = NULL;
    CHECK(snats_dispatch_queue_create(&queue, 0, 0));
    int fd = -1;
    CHECK(snats_dispatch_queue_fd(&fd, queue));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("dispatch_epoll: epoll_create1");
        return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        perror("dispatch_epoll: epoll_ctl");
        return 1;
    }

    /* Every callback of connections made with these options waits on the queue. */
    snats_options *opts = NULL;
    CHECK(snats_options_create(&opts));
    CHECK(snats_options_set_url(opts, url));
    CHECK(snats_options_set_dispatch_queue(opts, queue));
    CHECK(snats_options_set_closed_cb(opts, on_closed, &st));
    snats_conn *conn = NULL;
    CHECK(snats_conn_connect(&conn, opts));
    snats_options_destroy(opts);

    char subject[64];
    snprintf(subject, sizeof subject, "examples.dispatch_epoll.%ld", (long)getpid());
    snats_sub *sub = NULL;
    CHECK(snats_subscribe(&sub, conn, subject, on_message, &st));
    CHECK(snats_conn_flush(conn, 5000));
    char text[16];
    for (int i = 0; i < count; i++) {
        int len = snprintf(text, sizeof text, "%d", i);
        CHECK(snats_publish(conn, subject, text, (size_t)len));
    }
    CHECK(snats_conn_flush(conn, 5000));

    run_until(ep, queue, &st.received, count, now_ms() + (long long)timeout_s * 1000);

    /* Closing does not wait for the closed callback: it comes through the loop too. */
    snats_sub_destroy(sub);
    snats_conn_close(conn);
    int closed_ok = run_until(ep, queue, &st.closed, 1, now_ms() + 5000) == 0;

    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(ep);
    snats_conn_destroy(conn);
    snats_dispatch_queue_destroy(queue);

    if (st.received < count) {
        fprintf(stderr, "dispatch_epoll: only %d of %d messages within %d s\n", st.received, count, timeout_s);
        return 1;
    }
    if (st.out_of_order || st.wrong_thread || !closed_ok) {
        fprintf(stderr, "dispatch_epoll: %d out of order, %d off the loop thread, closed callback %s\n",
                st.out_of_order, st.wrong_thread, closed_ok ? "ran" : "missing");
        return 1;
    }
    printf("received %d messages on the loop thread\n", st.received);
    return 0;
}
