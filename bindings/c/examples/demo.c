/*
 * demo.c - a tour of swiftnats in one program: connect, subscribe, publish, request/reply
 * with a responder in the same program, a request nobody answers, an RPC method called by
 * name with JSON params, a clean drain.
 *
 * Usage:  demo [URL]     (default $NATS_URL, else nats://127.0.0.1:4222)
 * Exit status 0 when every step behaved as described, 1 otherwise.
 * Build:  cc -o demo demo.c $(pkg-config --cflags --libs swiftnats)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <swiftnats.h>

#define CHECK(call)                                                                      \
    do {                                                                                 \
        snats_status s_ = (call);                                                        \
        if (s_ != SNATS_OK) {                                                            \
            fprintf(stderr, "demo: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                 \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* ---- a subscriber that counts what it gets ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int received;
} inbox_state;

/* An answer that cannot be sent is said, never dropped silently. */
static void report(snats_status status, const char *what) {
    if (status != SNATS_OK) fprintf(stderr, "%s: %s (%s)\n", what, snats_status_text(status), snats_last_error());
}

static void on_update(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    inbox_state *st = closure;
    printf("  subscriber got %-14s \"%s\"\n", snats_msg_subject(msg), (const char *)snats_msg_data(msg));
    fflush(stdout);
    pthread_mutex_lock(&st->mu);
    st->received++;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Waits up to 5 s until the subscriber has `want` messages. */
static int wait_for(inbox_state *st, int want) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    pthread_mutex_lock(&st->mu);
    while (st->received < want)
        if (pthread_cond_timedwait(&st->cv, &st->mu, &deadline) != 0) break;
    int got = st->received;
    pthread_mutex_unlock(&st->mu);
    return got;
}

/* ---- a responder: answers "2+3" style sums ---- */

static void on_sum_request(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)closure;
    int a = 0, b = 0;
    char answer[64];
    int len;
    if (sscanf((const char *)snats_msg_data(msg), "%d+%d", &a, &b) == 2)
        len = snprintf(answer, sizeof answer, "%d", a + b);
    else
        len = snprintf(answer, sizeof answer, "error: send A+B");
    printf("  responder got \"%s\", answers \"%s\"\n", (const char *)snats_msg_data(msg), answer);
    fflush(stdout);
    /* Replies on the request's reply subject, over the connection it arrived on. */
    snats_status s = snats_msg_respond(msg, answer, (size_t)len);
    if (s != SNATS_OK) fprintf(stderr, "demo: respond failed: %s\n", snats_status_text(s));
}

/* ---- an RPC method: math.add of the "demo" namespace ---- */

