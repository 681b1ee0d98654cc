/*
 * net/tcp_output.c - building and sending segments: what the windows,
 * Nagle and recovery allow; SYN, ACK, RST and probes.
 *
 * A segment is a header buffer from tx_alloc (room for Ethernet and IPv4
 * in front) chained to nbuf_slice()s of the send queue: payload is never
 * copied, retransmissions re-slice. The checksum is left to the device
 * (NB_CSUM_NEEDED) when the interface offers NET_IF_TX_CSUM.
 *
 * TCP segmentation offload (NET_IF_TX_TSO): where a full segment may go,
 * the send loop lets it grow into one frame of many segments (NB_GSO_TCP4,
 * gso_size = the payload room of one segment), bounded by the windows, the
 * device's frame length and its chain length; the device cuts it up on the
 * way out. Sequence space stays byte-based, so ACKs, SACK and the timers
 * do not know frames from segments. Fast and SACK retransmissions are one
 * segment each; after a timeout the loop resends from snd_una and those
 * resends may be frames again as cwnd grows.
 *
 * Call order: tcp_send / tcp_input / timers -> tcp_output -> xmit ->
 * ip4_output.
 */
#include <errno.h>
#include <string.h>

#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/eth.h"
#include "net/ipv4.h"
#include "net/stack.h"
#include "net/stack_internal.h"
#include "net/tcp_internal.h"

uint32_t tcp_eff_mss(const struct tcp_conn *c)
{
    uint32_t m = c->mss;

    if (c->ts_ok)
        m -= TCP_OPT_TS_SPACE;
    return net_max_u32(m, 64);
}

/* SACK blocks our next ACK reports: those of the out-of-order queue
 * (update_sack_out), as many as fit. */
static unsigned sack_blocks_out(const struct tcp_conn *c)
{
    unsigned fit = tcp_sack_blocks_fit(c->ts_ok);

    if (!c->sack_ok || c->nsack_out == 0)
        return 0;
    return c->nsack_out < fit ? c->nsack_out : fit; /* the most recent first (RFC 2018 4) */
}

/* Payload room of a data segment now: the MSS less the options it will
 * carry (timestamps, and SACK blocks while there are out-of-order data),
 * so that no segment exceeds the MTU. */
static uint32_t seg_room(const struct tcp_conn *c)
{
    uint32_t o = c->ts_ok ? TCP_OPT_TS_SPACE : 0;
    unsigned k = sack_blocks_out(c);

    if (k > 0)
        o += TCP_OPT_SACK_SPACE(k);
    uint32_t m = c->mss > o ? c->mss - o : 0;
    return net_max_u32(m, 32);
}

/* The window to put in a segment other than a SYN, before scaling: the
 * offered one, at most what the 16-bit field can say at our scale. */
static uint32_t rcv_wnd_to_advertise(struct tcp_conn *c)
{
    return net_min_u32(tcp_rcv_window_offered(c), (uint32_t)65535 << c->rcv_wscale);
}

/* Options of c's SYN (all we support: RFC 7323 and 2018 leave the offer to
 * the SYN) or SYN-ACK (only those the peer's SYN offered, RFC 7323 1.3 and
 * 2.2, RFC 2018 2). The MSS is our interface's, not the peer's clamp. */
static void syn_options(const struct tcp_conn *c, struct tcp_opts *o, uint64_t now_ms)
{
    int synack = c->state != TCP_SYN_SENT;

    *o = (struct tcp_opts){
        .has_mss = 1,
        .mss = tcp_iface_mss(c->ifc),
        .has_ts = !synack || c->ts_ok,
        .has_ws = !synack || c->ws_ok,
        .sack_ok = !synack || c->sack_ok,
        .wscale = c->rcv_wscale,
        .tsval = (uint32_t)now_ms + c->ts_offset,
        .tsecr = synack ? c->ts_recent : 0,
    };
}

/* Options of any other segment: timestamps once negotiated (RFC 7323 3.2:
 * on every segment), and on an ACK the SACK blocks (RFC 2018 4). */
