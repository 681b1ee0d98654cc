/*
 * libc_rename.h - gives every function Zebu's libc defines a zt_ prefix.
 *
 * Host tests link our libc into a normal program next to glibc, to compare
 * the two. Both define memcpy, snprintf, ..., so the libc sources are
 * compiled with "-include tests/host/libc_rename.h": the definitions (and
 * libc's internal calls) become zt_memcpy and so on, and the tests call
 * those through zt_libc.h. Keep this list complete: a missing name makes
 * the test silently exercise glibc's function instead of ours, or clash.
 * libc_console_write is not renamed: the tests implement that hook.
 */
#ifndef ZEBU_TESTS_HOST_LIBC_RENAME_H
#define ZEBU_TESTS_HOST_LIBC_RENAME_H

/* string.h */
#define memcpy      zt_memcpy
#define memmove     zt_memmove
#define memset      zt_memset
#define memcmp      zt_memcmp
#define memchr      zt_memchr
#define strlen      zt_strlen
#define strnlen     zt_strnlen
#define strcmp      zt_strcmp
#define strncmp     zt_strncmp
#define strcasecmp  zt_strcasecmp
#define strncasecmp zt_strncasecmp
#define strchr      zt_strchr
#define strrchr     zt_strrchr
#define strstr      zt_strstr
#define strspn      zt_strspn
#define strcspn     zt_strcspn
#define strcpy      zt_strcpy
#define strncpy     zt_strncpy
#define strcat      zt_strcat
#define strncat     zt_strncat
#define strlcpy     zt_strlcpy
#define strlcat     zt_strlcat
#define strerror    zt_strerror

/* stdio.h */
#define snprintf  zt_snprintf
#define vsnprintf zt_vsnprintf
#define printf    zt_printf
#define vprintf   zt_vprintf
#define puts      zt_puts
#define putchar   zt_putchar

/* stdlib.h */
#define strtol      zt_strtol
#define strtoul     zt_strtoul
#define strtoll     zt_strtoll
#define strtoull    zt_strtoull
#define parse_long  zt_parse_long
#define parse_ulong zt_parse_ulong
#define abs         zt_abs
#define labs        zt_labs

/* ctype.h */
#define isdigit  zt_isdigit
#define isxdigit zt_isxdigit
#define isalpha  zt_isalpha
#define isalnum  zt_isalnum
#define isspace  zt_isspace
#define isupper  zt_isupper
#define islower  zt_islower
#define isprint  zt_isprint
#define isgraph  zt_isgraph
#define ispunct  zt_ispunct
#define iscntrl  zt_iscntrl
#define tolower  zt_tolower
#define toupper  zt_toupper

/* errno.h */
#define __errno_location zt___errno_location

/* libc_internal.h: not public, but global symbols all the same. */
#define libc_format      zt_libc_format
#define libc_digit_value zt_libc_digit_value
#define libc_scan_digits zt_libc_scan_digits
#define libc_dec_from_double zt_libc_dec_from_double
#define libc_dec_round       zt_libc_dec_round
#define libc_va_double_bits  zt_libc_va_double_bits

#endif /* ZEBU_TESTS_HOST_LIBC_RENAME_H */
