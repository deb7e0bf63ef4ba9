# bench/scale.sh - the scale section of bench/run.sh (sourced by it, after the server started):
# many subscriptions on one connection, every client side by side in one run.
#
# For each size in SCALE_SUBS and each client, one process subscribes to scale.0 ..
# scale.<N-1> on one connection (default pending limits), then a second connection of the same
# client library, in a child process, publishes SCALE_MSGS messages of SCALE_SIZE bytes
# round-robin over those subjects. Reported: subscribe time (subscribe N + flush), msgs/s at
# the subscriber (first to last message received), the subscriber process's threads
# (/proc/self/status Threads, after the last message) and peak RSS (VmHWM), messages received,
# client drops (pending limits) and slow-consumer errors, and what the server logged.
#
# Clients: swiftnats-c-pool (snats_subscribe, the library's delivery pool), swiftnats-c-queue
# (a dispatch queue drained by one thread), cnats-default (nats.c: a thread per subscription;
# not run above SCALE_THREAD_CAP subscriptions), cnats-global (natsOptions_UseGlobalMessageDelivery),
# and with PYTHON: swiftnats-py (sync binding), swiftnats-aio (swiftnats.aio; skipped with the
# reason when it fails), nats-py.
#
# Environment (besides run.sh's):
#   SCALE_SUBS        sizes (default "1000 10000 100000")
#   SCALE_MSGS        messages per run (default 200000, divided by SCALE)
#   SCALE_SIZE        payload bytes (default 16)
#   SCALE_TIMEOUT     seconds a run may take, then "timeout" (default 180)
#   SCALE_THREAD_CAP  largest size nats.c's thread-per-subscription mode runs at (default 10000)
#   SCALE_CLIENTS     the clients to run (default: all of the above)
# Sets scale_failures (runs that failed, not timeouts or skips); writes scale_results.txt and
# scale_table.md in $outdir.

scale_subs=${SCALE_SUBS:-1000 10000 100000}
scale_msgs=$(( ${SCALE_MSGS:-200000} / scale ))
[ "$scale_msgs" -lt 1 ] && scale_msgs=1
scale_size=${SCALE_SIZE:-16}
scale_timeout=${SCALE_TIMEOUT:-180}
scale_thread_cap=${SCALE_THREAD_CAP:-10000}
scale_clients=${SCALE_CLIENTS:-swiftnats-c-pool swiftnats-c-queue cnats-default cnats-global swiftnats-py swiftnats-aio nats-py}
scale_results="$outdir/scale_results.txt"
scale_table="$outdir/scale_table.md"
scale_failures=0
: >"$scale_results"

echo "-- scale: subscriptions $scale_subs; $scale_msgs messages of $scale_size B; timeout ${scale_timeout}s per run"
"$cc" -std=c11 -O2 -Wall -o "$outdir/snats_scale" "$here/snats_scale.c" -I"$incdir" \
    -L"$libdir" -lswiftnats -ljansson -lpthread -Wl,-rpath,"$libdir" || { echo "cannot build snats_scale" >&2; return 1; }
cnats_scale_built=1
# shellcheck disable=SC2046
"$cc" -std=c11 -O2 -Wall -o "$outdir/cnats_scale" "$here/cnats_scale.c" \
    $(pkg-config --cflags --libs libnats 2>/dev/null || echo -lnats) -lpthread 2>"$outdir/cnats_scale.build.log" || cnats_scale_built=0

scale_note() { # scale_note CLIENT SUBS STATUS REASON...
    local client=$1 subs=$2 status=$3
    shift 3
    echo "STATUS client=$client subs=$subs status=$status reason=$*" | tee -a "$scale_results"
}

server_slow_consumers() { grep -ci 'slow consumer' "$outdir/server.log" 2>/dev/null || true; }

scale_run() { # scale_run CLIENT SUBS COMMAND...
    local client=$1 subs=$2 rc line skip before after
    shift 2
    before=$(server_slow_consumers)
    timeout -k 5 "$scale_timeout" "$@" >"$outdir/scale_last.out" 2>"$outdir/scale_last.err"
    rc=$?
    after=$(server_slow_consumers)
    line=$(grep '^RESULT ' "$outdir/scale_last.out")
    skip=$(grep '^SKIP ' "$outdir/scale_last.out")
    if [ -n "$line" ]; then
        echo "$line server_slow=$((after - before))" | tee -a "$scale_results"
        if [ "$rc" -ne 0 ]; then
            echo "scale: $client $subs exited $rc after its result: $(tail -c 300 "$outdir/scale_last.err" | tr '\n' ' ')" >&2
            scale_failures=$((scale_failures + 1))
        fi
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        scale_note "$client" "$subs" timeout "timeout (${scale_timeout} s)"
    elif [ -n "$skip" ]; then
        scale_note "$client" "$subs" skipped "skipped: ${skip#*reason=}"
    else
        scale_note "$client" "$subs" failed "failed (exit $rc): $(tail -c 200 "$outdir/scale_last.err" | tr '\n|' '  ')"
        scale_failures=$((scale_failures + 1))
    fi
}

