/*
 * net_test_tcp_fault.c - TCP under allocation failure: a small transfer
 * both ways (copying and zero-copy sends, a wrapped app buffer) with net/'s
 * heap allocation k failing (once, or from k on), and with transmit buffers
 * failing from k on. Each run must complete or fail cleanly: bytes that
 * arrive are the right ones, the app's completion runs exactly once, and
 * nothing leaks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net_test.h"

#define IP_A  NF_IP(10, 0, 0, 1)
#define TOTAL 12000u

static uint8_t byte_at(int d, size_t i)
{
    return (uint8_t)(i * 13 + (size_t)d * 101 + (i >> 9));
}

static void wrapped_done(void *cookie)
{
    (*(int *)cookie)++;
}

struct fault_outcome {
    int completed;
    int bad;
    int wrapped, done_calls;
};

static void scenario(int tx_mode, long k, int persistent, struct fault_outcome *o)
{
    static uint8_t app_mem[2][3000];
    struct netsim_cfg cfg = {.seed = 21, .delay_ms = 1};
    struct sim_pair p;
    struct tcp_conn *l = NULL, *c[2] = {NULL, NULL};
    size_t sent[2] = {0, 0}, rcvd[2] = {0, 0};
    int shut[2] = {0, 0};

    memset(o, 0, sizeof(*o));
    sim_pair_init(&p, &cfg, 0);
    for (int i = 0; i < 2; i++) {
        p.h[i].st.lim.tcp_max_retries = 5;
        p.h[i].st.lim.tcp_syn_retries = 3;
        for (size_t j = 0; j < sizeof(app_mem[i]); j++)
            app_mem[i][j] = byte_at(i, j);
    }
    if (tx_mode) {
        p.h[0].fp.tx_fail_after = k;
        p.h[1].fp.tx_fail_after = k;
    } else {
        net_fault_malloc_fail(k, persistent);
    }
    if (tcp_listen(&p.h[0].st, 9, 2, &l) != 0)
        goto out;
    if (tcp_connect(&p.h[1].st, IP_A, 9, p.now, &c[1]) != 0)
        goto out;
    for (int step = 0; step < 200000 && p.now < 400000; step++) {
        if (c[0] == NULL)
            c[0] = tcp_accept(l);
        for (int i = 0; i < 2; i++) {
            if (c[i] == NULL)
                continue;
            /* The first 3000 bytes from wrapped app memory, the rest copied. */
            if (sent[i] == 0 && tcp_writable(c[i]) >= sizeof(app_mem[i])) {
                struct netbuf *nb =
                    nbuf_wrap(app_mem[i], sizeof(app_mem[i]), wrapped_done, &o->done_calls);
                if (nb != NULL) {
                    o->wrapped++;
                    if (tcp_send(c[i], nb, p.now) == 0)
                        sent[i] = sizeof(app_mem[i]);
                    else
                        nbuf_put(nb);
                }
            }
            if (sent[i] >= sizeof(app_mem[i]) && sent[i] < TOTAL) {
                uint8_t tmp[TOTAL];
                for (size_t j = sent[i]; j < TOTAL; j++)
                    tmp[j - sent[i]] = byte_at(i, j);
                long r = tcp_send_copy(c[i], tmp, TOTAL - sent[i], p.now);
                if (r > 0)
                    sent[i] += (size_t)r;
            }
            if (sent[i] == TOTAL && !shut[i]) {
                tcp_shutdown(c[i], p.now);
                shut[i] = 1;
            }
            struct netbuf *nb;
            while ((nb = tcp_recv(c[i], p.now)) != NULL) {
                for (size_t j = 0; j < nb->len; j++)
                    o->bad += nb->data[j] != byte_at(1 - i, rcvd[i] + j);
                rcvd[i] += nb->len;
                nbuf_put(nb);
            }
        }
        int over = 1;
        for (int i = 0; i < 2; i++)
            over &= c[i] != NULL &&
                    (tcp_get_state(c[i]) == TCP_CLOSED ||
                     (tcp_eof(c[i]) && tcp_get_state(c[i]) == TCP_TIME_WAIT) ||
                     (tcp_eof(c[i]) && shut[i] && tcp_get_state(c[i]) != TCP_FIN_WAIT_1 &&
                      tcp_get_state(c[i]) != TCP_LAST_ACK && tcp_get_state(c[i]) != TCP_CLOSING));
        if (over || (c[0] == NULL && tcp_get_state(c[1]) == TCP_CLOSED))
            break;
        sim_pair_run(&p, p.now + 5);
    }
    o->completed = rcvd[0] == TOTAL && rcvd[1] == TOTAL;
    if (getenv("NT_DEBUG"))
        printf("k %ld: now %llu rcvd %zu %zu sent %zu %zu states %s %s\n", k,
               (unsigned long long)p.now, rcvd[0], rcvd[1], sent[0], sent[1],
               c[0] ? tcp_state_name(tcp_get_state(c[0])) : "-",
               c[1] ? tcp_state_name(tcp_get_state(c[1])) : "-");
out:
    net_fault_malloc_fail(-1, 0);
    for (int i = 0; i < 2; i++)
        tcp_close(c[i], p.now);
    sim_pair_run(&p, p.now + 200000);
    tcp_close(l, p.now);
    sim_pair_destroy(&p);
    for (int i = 0; i < 2; i++) {
        CHECK_INT_EQ(p.h[i].fp.tx_live, 0);
        CHECK_INT_EQ(p.h[i].dev.rx_live, 0);
    }
    CHECK_INT_EQ(net_fault_live(), 0);
}

TEST(net_tcp_fault_transfer_completes_without_failures)
{
    struct fault_outcome o;

    scenario(0, -1, 0, &o);
    CHECK(o.completed);
    CHECK_INT_EQ(o.bad, 0);
    CHECK_INT_EQ(o.done_calls, o.wrapped);
}

TEST(net_tcp_fault_every_heap_allocation_may_fail)
{
    uint64_t before = net_fault_allocs();
    struct fault_outcome o;

    scenario(0, -1, 0, &o);
    long n = (long)(net_fault_allocs() - before);
    CHECK(n > 10);
    unsigned completed = 0;
    for (long k = 0; k<n; k += n> 400 ? n / 400 : 1) {
        for (int persistent = 0; persistent < 2; persistent++) {
            scenario(0, k, persistent, &o);
            CHECK_AT(__FILE__, __LINE__, o.bad == 0, "k %ld: corrupt bytes", k);
            CHECK_AT(__FILE__, __LINE__, o.done_calls == o.wrapped, "k %ld: %d completions of %d",
                     k, o.done_calls, o.wrapped);
            completed += o.completed;
        }
    }
    CHECK(completed > 0); /* single failures are mostly recovered by retransmission */
}

TEST(net_tcp_fault_transmit_buffers_run_out)
{
    struct fault_outcome o;

    for (long k = 0; k < 120; k += 7) {
        scenario(1, k, 1, &o);
        CHECK_INT_EQ(o.bad, 0);
        CHECK_INT_EQ(o.done_calls, o.wrapped);
    }
}
