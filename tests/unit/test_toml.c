/* tests/unit/test_toml.c — the TOML parser beyond the conformance suite: positions of values
 * and keys in the tree and in messages, int64 limits, the nesting bound, the builder and the
 * write_toml round trip, write_json escaping, big documents in linear time, and truncated or
 * corrupted documents (which must fail cleanly, never crash). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "check.h"
#include "app/cli.h"
#include "config/toml.h"

static nnxr_toml_value *parse(const char *text, nnxr_error *err)
{
    memset(err->message, 0, sizeof err->message);
    return nnxr_toml_parse(text, strlen(text), "t.toml", err);
}

/* Parses text that must be invalid and checks the message contains want. */
static void expect_error(const char *text, const char *want, int line)
{
    nnxr_error err;
    nnxr_toml_value *doc = parse(text, &err);
    CHECKF(doc == NULL, "(test at line %d) accepted: %s", line, text);
    nnxr_toml_free(doc);
    if (!doc)
        CHECKF(strstr(err.message, want) != NULL, "(test at line %d) \"%s\" lacks \"%s\"", line,
               err.message, want);
}
#define EXPECT_ERROR(text, want) expect_error(text, want, __LINE__)

static nnxr_toml_value *get_path(const nnxr_toml_value *t, const char *a, const char *b)
{
    nnxr_toml_value *v = nnxr_toml_table_get(t, a);
    return b ? nnxr_toml_table_get(v, b) : v;
}

