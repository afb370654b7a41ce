/* config/toml.c — the TOML 1.0 parser and the document tree it builds: values with their
 * source positions, tables that keep key order behind a hash index, the redefinition rules
 * of the spec, and the builder API used to make resolved scenes. The writers (tagged JSON,
 * TOML text) are in toml_write.c and use only the public accessors. */
#include "config/toml.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* Containers nested deeper than this are refused: it bounds the recursion of the parser,
 * the writers, copy and free, whatever the input. */
#define TOML_MAX_DEPTH 256

/* Tables grow a hash index once they hold more than this many keys; below it a linear scan
 * is faster than hashing. */
#define TOML_INDEX_MIN 8

/* How a table came to exist, which decides what may later define or extend it. */
enum {
    TBL_IMPLICIT = 1u << 0, /* a parent named by a [header] that has not been defined itself */
    TBL_HEADER = 1u << 1,   /* defined by its own [header] or [[header]] element */
    TBL_DOTTED = 1u << 2,   /* defined by dotted keys (a.b = 1) */
    TBL_INLINE = 1u << 3,   /* an inline table { ... }: immutable once closed */
    ARR_OF_TABLES = 1u << 4, /* an array made by [[header]]; other arrays are static values */
};

/* The source name is shared by every value of a document and by copies of them in other
 * documents, so it is reference counted (atomically: copies may be made and freed on
 * different threads). */
typedef struct toml_source {
    atomic_int refs;
    char name[];
} toml_source;

typedef struct toml_entry {
    char *key;
    size_t key_len;
    uint32_t hash;
    nnxr_toml_value *value;
} toml_entry;

struct nnxr_toml_value {
    nnxr_toml_type type;
    unsigned flags;
    int line, column;         /* where the value starts; 0 for built values */
    int key_line, key_column; /* the key of a table entry; 0 otherwise */
    int depth;                /* containers above this one (the root is 0) */
    toml_source *src;
    union {
        struct {
            char *ptr;
            size_t len;
        } s;
        int64_t i;
        double f;
        bool b;
        nnxr_toml_datetime dt;
        struct {
            nnxr_toml_value **items;
            size_t len, cap;
        } a;
        struct {
            toml_entry *items;
            size_t len, cap;
            uint32_t *index; /* open addressing: entry index + 1, 0 = empty */
            size_t index_cap;
        } t;
    } u;
};

/* ------------------------------------------------------------------------------------ */
/* Values                                                                                */

static toml_source *source_new(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    toml_source *s = malloc(sizeof *s + n + 1);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    if (n)
        memcpy(s->name, name, n);
    s->name[n] = '\0';
    return s;
}

static toml_source *source_ref(toml_source *s)
{
    if (s)
        atomic_fetch_add(&s->refs, 1);
    return s;
}

static void source_unref(toml_source *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        free(s);
}

static nnxr_toml_value *value_new(nnxr_toml_type type, toml_source *src)
{
    nnxr_toml_value *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->type = type;
    v->src = source_ref(src);
    return v;
}

static void value_free(nnxr_toml_value *v)
{
    if (!v)
        return;
    switch (v->type) {
    case NNXR_TOML_STRING:
        free(v->u.s.ptr);
        break;
    case NNXR_TOML_ARRAY:
        for (size_t i = 0; i < v->u.a.len; i++)
            value_free(v->u.a.items[i]);
        free(v->u.a.items);
        break;
    case NNXR_TOML_TABLE:
        for (size_t i = 0; i < v->u.t.len; i++) {
            free(v->u.t.items[i].key);
            value_free(v->u.t.items[i].value);
        }
        free(v->u.t.items);
        free(v->u.t.index);
        break;
    default:
        break;
    }
    source_unref(v->src);
    free(v);
}

void nnxr_toml_free(nnxr_toml_value *root)
{
    value_free(root);
}

static uint32_t key_hash(const char *k, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 16777619u;
    }
    return h;
}

static bool index_rebuild(nnxr_toml_value *t, size_t cap)
{
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return false;
    for (size_t i = 0; i < t->u.t.len; i++) {
        size_t slot = t->u.t.items[i].hash & (cap - 1);
        while (idx[slot])
            slot = (slot + 1) & (cap - 1);
        idx[slot] = (uint32_t)(i + 1);
    }
    free(t->u.t.index);
    t->u.t.index = idx;
    t->u.t.index_cap = cap;
    return true;
}

