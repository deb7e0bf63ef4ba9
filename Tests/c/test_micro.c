/*
 * test_micro.c - The micro-service API through the header: configurations, endpoints and
 * groups, requests answered inline, with JSON, with errors and later from another thread,
 * the $SRV documents and discovery, stop/done, asynchronous errors, argument checks.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>

typedef struct {
    atomic_int requests;
    atomic_int done;
    atomic_int errors;
    atomic_int last_status;
    snats_endpoint *error_endpoint;
} micro_state;

static micro_state g_ms;

/* Echoes the request; payloads "json", "fail" and "later" select other answers. */
static void *answer_later(void *arg);

static void handler(snats_micro_request *req, void *closure) {
    micro_state *st = closure;
    atomic_fetch_add(&st->requests, 1);
    const snats_msg *m = snats_micro_request_msg(req);
    const char *data = snats_msg_data(m);
    size_t len = snats_msg_data_len(m);
    if (len == 4 && memcmp(data, "json", 4) == 0) {
        json_t *doc = json_pack("{s:s,s:i}", "a", "abc", "b", 5);
        if (snats_micro_request_respond_json(req, doc) != SNATS_OK) FAIL("respond_json");
        json_decref(doc);
    } else if (len == 4 && memcmp(data, "fail", 4) == 0) {
        if (snats_micro_request_respond_error(req, "500", "oops", NULL, "details", 7) != SNATS_OK) FAIL("respond_error");
    } else if (len == 5 && memcmp(data, "later", 5) == 0) {
        pthread_t t;
        harness_spawn(&t, answer_later, snats_micro_request_retain(req));
        pthread_detach(t);
    } else {
        if (snats_micro_request_respond(req, NULL, data, len) != SNATS_OK) FAIL("respond");
    }
}

static void *answer_later(void *arg) {
    snats_micro_request *req = arg;
    harness_sleep_ms(20);
    if (snats_micro_request_respond(req, NULL, "late", 4) != SNATS_OK) FAIL("late respond");
    snats_micro_request_release(req);
    return NULL;
}

static void on_done(snats_service *svc, void *closure) {
    (void)svc;
    atomic_fetch_add(&((micro_state *)closure)->done, 1);
}

static void on_error(snats_service *svc, snats_endpoint *ep, snats_status status, const char *text, void *closure) {
    (void)svc;
    (void)text;
    micro_state *st = closure;
    st->error_endpoint = ep;
    atomic_store(&st->last_status, status);
    atomic_fetch_add(&st->errors, 1);
}

static json_t *stats_data(const char *endpoint_name, void *closure) {
    (void)closure;
    return json_pack("{s:s}", "endpoint", endpoint_name);
}

static snats_service *make_service(snats_conn *c, const char *name) {
    snats_service_config *cfg = NULL;
    CHECK_OK(snats_service_config_create(&cfg, name, "1.0.0"));
    CHECK_OK(snats_service_config_set_description(cfg, "a test service"));
    json_t *meta = json_pack("{s:s}", "team", "swiftnats");
    CHECK_OK(snats_service_config_set_metadata(cfg, meta));
    json_decref(meta);
    CHECK_OK(snats_service_config_set_done_cb(cfg, on_done, &g_ms));
    CHECK_OK(snats_service_config_set_error_cb(cfg, on_error, &g_ms));
    CHECK_OK(snats_service_config_set_stats_cb(cfg, stats_data, NULL));
    snats_service *svc = NULL;
    CHECK_OK(snats_service_create(&svc, c, cfg));
    snats_service_config_destroy(cfg); /* copied */
    return svc;
}

static snats_msg *ask(snats_conn *c, const char *subject, const char *data) {
    snats_msg *reply = NULL;
    CHECK_OK(snats_request(&reply, c, subject, data, strlen(data), harness_ms(2000)));
    return reply;
}

