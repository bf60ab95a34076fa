# Makefile - smbpolicy.  One non-recursive build; every top-level folder adds
# its own rules in DIR/build.mk (lib, cli, agent, plugins, endpoint, audit,
# dist, tests).  Outputs: build/bin, build/plugins, build/lib, build/tests,
# build/fuzz.  `make SANITIZE=1 BUILD=build-asan` is the ASan+UBSan build.
#
# Contract (README.md): `make demo`, `make check`; also `make bench`,
# `make fuzz`, `make install DESTDIR=... PREFIX=...`.

BUILD    ?= build
SANITIZE ?=
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
FUZZ_CC  ?= clang
PKG_CONFIG ?= pkg-config

# Every library the project links; -I flags are harmless where unused.
PKGS := libxml-2.0 sqlite3 libcrypto libssl libsystemd cmocka gnutls libngtcp2 krb5-gssapi \
	libngtcp2_crypto_gnutls libnftables libcurl
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
pkglibs = $(shell $(PKG_CONFIG) --libs $(1))

CPPFLAGS += -D_GNU_SOURCE -Ilib -Iendpoint \
	-DSMBPOLICY_SRCDIR=\"$(CURDIR)\" \
	-DSMBPOLICY_DATADIR=\"$(PREFIX)/share/smbpolicy\" \
	-DSMBPOLICY_PLUGINDIR=\"$(PREFIX)/lib/smbpolicy/plugins\"
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -fPIC -MMD -MP $(PKG_CFLAGS)
LDFLAGS  ?=
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	-Ilib -Iendpoint -DSMBPOLICY_SRCDIR=\"$(CURDIR)\" \
	-DSMBPOLICY_DATADIR=\"$(PREFIX)/share/smbpolicy\" -DSMBPOLICY_PLUGINDIR=\"\" $(PKG_CFLAGS)

# Fragments append to these.
BINS        :=
PLUGINS     :=
UNIT_TESTS  :=
FUZZERS     :=
BENCHES     :=
INSTALL_TARGETS :=
STATIC_LIBS :=
# V=1 shows whole command lines.
Q := $(if $(V),,@)

all: build-all

include $(sort $(wildcard */build.mk))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

build-all: $(STATIC_LIBS) $(BINS) $(PLUGINS)
tests-build: $(UNIT_TESTS) $(BENCHES)
fuzz-build: $(FUZZERS)

# The deps script runs first and the rest in a sub-make, so pkg-config sees
# the libraries it has just installed.
deps:
	@scripts/deps

check: deps
	@$(MAKE) --no-print-directory _check

_check:
	@$(MAKE) --no-print-directory build-all tests-build
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 build-all tests-build
	@$(MAKE) --no-print-directory fuzz-build
	@tests/run-tests

demo: deps
	@$(MAKE) --no-print-directory build-all
	@scripts/demo

bench: deps
	@$(MAKE) --no-print-directory build-all tests-build
	@bench/run

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-300} tests/fuzz/run

install: build-all $(INSTALL_TARGETS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/smbpolicy
	for b in $(BINS); do install -m 0755 $$b $(DESTDIR)$(PREFIX)/bin/; done
	cp -r schema/. $(DESTDIR)$(PREFIX)/share/smbpolicy/
	if [ -n "$(PLUGINS)" ]; then install -d $(DESTDIR)$(PREFIX)/lib/smbpolicy/plugins && \
		install -m 0644 $(PLUGINS) $(DESTDIR)$(PREFIX)/lib/smbpolicy/plugins/; fi

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all build-all tests-build fuzz-build deps check _check demo bench fuzz install clean

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
