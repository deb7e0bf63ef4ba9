#!/usr/bin/env bash
# Builds the fuzz targets into .build-fuzz/release (Fuzz/README.md says why these flags).
set -euo pipefail
cd "$(dirname "$0")/.."
# --sanitize makes SwiftPM link libFuzzer's main, but SwiftPM hands swiftc the two sanitizers as
# two -sanitize= options and swiftc keeps only the last (no coverage counters), hence -Xswiftc.
# -assert-config Debug keeps the bounds checks of unsafe buffer subscripts (and asserts) in the
# optimised build: a fuzzer at -Onone runs about 50 times slower.
# gold prints a warning per ASan helper symbol; those are dropped.
"${SWIFT:-swift}" build --package-path Fuzz --scratch-path .build-fuzz -c release \
    --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -parse-as-library -Xswiftc -assert-config -Xswiftc Debug "$@" 2>&1 |
    grep -v "Cannot export local symbol '__asan_"
