/*
 * test_js_consume.c - Continuous consumes through the header: a durable consumer consumed with
 * a callback (1000 messages in order, acknowledged, the pulls within max_messages), read
 * synchronously with snats_sub_next_msg() (no status or heartbeat ever reaches the
 * application), in batches (snats_js_consume_batch()), on a dispatch queue (callbacks run by
 * its owner, or tagged records from snats_dispatch_queue_next_msgs()), ordered consumes (a
 * filter, a start sequence, a server restart and the consumer's deletion: nothing lost or
 * repeated), a deleted durable consumer ending the consume (the error callback told once),
 * missing streams and consumers, refused options and arguments, unsubscribe / drain /
 * destroy stopping the pulls (an ordered consumer deleted with them), a durable consumer across
 * a restart, missed heartbeats, a consume unsubscribed from its own callback and one that
 * outlives its context. Every server runs JetStream with its store in the test's scratch
 * directory.
 *
 * Some tests check one statement of the header each (their comments quote it): an ordered
 * consume of filter_subjects, refused on servers before 2.10, which ignore them
 * (js_consume_ordered_filter_subjects), an ordered consume behind small pending limits still
 * delivering every message in order (js_consume_ordered_pending_limits), a consume
 * unsubscribed from its own first callback (js_consume_unsubscribe_in_first_callback).
 */
#define _GNU_SOURCE
#include "js_common.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------------------------
 * Helpers (the shared ones are in js_common.h)
 * ---------------------------------------------------------------------------------------- */

/* SNATS_INVALID_ARG with a message. */
#define CHECK_INVALID(call)                                              \
    do {                                                                 \
        CHECK_STATUS(call, SNATS_INVALID_ARG);                           \
        CHECK(snats_last_error() != NULL && snats_last_error()[0] != 0); \
    } while (0)

/* Errors reported to the connection's error callback. */
typedef struct {
    pthread_mutex_t mu;
    int n;
    snats_status status[256];
    snats_sub *sub[256];
    char text[256][160];
} err_log;

static err_log g_errors;

static void on_error(snats_conn *conn, snats_sub *sub, snats_status status, const char *text, void *closure) {
    (void)conn;
    err_log *e = closure;
    pthread_mutex_lock(&e->mu);
    if (e->n < 256) {
        e->status[e->n] = status;
        e->sub[e->n] = sub;
        snprintf(e->text[e->n], sizeof e->text[0], "%s", text ? text : "");
        e->n++;
    }
    pthread_mutex_unlock(&e->mu);
}

/* How many errors with this status (and this subscription, unless NULL). */
static int errors_of(err_log *e, snats_status status, snats_sub *sub) {
    pthread_mutex_lock(&e->mu);
    int n = 0;
    for (int i = 0; i < e->n; i++) n += e->status[i] == status && (sub == NULL || e->sub[i] == sub);
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* A connection with the error callback (g_errors) and, with reconnecting, fast reconnects. */
static snats_conn *connect_watched(const char *url, bool reconnecting) {
    pthread_mutex_init(&g_errors.mu, NULL);
    return js_connect(url, reconnecting, on_error, &g_errors);
}

/* The fixture (js_common.h's jsfix) with its connection's errors in g_errors. */
static void jsfix_up_watched(jsfix *f) {
    js_server_start(&f->srv);
    f->c = connect_watched(f->srv.url, false);
    CHECK_OK(snats_jetstream_create(&f->js, f->c, NULL));
}

/* A memory stream on "<prefix>.>" with a durable explicit-ack pull consumer. */
static void stream_with_durable(jsfix *f, const char *stream, const char *prefix, const char *durable) {
    stream_add(f->js, "{\"name\": \"%s\", \"subjects\": [\"%s.>\"], \"storage\": \"memory\"}", stream, prefix);
    char config[256];
    snprintf(config, sizeof config, "{\"durable_name\": \"%s\", \"ack_policy\": \"explicit\"}", durable);
    consumer_add(f->js, stream, config);
}

static atomic_int g_pub_failed;

static void on_pub_ack(snats_jetstream *js, snats_status status, const snats_js_pub_ack *ack, void *closure) {
    (void)js, (void)ack, (void)closure;
    if (status != SNATS_OK) atomic_fetch_add(&g_pub_failed, 1);
}

/* Publishes "from".."to - 1" as text to subject, waiting for every ack. */
static void publish_range(snats_jetstream *js, const char *subject, int from, int to) {
    char text[32];
    for (int i = from; i < to; i++) {
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(snats_js_publish_async(js, subject, NULL, text, (size_t)n, NULL, on_pub_ack, NULL));
    }
    CHECK_OK(snats_js_publish_async_complete(js, harness_ms(20000)));
    CHECK_EQ_INT(atomic_load(&g_pub_failed), 0);
}

/* The one consumer of the stream whose name starts with "ordered_", copied to out; false if none. */
static bool ordered_name(snats_jetstream *js, const char *stream, char *out, size_t cap) {
    json_t *names = consumer_names(js, stream);
    size_t i;
    const json_t *item;
    bool found = false;
    json_array_foreach(names, i, item) {
        if (strncmp(json_string_value(item), "ordered_", 8) == 0) {
            snprintf(out, cap, "%s", json_string_value(item));
            found = true;
        }
    }
    json_decref(names);
    return found;
}

static json_t *opts_or_null(const char *options_json) { return options_json ? J("%s", options_json) : NULL; }

/* ------------------------------------------------------------------------------------------
 * What a consume's callback receives
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    atomic_int count;
    atomic_int bad;
    atomic_int running;
    char why[256];
    int next;                 /* the number the next message must carry */
    bool ack;                 /* acknowledge each */
    const char *subject;      /* each message's subject, unless NULL */
    snats_conn *conn;
    snats_sub *seen;
    bool check_thread;
    pthread_t thread;
    uint64_t last_stream_seq; /* the stream sequence of the last message */
    bool consecutive;         /* stream sequences follow each other */
    bool any_number;          /* payloads are not checked against next */
    bool headers_ok;          /* messages may carry headers (published with a msg id) */
    const char *excluded;     /* a subject that must not be delivered */
    char consumer[128];       /* the consumer of the last message */
} consume_log;

static void consume_log_init(consume_log *l, snats_conn *conn, bool ack) {
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    l->conn = conn;
    l->ack = ack;
}

static void consume_bad(consume_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void consume_bad(consume_log *l, const char *fmt, ...) {
    pthread_mutex_lock(&l->mu);
    if (l->why[0] == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(l->why, sizeof l->why, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&l->mu);
    atomic_fetch_add(&l->bad, 1);
}

/* Parses a decimal payload; -1 when it is not one. */
static int number_of(const void *data, size_t len) {
    if (len == 0 || len > 10) return -1;
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = ((const char *)data)[i];
        if (ch < '0' || ch > '9') return -1;
        n = n * 10 + (ch - '0');
    }
    return n;
}

/* The status of a raw header block ("NATS/1.0 100 Idle Heartbeat..."); 0 for none. */
static int block_status(const char *hdr, size_t len) {
    if (len < 12 || memcmp(hdr, "NATS/1.0", 8) != 0 || hdr[8] != ' ') return 0;
    return atoi(hdr + 9);
}

static int msg_status(const snats_msg *m) {
    const snats_headers *h = snats_msg_headers(m);
    return h ? snats_headers_status(h) : 0;
}

/* One message (any delivery form): what it must look like, in order. status: its header
 * block's status (0: none). */
static void consume_check(consume_log *l, const char *subject, size_t subject_len, const char *reply, size_t reply_len,
                          int status, const void *data, size_t data_len) {
    int n = number_of(data, data_len);
    if (status != 0) consume_bad(l, "a status message (%d) reached the application", status);
    if (reply_len < 8 || memcmp(reply, "$JS.ACK.", 8) != 0)
        consume_bad(l, "reply \"%.*s\" is no acknowledgement subject", (int)reply_len, reply);
    if (l->subject && (subject_len != strlen(l->subject) || memcmp(subject, l->subject, subject_len) != 0))
        consume_bad(l, "subject \"%.*s\", expected \"%s\"", (int)subject_len, subject, l->subject);
    if (l->excluded && subject_len == strlen(l->excluded) && memcmp(subject, l->excluded, subject_len) == 0)
        consume_bad(l, "a message on %s, which the consume filters out", l->excluded);
    if (!l->any_number && n != l->next) consume_bad(l, "message %d, expected %d", n, l->next);
    l->next = n + 1;
    char replyz[256];
    snprintf(replyz, sizeof replyz, "%.*s", (int)reply_len, reply);
    json_t *meta = NULL;
    if (snats_js_metadata(&meta, replyz) == SNATS_OK) {
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(json_object_get(meta, "sequence"), "stream"));
        if (l->consecutive && l->last_stream_seq != 0 && seq != l->last_stream_seq + 1)
            consume_bad(l, "stream sequence %llu after %llu", (unsigned long long)seq, (unsigned long long)l->last_stream_seq);
        if (seq <= l->last_stream_seq)
            consume_bad(l, "stream sequence %llu after %llu", (unsigned long long)seq, (unsigned long long)l->last_stream_seq);
        l->last_stream_seq = seq;
        snprintf(l->consumer, sizeof l->consumer, "%s", json_string_value(json_object_get(meta, "consumer")));
        json_decref(meta);
    } else {
        consume_bad(l, "no metadata in \"%s\"", replyz);
    }
    if (l->check_thread && !pthread_equal(pthread_self(), l->thread)) consume_bad(l, "a callback on another thread");
}

