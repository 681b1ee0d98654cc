/*
 * errno_list.h - the errno names libc/include/errno.h must define, as an
 * X-macro list. Included by libc_probe_headers.c (built against our
 * headers) and libc_test_errno.c (built against the host's), so the two
 * value tables line up entry by entry and can be compared.
 */
#ifndef ZEBU_TESTS_HOST_ERRNO_LIST_H
#define ZEBU_TESTS_HOST_ERRNO_LIST_H

#define ZT_ERRNO_LIST(X)                                                                           \
    X(EPERM)                                                                                       \
    X(ENOENT)                                                                                      \
    X(EINTR)                                                                                       \
    X(EIO)                                                                                         \
    X(ENXIO)                                                                                       \
    X(E2BIG)                                                                                       \
    X(EAGAIN)                                                                                      \
    X(EWOULDBLOCK)                                                                                 \
    X(ENOMEM)                                                                                      \
    X(EACCES)                                                                                      \
    X(EFAULT)                                                                                      \
    X(EBUSY)                                                                                       \
    X(EEXIST)                                                                                      \
    X(ENODEV)                                                                                      \
    X(EINVAL)                                                                                      \
    X(ENOSPC)                                                                                      \
    X(EPIPE)                                                                                       \
    X(EDOM)                                                                                        \
    X(ERANGE)                                                                                      \
    X(ENOSYS)                                                                                      \
    X(EPROTO)                                                                                      \
    X(EBADMSG)                                                                                     \
    X(EOVERFLOW)                                                                                   \
    X(EILSEQ)                                                                                      \
    X(ENOTSOCK)                                                                                    \
    X(EDESTADDRREQ)                                                                                \
    X(EMSGSIZE)                                                                                    \
    X(ENOTSUP)                                                                                     \
    X(EOPNOTSUPP)                                                                                  \
    X(EAFNOSUPPORT)                                                                                \
    X(EADDRINUSE)                                                                                  \
    X(ENETUNREACH)                                                                                 \
    X(ECONNABORTED)                                                                                \
    X(ECONNRESET)                                                                                  \
    X(ENOBUFS)                                                                                     \
    X(EISCONN)                                                                                     \
    X(ENOTCONN)                                                                                    \
    X(ETIMEDOUT)                                                                                   \
    X(ECONNREFUSED)                                                                                \
    X(EHOSTUNREACH)                                                                                \
    X(EALREADY)                                                                                    \
    X(EINPROGRESS)                                                                                 \
    X(ECANCELED)

struct zt_errno_entry {
    const char *name;
    int value;
};

#endif /* ZEBU_TESTS_HOST_ERRNO_LIST_H */
