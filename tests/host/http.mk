# tests/host/http.mk - apps/webserver's portable code on the host: unit
# tests, the kernel-flags check, the mksite.py check and a libFuzzer target.
# Included by tests/host/host.mk after net.mk (it reuses net.mk's kernel
# flags and fuzz variables), before host.mk's rules.
#
# Targets:
#   webserver_test (in HOST_TESTS)  site.c and http.c with lib/http under
#                             ASan/UBSan: tests/host/site_test.c and
#                             tests/host/http_test.c, with the in-memory
#                             archive packer of tests/host/fuzz_http.c and
#                             lib/http's fake transport (http_lib_fake.c)
#   host-webserver-check      those sources compile warning-free with the
#                             kernel's flags, their headers are
#                             self-contained (run by host-test)
#   host-mksite-check         tools/mksite.py: same input, same bytes; clear
#                             failures for a missing or empty folder and a
#                             name needing escapes; site.c opens its output
#                             (run by host-test)
#   fuzz_http (in FUZZ_TARGETS, picked up by net.mk's wildcard): the request
#                             stream and the archive validator

HOST_WS_SRCS := $(filter-out apps/webserver/main.c,$(sort $(wildcard apps/webserver/*.c)))
HOST_WS_HDRS := $(sort $(wildcard apps/webserver/*.h))

HOST_TESTS += webserver_test
HOST_webserver_test_SRCS := tests/host/runner.c tests/host/site_test.c tests/host/http_test.c \
	tests/host/fuzz_http.c tests/host/http_lib_fake.c $(HOST_WS_SRCS) \
	$(filter-out lib/http/serve.c,$(sort $(wildcard lib/http/*.c)))
$(addprefix $(HOST_BUILD)/tests/host/,site_test.o http_test.o fuzz_http.o): HOST_TEST_CFLAGS += -I. -Iinclude

$(HOST_BUILD)/apps/webserver/%.o: apps/webserver/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) -Iinclude -c $< -o $@

.PHONY: host-webserver-check host-mksite-check
host-webserver-check:
	@for f in $(HOST_WS_SRCS); do \
		$(HOST_CC) $(HOST_NET_KERNEL_CFLAGS) -Iinclude -c $$f -o /dev/null || exit 1; \
	done
	@for h in $(HOST_WS_HDRS); do \
		echo '#include "'$$h'"' | $(HOST_CC) $(HOST_NET_KERNEL_CFLAGS) -Iinclude -x c -fsyntax-only - \
			|| { echo "$$h is not self-contained"; exit 1; }; \
	done
	@echo "webserver: sources clean with kernel flags, headers self-contained"

HOST_WS_DIR := $(HOST_BUILD)/mksite
HOST_WS_EXTRA := --extra bench/4k.bin=4K --extra bench/1m.bin=1M
HOST_WS_MKSITE := python3 tools/mksite.py
host-mksite-check: $(HOST_BUILD)/webserver_test
	@rm -rf $(HOST_WS_DIR) && mkdir -p $(HOST_WS_DIR)/copy $(HOST_WS_DIR)/empty/sub $(HOST_WS_DIR)/bad
	@$(HOST_WS_MKSITE) $(HOST_WS_EXTRA) apps/webserver/site $(HOST_WS_DIR)/a.bin
	@# the same files, written in another order with other times: the same archive
	@for f in $$(cd apps/webserver/site && find . -type f | sort -r); do \
		mkdir -p $(HOST_WS_DIR)/copy/$$(dirname $$f); \
		cp apps/webserver/site/$$f $(HOST_WS_DIR)/copy/$$f; \
	done
	@touch -d '2001-02-03 04:05:06' $$(find $(HOST_WS_DIR)/copy -type f)
	@$(HOST_WS_MKSITE) $(HOST_WS_EXTRA) $(HOST_WS_DIR)/copy $(HOST_WS_DIR)/b.bin
	@cmp $(HOST_WS_DIR)/a.bin $(HOST_WS_DIR)/b.bin || { echo "mksite: not deterministic"; exit 1; }
	@for d in missing empty bad; do \
		test $$d != bad || echo x > '$(HOST_WS_DIR)/bad/a b.html'; \
		if $(HOST_WS_MKSITE) $(HOST_WS_DIR)/$$d $(HOST_WS_DIR)/x.bin 2>$(HOST_WS_DIR)/err; then \
			echo "mksite: accepted the $$d site"; exit 1; \
		fi; \
		grep -q '^mksite: ' $(HOST_WS_DIR)/err || { cat $(HOST_WS_DIR)/err; exit 1; }; \
	done
	@WS_SITE_ARCHIVE=$(HOST_WS_DIR)/a.bin $(HOST_RUN_ENV) $(HOST_BUILD)/webserver_test mksite \
		| tail -n 1 | grep -q '^[1-9][0-9]* passed, 0 failed' \
		|| { echo "mksite: site.c rejects its archive"; exit 1; }
	@echo "mksite: deterministic, refuses bad sites, output opens in site.c"

host-test: host-webserver-check host-mksite-check

# --- fuzzing: fuzz_http links the webserver sources, not net/ ----------------

FUZZ_WS_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(HOST_WS_SRCS))
$(FUZZ_WS_OBJS) $(FUZZ_BUILD)/tests/host/fuzz_http.o: FUZZ_CFLAGS += -Iinclude
# lib/http and the fake transport: fuzz_http_lib's objects (http_lib.mk)
$(FUZZ_BUILD)/fuzz_http: $(FUZZ_BUILD)/tests/host/fuzz_http.o $(FUZZ_WS_OBJS) \
		$(patsubst %.c,$(FUZZ_BUILD)/%.o,$(filter-out lib/http/serve.c,$(sort $(wildcard lib/http/*.c))) tests/host/http_lib_fake.c)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^

# Seeds ([mode][...], see fuzz_http.c): requests piece by piece, a pipeline,
# and archive patches.
$(FUZZ_BUILD)/seeds-http.stamp: tests/host/http.mk
	@mkdir -p $(FUZZ_BUILD)/seeds/fuzz_http
	@printf '\000GET / HTTP/1.1\r\nHost: a\r\n\r\n' > $(FUZZ_BUILD)/seeds/fuzz_http/get
	@printf '\006GET /a.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=5-9\r\n\r\nHEAD /docs/ HTTP/1.1\r\nHost: a\r\nIf-None-Match: W/"x", *\r\n\r\nGET /_stats HTTP/1.0\r\nConnection: keep-alive\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc' \
		> $(FUZZ_BUILD)/seeds/fuzz_http/pipeline
	@printf '\002GET http://h/big.bin?x HTTP/1.1\r\nHost: h\r\nRange: bytes=-100\r\nIf-Range: "0"\r\nConnection: close\r\n\r\n' \
		> $(FUZZ_BUILD)/seeds/fuzz_http/absolute
	@printf '\001\014\000\001\100\000\200\300\001\001' > $(FUZZ_BUILD)/seeds/fuzz_http/archive
	@touch $@

fuzz-build: $(FUZZ_BUILD)/seeds-http.stamp

-include $(FUZZ_WS_OBJS:.o=.d)
