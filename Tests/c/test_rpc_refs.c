/*
 * test_rpc_refs.c - RPC references (the header's "References: calls back to the caller"): a
 * caller lends methods of its own (snats_rpc_ref_create), puts the reference's JSON in a
 * call's params, and the server calls them back with a client made from it
 * (snats_rpc_client_create_from_ref). Covered: the countdown scenario (a server calling its
 * caller back while the call runs), revocation (-32601 at once, data.reference), the forms of
 * the methods argument (names, descriptions, streams, params checks), function references,
 * argument checks, raw requests to a reference's subjects (bad envelopes, huge heartbeat
 * intervals, numbers that name no reference), snats_rpc_ref_destroy() waiting for a handler
 * running on another thread (also racing a stream of calls) and not for its own, references
 * lent from handlers, many references, the one-call-at-a-time rule, references dying with
 * their connection and surviving a reconnect, liveness through a reference, and what a
 * forged reference (a NUL in its subject, a subject too long for a protocol line) must not do.
 * Every test runs a nats-server with two connections: a for the RPC server (and the clients
 * made from references, as a server would), b for the caller that lends the references.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <jansson.h>
#include <stdlib.h>

/* ---- helpers ---- */

/* JSON text parsed (any value); fails the test on a parse error. */
static json_t *jx(const char *text) {
    json_error_t why;
    json_t *value = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &why);
    if (value == NULL) FAIL("bad JSON in the test (%s): %s", why.text, text);
    return value;
}

/* Two JSON values are equal (the second given as text). */
static void check_json(const json_t *got, const char *want_text) {
    json_t *want = jx(want_text);
    if (!json_equal((json_t *)got, want)) {
        char *text = got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        FAIL("got %s, expected %s", text ? text : "(null)", want_text);
    }
    json_decref(want);
}

static json_int_t code_of(const json_t *error) { return json_integer_value(json_object_get(error, "code")); }
static const char *message_of(const json_t *error) { return json_string_value(json_object_get(error, "message")); }
static const char *data_string(const json_t *error, const char *key) {
    return json_string_value(json_object_get(json_object_get(error, "data"), key));
}

/* Lends methods (JSON text) on conn; fails the test unless SNATS_OK with a reference. */
static snats_rpc_ref *lend(snats_conn *conn, const char *methods_text, int function, snats_rpc_handler handler,
                           void *closure) {
    json_t *methods = jx(methods_text);
    snats_rpc_ref *ref = NULL;
    CHECK_OK(snats_rpc_ref_create(&ref, conn, methods, function, handler, closure));
    CHECK_NOT_NULL(ref);
    json_decref(methods);
    /* Its subscription goes out before b's later publishes; the tests also call it from
     * connection a (another TCP link), so the server must have it first. */
    CHECK_OK(snats_conn_flush(conn, harness_ms(5000)));
    return ref;
}

/* snats_rpc_ref_create() with methods given as JSON text is refused with SNATS_INVALID_ARG,
 * leaves *ref NULL and says why. */
static void check_refused(snats_conn *conn, const char *methods_text, int function, snats_rpc_handler handler) {
    json_t *methods = jx(methods_text);
    snats_rpc_ref *ref = (snats_rpc_ref *)&ref; /* not NULL: the call must clear it */
    snats_status s = snats_rpc_ref_create(&ref, conn, methods, function, handler, NULL);
    if (s != SNATS_INVALID_ARG) {
        if (s == SNATS_OK) snats_rpc_ref_destroy(ref);
        json_decref(methods);
        FAIL("snats_rpc_ref_create(%s, function %d) returned %s, expected SNATS_INVALID_ARG", methods_text, function,
             snats_status_text(s));
    }
    CHECK_NULL(ref);
    CHECK(snats_last_error()[0] != '\0');
    json_decref(methods);
}

/* A client of the reference (JSON) on conn; fails the test on error. */
static snats_rpc_client *client_of_ref(snats_conn *conn, const json_t *ref_json) {
    snats_rpc_client *client = NULL;
    CHECK_OK(snats_rpc_client_create_from_ref(&client, conn, ref_json));
    CHECK_NOT_NULL(client);
    return client;
}

/* Calls method with params (JSON text or NULL); fails the test unless SNATS_OK. */
static json_t *call_ok(snats_rpc_client *client, const char *method, const char *params_text) {
    json_t *params = params_text ? jx(params_text) : NULL;
    json_t *result = NULL, *error = NULL;
    snats_status s = snats_rpc_client_call(&result, &error, client, method, params, harness_ms(5000));
    if (s != SNATS_OK) {
        char *text = error ? json_dumps(error, JSON_COMPACT) : NULL;
        FAIL("calling %s returned %s (%s), error %s", method, snats_status_text(s), snats_last_error(),
             text ? text : "(none)");
    }
    CHECK_NULL(error);
    json_decref(params);
    return result;
}

/* Calls method, expects SNATS_RPC_ERROR with code within ms_limit (scaled; the call's
 * timeout is much longer), and returns the error object. */
static json_t *call_error(snats_rpc_client *client, const char *method, const char *params_text, int code,
                          int64_t ms_limit) {
    json_t *params = params_text ? jx(params_text) : NULL;
    json_t *result = NULL, *error = NULL;
    int64_t start = harness_now_ms();
    CHECK_STATUS(snats_rpc_client_call(&result, &error, client, method, params, harness_ms(10000)), SNATS_RPC_ERROR);
    int64_t took = harness_now_ms() - start;
    if (took >= harness_ms(ms_limit))
        FAIL("the error of %s came after %lld ms, expected under %lld ms", method, (long long)took,
             (long long)harness_ms(ms_limit));
    CHECK_NULL(result);
    CHECK_NOT_NULL(error);
    CHECK_EQ_INT(code_of(error), code);
    CHECK_NOT_NULL(message_of(error));
    json_decref(params);
    return error;
}

/* ---- fixture ---- */

typedef struct {
    test_server srv;
    snats_conn *a; /* the RPC server's connection */
    snats_conn *b; /* the caller's: it lends the references */
} refs_fixture;

static void refs_up(refs_fixture *f) {
    memset(f, 0, sizeof *f);
    server_start(&f->srv);
    f->a = connect_or_fail(f->srv.url);
    f->b = connect_or_fail(f->srv.url);
}

static void refs_down(refs_fixture *f) {
    snats_conn_destroy(f->b);
    snats_conn_destroy(f->a);
    server_stop(&f->srv);
}

/* ---- 1. the countdown scenario ---- */

/* The caller's side: the steps its "progress" callback saw, in order. */
typedef struct {
    atomic_int count;
    atomic_int steps[16];
    atomic_int bad; /* calls that were not as expected: must stay 0 */
} progress_state;

/* The caller's "progress" ([step]): records the step, answers step * 10. */
static void on_progress(snats_rpc_request *req, const json_t *params, void *closure) {
    progress_state *st = closure;
    if (strcmp(snats_rpc_request_method(req), "progress") != 0 || !json_is_array(params)) atomic_fetch_add(&st->bad, 1);
    json_int_t step = json_integer_value(json_array_get(params, 0));
    int at = atomic_fetch_add(&st->count, 1);
    if (at < 16) atomic_store(&st->steps[at], (int)step);
    json_t *result = json_integer(step * 10);
    CHECK_OK(snats_rpc_request_respond(req, result));
    json_decref(result);
}

/* The server's "countdown" ({"n": int, "notify": <reference>}): calls notify's "progress"
 * with [i] for i = n .. 1, answers the sum of what it returned. closure: the server's conn. */
static void countdown(snats_rpc_request *req, const json_t *params, void *closure) {
    snats_conn *conn = closure;
    json_int_t n = json_integer_value(json_object_get(params, "n"));
    const json_t *notify = json_object_get(params, "notify");
    snats_rpc_client *back = NULL;
    snats_status s = snats_rpc_client_create_from_ref(&back, conn, notify);
    if (s != SNATS_OK) {
        CHECK_OK(snats_rpc_request_fail(req, snats_last_error(), NULL));
        return;
    }
    json_int_t sum = 0;
    for (json_int_t i = n; i >= 1; i--) {
        json_t *args = json_pack("[I]", i);
        json_t *result = NULL, *error = NULL;
        s = snats_rpc_client_call(&result, &error, back, "progress", args, harness_ms(5000));
        json_decref(args);
        if (s != SNATS_OK) {
            char message[512];
            snprintf(message, sizeof message, "progress(%lld) returned %s: %s", (long long)i, snats_status_text(s),
                     error ? message_of(error) : snats_last_error());
            json_decref(error);
            snats_rpc_client_destroy(back);
            CHECK_OK(snats_rpc_request_fail(req, message, NULL));
            return;
        }
        sum += json_integer_value(result);
        json_decref(result);
    }
    snats_rpc_client_destroy(back);
    json_t *total = json_integer(sum);
    CHECK_OK(snats_rpc_request_respond(req, total));
    json_decref(total);
}

