/*
 * test_rpc.c - The RPC API through the header: servers and method registration, calls with
 * object and array params, prefixes and namespace isolation, every error code on the wire,
 * answers from another thread, async calls, callbacks, batches, streams, namespace groups,
 * describe, a server in another process, and argument checks.
 */
#define _GNU_SOURCE
#include "rpc_cb.h" /* rcb_send_count */

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- handlers ---- */

/* Sums a and b (object) or every item (array). */
static void add(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    double sum = 0;
    if (json_is_array(params)) {
        size_t i;
        json_t *item;
        json_array_foreach(params, i, item) sum += json_number_value(item);
    } else {
        sum = json_number_value(json_object_get(params, "a")) + json_number_value(json_object_get(params, "b"));
    }
    json_t *result = json_real(sum);
    if (snats_rpc_request_respond(req, result) != SNATS_OK) FAIL("respond");
    json_decref(result);
}

/* Answers the closure's string. */
static void constant(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    json_t *result = json_string(closure);
    snats_rpc_request_respond(req, result);
    json_decref(result);
}

static void echo(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    CHECK(snats_rpc_request_params(req) == params);
    snats_rpc_request_respond(req, params);
}

static void crash(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    CHECK_OK(snats_rpc_request_fail(req, "division by zero", "test_rpc.c: crash()"));
    CHECK_STATUS(snats_rpc_request_respond(req, NULL), SNATS_ILLEGAL_STATE); /* answered once */
}

static void teapot(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    json_t *details = json_pack("{s:s}", "brew", "earl grey");
    CHECK_OK(snats_rpc_request_error(req, -32042, "I'm a teapot", details));
    json_decref(details);
}

static void forgetful(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)req;
    (void)params;
    (void)closure;
}

static void *double_later(void *arg) {
    snats_rpc_request *req = arg;
    harness_sleep_ms(20);
    json_t *result = json_integer(2 * json_integer_value(json_array_get(snats_rpc_request_params(req), 0)));
    if (snats_rpc_request_respond(req, result) != SNATS_OK) FAIL("late respond");
    json_decref(result);
    snats_rpc_request_release(req);
    return NULL;
}

/* Answers from another thread after returning. */
static void later(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    CHECK_EQ_STR(snats_rpc_request_method(req), "later");
    pthread_t t;
    harness_spawn(&t, double_later, snats_rpc_request_retain(req));
    pthread_detach(t);
}

/* Streams 0 .. n-1, ended by a null result; n < 0 streams two items and then fails. */
static void count(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    if (rcb_send_count(req, params)) CHECK_OK(snats_rpc_request_respond(req, NULL));
}

/* ---- helpers ---- */

static snats_rpc_server *calculator(snats_conn *c, const char *ns, const char *prefix) {
    snats_rpc_server *server = NULL;
    CHECK_OK(snats_rpc_server_create(&server, c, ns, NULL));
    json_t *ab = json_pack("[{s:s,s:s},{s:s,s:s}]", "name", "a", "type", "number", "name", "b", "type", "number");
    CHECK_OK(snats_rpc_server_register(server, "math.add", ab, "adds", 0, add, NULL));
    json_decref(ab);
    CHECK_OK(snats_rpc_server_register(server, "sum", NULL, NULL, 0, add, NULL));
    CHECK_OK(snats_rpc_server_register(server, "whoami", NULL, NULL, 0, constant, (void *)ns));
    CHECK_OK(snats_rpc_server_register(server, "echo", NULL, NULL, 0, echo, NULL));
    CHECK_OK(snats_rpc_server_register(server, "crash", NULL, NULL, 0, crash, NULL));
    CHECK_OK(snats_rpc_server_register(server, "teapot", NULL, NULL, 0, teapot, NULL));
    CHECK_OK(snats_rpc_server_register(server, "forgetful", NULL, NULL, 0, forgetful, NULL));
    CHECK_OK(snats_rpc_server_register(server, "later", NULL, NULL, 4, later, NULL));
    CHECK_OK(snats_rpc_server_register(server, "count", NULL, NULL, 0, count, NULL));
    CHECK_OK(snats_rpc_server_start(server, prefix));
    return server;
}

