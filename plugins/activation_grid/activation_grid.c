/* plugins/activation_grid/activation_grid.c — CNN Explainer-like views of a model
 * ("nnxr.activation_grid"), after the MNIST activations report:
 *   - the activation grid: per chosen layer, one row per probe sample (or per class mean),
 *     one cell per neuron — a conv channel as its feature map (or its mean) — in viridis over
 *     the layer's own [min, max], with a legend bar and the range's numbers;
 *   - a gallery of misclassified evaluation samples with their true and predicted classes;
 *   - a PCA scatter of one layer's outputs on the probe batch, coloured by class.
 * Where the data lives: activations stay on the GPU — a compute pass packs a layer's probe
 * (or class-mean) region into an image buffer, a second finds its min/max, a third
 * normalises it, and image_record_copy hands it to the cell quads: no readback. The min/max
 * partials (32 floats a layer) and the PCA's covariance (dim² floats) land in a host-mapped
 * buffer that the next frame reads (the frame's submission has completed by then) for the
 * legend numbers and the eigenvectors (Jacobi on the CPU). Predictions and labels of the
 * evaluation set (8 bytes a sample) are read back when outputs_version changes. Everything
 * is refreshed when the model's evaluation outputs change (an epoch's end, an EVALUATE
 * command — this plugin can ask for one at the start and every N steps). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_gpu.h"
#include "ag_math.h"
#include "nnxr/draw.h"
#include "nnxr/gpu.h"
#include "nnxr/model.h"
#include "nnxr/plugin.h"
#include "nnxr/render.h"

#define MAX_LAYERS 32
#define MAX_NAMES 32
#define MAX_ROWS 32
#define LEGEND_STEPS 256

typedef struct ag_layer {
    uint32_t index;  /* in the model's layer table */
    char name[24];
    uint32_t out_c, out_h, out_w;
    bool mean;       /* cells are channel means (1×1) */
    nnxr_ag_shape shape;
    uint32_t width, height;        /* of the image: cells·tile_w × rows·tile_h */
    uint32_t pack_off;             /* floats into the pack buffer */
    nnxr_model_region src;         /* probe or class-mean region */
    nnxr_binding *bind_pack;
    uint32_t src_off;              /* floats into the source slot */
    nnxr_draw_image *img;
    nnxr_draw_batch *cells;
    float lo, hi;
    bool have_range;
} ag_layer;

typedef struct ag {
    const nnxr_host *host;
    const nnxr_log_api *log;
    const nnxr_gpu_api *gpu;
    const nnxr_render_api *r;
    const nnxr_model_api *model;
    const nnxr_commands_api *commands;
    nnxr_ag_kernels k;
    nnxr_draw *draw;
    nnxr_draw_batch *bg, *legend, *gallery, *lines, *points, *text;
    nnxr_draw_image *ramp;

    /* config */
    const char *names[MAX_NAMES];
    size_t name_count;
    bool class_rows, conv_mean;
    uint32_t max_rows, gallery_max, pca_max_dim;
    const char *pca_name;
    float grid_f[4], gallery_f[4], pca_f[4];
    float thumb_px, point_px, text_px, label_px, cell_px, opacity;
    bool evaluate_at_start;
    uint64_t evaluate_every;

    /* the model as last set up */
    uint64_t generation, outputs_version;
    bool set_up, have_data, pending;
    uint32_t classes, probe_count, rows;
    const char *const *class_names;
    ag_layer layers[MAX_LAYERS];
    uint32_t layer_count;
    nnxr_buffer *pack, *stats;
    nnxr_binding *bind_minmax, *bind_norm;

    /* PCA */
    bool pca_on, pca_mean;
    uint32_t pca_layer, pca_dim, pca_count, pca_feat_off, pca_x_off, cov_off;
    nnxr_model_region pca_src;
    nnxr_binding *bind_pca_pack, *bind_cov;
    /* The class means of the PCA's layer, projected on the same axes (when the model has
     * them): packed into the pack buffer at pca_class_off, read back by finish(). */
    nnxr_model_region pca_class_src;
    uint32_t pca_classes, pca_class_off, pca_class_src_off;
    nnxr_binding *bind_pca_class;
    float *pca_class_x;
    float (*pca_class_xy)[2];
    int32_t probe_labels[4096]; /* the probe samples' true classes ([train] probe <= 4096) */
    uint32_t probe_label_count;
    double *pca_cov, *pca_vec, *pca_work, *pca_val;
    float *pca_x;
    float (*pca_xy)[2];
    bool have_pca;
    double pca_explained[2];

    /* gallery */
    bool gallery_on;
    uint32_t in_w, in_h, in_size;
    const uint8_t *eval_u8;
    uint32_t eval_count;
    int32_t *pred, *truth;
    uint32_t shown, wrong, gallery_idx[256];
    nnxr_draw_image *atlas;

    /* drawing */
    bool dirty;
    uint32_t view_w, view_h;
    bool warned, eval_pushed, setup_failed;
    uint64_t last_eval_step;
} ag;

/* ---- the model's layers: choice, GPU resources ------------------------------------------ */

static void teardown(ag *g)
{
    for (uint32_t i = 0; i < g->layer_count; i++) {
        ag_layer *l = &g->layers[i];
        if (l->bind_pack)
            g->gpu->binding_destroy(g->gpu->ctx, l->bind_pack);
        if (g->draw) {
            g->r->batch_destroy(g->draw, l->cells);
            g->r->image_destroy(g->draw, l->img);
        }
        memset(l, 0, sizeof *l);
    }
    g->layer_count = 0;
    nnxr_binding *binds[5] = {g->bind_minmax, g->bind_norm, g->bind_pca_pack, g->bind_cov,
                              g->bind_pca_class};
    for (int i = 0; i < 5; i++)
        if (binds[i])
            g->gpu->binding_destroy(g->gpu->ctx, binds[i]);
    g->bind_minmax = g->bind_norm = g->bind_pca_pack = g->bind_cov = g->bind_pca_class = NULL;
    free(g->pca_class_x);
    free(g->pca_class_xy);
    g->pca_class_x = NULL;
    g->pca_class_xy = NULL;
    g->pca_classes = 0;
    if (g->gpu) {
        g->gpu->buffer_destroy(g->gpu->ctx, g->pack);
        g->gpu->buffer_destroy(g->gpu->ctx, g->stats);
    }
    g->pack = g->stats = NULL;
    free(g->pca_cov);
    free(g->pca_vec);
    free(g->pca_work);
    free(g->pca_val);
    free(g->pca_x);
    free(g->pca_xy);
    g->pca_cov = g->pca_vec = g->pca_work = g->pca_val = NULL;
    g->pca_x = NULL;
    g->pca_xy = NULL;
    g->pca_on = g->have_pca = false;
    g->have_data = g->pending = false;
    g->set_up = false;
}

static uint32_t layer_size(const nnxr_model_layer *L) { return L->out_c * L->out_h * L->out_w; }

static const nnxr_model_region *rows_region(const ag *g, const nnxr_model_layer *L)
{
    return g->class_rows ? &L->class_mean : &L->probe;
}

