/*
 * fuzz_udp.c - UDP datagrams in valid IPv4/Ethernet headers (bit 0 keeps
 * those as written): destination port made our socket's unless bit 1,
 * length field fixed unless bit 2, checksum fixed (or, with bit 3 and a
 * length not fixed, left) - bit 3 also makes the app read.
 */
#include "fuzz_common.h"
#include "net_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void patch(struct fuzz_env *e, uint8_t *f, size_t len, unsigned flags)
{
    fuzz_patch_eth(e, f, len, 0x0800, flags & 1);
    fuzz_patch_ip(e, f, len, 17, flags & 1, 0);
    if (len < 34 + 8)
        return;
    if (!(flags & 2))
        nf_put16(f + 36, FUZZ_UDP_PORT);
    if (!(flags & 4))
        nf_put16(f + 38, (uint16_t)(len - 34 > 65535 ? 65535 : len - 34));
    if (!(flags & 4) || !(flags & 8))
        fuzz_fix_l4_csum(f, len, 17, 40);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(data, size, 0, patch);
}
