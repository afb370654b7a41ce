/* data/playground.h — the 2-D toy data sets of TensorFlow Playground, generated from a seed
 * with the playground's own geometry (tensorflow/playground src/dataset.ts):
 *   circle  inner disc r in [0, 2.5) labelled +1, ring r in [3.5, 5) labelled -1; the label is
 *           decided at the point displaced by uniform noise in ±5·noise (dist < 2.5 → +1)
 *   xor     x, y uniform in ±5 pushed 0.3 away from the axes; label sign(x·y) (≥ 0 → +1) of the
 *           point displaced by uniform noise in ±5·noise
 *   gauss   two normal clouds at (2, 2) (+1) and (-2, -2) (-1); variance 0.5 + 7·noise
 *   spiral  two arms, r = 5·i/n, t = 1.75·2π·i/n (+π for the -1 arm), x = r sin t, y = r cos t,
 *           each coordinate moved by uniform noise in ±noise
 *   plane   (regression) x, y uniform in ±6, target (x' + y')/10 at the point displaced by
 *           uniform noise in ±6·noise (not clamped, as in the playground: |target| ≤ 1.2·(1+noise))
 *   multi_gauss (regression) x, y uniform in ±6; target: of six bumps at (±4|0, ±2.5) with signs
 *           +,-,+ / -,+,-, the one of largest |sign·clamp(1 - d/2, 0, 1)| at the displaced point
 * noise is a fraction 0..0.5 (the playground's 0–50 %). Labels ±1 map to classes 0 (-1) and
 * 1 (+1). The whole set is shuffled and split train:test like the playground does.
 *
 * Feature maps turn (x1, x2) into any chosen subset of x1, x2, x1², x2², x1·x2, sin x1, sin x2
 * (always in that order), for training points and for grids of points (heatmaps). */
#ifndef NNXR_DATA_PLAYGROUND_H
#define NNXR_DATA_PLAYGROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/rng.h"
#include "nnxr/error.h"

typedef enum nnxr_pg_kind {
    NNXR_PG_CIRCLE = 0,
    NNXR_PG_XOR,
    NNXR_PG_GAUSS,
    NNXR_PG_SPIRAL,
    NNXR_PG_PLANE,       /* regression */
    NNXR_PG_MULTI_GAUSS, /* regression */
    NNXR_PG_KIND_COUNT
} nnxr_pg_kind;

/* The playground's domain: every generated coordinate is meant to be seen in [-6, 6]. */
#define NNXR_PG_DOMAIN 6.0f

/* "circle", "xor", "gauss", "spiral", "plane" (or "reg-plane"), "multi_gauss" (or
 * "multi-gaussian", "reg-gauss"). */
bool nnxr_pg_kind_parse(const char *name, nnxr_pg_kind *out, nnxr_error *err);
const char *nnxr_pg_kind_name(nnxr_pg_kind kind);
bool nnxr_pg_kind_is_regression(nnxr_pg_kind kind);

/* Points as structure of arrays, ready for upload. */
typedef struct nnxr_pg_set {
    uint32_t count;
    float *xy;     /* 2*count: x1, x2 of each point */
    float *target; /* count: the playground's label, ±1 (classification) or the regression
                      value (multi_gauss in [-1, 1]; plane see above) */
    uint8_t *cls;  /* count: class 0 (label -1) or 1 (label +1); all 0 for regression */
} nnxr_pg_set;

typedef struct nnxr_pg_options {
    nnxr_pg_kind kind;
    uint32_t num_points;  /* total before the split; playground default 500 (1200 regression) */
    float noise;          /* 0..0.5 (the playground's percent / 100) */
    float train_fraction; /* (0, 1]; playground default 0.5 */
    uint64_t seed;
} nnxr_pg_options;

typedef struct nnxr_pg_data {
    nnxr_pg_kind kind;
    nnxr_pg_set train, test;
} nnxr_pg_data;

/* The playground's default options for a kind (500 or 1200 points, noise 0, half for training,
 * seed 1). */
nnxr_pg_options nnxr_pg_default_options(nnxr_pg_kind kind);

/* Generates count points in the playground's order (classes in blocks, no shuffle), drawing
 * from rng. noise must be in [0, 0.5]. The building block of nnxr_pg_generate. */
bool nnxr_pg_generate_points(nnxr_pg_kind kind, uint32_t count, float noise, nnxr_rng *rng,
                             nnxr_pg_set *out, nnxr_error *err);

/* Generates, shuffles and splits: train gets floor(num_points*train_fraction) points, test the
 * rest. The same options always give the same data. */
bool nnxr_pg_generate(const nnxr_pg_options *opt, nnxr_pg_data *out, nnxr_error *err);

void nnxr_pg_set_free(nnxr_pg_set *set);
void nnxr_pg_data_free(nnxr_pg_data *data);

/* The noise-free label or target of the point (x1, x2): circle, xor, plane and multi_gauss use
 * the playground's labelling rule; gauss the Bayes boundary x1 + x2 = 0; spiral the label of
 * the nearer arm. For background maps and tests. */
double nnxr_pg_truth(nnxr_pg_kind kind, double x1, double x2);

/* ---- feature maps ---- */

typedef enum nnxr_pg_feature {
    NNXR_FEAT_X1 = 1u << 0,
    NNXR_FEAT_X2 = 1u << 1,
    NNXR_FEAT_X1_SQ = 1u << 2,
    NNXR_FEAT_X2_SQ = 1u << 3,
    NNXR_FEAT_X1_X2 = 1u << 4,
    NNXR_FEAT_SIN_X1 = 1u << 5,
    NNXR_FEAT_SIN_X2 = 1u << 6,
} nnxr_pg_feature;

#define NNXR_FEAT_ALL 0x7Fu
#define NNXR_FEAT_DEFAULT (NNXR_FEAT_X1 | NNXR_FEAT_X2)

typedef uint32_t nnxr_feature_mask;

/* Number of features selected by the mask (bits outside NNXR_FEAT_ALL are ignored). */
uint32_t nnxr_features_count(nnxr_feature_mask mask);

/* "x1", "x2", "x1^2" ("x1sq", "x1_sq"), "x2^2", "x1x2" ("x1*x2", "x1_x2"), "sin_x1"
 * ("sin(x1)", "sinx1"), "sin_x2"; sets *bit. */
bool nnxr_feature_parse(const char *name, nnxr_pg_feature *bit, nnxr_error *err);
/* Canonical name of one feature bit ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"),
 * or NULL for something that is not a single feature. */
const char *nnxr_feature_name(nnxr_pg_feature bit);

/* For each of count points (xy as x1, x2 pairs) writes nnxr_features_count(mask) floats to out
 * (row-major, count rows), features in bit order. Computed in double, rounded once. */
void nnxr_features_apply(nnxr_feature_mask mask, const float *xy, size_t count, float *out);

/* A grid of nx*ny points covering [lo, hi]² including its edges, in image order: row r (top,
 * y = hi, to bottom, y = lo) then column c (x = lo to hi); writes 2*nx*ny floats (x1, x2).
 * Same layout as the playground's heatmaps; a side of 1 sits at the centre. */
void nnxr_pg_grid_points(uint32_t nx, uint32_t ny, float lo, float hi, float *xy);

#endif
