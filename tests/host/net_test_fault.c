/*
 * net_test_fault.c - allocation-failure injection (SQLite style): run a
 * scenario once to count its allocations, then again failing allocation
 * k, for every k, in the stack's heap (net_fault.c) and in the platform's
 * transmit buffers. Each run must not crash, must count or report the
 * failure, and must leak nothing (our counters here, ASan at exit).
 */
#include <stdlib.h>
#include <string.h>

#include "net/dhcp.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/udp.h"
#include "net_test.h"

#define IP_A NF_IP(10, 0, 0, 1)
#define IP_B NF_IP(10, 0, 0, 2)

struct outcome {
    uint64_t visible;   /* drops + no_route + errors returned to the caller */
    uint64_t tx_allocs; /* transmit buffers taken (both hosts) */
    uint64_t tx_fails;  /* transmit buffers refused (both hosts) */
    int app_done;       /* times the wrapped app buffer was released */
    int wrapped;        /* whether nbuf_wrap succeeded */
};

static void app_done(void *cookie)
{
    (*(int *)cookie)++;
}

static int ping(struct sim_pair *p, size_t len)
{
    struct netbuf *nb = nbuf_alloc_heap(NET_L4_HEADROOM, 8 + len);
    static uint8_t payload[4000];

    if (nb == NULL)
        return -ENOMEM;
    nf_icmp_echo(nb->data, ICMP_ECHO_REQUEST, 1, 1, payload, len);
    return ip4_output(&p->h[0].st, NULL, 0, IP_B, IP4_PROTO_ICMP, nb, p->now);
}

/* UDP both ways (small, large from app memory), a fragmented ping, with
 * net/'s heap allocation k (or, in tx_mode, transmit buffer k) failing -
 * that one only, or with persistent every one from k on. k < 0: none. */
static void scenario(int tx_mode, long k, int persistent, struct outcome *o)
{
    static const char file[4000] = "app data";
    struct netsim_cfg cfg = {.seed = 9, .delay_ms = 1};
    struct sim_pair p;
    struct udp_sock *sa = NULL, *sb = NULL;
    uint64_t errors = 0;

    memset(o, 0, sizeof(*o));
    sim_pair_init(&p, &cfg, 0);
    uint64_t tx_before = p.h[0].fp.tx_allocs + p.h[1].fp.tx_allocs;
    if (tx_mode) {
        /* Transmit buffers fail from the k-th on (both hosts share k). */
        p.h[0].fp.tx_fail_after = k;
        p.h[1].fp.tx_fail_after = k;
    } else {
        net_fault_malloc_fail(k, persistent);
    }
    errors += udp_bind(&p.h[1].st, 7, &sb) < 0;
    errors += udp_bind(&p.h[0].st, 0, &sa) < 0;
    if (sa != NULL) {
        errors += udp_sendto_copy(sa, IP_B, 7, "small", 5, p.now) < 0;
        struct netbuf *nb = nbuf_wrap(file, sizeof(file), app_done, &o->app_done);
        o->wrapped = nb != NULL;
        errors += nb == NULL;
        if (nb != NULL)
            errors += udp_sendto(sa, IP_B, 7, nb, p.now) < 0;
    }
    errors += ping(&p, 3000) < 0;
    sim_pair_run(&p, 50);
    if (sb != NULL) {
        struct netbuf *nb;
        while ((nb = udp_recv(sb, NULL)) != NULL)
            nbuf_put(nb);
        errors += udp_sendto_copy(sb, IP_A, 9, "reply", 5, p.now) < 0;
    }
    sim_pair_run(&p, 40000); /* reassembly and ARP timers run out */
    net_fault_malloc_fail(-1, 0);
    o->tx_allocs = p.h[0].fp.tx_allocs + p.h[1].fp.tx_allocs - tx_before;
    o->tx_fails = p.h[0].fp.tx_fails + p.h[1].fp.tx_fails;
    for (int i = 0; i < 2; i++) {
        o->visible += net_iface_total_drops(&p.h[i].dev.ifc) + p.h[i].st.cnt.no_route;
        o->visible -= p.h[i].dev.ifc.cnt.drops[NET_DROP_ARP_IGNORED];  /* announcements */
        o->visible -= p.h[i].dev.ifc.cnt.drops[NET_DROP_UDP_NO_PORT];  /* the reply */
        o->visible -= p.h[i].dev.ifc.cnt.drops[NET_DROP_ICMP_IGNORED]; /* the echo reply */
    }
    o->visible += errors;
    udp_close(sa);
    udp_close(sb);
    sim_pair_destroy(&p);
    for (int i = 0; i < 2; i++) {
        CHECK_INT_EQ(p.h[i].fp.tx_live, 0);
        CHECK_INT_EQ(p.h[i].dev.rx_live, 0);
    }
    CHECK_INT_EQ(net_fault_live(), 0);
}

