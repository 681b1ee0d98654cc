/*
 * printf.c - the formatting engine, and snprintf/vsnprintf on top of it.
 *
 * There is one formatter, libc_format(). It never buffers output itself:
 * it passes each piece (literal text, padding, digits) to a sink callback.
 * vsnprintf's sink copies into the caller's bounded buffer and counts what
 * did not fit; vprintf's sink (stdio.c) batches pieces into a small stack
 * buffer for the console. Adding a destination means adding a sink, not a
 * second formatter.
 *
 * Output matches glibc byte for byte for every supported conversion, flag,
 * width, precision and length combination; the host tests check that.
 * Doubles come in through libc_va_double_bits() (printf_sse.c, the one
 * file built with SSE) as their bits; printf_dec.c turns them into exact
 * decimal digits with integer arithmetic.
 * Processing order for one conversion:
 *   '%' flags width(.precision) length conversion
 * and anything that does not parse as a supported conversion is copied out
 * literally (see stdio.h).
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>

#include "libc_internal.h"

/* The length modifiers are read as 64-bit where size_t/ptrdiff_t/intmax_t
 * are named; check that assumption rather than trust it. */
_Static_assert(sizeof(size_t) == sizeof(long), "z assumes LP64");
_Static_assert(sizeof(ptrdiff_t) == sizeof(long), "t assumes LP64");
_Static_assert(sizeof(intmax_t) == sizeof(long long), "j assumes intmax_t == long long");

enum {
    FLAG_LEFT = 1 << 0,  /* '-' pad on the right */
    FLAG_ZERO = 1 << 1,  /* '0' pad numbers with zeros */
    FLAG_PLUS = 1 << 2,  /* '+' always print a sign */
    FLAG_SPACE = 1 << 3, /* ' ' space where a '+' would go */
    FLAG_ALT = 1 << 4,   /* '#' 0x prefix, leading octal 0 */
};

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

/* One parsed conversion specification. */
struct spec {
    unsigned flags;
    size_t width;  /* 0 when absent */
    int precision; /* -1 when absent */
    enum length length;
    char conv;
};

/* Output state: where bytes go and how many there were. */
struct out {
    libc_sink_fn sink;
    void *ctx;
    size_t total;
};

static void emit(struct out *o, const char *bytes, size_t len)
{
    if (len > 0) {
        o->sink(o->ctx, bytes, len);
        o->total += len;
    }
}

#define PAD_RUN 64

/* Runs of pad characters come from these, so padding to a huge width costs
 * one sink call per 64 bytes and no stack buffer. */
static const char spaces[PAD_RUN + 1] =
    "                                                                ";
