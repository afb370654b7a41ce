/* plugins/graph_view/graph_view.c — AIive's graph view ("nnxr.graph_view"): the hidden
 * neurons of an MLP as glowing spheres coloured by layer (first hidden blue, second yellow),
 * one red node for the whole input and one green node for the whole output, white links
 * whose alpha is the min-max normalised weight, laid out by AIive's forces
 * (engine/sim/graph_layout.c, built into this plugin: plugins never link the engine). The
 * graph follows the "nnxr.model" service live — weights re-read as training runs, neurons
 * appearing and disappearing with surgery — or shows a synthetic network of the sizes in
 * `layers` when there is no model. The layout freezes while training is paused, and a
 * translucent sphere at the graph's centre of mass with "PAUSED" marks it; a focused layer
 * (the metric named by `focus_metric`, published by a gesture plugin) is drawn larger. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/rng.h"
#include "nnxr/draw.h"
#include "nnxr/gpu.h"
#include "nnxr/model.h"
#include "nnxr/plugin.h"
#include "nnxr/render.h"
#include "sim/graph_layout.h"

#define MAX_LAYERS (NNXR_GRAPH_MAX_HIDDEN + 2)

typedef struct graph_view {
    const nnxr_host *host;
    const nnxr_log_api *log;
    const nnxr_metrics_api *metrics;
    const nnxr_gpu_api *gpu;
    const nnxr_render_api *r;
    const nnxr_model_api *model;
    nnxr_draw *draw;
    nnxr_draw_batch *nodes, *links, *text, *pause;

    /* config */
    bool use_model;
    uint32_t synth_sizes[MAX_LAYERS];
    uint32_t synth_count;
    uint64_t seed;
    float size, center[3], node_radius, io_radius, glow, link_alpha;
    uint32_t steps_per_frame, warmup_steps, refresh_every;
    bool labels;
    const char *focus_metric;

    /* state */
    nnxr_graph graph;
    bool have_graph;
    nnxr_graph_params params;
    uint64_t generation;
    uint32_t in_size, out_size;
    float *scratch;
    size_t scratch_len;
    float scale;
    bool scale_set;
    bool warned;
    uint64_t frames;
} graph_view;

static void destroy(void *self)
{
    graph_view *g = self;
    if (g->draw) {
        g->r->batch_destroy(g->draw, g->nodes);
        g->r->batch_destroy(g->draw, g->links);
        g->r->batch_destroy(g->draw, g->text);
        g->r->batch_destroy(g->draw, g->pause);
        g->r->destroy(g->draw);
    }
    if (g->have_graph)
        nnxr_graph_free(&g->graph);
    free(g->scratch);
    free(g);
}

/* ---- the graph's data: the model's weights, or a synthetic network ---------------------- */

/* Hidden sizes and in/out sizes of the model's MLP; false when there is none to show. */
static bool model_shape(graph_view *g, nnxr_model_info *info, uint32_t *sizes, uint32_t *hidden,
                        const nnxr_model_layer **dense, nnxr_error *err)
{
    if (!g->model->info(g->model->ctx, info, err))
        return false;
    uint32_t n = 0;
    for (uint32_t i = 0; i < info->layer_count; i++)
        if (info->layers[i].kind == NNXR_LAYER_DENSE && info->layers[i].part == NNXR_PART_MAIN) {
            if (n >= NNXR_GRAPH_MAX_HIDDEN + 1) {
                snprintf(err->message, sizeof err->message, "the model has more than %u dense "
                         "layers", NNXR_GRAPH_MAX_HIDDEN + 1);
                return false;
            }
            dense[n++] = &info->layers[i];
        }
    if (info->kind != NNXR_MODEL_MLP || n < 2) {
        snprintf(err->message, sizeof err->message, "the graph view shows MLPs with at least "
                 "one hidden layer; the scene's model is not one");
        return false;
    }
    *hidden = n - 1;
    for (uint32_t l = 0; l < n - 1; l++)
        sizes[l] = dense[l]->out_c;
    g->in_size = dense[0]->in_c * dense[0]->in_h * dense[0]->in_w;
    g->out_size = dense[n - 1]->out_c;
    return true;
}

static bool ensure_graph(graph_view *g, const uint32_t *sizes, uint32_t hidden, nnxr_error *err)
{
    if (g->have_graph) {
        bool same = g->graph.hidden == hidden;
        for (uint32_t l = 0; same && l < hidden; l++)
            same = g->graph.sizes[l] == sizes[l];
        if (same)
            return true;
        if (g->graph.hidden == hidden)
            return nnxr_graph_resize(&g->graph, sizes, hidden, g->seed + g->generation, err);
        nnxr_graph_free(&g->graph);
        g->have_graph = false;
    }
    if (!nnxr_graph_init(&g->graph, sizes, hidden, g->seed, err))
        return false;
    g->have_graph = true;
    return true;
}

