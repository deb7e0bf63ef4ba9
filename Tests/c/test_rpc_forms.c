/*
 * test_rpc_forms.c - Two RPC forms: methods registered as streaming
 * (snats_rpc_server_register_stream(): described with "stream": true, plain methods with
 * false, by snats_rpc_client_describe() and _describe_cb(); read item by item by a stream
 * client, or all items in one array by a plain call; the argument checks of
 * snats_rpc_server_register()), and params that pass values by position and by name at once
 * (an object whose "*" key holds the positional values; values by position fill only the
 * parameters before a var_positional one; "*" is no parameter name; a method without
 * description receives such an object unchanged). docs/RPC.md has the rules.
 * The recorders and the counting handler come from test_rpc_cb.c (rpc_cb.h).
 */
#define _GNU_SOURCE
#include "rpc_cb.h"

#include <stdlib.h>

/* ---- handlers ---- */

/* Streams 0 .. n-1 (params [n]) and ends the stream; n < 0: two items, then a failure. */
static void count(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    if (rcb_send_count(req, params)) CHECK_OK(snats_rpc_request_end_stream(req));
}

/* Answers the closure's string. */
static void constant(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    json_t *result = json_string(closure);
    CHECK_OK(snats_rpc_request_respond(req, result));
    json_decref(result);
}

/* Answers the params it received. */
static void echo(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    CHECK(snats_rpc_request_params(req) == params);
    CHECK_OK(snats_rpc_request_respond(req, params));
}

/* ---- helpers ---- */

static json_t *parse(const char *text) {
    json_error_t why;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &why);
    if (value == NULL) FAIL("bad JSON in the test: %s (%s)", text, why.text);
    return value;
}

static json_int_t code_of(const json_t *error) { return json_integer_value(json_object_get(error, "code")); }
static const char *message_of(const json_t *error) { return json_string_value(json_object_get(error, "message")); }

/* Calls method with params (JSON text, NULL: none); fails the test unless SNATS_OK. */
static json_t *call(snats_rpc_client *client, const char *method, const char *params_json) {
    json_t *params = params_json ? parse(params_json) : NULL;
    json_t *result = NULL, *error = NULL;
    snats_status status = snats_rpc_client_call(&result, &error, client, method, params, harness_ms(2000));
    if (status != SNATS_OK) {
        char *text = error ? json_dumps(error, JSON_COMPACT) : NULL;
        FAIL("%s %s: %s, error %s", method, params_json ? params_json : "(none)", snats_status_text(status),
             text ? text : "(none)");
    }
    CHECK_NULL(error);
    CHECK_NOT_NULL(result);
    json_decref(params);
    return result;
}

/* The call answers exactly the value given as JSON text (want_json; NULL: params_json). */
static void call_answers(snats_rpc_client *client, const char *method, const char *params_json, const char *want_json) {
    json_t *result = call(client, method, params_json);
    json_t *want = parse(want_json ? want_json : params_json);
    if (!json_equal(result, want)) {
        char *got = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
        FAIL("%s %s answered %s, expected %s", method, params_json, got, want_json ? want_json : params_json);
    }
    json_decref(want);
    json_decref(result);
}

/* The call fails with SNATS_RPC_ERROR, code and message as given. */
static void call_fails(snats_rpc_client *client, const char *method, const char *params_json, json_int_t code,
                       const char *message) {
    json_t *params = parse(params_json);
    json_t *result = NULL, *error = NULL;
    snats_status status = snats_rpc_client_call(&result, &error, client, method, params, harness_ms(2000));
    if (status != SNATS_RPC_ERROR) {
        char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        FAIL("%s %s: %s (result %s), expected SNATS_RPC_ERROR %lld \"%s\"", method, params_json,
             snats_status_text(status), text ? text : "(none)", (long long)code, message);
    }
    CHECK_NULL(result);
    CHECK_NOT_NULL(error);
    if (code_of(error) != code || message_of(error) == NULL || strcmp(message_of(error), message) != 0)
        FAIL("%s %s: error %lld \"%s\", expected %lld \"%s\"", method, params_json, (long long)code_of(error),
             message_of(error) ? message_of(error) : "(null)", (long long)code, message);
    json_decref(error);
    json_decref(params);
}

