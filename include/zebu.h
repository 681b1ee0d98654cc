/*
 * zebu.h — the Zebu application API. An app includes this header and nothing
 * else; it brings in the C library subset Zebu provides (<assert.h>, <stdio.h>,
 * <stdlib.h>, <string.h>, <ctype.h>, <errno.h>, <stdint.h>, <stdbool.h>).
 *
 * An app is a folder under apps/ with one or more .c files, one of which
 * defines main(). `make APP=name run` links it with the kernel and boots it.
 *
 * Return values follow one convention:
 *   - a status call returns int: 0 on success, a negative errno value
 *     (-EINVAL, -ETIMEDOUT, ...) on failure;
 *   - a call that moves bytes (zebu_tcp_send, zebu_tcp_recv,
 *     zebu_udp_sendto, zebu_udp_recvfrom) returns long: the byte count,
 *     or a negative errno value;
 *   - a call that returns a pointer returns NULL on failure, and says
 *     where the reason is (errno, or nothing when memory ran out).
 * Formatting calls (zebu_ip4_format, snprintf) return int, as C's do.
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
 * lives as long as the VM. The macros and the option record are in
 * <zebu_option.h>, which this header includes.
 */
#include <zebu_option.h>

/* The whole option part of the boot command line, as the loader gave it. */
const char *zebu_cmdline(void);

/* ---- About the machine --------------------------------------------------*/

/* How the kernel was booted: "multiboot1", ... */
const char *zebu_boot_protocol(void);

/* Module i that the loader passed with the kernel (QEMU -initrd, GRUB's
 * module / module2, PVH modules): its bytes, in place and read-only, with
 * its length and the loader's command line for it. NULL past the last. */
const void *zebu_module(int i, size_t *len, const char **cmdline);

/* ---- Time ---------------------------------------------------------------*/

/* Nanoseconds since the kernel's first instruction (monotonic, all cores). */
uint64_t zebu_time_ns(void);

/* Wall-clock time: nanoseconds since 1970-01-01 00:00:00 UTC (leap seconds
 * not counted, as in Unix time). The CMOS RTC is read at the first call
 * (it counts whole seconds, so the clock may be up to 1 s behind) and the
 * TSC carries it forward from there, so it never steps back and runs at
 * zebu_time_ns()'s rate. The RTC is taken to keep UTC (QEMU's default,
 * -rtc base=utc). 0 when the machine has no readable RTC. */
uint64_t zebu_wall_time_ns(void);

/* Blocks the calling thread for at least ns nanoseconds (never less); the
 * core runs other threads meanwhile. 0 yields. */
void zebu_sleep_ns(uint64_t ns);

/* ---- Wall clock and random numbers -------------------------------------*/

/* Random bytes: len of them into buf. Never blocks, never fails. From the
 * CPU's RDRAND where it has one, else from a ChaCha20 generator seeded from
 * RDSEED (where present) and TSC timing jitter (zebu_random_source() says
 * which; QEMU's default TCG CPU has neither instruction, -cpu max both).
 * Any thread on any core may call it. */
void zebu_random(void *buf, size_t len);
/* Where zebu_random's bytes come from: "rdrand", "chacha20 seeded from
 * rdseed and tsc jitter" or "chacha20 seeded from tsc jitter" (with
 * " (rdrand failed)" when a broken RDRAND was given up). */
const char *zebu_random_source(void);

/* ---- Cores --------------------------------------------------------------
 *
 * Cores are numbered 0 .. zebu_core_count() - 1; core 0 boots the machine
 * and runs main(). The cpus= option caps how many are started.
 */
int zebu_core_count(void);
/* The core the calling thread runs on (threads never move). */
int zebu_core_id(void);
/* The local APIC id of a core, or -1 when there is no such core. */
long zebu_core_apic_id(int core);

/* Where a core's time went, in TSC cycles (zebu_tsc_khz() per ms): cycles
 * is the TSC now, idle_cycles the part of it the core spent halted with
 * nothing to run. Busy time over an interval is the difference of the two
 * deltas. 0, or -EINVAL for a core that does not exist. */
struct zebu_core_stats {
    uint64_t cycles, idle_cycles;
    uint64_t switches, irqs;
};
int zebu_core_stats(int core, struct zebu_core_stats *s);
uint64_t zebu_tsc_khz(void);

