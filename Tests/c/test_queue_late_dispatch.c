/*
 * test_queue_late_dispatch.c - Connections that READ on their dispatch queue
 * (snats_options_set_read_on_dispatch_queue()): only the queue's owner reads the socket, in its
 * dispatch, so an answer that came in time can sit unread in the socket while the owner is
 * late. A call with a 300 ms timeout, answered at once by responders on another connection
 * (served by the delivery pool), and an owner that dispatches only at ~600 ms: the answers
 * that came in time count, as for the blocking forms - snats_request_async() (the reply),
 * snats_conn_flush_async() (SNATS_OK), snats_rpc_client_call_cb() (the result),
 * snats_rpc_client_call_stream_cb() (the items, then the end), snats_micro_ping_cb() and
 * snats_rpc_client_describe_cb() (the documents, the methods) - not SNATS_TIMEOUT.
 * A call nobody answers still ends with SNATS_TIMEOUT, at the late dispatch, and within about
 * its timeout when the owner dispatches all along.
 *
 * Each late case runs twice: with an owner that dispatched once (then stayed away), and with a
 * queue whose owner's very first dispatch comes late. Every callback must run on the owner's
 * thread, exactly once (the dispatching goes on past the callback to let a second call show).
 * The "calc" server and the stream/describe recorders come from rpc_cb.h.
 */
#define _GNU_SOURCE
#include "rpc_cb.h"

#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>

/* The call's timeout, and when the owner dispatches first, counted from the call. */
#define QLD_TIMEOUT harness_ms(300)
#define QLD_LATE harness_ms(600)

static const char *const variant_names[] = {"owner idle since an earlier dispatch", "owner's first dispatch late"};

/* ---- fixture ---- */

static atomic_int g_spied;  /* messages to an inbox, as the server sent them (see qld_up) */
static atomic_int g_echoes; /* requests late.echo answered */
static atomic_int g_closed;
static atomic_int g_closed_wrong_thread;
static pthread_t g_owner;

typedef struct {
    rcb_fixture f;              /* calc and rpc.calc.silent on f.s; f.c / f.client: the late side */
    snats_conn *spy_conn;       /* sees every reply sent to an inbox: the answers came in time */
    snats_sub *spy, *echo;      /* echo: late.echo on f.s */
    snats_dispatch_queue *q;    /* per variant, bound to f.c, which reads on it */
    int qfd;
    uint64_t in_before;         /* f.c's messages read when the call was made */
} qld;

static void spy_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)msg;
    (void)closure;
    atomic_fetch_add(&g_spied, 1);
}

static void echo_cb(snats_conn *conn, snats_sub *sub, snats_msg *msg, void *closure) {
    (void)conn;
    (void)sub;
    (void)closure;
    CHECK_OK(snats_msg_respond(msg, snats_msg_data(msg), snats_msg_data_len(msg)));
    atomic_fetch_add(&g_echoes, 1);
}

static void on_closed(snats_conn *conn, void *closure) {
    (void)conn;
    (void)closure;
    if (!pthread_equal(pthread_self(), g_owner)) atomic_fetch_add(&g_closed_wrong_thread, 1);
    atomic_fetch_add(&g_closed, 1);
}

static uint64_t in_msgs_of(snats_conn *c) {
    uint64_t n = 0;
    CHECK_OK(snats_conn_get_stats(&n, NULL, NULL, NULL, c));
    return n;
}

/* Keeps dispatching for @p ms: a second call of a callback, or a late one, would run now. */
static void dispatch_for(snats_dispatch_queue *q, int64_t ms) {
    int64_t until = harness_now_ms() + ms;
    while (harness_now_ms() < until) CHECK_OK(snats_dispatch_queue_dispatch(NULL, q, 64, 10));
}

/* The responders (the "calc" RPC server, which is also a micro service, rpc.calc.silent that
 * never answers, late.echo), all on f.s, served by the delivery pool; and the spy. */
