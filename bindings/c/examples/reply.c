/*
 * reply.c - answer COUNT requests, then exit (pair it with request.c).
 *
 * Usage:  reply [URL] [SUBJECT] [COUNT] [TIMEOUT_S]
 *   URL        server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   SUBJECT    default "demo.echo"
 *   COUNT      requests to answer; default 1
 *   TIMEOUT_S  give up (exit 1) when no request came for this many seconds; default 30
 *
 * Each reply is the request's payload in upper case. Prints "ready" once the server has the
 * subscription. Uses a synchronous subscription: the program takes each request itself with
 * snats_sub_next_msg() instead of getting a callback.
 * Build:  cc -o reply reply.c $(pkg-config --cflags --libs swiftnats)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swiftnats.h>

#define CHECK(call)                                                                       \
    do {                                                                                  \
        snats_status s_ = (call);                                                         \
        if (s_ != SNATS_OK) {                                                             \
            fprintf(stderr, "reply: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                  \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *subject = argc > 2 ? argv[2] : "demo.echo";
    int count = argc > 3 ? atoi(argv[3]) : 1;
    int timeout_s = argc > 4 ? atoi(argv[4]) : 30;
    if (count <= 0 || timeout_s <= 0) {
        fprintf(stderr, "usage: reply [URL] [SUBJECT] [COUNT>0] [TIMEOUT_S>0]\n");
        return 2;
    }

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));
    snats_sub *sub = NULL;
    CHECK(snats_subscribe_sync(&sub, conn, subject));
    CHECK(snats_conn_flush(conn, 5000));
    printf("ready: answering %d requests on \"%s\"\n", count, subject);
    fflush(stdout);

    for (int i = 1; i <= count; i++) {
        snats_msg *req = NULL;
        /* Owned message on success; SNATS_TIMEOUT if nothing came in time. */
        CHECK(snats_sub_next_msg(&req, sub, (int64_t)timeout_s * 1000));
        size_t len = snats_msg_data_len(req);
        char *answer = malloc(len + 1);
        if (answer == NULL) {
            fprintf(stderr, "reply: out of memory\n");
            return 1;
        }
        const char *data = snats_msg_data(req);
        for (size_t k = 0; k < len; k++) answer[k] = (char)toupper((unsigned char)data[k]);
        answer[len] = '\0';
        /* Publishes on the request's reply subject; SNATS_INVALID_ARG if it has none. */
        snats_status s = snats_msg_respond(req, answer, len);
        if (s == SNATS_INVALID_ARG) {
            printf("[%d] \"%s\" has no reply subject; not answered\n", i, data);
        } else {
            CHECK(s);
            printf("[%d] \"%s\" -> \"%s\"\n", i, data, answer);
        }
        fflush(stdout);
        free(answer);
        snats_msg_release(req);
    }
    /* Make sure the last reply left before closing. */
    CHECK(snats_conn_flush(conn, 5000));
    snats_sub_destroy(sub);
    snats_conn_destroy(conn);
    return 0;
}