static float *scratch(graph_view *g, size_t n)
{
    if (n > g->scratch_len) {
        float *p = realloc(g->scratch, n * sizeof *p);
        if (!p)
            return NULL;
        g->scratch = p;
        g->scratch_len = n;
    }
    return g->scratch;
}

static bool sync_model(graph_view *g, bool reread, nnxr_error *err)
{
    uint64_t gen = g->model->generation(g->model->ctx);
    bool changed = !g->have_graph || gen != g->generation;
    if (!changed && !reread)
        return true;
    nnxr_model_info info = {.size = sizeof info};
    const nnxr_model_layer *dense[NNXR_GRAPH_MAX_HIDDEN + 1];
    uint32_t sizes[NNXR_GRAPH_MAX_HIDDEN], hidden;
    if (!model_shape(g, &info, sizes, &hidden, dense, err))
        return false;
    g->generation = info.generation;
    if (!ensure_graph(g, sizes, hidden, err))
        return false;
    for (uint32_t l = 0; l <= hidden; l++) {
        const nnxr_model_layer *d = dense[l];
        uint32_t rows = d->out_c, cols = d->in_c * d->in_h * d->in_w;
        size_t n = (size_t)rows * cols;
        float *w = scratch(g, n);
        if (!w) {
            snprintf(err->message, sizeof err->message, "out of memory for %zu weights", n);
            return false;
        }
        if (!d->weights.buffer || d->weights.size < n * sizeof(float)) {
            snprintf(err->message, sizeof err->message, "layer %s has no weights to read",
                     d->name);
            return false;
        }
        if (!g->gpu->buffer_readback(g->gpu->ctx, d->weights.buffer, d->weights.offset, w,
                                     n * sizeof(float), err) ||
            !nnxr_graph_set_weights(&g->graph, l, w, rows, cols, err))
            return false;
    }
    return true;
}

/* A synthetic network: seeded weights, fixed for the run. */
static bool make_synthetic(graph_view *g, nnxr_error *err)
{
    uint32_t hidden = g->synth_count - 2;
    if (!nnxr_graph_init(&g->graph, g->synth_sizes + 1, hidden, g->seed, err))
        return false;
    g->have_graph = true;
    g->in_size = g->synth_sizes[0];
    g->out_size = g->synth_sizes[g->synth_count - 1];
    nnxr_rng rng;
    nnxr_rng_seed(&rng, g->seed, 0x73796e74u);
    for (uint32_t l = 0; l <= hidden; l++) {
        uint32_t rows = g->synth_sizes[l + 1], cols = g->synth_sizes[l];
        float *w = scratch(g, (size_t)rows * cols);
        if (!w) {
            snprintf(err->message, sizeof err->message, "out of memory");
            return false;
        }
        float a = 1.0f / sqrtf((float)cols);
        for (size_t e = 0; e < (size_t)rows * cols; e++)
            w[e] = a * (2.0f * nnxr_rng_float(&rng) - 1.0f);
        if (!nnxr_graph_set_weights(&g->graph, l, w, rows, cols, err))
            return false;
    }
    return true;
}