static snats_rpc_client *client_of(snats_conn *c, const char *ns) {
    snats_rpc_client *client = NULL;
    CHECK_OK(snats_rpc_client_create(&client, c, ns));
    return client;
}

/* Calls and returns the result (fails the test on anything but SNATS_OK). */
static json_t *call(snats_rpc_client *client, const char *method, const char *params_json) {
    json_t *params = params_json ? json_loads(params_json, JSON_DECODE_ANY, NULL) : NULL;
    json_t *result = NULL;
    CHECK_OK(snats_rpc_client_call(&result, NULL, client, method, params, harness_ms(2000)));
    json_decref(params);
    return result;
}

/* Calls, expects SNATS_RPC_ERROR, and returns the error object. */
static json_t *call_error(snats_rpc_client *client, const char *method, const char *params_json) {
    json_t *params = params_json ? json_loads(params_json, JSON_DECODE_ANY, NULL) : NULL;
    json_t *result = NULL, *error = NULL;
    CHECK_STATUS(snats_rpc_client_call(&result, &error, client, method, params, harness_ms(2000)), SNATS_RPC_ERROR);
    CHECK_NULL(result);
    CHECK_NOT_NULL(error);
    json_decref(params);
    return error;
}

static json_int_t code_of(const json_t *error) { return json_integer_value(json_object_get(error, "code")); }
static const char *message_of(const json_t *error) { return json_string_value(json_object_get(error, "message")); }

/* A raw request body to a subject: the reply parsed. */
static json_t *raw(snats_conn *c, const char *subject, const char *body, snats_msg **keep) {
    snats_msg *reply = NULL;
    CHECK_OK(snats_request(&reply, c, subject, body, strlen(body), harness_ms(2000)));
    json_t *doc = json_loadb(snats_msg_data(reply), snats_msg_data_len(reply), 0, NULL);
    CHECK_NOT_NULL(doc);
    if (keep) *keep = reply; else snats_msg_release(reply);
    return doc;
}

/* A nats-server, a connection, the calculator of namespace "calc" and a client of it. */
typedef struct {
    test_server srv;
    snats_conn *c;
    snats_rpc_server *server;
    snats_rpc_client *client;
} calc_fixture;

static void calc_up(calc_fixture *f) {
    server_start(&f->srv);
    f->c = connect_or_fail(f->srv.url);
    f->server = calculator(f->c, "calc", NULL);
    f->client = client_of(f->c, "calc");
}

static void calc_down(calc_fixture *f) {
    snats_rpc_client_destroy(f->client);
    snats_rpc_server_destroy(f->server);
    snats_conn_destroy(f->c);
    server_stop(&f->srv);
}

/* num_errors of the calculator's math_add endpoint, from its STATS; -1 when not found. */
static json_int_t math_add_errors(snats_conn *c, const char *id) {
    json_t *stats = NULL;
    if (snats_micro_stats(&stats, c, "calc", id, harness_ms(1000), 1) != SNATS_OK) return -1;
    json_int_t errors = -1;
    size_t i;
    json_t *endpoint;
    json_array_foreach(json_object_get(json_array_get(stats, 0), "endpoints"), i, endpoint) {
        if (strcmp(json_string_value(json_object_get(endpoint, "name")), "math_add") == 0) {
            errors = json_integer_value(json_object_get(endpoint, "num_errors"));
        }
    }
    json_decref(stats);
    return errors;
}

/* ---- tests ---- */

static void rpc_calls_with_object_and_array_params(void) {
    calc_fixture f;
    calc_up(&f);
    snats_rpc_client *client = f.client;

    json_t *r = call(client, "math.add", "{\"a\": 5, \"b\": 3}");
    CHECK(json_number_value(r) == 8);
    json_decref(r);
    r = call(client, "math.add", "[4, 7.5]");
    CHECK(json_number_value(r) == 11.5);
    json_decref(r);
    r = call(client, "echo", "{\"x\": [1, \"two\", null]}");
    CHECK_EQ_INT(json_array_size(json_object_get(r, "x")), 3);
    json_decref(r);
    r = call(client, "echo", NULL); /* no params: the handler sees {} */
    CHECK(json_is_object(r) && json_object_size(r) == 0);
    json_decref(r);

    /* Params that are neither object nor array, and bad method names, are the caller's mistake. */
    json_t *scalar = json_integer(42), *result = NULL;
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "echo", scalar, 1000), SNATS_INVALID_ARG);
    json_decref(scalar);
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "bad method", NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "wild.*", NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "echo", NULL, 0), SNATS_INVALID_ARG);
    CHECK_NULL(result);

    calc_down(&f);
}

