/*
 * http_lib_threads_test.c - one lib/http server serving connections from
 * several threads at once (as an app serving on every core does): the
 * counters must add up exactly. Built twice: under ASan+UBSan and, as
 * http_lib_threads_test_tsan, under ThreadSanitizer, which reports any
 * counter still updated without an atomic.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_lib_fake.h"
#include "runner.h"

#define THREADS 4
#define CONNS   50 /* per thread */
#define REQS    3  /* per connection: GET, GET, a 404 */

static const char input[] = "GET /hi HTTP/1.1\r\nHost: h\r\n\r\n"
                            "GET /hi HTTP/1.1\r\nHost: h\r\n\r\n"
                            "GET /nope HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

static int h_hi(struct zebu_http_request *req, struct zebu_http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    return zebu_http_reply(resp, 200, "text/plain", "hi\n");
}

struct worker {
    struct zebu_http_server *srv;
    unsigned long bytes_in, bytes_out;
    int failures;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < CONNS; i++) {
        struct fake_io f;
        fake_io_init(&f, input, sizeof(input) - 1);
        f.piece = 7 + (size_t)i % 13; /* receives of varied sizes */
        if (zebu_http_serve_io(w->srv, &f.io) != 0)
            w->failures++;
        w->bytes_in += sizeof(input) - 1;
        w->bytes_out += f.out_len;
        fake_io_free(&f);
    }
    return NULL;
}

TEST(httplib_threads_counters_add_up)
{
    struct zebu_http_server *s = zebu_http_server_create(NULL);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    CHECK_INT_EQ(zebu_http_route(s, "GET", "/hi", h_hi, NULL), 0);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.srv = s};
        CHECK_INT_EQ(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    unsigned long in = 0, out = 0;
    struct zebu_http_stats mid;
    zebu_http_server_stats(s, &mid); /* while they run: a read racing the adds */
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT_EQ(w[i].failures, 0);
        in += w[i].bytes_in;
        out += w[i].bytes_out;
    }
    struct zebu_http_stats st;
    zebu_http_server_stats(s, &st);
    CHECK(mid.requests <= st.requests);
    CHECK_UINT_EQ(st.connections, THREADS * CONNS);
    CHECK_UINT_EQ(st.requests, THREADS * CONNS * REQS);
    CHECK_UINT_EQ(st.responses_by_class[2], THREADS * CONNS * 2);
    CHECK_UINT_EQ(st.responses_by_class[4], THREADS * CONNS);
    CHECK_UINT_EQ(st.bytes_in, in);
    CHECK_UINT_EQ(st.bytes_out, out);
    zebu_http_server_destroy(s);
}
