/* plugins/playground/playground.c — TensorFlow Playground's views ("nnxr.playground"): every
 * unit's response over the input plane as a heatmap, live. Each frame in which the model
 * trained (or changed shape), two compute passes run on the model's own parameter buffer:
 * the grid pass evaluates the features (x1, x2, x1^2, x2^2, x1x2, sin x1, sin x2 — those the
 * data set uses, in the network's input order) and every dense layer at each point of a
 * resolution^2 grid over [-extent, extent]^2; the display pass maps each unit onto [-1, 1]
 * (tanh as is, sigmoid 2v - 1, relu / linear / features over their largest |value| on the
 * grid, the two-class output as p(+1) - p(-1) = tanh((z1 - z0) / 2), a regression output as
 * its value) into one R32F atlas image that image_record_copy fills without a readback.
 * Drawn with the DIVERGING colormap reversed, so that +1 (class 1, the playground's blue)
 * is blue and -1 (class 0) red, like the class colours of the points.
 *
 * Layout, as in the playground: the feature column, one column per hidden layer with a
 * small heatmap per neuron, links coloured by the weight's sign and faded by its size, and
 * the big output heatmap with the training points (and the test points, outlined in black,
 * when show_test is set) in their class colours, or the regression target's colour. Both
 * kernels are generic (the network's shape is a table in a small host buffer), so surgery
 * and any depth or width only rewrite that table. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnxr/draw.h"
#include "nnxr/gpu.h"
#include "nnxr/model.h"
#include "nnxr/plugin.h"
#include "nnxr/render.h"
#include "playground.h"

#define MAX_LAYERS 16   /* dense layers */
#define MAX_WIDTH 64    /* units of one layer (the grid kernel's private arrays) */
#define MAX_CELLS 520   /* heatmaps: features + hidden neurons + output */
#define MAX_FEATURES 8
/* lavapipe stops a shader's loops after 65,535 iterations per invocation: the grid kernel's
 * loop trip count per point is bounded by this. */
#define MAX_LOOP_TRIPS 60000u

/* The table both kernels read (uint32 words of the meta buffer). */
#define META_LAYERS 0   /* dense layer count */
#define META_NF 1       /* features */
#define META_N 2        /* grid points */
#define META_RES 3
#define META_FEAT 4     /* MAX_FEATURES feature codes */
#define META_LAYER 12   /* per layer 8 words: in, out, w, b (float index), act, first unit */
#define META_CELLS 160  /* cell count, atlas columns, 2 spare */
#define META_CELL 164   /* per cell 4 words: unit, mode (| 256 discretize), second unit, 0 */
#define META_WORDS (META_CELL + 4 * MAX_CELLS)

enum { MODE_AS_IS = 0, MODE_SIGMOID = 1, MODE_MAXABS = 2, MODE_TWO_CLASS = 3 };

static const char grid_glsl[] =
    "#version 450\n"
    "layout(local_size_x = 64) in;\n"
    "layout(std430, binding = 0) readonly buffer Params { float w[]; };\n"
    "layout(std430, binding = 1) readonly buffer Meta { uint meta[]; };\n"
    "layout(std430, binding = 2) writeonly buffer Raw { float raw[]; };\n"
    "layout(push_constant) uniform PC { float lo; float hi; } pc;\n"
    "float tanh_safe(float s) {\n"
    "    float t = exp(-2.0 * abs(s));\n"
    "    return sign(s) * (1.0 - t) / (1.0 + t);\n"
    "}\n"
    "float act(uint a, float s) {\n"
    "    if (a == 1u) return max(s, 0.0);\n"
    "    if (a == 2u) return tanh_safe(s);\n"
    "    if (a == 3u) return 1.0 / (1.0 + exp(-s));\n"
    "    return s;\n"
    "}\n"
    "void main() {\n"
    "    uint n = meta[2], res = meta[3], i = gl_GlobalInvocationID.x;\n"
    "    if (i >= n) return;\n"
    "    float cell = (pc.hi - pc.lo) / float(res);\n"
    "    float x1 = pc.lo + (float(i % res) + 0.5) * cell;\n"
    "    float x2 = pc.hi - (float(i / res) + 0.5) * cell;\n"
    "    float a[64]; float b[64];\n"
    "    uint nf = meta[1];\n"
    "    for (uint f = 0u; f < nf; f++) {\n"
    "        uint c = meta[4u + f];\n"
    "        float v = c == 0u ? x1 : c == 1u ? x2 : c == 2u ? x1 * x1 : c == 3u ? x2 * x2\n"
    "                : c == 4u ? x1 * x2 : c == 5u ? sin(x1) : sin(x2);\n"
    "        a[f] = v;\n"
    "        raw[f * n + i] = v;\n"
    "    }\n"
    "    uint layers = meta[0];\n"
    "    for (uint l = 0u; l < layers; l++) {\n"
    "        uint m = 12u + 8u * l;\n"
    "        uint nin = meta[m], nout = meta[m + 1u], wo = meta[m + 2u], bo = meta[m + 3u];\n"
    "        uint ac = meta[m + 4u], base = meta[m + 5u];\n"
    "        for (uint o = 0u; o < nout; o++) {\n"
    "            float s = w[bo + o];\n"
    "            uint row = wo + o * nin;\n"
    "            for (uint k = 0u; k < nin; k++) s += w[row + k] * a[k];\n"
    "            s = act(ac, s);\n"
    "            b[o] = s;\n"
    "            raw[(base + o) * n + i] = s;\n"
    "        }\n"
    "        for (uint o = 0u; o < nout; o++) a[o] = b[o];\n"
    "    }\n"
    "}\n";

/* One workgroup per heatmap; its 64 invocations share the grid's points (a CPU device runs
 * them as SIMD lanes of one thread), meeting once to agree on the largest |value|. */