for subs in $scale_subs; do
    for client in $scale_clients; do
        case $client in
        swiftnats-c-pool | swiftnats-c-queue)
            scale_run "$client" "$subs" "$outdir/snats_scale" "${client#swiftnats-c-}" "$subs" "$scale_msgs" "$scale_size" "$url" ;;
        cnats-default | cnats-global)
            if [ "$cnats_scale_built" = 0 ]; then
                scale_note "$client" "$subs" notrun "not run: nats.c (libnats-dev) not found"
            elif [ "$client" = cnats-default ] && [ "$subs" -gt "$scale_thread_cap" ]; then
                scale_note "$client" "$subs" notrun "not run: a thread per subscription (runs up to $scale_thread_cap)"
            else
                scale_run "$client" "$subs" "$outdir/cnats_scale" "${client#cnats-}" "$subs" "$scale_msgs" "$scale_size" "$url"
            fi ;;
        swiftnats-py | swiftnats-aio | nats-py)
            if [ -z "${PYTHON:-}" ]; then
                scale_note "$client" "$subs" notrun "not run: PYTHON unset"
                continue
            fi
            case $client in swiftnats-py) which=swiftnats ;; nats-py) which=natspy ;; *) which=$client ;; esac
            scale_run "$client" "$subs" env SWIFTNATS_LIBRARY="$libdir/libswiftnats.so" PYTHONPATH="$root/bindings/python" \
                "$PYTHON" "$here/py_scale.py" "$which" "$subs" "$scale_msgs" "$scale_size" "$url" ;;
        *) echo "scale: unknown client $client" >&2 ;;
        esac
    done
done

awk -v server="$server_version" -v msgs="$scale_msgs" -v size="$scale_size" -v sizes="$scale_subs" \
    -v clients="$scale_clients" '
