/*
 * strerror.c - names of errno values.
 *
 * Returns the symbolic name ("ECONNRESET") rather than a sentence: kernel
 * log lines stay short, and the name is what one greps the source for.
 */
#include <string.h>
#include <errno.h>

/* Aliases (EWOULDBLOCK, EOPNOTSUPP) share a number and so report the
 * primary name. */
static const char *const errno_names[] = {
    [EPERM] = "EPERM",
    [ENOENT] = "ENOENT",
    [EINTR] = "EINTR",
    [EIO] = "EIO",
    [ENXIO] = "ENXIO",
    [E2BIG] = "E2BIG",
    [EAGAIN] = "EAGAIN",
    [ENOMEM] = "ENOMEM",
    [EACCES] = "EACCES",
    [EFAULT] = "EFAULT",
    [EBUSY] = "EBUSY",
    [EEXIST] = "EEXIST",
    [ENODEV] = "ENODEV",
    [EINVAL] = "EINVAL",
    [ENOSPC] = "ENOSPC",
    [EPIPE] = "EPIPE",
    [EDOM] = "EDOM",
    [ERANGE] = "ERANGE",
    [ENOSYS] = "ENOSYS",
    [EPROTO] = "EPROTO",
    [EBADMSG] = "EBADMSG",
    [EOVERFLOW] = "EOVERFLOW",
    [EILSEQ] = "EILSEQ",
    [ENOTSOCK] = "ENOTSOCK",
    [EDESTADDRREQ] = "EDESTADDRREQ",
    [EMSGSIZE] = "EMSGSIZE",
    [ENOTSUP] = "ENOTSUP",
    [EAFNOSUPPORT] = "EAFNOSUPPORT",
    [EADDRINUSE] = "EADDRINUSE",
    [ENETUNREACH] = "ENETUNREACH",
    [ECONNABORTED] = "ECONNABORTED",
    [ECONNRESET] = "ECONNRESET",
    [ENOBUFS] = "ENOBUFS",
    [EISCONN] = "EISCONN",
    [ENOTCONN] = "ENOTCONN",
    [ETIMEDOUT] = "ETIMEDOUT",
    [ECONNREFUSED] = "ECONNREFUSED",
    [EHOSTUNREACH] = "EHOSTUNREACH",
    [EALREADY] = "EALREADY",
    [EINPROGRESS] = "EINPROGRESS",
    [ECANCELED] = "ECANCELED",
};

const char *strerror(int errnum)
{
    /* Kernel code holds errors negated; accept both signs. Compare in
     * unsigned so that -INT_MIN is never computed. */
    unsigned int n = errnum < 0 ? 0u - (unsigned int)errnum : (unsigned int)errnum;

    if (n == 0)
        return "success";
    if (n < sizeof(errno_names) / sizeof(errno_names[0]) && errno_names[n] != NULL)
        return errno_names[n];
    return "unknown error";
}
