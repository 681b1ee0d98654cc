/*
 * string.h - byte-array and NUL-terminated string functions.
 *
 * Part of Zebu's freestanding libc. Semantics follow C11, plus the BSD
 * strlcpy/strlcat and POSIX strnlen/strcasecmp/strncasecmp. There is no
 * locale: case-insensitive comparison folds ASCII letters only. Functions
 * that would need an allocator (strdup) are deliberately absent.
 */
#ifndef ZEBU_LIBC_STRING_H
#define ZEBU_LIBC_STRING_H

#include <stddef.h>

/* Memory blocks. With n == 0 none of these dereferences its pointers. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n); /* regions may overlap */
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n); /* compares as unsigned char */
void *memchr(const void *s, int c, size_t n);

/*
 * Everything here is built -ffreestanding, which stops the compiler from
 * treating these as the well-known functions: a 4-byte memcpy (the usual
 * way to load an unaligned word, as net/checksum.c does per word) became a
 * call and a byte loop. Through the builtins, a copy, fill or compare of a
 * size known at compile time is inlined as loads and stores; any other
 * still calls the functions above. Not in the libc's own sources (they
 * define these functions) nor where a test has renamed them.
 */
#if !defined(ZEBU_LIBC_STRING_IMPL) && !defined(memcpy)
#define memcpy(dst, src, n)  __builtin_memcpy((dst), (src), (n))
#define memmove(dst, src, n) __builtin_memmove((dst), (src), (n))
#define memset(dst, c, n)    __builtin_memset((dst), (c), (n))
#define memcmp(a, b, n)      __builtin_memcmp((a), (b), (n))
#endif

/* Lengths and comparisons. */
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t maxlen); /* reads at most maxlen bytes */
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int strcasecmp(const char *a, const char *b);            /* ASCII case folding */
int strncasecmp(const char *a, const char *b, size_t n); /* ASCII case folding */

/* Searching. strchr/strrchr find the terminating NUL when c == 0. */
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *haystack, const char *needle); /* "" matches at haystack */
size_t strspn(const char *s, const char *accept);
size_t strcspn(const char *s, const char *reject);

/* Copying. strcpy/strcat do no bounds checking; prefer strlcpy/strlcat. */
char *strcpy(char *restrict dst, const char *restrict src);
char *strncpy(char *restrict dst, const char *restrict src, size_t n); /* NUL-pads */
char *strcat(char *restrict dst, const char *restrict src);
char *strncat(char *restrict dst, const char *restrict src, size_t n);

/*
 * BSD bounded copies. dst is always NUL-terminated when size > 0. The return
 * value is the length of the string they tried to create (strlen(src), or
 * for strlcat the initial length of dst plus strlen(src)), so
 * "ret >= size" means the result was truncated.
 */
size_t strlcpy(char *restrict dst, const char *restrict src, size_t size);
size_t strlcat(char *restrict dst, const char *restrict src, size_t size);

/*
 * Short symbolic name of an errno value ("ENOENT"), for log lines. Accepts
 * both errnum and -errnum, since the kernel returns negated errno values.
 * Unknown values give "unknown error". The string is static; never NULL.
 */
const char *strerror(int errnum);

#endif /* ZEBU_LIBC_STRING_H */
