/*
 * net/tcp_options.c - the TCP options we speak (RFC 9293 3.1): reading a
 * received segment's list into struct tcp_opts and writing one from it.
 *
 * Both directions are here, against the same TCP_OPT_* kinds and lengths,
 * so what we send and what we accept cannot drift apart; struct tcp_opts
 * is what the rest of TCP passes around (tcp_input.c reads it, tcp_output.c
 * fills it for every segment it builds, tcp_syncookie.c's SYN-ACK too).
 *
 *   kind  length  option (RFC)               ours to send
 *   0     1       end of list (9293 3.1)     -
 *   1     1       no-operation (9293 3.1)    padding to 32-bit words
 *   2     4       MSS (9293 3.7.1)           SYN, SYN-ACK
 *   3     3       window scale (7323 2)      SYN, SYN-ACK the peer offered it
 *   4     2       SACK-permitted (2018 2)    SYN, SYN-ACK the peer offered it
 *   5     2 + 8n  SACK, n = 1..4 (2018 3)    ACKs while data is out of order
 *   8     10      timestamps (7323 3)        every segment once negotiated
 *
 * Call order: tcp_input -> tcp_opts_parse; xmit and
 * tcp_send_synack_stateless (tcp_output.c) -> tcp_opts_emit.
 */
#include <string.h>

#include "net/byteorder.h"
#include "net/stack_internal.h"
#include "net/tcp_internal.h"

/* NOP NOP kind len: the 32-bit word in front of a timestamp or SACK
 * option (the layout RFC 7323 appendix A recommends, so the fields behind
 * it are aligned), and NOP kind len val for window scale. */
#define NOP2(kind, len)                                                                            \
    ((uint32_t)TCP_OPT_NOP << 24 | (uint32_t)TCP_OPT_NOP << 16 | (uint32_t)(kind) << 8 |           \
     (uint32_t)(len))

/*
 * Whether an option of a kind we use has the length its RFC gives it (the
 * table above; SACK 1 to 4 blocks). Other kinds are not ours to judge.
 */
static int option_len_ok(uint8_t kind, size_t l)
{
    switch (kind) {
    case TCP_OPT_MSS:
        return l == TCP_OLEN_MSS;
    case TCP_OPT_WS:
        return l == TCP_OLEN_WS;
    case TCP_OPT_SACK_PERMITTED:
        return l == TCP_OLEN_SACK_PERMITTED;
    case TCP_OPT_SACK:
        return l >= TCP_OLEN_SACK(1) && l <= TCP_OLEN_SACK(TCP_OPT_SACK_MAX) &&
               (l - TCP_OLEN_SACK(0)) % TCP_OLEN_SACK_BLOCK == 0;
    case TCP_OPT_TS:
        return l == TCP_OLEN_TS;
    default:
        return 1;
    }
}

/* Take in one option (value v, whole length l) whose length option_len_ok
 * accepted. */
static void take_option(uint8_t kind, const uint8_t *v, size_t l, struct tcp_opts *o)
{
    switch (kind) {
    case TCP_OPT_MSS:
        o->has_mss = 1;
        o->mss = net_get_be16(v);
        break;
    case TCP_OPT_WS:
        /* RFC 7323 2.3: a shift above 14 is taken as 14. */
        o->has_ws = 1;
        o->wscale = (uint8_t)net_min_u32(v[0], TCP_MAX_WSCALE);
        break;
    case TCP_OPT_SACK_PERMITTED:
        o->sack_ok = 1;
        break;
    case TCP_OPT_SACK:
        /* A later SACK option replaces an earlier one. */
        o->nsack = 0;
        for (size_t k = 0; k < (l - TCP_OLEN_SACK(0)) / TCP_OLEN_SACK_BLOCK; k++) {
            o->sack[k].start = net_get_be32(v + TCP_OLEN_SACK_BLOCK * k);
            o->sack[k].end = net_get_be32(v + TCP_OLEN_SACK_BLOCK * k + 4);
            o->nsack++;
        }
        break;
    case TCP_OPT_TS:
        o->has_ts = 1;
        o->tsval = net_get_be32(v);
        o->tsecr = net_get_be32(v + 4);
        break;
    default: /* RFC 9293 3.1 (MUST-6): ignored without error */
        break;
    }
}

