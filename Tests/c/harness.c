/*
 * harness.c - runner, assertions, waits and the nats-server fixture (see harness.h).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------
 * Time
 * ---------------------------------------------------------------------------------------- */

int64_t harness_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int slow_factor(void) {
    static int factor = 0;
    if (factor == 0) {
        const char *env = getenv("SNATS_TEST_SLOW");
        int f = env ? atoi(env) : 1;
        factor = f > 0 ? f : 1;
    }
    return factor;
}

int64_t harness_ms(int64_t ms) { return ms * slow_factor(); }

bool harness_wait_until(bool (*cond)(void *arg), void *arg, int64_t timeout_ms) {
    int64_t deadline = harness_now_ms() + harness_ms(timeout_ms);
    while (!cond(arg)) {
        if (harness_now_ms() > deadline) return cond(arg);
        harness_sleep_ms(2);
    }
    return true;
}

/* ------------------------------------------------------------------------------------------
 * Failure (runs in the test's child process)
 * ---------------------------------------------------------------------------------------- */

static char g_test_dir[400];

const char *harness_test_dir(void) { return g_test_dir; }

void harness_fail(const char *file, int line, const char *fmt, ...) {
    /* snats_last_error() first: nothing below may overwrite it. */
    const char *last = snats_last_error();
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fprintf(stdout, "    %s:%d: %s\n    snats_last_error(): \"%s\"\n", file, line, message,
            last ? last : "(null)");
    fflush(stdout);
    fflush(stderr);
    /* The runner kills the rest of the process group (servers included). */
    _exit(1);
}

/* Exit status of a skipped test (automake's). */
#define HARNESS_SKIPPED 77

void harness_skip(const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fprintf(stdout, "    skipped: %s\n", message);
    fflush(stdout);
    fflush(stderr);
    _exit(HARNESS_SKIPPED);
}

/* ------------------------------------------------------------------------------------------
 * Threads
 * ---------------------------------------------------------------------------------------- */

void harness_spawn(pthread_t *t, void *(*fn)(void *), void *arg) {
    int rc = pthread_create(t, NULL, fn, arg);
    if (rc != 0) FAIL("pthread_create: %s", strerror(rc));
}

void harness_join(pthread_t t) {
    int rc = pthread_join(t, NULL);
    if (rc != 0) FAIL("pthread_join: %s", strerror(rc));
}

snats_conn *connect_or_fail(const char *url) {
    snats_conn *conn = NULL;
    snats_status s = snats_conn_connect_to(&conn, url);
    if (s != SNATS_OK) FAIL("snats_conn_connect_to(%s) returned %s", url, snats_status_text(s));
    CHECK_NOT_NULL(conn);
    return conn;
}

/* ------------------------------------------------------------------------------------------
 * nats-server fixture
 * ---------------------------------------------------------------------------------------- */

static const char *server_binary(void) {
    static char found[1024];
    const char *env = getenv("NATS_SERVER_BIN");
    if (env != NULL && env[0] != '\0') return env;
    const char *path = getenv("PATH");
    if (path != NULL) {
        const char *p = path;
        while (*p) {
            const char *end = strchr(p, ':');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            if (n > 0 && n < sizeof found - 16) {
                snprintf(found, sizeof found, "%.*s/nats-server", (int)n, p);
                if (access(found, X_OK) == 0) return found;
            }
            if (!end) break;
            p = end + 1;
        }
    }
    return "/usr/sbin/nats-server";
}

const char *server_binary_path(void) { return server_binary(); }

/* Runs `nats-server --version` once ("nats-server: v2.9.10") and remembers the answer. */
int server_version(void) {
    static int version = -1;
    if (version >= 0) return version;
    version = 0;
    int fds[2];
    if (pipe(fds) != 0) return version;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return version;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        const char *binary = server_binary();
        execl(binary, binary, "--version", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[256];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fds[0], out + used, sizeof out - 1 - used);
        if (n > 0) used += (size_t)n;
        if (n == 0 || used == sizeof out - 1 || (n < 0 && errno != EINTR)) break;
    }
    out[used] = '\0';
    close(fds[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    int major, minor, patch;
    const char *v = strstr(out, " v");
    if (v != NULL && sscanf(v + 2, "%d.%d.%d", &major, &minor, &patch) == 3)
        version = major * 10000 + minor * 100 + patch;
    return version;
}

/* Reads the first "nats" URL of a ports file; returns the port or 0. */
static int read_ports_file(const char *dir, char *url, size_t url_cap) {
    DIR *d = opendir(dir);
    if (d == NULL) return 0;
    int port = 0;
    struct dirent *e;
    while (port == 0 && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 6, ".ports") != 0) continue;
        char file[1200];
        snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
        json_error_t err;
        json_t *root = json_load_file(file, 0, &err);
        if (root == NULL) continue; /* not completely written yet */
        json_t *nats = json_object_get(root, "nats");
        const char *first = json_string_value(json_array_get(nats, 0));
        if (first != NULL) {
            const char *colon = strrchr(first, ':');
            if (colon != NULL) {
                port = atoi(colon + 1);
                snprintf(url, url_cap, "%s", first);
            }
        }
        json_decref(root);
    }
    closedir(d);
    return port;
}

