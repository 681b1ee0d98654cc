/*
 * zt_libc.h - prototypes of Zebu's libc as renamed for host tests
 * (see libc_rename.h), for test code that also includes the host's own
 * libc headers. Declared with standard types so that they match what
 * libc/include declares.
 */
#ifndef ZEBU_TESTS_HOST_ZT_LIBC_H
#define ZEBU_TESTS_HOST_ZT_LIBC_H

#include <stdarg.h>
#include <stddef.h>

/* string.h */
void *zt_memcpy(void *restrict dst, const void *restrict src, size_t n);
void *zt_memmove(void *dst, const void *src, size_t n);
void *zt_memset(void *dst, int c, size_t n);
int zt_memcmp(const void *a, const void *b, size_t n);
void *zt_memchr(const void *s, int c, size_t n);
size_t zt_strlen(const char *s);
size_t zt_strnlen(const char *s, size_t maxlen);
int zt_strcmp(const char *a, const char *b);
int zt_strncmp(const char *a, const char *b, size_t n);
int zt_strcasecmp(const char *a, const char *b);
int zt_strncasecmp(const char *a, const char *b, size_t n);
char *zt_strchr(const char *s, int c);
char *zt_strrchr(const char *s, int c);
char *zt_strstr(const char *haystack, const char *needle);
size_t zt_strspn(const char *s, const char *accept);
size_t zt_strcspn(const char *s, const char *reject);
char *zt_strcpy(char *restrict dst, const char *restrict src);
char *zt_strncpy(char *restrict dst, const char *restrict src, size_t n);
char *zt_strcat(char *restrict dst, const char *restrict src);
char *zt_strncat(char *restrict dst, const char *restrict src, size_t n);
size_t zt_strlcpy(char *restrict dst, const char *restrict src, size_t size);
size_t zt_strlcat(char *restrict dst, const char *restrict src, size_t size);
const char *zt_strerror(int errnum);

/* stdio.h; no format attributes, the tests pass odd formats on purpose */
int zt_snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...);
int zt_vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap);
int zt_printf(const char *restrict fmt, ...);
int zt_vprintf(const char *restrict fmt, va_list ap);
int zt_puts(const char *s);
int zt_putchar(int c);

/* stdlib.h */
long zt_strtol(const char *restrict nptr, char **restrict endptr, int base);
unsigned long zt_strtoul(const char *restrict nptr, char **restrict endptr, int base);
long long zt_strtoll(const char *restrict nptr, char **restrict endptr, int base);
unsigned long long zt_strtoull(const char *restrict nptr, char **restrict endptr, int base);
int zt_parse_long(const char *s, long min, long max, long *out);
int zt_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);
int zt_abs(int x);
long zt_labs(long x);

/* ctype.h */
int zt_isdigit(int c);
int zt_isxdigit(int c);
int zt_isalpha(int c);
int zt_isalnum(int c);
int zt_isspace(int c);
int zt_isupper(int c);
int zt_islower(int c);
int zt_isprint(int c);
int zt_isgraph(int c);
int zt_ispunct(int c);
int zt_iscntrl(int c);
int zt_tolower(int c);
int zt_toupper(int c);

/* errno.h: our errno, separate from the host's */
int *zt___errno_location(void);
#define ZT_ERRNO (*zt___errno_location())

/* The console hook our printf writes through; the tests implement it. */
void libc_console_write(const char *buf, size_t len);

#endif /* ZEBU_TESTS_HOST_ZT_LIBC_H */
