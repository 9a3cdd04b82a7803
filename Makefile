# esfm: SR-IOV Virtual Function manager for KVM hosts.
#
#   make              build esfm, esfm-hook (build/release/)
#   make check        build with ASan+UBSan (build/check/) and run every test
#   make e2e          run the nested SR-IOV + VFIO + libvirt test bed
#   make bench        print speed and memory numbers
#   make fuzz         run every libFuzzer harness (clang) 10^6 times, print the figures
#   make crash        SIGKILL esfm processes at random points 1000 times, check the invariants
#   make demo         run the demo
#   make install      DESTDIR= PREFIX= (default /usr/local)
#   make qemu         build the patched QEMU with device_pause (qemu/, cached in /var/tmp)
#   make qemu-check   test the patched QEMU's device_pause error paths over QMP
#   make install-qemu install it as $(PREFIX)/libexec/esfm/qemu-system-x86_64

# The installation layout is decided here only: the binaries are built with it
# (src/paths.h) and `esfm --print-paths` tells install.sh and man/mkman.sh.
VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR   ?= $(PREFIX)/share
MANDIR    ?= $(DATADIR)/man
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
SYSCONFDIR ?= /etc
PATH_DEFS := -DESFM_PREFIX='"$(PREFIX)"' -DESFM_BINDIR='"$(BINDIR)"' \
             -DESFM_LIBEXECDIR='"$(LIBEXECDIR)/esfm"' -DESFM_DATADIR='"$(DATADIR)/esfm"' \
             -DESFM_MANDIR='"$(MANDIR)"' -DESFM_COMPLETIONDIR='"$(COMPLETIONDIR)"' \
             -DESFM_SYSCONFROOT='"$(SYSCONFDIR)"' -DESFM_SYSCONFDIR='"$(SYSCONFDIR)/esfm"' \
             -DESFM_HOOKSDIR='"$(SYSCONFDIR)/libvirt/hooks"'

CC        ?= cc
PKGS      := libvirt libvirt-qemu libxml-2.0 json-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS  := $(shell pkg-config --libs $(PKGS))

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wmissing-prototypes \
             -Wstrict-prototypes -Wpointer-arith -Wvla
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g $(WARN) -DESFM_VERSION='"$(VERSION)"' $(PATH_DEFS) \
             -Isrc $(PKG_CFLAGS)

ifeq ($(SANITIZE),1)
BUILDDIR  ?= build/check
OPT       := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
BUILDDIR  ?= build/release
OPT       := -O2
endif

ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif
ALL_LDFLAGS := $(OPT) $(LDFLAGS)

LIB_SRCS  := $(filter-out src/esfm.c,$(wildcard src/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILDDIR)/%.o)
LIB       := $(BUILDDIR)/libesfm.a

