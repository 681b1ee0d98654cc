/*
 * kernel/cmdline.h — boot command line: options and the app's argv.
 * The rules are those documented in include/zebu.h ("Command line").
 */
#ifndef ZEBU_KERNEL_CMDLINE_H
#define ZEBU_KERNEL_CMDLINE_H

#include "kernel/option.h"

#define CMDLINE_MAX_ARGS 32

/*
 * Parses `line` against every declared option (section zebu_options),
 * setting their variables and collecting bare words into argv (argv[0] is
 * app_name). Prints a warning per unknown key and an error per malformed
 * value. Returns 0, or the negative number of refused options.
 */
int cmdline_parse(const char *line, const char *app_name);

/* The argv built by cmdline_parse, NULL-terminated. */
int cmdline_argc(void);
char **cmdline_argv(void);
const char *cmdline_raw(void);

/* Prints every option with its help and current value. */
void cmdline_print_help(void);

/* Parses a boolean word: returns 1 or 0, or -EINVAL. */
int cmdline_parse_bool(const char *s);

#endif
