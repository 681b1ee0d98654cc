/*
 * kernel/driver_env.c — drivers/env.h over the kernel: DMA memory from the
 * page allocator, register mappings from the page tables, vectors from the
 * trap table, log lines through printk. The one kernel file that includes
 * drivers/env.h to implement it; drivers see nothing else of the kernel.
 */
#include <stdarg.h>

#include "drivers/env.h"
#include "kernel/arch/trap.h"
#include "kernel/paging.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"

void *env_dma_alloc(size_t bytes)
{
    return pmem_alloc(pmem_order_for(bytes));
}

void env_dma_free(void *p, size_t bytes)
{
    if (p != NULL)
        pmem_free(p, pmem_order_for(bytes));
}

int env_mmio_map(uint64_t phys, uint64_t len)
{
    return paging_map_mmio(phys, len);
}

int env_irq_alloc(void (*handler)(void *ctx), void *ctx)
{
    return irq_alloc(handler, ctx);
}

/* The levels are the same numbers as printk's, checked here. */
_Static_assert((int)ENV_LOG_ERR == (int)LOG_ERR && (int)ENV_LOG_WARN == (int)LOG_WARN &&
                   (int)ENV_LOG_INFO == (int)LOG_INFO && (int)ENV_LOG_DEBUG == (int)LOG_DEBUG,
               "drivers/env.h's log levels are printk's");

void env_log(enum env_log_level level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk((enum log_level)level, tag, fmt, ap);
    va_end(ap);
}
