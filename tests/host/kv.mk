# tests/host/kv.mk - apps/kv's store (apps/kv/store.c, portable C) on the
# host: kv_store_test under ASan+UBSan and kv_store_test_tsan under
# ThreadSanitizer (its threads hammer overlapping keys). Included by
# tests/host/host.mk.

HOST_TESTS += kv_store_test kv_store_test_tsan
HOST_kv_store_test_SRCS := tests/host/runner.c tests/host/kv_store_test.c apps/kv/store.c \
	apps/kv/key.c
HOST_kv_store_test_tsan_OBJS := $(patsubst %.c,$(HOST_BUILD)/tsan/%.o,$(HOST_kv_store_test_SRCS))
$(HOST_BUILD)/kv_store_test: HOST_LDFLAGS += -pthread
$(HOST_BUILD)/kv_store_test_tsan: HOST_LDFLAGS := -fsanitize=thread -pthread

$(HOST_BUILD)/apps/kv/%.o: apps/kv/%.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TEST_CFLAGS) -c $< -o $@
