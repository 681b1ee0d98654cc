/*
 * kernel/kmalloc_env.h — what kernel/kmalloc.c needs from the kernel, in one
 * place: the current core, interrupt masking, pages and their tags. The host
 * tests supply their own version of this header (tests/host/shim/), so the
 * same allocator code runs under ThreadSanitizer with threads as cores.
 */
#ifndef ZEBU_KERNEL_KMALLOC_ENV_H
#define ZEBU_KERNEL_KMALLOC_ENV_H

#include <stdint.h>

#include "kernel/arch/cpu.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"

#define KM_MAX_CPUS  MAX_CPUS
#define KM_PAGE_SIZE PAGE_SIZE

static inline unsigned km_cpu_id(void)
{
    return this_cpu()->id;
}

static inline uint64_t km_irq_save(void)
{
    uint64_t flags = cpu_read_rflags();
    cpu_irq_disable();
    return flags;
}

static inline void km_irq_restore(uint64_t flags)
{
    if (flags & (1u << 9))
        cpu_irq_enable();
}

static inline void *km_pages_alloc(unsigned order)
{
    return pmem_alloc(order);
}

static inline void km_pages_free(void *p, unsigned order)
{
    pmem_free(p, order);
}

static inline unsigned km_order_for(size_t bytes)
{
    return pmem_order_for(bytes);
}

static inline uint16_t km_tag_get(const void *page)
{
    return pmem_get_tag(page);
}

static inline void km_tag_set(const void *page, uint16_t tag)
{
    pmem_set_tag(page, tag);
}

#define KM_MAX_ORDER PMEM_MAX_ORDER
#define km_printf    kprintf

#endif