static void on_msg(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    consume_log *l = closure;
    if (atomic_fetch_add(&l->running, 1) != 0) consume_bad(l, "two callbacks at once");
    if (conn != l->conn) consume_bad(l, "another connection handle");
    pthread_mutex_lock(&l->mu);
    if (l->seen == NULL) l->seen = sub;
    bool same = l->seen == sub;
    pthread_mutex_unlock(&l->mu);
    if (!same) consume_bad(l, "another subscription handle");
    const char *subject = snats_msg_subject(msg), *reply = snats_msg_reply(msg);
    consume_check(l, subject, strlen(subject), reply ? reply : "", reply ? strlen(reply) : 0,
                  msg_status(msg), snats_msg_data(msg), snats_msg_data_len(msg));
    if (!l->headers_ok && snats_msg_headers(msg) != NULL) consume_bad(l, "headers on a message published without them");
    if (l->ack) {
        snats_status s = snats_js_msg_ack(msg);
        if (s != SNATS_OK) consume_bad(l, "ack: %s (%s)", snats_status_text(s), snats_last_error());
    }
    atomic_fetch_sub(&l->running, 1);
    atomic_fetch_add(&l->count, 1);
}

static void wait_count(consume_log *l, int n) {
    CHECK_EVENTUALLY(atomic_load(&l->count) >= n || atomic_load(&l->bad) > 0, 15000);
    if (atomic_load(&l->bad)) FAIL("consume: %s", l->why);
    CHECK_EQ_INT(atomic_load(&l->count), n);
}

/* Nothing more for a while (at least one pull's expiry when the options make it 1 s). */
static void check_quiet(consume_log *l, int n, int64_t ms) {
    harness_sleep_ms(harness_ms(ms));
    if (atomic_load(&l->bad)) FAIL("consume: %s", l->why);
    CHECK_EQ_INT(atomic_load(&l->count), n);
}

static snats_sub *consume_cb(snats_jetstream *js, const char *stream, const char *consumer, const char *options_json,
                             consume_log *l) {
    json_t *opts = opts_or_null(options_json);
    snats_sub *sub = NULL;
    snats_status s = snats_js_consume(&sub, js, stream, consumer, opts, on_msg, l);
    json_decref(opts);
    if (s != SNATS_OK) FAIL("snats_js_consume(%s, %s, %s): %s (%s)", stream, consumer ? consumer : "NULL",
                            options_json ? options_json : "NULL", snats_status_text(s), snats_last_error());
    CHECK_NOT_NULL(sub);
    return sub;
}

/* Records (four native uint32_t lengths, then the bytes; with a uint64_t tag first when tagged). */
typedef struct {
    uint64_t tag;
    const char *subject, *reply, *hdr, *data;
    uint32_t subject_len, reply_len, hdr_len, data_len;
} record;

static const unsigned char *parse_record(const unsigned char *p, const unsigned char *end, bool tagged, record *r) {
    size_t head = tagged ? 24 : 16;
    if ((size_t)(end - p) < head) FAIL("a record cut short");
    r->tag = 0;
    if (tagged) {
        memcpy(&r->tag, p, 8);
        p += 8;
    }
    uint32_t len[4];
    memcpy(len, p, sizeof len);
    p += 16;
    if ((size_t)(end - p) < (size_t)len[0] + len[1] + len[2] + len[3]) FAIL("a record's lengths overrun the batch");
    r->subject = (const char *)p, r->subject_len = len[0], p += len[0];
    r->reply = (const char *)p, r->reply_len = len[1], p += len[1];
    r->hdr = (const char *)p, r->hdr_len = len[2], p += len[2];
    r->data = (const char *)p, r->data_len = len[3], p += len[3];
    return p;
}

/* Acknowledges by a record's reply subject. */
static snats_status ack_reply(snats_conn *conn, const record *r) {
    char reply[256];
    snprintf(reply, sizeof reply, "%.*s", (int)r->reply_len, r->reply);
    return snats_js_ack_reply(conn, reply, SNATS_JS_ACK, 0, NULL, 0);
}

/* ------------------------------------------------------------------------------------------
 * A durable consumer with a callback
 * ---------------------------------------------------------------------------------------- */

static void js_consume_callback_durable(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "C", "c", "dur");
    enum { N = 1000 };
    publish_range(f.js, "c.x", 0, N);

    /* The pulls, seen from another connection. */
    snats_conn *spy = connect_or_fail(f.srv.url);
    snats_sub *pulls = NULL;
    CHECK_OK(snats_subscribe_sync(&pulls, spy, "$JS.API.CONSUMER.MSG.NEXT.C.dur"));
    CHECK_OK(snats_conn_flush(spy, harness_ms(5000)));

    static consume_log l;
    consume_log_init(&l, f.c, true);
    l.subject = "c.x";
    l.consecutive = true;
    snats_sub *sub = consume_cb(f.js, "C", "dur", "{\"max_messages\": 50}", &l);
    CHECK(snats_sub_is_valid(sub));
    wait_count(&l, N);
    pthread_mutex_lock(&l.mu);
    CHECK(l.seen == sub);
    pthread_mutex_unlock(&l.mu);
    CHECK_EQ_STR(l.consumer, "dur");
    CHECK_EQ_INT(l.last_stream_seq, N);
    uint64_t delivered = 0;
    CHECK_OK(snats_sub_get_delivered(&delivered, sub));
    CHECK_EQ_INT(delivered, N);
    /* Every message acknowledged. */
    CHECK_EVENTUALLY(consumer_int(f.js, "C", "dur", "num_ack_pending") == 0, 10000);
    CHECK_EQ_INT(consumer_int(f.js, "C", "dur", "num_pending"), 0);
    CHECK_EQ_INT(consumer_int(f.js, "C", "dur", "delivered.stream_seq"), N);
    CHECK_EQ_INT(consumer_int(f.js, "C", "dur", "ack_floor.stream_seq"), N);

    /* A callback consume is not read with next_msg. */
    snats_msg *m = (snats_msg *)0x1;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 100), SNATS_ILLEGAL_STATE);

    /* More, as they are published. */
    publish_range(f.js, "c.x", N, N + 20);
    wait_count(&l, N + 20);

    /* The pulls: to the consume's inbox, at most 50 each, the default expiry and heartbeat. */
    int npulls = 0;
    long long asked = 0;
    for (;;) {
        m = NULL;
        snats_status s = snats_sub_next_msg(&m, pulls, harness_ms(200));
        if (s == SNATS_TIMEOUT) break;
        CHECK_OK(s);
        CHECK_EQ_STR(snats_msg_reply(m), snats_sub_subject(sub));
        char body[512];
        snprintf(body, sizeof body, "%.*s", (int)snats_msg_data_len(m), (const char *)snats_msg_data(m));
        json_t *pull = J("%s", body);
        long long batch = JINT(pull, "batch");
        if (batch < 1 || batch > 50) FAIL("a pull for %lld messages: %s", batch, body);
        CHECK_EQ_INT(JINT(pull, "expires"), 30000000000LL);
        CHECK_EQ_INT(JINT(pull, "idle_heartbeat"), 15000000000LL);
        asked += batch;
        json_decref(pull);
        snats_msg_release(m);
        npulls++;
    }
    if (npulls < N / 50) FAIL("%d pulls for %d messages of at most 50", npulls, N);
    CHECK(asked >= N + 20);

    snats_sub_destroy(sub);
    check_quiet(&l, N + 20, 200);
    snats_sub_destroy(pulls);
    snats_conn_destroy(spy);
    CHECK_EQ_INT(errors_of(&g_errors, SNATS_INVALID_SUBSCRIPTION, NULL), 0);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Synchronous: snats_sub_next_msg()
 * ---------------------------------------------------------------------------------------- */