/* ---- Threads ------------------------------------------------------------
 *
 * Each core schedules its own threads cooperatively: a thread runs until it
 * returns, yields, sleeps or waits (on an event, a mailbox, a join). There
 * is no preemption, so a thread that computes for long should call
 * zebu_thread_yield() now and then. Every thread stack has a guard page:
 * overflowing it stops the VM with a report that names the thread.
 */
struct zebu_thread;

/*
 * Starts fn(arg) as a new thread on `core`, named `name` (copied; NULL for
 * "thread"), with a stack of at least stack_size bytes (0: 60 KiB). Returns
 * NULL when the core does not exist or memory runs out. The stack and its
 * guard page take one power-of-two block of memory: ask for 2^n KiB less
 * 4 KiB (60 KiB, 124 KiB...) to waste none. The caller owns the
 * handle: pass it to zebu_thread_join() or zebu_thread_detach() once.
 */
struct zebu_thread *zebu_thread_create(void *(*fn)(void *), void *arg, int core,
                                       const char *name, size_t stack_size);
/* Waits for t to finish and returns what fn returned; frees t. */
void *zebu_thread_join(struct zebu_thread *t);
/* Lets t free itself when it finishes; t must not be used afterwards. */
void zebu_thread_detach(struct zebu_thread *t);
/* Lets the other runnable threads of this core run first. */
void zebu_thread_yield(void);
/* Ends the calling thread with `result` (as returning it from fn would). */
void zebu_thread_exit(void *result) __attribute__((noreturn));
/* The calling thread's name. */
const char *zebu_thread_name(void);

/* ---- Events -------------------------------------------------------------
 *
 * An event counts signals. zebu_event_signal() wakes one waiting thread, or
 * is remembered for the next zebu_event_wait() when none waits. Any thread
 * on any core may signal; waiting blocks only the calling thread.
 */
struct zebu_event;
/* NULL when memory runs out. */
struct zebu_event *zebu_event_create(void);
void zebu_event_signal(struct zebu_event *e);
void zebu_event_wait(struct zebu_event *e);
/* Waits at most ns nanoseconds: 0 when signalled, -ETIMEDOUT otherwise. A
 * signal is never lost to a timeout: it goes to another waiter or is kept.
 * Waits longer than about 9 years (UINT64_MAX included) end after 9 years. */
int zebu_event_wait_timeout(struct zebu_event *e, uint64_t ns);
/* Frees e; no thread may be waiting on it. */
void zebu_event_destroy(struct zebu_event *e);

/* ---- Mutexes ------------------------------------------------------------
 *
 * A mutex guards data shared between threads, on one core or several. A
 * thread that finds it held spins briefly when the holder runs on another
 * core (it may let go within microseconds), then sleeps: its core runs its
 * other threads meanwhile, and the unlock wakes it wherever it lives. No
 * fairness is promised (a thread that arrives as the mutex is freed may
 * take it before a sleeper), but a sleeper is never forgotten.
 *
 * A mutex needs no memory of its own and nothing to free: initialise it
 * with ZEBU_MUTEX_INIT (static or on the stack) or zebu_mutex_init(), and
 * just stop using it when done (none may hold or wait on it then).
 *
 *   static struct zebu_mutex lock = ZEBU_MUTEX_INIT;
 *   zebu_mutex_lock(&lock);  ... shared data ...  zebu_mutex_unlock(&lock);
 *
 * Locking a mutex the calling thread already holds, or unlocking one it
 * does not hold, is a bug: the VM stops with a report naming the thread.
 * Holding a mutex across a sleep, a wait or a yield is allowed.
 */
struct zebu_mutex {
    int state;          /* 0 free, 1 held, 2 held and maybe waited for */
    int owner_core;     /* the holder's core + 1, 0 when free */
    const void *owner;  /* the holding thread, NULL when free */
    uint64_t waits;     /* lock calls that found it held and waited (read under m) */
    uint64_t wait_q[4]; /* the kernel's queue of sleepers; all zero when none */
};
#define ZEBU_MUTEX_INIT {0, 0, NULL, 0, {0, 0, 0, 0}}
void zebu_mutex_init(struct zebu_mutex *m);
/* Blocks until the calling thread holds m. */
void zebu_mutex_lock(struct zebu_mutex *m);
/* Takes m if it is free: 0, or -EBUSY when another thread holds it (never
 * blocks; the calling thread must not hold it already). */