static const char zeros[PAD_RUN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* Emits count bytes of run (spaces or zeros). */
static void emit_repeat(struct out *o, const char *run, size_t count)
{
    while (count > 0) {
        size_t n = count < PAD_RUN ? count : PAD_RUN;
        emit(o, run, n);
        count -= n;
    }
}

/* Prints len bytes of s, padded with spaces to the field width on the side '-' picks. */
static void emit_padded(struct out *o, const struct spec *sp, const char *s, size_t len)
{
    size_t pad = sp->width > len ? sp->width - len : 0;

    if (!(sp->flags & FLAG_LEFT))
        emit_repeat(o, spaces, pad);
    emit(o, s, len);
    if (sp->flags & FLAG_LEFT)
        emit_repeat(o, spaces, pad);
}

/*
 * Prints one integer given as magnitude and sign. Layout, left to right:
 *   [spaces] [sign] [0x] [zeros] digits [spaces]
 * Zeros come from the precision (minimum digit count), from '#' for octal,
 * or from the '0' flag filling the width (only when there is no precision).
 */
static void format_integer(struct out *o, const struct spec *sp, unsigned long long magnitude,
                           bool negative)
{
    const char *alphabet = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    unsigned base = 10;
    char digits[24]; /* 2^64 in octal is 22 digits */
    char *end = digits + sizeof(digits);
    char *p = end;
    char prefix[3];
    size_t prefix_len = 0;

    if (sp->conv == 'o')
        base = 8;
    else if (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'p')
        base = 16;

    /* C: zero with precision 0 has no digits at all. */
    if (magnitude != 0 || sp->precision != 0) {
        unsigned long long v = magnitude;
        do {
            *--p = alphabet[v % base];
            v /= base;
        } while (v != 0);
    }
    size_t ndigits = (size_t)(end - p);
    size_t nzeros =
        sp->precision > 0 && (size_t)sp->precision > ndigits ? (size_t)sp->precision - ndigits : 0;

    /* '#' with o: the first digit printed must be 0. */
    if ((sp->flags & FLAG_ALT) && base == 8 && nzeros == 0 && (ndigits == 0 || *p != '0'))
        nzeros = 1;

    if (negative)
        prefix[prefix_len++] = '-';
    else if (sp->flags & FLAG_PLUS)
        prefix[prefix_len++] = '+';
    else if (sp->flags & FLAG_SPACE)
        prefix[prefix_len++] = ' ';
    if ((sp->flags & FLAG_ALT) && base == 16 && magnitude != 0) {
        prefix[prefix_len++] = '0';
        prefix[prefix_len++] = sp->conv == 'X' ? 'X' : 'x';
    }

    size_t body = prefix_len + nzeros + ndigits;
    size_t pad = sp->width > body ? sp->width - body : 0;
    /* '0' is ignored with '-' or with a precision. */
    if ((sp->flags & (FLAG_ZERO | FLAG_LEFT)) == FLAG_ZERO && sp->precision < 0) {
        nzeros += pad;
        pad = 0;
    }

    if (!(sp->flags & FLAG_LEFT))
        emit_repeat(o, spaces, pad);
    emit(o, prefix, prefix_len);
    emit_repeat(o, zeros, nzeros);
    emit(o, p, ndigits);
    if (sp->flags & FLAG_LEFT)
        emit_repeat(o, spaces, pad);
}

/* ---- floating point: %f %F %e %E %g %G ---- */

/* The sign character a number gets: '-', or '+' / ' ' by flag, or none. */
static size_t sign_prefix(const struct spec *sp, bool negative, char *out)
{
    if (negative)
        *out = '-';
    else if (sp->flags & FLAG_PLUS)
        *out = '+';
    else if (sp->flags & FLAG_SPACE)
        *out = ' ';
    else
        return 0;
    return 1;
}

/* Starts a number of body_len bytes after its sign, padded to the width:
 * spaces on the left, or zeros after the sign ('0', where zero_ok, and no
 * '-'); emits those and the sign. Spaces due on the right ('-') are left in
 * *right_pad for the caller to emit last. */
static void float_lead(struct out *o, const struct spec *sp, const char *sign, size_t sign_len,
                       size_t body_len, bool zero_ok, size_t *right_pad)
{
    size_t total = sign_len + body_len;
    size_t pad = sp->width > total ? sp->width - total : 0;
    size_t nzeros = 0;

    *right_pad = 0;
    if (sp->flags & FLAG_LEFT)
        *right_pad = pad;
    else if ((sp->flags & FLAG_ZERO) && zero_ok)
        nzeros = pad;
    else
        emit_repeat(o, spaces, pad);
    emit(o, sign, sign_len);
    emit_repeat(o, zeros, nzeros);
}

/* inf and nan: never zero-padded (glibc pads them with spaces). */
static void format_nonfinite(struct out *o, const struct spec *sp, bool negative, bool nan,
                             bool upper)
{
    char sign = 0;
    size_t sign_len = sign_prefix(sp, negative, &sign), right;
    const char *text = nan ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");

    float_lead(o, sp, &sign, sign_len, 3, false, &right);
    emit(o, text, 3);
    emit_repeat(o, spaces, right);
}

/* x in the style of %f with prec digits after the point. */
static void format_fixed(struct out *o, const struct spec *sp, char sign, size_t sign_len,
                         const struct libc_dec *x, int prec)
{
    /* Digits before the point: x's first `point` digits, then zeros; a
     * value below 1 has a single 0. */
    size_t int_digits = x->n == 0 || x->point <= 0 ? 0 : (size_t)x->point;
    size_t int_len = int_digits == 0 ? 1 : int_digits;
    bool dot = prec > 0 || (sp->flags & FLAG_ALT);
    size_t right;

    float_lead(o, sp, &sign, sign_len, int_len + dot + (size_t)prec, true, &right);
    if (int_digits == 0) {
        emit(o, "0", 1);
    } else {
        size_t from_x = int_digits < (size_t)x->n ? int_digits : (size_t)x->n;
        emit(o, x->d, from_x);
        emit_repeat(o, zeros, int_digits - from_x);
    }
    if (dot)
        emit(o, ".", 1);
    /* After the point: zeros up to x's first digit, x's digits, zeros. */
    size_t left = (size_t)prec;
    size_t lead = x->n == 0 || x->point >= 0 ? 0 : (size_t)-x->point;
    lead = lead < left ? lead : left;
    emit_repeat(o, zeros, lead);
    left -= lead;
    if (x->n > 0 && x->n > x->point) {
        size_t start = x->point > 0 ? (size_t)x->point : 0;
        size_t avail = (size_t)x->n - start;
        size_t n = avail < left ? avail : left;
        emit(o, x->d + start, n);
        left -= n;
    }
    emit_repeat(o, zeros, left);
    emit_repeat(o, spaces, right);
}

/* x in the style of %e with prec digits after the point. */
static void format_exponent(struct out *o, const struct spec *sp, char sign, size_t sign_len,
                            const struct libc_dec *x, int prec, bool upper)
{
    int exp10 = x->n == 0 ? 0 : x->point - 1;
    char tail[8]; /* e+308 at most */
    size_t tail_len = 0;
    unsigned mag = exp10 < 0 ? (unsigned)-exp10 : (unsigned)exp10;
    char digits[4];
    int nd = 0;

    tail[tail_len++] = upper ? 'E' : 'e';
    tail[tail_len++] = exp10 < 0 ? '-' : '+';
    do { /* at least two exponent digits */
        digits[nd++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag != 0 || nd < 2);
    while (nd > 0)
        tail[tail_len++] = digits[--nd];

    bool dot = prec > 0 || (sp->flags & FLAG_ALT);
    size_t right;
    float_lead(o, sp, &sign, sign_len, 1 + dot + (size_t)prec + tail_len, true, &right);
    emit(o, x->n == 0 ? "0" : x->d, 1);
    if (dot)
        emit(o, ".", 1);
    size_t after = x->n > 1 ? (size_t)x->n - 1 : 0;
    after = after < (size_t)prec ? after : (size_t)prec;
    emit(o, x->d + 1, after);
    emit_repeat(o, zeros, (size_t)prec - after);
    emit(o, tail, tail_len);
    emit_repeat(o, spaces, right);
}

/*
 * One double, given as its IEEE bits. The digits are exact and correctly
 * rounded (printf_dec.c); this lays them out as C says:
 *   %f: [-]ddd.ddd, precision digits after the point (default 6);
 *   %e: [-]d.ddde+dd, precision digits after the point;
 *   %g: P significant digits (precision, 0 taken as 1); with X the
 *       exponent %e would print, %f style if P > X >= -4, else %e style,
 *       trailing zeros (and a bare point) removed unless '#'.
 */
static void format_double(struct out *o, const struct spec *sp, uint64_t bits)
{
    bool negative = bits >> 63;
    bool upper = sp->conv == 'F' || sp->conv == 'E' || sp->conv == 'G';
    char conv = (char)(sp->conv | 0x20); /* f e g */

    if (((bits >> 52) & 0x7FF) == 0x7FF) {
        format_nonfinite(o, sp, negative, (bits & ((1ull << 52) - 1)) != 0, upper);
        return;
    }
    char sign = 0;
    size_t sign_len = sign_prefix(sp, negative, &sign);
    int prec = sp->precision < 0 ? 6 : sp->precision;
    struct libc_dec x;
    libc_dec_from_double(bits, &x);

    if (conv == 'f') {
        libc_dec_round(&x, x.point > LIBC_INT_MAX - prec ? LIBC_INT_MAX : x.point + prec);
        format_fixed(o, sp, sign, sign_len, &x, prec);
        return;
    }
    if (conv == 'e') {
        libc_dec_round(&x, prec == LIBC_INT_MAX ? prec : prec + 1);
        format_exponent(o, sp, sign, sign_len, &x, prec, upper);
        return;
    }
    int p = prec == 0 ? 1 : prec;
    libc_dec_round(&x, p);
    int exp10 = x.n == 0 ? 0 : x.point - 1;
    bool alt = sp->flags & FLAG_ALT;
    if (p > exp10 && exp10 >= -4) {
        int fprec = p - 1 - exp10;
        if (!alt) /* the significant digits after the point, no more */
            fprec = x.n > x.point ? x.n - x.point : 0;
        format_fixed(o, sp, sign, sign_len, &x, fprec);
    } else {
        int eprec = p - 1;
        if (!alt)
            eprec = x.n > 1 ? x.n - 1 : 0;
        format_exponent(o, sp, sign, sign_len, &x, eprec, upper);
    }
}

static long long fetch_signed(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_HH:
        return (signed char)va_arg(*ap, int);
    case LEN_H:
        return (short)va_arg(*ap, int);
    case LEN_L:
    case LEN_Z: /* the signed type of size_t's width (ssize_t) */
    case LEN_T:
        return va_arg(*ap, long);
    case LEN_LL:
    case LEN_J:
        return va_arg(*ap, long long);
    case LEN_NONE:
        break;
    }
    return va_arg(*ap, int);
}

static unsigned long long fetch_unsigned(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_HH:
        return (unsigned char)va_arg(*ap, unsigned int);
    case LEN_H:
        return (unsigned short)va_arg(*ap, unsigned int);
    case LEN_L:
    case LEN_Z:
    case LEN_T: /* the unsigned type of ptrdiff_t's width */
        return va_arg(*ap, unsigned long);
    case LEN_LL:
    case LEN_J:
        return va_arg(*ap, unsigned long long);
    case LEN_NONE:
        break;
    }
    return va_arg(*ap, unsigned int);
}

