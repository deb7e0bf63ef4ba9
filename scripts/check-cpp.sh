#!/usr/bin/env bash
# check-cpp.sh RELEASE_DIR OUT_DIR - the C++ layer's checks: Include/swiftnats.hpp on its own as
# C++17 and C++20 (and refused with a clear #error below C++17), the suite in Tests/cpp built by
# g++ and clang++ with -Wall -Wextra -Werror -pedantic and run against throwaway servers, the
# clang++ build once more under valgrind (the library debug-stripped, as make memcheck does;
# DWARF 4, which Debian's valgrind 3.19 reads).
set -eu
release=${1:?usage: check-cpp.sh RELEASE_DIR OUT_DIR}
out=${2:?usage: check-cpp.sh RELEASE_DIR OUT_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
release=$(cd "$release" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
clangxx=$(command -v clang++ || true)
for candidate in /opt/swift/usr/bin/clang++ /usr/share/swift/usr/bin/clang++; do
    if [ -z "$clangxx" ] && [ -x "$candidate" ]; then clangxx=$candidate; fi
done
[ -n "$clangxx" ] || { echo "check-cpp.sh: no clang++ (the Swift toolchain carries one)" >&2; exit 1; }
warnings=(-Wall -Wextra -Werror -pedantic)

printf '#include <swiftnats.hpp>\nint main() { return snats::Json().get() != nullptr; }\n' > "$out/alone.cpp"
for compiler in g++ "$clangxx"; do
    for std in c++17 c++20; do
        "$compiler" -std=$std "${warnings[@]}" -fsyntax-only -I"$here/Include" "$out/alone.cpp"
    done
done
if g++ -std=c++14 -fsyntax-only -I"$here/Include" "$out/alone.cpp" 2>"$out/cxx14.log"; then
    echo "check-cpp.sh: swiftnats.hpp compiled as C++14" >&2
    exit 1
fi
grep -q "needs C++17" "$out/cxx14.log" || { cat "$out/cxx14.log" >&2; exit 1; }

sources=("$here"/Tests/cpp/*.cpp)
link=(-L"$release" -lswiftnats $(pkg-config --libs jansson) -lpthread -Wl,-rpath,"$release")
g++ -std=c++17 -O1 -g "${warnings[@]}" -I"$here/Include" -o "$out/cpp_tests_gcc" "${sources[@]}" "${link[@]}"
"$clangxx" -std=c++20 -O1 -gdwarf-4 "${warnings[@]}" -I"$here/Include" -o "$out/cpp_tests_clang" "${sources[@]}" "${link[@]}"
echo "== C++ suite (g++, C++17)"
"$here/scripts/with-server.sh" "$out/cpp_tests_gcc"
echo "== C++ suite (clang++, C++20) under valgrind"
rm -rf "$out/valgrind-lib" && mkdir -p "$out/valgrind-lib"
cp "$release/libswiftnats.so" "$out/valgrind-lib/libswiftnats.so.0"
strip --strip-debug "$out/valgrind-lib/libswiftnats.so.0"
# Everything is ten times slower under valgrind: the suite's waits scale (harness::slow()).
SNATS_TEST_SLOW=10 LD_LIBRARY_PATH="$out/valgrind-lib" "$here/scripts/with-server.sh" \
    valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --suppressions="$here/Tests/c/valgrind.supp" "$out/cpp_tests_clang"
