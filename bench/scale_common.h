/*
 * scale_common.h - what the scale benchmarks (snats_scale.c, cnats_scale.c) share beside their
 * client library: clocks, the process's own /proc/self/status, and the publisher child (the
 * same program run as `pub NSUBS COUNT SIZE URL`, so that its threads and memory are not the
 * subscriber's). Each includes it after defining SCALE_PROGRAM (its name, for messages).
 */
#ifndef SCALE_COMMON_H
#define SCALE_COMMON_H

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A "Key:   value kB" line of /proc/self/status (-1 when absent). */
static long proc_status(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    size_t klen = strlen(key);
    long value = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            value = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

/* ---------------- the publisher: a child process ---------------- */

typedef struct {
    pid_t pid;
    FILE *go;     /* its stdin: a line starts the publishing */
    FILE *answer; /* its stdout: "ready", then pub_secs */
} publisher;

/* Runs this program as `pub NSUBS COUNT SIZE URL` and waits until it is connected. */
static void start_publisher(publisher *p, char **argv) {
    int go[2], answer[2];
    if (pipe(go) != 0 || pipe(answer) != 0) {
        perror(SCALE_PROGRAM ": pipe");
        exit(2);
    }
    fflush(NULL);
    p->pid = fork();
    if (p->pid < 0) {
        perror(SCALE_PROGRAM ": fork");
        exit(2);
    }
    if (p->pid == 0) {
        dup2(go[0], 0);
        dup2(answer[1], 1);
        close(go[0]), close(go[1]), close(answer[0]), close(answer[1]);
        char *args[] = {argv[0], "pub", argv[2], argv[3], argv[4], argv[5], NULL};
        execv("/proc/self/exe", args);
        perror(SCALE_PROGRAM ": execv");
        _exit(127);
    }
    close(go[0]);
    close(answer[1]);
    p->go = fdopen(go[1], "w");
    p->answer = fdopen(answer[0], "r");
    char line[64];
    if (p->go == NULL || p->answer == NULL || fgets(line, sizeof line, p->answer) == NULL ||
        strncmp(line, "ready", 5) != 0) {
        fprintf(stderr, SCALE_PROGRAM ": the publisher did not start\n");
        exit(2);
    }
}

/* Reads the publisher's pub_secs and reaps it; -1 when it failed. */
static double finish_publisher(publisher *p) {
    char line[64];
    double secs = -1;
    if (fgets(line, sizeof line, p->answer) != NULL) secs = atof(line);
    fclose(p->answer);
    fclose(p->go);
    int status = 0;
    if (waitpid(p->pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, SCALE_PROGRAM ": the publisher failed (status %d)\n", status);
        secs = -1;
    }
    return secs;
}

#endif