static double elapsed_s(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* Deep equality of two documents: tables as maps (the writer reorders keys), arrays in
 * order, floats by value with nan == nan and the sign of zero kept. */
static bool equal(const nnxr_toml_value *a, const nnxr_toml_value *b)
{
    nnxr_toml_type t = nnxr_toml_type_of(a);
    if (t != nnxr_toml_type_of(b))
        return false;
    switch (t) {
    case NNXR_TOML_TABLE: {
        size_t n = nnxr_toml_table_len(a);
        if (n != nnxr_toml_table_len(b))
            return false;
        for (size_t i = 0; i < n; i++) {
            const char *k = nnxr_toml_table_key(a, i);
            size_t klen = nnxr_toml_table_key_len(a, i);
            const nnxr_toml_value *match = NULL;
            for (size_t j = 0; j < n && !match; j++)
                if (nnxr_toml_table_key_len(b, j) == klen && memcmp(nnxr_toml_table_key(b, j), k, klen) == 0)
                    match = nnxr_toml_table_at(b, j);
            if (!match || !equal(nnxr_toml_table_at(a, i), match))
                return false;
        }
        return true;
    }
    case NNXR_TOML_ARRAY: {
        size_t n = nnxr_toml_array_len(a);
        if (n != nnxr_toml_array_len(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!equal(nnxr_toml_array_at(a, i), nnxr_toml_array_at(b, i)))
                return false;
        return true;
    }
    case NNXR_TOML_STRING:
        return nnxr_toml_string_len(a) == nnxr_toml_string_len(b) &&
               memcmp(nnxr_toml_string(a), nnxr_toml_string(b), nnxr_toml_string_len(a)) == 0;
    case NNXR_TOML_INTEGER:
        return nnxr_toml_integer(a) == nnxr_toml_integer(b);
    case NNXR_TOML_FLOAT: {
        double x = nnxr_toml_float(a), y = nnxr_toml_float(b);
        if (isnan(x) || isnan(y))
            return isnan(x) && isnan(y);
        return x == y && signbit(x) == signbit(y);
    }
    case NNXR_TOML_BOOL:
        return nnxr_toml_bool(a) == nnxr_toml_bool(b);
    default:
        return memcmp(nnxr_toml_datetime_of(a), nnxr_toml_datetime_of(b), sizeof(nnxr_toml_datetime)) == 0;
    }
}

/* write_toml into memory, then parse that text again. */
static nnxr_toml_value *round_trip(const nnxr_toml_value *doc, char **text_out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    bool ok = nnxr_toml_write_toml(doc, f);
    fclose(f);
    nnxr_error err;
    nnxr_toml_value *back = ok ? nnxr_toml_parse(text, len, "written.toml", &err) : NULL;
    if (ok && !back)
        fprintf(stderr, "written TOML does not parse: %s\n----\n%s\n----\n", err.message, text);
    if (text_out)
        *text_out = text;
    else
        free(text);
    return back;
}

static char *json_of(const nnxr_toml_value *doc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    nnxr_toml_write_json(doc, f);
    fclose(f);
    return text;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (data) {
        data[n] = '\0';
        *len = (size_t)n;
    }
    return data;
}

static void test_positions(void)
{
    const char *text = "# comment\n"
                       "lr = 0.1\n"
                       "[model]\n"
                       "  name = \"mlp\"\n"
                       "\tlayers = [1, 2,\n"
                       "    3]\n"
                       "x.y.z = true\n"
                       "\"\xC3\xA9\" = \"\xC3\xBC\"\n"
                       "[[runs]]\n"
                       "[[runs]]\n"
                       "seed = 7\n";
    nnxr_error err;
    nnxr_toml_value *doc = parse(text, &err);
    CHECKF(doc != NULL, "%s", err.message);
    if (!doc)
        return;
    nnxr_toml_value *lr = nnxr_toml_table_get(doc, "lr");
    CHECK(nnxr_toml_line(lr) == 2 && nnxr_toml_column(lr) == 6);
    CHECK(nnxr_toml_key_line(lr) == 2 && nnxr_toml_key_column(lr) == 1);
    CHECK(strcmp(nnxr_toml_source_name(lr), "t.toml") == 0);
    nnxr_toml_value *model = nnxr_toml_table_get(doc, "model");
    CHECK(nnxr_toml_line(model) == 3 && nnxr_toml_column(model) == 1);
    CHECK(nnxr_toml_key_line(model) == 3 && nnxr_toml_key_column(model) == 2);
    nnxr_toml_value *name = nnxr_toml_table_get(model, "name");
    CHECK(nnxr_toml_key_line(name) == 4 && nnxr_toml_key_column(name) == 3);
    CHECK(nnxr_toml_line(name) == 4 && nnxr_toml_column(name) == 10);
    nnxr_toml_value *layers = nnxr_toml_table_get(model, "layers");
    CHECK(nnxr_toml_key_column(layers) == 2); /* a tab is one character */
    CHECK(nnxr_toml_line(layers) == 5 && nnxr_toml_column(layers) == 11);
    nnxr_toml_value *three = nnxr_toml_array_at(layers, 2);
    CHECK(nnxr_toml_integer(three) == 3 && nnxr_toml_line(three) == 6 && nnxr_toml_column(three) == 5);
    CHECK(nnxr_toml_key_line(three) == 0); /* an array element has no key */
    nnxr_toml_value *x = nnxr_toml_table_get(model, "x");
    nnxr_toml_value *z = get_path(x, "y", "z");
    CHECK(nnxr_toml_bool(z) && nnxr_toml_line(z) == 7 && nnxr_toml_column(z) == 9);
    CHECK(nnxr_toml_key_line(z) == 7 && nnxr_toml_key_column(z) == 5); /* its own dotted part */
    CHECK(nnxr_toml_key_column(x) == 1 && nnxr_toml_key_column(nnxr_toml_table_get(x, "y")) == 3);
    /* Columns count characters: "é" is 2 bytes and one column. */
    nnxr_toml_value *e = nnxr_toml_table_get(model, "\xC3\xA9");
    CHECK(nnxr_toml_key_line(e) == 8 && nnxr_toml_key_column(e) == 1);
    CHECK(nnxr_toml_line(e) == 8 && nnxr_toml_column(e) == 7);
    nnxr_toml_value *runs = nnxr_toml_table_get(doc, "runs");
    CHECK(nnxr_toml_array_len(runs) == 2);
    CHECK(nnxr_toml_line(runs) == 9 && nnxr_toml_line(nnxr_toml_array_at(runs, 1)) == 10);
    nnxr_toml_value *seed = nnxr_toml_table_get(nnxr_toml_array_at(runs, 1), "seed");
    CHECK(nnxr_toml_integer(seed) == 7 && nnxr_toml_line(seed) == 11);
    /* Key order is the document's. */
    CHECK(nnxr_toml_table_len(doc) == 3);
    CHECK(strcmp(nnxr_toml_table_key(doc, 0), "lr") == 0 && strcmp(nnxr_toml_table_key(doc, 1), "model") == 0 &&
          strcmp(nnxr_toml_table_key(doc, 2), "runs") == 0);
    CHECK(strcmp(nnxr_toml_table_key(model, 0), "name") == 0 && strcmp(nnxr_toml_table_key(model, 2), "x") == 0);
    nnxr_toml_free(doc);

    /* A table header that defines an implicit table moves its position there. */
    doc = parse("[a.b]\nc = 1\n\n[a]\nd = 2\n", &err);
    CHECKF(doc != NULL, "%s", err.message);
    CHECK(nnxr_toml_line(nnxr_toml_table_get(doc, "a")) == 4);
    nnxr_toml_free(doc);

    /* CRLF lines count once; the position after a multi-line string is right. */
    doc = parse("a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\nc = 'z'\r\n", &err);
    CHECKF(doc != NULL, "%s", err.message);
    CHECK(strcmp(nnxr_toml_string(nnxr_toml_table_get(doc, "b")), "x\ny") == 0);
    CHECK(nnxr_toml_line(nnxr_toml_table_get(doc, "c")) == 4 && nnxr_toml_column(nnxr_toml_table_get(doc, "c")) == 5);
    nnxr_toml_free(doc);
    /* A byte order mark does not count as a column. */
    doc = parse("\xEF\xBB\xBFk = 1\n", &err);
    CHECKF(doc != NULL, "%s", err.message);
    CHECK(nnxr_toml_column(nnxr_toml_table_get(doc, "k")) == 5);
    nnxr_toml_free(doc);
}

static void test_error_messages(void)
{
    EXPECT_ERROR("a = 1\nb = 2\na = 3\n", "t.toml:3:1: duplicate key 'a' (first defined at 1:1)");
    EXPECT_ERROR("[t]\nx.y = 1\nx.y = 2\n", "t.toml:3:3: duplicate key 'x.y' (first defined at 2:3)");
    EXPECT_ERROR("a 1\n", "t.toml:1:3: expected '=' after key");
    EXPECT_ERROR("\"\xC3\xA9\xC3\xA9\xC3\xA9\" = 1 x\n", "t.toml:1:11: expected the end of the line");
    EXPECT_ERROR("[a]\n[b]\n[a]\n", "t.toml:3:1: table [a] is defined twice (first at 1:1)");
    EXPECT_ERROR("s = \"abc\n", "t.toml:1:9: unterminated string");
    EXPECT_ERROR("s = \"\"\"abc", "t.toml:1:5: unterminated multi-line string");
    EXPECT_ERROR("a = [1, 2\n", "unterminated array (opened at 1:5)");
    EXPECT_ERROR("a = {x = 1\n", "unterminated inline table (opened at 1:5)");
    EXPECT_ERROR("a = {x = 1,}\n", "trailing comma");
    EXPECT_ERROR("x = 01\n", "1:5: leading zeros are not allowed");
    EXPECT_ERROR("x = 1__0\n", "underscore");
    EXPECT_ERROR("x = \"\\uD800\"\n", "not a Unicode scalar value");
    EXPECT_ERROR("x = \"\\q\"\n", "invalid escape");
    EXPECT_ERROR("x = 2023-02-29\n", "day 29 is out of range for 2023-02");
    EXPECT_ERROR("x = 2023-01-01T12:00:61\n", "second 61");
    EXPECT_ERROR("x = 1\r2\n", "carriage return");
    EXPECT_ERROR("x = \"\xFF\"\n", "t.toml:1:6: invalid UTF-8");
    EXPECT_ERROR("a = {b = 1}\na.c = 2\n", "inline table 'a' (defined at 1:5)");
    EXPECT_ERROR("a = [1]\n[[a]]\n", "static array");
    EXPECT_ERROR("[a]\nb.c = 1\n[a.b]\n", "already defined by dotted keys at 2:1");
    EXPECT_ERROR("[a.b]\n[a]\nb.c = 1\n", "defined by the header at 1:1");
    /* An implicit table taken over by dotted keys cannot be defined again by a header. */
    EXPECT_ERROR("[a.b.c]\n[a]\nb.d = 1\n[a.b]\n", "already defined by dotted keys");
    nnxr_error err;
    nnxr_toml_value *doc = parse("[a.b.c]\n[a]\nb.d = 1\n", &err);
    CHECKF(doc != NULL, "%s", err.message);
    CHECK(nnxr_toml_integer(get_path(get_path(doc, "a", "b"), "d", NULL)) == 1);
    nnxr_toml_free(doc);
    /* A NULL name gives just LINE:COL. */
    doc = nnxr_toml_parse("x = ?", 5, NULL, &err);
    CHECK(doc == NULL);
    CHECK(strncmp(err.message, "1:5: ", 5) == 0);
    /* A missing file names itself. */
    doc = nnxr_toml_parse_file("/nonexistent/dir/x.toml", &err);
    CHECK(doc == NULL);
    CHECK_CONTAINS(err.message, "/nonexistent/dir/x.toml: cannot open");
    /* An embedded NUL byte is a control character, not the end of the text. */
    doc = nnxr_toml_parse("a = 1\0b = 2", 11, "t.toml", &err);
    CHECK(doc == NULL);
    CHECK_CONTAINS(err.message, "t.toml:1:6:");
}

static void test_numbers(void)
{
    nnxr_error err;
    nnxr_toml_value *doc = parse("max = 9223372036854775807\n"
                                 "min = -9223372036854775808\n"
                                 "hex = 0x7FFF_FFFF_FFFF_FFFF\n"
                                 "oct = 0o777777777777777777777\n"
                                 "bin = 0b111111111111111111111111111111111111111111111111111111111111111\n"
                                 "plus = +17\n"
                                 "zero = -0\n"
                                 "f1 = 6.02e23\n"
                                 "f2 = -0.0\n"
                                 "f3 = 1_000.000_1\n"
                                 "f4 = 5E-3\n"
                                 "f5 = -inf\n"
                                 "f6 = +nan\n"
                                 "f7 = 1e-400\n",
                                 &err);
    CHECKF(doc != NULL, "%s", err.message);
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "max")) == INT64_MAX);
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "min")) == INT64_MIN);
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "hex")) == INT64_MAX);
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "oct")) == INT64_MAX);
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "bin")) == INT64_MAX);
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "plus")) == 17);
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "zero")) == 0);
    CHECK(nnxr_toml_float(nnxr_toml_table_get(doc, "f1")) == 6.02e23);
    double f2 = nnxr_toml_float(nnxr_toml_table_get(doc, "f2"));
    CHECK(f2 == 0.0 && signbit(f2));
    CHECK(nnxr_toml_float(nnxr_toml_table_get(doc, "f3")) == 1000.0001);
    CHECK(nnxr_toml_float(nnxr_toml_table_get(doc, "f4")) == 5e-3);
    CHECK(isinf(nnxr_toml_float(nnxr_toml_table_get(doc, "f5"))) && nnxr_toml_float(nnxr_toml_table_get(doc, "f5")) < 0);
    CHECK(isnan(nnxr_toml_float(nnxr_toml_table_get(doc, "f6"))));
    CHECK(nnxr_toml_float(nnxr_toml_table_get(doc, "f7")) == 0.0);
    /* Typed getters return zero values for other types. */
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "f1")) == 0);
    CHECK(nnxr_toml_string(nnxr_toml_table_get(doc, "max")) == NULL);
    CHECK(nnxr_toml_datetime_of(nnxr_toml_table_get(doc, "max")) == NULL);
    CHECK(nnxr_toml_table_get(doc, "nope") == NULL);
    nnxr_toml_type none = nnxr_toml_type_of(NULL);
    CHECK(none != NNXR_TOML_TABLE && none != NNXR_TOML_STRING && none != NNXR_TOML_ARRAY);
    CHECK(strcmp(nnxr_toml_type_name(none), "none") == 0);
    CHECK(strcmp(nnxr_toml_type_name(NNXR_TOML_LOCAL_DATE), "date-local") == 0);
    nnxr_toml_free(doc);

    EXPECT_ERROR("x = 9223372036854775808\n", "does not fit in 64 bits");
    EXPECT_ERROR("x = -9223372036854775809\n", "does not fit in 64 bits");
    EXPECT_ERROR("x = 99999999999999999999999\n", "does not fit in 64 bits");
    EXPECT_ERROR("x = 0x8000000000000000\n", "does not fit in 64 bits");
    EXPECT_ERROR("x = 0o1000000000000000000000\n", "does not fit in 64 bits");
    EXPECT_ERROR("x = 1e400\n", "too large");
    EXPECT_ERROR("x = -0x1\n", "expected the end of the line");
    EXPECT_ERROR("x = 1.\n", "after the decimal point");
    EXPECT_ERROR("x = .5\n", "expected a value");
}