static const char display_glsl[] =
    "#version 450\n"
    "layout(local_size_x = 64) in;\n"
    "layout(std430, binding = 0) readonly buffer Raw { float raw[]; };\n"
    "layout(std430, binding = 1) readonly buffer Meta { uint meta[]; };\n"
    "layout(std430, binding = 2) writeonly buffer Atlas { float atlas[]; };\n"
    "shared float part[64];\n"
    "float tanh_safe(float s) {\n"
    "    float t = exp(-2.0 * abs(s));\n"
    "    return sign(s) * (1.0 - t) / (1.0 + t);\n"
    "}\n"
    "void main() {\n"
    "    uint d = gl_WorkGroupID.x, lane = gl_LocalInvocationID.x;\n"
    "    if (d >= meta[160]) return;\n"
    "    uint cols = meta[161], n = meta[2], res = meta[3];\n"
    "    uint q = 164u + 4u * d;\n"
    "    uint src = meta[q], mode = meta[q + 1u] & 255u, src2 = meta[q + 2u];\n"
    "    bool disc = (meta[q + 1u] & 256u) != 0u;\n"
    "    float scale = 1.0;\n"
    "    if (mode == 2u) {\n"
    "        float m = 0.0;\n"
    "        for (uint i = lane; i < n; i += 64u) m = max(m, abs(raw[src * n + i]));\n"
    "        part[lane] = m;\n"
    "        barrier();\n"
    "        m = 0.0;\n"
    "        for (uint k = 0u; k < 64u; k++) m = max(m, part[k]);\n"
    "        scale = m > 0.0 ? 1.0 / m : 0.0;\n"
    "    }\n"
    "    uint width = cols * res, ox = (d % cols) * res, oy = (d / cols) * res;\n"
    "    for (uint i = lane; i < n; i += 64u) {\n"
    "        float v = raw[src * n + i];\n"
    "        if (mode == 1u) v = 2.0 * v - 1.0;\n"
    "        else if (mode == 2u) v *= scale;\n"
    "        else if (mode == 3u) v = tanh_safe(0.5 * (raw[src2 * n + i] - v));\n"
    "        if (disc) v = v > 0.0 ? 1.0 : v < 0.0 ? -1.0 : 0.0;\n"
    "        atlas[(oy + i / res) * width + ox + i % res] = v;\n"
    "    }\n"
    "}\n";

typedef struct rect {
    float x, y, w, h;
} rect;

typedef struct playground {
    const nnxr_host *host;
    const nnxr_log_api *log;
    const nnxr_gpu_api *gpu;
    const nnxr_render_api *r;
    const nnxr_model_api *model;
    nnxr_draw *draw;
    nnxr_draw_batch *bg, *heat, *links, *dots, *text;
    nnxr_kernel *k_grid, *k_display;
    nnxr_buffer *meta;

    /* config */
    uint32_t res;
    double extent_cfg;
    bool show_train, show_test, discretize, show_links, labels, world;
    double px, py, max_w, max_h, unit_px, output_px, col_gap, unit_gap, point_px, text_px;
    double opacity;
    float center[3], size;
    uint32_t every, idle_every;

    /* the data (valid for the run) */
    nnxr_model_data data;
    float lo, hi;
    uint32_t feat_code[MAX_FEATURES];
    uint32_t nf;

    /* per generation */
    bool have_shape;
    uint64_t generation;
    uint32_t layers;
    uint32_t in[MAX_LAYERS], out[MAX_LAYERS], act[MAX_LAYERS];
    VkDeviceSize w_off[MAX_LAYERS], b_off[MAX_LAYERS]; /* bytes into the params buffer */
    const nnxr_buffer *params;
    VkDeviceSize bind_base, bind_range;
    uint32_t classes, units, cells, cols, rows;
    nnxr_buffer *raw, *atlas_buf;
    nnxr_draw_image *atlas;
    nnxr_binding *b_grid, *b_display;
    float *weights; /* host copy for the links */
    size_t weights_len;

    /* per frame */
    bool dirty, computed, have_target, laid_out, links_stale;
    uint64_t last_step, computed_step, computed_generation, frames;
    uint32_t view_w, view_h;
    rect cell_rects[MAX_CELLS];
    float scale, ox, oy; /* panel units → pixels (screen) or world units */
    bool warned;
} playground;

/* ---- per-generation resources ---------------------------------------------------------- */

static void drop_shape(playground *p)
{
    nnxr_error ignored;
    if (p->draw && p->heat)
        p->r->batch_image(p->draw, p->heat, NULL, &ignored);
    p->gpu->binding_destroy(p->gpu->ctx, p->b_grid);
    p->gpu->binding_destroy(p->gpu->ctx, p->b_display);
    p->b_grid = p->b_display = NULL;
    if (p->draw)
        p->r->image_destroy(p->draw, p->atlas);
    p->atlas = NULL;
    p->gpu->buffer_destroy(p->gpu->ctx, p->raw);
    p->gpu->buffer_destroy(p->gpu->ctx, p->atlas_buf);
    p->raw = p->atlas_buf = NULL;
    p->have_shape = false;
    p->computed = false;
}

static void destroy(void *self)
{
    playground *p = self;
    if (p->gpu) {
        drop_shape(p);
        p->gpu->kernel_destroy(p->gpu->ctx, p->k_grid);
        p->gpu->kernel_destroy(p->gpu->ctx, p->k_display);
        p->gpu->buffer_destroy(p->gpu->ctx, p->meta);
    }
    if (p->draw) {
        p->r->batch_destroy(p->draw, p->bg);
        p->r->batch_destroy(p->draw, p->heat);
        p->r->batch_destroy(p->draw, p->links);
        p->r->batch_destroy(p->draw, p->dots);
        p->r->batch_destroy(p->draw, p->text);
        p->r->destroy(p->draw);
    }
    free(p->weights);
    free(p);
}

/* The feature code of the grid kernel for a name of nnxr_model_data.features. */
static bool feature_code(const char *name, uint32_t *code)
{
    static const char *const names[7][3] = {
        {"x1", NULL, NULL},          {"x2", NULL, NULL},
        {"x1^2", "x1sq", "x1_sq"},   {"x2^2", "x2sq", "x2_sq"},
        {"x1x2", "x1*x2", "x1_x2"},  {"sin_x1", "sin(x1)", "sinx1"},
        {"sin_x2", "sin(x2)", "sinx2"},
    };
    for (uint32_t c = 0; c < 7; c++)
        for (int k = 0; k < 3; k++)
            if (names[c][k] && !strcmp(names[c][k], name)) {
                *code = c;
                return true;
            }
    return false;
}

