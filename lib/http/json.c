/*
 * json.c - a bounded JSON writer and a strict tokenizing reader (RFC
 * 8259). Neither allocates: the writer fills the caller's buffer, the
 * reader the caller's token array. Text is UTF-8 (RFC 8259 8.1) both ways.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <zebu_http.h>

/* --- UTF-8 --------------------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at s[0, n) (RFC 3629 4: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* --- writer -------------------------------------------------------------- */

void zebu_json_writer_init(struct zebu_json_writer *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    if (cap > 0)
        buf[0] = 0;
}

static void fail(struct zebu_json_writer *w, int err)
{
    if (w->err == 0)
        w->err = err;
}

static void raw(struct zebu_json_writer *w, const char *s, size_t n)
{
    if (w->err != 0)
        return;
    if (n > w->cap - w->len) {
        fail(w, -ENOSPC);
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static bool level_is_object(const struct zebu_json_writer *w)
{
    return w->depth > 0 && (w->in_object >> (w->depth - 1) & 1);
}

/* Before any value: the separator, and whether a value may go here. */
static bool value_begin(struct zebu_json_writer *w)
{
    if (w->err != 0)
        return false;
    if (w->done || (level_is_object(w) && !w->want_value)) {
        fail(w, -EINVAL); /* a second top-level value, or a value where a key is due */
        return false;
    }
    if (w->depth > 0 && !level_is_object(w)) {
        uint32_t bit = 1u << (w->depth - 1);
        if (w->has_items & bit)
            raw(w, ",", 1);
        w->has_items |= bit;
    }
    w->want_value = false;
    return w->err == 0;
}

static void value_end(struct zebu_json_writer *w)
{
    if (w->depth == 0)
        w->done = true;
}

static void container_open(struct zebu_json_writer *w, bool object)
{
    if (!value_begin(w))
        return;
    if (w->depth == ZEBU_JSON_DEPTH_MAX) {
        fail(w, -E2BIG);
        return;
    }
    uint32_t bit = 1u << w->depth;
    w->depth++;
    w->has_items &= ~bit;
    w->in_object = object ? w->in_object | bit : w->in_object & ~bit;
    raw(w, object ? "{" : "[", 1);
}

static void container_close(struct zebu_json_writer *w, bool object)
{
    if (w->err != 0)
        return;
    if (w->depth == 0 || level_is_object(w) != object || w->want_value) {
        fail(w, -EINVAL);
        return;
    }
    raw(w, object ? "}" : "]", 1);
    w->depth--;
    value_end(w);
}

void zebu_json_object_begin(struct zebu_json_writer *w)
{
    container_open(w, true);
}

void zebu_json_object_end(struct zebu_json_writer *w)
{
    container_close(w, true);
}

void zebu_json_array_begin(struct zebu_json_writer *w)
{
    container_open(w, false);
}

void zebu_json_array_end(struct zebu_json_writer *w)
{
    container_close(w, false);
}

/* RFC 8259 7: quote, reverse solidus and the controls are escaped. */
static void quoted(struct zebu_json_writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* bytes copied as they are, pending */

    raw(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        char esc[6] = {'\\', 0};
        size_t elen = 2;
        if (c >= 0x80) {
            size_t l = utf8_seq(u + i, n - i);
            if (l == 0) {
                fail(w, -EINVAL);
                return;
            }
            i += l;
            run += l;
            continue;
        }
        if (c == '"' || c == '\\')
            esc[1] = (char)c;
        else if (c == '\n')
            esc[1] = 'n';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c == '\t')
            esc[1] = 't';
        else if (c == '\b')
            esc[1] = 'b';
        else if (c == '\f')
            esc[1] = 'f';
        else if (c < 0x20) {
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        } else {
            i++;
            run++;
            continue;
        }
        if (run > 0)
            raw(w, (const char *)u + i - run, run);
        run = 0;
        raw(w, esc, elen);
        i++;
    }
    if (run > 0) /* s may be NULL when n is 0 */
        raw(w, (const char *)u + n - run, run);
    raw(w, "\"", 1);
}

void zebu_json_key(struct zebu_json_writer *w, const char *key)
{
    if (w->err != 0)
        return;
    if (!level_is_object(w) || w->want_value) {
        fail(w, -EINVAL);
        return;
    }
    uint32_t bit = 1u << (w->depth - 1);
    if (w->has_items & bit)
        raw(w, ",", 1);
    w->has_items |= bit;
    quoted(w, key, strlen(key));
    raw(w, ":", 1);
    w->want_value = true;
}

void zebu_json_string_n(struct zebu_json_writer *w, const char *s, size_t n)
{
    if (!value_begin(w))
        return;
    quoted(w, s, n);
    value_end(w);
}

void zebu_json_string(struct zebu_json_writer *w, const char *s)
{
    zebu_json_string_n(w, s, strlen(s));
}

static void digits(struct zebu_json_writer *w, bool neg, uint64_t v)
{
    char d[21];
    size_t i = sizeof(d);

    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (neg)
        d[--i] = '-';
    raw(w, d + i, sizeof(d) - i);
}

void zebu_json_int(struct zebu_json_writer *w, int64_t v)
{
    if (!value_begin(w))
        return;
    digits(w, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    value_end(w);
}

void zebu_json_uint(struct zebu_json_writer *w, uint64_t v)
{
    if (!value_begin(w))
        return;
    digits(w, false, v);
    value_end(w);
}

static void literal(struct zebu_json_writer *w, const char *s)
{
    if (!value_begin(w))
        return;
    raw(w, s, strlen(s));
    value_end(w);
}

void zebu_json_bool(struct zebu_json_writer *w, bool v)
{
    literal(w, v ? "true" : "false");
}

void zebu_json_null(struct zebu_json_writer *w)
{
    literal(w, "null");
}

long zebu_json_finish(struct zebu_json_writer *w)
{
    if (w->err == 0 && (!w->done || w->depth != 0))
        w->err = -EINVAL; /* nothing written, or left open */
    if (w->err != 0)
        return w->err;
    if (w->len < w->cap)
        w->buf[w->len] = 0;
    return (long)w->len;
}

/* --- reader -------------------------------------------------------------- */

struct reader {
    const char *s;
    size_t len, i;
    struct zebu_json_token *tok;
    size_t max, n;
    unsigned depth, max_depth;
};

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0'
                : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                          : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* An escape at s[i] (the backslash): its code point and length, or 0 if
 * invalid. \u escapes must pair surrogates (RFC 8259 7, RFC 3629 3). */
static size_t escape(const char *s, size_t n, size_t i, uint32_t *cp)
{
    if (i + 1 >= n)
        return 0;
    switch (s[i + 1]) {
    case '"': *cp = '"'; return 2;
    case '\\': *cp = '\\'; return 2;
    case '/': *cp = '/'; return 2;
    case 'b': *cp = '\b'; return 2;
    case 'f': *cp = '\f'; return 2;
    case 'n': *cp = '\n'; return 2;
    case 'r': *cp = '\r'; return 2;
    case 't': *cp = '\t'; return 2;
    case 'u': break;
    default: return 0;
    }
    uint32_t hi, lo;
    if (i + 6 > n || hex4(s + i + 2, &hi) != 0)
        return 0;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return 0; /* a low surrogate alone */
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = hi;
        return 6;
    }
    if (i + 12 > n || s[i + 6] != '\\' || s[i + 7] != 'u' || hex4(s + i + 8, &lo) != 0 ||
        lo < 0xdc00 || lo > 0xdfff)
        return 0; /* a high surrogate without its low half */
    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    return 12;
}

/* The string starting at the quote s[i]: the index of its closing quote,
 * or 0 if it is not a valid JSON string. */
static size_t scan_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t l;
        if (c == '"')
            return i;
        if (c < 0x20)
            return 0; /* controls must be escaped */
        if (c == '\\')
            l = escape(s, n, i, &cp);
        else
            l = utf8_seq((const unsigned char *)s + i, n - i);
        if (l == 0)
            return 0;
        i += l;
    }
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 8259 6: the number at s[i]; its end, or i if there is none. */
static size_t scan_number(const char *s, size_t n, size_t i)
{
    size_t start = i;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && is_digit(s[i])) {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return start;
    }
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i]))
            return start;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return start;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i;
}

