/*
 * net_test_dhcp.c - the DHCP client against a scripted server: the whole
 * exchange, bad replies (each counted and ignored), NAK, retransmission
 * backoff, renewal at T1, rebinding at T2 and lease expiry with the fake
 * clock; the options parser on its own.
 */
#include <stdlib.h>
#include <string.h>

#include "net/arp.h"
#include "net/dhcp.h"
#include "net_test.h"

#define SERVER_IP  NF_IP(10, 0, 2, 2)
#define OFFERED_IP NF_IP(10, 0, 2, 15)

static const uint8_t server_mac[6] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};

/* What the client sent, as the test reads it. */
struct client_msg {
    int ok;
    uint8_t type;
    uint32_t xid, ciaddr, src, dst, req_ip, server_id;
    uint16_t flags;
    int bcast_mac;
};

/* Pop the next frame and parse it as a DHCP client message. */
static struct client_msg pop_msg(struct fake_host *h, int line)
{
    struct client_msg m = {0};
    struct fake_frame *f = fake_dev_pop(&h->dev);

    CHECK_AT(__FILE__, line, f != NULL, "no frame sent");
    if (f == NULL)
        return m;
    const uint8_t *ip = f->data + 14, *udp = ip + 20, *d = udp + 8;
    CHECK_AT(__FILE__, line, f->len >= 42 + 240 && nf_get16(f->data + 12) == 0x0800 && ip[9] == 17,
             "not a UDP frame");
    if (f->len < 42 + 240) {
        free(f);
        return m;
    }
    CHECK_AT(__FILE__, line, nt_ip_csum_ok(f->data, f->len) && nt_l4_csum_ok(f->data, f->len),
             "bad checksums");
    CHECK_AT(__FILE__, line, nf_get16(udp) == 68 && nf_get16(udp + 2) == 67, "ports");
    CHECK_AT(__FILE__, line, d[0] == 1 && d[1] == 1 && d[2] == 6, "BOOTREQUEST header");
    CHECK_AT(__FILE__, line, memcmp(d + 28, fake_mac_a, 6) == 0, "chaddr");
    CHECK_AT(__FILE__, line, nf_get32(d + 236) == 0x63825363u, "cookie");
    m.bcast_mac = memcmp(f->data, nf_bcast_mac, 6) == 0;
    m.src = nf_get32(ip + 12);
    m.dst = nf_get32(ip + 16);
    m.xid = nf_get32(d + 4);
    m.flags = nf_get16(d + 10);
    m.ciaddr = nf_get32(d + 12);
    for (size_t i = 240; i + 1 < f->len - 42 && d[i] != 255;) {
        uint8_t code = d[i], len = d[i + 1];
        if (code == 0) {
            i++;
            continue;
        }
        if (code == 53)
            m.type = d[i + 2];
        if (code == 50)
            m.req_ip = nf_get32(d + i + 2);
        if (code == 54)
            m.server_id = nf_get32(d + i + 2);
        i += 2u + len;
    }
    m.ok = 1;
    free(f);
    return m;
}
#define POP_MSG(h) pop_msg((h), __LINE__)

static struct nf_dhcp reply(uint8_t type, uint32_t xid)
{
    struct nf_dhcp d = {0};

    d.op = 2;
    d.xid = xid;
    memcpy(d.chaddr, fake_mac_a, 6);
    d.yiaddr = OFFERED_IP;
    d.server_ip = SERVER_IP;
    d.msg_type = type;
    d.lease_s = 100;
    d.mask = 0xffffff00u;
    d.router = SERVER_IP;
    d.dns = NF_IP(10, 0, 2, 3);
    return d;
}

static void serve(struct fake_host *h, const struct nf_dhcp *d)
{
    uint8_t f[1024];
    size_t n = nf_dhcp_frame(f, nf_bcast_mac, server_mac, d);

    fake_host_rx(h, f, n);
}

