/*
 * test_reconnect.c - Reconnect and fail-over through the header: server restart on the same
 * port (subscriptions restored, the reconnect buffer delivered once), buffer limits, requests
 * and drains while reconnecting, giving up, closing while reconnecting, a cluster (discovered
 * servers, fail-over, lame-duck mode), and the argument checks of the new functions.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <signal.h>
#include <stdlib.h>

typedef struct {
    atomic_int disconnected;
    atomic_int reconnected;
    atomic_int closed;
    atomic_int discovered;
    atomic_int lame_duck;
    atomic_int delays;
} events;

static events g_ev;

static void on_disconnected(snats_conn *c, void *closure) { (void)c; atomic_fetch_add(&((events *)closure)->disconnected, 1); }
static void on_reconnected(snats_conn *c, void *closure) { (void)c; atomic_fetch_add(&((events *)closure)->reconnected, 1); }
static void on_closed(snats_conn *c, void *closure) { (void)c; atomic_fetch_add(&((events *)closure)->closed, 1); }
static void on_discovered(snats_conn *c, void *closure) { (void)c; atomic_fetch_add(&((events *)closure)->discovered, 1); }
static void on_lame_duck(snats_conn *c, void *closure) { (void)c; atomic_fetch_add(&((events *)closure)->lame_duck, 1); }

static int64_t short_delay(snats_conn *c, int attempts, void *closure) {
    (void)c;
    events *ev = closure;
    atomic_fetch_add(&ev->delays, 1);
    if (attempts != atomic_load(&ev->delays)) FAIL("attempts %d, expected %d", attempts, atomic_load(&ev->delays));
    return 10;
}

/* A server that can come back on the same port. */
static void start_on_port(test_server *srv, int port) {
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    const char *args[] = {"-p", port_text, NULL};
    server_start_args(srv, args);
}

/* Options for url with fast reconnects (50 ms, no jitter, forever) and every callback. */
static snats_options *reconnect_opts(const char *url) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    CHECK_OK(snats_options_set_reconnect_wait(o, 50));
    CHECK_OK(snats_options_set_reconnect_jitter(o, 0, 0));
    CHECK_OK(snats_options_set_max_reconnect(o, -1));
    CHECK_OK(snats_options_set_disconnected_cb(o, on_disconnected, &g_ev));
    CHECK_OK(snats_options_set_reconnected_cb(o, on_reconnected, &g_ev));
    CHECK_OK(snats_options_set_closed_cb(o, on_closed, &g_ev));
    CHECK_OK(snats_options_set_discovered_servers_cb(o, on_discovered, &g_ev));
    CHECK_OK(snats_options_set_lame_duck_cb(o, on_lame_duck, &g_ev));
    return o;
}

static snats_conn *connect_with(snats_options *o) {
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    return c;
}

static snats_conn_state state_of(snats_conn *c) {
    snats_conn_state st;
    CHECK_OK(snats_conn_get_state(&st, c));
    return st;
}

static void publish_seq(snats_conn *c, const char *subject, uint32_t value) {
    unsigned char b[4] = {value >> 24, value >> 16, value >> 8, value};
    CHECK_OK(snats_publish(c, subject, b, 4));
}

static uint32_t next_seq(snats_sub *sub) {
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(2000)));
    CHECK_EQ_INT(snats_msg_data_len(m), 4);
    const unsigned char *b = snats_msg_data(m);
    uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    snats_msg_release(m);
    return v;
}

