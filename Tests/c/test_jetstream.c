/*
 * test_jetstream.c - JetStream through the header: contexts and their options, account info,
 * streams (add, update, info, list, names, purge, get, direct get, delete), consumers (durable,
 * ephemeral, push), management calls by name (blocking and not), publishing with acks and
 * expectations (blocking and asynchronous, with a window), fetching (batch, expiry, no_wait,
 * max_bytes, heartbeats, asynchronous), acknowledgements of every kind, metadata, and the
 * statuses and API error codes of each failure. Every server is started with -js and a store
 * directory inside the test's scratch directory.
 */
#define _GNU_SOURCE
#include "js_common.h"

#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------------------------------------------------
 * Helpers (the shared ones are in js_common.h)
 * ---------------------------------------------------------------------------------------- */

/* A header of a message, or NULL. */
static const char *hdr(const snats_msg *m, const char *key) {
    const snats_headers *h = snats_msg_headers(m);
    const char *value = NULL;
    if (h == NULL || snats_headers_get(&value, h, key) != SNATS_OK) return NULL;
    return value;
}

/* Publishes text and returns its sequence. */
static uint64_t pub(snats_jetstream *js, const char *subject, const char *text) {
    snats_js_pub_ack *ack = NULL;
    CHECK_OK(snats_js_publish(&ack, js, subject, NULL, text, strlen(text), NULL));
    CHECK_NOT_NULL(ack);
    uint64_t seq = snats_js_pub_ack_seq(ack);
    CHECK(seq > 0);
    snats_js_pub_ack_destroy(ack);
    return seq;
}

static void release_all(snats_msg **msgs, int count) {
    for (int i = 0; i < count; i++) CHECK_OK(snats_msg_release(msgs[i]));
}

/* Fetches and returns the status; *count gets the number of messages. */
static snats_status fetch(snats_msg **msgs, int batch, int *count, jsfix *f, const char *stream, const char *consumer,
                          int64_t expires_ms, const char *options_json) {
    json_t *opts = options_json ? J("%s", options_json) : NULL;
    snats_status s = snats_js_fetch(msgs, batch, count, f->js, stream, consumer, expires_ms, opts);
    json_decref(opts);
    return s;
}

/* ------------------------------------------------------------------------------------------
 * Contexts
 * ---------------------------------------------------------------------------------------- */

static void jetstream_context_options(void) {
    test_server srv;
    js_server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_jetstream *js = (snats_jetstream *)0x1;

    /* NULL arguments. */
    CHECK_STATUS(snats_jetstream_create(NULL, c, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_jetstream_create(&js, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(js);
    snats_jetstream_destroy(NULL); /* a no-op */

    /* Accepted options. */
    static const char *good[] = {
        "{}",
        "{\"timeout_ms\": 1500}",
        "{\"domain\": \"hub\"}",
        "{\"api_prefix\": \"hub.js\"}",
        "{\"api_prefix\": \"hub.js.\"}",
        "{\"max_pending_publishes\": 3, \"timeout_ms\": 100}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_t *o = J("%s", good[i]);
        js = NULL;
        snats_status s = snats_jetstream_create(&js, c, o);
        if (s != SNATS_OK) FAIL("options %s refused: %s (%s)", good[i], snats_status_text(s), snats_last_error());
        CHECK_NOT_NULL(js);
        snats_jetstream_destroy(js);
        json_decref(o);
    }

    /* Refused options: an unknown member, wrong types, bad values, both domain and prefix. */
    static const char *bad[] = {
        "{\"bogus\": 1}",
        "{\"timeout\": 1000}",
        "{\"timeout_ms\": \"1000\"}",
        "{\"timeout_ms\": 0}",
        "{\"timeout_ms\": -5}",
        "{\"timeout_ms\": 1.5}",
        "{\"max_pending_publishes\": 0}",
        "{\"domain\": 7}",
        "{\"domain\": \"a.b\"}",
        "{\"domain\": \"\"}",
        "{\"domain\": \"a b\"}",
        "{\"domain\": \"*\"}",
        "{\"api_prefix\": \"bad prefix\"}",
        "{\"api_prefix\": \"a.>\"}",
        "{\"domain\": \"hub\", \"api_prefix\": \"hub.js\"}",
        "[]",
        "\"text\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = J("%s", bad[i]);
        js = (snats_jetstream *)0x1;
        snats_status s = snats_jetstream_create(&js, c, o);
        if (s != SNATS_INVALID_ARG)
            FAIL("options %s gave %s, expected SNATS_INVALID_ARG", bad[i], snats_status_text(s));
        CHECK_NULL(js);
        CHECK(strlen(snats_last_error()) > 0);
        /* Not an API error: no codes. */
        CHECK_API_ERROR(0, 0);
        json_decref(o);
    }

    /* The default context and an api_prefix naming the same API both reach it. */
    json_t *info = NULL;
    CHECK_OK(snats_jetstream_create(&js, c, NULL));
    CHECK_OK(snats_js_account_info(&info, js));
    json_decref(info);
    snats_jetstream_destroy(js);
    json_t *o = J("{\"api_prefix\": \"$JS.API\"}");
    CHECK_OK(snats_jetstream_create(&js, c, o));
    json_decref(o);
    CHECK_OK(snats_js_account_info(&info, js));
    CHECK(json_is_object(info));
    json_decref(info);
    snats_jetstream_destroy(js);

    /* A domain or prefix that nobody serves: no responders, JetStream not enabled. */
    o = J("{\"domain\": \"nowhere\"}");
    CHECK_OK(snats_jetstream_create(&js, c, o));
    json_decref(o);
    info = (json_t *)0x1;
    CHECK_STATUS(snats_js_account_info(&info, js), SNATS_JS_NOT_ENABLED);
    CHECK_NULL(info);
    snats_jetstream_destroy(js);

    /* timeout_ms bounds the API calls: a prefix whose "API" is a silent subscriber. */
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, c, "silent.api.>"));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    o = J("{\"api_prefix\": \"silent.api\", \"timeout_ms\": %lld}", (long long)harness_ms(300));
    CHECK_OK(snats_jetstream_create(&js, c, o));
    json_decref(o);
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_js_account_info(&info, js), SNATS_TIMEOUT);
    int64_t el = harness_now_ms() - t0;
    if (el < harness_ms(250) || el > harness_ms(3000)) FAIL("a 300 ms API timeout took %lld ms", (long long)el);
    /* The request went to <prefix>.INFO. */
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, silent, harness_ms(2000)));
    CHECK_EQ_STR(snats_msg_subject(m), "silent.api.INFO");
    snats_msg_release(m);
    snats_jetstream_destroy(js);
    snats_sub_destroy(silent);

    /* Any number of contexts share a connection. */
    snats_jetstream *a = NULL, *b = NULL;
    CHECK_OK(snats_jetstream_create(&a, c, NULL));
    CHECK_OK(snats_jetstream_create(&b, c, NULL));
    stream_add(a, "{\"name\": \"SHARED\", \"subjects\": [\"shared.>\"], \"storage\": \"memory\"}");
    CHECK_EQ_INT(stream_messages(b, "SHARED"), 0);
    pub(b, "shared.x", "1");
    CHECK_EQ_INT(stream_messages(a, "SHARED"), 1);
    snats_jetstream_destroy(a);
    snats_jetstream_destroy(b);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* The header: snats_jetstream_create "@retval SNATS_CONNECTION_CLOSED @p conn is closed". */