static void qld_up(qld *t) {
    memset(t, 0, sizeof *t);
    g_owner = pthread_self();
    rcb_server_up(&t->f);
    t->f.c = NULL;
    t->f.client = NULL;
    CHECK_OK(snats_subscribe(&t->echo, t->f.s, "late.echo", echo_cb, NULL));
    CHECK_OK(snats_conn_flush(t->f.s, harness_ms(5000)));
    t->spy_conn = connect_or_fail(t->f.srv.url);
    CHECK_OK(snats_subscribe(&t->spy, t->spy_conn, "_INBOX.>", spy_cb, NULL));
    CHECK_OK(snats_conn_flush(t->spy_conn, harness_ms(5000)));
}

static void qld_down(qld *t) {
    t->f.c = t->f.s;
    t->f.client = NULL;
    snats_sub_destroy(t->spy);
    snats_conn_destroy(t->spy_conn);
    snats_sub_destroy(t->echo);
    rcb_calc_down(&t->f);
}

/* A queue and a connection that reads on it (f.c), with a client of "calc" (f.client). With
 * @p owner_first this thread dispatches once now (it becomes the owner, then stays away);
 * without, the queue's first dispatch is the late one. */
static void qld_open(qld *t, bool owner_first) {
    CHECK_OK(snats_dispatch_queue_create(&t->q, 0, 0));
    CHECK_OK(snats_dispatch_queue_fd(&t->qfd, t->q));
    t->f.c = harness_connect_on_queue(t->f.srv.url, t->q, true, on_closed, NULL);
    if (owner_first) {
        int ran = -1;
        CHECK_OK(snats_dispatch_queue_dispatch(&ran, t->q, 64, 0));
        CHECK_EQ_INT(ran, 0);
    }
    CHECK_OK(snats_rpc_client_create(&t->f.client, t->f.c, "calc"));
    /* rpc.calc.silent is a plain subscriber, which sends no liveness frames: without this, a
     * timeout past two intervals (under valgrind, where harness_ms scales it) would end the
     * silent call with SNATS_CALL_LOST. This family is about timeouts judged on the owner. */
    CHECK_OK(snats_rpc_client_set_heartbeat(t->f.client, 0));
}

static void qld_close(qld *t) {
    snats_rpc_client_destroy(t->f.client);
    t->f.client = NULL;
    int closed = atomic_load(&g_closed);
    snats_conn_destroy(t->f.c);
    t->f.c = NULL;
    harness_dispatch_until(t->q, &g_closed, closed + 1); /* the closed callback waits for the owner */
    CHECK_EQ_INT(atomic_load(&g_closed_wrong_thread), 0);
    snats_dispatch_queue_destroy(t->q);
    t->q = NULL;
}

/* Call right before the call; returns when it was made. */
static int64_t qld_begin(qld *t) {
    atomic_store(&g_spied, 0);
    t->in_before = in_msgs_of(t->f.c);
    return harness_now_ms();
}

/* Premise: the server sent the @p answers (messages to an inbox) well within the timeout,
 * counted from @p started. */
static void qld_answered_in_time(int answers, int64_t started, const char *what) {
    int64_t in_time = started + QLD_TIMEOUT / 2;
    while (atomic_load(&g_spied) < answers) {
        if (harness_now_ms() > in_time)
            FAIL("%s: premise: %d of %d answer(s) sent by the server within %lld ms", what, atomic_load(&g_spied),
                 answers, (long long)(QLD_TIMEOUT / 2));
        harness_sleep_ms(1);
    }
}

/* The owner stays away until QLD_LATE after @p started. */
static void qld_stay_away(int64_t started) {
    int64_t now = harness_now_ms();
    if (now < started + QLD_LATE) harness_sleep_ms(started + QLD_LATE - now);
}

/* The late owner: makes sure the @p answers (0: only something in the socket, a PONG) came
 * well within the timeout and wait unread in f.c's socket, stays away until QLD_LATE after
 * @p started, then dispatches until *done, and on past it. */
