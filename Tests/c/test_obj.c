/*
 * test_obj.c - the Object Store through the header (snats_obj_*): buckets (create, bind,
 * names, status, delete; bad names and settings), objects put and read back in every form
 * (bytes, a reader callback in small pieces and many chunks, a writer callback, descriptors,
 * files), the digest nats.go and nats.py compute, a failing reader or writer, replacing an
 * object (its old chunks purged), infos with and without deleted objects, deleting, listing,
 * links (to an object, to a bucket, a link to a link refused), a corrupted info (digest
 * mismatch), watches with a callback and with snats_obj_watcher_next(), an empty object,
 * NULL arguments and unknown members. Every server is started with -js and a store directory
 * inside the test's scratch directory.
 */
#define _GNU_SOURCE
#include "js_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------
 * Helpers (the shared ones are in js_common.h)
 * ---------------------------------------------------------------------------------------- */

/* SHA-256 of "hello" and of nothing, as the digest of an info spells them. */
#define DIGEST_HELLO "SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
#define DIGEST_EMPTY "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="

/* An info's `deleted`: absent reads as false. */
static bool info_deleted(const json_t *info) { return json_is_true(json_object_get(info, "deleted")); }

typedef struct {
    test_server srv;
    snats_conn *c;
    snats_jetstream *js;
    snats_obj *obs;
} objfix;

/* A JetStream server, a connection, a context, and the bucket "files" (file storage). */
static void objfix_up(objfix *f) {
    js_server_start(&f->srv);
    f->c = connect_or_fail(f->srv.url);
    CHECK_OK(snats_jetstream_create(&f->js, f->c, NULL));
    f->obs = NULL;
    CHECK_OK(snats_obj_bucket_create(&f->obs, f->js, "files", NULL));
    CHECK_NOT_NULL(f->obs);
}

static void objfix_down(objfix *f) {
    snats_obj_destroy(f->obs);
    snats_jetstream_destroy(f->js);
    snats_conn_destroy(f->c);
    server_stop(&f->srv);
}

/* The consumers of a stream as its info counts them (state.consumer_count). */
static long long stream_consumer_count(snats_jetstream *js, const char *stream) {
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_info(&info, js, stream, NULL));
    long long n = JINT(info, "state.consumer_count");
    json_decref(info);
    return n;
}

/* Messages of a stream on one subject (chunks of one nuid, say). */
static long long subject_messages(snats_jetstream *js, const char *stream, const char *subject) {
    json_t *opts = J("{\"subjects_filter\": \"%s\"}", subject);
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_info(&info, js, stream, opts));
    json_decref(opts);
    const json_t *subjects = jat(info, "state.subjects");
    long long n = 0;
    if (json_is_object(subjects)) {
        const char *key;
        const json_t *value;
        json_object_foreach((json_t *)subjects, key, value) n += (long long)json_integer_value(value);
    }
    json_decref(info);
    return n;
}

/* Deterministic bytes: a pattern no two nearby chunks share. */
static unsigned char *pattern(size_t len, unsigned seed) {
    unsigned char *p = malloc(len ? len : 1);
    CHECK_NOT_NULL(p);
    uint32_t x = 2463534242u ^ seed;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

static void put_text(snats_obj *obs, const char *name, const char *text) {
    json_t *info = NULL;
    CHECK_OK(snats_obj_put_bytes(&info, obs, name, text, strlen(text)));
    CHECK_EQ_STR(JSTR(info, "name"), name);
    json_decref(info);
}

/* The object's bytes equal text (and its info names it). */
static void check_text_at(snats_obj *obs, const char *name, const char *text, const char *file, int line) {
    json_t *info = NULL;
    void *data = NULL;
    size_t len = 99;
    snats_status s = snats_obj_get_bytes(&info, &data, &len, obs, name);
    if (s != SNATS_OK) harness_fail(file, line, "snats_obj_get_bytes(%s): %s (%s)", name, snats_status_text(s), snats_last_error());
    if (data == NULL) harness_fail(file, line, "snats_obj_get_bytes(%s): data NULL", name);
    if (len != strlen(text) || memcmp(data, text, len) != 0)
        harness_fail(file, line, "object %s is \"%.*s\" (%zu bytes), expected \"%s\"", name, (int)len, (const char *)data, len, text);
    snats_free(data);
    json_decref(info);
}
#define CHECK_TEXT(obs, name, text) check_text_at((obs), (name), (text), __FILE__, __LINE__)

/* A reader feeding bytes in pieces of at most `piece`; fails (-1) after `fail_after` pieces
 * when that is > 0; `overfill` returns more than the capacity on its first call. */
typedef struct {
    const unsigned char *data;
    size_t len;
    size_t off;
    size_t piece;
    int calls;
    int pieces;
    int fail_after;
    bool overfill;
    size_t min_capacity;
    size_t max_capacity;
    pthread_t thread;
} feed;

static void feed_init(feed *r, const void *data, size_t len, size_t piece) {
    memset(r, 0, sizeof *r);
    r->data = data;
    r->len = len;
    r->piece = piece;
    r->min_capacity = SIZE_MAX;
    r->thread = pthread_self();
}

static int64_t feed_read(void *buffer, size_t capacity, void *closure) {
    feed *r = closure;
    r->calls++;
    if (!pthread_equal(r->thread, pthread_self())) FAIL("the reader was called on another thread");
    if (buffer == NULL) FAIL("the reader got a NULL buffer");
    if (capacity < r->min_capacity) r->min_capacity = capacity;
    if (capacity > r->max_capacity) r->max_capacity = capacity;
    if (r->overfill) return (int64_t)capacity + 1;
    if (r->fail_after > 0 && r->pieces >= r->fail_after) return -1;
    size_t n = r->len - r->off;
    if (n > r->piece) n = r->piece;
    if (n > capacity) n = capacity;
    memcpy(buffer, r->data + r->off, n);
    r->off += n;
    if (n > 0) r->pieces++;
    return (int64_t)n;
}

/* A writer gathering what it is given; stops the get (returns 1) at call `fail_at` when > 0. */
typedef struct {
    unsigned char *buf;
    size_t len;
    size_t cap;
    int calls;
    int fail_at;
    pthread_t thread;
} sink;

static void sink_init(sink *w) {
    memset(w, 0, sizeof *w);
    w->thread = pthread_self();
}

static int sink_write(const void *data, size_t len, void *closure) {
    sink *w = closure;
    w->calls++;
    if (!pthread_equal(w->thread, pthread_self())) FAIL("the writer was called on another thread");
    if (w->fail_at > 0 && w->calls >= w->fail_at) return 1;
    if (len > 0 && data == NULL) FAIL("the writer got NULL with %zu bytes", len);
    if (w->len + len > w->cap) {
        w->cap = (w->len + len) * 2;
        w->buf = realloc(w->buf, w->cap);
        CHECK_NOT_NULL(w->buf);
    }
    if (len > 0) memcpy(w->buf + w->len, data, len);
    w->len += len;
    return 0;
}

static json_t *put_with(snats_obj *obs, const char *meta_json, feed *r) {
    json_t *meta = J("%s", meta_json);
    json_t *info = NULL;
    CHECK_OK(snats_obj_put(&info, obs, meta, feed_read, r));
    json_decref(meta);
    CHECK_NOT_NULL(info);
    return info;
}

static void write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) FAIL("open(%s): %s", path, strerror(errno));
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n <= 0) FAIL("write(%s): %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

/* The whole file, malloc'd; *len its size. */
static unsigned char *read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) FAIL("open(%s): %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0) FAIL("read(%s): %s", path, strerror(errno));
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    *len = n;
    return buf;
}

/* ------------------------------------------------------------------------------------------
 * A watch's callback log: each info kept (a reference), NULL for the marker.
 * ---------------------------------------------------------------------------------------- */

#define MAX_WINFOS 256

typedef struct {
    pthread_mutex_t mu;
    json_t *infos[MAX_WINFOS];
    bool marker[MAX_WINFOS];
    atomic_int count;
    atomic_int running;
    atomic_int bad;
    char why[200];
    snats_obj_watcher *seen;
} wlog;

static void wlog_init(wlog *l) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
}

static void wlog_free(wlog *l) {
    for (int i = 0; i < atomic_load(&l->count) && i < MAX_WINFOS; i++) json_decref(l->infos[i]);
    pthread_mutex_destroy(&l->mu);
}

static void wlog_bad(wlog *l, const char *why) {
    pthread_mutex_lock(&l->mu);
    if (l->why[0] == 0) snprintf(l->why, sizeof l->why, "%s", why);
    pthread_mutex_unlock(&l->mu);
    atomic_fetch_add(&l->bad, 1);
}

static void on_obj_watch(snats_obj_watcher *watcher, const json_t *info, void *closure) {
    wlog *l = closure;
    if (atomic_fetch_add(&l->running, 1) != 0) wlog_bad(l, "two callbacks at once");
    pthread_mutex_lock(&l->mu);
    if (l->seen == NULL) l->seen = watcher;
    bool same = l->seen == watcher;
    int n = atomic_load(&l->count);
    if (n < MAX_WINFOS) {
        l->infos[n] = info ? json_incref((json_t *)info) : NULL;
        l->marker[n] = info == NULL;
        atomic_store(&l->count, n + 1);
    }
    pthread_mutex_unlock(&l->mu);
    if (!same) wlog_bad(l, "another watcher handle");
    if (n >= MAX_WINFOS) wlog_bad(l, "too many infos");
    if (info != NULL && !json_is_object(info)) wlog_bad(l, "an info that is not an object");
    atomic_fetch_sub(&l->running, 1);
}