static void js_consume_sync_next_msg(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "S", "s", "dur");
    publish_range(f.js, "s.x", 0, 100);
    /* Short pulls and frequent heartbeats: many statuses while the application waits. */
    json_t *opts = J("{\"expires_ms\": 1000, \"heartbeat_ms\": 250, \"max_messages\": 30}");
    snats_sub *sub = NULL;
    CHECK_OK(snats_js_consume(&sub, f.js, "S", "dur", opts, NULL, NULL));
    json_decref(opts);
    CHECK_NOT_NULL(sub);
    static consume_log l;
    consume_log_init(&l, f.c, false);
    l.subject = "s.x";
    l.consecutive = true;
    for (int i = 0; i < 100; i++) {
        snats_msg *m = NULL;
        snats_status s = snats_sub_next_msg(&m, sub, harness_ms(5000));
        if (s != SNATS_OK) FAIL("message %d: %s (%s)", i, snats_status_text(s), snats_last_error());
        const char *reply = snats_msg_reply(m);
        consume_check(&l, snats_msg_subject(m), strlen(snats_msg_subject(m)), reply ? reply : "", reply ? strlen(reply) : 0,
                      msg_status(m), snats_msg_data(m), snats_msg_data_len(m));
        if (snats_msg_headers(m) != NULL) FAIL("message %d has headers: a status reached the application", i);
        if (atomic_load(&l.bad)) FAIL("message %d: %s", i, l.why);
        if (i % 10 == 0) CHECK_OK(snats_js_msg_ack_sync(m, harness_ms(5000)));
        else CHECK_OK(snats_js_msg_ack(m));
        CHECK_OK(snats_msg_release(m));
    }
    /* Two and a half pull expiries and about ten heartbeats: nothing for the application. */
    snats_msg *m = (snats_msg *)0x1;
    int64_t t0 = harness_now_ms();
    CHECK_STATUS(snats_sub_next_msg(&m, sub, harness_ms(2500)), SNATS_TIMEOUT);
    CHECK(harness_now_ms() - t0 >= harness_ms(2500) - 20);
    CHECK_NULL(m);
    /* The pulls go on. */
    publish_range(f.js, "s.x", 100, 105);
    for (int i = 100; i < 105; i++) {
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        const char *reply = snats_msg_reply(m);
        consume_check(&l, snats_msg_subject(m), strlen(snats_msg_subject(m)), reply ? reply : "", reply ? strlen(reply) : 0,
                      msg_status(m), snats_msg_data(m), snats_msg_data_len(m));
        CHECK_OK(snats_js_msg_ack(m));
        snats_msg_release(m);
    }
    if (atomic_load(&l.bad)) FAIL("%s", l.why);
    CHECK_STATUS(snats_sub_next_msg(&m, sub, harness_ms(1200)), SNATS_TIMEOUT);
    uint64_t delivered = 0;
    CHECK_OK(snats_sub_get_delivered(&delivered, sub));
    CHECK_EQ_INT(delivered, 105);
    CHECK_EVENTUALLY(consumer_int(f.js, "S", "dur", "num_ack_pending") == 0, 5000);
    CHECK_EQ_INT(consumer_int(f.js, "S", "dur", "num_pending"), 0);
    /* Unsubscribed: next_msg says so. */
    CHECK_OK(snats_sub_unsubscribe(sub));
    CHECK_STATUS(snats_sub_next_msg(&m, sub, 100), SNATS_INVALID_SUBSCRIPTION);
    snats_sub_destroy(sub);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Batches: snats_js_consume_batch()
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    consume_log log;
    atomic_int batches;
} batch_log;

static void on_batch(snats_conn *conn, snats_sub *sub, const void *records, size_t used, size_t count, void *closure) {
    batch_log *b = closure;
    consume_log *l = &b->log;
    if (atomic_fetch_add(&l->running, 1) != 0) consume_bad(l, "two batch callbacks at once");
    if (conn != l->conn) consume_bad(l, "another connection handle");
    pthread_mutex_lock(&l->mu);
    if (l->seen == NULL) l->seen = sub;
    bool same = l->seen == sub;
    pthread_mutex_unlock(&l->mu);
    if (!same) consume_bad(l, "another subscription handle");
    if (count == 0) consume_bad(l, "an empty batch");
    const unsigned char *p = records, *end = p + used;
    for (size_t i = 0; i < count; i++) {
        record r;
        p = parse_record(p, end, false, &r);
        consume_check(l, r.subject, r.subject_len, r.reply, r.reply_len, block_status(r.hdr, r.hdr_len), r.data, r.data_len);
        if (r.hdr_len != 0) consume_bad(l, "a header block (%u bytes) on a message published without one", r.hdr_len);
        snats_status s = ack_reply(conn, &r);
        if (s != SNATS_OK) consume_bad(l, "ack by reply: %s", snats_status_text(s));
    }
    if (p != end) consume_bad(l, "%zu records do not fill %zu bytes", count, used);
    atomic_fetch_add(&b->batches, 1);
    atomic_fetch_sub(&l->running, 1);
    atomic_fetch_add(&l->count, (int)count);
}

static void js_consume_batches(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "B", "b", "dur");
    publish_range(f.js, "b.x", 0, 500);
    static batch_log b;
    memset(&b, 0, sizeof b);
    consume_log_init(&b.log, f.c, false);
    b.log.subject = "b.x";
    b.log.consecutive = true;
    json_t *opts = J("{\"max_messages\": 100, \"expires_ms\": 1000, \"heartbeat_ms\": 250}");
    snats_sub *sub = NULL;
    CHECK_OK(snats_js_consume_batch(&sub, f.js, "B", "dur", opts, on_batch, &b));
    CHECK_NOT_NULL(sub);
    wait_count(&b.log, 500);
    CHECK(atomic_load(&b.batches) >= 1 && atomic_load(&b.batches) <= 500);
    CHECK_EQ_STR(b.log.consumer, "dur");
    CHECK_EVENTUALLY(consumer_int(f.js, "B", "dur", "num_ack_pending") == 0, 5000);
    CHECK_EQ_INT(consumer_int(f.js, "B", "dur", "num_pending"), 0);
    /* Pull expiries and heartbeats pass: no record for them. */
    check_quiet(&b.log, 500, 1500);
    publish_range(f.js, "b.x", 500, 510);
    wait_count(&b.log, 510);
    snats_sub_destroy(sub);

    /* A callback is required. */
    sub = (snats_sub *)0x1;
    CHECK_INVALID(snats_js_consume_batch(&sub, f.js, "B", "dur", opts, NULL, NULL));
    CHECK_NULL(sub);
    json_decref(opts);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * On a dispatch queue
 * ---------------------------------------------------------------------------------------- */

