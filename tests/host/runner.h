/*
 * runner.h - a minimal unit-test runner for host tests.
 *
 * A test is a function defined with TEST(name); it registers itself at
 * start-up, so adding a test is writing one. Inside, CHECK_* macros compare
 * values; each failure prints one line "file:line: test: message" and marks
 * the test failed, and execution continues so one run shows every problem.
 * main() (runner.c) runs all tests, or those whose name contains argv[1],
 * and ends with "N passed, N failed" counting tests. Exit status 1 if any
 * failed.
 */
#ifndef ZEBU_TESTS_HOST_RUNNER_H
#define ZEBU_TESTS_HOST_RUNNER_H

#include <stddef.h>
#include <string.h>

struct zt_test {
    const char *name;
    void (*fn)(void);
    struct zt_test *next;
};

void zt_register(struct zt_test *test);

/* Record a passed check, or a failed one with a printf-style message. */
void zt_check_passed(void);
void zt_check_failed(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                                                 \
    static void name(void);                                                                        \
    static struct zt_test name##_entry = {#name, name, NULL};                                      \
    __attribute__((constructor)) static void name##_register(void)                                 \
    {                                                                                              \
        zt_register(&name##_entry);                                                                \
    }                                                                                              \
    static void name(void)

/* CHECK_AT variants take the location explicitly, for use in helpers. */
#define CHECK_AT(file, line, cond, ...)                                                            \
    do {                                                                                           \
        if (cond)                                                                                  \
            zt_check_passed();                                                                     \
        else                                                                                       \
            zt_check_failed(file, line, __VA_ARGS__);                                              \
    } while (0)

#define CHECK(cond) CHECK_AT(__FILE__, __LINE__, (cond), "CHECK(%s) failed", #cond)

#define CHECK_INT_EQ(actual, expected)                                                             \
    do {                                                                                           \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                            \
        CHECK_AT(__FILE__, __LINE__, a_ == e_, "%s == %lld, expected %s == %lld", #actual, a_,     \
                 #expected, e_);                                                                   \
    } while (0)

#define CHECK_UINT_EQ(actual, expected)                                                            \
    do {                                                                                           \
        unsigned long long a_ = (unsigned long long)(actual);                                      \
        unsigned long long e_ = (unsigned long long)(expected);                                    \
        CHECK_AT(__FILE__, __LINE__, a_ == e_, "%s == %llu, expected %s == %llu", #actual, a_,     \
                 #expected, e_);                                                                   \
    } while (0)

#define CHECK_PTR_EQ(actual, expected)                                                             \
    do {                                                                                           \
        const void *a_ = (actual), *e_ = (expected);                                               \
        CHECK_AT(__FILE__, __LINE__, a_ == e_, "%s == %p, expected %s == %p", #actual, a_,         \
                 #expected, e_);                                                                   \
    } while (0)

#define CHECK_STR_EQ(actual, expected)                                                             \
    do {                                                                                           \
        const char *a_ = (actual), *e_ = (expected);                                               \
        CHECK_AT(__FILE__, __LINE__, a_ != NULL && e_ != NULL && strcmp(a_, e_) == 0,              \
                 "%s == \"%s\", expected \"%s\"", #actual, a_ ? a_ : "(NULL)",                     \
                 e_ ? e_ : "(NULL)");                                                              \
    } while (0)

#endif /* ZEBU_TESTS_HOST_RUNNER_H */
