/*
 * net/config.h - static configuration from strings, and address printing.
 *
 * The kernel passes its command line (or the net part of it); recognised
 * keys are
 *   ip=A.B.C.D[/N]   address and prefix length (default /24)
 *   gw=A.B.C.D       default gateway
 *   dns=A.B.C.D      name server (recorded, not used by net/)
 *   mtu=N            68..9000
 * separated by spaces. Other words are left for others (ignored). Every
 * parser is strict: a value that is not exactly what the key wants makes
 * the whole call fail with -EINVAL and leaves *out untouched.
 */
#ifndef ZEBU_NET_CONFIG_H
#define ZEBU_NET_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct net_iface;

struct net_static_config {
    uint32_t ip, mask, gw, dns; /* host byte order */
    uint16_t mtu;               /* 0: keep the device's */
    uint8_t has_ip;             /* ip= was given: no DHCP */
};

/* "A.B.C.D", each part 0..255 in decimal without leading zeros (so "010"
 * is refused rather than guessed as octal). Returns 0 or -EINVAL. */
int net_parse_ip4(const char *s, uint32_t *out);

/* Same, reading at most len characters of s (no NUL needed). */
int net_parse_ip4_n(const char *s, size_t len, uint32_t *out);

/* "A.B.C.D/N" (N 0..32) or "A.B.C.D" (/24). Returns 0 or -EINVAL. */
int net_parse_cidr(const char *s, uint32_t *ip, uint32_t *mask);

/* Parse a command line as described above into *out (zeroed first on
 * success). Returns 0 or -EINVAL. */
int net_config_parse(const char *line, struct net_static_config *out);

/* Apply a parsed configuration to ifc. Returns 0 or -EINVAL. */
int net_config_apply(struct net_iface *ifc, const struct net_static_config *cfg);

/* Mask for a prefix length 0..32, and the length for a contiguous mask
 * (-EINVAL if not contiguous). */
uint32_t net_prefix_to_mask(unsigned prefix);
int net_mask_to_prefix(uint32_t mask);

/* "A.B.C.D" into buf; returns what snprintf returns. */
int net_format_ip4(uint32_t ip, char *buf, size_t size);

/* "aa:bb:cc:dd:ee:ff" into buf; returns what snprintf returns. */
int net_format_mac(const uint8_t mac[6], char *buf, size_t size);

#endif /* ZEBU_NET_CONFIG_H */