static void reconnect_restart_restores_subscriptions_and_buffer(void) {
    int port = harness_free_port();
    test_server srv;
    start_on_port(&srv, port);
    snats_conn *c = connect_with(reconnect_opts(srv.url));
    snats_sub *plain = NULL, *queued = NULL;
    CHECK_OK(snats_subscribe_sync(&plain, c, "rc.>"));
    CHECK_OK(snats_queue_subscribe_sync(&queued, c, "rc.>", "workers"));
    CHECK_OK(snats_conn_flush(c, harness_ms(2000)));

    server_stop(&srv);
    CHECK_EVENTUALLY(state_of(c) == SNATS_CONN_RECONNECTING, 5000);
    /* The callback runs on the callback thread, after the state has changed. */
    CHECK_EVENTUALLY(atomic_load(&g_ev.disconnected) == 1, 5000);
    char url[128];
    CHECK_STATUS(snats_conn_get_connected_url(url, sizeof url, c), SNATS_NOT_CONNECTED);
    enum { N = 500 };
    for (uint32_t i = 0; i < N; i++) publish_seq(c, "rc.gap", i);

    int64_t restarted = harness_now_ms();
    start_on_port(&srv, port);
    CHECK_EVENTUALLY(atomic_load(&g_ev.reconnected) == 1, 10000);
    printf("reconnected %lld ms after the restart\n", (long long)(harness_now_ms() - restarted));
    CHECK_EQ_INT(state_of(c), SNATS_CONN_CONNECTED);
    uint64_t reconnects = 0;
    CHECK_OK(snats_conn_get_reconnects(&reconnects, c));
    CHECK_EQ_INT(reconnects, 1);
    CHECK_OK(snats_conn_get_connected_url(url, sizeof url, c));
    CHECK_EQ_STR(url, srv.url);

    for (uint32_t i = 0; i < N; i++) CHECK_EQ_INT(next_seq(plain), i);
    for (uint32_t i = 0; i < N; i++) CHECK_EQ_INT(next_seq(queued), i);
    snats_msg *m = NULL;
    CHECK_STATUS(snats_sub_next_msg(&m, plain, 100), SNATS_TIMEOUT); /* nothing twice */
    CHECK_STATUS(snats_sub_next_msg(&m, queued, 100), SNATS_TIMEOUT);
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 0);

    snats_sub_destroy(plain);
    snats_sub_destroy(queued);
    snats_conn_destroy(c);
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    server_stop(&srv);
}

static void reconnect_buffer_full(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = reconnect_opts(srv.url);
    CHECK_OK(snats_options_set_reconnect_buffer_size(o, 2048));
    snats_conn *c = connect_with(o);
    server_stop(&srv);
    CHECK_EVENTUALLY(state_of(c) == SNATS_CONN_RECONNECTING, 5000);
    char payload[100];
    memset(payload, 'x', sizeof payload);
    int accepted = 0;
    snats_status s = SNATS_OK;
    while (s == SNATS_OK && accepted < 1000) {
        s = snats_publish(c, "full", payload, sizeof payload);
        if (s == SNATS_OK) accepted++;
    }
    CHECK_STATUS(s, SNATS_RECONNECT_BUFFER_FULL);
    CHECK(strstr(snats_last_error(), "reconnect buffer") != NULL);
    CHECK(accepted > 10 && accepted < 21);
    snats_conn_destroy(c);
}

static void reconnect_buffer_disabled_and_drain(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = reconnect_opts(srv.url);
    CHECK_OK(snats_options_set_reconnect_buffer_size(o, 0));
    snats_conn *c = connect_with(o);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "d"));
    server_stop(&srv);
    CHECK_EVENTUALLY(state_of(c) == SNATS_CONN_RECONNECTING, 5000);
    CHECK_STATUS(snats_publish(c, "x", "1", 1), SNATS_NOT_CONNECTED);
    CHECK_STATUS(snats_conn_drain(c, 1000), SNATS_NOT_CONNECTED);
    CHECK_STATUS(snats_sub_drain(sub, 1000), SNATS_NOT_CONNECTED);
    CHECK(snats_sub_is_valid(sub));
    snats_sub *later = NULL;
    CHECK_OK(snats_subscribe_sync(&later, c, "later")); /* subscribing still works */
    snats_sub_destroy(later);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
}