static void jetstream_create_on_closed_connection(void) {
    test_server srv;
    js_server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_conn_close(c);
    CHECK(snats_conn_is_closed(c));
    snats_jetstream *js = (snats_jetstream *)0x1;
    snats_status s = snats_jetstream_create(&js, c, NULL);
    if (s != SNATS_CONNECTION_CLOSED) {
        if (s == SNATS_OK) snats_jetstream_destroy(js);
        FAIL("snats_jetstream_create on a closed connection gave %s", snats_status_text(s));
    }
    CHECK_NULL(js);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* A server whose JetStream has a domain: the domain's API, acks and metadata name it. */
static void jetstream_domain(void) {
    char store[600];
    make_store(store, sizeof store);
    char config[1024];
    snprintf(config, sizeof config, "jetstream {\n  store_dir: \"%s\"\n  domain: hub\n}\n", store);
    test_server srv;
    server_start_config(&srv, config);
    snats_conn *c = connect_or_fail(srv.url);

    snats_jetstream *js = NULL;
    json_t *o = J("{\"domain\": \"hub\"}");
    CHECK_OK(snats_jetstream_create(&js, c, o));
    json_decref(o);
    json_t *info = NULL;
    CHECK_OK(snats_js_account_info(&info, js));
    json_decref(info);
    stream_add(js, "{\"name\": \"DOM\", \"subjects\": [\"dom.>\"], \"storage\": \"memory\"}");
    snats_js_pub_ack *ack = NULL;
    CHECK_OK(snats_js_publish(&ack, js, "dom.a", NULL, "x", 1, NULL));
    CHECK_EQ_STR(snats_js_pub_ack_domain(ack), "hub");
    CHECK_EQ_STR(snats_js_pub_ack_stream(ack), "DOM");
    CHECK_EQ_INT(snats_js_pub_ack_seq(ack), 1);
    snats_js_pub_ack_destroy(ack);

    /* The same API through an explicit prefix. */
    snats_jetstream *byprefix = NULL;
    o = J("{\"api_prefix\": \"$JS.hub.API\"}");
    CHECK_OK(snats_jetstream_create(&byprefix, c, o));
    json_decref(o);
    CHECK_EQ_INT(stream_messages(byprefix, "DOM"), 1);
    snats_jetstream_destroy(byprefix);

    /* Another domain: nobody answers. */
    snats_jetstream *other = NULL;
    o = J("{\"domain\": \"elsewhere\"}");
    CHECK_OK(snats_jetstream_create(&other, c, o));
    json_decref(o);
    CHECK_STATUS(snats_js_stream_info(&info, other, "DOM", NULL), SNATS_JS_NOT_ENABLED);
    CHECK_NULL(info);
    snats_jetstream_destroy(other);

    /* The metadata of a consumer's message carries the domain. */
    consumer_add(js, "DOM", "{\"durable_name\": \"d\", \"ack_policy\": \"explicit\"}");
    snats_msg *msgs[1];
    int count = 0;
    CHECK_OK(snats_js_fetch(msgs, 1, &count, js, "DOM", "d", harness_ms(3000), NULL));
    CHECK_EQ_INT(count, 1);
    json_t *meta = NULL;
    CHECK_OK(snats_js_msg_metadata(&meta, msgs[0]));
    /* The domain is in the reply only in its 12-token form (the servers here send the older
     * 9-token one, without it). */
    int dots = 0;
    for (const char *p = snats_msg_reply(msgs[0]); *p; p++) dots += *p == '.';
    if (dots >= 10) CHECK_EQ_STR(JSTR(meta, "domain"), "hub");
    else CHECK(json_is_null(json_object_get(meta, "domain")));
    CHECK_EQ_STR(JSTR(meta, "stream"), "DOM");
    json_decref(meta);
    CHECK_OK(snats_js_msg_ack_sync(msgs[0], harness_ms(3000)));
    release_all(msgs, count);

    snats_jetstream_destroy(js);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void jetstream_account_info(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    json_t *info = NULL;
    CHECK_OK(snats_js_account_info(&info, f.js));
    CHECK(json_is_object(info));
    CHECK_EQ_INT(JINT(info, "streams"), 0);
    CHECK_EQ_INT(JINT(info, "consumers"), 0);
    (void)JINT(info, "memory");
    (void)JINT(info, "storage");
    CHECK(json_is_object(jat(info, "limits")));
    json_decref(info);

    stream_add(f.js, "{\"name\": \"ACC\", \"subjects\": [\"acc.>\"], \"storage\": \"memory\"}");
    consumer_add(f.js, "ACC", "{\"durable_name\": \"c1\", \"ack_policy\": \"explicit\"}");
    pub(f.js, "acc.1", "0123456789");
    CHECK_OK(snats_js_account_info(&info, f.js));
    CHECK_EQ_INT(JINT(info, "streams"), 1);
    CHECK_EQ_INT(JINT(info, "consumers"), 1);
    CHECK(JINT(info, "memory") > 0);
    json_decref(info);

    CHECK_STATUS(snats_js_account_info(NULL, f.js), SNATS_INVALID_ARG);
    info = (json_t *)0x1;
    CHECK_STATUS(snats_js_account_info(&info, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(info);
    jsfix_down(&f);
}

/* A server without JetStream: nobody answers the API. */
static void jetstream_not_enabled(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_jetstream *js = NULL;
    CHECK_OK(snats_jetstream_create(&js, c, NULL)); /* nothing is sent */

    json_t *info = (json_t *)0x1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_js_account_info(&info, js), SNATS_JS_NOT_ENABLED);
    if (harness_now_ms() - t0 > harness_ms(2000)) FAIL("no responders should not wait for the timeout");
    CHECK_NULL(info);
    CHECK(strlen(snats_last_error()) > 0);
    json_t *config = J("{\"name\": \"X\", \"subjects\": [\"x.>\"]}");
    CHECK_STATUS(snats_js_stream_add(&info, js, config), SNATS_JS_NOT_ENABLED);
    CHECK_NULL(info);
    json_decref(config);
    CHECK_STATUS(snats_js_stream_info(&info, js, "X", NULL), SNATS_JS_NOT_ENABLED);
    CHECK_STATUS(snats_js_stream_names(&info, js, NULL), SNATS_JS_NOT_ENABLED);
    CHECK_STATUS(snats_js_stream_delete(js, "X"), SNATS_JS_NOT_ENABLED);
    CHECK_STATUS(snats_js_consumer_info(&info, js, "X", "c"), SNATS_JS_NOT_ENABLED);
    CHECK_STATUS(snats_js_call(&info, js, "account_info", NULL), SNATS_JS_NOT_ENABLED);
    CHECK_NULL(info);
    snats_msg *m = NULL;
    CHECK_STATUS(snats_js_stream_get_msg(&m, js, "X", 1, NULL), SNATS_JS_NOT_ENABLED);
    CHECK_STATUS(snats_js_stream_direct_get(&m, js, "X", 1, NULL), SNATS_JS_NOT_ENABLED);
    CHECK_NULL(m);
    /* A publish finds no stream. */
    snats_js_pub_ack *ack = (snats_js_pub_ack *)0x1;
    CHECK_STATUS(snats_js_publish(&ack, js, "x.1", NULL, "d", 1, NULL), SNATS_NO_RESPONDERS);
    CHECK_NULL(ack);
    snats_jetstream_destroy(js);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Streams
 * ---------------------------------------------------------------------------------------- */

static void jetstream_stream_add_update_info(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    json_t *config = J("{\"name\": \"ORDERS\", \"subjects\": [\"orders.>\"], \"storage\": \"memory\", "
                       "\"max_age\": 3600000000000}");
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_add(&info, f.js, config));
    CHECK_EQ_STR(JSTR(info, "config.name"), "ORDERS");
    CHECK_EQ_STR(JSTR(info, "config.storage"), "memory");
    CHECK_EQ_INT(JINT(info, "config.max_age"), 3600000000000LL);
    CHECK_EQ_INT(JINT(info, "state.messages"), 0);
    CHECK(jat(info, "created") != NULL);
    json_decref(info);
    /* Again with the same configuration: accepted. NULL info is allowed. */
    CHECK_OK(snats_js_stream_add(NULL, f.js, config));
    json_decref(config);

    /* The same name with another configuration: 10058. */
    config = J("{\"name\": \"ORDERS\", \"subjects\": [\"other.>\"], \"storage\": \"memory\"}");
    info = (json_t *)0x1;
    CHECK_STATUS(snats_js_stream_add(&info, f.js, config), SNATS_JS_API_ERROR);
    CHECK_NULL(info);
    CHECK_API_ERROR(400, 10058);
    CHECK(strlen(snats_last_error()) > 0);
    json_decref(config);

    /* Subjects overlapping another stream's: 10065. */
    config = J("{\"name\": \"OVERLAP\", \"subjects\": [\"orders.new\"], \"storage\": \"memory\"}");
    CHECK_STATUS(snats_js_stream_add(NULL, f.js, config), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10065);
    json_decref(config);

    /* Update: the new configuration is in force. */
    config = J("{\"name\": \"ORDERS\", \"subjects\": [\"orders.>\"], \"storage\": \"memory\", "
               "\"max_age\": 3600000000000, \"max_msgs\": 100, \"description\": \"updated\"}");
    CHECK_OK(snats_js_stream_update(&info, f.js, config));
    CHECK_EQ_INT(JINT(info, "config.max_msgs"), 100);
    CHECK_EQ_STR(JSTR(info, "config.description"), "updated");
    json_decref(info);
    json_decref(config);
    CHECK_OK(snats_js_stream_info(&info, f.js, "ORDERS", NULL));
    CHECK_EQ_INT(JINT(info, "config.max_msgs"), 100);
    json_decref(info);

    /* Update of a missing stream: 404/10059. */
    config = J("{\"name\": \"MISSING\", \"subjects\": [\"missing.>\"], \"storage\": \"memory\"}");
    info = (json_t *)0x1;
    CHECK_STATUS(snats_js_stream_update(&info, f.js, config), SNATS_NOT_FOUND);
    CHECK_NULL(info);
    CHECK_API_ERROR(404, 10059);
    json_decref(config);

    /* Info of a missing stream: 404/10059. */
    info = (json_t *)0x1;
    CHECK_STATUS(snats_js_stream_info(&info, f.js, "MISSING", NULL), SNATS_NOT_FOUND);
    CHECK_NULL(info);
    CHECK_API_ERROR(404, 10059);

    /* subjects_filter: the count per subject; deleted_details: the deleted sequences. */
    for (int i = 0; i < 3; i++) pub(f.js, "orders.new", "n");
    for (int i = 0; i < 2; i++) pub(f.js, "orders.old", "o");
    pub(f.js, "orders.eu.new", "e");
    json_t *opts = J("{\"subjects_filter\": \"orders.*\"}");
    CHECK_OK(snats_js_stream_info(&info, f.js, "ORDERS", opts));
    json_decref(opts);
    CHECK_EQ_INT(JINT(info, "state.messages"), 6);
    {
        const json_t *subjects = jat(info, "state.subjects");
        CHECK(json_is_object(subjects));
        CHECK_EQ_INT(json_object_size(subjects), 2); /* orders.eu.new does not match orders.* */
        CHECK_EQ_INT(json_integer_value(json_object_get(subjects, "orders.new")), 3);
        CHECK_EQ_INT(json_integer_value(json_object_get(subjects, "orders.old")), 2);
    }
    json_decref(info);
    /* Without the filter there is no per-subject count. */
    CHECK_OK(snats_js_stream_info(&info, f.js, "ORDERS", NULL));
    CHECK(json_object_get(json_object_get(info, "state"), "subjects") == NULL ||
          json_object_size(json_object_get(json_object_get(info, "state"), "subjects")) == 0);
    CHECK_EQ_INT(JINT(info, "state.first_seq"), 1);
    CHECK_EQ_INT(JINT(info, "state.last_seq"), 6);
    json_decref(info);
    CHECK_OK(snats_js_stream_delete_msg(f.js, "ORDERS", 2, false));
    opts = J("{\"deleted_details\": true}");
    CHECK_OK(snats_js_stream_info(&info, f.js, "ORDERS", opts));
    json_decref(opts);
    {
        const json_t *deleted = jat(info, "state.deleted");
        CHECK(json_is_array(deleted));
        CHECK_EQ_INT(json_array_size(deleted), 1);
        CHECK_EQ_INT(json_integer_value(json_array_get(deleted, 0)), 2);
    }
    json_decref(info);

    /* Bad arguments: names, documents, options. */
    static const char *bad_names[] = {"a.b", "a b", "a*", "a>", ""};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        info = (json_t *)0x1;
        snats_status s = snats_js_stream_info(&info, f.js, bad_names[i], NULL);
        if (s != SNATS_INVALID_ARG) FAIL("stream name \"%s\": %s", bad_names[i], snats_status_text(s));
        CHECK_NULL(info);
    }
    config = J("{\"subjects\": [\"noname.>\"]}");
    CHECK_STATUS(snats_js_stream_add(NULL, f.js, config), SNATS_INVALID_ARG);
    json_decref(config);
    config = J("{\"name\": \"a.b\"}");
    CHECK_STATUS(snats_js_stream_add(NULL, f.js, config), SNATS_INVALID_ARG);
    json_decref(config);
    config = J("[1, 2]");
    CHECK_STATUS(snats_js_stream_add(NULL, f.js, config), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_update(NULL, f.js, config), SNATS_INVALID_ARG);
    json_decref(config);
    CHECK_STATUS(snats_js_stream_add(NULL, f.js, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_add(NULL, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_info(NULL, f.js, "ORDERS", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_info(&info, f.js, NULL, NULL), SNATS_INVALID_ARG);
    opts = J("{\"subject_filter\": \"typo\"}");
    CHECK_STATUS(snats_js_stream_info(&info, f.js, "ORDERS", opts), SNATS_INVALID_ARG);
    json_decref(opts);
    opts = J("{\"deleted_details\": 1}");
    CHECK_STATUS(snats_js_stream_info(&info, f.js, "ORDERS", opts), SNATS_INVALID_ARG);
    json_decref(opts);
    jsfix_down(&f);
}

static void jetstream_stream_list_names_delete(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    json_t *list = NULL;
    /* None yet: empty arrays. */
    CHECK_OK(snats_js_stream_list(&list, f.js, NULL));
    CHECK(json_is_array(list));
    CHECK_EQ_INT(json_array_size(list), 0);
    json_decref(list);
    CHECK_OK(snats_js_stream_names(&list, f.js, NULL));
    CHECK(json_is_array(list));
    CHECK_EQ_INT(json_array_size(list), 0);
    json_decref(list);

    stream_add(f.js, "{\"name\": \"ALPHA\", \"subjects\": [\"alpha.>\"], \"storage\": \"memory\"}");
    stream_add(f.js, "{\"name\": \"BETA\", \"subjects\": [\"beta.*\"], \"storage\": \"memory\"}");
    stream_add(f.js, "{\"name\": \"GAMMA\", \"subjects\": [\"gamma\"], \"storage\": \"memory\"}");

    CHECK_OK(snats_js_stream_names(&list, f.js, NULL));
    CHECK_EQ_INT(json_array_size(list), 3);
    CHECK(jarray_has(list, "ALPHA") && jarray_has(list, "BETA") && jarray_has(list, "GAMMA"));
    json_decref(list);
    CHECK_OK(snats_js_stream_names(&list, f.js, "beta.x"));
    CHECK_EQ_INT(json_array_size(list), 1);
    CHECK(jarray_has(list, "BETA"));
    json_decref(list);
    CHECK_OK(snats_js_stream_names(&list, f.js, "nothing.here"));
    CHECK_EQ_INT(json_array_size(list), 0);
    json_decref(list);

    CHECK_OK(snats_js_stream_list(&list, f.js, NULL));
    CHECK_EQ_INT(json_array_size(list), 3);
    {
        int seen = 0;
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) {
            const char *name = JSTR(item, "config.name");
            if (strcmp(name, "ALPHA") == 0 || strcmp(name, "BETA") == 0 || strcmp(name, "GAMMA") == 0) seen++;
            (void)JINT(item, "state.messages");
        }
        CHECK_EQ_INT(seen, 3);
    }
    json_decref(list);
    CHECK_OK(snats_js_stream_list(&list, f.js, "alpha.one.two"));
    CHECK_EQ_INT(json_array_size(list), 1);
    CHECK_EQ_STR(JSTR(json_array_get(list, 0), "config.name"), "ALPHA");
    json_decref(list);

    /* Delete: gone from the names; a second delete is 404/10059. */
    pub(f.js, "beta.x", "1");
    CHECK_OK(snats_js_stream_delete(f.js, "BETA"));
    CHECK_STATUS(snats_js_stream_delete(f.js, "BETA"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    json_t *info = NULL;
    CHECK_STATUS(snats_js_stream_info(&info, f.js, "BETA", NULL), SNATS_NOT_FOUND);
    CHECK_OK(snats_js_stream_names(&list, f.js, NULL));
    CHECK_EQ_INT(json_array_size(list), 2);
    CHECK(!jarray_has(list, "BETA"));
    json_decref(list);
    /* Its subjects are free again: a publish there finds no stream. */
    CHECK_STATUS(snats_js_publish(NULL, f.js, "beta.x", NULL, "1", 1, NULL), SNATS_NO_RESPONDERS);

    CHECK_STATUS(snats_js_stream_delete(f.js, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_delete(f.js, "a.b"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_delete(NULL, "ALPHA"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_names(NULL, f.js, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_list(NULL, f.js, NULL), SNATS_INVALID_ARG);
    jsfix_down(&f);
}

/* More than one page of STREAM.NAMES / STREAM.LIST (the server pages by 1024 names, 256 infos). */
static void jetstream_stream_list_pages(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    enum { N = 260 };
    for (int i = 0; i < N; i++)
        stream_add(f.js, "{\"name\": \"S%03d\", \"subjects\": [\"pages.%d\"], \"storage\": \"memory\"}", i, i);
    json_t *list = NULL;
    CHECK_OK(snats_js_stream_list(&list, f.js, NULL));
    CHECK_EQ_INT(json_array_size(list), N);
    json_decref(list);
    CHECK_OK(snats_js_stream_names(&list, f.js, NULL));
    CHECK_EQ_INT(json_array_size(list), N);
    CHECK(jarray_has(list, "S000") && jarray_has(list, "S259"));
    json_decref(list);
    jsfix_down(&f);
}

static void jetstream_stream_purge(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"P\", \"subjects\": [\"p.>\"], \"storage\": \"memory\"}");
    for (int i = 0; i < 4; i++) pub(f.js, "p.a", "a"); /* 1..4 */
    for (int i = 0; i < 3; i++) pub(f.js, "p.b", "b"); /* 5..7 */

    /* filter + keep: p.a keeps its last message (4). */
    uint64_t purged = 99;
    json_t *opts = J("{\"filter\": \"p.a\", \"keep\": 1}");
    CHECK_OK(snats_js_stream_purge(&purged, f.js, "P", opts));
    json_decref(opts);
    CHECK_EQ_INT(purged, 3);
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_info(&info, f.js, "P", NULL));
    CHECK_EQ_INT(JINT(info, "state.messages"), 4);
    CHECK_EQ_INT(JINT(info, "state.first_seq"), 4);
    json_decref(info);

    /* seq: those below 6 (4 and 5). */
    opts = J("{\"seq\": 6}");
    CHECK_OK(snats_js_stream_purge(&purged, f.js, "P", opts));
    json_decref(opts);
    CHECK_EQ_INT(purged, 2);
    CHECK_OK(snats_js_stream_info(&info, f.js, "P", NULL));
    CHECK_EQ_INT(JINT(info, "state.messages"), 2);
    CHECK_EQ_INT(JINT(info, "state.first_seq"), 6);
    json_decref(info);

    /* keep alone: all but the last one (7 stays). */
    opts = J("{\"keep\": 1}");
    CHECK_OK(snats_js_stream_purge(&purged, f.js, "P", opts));
    json_decref(opts);
    CHECK_EQ_INT(purged, 1);
    CHECK_EQ_INT(stream_messages(f.js, "P"), 1);

    /* A filter with a wildcard. */
    pub(f.js, "p.c.1", "c"); /* 8 */
    pub(f.js, "p.c.2", "c"); /* 9 */
    opts = J("{\"filter\": \"p.c.*\"}");
    CHECK_OK(snats_js_stream_purge(&purged, f.js, "P", opts));
    json_decref(opts);
    CHECK_EQ_INT(purged, 2);
    CHECK_EQ_INT(stream_messages(f.js, "P"), 1);

    /* NULL options: everything; purged may be NULL. */
    pub(f.js, "p.a", "a"); /* 10 */
    CHECK_OK(snats_js_stream_purge(&purged, f.js, "P", NULL));
    CHECK_EQ_INT(purged, 2);
    CHECK_EQ_INT(stream_messages(f.js, "P"), 0);
    pub(f.js, "p.a", "a");
    CHECK_OK(snats_js_stream_purge(NULL, f.js, "P", NULL));
    CHECK_EQ_INT(stream_messages(f.js, "P"), 0);
    /* The sequence goes on after a purge. */
    CHECK_EQ_INT(pub(f.js, "p.a", "a"), 12); /* 11 was purged above */

    /* Failures set purged to 0. */
    purged = 99;
    CHECK_STATUS(snats_js_stream_purge(&purged, f.js, "NOPE", NULL), SNATS_NOT_FOUND);
    CHECK_EQ_INT(purged, 0);
    CHECK_API_ERROR(404, 10059);
    opts = J("{\"seq\": 3, \"keep\": 1}");
    purged = 99;
    CHECK_STATUS(snats_js_stream_purge(&purged, f.js, "P", opts), SNATS_INVALID_ARG);
    CHECK_EQ_INT(purged, 0);
    json_decref(opts);
    opts = J("{\"filter\": \"p.a\", \"bogus\": true}");
    CHECK_STATUS(snats_js_stream_purge(&purged, f.js, "P", opts), SNATS_INVALID_ARG);
    json_decref(opts);
    opts = J("{\"keep\": -1}");
    CHECK_STATUS(snats_js_stream_purge(&purged, f.js, "P", opts), SNATS_INVALID_ARG);
    json_decref(opts);
    CHECK_STATUS(snats_js_stream_purge(&purged, f.js, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_EQ_INT(stream_messages(f.js, "P"), 1);
    jsfix_down(&f);
}

/* Checks a got message: subject, data and the stored-message headers. */
static void check_stored(snats_msg *m, const char *stream, const char *subject, uint64_t seq, const char *data) {
    CHECK_NOT_NULL(m);
    CHECK_EQ_STR(snats_msg_subject(m), subject);
    CHECK_EQ_STR((const char *)snats_msg_data(m), data);
    CHECK_EQ_INT(snats_msg_data_len(m), strlen(data));
    CHECK_NULL(snats_msg_reply(m));
    CHECK_EQ_STR(hdr(m, "Nats-Stream"), stream);
    CHECK_EQ_STR(hdr(m, "Nats-Subject"), subject);
    char want[32];
    snprintf(want, sizeof want, "%llu", (unsigned long long)seq);
    CHECK_EQ_STR(hdr(m, "Nats-Sequence"), want);
    const char *ts = hdr(m, "Nats-Time-Stamp");
    CHECK_NOT_NULL(ts);
    /* RFC 3339: "2024-05-01T12:34:56.789Z" */
    CHECK(strlen(ts) >= 20 && ts[4] == '-' && ts[10] == 'T');
}

typedef snats_status (*get_fn)(snats_msg **, snats_jetstream *, const char *, uint64_t, const char *);

/* The same selections through STREAM.MSG.GET and DIRECT.GET. */
static void check_gets(jsfix *f, const char *stream, const char *prefix, get_fn get) {
    char a[64], b[64], wild[64];
    snprintf(a, sizeof a, "%s.a", prefix);
    snprintf(b, sizeof b, "%s.b", prefix);
    snprintf(wild, sizeof wild, "%s.*", prefix);
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    CHECK_OK(snats_headers_set(h, "X-Kind", "first"));
    CHECK_OK(snats_js_publish(NULL, f->js, a, h, "one", 3, NULL)); /* 1 */
    snats_headers_destroy(h);
    pub(f->js, b, "two");                                          /* 2 */
    pub(f->js, a, "three");                                        /* 3 */
    pub(f->js, b, "four");                                         /* 4 */

    snats_msg *m = NULL;
    /* By sequence, with the headers it was published with. */
    CHECK_OK(get(&m, f->js, stream, 1, NULL));
    check_stored(m, stream, a, 1, "one");
    CHECK_EQ_STR(hdr(m, "X-Kind"), "first");
    /* Not a consumer's message: no metadata, no acknowledgement. */
    json_t *meta = (json_t *)0x1;
    CHECK_STATUS(snats_js_msg_metadata(&meta, m), SNATS_INVALID_ARG);
    CHECK_NULL(meta);
    CHECK_STATUS(snats_js_msg_ack(m), SNATS_ILLEGAL_STATE);
    snats_msg_release(m);
    /* The last on a subject, and with a wildcard. */
    CHECK_OK(get(&m, f->js, stream, 0, a));
    check_stored(m, stream, a, 3, "three");
    CHECK_NULL(hdr(m, "X-Kind"));
    snats_msg_release(m);
    CHECK_OK(get(&m, f->js, stream, 0, wild));
    check_stored(m, stream, b, 4, "four");
    snats_msg_release(m);
    /* The first on a subject at or after a sequence. */
    CHECK_OK(get(&m, f->js, stream, 1, b));
    check_stored(m, stream, b, 2, "two");
    snats_msg_release(m);
    CHECK_OK(get(&m, f->js, stream, 2, a));
    check_stored(m, stream, a, 3, "three");
    snats_msg_release(m);
    CHECK_OK(get(&m, f->js, stream, 3, a));
    check_stored(m, stream, a, 3, "three");
    snats_msg_release(m);

    /* Missing messages: 404/10037. */
    m = (snats_msg *)0x1;
    CHECK_STATUS(get(&m, f->js, stream, 99, NULL), SNATS_NOT_FOUND);
    CHECK_NULL(m);
    CHECK_API_ERROR(404, 10037);
    CHECK_STATUS(get(&m, f->js, stream, 0, "nosuch.subject"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10037);
    CHECK_STATUS(get(&m, f->js, stream, 4, a), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10037);

    /* Bad arguments. */
    m = (snats_msg *)0x1;
    CHECK_STATUS(get(&m, f->js, stream, 0, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(m);
    CHECK_STATUS(get(NULL, f->js, stream, 1, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(get(&m, f->js, NULL, 1, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(get(&m, NULL, stream, 1, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(get(&m, f->js, "a.b", 1, NULL), SNATS_INVALID_ARG);
}

static void jetstream_stream_get_msg(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"G\", \"subjects\": [\"g.>\"], \"storage\": \"memory\"}");
    check_gets(&f, "G", "g", snats_js_stream_get_msg);
    /* A missing stream: 404/10059. */
    snats_msg *m = (snats_msg *)0x1;
    CHECK_STATUS(snats_js_stream_get_msg(&m, f.js, "NOPE", 1, NULL), SNATS_NOT_FOUND);
    CHECK_NULL(m);
    CHECK_API_ERROR(404, 10059);
    jsfix_down(&f);
}

/* The header: a stream without allow_direct answers a direct get with no responders,
 * SNATS_JS_NOT_ENABLED. Servers before 2.10 take DIRECT.GET into their catch-all API
 * subscription and never answer: the call waits for the context's timeout. */
static void jetstream_stream_direct_get_not_allowed(void) {
    jsfix f;
    char options[64];
    snprintf(options, sizeof options, "{\"timeout_ms\": %lld}", (long long)harness_ms(1000));
    jsfix_up(&f, options);
    stream_add(f.js, "{\"name\": \"G\", \"subjects\": [\"g.>\"], \"storage\": \"memory\"}");
    pub(f.js, "g.a", "x");
    snats_msg *m = (snats_msg *)0x1;
    snats_status s = snats_js_stream_direct_get(&m, f.js, "G", 1, NULL);
    CHECK_NULL(m);
    if (SERVER_AT_LEAST(2, 10, 0)) CHECK_EQ_INT(s, SNATS_JS_NOT_ENABLED);
    else if (s != SNATS_JS_NOT_ENABLED && s != SNATS_TIMEOUT) FAIL("direct get gave %s", snats_status_text(s));
    /* A stream that does not exist: the same. */
    s = snats_js_stream_direct_get(&m, f.js, "NOPE", 1, NULL);
    CHECK_NULL(m);
    if (SERVER_AT_LEAST(2, 10, 0)) CHECK_EQ_INT(s, SNATS_JS_NOT_ENABLED);
    else if (s != SNATS_JS_NOT_ENABLED && s != SNATS_TIMEOUT) FAIL("direct get gave %s", snats_status_text(s));
    jsfix_down(&f);
}

static void jetstream_stream_direct_get(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"D\", \"subjects\": [\"d.>\"], \"storage\": \"memory\", \"allow_direct\": true}");
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_info(&info, f.js, "D", NULL));
    CHECK(json_is_true(jat(info, "config.allow_direct")));
    json_decref(info);
    check_gets(&f, "D", "d", snats_js_stream_direct_get);
    /* The leader's get gives the same message. */
    snats_msg *m = NULL, *n = NULL;
    CHECK_OK(snats_js_stream_get_msg(&m, f.js, "D", 2, NULL));
    CHECK_OK(snats_js_stream_direct_get(&n, f.js, "D", 2, NULL));
    CHECK_EQ_STR(snats_msg_subject(m), snats_msg_subject(n));
    CHECK_EQ_STR((const char *)snats_msg_data(m), (const char *)snats_msg_data(n));
    CHECK_EQ_STR(hdr(m, "Nats-Sequence"), hdr(n, "Nats-Sequence"));
    snats_msg_release(m);
    snats_msg_release(n);
    jsfix_down(&f);
}

static void jetstream_stream_delete_msg(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"DM\", \"subjects\": [\"dm.>\"]}"); /* file storage: erase means something */
    for (int i = 0; i < 4; i++) pub(f.js, "dm.x", "secret");
    CHECK_OK(snats_js_stream_delete_msg(f.js, "DM", 2, false));
    CHECK_OK(snats_js_stream_delete_msg(f.js, "DM", 3, true));
    CHECK_EQ_INT(stream_messages(f.js, "DM"), 2);
    snats_msg *m = NULL;
    CHECK_STATUS(snats_js_stream_get_msg(&m, f.js, "DM", 2, NULL), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10037);
    CHECK_STATUS(snats_js_stream_get_msg(&m, f.js, "DM", 3, NULL), SNATS_NOT_FOUND);
    CHECK_OK(snats_js_stream_get_msg(&m, f.js, "DM", 4, NULL));
    snats_msg_release(m);
    /* Next by subject skips the deleted ones. */
    CHECK_OK(snats_js_stream_get_msg(&m, f.js, "DM", 2, "dm.x"));
    CHECK_EQ_STR(hdr(m, "Nats-Sequence"), "4");
    snats_msg_release(m);

    /* A missing stream: 404/10059. */
    CHECK_STATUS(snats_js_stream_delete_msg(f.js, "NOPE", 1, false), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    CHECK_STATUS(snats_js_stream_delete_msg(f.js, "DM", 0, false), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_delete_msg(f.js, NULL, 1, false), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_stream_delete_msg(NULL, "DM", 1, false), SNATS_INVALID_ARG);
    CHECK_EQ_INT(stream_messages(f.js, "DM"), 2);
    jsfix_down(&f);
}

/* The header: "@retval SNATS_NOT_FOUND no such stream or message" for a message deleted already
 * (or never stored). */
static void jetstream_stream_delete_msg_missing(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"DM\", \"subjects\": [\"dm.>\"], \"storage\": \"memory\"}");
    for (int i = 0; i < 2; i++) pub(f.js, "dm.x", "x");
    CHECK_OK(snats_js_stream_delete_msg(f.js, "DM", 1, false));
    snats_status s = snats_js_stream_delete_msg(f.js, "DM", 1, false);
    int code = 0, err = 0;
    snats_js_last_api_error(&code, &err);
    if (s != SNATS_NOT_FOUND)
        FAIL("deleting a deleted message gave %s (code %d, err_code %d: %s), the header says SNATS_NOT_FOUND",
             snats_status_text(s), code, err, snats_last_error());
    s = snats_js_stream_delete_msg(f.js, "DM", 99, false);
    snats_js_last_api_error(&code, &err);
    if (s != SNATS_NOT_FOUND)
        FAIL("deleting a message never stored gave %s (code %d, err_code %d: %s), the header says SNATS_NOT_FOUND",
             snats_status_text(s), code, err, snats_last_error());
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Consumers
 * ---------------------------------------------------------------------------------------- */

static void jetstream_consumer_lifecycle(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"C\", \"subjects\": [\"c.>\"], \"storage\": \"memory\"}");
    for (int i = 0; i < 5; i++) pub(f.js, "c.new", "x");
    pub(f.js, "c.old", "y");

    /* Durable. */
    json_t *config = J("{\"durable_name\": \"dur\", \"ack_policy\": \"explicit\", \"filter_subject\": \"c.new\", "
                       "\"max_deliver\": 5, \"ack_wait\": 30000000000}");
    json_t *info = NULL;
    CHECK_OK(snats_js_consumer_add(&info, f.js, "C", config));
    CHECK_EQ_STR(JSTR(info, "name"), "dur");
    CHECK_EQ_STR(JSTR(info, "stream_name"), "C");
    CHECK_EQ_STR(JSTR(info, "config.durable_name"), "dur");
    CHECK_EQ_STR(JSTR(info, "config.filter_subject"), "c.new");
    CHECK_EQ_INT(JINT(info, "config.max_deliver"), 5);
    CHECK_EQ_INT(JINT(info, "num_pending"), 5);
    json_decref(info);
    /* Again, the same configuration: accepted. */
    CHECK_OK(snats_js_consumer_add(NULL, f.js, "C", config));
    json_decref(config);

    /* Named by "name" alone. */
    config = J("{\"name\": \"named\", \"ack_policy\": \"none\"}");
    CHECK_OK(snats_js_consumer_add(&info, f.js, "C", config));
    CHECK_EQ_STR(JSTR(info, "name"), "named");
    CHECK_EQ_INT(JINT(info, "num_pending"), 6);
    json_decref(info);
    json_decref(config);

    /* Ephemeral: the server names it. */
    config = J("{\"ack_policy\": \"explicit\", \"inactive_threshold\": 60000000000}");
    CHECK_OK(snats_js_consumer_add(&info, f.js, "C", config));
    json_decref(config);
    char eph[128];
    snprintf(eph, sizeof eph, "%s", JSTR(info, "name"));
    CHECK(strlen(eph) > 0);
    CHECK(json_object_get(json_object_get(info, "config"), "durable_name") == NULL);
    json_decref(info);

    /* Names and list. */
    json_t *list = NULL;
    CHECK_OK(snats_js_consumer_names(&list, f.js, "C"));
    CHECK_EQ_INT(json_array_size(list), 3);
    CHECK(jarray_has(list, "dur") && jarray_has(list, "named") && jarray_has(list, eph));
    json_decref(list);
    CHECK_OK(snats_js_consumer_list(&list, f.js, "C"));
    CHECK(json_is_array(list));
    CHECK_EQ_INT(json_array_size(list), 3);
    {
        int seen = 0;
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) {
            const char *name = JSTR(item, "name");
            if (strcmp(name, "dur") == 0) {
                CHECK_EQ_INT(JINT(item, "num_pending"), 5);
                seen++;
            } else if (strcmp(name, "named") == 0 || strcmp(name, eph) == 0) {
                seen++;
            }
        }
        CHECK_EQ_INT(seen, 3);
    }
    json_decref(list);

    /* Update: a changeable field. */
    config = J("{\"durable_name\": \"dur\", \"ack_policy\": \"explicit\", \"filter_subject\": \"c.new\", "
               "\"max_deliver\": 5, \"ack_wait\": 30000000000, \"description\": \"updated\", \"max_ack_pending\": 50}");
    CHECK_OK(snats_js_consumer_update(&info, f.js, "C", config));
    CHECK_EQ_STR(JSTR(info, "config.description"), "updated");
    CHECK_EQ_INT(JINT(info, "config.max_ack_pending"), 50);
    json_decref(info);
    json_decref(config);
    CHECK_OK(snats_js_consumer_info(&info, f.js, "C", "dur"));
    CHECK_EQ_STR(JSTR(info, "config.description"), "updated");
    json_decref(info);

    /* Info of missing consumers and streams. */
    info = (json_t *)0x1;
    CHECK_STATUS(snats_js_consumer_info(&info, f.js, "C", "nope"), SNATS_NOT_FOUND);
    CHECK_NULL(info);
    CHECK_API_ERROR(404, 10014);
    CHECK_STATUS(snats_js_consumer_info(&info, f.js, "NOPE", "dur"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    config = J("{\"durable_name\": \"x\"}");
    info = (json_t *)0x1;
    CHECK_STATUS(snats_js_consumer_add(&info, f.js, "NOPE", config), SNATS_NOT_FOUND);
    CHECK_NULL(info);
    CHECK_API_ERROR(404, 10059);
    json_decref(config);
    CHECK_STATUS(snats_js_consumer_names(&list, f.js, "NOPE"), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_js_consumer_list(&list, f.js, "NOPE"), SNATS_NOT_FOUND);

    /* Delete. */
    CHECK_OK(snats_js_consumer_delete(f.js, "C", "named"));
    CHECK_STATUS(snats_js_consumer_delete(f.js, "C", "named"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10014);
    CHECK_STATUS(snats_js_consumer_delete(f.js, "NOPE", "dur"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    CHECK_OK(snats_js_consumer_delete(f.js, "C", eph));
    CHECK_OK(snats_js_consumer_names(&list, f.js, "C"));
    CHECK_EQ_INT(json_array_size(list), 1);
    CHECK(jarray_has(list, "dur"));
    json_decref(list);

    /* Bad arguments. */
    config = J("{\"durable_name\": \"one\", \"name\": \"two\"}");
    CHECK_STATUS(snats_js_consumer_add(NULL, f.js, "C", config), SNATS_INVALID_ARG);
    json_decref(config);
    config = J("{\"durable_name\": \"a.b\"}");
    CHECK_STATUS(snats_js_consumer_add(NULL, f.js, "C", config), SNATS_INVALID_ARG);
    json_decref(config);
    config = J("[]");
    CHECK_STATUS(snats_js_consumer_add(NULL, f.js, "C", config), SNATS_INVALID_ARG);
    json_decref(config);
    CHECK_STATUS(snats_js_consumer_add(NULL, f.js, "C", NULL), SNATS_INVALID_ARG);
    config = J("{\"ack_policy\": \"explicit\"}");
    CHECK_STATUS(snats_js_consumer_update(NULL, f.js, "C", config), SNATS_INVALID_ARG); /* no name */
    CHECK_STATUS(snats_js_consumer_add(NULL, f.js, NULL, config), SNATS_INVALID_ARG);
    json_decref(config);
    CHECK_STATUS(snats_js_consumer_info(&info, f.js, "C", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_consumer_info(&info, f.js, "C", "a b"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_consumer_info(NULL, f.js, "C", "dur"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_consumer_delete(f.js, "C", "x>"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_consumer_names(NULL, f.js, "C"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_consumer_list(&list, f.js, NULL), SNATS_INVALID_ARG);
    jsfix_down(&f);
}

/* A consumer of that name with another, not updatable, configuration is refused. */
static void jetstream_consumer_conflicts(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"C\", \"subjects\": [\"c.>\"], \"storage\": \"memory\"}");
    consumer_add(f.js, "C", "{\"durable_name\": \"dur\", \"ack_policy\": \"explicit\", \"deliver_policy\": \"all\"}");
    json_t *config = J("{\"durable_name\": \"dur\", \"ack_policy\": \"explicit\", \"deliver_policy\": \"last\"}");
    json_t *info = (json_t *)0x1;
    CHECK_STATUS(snats_js_consumer_add(&info, f.js, "C", config), SNATS_JS_API_ERROR);
    CHECK_NULL(info);
    int code = 0, err = 0;
    snats_js_last_api_error(&code, &err);
    /* Both servers: 500/10012 "deliver policy can not be updated" (the header's example
     * says 10013). */
    CHECK_EQ_INT(code, 500);
    CHECK_EQ_INT(err, 10012);
    CHECK(strlen(snats_last_error()) > 0);
    json_decref(config);
    /* The consumer is unchanged. */
    CHECK_OK(snats_js_consumer_info(&info, f.js, "C", "dur"));
    CHECK_EQ_STR(JSTR(info, "config.deliver_policy"), "all");
    json_decref(info);

    if (SERVER_AT_LEAST(2, 10, 0)) {
        /* 2.10+: an update of a consumer that does not exist fails; consumer_create refuses one
         * that exists differently. */
        config = J("{\"durable_name\": \"ghost\", \"ack_policy\": \"explicit\"}");
        snats_status s = snats_js_consumer_update(&info, f.js, "C", config);
        if (s != SNATS_NOT_FOUND && s != SNATS_JS_API_ERROR)
            FAIL("update of a missing consumer gave %s", snats_status_text(s));
        CHECK_NULL(info);
        json_decref(config);
        json_t *names = NULL;
        CHECK_OK(snats_js_consumer_names(&names, f.js, "C"));
        CHECK(!jarray_has(names, "ghost"));
        json_decref(names);
        json_t *args = J("{\"stream\": \"C\", \"config\": {\"durable_name\": \"dur\", \"ack_policy\": \"explicit\", "
                         "\"description\": \"other\"}}");
        json_t *result = (json_t *)0x1;
        CHECK_STATUS(snats_js_call(&result, f.js, "consumer_create", args), SNATS_JS_API_ERROR);
        CHECK_NULL(result);
        snats_js_last_api_error(&code, &err);
        CHECK_EQ_INT(code, 400);
        CHECK_EQ_INT(err, 10148); /* consumer already exists (JSConsumerAlreadyExists) */
        json_decref(args);
    }
    jsfix_down(&f);
}

/* The header: "@retval SNATS_INVALID_SUBJECT a bad `filter_subject` ..." */
static void jetstream_consumer_bad_filter(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"C\", \"subjects\": [\"c.>\"], \"storage\": \"memory\"}");
    json_t *config = J("{\"durable_name\": \"dur\", \"filter_subject\": \"c..x\"}");
    snats_status s = snats_js_consumer_add(NULL, f.js, "C", config);
    json_decref(config);
    if (s != SNATS_INVALID_SUBJECT)
        FAIL("a bad filter subject gave %s, the header says SNATS_INVALID_SUBJECT", snats_status_text(s));
    jsfix_down(&f);
}

/* A push consumer delivers to its deliver_subject; a plain subscription reads and acks. */
static void jetstream_push_consumer(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"PUSH\", \"subjects\": [\"push.>\"], \"storage\": \"memory\"}");
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, f.c, "deliver.push"));
    CHECK_OK(snats_conn_flush(f.c, harness_ms(5000)));
    consumer_add(f.js, "PUSH",
                 "{\"durable_name\": \"pusher\", \"deliver_subject\": \"deliver.push\", \"ack_policy\": \"explicit\"}");
    for (int i = 0; i < 3; i++) {
        char text[16];
        snprintf(text, sizeof text, "p%d", i);
        pub(f.js, "push.x", text);
    }
    for (int i = 0; i < 3; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        char want[16];
        snprintf(want, sizeof want, "p%d", i);
        CHECK_EQ_STR((const char *)snats_msg_data(m), want);
        json_t *meta = NULL;
        CHECK_OK(snats_js_msg_metadata(&meta, m));
        CHECK_EQ_STR(JSTR(meta, "consumer"), "pusher");
        CHECK_EQ_INT(JINT(meta, "sequence.stream"), i + 1);
        json_decref(meta);
        CHECK_OK(snats_js_msg_ack_sync(m, harness_ms(5000)));
        CHECK_STATUS(snats_js_msg_ack(m), SNATS_ILLEGAL_STATE);
        snats_msg_release(m);
    }
    CHECK_EQ_INT(consumer_int(f.js, "PUSH", "pusher", "num_ack_pending"), 0);
    /* Fetching from a push consumer is refused by the server (409). */
    snats_msg *msgs[1];
    int count = 5;
    CHECK_STATUS(snats_js_fetch(msgs, 1, &count, f.js, "PUSH", "pusher", harness_ms(1000), NULL), SNATS_JS_API_ERROR);
    CHECK_EQ_INT(count, 0);
    int code = 0;
    snats_js_last_api_error(&code, NULL);
    CHECK_EQ_INT(code, 409);
    snats_sub_destroy(sub);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Management calls by name
 * ---------------------------------------------------------------------------------------- */

static json_t *call_ok(jsfix *f, const char *operation, const char *args_json) {
    json_t *args = args_json ? J("%s", args_json) : NULL;
    json_t *result = NULL;
    snats_status s = snats_js_call(&result, f->js, operation, args);
    if (s != SNATS_OK)
        FAIL("snats_js_call(%s, %s): %s (%s)", operation, args_json ? args_json : "NULL", snats_status_text(s),
             snats_last_error());
    json_decref(args);
    CHECK_NOT_NULL(result);
    return result;
}

static snats_status call_status(jsfix *f, const char *operation, const char *args_json) {
    json_t *args = args_json ? J("%s", args_json) : NULL;
    json_t *result = (json_t *)0x1;
    snats_status s = snats_js_call(&result, f->js, operation, args);
    json_decref(args);
    if (s != SNATS_OK && result != NULL) FAIL("snats_js_call(%s) failed but handed out a result", operation);
    if (s == SNATS_OK) json_decref(result);
    return s;
}

static void jetstream_call(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    json_t *r = call_ok(&f, "account_info", NULL);
    CHECK_EQ_INT(JINT(r, "streams"), 0);
    json_decref(r);
    r = call_ok(&f, "account_info", "{}");
    json_decref(r);

    r = call_ok(&f, "stream_add", "{\"config\": {\"name\": \"K\", \"subjects\": [\"k.>\"], \"storage\": \"memory\"}}");
    CHECK_EQ_STR(JSTR(r, "config.name"), "K");
    json_decref(r);
    r = call_ok(&f, "stream_update",
                "{\"config\": {\"name\": \"K\", \"subjects\": [\"k.>\"], \"storage\": \"memory\", \"max_msgs\": 10}}");
    CHECK_EQ_INT(JINT(r, "config.max_msgs"), 10);
    json_decref(r);
    for (int i = 0; i < 3; i++) pub(f.js, "k.a", "a");
    pub(f.js, "k.b", "b");
    r = call_ok(&f, "stream_info", "{\"name\": \"K\", \"subjects_filter\": \">\"}");
    CHECK_EQ_INT(JINT(r, "state.messages"), 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(jat(r, "state.subjects"), "k.a")), 3);
    json_decref(r);
    r = call_ok(&f, "stream_names", NULL);
    CHECK(json_is_array(r));
    CHECK_EQ_INT(json_array_size(r), 1);
    CHECK(jarray_has(r, "K"));
    json_decref(r);
    r = call_ok(&f, "stream_list", "{\"subject\": \"k.z\"}");
    CHECK(json_is_array(r));
    CHECK_EQ_INT(json_array_size(r), 1);
    json_decref(r);
    r = call_ok(&f, "stream_names", "{\"subject\": \"other\"}");
    CHECK_EQ_INT(json_array_size(r), 0);
    json_decref(r);
    r = call_ok(&f, "stream_delete_msg", "{\"name\": \"K\", \"seq\": 1}");
    CHECK(json_is_true(json_object_get(r, "success")));
    json_decref(r);
    r = call_ok(&f, "stream_purge", "{\"name\": \"K\", \"filter\": \"k.a\"}");
    CHECK(json_is_true(json_object_get(r, "success")));
    CHECK_EQ_INT(JINT(r, "purged"), 2);
    json_decref(r);

    r = call_ok(&f, "consumer_add", "{\"stream\": \"K\", \"config\": {\"durable_name\": \"w\", \"ack_policy\": \"explicit\"}}");
    CHECK_EQ_STR(JSTR(r, "name"), "w");
    CHECK_EQ_INT(JINT(r, "num_pending"), 1);
    json_decref(r);
    r = call_ok(&f, "consumer_update",
                "{\"stream\": \"K\", \"config\": {\"durable_name\": \"w\", \"ack_policy\": \"explicit\", "
                "\"description\": \"by call\"}}");
    CHECK_EQ_STR(JSTR(r, "config.description"), "by call");
    json_decref(r);
    if (SERVER_AT_LEAST(2, 10, 0)) {
        r = call_ok(&f, "consumer_create", "{\"stream\": \"K\", \"config\": {\"name\": \"fresh\", \"ack_policy\": \"none\"}}");
        CHECK_EQ_STR(JSTR(r, "name"), "fresh");
        json_decref(r);
        r = call_ok(&f, "consumer_delete", "{\"stream\": \"K\", \"name\": \"fresh\"}");
        json_decref(r);
    }
    r = call_ok(&f, "consumer_info", "{\"stream\": \"K\", \"name\": \"w\"}");
    CHECK_EQ_STR(JSTR(r, "config.description"), "by call");
    json_decref(r);
    r = call_ok(&f, "consumer_names", "{\"stream\": \"K\"}");
    CHECK_EQ_INT(json_array_size(r), 1);
    CHECK(jarray_has(r, "w"));
    json_decref(r);
    r = call_ok(&f, "consumer_list", "{\"stream\": \"K\"}");
    CHECK_EQ_INT(json_array_size(r), 1);
    CHECK_EQ_STR(JSTR(json_array_get(r, 0), "name"), "w");
    json_decref(r);
    r = call_ok(&f, "consumer_delete", "{\"stream\": \"K\", \"name\": \"w\"}");
    CHECK(json_is_true(json_object_get(r, "success")));
    json_decref(r);

    /* API errors keep their statuses and codes. */
    CHECK_EQ_INT(call_status(&f, "stream_info", "{\"name\": \"NOPE\"}"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    CHECK_EQ_INT(call_status(&f, "consumer_info", "{\"stream\": \"K\", \"name\": \"w\"}"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10014);
    CHECK_EQ_INT(call_status(&f, "stream_add", "{\"config\": {\"name\": \"K\", \"subjects\": [\"x.>\"]}}"),
                 SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10058);

    /* Unknown operations, missing and unknown arguments. */
    CHECK_EQ_INT(call_status(&f, "stream_explode", "{}"), SNATS_INVALID_ARG);
    CHECK_API_ERROR(0, 0);
    CHECK_EQ_INT(call_status(&f, "", NULL), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "stream_info", "{}"), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "stream_info", NULL), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "stream_info", "{\"name\": \"K\", \"bogus\": 1}"), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "stream_info", "{\"name\": 5}"), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "stream_add", "{\"config\": \"K\"}"), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "stream_delete_msg", "{\"name\": \"K\"}"), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "consumer_info", "{\"stream\": \"K\"}"), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "account_info", "{\"x\": 1}"), SNATS_INVALID_ARG);
    CHECK_EQ_INT(call_status(&f, "account_info", "[]"), SNATS_INVALID_ARG);
    json_t *result = (json_t *)0x1;
    CHECK_STATUS(snats_js_call(&result, f.js, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(result);
    CHECK_STATUS(snats_js_call(NULL, f.js, "account_info", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_call(&result, NULL, "account_info", NULL), SNATS_INVALID_ARG);

    r = call_ok(&f, "stream_delete", "{\"name\": \"K\"}");
    CHECK(json_is_true(json_object_get(r, "success")));
    json_decref(r);
    CHECK_EQ_INT(call_status(&f, "stream_delete", "{\"name\": \"K\"}"), SNATS_NOT_FOUND);
    jsfix_down(&f);
}

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    json_t *value; /* a deep copy of the answer */
    int code, err_code;
    char error[256];
    pthread_t caller;
    atomic_int on_caller_thread;
    snats_jetstream *js;     /* when set, a blocking call inside the callback */
    _Atomic snats_status nested;
} call_state;

static void call_state_init(call_state *st) {
    memset(st, 0, sizeof *st);
    st->status = SNATS_ERR;
    st->nested = SNATS_ERR;
    st->caller = pthread_self();
}

static void on_call(snats_status status, const json_t *value, void *closure) {
    call_state *st = closure;
    if (atomic_load(&st->calls) != 0) FAIL("a call_async callback ran twice");
    if (pthread_equal(pthread_self(), st->caller)) atomic_store(&st->on_caller_thread, 1);
    if (status == SNATS_OK) {
        if (value == NULL) FAIL("SNATS_OK without a value");
        st->value = json_deep_copy(value);
    } else {
        snats_js_last_api_error(&st->code, &st->err_code);
        snprintf(st->error, sizeof st->error, "%s", snats_last_error());
    }
    if (st->js != NULL) {
        json_t *info = NULL;
        atomic_store(&st->nested, snats_js_account_info(&info, st->js));
        json_decref(info);
    }
    atomic_store(&st->status, status);
    atomic_store(&st->calls, 1);
}

static void call_async_wait(call_state *st) {
    CHECK_EVENTUALLY(atomic_load(&st->calls) == 1, 10000);
    CHECK(!atomic_load(&st->on_caller_thread));
}

static void jetstream_call_async(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    call_state st;

    /* stream_add, arguments copied before return (freed at once). */
    call_state_init(&st);
    json_t *args = J("{\"config\": {\"name\": \"AS\", \"subjects\": [\"as.>\"], \"storage\": \"memory\"}}");
    CHECK_OK(snats_js_call_async(f.js, "stream_add", args, on_call, &st));
    json_decref(args);
    call_async_wait(&st);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_STR(JSTR(st.value, "config.name"), "AS");
    json_decref(st.value);
    pub(f.js, "as.1", "x");
    pub(f.js, "as.2", "y");

    /* account_info, with a blocking call inside the callback. */
    call_state_init(&st);
    st.js = f.js;
    CHECK_OK(snats_js_call_async(f.js, "account_info", NULL, on_call, &st));
    call_async_wait(&st);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(JINT(st.value, "streams"), 1);
    CHECK_EQ_INT(atomic_load(&st.nested), SNATS_OK);
    json_decref(st.value);

    /* A listing: an array. */
    call_state_init(&st);
    CHECK_OK(snats_js_call_async(f.js, "stream_names", NULL, on_call, &st));
    call_async_wait(&st);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK(json_is_array(st.value));
    CHECK(jarray_has(st.value, "AS"));
    json_decref(st.value);

    call_state_init(&st);
    args = J("{\"name\": \"AS\"}");
    CHECK_OK(snats_js_call_async(f.js, "stream_purge", args, on_call, &st));
    json_decref(args);
    call_async_wait(&st);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(JINT(st.value, "purged"), 2);
    json_decref(st.value);

    call_state_init(&st);
    args = J("{\"stream\": \"AS\", \"config\": {\"durable_name\": \"d\"}}");
    CHECK_OK(snats_js_call_async(f.js, "consumer_add", args, on_call, &st));
    json_decref(args);
    call_async_wait(&st);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_STR(JSTR(st.value, "name"), "d");
    json_decref(st.value);

    call_state_init(&st);
    args = J("{\"stream\": \"AS\"}");
    CHECK_OK(snats_js_call_async(f.js, "consumer_list", args, on_call, &st));
    json_decref(args);
    call_async_wait(&st);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(json_array_size(st.value), 1);
    json_decref(st.value);

    /* A failure: its status, and its codes and text on the callback's thread. */
    call_state_init(&st);
    args = J("{\"name\": \"NOPE\"}");
    CHECK_OK(snats_js_call_async(f.js, "stream_info", args, on_call, &st));
    json_decref(args);
    call_async_wait(&st);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_NOT_FOUND);
    CHECK_NULL(st.value);
    CHECK_EQ_INT(st.code, 404);
    CHECK_EQ_INT(st.err_code, 10059);
    CHECK(strlen(st.error) > 0);

    /* Refused at once: the callback never runs. */
    call_state_init(&st);
    CHECK_STATUS(snats_js_call_async(f.js, "stream_explode", NULL, on_call, &st), SNATS_INVALID_ARG);
    args = J("{\"nom\": \"AS\"}");
    CHECK_STATUS(snats_js_call_async(f.js, "stream_info", args, on_call, &st), SNATS_INVALID_ARG);
    json_decref(args);
    CHECK_STATUS(snats_js_call_async(f.js, "account_info", NULL, NULL, &st), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_call_async(f.js, NULL, NULL, on_call, &st), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_call_async(NULL, "account_info", NULL, on_call, &st), SNATS_INVALID_ARG);
    harness_sleep_ms(harness_ms(300));
    CHECK_EQ_INT(atomic_load(&st.calls), 0);

    /* A server without JetStream: SNATS_JS_NOT_ENABLED through the callback. */
    test_server plain;
    server_start(&plain);
    snats_conn *c2 = connect_or_fail(plain.url);
    snats_jetstream *js2 = NULL;
    CHECK_OK(snats_jetstream_create(&js2, c2, NULL));
    call_state_init(&st);
    CHECK_OK(snats_js_call_async(js2, "account_info", NULL, on_call, &st));
    call_async_wait(&st);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_JS_NOT_ENABLED);
    snats_jetstream_destroy(js2);
    snats_conn_destroy(c2);
    server_stop(&plain);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Publishing
 * ---------------------------------------------------------------------------------------- */

static void jetstream_publish_ack(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"PA\", \"subjects\": [\"pa.>\"], \"storage\": \"memory\", "
                     "\"duplicate_window\": 60000000000}");
    snats_js_pub_ack *ack = NULL;
    CHECK_OK(snats_js_publish(&ack, f.js, "pa.one", NULL, "hello", 5, NULL));
    CHECK_EQ_STR(snats_js_pub_ack_stream(ack), "PA");
    CHECK_EQ_INT(snats_js_pub_ack_seq(ack), 1);
    CHECK(!snats_js_pub_ack_duplicate(ack));
    CHECK_NULL(snats_js_pub_ack_domain(ack));
    snats_js_pub_ack_destroy(ack);
    /* NULL ack, empty data. */
    CHECK_OK(snats_js_publish(NULL, f.js, "pa.one", NULL, NULL, 0, NULL));
    CHECK_EQ_INT(stream_messages(f.js, "PA"), 2);

    /* msg_id: the second is a duplicate, not stored, acked with the first's sequence. */
    json_t *opts = J("{\"msg_id\": \"m-1\"}");
    CHECK_OK(snats_js_publish(&ack, f.js, "pa.one", NULL, "x", 1, opts));
    CHECK_EQ_INT(snats_js_pub_ack_seq(ack), 3);
    CHECK(!snats_js_pub_ack_duplicate(ack));
    snats_js_pub_ack_destroy(ack);
    CHECK_OK(snats_js_publish(&ack, f.js, "pa.one", NULL, "x", 1, opts));
    CHECK_EQ_INT(snats_js_pub_ack_seq(ack), 3);
    CHECK(snats_js_pub_ack_duplicate(ack));
    snats_js_pub_ack_destroy(ack);
    json_decref(opts);
    CHECK_EQ_INT(stream_messages(f.js, "PA"), 3);
    /* The id travels as the Nats-Msg-Id header, with the caller's headers. */
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    CHECK_OK(snats_headers_set(h, "X-Trace", "abc"));
    opts = J("{\"msg_id\": \"m-2\"}");
    CHECK_OK(snats_js_publish(&ack, f.js, "pa.two", h, "y", 1, opts));
    json_decref(opts);
    snats_headers_destroy(h);
    uint64_t seq = snats_js_pub_ack_seq(ack);
    CHECK_EQ_INT(seq, 4);
    snats_js_pub_ack_destroy(ack);
    snats_msg *m = NULL;
    CHECK_OK(snats_js_stream_get_msg(&m, f.js, "PA", seq, NULL));
    CHECK_EQ_STR(hdr(m, "X-Trace"), "abc");
    CHECK_EQ_STR(hdr(m, "Nats-Msg-Id"), "m-2");
    snats_msg_release(m);

    /* expected_stream. */
    opts = J("{\"expected_stream\": \"PA\"}");
    CHECK_OK(snats_js_publish(NULL, f.js, "pa.one", NULL, "z", 1, opts)); /* 5 */
    json_decref(opts);
    opts = J("{\"expected_stream\": \"OTHER\"}");
    ack = (snats_js_pub_ack *)0x1;
    CHECK_STATUS(snats_js_publish(&ack, f.js, "pa.one", NULL, "z", 1, opts), SNATS_JS_API_ERROR);
    CHECK_NULL(ack);
    CHECK_API_ERROR(400, 10060);
    CHECK(strlen(snats_last_error()) > 0);
    json_decref(opts);

    /* expected_last_seq. */
    opts = J("{\"expected_last_seq\": 5}");
    CHECK_OK(snats_js_publish(&ack, f.js, "pa.one", NULL, "z", 1, opts));
    CHECK_EQ_INT(snats_js_pub_ack_seq(ack), 6);
    snats_js_pub_ack_destroy(ack);
    CHECK_STATUS(snats_js_publish(NULL, f.js, "pa.one", NULL, "z", 1, opts), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    json_decref(opts);

    /* expected_last_subject_seq: 0 for a subject with no message yet. */
    opts = J("{\"expected_last_subject_seq\": 0}");
    CHECK_OK(snats_js_publish(&ack, f.js, "pa.fresh", NULL, "f", 1, opts));
    CHECK_EQ_INT(snats_js_pub_ack_seq(ack), 7);
    snats_js_pub_ack_destroy(ack);
    CHECK_STATUS(snats_js_publish(NULL, f.js, "pa.fresh", NULL, "f", 1, opts), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    json_decref(opts);
    pub(f.js, "pa.one", "between"); /* 8: another subject does not matter */
    opts = J("{\"expected_last_subject_seq\": 7}");
    CHECK_OK(snats_js_publish(&ack, f.js, "pa.fresh", NULL, "f", 1, opts));
    CHECK_EQ_INT(snats_js_pub_ack_seq(ack), 9);
    snats_js_pub_ack_destroy(ack);
    CHECK_STATUS(snats_js_publish(NULL, f.js, "pa.fresh", NULL, "f", 1, opts), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    json_decref(opts);

    /* expected_last_msg_id. */
    opts = J("{\"msg_id\": \"m-10\"}");
    CHECK_OK(snats_js_publish(NULL, f.js, "pa.one", NULL, "i", 1, opts)); /* 10 */
    json_decref(opts);
    opts = J("{\"msg_id\": \"m-11\", \"expected_last_msg_id\": \"m-10\"}");
    CHECK_OK(snats_js_publish(&ack, f.js, "pa.one", NULL, "i", 1, opts));
    CHECK_EQ_INT(snats_js_pub_ack_seq(ack), 11);
    snats_js_pub_ack_destroy(ack);
    json_decref(opts);
    opts = J("{\"msg_id\": \"m-12\", \"expected_last_msg_id\": \"m-10\"}");
    CHECK_STATUS(snats_js_publish(NULL, f.js, "pa.one", NULL, "i", 1, opts), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10070);
    json_decref(opts);
    CHECK_EQ_INT(stream_messages(f.js, "PA"), 11);

    /* No stream on the subject: no responders, after the retries, well within the timeout. */
    int64_t t0 = harness_now_ms();
    ack = (snats_js_pub_ack *)0x1;
    CHECK_STATUS(snats_js_publish(&ack, f.js, "nostream.here", NULL, "x", 1, NULL), SNATS_NO_RESPONDERS);
    int64_t el = harness_now_ms() - t0;
    CHECK_NULL(ack);
    if (el > harness_ms(3000)) FAIL("no responders took %lld ms", (long long)el);
    CHECK_API_ERROR(0, 0);

    /* timeout_ms: a silent subscriber instead of a stream. */
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, f.c, "silent.pub"));
    CHECK_OK(snats_conn_flush(f.c, harness_ms(5000)));
    opts = J("{\"timeout_ms\": %lld}", (long long)harness_ms(300));
    t0 = harness_now_ms();
    CHECK_STATUS(snats_js_publish(&ack, f.js, "silent.pub", NULL, "x", 1, opts), SNATS_TIMEOUT);
    el = harness_now_ms() - t0;
    CHECK_NULL(ack);
    if (el < harness_ms(250) || el > harness_ms(3000)) FAIL("a 300 ms publish timeout took %lld ms", (long long)el);
    json_decref(opts);
    snats_sub_destroy(silent);

    /* Bad arguments. */
    opts = J("{\"msg_idd\": \"typo\"}");
    CHECK_STATUS(snats_js_publish(NULL, f.js, "pa.one", NULL, "x", 1, opts), SNATS_INVALID_ARG);
    json_decref(opts);
    opts = J("{\"expected_last_seq\": \"5\"}");
    CHECK_STATUS(snats_js_publish(NULL, f.js, "pa.one", NULL, "x", 1, opts), SNATS_INVALID_ARG);
    json_decref(opts);
    opts = J("{\"expected_last_seq\": -1}");
    CHECK_STATUS(snats_js_publish(NULL, f.js, "pa.one", NULL, "x", 1, opts), SNATS_INVALID_ARG);
    json_decref(opts);
    CHECK_STATUS(snats_js_publish(NULL, f.js, NULL, NULL, "x", 1, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_publish(NULL, NULL, "pa.one", NULL, "x", 1, NULL), SNATS_INVALID_ARG);
    CHECK(snats_js_publish(NULL, f.js, "pa.*", NULL, "x", 1, NULL) != SNATS_OK);
    CHECK_STATUS(snats_js_publish(NULL, f.js, "pa.one", NULL, NULL, 3, NULL), SNATS_INVALID_ARG);
    CHECK_EQ_INT(stream_messages(f.js, "PA"), 11);
    /* The accessors on NULL. */
    CHECK_NULL(snats_js_pub_ack_stream(NULL));
    CHECK_EQ_INT(snats_js_pub_ack_seq(NULL), 0);
    CHECK(!snats_js_pub_ack_duplicate(NULL));
    CHECK_NULL(snats_js_pub_ack_domain(NULL));
    snats_js_pub_ack_destroy(NULL);
    jsfix_down(&f);
}

/* ---- asynchronous publishing ---- */

enum { ASYNC_N = 500, ASYNC_WINDOW = 8 };

typedef struct {
    snats_jetstream *js;
    atomic_int calls;
    atomic_int per[ASYNC_N];
    uint64_t seq[ASYNC_N];
    _Atomic uint64_t last_seq;
    atomic_int out_of_order;
    atomic_int bad;
    char bad_text[256];
} async_state;

typedef struct {
    async_state *st;
    int index;
} async_slot;

static void on_async_ack(snats_jetstream *js, snats_status status, const snats_js_pub_ack *ack, void *closure) {
    async_slot *slot = closure;
    async_state *st = slot->st;
    atomic_fetch_add(&st->per[slot->index], 1);
    if (js != st->js) {
        snprintf(st->bad_text, sizeof st->bad_text, "callback got js %p, not %p", (void *)js, (void *)st->js);
        atomic_fetch_add(&st->bad, 1);
    } else if (status != SNATS_OK || ack == NULL) {
        snprintf(st->bad_text, sizeof st->bad_text, "publish %d: %s (%s)", slot->index, snats_status_text(status),
                 snats_last_error());
        atomic_fetch_add(&st->bad, 1);
    } else if (strcmp(snats_js_pub_ack_stream(ack), "AP") != 0) {
        snprintf(st->bad_text, sizeof st->bad_text, "ack from stream %s", snats_js_pub_ack_stream(ack));
        atomic_fetch_add(&st->bad, 1);
    } else {
        uint64_t seq = snats_js_pub_ack_seq(ack);
        st->seq[slot->index] = seq;
        if (seq <= atomic_load(&st->last_seq)) atomic_fetch_add(&st->out_of_order, 1);
        atomic_store(&st->last_seq, seq);
    }
    atomic_fetch_add(&st->calls, 1);
}

static void jetstream_publish_async_window(void) {
    jsfix f;
    char options[128];
    snprintf(options, sizeof options, "{\"max_pending_publishes\": %d, \"timeout_ms\": %lld}", ASYNC_WINDOW,
             (long long)harness_ms(10000));
    jsfix_up(&f, options);
    stream_add(f.js, "{\"name\": \"AP\", \"subjects\": [\"ap.>\"], \"storage\": \"memory\"}");
    async_state *st = calloc(1, sizeof *st);
    async_slot *slots = calloc(ASYNC_N, sizeof *slots);
    CHECK(st != NULL && slots != NULL);
    st->js = f.js;
    int max_pending = 0;
    for (int i = 0; i < ASYNC_N; i++) {
        slots[i] = (async_slot){st, i};
        char text[32];
        int n = snprintf(text, sizeof text, "job %d", i);
        CHECK_OK(snats_js_publish_async(f.js, "ap.jobs", NULL, text, (size_t)n, NULL, on_async_ack, &slots[i]));
        int pending = -1;
        CHECK_OK(snats_js_publish_async_pending(f.js, &pending));
        if (pending < 0 || pending > ASYNC_WINDOW) FAIL("%d acks pending with a window of %d", pending, ASYNC_WINDOW);
        if (pending > max_pending) max_pending = pending;
    }
    CHECK(max_pending >= 1);
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(20000)));
    /* Complete means every callback has returned. */
    CHECK_EQ_INT(atomic_load(&st->calls), ASYNC_N);
    if (atomic_load(&st->bad) != 0) FAIL("%d bad callbacks: %s", atomic_load(&st->bad), st->bad_text);
    for (int i = 0; i < ASYNC_N; i++) {
        if (atomic_load(&st->per[i]) != 1) FAIL("the callback of publish %d ran %d times", i, atomic_load(&st->per[i]));
        if (st->seq[i] != (uint64_t)i + 1) FAIL("publish %d got sequence %llu", i, (unsigned long long)st->seq[i]);
    }
    CHECK_EQ_INT(atomic_load(&st->out_of_order), 0);
    int pending = -1;
    CHECK_OK(snats_js_publish_async_pending(f.js, &pending));
    CHECK_EQ_INT(pending, 0);
    CHECK_EQ_INT(stream_messages(f.js, "AP"), ASYNC_N);
    /* Stored in order: the 100th message is "job 99". */
    snats_msg *m = NULL;
    CHECK_OK(snats_js_stream_get_msg(&m, f.js, "AP", 100, NULL));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "job 99");
    snats_msg_release(m);
    /* Nothing pending: complete returns at once. */
    CHECK_OK(snats_js_publish_async_complete(f.js, 1));
    free(slots);
    free(st);
    jsfix_down(&f);
}

typedef struct one_state_ {
    atomic_int calls;
    _Atomic snats_status status;
    int code, err_code;
    bool had_ack;
    char error[256];
    snats_jetstream *js;                 /* for the calls made inside */
    _Atomic snats_status complete_inside; /* snats_js_publish_async_complete() inside */
    _Atomic snats_status info_inside;     /* a blocking call inside */
    _Atomic snats_status publish_inside;  /* snats_js_publish_async() inside */
    bool do_inside;
    struct one_state_ *inner; /* the state of the publish made inside */
} one_state;

static void one_init(one_state *st, snats_jetstream *js) {
    memset(st, 0, sizeof *st);
    st->status = SNATS_ERR;
    st->complete_inside = SNATS_ERR;
    st->info_inside = SNATS_ERR;
    st->publish_inside = SNATS_ERR;
    st->js = js;
}

static void on_one_inner(snats_jetstream *js, snats_status status, const snats_js_pub_ack *ack, void *closure) {
    (void)js;
    (void)ack;
    one_state *st = closure;
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

static void on_one(snats_jetstream *js, snats_status status, const snats_js_pub_ack *ack, void *closure) {
    one_state *st = closure;
    st->had_ack = ack != NULL;
    if (status != SNATS_OK) {
        snats_js_last_api_error(&st->code, &st->err_code);
        snprintf(st->error, sizeof st->error, "%s", snats_last_error());
    }
    if (st->do_inside) {
        atomic_store(&st->complete_inside, snats_js_publish_async_complete(js, harness_ms(1000)));
        json_t *info = NULL;
        atomic_store(&st->info_inside, snats_js_stream_info(&info, js, "AF", NULL));
        json_decref(info);
        atomic_store(&st->publish_inside,
                     snats_js_publish_async(js, "af.inner", NULL, "i", 1, NULL, on_one_inner, st->inner));
    }
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

static void jetstream_publish_async_failures(void) {
    jsfix f;
    char options[128];
    snprintf(options, sizeof options, "{\"timeout_ms\": %lld}", (long long)harness_ms(500));
    jsfix_up(&f, options);
    stream_add(f.js, "{\"name\": \"AF\", \"subjects\": [\"af.>\"], \"storage\": \"memory\"}");
    one_state st[2];

    /* A refused expectation: its status, no ack, its codes on the callback's thread. */
    one_init(&st[0], f.js);
    json_t *opts = J("{\"expected_last_seq\": 42}");
    CHECK_OK(snats_js_publish_async(f.js, "af.x", NULL, "x", 1, opts, on_one, &st[0]));
    json_decref(opts);
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(5000)));
    CHECK_EQ_INT(atomic_load(&st[0].calls), 1);
    CHECK_EQ_INT(atomic_load(&st[0].status), SNATS_JS_API_ERROR);
    CHECK(!st[0].had_ack);
    CHECK_EQ_INT(st[0].code, 400);
    CHECK_EQ_INT(st[0].err_code, 10071);
    CHECK(strlen(st[0].error) > 0);

    one_init(&st[0], f.js);
    opts = J("{\"expected_stream\": \"ELSEWHERE\"}");
    CHECK_OK(snats_js_publish_async(f.js, "af.x", NULL, "x", 1, opts, on_one, &st[0]));
    json_decref(opts);
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(5000)));
    CHECK_EQ_INT(atomic_load(&st[0].status), SNATS_JS_API_ERROR);
    CHECK_EQ_INT(st[0].err_code, 10060);

    /* No stream: no responders. */
    one_init(&st[0], f.js);
    CHECK_OK(snats_js_publish_async(f.js, "nostream.x", NULL, "x", 1, NULL, on_one, &st[0]));
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(5000)));
    CHECK_EQ_INT(atomic_load(&st[0].calls), 1);
    CHECK_EQ_INT(atomic_load(&st[0].status), SNATS_NO_RESPONDERS);
    CHECK(!st[0].had_ack);

    /* No ack within the context's timeout: SNATS_TIMEOUT; pending while it waits; complete
     * times out meanwhile. */
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, f.c, "silent.async"));
    CHECK_OK(snats_conn_flush(f.c, harness_ms(5000)));
    one_init(&st[0], f.js);
    CHECK_OK(snats_js_publish_async(f.js, "silent.async", NULL, "x", 1, NULL, on_one, &st[0]));
    int pending = -1;
    CHECK_OK(snats_js_publish_async_pending(f.js, &pending));
    CHECK_EQ_INT(pending, 1);
    CHECK_STATUS(snats_js_publish_async_complete(f.js, 50), SNATS_TIMEOUT);
    CHECK_EQ_INT(atomic_load(&st[0].calls), 0);
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(5000)));
    CHECK_EQ_INT(atomic_load(&st[0].calls), 1);
    CHECK_EQ_INT(atomic_load(&st[0].status), SNATS_TIMEOUT);
    CHECK_OK(snats_js_publish_async_pending(f.js, &pending));
    CHECK_EQ_INT(pending, 0);
    snats_sub_destroy(silent);

    /* Inside an ack callback: complete is refused, blocking calls and publishes work. */
    one_init(&st[0], f.js);
    one_init(&st[1], f.js);
    st[0].do_inside = true;
    st[0].inner = &st[1];
    CHECK_OK(snats_js_publish_async(f.js, "af.y", NULL, "y", 1, NULL, on_one, &st[0]));
    CHECK_EVENTUALLY(atomic_load(&st[0].calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&st[0].status), SNATS_OK);
    CHECK(st[0].had_ack);
    CHECK_EQ_INT(atomic_load(&st[0].complete_inside), SNATS_ILLEGAL_STATE);
    CHECK_EQ_INT(atomic_load(&st[0].info_inside), SNATS_OK);
    CHECK_EQ_INT(atomic_load(&st[0].publish_inside), SNATS_OK);
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(5000)));
    CHECK_EQ_INT(atomic_load(&st[1].calls), 1);
    CHECK_EQ_INT(atomic_load(&st[1].status), SNATS_OK);

    /* Refused at once: the callback never runs. */
    one_init(&st[0], f.js);
    opts = J("{\"timeout_ms\": 100}");
    CHECK_STATUS(snats_js_publish_async(f.js, "af.x", NULL, "x", 1, opts, on_one, &st[0]), SNATS_INVALID_ARG);
    json_decref(opts);
    opts = J("{\"bogus\": 1}");
    CHECK_STATUS(snats_js_publish_async(f.js, "af.x", NULL, "x", 1, opts, on_one, &st[0]), SNATS_INVALID_ARG);
    json_decref(opts);
    CHECK_STATUS(snats_js_publish_async(f.js, "af.x", NULL, "x", 1, NULL, NULL, &st[0]), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_publish_async(f.js, NULL, NULL, "x", 1, NULL, on_one, &st[0]), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_publish_async(NULL, "af.x", NULL, "x", 1, NULL, on_one, &st[0]), SNATS_INVALID_ARG);
    CHECK(snats_js_publish_async(f.js, "af.*", NULL, "x", 1, NULL, on_one, &st[0]) != SNATS_OK);
    CHECK_STATUS(snats_js_publish_async_complete(f.js, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_publish_async_complete(NULL, 100), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_publish_async_pending(f.js, NULL), SNATS_INVALID_ARG);
    pending = 7;
    CHECK_STATUS(snats_js_publish_async_pending(NULL, &pending), SNATS_INVALID_ARG);
    CHECK_EQ_INT(pending, 0);
    harness_sleep_ms(harness_ms(200));
    CHECK_EQ_INT(atomic_load(&st[0].calls), 0);
    CHECK_OK(snats_js_publish_async_pending(f.js, &pending));
    CHECK_EQ_INT(pending, 0);
    CHECK_EQ_INT(stream_messages(f.js, "AF"), 2);
    jsfix_down(&f);
}

/* The window stays full when acks do not come: the next publish waits the timeout, then
 * SNATS_TIMEOUT, and its callback never runs. */
static void jetstream_publish_async_window_full(void) {
    jsfix f;
    char options[128];
    snprintf(options, sizeof options, "{\"max_pending_publishes\": 2, \"timeout_ms\": %lld}", (long long)harness_ms(600));
    jsfix_up(&f, options);
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, f.c, "silent.full"));
    CHECK_OK(snats_conn_flush(f.c, harness_ms(5000)));
    one_state st[3];
    for (int i = 0; i < 3; i++) one_init(&st[i], f.js);
    CHECK_OK(snats_js_publish_async(f.js, "silent.full", NULL, "a", 1, NULL, on_one, &st[0]));
    CHECK_OK(snats_js_publish_async(f.js, "silent.full", NULL, "b", 1, NULL, on_one, &st[1]));
    /* The third waits for a slot: the first two time out after 600 ms, which frees them, so
     * this one is sent (the window wait is the same timeout) or refused with SNATS_TIMEOUT. */
    int64_t t0 = harness_now_ms();
    snats_status s = snats_js_publish_async(f.js, "silent.full", NULL, "c", 1, NULL, on_one, &st[2]);
    int64_t el = harness_now_ms() - t0;
    if (s != SNATS_OK && s != SNATS_TIMEOUT) FAIL("a publish into a full window gave %s", snats_status_text(s));
    if (el < harness_ms(400)) FAIL("a publish into a full window returned after %lld ms", (long long)el);
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(5000)));
    CHECK_EQ_INT(atomic_load(&st[0].calls), 1);
    CHECK_EQ_INT(atomic_load(&st[1].calls), 1);
    CHECK_EQ_INT(atomic_load(&st[0].status), SNATS_TIMEOUT);
    CHECK_EQ_INT(atomic_load(&st[2].calls), s == SNATS_OK ? 1 : 0);
    snats_sub_destroy(silent);
    jsfix_down(&f);
}

