/*
 * zebu_http.h - an HTTP/1.1 server library for apps (lib/http/), and a
 * small JSON writer and reader. An app includes it next to <zebu.h>.
 * Everything but zebu_http_serve*() is portable C on the C library alone
 * (it builds and is tested on the host: tests/host/http_lib_test.c).
 *
 *   static int hello(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
 *   {
 *       return zebu_http_reply(resp, 200, "text/plain", "hello\n");
 *   }
 *   ...
 *   struct zebu_http_server *srv = zebu_http_server_create(NULL);  // default limits
 *   zebu_http_route(srv, "GET", "/hello", hello, NULL);
 *   zebu_http_serve(srv, 80);                                       // never returns on success
 *
 * Model: one thread per connection (core 0, like every TCP call). Each
 * connection has one receive buffer of limits.header_bytes + 2 KiB into
 * which received bytes are copied; the request line and header fields are
 * parsed in place there and the request's slices point into it, valid
 * until the handler returns. Request bodies are decoded from the same
 * buffer as the handler reads them (zebu_http_read*), so a body never has
 * to fit in memory. Responses are built into a small output buffer (head,
 * short bodies, chunk framing); a body given by reference goes out without
 * a copy, chained to the head (zebu_http_body_ref).
 *
 * Return values follow zebu.h: 0 success, negative errno failure, positive
 * count. Slices are (pointer, length), never NUL-terminated.
 */
#ifndef ZEBU_HTTP_H
#define ZEBU_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Limits ---------------------------------------------------------------
 *
 * Every size a client controls is bounded; past a bound the request is
 * answered with the status RFC 9110 / RFC 6585 name and the connection
 * closed. Timeouts end a connection that holds resources without
 * progress (slowloris): idle between requests (closed silently), the
 * header block from its first byte (408), and the whole body from the
 * first read (408). A field left 0 in what zebu_http_limits_default()
 * returned is "no limit" only for the timeouts; sizes of 0 take the
 * default.
 */
struct zebu_http_limits {
    uint32_t request_line;  /* bytes of the request line: 8192; longer: 414 */
    uint32_t header_bytes;  /* the whole header block with the request line: 16384; more: 431 */
    uint32_t header_count;  /* header fields: 64; more: 431 */
    uint64_t body_bytes;    /* request body (decoded): 1 MiB; more: 413 */
    uint32_t chunk_line;    /* a chunk-size line with its extensions: 256; longer: 400 */
    uint32_t trailer_bytes; /* the trailer section of a chunked body: 4096; more: 431 */
    uint64_t idle_ns;       /* keep-alive wait for the next request: 15 s */
    uint64_t header_ns;     /* first byte to the end of the header block: 10 s; then 408 */
    uint64_t body_ns;       /* the whole request body, from its first read: 30 s; then 408 */
    uint32_t output_bytes;  /* the response buffer (head, copied bodies, chunks): 4096 */
};
void zebu_http_limits_default(struct zebu_http_limits *l);

/* ---- Requests -------------------------------------------------------------*/

struct zebu_http_slice {
    const char *p;
    size_t len;
};

struct zebu_http_header {
    struct zebu_http_slice name, value; /* value without surrounding white space */
};

enum zebu_http_body_kind {
    ZEBU_HTTP_BODY_NONE = 0,  /* no body (or Content-Length: 0) */
    ZEBU_HTTP_BODY_LENGTH,    /* Content-Length bytes */
    ZEBU_HTTP_BODY_CHUNKED,   /* Transfer-Encoding: chunked (RFC 9112 7.1) */
};

/* A parsed request: slices point into the connection's receive buffer and
 * are valid until the handler returns. */
struct zebu_http_request {
    int status;                    /* 0: valid; else the error status to answer (then close) */
    size_t header_len;             /* bytes of the header block, final CRLF included */
    struct zebu_http_slice method; /* a token, case-sensitive: "GET", "PROPFIND"... */
    struct zebu_http_slice target; /* as sent */
    struct zebu_http_slice path;   /* the target's path ("/a/b"; "*" for OPTIONS *), as
                                    * sent: not percent-decoded, dot-segments kept */
    struct zebu_http_slice query;  /* after '?', without it; len 0 when none */
    unsigned version_minor;        /* HTTP/1.0: 0; 1.1 (and 1.x later): 1 */
    bool keep_alive;               /* the connection may carry another request */
    bool expect_continue;          /* Expect: 100-continue (HTTP/1.1) */
    bool is_head;                  /* HEAD: the response carries no body */
    enum zebu_http_body_kind body_kind;
    uint64_t content_length;       /* ZEBU_HTTP_BODY_LENGTH: the declared length */
    struct zebu_http_slice host;
    unsigned header_count;
    struct zebu_http_header *headers; /* header_count fields, in order */
    void *conn;                       /* the connection (for zebu_http_read*) */
};