int zebu_mutex_trylock(struct zebu_mutex *m);
/* Lets m go, waking one sleeper if there is one. */
void zebu_mutex_unlock(struct zebu_mutex *m);

/* ---- Mailboxes ----------------------------------------------------------
 *
 * A mailbox carries messages from any number of threads, on any cores, to
 * one receiving thread, in the order each sender sent them. Sending never
 * blocks and never copies: a message is the app's own struct with a
 * struct zebu_msg as a member, and the mailbox links it in place. The
 * sender gives up the message when it sends it; the receiver owns it once
 * received. Lock-free (one atomic compare-and-swap per send).
 */
struct zebu_msg {
    struct zebu_msg *next; /* the mailbox's link: leave it alone */
};
struct zebu_mailbox;
/* NULL when memory runs out. */
struct zebu_mailbox *zebu_mailbox_create(void);
void zebu_mailbox_send(struct zebu_mailbox *mb, struct zebu_msg *msg);
/* Blocks until a message arrives. Only one thread may receive at a time. */
struct zebu_msg *zebu_mailbox_recv(struct zebu_mailbox *mb);
/* Waits at most ns nanoseconds for a message: NULL with errno ETIMEDOUT when
 * none came (0: only what is there already). A message sent after the
 * timeout is kept for the next receive. */
struct zebu_msg *zebu_mailbox_recv_timeout(struct zebu_mailbox *mb, uint64_t ns);
/* A message if one is waiting, else NULL; never blocks. */
struct zebu_msg *zebu_mailbox_try_recv(struct zebu_mailbox *mb);
/* Frees mb; it must be empty and nobody may be receiving. */
void zebu_mailbox_destroy(struct zebu_mailbox *mb);

/* Recovers the app's struct from its embedded zebu_msg. */
#define ZEBU_MSG_CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- Network ------------------------------------------------------------
 *
 * The first virtio-net device comes up at boot: with ip=A.B.C.D/N (and
 * gw=, dns=) on the command line it takes that address, else it asks DHCP.
 * Addresses are host byte order uint32_t (10.0.2.15 is 0x0A00020F).
 * Cores. Where the device has RSS (multiqueue virtio-net; the launcher's
 * --queues) each core runs a stack of its own on its own queue pair, and a
 * TCP connection lives on the core that received it (zebu_tcp_core), from
 * SYN to close; connections zebu_tcp_connect opens live on the calling
 * core. UDP, ARP, DHCP and ICMP are core 0's. Without RSS one stack on
 * core 0 serves every core. A call made from a thread on another core than
 * its stack's works too: the thread moves there for the call and back
 * (counted in api_forwarded), so it costs two switches. zebu_tcp_listen
 * listens on every stack; called once per core (like SO_REUSEPORT), each
 * core's handle accepts the connections its core received, so a server
 * with a listening thread per core never crosses cores; zebu_tcp_serve
 * does all of that in one call.
 *
 * Zero-copy UDP: zebu_udp_recv_buf() hands over the device's own receive
 * buffer (data in place); the caller owns it until zebu_buf_free() or until
 * it passes it to zebu_udp_send_buf(), which consumes it (so an echo sends
 * the received bytes back without copying them). zebu_udp_sendto() and
 * zebu_udp_recvfrom() copy: the simple, slower path.
 *
 * Timeouts. Every call that can block can be bounded, in one of two ways:
 * - a call made once takes its timeout as an argument: zebu_net_wait_ready,
 *   zebu_tcp_connect, zebu_event_wait_timeout, zebu_mailbox_recv_timeout;
 * - a socket handle has timeouts of its own, like SO_RCVTIMEO/SO_SNDTIMEO,
 *   for every call on it: zebu_udp_set_timeout(u, ns), and for TCP
 *   zebu_tcp_set_limit(c, ZEBU_TCP_LIMIT_RECV_TIMEOUT, SEND_TIMEOUT or
 *   ACCEPT_TIMEOUT, ns), which a listener passes to what it accepts.
 *   0, the default, waits for ever.
 * A handle's timeout bounds one wait without progress: a receive or an
 * accept waits at most ns for something to arrive; a send waits at most ns
 * while the send buffer takes none of its bytes. The time is the
 * scheduler's timed wait, not polling: the call returns as soon as its
 * thread runs after the deadline, never before it.
 * A timed-out call fails with ETIMEDOUT the way the call reports errors
 * (NULL with errno, or -ETIMEDOUT) and changes nothing else: the socket
 * and the connection stay as they were, and what arrives later waits for
 * the next call. The connection ends only by what ends connections: the
 * peer, a stall limit (ZEBU_TCP_LIMIT_ZERO_WINDOW), keepalive, or
 * retransmissions that go unanswered. Those make this call and every later
 * one fail at once, often with ETIMEDOUT too; zebu_tcp_error() tells the
 * two apart (0 while the connection is open).
 */