/* Publishes in flight when the context is destroyed still complete, with its handle. */
static void jetstream_destroy_with_publishes_in_flight(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"AP\", \"subjects\": [\"ap.>\"], \"storage\": \"memory\"}");
    enum { N = 50 };
    async_state *st = calloc(1, sizeof *st);
    async_slot *slots = calloc(N, sizeof *slots);
    CHECK(st != NULL && slots != NULL);
    st->js = f.js;
    for (int i = 0; i < N; i++) {
        slots[i] = (async_slot){st, i};
        CHECK_OK(snats_js_publish_async(f.js, "ap.x", NULL, "x", 1, NULL, on_async_ack, &slots[i]));
    }
    snats_jetstream *gone = f.js;
    snats_jetstream_destroy(f.js);
    CHECK_EVENTUALLY(atomic_load(&st->calls) == N, 10000);
    if (atomic_load(&st->bad) != 0) FAIL("%d bad callbacks: %s", atomic_load(&st->bad), st->bad_text);
    (void)gone;
    CHECK_OK(snats_jetstream_create(&f.js, f.c, NULL));
    CHECK_EQ_INT(stream_messages(f.js, "AP"), N);
    free(slots);
    free(st);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Fetching
 * ---------------------------------------------------------------------------------------- */

/* A stream F on f.> with a pull consumer "w" (explicit acks). */
static void fetch_fixture(jsfix *f, const char *consumer_extra) {
    jsfix_up(f, NULL);
    stream_add(f->js, "{\"name\": \"F\", \"subjects\": [\"f.>\"], \"storage\": \"memory\"}");
    char config[512];
    snprintf(config, sizeof config, "{\"durable_name\": \"w\", \"ack_policy\": \"explicit\"%s}",
             consumer_extra ? consumer_extra : "");
    consumer_add(f->js, "F", config);
}

