/*
 * request.c - send COUNT requests and print each reply (pair it with reply.c).
 *
 * Usage:  request [URL] [SUBJECT] [COUNT] [TEXT]
 *   URL      server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   SUBJECT  default "demo.echo"
 *   COUNT    default 1
 *   TEXT     request payload; default "hello"
 *
 * Exit status 1 when a request fails: SNATS_NO_RESPONDERS when nobody listens on SUBJECT,
 * SNATS_TIMEOUT when a responder did not answer within 2 s.
 * Build:  cc -o request request.c $(pkg-config --cflags --libs swiftnats)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swiftnats.h>

#define CHECK(call)                                                                         \
    do {                                                                                    \
        snats_status s_ = (call);                                                           \
        if (s_ != SNATS_OK) {                                                               \
            fprintf(stderr, "request: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                    \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *subject = argc > 2 ? argv[2] : "demo.echo";
    int count = argc > 3 ? atoi(argv[3]) : 1;
    const char *text = argc > 4 ? argv[4] : "hello";
    if (count <= 0) {
        fprintf(stderr, "usage: request [URL] [SUBJECT] [COUNT>0] [TEXT]\n");
        return 2;
    }

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));

    for (int i = 1; i <= count; i++) {
        char payload[256];
        int len = snprintf(payload, sizeof payload, "%s #%d", text, i);
        /* Publishes with a reply inbox and blocks until the first reply or the timeout.
         * The reply is owned by us: release it. */
        snats_msg *reply = NULL;
        CHECK(snats_request(&reply, conn, subject, payload, (size_t)len, 2000));
        printf("request \"%s\" -> reply \"%s\" (%zu bytes)\n", payload,
               (const char *)snats_msg_data(reply), snats_msg_data_len(reply));
        snats_msg_release(reply);
    }

    snats_conn_destroy(conn);
    return 0;
}