static toml_entry *table_find(const nnxr_toml_value *t, const char *key, size_t len)
{
    uint32_t h = key_hash(key, len);
    if (t->u.t.index) {
        size_t mask = t->u.t.index_cap - 1;
        for (size_t slot = h & mask; t->u.t.index[slot]; slot = (slot + 1) & mask) {
            toml_entry *e = &t->u.t.items[t->u.t.index[slot] - 1];
            if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
                return e;
        }
        return NULL;
    }
    for (size_t i = 0; i < t->u.t.len; i++) {
        toml_entry *e = &t->u.t.items[i];
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

/* Adds key -> v (the caller checked the key is new). The key is copied; on failure v is
 * left to the caller. */
static bool table_insert(nnxr_toml_value *t, const char *key, size_t len, nnxr_toml_value *v)
{
    if (t->u.t.len >= UINT32_MAX - 1)
        return false;
    if (t->u.t.len == t->u.t.cap) {
        size_t cap = t->u.t.cap ? t->u.t.cap * 2 : 4;
        toml_entry *items = realloc(t->u.t.items, cap * sizeof *items);
        if (!items)
            return false;
        t->u.t.items = items;
        t->u.t.cap = cap;
    }
    char *k = malloc(len + 1);
    if (!k)
        return false;
    if (len)
        memcpy(k, key, len);
    k[len] = '\0';
    toml_entry *e = &t->u.t.items[t->u.t.len];
    e->key = k;
    e->key_len = len;
    e->hash = key_hash(key, len);
    e->value = v;
    t->u.t.len++;
    size_t n = t->u.t.len;
    if (n > TOML_INDEX_MIN) {
        if (!t->u.t.index || n * 2 > t->u.t.index_cap) {
            size_t cap = 32;
            while (cap < n * 4)
                cap *= 2;
            if (!index_rebuild(t, cap)) {
                t->u.t.len--;
                free(k);
                return false;
            }
        } else {
            size_t mask = t->u.t.index_cap - 1;
            size_t slot = e->hash & mask;
            while (t->u.t.index[slot])
                slot = (slot + 1) & mask;
            t->u.t.index[slot] = (uint32_t)n;
        }
    }
    return true;
}

static bool array_push(nnxr_toml_value *a, nnxr_toml_value *v)
{
    if (a->u.a.len == a->u.a.cap) {
        size_t cap = a->u.a.cap ? a->u.a.cap * 2 : 4;
        nnxr_toml_value **items = realloc(a->u.a.items, cap * sizeof *items);
        if (!items)
            return false;
        a->u.a.items = items;
        a->u.a.cap = cap;
    }
    a->u.a.items[a->u.a.len++] = v;
    return true;
}

/* ------------------------------------------------------------------------------------ */
/* The parser                                                                            */

typedef struct toml_buf {
    char *p;
    size_t len, cap;
} toml_buf;

/* A place in the text: its byte offset and its line:column, located when the parser passes
 * it (so that the cursor of locate() only ever moves forward). */
typedef struct toml_pos {
    size_t off;
    int line, col;
} toml_pos;

typedef struct key_part {
    char *s; /* unescaped, NUL-terminated, may hold NUL */
    size_t len;
    toml_pos at;
} key_part;

typedef struct parser {
    const char *s;
    size_t n, pos;
    size_t start; /* after a byte order mark */
    toml_source *src;
    nnxr_error *err;
    bool failed;
    /* A cursor that turns byte offsets into line:column; offsets asked for mostly grow, so
     * it moves forward and the whole parse stays linear. */
    size_t loc_pos;
    int loc_line, loc_col;
    locale_t c_locale;
    toml_buf buf;
    key_part *parts;
    size_t nparts, parts_cap;
} parser;

static void locate(parser *p, size_t pos, int *line, int *col)
{
    if (pos > p->n)
        pos = p->n;
    if (pos < p->loc_pos) {
        p->loc_pos = p->start;
        p->loc_line = 1;
        p->loc_col = 1;
    }
    for (size_t i = p->loc_pos; i < pos; i++) {
        unsigned char c = (unsigned char)p->s[i];
        if (c == '\n') {
            p->loc_line++;
            p->loc_col = 1;
        } else if ((c & 0xC0) != 0x80) {
            p->loc_col++;
        }
    }
    p->loc_pos = pos;
    *line = p->loc_line;
    *col = p->loc_col;
}

static toml_pos pos_here(parser *p)
{
    toml_pos at = {p->pos, 0, 0};
    locate(p, p->pos, &at.line, &at.col);
    return at;
}

static bool fail_at(parser *p, size_t pos, const char *fmt, ...) NNXR_PRINTF(3, 4);
static bool fail_at(parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return false; /* keep the first, innermost message */
    p->failed = true;
    char msg[NNXR_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col;
    locate(p, pos, &line, &col);
    const char *name = p->src->name;
    return nnxr_fail(p->err, "%s%s%d:%d: %s", name, name[0] ? ":" : "", line, col, msg);
}

static bool fail_oom(parser *p)
{
    return fail_at(p, p->pos, "out of memory");
}

/* Describes the character at pos for messages: 'x', U+0007, end of file, end of line. */
static const char *describe_char(parser *p, size_t pos, char *out, size_t size)
{
    if (pos >= p->n) {
        snprintf(out, size, "end of file");
        return out;
    }
    unsigned char c = (unsigned char)p->s[pos];
    if (c == '\n' || (c == '\r' && pos + 1 < p->n && p->s[pos + 1] == '\n'))
        snprintf(out, size, "end of line");
    else if (c == '\r')
        snprintf(out, size, "a carriage return (U+000D) without a line feed");
    else if (c < 0x20 || c == 0x7F)
        snprintf(out, size, "control character U+%04X", c);
    else if (c < 0x80)
        snprintf(out, size, "'%c'", c);
    else {
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (pos + len > p->n)
            len = p->n - pos;
        snprintf(out, size, "'%.*s'", (int)len, p->s + pos);
    }
    return out;
}

static bool buf_put(parser *p, const void *data, size_t len)
{
    toml_buf *b = &p->buf;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return fail_oom(p);
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return true;
}

static bool buf_putc(parser *p, char c)
{
    return buf_put(p, &c, 1);
}

/* A copy of the buffer's contents, NUL-terminated. */
static char *buf_take(parser *p, size_t *len)
{
    char *s = malloc(p->buf.len + 1);
    if (!s) {
        fail_oom(p);
        return NULL;
    }
    if (p->buf.len)
        memcpy(s, p->buf.p, p->buf.len);
    s[p->buf.len] = '\0';
    *len = p->buf.len;
    return s;
}

static int peek(const parser *p, size_t ahead)
{
    return p->pos + ahead < p->n ? (unsigned char)p->s[p->pos + ahead] : -1;
}

static bool is_bare_key_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* A newline at pos: LF or CRLF. Returns its length, 0 if there is none. */
static size_t newline_len(const parser *p, size_t pos)
{
    if (pos < p->n && p->s[pos] == '\n')
        return 1;
    if (pos + 1 < p->n && p->s[pos] == '\r' && p->s[pos + 1] == '\n')
        return 2;
    return 0;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

/* Checks the whole text is UTF-8 (no overlong forms, surrogates or code points above
 * U+10FFFF) before parsing, so later stages can copy bytes >= 0x80 as they are. */
static bool check_utf8(parser *p)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t i = p->start;
    while (i < p->n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return fail_at(p, i, "invalid UTF-8: byte 0x%02X cannot start a character", c);
        }
        if (i + len > p->n)
            return fail_at(p, i, "invalid UTF-8: character cut short by the end of the file");
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return fail_at(p, i, "invalid UTF-8: byte 0x%02X is not a continuation byte",
                               s[i + k]);
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min)
            return fail_at(p, i, "invalid UTF-8: overlong encoding of U+%04X", cp);
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return fail_at(p, i, "invalid UTF-8: encoded surrogate U+%04X", cp);
        if (cp > 0x10FFFF)
            return fail_at(p, i, "invalid UTF-8: code point above U+10FFFF");
        i += len;
    }
    return true;
}

/* A comment from '#' to the end of the line (not consumed). */
static bool skip_comment(parser *p)
{
    if (peek(p, 0) != '#')
        return true;
    p->pos++;
    while (p->pos < p->n) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '\n' || newline_len(p, p->pos))
            break;
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return fail_at(p, p->pos, "control character U+%04X is not allowed in a comment", c);
        p->pos++;
    }
    return true;
}

/* Whitespace, comments and newlines, as allowed between array elements. */
static bool skip_ws_comments_newlines(parser *p)
{
    for (;;) {
        skip_ws(p);
        if (peek(p, 0) == '#') {
            if (!skip_comment(p))
                return false;
        }
        size_t nl = newline_len(p, p->pos);
        if (!nl)
            return true;
        p->pos += nl;
    }
}

static void put_utf8(char *out, size_t *len, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        *len = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        *len = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        *len = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        *len = 4;
    }
}

/* An escape sequence after '\' in a basic string; p->pos is at the character after '\'. */
static bool parse_escape(parser *p)
{
    size_t at = p->pos - 1;
    int c = peek(p, 0);
    char simple = 0;
    switch (c) {
    case 'b': simple = '\b'; break;
    case 't': simple = '\t'; break;
    case 'n': simple = '\n'; break;
    case 'f': simple = '\f'; break;
    case 'r': simple = '\r'; break;
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case 'u':
    case 'U': {
        int digits = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int k = 1; k <= digits; k++) {
            int h = peek(p, (size_t)k);
            if (!is_hex(h))
                return fail_at(p, at, "escape \\%c needs %d hexadecimal digits", c, digits);
            cp = cp * 16 + (uint32_t)hex_value(h);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail_at(p, at, "escape \\%c%0*X is not a Unicode scalar value", c, digits, cp);
        char out[4];
        size_t len;
        put_utf8(out, &len, cp);
        p->pos += 1 + (size_t)digits;
        return buf_put(p, out, len);
    }
    default: {
        char what[64];
        return fail_at(p, at, "invalid escape sequence: '\\' followed by %s",
                       describe_char(p, p->pos, what, sizeof what));
    }
    }
    p->pos++;
    return buf_putc(p, simple);
}

/* A string of any of the four kinds; the text goes to p->buf. For keys, multi-line strings
 * are refused. */
