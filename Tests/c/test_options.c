/*
 * test_options.c - Options family: every setter with NULL options, bad values and good
 * values; URL parsing; options copied by connect.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>

static void noop_conn_cb(snats_conn *conn, void *closure) {
    (void)conn;
    (void)closure;
}

static void noop_err_cb(snats_conn *conn, snats_sub *sub, snats_status status, const char *text,
                        void *closure) {
    (void)conn;
    (void)sub;
    (void)status;
    (void)text;
    (void)closure;
}

static snats_options *new_opts(void) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_NOT_NULL(o);
    return o;
}

static void opts_create_destroy(void) {
    CHECK_STATUS(snats_options_create(NULL), SNATS_INVALID_ARG);
    snats_options *o = new_opts();
    snats_options_destroy(o);
    snats_options_destroy(NULL); /* no-op */
}

/* Every setter with NULL options returns SNATS_INVALID_ARG. */
static void opts_setters_null_opts(void) {
    const char *urls[] = {"nats://127.0.0.1:4222"};
#define NULL_OPTS(call)                                              \
    do {                                                             \
        CHECK_STATUS(call, SNATS_INVALID_ARG);                       \
        CHECK(strlen(snats_last_error()) > 0);                       \
    } while (0)
    NULL_OPTS(snats_options_set_url(NULL, "nats://127.0.0.1:4222"));
    NULL_OPTS(snats_options_set_servers(NULL, urls, 1));
    NULL_OPTS(snats_options_set_name(NULL, "x"));
    NULL_OPTS(snats_options_set_connect_timeout(NULL, 1000));
    NULL_OPTS(snats_options_set_ping_interval(NULL, 1000));
    NULL_OPTS(snats_options_set_max_pings_out(NULL, 2));
    NULL_OPTS(snats_options_set_no_echo(NULL, true));
    NULL_OPTS(snats_options_set_verbose(NULL, true));
    NULL_OPTS(snats_options_set_pedantic(NULL, true));
    NULL_OPTS(snats_options_set_inbox_prefix(NULL, "_MY"));
    NULL_OPTS(snats_options_set_pending_limits(NULL, 10, 10));
    NULL_OPTS(snats_options_set_user_info(NULL, "u", "p"));
    NULL_OPTS(snats_options_set_token(NULL, "t"));
    NULL_OPTS(snats_options_set_closed_cb(NULL, noop_conn_cb, NULL));
    NULL_OPTS(snats_options_set_disconnected_cb(NULL, noop_conn_cb, NULL));
    NULL_OPTS(snats_options_set_error_cb(NULL, noop_err_cb, NULL));
#undef NULL_OPTS
}

/* Every setter accepts a good value (and NULL where NULL clears). */
static void opts_setters_good_values(void) {
    snats_options *o = new_opts();
    const char *urls[] = {"nats://127.0.0.1:4222", "127.0.0.1:4223"};
    CHECK_OK(snats_options_set_url(o, "nats://127.0.0.1:4222"));
    CHECK_OK(snats_options_set_servers(o, urls, 2));
    CHECK_OK(snats_options_set_name(o, "my-client"));
    CHECK_OK(snats_options_set_name(o, NULL));
    CHECK_OK(snats_options_set_connect_timeout(o, 1));
    CHECK_OK(snats_options_set_connect_timeout(o, 5000));
    CHECK_OK(snats_options_set_ping_interval(o, 1));
    CHECK_OK(snats_options_set_ping_interval(o, 120000));
    CHECK_OK(snats_options_set_max_pings_out(o, 1));
    CHECK_OK(snats_options_set_max_pings_out(o, 10));
    CHECK_OK(snats_options_set_no_echo(o, true));
    CHECK_OK(snats_options_set_no_echo(o, false));
    CHECK_OK(snats_options_set_verbose(o, true));
    CHECK_OK(snats_options_set_verbose(o, false));
    CHECK_OK(snats_options_set_pedantic(o, true));
    CHECK_OK(snats_options_set_pedantic(o, false));
    CHECK_OK(snats_options_set_inbox_prefix(o, "_MY_INBOX"));
    CHECK_OK(snats_options_set_inbox_prefix(o, "a.b.c"));
    CHECK_OK(snats_options_set_pending_limits(o, 0, 0));
    CHECK_OK(snats_options_set_pending_limits(o, 100, 1 << 20));
    CHECK_OK(snats_options_set_user_info(o, "user", "pass"));
    CHECK_OK(snats_options_set_user_info(o, "user", NULL));
    CHECK_OK(snats_options_set_user_info(o, NULL, NULL));
    CHECK_OK(snats_options_set_token(o, "secret-token"));
    CHECK_OK(snats_options_set_token(o, NULL));
    CHECK_OK(snats_options_set_closed_cb(o, noop_conn_cb, NULL));
    CHECK_OK(snats_options_set_closed_cb(o, NULL, NULL));
    CHECK_OK(snats_options_set_disconnected_cb(o, noop_conn_cb, (void *)o));
    CHECK_OK(snats_options_set_disconnected_cb(o, NULL, NULL));
    CHECK_OK(snats_options_set_error_cb(o, noop_err_cb, NULL));
    CHECK_OK(snats_options_set_error_cb(o, NULL, NULL));
    snats_options_destroy(o);
}

