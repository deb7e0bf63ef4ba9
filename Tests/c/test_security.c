/*
 * test_security.c - TLS and authentication through the header: a server with certificates made
 * by the test (openssl, Tests/fixtures/tls/make_certs.sh), verification against the right and
 * the wrong CA, host name checks, client certificates; nkey seeds, .creds files and credential
 * handlers against servers configured for them (Tests/fixtures/auth), with wrong credentials,
 * and no credential in any string the library produces.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>
#include <sys/wait.h>

/* Tests/fixtures, as an absolute path (build.sh defines it). */
#ifndef SNATS_FIXTURES
#error "build with -DSNATS_FIXTURES=<repo>/Tests/fixtures (Tests/c/build.sh does)"
#endif

static char g_pki[700];

/* Makes a PKI in the test's scratch directory; returns its path. */
static const char *make_pki(void) {
    snprintf(g_pki, sizeof g_pki, "%s/pki", harness_test_dir());
    char command[1600];
    snprintf(command, sizeof command, "sh %s/tls/make_certs.sh %s", SNATS_FIXTURES, g_pki);
    int rc = system(command);
    if (rc != 0) FAIL("%s failed (%d)", command, rc);
    return g_pki;
}

static const char *pki_file(const char *name) {
    static char paths[8][800];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 800, "%s/%s", g_pki, name);
    return p;
}

static const char *fixture(const char *name) {
    static char paths[8][800];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 800, "%s/auth/%s", SNATS_FIXTURES, name);
    return p;
}

/* Starts a server with `-c FILE`. */
static void start_with_config_file(test_server *srv, const char *path) {
    const char *args[] = {"-c", path, NULL};
    server_start_args(srv, args);
}

static snats_options *opts_for(const char *url) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    CHECK_OK(snats_options_set_allow_reconnect(o, false));
    return o;
}

static snats_status try_connect(snats_conn **c, snats_options *o) {
    snats_status s = snats_conn_connect(c, o);
    snats_options_destroy(o);
    return s;
}

/* A round trip proves the connection works. */
static void round_trip(snats_conn *c) {
    snats_sub *sub = NULL;
    CHECK_OK(snats_subscribe_sync(&sub, c, "secure.echo"));
    CHECK_OK(snats_publish(c, "secure.echo", "hi", 2));
    snats_msg *m = NULL;
    CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(2000)));
    CHECK_EQ_INT(snats_msg_data_len(m), 2);
    snats_msg_release(m);
    snats_sub_destroy(sub);
}

static void tls_with_ca_file(void) {
    make_pki();
    test_server srv;
    start_with_config_file(&srv, pki_file("server.conf"));
    snats_options *o = opts_for(srv.url); /* nats:// URL: the server's tls_required upgrades it */
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    snats_conn *c = NULL;
    CHECK_OK(try_connect(&c, o));
    round_trip(c);
    snats_conn_destroy(c);

    /* tls:// with localhost: the certificate names it. */
    char url[128];
    snprintf(url, sizeof url, "tls://localhost:%d", srv.port);
    o = opts_for(url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    CHECK_OK(try_connect(&c, o));
    round_trip(c);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void tls_wrong_ca_fails_clearly(void) {
    make_pki();
    test_server srv;
    start_with_config_file(&srv, pki_file("server.conf"));
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("other-ca.pem")));
    snats_conn *c = NULL;
    CHECK_STATUS(try_connect(&c, o), SNATS_TLS_ERROR);
    CHECK_NULL(c);
    CHECK(strstr(snats_last_error(), "TLS") != NULL);
    /* The system's CAs do not know the test CA either. */
    CHECK_STATUS(try_connect(&c, opts_for(srv.url)), SNATS_TLS_ERROR);
    /* Skipping verification connects (tests only). */
    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_skip_verify(o, true));
    CHECK_OK(try_connect(&c, o));
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* A certificate that names localhost only: reached by IP it fails unless the expected name is
 * given, a wrong name fails, and turning the host name check off accepts the chain alone. */
