/*
 * ctype.c - ASCII character classification.
 *
 * Range comparisons instead of a lookup table: they are as fast on a modern
 * CPU, need no table to keep in sync, and treat out-of-range arguments
 * (EOF, negative chars passed without a cast, values above 255) as "not in
 * the class" rather than indexing outside an array.
 */
#include <ctype.h>

int isdigit(int c)
{
    return c >= '0' && c <= '9';
}

int isxdigit(int c)
{
    return isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int isupper(int c)
{
    return c >= 'A' && c <= 'Z';
}

int islower(int c)
{
    return c >= 'a' && c <= 'z';
}

int isalpha(int c)
{
    return isupper(c) || islower(c);
}

int isalnum(int c)
{
    return isalpha(c) || isdigit(c);
}

int isspace(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r'); /* \t \n \v \f \r */
}

int isprint(int c)
{
    return c >= 0x20 && c <= 0x7e;
}

int isgraph(int c)
{
    return c > 0x20 && c <= 0x7e;
}

int ispunct(int c)
{
    return isgraph(c) && !isalnum(c);
}

int iscntrl(int c)
{
    return (c >= 0 && c < 0x20) || c == 0x7f;
}

int tolower(int c)
{
    return isupper(c) ? c - 'A' + 'a' : c;
}

int toupper(int c)
{
    return islower(c) ? c - 'a' + 'A' : c;
}