/* The dense layers of the model's MLP, checked against what the kernels can do. */
static bool read_shape(playground *p, nnxr_model_info *info, nnxr_error *err)
{
    if (!p->model->info(p->model->ctx, info, err))
        return false;
    if (info->kind != NNXR_MODEL_MLP)
        return nnxr_failf(err, "the playground view shows an MLP; the scene's model is not one");
    uint32_t n = 0;
    for (uint32_t i = 0; i < info->layer_count; i++) {
        const nnxr_model_layer *L = &info->layers[i];
        if (L->part != NNXR_PART_MAIN)
            continue;
        if (L->kind == NNXR_LAYER_ACT) {
            /* A lone activation applies to the dense layer before it. */
            if (n == 0 || p->act[n - 1] != NNXR_ACT_LINEAR)
                return nnxr_failf(err,
                                  "layer %s: a lone activation the playground view cannot "
                                  "place",
                                  L->name);
            p->act[n - 1] = (uint32_t)L->act;
            continue;
        }
        if (L->kind != NNXR_LAYER_DENSE)
            return nnxr_failf(err, "layer %s: the playground view shows dense layers only",
                              L->name);
        if (n >= MAX_LAYERS)
            return nnxr_failf(err, "the model has more than %d dense layers", MAX_LAYERS);
        uint32_t in = L->in_c * L->in_h * L->in_w;
        if (L->out_c == 0 || L->out_c > MAX_WIDTH || in > MAX_WIDTH)
            return nnxr_failf(err,
                              "layer %s is %u -> %u units; the playground view shows layers "
                              "of 1 to %d units",
                              L->name, in, L->out_c, MAX_WIDTH);
        if (n > 0 && in != p->out[n - 1])
            return nnxr_failf(err, "layer %s takes %u inputs but the layer before gives %u",
                              L->name, in, p->out[n - 1]);
        if (!L->weights.buffer || !L->biases.buffer ||
            L->weights.size < (VkDeviceSize)in * L->out_c * 4 ||
            L->biases.size < (VkDeviceSize)L->out_c * 4 || L->weights.offset % 4 ||
            L->biases.offset % 4)
            return nnxr_failf(err, "layer %s has no weights or biases of %u x %u floats to read",
                              L->name, L->out_c, in);
        if (n == 0)
            p->params = L->weights.buffer;
        if (L->weights.buffer != p->params || L->biases.buffer != p->params)
            return nnxr_failf(err,
                              "layer %s: weights in more than one GPU buffer (the playground "
                              "view reads one)",
                              L->name);
        p->in[n] = in;
        p->out[n] = L->out_c;
        p->act[n] = (uint32_t)L->act;
        p->w_off[n] = L->weights.offset;
        p->b_off[n] = L->biases.offset;
        n++;
    }
    if (n < 1)
        return nnxr_failf(err, "the model has no dense layers");
    if (p->in[0] != p->nf)
        return nnxr_failf(err, "the model takes %u inputs but the data set has %u features",
                          p->in[0], p->nf);
    p->layers = n;
    p->classes = info->classes;
    uint32_t last = p->out[n - 1];
    if (p->classes != 0 && p->classes != 2)
        return nnxr_failf(err,
                          "the playground view shows two classes or a regression; the model "
                          "has %u classes",
                          p->classes);
    if (p->classes == 2 && last != 2)
        return nnxr_failf(err, "a two-class model with %u outputs (expected 2 logits)", last);
    uint32_t trips = p->nf, units = p->nf, hidden = 0;
    for (uint32_t l = 0; l < n; l++) {
        trips += p->out[l] * (p->in[l] + 2);
        units += p->out[l];
        if (l + 1 < n)
            hidden += p->out[l];
    }
    if (trips > MAX_LOOP_TRIPS)
        return nnxr_failf(err,
                          "the model is too large for the playground view's grid pass (%u "
                          "loop trips a point, at most %u)",
                          trips, MAX_LOOP_TRIPS);
    p->units = units;
    p->cells = p->nf + hidden + 1;
    if (p->cells > MAX_CELLS)
        return nnxr_failf(err, "%u heatmaps: more than %d", p->cells, MAX_CELLS);
    return true;
}

/* Writes the kernels' table: the layers, then the cells in drawing order. */
static void write_meta(playground *p)
{
    uint32_t *m = p->meta->mapped;
    memset(m, 0, META_WORDS * 4);
    m[META_LAYERS] = p->layers;
    m[META_NF] = p->nf;
    m[META_N] = p->res * p->res;
    m[META_RES] = p->res;
    for (uint32_t f = 0; f < p->nf; f++)
        m[META_FEAT + f] = p->feat_code[f];
    uint32_t unit = p->nf;
    for (uint32_t l = 0; l < p->layers; l++) {
        uint32_t *e = m + META_LAYER + 8 * l;
        e[0] = p->in[l];
        e[1] = p->out[l];
        e[2] = (uint32_t)((p->w_off[l] - p->bind_base) / 4);
        e[3] = (uint32_t)((p->b_off[l] - p->bind_base) / 4);
        e[4] = p->act[l];
        e[5] = unit;
        unit += p->out[l];
    }
    m[META_CELLS] = p->cells;
    m[META_CELLS + 1] = p->cols;
    uint32_t disc = p->discretize ? 256u : 0u;
    uint32_t c = 0;
    for (uint32_t f = 0; f < p->nf; f++, c++) {
        m[META_CELL + 4 * c] = f;
        m[META_CELL + 4 * c + 1] = MODE_MAXABS;
    }
    unit = p->nf;
    for (uint32_t l = 0; l + 1 < p->layers; l++)
        for (uint32_t o = 0; o < p->out[l]; o++, c++, unit++) {
            uint32_t a = p->act[l];
            m[META_CELL + 4 * c] = unit;
            m[META_CELL + 4 * c + 1] = a == NNXR_ACT_TANH      ? MODE_AS_IS
                                       : a == NNXR_ACT_SIGMOID ? MODE_SIGMOID
                                                               : MODE_MAXABS;
        }
    /* The output: p(class 1) - p(class 0), or the (first) regression output as it is. */
    m[META_CELL + 4 * c] = unit;
    if (p->classes == 2) {
        m[META_CELL + 4 * c + 1] = MODE_TWO_CLASS | disc;
        m[META_CELL + 4 * c + 2] = unit + 1;
    } else {
        uint32_t a = p->act[p->layers - 1];
        m[META_CELL + 4 * c + 1] = (a == NNXR_ACT_SIGMOID ? MODE_SIGMOID : MODE_AS_IS) | disc;
    }
}

