/*
 * router.c - the server object and its routes: method (or any) and path
 * prefix to handler, the longest prefix winning; 404 and 405 (with Allow,
 * RFC 9110 15.5.6) when nothing takes the request.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

/* A size of 0 takes the default; timeouts of 0 mean none. */
static void limits_fill(struct zebu_http_limits *l, const struct zebu_http_limits *in)
{
    struct zebu_http_limits d;

    zebu_http_limits_default(&d);
    if (in == NULL) {
        *l = d;
        return;
    }
    *l = *in;
    if (l->request_line == 0)
        l->request_line = d.request_line;
    if (l->header_bytes == 0)
        l->header_bytes = d.header_bytes;
    if (l->header_count == 0)
        l->header_count = d.header_count;
    if (l->body_bytes == 0)
        l->body_bytes = d.body_bytes;
    if (l->chunk_line == 0)
        l->chunk_line = d.chunk_line;
    if (l->trailer_bytes == 0)
        l->trailer_bytes = d.trailer_bytes;
    if (l->output_bytes < 256)
        l->output_bytes = 256; /* the head's fixed fields always fit */
}

struct zebu_http_server *zebu_http_server_create(const struct zebu_http_limits *limits)
{
    struct zebu_http_server *srv = calloc(1, sizeof(*srv));
    if (srv != NULL)
        limits_fill(&srv->lim, limits);
    return srv;
}

void zebu_http_server_destroy(struct zebu_http_server *srv)
{
    if (srv == NULL)
        return;
    for (unsigned i = 0; i < srv->nroutes; i++)
        free(srv->routes[i].prefix);
    free(srv);
}

void zebu_http_server_name(struct zebu_http_server *srv, const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    /* checked once here, copied into every head as it is */
    if (n == 0 || n > HTTP_SERVER_NAME_MAX || !http_field_value_ok(name, n) || name[0] == ' ' ||
        name[n - 1] == ' ' || name[0] == '\t' || name[n - 1] == '\t')
        name = NULL, n = 0;
    srv->name = name;
    srv->name_len = n;
}

void zebu_http_server_date(struct zebu_http_server *srv, size_t (*date)(char *buf, size_t cap))
{
    srv->date = date;
}

void zebu_http_server_log(struct zebu_http_server *srv, zebu_http_log_fn log, void *ctx)
{
    srv->log = log;
    srv->log_ctx = ctx;
}

void zebu_http_server_stats(const struct zebu_http_server *srv, struct zebu_http_stats *st)
{
    const uint64_t *from = (const uint64_t *)&srv->stats;
    uint64_t *to = (uint64_t *)st;
    /* Field by field, atomically: connections on other cores may be adding. */
    for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
        to[i] = __atomic_load_n(&from[i], __ATOMIC_RELAXED);
}

int zebu_http_route(struct zebu_http_server *srv, const char *method, const char *prefix,
                    zebu_http_handler handler, void *ctx)
{
    size_t ml = method != NULL ? strlen(method) : 0;

    if (handler == NULL || prefix == NULL || prefix[0] != '/' || ml >= HTTP_METHOD_MAX ||
        (method != NULL && ml == 0))
        return -EINVAL;
    for (size_t i = 0; i < ml; i++)
        if (!http_is_tchar((unsigned char)method[i]))
            return -EINVAL;
    for (unsigned i = 0; i < srv->nroutes; i++)
        if (strcmp(srv->routes[i].prefix, prefix) == 0 &&
            strcmp(srv->routes[i].method, method != NULL ? method : "") == 0)
            return -EEXIST;
    if (srv->nroutes == ZEBU_HTTP_ROUTES_MAX)
        return -ENOSPC;
    struct http_route *r = &srv->routes[srv->nroutes];
    size_t pl = strlen(prefix);
    r->prefix = malloc(pl + 1);
    if (r->prefix == NULL)
        return -ENOMEM;
    memcpy(r->prefix, prefix, pl + 1);
    r->prefix_len = pl;
    memcpy(r->method, method != NULL ? method : "", ml + 1);
    r->handler = handler;
    r->ctx = ctx;
    srv->nroutes++;
    return 0;
}

/* prefix takes path at a segment boundary (see zebu_http_route). */
static bool prefix_takes(const struct http_route *r, struct zebu_http_slice path)
{
    size_t n = r->prefix_len;

    if (path.len < n || memcmp(path.p, r->prefix, n) != 0)
        return false;
    return path.len == n || r->prefix[n - 1] == '/' || path.p[n] == '/';
}

/* "GET, HEAD, POST": the methods routes of prefix length len take. */
static void allow_list(const struct zebu_http_server *srv, struct zebu_http_slice path, size_t len,
                       char *out, size_t cap)
{
    bool get = false, head = false;
    size_t at = 0;

    out[0] = 0;
    for (unsigned i = 0; i < srv->nroutes; i++) {
        const struct http_route *r = &srv->routes[i];
        if (r->prefix_len != len || !prefix_takes(r, path))
            continue;
        get |= strcmp(r->method, "GET") == 0;
        head |= strcmp(r->method, "HEAD") == 0;
        size_t n = strlen(r->method);
        if (at + n + 3 > cap)
            break;
        if (at > 0) {
            memcpy(out + at, ", ", 2);
            at += 2;
        }
        memcpy(out + at, r->method, n + 1);
        at += n;
    }
    if (get && !head && at + 7 < cap)
        memcpy(out + at, ", HEAD", 7); /* GET routes answer HEAD */
}

int http_route_dispatch(struct zebu_http_server *srv, struct zebu_http_request *req,
                        struct zebu_http_response *resp)
{
    const struct http_route *exact = NULL, *get = NULL, *any = NULL;
    size_t best = 0;
    bool found = false;

    if (zebu_http_slice_eq(req->path, "*")) { /* OPTIONS *: RFC 9110 9.3.7, a ping */
        zebu_http_status(resp, 200);
        return zebu_http_body(resp, NULL, 0);
    }
    for (unsigned i = 0; i < srv->nroutes; i++) {
        const struct http_route *r = &srv->routes[i];
        if (!prefix_takes(r, req->path) || (found && r->prefix_len < best))
            continue;
        if (!found || r->prefix_len > best) {
            exact = get = any = NULL;
            best = r->prefix_len;
            found = true;
        }
        if (r->method[0] == 0)
            any = r;
        else if (zebu_http_slice_eq(req->method, r->method))
            exact = r;
        else if (req->is_head && strcmp(r->method, "GET") == 0)
            get = r;
    }
    /* The route for the method, then GET for HEAD, then any method. */
    const struct http_route *r = exact != NULL ? exact : get != NULL ? get : any;
    if (r != NULL)
        return r->handler(req, resp, r->ctx);
    if (!found) {
        http_response_error(resp, 404, NULL, false);
        return 0;
    }
    char allow[ZEBU_HTTP_ROUTES_MAX * (HTTP_METHOD_MAX + 2)];
    allow_list(srv, req->path, best, allow, sizeof(allow));
    http_response_error(resp, 405, allow, false);
    return 0;
}
