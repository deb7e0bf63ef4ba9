/*
 * test_kv.c - Key-Value buckets through the header: buckets (create with a configuration,
 * create again, bind, names, delete, not found), put and get (values, revisions, times,
 * operations, a revision of another key), create and update (compare-and-set), delete and
 * purge (with and without a last revision), history, keys (with filters), status, the value
 * size limit and the ttl, bad names and NULL arguments, watches (with a callback: the initial
 * values, one marker, then the updates in order; on an empty bucket the marker first;
 * updates_only, include_history, ignore_deletes, meta_only, key filters, several keys; read
 * with snats_kv_watcher_next(); stopped, from another thread and from its own first callback),
 * every *_async form (success and failure, on the delivery pool and on a dispatch queue), and a
 * watch that survives a server restart with nothing lost or repeated. Every server runs
 * JetStream with its store in the test's scratch directory.
 *
 * Some tests check one statement of the header each (their comments quote it): settings of the
 * wrong type refused (kv_bucket_setting_types), history entries with no delta
 * (kv_history_delta_zero), a watch of several keys, refused on servers before 2.10, which
 * ignore filter_subjects (kv_watch_several_keys), a watch stopped from its own first callback
 * (kv_watch_stop_in_first_callback), an empty history handed as NULL to the asynchronous
 * handler (kv_async_history_none_is_null).
 */
#define _GNU_SOURCE
#include "js_common.h"

#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------------------------------------------------
 * Helpers (the shared ones are in js_common.h)
 * ---------------------------------------------------------------------------------------- */

/* The array holds exactly these strings (in any order), given as a NULL-terminated list. */
static void check_string_set(const json_t *array, const char *const *want, const char *file, int line) {
    char *dump = json_dumps(array, JSON_COMPACT);
    size_t n = 0;
    while (want[n] != NULL) n++;
    if (!json_is_array(array) || json_array_size(array) != n) {
        harness_fail(file, line, "%s: expected %zu strings", dump ? dump : "?", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (!jarray_has(array, want[i])) harness_fail(file, line, "%s lacks \"%s\"", dump ? dump : "?", want[i]);
    }
    free(dump);
}
#define CHECK_SET(array, ...)                                           \
    do {                                                                \
        static const char *const h_want_[] = {__VA_ARGS__, NULL};       \
        check_string_set((array), h_want_, __FILE__, __LINE__);         \
    } while (0)

/* SNATS_INVALID_ARG with a message, and not an API error. */
#define CHECK_INVALID(call)                                              \
    do {                                                                 \
        CHECK_STATUS(call, SNATS_INVALID_ARG);                           \
        CHECK(snats_last_error() != NULL && snats_last_error()[0] != 0); \
        CHECK_API_ERROR(0, 0);                                           \
    } while (0)

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Creates a bucket with a configuration given as JSON text (NULL: the defaults). */
static snats_kv *bucket_make(snats_jetstream *js, const char *bucket, const char *config_json) {
    json_t *config = config_json ? J("%s", config_json) : NULL;
    snats_kv *kv = NULL;
    snats_status s = snats_kv_bucket_create(&kv, js, bucket, config);
    if (s != SNATS_OK) FAIL("snats_kv_bucket_create(%s, %s): %s (%s)", bucket, config_json ? config_json : "NULL",
                            snats_status_text(s), snats_last_error());
    json_decref(config);
    CHECK_NOT_NULL(kv);
    return kv;
}

/* Puts text; returns the revision. */
static uint64_t put(snats_kv *kv, const char *key, const char *text) {
    uint64_t revision = 0;
    snats_status s = snats_kv_put(&revision, kv, key, text, strlen(text));
    if (s != SNATS_OK) FAIL("snats_kv_put(%s, %s): %s (%s)", key, text, snats_status_text(s), snats_last_error());
    CHECK(revision > 0);
    return revision;
}

static bool entry_value_is(const snats_kv_entry *e, const char *text) {
    size_t n = strlen(text);
    if (snats_kv_entry_value_len(e) != n) return false;
    if (n == 0) return snats_kv_entry_value(e) == NULL;
    return snats_kv_entry_value(e) != NULL && memcmp(snats_kv_entry_value(e), text, n) == 0;
}

/* The entry is exactly this: bucket, key, value (text), revision (0: any), operation. */
static void check_entry_at(const snats_kv_entry *e, const char *bucket, const char *key, const char *value,
                           uint64_t revision, int op, const char *file, int line) {
    if (e == NULL) harness_fail(file, line, "no entry, expected %s", key);
    const char *b = snats_kv_entry_bucket(e), *k = snats_kv_entry_key(e);
    if (b == NULL || strcmp(b, bucket) != 0) harness_fail(file, line, "bucket \"%s\", expected \"%s\"", b ? b : "(null)", bucket);
    if (k == NULL || strcmp(k, key) != 0) harness_fail(file, line, "key \"%s\", expected \"%s\"", k ? k : "(null)", key);
    if (!entry_value_is(e, value))
        harness_fail(file, line, "%s: value \"%.*s\" (%zu bytes), expected \"%s\"", key, (int)snats_kv_entry_value_len(e),
                     snats_kv_entry_value(e) ? (const char *)snats_kv_entry_value(e) : "", snats_kv_entry_value_len(e), value);
    if (revision != 0 && snats_kv_entry_revision(e) != revision)
        harness_fail(file, line, "%s: revision %llu, expected %llu", key, (unsigned long long)snats_kv_entry_revision(e),
                     (unsigned long long)revision);
    if (snats_kv_entry_operation(e) != op)
        harness_fail(file, line, "%s: operation %d, expected %d", key, snats_kv_entry_operation(e), op);
}
#define CHECK_ENTRY(e, bucket, key, value, revision, op) \
    check_entry_at((e), (bucket), (key), (value), (revision), (op), __FILE__, __LINE__)

/* Gets the key (at revision, 0: current) and checks it. */
static void check_get_at(snats_kv *kv, const char *bucket, const char *key, uint64_t at, const char *value,
                         uint64_t revision, const char *file, int line) {
    snats_kv_entry *e = NULL;
    snats_status s = snats_kv_get(&e, kv, key, at);
    if (s != SNATS_OK)
        harness_fail(file, line, "snats_kv_get(%s, %llu): %s (%s)", key, (unsigned long long)at, snats_status_text(s),
                     snats_last_error());
    check_entry_at(e, bucket, key, value, revision, SNATS_KV_PUT, file, line);
    if (snats_kv_entry_delta(e) != 0) harness_fail(file, line, "a get's delta is %llu", (unsigned long long)snats_kv_entry_delta(e));
    snats_kv_entry_destroy(e);
}
#define CHECK_GET(kv, bucket, key, at, value, revision) check_get_at((kv), (bucket), (key), (at), (value), (revision), __FILE__, __LINE__)

/* The key has no value (at that revision): SNATS_NOT_FOUND, 404/10037, entry NULL. */
static void check_get_missing_at(snats_kv *kv, const char *key, uint64_t at, const char *file, int line) {
    snats_kv_entry *e = (snats_kv_entry *)0x1;
    snats_status s = snats_kv_get(&e, kv, key, at);
    if (s != SNATS_NOT_FOUND) {
        if (s == SNATS_OK) snats_kv_entry_destroy(e);
        harness_fail(file, line, "snats_kv_get(%s, %llu) gave %s, expected SNATS_NOT_FOUND", key, (unsigned long long)at,
                     snats_status_text(s));
    }
    if (e != NULL) harness_fail(file, line, "the entry is not NULL on failure");
    int code = -1, err = -1;
    snats_js_last_api_error(&code, &err);
    if (code != 404 || err != 10037) harness_fail(file, line, "get %s: api error %d/%d, expected 404/10037", key, code, err);
}
#define CHECK_GET_MISSING(kv, key, at) check_get_missing_at((kv), (key), (at), __FILE__, __LINE__)

static json_t *kv_status(snats_kv *kv) {
    json_t *st = NULL;
    CHECK_OK(snats_kv_status(&st, kv));
    CHECK(json_is_object(st));
    return st;
}

static json_t *kv_keys(snats_kv *kv, const char *filter) {
    json_t *keys = NULL;
    snats_status s = snats_kv_keys(&keys, kv, filter);
    if (s != SNATS_OK) FAIL("snats_kv_keys(%s): %s (%s)", filter ? filter : "NULL", snats_status_text(s), snats_last_error());
    CHECK(json_is_array(keys));
    return keys;
}

/* ------------------------------------------------------------------------------------------
 * A watch's callback log
 * ---------------------------------------------------------------------------------------- */

#define MAX_WRECS 512

typedef struct {
    bool marker;
    char bucket[64];
    char key[64];
    char value[128];
    size_t value_len;
    bool value_null;
    uint64_t revision;
    uint64_t delta;
    int64_t created;
    int op;
} wrec;

typedef struct {
    pthread_mutex_t mu;
    wrec recs[MAX_WRECS];
    atomic_int count;
    atomic_int markers;
    atomic_int running;
    atomic_int bad;
    char why[256];
    snats_kv_watcher *seen;
    snats_kv *get_in_cb; /* when set, each initial PUT entry is read back with snats_kv_get inside the callback */
    atomic_int gets_ok;
} watch_log;

static void watch_log_init(watch_log *l) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
}

static void watch_log_bad(watch_log *l, const char *why) {
    pthread_mutex_lock(&l->mu);
    if (l->why[0] == 0) snprintf(l->why, sizeof l->why, "%s", why);
    pthread_mutex_unlock(&l->mu);
    atomic_fetch_add(&l->bad, 1);
}

static void on_watch(snats_kv_watcher *watcher, const snats_kv_entry *entry, void *closure) {
    watch_log *l = closure;
    if (atomic_fetch_add(&l->running, 1) != 0) watch_log_bad(l, "two callbacks at once");
    pthread_mutex_lock(&l->mu);
    if (l->seen == NULL) l->seen = watcher;
    bool same = l->seen == watcher;
    pthread_mutex_unlock(&l->mu);
    if (!same) watch_log_bad(l, "another watcher handle");
    int n = atomic_load(&l->count);
    if (n >= MAX_WRECS) {
        watch_log_bad(l, "too many entries");
    } else {
        wrec *r = &l->recs[n];
        memset(r, 0, sizeof *r);
        if (entry == NULL) {
            r->marker = true;
        } else {
            snprintf(r->bucket, sizeof r->bucket, "%s", snats_kv_entry_bucket(entry) ? snats_kv_entry_bucket(entry) : "(null)");
            snprintf(r->key, sizeof r->key, "%s", snats_kv_entry_key(entry) ? snats_kv_entry_key(entry) : "(null)");
            r->value_len = snats_kv_entry_value_len(entry);
            r->value_null = snats_kv_entry_value(entry) == NULL;
            if (!r->value_null) memcpy(r->value, snats_kv_entry_value(entry), r->value_len < 127 ? r->value_len : 127);
            r->revision = snats_kv_entry_revision(entry);
            r->delta = snats_kv_entry_delta(entry);
            r->created = snats_kv_entry_created(entry);
            r->op = snats_kv_entry_operation(entry);
            if (l->get_in_cb != NULL && r->op == SNATS_KV_PUT && atomic_load(&l->markers) == 0) {
                /* A blocking call inside the callback. */
                snats_kv_entry *got = NULL;
                snats_status s = snats_kv_get(&got, l->get_in_cb, r->key, r->revision);
                if (s == SNATS_OK && snats_kv_entry_revision(got) == r->revision) {
                    atomic_fetch_add(&l->gets_ok, 1);
                } else {
                    char why[256];
                    snprintf(why, sizeof why, "snats_kv_get(%s, %llu) inside the callback: %s (%s)", r->key,
                             (unsigned long long)r->revision, snats_status_text(s), snats_last_error());
                    watch_log_bad(l, why);
                }
                snats_kv_entry_destroy(got);
            }
        }
        if (entry == NULL) atomic_fetch_add(&l->markers, 1);
        atomic_store(&l->count, n + 1);
    }
    atomic_fetch_sub(&l->running, 1);
}

static void wait_wrecs(watch_log *l, int n) {
    CHECK_EVENTUALLY(atomic_load(&l->count) >= n || atomic_load(&l->bad) > 0, 10000);
    if (atomic_load(&l->bad)) FAIL("watch callback: %s", l->why);
}

/* Nothing more comes for a while: exactly n records. */
static void check_quiet(watch_log *l, int n) {
    harness_sleep_ms(harness_ms(300));
    if (atomic_load(&l->bad)) FAIL("watch callback: %s", l->why);
    if (atomic_load(&l->count) != n) {
        const wrec *r = &l->recs[n < MAX_WRECS ? n : 0];
        FAIL("%d watch records, expected %d (the next: %s %s rev %llu)", atomic_load(&l->count), n,
             r->marker ? "marker" : "entry", r->key, (unsigned long long)r->revision);
    }
}

