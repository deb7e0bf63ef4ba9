/*
 * pub.c - publish COUNT messages on a subject.
 *
 * Usage:  pub [URL] [SUBJECT] [COUNT]
 *   URL      server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   SUBJECT  default "demo.pub"
 *   COUNT    default 10
 *
 * Build:  cc -o pub pub.c $(pkg-config --cflags --libs swiftnats)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swiftnats.h>

/* Prints the failed call, its status and the library's detailed message, then exits. */
#define CHECK(call)                                                                     \
    do {                                                                                \
        snats_status s_ = (call);                                                       \
        if (s_ != SNATS_OK) {                                                           \
            fprintf(stderr, "pub: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *subject = argc > 2 ? argv[2] : "demo.pub";
    int count = argc > 3 ? atoi(argv[3]) : 10;
    if (count <= 0) {
        fprintf(stderr, "usage: pub [URL] [SUBJECT] [COUNT>0]\n");
        return 2;
    }

    /* Connect with default options to one URL (or a comma-separated list). */
    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));

    for (int i = 1; i <= count; i++) {
        char text[64];
        int len = snprintf(text, sizeof text, "message %d of %d", i, count);
        /* Returns once the message is in the outbound buffer; the library writes it. */
        CHECK(snats_publish(conn, subject, text, (size_t)len));
    }
    /* A PING/PONG round trip: everything published before has reached the server. */
    CHECK(snats_conn_flush(conn, 5000));

    uint64_t out_msgs = 0, out_bytes = 0;
    CHECK(snats_conn_get_stats(NULL, NULL, &out_msgs, &out_bytes, conn));
    printf("published %llu messages (%llu bytes) on \"%s\"\n", (unsigned long long)out_msgs,
           (unsigned long long)out_bytes, subject);

    snats_conn_destroy(conn); /* closes, then frees */
    return 0;
}
