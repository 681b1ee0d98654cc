/*
 * net_test_buf.c - netbuf reference counting, headroom, clones, slices,
 * queues; byte order and checksums against an independent implementation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/netbuf.h"
#include "net_test.h"

struct owner {
    int released;
    uint8_t mem[256];
};

static void owner_release(struct netbuf *nb, void *cookie)
{
    struct owner *o = cookie;

    (void)nb;
    o->released++;
}

TEST(net_byteorder_reads_and_writes_big_endian)
{
    uint8_t b[4];

    net_put_be32(b, 0x0a000102u);
    CHECK(b[0] == 10 && b[1] == 0 && b[2] == 1 && b[3] == 2);
    CHECK_UINT_EQ(net_get_be32(b), 0x0a000102u);
    net_put_be16(b + 1, 0xbeef);
    CHECK_UINT_EQ(net_get_be16(b + 1), 0xbeef);
    CHECK_UINT_EQ(net_bswap16(0x1234), 0x3412);
    CHECK_UINT_EQ(net_bswap32(0x11223344u), 0x44332211u);
}

TEST(net_checksum_matches_rfc1071_example_and_oracle)
{
    /* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
    static const uint8_t ex[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK_UINT_EQ(net_csum_fold(net_csum_add(0, ex, sizeof(ex))), 0xddf2);

    uint8_t data[301];
    uint64_t r = 12345;
    for (size_t i = 0; i < sizeof(data); i++) {
        r = r * 6364136223846793005ull + 1;
        data[i] = (uint8_t)(r >> 56);
    }
    for (size_t len = 0; len <= sizeof(data); len += 7)
        CHECK_UINT_EQ(net_csum_value(net_csum_add(0, data, len)), nf_fold(nf_sum(data, len, 0)));
    CHECK_UINT_EQ(net_csum_value(net_csum_pseudo(0x0a000001, 0x0a000002, 17, 28)),
                  nf_fold(0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 28));
}

/* The word-at-a-time sum against the byte-pair oracle: every length up to
 * 80 at every alignment, with carries in the initial sum, and a 70,000-byte
 * buffer of 0xff bytes (the most carries). */
TEST(net_checksum_fast_path_equals_oracle_at_every_alignment_and_length)
{
    static uint8_t data[70008];
    uint64_t r = 99;
    for (size_t i = 0; i < 200; i++) {
        r = r * 6364136223846793005ull + 1;
        data[i] = (uint8_t)(r >> 56);
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len <= 80; len++)
            for (uint32_t init = 0; init <= 0x2fffeu; init += 0xffffu)
                CHECK_UINT_EQ(net_csum_fold(net_csum_add(init, data + off, len)),
                              net_csum_fold(nf_sum(data + off, len, init)));
    memset(data, 0xff, sizeof(data));
    CHECK_UINT_EQ(net_csum_fold(net_csum_add(0, data + 3, 70000)),
                  net_csum_fold(nf_sum(data + 3, 70000, 0)));
    CHECK_UINT_EQ(net_csum_fold(net_csum_add(0xffff, data + 1, 70001)),
                  net_csum_fold(nf_sum(data + 1, 70001, 0xffff)));
}

TEST(net_checksum_over_chains_with_odd_segments_equals_flat)
{
    uint8_t data[100];
    struct owner o[3];
    struct netbuf nb[3];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 37 + 11);
    /* Split 100 bytes as 7 + 50 + 43 (odd boundaries). */
    size_t cut[4] = {0, 7, 57, 100};
    for (int i = 0; i < 3; i++) {
        nbuf_init(&nb[i], o[i].mem, sizeof(o[i].mem), 0, cut[i + 1] - cut[i], owner_release, &o[i]);
        memcpy(nb[i].data, data + cut[i], nb[i].len);
        nb[i].next = i < 2 ? &nb[i + 1] : NULL;
    }
    uint16_t flat = net_csum_fold(net_csum_add(0, data, sizeof(data)));
    CHECK_UINT_EQ(net_csum_fold(net_csum_chain(&nb[0], 0, SIZE_MAX, 0)), flat);
    /* A window that starts and ends inside segments. */
    CHECK_UINT_EQ(net_csum_fold(net_csum_chain(&nb[0], 5, 60, 0)),
                  net_csum_fold(net_csum_add(0, data + 5, 60)));
}

TEST(net_checksum_incremental_update_matches_recompute)
{
    uint8_t msg[20] = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'a', 'b', 'c'};

    nf_put16(msg + 2, nf_fold(nf_sum(msg, sizeof(msg), 0)));
    uint16_t old = nf_get16(msg + 2);
    msg[0] = 0;
    uint16_t updated = net_csum_update16(old, 0x0800, 0x0000);
    nf_put16(msg + 2, updated);
    CHECK_UINT_EQ(net_csum_fold(net_csum_add(0, msg, sizeof(msg))), 0xffff);
}

