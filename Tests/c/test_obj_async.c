/*
 * test_obj_async.c - the Object Store without blocking (snats_obj_*_async): buckets opened
 * (and a missing one refused) through a handler; an object of many chunks (more than the put's
 * window of 16) put from a reader called in small pieces and read back through a writer, its
 * digest the blocking calls' and its bytes the same; info, status, list, links and delete;
 * a reader or writer that fails (the put's chunks removed; no writer call after the callback);
 * calls that return at once while the server is stopped (SIGSTOP); a watch started without
 * waiting; arguments refused at the call, whose callbacks never run.
 */
#define _GNU_SOURCE
#include "js_common.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    snats_obj *obs;
    int err_code;
} opened_rec;

static void on_opened(snats_jetstream *js, snats_status status, snats_obj *obs, void *closure) {
    (void)js;
    opened_rec *r = closure;
    r->obs = obs;
    if (status != SNATS_OK) {
        int code = 0;
        snats_js_last_api_error(&code, &r->err_code);
    }
    atomic_store(&r->status, status);
    atomic_fetch_add(&r->calls, 1);
}

static snats_obj *wait_opened(opened_rec *r, snats_status want) {
    CHECK_EVENTUALLY(atomic_load(&r->calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&r->status), want);
    CHECK(want == SNATS_OK ? r->obs != NULL : r->obs == NULL);
    return r->obs;
}

/* The outcome of a call whose answer is JSON (kept: a new reference). */
typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    json_t *value;
    char error[160]; /* snats_last_error() on the callback's thread */
    /* put: the bytes to feed, in pieces of at most `piece`, failing at byte `fail_at` (> 0) */
    const unsigned char *data;
    size_t len, offset, piece, fail_at;
    /* get: what the writer gathered; it stops the get at call `stop_at` (> 0) */
    unsigned char *got;
    size_t got_len;
    int writes, stop_at;
    atomic_int writes_after_callback;
} call_rec;

static void on_json(snats_status status, const json_t *value, void *closure) {
    call_rec *r = closure;
    r->value = value ? json_incref((json_t *)value) : NULL;
    snprintf(r->error, sizeof r->error, "%s", snats_last_error());
    atomic_store(&r->status, status);
    atomic_fetch_add(&r->calls, 1);
}

static int64_t read_piece(void *buffer, size_t capacity, void *closure) {
    call_rec *r = closure;
    if (atomic_load(&r->calls) > 0) FAIL("the reader was called after the put's callback");
    if (r->fail_at > 0 && r->offset >= r->fail_at) return -1;
    size_t n = r->len - r->offset;
    if (n > capacity) n = capacity;
    if (n > r->piece) n = r->piece;
    memcpy(buffer, r->data + r->offset, n);
    r->offset += n;
    return (int64_t)n;
}

static int write_piece(const void *data, size_t len, void *closure) {
    call_rec *r = closure;
    if (atomic_load(&r->calls) > 0) atomic_fetch_add(&r->writes_after_callback, 1);
    r->writes++;
    if (r->stop_at > 0 && r->writes >= r->stop_at) return 1;
    unsigned char *grown = realloc(r->got, r->got_len + len + 1);
    if (grown == NULL) FAIL("out of memory");
    r->got = grown;
    memcpy(r->got + r->got_len, data, len);
    r->got_len += len;
    return 0;
}

static json_t *wait_call(call_rec *r, snats_status want) {
    CHECK_EVENTUALLY(atomic_load(&r->calls) == 1, 15000);
    if (atomic_load(&r->status) != want)
        FAIL("status %d, expected %d (%s)", (int)atomic_load(&r->status), (int)want, r->error);
    CHECK(want == SNATS_OK ? r->value != NULL : r->value == NULL);
    return r->value;
}

static void call_done(call_rec *r) {
    json_decref(r->value);
    free(r->got);
    memset(r, 0, sizeof *r);
}