static bool parse_string(parser *p, bool allow_multiline)
{
    size_t open = p->pos;
    char q = p->s[p->pos];
    bool basic = q == '"';
    p->buf.len = 0;
    if (p->buf.p)
        p->buf.p[0] = '\0';
    bool multi = peek(p, 1) == q && peek(p, 2) == q;
    if (multi && !allow_multiline)
        return fail_at(p, open, "a multi-line string cannot be a key");
    if (!multi) {
        p->pos++;
        for (;;) {
            if (p->pos >= p->n)
                return fail_at(p, p->pos, "unterminated string: expected %c before the end of the file", q);
            unsigned char c = (unsigned char)p->s[p->pos];
            if (c == (unsigned char)q) {
                p->pos++;
                return true;
            }
            if (c == '\n' || newline_len(p, p->pos))
                return fail_at(p, p->pos, "unterminated string: expected %c before the end of the line", q);
            if ((c < 0x20 && c != '\t') || c == 0x7F)
                return fail_at(p, p->pos, "control character U+%04X must be escaped in a string", c);
            if (basic && c == '\\') {
                p->pos++;
                if (!parse_escape(p))
                    return false;
                continue;
            }
            size_t run = p->pos + 1;
            while (run < p->n) {
                unsigned char d = (unsigned char)p->s[run];
                if (d == (unsigned char)q || (basic && d == '\\') || d < 0x20 || d == 0x7F)
                    break;
                run++;
            }
            if (!buf_put(p, p->s + p->pos, run - p->pos))
                return false;
            p->pos = run;
        }
    }
    p->pos += 3;
    /* A newline right after the opening delimiter is not part of the string. */
    p->pos += newline_len(p, p->pos);
    for (;;) {
        if (p->pos >= p->n)
            return fail_at(p, open, "unterminated multi-line string: no closing %c%c%c", q, q, q);
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == (unsigned char)q) {
            size_t run = 0;
            while (p->pos + run < p->n && p->s[p->pos + run] == q)
                run++;
            if (run >= 3) {
                /* Up to two quotes may sit right before the closing delimiter. */
                if (run > 5)
                    return fail_at(p, p->pos + 5, "too many %c in a row in a multi-line string", q);
                for (size_t k = 0; k < run - 3; k++)
                    if (!buf_putc(p, q))
                        return false;
                p->pos += run;
                return true;
            }
            if (!buf_put(p, p->s + p->pos, run))
                return false;
            p->pos += run;
            continue;
        }
        size_t nl = newline_len(p, p->pos);
        if (nl) {
            if (!buf_putc(p, '\n'))
                return false;
            p->pos += nl;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return fail_at(p, p->pos, "control character U+%04X must be escaped in a string", c);
        if (basic && c == '\\') {
            int d = peek(p, 1);
            if (d == ' ' || d == '\t' || d == '\n' || d == '\r') {
                /* A line-ending backslash trims the newline and the whitespace after it. */
                size_t at = p->pos;
                p->pos++;
                skip_ws(p);
                if (!newline_len(p, p->pos))
                    return fail_at(p, at, "invalid escape: only whitespace and a newline may follow a line-ending '\\'");
                for (;;) {
                    skip_ws(p);
                    size_t l = newline_len(p, p->pos);
                    if (!l)
                        break;
                    p->pos += l;
                }
                continue;
            }
            p->pos++;
            if (!parse_escape(p))
                return false;
            continue;
        }
        if (!buf_putc(p, (char)c))
            return false;
        p->pos++;
    }
}

/* A dotted key into p->parts. */
static bool parse_key(parser *p)
{
    for (size_t i = 0; i < p->nparts; i++)
        free(p->parts[i].s);
    p->nparts = 0;
    for (;;) {
        skip_ws(p);
        size_t at = p->pos;
        toml_pos where = pos_here(p);
        int c = peek(p, 0);
        char *s;
        size_t len;
        if (c == '"' || c == '\'') {
            if (!parse_string(p, false))
                return false;
            s = buf_take(p, &len);
        } else if (is_bare_key_char(c)) {
            size_t end = p->pos;
            while (end < p->n && is_bare_key_char((unsigned char)p->s[end]))
                end++;
            len = end - p->pos;
            s = malloc(len + 1);
            if (s) {
                memcpy(s, p->s + p->pos, len);
                s[len] = '\0';
            } else {
                fail_oom(p);
            }
            p->pos = end;
        } else {
            char what[64];
            return fail_at(p, at, "expected a key, found %s", describe_char(p, at, what, sizeof what));
        }
        if (!s)
            return false;
        if (p->nparts == TOML_MAX_DEPTH) {
            free(s);
            return fail_at(p, at, "key has more than %d dotted parts", TOML_MAX_DEPTH);
        }
        if (p->nparts == p->parts_cap) {
            size_t cap = p->parts_cap ? p->parts_cap * 2 : 8;
            key_part *np = realloc(p->parts, cap * sizeof *np);
            if (!np) {
                free(s);
                return fail_oom(p);
            }
            p->parts = np;
            p->parts_cap = cap;
        }
        p->parts[p->nparts++] = (key_part){s, len, where};
        skip_ws(p);
        if (peek(p, 0) != '.')
            return true;
        p->pos++;
    }
}

/* Writes one key part as TOML would (bare when it can be), for messages. */
static size_t format_key_part(char *out, size_t size, const char *k, size_t len)
{
    bool bare = len > 0;
    for (size_t i = 0; i < len && bare; i++)
        bare = is_bare_key_char((unsigned char)k[i]);
    size_t o = 0;
#define PUT(ch)                   \
    do {                          \
        if (o + 1 < size)         \
            out[o] = (char)(ch);  \
        o++;                      \
    } while (0)
    if (!bare)
        PUT('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!bare && (c == '"' || c == '\\')) {
            PUT('\\');
            PUT(c);
        } else if (c < 0x20 || c == 0x7F) {
            char hex[8];
            snprintf(hex, sizeof hex, "\\u%04X", c);
            for (int j = 0; hex[j]; j++)
                PUT(hex[j]);
        } else {
            PUT(c);
        }
    }
    if (!bare)
        PUT('"');
#undef PUT
    if (size)
        out[o < size ? o : size - 1] = '\0';
    return o;
}

/* The first n parts of the current key, joined with dots. */
static const char *key_path(parser *p, size_t n, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        if (i) {
            out[o++] = '.';
            out[o] = '\0';
        }
        o += format_key_part(out + o, size - o, p->parts[i].s, p->parts[i].len);
        if (o >= size)
            o = size - 1;
    }
    return out;
}

static void set_pos(nnxr_toml_value *v, toml_pos at)
{
    v->line = at.line;
    v->column = at.col;
}

static nnxr_toml_value *new_container(parser *p, nnxr_toml_type type, int depth, toml_pos at)
{
    if (depth > TOML_MAX_DEPTH) {
        fail_at(p, at.off, "nesting deeper than %d levels", TOML_MAX_DEPTH);
        return NULL;
    }
    nnxr_toml_value *v = value_new(type, p->src);
    if (!v) {
        fail_oom(p);
        return NULL;
    }
    v->depth = depth;
    set_pos(v, at);
    return v;
}

/* Adds a new value under the key part `part` of table t, recording the key's position. */
static bool insert_part(parser *p, nnxr_toml_value *t, const key_part *part, nnxr_toml_value *v)
{
    v->key_line = part->at.line;
    v->key_column = part->at.col;
    if (!table_insert(t, part->s, part->len, v)) {
        value_free(v);
        return fail_oom(p);
    }
    return true;
}

static nnxr_toml_value *parse_value(parser *p, int depth);

/* Inserts a dotted key = value into t. The key is in p->parts; v is taken over. */
static bool assign(parser *p, nnxr_toml_value *t, nnxr_toml_value *v)
{
    char path[256];
    for (size_t i = 0; i + 1 < p->nparts; i++) {
        key_part *part = &p->parts[i];
        toml_entry *e = table_find(t, part->s, part->len);
        if (!e) {
            nnxr_toml_value *sub = new_container(p, NNXR_TOML_TABLE, t->depth + 1, part->at);
            if (!sub)
                goto fail;
            sub->flags = TBL_DOTTED;
            if (!insert_part(p, t, part, sub))
                goto fail;
            t = sub;
            continue;
        }
        nnxr_toml_value *x = e->value;
        if (x->type != NNXR_TOML_TABLE) {
            fail_at(p, part->at.off, "cannot use '%s' as a table: it is already %s %s (defined at %d:%d)",
                    key_path(p, i + 1, path, sizeof path),
                    x->type == NNXR_TOML_ARRAY || x->type == NNXR_TOML_INTEGER ? "an" : "a",
                    x->flags & ARR_OF_TABLES ? "array of tables" : nnxr_toml_type_name(x->type),
                    x->key_line, x->key_column);
            goto fail;
        }
        if (x->flags & TBL_INLINE) {
            fail_at(p, part->at.off, "cannot add keys to the inline table '%s' (defined at %d:%d): inline tables are complete when closed",
                    key_path(p, i + 1, path, sizeof path), x->line, x->column);
            goto fail;
        }
        if (x->flags & TBL_HEADER) {
            fail_at(p, part->at.off, "cannot add keys to table '%s' with dotted keys: it is defined by the header at %d:%d",
                    key_path(p, i + 1, path, sizeof path), x->line, x->column);
            goto fail;
        }
        /* A table so far only named as the parent of a header becomes defined here. */
        x->flags = TBL_DOTTED;
        t = x;
    }
    key_part *last = &p->parts[p->nparts - 1];
    toml_entry *e = table_find(t, last->s, last->len);
    if (e) {
        fail_at(p, last->at.off, "duplicate key '%s' (first defined at %d:%d)",
                key_path(p, p->nparts, path, sizeof path), e->value->key_line, e->value->key_column);
        goto fail;
    }
    return insert_part(p, t, last, v);
fail:
    value_free(v);
    return false;
}

