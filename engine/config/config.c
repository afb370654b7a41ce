/* config/config.c — typed, validated getters over one TOML table (nnxr/config.h), shared by the
 * scene schema and by plugins; each getter records the value it resolved, so the resolved
 * scene shows every default. */
#include "config/config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

void nnxr_config_init(nnxr_config *c, const nnxr_toml_value *table, nnxr_toml_value *resolved,
                      const char *file, const char *where)
{
    memset(c, 0, sizeof *c);
    c->table = table;
    c->resolved = resolved;
    c->file = file ? file : "<scene>";
    snprintf(c->where, sizeof c->where, "%s", where ? where : "");
}

/* Optimal string alignment distance: Levenshtein plus adjacent transpositions, the most
 * common typo ("mpl" for "mlp"). */
size_t nnxr_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return la > lb ? la : lb;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *nnxr_nearest_word(const char *word, const char *const *known)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; known && known[i]; i++) {
        size_t d = nnxr_edit_distance(word, known[i]);
        if (d < best_d) {
            best_d = d;
            best = known[i];
        }
    }
    /* A suggestion is only useful when it is plausibly a typo of the word. */
    size_t len = strlen(word);
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    if (!best)
        return NULL;
    size_t bl = strlen(best);
    /* A prefix either way is a plausible abbreviation ("lrate" for "lr", "opt" for
     * "optimizer"). */
    if (best_d <= limit || (bl >= 2 && len >= 2 && (!strncmp(best, word, len < bl ? len : bl))))
        return best;
    return NULL;
}

/* "FILE:L:C: WHERE KEY: " or "FILE WHERE KEY: " when the key has no position. */
static void place(const nnxr_config *c, const nnxr_toml_value *v, const char *key, char *out,
                  size_t n)
{
    const char *sep = c->where[0] ? " " : "";
    if (v && nnxr_toml_line(v) > 0)
        snprintf(out, n, "%s:%d:%d: %s%s%s", c->file, nnxr_toml_key_line(v) > 0 ? nnxr_toml_key_line(v) : nnxr_toml_line(v),
                 nnxr_toml_key_line(v) > 0 ? nnxr_toml_key_column(v) : nnxr_toml_column(v),
                 c->where, sep, key);
    else
        snprintf(out, n, "%s: %s%s%s", c->file, c->where, sep, key);
}

static const char *article_type(nnxr_toml_type t)
{
    switch (t) {
    case NNXR_TOML_STRING: return "a string";
    case NNXR_TOML_INTEGER: return "an integer";
    case NNXR_TOML_FLOAT: return "a float";
    case NNXR_TOML_BOOL: return "a boolean";
    case NNXR_TOML_ARRAY: return "an array";
    case NNXR_TOML_TABLE: return "a table";
    default: return "a date/time";
    }
}

static const nnxr_toml_value *lookup(const nnxr_config *c, const char *key)
{
    return c->table ? nnxr_toml_table_get(c->table, key) : NULL;
}

static void describe_int_range(char *out, size_t n, int64_t min, int64_t max)
{
    if (max == INT64_MAX && min == INT64_MIN)
        snprintf(out, n, "an integer");
    else if (max == INT64_MAX)
        snprintf(out, n, "an integer >= %" PRId64, min);
    else
        snprintf(out, n, "an integer in [%" PRId64 ", %" PRId64 "]", min, max);
}

static void describe_float_range(char *out, size_t n, double min, double max)
{
    if (isinf(max) && isinf(min))
        snprintf(out, n, "a number");
    else if (isinf(max))
        snprintf(out, n, "a number >= %g", min);
    else
        snprintf(out, n, "a number in [%g, %g]", min, max);
}

static void describe_allowed(char *out, size_t n, const char *const *allowed)
{
    size_t used = (size_t)snprintf(out, n, "one of");
    for (size_t i = 0; allowed[i] && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s \"%s\"", i ? "," : "", allowed[i]);
}

