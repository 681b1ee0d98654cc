/*
 * kernel/cmdline.c — the boot command line.
 *
 * The line is copied once into a kernel buffer and cut into words in place
 * (quotes removed), so string options and argv entries can point into it for
 * the life of the VM. Options are found in the zebu_options section, which
 * the ZEBU_OPTION_* macros fill at link time, for kernel and app alike.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/boot.h"
#include "kernel/cmdline.h"
#include "kernel/printk.h"

extern const struct zebu_option __start_zebu_options[], __stop_zebu_options[];

static char words_buf[BOOT_CMDLINE_MAX];
static char raw_copy[BOOT_CMDLINE_MAX];
static char *argv_store[CMDLINE_MAX_ARGS + 1];
static int argc_store;

static const struct zebu_option *option_find(const char *name)
{
    for (const struct zebu_option *o = __start_zebu_options; o < __stop_zebu_options; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

int cmdline_parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (unsigned i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -EINVAL;
}

/* Sets o from the text value; prints why and returns -EINVAL when refused. */
static int option_set(const struct zebu_option *o, const char *value)
{
    long v;
    int b, err;
    switch (o->type) {
    case ZEBU_OPT_BOOL:
        b = cmdline_parse_bool(value);
        if (b < 0) {
            pr_err("cmdline", "option '%s': '%s' is not a boolean (use 1/0, true/false, "
                   "yes/no, on/off)", o->name, value);
            return -EINVAL;
        }
        *(bool *)o->var = b;
        return 0;
    case ZEBU_OPT_INT:
        err = parse_long(value, o->min, o->max, &v);
        if (err == -ERANGE) {
            pr_err("cmdline", "option '%s': '%s' is out of range %ld..%ld", o->name, value,
                   o->min, o->max);
            return -EINVAL;
        }
        if (err != 0) {
            pr_err("cmdline", "option '%s': '%s' is not an integer (expected %ld..%ld)", o->name,
                   value, o->min, o->max);
            return -EINVAL;
        }
        *(long *)o->var = v;
        return 0;
    case ZEBU_OPT_STRING:
        *(const char **)o->var = value;
        return 0;
    default:
        pr_err("cmdline", "option '%s' has an unknown type %d", o->name, o->type);
        return -EINVAL;
    }
}

/* Cuts the next word out of *p in place, removing double quotes.
 * Returns NULL at the end of the line. */
static char *next_word(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return NULL;
    char *word = s, *out = s;
    int quoted = 0;
    for (; *s != '\0'; s++) {
        if (*s == '"') {
            quoted = !quoted;
            continue;
        }
        if (!quoted && (*s == ' ' || *s == '\t'))
            break;
        *out++ = *s;
    }
    if (*s != '\0')
        s++;
    *out = '\0';
    *p = s;
    return word;
}

static void argv_push(char *word)
{
    if (argc_store < CMDLINE_MAX_ARGS)
        argv_store[argc_store++] = word;
    else
        pr_warn("cmdline", "more than %d arguments: '%s' dropped", CMDLINE_MAX_ARGS - 1, word);
}

int cmdline_parse(const char *line, const char *app_name)
{
    strlcpy(raw_copy, line, sizeof(raw_copy));
    strlcpy(words_buf, line, sizeof(words_buf));
    argc_store = 0;
    argv_store[argc_store++] = (char *)app_name;
    int refused = 0, rest_are_args = 0;
    char *p = words_buf, *word;
    while ((word = next_word(&p)) != NULL) {
        if (rest_are_args) {
            argv_push(word);
            continue;
        }
        if (strcmp(word, "--") == 0) {
            rest_are_args = 1;
            continue;
        }
        char *eq = strchr(word, '=');
        if (eq == NULL) {
            const struct zebu_option *o = option_find(word);
            if (o != NULL && o->type == ZEBU_OPT_BOOL)
                *(bool *)o->var = true;
            else
                argv_push(word);
            continue;
        }
        *eq = '\0';
        const struct zebu_option *o = option_find(word);
        if (o == NULL) {
            pr_warn("cmdline", "unknown option '%s' ignored ('help' lists the options)", word);
            continue;
        }
        if (option_set(o, eq + 1) != 0)
            refused++;
    }
    argv_store[argc_store] = NULL;
    return -refused;
}

int cmdline_argc(void)
{
    return argc_store;
}

char **cmdline_argv(void)
{
    return argv_store;
}

const char *cmdline_raw(void)
{
    return raw_copy;
}

void cmdline_print_help(void)
{
    kprintf("Options (key=value on the boot command line):\n");
    for (const struct zebu_option *o = __start_zebu_options; o < __stop_zebu_options; o++) {
        switch (o->type) {
        case ZEBU_OPT_BOOL:
            kprintf("  %-16s %s (boolean, now %s)\n", o->name, o->help,
                    *(bool *)o->var ? "on" : "off");
            break;
        case ZEBU_OPT_INT:
            kprintf("  %-16s %s (%ld..%ld, now %ld)\n", o->name, o->help, o->min, o->max,
                    *(long *)o->var);
            break;
        case ZEBU_OPT_STRING: {
            const char *v = *(const char **)o->var;
            kprintf("  %-16s %s (string, now \"%s\")\n", o->name, o->help, v ? v : "");
            break;
        }
        }
    }
}
