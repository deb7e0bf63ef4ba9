#!/usr/bin/env bash
# The header on its own, as C and C++ users compile it: C11 and C17 with gcc, C++11 to C++20
# with g++ (every one with -Wall -Wextra -pedantic -Werror), and clang's -Wdocumentation (the
# Swift toolchain carries clang), so that a documentation comment that names a parameter the
# function lacks fails the check.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '#include <swiftnats.h>\nint main(void) { return snats_version() == 0; }\n' > "$out/h.c"
printf '#include <swiftnats.h>\nint main() { return snats_version() == 0; }\n' > "$out/h.cpp"
for std in c11 c17; do
    gcc -std=$std -Wall -Wextra -pedantic -Werror -fsyntax-only -I"$here/Include" "$out/h.c"
done
for std in c++11 c++14 c++17 c++20; do
    g++ -std=$std -Wall -Wextra -pedantic -Werror -fsyntax-only -I"$here/Include" "$out/h.cpp"
done
# SNATS_NODISCARD: a status left unread is a warning (an error with -Werror), and
# SNATS_NO_NODISCARD turns the mark off.
printf '#include <swiftnats.h>\nint main(void) { snats_publish(0, "s", 0, 0); return 0; }\n' > "$out/unread.c"
if gcc -std=c11 -Werror -c -o "$out/unread.o" -I"$here/Include" "$out/unread.c" 2>/dev/null; then
    echo "check-header.sh: an unread snats_status compiled without a warning" >&2
    exit 1
fi
gcc -std=c11 -Werror -DSNATS_NO_NODISCARD -c -o "$out/unread.o" -I"$here/Include" "$out/unread.c"
clang=$(command -v clang || true)
[ -n "$clang" ] || for candidate in /opt/swift/usr/bin/clang /usr/share/swift/usr/bin/clang; do
    [ -x "$candidate" ] && clang=$candidate && break
done
if [ -n "$clang" ]; then
    "$clang" -std=c11 -Wdocumentation -Werror -fsyntax-only -I"$here/Include" "$out/h.c"
    "$clang" -x c++ -std=c++17 -Wall -Wextra -pedantic -Wdocumentation -Werror -fsyntax-only -I"$here/Include" "$out/h.cpp"
    if "$clang" -std=c11 -Werror -c -o "$out/unread.o" -I"$here/Include" "$out/unread.c" 2>/dev/null; then
        echo "check-header.sh: clang compiled an unread snats_status without a warning" >&2
        exit 1
    fi
    echo "header: C11/C17, C++11-20 -pedantic, clang -Wdocumentation, SNATS_NODISCARD: ok"
else
    echo "check-header.sh: no clang, -Wdocumentation is not checked" >&2
    [ -z "${CI:-}" ] || exit 1
    echo "header: C11/C17, C++11-20 -pedantic: ok"
fi
