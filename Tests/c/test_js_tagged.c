/*
 * test_js_tagged.c - Tagged asynchronous publishes (snats_js_publish_async_tagged()): every
 * publish's outcome comes exactly once, as a record carrying its tag, many records per call,
 * in publish order and in order with untagged publishes' callbacks; failures carry their status,
 * error text and API codes per record; the record layout is the header's; bad arguments and a
 * missing handler are refused with no record to come.
 */
#define _GNU_SOURCE
#include "js_common.h"

#include <stddef.h>
#include <stdlib.h>

/* The Swift side writes records at these offsets (CJetStreamTaggedPublish.swift). */
_Static_assert(sizeof(snats_js_pub_outcome) == 56, "snats_js_pub_outcome is 56 bytes");
_Static_assert(offsetof(snats_js_pub_outcome, seq) == 8, "seq at 8");
_Static_assert(offsetof(snats_js_pub_outcome, stream) == 16, "stream at 16");
_Static_assert(offsetof(snats_js_pub_outcome, domain) == 24, "domain at 24");
_Static_assert(offsetof(snats_js_pub_outcome, error) == 32, "error at 32");
_Static_assert(offsetof(snats_js_pub_outcome, status) == 40, "status at 40");
_Static_assert(offsetof(snats_js_pub_outcome, api_code) == 44, "api_code at 44");
_Static_assert(offsetof(snats_js_pub_outcome, api_err_code) == 48, "api_err_code at 48");
_Static_assert(offsetof(snats_js_pub_outcome, duplicate) == 52, "duplicate at 52");

enum { TAGGED_N = 600, UNTAGGED_EVERY = 50 };

/* What one record said. */
typedef struct {
    int times;
    snats_status status;
    uint64_t seq;
    char stream[32];
    char error[256];
    int api_code, api_err_code;
    bool duplicate, had_domain;
    int arrival; /* position among all outcomes, tagged or not */
} seen_outcome;

typedef struct {
    snats_jetstream *js;
    seen_outcome tagged[TAGGED_N];
    int untagged_arrival[TAGGED_N / UNTAGGED_EVERY + 1];
    int untagged_calls;
    int arrivals;
    int calls;
    int largest_call;
    int bad;
    char bad_text[256];
} tagged_state;

static void on_tagged(snats_jetstream *js, const snats_js_pub_outcome *outcomes, size_t count, void *closure) {
    tagged_state *st = closure;
    st->calls++; /* outcomes come one call at a time: no lock needed */
    if ((int)count > st->largest_call) st->largest_call = (int)count;
    if (js != st->js || count == 0 || outcomes == NULL) {
        snprintf(st->bad_text, sizeof st->bad_text, "a call with js %p, %zu records", (void *)js, count);
        st->bad++;
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const snats_js_pub_outcome *o = &outcomes[i];
        if (o->tag >= TAGGED_N) {
            snprintf(st->bad_text, sizeof st->bad_text, "unknown tag %llu", (unsigned long long)o->tag);
            st->bad++;
            continue;
        }
        if (o->status == SNATS_OK && i > 0 && outcomes[0].status == SNATS_OK && o->stream != outcomes[0].stream &&
            strcmp(o->stream, outcomes[0].stream) == 0) {
            snprintf(st->bad_text, sizeof st->bad_text, "records of one call with the same stream, two pointers");
            st->bad++;
        }
        seen_outcome *s = &st->tagged[o->tag];
        s->times++;
        s->status = o->status;
        s->seq = o->seq;
        snprintf(s->stream, sizeof s->stream, "%s", o->stream ? o->stream : "(null)");
        snprintf(s->error, sizeof s->error, "%s", o->error ? o->error : "(null)");
        s->api_code = o->api_code;
        s->api_err_code = o->api_err_code;
        s->duplicate = o->duplicate;
        s->had_domain = o->domain != NULL;
        s->arrival = st->arrivals++;
    }
}

static void on_untagged(snats_jetstream *js, snats_status status, const snats_js_pub_ack *ack, void *closure) {
    (void)js;
    (void)ack;
    tagged_state *st = *(tagged_state **)closure;
    if (status != SNATS_OK) {
        snprintf(st->bad_text, sizeof st->bad_text, "an untagged publish failed: %s", snats_status_text(status));
        st->bad++;
    }
    st->untagged_arrival[st->untagged_calls++] = st->arrivals++;
}