/* Registration of method with the description as JSON text refuses it (SNATS_INVALID_ARG). */
static void refused(snats_rpc_server *server, bool stream, const char *method, const char *description_json) {
    json_t *desc = description_json ? parse(description_json) : NULL;
    snats_status status = stream ? snats_rpc_server_register_stream(server, method, desc, NULL, 0, echo, NULL)
                                 : snats_rpc_server_register(server, method, desc, NULL, 0, echo, NULL);
    if (status != SNATS_INVALID_ARG)
        FAIL("%s of \"%s\" with %s returned %s, expected SNATS_INVALID_ARG",
             stream ? "register_stream" : "register", method ? method : "(null)",
             description_json ? description_json : "(none)", snats_status_text(status));
    json_decref(desc);
}

/* The entry of method in a describe listing; fails the test when it is not there. */
static const json_t *described(const json_t *methods, const char *method) {
    size_t i;
    json_t *entry;
    json_array_foreach(methods, i, entry) {
        const char *name = json_string_value(json_object_get(entry, "method"));
        if (name != NULL && strcmp(name, method) == 0) return entry;
    }
    char *text = json_dumps(methods, JSON_COMPACT);
    FAIL("method %s not described in %s", method, text);
}

/* A nats-server, a connection, the server of namespace "forms" and a client of it. */
typedef struct {
    test_server srv;
    snats_conn *c;
    snats_rpc_server *server;
    snats_rpc_client *client;
} forms_fixture;

static void forms_up(forms_fixture *f) {
    server_start(&f->srv);
    f->c = connect_or_fail(f->srv.url);
    CHECK_OK(snats_rpc_server_create(&f->server, f->c, "forms", NULL));
    CHECK_OK(snats_rpc_client_create(&f->client, f->c, "forms"));
}

static void forms_down(forms_fixture *f) {
    snats_rpc_client_destroy(f->client);
    snats_rpc_server_destroy(f->server);
    snats_conn_destroy(f->c);
    server_stop(&f->srv);
}

/* ---- streaming methods ---- */

/* The listing of the "forms" server of rpc_forms_stream_methods: streaming methods count (before
 * start) and late (after start), plain methods plain and echo. */
static void check_stream_flags(const json_t *methods) {
    CHECK(json_is_array(methods));
    CHECK_EQ_INT(json_array_size(methods), 4);
    const char *streaming[] = {"count", "late"}, *plain[] = {"echo", "plain"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *flag = json_object_get(described(methods, streaming[i]), "stream");
        if (!json_is_true(flag)) FAIL("%s is not described with \"stream\": true", streaming[i]);
        flag = json_object_get(described(methods, plain[i]), "stream");
        if (!json_is_false(flag)) FAIL("%s is not described with \"stream\": false", plain[i]);
    }
    /* The rest of the entry as for a plain method. */
    const json_t *entry = described(methods, "count");
    CHECK_EQ_STR(json_string_value(json_object_get(entry, "namespace")), "forms");
    CHECK_EQ_STR(json_string_value(json_object_get(entry, "subject")), "rpc.forms.count");
    CHECK_EQ_STR(json_string_value(json_object_get(entry, "description")), "counts to n");
    CHECK_EQ_INT(json_integer_value(json_object_get(entry, "instances")), 1);
    const json_t *n = json_array_get(json_object_get(entry, "params"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(n, "name")), "n");
    CHECK_EQ_STR(json_string_value(json_object_get(n, "type")), "integer");
    CHECK(json_is_null(json_object_get(described(methods, "late"), "params")));
}

/* The rpc.stream metadata of a micro endpoint, from the server's INFO; NULL when absent. */
static const char *endpoint_stream_metadata(const json_t *info, const char *endpoint_name) {
    size_t i;
    json_t *endpoint;
    json_array_foreach(json_object_get(json_array_get(info, 0), "endpoints"), i, endpoint) {
        const char *name = json_string_value(json_object_get(endpoint, "name"));
        if (name != NULL && strcmp(name, endpoint_name) == 0)
            return json_string_value(json_object_get(json_object_get(endpoint, "metadata"), "rpc.stream"));
    }
    FAIL("no endpoint %s in the INFO", endpoint_name);
}