/* A host without an address whose client has sent its DISCOVER. */
static uint32_t start(struct fake_host *h)
{
    fake_host_init(h, 21, fake_mac_a, 0, 0, 0, 0);
    CHECK_INT_EQ(dhcp_start(&h->st, &h->dev.ifc, 0), 0);
    struct client_msg m = POP_MSG(h);
    CHECK(m.ok && m.type == DHCPDISCOVER && m.bcast_mac && m.src == 0 && m.dst == 0xffffffffu);
    CHECK_UINT_EQ(m.flags, 0x8000);
    CHECK_UINT_EQ(h->dev.ifc.dhcp.state, DHCP_SELECTING);
    return m.xid;
}

/* Through OFFER/REQUEST/ACK to BOUND at time 0 (lease 100 s). */
static uint32_t bind_host(struct fake_host *h)
{
    uint32_t xid = start(h);
    struct nf_dhcp d = reply(DHCPOFFER, xid);

    serve(h, &d);
    struct client_msg m = POP_MSG(h);
    CHECK(m.ok && m.type == DHCPREQUEST && m.xid == xid);
    d = reply(DHCPACK, xid);
    serve(h, &d);
    CHECK_UINT_EQ(h->dev.ifc.dhcp.state, DHCP_BOUND);
    fake_dev_clear(&h->dev); /* the gratuitous ARP */
    return xid;
}

TEST(net_dhcp_discover_offer_request_ack_binds)
{
    struct fake_host h;
    uint32_t xid = start(&h);
    struct nf_dhcp d = reply(DHCPOFFER, xid);

    serve(&h, &d);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_REQUESTING);
    struct client_msg m = POP_MSG(&h);
    CHECK(m.ok && m.type == DHCPREQUEST && m.xid == xid && m.bcast_mac);
    CHECK_UINT_EQ(m.req_ip, OFFERED_IP);
    CHECK_UINT_EQ(m.server_id, SERVER_IP);
    CHECK_UINT_EQ(m.ciaddr, 0);
    CHECK_UINT_EQ(h.dev.ifc.ip, 0);

    d = reply(DHCPACK, xid);
    serve(&h, &d);
    struct net_iface *ifc = &h.dev.ifc;
    CHECK_UINT_EQ(ifc->dhcp.state, DHCP_BOUND);
    CHECK_UINT_EQ(ifc->ip, OFFERED_IP);
    CHECK_UINT_EQ(ifc->mask, 0xffffff00u);
    CHECK_UINT_EQ(ifc->gw, SERVER_IP);
    CHECK_UINT_EQ(ifc->dns, NF_IP(10, 0, 2, 3));
    CHECK_UINT_EQ(ifc->dhcp.t1_ms, 50000);
    CHECK_UINT_EQ(ifc->dhcp.t2_ms, 87000); /* 7/8 of 100 s, whole seconds */
    CHECK_UINT_EQ(ifc->dhcp.expire_ms, 100000);
    CHECK_UINT_EQ(net_next_deadline(&h.st), 50000);
    CHECK(strstr(h.fp.last_log, "bound to 10.0.2.15/24 gw 10.0.2.2") != NULL);
    struct fake_frame *g = NT_POP(&h); /* announced */
    CHECK(g != NULL && nf_get16(g->data + 12) == 0x0806 && nf_get32(g->data + 38) == OFFERED_IP);
    free(g);
    CHECK_UINT_EQ(net_iface_total_drops(ifc), 0);
    NT_DESTROY(&h);
}

