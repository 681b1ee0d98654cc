/*
 * zebu_option.h — options on the boot command line: the record an option
 * declaration leaves in the image, and the macros that declare one.
 *
 * Apps get it through <zebu.h> (see "Command line" there for the rules of
 * the line); kernel code and drivers, which must not see the app API, get
 * it through kernel/option.h and drivers/env.h. Every declaration, app's or
 * kernel's, puts one struct zebu_option in the section zebu_options, which
 * kernel/cmdline.c walks: so this header is the one definition both sides
 * share. It needs only the compiler's freestanding headers.
 */
#ifndef ZEBU_OPTION_H
#define ZEBU_OPTION_H

#include <stdbool.h>

enum zebu_option_type {
    ZEBU_OPT_BOOL = 1,
    ZEBU_OPT_INT = 2,
    ZEBU_OPT_STRING = 3,
};

struct zebu_option {
    const char *name;
    const char *help;
    void *var;
    long min, max;
    int type; /* enum zebu_option_type */
};

#define ZEBU_OPT_CAT2(a, b) a##b
#define ZEBU_OPT_CAT(a, b)  ZEBU_OPT_CAT2(a, b)
#define ZEBU_OPTION_DECLARE(nm, ptr, lo, hi, ty, hlp)                                              \
    static const struct zebu_option ZEBU_OPT_CAT(zebu_option_, __LINE__)                           \
        __attribute__((used, section("zebu_options"), aligned(8))) = {                              \
            .name = (nm), .help = (hlp), .var = (ptr), .min = (lo), .max = (hi), .type = (ty)}

/* var must be a `long`. */
#define ZEBU_OPTION_INT(name, var, min, max, help)                                                 \
    ZEBU_OPTION_DECLARE(name, _Generic(&(var), long *: &(var)), min, max, ZEBU_OPT_INT, help)
/* var must be a `bool`. */
#define ZEBU_OPTION_BOOL(name, var, help)                                                          \
    ZEBU_OPTION_DECLARE(name, _Generic(&(var), bool *: &(var)), 0, 1, ZEBU_OPT_BOOL, help)
/* var must be a `const char *`. */
#define ZEBU_OPTION_STRING(name, var, help)                                                        \
    ZEBU_OPTION_DECLARE(name, _Generic(&(var), const char **: &(var)), 0, 0, ZEBU_OPT_STRING,     \
                        help)

#endif
