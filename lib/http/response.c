/*
 * response.c - building and sending a response: the head in the
 * connection's output buffer, then the body copied, by reference, or
 * streamed (chunked to HTTP/1.1 clients, close-delimited to HTTP/1.0
 * ones, RFC 9112 6.3 and 7.1).
 *
 * The output buffer: HTTP_STATUS_ROOM bytes for the status line, which is
 * written last (right-aligned against the fields, so no byte moves), then
 * the app's fields, then the framing fields the library owns. Streamed
 * output is gathered in the same buffer after the head went out.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http_internal.h"

/* Room kept after the app's fields for Date, the framing fields,
 * Connection and the final CRLF. */
#define HEAD_TAIL_ROOM 160
#define DATE_MAX       64

static const struct {
    int status;
    const char *reason;
} reasons[] = {
    {100, "Continue"}, {200, "OK"}, {201, "Created"}, {202, "Accepted"},
    {204, "No Content"}, {206, "Partial Content"}, {301, "Moved Permanently"}, {302, "Found"},
    {303, "See Other"}, {304, "Not Modified"}, {307, "Temporary Redirect"},
    {308, "Permanent Redirect"}, {400, "Bad Request"}, {401, "Unauthorized"},
    {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
    {406, "Not Acceptable"}, {408, "Request Timeout"}, {409, "Conflict"}, {410, "Gone"},
    {411, "Length Required"}, {412, "Precondition Failed"}, {413, "Content Too Large"},
    {414, "URI Too Long"}, {415, "Unsupported Media Type"}, {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"}, {422, "Unprocessable Content"}, {426, "Upgrade Required"},
    {428, "Precondition Required"}, {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"}, {500, "Internal Server Error"},
    {501, "Not Implemented"}, {502, "Bad Gateway"}, {503, "Service Unavailable"},
    {504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
};

const char *zebu_http_reason(int status)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return "";
}

/* The Server field, checked once by zebu_http_server_name. */
static void put_server(struct zebu_http_response *r)
{
    const struct zebu_http_server *srv = r->c->srv;
    char *p = r->out + r->fields_end;

    if (srv->name == NULL)
        return;
    memcpy(p, "Server: ", 8);
    memcpy(p + 8, srv->name, srv->name_len);
    memcpy(p + 8 + srv->name_len, "\r\n", 2);
    r->fields_end += 8 + srv->name_len + 2;
}

void http_response_init(struct http_conn *c)
{
    struct zebu_http_response *r = &c->resp;
    char *out = r->out;
    size_t cap = r->out_cap;

    memset(r, 0, sizeof(*r));
    r->c = c;
    r->out = out;
    r->out_cap = cap;
    r->status = 200;
    r->close = !c->req.keep_alive;
    r->no_body = c->req.is_head;
    r->fields_end = HTTP_STATUS_ROOM;
    put_server(r);
}

/* RFC 9110 5.6.7: IMF-fixdate. The civil date from a day count by the
 * 400-year cycle of the Gregorian calendar (146097 days), years counted
 * from March so that the leap day ends the year. */
size_t zebu_http_format_date(uint64_t t, char *buf, size_t cap)
{
    static const char wdays[] = "ThuFriSatSunMonTueWed"; /* 1970-01-01 was a Thursday */
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    uint64_t days = t / 86400, sec = t % 86400;

    if (cap < 30 || t > 253402300799ull) /* 9999-12-31 23:59:59 */
        return 0;
    uint64_t z = days + 719468; /* days from 0000-03-01 */
    uint64_t era = z / 146097, doe = z % 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153; /* 0: March */
    unsigned day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    unsigned year = (unsigned)(yoe + era * 400 + (month <= 2));
    unsigned wd = (unsigned)(days % 7);
    snprintf(buf, cap, "%.3s, %02u %.3s %04u %02u:%02u:%02u GMT", wdays + 3 * wd, day,
             months + 3 * (month - 1), year, (unsigned)(sec / 3600), (unsigned)(sec / 60 % 60),
             (unsigned)(sec % 60));
    return 29;
}

int zebu_http_status(struct zebu_http_response *r, int status)
{
    if (r->state != RESP_OPEN)
        return -EALREADY;
    if (status < 200 || status > 599)
        return -EINVAL; /* 1xx are the library's (100 Continue) */
    r->status = status;
    return 0;
}

void zebu_http_close_after(struct zebu_http_response *r)
{
    r->close = true;
}

static bool owned_by_library(const char *name, size_t n)
{
    /* the three names differ in length: one comparison each at most */
    return (n == 14 && http_eq_ci(name, n, "content-length")) ||
           (n == 17 && http_eq_ci(name, n, "transfer-encoding")) ||
           (n == 10 && http_eq_ci(name, n, "connection"));
}

int http_field_value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!http_is_field_char((unsigned char)v[i]))
            return 0; /* CR or LF would split the response (RFC 9110 5.5) */
    return 1;
}

/* Copy n bytes of class cls from s to d: false if one is not of it (one
 * pass for both: on the guest, copying is a byte loop too). */
static bool copy_class(char *d, const char *s, size_t n, uint8_t cls)
{
    uint8_t all = cls;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        all &= http_cclass[c];
        d[i] = (char)c;
    }
    return all == cls;
}

