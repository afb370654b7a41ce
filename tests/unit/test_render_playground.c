/* tests/unit/test_render_playground.c — the playground plugin (plugins/playground, the .so
 * the build made) through its real ABI, driven by the plugin test host (test_plugin_host.h)
 * with this test's fake "nnxr.model" service holding an MLP whose weights live in a GPU
 * buffer, with playground data in host memory. Checked:
 *   - the GPU grid pass against a CPU forward pass in double on the weights read back, for
 *     every unit at several grid points (relative 1e-4, absolute below 1), for all seven
 *     features and tanh, relu and sigmoid layers;
 *   - the picture: each heatmap pixel sampled has the colour the CPU forward pass gives it
 *     (tanh as is, sigmoid 2v - 1, relu over its grid maximum, output p1 - p0);
 *   - issue 5: with weights that separate the classes at x1 = 0, the output heatmap is blue
 *     (class 1's colour) right and red (class 0's) left, and the points are drawn where they
 *     belong (a misclassified test point shows red on the blue side);
 *   - surgery (a new generation with another width and depth) re-lays the heatmaps out;
 *   - the grid is recomputed when the step changes, not otherwise;
 *   - a regression model's output is its value; config keys are validated. */
#include "test_plugin_host.h"

#include "playground.h"

#define MAXL 8

/* ---- the fake model ---------------------------------------------------------------------- */

typedef struct fake_model {
    nnxr_gpu *gpu;
    nnxr_buffer *params;
    nnxr_model_layer layers[MAXL];
    uint32_t layer_count;
    uint32_t sizes[MAXL + 1];
    nnxr_model_act acts[MAXL];
    uint32_t classes;
    uint64_t generation;
    float *w; /* host copy of the params */
    size_t total;
    /* data */
    const char *features[8];
    uint32_t nf;
    float train_xy[64], eval_xy[64], train_t[32];
    uint8_t train_l[32], eval_l[32];
    uint32_t train_n, eval_n;
} fake_model;

/* sizes[0] inputs, sizes[1..n] layer outputs; weights uniform in ±scale (seeded). */
static void model_build(fake_model *m, const uint32_t *sizes, const nnxr_model_act *acts,
                        uint32_t n, uint32_t classes, float scale, uint32_t seed)
{
    nnxr_buffer_destroy(m->gpu, m->params);
    free(m->w);
    m->layer_count = n;
    m->classes = classes;
    memcpy(m->sizes, sizes, (n + 1) * sizeof *sizes);
    memcpy(m->acts, acts, n * sizeof *acts);
    size_t total = 0;
    for (uint32_t l = 0; l < n; l++)
        total += (size_t)sizes[l] * sizes[l + 1] + sizes[l + 1];
    /* Offset the layers in the buffer a little, as a real params buffer may hold more. */
    total += 3;
    m->total = total;
    m->w = calloc(total, sizeof *m->w);
    for (size_t i = 3; i < total; i++)
        m->w[i] = scale * (2.0f * tg_uniform(&seed) - 1.0f);
    m->params = tg_buffer(m->gpu, "fake params", NNXR_BUFFER_DEVICE, total * 4);
    nnxr_error err;
    CHECK(nnxr_buffer_upload(m->gpu, m->params, 0, m->w, total * 4, &err));
    size_t off = 3;
    for (uint32_t l = 0; l < n; l++) {
        nnxr_model_layer *L = &m->layers[l];
        memset(L, 0, sizeof *L);
        snprintf(L->name, sizeof L->name, "dense%u", l);
        L->kind = NNXR_LAYER_DENSE;
        L->act = acts[l];
        L->in_c = sizes[l], L->in_h = L->in_w = 1;
        L->out_c = sizes[l + 1], L->out_h = L->out_w = 1;
        size_t nw = (size_t)L->in_c * L->out_c;
        L->weights = (nnxr_model_region){m->params, off * 4, nw * 4};
        off += nw;
        L->biases = (nnxr_model_region){m->params, off * 4, (size_t)L->out_c * 4};
        off += L->out_c;
    }
    m->generation++;
}

/* Float index of W[o][k] and b[o] of layer l. */
static size_t w_at(const fake_model *m, uint32_t l, uint32_t o, uint32_t k)
{
    return m->layers[l].weights.offset / 4 + (size_t)o * m->sizes[l] + k;
}
static size_t b_at(const fake_model *m, uint32_t l, uint32_t o)
{
    return m->layers[l].biases.offset / 4 + o;
}

static void model_upload(fake_model *m)
{
    nnxr_error err;
    CHECK(nnxr_buffer_upload(m->gpu, m->params, 0, m->w, m->total * 4, &err));
}