static void wlog_wait_at(wlog *l, int n, const char *file, int line) {
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (atomic_load(&l->count) < n && atomic_load(&l->bad) == 0) {
        if (harness_now_ms() > deadline)
            harness_fail(file, line, "%d watch records after %lld ms, expected %d", atomic_load(&l->count),
                         (long long)harness_ms(10000), n);
        harness_sleep_ms(2);
    }
    if (atomic_load(&l->bad)) harness_fail(file, line, "watch callback: %s", l->why);
}
#define wlog_wait(l, n) wlog_wait_at((l), (n), __FILE__, __LINE__)

static void wlog_quiet_at(wlog *l, int n, const char *file, int line) {
    harness_sleep_ms(harness_ms(300));
    if (atomic_load(&l->bad)) harness_fail(file, line, "watch callback: %s", l->why);
    if (atomic_load(&l->count) != n) harness_fail(file, line, "%d watch records, expected %d", atomic_load(&l->count), n);
}
#define wlog_quiet(l, n) wlog_quiet_at((l), (n), __FILE__, __LINE__)

static void wlog_check_at(wlog *l, int i, const char *name, bool deleted, const char *file, int line) {
    pthread_mutex_lock(&l->mu);
    json_t *info = l->infos[i];
    bool marker = l->marker[i];
    pthread_mutex_unlock(&l->mu);
    if (name == NULL) {
        if (!marker) harness_fail(file, line, "record %d is %s, expected the marker", i, JSTR(info, "name"));
        return;
    }
    if (marker) harness_fail(file, line, "record %d is the marker, expected %s", i, name);
    if (strcmp(jstr_at(info, "name", file, line), name) != 0)
        harness_fail(file, line, "record %d is %s, expected %s", i, JSTR(info, "name"), name);
    if (info_deleted(info) != deleted)
        harness_fail(file, line, "record %d (%s): deleted %d, expected %d", i, name, info_deleted(info), deleted);
}
#define CHECK_WINFO(l, i, name, deleted) wlog_check_at((l), (i), (name), (deleted), __FILE__, __LINE__)

/* The next info of a watch without a callback (or the marker when name is NULL). */
static void check_next_at(snats_obj_watcher *w, const char *name, bool deleted, const char *file, int line) {
    json_t *info = (json_t *)0x1;
    snats_status s = snats_obj_watcher_next(&info, w, harness_ms(5000));
    if (s != SNATS_OK) harness_fail(file, line, "snats_obj_watcher_next: %s (%s)", snats_status_text(s), snats_last_error());
    if (name == NULL) {
        if (info != NULL) harness_fail(file, line, "got %s, expected the marker", JSTR(info, "name"));
        return;
    }
    if (info == NULL) harness_fail(file, line, "got the marker, expected %s", name);
    if (strcmp(jstr_at(info, "name", file, line), name) != 0) harness_fail(file, line, "got %s, expected %s", JSTR(info, "name"), name);
    if (info_deleted(info) != deleted) harness_fail(file, line, "%s: deleted %d, expected %d", name, info_deleted(info), deleted);
    json_decref(info);
}
#define CHECK_NEXT(w, name, deleted) check_next_at((w), (name), (deleted), __FILE__, __LINE__)

/* ------------------------------------------------------------------------------------------
 * Buckets
 * ---------------------------------------------------------------------------------------- */