static snats_rpc_server *jobs_server(snats_conn *a) {
    snats_rpc_server *server = NULL;
    CHECK_OK(snats_rpc_server_create(&server, a, "jobs", NULL));
    json_t *described = jx("[{\"name\": \"n\", \"type\": \"integer\"}, {\"name\": \"notify\", \"type\": \"object\"}]");
    CHECK_OK(snats_rpc_server_register(server, "countdown", described, "counts down, calling notify", 0, countdown, a));
    json_decref(described);
    CHECK_OK(snats_rpc_server_start(server, NULL));
    return server;
}

static void rpc_refs_countdown_calls_the_caller_back(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_server *server = jobs_server(f.a);

    static progress_state st;
    snats_rpc_ref *ref = lend(f.b, "{\"progress\": [{\"name\": \"step\", \"type\": \"integer\"}]}", 0, on_progress, &st);
    const json_t *ref_json = snats_rpc_ref_json(ref);
    const char *subject = snats_rpc_ref_subject(ref);
    CHECK_NOT_NULL(ref_json);
    CHECK_NOT_NULL(subject);
    /* {"$ref": {"subject": <its subject>, "methods": {...}, "function": false}} */
    CHECK_EQ_INT(json_object_size(ref_json), 1);
    const json_t *inner = json_object_get(ref_json, "$ref");
    CHECK(json_is_object(inner));
    CHECK_EQ_STR(json_string_value(json_object_get(inner, "subject")), subject);
    check_json(json_object_get(inner, "methods"),
               "{\"progress\": {\"params\": [{\"name\": \"step\", \"type\": \"integer\", \"required\": true}],"
               " \"stream\": false}}");
    CHECK(json_is_false(json_object_get(inner, "function")));
    CHECK(snats_rpc_ref_subject(ref) == subject); /* borrowed: the same text each time */
    CHECK(snats_rpc_ref_json(ref) == ref_json);

    snats_rpc_client *client = NULL;
    CHECK_OK(snats_rpc_client_create(&client, f.b, "jobs"));
    json_t *params = json_pack("{s:i, s:O}", "n", 3, "notify", (json_t *)ref_json);
    json_t *result = NULL, *error = NULL;
    snats_status s = snats_rpc_client_call(&result, &error, client, "countdown", params, harness_ms(10000));
    if (s != SNATS_OK) FAIL("countdown returned %s: %s", snats_status_text(s), error ? message_of(error) : snats_last_error());
    json_decref(params);
    CHECK(json_is_integer(result));
    CHECK_EQ_INT(json_integer_value(result), 60);
    json_decref(result);
    CHECK_EQ_INT(atomic_load(&st.count), 3);
    CHECK_EQ_INT(atomic_load(&st.steps[0]), 3);
    CHECK_EQ_INT(atomic_load(&st.steps[1]), 2);
    CHECK_EQ_INT(atomic_load(&st.steps[2]), 1);
    CHECK_EQ_INT(atomic_load(&st.bad), 0);

    /* The same reference serves another call (it lives until destroyed). */
    params = json_pack("{s:i, s:O}", "n", 2, "notify", (json_t *)ref_json);
    CHECK_OK(snats_rpc_client_call(&result, NULL, client, "countdown", params, harness_ms(10000)));
    json_decref(params);
    CHECK_EQ_INT(json_integer_value(result), 30);
    json_decref(result);
    CHECK_EQ_INT(atomic_load(&st.count), 5);
    CHECK_EQ_INT(atomic_load(&st.steps[3]), 2);
    CHECK_EQ_INT(atomic_load(&st.steps[4]), 1);

    /* The reference's own params check runs before its handler: a step that is no integer is
     * refused. */
    snats_rpc_client *direct = client_of_ref(f.a, ref_json);
    error = call_error(direct, "progress", "[1.5]", -32602, 2000);
    CHECK(strstr(message_of(error), "step") != NULL);
    json_decref(error);
    CHECK_EQ_INT(atomic_load(&st.count), 5); /* the handler did not run */
    snats_rpc_client_destroy(direct);

    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(ref);
    snats_rpc_server_destroy(server);
    refs_down(&f);
}

/* The server and its caller on one connection: a server's handler calls back a reference
 * lent on its own connection. */
static void rpc_refs_countdown_on_one_connection(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_server *server = jobs_server(f.a);
    static progress_state st;
    snats_rpc_ref *ref = lend(f.a, "{\"progress\": [{\"name\": \"step\", \"type\": \"integer\"}]}", 0, on_progress, &st);
    snats_rpc_client *client = NULL;
    CHECK_OK(snats_rpc_client_create(&client, f.a, "jobs"));
    json_t *params = json_pack("{s:i, s:O}", "n", 3, "notify", (json_t *)snats_rpc_ref_json(ref));
    json_t *result = NULL, *error = NULL;
    snats_status s = snats_rpc_client_call(&result, &error, client, "countdown", params, harness_ms(10000));
    if (s != SNATS_OK) FAIL("countdown returned %s: %s", snats_status_text(s), error ? message_of(error) : snats_last_error());
    json_decref(params);
    CHECK_EQ_INT(json_integer_value(result), 60);
    json_decref(result);
    CHECK_EQ_INT(atomic_load(&st.count), 3);
    CHECK_EQ_INT(atomic_load(&st.steps[0]), 3);
    CHECK_EQ_INT(atomic_load(&st.steps[2]), 1);
    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(ref);
    snats_rpc_server_destroy(server);
    refs_down(&f);
}

/* ---- 2. revocation ---- */

/* Answers "pong" to any method. */
static void pong(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    if (closure) atomic_fetch_add((atomic_int *)closure, 1);
    json_t *result = json_string("pong");
    CHECK_OK(snats_rpc_request_respond(req, result));
    json_decref(result);
}

static void rpc_refs_revoked_reference_answers_method_not_found(void) {
    refs_fixture f;
    refs_up(&f);
    static atomic_int calls;
    snats_rpc_ref *ref = lend(f.b, "[\"progress\"]", 0, pong, &calls);
    char subject[256];
    snprintf(subject, sizeof subject, "%s", snats_rpc_ref_subject(ref));
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));

    json_t *result = call_ok(client, "progress", "[1]");
    CHECK_EQ_STR(json_string_value(result), "pong");
    json_decref(result);

    /* A method the reference does not lend: -32601 at once while it is alive. */
    json_t *error = call_error(client, "nope", NULL, -32601, 1000);
    CHECK_EQ_STR(data_string(error, "reference"), subject);
    CHECK_EQ_STR(data_string(error, "method"), "nope");
    CHECK(strstr(message_of(error), "nope") != NULL);
    json_decref(error);
    error = call_error(client, "progress.more", NULL, -32601, 1000); /* no prefix match */
    json_decref(error);
    CHECK_EQ_INT(atomic_load(&calls), 1);

    /* Revoked: -32601 at once, naming the reference. */
    snats_rpc_ref_destroy(ref);
    error = call_error(client, "progress", "[2]", -32601, 1000);
    CHECK_EQ_STR(data_string(error, "reference"), subject);
    CHECK_EQ_STR(data_string(error, "method"), "progress");
    json_decref(error);

    /* The other call forms too. */
    uint64_t id = 0;
    CHECK_OK(snats_rpc_client_call_async(&id, client, "progress", NULL));
    result = NULL;
    error = NULL;
    CHECK_STATUS(snats_rpc_client_get_response(&result, &error, client, id, harness_ms(10000)), SNATS_RPC_ERROR);
    CHECK_EQ_INT(code_of(error), -32601);
    CHECK_EQ_STR(data_string(error, "reference"), subject);
    json_decref(error);
    snats_rpc_stream *stream = NULL;
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "progress", NULL, harness_ms(10000)));
    json_t *item = NULL;
    error = NULL;
    CHECK_STATUS(snats_rpc_stream_next(&item, &error, stream), SNATS_RPC_ERROR);
    CHECK_NULL(item);
    CHECK_EQ_INT(code_of(error), -32601);
    json_decref(error);
    snats_rpc_stream_destroy(stream);
    CHECK_EQ_INT(atomic_load(&calls), 1); /* the handler never ran again */

    /* A client made from the JSON after revocation is made (its calls fail the same way). */
    json_t *copy = json_pack("{s:{s:s}}", "$ref", "subject", subject);
    snats_rpc_client *late = client_of_ref(f.a, copy);
    json_decref(copy);
    error = call_error(late, "progress", NULL, -32601, 1000);
    json_decref(error);
    snats_rpc_client_destroy(late);

    /* A new reference of the same connection works, under another subject; the revoked one
     * stays revoked. */
    snats_rpc_ref *again = lend(f.b, "[\"progress\"]", 0, pong, &calls);
    CHECK(strcmp(snats_rpc_ref_subject(again), subject) != 0);
    snats_rpc_client *client2 = client_of_ref(f.a, snats_rpc_ref_json(again));
    result = call_ok(client2, "progress", NULL);
    CHECK_EQ_STR(json_string_value(result), "pong");
    json_decref(result);
    error = call_error(client, "progress", NULL, -32601, 1000);
    json_decref(error);
    CHECK_EQ_INT(atomic_load(&calls), 2);
    snats_rpc_client_destroy(client2);
    snats_rpc_ref_destroy(again);

    snats_rpc_client_destroy(client);
    refs_down(&f);
}