static bool check_int(const nnxr_config *c, const char *key, const nnxr_toml_value *v,
                      int64_t min, int64_t max, int64_t *out, nnxr_error *err)
{
    char where[512], want[128];
    describe_int_range(want, sizeof want, min, max);
    if (nnxr_toml_type_of(v) != NNXR_TOML_INTEGER) {
        place(c, v, key, where, sizeof where);
        return nnxr_fail(err, "%s: expected %s, got %s", where, want,
                         article_type(nnxr_toml_type_of(v)));
    }
    int64_t i = nnxr_toml_integer(v);
    if (i < min || i > max) {
        place(c, v, key, where, sizeof where);
        return nnxr_fail(err, "%s: expected %s, got %" PRId64, where, want, i);
    }
    *out = i;
    return true;
}

static bool check_float(const nnxr_config *c, const char *key, const nnxr_toml_value *v,
                        double min, double max, double *out, nnxr_error *err)
{
    char where[512], want[128];
    describe_float_range(want, sizeof want, min, max);
    double d;
    if (nnxr_toml_type_of(v) == NNXR_TOML_FLOAT)
        d = nnxr_toml_float(v);
    else if (nnxr_toml_type_of(v) == NNXR_TOML_INTEGER)
        d = (double)nnxr_toml_integer(v);
    else {
        place(c, v, key, where, sizeof where);
        return nnxr_fail(err, "%s: expected %s, got %s", where, want,
                         article_type(nnxr_toml_type_of(v)));
    }
    if (isnan(d) || d < min || d > max) {
        place(c, v, key, where, sizeof where);
        return nnxr_fail(err, "%s: expected %s, got %g", where, want, d);
    }
    *out = d;
    return true;
}

static bool check_string(const nnxr_config *c, const char *key, const nnxr_toml_value *v,
                         const char *const *allowed, const char **out, nnxr_error *err)
{
    char where[512], want[512] = "a string";
    if (allowed)
        describe_allowed(want, sizeof want, allowed);
    if (nnxr_toml_type_of(v) != NNXR_TOML_STRING) {
        place(c, v, key, where, sizeof where);
        return nnxr_fail(err, "%s: expected %s, got %s", where, want,
                         article_type(nnxr_toml_type_of(v)));
    }
    const char *s = nnxr_toml_string(v);
    if (allowed) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(allowed[i], s);
        if (!ok) {
            place(c, v, key, where, sizeof where);
            const char *near = nnxr_nearest_word(s, allowed);
            if (near)
                return nnxr_fail(err, "%s: expected %s, got \"%s\" (did you mean \"%s\"?)", where,
                                 want, s, near);
            return nnxr_fail(err, "%s: expected %s, got \"%s\"", where, want, s);
        }
    }
    *out = s;
    return true;
}

static bool get_int(const nnxr_config *c, const char *key, int64_t def, int64_t min, int64_t max,
                    int64_t *out, nnxr_error *err)
{
    const nnxr_toml_value *v = lookup(c, key);
    if (!v)
        *out = def;
    else if (!check_int(c, key, v, min, max, out, err))
        return false;
    if (c->resolved)
        nnxr_toml_set_integer(c->resolved, key, *out);
    return true;
}

static bool get_float(const nnxr_config *c, const char *key, double def, double min, double max,
                      double *out, nnxr_error *err)
{
    const nnxr_toml_value *v = lookup(c, key);
    if (!v)
        *out = def;
    else if (!check_float(c, key, v, min, max, out, err))
        return false;
    if (c->resolved)
        nnxr_toml_set_float(c->resolved, key, *out);
    return true;
}

static bool get_bool(const nnxr_config *c, const char *key, bool def, bool *out, nnxr_error *err)
{
    const nnxr_toml_value *v = lookup(c, key);
    if (!v) {
        *out = def;
    } else if (nnxr_toml_type_of(v) != NNXR_TOML_BOOL) {
        char where[512];
        place(c, v, key, where, sizeof where);
        return nnxr_fail(err, "%s: expected a boolean (true or false), got %s", where,
                         article_type(nnxr_toml_type_of(v)));
    } else {
        *out = nnxr_toml_bool(v);
    }
    if (c->resolved)
        nnxr_toml_set_bool(c->resolved, key, *out);
    return true;
}

