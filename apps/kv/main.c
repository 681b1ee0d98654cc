/*
 * apps/kv - a JSON key-value service on lib/http (docs/kv.md).
 *
 *   PUT    /v1/keys/<key>   store a JSON text (201 new, 200 replaced)
 *   GET    /v1/keys/<key>   the stored text (200, ETag; 304 on If-None-Match; 404)
 *   DELETE /v1/keys/<key>   204, or 404
 *   GET    /v1/keys?prefix=p&limit=n&after=k   sorted keys (JSON)
 *   GET    /healthz, /metrics (Prometheus text format 0.0.4)
 *
 * The store (store.c) lives in memory under one zebu_mutex; connections
 * are served by threads on every core in turn (their socket calls hop to
 * core 0), so handlers run on any core at once.
 *     make APP=kv run NET=user    (then curl -X PUT localhost:8080/v1/keys/a -d '{"x":1}')
 */
#include <stdarg.h>
#include <zebu.h>
#include <zebu_http.h>

#include "key.h"
#include "store.h"

static long port = 80;
ZEBU_OPTION_INT("port", port, 1, 65535, "TCP port to serve HTTP on");
static long key_max = 256;
ZEBU_OPTION_INT("key_max", key_max, 1, 4096, "longest key, in bytes once decoded (longer: 400)");
static long value_max = 64 * 1024;
ZEBU_OPTION_INT("value_max", value_max, 2, 16 << 20, "largest value, in bytes (larger: 413)");
static long max_keys = 100000;
ZEBU_OPTION_INT("max_keys", max_keys, 1, 1 << 24, "keys stored at most (a new key past it: 507)");
static long max_mb = 32;
ZEBU_OPTION_INT("max_mb", max_mb, 1, 1 << 16,
                "MiB of keys and values stored at most (past it: 507)");
static long json_tokens = 8192;
ZEBU_OPTION_INT("json_tokens", json_tokens, 16, 1 << 20,
                "JSON values (tokens) a stored value may hold (more: 413)");
static long list_max = 1000;
ZEBU_OPTION_INT("list_max", list_max, 1, 100000, "keys one listing returns at most");
static long idle_ms = 60000;
ZEBU_OPTION_INT("idle_ms", idle_ms, 1, 3600000,
                "close a keep-alive connection with no request this long (ms)");
static bool one_core;
ZEBU_OPTION_BOOL("one_core", one_core,
                 "serve every connection on core 0 (default: every core, where it arrived or "
                 "in turn)");

static struct kv_store store;
static struct zebu_mutex store_lock = ZEBU_MUTEX_INIT;
static struct zebu_http_server *srv;
static uint32_t boot_id; /* in every ETag: versions restart with the store */

/* ---- counters (any core: atomic) ---- */

enum { M_GET, M_HEAD, M_PUT, M_DELETE, M_OTHER, M_COUNT };
static const char *const method_names[M_COUNT] = {"GET", "HEAD", "PUT", "DELETE", "other"};
static uint64_t requests[M_COUNT][6]; /* by method and status class */
static uint64_t refused_json;         /* PUT bodies that are not JSON */
#define CORES_COUNTED 64
static uint64_t conns_by_core[CORES_COUNTED];