static void publish_numbered(jsfix *f, const char *subject, int from, int to) {
    for (int i = from; i < to; i++) {
        char text[16];
        snprintf(text, sizeof text, "%d", i);
        pub(f->js, subject, text);
    }
}

static void jetstream_fetch_batch(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    publish_numbered(&f, "f.x", 0, 10);
    snats_msg *msgs[16];
    int count = -1;

    /* A full batch: in order. */
    CHECK_OK(fetch(msgs, 4, &count, &f, "F", "w", harness_ms(5000), NULL));
    CHECK_EQ_INT(count, 4);
    for (int i = 0; i < count; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        CHECK_EQ_STR((const char *)snats_msg_data(msgs[i]), want);
        CHECK_EQ_STR(snats_msg_subject(msgs[i]), "f.x");
        CHECK_NOT_NULL(snats_msg_reply(msgs[i]));
        CHECK_OK(snats_js_msg_ack(msgs[i]));
    }
    release_all(msgs, count);

    /* Fewer than asked: the pull expires with the 6 there are. */
    int64_t t0 = harness_now_ms();
    CHECK_OK(fetch(msgs, 10, &count, &f, "F", "w", harness_ms(500), NULL));
    int64_t el = harness_now_ms() - t0;
    CHECK_EQ_INT(count, 6);
    CHECK_EQ_STR((const char *)snats_msg_data(msgs[0]), "4");
    CHECK_EQ_STR((const char *)snats_msg_data(msgs[5]), "9");
    if (el > harness_ms(500) + 1000 + harness_ms(500)) FAIL("a 500 ms pull took %lld ms", (long long)el);
    for (int i = 0; i < count; i++) CHECK_OK(snats_js_msg_ack(msgs[i]));
    release_all(msgs, count);

    /* Nothing there: SNATS_TIMEOUT at the expiry. */
    t0 = harness_now_ms();
    count = -1;
    CHECK_STATUS(fetch(msgs, 5, &count, &f, "F", "w", harness_ms(300), NULL), SNATS_TIMEOUT);
    el = harness_now_ms() - t0;
    CHECK_EQ_INT(count, 0);
    CHECK_API_ERROR(0, 0);
    if (el < harness_ms(250)) FAIL("an empty 300 ms pull ended after %lld ms", (long long)el);
    if (el > harness_ms(300) + 1000 + harness_ms(500)) FAIL("an empty 300 ms pull took %lld ms", (long long)el);

    /* A message there: a batch of 2 ends with it at the expiry. */
    snats_msg *late[2];
    CHECK_OK(snats_js_publish(NULL, f.js, "f.late", NULL, "late", 4, NULL));
    CHECK_OK(fetch(late, 2, &count, &f, "F", "w", harness_ms(300), NULL));
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_STR((const char *)snats_msg_data(late[0]), "late");
    CHECK_OK(snats_js_msg_ack_sync(late[0], harness_ms(5000)));
    release_all(late, count);
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 0);
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_pending"), 0);
    jsfix_down(&f);
}