static void rpc_prefix_and_namespace_isolation(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_rpc_server *prod = calculator(c, "production", NULL);
    snats_rpc_server *dev = calculator(c, "development", "api.v1");
    snats_rpc_client *p = client_of(c, "production"), *d = client_of(c, "development");
    json_t *r = call(p, "whoami", NULL);
    CHECK_EQ_STR(json_string_value(r), "production");
    json_decref(r);
    r = call(d, "api.v1.whoami", NULL);
    CHECK_EQ_STR(json_string_value(r), "development");
    json_decref(r);
    json_t *e = call_error(d, "whoami", NULL); /* only under the prefix */
    CHECK_EQ_INT(code_of(e), -32601);
    json_decref(e);
    /* The documented subject, from a plain request. */
    json_t *doc = raw(c, "rpc.development.api.v1.whoami", "{\"id\": \"1\", \"method\": \"api.v1.whoami\"}", NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "result")), "development");
    CHECK(json_is_null(json_object_get(doc, "error")));
    CHECK_EQ_STR(json_string_value(json_object_get(doc, "id")), "1");
    json_decref(doc);
    CHECK_NOT_NULL(snats_rpc_server_id(dev));
    CHECK_OK(snats_rpc_server_stop(dev));
    CHECK_NULL(snats_rpc_server_id(dev));
    e = call_error(d, "api.v1.whoami", NULL);
    CHECK_EQ_INT(code_of(e), -32601);
    json_decref(e);
    CHECK_OK(snats_rpc_server_start(dev, NULL)); /* restartable */
    r = call(d, "whoami", NULL);
    json_decref(r);
    snats_rpc_client_destroy(p);
    snats_rpc_client_destroy(d);
    snats_rpc_server_destroy(prod);
    snats_rpc_server_destroy(dev);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void rpc_error_codes(void) {
    calc_fixture f;
    calc_up(&f);
    snats_conn *c = f.c;
    snats_rpc_server *server = f.server;
    snats_rpc_client *client = f.client;
    snats_msg *reply = NULL;
    const char *header = NULL;

    json_t *doc = raw(c, "rpc.calc.math.add", "{not json", &reply);
    CHECK_EQ_INT(code_of(json_object_get(doc, "error")), -32700);
    CHECK(json_is_null(json_object_get(doc, "id")));
    CHECK_OK(snats_headers_get(&header, snats_msg_headers(reply), "Nats-Service-Error-Code"));
    CHECK_EQ_STR(header, "-32700");
    snats_msg_release(reply);
    json_decref(doc);
    const char *invalid[] = {"[1, 2]", "{\"id\": \"7\"}", "{\"method\": \"math.add\"}",
                             "{\"id\": 1, \"method\": \"math.add\", \"params\": 5}"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        doc = raw(c, "rpc.calc.math.add", invalid[i], NULL);
        CHECK_EQ_INT(code_of(json_object_get(doc, "error")), -32600);
        json_decref(doc);
    }
    struct { const char *params, *message; } mismatches[] = {
        {"{\"a\": 1}", "Invalid params: missing required parameter 'b'"},
        {"{\"a\": 1, \"b\": \"x\"}", "Invalid params: parameter 'b' must be number, got string"},
        {"{\"a\": 1, \"b\": 2, \"c\": 3}", "Invalid params: unexpected parameter 'c'"},
        {"[1, 2, 3]", "Invalid params: expected at most 2 parameters, got 3"},
    };
    for (size_t i = 0; i < sizeof mismatches / sizeof mismatches[0]; i++) {
        json_t *e = call_error(client, "math.add", mismatches[i].params);
        CHECK_EQ_INT(code_of(e), -32602);
        CHECK_EQ_STR(message_of(e), mismatches[i].message);
        json_decref(e);
    }

    json_t *e = call_error(client, "crash", NULL);
    CHECK_EQ_INT(code_of(e), -32603);
    CHECK_EQ_STR(message_of(e), "Internal error: division by zero");
    json_t *data = json_object_get(e, "data");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "namespace")), "calc");
    CHECK_EQ_STR(json_string_value(json_object_get(data, "instance")), snats_rpc_server_id(server));
    CHECK_EQ_STR(json_string_value(json_object_get(data, "traceback")), "test_rpc.c: crash()");
    CHECK(strlen(json_string_value(json_object_get(data, "host"))) > 0);
    json_decref(e);
    CHECK(strstr(snats_last_error(), "RPC error -32603") != NULL);

    e = call_error(client, "teapot", NULL);
    CHECK_EQ_INT(code_of(e), -32042);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(json_object_get(e, "data"), "details"), "brew")),
                 "earl grey");
    json_decref(e);
    e = call_error(client, "forgetful", NULL);
    CHECK_EQ_STR(message_of(e), "Internal error: the handler of \"forgetful\" returned without a result");
    json_decref(e);

    /* No server for the method: -32601 at once, not a timeout. */
    int64_t started = harness_now_ms();
    json_t *result = NULL;
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "nope", NULL, 10000), SNATS_RPC_ERROR);
    CHECK(harness_now_ms() - started < 5000);
    e = call_error(client, "nope", NULL);
    CHECK_EQ_INT(code_of(e), -32601);
    CHECK_EQ_STR(message_of(e), "Method not found: nope");
    json_decref(e);

    /* Micro tooling counts the errors, once each handler has returned (which may be just
     * after its reply arrived). */
    CHECK_EVENTUALLY(math_add_errors(c, snats_rpc_server_id(server)) == 9, 5000);

    calc_down(&f);
}

