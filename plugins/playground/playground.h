/* plugins/playground/playground.h — the playground plugin's own extension for tests and
 * tools, "nnxr.playground.probe": the values its last grid pass computed (read back from the
 * GPU) and where each heatmap is drawn. Not part of the engine's ABI: a plugin asks for it by
 * id like any extension and gets NULL from any other plugin. */
#ifndef NNXR_PLAYGROUND_PROBE_H
#define NNXR_PLAYGROUND_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"

#define NNXR_PLAYGROUND_PROBE "nnxr.playground.probe"

/* The grid: resolution x resolution points over [lo, hi]^2. Point i = row * resolution + col
 * sits at the centre of its cell: x1 = lo + (col + 0.5) * (hi - lo) / resolution,
 * x2 = hi - (row + 0.5) * (hi - lo) / resolution (row 0 is the top, as in the image). */
typedef struct nnxr_playground_grid {
    uint64_t generation; /* the model generation the values were computed for */
    uint64_t step;       /* the frame's train_step when they were computed */
    uint32_t resolution;
    float lo, hi;
    uint32_t features;   /* input features (the first `features` units) */
    uint32_t units;      /* features, then every dense layer's outputs in order */
    uint32_t cells;      /* heatmaps drawn: features, hidden neurons, then the output */
    uint32_t layers;     /* dense layers */
} nnxr_playground_grid;

typedef struct nnxr_playground_probe_ext {
    /* Fills *out; with values non-NULL also copies the raw unit values, float
     * [units][resolution^2] (activated outputs; features as computed), if max >= their
     * count. False (with err) when no grid has been computed yet. */
    bool (*grid)(void *self, nnxr_playground_grid *out, float *values, size_t max,
                 nnxr_error *err);
    /* The rectangle of heatmap `cell`: screen space, x, y of its top-left corner and its
     * width, height in pixels of the view (y down); world space, x, y of its top-left corner
     * in world units (y up, the board's plane z = center z) and its width, height. False if
     * there is no such cell or nothing is laid out yet. Cells: features, hidden neurons
     * layer by layer, then the output. */
    bool (*cell_rect)(void *self, uint32_t cell, float rect[4]);
} nnxr_playground_probe_ext;

#endif
