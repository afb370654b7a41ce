/* sim/labels.h — the user-level label state of a point set on the CPU: each point's label
 * (−1 = none) and whether a user decided it, plus the undo history of annotations (for each
 * one, the points it touched and what they held before, so that undo is exact). The latent
 * cloud keeps one as the mirror of its GPU label buffers; journal replay and the journal's
 * crash test rebuild one from records alone. No GPU here. */
#ifndef NNXR_SIM_LABELS_H
#define NNXR_SIM_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "nnxr/error.h"

typedef enum nnxr_annot_kind {
    NNXR_ANNOT_LABEL = 1,   /* points take `label`, user flag set */
    NNXR_ANNOT_UNLABEL = 2, /* points take −1, user flag set */
    NNXR_ANNOT_UNDO = 3,    /* the last annotation not yet undone is reverted */
} nnxr_annot_kind;

/* What one annotation changed: the points (ascending) and their previous values. */
typedef struct nnxr_label_change {
    nnxr_annot_kind kind;
    int32_t label;          /* the new label (−1 for UNLABEL) */
    uint32_t count;
    uint32_t *index;        /* ascending, unique, < n */
    int32_t *old_label;
    uint8_t *old_user;
} nnxr_label_change;

typedef struct nnxr_label_state {
    uint32_t n;
    uint32_t classes;       /* labels must be < classes */
    int32_t *label;         /* n */
    uint8_t *user;          /* n: 1 = a user annotation decided label[i] */
    nnxr_label_change *history; /* annotations not undone, oldest first */
    uint32_t history_count, history_cap;
    uint64_t applied;       /* annotations and undos applied so far */
} nnxr_label_state;

bool nnxr_label_state_init(nnxr_label_state *s, uint32_t n, uint32_t classes,
                           nnxr_error *err);
void nnxr_label_state_free(nnxr_label_state *s); /* zeroed or freed state is fine */

/* Checks an index list: ascending, unique, every index < n. */
bool nnxr_label_check_indices(const uint32_t *index, uint32_t count, uint32_t n,
                              nnxr_error *err);

/* Applies a LABEL or UNLABEL over the listed points (ascending, unique, < n). The previous
 * values are taken from old_label/old_user when given (the GPU's view, which may hold
 * machine labels), else from the state itself. Nothing changes on failure. */
bool nnxr_label_state_apply(nnxr_label_state *s, nnxr_annot_kind kind, int32_t label,
                            const uint32_t *index, uint32_t count, const int32_t *old_label,
                            const uint8_t *old_user, nnxr_error *err);

/* Reverts the last annotation still in the history. *undone = false (and true is returned)
 * when the history is empty. `change` (may be NULL) receives a borrowed view of what was
 * restored, valid until the next call on s. */
bool nnxr_label_state_undo(nnxr_label_state *s, bool *undone, const nnxr_label_change **change,
                           nnxr_error *err);

/* Number of points with a user label (≥ 0). */
uint32_t nnxr_label_state_labelled(const nnxr_label_state *s);

/* A 64-bit FNV-1a digest of labels and user flags, for tests comparing states. */
uint64_t nnxr_label_state_digest(const nnxr_label_state *s);

#endif