typedef struct {
    snats_conn *conn;
    atomic_int status;
    atomic_bool done;
} request_job;

static void *request_thread(void *arg) {
    request_job *job = arg;
    snats_msg *reply = NULL;
    snats_status s = snats_request(&reply, job->conn, "silent", "q", 1, harness_ms(20000));
    if (reply != NULL) snats_msg_release(reply);
    atomic_store(&job->status, s);
    atomic_store(&job->done, true);
    return NULL;
}

static void reconnect_pending_request_fails_on_loss(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_with(reconnect_opts(srv.url));
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, c, "silent"));
    request_job job = {.conn = c};
    pthread_t t;
    harness_spawn(&t, request_thread, &job);
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, silent, harness_ms(2000))); /* the request is at the server */
    snats_msg_release(m);
    int64_t stopped = harness_now_ms();
    server_stop(&srv);
    CHECK_EVENTUALLY(atomic_load(&job.done), 5000);
    CHECK(harness_now_ms() - stopped < harness_ms(5000)); /* at once, not at the timeout */
    CHECK_EQ_INT(atomic_load(&job.status), SNATS_NOT_CONNECTED);
    harness_join(t);
    snats_sub_destroy(silent);
    snats_conn_destroy(c);
}

typedef struct {
    snats_conn *conn;
    atomic_int status;
    atomic_bool done;
} flush_job;

static void *flush_thread(void *arg) {
    flush_job *job = arg;
    atomic_store(&job->status, snats_conn_flush(job->conn, harness_ms(20000)));
    atomic_store(&job->done, true);
    return NULL;
}

/* A flush whose PING went to a server that then went away fails: what was published before it
 * may be lost, so no later server's PONG may answer it. */
static void reconnect_pending_flush_fails_on_loss(void) {
    fake_server f;
    fake_server_start(&f, FAKE_NO_PONG); /* answers the handshake's PING only */
    snats_conn *c = connect_with(reconnect_opts(f.url));
    flush_job job = {.conn = c};
    pthread_t t;
    harness_spawn(&t, flush_thread, &job);
    harness_sleep_ms(100); /* the flush waits for a PONG that will not come */
    CHECK(!atomic_load(&job.done));
    fake_server_stop(&f);
    CHECK_EVENTUALLY(atomic_load(&job.done), 5000);
    CHECK_EQ_INT(atomic_load(&job.status), SNATS_NOT_CONNECTED);
    harness_join(t);
    snats_conn_destroy(c);
}

static void reconnect_gives_up_and_closes(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = reconnect_opts(srv.url);
    CHECK_OK(snats_options_set_max_reconnect(o, 2));
    CHECK_OK(snats_options_set_custom_reconnect_delay(o, short_delay, &g_ev));
    snats_conn *c = connect_with(o);
    server_stop(&srv);
    CHECK_EVENTUALLY(atomic_load(&g_ev.closed) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&g_ev.delays), 2);
    CHECK_EQ_INT(atomic_load(&g_ev.disconnected), 1);
    CHECK_EQ_INT(atomic_load(&g_ev.reconnected), 0);
    CHECK(snats_conn_is_closed(c));
    CHECK_STATUS(snats_publish(c, "x", "1", 1), SNATS_CONNECTION_CLOSED);
    snats_conn_destroy(c);
}

static void reconnect_close_while_reconnecting(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = reconnect_opts(srv.url);
    CHECK_OK(snats_options_set_reconnect_wait(o, 60000));
    snats_conn *c = connect_with(o);
    server_stop(&srv);
    CHECK_EVENTUALLY(state_of(c) == SNATS_CONN_RECONNECTING, 5000);
    harness_sleep_ms(50);
    int64_t started = harness_now_ms();
    snats_conn_close(c);
    CHECK(harness_now_ms() - started < harness_ms(5000));
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    CHECK_STATUS(snats_conn_flush(c, 100), SNATS_CONNECTION_CLOSED);
    snats_conn_destroy(c);
}

