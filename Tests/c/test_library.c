/*
 * test_library.c - Library family: version, statuses, last error, JSON helpers.
 * No server needed.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>

static void lib_version_matches_macros(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", SNATS_VERSION_MAJOR, SNATS_VERSION_MINOR,
             SNATS_VERSION_PATCH);
    CHECK_NOT_NULL(snats_version());
    CHECK_EQ_STR(snats_version(), expected);
    /* A static string: the same pointer every time. */
    CHECK(snats_version() == snats_version());
}

static void lib_status_text_names_every_status(void) {
    static const struct {
        snats_status status;
        const char *name;
    } cases[] = {
        {SNATS_OK, "SNATS_OK"},
        {SNATS_ERR, "SNATS_ERR"},
        {SNATS_INVALID_ARG, "SNATS_INVALID_ARG"},
        {SNATS_INVALID_SUBJECT, "SNATS_INVALID_SUBJECT"},
        {SNATS_TIMEOUT, "SNATS_TIMEOUT"},
        {SNATS_NO_RESPONDERS, "SNATS_NO_RESPONDERS"},
        {SNATS_MAX_PAYLOAD, "SNATS_MAX_PAYLOAD"},
        {SNATS_CONNECTION_CLOSED, "SNATS_CONNECTION_CLOSED"},
        {SNATS_NOT_CONNECTED, "SNATS_NOT_CONNECTED"},
        {SNATS_NO_SERVER, "SNATS_NO_SERVER"},
        {SNATS_IO_ERROR, "SNATS_IO_ERROR"},
        {SNATS_PROTOCOL_ERROR, "SNATS_PROTOCOL_ERROR"},
        {SNATS_STALE_CONNECTION, "SNATS_STALE_CONNECTION"},
        {SNATS_SLOW_CONSUMER, "SNATS_SLOW_CONSUMER"},
        {SNATS_PERMISSION_VIOLATION, "SNATS_PERMISSION_VIOLATION"},
        {SNATS_AUTH_FAILED, "SNATS_AUTH_FAILED"},
        {SNATS_INVALID_SUBSCRIPTION, "SNATS_INVALID_SUBSCRIPTION"},
        {SNATS_DRAINING, "SNATS_DRAINING"},
        {SNATS_ILLEGAL_STATE, "SNATS_ILLEGAL_STATE"},
        {SNATS_MAX_DELIVERED, "SNATS_MAX_DELIVERED"},
        {SNATS_SERVER_ERROR, "SNATS_SERVER_ERROR"},
        {SNATS_INVALID_JSON, "SNATS_INVALID_JSON"},
        {SNATS_NOT_FOUND, "SNATS_NOT_FOUND"},
        {SNATS_BUFFER_TOO_SMALL, "SNATS_BUFFER_TOO_SMALL"},
        {SNATS_RECONNECT_BUFFER_FULL, "SNATS_RECONNECT_BUFFER_FULL"},
        {SNATS_TLS_ERROR, "SNATS_TLS_ERROR"},
        {SNATS_RPC_ERROR, "SNATS_RPC_ERROR"},
        {SNATS_PUBLISH_REFUSED, "SNATS_PUBLISH_REFUSED"},
        {SNATS_CALL_LOST, "SNATS_CALL_LOST"},
        {SNATS_JS_API_ERROR, "SNATS_JS_API_ERROR"},
        {SNATS_JS_NOT_ENABLED, "SNATS_JS_NOT_ENABLED"},
        {SNATS_MISSED_HEARTBEAT, "SNATS_MISSED_HEARTBEAT"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text = snats_status_text(cases[i].status);
        CHECK_NOT_NULL(text);
        /* "SNATS_TIMEOUT: timeout": the name, then ':' (not a longer name's prefix). */
        size_t n = strlen(cases[i].name);
        if (strncmp(text, cases[i].name, n) != 0 || text[n] != ':')
            FAIL("snats_status_text(%d) = \"%s\", expected it to start with \"%s:\"",
                 (int)cases[i].status, text, cases[i].name);
    }
    CHECK_EQ_STR(snats_status_text(SNATS_TIMEOUT), "SNATS_TIMEOUT: timeout");
}

static void lib_status_text_unknown(void) {
    /* The status after the last one. */
    CHECK_EQ_STR(snats_status_text((snats_status)(SNATS_MISSED_HEARTBEAT + 1)), "unknown status");
    CHECK_EQ_STR(snats_status_text((snats_status)9999), "unknown status");
    CHECK_EQ_STR(snats_status_text((snats_status)-1), "unknown status");
}

static void lib_last_error_empty_on_fresh_thread(void) {
    CHECK_NOT_NULL(snats_last_error());
    CHECK_EQ_STR(snats_last_error(), "");
}

static void lib_last_error_set_by_failure(void) {
    CHECK_STATUS(snats_options_create(NULL), SNATS_INVALID_ARG);
    CHECK(strlen(snats_last_error()) > 0);
    /* A later success does not clear it: valid until the next failing call. */
    CHECK_EQ_STR(snats_version(), snats_version());
    json_t *j = NULL;
    CHECK_OK(snats_json_loads(&j, "1"));
    json_decref(j);
    CHECK(strlen(snats_last_error()) > 0);
}

/* Two threads fail in turns; each keeps its own message. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int step;
    char a_before[512];
    char a_after[512];
    char b_msg[512];
    char fresh[64];
} lasterr_ctx;

static void wait_step(lasterr_ctx *c, int step) {
    pthread_mutex_lock(&c->mu);
    while (c->step < step) pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static void set_step(lasterr_ctx *c, int step) {
    pthread_mutex_lock(&c->mu);
    c->step = step;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void *lasterr_thread_a(void *arg) {
    lasterr_ctx *c = arg;
    json_t *j = NULL;
    /* Failure 1: malformed JSON. */
    if (snats_json_loads(&j, "{\"broken\": ") != SNATS_INVALID_JSON) FAIL("thread A: expected SNATS_INVALID_JSON");
    snprintf(c->a_before, sizeof c->a_before, "%s", snats_last_error());
    set_step(c, 1);
    wait_step(c, 2); /* thread B has failed meanwhile */
    snprintf(c->a_after, sizeof c->a_after, "%s", snats_last_error());
    return NULL;
}

