/*
 * rpc_client.c - calls the calculator of rpc_server.c: a plain call, an error, async calls
 * collected later, a batch, a stream, a call that calls back a function lent to it (a
 * reference), and the method list.
 *
 * Usage:  rpc_client [URL] [NAMESPACE]
 *   URL        server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   NAMESPACE  default "calculator"
 * Exits 0 when every answer is the expected one.
 * Build:  cc -o rpc_client rpc_client.c $(pkg-config --cflags --libs swiftnats)
 */
#include <stdio.h>
#include <stdlib.h>

#include <swiftnats.h>

#define CHECK(call)                                                                            \
    do {                                                                                       \
        snats_status s_ = (call);                                                              \
        if (s_ != SNATS_OK) {                                                                  \
            fprintf(stderr, "rpc_client: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                       \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

/* An answer that cannot be sent is said, never dropped silently. */
static void report(snats_status status, const char *what) {
    if (status != SNATS_OK) fprintf(stderr, "%s: %s (%s)\n", what, snats_status_text(status), snats_last_error());
}

/* The function lent to countdown: the server calls it back with n .. 1. */
static void on_tick(snats_rpc_request *req, const json_t *params, void *closure) {
    json_int_t *ticks = closure;
    json_int_t tick = json_integer_value(json_array_get(params, 0));
    printf("countdown: %lld\n", (long long)tick);
    *ticks = *ticks * 10 + tick; /* one call at a time: no lock needed */
    report(snats_rpc_request_respond(req, NULL), "rpc_client: answering a tick");
}

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "rpc_client: unexpected answer: %s\n", what);
        exit(1);
    }
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *ns = argc > 2 ? argv[2] : "calculator";

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));
    snats_rpc_client *client = NULL;
    CHECK(snats_rpc_client_create(&client, conn, ns));

    /* A call with named params. */
    json_t *params = json_pack("{s:i,s:i}", "a", 2, "b", 3);
    json_t *result = NULL;
    CHECK(snats_rpc_client_call(&result, NULL, client, "math.add", params, 2000));
    printf("math.add(2, 3) = %g\n", json_number_value(result));
    expect(json_number_value(result) == 5, "math.add");
    json_decref(result);
    json_decref(params);

    /* An error: the handler fails, the caller gets code, message and data. */
    json_t *error = NULL;
    params = json_pack("[i,i]", 1, 0);
    snats_status status = snats_rpc_client_call(&result, &error, client, "math.divide", params, 2000);
    expect(status == SNATS_RPC_ERROR, "math.divide by zero");
    printf("math.divide(1, 0) -> error %lld: %s (on host %s)\n",
           (long long)json_integer_value(json_object_get(error, "code")),
           json_string_value(json_object_get(error, "message")),
           json_string_value(json_object_get(json_object_get(error, "data"), "host")));
    json_decref(error);
    json_decref(params);

    /* Async calls, collected later. */
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        params = json_pack("[i,i]", i, 10);
        CHECK(snats_rpc_client_call_async(&ids[i], client, "math.multiply", params));
        json_decref(params);
    }
    for (int i = 0; i < 3; i++) {
        CHECK(snats_rpc_client_get_response(&result, NULL, client, ids[i], 2000));
        printf("math.multiply(%d, 10) = %g\n", i, json_number_value(result));
        expect(json_number_value(result) == i * 10, "math.multiply");
        json_decref(result);
    }

    /* A batch: every call at once, outcomes in order. */
    json_t *calls = json_pack("[[s,[i,i]],[s,[i,i]],[s]]", "math.subtract", 10, 4, "math.divide", 1, 0, "no.such.method");
    json_t *results = NULL;
    CHECK(snats_rpc_client_call_batch(&results, client, calls, 2000));
    size_t i;
    json_t *entry;
    json_array_foreach(results, i, entry) {
        char *text = json_dumps(entry, JSON_COMPACT);
        printf("batch[%zu] = %s\n", i, text);
        free(text);
    }
    expect(json_number_value(json_object_get(json_array_get(results, 0), "result")) == 6, "batch result");
    expect(json_integer_value(json_object_get(json_object_get(json_array_get(results, 2), "error"), "code")) == -32601,
           "batch method not found");
    json_decref(results);
    json_decref(calls);

    /* A stream. */
    params = json_pack("[i]", 5);
    snats_rpc_stream *stream = NULL;
    CHECK(snats_rpc_client_call_stream(&stream, client, "range", params, 2000));
    json_decref(params);
    printf("range(5):");
    json_int_t expected = 0;
    json_t *item = NULL;
    for (;;) {
        CHECK(snats_rpc_stream_next(&item, NULL, stream));
        if (item == NULL) break;
        printf(" %lld", (long long)json_integer_value(item));
        expect(json_integer_value(item) == expected++, "range item");
        json_decref(item);
    }
    printf("\n");
    expect(expected == 5, "range length");
    snats_rpc_stream_destroy(stream);

    /* A call back to this process: lend a function (a reference), pass it, and the server
       calls it while it works on the call. */
    json_int_t ticks = 0;
    snats_rpc_ref *tick_ref = NULL;
    json_t *lent = json_pack("{s:[{s:s,s:s}]}", "call", "name", "tick", "type", "integer");
    CHECK(snats_rpc_ref_create(&tick_ref, conn, lent, 1, on_tick, &ticks));
    json_decref(lent);
    params = json_pack("[i,O]", 3, snats_rpc_ref_json(tick_ref));
    CHECK(snats_rpc_client_call(&result, NULL, client, "countdown", params, 5000));
    printf("countdown(3, tick) = %s\n", json_string_value(result));
    expect(ticks == 321, "countdown's calls back");
    json_decref(result);
    json_decref(params);
    snats_rpc_ref_destroy(tick_ref); /* revoked: the server can no longer call it */

    /* What the namespace offers. */
    json_t *methods = NULL;
    CHECK(snats_rpc_client_describe(&methods, client, 500));
    json_array_foreach(methods, i, entry) {
        char *described = json_dumps(json_object_get(entry, "params"), JSON_COMPACT);
        printf("method %s %s\n", json_string_value(json_object_get(entry, "method")), described);
        free(described);
    }
    expect(json_array_size(methods) == 7, "describe");
    json_decref(methods);

    snats_rpc_client_destroy(client);
    snats_conn_destroy(conn);
    return 0;
}
