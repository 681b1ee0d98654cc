# tests/host/net.mk - net/ on the host: unit tests, the kernel-flags check,
# and libFuzzer targets. Included by tests/host/host.mk before its rules.
#
# Targets:
#   net_test (in HOST_TESTS)  unit tests: net/*.c + fake device + seeded link
#                             + scripted TCP peer, under ASan/UBSan with leak
#                             checking
#   host-net-check            every net/*.c compiles warning-free with the
#                             kernel's flags, every net/*.h is self-contained
#                             (run by host-test)
#   fuzz-smoke                build the fuzz targets with clang and run each
#                             for FUZZ_SMOKE_SECONDS (5) - not part of host-test
#   fuzz-long                 the same for FUZZ_SECONDS (300) each
#
# In net_test, net/'s malloc, calloc and free are renamed (objcopy) to the
# counting, failing allocator of tests/host/net_fault.c.

HOST_NET_SRCS := $(sort $(wildcard net/*.c))

HOST_TESTS += net_test
HOST_net_test_SRCS := tests/host/runner.c $(sort $(wildcard tests/host/net_test_*.c)) \
	tests/host/net_fake.c tests/host/net_frames.c tests/host/netsim.c tests/host/net_fault.c \
	tests/host/net_tcp_script.c tests/host/net_tcp_fixture.c $(HOST_NET_SRCS)
$(HOST_BUILD)/tests/host/net_%.o: HOST_TEST_CFLAGS += -I.
$(HOST_BUILD)/net_test: HOST_LDFLAGS += -lm

HOST_NET_RENAME := --redefine-sym malloc=net_test_malloc --redefine-sym calloc=net_test_calloc \
	--redefine-sym free=net_test_free
$(HOST_BUILD)/net/%.o: net/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) -I. -c $< -o $@
	objcopy $(HOST_NET_RENAME) $@

# The Makefile's BASE_CFLAGS + KERNEL_CFLAGS, as far as they matter to C.
HOST_NET_KERNEL_CFLAGS := -std=gnu11 -D_LIBC_LIMITS_H_ -O2 -ffreestanding -nostdinc \
	-isystem $(HOST_GCC_INCLUDE) -Ilibc/include -Iinclude -I. -fno-pie -fno-pic -mno-red-zone \
	-mcmodel=small -fno-stack-protector -fno-omit-frame-pointer -fno-common \
	-mgeneral-regs-only $(HOST_WARN)

.PHONY: host-net-check fuzz-build fuzz-smoke fuzz-long
host-net-check:
	@for f in $(HOST_NET_SRCS); do \
		$(HOST_CC) $(HOST_NET_KERNEL_CFLAGS) -c $$f -o /dev/null || exit 1; \
	done
	@for h in net/*.h; do \
		echo '#include "'$$h'"' | $(HOST_CC) $(HOST_NET_KERNEL_CFLAGS) -x c -fsyntax-only - \
			|| { echo "$$h is not self-contained"; exit 1; }; \
	done
	@echo "net: sources clean with kernel flags, headers self-contained"

host-test: host-net-check

# --- fuzzing ---------------------------------------------------------------

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_BUILD := $(HOST_BUILD)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	-I. -Itests/host $(HOST_WARN) -MMD -MP
FUZZ_TARGETS := $(sort $(patsubst tests/host/%.c,%,$(filter-out \
	tests/host/fuzz_common.c tests/host/fuzz_seeds.c,$(wildcard tests/host/fuzz_*.c))))
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(HOST_NET_SRCS) tests/host/net_fake.c \
	tests/host/netsim.c tests/host/net_frames.c tests/host/fuzz_common.c)
FUZZ_RUN := ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/host/fuzz_%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^

# Seed corpora: valid frames of every kind, written by a host program.
$(FUZZ_BUILD)/fuzz_seeds: tests/host/fuzz_seeds.c tests/host/net_frames.c tests/host/net_frames.h
	@mkdir -p $(@D)
	$(HOST_CC) -std=gnu11 -O1 $(HOST_WARN) -Itests/host -o $@ tests/host/fuzz_seeds.c \
		tests/host/net_frames.c

fuzz-build: $(addprefix $(FUZZ_BUILD)/,$(FUZZ_TARGETS) fuzz_seeds)

# run each target for $(1) seconds on its corpus (kept in build/host/fuzz).
define FUZZ_RUN_ALL
	@$(FUZZ_BUILD)/fuzz_seeds $(FUZZ_BUILD)/seeds
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		echo "== $$t ($(1) s)"; \
		$(FUZZ_RUN) $(FUZZ_BUILD)/$$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/seeds/$$t \
			2>$(FUZZ_BUILD)/$$t.log || { tail -n 60 $(FUZZ_BUILD)/$$t.log; exit 1; }; \
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+.*DONE' \
			$(FUZZ_BUILD)/$$t.log | tr '\n' ' '; echo; \
	done
endef

fuzz-smoke: fuzz-build
	$(call FUZZ_RUN_ALL,$(FUZZ_SMOKE_SECONDS))

fuzz-long: fuzz-build
	$(call FUZZ_RUN_ALL,$(FUZZ_SECONDS))

-include $(FUZZ_LIB_OBJS:.o=.d) $(patsubst %,$(FUZZ_BUILD)/tests/host/%.d,$(FUZZ_TARGETS))