static bool parse_keyval(parser *p, nnxr_toml_value *t)
{
    if (!parse_key(p))
        return false;
    if (peek(p, 0) != '=') {
        char what[64];
        return fail_at(p, p->pos, "expected '=' after key, found %s",
                       describe_char(p, p->pos, what, sizeof what));
    }
    p->pos++;
    skip_ws(p);
    /* The value's container (if any) sits below the tables the dotted key creates. */
    int depth = t->depth + (int)p->nparts;
    /* parse_value reuses p->parts for inline tables, so keep this key aside. */
    key_part *saved = p->parts;
    size_t nsaved = p->nparts, saved_cap = p->parts_cap;
    p->parts = NULL;
    p->nparts = p->parts_cap = 0;
    nnxr_toml_value *v = parse_value(p, depth);
    for (size_t i = 0; i < p->nparts; i++)
        free(p->parts[i].s);
    free(p->parts);
    p->parts = saved;
    p->nparts = nsaved;
    p->parts_cap = saved_cap;
    if (!v)
        return false;
    return assign(p, t, v);
}

static bool parse_digits(parser *p, bool (*digit)(int), const char *what)
{
    if (!digit(peek(p, 0))) {
        char found[64];
        return fail_at(p, p->pos, "expected a digit %s, found %s", what,
                       describe_char(p, p->pos, found, sizeof found));
    }
    for (;;) {
        int c = peek(p, 0);
        if (digit(c)) {
            if (!buf_putc(p, (char)c))
                return false;
            p->pos++;
        } else if (c == '_') {
            if (!digit(peek(p, 1)))
                return fail_at(p, p->pos, "an underscore in a number must sit between two digits");
            p->pos++;
        } else {
            return true;
        }
    }
}

static bool digit_dec(int c) { return is_digit(c); }
static bool digit_hex(int c) { return is_hex(c); }
static bool digit_oct(int c) { return c >= '0' && c <= '7'; }
static bool digit_bin(int c) { return c == '0' || c == '1'; }

static nnxr_toml_value *make_scalar(parser *p, nnxr_toml_type type, toml_pos at)
{
    nnxr_toml_value *v = value_new(type, p->src);
    if (!v) {
        fail_oom(p);
        return NULL;
    }
    set_pos(v, at);
    return v;
}

static nnxr_toml_value *parse_number(parser *p, toml_pos at)
{
    size_t start = p->pos;
    p->buf.len = 0;
    int c = peek(p, 0);
    bool neg = false, has_sign = false;
    if (c == '+' || c == '-') {
        neg = c == '-';
        has_sign = true;
        p->pos++;
        c = peek(p, 0);
    }
    if (c == 'i' || c == 'n') {
        const char *word = c == 'i' ? "inf" : "nan";
        if (p->pos + 3 > p->n || memcmp(p->s + p->pos, word, 3) != 0) {
            fail_at(p, start, "expected a value (did you mean %s%s?)", has_sign ? (neg ? "-" : "+") : "", word);
            return NULL;
        }
        p->pos += 3;
        nnxr_toml_value *v = make_scalar(p, NNXR_TOML_FLOAT, at);
        if (v)
            v->u.f = c == 'i' ? (neg ? -INFINITY : INFINITY) : (neg ? -NAN : NAN);
        return v;
    }
    if (!has_sign && c == '0' && (peek(p, 1) == 'x' || peek(p, 1) == 'o' || peek(p, 1) == 'b')) {
        int kind = peek(p, 1);
        bool (*digit)(int) = kind == 'x' ? digit_hex : kind == 'o' ? digit_oct : digit_bin;
        unsigned base = kind == 'x' ? 16 : kind == 'o' ? 8 : 2;
        const char *what = kind == 'x' ? "after 0x" : kind == 'o' ? "after 0o" : "after 0b";
        p->pos += 2;
        if (!parse_digits(p, digit, what))
            return NULL;
        uint64_t acc = 0;
        for (size_t i = 0; i < p->buf.len; i++) {
            unsigned d = (unsigned)hex_value((unsigned char)p->buf.p[i]);
            if (acc > ((uint64_t)INT64_MAX - d) / base) {
                fail_at(p, start, "integer %.*s does not fit in 64 bits", (int)(p->pos - start), p->s + start);
                return NULL;
            }
            acc = acc * base + d;
        }
        nnxr_toml_value *v = make_scalar(p, NNXR_TOML_INTEGER, at);
        if (v)
            v->u.i = (int64_t)acc;
        return v;
    }
    if (neg && !buf_putc(p, '-'))
        return NULL;
    size_t int_start = p->pos;
    if (!parse_digits(p, digit_dec, has_sign ? "after the sign" : "in the number"))
        return NULL;
    if (p->s[int_start] == '0' && p->pos > int_start + 1) {
        fail_at(p, int_start, "leading zeros are not allowed in a number");
        return NULL;
    }
    bool is_float = false;
    if (peek(p, 0) == '.') {
        is_float = true;
        p->pos++;
        if (!buf_putc(p, '.') || !parse_digits(p, digit_dec, "after the decimal point"))
            return NULL;
    }
    if (peek(p, 0) == 'e' || peek(p, 0) == 'E') {
        is_float = true;
        p->pos++;
        if (!buf_putc(p, 'e'))
            return NULL;
        if (peek(p, 0) == '+' || peek(p, 0) == '-') {
            if (!buf_putc(p, (char)peek(p, 0)))
                return NULL;
            p->pos++;
        }
        if (!parse_digits(p, digit_dec, "in the exponent"))
            return NULL;
    }
    if (is_float) {
        errno = 0;
        char *end;
        double d = p->c_locale ? strtod_l(p->buf.p, &end, p->c_locale) : strtod(p->buf.p, &end);
        if (*end != '\0') {
            fail_at(p, start, "cannot read float %.*s", (int)(p->pos - start), p->s + start);
            return NULL;
        }
        if (errno == ERANGE && isinf(d)) {
            fail_at(p, start, "float %.*s is too large for 64 bits", (int)(p->pos - start), p->s + start);
            return NULL;
        }
        nnxr_toml_value *v = make_scalar(p, NNXR_TOML_FLOAT, at);
        if (v)
            v->u.f = d;
        return v;
    }
    /* Accumulate negatively so that INT64_MIN fits. */
    int64_t acc = 0;
    for (size_t i = neg ? 1 : 0; i < p->buf.len; i++) {
        int d = p->buf.p[i] - '0';
        if (acc < (INT64_MIN + d) / 10) {
            fail_at(p, start, "integer %.*s does not fit in 64 bits", (int)(p->pos - start), p->s + start);
            return NULL;
        }
        acc = acc * 10 - d;
    }
    if (!neg) {
        if (acc == INT64_MIN) {
            fail_at(p, start, "integer %.*s does not fit in 64 bits", (int)(p->pos - start), p->s + start);
            return NULL;
        }
        acc = -acc;
    }
    nnxr_toml_value *v = make_scalar(p, NNXR_TOML_INTEGER, at);
    if (v)
        v->u.i = acc;
    return v;
}

