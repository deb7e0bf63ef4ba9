#!/usr/bin/env bash
# Proves the packages scripts/build-deb.sh made: what each holds (and that nothing lies outside
# /usr or in two packages), then the three unpacked into one scratch root and put through
# scripts/check-install.sh (pkg-config, CMake, the C examples against a throwaway nats-server,
# the man page); snats and the library resolve their libraries and name no toolchain path.
# As root with CI set (a disposable machine) the packages are also installed with apt-get, used
# the way a user would (plain gcc, find_package, snats on PATH, man), and purged.
# Usage: scripts/check-deb.sh DEBDIR
set -euo pipefail
die() { echo "check-deb.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: check-deb.sh DEBDIR"
debdir=$(cd "$1" && pwd) || die "no directory $1"
here=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
pkgs=(libswiftnats0 libswiftnats-dev swiftnats-tools)
declare -A deb
for pkg in "${pkgs[@]}"; do
    found=("$debdir/${pkg}_"*"_$arch.deb")
    [ ${#found[@]} -eq 1 ] && [ -f "${found[0]}" ] || die "want exactly one ${pkg}_*_$arch.deb in $debdir"
    deb[$pkg]=${found[0]}
done
version=$(dpkg-deb -f "${deb[libswiftnats0]}" Version)
work=$(mktemp -d)
installed=0
cleanup() {
    # A failed system check must not leave the packages on the machine.
    if [ "$installed" = 1 ]; then
        echo "check-deb.sh: purging the packages after a failure" >&2
        DEBIAN_FRONTEND=noninteractive apt-get purge -y "${pkgs[@]}" > "$work/purge.log" 2>&1 \
            || { cat "$work/purge.log" >&2; echo "check-deb.sh: THE PURGE FAILED: the packages may still be installed" >&2; }
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# ------------------------------------------------------------ the .deb files ---
declare -A must=(
    [libswiftnats0]="usr/lib/libswiftnats.so.0 usr/share/doc/libswiftnats0/copyright usr/share/doc/libswiftnats0/changelog.gz"
    [libswiftnats-dev]="usr/lib/libswiftnats.so usr/include/swiftnats.h usr/lib/pkgconfig/swiftnats.pc
        usr/lib/cmake/swiftnats/swiftnatsConfig.cmake usr/lib/cmake/swiftnats/swiftnatsConfigVersion.cmake
        usr/share/doc/swiftnats/README.md usr/share/doc/swiftnats/examples/demo.c
        usr/share/doc/swiftnats/cmake-example/CMakeLists.txt usr/share/doc/libswiftnats-dev/copyright
        usr/share/doc/libswiftnats-dev/changelog.gz usr/include/swiftnats.hpp usr/lib/libswiftnats.a"
    [swiftnats-tools]="usr/bin/snats usr/share/man/man1/snats.1.gz usr/share/doc/swiftnats-tools/copyright
        usr/share/doc/swiftnats-tools/changelog.gz"
)
root=$work/root
for pkg in "${pkgs[@]}"; do
    d=${deb[$pkg]}
    dpkg-deb --info "$d" >/dev/null || die "$d: not a valid package"
    [ "$(dpkg-deb -f "$d" Package)" = "$pkg" ] || die "$d: its Package is not $pkg"
    [ "$(dpkg-deb -f "$d" Version)" = "$version" ] || die "$d: not version $version"
    # "mode owner size date time path [-> target]": owners, modes, and where the paths lie.
    dpkg-deb --contents "$d" > "$work/$pkg.contents"
    awk '$2 != "root/root" || $1 !~ /^(drwxr-xr-x|-rw-r--r--|-rwxr-xr-x|lrwxrwxrwx)$/ || ($6 != "./" && $6 !~ /^\.\/usr\//)' \
        "$work/$pkg.contents" | grep . && die "$d: the entries above are not root-owned 0644/0755 files under /usr"
    for path in ${must[$pkg]}; do
        awk -v p="./$path" '$6 == p' "$work/$pkg.contents" | grep -q . || die "$d lacks /$path"
    done
    awk '$1 !~ /^d/ {print $6}' "$work/$pkg.contents" >> "$work/all-files"
    # The control members: md5sums matching the data, and the library's shlibs and trigger.
    dpkg-deb -e "$d" "$work/$pkg.control"
    dpkg-deb -x "$d" "$root"
    [ -s "$work/$pkg.control/md5sums" ] || die "$d has no md5sums"
    (cd "$root" && md5sum --quiet -c "$work/$pkg.control/md5sums") || die "$d: md5sums do not match"
    echo "$pkg $version: $(stat -c %s "$d") bytes, Depends: $(dpkg-deb -f "$d" Depends)"
done
dup=$(sort "$work/all-files" | uniq -d)
[ -z "$dup" ] || die "in more than one package: $dup"
grep -qx "libswiftnats 0 libswiftnats0 (>= ${version%%-*}), libswiftnats0 (<< [0-9]*\.[0-9]*)" "$work/libswiftnats0.control/shlibs" \
    || die "libswiftnats0: wrong shlibs: $(cat "$work/libswiftnats0.control/shlibs")"
grep -qx "activate-noawait ldconfig" "$work/libswiftnats0.control/triggers" || die "libswiftnats0: no ldconfig trigger"
grep -q "^Depends: .*libswiftnats0 (= $version)" "$work/libswiftnats-dev.control/control" || die "libswiftnats-dev does not depend on libswiftnats0 (= $version)"
for pkg in libswiftnats0 swiftnats-tools; do
    grep -q '^Depends: .*libc6' "$work/$pkg.control/control" || die "$pkg has no computed Depends"
done
echo "package contents, modes, md5sums, shlibs, trigger: ok"

# ------------------------------------------------------- the unpacked files ---
[ "$("$root/usr/bin/snats" --version)" = "${version%%-*}" ] || die "snats --version is not ${version%%-*}"
for elf in "$root/usr/bin/snats" "$root/usr/lib/libswiftnats.so.0"; do
    ldd "$elf" | grep 'not found' && die "${elf#"$root"}: libraries not found"
    runpath=$(readelf -d "$elf" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')
    tr ':' '\n' <<<"$runpath" | grep -v -e '^$' -e '^\$ORIGIN' && die "${elf#"$root"}: RUNPATH $runpath leaves the package"
    echo "${elf#"$root"}: libraries resolve, RUNPATH ${runpath:-none}"
done
grep -rl /opt/swift "$root" && die "the files above name /opt/swift (the toolchain)"
# check-install.sh reads the man page uncompressed (as make install stages it): give it one.
zcat "$root/usr/share/man/man1/snats.1.gz" > "$root/usr/share/man/man1/snats.1"
"$here/scripts/check-install.sh" "$root/usr"
echo "unpacked packages: ok"

if command -v lintian >/dev/null; then
    lintian "${deb[@]}" > "$work/lintian.log" 2>&1 || true
    cat "$work/lintian.log"
    grep -q '^E:' "$work/lintian.log" && die "lintian reports errors"
    echo "lintian: no errors"
else
    echo "lintian is not installed: not run"
fi

# ------------------------------------------------------------ the system route ---
if [ "$(id -u)" != 0 ] || [ -z "${CI:-}" ]; then
    echo "system install (apt-get install, then purge) skipped: it runs only as root with CI set"
    exit 0
fi
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y "${deb[@]}"
# The trigger's ldconfig puts the library in ld.so.cache (as /lib/... where /lib is /usr/lib).
ldconfig -p | grep -E 'libswiftnats\.so\.0 .*=> (/usr)?/lib/libswiftnats\.so\.0$' >/dev/null || die "the ldconfig trigger did not run"
unset PKG_CONFIG_PATH
[ "$(pkg-config --variable=prefix swiftnats)" = /usr ] || die "pkg-config finds a swiftnats.pc outside /usr (another install?)"
flags=$(pkg-config --cflags --libs swiftnats)
echo "pkg-config --cflags --libs swiftnats: $flags"
gcc -std=c11 -Wall -Wextra -Werror -o "$work/demo" "$here/bindings/c/examples/demo.c" $flags
ldd "$work/demo" > "$work/demo.ldd"  # grep -q on a pipe could end ldd with SIGPIPE (pipefail)
grep -Eq '=> (/usr)?/lib/libswiftnats\.so\.0 ' "$work/demo.ldd" || die "demo does not link /usr/lib/libswiftnats.so.0"
DEMO=$work/demo "$here/scripts/with-server.sh" sh -c '"$DEMO" "$NATS_URL"' > "$work/demo.log" 2>&1 \
    || { cat "$work/demo.log"; die "the installed demo failed"; }
cmake -S "$here/bindings/c/cmake-example" -B "$work/cmake" > "$work/cmake.log" 2>&1 \
    && cmake --build "$work/cmake" >> "$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; die "the CMake build failed"; }
grep -qx 'swiftnats_DIR:PATH=/usr/lib/cmake/swiftnats' "$work/cmake/CMakeCache.txt" || die "find_package did not find /usr/lib/cmake/swiftnats"
for program in demo tour demo_static; do
    PROGRAM=$work/cmake/$program "$here/scripts/with-server.sh" sh -c '"$PROGRAM" "$NATS_URL"' > "$work/$program.log" 2>&1 \
        || { cat "$work/$program.log"; die "the CMake-built $program failed"; }
done
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -o "$work/tour" "$here/bindings/cpp/examples/tour.cpp" $flags
TOUR=$work/tour "$here/scripts/with-server.sh" sh -c '"$TOUR" "$NATS_URL"' > "$work/tour.log" 2>&1 \
    || { cat "$work/tour.log"; die "the installed C++ tour failed"; }
[ "$(command -v snats)" = /usr/bin/snats ] && [ "$(snats --version)" = "${version%%-*}" ] || die "snats on PATH is not /usr/bin/snats ${version%%-*}"
if ! command -v man >/dev/null; then
    echo "no man: man -w snats not checked"
elif grep -qs '^path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
    echo "dpkg excludes /usr/share/man here: man -w snats not checked"
else
    [ "$(man -w snats)" = /usr/share/man/man1/snats.1.gz ] || die "man -w snats does not find the page"
fi
echo "system install (gcc and g++ + pkg-config, find_package, snats, man): ok"
DEBIAN_FRONTEND=noninteractive apt-get purge -y "${pkgs[@]}"
installed=0
for path in /usr/lib/libswiftnats.so.0 /usr/lib/libswiftnats.so /usr/lib/libswiftnats.a /usr/include/swiftnats.h \
    /usr/include/swiftnats.hpp /usr/include/swiftnats /usr/bin/snats /usr/lib/pkgconfig/swiftnats.pc; do
    [ ! -e "$path" ] || die "$path is still there after the purge"
done
for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^.i' && die "$pkg is still installed"
done
ldconfig -p | grep libswiftnats >/dev/null && die "ld.so.cache still names libswiftnats after the purge"
echo "purge: ok"