static void obj_bucket_create_bind_names_delete(void) {
    test_server srv;
    js_server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_jetstream *js = NULL;
    CHECK_OK(snats_jetstream_create(&js, c, NULL));

    /* No buckets yet. */
    json_t *names = NULL;
    CHECK_OK(snats_obj_bucket_names(&names, js));
    CHECK(json_is_array(names));
    CHECK_EQ_INT(json_array_size(names), 0);
    json_decref(names);

    /* A missing bucket. */
    snats_obj *obs = (snats_obj *)0x1;
    CHECK_STATUS(snats_obj_bucket_bind(&obs, js, "nothing"), SNATS_NOT_FOUND);
    CHECK_NULL(obs);
    CHECK_API_ERROR(404, 10059);
    CHECK_STATUS(snats_obj_bucket_delete(js, "nothing"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);

    /* Created with settings; the same again is accepted. */
    json_t *config = J("{\"description\": \"the files\", \"storage\": \"memory\", \"ttl\": 3600000000000, "
                       "\"max_bytes\": 10485760, \"metadata\": {\"team\": \"ops\"}}");
    CHECK_OK(snats_obj_bucket_create(&obs, js, "files", config));
    CHECK_NOT_NULL(obs);
    snats_obj *again = NULL;
    CHECK_OK(snats_obj_bucket_create(&again, js, "files", config));
    CHECK_NOT_NULL(again);
    json_decref(config);

    /* The stream underneath, as nats.go makes it. */
    json_t *stream = NULL;
    CHECK_OK(snats_js_stream_info(&stream, js, "OBJ_files", NULL));
    CHECK_EQ_STR(JSTR(stream, "config.name"), "OBJ_files");
    CHECK_EQ_STR(JSTR(stream, "config.storage"), "memory");
    CHECK_EQ_STR(JSTR(stream, "config.description"), "the files");
    CHECK_EQ_STR(JSTR(stream, "config.discard"), "new");
    CHECK_EQ_INT(JINT(stream, "config.max_age"), 3600000000000LL);
    CHECK_EQ_INT(JINT(stream, "config.max_bytes"), 10485760);
    CHECK(JBOOL(stream, "config.allow_rollup_hdrs"));
    const json_t *subjects = jat(stream, "config.subjects");
    CHECK_EQ_INT(json_array_size(subjects), 2);
    CHECK_EQ_STR(json_string_value(json_array_get(subjects, 0)), "$O.files.C.>");
    CHECK_EQ_STR(json_string_value(json_array_get(subjects, 1)), "$O.files.M.>");
    json_decref(stream);

    /* Bound through another handle, it sees the same objects. */
    snats_obj *bound = NULL;
    CHECK_OK(snats_obj_bucket_bind(&bound, js, "files"));
    CHECK_NOT_NULL(bound);
    put_text(obs, "a", "alpha");
    CHECK_TEXT(bound, "a", "alpha");
    CHECK_TEXT(again, "a", "alpha");

    /* Names: only object buckets (not a plain stream, not a KV bucket). */
    json_t *plain = J("{\"name\": \"PLAIN\", \"subjects\": [\"plain.>\"], \"storage\": \"memory\"}");
    CHECK_OK(snats_js_stream_add(NULL, js, plain));
    json_decref(plain);
    snats_obj *second = NULL;
    CHECK_OK(snats_obj_bucket_create(&second, js, "second_one-2", NULL));
    CHECK_OK(snats_obj_bucket_names(&names, js));
    CHECK_EQ_INT(json_array_size(names), 2);
    bool has_files = false, has_second = false;
    for (size_t i = 0; i < json_array_size(names); i++) {
        const char *name = json_string_value(json_array_get(names, i));
        CHECK_NOT_NULL(name);
        if (strcmp(name, "files") == 0) has_files = true;
        if (strcmp(name, "second_one-2") == 0) has_second = true;
    }
    CHECK(has_files && has_second);
    json_decref(names);

    /* Bad names, unknown or mistyped settings. */
    const char *bad[] = {"a.b", "a b", "a*", "a>", "", "bad/name"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snats_obj *o = (snats_obj *)0x1;
        snats_status s = snats_obj_bucket_create(&o, js, bad[i], NULL);
        if (s != SNATS_INVALID_ARG) FAIL("create \"%s\" returned %s", bad[i], snats_status_text(s));
        CHECK_NULL(o);
        o = (snats_obj *)0x1;
        s = snats_obj_bucket_bind(&o, js, bad[i]);
        if (s != SNATS_INVALID_ARG) FAIL("bind \"%s\" returned %s", bad[i], snats_status_text(s));
        CHECK_NULL(o);
        CHECK_STATUS(snats_obj_bucket_delete(js, bad[i]), SNATS_INVALID_ARG);
    }
    json_t *unknown = J("{\"history\": 5}");
    snats_obj *o = (snats_obj *)0x1;
    CHECK_STATUS(snats_obj_bucket_create(&o, js, "other", unknown), SNATS_INVALID_ARG);
    CHECK_NULL(o);
    json_decref(unknown);
    json_t *not_object = J("[1]");
    CHECK_STATUS(snats_obj_bucket_create(&o, js, "other", not_object), SNATS_INVALID_ARG);
    json_decref(not_object);
    CHECK_STATUS(snats_obj_bucket_bind(&o, js, "other"), SNATS_NOT_FOUND);

    /* Deleted: its stream goes; handles still open fail with NOT_FOUND; again NOT_FOUND. */
    CHECK_OK(snats_obj_bucket_delete(js, "files"));
    json_t *info = NULL;
    CHECK_STATUS(snats_js_stream_info(&info, js, "OBJ_files", NULL), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_obj_bucket_bind(&o, js, "files"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    CHECK_STATUS(snats_obj_bucket_delete(js, "files"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    CHECK_OK(snats_obj_bucket_names(&names, js));
    CHECK_EQ_INT(json_array_size(names), 1);
    CHECK_EQ_STR(json_string_value(json_array_get(names, 0)), "second_one-2");
    json_decref(names);

    snats_obj_destroy(second);
    snats_obj_destroy(bound);
    snats_obj_destroy(again);
    snats_obj_destroy(obs);
    snats_obj_destroy(NULL);
    snats_jetstream_destroy(js);
    snats_conn_destroy(c);
    server_stop(&srv);
}

static void obj_status(void) {
    objfix f;
    objfix_up(&f);
    json_t *st = NULL;
    CHECK_OK(snats_obj_status(&st, f.obs));
    CHECK_EQ_STR(JSTR(st, "bucket"), "files");
    CHECK_EQ_STR(JSTR(st, "storage"), "file");
    CHECK_EQ_INT(JINT(st, "ttl"), 0);
    CHECK_EQ_INT(JINT(st, "replicas"), 1);
    CHECK_EQ_INT(JINT(st, "size"), 0);
    CHECK(!JBOOL(st, "sealed"));
    CHECK_EQ_STR(JSTR(st, "info.config.name"), "OBJ_files");
    json_decref(st);

    put_text(f.obs, "x", "some bytes");
    CHECK_OK(snats_obj_status(&st, f.obs));
    CHECK(JINT(st, "size") > 10);
    CHECK_EQ_INT(JINT(st, "info.state.messages"), 2); /* one chunk, one info */
    json_decref(st);

    /* A bucket with settings reports them. */
    json_t *config = J("{\"description\": \"short-lived\", \"ttl\": 60000000000, \"storage\": \"memory\"}");
    snats_obj *mem = NULL;
    CHECK_OK(snats_obj_bucket_create(&mem, f.js, "mem", config));
    json_decref(config);
    CHECK_OK(snats_obj_status(&st, mem));
    CHECK_EQ_STR(JSTR(st, "bucket"), "mem");
    CHECK_EQ_STR(JSTR(st, "description"), "short-lived");
    CHECK_EQ_STR(JSTR(st, "storage"), "memory");
    CHECK_EQ_INT(JINT(st, "ttl"), 60000000000LL);
    json_decref(st);

    /* NULL arguments. */
    CHECK_STATUS(snats_obj_status(NULL, f.obs), SNATS_INVALID_ARG);
    st = (json_t *)0x1;
    CHECK_STATUS(snats_obj_status(&st, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(st);

    /* The bucket deleted under the handle. */
    CHECK_OK(snats_obj_bucket_delete(f.js, "mem"));
    CHECK_STATUS(snats_obj_status(&st, mem), SNATS_NOT_FOUND);
    snats_obj_destroy(mem);
    objfix_down(&f);
}

/* A handle whose bucket was deleted: each call says the bucket is not there (SNATS_NOT_FOUND,
 * stream not found), at once. The context waits 2 s for an answer: a call that went unanswered
 * fails with SNATS_TIMEOUT. */
static void obj_bucket_deleted_under_handle(void) {
    test_server srv;
    js_server_start(&srv);
    snats_conn *c = connect_or_fail(srv.url);
    snats_jetstream *js = NULL;
    json_t *opts = J("{\"timeout_ms\": %lld}", (long long)harness_ms(2000));
    CHECK_OK(snats_jetstream_create(&js, c, opts));
    json_decref(opts);
    snats_obj *obs = NULL;
    CHECK_OK(snats_obj_bucket_create(&obs, js, "gone", NULL));
    put_text(obs, "a", "alpha");
    CHECK_OK(snats_obj_bucket_delete(js, "gone"));

    json_t *info = (json_t *)0x1;
    snats_status s = snats_obj_status(&info, obs);
    if (s != SNATS_NOT_FOUND) FAIL("snats_obj_status: %s (%s)", snats_status_text(s), snats_last_error());
    CHECK_API_ERROR(404, 10059);
    s = snats_obj_list(&info, obs, true);
    if (s != SNATS_NOT_FOUND) FAIL("snats_obj_list: %s (%s)", snats_status_text(s), snats_last_error());
    CHECK_API_ERROR(404, 10059);
    int64_t started = harness_now_ms();
    s = snats_obj_info(&info, obs, "a", false);
    if (s != SNATS_NOT_FOUND)
        FAIL("snats_obj_info on a deleted bucket: %s after %lld ms (%s), expected SNATS_NOT_FOUND (10059)", snats_status_text(s),
             (long long)(harness_now_ms() - started), snats_last_error());
    CHECK_NULL(info);
    CHECK_API_ERROR(404, 10059);
    void *data = NULL;
    size_t len = 0;
    s = snats_obj_get_bytes(NULL, &data, &len, obs, "a");
    if (s != SNATS_NOT_FOUND) FAIL("snats_obj_get_bytes on a deleted bucket: %s (%s)", snats_status_text(s), snats_last_error());
    s = snats_obj_delete(obs, "a");
    if (s != SNATS_NOT_FOUND) FAIL("snats_obj_delete on a deleted bucket: %s (%s)", snats_status_text(s), snats_last_error());
    snats_obj_destroy(obs);
    snats_jetstream_destroy(js);
    snats_conn_destroy(c);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * Putting and getting
 * ---------------------------------------------------------------------------------------- */

static void obj_put_get_bytes(void) {
    objfix f;
    objfix_up(&f);
    json_t *info = NULL;
    CHECK_OK(snats_obj_put_bytes(&info, f.obs, "greeting", "hello", 5));
    CHECK_EQ_STR(JSTR(info, "name"), "greeting");
    CHECK_EQ_STR(JSTR(info, "bucket"), "files");
    CHECK_EQ_INT(JINT(info, "size"), 5);
    CHECK_EQ_INT(JINT(info, "chunks"), 1);
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_HELLO);
    CHECK_EQ_INT(JINT(info, "options.max_chunk_size"), 131072);
    CHECK(strlen(JSTR(info, "nuid")) > 0);
    CHECK(strlen(JSTR(info, "mtime")) >= 20); /* RFC 3339 */
    CHECK(!info_deleted(info));
    char nuid[64];
    snprintf(nuid, sizeof nuid, "%s", JSTR(info, "nuid"));
    json_decref(info);

    /* Layout: one chunk on $O.files.C.<nuid>, the info on $O.files.M.<base64url(name)>. */
    char subject[128];
    snprintf(subject, sizeof subject, "$O.files.C.%s", nuid);
    CHECK_EQ_INT(subject_messages(f.js, "OBJ_files", subject), 1);
    CHECK_EQ_INT(subject_messages(f.js, "OBJ_files", "$O.files.M.Z3JlZXRpbmc="), 1);

    void *data = (void *)0x1;
    size_t len = 0;
    info = NULL;
    CHECK_OK(snats_obj_get_bytes(&info, &data, &len, f.obs, "greeting"));
    CHECK_NOT_NULL(data);
    CHECK_EQ_INT(len, 5);
    CHECK(memcmp(data, "hello", 5) == 0);
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_HELLO);
    CHECK_EQ_STR(JSTR(info, "nuid"), nuid);
    snats_free(data);
    json_decref(info);

    /* The info out-parameter may be NULL. */
    CHECK_OK(snats_obj_put_bytes(NULL, f.obs, "nil-info", "x", 1));
    CHECK_OK(snats_obj_get_bytes(NULL, &data, &len, f.obs, "nil-info"));
    CHECK_EQ_INT(len, 1);
    snats_free(data);

    /* Names are free text: spaces, slashes, dots, non-ASCII. */
    const char *names[] = {"dir/sub dir/file.txt", "ünïcødé ✓", "a.b.c", "*", ">"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "content %zu", i);
        put_text(f.obs, names[i], text);
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "content %zu", i);
        CHECK_TEXT(f.obs, names[i], text);
    }

    /* A missing object. */
    data = (void *)0x1;
    len = 7;
    info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_get_bytes(&info, &data, &len, f.obs, "missing"), SNATS_NOT_FOUND);
    CHECK_NULL(info);
    CHECK_NULL(data);
    CHECK_EQ_INT(len, 0);
    objfix_down(&f);
}

static void obj_put_reader_many_chunks(void) {
    objfix f;
    objfix_up(&f);
    const size_t N = 100000;
    unsigned char *bytes = pattern(N, 1);

    /* Pieces of 777 bytes with chunks of up to 1000: each piece is a chunk (as nats.go). */
    feed r;
    feed_init(&r, bytes, N, 777);
    json_t *info = put_with(f.obs, "{\"name\": \"big\", \"chunk_size\": 1000}", &r);
    int want_chunks = (int)((N + 776) / 777);
    CHECK_EQ_INT(r.pieces, want_chunks);
    CHECK_EQ_INT(r.off, N);
    CHECK_EQ_INT(r.max_capacity, 1000);
    CHECK_EQ_INT(r.min_capacity, 1000);
    CHECK_EQ_INT(JINT(info, "size"), N);
    CHECK_EQ_INT(JINT(info, "chunks"), want_chunks);
    CHECK_EQ_INT(JINT(info, "options.max_chunk_size"), 1000);
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), want_chunks + 1);
    char digest[128];
    snprintf(digest, sizeof digest, "%s", JSTR(info, "digest"));
    CHECK(strncmp(digest, "SHA-256=", 8) == 0);
    json_decref(info);

    /* Read back with a writer: the same bytes, one call per chunk. */
    sink w;
    sink_init(&w);
    info = NULL;
    CHECK_OK(snats_obj_get(&info, f.obs, "big", sink_write, &w));
    CHECK_EQ_INT(w.len, N);
    CHECK(memcmp(w.buf, bytes, N) == 0);
    CHECK_EQ_INT(w.calls, want_chunks);
    CHECK_EQ_STR(JSTR(info, "digest"), digest);
    json_decref(info);
    free(w.buf);

    /* A reader filling the whole buffer: 100 chunks of 1000. */
    feed_init(&r, bytes, N, SIZE_MAX);
    info = put_with(f.obs, "{\"name\": \"full\", \"chunk_size\": 1000}", &r);
    CHECK_EQ_INT(JINT(info, "chunks"), 100);
    CHECK_EQ_STR(JSTR(info, "digest"), digest); /* the same bytes, the same digest */
    json_decref(info);

    /* The default chunk size: 131072. */
    feed_init(&r, bytes, N, SIZE_MAX);
    info = put_with(f.obs, "{\"name\": \"default\"}", &r);
    CHECK_EQ_INT(r.max_capacity, 131072);
    CHECK_EQ_INT(JINT(info, "chunks"), 1);
    json_decref(info);

    void *data = NULL;
    size_t len = 0;
    CHECK_OK(snats_obj_get_bytes(NULL, &data, &len, f.obs, "full"));
    CHECK_EQ_INT(len, N);
    CHECK(memcmp(data, bytes, N) == 0);
    snats_free(data);
    free(bytes);
    objfix_down(&f);
}

static void obj_reader_fails(void) {
    objfix f;
    objfix_up(&f);
    const size_t N = 50000;
    unsigned char *bytes = pattern(N, 2);

    /* 10, 47, 84... chunks stored, then the reader fails: nothing is left behind (the header:
     * "the chunks stored so far are removed"). */
    for (int round = 0; round < 5; round++) {
        feed r;
        feed_init(&r, bytes, N, 100);
        r.fail_after = 10 + round * 37;
        json_t *meta = J("{\"name\": \"broken\", \"chunk_size\": 100}");
        json_t *info = (json_t *)0x1;
        CHECK_STATUS(snats_obj_put(&info, f.obs, meta, feed_read, &r), SNATS_IO_ERROR);
        json_decref(meta);
        CHECK_NULL(info);
        CHECK_EQ_INT(r.pieces, r.fail_after);
        CHECK_STATUS(snats_obj_info(&info, f.obs, "broken", true), SNATS_NOT_FOUND);
        CHECK_NULL(info);
        /* No chunk stays (now, nor after any publish in flight could have landed). */
        long long now = stream_messages(f.js, "OBJ_files");
        harness_sleep_ms(harness_ms(200));
        long long later = stream_messages(f.js, "OBJ_files");
        if (now != 0 || later != 0)
            FAIL("the reader failed after %d chunks: %lld chunks left behind (%lld 200 ms later)", r.fail_after, now, later);
    }

    /* A reader failing at once: nothing was published. */
    feed r;
    feed_init(&r, bytes, N, 100);
    r.fail_after = 1;
    r.pieces = 1; /* as if one piece had been given: the first call returns -1 */
    json_t *meta = J("{\"name\": \"broken\"}");
    json_t *info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_put(&info, f.obs, meta, feed_read, &r), SNATS_IO_ERROR);
    CHECK_NULL(info);
    CHECK_EQ_INT(r.calls, 1);

    /* A reader returning more than the buffer holds. */
    feed_init(&r, bytes, N, 100);
    r.overfill = true;
    CHECK_STATUS(snats_obj_put(&info, f.obs, meta, feed_read, &r), SNATS_IO_ERROR);
    CHECK_NULL(info);
    json_decref(meta);
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 0);

    /* A failed replacement leaves the object it would have replaced. */
    put_text(f.obs, "keep", "the original");
    feed_init(&r, bytes, N, 100);
    r.fail_after = 5;
    meta = J("{\"name\": \"keep\", \"chunk_size\": 100}");
    CHECK_STATUS(snats_obj_put(NULL, f.obs, meta, feed_read, &r), SNATS_IO_ERROR);
    json_decref(meta);
    CHECK_TEXT(f.obs, "keep", "the original");
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 2);
    free(bytes);
    objfix_down(&f);
}