static void tls_hostname_checked(void) {
    make_pki();
    test_server srv;
    start_with_config_file(&srv, pki_file("dns.conf"));
    snats_conn *c = NULL;
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    CHECK_STATUS(try_connect(&c, o), SNATS_TLS_ERROR);
    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    CHECK_OK(snats_options_set_tls_hostname(o, "nats.example.com"));
    CHECK_STATUS(try_connect(&c, o), SNATS_TLS_ERROR);
    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    CHECK_OK(snats_options_set_tls_hostname(o, "nats.example.com"));
    CHECK_OK(snats_options_set_tls_verify_hostname(o, false));
    CHECK_OK(try_connect(&c, o));
    snats_conn_destroy(c);
    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    CHECK_OK(snats_options_set_tls_hostname(o, "localhost"));
    CHECK_OK(try_connect(&c, o));
    round_trip(c);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void tls_client_certificate(void) {
    make_pki();
    test_server srv;
    start_with_config_file(&srv, pki_file("mtls.conf"));
    snats_conn *c = NULL;
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    snats_status s = try_connect(&c, o); /* no client certificate: refused */
    CHECK(s == SNATS_TLS_ERROR || s == SNATS_NO_SERVER || s == SNATS_PROTOCOL_ERROR);
    CHECK_NULL(c);
    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    CHECK_OK(snats_options_set_tls_client_cert(o, pki_file("client.pem"), pki_file("client-key.pem")));
    CHECK_OK(try_connect(&c, o));
    round_trip(c);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void tls_required_but_not_offered(void) {
    test_server srv;
    server_start(&srv);
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_secure(o, true));
    snats_conn *c = NULL;
    CHECK_STATUS(try_connect(&c, o), SNATS_TLS_ERROR);
    CHECK(strstr(snats_last_error(), "does not offer TLS") != NULL);
    server_stop(&srv);
}

static void tls_bad_files(void) {
    make_pki();
    test_server srv;
    start_with_config_file(&srv, pki_file("server.conf"));
    snats_conn *c = NULL;
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, "/nonexistent/ca.pem"));
    CHECK_STATUS(try_connect(&c, o), SNATS_TLS_ERROR);
    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, fixture("user.creds"))); /* not a certificate */
    CHECK_STATUS(try_connect(&c, o), SNATS_TLS_ERROR);
    o = opts_for(srv.url);
    CHECK_STATUS(snats_options_set_tls_client_cert(o, pki_file("client.pem"), NULL), SNATS_INVALID_ARG);
    snats_options_destroy(o);
    server_stop(&srv);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) FAIL("fopen(%s)", path);
    static char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = 0;
    return text;
}

/* TLS before INFO against a real nats-server with handshake_first (2.10.3 and later; Debian's
 * 2.9.10 skips this, `make test-current-server` runs it): a TLS-first client connects and
 * round-trips; one that waits for the server's INFO first gets none and fails. */
static void tls_handshake_first_real_server(void) {
    if (!SERVER_AT_LEAST(2, 10, 3))
        SKIP("TLS-first (handshake_first) needs nats-server 2.10.3 or later; %s is %d.%d.%d",
             server_binary_path(), server_version() / 10000, server_version() / 100 % 100,
             server_version() % 100);
    make_pki();
    char config[3000];
    snprintf(config, sizeof config,
             "tls {\n  cert_file: \"%s\"\n  key_file: \"%s\"\n  ca_file: \"%s\"\n"
             "  timeout: 2\n  handshake_first: true\n}\n",
             pki_file("server.pem"), pki_file("server-key.pem"), pki_file("ca.pem"));
    test_server srv;
    server_start_config(&srv, config);
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    CHECK_OK(snats_options_set_tls_handshake_first(o, true));
    snats_conn *c = NULL;
    CHECK_OK(try_connect(&c, o));
    round_trip(c);
    snats_conn_destroy(c);

    o = opts_for(srv.url); /* waits for INFO, which a TLS-first server never sends first */
    CHECK_OK(snats_options_set_tls_ca_file(o, pki_file("ca.pem")));
    CHECK_OK(snats_options_set_connect_timeout(o, harness_ms(500)));
    c = NULL;
    CHECK(try_connect(&c, o) != SNATS_OK);
    CHECK_NULL(c);
    server_stop(&srv);
}