static bool build_shape(playground *p, nnxr_error *err)
{
    drop_shape(p);
    nnxr_model_info info = {.size = sizeof info};
    if (!read_shape(p, &info, err))
        return false;
    p->generation = info.generation;
    /* Bind the parameter buffer from the first layer's region, aligned down. */
    const VkPhysicalDeviceLimits *lim = &p->gpu->properties(p->gpu->ctx)->limits;
    VkDeviceSize align = lim->minStorageBufferOffsetAlignment;
    if (!align)
        align = 4;
    VkDeviceSize lo = (VkDeviceSize)-1, hi = 0;
    for (uint32_t l = 0; l < p->layers; l++) {
        VkDeviceSize we = p->w_off[l] + (VkDeviceSize)p->in[l] * p->out[l] * 4;
        VkDeviceSize be = p->b_off[l] + (VkDeviceSize)p->out[l] * 4;
        lo = p->w_off[l] < lo ? p->w_off[l] : lo;
        lo = p->b_off[l] < lo ? p->b_off[l] : lo;
        hi = we > hi ? we : hi;
        hi = be > hi ? be : hi;
    }
    p->bind_base = lo / align * align;
    p->bind_range = hi - p->bind_base;
    if (hi > p->params->size || p->bind_range > lim->maxStorageBufferRange)
        return nnxr_failf(err,
                          "the model's weights span %llu bytes of a %llu-byte buffer; the "
                          "playground view binds at most %u",
                          (unsigned long long)(hi - lo), (unsigned long long)p->params->size,
                          lim->maxStorageBufferRange);
    p->cols = (uint32_t)ceil(sqrt((double)p->cells));
    p->rows = (p->cells + p->cols - 1) / p->cols;
    uint32_t dim = lim->maxImageDimension2D ? lim->maxImageDimension2D : 4096;
    if (p->cols * p->res > dim || p->rows * p->res > dim)
        return nnxr_failf(err, "%u heatmaps of %u^2 do not fit an image of %u^2", p->cells, p->res,
                          dim);
    VkDeviceSize n = (VkDeviceSize)p->res * p->res;
    nnxr_buffer_desc rd = {
        .name = "playground grid", .kind = NNXR_BUFFER_DEVICE, .size = n * p->units * 4};
    nnxr_buffer_desc ad = {.name = "playground heatmaps", .kind = NNXR_BUFFER_DEVICE,
                           .size = (VkDeviceSize)p->cols * p->rows * n * 4};
    nnxr_draw_image_desc id = {.name = "playground heatmaps", .format = NNXR_IMAGE_R32F,
                               .width = p->cols * p->res, .height = p->rows * p->res,
                               .cell_width = p->res, .cell_height = p->res};
    if (!p->gpu->buffer_create(p->gpu->ctx, &rd, &p->raw, err) ||
        !p->gpu->buffer_create(p->gpu->ctx, &ad, &p->atlas_buf, err) ||
        !p->r->image_create(p->draw, &id, &p->atlas, err) ||
        !p->r->batch_image(p->draw, p->heat, p->atlas, err))
        return false;
    nnxr_buffer_slot gs[3] = {{p->params, p->bind_base, p->bind_range},
                              {p->meta, 0, 0},
                              {p->raw, 0, 0}};
    nnxr_buffer_slot ds[3] = {{p->raw, 0, 0}, {p->meta, 0, 0}, {p->atlas_buf, 0, 0}};
    if (!p->gpu->kernel_bind(p->gpu->ctx, p->k_grid, gs, 3, &p->b_grid, err) ||
        !p->gpu->kernel_bind(p->gpu->ctx, p->k_display, ds, 3, &p->b_display, err))
        return false;
    write_meta(p);
    size_t nw = 0;
    for (uint32_t l = 0; l < p->layers; l++)
        nw += (size_t)p->in[l] * p->out[l];
    if (nw > p->weights_len) {
        float *w = realloc(p->weights, nw * sizeof *w);
        if (!w)
            return nnxr_failf(err, "out of memory");
        p->weights = w;
        p->weights_len = nw;
    }
    p->have_shape = true;
    p->laid_out = false;
    return true;
}

/* ---- create ----------------------------------------------------------------------------- */

