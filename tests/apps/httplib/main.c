/*
 * tests/apps/httplib - lib/http (include/zebu_http.h) in a guest, for
 * tests/system/test_httplib.py: a JSON echo, a streamed body, a zero-copy
 * body, HEAD, 404/405, and the library's counters as JSON.
 *     make APP=httplib run NET=user    (then curl localhost:8080/hello)
 */
#include <zebu.h>
#include <zebu_http.h>

static long port = 80;
ZEBU_OPTION_INT("port", port, 1, 65535, "TCP port to serve HTTP on");
static long header_ms = 10000;
ZEBU_OPTION_INT("header_ms", header_ms, 1, 3600000,
                "time a client has to send a request's header block (ms; then 408)");
static long body_max = 1 << 20;
static long idle_ms = 60000;
ZEBU_OPTION_INT("idle_ms", idle_ms, 1, 3600000,
                "close a keep-alive connection with no request this long (ms)");
static long body_ms = 30000;
ZEBU_OPTION_INT("body_ms", body_ms, 1, 3600000,
                "time a client has to send a request's whole body (ms; then 408)");
static bool many;
ZEBU_OPTION_BOOL("many", many,
                 "serve with zebu_http_serve_many: idle connections in a poller, no thread each");
static long workers = 4;
ZEBU_OPTION_INT("workers", workers, 1, 64, "with many=1: worker threads");
ZEBU_OPTION_INT("body_max", body_max, 1, 1 << 30, "largest request body (bytes; more: 413)");

#define BIG_SIZE (256 * 1024)
static uint8_t big[BIG_SIZE];
static long big_in_flight; /* references the stack still holds */

static struct zebu_http_server *srv;

static int hello(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return zebu_http_reply(resp, 200, "text/plain", "hello from zebu_http\n");
}

/* The request's JSON object back, described: its name, n + 1, how many
 * tokens it had, the method, path and query. */
static int echo(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    static char in[4096], out[4096 + 512], name[256];
    struct zebu_json_token tok[128];
    struct zebu_json_writer w;
    int64_t n = 0;
    (void)ctx;

    long len = zebu_http_read_all(req, in, sizeof(in));
    if (len < 0)
        return 0; /* the library answers 413, 400 or 408 */
    long t = zebu_json_parse(in, (size_t)len, tok, 128, 0);
    if (t < 0 || tok[0].type != ZEBU_JSON_OBJECT)
        return zebu_http_reply(resp, 400, "application/json", "{\"error\":\"not a JSON object\"}");
    long i = zebu_json_get(in, tok, 0, "name");
    if (i < 0 || zebu_json_get_string(in, &tok[i], name, sizeof(name)) < 0)
        strcpy(name, "");
    i = zebu_json_get(in, tok, 0, "n");
    if (i >= 0)
        zebu_json_get_int(in, &tok[i], &n);
    zebu_json_writer_init(&w, out, sizeof(out));
    zebu_json_object_begin(&w);
    zebu_json_key(&w, "method");
    zebu_json_string_n(&w, req->method.p, req->method.len);
    zebu_json_key(&w, "path");
    zebu_json_string_n(&w, req->path.p, req->path.len);
    zebu_json_key(&w, "query");
    zebu_json_string_n(&w, req->query.p, req->query.len);
    zebu_json_key(&w, "tokens");
    zebu_json_int(&w, t);
    zebu_json_key(&w, "name");
    zebu_json_string(&w, name);
    zebu_json_key(&w, "n_plus_1");
    zebu_json_int(&w, n + 1);
    zebu_json_key(&w, "chunked");
    zebu_json_bool(&w, req->body_kind == ZEBU_HTTP_BODY_CHUNKED);
    zebu_json_object_end(&w);
    long olen = zebu_json_finish(&w);
    if (olen < 0)
        return zebu_http_reply(resp, 500, "text/plain", "json writer failed\n");
    zebu_http_header(resp, "Content-Type", "application/json");
    return zebu_http_body(resp, out, (size_t)olen);
}

static int stream(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char line[32];
    (void)req;
    (void)ctx;
    zebu_http_header(resp, "Content-Type", "text/plain");
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(line, sizeof(line), "line %d\n", i);
        int err = zebu_http_write(resp, line, (size_t)n);
        if (err != 0)
            return err;
    }
    return zebu_http_end(resp);
}

