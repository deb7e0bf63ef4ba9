/*
 * harness.h - the swiftnats C test harness.
 *
 * Tests are plain `void f(void)` functions listed in one table per family file
 * (test_library.c, test_options.c, ...). The runner forks one child process per test, in its
 * own process group, so a crash, a hang or a stray nats-server cannot hide or leak into the
 * next test: a signal is reported as a failure with its name, a hang is killed after the
 * per-test timeout, and everything left in the child's group is killed afterwards.
 * Server logs of a failed test are printed by the runner.
 *
 * Usage of the built binary:
 *   snats_ctests                 run every test
 *   snats_ctests NAME...         run only the named tests; "NAME*" selects by prefix
 *   snats_ctests --list          print the test names
 * Environment:
 *   SNATS_TEST_TIMEOUT  per-test timeout in seconds (default 30)
 *   SNATS_TEST_SLOW     multiplier for waits inside tests (default 1; use e.g. 10 under valgrind)
 *   NATS_SERVER_BIN     the nats-server binary (else PATH, else /usr/sbin/nats-server)
 * The last line of output is always exactly "N passed, N failed", followed by ", N skipped"
 * when a test skipped itself (SKIP: the nats-server in use lacks a feature); the exit status
 * is 0 only when no test failed.
 *
 * Under valgrind (3.19 cannot read the Swift debug info: use a `strip --strip-debug` copy of
 * libswiftnats.so, with its .so.0 link, first in LD_LIBRARY_PATH):
 *   SNATS_TEST_SLOW=10 SNATS_TEST_TIMEOUT=300 LD_LIBRARY_PATH=<stripped dir> \
 *   valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
 *       --suppressions=Tests/c/valgrind.supp --trace-children=yes \
 *       --trace-children-skip=\*\/nats-server,\*\/sh,\*\/openssl snats_ctests
 * Each test process is checked on its own: a valgrind error makes that test fail with
 * valgrind's exit status. valgrind.supp explains its one suppression.
 */
#ifndef SNATS_HARNESS_H
#define SNATS_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <pthread.h>

#include "swiftnats.h"

/* ------------------------------------------------------------------------------------------
 * Test tables
 * ---------------------------------------------------------------------------------------- */

typedef void (*test_fn)(void);

typedef struct {
    const char *name;
    test_fn fn;
} test_case;

#define TEST(fn) { #fn, fn }

/* One table per family file; the runner concatenates them in this order. */
#define HARNESS_FAMILIES(X) \
    X(library)              \
    X(options)              \
    X(connection)           \
    X(subscription)         \
    X(request)              \
    X(message)              \
    X(headers)              \
    X(reconnect)            \
    X(security)             \
    X(micro)                \
    X(micro_cb)             \
    X(rpc)                  \
    X(rpc_cb)               \
    X(rpc_cb_loop)          \
    X(rpc_forms)            \
    X(queue_late_dispatch)  \
    X(queue_tagged)         \
    X(queue_turn)           \
    X(integrity)            \
    X(delivery)             \
    X(rpc_liveness)         \
    X(rpc_refs)             \
    X(jetstream)            \
    X(kv)                   \
    X(kv_start)             \
    X(js_consume)           \
    X(js_tagged)            \
    X(obj)                  \
    X(obj_async)

#define HARNESS_DECLARE_FAMILY(family)        \
    extern const test_case family##_tests[];  \
    extern const size_t family##_tests_count;
HARNESS_FAMILIES(HARNESS_DECLARE_FAMILY)

/* Defines family##_tests_count after a family's table. */
#define HARNESS_TABLE_COUNT(family) \
    const size_t family##_tests_count = sizeof(family##_tests) / sizeof(family##_tests[0])

/* Runs the selected tests (see the usage above) and returns the process exit status. */
int run_tests(const test_case *tests, size_t count, int argc, char **argv);

/* ------------------------------------------------------------------------------------------
 * Assertions. Each prints file:line, the expression, and snats_last_error() of the calling
 * thread, then ends the test process with status 1. They may be used on any thread of the
 * test (callbacks included); the runner reports the failure.
 * ---------------------------------------------------------------------------------------- */

