#!/usr/bin/env bash
# Splits a staged install (make install DESTDIR=STAGE PREFIX=/usr) into three binary packages,
# built with plain dpkg-deb (no debian/ directory in the tree, no debhelper):
#   libswiftnats0     the shared library
#   libswiftnats-dev  header(s), the .so link, libswiftnats.a if staged, pkg-config, CMake, docs
#   swiftnats-tools   snats and its man page
# Usage: scripts/build-deb.sh STAGE OUTDIR VERSION     (prints the three .deb paths)
# The files stay in /usr/lib (not the multiarch directory): swiftnats.pc says ${prefix}/lib and
# swiftnatsConfig.cmake finds its prefix three levels above itself, so both only hold there.
# SOURCE_DATE_EPOCH, when set, fixes every timestamp: two builds then give identical .debs.
set -euo pipefail
die() { echo "build-deb.sh: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: build-deb.sh STAGE OUTDIR VERSION"
stage=$(cd "$1" && pwd) || die "no stage directory $1"
mkdir -p "$2" && outdir=$(cd "$2" && pwd)
version=$3
[[ $version =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "\"$version\" is not a Debian version"
for tool in dpkg-deb dpkg-shlibdeps gzip md5sum; do
    command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install dpkg-dev)"
done
arch=$(dpkg --print-architecture)
[ -f "$stage/usr/lib/libswiftnats.so.0" ] || die "$stage is not a PREFIX=/usr stage (no usr/lib/libswiftnats.so.0)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# dpkg-shlibdeps insists on debian/control in its working directory, and finds the shlibs files
# of packages being built (ours, should snats ever link the library) in debian/*/DEBIAN.
mkdir -p "$tmp/debian"
printf 'Source: swiftnats\n\nPackage: swiftnats-tools\nArchitecture: any\n' > "$tmp/debian/control"
: > "$tmp/taken"

# take PKG PATH...: copies staged paths (files, links, whole directories) into PKG's tree.
take() {
    local pkg=$1 path; shift
    for path; do
        [ -e "$stage/$path" ] || [ -L "$stage/$path" ] || die "$path is not staged in $stage"
        (cd "$stage" && cp -a --parents "$path" "$tmp/debian/$pkg/" && find "$path" ! -type d) >> "$tmp/taken"
    done
}

copyright() {  # The repository has no LICENSE file; the project is Apache-2.0.
    install -d "$tmp/debian/$1/usr/share/doc/$1"
    cat > "$tmp/debian/$1/usr/share/doc/$1/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: swiftnats
Source: https://github.com/swiftnats/swiftnats

Files: *
Copyright: swiftnats developers
License: Apache-2.0
Comment: The binaries carry the Swift runtime (and snats Foundation) statically, from the Swift
 project: Copyright Apple Inc. and the Swift project authors, Apache-2.0 with the Runtime
 Library Exception.

License: Apache-2.0
 On Debian systems the full text of the Apache License, Version 2.0, is in
 /usr/share/common-licenses/Apache-2.0.
EOF
}

mkdir -p "$tmp/debian/"{libswiftnats0,libswiftnats-dev,swiftnats-tools}/DEBIAN
take libswiftnats0 usr/lib/libswiftnats.so.0
take libswiftnats-dev usr/lib/libswiftnats.so usr/include usr/lib/pkgconfig/swiftnats.pc \
    usr/lib/cmake/swiftnats usr/share/doc/swiftnats
if [ -e "$stage/usr/lib/libswiftnats.a" ]; then take libswiftnats-dev usr/lib/libswiftnats.a; fi
take swiftnats-tools usr/bin/snats usr/share/man/man1/snats.1
gzip -9n "$tmp/debian/swiftnats-tools/usr/share/man/man1/snats.1"
for pkg in libswiftnats0 libswiftnats-dev swiftnats-tools; do
    copyright "$pkg"
    # Debian wants a changelog in every binary package: this build's one entry.
    printf 'swiftnats (%s) unstable; urgency=medium\n\n  * Built from the swiftnats tree (make deb).\n\n -- swiftnats developers <swiftnats@users.noreply.github.com>  %s\n' \
        "$version" "$(date -R -u ${SOURCE_DATE_EPOCH:+-d "@$SOURCE_DATE_EPOCH"})" |
        gzip -9n > "$tmp/debian/$pkg/usr/share/doc/$pkg/changelog.gz"
done

# Whatever `make install` stages later must be given a package here, not dropped silently.
left=$(cd "$stage" && find usr ! -type d | sort | comm -23 - <(sort -u "$tmp/taken"))
[ -z "$left" ] || die "staged but in no package (give them one in this script):"$'\n'"$left"

# The library's shlibs (what packages built against it depend on) and the ldconfig trigger.
# Before 1.0 a minor version may change the ABI under the same soname (0.2 moved out-parameters
# first): what is built against 0.N takes any 0.N.x, never 0.(N+1).
next_minor=$(awk -F. '{ printf "%d.%d", $1, $2 + 1 }' <<<"${version%%-*}")
echo "libswiftnats 0 libswiftnats0 (>= ${version%%-*}), libswiftnats0 (<< $next_minor)" > "$tmp/debian/libswiftnats0/DEBIAN/shlibs"
echo "activate-noawait ldconfig" > "$tmp/debian/libswiftnats0/DEBIAN/triggers"

# Depends from the ELF files' NEEDED entries, as Debian's own packages compute them.
shlibdeps() {
    local out
    out=$(cd "$tmp" && dpkg-shlibdeps -O "${@/#/-e}") || die "dpkg-shlibdeps failed on $*"
    sed -n 's/^shlibs:Depends=//p' <<<"$out"
}
lib_depends=$(shlibdeps "debian/libswiftnats0/usr/lib/libswiftnats.so.0")
tools_depends=$(shlibdeps "debian/swiftnats-tools/usr/bin/snats")
[ -n "$lib_depends" ] || die "dpkg-shlibdeps found no dependencies for libswiftnats.so.0"

# control PKG SECTION DEPENDS SUMMARY DESCRIPTION: normalises the tree, writes DEBIAN/, builds.
control() {
    local pkg=$1 root=$tmp/debian/$1 size
    # =755: a plain 0755 keeps a setgid bit the checkout's directories may carry.
    find "$root" -type d -exec chmod =755 {} +
    find "$root" -type f -perm /u+x -exec chmod 0755 {} +
    find "$root" -type f ! -perm /u+x -exec chmod 0644 {} +
    # Shared libraries are not executables (Debian policy 10.9).
    find "$root" -type f -name '*.so.*' -exec chmod 0644 {} +
    # Installed-Size as dpkg-gencontrol counts it: KiB per file rounded up, 1 per dir or link.
    size=$(cd "$root" && find usr \( -type f -printf 'f %s\n' \) -o -printf 'o\n' |
        awk '{ n += ($1 == "f" ? int(($2 + 1023) / 1024) : 1) } END { print n }')
    {
        echo "Package: $pkg"
        echo "Source: swiftnats"
        echo "Version: $version"
        echo "Architecture: $arch"
        echo "Maintainer: swiftnats developers <swiftnats@users.noreply.github.com>"
        echo "Installed-Size: $size"
        [ -z "$3" ] || echo "Depends: $3"
        echo "Section: $2"
        echo "Priority: optional"
        echo "Homepage: https://github.com/swiftnats/swiftnats"
        echo "Description: $4"
        fold -s -w 72 <<<"$5" | sed -e 's/ *$//' -e 's/^/ /'
    } > "$root/DEBIAN/control"
    (cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
    chmod 0644 "$root"/DEBIAN/*
    if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
        find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    fi
    dpkg-deb --build --root-owner-group "$root" "$outdir/${pkg}_${version}_$arch.deb" >/dev/null
}

control libswiftnats0 libs "$lib_depends" \
    "NATS client library with a C ABI, written in Swift" \
    "swiftnats is a client for the NATS messaging system: publish/subscribe, request/reply, \
headers, reconnect, TLS and every NATS authentication scheme; the NATS Service API and a \
JSON-RPC layer; JetStream, the Key-Value store and the Object Store. It is written in Swift and \
exported as a plain C library; the Swift runtime is linked in, so no Swift toolchain is needed. \
This package holds the shared library."
control libswiftnats-dev libdevel "libswiftnats0 (= $version), libjansson-dev, pkgconf | pkg-config, libstdc++-dev" \
    "NATS client library with a C ABI - development files" \
    "swiftnats is a client for the NATS messaging system, written in Swift and exported as a \
plain C library. This package holds the C header, the link-time library, the pkg-config file \
(swiftnats.pc), the CMake package (find_package(swiftnats)), the documentation and the C \
examples."
control swiftnats-tools net "$tools_depends" \
    "command-line NATS client (snats)" \
    "snats publishes, subscribes, sends and answers requests, finds and calls NATS services and \
RPC methods, manages JetStream streams and consumers, Key-Value and Object Store buckets, and \
measures message rates, from the shell. It is built on swiftnats, a NATS client written in Swift."

for pkg in libswiftnats0 libswiftnats-dev swiftnats-tools; do
    echo "$outdir/${pkg}_${version}_$arch.deb"
done