static void rpc_add(snats_rpc_request *req, const json_t *params, void *closure) {
    (void)closure;
    json_t *sum = json_integer(json_integer_value(json_object_get(params, "a")) +
                               json_integer_value(json_object_get(params, "b")));
    report(snats_rpc_request_respond(req, sum), "demo: answering math.add");
    json_decref(sum);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    printf("swiftnats %s demo against %s\n\n", snats_version(), url);

    /* 1. Connect, with a name so the server's monitoring shows who we are. */
    snats_options *opts = NULL;
    CHECK(snats_options_create(&opts));
    CHECK(snats_options_set_url(opts, url));
    CHECK(snats_options_set_name(opts, "swiftnats-demo"));
    snats_conn *conn = NULL;
    CHECK(snats_conn_connect(&conn, opts));
    snats_options_destroy(opts); /* the connection keeps its own copy */

    char where[256];
    CHECK(snats_conn_get_connected_url(where, sizeof where, conn));
    json_t *info = NULL;
    CHECK(snats_conn_get_server_info(&info, conn));
    int64_t rtt_us = 0;
    CHECK(snats_conn_rtt(&rtt_us, conn, 2000));
    printf("1. connected to %s (nats-server %s, max_payload %lld), rtt %lld us\n", where,
           json_string_value(json_object_get(info, "version")),
           (long long)json_integer_value(json_object_get(info, "max_payload")), (long long)rtt_us);
    json_decref(info);

    /* 2. Subscribe with a wildcard and publish three messages. */
    inbox_state st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    snats_sub *updates = NULL;
    CHECK(snats_subscribe(&updates, conn, "demo.updates.*", on_update, &st));
    CHECK(snats_conn_flush(conn, 2000)); /* the server has the SUB now */
    printf("2. subscribed to demo.updates.*, publishing 3 messages\n");
    CHECK(snats_publish(conn, "demo.updates.weather", "sunny", 5));
    CHECK(snats_publish(conn, "demo.updates.news", "nothing new", 11));
    CHECK(snats_publish(conn, "demo.updates.score", "3-1", 3));
    int got = wait_for(&st, 3);
    printf("   subscriber received %d of 3\n", got);
    if (got != 3) return 1;

    /* 3. Request/reply with a responder in this same program. */
    snats_sub *service = NULL;
    CHECK(snats_subscribe(&service, conn, "demo.sum", on_sum_request, NULL));
    CHECK(snats_conn_flush(conn, 2000));
    printf("3. request \"2+3\" on demo.sum\n");
    snats_msg *reply = NULL;
    CHECK(snats_request(&reply, conn, "demo.sum", "2+3", 3, 2000));
    printf("   reply: \"%s\"\n", (const char *)snats_msg_data(reply));
    int ok = strcmp((const char *)snats_msg_data(reply), "5") == 0;
    snats_msg_release(reply);
    if (!ok) return 1;

    /* 4. A request nobody listens to fails fast with SNATS_NO_RESPONDERS, not a timeout. */
    printf("4. request on demo.nobody (no subscriber)\n");
    snats_status s = snats_request(&reply, conn, "demo.nobody", "hi", 2, 2000);
    printf("   -> %s (%s)\n", snats_status_text(s), snats_last_error());
    if (s != SNATS_NO_RESPONDERS) return 1;

    /* 5. RPC: a method served on rpc.demo.math.add, called by name with JSON params. */
    snats_rpc_server *rpc_server = NULL;
    CHECK(snats_rpc_server_create(&rpc_server, conn, "demo", NULL));
    json_t *described = json_pack("[{s:s,s:s},{s:s,s:s}]", "name", "a", "type", "integer", "name", "b", "type", "integer");
    CHECK(snats_rpc_server_register(rpc_server, "math.add", described, "adds two integers", 0, rpc_add, NULL));
    json_decref(described);
    CHECK(snats_rpc_server_start(rpc_server, NULL));
    snats_rpc_client *rpc = NULL;
    CHECK(snats_rpc_client_create(&rpc, conn, "demo"));
    json_t *params = json_pack("{s:i,s:i}", "a", 2, "b", 3), *result = NULL, *error = NULL;
    CHECK(snats_rpc_client_call(&result, NULL, rpc, "math.add", params, 2000));
    printf("5. RPC demo.math.add {a: 2, b: 3} -> %lld\n", (long long)json_integer_value(result));
    ok = json_integer_value(result) == 5;
    json_decref(result);
    json_decref(params);
    params = json_pack("{s:s}", "a", "two");
    s = snats_rpc_client_call(&result, &error, rpc, "math.add", params, 2000);
    printf("   with a = \"two\" -> %s: %s\n", snats_status_text(s), json_string_value(json_object_get(error, "message")));
    ok = ok && s == SNATS_RPC_ERROR && json_integer_value(json_object_get(error, "code")) == -32602;
    json_decref(error);
    json_decref(params);
    snats_rpc_client_destroy(rpc);
    snats_rpc_server_destroy(rpc_server);
    if (!ok) return 1;

    /* 6. Statistics, then a drain: unsubscribe everything, deliver what is queued, close. */
    uint64_t in_msgs = 0, out_msgs = 0;
    CHECK(snats_conn_get_stats(&in_msgs, NULL, &out_msgs, NULL, conn));
    printf("6. %llu messages in, %llu out; draining\n", (unsigned long long)in_msgs,
           (unsigned long long)out_msgs);
    CHECK(snats_conn_drain(conn, 5000));
    printf("   closed: %s\n", snats_conn_is_closed(conn) ? "yes" : "no");

    snats_sub_destroy(updates);
    snats_sub_destroy(service);
    snats_conn_destroy(conn);
    printf("\ndemo finished OK\n");
    return 0;
}
