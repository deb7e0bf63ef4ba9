/*
 * rpc_cb.h - What test_rpc_cb.c (which defines it all) shares with test_rpc_cb_loop.c,
 * test_queue_late_dispatch.c and test_rpc.c: a "calc" RPC server with streaming, plain,
 * failing and silent methods, and recorders for the callbacks of
 * snats_rpc_client_call_stream_cb() and snats_rpc_client_describe_cb().
 */
#ifndef SNATS_RPC_CB_H
#define SNATS_RPC_CB_H

#include "harness.h"

#include <jansson.h>

/* A nats-server; the "calc" server on conn s with the methods count ([n]: streams 0 .. n-1;
 * n < 0: two items, then an error), ticker ([n, interval_ms]: one item per interval),
 * whoami ("calc"), nothing (null), crash (an error); a subscriber of rpc.calc.silent that never
 * answers (on s); a client of "calc" on conn c (s itself for rcb_calc_up). */
typedef struct {
    test_server srv;
    snats_conn *s, *c;
    snats_rpc_server *server;
    snats_sub *silent;
    snats_rpc_client *client;
} rcb_fixture;

void rcb_server_up(rcb_fixture *f); /* all but c and client */
void rcb_calc_up(rcb_fixture *f);
void rcb_calc_down(rcb_fixture *f); /* destroys c unless it is s, and client (may be NULL) */
void rcb_whoami(snats_rpc_request *req, const json_t *params, void *closure);
/* The items of a counting method (params [n]): 0 .. n-1; for n < 0, 0 and 1, then the call
 * fails ("generator failed"). Returns true when the caller is to end the call. */
bool rcb_send_count(snats_rpc_request *req, const json_t *params);

/* Records the calls of a stream's callback (on_stream). */
typedef struct {
    atomic_int calls;       /* every call */
    atomic_int items;       /* SNATS_OK with an item */
    atomic_int ended;       /* the last call came */
    atomic_int after_end;   /* calls after the last: must stay 0 */
    atomic_int inside;      /* calls running now */
    atomic_int overlapping; /* calls that overlapped another: must stay 0 */
    atomic_int bad_args;    /* result/error not as documented: must stay 0 */
    atomic_int wrong_thread;
    _Atomic snats_status end_status;
    json_t *values;         /* deep copies of the items, in order */
    json_t *error;          /* deep copy of the error object of SNATS_RPC_ERROR */
    char message[256];      /* snats_last_error() at another failure */
    bool check_owner;       /* every call on owner (a dispatch queue's) */
    pthread_t owner;
    _Atomic(snats_rpc_stream *) destroy_me; /* destroyed from the callback... */
    int destroy_after;                      /* ...at the first item from this many on */
    atomic_int destroyed_at;                /* calls when it was destroyed there (0: not yet) */
} rcb_stream_state;

void rcb_stream_init(rcb_stream_state *st);
/* rcb_stream_init, and every call must run on this thread (a dispatch queue's owner). */
void rcb_stream_init_owned(rcb_stream_state *st);
void rcb_stream_free(rcb_stream_state *st);
void rcb_on_stream(snats_status status, const json_t *result, const json_t *error, void *closure);
/* The end has come (within timeout_ms), and nothing follows it. */
void rcb_stream_wait_end(rcb_stream_state *st, int64_t timeout_ms);
/* The items were 0 .. n-1, in order. */
void rcb_check_counted(const rcb_stream_state *st, int n);
/* Starts a stream of method with params given as JSON text (NULL: none); fails the test
 * unless SNATS_OK with a stream. */
snats_rpc_stream *rcb_start_stream(snats_rpc_client *client, const char *method, const char *params_json,
                                   int64_t timeout_ms, rcb_stream_state *st);

/* Records the one call of a snats_json_handler (rcb_on_described). */
typedef struct {
    atomic_int calls;
    _Atomic snats_status status;
    json_t *value; /* a deep copy */
    bool check_owner;
    pthread_t owner;
    atomic_int wrong_thread;
} rcb_describe_state;

/* Zeroed, and the call must run on this thread (a dispatch queue's owner). */
void rcb_describe_init_owned(rcb_describe_state *st);
void rcb_on_described(snats_status status, const json_t *value, void *closure);

#endif /* SNATS_RPC_CB_H */
