/*
 * test_integrity.c - Data that used to be corrupted or lost without a word, through the header:
 * JSON keys with escapes and non-ASCII bytes, the nesting rule shared with Jansson, multi-line
 * RPC and micro errors, empty streams, the reconnect buffer against a smaller max_payload,
 * why a connection dropped (snats_conn_last_error), discovery replies that are not micro
 * documents.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MULTILINE "Traceback:\n  File \"x.py\", line 1\nValueError: bad"

/* ---- JSON ---- */

static void integrity_json_keys_round_trip(void) {
    const char *docs[] = {
        "{\"caf\xc3\xa9\":1}", "{\"a\\\\b\":2}", "[\"a\\nb\",{\"x\\ty\":1}]",
        "{\"\xe5\x90\x8d\xe5\x89\x8d\":\"x\"}", "{\"k\\\"q\":{\"\\u00e9\\n\":[\"\\u00fc\"]}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_t *ours = NULL;
        CHECK_OK(snats_json_loads(&ours, docs[i]));
        json_t *theirs = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        CHECK_NOT_NULL(theirs);
        CHECK(json_equal(ours, theirs));
        char *text = NULL;
        CHECK_OK(snats_json_dumps(&text, ours));
        json_t *again = json_loads(text, JSON_DECODE_ANY, NULL);
        CHECK(json_equal(again, theirs));
        json_decref(again);
        snats_free(text);
        json_decref(ours);
        json_decref(theirs);
    }
    json_t *doc = NULL;
    CHECK_OK(snats_json_loads(&doc, "{\"caf\xc3\xa9\":1}"));
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "caf\xc3\xa9")), 1);
    json_decref(doc);
}

/* Every value is a level, as in Jansson: 2047 arrays may hold a number, 2048 may not. */
static char *nested(int arrays, const char *inner) {
    size_t len = strlen(inner);
    char *text = malloc((size_t)arrays * 2 + len + 1);
    CHECK_NOT_NULL(text);
    memset(text, '[', (size_t)arrays);
    memcpy(text + arrays, inner, len);
    memset(text + arrays + len, ']', (size_t)arrays);
    text[arrays * 2 + len] = '\0';
    return text;
}