#define MAX_SERVERS 16
static test_server *g_servers[MAX_SERVERS];

static void register_server(test_server *srv, bool add) {
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (add && g_servers[i] == NULL) {
            g_servers[i] = srv;
            return;
        }
        if (!add && g_servers[i] == srv) {
            g_servers[i] = NULL;
            return;
        }
    }
}

static void server_start_full(test_server *srv, const char *const *extra_args,
                              const char *config_text) {
    memset(srv, 0, sizeof *srv);
    snprintf(srv->dir, sizeof srv->dir, "%s/server_XXXXXX", g_test_dir[0] ? g_test_dir : "/tmp");
    if (mkdtemp(srv->dir) == NULL) FAIL("mkdtemp(%s): %s", srv->dir, strerror(errno));
    snprintf(srv->log_path, sizeof srv->log_path, "%s/server.log", srv->dir);

    char config_path[700] = "";
    if (config_text != NULL) {
        snprintf(config_path, sizeof config_path, "%s/server.conf", srv->dir);
        FILE *f = fopen(config_path, "w");
        if (f == NULL) FAIL("fopen(%s): %s", config_path, strerror(errno));
        fputs(config_text, f);
        fclose(f);
    }

    const char *argv[64];
    int argc = 0;
    argv[argc++] = server_binary();
    argv[argc++] = "-a";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "-p";
    argv[argc++] = "-1";
    argv[argc++] = "--ports_file_dir";
    argv[argc++] = srv->dir;
    if (config_text != NULL) {
        argv[argc++] = "-c";
        argv[argc++] = config_path;
    }
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL && argc < 62; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;

    int log_fd = open(srv->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) FAIL("open(%s): %s", srv->log_path, strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "execv(%s): %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(log_fd);
    srv->pid = pid;
    register_server(srv, true);

    int64_t deadline = harness_now_ms() + harness_ms(10000);
    for (;;) {
        srv->port = read_ports_file(srv->dir, srv->url, sizeof srv->url);
        if (srv->port > 0) break;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            srv->pid = 0;
            register_server(srv, false);
            FAIL("nats-server (%s) exited during start-up; see %s", argv[0], srv->log_path);
        }
        if (harness_now_ms() > deadline) FAIL("nats-server did not write its ports file in %s", srv->dir);
        harness_sleep_ms(5);
    }
    /* The ports file names the address the server listens on; use our own canonical form. */
    snprintf(srv->url, sizeof srv->url, "nats://127.0.0.1:%d", srv->port);
}

void server_start(test_server *srv) { server_start_full(srv, NULL, NULL); }

void server_start_args(test_server *srv, const char *const *extra_args) {
    server_start_full(srv, extra_args, NULL);
}

void server_start_config(test_server *srv, const char *config_text) {
    server_start_full(srv, NULL, config_text);
}

static void server_end(test_server *srv, int sig) {
    if (srv->pid <= 0) return;
    kill(srv->pid, sig);
    int64_t deadline = harness_now_ms() + 5000;
    int status;
    while (waitpid(srv->pid, &status, WNOHANG) == 0) {
        if (harness_now_ms() > deadline) {
            kill(srv->pid, SIGKILL);
            waitpid(srv->pid, &status, 0);
            break;
        }
        harness_sleep_ms(2);
    }
    srv->pid = 0;
    register_server(srv, false);
}

void server_stop(test_server *srv) { server_end(srv, SIGTERM); }

void server_kill(test_server *srv) { server_end(srv, SIGKILL); }

/* Whether every thread of @p pid is stopped ('T' or 't' in /proc/<pid>/task/<tid>/stat). */
static bool all_threads_stopped(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *dir = opendir(path);
    if (dir == NULL) return true; /* gone */
    bool stopped = true;
    struct dirent *entry;
    while (stopped && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char stat_path[400], text[512];
        snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, entry->d_name);
        FILE *file = fopen(stat_path, "r");
        if (file == NULL) continue; /* a thread that ended */
        size_t n = fread(text, 1, sizeof text - 1, file);
        fclose(file);
        text[n] = 0;
        const char *close = strrchr(text, ')');
        if (close != NULL && close[1] == ' ' && close[2] != 'T' && close[2] != 't') stopped = false;
    }
    closedir(dir);
    return stopped;
}