/* Exactly n digits at pos as a number, or -1. */
static int fixed_digits(const parser *p, size_t pos, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (pos + (size_t)i >= p->n || !is_digit((unsigned char)p->s[pos + (size_t)i]))
            return -1;
        v = v * 10 + (p->s[pos + (size_t)i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return days[month - 1];
}

/* HH:MM:SS[.frac] at p->pos into dt. */
static bool parse_time(parser *p, nnxr_toml_datetime *dt)
{
    size_t at = p->pos;
    int h = fixed_digits(p, at, 2), m = -1, s = -1;
    if (h >= 0 && peek(p, 2) == ':')
        m = fixed_digits(p, at + 3, 2);
    if (m >= 0 && peek(p, 5) == ':')
        s = fixed_digits(p, at + 6, 2);
    if (s < 0 || (at + 8 < p->n && is_digit((unsigned char)p->s[at + 8])))
        return fail_at(p, at, "expected a time as HH:MM:SS (two digits each, seconds required)");
    if (h > 23)
        return fail_at(p, at, "hour %02d is out of range (00-23)", h);
    if (m > 59)
        return fail_at(p, at + 3, "minute %02d is out of range (00-59)", m);
    if (s > 60)
        return fail_at(p, at + 6, "second %02d is out of range (00-60)", s);
    dt->hour = h;
    dt->minute = m;
    dt->second = s;
    p->pos = at + 8;
    if (peek(p, 0) == '.') {
        p->pos++;
        if (!is_digit(peek(p, 0)))
            return fail_at(p, p->pos, "expected digits after the decimal point of the seconds");
        int ns = 0, digits = 0;
        /* Digits beyond nanoseconds are dropped, as the spec allows. */
        while (is_digit(peek(p, 0))) {
            if (digits < 9) {
                ns = ns * 10 + (peek(p, 0) - '0');
                digits++;
            }
            p->pos++;
        }
        while (digits++ < 9)
            ns *= 10;
        dt->nanosecond = ns;
    }
    return true;
}

static nnxr_toml_value *parse_datetime(parser *p, toml_pos at)
{
    size_t start = p->pos;
    nnxr_toml_datetime dt = {0};
    nnxr_toml_type type;
    if (fixed_digits(p, start, 2) >= 0 && peek(p, 2) == ':') {
        if (!parse_time(p, &dt))
            return NULL;
        type = NNXR_TOML_LOCAL_TIME;
    } else {
        int y = fixed_digits(p, start, 4), mo = -1, d = -1;
        if (y >= 0 && peek(p, 4) == '-')
            mo = fixed_digits(p, start + 5, 2);
        if (mo >= 0 && peek(p, 7) == '-')
            d = fixed_digits(p, start + 8, 2);
        if (d < 0 || (start + 10 < p->n && is_digit((unsigned char)p->s[start + 10]))) {
            fail_at(p, start, "expected a date as YYYY-MM-DD");
            return NULL;
        }
        if (mo < 1 || mo > 12) {
            fail_at(p, start + 5, "month %02d is out of range (01-12)", mo);
            return NULL;
        }
        if (d < 1 || d > days_in_month(y, mo)) {
            fail_at(p, start + 8, "day %02d is out of range for %04d-%02d (01-%02d)", d, y, mo,
                    days_in_month(y, mo));
            return NULL;
        }
        dt.year = y;
        dt.month = mo;
        dt.day = d;
        p->pos = start + 10;
        type = NNXR_TOML_LOCAL_DATE;
        int c = peek(p, 0);
        if (((c == 'T' || c == 't') && is_digit(peek(p, 1))) ||
            (c == ' ' && is_digit(peek(p, 1)) && is_digit(peek(p, 2)) && peek(p, 3) == ':')) {
            p->pos++;
            if (!parse_time(p, &dt))
                return NULL;
            type = NNXR_TOML_LOCAL_DATETIME;
            c = peek(p, 0);
            if (c == 'Z' || c == 'z') {
                p->pos++;
                type = NNXR_TOML_DATETIME;
            } else if (c == '+' || c == '-') {
                size_t at = p->pos;
                int oh = fixed_digits(p, at + 1, 2), om = -1;
                if (oh >= 0 && peek(p, 3) == ':')
                    om = fixed_digits(p, at + 4, 2);
                if (om < 0 || (at + 6 < p->n && is_digit((unsigned char)p->s[at + 6]))) {
                    fail_at(p, at, "expected a time offset as %cHH:MM", c);
                    return NULL;
                }
                if (oh > 23 || om > 59) {
                    fail_at(p, at, "time offset %c%02d:%02d is out of range", c, oh, om);
                    return NULL;
                }
                dt.offset_minutes = (c == '-' ? -1 : 1) * (oh * 60 + om);
                p->pos = at + 6;
                type = NNXR_TOML_DATETIME;
            }
        }
    }
    nnxr_toml_value *v = make_scalar(p, type, at);
    if (v)
        v->u.dt = dt;
    return v;
}

static nnxr_toml_value *parse_array(parser *p, int depth, toml_pos open)
{
    nnxr_toml_value *a = new_container(p, NNXR_TOML_ARRAY, depth, open);
    if (!a)
        return NULL;
    p->pos++;
    for (;;) {
        if (!skip_ws_comments_newlines(p))
            goto fail;
        if (peek(p, 0) == ']')
            break;
        if (p->pos >= p->n) {
            fail_at(p, p->pos, "unterminated array (opened at %d:%d): expected a value or ']'", a->line, a->column);
            goto fail;
        }
        nnxr_toml_value *v = parse_value(p, depth + 1);
        if (!v)
            goto fail;
        if (!array_push(a, v)) {
            value_free(v);
            fail_oom(p);
            goto fail;
        }
        if (!skip_ws_comments_newlines(p))
            goto fail;
        int c = peek(p, 0);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == ']')
            break;
        char what[64];
        if (c < 0)
            fail_at(p, p->pos, "unterminated array (opened at %d:%d): expected ',' or ']'", a->line, a->column);
        else
            fail_at(p, p->pos, "expected ',' or ']' after an array element, found %s",
                    describe_char(p, p->pos, what, sizeof what));
        goto fail;
    }
    p->pos++;
    return a;
fail:
    value_free(a);
    return NULL;
}

static nnxr_toml_value *parse_inline_table(parser *p, int depth, toml_pos open)
{
    nnxr_toml_value *t = new_container(p, NNXR_TOML_TABLE, depth, open);
    if (!t)
        return NULL;
    p->pos++;
    skip_ws(p);
    if (peek(p, 0) == '}') {
        p->pos++;
        t->flags = TBL_INLINE;
        return t;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->n) {
            fail_at(p, p->pos, "unterminated inline table (opened at %d:%d): expected a key or '}'",
                    t->line, t->column);
            goto fail;
        }
        if (newline_len(p, p->pos)) {
            fail_at(p, p->pos, "unterminated inline table (opened at %d:%d): inline tables must be on one line",
                    t->line, t->column);
            goto fail;
        }
        if (!parse_keyval(p, t))
            goto fail;
        skip_ws(p);
        int c = peek(p, 0);
        if (c == ',') {
            p->pos++;
            skip_ws(p);
            if (peek(p, 0) == '}') {
                fail_at(p, p->pos, "trailing comma is not allowed in an inline table");
                goto fail;
            }
            continue;
        }
        if (c == '}')
            break;
        char what[64];
        if (c < 0 || newline_len(p, p->pos))
            fail_at(p, p->pos, "unterminated inline table (opened at %d:%d): expected '}' before %s",
                    t->line, t->column, describe_char(p, p->pos, what, sizeof what));
        else
            fail_at(p, p->pos, "expected ',' or '}' after a key/value pair in an inline table, found %s",
                    describe_char(p, p->pos, what, sizeof what));
        goto fail;
    }
    p->pos++;
    t->flags = TBL_INLINE;
    return t;
fail:
    value_free(t);
    return NULL;
}