static void rpc_forms_stream_methods(void) {
    forms_fixture f;
    forms_up(&f);
    json_t *n = parse("[{\"name\": \"n\", \"type\": \"integer\"}]");
    CHECK_OK(snats_rpc_server_register_stream(f.server, "count", n, "counts to n", 0, count, NULL));
    json_decref(n);
    CHECK_OK(snats_rpc_server_register(f.server, "plain", NULL, NULL, 0, constant, "plain"));
    CHECK_OK(snats_rpc_server_register(f.server, "echo", NULL, NULL, 0, echo, NULL));
    CHECK_OK(snats_rpc_server_start(f.server, NULL));
    /* After start: subscribed at once. */
    CHECK_OK(snats_rpc_server_register_stream(f.server, "late", NULL, NULL, 2, count, NULL));

    /* Described with "stream": true; plain methods with false. */
    json_t *methods = NULL;
    CHECK_OK(snats_rpc_client_describe(&methods, f.client, harness_ms(300)));
    check_stream_flags(methods);
    json_decref(methods);
    static rcb_describe_state d;
    memset(&d, 0, sizeof d);
    CHECK_OK(snats_rpc_client_describe_cb(f.client, harness_ms(300), rcb_on_described, &d));
    CHECK_EVENTUALLY(atomic_load(&d.calls) == 1, 5000);
    CHECK_EQ_INT(atomic_load(&d.status), SNATS_OK);
    check_stream_flags(d.value);
    json_decref(d.value);
    /* The endpoint metadata says so (documented for any NATS client). */
    json_t *info = NULL;
    CHECK_OK(snats_micro_info(&info, f.c, "forms", NULL, harness_ms(1000), 1));
    CHECK_EQ_STR(endpoint_stream_metadata(info, "count"), "true");
    CHECK_EQ_STR(endpoint_stream_metadata(info, "late"), "true");
    CHECK_NULL(endpoint_stream_metadata(info, "plain"));
    json_decref(info);

    /* A stream client reads the items, then the end. */
    json_t *params = json_pack("[i]", 50);
    snats_rpc_stream *stream = NULL;
    CHECK_OK(snats_rpc_client_call_stream(&stream, f.client, "count", params, harness_ms(2000)));
    json_decref(params);
    json_t *item = NULL, *error = NULL;
    for (json_int_t i = 0; i < 50; i++) {
        CHECK_OK(snats_rpc_stream_next(&item, &error, stream));
        CHECK(json_is_integer(item) && json_integer_value(item) == i);
        CHECK_NULL(error);
        json_decref(item);
    }
    CHECK_OK(snats_rpc_stream_next(&item, &error, stream));
    CHECK_NULL(item); /* the end */
    CHECK_NULL(error);
    snats_rpc_stream_destroy(stream);
    /* No items: only the end. */
    CHECK_OK(snats_rpc_client_call_stream(&stream, f.client, "late", NULL, harness_ms(2000)));
    CHECK_OK(snats_rpc_stream_next(&item, &error, stream));
    CHECK_NULL(item);
    snats_rpc_stream_destroy(stream);
    /* Items, then a failure. */
    params = json_pack("[i]", -1);
    CHECK_OK(snats_rpc_client_call_stream(&stream, f.client, "count", params, harness_ms(2000)));
    json_decref(params);
    for (json_int_t i = 0; i < 2; i++) {
        CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
        CHECK_EQ_INT(json_integer_value(item), i);
        json_decref(item);
    }
    CHECK_STATUS(snats_rpc_stream_next(&item, &error, stream), SNATS_RPC_ERROR);
    CHECK_NULL(item);
    CHECK_EQ_INT(code_of(error), -32603);
    CHECK_EQ_STR(message_of(error), "Internal error: generator failed");
    json_decref(error);
    snats_rpc_stream_destroy(stream);
    /* The callback form. */
    static rcb_stream_state st;
    rcb_stream_init(&st);
    stream = rcb_start_stream(f.client, "count", "[20]", harness_ms(2000), &st);
    rcb_stream_wait_end(&st, 5000);
    CHECK_EQ_INT(atomic_load(&st.end_status), SNATS_OK);
    rcb_check_counted(&st, 20);
    snats_rpc_stream_destroy(stream);
    rcb_stream_free(&st);

    /* A plain call gets every item in one array ([] for none); a failure without the items. */
    call_answers(f.client, "count", "[5]", "[0, 1, 2, 3, 4]");
    call_answers(f.client, "count", "[0]", "[]");
    call_answers(f.client, "late", NULL, "[]");
    call_fails(f.client, "count", "[-1]", -32603, "Internal error: generator failed");
    /* Its description is checked as a plain method's. */
    call_fails(f.client, "count", "[\"x\"]", -32602, "Invalid params: parameter 'n' must be integer, got string");
    /* A plain method read as a stream: its result is the one item. */
    CHECK_OK(snats_rpc_client_call_stream(&stream, f.client, "plain", NULL, harness_ms(2000)));
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_EQ_STR(json_string_value(item), "plain");
    json_decref(item);
    CHECK_OK(snats_rpc_stream_next(&item, NULL, stream));
    CHECK_NULL(item);
    snats_rpc_stream_destroy(stream);
    forms_down(&f);
}