static bool model_info(void *ctx, nnxr_model_info *out, nnxr_error *err)
{
    (void)err;
    fake_model *m = ctx;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->generation = m->generation;
    out->kind = NNXR_MODEL_MLP;
    out->in_c = m->sizes[0], out->in_h = out->in_w = 1;
    out->classes = m->classes;
    out->outputs = m->sizes[m->layer_count];
    out->layer_count = m->layer_count;
    out->layers = m->layers;
    return true;
}

static uint64_t model_generation(void *ctx) { return ((fake_model *)ctx)->generation; }

static bool model_data(void *ctx, nnxr_model_data *out, nnxr_error *err)
{
    (void)err;
    fake_model *m = ctx;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->scale = 1.0f;
    out->train = (nnxr_model_host_set){.count = m->train_n, .xy = m->train_xy,
                                       .labels = m->classes ? m->train_l : NULL,
                                       .targets = m->classes ? NULL : m->train_t};
    out->eval = (nnxr_model_host_set){.count = m->eval_n, .xy = m->eval_xy,
                                      .labels = m->classes ? m->eval_l : NULL};
    out->feature_count = m->nf;
    for (uint32_t i = 0; i < m->nf; i++)
        out->features[i] = m->features[i];
    out->domain = 6.0f;
    return true;
}

/* ---- the CPU oracle ------------------------------------------------------------------------ */

static double feature(const char *name, double x1, double x2)
{
    if (!strcmp(name, "x1"))
        return x1;
    if (!strcmp(name, "x2"))
        return x2;
    if (!strcmp(name, "x1^2"))
        return x1 * x1;
    if (!strcmp(name, "x2^2"))
        return x2 * x2;
    if (!strcmp(name, "x1x2"))
        return x1 * x2;
    if (!strcmp(name, "sin_x1"))
        return sin(x1);
    return sin(x2);
}

static double act(nnxr_model_act a, double s)
{
    switch (a) {
    case NNXR_ACT_RELU: return s > 0 ? s : 0;
    case NNXR_ACT_TANH: return tanh(s);
    case NNXR_ACT_SIGMOID: return 1.0 / (1.0 + exp(-s));
    default: return s;
    }
}

/* Every unit's value at (x1, x2) from weights w (the params as read back): features, then
 * each layer's outputs. Returns the unit count. */
static uint32_t cpu_forward(const fake_model *m, const float *w, float x1, float x2,
                            double *units)
{
    double a[64], b[64];
    uint32_t u = 0;
    for (uint32_t f = 0; f < m->nf; f++)
        units[u++] = a[f] = feature(m->features[f], x1, x2);
    for (uint32_t l = 0; l < m->layer_count; l++) {
        for (uint32_t o = 0; o < m->sizes[l + 1]; o++) {
            double s = w[b_at(m, l, o)];
            for (uint32_t k = 0; k < m->sizes[l]; k++)
                s += (double)w[w_at(m, l, o, k)] * a[k];
            units[u++] = b[o] = act(m->acts[l], s);
        }
        memcpy(a, b, m->sizes[l + 1] * sizeof *a);
    }
    return u;
}

/* The grid point of cell (row, col) as the plugin defines it (playground.h). */
static void grid_point(const nnxr_playground_grid *g, uint32_t row, uint32_t col, float *x1,
                       float *x2)
{
    float cell = (g->hi - g->lo) / (float)g->resolution;
    *x1 = g->lo + ((float)col + 0.5f) * cell;
    *x2 = g->hi - ((float)row + 0.5f) * cell;
}

/* The heatmaps' colour of a display value in [-1, 1] (+1 blue, -1 red), linear RGB; the
 * stops of shaders/include/render/common.glsl's diverging(). */
static void diverging(double v, float out[3])
{
    double t = (1.0 - v) * 0.5;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    static const double blue[3] = {0.13, 0.35, 0.85}, white[3] = {0.97, 0.97, 0.97},
                        red[3] = {0.85, 0.15, 0.12};
    for (int i = 0; i < 3; i++) {
        double s = t < 0.5 ? blue[i] + (white[i] - blue[i]) * t * 2.0
                           : white[i] + (red[i] - white[i]) * (t * 2.0 - 1.0);
        out[i] = nnxr_srgb_to_linear((float)s);
    }
}

/* ---- the host ---------------------------------------------------------------------------- */

typedef struct test_host {
    tph_host h; /* the model service while h.model points at model_api */
    fake_model model;
    nnxr_model_api model_api;
} test_host;

typedef struct loaded {
    tph_plugin pl;
    const nnxr_playground_probe_ext *probe;
} loaded;

/* Creates the plugin with the [[plugin]] table body `toml`; NULL self with err on failure. */
static bool create_plugin(test_host *t, const char *toml, loaded *p, nnxr_error *err)
{
    p->probe = NULL;
    return tph_create(&t->h, "nnxr.playground", toml, &p->pl, err);
}

