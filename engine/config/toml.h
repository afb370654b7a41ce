/* config/toml.h — a TOML 1.0 document as a tree of values, each remembering where it was
 * written (line:column) so that later validation can point at it. */
#ifndef NNXR_CONFIG_TOML_H
#define NNXR_CONFIG_TOML_H

#include <stdint.h>
#include <stdio.h>

#include "nnxr/error.h"

typedef enum nnxr_toml_type {
    NNXR_TOML_STRING,
    NNXR_TOML_INTEGER,
    NNXR_TOML_FLOAT,
    NNXR_TOML_BOOL,
    NNXR_TOML_DATETIME,       /* offset date-time */
    NNXR_TOML_LOCAL_DATETIME,
    NNXR_TOML_LOCAL_DATE,
    NNXR_TOML_LOCAL_TIME,
    NNXR_TOML_ARRAY,
    NNXR_TOML_TABLE,
} nnxr_toml_type;

typedef struct nnxr_toml_datetime {
    int year, month, day;          /* 0 when the value has no date */
    int hour, minute, second;      /* 0 when the value has no time */
    int nanosecond;
    int offset_minutes;            /* only for NNXR_TOML_DATETIME; Z is 0 */
} nnxr_toml_datetime;

typedef struct nnxr_toml_value nnxr_toml_value;

/* Parses a whole document. `name` is used in messages ("scene.toml:3:7: ..."). On failure
 * returns NULL and err holds "NAME:LINE:COL: message" (just "LINE:COL: message" when name is
 * NULL or empty). The returned root is a table. */
nnxr_toml_value *nnxr_toml_parse(const char *text, size_t len, const char *name, nnxr_error *err);
nnxr_toml_value *nnxr_toml_parse_file(const char *path, nnxr_error *err);
void nnxr_toml_free(nnxr_toml_value *root);

/* For NULL (a missing key) returns a value equal to none of the types; its name is "none". */
nnxr_toml_type nnxr_toml_type_of(const nnxr_toml_value *v);
const char *nnxr_toml_type_name(nnxr_toml_type t); /* "string", "integer", "table", ... */
int nnxr_toml_line(const nnxr_toml_value *v);      /* 1-based, where the value starts */
int nnxr_toml_column(const nnxr_toml_value *v);    /* 1-based, in characters */
/* For a value that is a table entry: the key's own position (where "lr = 0.1" starts). */
int nnxr_toml_key_line(const nnxr_toml_value *v);
int nnxr_toml_key_column(const nnxr_toml_value *v);
const char *nnxr_toml_source_name(const nnxr_toml_value *v); /* the name given to parse */

/* Tables keep the document's order of keys. */
size_t nnxr_toml_table_len(const nnxr_toml_value *table);
const char *nnxr_toml_table_key(const nnxr_toml_value *table, size_t i);
nnxr_toml_value *nnxr_toml_table_at(const nnxr_toml_value *table, size_t i);
nnxr_toml_value *nnxr_toml_table_get(const nnxr_toml_value *table, const char *key);
/* The byte length of key i: a quoted key may hold U+0000, which the C string stops at. */
size_t nnxr_toml_table_key_len(const nnxr_toml_value *table, size_t i);

size_t nnxr_toml_array_len(const nnxr_toml_value *array);
nnxr_toml_value *nnxr_toml_array_at(const nnxr_toml_value *array, size_t i);

/* Scalars; each asserts nothing and returns 0/NULL for a value of another type. */
const char *nnxr_toml_string(const nnxr_toml_value *v); /* NUL-terminated UTF-8 */
size_t nnxr_toml_string_len(const nnxr_toml_value *v);  /* may hold U+0000 */
int64_t nnxr_toml_integer(const nnxr_toml_value *v);
double nnxr_toml_float(const nnxr_toml_value *v);
bool nnxr_toml_bool(const nnxr_toml_value *v);
const nnxr_toml_datetime *nnxr_toml_datetime_of(const nnxr_toml_value *v);

/* Building documents (the resolved scene is built, then written back as TOML). New values
 * carry line 0. Each returns the added value (owned by its parent) or NULL on a duplicate key. */
nnxr_toml_value *nnxr_toml_new_table(void);
nnxr_toml_value *nnxr_toml_set_string(nnxr_toml_value *table, const char *key, const char *s);
nnxr_toml_value *nnxr_toml_set_integer(nnxr_toml_value *table, const char *key, int64_t i);
nnxr_toml_value *nnxr_toml_set_float(nnxr_toml_value *table, const char *key, double d);
nnxr_toml_value *nnxr_toml_set_bool(nnxr_toml_value *table, const char *key, bool b);
nnxr_toml_value *nnxr_toml_set_table(nnxr_toml_value *table, const char *key);
nnxr_toml_value *nnxr_toml_set_array(nnxr_toml_value *table, const char *key);
/* Deep copy of v under key (v may come from another document). */
nnxr_toml_value *nnxr_toml_set_copy(nnxr_toml_value *table, const char *key, const nnxr_toml_value *v);
nnxr_toml_value *nnxr_toml_push_table(nnxr_toml_value *array);
nnxr_toml_value *nnxr_toml_push_copy(nnxr_toml_value *array, const nnxr_toml_value *v);
/* Scalars and nested arrays pushed onto an array (NULL if `array` is not an array). */
nnxr_toml_value *nnxr_toml_push_string(nnxr_toml_value *array, const char *s);
nnxr_toml_value *nnxr_toml_push_integer(nnxr_toml_value *array, int64_t i);
nnxr_toml_value *nnxr_toml_push_float(nnxr_toml_value *array, double d);
nnxr_toml_value *nnxr_toml_push_bool(nnxr_toml_value *array, bool b);
nnxr_toml_value *nnxr_toml_push_array(nnxr_toml_value *array);
/* type is one of the four date/time types; NULL for an invalid date or time (e.g. 02-30). */
nnxr_toml_value *nnxr_toml_set_datetime(nnxr_toml_value *table, const char *key, nnxr_toml_type type,
                                        const nnxr_toml_datetime *dt);

/* Writers: the tagged JSON of the toml-test suite, and TOML text that parses back to an
 * equal document (tables as [a.b] headers, arrays of tables as [[a]]). */
bool nnxr_toml_write_json(const nnxr_toml_value *root, FILE *out);
bool nnxr_toml_write_toml(const nnxr_toml_value *root, FILE *out);

#endif