static void *lasterr_thread_b(void *arg) {
    lasterr_ctx *c = arg;
    wait_step(c, 1);
    snprintf(c->fresh, sizeof c->fresh, "%s", snats_last_error());
    /* Failure 2, of another kind. */
    if (snats_options_set_url(NULL, "nats://127.0.0.1:1") != SNATS_INVALID_ARG)
        FAIL("thread B: expected SNATS_INVALID_ARG");
    snprintf(c->b_msg, sizeof c->b_msg, "%s", snats_last_error());
    set_step(c, 2);
    return NULL;
}

static void lib_last_error_is_thread_local(void) {
    lasterr_ctx c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    pthread_t a, b;
    harness_spawn(&a, lasterr_thread_a, &c);
    harness_spawn(&b, lasterr_thread_b, &c);
    harness_join(a);
    harness_join(b);
    CHECK(strlen(c.a_before) > 0);
    CHECK(strlen(c.b_msg) > 0);
    CHECK_EQ_STR(c.fresh, "");             /* B had not failed yet while A had */
    CHECK_EQ_STR(c.a_after, c.a_before);   /* B's failure did not overwrite A's message */
    CHECK(strcmp(c.a_before, c.b_msg) != 0);
    CHECK_EQ_STR(snats_last_error(), "");  /* the main thread never failed */
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
}