/*
 * The options of a segment. Never a reason to drop it: a bad option costs
 * that option, not the data and flags that came with it (RFC 9293 3.1;
 * RFC 1122 1.2.2, be liberal in what you accept).
 * - A length wrong for its kind (a 3-byte SACK, an 8-byte timestamp) can
 *   still be stepped over: that option is ignored, counted in bad_len, and
 *   the ones after it are read.
 * - A length that cannot be stepped over (0 or 1: MUST-7 says to be
 *   prepared for them; or running past the header) ends the list; what
 *   came before it stands, the rest is ignored (cut). RFC 9293 suggests
 *   resetting the connection instead; we do not, since then any segment
 *   that passes the window check would reset it, bypassing RFC 5961's
 *   rule that only an RST at exactly RCV.NXT may.
 */
void tcp_opts_parse(const uint8_t *p, size_t len, struct tcp_opts *o)
{
    memset(o, 0, sizeof(*o));
    /* Timestamps alone, NOP-padded as RFC 7323 appendix A suggests so that
     * a receiver may check for them at once: every segment of a connection
     * with timestamps but no SACK blocks carries this list. The loop below
     * would read the same. */
    if (len == TCP_OPT_TS_SPACE && net_get_be32(p) == NOP2(TCP_OPT_TS, TCP_OLEN_TS)) {
        take_option(TCP_OPT_TS, p + 4, TCP_OLEN_TS, o);
        return;
    }
    for (size_t i = 0; i < len;) {
        uint8_t kind = p[i];
        if (kind == TCP_OPT_EOL)
            break;
        if (kind == TCP_OPT_NOP) {
            i++;
            continue;
        }
        size_t l = i + 1 < len ? p[i + 1] : 0;
        if (l < 2 || i + l > len) {
            o->cut = 1;
            break;
        }
        if (option_len_ok(kind, l))
            take_option(kind, p + i + 2, l, o);
        else
            o->bad_len++;
        i += l;
    }
}

/*
 * Write the options o has, in the order SYNs have always carried them
 * (MSS, timestamps, window scale, SACK-permitted), then SACK blocks; each
 * padded with NOPs in front to a 32-bit word. Returns the length, a
 * multiple of 4, at most TCP_OPT_SPACE: the caller asks for no more SACK
 * blocks than fit beside the rest (tcp_sack_blocks_fit).
 */
size_t tcp_opts_emit(const struct tcp_opts *o, uint8_t *p)
{
    size_t n = 0;

    if (o->has_mss) {
        p[n] = TCP_OPT_MSS;
        p[n + 1] = TCP_OLEN_MSS;
        net_put_be16(p + n + 2, o->mss);
        n += 4;
    }
    if (o->has_ts) {
        net_put_be32(p + n, NOP2(TCP_OPT_TS, TCP_OLEN_TS));
        net_put_be32(p + n + 4, o->tsval);
        net_put_be32(p + n + 8, o->tsecr);
        n += 12;
    }
    if (o->has_ws) {
        p[n] = TCP_OPT_NOP;
        p[n + 1] = TCP_OPT_WS;
        p[n + 2] = TCP_OLEN_WS;
        p[n + 3] = o->wscale;
        n += 4;
    }
    if (o->sack_ok) {
        net_put_be32(p + n, NOP2(TCP_OPT_SACK_PERMITTED, TCP_OLEN_SACK_PERMITTED));
        n += 4;
    }
    if (o->nsack > 0) {
        net_put_be32(p + n, NOP2(TCP_OPT_SACK, TCP_OLEN_SACK(o->nsack)));
        n += 4;
        for (unsigned i = 0; i < o->nsack; i++) {
            net_put_be32(p + n, o->sack[i].start);
            net_put_be32(p + n + 4, o->sack[i].end);
            n += TCP_OLEN_SACK_BLOCK;
        }
    }
    return n;
}