static void bump(uint64_t *c)
{
    __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static int method_index(const struct zebu_http_request *req)
{
    for (int m = 0; m < M_OTHER; m++)
        if (zebu_http_slice_eq(req->method, method_names[m]))
            return m;
    return M_OTHER;
}

/* ---- responses ---- */

/* {"error": msg}: every error is JSON, with the status it names. */
static int error(struct zebu_http_response *resp, int status, const char *msg)
{
    char body[256];
    struct zebu_json_writer w;
    zebu_json_writer_init(&w, body, sizeof(body));
    zebu_json_object_begin(&w);
    zebu_json_key(&w, "error");
    zebu_json_string(&w, msg);
    zebu_json_object_end(&w);
    long n = zebu_json_finish(&w);
    zebu_http_status(resp, status);
    zebu_http_header(resp, "Content-Type", "application/json");
    zebu_http_body(resp, body, n > 0 ? (size_t)n : 0);
    return status;
}

static int json_reply(struct zebu_http_response *resp, int status, struct zebu_json_writer *w)
{
    long n = zebu_json_finish(w);
    if (n < 0)
        return error(resp, 500, "response did not fit");
    zebu_http_status(resp, status);
    zebu_http_header(resp, "Content-Type", "application/json");
    zebu_http_body(resp, w->buf, (size_t)n);
    return status;
}

static void etag_of(uint64_t version, char *buf, size_t cap)
{
    snprintf(buf, cap, "\"%08x-%llu\"", boot_id, (unsigned long long)version);
}

/* If-None-Match (RFC 9110 13.1.2) names this entity tag, or is "*". */
static bool none_match(const struct zebu_http_request *req, const char *etag)
{
    const struct zebu_http_slice *v = zebu_http_header_get(req, "If-None-Match");
    if (v == NULL)
        return false;
    if (zebu_http_slice_eq(*v, "*"))
        return true;
    size_t n = strlen(etag);
    for (size_t i = 0; i + n <= v->len; i++) /* a list: the quoted tag anywhere in it */
        if (memcmp(v->p + i, etag, n) == 0)
            return true;
    return false;
}

/* ---- /v1/keys/<key> ---- */

#define KEYS_PREFIX "/v1/keys/"

static void entry_done(void *cookie)
{
    kv_entry_release(cookie);
}

static int get_key(struct zebu_http_request *req, struct zebu_http_response *resp, const char *key,
                   size_t klen)
{
    char etag[48];
    struct kv_entry *e = kv_get(&store, key, klen);
    if (e == NULL)
        return error(resp, 404, "no such key");
    etag_of(e->version, etag, sizeof(etag));
    zebu_http_header(resp, "ETag", etag);
    zebu_http_header(resp, "Cache-Control", "no-cache");
    if (none_match(req, etag)) { /* RFC 9110 15.4.5: 304 carries the ETag, no body */
        kv_entry_release(e);
        zebu_http_status(resp, 304);
        zebu_http_body(resp, NULL, 0);
        return 304;
    }
    zebu_http_header(resp, "Content-Type", "application/json");
    /* The value goes out by reference: the entry is released once sent,
     * however a PUT or DELETE changes the table meanwhile. */
    zebu_http_body_ref(resp, kv_entry_value(e), e->vlen, entry_done, e);
    return 200;
}

static int put_key(struct zebu_http_request *req, struct zebu_http_response *resp, const char *key,
                   size_t klen)
{
    if (req->body_kind == ZEBU_HTTP_BODY_LENGTH && req->content_length > (uint64_t)value_max) {
        zebu_http_close_after(resp); /* refused before it is read (or invited) */
        return error(resp, 413, "value too large (value_max)");
    }
    size_t cap =
        req->body_kind == ZEBU_HTTP_BODY_LENGTH ? (size_t)req->content_length : (size_t)value_max;
    char *body = malloc(cap + 1);
    if (body == NULL)
        return error(resp, 503, "out of memory");
    long n = zebu_http_read_all(req, body, cap);
    int status = 0;
    if (n == -EMSGSIZE) {
        zebu_http_close_after(resp);
        status = error(resp, 413, "value too large (value_max)");
    } else if (n < 0) {
        status = error(resp, n == -ETIMEDOUT ? 408 : 400, "request body not read");
    }
    if (status != 0) {
        free(body);
        return status;
    }
    /* Validate with lib/http's reader (RFC 8259, strict); the text is
     * stored as given, white space and all. */
    size_t max_tok = (size_t)n / 2 + 2; /* a value takes 2 bytes or more, but the last */
    if (max_tok > (size_t)json_tokens)
        max_tok = (size_t)json_tokens;
    struct zebu_json_token *tok = malloc(max_tok * sizeof(*tok));
    long t = tok != NULL ? zebu_json_parse(body, (size_t)n, tok, max_tok, 0) : -ENOMEM;
    free(tok);
    if (t < 0) {
        free(body);
        if (t == -ENOMEM)
            return error(resp, 503, "out of memory");
        if (t == -ENOSPC && max_tok == (size_t)json_tokens)
            return error(resp, 413, "value has too many JSON values (json_tokens)");
        bump(&refused_json);
        return error(resp, 400, t == -E2BIG ? "value nested too deep" : "value is not JSON");
    }
    uint64_t version = 0;
    bool created = false;
    int err = kv_put(&store, key, klen, body, (size_t)n, &version, &created);
    free(body);
    switch (err) {
    case 0:
        break;
    case -ENOSPC: /* RFC 4918 11.5: the server cannot store what the request needs */
        return error(resp, 507, "store full (max_keys or max_mb)");
    case -EMSGSIZE:
        return error(resp, 413, "value too large (value_max)");
    case -ENOMEM:
        return error(resp, 503, "out of memory");
    default:
        return error(resp, 400, "bad key");
    }
    char etag[48], out[128];
    struct zebu_json_writer w;
    etag_of(version, etag, sizeof(etag));
    zebu_http_header(resp, "ETag", etag);
    zebu_json_writer_init(&w, out, sizeof(out));
    zebu_json_object_begin(&w);
    zebu_json_key(&w, "created");
    zebu_json_bool(&w, created);
    zebu_json_key(&w, "version");
    zebu_json_uint(&w, version);
    zebu_json_object_end(&w);
    /* RFC 9110 9.3.4: 201 when the PUT created the resource, 200 when it replaced it */
    return json_reply(resp, created ? 201 : 200, &w);
}

static int keys_route(struct zebu_http_request *req, struct zebu_http_response *resp, int m)
{
    char key[4096];
    size_t plen = sizeof(KEYS_PREFIX) - 1;
    long klen =
        kv_pct_decode(req->path.p + plen, req->path.len - plen, key, (size_t)key_max, false);
    if (klen == -E2BIG)
        return error(resp, 400, "key too long (key_max)");
    if (klen < 0)
        return error(resp, 400, "bad percent-encoding in key");
    if (klen == 0)
        return error(resp, 400, "empty key");
    if (!kv_key_valid(key, (size_t)klen))
        return error(resp, 400, "key is not UTF-8 without control characters");
    switch (m) {
    case M_GET:
    case M_HEAD:
        return get_key(req, resp, key, (size_t)klen);
    case M_PUT:
        return put_key(req, resp, key, (size_t)klen);
    case M_DELETE:
        if (kv_delete(&store, key, (size_t)klen) != 0)
            return error(resp, 404, "no such key");
        zebu_http_status(resp, 204);
        zebu_http_body(resp, NULL, 0);
        return 204;
    default:
        zebu_http_header(resp, "Allow", "GET, HEAD, PUT, DELETE");
        return error(resp, 405, "method not allowed");
    }
}

/* ---- GET /v1/keys?prefix=&limit=&after= ---- */

static int list_keys(struct zebu_http_request *req, struct zebu_http_response *resp, int m)
{
    char prefix[4096], after[4096], num[16];
    if (m != M_GET && m != M_HEAD) {
        zebu_http_header(resp, "Allow", "GET, HEAD");
        return error(resp, 405, "method not allowed");
    }
    long plen = kv_query_get(req->query.p, req->query.len, "prefix", prefix, (size_t)key_max);
    long alen = kv_query_get(req->query.p, req->query.len, "after", after, (size_t)key_max);
    long nlen = kv_query_get(req->query.p, req->query.len, "limit", num, sizeof(num) - 1);
    long limit = 100 < list_max ? 100 : list_max;
    if (plen == -ENOENT)
        plen = 0;
    if (plen < 0 || (alen < 0 && alen != -ENOENT))
        return error(resp, 400, "bad prefix or after");
    if (nlen >= 0) {
        num[nlen] = '\0';
        if (parse_long(num, 1, list_max, &limit) != 0)
            return error(resp, 400, "limit: 1 to list_max");
    } else if (nlen != -ENOENT) {
        return error(resp, 400, "limit: 1 to list_max");
    }
    struct kv_entry **out = malloc((size_t)limit * sizeof(*out));
    if (out == NULL)
        return error(resp, 503, "out of memory");
    bool more = false;
    size_t n = kv_list(&store, prefix, (size_t)plen, alen >= 0 ? after : NULL,
                       alen >= 0 ? (size_t)alen : 0, out, (size_t)limit, &more);
    /* Room for every key escaped at worst (\u00XX cannot occur: keys have
     * no controls, so 2 bytes per byte at most) and the framing. */
    size_t cap = 128;
    for (size_t i = 0; i < n; i++)
        cap += 2 * (size_t)out[i]->klen + 4;
    char *text = malloc(cap);
    int status;
    if (text == NULL) {
        status = error(resp, 503, "out of memory");
    } else {
        struct zebu_json_writer w;
        zebu_json_writer_init(&w, text, cap);
        zebu_json_object_begin(&w);
        zebu_json_key(&w, "keys");
        zebu_json_array_begin(&w);
        for (size_t i = 0; i < n; i++)
            zebu_json_string_n(&w, kv_entry_key(out[i]), out[i]->klen);
        zebu_json_array_end(&w);
        zebu_json_key(&w, "count");
        zebu_json_uint(&w, n);
        zebu_json_key(&w, "more");
        zebu_json_bool(&w, more);
        zebu_json_object_end(&w);
        status = json_reply(resp, 200, &w);
        free(text);
    }
    for (size_t i = 0; i < n; i++)
        kv_entry_release(out[i]);
    free(out);
    return status;
}

/* ---- /healthz, /metrics ---- */

static int healthz(struct zebu_http_request *req, struct zebu_http_response *resp, int m)
{
    (void)req;
    (void)m;
    zebu_http_header(resp, "Cache-Control", "no-store");
    zebu_http_status(resp, 200);
    zebu_http_header(resp, "Content-Type", "application/json");
    zebu_http_body(resp, "{\"status\":\"ok\"}", 15);
    return 200;
}

struct text {
    char *p;
    size_t len, cap;
};

static void put_metric(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_metric(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < t->cap - t->len)
        t->len += (size_t)n;
    else
        t->len = t->cap; /* full: the caller answers 500 */
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
    put_metric(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The Prometheus text exposition format 0.0.4: HELP and TYPE before each
 * family, one sample a line, label values quoted. */
static int metrics(struct zebu_http_request *req, struct zebu_http_response *resp, int m)
{
    static const char *const classes[6] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
    struct kv_counters c;
    struct zebu_http_stats hs;
    struct text t = {malloc(16384), 0, 16384};
    (void)req;
    (void)m;
    if (t.p == NULL)
        return error(resp, 503, "out of memory");
    kv_store_counters(&store, &c);
    zebu_http_server_stats(srv, &hs);

    family(&t, "kv_requests_total", "counter", "Requests kv answered, by method and status class.");
    for (int i = 0; i < M_COUNT; i++)
        for (int k = 1; k < 6; k++)
            put_metric(&t, "kv_requests_total{method=\"%s\",code=\"%s\"} %llu\n", method_names[i],
                       classes[k],
                       (unsigned long long)__atomic_load_n(&requests[i][k], __ATOMIC_RELAXED));
    family(&t, "kv_keys", "gauge", "Keys stored.");
    put_metric(&t, "kv_keys %llu\n", (unsigned long long)c.keys);
    family(&t, "kv_bytes", "gauge", "Bytes of keys and values stored.");
    put_metric(&t, "kv_bytes %llu\n", (unsigned long long)c.bytes);
    family(&t, "kv_max_keys", "gauge", "The max_keys limit.");
    put_metric(&t, "kv_max_keys %ld\n", max_keys);
    family(&t, "kv_max_bytes", "gauge", "The max_mb limit, in bytes.");
    put_metric(&t, "kv_max_bytes %llu\n", (unsigned long long)max_mb << 20);
    family(&t, "kv_store_operations_total", "counter", "Store operations, by kind.");
    put_metric(&t, "kv_store_operations_total{op=\"put\"} %llu\n", (unsigned long long)c.puts);
    put_metric(&t, "kv_store_operations_total{op=\"get\"} %llu\n", (unsigned long long)c.gets);
    put_metric(&t, "kv_store_operations_total{op=\"delete\"} %llu\n",
               (unsigned long long)c.deletes);
    put_metric(&t, "kv_store_operations_total{op=\"list\"} %llu\n", (unsigned long long)c.lists);
    family(&t, "kv_store_misses_total", "counter", "Reads and deletes of keys not stored.");
    put_metric(&t, "kv_store_misses_total{op=\"get\"} %llu\n", (unsigned long long)c.get_misses);
    put_metric(&t, "kv_store_misses_total{op=\"delete\"} %llu\n",
               (unsigned long long)c.delete_misses);
    family(&t, "kv_keys_created_total", "counter", "PUTs that stored a new key.");
    put_metric(&t, "kv_keys_created_total %llu\n", (unsigned long long)c.put_creates);
    family(&t, "kv_put_refused_total", "counter", "PUTs refused, by reason.");
    put_metric(&t, "kv_put_refused_total{reason=\"full\"} %llu\n",
               (unsigned long long)c.refused_full);
    put_metric(&t, "kv_put_refused_total{reason=\"size\"} %llu\n",
               (unsigned long long)c.refused_size);
    put_metric(&t, "kv_put_refused_total{reason=\"not_json\"} %llu\n",
               (unsigned long long)__atomic_load_n(&refused_json, __ATOMIC_RELAXED));
    family(&t, "kv_table_buckets", "gauge", "Buckets of the hash table.");
    put_metric(&t, "kv_table_buckets %llu\n", (unsigned long long)c.buckets);
    family(&t, "kv_connections_total", "counter", "Connections served, by core.");
    for (int i = 0; i < zebu_core_count() && i < CORES_COUNTED; i++)
        put_metric(&t, "kv_connections_total{core=\"%d\"} %llu\n", i,
                   (unsigned long long)__atomic_load_n(&conns_by_core[i], __ATOMIC_RELAXED));

    family(&t, "zebu_http_connections_total", "counter", "Connections lib/http served.");
    put_metric(&t, "zebu_http_connections_total %llu\n", (unsigned long long)hs.connections);
    family(&t, "zebu_http_requests_total", "counter", "Requests lib/http read, refused ones too.");
    put_metric(&t, "zebu_http_requests_total %llu\n", (unsigned long long)hs.requests);
    family(&t, "zebu_http_responses_total", "counter", "Responses lib/http sent, by class.");
    for (int k = 1; k < 6; k++)
        put_metric(&t, "zebu_http_responses_total{code=\"%s\"} %llu\n", classes[k],
                   (unsigned long long)hs.responses_by_class[k]);
    family(&t, "zebu_http_timeouts_total", "counter", "Connections ended by a deadline.");
    put_metric(&t, "zebu_http_timeouts_total{phase=\"idle\"} %llu\n",
               (unsigned long long)hs.timeouts_idle);
    put_metric(&t, "zebu_http_timeouts_total{phase=\"header\"} %llu\n",
               (unsigned long long)hs.timeouts_header);
    put_metric(&t, "zebu_http_timeouts_total{phase=\"body\"} %llu\n",
               (unsigned long long)hs.timeouts_body);
    family(&t, "zebu_http_parse_errors_total", "counter", "Requests the parser refused.");
    put_metric(&t, "zebu_http_parse_errors_total %llu\n", (unsigned long long)hs.parse_errors);
    family(&t, "zebu_http_continues_total", "counter", "100 Continue responses sent.");
    put_metric(&t, "zebu_http_continues_total %llu\n", (unsigned long long)hs.continues_sent);
    family(&t, "zebu_http_received_bytes_total", "counter", "Bytes of requests received.");
    put_metric(&t, "zebu_http_received_bytes_total %llu\n", (unsigned long long)hs.bytes_in);
    family(&t, "zebu_http_sent_bytes_total", "counter", "Bytes of responses sent.");
    put_metric(&t, "zebu_http_sent_bytes_total %llu\n", (unsigned long long)hs.bytes_out);

    int status = 200;
    if (t.len >= t.cap) {
        status = error(resp, 500, "metrics did not fit");
    } else {
        zebu_http_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        zebu_http_header(resp, "Cache-Control", "no-store");
        zebu_http_body(resp, t.p, t.len);
    }
    free(t.p);
    return status;
}

static int not_found(struct zebu_http_request *req, struct zebu_http_response *resp, int m)
{
    (void)req;
    (void)m;
    return error(resp, 404, "no such resource");
}

/* Every route goes through here: the request counted by method and by
 * the class of the status its handler answered. */
static int route(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    int (*fn)(struct zebu_http_request *, struct zebu_http_response *, int) = ctx;
    int m = method_index(req);
    if (fn != keys_route && fn != list_keys && m != M_GET && m != M_HEAD && fn != not_found) {
        zebu_http_header(resp, "Allow", "GET, HEAD");
        bump(&requests[m][4]);
        error(resp, 405, "method not allowed");
        return 0;
    }
    int status = fn(req, resp, m);
    if (status >= 100 && status <= 599)
        bump(&requests[m][status / 100]);
    return 0;
}

/* ---- serving ---- */

static void lock(void *m)
{
    zebu_mutex_lock(m);
}

static void unlock(void *m)
{
    zebu_mutex_unlock(m);
}

static void *conn_thread(void *arg)
{
    int core = zebu_core_id();
    if (core < CORES_COUNTED)
        bump(&conns_by_core[core]);
    zebu_http_serve_tcp(srv, arg);
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    uint8_t seed[16];
    zebu_random(seed, sizeof(seed));
    zebu_random(&boot_id, sizeof(boot_id));
    struct kv_limits kl = {(size_t)key_max, (size_t)value_max, (size_t)max_keys,
                           (uint64_t)max_mb << 20};
    if (kv_store_init(&store, &kl, seed, lock, unlock, &store_lock) != 0) {
        printf("kv: no memory for the store\n");
        return 1;
    }
    struct zebu_http_limits lim;
    zebu_http_limits_default(&lim);
    lim.idle_ns = (uint64_t)idle_ms * 1000000;
    /* kv answers a value over value_max itself, with a JSON 413 (and
     * closes, so the rest is never read): the library's own bound is
     * only a backstop. */
    lim.body_bytes = 1ull << 30;
    srv = zebu_http_server_create(&lim);
    if (srv == NULL)
        return 1;
    zebu_http_server_name(srv, "Zebu-kv");
    if (zebu_http_route(srv, NULL, "/v1/keys/", route, (void *)keys_route) != 0 ||
        zebu_http_route(srv, NULL, "/v1/keys", route, (void *)list_keys) != 0 ||
        zebu_http_route(srv, NULL, "/healthz", route, (void *)healthz) != 0 ||
        zebu_http_route(srv, NULL, "/metrics", route, (void *)metrics) != 0 ||
        zebu_http_route(srv, NULL, "/", route, (void *)not_found) != 0)
        return 1;
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0) {
        printf("kv: no network address\n");
        return 1;
    }
    struct zebu_tcp *l = zebu_tcp_listen((uint16_t)port, 128);
    if (l == NULL) {
        printf("kv: cannot listen on port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    /* As zebu_http_serve does: a client that keeps its window shut for a
     * minute is reset (inherited by every connection). */
    zebu_tcp_set_limit(l, ZEBU_TCP_LIMIT_ZERO_WINDOW, 60ull * 1000 * 1000 * 1000);
    char addr[16];
    zebu_ip4_format(zebu_net_addr(), addr, sizeof(addr));
    int cores = one_core ? 1 : zebu_core_count();
    printf("kv: serving on http://%s:%ld/ (%d core%s, max_keys=%ld max_mb=%ld value_max=%ld)\n",
           addr, port, cores, cores == 1 ? "" : "s", max_keys, max_mb, value_max);
    struct zebu_net_counters nc;
    bool per_core = cores > 1 && zebu_net_counters(&nc) == 0 && nc.stacks > 1;
    for (unsigned long n = 0;; n++) {
        struct zebu_tcp *c = zebu_tcp_accept(l);
        if (c == NULL)
            continue;
        /* A stack per core: serve the connection where it arrived, so no
         * socket call moves; one stack: every core in turn. */
        int core = per_core ? zebu_tcp_core(c) : (int)(n % (unsigned long)cores);
        struct zebu_thread *t = zebu_thread_create(conn_thread, c, core, "kv", 60 * 1024);
        if (t == NULL) { /* out of memory: refuse this one, keep serving */
            zebu_tcp_abort(c);
            continue;
        }
        zebu_thread_detach(t);
    }
}