static void qld_dispatch_late(qld *t, atomic_int *done, int answers, int64_t started, const char *what) {
    qld_answered_in_time(answers, started, what);
    /* The queue's descriptor holds the socket: readable, for the answer waiting in it. */
    int64_t in_time = started + QLD_TIMEOUT / 2;
    struct pollfd p = {.fd = t->qfd, .events = POLLIN};
    int ready = poll(&p, 1, (int)(in_time - harness_now_ms() > 0 ? in_time - harness_now_ms() : 0));
    if (ready != 1) FAIL("%s: premise: the queue's descriptor is not readable %lld ms after the call", what,
                         (long long)(harness_now_ms() - started));
    qld_stay_away(started);
    CHECK_EQ_INT(atomic_load(done), 0);                /* nothing ran before the owner came */
    CHECK_EQ_INT(in_msgs_of(t->f.c), t->in_before);    /* the answers are still in the socket */
    harness_dispatch_until(t->q, done, 1);
    dispatch_for(t->q, harness_ms(300));
}

/* ---- one-shot recorders (a second call fails the test) ---- */

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    atomic_int wrong_thread;
    int64_t at;         /* harness_now_ms() in the callback */
    char data[64];      /* a reply's payload (NUL-terminated) */
    size_t len;
    json_t *value;      /* snats_rpc_client_call_cb(): a deep copy of the result */
    char error[256];    /* snats_last_error() in the callback, when not SNATS_OK */
    const char *name;
} once_state;

static void once_init(once_state *st, const char *name) {
    memset(st, 0, sizeof *st);
    st->status = SNATS_ERR;
    st->name = name;
}

static void once_enter(once_state *st, snats_status status) {
    if (atomic_load(&st->calls) != 0)
        FAIL("%s: the callback ran twice (first %s, then %s)", st->name, snats_status_text(atomic_load(&st->status)),
             snats_status_text(status));
    if (!pthread_equal(pthread_self(), g_owner)) atomic_fetch_add(&st->wrong_thread, 1);
    st->at = harness_now_ms();
    if (status != SNATS_OK)
        snprintf(st->error, sizeof st->error, "%s", snats_last_error() ? snats_last_error() : "");
}

static void once_leave(once_state *st, snats_status status) {
    atomic_store(&st->status, status);
    atomic_fetch_add(&st->calls, 1);
}

static void on_reply(snats_conn *conn, snats_status status, snats_msg *reply, void *closure) {
    (void)conn;
    once_state *st = closure;
    once_enter(st, status);
    if ((status == SNATS_OK) != (reply != NULL)) FAIL("%s: status %d with reply %p", st->name, (int)status, (void *)reply);
    if (reply != NULL) {
        st->len = snats_msg_data_len(reply);
        size_t n = st->len < sizeof st->data - 1 ? st->len : sizeof st->data - 1;
        if (n > 0) memcpy(st->data, snats_msg_data(reply), n);
        st->data[n] = '\0';
    }
    once_leave(st, status);
}

static void on_flushed(snats_conn *conn, snats_status status, void *closure) {
    (void)conn;
    once_state *st = closure;
    once_enter(st, status);
    once_leave(st, status);
}

static void on_called(snats_status status, const json_t *result, const json_t *error, void *closure) {
    once_state *st = closure;
    once_enter(st, status);
    if ((status == SNATS_OK) != (result != NULL)) FAIL("%s: status %d with result %p", st->name, (int)status, (const void *)result);
    if ((status == SNATS_RPC_ERROR) != (error != NULL)) FAIL("%s: status %d with error %p", st->name, (int)status, (const void *)error);
    st->value = result ? json_deep_copy(result) : NULL;
    once_leave(st, status);
}

static void check_once(const once_state *st) {
    CHECK_EQ_INT(atomic_load(&st->calls), 1);
    if (atomic_load(&st->wrong_thread) != 0) FAIL("%s: the callback ran off the owner's thread", st->name);
}