static bool make_kernel(playground *p, const char *src, const char *name, nnxr_kernel **out,
                        uint32_t push, nnxr_error *err)
{
    uint32_t *words = NULL;
    size_t count = 0;
    if (!p->gpu->compile_glsl(p->gpu->ctx, src, name, VK_SHADER_STAGE_COMPUTE_BIT, &words,
                              &count, err))
        return false;
    nnxr_kernel_desc kd = {.name = name, .code = words, .code_size = count * 4,
                           .buffer_count = 3, .written_mask = 1u << 2, .push_size = push};
    bool ok = p->gpu->kernel_create(p->gpu->ctx, &kd, out, err);
    p->gpu->free_spirv(p->gpu->ctx, words);
    return ok;
}

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    static const char *const keys[] = {
        "resolution", "extent", "show_train", "show_test", "discretize", "links", "labels",
        "space", "x", "y", "max_width", "max_height", "unit_px", "output_px", "column_gap",
        "unit_gap", "point_px", "text_px", "opacity", "center", "size", "every", "idle_every",
        NULL};
    static const char *const spaces[] = {"screen", "world", NULL};
    static const double origin[3] = {0, 0, 0};
    const nnxr_config_api *c = host->service(host, NNXR_SERVICE_CONFIG);
    if (!c) {
        nnxr_failf(err, "the host has no config service");
        return NULL;
    }
    playground *p = calloc(1, sizeof *p);
    if (!p) {
        nnxr_failf(err, "out of memory");
        return NULL;
    }
    p->host = host;
    p->log = host->service(host, NNXR_SERVICE_LOG);
    int64_t res, every, idle_every;
    double center[3], size;
    size_t n3;
    const char *space;
    if (!c->check_keys(cfg, keys, err) ||
        !c->get_int(cfg, "resolution", 64, 8, 256, &res, err) ||
        !c->get_float(cfg, "extent", 0, 0, 1e6, &p->extent_cfg, err) ||
        !c->get_bool(cfg, "show_train", true, &p->show_train, err) ||
        !c->get_bool(cfg, "show_test", false, &p->show_test, err) ||
        !c->get_bool(cfg, "discretize", false, &p->discretize, err) ||
        !c->get_bool(cfg, "links", true, &p->show_links, err) ||
        !c->get_bool(cfg, "labels", true, &p->labels, err) ||
        !c->get_string(cfg, "space", "screen", spaces, &space, err) ||
        !c->get_float(cfg, "x", 12, -16384, 16384, &p->px, err) ||
        !c->get_float(cfg, "y", 12, -16384, 16384, &p->py, err) ||
        !c->get_float(cfg, "max_width", 0, 0, 16384, &p->max_w, err) ||
        !c->get_float(cfg, "max_height", 0, 0, 16384, &p->max_h, err) ||
        !c->get_float(cfg, "unit_px", 36, 4, 1024, &p->unit_px, err) ||
        !c->get_float(cfg, "output_px", 260, 16, 8192, &p->output_px, err) ||
        !c->get_float(cfg, "column_gap", 40, 0, 4096, &p->col_gap, err) ||
        !c->get_float(cfg, "unit_gap", 6, 0, 1024, &p->unit_gap, err) ||
        !c->get_float(cfg, "point_px", 3, 0, 64, &p->point_px, err) ||
        !c->get_float(cfg, "text_px", 16, 8, 256, &p->text_px, err) ||
        !c->get_float(cfg, "opacity", 0.6, 0, 1, &p->opacity, err) ||
        !c->get_float_array(cfg, "center", origin, 3, 3, 3, -1e6, 1e6, center, &n3, err) ||
        !c->get_float(cfg, "size", 2.0, 0.001, 1e4, &size, err) ||
        !c->get_int(cfg, "every", 1, 1, 100000, &every, err) ||
        !c->get_int(cfg, "idle_every", 15, 0, 100000, &idle_every, err)) {
        free(p);
        return NULL;
    }
    p->res = (uint32_t)res;
    p->every = (uint32_t)every;
    p->idle_every = (uint32_t)idle_every;
    p->world = !strcmp(space, "world");
    for (int i = 0; i < 3; i++)
        p->center[i] = (float)center[i];
    p->size = (float)size;

    p->model = host->service(host, NNXR_SERVICE_MODEL);
    if (!p->model || p->model->size < sizeof(nnxr_model_api) || !p->model->data) {
        free(p);
        nnxr_failf(err,
                   "%s: nnxr.playground needs a model: add [model] kind = \"mlp\" and "
                   "[dataset] kind = \"playground\" to the scene",
                   c->describe(cfg));
        return NULL;
    }
    p->data.size = sizeof p->data;
    if (!p->model->data(p->model->ctx, &p->data, err)) {
        free(p);
        return NULL;
    }
    if (p->data.feature_count == 0 || p->data.feature_count > MAX_FEATURES) {
        free(p);
        nnxr_failf(err,
                   "%s: nnxr.playground shows 2-D playground data; the scene's data set has "
                   "no playground features (set [dataset] kind = \"playground\")",
                   c->describe(cfg));
        return NULL;
    }
    p->nf = p->data.feature_count;
    for (uint32_t f = 0; f < p->nf; f++)
        if (!p->data.features[f] || !feature_code(p->data.features[f], &p->feat_code[f])) {
            nnxr_failf(err,
                       "%s: the data set's feature %u (\"%s\") is not one the playground view "
                       "knows (x1, x2, x1^2, x2^2, x1x2, sin_x1, sin_x2)",
                       c->describe(cfg), f, p->data.features[f] ? p->data.features[f] : "(none)");
            free(p);
            return NULL;
        }
    double extent = p->extent_cfg > 0 ? p->extent_cfg : p->data.domain > 0 ? p->data.domain : 6.0;
    p->lo = (float)-extent;
    p->hi = (float)extent;

    p->gpu = host->service(host, NNXR_SERVICE_GPU);
    p->r = host->service(host, NNXR_SERVICE_RENDER);
    if (!p->gpu || p->gpu->size < sizeof(nnxr_gpu_api) || !p->r ||
        p->r->size < sizeof(nnxr_render_api)) {
        p->gpu = NULL;
        free(p);
        nnxr_failf(err, "the host has no GPU or render service (is there a Vulkan device with "
                        "graphics?)");
        return NULL;
    }
    if (!p->r->create(host, &p->draw, err)) {
        p->draw = NULL;
        destroy(p);
        return NULL;
    }
    nnxr_draw_space sp = p->world ? NNXR_SPACE_WORLD : NNXR_SPACE_SCREEN;
    nnxr_draw_batch_desc bd = {.name = "playground panel", .kind = NNXR_DRAW_QUADS,
                               .capacity = 4, .style = {.space = sp}};
    nnxr_draw_batch_desc hd = {.name = "playground heatmaps", .kind = NNXR_DRAW_QUADS,
                               .capacity = 64,
                               .style = {.space = sp, .shade = NNXR_SHADE_DIVERGING,
                                         .range = {1.0f, -1.0f}}};
    nnxr_draw_batch_desc ld = {.name = "playground links", .kind = NNXR_DRAW_LINES,
                               .capacity = 256, .style = {.space = sp}};
    nnxr_draw_batch_desc sd = {.name = "playground points", .kind = NNXR_DRAW_SPHERES,
                               .capacity = 1024, .style = {.space = sp}};
    nnxr_draw_batch_desc td = {.name = "playground labels", .kind = NNXR_DRAW_TEXT,
                               .capacity = 256, .style = {.space = sp}};
    nnxr_buffer_desc md = {.name = "playground table", .kind = NNXR_BUFFER_HOST,
                           .size = META_WORDS * 4};
    if (!p->r->batch_create(p->draw, &bd, &p->bg, err) ||
        !p->r->batch_create(p->draw, &hd, &p->heat, err) ||
        !p->r->batch_create(p->draw, &ld, &p->links, err) ||
        !p->r->batch_create(p->draw, &sd, &p->dots, err) ||
        !p->r->batch_create(p->draw, &td, &p->text, err) ||
        !p->gpu->buffer_create(p->gpu->ctx, &md, &p->meta, err) ||
        !make_kernel(p, grid_glsl, "playground_grid.comp", &p->k_grid, 8, err) ||
        !make_kernel(p, display_glsl, "playground_display.comp", &p->k_display, 0, err)) {
        destroy(p);
        return NULL;
    }
    if (!p->meta->mapped) {
        destroy(p);
        nnxr_failf(err, "the playground's table buffer is not mapped");
        return NULL;
    }
    /* The model's shape now, so that a scene it cannot show fails at once and clearly. */
    nnxr_error serr;
    if (!build_shape(p, &serr)) {
        nnxr_failf(err, "%s: %s", c->describe(cfg), serr.message);
        destroy(p);
        return NULL;
    }
    p->dirty = true;
    return p;
}

/* ---- layout and instances ----------------------------------------------------------------- */

/* Drawing layers of the panel: in world space each lies a little in front of the one
 * before (towards +z), so that nothing z-fights; in screen space drawing order decides. */
enum { Z_PANEL = 0, Z_HEAT = 1, Z_LINKS = 2, Z_POINTS = 3, Z_TEXT = 4 };

/* Panel units (pixels at scale 1, y down) of drawing layer z → a position in the batches'
 * space. */
static void to_space_z(const playground *p, float x, float y, int z, float out[3])
{
    if (p->world) {
        out[0] = p->center[0] + p->ox + x * p->scale;
        out[1] = p->center[1] + p->oy - y * p->scale;
        out[2] = p->center[2] + (float)z * 0.002f * p->size;
    } else {
        out[0] = p->ox + x * p->scale;
        out[1] = p->oy + y * p->scale;
        out[2] = 0.0f;
    }
}