static void js_tagged_outcomes_in_order(void) {
    jsfix f;
    jsfix_up(&f, "{\"max_pending_publishes\": 256}");
    stream_add(f.js, "{\"name\": \"TG\", \"subjects\": [\"tg.>\"], \"storage\": \"memory\", \"duplicate_window\": 60000000000}");
    tagged_state *st = calloc(1, sizeof *st);
    CHECK(st != NULL);
    st->js = f.js;
    CHECK_OK(snats_js_set_tagged_ack_handler(f.js, on_tagged, st));
    tagged_state *self = st;
    int untagged = 0;
    int expected_arrival_of_untagged[TAGGED_N / UNTAGGED_EVERY + 1];
    for (int i = 0; i < TAGGED_N; i++) {
        if (i % UNTAGGED_EVERY == 0) {
            expected_arrival_of_untagged[untagged] = i + untagged;
            untagged++;
            CHECK_OK(snats_js_publish_async(f.js, "tg.plain", NULL, "u", 1, NULL, on_untagged, &self));
        }
        char text[32];
        int n = snprintf(text, sizeof text, "job %d", i);
        /* The last one repeats the first one's message id: a duplicate. */
        json_t *opts = i == 0 || i == TAGGED_N - 1 ? J("{\"msg_id\": \"first\"}") : NULL;
        CHECK_OK(snats_js_publish_async_tagged(f.js, "tg.jobs", NULL, text, (size_t)n, opts, (uint64_t)i));
        json_decref(opts);
    }
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(20000)));
    if (st->bad != 0) FAIL("%d bad records: %s", st->bad, st->bad_text);
    CHECK_EQ_INT(st->untagged_calls, untagged);
    uint64_t last_seq = 0;
    for (int i = 0; i < TAGGED_N; i++) {
        seen_outcome *s = &st->tagged[i];
        if (s->times != 1) FAIL("tag %d came %d times", i, s->times);
        if (s->status != SNATS_OK) FAIL("tag %d: %s (%s)", i, snats_status_text(s->status), s->error);
        CHECK_EQ_STR(s->stream, "TG");
        CHECK_EQ_STR(s->error, "(null)");
        CHECK(!s->had_domain);
        CHECK_EQ_INT(s->api_code, 0);
        if (i == TAGGED_N - 1) {
            CHECK(s->duplicate);
            CHECK_EQ_INT((int)s->seq, (int)st->tagged[0].seq);
            continue;
        }
        CHECK(!s->duplicate);
        if (s->seq <= last_seq) FAIL("tag %d stored at %llu after %llu", i, (unsigned long long)s->seq,
                                     (unsigned long long)last_seq);
        last_seq = s->seq;
        /* Outcomes come in publish order, untagged ones in their place among them. */
        int expected = i + 1 + i / UNTAGGED_EVERY;
        if (s->arrival != expected) FAIL("tag %d arrived %d-th, not %d-th", i, s->arrival, expected);
    }
    for (int u = 0; u < untagged; u++) CHECK_EQ_INT(st->untagged_arrival[u], expected_arrival_of_untagged[u]);
    /* Acks read together come in one call. */
    if (st->largest_call < 2) FAIL("every call carried one record (%d calls)", st->calls);
    CHECK(st->calls < TAGGED_N);
    CHECK_EQ_INT(stream_messages(f.js, "TG"), TAGGED_N - 1 + untagged);
    free(st);
    jsfix_down(&f);
}