/* Whether layer L can be shown; why not in err. */
static bool usable(const ag *g, const nnxr_model_info *info, const nnxr_model_layer *L,
                   nnxr_error *err)
{
    const nnxr_model_region *src = rows_region(g, L);
    uint32_t rows = g->class_rows ? info->classes : info->probe_count;
    if (!src->buffer || rows == 0)
        return nnxr_failf(err, "layer '%s' has no %s activations in this model", L->name,
                          g->class_rows ? "class-mean" : "probe");
    if (layer_size(L) == 0 || src->size < (VkDeviceSize)rows * layer_size(L) * 4)
        return nnxr_failf(err,
                          "layer '%s': its %s region holds %llu bytes, expected %u rows of %u "
                          "floats",
                          L->name, g->class_rows ? "class-mean" : "probe",
                          (unsigned long long)src->size, rows, layer_size(L));
    return true;
}

static bool choose_pca(ag *g, const nnxr_model_info *info, nnxr_error *err)
{
    g->pca_on = false;
    if (!strcmp(g->pca_name, "none"))
        return true;
    bool automatic = !strcmp(g->pca_name, "auto");
    int found = -1;
    if (automatic) {
        /* The last layer before the output that has a probe and more than two values. */
        for (int i = (int)info->layer_count - 2; i >= 0 && found < 0; i--)
            if (info->layers[i].probe.buffer && layer_size(&info->layers[i]) > 2)
                found = i;
        if (found < 0 && info->layer_count && info->layers[info->layer_count - 1].probe.buffer)
            found = (int)info->layer_count - 1;
        if (found < 0)
            return true;
    } else {
        for (uint32_t i = 0; i < info->layer_count && found < 0; i++)
            if (!strcmp(info->layers[i].name, g->pca_name))
                found = (int)i;
        if (found < 0)
            return nnxr_failf(err, "pca_layer = \"%s\": the model has no such layer", g->pca_name);
    }
    const nnxr_model_layer *L = &info->layers[found];
    uint32_t size = layer_size(L);
    if (!L->probe.buffer || info->probe_count < 3 ||
        L->probe.size < (VkDeviceSize)info->probe_count * size * 4) {
        if (automatic)
            return true;
        return nnxr_failf(err,
                          "pca_layer = \"%s\": the model has no probe activations of it (or "
                          "fewer than 3 probe samples)",
                          g->pca_name);
    }
    g->pca_mean = size > g->pca_max_dim;
    g->pca_dim = g->pca_mean ? L->out_c : size;
    if (g->pca_dim > g->pca_max_dim || g->pca_dim < 2) {
        if (automatic) {
            nnxr_logf(g->log, g->host, NNXR_LEVEL_INFO,
                      "activation grid: no PCA: layer '%s' has %u features "
                      "(pca_max_dim = %u)",
                      L->name, g->pca_dim, g->pca_max_dim);
            return true;
        }
        return nnxr_failf(
            err, "pca_layer = \"%s\": %u features (%s), expected 2 to pca_max_dim = %u",
            g->pca_name, g->pca_dim, g->pca_mean ? "its channels" : "its outputs", g->pca_max_dim);
    }
    g->pca_layer = (uint32_t)found;
    g->pca_count = info->probe_count;
    g->pca_src = L->probe;
    g->pca_classes = 0;
    if (L->class_mean.buffer && info->classes &&
        L->class_mean.size >= (VkDeviceSize)info->classes * size * 4) {
        g->pca_class_src = L->class_mean;
        g->pca_classes = info->classes;
    }
    g->pca_on = true;
    return true;
}