static void jetstream_fetch_no_wait_and_max_bytes(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    snats_msg *msgs[16];
    int count = -1;

    /* no_wait with nothing there: SNATS_TIMEOUT at once, not at the expiry. */
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(fetch(msgs, 5, &count, &f, "F", "w", harness_ms(10000), "{\"no_wait\": true}"), SNATS_TIMEOUT);
    int64_t el = harness_now_ms() - t0;
    CHECK_EQ_INT(count, 0);
    if (el > harness_ms(2000)) FAIL("an empty no_wait pull took %lld ms", (long long)el);

    /* no_wait with 3 there: the 3, at once. */
    publish_numbered(&f, "f.x", 0, 3);
    t0 = harness_now_ms();
    CHECK_OK(fetch(msgs, 10, &count, &f, "F", "w", harness_ms(10000), "{\"no_wait\": true}"));
    el = harness_now_ms() - t0;
    CHECK_EQ_INT(count, 3);
    if (el > harness_ms(2000)) FAIL("a no_wait pull took %lld ms", (long long)el);
    for (int i = 0; i < count; i++) CHECK_OK(snats_js_msg_ack(msgs[i]));
    release_all(msgs, count);
    /* no_wait false is a normal pull: it waits for its expiry. */
    t0 = harness_now_ms();
    CHECK_STATUS(fetch(msgs, 10, &count, &f, "F", "w", harness_ms(300), "{\"no_wait\": false}"), SNATS_TIMEOUT);
    CHECK(harness_now_ms() - t0 >= harness_ms(250));

    /* max_bytes: 100-byte payloads, at most 250 bytes: one or two of them (the server counts
     * the subject, the reply and the headers too; 2.9 and 2.15 stop at one). */
    char payload[101];
    memset(payload, 'b', 100);
    payload[100] = '\0';
    for (int i = 0; i < 5; i++) pub(f.js, "f.big", payload);
    t0 = harness_now_ms();
    CHECK_OK(fetch(msgs, 5, &count, &f, "F", "w", harness_ms(5000), "{\"max_bytes\": 250}"));
    el = harness_now_ms() - t0;
    CHECK(count >= 1 && count <= 2);
    int first = count;
    /* The server ended the batch: no wait for the expiry. */
    if (el > harness_ms(2500)) FAIL("a max_bytes pull took %lld ms", (long long)el);
    for (int i = 0; i < count; i++) {
        CHECK_EQ_INT(snats_msg_data_len(msgs[i]), 100);
        CHECK_OK(snats_js_msg_ack(msgs[i]));
    }
    release_all(msgs, count);
    /* The others come with the next pull. */
    CHECK_OK(fetch(msgs, 5, &count, &f, "F", "w", harness_ms(1000), NULL));
    CHECK_EQ_INT(count, 5 - first);
    for (int i = 0; i < count; i++) CHECK_OK(snats_js_msg_ack(msgs[i]));
    release_all(msgs, count);

    /* Bad arguments: count set to 0, no pull sent. */
    publish_numbered(&f, "f.x", 0, 1);
    static const char *bad_opts[] = {"{\"max_bytes\": -1}", "{\"heartbeat_ms\": 600}", "{\"heartbeat_ms\": -1}",
                                     "{\"no_wait\": 1}", "{\"batch\": 3}", "[]"};
    for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
        count = -1;
        snats_status s = fetch(msgs, 1, &count, &f, "F", "w", 1000, bad_opts[i]);
        if (s != SNATS_INVALID_ARG) FAIL("fetch options %s gave %s", bad_opts[i], snats_status_text(s));
        CHECK_EQ_INT(count, 0);
    }
    count = -1;
    CHECK_STATUS(snats_js_fetch(msgs, 0, &count, f.js, "F", "w", 1000, NULL), SNATS_INVALID_ARG);
    CHECK_EQ_INT(count, 0);
    CHECK_STATUS(snats_js_fetch(msgs, -1, &count, f.js, "F", "w", 1000, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch(msgs, 1, &count, f.js, "F", "w", 0, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch(NULL, 1, &count, f.js, "F", "w", 1000, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch(msgs, 1, NULL, f.js, "F", "w", 1000, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch(msgs, 1, &count, NULL, "F", "w", 1000, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch(msgs, 1, &count, f.js, NULL, "w", 1000, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch(msgs, 1, &count, f.js, "F", "a.b", 1000, NULL), SNATS_INVALID_ARG);
    /* The message is still there for a valid pull. */
    CHECK_OK(fetch(msgs, 1, &count, &f, "F", "w", harness_ms(2000), "{\"heartbeat_ms\": 500}"));
    CHECK_EQ_INT(count, 1);
    CHECK_OK(snats_js_msg_ack(msgs[0]));
    release_all(msgs, count);
    jsfix_down(&f);
}

/* With heartbeats asked and the server alive, an empty pull ends at its expiry (SNATS_TIMEOUT),
 * not with missed heartbeats. */
static void jetstream_fetch_heartbeat_alive(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    snats_msg *msgs[2];
    int count = -1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(fetch(msgs, 2, &count, &f, "F", "w", harness_ms(1500), "{\"heartbeat_ms\": 200}"), SNATS_TIMEOUT);
    int64_t el = harness_now_ms() - t0;
    CHECK_EQ_INT(count, 0);
    if (el < harness_ms(1400)) FAIL("a 1500 ms pull with heartbeats ended after %lld ms", (long long)el);
    /* Messages come as usual. */
    publish_numbered(&f, "f.x", 0, 2);
    CHECK_OK(fetch(msgs, 2, &count, &f, "F", "w", harness_ms(3000), "{\"heartbeat_ms\": 200}"));
    CHECK_EQ_INT(count, 2);
    for (int i = 0; i < count; i++) CHECK_OK(snats_js_msg_ack(msgs[i]));
    release_all(msgs, count);
    jsfix_down(&f);
}

typedef struct {
    jsfix *f;
    snats_status status;
    int count;
    _Atomic int64_t ended_at;
} hb_fetch;

static void *hb_fetch_run(void *arg) {
    hb_fetch *h = arg;
    snats_msg *msgs[1];
    json_t *opts = J("{\"heartbeat_ms\": %lld}", (long long)harness_ms(250));
    h->status = snats_js_fetch(msgs, 1, &h->count, h->f->js, "F", "w", harness_ms(20000), opts);
    h->ended_at = harness_now_ms();
    json_decref(opts);
    for (int i = 0; i < h->count; i++) snats_msg_release(msgs[i]);
    return NULL;
}

/* The server dies (SIGKILL) during a pull with heartbeats: the fetch ends with
 * SNATS_MISSED_HEARTBEAT soon after, not at its 20 s expiry. */
static void jetstream_fetch_missed_heartbeat(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    hb_fetch h = {.f = &f, .status = SNATS_ERR, .count = -1};
    pthread_t t;
    harness_spawn(&t, hb_fetch_run, &h);
    /* Heartbeats arrive: the pull is still open after several intervals. */
    harness_sleep_ms(harness_ms(1000));
    CHECK_EQ_INT(atomic_load(&h.ended_at), 0);
    int64_t killed_at = harness_now_ms();
    server_kill(&f.srv);
    harness_join(t);
    CHECK_EQ_INT(h.status, SNATS_MISSED_HEARTBEAT);
    CHECK_EQ_INT(h.count, 0);
    int64_t after = h.ended_at - killed_at;
    if (after > harness_ms(2500)) FAIL("the fetch ended %lld ms after the server died", (long long)after);
    snats_jetstream_destroy(f.js);
    snats_conn_destroy(f.c);
}

/* The same through fetch_async, and the codes on the callback's thread. */
typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    int count;
    snats_msg *kept[16];
    char data[16][16];
    bool had_null_array;
    int code;
    int64_t ended_at;
    snats_jetstream *js;
    snats_jetstream *got_js;
    pthread_t caller;
    atomic_int on_caller_thread;
    bool ack_inside;
    bool keep;                /* keep the messages for the test to release */
    _Atomic snats_status info_inside;
} fetch_state;

static void fetch_state_init(fetch_state *st, snats_jetstream *js) {
    memset(st, 0, sizeof *st);
    st->status = SNATS_ERR;
    st->info_inside = SNATS_ERR;
    st->js = js;
    st->caller = pthread_self();
}

static void on_fetched(snats_jetstream *js, snats_status status, snats_msg **msgs, int count, void *closure) {
    fetch_state *st = closure;
    if (atomic_load(&st->calls) != 0) FAIL("a fetch callback ran twice");
    if (pthread_equal(pthread_self(), st->caller)) atomic_store(&st->on_caller_thread, 1);
    st->got_js = js;
    st->count = count;
    st->had_null_array = msgs == NULL;
    if (status != SNATS_OK) snats_js_last_api_error(&st->code, NULL);
    if (count > 16) FAIL("%d messages for a batch of at most 16", count);
    for (int i = 0; i < count; i++) {
        snprintf(st->data[i], sizeof st->data[i], "%s", (const char *)snats_msg_data(msgs[i]));
        if (st->ack_inside && snats_js_msg_ack_sync(msgs[i], harness_ms(5000)) != SNATS_OK)
            FAIL("ack_sync inside the fetch callback: %s", snats_last_error());
        if (st->keep) st->kept[i] = msgs[i];
        else snats_msg_release(msgs[i]);
    }
    if (st->ack_inside) {
        json_t *info = NULL;
        atomic_store(&st->info_inside, snats_js_consumer_info(&info, js, "F", "w"));
        json_decref(info);
    }
    st->ended_at = harness_now_ms();
    atomic_store(&st->status, status);
    atomic_store(&st->calls, 1);
}

static void jetstream_fetch_async(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    publish_numbered(&f, "f.x", 0, 5);
    fetch_state st;

    /* A full batch, acknowledged inside the callback, with a blocking call there. */
    fetch_state_init(&st, f.js);
    st.ack_inside = true;
    CHECK_OK(snats_js_fetch_async(f.js, "F", "w", 5, harness_ms(5000), NULL, on_fetched, &st));
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(st.count, 5);
    CHECK(st.got_js == f.js);
    CHECK(!atomic_load(&st.on_caller_thread));
    for (int i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        CHECK_EQ_STR(st.data[i], want);
    }
    CHECK_EQ_INT(atomic_load(&st.info_inside), SNATS_OK);
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 0);

    /* Messages kept past the callback, acknowledged and released on this thread. */
    publish_numbered(&f, "f.x", 5, 8);
    fetch_state_init(&st, f.js);
    st.keep = true;
    json_t *opts = J("{\"no_wait\": true}");
    CHECK_OK(snats_js_fetch_async(f.js, "F", "w", 10, harness_ms(5000), opts, on_fetched, &st));
    json_decref(opts);
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(st.count, 3);
    for (int i = 0; i < st.count; i++) {
        CHECK_EQ_STR((const char *)snats_msg_data(st.kept[i]), st.data[i]);
        CHECK_OK(snats_js_msg_ack(st.kept[i]));
        CHECK_OK(snats_msg_release(st.kept[i]));
    }

    /* Nothing there: SNATS_TIMEOUT, no messages, a NULL array. */
    fetch_state_init(&st, f.js);
    int64_t t0 = harness_now_ms();
    CHECK_OK(snats_js_fetch_async(f.js, "F", "w", 3, harness_ms(300), NULL, on_fetched, &st));
    CHECK(harness_now_ms() - t0 < harness_ms(250)); /* it does not block */
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_TIMEOUT);
    CHECK_EQ_INT(st.count, 0);
    CHECK(st.ended_at - t0 >= harness_ms(250));

    /* The consumer deleted during the pull: the server ends it with 409. */
    fetch_state_init(&st, f.js);
    CHECK_OK(snats_js_fetch_async(f.js, "F", "w", 3, harness_ms(10000), NULL, on_fetched, &st));
    harness_sleep_ms(harness_ms(200));
    CHECK_EQ_INT(atomic_load(&st.calls), 0);
    t0 = harness_now_ms();
    CHECK_OK(snats_js_consumer_delete(f.js, "F", "w"));
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 5000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_JS_API_ERROR);
    CHECK_EQ_INT(st.code, 409);
    CHECK(st.ended_at - t0 < harness_ms(3000));

    /* Refused at once: the callback never runs. */
    fetch_state_init(&st, f.js);
    CHECK_STATUS(snats_js_fetch_async(f.js, "F", "w", 0, 1000, NULL, on_fetched, &st), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch_async(f.js, "F", "w", 1, 0, NULL, on_fetched, &st), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch_async(f.js, "F", "w", 1, 1000, NULL, NULL, &st), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch_async(f.js, NULL, "w", 1, 1000, NULL, on_fetched, &st), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_fetch_async(NULL, "F", "w", 1, 1000, NULL, on_fetched, &st), SNATS_INVALID_ARG);
    opts = J("{\"heartbeat_ms\": 800}");
    CHECK_STATUS(snats_js_fetch_async(f.js, "F", "w", 1, 1000, opts, on_fetched, &st), SNATS_INVALID_ARG);
    json_decref(opts);
    harness_sleep_ms(harness_ms(200));
    CHECK_EQ_INT(atomic_load(&st.calls), 0);
    jsfix_down(&f);
}

/* The header: the fetch handler's msgs is "NULL when count is 0". */
static void jetstream_fetch_async_empty_null_array(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    fetch_state st;
    fetch_state_init(&st, f.js);
    json_t *opts = J("{\"no_wait\": true}");
    CHECK_OK(snats_js_fetch_async(f.js, "F", "w", 3, harness_ms(1000), opts, on_fetched, &st));
    json_decref(opts);
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_TIMEOUT);
    CHECK_EQ_INT(st.count, 0);
    if (!st.had_null_array) FAIL("the fetch handler got count 0 with a non-NULL msgs array");
    jsfix_down(&f);
}

