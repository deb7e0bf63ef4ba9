/*
 * test_headers.c - Headers: building, reading, validation, the read-only headers of a received
 * message, and the inline status of a no-responders reply.
 */
#define _GNU_SOURCE
#include "harness.h"

static snats_headers *new_headers(void) {
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    CHECK_NOT_NULL(h);
    return h;
}

static void hdr_create_destroy_null(void) {
    CHECK_STATUS(snats_headers_create(NULL), SNATS_INVALID_ARG);
    snats_headers_destroy(NULL); /* no-op */
    snats_headers *h = new_headers();
    CHECK_EQ_INT(snats_headers_key_count(h), 0);
    CHECK_EQ_INT(snats_headers_status(h), 0);
    CHECK_EQ_STR(snats_headers_description(h), "");
    snats_headers_destroy(h);
    /* The NULL conventions of the readers. */
    CHECK_EQ_INT(snats_headers_key_count(NULL), 0);
    CHECK_EQ_INT(snats_headers_value_count(NULL, "a"), 0);
    CHECK_EQ_INT(snats_headers_status(NULL), 0);
    CHECK_NULL(snats_headers_description(NULL));
}

static void hdr_set_add_get(void) {
    snats_headers *h = new_headers();
    CHECK_OK(snats_headers_set(h, "Color", "red"));
    const char *v = NULL;
    CHECK_OK(snats_headers_get(&v, h, "Color"));
    CHECK_EQ_STR(v, "red");
    CHECK_EQ_INT(snats_headers_value_count(h, "Color"), 1);

    /* add appends after existing values */
    CHECK_OK(snats_headers_add(h, "Color", "green"));
    CHECK_OK(snats_headers_add(h, "Color", "blue"));
    CHECK_EQ_INT(snats_headers_value_count(h, "Color"), 3);
    CHECK_OK(snats_headers_get(&v, h, "Color"));
    CHECK_EQ_STR(v, "red"); /* get reads the first */
    static const char *want[] = {"red", "green", "blue"};
    for (size_t i = 0; i < 3; i++) {
        CHECK_OK(snats_headers_value_at(&v, h, "Color", i));
        CHECK_EQ_STR(v, want[i]);
    }
    v = "sentinel";
    CHECK_STATUS(snats_headers_value_at(&v, h, "Color", 3), SNATS_NOT_FOUND);
    CHECK_NULL(v);

    /* set replaces every value */
    CHECK_OK(snats_headers_set(h, "Color", "black"));
    CHECK_EQ_INT(snats_headers_value_count(h, "Color"), 1);
    CHECK_OK(snats_headers_value_at(&v, h, "Color", 0));
    CHECK_EQ_STR(v, "black");

    /* add on a new key creates it; empty values are allowed */
    CHECK_OK(snats_headers_add(h, "Fresh", ""));
    CHECK_OK(snats_headers_get(&v, h, "Fresh"));
    CHECK_EQ_STR(v, "");

    /* keys are compared exactly */
    v = "sentinel";
    CHECK_STATUS(snats_headers_get(&v, h, "color"), SNATS_NOT_FOUND);
    CHECK_NULL(v);
    CHECK_EQ_INT(snats_headers_value_count(h, "color"), 0);
    CHECK_EQ_INT(snats_headers_value_count(h, "Absent"), 0);
    CHECK_STATUS(snats_headers_value_at(&v, h, "Absent", 0), SNATS_NOT_FOUND);
    snats_headers_destroy(h);
}

