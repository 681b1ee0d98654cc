/*
 * assert.h - run-time assertions.
 *
 * Like C's assert.h this header has no include guard around assert(): each
 * inclusion redefines it according to the current NDEBUG, as C requires.
 * A failed assertion calls __assert_fail, which the kernel implements (it
 * logs the expression and location, then panics). Kernel code should prefer
 * KASSERT, which stays on in every build; assert() exists for portable code.
 */
#undef assert

#ifdef NDEBUG
/* Disabled: the expression is not evaluated, as C specifies. */
#define assert(expr) ((void)0)
#else
#define assert(expr) ((expr) ? (void)0 : __assert_fail(#expr, __FILE__, __LINE__, __func__))
#endif

#ifndef ZEBU_LIBC_ASSERT_H
#define ZEBU_LIBC_ASSERT_H

/* Reports a failed assertion and never returns. Implemented by the kernel. */
void __assert_fail(const char *expr, const char *file, int line, const char *func)
    __attribute__((__noreturn__));

#define static_assert _Static_assert

#endif /* ZEBU_LIBC_ASSERT_H */