/* ---- 3. the forms of methods ---- */

static void send_count(snats_rpc_request *req, const json_t *params) {
    json_int_t n = json_integer_value(json_array_get(params, 0));
    for (json_int_t i = 0; i < n; i++) {
        json_t *item = json_integer(i);
        CHECK_OK(snats_rpc_request_send_item(req, item));
        json_decref(item);
    }
    CHECK_OK(snats_rpc_request_end_stream(req));
}

/* One handler for every method: snats_rpc_request_method() says which. */
static void multi(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    const char *method = snats_rpc_request_method(req);
    CHECK(snats_rpc_request_params(req) == params);
    if (strcmp(method, "gen") == 0) {
        send_count(req, params);
    } else if (strcmp(method, "boom") == 0) {
        CHECK_OK(snats_rpc_request_fail(req, "boom went the handler", "test_rpc_refs.c: multi()"));
    } else if (strcmp(method, "silent") == 0) {
        /* returns without answering */
    } else {
        json_t *result = json_pack("{s:s, s:O}", "method", method, "params", (json_t *)params);
        CHECK_OK(snats_rpc_request_respond(req, result));
        json_decref(result);
    }
}

/* Records the outcome of snats_rpc_client_call_cb(). */
typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    json_t *value; /* a deep copy of the result, or of the error */
} outcome_state;

static void on_outcome(snats_status status, const json_t *result, const json_t *error, void *closure) {
    outcome_state *st = closure;
    st->value = json_deep_copy(status == SNATS_OK ? result : error);
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

static void rpc_refs_methods_forms(void) {
    refs_fixture f;
    refs_up(&f);

    /* An array of names: unchecked params, no streams; dotted names. */
    snats_rpc_ref *names = lend(f.b, "[\"a\", \"b.c\", \"boom\", \"silent\"]", 0, multi, NULL);
    const json_t *inner = json_object_get(snats_rpc_ref_json(names), "$ref");
    check_json(json_object_get(inner, "methods"),
               "{\"a\": {\"params\": null, \"stream\": false}, \"b.c\": {\"params\": null, \"stream\": false},"
               " \"boom\": {\"params\": null, \"stream\": false}, \"silent\": {\"params\": null, \"stream\": false}}");
    CHECK(json_is_false(json_object_get(inner, "function")));
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(names));
    json_t *result = call_ok(client, "b.c", "{\"any\": [1, 2]}");
    check_json(result, "{\"method\": \"b.c\", \"params\": {\"any\": [1, 2]}}");
    json_decref(result);
    result = call_ok(client, "a", NULL);
    check_json(result, "{\"method\": \"a\", \"params\": {}}");
    json_decref(result);
    json_t *error = call_error(client, "b", NULL, -32601, 1000); /* a prefix of b.c is no method */
    json_decref(error);
    /* A handler's failure names the reference (no namespace). */
    error = call_error(client, "boom", NULL, -32603, 2000);
    CHECK_EQ_STR(message_of(error), "Internal error: boom went the handler");
    CHECK_EQ_STR(data_string(error, "reference"), snats_rpc_ref_subject(names));
    CHECK_EQ_STR(data_string(error, "method"), "boom");
    CHECK_EQ_STR(data_string(error, "traceback"), "test_rpc_refs.c: multi()");
    CHECK_NULL(json_object_get(json_object_get(error, "data"), "namespace"));
    json_decref(error);
    /* A handler that returns without answering. */
    error = call_error(client, "silent", NULL, -32603, 2000);
    CHECK(strstr(message_of(error), "returned without a result") != NULL);
    json_decref(error);
    snats_rpc_client_destroy(client);

    /* An object: null, a parameter description, {"params", "stream", "description"}. */
    snats_rpc_ref *described = lend(f.b,
                                    "{\"plain\": null,"
                                    " \"typed\": [{\"name\": \"x\", \"type\": \"integer\"}],"
                                    " \"full\": {\"params\": [{\"name\": \"s\", \"type\": \"string\"},"
                                    "                          {\"name\": \"opt\", \"required\": false}],"
                                    "            \"stream\": false, \"description\": \"the full form\"},"
                                    " \"gen\": {\"params\": null, \"stream\": true},"
                                    " \"bare\": {}}",
                                    0, multi, NULL);
    inner = json_object_get(snats_rpc_ref_json(described), "$ref");
    check_json(json_object_get(inner, "methods"),
               "{\"plain\": {\"params\": null, \"stream\": false},"
               " \"typed\": {\"params\": [{\"name\": \"x\", \"type\": \"integer\", \"required\": true}], \"stream\": false},"
               " \"full\": {\"params\": [{\"name\": \"s\", \"type\": \"string\", \"required\": true},"
               "                         {\"name\": \"opt\", \"required\": false}],"
               "            \"stream\": false, \"description\": \"the full form\"},"
               " \"gen\": {\"params\": null, \"stream\": true},"
               " \"bare\": {\"params\": null, \"stream\": false}}");
    client = client_of_ref(f.a, snats_rpc_ref_json(described));
    result = call_ok(client, "plain", "[true, null]");
    check_json(result, "{\"method\": \"plain\", \"params\": [true, null]}");
    json_decref(result);
    result = call_ok(client, "typed", "[5]");
    check_json(result, "{\"method\": \"typed\", \"params\": [5]}");
    json_decref(result);
    result = call_ok(client, "typed", "{\"x\": -1}");
    json_decref(result);
    /* Params checks: -32602 before the handler. */
    error = call_error(client, "typed", "[\"five\"]", -32602, 2000);
    CHECK_EQ_STR(message_of(error), "Invalid params: parameter 'x' must be integer, got string");
    CHECK_EQ_STR(data_string(error, "reference"), snats_rpc_ref_subject(described));
    json_decref(error);
    error = call_error(client, "typed", "[5.0]", -32602, 2000);
    json_decref(error);
    error = call_error(client, "typed", "[]", -32602, 2000);
    CHECK_EQ_STR(message_of(error), "Invalid params: missing required parameter 'x'");
    json_decref(error);
    error = call_error(client, "typed", "{\"x\": 1, \"y\": 2}", -32602, 2000);
    CHECK_EQ_STR(message_of(error), "Invalid params: unexpected parameter 'y'");
    json_decref(error);
    result = call_ok(client, "full", "{\"s\": \"text\"}");
    json_decref(result);
    error = call_error(client, "full", "{\"s\": 1}", -32602, 2000);
    json_decref(error);

    /* A streaming method of a reference: items, then the end. */
    snats_rpc_stream *stream = NULL;
    json_t *three = json_pack("[i]", 3);
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "gen", three, harness_ms(5000)));
    json_decref(three);
    json_t *item = NULL;
    for (int i = 0; i < 3; i++) {
        CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
        CHECK(json_is_integer(item));
        CHECK_EQ_INT(json_integer_value(item), i);
        json_decref(item);
    }
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_NULL(item); /* the end */
    snats_rpc_stream_destroy(stream);
    /* An empty stream, and a plain call of the streaming method (the items in one array). */
    json_t *zero = json_pack("[i]", 0);
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "gen", zero, harness_ms(5000)));
    json_decref(zero);
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_NULL(item);
    snats_rpc_stream_destroy(stream);
    result = call_ok(client, "gen", "[4]");
    check_json(result, "[0, 1, 2, 3]");
    json_decref(result);
    /* A stream of a method the reference does not lend. */
    CHECK_OK(snats_rpc_client_call_stream(&stream, client, "nope", NULL, harness_ms(10000)));
    CHECK_STATUS(snats_rpc_stream_next(&item, &error, stream), SNATS_RPC_ERROR);
    CHECK_EQ_INT(code_of(error), -32601);
    json_decref(error);
    snats_rpc_stream_destroy(stream);

    /* The batch and callback call forms. */
    json_t *calls = jx("[[\"typed\", [1]], {\"method\": \"typed\", \"params\": [\"one\"]}, [\"nope\"], [\"gen\", [2]]]");
    json_t *results = NULL;
    CHECK_OK(snats_rpc_client_call_batch(&results, client, calls, harness_ms(5000)));
    json_decref(calls);
    CHECK_EQ_INT(json_array_size(results), 4);
    check_json(json_array_get(results, 0), "{\"status\": 0, \"result\": {\"method\": \"typed\", \"params\": [1]}}");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(results, 1), "status")), SNATS_RPC_ERROR);
    CHECK_EQ_INT(code_of(json_object_get(json_array_get(results, 1), "error")), -32602);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(results, 2), "status")), SNATS_RPC_ERROR);
    CHECK_EQ_INT(code_of(json_object_get(json_array_get(results, 2), "error")), -32601);
    check_json(json_array_get(results, 3), "{\"status\": 0, \"result\": [0, 1]}");
    json_decref(results);
    static outcome_state out;
    json_t *seven = json_pack("[i]", 7);
    CHECK_OK(snats_rpc_client_call_cb(client, "typed", seven, harness_ms(5000), on_outcome, &out));
    json_decref(seven);
    CHECK_EVENTUALLY(atomic_load(&out.calls) == 1, 5000);
    CHECK_EQ_INT(atomic_load(&out.status), SNATS_OK);
    check_json(out.value, "{\"method\": \"typed\", \"params\": [7]}");
    json_decref(out.value);

    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(described);
    snats_rpc_ref_destroy(names);
    refs_down(&f);
}