static bool load(test_host *t, tr_scene *s, const char *toml, loaded *p)
{
    p->probe = NULL;
    if (!tph_load(&t->h, s, "nnxr.playground", toml, TPH_NEED_UPDATE | TPH_NEED_COMPUTE, &p->pl))
        return false;
    p->probe = p->pl.lib.entry->extension(p->pl.self, NNXR_PLAYGROUND_PROBE);
    if (!p->probe)
        fprintf(stderr, "nnxr.playground: no %s extension\n", NNXR_PLAYGROUND_PROBE);
    return p->probe != NULL;
}

/* The grid the plugin computed, read back; NULL on failure. */
static float *grid_values(loaded *p, nnxr_playground_grid *g)
{
    nnxr_error err;
    if (!p->probe->grid(p->pl.self, g, NULL, 0, &err)) {
        CHECKF(false, "%s", err.message);
        return NULL;
    }
    size_t n = (size_t)g->units * g->resolution * g->resolution;
    float *v = tg_alloc(n * 4);
    if (!p->probe->grid(p->pl.self, g, v, n, &err)) {
        CHECKF(false, "%s", err.message);
        free(v);
        return NULL;
    }
    return v;
}

/* The GPU grid against the CPU forward at corners, centre and seeded points; returns the
 * number of values compared. */
static int check_oracle(loaded *p, const fake_model *m, const char *what)
{
    nnxr_playground_grid g;
    float *v = grid_values(p, &g);
    if (!v)
        return 0;
    float *w = tg_alloc(m->total * 4);
    nnxr_error err;
    CHECK(nnxr_buffer_readback(m->gpu, m->params, 0, w, m->total * 4, &err));
    uint32_t R = g.resolution, n = R * R;
    uint32_t pts[8][2] = {{0, 0}, {0, R - 1}, {R - 1, 0}, {R - 1, R - 1}, {R / 2, R / 2}};
    uint32_t seed = 99;
    for (int i = 5; i < 8; i++) {
        pts[i][0] = tg_rand(&seed) % R;
        pts[i][1] = tg_rand(&seed) % R;
    }
    int compared = 0, bad = 0;
    for (int i = 0; i < 8; i++) {
        float x1, x2;
        grid_point(&g, pts[i][0], pts[i][1], &x1, &x2);
        double units[256];
        uint32_t u = cpu_forward(m, w, x1, x2, units);
        CHECKF(u == g.units, "%s: %u units, the plugin has %u", what, u, g.units);
        for (uint32_t k = 0; k < u && k < g.units; k++) {
            double gpu = v[(size_t)k * n + pts[i][0] * R + pts[i][1]];
            double den = fmax(fabs(units[k]), 1.0);
            compared++;
            if (!(fabs(gpu - units[k]) <= 1e-4 * den)) {
                if (bad++ < 5)
                    fprintf(stderr, "%s: unit %u at (%g, %g): gpu %.9g cpu %.9g\n", what, k,
                            x1, x2, gpu, units[k]);
            }
        }
    }
    CHECKF(bad == 0, "%s: %d of %d unit values off the CPU forward pass", what, bad, compared);
    free(w);
    free(v);
    return compared;
}

/* The pixel at the centre of grid cell (row, col) of heatmap `cell`. */
static void cell_pixel(loaded *p, const nnxr_playground_grid *g, uint32_t cell, uint32_t row,
                       uint32_t col, int *x, int *y)
{
    float r[4] = {0, 0, 0, 0};
    CHECK(p->probe->cell_rect(p->pl.self, cell, r));
    *x = (int)floorf(r[0] + ((float)col + 0.5f) * r[2] / (float)g->resolution);
    *y = (int)floorf(r[1] + ((float)row + 0.5f) * r[3] / (float)g->resolution);
}

/* ---- tests --------------------------------------------------------------------------------- */

static const char *const all7[7] = {"x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"};

static void set_features(fake_model *m, const char *const *names, uint32_t n)
{
    m->nf = n;
    for (uint32_t i = 0; i < n; i++)
        m->features[i] = names[i];
}

/* A neuron removed from the first hidden layer (and two): a new generation, new buffer. */
static void surgery_between(void *arg)
{
    fake_model *m = arg;
    uint32_t sizes[4] = {7, 3, 4, 2};
    nnxr_model_act acts[3] = {NNXR_ACT_RELU, NNXR_ACT_TANH, NNXR_ACT_LINEAR};
    model_build(m, sizes, acts, 3, 2, 0.6f, 13);
}