static void integrity_json_depth_rule_matches_jansson(void) {
    struct {
        int arrays;
        const char *inner;
    } cases[] = {{2048, ""}, {2047, "1"}, {2048, "1"}, {2049, ""}, {2047, "{\"a\":1}"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = nested(cases[i].arrays, cases[i].inner);
        json_t *ours = NULL;
        snats_status s = snats_json_loads(&ours, text);
        json_t *theirs = json_loads(text, JSON_DECODE_ANY, NULL);
        CHECK_EQ_INT(s == SNATS_OK, theirs != NULL);
        if (s != SNATS_OK) CHECK_STATUS(s, SNATS_INVALID_JSON);
        json_decref(ours);
        json_decref(theirs);
        free(text);
    }
}

/* ---- RPC ---- */

static void fail_multiline(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    snats_rpc_request_fail(req, MULTILINE, NULL);
}

static void stream_then_fail(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    json_t *one = json_integer(1);
    snats_rpc_request_send_item(req, one);
    json_decref(one);
    snats_rpc_request_error(req, -32001, MULTILINE, NULL);
}

static void nothing(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    CHECK_OK(snats_rpc_request_end_stream(req));
    CHECK_STATUS(snats_rpc_request_end_stream(req), SNATS_ILLEGAL_STATE);
}

static void empty_message(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    snats_rpc_request_error(req, -32002, "", NULL);
}

static void integrity_rpc_replies_are_never_lost(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_rpc_server *server = NULL;
    CHECK_OK(snats_rpc_server_create(&server, c, "integrity", NULL));
    CHECK_OK(snats_rpc_server_register(server, "boom", NULL, NULL, 0, fail_multiline, NULL));
    CHECK_OK(snats_rpc_server_register(server, "half", NULL, NULL, 0, stream_then_fail, NULL));
    CHECK_OK(snats_rpc_server_register(server, "nothing", NULL, NULL, 0, nothing, NULL));
    CHECK_OK(snats_rpc_server_register(server, "mute", NULL, NULL, 0, empty_message, NULL));
    CHECK_OK(snats_rpc_server_start(server, NULL));
    snats_rpc_client *client = NULL;
    CHECK_OK(snats_rpc_client_create(&client, c, "integrity"));

    /* A multi-line message: answered at once, whole, with a one-line header. */
    json_t *result = NULL, *error = NULL;
    int64_t started = harness_now_ms();
    CHECK_STATUS(snats_rpc_client_call(&result, &error, client, "boom", NULL, harness_ms(5000)), SNATS_RPC_ERROR);
    CHECK(harness_now_ms() - started < harness_ms(4000));
    CHECK_EQ_STR(json_string_value(json_object_get(error, "message")), "Internal error: " MULTILINE);
    json_decref(error);
    snats_msg *raw = NULL;
    const char *body = "{\"id\":\"r\",\"method\":\"boom\"}";
    CHECK_OK(snats_request(&raw, c, "rpc.integrity.boom", body, strlen(body), harness_ms(5000)));
    const char *header = NULL;
    CHECK_OK(snats_headers_get(&header, snats_msg_headers(raw), "Nats-Service-Error"));
    CHECK_EQ_STR(header, "Internal error: Traceback:   File \"x.py\", line 1 ValueError: bad");
    CHECK_OK(snats_msg_release(raw));

    /* In a stream: the item, then the end frame with the error. */
    snats_rpc_stream *stream = NULL;
    json_t *item = NULL;
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "half", NULL, harness_ms(5000)));
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_EQ_INT(json_integer_value(item), 1);
    json_decref(item);
    CHECK_STATUS(snats_rpc_stream_next(&item, &error, stream), SNATS_RPC_ERROR);
    CHECK_EQ_STR(json_string_value(json_object_get(error, "message")), MULTILINE);
    json_decref(error);
    snats_rpc_stream_destroy(stream);

    /* An empty stream is an empty sequence; a plain caller gets []. */
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "nothing", NULL, harness_ms(5000)));
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_NULL(item);
    snats_rpc_stream_destroy(stream);
    CHECK_OK(snats_rpc_client_call(&result, NULL, client, "nothing", NULL, harness_ms(5000)));
    CHECK(json_is_array(result) && json_array_size(result) == 0);
    json_decref(result);

    /* An empty error message is still answered. */
    CHECK_STATUS(snats_rpc_client_call(&result, &error, client, "mute", NULL, harness_ms(5000)), SNATS_RPC_ERROR);
    CHECK_EQ_INT(json_integer_value(json_object_get(error, "code")), -32002);
    json_decref(error);

    CHECK_STATUS(snats_rpc_request_end_stream(NULL), SNATS_INVALID_ARG);
    snats_rpc_client_destroy(client);
    snats_rpc_server_destroy(server);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ---- micro ---- */

static void respond_multiline(snats_micro_request *req, void *closure) {
    (void)closure;
    CHECK_OK(snats_micro_request_respond_error(req, "500", MULTILINE, NULL, NULL, 0));
}