TEST(net_dhcp_bad_replies_are_counted_and_ignored)
{
    struct fake_host h;
    uint32_t xid = start(&h);
    struct nf_dhcp d;
    static const uint8_t trunc_opt[] = {51, 4, 0, 0};  /* claims 4 bytes, end follows at 2 */
    static const uint8_t bad_len[] = {51, 3, 0, 0, 1}; /* lease with 3 bytes */
    static const uint8_t cut_len[] = {12};             /* code without a length */

    d = reply(DHCPOFFER, xid + 1);
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_XID), 1);
    d = reply(DHCPOFFER, xid);
    d.chaddr[5] ^= 1;
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_CHADDR), 1);
    d = reply(0, xid); /* no message type */
    serve(&h, &d);
    d = reply(DHCPOFFER, xid);
    d.no_server_id = 1;
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_MISSING), 2);
    d = reply(DHCPOFFER, xid);
    d.extra_opts = trunc_opt;
    d.extra_len = 2;
    d.no_end = 1; /* the data ends inside the option */
    serve(&h, &d);
    d.extra_opts = bad_len;
    d.extra_len = sizeof(bad_len);
    d.no_end = 0;
    serve(&h, &d);
    d.extra_opts = cut_len;
    d.extra_len = sizeof(cut_len);
    d.no_end = 1;
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_OPTIONS), 3);
    d = reply(DHCPOFFER, xid);
    d.truncate_to = 239;
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_SHORT), 1);
    d = reply(DHCPOFFER, xid);
    d.op = 1;
    serve(&h, &d);
    d = reply(DHCPOFFER, xid);
    d.bad_cookie = 1;
    serve(&h, &d);
    d = reply(DHCPOFFER, xid);
    d.yiaddr = 0xffffffffu;
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_HEADER), 3);
    d = reply(DHCPACK, xid); /* an ACK while selecting */
    serve(&h, &d);
    d = reply(DHCPDECLINE, xid);
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_UNEXPECTED), 2);

    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_SELECTING);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    CHECK_UINT_EQ(h.dev.ifc.ip, 0);
    /* Still works: a good offer after all that. */
    d = reply(DHCPOFFER, xid);
    serve(&h, &d);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_REQUESTING);
    NT_DESTROY(&h);
}

TEST(net_dhcp_ack_needs_a_lease_and_the_right_server)
{
    struct fake_host h;
    uint32_t xid = start(&h);
    struct nf_dhcp d = reply(DHCPOFFER, xid);

    serve(&h, &d);
    fake_dev_clear(&h.dev);
    d = reply(DHCPACK, xid);
    d.lease_s = 0;
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_MISSING), 1);
    d = reply(DHCPACK, xid);
    d.server_ip = NF_IP(10, 0, 2, 99);
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_UNEXPECTED), 1);
    d = reply(DHCPACK, xid);
    d.mask = 0xff00ff00u;
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, DHCP_HEADER), 1);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_REQUESTING);
    /* Default T1/T2, no mask option (class A default), no router. */
    d = reply(DHCPACK, xid);
    d.mask = 0;
    d.router = 0;
    d.lease_s = 1000;
    serve(&h, &d);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_BOUND);
    CHECK_UINT_EQ(h.dev.ifc.mask, 0xff000000u);
    CHECK_UINT_EQ(h.dev.ifc.gw, 0);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.t1_ms, 500000);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.t2_ms, 875000);
    NT_DESTROY(&h);
}

TEST(net_dhcp_nak_restarts_discovery_after_a_pause)
{
    struct fake_host h;
    uint32_t xid = start(&h);
    struct nf_dhcp d = reply(DHCPOFFER, xid);

    serve(&h, &d);
    fake_dev_clear(&h.dev);
    d = reply(DHCPNAK, xid);
    d.lease_s = 0;
    serve(&h, &d);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_INIT);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.naks, 1);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    fake_host_advance(&h, 999);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    fake_host_advance(&h, 1000);
    struct client_msg m = POP_MSG(&h);
    CHECK(m.ok && m.type == DHCPDISCOVER && m.xid != xid);
    NT_DESTROY(&h);
}

TEST(net_dhcp_retransmits_with_exponential_backoff)
{
    struct fake_host h;
    uint32_t xid = start(&h);
    uint64_t last = 0;
    const uint64_t base[] = {4000, 8000, 16000, 32000, 64000, 64000};

    for (int i = 0; i < 6; i++) {
        uint64_t t = net_next_deadline(&h.st);
        CHECK_AT(__FILE__, __LINE__, t >= last + base[i] - 1000 && t <= last + base[i] + 1000,
                 "retransmission %d after %llu ms", i, (unsigned long long)(t - last));
        fake_host_advance(&h, t);
        struct client_msg m = POP_MSG(&h);
        CHECK(m.ok && m.type == DHCPDISCOVER && m.xid == xid);
        last = t;
    }
    /* REQUEST: DHCP_REQUEST_TRIES sends, then back to DISCOVER. */
    struct nf_dhcp d = reply(DHCPOFFER, xid);
    serve(&h, &d);
    for (int i = 0; i < DHCP_REQUEST_TRIES; i++) {
        struct client_msg m = POP_MSG(&h);
        CHECK(m.ok && m.type == DHCPREQUEST);
        fake_host_advance(&h, net_next_deadline(&h.st));
    }
    struct client_msg m = POP_MSG(&h);
    CHECK(m.ok && m.type == DHCPDISCOVER && m.xid != xid);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_SELECTING);
    NT_DESTROY(&h);
}