static void data_options(const struct tcp_conn *c, struct tcp_opts *o, uint64_t now_ms,
                         int with_sack)
{
    unsigned k = with_sack ? sack_blocks_out(c) : 0;

    o->has_mss = o->has_ws = o->sack_ok = 0;
    o->has_ts = c->ts_ok;
    o->tsval = (uint32_t)now_ms + c->ts_offset;
    o->tsecr = c->ts_recent;
    o->nsack = k;
    if (k > 0)
        memcpy(o->sack, c->sack_out, k * sizeof(o->sack[0]));
}

/* Fill the checksum of a TCP header buffer (chained payload included) and
 * send the datagram. Consumes hdr. */
static int send_datagram(struct net_stack *st, struct net_iface *ifc, uint32_t lip, uint32_t rip,
                         struct netbuf *hdr, uint64_t now_ms)
{
    size_t tlen = nbuf_chain_len(hdr);
    uint32_t sum = net_csum_pseudo(lip, rip, IP4_PROTO_TCP, (uint16_t)tlen);

    net_put_be16(hdr->data + 16, 0);
    if (ifc->features & NET_IF_TX_CSUM) {
        net_put_be16(hdr->data + 16, net_csum_fold(sum));
        hdr->flags |= NB_CSUM_NEEDED;
        hdr->csum_start = (uint16_t)nbuf_headroom(hdr);
        hdr->csum_offset = 16;
    } else {
        net_put_be16(hdr->data + 16, net_csum_value(net_csum_chain(hdr, 0, SIZE_MAX, sum)));
    }
    return ip4_output(st, ifc, lip, rip, IP4_PROTO_TCP, hdr, now_ms);
}

static void put_header(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                       uint8_t flags, uint16_t wnd, size_t hlen)
{
    net_put_be16(p, sport);
    net_put_be16(p + 2, dport);
    net_put_be32(p + 4, seq);
    net_put_be32(p + 8, ack);
    p[12] = (uint8_t)(hlen / 4 << 4);
    p[13] = flags;
    net_put_be16(p + 14, wnd);
    net_put_be16(p + 16, 0);
    net_put_be16(p + 18, 0);
}

/*
 * The window field of a segment we send, and rcv_adv, the right edge it
 * advertises. A SYN's is never scaled (RFC 7323 2.2); any other carries
 * the offered window shifted by our scale, rounded down, so that the edge
 * is exactly what the peer reads from the field.
 */
static uint16_t window_field(struct tcp_conn *c, uint8_t flags)
{
    uint16_t wfield;

    if (flags & TCP_SYN) {
        wfield = (uint16_t)net_min_u32(tcp_rcv_window(c), 65535);
        c->rcv_adv = c->rcv_nxt + wfield;
    } else {
        uint32_t w = rcv_wnd_to_advertise(c);
        wfield = (uint16_t)(w >> c->rcv_wscale);
        c->rcv_adv = c->rcv_nxt + ((uint32_t)wfield << c->rcv_wscale);
    }
    return wfield;
}

/*
 * Send one segment of c: seq, flags, and len payload bytes taken from the
 * send queue at seq. Returns 0 or a negative errno (nothing sent).
 */