static long add_token(struct reader *r, int type, size_t start, size_t len, long parent)
{
    if (r->n == r->max)
        return -ENOSPC;
    struct zebu_json_token *t = &r->tok[r->n];
    *t = (struct zebu_json_token){.type = (uint8_t)type, .start = (uint32_t)start,
                                  .len = (uint32_t)len, .next = (uint32_t)(r->n + 1),
                                  .parent = (int32_t)parent};
    return (long)r->n++;
}

/* One scalar at r->i: a token and the index past it; 0 or -errno. */
static long scalar(struct reader *r, long parent)
{
    const char *s = r->s;
    size_t i = r->i, end;
    int type;

    if (s[i] == '"') {
        end = scan_string(s, r->len, i);
        if (end == 0)
            return -EINVAL;
        long t = add_token(r, ZEBU_JSON_STRING, i + 1, end - i - 1, parent);
        r->i = end + 1;
        return t < 0 ? t : 0;
    }
    if (s[i] == '-' || is_digit(s[i])) {
        end = scan_number(s, r->len, i);
        type = ZEBU_JSON_NUMBER;
    } else if (r->len - i >= 4 && memcmp(s + i, "true", 4) == 0) {
        end = i + 4, type = ZEBU_JSON_TRUE;
    } else if (r->len - i >= 5 && memcmp(s + i, "false", 5) == 0) {
        end = i + 5, type = ZEBU_JSON_FALSE;
    } else if (r->len - i >= 4 && memcmp(s + i, "null", 4) == 0) {
        end = i + 4, type = ZEBU_JSON_NULL;
    } else {
        return -EINVAL;
    }
    if (end == i)
        return -EINVAL;
    long t = add_token(r, type, i, end - i, parent);
    r->i = end;
    return t < 0 ? t : 0;
}

