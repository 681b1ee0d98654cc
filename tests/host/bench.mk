# tests/host/bench.mk - host benchmarks of net/. Included by tests/host/host.mk
# (after net.mk).
#
# Targets:
#   bench-tcp-callgrind  16 MiB one way between two net/ stacks
#                        (tests/host/bench_tcp.c), zero copy and the copying
#                        slow paths, each under callgrind with collection on
#                        only inside the bench_stack_* wrappers (the calls
#                        into net/); prints instructions per payload byte and
#                        per data segment, and the ratio to the copying run;
#                        then zero copy with TSO on the sender (the harness
#                        segments its frames, unmeasured); then 2,000
#                        connections one after another (connect, request,
#                        4 KiB response, server closes first and keeps the
#                        TIME-WAIT): instructions per connection; and 2,000
#                        such exchanges on one keep-alive connection.
#   bench-tcp-lwip       the same transfer through Debian's lwIP
#                        (liblwip-dev 2.1.3: tests/host/bench_lwip.c, linked
#                        against /usr/lib/.../liblwip.so with the package's
#                        headers and lwipopts.h), and net/ in the runs above
#                        plus zerocopy-swcsum and copy-swcsum (no checksum
#                        offload, as lwIP is built); prints Ir per payload
#                        byte and per segment against lwIP's. Needs
#                        `tools/deps.sh bench`; not part of make test.
#
# Built WITHOUT sanitizers (-O2 -g), objects in build/host/bench/, net/'s
# malloc family not renamed (the host's).

