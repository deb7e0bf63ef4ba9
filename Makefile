# swiftnats: build, install, test, demo, bench.
#   make            release build of libswiftnats.so and snats
#   make demo       build, then run the C and Python demos (throwaway server unless NATS_URL)
#   make test       XCTest, pytest, the installed pkg-config route, the C harness under
#                   valgrind, then the C harness (its "N passed, N failed" closes the run)
#   make memcheck   the C harness under valgrind
#   make bench      swiftnats beside cnats on one nats-server
#   make install PREFIX=/usr/local DESTDIR=   /   make uninstall

PREFIX  ?= /usr/local
DESTDIR ?=
SWIFT   ?= swift

VERSION := $(shell awk '/define SNATS_VERSION_(MAJOR|MINOR|PATCH)/ {v = v (v ? "." : "") $$3} END {print v}' Include/swiftnats.h)
RELEASE := .build/release
LIB     := $(RELEASE)/libswiftnats.so
OUT     := .build/make
PY      := .venv/bin/python
VALGRIND_LIB := $(OUT)/valgrind-lib

export NATS_SERVER_BIN := $(shell scripts/find-nats-server.sh 2>/dev/null)

.PHONY: all build deps demo test test-swift test-c test-python test-install memcheck bench install uninstall clean

all: build

# SwiftPM decides what is out of date; a no-op build takes a second or two.
build:
	$(SWIFT) build -c release --product swiftnats
	$(SWIFT) build -c release --product snats
	@ln -sf libswiftnats.so $(RELEASE)/libswiftnats.so.0

deps:
	@scripts/deps.sh

# ---------------------------------------------------------------- demo ---
demo: deps build $(OUT)/examples/demo
	@echo "== C demo =="
	@NATS_SERVER_BIN=$$(scripts/find-nats-server.sh) scripts/with-server.sh sh -c '\
	    $(OUT)/examples/demo "$$NATS_URL" && echo && echo "== Python demo ==" && \
	    SWIFTNATS_LIBRARY=$(CURDIR)/$(LIB) PYTHONPATH=$(CURDIR)/bindings/python $(PY) bindings/python/examples/demo.py "$$NATS_URL"'

$(OUT)/examples/%: bindings/c/examples/%.c Include/swiftnats.h build
	@mkdir -p $(OUT)/examples
	gcc -std=c11 -O2 -Wall -Wextra -IInclude -o $@ $< -L$(RELEASE) -lswiftnats $$(pkg-config --libs jansson) -lpthread -Wl,-rpath,$(CURDIR)/$(RELEASE)

# ---------------------------------------------------------------- tests ---
test: deps build
	@$(MAKE) --no-print-directory test-swift test-python test-install memcheck test-c

test-swift:
	$(SWIFT) test

test-c: build
	Tests/c/build.sh $(RELEASE) $(OUT)
	$(OUT)/snats_ctests

test-python: build
	SWIFTNATS_LIBRARY=$(CURDIR)/$(LIB) PYTHONPATH=$(CURDIR)/bindings/python $(PY) -m pytest -q bindings/python/tests

# The route users take: install into a scratch prefix, build the C examples with
# `pkg-config --cflags --libs swiftnats` and plain gcc, and run them against a server.
test-install: build
	rm -rf $(OUT)/stage
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(OUT)/stage PREFIX=/usr
	scripts/check-install.sh $(CURDIR)/$(OUT)/stage/usr

memcheck: build
	Tests/c/build.sh $(RELEASE) $(OUT)
	rm -rf $(VALGRIND_LIB) && mkdir -p $(VALGRIND_LIB)
	cp $(LIB) $(VALGRIND_LIB)/libswiftnats.so.0
	strip --strip-debug $(VALGRIND_LIB)/libswiftnats.so.0
	SNATS_TEST_SLOW=10 SNATS_TEST_TIMEOUT=300 LD_LIBRARY_PATH=$(CURDIR)/$(VALGRIND_LIB) \
	    valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	    --suppressions=$(CURDIR)/Tests/c/valgrind.supp --trace-children=yes --trace-children-skip='*/nats-server,*/sh,*/openssl' \
	    $(OUT)/snats_ctests

# ---------------------------------------------------------------- bench ---
bench: build
	@WANT_BENCH=1 scripts/deps.sh
	SNATS_LIBDIR=$(CURDIR)/$(RELEASE) PYTHON=$(CURDIR)/$(PY) bench/run.sh

# -------------------------------------------------------------- install ---
install: build
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libswiftnats.so.0
	strip --strip-debug $(DESTDIR)$(PREFIX)/lib/libswiftnats.so.0
	ln -sf libswiftnats.so.0 $(DESTDIR)$(PREFIX)/lib/libswiftnats.so
	install -m 0644 Include/swiftnats.h $(DESTDIR)$(PREFIX)/include/swiftnats.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' pkgconfig/swiftnats.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftnats.pc
	install -m 0755 $(RELEASE)/snats $(DESTDIR)$(PREFIX)/bin/snats
	strip $(DESTDIR)$(PREFIX)/bin/snats
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null && [ "$$(id -u)" = 0 ]; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libswiftnats.so.0 $(DESTDIR)$(PREFIX)/lib/libswiftnats.so \
	    $(DESTDIR)$(PREFIX)/include/swiftnats.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftnats.pc \
	    $(DESTDIR)$(PREFIX)/bin/snats

clean:
	rm -rf $(OUT)
	$(SWIFT) package clean