static void obj_writer_fails(void) {
    objfix f;
    objfix_up(&f);
    const size_t N = 10000;
    unsigned char *bytes = pattern(N, 3);
    feed r;
    feed_init(&r, bytes, N, SIZE_MAX);
    json_decref(put_with(f.obs, "{\"name\": \"obj\", \"chunk_size\": 1000}", &r));

    /* Stopped at the first and at the fourth chunk. */
    int stops[] = {1, 4};
    for (size_t i = 0; i < 2; i++) {
        sink w;
        sink_init(&w);
        w.fail_at = stops[i];
        json_t *info = (json_t *)0x1;
        CHECK_STATUS(snats_obj_get(&info, f.obs, "obj", sink_write, &w), SNATS_IO_ERROR);
        CHECK_NULL(info);
        CHECK_EQ_INT(w.calls, stops[i]); /* not called again after it said stop */
        CHECK_EQ_INT(w.len, (size_t)(stops[i] - 1) * 1000);
        free(w.buf);
    }

    /* The object is intact; the writer's refusal left no consumer behind. */
    sink w;
    sink_init(&w);
    CHECK_OK(snats_obj_get(NULL, f.obs, "obj", sink_write, &w));
    CHECK_EQ_INT(w.len, N);
    CHECK(memcmp(w.buf, bytes, N) == 0);
    free(w.buf);
    CHECK_EVENTUALLY(stream_consumer_count(f.js, "OBJ_files") == 0, 5000);
    free(bytes);
    objfix_down(&f);
}

/* Writes len bytes into a pipe's write end, then closes it. */
typedef struct {
    int fd;
    const unsigned char *data;
    size_t len;
} pipe_job;

static void *pipe_writer(void *arg) {
    pipe_job *job = arg;
    size_t off = 0;
    while (off < job->len) {
        size_t n = job->len - off;
        if (n > 3000) n = 3000;
        ssize_t w = write(job->fd, job->data + off, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) FAIL("write to the pipe: %s", strerror(errno));
        off += (size_t)w;
    }
    close(job->fd);
    return NULL;
}

/* Reads a pipe's read end until its end. */
typedef struct {
    int fd;
    unsigned char *buf;
    size_t len;
    size_t cap;
} pipe_drain;

static void *pipe_reader(void *arg) {
    pipe_drain *d = arg;
    for (;;) {
        if (d->len == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 65536;
            d->buf = realloc(d->buf, d->cap);
        }
        ssize_t n = read(d->fd, d->buf + d->len, d->cap - d->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) FAIL("read from the pipe: %s", strerror(errno));
        if (n == 0) break;
        d->len += (size_t)n;
    }
    close(d->fd);
    return NULL;
}

static void obj_put_get_fd(void) {
    objfix f;
    objfix_up(&f);
    const size_t N = 300000; /* more than a pipe holds */
    unsigned char *bytes = pattern(N, 4);

    /* put_fd from a pipe fed by another thread. */
    int p[2];
    CHECK(pipe(p) == 0);
    pipe_job job = {p[1], bytes, N};
    pthread_t t;
    harness_spawn(&t, pipe_writer, &job);
    json_t *meta = J("{\"name\": \"piped\", \"chunk_size\": 65536}");
    json_t *info = NULL;
    CHECK_OK(snats_obj_put_fd(&info, f.obs, meta, p[0]));
    json_decref(meta);
    harness_join(t);
    CHECK_EQ_INT(JINT(info, "size"), N);
    CHECK(JINT(info, "chunks") >= 5);
    json_decref(info);
    /* The descriptor is not closed. */
    CHECK(fcntl(p[0], F_GETFD) != -1);
    close(p[0]);

    /* get_fd into a pipe drained by another thread. */
    CHECK(pipe(p) == 0);
    pipe_drain drain = {p[0], NULL, 0, 0};
    harness_spawn(&t, pipe_reader, &drain);
    CHECK_OK(snats_obj_get_fd(&info, f.obs, "piped", p[1]));
    CHECK_EQ_INT(JINT(info, "size"), N);
    json_decref(info);
    CHECK(fcntl(p[1], F_GETFD) != -1);
    close(p[1]);
    harness_join(t);
    CHECK_EQ_INT(drain.len, N);
    CHECK(memcmp(drain.buf, bytes, N) == 0);
    free(drain.buf);

    /* A temporary file: put_fd from it, get_fd into another. */
    char path[700], out[700];
    snprintf(path, sizeof path, "%s/in.bin", harness_test_dir());
    snprintf(out, sizeof out, "%s/out.bin", harness_test_dir());
    write_file(path, bytes, N / 3);
    int in_fd = open(path, O_RDONLY);
    CHECK(in_fd >= 0);
    meta = J("{\"name\": \"from-file-fd\"}");
    CHECK_OK(snats_obj_put_fd(&info, f.obs, meta, in_fd));
    json_decref(meta);
    close(in_fd);
    CHECK_EQ_INT(JINT(info, "size"), N / 3);
    json_decref(info);
    int out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(out_fd >= 0);
    CHECK_OK(snats_obj_get_fd(NULL, f.obs, "from-file-fd", out_fd));
    close(out_fd);
    size_t len = 0;
    unsigned char *back = read_file(out, &len);
    CHECK_EQ_INT(len, N / 3);
    CHECK(memcmp(back, bytes, len) == 0);
    free(back);

    /* Bad descriptors: negative is an argument error; one that fails is an I/O error. */
    meta = J("{\"name\": \"bad-fd\"}");
    CHECK_STATUS(snats_obj_put_fd(&info, f.obs, meta, -1), SNATS_INVALID_ARG);
    CHECK_NULL(info);
    int closed_fd = open(path, O_RDONLY);
    close(closed_fd);
    CHECK_STATUS(snats_obj_put_fd(&info, f.obs, meta, closed_fd), SNATS_IO_ERROR);
    CHECK_NULL(info);
    int wronly = open(out, O_WRONLY);
    CHECK(wronly >= 0);
    CHECK_STATUS(snats_obj_put_fd(&info, f.obs, meta, wronly), SNATS_IO_ERROR); /* not readable */
    close(wronly);
    json_decref(meta);
    CHECK_STATUS(snats_obj_info(&info, f.obs, "bad-fd", true), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_obj_get_fd(&info, f.obs, "piped", -1), SNATS_INVALID_ARG);
    CHECK_NULL(info);
    int rdonly = open(path, O_RDONLY);
    CHECK_STATUS(snats_obj_get_fd(&info, f.obs, "piped", rdonly), SNATS_IO_ERROR); /* not writable */
    CHECK_NULL(info);
    close(rdonly);
    CHECK_STATUS(snats_obj_get_fd(&info, f.obs, "missing", 1), SNATS_NOT_FOUND);
    free(bytes);
    objfix_down(&f);
}

