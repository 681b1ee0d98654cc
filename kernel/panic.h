/*
 * kernel/panic.h — stopping the machine when an invariant breaks.
 *
 * panic() and KASSERT() report exactly as a CPU exception does (registers,
 * symbolized backtrace) and end the VM with status ZEBU_EXIT_PANIC. KASSERT
 * is always compiled in: the checks are cheap and a unikernel has no other
 * safety net. Use them for broken invariants only; input from the network or
 * the command line gets counted drops and clear errors instead.
 */
#ifndef ZEBU_KERNEL_PANIC_H
#define ZEBU_KERNEL_PANIC_H

#include <stdint.h>

#define ZEBU_EXIT_USAGE 2   /* a bad command line */
#define ZEBU_EXIT_BOOT  126 /* boot stub: no long mode, bad magic */
#define ZEBU_EXIT_PANIC 127 /* panic, KASSERT, CPU exception */

void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

void kassert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#define KASSERT(cond)                                                                              \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0))                                                          \
            kassert_fail(#cond, __FILE__, __LINE__);                                               \
    } while (0)

/* The message of a panic in progress, or NULL (read by the trap report). */
const char *panic_message(void);

/*
 * Prints "  #N 0x... func+0xoff/0xsize" per frame, from rip and the frame
 * chain at rbp. rsp lets the walk recover the caller of a frameless leaf.
 */
void backtrace_print(uint64_t rip, uint64_t rsp, uint64_t rbp);

/* Registers the stack [lo, hi) as one a backtrace may walk. */
void backtrace_add_stack(uint64_t lo, uint64_t hi);

#endif