static void js_consume_on_queue_callback(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "Q", "q", "dur");
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    static consume_log l;
    consume_log_init(&l, f.c, true);
    l.subject = "q.x";
    l.consecutive = true;
    l.check_thread = true;
    l.thread = pthread_self();
    json_t *opts = J("{\"expires_ms\": 1000, \"heartbeat_ms\": 500, \"max_messages\": 64}");
    snats_sub *sub = NULL;
    CHECK_OK(snats_js_consume_on(&sub, f.js, "Q", "dur", opts, q, on_msg, &l));
    json_decref(opts);
    publish_range(f.js, "q.x", 0, 200);
    /* The messages wait for the queue's owner. */
    int pending = 0;
    CHECK_EVENTUALLY((snats_dispatch_queue_get_pending(&pending, NULL, q), pending > 0), 5000);
    CHECK_EQ_INT(atomic_load(&l.count), 0);
    harness_dispatch_until(q, &l.count, 200);
    if (atomic_load(&l.bad)) FAIL("%s", l.why);
    CHECK_EQ_STR(l.consumer, "dur");
    CHECK_EVENTUALLY(consumer_int(f.js, "Q", "dur", "num_ack_pending") == 0, 5000);
    /* Dispatching through pull expiries and heartbeats: nothing more. */
    int64_t until = harness_now_ms() + harness_ms(1500);
    while (harness_now_ms() < until) CHECK_OK(snats_dispatch_queue_dispatch(NULL, q, 64, 50));
    CHECK_EQ_INT(atomic_load(&l.count), 200);
    publish_range(f.js, "q.x", 200, 210);
    harness_dispatch_until(q, &l.count, 210);
    if (atomic_load(&l.bad)) FAIL("%s", l.why);
    snats_sub_destroy(sub);

    /* A NULL queue. */
    sub = (snats_sub *)0x1;
    CHECK_INVALID(snats_js_consume_on(&sub, f.js, "Q", "dur", NULL, NULL, on_msg, &l));
    CHECK_NULL(sub);
    snats_dispatch_queue_destroy(q);
    jsfix_down(&f);
}

static void js_consume_on_queue_tagged(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "T", "t", "dur");
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    const uint64_t tag = 0xC0FFEE42u;
    json_t *opts = J("{\"expires_ms\": 1000, \"heartbeat_ms\": 250, \"max_messages\": 100}");
    snats_sub *sub = NULL;
    CHECK_OK(snats_js_consume_on(&sub, f.js, "T", "dur", opts, q, NULL, (void *)(uintptr_t)tag));
    json_decref(opts);
    publish_range(f.js, "t.x", 0, 300);
    static consume_log l;
    consume_log_init(&l, f.c, false);
    l.subject = "t.x";
    l.consecutive = true;
    static unsigned char buf[1 << 18];
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    while (atomic_load(&l.count) < 300) {
        if (harness_now_ms() > deadline) FAIL("%d of 300 records", atomic_load(&l.count));
        size_t used = 0, count = 0;
        CHECK_OK(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 128, 100));
        const unsigned char *p = buf, *end = buf + used;
        for (size_t i = 0; i < count; i++) {
            record r;
            p = parse_record(p, end, true, &r);
            if (r.tag != tag) FAIL("record tag %llx, expected %llx", (unsigned long long)r.tag, (unsigned long long)tag);
            consume_check(&l, r.subject, r.subject_len, r.reply, r.reply_len, block_status(r.hdr, r.hdr_len), r.data,
                          r.data_len);
            if (r.hdr_len != 0) FAIL("a header block (%u bytes) on a message published without one", r.hdr_len);
            CHECK_OK(ack_reply(f.c, &r));
            atomic_fetch_add(&l.count, 1);
        }
        CHECK(p == end);
        if (atomic_load(&l.bad)) FAIL("%s", l.why);
    }
    CHECK_EQ_INT(atomic_load(&l.count), 300);
    CHECK_EVENTUALLY(consumer_int(f.js, "T", "dur", "num_ack_pending") == 0, 5000);
    /* Through pull expiries and heartbeats: no record. */
    int64_t until = harness_now_ms() + harness_ms(1500);
    while (harness_now_ms() < until) {
        size_t used = 0, count = 0;
        CHECK_OK(snats_dispatch_queue_next_msgs(buf, sizeof buf, &used, &count, q, 128, 50));
        if (count != 0) FAIL("%zu record(s) with nothing published", count);
    }
    snats_sub_destroy(sub);
    snats_dispatch_queue_destroy(q);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Ordered consumes
 * ---------------------------------------------------------------------------------------- */

static void js_consume_ordered_filter(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_add(f.js, "{\"name\": \"O\", \"subjects\": [\"o.>\"], \"storage\": \"memory\"}");
    char text[16];
    for (int i = 0; i < 200; i++) {
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(snats_js_publish_async(f.js, "o.a", NULL, text, (size_t)n, NULL, on_pub_ack, NULL));
        CHECK_OK(snats_js_publish_async(f.js, "o.b", NULL, text, (size_t)n, NULL, on_pub_ack, NULL));
    }
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(20000)));
    CHECK_EQ_INT(atomic_load(&g_pub_failed), 0);

    /* Only o.a, in order; no acks needed. */
    static consume_log l;
    consume_log_init(&l, f.c, false);
    l.subject = "o.a";
    snats_sub *sub = consume_cb(f.js, "O", NULL, "{\"ordered\": {\"filter_subject\": \"o.a\"}, \"max_messages\": 40}", &l);
    wait_count(&l, 200);
    CHECK_EQ_INT(l.last_stream_seq, 399);
    /* Its consumer: the library's ephemeral one, as the header describes it. */
    char name[128];
    CHECK(ordered_name(f.js, "O", name, sizeof name));
    CHECK_EQ_INT(consumer_count(f.js, "O"), 1);
    CHECK_EQ_STR(l.consumer, name);
    json_t *info = consumer_info(f.js, "O", name);
    CHECK_EQ_STR(JSTR(info, "config.filter_subject"), "o.a");
    CHECK_EQ_STR(JSTR(info, "config.ack_policy"), "none");
    CHECK(json_is_true(jat(info, "config.mem_storage")));
    json_decref(info);
    /* Live messages follow. */
    for (int i = 200; i < 250; i++) {
        int n = snprintf(text, sizeof text, "%d", i);
        CHECK_OK(snats_js_publish_async(f.js, "o.b", NULL, "x", 1, NULL, on_pub_ack, NULL));
        CHECK_OK(snats_js_publish_async(f.js, "o.a", NULL, text, (size_t)n, NULL, on_pub_ack, NULL));
    }
    CHECK_OK(snats_js_publish_async_complete(f.js, harness_ms(20000)));
    wait_count(&l, 250);
    check_quiet(&l, 250, 200);
    snats_sub_destroy(sub);
    /* Its consumer goes with it. */
    CHECK_EVENTUALLY(consumer_count(f.js, "O") == 0, 5000);

    /* No options: every message of the stream, in stream order. */
    static consume_log all;
    consume_log_init(&all, f.c, false);
    all.consecutive = true;
    all.any_number = true; /* both subjects carry the same numbers */
    sub = consume_cb(f.js, "O", NULL, NULL, &all);
    wait_count(&all, 500);
    CHECK_EQ_INT(all.last_stream_seq, 500);
    snats_sub_destroy(sub);

    /* From a start sequence. */
    static consume_log from;
    consume_log_init(&from, f.c, false);
    from.subject = "o.a";
    from.next = 100; /* stream sequence 201 is o.a "100" */
    sub = consume_cb(f.js, "O", NULL,
                     "{\"ordered\": {\"filter_subject\": \"o.a\", \"deliver_policy\": \"by_start_sequence\", \"opt_start_seq\": 201}}",
                     &from);
    wait_count(&from, 150);
    snats_sub_destroy(sub);
    CHECK_EVENTUALLY(consumer_count(f.js, "O") == 0, 5000);
    jsfix_down(&f);
}

/* The ordered consumer deleted under the consume: made again, nothing lost or repeated. */
static void js_consume_ordered_consumer_deleted(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_add(f.js, "{\"name\": \"OD\", \"subjects\": [\"od.>\"], \"storage\": \"memory\"}");
    publish_range(f.js, "od.x", 0, 50);
    static consume_log l;
    consume_log_init(&l, f.c, false);
    l.consecutive = true;
    snats_sub *sub = consume_cb(f.js, "OD", NULL, "{\"expires_ms\": 2000, \"heartbeat_ms\": 500}", &l);
    wait_count(&l, 50);
    char first[128];
    CHECK(ordered_name(f.js, "OD", first, sizeof first));
    CHECK_OK(snats_js_consumer_delete(f.js, "OD", first));
    publish_range(f.js, "od.x", 50, 100);
    wait_count(&l, 100);
    check_quiet(&l, 100, 300);
    CHECK(snats_sub_is_valid(sub));
    char second[128];
    CHECK(ordered_name(f.js, "OD", second, sizeof second));
    CHECK(strcmp(first, second) != 0);
    CHECK_EQ_STR(l.consumer, second);
    CHECK_EQ_INT(errors_of(&g_errors, SNATS_INVALID_SUBSCRIPTION, NULL), 0);
    snats_sub_destroy(sub);
    CHECK_EVENTUALLY(consumer_count(f.js, "OD") == 0, 5000);
    jsfix_down(&f);
}