/* ---- 4. function references ---- */

/* "call" ([x]): answers x + 1. */
static void plus_one(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    CHECK_EQ_STR(snats_rpc_request_method(req), "call");
    json_t *result = json_integer(json_integer_value(json_array_get(params, 0)) + 1);
    CHECK_OK(snats_rpc_request_respond(req, result));
    json_decref(result);
}

static void rpc_refs_function_reference(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_ref *fn = lend(f.b, "[\"call\"]", 1, plus_one, NULL);
    const json_t *inner = json_object_get(snats_rpc_ref_json(fn), "$ref");
    CHECK(json_is_true(json_object_get(inner, "function")));
    check_json(json_object_get(inner, "methods"), "{\"call\": {\"params\": null, \"stream\": false}}");
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(fn));
    json_t *result = call_ok(client, "call", "[41]");
    CHECK_EQ_INT(json_integer_value(result), 42);
    json_decref(result);
    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(fn);

    /* Any non-zero function, and the object form with a description of "call". */
    fn = lend(f.b, "{\"call\": [{\"name\": \"x\", \"type\": \"integer\"}]}", -7, plus_one, NULL);
    inner = json_object_get(snats_rpc_ref_json(fn), "$ref");
    CHECK(json_is_true(json_object_get(inner, "function")));
    client = client_of_ref(f.a, snats_rpc_ref_json(fn));
    result = call_ok(client, "call", "[1]");
    CHECK_EQ_INT(json_integer_value(result), 2);
    json_decref(result);
    json_t *error = call_error(client, "call", "[\"one\"]", -32602, 2000);
    json_decref(error);
    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(fn);

    /* A function without "call". */
    check_refused(f.b, "[\"progress\"]", 1, plus_one);
    check_refused(f.b, "{\"Call\": null}", 1, plus_one);
    check_refused(f.b, "[\"call.me\"]", 1, plus_one);
    refs_down(&f);
}

/* The header: "@retval SNATS_INVALID_ARG ... @p function without exactly the method "call"";
 * and "@p function Non-zero: the reference stands for one function". */
static void rpc_refs_function_reference_lends_only_call(void) {
    refs_fixture f;
    refs_up(&f);
    check_refused(f.b, "[\"call\", \"other\"]", 1, plus_one);
    check_refused(f.b, "{\"call\": null, \"other\": null}", 1, plus_one);
    refs_down(&f);
}

/* ---- 5. bad arguments ---- */

