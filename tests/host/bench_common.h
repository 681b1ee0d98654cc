/*
 * tests/host/bench_common.h - what the two callgrind benches (bench_tcp.c,
 * bench_lwip.c) share for their reports.
 */
#ifndef ZEBU_TESTS_BENCH_COMMON_H
#define ZEBU_TESTS_BENCH_COMMON_H

/* The number after "KEY " or "KEY:" on a line of the file at path (a run's
 * printed figures, or a callgrind summary); exits with status 2, naming
 * prog, when the file or the key is missing. */
double bench_keyval(const char *prog, const char *path, const char *key);

#endif