static void big_done(void *cookie)
{
    (void)cookie;
    big_in_flight--;
}

static int big_file(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    big_in_flight++;
    zebu_http_header(resp, "Content-Type", "application/octet-stream");
    return zebu_http_body_ref(resp, big, sizeof(big), big_done, NULL);
}

static int any(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char b[64];
    (void)ctx;
    snprintf(b, sizeof(b), "%.*s\n", (int)req->method.len, req->method.p);
    return zebu_http_reply(resp, 200, "text/plain", b);
}

static int stats(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    static char out[1024];
    struct zebu_http_stats st;
    struct zebu_net_counters nc;
    struct zebu_mem_stats ms;
    struct zebu_json_writer w;
    (void)req;
    (void)ctx;

    zebu_http_server_stats(srv, &st);
    if (zebu_net_counters(&nc) != 0)
        memset(&nc, 0, sizeof(nc));
    zebu_mem_stats(&ms);
    zebu_json_writer_init(&w, out, sizeof(out));
    zebu_json_object_begin(&w);
    const struct {
        const char *k;
        uint64_t v;
    } f[] = {
        {"connections", st.connections}, {"requests", st.requests},
        {"responses_2xx", st.responses_by_class[2]}, {"responses_4xx", st.responses_by_class[4]},
        {"responses_5xx", st.responses_by_class[5]}, {"timeouts_idle", st.timeouts_idle},
        {"timeouts_header", st.timeouts_header}, {"timeouts_body", st.timeouts_body},
        {"parse_errors", st.parse_errors}, {"continues_sent", st.continues_sent},
        {"bytes_in", st.bytes_in}, {"bytes_out", st.bytes_out},
        {"stack_copied_bytes", nc.copied_bytes}, {"big_in_flight", (uint64_t)big_in_flight},
        {"heap_in_use", ms.heap_in_use}, {"free_bytes", ms.free_bytes},
        {"total_bytes", ms.total_bytes},
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        zebu_json_key(&w, f[i].k);
        zebu_json_uint(&w, f[i].v);
    }
    zebu_json_object_end(&w);
    long n = zebu_json_finish(&w);
    if (n < 0)
        return zebu_http_reply(resp, 500, "text/plain", "json writer failed\n");
    zebu_http_header(resp, "Content-Type", "application/json");
    zebu_http_header(resp, "Cache-Control", "no-store");
    return zebu_http_body(resp, out, (size_t)n);
}

int main(int argc, char **argv)
{
    struct zebu_http_limits lim;
    (void)argc;
    (void)argv;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    zebu_http_limits_default(&lim);
    lim.header_ns = (uint64_t)header_ms * 1000000;
    lim.idle_ns = (uint64_t)idle_ms * 1000000;
    lim.body_ns = (uint64_t)body_ms * 1000000;
    lim.body_bytes = (uint64_t)body_max;
    srv = zebu_http_server_create(&lim);
    if (srv == NULL)
        return 1;
    zebu_http_server_name(srv, "Zebu-httplib");
    if (zebu_http_route(srv, "GET", "/hello", hello, NULL) != 0 ||
        zebu_http_route(srv, "POST", "/echo", echo, NULL) != 0 ||
        zebu_http_route(srv, "PUT", "/echo", echo, NULL) != 0 ||
        zebu_http_route(srv, "GET", "/stream", stream, NULL) != 0 ||
        zebu_http_route(srv, "GET", "/big", big_file, NULL) != 0 ||
        zebu_http_route(srv, NULL, "/any", any, NULL) != 0 ||
        zebu_http_route(srv, "GET", "/stats", stats, NULL) != 0)
        return 1;
    if (zebu_net_wait_ready(30ull * 1000 * 1000 * 1000) != 0) {
        printf("httplib: no network address\n");
        return 1;
    }
    char addr[16];
    zebu_ip4_format(zebu_net_addr(), addr, sizeof(addr));
    printf("httplib: serving on http://%s:%ld/\n", addr, port);
    int err = many ? zebu_http_serve_many(srv, (uint16_t)port, (unsigned)workers)
                   : zebu_http_serve(srv, (uint16_t)port);
    printf("httplib: cannot serve on port %ld: %s\n", port, strerror(-err));
    return 1;
}