static bool setup(ag *g, nnxr_error *err)
{
    teardown(g);
    nnxr_model_info info = {.size = sizeof info};
    if (!g->model->info(g->model->ctx, &info, err))
        return false;
    g->generation = info.generation;
    g->outputs_version = 0;
    g->classes = info.classes;
    g->probe_count = info.probe_count;
    if (g->class_rows && info.classes == 0)
        return nnxr_failf(err, "rows = \"class\": the model has no classes (use rows = \"probe\")");
    uint32_t avail = g->class_rows ? info.classes : info.probe_count;
    g->rows = avail < g->max_rows ? avail : g->max_rows;
    if (g->rows == 0)
        return nnxr_failf(err, "the model has no %s to show",
                          g->class_rows ? "classes" : "probe samples");
    const VkPhysicalDeviceLimits *lim = &g->gpu->properties(g->gpu->ctx)->limits;
    uint32_t picks[MAX_LAYERS], n = 0;
    if (g->name_count) {
        for (size_t i = 0; i < g->name_count; i++) {
            int found = -1;
            for (uint32_t j = 0; j < info.layer_count && found < 0; j++)
                if (!strcmp(info.layers[j].name, g->names[i]))
                    found = (int)j;
            if (found < 0) {
                char list[512] = "";
                for (uint32_t j = 0; j < info.layer_count; j++) {
                    size_t len = strlen(list);
                    snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "",
                             info.layers[j].name);
                }
                return nnxr_failf(err, "layers: the model has no layer '%s' (its layers: %s)",
                                  g->names[i], list);
            }
            if (!usable(g, &info, &info.layers[found], err))
                return false;
            picks[n++] = (uint32_t)found;
        }
    } else {
        nnxr_error why;
        for (uint32_t j = 0; j < info.layer_count && n < MAX_LAYERS; j++)
            if (usable(g, &info, &info.layers[j], &why))
                picks[n++] = j;
    }
    uint64_t pack_floats = 0;
    for (uint32_t i = 0; i < n; i++) {
        const nnxr_model_layer *L = &info.layers[picks[i]];
        ag_layer *l = &g->layers[i];
        memset(l, 0, sizeof *l);
        l->index = picks[i];
        snprintf(l->name, sizeof l->name, "%s", L->name);
        l->out_c = L->out_c;
        l->out_h = L->out_h;
        l->out_w = L->out_w;
        bool map = L->out_h * L->out_w > 1;
        l->mean = map && (g->conv_mean || L->out_c * L->out_w > lim->maxImageDimension2D ||
                          g->rows * L->out_h > lim->maxImageDimension2D);
        l->shape.cells = L->out_c;
        l->shape.tile_w = map && !l->mean ? L->out_w : 1;
        l->shape.tile_h = map && !l->mean ? L->out_h : 1;
        l->width = l->shape.cells * l->shape.tile_w;
        l->height = g->rows * l->shape.tile_h;
        if (l->width > lim->maxImageDimension2D)
            return nnxr_failf(err,
                              "layer '%s': %u cells do not fit an image of the device "
                              "(at most %u wide)",
                              L->name, l->width, lim->maxImageDimension2D);
        l->src = *rows_region(g, L);
        l->pack_off = (uint32_t)pack_floats;
        pack_floats += (uint64_t)l->width * l->height;
        g->layer_count++;
    }
    if (!choose_pca(g, &info, err))
        return false;
    if (g->pca_on) {
        g->pca_feat_off = (uint32_t)pack_floats;
        if (g->pca_mean)
            pack_floats += (uint64_t)g->pca_count * g->pca_dim;
        g->pca_class_off = (uint32_t)pack_floats;
        pack_floats += (uint64_t)g->pca_classes * g->pca_dim;
    }
    if (pack_floats == 0)
        pack_floats = 1;
    if (pack_floats * 4 > lim->maxStorageBufferRange)
        return nnxr_failf(err,
                          "the chosen layers need %llu bytes of image data, more than a storage "
                          "binding holds (%u): choose fewer layers or rows",
                          (unsigned long long)(pack_floats * 4), lim->maxStorageBufferRange);
    uint64_t stats_floats = (uint64_t)MAX_LAYERS * 2 * NNXR_AG_MINMAX_GROUPS;
    g->cov_off = (uint32_t)stats_floats;
    if (g->pca_on)
        stats_floats += (uint64_t)g->pca_dim * g->pca_dim + g->pca_dim +
                        (uint64_t)g->pca_count * g->pca_dim;
    nnxr_buffer_desc pd = {.name = "activation_grid.pack", .kind = NNXR_BUFFER_DEVICE,
                           .size = pack_floats * 4};
    nnxr_buffer_desc sd = {.name = "activation_grid.stats", .kind = NNXR_BUFFER_READBACK,
                           .size = stats_floats * 4};
    if (!g->gpu->buffer_create(g->gpu->ctx, &pd, &g->pack, err) ||
        !g->gpu->buffer_create(g->gpu->ctx, &sd, &g->stats, err))
        return false;
    nnxr_buffer_slot two[2] = {{g->pack, 0, 0}, {g->stats, 0, 0}};
    if (!g->gpu->kernel_bind(g->gpu->ctx, g->k.minmax, two, 2, &g->bind_minmax, err) ||
        !g->gpu->kernel_bind(g->gpu->ctx, g->k.normalize, two, 2, &g->bind_norm, err))
        return false;
    for (uint32_t i = 0; i < g->layer_count; i++) {
        ag_layer *l = &g->layers[i];
        nnxr_buffer_slot s[2] = {{0}, {g->pack, 0, 0}};
        nnxr_ag_slot(g->gpu, l->src.buffer, l->src.offset, &s[0], &l->src_off);
        if (!g->gpu->kernel_bind(g->gpu->ctx, g->k.pack, s, 2, &l->bind_pack, err))
            return false;
        char name[64];
        snprintf(name, sizeof name, "activation_grid.%s", l->name);
        nnxr_draw_image_desc id = {.name = name, .format = NNXR_IMAGE_R32F, .width = l->width,
                                   .height = l->height};
        nnxr_draw_batch_desc bd = {.name = name, .kind = NNXR_DRAW_QUADS,
                                   .capacity = l->shape.cells * g->rows,
                                   .style = {.space = NNXR_SPACE_SCREEN,
                                             .shade = NNXR_SHADE_VIRIDIS, .range = {0, 1}}};
        if (!g->r->image_create(g->draw, &id, &l->img, err) ||
            !g->r->batch_create(g->draw, &bd, &l->cells, err) ||
            !g->r->batch_image(g->draw, l->cells, l->img, err))
            return false;
    }
    if (g->pca_on) {
        nnxr_buffer_slot s[2] = {{0}, {g->pack, 0, 0}};
        nnxr_ag_slot(g->gpu, g->pca_src.buffer, g->pca_src.offset, &s[0], &g->pca_x_off);
        if (g->pca_mean) {
            if (!g->gpu->kernel_bind(g->gpu->ctx, g->k.pack, s, 2, &g->bind_pca_pack, err))
                return false;
            s[0] = (nnxr_buffer_slot){g->pack, 0, 0};
        }
        s[1] = (nnxr_buffer_slot){g->stats, 0, 0};
        if (!g->gpu->kernel_bind(g->gpu->ctx, g->k.cov, s, 2, &g->bind_cov, err))
            return false;
        if (g->pca_classes) {
            nnxr_buffer_slot cs[2] = {{0}, {g->pack, 0, 0}};
            nnxr_ag_slot(g->gpu, g->pca_class_src.buffer, g->pca_class_src.offset, &cs[0],
                         &g->pca_class_src_off);
            if (!g->gpu->kernel_bind(g->gpu->ctx, g->k.pack, cs, 2, &g->bind_pca_class, err))
                return false;
            g->pca_class_x = malloc((size_t)g->pca_classes * g->pca_dim * sizeof(float));
            g->pca_class_xy = malloc((size_t)g->pca_classes * sizeof *g->pca_class_xy);
            if (!g->pca_class_x || !g->pca_class_xy)
                return nnxr_failf(err, "out of memory for %u class means", g->pca_classes);
        }
        size_t d = g->pca_dim, c = g->pca_count;
        g->pca_cov = malloc(d * d * sizeof(double));
        g->pca_vec = malloc(d * d * sizeof(double));
        g->pca_work = malloc(d * d * sizeof(double));
        g->pca_val = malloc(d * sizeof(double));
        g->pca_x = malloc((d * d + d + c * d) * sizeof(float));
        g->pca_xy = malloc(c * sizeof *g->pca_xy);
        if (!g->pca_cov || !g->pca_vec || !g->pca_work || !g->pca_val || !g->pca_x ||
            !g->pca_xy)
            return nnxr_failf(err, "out of memory for a PCA of %zu features", d);
    }
    g->set_up = true;
    g->dirty = true;
    return true;
}

/* ---- refresh: when the evaluation outputs change ---------------------------------------- */

static void gallery_refresh(ag *g, const nnxr_model_info *info)
{
    nnxr_error err;
    const nnxr_model_outputs *o = &info->eval;
    uint32_t n = o->count;
    if (!g->gallery_on || n == 0 || n != g->eval_count || !o->predicted.buffer ||
        !o->labels.buffer)
        return;
    int32_t *p = realloc(g->pred, (size_t)n * 4), *t = NULL;
    if (p)
        g->pred = p;
    t = p ? realloc(g->truth, (size_t)n * 4) : NULL;
    if (t)
        g->truth = t;
    if (!p || !t ||
        !g->gpu->buffer_readback(g->gpu->ctx, o->predicted.buffer, o->predicted.offset, g->pred,
                                 (VkDeviceSize)n * 4, &err) ||
        !g->gpu->buffer_readback(g->gpu->ctx, o->labels.buffer, o->labels.offset, g->truth,
                                 (VkDeviceSize)n * 4, &err)) {
        nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN, "activation grid: gallery: %s",
                  p && t ? err.message : "out of memory");
        return;
    }
    g->shown = g->wrong = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (g->pred[i] == g->truth[i])
            continue;
        g->wrong++;
        if (g->shown < g->gallery_max) {
            const uint8_t *src = g->eval_u8 + (size_t)i * g->in_size;
            if (!g->r->image_upload_cell(g->draw, g->atlas, g->shown, src, &err)) {
                nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN, "activation grid: gallery: %s",
                          err.message);
                return;
            }
            g->gallery_idx[g->shown++] = i;
        }
    }
}

/* Records the passes of one refresh into cmd; the results are read by finish() in the next
 * frame. */