BENCH_BUILD := build/host/bench
BENCH_CFLAGS := -std=gnu11 -O2 -g -fno-omit-frame-pointer $(HOST_WARN) -I. -Itests/host -MMD -MP
BENCH_TCP_SRCS := tests/host/bench_tcp.c tests/host/bench_common.c tests/host/netsim.c $(sort $(wildcard net/*.c))
BENCH_TCP_OBJS := $(patsubst %.c,$(BENCH_BUILD)/%.o,$(BENCH_TCP_SRCS))
BENCH_CALLGRIND := valgrind --tool=callgrind --collect-atstart=no \
	--toggle-collect='bench_stack_*'

$(BENCH_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_CC) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_BUILD)/bench_tcp: $(BENCH_TCP_OBJS)
	$(HOST_CC) -o $@ $^

# Debian's lwIP: headers and lwipopts.h in /usr/include/lwip (as system
# headers: their warnings are not ours), the shared library only.
LWIP_INC := /usr/include/lwip
BENCH_LWIP_OBJS := $(BENCH_BUILD)/tests/host/bench_lwip.o $(BENCH_BUILD)/tests/host/bench_common.o \
	$(BENCH_BUILD)/tests/host/netsim.o

$(BENCH_BUILD)/tests/host/bench_lwip.o: BENCH_CFLAGS += -isystem $(LWIP_INC)

$(BENCH_BUILD)/bench_lwip: $(BENCH_LWIP_OBJS)
	$(HOST_CC) -o $@ $^ -llwip

.PHONY: bench-tcp-callgrind
bench-tcp-callgrind: $(BENCH_BUILD)/bench_tcp
	@command -v valgrind >/dev/null || { echo "bench-tcp-callgrind: needs valgrind" \
		"(tools/deps.sh bench)"; exit 1; }
	@for m in zerocopy copy tso; do \
		$(BENCH_CALLGRIND) --callgrind-out-file=$(BENCH_BUILD)/callgrind.$$m.out \
			$(BENCH_BUILD)/bench_tcp $$m >$(BENCH_BUILD)/bench_tcp.$$m.txt \
			2>$(BENCH_BUILD)/bench_tcp.$$m.log \
			|| { cat $(BENCH_BUILD)/bench_tcp.$$m.txt; tail -n 20 $(BENCH_BUILD)/bench_tcp.$$m.log; \
			     exit 1; }; \
	done
	@$(BENCH_BUILD)/bench_tcp report $(BENCH_BUILD)/bench_tcp.zerocopy.txt \
		$(BENCH_BUILD)/callgrind.zerocopy.out $(BENCH_BUILD)/bench_tcp.copy.txt \
		$(BENCH_BUILD)/callgrind.copy.out $(BENCH_BUILD)/bench_tcp.tso.txt \
		$(BENCH_BUILD)/callgrind.tso.out
	$(call bench_callgrind,bench_tcp,connections keepalive)
	@$(BENCH_BUILD)/bench_tcp conn-report $(BENCH_BUILD)/bench_tcp.connections.txt \
		$(BENCH_BUILD)/callgrind.connections.out $(BENCH_BUILD)/bench_tcp.keepalive.txt \
		$(BENCH_BUILD)/callgrind.keepalive.out

# The same loop for any runs: $(call bench_callgrind,BINARY,MODES).
define bench_callgrind
	@for m in $(2); do \
		$(BENCH_CALLGRIND) --callgrind-out-file=$(BENCH_BUILD)/callgrind.$$m.out \
			$(BENCH_BUILD)/$(1) $$m >$(BENCH_BUILD)/$(1).$$m.txt \
			2>$(BENCH_BUILD)/$(1).$$m.log \
			|| { cat $(BENCH_BUILD)/$(1).$$m.txt; tail -n 20 $(BENCH_BUILD)/$(1).$$m.log; \
			     exit 1; }; \
	done
endef

# LD_BIND_NOW: the library's symbols are bound before the first measured
# call, so no lazy PLT resolution is counted.
.PHONY: bench-tcp-lwip
bench-tcp-lwip: $(BENCH_BUILD)/bench_tcp
	@command -v valgrind >/dev/null && [ -e $(LWIP_INC)/lwipopts.h ] || { \
		echo "bench-tcp-lwip: needs valgrind and liblwip-dev (tools/deps.sh bench)"; exit 1; }
	@$(MAKE) --no-print-directory $(BENCH_BUILD)/bench_lwip
	@LD_BIND_NOW=1 $(BENCH_CALLGRIND) --callgrind-out-file=$(BENCH_BUILD)/callgrind.lwip.out \
		$(BENCH_BUILD)/bench_lwip run >$(BENCH_BUILD)/bench_lwip.run.txt \
		2>$(BENCH_BUILD)/bench_lwip.run.log \
		|| { cat $(BENCH_BUILD)/bench_lwip.run.txt; tail -n 20 $(BENCH_BUILD)/bench_lwip.run.log; \
		     exit 1; }
	$(call bench_callgrind,bench_tcp,zerocopy copy tso zerocopy-swcsum copy-swcsum)
	@$(BENCH_BUILD)/bench_lwip report \
		"lwIP (sw csum, tx copy)" $(BENCH_BUILD)/bench_lwip.run.txt $(BENCH_BUILD)/callgrind.lwip.out \
		"Zebu zerocopy, sw csum" $(BENCH_BUILD)/bench_tcp.zerocopy-swcsum.txt \
			$(BENCH_BUILD)/callgrind.zerocopy-swcsum.out \
		"Zebu copy, sw csum" $(BENCH_BUILD)/bench_tcp.copy-swcsum.txt \
			$(BENCH_BUILD)/callgrind.copy-swcsum.out \
		"Zebu zerocopy, offload" $(BENCH_BUILD)/bench_tcp.zerocopy.txt \
			$(BENCH_BUILD)/callgrind.zerocopy.out \
		"Zebu copy, offload" $(BENCH_BUILD)/bench_tcp.copy.txt $(BENCH_BUILD)/callgrind.copy.out \
		"Zebu zerocopy+TSO, offload" $(BENCH_BUILD)/bench_tcp.tso.txt \
			$(BENCH_BUILD)/callgrind.tso.out

-include $(BENCH_TCP_OBJS:.o=.d) $(BENCH_LWIP_OBJS:.o=.d)