static void js_tagged_failures(void) {
    jsfix f;
    char options[64];
    snprintf(options, sizeof options, "{\"timeout_ms\": %lld}", (long long)harness_ms(500));
    jsfix_up(&f, options);
    stream_add(f.js, "{\"name\": \"TF\", \"subjects\": [\"tf.>\"], \"storage\": \"memory\"}");
    tagged_state *st = calloc(1, sizeof *st);
    CHECK(st != NULL);
    st->js = f.js;

    /* No handler yet: refused, nothing will come. */
    CHECK_STATUS(snats_js_publish_async_tagged(f.js, "tf.x", NULL, "x", 1, NULL, 1), SNATS_ILLEGAL_STATE);
    CHECK_STATUS(snats_js_set_tagged_ack_handler(f.js, NULL, st), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_set_tagged_ack_handler(NULL, on_tagged, st), SNATS_INVALID_ARG);
    CHECK_OK(snats_js_set_tagged_ack_handler(f.js, on_tagged, st));
    CHECK_STATUS(snats_js_publish_async_tagged(NULL, "tf.x", NULL, "x", 1, NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_publish_async_tagged(f.js, NULL, NULL, "x", 1, NULL, 1), SNATS_INVALID_ARG);
    CHECK_STATUS(snats_js_publish_async_tagged(f.js, "tf..x", NULL, "x", 1, NULL, 1), SNATS_INVALID_SUBJECT);
    json_t *opts = J("{\"timeout_ms\": 100}");
    CHECK_STATUS(snats_js_publish_async_tagged(f.js, "tf.x", NULL, "x", 1, opts, 1), SNATS_INVALID_ARG);
    json_decref(opts);

    /* A refused expectation (tag 1), no stream (tag 2), no ack in time (tag 3). */
    opts = J("{\"expected_last_seq\": 42}");
    CHECK_OK(snats_js_publish_async_tagged(f.js, "tf.x", NULL, "x", 1, opts, 1));
    json_decref(opts);
    CHECK_OK(snats_js_publish_async_tagged(f.js, "nostream.x", NULL, "x", 1, NULL, 2));
    snats_sub *silent = NULL;
    CHECK_OK(snats_subscribe_sync(&silent, f.c, "silent.tagged"));
    CHECK_OK(snats_conn_flush(f.c, harness_ms(5000)));
    CHECK_OK(snats_js_publish_async_tagged(f.js, "silent.tagged", NULL, "x", 1, NULL, 3));
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(5000)));
    if (st->bad != 0) FAIL("%d bad records: %s", st->bad, st->bad_text);

    CHECK_EQ_INT(st->tagged[1].times, 1);
    CHECK_EQ_INT(st->tagged[1].status, SNATS_JS_API_ERROR);
    CHECK_EQ_INT(st->tagged[1].api_code, 400);
    CHECK_EQ_INT(st->tagged[1].api_err_code, 10071);
    CHECK(strstr(st->tagged[1].error, "sequence") != NULL);
    CHECK_EQ_STR(st->tagged[1].stream, "(null)");
    CHECK_EQ_INT((int)st->tagged[1].seq, 0);

    CHECK_EQ_INT(st->tagged[2].times, 1);
    CHECK_EQ_INT(st->tagged[2].status, SNATS_NO_RESPONDERS);
    CHECK_EQ_INT(st->tagged[2].api_code, 0);
    CHECK(strlen(st->tagged[2].error) > 0 && strcmp(st->tagged[2].error, "(null)") != 0);

    CHECK_EQ_INT(st->tagged[3].times, 1);
    CHECK_EQ_INT(st->tagged[3].status, SNATS_TIMEOUT);
    /* The refused publishes (tag 1 before the handler, bad arguments) never came. */
    CHECK_EQ_INT(st->tagged[0].times, 0);
    CHECK_EQ_INT(st->arrivals, 3);
    snats_sub_destroy(silent);
    free(st);
    jsfix_down(&f);
}

typedef struct {
    atomic_int records;
    atomic_int ok;
    atomic_int calls;
} destroyed_state;

static void on_tagged_after_destroy(snats_jetstream *js, const snats_js_pub_outcome *outcomes, size_t count,
                                    void *closure) {
    (void)js;
    destroyed_state *st = closure;
    for (size_t i = 0; i < count; i++) {
        if (outcomes[i].status == SNATS_OK && strcmp(outcomes[i].stream, "TD") == 0) atomic_fetch_add(&st->ok, 1);
    }
    atomic_fetch_add(&st->records, (int)count);
    atomic_fetch_add(&st->calls, 1);
}

/* "Asynchronous publishes ... in flight still complete" after snats_jetstream_destroy(), tagged
 * ones included; the context is freed once the last record was handed over (valgrind: no
 * leak, no use after free). */
static void js_tagged_destroy_with_publishes_in_flight(void) {
    jsfix f;
    jsfix_up(&f, NULL);
    stream_add(f.js, "{\"name\": \"TD\", \"subjects\": [\"td.>\"], \"storage\": \"memory\"}");
    destroyed_state st = {0};
    CHECK_OK(snats_js_set_tagged_ack_handler(f.js, on_tagged_after_destroy, &st));
    for (int i = 0; i < 200; i++) CHECK_OK(snats_js_publish_async_tagged(f.js, "td.x", NULL, "x", 1, NULL, (uint64_t)i));
    snats_jetstream_destroy(f.js);
    CHECK_EVENTUALLY(atomic_load(&st.records) == 200, 10000);
    CHECK_EQ_INT(atomic_load(&st.ok), 200);
    /* A context with a handler and no publish is freed at destroy as well. */
    snats_jetstream *idle = NULL;
    CHECK_OK(snats_jetstream_create(&idle, f.c, NULL));
    CHECK_OK(snats_js_set_tagged_ack_handler(idle, on_tagged_after_destroy, &st));
    snats_jetstream_destroy(idle);
    f.js = NULL;
    jsfix_down(&f);
    CHECK_EQ_INT(atomic_load(&st.records), 200);
}

const test_case js_tagged_tests[] = {
    TEST(js_tagged_destroy_with_publishes_in_flight),
    TEST(js_tagged_outcomes_in_order),
    TEST(js_tagged_failures),
};
HARNESS_TABLE_COUNT(js_tagged);