static bool refresh(ag *g, VkCommandBuffer cmd, const nnxr_model_info *info, nnxr_error *err)
{
    for (uint32_t i = 0; i < g->layer_count; i++) {
        ag_layer *l = &g->layers[i];
        nnxr_ag_pack_push pp = {.src_off = l->src_off,
                                .sample_size = l->out_c * l->out_h * l->out_w,
                                .ch_size = l->out_h * l->out_w,
                                .tw = l->mean ? 1 : l->out_w,
                                .th = l->mean ? 1 : l->out_h,
                                .width = l->width,
                                .total = l->width * l->height,
                                .mean = l->mean && l->out_h * l->out_w > 1,
                                .dst_off = l->pack_off};
        if (!nnxr_ag_record_pack(&g->k, cmd, l->bind_pack, &pp, err))
            return false;
    }
    if (g->pca_on && g->pca_mean) {
        const nnxr_model_layer *L = &info->layers[g->pca_layer];
        nnxr_ag_pack_push pp = {.src_off = g->pca_x_off,
                                .sample_size = layer_size(L),
                                .ch_size = L->out_h * L->out_w,
                                .tw = 1, .th = 1, .width = L->out_c,
                                .total = L->out_c * g->pca_count,
                                .mean = 1, .dst_off = g->pca_feat_off};
        if (!nnxr_ag_record_pack(&g->k, cmd, g->bind_pca_pack, &pp, err))
            return false;
    }
    if (g->pca_on && g->pca_classes) {
        /* The class means as features: channel means, or the outputs copied as they are
         * (one-value tiles of channel size 1). */
        const nnxr_model_layer *L = &info->layers[g->pca_layer];
        nnxr_ag_pack_push pp = {.src_off = g->pca_class_src_off,
                                .sample_size = layer_size(L),
                                .ch_size = g->pca_mean ? L->out_h * L->out_w : 1,
                                .tw = 1, .th = 1, .width = g->pca_dim,
                                .total = g->pca_dim * g->pca_classes,
                                .mean = g->pca_mean, .dst_off = g->pca_class_off};
        if (!nnxr_ag_record_pack(&g->k, cmd, g->bind_pca_class, &pp, err))
            return false;
    }
    g->gpu->cmd_barrier(g->gpu->ctx, cmd);
    for (uint32_t i = 0; i < g->layer_count; i++) {
        ag_layer *l = &g->layers[i];
        nnxr_ag_range_push rp = {.off = l->pack_off, .n = l->width * l->height,
                                 .part_off = i * 2 * NNXR_AG_MINMAX_GROUPS};
        if (!nnxr_ag_record_range(&g->k, cmd, g->bind_minmax, g->bind_norm, &rp, err))
            return false;
    }
    if (g->pca_on) {
        nnxr_ag_cov_push cp = {.x_off = g->pca_mean ? g->pca_feat_off : g->pca_x_off,
                               .count = g->pca_count, .dim = g->pca_dim,
                               .out_off = g->cov_off};
        if (!nnxr_ag_record_cov(&g->k, cmd, g->bind_cov, &cp, err))
            return false;
    }
    g->gpu->cmd_barrier(g->gpu->ctx, cmd);
    for (uint32_t i = 0; i < g->layer_count; i++) {
        ag_layer *l = &g->layers[i];
        if (!g->r->image_record_copy(g->draw, l->img, cmd, g->pack,
                                     (VkDeviceSize)l->pack_off * 4, err))
            return false;
    }
    /* Small: the probe's labels colour the scatter and name the grid's rows. */
    g->probe_label_count = 0;
    uint32_t np = info->probe_count < 4096 ? info->probe_count : 4096;
    if (np && info->probe_labels.buffer &&
        info->probe_labels.size >= (VkDeviceSize)np * 4 &&
        g->gpu->buffer_readback(g->gpu->ctx, info->probe_labels.buffer,
                                info->probe_labels.offset, g->probe_labels,
                                (VkDeviceSize)np * 4, err))
        g->probe_label_count = np;
    gallery_refresh(g, info);
    g->pending = true;
    g->have_data = true;
    g->dirty = true;
    return true;
}

/* The PCA from the covariance the GPU computed: eigenvectors, then every probe sample's
 * coordinates on the first two, scaled together into [-1, 1]. */
static void pca_finish(ag *g)
{
    size_t d = g->pca_dim, c = g->pca_count;
    nnxr_error err;
    if (!g->gpu->buffer_readback(g->gpu->ctx, g->stats, (VkDeviceSize)g->cov_off * 4, g->pca_x,
                                 (d * d + d + c * d) * 4, &err)) {
        nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN, "activation grid: PCA: %s", err.message);
        return;
    }
    for (size_t i = 0; i < d * d; i++)
        g->pca_cov[i] = g->pca_x[i];
    const float *mean = g->pca_x + d * d, *x = mean + d;
    if (!nnxr_ag_jacobi(g->pca_cov, (uint32_t)d, g->pca_val, g->pca_vec, g->pca_work))
        nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN,
                  "activation grid: PCA: Jacobi did not converge");
    double total = 0;
    for (size_t i = 0; i < d; i++)
        total += g->pca_val[i] > 0 ? g->pca_val[i] : 0;
    for (int k = 0; k < 2; k++)
        g->pca_explained[k] = total > 0 && g->pca_val[k] > 0 ? g->pca_val[k] / total : 0;
    double big = 0;
    for (size_t s = 0; s < c; s++)
        for (int k = 0; k < 2; k++) {
            double p = 0;
            for (size_t i = 0; i < d; i++)
                p += ((double)x[s * d + i] - mean[i]) * g->pca_vec[i * d + (size_t)k];
            g->pca_xy[s][k] = (float)p;
            if (isfinite(p) && fabs(p) > big)
                big = fabs(p);
        }
    for (size_t s = 0; s < c; s++)
        for (int k = 0; k < 2; k++)
            g->pca_xy[s][k] = big > 0 && isfinite(g->pca_xy[s][k])
                                  ? (float)(g->pca_xy[s][k] / big) : 0.0f;
    /* The class means on the same axes and scale (a class without samples sits at its
     * zero vector's projection; clamped to the plot). */
    if (g->pca_classes &&
        g->gpu->buffer_readback(g->gpu->ctx, g->pack, (VkDeviceSize)g->pca_class_off * 4,
                                g->pca_class_x, (VkDeviceSize)g->pca_classes * d * 4, &err))
        for (uint32_t k = 0; k < g->pca_classes; k++)
            for (int a = 0; a < 2; a++) {
                double p = 0;
                for (size_t i = 0; i < d; i++)
                    p += ((double)g->pca_class_x[k * d + i] - mean[i]) *
                         g->pca_vec[i * d + (size_t)a];
                double t = big > 0 && isfinite(p) ? p / big : 0;
                g->pca_class_xy[k][a] = (float)(t < -1.1 ? -1.1 : t > 1.1 ? 1.1 : t);
            }
    g->have_pca = true;
}

/* Reads what the last refresh's passes left in the stats buffer (complete: the host waited
 * for that frame's submission before beginning this one). */
static void finish(ag *g)
{
    nnxr_error err;
    float part[2 * NNXR_AG_MINMAX_GROUPS];
    for (uint32_t i = 0; i < g->layer_count; i++) {
        ag_layer *l = &g->layers[i];
        if (!g->gpu->buffer_readback(g->gpu->ctx, g->stats,
                                     (VkDeviceSize)i * sizeof part, part, sizeof part, &err)) {
            nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN, "activation grid: %s", err.message);
            continue;
        }
        float lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < NNXR_AG_MINMAX_GROUPS; k++) {
            lo = fminf(lo, part[2 * k]);
            hi = fmaxf(hi, part[2 * k + 1]);
        }
        l->lo = lo;
        l->hi = hi;
        l->have_range = lo <= hi;
    }
    if (g->pca_on)
        pca_finish(g);
    g->pending = false;
    g->dirty = true;
}

/* ---- drawing ------------------------------------------------------------------------------ */

