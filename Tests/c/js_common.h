/*
 * js_common.h - helpers shared by the JetStream families (test_jetstream.c, test_kv.c,
 * test_js_consume.c, test_obj.c): JetStream servers with their store in the test's scratch
 * directory, connections, JSON built from text and read at dotted paths, the last API error,
 * the fixture (server, connection, context), streams and consumers. Defined in js_common.c.
 * Each helper fails the test (harness_fail) when a call it makes fails.
 */
#ifndef SNATS_JS_COMMON_H
#define SNATS_JS_COMMON_H

#include "harness.h"

#include <jansson.h>

/* ------------------------------------------------------------------------------------------
 * Servers and connections
 * ---------------------------------------------------------------------------------------- */

/* A fresh store directory inside the test's scratch directory (or /tmp), its path in store. */
void make_store(char *store, size_t cap);

/* Starts a nats-server with JetStream, its store in a fresh directory of the test. */
void js_server_start(test_server *srv);

/* A JetStream server on a fixed port and store directory, so that it can come back. */
void js_server_start_at(test_server *srv, int port, const char *store);

/* Connects to url; with reconnecting, reconnects fast (every 50 ms, no jitter) and forever;
 * with on_error (not NULL), that error callback gets closure. */
snats_conn *js_connect(const char *url, bool reconnecting, snats_error_handler on_error, void *closure);

/* The connection's state. */
snats_conn_state state_of(snats_conn *c);

/* ------------------------------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------------------------- */

/* Parses JSON text (printf-style); fails the test on a syntax error. */
json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The member at a dotted path ("state.messages"), or NULL. */
const json_t *jat(const json_t *doc, const char *path);

/* The integer, string or boolean at a dotted path; fails the test (showing doc) otherwise. */
long long jint_at(const json_t *doc, const char *path, const char *file, int line);
const char *jstr_at(const json_t *doc, const char *path, const char *file, int line);
bool jbool_at(const json_t *doc, const char *path, const char *file, int line);
#define JINT(doc, path) jint_at((doc), (path), __FILE__, __LINE__)
#define JSTR(doc, path) jstr_at((doc), (path), __FILE__, __LINE__)
#define JBOOL(doc, path) jbool_at((doc), (path), __FILE__, __LINE__)

/* True when the array holds the string. */
bool jarray_has(const json_t *array, const char *text);

/* The last API error codes of the calling thread are exactly these. */
#define CHECK_API_ERROR(want_code, want_err)                                                  \
    do {                                                                                      \
        int h_code_ = -1, h_err_ = -1;                                                        \
        snats_js_last_api_error(&h_code_, &h_err_);                                           \
        if (h_code_ != (want_code) || h_err_ != (want_err))                                   \
            FAIL("snats_js_last_api_error gave %d/%d, expected %d/%d (%s)", h_code_, h_err_,  \
                 (int)(want_code), (int)(want_err), snats_last_error());                      \
    } while (0)

/* ------------------------------------------------------------------------------------------
 * The fixture: a JetStream server, a connection to it, a context
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    test_server srv;
    snats_conn *c;
    snats_jetstream *js;
} jsfix;

/* Starts the server (js_server_start), connects (connect_or_fail) and makes the context with
 * the options given as JSON text (NULL: none). */
void jsfix_up(jsfix *f, const char *options_json);

/* Destroys the context and the connection, stops the server. */
void jsfix_down(jsfix *f);

/* ------------------------------------------------------------------------------------------
 * Streams and consumers
 * ---------------------------------------------------------------------------------------- */

/* Adds a stream from JSON text (printf-style). */
void stream_add(snats_jetstream *js, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds a consumer from JSON text. */
void consumer_add(snats_jetstream *js, const char *stream, const char *config_json);

/* The stream's message count (its info's state.messages). */
long long stream_messages(snats_jetstream *js, const char *stream);

/* A consumer's info (the caller decrefs it). */
json_t *consumer_info(snats_jetstream *js, const char *stream, const char *consumer);

/* A consumer's info member (an integer at a dotted path). */
long long consumer_int(snats_jetstream *js, const char *stream, const char *consumer, const char *path);

/* The names of the stream's consumers (the caller decrefs them), and how many there are. */
json_t *consumer_names(snats_jetstream *js, const char *stream);
size_t consumer_count(snats_jetstream *js, const char *stream);

#endif /* SNATS_JS_COMMON_H */