_Noreturn void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define FAIL(...) harness_fail(__FILE__, __LINE__, __VA_ARGS__)

/* SKIP("why", ...): ends the test as skipped (exit status 77), for a test that the nats-server
 * in use cannot serve (see SERVER_AT_LEAST); the closing line counts it ("N skipped"). */
_Noreturn void harness_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define SKIP(...) harness_skip(__VA_ARGS__)

#define CHECK(expr)                                                      \
    do {                                                                 \
        if (!(expr)) FAIL("CHECK(%s) failed", #expr);                    \
    } while (0)

/* CHECK_STATUS(call, SNATS_X): the call returns exactly that status. */
#define CHECK_STATUS(call, expected)                                                   \
    do {                                                                               \
        snats_status h_got_ = (call);                                                  \
        snats_status h_want_ = (expected);                                             \
        if (h_got_ != h_want_)                                                         \
            FAIL("%s returned %d (%s), expected %d (%s)", #call, (int)h_got_,          \
                 snats_status_text(h_got_), (int)h_want_, snats_status_text(h_want_)); \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, SNATS_OK)

#define CHECK_EQ_INT(a, b)                                                              \
    do {                                                                                \
        long long h_a_ = (long long)(a), h_b_ = (long long)(b);                         \
        if (h_a_ != h_b_) FAIL("CHECK_EQ_INT(%s, %s) failed: %lld != %lld", #a, #b, h_a_, h_b_); \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                 \
    do {                                                                                   \
        const char *h_a_ = (a), *h_b_ = (b);                                               \
        if (h_a_ == NULL || h_b_ == NULL || strcmp(h_a_, h_b_) != 0)                       \
            FAIL("CHECK_EQ_STR(%s, %s) failed: \"%s\" != \"%s\"", #a, #b,                   \
                 h_a_ ? h_a_ : "(null)", h_b_ ? h_b_ : "(null)");                          \
    } while (0)

#define CHECK_NULL(p)                                                         \
    do {                                                                      \
        if ((p) != NULL) FAIL("CHECK_NULL(%s) failed", #p);                   \
    } while (0)

#define CHECK_NOT_NULL(p)                                                     \
    do {                                                                      \
        if ((p) == NULL) FAIL("CHECK_NOT_NULL(%s) failed", #p);               \
    } while (0)

/* ------------------------------------------------------------------------------------------
 * Time and waiting. Wait for events, never for time: CHECK_EVENTUALLY polls a condition
 * every few milliseconds until it holds or the deadline passes (then fails). Sleep only to
 * show that something does NOT happen (harness_sleep_ms).
 * ---------------------------------------------------------------------------------------- */

int64_t harness_now_ms(void);
void harness_sleep_ms(int64_t ms);
/* ms multiplied by SNATS_TEST_SLOW: use for every timeout given to the library or a wait. */
int64_t harness_ms(int64_t ms);

#define CHECK_EVENTUALLY(cond, timeout_ms)                                                   \
    do {                                                                                     \
        int64_t h_deadline_ = harness_now_ms() + harness_ms(timeout_ms);                     \
        while (!(cond)) {                                                                    \
            if (harness_now_ms() > h_deadline_)                                              \
                FAIL("CHECK_EVENTUALLY(%s) still false after %lld ms", #cond,                 \
                     (long long)harness_ms(timeout_ms));                                     \
            harness_sleep_ms(2);                                                             \
        }                                                                                    \
    } while (0)

/* Generic wait: true as soon as cond(arg) is true, false at the deadline. */
bool harness_wait_until(bool (*cond)(void *arg), void *arg, int64_t timeout_ms);

/* ------------------------------------------------------------------------------------------
 * nats-server fixture.
 * server_start(&srv) runs `nats-server -a 127.0.0.1 -p -1 --ports_file_dir <tmp>`, reads the
 * port from the ports file and fills srv.url ("nats://127.0.0.1:PORT") and srv.port. The log
 * goes to <tmp>/server.log, printed by the runner if the test fails. Failing to start fails
 * the test. server_start_args adds arguments (NULL-terminated list); server_start_config
 * writes a configuration file with the given text and passes it with -c.
 * server_stop sends SIGTERM and waits; server_kill sends SIGKILL and waits (an abrupt end).
 * ---------------------------------------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
    char dir[512];
    char log_path[600];
    char url[128];
} test_server;

void server_start(test_server *srv);
void server_start_args(test_server *srv, const char *const *extra_args);
void server_start_config(test_server *srv, const char *config_text);
void server_stop(test_server *srv);
/* SIGSTOP, then waits until every thread of the server has stopped (the signal is delivered
 * asynchronously: a thread running meanwhile could still answer). SIGCONT resumes it. */
void server_pause(test_server *srv);
void server_kill(test_server *srv);

/* The version of the nats-server the fixture runs (`nats-server --version`), as
 * major * 10000 + minor * 100 + patch (20910 for 2.9.10); 0 when it cannot tell. Debian's
 * 2.9.10 lacks some features (TLS-first needs 2.10.3): such a test starts with
 *     if (!SERVER_AT_LEAST(2, 10, 3)) SKIP("TLS-first needs nats-server 2.10.3");
 * and `make test-current-server` runs it against the current release. */
int server_version(void);
const char *server_binary_path(void);
#define SERVER_AT_LEAST(major, minor, patch) (server_version() >= (major) * 10000 + (minor) * 100 + (patch))

/* A free loopback TCP port with nothing listening on it (bound then closed). */
int harness_free_port(void);

/* The per-test scratch directory (removed by the runner after the test). */
const char *harness_test_dir(void);

/* ------------------------------------------------------------------------------------------
 * A fake NATS server for what a real one will not do: one thread, one loopback listening
 * socket, one scripted behaviour. Its url is "nats://127.0.0.1:PORT".
 * ---------------------------------------------------------------------------------------- */

typedef enum {
    FAKE_SILENT,         /* accepts TCP, never says anything */
    FAKE_GARBAGE,        /* greets with a line that is not INFO */
    FAKE_ERR_ON_CONNECT, /* INFO, then -ERR 'Something Went Wrong' after CONNECT */
    FAKE_NO_PONG,        /* completes the handshake, then never answers a PING */
    FAKE_ERR_AFTER,      /* completes the handshake, then sends -ERR 'Some Server Trouble' */
    FAKE_STATUS_ON_SUB,  /* answers each SUB with an HMSG whose header block is
                            "NATS/1.0 408 Request Timeout" + "X-Extra: 1", no payload */
    FAKE_OVERSIZE_MSG    /* completes the handshake, then announces a 999999999-byte MSG
                            (far beyond its max_payload) */
} fake_mode;

typedef struct {
    fake_mode mode;
    int listen_fd;
    int port;
    char url[64];
    atomic_bool stop;
    atomic_int accepted;
    pthread_t thread;
} fake_server;

void fake_server_start(fake_server *f, fake_mode mode);
void fake_server_stop(fake_server *f);

/* ------------------------------------------------------------------------------------------
 * Small helpers shared by the families.
 * ---------------------------------------------------------------------------------------- */

/* Connects to url and fails the test on error. */
snats_conn *connect_or_fail(const char *url);

/* Runs fn(arg) on a new thread (fails the test if it cannot); harness_join waits for it. */
void harness_spawn(pthread_t *t, void *(*fn)(void *), void *arg);
void harness_join(pthread_t t);

/* ------------------------------------------------------------------------------------------
 * Dispatch queues (harness_queue.c).
 * ---------------------------------------------------------------------------------------- */

/* Connects to url bound to queue q (reading on it with read_on_queue), with the closed
 * callback closed(closure); fails the test on error. */
snats_conn *harness_connect_on_queue(const char *url, snats_dispatch_queue *q, bool read_on_queue,
                                     snats_conn_handler closed, void *closure);

/* A closed callback that counts its calls in the atomic_int closure points to. */
void harness_count_closed(snats_conn *conn, void *closure);

/* Dispatches q (as its owner) until *counter reaches want; fails the test after 10 s. */
void harness_dispatch_until(snats_dispatch_queue *q, atomic_int *counter, int want);

#endif /* SNATS_HARNESS_H */
