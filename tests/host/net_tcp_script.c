/*
 * net_tcp_script.c - segments in and out of one stack for the TCP script
 * tests, and the connection they script. See net_tcp_script.h.
 */
#include <stdlib.h>
#include <string.h>

#include "net/tcp_internal.h" /* ts_offset: our clock, for tc_in_state */
#include "net_tcp_script.h"

/* ---- segments in ---------------------------------------------------------- */

uint8_t tc_pattern(uint32_t seq)
{
    return (uint8_t)(seq * 7 + (seq >> 8));
}

size_t tc_build(uint8_t *f, const struct sg *s)
{
    uint8_t opts[60];
    size_t ol = 0;

    if (s->raw_opts != NULL) {
        memcpy(opts, s->raw_opts, s->raw_len);
        ol = s->raw_len;
    } else {
        if (s->mss) {
            opts[ol++] = 2, opts[ol++] = 4;
            nf_put16(opts + ol, s->mss);
            ol += 2;
        }
        if (s->ws >= 0)
            opts[ol++] = 1, opts[ol++] = 3, opts[ol++] = 3, opts[ol++] = (uint8_t)s->ws;
        if (s->sackok)
            opts[ol++] = 1, opts[ol++] = 1, opts[ol++] = 4, opts[ol++] = 2;
        if (s->ts) {
            opts[ol++] = 1, opts[ol++] = 1, opts[ol++] = 8, opts[ol++] = 10;
            nf_put32(opts + ol, s->tsval);
            nf_put32(opts + ol + 4, s->tsecr);
            ol += 8;
        }
        if (s->nsack) {
            opts[ol++] = 1, opts[ol++] = 1, opts[ol++] = 5,
            opts[ol++] = (uint8_t)(2 + 8 * s->nsack);
            for (unsigned i = 0; i < s->nsack; i++) {
                nf_put32(opts + ol, s->sack[i][0]);
                nf_put32(opts + ol + 4, s->sack[i][1]);
                ol += 8;
            }
        }
    }
    while (ol % 4)
        opts[ol++] = 0;
    size_t tl = 20 + ol + s->len;
    uint32_t src = s->src_is_zero ? 0 : s->src ? s->src : PEER_IP;
    size_t n = nf_eth(f, fake_mac_a, fake_mac_peer, 0x0800);
    n += nf_ip(f + n, src, OUR_IP, 6, 1, 0, tl);
    uint8_t *t = f + n;
    nf_put16(t, s->sport ? s->sport : RPORT);
    nf_put16(t + 2, s->dport ? s->dport : LPORT);
    nf_put32(t + 4, s->seq);
    nf_put32(t + 8, s->ack);
    t[12] = (uint8_t)((20 + ol) / 4 << 4);
    t[13] = s->flags;
    nf_put16(t + 14, s->wnd);
    nf_put16(t + 16, 0);
    nf_put16(t + 18, 0);
    memcpy(t + 20, opts, ol);
    for (size_t i = 0; i < s->len; i++)
        t[20 + ol + i] = tc_pattern(s->seq + (uint32_t)i);
    uint8_t ph[12];
    nf_put32(ph, src);
    nf_put32(ph + 4, OUR_IP);
    ph[8] = 0, ph[9] = 6;
    nf_put16(ph + 10, (uint16_t)tl);
    uint16_t cs = nf_fold(nf_sum(t, tl, nf_sum(ph, 12, 0)));
    nf_put16(t + 16, (uint16_t)(s->bad_csum ? cs ^ 0x1234 : cs));
    return n + tl;
}

/* ---- segments out ----------------------------------------------------------- */

