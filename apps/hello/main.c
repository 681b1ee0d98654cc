/*
 * apps/hello — the smallest Zebu app: greets, shows its arguments and
 * options, and exits. Try:
 *     make run ARGS='greeting="good morning" count=3 -- one two'
 */
#include <zebu.h>

static const char *greeting = "Hello";
ZEBU_OPTION_STRING("greeting", greeting, "what to say");

static long count = 1;
ZEBU_OPTION_INT("count", count, 0, 1000, "how many times to say it");

static bool shout;
ZEBU_OPTION_BOOL("shout", shout, "say it in capitals");

static void say(const char *text)
{
    char line[128];
    snprintf(line, sizeof(line), "%s from Zebu!", text);
    if (shout)
        for (char *p = line; *p != '\0'; p++)
            *p = (char)toupper((unsigned char)*p);
    puts(line);
}

int main(int argc, char **argv)
{
    for (long i = 0; i < count; i++)
        say(greeting);
    for (int i = 1; i < argc; i++)
        printf("argv[%d] = \"%s\"\n", i, argv[i]);
    printf("booted via %s, %d argument%s\n", zebu_boot_protocol(), argc - 1,
           argc == 2 ? "" : "s");
    return 0;
}