static bool get_string(const nnxr_config *c, const char *key, const char *def,
                       const char *const *allowed, const char **out, nnxr_error *err)
{
    const nnxr_toml_value *v = lookup(c, key);
    if (!v)
        *out = def;
    else if (!check_string(c, key, v, allowed, out, err))
        return false;
    if (c->resolved && *out) {
        nnxr_toml_value *r = nnxr_toml_set_string(c->resolved, key, *out);
        /* Point at the resolved document's copy: it lives as long as the scene. */
        if (r)
            *out = nnxr_toml_string(r);
    }
    return true;
}

/* Shared shape of the array getters: type and length checks, then one element check each. */
static const nnxr_toml_value *array_or_fail(const nnxr_config *c, const char *key,
                                            size_t min_len, size_t max_len, const char *what,
                                            nnxr_error *err)
{
    const nnxr_toml_value *v = lookup(c, key);
    char where[512];
    if (nnxr_toml_type_of(v) != NNXR_TOML_ARRAY) {
        place(c, v, key, where, sizeof where);
        nnxr_fail(err, "%s: expected an array of %s, got %s", where, what,
                  article_type(nnxr_toml_type_of(v)));
        return NULL;
    }
    size_t n = nnxr_toml_array_len(v);
    if (n < min_len || n > max_len) {
        place(c, v, key, where, sizeof where);
        if (min_len == max_len)
            nnxr_fail(err, "%s: expected %zu %s, got %zu", where, min_len, what, n);
        else
            nnxr_fail(err, "%s: expected %zu to %zu %s, got %zu", where, min_len, max_len, what, n);
        return NULL;
    }
    return v;
}

static bool element_fail(const nnxr_config *c, const char *key, size_t i, nnxr_error *err)
{
    char sub[256];
    snprintf(sub, sizeof sub, "%s[%zu]", key, i);
    /* The element's message names key[i]; keep it, it already says what was expected. */
    (void)c;
    char old[NNXR_ERROR_MAX];
    snprintf(old, sizeof old, "%s", err ? err->message : "");
    char *p = strstr(old, key);
    if (err && p) {
        /* Replace the first "key" by "key[i]" so the message points at the element. */
        size_t pre = (size_t)(p - old);
        snprintf(err->message, sizeof err->message, "%.*s%s%s", (int)pre, old, sub,
                 p + strlen(key));
    }
    return false;
}

static bool get_float_array(const nnxr_config *c, const char *key, const double *def,
                            size_t def_len, size_t min_len, size_t max_len, double min,
                            double max, double *out, size_t *out_len, nnxr_error *err)
{
    if (!lookup(c, key)) {
        for (size_t i = 0; i < def_len && i < max_len; i++)
            out[i] = def[i];
        *out_len = def_len < max_len ? def_len : max_len;
    } else {
        const nnxr_toml_value *a = array_or_fail(c, key, min_len, max_len, "numbers", err);
        if (!a)
            return false;
        *out_len = nnxr_toml_array_len(a);
        for (size_t i = 0; i < *out_len; i++) {
            const nnxr_toml_value *e = nnxr_toml_array_at(a, i);
            if (!check_float(c, key, e, min, max, &out[i], err))
                return element_fail(c, key, i, err);
        }
    }
    if (c->resolved) {
        nnxr_toml_value *r = nnxr_toml_set_array(c->resolved, key);
        for (size_t i = 0; r && i < *out_len; i++)
            nnxr_toml_push_float(r, out[i]);
    }
    return true;
}