int tc_host_out(struct fake_host *h, struct so *o)
{
    struct fake_frame *f = fake_dev_pop(&h->dev);

    while (f != NULL && (f->len < 54 || nf_get16(f->data + 12) != 0x0800 || f->data[23] != 6)) {
        free(f);
        f = fake_dev_pop(&h->dev);
    }
    memset(o, 0, sizeof(*o));
    o->mss = o->ws = -1;
    if (f == NULL)
        return 0;
    CHECK(nt_ip_csum_ok(f->data, f->len) && nt_l4_csum_ok(f->data, f->len));
    CHECK_UINT_EQ(f->data[23], 6);
    const uint8_t *t = f->data + 34;
    size_t doff = (size_t)(t[12] >> 4) * 4;
    o->sport = nf_get16(t);
    o->dport = nf_get16(t + 2);
    o->seq = nf_get32(t + 4);
    o->ack = nf_get32(t + 8);
    o->flags = t[13];
    o->wnd = nf_get16(t + 14);
    o->segs = f->segs;
    for (size_t i = 20; i < doff;) {
        uint8_t k = t[i];
        if (k == 0)
            break;
        if (k == 1) {
            i++;
            continue;
        }
        uint8_t l = t[i + 1];
        if (k == 2)
            o->mss = nf_get16(t + i + 2);
        if (k == 3)
            o->ws = t[i + 2];
        if (k == 4)
            o->sackok = 1;
        if (k == 8) {
            o->ts = 1;
            o->tsval = nf_get32(t + i + 2);
            o->tsecr = nf_get32(t + i + 6);
        }
        if (k == 5) {
            o->nsack = (l - 2u) / 8;
            for (unsigned j = 0; j < o->nsack && j < 4; j++) {
                o->sack[j][0] = nf_get32(t + i + 2 + 8 * j);
                o->sack[j][1] = nf_get32(t + i + 6 + 8 * j);
            }
        }
        i += l;
    }
    o->len = nf_get16(f->data + 16) - 20 - doff;
    o->first = o->len ? t[doff] : 0;
    o->payload_ok = 1;
    free(f);
    return 1;
}

/* The peer's ACK of our SYN-ACK (t->iss and t->pseq set): the connection
 * is accepted into t->c, ESTABLISHED, its events reported to t. */
void tc_accept_handshake(struct tc *t)
{
    tc_in(t,
          (struct sg){.flags = F_ACK, .seq = t->pseq, .ack = t->iss + 1, .wnd = 65535, .ws = -1});
    CHECK(t->events & TCP_EV_ACCEPT);
    t->c = tcp_accept(t->l);
    CHECK(t->c != NULL);
    if (t->c != NULL) {
        CHECK_INT_EQ(tcp_get_state(t->c), TCP_ESTABLISHED);
        tcp_set_notify(t->c, tc_on_event, t);
    }
    t->events = 0;
}

/* ---- a connection to script ------------------------------------------------- */

void tc_on_event(struct tcp_conn *c, unsigned ev, void *arg)
{
    (void)c;
    ((struct tc *)arg)->events |= ev;
}

void tc_in(struct tc *t, struct sg s)
{
    uint8_t f[NF_MAX_FRAME];

    if (t->ts && !s.ts && s.raw_opts == NULL) {
        s.ts = 1;
        s.tsval = t->ts_base + (uint32_t)t->h.now + 5000;
        s.tsecr = t->last_tsval;
    }
    if (s.ws == 0 && !(s.flags & F_SYN))
        s.ws = -1;
    fake_host_rx(&t->h, f, tc_build(f, &s));
}

int tc_out(struct tc *t, struct so *o)
{
    int r = tc_host_out(&t->h, o);
    if (r && o->ts)
        t->last_tsval = o->tsval;
    return r;
}

size_t tc_next_rcvbuf;
uint32_t tc_next_stack_zw_ms, tc_next_listener_zw_ms;

void tc_host(struct tc *t, uint32_t features)
{
    memset(t, 0, sizeof(*t));
    nt_host(&t->h, features);
    nt_learn_peer(&t->h);
}

void tc_listen(struct tc *t)
{
    tc_host(t, 0);
    t->h.now = 1000;
    t->h.st.lim.tcp_zero_window_ms = tc_next_stack_zw_ms;
    CHECK_INT_EQ(tcp_listen(&t->h.st, LPORT, 4, &t->l), 0);
    tcp_set_notify(t->l, tc_on_event, t);
    if (tc_next_rcvbuf != 0)
        tcp_set_buffers(t->l, 0, tc_next_rcvbuf); /* inherited by the connection */
    if (tc_next_listener_zw_ms != 0)
        CHECK_INT_EQ(tcp_set_limit(t->l, TCP_LIMIT_ZERO_WINDOW, tc_next_listener_zw_ms), 0);
    tc_next_rcvbuf = 0;
    tc_next_stack_zw_ms = tc_next_listener_zw_ms = 0;
}

