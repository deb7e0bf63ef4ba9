#!/usr/bin/env bash
# sanitize.sh thread|address [swift test arguments, e.g. --filter NATSTests.SubscriptionTests]
#
# Builds the XCTest suite with ThreadSanitizer or AddressSanitizer, against the dynamic Swift
# runtime (SWIFTNATS_DYNAMIC_RUNTIME=1, see Package.swift), in its own scratch path
# (.build-tsan, .build-asan: never .build, whose debug and release builds stay untouched), runs
# it, and fails when the sanitizer reported anything, even if every test passed: TSan exits 66
# then, and a report in a helper thread does not fail a test. The output is kept in
# <scratch>/sanitize.log (demangled); the closing lines repeat each report demangled and list
# each distinct one once.
#
# Env: SWIFT (default swift), SANITIZE_SCRATCH (default .build-tsan / .build-asan).
# Suppressions: Tests/tsan.supp (TSan only); every entry there names the third-party frame it
# hides and why that report is benign.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

kind=${1:-}
shift || true
case "$kind" in
    thread)  scratch=${SANITIZE_SCRATCH:-.build-tsan}; tool=ThreadSanitizer ;;
    address) scratch=${SANITIZE_SCRATCH:-.build-asan}; tool=AddressSanitizer ;;
    *) echo "usage: $0 thread|address [swift test arguments]" >&2; exit 2 ;;
esac
swift=${SWIFT:-swift}

# The toolchain's own llvm-symbolizer: without one the reports carry addresses instead of
# file:line, and Debian's (package llvm) may be absent or older. It leaves Swift names mangled:
# see `swift demangle` below.
toolchain_bin=$(dirname "$(readlink -f "$(command -v "$swift")")")
symbolizer=$toolchain_bin/llvm-symbolizer
[ -x "$symbolizer" ] || symbolizer=$(command -v llvm-symbolizer || true)

export SWIFTNATS_DYNAMIC_RUNTIME=1
# A trap would start swift-backtrace, which can hang holding the output pipe; the sanitizer
# prints its own stacks.
export SWIFT_BACKTRACE=enable=no

echo "== $tool: swift build --build-tests --sanitize=$kind --scratch-path $scratch"
"$swift" build --build-tests --sanitize="$kind" --scratch-path "$scratch" || exit $?

# history_size=7: the most per-thread history TSan keeps, so that the second stack of a race
# ("Previous write ...") is restored rather than "[failed to restore the stack]".
common="halt_on_error=0${symbolizer:+:external_symbolizer_path=$symbolizer}"
export TSAN_OPTIONS="suppressions=$here/Tests/tsan.supp:history_size=7:second_deadlock_stack=1:$common${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
# detect_leaks=0: LeakSanitizer cannot follow Swift's weak-reference side tables (the object's
# refcount word holds the side table's address shifted and tagged), so every object that ever
# had a weak reference, and all it holds, is reported as leaked: measured 2026-12 on this suite,
# 2 "direct" leaks (32-byte side tables from Foundation's Process.run and XCTest's
# awaitUsingExpectation) and ~1,870 indirect ones (3.6 MB) under them; suppressing the direct
# two leaves the indirect ones. Leaks are checked by `make memcheck` (valgrind, definite leaks,
# the C API); ASAN_OPTIONS=detect_leaks=1 make asan turns LeakSanitizer back on.
export ASAN_OPTIONS="detect_leaks=0:$common${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

raw=$scratch/sanitize.raw.log
log=$scratch/sanitize.log
echo "== $tool: swift test --sanitize=$kind --scratch-path $scratch --skip-build $*"
"$swift" test --sanitize="$kind" --scratch-path "$scratch" --skip-build "$@" 2>&1 | tee "$raw"
status=${PIPESTATUS[0]}
# The symbolizer leaves Swift names mangled; `swift demangle` reads to the end before it prints,
# so the demangled copy is made afterwards.
"$swift" demangle --simplified <"$raw" | sed -E 's/ \(BuildId: [0-9a-f]+\)//' >"$log"

start="^WARNING: $tool:|^==[0-9]+==ERROR: ($tool|LeakSanitizer):"
reports=$(grep -c -E "$start" "$log")
if [ "$reports" -gt 0 ]; then
    echo
    echo "== $tool: the reports, demangled"
    awk -v start="$start" '$0 ~ start {p = 1} p {print} /^SUMMARY: / {if (p) print ""; p = 0}' "$log"
fi
echo "== $tool: $reports report(s), swift test exit status $status (log: $log)"
if [ "$reports" -gt 0 ]; then
    # One line per distinct report: SUMMARY: ThreadSanitizer: data race FILE:LINE in FUNCTION
    grep -E "^SUMMARY: " "$log" | sort | uniq -c | sort -rn
    exit 1
fi
[ "$status" = 0 ] || { echo "== $tool: swift test failed" >&2; exit "$status"; }