int zebu_http_header_n(struct zebu_http_response *r, const char *name, const char *value,
                       size_t vl)
{
    size_t nl = strlen(name);

    if (r->state != RESP_OPEN)
        return -EALREADY;
    if (nl == 0 || owned_by_library(name, nl))
        return -EINVAL;
    size_t need = nl + 2 + vl + 2;
    if (r->fields_end + need + HEAD_TAIL_ROOM > r->out_cap)
        return -ENOSPC;
    /* written past fields_end, kept only if every byte passes: a name of
     * tchars, a value with no CR, LF or NUL (RFC 9110 5.5) */
    char *p = r->out + r->fields_end;
    if (!copy_class(p, name, nl, HTTP_C_TCHAR) ||
        !copy_class(p + nl + 2, value, vl, HTTP_C_FIELD))
        return -EINVAL;
    memcpy(p + nl, ": ", 2);
    memcpy(p + nl + 2 + vl, "\r\n", 2);
    r->fields_end += need;
    return 0;
}

int zebu_http_header(struct zebu_http_response *r, const char *name, const char *value)
{
    return zebu_http_header_n(r, name, value, strlen(value));
}

/* RFC 9110 6.4.1: 204 and 304 never carry content; HEAD's response neither. */
static bool sends_no_body(const struct zebu_http_response *r)
{
    return r->no_body || r->status == 204 || r->status == 304;
}

/* The connection cannot carry another request after this response. */
static bool must_close(const struct http_conn *c)
{
    if (c->body_err != 0 || c->io_err != 0)
        return true;
    /* RFC 9110 10.1.1: the client was told nothing and may or may not send
     * the body it announced: its next bytes cannot be framed. */
    return c->req.expect_continue && !c->continue_sent && !c->body.done;
}

static void put(struct zebu_http_response *r, size_t *at, const char *s, size_t n)
{
    memcpy(r->out + *at, s, n);
    *at += n;
}

/* Decimal digits of v at p (at most 20): their count. */
static size_t put_dec(char *p, uint64_t v)
{
    char d[20];
    size_t n = 0;

    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        p[i] = d[n - 1 - i];
    return n;
}

/* Write the head, the status line last: returns where it starts. length
 * < 0: no Content-Length (streaming). */
static size_t write_head(struct zebu_http_response *r, long long length)
{
    struct http_conn *c = r->c;
    size_t at = r->fields_end;
    char tmp[DATE_MAX];

    if (c->srv->date != NULL) {
        size_t n = c->srv->date(tmp, sizeof(tmp));
        if (n > 0 && n < sizeof(tmp)) {
            put(r, &at, "Date: ", 6);
            put(r, &at, tmp, n);
            put(r, &at, "\r\n", 2);
        }
    }
    if (r->status != 204 && r->status != 304) {
        if (r->chunked) {
            put(r, &at, "Transfer-Encoding: chunked\r\n", 28);
        } else if (length >= 0) {
            put(r, &at, "Content-Length: ", 16);
            at += put_dec(r->out + at, (uint64_t)length);
            put(r, &at, "\r\n", 2);
        }
    }
    r->close = r->close || must_close(c);
    if (r->close)
        put(r, &at, "Connection: close\r\n", 19);
    else if (c->req.version_minor == 0)
        put(r, &at, "Connection: keep-alive\r\n", 24); /* RFC 9112 9.3 for 1.0 */
    put(r, &at, "\r\n", 2);
    /* "HTTP/1.1 200 OK\r\n", right-aligned against the fields */
    const char *reason = zebu_http_reason(r->status);
    size_t rl = strlen(reason);
    size_t start = HTTP_STATUS_ROOM - (13 + rl + 2);
    char *p = r->out + start;
    memcpy(p, "HTTP/1.1 ", 9);
    p[9] = (char)('0' + r->status / 100);
    p[10] = (char)('0' + r->status / 10 % 10);
    p[11] = (char)('0' + r->status % 10);
    p[12] = ' ';
    memcpy(p + 13, reason, rl);
    memcpy(p + 13 + rl, "\r\n", 2);
    r->out_len = at;
    r->head_bytes = at - start;
    HTTP_STAT_ADD(c->srv->stats.responses_by_class[r->status / 100], 1);
    return start;
}

/* The response is out (err 0): tell the app's log. */
static int logged(struct zebu_http_response *r, int err)
{
    const struct zebu_http_server *srv = r->c->srv;

    if (err == 0 && srv->log != NULL)
        srv->log(srv->log_ctx, &r->c->req, r->status, r->head_bytes, r->body_bytes);
    return err;
}