/* The value of the first field called name (case-insensitive), or NULL. */
const struct zebu_http_slice *zebu_http_header_get(const struct zebu_http_request *req,
                                                   const char *name);
/* s equals the NUL-terminated string z, byte for byte. */
bool zebu_http_slice_eq(struct zebu_http_slice s, const char *z);

/*
 * The request body, decoded (chunked framing removed), as the handler asks
 * for it. The first read of a request whose client sent Expect:
 * 100-continue first sends "100 Continue" (RFC 9110 10.1.1); a handler
 * that answers without reading never invites the body.
 * zebu_http_read_span: a pointer to the next decoded bytes, in place in
 * the receive buffer, valid until the next read; returns their count, 0
 * at the end of the body, or a negative errno: -EMSGSIZE (over
 * limits.body_bytes or the trailer limits), -EBADMSG (bad chunked
 * framing), -ETIMEDOUT (limits.body_ns), -ECONNRESET (the client went
 * away). After an error the handler's response (if it sends none: the
 * matching 413, 400 or 408) ends the connection.
 * zebu_http_read: the same, copied into buf (at most cap bytes).
 * zebu_http_read_all: the whole body into buf: its length, or -EMSGSIZE
 * when it is longer than cap (the rest is not read), or an error above.
 */
long zebu_http_read_span(struct zebu_http_request *req, const void **data);
long zebu_http_read(struct zebu_http_request *req, void *buf, size_t cap);
long zebu_http_read_all(struct zebu_http_request *req, void *buf, size_t cap);

/* ---- Responses --------------------------------------------------------------
 *
 * A handler sets the status and header fields, then ends the response in
 * one of three ways:
 *  - zebu_http_body(): bytes copied; sent with Content-Length.
 *  - zebu_http_body_ref(): app memory, sent without a copy (the head and a
 *    reference chained: one send); done(cookie) runs exactly once when the
 *    memory is no longer needed (maybe before the call returns), whatever
 *    the outcome. Keep the memory unchanged until then.
 *  - zebu_http_write() any number of times, then zebu_http_end(): streamed,
 *    with chunked encoding (HTTP/1.1) or, to an HTTP/1.0 client, until the
 *    connection closes (RFC 9112 6.3).
 * For HEAD the head is the one GET would have (Content-Length included)
 * and no body goes out. 1xx, 204 and 304 carry neither body nor length
 * (RFC 9110 6.4.1). Content-Length, Transfer-Encoding and Connection are
 * the library's to write: zebu_http_header() refuses them (-EINVAL), as it
 * refuses a name that is not a token or a value with CR, LF or NUL.
 * A handler that returns without ending its response gets a 500 (or, if
 * it was streaming, the stream ended). Calls after the end: -EALREADY.
 */
struct zebu_http_response;

/* Status 100..599 (default 200): 0 or -EINVAL; -EALREADY once the head is out. */
int zebu_http_status(struct zebu_http_response *resp, int status);
/* One field line: 0, -EINVAL, -ENOSPC (the output buffer is full), -EALREADY. */
int zebu_http_header(struct zebu_http_response *resp, const char *name, const char *value);
/* The same with a value of len bytes (not NUL-terminated). */
int zebu_http_header_n(struct zebu_http_response *resp, const char *name, const char *value,
                       size_t len);
int zebu_http_body(struct zebu_http_response *resp, const void *data, size_t len);
int zebu_http_body_ref(struct zebu_http_response *resp, const void *data, size_t len,
                       void (*done)(void *cookie), void *cookie);
int zebu_http_write(struct zebu_http_response *resp, const void *data, size_t len);
int zebu_http_end(struct zebu_http_response *resp);
/* Status, Content-Type and a NUL-terminated body in one call. */
int zebu_http_reply(struct zebu_http_response *resp, int status, const char *content_type,
                    const char *body);
/* Close the connection once this response is out (Connection: close). */
void zebu_http_close_after(struct zebu_http_response *resp);
/* The reason phrase of a status ("Not Found"), "" for one it does not know. */
const char *zebu_http_reason(int status);