static nnxr_toml_value *parse_value(parser *p, int depth)
{
    size_t start = p->pos;
    toml_pos at = pos_here(p);
    int c = peek(p, 0);
    if (c == '"' || c == '\'') {
        if (!parse_string(p, true))
            return NULL;
        nnxr_toml_value *v = make_scalar(p, NNXR_TOML_STRING, at);
        if (!v)
            return NULL;
        v->u.s.ptr = buf_take(p, &v->u.s.len);
        if (!v->u.s.ptr) {
            value_free(v);
            return NULL;
        }
        return v;
    }
    if (c == '[')
        return parse_array(p, depth, at);
    if (c == '{')
        return parse_inline_table(p, depth, at);
    if (c == 't' || c == 'f') {
        const char *word = c == 't' ? "true" : "false";
        size_t len = strlen(word);
        if (p->pos + len <= p->n && memcmp(p->s + p->pos, word, len) == 0 &&
            !is_bare_key_char(peek(p, len))) {
            p->pos += len;
            nnxr_toml_value *v = make_scalar(p, NNXR_TOML_BOOL, at);
            if (v)
                v->u.b = c == 't';
            return v;
        }
    }
    if (c == '+' || c == '-' || c == 'i' || c == 'n')
        return parse_number(p, at);
    if (is_digit(c)) {
        if ((fixed_digits(p, p->pos, 4) >= 0 && peek(p, 4) == '-') ||
            (fixed_digits(p, p->pos, 2) >= 0 && peek(p, 2) == ':'))
            return parse_datetime(p, at);
        return parse_number(p, at);
    }
    char what[64];
    fail_at(p, start, "expected a value, found %s", describe_char(p, start, what, sizeof what));
    return NULL;
}

/* [a.b] or [[a.b]]: finds or creates the table that the following keys go into. */
static nnxr_toml_value *parse_header(parser *p, nnxr_toml_value *root)
{
    toml_pos open = pos_here(p);
    bool aot = peek(p, 1) == '[';
    p->pos += aot ? 2 : 1;
    if (!parse_key(p))
        return NULL;
    if (peek(p, 0) != ']' || (aot && peek(p, 1) != ']')) {
        char what[64];
        fail_at(p, p->pos, "expected '%s' to close the table header, found %s", aot ? "]]" : "]",
                describe_char(p, p->pos, what, sizeof what));
        return NULL;
    }
    p->pos += aot ? 2 : 1;
    char path[256];
    nnxr_toml_value *t = root;
    for (size_t i = 0; i + 1 < p->nparts; i++) {
        key_part *part = &p->parts[i];
        toml_entry *e = table_find(t, part->s, part->len);
        if (!e) {
            nnxr_toml_value *sub = new_container(p, NNXR_TOML_TABLE, t->depth + 1, part->at);
            if (!sub)
                return NULL;
            sub->flags = TBL_IMPLICIT;
            if (!insert_part(p, t, part, sub))
                return NULL;
            t = sub;
            continue;
        }
        nnxr_toml_value *x = e->value;
        if (x->type == NNXR_TOML_ARRAY && (x->flags & ARR_OF_TABLES)) {
            t = x->u.a.items[x->u.a.len - 1]; /* the latest [[element]] */
            continue;
        }
        if (x->type == NNXR_TOML_ARRAY) {
            fail_at(p, part->at.off, "cannot extend '%s': it is a static array (defined at %d:%d), not an array of tables",
                    key_path(p, i + 1, path, sizeof path), x->key_line, x->key_column);
            return NULL;
        }
        if (x->type != NNXR_TOML_TABLE) {
            fail_at(p, part->at.off, "cannot use '%s' as a table: it is already a%s %s (defined at %d:%d)",
                    key_path(p, i + 1, path, sizeof path), x->type == NNXR_TOML_INTEGER ? "n" : "",
                    nnxr_toml_type_name(x->type), x->key_line, x->key_column);
            return NULL;
        }
        if (x->flags & TBL_INLINE) {
            fail_at(p, part->at.off, "cannot extend the inline table '%s' (defined at %d:%d): inline tables are complete when closed",
                    key_path(p, i + 1, path, sizeof path), x->line, x->column);
            return NULL;
        }
        t = x;
    }
    key_part *last = &p->parts[p->nparts - 1];
    key_path(p, p->nparts, path, sizeof path);
    toml_entry *e = table_find(t, last->s, last->len);
    if (aot) {
        nnxr_toml_value *arr;
        if (!e) {
            arr = new_container(p, NNXR_TOML_ARRAY, t->depth + 1, open);
            if (!arr)
                return NULL;
            arr->flags = ARR_OF_TABLES;
            if (!insert_part(p, t, last, arr))
                return NULL;
        } else {
            arr = e->value;
            if (arr->type != NNXR_TOML_ARRAY || !(arr->flags & ARR_OF_TABLES)) {
                if (arr->type == NNXR_TOML_ARRAY)
                    fail_at(p, open.off, "cannot append to '%s' with [[%s]]: it is a static array (defined at %d:%d)",
                            path, path, arr->key_line, arr->key_column);
                else
                    fail_at(p, open.off, "[[%s]] conflicts with '%s', already defined as a%s %s at %d:%d", path,
                            path, arr->type == NNXR_TOML_INTEGER ? "n" : "",
                            nnxr_toml_type_name(arr->type), arr->key_line, arr->key_column);
                return NULL;
            }
        }
        nnxr_toml_value *elem = new_container(p, NNXR_TOML_TABLE, arr->depth + 1, open);
        if (!elem)
            return NULL;
        elem->flags = TBL_HEADER;
        elem->key_line = last->at.line;
        elem->key_column = last->at.col;
        if (!array_push(arr, elem)) {
            value_free(elem);
            fail_oom(p);
            return NULL;
        }
        return elem;
    }
    if (!e) {
        nnxr_toml_value *sub = new_container(p, NNXR_TOML_TABLE, t->depth + 1, open);
        if (!sub)
            return NULL;
        sub->flags = TBL_HEADER;
        if (!insert_part(p, t, last, sub))
            return NULL;
        return sub;
    }
    nnxr_toml_value *x = e->value;
    if (x->type == NNXR_TOML_TABLE && (x->flags & TBL_IMPLICIT)) {
        x->flags = TBL_HEADER;
        set_pos(x, open);
        x->key_line = last->at.line;
        x->key_column = last->at.col;
        return x;
    }
    if (x->type == NNXR_TOML_TABLE && (x->flags & TBL_HEADER))
        fail_at(p, open.off, "table [%s] is defined twice (first at %d:%d)", path, x->line, x->column);
    else if (x->type == NNXR_TOML_TABLE && (x->flags & TBL_DOTTED))
        fail_at(p, open.off, "table [%s] is already defined by dotted keys at %d:%d", path, x->key_line,
                x->key_column);
    else if (x->type == NNXR_TOML_TABLE)
        fail_at(p, open.off, "table [%s] is already defined as an inline table at %d:%d", path, x->line, x->column);
    else if (x->flags & ARR_OF_TABLES)
        fail_at(p, open.off, "table [%s] conflicts with the array of tables [[%s]] defined at %d:%d", path,
                path, x->line, x->column);
    else
        fail_at(p, open.off, "table [%s] conflicts with key '%s', already a%s %s at %d:%d", path, path,
                x->type == NNXR_TOML_INTEGER || x->type == NNXR_TOML_ARRAY ? "n" : "",
                nnxr_toml_type_name(x->type), x->key_line, x->key_column);
    return NULL;
}