struct zebu_udp;
struct zebu_buf;

/* Waits until the interface has an address: 0, -ETIMEDOUT, or -ENODEV when
 * there is no network device. */
int zebu_net_wait_ready(uint64_t timeout_ns);
/* The interface's address, or 0 while it has none. */
uint32_t zebu_net_addr(void);
/* Prints the interface and stack counters (packets, bytes, drops by reason). */
void zebu_net_print_counters(void);

/* The same counters as data. Each stack updates its own on its core
 * without locks; a reader elsewhere sees each field whole but may see a
 * frame counted in rx_packets before its bytes. */
struct zebu_net_counters {
    uint64_t rx_packets, rx_bytes; /* frames the device delivered */
    uint64_t tx_packets, tx_bytes; /* frames the device accepted */
    uint64_t drops;                /* refused frames, all reasons together */
    uint64_t copied_bytes;         /* payload bytes the stack copied (0 on zero-copy paths) */
    uint64_t no_route;             /* sends refused: no route to the destination */
    uint64_t rx_csum_device;       /* frames whose checksums the device verified */
    uint64_t rx_csum_partial;      /* frames whose L4 sum the (local) sender left partial */
    uint64_t tcp_tw_syn_accepted;  /* SYNs that ended a TIME-WAIT: a new connection */
    uint64_t tcp_tw_syn_refused;   /* SYNs that met TIME-WAIT and were answered with an ACK */
    /* SYN cookies (the SYN cache was full; tcp.syncookies=0 turns them off): */
    uint64_t tcp_syncookies_sent;     /* SYNs answered with a cookie */
    uint64_t tcp_syncookies_accepted; /* handshakes completed from a cookie */
    uint64_t tcp_syncookies_rejected; /* ACKs refused as cookies: forged or too old (RST) */
    /* Memory pressure (drops for want of memory are drop reasons too:
     * tcp_nomem, rx_nomem, tx_nobuf, tx_nomem): */
    uint64_t accept_nomem;        /* connections reset at accept: no memory for the handle */
    uint64_t api_forwarded;       /* socket and buffer calls moved to their stack's core */
    uint64_t send_retries_nomem;  /* TCP sends that found no memory, retried by a timer */
    uint64_t time_wait_reclaimed; /* TIME-WAIT connections freed early (table full, no memory) */
    /* TCP data segments by payload size: [0] up to the MSS, [1] up to
     * 16 KiB, [2] up to 64 KiB. Sent ones above the MSS are frames the
     * device segmented (TSO); received ones above it came in large. */
    uint64_t tcp_segs_out_by_size[3], tcp_segs_in_by_size[3];
    /* The device's notifications, each an exit to the hypervisor: kicks
     * the guest sent (all queues) and interrupts the device raised. */
    uint64_t device_kicks, device_irqs;
    /* TCP connections aborted by a stall limit (zebu_tcp_set_limit). */
    uint64_t tcp_zero_window_aborts; /* ZEBU_TCP_LIMIT_ZERO_WINDOW */
    /* TCP keepalive (zebu_tcp_set_keepalive): probes sent, and connections
     * reset because count probes in a row went unanswered. */
    uint64_t tcp_keepalive_probes, tcp_keepalive_timeouts;
    /* IPv4 reassembly: heap bytes it holds now for incomplete datagrams, the
     * most it ever held at once, and its limit. */
    uint64_t reasm_bytes, reasm_bytes_max, reasm_bytes_limit;
    /* TCP connections established or begun (accepted and connected), and
     * those the app took with zebu_tcp_accept. */
    uint64_t tcp_conns_opened, tcp_conns_accepted;
    uint64_t stacks; /* network stacks counted: one per core with RSS, else 1 */
};
/* 0, or -ENODEV when there is no network device. The totals of every
 * stack. */
