/*
 * kernel/net.h — the network stacks on the kernel: virtio-net under net/,
 * a network thread per stack, and the app's socket calls.
 *
 * net/ is single-core by design: a stack, its network thread and every
 * call into it run on one core. With RSS (multiqueue virtio-net) each core
 * has a stack on its own queue pair (stack i on core i); without it there
 * is one, on core 0. A call made on a core other than its stack's moves
 * its thread there for the call (knet_enter_core/knet_leave, counted).
 * kernel/net.c says how the stacks share the address and ARP.
 */
#ifndef ZEBU_KERNEL_NET_H
#define ZEBU_KERNEL_NET_H

#include <stdint.h>

/* Brings up the first virtio-net device and starts the network thread
 * (static address from ip=/gw=, else DHCP). No device: nothing happens.
 * The network is linked only into an app that calls a network function:
 * kernel/net*.o and net/ are an archive (Makefile), and kernel/main.c and
 * kernel/app.c refer to knet_start and knet_exit_report weakly (#pragma
 * weak: NULL without the network). */
void knet_start(void);

struct net_stack;

/* The stack that serves calls made on this core: its own, or core 0's on
 * a core without one; NULL when there is no network device. Use it on the
 * core knet_home(this core) names. */
struct net_stack *knet_stack(void);

/* Stack i (i < knet_count()), which runs on core i; NULL past the last. */
struct net_stack *knet_stack_at(unsigned i);

/* Stacks running: one per core with RSS, 1 without, 0 with no device. */
unsigned knet_count(void);

/* The core whose stack serves calls made on core: core itself when it has
 * a stack, else 0. */
int knet_home(int core);

/* Milliseconds since boot: the clock net/ is given. */
uint64_t knet_now_ms(void);

/* A socket call may have armed an earlier timer (a retransmission, a
 * delayed ACK): wake this core's network thread if it sleeps past it. */
void knet_kick(void);

/* Every socket call starts with knet_enter_core(the core of the stack it
 * needs): on another core, the calling thread moves there (kernel/sched.h
 * thread_move) and the call is counted against that stack; knet_leave(home)
 * takes it back. Returns the core to go back to, or -1 when it was there
 * already. knet_enter() is knet_enter_core(0). */
int knet_enter_core(int core);
int knet_enter(void);
void knet_leave(int home);

/* Counts a connection the app accepted on this core's stack. */
void knet_note_accepted(void);

/* Counts a connection accepted and then reset because there was no memory
 * for the app's handle (zebu_tcp_accept). */
void knet_note_accept_nomem(void);

/* Prints the stack's counters (at exit, or on demand). */
void knet_print_counters(void);

/* At exit: the counters when net.stats=1 was given. */
void knet_exit_report(void);

#endif
