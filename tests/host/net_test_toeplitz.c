/*
 * net_test_toeplitz.c - net/toeplitz.c against the verification vectors of
 * Microsoft's RSS specification (IPv4, with and without the TCP ports,
 * under its published key), and the properties a port picker relies on.
 */
#include "net/toeplitz.h"
#include "net_test.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

struct rss_vector {
    uint32_t dst, src;
    uint16_t dport, sport;
    uint32_t ipv4, ipv4_tcp;
};

/* "Verifying the RSS hash calculation", IPv4 table: destination, source,
 * the hash of the addresses alone, and with the TCP ports. */
static const struct rss_vector vectors[] = {
    {IP(161, 142, 100, 80), IP(66, 9, 149, 187), 1766, 2794, 0x323e8fc2, 0x51ccc178},
    {IP(65, 69, 140, 83), IP(199, 92, 111, 2), 4739, 14230, 0xd718262a, 0xc626b0ea},
    {IP(12, 22, 207, 184), IP(24, 19, 198, 95), 38024, 12898, 0xd2d0a5de, 0x5c2b394a},
    {IP(209, 142, 163, 6), IP(38, 27, 205, 30), 2217, 48228, 0x82989176, 0xafc7327f},
    {IP(202, 188, 127, 2), IP(153, 39, 163, 191), 1303, 44251, 0x5d1809c5, 0x10e828a2},
};

TEST(toeplitz_matches_the_rss_verification_suite)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct rss_vector *v = &vectors[i];
        CHECK_UINT_EQ(toeplitz_ipv4(toeplitz_default_key, v->src, v->dst), v->ipv4);
        CHECK_UINT_EQ(toeplitz_ipv4_ports(toeplitz_default_key, v->src, v->dst, v->sport, v->dport),
                      v->ipv4_tcp);
    }
}

TEST(toeplitz_is_linear_in_its_input)
{
    /* XOR of two inputs hashes to the XOR of their hashes: what lets a
     * port picker precompute the address part once. */
    uint8_t a[12] = {10, 0, 9, 1, 10, 0, 9, 2, 0x9c, 0x40, 0, 80};
    uint8_t b[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0};
    uint8_t x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (uint8_t)(a[i] ^ b[i]);
    const uint8_t *k = toeplitz_default_key;
    CHECK_UINT_EQ(toeplitz_hash(k, TOEPLITZ_KEY_LEN, x, 12),
                  toeplitz_hash(k, TOEPLITZ_KEY_LEN, a, 12) ^
                      toeplitz_hash(k, TOEPLITZ_KEY_LEN, b, 12));
}

TEST(toeplitz_refuses_a_key_shorter_than_input_plus_four)
{
    uint8_t in[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    CHECK_UINT_EQ(toeplitz_hash(toeplitz_default_key, 15, in, 12), 0);
    CHECK(toeplitz_hash(toeplitz_default_key, 16, in, 12) != 0);
}

TEST(toeplitz_spreads_source_ports_over_two_queues)
{
    /* One peer, one service port, 64 client ports: both values of the
     * hash's low bit come up (an indirection table of two entries). */
    int seen[2] = {0, 0};
    for (uint16_t p = 40000; p < 40064; p++)
        seen[toeplitz_ipv4_ports(toeplitz_default_key, IP(10, 0, 9, 1), IP(10, 0, 9, 2), p, 80) &
             1]++;
    CHECK(seen[0] > 8 && seen[1] > 8);
}

TEST(toeplitz_queue_is_the_indirection_table_entry)
{
    /* The table the driver programs, built here on its own: entry e holds
     * queue e % queues; the device reads entry hash % 128. */
    for (unsigned queues = 1; queues <= 8; queues++) {
        uint16_t table[128];
        for (unsigned e = 0; e < 128; e++)
            table[e] = (uint16_t)(e % queues);
        unsigned seen[8] = {0};
        for (uint16_t p = 40000; p < 42000; p++) {
            uint32_t h = toeplitz_ipv4_ports(toeplitz_default_key, IP(10, 0, 9, 1),
                                             IP(10, 0, 9, 2), p, 80);
            unsigned q = toeplitz_queue(h, 128, queues);
            CHECK_UINT_EQ(q, table[h % 128]);
            seen[q]++;
        }
        /* 2,000 flows spread: every queue gets at least half its share. */
        for (unsigned q = 0; q < queues; q++)
            CHECK(seen[q] >= 2000 / queues / 2);
    }
    CHECK_UINT_EQ(toeplitz_queue(0xFFFFFFFFu, 128, 0), 0);
}

TEST(toeplitz_queue_partitions_local_ports_between_stacks)
{
    /* What kernel/net.c's port_ok does for an active open: a stack keeps a
     * local port only if the peer's answers (source: the peer) hash to its
     * queue. The four stacks' choices split the port range between them,
     * no port twice, each about a quarter: no two stacks can open the same
     * 4-tuple, and none runs short of ports. */
    const uint32_t us = IP(10, 0, 9, 2), peer = IP(10, 0, 9, 1);
    unsigned kept[4] = {0}, total = 0;
    for (uint32_t lport = 49152; lport < 49152 + 4096; lport++) {
        unsigned owners = 0;
        for (unsigned mine = 0; mine < 4; mine++) {
            uint32_t h = toeplitz_ipv4_ports(toeplitz_default_key, peer, us, 8080,
                                             (uint16_t)lport);
            if (toeplitz_queue(h, 128, 4) == mine) {
                kept[mine]++;
                owners++;
            }
        }
        CHECK_UINT_EQ(owners, 1);
        total += owners;
    }
    CHECK_UINT_EQ(total, 4096);
    for (unsigned mine = 0; mine < 4; mine++)
        CHECK(kept[mine] > 4096 / 4 / 2 && kept[mine] < 4096 / 4 * 2);
}