static void rpc_async_calls_and_answers_from_another_thread(void) {
    calc_fixture f;
    calc_up(&f);
    snats_rpc_client *client = f.client;
    uint64_t ids[5];
    for (int i = 0; i < 5; i++) {
        json_t *params = json_pack("[i]", i + 1);
        CHECK_OK(snats_rpc_client_call_async(&ids[i], client, "later", params));
        CHECK(ids[i] != 0);
        json_decref(params);
    }
    for (int i = 4; i >= 0; i--) {
        json_t *result = NULL;
        CHECK_OK(snats_rpc_client_get_response(&result, NULL, client, ids[i], harness_ms(2000)));
        CHECK_EQ_INT(json_integer_value(result), 2 * (i + 1));
        json_decref(result);
    }
    json_t *result = NULL;
    CHECK_STATUS(snats_rpc_client_get_response(&result, NULL, client, ids[0], 100), SNATS_NOT_FOUND);
    /* A timeout keeps the call pending. */
    uint64_t slow = 0;
    json_t *params = json_pack("[i]", 21);
    CHECK_OK(snats_rpc_client_call_async(&slow, client, "later", params));
    json_decref(params);
    CHECK_STATUS(snats_rpc_client_get_response(&result, NULL, client, slow, 1), SNATS_TIMEOUT);
    CHECK_OK(snats_rpc_client_get_response(&result, NULL, client, slow, harness_ms(2000)));
    CHECK_EQ_INT(json_integer_value(result), 42);
    json_decref(result);
    /* Cancelled calls are forgotten. */
    CHECK_OK(snats_rpc_client_call_async(&slow, client, "whoami", NULL));
    CHECK_OK(snats_rpc_client_cancel(client, slow));
    CHECK_STATUS(snats_rpc_client_cancel(client, slow), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_rpc_client_get_response(&result, NULL, client, slow, 100), SNATS_NOT_FOUND);
    /* An error collected later. */
    CHECK_OK(snats_rpc_client_call_async(&slow, client, "crash", NULL));
    json_t *error = NULL;
    CHECK_STATUS(snats_rpc_client_get_response(&result, &error, client, slow, harness_ms(2000)), SNATS_RPC_ERROR);
    CHECK_EQ_INT(code_of(error), -32603);
    json_decref(error);
    /* Pending calls are released with the client. */
    CHECK_OK(snats_rpc_client_call_async(&slow, client, "whoami", NULL));
    calc_down(&f);
}

typedef struct {
    atomic_int calls;
    atomic_int status;
    atomic_llong value;
    char message[256];
    snats_rpc_client *client;
} cb_state;

