/*
 * errno.h - error numbers and the errno lvalue.
 *
 * The numeric values are Linux's, so they can be compared with traces from
 * other systems and with the host's libc in unit tests. Zebu functions
 * return these negated (-ENOMEM); errno itself is only set by the C library
 * functions that C specifies to do so (strtol and friends, printf on
 * overflow).
 *
 * errno expands to *__errno_location(). libc provides a weak default that
 * returns one global int; the kernel overrides it with a per-thread slot.
 */
#ifndef ZEBU_LIBC_ERRNO_H
#define ZEBU_LIBC_ERRNO_H

#define EPERM        1  /* operation not permitted */
#define ENOENT       2  /* no such file or entry */
#define EINTR        4  /* interrupted */
#define EIO          5  /* I/O error */
#define ENXIO        6  /* no such device or address */
#define E2BIG        7  /* argument list too long */
#define EAGAIN       11 /* try again */
#define EWOULDBLOCK  EAGAIN
#define ENOMEM       12 /* out of memory */
#define EACCES       13 /* permission denied */
#define EFAULT       14 /* bad address */
#define EBUSY        16 /* device or resource busy */
#define EEXIST       17 /* already exists */
#define ENODEV       19 /* no such device */
#define EINVAL       22 /* invalid argument */
#define ENOSPC       28 /* no space left */
#define EPIPE        32 /* broken pipe */
#define EDOM         33 /* argument out of domain (C standard) */
#define ERANGE       34 /* result out of range */
#define ENOSYS       38 /* not implemented */
#define EPROTO       71 /* protocol error */
#define EBADMSG      74 /* bad message */
#define EOVERFLOW    75 /* value too large for its type */
#define EILSEQ       84 /* illegal byte sequence (C standard) */
#define ENOTSOCK     88 /* not a socket */
#define EDESTADDRREQ 89 /* destination address required */
#define EMSGSIZE     90 /* message too long */
#define ENOTSUP      95 /* operation not supported */
#define EOPNOTSUPP   ENOTSUP
#define EAFNOSUPPORT 97  /* address family not supported */
#define EADDRINUSE   98  /* address already in use */
#define ENETUNREACH  101 /* network unreachable */
#define ECONNABORTED 103 /* connection aborted */
#define ECONNRESET   104 /* connection reset by peer */
#define ENOBUFS      105 /* no buffer space available */
#define EISCONN      106 /* already connected */
#define ENOTCONN     107 /* not connected */
#define ETIMEDOUT    110 /* timed out */
#define ECONNREFUSED 111 /* connection refused */
#define EHOSTUNREACH 113 /* no route to host */
#define EALREADY     114 /* operation already in progress */
#define EINPROGRESS  115 /* operation now in progress */
#define ECANCELED    125 /* operation canceled */

/* Address of the calling thread's errno. Never NULL. */
int *__errno_location(void);
#define errno (*__errno_location())

#endif /* ZEBU_LIBC_ERRNO_H */
