/* plugins/activation_grid/ag_math.h — the CPU side of the activation grid that needs no GPU:
 * the symmetric eigen-decomposition (cyclic Jacobi) behind the PCA view, its projection, and
 * the screen layout of the grid and the gallery (pure functions of sizes, so that tests place
 * their probes where the plugin draws). */
#ifndef NNXR_AG_MATH_H
#define NNXR_AG_MATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Eigenvalues and eigenvectors of the symmetric n×n matrix a (row-major; only read), by
 * cyclic Jacobi rotations. values[k] descending; vectors column k (vectors[i*n + k]) is the
 * unit eigenvector of values[k], its largest-magnitude component made positive (a fixed sign,
 * so that a picture does not flip between refreshes). work holds n*n doubles. Returns false
 * when the sweeps did not converge (the result is then the last iterate) or n is 0. */
bool nnxr_ag_jacobi(const double *a, uint32_t n, double *values, double *vectors, double *work);

/* The sample covariance (divisor count − 1) of x [count][dim] (float, row-major) in double:
 * cov [dim][dim] and mean [dim]. The oracle of the GPU kernel, and used when count < 2 is
 * not an issue (count 1 gives zeros). */
void nnxr_ag_covariance_ref(const float *x, uint32_t count, uint32_t dim, double *cov,
                            double *mean);

/* ---- layout ------------------------------------------------------------------------------ */

typedef struct nnxr_ag_rect {
    float x, y, w, h; /* pixels, origin top-left */
} nnxr_ag_rect;

/* One layer's block in the grid: its title line, and cells (row r, unit/channel c) at
 * (x + c * pitch_x, y + r * pitch_y), cell_w × cell_h each; the legend bar on the title line
 * with its low number left of it and its high number right of it. */
typedef struct nnxr_ag_block {
    bool shown;                     /* false: this layer is left out (too many cells) */
    float title_x, title_y;         /* the title's top-left */
    float legend_x, legend_y, legend_w, legend_h;
    float label_x;                  /* row labels: right-aligned at this x */
    float x, y;                     /* top-left of cell (0, 0) */
    float cell_w, cell_h, pitch_x, pitch_y;
} nnxr_ag_block;

/* A layer as the grid shows it: out_c cells per row of tile_w × tile_h values each
 * (a feature map, or 1 × 1). */
typedef struct nnxr_ag_shape {
    uint32_t cells, tile_w, tile_h;
} nnxr_ag_shape;

typedef struct nnxr_ag_grid_params {
    float text_px;    /* title line height */
    float label_w;    /* room left of the cells for row labels */
    float max_cell;   /* largest side of a 1×1 cell, pixels */
    float max_scale;  /* largest pixels per value of a feature map */
    float min_cell;   /* a layer whose cells would be smaller than this does not fit */
    float legend_w;   /* width of a legend bar */
} nnxr_ag_grid_params;

/* Places `count` layers of `rows` rows each top to bottom in `area`. A layer with too many
 * cells for the width is left out (shown = false); of the others, as many as fit the height
 * (the first ones). Returns how many are shown. */
uint32_t nnxr_ag_layout_grid(const nnxr_ag_rect *area, const nnxr_ag_shape *shapes,
                             uint32_t count, uint32_t rows, const nnxr_ag_grid_params *p,
                             nnxr_ag_block *out);

/* The gallery: a title line, then thumbnails left to right (wrapping into more lines when
 * room allows) with two text lines under each. */
typedef struct nnxr_ag_gallery_layout {
    float title_x, title_y;
    float x, y;             /* top-left of thumbnail 0 */
    float thumb;            /* side of a thumbnail */
    float pitch_x, pitch_y; /* from one thumbnail to the next in a line / to the next line */
    float text_px;          /* height of the two text lines under a thumbnail */
    uint32_t per_line, lines;
} nnxr_ag_gallery_layout;

/* text_w: width of the longest label line at text_px. Thumbnails shrink (not below 8 px)
 * when one line of them would not fit the height. */
void nnxr_ag_layout_gallery(const nnxr_ag_rect *area, float title_px, float thumb,
                            float text_px, float text_w, nnxr_ag_gallery_layout *out);

/* The scatter plot's square inside `area` below a title line: points with PCA coordinates in
 * [-1, 1]² land at (cx + u * half, cy - v * half). */
typedef struct nnxr_ag_scatter_layout {
    float title_x, title_y;
    float cx, cy, half;
} nnxr_ag_scatter_layout;

void nnxr_ag_layout_scatter(const nnxr_ag_rect *area, float title_px, float subtitle_px,
                            nnxr_ag_scatter_layout *out);

#endif