/* ---- each variant, with the failures noted on the way ---- */

static char g_failures[2048];

/* Appends " variant: text;" to g_failures. */
__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...) {
    const size_t size = sizeof g_failures;
    size_t n = strlen(g_failures);
    if (n + 2 >= size) return;
    g_failures[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_failures + n, size - n, fmt, ap);
    va_end(ap);
    n = strlen(g_failures);
    if (n + 1 < size) {
        g_failures[n] = ';';
        g_failures[n + 1] = '\0';
    }
}

typedef struct {
    void (*before)(qld *t);                    /* once, before the variants (may be NULL) */
    void (*late)(qld *t, const char *variant); /* each variant, on a queue opened for it */
    void (*after)(qld *t);                     /* once, after them (may be NULL) */
    const char *expected;                      /* the failure's words, ahead of what was noted */
} late_case;

/* Runs the case on one fixture, then fails with what its parts noted. */
static void run_late(late_case c) {
    static qld t;
    qld_up(&t);
    g_failures[0] = '\0';
    if (c.before != NULL) c.before(&t);
    for (int v = 0; v < 2; v++) {
        qld_open(&t, v == 0);
        c.late(&t, variant_names[v]);
        qld_close(&t);
    }
    if (c.after != NULL) c.after(&t);
    if (g_failures[0] != '\0') FAIL("%s, got:%s", c.expected, g_failures);
    qld_down(&t);
}

/* ---- the late owner keeps what came in time ---- */

static void request_async_late(qld *t, const char *variant) {
    static once_state st;
    once_init(&st, "request_async");
    int echoes = atomic_load(&g_echoes);
    int64_t started = qld_begin(t);
    CHECK_OK(snats_request_async(t->f.c, "late.echo", "ping", 4, QLD_TIMEOUT, on_reply, &st));
    qld_dispatch_late(t, &st.calls, 1, started, variant);
    check_once(&st);
    CHECK_EQ_INT(atomic_load(&g_echoes), echoes + 1);
    if (atomic_load(&st.status) != SNATS_OK || st.len != 4 || strcmp(st.data, "ping") != 0)
        note("%s: %s (%s), %zu byte(s) \"%s\"", variant, snats_status_text(atomic_load(&st.status)), st.error, st.len,
             st.data);
}

static void queue_late_dispatch_request_async_keeps_the_reply(void) {
    run_late((late_case){.late = request_async_late,
                         .expected = "request_async dispatched late, expected SNATS_OK with \"ping\""});
}

static void flush_async_late(qld *t, const char *variant) {
    static once_state st;
    once_init(&st, "flush_async");
    int64_t started = qld_begin(t);
    CHECK_OK(snats_conn_flush_async(t->f.c, QLD_TIMEOUT, on_flushed, &st));
    qld_dispatch_late(t, &st.calls, 0, started, variant);
    check_once(&st);
    if (atomic_load(&st.status) != SNATS_OK)
        note("%s: %s (%s)", variant, snats_status_text(atomic_load(&st.status)), st.error);
}

static void queue_late_dispatch_flush_async_keeps_the_pong(void) {
    run_late((late_case){.late = flush_async_late, .expected = "flush_async dispatched late, expected SNATS_OK"});
}

static void call_cb_late(qld *t, const char *variant) {
    static once_state st;
    once_init(&st, "call_cb");
    int64_t started = qld_begin(t);
    CHECK_OK(snats_rpc_client_call_cb(t->f.client, "whoami", NULL, QLD_TIMEOUT, on_called, &st));
    qld_dispatch_late(t, &st.calls, 1, started, variant);
    check_once(&st);
    const char *who = json_string_value(st.value);
    if (atomic_load(&st.status) != SNATS_OK || who == NULL || strcmp(who, "calc") != 0)
        note("%s: %s (%s)", variant, snats_status_text(atomic_load(&st.status)), st.error);
    json_decref(st.value);
}