/* ---- create ----------------------------------------------------------------------------- */

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    static const char *const keys[] = {
        "source", "layers", "seed", "size", "center", "node_radius", "io_radius", "glow",
        "link_alpha", "steps_per_frame", "warmup_steps", "refresh_every", "labels",
        "focus_metric", "damping", NULL};
    static const char *const sources[] = {"auto", "model", "synthetic", NULL};
    const nnxr_config_api *c = host->service(host, NNXR_SERVICE_CONFIG);
    if (!c)
        return nnxr_failp(err, "the host has no config service");
    graph_view *g = calloc(1, sizeof *g);
    if (!g)
        return nnxr_failp(err, "out of memory");
    g->host = host;
    g->log = host->service(host, NNXR_SERVICE_LOG);
    g->metrics = host->service(host, NNXR_SERVICE_METRICS);
    g->params = nnxr_graph_params_default();
    static const int64_t def_layers[] = {784, 3, 4, 10};
    static const double origin[3] = {0, 0, 0};
    int64_t layers[MAX_LAYERS], seed, spf, warm, refresh;
    size_t nl, n3;
    double size, center[3], node_r, io_r, glow, alpha, damping;
    const char *source;
    if (!c->check_keys(cfg, keys, err) ||
        !c->get_string(cfg, "source", "auto", sources, &source, err) ||
        !c->get_int_array(cfg, "layers", def_layers, 4, 3, MAX_LAYERS, 1, 100000, layers, &nl,
                          err) ||
        !c->get_int(cfg, "seed", 1, 0, INT64_MAX, &seed, err) ||
        !c->get_float(cfg, "size", 1.2, 0.01, 1000.0, &size, err) ||
        !c->get_float_array(cfg, "center", origin, 3, 3, 3, -1e6, 1e6, center, &n3, err) ||
        !c->get_float(cfg, "node_radius", 0.06, 0.0001, 100.0, &node_r, err) ||
        !c->get_float(cfg, "io_radius", 0.11, 0.0001, 100.0, &io_r, err) ||
        !c->get_float(cfg, "glow", 1.0, 0.0, 10.0, &glow, err) ||
        !c->get_float(cfg, "link_alpha", 0.7, 0.0, 1.0, &alpha, err) ||
        !c->get_int(cfg, "steps_per_frame", 2, 0, 1000, &spf, err) ||
        !c->get_int(cfg, "warmup_steps", 300, 0, 100000, &warm, err) ||
        !c->get_int(cfg, "refresh_every", 1, 1, 100000, &refresh, err) ||
        !c->get_bool(cfg, "labels", true, &g->labels, err) ||
        !c->get_string(cfg, "focus_metric", "aiive.focus_layer", NULL, &g->focus_metric, err) ||
        !c->get_float(cfg, "damping", 0.2, 0.0, 1.0, &damping, err)) {
        free(g);
        return NULL;
    }
    for (size_t i = 0; i < nl; i++)
        g->synth_sizes[i] = (uint32_t)layers[i];
    g->synth_count = (uint32_t)nl;
    g->seed = (uint64_t)seed;
    g->size = (float)size;
    for (int i = 0; i < 3; i++)
        g->center[i] = (float)center[i];
    g->node_radius = (float)node_r;
    g->io_radius = (float)io_r;
    g->glow = (float)glow;
    g->link_alpha = (float)alpha;
    g->steps_per_frame = (uint32_t)spf;
    g->warmup_steps = (uint32_t)warm;
    g->refresh_every = (uint32_t)refresh;
    g->params.damping = (float)damping;

    g->model = host->service(host, NNXR_SERVICE_MODEL);
    if (!strcmp(source, "model") && !g->model) {
        free(g);
        return nnxr_failp(err,
                          "%s: source = \"model\", but this scene has no model service (set "
                          "[model] kind = \"mlp\", or source = \"synthetic\")",
                          c->describe(cfg));
    }
    g->use_model = g->model && strcmp(source, "synthetic");
    if (g->use_model) {
        nnxr_model_info info = {.size = sizeof info};
        nnxr_error probe;
        if (!g->model->info(g->model->ctx, &info, &probe) || info.kind != NNXR_MODEL_MLP) {
            if (!strcmp(source, "model")) {
                free(g);
                return nnxr_failp(err,
                                  "%s: source = \"model\", but the scene's model is not an "
                                  "MLP",
                                  c->describe(cfg));
            }
            g->use_model = false;
        }
    }

    g->gpu = host->service(host, NNXR_SERVICE_GPU);
    g->r = host->service(host, NNXR_SERVICE_RENDER);
    if (!g->gpu || !g->r || g->r->size < sizeof(nnxr_render_api)) {
        free(g);
        return nnxr_failp(err, "the host has no GPU or render service (is there a Vulkan device "
                               "with graphics?)");
    }
    if (!g->r->create(host, &g->draw, err)) {
        free(g);
        return NULL;
    }
    nnxr_draw_batch_desc nd = {.name = "graph nodes", .kind = NNXR_DRAW_SPHERES,
                               .capacity = 64, .style = {.glow = g->glow}};
    nnxr_draw_batch_desc ld = {.name = "graph links", .kind = NNXR_DRAW_LINES, .capacity = 256};
    nnxr_draw_batch_desc td = {.name = "graph labels", .kind = NNXR_DRAW_TEXT, .capacity = 64,
                               .style = {.space = NNXR_SPACE_BILLBOARD}};
    nnxr_draw_batch_desc pd = {.name = "pause marker", .kind = NNXR_DRAW_SPHERES,
                               .capacity = 1, .style = {.glow = 0.5f}};
    if (!g->r->batch_create(g->draw, &nd, &g->nodes, err) ||
        !g->r->batch_create(g->draw, &ld, &g->links, err) ||
        !g->r->batch_create(g->draw, &td, &g->text, err) ||
        !g->r->batch_create(g->draw, &pd, &g->pause, err)) {
        destroy(g);
        return NULL;
    }
    if (!g->use_model) {
        if (!make_synthetic(g, err)) {
            destroy(g);
            return NULL;
        }
        nnxr_graph_step(&g->graph, &g->params, g->warmup_steps);
    }
    return g;
}

