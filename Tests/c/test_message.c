/*
 * test_message.c - Messages: accessors (NULL included), payload termination, retain/release
 * beyond the callback, releases the caller does not own, reading one message from several threads.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>

static void msg_accessors_on_null(void) {
    CHECK_NULL(snats_msg_subject(NULL));
    CHECK_NULL(snats_msg_reply(NULL));
    CHECK_NULL(snats_msg_data(NULL));
    CHECK_EQ_INT(snats_msg_data_len(NULL), 0);
    CHECK_NULL(snats_msg_headers(NULL));
    CHECK_EQ_INT(snats_msg_status_code(NULL), 0);
    CHECK_NULL(snats_msg_retain(NULL));
    CHECK_OK(snats_msg_release(NULL)); /* no-op */
}

static void msg_fields_and_nul_termination(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "msg.>"));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));

    /* Text payload with a reply subject. */
    CHECK_OK(snats_publish_request(c, "msg.text", "reply.here", "abc", 3));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_STR(snats_msg_subject(m), "msg.text");
    CHECK_EQ_STR(snats_msg_reply(m), "reply.here");
    CHECK_EQ_INT(snats_msg_data_len(m), 3);
    const char *d = snats_msg_data(m);
    CHECK_NOT_NULL(d);
    CHECK(memcmp(d, "abc", 3) == 0);
    CHECK_EQ_INT(d[3], '\0'); /* followed by a NUL */
    CHECK_EQ_STR(d, "abc");
    CHECK_NULL(snats_msg_headers(m));
    CHECK_EQ_INT(snats_msg_status_code(m), 0);
    snats_msg_release(m);

    /* Binary payload with NULs inside. */
    const char bin[6] = {'x', 0, 'y', 0, (char)0xff, 'z'};
    CHECK_OK(snats_publish(c, "msg.bin", bin, sizeof bin));
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_data_len(m), 6);
    d = snats_msg_data(m);
    CHECK(memcmp(d, bin, 6) == 0);
    CHECK_EQ_INT(d[6], '\0');
    CHECK_NULL(snats_msg_reply(m));
    snats_msg_release(m);

    /* Empty payload: "" (a C string), length 0. */
    CHECK_OK(snats_publish(c, "msg.empty", NULL, 0));
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_data_len(m), 0);
    d = snats_msg_data(m);
    CHECK_NOT_NULL(d);
    CHECK_EQ_INT(d[0], '\0');
    snats_msg_release(m);

    /* A payload bigger than any socket read. */
    size_t big = 512 * 1024;
    unsigned char *payload = malloc(big);
    CHECK_NOT_NULL(payload);
    for (size_t i = 0; i < big; i++) payload[i] = (unsigned char)(i * 31 + 7);
    CHECK_OK(snats_publish(c, "msg.big", payload, big));
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_data_len(m), big);
    CHECK(memcmp(snats_msg_data(m), payload, big) == 0);
    CHECK_EQ_INT(((const char *)snats_msg_data(m))[big], '\0');
    snats_msg_release(m);
    free(payload);

    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* A callback keeps a message with retain; it stays readable after the callback returned
 * and after later messages were delivered. */
typedef struct {
    pthread_mutex_t mu;
    snats_msg *kept[3];
    int n;
    bool retain_returned_same;
} keep_ctx;

static void keep_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    keep_ctx *k = closure;
    snats_msg *r = snats_msg_retain(msg);
    pthread_mutex_lock(&k->mu);
    k->retain_returned_same = (r == msg);
    if (k->n < 3) k->kept[k->n] = r;
    k->n++;
    pthread_mutex_unlock(&k->mu);
}

static int kept_count(keep_ctx *k) {
    pthread_mutex_lock(&k->mu);
    int n = k->n;
    pthread_mutex_unlock(&k->mu);
    return n;
}

static void msg_retain_beyond_callback(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    keep_ctx k;
    memset(&k, 0, sizeof k);
    pthread_mutex_init(&k.mu, NULL);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "keep.me", keep_cb, &k));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    CHECK_OK(snats_headers_set(h, "K", "v"));
    CHECK_OK(snats_publish_msg(c, "keep.me", "the.reply", h, "first", 5));
    CHECK_OK(snats_publish(c, "keep.me", "second", 6));
    CHECK_OK(snats_publish(c, "keep.me", "third", 5));
    snats_headers_destroy(h);
    CHECK_EVENTUALLY(kept_count(&k) == 3, 5000);
    CHECK(k.retain_returned_same);
    /* Unsubscribe and even close: the kept messages are ours. */
    snats_sub_destroy(sub);
    snats_conn_close(c);
    CHECK_EQ_STR(snats_msg_subject(k.kept[0]), "keep.me");
    CHECK_EQ_STR(snats_msg_reply(k.kept[0]), "the.reply");
    CHECK_EQ_STR((const char *)snats_msg_data(k.kept[0]), "first");
    const char *v = NULL;
    CHECK_OK(snats_headers_get(&v, snats_msg_headers(k.kept[0]), "K"));
    CHECK_EQ_STR(v, "v");
    CHECK_EQ_STR((const char *)snats_msg_data(k.kept[1]), "second");
    CHECK_EQ_STR((const char *)snats_msg_data(k.kept[2]), "third");
    /* Two ownerships: retain again, release twice. */
    CHECK(snats_msg_retain(k.kept[1]) == k.kept[1]);
    snats_msg_release(k.kept[1]);
    CHECK_EQ_STR((const char *)snats_msg_data(k.kept[1]), "second");
    for (int i = 0; i < 3; i++) snats_msg_release(k.kept[i]);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* An owned message (from next_msg) outlives its subscription and connection. */
