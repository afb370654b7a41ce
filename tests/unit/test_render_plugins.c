/* tests/unit/test_render_plugins.c — the visual plugins through their real ABI (the .so files
 * the build made), driven by the plugin test host (test_plugin_host.h) with its in-memory
 * metrics store and this test's fake "nnxr.model" service holding an MLP whose weights live
 * in a GPU buffer. Pictures are checked for meaning:
 *   - graph_view of a 784-3-4-10 MLP shows 3 blue and 4 yellow node blobs, one red and one
 *     green; after a neuron is added to the first hidden layer (a new model generation),
 *     4 blue; the synthetic network of `layers` shows the same; paused, the layout freezes
 *     and the pause marker shows;
 *   - hud draws each history value of each series where its plot's scale puts it, in the
 *     series' colour, and shows PAUSED in red when paused. */
#include "test_plugin_host.h"

/* ---- the fake model --------------------------------------------------------------------- */

typedef struct fake_model {
    nnxr_gpu *gpu;
    nnxr_buffer *params;
    nnxr_model_layer layers[3];
    uint32_t sizes[4];
    uint64_t generation;
} fake_model;

static void model_build(fake_model *m, uint32_t in, uint32_t h1, uint32_t h2, uint32_t out)
{
    nnxr_buffer_destroy(m->gpu, m->params);
    m->sizes[0] = in, m->sizes[1] = h1, m->sizes[2] = h2, m->sizes[3] = out;
    size_t total = 0;
    for (int l = 0; l < 3; l++)
        total += (size_t)m->sizes[l] * m->sizes[l + 1] + m->sizes[l + 1];
    float *w = malloc(total * sizeof *w);
    uint32_t seed = 7u + (uint32_t)m->generation;
    for (size_t i = 0; i < total; i++)
        w[i] = tg_uniform(&seed) - 0.5f;
    m->params = tg_buffer(m->gpu, "fake params", NNXR_BUFFER_DEVICE, total * sizeof *w);
    nnxr_error err;
    CHECK(nnxr_buffer_upload(m->gpu, m->params, 0, w, total * sizeof *w, &err));
    free(w);
    size_t off = 0;
    for (int l = 0; l < 3; l++) {
        nnxr_model_layer *L = &m->layers[l];
        memset(L, 0, sizeof *L);
        snprintf(L->name, sizeof L->name, "dense%d", l);
        L->kind = NNXR_LAYER_DENSE;
        L->act = l < 2 ? NNXR_ACT_RELU : NNXR_ACT_LINEAR;
        L->in_c = m->sizes[l], L->in_h = L->in_w = 1;
        L->out_c = m->sizes[l + 1], L->out_h = L->out_w = 1;
        size_t nw = (size_t)L->in_c * L->out_c;
        L->weights = (nnxr_model_region){m->params, off * 4, nw * 4};
        off += nw;
        L->biases = (nnxr_model_region){m->params, off * 4, (size_t)L->out_c * 4};
        off += L->out_c;
    }
    m->generation++;
}

static bool model_info(void *ctx, nnxr_model_info *out, nnxr_error *err)
{
    (void)err;
    fake_model *m = ctx;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->generation = m->generation;
    out->kind = NNXR_MODEL_MLP;
    out->in_c = 1, out->in_h = 28, out->in_w = 28;
    out->classes = out->outputs = m->sizes[3];
    out->layer_count = 3;
    out->layers = m->layers;
    return true;
}

static uint64_t model_generation(void *ctx) { return ((fake_model *)ctx)->generation; }

/* ---- the host ---------------------------------------------------------------------------- */

typedef struct test_host {
    tph_host h; /* metrics on; the model service while model_api is set in h.model */
    fake_model model;
    nnxr_model_api model_api;
} test_host;

/* ---- blobs --------------------------------------------------------------------------------- */

enum { C_NONE, C_RED, C_BLUE, C_YELLOW, C_GREEN, C_WHITE };

static int classify(const uint8_t *p)
{
    int r = p[0], g = p[1], b = p[2];
    if (r > 120 && g < 90 && b < 90)
        return C_RED;
    if (b > 120 && r < 90 && b > g + 40)
        return C_BLUE;
    if (r > 120 && g > 110 && b < 90 && abs(r - g) < 80)
        return C_YELLOW;
    if (g > 120 && r < 110 && b < 110 && g > r + 40)
        return C_GREEN;
    return C_NONE;
}

/* Connected regions (8-neighbours) of pixels of class c with at least min_area pixels. */
static int count_blobs(const tr_scene *s, int c, int min_area)
{
    int w = (int)s->w, h = (int)s->h, blobs = 0;
    uint8_t *seen = calloc((size_t)w * h, 1);
    int *stack = malloc(sizeof(int) * (size_t)w * h);
    for (int i = 0; i < w * h; i++) {
        if (seen[i] || classify(s->rgba + (size_t)i * 4) != c)
            continue;
        int top = 0, area = 0;
        stack[top++] = i;
        seen[i] = 1;
        while (top) {
            int k = stack[--top], x = k % w, y = k / w;
            area++;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                        continue;
                    int n = ny * w + nx;
                    if (!seen[n] && classify(s->rgba + (size_t)n * 4) == c) {
                        seen[n] = 1;
                        stack[top++] = n;
                    }
                }
        }
        blobs += area >= min_area;
    }
    free(seen);
    free(stack);
    return blobs;
}