/* fetch_async with heartbeats: the server killed, the callback gets SNATS_MISSED_HEARTBEAT. */
static void jetstream_fetch_async_missed_heartbeat(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    fetch_state st;
    fetch_state_init(&st, f.js);
    json_t *opts = J("{\"heartbeat_ms\": %lld}", (long long)harness_ms(250));
    CHECK_OK(snats_js_fetch_async(f.js, "F", "w", 1, harness_ms(20000), opts, on_fetched, &st));
    json_decref(opts);
    harness_sleep_ms(harness_ms(1000));
    CHECK_EQ_INT(atomic_load(&st.calls), 0);
    int64_t killed_at = harness_now_ms();
    server_kill(&f.srv);
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 5000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_MISSED_HEARTBEAT);
    CHECK_EQ_INT(st.count, 0);
    if (st.ended_at - killed_at > harness_ms(2500))
        FAIL("the fetch ended %lld ms after the server died", (long long)(st.ended_at - killed_at));
    snats_jetstream_destroy(f.js);
    snats_conn_destroy(f.c);
}

/* A pull on a consumer that does not exist: the fetch's @retval says SNATS_NO_RESPONDERS at
 * once (2.10+), or the expiry's SNATS_TIMEOUT on 2.9 servers, which say nothing. */
static void jetstream_fetch_missing_consumer(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    snats_msg *msgs[1];
    int count = -1;
    snats_status s = fetch(msgs, 1, &count, &f, "F", "nope", harness_ms(1000), NULL);
    int code = 0, err = 0;
    snats_js_last_api_error(&code, &err);
    CHECK_EQ_INT(count, 0);
    CHECK(s != SNATS_OK);
    /* Servers before 2.10 take the pull into their catch-all API subscription and never
     * answer: the pull expires. */
    if (!SERVER_AT_LEAST(2, 10, 0) && s == SNATS_TIMEOUT) {
        jsfix_down(&f);
        return;
    }
    if (s != SNATS_NO_RESPONDERS)
        FAIL("a pull on a missing consumer gave %s (code %d, err_code %d: %s); the fetch's @retval says "
             "SNATS_NO_RESPONDERS", snats_status_text(s), code, err, snats_last_error());
    jsfix_down(&f);
}

