#!/usr/bin/env bash
# build-static.sh RELEASE_DIR OUT_DIR - writes OUT_DIR/libswiftnats.a: the library for a plain
# C link (`gcc app.c libswiftnats.a -ljansson -lstdc++ -lm -ldl -lpthread`, `gcc -static`
# included), with nothing else to install.
#
# The objects the shared library is linked from (SwiftPM's link file list), Swift's section
# markers (swiftrt.o: without them the runtime finds no type metadata and the first dynamic
# cast crashes) and the static Swift runtime the toolchain carries are linked into one
# relocatable object with `ld -r`, whose symbols are then all made local but the `snats_*`
# functions, as the shared library's version script does. One object in the archive: a
# program that calls any snats_ function takes all of it, markers included.
set -eu
release=${1:?usage: build-static.sh RELEASE_DIR OUT_DIR}
out=${2:?usage: build-static.sh RELEASE_DIR OUT_DIR}
list="$release/swiftnats.product/Objects.LinkFileList"
[ -f "$list" ] || { echo "build-static.sh: no $list (build the release library first)" >&2; exit 1; }
swiftc=$(command -v swiftc)
toolchain=$(cd "$(dirname "$(readlink -f "$swiftc")")/.." && pwd)
static="$toolchain/lib/swift_static/linux"
[ -f "$static/libswiftCore.a" ] || { echo "build-static.sh: no static Swift runtime in $static" >&2; exit 1; }
arch=$(uname -m)
mkdir -p "$out"
# make test asks for it several times (install, test-static, deb): once per library build.
if [ "$out/libswiftnats.a" -nt "$release/libswiftnats.so" ] && [ "$out/libswiftnats.a" -nt "$0" ]; then
    echo "$out/libswiftnats.a: up to date"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$list" "$static/$arch/swiftrt.o" "$work/objects" <<'PY'
import shlex, sys
objects = [word for line in open(sys.argv[1]) for word in shlex.split(line)]
with open(sys.argv[3], "w") as out:
    out.write("\n".join(objects + [sys.argv[2]]) + "\n")
PY
runtime=()
for lib in swiftCore swift_Concurrency swiftDispatch dispatch BlocksRuntime swiftGlibc swift_StringProcessing \
           swift_RegexParser swiftSynchronization; do
    [ -f "$static/lib$lib.a" ] && runtime+=("$static/lib$lib.a")
done
mapfile -t objects < "$work/objects"
ld -r -o "$work/all.o" "${objects[@]}" --start-group "${runtime[@]}" --end-group
nm -g --defined-only "$work/all.o" | awk '$3 ~ /^snats_/ {print $3}' > "$work/keep"
[ -s "$work/keep" ] || { echo "build-static.sh: no snats_ symbol in the object" >&2; exit 1; }
objcopy --strip-debug --keep-global-symbols="$work/keep" "$work/all.o" "$work/swiftnats.o"
rm -f "$out/libswiftnats.a"
ar rcs "$out/libswiftnats.a" "$work/swiftnats.o"
echo "$out/libswiftnats.a: $(wc -l < "$work/keep") snats_ functions, $(du -h "$out/libswiftnats.a" | cut -f1)"