/* All seven features, tanh, relu and sigmoid layers: the oracle and each heatmap's colour. */
static void test_oracle_and_colours(tr_scene *s, test_host *t)
{
    fake_model *m = &t->model;
    set_features(m, all7, 7);
    m->train_n = m->eval_n = 0;
    uint32_t sizes[5] = {7, 5, 4, 3, 2};
    nnxr_model_act acts[4] = {NNXR_ACT_TANH, NNXR_ACT_RELU, NNXR_ACT_SIGMOID, NNXR_ACT_LINEAR};
    model_build(m, sizes, acts, 4, 2, 0.6f, 11);
    loaded p;
    if (!load(t, s, "resolution = 32\nlinks = false\nlabels = false\nidle_every = 0\n", &p)) {
        CHECK(false);
        tph_unload(&p.pl);
        return;
    }
    nnxr_frame f = {.train_step = 1};
    tph_frame(s, &p.pl, &f);
    nnxr_playground_grid g;
    float *v = grid_values(&p, &g);
    if (!v) {
        tph_unload(&p.pl);
        return;
    }
    CHECKF(g.units == 7 + 5 + 4 + 3 + 2 && g.cells == 7 + 5 + 4 + 3 + 1 && g.features == 7 &&
               g.resolution == 32 && g.lo == -6.0f && g.hi == 6.0f,
           "grid: %u units, %u cells, %u features, res %u, [%g, %g]", g.units, g.cells,
           g.features, g.resolution, g.lo, g.hi);
    int compared = check_oracle(&p, m, "7 features, tanh-relu-sigmoid");
    CHECKF(compared == 8 * 21, "%d values compared", compared);

    /* Colours: every cell at a few grid points is diverging(display value). */
    uint32_t R = g.resolution, n = R * R;
    int hits = 0, want = 0;
    uint32_t cell = 0, unit = 0;
    for (uint32_t layer = 0; layer <= 4; layer++) {
        uint32_t width = sizes[layer];
        bool output = layer == 4;
        for (uint32_t o = 0; o < (output ? 1u : width); o++, cell++) {
            double mx = 0;
            for (uint32_t i = 0; i < n; i++)
                mx = fmax(mx, fabs(v[(size_t)(unit + o) * n + i]));
            static const uint32_t rc[4][2] = {{3, 5}, {16, 16}, {28, 9}, {10, 27}};
            for (int k = 0; k < 4; k++) {
                size_t i = (size_t)rc[k][0] * R + rc[k][1];
                double x = v[(size_t)(unit + o) * n + i], d;
                nnxr_model_act a = layer == 0 ? NNXR_ACT_LINEAR : acts[layer - 1];
                if (output)
                    d = tanh(0.5 * (v[(size_t)(unit + 1) * n + i] - x));
                else if (layer == 0 || a == NNXR_ACT_RELU || a == NNXR_ACT_LINEAR)
                    d = mx > 0 ? x / mx : 0;
                else if (a == NNXR_ACT_SIGMOID)
                    d = 2 * x - 1;
                else
                    d = x;
                float c[3];
                diverging(d, c);
                int px, py;
                cell_pixel(&p, &g, cell, rc[k][0], rc[k][1], &px, &py);
                want++;
                bool ok = tr_near(tr_px(s, px, py), c, 4);
                hits += ok;
                if (!ok) {
                    const uint8_t *q = tr_px(s, px, py);
                    fprintf(stderr, "cell %u (%d, %d): %d %d %d, want %d %d %d (value %g)\n",
                            cell, px, py, q[0], q[1], q[2], tr_srgb8(c[0]), tr_srgb8(c[1]),
                            tr_srgb8(c[2]), d);
                }
            }
        }
        unit += width;
    }
    CHECKF(hits == want, "heatmap colours: %d of %d pixels as the CPU forward says", hits, want);
    free(v);

    /* Surgery: a neuron more in the first hidden layer and one layer less. */
    uint32_t sizes2[4] = {7, 6, 4, 2};
    nnxr_model_act acts2[3] = {NNXR_ACT_RELU, NNXR_ACT_TANH, NNXR_ACT_LINEAR};
    model_build(m, sizes2, acts2, 3, 2, 0.6f, 12);
    tph_frame(s, &p.pl, &f);
    CHECK(p.probe->grid(p.pl.self, &g, NULL, 0, &(nnxr_error){{0}}));
    CHECKF(g.cells == 7 + 6 + 4 + 1 && g.units == 7 + 6 + 4 + 2 && g.generation == m->generation,
           "after surgery: %u cells, %u units, generation %llu (model %llu)", g.cells, g.units,
           (unsigned long long)g.generation, (unsigned long long)m->generation);
    check_oracle(&p, m, "after surgery 7-6-4-2");
    /* Every heatmap is drawn: its centre pixel is not the background. */
    int drawn = 0;
    for (uint32_t c = 0; c < g.cells; c++) {
        int px, py;
        cell_pixel(&p, &g, c, R / 2, R / 2, &px, &py);
        const uint8_t *q = tr_px(s, px, py);
        drawn += q[0] + q[1] + q[2] > 120;
    }
    CHECKF(drawn == (int)g.cells, "after surgery: %d of %u heatmaps drawn", drawn, g.cells);
    /* Rects do not overlap and stay on screen. */
    int overlaps = 0, outside = 0;
    for (uint32_t a = 0; a < g.cells; a++) {
        float ra[4];
        p.probe->cell_rect(p.pl.self, a, ra);
        outside += ra[0] < 0 || ra[1] < 0 || ra[0] + ra[2] > (float)s->w ||
                   ra[1] + ra[3] > (float)s->h;
        for (uint32_t b = a + 1; b < g.cells; b++) {
            float rb[4];
            p.probe->cell_rect(p.pl.self, b, rb);
            overlaps += ra[0] < rb[0] + rb[2] && rb[0] < ra[0] + ra[2] &&
                        ra[1] < rb[1] + rb[3] && rb[1] < ra[1] + ra[3];
        }
    }
    CHECKF(overlaps == 0 && outside == 0, "layout: %d overlaps, %d outside the view", overlaps,
           outside);

    /* Surgery applied as the app does, between update and compute (the old parameter
     * buffer is destroyed then): the grid follows at once. */
    tph_frame_ex(s, &p.pl, &f, surgery_between, m);
    CHECK(p.probe->grid(p.pl.self, &g, NULL, 0, &(nnxr_error){{0}}));
    CHECKF(g.cells == 7 + 3 + 4 + 1 && g.generation == m->generation,
           "surgery between update and compute: %u cells, generation %llu (model %llu)",
           g.cells, (unsigned long long)g.generation, (unsigned long long)m->generation);
    check_oracle(&p, m, "after surgery between update and compute");
    tph_frame(s, &p.pl, &f);

    /* Recomputed when the step changes, not otherwise. */
    for (size_t i = 3; i < m->total; i++)
        m->w[i] = -m->w[i];
    model_upload(m);
    tph_frame(s, &p.pl, &f);
    nnxr_playground_grid g2;
    CHECK(p.probe->grid(p.pl.self, &g2, NULL, 0, &(nnxr_error){{0}}));
    CHECKF(g2.step == 1, "same step: not recomputed (computed at step %llu)",
           (unsigned long long)g2.step);
    f.train_step = 2;
    tph_frame(s, &p.pl, &f);
    CHECK(p.probe->grid(p.pl.self, &g2, NULL, 0, &(nnxr_error){{0}}));
    CHECKF(g2.step == 2, "new step: recomputed (at step %llu)", (unsigned long long)g2.step);
    check_oracle(&p, m, "after a weight change");
    tph_unload(&p.pl);

    /* With idle_every, weights set without a step (by hand, paused) show within N frames. */
    if (!load(t, s, "resolution = 16\nidle_every = 2\n", &p)) {
        CHECK(false);
        tph_unload(&p.pl);
        return;
    }
    f.paused = true;
    tph_frame(s, &p.pl, &f);
    for (size_t i = 3; i < m->total; i++)
        m->w[i] *= 0.5f;
    model_upload(m);
    tph_frame(s, &p.pl, &f);
    tph_frame(s, &p.pl, &f);
    check_oracle(&p, m, "paused, weights set by hand, idle_every = 2");
    tph_unload(&p.pl);
}

