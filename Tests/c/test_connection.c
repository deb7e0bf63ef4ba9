/*
 * test_connection.c - Connection family: connect, handshake failures (with small fake
 * servers), auth, state, close, callbacks, publish checks, flush / rtt, stats, URLs, server
 * info, inboxes, max_payload, no_echo, drain, asynchronous errors.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------------------------
 * Event recorder for connection callbacks (one per test process).
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    atomic_int seq;
    atomic_int closed;
    atomic_int disconnected;
    atomic_int closed_seq;
    atomic_int disconnected_seq;
    snats_conn *_Atomic closed_conn;
    void *_Atomic closed_closure;
    atomic_int closed_saw_closed; /* snats_conn_is_closed() inside the closed callback */
    pthread_mutex_t mu;
    int errors;
    snats_status err_status;
    snats_sub *err_sub;
    char err_text[512];
} events;

static events g_ev = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void on_closed(snats_conn *conn, void *closure) {
    /* Any function but destroy may be called here. */
    if (snats_conn_is_closed(conn)) atomic_fetch_add(&g_ev.closed_saw_closed, 1);
    char url[128];
    (void)snats_conn_get_connected_url(url, sizeof url, conn);
    atomic_store(&g_ev.closed_conn, conn);
    atomic_store(&g_ev.closed_closure, closure);
    atomic_store(&g_ev.closed_seq, atomic_fetch_add(&g_ev.seq, 1) + 1);
    atomic_fetch_add(&g_ev.closed, 1);
}

static void on_disconnected(snats_conn *conn, void *closure) {
    (void)conn;
    (void)closure;
    atomic_store(&g_ev.disconnected_seq, atomic_fetch_add(&g_ev.seq, 1) + 1);
    atomic_fetch_add(&g_ev.disconnected, 1);
}

static void on_error(snats_conn *conn, snats_sub *sub, snats_status status, const char *text,
                     void *closure) {
    (void)conn;
    (void)closure;
    pthread_mutex_lock(&g_ev.mu);
    g_ev.errors++;
    g_ev.err_status = status;
    g_ev.err_sub = sub;
    snprintf(g_ev.err_text, sizeof g_ev.err_text, "%s", text ? text : "(null)");
    pthread_mutex_unlock(&g_ev.mu);
}

static int error_count(void) {
    pthread_mutex_lock(&g_ev.mu);
    int n = g_ev.errors;
    pthread_mutex_unlock(&g_ev.mu);
    return n;
}

static snats_options *opts_for(const char *url) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    CHECK_OK(snats_options_set_closed_cb(o, on_closed, &g_ev));
    CHECK_OK(snats_options_set_disconnected_cb(o, on_disconnected, &g_ev));
    CHECK_OK(snats_options_set_error_cb(o, on_error, &g_ev));
    return o;
}

static snats_conn *connect_opts_or_fail(snats_options *o) {
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    CHECK_NOT_NULL(c);
    return c;
}

/* ------------------------------------------------------------------------------------------
 * Connect
 * ---------------------------------------------------------------------------------------- */

static void conn_connect_state_close(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = opts_for(srv.url);
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);
    snats_conn_state st = SNATS_CONN_CLOSED;
    CHECK_OK(snats_conn_get_state(&st, c));
    CHECK_EQ_INT(st, SNATS_CONN_CONNECTED);
    CHECK(!snats_conn_is_closed(c));
    snats_conn_close(c);
    CHECK_OK(snats_conn_get_state(&st, c));
    CHECK_EQ_INT(st, SNATS_CONN_CLOSED);
    CHECK(snats_conn_is_closed(c));
    snats_conn_close(c); /* idempotent */
    snats_conn_close(c);
    CHECK(snats_conn_is_closed(c));
    snats_conn_destroy(c);
    snats_conn_destroy(NULL); /* no-op */
    snats_conn_close(NULL);   /* no-op */
    CHECK(snats_conn_is_closed(NULL));
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    server_stop(&srv);
}

static void conn_connect_to(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect_to(&c, srv.url));
    CHECK_NOT_NULL(c);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_conn_destroy(c);
    /* Destroy without an explicit close closes too. */
    server_stop(&srv);
}

static void conn_connect_null_and_bad_args(void) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_STATUS(snats_conn_connect(NULL, o), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_connect_to(NULL, "nats://127.0.0.1:1"), SNATS_INVALID_ARG);
    snats_conn *c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect_to(&c, "http://127.0.0.1:4222"), SNATS_INVALID_ARG);
    CHECK_NULL(c);
    c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect_to(&c, "nats://127.0.0.1:99999"), SNATS_INVALID_ARG);
    CHECK_NULL(c);
    snats_options_destroy(o);
    snats_conn_state st;
    CHECK_STATUS(snats_conn_get_state(&st, NULL), SNATS_INVALID_ARG);
}

static void conn_no_server(void) {
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", harness_free_port());
    snats_conn *c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect_to(&c, url), SNATS_NO_SERVER);
    CHECK_NULL(c);
    CHECK(strlen(snats_last_error()) > 0);
    /* Two dead servers through options. */
    char url2[64];
    snprintf(url2, sizeof url2, "nats://127.0.0.1:%d", harness_free_port());
    const char *urls[] = {url, url2};
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_servers(o, urls, 2));
    CHECK_OK(snats_options_set_connect_timeout(o, 500));
    c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_NO_SERVER);
    CHECK_NULL(c);
    snats_options_destroy(o);
}

static void conn_handshake_timeout(void) {
    fake_server f;
    fake_server_start(&f, FAKE_SILENT);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, f.url));
    CHECK_OK(snats_options_set_connect_timeout(o, harness_ms(300)));
    snats_conn *c = (snats_conn *)0x1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_TIMEOUT);
    int64_t el = harness_now_ms() - t0;
    CHECK_NULL(c);
    CHECK(atomic_load(&f.accepted) >= 1);
    if (el < 250) FAIL("connect gave up after %lld ms, before the 300 ms connect timeout", (long long)el);
    if (el > harness_ms(5000)) FAIL("connect took %lld ms with a 300 ms connect timeout", (long long)el);
    snats_options_destroy(o);
    fake_server_stop(&f);
}