static void auth_nkey_seed(void) {
    test_server srv;
    start_with_config_file(&srv, fixture("nkey_server.conf"));
    snats_conn *c = NULL;
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_nkey_seed_file(o, fixture("nkey_user.seed")));
    CHECK_OK(try_connect(&c, o));
    round_trip(c);
    snats_conn_destroy(c);

    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_nkey_seed(o, read_text(fixture("nkey_user.seed"))));
    CHECK_OK(try_connect(&c, o));
    snats_conn_destroy(c);

    o = opts_for(srv.url); /* a seed the server does not know */
    CHECK_OK(snats_options_set_nkey_seed_file(o, fixture("nkey_other.seed")));
    CHECK_STATUS(try_connect(&c, o), SNATS_AUTH_FAILED);
    CHECK(strstr(snats_last_error(), "Authorization Violation") != NULL);

    o = opts_for(srv.url); /* no credentials at all */
    CHECK_STATUS(try_connect(&c, o), SNATS_AUTH_FAILED);

    o = opts_for(srv.url); /* a damaged seed: one character changed breaks the checksum */
    char seed[128];
    snprintf(seed, sizeof seed, "%s", read_text(fixture("nkey_user.seed")));
    seed[10] = seed[10] == 'A' ? 'B' : 'A';
    CHECK_OK(snats_options_set_nkey_seed(o, seed));
    CHECK_STATUS(try_connect(&c, o), SNATS_INVALID_ARG);
    CHECK(strstr(snats_last_error(), seed) == NULL); /* the seed is never echoed */
    server_stop(&srv);
}

static void auth_credentials_file(void) {
    test_server srv;
    start_with_config_file(&srv, fixture("jwt_server.conf"));
    snats_conn *c = NULL;
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_credentials_file(o, fixture("user.creds")));
    CHECK_OK(try_connect(&c, o));
    round_trip(c);
    snats_conn_destroy(c);

    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_credentials_file(o, fixture("stranger.creds")));
    CHECK_STATUS(try_connect(&c, o), SNATS_AUTH_FAILED);

    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_credentials_file(o, "/nonexistent.creds"));
    CHECK_STATUS(try_connect(&c, o), SNATS_INVALID_ARG);
    CHECK(strstr(snats_last_error(), "/nonexistent.creds") != NULL);

    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_credentials_file(o, fixture("nkey_server.conf"))); /* not creds */
    CHECK_STATUS(try_connect(&c, o), SNATS_INVALID_ARG);
    server_stop(&srv);
}

/* Credential handlers: the application hands over the JWT and signs the nonce. The harness
 * links no crypto library, so here the signature is made up and must be refused after both
 * handlers ran; pytest signs for real with the fixture's seed through the same handlers. */
typedef struct {
    atomic_int jwt_calls;
    atomic_int sig_calls;
    bool zero_signature;
} handler_state;

static snats_status jwt_handler(char **jwt, void *closure) {
    handler_state *st = closure;
    atomic_fetch_add(&st->jwt_calls, 1);
    *jwt = strdup(read_text(fixture("user.jwt")));
    return SNATS_OK;
}

static snats_status failing_jwt_handler(char **jwt, void *closure) {
    (void)jwt;
    (void)closure;
    return SNATS_ERR;
}

static snats_status sig_handler(unsigned char signature[64], const char *nonce, void *closure) {
    handler_state *st = closure;
    atomic_fetch_add(&st->sig_calls, 1);
    CHECK(nonce != NULL && strlen(nonce) > 0);
    memset(signature, st->zero_signature ? 0 : 0x5a, 64);
    return SNATS_OK;
}