/* Issue 5: a linearly separable set, the classes on the right sides, points where they are. */
static void test_separable(tr_scene *s, test_host *t)
{
    fake_model *m = &t->model;
    static const char *const xy[2] = {"x1", "x2"};
    set_features(m, xy, 2);
    uint32_t seed = 5;
    m->train_n = 20;
    for (uint32_t i = 0; i < m->train_n; i++) {
        bool one = i % 2;
        m->train_xy[2 * i] = (one ? 1.0f : -1.0f) * (2.0f + 3.0f * tg_uniform(&seed));
        m->train_xy[2 * i + 1] = -5.0f + 10.0f * tg_uniform(&seed);
        m->train_l[i] = one;
    }
    /* Test points: one of class 0 on class 1's side (misclassified). */
    m->eval_n = 1;
    m->eval_xy[0] = 4.0f, m->eval_xy[1] = -4.0f;
    m->eval_l[0] = 0;
    uint32_t sizes[3] = {2, 3, 2};
    nnxr_model_act acts[2] = {NNXR_ACT_TANH, NNXR_ACT_LINEAR};
    model_build(m, sizes, acts, 2, 2, 0.0f, 1);
    /* h0 = tanh(0.5 x1); z1 - z0 = 4 h0: class 1 right of x1 = 0. */
    m->w[w_at(m, 0, 0, 0)] = 0.5f;
    m->w[w_at(m, 1, 0, 0)] = -2.0f;
    m->w[w_at(m, 1, 1, 0)] = 2.0f;
    model_upload(m);
    loaded p;
    if (!load(t, s, "resolution = 48\nshow_test = true\npoint_px = 4\noutput_px = 300\n", &p)) {
        CHECK(false);
        tph_unload(&p.pl);
        return;
    }
    nnxr_frame f = {.train_step = 7};
    tph_frame(s, &p.pl, &f);
    nnxr_playground_grid g;
    CHECK(p.probe->grid(p.pl.self, &g, NULL, 0, &(nnxr_error){{0}}));
    float r[4];
    CHECK(p.probe->cell_rect(p.pl.self, g.cells - 1, r));
    float c0[3], c1[3];
    nnxr_color_class(0, c0);
    nnxr_color_class(1, c1);
    /* The side of each class has that class's hue: sample a grid of pixels away from points. */
    int right_blue = 0, left_red = 0, samples = 0;
    for (int gy = 1; gy < 10; gy++)
        for (int gx = 1; gx < 10; gx++) {
            if (gx == 5)
                continue;
            int px = (int)(r[0] + r[2] * (float)gx / 10.0f);
            int py = (int)(r[1] + r[3] * (float)gy / 10.0f);
            const uint8_t *q = tr_px(s, px, py);
            bool blue = q[2] > q[0] + 40, red = q[0] > q[2] + 40;
            float x1 = g.lo + (g.hi - g.lo) * (float)gx / 10.0f;
            if (fabsf(x1) < 1.5f)
                continue;
            samples++;
            if (x1 > 0)
                right_blue += blue;
            else
                left_red += red;
        }
    CHECKF(right_blue + left_red >= samples - 4 && samples > 50,
           "output: %d blue right + %d red left of %d samples", right_blue, left_red, samples);
    /* The class colours' hues agree with the heatmap's sides. */
    CHECK(c1[2] > c1[0] && c0[0] > c0[2]);
    /* The heatmap's exact colour at x1 = +-4.5 (value tanh(2 tanh(2.25))). */
    double d = tanh(2.0 * tanh(0.5 * 4.5));
    float want[3];
    diverging(d, want);
    int px = (int)(r[0] + r[2] * (4.5f + 6.0f) / 12.0f), py = (int)(r[1] + r[3] * 0.93f);
    CHECKF(tr_near(tr_px(s, px, py), want, 6), "output at x1 = 4.5: %d %d %d", tr_px(s, px, py)[0],
           tr_px(s, px, py)[1], tr_px(s, px, py)[2]);
    /* Points: each train point's centre has its class's hue, a white outline ring around. */
    int centre_ok = 0, ring_ok = 0;
    for (uint32_t i = 0; i < m->train_n; i++) {
        float x = r[0] + (m->train_xy[2 * i] + 6.0f) / 12.0f * r[2];
        float y = r[1] + (6.0f - m->train_xy[2 * i + 1]) / 12.0f * r[3];
        const uint8_t *q = tr_px(s, (int)x, (int)y);
        bool one = m->train_l[i];
        centre_ok += one ? (q[2] > q[0] + 60) : (q[0] > q[2] + 60);
        /* Just inside the outline's rim (radius 5; the fill is 4), towards the upper left
         * where the ball is lit. */
        const uint8_t *e = tr_px(s, (int)floorf(x - 3.2f), (int)floorf(y - 3.2f));
        ring_ok += e[0] > 150 && e[1] > 150 && e[2] > 150;
    }
    CHECKF(centre_ok == (int)m->train_n, "%d of %u points in their class colour", centre_ok,
           m->train_n);
    CHECKF(ring_ok >= (int)m->train_n - 2, "%d of %u points with a white outline", ring_ok,
           m->train_n);
    /* The misclassified test point shows red on the blue side, with a dark outline. */
    float tx = r[0] + (4.0f + 6.0f) / 12.0f * r[2], ty = r[1] + (6.0f + 4.0f) / 12.0f * r[3];
    const uint8_t *q = tr_px(s, (int)tx, (int)ty);
    CHECKF(q[0] > q[2] + 60, "test point of class 0 at (4, -4): %d %d %d", q[0], q[1], q[2]);
    const uint8_t *e = tr_px(s, (int)floorf(tx - 3.2f), (int)floorf(ty - 3.2f));
    CHECKF(e[0] + e[1] + e[2] < 60, "test point outline dark: %d %d %d", e[0], e[1], e[2]);
    /* Labels are drawn: light text pixels above the output heatmap. */
    int text = 0;
    for (int y = (int)r[1] - 22; y < (int)r[1] - 2; y++)
        for (int x = (int)r[0]; x < (int)(r[0] + 60); x++) {
            const uint8_t *c = tr_px(s, x, y);
            text += c[0] > 150 && c[1] > 150 && c[2] > 150;
        }
    CHECKF(text > 20, "the output's title: %d light pixels", text);
    tph_unload(&p.pl);

    /* World space: the same board as a panel of `size` world units at `center`, facing +z;
     * the output's colour where its grid cells project, the boundary at x1 = 0. */
    if (!load(t, s, "resolution = 16\nspace = \"world\"\nsize = 3.0\ncenter = [0.0, 0.2, 0.0]\n"
              "show_train = false\n", &p)) {
        CHECK(false);
        tph_unload(&p.pl);
        return;
    }
    tph_frame(s, &p.pl, &f);
    CHECK(p.probe->grid(p.pl.self, &g, NULL, 0, &(nnxr_error){{0}}));
    CHECK(p.probe->cell_rect(p.pl.self, g.cells - 1, r));
    int world_hits = 0;
    static const uint32_t rc[4][2] = {{2, 2}, {8, 13}, {13, 4}, {5, 10}};
    for (int k = 0; k < 4; k++) {
        float x1, x2;
        grid_point(&g, rc[k][0], rc[k][1], &x1, &x2);
        float c[3];
        diverging(tanh(2.0 * tanh(0.5 * (double)x1)), c);
        float wp[3] = {r[0] + r[2] * ((float)rc[k][1] + 0.5f) / (float)g.resolution,
                       r[1] - r[3] * ((float)rc[k][0] + 0.5f) / (float)g.resolution, 0.006f};
        int wx, wy;
        tr_project(s, wp, &wx, &wy);
        bool ok = tr_near(tr_px(s, wx, wy), c, 6);
        world_hits += ok;
        if (!ok)
            fprintf(stderr, "world (%g, %g) -> (%d, %d): %d %d %d\n", wp[0], wp[1], wx, wy,
                    tr_px(s, wx, wy)[0], tr_px(s, wx, wy)[1], tr_px(s, wx, wy)[2]);
    }
    CHECKF(world_hits == 4, "world space: %d of 4 output cells in their colour", world_hits);
    CHECKF(r[2] > 0.5f && r[2] < 3.0f && r[0] + r[2] <= 1.5f + 1e-4f,
           "world rect %g %g %g %g within the 3-unit board", r[0], r[1], r[2], r[3]);
    tph_unload(&p.pl);
}