/* A context on a connection closed since: every call fails with SNATS_CONNECTION_CLOSED,
 * and an asynchronous publish awaiting its ack at the close gets it in its callback. */
static void jetstream_closed_connection(void) {
    jsfix f;
    char options[64];
    snprintf(options, sizeof options, "{\"timeout_ms\": %lld}", (long long)harness_ms(10000));
    jsfix_up(&f, options);
    stream_add(f.js, "{\"name\": \"F\", \"subjects\": [\"f.>\"], \"storage\": \"memory\"}");
    consumer_add(f.js, "F", "{\"durable_name\": \"w\", \"ack_policy\": \"explicit\"}");
    pub(f.js, "f.x", "x");
    snats_msg *msgs[1];
    int count = 0;
    CHECK_OK(snats_js_fetch(msgs, 1, &count, f.js, "F", "w", harness_ms(5000), NULL));
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, f.c, "silent.close"));
    CHECK_OK(snats_conn_flush(f.c, harness_ms(5000)));
    one_state st;
    one_init(&st, f.js);
    CHECK_OK(snats_js_publish_async(f.js, "silent.close", NULL, "x", 1, NULL, on_one, &st));
    int64_t t0 = harness_now_ms();
    snats_conn_close(f.c);
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(5000)));
    CHECK_EQ_INT(atomic_load(&st.calls), 1);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_CONNECTION_CLOSED);
    CHECK(harness_now_ms() - t0 < harness_ms(3000));

    json_t *info = (json_t *)0x1;
    CHECK_STATUS(snats_js_account_info(&info, f.js), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(info);
    CHECK_STATUS(snats_js_stream_info(&info, f.js, "F", NULL), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_js_call(&info, f.js, "stream_names", NULL), SNATS_CONNECTION_CLOSED);
    call_state cs;
    call_state_init(&cs);
    CHECK_STATUS(snats_js_call_async(f.js, "account_info", NULL, on_call, &cs), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_js_publish(NULL, f.js, "f.x", NULL, "x", 1, NULL), SNATS_CONNECTION_CLOSED);
    one_init(&st, f.js);
    CHECK_STATUS(snats_js_publish_async(f.js, "f.x", NULL, "x", 1, NULL, on_one, &st), SNATS_CONNECTION_CLOSED);
    snats_msg *more[1];
    int n = -1;
    CHECK_STATUS(snats_js_fetch(more, 1, &n, f.js, "F", "w", 1000, NULL), SNATS_CONNECTION_CLOSED);
    CHECK_EQ_INT(n, 0);
    fetch_state fs;
    fetch_state_init(&fs, f.js);
    CHECK_STATUS(snats_js_fetch_async(f.js, "F", "w", 1, 1000, NULL, on_fetched, &fs), SNATS_CONNECTION_CLOSED);
    /* Acknowledging a message of the closed connection. */
    CHECK_STATUS(snats_js_msg_ack(msgs[0]), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_js_msg_ack_sync(msgs[0], 1000), SNATS_CONNECTION_CLOSED);
    release_all(msgs, count);
    harness_sleep_ms(harness_ms(200));
    CHECK_EQ_INT(atomic_load(&st.calls), 0);
    CHECK_EQ_INT(atomic_load(&cs.calls), 0);
    CHECK_EQ_INT(atomic_load(&fs.calls), 0);
    snats_sub_destroy(silent);
    jsfix_down(&f);
}

typedef struct {
    jsfix *f;
    _Atomic snats_status status;
    int count;
    _Atomic int64_t ended_at;
} close_fetch;

static void *close_fetch_run(void *arg) {
    close_fetch *h = arg;
    snats_msg *msgs[1];
    h->status = snats_js_fetch(msgs, 1, &h->count, h->f->js, "F", "w", harness_ms(10000), NULL);
    atomic_store(&h->ended_at, harness_now_ms());
    for (int i = 0; i < h->count; i++) snats_msg_release(msgs[i]);
    return NULL;
}

/* The connection closed during a pull: as snats_request() (SNATS_CONNECTION_CLOSED at once),
 * not the pull's 10 s expiry. */
static void jetstream_close_during_fetch(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    close_fetch h = {.f = &f, .status = SNATS_ERR, .count = -1};
    pthread_t t;
    harness_spawn(&t, close_fetch_run, &h);
    fetch_state st;
    fetch_state_init(&st, f.js);
    CHECK_OK(snats_js_fetch_async(f.js, "F", "w", 1, harness_ms(10000), NULL, on_fetched, &st));
    harness_sleep_ms(harness_ms(300));
    CHECK_EQ_INT(atomic_load(&h.ended_at), 0);
    int64_t closed_at = harness_now_ms();
    snats_conn_close(f.c);
    harness_join(t);
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 15000);
    int64_t blocking_after = atomic_load(&h.ended_at) - closed_at, async_after = st.ended_at - closed_at;
    if (atomic_load(&h.status) != SNATS_CONNECTION_CLOSED || blocking_after > harness_ms(2000))
        FAIL("a blocking fetch ended %lld ms after the close with %s", (long long)blocking_after,
             snats_status_text(atomic_load(&h.status)));
    if (atomic_load(&st.status) != SNATS_CONNECTION_CLOSED || async_after > harness_ms(2000))
        FAIL("an asynchronous fetch ended %lld ms after the close with %s", (long long)async_after,
             snats_status_text(atomic_load(&st.status)));
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Acknowledgements
 * ---------------------------------------------------------------------------------------- */

static snats_msg *fetch_one(jsfix *f, const char *consumer, int64_t expires_ms) {
    snats_msg *msgs[1];
    int count = 0;
    snats_status s = snats_js_fetch(msgs, 1, &count, f->js, "F", consumer, expires_ms, NULL);
    if (s != SNATS_OK) FAIL("fetch_one: %s (%s)", snats_status_text(s), snats_last_error());
    CHECK_EQ_INT(count, 1);
    return msgs[0];
}

static long long delivered_count(snats_msg *m) {
    json_t *meta = NULL;
    CHECK_OK(snats_js_msg_metadata(&meta, m));
    long long n = JINT(meta, "num_delivered");
    json_decref(meta);
    return n;
}

static void jetstream_ack_final_once(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    publish_numbered(&f, "f.x", 0, 4);
    /* ack: every final acknowledgement after it is refused; in_progress is not final but
     * goes nowhere useful now. */
    snats_msg *m = fetch_one(&f, "w", harness_ms(5000));
    CHECK_OK(snats_js_msg_ack(m));
    CHECK_STATUS(snats_js_msg_ack(m), SNATS_ILLEGAL_STATE);
    CHECK(strlen(snats_last_error()) > 0);
    CHECK_STATUS(snats_js_msg_nak(m, 0), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_msg_term(m, NULL), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_msg_ack_sync(m, harness_ms(1000)), SNATS_ILLEGAL_STATE);
    snats_msg_release(m);
    /* nak, then ack refused. */
    m = fetch_one(&f, "w", harness_ms(5000));
    CHECK_OK(snats_js_msg_nak(m, harness_ms(60000)));
    CHECK_STATUS(snats_js_msg_ack(m), SNATS_ILLEGAL_STATE);
    snats_msg_release(m);
    /* term, then nak refused. */
    m = fetch_one(&f, "w", harness_ms(5000));
    CHECK_OK(snats_js_msg_term(m, "bad input"));
    CHECK_STATUS(snats_js_msg_nak(m, 0), SNATS_ILLEGAL_STATE);
    snats_msg_release(m);
    /* in_progress any number of times, then ack_sync, then everything final refused. */
    m = fetch_one(&f, "w", harness_ms(5000));
    CHECK_OK(snats_js_msg_in_progress(m));
    CHECK_OK(snats_js_msg_in_progress(m));
    CHECK_OK(snats_js_msg_ack_sync(m, harness_ms(5000)));
    CHECK_STATUS(snats_js_msg_ack_sync(m, harness_ms(1000)), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_msg_ack(m), SNATS_ILLEGAL_STATE);
    snats_msg_release(m);

    /* Not a consumer's message: a core message, refused. */
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, f.c, "core.x"));
    CHECK_OK(snats_conn_flush(f.c, harness_ms(5000)));
    CHECK_OK(snats_publish_request(f.c, "core.x", "some.reply", "x", 1));
    snats_msg *core = NULL;
    CHECK_OK(snats_sub_next_msg(&core, sub, harness_ms(5000)));
    CHECK_STATUS(snats_js_msg_ack(core), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_msg_ack_sync(core, 1000), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_msg_nak(core, 0), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_msg_term(core, NULL), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_msg_in_progress(core), SNATS_ILLEGAL_STATE);
    json_t *meta = (json_t *)0x1;
    CHECK_STATUS(snats_js_msg_metadata(&meta, core), SNATS_INVALID_ARG);
    CHECK_NULL(meta);
    snats_msg_release(core);
    snats_sub_destroy(sub);

    /* NULL and bad values. */
    CHECK_STATUS(snats_js_msg_ack(NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_msg_ack_sync(NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_msg_nak(NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_msg_term(NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_msg_in_progress(NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_msg_metadata(&meta, NULL), SNATS_INVALID_ARG);
    publish_numbered(&f, "f.x", 4, 5);
    m = fetch_one(&f, "w", harness_ms(5000));
    CHECK_STATUS(snats_js_msg_nak(m, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_msg_ack_sync(m, 0), SNATS_INVALID_ARG);
    /* Neither counted as an acknowledgement: the ack still goes. */
    CHECK_OK(snats_js_msg_ack_sync(m, harness_ms(5000)));
    snats_msg_release(m);
    jsfix_down(&f);
}

/* ack_sync: once it returns the server has recorded the ack. */
static void jetstream_ack_sync_recorded(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    publish_numbered(&f, "f.x", 0, 20);
    snats_msg *msgs[20];
    int count = 0;
    CHECK_OK(fetch(msgs, 20, &count, &f, "F", "w", harness_ms(5000), NULL));
    CHECK_EQ_INT(count, 20);
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 20);
    for (int i = 0; i < count; i++) {
        CHECK_OK(snats_js_msg_ack_sync(msgs[i], harness_ms(5000)));
        /* No waiting: the ack is recorded by now. */
        CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 19 - i);
    }
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "ack_floor.stream_seq"), 20);
    release_all(msgs, count);
    jsfix_down(&f);
}

static void jetstream_nak_redelivery(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    publish_numbered(&f, "f.x", 0, 1);
    snats_msg *m = fetch_one(&f, "w", harness_ms(5000));
    CHECK_EQ_INT(delivered_count(m), 1);
    CHECK_EQ_STR((const char *)snats_msg_data(m), "0");

    /* nak with a delay: not before the delay... */
    int64_t delay = harness_ms(800);
    int64_t t0 = harness_now_ms();
    CHECK_OK(snats_js_msg_nak(m, delay));
    snats_msg_release(m);
    snats_msg *msgs[1];
    int count = -1;
    CHECK_STATUS(fetch(msgs, 1, &count, &f, "F", "w", harness_ms(5000), "{\"no_wait\": true}"), SNATS_TIMEOUT);
    CHECK_EQ_INT(count, 0);
    /* ...then again, its second delivery. */
    m = fetch_one(&f, "w", harness_ms(10000));
    int64_t el = harness_now_ms() - t0;
    if (el < delay - 100) FAIL("the message came again %lld ms after a nak of %lld ms", (long long)el, (long long)delay);
    CHECK_EQ_STR((const char *)snats_msg_data(m), "0");
    CHECK_EQ_INT(delivered_count(m), 2);
    json_t *meta = NULL;
    CHECK_OK(snats_js_msg_metadata(&meta, m));
    CHECK_EQ_INT(JINT(meta, "sequence.stream"), 1);
    CHECK_EQ_INT(JINT(meta, "sequence.consumer"), 2);
    json_decref(meta);

    /* nak without a delay: again at once. */
    CHECK_OK(snats_js_msg_nak(m, 0));
    snats_msg_release(m);
    m = fetch_one(&f, "w", harness_ms(3000));
    CHECK_EQ_INT(delivered_count(m), 3);
    CHECK_OK(snats_js_msg_ack_sync(m, harness_ms(5000)));
    snats_msg_release(m);
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_redelivered"), 0);
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 0);
    jsfix_down(&f);
}