static unsigned char *pattern(size_t len) {
    unsigned char *data = malloc(len);
    CHECK(data != NULL);
    for (size_t i = 0; i < len; i++) data[i] = (unsigned char)((i * 31 + 7) & 0xff);
    return data;
}

static void obj_async_buckets(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    opened_rec made = {0}, bound = {0}, missing = {0}, never = {0};
    CHECK_OK(snats_obj_bucket_create_async(f.js, "AB", NULL, on_opened, &made));
    snats_obj *obs = wait_opened(&made, SNATS_OK);
    CHECK_OK(snats_obj_bucket_bind_async(f.js, "AB", on_opened, &bound));
    snats_obj *again = wait_opened(&bound, SNATS_OK);
    CHECK_OK(snats_obj_bucket_bind_async(f.js, "NONE", on_opened, &missing));
    wait_opened(&missing, SNATS_NOT_FOUND);
    CHECK_EQ_INT(missing.err_code, 10059);

    /* Refused at the call: no handler runs. */
    CHECK_STATUS(snats_obj_bucket_create_async(f.js, "bad.name", NULL, on_opened, &never), SNATS_INVALID_ARG);
    json_t *config = J("{\"replicas\": \"three\"}");
    CHECK_STATUS(snats_obj_bucket_create_async(f.js, "B", config, on_opened, &never), SNATS_INVALID_ARG);
    json_decref(config);
    CHECK_STATUS(snats_obj_bucket_create_async(f.js, "B", NULL, NULL, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_bucket_bind_async(NULL, "B", on_opened, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_bucket_bind_async(f.js, NULL, on_opened, &never), SNATS_INVALID_ARG);
    CHECK_EQ_INT(atomic_load(&never.calls), 0);

    call_rec status = {0};
    CHECK_OK(snats_obj_status_async(again, on_json, &status));
    CHECK_EQ_STR(JSTR(wait_call(&status, SNATS_OK), "bucket"), "AB");
    call_done(&status);
    snats_obj_destroy(again);
    snats_obj_destroy(obs);
    jsfix_down(&f);
}

static void obj_async_put_get(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_obj *obs = NULL;
    CHECK_OK(snats_obj_bucket_create(&obs, f.js, "AP", NULL));
    const size_t len = 50 * 1000 + 17;
    unsigned char *data = pattern(len);

    /* 51 chunks of 1000 bytes, the reader giving 700 at most. */
    call_rec put = {.data = data, .len = len, .piece = 700};
    json_t *meta = J("{\"name\": \"big\", \"chunk_size\": 1000, \"description\": \"d\"}");
    CHECK_OK(snats_obj_put_async(obs, meta, read_piece, on_json, &put));
    json_t *info = wait_call(&put, SNATS_OK);
    CHECK_EQ_INT(JINT(info, "size"), (long long)len);
    CHECK_EQ_INT(JINT(info, "chunks"), 72); /* 71 pieces of 700 and one of 317: one chunk per read */
    CHECK_EQ_STR(JSTR(info, "description"), "d");

    /* The same bytes put by the blocking call have the same digest. */
    json_t *same = NULL;
    CHECK_OK(snats_obj_put_bytes(&same, obs, "same", data, len));
    CHECK_EQ_STR(JSTR(info, "digest"), JSTR(same, "digest"));
    json_decref(same);

    call_rec get = {0};
    CHECK_OK(snats_obj_get_async(obs, "big", write_piece, on_json, &get));
    json_t *read = wait_call(&get, SNATS_OK);
    CHECK_EQ_STR(JSTR(read, "nuid"), JSTR(info, "nuid"));
    CHECK_EQ_INT((long long)get.got_len, (long long)len);
    CHECK(memcmp(get.got, data, len) == 0);
    CHECK_EQ_INT(get.writes, 72);
    call_done(&get);

    call_rec one = {0};
    CHECK_OK(snats_obj_info_async(obs, "big", false, on_json, &one));
    CHECK_EQ_STR(JSTR(wait_call(&one, SNATS_OK), "digest"), JSTR(info, "digest"));
    call_done(&one);

    /* Links: to the object, to the bucket; a get through the link reads the object. */
    call_rec link = {0}, bucket_link = {0}, through = {0};
    CHECK_OK(snats_obj_add_link_async(obs, "alias", info, on_json, &link));
    CHECK_EQ_STR(JSTR(wait_call(&link, SNATS_OK), "options.link.name"), "big");
    CHECK_OK(snats_obj_add_bucket_link_async(obs, "all", "AP", on_json, &bucket_link));
    CHECK_EQ_STR(JSTR(wait_call(&bucket_link, SNATS_OK), "options.link.bucket"), "AP");
    CHECK_OK(snats_obj_get_async(obs, "alias", write_piece, on_json, &through));
    wait_call(&through, SNATS_OK);
    CHECK_EQ_INT((long long)through.got_len, (long long)len);
    call_done(&through);
    call_done(&link);
    call_done(&bucket_link);

    /* A link does not replace an object. */
    call_rec refused = {0};
    CHECK_OK(snats_obj_add_link_async(obs, "same", info, on_json, &refused));
    wait_call(&refused, SNATS_INVALID_ARG);
    call_done(&refused);

    call_rec list = {0};
    CHECK_OK(snats_obj_list_async(obs, false, on_json, &list));
    CHECK_EQ_INT((long long)json_array_size(wait_call(&list, SNATS_OK)), 4);
    call_done(&list);

    /* Deleted: the marker, no chunks left, no info unless asked for deleted ones. */
    call_rec deleted = {0}, gone = {0}, shown = {0};
    CHECK_OK(snats_obj_delete_async(obs, "big", on_json, &deleted));
    json_t *marker = wait_call(&deleted, SNATS_OK);
    CHECK(json_is_true(json_object_get(marker, "deleted")));
    char chunks[96];
    snprintf(chunks, sizeof chunks, "$O.AP.C.%s", JSTR(info, "nuid"));
    json_t *opts = J("{\"subjects_filter\": \"%s\"}", chunks);
    json_t *stream = NULL;
    CHECK_OK(snats_js_stream_info(&stream, f.js, "OBJ_AP", opts));
    CHECK(json_object_size(json_object_get(json_object_get(stream, "state"), "subjects")) == 0);
    json_decref(stream);
    json_decref(opts);
    CHECK_OK(snats_obj_info_async(obs, "big", false, on_json, &gone));
    wait_call(&gone, SNATS_NOT_FOUND);
    CHECK_OK(snats_obj_info_async(obs, "big", true, on_json, &shown));
    CHECK(json_is_true(json_object_get(wait_call(&shown, SNATS_OK), "deleted")));
    call_done(&deleted);
    call_done(&gone);
    call_done(&shown);

    call_done(&put);
    json_decref(meta);
    free(data);
    snats_obj_destroy(obs);
    jsfix_down(&f);
}

static void obj_async_failures(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_obj *obs = NULL;
    CHECK_OK(snats_obj_bucket_create(&obs, f.js, "AF", NULL));
    unsigned char *data = pattern(20000);

    /* The reader fails after 5000 bytes: SNATS_IO_ERROR, and its chunks are removed. */
    call_rec put = {.data = data, .len = 20000, .piece = 1000, .fail_at = 5000};
    json_t *meta = J("{\"name\": \"half\", \"chunk_size\": 1000}");
    CHECK_OK(snats_obj_put_async(obs, meta, read_piece, on_json, &put));
    wait_call(&put, SNATS_IO_ERROR);
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_AF"), 0);
    call_done(&put);
    json_decref(meta);

    json_t *info = NULL;
    CHECK_OK(snats_obj_put_bytes(&info, obs, "whole", data, 20000));
    json_decref(info);
    meta = J("{\"name\": \"small\", \"chunk_size\": 1000}");
    call_rec small = {.data = data, .len = 20000, .piece = 1000};
    CHECK_OK(snats_obj_put_async(obs, meta, read_piece, on_json, &small));
    wait_call(&small, SNATS_OK);
    call_done(&small);
    json_decref(meta);

    /* The writer stops at its third chunk: SNATS_IO_ERROR, and no chunk after the callback. */
    call_rec get = {.stop_at = 3};
    CHECK_OK(snats_obj_get_async(obs, "small", write_piece, on_json, &get));
    wait_call(&get, SNATS_IO_ERROR);
    CHECK_EQ_INT(get.writes, 3);
    CHECK_EQ_INT(atomic_load(&get.writes_after_callback), 0);
    call_done(&get);

    call_rec missing = {0}, missing_delete = {0};
    CHECK_OK(snats_obj_get_async(obs, "nothing", write_piece, on_json, &missing));
    wait_call(&missing, SNATS_NOT_FOUND);
    CHECK_OK(snats_obj_delete_async(obs, "nothing", on_json, &missing_delete));
    wait_call(&missing_delete, SNATS_NOT_FOUND);
    CHECK_EQ_INT(missing.writes, 0);
    call_done(&missing);
    call_done(&missing_delete);

    /* Refused at the call: nothing runs. */
    call_rec never = {0};
    CHECK_STATUS(snats_obj_put_async(obs, NULL, read_piece, on_json, &never), SNATS_INVALID_ARG);
    json_t *nameless = J("{\"description\": \"x\"}");
    CHECK_STATUS(snats_obj_put_async(obs, nameless, read_piece, on_json, &never), SNATS_INVALID_ARG);
    json_decref(nameless);
    meta = J("{\"name\": \"n\"}");
    CHECK_STATUS(snats_obj_put_async(obs, meta, NULL, on_json, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_async(obs, meta, read_piece, NULL, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_async(NULL, meta, read_piece, on_json, &never), SNATS_INVALID_ARG);
    json_decref(meta);
    CHECK_STATUS(snats_obj_get_async(obs, NULL, write_piece, on_json, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get_async(obs, "whole", NULL, on_json, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_info_async(obs, "", false, on_json, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_delete_async(obs, "whole", NULL, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_list_async(NULL, false, on_json, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_link_async(obs, "l", NULL, on_json, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_bucket_link_async(obs, "l", "bad.bucket", on_json, &never), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_status_async(obs, NULL, &never), SNATS_INVALID_ARG);
    CHECK_EQ_INT(atomic_load(&never.calls), 0);

    free(data);
    snats_obj_destroy(obs);
    jsfix_down(&f);
}

static int64_t elapsed_ms_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* With the server stopped, every call returns at once; once it runs again, each completes. */
static void obj_async_without_waiting(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_obj *obs = NULL;
    CHECK_OK(snats_obj_bucket_create(&obs, f.js, "AW", NULL));
    json_t *info = NULL;
    CHECK_OK(snats_obj_put_bytes(&info, obs, "there", "hello", 5));
    json_decref(info);
    unsigned char *data = pattern(3000);

    call_rec put = {.data = data, .len = 3000, .piece = 3000}, get = {0}, list = {0}, one = {0};
    json_t *meta = J("{\"name\": \"later\"}");
    server_pause(&f.srv);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_OK(snats_obj_put_async(obs, meta, read_piece, on_json, &put));
    CHECK_OK(snats_obj_get_async(obs, "there", write_piece, on_json, &get));
    int64_t took = elapsed_ms_since(&start);
    CHECK(kill(f.srv.pid, SIGCONT) == 0);
    if (took > 300) FAIL("a put and a get took %lld ms with the server stopped", (long long)took);
    CHECK_EQ_INT(JINT(wait_call(&put, SNATS_OK), "size"), 3000);
    wait_call(&get, SNATS_OK);
    CHECK_EQ_INT((long long)get.got_len, 5);
    CHECK(memcmp(get.got, "hello", 5) == 0);

    /* Apart from the put: nats-server 2.9.10 may skip a last-per-subject consumer's first
     * message when another lands as the consumer is made (2.10 and later do not), and a list
     * then times out. */
    server_pause(&f.srv);
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_OK(snats_obj_list_async(obs, false, on_json, &list));
    CHECK_OK(snats_obj_info_async(obs, "later", false, on_json, &one));
    took = elapsed_ms_since(&start);
    CHECK(kill(f.srv.pid, SIGCONT) == 0);
    if (took > 300) FAIL("a list and an info took %lld ms with the server stopped", (long long)took);
    CHECK_EQ_INT((long long)json_array_size(wait_call(&list, SNATS_OK)), 2);
    CHECK_EQ_INT(JINT(wait_call(&one, SNATS_OK), "size"), 3000);
    call_done(&one);
    call_done(&put);
    call_done(&get);
    call_done(&list);
    json_decref(meta);
    free(data);
    snats_obj_destroy(obs);
    jsfix_down(&f);
}

typedef struct {
    atomic_int infos, markers, started_calls;
    _Atomic snats_status started_status;
    snats_obj_watcher *watcher;
    char last_name[32];
} watch_rec;

static void on_info(snats_obj_watcher *watcher, const json_t *info, void *closure) {
    (void)watcher;
    watch_rec *r = closure;
    if (info == NULL) {
        atomic_fetch_add(&r->markers, 1);
        return;
    }
    snprintf(r->last_name, sizeof r->last_name, "%s", json_string_value(json_object_get(info, "name")));
    atomic_fetch_add(&r->infos, 1);
}

static void on_started(snats_obj *obs, snats_status status, snats_obj_watcher *watcher, void *closure) {
    (void)obs;
    watch_rec *r = closure;
    r->watcher = watcher;
    atomic_store(&r->started_status, status);
    atomic_fetch_add(&r->started_calls, 1);
}

static void obj_async_watch(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_obj *obs = NULL;
    CHECK_OK(snats_obj_bucket_create(&obs, f.js, "AWW", NULL));
    json_t *info = NULL;
    CHECK_OK(snats_obj_put_bytes(&info, obs, "one", "1", 1));
    json_decref(info);
    watch_rec *r = calloc(1, sizeof *r);
    CHECK(r != NULL);
    CHECK_OK(snats_obj_watch_async(obs, NULL, on_info, on_started, r));
    CHECK_EVENTUALLY(atomic_load(&r->started_calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&r->started_status), SNATS_OK);
    CHECK_EVENTUALLY(atomic_load(&r->markers) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&r->infos), 1);
    CHECK_OK(snats_obj_put_bytes(&info, obs, "two", "2", 1));
    json_decref(info);
    CHECK_EVENTUALLY(atomic_load(&r->infos) == 2, 10000);
    CHECK_EQ_STR(r->last_name, "two");
    snats_obj_watcher_destroy(r->watcher);

    watch_rec *bad = calloc(1, sizeof *bad);
    CHECK(bad != NULL);
    json_t *options = J("{\"bogus\": true}");
    CHECK_STATUS(snats_obj_watch_async(obs, options, on_info, on_started, bad), SNATS_INVALID_ARG);
    json_decref(options);
    CHECK_STATUS(snats_obj_watch_async(obs, NULL, on_info, NULL, bad), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_watch_async(NULL, NULL, on_info, on_started, bad), SNATS_INVALID_ARG);
    CHECK_EQ_INT(atomic_load(&bad->started_calls), 0);
    free(bad);
    free(r);
    snats_obj_destroy(obs);
    jsfix_down(&f);
}

const test_case obj_async_tests[] = {
    TEST(obj_async_buckets),
    TEST(obj_async_put_get),
    TEST(obj_async_failures),
    TEST(obj_async_without_waiting),
    TEST(obj_async_watch),
};
HARNESS_TABLE_COUNT(obj_async);
