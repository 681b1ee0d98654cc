/*
 * fuzz_config.c - the static configuration parser on arbitrary strings:
 * no crash, and whatever it accepts it can apply.
 */
#include <stdlib.h>
#include <string.h>

#include "net/config.h"
#include "net/iface.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct net_static_config cfg;
    uint32_t ip, mask;

    memcpy(s, data, size);
    s[size] = '\0';
    if (net_config_parse(s, &cfg) == 0 && cfg.has_ip) {
        struct net_iface ifc;
        static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
        memset(&ifc, 0, sizeof(ifc));
        net_iface_init(&ifc, "f0", mac, 1500, 0, NULL, NULL);
        if (net_config_apply(&ifc, &cfg) != 0 && net_mask_to_prefix(cfg.mask) >= 0 &&
            cfg.ip >> 28 != 0xe && cfg.ip != 0xffffffffu)
            abort(); /* parsed but not applicable */
    }
    net_parse_cidr(s, &ip, &mask);
    net_parse_ip4(s, &ip);
    free(s);
    return 0;
}