static void format_string(struct out *o, const struct spec *sp, const char *s)
{
    if (s == NULL) {
        /* glibc prints "(null)" only if the precision leaves room for all of
         * it, else nothing: a partial "(nu" would look like real data. */
        s = sp->precision < 0 || sp->precision >= 6 ? "(null)" : "";
    }
    /* With a precision, s need not be NUL-terminated: read no further. */
    size_t len = sp->precision >= 0 ? strnlen(s, (size_t)sp->precision) : strlen(s);
    emit_padded(o, sp, s, len);
}

static void format_pointer(struct out *o, struct spec *sp, const void *ptr)
{
    if (ptr == NULL) {
        emit_padded(o, sp, "(nil)", 5); /* flags other than '-' do not apply */
        return;
    }
    /* Like glibc: %#lx, where '+', ' ', '0' and precision still apply. */
    sp->flags |= FLAG_ALT;
    format_integer(o, sp, (uintptr_t)ptr, false);
}

/*
 * Reads a decimal field width or precision, saturating instead of
 * overflowing; a saturated value makes the total exceed INT_MAX, which is
 * then reported as EOVERFLOW.
 */
static int parse_count(const char **fmt)
{
    int n = 0;

    while (**fmt >= '0' && **fmt <= '9') {
        int d = **fmt - '0';
        n = n > (LIBC_INT_MAX - d) / 10 ? LIBC_INT_MAX : n * 10 + d;
        (*fmt)++;
    }
    return n;
}

