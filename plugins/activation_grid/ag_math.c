/* plugins/activation_grid/ag_math.c — the activation grid's CPU arithmetic and layout: cyclic
 * Jacobi for the PCA's symmetric covariance, the double-precision covariance that is the GPU
 * kernel's oracle, and where the grid's cells, the gallery's thumbnails and the scatter plot
 * go on the screen. */
#include "ag_math.h"

#include <math.h>
#include <string.h>

bool nnxr_ag_jacobi(const double *a, uint32_t n, double *values, double *vectors, double *work)
{
    if (n == 0)
        return false;
    double *m = work;
    memcpy(m, a, (size_t)n * n * sizeof *m);
    double total = 0;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        total += m[i] * m[i];
        vectors[i] = 0;
    }
    for (uint32_t i = 0; i < n; i++)
        vectors[(size_t)i * n + i] = 1;
    bool converged = false;
    /* Cyclic sweeps converge quadratically; 60 is far beyond what a symmetric matrix of a few
     * hundred rows needs, and bounds the work on NaN input. */
    for (int sweep = 0; sweep < 60 && isfinite(total); sweep++) {
        double off = 0;
        for (uint32_t p = 0; p < n; p++)
            for (uint32_t q = p + 1; q < n; q++)
                off += m[(size_t)p * n + q] * m[(size_t)p * n + q];
        if (off <= 1e-30 * total || off == 0) {
            converged = true;
            break;
        }
        for (uint32_t p = 0; p < n; p++)
            for (uint32_t q = p + 1; q < n; q++) {
                double apq = m[(size_t)p * n + q];
                if (apq == 0)
                    continue;
                double theta = (m[(size_t)q * n + q] - m[(size_t)p * n + p]) / (2 * apq);
                double t = fabs(theta) > 1e150 ? 0.5 / theta
                                               : (theta >= 0 ? 1.0 : -1.0) /
                                                     (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (uint32_t k = 0; k < n; k++) {
                    double kp = m[(size_t)k * n + p], kq = m[(size_t)k * n + q];
                    m[(size_t)k * n + p] = c * kp - s * kq;
                    m[(size_t)k * n + q] = s * kp + c * kq;
                }
                for (uint32_t k = 0; k < n; k++) {
                    double pk = m[(size_t)p * n + k], qk = m[(size_t)q * n + k];
                    m[(size_t)p * n + k] = c * pk - s * qk;
                    m[(size_t)q * n + k] = s * pk + c * qk;
                }
                for (uint32_t k = 0; k < n; k++) {
                    double vp = vectors[(size_t)k * n + p], vq = vectors[(size_t)k * n + q];
                    vectors[(size_t)k * n + p] = c * vp - s * vq;
                    vectors[(size_t)k * n + q] = s * vp + c * vq;
                }
            }
    }
    for (uint32_t i = 0; i < n; i++)
        values[i] = m[(size_t)i * n + i];
    /* Selection sort, descending, moving the columns along (n is small). */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t best = i;
        for (uint32_t j = i + 1; j < n; j++)
            if (values[j] > values[best])
                best = j;
        if (best != i) {
            double t = values[i];
            values[i] = values[best];
            values[best] = t;
            for (uint32_t k = 0; k < n; k++) {
                double v = vectors[(size_t)k * n + i];
                vectors[(size_t)k * n + i] = vectors[(size_t)k * n + best];
                vectors[(size_t)k * n + best] = v;
            }
        }
    }
    for (uint32_t j = 0; j < n; j++) {
        uint32_t big = 0;
        for (uint32_t k = 1; k < n; k++)
            if (fabs(vectors[(size_t)k * n + j]) > fabs(vectors[(size_t)big * n + j]))
                big = k;
        if (vectors[(size_t)big * n + j] < 0)
            for (uint32_t k = 0; k < n; k++)
                vectors[(size_t)k * n + j] = -vectors[(size_t)k * n + j];
    }
    return converged;
}

void nnxr_ag_covariance_ref(const float *x, uint32_t count, uint32_t dim, double *cov,
                            double *mean)
{
    for (uint32_t i = 0; i < dim; i++) {
        double s = 0;
        for (uint32_t k = 0; k < count; k++)
            s += x[(size_t)k * dim + i];
        mean[i] = count ? s / count : 0;
    }
    for (uint32_t i = 0; i < dim; i++)
        for (uint32_t j = 0; j < dim; j++) {
            double s = 0;
            for (uint32_t k = 0; k < count; k++)
                s += ((double)x[(size_t)k * dim + i] - mean[i]) *
                     ((double)x[(size_t)k * dim + j] - mean[j]);
            cov[(size_t)i * dim + j] = count > 1 ? s / (count - 1) : 0;
        }
}

/* ---- layout ------------------------------------------------------------------------------ */

static float gap_of(const nnxr_ag_shape *s) { return s->tile_w > 1 || s->tile_h > 1 ? 3 : 1; }

static bool is_map(const nnxr_ag_shape *s) { return s->tile_w > 1 || s->tile_h > 1; }

/* Pixels per value that fill the width with the layer's cells, capped. */
static float width_scale(const nnxr_ag_shape *s, float aw, const nnxr_ag_grid_params *p)
{
    float sw = (aw / (float)s->cells - gap_of(s)) / (float)s->tile_w;
    return is_map(s) ? fminf(sw, p->max_scale) : floorf(fminf(sw, p->max_cell));
}

