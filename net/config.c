/*
 * net/config.c - strict parsers for static configuration, and printing of
 * addresses. No libc conversions: their leniency (white space, signs,
 * octal) is exactly what a configuration parser should refuse.
 */
#include "net/config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/iface.h"

/* Decimal without sign or leading zeros, value <= max, from [s, s + len). */
static int parse_dec(const char *s, size_t len, uint32_t max, uint32_t *out)
{
    uint32_t v = 0;

    if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        uint64_t next = (uint64_t)v * 10 + (uint32_t)(s[i] - '0');
        if (next > max)
            return -EINVAL;
        v = (uint32_t)next;
    }
    *out = v;
    return 0;
}

int net_parse_ip4_n(const char *s, size_t len, uint32_t *out)
{
    uint32_t ip = 0;
    size_t start = 0;
    int parts = 0;

    if (s == NULL)
        return -EINVAL;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        uint32_t part;
        if (parts == 4 || parse_dec(s + start, i - start, 255, &part) < 0)
            return -EINVAL;
        ip = ip << 8 | part;
        parts++;
        start = i + 1;
    }
    if (parts != 4)
        return -EINVAL;
    *out = ip;
    return 0;
}

int net_parse_ip4(const char *s, uint32_t *out)
{
    if (s == NULL)
        return -EINVAL;
    return net_parse_ip4_n(s, strlen(s), out);
}

uint32_t net_prefix_to_mask(unsigned prefix)
{
    if (prefix == 0)
        return 0;
    if (prefix >= 32)
        return 0xffffffffu;
    return 0xffffffffu << (32 - prefix);
}

int net_mask_to_prefix(uint32_t mask)
{
    int prefix = 0;

    while (prefix < 32 && (mask & (0x80000000u >> prefix)))
        prefix++;
    if (net_prefix_to_mask((unsigned)prefix) != mask)
        return -EINVAL;
    return prefix;
}

int net_parse_cidr(const char *s, uint32_t *ip, uint32_t *mask)
{
    uint32_t addr, prefix = 24;

    if (s == NULL)
        return -EINVAL;
    const char *slash = strchr(s, '/');
    size_t addr_len = slash != NULL ? (size_t)(slash - s) : strlen(s);
    if (net_parse_ip4_n(s, addr_len, &addr) < 0)
        return -EINVAL;
    if (slash != NULL && parse_dec(slash + 1, strlen(slash + 1), 32, &prefix) < 0)
        return -EINVAL;
    *ip = addr;
    *mask = net_prefix_to_mask(prefix);
    return 0;
}

enum cfg_key { KEY_NONE, KEY_IP, KEY_GW, KEY_DNS, KEY_MTU };

static enum cfg_key key_of(const char *k, size_t len)
{
    static const struct {
        const char *name;
        enum cfg_key key;
    } keys[] = {{"ip", KEY_IP}, {"gw", KEY_GW}, {"dns", KEY_DNS}, {"mtu", KEY_MTU}};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i].name) == len && memcmp(keys[i].name, k, len) == 0)
            return keys[i].key;
    return KEY_NONE;
}

/* One "key=value" word of length len; unknown keys are not ours. */
static int parse_word(const char *w, size_t len, struct net_static_config *cfg)
{
    char value[32];
    const char *eq = memchr(w, '=', len);
    uint32_t v;

    if (eq == NULL)
        return 0;
    size_t klen = (size_t)(eq - w), vlen = len - klen - 1;
    enum cfg_key key = key_of(w, klen);
    if (key == KEY_NONE)
        return 0;
    if (vlen >= sizeof(value))
        return -EINVAL;
    memcpy(value, eq + 1, vlen);
    value[vlen] = '\0';
    switch (key) {
    case KEY_IP:
        if (net_parse_cidr(value, &cfg->ip, &cfg->mask) < 0 || cfg->ip == 0)
            return -EINVAL;
        cfg->has_ip = 1;
        return 0;
    case KEY_GW:
        return net_parse_ip4(value, &cfg->gw);
    case KEY_DNS:
        return net_parse_ip4(value, &cfg->dns);
    case KEY_MTU:
        if (parse_dec(value, vlen, 9000, &v) < 0 || v < 68)
            return -EINVAL;
        cfg->mtu = (uint16_t)v;
        return 0;
    default:
        return 0;
    }
}

int net_config_parse(const char *line, struct net_static_config *out)
{
    struct net_static_config cfg;
    size_t i = 0;

    if (line == NULL)
        return -EINVAL;
    memset(&cfg, 0, sizeof(cfg));
    while (line[i] != '\0') {
        if (line[i] == ' ' || line[i] == '\t') {
            i++;
            continue;
        }
        size_t start = i;
        while (line[i] != '\0' && line[i] != ' ' && line[i] != '\t')
            i++;
        if (parse_word(line + start, i - start, &cfg) < 0)
            return -EINVAL;
    }
    if (cfg.gw != 0 && !cfg.has_ip)
        return -EINVAL;
    *out = cfg;
    return 0;
}

int net_config_apply(struct net_iface *ifc, const struct net_static_config *cfg)
{
    if (cfg->mtu != 0)
        ifc->mtu = cfg->mtu;
    ifc->dns = cfg->dns;
    if (!cfg->has_ip)
        return 0;
    return net_iface_set_addr(ifc, cfg->ip, cfg->mask, cfg->gw);
}

int net_format_ip4(uint32_t ip, char *buf, size_t size)
{
    return snprintf(buf, size, "%u.%u.%u.%u", (unsigned)(ip >> 24), (unsigned)(ip >> 16 & 0xff),
                    (unsigned)(ip >> 8 & 0xff), (unsigned)(ip & 0xff));
}

int net_format_mac(const uint8_t mac[6], char *buf, size_t size)
{
    return snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                    mac[4], mac[5]);
}
