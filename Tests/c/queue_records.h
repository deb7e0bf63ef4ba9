/*
 * queue_records.h - What test_queue_tagged.c and test_queue_turn.c share: the records of a
 * batch, a connection bound to a dispatch queue with its responders, the failure callback of
 * snats_request_tagged(), and the owner's step (queue_records.c).
 *
 * Every case runs on a connection bound to a dispatch queue twice: read by the library's
 * reader (the default), and read by the queue's owner
 * (snats_options_set_read_on_dispatch_queue(opts, true)). The responders live on another,
 * normally served connection (the delivery pool). The test's thread is the queue's owner
 * (g_owner); every callback of the queue must run there.
 *
 * Records are parsed as snats_dispatch_queue_next_msgs() documents them: a native-endian
 * uint64_t tag, four native uint32_t lengths (subject, reply, header block, payload), then
 * those bytes; the records of a call fill exactly *used bytes.
 */
#ifndef SNATS_QUEUE_RECORDS_H
#define SNATS_QUEUE_RECORDS_H

#include "harness.h"

#define SUB_TAG 7u           /* the batch subscription qt.msgs on the queue-bound connection */
#define TAG_A 0xDEADBEEF00000001ull
#define MAX_RECS 1024

extern const char *const read_names[2]; /* "library reads", "owner reads" */

typedef enum { VIA_NEXT_MSGS, VIA_TURN } via;
extern const char *const via_names[2];

/* SNATS_INVALID_ARG, with a message saying why. */
#define CHECK_INVALID(call)                                              \
    do {                                                                 \
        CHECK_STATUS(call, SNATS_INVALID_ARG);                           \
        CHECK(snats_last_error() != NULL && snats_last_error()[0] != 0); \
    } while (0)

/* ---- records ---- */

typedef struct {
    uint64_t tag;
    const char *subject, *reply, *hdr, *data;
    uint32_t subject_len, reply_len, hdr_len, data_len;
} rec;

extern unsigned char g_buf[1 << 20];
extern rec g_recs[MAX_RECS];

/* Parses @p count records that must fill exactly @p used bytes of @p buf into g_recs. */
void parse_batch(const unsigned char *buf, size_t used, size_t count);
/* The header block is well formed and has the line "Key: value". */
bool hdr_has(const rec *r, const char *line);
/* A tagged request's reply: on an inbox subject, no reply subject, the responder's header. */
void check_reply_rec(const rec *r, uint64_t tag, const char *data);
/* A message of the batch subscription (SUB_TAG): no reply subject, no headers. */
void check_sub_rec(const rec *r, const char *subject, const char *data);

/* ---- fixture ---- */

extern pthread_t g_owner;
extern atomic_int g_echoes; /* requests qt.echo answered */
extern atomic_int g_silent; /* requests qt.silent swallowed */

typedef struct {
    test_server srv;
    bool read;
    snats_dispatch_queue *q;
    int qfd;
    snats_conn *c;      /* bound to q (reads on it with read) */
    snats_conn *p;      /* plain: responders and publisher */
    snats_sub *echo;    /* qt.echo on p: answers "re:" + the payload, X-Resp: yes, X-Echo: X-Req */
    snats_sub *silent;  /* qt.silent on p: never answers */
    snats_sub *msgs;    /* qt.msgs on c: a batch subscription, tag SUB_TAG */
} qt;

/* Starts it all; this thread becomes the queue's owner (g_owner). */
void qt_up(qt *t, bool read);
/* Destroys c (its closed callback must run once, on the owner), then the rest. */
void qt_down(qt *t);
int queue_pending(snats_dispatch_queue *q);
/* poll() for POLLIN: 1 when readable within @p timeout_ms, 0 when not. */
int fd_ready(int fd, int timeout_ms);
/* One turn that must find nothing at all. */
void turn_empty(snats_dispatch_queue *q);
/* Everything published so far by p has been read off c's socket and queued. */
void settle(qt *t);
/* Turns until c's closed callback ran; nothing else may come. */
void wait_closed(qt *t);
void publish_text(snats_conn *c, const char *subject, const char *text);

/* ---- the failure callback of snats_request_tagged() ---- */

typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    atomic_int bad; /* a reply with the failure, the wrong connection, or off the owner */
    int64_t at;
    snats_conn *conn;
    char error[256];
} fail_rec;

void fail_init(fail_rec *f, snats_conn *conn);
void on_fail(snats_conn *conn, snats_status status, snats_msg *reply, void *closure);
void check_no_failure(const fail_rec *f, const char *what);

/* ---- the owner's step ---- */

/* Waits up to @p wait_ms for the descriptor, then one step of the owner: a turn, or a dispatch
 * then a next_msgs (neither waiting). The records land in g_recs; returns how many. */
size_t qt_step(qt *t, via v, int wait_ms, int *ran);
/* Steps for @p ms: nothing may come (no record, no failure). */
void step_nothing_for(qt *t, via v, int64_t ms, const fail_rec *f, const char *what);
/* Steps until the failure callback ran (no record may come meanwhile). */
void step_until_failed(qt *t, via v, fail_rec *f, int64_t timeout_ms, const char *what);

#endif /* SNATS_QUEUE_RECORDS_H */
