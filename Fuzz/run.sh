#!/usr/bin/env bash
# Runs one fuzz target for a set time: Fuzz/run.sh BINARY_DIR TARGET SECONDS
#   TARGET: protocol | json
# The generated corpus and any crash files go to Fuzz/work/TARGET/ (ignored by git); the
# committed seeds in Fuzz/corpus/TARGET are read, never written. libFuzzer's final stats
# (execs, execs/s, coverage) close the output. Extra libFuzzer flags: FUZZ_FLAGS="...".
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$1 target=$2 seconds=$3
case $target in
    protocol) binary=FuzzProtocol dict=Fuzz/protocol.dict ;;
    json) binary=FuzzJSON dict=Fuzz/json.dict ;;
    *) echo "unknown fuzz target $target (protocol, json)" >&2; exit 2 ;;
esac
work=Fuzz/work/$target
mkdir -p "$work/corpus" "$work/crashes"
log=$work/last-run.log
echo "== fuzz $target for ${seconds}s ($bin_dir/$binary; corpus $work/corpus + Fuzz/corpus/$target; log $log)"
# A trap would otherwise start swift-backtrace, which can hang holding the output pipe.
# -len_control=0: inputs grow to -max_len at once (the control-line and depth limits are 4 KiB away).
set +e
SWIFT_BACKTRACE=enable=no "$bin_dir/$binary" \
    -max_total_time="$seconds" -len_control=0 -max_len=8192 -timeout=30 -rss_limit_mb=2048 \
    -malloc_limit_mb=256 -dict="$dict" -print_final_stats=1 -print_pcs=0 \
    -artifact_prefix="$work/crashes/" ${FUZZ_FLAGS:-} \
    "$work/corpus" "Fuzz/corpus/$target" >"$log" 2>&1
status=$?
set -e
# The last status line (cov: ft: corp: exec/s) and the final stats.
grep -E '^#[0-9]+' "$log" | tail -n 1 || true
grep -E '^stat::' "$log" || true
if [ $status -ne 0 ]; then
    echo "!! fuzz $target FAILED (exit $status): see $log; reproducer in $work/crashes/:" >&2
    ls -1 "$work/crashes" >&2 || true
    # The rule and the input (hex) as the target printed them, or the sanitizer's summary.
    grep -E -A4 'invariant violated' "$log" | grep -v '^Current stack trace' | head -n 8 >&2 ||
        grep -E 'Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY' "$log" | head -n 5 >&2 || true
fi
exit $status
