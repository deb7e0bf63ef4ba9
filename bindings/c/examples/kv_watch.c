/*
 * kv_watch.c - watch a Key-Value bucket: print the current value of each key, a line once they
 * are all shown, then every change as it happens (puts, deletes, purges). Run it next to
 * another program (or the nats CLI: `nats kv put EXAMPLE color red`) and see the changes come.
 *
 * Usage:  kv_watch [URL] [BUCKET] [MODE]
 *   URL     server URL; default $NATS_URL, else nats://127.0.0.1:4222 (JetStream: nats-server -js)
 *   BUCKET  default "EXAMPLE" (created when missing, else used as it is)
 *   MODE    "demo": make a few changes itself, print them as the watch sees them, then delete
 *           the bucket and exit (use a bucket of its own: its output is then always the same);
 *           a number: watch that many seconds; default: watch until Ctrl-C
 * Prints "watching bucket B", the entries, "-- initial values done --", the changes, and in demo
 * mode "saw N changes" at the end.
 *
 * Build:  cc -o kv_watch kv_watch.c $(pkg-config --cflags --libs swiftnats) -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <swiftnats.h>

#define CHECK(call)                                                                          \
    do {                                                                                     \
        snats_status s_ = (call);                                                            \
        if (s_ != SNATS_OK) {                                                                \
            fprintf(stderr, "kv_watch: %s failed: %s (%s)\n", #call, snats_status_text(s_),  \
                    snats_last_error());                                                     \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

/* What the watch's callback shares with main(). */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int initial_done; /* the marker came */
    int changes;      /* entries after the marker */
} watch_state;

/* Runs on the library's delivery pool, one entry at a time, in order. The entry is lent for
 * the call: copy what you keep. NULL says "the current values are all shown". */
static void on_change(snats_kv_watcher *watcher, const snats_kv_entry *entry, void *closure) {
    (void)watcher;
    watch_state *st = closure;
    if (entry == NULL) {
        printf("-- initial values done --\n");
    } else {
        unsigned long long revision = (unsigned long long)snats_kv_entry_revision(entry);
        switch (snats_kv_entry_operation(entry)) {
        case SNATS_KV_PUT:
            printf("put %s = %.*s (revision %llu)\n", snats_kv_entry_key(entry), (int)snats_kv_entry_value_len(entry),
                   snats_kv_entry_value(entry) ? (const char *)snats_kv_entry_value(entry) : "", revision);
            break;
        case SNATS_KV_DELETE:
            printf("delete %s (revision %llu)\n", snats_kv_entry_key(entry), revision);
            break;
        default:
            printf("purge %s (revision %llu)\n", snats_kv_entry_key(entry), revision);
            break;
        }
    }
    fflush(stdout);
    pthread_mutex_lock(&st->mu);
    if (entry == NULL) st->initial_done = 1;
    else if (st->initial_done) st->changes++;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

/* Waits until the marker came and at least `changes` changes after it, or `ms` passed. */
static int wait_for(watch_state *st, int changes, int ms) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&st->mu);
    while (!(st->initial_done && st->changes >= changes)) {
        if (pthread_cond_timedwait(&st->cv, &st->mu, &deadline) != 0) break;
    }
    int ok = st->initial_done && st->changes >= changes;
    pthread_mutex_unlock(&st->mu);
    return ok;
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("NATS_URL");
    if (url == NULL || url[0] == '\0') url = "nats://127.0.0.1:4222";
    const char *bucket = argc > 2 ? argv[2] : "EXAMPLE";
    const char *mode = argc > 3 ? argv[3] : "";
    int demo = strcmp(mode, "demo") == 0;
    int seconds = demo || mode[0] == '\0' ? 0 : atoi(mode);
    if (!demo && mode[0] != '\0' && seconds <= 0) {
        fprintf(stderr, "usage: kv_watch [URL] [BUCKET] [demo | SECONDS>0]\n");
        return 2;
    }

    snats_conn *conn = NULL;
    CHECK(snats_conn_connect_to(&conn, url));
    snats_jetstream *js = NULL;
    CHECK(snats_jetstream_create(&js, conn, NULL));

    /* Create the bucket (5 revisions kept per key), or take it as it is when it exists with
     * another configuration (err_code 10058). */
    json_t *config = json_pack("{s:i}", "history", 5);
    snats_kv *kv = NULL;
    snats_status s = snats_kv_bucket_create(&kv, js, bucket, config);
    json_decref(config);
    if (s == SNATS_JS_API_ERROR) s = snats_kv_bucket_bind(&kv, js, bucket);
    if (s == SNATS_JS_NOT_ENABLED) {
        fprintf(stderr, "kv_watch: the server has no JetStream (start nats-server with -js)\n");
        return 1;
    }
    if (s != SNATS_OK) {
        fprintf(stderr, "kv_watch: bucket %s: %s (%s)\n", bucket, snats_status_text(s), snats_last_error());
        return 1;
    }

    /* Every key (NULL: ">"); the options could narrow it: {"keys": ["color", "size.*"]},
     * {"updates_only": true}, {"include_history": true}, {"ignore_deletes": true}. */
    watch_state st = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    printf("watching bucket %s\n", bucket);
    fflush(stdout);
    snats_kv_watcher *watcher = NULL;
    CHECK(snats_kv_watch(&watcher, kv, NULL, NULL, on_change, &st));

    int status = 0;
    if (demo) {
        /* The current values first, then our changes, which the callback prints. */
        if (!wait_for(&st, 0, 10000)) {
            fprintf(stderr, "kv_watch: the initial values never ended\n");
            return 1;
        }
        uint64_t revision = 0;
        CHECK(snats_kv_put(&revision, kv, "color", "red", 3));
        CHECK(snats_kv_update(NULL, kv, "color", "blue", 4, revision)); /* only if still `red` */
        CHECK(snats_kv_create(NULL, kv, "size", "L", 1));               /* only if it has no value */
        CHECK(snats_kv_delete(kv, "color", 0));                          /* its history stays */
        CHECK(snats_kv_purge(kv, "size", 0));                            /* its history goes */
        const int made = 5;
        if (!wait_for(&st, made, 10000)) {
            fprintf(stderr, "kv_watch: the watch saw %d of the %d changes\n", st.changes, made);
            status = 1;
        }
        snats_kv_watcher_destroy(watcher); /* no callback runs after this */
        watcher = NULL;
        printf("saw %d changes\n", st.changes);
        CHECK(snats_kv_bucket_delete(js, bucket));
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        struct timespec tick = {0, 100 * 1000000L};
        for (int ticks = 0; !g_stop && (seconds == 0 || ticks < seconds * 10); ticks++) nanosleep(&tick, NULL);
    }

    snats_kv_watcher_destroy(watcher);
    snats_kv_destroy(kv);
    snats_jetstream_destroy(js);
    snats_conn_destroy(conn);
    return status;
}