/* ---- Router and server --------------------------------------------------------
 *
 * zebu_http_route(srv, method, prefix, handler, ctx): requests whose method
 * is `method` (NULL: any) and whose path is `prefix` or lies below it go to
 * handler. A prefix matches at segment boundaries: "/api" takes "/api",
 * "/api/x" and "/api?q" but not "/apix"; a prefix ending in '/' takes
 * everything under it; "/" takes every path. The longest matching prefix
 * wins; among its routes the one for the method (else one for any method)
 * runs. A GET route also answers HEAD (the library drops the body). No
 * prefix matches: 404; the prefix matches but no route takes the method:
 * 405 with Allow listing the methods that would (RFC 9110 15.5.6).
 * A handler returns 0, or a negative errno to have the connection closed
 * once its response (or a 500) is out.
 */
struct zebu_http_server;
typedef int (*zebu_http_handler)(struct zebu_http_request *req, struct zebu_http_response *resp,
                                 void *ctx);

#define ZEBU_HTTP_ROUTES_MAX 32

/* A server with these limits (NULL: defaults); NULL when out of memory. */
struct zebu_http_server *zebu_http_server_create(const struct zebu_http_limits *limits);
void zebu_http_server_destroy(struct zebu_http_server *srv);
/* 0, -EINVAL (method not a token, prefix not starting with '/'), -ENOSPC
 * (ZEBU_HTTP_ROUTES_MAX routes already), -EEXIST (same method and prefix). */
int zebu_http_route(struct zebu_http_server *srv, const char *method, const char *prefix,
                    zebu_http_handler handler, void *ctx);
/* A Server field on every response (NULL, the default: none). Copied
 * pointer; a value over 64 bytes, or one a field value cannot carry,
 * sends none. */
void zebu_http_server_name(struct zebu_http_server *srv, const char *name);
/* A Date field: date(buf, cap) writes an IMF-fixdate (RFC 9110 5.6.7) and
 * returns its length, or 0 for none. Without one no Date is sent, as RFC
 * 9110 6.6.1 asks of a server with no clock. */
void zebu_http_server_date(struct zebu_http_server *srv, size_t (*date)(char *buf, size_t cap));
/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110 5.6.7) for
 * seconds since 1970 UTC, NUL-terminated: 29, or 0 when cap < 30 or the
 * year would pass 9999. For a date callback over a wall clock. */
size_t zebu_http_format_date(uint64_t unix_seconds, char *buf, size_t cap);

/* A callback after each final response the transport took (the
 * library's refusals too: then req->status is set and the request's
 * slices may be empty): its status, the bytes of its head and of its body
 * (0 for HEAD, 204, 304; a stream's decoded bytes). For access logs and
 * counters; it runs on the connection's thread. NULL: none. */
typedef void (*zebu_http_log_fn)(void *ctx, const struct zebu_http_request *req, int status,
                                 size_t head_bytes, uint64_t body_bytes);
void zebu_http_server_log(struct zebu_http_server *srv, zebu_http_log_fn log, void *ctx);

/* Counters, summed over the server's connections; added atomically, so
 * connections may be served on several cores at once. */
struct zebu_http_stats {
    uint64_t connections, requests;
    uint64_t responses_by_class[6]; /* [1]..[5]: 1xx..5xx; [0] unused */
    uint64_t timeouts_idle, timeouts_header, timeouts_body;
    uint64_t parse_errors;    /* requests refused by the parser (400, 413, 414, 431, 501, 505...) */
    uint64_t continues_sent;  /* 100 Continue */
    uint64_t bytes_in, bytes_out;
};
void zebu_http_server_stats(const struct zebu_http_server *srv, struct zebu_http_stats *st);

/* ---- Transport -------------------------------------------------------------
 *
 * How a connection moves bytes; zebu_http_serve binds it to zebu_tcp_*, a
 * test to memory. Clock: now() in nanoseconds; deadlines are on it.
 */
struct zebu_http_io {
    void *ctx;
    /* Send len bytes (copied before it returns): 0 or -errno. */
    int (*send)(void *ctx, const void *data, size_t len);
    /* Send head (copied) then body by reference, as one stream; call
     * done(cookie) exactly once when body is no longer needed (done may
     * be NULL). 0 or -errno. */
    int (*send_ref)(void *ctx, const void *head, size_t head_len, const void *body,
                    size_t body_len, void (*done)(void *cookie), void *cookie);
    /* Receive up to cap bytes, waiting until deadline at the latest (0:
     * no deadline): a count, 0 at the end of the stream, -ETIMEDOUT or
     * another -errno. */
    long (*recv)(void *ctx, void *buf, size_t cap, uint64_t deadline);
    uint64_t (*now)(void *ctx);
    /* May be NULL. Between two requests, with nothing buffered: return 1
     * when no byte is there to read now, and zebu_http_serve_io returns
     * ZEBU_HTTP_PARKED at once, holding nothing (the caller serves the
     * connection again, with a fresh call, when bytes arrive); 0 to wait
     * here, under the idle timeout. */
    int (*park)(void *ctx);
    unsigned flags; /* ZEBU_HTTP_IO_* */
};
/* The connection was served before and parked: not counted again. */
#define ZEBU_HTTP_IO_RESUMED 1u
/* zebu_http_serve_io: the connection went idle and io->park said so. */
#define ZEBU_HTTP_PARKED 1