int zebu_http_body(struct zebu_http_response *r, const void *data, size_t len)
{
    if (r->state != RESP_OPEN)
        return -EALREADY;
    r->state = RESP_DONE;
    size_t start = write_head(r, (long long)len);
    size_t head = r->out_len - start;
    if (sends_no_body(r) || len == 0)
        return logged(r, http_conn_send(r->c, r->out + start, head));
    r->body_bytes = len;
    if (len <= r->out_cap - r->out_len) { /* one send: head and body */
        memcpy(r->out + r->out_len, data, len);
        return logged(r, http_conn_send(r->c, r->out + start, head + len));
    }
    int err = http_conn_send(r->c, r->out + start, head);
    return logged(r, err != 0 ? err : http_conn_send(r->c, data, len));
}

int zebu_http_body_ref(struct zebu_http_response *r, const void *data, size_t len,
                       void (*done)(void *cookie), void *cookie)
{
    if (r->state != RESP_OPEN) {
        if (done != NULL)
            done(cookie);
        return -EALREADY;
    }
    r->state = RESP_DONE;
    size_t start = write_head(r, (long long)len);
    size_t head = r->out_len - start;
    if (sends_no_body(r) || len == 0) {
        int err = http_conn_send(r->c, r->out + start, head);
        if (done != NULL)
            done(cookie);
        return logged(r, err);
    }
    r->body_bytes = len;
    return logged(r, http_conn_send_ref(r->c, r->out + start, head, data, len, done, cookie));
}

/* Send what the output buffer gathered; it is empty afterwards. */
static int flush(struct zebu_http_response *r)
{
    int err = 0;
    if (r->out_len > r->flush_from)
        err = http_conn_send(r->c, r->out + r->flush_from, r->out_len - r->flush_from);
    r->flush_from = r->out_len = 0;
    return err;
}

static int buffer_put(struct zebu_http_response *r, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        if (r->out_len == r->out_cap) {
            int err = flush(r);
            if (err != 0)
                return err;
        }
        size_t n = r->out_cap - r->out_len < len ? r->out_cap - r->out_len : len;
        memcpy(r->out + r->out_len, p, n);
        r->out_len += n;
        p += n;
        len -= n;
    }
    return 0;
}

static void start_stream(struct zebu_http_response *r)
{
    r->state = RESP_STREAM;
    if (r->c->req.version_minor == 0)
        r->close = true; /* RFC 9112 6.3 item 8: the body ends with the connection */
    else if (r->status != 204 && r->status != 304)
        r->chunked = true; /* HEAD too: the fields GET would send (RFC 9110 9.3.2) */
    r->flush_from = write_head(r, -1);
}

int zebu_http_write(struct zebu_http_response *r, const void *data, size_t len)
{
    if (r->state == RESP_DONE)
        return -EALREADY;
    if (r->state == RESP_OPEN)
        start_stream(r);
    if (len == 0 || sends_no_body(r))
        return r->c->io_err; /* a zero-size chunk would end the body */
    r->body_bytes += len;
    int err = 0;
    if (r->chunked) {
        char line[20];
        int n = snprintf(line, sizeof(line), "%zx\r\n", len);
        err = buffer_put(r, line, (size_t)n);
    }
    if (err == 0)
        err = buffer_put(r, data, len);
    if (err == 0 && r->chunked)
        err = buffer_put(r, "\r\n", 2);
    return err;
}

int zebu_http_end(struct zebu_http_response *r)
{
    if (r->state == RESP_DONE)
        return -EALREADY;
    if (r->state == RESP_OPEN)
        start_stream(r);
    r->state = RESP_DONE;
    int err = 0;
    if (r->chunked && !sends_no_body(r))
        err = buffer_put(r, "0\r\n\r\n", 5); /* last-chunk, no trailer (RFC 9112 7.1) */
    int ferr = flush(r);
    return logged(r, err != 0 ? err : ferr);
}

int zebu_http_reply(struct zebu_http_response *r, int status, const char *content_type,
                    const char *body)
{
    int err = zebu_http_status(r, status);
    if (err == 0 && content_type != NULL)
        err = zebu_http_header(r, "Content-Type", content_type);
    if (err != 0)
        return err;
    return zebu_http_body(r, body, body != NULL ? strlen(body) : 0);
}

void http_response_error(struct zebu_http_response *r, int status, const char *allow, bool close)
{
    char body[64];

    if (r->state != RESP_OPEN)
        return;
    r->fields_end = HTTP_STATUS_ROOM; /* drop what a handler may have added */
    put_server(r);
    r->status = status;
    r->close = r->close || close;
    zebu_http_header(r, "Content-Type", "text/plain; charset=utf-8");
    if (allow != NULL)
        zebu_http_header(r, "Allow", allow);
    int n = snprintf(body, sizeof(body), "%d %s\n", status, zebu_http_reason(status));
    zebu_http_body(r, body, (size_t)n);
}

void http_response_finish(struct zebu_http_response *r)
{
    struct http_conn *c = r->c;

    if (r->state == RESP_STREAM)
        zebu_http_end(r);
    else if (r->state == RESP_OPEN)
        http_response_error(r, c->body_status != 0 ? c->body_status : 500, NULL,
                            c->body_status != 0);
}