/* ---- per frame ------------------------------------------------------------------------- */

static void set4(float *dst, const float rgb[3], float a)
{
    dst[0] = rgb[0];
    dst[1] = rgb[1];
    dst[2] = rgb[2];
    dst[3] = a;
}

/* Graph coordinates → world: centred on the centre of mass, fitted into `size` (the scale
 * stays as it is while paused: the picture freezes with the layout). */
static void fit(graph_view *g, float com[3], bool paused)
{
    const nnxr_graph *gr = &g->graph;
    com[0] = com[1] = com[2] = 0;
    for (uint32_t i = 0; i < gr->node_count; i++)
        for (int a = 0; a < 3; a++)
            com[a] += gr->pos[i][a] / (float)gr->node_count;
    float r = 0;
    for (uint32_t i = 0; i < gr->node_count; i++) {
        float d2 = 0;
        for (int a = 0; a < 3; a++)
            d2 += (gr->pos[i][a] - com[a]) * (gr->pos[i][a] - com[a]);
        r = fmaxf(r, sqrtf(d2));
    }
    float target = r > 1e-6f && isfinite(r) ? g->size / r : 1.0f;
    if (paused && g->scale_set)
        return;
    /* Eased, so that a neuron flung out does not make the whole graph jump. */
    g->scale = g->scale_set ? g->scale + 0.15f * (target - g->scale) : target;
    g->scale_set = true;
}

static void world(const graph_view *g, const float com[3], const float p[3], float out[3])
{
    for (int a = 0; a < 3; a++)
        out[a] = g->center[a] + g->scale * (p[a] - com[a]);
}

static void build_instances(graph_view *g, bool paused)
{
    const nnxr_graph *gr = &g->graph;
    nnxr_error err;
    float com[3];
    fit(g, com, paused);
    double focus_v = -1;
    int focus = -1;
    if (g->metrics && g->focus_metric[0] && g->metrics->latest(g->host, g->focus_metric, &focus_v))
        focus = (int)focus_v;

    if (!g->r->batch_resize(g->draw, g->nodes, gr->node_count, &err) ||
        !g->r->batch_resize(g->draw, g->links, gr->link_count, &err)) {
        nnxr_logf(g->log, g->host, NNXR_LEVEL_ERROR, "graph view: %s", err.message);
        return;
    }
    nnxr_sphere *s = g->r->batch_data(g->draw, g->nodes);
    for (uint32_t i = 0; s && i < gr->node_count; i++) {
        uint32_t l = gr->layer_of[i];
        float rgb[3];
        float radius = g->node_radius;
        if (l == 0) {
            nnxr_color_role(NNXR_ROLE_INPUT, rgb);
            radius = g->io_radius;
        } else if (l == gr->hidden + 1) {
            nnxr_color_role(NNXR_ROLE_OUTPUT, rgb);
            radius = g->io_radius;
        } else {
            nnxr_color_role(nnxr_role_of_hidden(l - 1), rgb);
            if (focus >= 0 && (uint32_t)focus == l - 1)
                radius *= 1.6f;
        }
        world(g, com, gr->pos[i], s[i].pos);
        s[i].radius = radius;
        set4(s[i].color, rgb, 1.0f);
    }
    nnxr_line *k = g->r->batch_data(g->draw, g->links);
    float white[3];
    nnxr_color_role(NNXR_ROLE_LINK, white);
    for (uint32_t m = 0; k && m < gr->link_count; m++) {
        const nnxr_graph_link *lk = &gr->links[m];
        world(g, com, gr->pos[lk->a], k[m].a);
        world(g, com, gr->pos[lk->b], k[m].b);
        float norm = isfinite(lk->norm) ? fminf(fmaxf(lk->norm, 0.0f), 1.0f) : 0.0f;
        set4(k[m].color, white, g->link_alpha * norm);
    }

    g->r->batch_resize(g->draw, g->text, 0, &err);
    if (g->labels) {
        float above = g->io_radius * 1.6f;
        float th = g->size * 0.07f;
        float grey[4] = {0.75f, 0.75f, 0.75f, 1.0f};
        char label[64];
        float p[3];
        world(g, com, gr->pos[0], p);
        p[1] += above;
        snprintf(label, sizeof label, "input %u", g->in_size);
        g->r->text_add(g->draw, g->text, label, p, th, grey,
                       NNXR_ALIGN_CENTER | NNXR_ALIGN_BOTTOM, &err);
        world(g, com, gr->pos[gr->node_count - 1], p);
        p[1] += above;
        snprintf(label, sizeof label, "output %u", g->out_size);
        g->r->text_add(g->draw, g->text, label, p, th, grey,
                       NNXR_ALIGN_CENTER | NNXR_ALIGN_BOTTOM, &err);
        for (uint32_t l = 0; l < gr->hidden; l++) {
            float c[3] = {0, 0, 0}, top = -INFINITY;
            for (uint32_t n = 0; n < gr->sizes[l]; n++) {
                float w[3];
                world(g, com, gr->pos[gr->first[l] + n], w);
                for (int a = 0; a < 3; a++)
                    c[a] += w[a] / (float)gr->sizes[l];
                top = fmaxf(top, w[1]);
            }
            c[1] = top + g->node_radius * 2.5f;
            snprintf(label, sizeof label, "%s%u", focus == (int)l ? "> " : "", gr->sizes[l]);
            g->r->text_add(g->draw, g->text, label, c, th, grey,
                           NNXR_ALIGN_CENTER | NNXR_ALIGN_BOTTOM, &err);
        }
    }
    g->r->batch_resize(g->draw, g->pause, 0, &err);
    if (paused) {
        nnxr_sphere m = {{g->center[0], g->center[1], g->center[2]}, g->size * 0.18f,
                         {1.0f, 1.0f, 1.0f, 0.18f}};
        g->r->batch_write(g->draw, g->pause, 0, &m, 1, &err);
        float p[3] = {g->center[0], g->center[1] + g->size * 1.15f, g->center[2]};
        float red[4] = {1.0f, 0.25f, 0.2f, 1.0f};
        g->r->text_add(g->draw, g->text, "PAUSED", p, g->size * 0.12f, red,
                       NNXR_ALIGN_CENTER | NNXR_ALIGN_BOTTOM, &err);
    }
}