ESFM      := $(BUILDDIR)/esfm
HOOK      := $(BUILDDIR)/esfm-hook
HANDLER   := $(BUILDDIR)/esfm-hook-handler
WORKER    := $(BUILDDIR)/esfm-hook-worker
# esfm-hook runs at every VM start on the host: a libc-only front, static
# where the toolchain allows (not with the sanitizers). The handler runs at
# every annotated start: it links libxml2 only, not libvirt's ~60 shared
# objects, and statically too, because resolving libxml2, ICU and libstdc++
# at each run was most of its time (make bench). valgrind cannot follow
# malloc in a static program: HANDLER_DYN is the same handler linked
# dynamically, for tests/integration/valgrind.sh. The worker links libvirt.
HANDLER_DYN_LIBS := -Wl,--as-needed $(shell pkg-config --libs libxml-2.0)
ifeq ($(SANITIZE),1)
HOOK_STATIC :=
HANDLER_LIBS := $(HANDLER_DYN_LIBS)
else
HOOK_STATIC := -static
HANDLER_LIBS := -static $(shell pkg-config --libs --static libxml-2.0) -lstdc++
endif
HANDLER_DYN := $(BUILDDIR)/tests/esfm-hook-handler-dynamic

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILDDIR)/%)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILDDIR)/%)
# Fuzz harnesses: tests/fuzz/fuzz_<name>.c. `make check` replays their corpora through
# replay-<name> (the entry point with a plain driver, under the build's sanitizers);
# `make fuzz` links them with libFuzzer (clang) as fuzz-<name>.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILDDIR)/tests/fuzz/replay-%)
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILDDIR)/tests/fuzz/fuzz-%)
FUZZ_CFLAGS := -Ihooks -Itests/fuzz -DESFM_FUZZ_TOP='"$(CURDIR)"'
SIM_SRCS  := $(wildcard tests/sim/*.c)
SIM       := $(BUILDDIR)/tests/sim/esfm-sysfs-sim

.PHONY: all tools tests check e2e bench crash fuzz fuzz-bins demo install uninstall clean format \
	qemu qemu-check install-qemu uninstall-qemu

all: $(ESFM) $(HOOK) $(HANDLER) $(WORKER)

# Objects are rebuilt when the flags (which carry PREFIX and SYSCONFDIR) change.
FLAGS_STAMP := $(BUILDDIR)/.cflags
$(shell mkdir -p $(BUILDDIR); echo '$(ALL_CFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(ALL_CFLAGS)' > $(FLAGS_STAMP))

$(BUILDDIR)/%.o: %.c $(wildcard src/*.h hooks/*.h) Makefile $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(ESFM): $(BUILDDIR)/src/esfm.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(HOOK): $(BUILDDIR)/hooks/esfm-hook.o $(BUILDDIR)/hooks/hookscan.o $(BUILDDIR)/hooks/novascan.o
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) $(HOOK_STATIC) -o $@ $^

# libxml2.a names getaddrinfo (nanohttp) and ICU dlopen: linked, never called
# (the XML is parsed from memory with XML_PARSE_NONET); ld's warnings say so.
$(HANDLER): $(BUILDDIR)/hooks/esfm-hook-handler.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(HANDLER_LIBS) 2>$@.ld || { cat $@.ld >&2; exit 1; }
	@grep -v -e 'in statically linked applications requires' -e ': in function' $@.ld >&2 || true
	@rm -f $@.ld

$(HANDLER_DYN): $(BUILDDIR)/hooks/esfm-hook-handler.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(HANDLER_DYN_LIBS)

$(WORKER): $(BUILDDIR)/hooks/esfm-hook-worker.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# tests/unit/<test>.ldflags may add linker flags, e.g. -Wl,--wrap=rename.
# The hook front's libc-only parts (hooks/novascan.c) are linked in for their unit tests.
$(BUILDDIR)/tests/unit/%: tests/unit/%.c $(LIB) $(BUILDDIR)/hooks/novascan.o $(wildcard tests/unit/*.h) \
		$(wildcard tests/unit/*.ldflags)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags cmocka) -Itests/unit -Ihooks -o $@ $< $(LIB) \
		$(BUILDDIR)/hooks/novascan.o \
		$(PKG_LIBS) $(shell pkg-config --libs cmocka) $(ALL_LDFLAGS) \
		$(shell cat tests/unit/$*.ldflags 2>/dev/null)

$(BUILDDIR)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TOOL    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(ALL_LDFLAGS)

$(BUILDDIR)/tests/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(LIB) \
		$(BUILDDIR)/hooks/hookscan.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  REPLAY  $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) \
		$(BUILDDIR)/hooks/hookscan.o $(PKG_LIBS) $(ALL_LDFLAGS)

$(BUILDDIR)/tests/fuzz/fuzz-%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(LIB) $(BUILDDIR)/hooks/hookscan.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) \
		$(BUILDDIR)/hooks/hookscan.o $(PKG_LIBS) $(ALL_LDFLAGS) -fsanitize=fuzzer

$(SIM): $(SIM_SRCS) $(wildcard tests/sim/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SIM     $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags fuse3) -o $@ $(SIM_SRCS) \
		$(shell pkg-config --libs fuse3) -lpthread $(ALL_LDFLAGS)

tests: all $(HANDLER_DYN) $(UNIT_BINS) $(TOOL_BINS) $(REPLAY_BINS) $(if $(SIM_SRCS),$(SIM))

# What the nested test bed needs: the programs and the test tools, no unit tests.
tools: all $(TOOL_BINS)

# The sanitized build runs every test; the release build is what valgrind checks.
check:
	$(MAKE) SANITIZE=1 tests
	$(MAKE) tests
	tests/run-tests.sh build/check

e2e:
	$(MAKE) all
	tests/e2e/run-e2e.sh

NOOP_HOOK := $(BUILDDIR)/tests/bench/noop-hook

$(NOOP_HOOK): tests/bench/noop-hook.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(HOOK_STATIC) -o $@ $<

bench:
	$(MAKE) tests $(NOOP_HOOK)
	tests/bench/run-bench.sh build/release

# Crash injection (tests/integration/crash-inject.sh; make check runs 50 kills of it):
# ESFM_CRASH_KILLS (default 1000) and ESFM_CRASH_SEED (printed, to replay a run).
crash:
	$(MAKE) tests
	ESFM_BUILD=$(CURDIR)/build/release ESFM_TOP=$(CURDIR) ESFM_CRASH_KILLS=$${ESFM_CRASH_KILLS:-1000} \
		tests/integration/crash-inject.sh

# libFuzzer needs clang; the library is built again with coverage instrumentation.
fuzz-bins: $(FUZZ_BINS)

fuzz:
	$(MAKE) CC=clang BUILDDIR=build/fuzz SANITIZE=1 CFLAGS=-fsanitize=fuzzer-no-link fuzz-bins
	tests/fuzz/run-fuzz.sh build/fuzz

demo:
	tests/demo/run-demo.sh

# Man pages from man/*.in and `esfm --help` (see man/mkman.sh); --strict: a command or
# option of --help that esfm(1) does not document is an error.
.PHONY: man
man: $(ESFM)
	man/mkman.sh --strict --esfm $(ESFM) --out $(BUILDDIR)/man

# Files and links only, no signal to libvirtd (see install.sh --help); ./install.sh
# alone also sends SIGHUP to a running libvirtd so that it picks up the hook. Where
# everything goes is what the binaries were built for (esfm --print-paths).
install: all
	./install.sh --destdir "$(DESTDIR)" --builddir "$(BUILDDIR)" --files-only

uninstall:
	./install.sh --uninstall --destdir "$(DESTDIR)" --builddir "$(BUILDDIR)"

# The patched QEMU (qemu/README.md): Debian 12's qemu source + Debian's patches + ours,
# built once per source version, patch set and configure line, cached under
# /var/tmp/esfm-qemu; the binary lands in build/qemu/bin/qemu-system-x86_64.
QEMU_BIN := build/qemu/bin/qemu-system-x86_64

qemu:
	qemu/esfm-qemu.sh build build/qemu

qemu-check: qemu
	/usr/bin/python3 tests/qemu/qmp-pause.py $(QEMU_BIN)

# Where a domain's <emulator> can name it; see qemu/README.md for libvirt and AppArmor.
install-qemu:
	@test -x $(QEMU_BIN) || { echo "install-qemu: $(QEMU_BIN) is missing; run make qemu first" >&2; exit 1; }
	install -D -m 0755 $(QEMU_BIN) "$(DESTDIR)$(LIBEXECDIR)/esfm/qemu-system-x86_64"

uninstall-qemu:
	rm -f "$(DESTDIR)$(LIBEXECDIR)/esfm/qemu-system-x86_64"

clean:
	rm -rf build

format:
	clang-format -i $(wildcard src/*.c src/*.h hooks/*.c hooks/*.h tests/fuzz/*.c tests/fuzz/*.h tests/unit/*.c tests/unit/*.h tests/sim/*.c tests/sim/*.h tests/tools/*.c)
