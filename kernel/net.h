/*
 * kernel/net.h — the network stack on the kernel: virtio-net under net/,
 * a network thread on core 0, and the app's socket calls.
 *
 * One stack, owned by core 0: the network thread and every socket call run
 * there. A call made on another core moves its thread to core 0 for the
 * call (knet_enter/knet_leave, counted). net/ is single-core by design; a
 * stack per core comes with multiqueue virtio-net.
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

/* The stack, for the socket calls in kernel/net_api.c; NULL when there is
 * no network device. Core 0 only. */
struct net_stack *knet_stack(void);

/* Milliseconds since boot: the clock net/ is given. */
uint64_t knet_now_ms(void);

/* A socket call may have armed an earlier timer (a retransmission, a
 * delayed ACK): wake the network thread if it sleeps past it. */
void knet_kick(void);

/* Every socket call starts with knet_enter: on another core, the calling
 * thread moves to core 0 (kernel/sched.h thread_move) and the call is
 * counted; knet_leave(home) takes it back. Returns the core to go back to,
 * or -1 when it was on core 0 already. */
int knet_enter(void);
void knet_leave(int home);

/* Counts a connection accepted and then reset because there was no memory
 * for the app's handle (zebu_tcp_accept). */
void knet_note_accept_nomem(void);

/* Prints the stack's counters (at exit, or on demand). */
void knet_print_counters(void);

/* At exit: the counters when net.stats=1 was given. */
void knet_exit_report(void);

#endif