TEST(net_fault_every_heap_allocation_failure_is_survived_and_counted)
{
    struct outcome o;
    uint64_t before = net_fault_allocs();

    scenario(0, -1, 0, &o);
    long total = (long)(net_fault_allocs() - before);
    CHECK_UINT_EQ(o.visible, 0);
    CHECK_INT_EQ(o.app_done, 1);
    CHECK(total > 10);
    for (int persistent = 0; persistent < 2; persistent++) {
        for (long k = 0; k < total; k++) {
            uint64_t failures = net_fault_failures();
            scenario(0, k, persistent, &o);
            CHECK(net_fault_failures() > failures);
            CHECK_AT(__FILE__, __LINE__, o.visible > 0, "allocation %ld failed unnoticed", k);
            CHECK_AT(__FILE__, __LINE__, o.app_done == o.wrapped,
                     "allocation %ld: app buffer released %d times", k, o.app_done);
        }
    }
}

TEST(net_fault_linearising_without_memory_is_counted)
{
    struct sim_pair p;
    struct netsim_cfg cfg = {.seed = 4, .delay_ms = 1};

    sim_pair_init(&p, &cfg, 0);
    net_fault_malloc_fail(0, 1);
    struct netbuf *nb = fake_dev_rxbuf(&p.h[0].dev, "x", 1);
    nb->next = fake_dev_rxbuf(&p.h[0].dev, "y", 1); /* a chain must be linearised */
    net_input(&p.h[0].st, &p.h[0].dev.ifc, nb, 0);
    net_fault_malloc_fail(-1, 0);
    CHECK_UINT_EQ(p.h[0].dev.ifc.cnt.drops[NET_DROP_RX_NOMEM], 1);
    CHECK_INT_EQ(p.h[0].dev.rx_live, 0);
    sim_pair_destroy(&p);
    CHECK_INT_EQ(net_fault_live(), 0);
}

TEST(net_fault_every_transmit_buffer_failure_is_survived_and_counted)
{
    struct outcome o;

    scenario(1, -1, 0, &o);
    CHECK_UINT_EQ(o.visible, 0);
    CHECK(o.tx_allocs > 10);
    /* Each host fails from its k-th buffer on; go until neither fails. */
    long k = 0;
    for (; k < 1000; k++) {
        scenario(1, k, 1, &o);
        if (o.tx_fails == 0)
            break;
        CHECK_AT(__FILE__, __LINE__, o.visible > 0, "transmit buffer %ld failed unnoticed", k);
        CHECK_AT(__FILE__, __LINE__, o.app_done == o.wrapped, "tx %ld: app buffer", k);
    }
    CHECK(k > 5 && k < 1000);
}

/* A DHCP server that answers whatever the client sent. */
static void auto_server(struct fake_host *h)
{
    struct fake_frame *f;
    uint8_t out[1024];

    while ((f = fake_dev_pop(&h->dev)) != NULL) {
        const uint8_t *d = f->data + 42;
        if (f->len >= 42 + 240 && nf_get16(f->data + 36) == 67) {
            struct nf_dhcp r = {.op = 2,
                                .xid = nf_get32(d + 4),
                                .yiaddr = NF_IP(10, 0, 2, 15),
                                .server_ip = NF_IP(10, 0, 2, 2),
                                .lease_s = 3600,
                                .mask = 0xffffff00u};
            memcpy(r.chaddr, fake_mac_a, 6);
            r.msg_type = d[242] == DHCPDISCOVER ? DHCPOFFER : DHCPACK;
            size_t n = nf_dhcp_frame(out, nf_bcast_mac, fake_mac_peer, &r);
            fake_host_rx(h, out, n);
        }
        free(f);
    }
}

TEST(net_fault_dhcp_binds_despite_buffer_failures)
{
    for (long k = 0; k < 8; k++) {
        struct fake_host h;
        fake_host_init(&h, 30 + (uint64_t)k, fake_mac_a, 0, 0, 0, 0);
        h.fp.tx_fail_after = k;
        dhcp_start(&h.st, &h.dev.ifc, 0);
        for (int step = 0; step < 100 && h.dev.ifc.dhcp.state != DHCP_BOUND; step++) {
            if (h.now > 10000) /* the failures stop after 10 s */
                h.fp.tx_fail_after = -1;
            auto_server(&h);
            if (h.dev.ifc.dhcp.state == DHCP_BOUND)
                break;
            fake_host_advance(&h, net_next_deadline(&h.st));
        }
        CHECK_AT(__FILE__, __LINE__, h.dev.ifc.dhcp.state == DHCP_BOUND, "k %ld: state %s", k,
                 dhcp_state_name(h.dev.ifc.dhcp.state));
        CHECK_UINT_EQ(h.dev.ifc.ip, NF_IP(10, 0, 2, 15));
        CHECK(k > 2 || DROPS(&h, TX_NOBUF) > 0); /* DISCOVER, REQUEST, announcement */
        NT_DESTROY(&h);
    }
}