static void integrity_micro_multiline_error_is_answered(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_service_config *cfg = NULL;
    CHECK_OK(snats_service_config_create(&cfg, "multi", "1.0.0"));
    snats_service *svc = NULL;
    CHECK_OK(snats_service_create(&svc, c, cfg));
    snats_service_config_destroy(cfg);
    CHECK_OK(snats_service_add_endpoint(NULL, svc, "fail", NULL, respond_multiline, NULL));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_msg *reply = NULL;
    CHECK_OK(snats_request(&reply, c, "fail", NULL, 0, harness_ms(5000)));
    const char *header = NULL;
    CHECK_OK(snats_headers_get(&header, snats_msg_headers(reply), "Nats-Service-Error"));
    CHECK_EQ_STR(header, "Traceback:   File \"x.py\", line 1 ValueError: bad");
    CHECK_OK(snats_msg_release(reply));
    snats_service_destroy(svc);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ---- the connection ---- */

typedef struct {
    pthread_mutex_t mu;
    int refused_reports;
    char refused_text[4096];
    int discovery_reports;
    snats_status disconnect_status;
    char disconnect_text[256];
    _Atomic int disconnected, reconnected, closed;
    snats_status closed_status;
} events;

static void on_error(snats_conn *conn, snats_sub *sub, snats_status status, const char *text, void *closure) {
    (void)conn;
    (void)sub;
    events *e = closure;
    pthread_mutex_lock(&e->mu);
    if (status == SNATS_PUBLISH_REFUSED) {
        e->refused_reports++;
        snprintf(e->refused_text, sizeof e->refused_text, "%s", text);
    }
    if (status == SNATS_INVALID_JSON && strstr(text, "micro discovery") != NULL) e->discovery_reports++;
    pthread_mutex_unlock(&e->mu);
}

static void on_disconnected(snats_conn *conn, void *closure) {
    events *e = closure;
    const char *text = NULL;
    snats_status s = snats_conn_last_error(&text, conn);
    pthread_mutex_lock(&e->mu);
    e->disconnect_status = s;
    snprintf(e->disconnect_text, sizeof e->disconnect_text, "%s", text ? text : "(null)");
    pthread_mutex_unlock(&e->mu);
    atomic_fetch_add(&e->disconnected, 1);
}

static void on_reconnected(snats_conn *conn, void *closure) {
    (void)conn;
    atomic_fetch_add(&((events *)closure)->reconnected, 1);
}

static void on_closed(snats_conn *conn, void *closure) {
    events *e = closure;
    e->closed_status = snats_conn_last_error(NULL, conn);
    atomic_fetch_add(&e->closed, 1);
}

static int refused_reports(events *e) {
    pthread_mutex_lock(&e->mu);
    int n = e->refused_reports;
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* A connection reporting every event to @p ev (cleared here), reconnecting fast and forever. */
static snats_conn *connect_watched(const char *url, events *ev) {
    memset(ev, 0, sizeof *ev);
    pthread_mutex_init(&ev->mu, NULL);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    CHECK_OK(snats_options_set_reconnect_wait(o, 50));
    CHECK_OK(snats_options_set_reconnect_jitter(o, 0, 0));
    CHECK_OK(snats_options_set_max_reconnect(o, -1));
    CHECK_OK(snats_options_set_error_cb(o, on_error, ev));
    CHECK_OK(snats_options_set_disconnected_cb(o, on_disconnected, ev));
    CHECK_OK(snats_options_set_reconnected_cb(o, on_reconnected, ev));
    CHECK_OK(snats_options_set_closed_cb(o, on_closed, ev));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    return c;
}

static void start_with(test_server *srv, int port, const char *config_text) {
    char port_text[16], path[512];
    snprintf(port_text, sizeof port_text, "%d", port);
    if (config_text == NULL) {
        const char *args[] = {"-p", port_text, NULL};
        server_start_args(srv, args);
        return;
    }
    snprintf(path, sizeof path, "%s/integrity-%d.conf", harness_test_dir(), port);
    FILE *f = fopen(path, "w");
    CHECK_NOT_NULL(f);
    fputs(config_text, f);
    fclose(f);
    const char *args[] = {"-p", port_text, "-c", path, NULL};
    server_start_args(srv, args);
}

static void integrity_replay_against_smaller_max_payload(void) {
    int port = harness_free_port();
    test_server srv;
    start_with(&srv, port, NULL);
    static events ev;
    snats_conn *c = connect_watched(srv.url, &ev);
    CHECK_STATUS(snats_conn_last_error(NULL, c), SNATS_OK);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "replay.>"));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));

    server_stop(&srv);
    CHECK_EVENTUALLY(atomic_load(&ev.disconnected) == 1, 5000);
    pthread_mutex_lock(&ev.mu);
    CHECK_STATUS(ev.disconnect_status, SNATS_IO_ERROR);
    CHECK(strstr(ev.disconnect_text, "the server closed the connection") != NULL);
    pthread_mutex_unlock(&ev.mu);
    static char big[2048];
    memset(big, 'x', sizeof big);
    int expected = 0, refused = 0;
    for (int i = 0; i < 1050; i++) {
        if (i % 100 == 7) {
            char subject[64];
            snprintf(subject, sizeof subject, "replay.big.%d", i);
            CHECK_OK(snats_publish(c, subject, big, sizeof big));
            refused++;
        } else {
            char text[16];
            int n = snprintf(text, sizeof text, "%d", i);
            CHECK_OK(snats_publish(c, "replay.ok", text, (size_t)n));
            expected++;
        }
    }
    start_with(&srv, port, "max_payload: 1024\n");
    CHECK_EVENTUALLY(atomic_load(&ev.reconnected) == 1, 10000);
    int previous = -1;
    for (int i = 0; i < expected; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        int value = atoi(snats_msg_data(m));
        CHECK(value > previous); /* in order */
        previous = value;
        CHECK_OK(snats_msg_release(m));
    }
    CHECK_EVENTUALLY(refused_reports(&ev) == 1, 5000);
    pthread_mutex_lock(&ev.mu);
    CHECK(strstr(ev.refused_text, "11 publishes") != NULL);
    CHECK(strstr(ev.refused_text, "replay.big.7") != NULL);
    pthread_mutex_unlock(&ev.mu);
    uint64_t lost = 0;
    CHECK_OK(snats_conn_get_lost_publishes(&lost, c));
    CHECK_EQ_INT(lost, (uint64_t)refused);
    CHECK_EQ_INT(atomic_load(&ev.disconnected), 1); /* no second outage */
    CHECK_STATUS(snats_conn_last_error(NULL, c), SNATS_OK); /* connected again */
    CHECK_STATUS(snats_conn_get_lost_publishes(NULL, c), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_last_error(NULL, NULL), SNATS_INVALID_ARG);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    CHECK_EQ_INT(atomic_load(&ev.closed), 1);
    /* Reconnected, then closed by us: no reason (a reconnect clears it, as nats.go's). */
    CHECK_STATUS(ev.closed_status, SNATS_OK);
    server_stop(&srv);
}