static void conn_protocol_error_on_garbage(void) {
    fake_server f;
    fake_server_start(&f, FAKE_GARBAGE);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, f.url));
    CHECK_OK(snats_options_set_connect_timeout(o, harness_ms(2000)));
    snats_conn *c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_PROTOCOL_ERROR);
    CHECK_NULL(c);
    snats_options_destroy(o);
    fake_server_stop(&f);
}

static void conn_server_error_on_connect(void) {
    fake_server f;
    fake_server_start(&f, FAKE_ERR_ON_CONNECT);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, f.url));
    CHECK_OK(snats_options_set_connect_timeout(o, harness_ms(2000)));
    snats_conn *c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_SERVER_ERROR);
    CHECK_NULL(c);
    if (strcasestr(snats_last_error(), "Something Went Wrong") == NULL)
        FAIL("last error lacks the server's text: \"%s\"", snats_last_error());
    snats_options_destroy(o);
    fake_server_stop(&f);
}

/* ------------------------------------------------------------------------------------------
 * Auth
 * ---------------------------------------------------------------------------------------- */

static void conn_auth_user_password(void) {
    test_server srv;
    const char *args[] = {"--user", "alice", "--pass", "s3cret-pw", NULL};
    server_start_args(&srv, args);
    char url[256];

    /* In the URL. */
    snprintf(url, sizeof url, "nats://alice:s3cret-pw@127.0.0.1:%d", srv.port);
    snats_conn *c = connect_or_fail(url);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_conn_destroy(c);

    /* Through the options. */
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, srv.url));
    CHECK_OK(snats_options_set_user_info(o, "alice", "s3cret-pw"));
    c = connect_opts_or_fail(o);
    snats_conn_destroy(c);

    /* The URL's user info takes precedence over the options'. */
    CHECK_OK(snats_options_set_user_info(o, "alice", "wrong-pw-opts"));
    CHECK_OK(snats_options_set_url(o, url));
    c = connect_opts_or_fail(o);
    snats_conn_destroy(c);

    /* Wrong password: SNATS_AUTH_FAILED, and the password is not in the message. */
    CHECK_OK(snats_options_set_url(o, srv.url));
    CHECK_OK(snats_options_set_user_info(o, "alice", "Wr0ngPassw0rd"));
    c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_AUTH_FAILED);
    CHECK_NULL(c);
    if (strstr(snats_last_error(), "Wr0ngPassw0rd") != NULL)
        FAIL("last error shows the password: \"%s\"", snats_last_error());

    snprintf(url, sizeof url, "nats://alice:Wr0ngPassw0rd@127.0.0.1:%d", srv.port);
    c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect_to(&c, url), SNATS_AUTH_FAILED);
    CHECK_NULL(c);
    if (strstr(snats_last_error(), "Wr0ngPassw0rd") != NULL)
        FAIL("last error shows the password: \"%s\"", snats_last_error());

    /* No credentials at all. */
    c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect_to(&c, srv.url), SNATS_AUTH_FAILED);
    CHECK_NULL(c);
    snats_options_destroy(o);
    server_stop(&srv);
}

static void conn_auth_token(void) {
    test_server srv;
    const char *args[] = {"--auth", "tok-123-secret", NULL};
    server_start_args(&srv, args);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, srv.url));
    CHECK_OK(snats_options_set_token(o, "tok-123-secret"));
    snats_conn *c = connect_opts_or_fail(o);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_conn_destroy(c);

    CHECK_OK(snats_options_set_token(o, "tok-wrong-one"));
    c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_AUTH_FAILED);
    CHECK_NULL(c);
    if (strstr(snats_last_error(), "tok-wrong-one") != NULL)
        FAIL("last error shows the token: \"%s\"", snats_last_error());

    CHECK_OK(snats_options_set_token(o, NULL)); /* cleared */
    c = (snats_conn *)0x1;
    CHECK_STATUS(snats_conn_connect(&c, o), SNATS_AUTH_FAILED);
    CHECK_NULL(c);
    snats_options_destroy(o);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * URL, server info, max payload, inbox
 * ---------------------------------------------------------------------------------------- */

