/*
 * ksyms_test.c - kernel/ksyms.c over a table in tools/mksyms.py's format:
 * a function reaches to the next entry, and the entry after the last one
 * marks where the last function ends.
 */
#include <stdint.h>

#include "kernel/ksyms.h"
#include "runner.h"

const uint32_t ksym_count = 3;
const struct ksym ksym_table[] = {
    {0x100000, 0},  /* _start: 0x100000 - 0x100040 */
    {0x100040, 7},  /* isr_stubs: 0x100040 - 0x101040 */
    {0x101040, 17}, /* kernel_main: 0x101040 - 0x101100 */
    {0x101100, 0},  /* end of the last function */
};
const char ksym_names[] = "_start\0isr_stubs\0kernel_main\0";

TEST(ksyms_lookup_finds_the_function_and_its_extent)
{
    uint64_t off = 99, size = 99;

    CHECK_STR_EQ(ksym_lookup(0x100000, &off, &size), "_start");
    CHECK_UINT_EQ(off, 0);
    CHECK_UINT_EQ(size, 0x40);
    CHECK_STR_EQ(ksym_lookup(0x100230, &off, &size), "isr_stubs"); /* vector 0x1f */
    CHECK_UINT_EQ(off, 0x1f0);
    CHECK_UINT_EQ(size, 0x1000);
    CHECK_STR_EQ(ksym_lookup(0x10103f, &off, &size), "isr_stubs");
    CHECK_STR_EQ(ksym_lookup(0x101040, &off, &size), "kernel_main");
    CHECK_STR_EQ(ksym_lookup(0x1010ff, &off, &size), "kernel_main");
    CHECK_UINT_EQ(off, 0xbf);
    CHECK_UINT_EQ(size, 0xc0);
}

TEST(ksyms_lookup_outside_every_function_is_null)
{
    uint64_t off = 0, size = 0;

    CHECK(ksym_lookup(0, &off, &size) == NULL);
    CHECK(ksym_lookup(0xfffff, &off, &size) == NULL);
    CHECK(ksym_lookup(0x101100, &off, &size) == NULL); /* the end marker itself */
    CHECK(ksym_lookup(0xffffffffffffull, &off, &size) == NULL);
}

TEST(ksyms_address_by_name)
{
    CHECK_UINT_EQ(ksym_address("kernel_main"), 0x101040);
    CHECK_UINT_EQ(ksym_address("_start"), 0x100000);
    CHECK_UINT_EQ(ksym_address("no_such_function"), 0);
}