int zebu_net_counters(struct zebu_net_counters *c);
/* The counters of the stack on core (one per core with RSS): 0, or
 * -ENODEV when that core has no stack of its own. */
int zebu_net_core_counters(int core, struct zebu_net_counters *c);
/* Drop reason number i: its name (e.g. "udp_bad_checksum") with its count in
 * *count, or NULL once i is past the last reason. */
const char *zebu_net_drop_reason(unsigned i, uint64_t *count);

/* A socket on `port` (0: any free port); NULL with errno (ENODEV, EADDRINUSE,
 * ENOBUFS, ENOMEM). */
struct zebu_udp *zebu_udp_bind(uint16_t port);
void zebu_udp_close(struct zebu_udp *u);
/* Copies len bytes into a datagram to ip:port: len, or a negative errno. */
long zebu_udp_sendto(struct zebu_udp *u, uint32_t ip, uint16_t port, const void *data, size_t len);
/* Blocks for a datagram; copies at most size bytes of it (the rest of a
 * longer one is lost); returns the count copied, or -ETIMEDOUT past the
 * socket's timeout. */
long zebu_udp_recvfrom(struct zebu_udp *u, void *buf, size_t size, uint32_t *ip, uint16_t *port);
/* The port u is bound to (the one zebu_udp_bind(0) picked, say) in *port;
 * *ip is 0: a socket takes datagrams to any local address (zebu_net_addr()
 * is the interface's). Either pointer may be NULL. */
void zebu_udp_local(struct zebu_udp *u, uint32_t *ip, uint16_t *port);
/* Blocks for a datagram and hands over its buffer (zero-copy); NULL with
 * errno ETIMEDOUT past the socket's timeout. */
struct zebu_buf *zebu_udp_recv_buf(struct zebu_udp *u, uint32_t *ip, uint16_t *port);
/* How long each receive on u waits for a datagram (0: for ever, the
 * default); from the next receive on. */
void zebu_udp_set_timeout(struct zebu_udp *u, uint64_t ns);
/* Sends b's bytes as a datagram; consumes b whatever the result. */
int zebu_udp_send_buf(struct zebu_udp *u, uint32_t ip, uint16_t port, struct zebu_buf *b);
/* The bytes of a buffer (valid until it is freed or sent). */
const void *zebu_buf_data(struct zebu_buf *b, size_t *len);
void zebu_buf_free(struct zebu_buf *b);

/* ---- TCP ------------------------------------------------------------------
 *
 * Connections live on core 0 with the stack (one virtio-net queue pair, so
 * every segment arrives there). Any thread may call these functions, on
 * any core: a call from another core runs on core 0 (see Network above),
 * blocking there if it blocks. done callbacks run on core 0.
 *
 * Zero copy, and who owns what:
 * - zebu_tcp_recv_buf() hands over the device's receive buffer, data in
 *   place. The app owns it until zebu_buf_free() (which gives it back to
 *   the device and reopens the window) or until it passes it to a send
 *   call, which consumes it.
 * - zebu_tcp_send_buf() sends a buffer the app owns (one it received, or
 *   one from zebu_buf_alloc() that it filled) and consumes it: the stack
 *   keeps it until the peer acknowledges every byte, then frees it.
 * - zebu_tcp_send_ref() sends memory the app owns without copying it; the
 *   memory must stay unchanged until done(cookie) runs (on core 0, once the
 *   peer acknowledged the bytes or the connection ended).
 * - zebu_tcp_send() / zebu_tcp_recv() copy: the simple, slower path. The
 *   stack counts every payload byte it copies (copied_bytes).
 * Sends block while the connection's send buffer is full; receives block
 * until data, the end of the stream or an error; each at most the
 * handle's timeout, when it has one ("Timeouts" above). A send on a
 * connection that has ended fails with the error that ended it
 * (-ECONNRESET, -ETIMEDOUT...), or -ENOTCONN after a shutdown or an
 * orderly end.
 */
struct zebu_tcp;