/* After a key/value pair or a header: only whitespace and a comment may end the line. */
static bool expect_line_end(parser *p, const char *after)
{
    skip_ws(p);
    if (!skip_comment(p))
        return false;
    if (p->pos >= p->n)
        return true;
    size_t nl = newline_len(p, p->pos);
    if (nl) {
        p->pos += nl;
        return true;
    }
    char what[64];
    return fail_at(p, p->pos, "expected the end of the line after %s, found %s", after,
                   describe_char(p, p->pos, what, sizeof what));
}

static bool parse_document(parser *p, nnxr_toml_value *root)
{
    if (!check_utf8(p))
        return false;
    nnxr_toml_value *cur = root;
    while (p->pos < p->n) {
        skip_ws(p);
        int c = peek(p, 0);
        if (c < 0)
            break;
        if (c == '#' || c == '\n' || c == '\r') {
            if (!expect_line_end(p, "whitespace"))
                return false;
            continue;
        }
        if (c == '[') {
            cur = parse_header(p, root);
            if (!cur || !expect_line_end(p, "a table header"))
                return false;
            continue;
        }
        if (!parse_keyval(p, cur) || !expect_line_end(p, "a key/value pair"))
            return false;
    }
    return true;
}

nnxr_toml_value *nnxr_toml_parse(const char *text, size_t len, const char *name, nnxr_error *err)
{
    parser p = {0};
    p.s = text ? text : "";
    p.n = text ? len : 0;
    p.err = err;
    p.loc_line = p.loc_col = 1;
    if (p.n >= 3 && memcmp(p.s, "\xEF\xBB\xBF", 3) == 0)
        p.start = p.pos = p.loc_pos = 3;
    p.src = source_new(name);
    if (!p.src) {
        nnxr_fail(err, "%s: out of memory", name ? name : "toml");
        return NULL;
    }
    p.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    nnxr_toml_value *root = value_new(NNXR_TOML_TABLE, p.src);
    bool ok;
    if (!root) {
        ok = fail_oom(&p);
    } else {
        root->line = root->column = 1;
        root->flags = TBL_HEADER;
        ok = parse_document(&p, root);
    }
    for (size_t i = 0; i < p.nparts; i++)
        free(p.parts[i].s);
    free(p.parts);
    free(p.buf.p);
    if (p.c_locale)
        freelocale(p.c_locale);
    source_unref(p.src);
    if (!ok) {
        value_free(root);
        return NULL;
    }
    return root;
}

nnxr_toml_value *nnxr_toml_parse_file(const char *path, nnxr_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nnxr_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *np = realloc(data, cap);
            if (!np) {
                free(data);
                fclose(f);
                nnxr_fail(err, "%s: out of memory", path);
                return NULL;
            }
            data = np;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(data);
        fclose(f);
        nnxr_fail(err, "%s: cannot read: %s", path, strerror(e));
        return NULL;
    }
    fclose(f);
    nnxr_toml_value *root = nnxr_toml_parse(data, len, path, err);
    free(data);
    return root;
}

/* ------------------------------------------------------------------------------------ */
/* Accessors                                                                             */

nnxr_toml_type nnxr_toml_type_of(const nnxr_toml_value *v)
{
    /* A missing value must not pass for any type (least of all an empty table). */
    return v ? v->type : (nnxr_toml_type)-1;
}

const char *nnxr_toml_type_name(nnxr_toml_type t)
{
    switch (t) {
    case NNXR_TOML_STRING: return "string";
    case NNXR_TOML_INTEGER: return "integer";
    case NNXR_TOML_FLOAT: return "float";
    case NNXR_TOML_BOOL: return "bool";
    case NNXR_TOML_DATETIME: return "datetime";
    case NNXR_TOML_LOCAL_DATETIME: return "datetime-local";
    case NNXR_TOML_LOCAL_DATE: return "date-local";
    case NNXR_TOML_LOCAL_TIME: return "time-local";
    case NNXR_TOML_ARRAY: return "array";
    case NNXR_TOML_TABLE: return "table";
    }
    return "none";
}

int nnxr_toml_line(const nnxr_toml_value *v) { return v ? v->line : 0; }
int nnxr_toml_column(const nnxr_toml_value *v) { return v ? v->column : 0; }
int nnxr_toml_key_line(const nnxr_toml_value *v) { return v ? v->key_line : 0; }
int nnxr_toml_key_column(const nnxr_toml_value *v) { return v ? v->key_column : 0; }

const char *nnxr_toml_source_name(const nnxr_toml_value *v)
{
    return v && v->src ? v->src->name : "";
}

size_t nnxr_toml_table_len(const nnxr_toml_value *table)
{
    return table && table->type == NNXR_TOML_TABLE ? table->u.t.len : 0;
}

const char *nnxr_toml_table_key(const nnxr_toml_value *table, size_t i)
{
    if (!table || table->type != NNXR_TOML_TABLE || i >= table->u.t.len)
        return NULL;
    return table->u.t.items[i].key;
}

size_t nnxr_toml_table_key_len(const nnxr_toml_value *table, size_t i)
{
    if (!table || table->type != NNXR_TOML_TABLE || i >= table->u.t.len)
        return 0;
    return table->u.t.items[i].key_len;
}

nnxr_toml_value *nnxr_toml_table_at(const nnxr_toml_value *table, size_t i)
{
    if (!table || table->type != NNXR_TOML_TABLE || i >= table->u.t.len)
        return NULL;
    return table->u.t.items[i].value;
}

nnxr_toml_value *nnxr_toml_table_get(const nnxr_toml_value *table, const char *key)
{
    if (!table || !key || table->type != NNXR_TOML_TABLE)
        return NULL;
    toml_entry *e = table_find(table, key, strlen(key));
    return e ? e->value : NULL;
}

size_t nnxr_toml_array_len(const nnxr_toml_value *array)
{
    return array && array->type == NNXR_TOML_ARRAY ? array->u.a.len : 0;
}

nnxr_toml_value *nnxr_toml_array_at(const nnxr_toml_value *array, size_t i)
{
    if (!array || array->type != NNXR_TOML_ARRAY || i >= array->u.a.len)
        return NULL;
    return array->u.a.items[i];
}

const char *nnxr_toml_string(const nnxr_toml_value *v)
{
    return v && v->type == NNXR_TOML_STRING ? v->u.s.ptr : NULL;
}

size_t nnxr_toml_string_len(const nnxr_toml_value *v)
{
    return v && v->type == NNXR_TOML_STRING ? v->u.s.len : 0;
}

int64_t nnxr_toml_integer(const nnxr_toml_value *v)
{
    return v && v->type == NNXR_TOML_INTEGER ? v->u.i : 0;
}

double nnxr_toml_float(const nnxr_toml_value *v)
{
    return v && v->type == NNXR_TOML_FLOAT ? v->u.f : 0.0;
}

bool nnxr_toml_bool(const nnxr_toml_value *v)
{
    return v && v->type == NNXR_TOML_BOOL ? v->u.b : false;
}

