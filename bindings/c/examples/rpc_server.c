/*
 * rpc_server.c - a calculator served over NATS RPC, in C. Any swiftnats client (C, Python,
 * `snats rpc call`), or any NATS client sending the documented JSON, can call it; start it
 * twice and the calls are shared between the two.
 *
 * Usage:  rpc_server [URL] [NAMESPACE]
 *   URL        server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   NAMESPACE  default "calculator"
 * Serves until SIGINT or SIGTERM. Try:
 *   snats rpc ls calculator
 *   snats rpc call calculator math.add '{"a": 2, "b": 3}'
 *   snats rpc call calculator math.divide '[1, 0]'
 *
 * Methods: math.add / math.subtract / math.multiply / math.divide (params a, b: numbers, as an
 * object or a list), range (streams the integers 0 .. n-1), whoami (the serving process id),
 * countdown (params n and notify, a reference the caller lends: calls it back with n .. 1 and
 * answers "liftoff"; docs/RPC.md "References").
 * Build:  cc -o rpc_server rpc_server.c $(pkg-config --cflags --libs swiftnats)
 */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <swiftnats.h>

#define CHECK(call)                                                                            \
    do {                                                                                       \
        snats_status s_ = (call);                                                              \
        if (s_ != SNATS_OK) {                                                                  \
            fprintf(stderr, "rpc_server: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                       \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

/* An answer that cannot be sent is said, never dropped silently. */
static void report(snats_status status, const char *what) {
    if (status != SNATS_OK) fprintf(stderr, "%s: %s (%s)\n", what, snats_status_text(status), snats_last_error());
}

/* a and b from {"a": .., "b": ..} or [a, b]; the parameter description has checked them. */
static void operands(const json_t *params, double *a, double *b) {
    if (json_is_array(params)) {
        *a = json_number_value(json_array_get(params, 0));
        *b = json_number_value(json_array_get(params, 1));
    } else {
        *a = json_number_value(json_object_get(params, "a"));
        *b = json_number_value(json_object_get(params, "b"));
    }
}

/* One handler for the four operations: the closure names the operation. */
static void arithmetic(snats_rpc_request *req, const json_t *params, void *closure) {
    char op = *(const char *)closure;
    double a, b, result = 0;
    operands(params, &a, &b);
    switch (op) {
    case '+': result = a + b; break;
    case '-': result = a - b; break;
    case '*': result = a * b; break;
    case '/':
        if (b == 0) {
            report(snats_rpc_request_fail(req, "division by zero", "rpc_server.c: arithmetic(): b == 0"),
                   "rpc_server: failing a division");
            return;
        }
        result = a / b;
        break;
    }
    json_t *value = json_real(result);
    report(snats_rpc_request_respond(req, value), "rpc_server: answering arithmetic");
    json_decref(value);
}

/* Streams 0 .. n-1, then ends the stream. */
static void range(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    json_int_t n = json_integer_value(json_is_array(params) ? json_array_get(params, 0) : json_object_get(params, "n"));
    if (n < 0 || n > 100000) {
        report(snats_rpc_request_error(req, -32602, "Invalid params: n must be between 0 and 100000", NULL),
               "rpc_server: refusing range");
        return;
    }
    for (json_int_t i = 0; i < n; i++) {
        json_t *item = json_integer(i);
        snats_status status = snats_rpc_request_send_item(req, item);
        json_decref(item);
        if (status != SNATS_OK) return; /* unanswered: the library answers -32603 */
    }
    report(snats_rpc_request_end_stream(req), "rpc_server: ending range"); /* n == 0: an empty stream */
}

/* Calls the caller back: notify(i) for i = n .. 1 through a client of the reference it lent. */
static void countdown(snats_rpc_request *req, const json_t *params, void *closure) {
    snats_conn *conn = closure;
    const json_t *n = json_is_array(params) ? json_array_get(params, 0) : json_object_get(params, "n");
    const json_t *notify = json_is_array(params) ? json_array_get(params, 1) : json_object_get(params, "notify");
    snats_rpc_client *back = NULL;
    if (snats_rpc_client_create_from_ref(&back, conn, notify) != SNATS_OK) {
        report(snats_rpc_request_error(req, -32602, "Invalid params: notify must be a reference", NULL),
               "rpc_server: refusing countdown");
        return;
    }
    for (json_int_t i = json_integer_value(n); i > 0; i--) {
        /* A function reference lends one method, "call"; its params are ours to choose. */
        json_t *args = json_pack("[I]", i);
        json_t *answer = NULL, *error = NULL;
        snats_status status = snats_rpc_client_call(&answer, &error, back, "call", args, 5000);
        json_decref(args);
        json_decref(answer);
        if (status != SNATS_OK) {
            char message[256];
            snprintf(message, sizeof message, "calling back the caller failed: %s", snats_status_text(status));
            json_decref(error);
            snats_rpc_client_destroy(back);
            report(snats_rpc_request_fail(req, message, NULL), "rpc_server: failing countdown");
            return;
        }
    }
    snats_rpc_client_destroy(back);
    json_t *value = json_string("liftoff");
    report(snats_rpc_request_respond(req, value), "rpc_server: answering countdown");
    json_decref(value);
}

static void whoami(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)params;
    (void)closure;
    json_t *value = json_pack("{s:i}", "pid", (int)getpid());
    report(snats_rpc_request_respond(req, value), "rpc_server: answering whoami");
    json_decref(value);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *ns = argc > 2 ? argv[2] : "calculator";

    /* Block the signals in every thread (the library's inherit the mask); sigwait below takes them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));
    snats_rpc_server *server = NULL;
    CHECK(snats_rpc_server_create(&server, conn, ns, NULL));

    json_t *ab = json_pack("[{s:s,s:s},{s:s,s:s}]", "name", "a", "type", "number", "name", "b", "type", "number");
    static const char ops[] = "+-*/";
    static const char *names[] = {"math.add", "math.subtract", "math.multiply", "math.divide"};
    for (int i = 0; i < 4; i++) CHECK(snats_rpc_server_register(server, names[i], ab, NULL, 0, arithmetic, (void *)&ops[i]));
    json_decref(ab);
    json_t *n = json_pack("[{s:s,s:s}]", "name", "n", "type", "integer");
    CHECK(snats_rpc_server_register(server, "range", n, "streams 0 .. n-1", 0, range, NULL));
    json_decref(n);
    CHECK(snats_rpc_server_register(server, "whoami", NULL, "the serving process", 0, whoami, NULL));
    json_t *counted = json_pack("[{s:s,s:s},{s:s,s:s}]", "name", "n", "type", "integer", "name", "notify", "type", "object");
    CHECK(snats_rpc_server_register(server, "countdown", counted, "calls notify back with n .. 1", 0, countdown, conn));
    json_decref(counted);
    CHECK(snats_rpc_server_start(server, NULL));
    printf("ready: namespace %s, instance %s, pid %d\n", ns, snats_rpc_server_id(server), (int)getpid());
    fflush(stdout);

    int signal_number = 0;
    sigwait(&stop, &signal_number);
    snats_rpc_server_destroy(server);
    snats_conn_destroy(conn);
    printf("stopped\n");
    return 0;
}