static void to_space(const playground *p, float x, float y, float out[3])
{
    to_space_z(p, x, y, Z_TEXT, out);
}

static void set4(float *d, float r, float g, float b, float a)
{
    d[0] = r, d[1] = g, d[2] = b, d[3] = a;
}

/* A quad covering panel rectangle q, showing uv (or nothing). */
static nnxr_quad quad_of(const playground *p, rect q, int z, const float uv[4],
                         const float color[4])
{
    nnxr_quad o;
    memset(&o, 0, sizeof o);
    to_space_z(p, q.x, q.y, z, o.origin);
    float sy = p->world ? -1.0f : 1.0f;
    o.u[0] = q.w * p->scale;
    o.v[1] = sy * q.h * p->scale;
    if (uv)
        memcpy(o.uv, uv, sizeof o.uv);
    memcpy(o.color, color, sizeof o.color);
    return o;
}

/* The playground's diverging colour of a value in [-1, 1] as the heatmaps show it (+1 blue,
 * -1 red; the stops of render/common.glsl's diverging()), linear RGB. */
static void diverging_linear(float v, float out[3])
{
    float t = v != v ? 0.5f : (1.0f - v) * 0.5f;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    static const float blue[3] = {0.13f, 0.35f, 0.85f}, white[3] = {0.97f, 0.97f, 0.97f},
                       red[3] = {0.85f, 0.15f, 0.12f};
    float s[3];
    for (int i = 0; i < 3; i++)
        s[i] = t < 0.5f ? blue[i] + (white[i] - blue[i]) * t * 2.0f
                        : white[i] + (red[i] - white[i]) * (t * 2.0f - 1.0f);
    nnxr_color_from_srgb(s[0], s[1], s[2], out);
}

/* Places the columns and fits the panel into the view (screen) or `size` (world). */
static void layout(playground *p)
{
    float th = (float)p->text_px, title = th + 6.0f;
    float U = (float)p->unit_px, O = (float)p->output_px, G = (float)p->col_gap;
    float S = (float)p->unit_gap;
    float label_w = 0;
    if (p->labels)
        for (uint32_t f = 0; f < p->nf; f++) {
            float w, h;
            p->r->text_size(p->draw, p->data.features[f], th, &w, &h);
            label_w = fmaxf(label_w, w + 6.0f);
        }
    float pad = 8.0f, x = pad + label_w, top = pad + (p->labels ? title : 0.0f);
    uint32_t c = 0, tallest = p->nf;
    for (uint32_t f = 0; f < p->nf; f++, c++)
        p->cell_rects[c] = (rect){x, top + (float)f * (U + S), U, U};
    for (uint32_t l = 0; l + 1 < p->layers; l++) {
        x += U + G;
        for (uint32_t o = 0; o < p->out[l]; o++, c++)
            p->cell_rects[c] = (rect){x, top + (float)o * (U + S), U, U};
        tallest = p->out[l] > tallest ? p->out[l] : tallest;
    }
    x += U + G;
    p->cell_rects[c] = (rect){x, top, O, O};
    float W = x + O + pad;
    float H = top + fmaxf((float)tallest * (U + S) - S, O) + pad + (p->labels ? title : 0.0f);
    if (p->world) {
        p->scale = p->size / W;
        p->ox = -0.5f * W * p->scale;
        p->oy = 0.5f * H * p->scale;
    } else {
        float vw = (float)p->view_w, vh = (float)p->view_h;
        float x0 = p->px < 0 ? vw + (float)p->px : (float)p->px;
        float y0 = p->py < 0 ? vh + (float)p->py : (float)p->py;
        float aw = p->max_w > 0 ? (float)p->max_w : vw - x0;
        float ah = p->max_h > 0 ? (float)p->max_h : vh - y0;
        p->scale = fminf(1.0f, fminf(aw / W, ah / H));
        if (!(p->scale > 0.05f))
            p->scale = 0.05f;
        if (p->px < 0)
            x0 -= W * p->scale;
        if (p->py < 0)
            y0 -= H * p->scale;
        p->ox = x0;
        p->oy = y0;
    }
    float col[4] = {0.02f, 0.02f, 0.03f, (float)p->opacity};
    nnxr_quad bgq = quad_of(p, (rect){0, 0, W, H}, Z_PANEL, NULL, col);
    nnxr_error err;
    if (!p->r->batch_write(p->draw, p->bg, 0, &bgq, 1, &err))
        nnxr_logf(p->log, p->host, NNXR_LEVEL_ERROR, "playground: %s", err.message);
    /* One quad per heatmap, showing its atlas cell. */
    nnxr_quad q[MAX_CELLS];
    float white[4] = {1, 1, 1, 1};
    for (uint32_t k = 0; k < p->cells; k++) {
        float uv[4];
        p->r->image_cell_uv(p->draw, p->atlas, k, uv);
        q[k] = quad_of(p, p->cell_rects[k], Z_HEAT, uv, white);
    }
    if (!p->r->batch_write(p->draw, p->heat, 0, q, p->cells, &err))
        nnxr_logf(p->log, p->host, NNXR_LEVEL_ERROR, "playground: %s", err.message);
    p->laid_out = true;
    if (!p->world) {
        rect o = p->cell_rects[p->cells - 1];
        nnxr_logf(p->log, p->host, NNXR_LEVEL_INFO,
                  "layout: output heatmap at %.1f %.1f size %.1f px, %u heatmaps",
                  p->ox + o.x * p->scale, p->oy + o.y * p->scale, o.w * p->scale, p->cells);
    }
}