static void on_outcome(snats_status status, const json_t *result, const json_t *error, void *closure) {
    cb_state *st = closure;
    if (status == SNATS_OK) {
        CHECK_NOT_NULL(result);
        CHECK_NULL(error);
        atomic_store(&st->value, (long long)json_integer_value(result));
    } else if (status == SNATS_RPC_ERROR) {
        CHECK_NULL(result);
        atomic_store(&st->value, (long long)code_of(error));
    } else {
        snprintf(st->message, sizeof st->message, "%s", snats_last_error());
    }
    if (st->client != NULL) { /* a blocking call inside a callback */
        json_t *r = call(st->client, "whoami", NULL);
        json_decref(r);
    }
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

static void rpc_callback_form(void) {
    calc_fixture f;
    calc_up(&f);
    snats_conn *c = f.c;
    snats_rpc_client *client = f.client;
    static cb_state st;
    st.client = client;
    json_t *params = json_pack("[i]", 50);
    CHECK_OK(snats_rpc_client_call_cb(client, "later", params, harness_ms(2000), on_outcome, &st));
    json_decref(params);
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 1, 3000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_OK);
    CHECK_EQ_INT(atomic_load(&st.value), 100);
    st.client = NULL;
    CHECK_OK(snats_rpc_client_call_cb(client, "nope", NULL, harness_ms(2000), on_outcome, &st));
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 2, 3000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_RPC_ERROR);
    CHECK_EQ_INT(atomic_load(&st.value), -32601);
    params = json_pack("[i]", 1);
    CHECK_OK(snats_rpc_client_call_cb(client, "later", params, 1, on_outcome, &st));
    json_decref(params);
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 3, 3000);
    CHECK_EQ_INT(atomic_load(&st.status), SNATS_TIMEOUT);
    CHECK(strstr(st.message, "timed out") != NULL);
    /* A call still waiting when the client goes fails with SNATS_ILLEGAL_STATE. */
    params = json_pack("[i]", 1);
    CHECK_OK(snats_rpc_client_call_cb(client, "forgetful_forever", params, 60000, on_outcome, &st));
    json_decref(params);
    CHECK_STATUS(snats_rpc_client_call_cb(client, "x", NULL, 1000, NULL, NULL), SNATS_INVALID_ARG);
    snats_rpc_client_destroy(client);
    CHECK_EVENTUALLY(atomic_load(&st.calls) == 4, 3000);
    f.client = client_of(c, "calc"); /* for calc_down */
    calc_down(&f);
}

static void rpc_batch_with_mixed_outcomes(void) {
    calc_fixture f;
    calc_up(&f);
    snats_rpc_client *client = f.client;
    json_t *calls = json_loads("[[\"math.add\", {\"a\": 1, \"b\": 2}], [\"crash\"], {\"method\": \"nope\"},"
                               " {\"method\": \"sum\", \"params\": [3, 4]}, [\"math.add\", {\"a\": 1}], [\"bad method\"]]",
                               0, NULL);
    json_t *results = NULL;
    CHECK_OK(snats_rpc_client_call_batch(&results, client, calls, harness_ms(2000)));
    CHECK_EQ_INT(json_array_size(results), 6);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(results, 0), "status")), SNATS_OK);
    CHECK(json_number_value(json_object_get(json_array_get(results, 0), "result")) == 3);
    CHECK_EQ_INT(code_of(json_object_get(json_array_get(results, 1), "error")), -32603);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(results, 1), "status")), SNATS_RPC_ERROR);
    CHECK_EQ_INT(code_of(json_object_get(json_array_get(results, 2), "error")), -32601);
    CHECK(json_number_value(json_object_get(json_array_get(results, 3), "result")) == 7);
    CHECK_EQ_INT(code_of(json_object_get(json_array_get(results, 4), "error")), -32602);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(results, 5), "status")), SNATS_INVALID_ARG);
    CHECK(strlen(json_string_value(json_object_get(json_array_get(results, 5), "message"))) > 0);
    json_decref(results);
    json_decref(calls);
    const char *bad[] = {"{}", "[1]", "[[1, 2]]", "[[\"a\", {}, 3]]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        calls = json_loads(bad[i], 0, NULL);
        CHECK_STATUS(snats_rpc_client_call_batch(&results, client, calls, 1000), SNATS_INVALID_ARG);
        CHECK_NULL(results);
        json_decref(calls);
    }
    calc_down(&f);
}

