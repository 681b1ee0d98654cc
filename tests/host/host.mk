# tests/host/host.mk - host unit tests, built with the host compiler under
# AddressSanitizer and UndefinedBehaviorSanitizer (the *_tsan binaries under
# ThreadSanitizer instead).
#
# Included by the top-level Makefile (which runs from the repository root),
# or used alone:  make -f tests/host/host.mk host-test
#
# Targets:
#   host-test        build every binary in HOST_TESTS, run them all; fails if
#                    any test fails or a sanitizer reports
#   host-libc-check  libc headers are self-contained and libc compiles
#                    warning-free with the kernel's flags (run by host-test;
#                    printf_sse.c with SSE allowed, as the Makefile builds it)
#   host-clean       remove build/host
#
# Adding a test binary `foo`: append foo to HOST_TESTS and define
#   HOST_foo_SRCS     host-side sources (host headers, normal hosted C)
#   HOST_foo_FS_SRCS  optional: sources built against libc/include instead
#   HOST_foo_OBJS     optional: extra objects to link, e.g. $(HOST_LIBC_OBJS)
# tests/host/runner.c provides main() and the TEST()/CHECK() runner.
#
# Our libc defines memcpy, snprintf, ... just like the host's, so its
# sources are compiled with a forced include of tests/host/libc_rename.h
# that prefixes every symbol with zt_; tests call zt_* and compare with the
# host's functions.

# Remember the including Makefile's default goal: including this file must
# not make host-test the default. Run alone, host-test is the default.
HOST_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

HOST_CC ?= cc
HOST_BUILD := build/host
HOST_GCC_INCLUDE := $(shell $(HOST_CC) -print-file-name=include)

HOST_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
HOST_WARN := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wshadow
HOST_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(HOST_SANITIZE) $(HOST_WARN) -MMD -MP
HOST_LDFLAGS := $(HOST_SANITIZE)

# Our headers only (freestanding: gcc's stddef.h/stdint.h/stdarg.h, which
# need -ffreestanding to not #include_next a C library's), our symbols
# renamed. -fno-builtin and -fno-tree-loop-distribute-patterns as in the
# kernel build, so that we test our code and not gcc's builtins.
HOST_FS_CFLAGS := $(HOST_CFLAGS) -ffreestanding -nostdinc -isystem $(HOST_GCC_INCLUDE) \
	-Ilibc/include -fno-builtin -fno-tree-loop-distribute-patterns
HOST_LIBC_CFLAGS := $(HOST_FS_CFLAGS) -Ilibc -include tests/host/libc_rename.h
HOST_TEST_CFLAGS := $(HOST_CFLAGS) -Itests/host

HOST_RUN_ENV := ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TSAN_OPTIONS=halt_on_error=1:exitcode=66

# The *_tsan binaries: ThreadSanitizer instead, objects in $(HOST_BUILD)/tsan/.
HOST_TSAN_CFLAGS := $(filter-out $(HOST_SANITIZE),$(HOST_CFLAGS)) -fsanitize=thread -Itests/host

