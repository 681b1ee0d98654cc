/*
 * tests/apps/ktest — kernel behaviours the system tests need to see: each way
 * the kernel stops on a fault, and memory above 4 GiB.
 * mode=... picks one; the system tests check the report each one prints.
 */
#include <zebu.h>

static const char *mode = "none";
ZEBU_OPTION_STRING("mode", mode,
                   "pagefault | null | ud | divide | panic | assert | highmem | spin | none");

/* The functions below are noinline so the backtrace names each level. */
__attribute__((noinline)) void fault_write_unmapped(volatile uint64_t *where);
__attribute__((noinline)) void fault_write_unmapped(volatile uint64_t *where)
{
    *where = 0x5a5a5a5a;
}

__attribute__((noinline)) int fault_divide(volatile int d);
__attribute__((noinline)) int fault_divide(volatile int d)
{
    return 100 / d;
}

/* Takes 1 GiB blocks until none is left, writing the first and last word of
 * each and reading them back: on a VM with more than 4 GiB some blocks lie
 * above 4 GiB, which the kernel maps itself when the CPU lacks 1 GiB pages. */
static void touch_big_blocks(void)
{
    const size_t size = (size_t)1 << 30;
    int n = 0, above4g = 0;
    void *p;
    while (n < 64 && (p = malloc(size)) != NULL) {
        volatile uint64_t *first = p, *last = (volatile uint64_t *)((char *)p + size) - 1;
        *first = (uint64_t)(uintptr_t)p;
        *last = ~(uint64_t)(uintptr_t)p;
        if (*first != (uint64_t)(uintptr_t)p || *last != ~(uint64_t)(uintptr_t)p) {
            printf("ktest: highmem: block %p does not keep what was written\n", p);
            exit(1);
        }
        if ((uintptr_t)p >= ((uintptr_t)1 << 32))
            above4g++;
        printf("ktest: highmem: block at %p ok\n", p);
        n++;
    }
    printf("ktest: highmem: %d blocks of 1 GiB, %d above 4 GiB\n", n, above4g);
}

__attribute__((noinline)) static void fault_dispatch(const char *m)
{
    if (strcmp(m, "pagefault") == 0)
        fault_write_unmapped((volatile uint64_t *)0x00000dead0000000ull);
    else if (strcmp(m, "null") == 0)
        fault_write_unmapped((volatile uint64_t *)0x10);
    else if (strcmp(m, "ud") == 0)
        __builtin_trap();
    else if (strcmp(m, "divide") == 0)
        printf("%d\n", fault_divide(0));
    else if (strcmp(m, "assert") == 0)
        assert(strcmp(m, "assert") != 0);
    else if (strcmp(m, "panic") == 0)
        abort();
    else if (strcmp(m, "highmem") == 0)
        touch_big_blocks();
    else if (strcmp(m, "spin") == 0)
        for (;;)
            __asm__ volatile("" ::: "memory"); /* until the test ends the VM */
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("ktest: mode=%s\n", mode);
    fault_dispatch(mode);
    printf("ktest: still running\n");
    return 0;
}