static void check_graph(const tr_scene *s, int blue, int yellow, const char *what)
{
    int nr = count_blobs(s, C_RED, 6), nb = count_blobs(s, C_BLUE, 6);
    int ny = count_blobs(s, C_YELLOW, 6), ng = count_blobs(s, C_GREEN, 6);
    CHECKF(nr == 1 && nb == blue && ny == yellow && ng == 1,
           "%s: %d red, %d blue, %d yellow, %d green blobs; want 1, %d, %d, 1", what, nr, nb,
           ny, ng, blue, yellow);
}

static const char graph_cfg[] = "glow = 0.0\nlabels = false\nnode_radius = 0.05\n"
                                "io_radius = 0.07\nsize = 1.3\n";

static void test_graph_model(tr_scene *s, test_host *t)
{
    t->model.gpu = s->gpu;
    model_build(&t->model, 784, 3, 4, 10);
    t->model_api = (nnxr_model_api){&t->model, sizeof t->model_api, model_info,
                                    model_generation, NULL, NULL};
    t->h.model = &t->model_api;
    tph_plugin p;
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%ssource = \"model\"\n", graph_cfg);
    if (!tph_load(&t->h, s, "nnxr.graph_view", cfg, 0, &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {0};
    tph_frame(s, &p, &f);
    check_graph(s, 3, 4, "784-3-4-10 from the model");
    /* Surgery: a neuron added to the first hidden layer. */
    model_build(&t->model, 784, 4, 4, 10);
    for (int i = 0; i < 60; i++)
        tph_frame(s, &p, &f);
    check_graph(s, 4, 4, "after add_neuron");
    /* Paused: the layout freezes (two frames identical) and the marker shows. */
    f.paused = true;
    tph_frame(s, &p, &f);
    uint8_t *a = malloc((size_t)s->w * s->h * 4);
    memcpy(a, s->rgba, (size_t)s->w * s->h * 4);
    tph_frame(s, &p, &f);
    CHECK(memcmp(a, s->rgba, (size_t)s->w * s->h * 4) == 0);
    f.paused = false;
    tph_frame(s, &p, &f);
    int changed = 0;
    for (size_t i = 0; i < (size_t)s->w * s->h * 4; i++)
        changed += a[i] != s->rgba[i];
    CHECKF(changed > 0, "resumed: the layout moves again (%d bytes changed)", changed);
    /* The pause marker: translucent white at the centre brightens the paused picture. */
    int ca = 0, cb = 0;
    for (int y = (int)s->h / 2 - 5; y < (int)s->h / 2 + 5; y++)
        for (int x = (int)s->w / 2 - 5; x < (int)s->w / 2 + 5; x++) {
            ca += a[((size_t)y * s->w + (size_t)x) * 4 + 1];
            cb += tr_px(s, x, y)[1];
        }
    CHECKF(ca > cb + 100 * 15, "pause marker at the centre (green sum %d paused, %d running)",
           ca, cb);
    free(a);
    tph_unload(&p);
    nnxr_buffer_destroy(s->gpu, t->model.params);
    t->model.params = NULL;
    t->h.model = NULL;
}

static void test_graph_synthetic(tr_scene *s, test_host *t)
{
    tph_plugin p;
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%slayers = [784, 3, 4, 10]\n", graph_cfg);
    if (tph_load(&t->h, s, "nnxr.graph_view", cfg, 0, &p)) {
        nnxr_frame f = {0};
        tph_frame(s, &p, &f);
        check_graph(s, 3, 4, "synthetic 784-3-4-10");
    } else {
        CHECK(false);
    }
    tph_unload(&p);
    snprintf(cfg, sizeof cfg, "%slayers = [2, 5, 2]\n", graph_cfg);
    if (tph_load(&t->h, s, "nnxr.graph_view", cfg, 0, &p)) {
        nnxr_frame f = {0};
        tph_frame(s, &p, &f);
        check_graph(s, 5, 0, "synthetic 2-5-2");
    } else {
        CHECK(false);
    }
    tph_unload(&p);
    /* Without a model service, source = "model" is refused with a message. */
    nnxr_error err;
    bool made = tph_create(&t->h, "nnxr.graph_view", "source = \"model\"\n", &p, &err);
    if (p.lib.handle) {
        CHECK(!made);
        if (!made)
            CHECK_CONTAINS(err.message, "source = \"model\", but this scene has no model");
    } else {
        CHECKF(false, "%s", err.message);
    }
    tph_unload(&p);
}

/* ---- hud ----------------------------------------------------------------------------------- */

static const float train_c[3] = {0.25f, 0.6f, 1.0f}, val_c[3] = {1.0f, 0.55f, 0.1f};

/* Whether a pixel within 1 of (x, y) has colour c. */
static bool near_colour(const tr_scene *s, float x, float y, const float c[3])
{
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            if (tr_near(tr_px(s, (int)floorf(x) + dx, (int)floorf(y) + dy), c, 6))
                return true;
    return false;
}

static void test_hud(tr_scene *s, test_host *t)
{
    static const double tl[4] = {2.0, 1.0, 0.5, 0.25}, vl[4] = {1.6, 1.5, 1.0, 1.25};
    static const double ta[3] = {0.1, 0.5, 0.9}, va[3] = {0.2, 0.4, 0.6};
    for (int i = 0; i < 4; i++) {
        nnxr_metrics_publish(&t->h.metrics, "train.loss", tl[i]);
        nnxr_metrics_publish(&t->h.metrics, "val.loss", vl[i]);
    }
    for (int i = 0; i < 3; i++) {
        nnxr_metrics_publish(&t->h.metrics, "train.accuracy", ta[i]);
        nnxr_metrics_publish(&t->h.metrics, "val.accuracy", va[i]);
    }
    nnxr_metrics_publish(&t->h.metrics, "epoch", 3);
    nnxr_metrics_publish(&t->h.metrics, "hparam.lr", 0.05);
    tph_plugin p;
    if (!tph_load(&t->h, s, "nnxr.hud",
                  "x = 10\ny = 10\nwidth = 400\nplot_height = 90\ntext_px = 16\n", 0, &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {.train_step = 1234};
    tph_frame(s, &p, &f);
    /* The layout of hud.c: pad 6, line 20, three header lines, plot, pad + line, plot;
     * values 3 px inside the frame. */
    float ix0 = 16 + 3, iw = 388 - 6, ih = 90 - 6;
    float loss_y1 = 76 + 90 - 3, acc_y1 = 76 + 90 + 6 + 20 + 90 - 3;
    int hits = 0, want = 0;
    for (int i = 0; i < 4; i++) {
        float x = ix0 + iw * (float)i / 3.0f;
        want += 2;
        hits += near_colour(s, x, loss_y1 - ih * (float)(tl[i] / 2.0), train_c);
        hits += near_colour(s, x, loss_y1 - ih * (float)(vl[i] / 2.0), val_c);
        if (i < 3) {
            float xa = ix0 + iw * (float)i / 2.0f;
            want += 2;
            hits += near_colour(s, xa, acc_y1 - ih * (float)ta[i], train_c);
            hits += near_colour(s, xa, acc_y1 - ih * (float)va[i], val_c);
        }
    }
    CHECKF(hits == want, "hud: %d of %d curve points where the values say", hits, want);
    /* Midway between the first two train.loss points the line passes at the mean. */
    CHECK(near_colour(s, ix0 + iw / 6.0f, loss_y1 - ih * 0.75f, train_c));
    /* And nowhere else on that column of the loss plot. */
    int stray = 0;
    for (float y = loss_y1 - ih; y <= loss_y1; y += 1.0f)
        stray += fabsf(y - (loss_y1 - ih * 0.75f)) > 3 &&
                 tr_near(tr_px(s, (int)(ix0 + iw / 6.0f), (int)y), train_c, 6);
    CHECKF(stray == 0, "train.loss column: %d stray pixels", stray);
    /* Header text is white; no PAUSED (red) while running; red once paused. */
    int red = 0;
    for (int y = 16; y < 36; y++)
        for (int x = 16; x < 400; x++)
            red += classify(tr_px(s, x, y)) == C_RED;
    CHECK(red == 0);
    f.paused = true;
    tph_frame(s, &p, &f);
    red = 0;
    for (int y = 16; y < 36; y++)
        for (int x = 16; x < 400; x++)
            red += classify(tr_px(s, x, y)) == C_RED;
    CHECKF(red > 50, "PAUSED in red: %d pixels", red);
    tph_unload(&p);
}

int main(void)
{
    tr_scene s;
    tr_open(&s, 640, 360, 1);
    float eye[3] = {0.0f, 0.4f, 3.2f}, at[3] = {0, 0, 0};
    nnxr_view_look_at(&s.view, eye, at, 60.0f, s.w, s.h);
    test_host t;
    memset(&t, 0, sizeof t);
    tph_init(&t.h, s.gpu);
    t.h.dump_name = "plugin";
    nnxr_error err;
    if (!tph_metrics_open(&t.h, &err)) {
        fprintf(stderr, "metrics: %s\n", err.message);
        return 1;
    }
    test_graph_model(&s, &t);
    test_graph_synthetic(&s, &t);
    test_hud(&s, &t);
    tph_close(&t.h);
    tr_close(&s);
    return check_finish();
}