static void conn_connected_url_buffer(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    char buf[256];
    CHECK_OK(snats_conn_get_connected_url(buf, sizeof buf, c));
    char port[16];
    snprintf(port, sizeof port, ":%d", srv.port);
    if (strstr(buf, "127.0.0.1") == NULL || strstr(buf, port) == NULL)
        FAIL("connected url \"%s\" is not the server's %s", buf, srv.url);
    size_t len = strlen(buf);

    /* Exactly enough room (with the NUL). */
    char exact[256];
    CHECK_OK(snats_conn_get_connected_url(exact, len + 1, c));
    CHECK_EQ_STR(exact, buf);

    /* One byte short: SNATS_BUFFER_TOO_SMALL, nothing copied. */
    char small[256];
    memset(small, '#', sizeof small);
    CHECK_STATUS(snats_conn_get_connected_url(small, len, c), SNATS_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < sizeof small; i++)
        if (small[i] != '#') FAIL("byte %zu of a too-small buffer was written", i);
    CHECK_STATUS(snats_conn_get_connected_url(small, 0, c), SNATS_BUFFER_TOO_SMALL);
    CHECK_STATUS(snats_conn_get_connected_url(small, 1, c), SNATS_BUFFER_TOO_SMALL);

    CHECK_STATUS(snats_conn_get_connected_url(NULL, sizeof buf, c), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_get_connected_url(buf, sizeof buf, NULL), SNATS_INVALID_ARG);

    snats_conn_close(c);
    CHECK_STATUS(snats_conn_get_connected_url(buf, sizeof buf, c), SNATS_NOT_CONNECTED);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void conn_connected_url_hides_credentials(void) {
    test_server srv;
    const char *args[] = {"--user", "bob", "--pass", "hunter2-xyz", NULL};
    server_start_args(&srv, args);
    char url[256];
    snprintf(url, sizeof url, "nats://bob:hunter2-xyz@127.0.0.1:%d", srv.port);
    snats_conn *c = connect_or_fail(url);
    char buf[256];
    CHECK_OK(snats_conn_get_connected_url(buf, sizeof buf, c));
    if (strstr(buf, "hunter2-xyz") != NULL || strstr(buf, "bob") != NULL || strchr(buf, '@') != NULL)
        FAIL("connected url shows credentials: \"%s\"", buf);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void conn_server_info(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    json_t *info = NULL;
    CHECK_OK(snats_conn_get_server_info(&info, c));
    CHECK_NOT_NULL(info);
    CHECK(json_is_object(info));
    const char *id = json_string_value(json_object_get(info, "server_id"));
    CHECK_NOT_NULL(id);
    CHECK(strlen(id) > 0);
    CHECK(json_is_integer(json_object_get(info, "max_payload")));
    int64_t mp = 0;
    CHECK_OK(snats_conn_get_max_payload(&mp, c));
    CHECK_EQ_INT(mp, json_integer_value(json_object_get(info, "max_payload")));
    CHECK_EQ_INT(mp, 1048576); /* nats-server's default */
    CHECK(json_is_string(json_object_get(info, "version")));

    /* A new reference each time, owned by the caller. */
    json_t *info2 = NULL;
    CHECK_OK(snats_conn_get_server_info(&info2, c));
    json_decref(info2);
    json_decref(info);

    info = (json_t *)0x1;
    CHECK_STATUS(snats_conn_get_server_info(&info, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(info);
    CHECK_STATUS(snats_conn_get_server_info(NULL, c), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_get_max_payload(NULL, c), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_get_max_payload(&mp, NULL), SNATS_INVALID_ARG);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static const char *MAX_PAYLOAD_CONF = "max_payload: 1024\n";

static void conn_max_payload(void) {
    test_server srv;
    server_start_config(&srv, MAX_PAYLOAD_CONF);
    snats_conn *c = connect_or_fail(srv.url);
    int64_t mp = 0;
    CHECK_OK(snats_conn_get_max_payload(&mp, c));
    CHECK_EQ_INT(mp, 1024);
    char payload[2048];
    memset(payload, 'p', sizeof payload);

    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "big"));
    CHECK_OK(snats_publish(c, "big", payload, 1024));
    CHECK_STATUS(snats_publish(c, "big", payload, 1025), SNATS_MAX_PAYLOAD);
    CHECK(strlen(snats_last_error()) > 0);
    CHECK_STATUS(snats_publish_request(c, "big", "reply.x", payload, 2048), SNATS_MAX_PAYLOAD);

    /* Headers count too: 1000 bytes of payload + a 100-byte header value > 1024. */
    snats_headers *h = NULL;
    CHECK_OK(snats_headers_create(&h));
    char value[101];
    memset(value, 'v', 100);
    value[100] = '\0';
    CHECK_OK(snats_headers_set(h, "Big-Header", value));
    CHECK_STATUS(snats_publish_msg(c, "big", NULL, h, payload, 1000), SNATS_MAX_PAYLOAD);
    CHECK_OK(snats_publish_msg(c, "big", NULL, h, payload, 100));

    snats_msg *reply = (snats_msg *)0x1;
    CHECK_STATUS(snats_request(&reply, c, "big", payload, 1025, harness_ms(1000)), SNATS_MAX_PAYLOAD);
    CHECK_NULL(reply);
    reply = (snats_msg *)0x1;
    CHECK_STATUS(snats_request_msg(&reply, c, "big", h, payload, 1000, harness_ms(1000)), SNATS_MAX_PAYLOAD);
    CHECK_NULL(reply);

    /* The connection is still fine: the 1024-byte and the header message arrive. */
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_data_len(m), 1024);
    snats_msg_release(m);
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_data_len(m), 100);
    snats_msg_release(m);

    /* msg_respond is bounded the same way. */
    CHECK_OK(snats_publish_request(c, "big", "big.reply", "q", 1));
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_STATUS(snats_msg_respond(m, payload, 1025), SNATS_MAX_PAYLOAD);
    snats_msg_release(m);

    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_headers_destroy(h);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void conn_new_inbox(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    char a[64], b[64];
    CHECK_OK(snats_conn_new_inbox(a, sizeof a, c));
    CHECK_OK(snats_conn_new_inbox(b, sizeof b, c));
    if (strncmp(a, "_INBOX.", 7) != 0) FAIL("inbox \"%s\" does not start with _INBOX.", a);
    CHECK(strcmp(a, b) != 0);
    CHECK(strpbrk(a, " *>\t") == NULL);
    /* Usable as a subject. */
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, a));
    CHECK_OK(snats_publish(c, a, "x", 1));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_STR(snats_msg_subject(m), a);
    snats_msg_release(m);
    snats_sub_destroy(sub);

    /* Too small: exactly strlen is one short. */
    char small[64];
    CHECK_STATUS(snats_conn_new_inbox(small, strlen(a), c), SNATS_BUFFER_TOO_SMALL);
    CHECK_STATUS(snats_conn_new_inbox(small, 8, c), SNATS_BUFFER_TOO_SMALL);
    CHECK_STATUS(snats_conn_new_inbox(small, 0, c), SNATS_BUFFER_TOO_SMALL);
    CHECK_OK(snats_conn_new_inbox(small, strlen(a) + 1, c));
    CHECK_STATUS(snats_conn_new_inbox(NULL, 64, c), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_new_inbox(small, sizeof small, NULL), SNATS_INVALID_ARG);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Publish checks
 * ---------------------------------------------------------------------------------------- */

static const char *BAD_SUBJECTS[] = {"", "a..b", "a b", ".a", "a.", "a\tb", "a.*", "a.>", "*", ">", "a\r\nb"};

static void conn_publish_invalid_subject(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    for (size_t i = 0; i < sizeof BAD_SUBJECTS / sizeof BAD_SUBJECTS[0]; i++) {
        const char *s = BAD_SUBJECTS[i];
        snats_status st = snats_publish(c, s, "x", 1);
        if (st != SNATS_INVALID_SUBJECT) FAIL("publish(\"%s\") = %s", s, snats_status_text(st));
        st = snats_publish_request(c, s, "reply", "x", 1);
        if (st != SNATS_INVALID_SUBJECT) FAIL("publish_request(\"%s\") = %s", s, snats_status_text(st));
        st = snats_publish_request(c, "good", s, "x", 1);
        if (st != SNATS_INVALID_SUBJECT) FAIL("publish_request(reply \"%s\") = %s", s, snats_status_text(st));
        st = snats_publish_msg(c, s, NULL, NULL, "x", 1);
        if (st != SNATS_INVALID_SUBJECT) FAIL("publish_msg(\"%s\") = %s", s, snats_status_text(st));
    }
    /* The connection is unharmed. */
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void conn_publish_null_args(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    CHECK_STATUS(snats_publish(NULL, "a", "x", 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_publish(c, NULL, "x", 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_publish(c, "a", NULL, 5), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_publish_request(c, "a", "r", NULL, 5), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_publish_msg(c, "a", NULL, NULL, NULL, 5), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_publish_request(NULL, "a", "r", "x", 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_publish_msg(NULL, "a", NULL, NULL, "x", 1), SNATS_INVALID_ARG);
    /* NULL data with len 0 is fine, and an empty message arrives. */
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "empty"));
    CHECK_OK(snats_publish(c, "empty", NULL, 0));
    CHECK_OK(snats_publish_request(c, "empty", NULL, NULL, 0)); /* NULL reply: none */
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_EQ_INT(snats_msg_data_len(m), 0);
    CHECK_NULL(snats_msg_reply(m));
    snats_msg_release(m);
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
    CHECK_NULL(snats_msg_reply(m));
    snats_msg_release(m);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Packed publish: records of four native uint32 lengths, then subject, reply, header block and
 * payload bytes
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    unsigned char bytes[8192];
    size_t len;
} packed_records;

static void pack_record(packed_records *p, const char *subject, const char *reply, const char *header,
                        const void *payload, size_t payload_len) {
    uint32_t lengths[4] = {(uint32_t)strlen(subject), reply ? (uint32_t)strlen(reply) : 0,
                           header ? (uint32_t)strlen(header) : 0, (uint32_t)payload_len};
    size_t need = sizeof lengths + lengths[0] + lengths[1] + lengths[2] + lengths[3];
    if (p->len + need > sizeof p->bytes) {
        FAIL("packed_records is full");
        return;
    }
    memcpy(p->bytes + p->len, lengths, sizeof lengths);
    p->len += sizeof lengths;
    const void *parts[4] = {subject, reply, header, payload};
    for (int i = 0; i < 4; i++) {
        if (lengths[i] == 0) continue;
        memcpy(p->bytes + p->len, parts[i], lengths[i]);
        p->len += lengths[i];
    }
}

static void conn_publish_packed(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "packed.>"));
    packed_records p = {.len = 0};
    pack_record(&p, "packed.a", NULL, NULL, "one", 3);
    pack_record(&p, "packed.a", "packed.reply", NULL, "two", 3);
    pack_record(&p, "packed.b", NULL, "NATS/1.0\r\nK: v\r\n\r\n", "three", 5);
    pack_record(&p, "packed.b", NULL, NULL, NULL, 0);
    size_t published = 99;
    CHECK_OK(snats_publish_packed(&published, c, p.bytes, p.len));
    CHECK_EQ_INT(published, 4);

    const char *subjects[] = {"packed.a", "packed.a", "packed.b", "packed.b"};
    const char *payloads[] = {"one", "two", "three", ""};
    for (int i = 0; i < 4; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        if (m == NULL) break;
        CHECK_EQ_STR(snats_msg_subject(m), subjects[i]);
        CHECK_EQ_INT(snats_msg_data_len(m), strlen(payloads[i]));
        if (snats_msg_data_len(m) > 0) CHECK(memcmp(snats_msg_data(m), payloads[i], strlen(payloads[i])) == 0);
        if (i == 1) CHECK_EQ_STR(snats_msg_reply(m), "packed.reply");
        if (i == 2) {
            const char *value = NULL;
            CHECK_OK(snats_headers_get(&value, snats_msg_headers(m), "K"));
            CHECK_EQ_STR(value, "v");
        }
        snats_msg_release(m);
    }
    uint64_t in_msgs = 0, in_bytes = 0, out_msgs = 0, out_bytes = 0;
    CHECK_OK(snats_conn_get_stats(&in_msgs, &in_bytes, &out_msgs, &out_bytes, c));
    CHECK_EQ_INT(out_msgs, 4);
    CHECK_EQ_INT(out_bytes, 11);

    /* Nothing to publish is fine; the count is optional. */
    CHECK_OK(snats_publish_packed(&published, c, NULL, 0));
    CHECK_EQ_INT(published, 0);
    CHECK_OK(snats_publish_packed(NULL, c, p.bytes, p.len));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* A bad record ends the call: those before it are published, it and those after are not. */
static void conn_publish_packed_stops_at_bad_record(void) {
    test_server srv;
    server_start_config(&srv, MAX_PAYLOAD_CONF);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "pk"));
    char big[1025];
    memset(big, 'b', sizeof big);

    struct {
        const char *subject, *reply, *header;
        size_t payload_len;
        snats_status expected;
    } bad[] = {
        {"bad subject", NULL, NULL, 1, SNATS_INVALID_SUBJECT},
        {"pk.*", NULL, NULL, 1, SNATS_INVALID_SUBJECT},
        {"", NULL, NULL, 1, SNATS_INVALID_SUBJECT},
        {"pk", "bad reply", NULL, 1, SNATS_INVALID_SUBJECT},
        {"pk", NULL, "K: v\r\n\r\n", 1, SNATS_INVALID_ARG},
        {"pk", NULL, "NATS/1.0\r\nK: v", 1, SNATS_INVALID_ARG},
        {"pk", NULL, NULL, 1025, SNATS_MAX_PAYLOAD},
    };
    int sent = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        packed_records p = {.len = 0};
        pack_record(&p, "pk", NULL, NULL, "before", 6);
        pack_record(&p, bad[i].subject, bad[i].reply, bad[i].header, big, bad[i].payload_len);
        pack_record(&p, "pk", NULL, NULL, "after", 5);
        size_t published = 99;
        snats_status st = snats_publish_packed(&published, c, p.bytes, p.len);
        if (st != bad[i].expected)
            FAIL("bad record %zu: %s, expected %s", i, snats_status_text(st), snats_status_text(bad[i].expected));
        CHECK_EQ_INT(published, 1);
        CHECK(strlen(snats_last_error()) > 0);
        sent++;
    }

    /* Cut short: in the lengths, and in the bytes the lengths announce. */
    packed_records p = {.len = 0};
    pack_record(&p, "pk", NULL, NULL, "before", 6);
    pack_record(&p, "pk", NULL, NULL, "whole", 5);
    size_t published = 99;
    CHECK_STATUS(snats_publish_packed(&published, c, p.bytes, p.len - 1), SNATS_INVALID_ARG);
    CHECK_EQ_INT(published, 1);
    CHECK_STATUS(snats_publish_packed(&published, c, p.bytes, 16 + 2 + 6 + 3), SNATS_INVALID_ARG);
    CHECK_EQ_INT(published, 1);
    sent += 2;

    /* Only the records before each bad one arrived. */
    for (int i = 0; i < sent; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        if (m == NULL) break;
        CHECK_EQ_INT(snats_msg_data_len(m), 6);
        snats_msg_release(m);
    }
    snats_msg *extra = NULL;
    CHECK_STATUS(snats_sub_next_msg(&extra, sub, harness_ms(300)), SNATS_TIMEOUT);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void conn_publish_packed_bad_args(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    packed_records p = {.len = 0};
    pack_record(&p, "pk", NULL, NULL, "x", 1);
    size_t published = 99;
    CHECK_STATUS(snats_publish_packed(&published, NULL, p.bytes, p.len), SNATS_INVALID_ARG);
    CHECK_EQ_INT(published, 0);
    CHECK_STATUS(snats_publish_packed(&published, c, NULL, p.len), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_publish_packed(&published, c, p.bytes, 3), SNATS_INVALID_ARG);
    snats_conn_close(c);
    CHECK_STATUS(snats_publish_packed(&published, c, p.bytes, p.len), SNATS_CONNECTION_CLOSED);
    CHECK_EQ_INT(published, 0);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void conn_calls_after_close(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_conn_close(c);
    CHECK_STATUS(snats_publish(c, "a", "x", 1), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_publish_request(c, "a", "r", "x", 1), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_publish_msg(c, "a", NULL, NULL, "x", 1), SNATS_CONNECTION_CLOSED);
    CHECK_STATUS(snats_conn_flush(c, 1000), SNATS_CONNECTION_CLOSED);
    int64_t rtt = 99;
    CHECK_STATUS(snats_conn_rtt(&rtt, c, 1000), SNATS_CONNECTION_CLOSED);
    CHECK_EQ_INT(rtt, 0);
    snats_msg *m = (snats_msg *)0x1;
    CHECK_STATUS(snats_request(&m, c, "a", "x", 1, 1000), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(m);
    snats_sub *sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_subscribe_sync(&sub, c, "a"), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(sub);
    CHECK_STATUS(snats_conn_drain(c, 1000), SNATS_CONNECTION_CLOSED);
    /* Reads still work on a closed connection. */
    uint64_t n = 1;
    CHECK_OK(snats_conn_get_stats(&n, NULL, NULL, NULL, c));
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Flush, rtt, stats
 * ---------------------------------------------------------------------------------------- */

static void conn_flush_and_rtt(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_STATUS(snats_conn_flush(c, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_flush(c, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_flush(NULL, 1000), SNATS_INVALID_ARG);
    int64_t rtt = -1;
    CHECK_OK(snats_conn_rtt(&rtt, c, harness_ms(5000)));
    if (rtt <= 0 || rtt > harness_ms(5000) * 1000) FAIL("rtt %lld us is not plausible", (long long)rtt);
    rtt = 7;
    CHECK_STATUS(snats_conn_rtt(&rtt, c, 0), SNATS_INVALID_ARG);
    CHECK_EQ_INT(rtt, 0);
    CHECK_STATUS(snats_conn_rtt(NULL, c, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_rtt(&rtt, NULL, 1000), SNATS_INVALID_ARG);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void conn_flush_timeout_without_pong(void) {
    fake_server f;
    fake_server_start(&f, FAKE_NO_PONG);
    snats_conn *c = connect_or_fail(f.url);
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_conn_flush(c, 300), SNATS_TIMEOUT);
    int64_t el = harness_now_ms() - t0;
    if (el < 250) FAIL("flush timed out after %lld ms, before 300 ms", (long long)el);
    int64_t rtt = 5;
    CHECK_STATUS(snats_conn_rtt(&rtt, c, 200), SNATS_TIMEOUT);
    CHECK_EQ_INT(rtt, 0);
    snats_conn_destroy(c);
    fake_server_stop(&f);
}

typedef struct {
    snats_conn *conn;
    atomic_int started;
    _Atomic snats_status status;
} flush_waiter;

static void *flush_thread(void *arg) {
    flush_waiter *w = arg;
    atomic_store(&w->started, 1);
    atomic_store(&w->status, snats_conn_flush(w->conn, harness_ms(20000)));
    return NULL;
}

/* Close fails a waiting flush with SNATS_CONNECTION_CLOSED, promptly. */
static void conn_close_fails_waiting_flush(void) {
    fake_server f;
    fake_server_start(&f, FAKE_NO_PONG);
    snats_conn *c = connect_or_fail(f.url);
    flush_waiter w = {.conn = c, .status = SNATS_ERR};
    pthread_t t;
    harness_spawn(&t, flush_thread, &w);
    CHECK_EVENTUALLY(atomic_load(&w.started) == 1, 5000);
    harness_sleep_ms(100); /* let it reach the wait; the status is the same either way */
    int64_t t0 = harness_now_ms();
    snats_conn_close(c);
    harness_join(t);
    if (harness_now_ms() - t0 > harness_ms(5000)) FAIL("flush did not end promptly on close");
    CHECK_EQ_INT(atomic_load(&w.status), SNATS_CONNECTION_CLOSED);
    snats_conn_destroy(c);
    fake_server_stop(&f);
}

static void conn_stats_exact(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_conn *p = connect_or_fail(srv.url);
    uint64_t im = 9, ib = 9, om = 9, ob = 9;
    CHECK_OK(snats_conn_get_stats(&im, &ib, &om, &ob, c));
    CHECK_EQ_INT(im, 0);
    CHECK_EQ_INT(ib, 0);
    CHECK_EQ_INT(om, 0);
    CHECK_EQ_INT(ob, 0);

    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "stats.x"));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    /* c publishes 1+2+3+4+5 = 15 bytes to itself (echo); p publishes 10+20 = 30 bytes. */
    const char *data = "0123456789012345678901234567890";
    for (size_t n = 1; n <= 5; n++) CHECK_OK(snats_publish(c, "stats.x", data, n));
    CHECK_OK(snats_publish(p, "stats.x", data, 10));
    CHECK_OK(snats_publish(p, "stats.x", data, 20));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));
    for (int i = 0; i < 7; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        snats_msg_release(m);
    }
    CHECK_OK(snats_conn_get_stats(&im, &ib, &om, &ob, c));
    CHECK_EQ_INT(im, 7);
    CHECK_EQ_INT(ib, 45);
    CHECK_EQ_INT(om, 5);
    CHECK_EQ_INT(ob, 15);
    CHECK_OK(snats_conn_get_stats(&im, &ib, &om, &ob, p));
    CHECK_EQ_INT(im, 0);
    CHECK_EQ_INT(ib, 0);
    CHECK_EQ_INT(om, 2);
    CHECK_EQ_INT(ob, 30);
    /* Any out-pointer may be NULL. */
    CHECK_OK(snats_conn_get_stats(NULL, NULL, NULL, NULL, c));
    CHECK_OK(snats_conn_get_stats(NULL, NULL, &om, NULL, c));
    CHECK_EQ_INT(om, 5);
    CHECK_STATUS(snats_conn_get_stats(&im, &ib, &om, &ob, NULL), SNATS_INVALID_ARG);
    snats_sub_destroy(sub);
    snats_conn_destroy(p);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Callbacks
 * ---------------------------------------------------------------------------------------- */

static void conn_closed_cb_exactly_once(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = opts_for(srv.url);
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 0);
    snats_conn_close(c);
    /* Runs before snats_conn_close() returns. */
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    CHECK(atomic_load(&g_ev.closed_conn) == c);
    CHECK(atomic_load(&g_ev.closed_closure) == &g_ev);
    CHECK_EQ_INT(atomic_load(&g_ev.closed_saw_closed), 1);
    snats_conn_close(c);
    snats_conn_destroy(c);
    harness_sleep_ms(200); /* to show no second call comes later */
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    /* An application close is not a disconnection by the server. */
    CHECK_EQ_INT(atomic_load(&g_ev.disconnected), 0);
    server_stop(&srv);
}

static void conn_closed_cb_on_destroy(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = opts_for(srv.url);
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);
    snats_conn_destroy(c); /* closes first */
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    server_stop(&srv);
}

static void conn_server_killed_callbacks(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_allow_reconnect(o, false)); /* losing the server closes */
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);
    server_kill(&srv);
    CHECK_EVENTUALLY(atomic_load(&g_ev.closed) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&g_ev.disconnected), 1);
    /* disconnected before closed */
    CHECK(atomic_load(&g_ev.disconnected_seq) < atomic_load(&g_ev.closed_seq));
    CHECK(snats_conn_is_closed(c));
    snats_conn_state st;
    CHECK_OK(snats_conn_get_state(&st, c));
    CHECK_EQ_INT(st, SNATS_CONN_CLOSED);
    CHECK_STATUS(snats_publish(c, "a", "x", 1), SNATS_CONNECTION_CLOSED);
    snats_conn_close(c);
    snats_conn_destroy(c);
    harness_sleep_ms(100); /* no second closed callback */
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    CHECK_EQ_INT(atomic_load(&g_ev.disconnected), 1);
}