void server_pause(test_server *srv) {
    if (kill(srv->pid, SIGSTOP) != 0) FAIL("SIGSTOP to nats-server: %s", strerror(errno));
    int64_t deadline = harness_now_ms() + 5000;
    while (!all_threads_stopped(srv->pid)) {
        if (harness_now_ms() > deadline) FAIL("nats-server's threads did not all stop within 5 s");
        harness_sleep_ms(2);
    }
}

int harness_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) FAIL("socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        FAIL("bind: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

/* ------------------------------------------------------------------------------------------
 * Fake server
 * ---------------------------------------------------------------------------------------- */

static void write_all(int fd, const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void fake_client(fake_server *f, int fd) {
    char info[512];
    snprintf(info, sizeof info,
             "INFO {\"server_id\":\"FAKESERVER\",\"server_name\":\"fake\",\"version\":\"2.9.10\","
             "\"proto\":1,\"go\":\"go1.19\",\"host\":\"127.0.0.1\",\"port\":%d,\"headers\":true,"
             "\"max_payload\":1048576}\r\n",
             f->port);
    if (f->mode == FAKE_GARBAGE) write_all(fd, "HELLO THERE, I AM NOT NATS\r\n");
    if (f->mode != FAKE_SILENT && f->mode != FAKE_GARBAGE) write_all(fd, info);
    static char buf[1 << 16];
    size_t have = 0;
    int pongs = 0;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) return;
        have += (size_t)r;
        buf[have] = '\0';
        char *line = buf, *end;
        while ((end = strstr(line, "\r\n")) != NULL) {
            *end = '\0';
            if (strncmp(line, "CONNECT", 7) == 0 && f->mode == FAKE_ERR_ON_CONNECT) {
                write_all(fd, "-ERR 'Something Went Wrong'\r\n");
            } else if (strcmp(line, "PING") == 0 && f->mode != FAKE_ERR_ON_CONNECT) {
                if (f->mode != FAKE_NO_PONG || pongs == 0) {
                    write_all(fd, "PONG\r\n");
                    pongs++;
                    if (f->mode == FAKE_ERR_AFTER && pongs == 1)
                        write_all(fd, "-ERR 'Some Server Trouble'\r\n");
                    if (f->mode == FAKE_OVERSIZE_MSG && pongs == 1)
                        write_all(fd, "MSG big 1 999999999\r\n");
                }
            } else if (strncmp(line, "SUB ", 4) == 0 && f->mode == FAKE_STATUS_ON_SUB) {
                char subject[256], sid[64], extra[64];
                int n = sscanf(line + 4, "%255s %63s %63s", subject, sid, extra);
                const char *sid_p = n == 3 ? extra : sid; /* SUB subject [queue] sid */
                if (n >= 2) {
                    const char *hdr = "NATS/1.0 408 Request Timeout\r\nX-Extra: 1\r\n\r\n";
                    char msg[700];
                    snprintf(msg, sizeof msg, "HMSG %s %s %zu %zu\r\n%s\r\n", subject, sid_p, strlen(hdr),
                             strlen(hdr), hdr);
                    write_all(fd, msg);
                }
            }
            line = end + 2;
        }
        have = strlen(line);
        memmove(buf, line, have);
        if (have > sizeof buf / 2) have = 0; /* a huge line: forget it */
    }
}

static void *fake_run(void *arg) {
    fake_server *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0) continue;
        atomic_fetch_add(&f->accepted, 1);
        fake_client(f, fd);
        close(fd);
    }
    return NULL;
}

void fake_server_start(fake_server *f, fake_mode mode) {
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(f->listen_fd >= 0);
    int one = 1;
    setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK(bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(f->listen_fd, 8) == 0);
    CHECK(getsockname(f->listen_fd, (struct sockaddr *)&a, &len) == 0);
    f->port = ntohs(a.sin_port);
    snprintf(f->url, sizeof f->url, "nats://127.0.0.1:%d", f->port);
    harness_spawn(&f->thread, fake_run, f);
}

void fake_server_stop(fake_server *f) {
    atomic_store(&f->stop, true);
    harness_join(f->thread);
    close(f->listen_fd);
}