/* Publishes "i" with msg id "m-i" until the stream acknowledges it (a duplicate is fine). */
static void publish_retrying(snats_jetstream *js, const char *subject, int i) {
    char text[16], options[64];
    int n = snprintf(text, sizeof text, "%d", i);
    snprintf(options, sizeof options, "{\"msg_id\": \"m-%d\"}", i);
    json_t *o = J("%s", options);
    int64_t deadline = harness_now_ms() + harness_ms(20000);
    for (;;) {
        snats_status s = snats_js_publish(NULL, js, subject, NULL, text, (size_t)n, o);
        if (s == SNATS_OK) break;
        if (harness_now_ms() > deadline) FAIL("publish %d: %s (%s)", i, snats_status_text(s), snats_last_error());
        harness_sleep_ms(100);
    }
    json_decref(o);
}

static void js_consume_ordered_across_restart(void) {
    int port = harness_free_port();
    char store[600];
    make_store(store, sizeof store);
    test_server srv;
    js_server_start_at(&srv, port, store);
    snats_conn *c = connect_watched(srv.url, true);
    snats_conn *p = connect_watched(srv.url, true);
    snats_jetstream *js = NULL, *pjs = NULL;
    CHECK_OK(snats_jetstream_create(&js, c, NULL));
    CHECK_OK(snats_jetstream_create(&pjs, p, NULL));
    stream_add(pjs, "{\"name\": \"OR\", \"subjects\": [\"or.>\"]}"); /* file storage: it survives */
    for (int i = 0; i < 100; i++) publish_retrying(pjs, "or.x", i);

    static consume_log l;
    consume_log_init(&l, c, false);
    l.subject = "or.x";
    l.headers_ok = true; /* Nats-Msg-Id */
    l.consecutive = true;
    snats_sub *sub = consume_cb(js, "OR", NULL, "{\"expires_ms\": 2000, \"heartbeat_ms\": 500}", &l);
    wait_count(&l, 100);

    char before[128];
    CHECK(ordered_name(pjs, "OR", before, sizeof before));

    server_stop(&srv);
    CHECK_EVENTUALLY(state_of(c) == SNATS_CONN_RECONNECTING, 5000);
    js_server_start_at(&srv, port, store);
    for (int i = 100; i < 200; i++) publish_retrying(pjs, "or.x", i);
    CHECK_EVENTUALLY(state_of(c) == SNATS_CONN_CONNECTED, 10000);
    json_t *info = NULL;
    CHECK_OK(snats_js_stream_info(&info, pjs, "OR", NULL));
    CHECK_EQ_INT(JINT(info, "state.messages"), 200);
    CHECK_EQ_INT(JINT(info, "state.last_seq"), 200);
    json_decref(info);
    /* 0..199, each once, in order (consume_check fails on a gap or a repeat). */
    wait_count(&l, 200);
    check_quiet(&l, 200, 500);
    CHECK_EQ_INT(l.last_stream_seq, 200);
    CHECK(snats_sub_is_valid(sub));
    /* Made again after the reconnect: one ordered consumer, under another name. */
    char after[128];
    CHECK_EVENTUALLY(consumer_count(pjs, "OR") == 1, 5000);
    CHECK(ordered_name(pjs, "OR", after, sizeof after));
    CHECK(strcmp(before, after) != 0);
    CHECK_EQ_STR(l.consumer, after);
    snats_sub_destroy(sub);
    CHECK_EVENTUALLY(consumer_count(pjs, "OR") == 0, 5000);
    snats_jetstream_destroy(js);
    snats_jetstream_destroy(pjs);
    snats_conn_destroy(c);
    snats_conn_destroy(p);
    server_stop(&srv);
}

/* The header's ordered `filter_subjects`: only those subjects. */
static void js_consume_ordered_filter_subjects(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_add(f.js, "{\"name\": \"FS\", \"subjects\": [\"fs.>\"], \"storage\": \"memory\"}");
    for (int i = 0; i < 30; i++) {
        publish_range(f.js, i % 3 == 0 ? "fs.a" : i % 3 == 1 ? "fs.b" : "fs.c", i, i + 1);
    }
    if (!SERVER_AT_LEAST(2, 10, 0)) {
        /* Servers before 2.10 ignore filter_subjects: the library refuses the consume. */
        json_t *o = json_loads("{\"ordered\": {\"filter_subjects\": [\"fs.a\", \"fs.c\"]}}", 0, NULL);
        snats_sub *none = NULL;
        CHECK_STATUS(snats_js_consume(&none, f.js, "FS", NULL, o, NULL, NULL), SNATS_INVALID_ARG);
        CHECK_NULL(none);
        json_decref(o);
        jsfix_down(&f);
        return;
    }
    static consume_log l;
    consume_log_init(&l, f.c, false);
    l.any_number = true;
    l.excluded = "fs.b";
    snats_sub *sub = consume_cb(f.js, "FS", NULL, "{\"ordered\": {\"filter_subjects\": [\"fs.a\", \"fs.c\"]}}", &l);
    wait_count(&l, 20);
    check_quiet(&l, 20, 300); /* fs.b's ten are not delivered */
    CHECK_EQ_INT(l.last_stream_seq, 30);
    snats_sub_destroy(sub);
    jsfix_down(&f);
}

/* The header: "Everything that works on a subscription works on it: ... pending limits", and an
 * ordered consume delivers "nothing twice, nothing out of order, nothing skipped". A slow
 * callback behind small pending limits: the drops are reported (SNATS_SLOW_CONSUMER), and the
 * ordered consume must still deliver every message, in order. */
static void on_msg_slow(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    on_msg(conn, sub, msg, closure);
    harness_sleep_ms(1);
}

static void js_consume_ordered_pending_limits(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_add(f.js, "{\"name\": \"PL\", \"subjects\": [\"pl.>\"], \"storage\": \"memory\"}");
    enum { N = 1000 };
    publish_range(f.js, "pl.x", 0, N);
    static consume_log l;
    consume_log_init(&l, f.c, false);
    l.consecutive = true;
    json_t *o = J("{\"max_messages\": 500}");
    snats_sub *sub = NULL;
    CHECK_OK(snats_js_consume(&sub, f.js, "PL", NULL, o, on_msg_slow, &l));
    json_decref(o);
    CHECK_OK(snats_sub_set_pending_limits(sub, 20, 0));
    CHECK_EVENTUALLY(atomic_load(&l.count) >= N || atomic_load(&l.bad) > 0, 30000);
    uint64_t dropped = 0;
    CHECK_OK(snats_sub_get_dropped(&dropped, sub));
    if (atomic_load(&l.bad))
        FAIL("%s (%llu dropped at the pending limits, %d SNATS_SLOW_CONSUMER reports)", l.why, (unsigned long long)dropped,
             errors_of(&g_errors, SNATS_SLOW_CONSUMER, sub));
    CHECK_EQ_INT(atomic_load(&l.count), N);
    snats_sub_destroy(sub);
    jsfix_down(&f);
}