static nnxr_ag_rect rect_of(const float f[4], uint32_t w, uint32_t h)
{
    nnxr_ag_rect r = {f[0] * (float)w + 8, f[1] * (float)h + 8, f[2] * (float)w - 16,
                      f[3] * (float)h - 16};
    return r;
}

static void text(ag *g, float x, float y, const char *s, float px, const float c[4],
                 uint32_t align)
{
    nnxr_error err;
    float p[3] = {x, y, 0};
    g->r->text_add(g->draw, g->text, s, p, px, c, align, &err);
}

static void quad(ag *g, nnxr_draw_batch *b, float x, float y, float w, float h,
                 const float uv[4], const float c[4])
{
    nnxr_error err;
    nnxr_quad q = {.origin = {x, y, 0}, .u = {w, 0, 0}, .v = {0, h, 0},
                   .uv = {uv[0], uv[1], uv[2], uv[3]}, .color = {c[0], c[1], c[2], c[3]}};
    g->r->batch_write(g->draw, b, g->r->batch_count(g->draw, b), &q, 1, &err);
}

static void line(ag *g, float x0, float y0, float x1, float y1, const float c[4])
{
    nnxr_error err;
    nnxr_line l = {{x0, y0, 0}, {x1, y1, 0}, {c[0], c[1], c[2], c[3]}};
    g->r->batch_write(g->draw, g->lines, g->r->batch_count(g->draw, g->lines), &l, 1, &err);
}

static const char *class_name(const ag *g, int32_t k, char *buf, size_t n)
{
    if (g->class_names && k >= 0 && (uint32_t)k < g->classes)
        return g->class_names[k];
    snprintf(buf, n, "%d", (int)k);
    return buf;
}

static const float white[4] = {1, 1, 1, 1}, grey[4] = {0.7f, 0.7f, 0.7f, 1};
static const float good_c[4] = {0.35f, 0.9f, 0.35f, 1}, bad_c[4] = {1.0f, 0.3f, 0.25f, 1};
static const float full_uv[4] = {0, 0, 1, 1};

static void row_label(ag *g, uint32_t r, char *buf, size_t n)
{
    char num[16];
    if (g->class_rows)
        snprintf(buf, n, "%s", class_name(g, (int32_t)r, num, sizeof num));
    else if (r < g->probe_label_count)
        snprintf(buf, n, "#%u %s", r, class_name(g, g->probe_labels[r], num, sizeof num));
    else
        snprintf(buf, n, "#%u", r);
}

static void build_grid(ag *g, const nnxr_ag_rect *area)
{
    if (g->layer_count == 0)
        return;
    float bg[4] = {0, 0, 0, (float)g->opacity};
    quad(g, g->bg, area->x - 4, area->y - 4, area->w + 8, area->h + 8, full_uv, bg);
    if (!g->have_data) {
        text(g, area->x, area->y, "activations: waiting for the first evaluation", g->text_px,
             grey, NNXR_ALIGN_LEFT);
        return;
    }
    char buf[128];
    float label_w = 0;
    for (uint32_t r = 0; r < g->rows; r++) {
        float w;
        row_label(g, r, buf, sizeof buf);
        g->r->text_size(g->draw, buf, g->label_px, &w, NULL);
        label_w = fmaxf(label_w, w);
    }
    nnxr_ag_shape shapes[MAX_LAYERS];
    for (uint32_t i = 0; i < g->layer_count; i++)
        shapes[i] = g->layers[i].shape;
    nnxr_ag_grid_params gp = {.text_px = g->text_px, .label_w = label_w + 8,
                              .max_cell = g->cell_px, .max_scale = 4, .min_cell = 1,
                              .legend_w = 100};
    nnxr_ag_block blocks[MAX_LAYERS];
    uint32_t fit = nnxr_ag_layout_grid(area, shapes, g->layer_count, g->rows, &gp, blocks);
    for (uint32_t i = 0; i < g->layer_count; i++) {
        ag_layer *l = &g->layers[i];
        const nnxr_ag_block *b = &blocks[i];
        if (!b->shown)
            continue;
        if (l->mean || (l->out_h * l->out_w == 1))
            snprintf(buf, sizeof buf, "%s  %u%s", l->name, l->out_c,
                     l->out_h * l->out_w > 1 ? " channel means" : "");
        else
            snprintf(buf, sizeof buf, "%s  %ux%ux%u", l->name, l->out_c, l->out_h, l->out_w);
        text(g, b->title_x, b->title_y, buf, g->text_px, white, NNXR_ALIGN_LEFT);
        /* The legend keeps clear of the title: in a narrow area it moves right of it. */
        float title_w, lo_w = 0, lx = b->legend_x;
        g->r->text_size(g->draw, buf, g->text_px, &title_w, NULL);
        char lo_s[32], hi_s[32];
        snprintf(lo_s, sizeof lo_s, "%.3g", (double)l->lo);
        snprintf(hi_s, sizeof hi_s, "%.3g", (double)l->hi);
        if (l->have_range)
            g->r->text_size(g->draw, lo_s, g->label_px, &lo_w, NULL);
        if (lx - lo_w - 8 < b->title_x + title_w)
            lx = floorf(b->title_x + title_w + lo_w + 12);
        quad(g, g->legend, lx, b->legend_y, b->legend_w, b->legend_h, full_uv, white);
        if (l->have_range) {
            text(g, lx - 4, b->legend_y + b->legend_h * 0.5f, lo_s, g->label_px, white,
                 NNXR_ALIGN_RIGHT | NNXR_ALIGN_MIDDLE);
            text(g, lx + b->legend_w + 4, b->legend_y + b->legend_h * 0.5f, hi_s, g->label_px,
                 white, NNXR_ALIGN_LEFT | NNXR_ALIGN_MIDDLE);
        }
        for (uint32_t r = 0; r < g->rows; r++) {
            row_label(g, r, buf, sizeof buf);
            /* Labels only where a row has room for them (small feature maps squeeze). */
            if (b->pitch_y >= g->label_px + 3)
                text(g, b->label_x, b->y + (float)r * b->pitch_y + b->cell_h * 0.5f, buf,
                     g->label_px, grey, NNXR_ALIGN_RIGHT | NNXR_ALIGN_MIDDLE);
            for (uint32_t c = 0; c < l->shape.cells; c++) {
                float uv[4] = {(float)(c * l->shape.tile_w) / (float)l->width,
                               (float)(r * l->shape.tile_h) / (float)l->height,
                               (float)((c + 1) * l->shape.tile_w) / (float)l->width,
                               (float)((r + 1) * l->shape.tile_h) / (float)l->height};
                quad(g, l->cells, b->x + (float)c * b->pitch_x, b->y + (float)r * b->pitch_y,
                     b->cell_w, b->cell_h, uv, white);
            }
        }
    }
    if (fit < g->layer_count && !g->warned) {
        nnxr_logf(g->log, g->host, NNXR_LEVEL_INFO,
                  "activation grid: %u of %u layers fit the grid's area", fit, g->layer_count);
        g->warned = true;
    }
}

