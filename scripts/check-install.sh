#!/usr/bin/env bash
# Proves the installed route: compiles every C example with
# `pkg-config --cflags --libs swiftnats` and plain gcc against an installed prefix, then runs
# them against a throwaway nats-server.
set -eu
prefix=$1
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# The staged .pc names the final prefix; point it at the staging directory.
flags=$(pkg-config --define-variable=prefix="$prefix" --cflags --libs swiftnats)
echo "pkg-config --cflags --libs swiftnats: $flags"
for source in "$here"/bindings/c/examples/*.c; do
    name=$(basename "$source" .c)
    extra=""
    # The libuv example also needs libuv (Debian: libuv1-dev, installed by scripts/deps.sh).
    [ "$name" = dispatch_libuv ] && extra=$(pkg-config --cflags --libs libuv)
    gcc -std=c11 -Wall -Wextra -Werror -o "$out/$name" "$source" $flags $extra -Wl,-rpath,"$prefix/lib"
done
ldd "$out/demo" | grep -q "$prefix/lib/libswiftnats.so.0" || { echo "demo does not link the installed library" >&2; exit 1; }
RUN_ALL="$here/bindings/c/examples/run_all.sh" BINDIR="$out" \
    "$here/scripts/with-server.sh" sh -c '"$RUN_ALL" "$NATS_URL" "$BINDIR"' 
echo "installed route: ok"