/* A durable consumer across a server restart: the pulls start again after the reconnect. */
static void js_consume_durable_across_restart(void) {
    int port = harness_free_port();
    char store[600];
    make_store(store, sizeof store);
    test_server srv;
    js_server_start_at(&srv, port, store);
    snats_conn *c = connect_watched(srv.url, true);
    snats_conn *p = connect_watched(srv.url, true);
    snats_jetstream *js = NULL, *pjs = NULL;
    CHECK_OK(snats_jetstream_create(&js, c, NULL));
    CHECK_OK(snats_jetstream_create(&pjs, p, NULL));
    stream_add(pjs, "{\"name\": \"DR\", \"subjects\": [\"dr.>\"]}");
    consumer_add(pjs, "DR", "{\"durable_name\": \"dur\", \"ack_policy\": \"explicit\"}");
    for (int i = 0; i < 20; i++) publish_retrying(pjs, "dr.x", i);
    static consume_log l;
    consume_log_init(&l, c, false);
    l.headers_ok = true;
    l.consecutive = true;
    /* Acknowledged with a confirmation, so that nothing is redelivered after the restart. */
    snats_sub *sub = NULL;
    CHECK_OK(snats_js_consume(&sub, js, "DR", "dur", NULL, NULL, NULL));
    for (int i = 0; i < 20; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sub, harness_ms(5000)));
        const char *reply = snats_msg_reply(m);
        consume_check(&l, snats_msg_subject(m), strlen(snats_msg_subject(m)), reply ? reply : "", reply ? strlen(reply) : 0,
                      msg_status(m), snats_msg_data(m), snats_msg_data_len(m));
        CHECK_OK(snats_js_msg_ack_sync(m, harness_ms(5000)));
        snats_msg_release(m);
    }
    server_stop(&srv);
    CHECK_EVENTUALLY(state_of(c) == SNATS_CONN_RECONNECTING, 5000);
    js_server_start_at(&srv, port, store);
    for (int i = 20; i < 40; i++) publish_retrying(pjs, "dr.x", i);
    for (int i = 20; i < 40; i++) {
        snats_msg *m = NULL;
        snats_status st = snats_sub_next_msg(&m, sub, harness_ms(10000));
        if (st != SNATS_OK) FAIL("message %d after the restart: %s", i, snats_status_text(st));
        const char *reply = snats_msg_reply(m);
        consume_check(&l, snats_msg_subject(m), strlen(snats_msg_subject(m)), reply ? reply : "", reply ? strlen(reply) : 0,
                      msg_status(m), snats_msg_data(m), snats_msg_data_len(m));
        CHECK_OK(snats_js_msg_ack_sync(m, harness_ms(5000)));
        snats_msg_release(m);
    }
    if (atomic_load(&l.bad)) FAIL("%s", l.why);
    snats_msg *m = NULL;
    CHECK_STATUS(snats_sub_next_msg(&m, sub, harness_ms(500)), SNATS_TIMEOUT);
    CHECK(snats_sub_is_valid(sub));
    snats_sub_destroy(sub);
    snats_jetstream_destroy(js);
    snats_jetstream_destroy(pjs);
    snats_conn_destroy(c);
    snats_conn_destroy(p);
    server_stop(&srv);
}

/* A server that goes silent (stopped, its socket open): the heartbeats stop, the error callback
 * hears SNATS_MISSED_HEARTBEAT, and the consume carries on when the server does. */
static void js_consume_missed_heartbeat(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "HB", "hb", "dur");
    static consume_log l;
    consume_log_init(&l, f.c, true);
    snats_sub *sub = consume_cb(f.js, "HB", "dur", "{\"expires_ms\": 2000, \"heartbeat_ms\": 300}", &l);
    publish_range(f.js, "hb.x", 0, 5);
    wait_count(&l, 5);
    CHECK_EQ_INT(errors_of(&g_errors, SNATS_MISSED_HEARTBEAT, NULL), 0);
    CHECK(kill(f.srv.pid, SIGSTOP) == 0);
    CHECK_EVENTUALLY(errors_of(&g_errors, SNATS_MISSED_HEARTBEAT, sub) >= 1, 5000);
    CHECK(kill(f.srv.pid, SIGCONT) == 0);
    CHECK(snats_sub_is_valid(sub));
    publish_range(f.js, "hb.x", 5, 10);
    wait_count(&l, 10);
    CHECK(snats_sub_is_valid(sub));
    CHECK_EQ_INT(errors_of(&g_errors, SNATS_INVALID_SUBSCRIPTION, NULL), 0);
    snats_sub_destroy(sub);
    jsfix_down(&f);
}

/* A callback that unsubscribes its own consume: no more calls; an ordered consumer goes. */
typedef struct {
    consume_log log;
    int stop_at;
    atomic_int unsub_status;
    char unsub_error[256];
} self_stop;

static void on_msg_stop(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    self_stop *st = closure;
    on_msg(conn, sub, msg, &st->log);
    if (atomic_load(&st->log.count) == st->stop_at) {
        snats_status s = snats_sub_unsubscribe(sub);
        snprintf(st->unsub_error, sizeof st->unsub_error, "%s", s == SNATS_OK ? "" : snats_last_error());
        atomic_store(&st->unsub_status, s);
    }
}

static void js_consume_unsubscribe_from_callback(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "U", "u", "dur");
    publish_range(f.js, "u.x", 0, 100);
    for (int ordered = 0; ordered < 2; ordered++) {
        static self_stop st;
        memset(&st, 0, sizeof st);
        consume_log_init(&st.log, f.c, !ordered);
        st.stop_at = 10;
        atomic_store(&st.unsub_status, -1);
        json_t *o = J("{\"max_messages\": 5}");
        snats_sub *sub = NULL;
        CHECK_OK(snats_js_consume(&sub, f.js, "U", ordered ? NULL : "dur", o, on_msg_stop, &st));
        json_decref(o);
        CHECK_EVENTUALLY(atomic_load(&st.unsub_status) != -1, 5000);
        if (atomic_load(&st.unsub_status) != SNATS_OK)
            FAIL("%s consume: snats_sub_unsubscribe from its callback at message 10 gave %s (%s)",
                 ordered ? "ordered" : "durable", snats_status_text(atomic_load(&st.unsub_status)), st.unsub_error);
        check_quiet(&st.log, 10, 300);
        CHECK(!snats_sub_is_valid(sub));
        if (ordered) CHECK_EVENTUALLY(consumer_count(f.js, "U") == 1, 5000);
        snats_sub_destroy(sub);
    }
    jsfix_down(&f);
}

/* The first callback of a consume already has a live subscription: it may unsubscribe it (the
 * messages are waiting when the consume starts, so the first callback may run before
 * snats_js_consume() has returned). */
static void js_consume_unsubscribe_in_first_callback(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "U1", "u1", "dur");
    publish_range(f.js, "u1.x", 0, 20);
    for (int round = 0; round < 40; round++) {
        int ordered = round % 2;
        static self_stop st;
        memset(&st, 0, sizeof st);
        consume_log_init(&st.log, f.c, false);
        st.log.any_number = true;
        st.stop_at = 1;
        atomic_store(&st.unsub_status, -1);
        /* A fresh durable each round: the earlier rounds' messages wait for their acks. */
        char durable[32];
        snprintf(durable, sizeof durable, "d%d", round);
        if (!ordered) {
            char config[128];
            snprintf(config, sizeof config, "{\"durable_name\": \"%s\", \"ack_policy\": \"explicit\"}", durable);
            consumer_add(f.js, "U1", config);
        }
        snats_sub *sub = NULL;
        CHECK_OK(snats_js_consume(&sub, f.js, "U1", ordered ? NULL : durable, NULL, on_msg_stop, &st));
        CHECK_EVENTUALLY(atomic_load(&st.unsub_status) != -1, 5000);
        if (atomic_load(&st.unsub_status) != SNATS_OK)
            FAIL("round %d (%s): snats_sub_unsubscribe in the first callback gave %s (%s)", round,
                 ordered ? "ordered" : "durable", snats_status_text(atomic_load(&st.unsub_status)), st.unsub_error);
        CHECK(!snats_sub_is_valid(sub));
        snats_sub_destroy(sub);
    }
    jsfix_down(&f);
}

/* The header: the context is borrowed, the connection must outlive the consume: a consume goes on
 * after its context is destroyed. */
static void js_consume_outlives_context(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "X", "x", "dur");
    snats_jetstream *js = NULL;
    CHECK_OK(snats_jetstream_create(&js, f.c, NULL));
    static consume_log l, o;
    consume_log_init(&l, f.c, true);
    consume_log_init(&o, f.c, false);
    snats_sub *sub = consume_cb(js, "X", "dur", NULL, &l);
    snats_sub *ordered = consume_cb(js, "X", NULL, NULL, &o);
    snats_jetstream_destroy(js);
    publish_range(f.js, "x.x", 0, 20);
    wait_count(&l, 20);
    wait_count(&o, 20);
    CHECK_EVENTUALLY(consumer_int(f.js, "X", "dur", "num_ack_pending") == 0, 5000);
    snats_sub_destroy(ordered);
    CHECK_EVENTUALLY(consumer_count(f.js, "X") == 1, 5000);
    snats_sub_destroy(sub);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * The consumer deleted, missing consumers, refused options
 * ---------------------------------------------------------------------------------------- */