typedef struct {
    int client_ports[3];
    int route_ports[3];
    test_server nodes[3];
} cluster;

static void cluster_start_node(cluster *cl, int index, int size) {
    char port[16], listen[64], routes[256] = "", name[16];
    snprintf(port, sizeof port, "%d", cl->client_ports[index]);
    snprintf(listen, sizeof listen, "nats://127.0.0.1:%d", cl->route_ports[index]);
    for (int i = 0; i < size; i++) {
        char one[48];
        snprintf(one, sizeof one, "%snats://127.0.0.1:%d", i ? "," : "", cl->route_ports[i]);
        strcat(routes, one);
    }
    snprintf(name, sizeof name, "node%d", index);
    const char *args[] = {"-p", port, "--cluster_name", "snats", "--cluster", listen, "--routes", routes, "-n", name, NULL};
    server_start_args(&cl->nodes[index], args);
}

static void cluster_plan(cluster *cl, int size) {
    for (int i = 0; i < size; i++) {
        cl->client_ports[i] = harness_free_port();
        cl->route_ports[i] = harness_free_port();
    }
}

static size_t json_count(snats_status (*getter)(json_t **, snats_conn *), snats_conn *c) {
    json_t *list = NULL;
    CHECK_OK(getter(&list, c));
    CHECK(json_is_array(list));
    size_t n = json_array_size(list);
    json_decref(list);
    return n;
}

static void reconnect_cluster_discovery_and_failover(void) {
    cluster cl;
    cluster_plan(&cl, 2);
    cluster_start_node(&cl, 0, 2);
    snats_conn *c = connect_with(reconnect_opts(cl.nodes[0].url));
    CHECK_EQ_INT(json_count(snats_conn_get_discovered_servers, c), 0);
    CHECK_EQ_INT(json_count(snats_conn_get_servers, c), 1);
    cluster_start_node(&cl, 1, 2);
    CHECK_EVENTUALLY(atomic_load(&g_ev.discovered) >= 1, 10000);
    json_t *found = NULL;
    CHECK_OK(snats_conn_get_discovered_servers(&found, c));
    CHECK_EQ_INT(json_array_size(found), 1);
    CHECK_EQ_STR(json_string_value(json_array_get(found, 0)), cl.nodes[1].url);
    json_decref(found);
    CHECK_EQ_INT(json_count(snats_conn_get_servers, c), 2);

    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "fo"));
    CHECK_OK(snats_conn_flush(c, harness_ms(2000)));
    server_kill(&cl.nodes[0]); /* abrupt: no goodbye */
    CHECK_EVENTUALLY(atomic_load(&g_ev.disconnected) == 1, 5000);
    publish_seq(c, "fo", 7); /* buffered during the gap, or already on node 1 */
    CHECK_EVENTUALLY(atomic_load(&g_ev.reconnected) == 1, 10000);
    char url[128];
    CHECK_OK(snats_conn_get_connected_url(url, sizeof url, c));
    CHECK_EQ_STR(url, cl.nodes[1].url);
    CHECK_EQ_INT(next_seq(sub), 7);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&cl.nodes[1]);
}

static void reconnect_lame_duck_moves_client(void) {
    cluster cl;
    cluster_plan(&cl, 2);
    cluster_start_node(&cl, 0, 2);
    cluster_start_node(&cl, 1, 2);
    snats_options *o = reconnect_opts(cl.nodes[0].url);
    CHECK_OK(snats_options_set_no_randomize(o, true));
    snats_conn *c = connect_with(o);
    CHECK_EVENTUALLY(json_count(snats_conn_get_discovered_servers, c) == 1, 10000);
    kill(cl.nodes[0].pid, SIGUSR2); /* what `nats-server --signal ldm` sends */
    CHECK_EVENTUALLY(atomic_load(&g_ev.lame_duck) == 1, 10000);
    CHECK_EVENTUALLY(atomic_load(&g_ev.reconnected) == 1, 10000);
    char url[128];
    CHECK_OK(snats_conn_get_connected_url(url, sizeof url, c));
    CHECK_EQ_STR(url, cl.nodes[1].url);
    snats_conn_destroy(c);
    server_kill(&cl.nodes[0]);
    server_stop(&cl.nodes[1]);
}