/* The data points on the output heatmap, train (white outline) then test (black). */
static void build_points(playground *p)
{
    nnxr_error err;
    const nnxr_model_host_set *sets[2] = {&p->data.train, &p->data.eval};
    bool show[2] = {p->show_train, p->show_test};
    uint32_t total = 0;
    for (int s = 0; s < 2; s++)
        if (show[s] && sets[s]->xy)
            total += sets[s]->count;
    if (!p->r->batch_resize(p->draw, p->dots, 2 * total, &err)) {
        nnxr_logf(p->log, p->host, NNXR_LEVEL_ERROR, "playground: %s", err.message);
        return;
    }
    nnxr_sphere *sp = p->r->batch_data(p->draw, p->dots);
    if (!sp)
        return;
    rect o = p->cell_rects[p->cells - 1];
    float r = (float)p->point_px, span = p->hi - p->lo;
    uint32_t k = 0;
    for (int s = 0; s < 2; s++) {
        if (!show[s] || !sets[s]->xy)
            continue;
        const nnxr_model_host_set *set = sets[s];
        for (uint32_t i = 0; i < set->count; i++) {
            float x1 = set->xy[2 * i], x2 = set->xy[2 * i + 1];
            bool inside = x1 >= p->lo && x1 <= p->hi && x2 >= p->lo && x2 <= p->hi;
            float px = o.x + (x1 - p->lo) / span * o.w, py = o.y + (p->hi - x2) / span * o.h;
            float rgb[3];
            if (set->labels)
                nnxr_color_class(set->labels[i], rgb);
            else if (set->targets)
                diverging_linear(set->targets[(size_t)i * p->out[p->layers - 1]], rgb);
            else
                nnxr_color_class(-1, rgb);
            nnxr_sphere *a = &sp[k++], *b = &sp[k++];
            to_space_z(p, px, py, Z_POINTS, a->pos);
            memcpy(b->pos, a->pos, sizeof b->pos);
            a->radius = inside ? (r + 1.0f) * p->scale : 0.0f;
            b->radius = inside ? r * p->scale : 0.0f;
            float edge = s == 0 ? 1.0f : 0.0f;
            set4(a->color, edge, edge, edge, 1.0f);
            set4(b->color, rgb[0], rgb[1], rgb[2], 1.0f);
        }
    }
}

/* The weight of the link from unit k of layer l to unit o of layer l + 1 as drawn: into a
 * two-class output, its effect on z1 - z0. */
static float link_weight(const playground *p, size_t base, uint32_t l, uint32_t o, uint32_t k)
{
    const float *w = p->weights + base;
    if (l + 1 == p->layers && p->classes == 2)
        return w[(size_t)1 * p->in[l] + k] - w[k];
    return w[(size_t)o * p->in[l] + k];
}

static void build_links(playground *p)
{
    nnxr_error err;
    p->r->batch_resize(p->draw, p->links, 0, &err);
    if (!p->show_links)
        return;
    size_t base = 0;
    uint32_t first_cell = 0;
    for (uint32_t l = 0; l < p->layers; l++) {
        if (!p->gpu->buffer_readback(p->gpu->ctx, p->params, p->w_off[l], p->weights + base,
                                     (VkDeviceSize)p->in[l] * p->out[l] * 4, &err)) {
            nnxr_logf(p->log, p->host, NNXR_LEVEL_WARN, "playground: links: %s", err.message);
            return;
        }
        uint32_t outs = l + 1 == p->layers ? 1 : p->out[l];
        float m = 0;
        for (uint32_t o = 0; o < outs; o++)
            for (uint32_t k = 0; k < p->in[l]; k++)
                m = fmaxf(m, fabsf(link_weight(p, base, l, o, k)));
        uint32_t next_cell = first_cell + p->in[l];
        for (uint32_t o = 0; o < outs; o++)
            for (uint32_t k = 0; k < p->in[l]; k++) {
                float v = link_weight(p, base, l, o, k);
                rect a = p->cell_rects[first_cell + k], b = p->cell_rects[next_cell + o];
                nnxr_line ln;
                to_space_z(p, a.x + a.w, a.y + 0.5f * a.h, Z_LINKS, ln.a);
                float by = l + 1 == p->layers ? a.y + 0.5f * a.h : b.y + 0.5f * b.h;
                if (by > b.y + b.h)
                    by = b.y + b.h;
                to_space_z(p, b.x, by, Z_LINKS, ln.b);
                float rgb[3];
                diverging_linear(v > 0 ? 1.0f : -1.0f, rgb);
                float alpha = m > 0 && isfinite(v) ? 0.15f + 0.85f * fabsf(v) / m : 0.15f;
                set4(ln.color, rgb[0], rgb[1], rgb[2], alpha);
                if (!p->r->batch_write(p->draw, p->links, p->r->batch_count(p->draw, p->links),
                                       &ln, 1, &err))
                    return;
            }
        base += (size_t)p->in[l] * p->out[l];
        first_cell = next_cell;
    }
}

static void build_text(playground *p, uint64_t step)
{
    nnxr_error err;
    p->r->batch_resize(p->draw, p->text, 0, &err);
    if (!p->labels)
        return;
    float th = (float)p->text_px * p->scale;
    float grey[4] = {0.85f, 0.85f, 0.85f, 1.0f};
    uint32_t hv = NNXR_ALIGN_BOTTOM;
    float pos[3];
    char s[64];
    for (uint32_t f = 0; f < p->nf; f++) {
        rect q = p->cell_rects[f];
        to_space(p, q.x - 4.0f, q.y + 0.5f * q.h, pos);
        p->r->text_add(p->draw, p->text, p->data.features[f], pos, th, grey,
                       NNXR_ALIGN_RIGHT | NNXR_ALIGN_MIDDLE, &err);
    }
    /* Above each hidden column, its neuron count. */
    uint32_t c = p->nf;
    rect q;
    for (uint32_t l = 0; l + 1 < p->layers; l++) {
        q = p->cell_rects[c];
        to_space(p, q.x + 0.5f * q.w, q.y - 4.0f, pos);
        snprintf(s, sizeof s, "%u", p->out[l]);
        p->r->text_add(p->draw, p->text, s, pos, th, grey, NNXR_ALIGN_CENTER | hv, &err);
        c += p->out[l];
    }
    q = p->cell_rects[c];
    to_space(p, q.x, q.y - 4.0f, pos);
    p->r->text_add(p->draw, p->text, p->classes ? "output" : "output (regression)", pos, th,
                   grey, NNXR_ALIGN_LEFT | hv, &err);
    to_space(p, q.x, q.y + q.h + 4.0f, pos);
    snprintf(s, sizeof s, "step %llu", (unsigned long long)step);
    p->r->text_add(p->draw, p->text, s, pos, th, grey, NNXR_ALIGN_LEFT | NNXR_ALIGN_TOP, &err);
}

/* ---- per frame -------------------------------------------------------------------------- */

/* Follows the model's generation: false while the model cannot be shown (warned once). */
static bool sync_shape(playground *p, bool *reshaped)
{
    uint64_t gen = p->model->generation(p->model->ctx);
    *reshaped = !p->have_shape || gen != p->generation;
    if (!*reshaped)
        return true;
    nnxr_error err;
    err.message[0] = '\0';
    if (!build_shape(p, &err)) {
        if (!p->warned)
            nnxr_logf(p->log, p->host, NNXR_LEVEL_WARN, "playground: %s", err.message);
        p->warned = true;
        return false;
    }
    p->warned = false;
    p->dirty = true;
    return true;
}

