/* config/toml_write.c — the two writers of a TOML document: the tagged JSON of the toml-test
 * suite (what `nnxr toml-json` prints) and TOML text that parses back to an equal document
 * (how a resolved scene is saved). Both use only the public accessors of toml.h. */
#include "config/toml.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Numbers are written in the C locale whatever the process chose (a UI toolkit may set a
 * locale whose decimal separator is a comma); uselocale is per thread, so this is safe. */
typedef struct c_numeric {
    locale_t c, old;
} c_numeric;

static void c_numeric_enter(c_numeric *n)
{
    n->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    n->old = n->c ? uselocale(n->c) : (locale_t)0;
}

static void c_numeric_leave(c_numeric *n)
{
    if (n->c) {
        uselocale(n->old);
        freelocale(n->c);
    }
}

/* The shortest of %.15g..%.17g that reads back as the same double, always with a '.' or an
 * exponent so that it stays a float: 1.0, not 1. */
static void format_float(double d, char *out, size_t size)
{
    if (isnan(d)) {
        snprintf(out, size, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(out, size, d < 0 ? "-inf" : "inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (!strpbrk(out, ".e")) {
        size_t n = strlen(out);
        if (n + 3 <= size)
            memcpy(out + n, ".0", 3);
    }
}

static void format_datetime(nnxr_toml_type type, const nnxr_toml_datetime *dt, char *out, size_t size)
{
    size_t o = 0;
    if (type != NNXR_TOML_LOCAL_TIME)
        o += (size_t)snprintf(out + o, size - o, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
    if (type == NNXR_TOML_DATETIME || type == NNXR_TOML_LOCAL_DATETIME)
        o += (size_t)snprintf(out + o, size - o, "T");
    if (type != NNXR_TOML_LOCAL_DATE) {
        o += (size_t)snprintf(out + o, size - o, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
        if (dt->nanosecond > 0) {
            char frac[16];
            snprintf(frac, sizeof frac, "%09d", dt->nanosecond);
            size_t n = strlen(frac);
            while (n > 1 && frac[n - 1] == '0')
                n--;
            o += (size_t)snprintf(out + o, size - o, ".%.*s", (int)n, frac);
        }
    }
    if (type == NNXR_TOML_DATETIME) {
        int off = dt->offset_minutes;
        if (off == 0)
            snprintf(out + o, size - o, "Z");
        else
            snprintf(out + o, size - o, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
    }
}

/* A string as a JSON or TOML basic string: the escapes both share, \uXXXX for the rest of
 * the control characters (and U+007F, which TOML does not allow raw). */
static void write_quoted(FILE *out, const char *s, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\b': fputs("\\b", out); break;
        case '\t': fputs("\\t", out); break;
        case '\n': fputs("\\n", out); break;
        case '\f': fputs("\\f", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (c < 0x20 || c == 0x7F)
                fprintf(out, "\\u%04X", c);
            else
                fputc(c, out);
        }
    }
    fputc('"', out);
}

static void indent(FILE *out, int level)
{
    for (int i = 0; i < level; i++)
        fputs("  ", out);
}

static void json_value(FILE *out, const nnxr_toml_value *v, int level)
{
    nnxr_toml_type type = nnxr_toml_type_of(v);
    char text[128];
    switch (type) {
    case NNXR_TOML_TABLE: {
        size_t n = nnxr_toml_table_len(v);
        if (n == 0) {
            fputs("{}", out);
            return;
        }
        fputs("{\n", out);
        for (size_t i = 0; i < n; i++) {
            indent(out, level + 1);
            write_quoted(out, nnxr_toml_table_key(v, i), nnxr_toml_table_key_len(v, i));
            fputs(": ", out);
            json_value(out, nnxr_toml_table_at(v, i), level + 1);
            fputs(i + 1 < n ? ",\n" : "\n", out);
        }
        indent(out, level);
        fputc('}', out);
        return;
    }
    case NNXR_TOML_ARRAY: {
        size_t n = nnxr_toml_array_len(v);
        if (n == 0) {
            fputs("[]", out);
            return;
        }
        fputs("[\n", out);
        for (size_t i = 0; i < n; i++) {
            indent(out, level + 1);
            json_value(out, nnxr_toml_array_at(v, i), level + 1);
            fputs(i + 1 < n ? ",\n" : "\n", out);
        }
        indent(out, level);
        fputc(']', out);
        return;
    }
    case NNXR_TOML_STRING:
        fputs("{\"type\": \"string\", \"value\": ", out);
        write_quoted(out, nnxr_toml_string(v), nnxr_toml_string_len(v));
        fputc('}', out);
        return;
    case NNXR_TOML_INTEGER:
        snprintf(text, sizeof text, "%lld", (long long)nnxr_toml_integer(v));
        break;
    case NNXR_TOML_FLOAT:
        format_float(nnxr_toml_float(v), text, sizeof text);
        break;
    case NNXR_TOML_BOOL:
        snprintf(text, sizeof text, "%s", nnxr_toml_bool(v) ? "true" : "false");
        break;
    default:
        format_datetime(type, nnxr_toml_datetime_of(v), text, sizeof text);
        break;
    }
    fprintf(out, "{\"type\": \"%s\", \"value\": \"%s\"}", nnxr_toml_type_name(type), text);
}

bool nnxr_toml_write_json(const nnxr_toml_value *root, FILE *out)
{
    if (!root || !out)
        return false;
    c_numeric loc;
    c_numeric_enter(&loc);
    json_value(out, root, 0);
    fputc('\n', out);
    c_numeric_leave(&loc);
    return !ferror(out);
}

/* ------------------------------------------------------------------------------------ */

static void toml_key(FILE *out, const char *k, size_t len)
{
    bool bare = len > 0;
    for (size_t i = 0; i < len && bare; i++) {
        unsigned char c = (unsigned char)k[i];
        bare = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    }
    if (bare)
        fwrite(k, 1, len, out);
    else
        write_quoted(out, k, len);
}

/* Arrays whose elements are all tables are written as [[name]] sections (when they sit in a
 * table written with headers); an empty array stays an inline []. */
static bool is_array_of_tables(const nnxr_toml_value *v)
{
    size_t n = nnxr_toml_array_len(v);
    if (nnxr_toml_type_of(v) != NNXR_TOML_ARRAY || n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (nnxr_toml_type_of(nnxr_toml_array_at(v, i)) != NNXR_TOML_TABLE)
            return false;
    return true;
}

static void toml_inline(FILE *out, const nnxr_toml_value *v)
{
    nnxr_toml_type type = nnxr_toml_type_of(v);
    char text[128];
    switch (type) {
    case NNXR_TOML_TABLE: {
        size_t n = nnxr_toml_table_len(v);
        fputc('{', out);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ", " : " ", out);
            toml_key(out, nnxr_toml_table_key(v, i), nnxr_toml_table_key_len(v, i));
            fputs(" = ", out);
            toml_inline(out, nnxr_toml_table_at(v, i));
        }
        fputs(n ? " }" : "}", out);
        return;
    }
    case NNXR_TOML_ARRAY: {
        size_t n = nnxr_toml_array_len(v);
        fputc('[', out);
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputs(", ", out);
            toml_inline(out, nnxr_toml_array_at(v, i));
        }
        fputc(']', out);
        return;
    }
    case NNXR_TOML_STRING:
        write_quoted(out, nnxr_toml_string(v), nnxr_toml_string_len(v));
        return;
    case NNXR_TOML_INTEGER:
        fprintf(out, "%lld", (long long)nnxr_toml_integer(v));
        return;
    case NNXR_TOML_FLOAT:
        format_float(nnxr_toml_float(v), text, sizeof text);
        fputs(text, out);
        return;
    case NNXR_TOML_BOOL:
        fputs(nnxr_toml_bool(v) ? "true" : "false", out);
        return;
    default:
        format_datetime(type, nnxr_toml_datetime_of(v), text, sizeof text);
        fputs(text, out);
        return;
    }
}

/* The dotted name of a section, kept as a chain through the C stack. */
typedef struct toml_path {
    const struct toml_path *up;
    const char *key;
    size_t len;
} toml_path;

static void toml_path_write(FILE *out, const toml_path *p)
{
    if (p->up && p->up->key) {
        toml_path_write(out, p->up);
        fputc('.', out);
    }
    toml_key(out, p->key, p->len);
}

/* A table's body: its plain key = value pairs first, because nothing can be added to it
 * after the next header; then its sub-tables as [path.key]; then arrays of tables. */
static void toml_body(FILE *out, const nnxr_toml_value *t, const toml_path *path)
{
    size_t n = nnxr_toml_table_len(t);
    for (size_t i = 0; i < n; i++) {
        const nnxr_toml_value *v = nnxr_toml_table_at(t, i);
        if (nnxr_toml_type_of(v) == NNXR_TOML_TABLE || is_array_of_tables(v))
            continue;
        toml_key(out, nnxr_toml_table_key(t, i), nnxr_toml_table_key_len(t, i));
        fputs(" = ", out);
        toml_inline(out, v);
        fputc('\n', out);
    }
    for (size_t i = 0; i < n; i++) {
        const nnxr_toml_value *v = nnxr_toml_table_at(t, i);
        if (nnxr_toml_type_of(v) != NNXR_TOML_TABLE)
            continue;
        toml_path sub = {path, nnxr_toml_table_key(t, i), nnxr_toml_table_key_len(t, i)};
        fputs("\n[", out);
        toml_path_write(out, &sub);
        fputs("]\n", out);
        toml_body(out, v, &sub);
    }
    for (size_t i = 0; i < n; i++) {
        const nnxr_toml_value *v = nnxr_toml_table_at(t, i);
        if (!is_array_of_tables(v))
            continue;
        toml_path sub = {path, nnxr_toml_table_key(t, i), nnxr_toml_table_key_len(t, i)};
        for (size_t j = 0; j < nnxr_toml_array_len(v); j++) {
            fputs("\n[[", out);
            toml_path_write(out, &sub);
            fputs("]]\n", out);
            toml_body(out, nnxr_toml_array_at(v, j), &sub);
        }
    }
}

bool nnxr_toml_write_toml(const nnxr_toml_value *root, FILE *out)
{
    if (!root || !out || nnxr_toml_type_of(root) != NNXR_TOML_TABLE)
        return false;
    c_numeric loc;
    c_numeric_enter(&loc);
    toml_path top = {NULL, NULL, 0};
    toml_body(out, root, &top);
    c_numeric_leave(&loc);
    return !ferror(out);
}