/* snats_rpc_server_register_stream checks its arguments as snats_rpc_server_register does. */
static void rpc_forms_register_stream_bad_arguments(void) {
    forms_fixture f;
    forms_up(&f);
    snats_rpc_server *server = f.server;
    CHECK_STATUS(snats_rpc_server_register_stream(NULL, "m", NULL, NULL, 0, count, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_register_stream(server, NULL, NULL, NULL, 0, count, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_register_stream(server, "m", NULL, NULL, 0, NULL, NULL), SNATS_INVALID_ARG);
    const char *bad_names[] = {"", "a b", "wild.*", "a.>", ">", "a..b", ".a", "a."};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        refused(server, true, bad_names[i], NULL);
        refused(server, false, bad_names[i], NULL); /* the same as the plain form */
    }
    CHECK_STATUS(snats_rpc_server_register_stream(server, "m", NULL, NULL, 5000, count, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_rpc_server_register_stream(server, "m", NULL, NULL, -1, count, NULL), SNATS_INVALID_ARG);
    const char *bad_descriptions[] = {"{}", "[1]", "[{\"type\": \"number\"}]", "[{\"name\": \"a\", \"type\": \"float\"}]",
                                      "[\"a\", \"a\"]", "[{\"name\": \"a\", \"kind\": \"other\"}]", "[\"*\"]",
                                      "[{\"name\": \"*\"}]"};
    for (size_t i = 0; i < sizeof bad_descriptions / sizeof bad_descriptions[0]; i++)
        refused(server, true, "m", bad_descriptions[i]);
    /* Name clashes, with streaming and plain methods alike. */
    CHECK_OK(snats_rpc_server_register_stream(server, "a.b", NULL, NULL, 0, count, NULL));
    refused(server, true, "a.b", NULL);
    refused(server, false, "a.b", NULL);
    refused(server, true, "a_b", NULL);
    CHECK(strstr(snats_last_error(), "share the endpoint name") != NULL);
    CHECK_OK(snats_rpc_server_register(server, "c.d", NULL, NULL, 0, echo, NULL));
    refused(server, true, "c_d", NULL);
    /* The refused ones left nothing behind. */
    CHECK_OK(snats_rpc_server_start(server, NULL));
    json_t *methods = NULL;
    CHECK_OK(snats_rpc_client_describe(&methods, f.client, harness_ms(300)));
    CHECK_EQ_INT(json_array_size(methods), 2);
    CHECK(json_is_true(json_object_get(described(methods, "a.b"), "stream")));
    CHECK(json_is_false(json_object_get(described(methods, "c.d"), "stream")));
    json_decref(methods);
    call_answers(f.client, "a.b", "[2]", "[0, 1]");
    forms_down(&f);
}

/* ---- positional and named at once ---- */

/* def mixed(a: int, *rest, flag: bool = <optional>, **opts) */
static const char *MIXED = "[{\"name\": \"a\", \"type\": \"integer\"}, {\"name\": \"rest\", \"kind\": \"var_positional\"},"
                           " {\"name\": \"flag\", \"type\": \"boolean\", \"required\": false},"
                           " {\"name\": \"opts\", \"kind\": \"var_keyword\"}]";
/* def kwonly(a: int, *rest, k: str) - k by name only, and required. */
static const char *KWONLY = "[{\"name\": \"a\", \"type\": \"integer\"}, {\"name\": \"rest\", \"kind\": \"var_positional\"},"
                            " {\"name\": \"k\", \"type\": \"string\"}]";
/* def pair(a: int, b: int = <optional>) */
static const char *PAIR = "[{\"name\": \"a\", \"type\": \"integer\"}, {\"name\": \"b\", \"type\": \"integer\", \"required\": false}]";

static void register_echo(snats_rpc_server *server, const char *method, const char *description_json) {
    json_t *desc = parse(description_json);
    CHECK_OK(snats_rpc_server_register(server, method, desc, NULL, 0, echo, NULL));
    json_decref(desc);
}

static void rpc_forms_positional_and_named_at_once(void) {
    forms_fixture f;
    forms_up(&f);
    register_echo(f.server, "mixed", MIXED);
    register_echo(f.server, "kwonly", KWONLY);
    register_echo(f.server, "pair", PAIR);
    CHECK_OK(snats_rpc_server_start(f.server, NULL));
    snats_rpc_client *client = f.client;
    const int32_t IP = -32602;

    /* Both at once: a takes 1, rest 2 and 3, flag and opts the names; the handler gets it as sent. */
    call_answers(client, "mixed", "{\"*\": [1, 2, 3], \"flag\": true, \"x\": 5}", NULL);
    call_answers(client, "mixed", "{\"*\": [1]}", NULL);
    call_answers(client, "mixed", "{\"*\": [], \"a\": 1, \"flag\": false}", NULL);
    /* Values by position fill only a, the rest goes to rest: true is not flag's, and a
     * second value that flag would refuse (it is no boolean) is accepted. */
    call_answers(client, "mixed", "[1, true]", NULL);
    call_answers(client, "mixed", "[1, \"not a boolean\", 7]", NULL);
    call_answers(client, "mixed", "{\"*\": [1, \"two\"], \"flag\": true}", NULL);
    /* The plain forms still work. */
    call_answers(client, "mixed", "[1]", NULL);
    call_answers(client, "mixed", "{\"a\": 1, \"flag\": true, \"y\": null}", NULL);

    call_fails(client, "mixed", "{\"*\": [1], \"a\": 2}", IP, "Invalid params: parameter 'a' given by position and by name");
    call_fails(client, "mixed", "{\"*\": 1}", IP, "Invalid params: '*' must be an array of positional values");
    call_fails(client, "mixed", "{\"*\": null, \"a\": 1}", IP, "Invalid params: '*' must be an array of positional values");
    call_fails(client, "mixed", "{\"*\": {\"a\": 1}}", IP, "Invalid params: '*' must be an array of positional values");
    call_fails(client, "mixed", "{\"*\": \"1\", \"a\": 1}", IP, "Invalid params: '*' must be an array of positional values");
    call_fails(client, "mixed", "{\"*\": [\"x\"]}", IP, "Invalid params: parameter 'a' must be integer, got string");
    call_fails(client, "mixed", "{\"*\": [1.5]}", IP, "Invalid params: parameter 'a' must be integer, got number");
    call_fails(client, "mixed", "{\"*\": [], \"flag\": true}", IP, "Invalid params: missing required parameter 'a'");
    call_fails(client, "mixed", "{\"*\": [1], \"flag\": 3}", IP, "Invalid params: parameter 'flag' must be boolean, got integer");
    call_fails(client, "mixed", "[]", IP, "Invalid params: missing required parameter 'a'");

    /* A parameter after var_positional takes names only. */
    call_fails(client, "kwonly", "[1, \"x\"]", IP, "Invalid params: missing required parameter 'k'");
    call_fails(client, "kwonly", "{\"*\": [1, \"x\"]}", IP, "Invalid params: missing required parameter 'k'");
    call_answers(client, "kwonly", "{\"*\": [1, \"x\"], \"k\": \"y\"}", NULL);
    call_answers(client, "kwonly", "{\"*\": [1, 2, 3], \"k\": \"y\"}", NULL);
    call_answers(client, "kwonly", "{\"a\": 1, \"k\": \"y\"}", NULL);
    call_fails(client, "kwonly", "{\"*\": [1], \"k\": 2}", IP, "Invalid params: parameter 'k' must be string, got integer");
    call_fails(client, "kwonly", "{\"*\": [1], \"k\": \"y\", \"z\": 1}", IP, "Invalid params: unexpected parameter 'z'");

    /* Without var_positional and var_keyword, the checks of the two plain forms. */
    call_answers(client, "pair", "{\"*\": [1], \"b\": 2}", NULL);
    call_answers(client, "pair", "{\"*\": [1, 2]}", NULL);
    call_fails(client, "pair", "{\"*\": [1, 2, 3]}", IP, "Invalid params: expected at most 2 parameters, got 3");
    call_fails(client, "pair", "{\"*\": [1, 2], \"b\": 3}", IP, "Invalid params: parameter 'b' given by position and by name");
    call_fails(client, "pair", "{\"*\": [1], \"c\": 3}", IP, "Invalid params: unexpected parameter 'c'");
    call_fails(client, "pair", "{\"*\": [1], \"b\": \"x\"}", IP, "Invalid params: parameter 'b' must be integer, got string");
    call_fails(client, "pair", "{\"*\": [\"x\"], \"b\": 2}", IP, "Invalid params: parameter 'a' must be integer, got string");

    /* The description as listed: normalized, with the kinds. */
    json_t *methods = NULL;
    CHECK_OK(snats_rpc_client_describe(&methods, client, harness_ms(300)));
    const json_t *params = json_object_get(described(methods, "mixed"), "params");
    CHECK_EQ_INT(json_array_size(params), 4);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(params, 1), "kind")), "var_positional");
    CHECK(json_is_false(json_object_get(json_array_get(params, 1), "required")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(params, 2), "name")), "flag");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(params, 3), "kind")), "var_keyword");
    json_decref(methods);
    forms_down(&f);
}

