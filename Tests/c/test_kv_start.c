/*
 * test_kv_start.c - Opening buckets and starting watches without waiting
 * (snats_kv_bucket_create_async, snats_kv_bucket_bind_async, snats_kv_watch_async): each
 * returns at once even while the server does not answer (it is stopped with SIGSTOP), and the
 * handler gets an owned bucket or watcher, or the blocking call's failure; refused arguments
 * return their status and no handler runs. snats_kv_keys_async() no longer waits for its
 * watch either.
 */
#define _GNU_SOURCE
#include "js_common.h"

#include <signal.h>
#include <stdlib.h>
#include <time.h>

static int64_t elapsed_ms_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    snats_jetstream *js;
    snats_kv *kv;
    int code, err_code;
} opened_rec;

static void on_opened(snats_jetstream *js, snats_status status, snats_kv *kv, void *closure) {
    opened_rec *r = closure;
    r->js = js;
    r->kv = kv;
    if (status != SNATS_OK) snats_js_last_api_error(&r->code, &r->err_code);
    atomic_store(&r->status, status);
    atomic_fetch_add(&r->calls, 1);
}

static snats_kv *wait_opened(opened_rec *r, snats_status want) {
    CHECK_EVENTUALLY(atomic_load(&r->calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&r->status), want);
    if (want == SNATS_OK) CHECK(r->kv != NULL);
    else CHECK(r->kv == NULL);
    return r->kv;
}

static void kv_start_bucket_open_without_waiting(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    opened_rec made = {0}, bound = {0}, missing = {0}, stalled = {0};

    CHECK_OK(snats_kv_bucket_create_async(f.js, "OPEN", NULL, on_opened, &made));
    snats_kv *kv = wait_opened(&made, SNATS_OK);
    CHECK(made.js == f.js);
    uint64_t revision = 0;
    CHECK_OK(snats_kv_put(&revision, kv, "k", "v", 1));
    CHECK_EQ_INT((int)revision, 1);

    CHECK_OK(snats_kv_bucket_bind_async(f.js, "OPEN", on_opened, &bound));
    snats_kv *again = wait_opened(&bound, SNATS_OK);
    snats_kv_entry *entry = NULL;
    CHECK_OK(snats_kv_get(&entry, again, "k", 0));
    CHECK_EQ_INT((int)snats_kv_entry_revision(entry), 1);
    snats_kv_entry_destroy(entry);

    CHECK_OK(snats_kv_bucket_bind_async(f.js, "NONE", on_opened, &missing));
    wait_opened(&missing, SNATS_NOT_FOUND);
    CHECK_EQ_INT(missing.err_code, 10059);

    /* Refused at the call: no handler runs. */
    CHECK_STATUS(snats_kv_bucket_create_async(f.js, "bad.name", NULL, on_opened, &missing), SNATS_INVALID_ARG);
    json_t *config = J("{\"history\": \"ten\"}");
    CHECK_STATUS(snats_kv_bucket_create_async(f.js, "B", config, on_opened, &missing), SNATS_INVALID_ARG);
    json_decref(config);
    CHECK_STATUS(snats_kv_bucket_create_async(f.js, "B", NULL, NULL, &missing), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_kv_bucket_bind_async(NULL, "B", on_opened, &missing), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_kv_bucket_bind_async(f.js, NULL, on_opened, &missing), SNATS_INVALID_ARG);
    CHECK_EQ_INT(atomic_load(&missing.calls), 1);

    /* A server that does not answer: the call returns at once, the handler later. */
    server_pause(&f.srv);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_OK(snats_kv_bucket_bind_async(f.js, "OPEN", on_opened, &stalled));
    int64_t took = elapsed_ms_since(&start);
    if (took > 200) FAIL("snats_kv_bucket_bind_async took %lld ms with the server stopped", (long long)took);
    CHECK_EQ_INT(atomic_load(&stalled.calls), 0);
    CHECK(kill(f.srv.pid, SIGCONT) == 0);
    snats_kv_destroy(wait_opened(&stalled, SNATS_OK));

    snats_kv_destroy(again);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

typedef struct {
    atomic_int entries;
    atomic_int markers;
    atomic_int started_calls;
    _Atomic snats_status started_status;
    snats_kv_watcher *watcher;   /* from started */
    snats_kv_watcher *seen;      /* from the entries' calls */
    char last_key[32];
} watch_rec;

static void on_entry(snats_kv_watcher *watcher, const snats_kv_entry *entry, void *closure) {
    watch_rec *r = closure;
    r->seen = watcher;
    if (entry == NULL) {
        atomic_fetch_add(&r->markers, 1);
        return;
    }
    snprintf(r->last_key, sizeof r->last_key, "%s", snats_kv_entry_key(entry));
    atomic_fetch_add(&r->entries, 1);
}

static void on_started(snats_kv *kv, snats_status status, snats_kv_watcher *watcher, void *closure) {
    (void)kv;
    watch_rec *r = closure;
    r->watcher = watcher;
    atomic_store(&r->started_status, status);
    atomic_fetch_add(&r->started_calls, 1);
}

static void kv_start_watch_without_waiting(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = NULL;
    CHECK_OK(snats_kv_bucket_create(&kv, f.js, "WS", NULL));
    uint64_t revision = 0;
    CHECK_OK(snats_kv_put(&revision, kv, "a", "1", 1));
    CHECK_OK(snats_kv_put(&revision, kv, "b", "2", 1));
    CHECK_OK(snats_kv_put(&revision, kv, "c", "3", 1));

    /* With a callback: the initial values, the marker, then changes. */
    watch_rec *r = calloc(1, sizeof *r);
    CHECK(r != NULL);
    CHECK_OK(snats_kv_watch_async(kv, NULL, NULL, on_entry, on_started, r));
    CHECK_EVENTUALLY(atomic_load(&r->started_calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&r->started_status), SNATS_OK);
    CHECK(r->watcher != NULL);
    CHECK_EVENTUALLY(atomic_load(&r->markers) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&r->entries), 3);
    CHECK(r->seen == r->watcher);
    CHECK_OK(snats_kv_put(&revision, kv, "d", "4", 1));
    CHECK_EVENTUALLY(atomic_load(&r->entries) == 4, 10000);
    CHECK_EQ_STR(r->last_key, "d");
    snats_kv_watcher_destroy(r->watcher);

    /* Without a callback: read with snats_kv_watcher_next() once started. */
    watch_rec *q = calloc(1, sizeof *q);
    CHECK(q != NULL);
    json_t *options = J("{\"updates_only\": true}");
    CHECK_OK(snats_kv_watch_async(kv, "a", options, NULL, on_started, q));
    json_decref(options);
    CHECK_EVENTUALLY(atomic_load(&q->started_calls) == 1, 10000);
    snats_kv_entry *entry = NULL;
    CHECK_OK(snats_kv_watcher_next(&entry, q->watcher, harness_ms(5000)));
    CHECK(entry == NULL); /* updates only: the marker at once */
    CHECK_OK(snats_kv_put(&revision, kv, "a", "5", 1));
    CHECK_OK(snats_kv_watcher_next(&entry, q->watcher, harness_ms(5000)));
    CHECK(entry != NULL);
    CHECK_EQ_STR(snats_kv_entry_key(entry), "a");
    snats_kv_entry_destroy(entry);
    snats_kv_watcher_destroy(q->watcher);

    /* Refused at the call: started never runs. */
    watch_rec *bad = calloc(1, sizeof *bad);
    CHECK(bad != NULL);
    CHECK_STATUS(snats_kv_watch_async(kv, "a..b", NULL, on_entry, on_started, bad), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_kv_watch_async(kv, NULL, NULL, on_entry, NULL, bad), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_kv_watch_async(NULL, NULL, NULL, on_entry, on_started, bad), SNATS_INVALID_ARG);
    options = J("{\"bogus\": true}");
    CHECK_STATUS(snats_kv_watch_async(kv, NULL, options, on_entry, on_started, bad), SNATS_INVALID_ARG);
    json_decref(options);

    /* The bucket's stream gone: started gets the failure, and no entry ever comes. */
    CHECK_OK(snats_kv_bucket_delete(f.js, "WS"));
    CHECK_OK(snats_kv_watch_async(kv, NULL, NULL, on_entry, on_started, bad));
    CHECK_EVENTUALLY(atomic_load(&bad->started_calls) == 1, 10000);
    CHECK(atomic_load(&bad->started_status) != SNATS_OK);
    CHECK(bad->watcher == NULL);
    CHECK_EQ_INT(atomic_load(&bad->entries) + atomic_load(&bad->markers), 0);

    free(bad);
    free(q);
    free(r);
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    char keys[128];
} keys_rec;