/* Lays the panel out again when the shape or the target changed; true if it did. */
static bool relayout(playground *p, bool reshaped)
{
    if ((p->laid_out && !reshaped) || !(p->have_target || p->world))
        return false;
    layout(p);
    build_points(p);
    build_text(p, p->computed_step);
    return true;
}

static void update(void *self, const nnxr_frame *frame)
{
    playground *p = self;
    bool reshaped;
    if (!sync_shape(p, &reshaped)) {
        p->frames++;
        return;
    }
    if (frame->train_step != p->last_step) {
        if (p->frames % p->every == 0) {
            p->dirty = true;
            p->last_step = frame->train_step;
        }
    } else if (p->idle_every && p->frames % p->idle_every == 0) {
        /* Weights also change without a step: set by hand (a dragged neuron) while paused. */
        p->dirty = true;
    }
    bool relaid = relayout(p, reshaped);
    if (p->laid_out && (p->dirty || relaid || p->links_stale)) {
        build_links(p);
        p->links_stale = false;
    }
    p->frames++;
}

static void record_compute(void *self, VkCommandBuffer cmd, const nnxr_frame *frame)
{
    playground *p = self;
    /* Surgery is applied after update: the buffers may have changed since. */
    bool reshaped;
    if (!sync_shape(p, &reshaped))
        return;
    if (reshaped) {
        relayout(p, true);
        /* The links read the weights back, which must wait until no training is in flight:
         * the next update draws them. */
        nnxr_error ignored;
        p->r->batch_resize(p->draw, p->links, 0, &ignored);
        p->links_stale = true;
    }
    if (!p->dirty)
        return;
    nnxr_error err;
    float push[2] = {p->lo, p->hi};
    uint32_t n = p->res * p->res;
    if (!p->gpu->cmd_dispatch(p->gpu->ctx, cmd, p->k_grid, p->b_grid, push, sizeof push,
                              (n + 63) / 64, 1, 1, &err)) {
        nnxr_logf(p->log, p->host, NNXR_LEVEL_ERROR, "playground: %s", err.message);
        return;
    }
    p->gpu->cmd_barrier(p->gpu->ctx, cmd);
    if (!p->gpu->cmd_dispatch(p->gpu->ctx, cmd, p->k_display, p->b_display, NULL, 0, p->cells,
                              1, 1, &err) ||
        !p->r->image_record_copy(p->draw, p->atlas, cmd, p->atlas_buf, 0, &err)) {
        nnxr_logf(p->log, p->host, NNXR_LEVEL_ERROR, "playground: %s", err.message);
        return;
    }
    p->dirty = false;
    p->computed = true;
    p->computed_step = frame->train_step;
    p->computed_generation = p->generation;
    /* The step shown is the one whose weights the heatmaps now hold. */
    if (p->laid_out)
        build_text(p, p->computed_step);
}

static bool prepare(void *self, const nnxr_render_target_info *target, nnxr_error *err)
{
    playground *p = self;
    if (!p->r->prepare(p->draw, target, err))
        return false;
    uint32_t views = target->view_count ? target->view_count : 1;
    p->view_w = target->width / views;
    p->view_h = target->height;
    p->have_target = true;
    p->laid_out = false;
    return true;
}

static void record_draw(void *self, VkCommandBuffer cmd, const nnxr_view *view,
                        const nnxr_frame *frame)
{
    (void)frame;
    playground *p = self;
    if (!p->have_shape || !p->laid_out)
        return;
    p->r->record(p->draw, p->bg, cmd, view);
    if (p->computed)
        p->r->record(p->draw, p->heat, cmd, view);
    p->r->record(p->draw, p->links, cmd, view);
    p->r->record(p->draw, p->dots, cmd, view);
    p->r->record(p->draw, p->text, cmd, view);
}

static void release(void *self)
{
    playground *p = self;
    p->r->release(p->draw);
    p->have_target = false;
}

/* ---- the probe ------------------------------------------------------------------------------ */

static bool probe_grid(void *self, nnxr_playground_grid *out, float *values, size_t max,
                       nnxr_error *err)
{
    playground *p = self;
    if (!p->have_shape || !p->computed)
        return nnxr_failf(err, "playground: no grid computed yet");
    memset(out, 0, sizeof *out);
    out->generation = p->computed_generation;
    out->step = p->computed_step;
    out->resolution = p->res;
    out->lo = p->lo;
    out->hi = p->hi;
    out->features = p->nf;
    out->units = p->units;
    out->cells = p->cells;
    out->layers = p->layers;
    size_t count = (size_t)p->units * p->res * p->res;
    if (!values)
        return true;
    if (max < count)
        return nnxr_failf(err, "playground: %zu values do not fit %zu", count, max);
    return p->gpu->buffer_readback(p->gpu->ctx, p->raw, 0, values, count * 4, err);
}

static bool probe_rect(void *self, uint32_t cell, float out[4])
{
    playground *p = self;
    if (!p->have_shape || !p->laid_out || cell >= p->cells)
        return false;
    rect q = p->cell_rects[cell];
    if (p->world) {
        out[0] = p->center[0] + p->ox + q.x * p->scale;
        out[1] = p->center[1] + p->oy - q.y * p->scale;
        out[2] = q.w * p->scale;
        out[3] = q.h * p->scale;
        return true;
    }
    out[0] = p->ox + q.x * p->scale;
    out[1] = p->oy + q.y * p->scale;
    out[2] = q.w * p->scale;
    out[3] = q.h * p->scale;
    return true;
}

static const void *extension(void *self, const char *id)
{
    (void)self;
    static const nnxr_update_ext update_ext = {update};
    static const nnxr_compute_ext compute_ext = {record_compute};
    static const nnxr_draw_ext draw_ext = {prepare, record_draw, release};
    static const nnxr_playground_probe_ext probe_ext = {probe_grid, probe_rect};
    if (!strcmp(id, NNXR_EXT_UPDATE))
        return &update_ext;
    if (!strcmp(id, NNXR_EXT_COMPUTE))
        return &compute_ext;
    if (!strcmp(id, NNXR_EXT_DRAW))
        return &draw_ext;
    if (!strcmp(id, NNXR_PLAYGROUND_PROBE))
        return &probe_ext;
    return NULL;
}

NNXR_EXPORT const nnxr_plugin_entry nnxr_entry = {
    .abi_version = NNXR_ABI_VERSION,
    .id = "nnxr.playground",
    .description = "TensorFlow Playground's views: every neuron's heatmap over the input "
                   "plane and the decision boundary with the data, live",
    .create = create,
    .destroy = destroy,
    .extension = extension,
};