/* A listener on port with room for backlog connections waiting for
 * accept (in each core's stack); NULL with errno (ENODEV, EADDRINUSE,
 * ENOBUFS, ENOMEM, EINVAL). Listening again on the same port from another
 * core adds a handle for that core (EADDRINUSE from the same core): each
 * handle accepts what its core's stack received, and what cores without
 * a handle of their own received. Closing the last handle closes the port. */
struct zebu_tcp *zebu_tcp_listen(uint16_t port, unsigned backlog);
/* Blocks for the next established connection (the caller closes it); NULL
 * with errno ETIMEDOUT past the listener's ZEBU_TCP_LIMIT_ACCEPT_TIMEOUT. */
struct zebu_tcp *zebu_tcp_accept(struct zebu_tcp *listener);
/* Without waiting: the next established connection, or NULL with errno
 * EAGAIN when none waits (for a poller's loop). */
struct zebu_tcp *zebu_tcp_try_accept(struct zebu_tcp *listener);
/* A server on every core, in one call: zebu_tcp_serve listens on port on
 * every core that has a network stack (one listener per core with RSS; with
 * one stack, one on the calling core) and starts a thread for each
 * connection on the core that holds it (zebu_tcp_core), so none of its
 * socket calls moves; with one stack and spread set, on every core in turn
 * instead (their calls then move to core 0). The thread runs serve(c, arg)
 * and serve owns c (it closes it). setup(listener, arg), if given, runs for
 * each listener made (set the limits a listener passes on there); ready(arg)
 * once the port is listened on, before the first accept. With no memory
 * for a thread the connection is aborted and refused(arg) called, if given.
 * After limit connections (0: never), once every serve call has returned:
 * 0. A negative errno if the port cannot be listened on (-EINVAL without
 * serve). */
struct zebu_tcp_server {
    uint16_t port;
    unsigned backlog;
    long limit;
    size_t stack_size; /* each connection thread's (0: the default) */
    bool spread;
    void (*serve)(struct zebu_tcp *c, void *arg);
    void (*setup)(struct zebu_tcp *listener, void *arg);
    void (*ready)(void *arg);
    void (*refused)(void *arg);
    void *arg;
};
int zebu_tcp_serve(const struct zebu_tcp_server *cfg);
/* Connects to ip:port; NULL with errno (ECONNREFUSED, ETIMEDOUT,
 * ENETUNREACH, ...) when it fails or takes longer than timeout_ns. */
struct zebu_tcp *zebu_tcp_connect(uint32_t ip, uint16_t port, uint64_t timeout_ns);
/* Blocks for received bytes; NULL at the end of the stream (errno 0), on
 * an error (errno ECONNRESET, ETIMEDOUT, ...), or past the receive timeout
 * (errno ETIMEDOUT, zebu_tcp_error() 0: the connection goes on). */
struct zebu_buf *zebu_tcp_recv_buf(struct zebu_tcp *c);
/* Without waiting: received bytes, or NULL with errno EAGAIN (nothing
 * yet), 0 (the end of the stream) or the error that ended the connection. */
struct zebu_buf *zebu_tcp_try_recv_buf(struct zebu_tcp *c);
/* Copying receive: bytes copied, 0 at the end of the stream, or -errno
 * (-ETIMEDOUT past the receive timeout). */
long zebu_tcp_recv(struct zebu_tcp *c, void *buf, size_t size);
/* Zero-copy send of b (consumed, whatever the result): 0 or -errno.
 * -ETIMEDOUT past the send timeout: none of b was queued. */
int zebu_tcp_send_buf(struct zebu_tcp *c, struct zebu_buf *b);
/* Zero-copy send of app memory; done may be NULL. 0 or -errno (then done
 * has run, or will not be called when the call could not start: -ENOMEM).
 * It goes in pieces of 64 KiB, each bounded by the send timeout: after
 * -ETIMEDOUT the pieces queued before go out and the rest does not, and
 * the call does not say how many there were: abort the connection unless
 * the protocol can tell. */
int zebu_tcp_send_ref(struct zebu_tcp *c, const void *data, size_t len,
                      void (*done)(void *cookie), void *cookie);
/* Copying send of all len bytes: len, or -errno. Past the send timeout:
 * the bytes queued until then (fewer than len; the rest was not sent), or
 * -ETIMEDOUT when there were none. */