static bool get_int_array(const nnxr_config *c, const char *key, const int64_t *def,
                          size_t def_len, size_t min_len, size_t max_len, int64_t min,
                          int64_t max, int64_t *out, size_t *out_len, nnxr_error *err)
{
    if (!lookup(c, key)) {
        for (size_t i = 0; i < def_len && i < max_len; i++)
            out[i] = def[i];
        *out_len = def_len < max_len ? def_len : max_len;
    } else {
        const nnxr_toml_value *a = array_or_fail(c, key, min_len, max_len, "integers", err);
        if (!a)
            return false;
        *out_len = nnxr_toml_array_len(a);
        for (size_t i = 0; i < *out_len; i++) {
            const nnxr_toml_value *e = nnxr_toml_array_at(a, i);
            if (!check_int(c, key, e, min, max, &out[i], err))
                return element_fail(c, key, i, err);
        }
    }
    if (c->resolved) {
        nnxr_toml_value *r = nnxr_toml_set_array(c->resolved, key);
        for (size_t i = 0; r && i < *out_len; i++)
            nnxr_toml_push_integer(r, out[i]);
    }
    return true;
}

static bool get_string_array(const nnxr_config *c, const char *key, const char *const *def,
                             size_t def_len, size_t min_len, size_t max_len,
                             const char *const *allowed, const char **out, size_t *out_len,
                             nnxr_error *err)
{
    if (!lookup(c, key)) {
        for (size_t i = 0; i < def_len && i < max_len; i++)
            out[i] = def[i];
        *out_len = def_len < max_len ? def_len : max_len;
    } else {
        const nnxr_toml_value *a = array_or_fail(c, key, min_len, max_len, "strings", err);
        if (!a)
            return false;
        *out_len = nnxr_toml_array_len(a);
        for (size_t i = 0; i < *out_len; i++) {
            const nnxr_toml_value *e = nnxr_toml_array_at(a, i);
            if (!check_string(c, key, e, allowed, &out[i], err))
                return element_fail(c, key, i, err);
        }
    }
    if (c->resolved) {
        nnxr_toml_value *r = nnxr_toml_set_array(c->resolved, key);
        for (size_t i = 0; r && i < *out_len; i++) {
            nnxr_toml_value *copy = nnxr_toml_push_string(r, out[i]);
            if (copy)
                out[i] = nnxr_toml_string(copy);
        }
    }
    return true;
}

static bool has(const nnxr_config *c, const char *key) { return lookup(c, key) != NULL; }

static bool check_keys(const nnxr_config *c, const char *const *known, nnxr_error *err)
{
    if (!c->table)
        return true;
    for (size_t i = 0; i < nnxr_toml_table_len(c->table); i++) {
        const char *key = nnxr_toml_table_key(c->table, i);
        bool ok = false;
        for (size_t k = 0; known && known[k] && !ok; k++)
            ok = !strcmp(known[k], key);
        for (size_t k = 0; c->host_keys && c->host_keys[k] && !ok; k++)
            ok = !strcmp(c->host_keys[k], key);
        if (ok)
            continue;
        char where[512];
        place(c, nnxr_toml_table_at(c->table, i), "", where, sizeof where);
        size_t wl = strlen(where);
        if (wl > 0 && where[wl - 1] == ' ')
            where[wl - 1] = '\0';
        const char *near = nnxr_nearest_word(key, known);
        char list[600] = "";
        size_t used = 0;
        for (size_t k = 0; known && known[k] && used < sizeof list; k++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                     known[k]);
        if (near)
            return nnxr_fail(err, "%s: unknown key '%s' (did you mean '%s'?); known keys: %s",
                             where, key, near, list);
        return nnxr_fail(err, "%s: unknown key '%s'; known keys: %s", where, key,
                         used ? list : "(none)");
    }
    return true;
}

static const char *describe(const nnxr_config *c) { return c->where; }

const nnxr_config_api *nnxr_config_api_get(void)
{
    static const nnxr_config_api api = {
        .get_int = get_int,
        .get_float = get_float,
        .get_bool = get_bool,
        .get_string = get_string,
        .get_float_array = get_float_array,
        .get_int_array = get_int_array,
        .get_string_array = get_string_array,
        .has = has,
        .check_keys = check_keys,
        .describe = describe,
    };
    return &api;
}