static void js_consume_consumer_deleted_ends(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "D", "d", "dur");
    consumer_add(f.js, "D", "{\"durable_name\": \"dur2\", \"ack_policy\": \"explicit\"}");
    publish_range(f.js, "d.x", 0, 10);

    /* With a callback. */
    static consume_log l;
    consume_log_init(&l, f.c, true);
    snats_sub *sub = consume_cb(f.js, "D", "dur", "{\"expires_ms\": 2000, \"heartbeat_ms\": 500}", &l);
    wait_count(&l, 10);
    CHECK_OK(snats_js_consumer_delete(f.js, "D", "dur"));
    CHECK_EVENTUALLY(!snats_sub_is_valid(sub), 10000);
    CHECK_EVENTUALLY(errors_of(&g_errors, SNATS_INVALID_SUBSCRIPTION, sub) == 1, 5000);
    harness_sleep_ms(harness_ms(1500));
    CHECK_EQ_INT(errors_of(&g_errors, SNATS_INVALID_SUBSCRIPTION, NULL), 1); /* once */
    CHECK_STATUS(snats_sub_unsubscribe(sub), SNATS_INVALID_SUBSCRIPTION);
    check_quiet(&l, 10, 0);

    /* Synchronous: next_msg ends with SNATS_INVALID_SUBSCRIPTION. */
    json_t *opts = J("{\"expires_ms\": 2000, \"heartbeat_ms\": 500}");
    snats_sub *sync = NULL;
    CHECK_OK(snats_js_consume(&sync, f.js, "D", "dur2", opts, NULL, NULL));
    json_decref(opts);
    for (int i = 0; i < 10; i++) {
        snats_msg *m = NULL;
        CHECK_OK(snats_sub_next_msg(&m, sync, harness_ms(5000)));
        CHECK_OK(snats_js_msg_ack(m));
        snats_msg_release(m);
    }
    CHECK_OK(snats_js_consumer_delete(f.js, "D", "dur2"));
    snats_status s;
    int64_t deadline = harness_now_ms() + harness_ms(10000);
    do {
        snats_msg *m = NULL;
        s = snats_sub_next_msg(&m, sync, harness_ms(200));
        if (s == SNATS_OK) {
            snats_msg_release(m);
            FAIL("a message after the consumer's deletion");
        }
    } while (s == SNATS_TIMEOUT && harness_now_ms() < deadline);
    CHECK_STATUS(s, SNATS_INVALID_SUBSCRIPTION);
    CHECK(!snats_sub_is_valid(sync));
    CHECK_EVENTUALLY(errors_of(&g_errors, SNATS_INVALID_SUBSCRIPTION, sync) == 1, 5000);
    CHECK_EQ_INT(errors_of(&g_errors, SNATS_INVALID_SUBSCRIPTION, NULL), 2);
    snats_sub_destroy(sync);
    snats_sub_destroy(sub);
    jsfix_down(&f);
}

static void js_consume_missing(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "M", "m", "dur");
    static consume_log l;
    consume_log_init(&l, f.c, false);
    snats_dispatch_queue *q = NULL;
    CHECK_OK(snats_dispatch_queue_create(&q, 0, 0));
    static batch_log b;
    memset(&b, 0, sizeof b);
    consume_log_init(&b.log, f.c, false);

    snats_sub *sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_js_consume(&sub, f.js, "M", "nobody", NULL, on_msg, &l), SNATS_NOT_FOUND);
    CHECK_NULL(sub);
    CHECK_API_ERROR(404, 10014);
    sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_js_consume(&sub, f.js, "M", "nobody", NULL, NULL, NULL), SNATS_NOT_FOUND);
    CHECK_NULL(sub);
    sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_js_consume_batch(&sub, f.js, "M", "nobody", NULL, on_batch, &b), SNATS_NOT_FOUND);
    CHECK_NULL(sub);
    CHECK_API_ERROR(404, 10014);
    sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_js_consume_on(&sub, f.js, "M", "nobody", NULL, q, on_msg, &l), SNATS_NOT_FOUND);
    CHECK_NULL(sub);
    CHECK_API_ERROR(404, 10014);
    /* No stream: named and ordered. */
    sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_js_consume(&sub, f.js, "NOSTREAM", "dur", NULL, on_msg, &l), SNATS_NOT_FOUND);
    CHECK_NULL(sub);
    CHECK_API_ERROR(404, 10059);
    sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_js_consume(&sub, f.js, "NOSTREAM", NULL, NULL, on_msg, &l), SNATS_NOT_FOUND);
    CHECK_NULL(sub);
    CHECK_API_ERROR(404, 10059);
    sub = (snats_sub *)0x1;
    CHECK_STATUS(snats_js_consume_on(&sub, f.js, "NOSTREAM", NULL, NULL, q, NULL, (void *)1), SNATS_NOT_FOUND);
    CHECK_NULL(sub);
    CHECK_EQ_INT(atomic_load(&l.count), 0);
    CHECK_EQ_INT(consumer_count(f.js, "M"), 1);
    snats_dispatch_queue_destroy(q);
    jsfix_down(&f);
}

static void js_consume_bad_options(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "BO", "bo", "dur");
    static consume_log l;
    consume_log_init(&l, f.c, false);
    static batch_log b;
    memset(&b, 0, sizeof b);
    consume_log_init(&b.log, f.c, false);
    static const char *bad_named[] = {
        "{\"ordered\": {}}",
        "{\"ordered\": {\"filter_subject\": \"bo.x\"}}",
        "{\"expires_ms\": 999}",
        "{\"expires_ms\": 0}",
        "{\"expires_ms\": 2000, \"heartbeat_ms\": 1001}",
        "{\"heartbeat_ms\": 15001}",
        "{\"bogus\": 1}",
        "{\"max_messages\": 0}",
        "{\"max_messages\": -5}",
        "{\"max_bytes\": -1}",
        "{\"max_messages\": \"5\"}",
        "{\"expires_ms\": 1500.5}",
        "[]",
        "\"text\"",
    };
    static const char *bad_ordered[] = {
        "{\"ordered\": \"yes\"}",
        "{\"ordered\": [1]}",
        "{\"ordered\": {}, \"expires_ms\": 999}",
        "{\"ordered\": {}, \"expires_ms\": 2000, \"heartbeat_ms\": 1001}",
        "{\"ordered\": {}, \"bogus\": true}",
    };
    for (int which = 0; which < 2; which++) {
        const char *const *bad = which == 0 ? bad_named : bad_ordered;
        size_t n = which == 0 ? sizeof bad_named / sizeof bad_named[0] : sizeof bad_ordered / sizeof bad_ordered[0];
        for (size_t i = 0; i < n; i++) {
            json_t *o = J("%s", bad[i]);
            for (int form = 0; form < 3; form++) {
                snats_sub *sub = (snats_sub *)0x1;
                const char *consumer = which == 0 ? "dur" : NULL;
                snats_status s = form == 0   ? snats_js_consume(&sub, f.js, "BO", consumer, o, on_msg, &l)
                                 : form == 1 ? snats_js_consume(&sub, f.js, "BO", consumer, o, NULL, NULL)
                                             : snats_js_consume_batch(&sub, f.js, "BO", consumer, o, on_batch, &b);
                if (s != SNATS_INVALID_ARG) {
                    if (s == SNATS_OK) snats_sub_destroy(sub);
                    FAIL("options %s (%s, form %d) gave %s, expected SNATS_INVALID_ARG", bad[i], consumer ? consumer : "ordered",
                         form, snats_status_text(s));
                }
                CHECK_NULL(sub);
                CHECK(strlen(snats_last_error()) > 0);
            }
            json_decref(o);
        }
    }
    /* The limits themselves are accepted. */
    json_t *o = J("{\"expires_ms\": 1000, \"heartbeat_ms\": 500, \"max_messages\": 1, \"threshold_messages\": 1, \"max_bytes\": 0}");
    snats_sub *sub = NULL;
    CHECK_OK(snats_js_consume(&sub, f.js, "BO", "dur", o, on_msg, &l));
    snats_sub_destroy(sub);
    json_decref(o);

    /* NULL arguments and bad names. */
    snats_sub *sub2 = (snats_sub *)0x1;
    CHECK_INVALID(snats_js_consume(NULL, f.js, "BO", "dur", NULL, on_msg, &l));
    CHECK_INVALID(snats_js_consume(&sub2, NULL, "BO", "dur", NULL, on_msg, &l));
    CHECK_NULL(sub2);
    sub2 = (snats_sub *)0x1;
    CHECK_INVALID(snats_js_consume(&sub2, f.js, NULL, "dur", NULL, on_msg, &l));
    CHECK_NULL(sub2);
    CHECK_INVALID(snats_js_consume(&sub2, f.js, "B.O", "dur", NULL, on_msg, &l));
    CHECK_INVALID(snats_js_consume(&sub2, f.js, "BO", "d ur", NULL, on_msg, &l));
    CHECK_INVALID(snats_js_consume(&sub2, f.js, "BO", "d.ur", NULL, on_msg, &l));
    CHECK_INVALID(snats_js_consume_batch(NULL, f.js, "BO", "dur", NULL, on_batch, &b));
    CHECK_INVALID(snats_js_consume_batch(&sub2, NULL, "BO", "dur", NULL, on_batch, &b));
    CHECK_INVALID(snats_js_consume_on(NULL, f.js, "BO", "dur", NULL, NULL, on_msg, &l));

    /* Nothing was made or delivered. */
    harness_sleep_ms(harness_ms(200));
    CHECK_EQ_INT(atomic_load(&l.count), 0);
    CHECK_EQ_INT(consumer_count(f.js, "BO"), 1);
    jsfix_down(&f);
}

