# kmbuild - see README.md. Targets: all (default), check, demo, install, clean, format.
PKGS      := libkmod libelf libarchive libcurl openssl
CC        ?= cc
PKG_CONFIG ?= pkg-config
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
LIBDIR_KMB ?= $(PREFIX)/lib/kmbuild
DATADIR   ?= $(PREFIX)/share/kmbuild
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# Hooks (hooks/install-hooks): the package managers look in fixed places, not under PREFIX.
KERNELHOOKDIR ?= $(SYSCONFDIR)/kernel
KERNELINSTALLDIR ?= /usr/lib/kernel/install.d
ALPMDIR   ?= /usr/share/libalpm
SYSTEMDUNITDIR ?= /usr/lib/systemd/system

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wmissing-prototypes
CFLAGS    ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -iquote src \
	      -DKMB_DATADIR='"$(DATADIR)"' $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libcurl is dlopen()ed by src/base/curl_api.c on the first download (startup cost, see there):
# its headers are used, it is not linked.
LIBS      := $(shell $(PKG_CONFIG) --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null) -lpthread -ldl

# The engine is every folder of src/ but cli/; the CLI is main.c and cli/.
ENGINE_SRC := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC    := src/main.c $(sort $(wildcard src/cli/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))

B := build
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

# Sanitizer build of the engine for the unit tests (make check runs both).
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SB := build/san
SAN_ENGINE_OBJ := $(ENGINE_SRC:%.c=$(SB)/%.o)
SAN_UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(SB)/tests/%)

# libFuzzer targets (clang): the engine again with ASan+UBSan and fuzzer coverage.
FUZZ_CC    ?= clang
FUZZ_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FB := build/fuzz
FUZZ_ENGINE_OBJ := $(ENGINE_SRC:%.c=$(FB)/%.o)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FB)/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

# Quiet by default (one line per file); V=1 shows the commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-5s %s\n' $(1) $(2)
endif

.PHONY: all check demo install clean format deps units units-san man fuzz
# Objects are inputs of several binaries: never delete them as intermediates.
.SECONDARY:

all: kmbuild kmbuild.8

kmbuild: $(ENGINE_OBJ) $(CLI_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

# -MMD -MP: each object depends on the headers it really includes (build/**/*.d).
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(SB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CCSAN,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(ENGINE_OBJ) $(LIBS) -lcmocka

$(SB)/tests/%: tests/unit/%.c $(SAN_ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LDSAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -o $@ $< $(SAN_ENGINE_OBJ) $(LIBS) -lcmocka

$(FB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CCFUZZ,$<)
	$(Q)$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_ENGINE_OBJ)
	@mkdir -p $(dir $@)
	$(call say,LDFUZZ,$@)
	$(Q)$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< \
		$(FUZZ_ENGINE_OBJ) $(LIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# The manual: the core page plus the "## " sections of each area's doc, converted.
MAN_MD := "docs/conf-formats.md=Module definitions in detail" \
	  "docs/signing.md=Signing and MOK keys" "docs/verify.md=Verification before reboot" \
	  "docs/headers.md=Kernel headers" "docs/hooks.md=Hooks and initramfs" \
	  "docs/templates.md=Templates"
kmbuild.8: docs/kmbuild.8.in scripts/md2man.py $(wildcard docs/*.md)
	python3 scripts/md2man.py $(MAN_MD) > $@.sections
	sed -e 's/@VERSION@/$(shell sed -n 's/^#define KMB_VERSION "\(.*\)"/\1/p' src/base/kmb.h)/' \
	    -e '/^\.\\" @SECTIONS@/r $@.sections' -e '/^\.\\" @SECTIONS@/d' $< > $@
	rm -f $@.sections

units: $(UNIT_BIN)
units-san: $(SAN_UNIT_BIN)
fuzz: $(FUZZ_BIN)

deps:
	scripts/install-deps

# The README's test command: installs what is missing, then runs every test.
check: deps
	$(MAKE) all units units-san fuzz
	tests/run

# The README's demo command: installs what is missing, then runs the main job in a sandbox.
demo:
	scripts/install-deps --demo
	$(MAKE) all
	scripts/demo

install: all
	install -D -m 0755 kmbuild $(DESTDIR)$(SBINDIR)/kmbuild
	install -D -m 0644 kmbuild.8 $(DESTDIR)$(MANDIR)/man8/kmbuild.8
	install -D -m 0644 scripts/kmbuild.bash-completion $(DESTDIR)$(BASHCOMPDIR)/kmbuild
	install -d $(DESTDIR)$(SYSCONFDIR)/kmbuild
	test -e $(DESTDIR)$(SYSCONFDIR)/kmbuild/kmbuild.conf || \
		install -m 0644 docs/kmbuild.conf.example $(DESTDIR)$(SYSCONFDIR)/kmbuild/kmbuild.conf
	install -d $(DESTDIR)$(DATADIR)/templates
	cp -R templates/. $(DESTDIR)$(DATADIR)/templates/
	DESTDIR="$(DESTDIR)" SBINDIR="$(SBINDIR)" KERNELHOOKDIR="$(KERNELHOOKDIR)" \
		KERNELINSTALLDIR="$(KERNELINSTALLDIR)" ALPMDIR="$(ALPMDIR)" \
		SYSTEMDUNITDIR="$(SYSTEMDUNITDIR)" hooks/install-hooks

format:
	clang-format -i $(wildcard src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.[ch])

clean:
	rm -rf build kmbuild kmbuild.8