static int xmit(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len, uint64_t now_ms)
{
    struct net_stack *st = c->st;
    struct tcp_opts o;
    uint8_t opts[TCP_OPT_SPACE];

    if (c->ifc == NULL)
        return -ENETUNREACH;
    if (flags & TCP_SYN)
        syn_options(c, &o, now_ms);
    else
        data_options(c, &o, now_ms, (flags & TCP_ACK) != 0);
    size_t olen = tcp_opts_emit(&o, opts), hlen = TCP_HDR_LEN + olen;
    struct netbuf *payload = NULL;
    if (len > 0) {
        size_t off = c->sndq_off + (size_t)(seq - c->snd_una);
        payload = nbuf_slice(c->sndq, off, len);
        if (payload == NULL) {
            net_iface_drop(c->ifc, NET_DROP_TX_NOMEM);
            return -ENOMEM;
        }
    }
    struct netbuf *hdr = net_tx_alloc_hdr(st, c->ifc, NET_L4_HEADROOM, hlen);
    if (hdr == NULL) {
        nbuf_put(payload);
        return -ENOBUFS;
    }
    hdr->next = payload;
    if (len > seg_room(c)) { /* a TSO frame: the device cuts it (tso_grow) */
        hdr->flags |= NB_GSO_TCP4;
        hdr->gso_size = (uint16_t)seg_room(c);
    }
    uint32_t ack = (flags & TCP_ACK) ? c->rcv_nxt : 0;
    put_header(hdr->data, c->lport, c->rport, seq, ack, flags, window_field(c, flags), hlen);
    memcpy(hdr->data + TCP_HDR_LEN, opts, olen);
    /* Any segment with ACK acknowledges all received so far: no ACK is due
     * any more (delayed or not, RFC 9293 3.8.6.3), and it is the
     * Last.ACK.sent of RFC 7323 4.3 (ts_recent_update). */
    if (flags & TCP_ACK) {
        c->last_ack_sent = c->rcv_nxt;
        c->ack_now = 0;
        c->unacked_segs = 0;
        c->delack_at = TCP_NO_TIMER;
    }
    c->stats.segs_out++;
    c->stats.bytes_out += len;
    if (len > 0)
        st->tcp.segs_out_by_size[tcp_size_class(c, len)]++;
    send_datagram(st, c->ifc, c->lip, c->rip, hdr, now_ms);
    return 0;
}

void tcp_rto_arm(struct tcp_conn *c, uint64_t now_ms)
{
    c->rto_at = now_ms + tcp_backoff_ms(c->rto, c->backoff);
    tcp_tq_note(c);
}

void tcp_retransmit_first(struct tcp_conn *c, uint64_t now_ms)
{
    uint32_t len = net_min_u32((uint32_t)c->sndq_len, tcp_eff_mss(c));

    if (len == 0)
        return;
    c->stats.retransmits++;
    /* Karn (RFC 6298 3): no RTT sample across a retransmission. */
    if (xmit(c, c->snd_una, TCP_ACK, net_min_u32(len, seg_room(c)), now_ms) == 0)
        c->rtt_timing = 0;
}

void tcp_send_ack(struct tcp_conn *c, uint64_t now_ms)
{
    /* snd_max, not snd_nxt: after a timeout snd_nxt went back, and an ACK
     * carrying an old sequence number would be unacceptable to the peer. */
    xmit(c, c->snd_max, TCP_ACK, 0, now_ms);
}

void tcp_send_probe(struct tcp_conn *c, uint64_t now_ms)
{
    xmit(c, c->snd_una - 1, TCP_ACK, 0, now_ms);
}

void tcp_send_syn(struct tcp_conn *c, uint64_t now_ms)
{
    uint8_t flags = c->state == TCP_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK;

    if (c->syn_tries == 0)
        c->rtt_start = now_ms; /* the handshake's RTT sample (Karn: first SYN only) */
    xmit(c, c->iss, flags, 0, now_ms);
    c->snd_nxt = c->iss + 1;
    if (seq_lt(c->snd_max, c->snd_nxt))
        c->snd_max = c->snd_nxt;
    tcp_rto_arm(c, now_ms);
}

void tcp_send_rst_conn(struct tcp_conn *c, uint64_t now_ms)
{
    xmit(c, c->snd_max, TCP_RST | TCP_ACK, 0, now_ms);
}