/* ------------------------------------------------------------------------------------------
 * Unsubscribe, drain, destroy: the pulls stop
 * ---------------------------------------------------------------------------------------- */

static const char *const end_names[3] = {"unsubscribe", "drain", "destroy"};

static void end_consume(snats_sub *sub, int how) {
    if (how == 0) {
        CHECK_OK(snats_sub_unsubscribe(sub));
        CHECK(!snats_sub_is_valid(sub));
        snats_sub_destroy(sub);
    } else if (how == 1) {
        CHECK_OK(snats_sub_drain(sub, harness_ms(5000)));
        CHECK_EVENTUALLY(!snats_sub_is_valid(sub), 5000);
        snats_sub_destroy(sub);
    } else {
        snats_sub_destroy(sub);
    }
}

static void js_consume_end_stops_pulls(void) {
    jsfix f;
    jsfix_up_watched(&f);
    for (int how = 0; how < 3; how++) {
        char stream[16], prefix[16], subject[32];
        snprintf(stream, sizeof stream, "E%d", how);
        snprintf(prefix, sizeof prefix, "e%d", how);
        snprintf(subject, sizeof subject, "e%d.x", how);
        stream_with_durable(&f, stream, prefix, "dur");

        /* A named consumer: after the end, nothing is pulled. */
        static consume_log l;
        consume_log_init(&l, f.c, true);
        snats_sub *sub = consume_cb(f.js, stream, "dur", "{\"expires_ms\": 1000, \"heartbeat_ms\": 500}", &l);
        publish_range(f.js, subject, 0, 10);
        wait_count(&l, 10);
        CHECK_EVENTUALLY(consumer_int(f.js, stream, "dur", "num_ack_pending") == 0, 5000);
        end_consume(sub, how);
        /* The open pulls expire... */
        CHECK_EVENTUALLY(consumer_int(f.js, stream, "dur", "num_waiting") == 0, 5000);
        harness_sleep_ms(harness_ms(1200));
        /* ...and no new one comes: the next messages stay pending. */
        publish_range(f.js, subject, 10, 20);
        harness_sleep_ms(harness_ms(1500));
        json_t *info = consumer_info(f.js, stream, "dur");
        if (JINT(info, "num_pending") != 10 || JINT(info, "num_ack_pending") != 0 || JINT(info, "num_waiting") != 0 ||
            JINT(info, "delivered.stream_seq") != 10) {
            char *dump = json_dumps(info, JSON_COMPACT);
            FAIL("after %s: %s", end_names[how], dump);
        }
        json_decref(info);
        CHECK_EQ_INT(atomic_load(&l.count), 10);

        /* An ordered consume: its consumer is deleted with it. */
        static consume_log o;
        consume_log_init(&o, f.c, false);
        o.consecutive = true;
        sub = consume_cb(f.js, stream, NULL, "{\"expires_ms\": 1000, \"heartbeat_ms\": 500}", &o);
        wait_count(&o, 20);
        char name[128];
        CHECK(ordered_name(f.js, stream, name, sizeof name));
        end_consume(sub, how);
        int64_t deadline = harness_now_ms() + harness_ms(5000);
        for (;;) {
            json_t *names = consumer_names(f.js, stream);
            bool listed = jarray_has(names, name);
            size_t n = json_array_size(names);
            json_decref(names);
            if (!listed && n == 1) break;
            if (harness_now_ms() > deadline) FAIL("after %s the ordered consumer %s is still listed", end_names[how], name);
            harness_sleep_ms(20);
        }
        publish_range(f.js, subject, 20, 25);
        check_quiet(&o, 20, 1200);
        CHECK_EQ_INT(consumer_count(f.js, stream), 1);
    }
    CHECK_EQ_INT(errors_of(&g_errors, SNATS_INVALID_SUBSCRIPTION, NULL), 0);
    jsfix_down(&f);
}

/* The connection closed under a consume: the subscription ends, nothing more is delivered. */
static void js_consume_connection_closed(void) {
    jsfix f;
    jsfix_up_watched(&f);
    stream_with_durable(&f, "CC", "cc", "dur");
    snats_conn *c = connect_or_fail(f.srv.url);
    snats_jetstream *js = NULL;
    CHECK_OK(snats_jetstream_create(&js, c, NULL));
    static consume_log l;
    consume_log_init(&l, c, true);
    snats_sub *sub = consume_cb(js, "CC", "dur", NULL, &l);
    static consume_log o;
    consume_log_init(&o, c, false);
    snats_sub *ordered = consume_cb(js, "CC", NULL, NULL, &o);
    publish_range(f.js, "cc.x", 0, 5);
    wait_count(&l, 5);
    wait_count(&o, 5);
    snats_conn_close(c);
    CHECK(!snats_sub_is_valid(sub));
    CHECK(!snats_sub_is_valid(ordered));
    publish_range(f.js, "cc.x", 5, 10);
    check_quiet(&l, 5, 300);
    check_quiet(&o, 5, 0);
    /* A consume on a closed connection is refused. */
    snats_sub *late = (snats_sub *)0x1;
    CHECK_STATUS(snats_js_consume(&late, js, "CC", "dur", NULL, on_msg, &l), SNATS_CONNECTION_CLOSED);
    CHECK_NULL(late);
    snats_sub_destroy(sub);
    snats_sub_destroy(ordered);
    snats_jetstream_destroy(js);
    snats_conn_destroy(c);
    jsfix_down(&f);
}

const test_case js_consume_tests[] = {
    TEST(js_consume_callback_durable),
    TEST(js_consume_sync_next_msg),
    TEST(js_consume_batches),
    TEST(js_consume_on_queue_callback),
    TEST(js_consume_on_queue_tagged),
    TEST(js_consume_ordered_filter),
    TEST(js_consume_ordered_consumer_deleted),
    TEST(js_consume_ordered_across_restart),
    TEST(js_consume_ordered_filter_subjects),
    TEST(js_consume_ordered_pending_limits),
    TEST(js_consume_durable_across_restart),
    TEST(js_consume_missed_heartbeat),
    TEST(js_consume_unsubscribe_from_callback),
    TEST(js_consume_unsubscribe_in_first_callback),
    TEST(js_consume_outlives_context),
    TEST(js_consume_consumer_deleted_ends),
    TEST(js_consume_missing),
    TEST(js_consume_bad_options),
    TEST(js_consume_end_stops_pulls),
    TEST(js_consume_connection_closed),
};
HARNESS_TABLE_COUNT(js_consume);