static void conn_server_stopped_callbacks(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_allow_reconnect(o, false)); /* losing the server closes */
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);
    server_stop(&srv); /* a graceful shutdown this time */
    CHECK_EVENTUALLY(atomic_load(&g_ev.closed) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&g_ev.disconnected), 1);
    CHECK(atomic_load(&g_ev.disconnected_seq) < atomic_load(&g_ev.closed_seq));
    snats_conn_destroy(c);
}

/* No PONG to keep-alive PINGs: the connection goes stale and is closed. */
static void conn_stale_connection_closes(void) {
    fake_server f;
    fake_server_start(&f, FAKE_NO_PONG);
    snats_options *o = opts_for(f.url);
    CHECK_OK(snats_options_set_ping_interval(o, 100));
    CHECK_OK(snats_options_set_max_pings_out(o, 2));
    CHECK_OK(snats_options_set_allow_reconnect(o, false)); /* losing the server closes */
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);
    CHECK_EVENTUALLY(atomic_load(&g_ev.closed) == 1, 10000);
    CHECK(snats_conn_is_closed(c));
    CHECK_STATUS(snats_publish(c, "a", "x", 1), SNATS_CONNECTION_CLOSED);
    snats_conn_destroy(c);
    fake_server_stop(&f);
}

static void conn_async_server_error(void) {
    fake_server f;
    fake_server_start(&f, FAKE_ERR_AFTER);
    snats_options *o = opts_for(f.url);
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);
    CHECK_EVENTUALLY(error_count() >= 1, 10000);
    pthread_mutex_lock(&g_ev.mu);
    snats_status st = g_ev.err_status;
    char text[512];
    snprintf(text, sizeof text, "%s", g_ev.err_text);
    snats_sub *sub = g_ev.err_sub;
    pthread_mutex_unlock(&g_ev.mu);
    CHECK_EQ_INT(st, SNATS_SERVER_ERROR);
    CHECK_NULL(sub);
    if (strstr(text, "Some Server Trouble") == NULL) FAIL("error text \"%s\" lacks the server's", text);
    snats_conn_destroy(c);
    fake_server_stop(&f);
}

