/*
 * fuzz_common.h - shared harness of the libFuzzer targets (fuzz_*.c).
 *
 * Every target is fed whole Ethernet frames. An input is a sequence of
 * records: [flags][length: 2 bytes, big-endian][frame], the last frame
 * taking whatever bytes remain. Before each frame the clock advances by
 * (flags >> 4) * 250 ms (running the stack's timers); the low 4 bits are
 * the target's: each set bit leaves one field of the frame as the fuzzer
 * wrote it, each clear bit makes it valid (right EtherType, our address,
 * correct length or checksum...), so the fuzzer reaches deep parsers and
 * still tries every invalid value. A stack is built per input and torn
 * down after it; a leaked buffer aborts the run.
 */
#ifndef ZEBU_TESTS_HOST_FUZZ_COMMON_H
#define ZEBU_TESTS_HOST_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "net_fake.h"

#define FUZZ_OUR_IP   0x0a000002u /* 10.0.0.2/24, gw 10.0.0.1 */
#define FUZZ_PEER_IP  0x0a000009u
#define FUZZ_UDP_PORT 7

struct fuzz_env {
    struct fake_host h;
    struct udp_sock *sock; /* bound to FUZZ_UDP_PORT */
};

/* Make frame f (len bytes, a private copy) what the target wants. */
typedef void (*fuzz_patch_fn)(struct fuzz_env *e, uint8_t *f, size_t len, unsigned flags);

/* Run one input. dhcp: the interface has no address and its DHCP client
 * is started; else it is configured statically. Always returns 0. */
int fuzz_run(const uint8_t *data, size_t size, int dhcp, fuzz_patch_fn patch);

/* Patch helpers; each checks len itself. The bit arguments say which
 * fields to leave alone. */
void fuzz_patch_eth(struct fuzz_env *e, uint8_t *f, size_t len, uint16_t type, int keep);
/* IPv4 header: version/IHL, total length, destination, TTL, protocol,
 * checksum - all fixed unless keep; frag keeps the fragment field. */
void fuzz_patch_ip(struct fuzz_env *e, uint8_t *f, size_t len, uint8_t proto, int keep, int frag);
/* Checksum over [start, end) of the frame with the IPv4 pseudo-header
 * (proto != 0) or without, stored at field. */
void fuzz_fix_l4_csum(uint8_t *f, size_t len, uint8_t proto, size_t field);

#endif /* ZEBU_TESTS_HOST_FUZZ_COMMON_H */
