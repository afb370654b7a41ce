/* config/config.h — the engine side of nnxr/config.h: making an nnxr_config over one TOML table
 * (or over nothing, when the table is absent) whose getters record each resolved value into
 * a table of the resolved document. */
#ifndef NNXR_CONFIG_CONFIG_H
#define NNXR_CONFIG_CONFIG_H

#include "config/toml.h"
#include "nnxr/config.h"

struct nnxr_config {
    const nnxr_toml_value *table; /* the table as written; NULL when absent */
    nnxr_toml_value *resolved;    /* receives every value read (default or not); may be NULL */
    const char *file;             /* for messages */
    char where[160];              /* "[train]", "[[plugin]] #2 (nnxr.hud)" */
    const char *const *host_keys; /* keys the host reads itself (e.g. "id"), always accepted */
};

/* table may be NULL (all defaults); resolved may be NULL (nothing recorded). */
void nnxr_config_init(nnxr_config *c, const nnxr_toml_value *table, nnxr_toml_value *resolved,
                      const char *file, const char *where);

const nnxr_config_api *nnxr_config_api_get(void);

/* Levenshtein distance, for "did you mean" suggestions. */
size_t nnxr_edit_distance(const char *a, const char *b);

/* The entry of `known` (NULL-terminated) nearest to `word`, or NULL when none is close enough
 * to be a plausible typo. */
const char *nnxr_nearest_word(const char *word, const char *const *known);

#endif