/* term: never again; an unacknowledged message comes back after ack_wait; in_progress holds it. */
static void jetstream_term_and_in_progress(void) {
    jsfix f;
    char extra[128];
    long long ack_wait_ms = harness_ms(1000);
    snprintf(extra, sizeof extra, ", \"ack_wait\": %lld", ack_wait_ms * 1000000LL);
    fetch_fixture(&f, extra);
    publish_numbered(&f, "f.x", 0, 2);
    snats_msg *msgs[2];
    int count = 0;
    CHECK_OK(fetch(msgs, 2, &count, &f, "F", "w", harness_ms(5000), NULL));
    CHECK_EQ_INT(count, 2);
    /* 0 is terminated; 1 is left alone: after ack_wait only 1 comes again. */
    CHECK_OK(snats_js_msg_term(msgs[0], NULL));
    release_all(msgs, count);
    snats_msg *again = fetch_one(&f, "w", harness_ms(5000));
    CHECK_EQ_STR((const char *)snats_msg_data(again), "1");
    CHECK_EQ_INT(delivered_count(again), 2);
    /* in_progress every third of ack_wait for twice ack_wait: it does not come again. */
    int64_t until = harness_now_ms() + 2 * ack_wait_ms;
    while (harness_now_ms() < until) {
        CHECK_OK(snats_js_msg_in_progress(again));
        harness_sleep_ms(ack_wait_ms / 3);
    }
    count = -1;
    CHECK_STATUS(fetch(msgs, 2, &count, &f, "F", "w", harness_ms(5000), "{\"no_wait\": true}"), SNATS_TIMEOUT);
    CHECK_EQ_INT(count, 0);
    CHECK_OK(snats_js_msg_ack_sync(again, harness_ms(5000)));
    snats_msg_release(again);
    /* Nothing more: 0 was terminated, 1 acknowledged. */
    CHECK_STATUS(fetch(msgs, 2, &count, &f, "F", "w", ack_wait_ms + harness_ms(500), NULL), SNATS_TIMEOUT);
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 0);
    jsfix_down(&f);
}

static void jetstream_metadata(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    publish_numbered(&f, "f.other", 0, 2); /* stream 1, 2 */
    publish_numbered(&f, "f.x", 0, 3);     /* stream 3, 4, 5 */
    time_t now = time(NULL);
    snats_msg *msgs[5];
    int count = 0;
    CHECK_OK(fetch(msgs, 5, &count, &f, "F", "w", harness_ms(5000), NULL));
    CHECK_EQ_INT(count, 5);
    for (int i = 0; i < count; i++) {
        json_t *meta = NULL;
        CHECK_OK(snats_js_msg_metadata(&meta, msgs[i]));
        CHECK_EQ_STR(JSTR(meta, "stream"), "F");
        CHECK_EQ_STR(JSTR(meta, "consumer"), "w");
        CHECK(json_is_null(json_object_get(meta, "domain")));
        CHECK_EQ_INT(JINT(meta, "num_delivered"), 1);
        CHECK_EQ_INT(JINT(meta, "sequence.stream"), i + 1);
        CHECK_EQ_INT(JINT(meta, "sequence.consumer"), i + 1);
        CHECK_EQ_INT(JINT(meta, "num_pending"), 4 - i);
        long long ts = JINT(meta, "timestamp");
        long long secs = ts / 1000000000LL;
        if (secs < (long long)now - 60 || secs > (long long)now + 60) FAIL("timestamp %lld is not now", ts);
        /* The same from the reply subject. */
        json_t *same = NULL;
        CHECK_OK(snats_js_metadata(&same, snats_msg_reply(msgs[i])));
        CHECK(json_equal(meta, same));
        json_decref(same);
        json_decref(meta);
        CHECK_OK(snats_js_msg_ack(msgs[i]));
    }
    release_all(msgs, count);

    /* The two reply formats, parsed. */
    json_t *meta = NULL;
    CHECK_OK(snats_js_metadata(&meta, "$JS.ACK.ORDERS.worker.3.1042.17.1700000000123456789.5"));
    CHECK_EQ_STR(JSTR(meta, "stream"), "ORDERS");
    CHECK_EQ_STR(JSTR(meta, "consumer"), "worker");
    CHECK(json_is_null(json_object_get(meta, "domain")));
    CHECK_EQ_INT(JINT(meta, "num_delivered"), 3);
    CHECK_EQ_INT(JINT(meta, "sequence.stream"), 1042);
    CHECK_EQ_INT(JINT(meta, "sequence.consumer"), 17);
    CHECK_EQ_INT(JINT(meta, "timestamp"), 1700000000123456789LL);
    CHECK_EQ_INT(JINT(meta, "num_pending"), 5);
    json_decref(meta);
    CHECK_OK(snats_js_metadata(&meta, "$JS.ACK.hub.ACCHASH.ORDERS.worker.1.2.3.1700000000000000000.0.tok"));
    CHECK_EQ_STR(JSTR(meta, "domain"), "hub");
    CHECK_EQ_STR(JSTR(meta, "stream"), "ORDERS");
    CHECK_EQ_INT(JINT(meta, "sequence.stream"), 2);
    CHECK_EQ_INT(JINT(meta, "sequence.consumer"), 3);
    json_decref(meta);
    CHECK_OK(snats_js_metadata(&meta, "$JS.ACK._.ACCHASH.S.C.1.2.3.4.0.tok"));
    CHECK(json_is_null(json_object_get(meta, "domain")));
    json_decref(meta);

    static const char *bad[] = {
        "", "foo.bar", "$JS.ACK.S.C.1.2.3", "$JS.ACK.S.C.x.2.3.4.5", "$JS.API.S.C.1.2.3.4.5", "$JS.ACK.S.C.1.2.3.4.5.6",
        "_INBOX.abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        meta = (json_t *)0x1;
        snats_status s = snats_js_metadata(&meta, bad[i]);
        if (s != SNATS_INVALID_ARG) FAIL("metadata of \"%s\": %s", bad[i], snats_status_text(s));
        CHECK_NULL(meta);
    }
    CHECK_STATUS(snats_js_metadata(&meta, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_metadata(NULL, "$JS.ACK.S.C.1.2.3.4.5"), SNATS_INVALID_ARG);
    jsfix_down(&f);
}

/* Acknowledging by reply subject, for bindings. */
static void jetstream_ack_reply(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    publish_numbered(&f, "f.x", 0, 4);
    snats_msg *msgs[4];
    int count = 0;
    CHECK_OK(fetch(msgs, 4, &count, &f, "F", "w", harness_ms(5000), NULL));
    CHECK_EQ_INT(count, 4);
    char replies[4][256];
    for (int i = 0; i < 4; i++) snprintf(replies[i], sizeof replies[i], "%s", snats_msg_reply(msgs[i]));
    release_all(msgs, count);

    /* 0: ack, waiting for the confirmation. */
    CHECK_OK(snats_js_ack_reply(f.c, replies[0], SNATS_JS_ACK, 0, NULL, harness_ms(5000)));
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 3);
    /* 1: term with a reason. 2: in progress, then ack (send only). */
    CHECK_OK(snats_js_ack_reply(f.c, replies[1], SNATS_JS_TERM, 0, "no good", 0));
    CHECK_OK(snats_js_ack_reply(f.c, replies[2], SNATS_JS_IN_PROGRESS, 0, NULL, 0));
    CHECK_OK(snats_js_ack_reply(f.c, replies[2], SNATS_JS_ACK, 0, NULL, 0));
    /* The library does not track these: the same reply again is sent again. */
    CHECK_OK(snats_js_ack_reply(f.c, replies[2], SNATS_JS_ACK, 0, NULL, 0));
    /* 3: nak at once: it comes again. */
    CHECK_OK(snats_js_ack_reply(f.c, replies[3], SNATS_JS_NAK, 0, NULL, 0));
    snats_msg *m = fetch_one(&f, "w", harness_ms(5000));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "3");
    CHECK_EQ_INT(delivered_count(m), 2);
    /* And a nak with a delay through the reply. */
    char reply[256];
    snprintf(reply, sizeof reply, "%s", snats_msg_reply(m));
    snats_msg_release(m);
    int64_t t0 = harness_now_ms();
    CHECK_OK(snats_js_ack_reply(f.c, reply, SNATS_JS_NAK, harness_ms(600), NULL, 0));
    count = -1;
    CHECK_STATUS(fetch(msgs, 1, &count, &f, "F", "w", harness_ms(5000), "{\"no_wait\": true}"), SNATS_TIMEOUT);
    m = fetch_one(&f, "w", harness_ms(10000));
    CHECK(harness_now_ms() - t0 >= harness_ms(600) - 100);
    CHECK_EQ_INT(delivered_count(m), 3);
    snprintf(reply, sizeof reply, "%s", snats_msg_reply(m));
    snats_msg_release(m);
    CHECK_OK(snats_js_ack_reply(f.c, reply, SNATS_JS_ACK, 0, NULL, harness_ms(5000)));
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 0);

    /* Not an acknowledgement subject; bad kinds and values. */
    CHECK_STATUS(snats_js_ack_reply(f.c, "_INBOX.abc", SNATS_JS_ACK, 0, NULL, 0), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_ack_reply(f.c, "_INBOX.abc", SNATS_JS_ACK, 0, NULL, 1000), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_ack_reply(f.c, replies[0], 7, 0, NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_ack_reply(f.c, replies[0], -1, 0, NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_ack_reply(f.c, replies[0], SNATS_JS_NAK, -5, NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_ack_reply(f.c, NULL, SNATS_JS_ACK, 0, NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_ack_reply(NULL, replies[0], SNATS_JS_ACK, 0, NULL, 0), SNATS_INVALID_ARG);
    jsfix_down(&f);
}

/* A pull consumer read by several threads at once: every message exactly once. */
typedef struct {
    jsfix *f;
    int got;
    int seen[200];
    char error[256];
} pull_worker;

static void *pull_worker_run(void *arg) {
    pull_worker *w = arg;
    for (;;) {
        snats_msg *msgs[7];
        int count = 0;
        snats_status s = snats_js_fetch(msgs, 7, &count, w->f->js, "F", "w", harness_ms(700), NULL);
        if (s == SNATS_TIMEOUT) return NULL;
        if (s != SNATS_OK) {
            snprintf(w->error, sizeof w->error, "fetch: %s (%s)", snats_status_text(s), snats_last_error());
            return NULL;
        }
        for (int i = 0; i < count; i++) {
            int n = atoi((const char *)snats_msg_data(msgs[i]));
            if (n >= 0 && n < 200) w->seen[n]++;
            w->got++;
            if (snats_js_msg_ack_sync(msgs[i], harness_ms(5000)) != SNATS_OK)
                snprintf(w->error, sizeof w->error, "ack_sync: %s", snats_last_error());
            snats_msg_release(msgs[i]);
        }
    }
}

static void jetstream_fetch_concurrent_workers(void) {
    jsfix f;
    fetch_fixture(&f, NULL);
    enum { N = 200, W = 4 };
    publish_numbered(&f, "f.x", 0, N);
    pull_worker workers[W];
    pthread_t threads[W];
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < W; i++) {
        workers[i].f = &f;
        harness_spawn(&threads[i], pull_worker_run, &workers[i]);
    }
    for (int i = 0; i < W; i++) harness_join(threads[i]);
    int total = 0;
    for (int i = 0; i < W; i++) {
        if (workers[i].error[0]) FAIL("worker %d: %s", i, workers[i].error);
        total += workers[i].got;
    }
    CHECK_EQ_INT(total, N);
    for (int n = 0; n < N; n++) {
        int times = 0;
        for (int i = 0; i < W; i++) times += workers[i].seen[n];
        if (times != 1) FAIL("message %d was handled %d times", n, times);
    }
    CHECK_EQ_INT(consumer_int(f.js, "F", "w", "num_ack_pending"), 0);
    jsfix_down(&f);
}

const test_case jetstream_tests[] = {
    TEST(jetstream_context_options),
    TEST(jetstream_create_on_closed_connection),
    TEST(jetstream_domain),
    TEST(jetstream_account_info),
    TEST(jetstream_not_enabled),
    TEST(jetstream_stream_add_update_info),
    TEST(jetstream_stream_list_names_delete),
    TEST(jetstream_stream_list_pages),
    TEST(jetstream_stream_purge),
    TEST(jetstream_stream_get_msg),
    TEST(jetstream_stream_direct_get),
    TEST(jetstream_stream_direct_get_not_allowed),
    TEST(jetstream_stream_delete_msg),
    TEST(jetstream_stream_delete_msg_missing),
    TEST(jetstream_consumer_lifecycle),
    TEST(jetstream_consumer_conflicts),
    TEST(jetstream_consumer_bad_filter),
    TEST(jetstream_push_consumer),
    TEST(jetstream_call),
    TEST(jetstream_call_async),
    TEST(jetstream_publish_ack),
    TEST(jetstream_publish_async_window),
    TEST(jetstream_publish_async_failures),
    TEST(jetstream_publish_async_window_full),
    TEST(jetstream_destroy_with_publishes_in_flight),
    TEST(jetstream_fetch_batch),
    TEST(jetstream_fetch_no_wait_and_max_bytes),
    TEST(jetstream_fetch_heartbeat_alive),
    TEST(jetstream_fetch_missed_heartbeat),
    TEST(jetstream_fetch_async),
    TEST(jetstream_fetch_async_empty_null_array),
    TEST(jetstream_fetch_async_missed_heartbeat),
    TEST(jetstream_fetch_missing_consumer),
    TEST(jetstream_closed_connection),
    TEST(jetstream_close_during_fetch),
    TEST(jetstream_ack_final_once),
    TEST(jetstream_ack_sync_recorded),
    TEST(jetstream_nak_redelivery),
    TEST(jetstream_term_and_in_progress),
    TEST(jetstream_metadata),
    TEST(jetstream_ack_reply),
    TEST(jetstream_fetch_concurrent_workers),
};
HARNESS_TABLE_COUNT(jetstream);
