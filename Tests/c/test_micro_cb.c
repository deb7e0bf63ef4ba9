/*
 * test_micro_cb.c - Micro discovery that does not block: snats_micro_ping_cb(), _info_cb() and
 * _stats_cb() give the same documents as the blocking forms, to a callback that runs exactly
 * once (early at max_replies or when no service exists, SNATS_CONNECTION_CLOSED when the
 * connection closes first), on the delivery pool or in the dispatch of the connection's
 * queue; argument checks never call it.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <jansson.h>
#include <stdlib.h>

/* Echoes the request. */
static void echo_handler(snats_micro_request *req, void *closure) {
    (void)closure;
    const snats_msg *m = snats_micro_request_msg(req);
    snats_micro_request_respond(req, NULL, snats_msg_data(m), snats_msg_data_len(m));
}

static json_t *stats_data(const char *endpoint_name, void *closure) {
    (void)closure;
    return json_pack("{s:s}", "endpoint", endpoint_name);
}

/* An instance of service "disco" on @p c, with one endpoint and metadata. */
static snats_service *disco_service(snats_conn *c) {
    snats_service_config *cfg = NULL;
    CHECK_OK(snats_service_config_create(&cfg, "disco", "1.2.3"));
    CHECK_OK(snats_service_config_set_description(cfg, "discovered by callbacks"));
    json_t *meta = json_pack("{s:s}", "team", "swiftnats");
    CHECK_OK(snats_service_config_set_metadata(cfg, meta));
    json_decref(meta);
    CHECK_OK(snats_service_config_set_stats_cb(cfg, stats_data, NULL));
    snats_service *svc = NULL;
    CHECK_OK(snats_service_create(&svc, c, cfg));
    snats_service_config_destroy(cfg);
    CHECK_OK(snats_service_add_endpoint(NULL, svc, "echo", NULL, echo_handler, NULL));
    return svc;
}

typedef snats_status (*discover_cb_fn)(snats_conn *, const char *, const char *, int64_t, int, snats_json_handler,
                                       void *);
typedef snats_status (*discover_fn)(json_t **, snats_conn *, const char *, const char *, int64_t, int);

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    json_t *value;          /* a deep copy of what the callback got (NULL when it got NULL) */
    char error[256];        /* snats_last_error() in the callback, when not SNATS_OK */
    pthread_t caller;       /* the thread that asked: the callback must not run there... */
    pthread_t owner;        /* ...unless it is the dispatch queue's owner (check_owner) */
    bool check_owner;
    atomic_int wrong_thread;
    snats_conn *nested;     /* when set, the callback also makes a blocking INFO gathering there */
    _Atomic snats_status nested_status;
    atomic_int nested_count;
} disco_state;

static void disco_init(disco_state *st) {
    memset(st, 0, sizeof *st);
    st->status = SNATS_ERR;
    st->nested_status = SNATS_ERR;
    st->caller = pthread_self();
}

/* disco_init, and the callback must run on this thread (the dispatch queue's owner). */
static void disco_init_owned(disco_state *st) {
    disco_init(st);
    st->check_owner = true;
    st->owner = pthread_self();
}

static void on_discovered(snats_status status, const json_t *value, void *closure) {
    disco_state *st = closure;
    if (atomic_load(&st->calls) != 0) FAIL("the discovery callback ran twice");
    if (st->check_owner ? !pthread_equal(pthread_self(), st->owner) : pthread_equal(pthread_self(), st->caller))
        atomic_fetch_add(&st->wrong_thread, 1);
    if (status == SNATS_OK) {
        if (!json_is_array(value)) FAIL("SNATS_OK without an array");
        st->value = json_deep_copy(value);
    } else {
        if (value != NULL) FAIL("status %d with a value", (int)status);
        snprintf(st->error, sizeof st->error, "%s", snats_last_error() ? snats_last_error() : "");
    }
    if (st->nested != NULL) { /* blocking functions are allowed in the callback */
        json_t *infos = NULL;
        atomic_store(&st->nested_status, snats_micro_info(&infos, st->nested, "disco", NULL, harness_ms(5000), 1));
        atomic_store(&st->nested_count, (int)json_array_size(infos));
        json_decref(infos);
    }
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

/* Waits for the callback, then makes sure it does not run again. */
static void disco_wait(disco_state *st, int64_t timeout_ms) {
    CHECK_EVENTUALLY(atomic_load(&st->calls) >= 1, timeout_ms);
    harness_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&st->calls), 1);
    CHECK_EQ_INT(atomic_load(&st->wrong_thread), 0);
}