static void obj_put_get_file(void) {
    objfix f;
    objfix_up(&f);
    const size_t N = 250000;
    unsigned char *bytes = pattern(N, 5);
    char path[700], out[700], missing[700], nodir[700];
    snprintf(path, sizeof path, "%s/report.bin", harness_test_dir());
    snprintf(out, sizeof out, "%s/copy.bin", harness_test_dir());
    snprintf(missing, sizeof missing, "%s/no-such-file", harness_test_dir());
    snprintf(nodir, sizeof nodir, "%s/no-such-dir/copy.bin", harness_test_dir());
    write_file(path, bytes, N);

    json_t *meta = J("{\"name\": \"report\", \"description\": \"a report\"}");
    json_t *info = NULL;
    CHECK_OK(snats_obj_put_file(&info, f.obs, meta, path));
    json_decref(meta);
    CHECK_EQ_INT(JINT(info, "size"), N);
    CHECK_EQ_INT(JINT(info, "chunks"), 2); /* 131072 + 118928 */
    CHECK_EQ_STR(JSTR(info, "description"), "a report");
    char digest[128];
    snprintf(digest, sizeof digest, "%s", JSTR(info, "digest"));
    json_decref(info);

    /* Written to a new file (created, mode 0644 less the umask), then over a longer one. */
    mode_t mask = umask(0);
    umask(mask);
    CHECK_OK(snats_obj_get_file(&info, f.obs, "report", out));
    CHECK_EQ_STR(JSTR(info, "digest"), digest);
    json_decref(info);
    struct stat st;
    CHECK(stat(out, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0644 & ~mask);
    size_t len = 0;
    unsigned char *back = read_file(out, &len);
    CHECK_EQ_INT(len, N);
    CHECK(memcmp(back, bytes, N) == 0);
    free(back);

    put_text(f.obs, "short", "tiny");
    CHECK_OK(snats_obj_get_file(NULL, f.obs, "short", out)); /* truncated */
    back = read_file(out, &len);
    CHECK_EQ_INT(len, 4);
    CHECK(memcmp(back, "tiny", 4) == 0);
    free(back);

    /* Files that cannot be opened. */
    meta = J("{\"name\": \"nothing\"}");
    info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_put_file(&info, f.obs, meta, missing), SNATS_IO_ERROR);
    CHECK_NULL(info);
    CHECK_STATUS(snats_obj_put_file(&info, f.obs, meta, harness_test_dir()), SNATS_IO_ERROR); /* a directory */
    CHECK_STATUS(snats_obj_info(&info, f.obs, "nothing", true), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_obj_put_file(&info, f.obs, meta, NULL), SNATS_INVALID_ARG);
    json_decref(meta);
    info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_get_file(&info, f.obs, "report", nodir), SNATS_IO_ERROR);
    CHECK_NULL(info);
    CHECK_STATUS(snats_obj_get_file(&info, f.obs, "report", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get_file(&info, f.obs, "missing", out), SNATS_NOT_FOUND);
    free(bytes);
    objfix_down(&f);
}

static void obj_replace_purges_old_chunks(void) {
    objfix f;
    objfix_up(&f);
    unsigned char *one = pattern(3000, 6);
    unsigned char *two = pattern(1500, 7);
    feed r;
    feed_init(&r, one, 3000, SIZE_MAX);
    json_t *first = put_with(f.obs, "{\"name\": \"doc\", \"chunk_size\": 1000}", &r);
    CHECK_EQ_INT(JINT(first, "chunks"), 3);
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 4);

    feed_init(&r, two, 1500, SIZE_MAX);
    json_t *second = put_with(f.obs, "{\"name\": \"doc\", \"chunk_size\": 1000}", &r);
    CHECK_EQ_INT(JINT(second, "chunks"), 2);
    CHECK(strcmp(JSTR(first, "nuid"), JSTR(second, "nuid")) != 0);
    /* The old chunks and the old info are gone: two chunks and one info. */
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 3);
    char subject[128];
    snprintf(subject, sizeof subject, "$O.files.C.%s", JSTR(first, "nuid"));
    CHECK_EQ_INT(subject_messages(f.js, "OBJ_files", subject), 0);

    void *data = NULL;
    size_t len = 0;
    json_t *info = NULL;
    CHECK_OK(snats_obj_get_bytes(&info, &data, &len, f.obs, "doc"));
    CHECK_EQ_INT(len, 1500);
    CHECK(memcmp(data, two, 1500) == 0);
    CHECK_EQ_STR(JSTR(info, "nuid"), JSTR(second, "nuid"));
    snats_free(data);
    json_decref(info);

    /* Replaced by an empty object: no chunks at all. */
    CHECK_OK(snats_obj_put_bytes(NULL, f.obs, "doc", "", 0));
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 1);

    /* A deleted object put again. */
    CHECK_OK(snats_obj_delete(f.obs, "doc"));
    put_text(f.obs, "doc", "back again");
    CHECK_TEXT(f.obs, "doc", "back again");
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 2);
    json_decref(first);
    json_decref(second);
    free(one);
    free(two);
    objfix_down(&f);
}

static void obj_meta_members(void) {
    objfix f;
    objfix_up(&f);
    feed r;
    feed_init(&r, "hello", 5, SIZE_MAX);
    json_t *info = put_with(f.obs,
                            "{\"name\": \"m\", \"description\": \"with everything\", "
                            "\"headers\": {\"Content-Type\": [\"text/plain\"], \"X-Multi\": [\"a\", \"b\"]}, "
                            "\"metadata\": {\"owner\": \"ops\", \"tier\": \"gold\"}, \"chunk_size\": 4096}",
                            &r);
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_HELLO);
    json_decref(info);
    CHECK_OK(snats_obj_info(&info, f.obs, "m", false));
    CHECK_EQ_STR(JSTR(info, "description"), "with everything");
    CHECK_EQ_STR(JSTR(info, "metadata.owner"), "ops");
    CHECK_EQ_STR(JSTR(info, "metadata.tier"), "gold");
    CHECK_EQ_INT(JINT(info, "options.max_chunk_size"), 4096);
    const json_t *ct = jat(info, "headers.Content-Type");
    CHECK(json_is_array(ct) && json_array_size(ct) == 1);
    CHECK_EQ_STR(json_string_value(json_array_get(ct, 0)), "text/plain");
    const json_t *multi = jat(info, "headers.X-Multi");
    CHECK(json_is_array(multi) && json_array_size(multi) == 2);
    CHECK_EQ_STR(json_string_value(json_array_get(multi, 0)), "a");
    CHECK_EQ_STR(json_string_value(json_array_get(multi, 1)), "b");
    json_decref(info);

    /* Refused meta: nothing is stored. */
    const char *bad[] = {
        "{\"name\": \"m2\", \"nope\": 1}",                      /* unknown member */
        "{\"name\": \"m2\", \"options\": {\"max_chunk_size\": 10}}", /* nats.go's spelling is not a member here */
        "{\"description\": \"no name\"}",                        /* name missing */
        "{\"name\": \"\"}",                                      /* empty name */
        "{\"name\": 5}",                                         /* wrong type */
        "{\"name\": \"m2\", \"chunk_size\": 0}",
        "{\"name\": \"m2\", \"chunk_size\": -5}",
        "{\"name\": \"m2\", \"chunk_size\": \"big\"}",
        "{\"name\": \"m2\", \"headers\": {\"K\": \"not an array\"}}",
        "{\"name\": \"m2\", \"headers\": {\"K\": [1]}}",
        "{\"name\": \"m2\", \"headers\": [\"K\"]}",
        "{\"name\": \"m2\", \"metadata\": {\"k\": 1}}",
        "{\"name\": \"m2\", \"metadata\": \"k\"}",
        "[\"m2\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *meta = J("%s", bad[i]);
        feed_init(&r, "hello", 5, SIZE_MAX);
        info = (json_t *)0x1;
        snats_status s = snats_obj_put(&info, f.obs, meta, feed_read, &r);
        if (s != SNATS_INVALID_ARG) FAIL("put with meta %s returned %s", bad[i], snats_status_text(s));
        CHECK_NULL(info);
        CHECK_EQ_INT(r.calls, 0); /* refused before reading */
        info = (json_t *)0x1;
        s = snats_obj_put_fd(&info, f.obs, meta, 0);
        if (s != SNATS_INVALID_ARG) FAIL("put_fd with meta %s returned %s", bad[i], snats_status_text(s));
        CHECK_NULL(info);
        s = snats_obj_put_file(&info, f.obs, meta, "/dev/null");
        if (s != SNATS_INVALID_ARG) FAIL("put_file with meta %s returned %s", bad[i], snats_status_text(s));
        json_decref(meta);
    }
    CHECK_STATUS(snats_obj_info(&info, f.obs, "m2", true), SNATS_NOT_FOUND);
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 2);
    objfix_down(&f);
}