static void reconnect_no_randomize_and_ignore_discovered(void) {
    cluster cl;
    cluster_plan(&cl, 2);
    cluster_start_node(&cl, 0, 2);
    cluster_start_node(&cl, 1, 2);
    const char *urls[] = {cl.nodes[1].url, cl.nodes[0].url};
    snats_options *o = reconnect_opts(cl.nodes[1].url);
    CHECK_OK(snats_options_set_servers(o, urls, 2));
    CHECK_OK(snats_options_set_no_randomize(o, true));
    CHECK_OK(snats_options_set_ignore_discovered_servers(o, true));
    snats_conn *c = connect_with(o);
    char url[128];
    CHECK_OK(snats_conn_get_connected_url(url, sizeof url, c));
    CHECK_EQ_STR(url, cl.nodes[1].url);
    json_t *list = NULL;
    CHECK_OK(snats_conn_get_servers(&list, c));
    CHECK_EQ_INT(json_array_size(list), 2);
    CHECK_EQ_STR(json_string_value(json_array_get(list, 0)), cl.nodes[1].url);
    CHECK_EQ_STR(json_string_value(json_array_get(list, 1)), cl.nodes[0].url);
    json_decref(list);
    CHECK_EQ_INT(json_count(snats_conn_get_discovered_servers, c), 0);
    snats_conn_destroy(c);
    server_stop(&cl.nodes[0]);
    server_stop(&cl.nodes[1]);
}

/* Credentials in a URL never show in the server list. */
static void reconnect_server_list_hides_credentials(void) {
    test_server srv;
    server_start(&srv);
    char url[200];
    snprintf(url, sizeof url, "nats://alice:s3cret@127.0.0.1:%d", srv.port);
    snats_conn *c = connect_with(reconnect_opts(url));
    json_t *list = NULL;
    CHECK_OK(snats_conn_get_servers(&list, c));
    char *text = json_dumps(list, 0);
    CHECK(strstr(text, "s3cret") == NULL && strstr(text, "alice") == NULL);
    free(text);
    json_decref(list);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* Hostile servers: a protocol violation and a server that stops answering PINGs end the link
 * cleanly; with reconnect on the client comes back (to the same hostile server here), with it
 * off the connection closes. */
static void reconnect_after_hostile_server(void) {
    static const fake_mode modes[] = {FAKE_OVERSIZE_MSG, FAKE_NO_PONG};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        memset(&g_ev, 0, sizeof g_ev);
        fake_server f;
        fake_server_start(&f, modes[i]);
        snats_options *o = reconnect_opts(f.url);
        CHECK_OK(snats_options_set_ping_interval(o, 50));
        snats_conn *c = connect_with(o);
        CHECK_EVENTUALLY(atomic_load(&g_ev.reconnected) >= 1, 10000);
        CHECK(atomic_load(&g_ev.disconnected) >= 1);
        CHECK(atomic_load(&f.accepted) >= 2);
        CHECK_EQ_INT(atomic_load(&g_ev.closed), 0);
        snats_conn_destroy(c);
        CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
        fake_server_stop(&f);

        memset(&g_ev, 0, sizeof g_ev);
        fake_server_start(&f, modes[i]);
        o = reconnect_opts(f.url);
        CHECK_OK(snats_options_set_ping_interval(o, 50));
        CHECK_OK(snats_options_set_allow_reconnect(o, false));
        c = connect_with(o);
        CHECK_EVENTUALLY(atomic_load(&g_ev.closed) == 1, 10000);
        CHECK_EQ_INT(atomic_load(&f.accepted), 1);
        CHECK(snats_conn_is_closed(c));
        snats_conn_destroy(c);
        fake_server_stop(&f);
    }
}