TEST(net_netbuf_refcount_releases_once_at_zero)
{
    struct owner o = {0};
    struct netbuf nb;

    nbuf_init(&nb, o.mem, sizeof(o.mem), 32, 100, owner_release, &o);
    CHECK_UINT_EQ(nb.refs, 1);
    CHECK_PTR_EQ(nb.data, o.mem + 32);
    CHECK_UINT_EQ(nbuf_headroom(&nb), 32);
    CHECK_UINT_EQ(nbuf_tailroom(&nb), sizeof(o.mem) - 132);
    CHECK_PTR_EQ(nbuf_get(&nb), &nb);
    nbuf_put(&nb);
    CHECK_INT_EQ(o.released, 0);
    nbuf_put(&nb);
    CHECK_INT_EQ(o.released, 1);
    nbuf_put(NULL); /* allowed */
}

TEST(net_netbuf_push_pull_respect_bounds_and_sharing)
{
    struct owner o = {0};
    struct netbuf nb;

    nbuf_init(&nb, o.mem, sizeof(o.mem), 20, 10, owner_release, &o);
    CHECK(nbuf_push(&nb, 21) == NULL);
    CHECK_UINT_EQ(nb.len, 10);
    CHECK_PTR_EQ(nbuf_push(&nb, 20), o.mem);
    CHECK_UINT_EQ(nb.len, 30);
    CHECK(nbuf_pull(&nb, 31) == NULL);
    CHECK_PTR_EQ(nbuf_pull(&nb, 30), o.mem + 30);
    CHECK_UINT_EQ(nb.len, 0);
    nbuf_push(&nb, 10);
    nbuf_trim(&nb, 4);
    CHECK_UINT_EQ(nb.len, 4);
    nbuf_trim(&nb, 100);
    CHECK_UINT_EQ(nb.len, 4);
    /* Shared: no writing into the headroom. */
    nbuf_get(&nb);
    CHECK(!nbuf_writable(&nb));
    CHECK(nbuf_push(&nb, 1) == NULL);
    nbuf_put(&nb);
    CHECK(nbuf_writable(&nb));
    nb.flags |= NB_RDONLY;
    CHECK(nbuf_push(&nb, 1) == NULL);
    nbuf_put(&nb);
    CHECK_INT_EQ(o.released, 1);
}

TEST(net_netbuf_clone_shares_storage_and_keeps_it_alive)
{
    struct owner o = {0};
    struct netbuf nb;

    nbuf_init(&nb, o.mem, sizeof(o.mem), 0, 64, owner_release, &o);
    CHECK_UINT_EQ(nb.home, 0);
    nb.home = 3; /* the embedder's tag stays on the original, not on clones */
    struct netbuf *c = nbuf_clone(&nb);
    CHECK(c != NULL);
    if (c == NULL)
        return;
    CHECK_UINT_EQ(c->home, 0);
    CHECK_UINT_EQ(nb.home, 3);
    CHECK_PTR_EQ(c->data, nb.data);
    CHECK_PTR_EQ(c->buf, o.mem);
    CHECK(c->flags & NB_RDONLY);
    CHECK_UINT_EQ(nb.refs, 2);
    struct netbuf *cc = nbuf_clone(c); /* a clone of a clone refers to the root */
    CHECK_UINT_EQ(nb.refs, 3);
    nbuf_pull(cc, 10);
    CHECK_PTR_EQ(cc->data, o.mem + 10);
    nbuf_put(&nb); /* the original holder goes away */
    CHECK_INT_EQ(o.released, 0);
    nbuf_put(c);
    CHECK_INT_EQ(o.released, 0);
    nbuf_put(cc);
    CHECK_INT_EQ(o.released, 1);
    CHECK_INT_EQ(net_fault_live(), 0);
}

TEST(net_netbuf_chain_put_releases_every_segment)
{
    struct owner o[3] = {{0}};
    struct netbuf nb[3];

    for (int i = 0; i < 3; i++) {
        nbuf_init(&nb[i], o[i].mem, sizeof(o[i].mem), 0, (size_t)(10 * (i + 1)), owner_release,
                  &o[i]);
        nb[i].next = i < 2 ? &nb[i + 1] : NULL;
    }
    CHECK_UINT_EQ(nbuf_chain_len(&nb[0]), 60);
    CHECK_UINT_EQ(nbuf_chain_segments(&nb[0]), 3);
    nbuf_get(&nb[1]); /* someone else holds the middle */
    nbuf_put(&nb[0]);
    CHECK(o[0].released == 1 && o[1].released == 0 && o[2].released == 0);
    nbuf_put(&nb[1]);
    CHECK(o[1].released == 1 && o[2].released == 1);
}

