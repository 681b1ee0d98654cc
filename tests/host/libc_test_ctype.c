/*
 * libc_test_ctype.c - ctype.h against glibc in the "C" locale (the locale
 * every program starts in), for every argument C allows: EOF and 0..255.
 * Values outside that range are undefined for glibc; ours must answer
 * "no" and leave them unchanged, which is checked on its own.
 */
#include <ctype.h>
#include <limits.h>

#include "runner.h"
#include "zt_libc.h"

TEST(ctype_vs_glibc)
{
    static const struct {
        const char *name;
        int (*ours)(int);
        int (*ref)(int);
    } classes[] = {
        {"isdigit", zt_isdigit, isdigit}, {"isxdigit", zt_isxdigit, isxdigit},
        {"isalpha", zt_isalpha, isalpha}, {"isalnum", zt_isalnum, isalnum},
        {"isspace", zt_isspace, isspace}, {"isupper", zt_isupper, isupper},
        {"islower", zt_islower, islower}, {"isprint", zt_isprint, isprint},
        {"isgraph", zt_isgraph, isgraph}, {"ispunct", zt_ispunct, ispunct},
        {"iscntrl", zt_iscntrl, iscntrl},
    };

    for (size_t k = 0; k < sizeof(classes) / sizeof(classes[0]); k++) {
        for (int c = -1; c <= 255; c++) {
            int ours = classes[k].ours(c) != 0, ref = classes[k].ref(c) != 0;
            CHECK_AT(__FILE__, __LINE__, ours == ref, "%s(%d): ours %d, glibc %d", classes[k].name,
                     c, ours, ref);
        }
    }
    for (int c = -1; c <= 255; c++) {
        CHECK_AT(__FILE__, __LINE__, zt_tolower(c) == tolower(c), "tolower(%d): %d vs %d", c,
                 zt_tolower(c), tolower(c));
        CHECK_AT(__FILE__, __LINE__, zt_toupper(c) == toupper(c), "toupper(%d): %d vs %d", c,
                 zt_toupper(c), toupper(c));
    }
}

TEST(ctype_out_of_range)
{
    static const int values[] = {INT_MIN, -129, -128, -65, -2, 256, 256 + 'a', 1000, INT_MAX};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int c = values[i];
        int any = zt_isdigit(c) | zt_isxdigit(c) | zt_isalpha(c) | zt_isalnum(c) | zt_isspace(c) |
                  zt_isupper(c) | zt_islower(c) | zt_isprint(c) | zt_isgraph(c) | zt_ispunct(c) |
                  zt_iscntrl(c);
        CHECK_AT(__FILE__, __LINE__, any == 0, "value %d is in some class", c);
        CHECK_INT_EQ(zt_tolower(c), c);
        CHECK_INT_EQ(zt_toupper(c), c);
    }
}
