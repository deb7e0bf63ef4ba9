#!/bin/sh
# build.sh LIBDIR OUTDIR - builds the C test harness into OUTDIR/snats_ctests, from every .c
# file here: the runner (harness*.c), helpers shared by families, the families (test_*.c).
#   LIBDIR  directory holding libswiftnats.so (linked with an rpath to it)
#   OUTDIR  where the binary goes (created if needed)
# Env: CC (default gcc), EXTRA_CFLAGS.
# Run: OUTDIR/snats_ctests [--list | TEST... | PREFIX*]; the last line is "N passed, N failed"
# (", N skipped" follows when a test needs a newer nats-server than the one in use).
set -eu
if [ $# -ne 2 ]; then
    echo "usage: $0 LIBDIR OUTDIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
libdir=$(cd "$1" && pwd)
mkdir -p "$2"
outdir=$(cd "$2" && pwd)
cc=${CC:-gcc}
# The RPC family runs the calculator example as a server in another process.
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror -O1 -g ${EXTRA_CFLAGS:-} -I"$root/Include" \
    "$root/bindings/c/examples/rpc_server.c" -o "$outdir/rpc_server" \
    -L"$libdir" -lswiftnats -ljansson -lpthread -Wl,-rpath,"$libdir"
# The tests ignore statuses on purpose (teardown, and the races they provoke), so the header's
# SNATS_NODISCARD mark is off for them; the examples and scripts/check-header.sh keep it on.
# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror -O1 -g ${EXTRA_CFLAGS:-} \
    -I"$root/Include" -I"$here" -DSNATS_FIXTURES="\"$root/Tests/fixtures\"" -DSNATS_NO_NODISCARD \
    -DSNATS_RPC_SERVER_BIN="\"$outdir/rpc_server\"" \
    "$here"/*.c \
    -o "$outdir/snats_ctests" \
    -L"$libdir" -lswiftnats -ljansson -lpthread -Wl,-rpath,"$libdir"
echo "built $outdir/snats_ctests"