static const char *PERMS_CONF =
    "authorization {\n"
    "  users = [\n"
    "    {user: limited, password: pw, permissions: {\n"
    "      publish: {deny: [\"secret.>\"]},\n"
    "      subscribe: {deny: [\"hidden.>\"]}\n"
    "    }}\n"
    "  ]\n"
    "}\n";

static void conn_permission_violation(void) {
    test_server srv;
    server_start_config(&srv, PERMS_CONF);
    char url[128];
    snprintf(url, sizeof url, "nats://limited:pw@127.0.0.1:%d", srv.port);
    snats_options *o = opts_for(url);
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);

    /* A denied publish: reported asynchronously, the connection stays up. */
    CHECK_OK(snats_publish(c, "secret.plans", "x", 1));
    CHECK_EVENTUALLY(error_count() >= 1, 10000);
    pthread_mutex_lock(&g_ev.mu);
    snats_status st = g_ev.err_status;
    char text[512];
    snprintf(text, sizeof text, "%s", g_ev.err_text);
    pthread_mutex_unlock(&g_ev.mu);
    CHECK_EQ_INT(st, SNATS_PERMISSION_VIOLATION);
    if (strstr(text, "secret.plans") == NULL) FAIL("error text \"%s\" lacks the subject", text);
    CHECK(!snats_conn_is_closed(c));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));

    /* A denied subscribe: reported too. */
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "hidden.stuff"));
    CHECK_EVENTUALLY(error_count() >= 2, 10000);
    pthread_mutex_lock(&g_ev.mu);
    st = g_ev.err_status;
    snprintf(text, sizeof text, "%s", g_ev.err_text);
    pthread_mutex_unlock(&g_ev.mu);
    CHECK_EQ_INT(st, SNATS_PERMISSION_VIOLATION);
    if (strstr(text, "hidden.stuff") == NULL) FAIL("error text \"%s\" lacks the subject", text);
    CHECK(!snats_conn_is_closed(c));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    CHECK_EQ_INT(atomic_load(&g_ev.disconnected), 0);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * no_echo
 * ---------------------------------------------------------------------------------------- */

