/* jsonsvc - the JSON service docs/writing-apps.md walks through: votes.
 * POST /votes {"choice":"x"} counts a vote; GET /votes returns the tally. */
#include <zebu.h>
#include <zebu_http.h>

#define CHOICES 16
static struct {
    char name[32];
    int64_t votes;
} tally[CHOICES];
static int nchoices;
static struct zebu_mutex lock = ZEBU_MUTEX_INIT; /* handlers may run on any core */

static long port = 80;
ZEBU_OPTION_INT("port", port, 1, 65535, "TCP port to serve on");

static int error(struct zebu_http_response *resp, int status, const char *msg)
{
    char out[128];
    snprintf(out, sizeof(out), "{\"error\":\"%s\"}", msg); /* msg: our own, plain ASCII */
    zebu_http_status(resp, status);
    zebu_http_header(resp, "Content-Type", "application/json");
    return zebu_http_body(resp, out, strlen(out));
}

static int vote(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char in[512], name[32];
    struct zebu_json_token tok[8];
    (void)ctx;
    long n = zebu_http_read_all(req, in, sizeof(in));
    if (n < 0)
        return error(resp, 413, "body too large");
    if (zebu_json_parse(in, (size_t)n, tok, 8, 0) < 0 || tok[0].type != ZEBU_JSON_OBJECT)
        return error(resp, 400, "expected a JSON object");
    long i = zebu_json_get(in, tok, 0, "choice");
    if (i < 0 || tok[i].type != ZEBU_JSON_STRING ||
        zebu_json_get_string(in, &tok[i], name, sizeof(name)) <= 0)
        return error(resp, 422, "choice: a string of 1 to 31 bytes");
    int status = 200, c;
    zebu_mutex_lock(&lock);
    for (c = 0; c < nchoices && strcmp(tally[c].name, name) != 0; c++)
        ;
    if (c == nchoices && nchoices < CHOICES)
        strcpy(tally[nchoices++].name, name);
    if (c < nchoices)
        tally[c].votes++;
    else
        status = 507; /* no room for another choice */
    zebu_mutex_unlock(&lock);
    return status == 200 ? zebu_http_reply(resp, 200, "application/json", "{\"ok\":true}")
                         : error(resp, status, "too many choices");
}

static int results(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    char out[1024];
    struct zebu_json_writer w;
    (void)req, (void)ctx;
    zebu_json_writer_init(&w, out, sizeof(out));
    zebu_json_object_begin(&w);
    zebu_mutex_lock(&lock);
    for (int c = 0; c < nchoices; c++) {
        zebu_json_key(&w, tally[c].name); /* the writer escapes it */
        zebu_json_int(&w, tally[c].votes);
    }
    zebu_mutex_unlock(&lock);
    zebu_json_object_end(&w);
    long len = zebu_json_finish(&w);
    if (len < 0)
        return error(resp, 500, "no room");
    zebu_http_header(resp, "Content-Type", "application/json");
    return zebu_http_body(resp, out, (size_t)len);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct zebu_http_server *srv = zebu_http_server_create(NULL);
    if (srv == NULL || zebu_http_route(srv, "POST", "/votes", vote, NULL) != 0 ||
        zebu_http_route(srv, "GET", "/votes", results, NULL) != 0)
        return 1;
    if (zebu_net_wait_ready(30ull * 1000000000) != 0)
        return 1;
    printf("jsonsvc: serving on port %ld\n", port);
    int err = zebu_http_serve(srv, (uint16_t)port); /* returns only on failure */
    printf("jsonsvc: %s\n", strerror(-err));
    return 1;
}