static void build_gallery(ag *g, const nnxr_ag_rect *area)
{
    if (!g->gallery_on)
        return;
    float bg[4] = {0, 0, 0, (float)g->opacity};
    quad(g, g->bg, area->x - 4, area->y - 4, area->w + 8, area->h + 8, full_uv, bg);
    char buf[160], a[16], b[16];
    float text_w = 0;
    for (uint32_t k = 0; k < g->classes; k++) {
        float w;
        snprintf(buf, sizeof buf, "> %s", class_name(g, (int32_t)k, a, sizeof a));
        g->r->text_size(g->draw, buf, g->label_px, &w, NULL);
        text_w = fmaxf(text_w, w);
    }
    nnxr_ag_gallery_layout lay;
    nnxr_ag_layout_gallery(area, g->text_px, g->thumb_px, g->label_px, text_w, &lay);
    if (!g->have_data)
        snprintf(buf, sizeof buf, "misclassified: waiting for the first evaluation");
    else
        snprintf(buf, sizeof buf, "misclassified: %u of %u evaluation samples", g->wrong,
                 g->eval_count);
    text(g, lay.title_x, lay.title_y, buf, g->text_px, white, NNXR_ALIGN_LEFT);
    uint32_t room = lay.per_line * lay.lines;
    for (uint32_t k = 0; k < g->shown && k < room; k++) {
        uint32_t i = g->gallery_idx[k];
        float x = lay.x + (float)(k % lay.per_line) * lay.pitch_x;
        float y = lay.y + (float)(k / lay.per_line) * lay.pitch_y;
        float uv[4];
        g->r->image_cell_uv(g->draw, g->atlas, k, uv);
        quad(g, g->gallery, x, y, lay.thumb, lay.thumb, uv, white);
        snprintf(buf, sizeof buf, "%s", class_name(g, g->truth[i], a, sizeof a));
        text(g, x, y + lay.thumb + 3, buf, g->label_px, good_c, NNXR_ALIGN_LEFT);
        snprintf(buf, sizeof buf, "> %s", class_name(g, g->pred[i], b, sizeof b));
        text(g, x, y + lay.thumb + 5 + lay.text_px, buf, g->label_px, bad_c, NNXR_ALIGN_LEFT);
    }
}

static void build_pca(ag *g, const nnxr_ag_rect *area, const nnxr_model_layer *L)
{
    if (!g->pca_on)
        return;
    float bg[4] = {0, 0, 0, (float)g->opacity};
    quad(g, g->bg, area->x - 4, area->y - 4, area->w + 8, area->h + 8, full_uv, bg);
    nnxr_ag_scatter_layout s;
    nnxr_ag_layout_scatter(area, g->text_px, g->label_px + 4, &s);
    char buf[160];
    snprintf(buf, sizeof buf, "PCA of %s (%u probe samples%s)", L ? L->name : "?",
             g->pca_count, g->pca_mean ? ", channel means" : "");
    float tw;
    g->r->text_size(g->draw, buf, g->text_px, &tw, NULL);
    if (tw > area->w) /* a narrow area: the short title */
        snprintf(buf, sizeof buf, "PCA of %s", L ? L->name : "?");
    text(g, s.title_x, s.title_y, buf, g->text_px, white, NNXR_ALIGN_LEFT);
    if (g->have_pca) {
        snprintf(buf, sizeof buf, "PC1 %.0f%%  PC2 %.0f%% of the variance",
                 100 * g->pca_explained[0], 100 * g->pca_explained[1]);
        text(g, s.title_x, s.title_y + g->text_px + 4, buf, g->label_px, grey, NNXR_ALIGN_LEFT);
    }
    float frame_c[4] = {0.45f, 0.45f, 0.45f, 1}, axis_c[4] = {0.25f, 0.25f, 0.25f, 1};
    float h = s.half + 6;
    line(g, s.cx - h, s.cy - h, s.cx + h, s.cy - h, frame_c);
    line(g, s.cx + h, s.cy - h, s.cx + h, s.cy + h, frame_c);
    line(g, s.cx + h, s.cy + h, s.cx - h, s.cy + h, frame_c);
    line(g, s.cx - h, s.cy + h, s.cx - h, s.cy - h, frame_c);
    line(g, s.cx - h, s.cy, s.cx + h, s.cy, axis_c);
    line(g, s.cx, s.cy - h, s.cx, s.cy + h, axis_c);
    if (!g->have_pca)
        return;
    nnxr_error err;
    /* Class means first (under the samples): a white ring around the class's colour. */
    for (uint32_t k = 0; k < g->pca_classes && g->pca_class_xy; k++) {
        float rgb[3];
        nnxr_color_class((int)k, rgb);
        float x = s.cx + g->pca_class_xy[k][0] * s.half, y = s.cy - g->pca_class_xy[k][1] * s.half;
        nnxr_sphere ring = {{x, y, 0}, g->point_px * 2.2f, {1, 1, 1, 1}};
        nnxr_sphere dot = {{x, y, 0}, g->point_px * 1.7f, {rgb[0], rgb[1], rgb[2], 1}};
        g->r->batch_write(g->draw, g->points, g->r->batch_count(g->draw, g->points), &ring, 1,
                          &err);
        g->r->batch_write(g->draw, g->points, g->r->batch_count(g->draw, g->points), &dot, 1,
                          &err);
    }
    for (uint32_t i = 0; i < g->pca_count; i++) {
        float rgb[3];
        nnxr_color_class(i < g->probe_label_count ? g->probe_labels[i] : -1, rgb);
        nnxr_sphere sp = {{s.cx + g->pca_xy[i][0] * s.half, s.cy - g->pca_xy[i][1] * s.half, 0},
                          g->point_px, {rgb[0], rgb[1], rgb[2], 1}};
        g->r->batch_write(g->draw, g->points, g->r->batch_count(g->draw, g->points), &sp, 1,
                          &err);
    }
}

static void build(ag *g, const nnxr_view *view)
{
    nnxr_error err;
    nnxr_draw_batch *all[6] = {g->bg, g->legend, g->gallery, g->lines, g->points, g->text};
    for (int i = 0; i < 6; i++)
        g->r->batch_resize(g->draw, all[i], 0, &err);
    for (uint32_t i = 0; i < g->layer_count; i++)
        g->r->batch_resize(g->draw, g->layers[i].cells, 0, &err);
    g->view_w = view->width;
    g->view_h = view->height;
    g->dirty = false;
    if (!g->set_up)
        return;
    nnxr_ag_rect grid = rect_of(g->grid_f, view->width, view->height);
    nnxr_ag_rect gal = rect_of(g->gallery_f, view->width, view->height);
    nnxr_ag_rect pca = rect_of(g->pca_f, view->width, view->height);
    if (grid.w > 0 && grid.h > 0)
        build_grid(g, &grid);
    if (gal.w > 0 && gal.h > 0)
        build_gallery(g, &gal);
    if (pca.w > 0 && pca.h > 0 && g->pca_on) {
        nnxr_model_info info = {.size = sizeof info};
        const nnxr_model_layer *L = NULL;
        if (g->model->info(g->model->ctx, &info, &err) && g->pca_layer < info.layer_count)
            L = &info.layers[g->pca_layer];
        build_pca(g, &pca, L);
    }
}

/* ---- the frame ---------------------------------------------------------------------------- */

static void push_evaluate(ag *g)
{
    if (!g->commands)
        return;
    nnxr_command c = {.kind = NNXR_CMD_EVALUATE};
    snprintf(c.name, sizeof c.name, "full");
    nnxr_error err;
    if (!g->commands->push(g->host, &c, &err))
        nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN,
                  "activation grid: cannot ask for an evaluation: %s", err.message);
}