void tcp_send_synack_stateless(struct net_stack *st, struct net_iface *ifc,
                               const struct tcp_synack *sa, uint64_t now_ms)
{
    uint8_t opts[TCP_OPT_SPACE];
    size_t olen = tcp_opts_emit(&sa->opt, opts), hlen = TCP_HDR_LEN + olen;
    struct netbuf *hdr = net_tx_alloc_hdr(st, ifc, NET_L4_HEADROOM, hlen);

    if (hdr == NULL)
        return;
    put_header(hdr->data, sa->lport, sa->rport, sa->seq, sa->ack, TCP_SYN | TCP_ACK, sa->wnd, hlen);
    memcpy(hdr->data + TCP_HDR_LEN, opts, olen);
    send_datagram(st, ifc, sa->lip, sa->rip, hdr, now_ms);
}

void tcp_send_rst_reply(struct net_stack *st, struct net_iface *ifc, uint32_t lip, uint32_t rip,
                        uint16_t lport, uint16_t rport, const struct tcp_seg *seg, uint64_t now_ms)
{
    struct netbuf *hdr;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = TCP_RST;

    if (seg->flags & TCP_RST)
        return;
    if (seg->flags & TCP_ACK) {
        seq = seg->ack;
    } else {
        ack = seg->seq + seg->len + !!(seg->flags & TCP_SYN) + !!(seg->flags & TCP_FIN);
        flags |= TCP_ACK;
    }
    if ((hdr = net_tx_alloc_hdr(st, ifc, NET_L4_HEADROOM, TCP_HDR_LEN)) == NULL)
        return;
    put_header(hdr->data, lport, rport, seq, ack, flags, 0, TCP_HDR_LEN);
    send_datagram(st, ifc, lip, rip, hdr, now_ms);
}

/* ---- the send loop ------------------------------------------------------- */

uint32_t tcp_sacked_bytes(const struct tcp_conn *c)
{
    uint32_t n = 0;

    for (unsigned i = 0; i < c->nsb; i++)
        n += c->sb[i].end - c->sb[i].start;
    return n;
}

/* RFC 6675 pipe, simplified: outstanding bytes not SACKed, less the holes
 * below the highest SACKed byte that were not yet retransmitted (taken as
 * lost). */
uint32_t tcp_pipe(const struct tcp_conn *c)
{
    uint32_t out = c->snd_max - c->snd_una - tcp_sacked_bytes(c);

    if (!c->in_recovery || c->nsb == 0)
        return out;
    uint32_t high = c->sb[c->nsb - 1].end, from = seq_max(c->rexmit_nxt, c->snd_una);
    uint32_t lost = 0;
    for (unsigned i = 0; i < c->nsb && seq_lt(from, high); i++) {
        if (seq_lt(from, c->sb[i].start))
            lost += c->sb[i].start - from;
        from = seq_max(from, c->sb[i].end);
    }
    return out > lost ? out - lost : 0;
}

/* The next hole at or after rexmit_nxt below the highest SACKed byte:
 * *len bytes at the returned seq, or 0 in *len when none. */
static uint32_t next_hole(struct tcp_conn *c, uint32_t *len)
{
    uint32_t from = seq_max(c->rexmit_nxt, c->snd_una);

    *len = 0;
    for (unsigned i = 0; i < c->nsb; i++) {
        if (seq_ge(from, c->sb[i].end))
            continue;
        if (seq_lt(from, c->sb[i].start)) {
            *len = c->sb[i].start - from;
            return from;
        }
        from = c->sb[i].end;
    }
    return from;
}

/* Bytes cwnd leaves for sending at snd_nxt: cwnd less what is in flight
 * (the pipe in SACK recovery), plus limited transmit's allowance
 * (RFC 3042): a new segment for each of the first two duplicate ACKs. */
static uint32_t cwnd_room(const struct tcp_conn *c)
{
    uint32_t used, lim = c->cwnd;

    if (c->in_recovery && c->sack_ok) {
        used = tcp_pipe(c);
    } else {
        used = c->snd_nxt - c->snd_una;
        if (!c->in_recovery && c->dupacks < TCP_DUPACK_THRESH)
            lim += c->dupacks * c->mss;
    }
    return lim > used ? lim - used : 0;
}

static int flow_allows(struct tcp_conn *c, uint32_t len)
{
    return len <= cwnd_room(c);
}

