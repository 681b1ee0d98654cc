/*
 * net/tcp_syncookie.c - SYN cookies (RFC 4987 3.6): the encoding. A SYN
 * that finds the SYN cache full of young entries is answered with a
 * SYN-ACK whose ISN (the cookie) carries what the connection needs, and
 * nothing is kept; the ACK that completes the handshake brings it back
 * (its ack - 1) and the connection is made then (tcp_input.c).
 *
 * The cookie, for a SYN with ISN x on the 4-tuple:
 *
 *   cookie = x + H1(tuple) + (t mod 32) << 27 + ((H2(tuple, x, t, ts) + m << 24) mod 2^27)
 *
 *   t    the cookie period the SYN came in: now / 64 s
 *   m    the peer's MSS as an index into mss_table (3 bits)
 *   ts   whether the SYN (and so our SYN-ACK) carried timestamps
 *   H1   32 bits of SipHash-2-4 of the 4-tuple; hides t, so the cookie
 *        is no more predictable than an RFC 6528 ISN
 *   H2   27 bits of SipHash-2-4 of the 4-tuple, x, t and ts
 *
 * both keyed with tcp.cookie_key (derived from the ISN key, which comes
 * from the platform's random32). This is the classic layout (time on top,
 * then the MSS, then 24 bits of keyed hash), with the MSS added into the
 * hash instead of beside it. Checking the ACK (seq = x + 1, ack = cookie +
 * 1): subtract x and H1; the top 5 bits name t, accepted when it is the
 * current period or the one before (a cookie is good for 64 to 128 s); the
 * low 27 bits less H2 for that t must leave only an MSS index in bits
 * 24-26. A forged ACK passes with probability at most 2^-24 per period
 * accepted, 2^-23 in all (2^-28 when H1 is unknown too, as it is for a
 * spoofed source); one off by less than 2^24 never does. Binding ts into H2
 * refuses an ACK without timestamps for a SYN-ACK that had them (RFC 7323
 * 3.2: the peer would then scale its window while we did not).
 *
 * Window scale and SACK-permitted do not fit in the ISN. When the peer
 * offered timestamps, our SYN-ACK's TSval carries them in its low 5 bits
 * (the peer's shift, 15 for none; SACK-permitted), and the ACK's TSecr
 * echoes them back. Without timestamps the connection runs with the MSS
 * only: no window scaling, no SACK, and our SYN-ACK offers neither.
 */
#include "net/stack.h"
#include "net/tcp_internal.h"

#define COOKIE_PERIOD_MS 64000u
#define COOKIE_LOW_BITS  27u
#define COOKIE_LOW_MASK  ((1u << COOKIE_LOW_BITS) - 1u)
#define COOKIE_MSS_SHIFT 24u /* the MSS index over 24 bits of hash */
#define COOKIE_T_MASK    31u /* t mod 32 in the top 5 bits */
#define COOKIE_MAX_AGE   1u  /* periods before the current one still accepted */
#define COOKIE_TS_MASK   31u /* the TSval's low bits: the shift (4), SACK (1) */
#define COOKIE_NO_WS     15u
#define COOKIE_SACK      16u

/* MSS values a cookie can carry: the peer's is rounded down to one of
 * them (Ethernet 1460, PPPoE 1452 -> 1440, tunnels and VPNs, the 536
 * default, jumbo frames; below 536 the stack's floor, 88). */
static const uint16_t mss_table[8] = {88, 536, 1300, 1360, 1400, 1440, 1460, 8960};

uint64_t tcp_cookie_period(uint64_t now_ms)
{
    return now_ms / COOKIE_PERIOD_MS;
}

static unsigned mss_index(uint16_t peer_mss)
{
    unsigned i = sizeof(mss_table) / sizeof(mss_table[0]) - 1;

    while (i > 0 && mss_table[i] > peer_mss)
        i--;
    return i;
}

static uint64_t tuple_word(uint32_t lip, uint32_t rip)
{
    return (uint64_t)lip << 32 | rip;
}

static uint32_t hash1(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                      uint16_t rport)
{
    const uint64_t m[2] = {tuple_word(lip, rip), (uint32_t)lport << 16 | rport};
    return (uint32_t)tcp_siphash(st->tcp.cookie_key, m, 2);
}

static uint32_t hash2(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                      uint16_t rport, uint32_t peer_isn, uint64_t t, int ts)
{
    const uint64_t m[3] = {tuple_word(lip, rip),
                           (uint64_t)((uint32_t)lport << 16 | rport) << 32 | peer_isn,
                           t << 1 | (ts != 0)};
    return (uint32_t)tcp_siphash(st->tcp.cookie_key, m, 3) & COOKIE_LOW_MASK;
}

uint32_t tcp_cookie_isn(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                        uint16_t rport, uint32_t peer_isn, uint16_t peer_mss, int ts,
                        uint64_t now_ms)
{
    uint64_t t = tcp_cookie_period(now_ms);
    uint32_t low = (hash2(st, lip, lport, rip, rport, peer_isn, t, ts) +
                    (mss_index(peer_mss) << COOKIE_MSS_SHIFT)) &
                   COOKIE_LOW_MASK;
    uint32_t word = (uint32_t)(t & COOKIE_T_MASK) << COOKIE_LOW_BITS | low;

    return peer_isn + hash1(st, lip, lport, rip, rport) + word;
}

uint32_t tcp_cookie_tsval(uint32_t clock, int ws, uint8_t wscale, int sack)
{
    uint32_t bits = (ws ? wscale : COOKIE_NO_WS) | (sack ? COOKIE_SACK : 0);
    uint32_t v = (clock & ~COOKIE_TS_MASK) | bits;

    /* Never ahead of the clock: the peer's PAWS (RFC 7323 5) must find
     * our later TSvals no older than this one. */
    if (seq_gt(v, clock))
        v -= COOKIE_TS_MASK + 1;
    return v;
}

int tcp_cookie_check(const struct net_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
                     uint16_t rport, uint32_t peer_isn, uint32_t cookie, int ts, uint32_t tsecr,
                     uint64_t now_ms, struct tcp_cookie *out)
{
    uint32_t word = cookie - peer_isn - hash1(st, lip, lport, rip, rport);
    uint64_t now_t = tcp_cookie_period(now_ms);
    uint32_t age = (uint32_t)(now_t - (word >> COOKIE_LOW_BITS)) & COOKIE_T_MASK;

    if (age > COOKIE_MAX_AGE || age > now_t)
        return 0; /* too old (or forged: a random word mostly lands here) */
    uint64_t t = now_t - age;
    uint32_t m = ((word & COOKIE_LOW_MASK) - hash2(st, lip, lport, rip, rport, peer_isn, t, ts)) &
                 COOKIE_LOW_MASK;
    if ((m & ((1u << COOKIE_MSS_SHIFT) - 1u)) != 0)
        return 0; /* not ours: a forged ACK, another 4-tuple's cookie, or a plain ISN */
    out->mss = mss_table[m >> COOKIE_MSS_SHIFT];
    out->ts = ts != 0;
    out->ws = out->wscale = out->sack = 0;
    if (ts) {
        uint32_t ws = tsecr & 15u;
        out->ws = ws <= TCP_MAX_WSCALE;
        out->wscale = out->ws ? (uint8_t)ws : 0;
        out->sack = (tsecr & COOKIE_SACK) != 0;
    }
    return 1;
}
