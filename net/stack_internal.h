/*
 * net/stack_internal.h - helpers shared by the net/ modules, not for the
 * embedder: rate-limited logging and header-buffer handling.
 */
#ifndef ZEBU_NET_STACK_INTERNAL_H
#define ZEBU_NET_STACK_INTERNAL_H

#include <stdio.h>

#include "net/stack.h"

/* Whether a message at level may be emitted now (level filter, and at most
 * NET_LOG_BURST non-debug messages per second). Counts suppressed ones. */
int net_log_allowed(struct net_stack *st, int level, uint64_t now_ms);
void net_log_emit(struct net_stack *st, int level, const char *msg);

#define NET_LOG_BURST 20

/* The smaller or larger of two counts (bytes, milliseconds, segments).
 * Not for sequence numbers, which compare modulo 2^32 (seq_min in
 * tcp_internal.h). */
static inline uint32_t net_min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}
static inline uint32_t net_max_u32(uint32_t a, uint32_t b)
{
    return a > b ? a : b;
}
static inline uint64_t net_min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}
static inline size_t net_min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Format and emit a log line if allowed; never used per packet above debug. */
#define NET_LOG(st, level, now_ms, ...)                                                            \
    do {                                                                                           \
        if (net_log_allowed((st), (level), (now_ms))) {                                            \
            char net_log_line_[160];                                                               \
            snprintf(net_log_line_, sizeof(net_log_line_), __VA_ARGS__);                           \
            net_log_emit((st), (level), net_log_line_);                                            \
        }                                                                                          \
    } while (0)

/*
 * Make room for n header bytes in front of chain: in the head's headroom
 * when it is writable and has room, else in a new transmit buffer chained
 * in front (an NB_CSUM_NEEDED head is then finished in software, since its
 * offsets would no longer describe the frame). Consumes chain; returns the
 * new head (data at the n bytes) or NULL after counting tx_nobuf on ifc.
 */
struct netbuf *net_push_header(struct net_stack *st, struct net_iface *ifc, struct netbuf *chain,
                               size_t n);

/* A transmit buffer from the platform; NULL counted as tx_nobuf on ifc. */
struct netbuf *net_tx_alloc(struct net_stack *st, struct net_iface *ifc, size_t headroom,
                            size_t len);

#endif /* ZEBU_NET_STACK_INTERNAL_H */