static void reconnect_bad_arguments(void) {
    CHECK_STATUS(snats_options_set_allow_reconnect(NULL, true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_max_reconnect(NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnect_wait(NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnect_jitter(NULL, 1, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_custom_reconnect_delay(NULL, short_delay, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnect_buffer_size(NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_no_randomize(NULL, true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_ignore_discovered_servers(NULL, true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnected_cb(NULL, on_reconnected, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_discovered_servers_cb(NULL, on_discovered, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_lame_duck_cb(NULL, on_lame_duck, NULL), SNATS_INVALID_ARG);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_STATUS(snats_options_set_max_reconnect(o, -2), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnect_wait(o, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnect_jitter(o, -1, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnect_jitter(o, 0, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnect_buffer_size(o, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_reconnect_buffer_size(o, (int64_t)1 << 40), SNATS_INVALID_ARG);
    CHECK_OK(snats_options_set_max_reconnect(o, -1));
    CHECK_OK(snats_options_set_reconnect_wait(o, 0));
    CHECK_OK(snats_options_set_custom_reconnect_delay(o, NULL, NULL));
    CHECK_OK(snats_options_set_reconnected_cb(o, NULL, NULL));
    snats_options_destroy(o);
    uint64_t n = 0;
    json_t *list = (json_t *)1;
    CHECK_STATUS(snats_conn_get_reconnects(&n, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_get_servers(&list, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(list);
    list = (json_t *)1;
    CHECK_STATUS(snats_conn_get_discovered_servers(&list, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(list);
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    CHECK_STATUS(snats_conn_get_reconnects(NULL, c), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_get_servers(NULL, c), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_get_discovered_servers(NULL, c), SNATS_INVALID_ARG);
    CHECK_OK(snats_conn_get_reconnects(&n, c));
    CHECK_EQ_INT(n, 0);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Retrying a failed connect in the background (snats_options_set_retry_on_failed_connect)
 * and waiting for it (snats_conn_wait_connected).
 * ---------------------------------------------------------------------------------------- */

static atomic_int g_connected;

static void on_connected(snats_conn *c, void *closure) { (void)c; atomic_fetch_add((atomic_int *)closure, 1); }

/* reconnect_opts for a port nothing listens on yet, with a 500 ms connect timeout, and the
 * connect retried in the background when retry is true. */
static snats_options *background_opts(int port, bool retry) {
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    snats_options *o = reconnect_opts(url);
    CHECK_OK(snats_options_set_connect_timeout(o, 500));
    if (retry) CHECK_OK(snats_options_set_retry_on_failed_connect(o, true, on_connected, &g_connected));
    return o;
}

static void reconnect_background_connects_when_server_starts(void) {
    int port = harness_free_port();
    int64_t started = harness_now_ms();
    snats_conn *c = connect_with(background_opts(port, true));
    int64_t took = harness_now_ms() - started;
    printf("connect returned after %lld ms\n", (long long)took);
    CHECK(took < harness_ms(1000)); /* at once: well within twice the connect timeout */
    CHECK_EQ_INT(state_of(c), SNATS_CONN_RECONNECTING);
    CHECK(!snats_conn_is_closed(c));

    started = harness_now_ms();
    CHECK_STATUS(snats_conn_wait_connected(c, 100), SNATS_TIMEOUT);
    took = harness_now_ms() - started;
    CHECK(took >= 90 && took < harness_ms(2000));
    CHECK_EQ_INT(state_of(c), SNATS_CONN_RECONNECTING);

    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "bg.seq")); /* sent once a server is there */
    publish_seq(c, "bg.seq", 42);                      /* into the reconnect buffer */

    test_server srv;
    int64_t server_up = harness_now_ms();
    start_on_port(&srv, port);
    CHECK_OK(snats_conn_wait_connected(c, harness_ms(5000)));
    printf("connected %lld ms after the server started\n", (long long)(harness_now_ms() - server_up));
    CHECK_EQ_INT(state_of(c), SNATS_CONN_CONNECTED);
    char url[128];
    CHECK_OK(snats_conn_get_connected_url(url, sizeof url, c));
    CHECK_EQ_STR(url, srv.url);
    CHECK_EQ_INT(next_seq(sub), 42);
    snats_msg *m = NULL;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 100), SNATS_TIMEOUT); /* nothing twice */

    /* The connected callback runs on the callback thread, maybe after the wait returned. */
    CHECK_EVENTUALLY(atomic_load(&g_connected) == 1, 5000);
    harness_sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&g_connected), 1);
    CHECK_EQ_INT(atomic_load(&g_ev.reconnected), 0);
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 0);
    printf("disconnected callback ran %d times\n", atomic_load(&g_ev.disconnected));

    started = harness_now_ms();
    CHECK_OK(snats_conn_wait_connected(c, 0));
    CHECK(harness_now_ms() - started < harness_ms(100));

    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    CHECK_EQ_INT(atomic_load(&g_connected), 1);
    server_stop(&srv);
}

static void reconnect_background_off_fails_without_server(void) {
    int port = harness_free_port();
    snats_options *o = background_opts(port, false); /* the default: off */
    snats_conn *c = (snats_conn *)1;
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_NO_SERVER);
    CHECK_NULL(c);
    snats_options_destroy(o);
    /* Turned on, then off again. */
    o = background_opts(port, true);
    CHECK_OK(snats_options_set_retry_on_failed_connect(o, false, NULL, NULL));
    c = (snats_conn *)1;
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_NO_SERVER);
    CHECK_NULL(c);
    snats_options_destroy(o);
    CHECK_EQ_INT(atomic_load(&g_connected), 0);
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 0);
}

static void reconnect_background_gives_up_and_closes(void) {
    int port = harness_free_port();
    snats_options *o = background_opts(port, true);
    CHECK_OK(snats_options_set_max_reconnect(o, 2));
    snats_conn *c = connect_with(o);
    int64_t started = harness_now_ms();
    CHECK_STATUS(snats_conn_wait_connected(c, harness_ms(10000)), SNATS_CONNECTION_CLOSED);
    printf("gave up after %lld ms\n", (long long)(harness_now_ms() - started));
    CHECK_EVENTUALLY(atomic_load(&g_ev.closed) == 1, 5000);
    CHECK(snats_conn_is_closed(c));
    CHECK_EQ_INT(state_of(c), SNATS_CONN_CLOSED);
    CHECK_STATUS(snats_conn_last_error(NULL, c), SNATS_NO_SERVER);
    CHECK_STATUS(snats_conn_wait_connected(c, 0), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_conn_wait_connected(c, 100), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_publish(c, "x", "1", 1), SNATS_CONNECTION_CLOSED);
    CHECK_EQ_INT(atomic_load(&g_connected), 0);
    CHECK_EQ_INT(atomic_load(&g_ev.reconnected), 0);
    snats_conn_destroy(c);
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
}

typedef struct {
    snats_conn *conn;
    atomic_llong closing_at; /* harness_now_ms() just before snats_conn_close() */
    atomic_llong closed_at;  /* just after it returned */
} close_job;

static void *close_later_thread(void *arg) {
    close_job *job = arg;
    harness_sleep_ms(300);
    atomic_store(&job->closing_at, harness_now_ms());
    snats_conn_close(job->conn);
    atomic_store(&job->closed_at, harness_now_ms());
    return NULL;
}

static void reconnect_background_close_ends_wait(void) {
    int port = harness_free_port();
    snats_conn *c = connect_with(background_opts(port, true));
    CHECK_EQ_INT(state_of(c), SNATS_CONN_RECONNECTING);
    close_job job = {.conn = c};
    pthread_t t;
    harness_spawn(&t, close_later_thread, &job);
    CHECK_STATUS(snats_conn_wait_connected(c, harness_ms(10000)), SNATS_CONNECTION_CLOSED);
    int64_t returned = harness_now_ms();
    int64_t closing_at = atomic_load(&job.closing_at);
    CHECK(closing_at != 0); /* not before the close */
    printf("wait returned %lld ms after the close started\n", (long long)(returned - closing_at));
    CHECK(returned - closing_at < harness_ms(5000));
    harness_join(t);
    printf("close took %lld ms\n", (long long)(atomic_load(&job.closed_at) - closing_at));
    CHECK(snats_conn_is_closed(c));
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    CHECK_EQ_INT(atomic_load(&g_connected), 0);
    snats_conn_destroy(c);
}

static void reconnect_background_bad_arguments(void) {
    CHECK_STATUS(snats_options_set_retry_on_failed_connect(NULL, true, on_connected, &g_connected), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_retry_on_failed_connect(NULL, false, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_wait_connected(NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_wait_connected(NULL, 100), SNATS_INVALID_ARG);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_retry_on_failed_connect(o, true, NULL, NULL));
    CHECK_OK(snats_options_set_retry_on_failed_connect(o, false, on_connected, &g_connected));
    snats_options_destroy(o);
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    CHECK_STATUS(snats_conn_wait_connected(c, -1), SNATS_INVALID_ARG);
    CHECK_OK(snats_conn_wait_connected(c, 0));
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void reconnect_background_immediate_connect_skips_callback(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = reconnect_opts(srv.url);
    CHECK_OK(snats_options_set_connect_timeout(o, 500));
    CHECK_OK(snats_options_set_retry_on_failed_connect(o, true, on_connected, &g_connected));
    snats_conn *c = connect_with(o);
    CHECK_EQ_INT(state_of(c), SNATS_CONN_CONNECTED);
    CHECK_OK(snats_conn_wait_connected(c, 0));
    CHECK_OK(snats_conn_flush(c, harness_ms(2000)));
    harness_sleep_ms(200); /* a callback queued by the connect would have run by now */
    CHECK_EQ_INT(atomic_load(&g_connected), 0);
    CHECK_EQ_INT(atomic_load(&g_ev.reconnected), 0);
    CHECK_EQ_INT(atomic_load(&g_ev.disconnected), 0);
    CHECK_OK(snats_conn_wait_connected(c, 0));
    snats_conn_destroy(c);
    CHECK_EQ_INT(atomic_load(&g_connected), 0);
    server_stop(&srv);
}

const test_case reconnect_tests[] = {
    TEST(reconnect_restart_restores_subscriptions_and_buffer),
    TEST(reconnect_buffer_full),
    TEST(reconnect_buffer_disabled_and_drain),
    TEST(reconnect_pending_request_fails_on_loss),
    TEST(reconnect_pending_flush_fails_on_loss),
    TEST(reconnect_gives_up_and_closes),
    TEST(reconnect_close_while_reconnecting),
    TEST(reconnect_cluster_discovery_and_failover),
    TEST(reconnect_lame_duck_moves_client),
    TEST(reconnect_no_randomize_and_ignore_discovered),
    TEST(reconnect_server_list_hides_credentials),
    TEST(reconnect_after_hostile_server),
    TEST(reconnect_bad_arguments),
    TEST(reconnect_background_connects_when_server_starts),
    TEST(reconnect_background_off_fails_without_server),
    TEST(reconnect_background_gives_up_and_closes),
    TEST(reconnect_background_close_ends_wait),
    TEST(reconnect_background_bad_arguments),
    TEST(reconnect_background_immediate_connect_skips_callback),
};
HARNESS_TABLE_COUNT(reconnect);