static void obj_info_delete(void) {
    objfix f;
    objfix_up(&f);
    feed r;
    unsigned char *bytes = pattern(5000, 8);
    feed_init(&r, bytes, 5000, SIZE_MAX);
    json_t *put = put_with(f.obs, "{\"name\": \"victim\", \"chunk_size\": 1000}", &r);

    json_t *info = NULL;
    CHECK_OK(snats_obj_info(&info, f.obs, "victim", false));
    CHECK(json_equal(info, put));
    json_decref(info);
    CHECK_OK(snats_obj_info(&info, f.obs, "victim", true));
    CHECK(json_equal(info, put));
    json_decref(info);
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 6);

    CHECK_OK(snats_obj_delete(f.obs, "victim"));
    /* Its chunks are gone, its info says deleted. */
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 1);
    info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_info(&info, f.obs, "victim", false), SNATS_NOT_FOUND);
    CHECK_NULL(info);
    CHECK_API_ERROR(404, 10037);
    CHECK_OK(snats_obj_info(&info, f.obs, "victim", true));
    CHECK(info_deleted(info));
    CHECK_EQ_STR(JSTR(info, "name"), "victim");
    CHECK_EQ_INT(JINT(info, "size"), 0);
    CHECK_EQ_INT(JINT(info, "chunks"), 0);
    json_decref(info);

    /* Reading it, deleting it again. */
    void *data = (void *)0x1;
    size_t len = 3;
    CHECK_STATUS(snats_obj_get_bytes(&info, &data, &len, f.obs, "victim"), SNATS_NOT_FOUND);
    CHECK_NULL(data);
    sink w;
    sink_init(&w);
    CHECK_STATUS(snats_obj_get(NULL, f.obs, "victim", sink_write, &w), SNATS_NOT_FOUND);
    CHECK_EQ_INT(w.calls, 0);
    CHECK_STATUS(snats_obj_delete(f.obs, "victim"), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_obj_delete(f.obs, "never-was"), SNATS_NOT_FOUND);
    CHECK_STATUS(snats_obj_info(&info, f.obs, "never-was", true), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10037);

    /* Bad and NULL arguments. */
    CHECK_STATUS(snats_obj_info(&info, f.obs, "", false), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_info(&info, f.obs, NULL, false), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_info(NULL, f.obs, "victim", true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_info(&info, NULL, "victim", true), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_delete(f.obs, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_delete(NULL, "victim"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_delete(f.obs, ""), SNATS_INVALID_ARG);
    json_decref(put);
    free(bytes);
    objfix_down(&f);
}

static const json_t *find_named(const json_t *infos, const char *name) {
    for (size_t i = 0; i < json_array_size(infos); i++) {
        const json_t *info = json_array_get(infos, i);
        const char *n = json_string_value(json_object_get(info, "name"));
        if (n != NULL && strcmp(n, name) == 0) return info;
    }
    return NULL;
}

static void obj_list(void) {
    objfix f;
    objfix_up(&f);
    json_t *infos = NULL;
    CHECK_OK(snats_obj_list(&infos, f.obs, false));
    CHECK(json_is_array(infos));
    CHECK_EQ_INT(json_array_size(infos), 0);
    json_decref(infos);
    CHECK_OK(snats_obj_list(&infos, f.obs, true));
    CHECK_EQ_INT(json_array_size(infos), 0);
    json_decref(infos);

    put_text(f.obs, "a", "1");
    put_text(f.obs, "b", "22");
    put_text(f.obs, "c", "333");
    put_text(f.obs, "a", "1111"); /* replaced: listed once, as the last */
    CHECK_OK(snats_obj_delete(f.obs, "b"));

    CHECK_OK(snats_obj_list(&infos, f.obs, false));
    CHECK_EQ_INT(json_array_size(infos), 2);
    CHECK_NOT_NULL(find_named(infos, "a"));
    CHECK_NOT_NULL(find_named(infos, "c"));
    CHECK_NULL(find_named(infos, "b"));
    CHECK_EQ_INT(JINT(find_named(infos, "a"), "size"), 4);
    CHECK_EQ_INT(JINT(find_named(infos, "c"), "size"), 3);
    json_decref(infos);

    CHECK_OK(snats_obj_list(&infos, f.obs, true));
    CHECK_EQ_INT(json_array_size(infos), 3);
    const json_t *b = find_named(infos, "b");
    CHECK_NOT_NULL(b);
    CHECK(info_deleted(b));
    CHECK(!info_deleted(find_named(infos, "a")));
    json_decref(infos);

    /* Only deleted ones left: an empty list without them. */
    CHECK_OK(snats_obj_delete(f.obs, "a"));
    CHECK_OK(snats_obj_delete(f.obs, "c"));
    CHECK_OK(snats_obj_list(&infos, f.obs, false));
    CHECK_EQ_INT(json_array_size(infos), 0);
    json_decref(infos);

    /* Many objects. */
    for (int i = 0; i < 150; i++) {
        char name[32];
        snprintf(name, sizeof name, "many-%03d", i);
        put_text(f.obs, name, name);
    }
    CHECK_OK(snats_obj_list(&infos, f.obs, false));
    CHECK_EQ_INT(json_array_size(infos), 150);
    json_decref(infos);

    CHECK_STATUS(snats_obj_list(NULL, f.obs, false), SNATS_INVALID_ARG);
    infos = (json_t *)0x1;
    CHECK_STATUS(snats_obj_list(&infos, NULL, false), SNATS_INVALID_ARG);
    CHECK_NULL(infos);
    objfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Links
 * ---------------------------------------------------------------------------------------- */

static void obj_links(void) {
    objfix f;
    objfix_up(&f);
    json_t *target = NULL;
    CHECK_OK(snats_obj_put_bytes(&target, f.obs, "target", "hello", 5));

    /* A link to an object: reading it reads the target (and gives the target's info). */
    json_t *link = NULL;
    CHECK_OK(snats_obj_add_link(&link, f.obs, "alias", target));
    CHECK_EQ_STR(JSTR(link, "name"), "alias");
    CHECK_EQ_STR(JSTR(link, "bucket"), "files");
    CHECK_EQ_STR(JSTR(link, "options.link.bucket"), "files");
    CHECK_EQ_STR(JSTR(link, "options.link.name"), "target");
    CHECK_EQ_INT(JINT(link, "size"), 0);
    json_decref(link);
    json_t *info = NULL;
    CHECK_OK(snats_obj_info(&info, f.obs, "alias", false));
    CHECK_EQ_STR(JSTR(info, "options.link.name"), "target");
    json_decref(info);
    void *data = NULL;
    size_t len = 0;
    CHECK_OK(snats_obj_get_bytes(&info, &data, &len, f.obs, "alias"));
    CHECK_EQ_INT(len, 5);
    CHECK(memcmp(data, "hello", 5) == 0);
    CHECK_EQ_STR(JSTR(info, "name"), "target");
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_HELLO);
    snats_free(data);
    json_decref(info);

    /* The target replaced: the link follows the name. */
    put_text(f.obs, "target", "newer");
    CHECK_TEXT(f.obs, "alias", "newer");

    /* A link to a link is refused; so is a link over an object. */
    json_t *alias = NULL;
    CHECK_OK(snats_obj_info(&alias, f.obs, "alias", false));
    info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_add_link(&info, f.obs, "alias2", alias), SNATS_INVALID_ARG);
    CHECK_NULL(info);
    json_decref(alias);
    put_text(f.obs, "solid", "an object");
    CHECK_STATUS(snats_obj_add_link(&info, f.obs, "solid", target), SNATS_INVALID_ARG);
    CHECK_TEXT(f.obs, "solid", "an object");
    CHECK_STATUS(snats_obj_info(&info, f.obs, "alias2", true), SNATS_NOT_FOUND);

    /* A link may be re-pointed (a link over a link). */
    json_t *solid = NULL;
    CHECK_OK(snats_obj_info(&solid, f.obs, "solid", false));
    CHECK_OK(snats_obj_add_link(NULL, f.obs, "alias", solid));
    CHECK_TEXT(f.obs, "alias", "an object");
    json_decref(solid);

    /* A link to an object of another bucket. */
    snats_obj *other = NULL;
    CHECK_OK(snats_obj_bucket_create(&other, f.js, "other", NULL));
    json_t *far = NULL;
    CHECK_OK(snats_obj_put_bytes(&far, other, "far", "from afar", 9));
    CHECK_OK(snats_obj_add_link(&link, f.obs, "to-far", far));
    CHECK_EQ_STR(JSTR(link, "options.link.bucket"), "other");
    CHECK_EQ_STR(JSTR(link, "options.link.name"), "far");
    json_decref(link);
    CHECK_TEXT(f.obs, "to-far", "from afar");
    json_decref(far);

    /* A link to a whole bucket: its info, but no bytes to read. */
    CHECK_OK(snats_obj_add_bucket_link(&link, f.obs, "whole", "other"));
    CHECK_EQ_STR(JSTR(link, "options.link.bucket"), "other");
    CHECK_NULL(jat(link, "options.link.name"));
    json_decref(link);
    data = (void *)0x1;
    CHECK_STATUS(snats_obj_get_bytes(&info, &data, &len, f.obs, "whole"), SNATS_INVALID_ARG);
    CHECK_NULL(data);
    sink w;
    sink_init(&w);
    CHECK_STATUS(snats_obj_get(&info, f.obs, "whole", sink_write, &w), SNATS_INVALID_ARG);
    CHECK_EQ_INT(w.calls, 0);
    CHECK_OK(snats_obj_info(&info, f.obs, "whole", false));
    CHECK_EQ_STR(JSTR(info, "options.link.bucket"), "other");
    /* A bucket link is a link: not a target for another link. */
    CHECK_STATUS(snats_obj_add_link(NULL, f.obs, "via-whole", info), SNATS_INVALID_ARG);
    json_decref(info);
    CHECK_STATUS(snats_obj_add_bucket_link(&link, f.obs, "bad", "bad.bucket"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_bucket_link(&link, f.obs, "solid", "other"), SNATS_INVALID_ARG); /* an object */

    /* Deleting a link leaves its target. */
    CHECK_OK(snats_obj_delete(f.obs, "to-far"));
    CHECK_STATUS(snats_obj_get(NULL, f.obs, "to-far", sink_write, &w), SNATS_NOT_FOUND);
    CHECK_TEXT(other, "far", "from afar");

    /* A link to a deleted target reads as not found. */
    CHECK_OK(snats_obj_delete(f.obs, "solid"));
    CHECK_STATUS(snats_obj_get(NULL, f.obs, "alias", sink_write, &w), SNATS_NOT_FOUND);

    /* Bad targets, NULL arguments. */
    json_t *nameless = J("{\"bucket\": \"files\"}");
    CHECK_STATUS(snats_obj_add_link(&info, f.obs, "x", nameless), SNATS_INVALID_ARG);
    json_decref(nameless);
    CHECK_STATUS(snats_obj_add_link(&info, f.obs, "x", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_link(&info, f.obs, NULL, target), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_link(&info, f.obs, "", target), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_link(&info, NULL, "x", target), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_bucket_link(&info, f.obs, "x", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_bucket_link(&info, f.obs, NULL, "other"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_add_bucket_link(&info, NULL, "x", "other"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_info(&info, f.obs, "x", true), SNATS_NOT_FOUND);
    json_decref(target);
    snats_obj_destroy(other);
    objfix_down(&f);
}

/* An info whose digest does not match its chunks: the get fails after the writer had them. */
static void obj_digest_mismatch(void) {
    objfix f;
    objfix_up(&f);
    json_t *info = NULL;
    CHECK_OK(snats_obj_put_bytes(&info, f.obs, "abc", "hello", 5));
    json_object_set_new(info, "digest", json_string("SHA-256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    char *text = json_dumps(info, JSON_COMPACT);
    CHECK_OK(snats_js_publish(NULL, f.js, "$O.files.M.YWJj", NULL, text, strlen(text), NULL)); /* base64url("abc") */
    free(text);
    json_decref(info);

    sink w;
    sink_init(&w);
    info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_get(&info, f.obs, "abc", sink_write, &w), SNATS_PROTOCOL_ERROR);
    CHECK_NULL(info);
    CHECK_EQ_INT(w.len, 5);
    free(w.buf);

    /* A size that does not match either. */
    CHECK_OK(snats_obj_put_bytes(&info, f.obs, "abc", "hello", 5));
    json_object_set_new(info, "size", json_integer(6));
    text = json_dumps(info, JSON_COMPACT);
    CHECK_OK(snats_js_publish(NULL, f.js, "$O.files.M.YWJj", NULL, text, strlen(text), NULL));
    free(text);
    json_decref(info);
    void *data = (void *)0x1;
    size_t len = 0;
    CHECK_STATUS(snats_obj_get_bytes(NULL, &data, &len, f.obs, "abc"), SNATS_PROTOCOL_ERROR);
    CHECK_NULL(data);
    objfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Empty objects, NULL arguments
 * ---------------------------------------------------------------------------------------- */

static void obj_empty_object(void) {
    objfix f;
    objfix_up(&f);
    json_t *info = NULL;
    CHECK_OK(snats_obj_put_bytes(&info, f.obs, "empty", NULL, 0));
    CHECK_EQ_INT(JINT(info, "size"), 0);
    CHECK_EQ_INT(JINT(info, "chunks"), 0);
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_EMPTY);
    json_decref(info);
    CHECK_EQ_INT(stream_messages(f.js, "OBJ_files"), 1); /* the info alone */

    void *data = NULL;
    size_t len = 99;
    CHECK_OK(snats_obj_get_bytes(&info, &data, &len, f.obs, "empty"));
    CHECK_NOT_NULL(data); /* never NULL, even empty */
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_EMPTY);
    snats_free(data);
    json_decref(info);

    sink w;
    sink_init(&w);
    CHECK_OK(snats_obj_get(&info, f.obs, "empty", sink_write, &w));
    CHECK_EQ_INT(w.len, 0);
    CHECK_EQ_INT(JINT(info, "size"), 0);
    json_decref(info);

    /* A reader that ends at once. */
    feed r;
    feed_init(&r, "", 0, 10);
    info = put_with(f.obs, "{\"name\": \"empty2\"}", &r);
    CHECK_EQ_INT(r.calls, 1);
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_EMPTY);
    json_decref(info);

    /* An empty file and /dev/null. */
    char path[700], out[700];
    snprintf(path, sizeof path, "%s/empty.bin", harness_test_dir());
    snprintf(out, sizeof out, "%s/empty-out.bin", harness_test_dir());
    write_file(path, "", 0);
    json_t *meta = J("{\"name\": \"empty-file\"}");
    CHECK_OK(snats_obj_put_file(&info, f.obs, meta, path));
    json_decref(meta);
    CHECK_EQ_INT(JINT(info, "size"), 0);
    json_decref(info);
    write_file(out, "stale", 5);
    CHECK_OK(snats_obj_get_file(NULL, f.obs, "empty-file", out));
    size_t n = 1;
    free(read_file(out, &n));
    CHECK_EQ_INT(n, 0);
    int null_fd = open("/dev/null", O_RDONLY);
    meta = J("{\"name\": \"devnull\"}");
    CHECK_OK(snats_obj_put_fd(&info, f.obs, meta, null_fd));
    close(null_fd);
    json_decref(meta);
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_EMPTY);
    json_decref(info);
    objfix_down(&f);
}

static int64_t never_read(void *buffer, size_t capacity, void *closure) {
    (void)buffer;
    (void)capacity;
    (void)closure;
    FAIL("the reader of a refused put was called");
}

static int never_write(const void *data, size_t len, void *closure) {
    (void)data;
    (void)len;
    (void)closure;
    FAIL("the writer of a refused get was called");
}

static void obj_null_arguments(void) {
    objfix f;
    objfix_up(&f);
    put_text(f.obs, "there", "yes");
    json_t *meta = J("{\"name\": \"n\"}");
    json_t *info = (json_t *)0x1;
    snats_obj *obs = (snats_obj *)0x1;

    /* Buckets. */
    CHECK_STATUS(snats_obj_bucket_create(NULL, f.js, "b", NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_bucket_create(&obs, NULL, "b", NULL), SNATS_INVALID_ARG);
    CHECK_NULL(obs);
    obs = (snats_obj *)0x1;
    CHECK_STATUS(snats_obj_bucket_create(&obs, f.js, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(obs);
    CHECK_STATUS(snats_obj_bucket_bind(NULL, f.js, "files"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_bucket_bind(&obs, NULL, "files"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_bucket_bind(&obs, f.js, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_bucket_delete(NULL, "files"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_bucket_delete(f.js, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_bucket_names(NULL, f.js), SNATS_INVALID_ARG);
    json_t *names = (json_t *)0x1;
    CHECK_STATUS(snats_obj_bucket_names(&names, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(names);

    /* Puts. */
    CHECK_STATUS(snats_obj_put(&info, NULL, meta, never_read, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(info);
    CHECK_STATUS(snats_obj_put(&info, f.obs, NULL, never_read, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put(&info, f.obs, meta, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_bytes(&info, NULL, "n", "x", 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_bytes(&info, f.obs, NULL, "x", 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_bytes(&info, f.obs, "", "x", 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_bytes(&info, f.obs, "n", NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_fd(&info, NULL, meta, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_fd(&info, f.obs, NULL, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_file(&info, NULL, meta, "/dev/null"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_put_file(&info, f.obs, NULL, "/dev/null"), SNATS_INVALID_ARG);
    CHECK_NULL(info);

    /* Gets. */
    void *data = (void *)0x1;
    size_t len = 5;
    CHECK_STATUS(snats_obj_get(&info, NULL, "there", never_write, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get(&info, f.obs, NULL, never_write, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get(&info, f.obs, "there", NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get(&info, f.obs, "", never_write, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(info);
    CHECK_STATUS(snats_obj_get_bytes(&info, NULL, &len, f.obs, "there"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get_bytes(&info, &data, NULL, f.obs, "there"), SNATS_INVALID_ARG);
    CHECK_NULL(data);
    data = (void *)0x1;
    CHECK_STATUS(snats_obj_get_bytes(&info, &data, &len, NULL, "there"), SNATS_INVALID_ARG);
    CHECK_NULL(data);
    CHECK_EQ_INT(len, 0);
    CHECK_STATUS(snats_obj_get_bytes(&info, &data, &len, f.obs, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get_fd(&info, NULL, "there", 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get_fd(&info, f.obs, NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get_file(&info, NULL, "there", "/dev/null"), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_get_file(&info, f.obs, NULL, "/dev/null"), SNATS_INVALID_ARG);
    CHECK_NULL(info);

    /* Watches. */
    snats_obj_watcher *w = (snats_obj_watcher *)0x1;
    CHECK_STATUS(snats_obj_watch(NULL, f.obs, NULL, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_watch(&w, NULL, NULL, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(w);
    json_t *opt = J("{\"keys\": [\"a\"]}"); /* a KV watch's option, not an object watch's */
    w = (snats_obj_watcher *)0x1;
    CHECK_STATUS(snats_obj_watch(&w, f.obs, opt, NULL, NULL), SNATS_INVALID_ARG);
    CHECK_NULL(w);
    json_decref(opt);
    opt = J("{\"ignore_deletes\": \"yes\"}");
    CHECK_STATUS(snats_obj_watch(&w, f.obs, opt, NULL, NULL), SNATS_INVALID_ARG);
    json_decref(opt);
    CHECK_STATUS(snats_obj_watcher_next(&info, NULL, 100), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_watcher_stop(NULL), SNATS_INVALID_ARG);
    snats_obj_watcher_destroy(NULL);

    /* Nothing was stored by any of them. */
    CHECK_OK(snats_obj_list(&names, f.obs, true));
    CHECK_EQ_INT(json_array_size(names), 1);
    json_decref(names);
    json_decref(meta);
    objfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Watches
 * ---------------------------------------------------------------------------------------- */

static void obj_watch_callback(void) {
    objfix f;
    objfix_up(&f);
    put_text(f.obs, "a", "1");
    put_text(f.obs, "b", "2");
    put_text(f.obs, "a", "11"); /* the current info of a only */

    wlog l;
    wlog_init(&l);
    snats_obj_watcher *w = NULL;
    CHECK_OK(snats_obj_watch(&w, f.obs, NULL, on_obj_watch, &l));
    CHECK_NOT_NULL(w);
    wlog_wait(&l, 3);
    CHECK_WINFO(&l, 0, "b", false);
    CHECK_WINFO(&l, 1, "a", false);
    CHECK_EQ_INT(JINT(l.infos[1], "size"), 2);
    CHECK_WINFO(&l, 2, NULL, false);
    CHECK(l.seen == w);

    /* Changes: a put, a delete, a link. */
    put_text(f.obs, "c", "3");
    CHECK_OK(snats_obj_delete(f.obs, "a"));
    json_t *c = NULL;
    CHECK_OK(snats_obj_info(&c, f.obs, "c", false));
    CHECK_OK(snats_obj_add_link(NULL, f.obs, "link-c", c));
    json_decref(c);
    wlog_wait(&l, 6);
    CHECK_WINFO(&l, 3, "c", false);
    CHECK_WINFO(&l, 4, "a", true);
    CHECK_WINFO(&l, 5, "link-c", false);
    CHECK_EQ_STR(JSTR(l.infos[5], "options.link.name"), "c");
    wlog_quiet(&l, 6);

    /* Stopped: nothing more comes. snats_obj_watcher_next does not apply to it. */
    json_t *info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_watcher_next(&info, w, 100), SNATS_ILLEGAL_STATE);
    CHECK_OK(snats_obj_watcher_stop(w));
    put_text(f.obs, "d", "4");
    wlog_quiet(&l, 6);
    CHECK_OK(snats_obj_watcher_stop(w)); /* twice is fine */
    snats_obj_watcher_destroy(w);

    /* ignore_deletes: a deleted object is not among the current infos nor the changes. */
    wlog l2;
    wlog_init(&l2);
    json_t *opts = J("{\"ignore_deletes\": true}");
    CHECK_OK(snats_obj_watch(&w, f.obs, opts, on_obj_watch, &l2));
    json_decref(opts);
    wlog_wait(&l2, 5); /* b, c, link-c, d, marker */
    for (int i = 0; i < 4; i++) CHECK(!info_deleted(l2.infos[i]));
    CHECK_WINFO(&l2, 4, NULL, false);
    CHECK_OK(snats_obj_delete(f.obs, "b"));
    put_text(f.obs, "e", "5");
    wlog_wait(&l2, 6);
    CHECK_WINFO(&l2, 5, "e", false);
    wlog_quiet(&l2, 6);
    snats_obj_watcher_destroy(w);

    /* updates_only: no current infos; the changes only. */
    wlog l3;
    wlog_init(&l3);
    opts = J("{\"updates_only\": true}");
    CHECK_OK(snats_obj_watch(&w, f.obs, opts, on_obj_watch, &l3));
    json_decref(opts);
    harness_sleep_ms(harness_ms(200));
    put_text(f.obs, "f", "6");
    CHECK_EVENTUALLY(atomic_load(&l3.count) >= 1 && !l3.marker[atomic_load(&l3.count) - 1], 10000);
    int n = atomic_load(&l3.count);
    for (int i = 0; i < n; i++) {
        if (!l3.marker[i]) CHECK_EQ_STR(JSTR(l3.infos[i], "name"), "f");
    }
    snats_obj_watcher_destroy(w);

    /* include_history: every info kept (a's two puts and its delete; rolled up to the last). */
    wlog l4;
    wlog_init(&l4);
    opts = J("{\"include_history\": true}");
    CHECK_OK(snats_obj_watch(&w, f.obs, opts, on_obj_watch, &l4));
    json_decref(opts);
    CHECK_EVENTUALLY(atomic_load(&l4.count) > 0 && l4.marker[atomic_load(&l4.count) - 1], 10000);
    snats_obj_watcher_destroy(w);

    wlog_free(&l);
    wlog_free(&l2);
    wlog_free(&l3);
    wlog_free(&l4);
    objfix_down(&f);
}

static void obj_watch_next(void) {
    objfix f;
    objfix_up(&f);

    /* An empty bucket: the marker at once. */
    snats_obj_watcher *w = NULL;
    CHECK_OK(snats_obj_watch(&w, f.obs, NULL, NULL, NULL));
    CHECK_NEXT(w, NULL, false);
    json_t *info = (json_t *)0x1;
    CHECK_STATUS(snats_obj_watcher_next(&info, w, harness_ms(200)), SNATS_TIMEOUT);
    CHECK_NULL(info);
    put_text(f.obs, "first", "1");
    CHECK_NEXT(w, "first", false);
    snats_obj_watcher_destroy(w);

    put_text(f.obs, "second", "2");
    CHECK_OK(snats_obj_watch(&w, f.obs, NULL, NULL, NULL));
    CHECK_NEXT(w, "first", false);
    CHECK_NEXT(w, "second", false);
    CHECK_NEXT(w, NULL, false);
    CHECK_OK(snats_obj_delete(f.obs, "first"));
    CHECK_NEXT(w, "first", true);
    CHECK_OK(snats_obj_put_bytes(NULL, f.obs, "third", "hello", 5));
    CHECK_OK(snats_obj_watcher_next(&info, w, harness_ms(5000)));
    CHECK_EQ_STR(JSTR(info, "name"), "third");
    CHECK_EQ_STR(JSTR(info, "digest"), DIGEST_HELLO);
    json_decref(info);

    /* Bad timeouts, then stopped: nothing left. */
    CHECK_STATUS(snats_obj_watcher_next(&info, w, 0), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_watcher_next(&info, w, -1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_obj_watcher_next(NULL, w, 100), SNATS_INVALID_ARG);
    CHECK_OK(snats_obj_watcher_stop(w));
    CHECK_STATUS(snats_obj_watcher_next(&info, w, 100), SNATS_INVALID_SUBSCRIPTION);
    snats_obj_watcher_destroy(w);

    /* Many objects: every current info before the marker, in stream order. */
    for (int i = 0; i < 60; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%02d", i);
        put_text(f.obs, name, name);
    }
    json_t *opts = J("{\"ignore_deletes\": true}");
    CHECK_OK(snats_obj_watch(&w, f.obs, opts, NULL, NULL));
    json_decref(opts);
    CHECK_NEXT(w, "second", false);
    CHECK_NEXT(w, "third", false);
    for (int i = 0; i < 60; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%02d", i);
        CHECK_NEXT(w, name, false);
    }
    CHECK_NEXT(w, NULL, false);
    snats_obj_watcher_destroy(w);
    objfix_down(&f);
}

/* The bucket's handle and watch from several threads at once. */
typedef struct {
    snats_obj *obs;
    int id;
    char error[200];
} worker;

static void *put_get_worker(void *arg) {
    worker *wk = arg;
    for (int i = 0; i < 10; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "w%d-%d", wk->id, i);
        snprintf(text, sizeof text, "worker %d item %d", wk->id, i);
        if (snats_obj_put_bytes(NULL, wk->obs, name, text, strlen(text)) != SNATS_OK) {
            snprintf(wk->error, sizeof wk->error, "put %s: %s", name, snats_last_error());
            return NULL;
        }
        void *data = NULL;
        size_t len = 0;
        if (snats_obj_get_bytes(NULL, &data, &len, wk->obs, name) != SNATS_OK) {
            snprintf(wk->error, sizeof wk->error, "get %s: %s", name, snats_last_error());
            return NULL;
        }
        if (len != strlen(text) || memcmp(data, text, len) != 0) snprintf(wk->error, sizeof wk->error, "%s read back wrong", name);
        snats_free(data);
    }
    return NULL;
}

static void obj_concurrent_puts_and_gets(void) {
    objfix f;
    objfix_up(&f);
    /* nats-server 2.9.10 loses messages for a filtered consumer while other subjects of the
     * stream are written at the same time (nats.py's object watch misses infos there alike):
     * the watch is checked on later servers only. */
    bool watch = SERVER_AT_LEAST(2, 10, 0);
    wlog l;
    wlog_init(&l);
    snats_obj_watcher *w = NULL;
    if (watch) {
        CHECK_OK(snats_obj_watch(&w, f.obs, NULL, on_obj_watch, &l));
        wlog_wait(&l, 1);
    }
    enum { W = 4 };
    worker workers[W];
    pthread_t threads[W];
    for (int i = 0; i < W; i++) {
        workers[i] = (worker){f.obs, i, ""};
        harness_spawn(&threads[i], put_get_worker, &workers[i]);
    }
    for (int i = 0; i < W; i++) harness_join(threads[i]);
    for (int i = 0; i < W; i++)
        if (workers[i].error[0]) FAIL("worker %d: %s", i, workers[i].error);
    if (watch) {
        wlog_wait(&l, 1 + W * 10);
        wlog_quiet(&l, 1 + W * 10);
    }
    json_t *infos = NULL;
    CHECK_OK(snats_obj_list(&infos, f.obs, false));
    CHECK_EQ_INT(json_array_size(infos), W * 10);
    json_decref(infos);
    snats_obj_watcher_destroy(w);
    wlog_free(&l);
    objfix_down(&f);
}

const test_case obj_tests[] = {
    TEST(obj_bucket_create_bind_names_delete),
    TEST(obj_status),
    TEST(obj_bucket_deleted_under_handle),
    TEST(obj_put_get_bytes),
    TEST(obj_put_reader_many_chunks),
    TEST(obj_reader_fails),
    TEST(obj_writer_fails),
    TEST(obj_put_get_fd),
    TEST(obj_put_get_file),
    TEST(obj_replace_purges_old_chunks),
    TEST(obj_meta_members),
    TEST(obj_info_delete),
    TEST(obj_list),
    TEST(obj_links),
    TEST(obj_digest_mismatch),
    TEST(obj_empty_object),
    TEST(obj_null_arguments),
    TEST(obj_watch_callback),
    TEST(obj_watch_next),
    TEST(obj_concurrent_puts_and_gets),
};
HARNESS_TABLE_COUNT(obj);