static void micro_discovery_cb_matches_blocking_form(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_service *svc = disco_service(c);
    static const struct { const char *verb, *type; discover_fn blocking; discover_cb_fn cb; } verbs[] = {
        {"PING", "io.nats.micro.v1.ping_response", snats_micro_ping, snats_micro_ping_cb},
        {"INFO", "io.nats.micro.v1.info_response", snats_micro_info, snats_micro_info_cb},
        {"STATS", "io.nats.micro.v1.stats_response", snats_micro_stats, snats_micro_stats_cb},
    };
    static disco_state st;
    for (size_t v = 0; v < 3; v++) {
        for (int by_id = 0; by_id < 2; by_id++) {
            const char *id = by_id ? snats_service_id(svc) : NULL;
            json_t *blocking = NULL;
            CHECK_OK(verbs[v].blocking(&blocking, c, "disco", id, harness_ms(300), 0));
            CHECK_EQ_INT(json_array_size(blocking), 1);
            disco_init(&st);
            int64_t started = harness_now_ms();
            CHECK_OK(verbs[v].cb(c, "disco", id, harness_ms(300), 0, on_discovered, &st));
            CHECK(harness_now_ms() - started < harness_ms(250)); /* does not wait for the answers */
            disco_wait(&st, 5000);
            if (atomic_load(&st.status) != SNATS_OK) FAIL("%s: status %d (%s)", verbs[v].verb, (int)st.status, st.error);
            json_t *doc = json_array_get(st.value, 0);
            CHECK_EQ_STR(json_string_value(json_object_get(doc, "type")), verbs[v].type);
            CHECK_EQ_STR(json_string_value(json_object_get(doc, "id")), snats_service_id(svc));
            if (!json_equal(blocking, st.value)) {
                char *a = json_dumps(blocking, JSON_COMPACT), *b = json_dumps(st.value, JSON_COMPACT);
                FAIL("%s: blocking %s != callback %s", verbs[v].verb, a, b);
            }
            json_decref(blocking);
            json_decref(st.value);
        }
    }
    /* Without a name: every service (here the one). */
    disco_init(&st);
    CHECK_OK(snats_micro_ping_cb(c, NULL, NULL, harness_ms(300), 0, on_discovered, &st));
    disco_wait(&st, 5000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(json_array_size(st.value), 1);
    json_decref(st.value);
    /* A blocking gathering inside the callback. */
    disco_init(&st);
    st.nested = c;
    CHECK_OK(snats_micro_stats_cb(c, "disco", NULL, harness_ms(300), 0, on_discovered, &st));
    disco_wait(&st, 10000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(atomic_load(&st.nested_status), SNATS_OK);
    CHECK_EQ_INT(atomic_load(&st.nested_count), 1);
    json_decref(st.value);
    snats_service_destroy(svc);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void micro_discovery_cb_max_replies_completes_early(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url), *c2 = connect_or_fail(srv.url);
    snats_service *a = disco_service(c), *b = disco_service(c2);
    static disco_state st;
    discover_cb_fn fns[] = {snats_micro_ping_cb, snats_micro_info_cb, snats_micro_stats_cb};
    for (int f = 0; f < 3; f++) {
        for (int max = 1; max <= 2; max++) {
            disco_init(&st);
            int64_t started = harness_now_ms();
            CHECK_OK(fns[f](c, "disco", NULL, harness_ms(20000), max, on_discovered, &st));
            disco_wait(&st, 5000); /* long before the 20 s timeout */
            CHECK(harness_now_ms() - started < harness_ms(5000));
            CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
            CHECK_EQ_INT(json_array_size(st.value), max);
            json_decref(st.value);
        }
    }
    /* Without a limit: both instances, after the timeout. */
    disco_init(&st);
    CHECK_OK(snats_micro_ping_cb(c, "disco", NULL, harness_ms(300), 0, on_discovered, &st));
    disco_wait(&st, 5000);
    CHECK_EQ_INT(json_array_size(st.value), 2);
    json_decref(st.value);
    snats_service_destroy(a);
    snats_service_destroy(b);
    snats_conn_destroy(c);
    snats_conn_destroy(c2);
    server_stop(&srv);
}

static void micro_discovery_cb_without_services_ends_at_once(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    static disco_state st;
    discover_cb_fn fns[] = {snats_micro_ping_cb, snats_micro_info_cb, snats_micro_stats_cb};
    const char *names[] = {"nobody-has-this", NULL}; /* no such service; no service at all */
    for (int f = 0; f < 3; f++) {
        for (int n = 0; n < 2; n++) {
            disco_init(&st);
            int64_t started = harness_now_ms();
            CHECK_OK(fns[f](c, names[n], NULL, harness_ms(20000), 0, on_discovered, &st));
            disco_wait(&st, 5000); /* no-responders ends the wait */
            CHECK(harness_now_ms() - started < harness_ms(5000));
            CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
            CHECK(json_is_array(st.value));
            CHECK_EQ_INT(json_array_size(st.value), 0);
            json_decref(st.value);
        }
    }
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* Replies that are not service documents are left out, as the blocking form does, and
 * reported to the connection's error callback. */
static void odd_answer(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    (void)closure;
    snats_publish(conn, snats_msg_reply(msg), "not json", 8);
}

static atomic_int g_invalid_json_reports;

static void count_invalid_json(snats_conn *conn, snats_sub *sub, snats_status status, const char *text, void *closure) {
    (void)conn;
    (void)sub;
    (void)text;
    (void)closure;
    if (status == SNATS_INVALID_JSON) atomic_fetch_add(&g_invalid_json_reports, 1);
}

static void micro_discovery_cb_leaves_out_other_replies(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, srv.url));
    CHECK_OK(snats_options_set_error_cb(o, count_invalid_json, NULL));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    snats_conn *other = connect_or_fail(srv.url);
    snats_service *svc = disco_service(other);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, other, "$SRV.PING.disco", odd_answer, NULL));
    CHECK_OK(snats_conn_flush(other, harness_ms(5000)));
    static disco_state st;
    disco_init(&st);
    CHECK_OK(snats_micro_ping_cb(c, "disco", NULL, harness_ms(500), 0, on_discovered, &st));
    disco_wait(&st, 5000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(json_array_size(st.value), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(st.value, 0), "id")), snats_service_id(svc));
    json_decref(st.value);
    CHECK_EVENTUALLY(atomic_load(&g_invalid_json_reports) == 1, 5000);
    snats_sub_destroy(sub);
    snats_service_destroy(svc);
    snats_conn_destroy(other);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void micro_discovery_cb_bad_arguments_and_closed_connection(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    static disco_state st;
    disco_init(&st);
    discover_cb_fn fns[] = {snats_micro_ping_cb, snats_micro_info_cb, snats_micro_stats_cb};
    for (int f = 0; f < 3; f++) {
        CHECK_STATUS(fns[f](NULL, "disco", NULL, 1000, 0, on_discovered, &st), SNATS_INVALID_ARG);
        CHECK_STATUS(fns[f](c, "disco", NULL, 1000, 0, NULL, &st), SNATS_INVALID_ARG);
        CHECK_STATUS(fns[f](c, "disco", NULL, 0, 0, on_discovered, &st), SNATS_INVALID_ARG);
        CHECK_STATUS(fns[f](c, "disco", NULL, -5, 0, on_discovered, &st), SNATS_INVALID_ARG);
        CHECK_STATUS(fns[f](c, NULL, "some-id", 1000, 0, on_discovered, &st), SNATS_INVALID_ARG);
        CHECK(strstr(snats_last_error(), "service name is needed") != NULL);
        CHECK_STATUS(fns[f](c, "", "some-id", 1000, 0, on_discovered, &st), SNATS_INVALID_ARG);
        CHECK_STATUS(fns[f](c, "disco", NULL, 1000, -1, on_discovered, &st), SNATS_INVALID_ARG);
        CHECK_STATUS(fns[f](c, "bad name", NULL, 1000, 0, on_discovered, &st), SNATS_INVALID_ARG);
        CHECK_STATUS(fns[f](c, "disco", "bad.id", 1000, 0, on_discovered, &st), SNATS_INVALID_ARG);
    }
    snats_conn_close(c);
    for (int f = 0; f < 3; f++)
        CHECK_STATUS(fns[f](c, "disco", NULL, 1000, 0, on_discovered, &st), SNATS_CONNECTION_CLOSED);
    harness_sleep_ms(300);
    CHECK_EQ_INT(atomic_load(&st.calls), 0); /* never called */
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* The connection closes (or is destroyed) while the answers are being gathered: the callback
 * runs once, with SNATS_CONNECTION_CLOSED, long before the timeout. */
static void micro_discovery_cb_connection_closed_while_gathering(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *other = connect_or_fail(srv.url);
    snats_service *svc = disco_service(other);
    discover_cb_fn fns[] = {snats_micro_ping_cb, snats_micro_info_cb, snats_micro_stats_cb};
    static disco_state st;
    for (int f = 0; f < 3; f++) {
        for (int destroy = 0; destroy < 2; destroy++) {
            snats_conn *c = connect_or_fail(srv.url);
            disco_init(&st);
            int64_t started = harness_now_ms();
            CHECK_OK(fns[f](c, "disco", NULL, harness_ms(30000), 0, on_discovered, &st));
            harness_sleep_ms(100); /* the service has answered by now; the gathering goes on */
            CHECK_EQ_INT(atomic_load(&st.calls), 0);
            if (destroy) {
                snats_conn_destroy(c);
            } else {
                snats_conn_close(c);
            }
            disco_wait(&st, 5000);
            CHECK(harness_now_ms() - started < harness_ms(10000));
            CHECK_EQ_INT(atomic_load(&st.status), SNATS_CONNECTION_CLOSED);
            CHECK_NULL(st.value);
            CHECK(st.error[0] != '\0');
            if (!destroy) snats_conn_destroy(c);
        }
    }
    snats_service_destroy(svc);
    snats_conn_destroy(other);
    server_stop(&srv);
}

/* A connection bound to a dispatch queue: the callback runs only in the owner's dispatch. */
static atomic_int g_queue_closed;

/* Service "disco" on other; c, bound to q, asks. */
typedef struct {
    test_server srv;
    snats_conn *other, *c;
    snats_service *svc;
    snats_dispatch_queue *q;
} disco_queue;

static void disco_queue_up(disco_queue *t) {
    server_start(&t->srv);
    t->other = connect_or_fail(t->srv.url);
    t->svc = disco_service(t->other);
    CHECK_OK(snats_dispatch_queue_create(&t->q, 0, 0));
    t->c = harness_connect_on_queue(t->srv.url, t->q, false, harness_count_closed, &g_queue_closed);
}

/* c's closed callback, too, waits for the owner's dispatch. */
static void disco_queue_down(disco_queue *t) {
    snats_conn_destroy(t->c);
    harness_dispatch_until(t->q, &g_queue_closed, 1);
    snats_dispatch_queue_destroy(t->q);
    snats_service_destroy(t->svc);
    snats_conn_destroy(t->other);
    server_stop(&t->srv);
}

static void micro_discovery_cb_on_dispatch_queue(void) {
    disco_queue t;
    disco_queue_up(&t);
    static disco_state st;
    discover_cb_fn fns[] = {snats_micro_ping_cb, snats_micro_info_cb, snats_micro_stats_cb};
    for (int f = 0; f < 3; f++) {
        disco_init_owned(&st);
        CHECK_OK(fns[f](t.c, "disco", NULL, harness_ms(20000), 1, on_discovered, &st));
        harness_sleep_ms(200); /* answered by now, but nothing runs until the owner dispatches */
        CHECK_EQ_INT(atomic_load(&st.calls), 0);
        harness_dispatch_until(t.q, &st.calls, 1);
        CHECK_EQ_INT(atomic_load(&st.wrong_thread), 0);
        CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
        CHECK_EQ_INT(json_array_size(st.value), 1);
        json_decref(st.value);
    }
    /* No service: the empty array, from the dispatch too. */
    disco_init_owned(&st);
    CHECK_OK(snats_micro_ping_cb(t.c, "nobody-has-this", NULL, harness_ms(20000), 0, on_discovered, &st));
    harness_dispatch_until(t.q, &st.calls, 1);
    CHECK_EQ_INT(atomic_load(&st.wrong_thread), 0);
    CHECK_EQ_INT(json_array_size(st.value), 0);
    json_decref(st.value);
    int ran = -1;
    CHECK_OK(snats_dispatch_queue_dispatch(&ran, t.q, 64, 100));
    CHECK_EQ_INT(atomic_load(&st.calls), 1);
    disco_queue_down(&t);
}

/* The owner dispatches only after the timeout (a busy event loop): the documents that came in
 * time were waiting in its queue, ahead of the timeout, and count as for the blocking form. */
static void micro_discovery_cb_late_dispatch_keeps_what_came_in_time(void) {
    disco_queue t;
    disco_queue_up(&t);
    static disco_state st;
    static const char *verbs[] = {"PING", "INFO", "STATS"};
    discover_cb_fn fns[] = {snats_micro_ping_cb, snats_micro_info_cb, snats_micro_stats_cb};
    char failures[512] = "";
    for (int f = 0; f < 3; f++) {
        disco_init_owned(&st);
        CHECK_OK(fns[f](t.c, "disco", NULL, harness_ms(300), 0, on_discovered, &st));
        harness_sleep_ms(harness_ms(300) + 300);
        harness_dispatch_until(t.q, &st.calls, 1);
        CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
        if (json_array_size(st.value) != 1) {
            size_t n = strlen(failures);
            snprintf(failures + n, sizeof failures - n, " %s_cb: %zu document(s);", verbs[f], json_array_size(st.value));
        }
        json_decref(st.value);
    }
    if (failures[0] != '\0') FAIL("dispatched after the timeout, expected 1 document each, got:%s", failures);
    disco_queue_down(&t);
}

const test_case micro_cb_tests[] = {
    TEST(micro_discovery_cb_matches_blocking_form),
    TEST(micro_discovery_cb_max_replies_completes_early),
    TEST(micro_discovery_cb_without_services_ends_at_once),
    TEST(micro_discovery_cb_leaves_out_other_replies),
    TEST(micro_discovery_cb_bad_arguments_and_closed_connection),
    TEST(micro_discovery_cb_connection_closed_while_gathering),
    TEST(micro_discovery_cb_on_dispatch_queue),
    TEST(micro_discovery_cb_late_dispatch_keeps_what_came_in_time),
};
HARNESS_TABLE_COUNT(micro_cb);