static void answer_garbage(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)closure;
    snats_msg_respond(msg, "not json", 8);
}

static int discovery_reports(events *e) {
    pthread_mutex_lock(&e->mu);
    int n = e->discovery_reports;
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* A reply on $SRV that is not a micro document is left out, and the error callback says so. */
static void integrity_discovery_reports_ignored_replies(void) {
    test_server srv;
    server_start(&srv);
    static events ev;
    snats_conn *c = connect_watched(srv.url, &ev);
    snats_conn *other = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, other, "$SRV.PING", answer_garbage, NULL));
    CHECK_OK(snats_conn_flush(other, harness_ms(5000)));
    json_t *found = NULL;
    CHECK_OK(snats_micro_ping(&found, c, NULL, NULL, harness_ms(1000), 0));
    CHECK_EQ_INT(json_array_size(found), 0);
    json_decref(found);
    CHECK_EVENTUALLY(discovery_reports(&ev) == 1, 5000);
    snats_sub_destroy(sub);
    snats_conn_destroy(other);
    snats_conn_destroy(c);
    server_stop(&srv);
}

const test_case integrity_tests[] = {
    TEST(integrity_json_keys_round_trip),
    TEST(integrity_json_depth_rule_matches_jansson),
    TEST(integrity_rpc_replies_are_never_lost),
    TEST(integrity_micro_multiline_error_is_answered),
    TEST(integrity_replay_against_smaller_max_payload),
    TEST(integrity_discovery_reports_ignored_replies),
};
HARNESS_TABLE_COUNT(integrity);