/* With TSO, the most payload one frame may carry: the device's datagram
 * limit less the headers, in whole segments of mss; 0 without TSO. */
static uint32_t tso_max_payload(const struct tcp_conn *c, uint32_t mss)
{
    const struct net_iface *ifc = c->ifc;

    if (ifc == NULL || !(ifc->features & NET_IF_TX_TSO) || ifc->tso_max_segs < 2)
        return 0;
    uint32_t hdrs = IP4_HDR_LEN + TCP_HDR_LEN + (c->mss > mss ? c->mss - mss : 0);
    uint32_t max = ifc->tso_max_len > hdrs ? ifc->tso_max_len - hdrs : 0;
    max -= max % mss;
    return max > mss ? max : 0;
}

/*
 * TSO: a full segment at snd_nxt grows into a frame of several, bounded by
 * the data queued (left), the peer's window (room), cwnd, the device's
 * frame length and its chain length (slices behind the header). Whole
 * segments only, except a tail that the one-segment-at-a-time loop would
 * also send now (Nagle off, closing, or a retransmission): the wire sees
 * the same segments either way. A frame is all new data or all
 * retransmission.
 */
static uint32_t tso_grow(struct tcp_conn *c, uint32_t mss, uint32_t left, uint32_t room, int rexmit)
{
    uint32_t n = tso_max_payload(c, mss), cw = cwnd_room(c);

    if (n == 0)
        return mss;
    n = net_min_u32(net_min_u32(n, left), net_min_u32(room, cw));
    if (rexmit && n > c->snd_max - c->snd_nxt)
        n = c->snd_max - c->snd_nxt;
    size_t off = c->sndq_off + (size_t)(c->snd_nxt - c->snd_una);
    n = (uint32_t)nbuf_span_segs(c->sndq, off, n, c->ifc->tso_max_segs - 1u);
    int tail_ok =
        (n == left && (c->nodelay || c->shut_wr)) || (rexmit && n == c->snd_max - c->snd_nxt);
    if (n % mss != 0 && !tail_ok)
        n -= n % mss;
    return net_max_u32(n, mss);
}

/* Whether xmit failed for want of memory (a header or a slice). */
static int nomem(int err)
{
    return err == -ENOMEM || err == -ENOBUFS;
}

/* After the send loop: the retransmission timer covers data in flight;
 * persist a closed window. When a send found no memory with nothing in
 * flight, no ACK will come to restart the loop: the same timer retries. */
static void output_timers(struct tcp_conn *c, int starved, uint64_t now_ms)
{
    if (c->snd_max != c->snd_una) {
        if (c->rto_at == TCP_NO_TIMER)
            tcp_rto_arm(c, now_ms);
        c->persist_at = TCP_NO_TIMER;
    } else if (c->sndq_len > 0 && c->snd_wnd == 0 && c->persist_at == TCP_NO_TIMER) {
        /* Data waits on a shut window with nothing in flight: the persist
         * timer (RFC 9293 3.8.6.1), at least TCP_PERSIST_MIN, backed off
         * per unanswered probe. */
        c->persist_at =
            now_ms + tcp_backoff_ms(net_max_u32(c->rto, TCP_PERSIST_MIN), c->persist_backoff);
        tcp_tq_note(c);
    } else if (starved && c->rto_at == TCP_NO_TIMER) {
        c->st->tcp.nomem_retries++;
        tcp_rto_arm(c, now_ms);
    }
    /* The zero-window stall (TCP_LIMIT_ZERO_WINDOW): data for the peer,
     * queued or in flight, and its window shut. Every ACK and every send
     * comes through here, so the clock starts when the window closes on
     * data and stops when it opens or the data is all acknowledged. */
    tcp_stall_update(c, TCP_LIMIT_ZERO_WINDOW, c->snd_wnd == 0 && c->sndq_len > 0, now_ms);
}

