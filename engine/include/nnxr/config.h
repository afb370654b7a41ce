/* nnxr/config.h — typed, validated reading of one table of a scene (the [train] table, or a
 * plugin's [[plugin]] entry). Every getter fills in its default when the key is absent and
 * records the resolved value, so `nnxr check` can print the scene with every default filled
 * in. Errors name the file, line:column, the key and what was allowed. Plugins reach these
 * functions through the "nnxr.config" service (they never link against the engine). */
#ifndef NNXR_CONFIG_H
#define NNXR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"

#define NNXR_SERVICE_CONFIG "nnxr.config"

typedef struct nnxr_config nnxr_config; /* opaque; owned by the host */

typedef struct nnxr_config_api {
    /* Integer in [min, max]. */
    bool (*get_int)(const nnxr_config *c, const char *key, int64_t def, int64_t min,
                    int64_t max, int64_t *out, nnxr_error *err);
    /* Float in [min, max] (an integer literal is accepted and converted). */
    bool (*get_float)(const nnxr_config *c, const char *key, double def, double min,
                      double max, double *out, nnxr_error *err);
    bool (*get_bool)(const nnxr_config *c, const char *key, bool def, bool *out,
                     nnxr_error *err);
    /* String; if `allowed` is non-NULL (NULL-terminated list) the value must be one of them.
     * *out stays valid as long as the config does. */
    bool (*get_string)(const nnxr_config *c, const char *key, const char *def,
                       const char *const *allowed, const char **out, nnxr_error *err);
    /* Array of numbers, each in [min, max], length in [min_len, max_len]; `out` holds
     * max_len values. With the key absent, def (def_len values) is used. */
    bool (*get_float_array)(const nnxr_config *c, const char *key, const double *def,
                            size_t def_len, size_t min_len, size_t max_len, double min,
                            double max, double *out, size_t *out_len, nnxr_error *err);
    /* Array of integers, as above. */
    bool (*get_int_array)(const nnxr_config *c, const char *key, const int64_t *def,
                          size_t def_len, size_t min_len, size_t max_len, int64_t min,
                          int64_t max, int64_t *out, size_t *out_len, nnxr_error *err);
    /* Array of strings, each one of `allowed` (NULL-terminated list, or NULL for any). The
     * strings in out stay valid as long as the config does. */
    bool (*get_string_array)(const nnxr_config *c, const char *key, const char *const *def,
                             size_t def_len, size_t min_len, size_t max_len,
                             const char *const *allowed, const char **out, size_t *out_len,
                             nnxr_error *err);
    bool (*has)(const nnxr_config *c, const char *key);
    /* Every key present must be in `known` (NULL-terminated); an unknown one is an error that
     * names it, where it is, and suggests the nearest known key. */
    bool (*check_keys)(const nnxr_config *c, const char *const *known, nnxr_error *err);
    /* Where this table lives, e.g. "scene.toml [[plugin]] #2 (nnxr.hud)" — for messages. */
    const char *(*describe)(const nnxr_config *c);
} nnxr_config_api;

#endif
