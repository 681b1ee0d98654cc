/*
 * net_test_config.c - static configuration parsing, address printing, drop
 * reason names and the counter table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/config.h"
#include "net/iface.h"
#include "net_test.h"

TEST(net_parse_ip4_accepts_exact_dotted_quads)
{
    uint32_t ip = 1;

    CHECK_INT_EQ(net_parse_ip4("10.0.0.2", &ip), 0);
    CHECK_UINT_EQ(ip, NF_IP(10, 0, 0, 2));
    CHECK_INT_EQ(net_parse_ip4("0.0.0.0", &ip), 0);
    CHECK_UINT_EQ(ip, 0);
    CHECK_INT_EQ(net_parse_ip4("255.255.255.255", &ip), 0);
    CHECK_UINT_EQ(ip, 0xffffffffu);
}

TEST(net_parse_ip4_refuses_everything_else)
{
    static const char *const bad[] = {
        "",           "10",        "10.0.0",      "10.0.0.2.", ".10.0.0.2",        "10..0.2",
        "10.0.0.256", "10.0.0.-1", "10.0.0.+1",   " 10.0.0.2", "10.0.0.2 ",        "10.0.0.02",
        "010.0.0.2",  "a.b.c.d",   "10.0.0.2/24", "1.2.3.4.5", "4294967296.0.0.0", "10.0.0.1x",
    };
    uint32_t ip = 77;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = net_parse_ip4(bad[i], &ip);
        CHECK_AT(__FILE__, __LINE__, r == -EINVAL, "\"%s\" gave %d", bad[i], r);
    }
    CHECK_INT_EQ(net_parse_ip4(NULL, &ip), -EINVAL);
    CHECK_UINT_EQ(ip, 77); /* untouched on failure */
}

TEST(net_parse_cidr_and_masks)
{
    uint32_t ip, mask;

    CHECK_INT_EQ(net_parse_cidr("10.0.0.2/24", &ip, &mask), 0);
    CHECK(ip == NF_IP(10, 0, 0, 2) && mask == 0xffffff00u);
    CHECK_INT_EQ(net_parse_cidr("192.168.1.7", &ip, &mask), 0);
    CHECK_UINT_EQ(mask, 0xffffff00u);
    CHECK_INT_EQ(net_parse_cidr("10.1.2.3/8", &ip, &mask), 0);
    CHECK_UINT_EQ(mask, 0xff000000u);
    CHECK_INT_EQ(net_parse_cidr("10.1.2.3/32", &ip, &mask), 0);
    CHECK_UINT_EQ(mask, 0xffffffffu);
    CHECK_INT_EQ(net_parse_cidr("10.1.2.3/0", &ip, &mask), 0);
    CHECK_UINT_EQ(mask, 0);
    CHECK_INT_EQ(net_parse_cidr("10.1.2.3/33", &ip, &mask), -EINVAL);
    CHECK_INT_EQ(net_parse_cidr("10.1.2.3/", &ip, &mask), -EINVAL);
    CHECK_INT_EQ(net_parse_cidr("10.1.2.3/024", &ip, &mask), -EINVAL);
    CHECK_INT_EQ(net_parse_cidr("10.1.2.3/2x", &ip, &mask), -EINVAL);
    CHECK_INT_EQ(net_parse_cidr("/24", &ip, &mask), -EINVAL);
    CHECK_INT_EQ(net_mask_to_prefix(0xfffffe00u), 23);
    CHECK_INT_EQ(net_mask_to_prefix(0xff00ff00u), -EINVAL);
    CHECK_INT_EQ(net_mask_to_prefix(0), 0);
}

TEST(net_config_parse_reads_known_keys_and_skips_others)
{
    struct net_static_config c;

    CHECK_INT_EQ(net_config_parse("console=ttyS0 ip=10.0.0.2/24 gw=10.0.0.1 dns=10.0.0.3 "
                                  "mtu=1400 quiet",
                                  &c),
                 0);
    CHECK(c.has_ip);
    CHECK_UINT_EQ(c.ip, NF_IP(10, 0, 0, 2));
    CHECK_UINT_EQ(c.mask, 0xffffff00u);
    CHECK_UINT_EQ(c.gw, NF_IP(10, 0, 0, 1));
    CHECK_UINT_EQ(c.dns, NF_IP(10, 0, 0, 3));
    CHECK_UINT_EQ(c.mtu, 1400);
    CHECK_INT_EQ(net_config_parse("", &c), 0);
    CHECK(!c.has_ip);
    CHECK_INT_EQ(net_config_parse("  \t ", &c), 0);
}