static void skip_ws(struct reader *r)
{
    while (r->i < r->len && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' ||
                             r->s[r->i] == '\r'))
        r->i++;
}

enum { WANT_VALUE, WANT_VALUE_OR_END, WANT_KEY, WANT_KEY_OR_END, WANT_COLON, WANT_MORE, DONE };

/* A value just ended: what may follow it. */
static int after_value(long parent)
{
    return parent < 0 ? DONE : WANT_MORE;
}

/*
 * Iterative, so nesting costs no C stack: the enclosing container is
 * found through the tokens' parent links. State says what may come next.
 */
long zebu_json_parse(const char *text, size_t len, struct zebu_json_token *tok, size_t max_tokens,
                     unsigned max_depth)
{
    struct reader r = {.s = text, .len = len, .tok = tok, .max = max_tokens,
                       .max_depth = max_depth != 0 ? max_depth : ZEBU_JSON_DEPTH_MAX};
    long parent = -1, err;
    int st = WANT_VALUE;

    if (len >= UINT32_MAX)
        return -EOVERFLOW;
    for (;;) {
        skip_ws(&r);
        if (r.i == len)
            return st == DONE ? (long)r.n : -EINVAL;
        char c = text[r.i];
        bool in_object = parent >= 0 && tok[parent].type == ZEBU_JSON_OBJECT;
        switch (st) {
        case WANT_VALUE:
        case WANT_VALUE_OR_END:
            if (c == ']' && st == WANT_VALUE_OR_END)
                goto close;
            if (parent >= 0 && !in_object)
                tok[parent].size++;
            if (c == '{' || c == '[') {
                if (r.depth == r.max_depth)
                    return -E2BIG;
                long t = add_token(&r, c == '{' ? ZEBU_JSON_OBJECT : ZEBU_JSON_ARRAY, r.i, 0,
                                   parent);
                if (t < 0)
                    return t;
                r.depth++;
                parent = t;
                r.i++;
                st = c == '{' ? WANT_KEY_OR_END : WANT_VALUE_OR_END;
                continue;
            }
            if ((err = scalar(&r, parent)) != 0)
                return err;
            st = after_value(parent);
            continue;
        case WANT_KEY:
        case WANT_KEY_OR_END:
            if (c == '}' && st == WANT_KEY_OR_END)
                goto close;
            if (c != '"')
                return -EINVAL;
            tok[parent].size++;
            if ((err = scalar(&r, parent)) != 0)
                return err;
            st = WANT_COLON;
            continue;
        case WANT_COLON:
            if (c != ':')
                return -EINVAL;
            r.i++;
            st = WANT_VALUE;
            continue;
        case WANT_MORE:
            if (c == ',') {
                r.i++;
                st = in_object ? WANT_KEY : WANT_VALUE;
                continue;
            }
            if (c == (in_object ? '}' : ']'))
                goto close;
            return -EINVAL;
        default:
            return -EINVAL; /* text after the value */
        }
    close:
        if (c != (in_object ? '}' : ']'))
            return -EINVAL;
        r.i++;
        tok[parent].len = (uint32_t)(r.i - tok[parent].start);
        tok[parent].next = (uint32_t)r.n;
        parent = tok[parent].parent;
        r.depth--;
        st = after_value(parent);
    }
}