/* Answer our ARP request for the server. */
static void answer_arp(struct fake_host *h)
{
    uint8_t f[64];
    struct fake_frame *q = NT_POP(h);

    CHECK(q != NULL && nf_get16(q->data + 12) == 0x0806 && nf_get32(q->data + 38) == SERVER_IP);
    free(q);
    size_t n = nf_arp_frame(f, fake_mac_a, 2, server_mac, SERVER_IP, fake_mac_a, OFFERED_IP);
    fake_host_rx(h, f, n);
}

TEST(net_dhcp_renews_at_t1_by_unicast)
{
    struct fake_host h;

    bind_host(&h);
    fake_host_advance(&h, 49999);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    fake_host_advance(&h, 50000);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_RENEWING);
    answer_arp(&h);
    struct client_msg m = POP_MSG(&h);
    CHECK(m.ok && m.type == DHCPREQUEST && !m.bcast_mac);
    CHECK_UINT_EQ(m.src, OFFERED_IP);
    CHECK_UINT_EQ(m.dst, SERVER_IP);
    CHECK_UINT_EQ(m.ciaddr, OFFERED_IP);
    CHECK_UINT_EQ(m.req_ip, 0); /* not in RENEWING (RFC 2131 4.3.2) */
    CHECK_UINT_EQ(m.flags, 0);

    /* The ACK comes unicast to our new address. */
    struct nf_dhcp d = reply(DHCPACK, m.xid);
    uint8_t f[1024];
    size_t n = nf_dhcp_frame(f, fake_mac_a, server_mac, &d);
    nf_put32(f + 30, OFFERED_IP);
    nf_fix_ip_csum(f);
    nf_put16(f + 40, 0); /* (dst changed: drop the UDP checksum rather than redo it) */
    h.now = 50100;
    fake_host_rx(&h, f, n);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_BOUND);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.t1_ms, 100000); /* counted from the request at 50 s */
    CHECK_UINT_EQ(h.dev.ifc.dhcp.expire_ms, 150000);
    CHECK_UINT_EQ(h.dev.ifc.ip, OFFERED_IP);
    CHECK_UINT_EQ(h.dev.tx_count, 0); /* same address: no new announcement */
    CHECK_UINT_EQ(net_next_deadline(&h.st), 100000);
    NT_DESTROY(&h);
}

TEST(net_dhcp_rebinds_at_t2_and_loses_the_lease_at_expiry)
{
    struct fake_host h;

    bind_host(&h);
    fake_host_advance(&h, 50000);
    answer_arp(&h);
    struct client_msg m = POP_MSG(&h);
    CHECK(m.ok && m.type == DHCPREQUEST);
    /* Half of the 37 s to T2 is under a minute: the next try is T2 itself. */
    CHECK_UINT_EQ(net_next_deadline(&h.st), 87000);
    fake_host_advance(&h, 87000);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_REBINDING);
    m = POP_MSG(&h);
    CHECK(m.ok && m.type == DHCPREQUEST && m.bcast_mac && m.dst == 0xffffffffu);
    CHECK_UINT_EQ(m.ciaddr, OFFERED_IP);
    CHECK_UINT_EQ(m.src, OFFERED_IP);
    CHECK_UINT_EQ(net_next_deadline(&h.st), 100000);
    fake_host_advance(&h, 100000);
    CHECK_UINT_EQ(h.dev.ifc.ip, 0);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_SELECTING);
    m = POP_MSG(&h);
    CHECK(m.ok && m.type == DHCPDISCOVER);
    CHECK(strstr(h.fp.last_log, "lease lost") != NULL);
    NT_DESTROY(&h);
}

