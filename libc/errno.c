/*
 * errno.c - default storage for errno.
 *
 * errno expands to *__errno_location(). Until the kernel has threads one
 * global int is right; once it does, the kernel defines its own (strong)
 * __errno_location returning a per-thread slot, and the linker picks that
 * over this weak definition with no change to libc.
 */
#include <errno.h>

__attribute__((weak)) int *__errno_location(void)
{
    static int errno_value;

    return &errno_value;
}
