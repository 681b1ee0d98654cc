/* kernel/selftest.h — boot-time self-tests (selftest= option). */
#ifndef ZEBU_KERNEL_SELFTEST_H
#define ZEBU_KERNEL_SELFTEST_H

/* Does the self-test drive the network device itself (selftest=vnet)? */
int selftest_owns_network(void);

/* Runs the self-test the command line asked for, on the calling thread. */
void selftest_run(void);

#endif