/*
 * Whether c's state lets tcp_output send data: ESTABLISHED and CLOSE-WAIT,
 * and while our FIN is unacknowledged (FIN-WAIT-1, CLOSING, LAST-ACK: it
 * may need resending). The other states send at most an ACK that is due:
 * SYN-RECEIVED resends its SYN-ACK instead, since a peer in SYN-SENT drops
 * a bare ACK (RFC 9293 3.10.7.3) and a repeated SYN means ours was lost.
 */
static int output_state_sends_data(struct tcp_conn *c, uint64_t now_ms)
{
    switch (c->state) {
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
    case TCP_FIN_WAIT_1:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
        return 1;
    case TCP_SYN_RECEIVED:
        if (c->ack_now) {
            c->ack_now = 0;
            xmit(c, c->iss, TCP_SYN | TCP_ACK, 0, now_ms);
        }
        return 0;
    case TCP_FIN_WAIT_2:
    case TCP_TIME_WAIT:
        if (c->ack_now)
            tcp_send_ack(c, now_ms);
        return 0;
    default:
        return 0;
    }
}

/*
 * SACK recovery (RFC 6675 5): resend the holes below the highest SACKed
 * byte, at most mss at a time, while the pipe leaves cwnd room (NextSeg
 * rule 1; the first hole at once, step 4.3). Returns whether one went.
 */
static int sack_rexmit_holes(struct tcp_conn *c, uint32_t mss, uint64_t now_ms)
{
    int sent = 0;

    while (c->in_recovery && c->sack_ok) {
        uint32_t hlen, seq = next_hole(c, &hlen);
        if (hlen == 0)
            break;
        hlen = net_min_u32(hlen, mss);
        if (!c->rexmit_first && tcp_pipe(c) + hlen > c->cwnd)
            break;
        c->rexmit_first = 0;
        if (xmit(c, seq, TCP_ACK, hlen, now_ms) != 0)
            break;
        c->rexmit_nxt = seq + hlen;
        c->stats.retransmits++;
        c->stats.sack_retransmits++;
        c->rtt_timing = 0; /* Karn (RFC 6298 3) */
        sent = 1;
    }
    return sent;
}

/*
 * Nothing queued is left at snd_nxt (data_end): our FIN, when the app shut
 * down and it is not sent yet, or is due again (after a timeout snd_nxt
 * went back). Returns whether it went; *err holds xmit's result.
 */
static int send_fin_alone(struct tcp_conn *c, uint32_t data_end, int *err, uint64_t now_ms)
{
    int fin_due = c->shut_wr && c->snd_nxt == data_end && !seq_ge(c->snd_max, data_end + 1);
    int fin_resend = c->shut_wr && c->fin_sent && c->snd_nxt == data_end;

    if (!fin_due && !fin_resend)
        return 0;
    if ((*err = xmit(c, c->snd_nxt, TCP_FIN | TCP_ACK, 0, now_ms)) != 0)
        return 0;
    if (fin_resend && !fin_due)
        c->stats.retransmits++;
    c->snd_nxt++;
    c->fin_sent = 1;
    return 1;
}

/*
 * How many of the `left` bytes queued at snd_nxt may go now, in a segment
 * of at most mss, with `room` bytes of the peer's window left at snd_nxt;
 * 0: none. rexmit: they were sent before (after a timeout).
 */
static uint32_t send_allowed(struct tcp_conn *c, uint32_t mss, uint32_t left, uint32_t room,
                             int rexmit)
{
    uint32_t len = net_min_u32(left, mss);

    if (room == 0)
        return 0; /* the persist timer probes the window (output_timers) */
    if (len > room) {
        /* Sender SWS avoidance (RFC 9293 3.8.6.2.1, RFC 1122 4.2.3.4): a
         * window-limited runt only when nothing is outstanding. */
        if (room < mss && c->snd_max != c->snd_una)
            return 0;
        len = room;
    }
    /* The congestion window (RFC 5681 3.1, with RFC 3042's limited
     * transmit in cwnd_room); with nothing in flight one segment may go
     * regardless, so that the window can never hold the connection. */
    if (!flow_allows(c, len) && !(c->snd_max == c->snd_una && len <= mss))
        return 0;
    /* Nagle (RFC 9293 3.7.4, RFC 1122 4.2.3.4, RFC 896): a runt waits while
     * data is unacknowledged, unless it is the last before our FIN. */
    if (len < mss && !rexmit && !c->nodelay && c->snd_max != c->snd_una &&
        !(c->shut_wr && len == left))
        return 0;
    return len;
}

