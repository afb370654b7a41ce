/* sim/labels.c — the user-level label state and its exact undo history (sim/labels.h). */
#include "sim/labels.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

bool nnxr_label_state_init(nnxr_label_state *s, uint32_t n, uint32_t classes, nnxr_error *err)
{
    memset(s, 0, sizeof *s);
    if (n == 0)
        return nnxr_fail(err, "label state: point count must be > 0");
    if (classes == 0)
        return nnxr_fail(err, "label state: class count must be > 0");
    s->label = malloc((size_t)n * sizeof *s->label);
    s->user = calloc(n, 1);
    if (!s->label || !s->user) {
        nnxr_label_state_free(s);
        return nnxr_fail(err, "label state: out of memory for %u points", n);
    }
    for (uint32_t i = 0; i < n; i++)
        s->label[i] = -1;
    s->n = n;
    s->classes = classes;
    return true;
}

static void change_free(nnxr_label_change *c)
{
    free(c->index);
    free(c->old_label);
    free(c->old_user);
    memset(c, 0, sizeof *c);
}

void nnxr_label_state_free(nnxr_label_state *s)
{
    if (!s)
        return;
    /* Slots past history_count are zeroed, or hold the change undone last. */
    for (uint32_t k = 0; k < s->history_cap; k++)
        change_free(&s->history[k]);
    free(s->history);
    free(s->label);
    free(s->user);
    memset(s, 0, sizeof *s);
}

bool nnxr_label_check_indices(const uint32_t *index, uint32_t count, uint32_t n,
                              nnxr_error *err)
{
    for (uint32_t k = 0; k < count; k++) {
        if (index[k] >= n)
            return nnxr_fail(err, "point index %u (entry %u) is out of range: %u points",
                             index[k], k, n);
        if (k > 0 && index[k] <= index[k - 1])
            return nnxr_fail(err, "point indices must ascend without repeats: entry %u is %u "
                             "after %u", k, index[k], index[k - 1]);
    }
    return true;
}

bool nnxr_label_state_apply(nnxr_label_state *s, nnxr_annot_kind kind, int32_t label,
                            const uint32_t *index, uint32_t count, const int32_t *old_label,
                            const uint8_t *old_user, nnxr_error *err)
{
    if (kind == NNXR_ANNOT_UNLABEL) {
        label = -1;
    } else if (kind == NNXR_ANNOT_LABEL) {
        if (label < 0 || (uint32_t)label >= s->classes)
            return nnxr_fail(err, "label %d is out of range: expected 0 .. %u", label,
                             s->classes - 1);
    } else {
        return nnxr_fail(err, "annotation kind %d cannot be applied (expected label or "
                         "unlabel)", (int)kind);
    }
    if (count > 0 && !index)
        return nnxr_fail(err, "annotation of %u points without an index list", count);
    if (!nnxr_label_check_indices(index, count, s->n, err))
        return false;
    if (s->history_count == s->history_cap) {
        uint32_t cap = s->history_cap ? s->history_cap * 2 : 16;
        nnxr_label_change *h = realloc(s->history, cap * sizeof *h);
        if (!h)
            return nnxr_fail(err, "label state: out of memory for the undo history");
        memset(h + s->history_cap, 0, (cap - s->history_cap) * sizeof *h);
        s->history = h;
        s->history_cap = cap;
    }
    change_free(&s->history[s->history_count]); /* the change undone last, if any */
    nnxr_label_change c = {.kind = kind, .label = label, .count = count};
    size_t m = count ? count : 1;
    c.index = malloc(m * sizeof *c.index);
    c.old_label = malloc(m * sizeof *c.old_label);
    c.old_user = malloc(m);
    if (!c.index || !c.old_label || !c.old_user) {
        change_free(&c);
        return nnxr_fail(err, "label state: out of memory for an annotation of %u points",
                         count);
    }
    for (uint32_t k = 0; k < count; k++) {
        uint32_t i = index[k];
        c.index[k] = i;
        c.old_label[k] = old_label ? old_label[k] : s->label[i];
        c.old_user[k] = old_user ? (old_user[k] != 0) : s->user[i];
        s->label[i] = label;
        s->user[i] = 1;
    }
    s->history[s->history_count++] = c;
    s->applied++;
    return true;
}

bool nnxr_label_state_undo(nnxr_label_state *s, bool *undone, const nnxr_label_change **change,
                           nnxr_error *err)
{
    (void)err;
    *undone = false;
    if (change)
        *change = NULL;
    /* The previously undone change stays allocated just past history_count until the next
     * call, so the borrowed view stays valid. */
    if (s->history_count < s->history_cap && s->history[s->history_count].index)
        change_free(&s->history[s->history_count]);
    if (s->history_count == 0)
        return true;
    nnxr_label_change *c = &s->history[--s->history_count];
    /* Reverse order is not needed (indices are unique) but costs nothing. */
    for (uint32_t k = c->count; k-- > 0;) {
        s->label[c->index[k]] = c->old_label[k];
        s->user[c->index[k]] = c->old_user[k];
    }
    s->applied++;
    *undone = true;
    if (change)
        *change = c;
    return true;
}

uint32_t nnxr_label_state_labelled(const nnxr_label_state *s)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < s->n; i++)
        m += (s->user[i] && s->label[i] >= 0);
    return m;
}

uint64_t nnxr_label_state_digest(const nnxr_label_state *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (uint32_t i = 0; i < s->n; i++) {
        uint32_t v = (uint32_t)s->label[i] ^ ((uint32_t)s->user[i] << 31);
        for (int b = 0; b < 4; b++) {
            h ^= (v >> (8 * b)) & 0xffu;
            h *= UINT64_C(1099511628211);
        }
    }
    return h;
}
