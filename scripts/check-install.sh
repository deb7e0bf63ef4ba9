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
# C++: the tour with the installed swiftnats.hpp, plain g++ and the same flags.
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -o "$out/tour" "$here/bindings/cpp/examples/tour.cpp" $flags -Wl,-rpath,"$prefix/lib"
TOUR="$out/tour" "$here/scripts/with-server.sh" sh -c '"$TOUR" "$NATS_URL"' >"$out/tour.log" 2>&1 \
    || { cat "$out/tour.log"; echo "the C++ tour failed" >&2; exit 1; }
echo "C++ route (swiftnats.hpp, g++ -std=c++17): ok"
# Static: libswiftnats.a with `pkg-config --static`, and gcc -static: nothing to install beside it.
static_flags=$(pkg-config --define-variable=prefix="$prefix" --static --cflags --libs swiftnats)
gcc -static -std=c11 -Wall -Wextra -Werror -o "$out/demo_static" "$here/bindings/c/examples/demo.c" $static_flags
if ldd "$out/demo_static" >/dev/null 2>&1; then echo "demo_static is not static" >&2; exit 1; fi
DEMO="$out/demo_static" "$here/scripts/with-server.sh" sh -c '"$DEMO" "$NATS_URL"' >"$out/static.log" 2>&1 \
    || { cat "$out/static.log"; echo "the static demo failed" >&2; exit 1; }
echo "static route (libswiftnats.a, pkg-config --static, gcc -static): ok"
# The CMake route: find_package(swiftnats) and its imported target, in the example project
# (a version the installed one does not meet must be refused).
if command -v cmake >/dev/null; then
    # The installed example project, with the installed examples beside it.
    cmake -S "$prefix/share/doc/swiftnats/cmake-example" -B "$out/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_RPATH="$prefix/lib" >"$out/cmake.log" 2>&1 || { cat "$out/cmake.log"; exit 1; }
    cmake --build "$out/cmake" >>"$out/cmake.log" 2>&1 || { cat "$out/cmake.log"; exit 1; }
    ldd "$out/cmake/demo" | grep -q "$prefix/lib/libswiftnats.so.0" || { echo "the CMake demo does not link the installed library" >&2; exit 1; }
    if ldd "$out/cmake/demo_static" >/dev/null 2>&1; then echo "the CMake demo_static is not static" >&2; exit 1; fi
    for program in demo tour demo_static; do
        [ -x "$out/cmake/$program" ] || { echo "CMake did not build $program" >&2; exit 1; }
        PROGRAM="$out/cmake/$program" "$here/scripts/with-server.sh" sh -c '"$PROGRAM" "$NATS_URL"' >"$out/cmake-$program.log" 2>&1 \
            || { cat "$out/cmake-$program.log"; echo "the CMake-built $program failed" >&2; exit 1; }
    done
    mkdir -p "$out/too-new"
    printf 'cmake_minimum_required(VERSION 3.16)\nproject(p C)\nfind_package(swiftnats 99 REQUIRED)\n' > "$out/too-new/CMakeLists.txt"
    if cmake -S "$out/too-new" -B "$out/too-new/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
        echo "find_package(swiftnats 99) was accepted by version $(cat "$prefix/lib/cmake/swiftnats/swiftnatsConfigVersion.cmake" | grep -o '"[0-9.]*"')" >&2
        exit 1
    fi
    echo "CMake route (find_package(swiftnats): swiftnats::swiftnats, swiftnats::cpp, swiftnats::static): ok"
else
    echo "check-install.sh: no cmake, the CMake route is not checked" >&2
    [ -z "${CI:-}" ] || exit 1
fi
# The man page and the documents: a page section for every command snats has (from its own
# parser), rendered without warnings when man is there; the documents the header names.
page="$prefix/share/man/man1/snats.1"
[ -s "$page" ] || { echo "no $page" >&2; exit 1; }
"$prefix/bin/snats" --experimental-dump-help | python3 -c '
import json, sys
def leaves(c, path):
    subs = [s for s in c.get("subcommands", []) if s["commandName"] != "help"]
    return [p for s in subs for p in leaves(s, path + [s["commandName"]])] if subs else [path]
for path in leaves(json.load(sys.stdin)["command"], []):
    print("snats " + " ".join(path))' > "$out/commands"
while read -r command; do
    grep -qx ".SS $command" "$page" || { echo "snats.1 lacks \"$command\"" >&2; exit 1; }
done < "$out/commands"
if command -v man >/dev/null; then
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
    [ -z "$warnings" ] || { echo "snats.1: $warnings" >&2; exit 1; }
fi
for doc in README.md ARCHITECTURE.md RPC.md JETSTREAM.md examples/demo.c examples/run_all.sh cmake-example/CMakeLists.txt \
    cpp-examples/tour.cpp; do
    [ -s "$prefix/share/doc/swiftnats/$doc" ] || { echo "share/doc/swiftnats/$doc is not installed" >&2; exit 1; }
done
echo "man page ($(wc -l < "$out/commands") commands) and documents: ok"
echo "installed route: ok"