static void test_datetimes(void)
{
    nnxr_error err;
    nnxr_toml_value *doc = parse("odt = 1979-05-27T07:32:00.999999999999-07:30\n"
                                 "ldt = 2000-02-29 23:59:60\n"
                                 "ld = 2024-12-31\n"
                                 "lt = 00:00:00.5\n",
                                 &err);
    CHECKF(doc != NULL, "%s", err.message);
    const nnxr_toml_datetime *d = nnxr_toml_datetime_of(nnxr_toml_table_get(doc, "odt"));
    CHECK(nnxr_toml_type_of(nnxr_toml_table_get(doc, "odt")) == NNXR_TOML_DATETIME);
    CHECK(d && d->year == 1979 && d->month == 5 && d->day == 27 && d->hour == 7 && d->minute == 32 &&
          d->second == 0 && d->nanosecond == 999999999 && d->offset_minutes == -450);
    d = nnxr_toml_datetime_of(nnxr_toml_table_get(doc, "ldt"));
    CHECK(nnxr_toml_type_of(nnxr_toml_table_get(doc, "ldt")) == NNXR_TOML_LOCAL_DATETIME);
    CHECK(d && d->day == 29 && d->second == 60);
    CHECK(nnxr_toml_type_of(nnxr_toml_table_get(doc, "ld")) == NNXR_TOML_LOCAL_DATE);
    d = nnxr_toml_datetime_of(nnxr_toml_table_get(doc, "lt"));
    CHECK(nnxr_toml_type_of(nnxr_toml_table_get(doc, "lt")) == NNXR_TOML_LOCAL_TIME);
    CHECK(d && d->year == 0 && d->nanosecond == 500000000);
    char *json = json_of(doc);
    CHECK_CONTAINS(json, "\"odt\": {\"type\": \"datetime\", \"value\": \"1979-05-27T07:32:00.999999999-07:30\"}");
    CHECK_CONTAINS(json, "{\"type\": \"datetime-local\", \"value\": \"2000-02-29T23:59:60\"}");
    CHECK_CONTAINS(json, "{\"type\": \"date-local\", \"value\": \"2024-12-31\"}");
    CHECK_CONTAINS(json, "{\"type\": \"time-local\", \"value\": \"00:00:00.5\"}");
    free(json);
    nnxr_toml_free(doc);
    EXPECT_ERROR("x = 1900-02-29\n", "day 29");
    EXPECT_ERROR("x = 1979-05-27T07:32:00+24:00\n", "offset");
    EXPECT_ERROR("x = 07:32:00Z\n", "expected the end of the line");
}