static void queue_late_dispatch_rpc_call_cb_keeps_the_result(void) {
    run_late((late_case){.late = call_cb_late, .expected = "call_cb dispatched late, expected SNATS_OK with \"calc\""});
}

static void stream_cb_late(qld *t, const char *variant) {
    static rcb_stream_state st;
    rcb_stream_init_owned(&st);
    int64_t started = qld_begin(t);
    snats_rpc_stream *stream = rcb_start_stream(t->f.client, "count", "[3]", QLD_TIMEOUT, &st);
    /* Three item frames and the end frame. */
    qld_dispatch_late(t, &st.ended, 4, started, variant);
    CHECK_EQ_INT(atomic_load(&st.ended), 1);
    CHECK_EQ_INT(atomic_load(&st.calls), atomic_load(&st.items) + 1); /* one end, nothing after */
    CHECK_EQ_INT(atomic_load(&st.after_end), 0);
    CHECK_EQ_INT(atomic_load(&st.overlapping), 0);
    CHECK_EQ_INT(atomic_load(&st.bad_args), 0);
    if (atomic_load(&st.wrong_thread) != 0) FAIL("%s: stream callback off the owner's thread", variant);
    if (atomic_load(&st.end_status) != SNATS_OK || atomic_load(&st.items) != 3)
        note("%s: %d item(s), then %s (%s)", variant, atomic_load(&st.items),
             snats_status_text(atomic_load(&st.end_status)), st.message);
    else
        rcb_check_counted(&st, 3);
    snats_rpc_stream_destroy(stream);
    rcb_stream_free(&st);
}

static void queue_late_dispatch_rpc_stream_cb_keeps_items_and_end(void) {
    run_late((late_case){.late = stream_cb_late,
                         .expected = "call_stream_cb dispatched late, expected items 0, 1, 2 then the end"});
}

static json_t *g_pings, *g_methods; /* what the blocking forms gather */

static void check_same(const char *what, const json_t *blocking, const json_t *got) {
    if (!json_equal(blocking, got)) {
        char *a = json_dumps(blocking, JSON_COMPACT), *b = got ? json_dumps(got, JSON_COMPACT) : NULL;
        note("%s: blocking form %s, callback %s", what, a, b ? b : "(null)");
        free(a);
        free(b);
    }
}

/* What the blocking forms gather, on a connection served normally. */
static void gather_blocking(qld *t) {
    CHECK_OK(snats_micro_ping(&g_pings, t->spy_conn, "calc", NULL, harness_ms(300), 0));
    CHECK_EQ_INT(json_array_size(g_pings), 1);
    snats_rpc_client *plain = NULL;
    CHECK_OK(snats_rpc_client_create(&plain, t->spy_conn, "calc"));
    CHECK_OK(snats_rpc_client_describe(&g_methods, plain, harness_ms(300)));
    CHECK_EQ_INT(json_array_size(g_methods), 5);
    snats_rpc_client_destroy(plain);
}

/* The late owner, then @p form's one call, on its thread, with what @p blocking gathered. */
static void described_late(qld *t, rcb_describe_state *d, int64_t started, const char *variant, const char *form,
                           const json_t *blocking) {
    qld_dispatch_late(t, &d->calls, 1, started, variant);
    CHECK_EQ_INT(atomic_load(&d->calls), 1);
    if (atomic_load(&d->wrong_thread) != 0) FAIL("%s: %s off the owner's thread", variant, form);
    char what[128];
    snprintf(what, sizeof what, "%s: %s %s", variant, form, snats_status_text(atomic_load(&d->status)));
    check_same(what, blocking, d->value);
    json_decref(d->value);
}

static void ping_and_describe_cb_late(qld *t, const char *variant) {
    static rcb_describe_state d;
    rcb_describe_init_owned(&d);
    int64_t started = qld_begin(t);
    CHECK_OK(snats_micro_ping_cb(t->f.c, "calc", NULL, QLD_TIMEOUT, 0, rcb_on_described, &d));
    described_late(t, &d, started, variant, "ping_cb", g_pings);

    rcb_describe_init_owned(&d);
    started = qld_begin(t);
    CHECK_OK(snats_rpc_client_describe_cb(t->f.client, QLD_TIMEOUT, rcb_on_described, &d));
    described_late(t, &d, started, variant, "describe_cb", g_methods);
}