static void rpc_streams(void) {
    calc_fixture f;
    calc_up(&f);
    snats_rpc_client *client = f.client;
    json_t *params = json_pack("[i]", 300);
    snats_rpc_stream *stream = NULL;
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "count", params, harness_ms(2000)));
    json_decref(params);
    json_t *item = NULL;
    for (json_int_t i = 0; i < 300; i++) {
        CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
        CHECK_EQ_INT(json_integer_value(item), i);
        json_decref(item);
    }
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_NULL(item); /* the end */
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_NULL(item);
    snats_rpc_stream_destroy(stream);

    params = json_pack("[i]", -1); /* two items, then an error */
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "count", params, harness_ms(2000)));
    json_decref(params);
    for (int i = 0; i < 2; i++) {
        CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
        CHECK_EQ_INT(json_integer_value(item), i);
        json_decref(item);
    }
    json_t *error = NULL;
    CHECK_STATUS(snats_rpc_stream_next(&item, &error, stream), SNATS_RPC_ERROR);
    CHECK_EQ_STR(message_of(error), "Internal error: generator failed");
    json_decref(error);
    snats_rpc_stream_destroy(stream);

    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "whoami", NULL, harness_ms(2000))); /* not streaming */
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_EQ_STR(json_string_value(item), "calc");
    json_decref(item);
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_NULL(item);
    snats_rpc_stream_destroy(stream);

    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "nope", NULL, harness_ms(2000)));
    CHECK_STATUS(snats_rpc_stream_next(&item, &error, stream), SNATS_RPC_ERROR);
    CHECK_EQ_INT(code_of(error), -32601);
    json_decref(error);
    snats_rpc_stream_destroy(stream);

    /* A stream abandoned half-way. */
    params = json_pack("[i]", 1000);
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "count", params, harness_ms(2000)));
    json_decref(params);
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    json_decref(item);
    snats_rpc_stream_destroy(stream);

    /* A plain call of a streaming method: every item in one array. */
    json_t *r = call(client, "count", "[3]");
    CHECK_EQ_INT(json_array_size(r), 3);
    json_decref(r);
    calc_down(&f);
}

