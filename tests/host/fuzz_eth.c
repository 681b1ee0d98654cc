/*
 * fuzz_eth.c - raw frames into net_input (the stack's one receive entry
 * point), no help: every byte is the fuzzer's.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(data, size, size > 0 && (data[0] & 1), NULL);
}