TEST(net_netbuf_slice_and_copy_out_across_segments)
{
    struct owner o[2] = {{0}};
    struct netbuf nb[2];
    uint8_t out[40];

    for (int i = 0; i < 2; i++) {
        nbuf_init(&nb[i], o[i].mem, sizeof(o[i].mem), 0, 30, owner_release, &o[i]);
        for (int j = 0; j < 30; j++)
            nb[i].data[j] = (uint8_t)(i * 30 + j);
    }
    nb[0].next = &nb[1];
    struct netbuf *s = nbuf_slice(&nb[0], 25, 10);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    CHECK_UINT_EQ(nbuf_chain_segments(s), 2);
    CHECK_UINT_EQ(nbuf_chain_len(s), 10);
    CHECK_PTR_EQ(s->data, nb[0].data + 25); /* no copy: points into the original */
    CHECK_PTR_EQ(s->next->data, nb[1].data);
    CHECK_INT_EQ(nbuf_copy_out(s, 0, out, 10), 0);
    for (int j = 0; j < 10; j++)
        CHECK_UINT_EQ(out[j], 25 + j);
    CHECK_INT_EQ(nbuf_copy_out(s, 5, out, 6), -EINVAL);
    CHECK(nbuf_slice(&nb[0], 50, 11) == NULL); /* past the end */
    CHECK(nbuf_slice(&nb[0], 0, 0) == NULL);
    nbuf_put(&nb[0]);
    CHECK(o[0].released == 0 && o[1].released == 0);
    nbuf_put(s);
    CHECK(o[0].released == 1 && o[1].released == 1);
    CHECK_INT_EQ(net_fault_live(), 0);
}

static void app_done(void *cookie)
{
    (*(int *)cookie)++;
}

TEST(net_netbuf_wrap_app_memory_calls_done_once)
{
    static const char text[] = "immutable app data";
    int done = 0;
    struct netbuf *nb = nbuf_wrap(text, sizeof(text), app_done, &done);

    CHECK(nb != NULL);
    if (nb == NULL)
        return;
    CHECK_PTR_EQ(nb->data, text);
    CHECK_UINT_EQ(nb->home, 0); /* malloc'd descriptor, tag cleared */
    CHECK(nb->flags & NB_RDONLY);
    CHECK(nbuf_push(nb, 1) == NULL);
    struct netbuf *c = nbuf_clone(nb);
    nbuf_put(nb);
    CHECK_INT_EQ(done, 0);
    nbuf_put(c);
    CHECK_INT_EQ(done, 1);
    CHECK_INT_EQ(net_fault_live(), 0);
}

TEST(net_netbuf_heap_alloc_and_csum_finish)
{
    struct netbuf *nb = nbuf_alloc_heap(8, 28);

    CHECK(nb != NULL);
    if (nb == NULL)
        return;
    CHECK_UINT_EQ(nbuf_headroom(nb), 8);
    /* A UDP header + 20 bytes: the field holds the pseudo-header sum. */
    uint8_t *u = nb->data;
    memset(u, 0, 28);
    nf_put16(u, 1000);
    nf_put16(u + 2, 2000);
    nf_put16(u + 4, 28);
    memcpy(u + 8, "twenty bytes of data", 20);
    uint32_t pseudo = net_csum_pseudo(0x0a000001, 0x0a000002, 17, 28);
    nf_put16(u + 6, net_csum_fold(pseudo));
    nb->flags |= NB_CSUM_NEEDED;
    nb->csum_start = 8;
    nb->csum_offset = 6;
    CHECK_UINT_EQ(nbuf_csum_start_in_frame(nb), 0);
    nbuf_csum_finish(nb);
    CHECK(!(nb->flags & NB_CSUM_NEEDED));
    CHECK_UINT_EQ(net_csum_fold(net_csum_add(pseudo, u, 28)), 0xffff);
    nbuf_put(nb);
    CHECK(nbuf_alloc_heap(SIZE_MAX, 1) == NULL);
    CHECK_INT_EQ(net_fault_live(), 0);
}

TEST(net_netbuf_queue_is_fifo_and_purge_releases)
{
    struct owner o[3] = {{0}};
    struct netbuf nb[3];
    struct nbuf_queue q = {0};

    for (int i = 0; i < 3; i++) {
        nbuf_init(&nb[i], o[i].mem, sizeof(o[i].mem), 0, 1, owner_release, &o[i]);
        nbuf_queue_push(&q, &nb[i]);
    }
    CHECK_UINT_EQ(q.count, 3);
    CHECK_PTR_EQ(nbuf_queue_pop(&q), &nb[0]);
    nbuf_put(&nb[0]);
    nbuf_queue_purge(&q);
    CHECK(q.count == 0 && q.head == NULL && q.tail == NULL);
    CHECK(o[0].released == 1 && o[1].released == 1 && o[2].released == 1);
    CHECK(nbuf_queue_pop(&q) == NULL);
}

TEST(net_netbuf_alloc_failures_return_null)
{
    static const char text[] = "x";
    struct owner o = {0};
    struct netbuf nb;

    nbuf_init(&nb, o.mem, sizeof(o.mem), 0, 10, owner_release, &o);
    net_fault_malloc_fail(0, 1);
    CHECK(nbuf_alloc_heap(0, 10) == NULL);
    CHECK(nbuf_clone(&nb) == NULL);
    CHECK(nbuf_wrap(text, 1, NULL, NULL) == NULL);
    CHECK(nbuf_slice(&nb, 0, 5) == NULL);
    net_fault_malloc_fail(-1, 0);
    CHECK_UINT_EQ(nb.refs, 1);
    nbuf_put(&nb);
    CHECK_INT_EQ(o.released, 1);
    CHECK_INT_EQ(net_fault_live(), 0);
}