/*
 * Parses flags, width, precision and length at *fmt (just past the '%'),
 * taking '*' values from ap. Leaves *fmt at the conversion character.
 */
static void parse_spec(const char **fmt, va_list *ap, struct spec *sp)
{
    const char *f = *fmt;

    sp->flags = 0;
    for (;; f++) {
        if (*f == '-')
            sp->flags |= FLAG_LEFT;
        else if (*f == '0')
            sp->flags |= FLAG_ZERO;
        else if (*f == '+')
            sp->flags |= FLAG_PLUS;
        else if (*f == ' ')
            sp->flags |= FLAG_SPACE;
        else if (*f == '#')
            sp->flags |= FLAG_ALT;
        else
            break;
    }

    sp->width = 0;
    if (*f == '*') {
        /* C: a negative '*' width is a '-' flag plus a positive width. */
        int w = va_arg(*ap, int);
        if (w < 0) {
            sp->flags |= FLAG_LEFT;
            sp->width = 0u - (unsigned)w;
        } else {
            sp->width = (size_t)w;
        }
        f++;
    } else {
        sp->width = (size_t)parse_count(&f);
    }

    sp->precision = -1;
    if (*f == '.') {
        f++;
        if (*f == '*') {
            int p = va_arg(*ap, int);
            sp->precision = p < 0 ? -1 : p; /* negative: as if omitted */
            f++;
        } else {
            sp->precision = parse_count(&f); /* "." alone means 0 */
        }
    }

    sp->length = LEN_NONE;
    switch (*f) {
    case 'h':
        sp->length = f[1] == 'h' ? LEN_HH : LEN_H;
        f += f[1] == 'h' ? 2 : 1;
        break;
    case 'l':
        sp->length = f[1] == 'l' ? LEN_LL : LEN_L;
        f += f[1] == 'l' ? 2 : 1;
        break;
    case 'z':
        sp->length = LEN_Z;
        f++;
        break;
    case 't':
        sp->length = LEN_T;
        f++;
        break;
    case 'j':
        sp->length = LEN_J;
        f++;
        break;
    }
    sp->conv = *f;
    *fmt = f;
}