static void queue_late_dispatch_micro_ping_and_describe_cb_keep_documents(void) {
    run_late((late_case){.before = gather_blocking,
                         .late = ping_and_describe_cb_late,
                         .expected = "gathered with a late dispatch, expected what the blocking forms gather"});
    json_decref(g_pings);
    json_decref(g_methods);
}

/* ---- nobody answers: SNATS_TIMEOUT all the same ---- */

static once_state g_answered, g_silent_request, g_silent_call;
static rcb_stream_state g_silent_stream;
static atomic_int g_all_ended; /* of the four calls below */

static void count_ended(void) {
    int n = atomic_load(&g_answered.calls) + atomic_load(&g_silent_request.calls) + atomic_load(&g_silent_call.calls) +
            atomic_load(&g_silent_stream.ended);
    atomic_store(&g_all_ended, n);
}

/* The four calls, at once: a request that is answered, and three that nobody answers. */
static snats_rpc_stream *start_mixed(qld *t) {
    once_init(&g_answered, "request_async late.echo");
    once_init(&g_silent_request, "request_async rpc.calc.silent");
    once_init(&g_silent_call, "call_cb silent");
    rcb_stream_init_owned(&g_silent_stream);
    atomic_store(&g_all_ended, 0);
    CHECK_OK(snats_request_async(t->f.c, "rpc.calc.silent", "hello?", 6, QLD_TIMEOUT, on_reply, &g_silent_request));
    CHECK_OK(snats_rpc_client_call_cb(t->f.client, "silent", NULL, QLD_TIMEOUT, on_called, &g_silent_call));
    snats_rpc_stream *stream = rcb_start_stream(t->f.client, "silent", NULL, QLD_TIMEOUT, &g_silent_stream);
    CHECK_OK(snats_request_async(t->f.c, "late.echo", "pong", 4, QLD_TIMEOUT, on_reply, &g_answered));
    return stream;
}

static void check_mixed(const char *variant) {
    check_once(&g_answered);
    check_once(&g_silent_request);
    check_once(&g_silent_call);
    CHECK_EQ_INT(atomic_load(&g_silent_stream.ended), 1);
    CHECK_EQ_INT(atomic_load(&g_silent_stream.calls), 1);
    CHECK_EQ_INT(atomic_load(&g_silent_stream.after_end), 0);
    if (atomic_load(&g_silent_stream.wrong_thread) != 0) FAIL("%s: stream callback off the owner's thread", variant);
    if (atomic_load(&g_answered.status) != SNATS_OK || strcmp(g_answered.data, "pong") != 0)
        note("%s: the answered request: %s (%s)", variant, snats_status_text(g_answered.status), g_answered.error);
    if (atomic_load(&g_silent_request.status) != SNATS_TIMEOUT)
        note("%s: silent request: %s", variant, snats_status_text(g_silent_request.status));
    if (atomic_load(&g_silent_call.status) != SNATS_TIMEOUT)
        note("%s: silent call_cb: %s", variant, snats_status_text(g_silent_call.status));
    json_decref(g_silent_call.value);
    g_silent_call.value = NULL;
    if (atomic_load(&g_silent_stream.end_status) != SNATS_TIMEOUT || atomic_load(&g_silent_stream.items) != 0)
        note("%s: silent stream: %d item(s), then %s", variant, atomic_load(&g_silent_stream.items),
             snats_status_text(g_silent_stream.end_status));
    rcb_stream_free(&g_silent_stream);
}

