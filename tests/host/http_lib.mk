# tests/host/http_lib.mk - lib/http (include/zebu_http.h) on the host: unit
# tests, the app-flags check and a libFuzzer target. Included by
# tests/host/host.mk after net.mk (it reuses its flags and fuzz variables).
#
# Targets:
#   http_lib_test (in HOST_TESTS)  lib/http's portable sources (all but
#                             serve.c) under ASan/UBSan:
#                             tests/host/http_lib_test.c through the
#                             in-memory transport of http_lib_fake.c
#   host-httplib-check        every lib/http/*.c (serve.c too) compiles
#                             warning-free with the app's flags, the public
#                             header is self-contained, and lib/http
#                             includes only libc and include/zebu*.h
#                             (run by host-test)
#   fuzz_http_lib (in FUZZ_TARGETS, picked up by net.mk's wildcard): client
#                             byte streams through a whole connection, and
#                             JSON texts through the reader and writer

HOST_HTTPLIB_SRCS := $(filter-out lib/http/serve.c,$(sort $(wildcard lib/http/*.c)))

HOST_TESTS += http_lib_test
HOST_http_lib_test_SRCS := tests/host/runner.c tests/host/http_lib_test.c \
	tests/host/http_lib_fake.c $(HOST_HTTPLIB_SRCS)
$(addprefix $(HOST_BUILD)/tests/host/,http_lib_test.o http_lib_fake.o): HOST_TEST_CFLAGS += -Iinclude

# One server, connections served from several threads at once (an app
# serving on every core): counters exact, and under ThreadSanitizer no race.
HOST_TESTS += http_lib_threads_test http_lib_threads_test_tsan
HOST_http_lib_threads_test_SRCS := tests/host/runner.c tests/host/http_lib_threads_test.c \
	tests/host/http_lib_fake.c $(HOST_HTTPLIB_SRCS)
HOST_http_lib_threads_test_tsan_OBJS := \
	$(patsubst %.c,$(HOST_BUILD)/tsan/%.o,$(HOST_http_lib_threads_test_SRCS))
$(addprefix $(HOST_BUILD)/tests/host/,http_lib_threads_test.o): HOST_TEST_CFLAGS += -Iinclude
$(HOST_http_lib_threads_test_tsan_OBJS): HOST_TSAN_DEFS := -Iinclude
$(HOST_BUILD)/http_lib_threads_test: HOST_LDFLAGS += -pthread
$(HOST_BUILD)/http_lib_threads_test_tsan: HOST_LDFLAGS := -fsanitize=thread -pthread

$(HOST_BUILD)/lib/http/%.o: lib/http/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) -Iinclude -c $< -o $@

# The Makefile's APP_CFLAGS as far as they matter to C (net.mk's kernel
# flags without -mgeneral-regs-only).
HOST_HTTPLIB_APP_CFLAGS := $(filter-out -mgeneral-regs-only,$(HOST_NET_KERNEL_CFLAGS))

.PHONY: host-httplib-check
host-httplib-check:
	@for f in lib/http/*.c; do \
		$(HOST_CC) $(HOST_HTTPLIB_APP_CFLAGS) -c $$f -o /dev/null || exit 1; \
	done
	@echo '#include <zebu_http.h>' | $(HOST_CC) $(HOST_HTTPLIB_APP_CFLAGS) -x c -fsyntax-only - \
		|| { echo "include/zebu_http.h is not self-contained"; exit 1; }
	@bad=$$(grep -nE '^\s*#\s*include' lib/http/*.c lib/http/*.h | \
		grep -vE '<(errno|stdbool|stddef|stdint|stdio|stdlib|string)\.h>|<zebu(_http)?\.h>|"http_internal\.h"'); \
		if [ -n "$$bad" ]; then echo "lib/http includes beyond libc and zebu*.h:"; echo "$$bad"; exit 1; fi
	@grep -l 'zebu\.h' lib/http/*.c | grep -qvx lib/http/serve.c \
		&& { echo "lib/http: only serve.c may include zebu.h"; exit 1; } || true
	@echo "lib/http: sources clean with app flags, header self-contained, includes libc and zebu*.h only"

host-test: host-httplib-check

# --- fuzzing: fuzz_http_lib links lib/http, not net/ -------------------------

FUZZ_HTTPLIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(HOST_HTTPLIB_SRCS) tests/host/http_lib_fake.c)
$(FUZZ_HTTPLIB_OBJS) $(FUZZ_BUILD)/tests/host/fuzz_http_lib.o: FUZZ_CFLAGS += -Iinclude
$(FUZZ_BUILD)/fuzz_http_lib: $(FUZZ_BUILD)/tests/host/fuzz_http_lib.o $(FUZZ_HTTPLIB_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^

# Seeds ([mode][...], see fuzz_http_lib.c): a pipeline of every body kind,
# 100-continue, and JSON texts.
$(FUZZ_BUILD)/seeds-http-lib.stamp: tests/host/http_lib.mk
	@mkdir -p $(FUZZ_BUILD)/seeds/fuzz_http_lib
	@printf '\000POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcPOST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\nGET /stream HTTP/1.1\r\nHost: a\r\n\r\nHEAD /ref HTTP/1.1\r\nHost: a\r\n\r\nGET /json?a=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' \
		> $(FUZZ_BUILD)/seeds/fuzz_http_lib/pipeline
	@printf '\006POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiPOST /json HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n{"a":[1,"x",true]}  DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n' \
		> $(FUZZ_BUILD)/seeds/fuzz_http_lib/continue
	@printf '\001{"a": [1, -2.5e3, "\\u00e9\\ud83d\\ude00", true, false, null, {}], "b": {"c": "x\\n"}}' \
		> $(FUZZ_BUILD)/seeds/fuzz_http_lib/json
	@touch $@

fuzz-build: $(FUZZ_BUILD)/seeds-http-lib.stamp

-include $(FUZZ_HTTPLIB_OBJS:.o=.d)