/* ------------------------------------------------------------------------------------------
 * Runner (the parent process)
 * ---------------------------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int print_log(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)ftw;
    size_t n = strlen(path);
    if (flag != FTW_F || n < 4 || strcmp(path + n - 4, ".log") != 0) return 0;
    printf("    ---- %s (%lld bytes) ----\n", path, (long long)sb->st_size);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        char line[4096];
        while (fgets(line, sizeof line, f) != NULL) printf("    | %s", line);
        fclose(f);
    }
    printf("    ---- end of log ----\n");
    return 0;
}

static bool selected(const char *name, int argc, char **argv) {
    if (argc <= 1) return true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t n = strlen(a);
        if (n > 0 && a[n - 1] == '*') {
            if (strncmp(name, a, n - 1) == 0) return true;
        } else if (strcmp(name, a) == 0) {
            return true;
        }
    }
    return false;
}

static int test_timeout_s(void) {
    const char *env = getenv("SNATS_TEST_TIMEOUT");
    int t = env ? atoi(env) : 30;
    return t > 0 ? t : 30;
}

typedef enum { RESULT_PASSED, RESULT_FAILED, RESULT_SKIPPED } test_result;

/* Runs one test in a child process. */
static test_result run_one(const test_case *t) {
    char dir[300];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%.150s/snats_ctest_%.100s_XXXXXX", tmp && tmp[0] ? tmp : "/tmp", t->name);
    if (mkdtemp(dir) == NULL) {
        printf("FAIL %s: mkdtemp: %s\n", t->name, strerror(errno));
        return RESULT_FAILED;
    }
    fflush(stdout);
    fflush(stderr);
    int64_t start = harness_now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL %s: fork: %s\n", t->name, strerror(errno));
        return RESULT_FAILED;
    }
    if (pid == 0) {
        setpgid(0, 0);
        snprintf(g_test_dir, sizeof g_test_dir, "%s", dir);
        t->fn();
        for (int i = 0; i < MAX_SERVERS; i++)
            if (g_servers[i] != NULL) server_stop(g_servers[i]);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    setpgid(pid, pid); /* also done by the child: whichever runs first */

    int64_t deadline = start + (int64_t)test_timeout_s() * 1000;
    int status = 0;
    bool timed_out = false;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) break;
        if (harness_now_ms() > deadline) {
            timed_out = true;
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        harness_sleep_ms(5);
    }
    /* Whatever the test left behind in its group (a nats-server after a crash) goes too. As a
     * child subreaper we inherit those orphans and reap them here. */
    kill(-pid, SIGKILL);
    int64_t reap_deadline = harness_now_ms() + 5000;
    for (;;) {
        pid_t r = waitpid(-pid, NULL, WNOHANG);
        if (r < 0 || harness_now_ms() > reap_deadline) break; /* ECHILD: none left */
        if (r == 0) harness_sleep_ms(2);
    }
    int64_t elapsed = harness_now_ms() - start;

    bool passed = false, skipped = false;
    char why[256];
    if (timed_out) {
        snprintf(why, sizeof why, "timed out after %d s (killed)", test_timeout_s());
    } else if (WIFSIGNALED(status)) {
        snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == HARNESS_SKIPPED) {
        skipped = true;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(status));
    } else {
        passed = true;
    }
    if (passed) {
        printf("ok   %s (%.2f s)\n", t->name, elapsed / 1000.0);
    } else if (skipped) {
        printf("skip %s (%.2f s)\n", t->name, elapsed / 1000.0);
    } else {
        nftw(dir, print_log, 8, FTW_PHYS);
        printf("FAIL %s: %s (%.2f s)\n", t->name, why, elapsed / 1000.0);
    }
    fflush(stdout);
    /* Servers may still be writing for an instant after SIGKILL was sent: reap them first. */
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return passed ? RESULT_PASSED : skipped ? RESULT_SKIPPED : RESULT_FAILED;
}

int run_tests(const test_case *tests, size_t count, int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < count; i++) printf("%s\n", tests[i].name);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        bool any = false;
        for (size_t k = 0; k < count && !any; k++) {
            char *one[2] = {argv[0], argv[i]};
            any = selected(tests[k].name, 2, one);
        }
        if (!any) {
            fprintf(stderr, "no test matches \"%s\" (see --list)\n", argv[i]);
            printf("0 passed, 1 failed\n");
            return 2;
        }
    }
    /* Orphaned grandchildren (a server whose test process crashed) become our children. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);

    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < count; i++) {
        if (!selected(tests[i].name, argc, argv)) continue;
        switch (run_one(&tests[i])) {
        case RESULT_PASSED: passed++; break;
        case RESULT_SKIPPED: skipped++; break;
        case RESULT_FAILED: failed++; break;
        }
    }
    if (skipped > 0)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------
 * main: every family's table, in HARNESS_FAMILIES order.
 * ---------------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    size_t total = 0;
#define HARNESS_COUNT(family) total += family##_tests_count;
    HARNESS_FAMILIES(HARNESS_COUNT)
    test_case *all = calloc(total ? total : 1, sizeof *all);
    if (all == NULL) return 2;
    size_t n = 0;
#define HARNESS_APPEND(family)                                    \
    for (size_t i = 0; i < family##_tests_count; i++) all[n++] = family##_tests[i];
    HARNESS_FAMILIES(HARNESS_APPEND)
    int rc = run_tests(all, n, argc, argv);
    free(all);
    return rc;
}