/* "*" is no parameter name; a method without a description gets any "*" object unchanged. */
static void rpc_forms_star_reserved_and_unchecked(void) {
    forms_fixture f;
    forms_up(&f);
    const char *star_descriptions[] = {
        "[\"*\"]",
        "[{\"name\": \"*\"}]",
        "[\"a\", \"*\"]",
        "[\"a\", {\"name\": \"*\", \"type\": \"array\"}]",
        "[\"a\", {\"name\": \"*\", \"kind\": \"var_positional\"}]",
        "[\"a\", {\"name\": \"*\", \"kind\": \"var_keyword\"}]",
    };
    for (size_t i = 0; i < sizeof star_descriptions / sizeof star_descriptions[0]; i++) {
        refused(f.server, false, "m", star_descriptions[i]);
        refused(f.server, true, "m", star_descriptions[i]);
    }
    /* Nothing was kept: "m" is still free, and a name such as "**" or "a*" is no reserved one. */
    register_echo(f.server, "m", "[{\"name\": \"**\", \"required\": false}, {\"name\": \"a*\", \"required\": false}]");
    CHECK_OK(snats_rpc_server_register(f.server, "free", NULL, NULL, 0, echo, NULL));
    CHECK_OK(snats_rpc_server_start(f.server, NULL));
    call_answers(f.client, "m", "{\"**\": 1, \"a*\": 2}", NULL);

    /* Without a description nothing is checked: the handler receives the object as sent. */
    const char *unchanged[] = {
        "{\"*\": [1, 2, 3], \"flag\": true, \"x\": 5}",
        "{\"*\": [1], \"a\": 2}",
        "{\"*\": 1}",
        "{\"*\": null, \"nested\": {\"*\": [\"deep\"]}}",
        "{\"*\": []}",
        "[{\"*\": [1]}]",
    };
    for (size_t i = 0; i < sizeof unchanged / sizeof unchanged[0]; i++) call_answers(f.client, "free", unchanged[i], NULL);
    forms_down(&f);
}

const test_case rpc_forms_tests[] = {
    TEST(rpc_forms_stream_methods),
    TEST(rpc_forms_register_stream_bad_arguments),
    TEST(rpc_forms_positional_and_named_at_once),
    TEST(rpc_forms_star_reserved_and_unchecked),
};
HARNESS_TABLE_COUNT(rpc_forms);
