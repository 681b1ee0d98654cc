/*
 * body.c - the request body decoder: Content-Length, or chunked transfer
 * coding (RFC 9112 7.1) as a byte-at-a-time state machine, so the body
 * may arrive split at any byte and the decoder keeps no pointer into it.
 * Chunk extensions are checked for stray control bytes and skipped; the
 * trailer section is parsed as field lines (RFC 9112 7.1.2), bounded in
 * bytes and count, and dropped (no field is merged into the header).
 *
 * Errors (b->status): 400 bad framing, 413 body over the limit, 431
 * trailer section over its limits.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http_internal.h"

enum {
    S_SIZE,       /* chunk-size: the first HEXDIG due */
    S_SIZE_MORE,  /* more HEXDIG, or BWS / ';' / CR */
    S_BWS,        /* white space after the size: ';' due */
    S_EXT,        /* chunk-ext up to CR */
    S_SIZE_LF,    /* LF ending the chunk-size line */
    S_DATA,       /* chunk-data */
    S_DATA_CR,    /* CRLF after chunk-data */
    S_DATA_LF,
    S_TR_START,   /* a trailer field line, or the CR of the final empty line */
    S_TR_NAME,
    S_TR_VALUE,
    S_TR_LF,      /* LF ending a trailer field line */
    S_END_LF,     /* LF of the final empty line */
};

void zebu_http_body_init(struct zebu_http_body *b, const struct zebu_http_request *req,
                         const struct zebu_http_limits *lim)
{
    memset(b, 0, sizeof(*b));
    b->kind = req->body_kind;
    b->lim = lim;
    b->state = S_SIZE;
    if (b->kind == ZEBU_HTTP_BODY_LENGTH)
        b->remaining = req->content_length;
    b->done = b->kind == ZEBU_HTTP_BODY_NONE ||
              (b->kind == ZEBU_HTTP_BODY_LENGTH && b->remaining == 0);
}

static long body_fail(struct zebu_http_body *b, int status)
{
    b->status = status;
    return -1;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One byte of the chunk-size line: 0 or a status. */
static int size_line_byte(struct zebu_http_body *b, unsigned char c)
{
    if (++b->line > b->lim->chunk_line)
        return 400; /* an endless size or extension */
    int h = hex_value(c);
    switch (b->state) {
    case S_SIZE:
    case S_SIZE_MORE:
        if (h >= 0) {
            /* 413 as soon as the size passes what the body may still
             * take: no overflow, however many digits */
            uint64_t avail = b->lim->body_bytes - b->total;
            if ((uint64_t)h > avail || b->remaining > (avail - (uint64_t)h) / 16)
                return 413;
            b->remaining = b->remaining * 16 + (uint64_t)h;
            b->state = S_SIZE_MORE;
            return 0;
        }
        if (b->state == S_SIZE)
            return 400;
        if (c == '\r')
            b->state = S_SIZE_LF;
        else if (c == ';')
            b->state = S_EXT;
        else if (c == ' ' || c == '\t')
            b->state = S_BWS; /* BWS before ';' (RFC 9112 7.1.1) */
        else
            return 400;
        return 0;
    case S_BWS:
        if (c == ';')
            b->state = S_EXT;
        else if (c != ' ' && c != '\t')
            return 400;
        return 0;
    default: /* S_EXT: names, values, quoted strings: skipped, no controls */
        if (c == '\r')
            b->state = S_SIZE_LF;
        else if (!http_is_field_char(c))
            return 400;
        return 0;
    }
}

/* One byte of the trailer section: 0 or a status. */
static int trailer_byte(struct zebu_http_body *b, unsigned char c)
{
    if (++b->trailer > b->lim->trailer_bytes)
        return 431;
    switch (b->state) {
    case S_TR_START:
        if (c == '\r') {
            b->state = S_END_LF;
        } else if (http_is_tchar(c)) {
            if (++b->trailer_fields > b->lim->header_count)
                return 431;
            b->state = S_TR_NAME;
        } else {
            return 400; /* obs-fold or garbage */
        }
        return 0;
    case S_TR_NAME:
        if (c == ':')
            b->state = S_TR_VALUE;
        else if (!http_is_tchar(c))
            return 400;
        return 0;
    case S_TR_VALUE:
        if (c == '\r')
            b->state = S_TR_LF;
        else if (!http_is_field_char(c))
            return 400;
        return 0;
    case S_TR_LF:
        if (c != '\n')
            return 400;
        b->state = S_TR_START;
        return 0;
    default: /* S_END_LF */
        if (c != '\n')
            return 400;
        b->done = true;
        return 0;
    }
}

static long decode_chunked(struct zebu_http_body *b, const char *in, size_t len, size_t max,
                           size_t *data_off, size_t *data_len)
{
    size_t i = 0;

    while (i < len && !b->done) {
        unsigned char c = (unsigned char)in[i];
        int st = 0;
        switch (b->state) {
        case S_DATA: {
            size_t n = len - i < b->remaining ? len - i : (size_t)b->remaining;
            n = n < max ? n : max;
            *data_off = i;
            *data_len = n;
            b->remaining -= n;
            b->total += n;
            if (b->remaining == 0)
                b->state = S_DATA_CR;
            return (long)(i + n);
        }
        case S_SIZE_LF:
            if (c != '\n')
                return body_fail(b, 400);
            b->line = 0;
            b->state = b->remaining == 0 ? S_TR_START : S_DATA; /* last-chunk */
            break;
        case S_DATA_CR:
            if (c != '\r')
                return body_fail(b, 400);
            b->state = S_DATA_LF;
            break;
        case S_DATA_LF:
            if (c != '\n')
                return body_fail(b, 400);
            b->state = S_SIZE;
            break;
        case S_TR_START:
        case S_TR_NAME:
        case S_TR_VALUE:
        case S_TR_LF:
        case S_END_LF:
            st = trailer_byte(b, c);
            break;
        default:
            st = size_line_byte(b, c);
            break;
        }
        if (st != 0)
            return body_fail(b, st);
        i++;
    }
    return (long)i;
}

long http_body_decode(struct zebu_http_body *b, const char *in, size_t len, size_t max,
                      size_t *data_off, size_t *data_len)
{
    *data_off = 0;
    *data_len = 0;
    if (b->status != 0)
        return -1;
    if (b->done)
        return 0;
    if (b->kind == ZEBU_HTTP_BODY_CHUNKED)
        return decode_chunked(b, in, len, max, data_off, data_len);
    size_t n = len < b->remaining ? len : (size_t)b->remaining;
    n = n < max ? n : max;
    *data_len = n;
    b->remaining -= n;
    b->total += n;
    b->done = b->remaining == 0;
    return (long)n;
}

long zebu_http_body_decode(struct zebu_http_body *b, const char *in, size_t len, size_t *data_off,
                           size_t *data_len)
{
    return http_body_decode(b, in, len, SIZE_MAX, data_off, data_len);
}