long zebu_tcp_send(struct zebu_tcp *c, const void *data, size_t len);
/* A transmit buffer of len bytes to fill (zebu_buf_data_mut) and send with
 * zebu_tcp_send_buf; NULL when out of memory. */
struct zebu_buf *zebu_buf_alloc(size_t len);
void *zebu_buf_data_mut(struct zebu_buf *b, size_t *len);
/* A buffer that describes app memory by reference, for zebu_buf_append +
 * zebu_tcp_send_buf: no copy; the memory must stay unchanged until
 * done(cookie) runs (done may be NULL). NULL when out of memory. */
struct zebu_buf *zebu_buf_ref(const void *data, size_t len, void (*done)(void *cookie),
                              void *cookie);
/* Puts b after the last buffer of head's chain; sending head then sends
 * both, back to back (a response header and its body in one stream of
 * segments). Takes over b. */
void zebu_buf_append(struct zebu_buf *head, struct zebu_buf *b);
/* Sends FIN once queued data is out; receiving goes on. 0 or -errno. */
int zebu_tcp_shutdown(struct zebu_tcp *c);
/* Orderly close (FIN; the stack finishes the handshake on its own), or an
 * RST when received bytes were left unread. c is invalid afterwards. */
void zebu_tcp_close(struct zebu_tcp *c);
/* Close with an RST, dropping queued data. c is invalid afterwards. */
void zebu_tcp_abort(struct zebu_tcp *c);
/* Nagle's algorithm is on by default; on=1 sends small segments at once. */
void zebu_tcp_set_nodelay(struct zebu_tcp *c, int on);
/* Limits on how long something may take, in ns; 0 means none (the
 * default, but for ZERO_WINDOW). Set on a listener, a limit applies to the
 * connections it accepts afterwards. Returns 0, or -EINVAL for an unknown
 * kind (or ACCEPT_TIMEOUT on a connection). Two sorts, which differ in
 * what happens past the limit:
 *
 * Stall limits end the connection. A connection that holds memory without
 * progress that long is aborted by the stack: an RST to the peer, its
 * queued bytes freed, and the app's blocked or next call fails with
 * ETIMEDOUT (sends return -ETIMEDOUT, zebu_tcp_recv_buf NULL with errno
 * ETIMEDOUT), as does every call after it. The abort is counted
 * (zebu_net_counters). ns is rounded up to whole milliseconds.
 *   ZEBU_TCP_LIMIT_ZERO_WINDOW: the peer keeps its receive window at zero
 *   while data waits for it (queued or in flight), however well it answers
 *   the window probes: a reader that never reads, holding a response.
 *   Default: the tcp.zero_window_ms option (0: none).
 *
 * Timeouts end only the call that waits ("Timeouts" above): it fails with
 * ETIMEDOUT and the connection stays usable. They apply from the next call
 * on, to the nanosecond.
 *   ZEBU_TCP_LIMIT_RECV_TIMEOUT: zebu_tcp_recv_buf and zebu_tcp_recv wait
 *   at most this long for data.
 *   ZEBU_TCP_LIMIT_SEND_TIMEOUT: the sends wait at most this long while
 *   the send buffer takes none of their bytes.
 *   ZEBU_TCP_LIMIT_ACCEPT_TIMEOUT (a listener's own): zebu_tcp_accept waits
 *   at most this long for a connection. */
enum zebu_tcp_limit {
    ZEBU_TCP_LIMIT_ZERO_WINDOW = 0,
    ZEBU_TCP_LIMIT_RECV_TIMEOUT = 1,
    ZEBU_TCP_LIMIT_SEND_TIMEOUT = 2,
    ZEBU_TCP_LIMIT_ACCEPT_TIMEOUT = 3,
};
int zebu_tcp_set_limit(struct zebu_tcp *c, int which, uint64_t ns);
/* Keepalive (RFC 1122 4.2.3.6; off by default): once the peer has sent
 * nothing for idle_ns, probe it every interval_ns (0: 75 s); when count
 * probes in a row go unanswered (0: 9), the connection ends as a stall
 * limit ends it (RST, ETIMEDOUT for the app's blocked and later calls),
 * counted in tcp_keepalive_timeouts. A peer that vanished without a FIN
 * or RST (powered off, unplugged, forgotten by a NAT) is so found after
 * idle + interval * count; a peer that is there answers every probe,
 * however idle the app. idle_ns 0 turns keepalive off. Rounded up to
 * whole milliseconds. On a listener: for the connections it accepts
 * afterwards. Returns 0. */