bool zebu_json_string_eq(const char *text, const struct zebu_json_token *t, const char *z)
{
    const char *s = text + t->start;
    size_t n = t->len, zi = 0;

    if (t->type != ZEBU_JSON_STRING)
        return false;
    for (size_t i = 0; i < n;) {
        char b[4];
        size_t bl = 1, l = 1;
        uint32_t cp;
        if (s[i] == '\\') {
            l = escape(s, n, i, &cp);
            if (l == 0)
                return false;
            bl = utf8_put(cp, b);
        } else {
            b[0] = s[i];
        }
        for (size_t k = 0; k < bl; k++)
            if (z[zi] == 0 || z[zi++] != b[k])
                return false;
        i += l;
    }
    return z[zi] == 0;
}

long zebu_json_get(const char *text, const struct zebu_json_token *tok, size_t obj, const char *key)
{
    if (tok[obj].type != ZEBU_JSON_OBJECT)
        return -1;
    size_t i = obj + 1;
    for (uint32_t k = 0; k < tok[obj].size; k++) {
        if (zebu_json_string_eq(text, &tok[i], key))
            return (long)i + 1;
        i = tok[i + 1].next;
    }
    return -1;
}

int zebu_json_get_int(const char *text, const struct zebu_json_token *t, int64_t *out)
{
    const char *s = text + t->start;
    size_t n = t->len, i = 0;
    bool neg = false;
    uint64_t v = 0;

    if (t->type != ZEBU_JSON_NUMBER)
        return -EINVAL;
    if (s[0] == '-')
        neg = true, i = 1;
    for (; i < n; i++) {
        if (!is_digit(s[i]))
            return -EINVAL; /* a fraction or an exponent */
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (v > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return -ERANGE;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

long zebu_json_get_string(const char *text, const struct zebu_json_token *t, char *out, size_t cap)
{
    const char *s = text + t->start;
    size_t n = t->len, o = 0;

    if (t->type != ZEBU_JSON_STRING)
        return -EINVAL;
    for (size_t i = 0; i < n;) {
        char b[4];
        size_t bl = 1, l = 1;
        uint32_t cp;
        if (s[i] == '\\') {
            l = escape(s, n, i, &cp);
            if (l == 0)
                return -EINVAL;
            bl = utf8_put(cp, b);
        } else {
            b[0] = s[i];
        }
        if (o + bl >= cap)
            return -ENOSPC;
        memcpy(out + o, b, bl);
        o += bl;
        i += l;
    }
    if (cap == 0)
        return -ENOSPC;
    out[o] = 0;
    return (long)o;
}