static void update(void *self, const nnxr_frame *frame)
{
    ag *g = self;
    if (!g->eval_pushed) {
        g->eval_pushed = true;
        g->last_eval_step = frame->train_step;
        nnxr_model_info info = {.size = sizeof info};
        nnxr_error err;
        if (g->evaluate_at_start && g->model->info(g->model->ctx, &info, &err) &&
            info.outputs_version == 0)
            push_evaluate(g);
    }
    if (g->evaluate_every && !frame->paused &&
        frame->train_step >= g->last_eval_step + g->evaluate_every) {
        g->last_eval_step = frame->train_step;
        push_evaluate(g);
    }
}

static void record_compute(void *self, VkCommandBuffer cmd, const nnxr_frame *frame)
{
    (void)frame;
    ag *g = self;
    nnxr_error err;
    err.message[0] = '\0';
    if (g->pending && g->set_up)
        finish(g);
    uint64_t gen = g->model->generation(g->model->ctx);
    if (gen != g->generation || (!g->set_up && !g->setup_failed)) {
        g->setup_failed = !setup(g, &err);
        if (g->setup_failed) {
            nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN,
                      "activation grid: the model changed and cannot be shown: "
                      "%s",
                      err.message);
            teardown(g);
            g->generation = gen;
            g->dirty = true;
        }
    }
    if (!g->set_up)
        return;
    nnxr_model_info info = {.size = sizeof info};
    if (!g->model->info(g->model->ctx, &info, &err))
        return;
    if (info.outputs_version == 0 || info.outputs_version == g->outputs_version)
        return;
    g->outputs_version = info.outputs_version;
    if (!refresh(g, cmd, &info, &err))
        nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN, "activation grid: %s", err.message);
}

static bool prepare(void *self, const nnxr_render_target_info *target, nnxr_error *err)
{
    ag *g = self;
    g->dirty = true;
    return g->r->prepare(g->draw, target, err);
}

static void record_draw(void *self, VkCommandBuffer cmd, const nnxr_view *view,
                        const nnxr_frame *frame)
{
    (void)frame;
    ag *g = self;
    /* The left eye's layout serves the right eye too (batches stay as recorded). */
    if (view->index == 0 && (g->dirty || view->width != g->view_w || view->height != g->view_h))
        build(g, view);
    g->r->record(g->draw, g->bg, cmd, view);
    for (uint32_t i = 0; i < g->layer_count; i++)
        g->r->record(g->draw, g->layers[i].cells, cmd, view);
    g->r->record(g->draw, g->legend, cmd, view);
    g->r->record(g->draw, g->gallery, cmd, view);
    g->r->record(g->draw, g->lines, cmd, view);
    g->r->record(g->draw, g->points, cmd, view);
    g->r->record(g->draw, g->text, cmd, view);
}

static void release(void *self)
{
    ag *g = self;
    g->r->release(g->draw);
}

/* ---- create / destroy ------------------------------------------------------------------- */

static void destroy(void *self)
{
    ag *g = self;
    if (!g)
        return;
    if (g->gpu)
        teardown(g);
    if (g->draw) {
        nnxr_draw_batch *all[6] = {g->bg, g->legend, g->gallery, g->lines, g->points, g->text};
        for (int i = 0; i < 6; i++)
            g->r->batch_destroy(g->draw, all[i]);
        g->r->image_destroy(g->draw, g->ramp);
        g->r->image_destroy(g->draw, g->atlas);
        g->r->destroy(g->draw);
    }
    nnxr_ag_kernels_destroy(&g->k);
    free(g->pred);
    free(g->truth);
    free(g);
}

static bool read_config(ag *g, const nnxr_config_api *c, const nnxr_config *cfg,
                        nnxr_error *err)
{
    static const char *const keys[] = {
        "layers", "rows", "max_rows", "conv_cells", "grid_rect", "gallery_rect", "pca_rect",
        "gallery_count", "thumb_px", "pca_layer", "pca_max_dim", "point_px", "text_px",
        "label_px", "cell_px", "opacity", "evaluate_at_start", "evaluate_every", NULL};
    static const char *const rows[] = {"probe", "class", NULL};
    static const char *const cells[] = {"map", "mean", NULL};
    static const double grid_d[4] = {0.0, 0.0, 0.64, 0.72};
    static const double gallery_d[4] = {0.0, 0.72, 1.0, 0.28};
    static const double pca_d[4] = {0.64, 0.0, 0.36, 0.56};
    const char *rows_s, *cells_s;
    int64_t max_rows, gcount, pdim, every;
    double grid[4], gal[4], pca[4], thumb, point, tpx, lpx, cpx, opacity;
    size_t n4;
    if (!c->check_keys(cfg, keys, err) ||
        !c->get_string_array(cfg, "layers", NULL, 0, 0, MAX_NAMES, NULL, g->names,
                             &g->name_count, err) ||
        !c->get_string(cfg, "rows", "probe", rows, &rows_s, err) ||
        !c->get_int(cfg, "max_rows", 8, 1, MAX_ROWS, &max_rows, err) ||
        !c->get_string(cfg, "conv_cells", "map", cells, &cells_s, err) ||
        !c->get_float_array(cfg, "grid_rect", grid_d, 4, 4, 4, 0.0, 1.0, grid, &n4, err) ||
        !c->get_float_array(cfg, "gallery_rect", gallery_d, 4, 4, 4, 0.0, 1.0, gal, &n4, err) ||
        !c->get_float_array(cfg, "pca_rect", pca_d, 4, 4, 4, 0.0, 1.0, pca, &n4, err) ||
        !c->get_int(cfg, "gallery_count", 16, 0, 256, &gcount, err) ||
        !c->get_float(cfg, "thumb_px", 48, 8, 512, &thumb, err) ||
        !c->get_string(cfg, "pca_layer", "auto", NULL, &g->pca_name, err) ||
        !c->get_int(cfg, "pca_max_dim", 128, 2, 512, &pdim, err) ||
        !c->get_float(cfg, "point_px", 5, 1, 64, &point, err) ||
        !c->get_float(cfg, "text_px", 16, 8, 128, &tpx, err) ||
        !c->get_float(cfg, "label_px", 8, 8, 128, &lpx, err) ||
        !c->get_float(cfg, "cell_px", 14, 1, 256, &cpx, err) ||
        !c->get_float(cfg, "opacity", 0.55, 0, 1, &opacity, err) ||
        !c->get_bool(cfg, "evaluate_at_start", true, &g->evaluate_at_start, err) ||
        !c->get_int(cfg, "evaluate_every", 0, 0, INT64_MAX, &every, err))
        return false;
    g->class_rows = !strcmp(rows_s, "class");
    g->conv_mean = !strcmp(cells_s, "mean");
    g->max_rows = (uint32_t)max_rows;
    g->gallery_max = (uint32_t)gcount;
    g->pca_max_dim = (uint32_t)pdim;
    for (int i = 0; i < 4; i++) {
        g->grid_f[i] = (float)grid[i];
        g->gallery_f[i] = (float)gal[i];
        g->pca_f[i] = (float)pca[i];
    }
    g->thumb_px = (float)thumb;
    g->point_px = (float)point;
    g->text_px = (float)tpx;
    g->label_px = (float)lpx;
    g->cell_px = (float)cpx;
    g->opacity = (float)opacity;
    g->evaluate_every = (uint64_t)every;
    return true;
}