int zebu_tcp_set_keepalive(struct zebu_tcp *c, uint64_t idle_ns, uint64_t interval_ns,
                           unsigned count);
/* 0 while the connection is open (or ended in order: FIN both ways), else
 * why it ended: -ECONNRESET, -ETIMEDOUT, -ECONNREFUSED, -ENOMEM. */
int zebu_tcp_error(struct zebu_tcp *c);
/* The peer's address and port. */
void zebu_tcp_peer(struct zebu_tcp *c, uint32_t *ip, uint16_t *port);
/* This end's address and port: on a connection the interface address it
 * uses and its port (the ephemeral one zebu_tcp_connect picked, say); on a
 * listener 0 (any local address) and the listening port. Either pointer
 * may be NULL. */
void zebu_tcp_local(struct zebu_tcp *c, uint32_t *ip, uint16_t *port);
/* The core whose network stack holds the connection: the core that
 * received it (a stack per core, with RSS), or 0 (one stack). Calls on c
 * from another core work but move there and back each time: a thread
 * serving c is best created on this core (zebu_thread_create). */
int zebu_tcp_core(struct zebu_tcp *c);

/* "A.B.C.D" <-> host-order address: 0 or -EINVAL; format returns a count. */
/* ---- Pollers: many connections, few threads ------------------------------
 *
 * A thread per connection costs its stack (60 KiB); an idle keep-alive
 * connection watched by a poller costs its TCP state (about 1 KiB) and a
 * handle. A poller queues a watched connection or listener whenever
 * something happens on it (bytes or a FIN arrived, room to send, a
 * connection to accept, an error), once until zebu_poll_wait hands it out;
 * the thread then makes non-blocking calls (zebu_tcp_try_recv_buf,
 * zebu_tcp_try_accept) until EAGAIN. Adding a handle queues it once, for
 * what happened before. A closed or aborted handle leaves its poller by
 * itself. Pollers work from any core (the calls run on core 0, as the
 * socket calls do).
 */
struct zebu_poll;
struct zebu_poll_event {
    struct zebu_tcp *tcp;
    void *user; /* as given to zebu_poll_add */
};
/* NULL with errno ENOMEM. */
struct zebu_poll *zebu_poll_create(void);
/* 0, or -EBUSY while handles are still watched. */
int zebu_poll_destroy(struct zebu_poll *p);
/* Watch c (a connection or a listener): 0, or -EBUSY when a poller
 * watches it already. */
int zebu_poll_add(struct zebu_poll *p, struct zebu_tcp *c, void *user);
/* Stop watching c: 0, or -ENOENT when p does not watch it. */
int zebu_poll_del(struct zebu_poll *p, struct zebu_tcp *c);
/* Waits until a watched handle has news, or timeout_ns (UINT64_MAX: for
 * ever; 0: only look); fills at most max entries, oldest news first, and
 * returns how many (0: the timeout passed). */
int zebu_poll_wait(struct zebu_poll *p, struct zebu_poll_event *ev, int max, uint64_t timeout_ns);

int zebu_ip4_parse(const char *s, uint32_t *ip);
int zebu_ip4_format(uint32_t ip, char *buf, size_t size);

/* ---- Memory -------------------------------------------------------------
 *
 * malloc, calloc, realloc, aligned_alloc and free (<stdlib.h>) are backed by
 * per-core caches: any thread may free what any other allocated. Out of
 * memory returns NULL (never stops the VM) and is counted.
 */
struct zebu_mem_stats {
    uint64_t total_bytes;     /* RAM the kernel manages */
    uint64_t free_bytes;      /* pages not handed out */
    uint64_t heap_in_use;     /* bytes malloc has handed out and not taken back */
    uint64_t allocs, frees;   /* malloc-family calls that returned memory / free calls */
    uint64_t failures;        /* allocations that returned NULL */
    uint64_t page_failures;   /* page blocks (thread stacks, large buffers) that were not had */
};
void zebu_mem_stats(struct zebu_mem_stats *s);
/* Prints the kernel's allocator statistics, per core, on the console. */
void zebu_mem_print_stats(void);

#endif
