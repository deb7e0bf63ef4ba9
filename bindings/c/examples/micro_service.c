/*
 * micro_service.c - a NATS micro service (ADR-32) in C: `nats micro ls` and every NATS client
 * can find it, see its endpoints and read its statistics.
 *
 * Usage:  micro_service [URL] [SERVE_SECONDS]
 *   URL            server URL; default $NATS_URL, else nats://127.0.0.1:4222
 *   SERVE_SECONDS  keep serving this long (try `snats micro info demo-echo` meanwhile);
 *                  default 0: call the endpoints once, print what discovery sees, and exit
 *
 * Service "demo-echo" 1.0.0 with two endpoints in group "demo": "upper" (answers the request
 * in upper case) and "fail" (answers with a service error, counted in the statistics).
 * Build:  cc -o micro_service micro_service.c $(pkg-config --cflags --libs swiftnats)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <swiftnats.h>

#define CHECK(call)                                                                              \
    do {                                                                                         \
        snats_status s_ = (call);                                                                \
        if (s_ != SNATS_OK) {                                                                    \
            fprintf(stderr, "micro_service: %s failed: %s (%s)\n", #call, snats_status_text(s_), \
                    snats_last_error());                                                         \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)

/* An answer that cannot be sent is said, never dropped silently. */
static void report(snats_status status, const char *what) {
    if (status != SNATS_OK) fprintf(stderr, "%s: %s (%s)\n", what, snats_status_text(status), snats_last_error());
}

/* Runs on the endpoint's library thread, one request at a time. */
static void upper(snats_micro_request *req, void *closure) {
    (void)closure;
    const snats_msg *msg = snats_micro_request_msg(req);
    size_t len = snats_msg_data_len(msg);
    char *out = malloc(len + 1);
    if (out == NULL) return;
    for (size_t i = 0; i < len; i++) out[i] = (char)toupper(((const unsigned char *)snats_msg_data(msg))[i]);
    report(snats_micro_request_respond(req, NULL, out, len), "micro_service: answering upper");
    free(out);
}

static void fail(snats_micro_request *req, void *closure) {
    (void)closure;
    report(snats_micro_request_respond_error(req, "400", "this endpoint always fails", NULL, NULL, 0),
           "micro_service: answering fail");
}

static void print_json(const char *title, json_t *json) {
    char *text = json_dumps(json, JSON_INDENT(2));
    printf("%s:\n%s\n", title, text ? text : "(null)");
    free(text);
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    int serve_seconds = argc > 2 ? atoi(argv[2]) : 0;

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));

    snats_service_config *cfg = NULL;
    CHECK(snats_service_config_create(&cfg, "demo-echo", "1.0.0"));
    CHECK(snats_service_config_set_description(cfg, "Echoes requests in upper case"));
    json_t *metadata = json_pack("{s:s}", "language", "C");
    CHECK(snats_service_config_set_metadata(cfg, metadata));
    json_decref(metadata);
    snats_service *svc = NULL;
    CHECK(snats_service_create(&svc, conn, cfg));
    snats_service_config_destroy(cfg);

    snats_group *group = NULL;
    CHECK(snats_service_add_group(&group, svc, "demo", NULL, false));
    CHECK(snats_group_add_endpoint(NULL, group, "upper", NULL, upper, NULL));
    CHECK(snats_group_add_endpoint(NULL, group, "fail", NULL, fail, NULL));
    snats_group_destroy(group);
    /* The subscriptions are only queued; a flush makes sure the server has them before other
     * clients are told to call. */
    CHECK(snats_conn_flush(conn, 2000));
    printf("ready: service demo-echo, instance %s\n", snats_service_id(svc));
    fflush(stdout);

    if (serve_seconds > 0) {
        sleep((unsigned)serve_seconds);
    } else {
        snats_msg *reply = NULL;
        CHECK(snats_request(&reply, conn, "demo.upper", "hello micro", 11, 2000));
        printf("demo.upper -> %.*s\n", (int)snats_msg_data_len(reply), (const char *)snats_msg_data(reply));
        snats_msg_release(reply);
        CHECK(snats_request(&reply, conn, "demo.fail", "x", 1, 2000));
        const char *code = NULL;
        CHECK(snats_headers_get(&code, snats_msg_headers(reply), "Nats-Service-Error-Code"));
        printf("demo.fail -> error %s\n", code);
        snats_msg_release(reply);

        json_t *found = NULL;
        CHECK(snats_micro_info(&found, conn, "demo-echo", NULL, 500, 0));
        print_json("INFO", json_array_get(found, 0));
        json_decref(found);
        CHECK(snats_micro_stats(&found, conn, "demo-echo", snats_service_id(svc), 500, 1));
        json_t *stats = json_array_get(found, 0);
        print_json("STATS", stats);
        json_int_t errors = json_integer_value(
            json_object_get(json_array_get(json_object_get(stats, "endpoints"), 1), "num_errors"));
        json_decref(found);
        if (errors != 1) {
            fprintf(stderr, "micro_service: expected 1 error on demo.fail, STATS says %lld\n", (long long)errors);
            return 1;
        }
    }
    snats_service_destroy(svc);
    snats_conn_destroy(conn);
    return 0;
}
