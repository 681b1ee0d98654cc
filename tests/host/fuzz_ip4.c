/*
 * fuzz_ip4.c - IPv4 packets: Ethernet header fixed (bit 0 keeps it), the
 * IPv4 header made valid (bit 1 keeps it) but its fragment field left as
 * written - so reassembly sees every offset and flag - and the protocol
 * chosen between ICMP and UDP by bit 2.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void patch(struct fuzz_env *e, uint8_t *f, size_t len, unsigned flags)
{
    fuzz_patch_eth(e, f, len, 0x0800, flags & 1);
    fuzz_patch_ip(e, f, len, flags & 4 ? 1 : 17, flags & 2, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(data, size, 0, patch);
}