static void auth_handlers(void) {
    test_server srv;
    start_with_config_file(&srv, fixture("jwt_server.conf"));
    snats_conn *c = NULL;
    handler_state st = {0};
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_user_credentials_callbacks(o, jwt_handler, &st, sig_handler, &st));
    CHECK_STATUS(try_connect(&c, o), SNATS_AUTH_FAILED); /* a made-up signature is refused */
    CHECK_EQ_INT(atomic_load(&st.jwt_calls), 1);
    CHECK_EQ_INT(atomic_load(&st.sig_calls), 1);

    o = opts_for(srv.url);
    CHECK_OK(snats_options_set_user_credentials_callbacks(o, failing_jwt_handler, NULL, sig_handler, &st));
    CHECK_STATUS(try_connect(&c, o), SNATS_AUTH_FAILED);
    CHECK(strstr(snats_last_error(), "JWT handler") != NULL);

    o = opts_for(srv.url);
    CHECK_STATUS(snats_options_set_user_credentials_callbacks(o, jwt_handler, NULL, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_nkey(o, "UABC", NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_nkey(o, NULL, sig_handler, NULL), SNATS_INVALID_ARG);
    snats_options_destroy(o);
    server_stop(&srv);
}

/* A nonce scheme against a server that sends no nonce is a clear error. */
static void auth_nkey_without_nonce(void) {
    test_server srv;
    server_start(&srv);
    snats_conn *c = NULL;
    snats_options *o = opts_for(srv.url);
    CHECK_OK(snats_options_set_credentials_file(o, fixture("user.creds")));
    CHECK_STATUS(try_connect(&c, o), SNATS_AUTH_FAILED);
    CHECK(strstr(snats_last_error(), "nonce") != NULL);
    server_stop(&srv);
}

static void auth_token_in_url_and_user_password(void) {
    const char *token_args[] = {"--auth", "t0ken", NULL};
    test_server srv;
    server_start_args(&srv, token_args);
    char url[200];
    snats_conn *c = NULL;
    snprintf(url, sizeof url, "nats://t0ken@127.0.0.1:%d", srv.port);
    CHECK_OK(try_connect(&c, opts_for(url)));
    char shown[200];
    CHECK_OK(snats_conn_get_connected_url(shown, sizeof shown, c));
    CHECK(strstr(shown, "t0ken") == NULL);
    snats_conn_destroy(c);
    snprintf(url, sizeof url, "nats://wrong@127.0.0.1:%d", srv.port);
    CHECK_STATUS(try_connect(&c, opts_for(url)), SNATS_AUTH_FAILED);
    CHECK(strstr(snats_last_error(), "wrong") == NULL);
    server_stop(&srv);
}

static void security_bad_arguments(void) {
    CHECK_STATUS(snats_options_set_secure(NULL, true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_tls_ca_file(NULL, "x"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_tls_client_cert(NULL, "a", "b"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_tls_hostname(NULL, "x"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_tls_verify_hostname(NULL, true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_tls_skip_verify(NULL, true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_tls_handshake_first(NULL, true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_nkey_seed(NULL, "x"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_nkey_seed_file(NULL, "x"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_credentials_file(NULL, "x"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_user_credentials_callbacks(NULL, jwt_handler, NULL, sig_handler, NULL),
                 SNATS_INVALID_ARG);
    CHECK_STATUS(snats_options_set_nkey(NULL, "U", sig_handler, NULL), SNATS_INVALID_ARG);
    CHECK_EQ_STR(snats_status_text(SNATS_TLS_ERROR), "SNATS_TLS_ERROR: TLS error");
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_tls_ca_file(o, NULL));
    CHECK_OK(snats_options_set_tls_client_cert(o, NULL, NULL));
    CHECK_OK(snats_options_set_nkey_seed(o, "SUAAA"));
    CHECK_OK(snats_options_set_nkey_seed(o, NULL));
    CHECK_OK(snats_options_set_user_credentials_callbacks(o, NULL, NULL, NULL, NULL));
    snats_options_destroy(o);
}

const test_case security_tests[] = {
    TEST(tls_with_ca_file),
    TEST(tls_wrong_ca_fails_clearly),
    TEST(tls_hostname_checked),
    TEST(tls_client_certificate),
    TEST(tls_required_but_not_offered),
    TEST(tls_bad_files),
    TEST(tls_handshake_first_real_server),
    TEST(auth_nkey_seed),
    TEST(auth_credentials_file),
    TEST(auth_handlers),
    TEST(auth_nkey_without_nonce),
    TEST(auth_token_in_url_and_user_password),
    TEST(security_bad_arguments),
};
HARNESS_TABLE_COUNT(security);
