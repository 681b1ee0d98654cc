/*
 * http_lib_fake.h - a struct zebu_http_io in memory, for lib/http's host
 * tests and its fuzzer: the client's bytes delivered in pieces chosen by
 * the test, a clock the test drives, every byte sent gathered, and a
 * parser of what was sent (response after response).
 */
#ifndef ZEBU_TESTS_HOST_HTTP_LIB_FAKE_H
#define ZEBU_TESTS_HOST_HTTP_LIB_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zebu_http.h>

#define FAKE_CUTS_MAX 8

struct fake_io {
    struct zebu_http_io io;
    /* input */
    const char *in;
    size_t in_len, in_pos;
    size_t cuts[FAKE_CUTS_MAX]; /* a receive never crosses one of these offsets */
    unsigned ncuts;
    size_t piece;     /* at most this many bytes per receive (0: no bound) */
    uint64_t step_ns; /* the clock moves this much before each receive returns */
    bool stall;       /* after the input: wait for the deadline, not the end of stream */
    /* clock and counts */
    uint64_t now;
    unsigned recvs, sends, refs;
    const void *ref_body; /* the last body sent by reference, and its length */
    size_t ref_len;
    /* output (NUL-terminated when not NULL) */
    char *out;
    size_t out_len, out_cap;
};

void fake_io_init(struct fake_io *f, const char *in, size_t len);
void fake_io_free(struct fake_io *f);

struct fake_response {
    int status;
    const char *head; /* status line to the blank line */
    size_t head_len;
    char body[8192];  /* decoded (chunked framing removed) */
    size_t body_len;
    bool chunked, has_length, close;
};

/* Parse the response at out[*pos...] (head_only: a HEAD's, no body;
 * close-delimited bodies run to the end). 0, or -1 if malformed or
 * incomplete; *pos moves past it. */
int fake_parse_response(const char *out, size_t len, size_t *pos, bool head_only,
                        struct fake_response *r);

#endif /* ZEBU_TESTS_HOST_HTTP_LIB_FAKE_H */