static void test_strings(void)
{
    nnxr_error err;
    nnxr_toml_value *doc = parse("nul = \"a\\u0000b\"\n"
                                 "esc = \"\\b\\t\\n\\f\\r\\\"\\\\\\U0001F600\\u00e9\"\n"
                                 "ml = \"\"\"\n  one \\\n     two\"\"\"\"\"\n"
                                 "lit = 'C:\\x'\n"
                                 "mlit = '''\n''a'''''\n",
                                 &err);
    CHECKF(doc != NULL, "%s", err.message);
    nnxr_toml_value *nul = nnxr_toml_table_get(doc, "nul");
    CHECK(nnxr_toml_string_len(nul) == 3 && memcmp(nnxr_toml_string(nul), "a\0b", 3) == 0);
    CHECK(strcmp(nnxr_toml_string(nnxr_toml_table_get(doc, "esc")), "\b\t\n\f\r\"\\\xF0\x9F\x98\x80\xC3\xA9") == 0);
    CHECK(strcmp(nnxr_toml_string(nnxr_toml_table_get(doc, "ml")), "  one two\"\"") == 0);
    CHECK(strcmp(nnxr_toml_string(nnxr_toml_table_get(doc, "lit")), "C:\\x") == 0);
    CHECK(strcmp(nnxr_toml_string(nnxr_toml_table_get(doc, "mlit")), "''a''") == 0);
    nnxr_toml_free(doc);
}