static void rpc_namespace_group_and_describe(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_rpc_server *left = NULL, *right = NULL;
    CHECK_OK(snats_rpc_server_create(&left, c, "left", NULL));
    CHECK_OK(snats_rpc_server_register(left, "only_left", NULL, NULL, 0, constant, "left"));
    CHECK_OK(snats_rpc_server_register(left, "both", NULL, NULL, 0, constant, "left"));
    CHECK_OK(snats_rpc_server_start(left, NULL));
    CHECK_OK(snats_rpc_server_create(&right, c, "right", NULL));
    CHECK_OK(snats_rpc_server_register(right, "only_right", NULL, NULL, 0, constant, "right"));
    json_t *desc = json_loads("[\"x\", {\"name\": \"y\", \"type\": \"string\", \"required\": false}]", 0, NULL);
    CHECK_OK(snats_rpc_server_register(right, "both", desc, "described", 0, constant, "right"));
    json_decref(desc);
    CHECK_OK(snats_rpc_server_start(right, NULL));

    const char *ring[] = {"left", "right"};
    snats_rpc_client *client = NULL;
    CHECK_OK(snats_rpc_client_create_group(&client, c, ring, 2, NULL));
    json_t *r = call(client, "only_right", NULL);
    CHECK_EQ_STR(json_string_value(r), "right");
    json_decref(r);
    r = call(client, "both", NULL);
    CHECK_EQ_STR(json_string_value(r), "left");
    json_decref(r);
    json_t *e = call_error(client, "none", NULL);
    CHECK_EQ_INT(code_of(e), -32601);
    CHECK_EQ_INT(json_array_size(json_object_get(json_object_get(e, "data"), "namespaces")), 2);
    json_decref(e);

    json_t *methods = NULL;
    CHECK_OK(snats_rpc_client_describe(&methods, client, harness_ms(300)));
    CHECK_EQ_INT(json_array_size(methods), 3);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(methods, 0), "method")), "both");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(methods, 0), "namespace")), "left");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(methods, 2), "subject")), "rpc.right.only_right");
    json_decref(methods);
    snats_rpc_client *right_only = client_of(c, "right");
    CHECK_OK(snats_rpc_client_describe(&methods, right_only, harness_ms(300)));
    json_t *params = json_object_get(json_array_get(methods, 0), "params");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(params, 1), "type")), "string");
    CHECK(json_is_false(json_object_get(json_array_get(params, 1), "required")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(methods, 0), "description")), "described");
    json_decref(methods);
    snats_rpc_client_destroy(right_only);

    /* left stops: its methods fall through to right. */
    CHECK_OK(snats_rpc_server_stop(left));
    r = call(client, "both", "{\"x\": 1}");
    CHECK_EQ_STR(json_string_value(r), "right");
    json_decref(r);
    snats_rpc_client_destroy(client);
    snats_rpc_server_destroy(left);
    snats_rpc_server_destroy(right);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void rpc_server_in_another_process(void) {
    test_server srv;
    server_start(&srv);
    char *argv[] = {(char *)SNATS_RPC_SERVER_BIN, srv.url, (char *)"calculator", NULL};
    pid_t pid = 0;
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    CHECK_EQ_INT(posix_spawn(&pid, SNATS_RPC_SERVER_BIN, &quiet, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&quiet);
    snats_conn *c = connect_or_fail(srv.url);
    snats_rpc_client *client = client_of(c, "calculator");
    /* Ready once a call gets through (until then: -32601 at once). */
    json_t *result = NULL;
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (snats_rpc_client_call(&result, NULL, client, "whoami", NULL, harness_ms(1000)) != SNATS_OK) {
        if (harness_now_ms() > deadline) FAIL("the rpc_server example never answered");
        harness_sleep_ms(20);
    }
    CHECK_EQ_INT(json_integer_value(json_object_get(result, "pid")), pid);
    json_decref(result);
    result = call(client, "math.multiply", "{\"a\": 6, \"b\": 7}");
    CHECK(json_number_value(result) == 42);
    json_decref(result);
    json_t *e = call_error(client, "math.divide", "[1, 0]");
    CHECK_EQ_STR(message_of(e), "Internal error: division by zero");
    json_decref(e);
    CHECK_EQ_INT(kill(pid, SIGTERM), 0);
    int status = 0;
    CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    e = call_error(client, "whoami", NULL); /* gone: method not found at once */
    CHECK_EQ_INT(code_of(e), -32601);
    json_decref(e);
    snats_rpc_client_destroy(client);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void rpc_bad_arguments(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_rpc_server *server = NULL;
    snats_rpc_client *client = NULL;
    json_t *j = NULL, *e = NULL;
    uint64_t id = 7;

    CHECK_STATUS(snats_rpc_server_create(NULL, c, "ns", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_create(&server, NULL, "ns", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_create(&server, c, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_create(&server, c, "my.app", NULL), SNATS_INVALID_ARG);
    CHECK(strstr(snats_last_error(), "namespace \"my.app\"") != NULL);
    CHECK_STATUS(snats_rpc_server_create(&server, c, "ns", "bad root"), SNATS_INVALID_ARG);
    CHECK_NULL(server);
    CHECK_STATUS(snats_rpc_server_register(NULL, "m", NULL, NULL, 0, echo, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_start(NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_stop(NULL), SNATS_INVALID_ARG);
    CHECK_NULL(snats_rpc_server_id(NULL));
    snats_rpc_server_destroy(NULL);

    CHECK_OK(snats_rpc_server_create(&server, c, "ns", NULL));
    CHECK_STATUS(snats_rpc_server_register(server, NULL, NULL, NULL, 0, echo, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_register(server, "m", NULL, NULL, 0, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_register(server, "a b", NULL, NULL, 0, echo, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_register(server, "m", NULL, NULL, 5000, echo, NULL), SNATS_INVALID_ARG);
    const char *bad_descriptions[] = {"{}", "[1]", "[{\"type\": \"number\"}]", "[{\"name\": \"a\", \"type\": \"float\"}]",
                                      "[\"a\", \"a\"]", "[{\"name\": \"a\", \"kind\": \"other\"}]"};
    for (size_t i = 0; i < sizeof bad_descriptions / sizeof bad_descriptions[0]; i++) {
        json_t *desc = json_loads(bad_descriptions[i], 0, NULL);
        CHECK_STATUS(snats_rpc_server_register(server, "m", desc, NULL, 0, echo, NULL), SNATS_INVALID_ARG);
        json_decref(desc);
    }
    CHECK_OK(snats_rpc_server_register(server, "a.b", NULL, NULL, 0, echo, NULL));
    CHECK_STATUS(snats_rpc_server_register(server, "a.b", NULL, NULL, 0, echo, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_register(server, "a_b", NULL, NULL, 0, echo, NULL), SNATS_INVALID_ARG);
    CHECK(strstr(snats_last_error(), "share the endpoint name") != NULL);
    CHECK_NULL(snats_rpc_server_id(server));
    CHECK_STATUS(snats_rpc_server_start(server, "bad prefix"), SNATS_INVALID_ARG);
    CHECK_OK(snats_rpc_server_start(server, NULL));
    CHECK_STATUS(snats_rpc_server_start(server, NULL), SNATS_ILLEGAL_STATE);

    /* Requests. */
    CHECK_NULL(snats_rpc_request_method(NULL));
    CHECK_NULL(snats_rpc_request_params(NULL));
    CHECK_STATUS(snats_rpc_request_respond(NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_request_send_item(NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_request_fail(NULL, "x", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_request_error(NULL, 1, "x", NULL), SNATS_INVALID_ARG);
    CHECK_NULL(snats_rpc_request_retain(NULL));
    snats_rpc_request_release(NULL);

    /* Clients. */
    CHECK_STATUS(snats_rpc_client_create(NULL, c, "ns"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_create(&client, NULL, "ns"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_create(&client, c, "a.b"), SNATS_INVALID_ARG);
    const char *names[] = {"ok", NULL};
    CHECK_STATUS(snats_rpc_client_create_group(&client, c, names, 2, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_create_group(&client, c, names, 0, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_create_group(&client, c, NULL, 1, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(client);
    CHECK_STATUS(snats_rpc_client_call(&j, &e, NULL, "m", NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call_async(&id, NULL, "m", NULL), SNATS_INVALID_ARG);
    CHECK_EQ_INT(id, 0);
    CHECK_STATUS(snats_rpc_client_get_response(&j, &e, NULL, 1, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_cancel(NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call_cb(NULL, "m", NULL, 1000, on_outcome, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call_batch(&j, NULL, NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_describe(&j, NULL, 1000), SNATS_INVALID_ARG);
    snats_rpc_stream *stream = NULL;
    CHECK_STATUS(snats_rpc_client_call_stream(&stream, NULL, "m", NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_stream_next(&j, &e, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(j);
    CHECK_NULL(e);
    snats_rpc_stream_destroy(NULL);
    snats_rpc_client_destroy(NULL);

    client = client_of(c, "ns");
    CHECK_STATUS(snats_rpc_client_call(NULL, NULL, client, "m", NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call(&j, NULL, client, NULL, NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call_async(NULL, client, "m", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call_stream(&stream, client, "m", NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call_stream(NULL, client, "m", NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_describe(&j, client, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_describe(NULL, client, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_get_response(&j, NULL, client, 12345, 10), SNATS_NOT_FOUND);
    /* A closed connection: calls fail cleanly. */
    snats_conn_close(c);
    CHECK_STATUS(snats_rpc_client_call(&j, NULL, client, "a.b", NULL, 1000), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_rpc_client_call_async(&id, client, "a.b", NULL), SNATS_CONNECTION_CLOSED);
    snats_rpc_client_destroy(client);
    snats_rpc_server_destroy(server);
    snats_conn_destroy(c);
    server_stop(&srv);
}

const test_case rpc_tests[] = {
    TEST(rpc_calls_with_object_and_array_params),
    TEST(rpc_prefix_and_namespace_isolation),
    TEST(rpc_error_codes),
    TEST(rpc_async_calls_and_answers_from_another_thread),
    TEST(rpc_callback_form),
    TEST(rpc_batch_with_mixed_outcomes),
    TEST(rpc_streams),
    TEST(rpc_namespace_group_and_describe),
    TEST(rpc_server_in_another_process),
    TEST(rpc_bad_arguments),
};
HARNESS_TABLE_COUNT(rpc);