HOST_LIBC_SRCS := $(sort $(wildcard libc/*.c))
HOST_LIBC_OBJS := $(patsubst %.c,$(HOST_BUILD)/%.o,$(HOST_LIBC_SRCS))

# --- test binaries -----------------------------------------------------------

HOST_TESTS := libc_test
HOST_libc_test_SRCS := tests/host/runner.c $(sort $(wildcard tests/host/libc_test_*.c))
HOST_libc_test_FS_SRCS := tests/host/libc_probe_headers.c
HOST_libc_test_OBJS := $(HOST_LIBC_OBJS)

# drivers/acpi.c and drivers/platform_devices.c are pure (no kernel
# headers), so they build as ordinary host C.
HOST_TESTS += acpi_test
HOST_acpi_test_SRCS := tests/host/runner.c tests/host/acpi_test.c drivers/acpi.c \
	drivers/platform_devices.c
$(HOST_BUILD)/tests/host/acpi_test.o $(HOST_BUILD)/drivers/acpi.o \
	$(HOST_BUILD)/drivers/platform_devices.o: HOST_TEST_CFLAGS += -I.

# kernel/ksyms.c is pure too: the test supplies a table in mksyms.py's format.
HOST_TESTS += ksyms_test
HOST_ksyms_test_SRCS := tests/host/runner.c tests/host/ksyms_test.c kernel/ksyms.c
$(HOST_BUILD)/tests/host/ksyms_test.o $(HOST_BUILD)/kernel/ksyms.o: HOST_TEST_CFLAGS += -I.

# drivers/rtc_time.c is pure too: the RTC's registers to dates and Unix time.
HOST_TESTS += rtc_test
HOST_rtc_test_SRCS := tests/host/runner.c tests/host/rtc_test.c drivers/rtc_time.c
$(HOST_BUILD)/tests/host/rtc_test.o $(HOST_BUILD)/drivers/rtc_time.o: HOST_TEST_CFLAGS += -I.

# kernel/chacha20.c is pure: zebu_random's generator against known answers.
HOST_TESTS += random_test
HOST_random_test_SRCS := tests/host/runner.c tests/host/random_test.c kernel/chacha20.c
$(HOST_BUILD)/tests/host/random_test.o: HOST_TEST_CFLAGS += -I.

# kernel/mpsc.h and kernel/kmalloc.c (threads as cores), each built twice:
# under ASan+UBSan and, as *_tsan, under ThreadSanitizer. kmalloc.c finds the
# host's kmalloc_env.h in tests/host/shim (searched before -I.), and its
# malloc family is renamed km_* so that it does not replace the host's.
HOST_KM_INC := -Itests/host/shim -I.
HOST_KM_RENAME := -Dmalloc=km_malloc -Dfree=km_free -Dcalloc=km_calloc -Drealloc=km_realloc \
	-Daligned_alloc=km_aligned_alloc
HOST_TESTS += mpsc_test kmalloc_test mpsc_test_tsan kmalloc_test_tsan
HOST_mpsc_test_SRCS := tests/host/runner.c tests/host/mpsc_test.c
HOST_kmalloc_test_SRCS := tests/host/runner.c tests/host/kmalloc_test.c \
	tests/host/kmalloc_test_fail.c tests/host/kmalloc_test_cross.c tests/host/kmalloc_shim.c \
	kernel/kmalloc.c
HOST_mpsc_test_tsan_OBJS := $(patsubst %.c,$(HOST_BUILD)/tsan/%.o,$(HOST_mpsc_test_SRCS))
HOST_kmalloc_test_tsan_OBJS := $(patsubst %.c,$(HOST_BUILD)/tsan/%.o,$(HOST_kmalloc_test_SRCS))
$(addprefix $(HOST_BUILD)/tests/host/,mpsc_test.o kmalloc_test.o kmalloc_test_fail.o \
	kmalloc_test_cross.o kmalloc_shim.o): HOST_TEST_CFLAGS += $(HOST_KM_INC)
$(HOST_BUILD)/mpsc_test $(HOST_BUILD)/kmalloc_test: HOST_LDFLAGS += -pthread
$(HOST_BUILD)/mpsc_test_tsan $(HOST_BUILD)/kmalloc_test_tsan: HOST_LDFLAGS := -fsanitize=thread -pthread
$(HOST_BUILD)/tsan/kernel/kmalloc.o: HOST_TSAN_DEFS := $(HOST_KM_RENAME)

# net/: unit tests, kernel-flags check, fuzz targets (see the file).
include tests/host/net.mk
# apps/webserver's portable code: unit tests, kernel-flags and mksite checks, fuzz_http.
include tests/host/http.mk
# lib/http, the HTTP/1.1 server library: unit tests, app-flags check, fuzz_http_lib.
include tests/host/http_lib.mk
# apps/kv's store: unit tests, also under ThreadSanitizer.
include tests/host/kv.mk
# host benchmarks of net/ (make bench-tcp-callgrind; part of make bench)
include tests/host/bench.mk

# --- rules -------------------------------------------------------------------

define HOST_TEST_RULES
HOST_$(1)_ALL_OBJS := $$(patsubst %.c,$$(HOST_BUILD)/%.o,$$(HOST_$(1)_SRCS)) \
	$$(patsubst %.c,$$(HOST_BUILD)/%.fs.o,$$(HOST_$(1)_FS_SRCS)) $$(HOST_$(1)_OBJS)
HOST_ALL_OBJS += $$(HOST_$(1)_ALL_OBJS)
$$(HOST_BUILD)/$(1): $$(HOST_$(1)_ALL_OBJS)
	$$(HOST_CC) -o $$@ $$^ $$(HOST_LDFLAGS)
endef
$(foreach t,$(HOST_TESTS),$(eval $(call HOST_TEST_RULES,$(t))))

$(HOST_BUILD)/libc/%.o: libc/%.c tests/host/libc_rename.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_LIBC_CFLAGS) -c $< -o $@

$(HOST_BUILD)/tests/host/%.fs.o: tests/host/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_FS_CFLAGS) -Itests/host -c $< -o $@

$(HOST_BUILD)/tests/host/%.o: tests/host/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) -c $< -o $@

$(HOST_BUILD)/drivers/%.o: drivers/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) -c $< -o $@

$(HOST_BUILD)/kernel/chacha20.o: kernel/chacha20.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) -I. -c $< -o $@

$(HOST_BUILD)/kernel/ksyms.o: kernel/ksyms.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) -c $< -o $@

$(HOST_BUILD)/kernel/kmalloc.o: kernel/kmalloc.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) $(HOST_KM_INC) $(HOST_KM_RENAME) -c $< -o $@

$(HOST_BUILD)/tsan/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TSAN_CFLAGS) $(HOST_KM_INC) $(HOST_TSAN_DEFS) -c $< -o $@

.PHONY: host-test host-libc-check host-clean
host-test: $(addprefix $(HOST_BUILD)/,$(HOST_TESTS)) host-libc-check
	@status=0; for t in $(HOST_TESTS); do \
		echo "== $$t"; $(HOST_RUN_ENV) $(HOST_BUILD)/$$t || status=1; \
	done; exit $$status

# The kernel's flags for libc (see libc/include headers for the contract).
HOST_KERNEL_LIBC_CFLAGS := -std=gnu11 -O2 -ffreestanding -nostdinc -isystem $(HOST_GCC_INCLUDE) \
	-Ilibc/include -fno-builtin -fno-tree-loop-distribute-patterns -fno-stack-protector \
	-mno-red-zone -mgeneral-regs-only -fno-pic -mcmodel=kernel -fno-omit-frame-pointer \
	$(HOST_WARN)
host-libc-check:
	@for h in libc/include/*.h; do \
		echo '#include "'$$h'"' | $(HOST_CC) $(HOST_KERNEL_LIBC_CFLAGS) -I. -x c -fsyntax-only - \
			|| { echo "$$h is not self-contained"; exit 1; }; \
	done
	@for f in $(HOST_LIBC_SRCS); do \
		flags="$(HOST_KERNEL_LIBC_CFLAGS)"; \
		[ $$f = libc/printf_sse.c ] && flags="$(filter-out -mgeneral-regs-only,$(HOST_KERNEL_LIBC_CFLAGS))"; \
		$(HOST_CC) $$flags -fsyntax-only $$f || exit 1; \
	done
	@echo "libc: headers self-contained, sources clean with kernel flags"

host-clean:
	rm -rf $(HOST_BUILD)

-include $(HOST_ALL_OBJS:.o=.d)

ifeq ($(HOST_SAVED_DEFAULT_GOAL),)
ifeq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := host-test
else
.DEFAULT_GOAL :=
endif
else
.DEFAULT_GOAL := $(HOST_SAVED_DEFAULT_GOAL)
endif