/* Serve one connection until it ends: 0 (orderly end or close) or a
 * negative errno from the transport; -ENOMEM when its buffers could not be
 * had; ZEBU_HTTP_PARKED when io->park ended it between requests (the
 * connection goes on). Otherwise the caller closes the transport
 * afterwards. */
int zebu_http_serve_io(struct zebu_http_server *srv, const struct zebu_http_io *io);
/* The same in the caller's memory (a connection thread's stack, say), no
 * allocation: mem holds the connection's state, header slots, output
 * buffer and receive buffer. len must be at least zebu_http_conn_bytes(srv)
 * (else -EINVAL); more goes to the receive buffer, as room for body bytes
 * behind the header block. zebu_http_serve_io allocates that least size
 * plus 1792 bytes. Keep mem until the call returns. */
size_t zebu_http_conn_bytes(const struct zebu_http_server *srv);
int zebu_http_serve_io_mem(struct zebu_http_server *srv, const struct zebu_http_io *io, void *mem,
                           size_t len);

/* Zebu's binding (lib/http/serve.c): listen on port (zebu_tcp_serve: on
 * every core with a stack per core), a thread per connection with a 60 KiB
 * stack, on the core whose network stack holds the connection (core 0
 * with one stack; include/zebu.h, "Cores"). Returns only on failure:
 * -errno (listening failed). */
struct zebu_tcp;
int zebu_http_serve(struct zebu_http_server *srv, uint16_t port);
/* Serve one accepted connection on the calling thread, then close it (a
 * reset instead when a response found no memory: the value is then
 * -ENOMEM). _mem: in the caller's memory, as zebu_http_serve_io_mem. */
int zebu_http_serve_tcp(struct zebu_http_server *srv, struct zebu_tcp *c);
int zebu_http_serve_tcp_mem(struct zebu_http_server *srv, struct zebu_tcp *c, void *mem,
                            size_t len);
/* Many connections, few threads (lib/http/serve.c): listen on port; idle
 * connections wait in a poller (zebu_poll_*) holding no thread and no
 * buffer, and `workers` threads on core 0 (0: 4) serve the ones with bytes
 * to read, each until it is idle again. An idle connection costs its TCP
 * state and about 200 bytes; a parked one is closed after the idle timeout
 * (limits idle_ns). At most `workers` requests are in progress at once.
 * Returns only on failure: -errno. */
int zebu_http_serve_many(struct zebu_http_server *srv, uint16_t port, unsigned workers);

/* ---- Low level: the parsers the server uses ---------------------------------*/

/* Incremental request parser: call with the bytes received so far (always
 * from the start of the request; the buffer may grow or move between
 * calls, and the parser only looks at bytes it has not seen: each line is
 * parsed once, into req and headers, as its CRLF arrives). Pass the same
 * req and headers on every call for one request. Returns 0 when it needs
 * more, or the header block's length with req filled; req->status != 0
 * means the request is refused with that status (then the count is how far
 * it looked). Bytes after the block (body, pipelined requests) are not
 * examined. headers: room for limits->header_count fields. */
struct zebu_http_parser {
    size_t pos, line_start, skip; /* skip: empty lines before the request line */
    unsigned lines;
    const char *base;             /* the buffer the slices point into */
    unsigned hosts, lengths;      /* fields seen so far (the parser's own) */
    unsigned flags;
};
void zebu_http_parser_init(struct zebu_http_parser *p);
int zebu_http_parse(struct zebu_http_parser *p, const struct zebu_http_limits *lim, const char *buf,
                    size_t len, struct zebu_http_request *req, struct zebu_http_header *headers);

/* Incremental body decoder for a request's framing. */
struct zebu_http_body {
    enum zebu_http_body_kind kind;
    int state;
    int status;          /* after an error: 400, 413 or 431 */
    bool done;
    uint64_t remaining;  /* of the body (length) or of the current chunk */
    uint64_t total;      /* decoded bytes so far */
    uint32_t line, trailer;
    unsigned trailer_fields;
    const struct zebu_http_limits *lim;
};
void zebu_http_body_init(struct zebu_http_body *b, const struct zebu_http_request *req,
                         const struct zebu_http_limits *lim);