const nnxr_toml_datetime *nnxr_toml_datetime_of(const nnxr_toml_value *v)
{
    if (!v)
        return NULL;
    switch (v->type) {
    case NNXR_TOML_DATETIME:
    case NNXR_TOML_LOCAL_DATETIME:
    case NNXR_TOML_LOCAL_DATE:
    case NNXR_TOML_LOCAL_TIME:
        return &v->u.dt;
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Building                                                                              */

nnxr_toml_value *nnxr_toml_new_table(void)
{
    nnxr_toml_value *t = value_new(NNXR_TOML_TABLE, NULL);
    if (t)
        t->flags = TBL_HEADER;
    return t;
}

/* Adds v under key, or frees it and returns NULL when the key exists (or on failure). */
static nnxr_toml_value *set_value(nnxr_toml_value *table, const char *key, nnxr_toml_value *v)
{
    if (!v)
        return NULL;
    if (!table || !key || table->type != NNXR_TOML_TABLE || table_find(table, key, strlen(key)) ||
        !table_insert(table, key, strlen(key), v)) {
        value_free(v);
        return NULL;
    }
    return v;
}

static nnxr_toml_value *push_value(nnxr_toml_value *array, nnxr_toml_value *v)
{
    if (!v)
        return NULL;
    if (!array || array->type != NNXR_TOML_ARRAY || !array_push(array, v)) {
        value_free(v);
        return NULL;
    }
    return v;
}

static nnxr_toml_value *new_string(const char *s, size_t len)
{
    nnxr_toml_value *v = value_new(NNXR_TOML_STRING, NULL);
    if (!v)
        return NULL;
    v->u.s.ptr = malloc(len + 1);
    if (!v->u.s.ptr) {
        free(v);
        return NULL;
    }
    if (len)
        memcpy(v->u.s.ptr, s, len);
    v->u.s.ptr[len] = '\0';
    v->u.s.len = len;
    return v;
}

static nnxr_toml_value *new_scalar(nnxr_toml_type type)
{
    return value_new(type, NULL);
}

nnxr_toml_value *nnxr_toml_set_string(nnxr_toml_value *table, const char *key, const char *s)
{
    return s ? set_value(table, key, new_string(s, strlen(s))) : NULL;
}

nnxr_toml_value *nnxr_toml_set_integer(nnxr_toml_value *table, const char *key, int64_t i)
{
    nnxr_toml_value *v = new_scalar(NNXR_TOML_INTEGER);
    if (v)
        v->u.i = i;
    return set_value(table, key, v);
}

nnxr_toml_value *nnxr_toml_set_float(nnxr_toml_value *table, const char *key, double d)
{
    nnxr_toml_value *v = new_scalar(NNXR_TOML_FLOAT);
    if (v)
        v->u.f = d;
    return set_value(table, key, v);
}

nnxr_toml_value *nnxr_toml_set_bool(nnxr_toml_value *table, const char *key, bool b)
{
    nnxr_toml_value *v = new_scalar(NNXR_TOML_BOOL);
    if (v)
        v->u.b = b;
    return set_value(table, key, v);
}

static bool datetime_valid(nnxr_toml_type type, const nnxr_toml_datetime *dt)
{
    bool has_date = type != NNXR_TOML_LOCAL_TIME, has_time = type != NNXR_TOML_LOCAL_DATE;
    if (type < NNXR_TOML_DATETIME || type > NNXR_TOML_LOCAL_TIME || !dt)
        return false;
    if (has_date && (dt->year < 0 || dt->year > 9999 || dt->month < 1 || dt->month > 12 ||
                     dt->day < 1 || dt->day > days_in_month(dt->year, dt->month)))
        return false;
    if (has_time && (dt->hour < 0 || dt->hour > 23 || dt->minute < 0 || dt->minute > 59 ||
                     dt->second < 0 || dt->second > 60 || dt->nanosecond < 0 ||
                     dt->nanosecond > 999999999))
        return false;
    if (type == NNXR_TOML_DATETIME && (dt->offset_minutes <= -24 * 60 || dt->offset_minutes >= 24 * 60))
        return false;
    return true;
}

nnxr_toml_value *nnxr_toml_set_datetime(nnxr_toml_value *table, const char *key, nnxr_toml_type type,
                                        const nnxr_toml_datetime *dt)
{
    if (!datetime_valid(type, dt))
        return NULL;
    nnxr_toml_value *v = new_scalar(type);
    if (v) {
        v->u.dt = *dt;
        if (type == NNXR_TOML_LOCAL_DATE)
            v->u.dt.hour = v->u.dt.minute = v->u.dt.second = v->u.dt.nanosecond = 0;
        if (type == NNXR_TOML_LOCAL_TIME)
            v->u.dt.year = v->u.dt.month = v->u.dt.day = 0;
        if (type != NNXR_TOML_DATETIME)
            v->u.dt.offset_minutes = 0;
    }
    return set_value(table, key, v);
}

nnxr_toml_value *nnxr_toml_set_table(nnxr_toml_value *table, const char *key)
{
    return set_value(table, key, nnxr_toml_new_table());
}

nnxr_toml_value *nnxr_toml_set_array(nnxr_toml_value *table, const char *key)
{
    return set_value(table, key, new_scalar(NNXR_TOML_ARRAY));
}

static nnxr_toml_value *copy_value(const nnxr_toml_value *v)
{
    nnxr_toml_value *c = value_new(v->type, v->src);
    if (!c)
        return NULL;
    c->flags = v->flags;
    c->line = v->line;
    c->column = v->column;
    c->key_line = v->key_line;
    c->key_column = v->key_column;
    switch (v->type) {
    case NNXR_TOML_STRING:
        c->u.s.ptr = malloc(v->u.s.len + 1);
        if (!c->u.s.ptr)
            goto fail;
        memcpy(c->u.s.ptr, v->u.s.ptr, v->u.s.len + 1);
        c->u.s.len = v->u.s.len;
        break;
    case NNXR_TOML_ARRAY:
        for (size_t i = 0; i < v->u.a.len; i++) {
            nnxr_toml_value *x = copy_value(v->u.a.items[i]);
            if (!x || !array_push(c, x)) {
                value_free(x);
                goto fail;
            }
        }
        break;
    case NNXR_TOML_TABLE:
        for (size_t i = 0; i < v->u.t.len; i++) {
            const toml_entry *e = &v->u.t.items[i];
            nnxr_toml_value *x = copy_value(e->value);
            if (!x || !table_insert(c, e->key, e->key_len, x)) {
                value_free(x);
                goto fail;
            }
        }
        break;
    default:
        c->u = v->u;
        break;
    }
    return c;
fail:
    value_free(c);
    return NULL;
}

nnxr_toml_value *nnxr_toml_set_copy(nnxr_toml_value *table, const char *key, const nnxr_toml_value *v)
{
    if (!v || !table || !key || table->type != NNXR_TOML_TABLE || table_find(table, key, strlen(key)))
        return NULL;
    nnxr_toml_value *c = copy_value(v);
    if (c) /* the copy's key is the new one; it has no position in any text */
        c->key_line = c->key_column = 0;
    return set_value(table, key, c);
}

nnxr_toml_value *nnxr_toml_push_table(nnxr_toml_value *array)
{
    return push_value(array, nnxr_toml_new_table());
}

nnxr_toml_value *nnxr_toml_push_copy(nnxr_toml_value *array, const nnxr_toml_value *v)
{
    if (!v || !array || array->type != NNXR_TOML_ARRAY)
        return NULL;
    nnxr_toml_value *c = copy_value(v);
    if (c)
        c->key_line = c->key_column = 0;
    return push_value(array, c);
}

nnxr_toml_value *nnxr_toml_push_string(nnxr_toml_value *array, const char *s)
{
    return s ? push_value(array, new_string(s, strlen(s))) : NULL;
}

nnxr_toml_value *nnxr_toml_push_integer(nnxr_toml_value *array, int64_t i)
{
    nnxr_toml_value *v = new_scalar(NNXR_TOML_INTEGER);
    if (v)
        v->u.i = i;
    return push_value(array, v);
}

nnxr_toml_value *nnxr_toml_push_float(nnxr_toml_value *array, double d)
{
    nnxr_toml_value *v = new_scalar(NNXR_TOML_FLOAT);
    if (v)
        v->u.f = d;
    return push_value(array, v);
}

nnxr_toml_value *nnxr_toml_push_bool(nnxr_toml_value *array, bool b)
{
    nnxr_toml_value *v = new_scalar(NNXR_TOML_BOOL);
    if (v)
        v->u.b = b;
    return push_value(array, v);
}

nnxr_toml_value *nnxr_toml_push_array(nnxr_toml_value *array)
{
    return push_value(array, new_scalar(NNXR_TOML_ARRAY));
}
