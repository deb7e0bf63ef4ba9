/*
 * headers.c - publish a message with headers to ourselves and print what arrives.
 *
 * Usage:  headers [URL] [SUBJECT]
 *   URL      server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   SUBJECT  default "demo.headers"
 *
 * Shows: building a header set (set replaces, add appends), publishing it with
 * snats_publish_msg(), and reading a received message's headers, which are read-only and
 * belong to the message.
 * Build:  cc -o headers headers.c $(pkg-config --cflags --libs swiftnats)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <swiftnats.h>

#define CHECK(call)                                                                         \
    do {                                                                                    \
        snats_status s_ = (call);                                                           \
        if (s_ != SNATS_OK) {                                                               \
            fprintf(stderr, "headers: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                    \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *subject = argc > 2 ? argv[2] : "demo.headers";

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));

    /* A synchronous subscription on our own subject: echo is on by default, so we get our
     * own message back. */
    snats_sub *sub = NULL;
    CHECK(snats_subscribe_sync(&sub, conn, subject));

    /* Build the headers. Keys may not contain ':' or whitespace; values may not hold CR/LF. */
    snats_headers *h = NULL;
    CHECK(snats_headers_create(&h));
    CHECK(snats_headers_set(h, "Content-Type", "text/plain"));
    CHECK(snats_headers_add(h, "X-Tag", "red"));
    CHECK(snats_headers_add(h, "X-Tag", "blue")); /* a second value for the same key */
    snats_status bad = snats_headers_set(h, "Bad:Key", "x");
    printf("setting key \"Bad:Key\" is refused: %s\n", snats_status_text(bad));

    /* HPUB: the headers are encoded before the call returns, so we may destroy them. */
    CHECK(snats_publish_msg(conn, subject, NULL, h, "hello with headers", 18));
    snats_headers_destroy(h);

    snats_msg *msg = NULL;
    CHECK(snats_sub_next_msg(&msg, sub, 5000));
    printf("received on \"%s\": \"%s\"\n", snats_msg_subject(msg), (const char *)snats_msg_data(msg));

    /* The message's headers: borrowed, valid as long as the message. */
    const snats_headers *rh = snats_msg_headers(msg);
    if (rh == NULL) {
        fprintf(stderr, "headers: the message arrived without headers\n");
        return 1;
    }
    size_t keys = snats_headers_key_count(rh);
    for (size_t i = 0; i < keys; i++) {
        const char *key = NULL;
        CHECK(snats_headers_key_at(&key, rh, i));
        size_t n = snats_headers_value_count(rh, key);
        for (size_t k = 0; k < n; k++) {
            const char *value = NULL;
            CHECK(snats_headers_value_at(&value, rh, key, k));
            printf("  %s: %s\n", key, value);
        }
    }
    const char *ct = NULL;
    CHECK(snats_headers_get(&ct, rh, "Content-Type"));
    printf("Content-Type is %s\n", ct);
    /* Received headers are read-only. */
    snats_status ro = snats_headers_set((snats_headers *)rh, "X-New", "1");
    printf("changing a received message's headers is refused: %s\n", snats_status_text(ro));

    snats_msg_release(msg);
    snats_sub_destroy(sub);
    snats_conn_destroy(conn);
    return (bad == SNATS_INVALID_ARG && ro == SNATS_ILLEGAL_STATE) ? 0 : 1;
}