static void test_regression(tr_scene *s, test_host *t)
{
    fake_model *m = &t->model;
    static const char *const feats[3] = {"x1", "x2", "x1x2"};
    set_features(m, feats, 3);
    m->train_n = 2;
    m->train_xy[0] = -3, m->train_xy[1] = 3, m->train_t[0] = -1.0f;
    m->train_xy[2] = 3, m->train_xy[3] = 3, m->train_t[1] = 1.0f;
    m->eval_n = 0;
    uint32_t sizes[3] = {3, 4, 1};
    nnxr_model_act acts[2] = {NNXR_ACT_TANH, NNXR_ACT_LINEAR};
    model_build(m, sizes, acts, 2, 0, 0.5f, 21);
    loaded p;
    if (!load(t, s, "resolution = 24\npoint_px = 5\n", &p)) {
        CHECK(false);
        tph_unload(&p.pl);
        return;
    }
    nnxr_frame f = {.train_step = 1};
    tph_frame(s, &p.pl, &f);
    check_oracle(&p, m, "regression 3-4-1");
    nnxr_playground_grid g;
    float *v = grid_values(&p, &g);
    if (v) {
        uint32_t R = g.resolution, n = R * R, out_unit = g.units - 1;
        int hits = 0;
        static const uint32_t rc[4][2] = {{2, 20}, {12, 12}, {20, 4}, {6, 17}};
        for (int k = 0; k < 4; k++) {
            float c[3];
            diverging(v[(size_t)out_unit * n + rc[k][0] * R + rc[k][1]], c);
            int px, py;
            cell_pixel(&p, &g, g.cells - 1, rc[k][0], rc[k][1], &px, &py);
            hits += tr_near(tr_px(s, px, py), c, 4);
        }
        CHECKF(hits == 4, "regression output: %d of 4 pixels show the value", hits);
        free(v);
    }
    /* Points coloured by their target: -1 red at (-3, 3), +1 blue at (3, 3). */
    float r[4];
    CHECK(p.probe->cell_rect(p.pl.self, g.cells - 1, r));
    const uint8_t *a = tr_px(s, (int)(r[0] + 0.25f * r[2]), (int)(r[1] + 0.25f * r[3]));
    const uint8_t *b = tr_px(s, (int)(r[0] + 0.75f * r[2]), (int)(r[1] + 0.25f * r[3]));
    CHECKF(a[0] > a[2] + 60 && b[2] > b[0] + 60, "regression points: %d %d %d / %d %d %d", a[0],
           a[1], a[2], b[0], b[1], b[2]);
    tph_unload(&p.pl);
}