TEST(net_config_parse_refuses_bad_values)
{
    static const char *const bad[] = {
        "ip=10.0.0.2/33",
        "ip=10.0.0",
        "ip=",
        "ip=0.0.0.0/24",
        "gw=10.0.0.1",
        "ip=10.0.0.2 gw=10.0.0",
        "ip=10.0.0.2 mtu=67",
        "ip=10.0.0.2 mtu=9001",
        "ip=10.0.0.2 mtu=abc",
        "ip=10.0.0.2 dns=x",
        "ip=10.0.0.2/24/24",
        "ip=10.0.0.2 mtu=0100",
        "ip=1000000000000000000000000000000000000000",
    };
    struct net_static_config c;

    memset(&c, 0x5a, sizeof(c));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = net_config_parse(bad[i], &c);
        CHECK_AT(__FILE__, __LINE__, r == -EINVAL, "\"%s\" gave %d", bad[i], r);
    }
    CHECK_UINT_EQ(c.ip, 0x5a5a5a5au); /* untouched */
    CHECK_INT_EQ(net_config_parse(NULL, &c), -EINVAL);
}

TEST(net_config_apply_sets_the_interface)
{
    struct fake_host h;
    struct net_static_config c;

    fake_host_init(&h, 3, fake_mac_a, 0, 0, 0, 0);
    CHECK_INT_EQ(net_config_parse("ip=10.0.2.15/24 gw=10.0.2.2 mtu=1400", &c), 0);
    CHECK_INT_EQ(net_config_apply(&h.dev.ifc, &c), 0);
    CHECK_UINT_EQ(h.dev.ifc.ip, NF_IP(10, 0, 2, 15));
    CHECK_UINT_EQ(h.dev.ifc.gw, NF_IP(10, 0, 2, 2));
    CHECK_UINT_EQ(h.dev.ifc.mtu, 1400);
    CHECK_UINT_EQ(h.dev.tx_count, 1); /* gratuitous ARP */
    NT_DESTROY(&h);
}

TEST(net_format_addresses)
{
    char buf[32];
    static const uint8_t mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0xab};

    CHECK_INT_EQ(net_format_ip4(NF_IP(192, 168, 100, 255), buf, sizeof(buf)), 15);
    CHECK_STR_EQ(buf, "192.168.100.255");
    net_format_mac(mac, buf, sizeof(buf));
    CHECK_STR_EQ(buf, "52:54:00:12:34:ab");
}

TEST(net_drop_names_are_unique_and_printable)
{
    for (int i = 0; i < NET_DROP_COUNT; i++) {
        const char *n = net_drop_name(i);
        CHECK(n != NULL && strlen(n) > 3 && strchr(n, ' ') == NULL);
        for (int j = 0; j < i; j++)
            CHECK_AT(__FILE__, __LINE__, strcmp(n, net_drop_name(j)) != 0, "%s twice", n);
    }
    CHECK_STR_EQ(net_drop_name(-1), "?");
    CHECK_STR_EQ(net_drop_name(NET_DROP_COUNT), "?");
}

TEST(net_counters_format_lists_nonzero_drops)
{
    struct fake_host h;
    char buf[1024], small[40];

    nt_host(&h, 0);
    h.dev.ifc.cnt.rx_packets = 12;
    h.dev.ifc.cnt.rx_bytes = 3456;
    h.dev.ifc.cnt.drops[NET_DROP_IP_CHECKSUM] = 2;
    h.dev.ifc.cnt.drops[NET_DROP_UDP_NO_PORT] = 1;
    int n = net_iface_format_counters(&h.dev.ifc, buf, sizeof(buf));
    CHECK_UINT_EQ((size_t)n, strlen(buf));
    CHECK(strstr(buf, "eth0 52:54:00:00:00:0a 10.0.0.2/24 gw 10.0.0.1 mtu 1500\n") == buf);
    CHECK(strstr(buf, "rx 12 pkts 3456 bytes, tx 1 pkts 42 bytes, drops 3\n") != NULL);
    CHECK(strstr(buf, "  ip_bad_checksum 2\n") != NULL);
    CHECK(strstr(buf, "  udp_no_port 1\n") != NULL);
    CHECK(strstr(buf, "eth_short") == NULL);
    /* Truncation: still terminated, returns the full length. */
    int m = net_iface_format_counters(&h.dev.ifc, small, sizeof(small));
    CHECK_INT_EQ(m, n);
    CHECK_UINT_EQ(strlen(small), sizeof(small) - 1);
    CHECK_INT_EQ(net_iface_format_counters(&h.dev.ifc, NULL, 0), n);
    int all = net_format_counters(&h.st, buf, sizeof(buf));
    CHECK_UINT_EQ((size_t)all, strlen(buf));
    CHECK(strstr(buf, "stack: copied 0 bytes") != NULL);
    CHECK_INT_EQ(net_format_counters(&h.st, small, sizeof(small)), all);
    NT_DESTROY(&h);
}