uint32_t nnxr_ag_layout_grid(const nnxr_ag_rect *area, const nnxr_ag_shape *shapes,
                             uint32_t count, uint32_t rows, const nnxr_ag_grid_params *p,
                             nnxr_ag_block *out)
{
    float title_h = p->text_px + 4, block_gap = 8;
    float aw = area->w - p->label_w;
    for (uint32_t i = 0; i < count; i++)
        memset(&out[i], 0, sizeof out[i]);
    if (aw <= 0 || rows == 0 || count > 64)
        return 0;
    /* Layers whose cells cannot reach min_cell across the width are left out first. */
    uint32_t idx[64], wide_ok = 0;
    for (uint32_t i = 0; i < count; i++) {
        const nnxr_ag_shape *s = &shapes[i];
        if (s->cells && floorf((float)s->tile_w * width_scale(s, aw, p)) >= p->min_cell)
            idx[wide_ok++] = i;
    }
    for (uint32_t n = wide_ok; n > 0; n--) {
        /* Scale of each layer to fill the width. When the blocks are taller than the area,
         * feature maps shrink first (one factor for all), one-value cells keep their size;
         * if that is not enough, everything shrinks in height by one factor (one-value cells
         * keep their width); if cells would then be too small, the last layer is left out. */
        float scale[64], wide[64], fm = 1, fc = 1;
        float fixed = 0, vmap = 0, vcell = 0;
        for (uint32_t j = 0; j < n; j++) {
            const nnxr_ag_shape *s = &shapes[idx[j]];
            scale[j] = wide[j] = width_scale(s, aw, p);
            fixed += title_h + block_gap + (float)rows * gap_of(s);
            if (is_map(s))
                vmap += (float)rows * (float)s->tile_h * scale[j];
            else
                vcell += (float)rows * scale[j];
        }
        if (fixed + vmap + vcell > area->h) {
            fm = vmap > 0 ? (area->h - fixed - vcell) / vmap : 0;
            bool maps_ok = fm > 0;
            for (uint32_t j = 0; maps_ok && j < n; j++) {
                const nnxr_ag_shape *s = &shapes[idx[j]];
                if (is_map(s))
                    maps_ok = floorf((float)s->tile_w * scale[j] * fm) >= p->min_cell &&
                              floorf((float)s->tile_h * scale[j] * fm) >= p->min_cell;
            }
            if (!maps_ok)
                fm = fc = vmap + vcell > 0 ? (area->h - fixed) / (vmap + vcell) : 0;
        }
        bool ok = fm > 0 && fc > 0;
        for (uint32_t j = 0; ok && j < n; j++) {
            const nnxr_ag_shape *s = &shapes[idx[j]];
            scale[j] = is_map(s) ? scale[j] * fm : floorf(scale[j] * fc);
            ok = floorf((float)s->tile_w * scale[j]) >= p->min_cell &&
                 floorf((float)s->tile_h * scale[j]) >= p->min_cell;
        }
        if (!ok)
            continue;
        float y = area->y;
        for (uint32_t j = 0; j < n; j++) {
            const nnxr_ag_shape *s = &shapes[idx[j]];
            float g = gap_of(s), sc = scale[j];
            nnxr_ag_block *b = &out[idx[j]];
            b->shown = true;
            b->title_x = area->x;
            b->title_y = y;
            b->legend_w = p->legend_w;
            b->legend_h = floorf(p->text_px * 0.6f);
            b->legend_x = floorf(area->x + area->w - p->legend_w - 8 * p->text_px * 0.5f);
            b->legend_y = floorf(y + (p->text_px - b->legend_h) * 0.5f);
            b->x = floorf(area->x + p->label_w);
            b->y = floorf(y + title_h);
            /* A squeezed one-value cell keeps its width: wide, short rows still read. */
            b->cell_w = floorf((float)s->tile_w * (is_map(s) ? sc : wide[j]));
            b->cell_h = floorf((float)s->tile_h * sc);
            b->pitch_x = b->cell_w + g;
            b->pitch_y = b->cell_h + g;
            b->label_x = b->x - 4;
            y = b->y + (float)rows * b->pitch_y + block_gap;
        }
        return n;
    }
    return 0;
}

void nnxr_ag_layout_gallery(const nnxr_ag_rect *area, float title_px, float thumb,
                            float text_px, float text_w, nnxr_ag_gallery_layout *out)
{
    memset(out, 0, sizeof *out);
    out->title_x = area->x;
    out->title_y = area->y;
    out->x = floorf(area->x);
    out->y = floorf(area->y + title_px + 6);
    out->thumb = thumb;
    out->text_px = text_px;
    out->pitch_x = floorf(fmaxf(thumb, text_w) + 10);
    out->pitch_y = floorf(thumb + 2 * text_px + 12);
    float w = area->w + 10, h = area->y + area->h - out->y + 12;
    if (h < out->pitch_y && h - 2 * text_px - 12 >= 8) {
        out->thumb = floorf(h - 2 * text_px - 12);
        out->pitch_y = floorf(out->thumb + 2 * text_px + 12);
    }
    out->per_line = w > out->pitch_x ? (uint32_t)(w / out->pitch_x) : 0;
    out->lines = h >= out->pitch_y ? (uint32_t)(h / out->pitch_y) : 0;
}

void nnxr_ag_layout_scatter(const nnxr_ag_rect *area, float title_px, float subtitle_px,
                            nnxr_ag_scatter_layout *out)
{
    out->title_x = area->x;
    out->title_y = area->y;
    float top = area->y + title_px + subtitle_px + 10;
    float side = fminf(area->w, area->y + area->h - top);
    if (side < 0)
        side = 0;
    out->half = floorf(side * 0.5f) - 8;
    if (out->half < 0)
        out->half = 0;
    out->cx = floorf(area->x + area->w * 0.5f);
    out->cy = floorf(top + side * 0.5f);
}