static void micro_endpoints_and_answers(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_service *svc = make_service(c, "calc");
    snats_endpoint *ep = NULL;
    snats_endpoint_config *ecfg = NULL;
    CHECK_OK(snats_endpoint_config_create(&ecfg));
    CHECK_OK(snats_endpoint_config_set_subject(ecfg, "calc.echo"));
    CHECK_OK(snats_service_add_endpoint(&ep, svc, "echo", ecfg, handler, &g_ms));
    snats_endpoint_config_destroy(ecfg);
    CHECK_EQ_STR(snats_endpoint_name(ep), "echo");
    CHECK_EQ_STR(snats_endpoint_subject(ep), "calc.echo");

    snats_msg *r = ask(c, "calc.echo", "hello");
    CHECK_EQ_INT(snats_msg_data_len(r), 5);
    snats_msg_release(r);

    r = ask(c, "calc.echo", "json");
    json_t *doc = NULL;
    char text[64];
    snprintf(text, sizeof text, "%.*s", (int)snats_msg_data_len(r), (const char *)snats_msg_data(r));
    CHECK_OK(snats_json_loads(&doc, text));
    CHECK_EQ_INT(json_integer_value(json_object_get(doc, "b")), 5);
    json_decref(doc);
    snats_msg_release(r);

    r = ask(c, "calc.echo", "fail");
    const char *value = NULL;
    CHECK_OK(snats_headers_get(&value, snats_msg_headers(r), "Nats-Service-Error"));
    CHECK_EQ_STR(value, "oops");
    CHECK_OK(snats_headers_get(&value, snats_msg_headers(r), "Nats-Service-Error-Code"));
    CHECK_EQ_STR(value, "500");
    CHECK_EQ_INT(snats_msg_data_len(r), 7);
    snats_msg_release(r);

    r = ask(c, "calc.echo", "later"); /* answered from another thread after the handler returned */
    CHECK_EQ_INT(snats_msg_data_len(r), 4);
    CHECK(memcmp(snats_msg_data(r), "late", 4) == 0);
    snats_msg_release(r);

    json_t *stats = NULL;
    CHECK_OK(snats_service_get_stats(&stats, svc));
    json_t *first = json_array_get(json_object_get(stats, "endpoints"), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "num_requests")), 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "num_errors")), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(first, "last_error")), "500:oops");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(first, "data"), "endpoint")), "echo");
    json_decref(stats);
    CHECK_OK(snats_service_reset(svc));
    CHECK_OK(snats_service_get_stats(&stats, svc));
    first = json_array_get(json_object_get(stats, "endpoints"), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(first, "num_requests")), 0);
    json_decref(stats);

    snats_service_destroy(svc); /* stops: the done callback runs */
    CHECK_EQ_INT(atomic_load(&g_ms.done), 1);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void micro_groups_queue_groups_and_info(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_service *svc = make_service(c, "grouped");
    snats_group *g1 = NULL, *g2 = NULL;
    CHECK_OK(snats_service_add_group(&g1, svc, "g1", "q-g1", false));
    CHECK_OK(snats_group_add_group(&g2, g1, "g2", NULL, false));
    snats_endpoint *ep = NULL;
    CHECK_OK(snats_group_add_endpoint(&ep, g2, "deep", NULL, handler, &g_ms));
    CHECK_EQ_STR(snats_endpoint_subject(ep), "g1.g2.deep");
    snats_endpoint_config *ecfg = NULL;
    CHECK_OK(snats_endpoint_config_create(&ecfg));
    CHECK_OK(snats_endpoint_config_set_queue_group(ecfg, NULL, true));
    json_t *meta = json_pack("{s:s}", "params", "none");
    CHECK_OK(snats_endpoint_config_set_metadata(ecfg, meta));
    json_decref(meta);
    CHECK_OK(snats_group_add_endpoint(NULL, g1, "open", ecfg, handler, &g_ms));
    snats_endpoint_config_destroy(ecfg);
    snats_group_destroy(g2);
    snats_group_destroy(g1); /* the endpoints stay */

    snats_msg *r = ask(c, "g1.g2.deep", "x");
    snats_msg_release(r);
    json_t *infos = NULL;
    CHECK_OK(snats_micro_info(&infos, c, "grouped", NULL, harness_ms(500), 0));
    CHECK_EQ_INT(json_array_size(infos), 1);
    json_t *info = json_array_get(infos, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(info, "type")), "io.nats.micro.v1.info_response");
    CHECK_EQ_STR(json_string_value(json_object_get(info, "description")), "a test service");
    CHECK_EQ_STR(json_string_value(json_object_get(info, "id")), snats_service_id(svc));
    json_t *eps = json_object_get(info, "endpoints");
    CHECK_EQ_INT(json_array_size(eps), 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(eps, 0), "queue_group")), "q-g1");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(eps, 1), "queue_group")), "");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_array_get(eps, 1), "metadata"), "params")), "none");
    json_decref(infos);

    json_t *pings = NULL;
    CHECK_OK(snats_micro_ping(&pings, c, "grouped", snats_service_id(svc), harness_ms(500), 1));
    CHECK_EQ_INT(json_array_size(pings), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_array_get(pings, 0), "metadata"), "team")), "swiftnats");
    json_decref(pings);
    CHECK_OK(snats_micro_stats(&pings, c, "nobody", NULL, harness_ms(2000), 0));
    CHECK_EQ_INT(json_array_size(pings), 0); /* no-responders ends the wait */
    json_decref(pings);

    CHECK_OK(snats_service_stop(svc));
    CHECK_OK(snats_service_stop(svc)); /* idempotent */
    CHECK(snats_service_is_stopped(svc));
    CHECK_EQ_INT(atomic_load(&g_ms.done), 1);
    CHECK_STATUS(snats_service_add_endpoint(NULL, svc, "late", NULL, handler, &g_ms), SNATS_ILLEGAL_STATE);
    snats_service_destroy(svc);
    CHECK_EQ_INT(atomic_load(&g_ms.done), 1);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void slow_handler(snats_micro_request *req, void *closure) {
    (void)req;
    (void)closure;
    harness_sleep_ms(100);
}

