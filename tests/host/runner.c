/*
 * runner.c - main() for host test binaries: runs the registered tests and
 * prints the summary. See runner.h.
 *
 * A broken function can fail thousands of table cases at once, so after
 * MAX_LINES_PER_TEST failure lines in one test the rest are counted and
 * reported in one closing line instead of flooding the log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runner.h"

#define MAX_LINES_PER_TEST 25

static struct zt_test *first_test;
static struct zt_test **last_link = &first_test;
static const char *current_test = "(none)";
static unsigned long current_failures;
static unsigned long checks_total;

void zt_register(struct zt_test *test)
{
    /* Append, so tests run in the order they are defined. */
    test->next = NULL;
    *last_link = test;
    last_link = &test->next;
}

void zt_check_passed(void)
{
    checks_total++;
}

void zt_check_failed(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    checks_total++;
    current_failures++;
    if (current_failures > MAX_LINES_PER_TEST)
        return;
    printf("%s:%d: %s: ", file, line, current_test);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;

    for (struct zt_test *t = first_test; t != NULL; t = t->next) {
        if (filter != NULL && strstr(t->name, filter) == NULL)
            continue;
        current_test = t->name;
        current_failures = 0;
        t->fn();
        fflush(stdout);
        if (current_failures == 0) {
            passed++;
            continue;
        }
        failed++;
        if (current_failures > MAX_LINES_PER_TEST)
            printf("%s: ... and %lu more failed checks\n", t->name,
                   current_failures - MAX_LINES_PER_TEST);
    }
    printf("%s: %lu checks\n", argv[0], checks_total);
    printf("%d passed, %d failed\n", passed, failed);
    return failed > 0 ? 1 : 0;
}