function commas(n,    s, out) {
    s = sprintf("%d", n); out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out
}
function secs(v) { return (v < 1) ? sprintf("%.0f ms", v * 1000) : sprintf("%.2f s", v) }
function rate(v) { return (v >= 1e6) ? sprintf("%.2f M/s", v / 1e6) : sprintf("%.0f k/s", v / 1e3) }
function label(c) {
    if (c == "swiftnats-c-pool") return "swiftnats C, delivery pool"
    if (c == "swiftnats-c-queue") return "swiftnats C, dispatch queue + 1 thread"
    if (c == "cnats-default") return "nats.c default (thread per sub)"
    if (c == "cnats-global") return "nats.c global delivery"
    if (c == "swiftnats-py") return "swiftnats Python (sync)"
    if (c == "swiftnats-aio") return "swiftnats Python (aio)"
    if (c == "nats-py") return "nats-py (asyncio)"
    return c
}
/^RESULT / || /^STATUS / {
    delete f
    for (i = 2; i <= NF; i++) { if ($i ~ /^reason=/) break; split($i, kv, "="); f[kv[1]] = kv[2] }
    key = f["client"] SUBSEP f["subs"]
    if ($1 == "STATUS") { r = $0; sub(/.* reason=/, "", r); note[key] = r; next }
    ok[key] = 1
    for (k in f) val[key, k] = f[k]
}
END {
    nsz = split(sizes, sz, " "); ncl = split(clients, cl, " ")
    printf "### Scale: subscriptions on one connection\n\n"
    printf "server: %s; %s messages of %d B published round-robin over the N subjects by a second\n", server, commas(msgs), size
    printf "connection of the same client in another process; msgs/s at the subscriber, first to last message;\n"
    printf "threads and peak RSS (VmHWM) of the subscriber process after the last message; one run each.\n\n"
    print "| subs | client | subscribe | msgs/s | threads | peak RSS | received | dropped / slow-consumer errors / server |"
    print "|---|---|---|---|---|---|---|---|"
    for (s = 1; s <= nsz; s++) for (c = 1; c <= ncl; c++) {
        key = cl[c] SUBSEP sz[s]
        if (key in note) { printf "| %s | %s | %s | | | | | |\n", commas(sz[s]), label(cl[c]), note[key]; continue }
        if (!(key in ok)) continue
        got = val[key, "received"] + 0; cnt = val[key, "count"] + 0
        recv = (got == cnt) ? "all" : sprintf("**%s of %s**", commas(got), commas(cnt))
        if (val[key, "bad_subs"] + 0 > 0) recv = recv sprintf(" (%s subs off)", commas(val[key, "bad_subs"]))
        printf "| %s | %s | %s | %s | %s | %.1f MB | %s | %s / %s / %s |\n", commas(sz[s]), label(cl[c]), \
            secs(val[key, "sub_secs"]), rate(val[key, "msgs_per_s"]), commas(val[key, "threads"]), val[key, "hwm_mb"], \
            recv, val[key, "dropped"], val[key, "slow_consumer"], val[key, "server_slow"]
    }
    print ""
    printf "| msgs/s |"; for (s = 1; s <= nsz; s++) printf " %s subs |", commas(sz[s]); print ""
    printf "|---|"; for (s = 1; s <= nsz; s++) printf "---|"; print ""
    for (c = 1; c <= ncl; c++) {
        printf "| %s |", label(cl[c])
        for (s = 1; s <= nsz; s++) {
            key = cl[c] SUBSEP sz[s]
            if (key in ok) printf " %s |", rate(val[key, "msgs_per_s"])
            else if (key in note) { r = note[key]; sub(/:.*/, "", r); printf " %s |", r }
            else printf " – |"
        }
        print ""
    }
    print ""
    print "Targets:"
    for (m = 1; m <= 2; m++) {
        c = (m == 1) ? "swiftnats-c-pool" : "swiftnats-c-queue"; key = c SUBSEP "100000"
        if (key in ok)
            printf "- %s at 100,000 subscriptions: ≤ 16 threads and ≤ 250 MB RSS, nothing lost: %d threads, %.1f MB peak, %s received: %s\n", \
                label(c), val[key, "threads"], val[key, "hwm_mb"], commas(val[key, "received"]), \
                (val[key, "threads"] + 0 <= 16 && val[key, "hwm_mb"] + 0 <= 250 && val[key, "received"] + 0 == val[key, "count"] + 0) ? "met" : "**NOT met**"
        else printf "- %s at 100,000 subscriptions: ≤ 16 threads and ≤ 250 MB RSS: not measured\n", label(c)
    }
    a = "swiftnats-c-pool" SUBSEP "10000"; b = "cnats-global" SUBSEP "10000"
    if ((a in ok) && (b in ok))
        printf "- swiftnats C msgs/s at 10,000 subscriptions ≥ nats.c global delivery: %s vs %s (%.2fx): %s\n", rate(val[a, "msgs_per_s"]), \
            rate(val[b, "msgs_per_s"]), val[a, "msgs_per_s"] / val[b, "msgs_per_s"], (val[a, "msgs_per_s"] + 0 >= val[b, "msgs_per_s"] + 0) ? "met" : "**NOT met**"
    else printf "- swiftnats C msgs/s at 10,000 subscriptions ≥ nats.c global delivery: not measured\n"
    for (p = 1; p <= 2; p++) {
        py = (p == 1) ? "swiftnats-py" : "swiftnats-aio"
        line = ""; all = 1; any = 0
        for (s = 1; s <= nsz; s++) {
            a = py SUBSEP sz[s]; b = "nats-py" SUBSEP sz[s]
            if (!(a in ok)) { line = line sprintf("; %s: not measured", commas(sz[s])); all = 0; continue }
            if (!(b in ok)) { line = line sprintf("; %s: %s vs nats-py %s", commas(sz[s]), rate(val[a, "msgs_per_s"]), note[b] ? note[b] : "–"); any = 1; continue }
            any = 1
            if (val[a, "msgs_per_s"] + 0 < val[b, "msgs_per_s"] + 0) all = 0
            line = line sprintf("; %s: %s vs %s (%.2fx)", commas(sz[s]), rate(val[a, "msgs_per_s"]), rate(val[b, "msgs_per_s"]), val[a, "msgs_per_s"] / val[b, "msgs_per_s"])
        }
        if (any) printf "- %s msgs/s ≥ nats-py at every size: %s%s\n", label(py), (all ? "met" : "**NOT met**"), line
    }
}
' "$scale_results" >"$scale_table"