static void rpc_refs_bad_arguments(void) {
    refs_fixture f;
    refs_up(&f);
    json_t *methods = jx("[\"m\"]");
    snats_rpc_ref *ref = (snats_rpc_ref *)&ref;

    /* NULL arguments. */
    CHECK_STATUS(snats_rpc_ref_create(NULL, f.b, methods, 0, pong, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_ref_create(&ref, NULL, methods, 0, pong, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(ref);
    ref = (snats_rpc_ref *)&ref;
    CHECK_STATUS(snats_rpc_ref_create(&ref, f.b, NULL, 0, pong, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(ref);
    ref = (snats_rpc_ref *)&ref;
    CHECK_STATUS(snats_rpc_ref_create(&ref, f.b, methods, 0, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(ref);
    json_decref(methods);

    /* No method. */
    check_refused(f.b, "[]", 0, pong);
    check_refused(f.b, "{}", 0, pong);
    /* Repeated names. */
    check_refused(f.b, "[\"a\", \"b\", \"a\"]", 0, pong);
    /* Names that are no strings. */
    check_refused(f.b, "[\"a\", 1]", 0, pong);
    check_refused(f.b, "[null]", 0, pong);
    check_refused(f.b, "[[\"a\"]]", 0, pong);
    check_refused(f.b, "[{\"a\": null}]", 0, pong);
    /* Bad names, as array items and as object keys. */
    const char *bad_names[] = {"a b", "a.*", "", "*", ">", "a.>", "a..b", ".a", "a.", "a\\tb", "a\\r\\nb", "a\\u0000b"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "[\"%s\"]", bad_names[i]);
        check_refused(f.b, text, 0, pong);
        if (strstr(bad_names[i], "u0000") != NULL) continue; /* Jansson keeps no NUL in a key */
        snprintf(text, sizeof text, "{\"%s\": null}", bad_names[i]);
        check_refused(f.b, text, 0, pong);
    }
    /* methods neither array nor object. */
    check_refused(f.b, "42", 0, pong);
    check_refused(f.b, "\"m\"", 0, pong);
    check_refused(f.b, "true", 0, pong);
    check_refused(f.b, "null", 0, pong);
    /* Bad values of the object form. */
    check_refused(f.b, "{\"m\": 5}", 0, pong);
    check_refused(f.b, "{\"m\": \"text\"}", 0, pong);
    check_refused(f.b, "{\"m\": true}", 0, pong);
    check_refused(f.b, "{\"m\": {\"stream\": \"yes\"}}", 0, pong);
    check_refused(f.b, "{\"m\": {\"stream\": 1}}", 0, pong);
    check_refused(f.b, "{\"m\": {\"description\": 5}}", 0, pong);
    check_refused(f.b, "{\"m\": {\"description\": [\"d\"]}}", 0, pong);
    check_refused(f.b, "{\"m\": {\"params\": 5}}", 0, pong);
    check_refused(f.b, "{\"m\": {\"params\": {\"x\": 1}}}", 0, pong);
    check_refused(f.b, "{\"m\": {\"params\": [{\"name\": \"x\", \"type\": \"bogus\"}]}}", 0, pong);
    check_refused(f.b, "{\"m\": [{\"name\": \"x\", \"type\": \"bogus\"}]}", 0, pong);
    check_refused(f.b, "{\"m\": [{\"name\": \"x\", \"kind\": \"bogus\"}]}", 0, pong);
    check_refused(f.b, "{\"m\": [\"x\", \"x\"]}", 0, pong);        /* a repeated parameter */
    check_refused(f.b, "{\"m\": [{\"name\": \"*\"}]}", 0, pong);   /* "*" is no parameter name */
    check_refused(f.b, "{\"m\": [{\"type\": \"integer\"}]}", 0, pong); /* no name */
    check_refused(f.b, "{\"m\": [3]}", 0, pong);
    check_refused(f.b, "{\"good\": null, \"m\": 5}", 0, pong); /* one bad value refuses all */
    /* ...while null stream / params / description mean "none". */
    snats_rpc_ref *ok = lend(f.b, "{\"m\": {\"params\": null, \"stream\": null, \"description\": null}}", 0, pong, NULL);
    check_json(json_object_get(json_object_get(snats_rpc_ref_json(ok), "$ref"), "methods"),
               "{\"m\": {\"params\": null, \"stream\": false}}");
    snats_rpc_ref_destroy(ok);

    /* The accessors and destroy with NULL. */
    CHECK_NULL(snats_rpc_ref_json(NULL));
    CHECK_NULL(snats_rpc_ref_subject(NULL));
    snats_rpc_ref_destroy(NULL);

    /* Clients of references. */
    snats_rpc_client *client = (snats_rpc_client *)&client;
    json_t *good = jx("{\"$ref\": {\"subject\": \"_INBOX.x.1\"}}");
    CHECK_STATUS(snats_rpc_client_create_from_ref(&client, f.a, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(client);
    CHECK_STATUS(snats_rpc_client_create_from_ref(&client, NULL, good), SNATS_INVALID_ARG);
    CHECK_NULL(client);
    CHECK_STATUS(snats_rpc_client_create_from_ref(NULL, f.a, good), SNATS_INVALID_ARG);
    json_decref(good);
    const char *not_refs[] = {
        "{}",
        "{\"$ref\": {}}",
        "{\"$ref\": {\"subject\": \"a.*\"}}",
        "{\"$ref\": {\"subject\": \"a.>\"}}",
        "{\"$ref\": {\"subject\": \">\"}}",
        "{\"$ref\": {\"subject\": 3}}",
        "{\"$ref\": {\"subject\": null}}",
        "{\"$ref\": {\"subject\": \"\"}}",
        "{\"$ref\": {\"subject\": \"a b\"}}",
        "{\"$ref\": {\"subject\": \"a..b\"}}",
        "{\"$ref\": {\"subject\": \".a\"}}",
        "{\"$ref\": {\"subject\": \"a.\"}}",
        "{\"$ref\": {\"subject\": \"a\\tb\"}}",
        "{\"$ref\": {\"subject\": \"a\\r\\nPUB evil 1\\r\\nx\"}}",
        "{\"$ref\": \"_INBOX.x.1\"}",
        "{\"$ref\": null}",
        "{\"$ref\": [\"_INBOX.x.1\"]}",
        "{\"$ref\": {\"subject\": [\"_INBOX.x.1\"]}}",
        "{\"subject\": 3}",
        "[1]",
        "[{\"subject\": \"_INBOX.x.1\"}]",
        "\"_INBOX.x.1\"",
        "1",
        "null",
    };
    for (size_t i = 0; i < sizeof not_refs / sizeof not_refs[0]; i++) {
        json_t *value = json_loads(not_refs[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (value == NULL) FAIL("bad JSON in the test: %s", not_refs[i]);
        client = (snats_rpc_client *)&client;
        snats_status s = snats_rpc_client_create_from_ref(&client, f.a, value);
        if (s != SNATS_INVALID_ARG)
            FAIL("snats_rpc_client_create_from_ref(%s) returned %s, expected SNATS_INVALID_ARG", not_refs[i],
                 snats_status_text(s));
        CHECK_NULL(client);
        json_decref(value);
    }

    /* The inner object form works, and describe() is refused. */
    snats_rpc_ref *ref2 = lend(f.b, "[\"m\"]", 0, pong, NULL);
    const json_t *inner = json_object_get(snats_rpc_ref_json(ref2), "$ref");
    client = client_of_ref(f.a, inner);
    json_t *result = call_ok(client, "m", NULL);
    CHECK_EQ_STR(json_string_value(result), "pong");
    json_decref(result);
    json_t *described = (json_t *)&described;
    CHECK_STATUS(snats_rpc_client_describe(&described, client, harness_ms(1000)), SNATS_ILLEGAL_STATE);
    CHECK_NULL(described);
    /* Bad calls through it. */
    result = NULL;
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "a b", NULL, harness_ms(1000)), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "m.*", NULL, harness_ms(1000)), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "", NULL, harness_ms(1000)), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, NULL, NULL, harness_ms(1000)), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_client_call(&result, NULL, client, "m", NULL, 0), SNATS_INVALID_ARG);
    CHECK_NULL(result);
    snats_rpc_client_destroy(client);
    /* A client of the inner object with extra keys. */
    json_t *extra = jx("{\"subject\": \"x\", \"methods\": 5, \"function\": \"no\"}");
    json_object_set(extra, "subject", json_object_get(inner, "subject"));
    client = client_of_ref(f.a, extra);
    json_decref(extra);
    result = call_ok(client, "m", NULL);
    json_decref(result);
    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(ref2);
    refs_down(&f);
}

/* A subject holding a NUL byte is no subject: it must not be cut at the NUL (here to the
 * subject of an RPC method, "rpc.jobs"). */
static void rpc_refs_subject_with_nul_is_refused(void) {
    refs_fixture f;
    refs_up(&f);
    json_t *value = jx("{\"$ref\": {\"subject\": \"rpc.jobs\\u0000.elsewhere\"}}");
    CHECK_EQ_INT(json_string_length(json_object_get(json_object_get(value, "$ref"), "subject")), 19);
    snats_rpc_client *client = (snats_rpc_client *)&client;
    snats_status s = snats_rpc_client_create_from_ref(&client, f.a, value);
    if (s == SNATS_OK) {
        /* Where do its calls go? */
        snats_sub *sub = NULL;
        CHECK_OK(snats_subscribe_sync(&sub, f.b, "rpc.jobs.m"));
        CHECK_OK(snats_conn_flush(f.b, harness_ms(5000)));
        uint64_t id = 0;
        CHECK_OK(snats_rpc_client_call_async(&id, client, "m", NULL));
        snats_msg *msg = NULL;
        bool reached = snats_sub_next_msg(&msg, sub, harness_ms(1000)) == SNATS_OK;
        snats_msg_release(msg);
        json_decref(value); /* (a clean valgrind report of the failure) */
        FAIL("snats_rpc_client_create_from_ref({\"$ref\": {\"subject\": \"rpc.jobs\\u0000.elsewhere\"}}) returned "
             "SNATS_OK%s", reached ? "; its call of \"m\" went to rpc.jobs.m" : "");
    }
    CHECK_STATUS(s, SNATS_INVALID_ARG);
    CHECK_NULL(client);
    json_decref(value);
    refs_down(&f);
}

/* A reference comes from the caller: a subject too long for a protocol line (nats-server's
 * max_control_line is 4096 bytes) must be refused, or fail the call alone. Calling it must
 * not get the server's connection dropped by the nats-server ("maximum control line
 * exceeded"), with every other call and subscription of that connection. */
static void count_disconnect(snats_conn *conn, void *closure) {
    (void)conn;
    atomic_fetch_add((atomic_int *)closure, 1);
}

static void rpc_refs_overlong_subject_does_not_cost_the_connection(void) {
    refs_fixture f;
    memset(&f, 0, sizeof f);
    server_start(&f.srv);
    static atomic_int disconnects;
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, f.srv.url));
    CHECK_OK(snats_options_set_disconnected_cb(o, count_disconnect, &disconnects));
    CHECK_OK(snats_conn_connect(&f.a, o));
    snats_options_destroy(o);
    f.b = connect_or_fail(f.srv.url);
    snats_rpc_server *server = jobs_server(f.a);

    enum { LEN = 5000 };
    char *subject = malloc(LEN + 1);
    for (int i = 0; i < LEN; i++) subject[i] = i % 50 == 49 && i != LEN - 1 ? '.' : 'a';
    subject[LEN] = '\0';
    /* The caller forges the reference it passes to countdown. */
    snats_rpc_client *client = NULL;
    CHECK_OK(snats_rpc_client_create(&client, f.b, "jobs"));
    json_t *params = json_pack("{s:i, s:{s:{s:s}}}", "n", 1, "notify", "$ref", "subject", subject);
    free(subject);
    json_t *result = NULL, *error = NULL;
    snats_status s = snats_rpc_client_call(&result, &error, client, "countdown", params, harness_ms(5000));
    json_decref(params);
    char message[256];
    snprintf(message, sizeof message, "%s", error ? message_of(error) : snats_last_error());
    json_decref(result);
    json_decref(error);
    harness_sleep_ms(harness_ms(300)); /* a drop is reported at once; show that none came */
    int dropped = atomic_load(&disconnects);
    snats_rpc_client_destroy(client);
    snats_rpc_server_destroy(server);
    refs_down(&f); /* (a clean valgrind report of the failure) */
    if (dropped != 0 || s != SNATS_RPC_ERROR) /* the callback cannot be made: countdown fails */
        FAIL("calling back a reference with a %d-byte subject: the server's connection was dropped %d time(s); "
             "countdown returned %s (%s), expected SNATS_RPC_ERROR", LEN, dropped, snats_status_text(s), message);
}

/* Raw requests to a reference's subjects, as any NATS client (or a hostile server) may send. */
static void rpc_refs_raw_requests(void) {
    refs_fixture f;
    refs_up(&f);
    static atomic_int calls;
    snats_rpc_ref *ref = lend(f.b, "{\"m\": [{\"name\": \"x\", \"type\": \"integer\"}]}", 0, pong, &calls);
    const char *subject = snats_rpc_ref_subject(ref);
    char to[512];
    struct {
        const char *suffix;
        const char *body;
        int code; /* 0: "pong" */
    } cases[] = {
        {".m", "{\"id\": 1, \"method\": \"m\", \"params\": [1]}", 0},
        {".m", "{\"id\": 2, \"method\": \"m\", \"params\": [1], \"heartbeat\": 9223372036854775807}", 0},
        {".m", "{\"id\": 3, \"method\": \"m\", \"params\": [1], \"heartbeat\": -9223372036854775807}", 0},
        {".m", "{\"id\": 4, \"method\": \"m\", \"params\": [1], \"heartbeat\": 1e308}", 0},
        {".m", "{\"id\": 5, \"method\": \"other\", \"params\": [1]}", 0}, /* the subject decides */
        {".m", "{\"id\": 6, \"method\": \"m\", \"params\": [\"x\"]}", -32602},
        {".m", "not json", -32700},
        {".m", "[]", -32600},
        {".m", "{\"id\": 1.5, \"method\": \"m\"}", -32600},
        {".nope", "{\"id\": 7, \"method\": \"nope\"}", -32601},
        {"", "{\"id\": 8, \"method\": \"\"}", -32601},         /* the reference's subject alone */
        {".m.x", "{\"id\": 9, \"method\": \"m.x\"}", -32601},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(to, sizeof to, "%s%s", subject, cases[i].suffix);
        snats_msg *reply = NULL;
        snats_status s = snats_request(&reply, f.a, to, cases[i].body, strlen(cases[i].body), harness_ms(5000));
        if (s != SNATS_OK) FAIL("request %zu (%s to %s) returned %s", i, cases[i].body, to, snats_status_text(s));
        /* Liveness frames go to the reply subject first when asked for; a request takes the first
         * message, which must then be the answer (the handler answers at once). */
        json_t *doc = json_loadb(snats_msg_data(reply), snats_msg_data_len(reply), 0, NULL);
        if (doc == NULL) FAIL("reply %zu is not JSON: %.*s", i, (int)snats_msg_data_len(reply), (const char *)snats_msg_data(reply));
        if (cases[i].code == 0) {
            if (!json_is_string(json_object_get(doc, "result")))
                FAIL("request %zu (%s): reply %.*s", i, cases[i].body, (int)snats_msg_data_len(reply),
                     (const char *)snats_msg_data(reply));
            CHECK_EQ_STR(json_string_value(json_object_get(doc, "result")), "pong");
        } else {
            if (code_of(json_object_get(doc, "error")) != cases[i].code)
                FAIL("request %zu (%s to %s): reply %.*s, expected code %d", i, cases[i].body, to,
                     (int)snats_msg_data_len(reply), (const char *)snats_msg_data(reply), cases[i].code);
        }
        json_decref(doc);
        snats_msg_release(reply);
    }
    CHECK_EQ_INT(atomic_load(&calls), 5);

    /* Numbers that do not name the reference, in its place. */
    char base[256];
    snprintf(base, sizeof base, "%s", subject);
    char *last_dot = strrchr(base, '.');
    CHECK_NOT_NULL(last_dot);
    *last_dot = '\0';
    const char *numbers[] = {"0", "99", "18446744073709551616", "-1", "x", "1x"};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        snprintf(to, sizeof to, "%s.%s.m", base, numbers[i]);
        const char *body = "{\"id\": 1, \"method\": \"m\", \"params\": [1]}";
        snats_msg *reply = NULL;
        CHECK_OK(snats_request(&reply, f.a, to, body, strlen(body), harness_ms(5000)));
        json_t *doc = json_loadb(snats_msg_data(reply), snats_msg_data_len(reply), 0, NULL);
        CHECK_NOT_NULL(doc);
        if (code_of(json_object_get(doc, "error")) != -32601)
            FAIL("a call to %s answered %.*s, expected -32601", to, (int)snats_msg_data_len(reply),
                 (const char *)snats_msg_data(reply));
        json_decref(doc);
        snats_msg_release(reply);
    }
    CHECK_EQ_INT(atomic_load(&calls), 5);

    /* The reference still answers. */
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    json_t *result = call_ok(client, "m", "[3]");
    json_decref(result);
    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(ref);
    refs_down(&f);
}

/* ---- 6. destroy and running handlers ---- */

typedef struct {
    atomic_int started;
    atomic_int finished;
} slow_state;

/* Sleeps 300 ms, then says it finished and answers "slept". */
static void sleepy(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    slow_state *st = closure;
    atomic_fetch_add(&st->started, 1);
    harness_sleep_ms(harness_ms(300));
    atomic_fetch_add(&st->finished, 1);
    json_t *result = json_string("slept");
    CHECK_OK(snats_rpc_request_respond(req, result));
    json_decref(result);
}

static void rpc_refs_destroy_waits_for_a_running_handler(void) {
    refs_fixture f;
    refs_up(&f);
    slow_state *st = calloc(1, sizeof *st); /* freed once destroy returns: valgrind sees a late use */
    snats_rpc_ref *ref = lend(f.b, "[\"nap\"]", 0, sleepy, st);
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    uint64_t id = 0, queued = 0;
    CHECK_OK(snats_rpc_client_call_async(&id, client, "nap", NULL));
    CHECK_EVENTUALLY(atomic_load(&st->started) == 1, 5000);
    /* A second call runs beside the first (references' calls run up to 32 at once): destroy
     * waits for both, and nothing reaches the handler (nor st) afterwards. */
    CHECK_OK(snats_rpc_client_call_async(&queued, client, "nap", NULL));
    CHECK_EVENTUALLY(atomic_load(&st->started) == 2, 5000);
    int64_t start = harness_now_ms();
    snats_rpc_ref_destroy(ref);
    int64_t took = harness_now_ms() - start;
    CHECK_EQ_INT(atomic_load(&st->finished), 2);
    CHECK(took >= harness_ms(100)); /* it did wait (the handlers had ~300 ms to go) */
    free(st);
    /* The running calls were answered; later ones are not found. */
    json_t *result = NULL, *error = NULL;
    uint64_t ids[2] = {id, queued};
    for (int i = 0; i < 2; i++) {
        CHECK_OK(snats_rpc_client_get_response(&result, &error, client, ids[i], harness_ms(5000)));
        CHECK_EQ_STR(json_string_value(result), "slept");
        json_decref(result);
        result = NULL;
    }
    error = call_error(client, "nap", NULL, -32601, 1000);
    json_decref(error);
    snats_rpc_client_destroy(client);
    refs_down(&f);
}

/* The reference that the handler destroys (from its own handler). */
static _Atomic(snats_rpc_ref *) g_self_ref;
static atomic_int g_self_destroyed;

static void destroy_self(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    snats_rpc_ref *self = atomic_exchange(&g_self_ref, NULL);
    if (self != NULL) {
        snats_rpc_ref_destroy(self); /* must not wait for this very handler */
        atomic_store(&g_self_destroyed, 1);
    }
    json_t *result = json_string("bye");
    CHECK_OK(snats_rpc_request_respond(req, result));
    json_decref(result);
}

static void rpc_refs_destroy_from_its_own_handler(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_ref *ref = lend(f.b, "[\"quit\", \"other\"]", 0, destroy_self, NULL);
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    atomic_store(&g_self_ref, ref);
    int64_t start = harness_now_ms();
    json_t *result = call_ok(client, "quit", NULL);
    CHECK(harness_now_ms() - start < harness_ms(2000));
    CHECK_EQ_STR(json_string_value(result), "bye");
    json_decref(result);
    CHECK_EQ_INT(atomic_load(&g_self_destroyed), 1);
    json_t *error = call_error(client, "quit", NULL, -32601, 1000);
    json_decref(error);
    error = call_error(client, "other", NULL, -32601, 1000);
    json_decref(error);
    /* The connection's other references are unharmed. */
    snats_rpc_ref *other = lend(f.b, "[\"m\"]", 0, pong, NULL);
    snats_rpc_client *client2 = client_of_ref(f.a, snats_rpc_ref_json(other));
    result = call_ok(client2, "m", NULL);
    json_decref(result);
    snats_rpc_client_destroy(client2);
    snats_rpc_ref_destroy(other);
    snats_rpc_client_destroy(client);
    refs_down(&f);
}

/* A retained request of a reference destroyed meanwhile may still be answered. */
static _Atomic(snats_rpc_request *) g_kept;

static void keep(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    atomic_store(&g_kept, snats_rpc_request_retain(req));
}

static void rpc_refs_retained_request_outlives_its_reference(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_ref *ref = lend(f.b, "[\"later\"]", 0, keep, NULL);
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    uint64_t id = 0;
    CHECK_OK(snats_rpc_client_call_async(&id, client, "later", NULL));
    CHECK_EVENTUALLY(atomic_load(&g_kept) != NULL, 5000);
    snats_rpc_ref_destroy(ref); /* the handler has returned: no wait */
    snats_rpc_request *req = atomic_exchange(&g_kept, NULL);
    json_t *answer = json_string("late");
    CHECK_OK(snats_rpc_request_respond(req, answer));
    json_decref(answer);
    snats_rpc_request_release(req);
    json_t *result = NULL;
    CHECK_OK(snats_rpc_client_get_response(&result, NULL, client, id, harness_ms(5000)));
    CHECK_EQ_STR(json_string_value(result), "late");
    json_decref(result);
    snats_rpc_client_destroy(client);
    refs_down(&f);
}

/* The header: the calls of a connection's references are handled one at a time, in order. */
typedef struct {
    atomic_int inside;
    atomic_int most;
    atomic_int done;
} overlap_state;

static void nap_counted(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    overlap_state *st = closure;
    int now = atomic_fetch_add(&st->inside, 1) + 1;
    int most = atomic_load(&st->most);
    while (now > most && !atomic_compare_exchange_weak(&st->most, &most, now)) {
    }
    harness_sleep_ms(harness_ms(150));
    atomic_fetch_sub(&st->inside, 1);
    atomic_fetch_add(&st->done, 1);
    CHECK_OK(snats_rpc_request_respond(req, NULL));
}

static void rpc_refs_calls_of_one_connection_run_side_by_side(void) {
    refs_fixture f;
    refs_up(&f);
    static overlap_state st;
    snats_rpc_ref *one = lend(f.b, "[\"nap\"]", 0, nap_counted, &st);
    snats_rpc_ref *two = lend(f.b, "[\"nap\"]", 0, nap_counted, &st);
    snats_rpc_client *c1 = client_of_ref(f.a, snats_rpc_ref_json(one));
    snats_rpc_client *c2 = client_of_ref(f.a, snats_rpc_ref_json(two));
    uint64_t ids[4];
    CHECK_OK(snats_rpc_client_call_async(&ids[0], c1, "nap", NULL));
    CHECK_OK(snats_rpc_client_call_async(&ids[1], c2, "nap", NULL));
    CHECK_OK(snats_rpc_client_call_async(&ids[2], c1, "nap", NULL));
    CHECK_OK(snats_rpc_client_call_async(&ids[3], c2, "nap", NULL));
    for (int i = 0; i < 4; i++) {
        json_t *result = NULL;
        CHECK_OK(snats_rpc_client_get_response(&result, NULL, i % 2 ? c2 : c1, ids[i], harness_ms(5000)));
        CHECK(json_is_null(result));
        json_decref(result);
    }
    CHECK_EQ_INT(atomic_load(&st.done), 4);
    /* Up to 32 at once, on the delivery pool (at least two threads): a call back that calls a
     * server that calls back again must not wait for itself. */
    CHECK(atomic_load(&st.most) >= 2);
    snats_rpc_client_destroy(c2);
    snats_rpc_client_destroy(c1);
    snats_rpc_ref_destroy(two);
    snats_rpc_ref_destroy(one);
    refs_down(&f);
}

/* Revocation racing a stream of calls: every call is answered (by the handler, or -32601),
 * and no handler runs, nor touches its closure, once destroy has returned. */
typedef struct {
    atomic_int handled;
} race_state;

static atomic_int g_race_after; /* handler calls that began after destroy returned */
static atomic_bool g_race_destroyed;

static void race_handler(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    if (atomic_load(&g_race_destroyed)) atomic_fetch_add(&g_race_after, 1);
    race_state *st = closure;
    atomic_fetch_add(&st->handled, 1); /* freed once destroy returns: valgrind sees a late use */
    harness_sleep_ms(1);
    CHECK_OK(snats_rpc_request_respond(req, NULL));
}

static void rpc_refs_revocation_races_calls(void) {
    refs_fixture f;
    refs_up(&f);
    enum { N = 200 };
    race_state *st = calloc(1, sizeof *st);
    snats_rpc_ref *ref = lend(f.b, "[\"m\"]", 0, race_handler, st);
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    static uint64_t ids[N];
    for (int i = 0; i < N; i++) CHECK_OK(snats_rpc_client_call_async(&ids[i], client, "m", NULL));
    CHECK_EVENTUALLY(atomic_load(&st->handled) >= 5, 5000);
    snats_rpc_ref_destroy(ref);
    atomic_store(&g_race_destroyed, true);
    int handled = atomic_load(&st->handled);
    free(st);
    int ok = 0, not_found = 0;
    for (int i = 0; i < N; i++) {
        json_t *result = NULL, *error = NULL;
        snats_status s = snats_rpc_client_get_response(&result, &error, client, ids[i], harness_ms(10000));
        if (s == SNATS_OK) {
            ok++;
        } else if (s == SNATS_RPC_ERROR && code_of(error) == -32601) {
            not_found++;
        } else {
            FAIL("call %d returned %s: %s", i, snats_status_text(s), snats_last_error());
        }
        json_decref(result);
        json_decref(error);
    }
    CHECK_EQ_INT(ok + not_found, N);
    CHECK_EQ_INT(ok, handled);
    CHECK_EQ_INT(atomic_load(&g_race_after), 0);
    snats_rpc_client_destroy(client);
    refs_down(&f);
}

/* A handler lends a reference (handlers may), and answers with it. */
static _Atomic(snats_rpc_ref *) g_lent_inside;

static void lend_inside(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    snats_conn *conn = closure;
    if (strcmp(snats_rpc_request_method(req), "make") == 0) {
        json_t *methods = jx("[\"inner\"]");
        snats_rpc_ref *made = NULL;
        CHECK_OK(snats_rpc_ref_create(&made, conn, methods, 0, lend_inside, conn));
        json_decref(methods);
        atomic_store(&g_lent_inside, made);
        CHECK_OK(snats_rpc_request_respond(req, snats_rpc_ref_json(made)));
    } else {
        json_t *result = json_string("inside");
        CHECK_OK(snats_rpc_request_respond(req, result));
        json_decref(result);
    }
}

static void rpc_refs_lent_from_a_handler(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_ref *ref = lend(f.b, "[\"make\"]", 0, lend_inside, f.b);
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    json_t *made = call_ok(client, "make", NULL);
    snats_rpc_client *inner = client_of_ref(f.a, made); /* answered after its SUB went */
    json_decref(made);
    json_t *result = call_ok(inner, "inner", NULL);
    CHECK_EQ_STR(json_string_value(result), "inside");
    json_decref(result);
    snats_rpc_client_destroy(inner);
    snats_rpc_ref_destroy(atomic_load(&g_lent_inside));
    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(ref);
    refs_down(&f);
}

/* Many references of one connection: lent, called and destroyed in any order. */
static void rpc_refs_many_references(void) {
    refs_fixture f;
    refs_up(&f);
    enum { N = 300 };
    static snats_rpc_ref *refs[N];
    static atomic_int calls;
    json_t *methods = jx("[\"m\"]");
    for (int i = 0; i < N; i++) CHECK_OK(snats_rpc_ref_create(&refs[i], f.b, methods, 0, pong, &calls));
    json_decref(methods);
    CHECK_OK(snats_conn_flush(f.b, harness_ms(5000)));
    for (int i = 0; i < N; i += 2) snats_rpc_ref_destroy(refs[i]);
    for (int i = 0; i < N; i += 37) {
        snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(refs[i | 1]));
        json_t *result = call_ok(client, "m", NULL);
        json_decref(result);
        snats_rpc_client_destroy(client);
    }
    for (int i = 1; i < N; i += 2) snats_rpc_ref_destroy(refs[i]);
    CHECK_EQ_INT(atomic_load(&calls), (N + 36) / 37);
    refs_down(&f);
}

/* ---- 7. references die with their connection ---- */

/* The server keeps a client of the reference it was given ("watch"), to call it after. */
static _Atomic(snats_rpc_client *) g_watcher;

static void watch(snats_rpc_request *req, const json_t *params, void *closure) {
    snats_conn *conn = closure;
    snats_rpc_client *back = NULL;
    CHECK_OK(snats_rpc_client_create_from_ref(&back, conn, json_object_get(params, "notify")));
    atomic_store(&g_watcher, back);
    CHECK_OK(snats_rpc_request_respond(req, NULL));
}

static void rpc_refs_die_with_their_connection(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_server *server = NULL;
    CHECK_OK(snats_rpc_server_create(&server, f.a, "jobs", NULL));
    CHECK_OK(snats_rpc_server_register(server, "watch", NULL, NULL, 0, watch, f.a));
    CHECK_OK(snats_rpc_server_start(server, NULL));

    static progress_state st;
    snats_rpc_ref *ref = lend(f.b, "[\"progress\"]", 0, on_progress, &st);
    char subject[256];
    snprintf(subject, sizeof subject, "%s", snats_rpc_ref_subject(ref));
    snats_rpc_client *client = NULL;
    CHECK_OK(snats_rpc_client_create(&client, f.b, "jobs"));
    json_t *params = json_pack("{s:O}", "notify", (json_t *)snats_rpc_ref_json(ref));
    json_t *result = NULL;
    CHECK_OK(snats_rpc_client_call(&result, NULL, client, "watch", params, harness_ms(5000)));
    json_decref(params);
    json_decref(result);
    snats_rpc_client_destroy(client);

    /* After the call: the server calls back. */
    snats_rpc_client *back = atomic_load(&g_watcher);
    CHECK_NOT_NULL(back);
    result = call_ok(back, "progress", "[7]");
    CHECK_EQ_INT(json_integer_value(result), 70);
    json_decref(result);

    /* The lender's connection goes: no responders, -32601 at once. */
    snats_conn_destroy(f.b);
    f.b = NULL;
    json_t *error = call_error(back, "progress", "[6]", -32601, 1000);
    CHECK_EQ_STR(data_string(error, "reference"), subject);
    json_decref(error);
    CHECK_EQ_INT(atomic_load(&st.count), 1);
    /* The handle outlives its connection: its accessors and destroy still work. */
    CHECK_EQ_STR(snats_rpc_ref_subject(ref), subject);
    CHECK_NOT_NULL(snats_rpc_ref_json(ref));
    snats_rpc_ref_destroy(ref);

    snats_rpc_client_destroy(back);
    snats_rpc_server_destroy(server);
    refs_down(&f);
}

static void rpc_refs_die_with_a_closed_connection(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_ref *ref = lend(f.b, "[\"m\"]", 0, pong, NULL);
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    json_t *result = call_ok(client, "m", NULL);
    json_decref(result);
    snats_conn_close(f.b);
    json_t *error = call_error(client, "m", NULL, -32601, 1000);
    json_decref(error);
    snats_rpc_ref_destroy(ref);
    snats_rpc_client_destroy(client);
    refs_down(&f);
}

/* The header: "@retval SNATS_CONNECTION_CLOSED, SNATS_DRAINING the connection cannot subscribe". */
static void rpc_refs_create_on_a_closed_connection_fails(void) {
    refs_fixture f;
    refs_up(&f);
    json_t *methods = jx("[\"m\"]");
    snats_rpc_ref *ref = NULL;
    /* The connection's first reference: its subscription is made now. */
    snats_conn_close(f.b);
    CHECK_STATUS(snats_rpc_ref_create(&ref, f.b, methods, 0, pong, NULL), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(ref);
    /* A later reference, once the shared subscription exists. */
    snats_rpc_ref *first = lend(f.a, "[\"m\"]", 0, pong, NULL);
    snats_conn_close(f.a);
    ref = (snats_rpc_ref *)&ref;
    snats_status s = snats_rpc_ref_create(&ref, f.a, methods, 0, pong, NULL);
    json_decref(methods);
    if (s != SNATS_CONNECTION_CLOSED) {
        char subject[256] = "(none)";
        if (s == SNATS_OK && ref != NULL) {
            snprintf(subject, sizeof subject, "%s", snats_rpc_ref_subject(ref));
            snats_rpc_ref_destroy(ref);
        }
        snats_rpc_ref_destroy(first);
        refs_down(&f); /* (a clean valgrind report of the failure) */
        FAIL("a second reference on a closed connection: snats_rpc_ref_create returned %s (a reference %s), "
             "expected SNATS_CONNECTION_CLOSED", snats_status_text(s), subject);
    }
    CHECK_NULL(ref);
    snats_rpc_ref_destroy(first);
    refs_down(&f);
}

/* A connection that reconnects at once (50 ms, forever). */
static snats_conn *reconnecting(const char *url) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    CHECK_OK(snats_options_set_reconnect_wait(o, 50));
    CHECK_OK(snats_options_set_reconnect_jitter(o, 0, 0));
    CHECK_OK(snats_options_set_max_reconnect(o, -1));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    return c;
}

static bool is_connected(snats_conn *c) {
    snats_conn_state state;
    CHECK_OK(snats_conn_get_state(&state, c));
    return state == SNATS_CONN_CONNECTED;
}

/* References outlive a restart of the nats-server: the lender reconnects and answers again;
 * one revoked before stays revoked. */
static void rpc_refs_survive_a_reconnect(void) {
    int port = harness_free_port();
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    const char *args[] = {"-p", port_text, NULL};
    test_server srv;
    server_start_args(&srv, args);
    snats_conn *a = reconnecting(srv.url);
    snats_conn *b = reconnecting(srv.url);
    static atomic_int calls;
    snats_rpc_ref *ref = lend(b, "[\"m\"]", 0, pong, &calls);
    snats_rpc_ref *gone = lend(b, "[\"m\"]", 0, pong, &calls);
    snats_rpc_client *client = client_of_ref(a, snats_rpc_ref_json(ref));
    snats_rpc_client *client_gone = client_of_ref(a, snats_rpc_ref_json(gone));
    snats_rpc_ref_destroy(gone);
    json_t *result = call_ok(client, "m", NULL);
    json_decref(result);

    server_stop(&srv);
    CHECK_EVENTUALLY(!is_connected(b), 5000);
    server_start_args(&srv, args);
    CHECK_EVENTUALLY(is_connected(a) && is_connected(b), 10000);
    CHECK_OK(snats_conn_flush(b, harness_ms(5000))); /* its subscriptions went again first */
    result = call_ok(client, "m", NULL);
    CHECK_EQ_STR(json_string_value(result), "pong");
    json_decref(result);
    json_t *error = call_error(client_gone, "m", NULL, -32601, 1000);
    json_decref(error);
    CHECK_EQ_INT(atomic_load(&calls), 2);

    snats_rpc_client_destroy(client_gone);
    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(ref);
    snats_conn_destroy(b);
    snats_conn_destroy(a);
    server_stop(&srv);
}

/* ---- 8. liveness ---- */

/* Works for a second (blocking its thread), then answers "done". */
static void long_work(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    harness_sleep_ms(harness_ms(1000));
    json_t *result = json_string("done");
    CHECK_OK(snats_rpc_request_respond(req, result));
    json_decref(result);
}

static void rpc_refs_long_callback_kept_alive_by_liveness(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_ref *ref = lend(f.b, "[\"work\", \"later\"]", 0, long_work, NULL);
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    CHECK_OK(snats_rpc_client_set_heartbeat(client, harness_ms(200)));
    json_t *result = NULL, *error = NULL;
    int64_t start = harness_now_ms();
    snats_status s = snats_rpc_client_call(&result, &error, client, "work", NULL, harness_ms(5000));
    if (s != SNATS_OK) FAIL("work returned %s: %s", snats_status_text(s), snats_last_error());
    CHECK(harness_now_ms() - start >= harness_ms(1000)); /* it outlived five intervals */
    CHECK_EQ_STR(json_string_value(result), "done");
    CHECK_NULL(error);
    json_decref(result);

    /* Three calls at once: side by side as far as the delivery pool's threads go (a handler
     * that sleeps lends none), the rest waiting, kept alive by the frames owed from arrival. */
    uint64_t ids[3] = {0, 0, 0};
    CHECK_OK(snats_rpc_client_call_async(&ids[0], client, "work", NULL));
    CHECK_OK(snats_rpc_client_call_async(&ids[1], client, "later", NULL));
    CHECK_OK(snats_rpc_client_call_async(&ids[2], client, "later", NULL));
    for (int i = 0; i < 3; i++) {
        result = NULL;
        s = snats_rpc_client_get_response(&result, NULL, client, ids[i], harness_ms(5000));
        if (s != SNATS_OK) FAIL("call %d returned %s: %s", i, snats_status_text(s), snats_last_error());
        CHECK_EQ_STR(json_string_value(result), "done");
        json_decref(result);
    }
    snats_rpc_client_destroy(client);
    snats_rpc_ref_destroy(ref);
    refs_down(&f);
}

/* The lender's connection closes while a call of its reference waits: the frames stop and the
 * call is lost after two intervals. */
static void *close_later(void *arg) {
    harness_sleep_ms(harness_ms(500));
    snats_conn_close(arg);
    return NULL;
}

static void rpc_refs_call_lost_when_the_lender_goes(void) {
    refs_fixture f;
    refs_up(&f);
    snats_rpc_ref *ref = lend(f.b, "[\"later\"]", 0, keep, NULL);
    snats_rpc_client *client = client_of_ref(f.a, snats_rpc_ref_json(ref));
    CHECK_OK(snats_rpc_client_set_heartbeat(client, harness_ms(200)));
    pthread_t closer;
    int64_t start = harness_now_ms();
    harness_spawn(&closer, close_later, f.b);
    json_t *result = NULL, *error = NULL;
    CHECK_STATUS(snats_rpc_client_call(&result, &error, client, "later", NULL, harness_ms(10000)), SNATS_CALL_LOST);
    int64_t took = harness_now_ms() - start;
    harness_join(closer);
    if (took <= harness_ms(500) || took >= harness_ms(2500))
        FAIL("the call was lost after %lld ms, expected %lld .. %lld ms", (long long)took, (long long)harness_ms(500),
             (long long)harness_ms(2500));
    snats_rpc_request *req = atomic_exchange(&g_kept, NULL);
    CHECK_NOT_NULL(req); /* the reference took the call */
    snats_rpc_request_release(req);
    snats_rpc_ref_destroy(ref);
    snats_rpc_client_destroy(client);
    refs_down(&f);
}

const test_case rpc_refs_tests[] = {
    TEST(rpc_refs_countdown_calls_the_caller_back),
    TEST(rpc_refs_countdown_on_one_connection),
    TEST(rpc_refs_revoked_reference_answers_method_not_found),
    TEST(rpc_refs_methods_forms),
    TEST(rpc_refs_function_reference),
    TEST(rpc_refs_function_reference_lends_only_call),
    TEST(rpc_refs_bad_arguments),
    TEST(rpc_refs_subject_with_nul_is_refused),
    TEST(rpc_refs_overlong_subject_does_not_cost_the_connection),
    TEST(rpc_refs_raw_requests),
    TEST(rpc_refs_destroy_waits_for_a_running_handler),
    TEST(rpc_refs_destroy_from_its_own_handler),
    TEST(rpc_refs_retained_request_outlives_its_reference),
    TEST(rpc_refs_calls_of_one_connection_run_side_by_side),
    TEST(rpc_refs_revocation_races_calls),
    TEST(rpc_refs_lent_from_a_handler),
    TEST(rpc_refs_many_references),
    TEST(rpc_refs_die_with_their_connection),
    TEST(rpc_refs_die_with_a_closed_connection),
    TEST(rpc_refs_create_on_a_closed_connection_fails),
    TEST(rpc_refs_survive_a_reconnect),
    TEST(rpc_refs_long_callback_kept_alive_by_liveness),
    TEST(rpc_refs_call_lost_when_the_lender_goes),
};
HARNESS_TABLE_COUNT(rpc_refs);
