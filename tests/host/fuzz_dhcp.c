/*
 * fuzz_dhcp.c - DHCP replies to a client that is acquiring an address:
 * Ethernet/IPv4/UDP headers made valid for port 68 (bit 0 keeps them),
 * the BOOTP header (op, htype, hlen, cookie) fixed unless bit 1, xid and
 * chaddr made the client's unless bit 2. The options are the fuzzer's.
 * Time advances (high flag bits) drive retransmission, T1, T2 and expiry.
 */
#include <string.h>

#include "fuzz_common.h"
#include "net_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void patch(struct fuzz_env *e, uint8_t *f, size_t len, unsigned flags)
{
    fuzz_patch_eth(e, f, len, 0x0800, flags & 1);
    fuzz_patch_ip(e, f, len, 17, flags & 1, 0);
    if (len < 42)
        return;
    if (!(flags & 1)) {
        nf_put16(f + 34, 67);
        nf_put16(f + 36, 68);
        nf_put16(f + 38, (uint16_t)(len - 34 > 65535 ? 65535 : len - 34));
        nf_put16(f + 40, 0);
    }
    uint8_t *d = f + 42;
    if (len < 42 + 240)
        return;
    if (!(flags & 2)) {
        d[0] = 2;
        d[1] = 1;
        d[2] = 6;
        nf_put32(d + 236, 0x63825363u);
    }
    if (!(flags & 4)) {
        nf_put32(d + 4, e->h.dev.ifc.dhcp.xid);
        memcpy(d + 28, e->h.dev.ifc.mac, 6);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run(data, size, 1, patch);
}
