/*
 * net_test.h - shared helpers for the net/ unit tests (net_test_*.c).
 */
#ifndef ZEBU_TESTS_HOST_NET_TEST_H
#define ZEBU_TESTS_HOST_NET_TEST_H

#include <errno.h>

#include "net/stack.h"
#include "net_fake.h"
#include "net_fault.h"
#include "net_frames.h"
#include "runner.h"

#define OUR_IP  NF_IP(10, 0, 0, 2)
#define PEER_IP NF_IP(10, 0, 0, 9)
#define GW_IP   NF_IP(10, 0, 0, 1)
#define MASK24  0xffffff00u

#define DROPS(h, reason) ((h)->dev.ifc.cnt.drops[NET_DROP_##reason])

/* A host at OUR_IP/24 (gw GW_IP) with fake_mac_a; its gratuitous ARP is
 * consumed (checked) so the transmit list starts empty. */
void nt_host(struct fake_host *h, uint32_t features);

/* Put PEER_IP -> fake_mac_peer into h's ARP cache (by an ARP request from
 * the peer for our address) and discard our reply. */
void nt_learn_peer(struct fake_host *h);

/* Tear down and check that nothing leaked: transmit buffers, device
 * buffers, net/ heap allocations. */
#define NT_DESTROY(h)                                                                              \
    do {                                                                                           \
        CHECK_UINT_EQ((h)->st.tcp.tq_missed, 0); /* every armed timer was queued */              \
        fake_host_destroy(h);                                                                      \
        CHECK_INT_EQ((h)->fp.tx_live, 0);                                                          \
        CHECK_INT_EQ((h)->dev.rx_live, 0);                                                         \
        CHECK_INT_EQ(net_fault_live(), 0);                                                         \
    } while (0)

/* The next transmitted frame, or a failed check and NULL. */
struct fake_frame *nt_pop(struct fake_host *h, const char *file, int line);
#define NT_POP(h) nt_pop((h), __FILE__, __LINE__)

/*
 * A counter as net_format_counters prints it, for tests to read the stack's
 * counters the way its operator does rather than its fields: the line that
 * starts with path[0], then each later label of path in turn within that
 * line, and the number after the last one ("tcp syn cookies:", "accepted").
 * A failed check and 0 when the line, a label or the number is missing.
 * path ends with NULL; NT_COUNTER(st, "line", "label", ...) adds it.
 */
uint64_t nt_counter(const struct net_stack *st, const char *file, int line,
                    const char *const *path);
#define NT_COUNTER(st, ...)                                                                        \
    nt_counter((st), __FILE__, __LINE__, (const char *const[]){__VA_ARGS__, NULL})

/* Whether a captured IPv4 frame's IP header and transport checksums
 * verify (independent implementation). */
int nt_ip_csum_ok(const uint8_t *frame, size_t len);
int nt_l4_csum_ok(const uint8_t *frame, size_t len);

#endif /* ZEBU_TESTS_HOST_NET_TEST_H */
