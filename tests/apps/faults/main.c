/*
 * tests/apps/faults — makes the kernel stop in each way a test needs to see.
 * mode=... picks one; the system tests check the report each one prints.
 */
#include <zebu.h>

static const char *mode = "none";
ZEBU_OPTION_STRING("mode", mode, "pagefault | null | ud | divide | panic | assert | none");

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
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("faults: mode=%s\n", mode);
    fault_dispatch(mode);
    printf("faults: still running\n");
    return 0;
}