static void lib_json_loads_values(void) {
    static const struct {
        const char *text;
        json_type type;
    } cases[] = {
        {"{\"a\":1}", JSON_OBJECT}, {"[1,2,3]", JSON_ARRAY}, {"42", JSON_INTEGER},
        {"1.5", JSON_REAL},         {"\"s\"", JSON_STRING}, {"true", JSON_TRUE},
        {"false", JSON_FALSE},      {"null", JSON_NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = (json_t *)0x1;
        snats_status s = snats_json_loads(&j, cases[i].text);
        if (s != SNATS_OK) FAIL("snats_json_loads(%s) = %s", cases[i].text, snats_status_text(s));
        CHECK_NOT_NULL(j);
        if (json_typeof(j) != cases[i].type) FAIL("snats_json_loads(%s): wrong type %d", cases[i].text, json_typeof(j));
        snats_json_decref(j);
    }
    json_t *j = NULL;
    CHECK_OK(snats_json_loads(&j, "{\"name\":\"x\",\"n\":[1,{\"k\":null}]}"));
    CHECK_EQ_STR(json_string_value(json_object_get(j, "name")), "x");
    CHECK_EQ_INT(json_array_size(json_object_get(j, "n")), 2);
    json_decref(j);
}

static void lib_json_loads_malformed(void) {
    static const char *cases[] = {"", "{", "{\"a\":}", "[1,2", "nul", "{\"a\":1} trailing", "'single'"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = (json_t *)0x1;
        snats_status s = snats_json_loads(&j, cases[i]);
        if (s != SNATS_INVALID_JSON)
            FAIL("snats_json_loads(\"%s\") = %s, expected SNATS_INVALID_JSON", cases[i], snats_status_text(s));
        CHECK_NULL(j);
        CHECK(strlen(snats_last_error()) > 0);
    }
    /* Line and column are in the message. */
    json_t *j = NULL;
    CHECK_STATUS(snats_json_loads(&j, "{\n  \"a\": ,\n}"), SNATS_INVALID_JSON);
    const char *e = snats_last_error();
    if (strpbrk(e, "0123456789") == NULL || strcasestr(e, "line") == NULL)
        FAIL("last error has no line/column: \"%s\"", e);
}

static void lib_json_loads_null_args(void) {
    json_t *j = (json_t *)0x1;
    CHECK_STATUS(snats_json_loads(&j, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(j);
    CHECK_STATUS(snats_json_loads(NULL, "{}"), SNATS_INVALID_ARG);
}

static void lib_json_dumps_compact_in_order(void) {
    json_t *obj = json_object();
    json_object_set_new(obj, "z", json_integer(1));
    json_object_set_new(obj, "a", json_string("b"));
    json_object_set_new(obj, "m", json_pack("[i,n,b]", 2, 1));
    char *text = NULL;
    CHECK_OK(snats_json_dumps(&text, obj));
    CHECK_NOT_NULL(text);
    CHECK_EQ_STR(text, "{\"z\":1,\"a\":\"b\",\"m\":[2,null,true]}");
    snats_free(text);
    json_decref(obj);

    /* Round trip through loads, and a non-container value. */
    json_t *j = NULL;
    CHECK_OK(snats_json_loads(&j, "\"h\\u00e9\""));
    CHECK_OK(snats_json_dumps(&text, j));
    CHECK_EQ_STR(text, "\"h\xc3\xa9\"");
    snats_free(text);
    json_decref(j);
}

static void lib_json_dumps_errors(void) {
    char *text = (char *)0x1;
    CHECK_STATUS(snats_json_dumps(&text, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(text);
    json_t *j = json_integer(1);
    CHECK_STATUS(snats_json_dumps(NULL, j), SNATS_INVALID_ARG);
    json_decref(j);
    /* Invalid UTF-8 smuggled in with json_string_nocheck. */
    json_t *bad = json_object();
    json_object_set_new(bad, "k", json_string_nocheck("\xff\xfe"));
    text = (char *)0x1;
    CHECK_STATUS(snats_json_dumps(&text, bad), SNATS_INVALID_JSON);
    CHECK_NULL(text);
    json_decref(bad);
}

static void lib_json_incref_decref(void) {
    json_t *j = json_object();
    CHECK_EQ_INT(j->refcount, 1);
    CHECK(snats_json_incref(j) == j);
    CHECK_EQ_INT(j->refcount, 2);
    snats_json_decref(j);
    CHECK_EQ_INT(j->refcount, 1);
    CHECK_NULL(snats_json_incref(NULL));
    snats_json_decref(NULL); /* no-op */
    snats_json_decref(j);    /* frees it (valgrind checks) */
}

static void lib_free_null(void) {
    snats_free(NULL);
}

const test_case library_tests[] = {
    TEST(lib_version_matches_macros),
    TEST(lib_status_text_names_every_status),
    TEST(lib_status_text_unknown),
    TEST(lib_last_error_empty_on_fresh_thread),
    TEST(lib_last_error_set_by_failure),
    TEST(lib_last_error_is_thread_local),
    TEST(lib_json_loads_values),
    TEST(lib_json_loads_malformed),
    TEST(lib_json_loads_null_args),
    TEST(lib_json_dumps_compact_in_order),
    TEST(lib_json_dumps_errors),
    TEST(lib_json_incref_decref),
    TEST(lib_free_null),
};
HARNESS_TABLE_COUNT(library);
