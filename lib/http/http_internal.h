/*
 * http_internal.h - what lib/http's files share and apps do not see: the
 * server and connection state, the response under construction, and the
 * character classes of RFC 9110 5.6.2 / RFC 9112. Portable: libc only.
 */
#ifndef ZEBU_LIB_HTTP_INTERNAL_H
#define ZEBU_LIB_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zebu_http.h>

/* Room in the receive buffer past the header block limit, so a body can be
 * read whatever the header block took. */
#define HTTP_BODY_WINDOW 2048
/* The least room behind the header block a connection may be given
 * (zebu_http_serve_io_mem): bodies are decoded in place, a byte at a time
 * where need be, so any room will do; this much keeps reads useful. */
#define HTTP_BODY_WINDOW_MIN 256
/* Bytes kept in front of the output buffer for the status line, written
 * last (the handler may set the status after its fields): "HTTP/1.1 " +
 * 3 digits + SP + the longest reason phrase + CRLF fits. */
#define HTTP_STATUS_ROOM 64
#define HTTP_METHOD_MAX  24 /* a route's method, NUL included */

struct http_route {
    char method[HTTP_METHOD_MAX]; /* "" for any */
    char *prefix;                 /* copied */
    size_t prefix_len;
    zebu_http_handler handler;
    void *ctx;
};

/* Counters are added atomically: an app may serve connections on several
 * cores at once (zebu_http_serve_tcp from threads on any core). */
#define HTTP_STAT_ADD(field, n) __atomic_fetch_add(&(field), (uint64_t)(n), __ATOMIC_RELAXED)

struct zebu_http_server {
    struct zebu_http_limits lim;
    struct http_route routes[ZEBU_HTTP_ROUTES_MAX];
    unsigned nroutes;
    const char *name; /* the Server field's value (checked), or NULL */
    size_t name_len;
    size_t (*date)(char *buf, size_t cap);
    zebu_http_log_fn log;
    void *log_ctx;
    struct zebu_http_stats stats;
};

enum resp_state { RESP_OPEN, RESP_STREAM, RESP_DONE };

struct zebu_http_response {
    struct http_conn *c;
    int status;
    enum resp_state state;
    bool close;     /* Connection: close on this response, then close */
    bool no_body;   /* HEAD, 204, 304: the head alone goes out */
    bool chunked;   /* streaming with chunked encoding */
    char *out;      /* HTTP_STATUS_ROOM, then fields, then buffered output */
    size_t out_cap; /* bytes at out */
    size_t fields_end;
    size_t flush_from; /* streaming: first byte not yet sent */
    size_t out_len;
    size_t head_bytes;   /* of the head sent (for the log) */
    uint64_t body_bytes; /* of the body sent (for the log) */
};

struct http_conn {
    struct zebu_http_server *srv;
    const struct zebu_http_io *io;
    char *buf; /* the receive buffer: the header block, then body and pipelined bytes */
    size_t cap, used;
    size_t pos; /* the body decoder's position (>= req.header_len) */
    struct zebu_http_header *headers;
    struct zebu_http_request req;
    struct zebu_http_body body;
    bool body_started, continue_sent;
    int body_err;    /* -errno once a body read failed */
    int body_status; /* the status that error calls for (400, 408, 413, 431), 0 if none */
    uint64_t body_deadline;
    int io_err; /* the transport failed: the connection ends */
    struct zebu_http_response resp;
};

/* The longest Server value zebu_http_server_name takes: the head's fixed
 * fields must still fit the least output buffer (256 bytes). */
#define HTTP_SERVER_NAME_MAX 64

/* Character classes, one table lookup a byte (parser.c). */
#define HTTP_C_TCHAR 1 /* RFC 9110 5.6.2: tchar */
#define HTTP_C_FIELD 2 /* RFC 9110 5.5: field-vchar / SP / HTAB (obs-text allowed) */
extern const uint8_t http_cclass[256];

static inline bool http_is_tchar(unsigned char c)
{
    return http_cclass[c] & HTTP_C_TCHAR;
}

static inline bool http_is_field_char(unsigned char c)
{
    return http_cclass[c] & HTTP_C_FIELD;
}

static inline char http_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* s (n bytes) equals the NUL-terminated w, ignoring ASCII case. */
bool http_eq_ci(const char *s, size_t n, const char *w);

/* body.c: zebu_http_body_decode with at most max data bytes in the span
 * (max > 0). */
long http_body_decode(struct zebu_http_body *b, const char *in, size_t len, size_t max,
                      size_t *data_off, size_t *data_len);

/* conn.c: send bytes through the transport (counted); 0 or -errno, and the
 * error is remembered in c->io_err. */
int http_conn_send(struct http_conn *c, const void *data, size_t len);
int http_conn_send_ref(struct http_conn *c, const void *head, size_t head_len, const void *body,
                       size_t body_len, void (*done)(void *), void *cookie);

/* response.c */
/* Every byte of v[0, n) may stand in a field value (RFC 9110 5.5): 1 or 0. */
int http_field_value_ok(const char *v, size_t n);
void http_response_init(struct http_conn *c);
/* End whatever the handler left open: a 500 if nothing went out, the
 * stream's last chunk if it was streaming. */
void http_response_finish(struct zebu_http_response *r);
/* A canned response: status, text/plain body, Allow when allow != NULL;
 * the connection closes after it when close is set. */
void http_response_error(struct zebu_http_response *r, int status, const char *allow, bool close);

/* router.c: run the handler the request's method and path select, or
 * answer 404 / 405 / OPTIONS *. Returns the handler's value. */
int http_route_dispatch(struct zebu_http_server *srv, struct zebu_http_request *req,
                        struct zebu_http_response *resp);

#endif /* ZEBU_LIB_HTTP_INTERNAL_H */
