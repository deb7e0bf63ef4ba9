#!/usr/bin/env bash
# run_all.sh URL [BINDIR] - builds (if needed) and runs every C example against a server.
#
#   URL     a running nats-server, e.g. nats://127.0.0.1:4222; the JetStream examples
#           (js_producer, js_worker, kv_watch) need it started with -js
#   BINDIR  where the example binaries are, or go when built (default: a temporary directory)
#
# Build flags: $SNATS_CFLAGS / $SNATS_LIBS when set, else `pkg-config --cflags/--libs swiftnats`;
# dispatch_libuv adds `pkg-config --cflags --libs libuv` (Debian: libuv1-dev).
# CC defaults to cc. Every step has a time limit, so the script always terminates; it exits
# non-zero when any example fails.
set -u

url=${1:?usage: run_all.sh URL [BINDIR]}
here=$(cd "$(dirname "$0")" && pwd)
examples="pub sub request reply headers demo micro_service rpc_server rpc_client dispatch_epoll dispatch_libuv js_producer js_worker kv_watch"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snats_examples.XXXXXX")
cleanup() {
    # Only the background examples this script started.
    for pid in ${bg_pids:-}; do kill "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
bindir=${2:-$tmp/bin}
mkdir -p "$bindir"

# ---- build what is missing ----
need_build=0
for e in $examples; do [ -x "$bindir/$e" ] || need_build=1; done
if [ "$need_build" = 1 ]; then
    cflags=${SNATS_CFLAGS-$(pkg-config --cflags swiftnats 2>/dev/null)}
    libs=${SNATS_LIBS-$(pkg-config --libs swiftnats 2>/dev/null)}
    if [ -z "$libs" ]; then
        echo "run_all.sh: set SNATS_CFLAGS/SNATS_LIBS or install swiftnats.pc for pkg-config" >&2
        exit 2
    fi
    for e in $examples; do
        extra=""
        if [ "$e" = dispatch_libuv ]; then
            if ! extra=$(pkg-config --cflags --libs libuv 2>/dev/null); then
                echo "run_all.sh: dispatch_libuv needs libuv (pkg-config libuv; Debian: libuv1-dev)" >&2
                exit 2
            fi
        fi
        # shellcheck disable=SC2086
        if ! ${CC:-cc} -std=c11 -Wall -Wextra -O2 -o "$bindir/$e" "$here/$e.c" $cflags $libs $extra -lpthread; then
            echo "run_all.sh: building $e failed" >&2
            exit 1
        fi
    done
fi

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok:   $*"; }

# Waits until file $1 has a line starting with "ready" while process $2 lives (10 s at most).
wait_ready() {
    local i
    for i in $(seq 1 200); do
        grep -q '^ready' "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

subject_suffix=$$
limit="timeout 60"
command -v timeout >/dev/null || limit=""

# ---- sub + pub: sub waits for 5 messages, pub sends them ----
echo "== sub + pub"
$limit "$bindir/sub" "$url" "examples.pub.$subject_suffix" 5 20 >"$tmp/sub.out" 2>&1 &
sub_pid=$!
bg_pids="$sub_pid"
if wait_ready "$tmp/sub.out" "$sub_pid"; then
    if $limit "$bindir/pub" "$url" "examples.pub.$subject_suffix" 5; then ok "pub"; else fail "pub"; fi
    if wait "$sub_pid"; then ok "sub"; else fail "sub (exit $?)"; fi
    bg_pids=""
else
    fail "sub never became ready"
fi
cat "$tmp/sub.out"

# ---- reply + request: reply answers 3 requests, request sends 3 ----
echo "== reply + request"
$limit "$bindir/reply" "$url" "examples.echo.$subject_suffix" 3 20 >"$tmp/reply.out" 2>&1 &
reply_pid=$!
bg_pids="${bg_pids:-} $reply_pid"
if wait_ready "$tmp/reply.out" "$reply_pid"; then
    if $limit "$bindir/request" "$url" "examples.echo.$subject_suffix" 3 "hello"; then ok "request"; else fail "request"; fi
    if wait "$reply_pid"; then ok "reply"; else fail "reply (exit $?)"; fi
    bg_pids=""
else
    fail "reply never became ready"
fi
cat "$tmp/reply.out"

# ---- request with nobody listening must fail (SNATS_NO_RESPONDERS) ----
echo "== request without a responder (expected to fail)"
if $limit "$bindir/request" "$url" "examples.nobody.$subject_suffix" 1 2>"$tmp/noresp.err"; then
    fail "request without a responder succeeded"
elif grep -q SNATS_NO_RESPONDERS "$tmp/noresp.err"; then
    ok "request without a responder: SNATS_NO_RESPONDERS"
else
    fail "request without a responder: $(cat "$tmp/noresp.err")"
fi

# ---- headers, demo: self-contained ----
echo "== headers"
if $limit "$bindir/headers" "$url" "examples.headers.$subject_suffix"; then ok "headers"; else fail "headers"; fi
echo "== demo"
if $limit "$bindir/demo" "$url"; then ok "demo"; else fail "demo"; fi
echo "== micro_service"
if $limit "$bindir/micro_service" "$url"; then ok "micro_service"; else fail "micro_service"; fi

# ---- dispatch queues driven by an event loop: self-contained ----
echo "== dispatch_epoll"
if $limit "$bindir/dispatch_epoll" "$url" 1000 20; then ok "dispatch_epoll"; else fail "dispatch_epoll"; fi
echo "== dispatch_libuv"
if $limit "$bindir/dispatch_libuv" "$url" 1000 20; then ok "dispatch_libuv"; else fail "dispatch_libuv"; fi

# ---- rpc_server + rpc_client: a calculator in one process, its client in another ----
echo "== rpc_server + rpc_client"
rpc_ns="calculator_$subject_suffix"
$limit "$bindir/rpc_server" "$url" "$rpc_ns" >"$tmp/rpc_server.out" 2>&1 &
rpc_pid=$!
bg_pids="${bg_pids:-} $rpc_pid"
if wait_ready "$tmp/rpc_server.out" "$rpc_pid"; then
    if $limit "$bindir/rpc_client" "$url" "$rpc_ns"; then ok "rpc_client"; else fail "rpc_client"; fi
    kill -TERM "$rpc_pid"
    if wait "$rpc_pid" && grep -q '^stopped' "$tmp/rpc_server.out"; then ok "rpc_server"; else fail "rpc_server (exit $?)"; fi
    bg_pids=""
else
    fail "rpc_server never became ready"
fi
cat "$tmp/rpc_server.out"

# ---- js_producer + js_worker: jobs through a work-queue stream, every one handled once ----
echo "== js_producer + js_worker"
js_stream="EXAMPLES_JOBS_$subject_suffix"
js_subject="examples.jobs.$subject_suffix"
js_jobs=250
if $limit "$bindir/js_producer" "$url" "$js_stream" "$js_subject" "$js_jobs" >"$tmp/js_producer.out" 2>&1 &&
    grep -q "^published $js_jobs jobs to stream $js_stream: $js_jobs acked (0 duplicates), 0 failed, last sequence $js_jobs\$" \
        "$tmp/js_producer.out"; then
    ok "js_producer"
else
    fail "js_producer"
fi
cat "$tmp/js_producer.out"
if $limit "$bindir/js_worker" "$url" "$js_stream" "workers" 32 1000 >"$tmp/js_worker.out" 2>&1 &&
    grep -q "^handled $js_jobs jobs (0 redelivered)" "$tmp/js_worker.out"; then
    ok "js_worker handled the $js_jobs jobs"
else
    fail "js_worker (expected \"handled $js_jobs jobs\")"
fi
cat "$tmp/js_worker.out"
# The queue is empty now: a second worker finds nothing.
if $limit "$bindir/js_worker" "$url" "$js_stream" "workers" 32 300 >"$tmp/js_worker2.out" 2>&1 &&
    grep -q "^handled 0 jobs" "$tmp/js_worker2.out"; then
    ok "js_worker on the emptied queue"
else
    fail "js_worker on the emptied queue"
fi
cat "$tmp/js_worker2.out"

# ---- kv_watch: a watch of a new bucket sees its own changes, in order, then deletes it ----
echo "== kv_watch"
kv_bucket="EXAMPLES_KV_$subject_suffix"
kv_expected="watching bucket $kv_bucket
-- initial values done --
put color = red (revision 1)
put color = blue (revision 2)
put size = L (revision 3)
delete color (revision 4)
purge size (revision 5)
saw 5 changes"
if $limit "$bindir/kv_watch" "$url" "$kv_bucket" demo >"$tmp/kv_watch.out" 2>&1 &&
    [ "$(cat "$tmp/kv_watch.out")" = "$kv_expected" ]; then
    ok "kv_watch"
else
    fail "kv_watch (expected exactly:
$kv_expected)"
fi
cat "$tmp/kv_watch.out"
# Run again: the demo deleted its bucket, so the output is the same.
if $limit "$bindir/kv_watch" "$url" "$kv_bucket" demo >"$tmp/kv_watch2.out" 2>&1 &&
    [ "$(cat "$tmp/kv_watch2.out")" = "$kv_expected" ]; then
    ok "kv_watch again"
else
    fail "kv_watch again"
    cat "$tmp/kv_watch2.out"
fi

# ---- $NATS_URL is honoured when no URL argument is given ----
echo "== NATS_URL"
if NATS_URL="$url" $limit "$bindir/pub" >/dev/null; then ok "pub with \$NATS_URL"; else fail "pub with \$NATS_URL"; fi

echo
if [ "$failures" -eq 0 ]; then
    echo "all examples passed"
    exit 0
fi
echo "$failures example step(s) failed"
exit 1
