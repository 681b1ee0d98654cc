/*
 * ctype.h - character classification for ASCII.
 *
 * Zebu has no locales: every function behaves as glibc's in the "C" locale.
 * The argument is an int holding an unsigned char value or EOF; any other
 * value (EOF, negative, above 255) is classified as "no" rather than being
 * undefined behaviour, and bytes 128..255 belong to no class.
 * tolower/toupper return their argument unchanged unless it is an ASCII
 * letter of the other case.
 */
#ifndef ZEBU_LIBC_CTYPE_H
#define ZEBU_LIBC_CTYPE_H

int isdigit(int c);
int isxdigit(int c);
int isalpha(int c);
int isalnum(int c);
int isspace(int c); /* ' ', \t, \n, \v, \f, \r */
int isupper(int c);
int islower(int c);
int isprint(int c); /* 0x20..0x7e */
int isgraph(int c); /* 0x21..0x7e */
int ispunct(int c); /* isgraph and not isalnum */
int iscntrl(int c); /* 0x00..0x1f and 0x7f */
int tolower(int c);
int toupper(int c);

#endif /* ZEBU_LIBC_CTYPE_H */