static void check_wrec_at(const watch_log *l, int i, const char *bucket, const char *key, const char *value,
                          uint64_t revision, int op, const char *file, int line) {
    const wrec *r = &l->recs[i];
    if (r->marker) harness_fail(file, line, "record %d is the marker, expected %s rev %llu", i, key, (unsigned long long)revision);
    if (strcmp(r->bucket, bucket) != 0 || strcmp(r->key, key) != 0)
        harness_fail(file, line, "record %d: %s/%s, expected %s/%s", i, r->bucket, r->key, bucket, key);
    size_t n = strlen(value);
    if (r->value_len != n || memcmp(r->value, value, n) != 0 || (n == 0) != r->value_null)
        harness_fail(file, line, "record %d (%s): value \"%.*s\" (%zu bytes%s), expected \"%s\"", i, key, (int)r->value_len,
                     r->value, r->value_len, r->value_null ? ", NULL" : "", value);
    if (revision != 0 && r->revision != revision)
        harness_fail(file, line, "record %d (%s): revision %llu, expected %llu", i, key, (unsigned long long)r->revision,
                     (unsigned long long)revision);
    if (r->op != op) harness_fail(file, line, "record %d (%s): operation %d, expected %d", i, key, r->op, op);
}
#define CHECK_WREC(l, i, bucket, key, value, revision, op) \
    check_wrec_at((l), (i), (bucket), (key), (value), (revision), (op), __FILE__, __LINE__)

#define CHECK_MARKER(l, i)                                                                          \
    do {                                                                                            \
        if (!(l)->recs[(i)].marker)                                                                 \
            FAIL("record %d is %s rev %llu, expected the marker", (i), (l)->recs[(i)].key,          \
                 (unsigned long long)(l)->recs[(i)].revision);                                      \
    } while (0)

static snats_kv_watcher *watch_cb(snats_kv *kv, const char *keys, const char *options_json, watch_log *l) {
    json_t *opts = options_json ? J("%s", options_json) : NULL;
    snats_kv_watcher *w = NULL;
    snats_status s = snats_kv_watch(&w, kv, keys, opts, on_watch, l);
    if (s != SNATS_OK) FAIL("snats_kv_watch(%s, %s): %s (%s)", keys ? keys : "NULL", options_json ? options_json : "NULL",
                            snats_status_text(s), snats_last_error());
    json_decref(opts);
    CHECK_NOT_NULL(w);
    return w;
}

/* The watcher handle the callback got is the one the watch returned. */
static void check_seen(watch_log *l, snats_kv_watcher *w) {
    pthread_mutex_lock(&l->mu);
    snats_kv_watcher *seen = l->seen;
    pthread_mutex_unlock(&l->mu);
    CHECK(seen == w);
}

/* ------------------------------------------------------------------------------------------
 * Buckets
 * ---------------------------------------------------------------------------------------- */

static void kv_bucket_create_bind_names_delete(void) {
    jsfix f;
    jsfix_up(&f, NULL);

    /* A configuration: history, ttl, value size, memory storage, description. */
    const char *cfg = "{\"history\": 5, \"ttl\": 60000000000, \"max_value_size\": 1024, \"storage\": \"memory\", "
                      "\"description\": \"configured\"}";
    snats_kv *kv = bucket_make(f.js, "CFG", cfg);
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_info(&info, f.js, "KV_CFG", NULL));
    CHECK_EQ_INT(JINT(info, "config.max_msgs_per_subject"), 5);
    CHECK_EQ_INT(JINT(info, "config.max_age"), 60000000000LL);
    CHECK_EQ_INT(JINT(info, "config.max_msg_size"), 1024);
    CHECK_EQ_STR(JSTR(info, "config.storage"), "memory");
    CHECK_EQ_STR(JSTR(info, "config.description"), "configured");
    CHECK_EQ_STR(JSTR(info, "config.discard"), "new");
    CHECK(JBOOL(info, "config.allow_rollup_hdrs"));
    CHECK(JBOOL(info, "config.deny_delete"));
    CHECK(JBOOL(info, "config.allow_direct"));
    const json_t *subjects = jat(info, "config.subjects");
    CHECK(json_is_array(subjects) && json_array_size(subjects) == 1);
    CHECK_EQ_STR(json_string_value(json_array_get(subjects, 0)), "$KV.CFG.>");
    json_decref(info);

    /* The same configuration again: accepted. Another: refused, 10058. */
    snats_kv *again = bucket_make(f.js, "CFG", cfg);
    snats_kv_destroy(again);
    json_t *other = J("{\"history\": 3, \"storage\": \"memory\"}");
    snats_kv *refused = (snats_kv *)0x1;
    CHECK_STATUS(snats_kv_bucket_create(&refused, f.js, "CFG", other), SNATS_JS_API_ERROR);
    CHECK_NULL(refused);
    CHECK_API_ERROR(400, 10058);
    json_decref(other);

    /* The defaults: history 1, file storage, no ttl, no size limit. */
    snats_kv *def = bucket_make(f.js, "DEF", NULL);
    CHECK_OK(snats_js_stream_info(&info, f.js, "KV_DEF", NULL));
    CHECK_EQ_INT(JINT(info, "config.max_msgs_per_subject"), 1);
    CHECK_EQ_INT(JINT(info, "config.max_age"), 0);
    CHECK_EQ_STR(JSTR(info, "config.storage"), "file");
    CHECK(JINT(info, "config.max_msg_size") <= 0);
    json_decref(info);
    /* An empty object is the defaults too. */
    snats_kv *empty_cfg = bucket_make(f.js, "DEF", "{}");
    snats_kv_destroy(empty_cfg);

    /* Bind: the same bucket through another handle. */
    uint64_t r = put(kv, "k", "v");
    snats_kv *bound = NULL;
    CHECK_OK(snats_kv_bucket_bind(&bound, f.js, "CFG"));
    CHECK_NOT_NULL(bound);
    CHECK_GET(bound, "CFG", "k", 0, "v", r);
    uint64_t r2 = put(bound, "k", "w");
    CHECK_GET(kv, "CFG", "k", 0, "w", r2);

    /* Names: the buckets, not other streams. */
    json_t *plain = J("{\"name\": \"PLAIN\", \"subjects\": [\"plain.>\"], \"storage\": \"memory\"}");
    CHECK_OK(snats_js_stream_add(NULL, f.js, plain));
    json_decref(plain);
    json_t *names = NULL;
    CHECK_OK(snats_kv_bucket_names(&names, f.js));
    CHECK_SET(names, "CFG", "DEF");
    json_decref(names);

    /* A missing bucket. */
    snats_kv *missing = (snats_kv *)0x1;
    CHECK_STATUS(snats_kv_bucket_bind(&missing, f.js, "NONE"), SNATS_NOT_FOUND);
    CHECK_NULL(missing);
    CHECK_API_ERROR(404, 10059);

    /* Delete: the bucket goes; again is not found. */
    CHECK_OK(snats_kv_bucket_delete(f.js, "DEF"));
    CHECK_STATUS(snats_kv_bucket_bind(&missing, f.js, "DEF"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    CHECK_STATUS(snats_kv_bucket_delete(f.js, "DEF"), SNATS_NOT_FOUND);
    CHECK_API_ERROR(404, 10059);
    CHECK_OK(snats_kv_bucket_names(&names, f.js));
    CHECK_SET(names, "CFG");
    json_decref(names);
    /* The handle of a deleted bucket still frees cleanly; its calls fail. */
    json_t *st = (json_t *)0x1;
    CHECK_STATUS(snats_kv_status(&st, def), SNATS_NOT_FOUND);
    CHECK_NULL(st);
    CHECK_API_ERROR(404, 10059);
    snats_kv_destroy(def);

    CHECK_OK(snats_kv_bucket_delete(f.js, "CFG"));
    CHECK_OK(snats_kv_bucket_names(&names, f.js));
    CHECK(json_is_array(names) && json_array_size(names) == 0);
    json_decref(names);
    snats_kv_destroy(bound);
    snats_kv_destroy(kv);
    snats_kv_destroy(NULL); /* a no-op */
    jsfix_down(&f);
}

/* Each configuration is refused with SNATS_INVALID_ARG, and makes no bucket. */
static void check_refused_settings(jsfix *f, const char *const *bad, size_t n) {
    char failures[2048] = "";
    for (size_t i = 0; i < n; i++) {
        json_t *cfg = J("%s", bad[i]);
        snats_kv *out = (snats_kv *)0x1;
        snats_status s = snats_kv_bucket_create(&out, f->js, "BAD", cfg);
        json_decref(cfg);
        if (s == SNATS_OK) {
            snats_kv_destroy(out);
            CHECK_OK(snats_kv_bucket_delete(f->js, "BAD"));
        }
        if (s != SNATS_INVALID_ARG) {
            size_t used = strlen(failures);
            snprintf(failures + used, sizeof failures - used, "\n    %s gave %s", bad[i], snats_status_text(s));
            continue;
        }
        CHECK_NULL(out);
    }
    if (failures[0]) FAIL("bucket configurations not refused with SNATS_INVALID_ARG:%s", failures);
    /* Nothing was made by the refused ones. */
    json_t *names = NULL;
    CHECK_OK(snats_kv_bucket_names(&names, f->js));
    CHECK(!jarray_has(names, "BAD"));
    json_decref(names);
}

/* Settings the header lists, and refused ones. */
static void kv_bucket_settings(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "META", "{\"max_bytes\": 1048576, \"replicas\": 1, \"metadata\": {\"team\": \"a\"}}");
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_info(&info, f.js, "KV_META", NULL));
    CHECK_EQ_INT(JINT(info, "config.max_bytes"), 1048576);
    CHECK_EQ_INT(JINT(info, "config.num_replicas"), 1);
    if (SERVER_AT_LEAST(2, 10, 0)) CHECK_EQ_STR(JSTR(info, "config.metadata.team"), "a");
    json_decref(info);
    snats_kv_destroy(kv);
    if (SERVER_AT_LEAST(2, 10, 0)) {
        kv = bucket_make(f.js, "ZIP", "{\"compression\": true}");
        json_t *st = kv_status(kv);
        CHECK(JBOOL(st, "is_compressed"));
        CHECK_EQ_STR(JSTR(st, "info.config.compression"), "s2");
        json_decref(st);
        snats_kv_destroy(kv);
    }

    static const char *bad[] = {
        "{\"history\": 0}", "{\"history\": 65}", "{\"ttl\": -1}", "{\"bogus\": 1}", "{\"histroy\": 2}", "[]", "\"text\"",
    };
    check_refused_settings(&f, bad, sizeof bad / sizeof bad[0]);
    jsfix_down(&f);
}

/* The header: "@retval SNATS_INVALID_ARG a bad name or setting": a setting of the wrong type is
 * a bad setting, not one to leave out silently. */