/* Dispatches until the four calls have ended (counting as it goes), then on past that. */
static void dispatch_until_all_ended(snats_dispatch_queue *q, int64_t timeout_ms) {
    int64_t deadline = harness_now_ms() + timeout_ms;
    for (count_ended(); atomic_load(&g_all_ended) < 4; count_ended()) {
        if (harness_now_ms() > deadline) FAIL("%d of 4 calls ended after dispatching", atomic_load(&g_all_ended));
        CHECK_OK(snats_dispatch_queue_dispatch(NULL, q, 64, 5));
    }
}

/* Late: the silent calls end with SNATS_TIMEOUT at the owner's dispatch, beside an answer that
 * came in time. */
static void unanswered_late(qld *t, const char *variant) {
    int64_t started = qld_begin(t);
    snats_rpc_stream *stream = start_mixed(t);
    /* The premise waits for the one answer; nothing has run before the late dispatch. */
    qld_answered_in_time(1, started, variant);
    qld_stay_away(started);
    count_ended();
    CHECK_EQ_INT(atomic_load(&g_all_ended), 0);
    CHECK_EQ_INT(in_msgs_of(t->f.c), t->in_before); /* the echo's reply is still in the socket */
    dispatch_until_all_ended(t->q, harness_ms(10000));
    dispatch_for(t->q, harness_ms(300));
    check_mixed(variant);
    snats_rpc_stream_destroy(stream);
}

/* Dispatching all along: SNATS_TIMEOUT within about the timeout. */
static void unanswered_all_along(qld *t) {
    qld_open(t, true);
    int64_t started = qld_begin(t);
    snats_rpc_stream *stream = start_mixed(t);
    int64_t ended_at[3] = {0, 0, 0};
    int64_t deadline = started + harness_ms(10000);
    while (atomic_load(&g_silent_request.calls) == 0 || atomic_load(&g_silent_call.calls) == 0 ||
           atomic_load(&g_silent_stream.ended) == 0) {
        if (harness_now_ms() > deadline) FAIL("dispatching all along: the silent calls did not end");
        CHECK_OK(snats_dispatch_queue_dispatch(NULL, t->q, 64, 5));
        int64_t now = harness_now_ms();
        if (ended_at[0] == 0 && atomic_load(&g_silent_request.calls)) ended_at[0] = g_silent_request.at;
        if (ended_at[1] == 0 && atomic_load(&g_silent_call.calls)) ended_at[1] = g_silent_call.at;
        if (ended_at[2] == 0 && atomic_load(&g_silent_stream.ended)) ended_at[2] = now;
    }
    dispatch_until_all_ended(t->q, harness_ms(1000));
    dispatch_for(t->q, harness_ms(300));
    check_mixed("dispatching all along");
    const char *names[3] = {"request_async", "call_cb", "call_stream_cb"};
    for (int i = 0; i < 3; i++) {
        int64_t took = ended_at[i] - started;
        if (took < QLD_TIMEOUT - 20 || took > QLD_TIMEOUT + harness_ms(100))
            note("dispatching all along: silent %s ended after %lld ms (timeout %lld ms)", names[i], (long long)took,
                 (long long)QLD_TIMEOUT);
    }
    snats_rpc_stream_destroy(stream);
    qld_close(t);
}

static void queue_late_dispatch_unanswered_still_times_out(void) {
    run_late((late_case){.late = unanswered_late,
                         .after = unanswered_all_along,
                         .expected = "expected the answer, and SNATS_TIMEOUT for the silent calls"});
}

const test_case queue_late_dispatch_tests[] = {
    TEST(queue_late_dispatch_request_async_keeps_the_reply),
    TEST(queue_late_dispatch_flush_async_keeps_the_pong),
    TEST(queue_late_dispatch_rpc_call_cb_keeps_the_result),
    TEST(queue_late_dispatch_rpc_stream_cb_keeps_items_and_end),
    TEST(queue_late_dispatch_micro_ping_and_describe_cb_keep_documents),
    TEST(queue_late_dispatch_unanswered_still_times_out),
};
HARNESS_TABLE_COUNT(queue_late_dispatch);