static void conn_no_echo(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, srv.url));
    CHECK_OK(snats_options_set_no_echo(o, true));
    snats_conn *quiet = connect_opts_or_fail(o);
    snats_options_destroy(o);
    snats_conn *other = connect_or_fail(srv.url);

    snats_sub *own = NULL, *theirs = NULL;
    CHECK_OK(snats_subscribe_sync(&own, quiet, "echo.x"));
    CHECK_OK(snats_subscribe_sync(&theirs, other, "echo.x"));
    CHECK_OK(snats_conn_flush(quiet, harness_ms(5000)));
    CHECK_OK(snats_conn_flush(other, harness_ms(5000)));
    CHECK_OK(snats_publish(quiet, "echo.x", "from-quiet", 10));
    CHECK_OK(snats_conn_flush(quiet, harness_ms(5000)));

    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, theirs, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "from-quiet");
    snats_msg_release(m);
    CHECK_STATUS(snats_sub_next_msg(&m, own, 300), SNATS_TIMEOUT); /* not echoed */
    CHECK_NULL(m);

    /* Messages from the other connection do reach the no-echo one. */
    CHECK_OK(snats_publish(other, "echo.x", "from-other", 10));
    CHECK_OK(snats_sub_next_msg(&m, own, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "from-other");
    snats_msg_release(m);
    /* Default echo: the other connection gets its own message. */
    CHECK_OK(snats_sub_next_msg(&m, theirs, harness_ms(5000)));
    CHECK_EQ_STR((const char *)snats_msg_data(m), "from-other");
    snats_msg_release(m);

    snats_sub_destroy(own);
    snats_sub_destroy(theirs);
    snats_conn_destroy(quiet);
    snats_conn_destroy(other);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Drain
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    atomic_int delivered;
    atomic_int entered;
    atomic_bool release;
    int sleep_ms;
    bool tolerate_closed; /* the connection may be closed when the callback publishes */
} drain_ctx;