/* The widest layers the view takes (64 units) against the oracle; `discretize` shows only
 * the output's sign: every output pixel is one end of the map. */
static void test_wide_discretized(tr_scene *s, test_host *t)
{
    fake_model *m = &t->model;
    static const char *const feats[3] = {"x1", "sin_x2", "x1^2"};
    set_features(m, feats, 3);
    m->train_n = m->eval_n = 0;
    uint32_t sizes[4] = {3, 64, 64, 2};
    nnxr_model_act acts[3] = {NNXR_ACT_SIGMOID, NNXR_ACT_TANH, NNXR_ACT_LINEAR};
    model_build(m, sizes, acts, 3, 2, 0.4f, 31);
    loaded p;
    if (!load(t, s, "resolution = 8\ndiscretize = true\nunit_px = 8\nunit_gap = 1\n", &p)) {
        CHECK(false);
        tph_unload(&p.pl);
        return;
    }
    nnxr_frame f = {.train_step = 1};
    tph_frame(s, &p.pl, &f);
    check_oracle(&p, m, "3-64-64-2");
    nnxr_playground_grid g;
    float *v = grid_values(&p, &g);
    if (v) {
        uint32_t n = 64, out0 = g.units - 2;
        int hits = 0;
        for (uint32_t row = 0; row < 8; row++)
            for (uint32_t col = 0; col < 8; col++) {
                size_t i = (size_t)row * 8 + col;
                double z = (double)v[(size_t)(out0 + 1) * n + i] - v[(size_t)out0 * n + i];
                float c[3];
                diverging(z > 0 ? 1.0 : z < 0 ? -1.0 : 0.0, c);
                int px, py;
                cell_pixel(&p, &g, g.cells - 1, row, col, &px, &py);
                hits += tr_near(tr_px(s, px, py), c, 4);
            }
        CHECKF(hits == 64, "discretized output: %d of 64 cells show the sign's colour", hits);
        free(v);
    }
    tph_unload(&p.pl);
}