/* Bookkeeping after a data segment of len bytes (flags: with FIN?) went
 * out at snd_nxt. */
static void data_sent(struct tcp_conn *c, uint32_t len, uint8_t flags, int rexmit, uint64_t now_ms)
{
    if (rexmit) {
        c->stats.retransmits++;
        c->rtt_timing = 0; /* Karn (RFC 6298 3) */
    } else if (!c->rtt_timing && !c->ts_ok) {
        /* Without timestamps one segment a round trip is timed (RFC 6298
         * 3), the first one sent while none is. */
        c->rtt_timing = 1;
        c->rtt_seq = c->snd_nxt + len;
        c->rtt_start = now_ms;
    }
    c->snd_nxt += len;
    if (flags & TCP_FIN) {
        c->snd_nxt++;
        c->fin_sent = 1;
    }
    if (seq_lt(c->snd_max, c->snd_nxt))
        c->snd_max = c->snd_nxt;
}

/*
 * Send what may go: in SACK recovery the holes first; then segments from
 * snd_nxt while the peer's window, SWS avoidance, cwnd and Nagle allow
 * (send_allowed), grown to TSO frames where a full segment may go, the
 * last with PSH (and FIN after a shutdown); then our FIN alone when no
 * data is left; an ACK that is due if nothing else carried it; timers.
 */
void tcp_output(struct tcp_conn *c, uint64_t now_ms)
{
    uint32_t mss = seg_room(c);
    int sent = 0, err = 0;

    if (!output_state_sends_data(c, now_ms))
        return;
    sent = sack_rexmit_holes(c, mss, now_ms);
    uint32_t data_end = c->snd_una + (uint32_t)c->sndq_len;
    uint32_t wnd_end = c->snd_una + c->snd_wnd;
    for (;;) {
        uint32_t left = seq_lt(c->snd_nxt, data_end) ? data_end - c->snd_nxt : 0;
        if (left == 0) {
            sent |= send_fin_alone(c, data_end, &err, now_ms);
            break;
        }
        uint32_t room = seq_lt(c->snd_nxt, wnd_end) ? wnd_end - c->snd_nxt : 0;
        int rexmit = seq_lt(c->snd_nxt, c->snd_max);
        uint32_t len = send_allowed(c, mss, left, room, rexmit);
        if (len == 0)
            break;
        if (len == mss)
            len = tso_grow(c, mss, left, room, rexmit);
        uint8_t flags = TCP_ACK;
        if (len == left)
            flags |= c->shut_wr ? TCP_PSH | TCP_FIN : TCP_PSH;
        if ((err = xmit(c, c->snd_nxt, flags, len, now_ms)) != 0)
            break;
        sent = 1;
        data_sent(c, len, flags, rexmit, now_ms);
        if (flags & TCP_FIN)
            break;
    }
    if (seq_lt(c->snd_max, c->snd_nxt))
        c->snd_max = c->snd_nxt;
    /* Our FIN is out: RFC 9293 3.10.4 CLOSE, ESTABLISHED -> FIN-WAIT-1,
     * CLOSE-WAIT -> LAST-ACK. */
    if (c->fin_sent) {
        if (c->state == TCP_ESTABLISHED)
            tcp_set_state(c, TCP_FIN_WAIT_1);
        else if (c->state == TCP_CLOSE_WAIT)
            tcp_set_state(c, TCP_LAST_ACK);
    }
    if (!sent && c->ack_now)
        tcp_send_ack(c, now_ms);
    output_timers(c, nomem(err), now_ms);
}