static void on_keys(snats_status status, const json_t *keys, void *closure) {
    keys_rec *r = closure;
    if (keys != NULL) {
        char *text = json_dumps(keys, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(r->keys, sizeof r->keys, "%s", text ? text : "?");
        free(text);
    }
    atomic_store(&r->status, status);
    atomic_fetch_add(&r->calls, 1);
}

/* snats_kv_keys_async() used to make its watch before returning (two API round trips). */
static void kv_start_keys_without_waiting(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    snats_kv *kv = NULL;
    CHECK_OK(snats_kv_bucket_create(&kv, f.js, "KS", NULL));
    uint64_t revision = 0;
    CHECK_OK(snats_kv_put(&revision, kv, "x", "1", 1));
    keys_rec r = {0};
    server_pause(&f.srv);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    CHECK_OK(snats_kv_keys_async(kv, NULL, on_keys, &r));
    int64_t took = elapsed_ms_since(&start);
    CHECK(kill(f.srv.pid, SIGCONT) == 0);
    if (took > 200) FAIL("snats_kv_keys_async took %lld ms with the server stopped", (long long)took);
    CHECK_EVENTUALLY(atomic_load(&r.calls) == 1, 10000);
    CHECK_EQ_INT(atomic_load(&r.status), SNATS_OK);
    CHECK_EQ_STR(r.keys, "[\"x\"]");
    snats_kv_destroy(kv);
    jsfix_down(&f);
}

const test_case kv_start_tests[] = {
    TEST(kv_start_bucket_open_without_waiting),
    TEST(kv_start_watch_without_waiting),
    TEST(kv_start_keys_without_waiting),
};
HARNESS_TABLE_COUNT(kv_start);