static void micro_slow_consumer_stops_service(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_service *svc = make_service(c, "slow");
    snats_endpoint_config *ecfg = NULL;
    CHECK_OK(snats_endpoint_config_create(&ecfg));
    CHECK_OK(snats_endpoint_config_set_pending_limits(ecfg, 2, 0));
    snats_endpoint *ep = NULL;
    CHECK_OK(snats_service_add_endpoint(&ep, svc, "slow", ecfg, slow_handler, NULL));
    snats_endpoint_config_destroy(ecfg);
    for (int i = 0; i < 20; i++) CHECK_OK(snats_publish(c, "slow", "x", 1));
    CHECK_EVENTUALLY(atomic_load(&g_ms.errors) >= 1, 5000);
    CHECK_EQ_INT(atomic_load(&g_ms.last_status), SNATS_SLOW_CONSUMER);
    CHECK(g_ms.error_endpoint == ep);
    CHECK_EVENTUALLY(snats_service_is_stopped(svc), 5000);
    CHECK_EVENTUALLY(atomic_load(&g_ms.done) == 1, 5000);
    snats_service_destroy(svc);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void micro_closed_connection_stops_service(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_service *svc = make_service(c, "closing");
    snats_conn_close(c);
    CHECK_EVENTUALLY(snats_service_is_stopped(svc), 5000);
    CHECK_EQ_INT(atomic_load(&g_ms.done), 1);
    snats_service_destroy(svc);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void micro_bad_arguments(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_service_config *cfg = NULL;
    snats_service *svc = (snats_service *)1;
    CHECK_STATUS(snats_service_config_create(NULL, "a", "1.0.0"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_config_create(&cfg, NULL, "1.0.0"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_config_create(&cfg, "bad name", "1.0.0"), SNATS_OK); /* checked at create */
    CHECK_STATUS(snats_service_create(&svc, c, cfg), SNATS_INVALID_ARG);
    CHECK_NULL(svc);
    CHECK(strstr(snats_last_error(), "service name") != NULL);
    snats_service_config_destroy(cfg);
    CHECK_OK(snats_service_config_create(&cfg, "good", "1.0"));
    CHECK_STATUS(snats_service_create(&svc, c, cfg), SNATS_INVALID_ARG);
    CHECK(strstr(snats_last_error(), "semantic version") != NULL);
    json_t *not_strings = json_pack("{s:i}", "n", 1);
    CHECK_STATUS(snats_service_config_set_metadata(cfg, not_strings), SNATS_INVALID_ARG);
    json_decref(not_strings);
    CHECK_STATUS(snats_service_config_set_description(NULL, "x"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_config_set_queue_group(NULL, "x", false), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_config_set_done_cb(NULL, on_done, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_config_set_error_cb(NULL, on_error, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_config_set_stats_cb(NULL, stats_data, NULL), SNATS_INVALID_ARG);
    snats_service_config_destroy(cfg);
    CHECK_STATUS(snats_service_create(&svc, c, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_create(&svc, NULL, NULL), SNATS_INVALID_ARG);

    snats_endpoint_config *ecfg = NULL;
    CHECK_STATUS(snats_endpoint_config_create(NULL), SNATS_INVALID_ARG);
    CHECK_OK(snats_endpoint_config_create(&ecfg));
    CHECK_STATUS(snats_endpoint_config_set_pending_limits(ecfg, -1, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_endpoint_config_set_concurrency(ecfg, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_endpoint_config_set_concurrency(NULL, 2), SNATS_INVALID_ARG);
    CHECK_OK(snats_endpoint_config_set_concurrency(ecfg, 4));
    CHECK_STATUS(snats_endpoint_config_set_subject(NULL, "x"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_endpoint_config_set_metadata(NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_endpoint_config_set_queue_group(NULL, NULL, false), SNATS_INVALID_ARG);
    CHECK_OK(snats_endpoint_config_set_subject(ecfg, "has space"));

    snats_service *good = make_service(c, "args");
    snats_endpoint *ep = (snats_endpoint *)1;
    CHECK_STATUS(snats_service_add_endpoint(&ep, good, "x", ecfg, handler, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(ep);
    CHECK_STATUS(snats_service_add_endpoint(&ep, good, "bad.name", NULL, handler, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_add_endpoint(&ep, good, "x", NULL, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_add_endpoint(&ep, NULL, "x", NULL, handler, NULL), SNATS_INVALID_ARG);
    snats_group *g = NULL;
    CHECK_STATUS(snats_service_add_group(&g, good, "a.>", NULL, false), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_add_group(NULL, good, "a", NULL, false), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_group_add_group(&g, NULL, "a", NULL, false), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_group_add_endpoint(&ep, NULL, "a", NULL, handler, NULL), SNATS_INVALID_ARG);
    snats_endpoint_config_destroy(ecfg);
    json_t *j = NULL;
    CHECK_STATUS(snats_service_get_info(&j, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_get_stats(NULL, good), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_micro_ping(&j, c, NULL, "id-without-name", 100, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_micro_info(&j, c, NULL, NULL, 0, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_micro_stats(&j, NULL, NULL, NULL, 100, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_micro_ping(NULL, c, NULL, NULL, 100, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_micro_request_respond(NULL, NULL, "x", 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_micro_request_respond_json(NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_micro_request_respond_error(NULL, "1", "x", NULL, NULL, 0), SNATS_INVALID_ARG);
    CHECK_NULL(snats_micro_request_msg(NULL));
    CHECK_NULL(snats_micro_request_retain(NULL));
    snats_micro_request_release(NULL);
    CHECK_NULL(snats_service_id(NULL));
    CHECK_NULL(snats_endpoint_name(NULL));
    CHECK_NULL(snats_endpoint_subject(NULL));
    CHECK(snats_service_is_stopped(NULL));
    CHECK_STATUS(snats_service_stop(NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_service_reset(NULL), SNATS_INVALID_ARG);
    snats_service_destroy(NULL);
    snats_group_destroy(NULL);
    snats_service_config_destroy(NULL);
    snats_endpoint_config_destroy(NULL);
    snats_service_destroy(good);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* An error response needs a code and a description; a respond without a reply subject counts
 * as an error of the endpoint. */
static void empty_code_handler(snats_micro_request *req, void *closure) {
    micro_state *st = closure;
    atomic_store(&st->last_status, snats_micro_request_respond_error(req, "", "x", NULL, NULL, 0));
    snats_micro_request_respond(req, NULL, "ok", 2);
}

static void micro_error_arguments_and_unanswerable_requests(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_service *svc = make_service(c, "errs");
    CHECK_OK(snats_service_add_endpoint(NULL, svc, "e", NULL, empty_code_handler, &g_ms));
    snats_msg *r = ask(c, "e", "x");
    snats_msg_release(r);
    CHECK_EQ_INT(atomic_load(&g_ms.last_status), SNATS_INVALID_ARG);
    CHECK_OK(snats_publish(c, "e", "no reply", 8));
    CHECK_OK(snats_conn_flush(c, harness_ms(2000)));
    json_t *stats = NULL;
    int64_t requests = 0, errors = 0;
    for (int i = 0; i < 200 && requests < 2; i++) {
        CHECK_OK(snats_service_get_stats(&stats, svc));
        json_t *first = json_array_get(json_object_get(stats, "endpoints"), 0);
        requests = json_integer_value(json_object_get(first, "num_requests"));
        errors = json_integer_value(json_object_get(first, "num_errors"));
        json_decref(stats);
        harness_sleep_ms(5);
    }
    CHECK_EQ_INT(requests, 2);
    CHECK_EQ_INT(errors, 1);
    snats_service_destroy(svc);
    snats_conn_destroy(c);
    server_stop(&srv);
}

const test_case micro_tests[] = {
    TEST(micro_endpoints_and_answers),
    TEST(micro_groups_queue_groups_and_info),
    TEST(micro_slow_consumer_stops_service),
    TEST(micro_closed_connection_stops_service),
    TEST(micro_bad_arguments),
    TEST(micro_error_arguments_and_unanswerable_requests),
};
HARNESS_TABLE_COUNT(micro);