static void test_config(test_host *t)
{
    loaded p;
    nnxr_error err;
    static const char *const xy[2] = {"x1", "x2"};
    set_features(&t->model, xy, 2);
    uint32_t sizes[3] = {2, 3, 2};
    nnxr_model_act acts[2] = {NNXR_ACT_TANH, NNXR_ACT_LINEAR};
    model_build(&t->model, sizes, acts, 2, 2, 0.5f, 3);
    CHECK(!create_plugin(t, "resolutoin = 32\n", &p, &err));
    CHECK_CONTAINS(err.message, "resolutoin");
    CHECK_CONTAINS(err.message, "resolution");
    tph_unload(&p.pl);
    CHECK(!create_plugin(t, "resolution = 4\n", &p, &err));
    CHECK_CONTAINS(err.message, "resolution");
    tph_unload(&p.pl);
    CHECK(!create_plugin(t, "space = \"sky\"\n", &p, &err));
    CHECK_CONTAINS(err.message, "space");
    tph_unload(&p.pl);
    /* A model the view cannot show is refused at create, naming the reason. */
    uint32_t wide[3] = {2, 100, 2};
    model_build(&t->model, wide, acts, 2, 2, 0.5f, 3);
    CHECK(!create_plugin(t, "", &p, &err));
    CHECK_CONTAINS(err.message, "100 units");
    tph_unload(&p.pl);
    /* Without a model service. */
    t->h.model = NULL;
    CHECK(!create_plugin(t, "", &p, &err));
    CHECK_CONTAINS(err.message, "needs a model");
    tph_unload(&p.pl);
    t->h.model = &t->model_api;
}

int main(void)
{
    tr_scene s;
    tr_open(&s, 800, 450, 1);
    test_host t;
    memset(&t, 0, sizeof t);
    tph_init(&t.h, s.gpu);
    t.h.echo_level = NNXR_LEVEL_WARN;
    t.h.dump_name = "playground";
    t.model.gpu = s.gpu;
    t.model_api = (nnxr_model_api){&t.model, sizeof t.model_api, model_info, model_generation,
                                   NULL, model_data};
    t.h.model = &t.model_api;
    test_config(&t);
    test_oracle_and_colours(&s, &t);
    test_separable(&s, &t);
    test_regression(&s, &t);
    test_wide_discretized(&s, &t);
    nnxr_buffer_destroy(s.gpu, t.model.params);
    free(t.model.w);
    tr_close(&s);
    return check_finish();
}
