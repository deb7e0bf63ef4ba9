/*
 * js_common.c - the helpers js_common.h declares, shared by the JetStream families.
 */
#define _GNU_SOURCE
#include "js_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------------------------
 * Servers and connections
 * ---------------------------------------------------------------------------------------- */

void make_store(char *store, size_t cap) {
    snprintf(store, cap, "%s/js_store_XXXXXX", harness_test_dir()[0] ? harness_test_dir() : "/tmp");
    if (mkdtemp(store) == NULL) FAIL("mkdtemp(%s): %s", store, strerror(errno));
}

void js_server_start(test_server *srv) {
    char store[600];
    make_store(store, sizeof store);
    const char *args[] = {"-js", "-sd", store, NULL};
    server_start_args(srv, args);
}

void js_server_start_at(test_server *srv, int port, const char *store) {
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    const char *args[] = {"-js", "-sd", store, "-p", port_text, NULL};
    server_start_args(srv, args);
}

snats_conn *js_connect(const char *url, bool reconnecting, snats_error_handler on_error, void *closure) {
    snats_options *o = NULL;
    CHECK_OK(snats_options_create(&o));
    CHECK_OK(snats_options_set_url(o, url));
    if (on_error != NULL) CHECK_OK(snats_options_set_error_cb(o, on_error, closure));
    if (reconnecting) {
        CHECK_OK(snats_options_set_reconnect_wait(o, 50));
        CHECK_OK(snats_options_set_reconnect_jitter(o, 0, 0));
        CHECK_OK(snats_options_set_max_reconnect(o, -1));
    }
    snats_conn *c = NULL;
    CHECK_OK(snats_conn_connect(&c, o));
    snats_options_destroy(o);
    return c;
}

snats_conn_state state_of(snats_conn *c) {
    snats_conn_state st;
    CHECK_OK(snats_conn_get_state(&st, c));
    return st;
}

/* ------------------------------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------------------------- */

json_t *J(const char *fmt, ...) {
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_error_t error;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &error);
    if (value == NULL) FAIL("bad JSON in the test: %s: %s", text, error.text);
    return value;
}

const json_t *jat(const json_t *doc, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *cur = doc;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save)) {
        if (!json_is_object(cur)) return NULL;
        cur = json_object_get(cur, tok);
    }
    return cur;
}

/* Fails the test: the member at path is not what it should be; shows the document. */
static _Noreturn void dump_fail(const json_t *doc, const char *path, const char *what, const char *file, int line) {
    char *dump = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    harness_fail(file, line, "\"%s\" is not %s in %.1500s", path, what, dump ? dump : doc ? "?" : "(null)");
}

long long jint_at(const json_t *doc, const char *path, const char *file, int line) {
    const json_t *v = jat(doc, path);
    if (!json_is_integer(v)) dump_fail(doc, path, "an integer", file, line);
    return (long long)json_integer_value(v);
}

const char *jstr_at(const json_t *doc, const char *path, const char *file, int line) {
    const json_t *v = jat(doc, path);
    if (!json_is_string(v)) dump_fail(doc, path, "a string", file, line);
    return json_string_value(v);
}

bool jbool_at(const json_t *doc, const char *path, const char *file, int line) {
    const json_t *v = jat(doc, path);
    if (!json_is_boolean(v)) dump_fail(doc, path, "a boolean", file, line);
    return json_is_true(v);
}

bool jarray_has(const json_t *array, const char *text) {
    size_t i;
    const json_t *item;
    json_array_foreach(array, i, item) {
        if (json_is_string(item) && strcmp(json_string_value(item), text) == 0) return true;
    }
    return false;
}

/* ------------------------------------------------------------------------------------------
 * The fixture
 * ---------------------------------------------------------------------------------------- */

void jsfix_up(jsfix *f, const char *options_json) {
    js_server_start(&f->srv);
    f->c = connect_or_fail(f->srv.url);
    json_t *opts = options_json ? J("%s", options_json) : NULL;
    CHECK_OK(snats_jetstream_create(&f->js, f->c, opts));
    json_decref(opts);
    CHECK_NOT_NULL(f->js);
}

void jsfix_down(jsfix *f) {
    snats_jetstream_destroy(f->js);
    snats_conn_destroy(f->c);
    server_stop(&f->srv);
}

/* ------------------------------------------------------------------------------------------
 * Streams and consumers
 * ---------------------------------------------------------------------------------------- */

void stream_add(snats_jetstream *js, const char *fmt, ...) {
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *config = J("%s", text);
    CHECK_OK(snats_js_stream_add(NULL, js, config));
    json_decref(config);
}

void consumer_add(snats_jetstream *js, const char *stream, const char *config_json) {
    json_t *config = J("%s", config_json);
    CHECK_OK(snats_js_consumer_add(NULL, js, stream, config));
    json_decref(config);
}

long long stream_messages(snats_jetstream *js, const char *stream) {
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_info(&info, js, stream, NULL));
    long long n = JINT(info, "state.messages");
    json_decref(info);
    return n;
}

json_t *consumer_info(snats_jetstream *js, const char *stream, const char *consumer) {
    json_t *info = NULL;
    snats_status s = snats_js_consumer_info(&info, js, stream, consumer);
    if (s != SNATS_OK) FAIL("consumer info %s/%s: %s (%s)", stream, consumer, snats_status_text(s), snats_last_error());
    return info;
}

long long consumer_int(snats_jetstream *js, const char *stream, const char *consumer, const char *path) {
    json_t *info = consumer_info(js, stream, consumer);
    long long n = JINT(info, path);
    json_decref(info);
    return n;
}

json_t *consumer_names(snats_jetstream *js, const char *stream) {
    json_t *names = NULL;
    CHECK_OK(snats_js_consumer_names(&names, js, stream));
    return names;
}

size_t consumer_count(snats_jetstream *js, const char *stream) {
    json_t *names = consumer_names(js, stream);
    size_t n = json_array_size(names);
    json_decref(names);
    return n;
}
