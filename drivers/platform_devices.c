/*
 * drivers/platform_devices.c — the virtio-mmio devices a machine lists
 * outside any bus (see platform.h).
 *
 * A microVM has no PCI bus for its virtio devices: each is a 512-byte
 * register window and an interrupt line (VIRTIO 1.1, 4.2). The VMM says
 * where in one of two ways: on the kernel command line, in the syntax of
 * Linux's virtio_mmio driver (QEMU microvm with ACPI off, Firecracker), or
 * as LNRO0005 devices in the DSDT (QEMU microvm with ACPI on; acpi.c reads
 * them). Pure C, no kernel headers: the host tests run it
 * (tests/host/acpi_test.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/platform.h"

static const char MMIO_KEY[] = "virtio_mmio.device=";

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* An unsigned number at s (decimal or 0x hexadecimal, no sign) into *v;
 * returns the character after it, or NULL when there is none. */
static const char *number(const char *s, unsigned long long *v)
{
    char *end;
    if (!is_digit(*s))
        return NULL;
    *v = strtoull(s, &end, 0);
    return end == s ? NULL : end;
}

int platform_parse_virtio_mmio(const char *s, struct acpi_virtio_mmio *out)
{
    unsigned long long size, base, irq, id;
    const char *p = number(s, &size);
    if (p == NULL)
        return -EINVAL;
    if (*p == 'K' || *p == 'k' || *p == 'M' || *p == 'm') {
        size <<= (*p == 'K' || *p == 'k') ? 10 : 20;
        p++;
    }
    /* size@base:irq, then Linux's optional :id (a device number, unused) */
    if (*p != '@' || size == 0 || size > 0xFFFFFFFFull)
        return -EINVAL;
    if ((p = number(p + 1, &base)) == NULL || *p != ':' || base == 0)
        return -EINVAL;
    if ((p = number(p + 1, &irq)) == NULL || irq > 255)
        return -EINVAL;
    if (*p == ':' && (p = number(p + 1, &id)) == NULL)
        return -EINVAL;
    if (*p != '\0' && !is_space(*p))
        return -EINVAL;
    *out = (struct acpi_virtio_mmio){base, (uint32_t)size, (uint32_t)irq};
    return 0;
}

/* The command line's entries: each word that starts with the key. */
static void from_cmdline(const char *line, struct virtio_mmio_list *list)
{
    const size_t klen = sizeof(MMIO_KEY) - 1;
    for (const char *p = line; p != NULL && *p != '\0';) {
        while (is_space(*p))
            p++;
        const char *word = p;
        while (*p != '\0' && !is_space(*p))
            p++;
        if ((size_t)(p - word) < klen || memcmp(word, MMIO_KEY, klen) != 0)
            continue;
        struct acpi_virtio_mmio dev;
        if (platform_parse_virtio_mmio(word + klen, &dev) != 0) {
            if (list->malformed++ == 0)
                list->first_malformed = word;
        } else if (list->n < PLATFORM_MAX_VIRTIO_MMIO) {
            list->dev[list->n++] = dev;
        } else {
            list->dropped++;
        }
    }
}

int platform_find_virtio_mmio(const char *cmdline, const struct acpi_mem *m, uint64_t rsdp,
                              struct virtio_mmio_list *list)
{
    memset(list, 0, sizeof(*list));
    list->source = "none";
    from_cmdline(cmdline, list);
    if (list->n > 0) {
        list->source = "cmdline";
        return list->n;
    }
    if (m == NULL)
        return 0;
    int n = acpi_find_virtio_mmio(m, rsdp, list->dev, PLATFORM_MAX_VIRTIO_MMIO);
    if (n > 0) {
        list->n = n;
        list->source = "acpi";
    }
    return list->n;
}
