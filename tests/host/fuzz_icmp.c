/*
 * fuzz_icmp.c - ICMP messages in valid IPv4/Ethernet headers (bit 0 keeps
 * those as written); the ICMP checksum fixed unless bit 1, the type made
 * an echo request unless bit 2.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void patch(struct fuzz_env *e, uint8_t *f, size_t len, unsigned flags)
{
    fuzz_patch_eth(e, f, len, 0x0800, flags & 1);
    fuzz_patch_ip(e, f, len, 1, flags & 1, 0);
    if (len >= 34 + 8 && !(flags & 4))
        f[34] = 8;
    if (!(flags & 2))
        fuzz_fix_l4_csum(f, len, 0, 36);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(data, size, 0, patch);
}