/*
 * Formats one conversion whose spec has been parsed. Returns false if the
 * conversion is not supported, in which case nothing was printed and the
 * caller copies the specification text literally.
 */
static bool format_one(struct out *o, struct spec *sp, va_list *ap)
{
    switch (sp->conv) {
    case 'd':
    case 'i': {
        long long v = fetch_signed(ap, sp->length);
        /* Magnitude in unsigned arithmetic so LLONG_MIN does not overflow. */
        unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
        format_integer(o, sp, mag, v < 0);
        return true;
    }
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        sp->flags &= ~(unsigned)(FLAG_PLUS | FLAG_SPACE); /* signs are for signed types */
        format_integer(o, sp, fetch_unsigned(ap, sp->length), false);
        return true;
    case 'c': {
        if (sp->length == LEN_L)
            return false; /* wide characters are not supported */
        char c = (char)(unsigned char)va_arg(*ap, int);
        emit_padded(o, sp, &c, 1);
        return true;
    }
    case 's':
        if (sp->length == LEN_L)
            return false;
        format_string(o, sp, va_arg(*ap, const char *));
        return true;
    case 'p':
        format_pointer(o, sp, va_arg(*ap, const void *));
        return true;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
        /* double, or l (which C99 allows and ignores); L and ll would be
         * long double, which is not supported. */
        if (sp->length != LEN_NONE && sp->length != LEN_L)
            return false;
        format_double(o, sp, libc_va_double_bits(ap));
        return true;
    case '%':
        emit(o, "%", 1); /* C: the whole spec must be "%%"; ignore the rest */
        return true;
    default:
        return false;
    }
}

int libc_format(libc_sink_fn sink, void *ctx, const char *fmt, va_list ap)
{
    struct out o = {sink, ctx, 0};
    va_list args;

    /* A va_list parameter may be an array type, whose address is not a
     * va_list *; a local copy gives the helpers a pointer they can share. */
    va_copy(args, ap);
    while (*fmt != '\0') {
        if (*fmt != '%') {
            const char *text = fmt;
            while (*fmt != '\0' && *fmt != '%')
                fmt++;
            emit(&o, text, (size_t)(fmt - text));
            continue;
        }

        const char *start = fmt++;
        struct spec sp;
        parse_spec(&fmt, &args, &sp);
        if (sp.conv == '\0') {
            emit(&o, start, (size_t)(fmt - start)); /* spec cut off by the end */
            break;
        }
        fmt++; /* past the conversion character */
        if (!format_one(&o, &sp, &args))
            emit(&o, start, (size_t)(fmt - start));
    }
    va_end(args);

    if (o.total > (size_t)LIBC_INT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    return (int)o.total;
}

/* vsnprintf's sink: fill the buffer while room remains, count the rest. */
struct buffer_sink {
    char *buf;
    size_t room; /* bytes still writable, reserving one for the NUL */
};

static void buffer_write(void *ctx, const char *bytes, size_t len)
{
    struct buffer_sink *b = ctx;
    size_t n = len < b->room ? len : b->room;

    memcpy(b->buf, bytes, n);
    b->buf += n;
    b->room -= n;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
    struct buffer_sink b = {buf, size > 0 ? size - 1 : 0};
    int ret = libc_format(buffer_write, &b, fmt, ap);

    if (size > 0)
        *b.buf = '\0';
    return ret;
}

/* snprintf is in printf_sse.c with printf (variadic entries built with SSE). */