void tc_open_at(struct tc *t, int ts, int sack, int ws, uint16_t mss, uint32_t piss,
                uint32_t ts_base)
{
    struct so o;

    tc_listen(t);
    t->ts_base = ts_base;
    tc_in(t, (struct sg){.flags = F_SYN,
                         .seq = piss,
                         .wnd = 65535,
                         .mss = mss,
                         .ws = ws,
                         .sackok = sack,
                         .ts = ts,
                         .tsval = ts_base + 777});
    CHECK(tc_out(t, &o));
    CHECK_UINT_EQ(o.flags, F_SYN | F_ACK);
    CHECK_UINT_EQ(o.ack, piss + 1);
    t->iss = o.seq;
    t->ts = ts;
    t->sack = sack;
    t->pseq = piss + 1;
    tc_accept_handshake(t);
}

void tc_in_state(struct tc *t, struct tcp_fixture fx)
{
    tc_listen(t);
    tc_conn_in_state(t, fx);
}

void tc_conn_in_state(struct tc *t, struct tcp_fixture fx)
{
    enum tcp_state s = fx.state;

    fx.lport = fx.lport != 0 ? fx.lport : LPORT;
    fx.rport = fx.rport != 0 ? fx.rport : RPORT;
    fx.listener = s != TCP_SYN_SENT ? t->l : NULL;
    t->c = nt_tcp_conn_in_state(&t->h, &fx);
    if (t->c == NULL)
        return;
    tcp_set_notify(t->c, tc_on_event, t);
    t->iss = fx.iss;
    t->pseq = fx.irs + 1;
    if (s == TCP_CLOSE_WAIT || s == TCP_CLOSING || s == TCP_LAST_ACK || s == TCP_TIME_WAIT)
        t->pseq++;
    t->ts = fx.ts;
    t->sack = fx.sack;
    /* The peer's clock (tc_in): ts_base + now + 5000, at ts_recent now. */
    t->ts_base = fx.ts_recent - (uint32_t)t->h.now - 5000;
    /* Our clock, as the peer last saw it. */
    if (fx.ts)
        t->last_tsval = (uint32_t)t->h.now + t->c->ts_offset;
    CHECK_INT_EQ(tcp_get_state(t->c), s);
}

void tc_open_opts(struct tc *t, int ts, int sack, int ws, uint16_t mss)
{
    tc_open_at(t, ts, sack, ws, mss, PISS, 0);
}

void tc_open(struct tc *t)
{
    tc_open_opts(t, 0, 0, -1, 1460);
}

void tc_done(struct tc *t)
{
    tcp_abort(t->c, t->h.now);
    tcp_close(t->l, t->h.now);
    fake_dev_clear(&t->h.dev);
    NT_DESTROY(&t->h);
}

void tc_adv(struct tc *t, uint64_t ms)
{
    fake_host_advance(&t->h, t->h.now + ms);
}

void tc_peer_data(struct tc *t, size_t len)
{
    tc_in(t, (struct sg){.flags = F_ACK | F_PSH,
                         .seq = t->pseq,
                         .ack = t->iss + 1,
                         .wnd = 65535,
                         .ws = -1,
                         .len = len});
    t->pseq += (uint32_t)len;
}

void tc_send_bytes(struct tc *t, size_t n)
{
    static uint8_t buf[200000];
    CHECK_INT_EQ(tcp_send_copy(t->c, buf, n, t->h.now), (long)n);
}

void tc_ack_to(struct tc *t, uint32_t rel, uint16_t wnd)
{
    tc_in(t, (struct sg){
                 .flags = F_ACK, .seq = t->pseq, .ack = t->iss + 1 + rel, .wnd = wnd, .ws = -1});
}

uint32_t tc_take_sent(struct tc *t, uint32_t hi)
{
    struct so o;

    while (tc_out(t, &o))
        hi = o.seq + (uint32_t)o.len - t->iss - 1;
    return hi;
}

uint32_t tc_ack_flights(struct tc *t, int rounds)
{
    uint32_t acked = 0;

    for (int r = 0; r < rounds; r++) {
        acked = tc_take_sent(t, acked);
        tc_ack_to(t, acked, 65535);
    }
    return acked;
}