static void drain_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    drain_ctx *d = closure;
    atomic_fetch_add(&d->entered, 1);
    /* Held until released, or at most 3 s (times SNATS_TEST_SLOW) so that a library that waits for it cannot hang. */
    int64_t until = harness_now_ms() + harness_ms(3000);
    while (!atomic_load(&d->release) && harness_now_ms() < until) harness_sleep_ms(2);
    if (d->sleep_ms) harness_sleep_ms(d->sleep_ms);
    /* Publishing is allowed during the drain. */
    snats_status s = snats_publish(conn, "drain.out", snats_msg_data(msg), snats_msg_data_len(msg));
    if (s != SNATS_OK && !(d->tolerate_closed && s == SNATS_CONNECTION_CLOSED))
        FAIL("publish during drain: %s", snats_status_text(s));
    atomic_fetch_add(&d->delivered, 1);
}

static void count_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    atomic_fetch_add((atomic_int *)closure, 1);
}

static void conn_drain_delivers_queued(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = opts_for(srv.url);
    snats_conn *c = connect_opts_or_fail(o);
    snats_options_destroy(o);
    snats_conn *p = connect_or_fail(srv.url);
    atomic_int outs = 0;
    snats_sub *out_sub = NULL;
    CHECK_OK(snats_subscribe(&out_sub, p, "drain.out", count_cb, &outs));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));

    drain_ctx d = {.sleep_ms = 10};
    atomic_store(&d.release, true);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "drain.in", drain_cb, &d));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    for (int i = 0; i < 20; i++) CHECK_OK(snats_publish(p, "drain.in", "m", 1));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));

    CHECK_OK(snats_conn_drain(c, harness_ms(10000)));
    CHECK_EQ_INT(atomic_load(&d.delivered), 20);
    CHECK(snats_conn_is_closed(c));
    CHECK_EQ_INT(atomic_load(&g_ev.closed), 1);
    CHECK(!snats_sub_is_valid(sub));
    /* Every publish made during the drain was flushed before the close. */
    CHECK_EVENTUALLY(atomic_load(&outs) == 20, 5000);
    CHECK_STATUS(snats_conn_drain(c, 1000), SNATS_CONNECTION_CLOSED);
    snats_sub_destroy(sub);
    snats_sub_destroy(out_sub);
    snats_conn_destroy(c);
    snats_conn_destroy(p);
    server_stop(&srv);
}

typedef struct {
    snats_conn *conn;
    int64_t timeout_ms;
    atomic_int done;
    _Atomic snats_status status;
} drain_waiter;

static void *drain_thread(void *arg) {
    drain_waiter *w = arg;
    atomic_store(&w->status, snats_conn_drain(w->conn, w->timeout_ms));
    atomic_store(&w->done, 1);
    return NULL;
}

static snats_conn_state state_of(snats_conn *c) {
    snats_conn_state st = SNATS_CONN_DISCONNECTED;
    if (snats_conn_get_state(&st, c) != SNATS_OK) FAIL("get_state failed");
    return st;
}

static void conn_drain_while_draining(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_conn *p = connect_or_fail(srv.url);
    drain_ctx d = {.sleep_ms = 0};
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "drain.in", drain_cb, &d));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_publish(p, "drain.in", "a", 1));
    CHECK_OK(snats_publish(p, "drain.in", "b", 1));
    CHECK_OK(snats_conn_flush(p, harness_ms(5000)));
    CHECK_EVENTUALLY(atomic_load(&d.entered) == 1, 5000); /* the callback holds message 1 */

    drain_waiter w = {.conn = c, .timeout_ms = harness_ms(20000), .status = SNATS_ERR};
    pthread_t t;
    harness_spawn(&t, drain_thread, &w);
    CHECK_EVENTUALLY(state_of(c) == SNATS_CONN_DRAINING, 5000);
    CHECK_STATUS(snats_conn_drain(c, 1000), SNATS_DRAINING);
    snats_sub *sub2 = (snats_sub *)0x1;
    CHECK_STATUS(snats_subscribe_sync(&sub2, c, "more"), SNATS_DRAINING);
    CHECK_NULL(sub2);
    CHECK_OK(snats_publish(c, "during.drain", "x", 1)); /* still allowed */
    CHECK_EQ_INT(atomic_load(&w.done), 0);

    atomic_store(&d.release, true);
    harness_join(t);
    CHECK_EQ_INT(atomic_load(&w.status), SNATS_OK);
    CHECK_EQ_INT(atomic_load(&d.delivered), 2);
    CHECK(snats_conn_is_closed(c));
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    snats_conn_destroy(p);
    server_stop(&srv);
}