static void kv_bucket_setting_types(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    static const char *bad[] = {
        "{\"history\": \"5\"}", "{\"history\": 2.5}", "{\"ttl\": \"1s\"}", "{\"max_value_size\": \"8\"}",
        "{\"storage\": 1}",     "{\"replicas\": \"1\"}", "{\"compression\": \"s2\"}", "{\"description\": 7}",
    };
    check_refused_settings(&f, bad, sizeof bad / sizeof bad[0]);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Put, get, create, update, delete, purge
 * ---------------------------------------------------------------------------------------- */

static void kv_put_get(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "PG", "{\"history\": 5, \"storage\": \"memory\"}");
    int64_t before = now_ns();
    uint64_t r1 = put(kv, "color", "red");
    int64_t after = now_ns();
    CHECK_EQ_INT(r1, 1);

    snats_kv_entry *e = NULL;
    CHECK_OK(snats_kv_get(&e, kv, "color", 0));
    CHECK_ENTRY(e, "PG", "color", "red", r1, SNATS_KV_PUT);
    CHECK_EQ_INT(snats_kv_entry_delta(e), 0);
    int64_t created = snats_kv_entry_created(e);
    if (created < before - 2000000000LL || created > after + 2000000000LL)
        FAIL("created %lld, expected between %lld and %lld", (long long)created, (long long)before, (long long)after);
    /* The value's bytes live as long as the entry. */
    const void *bytes = snats_kv_entry_value(e);
    CHECK(bytes != NULL && memcmp(bytes, "red", 3) == 0);
    snats_kv_entry_destroy(e);

    /* A second put: a new revision, the new value. */
    uint64_t r2 = put(kv, "color", "blue");
    CHECK(r2 > r1);
    CHECK_GET(kv, "PG", "color", 0, "blue", r2);

    /* Binary values, empty values, NULL revision out, every allowed key character. */
    const unsigned char bin[6] = {0, 1, 2, 0, 255, 128};
    uint64_t rb = 0;
    CHECK_OK(snats_kv_put(&rb, kv, "bin", bin, sizeof bin));
    CHECK_OK(snats_kv_get(&e, kv, "bin", 0));
    CHECK_EQ_INT(snats_kv_entry_value_len(e), sizeof bin);
    CHECK(memcmp(snats_kv_entry_value(e), bin, sizeof bin) == 0);
    CHECK_EQ_INT(snats_kv_entry_revision(e), rb);
    snats_kv_entry_destroy(e);
    uint64_t re = 0;
    CHECK_OK(snats_kv_put(&re, kv, "empty", NULL, 0));
    CHECK(re > rb);
    CHECK_OK(snats_kv_get(&e, kv, "empty", 0));
    CHECK_ENTRY(e, "PG", "empty", "", re, SNATS_KV_PUT);
    CHECK_NULL(snats_kv_entry_value(e));
    CHECK_EQ_INT(snats_kv_entry_value_len(e), 0);
    snats_kv_entry_destroy(e);
    CHECK_OK(snats_kv_put(NULL, kv, "norev", "x", 1));
    CHECK_GET(kv, "PG", "norev", 0, "x", 0);
    uint64_t rk = put(kv, "a-b/c_d=e.F9", "chars");
    CHECK_GET(kv, "PG", "a-b/c_d=e.F9", 0, "chars", rk);
    /* A large value. */
    static char large[64 * 1024];
    memset(large, 'L', sizeof large - 1);
    large[sizeof large - 1] = 0;
    uint64_t rl = put(kv, "large", large);
    CHECK_OK(snats_kv_get(&e, kv, "large", 0));
    CHECK_EQ_INT(snats_kv_entry_value_len(e), sizeof large - 1);
    CHECK(memcmp(snats_kv_entry_value(e), large, sizeof large - 1) == 0);
    CHECK_EQ_INT(snats_kv_entry_revision(e), rl);
    snats_kv_entry_destroy(e);

    /* A key never written. */
    CHECK_GET_MISSING(kv, "nothing", 0);
    CHECK(strlen(snats_last_error()) > 0);

    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_get_revision(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "REV", "{\"history\": 5, \"storage\": \"memory\"}");
    uint64_t r1 = put(kv, "color", "red");
    uint64_t r2 = put(kv, "size", "L");
    uint64_t r3 = put(kv, "color", "blue");
    CHECK_GET(kv, "REV", "color", r1, "red", r1);
    CHECK_GET(kv, "REV", "color", r3, "blue", r3);
    CHECK_GET(kv, "REV", "size", r2, "L", r2);
    /* Another key's revision, a revision that does not exist. */
    CHECK_GET_MISSING(kv, "color", r2);
    CHECK_GET_MISSING(kv, "size", r1);
    CHECK_GET_MISSING(kv, "color", 999);
    /* A delete marker's revision has no value; the older ones stay readable. */
    CHECK_OK(snats_kv_delete(kv, "color", 0));
    CHECK_GET_MISSING(kv, "color", 0);
    CHECK_GET_MISSING(kv, "color", r3 + 1);
    CHECK_GET(kv, "REV", "color", r1, "red", r1);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_create_update(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "CU", "{\"history\": 10, \"storage\": \"memory\"}");
    uint64_t r1 = 0;
    CHECK_OK(snats_kv_create(&r1, kv, "k", "1", 1));
    CHECK(r1 > 0);
    CHECK_GET(kv, "CU", "k", 0, "1", r1);

    /* Create on a key with a value: 10071. */
    uint64_t rev = 77;
    CHECK_STATUS(snats_kv_create(&rev, kv, "k", "2", 1), SNATS_JS_API_ERROR);
    CHECK_EQ_INT(rev, 0);
    CHECK_API_ERROR(400, 10071);
    CHECK_GET(kv, "CU", "k", 0, "1", r1);

    /* Update: compare-and-set on the last revision. */
    uint64_t r2 = 0;
    CHECK_OK(snats_kv_update(&r2, kv, "k", "2", 1, r1));
    CHECK(r2 > r1);
    CHECK_GET(kv, "CU", "k", 0, "2", r2);
    rev = 77;
    CHECK_STATUS(snats_kv_update(&rev, kv, "k", "3", 1, r1), SNATS_JS_API_ERROR); /* stale */
    CHECK_EQ_INT(rev, 0);
    CHECK_API_ERROR(400, 10071);
    CHECK_STATUS(snats_kv_update(&rev, kv, "k", "3", 1, 0), SNATS_JS_API_ERROR); /* it has a value */
    CHECK_API_ERROR(400, 10071);
    CHECK_STATUS(snats_kv_update(&rev, kv, "k", "3", 1, r2 + 50), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    /* The revision of another key is not this key's last. */
    uint64_t ro = put(kv, "other", "o");
    CHECK_STATUS(snats_kv_update(&rev, kv, "k", "3", 1, ro), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    CHECK_GET(kv, "CU", "k", 0, "2", r2);
    uint64_t r3 = 0;
    CHECK_OK(snats_kv_update(NULL, kv, "k", "3", 1, r2)); /* no revision asked for */
    snats_kv_entry *e = NULL;
    CHECK_OK(snats_kv_get(&e, kv, "k", 0));
    r3 = snats_kv_entry_revision(e);
    CHECK(r3 > ro);
    snats_kv_entry_destroy(e);

    /* Deleted: create works again. Purged: too. */
    CHECK_OK(snats_kv_delete(kv, "k", 0));
    CHECK_GET_MISSING(kv, "k", 0);
    uint64_t r4 = 0;
    CHECK_OK(snats_kv_create(&r4, kv, "k", "again", 5));
    CHECK(r4 > r3 + 1);
    CHECK_GET(kv, "CU", "k", 0, "again", r4);
    CHECK_STATUS(snats_kv_create(&rev, kv, "k", "twice", 5), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    CHECK_OK(snats_kv_purge(kv, "k", 0));
    uint64_t r5 = 0;
    CHECK_OK(snats_kv_create(&r5, kv, "k", "after purge", 11));
    CHECK_GET(kv, "CU", "k", 0, "after purge", r5);
    CHECK_STATUS(snats_kv_create(&rev, kv, "k", "twice", 5), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_delete_purge(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "DP", "{\"history\": 10, \"storage\": \"memory\"}");
    put(kv, "a", "1");
    put(kv, "a", "2");
    CHECK_OK(snats_kv_delete(kv, "a", 0));
    CHECK_GET_MISSING(kv, "a", 0);

    /* With a last revision: only if it is the key's last. */
    uint64_t rb = put(kv, "b", "1");
    CHECK_STATUS(snats_kv_delete(kv, "b", rb + 100), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    CHECK_GET(kv, "DP", "b", 0, "1", rb);
    CHECK_OK(snats_kv_delete(kv, "b", rb));
    CHECK_GET_MISSING(kv, "b", 0);

    /* Purge: the earlier revisions go, one PURGE marker stays. */
    put(kv, "c", "1");
    put(kv, "c", "2");
    uint64_t rc = put(kv, "c", "3");
    CHECK_STATUS(snats_kv_purge(kv, "c", rc - 1), SNATS_JS_API_ERROR);
    CHECK_API_ERROR(400, 10071);
    CHECK_GET(kv, "DP", "c", 0, "3", rc);
    CHECK_OK(snats_kv_purge(kv, "c", rc));
    CHECK_GET_MISSING(kv, "c", 0);
    CHECK_GET_MISSING(kv, "c", rc); /* gone with the purge */
    snats_kv_entry **entries = NULL;
    int count = 0;
    CHECK_OK(snats_kv_history(&entries, &count, kv, "c"));
    CHECK_EQ_INT(count, 1);
    CHECK_ENTRY(entries[0], "DP", "c", "", rc + 1, SNATS_KV_PURGE);
    snats_kv_entries_destroy(entries, count);

    put(kv, "d", "1");
    CHECK_OK(snats_kv_purge(kv, "d", 0));
    CHECK_GET_MISSING(kv, "d", 0);

    json_t *keys = kv_keys(kv, NULL);
    CHECK_EQ_INT(json_array_size(keys), 0);
    json_decref(keys);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_history(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "HI", "{\"history\": 5, \"storage\": \"memory\"}");
    uint64_t r[8];
    r[0] = put(kv, "k", "v1");
    put(kv, "other", "x");
    r[1] = put(kv, "k", "v2");
    r[2] = put(kv, "k", "v3");
    CHECK_OK(snats_kv_delete(kv, "k", 0));
    r[3] = r[2] + 1;
    r[4] = put(kv, "k", "v4");

    snats_kv_entry **entries = (snats_kv_entry **)0x1;
    int count = -1;
    CHECK_OK(snats_kv_history(&entries, &count, kv, "k"));
    CHECK_NOT_NULL(entries);
    CHECK_EQ_INT(count, 5);
    CHECK_ENTRY(entries[0], "HI", "k", "v1", r[0], SNATS_KV_PUT);
    CHECK_ENTRY(entries[1], "HI", "k", "v2", r[1], SNATS_KV_PUT);
    CHECK_ENTRY(entries[2], "HI", "k", "v3", r[2], SNATS_KV_PUT);
    CHECK_ENTRY(entries[3], "HI", "k", "", r[3], SNATS_KV_DELETE);
    CHECK_ENTRY(entries[4], "HI", "k", "v4", r[4], SNATS_KV_PUT);
    int64_t now = now_ns();
    for (int i = 0; i < count; i++) {
        int64_t created = snats_kv_entry_created(entries[i]);
        if (created < now - 60000000000LL || created > now + 2000000000LL) FAIL("entry %d created %lld", i, (long long)created);
        if (i > 0) CHECK(created >= snats_kv_entry_created(entries[i - 1]));
    }
    snats_kv_entries_destroy(entries, count);

    /* Only the last `history` revisions are kept. */
    r[5] = put(kv, "k", "v5");
    r[6] = put(kv, "k", "v6");
    CHECK_OK(snats_kv_history(&entries, &count, kv, "k"));
    CHECK_EQ_INT(count, 5);
    CHECK_ENTRY(entries[0], "HI", "k", "v3", r[2], SNATS_KV_PUT);
    CHECK_ENTRY(entries[1], "HI", "k", "", r[3], SNATS_KV_DELETE);
    CHECK_ENTRY(entries[2], "HI", "k", "v4", r[4], SNATS_KV_PUT);
    CHECK_ENTRY(entries[3], "HI", "k", "v5", r[5], SNATS_KV_PUT);
    CHECK_ENTRY(entries[4], "HI", "k", "v6", r[6], SNATS_KV_PUT);
    snats_kv_entries_destroy(entries, count);

    /* A key with no revision: not found, NULL and 0. */
    entries = (snats_kv_entry **)0x1;
    count = -1;
    CHECK_STATUS(snats_kv_history(&entries, &count, kv, "never"), SNATS_NOT_FOUND);
    CHECK_NULL(entries);
    CHECK_EQ_INT(count, 0);
    CHECK_API_ERROR(404, 10037);
    /* A key is not a filter. */
    CHECK_INVALID(snats_kv_history(&entries, &count, kv, "k.*"));
    CHECK_INVALID(snats_kv_history(&entries, &count, kv, ">"));

    snats_kv_entries_destroy(NULL, 0); /* no-ops */
    snats_kv_entries_destroy(NULL, 3);

    /* A bucket keeping one revision has a history of one. */
    snats_kv *one = bucket_make(f.js, "ONE", "{\"storage\": \"memory\"}");
    put(one, "k", "a");
    uint64_t rb = put(one, "k", "b");
    CHECK_OK(snats_kv_history(&entries, &count, one, "k"));
    CHECK_EQ_INT(count, 1);
    CHECK_ENTRY(entries[0], "ONE", "k", "b", rb, SNATS_KV_PUT);
    snats_kv_entries_destroy(entries, count);
    snats_kv_destroy(one);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* The header: snats_kv_entry_delta() is "0 otherwise" outside a watch: a history's entries too. */
static void kv_history_delta_zero(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "HD", "{\"history\": 5, \"storage\": \"memory\"}");
    put(kv, "k", "1");
    put(kv, "k", "2");
    put(kv, "k", "3");
    snats_kv_entry **entries = NULL;
    int count = 0;
    CHECK_OK(snats_kv_history(&entries, &count, kv, "k"));
    CHECK_EQ_INT(count, 3);
    for (int i = 0; i < count; i++) {
        if (snats_kv_entry_delta(entries[i]) != 0)
            FAIL("history entry %d (revision %llu) has delta %llu; the header says 0 outside a watch", i,
                 (unsigned long long)snats_kv_entry_revision(entries[i]), (unsigned long long)snats_kv_entry_delta(entries[i]));
    }
    snats_kv_entries_destroy(entries, count);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_keys_listing(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "KS", "{\"history\": 3, \"storage\": \"memory\"}");
    json_t *keys = kv_keys(kv, NULL);
    CHECK_EQ_INT(json_array_size(keys), 0); /* an empty bucket: an empty array */
    json_decref(keys);

    put(kv, "a", "1");
    put(kv, "b.c", "1");
    put(kv, "b.d", "1");
    put(kv, "e", "1");
    put(kv, "a", "2");
    put(kv, "f", "1");
    CHECK_OK(snats_kv_delete(kv, "e", 0));
    CHECK_OK(snats_kv_purge(kv, "f", 0));

    keys = kv_keys(kv, NULL);
    CHECK_SET(keys, "a", "b.c", "b.d");
    json_decref(keys);
    keys = kv_keys(kv, ">");
    CHECK_SET(keys, "a", "b.c", "b.d");
    json_decref(keys);
    keys = kv_keys(kv, "b.*");
    CHECK_SET(keys, "b.c", "b.d");
    json_decref(keys);
    keys = kv_keys(kv, "b.>");
    CHECK_SET(keys, "b.c", "b.d");
    json_decref(keys);
    keys = kv_keys(kv, "a");
    CHECK_SET(keys, "a");
    json_decref(keys);
    keys = kv_keys(kv, "e");
    CHECK_EQ_INT(json_array_size(keys), 0);
    json_decref(keys);
    keys = kv_keys(kv, "zzz.*");
    CHECK_EQ_INT(json_array_size(keys), 0);
    json_decref(keys);

    /* Bad filters. */
    keys = (json_t *)0x1;
    CHECK_INVALID(snats_kv_keys(&keys, kv, "a b"));
    CHECK_NULL(keys);
    CHECK_INVALID(snats_kv_keys(&keys, kv, ""));
    CHECK_INVALID(snats_kv_keys(&keys, kv, ".a"));
    /* Listing leaves no consumer behind. */
    CHECK_EVENTUALLY(consumer_count(f.js, "KV_KS") == 0, 5000);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_status_document(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "ST", "{\"history\": 3, \"ttl\": 3600000000000, \"storage\": \"memory\"}");
    json_t *st = kv_status(kv);
    CHECK_EQ_STR(JSTR(st, "bucket"), "ST");
    CHECK_EQ_INT(JINT(st, "values"), 0);
    CHECK_EQ_INT(JINT(st, "bytes"), 0);
    json_decref(st);

    put(kv, "a", "1");
    put(kv, "b", "1");
    put(kv, "a", "2");
    put(kv, "c", "1");
    CHECK_OK(snats_kv_delete(kv, "c", 0));
    st = kv_status(kv);
    CHECK_EQ_STR(JSTR(st, "bucket"), "ST");
    CHECK_EQ_INT(JINT(st, "values"), 5);
    CHECK_EQ_INT(JINT(st, "history"), 3);
    CHECK_EQ_INT(JINT(st, "ttl"), 3600000000000LL);
    CHECK(JINT(st, "bytes") > 0);
    CHECK_EQ_INT(JINT(st, "bytes"), JINT(st, "info.state.bytes"));
    CHECK_EQ_STR(JSTR(st, "backing_store"), "JetStream");
    CHECK(!JBOOL(st, "is_compressed"));
    CHECK_EQ_STR(JSTR(st, "info.config.name"), "KV_ST");
    CHECK_EQ_STR(JSTR(st, "info.config.storage"), "memory");
    CHECK_EQ_INT(JINT(st, "info.state.messages"), 5);
    json_decref(st);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* The key has no value now (an entry read meanwhile is released). */
static bool key_gone(snats_kv *kv, const char *key) {
    snats_kv_entry *e = NULL;
    snats_status s = snats_kv_get(&e, kv, key, 0);
    snats_kv_entry_destroy(e);
    if (s != SNATS_OK && s != SNATS_NOT_FOUND) FAIL("get %s: %s (%s)", key, snats_status_text(s), snats_last_error());
    return s == SNATS_NOT_FOUND;
}

static void kv_max_value_size_and_ttl(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "MV", "{\"max_value_size\": 8, \"storage\": \"memory\"}");
    uint64_t r = put(kv, "k", "12345678");
    uint64_t rev = 5;
    CHECK_STATUS(snats_kv_put(&rev, kv, "k", "123456789", 9), SNATS_JS_API_ERROR);
    CHECK_EQ_INT(rev, 0);
    int code = 0, err = 0;
    snats_js_last_api_error(&code, &err);
    CHECK_EQ_INT(code, 400);
    CHECK(err != 0);
    CHECK(strlen(snats_last_error()) > 0);
    CHECK_STATUS(snats_kv_create(&rev, kv, "fresh", "123456789", 9), SNATS_JS_API_ERROR);
    CHECK_STATUS(snats_kv_update(&rev, kv, "k", "123456789", 9, r), SNATS_JS_API_ERROR);
    CHECK_GET(kv, "MV", "k", 0, "12345678", r);
    CHECK_GET_MISSING(kv, "fresh", 0);
    snats_kv_destroy(kv);

    /* A ttl: values expire. */
    kv = bucket_make(f.js, "TTL", "{\"ttl\": 500000000, \"storage\": \"memory\"}");
    json_t *st = kv_status(kv);
    CHECK_EQ_INT(JINT(st, "ttl"), 500000000);
    json_decref(st);
    put(kv, "k", "short-lived");
    CHECK_EVENTUALLY(key_gone(kv, "k"), 5000);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Bad names, NULL arguments
 * ---------------------------------------------------------------------------------------- */

static void kv_invalid_names(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    static const char *bad_buckets[] = {"", "a.b", "a b", "a*", "a>", "a/b", "a=b", "\xc3\xbc", "a\tb"};
    for (size_t i = 0; i < sizeof bad_buckets / sizeof bad_buckets[0]; i++) {
        snats_kv *kv = (snats_kv *)0x1;
        const char *b = bad_buckets[i];
        snats_status s = snats_kv_bucket_create(&kv, f.js, b, NULL);
        if (s != SNATS_INVALID_ARG) FAIL("create of bucket \"%s\" gave %s", b, snats_status_text(s));
        CHECK_NULL(kv);
        CHECK_API_ERROR(0, 0);
        kv = (snats_kv *)0x1;
        s = snats_kv_bucket_bind(&kv, f.js, b);
        if (s != SNATS_INVALID_ARG) FAIL("bind of bucket \"%s\" gave %s", b, snats_status_text(s));
        CHECK_NULL(kv);
        s = snats_kv_bucket_delete(f.js, b);
        if (s != SNATS_INVALID_ARG) FAIL("delete of bucket \"%s\" gave %s", b, snats_status_text(s));
    }
    /* Allowed bucket characters. */
    snats_kv *ok = bucket_make(f.js, "ok-Bucket_9", "{\"storage\": \"memory\", \"history\": 2}");

    static const char *bad_keys[] = {"", ".a", "a.", "a b", "a*", "a>", "*", ">", "a..b", "\xc3\xbc", "a\tb", "a\rb", "a:b"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        const char *k = bad_keys[i];
        uint64_t rev = 9;
        snats_status s = snats_kv_put(&rev, ok, k, "x", 1);
        if (s != SNATS_INVALID_ARG) FAIL("put of key \"%s\" gave %s", k, snats_status_text(s));
        CHECK_EQ_INT(rev, 0);
        CHECK_API_ERROR(0, 0);
        CHECK(strlen(snats_last_error()) > 0);
        if ((s = snats_kv_create(&rev, ok, k, "x", 1)) != SNATS_INVALID_ARG) FAIL("create \"%s\": %s", k, snats_status_text(s));
        if ((s = snats_kv_update(&rev, ok, k, "x", 1, 1)) != SNATS_INVALID_ARG) FAIL("update \"%s\": %s", k, snats_status_text(s));
        snats_kv_entry *e = (snats_kv_entry *)0x1;
        if ((s = snats_kv_get(&e, ok, k, 0)) != SNATS_INVALID_ARG) FAIL("get \"%s\": %s", k, snats_status_text(s));
        CHECK_NULL(e);
        if ((s = snats_kv_delete(ok, k, 0)) != SNATS_INVALID_ARG) FAIL("delete \"%s\": %s", k, snats_status_text(s));
        if ((s = snats_kv_purge(ok, k, 0)) != SNATS_INVALID_ARG) FAIL("purge \"%s\": %s", k, snats_status_text(s));
        snats_kv_entry **entries = (snats_kv_entry **)0x1;
        int count = 5;
        if ((s = snats_kv_history(&entries, &count, ok, k)) != SNATS_INVALID_ARG)
            FAIL("history \"%s\": %s", k, snats_status_text(s));
        CHECK_NULL(entries);
        CHECK_EQ_INT(count, 0);
    }
    /* Bad watch filters (wildcards are fine there). */
    static const char *bad_filters[] = {"", ".a", "a.", "a b", "a..b", "a.>.b", "\xc3\xbc"};
    for (size_t i = 0; i < sizeof bad_filters / sizeof bad_filters[0]; i++) {
        snats_kv_watcher *w = (snats_kv_watcher *)0x1;
        snats_status s = snats_kv_watch(&w, ok, bad_filters[i], NULL, NULL, NULL);
        if (s != SNATS_INVALID_ARG) {
            if (s == SNATS_OK) snats_kv_watcher_destroy(w);
            FAIL("watch of \"%s\" gave %s", bad_filters[i], snats_status_text(s));
        }
        CHECK_NULL(w);
    }
    /* Nothing was stored, and no consumer was left. */
    json_t *st = kv_status(ok);
    CHECK_EQ_INT(JINT(st, "values"), 0);
    json_decref(st);
    CHECK_EQ_INT(consumer_count(f.js, "KV_ok-Bucket_9"), 0);
    snats_kv_destroy(ok);
    jsfix_down(&f);
}

static void kv_null_arguments(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "NUL", "{\"storage\": \"memory\", \"history\": 3}");
    uint64_t r = put(kv, "k", "v");
    snats_kv *out = (snats_kv *)0x1;
    CHECK_INVALID(snats_kv_bucket_create(NULL, f.js, "B", NULL));
    CHECK_INVALID(snats_kv_bucket_create(&out, NULL, "B", NULL));
    CHECK_NULL(out);
    out = (snats_kv *)0x1;
    CHECK_INVALID(snats_kv_bucket_create(&out, f.js, NULL, NULL));
    CHECK_NULL(out);
    CHECK_INVALID(snats_kv_bucket_bind(NULL, f.js, "NUL"));
    out = (snats_kv *)0x1;
    CHECK_INVALID(snats_kv_bucket_bind(&out, NULL, "NUL"));
    CHECK_NULL(out);
    CHECK_INVALID(snats_kv_bucket_bind(&out, f.js, NULL));
    CHECK_INVALID(snats_kv_bucket_delete(NULL, "NUL"));
    CHECK_INVALID(snats_kv_bucket_delete(f.js, NULL));
    json_t *j = (json_t *)0x1;
    CHECK_INVALID(snats_kv_bucket_names(NULL, f.js));
    CHECK_INVALID(snats_kv_bucket_names(&j, NULL));
    CHECK_NULL(j);
    CHECK_INVALID(snats_kv_status(NULL, kv));
    j = (json_t *)0x1;
    CHECK_INVALID(snats_kv_status(&j, NULL));
    CHECK_NULL(j);

    uint64_t rev = 3;
    CHECK_INVALID(snats_kv_put(&rev, NULL, "k", "x", 1));
    CHECK_EQ_INT(rev, 0);
    CHECK_INVALID(snats_kv_put(&rev, kv, NULL, "x", 1));
    CHECK_INVALID(snats_kv_put(&rev, kv, "k", NULL, 1)); /* NULL data with a length */
    CHECK_INVALID(snats_kv_create(&rev, NULL, "k", "x", 1));
    CHECK_INVALID(snats_kv_create(&rev, kv, NULL, "x", 1));
    CHECK_INVALID(snats_kv_create(&rev, kv, "n", NULL, 1));
    CHECK_INVALID(snats_kv_update(&rev, NULL, "k", "x", 1, r));
    CHECK_INVALID(snats_kv_update(&rev, kv, NULL, "x", 1, r));
    CHECK_INVALID(snats_kv_update(&rev, kv, "k", NULL, 1, r));
    snats_kv_entry *e = (snats_kv_entry *)0x1;
    CHECK_INVALID(snats_kv_get(NULL, kv, "k", 0));
    CHECK_INVALID(snats_kv_get(&e, NULL, "k", 0));
    CHECK_NULL(e);
    e = (snats_kv_entry *)0x1;
    CHECK_INVALID(snats_kv_get(&e, kv, NULL, 0));
    CHECK_NULL(e);
    CHECK_INVALID(snats_kv_delete(NULL, "k", 0));
    CHECK_INVALID(snats_kv_delete(kv, NULL, 0));
    CHECK_INVALID(snats_kv_purge(NULL, "k", 0));
    CHECK_INVALID(snats_kv_purge(kv, NULL, 0));
    j = (json_t *)0x1;
    CHECK_INVALID(snats_kv_keys(NULL, kv, NULL));
    CHECK_INVALID(snats_kv_keys(&j, NULL, NULL));
    CHECK_NULL(j);
    snats_kv_entry **entries = (snats_kv_entry **)0x1;
    int count = 4;
    CHECK_INVALID(snats_kv_history(NULL, &count, kv, "k"));
    CHECK_EQ_INT(count, 0);
    CHECK_INVALID(snats_kv_history(&entries, NULL, kv, "k"));
    CHECK_NULL(entries);
    CHECK_INVALID(snats_kv_history(&entries, &count, NULL, "k"));
    CHECK_INVALID(snats_kv_history(&entries, &count, kv, NULL));

    snats_kv_watcher *w = (snats_kv_watcher *)0x1;
    CHECK_INVALID(snats_kv_watch(NULL, kv, NULL, NULL, NULL, NULL));
    CHECK_INVALID(snats_kv_watch(&w, NULL, NULL, NULL, NULL, NULL));
    CHECK_NULL(w);
    CHECK_INVALID(snats_kv_watcher_next(&e, NULL, 100));
    CHECK_INVALID(snats_kv_watcher_stop(NULL));
    snats_kv_watcher_destroy(NULL); /* no-ops */
    snats_kv_entry_destroy(NULL);
    snats_kv_entries_destroy(NULL, 0);
    snats_kv_destroy(NULL);

    /* Accessors of NULL. */
    CHECK_NULL(snats_kv_entry_bucket(NULL));
    CHECK_NULL(snats_kv_entry_key(NULL));
    CHECK_NULL(snats_kv_entry_value(NULL));
    CHECK_EQ_INT(snats_kv_entry_value_len(NULL), 0);
    CHECK_EQ_INT(snats_kv_entry_revision(NULL), 0);
    CHECK_EQ_INT(snats_kv_entry_delta(NULL), 0);
    CHECK_EQ_INT(snats_kv_entry_created(NULL), 0);
    (void)snats_kv_entry_operation(NULL);

    /* The bucket is unchanged. */
    CHECK_GET(kv, "NUL", "k", 0, "v", r);
    CHECK_EQ_INT(consumer_count(f.js, "KV_NUL"), 0);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Watches with a callback
 * ---------------------------------------------------------------------------------------- */

static void kv_watch_initial_marker_updates(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "W", "{\"history\": 5, \"storage\": \"memory\"}");
    put(kv, "a", "1");             /* 1 */
    put(kv, "b", "1");             /* 2 */
    put(kv, "a", "2");             /* 3 */
    put(kv, "c", "1");             /* 4 */
    CHECK_OK(snats_kv_delete(kv, "c", 0)); /* 5 */

    static watch_log l;
    watch_log_init(&l);
    l.get_in_cb = kv;
    int64_t before = now_ns();
    snats_kv_watcher *w = watch_cb(kv, NULL, NULL, &l);
    wait_wrecs(&l, 4);
    /* The last revision of each key, in stream order (the delete included), then the marker. */
    CHECK_WREC(&l, 0, "W", "b", "1", 2, SNATS_KV_PUT);
    CHECK_WREC(&l, 1, "W", "a", "2", 3, SNATS_KV_PUT);
    CHECK_WREC(&l, 2, "W", "c", "", 5, SNATS_KV_DELETE);
    CHECK_MARKER(&l, 3);
    /* Deltas count what follows. */
    CHECK_EQ_INT(l.recs[0].delta, 2);
    CHECK_EQ_INT(l.recs[1].delta, 1);
    CHECK_EQ_INT(l.recs[2].delta, 0);
    CHECK(l.recs[0].created > before - 60000000000LL && l.recs[0].created <= now_ns() + 2000000000LL);
    check_seen(&l, w);

    /* Then each change, in order. */
    put(kv, "d", "1");                    /* 6 */
    put(kv, "a", "3");                    /* 7 */
    CHECK_OK(snats_kv_delete(kv, "b", 0)); /* 8 */
    CHECK_OK(snats_kv_purge(kv, "a", 0));  /* 9 */
    uint64_t r = 0;
    CHECK_OK(snats_kv_create(&r, kv, "c", "again", 5)); /* 10 */
    wait_wrecs(&l, 9);
    CHECK_WREC(&l, 4, "W", "d", "1", 6, SNATS_KV_PUT);
    CHECK_WREC(&l, 5, "W", "a", "3", 7, SNATS_KV_PUT);
    CHECK_WREC(&l, 6, "W", "b", "", 8, SNATS_KV_DELETE);
    CHECK_WREC(&l, 7, "W", "a", "", 9, SNATS_KV_PURGE);
    CHECK_WREC(&l, 8, "W", "c", "again", 10, SNATS_KV_PUT);
    check_quiet(&l, 9);
    CHECK_EQ_INT(atomic_load(&l.markers), 1);
    CHECK_EQ_INT(atomic_load(&l.gets_ok), 2); /* b and a: read back inside the callback */

    /* A callback watch is not read with next. */
    snats_kv_entry *e = (snats_kv_entry *)0x1;
    CHECK_STATUS(snats_kv_watcher_next(&e, w, 100), SNATS_ILLEGAL_STATE);
    CHECK_NULL(e);

    /* Destroyed: no more calls, and its consumer goes. */
    snats_kv_watcher_destroy(w);
    put(kv, "e", "1");
    check_quiet(&l, 9);
    CHECK_EVENTUALLY(consumer_count(f.js, "KV_W") == 0, 5000);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_watch_marker_first(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "MF", "{\"history\": 5, \"storage\": \"memory\"}");

    /* An empty bucket: the marker at once, then the changes. */
    static watch_log l;
    watch_log_init(&l);
    snats_kv_watcher *w = watch_cb(kv, NULL, NULL, &l);
    wait_wrecs(&l, 1);
    CHECK_MARKER(&l, 0);
    check_quiet(&l, 1);
    uint64_t r1 = put(kv, "x", "1");
    wait_wrecs(&l, 2);
    CHECK_WREC(&l, 1, "MF", "x", "1", r1, SNATS_KV_PUT);
    snats_kv_watcher_destroy(w);

    /* Keys exist but none matches the filter: the marker first too. */
    static watch_log m;
    watch_log_init(&m);
    w = watch_cb(kv, "other.*", NULL, &m);
    wait_wrecs(&m, 1);
    CHECK_MARKER(&m, 0);
    uint64_t r2 = put(kv, "other.y", "2");
    put(kv, "x", "2"); /* not watched */
    wait_wrecs(&m, 2);
    CHECK_WREC(&m, 1, "MF", "other.y", "2", r2, SNATS_KV_PUT);
    check_quiet(&m, 2);
    snats_kv_watcher_destroy(w);

    /* updates_only: the marker first, then only what changes from now on. */
    static watch_log u;
    watch_log_init(&u);
    w = watch_cb(kv, NULL, "{\"updates_only\": true}", &u);
    wait_wrecs(&u, 1);
    CHECK_MARKER(&u, 0);
    check_quiet(&u, 1);
    uint64_t r3 = put(kv, "x", "3");
    CHECK_OK(snats_kv_delete(kv, "other.y", 0));
    wait_wrecs(&u, 3);
    CHECK_WREC(&u, 1, "MF", "x", "3", r3, SNATS_KV_PUT);
    CHECK_WREC(&u, 2, "MF", "other.y", "", r3 + 1, SNATS_KV_DELETE);
    check_quiet(&u, 3);
    CHECK_EQ_INT(atomic_load(&u.markers), 1);
    snats_kv_watcher_destroy(w);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_watch_include_history(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "IH", "{\"history\": 5, \"storage\": \"memory\"}");
    put(kv, "a", "1");
    put(kv, "a", "2");
    put(kv, "b", "1");
    put(kv, "a", "3");
    CHECK_OK(snats_kv_delete(kv, "b", 0));
    static watch_log l;
    watch_log_init(&l);
    snats_kv_watcher *w = watch_cb(kv, NULL, "{\"include_history\": true}", &l);
    wait_wrecs(&l, 6);
    CHECK_WREC(&l, 0, "IH", "a", "1", 1, SNATS_KV_PUT);
    CHECK_WREC(&l, 1, "IH", "a", "2", 2, SNATS_KV_PUT);
    CHECK_WREC(&l, 2, "IH", "b", "1", 3, SNATS_KV_PUT);
    CHECK_WREC(&l, 3, "IH", "a", "3", 4, SNATS_KV_PUT);
    CHECK_WREC(&l, 4, "IH", "b", "", 5, SNATS_KV_DELETE);
    CHECK_MARKER(&l, 5);
    put(kv, "a", "4");
    wait_wrecs(&l, 7);
    CHECK_WREC(&l, 6, "IH", "a", "4", 6, SNATS_KV_PUT);
    check_quiet(&l, 7);
    snats_kv_watcher_destroy(w);

    /* With a filter: one key's history. */
    static watch_log k;
    watch_log_init(&k);
    w = watch_cb(kv, "b", "{\"include_history\": true}", &k);
    wait_wrecs(&k, 3);
    CHECK_WREC(&k, 0, "IH", "b", "1", 3, SNATS_KV_PUT);
    CHECK_WREC(&k, 1, "IH", "b", "", 5, SNATS_KV_DELETE);
    CHECK_MARKER(&k, 2);
    check_quiet(&k, 3);
    snats_kv_watcher_destroy(w);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_watch_ignore_deletes(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "ID", "{\"history\": 5, \"storage\": \"memory\"}");
    put(kv, "a", "1");                     /* 1 */
    put(kv, "b", "1");                     /* 2 */
    CHECK_OK(snats_kv_delete(kv, "b", 0)); /* 3 */
    put(kv, "c", "1");                     /* 4 */
    CHECK_OK(snats_kv_purge(kv, "c", 0));  /* 5: the last initial entry is a purge */
    static watch_log l;
    watch_log_init(&l);
    snats_kv_watcher *w = watch_cb(kv, NULL, "{\"ignore_deletes\": true}", &l);
    wait_wrecs(&l, 2);
    CHECK_WREC(&l, 0, "ID", "a", "1", 1, SNATS_KV_PUT);
    CHECK_MARKER(&l, 1);
    CHECK_OK(snats_kv_delete(kv, "a", 0)); /* 6: not delivered */
    put(kv, "d", "1");                     /* 7 */
    CHECK_OK(snats_kv_purge(kv, "d", 0));  /* 8: not delivered */
    put(kv, "e", "1");                     /* 9 */
    wait_wrecs(&l, 4);
    CHECK_WREC(&l, 2, "ID", "d", "1", 7, SNATS_KV_PUT);
    CHECK_WREC(&l, 3, "ID", "e", "1", 9, SNATS_KV_PUT);
    check_quiet(&l, 4);
    CHECK_EQ_INT(atomic_load(&l.markers), 1);
    snats_kv_watcher_destroy(w);

    /* Only deletes in the bucket: nothing but the marker. */
    snats_kv *dels = bucket_make(f.js, "ID2", "{\"storage\": \"memory\"}");
    put(dels, "x", "1");
    CHECK_OK(snats_kv_delete(dels, "x", 0));
    static watch_log m;
    watch_log_init(&m);
    w = watch_cb(dels, NULL, "{\"ignore_deletes\": true}", &m);
    wait_wrecs(&m, 1);
    CHECK_MARKER(&m, 0);
    check_quiet(&m, 1);
    snats_kv_watcher_destroy(w);
    snats_kv_destroy(dels);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_watch_meta_only(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "MO", "{\"history\": 5, \"storage\": \"memory\"}");
    uint64_t r1 = put(kv, "a", "a value");
    static watch_log l;
    watch_log_init(&l);
    snats_kv_watcher *w = watch_cb(kv, NULL, "{\"meta_only\": true}", &l);
    wait_wrecs(&l, 2);
    CHECK_WREC(&l, 0, "MO", "a", "", r1, SNATS_KV_PUT);
    CHECK_EQ_INT(l.recs[0].value_len, 0);
    CHECK(l.recs[0].value_null);
    CHECK(l.recs[0].created > 0);
    CHECK_MARKER(&l, 1);
    uint64_t r2 = put(kv, "b", "another value");
    CHECK_OK(snats_kv_delete(kv, "a", 0));
    CHECK_OK(snats_kv_purge(kv, "b", 0));
    wait_wrecs(&l, 5);
    CHECK_WREC(&l, 2, "MO", "b", "", r2, SNATS_KV_PUT);
    CHECK_WREC(&l, 3, "MO", "a", "", r2 + 1, SNATS_KV_DELETE);
    CHECK_WREC(&l, 4, "MO", "b", "", r2 + 2, SNATS_KV_PURGE);
    check_quiet(&l, 5);
    snats_kv_watcher_destroy(w);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_watch_filters_and_options(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "WF", "{\"history\": 5, \"storage\": \"memory\"}");
    put(kv, "a.x", "1");   /* 1 */
    put(kv, "a.y.z", "1"); /* 2 */
    put(kv, "b.x", "1");   /* 3 */
    put(kv, "c", "1");     /* 4 */

    /* One filter: a.* */
    static watch_log l;
    watch_log_init(&l);
    snats_kv_watcher *w = watch_cb(kv, "a.*", NULL, &l);
    wait_wrecs(&l, 2);
    CHECK_WREC(&l, 0, "WF", "a.x", "1", 1, SNATS_KV_PUT);
    CHECK_MARKER(&l, 1);
    put(kv, "a.y.z", "2"); /* 5: not matched by a.* */
    put(kv, "a.w", "1");   /* 6 */
    wait_wrecs(&l, 3);
    CHECK_WREC(&l, 2, "WF", "a.w", "1", 6, SNATS_KV_PUT);
    check_quiet(&l, 3);
    snats_kv_watcher_destroy(w);

    /* Refused options. */
    static const char *bad[] = {
        "{\"bogus\": true}",          "{\"keys\": \"a\"}",         "{\"keys\": [1]}",
        "{\"keys\": [\"a b\"]}",      "{\"keys\": []}",            "{\"include_history\": \"yes\"}",
        "{\"updates_only\": 1}",      "[]",                        "\"text\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = J("%s", bad[i]);
        snats_kv_watcher *x = (snats_kv_watcher *)0x1;
        snats_status s = snats_kv_watch(&x, kv, NULL, o, on_watch, &l);
        if (s != SNATS_INVALID_ARG) {
            if (s == SNATS_OK) snats_kv_watcher_destroy(x);
            FAIL("watch options %s gave %s, expected SNATS_INVALID_ARG", bad[i], snats_status_text(s));
        }
        CHECK_NULL(x);
        json_decref(o);
    }
    /* Keys both as the argument and in the options. */
    json_t *o = J("{\"keys\": [\"a.x\"]}");
    snats_kv_watcher *x = (snats_kv_watcher *)0x1;
    CHECK_INVALID(snats_kv_watch(&x, kv, "b.x", o, on_watch, &l));
    CHECK_NULL(x);
    json_decref(o);
    check_quiet(&l, 3); /* the refused watches never called back */
    CHECK_EVENTUALLY(consumer_count(f.js, "KV_WF") == 0, 5000);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* The header: `keys` in the options watches several filters, whatever the deliver policy the
 * other options pick (updates_only: new, include_history: all, the default: last per subject). */
static void kv_watch_several_keys(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    static const char *const variants[] = {"\"updates_only\": true", "\"include_history\": true", "\"meta_only\": false"};
    for (int v = 0; v < 3; v++) {
        char bucket[16];
        snprintf(bucket, sizeof bucket, "SK%d", v);
        snats_kv *kv = bucket_make(f.js, bucket, "{\"history\": 5, \"storage\": \"memory\"}");
        put(kv, "a.x", "1"); /* 1 */
        put(kv, "b.x", "1"); /* 2 */
        put(kv, "c", "1");   /* 3 */
        char options[128];
        snprintf(options, sizeof options, "{\"keys\": [\"a.x\", \"b.>\"], %s}", variants[v]);
        static watch_log l;
        watch_log_init(&l);
        json_t *o = J("%s", options);
        snats_kv_watcher *w = NULL;
        snats_status s = snats_kv_watch(&w, kv, NULL, o, on_watch, &l);
        json_decref(o);
        if (!SERVER_AT_LEAST(2, 10, 0)) {
            /* Servers before 2.10 ignore filter_subjects: the library refuses the watch. */
            if (s != SNATS_INVALID_ARG)
                FAIL("watch %s on a 2.9 server: %s, the header says SNATS_INVALID_ARG", options, snats_status_text(s));
            CHECK_NULL(w);
            snats_kv_destroy(kv);
            continue;
        }
        if (s != SNATS_OK) FAIL("watch %s: %s (%s)", options, snats_status_text(s), snats_last_error());
        int initial = v == 0 ? 0 : 2;
        wait_wrecs(&l, initial + 1);
        if (v != 0) {
            CHECK_WREC(&l, 0, bucket, "a.x", "1", 1, SNATS_KV_PUT);
            CHECK_WREC(&l, 1, bucket, "b.x", "1", 2, SNATS_KV_PUT);
        }
        CHECK_MARKER(&l, initial);
        put(kv, "c", "2"); /* 4: not watched */
        put(kv, "b.q.r", "1");
        put(kv, "a.x", "2");
        wait_wrecs(&l, initial + 3);
        if (l.recs[initial + 1].key[0] == 'c') FAIL("%s: the watch of a.x and b.> delivered key c", options);
        CHECK_WREC(&l, initial + 1, bucket, "b.q.r", "1", 5, SNATS_KV_PUT);
        CHECK_WREC(&l, initial + 2, bucket, "a.x", "2", 6, SNATS_KV_PUT);
        check_quiet(&l, initial + 3);
        snats_kv_watcher_destroy(w);
        snats_kv_destroy(kv);
    }
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Watches read with snats_kv_watcher_next()
 * ---------------------------------------------------------------------------------------- */

static snats_kv_entry *next_entry(snats_kv_watcher *w, const char *file, int line) {
    snats_kv_entry *e = (snats_kv_entry *)0x1;
    snats_status s = snats_kv_watcher_next(&e, w, harness_ms(5000));
    if (s != SNATS_OK) harness_fail(file, line, "snats_kv_watcher_next: %s (%s)", snats_status_text(s), snats_last_error());
    return e;
}
#define NEXT_ENTRY(w) next_entry((w), __FILE__, __LINE__)

#define CHECK_NEXT(w, bucket, key, value, revision, op)                                 \
    do {                                                                                \
        snats_kv_entry *h_e_ = NEXT_ENTRY(w);                                           \
        check_entry_at(h_e_, (bucket), (key), (value), (revision), (op), __FILE__, __LINE__); \
        snats_kv_entry_destroy(h_e_);                                                   \
    } while (0)

#define CHECK_NEXT_MARKER(w)                                                              \
    do {                                                                                  \
        snats_kv_entry *h_e_ = NEXT_ENTRY(w);                                             \
        if (h_e_ != NULL) {                                                               \
            char h_k_[64];                                                                \
            snprintf(h_k_, sizeof h_k_, "%s", snats_kv_entry_key(h_e_));                  \
            snats_kv_entry_destroy(h_e_);                                                 \
            FAIL("got %s, expected the marker (NULL)", h_k_);                             \
        }                                                                                 \
    } while (0)

static void kv_watch_next(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "WN", "{\"history\": 5, \"storage\": \"memory\"}");
    put(kv, "a", "1");
    put(kv, "b", "1");
    snats_kv_watcher *w = NULL;
    CHECK_OK(snats_kv_watch(&w, kv, NULL, NULL, NULL, NULL));
    CHECK_NEXT(w, "WN", "a", "1", 1, SNATS_KV_PUT);
    /* Entries handed out by next are owned: they outlive the next call. */
    snats_kv_entry *b = NEXT_ENTRY(w);
    CHECK_NEXT_MARKER(w);
    CHECK_ENTRY(b, "WN", "b", "1", 2, SNATS_KV_PUT);
    CHECK_EQ_INT(snats_kv_entry_delta(b), 0);
    snats_kv_entry_destroy(b);

    /* Nothing: a timeout of about the time asked for. */
    snats_kv_entry *e = (snats_kv_entry *)0x1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_kv_watcher_next(&e, w, harness_ms(300)), SNATS_TIMEOUT);
    int64_t took = harness_now_ms() - t0;
    CHECK_NULL(e);
    if (took < harness_ms(300) - 20 || took > harness_ms(300) + harness_ms(1000))
        FAIL("a 300 ms next took %lld ms", (long long)took);

    /* Changes as they come. */
    put(kv, "a", "2");
    CHECK_OK(snats_kv_delete(kv, "b", 0));
    CHECK_NEXT(w, "WN", "a", "2", 3, SNATS_KV_PUT);
    CHECK_NEXT(w, "WN", "b", "", 4, SNATS_KV_DELETE);
    CHECK_STATUS(snats_kv_watcher_next(&e, w, harness_ms(100)), SNATS_TIMEOUT);

    /* Bad arguments. */
    CHECK_INVALID(snats_kv_watcher_next(NULL, w, 100));
    CHECK_INVALID(snats_kv_watcher_next(&e, w, 0));
    CHECK_INVALID(snats_kv_watcher_next(&e, w, -5));
    snats_kv_watcher_destroy(w);

    /* updates_only: the marker first. */
    json_t *o = J("{\"updates_only\": true}");
    CHECK_OK(snats_kv_watch(&w, kv, NULL, o, NULL, NULL));
    json_decref(o);
    CHECK_NEXT_MARKER(w);
    put(kv, "c", "1");
    CHECK_NEXT(w, "WN", "c", "1", 5, SNATS_KV_PUT);
    snats_kv_watcher_destroy(w);

    /* An empty filter match: the marker first. */
    CHECK_OK(snats_kv_watch(&w, kv, "zzz", NULL, NULL, NULL));
    CHECK_NEXT_MARKER(w);
    CHECK_STATUS(snats_kv_watcher_next(&e, w, harness_ms(100)), SNATS_TIMEOUT);
    snats_kv_watcher_destroy(w);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* The server has sent the consumer's messages: want delivered, none pending. */
static bool consumer_delivered_all(snats_jetstream *js, const char *stream, const char *consumer, long long want) {
    json_t *info = NULL;
    if (snats_js_consumer_info(&info, js, stream, consumer) != SNATS_OK) return false;
    bool done = JINT(info, "num_pending") == 0 && JINT(info, "delivered.consumer_seq") == want;
    json_decref(info);
    return done;
}

static void kv_watch_stop_drains(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "WS", "{\"history\": 5, \"storage\": \"memory\"}");
    put(kv, "a", "1");
    put(kv, "b", "1");
    put(kv, "c", "1");
    snats_kv_watcher *w = NULL;
    CHECK_OK(snats_kv_watch(&w, kv, NULL, NULL, NULL, NULL));
    /* Let the initial values reach the watch's queue (the server has sent them all, then a
     * moment for the delivery), then stop it. */
    json_t *names = NULL;
    CHECK_OK(snats_js_consumer_names(&names, f.js, "KV_WS"));
    CHECK_EQ_INT(json_array_size(names), 1);
    char consumer[128];
    snprintf(consumer, sizeof consumer, "%s", json_string_value(json_array_get(names, 0)));
    json_decref(names);
    CHECK_EVENTUALLY(consumer_delivered_all(f.js, "KV_WS", consumer, 3), 5000);
    CHECK_OK(snats_conn_flush(f.c, harness_ms(5000)));
    harness_sleep_ms(harness_ms(200));
    CHECK_OK(snats_kv_watcher_stop(w));
    /* Its consumer goes. */
    CHECK_EVENTUALLY(consumer_count(f.js, "KV_WS") == 0, 5000);
    put(kv, "d", "1"); /* after the stop: not delivered */

    /* What was queued comes out, then SNATS_INVALID_SUBSCRIPTION at once. */
    CHECK_NEXT(w, "WS", "a", "1", 1, SNATS_KV_PUT);
    CHECK_NEXT(w, "WS", "b", "1", 2, SNATS_KV_PUT);
    CHECK_NEXT(w, "WS", "c", "1", 3, SNATS_KV_PUT);
    CHECK_NEXT_MARKER(w);
    snats_kv_entry *e = (snats_kv_entry *)0x1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_kv_watcher_next(&e, w, harness_ms(3000)), SNATS_INVALID_SUBSCRIPTION);
    CHECK(harness_now_ms() - t0 < harness_ms(1000));
    CHECK_NULL(e);
    CHECK_STATUS(snats_kv_watcher_next(&e, w, harness_ms(100)), SNATS_INVALID_SUBSCRIPTION);
    snats_kv_watcher_destroy(w);

    /* A callback watch stopped: no more calls. */
    static watch_log l;
    watch_log_init(&l);
    w = watch_cb(kv, NULL, NULL, &l);
    wait_wrecs(&l, 5);
    CHECK_MARKER(&l, 4);
    CHECK_OK(snats_kv_watcher_stop(w));
    put(kv, "e", "1");
    check_quiet(&l, 5);
    snats_kv_watcher_destroy(w);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* The header: a watch's callback may call any function but snats_kv_watcher_destroy() of its
 * watcher: a stop from the first callback (an initial value that came before snats_kv_watch()
 * returned) ends the watch: no further callbacks, its consumer goes. */
typedef struct {
    atomic_int calls;
    atomic_int stop_status;
} stop_in_cb;

static void on_watch_stop(snats_kv_watcher *watcher, const snats_kv_entry *entry, void *closure) {
    (void)entry;
    stop_in_cb *st = closure;
    if (atomic_fetch_add(&st->calls, 1) == 0) atomic_store(&st->stop_status, snats_kv_watcher_stop(watcher));
}

static void kv_watch_stop_in_first_callback(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "SC", "{\"storage\": \"memory\"}");
    char key[16];
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put(kv, key, "v");
    }
    for (int round = 0; round < 30; round++) {
        static stop_in_cb st;
        atomic_store(&st.calls, 0);
        atomic_store(&st.stop_status, -1);
        snats_kv_watcher *w = NULL;
        CHECK_OK(snats_kv_watch(&w, kv, NULL, NULL, on_watch_stop, &st));
        CHECK_EVENTUALLY(atomic_load(&st.stop_status) != -1, 5000);
        CHECK_EQ_INT(atomic_load(&st.stop_status), SNATS_OK);
        put(kv, "k0", "after");
        harness_sleep_ms(harness_ms(100));
        int calls = atomic_load(&st.calls);
        if (calls != 1) FAIL("round %d: %d callbacks (of 50 initial values, a marker, an update) after a stop in the first", round, calls);
        CHECK_EVENTUALLY(consumer_count(f.js, "KV_SC") == 0, 5000);
        snats_kv_watcher_destroy(w);
    }
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* A thread waiting in next is woken by a stop on another thread. */
typedef struct {
    snats_kv_watcher *w;
    atomic_int status;
    atomic_bool done;
} next_job;

static void *next_thread(void *arg) {
    next_job *job = arg;
    snats_kv_entry *e = NULL;
    snats_status s = snats_kv_watcher_next(&e, job->w, harness_ms(20000));
    snats_kv_entry_destroy(e);
    atomic_store(&job->status, s);
    atomic_store(&job->done, true);
    return NULL;
}

static void kv_watch_stop_wakes_next(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "WK", "{\"storage\": \"memory\"}");
    snats_kv_watcher *w = NULL;
    CHECK_OK(snats_kv_watch(&w, kv, NULL, NULL, NULL, NULL));
    CHECK_NEXT_MARKER(w);
    next_job job = {.w = w};
    atomic_store(&job.status, -1);
    pthread_t t;
    harness_spawn(&t, next_thread, &job);
    harness_sleep_ms(harness_ms(200));
    CHECK(!atomic_load(&job.done));
    int64_t t0 = harness_now_ms();
    CHECK_OK(snats_kv_watcher_stop(w));
    CHECK_EVENTUALLY(atomic_load(&job.done), 3000);
    CHECK(harness_now_ms() - t0 < harness_ms(3000));
    harness_join(t);
    CHECK_EQ_INT(atomic_load(&job.status), SNATS_INVALID_SUBSCRIPTION);
    snats_kv_watcher_destroy(w);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Without blocking
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    atomic_int calls;
    snats_kv *kv;
    snats_status status;
    uint64_t revision;
    int api_code, api_err;
    char error[256];
    pthread_t thread;
    /* an entry */
    bool has_entry;
    char key[64];
    char value[128];
    size_t value_len;
    uint64_t entry_revision;
    int op;
    uint64_t delta;
    /* entries */
    int count;
    bool entries_null;
    int ops[16];
    uint64_t revs[16];
    char values[16][32];
    /* json */
    json_t *json;
} async_rec;

static void async_init(async_rec *r) {
    memset(r, 0, sizeof *r);
    r->status = (snats_status)-1;
}

static void async_common(async_rec *r, snats_kv *kv, snats_status status) {
    r->kv = kv;
    r->status = status;
    snats_js_last_api_error(&r->api_code, &r->api_err);
    snprintf(r->error, sizeof r->error, "%s", status == SNATS_OK ? "" : snats_last_error());
    r->thread = pthread_self();
}

static void on_revision(snats_kv *kv, snats_status status, uint64_t revision, void *closure) {
    async_rec *r = closure;
    async_common(r, kv, status);
    r->revision = revision;
    atomic_fetch_add(&r->calls, 1);
}

static void on_entry(snats_kv *kv, snats_status status, const snats_kv_entry *entry, void *closure) {
    async_rec *r = closure;
    async_common(r, kv, status);
    r->has_entry = entry != NULL;
    if (entry != NULL) {
        snprintf(r->key, sizeof r->key, "%s", snats_kv_entry_key(entry));
        r->value_len = snats_kv_entry_value_len(entry);
        if (r->value_len > 0) memcpy(r->value, snats_kv_entry_value(entry), r->value_len < 127 ? r->value_len : 127);
        r->entry_revision = snats_kv_entry_revision(entry);
        r->op = snats_kv_entry_operation(entry);
        r->delta = snats_kv_entry_delta(entry);
    }
    atomic_fetch_add(&r->calls, 1);
}

static void on_entries(snats_kv *kv, snats_status status, const snats_kv_entry *const *entries, int count, void *closure) {
    async_rec *r = closure;
    async_common(r, kv, status);
    r->count = count;
    r->entries_null = entries == NULL;
    for (int i = 0; i < count && i < 16; i++) {
        r->ops[i] = snats_kv_entry_operation(entries[i]);
        r->revs[i] = snats_kv_entry_revision(entries[i]);
        size_t n = snats_kv_entry_value_len(entries[i]);
        if (n > 31) n = 31;
        if (n) memcpy(r->values[i], snats_kv_entry_value(entries[i]), n);
        r->values[i][n] = 0;
    }
    atomic_fetch_add(&r->calls, 1);
}

static void on_json(snats_status status, const json_t *value, void *closure) {
    async_rec *r = closure;
    async_common(r, NULL, status);
    r->json = value ? json_deep_copy(value) : NULL;
    atomic_fetch_add(&r->calls, 1);
}

/* Waits for the one call; fails on a second one. */
static void async_wait(async_rec *r) {
    CHECK_EVENTUALLY(atomic_load(&r->calls) >= 1, 10000);
    CHECK_EQ_INT(atomic_load(&r->calls), 1);
}

#define CHECK_ASYNC(r, want_status, want_code, want_err)                                                      \
    do {                                                                                                      \
        async_wait(r);                                                                                        \
        if ((r)->status != (want_status))                                                                     \
            FAIL("callback status %s (%s), expected %s", snats_status_text((r)->status), (r)->error,          \
                 snats_status_text(want_status));                                                             \
        if ((r)->api_code != (want_code) || (r)->api_err != (want_err))                                       \
            FAIL("callback api error %d/%d, expected %d/%d", (r)->api_code, (r)->api_err, (want_code), (want_err)); \
        if ((want_status) != SNATS_OK && (r)->error[0] == 0) FAIL("no snats_last_error() in the callback");   \
    } while (0)

static void kv_async_success(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "AS", "{\"history\": 10, \"storage\": \"memory\"}");
    static async_rec r[16];
    for (int i = 0; i < 16; i++) async_init(&r[i]);

    /* put, create, update: the new revision. The data and key are copied. */
    char key[8] = "a", data[8] = "1";
    CHECK_OK(snats_kv_put_async(kv, key, data, 1, on_revision, &r[0]));
    memset(key, 'X', sizeof key - 1);
    memset(data, 'X', sizeof data - 1);
    CHECK_ASYNC(&r[0], SNATS_OK, 0, 0);
    CHECK(r[0].kv == kv);
    CHECK_EQ_INT(r[0].revision, 1);
    CHECK(!pthread_equal(r[0].thread, pthread_self()));
    CHECK_GET(kv, "AS", "a", 0, "1", 1);
    CHECK_OK(snats_kv_create_async(kv, "b", "x", 1, on_revision, &r[1]));
    CHECK_ASYNC(&r[1], SNATS_OK, 0, 0);
    CHECK_EQ_INT(r[1].revision, 2);
    CHECK(r[1].kv == kv);
    CHECK_OK(snats_kv_update_async(kv, "a", "2", 1, 1, on_revision, &r[2]));
    CHECK_ASYNC(&r[2], SNATS_OK, 0, 0);
    CHECK_EQ_INT(r[2].revision, 3);

    /* get: the current entry, and one at a revision. */
    CHECK_OK(snats_kv_get_async(kv, "a", 0, on_entry, &r[3]));
    CHECK_ASYNC(&r[3], SNATS_OK, 0, 0);
    CHECK(r[3].has_entry && r[3].kv == kv);
    CHECK_EQ_STR(r[3].key, "a");
    CHECK_EQ_STR(r[3].value, "2");
    CHECK_EQ_INT(r[3].entry_revision, 3);
    CHECK_EQ_INT(r[3].op, SNATS_KV_PUT);
    CHECK_EQ_INT(r[3].delta, 0);
    CHECK_OK(snats_kv_get_async(kv, "a", 1, on_entry, &r[4]));
    CHECK_ASYNC(&r[4], SNATS_OK, 0, 0);
    CHECK_EQ_STR(r[4].value, "1");
    CHECK_EQ_INT(r[4].entry_revision, 1);

    /* delete and purge: the marker's revision. */
    CHECK_OK(snats_kv_delete_async(kv, "a", 0, false, on_revision, &r[5]));
    CHECK_ASYNC(&r[5], SNATS_OK, 0, 0);
    CHECK_EQ_INT(r[5].revision, 4);
    CHECK_GET_MISSING(kv, "a", 0);
    /* create after a delete. */
    CHECK_OK(snats_kv_create_async(kv, "a", "again", 5, on_revision, &r[6]));
    CHECK_ASYNC(&r[6], SNATS_OK, 0, 0);
    CHECK_EQ_INT(r[6].revision, 5);
    CHECK_GET(kv, "AS", "a", 0, "again", 5);
    CHECK_OK(snats_kv_delete_async(kv, "b", 2, true, on_revision, &r[7])); /* purge, with its last revision */
    CHECK_ASYNC(&r[7], SNATS_OK, 0, 0);
    CHECK_EQ_INT(r[7].revision, 6);

    /* history: every revision, oldest first. */
    CHECK_OK(snats_kv_history_async(kv, "a", on_entries, &r[8]));
    CHECK_ASYNC(&r[8], SNATS_OK, 0, 0);
    CHECK_EQ_INT(r[8].count, 4);
    CHECK(!r[8].entries_null);
    static const int want_ops[4] = {SNATS_KV_PUT, SNATS_KV_PUT, SNATS_KV_DELETE, SNATS_KV_PUT};
    static const uint64_t want_revs[4] = {1, 3, 4, 5};
    static const char *const want_values[4] = {"1", "2", "", "again"};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(r[8].ops[i], want_ops[i]);
        CHECK_EQ_INT(r[8].revs[i], want_revs[i]);
        CHECK_EQ_STR(r[8].values[i], want_values[i]);
    }
    CHECK_OK(snats_kv_history_async(kv, "b", on_entries, &r[9]));
    CHECK_ASYNC(&r[9], SNATS_OK, 0, 0);
    CHECK_EQ_INT(r[9].count, 1);
    CHECK_EQ_INT(r[9].ops[0], SNATS_KV_PURGE);

    /* keys, status. */
    CHECK_OK(snats_kv_keys_async(kv, NULL, on_json, &r[10]));
    CHECK_ASYNC(&r[10], SNATS_OK, 0, 0);
    CHECK_SET(r[10].json, "a");
    CHECK_OK(snats_kv_keys_async(kv, "zz.*", on_json, &r[11]));
    CHECK_ASYNC(&r[11], SNATS_OK, 0, 0);
    CHECK(json_is_array(r[11].json) && json_array_size(r[11].json) == 0);
    CHECK_OK(snats_kv_status_async(kv, on_json, &r[12]));
    CHECK_ASYNC(&r[12], SNATS_OK, 0, 0);
    CHECK_EQ_STR(JSTR(r[12].json, "bucket"), "AS");
    CHECK_EQ_INT(JINT(r[12].json, "values"), 5); /* b's first revision went with its purge */
    CHECK_EQ_INT(JINT(r[12].json, "history"), 10);

    /* Each ran once. */
    harness_sleep_ms(harness_ms(300));
    for (int i = 0; i <= 12; i++) {
        if (atomic_load(&r[i].calls) != 1) FAIL("callback %d ran %d times", i, atomic_load(&r[i].calls));
        json_decref(r[i].json);
    }
    CHECK_EVENTUALLY(consumer_count(f.js, "KV_AS") == 0, 5000);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

static void kv_async_failures(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    /* max_value_size bounds the headers of delete and purge markers too: room for them. */
    snats_kv *kv = bucket_make(f.js, "AF", "{\"history\": 10, \"max_value_size\": 128, \"storage\": \"memory\"}");
    static char big[129];
    memset(big, 'B', sizeof big);
    uint64_t ra = put(kv, "a", "1");
    uint64_t rb = put(kv, "b", "1");
    static async_rec r[20];
    for (int i = 0; i < 20; i++) async_init(&r[i]);

    /* Refused by the bucket: larger than max_value_size. */
    CHECK_OK(snats_kv_put_async(kv, "big", big, sizeof big, on_revision, &r[0]));
    async_wait(&r[0]);
    CHECK_EQ_INT(r[0].status, SNATS_JS_API_ERROR);
    CHECK_EQ_INT(r[0].api_code, 400);
    CHECK(r[0].api_err != 0);
    CHECK_EQ_INT(r[0].revision, 0);
    CHECK(r[0].kv == kv);
    /* create on a key with a value; a stale update; deletes with a stale last revision. */
    CHECK_OK(snats_kv_create_async(kv, "a", "2", 1, on_revision, &r[1]));
    CHECK_ASYNC(&r[1], SNATS_JS_API_ERROR, 400, 10071);
    CHECK_EQ_INT(r[1].revision, 0);
    CHECK_OK(snats_kv_update_async(kv, "a", "2", 1, rb, on_revision, &r[2]));
    CHECK_ASYNC(&r[2], SNATS_JS_API_ERROR, 400, 10071);
    CHECK_OK(snats_kv_delete_async(kv, "a", rb, false, on_revision, &r[3]));
    CHECK_ASYNC(&r[3], SNATS_JS_API_ERROR, 400, 10071);
    CHECK_OK(snats_kv_delete_async(kv, "a", rb, true, on_revision, &r[4]));
    CHECK_ASYNC(&r[4], SNATS_JS_API_ERROR, 400, 10071);
    CHECK_GET(kv, "AF", "a", 0, "1", ra);

    /* Gets of no value: never written, another key's revision, deleted. */
    CHECK_OK(snats_kv_get_async(kv, "never", 0, on_entry, &r[5]));
    CHECK_ASYNC(&r[5], SNATS_NOT_FOUND, 404, 10037);
    CHECK(!r[5].has_entry);
    CHECK_OK(snats_kv_get_async(kv, "a", rb, on_entry, &r[6]));
    CHECK_ASYNC(&r[6], SNATS_NOT_FOUND, 404, 10037);
    CHECK(!r[6].has_entry);
    CHECK_OK(snats_kv_delete(kv, "b", 0));
    CHECK_OK(snats_kv_get_async(kv, "b", 0, on_entry, &r[7]));
    CHECK_ASYNC(&r[7], SNATS_NOT_FOUND, 404, 10037);
    CHECK(!r[7].has_entry);
    CHECK_OK(snats_kv_get_async(kv, "a", 999, on_entry, &r[8]));
    CHECK_ASYNC(&r[8], SNATS_NOT_FOUND, 404, 10037);

    /* A history of nothing. */
    CHECK_OK(snats_kv_history_async(kv, "never", on_entries, &r[9]));
    CHECK_ASYNC(&r[9], SNATS_NOT_FOUND, 404, 10037);
    CHECK_EQ_INT(r[9].count, 0); /* (entries NULL: kv_async_history_none_is_null) */

    /* Bad arguments: a status, and the callback never runs. */
    CHECK_INVALID(snats_kv_put_async(NULL, "k", "x", 1, on_revision, &r[10]));
    CHECK_INVALID(snats_kv_put_async(kv, NULL, "x", 1, on_revision, &r[10]));
    CHECK_INVALID(snats_kv_put_async(kv, "k", NULL, 1, on_revision, &r[10]));
    CHECK_INVALID(snats_kv_put_async(kv, "k", "x", 1, NULL, &r[10]));
    CHECK_INVALID(snats_kv_put_async(kv, "a b", "x", 1, on_revision, &r[10]));
    CHECK_INVALID(snats_kv_create_async(kv, "a.", "x", 1, on_revision, &r[10]));
    CHECK_INVALID(snats_kv_create_async(kv, "k", "x", 1, NULL, &r[10]));
    CHECK_INVALID(snats_kv_update_async(kv, "*", "x", 1, 1, on_revision, &r[10]));
    CHECK_INVALID(snats_kv_update_async(kv, "k", "x", 1, 1, NULL, &r[10]));
    CHECK_INVALID(snats_kv_delete_async(kv, ">", 0, false, on_revision, &r[10]));
    CHECK_INVALID(snats_kv_delete_async(kv, "k", 0, true, NULL, &r[10]));
    CHECK_INVALID(snats_kv_delete_async(NULL, "k", 0, true, on_revision, &r[10]));
    CHECK_INVALID(snats_kv_get_async(kv, "", 0, on_entry, &r[10]));
    CHECK_INVALID(snats_kv_get_async(kv, "k", 0, NULL, &r[10]));
    CHECK_INVALID(snats_kv_get_async(NULL, "k", 0, on_entry, &r[10]));
    CHECK_INVALID(snats_kv_status_async(NULL, on_json, &r[10]));
    CHECK_INVALID(snats_kv_status_async(kv, NULL, &r[10]));
    CHECK_INVALID(snats_kv_keys_async(kv, "a b", on_json, &r[10]));
    CHECK_INVALID(snats_kv_keys_async(kv, NULL, NULL, &r[10]));
    CHECK_INVALID(snats_kv_keys_async(NULL, NULL, on_json, &r[10]));
    CHECK_INVALID(snats_kv_history_async(kv, "k.*", on_entries, &r[10]));
    CHECK_INVALID(snats_kv_history_async(kv, "k", NULL, &r[10]));
    CHECK_INVALID(snats_kv_history_async(NULL, "k", on_entries, &r[10]));

    /* The bucket deleted: status, keys and history say not found, to their callbacks (keys
     * and history make their watch without waiting). */
    CHECK_OK(snats_kv_bucket_delete(f.js, "AF"));
    CHECK_OK(snats_kv_status_async(kv, on_json, &r[11]));
    CHECK_ASYNC(&r[11], SNATS_NOT_FOUND, 404, 10059);
    CHECK_NULL(r[11].json);
    CHECK_OK(snats_kv_keys_async(kv, NULL, on_json, &r[12]));
    CHECK_ASYNC(&r[12], SNATS_NOT_FOUND, 404, 10059);
    CHECK_NULL(r[12].json);
    CHECK_OK(snats_kv_history_async(kv, "a", on_entries, &r[13]));
    CHECK_ASYNC(&r[13], SNATS_NOT_FOUND, 404, 10059);
    /* A put nobody stores. */
    CHECK_OK(snats_kv_put_async(kv, "a", "x", 1, on_revision, &r[14]));
    async_wait(&r[14]);
    CHECK_EQ_INT(r[14].status, SNATS_NO_RESPONDERS);
    CHECK_EQ_INT(r[14].revision, 0);

    harness_sleep_ms(harness_ms(300));
    for (int i = 0; i < 20; i++) {
        int want = (i == 10 || (i > 14)) ? 0 : 1;
        if (atomic_load(&r[i].calls) != want) FAIL("callback %d ran %d times, expected %d", i, atomic_load(&r[i].calls), want);
        json_decref(r[i].json);
    }
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* The header: ::snats_kv_entries_handler gets "@p entries lent for the call (@p count of them;
 * NULL when 0)". */
static void kv_async_history_none_is_null(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = bucket_make(f.js, "HN", "{\"storage\": \"memory\"}");
    put(kv, "other", "1");
    static async_rec r;
    async_init(&r);
    CHECK_OK(snats_kv_history_async(kv, "never", on_entries, &r));
    CHECK_ASYNC(&r, SNATS_NOT_FOUND, 404, 10037);
    CHECK_EQ_INT(r.count, 0);
    if (!r.entries_null) FAIL("the entries handler got a non-NULL array with count 0");
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

/* On a connection bound to a dispatch queue, the completions run in its dispatch. */
static void kv_async_on_dispatch_queue(void) {
    test_server srv;
    js_server_start(&srv);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    static atomic_int closed;
    atomic_store(&closed, 0);
    snats_conn *c = harness_connect_on_queue(srv.url, q, false, harness_count_closed, &closed);
    snats_jetstream *js = NULL;
    CHECK_OK(snats_jetstream_create(&js, c, NULL));
    snats_kv *kv = bucket_make(js, "DQ", "{\"storage\": \"memory\"}");
    static async_rec r[2];
    async_init(&r[0]);
    async_init(&r[1]);
    CHECK_OK(snats_kv_put_async(kv, "k", "v", 1, on_revision, &r[0]));
    CHECK_OK(snats_kv_get_async(kv, "missing", 0, on_entry, &r[1]));
    /* The outcomes wait for the queue's owner. */
    harness_sleep_ms(harness_ms(300));
    CHECK_EQ_INT(atomic_load(&r[0].calls), 0);
    CHECK_EQ_INT(atomic_load(&r[1].calls), 0);
    harness_dispatch_until(q, &r[0].calls, 1);
    harness_dispatch_until(q, &r[1].calls, 1);
    CHECK_EQ_INT(r[0].status, SNATS_OK);
    CHECK_EQ_INT(r[0].revision, 1);
    CHECK(pthread_equal(r[0].thread, pthread_self()));
    CHECK_EQ_INT(r[1].status, SNATS_NOT_FOUND);
    CHECK(pthread_equal(r[1].thread, pthread_self()));
    CHECK_GET(kv, "DQ", "k", 0, "v", 1);
    snats_kv_destroy(kv);
    snats_jetstream_destroy(js);
    snats_conn_destroy(c);
    harness_dispatch_until(q, &closed, 1);
    snats_dispatch_queue_destroy(q);
    server_stop(&srv);
}

/* ------------------------------------------------------------------------------------------
 * A watch across a server restart
 * ---------------------------------------------------------------------------------------- */

/* Puts until it is stored (the server may be starting); returns the revision. */
static uint64_t put_retrying(snats_kv *kv, const char *key, const char *text) {
    int64_t deadline = harness_now_ms() + harness_ms(20000);
    for (;;) {
        uint64_t revision = 0;
        snats_status s = snats_kv_put(&revision, kv, key, text, strlen(text));
        if (s == SNATS_OK) return revision;
        if (harness_now_ms() > deadline) FAIL("put %s: %s (%s)", key, snats_status_text(s), snats_last_error());
        harness_sleep_ms(100);
    }
}

static void kv_watch_survives_restart(void) {
    int port = harness_free_port();
    char store[600];
    make_store(store, sizeof store);
    test_server srv;
    js_server_start_at(&srv, port, store);
    snats_conn *wc = js_connect(srv.url, true, NULL, NULL); /* the watcher's */
    snats_conn *pc = js_connect(srv.url, true, NULL, NULL); /* the writer's */
    snats_jetstream *wjs = NULL, *pjs = NULL;
    CHECK_OK(snats_jetstream_create(&wjs, wc, NULL));
    CHECK_OK(snats_jetstream_create(&pjs, pc, NULL));
    /* File storage (it survives the restart), every revision kept. */
    snats_kv *writer = bucket_make(pjs, "RS", "{\"history\": 64}");
    snats_kv *kv = NULL;
    CHECK_OK(snats_kv_bucket_bind(&kv, wjs, "RS"));

    enum { BEFORE = 10, LIVE = 10, AFTER = 20 };
    char key[32], value[32];
    for (int i = 0; i < BEFORE; i++) {
        snprintf(key, sizeof key, "k.%d", i);
        snprintf(value, sizeof value, "%d", i);
        put(writer, key, value);
    }
    static watch_log l;
    watch_log_init(&l);
    snats_kv_watcher *w = watch_cb(kv, NULL, NULL, &l);
    wait_wrecs(&l, BEFORE + 1);
    CHECK_MARKER(&l, BEFORE);
    for (int i = BEFORE; i < BEFORE + LIVE; i++) {
        snprintf(key, sizeof key, "k.%d", i);
        snprintf(value, sizeof value, "%d", i);
        put(writer, key, value);
    }
    wait_wrecs(&l, BEFORE + LIVE + 1);

    json_t *names = NULL;
    CHECK_OK(snats_js_consumer_names(&names, pjs, "KV_RS"));
    CHECK_EQ_INT(json_array_size(names), 1);
    char before_restart[128];
    snprintf(before_restart, sizeof before_restart, "%s", json_string_value(json_array_get(names, 0)));
    json_decref(names);

    server_stop(&srv);
    CHECK_EVENTUALLY(state_of(wc) == SNATS_CONN_RECONNECTING, 5000);
    js_server_start_at(&srv, port, store);
    /* Written as soon as the server takes it, before or after the watch has come back. */
    for (int i = BEFORE + LIVE; i < BEFORE + LIVE + AFTER; i++) {
        snprintf(key, sizeof key, "k.%d", i);
        snprintf(value, sizeof value, "%d", i);
        put_retrying(writer, key, value);
    }
    CHECK_EVENTUALLY(state_of(wc) == SNATS_CONN_CONNECTED, 10000);
    json_t *st = kv_status(writer);
    long long last = JINT(st, "info.state.last_seq");
    CHECK_EQ_INT(JINT(st, "info.state.messages"), last);
    CHECK_EQ_INT(JINT(st, "info.state.first_seq"), 1);
    json_decref(st);
    CHECK(last >= BEFORE + LIVE + AFTER);
    /* Every revision once, in order, after the one marker. */
    wait_wrecs(&l, (int)last + 1);
    check_quiet(&l, (int)last + 1);
    CHECK_EQ_INT(atomic_load(&l.markers), 1);
    uint64_t want = 1;
    for (int i = 0; i < (int)last + 1; i++) {
        if (i == BEFORE) {
            CHECK_MARKER(&l, i);
            continue;
        }
        const wrec *r = &l.recs[i];
        if (r->marker || r->revision != want)
            FAIL("record %d: %s revision %llu, expected revision %llu", i, r->marker ? "the marker" : r->key,
                 (unsigned long long)r->revision, (unsigned long long)want);
        want++;
    }
    /* The values written, each at least once, in the order written. */
    int next_value = 0;
    for (int i = 0; i < (int)last + 1; i++) {
        if (l.recs[i].marker) continue;
        int v = atoi(l.recs[i].value);
        char k[32];
        snprintf(k, sizeof k, "k.%d", v);
        CHECK_EQ_STR(l.recs[i].key, k);
        if (v == next_value) next_value++;
        else if (v != next_value - 1) FAIL("record %d holds value %d after %d", i, v, next_value - 1);
    }
    CHECK_EQ_INT(next_value, BEFORE + LIVE + AFTER);
    /* The watch's consumer was made again after the reconnect: one, under another name. */
    CHECK_EVENTUALLY(consumer_count(pjs, "KV_RS") == 1, 5000);
    CHECK_OK(snats_js_consumer_names(&names, pjs, "KV_RS"));
    CHECK(!jarray_has(names, before_restart));
    json_decref(names);

    snats_kv_watcher_destroy(w);
    snats_kv_destroy(kv);
    snats_kv_destroy(writer);
    snats_jetstream_destroy(wjs);
    snats_jetstream_destroy(pjs);
    snats_conn_destroy(wc);
    snats_conn_destroy(pc);
    server_stop(&srv);
}

const test_case kv_tests[] = {
    TEST(kv_bucket_create_bind_names_delete),
    TEST(kv_bucket_settings),
    TEST(kv_bucket_setting_types),
    TEST(kv_put_get),
    TEST(kv_get_revision),
    TEST(kv_create_update),
    TEST(kv_delete_purge),
    TEST(kv_history),
    TEST(kv_history_delta_zero),
    TEST(kv_keys_listing),
    TEST(kv_status_document),
    TEST(kv_max_value_size_and_ttl),
    TEST(kv_invalid_names),
    TEST(kv_null_arguments),
    TEST(kv_watch_initial_marker_updates),
    TEST(kv_watch_marker_first),
    TEST(kv_watch_include_history),
    TEST(kv_watch_ignore_deletes),
    TEST(kv_watch_meta_only),
    TEST(kv_watch_filters_and_options),
    TEST(kv_watch_several_keys),
    TEST(kv_watch_next),
    TEST(kv_watch_stop_drains),
    TEST(kv_watch_stop_wakes_next),
    TEST(kv_watch_stop_in_first_callback),
    TEST(kv_async_success),
    TEST(kv_async_failures),
    TEST(kv_async_history_none_is_null),
    TEST(kv_async_on_dispatch_queue),
    TEST(kv_watch_survives_restart),
};
HARNESS_TABLE_COUNT(kv);