/* The gallery needs the evaluation set's images in host memory and per-sample predictions. */
static void gallery_setup(ag *g, nnxr_error *err)
{
    g->gallery_on = false;
    if (g->gallery_max == 0 || g->gallery_f[2] <= 0 || g->gallery_f[3] <= 0)
        return;
    nnxr_model_info info = {.size = sizeof info};
    nnxr_model_data data;
    memset(&data, 0, sizeof data);
    if (!g->model->info(g->model->ctx, &info, err))
        return;
    if (g->model->size < sizeof(nnxr_model_api) || !g->model->data ||
        !g->model->data(g->model->ctx, &data, err) || !data.eval.u8 || info.classes == 0 ||
        data.eval.count != info.eval.count || info.in_h * info.in_w <= 1) {
        nnxr_logf(g->log, g->host, NNXR_LEVEL_INFO,
                  "activation grid: no misclassification gallery: the model's "
                  "evaluation set has no images in host memory or no classes");
        return;
    }
    g->in_w = info.in_w;
    g->in_h = info.in_h;
    g->in_size = info.in_c * info.in_h * info.in_w;
    g->eval_u8 = data.eval.u8;
    g->eval_count = data.eval.count;
    const VkPhysicalDeviceLimits *lim = &g->gpu->properties(g->gpu->ctx)->limits;
    uint32_t per_row = lim->maxImageDimension2D / g->in_w;
    if (g->gallery_max > per_row)
        g->gallery_max = per_row;
    nnxr_draw_image_desc id = {.name = "activation_grid.gallery", .format = NNXR_IMAGE_R8,
                               .width = g->in_w * g->gallery_max, .height = g->in_h,
                               .cell_width = g->in_w, .cell_height = g->in_h};
    nnxr_error e2;
    if (!g->r->image_create(g->draw, &id, &g->atlas, &e2) ||
        !g->r->batch_image(g->draw, g->gallery, g->atlas, &e2)) {
        nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN, "activation grid: no gallery: %s", e2.message);
        return;
    }
    g->gallery_on = true;
}

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    const nnxr_config_api *c = host->service(host, NNXR_SERVICE_CONFIG);
    if (!c) {
        nnxr_failf(err, "the host has no config service");
        return NULL;
    }
    ag *g = calloc(1, sizeof *g);
    if (!g) {
        nnxr_failf(err, "out of memory");
        return NULL;
    }
    g->host = host;
    g->log = host->service(host, NNXR_SERVICE_LOG);
    g->commands = host->service(host, NNXR_SERVICE_COMMANDS);
    if (!read_config(g, c, cfg, err)) {
        free(g);
        return NULL;
    }
    g->model = host->service(host, NNXR_SERVICE_MODEL);
    if (!g->model) {
        nnxr_failf(err,
                   "%s: the activation grid shows a model's activations, but this scene has "
                   "none (set [model] kind = \"cnn\" or \"mlp\")",
                   c->describe(cfg));
        free(g);
        return NULL;
    }
    g->gpu = host->service(host, NNXR_SERVICE_GPU);
    g->r = host->service(host, NNXR_SERVICE_RENDER);
    if (!g->gpu || !g->r || g->r->size < sizeof(nnxr_render_api) ||
        g->gpu->size < sizeof(nnxr_gpu_api)) {
        nnxr_failf(err, "the host has no GPU or render service (is there a Vulkan device with "
                        "graphics?)");
        free(g);
        return NULL;
    }
    if (!nnxr_ag_kernels_create(g->gpu, &g->k, err) || !g->r->create(host, &g->draw, err)) {
        destroy(g);
        return NULL;
    }
    nnxr_draw_style screen = {.space = NNXR_SPACE_SCREEN};
    nnxr_draw_style viridis = {.space = NNXR_SPACE_SCREEN, .shade = NNXR_SHADE_VIRIDIS,
                               .range = {0, 1}};
    nnxr_draw_style greys = {.space = NNXR_SPACE_SCREEN, .shade = NNXR_SHADE_GREY};
    nnxr_draw_batch_desc d[6] = {
        {"activation_grid panels", NNXR_DRAW_QUADS, 4, screen},
        {"activation_grid legends", NNXR_DRAW_QUADS, 16, viridis},
        {"activation_grid gallery", NNXR_DRAW_QUADS, 32, greys},
        {"activation_grid lines", NNXR_DRAW_LINES, 16, screen},
        {"activation_grid points", NNXR_DRAW_SPHERES, 64, screen},
        {"activation_grid text", NNXR_DRAW_TEXT, 512, screen},
    };
    nnxr_draw_batch **out[6] = {&g->bg, &g->legend, &g->gallery, &g->lines, &g->points,
                                &g->text};
    for (int i = 0; i < 6; i++)
        if (!g->r->batch_create(g->draw, &d[i], out[i], err)) {
            destroy(g);
            return NULL;
        }
    /* The legend: values 0 … 1 across one row, shaded like the cells. */
    float ramp[LEGEND_STEPS];
    for (int i = 0; i < LEGEND_STEPS; i++)
        ramp[i] = (float)i / (float)(LEGEND_STEPS - 1);
    nnxr_draw_image_desc rd = {.name = "activation_grid.legend", .format = NNXR_IMAGE_R32F,
                               .width = LEGEND_STEPS, .height = 1};
    if (!g->r->image_create(g->draw, &rd, &g->ramp, err) ||
        !g->r->image_upload(g->draw, g->ramp, 0, 0, LEGEND_STEPS, 1, ramp, err) ||
        !g->r->batch_image(g->draw, g->legend, g->ramp, err)) {
        destroy(g);
        return NULL;
    }
    /* Layer names and the PCA layer are checked now, so that a typo fails the scene. */
    if (!setup(g, err)) {
        char msg[NNXR_ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", err->message);
        const char *where = c->describe(cfg);
        size_t n = strlen(where);
        if (n > sizeof err->message / 2)
            n = sizeof err->message / 2;
        memcpy(err->message, where, n);
        snprintf(err->message + n, sizeof err->message - n, ": %.*s",
                 (int)(sizeof err->message - n - 3), msg);
        destroy(g);
        return NULL;
    }
    nnxr_model_data data;
    memset(&data, 0, sizeof data);
    if (g->model->size >= sizeof(nnxr_model_api) && g->model->data &&
        g->model->data(g->model->ctx, &data, err))
        g->class_names = data.class_names;
    gallery_setup(g, err);
    return g;
}

static const void *extension(void *self, const char *id)
{
    (void)self;
    static const nnxr_update_ext update_ext = {update};
    static const nnxr_compute_ext compute_ext = {record_compute};
    static const nnxr_draw_ext draw_ext = {prepare, record_draw, release};
    if (!strcmp(id, NNXR_EXT_UPDATE))
        return &update_ext;
    if (!strcmp(id, NNXR_EXT_COMPUTE))
        return &compute_ext;
    if (!strcmp(id, NNXR_EXT_DRAW))
        return &draw_ext;
    return NULL;
}

NNXR_EXPORT const nnxr_plugin_entry nnxr_entry = {
    .abi_version = NNXR_ABI_VERSION,
    .id = "nnxr.activation_grid",
    .description = "CNN Explainer-like views: per-layer activation grids in viridis, a "
                   "misclassification gallery, a PCA scatter of a layer",
    .create = create,
    .destroy = destroy,
    .extension = extension,
};
