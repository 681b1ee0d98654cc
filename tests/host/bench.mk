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
#                        segments its frames, unmeasured).
#
# Built WITHOUT sanitizers (-O2 -g), objects in build/host/bench/, net/'s
# malloc family not renamed (the host's).

BENCH_BUILD := build/host/bench
BENCH_CFLAGS := -std=gnu11 -O2 -g -fno-omit-frame-pointer $(HOST_WARN) -I. -Itests/host -MMD -MP
BENCH_TCP_SRCS := tests/host/bench_tcp.c tests/host/netsim.c $(sort $(wildcard net/*.c))
BENCH_TCP_OBJS := $(patsubst %.c,$(BENCH_BUILD)/%.o,$(BENCH_TCP_SRCS))
BENCH_CALLGRIND := valgrind --tool=callgrind --collect-atstart=no \
	--toggle-collect='bench_stack_*'

$(BENCH_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_CC) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_BUILD)/bench_tcp: $(BENCH_TCP_OBJS)
	$(HOST_CC) -o $@ $^

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

-include $(BENCH_TCP_OBJS:.o=.d)
