/*
 * zebu.h — the Zebu application API. An app includes this header and nothing
 * else; it brings in the C library subset Zebu provides (<assert.h>, <stdio.h>,
 * <stdlib.h>, <string.h>, <ctype.h>, <errno.h>, <stdint.h>, <stdbool.h>).
 *
 * An app is a folder under apps/ with one or more .c files, one of which
 * defines main(). `make APP=name run` links it with the kernel and boots it.
 *
 * Return values follow one rule: 0 is success, a negative errno value is a
 * failure, a positive value is a count. Pointer returns use NULL.
 */
#ifndef ZEBU_H
#define ZEBU_H

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Entry point --------------------------------------------------------
 *
 * int main(int argc, char **argv);
 *
 * Called once the kernel is up. argv[0] is the app's name; argv[1..] are the
 * words of the boot command line that are not options (see below), and every
 * word after a lone "--". When main returns, the VM ends with its return
 * value as exit status, as if zebu_exit() had been called.
 */
int main(int argc, char **argv);

/* ---- Console ------------------------------------------------------------
 *
 * printf(), puts() and putchar() write to every console (serial COM1 and the
 * VGA text screen when present). Output is unbuffered: each call reaches the
 * console before it returns. zebu_console_write() writes raw bytes.
 */
void zebu_console_write(const char *buf, size_t len);

/* ---- Exit status --------------------------------------------------------
 *
 * Ends the app and the VM. Under QEMU the launcher (tools/zebu-run) exits
 * with `status` (0..125). Reserved statuses: 2 = bad command line,
 * 126 = unbootable CPU, 127 = kernel panic or CPU exception. On bare metal
 * the machine halts. exit() is the same call.
 */
void zebu_exit(int status) __attribute__((noreturn));

/* ---- Command line -------------------------------------------------------
 *
 * The boot command line (QEMU -append, GRUB's multiboot line, ARGS= in make)
 * is a list of words separated by spaces; double quotes group words
 * (greeting="good day"). A word key=value sets the option named key; a bare
 * word that names a boolean option sets it to true; other bare words, and
 * everything after "--", go to main's argv.
 *
 * Apps declare their options at file scope with the macros below; the
 * kernel's own options (loglevel, help, ...) are declared the same way.
 * Unknown keys are reported by name with a warning and ignored. A value that
 * does not parse, or is out of range, is refused with the option's name and
 * the VM stops with status 2 before main runs: a service never starts with a
 * configuration it did not ask for. `help` on the command line lists every
 * option with its help text and default, then exits with status 0.
 *
 *   static long port = 8080;
 *   ZEBU_OPTION_INT("port", port, 1, 65535, "TCP port to listen on");
 *   static bool verbose;
 *   ZEBU_OPTION_BOOL("verbose", verbose, "log every request");
 *   static const char *greeting = "hello";
 *   ZEBU_OPTION_STRING("greeting", greeting, "what to say");
 *
 * Integers accept decimal or 0x-prefixed hexadecimal; booleans accept
 * 1/0, true/false, yes/no, on/off. Strings point into kernel memory that
 * lives as long as the VM.
 */
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

/* The whole option part of the boot command line, as the loader gave it. */
const char *zebu_cmdline(void);

/* ---- About the machine --------------------------------------------------*/

/* How the kernel was booted: "multiboot1", ... */
const char *zebu_boot_protocol(void);

/* Nanoseconds since the kernel's first instruction (monotonic). */
uint64_t zebu_time_ns(void);

#endif