static void hdr_keys_in_insertion_order(void) {
    snats_headers *h = new_headers();
    CHECK_OK(snats_headers_set(h, "Zeta", "1"));
    CHECK_OK(snats_headers_set(h, "Alpha", "2"));
    CHECK_OK(snats_headers_add(h, "Mid", "3"));
    CHECK_OK(snats_headers_add(h, "Zeta", "4")); /* an existing key keeps its place */
    CHECK_EQ_INT(snats_headers_key_count(h), 3);
    static const char *want[] = {"Zeta", "Alpha", "Mid"};
    const char *k = NULL;
    for (size_t i = 0; i < 3; i++) {
        CHECK_OK(snats_headers_key_at(&k, h, i));
        CHECK_EQ_STR(k, want[i]);
    }
    k = "sentinel";
    CHECK_STATUS(snats_headers_key_at(&k, h, 3), SNATS_NOT_FOUND);
    CHECK_NULL(k);
    snats_headers_destroy(h);
}

static void hdr_delete(void) {
    snats_headers *h = new_headers();
    CHECK_OK(snats_headers_add(h, "A", "1"));
    CHECK_OK(snats_headers_add(h, "A", "2"));
    CHECK_OK(snats_headers_set(h, "B", "3"));
    CHECK_OK(snats_headers_delete(h, "A"));
    CHECK_EQ_INT(snats_headers_value_count(h, "A"), 0);
    CHECK_EQ_INT(snats_headers_key_count(h), 1);
    const char *k = NULL;
    CHECK_OK(snats_headers_key_at(&k, h, 0));
    CHECK_EQ_STR(k, "B");
    CHECK_STATUS(snats_headers_delete(h, "A"), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_headers_delete(h, "b"), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_headers_delete(h, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_delete(NULL, "B"), SNATS_INVALID_ARG);
    snats_headers_destroy(h);
}

static void hdr_null_arguments(void) {
    snats_headers *h = new_headers();
    CHECK_OK(snats_headers_set(h, "K", "v"));
    const char *v = "sentinel";
    CHECK_STATUS(snats_headers_set(NULL, "K", "v"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_set(h, NULL, "v"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_set(h, "K", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_add(NULL, "K", "v"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_add(h, NULL, "v"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_add(h, "K", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_get(&v, NULL, "K"), SNATS_INVALID_ARG);
    CHECK_NULL(v);
    CHECK_STATUS(snats_headers_get(&v, h, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_get(NULL, h, "K"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_value_at(&v, NULL, "K", 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_value_at(&v, h, NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_value_at(NULL, h, "K", 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_key_at(&v, NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_key_at(NULL, h, 0), SNATS_INVALID_ARG);
    CHECK_EQ_INT(snats_headers_value_count(h, NULL), 0);
    /* Nothing changed. */
    CHECK_EQ_INT(snats_headers_key_count(h), 1);
    CHECK_OK(snats_headers_get(&v, h, "K"));
    CHECK_EQ_STR(v, "v");
    snats_headers_destroy(h);
}

static void hdr_invalid_keys_and_values(void) {
    static const char *bad_keys[] = {"a:b", "a b", "a\tb", "a\r\nb", "a\nb", "a\x01", ":", " lead", "trail "};
    static const char *bad_values[] = {"a\rb", "a\nb", "a\r\nInjected: yes", "\n"};
    snats_headers *h = new_headers();
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        snats_status s = snats_headers_set(h, bad_keys[i], "v");
        if (s != SNATS_INVALID_ARG) FAIL("set(key #%zu) = %s", i, snats_status_text(s));
        s = snats_headers_add(h, bad_keys[i], "v");
        if (s != SNATS_INVALID_ARG) FAIL("add(key #%zu) = %s", i, snats_status_text(s));
    }
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        snats_status s = snats_headers_set(h, "K", bad_values[i]);
        if (s != SNATS_INVALID_ARG) FAIL("set(value #%zu) = %s", i, snats_status_text(s));
        s = snats_headers_add(h, "K", bad_values[i]);
        if (s != SNATS_INVALID_ARG) FAIL("add(value #%zu) = %s", i, snats_status_text(s));
    }
    CHECK_EQ_INT(snats_headers_key_count(h), 0);
    /* Values may hold spaces, colons and tabs. */
    CHECK_OK(snats_headers_set(h, "Ok-Key_1.x", "a value: with\tstuff"));
    snats_headers_destroy(h);
}

/* Headers travel: multiple values and order survive; a received message's headers are
 * read-only and belong to the message. */
static void hdr_round_trip_and_read_only(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "hdr.x"));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_headers *h = new_headers();
    CHECK_OK(snats_headers_set(h, "First", "1"));
    CHECK_OK(snats_headers_add(h, "Multi", "a"));
    CHECK_OK(snats_headers_add(h, "Multi", "b"));
    CHECK_OK(snats_headers_set(h, "Spaces", "x y: z"));
    CHECK_OK(snats_publish_msg(c, "hdr.x", NULL, h, "body", 4));
    /* The headers were copied: change ours now, the message does not change. */
    CHECK_OK(snats_headers_set(h, "First", "changed"));

    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "body");
    const snats_headers *rh = snats_msg_headers(m);
    CHECK_NOT_NULL(rh);
    CHECK(snats_msg_headers(m) == rh); /* stable */
    CHECK_EQ_INT(snats_headers_key_count(rh), 3);
    const char *v = NULL;
    CHECK_OK(snats_headers_get(&v, rh, "First"));
    CHECK_EQ_STR(v, "1");
    CHECK_EQ_INT(snats_headers_value_count(rh, "Multi"), 2);
    CHECK_OK(snats_headers_value_at(&v, rh, "Multi", 0));
    CHECK_EQ_STR(v, "a");
    CHECK_OK(snats_headers_value_at(&v, rh, "Multi", 1));
    CHECK_EQ_STR(v, "b");
    CHECK_OK(snats_headers_get(&v, rh, "Spaces"));
    CHECK_EQ_STR(v, "x y: z");
    static const char *order[] = {"First", "Multi", "Spaces"};
    for (size_t i = 0; i < 3; i++) {
        CHECK_OK(snats_headers_key_at(&v, rh, i));
        CHECK_EQ_STR(v, order[i]);
    }
    CHECK_EQ_INT(snats_headers_status(rh), 0);
    CHECK_EQ_INT(snats_msg_status_code(m), 0);

    /* Read-only. */
    snats_headers *mutable_view = (snats_headers *)rh;
    CHECK_STATUS(snats_headers_set(mutable_view, "New", "x"), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_headers_add(mutable_view, "First", "2"), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_headers_delete(mutable_view, "First"), SNATS_ILLEGAL_STATE);
    /* Destroying a message's headers is a no-op: they still work. */
    snats_headers_destroy(mutable_view);
    CHECK_OK(snats_headers_get(&v, snats_msg_headers(m), "First"));
    CHECK_EQ_STR(v, "1");
    CHECK_EQ_INT(snats_headers_key_count(rh), 3);
    snats_msg_release(m);

    /* NULL or empty headers: a plain message without a header block. */
    CHECK_OK(snats_publish_msg(c, "hdr.x", NULL, NULL, "plain", 5));
    snats_headers *empty = new_headers();
    CHECK_OK(snats_publish_msg(c, "hdr.x", "the.reply", empty, "empty", 5));
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_NULL(snats_msg_headers(m));
    snats_msg_release(m);
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_NULL(snats_msg_headers(m));
    CHECK_EQ_STR(snats_msg_reply(m), "the.reply");
    snats_msg_release(m);

    snats_headers_destroy(empty);
    snats_headers_destroy(h);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* A request to nobody with our own reply subject: the server answers 503 on it. */
static void hdr_no_responders_status(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    char inbox[64];
    CHECK_OK(snats_conn_new_inbox(inbox, sizeof inbox, c));
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, inbox));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_publish_request(c, "nobody.listens", inbox, "x", 1));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_status_code(m), 503);
    CHECK_EQ_INT(snats_msg_data_len(m), 0);
    const snats_headers *h = snats_msg_headers(m);
    CHECK_NOT_NULL(h);
    CHECK_EQ_INT(snats_headers_status(h), 503);
    /* nats-server 2.9 sends a bare "NATS/1.0 503"; later ones may add "No Responders". */
    const char *d = snats_headers_description(h);
    CHECK_NOT_NULL(d);
    if (strcmp(d, "") != 0 && strcmp(d, "No Responders") != 0) FAIL("description \"%s\"", d);
    snats_msg_release(m);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* A status line with a description, and a header after it (from a fake server). */
static void hdr_status_line_with_description(void) {
    fake_server f;
    fake_server_start(&f, FAKE_STATUS_ON_SUB);
    snats_conn *c = connect_or_fail(f.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "status.x"));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_STR(snats_msg_subject(m), "status.x");
    CHECK_EQ_INT(snats_msg_status_code(m), 408);
    CHECK_EQ_INT(snats_msg_data_len(m), 0);
    const snats_headers *h = snats_msg_headers(m);
    CHECK_NOT_NULL(h);
    CHECK_EQ_INT(snats_headers_status(h), 408);
    CHECK_EQ_STR(snats_headers_description(h), "Request Timeout");
    const char *v = NULL;
    CHECK_OK(snats_headers_get(&v, h, "X-Extra"));
    CHECK_EQ_STR(v, "1");
    CHECK_EQ_INT(snats_headers_key_count(h), 1);
    snats_msg_release(m);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    fake_server_stop(&f);
}

/* A raw block, as batch records carry it, parsed as the library parses received headers. */
static void hdr_parse_a_raw_block(void) {
    static const char block[] = "NATS/1.0 408 Request Timeout\r\nMulti: one\r\nOther:  two \t\r\n"
                                "no colon here\r\n: empty key\r\nMulti:three\r\n\r\n";
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_parse(&h, block, sizeof block - 1));
    CHECK_EQ_INT(snats_headers_status(h), 408);
    CHECK_EQ_STR(snats_headers_description(h), "Request Timeout");
    CHECK_EQ_INT((long long)snats_headers_key_count(h), 2);
    const char *value = NULL;
    CHECK_OK(snats_headers_key_at(&value, h, 0));
    CHECK_EQ_STR(value, "Multi");
    CHECK_EQ_INT((long long)snats_headers_value_count(h, "Multi"), 2);
    CHECK_OK(snats_headers_value_at(&value, h, "Multi", 1));
    CHECK_EQ_STR(value, "three");
    CHECK_OK(snats_headers_get(&value, h, "Other"));
    CHECK_EQ_STR(value, "two");
    CHECK_OK(snats_headers_add(h, "Added", "yes")); /* the caller's own copy: changeable */
    snats_headers_destroy(h);

    static const char plain[] = "NATS/1.0\r\n\r\n";
    CHECK_OK(snats_headers_parse(&h, plain, sizeof plain - 1));
    CHECK_EQ_INT(snats_headers_status(h), 0);
    CHECK_EQ_INT((long long)snats_headers_key_count(h), 0);
    snats_headers_destroy(h);

    h = (snats_headers *)1;
    CHECK_STATUS(snats_headers_parse(&h, "HTTP/1.1 200\r\n\r\n", 16), SNATS_PROTOCOL_ERROR);
    CHECK_NULL(h);
    CHECK_STATUS(snats_headers_parse(&h, "", 0), SNATS_PROTOCOL_ERROR);
    CHECK_STATUS(snats_headers_parse(NULL, plain, sizeof plain - 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_headers_parse(&h, NULL, 4), SNATS_INVALID_ARG);
    CHECK_NULL(h);
}

const test_case headers_tests[] = {
    TEST(hdr_parse_a_raw_block),
    TEST(hdr_create_destroy_null),
    TEST(hdr_set_add_get),
    TEST(hdr_keys_in_insertion_order),
    TEST(hdr_delete),
    TEST(hdr_null_arguments),
    TEST(hdr_invalid_keys_and_values),
    TEST(hdr_round_trip_and_read_only),
    TEST(hdr_no_responders_status),
    TEST(hdr_status_line_with_description),
};
HARNESS_TABLE_COUNT(headers);