static void conn_drain_timeout(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    drain_ctx d = {.sleep_ms = 0, .tolerate_closed = true};
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "drain.in", drain_cb, &d));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_publish(c, "drain.in", "a", 1));
    CHECK_EVENTUALLY(atomic_load(&d.entered) == 1, 5000);
    int64_t t0 = harness_now_ms();
    snats_status st = snats_conn_drain(c, 300);
    int64_t el = harness_now_ms() - t0;
    if (el > harness_ms(1500))
        FAIL("snats_conn_drain(c, 300) blocked %lld ms (status %s): it waited for the running callback",
             (long long)el, snats_status_text(st));
    CHECK_EQ_INT(st, SNATS_TIMEOUT);
    if (el < 250) FAIL("drain timed out after %lld ms, before 300 ms", (long long)el);
    CHECK(snats_conn_is_closed(c)); /* closed anyway */
    atomic_store(&d.release, true);
    CHECK_STATUS(snats_conn_drain(NULL, 1000), SNATS_INVALID_ARG);
    snats_sub_destroy(sub);
    snats_conn_destroy(c);
    server_stop(&srv);
}

typedef struct {
    atomic_int entered;
    atomic_bool release;
    atomic_int finished;
} slow_cb_ctx;

/* Held until released, then busy a while longer, then uses its connection. */
static void slow_after_release_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)sub;
    slow_cb_ctx *s = closure;
    atomic_fetch_add(&s->entered, 1);
    int64_t until = harness_now_ms() + harness_ms(3000);
    while (!atomic_load(&s->release) && harness_now_ms() < until) harness_sleep_ms(2);
    harness_sleep_ms(100);
    (void)snats_publish(conn, "slow.out", snats_msg_data(msg), snats_msg_data_len(msg));
    atomic_fetch_add(&s->finished, 1);
}

/* A connection the library closed (a drain that timed out) leaves a callback running; the
 * handles it was given must stay valid until it returns: snats_sub_destroy() waits for it
 * (from a thread that is not one of the connection's callbacks), and then the connection's
 * handle may go. (The callback used to read freed handles: valgrind, conn_drain_timeout.) */
static void conn_sub_destroy_waits_for_a_callback_after_close(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    static slow_cb_ctx s;
    atomic_store(&s.entered, 0);
    atomic_store(&s.release, false);
    atomic_store(&s.finished, 0);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe(&sub, c, "slow.in", slow_after_release_cb, &s));
    CHECK_OK(snats_conn_flush(c, harness_ms(5000)));
    CHECK_OK(snats_publish(c, "slow.in", "a", 1));
    CHECK_EVENTUALLY(atomic_load(&s.entered) == 1, 5000);
    CHECK_STATUS(snats_conn_drain(c, 200), SNATS_TIMEOUT);
    CHECK(snats_conn_is_closed(c));
    atomic_store(&s.release, true);
    snats_sub_destroy(sub);
    CHECK_EQ_INT(atomic_load(&s.finished), 1);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void conn_drain_bad_args(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    CHECK_STATUS(snats_conn_drain(NULL, 1000), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_drain(c, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_conn_drain(c, -5), SNATS_INVALID_ARG);
    CHECK(!snats_conn_is_closed(c));
    /* An idle connection drains at once. */
    CHECK_OK(snats_conn_drain(c, harness_ms(5000)));
    CHECK(snats_conn_is_closed(c));
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* Subscription handles outlive their connection's destroy, as closed objects. */
static void conn_destroy_leaves_sub_handles(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "left.behind"));
    CHECK(snats_sub_is_valid(sub));
    snats_conn_destroy(c);
    CHECK(!snats_sub_is_valid(sub));
    CHECK_EQ_STR(snats_sub_subject(sub), "left.behind");
    snats_msg *m = (snats_msg *)0x1;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 100), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(m);
    snats_sub_destroy(sub);
    server_stop(&srv);
}

const test_case connection_tests[] = {
    TEST(conn_connect_state_close),
    TEST(conn_connect_to),
    TEST(conn_connect_null_and_bad_args),
    TEST(conn_no_server),
    TEST(conn_handshake_timeout),
    TEST(conn_protocol_error_on_garbage),
    TEST(conn_server_error_on_connect),
    TEST(conn_auth_user_password),
    TEST(conn_auth_token),
    TEST(conn_connected_url_buffer),
    TEST(conn_connected_url_hides_credentials),
    TEST(conn_server_info),
    TEST(conn_max_payload),
    TEST(conn_new_inbox),
    TEST(conn_publish_invalid_subject),
    TEST(conn_publish_null_args),
    TEST(conn_publish_packed),
    TEST(conn_publish_packed_stops_at_bad_record),
    TEST(conn_publish_packed_bad_args),
    TEST(conn_calls_after_close),
    TEST(conn_flush_and_rtt),
    TEST(conn_flush_timeout_without_pong),
    TEST(conn_close_fails_waiting_flush),
    TEST(conn_stats_exact),
    TEST(conn_closed_cb_exactly_once),
    TEST(conn_closed_cb_on_destroy),
    TEST(conn_server_killed_callbacks),
    TEST(conn_server_stopped_callbacks),
    TEST(conn_stale_connection_closes),
    TEST(conn_async_server_error),
    TEST(conn_permission_violation),
    TEST(conn_no_echo),
    TEST(conn_drain_delivers_queued),
    TEST(conn_drain_while_draining),
    TEST(conn_drain_timeout),
    TEST(conn_drain_bad_args),
    TEST(conn_sub_destroy_waits_for_a_callback_after_close),
    TEST(conn_destroy_leaves_sub_handles),
};
HARNESS_TABLE_COUNT(connection);