TEST(net_dhcp_nak_while_renewing_drops_the_address)
{
    struct fake_host h;

    bind_host(&h);
    fake_host_advance(&h, 87000); /* straight to REBINDING: no ARP needed */
    fake_dev_clear(&h.dev);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_REBINDING);
    struct nf_dhcp d = reply(DHCPNAK, h.dev.ifc.dhcp.xid);
    serve(&h, &d);
    CHECK_UINT_EQ(h.dev.ifc.ip, 0);
    CHECK_UINT_EQ(h.dev.ifc.dhcp.state, DHCP_INIT);
    NT_DESTROY(&h);
}

TEST(net_dhcp_survives_buffer_failures)
{
    struct fake_host h;

    fake_host_init(&h, 22, fake_mac_a, 0, 0, 0, 0);
    h.fp.tx_fail_after = 0;
    dhcp_start(&h.st, &h.dev.ifc, 0);
    CHECK_UINT_EQ(DROPS(&h, TX_NOBUF), 1);
    CHECK_UINT_EQ(h.dev.tx_count, 0);
    h.fp.tx_fail_after = -1;
    fake_host_advance(&h, net_next_deadline(&h.st));
    struct client_msg m = POP_MSG(&h);
    CHECK(m.ok && m.type == DHCPDISCOVER);
    dhcp_stop(&h.dev.ifc);
    CHECK_UINT_EQ(net_next_deadline(&h.st), NET_NO_DEADLINE);
    /* Once stopped, port 68 is an ordinary closed port. */
    struct nf_dhcp d = reply(DHCPOFFER, m.xid);
    serve(&h, &d);
    CHECK_UINT_EQ(DROPS(&h, UDP_NO_PORT), 1);
    NT_DESTROY(&h);
}

TEST(net_dhcp_options_parser_checks_every_length)
{
    struct dhcp_options o;
    static const uint8_t good[] = {0,  53, 1, 5, 54,  4,   10,  0, 2,   2,  51, 4, 0, 0,
                                   1,  0,  1, 4, 255, 255, 255, 0, 3,   8,  10, 0, 2, 2,
                                   10, 0,  2, 1, 99,  2,   1,   2, 255, 53, 1,  6};
    CHECK_INT_EQ(dhcp_parse_options(good, sizeof(good), &o), 0);
    CHECK_UINT_EQ(o.msg_type, 5); /* the 53 after the end is not read */
    CHECK(o.has_server_id && o.server_id == SERVER_IP);
    CHECK(o.has_lease && o.lease_s == 256);
    CHECK(o.has_mask && o.mask == 0xffffff00u);
    CHECK(o.has_router && o.router == SERVER_IP);
    CHECK(!o.has_dns && !o.has_t1 && !o.has_t2);

    const struct {
        uint8_t b[8];
        size_t len;
        int want;
    } cases[] = {
        {{53}, 1, -EBADMSG},                     /* no length byte */
        {{53, 2, 5}, 3, -EBADMSG},               /* length past the end */
        {{53, 2, 5, 5}, 4, -EBADMSG},            /* type must be 1 byte */
        {{54, 3, 1, 2, 3}, 5, -EBADMSG},         /* address must be 4 */
        {{3, 6, 1, 2, 3, 4, 5, 6}, 8, -EBADMSG}, /* router list not a multiple of 4 */
        {{3, 0}, 2, -EBADMSG},                   /* empty router list */
        {{12, 0, 255}, 3, 0},                    /* unknown, empty: fine */
        {{0, 0, 0}, 3, 0},                       /* only padding, no end: fine */
        {{0}, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = dhcp_parse_options(cases[i].b, cases[i].len, &o);
        CHECK_AT(__FILE__, __LINE__, r == cases[i].want, "case %zu gave %d", i, r);
    }
    CHECK_STR_EQ(dhcp_state_name(DHCP_BOUND), "bound");
    CHECK_STR_EQ(dhcp_state_name(99), "?");
}