/* Decode from in[0, len): returns the bytes consumed (framing and data),
 * with *data_off and *data_len the decoded bytes among them (at most one
 * span; *data_len 0 if none), or -1 on an error (b->status). Stops after
 * a span, and at the end of the body (b->done). */
long zebu_http_body_decode(struct zebu_http_body *b, const char *in, size_t len, size_t *data_off,
                           size_t *data_len);

/* ---- JSON (RFC 8259) -----------------------------------------------------------
 *
 * Writer: appends to a bounded buffer; commas, colons and escaping are its
 * business. Any error (overflow, a key outside an object, a value where a
 * key is due, invalid UTF-8 in a string, nesting past ZEBU_JSON_DEPTH_MAX)
 * sticks, and zebu_json_finish reports it.
 */
#define ZEBU_JSON_DEPTH_MAX 32

struct zebu_json_writer {
    char *buf;
    size_t cap, len;
    int err;                 /* 0 or the first -errno */
    unsigned depth;
    uint32_t in_object;      /* bit d: level d is an object */
    uint32_t has_items;      /* bit d: level d has a member already */
    bool want_value;         /* a key was written: its value is due */
    bool done;               /* a top-level value is complete */
};
void zebu_json_writer_init(struct zebu_json_writer *w, char *buf, size_t cap);
void zebu_json_object_begin(struct zebu_json_writer *w);
void zebu_json_object_end(struct zebu_json_writer *w);
void zebu_json_array_begin(struct zebu_json_writer *w);
void zebu_json_array_end(struct zebu_json_writer *w);
void zebu_json_key(struct zebu_json_writer *w, const char *key);
void zebu_json_string(struct zebu_json_writer *w, const char *s);
void zebu_json_string_n(struct zebu_json_writer *w, const char *s, size_t n);
void zebu_json_int(struct zebu_json_writer *w, int64_t v);
void zebu_json_uint(struct zebu_json_writer *w, uint64_t v);
void zebu_json_bool(struct zebu_json_writer *w, bool v);
void zebu_json_null(struct zebu_json_writer *w);
/* The text's length (a NUL follows it when there is room), or -ENOSPC
 * (overflow), -EINVAL (misuse, unfinished value, bad UTF-8), -E2BIG (depth). */
long zebu_json_finish(struct zebu_json_writer *w);

/*
 * Reader: the whole text into a caller's token array, one token per value
 * and per key, in document order (an object's tokens: key, value, key,
 * value...). Strict RFC 8259: one value with white space around it, no
 * trailing commas, strings valid UTF-8 with no control characters, \u
 * escapes that pair surrogates correctly, numbers in the JSON grammar.
 */
enum zebu_json_type {
    ZEBU_JSON_OBJECT = 1,
    ZEBU_JSON_ARRAY,
    ZEBU_JSON_STRING, /* start/len: the bytes between the quotes, still escaped */
    ZEBU_JSON_NUMBER,
    ZEBU_JSON_TRUE,
    ZEBU_JSON_FALSE,
    ZEBU_JSON_NULL,
};

struct zebu_json_token {
    uint8_t type;    /* enum zebu_json_type */
    uint32_t start;  /* offset in the text */
    uint32_t len;    /* bytes (for containers: up to and including the closing bracket) */
    uint32_t size;   /* OBJECT: members; ARRAY: elements; else 0 */
    uint32_t next;   /* index of the token after this one's subtree */
    int32_t parent;  /* index of the enclosing container (a key's object), -1 at the top */
};

/* Tokens used, or -EINVAL (not JSON), -ENOSPC (more than max_tokens),
 * -E2BIG (nested deeper than max_depth; 0: ZEBU_JSON_DEPTH_MAX), -EOVERFLOW
 * (text of 4 GiB or more). */
long zebu_json_parse(const char *text, size_t len, struct zebu_json_token *tok, size_t max_tokens,
                     unsigned max_depth);
/* In object tokens[obj], the index of the value of member key (the first
 * if repeated), or -1. key is compared with the unescaped name. */
long zebu_json_get(const char *text, const struct zebu_json_token *tok, size_t obj, const char *key);
/* An integer NUMBER (no fraction or exponent) that fits: 0, -EINVAL, -ERANGE. */
int zebu_json_get_int(const char *text, const struct zebu_json_token *t, int64_t *out);
/* A STRING unescaped into out (NUL-terminated): its length, -ENOSPC, -EINVAL. */
long zebu_json_get_string(const char *text, const struct zebu_json_token *t, char *out, size_t cap);
/* A STRING equals z once unescaped. */
bool zebu_json_string_eq(const char *text, const struct zebu_json_token *t, const char *z);

#endif /* ZEBU_HTTP_H */
