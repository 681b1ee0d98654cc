/*
 * fuzz_arp.c - frames made ARP: EtherType and our MAC fixed (bit 0 keeps
 * them), hardware/protocol types and lengths fixed (bit 1), the target
 * address made ours (bit 2).
 */
#include "fuzz_common.h"
#include "net_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void patch(struct fuzz_env *e, uint8_t *f, size_t len, unsigned flags)
{
    fuzz_patch_eth(e, f, len, 0x0806, flags & 1);
    if (len < 14 + 28)
        return;
    if (!(flags & 2)) {
        nf_put16(f + 14, 1);
        nf_put16(f + 16, 0x0800);
        f[18] = 6;
        f[19] = 4;
        f[21] = 1 + (f[21] & 1); /* request or reply */
        f[20] = 0;
    }
    if (!(flags & 4))
        nf_put32(f + 38, FUZZ_OUR_IP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(data, size, 0, patch);
}
