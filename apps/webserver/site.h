/*
 * site.h - the web server's site archive: validate an image in memory, look
 * request paths up in it. Portable: no kernel headers, no mutable state.
 *
 * The archive is built by tools/mksite.py and loaded whole (a multiboot
 * module); every pointer this module returns points into that image, so file
 * bytes are sent from it by reference, never copied. Call order:
 * site_open() once on the image, then site_lookup() per request.
 *
 * Format, version 1 (docs/webserver.md has the long form). All integers are
 * little-endian; every offset counts from the start of the image.
 *
 *   header, 64 bytes
 *      0  8  magic "ZEBUSITE"
 *      8  4  version (1)
 *     12  4  count: number of files, 1..SITE_MAX_FILES
 *     16  8  image_size: bytes of the archive (the buffer may be longer)
 *     24  4  index_off: 64
 *     28  4  strings_off: index_off + 64 * count
 *     32  4  strings_len
 *     36  4  data_off: strings_off + strings_len rounded up to SITE_ALIGN
 *     40 24  reserved, zero
 *   index: count entries of 64 bytes, sorted by path (bytewise, strictly)
 *      0  4  path_off (into the strings area)
 *      4  2  path_len, 1..SITE_PATH_MAX
 *      6  2  mime_len, 1..SITE_MIME_MAX
 *      8  4  mime_off (into the strings area)
 *     12  4  reserved, zero
 *     16  8  data_off, a multiple of SITE_ALIGN, >= the header's data_off
 *     24  8  data_len
 *     32 17  etag: 16 lowercase hex digits (the first 8 bytes of the
 *            content's SHA-256) and a NUL
 *     49 15  reserved, zero
 *   strings: NUL-terminated paths ("docs/a.html": relative, '/'-separated,
 *            bytes from [A-Za-z0-9._~-/], no empty, "." or ".." segment)
 *            and MIME types (printable ASCII), each NUL-terminated
 *   data: each file at a multiple of SITE_ALIGN, zero padding between
 */
#ifndef ZEBU_APPS_WEBSERVER_SITE_H
#define ZEBU_APPS_WEBSERVER_SITE_H

#include <stddef.h>
#include <stdint.h>

#define SITE_MAGIC       "ZEBUSITE"
#define SITE_VERSION     1
#define SITE_HEADER_SIZE 64
#define SITE_ENTRY_SIZE  64
#define SITE_ALIGN       64 /* file data alignment: one cache line */
#define SITE_MAX_FILES   65536
#define SITE_PATH_MAX    255
#define SITE_MIME_MAX    127
#define SITE_ETAG_HEX    16
#define SITE_INDEX_NAME  "index.html" /* served for "/" and directory paths */

/* A validated archive. Borrows the image: it must outlive the site. */
struct site {
    const uint8_t *base;
    size_t size; /* image_size from the header */
    uint32_t count;
};

/* One file; every pointer points into the archive image. */
struct site_file {
    const char *path; /* NUL-terminated, no leading '/' */
    size_t path_len;
    const char *mime; /* NUL-terminated, e.g. "text/html; charset=utf-8" */
    const char *etag; /* SITE_ETAG_HEX lowercase hex digits, NUL-terminated */
    const uint8_t *data;
    size_t len;
};

/*
 * Check every field of the image (size bytes at image) and fill *s.
 * Returns 0; -EINVAL for a malformed image (bad magic, a field out of
 * bounds, unsorted paths, ...); -ENOTSUP for another version.
 * *s is written only on success.
 */
int site_open(struct site *s, const void *image, size_t size);

/* The i-th file in path order. Returns 0, or -ENOENT if i >= s->count. */
int site_file_at(const struct site *s, uint32_t i, struct site_file *out);

/* Exact lookup of a normalised path (no leading '/'), len bytes, binary
 * search. Returns 0 and fills *out, or -ENOENT. */
int site_find(const struct site *s, const char *path, size_t len, struct site_file *out);

/*
 * Turn a request target ("/a/./b//c%20d?x=1") into an archive path
 * ("a/b/c d"): drop the query and fragment, percent-decode, collapse empty
 * and "." segments. The target must start with '/'. The result (no leading
 * '/', NUL-terminated) goes to out (cap bytes); *is_dir is set when the path
 * names a directory (it is empty or ends with '/').
 * Returns the result's length; -EINVAL for a target that is not a path, a
 * bad or NUL %-escape, a control byte, or a ".." segment; -ENOSPC if the
 * result needs more than cap bytes (NUL included).
 */
int site_normalize(const char *target, size_t len, char *out, size_t cap, int *is_dir);

/*
 * Find the file a request target names: site_normalize, then an exact
 * match; a directory path (or a path that is not a file but P/index.html
 * is) gives P/index.html ("/" gives index.html).
 * Returns 0; -EINVAL for a bad target (answer 400); -ENOENT (answer 404).
 */
int site_lookup(const struct site *s, const char *target, size_t len, struct site_file *out);

#endif /* ZEBU_APPS_WEBSERVER_SITE_H */