static void test_nesting_bound(void)
{
    /* 256 nested arrays are fine, 257 are refused; far deeper input fails the same way,
     * without using stack in proportion to the input. */
    for (int depth = 255; depth <= 257; depth++) {
        size_t n = 4 + 2 * (size_t)depth + 2;
        char *text = malloc(n);
        size_t o = 0;
        memcpy(text + o, "a = ", 4), o += 4;
        for (int i = 0; i < depth; i++)
            text[o++] = '[';
        for (int i = 0; i < depth; i++)
            text[o++] = ']';
        text[o] = '\0';
        nnxr_error err;
        nnxr_toml_value *doc = nnxr_toml_parse(text, o, "deep.toml", &err);
        if (depth <= 256)
            CHECKF(doc != NULL, "depth %d: %s", depth, err.message);
        else
            CHECK(doc == NULL && strstr(err.message, "nesting deeper than 256 levels"));
        nnxr_toml_free(doc);
        free(text);
    }
    size_t big = 1000000;
    char *text = malloc(big + 5);
    memcpy(text, "a = ", 4);
    memset(text + 4, '[', big);
    nnxr_error err;
    nnxr_toml_value *doc = nnxr_toml_parse(text, big + 4, "deep.toml", &err);
    CHECK(doc == NULL);
    CHECK_CONTAINS(err.message, "deep.toml:1:");
    for (size_t i = 4; i + 5 < big; i += 5)
        memcpy(text + i, "{a = ", 5);
    doc = nnxr_toml_parse(text, big, "deep.toml", &err);
    CHECK(doc == NULL);
    CHECK_CONTAINS(err.message, "nesting deeper than 256 levels");
    /* Dotted keys and headers count as nesting too. */
    for (size_t i = 0; i < big; i += 2)
        memcpy(text + i, "a.", 2);
    memcpy(text + big - 4, "=1\n", 3);
    doc = nnxr_toml_parse(text, big - 1, "deep.toml", &err);
    CHECK(doc == NULL);
    CHECK_CONTAINS(err.message, "more than 256 dotted parts");
    text[0] = '[';
    for (size_t i = 1; i + 2 < big; i += 2)
        memcpy(text + i, "a.", 2);
    memcpy(text + big - 3, "a]\n", 3);
    doc = nnxr_toml_parse(text, big, "deep.toml", &err);
    CHECK(doc == NULL);
    CHECK_CONTAINS(err.message, "more than 256 dotted parts");
    free(text);
    /* Header parts, dotted parts and a value's own nesting add up: 200 + 56 levels of
     * tables hold an array at level 257 (refused) or a scalar (fine). */
    for (int with_array = 0; with_array <= 1; with_array++) {
        char buf[4096];
        size_t o = 0;
        buf[o++] = '[';
        for (int i = 0; i < 200; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%sk", i ? "." : "");
        o += (size_t)snprintf(buf + o, sizeof buf - o, "]\n");
        for (int i = 0; i < 57; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%sd", i ? "." : "");
        o += (size_t)snprintf(buf + o, sizeof buf - o, " = %s\n", with_array ? "[]" : "1");
        doc = nnxr_toml_parse(buf, o, "deep.toml", &err);
        if (with_array)
            CHECK(doc == NULL && strstr(err.message, "deep.toml:2:") && strstr(err.message, "nesting deeper than 256"));
        else
            CHECKF(doc != NULL, "%s", err.message);
        nnxr_toml_free(doc);
    }
}

static void test_builder_round_trip(void)
{
    nnxr_toml_value *doc = nnxr_toml_new_table();
    CHECK(nnxr_toml_set_string(doc, "name", "quote \" backslash \\ newline \n tab \t del \x7F bell \x07 \xC3\xA9") != NULL);
    CHECK(nnxr_toml_set_integer(doc, "min", INT64_MIN) != NULL);
    CHECK(nnxr_toml_set_integer(doc, "max", INT64_MAX) != NULL);
    CHECK(nnxr_toml_set_float(doc, "one", 1.0) != NULL);
    CHECK(nnxr_toml_set_float(doc, "tenth", 0.1) != NULL);
    CHECK(nnxr_toml_set_float(doc, "big", 1e300) != NULL);
    CHECK(nnxr_toml_set_float(doc, "tiny", 5e-324) != NULL);
    CHECK(nnxr_toml_set_float(doc, "negzero", -0.0) != NULL);
    CHECK(nnxr_toml_set_float(doc, "third", 1.0 / 3.0) != NULL);
    CHECK(nnxr_toml_set_float(doc, "ninf", -INFINITY) != NULL);
    CHECK(nnxr_toml_set_float(doc, "nan", NAN) != NULL);
    CHECK(nnxr_toml_set_bool(doc, "yes", true) != NULL);
    CHECK(nnxr_toml_set_integer(doc, "yes", 1) == NULL); /* duplicate key */
    CHECK(nnxr_toml_set_integer(nnxr_toml_table_get(doc, "min"), "x", 1) == NULL); /* not a table */
    nnxr_toml_datetime dt = {.year = 2024, .month = 2, .day = 29, .hour = 23, .minute = 59, .second = 59,
                             .nanosecond = 120000000, .offset_minutes = 330};
    CHECK(nnxr_toml_set_datetime(doc, "when", NNXR_TOML_DATETIME, &dt) != NULL);
    CHECK(nnxr_toml_set_datetime(doc, "local", NNXR_TOML_LOCAL_DATETIME, &dt) != NULL);
    CHECK(nnxr_toml_set_datetime(doc, "day", NNXR_TOML_LOCAL_DATE, &dt) != NULL);
    CHECK(nnxr_toml_set_datetime(doc, "clock", NNXR_TOML_LOCAL_TIME, &dt) != NULL);
    nnxr_toml_datetime bad = dt;
    bad.day = 30;
    CHECK(nnxr_toml_set_datetime(doc, "bad", NNXR_TOML_LOCAL_DATE, &bad) == NULL);
    CHECK(nnxr_toml_set_string(doc, "key with spaces", "v") != NULL);
    CHECK(nnxr_toml_set_string(doc, "", "empty key") != NULL);
    nnxr_toml_value *arr = nnxr_toml_set_array(doc, "mixed");
    CHECK(nnxr_toml_push_integer(arr, 1) && nnxr_toml_push_string(arr, "two") && nnxr_toml_push_float(arr, 3.0) &&
          nnxr_toml_push_bool(arr, false));
    nnxr_toml_value *inner = nnxr_toml_push_array(arr);
    CHECK(nnxr_toml_push_float(inner, 2.5) != NULL);
    nnxr_toml_value *itab = nnxr_toml_push_table(arr); /* a table among scalars stays inline */
    CHECK(nnxr_toml_set_integer(itab, "k", 9) != NULL);
    CHECK(nnxr_toml_set_array(doc, "empty") != NULL);
    nnxr_toml_value *model = nnxr_toml_set_table(doc, "model");
    CHECK(nnxr_toml_set_float(model, "lr", 0.01) != NULL);
    nnxr_toml_value *opt = nnxr_toml_set_table(model, "opt.imizer"); /* a dot in a key */
    CHECK(nnxr_toml_set_string(opt, "kind", "adam") != NULL);
    CHECK(nnxr_toml_set_table(model, "empty") != NULL);
    nnxr_toml_value *layers = nnxr_toml_set_array(model, "layers");
    for (int i = 0; i < 3; i++) {
        nnxr_toml_value *l = nnxr_toml_push_table(layers);
        CHECK(nnxr_toml_set_integer(l, "units", 16 << i) != NULL);
        nnxr_toml_value *act = nnxr_toml_set_table(l, "act");
        CHECK(nnxr_toml_set_string(act, "fn", i ? "relu" : "tanh") != NULL);
        nnxr_toml_value *sub = nnxr_toml_set_array(l, "probes");
        CHECK(nnxr_toml_set_integer(nnxr_toml_push_table(sub), "at", i) != NULL);
    }
    /* A key plain after the tables in insertion order is still written first. */
    CHECK(nnxr_toml_set_integer(model, "late", 5) != NULL);
    /* Copies carry values from a parsed document, including U+0000 in keys and strings. */
    nnxr_error err;
    nnxr_toml_value *src = parse("\"k\\u0000ey\" = \"v\\u0000al\"\n[t]\nx = [1, {y = 2}]\n", &err);
    CHECKF(src != NULL, "%s", err.message);
    nnxr_toml_value *copied = nnxr_toml_set_copy(doc, "copied", src);
    CHECK(copied != NULL && equal(copied, src));
    CHECK(nnxr_toml_set_copy(doc, "copied", src) == NULL);
    nnxr_toml_value *pc = nnxr_toml_push_copy(arr, nnxr_toml_table_get(src, "t"));
    CHECK(pc != NULL && nnxr_toml_line(nnxr_toml_table_get(pc, "x")) == 3);
    CHECK(strcmp(nnxr_toml_source_name(nnxr_toml_table_get(pc, "x")), "t.toml") == 0);
    nnxr_toml_free(src); /* the copies keep their own reference to the source name */
    CHECK(strcmp(nnxr_toml_source_name(nnxr_toml_table_get(pc, "x")), "t.toml") == 0);
    CHECK(nnxr_toml_line(nnxr_toml_table_get(doc, "min")) == 0);

    char *text = NULL;
    nnxr_toml_value *back = round_trip(doc, &text);
    CHECK(back != NULL);
    CHECKF(back && equal(doc, back), "round trip differs:\n%s", text);
    if (text) {
        CHECK_CONTAINS(text, "one = 1.0\n");
        CHECK_CONTAINS(text, "negzero = -0.0\n");
        CHECK_CONTAINS(text, "tenth = 0.1\n");
        CHECK_CONTAINS(text, "\n[model]\nlr = 0.01\nlate = 5\n");
        CHECK_CONTAINS(text, "[model.\"opt.imizer\"]");
        CHECK_CONTAINS(text, "\n[[model.layers]]\nunits = 16\n\n[model.layers.act]\n");
        CHECK_CONTAINS(text, "[[model.layers.probes]]");
        CHECK_CONTAINS(text, "\"key with spaces\" = \"v\"");
        CHECK_CONTAINS(text, "\"\" = \"empty key\"");
        CHECK_CONTAINS(text, "\"k\\u0000ey\" = \"v\\u0000al\"");
        CHECK_CONTAINS(text, "when = 2024-02-29T23:59:59.12+05:30\n");
        CHECK_CONTAINS(text, "mixed = [1, \"two\", 3.0, false, [2.5], { k = 9 }, { x = [1, { y = 2 }] }]");
    }
    /* Plain keys come before the first header. */
    if (text && strstr(text, "[model]"))
        CHECK(strstr(text, "yes = true") < strstr(text, "[model]"));
    if (back)
        CHECK(nnxr_toml_line(nnxr_toml_table_get(back, "max")) > 0);
    free(text);
    nnxr_toml_free(back);
    nnxr_toml_free(doc);
}

static void test_json_escaping(void)
{
    nnxr_error err;
    nnxr_toml_value *doc = parse("\"k\\\"\\u0001\" = \"q\\\" b\\\\ n\\n t\\t c\\u001f d\\u007f z\\u0000 \xC3\xA9\"\n"
                                 "f = [1.0, 0.1, -0.0, 1e300, inf, nan, 3]\n",
                                 &err);
    CHECKF(doc != NULL, "%s", err.message);
    char *json = json_of(doc);
    CHECK_CONTAINS(json, "\"k\\\"\\u0001\": {\"type\": \"string\", \"value\": "
                         "\"q\\\" b\\\\ n\\n t\\t c\\u001F d\\u007F z\\u0000 \xC3\xA9\"}");
    CHECK_CONTAINS(json, "{\"type\": \"float\", \"value\": \"1.0\"}");
    CHECK_CONTAINS(json, "{\"type\": \"float\", \"value\": \"0.1\"}");
    CHECK_CONTAINS(json, "{\"type\": \"float\", \"value\": \"-0.0\"}");
    CHECK_CONTAINS(json, "{\"type\": \"float\", \"value\": \"1e+300\"}");
    CHECK_CONTAINS(json, "{\"type\": \"float\", \"value\": \"inf\"}");
    CHECK_CONTAINS(json, "{\"type\": \"float\", \"value\": \"nan\"}");
    CHECK_CONTAINS(json, "{\"type\": \"integer\", \"value\": \"3\"}");
    free(json);
    nnxr_toml_free(doc);
    /* An empty document is an empty object. */
    doc = parse("", &err);
    json = json_of(doc);
    CHECK(json && strcmp(json, "{}\n") == 0);
    free(json);
    nnxr_toml_free(doc);
}

static void test_big_documents(void)
{
    /* Tables and arrays of 200,000 entries parse in linear time (a quadratic lookup or
     * column count would take minutes here). */
    size_t n = 200000;
    size_t cap = n * 32;
    char *text = malloc(cap);
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(text + o, cap - o, "key_%zu = %zu\n", i, i);
    o += (size_t)snprintf(text + o, cap - o, "arr = [");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(text + o, cap - o, "%zu, ", i);
    o += (size_t)snprintf(text + o, cap - o, "\"end\"]\n");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nnxr_error err;
    nnxr_toml_value *doc = nnxr_toml_parse(text, o, "big.toml", &err);
    double s = elapsed_s(&t0);
    CHECKF(doc != NULL, "%s", err.message);
    CHECKF(s < 10.0, "parsing %zu keys and a %zu-element array took %.2f s", n, n, s);
    printf("big document (%zu bytes) parsed in %.3f s\n", o, s);
    CHECK(nnxr_toml_table_len(doc) == n + 1);
    CHECK(nnxr_toml_integer(nnxr_toml_table_get(doc, "key_123456")) == 123456);
    nnxr_toml_value *arr = nnxr_toml_table_get(doc, "arr");
    CHECK(nnxr_toml_array_len(arr) == n + 1);
    nnxr_toml_value *last = nnxr_toml_array_at(arr, n);
    CHECK(nnxr_toml_line(last) == (int)n + 1 && nnxr_toml_column(last) > 1000000);
    nnxr_toml_free(doc);
    /* A duplicate among many keys is found. */
    o = 0;
    for (size_t i = 0; i < 1000; i++)
        o += (size_t)snprintf(text + o, cap - o, "k%zu = 1\n", i);
    o += (size_t)snprintf(text + o, cap - o, "k500 = 2\n");
    doc = nnxr_toml_parse(text, o, "big.toml", &err);
    CHECK(doc == NULL);
    CHECK_CONTAINS(err.message, "big.toml:1001:1: duplicate key 'k500' (first defined at 501:1)");
    free(text);
}

/* Each prefix of a document and a set of single-byte corruptions must either parse or
 * fail with a located message; ASan/UBSan builds turn any bad access into a failure. */
static int robustness_case(const char *data, size_t len, const char *name)
{
    int bad = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any over-read */
        memcpy(copy, data, cut);
        nnxr_error err;
        nnxr_toml_value *doc = nnxr_toml_parse(copy, cut, name, &err);
        if (!doc && strncmp(err.message, name, strlen(name)) != 0)
            bad++;
        nnxr_toml_free(doc);
        free(copy);
    }
    uint32_t rng = 12345;
    static const char bytes[] = "[]{}\"'=.,#\\\n\r\t 0xe_+-:TZ\x80\xC3\xFF";
    char *copy = malloc(len ? len : 1);
    for (int k = 0; k < 200 && len; k++) {
        memcpy(copy, data, len);
        rng = rng * 1664525u + 1013904223u;
        size_t at = (rng >> 8) % len;
        rng = rng * 1664525u + 1013904223u;
        copy[at] = bytes[(rng >> 8) % (sizeof bytes - 1)];
        nnxr_error err;
        nnxr_toml_value *doc = nnxr_toml_parse(copy, len, name, &err);
        if (!doc && strncmp(err.message, name, strlen(name)) != 0)
            bad++;
        if (doc) {
            /* Whatever parses must also write and read back equal. */
            nnxr_toml_value *back = round_trip(doc, NULL);
            if (!back || !equal(doc, back))
                bad++;
            nnxr_toml_free(back);
        }
        nnxr_toml_free(doc);
    }
    free(copy);
    return bad;
}

static void test_suite_documents(void)
{
    /* Every valid document of the suite: parse, write TOML, parse again, equal; copy, equal;
     * and every prefix and corruption of it fails cleanly. */
    char list_path[1024];
    snprintf(list_path, sizeof list_path, "%s/toml-test/files-toml-1.0.0", NNXR_TEST_SRC);
    FILE *list = fopen(list_path, "r");
    CHECKF(list != NULL, "cannot open %s", list_path);
    if (!list)
        return;
    char line[1024];
    int docs = 0, round_trips = 0, robust_bad = 0;
    while (fgets(line, sizeof line, list)) {
        line[strcspn(line, "\r\n")] = '\0';
        size_t n = strlen(line);
        if (strncmp(line, "valid/", 6) != 0 || n < 5 || strcmp(line + n - 5, ".toml") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/toml-test/%s", NNXR_TEST_SRC, line);
        size_t len;
        char *data = read_file(path, &len);
        CHECKF(data != NULL, "cannot read %s", path);
        if (!data)
            continue;
        docs++;
        nnxr_error err;
        nnxr_toml_value *doc = nnxr_toml_parse(data, len, line, &err);
        CHECKF(doc != NULL, "%s", err.message);
        if (doc) {
            char *text = NULL;
            nnxr_toml_value *back = round_trip(doc, &text);
            if (back && equal(doc, back))
                round_trips++;
            else
                fprintf(stderr, "round trip of %s differs:\n%s\n", line, text ? text : "");
            free(text);
            nnxr_toml_free(back);
            nnxr_toml_value *holder = nnxr_toml_new_table();
            nnxr_toml_value *copy = nnxr_toml_set_copy(holder, "doc", doc);
            CHECKF(copy && equal(copy, doc), "copy of %s differs", line);
            nnxr_toml_free(holder);
            nnxr_toml_free(doc);
        }
        robust_bad += robustness_case(data, len, line);
        free(data);
    }
    fclose(list);
    CHECKF(docs == 210, "%d valid documents in the list", docs);
    CHECKF(round_trips == docs, "%d of %d documents round-trip", round_trips, docs);
    CHECKF(robust_bad == 0, "%d truncated/corrupted documents failed without a located message or did not round-trip",
           robust_bad);
    printf("suite documents: %d parsed, %d round-tripped through write_toml\n", docs, round_trips);
}

/* Runs the CLI with stdout and stderr sent to files; returns its exit code. */
static int run_cli(int argc, char **argv, char *out, size_t out_size, char *errtext, size_t err_size)
{
    fflush(stdout);
    fflush(stderr);
    char out_path[] = "/tmp/nnxr_toml_out_XXXXXX", err_path[] = "/tmp/nnxr_toml_err_XXXXXX";
    int fo = mkstemp(out_path), fe = mkstemp(err_path);
    int so = dup(1), se = dup(2);
    dup2(fo, 1);
    dup2(fe, 2);
    int code = nnxr_cli_toml_json(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    ssize_t n = pread(fo, out, out_size - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    n = pread(fe, errtext, err_size - 1, 0);
    errtext[n > 0 ? n : 0] = '\0';
    close(fo);
    close(fe);
    unlink(out_path);
    unlink(err_path);
    return code;
}

static void test_cli(void)
{
    char path[] = "/tmp/nnxr_toml_in_XXXXXX";
    int fd = mkstemp(path);
    const char *good = "a = 1\n";
    CHECK(write(fd, good, strlen(good)) == (ssize_t)strlen(good));
    close(fd);
    char out[4096], errtext[4096];
    char *argv_ok[] = {"toml-json", path, NULL};
    CHECK(run_cli(2, argv_ok, out, sizeof out, errtext, sizeof errtext) == 0);
    CHECK_CONTAINS(out, "\"a\": {\"type\": \"integer\", \"value\": \"1\"}");
    FILE *f = fopen(path, "w");
    fputs("a = 1\na = 2\n", f);
    fclose(f);
    CHECK(run_cli(2, argv_ok, out, sizeof out, errtext, sizeof errtext) == 1);
    char want[256];
    snprintf(want, sizeof want, "%s:2:1: duplicate key 'a'", path);
    CHECK_CONTAINS(errtext, want);
    CHECK(out[0] == '\0');
    char *argv_help[] = {"toml-json", "--help", NULL};
    CHECK(run_cli(2, argv_help, out, sizeof out, errtext, sizeof errtext) == 0);
    CHECK_CONTAINS(out, "usage: nnxr toml-json");
    char *argv_missing[] = {"toml-json", "/nonexistent/x.toml", NULL};
    CHECK(run_cli(2, argv_missing, out, sizeof out, errtext, sizeof errtext) == 2);
    CHECK_CONTAINS(errtext, "/nonexistent/x.toml");
    /* Standard input: the message has no file name. */
    f = fopen(path, "w");
    fputs("x = [1,\n", f);
    fclose(f);
    int saved_in = dup(0);
    int fin = open(path, O_RDONLY);
    dup2(fin, 0);
    close(fin);
    char *argv_stdin[] = {"toml-json", "-", NULL};
    int code = run_cli(2, argv_stdin, out, sizeof out, errtext, sizeof errtext);
    dup2(saved_in, 0);
    close(saved_in);
    clearerr(stdin);
    CHECK(code == 1);
    CHECKF(strncmp(errtext, "2:1: unterminated array", 23) == 0, "stderr: %s", errtext);
    unlink(path);
}

int main(void)
{
    test_positions();
    test_error_messages();
    test_numbers();
    test_datetimes();
    test_strings();
    test_nesting_bound();
    test_builder_round_trip();
    test_json_escaping();
    test_big_documents();
    test_suite_documents();
    test_cli();
    return check_finish();
}