static void msg_owned_outlives_connection(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "own.me"));
    CHECK_OK(snats_publish(c, "own.me", "mine", 4));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    CHECK_EQ_STR((const char *)snats_msg_data(m), "mine");
    CHECK_EQ_STR(snats_msg_subject(m), "own.me");
    /* Responding now: the connection it arrived on is gone, but there is no reply subject
     * anyway: SNATS_INVALID_ARG comes first. */
    CHECK_STATUS(snats_msg_respond(m, "x", 1), SNATS_INVALID_ARG);
    snats_msg_release(m);
    server_stop(&srv);
}

/* nats.c's habit: natsMsg_Destroy in the callback. Here a release of a lent message (and a
 * second release of a retained one) is refused with a status; the message stays intact. */
typedef struct {
    pthread_mutex_t mu;
    int calls;
    snats_status lent_release, retained_release, second_release;
    char error[256];
    bool intact_after;
} release_ctx;

static void release_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    release_ctx *r = closure;
    snats_status lent = snats_msg_release(msg);
    char error[256];
    snprintf(error, sizeof error, "%s", snats_last_error());
    snats_msg_retain(msg);
    snats_status retained = snats_msg_release(msg);
    snats_status second = snats_msg_release(msg);
    bool intact = strcmp(snats_msg_subject(msg), "release.me") == 0 && snats_msg_data_len(msg) == 4 &&
                  memcmp(snats_msg_data(msg), "lent", 4) == 0;
    pthread_mutex_lock(&r->mu);
    r->lent_release = lent;
    r->retained_release = retained;
    r->second_release = second;
    memcpy(r->error, error, sizeof error);
    r->intact_after = intact;
    r->calls++;
    pthread_mutex_unlock(&r->mu);
}

static int release_calls(release_ctx *r) {
    pthread_mutex_lock(&r->mu);
    int n = r->calls;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static void msg_release_of_borrowed_is_refused(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    release_ctx r;
    memset(&r, 0, sizeof r);
    pthread_mutex_init(&r.mu, NULL);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "release.me", release_cb, &r));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 50; i++) CHECK_OK(snats_publish(c, "release.me", "lent", 4));
    CHECK_EVENTUALLY(release_calls(&r) == 50, 5000);
    pthread_mutex_lock(&r.mu);
    CHECK_STATUS(r.lent_release, SNATS_ILLEGAL_STATE);
    CHECK(strstr(r.error, "lent to a callback") != NULL);
    CHECK_STATUS(r.retained_release, SNATS_OK);
    CHECK_STATUS(r.second_release, SNATS_ILLEGAL_STATE);
    CHECK(r.intact_after);
    pthread_mutex_unlock(&r.mu);
    /* The connection still works after all those refused releases. */
    snats_sub *sync = NULL;
    CHECK_OK(snats_subscribe_sync(&sync, c, "release.owned"));
    CHECK_OK(snats_publish(c, "release.owned", "x", 1));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sync, harness_ms(5000)));
    /* An owned message kept twice is released twice, and a third release while it is still
     * retained elsewhere (the kept copy) is refused. */
    CHECK(snats_msg_retain(m) == m);
    CHECK_OK(snats_msg_release(m));
    snats_msg *again = snats_msg_retain(m);
    CHECK_OK(snats_msg_release(m));
    CHECK_EQ_STR((const char *)snats_msg_data(again), "x");
    CHECK_OK(snats_msg_release(again));
    snats_sub_destroy(sync);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    const snats_msg *msg;
    int errors;
} reader_arg;

static void *reader(void *arg) {
    reader_arg *r = arg;
    for (int i = 0; i < 10000; i++) {
        if (strcmp(snats_msg_subject(r->msg), "shared.read") != 0) r->errors++;
        if (snats_msg_data_len(r->msg) != 6 || memcmp(snats_msg_data(r->msg), "shared", 6) != 0) r->errors++;
        const char *v = NULL;
        if (snats_headers_get(&v, snats_msg_headers(r->msg), "A") != SNATS_OK || strcmp(v, "1") != 0) r->errors++;
    }
    return NULL;
}

static void msg_read_from_several_threads(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "shared.read"));
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    CHECK_OK(snats_headers_set(h, "A", "1"));
    CHECK_OK(snats_publish_msg(c, "shared.read", NULL, h, "shared", 6));
    snats_headers_destroy(h);
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    reader_arg args[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        args[i].msg = m;
        args[i].errors = 0;
        harness_spawn(&t[i], reader, &args[i]);
    }
    for (int i = 0; i < 4; i++) harness_join(t[i]);
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(args[i].errors, 0);
    snats_msg_release(m);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

const test_case message_tests[] = {
    TEST(msg_accessors_on_null),
    TEST(msg_fields_and_nul_termination),
    TEST(msg_retain_beyond_callback),
    TEST(msg_owned_outlives_connection),
    TEST(msg_release_of_borrowed_is_refused),
    TEST(msg_read_from_several_threads),
};
HARNESS_TABLE_COUNT(message);