static void update(void *self, const nnxr_frame *frame)
{
    graph_view *g = self;
    nnxr_error err;
    err.message[0] = '\0';
    if (g->use_model) {
        bool reread = !frame->paused && g->frames % g->refresh_every == 0;
        bool first = !g->have_graph;
        if (!sync_model(g, reread, &err)) {
            if (!g->warned)
                nnxr_logf(g->log, g->host, NNXR_LEVEL_WARN, "graph view: %s", err.message);
            g->warned = true;
            g->frames++;
            return;
        }
        if (first)
            nnxr_graph_step(&g->graph, &g->params, g->warmup_steps);
    }
    g->frames++;
    if (!g->have_graph)
        return;
    if (!frame->paused)
        nnxr_graph_step(&g->graph, &g->params, g->steps_per_frame);
    build_instances(g, frame->paused);
}

static bool prepare(void *self, const nnxr_render_target_info *target, nnxr_error *err)
{
    graph_view *g = self;
    return g->r->prepare(g->draw, target, err);
}

static void record_draw(void *self, VkCommandBuffer cmd, const nnxr_view *view,
                        const nnxr_frame *frame)
{
    (void)frame;
    graph_view *g = self;
    /* Links first: the node spheres then cover the links' ends. */
    g->r->record(g->draw, g->links, cmd, view);
    g->r->record(g->draw, g->nodes, cmd, view);
    g->r->record(g->draw, g->text, cmd, view);
    g->r->record(g->draw, g->pause, cmd, view);
}

static void release(void *self)
{
    graph_view *g = self;
    g->r->release(g->draw);
}

static const void *extension(void *self, const char *id)
{
    (void)self;
    static const nnxr_update_ext update_ext = {update};
    static const nnxr_draw_ext draw_ext = {prepare, record_draw, release};
    if (!strcmp(id, NNXR_EXT_UPDATE))
        return &update_ext;
    if (!strcmp(id, NNXR_EXT_DRAW))
        return &draw_ext;
    return NULL;
}

NNXR_EXPORT const nnxr_plugin_entry nnxr_entry = {
    .abi_version = NNXR_ABI_VERSION,
    .id = "nnxr.graph_view",
    .description = "AIive's graph: neurons as glowing spheres, links faded by weight, "
                   "force-directed, live",
    .create = create,
    .destroy = destroy,
    .extension = extension,
};