/* Out-of-range values: SNATS_INVALID_ARG. */
static void opts_setters_bad_values(void) {
    snats_options *o = new_opts();
    static const struct {
        const char *name;
        int64_t value;
    } timeouts[] = {{"zero", 0}, {"negative", -1}, {"very negative", INT64_MIN}};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        if (snats_options_set_connect_timeout(o, timeouts[i].value) != SNATS_INVALID_ARG)
            FAIL("set_connect_timeout(%s) accepted", timeouts[i].name);
        if (snats_options_set_ping_interval(o, timeouts[i].value) != SNATS_INVALID_ARG)
            FAIL("set_ping_interval(%s) accepted", timeouts[i].name);
    }
    CHECK_STATUS(snats_options_set_max_pings_out(o, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_max_pings_out(o, -5), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_pending_limits(o, -1, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_pending_limits(o, 0, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_pending_limits(o, -1, -1), SNATS_INVALID_ARG);

    static const char *prefixes[] = {"", "a.*", "a.>", "a b", "a..b", ".a", "a.", "a\tb"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (snats_options_set_inbox_prefix(o, prefixes[i]) != SNATS_INVALID_ARG)
            FAIL("set_inbox_prefix(\"%s\") accepted", prefixes[i]);
    CHECK_STATUS(snats_options_set_inbox_prefix(o, NULL), SNATS_INVALID_ARG);
    snats_options_destroy(o);
}

static void opts_url_good(void) {
    static const char *good[] = {
        "nats://127.0.0.1:4222",
        "nats://localhost",
        "127.0.0.1:4222",
        "localhost",
        "nats://user:pass@127.0.0.1:4222",
        "nats://user@127.0.0.1:4222",
        "[::1]:4222",
        "nats://[::1]:4222",
        "nats://127.0.0.1:4222,nats://127.0.0.1:4223",
        "nats://127.0.0.1:1",
        "nats://127.0.0.1:65535",
    };
    snats_options *o = new_opts();
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snats_status s = snats_options_set_url(o, good[i]);
        if (s != SNATS_OK) FAIL("set_url(\"%s\") = %s (%s)", good[i], snats_status_text(s), snats_last_error());
    }
    snats_options_destroy(o);
}

static void opts_url_bad(void) {
    static const char *bad[] = {
        "",
        "http://127.0.0.1:4222",       /* bad scheme */
        "ftp://host",                  /* bad scheme */
        "nats://127.0.0.1:99999",      /* port out of range */
        "nats://127.0.0.1:-1",         /* negative port */
        "nats://127.0.0.1:abc",        /* not a number */
        "127.0.0.1:65536",             /* port out of range */
        "nats://127.0.0.1:4222,http://x:1", /* one bad URL in the list */
    };
    snats_options *o = new_opts();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snats_status s = snats_options_set_url(o, bad[i]);
        if (s != SNATS_INVALID_ARG)
            FAIL("set_url(\"%s\") = %s, expected SNATS_INVALID_ARG", bad[i], snats_status_text(s));
        CHECK(strlen(snats_last_error()) > 0);
    }
    CHECK_STATUS(snats_options_set_url(o, NULL), SNATS_INVALID_ARG);
    snats_options_destroy(o);
}

static void opts_servers_bad(void) {
    snats_options *o = new_opts();
    const char *one[] = {"nats://127.0.0.1:4222"};
    const char *with_bad[] = {"nats://127.0.0.1:4222", "http://127.0.0.1:4222"};
    const char *with_null[] = {"nats://127.0.0.1:4222", NULL};
    CHECK_STATUS(snats_options_set_servers(o, NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_servers(o, one, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_servers(o, one, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_servers(o, with_bad, 2), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_servers(o, with_null, 2), SNATS_INVALID_ARG);
    CHECK_OK(snats_options_set_servers(o, one, 1));
    snats_options_destroy(o);
}

/* connect copies the options: destroying them right after does not affect the connection. */
static void opts_copied_by_connect(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = new_opts();
    char *url = strdup(srv.url);
    CHECK_OK(snats_options_set_url(o, url));
    memset(url, 'x', strlen(url)); /* the URL string was copied too */
    free(url);
    CHECK_OK(snats_options_set_name(o, "copied"));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* set_servers: tried in order; an unreachable first server is skipped. */
static void opts_servers_tried_in_order(void) {
    test_server srv;
    server_start(&srv);
    char dead[64];
    snprintf(dead, sizeof dead, "nats://127.0.0.1:%d", harness_free_port());
    const char *urls[] = {dead, srv.url};
    snats_options *o = new_opts();
    CHECK_OK(snats_options_set_servers(o, urls, 2));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    char buf[256];
    CHECK_OK(snats_conn_get_connected_url(buf, sizeof buf, c));
    char port[16];
    snprintf(port, sizeof port, ":%d", srv.port);
    if (strstr(buf, port) == NULL) FAIL("connected to %s, expected port %d", buf, srv.port);
    snats_conn_destroy(c);

    /* Same with a comma-separated list through set_url. */
    char list[256];
    snprintf(list, sizeof list, "%s,%s", dead, srv.url);
    CHECK_OK(snats_options_set_url(o, list));
    CHECK_OK(snats_conn_connect(&c, o));
    CHECK_OK(snats_conn_get_connected_url(buf, sizeof buf, c));
    if (strstr(buf, port) == NULL) FAIL("connected to %s, expected port %d", buf, srv.port);
    snats_conn_destroy(c);
    snats_options_destroy(o);
    server_stop(&srv);
}

/* A bare host:port (no scheme) connects. */
static void opts_bare_host_port_connects(void) {
    test_server srv;
    server_start(&srv);
    char bare[64];
    snprintf(bare, sizeof bare, "127.0.0.1:%d", srv.port);
    snats_options *o = new_opts();
    CHECK_OK(snats_options_set_url(o, bare));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_conn_destroy(c);
    snats_options_destroy(o);
    server_stop(&srv);
}

/* The inbox prefix option shows in new inboxes. */
static void opts_inbox_prefix_used(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = new_opts();
    CHECK_OK(snats_options_set_url(o, srv.url));
    CHECK_OK(snats_options_set_inbox_prefix(o, "_MY.PREFIX"));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    char inbox[128];
    CHECK_OK(snats_conn_new_inbox(inbox, sizeof inbox, c));
    if (strncmp(inbox, "_MY.PREFIX.", 11) != 0) FAIL("inbox \"%s\" lacks the prefix", inbox);
    snats_conn_destroy(c);
    snats_options_destroy(o);
    server_stop(&srv);
}

/* verbose and pedantic connections work normally (the server's +OK are absorbed). */
static void opts_verbose_pedantic_work(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = new_opts();
    CHECK_OK(snats_options_set_url(o, srv.url));
    CHECK_OK(snats_options_set_verbose(o, true));
    CHECK_OK(snats_options_set_pedantic(o, true));
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "verbose.test"));
    CHECK_OK(snats_publish(c, "verbose.test", "hi", 2));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "hi");
    snats_msg_release(m);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    snats_options_destroy(o);
    server_stop(&srv);
}

const test_case options_tests[] = {
    TEST(opts_create_destroy),
    TEST(opts_setters_null_opts),
    TEST(opts_setters_good_values),
    TEST(opts_setters_bad_values),
    TEST(opts_url_good),
    TEST(opts_url_bad),
    TEST(opts_servers_bad),
    TEST(opts_copied_by_connect),
    TEST(opts_servers_tried_in_order),
    TEST(opts_bare_host_port_connects),
    TEST(opts_inbox_prefix_used),
    TEST(opts_verbose_pedantic_work),
};
HARNESS_TABLE_COUNT(options);
