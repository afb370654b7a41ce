/* tests/unit/test_render_activations.c — the activation grid plugin (nnxr.activation_grid)
 * through its real ABI (the .so the build made), with the plugin test host
 * (test_plugin_host.h), its "nnxr.commands" counting the evaluations pushed, and a
 * fake "nnxr.model" whose probe activations, class means and evaluation outputs the test
 * sets in GPU buffers. Pictures are read for meaning, with oracles of the test's own:
 *   - every cell of the grid (found as a square of viridis colours) has the colour of
 *     viridis((v − min) / (max − min)) of the value the test put there, min and max over the
 *     rows shown — already in the first frame (no CPU round trip), for probe rows, class rows
 *     and feature maps; after surgery (a new generation) the rows have the new unit count;
 *   - the legend bar's ends are viridis's ends, with its numbers drawn on both sides;
 *   - the gallery shows exactly the misclassified samples of the fake evaluation output, in
 *     order (each sample's image is a distinct grey), with the true and predicted class
 *     names under them; when the outputs change, so does the gallery;
 *   - the PCA of a layer whose probe activations lie along two known axes puts each class's
 *     points where the axes and the spread say, and marks each class mean there;
 *   - the GPU covariance kernel against a double-precision CPU computation, and the Jacobi
 *     eigen-decomposition against matrices with known eigenvectors;
 *   - config errors (an unknown key, an unknown layer, no model) name what is wrong; an
 *     evaluation is asked for at the start and every `evaluate_every` steps. */
#include "test_plugin_host.h"

#include "ag_gpu.h"
#include "ag_math.h"
#include "config/config.h"

#define W 800
#define H 600
#define PROBES 12
#define CLASSES 4
#define EVAL 20
#define IMG 8

/* ---- the fake model ------------------------------------------------------------------- */

typedef struct fake_model {
    nnxr_gpu *gpu;
    nnxr_buffer *probe, *means, *eval;
    nnxr_model_layer layers[3];
    uint32_t dense_units;
    uint64_t generation, outputs_version;
    float conv[PROBES][3][4][4];
    float dense[PROBES][8];
    float out[PROBES][CLASSES];
    float conv_mean[CLASSES][3][4][4];
    float dense_mean[CLASSES][8];
    int32_t probe_labels[PROBES];
    int32_t predicted[EVAL], labels[EVAL];
    uint8_t images[EVAL][IMG * IMG];
    uint8_t host_labels[EVAL];
} fake_model;

static const char *const class_names[CLASSES] = {"zero", "one", "two", "three"};

/* Uploads everything, laid out at offsets that are deliberately not 16-byte aligned. */
static void model_upload(fake_model *m)
{
    nnxr_error err;
    uint32_t du = m->dense_units;
    size_t pad = 3, conv_n = (size_t)PROBES * 48, dense_n = (size_t)PROBES * du,
           out_n = (size_t)PROBES * CLASSES;
    size_t total = pad + conv_n + dense_n + out_n + PROBES;
    float *p = calloc(total, sizeof *p);
    memcpy(p + pad, m->conv, conv_n * 4);
    for (int s = 0; s < PROBES; s++)
        memcpy(p + pad + conv_n + (size_t)s * du, m->dense[s], du * 4);
    memcpy(p + pad + conv_n + dense_n, m->out, out_n * 4);
    memcpy(p + pad + conv_n + dense_n + out_n, m->probe_labels, PROBES * 4);
    if (!m->probe || m->probe->size != total * 4) {
        nnxr_buffer_destroy(m->gpu, m->probe);
        m->probe = tg_buffer(m->gpu, "fake probe", NNXR_BUFFER_DEVICE, total * 4);
    }
    CHECK(nnxr_buffer_upload(m->gpu, m->probe, 0, p, total * 4, &err));
    free(p);
    size_t mpad = 1, mconv = (size_t)CLASSES * 48, mdense = (size_t)CLASSES * du;
    size_t mtotal = mpad + mconv + mdense + (size_t)CLASSES * CLASSES;
    float *q = calloc(mtotal, sizeof *q);
    memcpy(q + mpad, m->conv_mean, mconv * 4);
    for (int k = 0; k < CLASSES; k++)
        memcpy(q + mpad + mconv + (size_t)k * du, m->dense_mean[k], du * 4);
    if (!m->means || m->means->size != mtotal * 4) {
        nnxr_buffer_destroy(m->gpu, m->means);
        m->means = tg_buffer(m->gpu, "fake means", NNXR_BUFFER_DEVICE, mtotal * 4);
    }
    CHECK(nnxr_buffer_upload(m->gpu, m->means, 0, q, mtotal * 4, &err));
    free(q);
    if (!m->eval)
        m->eval = tg_buffer(m->gpu, "fake eval", NNXR_BUFFER_DEVICE, 2 * EVAL * 4);
    CHECK(nnxr_buffer_upload(m->gpu, m->eval, 0, m->predicted, EVAL * 4, &err));
    CHECK(nnxr_buffer_upload(m->gpu, m->eval, EVAL * 4, m->labels, EVAL * 4, &err));

    nnxr_model_layer *L = m->layers;
    memset(L, 0, sizeof m->layers);
    snprintf(L[0].name, sizeof L[0].name, "conv0");
    L[0].kind = NNXR_LAYER_CONV;
    L[0].in_c = 1, L[0].in_h = L[0].in_w = IMG;
    L[0].out_c = 3, L[0].out_h = L[0].out_w = 4;
    snprintf(L[1].name, sizeof L[1].name, "dense1");
    L[1].kind = NNXR_LAYER_DENSE;
    L[1].in_c = 48, L[1].in_h = L[1].in_w = 1;
    L[1].out_c = du, L[1].out_h = L[1].out_w = 1;
    snprintf(L[2].name, sizeof L[2].name, "dense2");
    L[2].kind = NNXR_LAYER_DENSE;
    L[2].in_c = du, L[2].in_h = L[2].in_w = 1;
    L[2].out_c = CLASSES, L[2].out_h = L[2].out_w = 1;
    size_t sizes[3] = {48, du, CLASSES}, off = pad, moff = mpad;
    for (int l = 0; l < 3; l++) {
        L[l].probe = (nnxr_model_region){m->probe, off * 4, (VkDeviceSize)PROBES * sizes[l] * 4};
        L[l].class_mean = (nnxr_model_region){m->means, moff * 4,
                                              (VkDeviceSize)CLASSES * sizes[l] * 4};
        off += PROBES * sizes[l];
        moff += CLASSES * sizes[l];
    }
}

static bool model_info(void *ctx, nnxr_model_info *out, nnxr_error *err)
{
    (void)err;
    fake_model *m = ctx;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->generation = m->generation;
    out->outputs_version = m->outputs_version;
    out->kind = NNXR_MODEL_CNN;
    out->in_c = 1, out->in_h = IMG, out->in_w = IMG;
    out->classes = out->outputs = CLASSES;
    out->layer_count = 3;
    out->layers = m->layers;
    out->probe_count = PROBES;
    size_t labels_off = 3 + (size_t)PROBES * (48 + m->dense_units + CLASSES);
    out->probe_labels = (nnxr_model_region){m->probe, labels_off * 4, PROBES * 4};
    out->eval.count = EVAL;
    out->eval.predicted = (nnxr_model_region){m->eval, 0, EVAL * 4};
    out->eval.labels = (nnxr_model_region){m->eval, EVAL * 4, EVAL * 4};
    return true;
}

static uint64_t model_generation(void *ctx) { return ((fake_model *)ctx)->generation; }

static bool model_data(void *ctx, nnxr_model_data *out, nnxr_error *err)
{
    (void)err;
    fake_model *m = ctx;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->scale = 1.0f / 255.0f;
    out->eval.count = EVAL;
    out->eval.u8 = &m->images[0][0];
    out->eval.labels = m->host_labels;
    out->class_names = class_names;
    return true;
}

/* ---- the host ------------------------------------------------------------------------------ */

typedef struct test_host {
    tph_host h; /* the model service while h.model points at model_api; commands: on_push */
    fake_model model;
    nnxr_model_api model_api;
    int evaluations; /* EVALUATE commands pushed */
} test_host;

static bool on_push(void *user, const nnxr_command *cmd, nnxr_error *err)
{
    (void)err;
    test_host *t = user;
    if (cmd->kind == NNXR_CMD_EVALUATE && !strcmp(cmd->name, "full"))
        t->evaluations++;
    return true;
}

/* Creates the plugin with the [[plugin]] table `toml`; NULL self with the message in err. */
static bool try_load(test_host *t, const char *toml, tph_plugin *p, nnxr_error *err)
{
    return tph_create(&t->h, "nnxr.activation_grid", toml, p, err);
}

static bool load(test_host *t, tr_scene *s, const char *toml, tph_plugin *p)
{
    return tph_load(&t->h, s, "nnxr.activation_grid", toml, TPH_NEED_UPDATE | TPH_NEED_COMPUTE,
                    p);
}

/* ---- reading the picture ------------------------------------------------------------------- */

static int viridis_tab[1025][3];

static void viridis8(float t, int out[3])
{
    float c[3];
    nnxr_color_viridis_srgb(t, c);
    for (int i = 0; i < 3; i++)
        out[i] = (int)lroundf(c[i] * 255.0f);
}

static bool near8(const uint8_t *p, const int c[3], int tol)
{
    return abs(p[0] - c[0]) <= tol && abs(p[1] - c[1]) <= tol && abs(p[2] - c[2]) <= tol;
}

/* Whether a pixel has a colour of the viridis map. */
static bool is_viridis(const uint8_t *p)
{
    if (p[0] + p[1] + p[2] < 40)
        return false;
    for (int i = 0; i <= 1024; i++)
        if (near8(p, viridis_tab[i], 3))
            return true;
    return false;
}

static bool is_grey(const uint8_t *p)
{
    int lo = p[0] < p[1] ? p[0] : p[1], hi = p[0] > p[1] ? p[0] : p[1];
    lo = lo < p[2] ? lo : p[2];
    hi = hi > p[2] ? hi : p[2];
    return hi - lo <= 3 && hi > 20;
}

typedef struct box {
    int x0, y0, x1, y1, area; /* inclusive bounds */
} box;

/* 4-connected regions of pixels for which `pred` holds, inside [x0, x1) × [y0, y1). */
static int regions(const tr_scene *s, bool (*pred)(const uint8_t *), int x0, int y0, int x1,
                   int y1, box *out, int max)
{
    int w = (int)s->w, h = (int)s->h, n = 0;
    uint8_t *mask = calloc((size_t)w * h, 1), *seen = calloc((size_t)w * h, 1);
    int *stack = malloc(sizeof(int) * (size_t)w * h);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            mask[y * w + x] = pred(tr_px(s, x, y));
    for (int i = 0; i < w * h; i++) {
        if (!mask[i] || seen[i])
            continue;
        box b = {w, h, -1, -1, 0};
        int top = 0;
        stack[top++] = i;
        seen[i] = 1;
        while (top) {
            int k = stack[--top], x = k % w, y = k / w;
            b.area++;
            b.x0 = x < b.x0 ? x : b.x0;
            b.y0 = y < b.y0 ? y : b.y0;
            b.x1 = x > b.x1 ? x : b.x1;
            b.y1 = y > b.y1 ? y : b.y1;
            int nb[4] = {k - 1, k + 1, k - w, k + w};
            bool ok[4] = {x > 0, x < w - 1, y > 0, y < h - 1};
            for (int j = 0; j < 4; j++)
                if (ok[j] && mask[nb[j]] && !seen[nb[j]]) {
                    seen[nb[j]] = 1;
                    stack[top++] = nb[j];
                }
        }
        if (n < max)
            out[n] = b;
        n++;
    }
    free(mask);
    free(seen);
    free(stack);
    return n < max ? n : max;
}

static int by_row_then_x(const void *a, const void *b)
{
    const box *p = a, *q = b;
    if (abs(p->y0 - q->y0) > 2)
        return p->y0 - q->y0;
    return p->x0 - q->x0;
}

/* Filled boxes of at least min_side × min_side whose width / height is within [lo, hi]. */
static int keep_boxes(box *b, int n, int min_side, float lo, float hi)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        int bw = b[i].x1 - b[i].x0 + 1, bh = b[i].y1 - b[i].y0 + 1;
        float aspect = (float)bw / (float)bh;
        if (bw >= min_side && bh >= min_side && aspect >= lo && aspect <= hi &&
            b[i].area >= bw * bh * 9 / 10)
            b[k++] = b[i];
    }
    qsort(b, (size_t)k, sizeof *b, by_row_then_x);
    return k;
}

/* ---- the data ------------------------------------------------------------------------------ */

static void fill_model(fake_model *m, uint32_t dense_units)
{
    m->dense_units = dense_units;
    uint32_t seed = 11;
    for (int s = 0; s < PROBES; s++) {
        m->probe_labels[s] = s % CLASSES;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                    m->conv[s][c][y][x] = (float)(s * 7 + c * 5 + y * 3 + x) * 0.1f - 1.0f;
        for (uint32_t u = 0; u < 8; u++)
            m->dense[s][u] = 4.0f * tg_uniform(&seed) - 1.0f;
        for (int k = 0; k < CLASSES; k++)
            m->out[s][k] = tg_uniform(&seed);
    }
    for (int k = 0; k < CLASSES; k++) {
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                    m->conv_mean[k][c][y][x] = (float)(k + c * y - x);
        for (uint32_t u = 0; u < 8; u++)
            m->dense_mean[k][u] = (float)(k * 8 + (int)u) * 0.25f;
    }
    for (int i = 0; i < EVAL; i++) {
        m->labels[i] = m->predicted[i] = i % CLASSES;
        m->host_labels[i] = (uint8_t)(i % CLASSES);
        memset(m->images[i], 40 + 9 * i, IMG * IMG);
    }
    /* The misclassified ones. */
    static const int wrong[5] = {2, 5, 11, 17, 19};
    for (int k = 0; k < 5; k++)
        m->predicted[wrong[k]] = (m->labels[wrong[k]] + 1 + k % 2) % CLASSES;
}

/* ---- the grid ------------------------------------------------------------------------------ */

/* Checks every cell of the grid against viridis of its value normalised over the rows shown.
 * values(row, unit) for 1×1 cells. */
static void check_cells(const tr_scene *s, const char *what, int rows, int units,
                        float (*value)(const fake_model *, int, int), const fake_model *m)
{
    box b[512];
    int n = regions(s, is_viridis, 0, 0, (int)s->w, (int)s->h, b, 512);
    n = keep_boxes(b, n, 6, 0.8f, 1.25f);
    CHECKF(n == rows * units, "%s: %d viridis squares, want %d rows x %d units", what, n, rows,
           units);
    if (n != rows * units)
        return;
    float lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < rows; r++)
        for (int u = 0; u < units; u++) {
            lo = fminf(lo, value(m, r, u));
            hi = fmaxf(hi, value(m, r, u));
        }
    int bad = 0;
    for (int r = 0; r < rows; r++)
        for (int u = 0; u < units; u++) {
            const box *c = &b[r * units + u];
            int want[3];
            viridis8((value(m, r, u) - lo) / (hi - lo), want);
            const uint8_t *px = tr_px(s, (c->x0 + c->x1) / 2, (c->y0 + c->y1) / 2);
            if (!near8(px, want, 3)) {
                if (bad++ < 4)
                    fprintf(stderr, "%s: row %d unit %d: pixel %d %d %d, want %d %d %d\n", what,
                            r, u, px[0], px[1], px[2], want[0], want[1], want[2]);
            }
        }
    CHECKF(bad == 0, "%s: %d of %d cells off their value's viridis colour", what, bad,
           rows * units);
}

static float probe_dense(const fake_model *m, int r, int u) { return m->dense[r][u]; }
static float class_dense(const fake_model *m, int r, int u) { return m->dense_mean[r][u]; }

/* The legend bar: a wide viridis box whose left end is viridis(0) and right end viridis(1),
 * with text (the range's numbers) on both sides. */
static void check_legend(const tr_scene *s)
{
    box b[512];
    int n = regions(s, is_viridis, 0, 0, (int)s->w, (int)s->h, b, 512);
    n = keep_boxes(b, n, 4, 5.0f, 100.0f);
    CHECKF(n == 1, "one legend bar, found %d", n);
    if (n < 1)
        return;
    int y = (b[0].y0 + b[0].y1) / 2, lo[3], hi[3], mid[3];
    viridis8(0, lo);
    viridis8(1, hi);
    viridis8(0.5f, mid);
    const uint8_t *l = tr_px(s, b[0].x0, y), *r = tr_px(s, b[0].x1, y);
    CHECKF(near8(l, lo, 3), "legend's left end %d %d %d is viridis(0) %d %d %d", l[0], l[1],
           l[2], lo[0], lo[1], lo[2]);
    CHECKF(near8(r, hi, 3), "legend's right end %d %d %d is viridis(1) %d %d %d", r[0], r[1],
           r[2], hi[0], hi[1], hi[2]);
    const uint8_t *c = tr_px(s, (b[0].x0 + b[0].x1 + 1) / 2, y);
    CHECKF(near8(c, mid, 6), "legend's middle %d %d %d is viridis(0.5) %d %d %d", c[0], c[1],
           c[2], mid[0], mid[1], mid[2]);
    int left = 0, right = 0;
    for (int yy = b[0].y0 - 4; yy <= b[0].y1 + 4; yy++)
        for (int dx = 2; dx < 40; dx++) {
            const uint8_t *p = tr_px(s, b[0].x0 - dx, yy), *q = tr_px(s, b[0].x1 + dx, yy);
            left += p[0] > 200 && p[1] > 200 && p[2] > 200;
            right += q[0] > 200 && q[1] > 200 && q[2] > 200;
        }
    CHECKF(left > 5 && right > 5, "legend numbers drawn left (%d px) and right (%d px)", left,
           right);
}

static const char base_cfg[] = "gallery_count = 0\npca_layer = \"none\"\n"
                               "grid_rect = [0.0, 0.0, 1.0, 1.0]\n";

static void test_grid(tr_scene *s, test_host *t)
{
    fake_model *m = &t->model;
    fill_model(m, 5);
    model_upload(m);
    m->generation = 1;
    m->outputs_version = 0;
    tph_plugin p;
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "%slayers = [\"dense1\"]\nmax_rows = 3\n", base_cfg);
    if (!load(t, s, cfg, &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {0};
    /* No evaluation yet: the plugin asks for one, and draws no cells. */
    t->evaluations = 0;
    tph_frame(s, &p, &f);
    CHECKF(t->evaluations == 1, "an evaluation asked for at the start (%d)", t->evaluations);
    box b[64];
    int n = regions(s, is_viridis, 0, 0, (int)s->w, (int)s->h, b, 64);
    CHECKF(keep_boxes(b, n, 6, 0.8f, 1.25f) == 0, "no cells before the first evaluation");
    /* The evaluation's outputs arrive: the cells show in the same frame. */
    m->outputs_version = 1;
    tph_frame(s, &p, &f);
    check_cells(s, "probe rows, first frame", 3, 5, probe_dense, m);
    tph_frame(s, &p, &f);
    check_cells(s, "probe rows", 3, 5, probe_dense, m);
    check_legend(s);
    /* New values (outputs_version changes): the cells follow. */
    for (int r = 0; r < PROBES; r++)
        for (int u = 0; u < 5; u++)
            m->dense[r][u] = -m->dense[r][u] * 2.0f + 0.5f * (float)u;
    model_upload(m);
    m->outputs_version = 2;
    tph_frame(s, &p, &f);
    check_cells(s, "probe rows, new values", 3, 5, probe_dense, m);
    /* Surgery: a unit added (a new generation with new regions). */
    fill_model(m, 6);
    model_upload(m);
    m->generation = 2;
    m->outputs_version = 3;
    tph_frame(s, &p, &f);
    check_cells(s, "probe rows after surgery", 3, 6, probe_dense, m);
    tph_unload(&p);

    /* Class rows: every class's mean. */
    fill_model(m, 5);
    model_upload(m);
    m->generation = 3;
    snprintf(cfg, sizeof cfg, "%slayers = [\"dense1\"]\nrows = \"class\"\n", base_cfg);
    if (load(t, s, cfg, &p)) {
        tph_frame(s, &p, &f);
        check_cells(s, "class rows", CLASSES, 5, class_dense, m);
    } else {
        CHECK(false);
    }
    tph_unload(&p);
}

/* Feature maps: each channel's 4×4 map drawn as a square of 4×4 blocks, each block the
 * viridis colour of its value (normalised over the rows shown). */
static void test_maps(tr_scene *s, test_host *t)
{
    fake_model *m = &t->model;
    fill_model(m, 5);
    model_upload(m);
    m->generation = 10;
    m->outputs_version = 5;
    tph_plugin p;
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "%slayers = [\"conv0\"]\nmax_rows = 2\n", base_cfg);
    if (!load(t, s, cfg, &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {0};
    tph_frame(s, &p, &f);
    box b[64];
    int n = regions(s, is_viridis, 0, 0, (int)s->w, (int)s->h, b, 64);
    n = keep_boxes(b, n, 8, 0.8f, 1.25f);
    CHECKF(n == 2 * 3, "feature maps: %d squares, want 2 rows x 3 channels", n);
    float lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++) {
                    lo = fminf(lo, m->conv[r][c][y][x]);
                    hi = fmaxf(hi, m->conv[r][c][y][x]);
                }
    int bad = 0, checked = 0;
    for (int i = 0; i < n && n == 6; i++) {
        int r = i / 3, c = i % 3;
        float bw = (float)(b[i].x1 - b[i].x0 + 1) / 4.0f;
        float bh = (float)(b[i].y1 - b[i].y0 + 1) / 4.0f;
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) {
                int want[3];
                viridis8((m->conv[r][c][y][x] - lo) / (hi - lo), want);
                const uint8_t *px = tr_px(s, b[i].x0 + (int)(bw * ((float)x + 0.5f)),
                                          b[i].y0 + (int)(bh * ((float)y + 0.5f)));
                checked++;
                if (!near8(px, want, 3) && bad++ < 4)
                    fprintf(stderr, "map row %d ch %d (%d,%d): %d %d %d want %d %d %d\n", r, c,
                            x, y, px[0], px[1], px[2], want[0], want[1], want[2]);
            }
    }
    CHECKF(bad == 0 && checked == 96, "feature maps: %d of %d values off their colour", bad,
           checked);
    tph_unload(&p);
}

/* ---- the gallery --------------------------------------------------------------------------- */

static bool is_big_grey(const uint8_t *p) { return is_grey(p) && p[0] >= 35; }

static void check_gallery(const tr_scene *s, const fake_model *m, const char *what)
{
    int want[EVAL], nw = 0;
    for (int i = 0; i < EVAL; i++)
        if (m->predicted[i] != m->labels[i])
            want[nw++] = i;
    box b[256];
    int n = regions(s, is_big_grey, 0, (int)(0.3 * H), (int)s->w, (int)s->h, b, 256);
    n = keep_boxes(b, n, 24, 0.8f, 1.25f);
    CHECKF(n == nw, "%s: %d thumbnails, want the %d misclassified samples", what, n, nw);
    int bad = 0;
    for (int k = 0; k < n && k < nw; k++) {
        const uint8_t *px = tr_px(s, (b[k].x0 + b[k].x1) / 2, (b[k].y0 + b[k].y1) / 2);
        int grey = 40 + 9 * want[k];
        if (abs(px[0] - grey) > 3) {
            bad++;
            fprintf(stderr, "%s: thumbnail %d grey %d, want sample %d's %d\n", what, k, px[0],
                    want[k], grey);
        }
        /* The true class in green and the predicted one in red under the thumbnail. */
        int green = 0, red = 0;
        for (int y = b[k].y1 + 1; y < b[k].y1 + 30; y++)
            for (int x = b[k].x0; x < b[k].x0 + 60; x++) {
                const uint8_t *q = tr_px(s, x, y);
                green += q[1] > 180 && q[0] < 200 && q[2] < 200 && q[1] > q[0] + 40;
                red += q[0] > 200 && q[1] < 160 && q[2] < 160;
            }
        if (green < 5 || red < 5) {
            bad++;
            fprintf(stderr, "%s: thumbnail %d: %d green, %d red text pixels\n", what, k, green,
                    red);
        }
    }
    CHECKF(bad == 0, "%s: %d thumbnails wrong", what, bad);
}

static void test_gallery(tr_scene *s, test_host *t)
{
    fake_model *m = &t->model;
    fill_model(m, 5);
    model_upload(m);
    m->generation = 20;
    m->outputs_version = 7;
    tph_plugin p;
    if (!load(t, s, "layers = [\"dense1\"]\nmax_rows = 2\npca_layer = \"none\"\n"
              "grid_rect = [0.0, 0.0, 1.0, 0.3]\ngallery_rect = [0.0, 0.3, 1.0, 0.7]\n"
              "thumb_px = 32\n", &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {0};
    tph_frame(s, &p, &f);
    check_gallery(s, m, "gallery");
    /* New outputs: two others are wrong now. */
    for (int i = 0; i < EVAL; i++)
        m->predicted[i] = m->labels[i];
    m->predicted[0] = 3;
    m->predicted[13] = 0;
    model_upload(m);
    m->outputs_version = 8;
    tph_frame(s, &p, &f);
    check_gallery(s, m, "gallery after new outputs");
    tph_unload(&p);
}

/* ---- PCA ----------------------------------------------------------------------------------- */

/* Classes 0 and 1 at ±3·e1, 2 and 3 at ±1.2·e2 (plus a little noise) in dense1's 5 units. */
static const float e1[5] = {0.8f, 0.6f, 0, 0, 0}, e2[5] = {0, 0, 0.8f, 0, -0.6f};

static void fill_pca(fake_model *m)
{
    uint32_t seed = 5;
    for (int s = 0; s < PROBES; s++) {
        int k = s % CLASSES;
        float a = k == 0 ? 3.0f : k == 1 ? -3.0f : 0, b = k == 2 ? 1.2f : k == 3 ? -1.2f : 0;
        for (int u = 0; u < 5; u++) {
            m->dense[s][u] = a * e1[u] + b * e2[u] + 0.04f * (tg_uniform(&seed) - 0.5f) + 0.7f;
            if (s < CLASSES)
                m->dense_mean[k][u] = a * e1[u] + b * e2[u] + 0.7f;
        }
    }
}

static bool class_px(const uint8_t *p, int k)
{
    switch (k) {
    case 0: return p[0] > 120 && p[1] < 60 && p[2] < 60;                 /* red */
    case 1: return p[2] > 120 && p[0] < 60 && p[1] < 150 && p[2] > p[1] + 40; /* blue */
    case 2: return p[1] > 90 && p[0] < 70 && p[2] < 90 && p[1] > p[0] + 40; /* green */
    default: return p[0] > 150 && p[1] > 60 && p[1] < 190 && p[2] < 50 && p[0] > p[1] + 40;
    }
}

static void test_pca_picture(tr_scene *s, test_host *t)
{
    fake_model *m = &t->model;
    fill_model(m, 5);
    fill_pca(m);
    model_upload(m);
    m->generation = 30;
    m->outputs_version = 9;
    tph_plugin p;
    if (!load(t, s, "layers = [\"dense2\"]\nmax_rows = 1\ngallery_count = 0\n"
              "pca_layer = \"dense1\"\ngrid_rect = [0.0, 0.0, 0.4, 0.3]\n"
              "pca_rect = [0.4, 0.0, 0.6, 1.0]\npoint_px = 4\n", &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {0};
    tph_frame(s, &p, &f);
    tph_frame(s, &p, &f); /* the eigenvectors come from the previous frame's covariance */
    nnxr_ag_rect area = {0.4f * W + 8, 8, 0.6f * W - 16, H - 16};
    nnxr_ag_scatter_layout lay;
    nnxr_ag_layout_scatter(&area, 16, 12, &lay);
    /* Expected, from the construction: PC1 = e1 (largest component positive), PC2 = e2;
     * coordinates scaled by the largest |projection| (3). */
    float want[4][2] = {{1, 0}, {-1, 0}, {0, 0.4f}, {0, -0.4f}};
    for (int k = 0; k < CLASSES; k++) {
        double sx = 0, sy = 0;
        int cnt = 0;
        for (int y = (int)area.y; y < (int)(area.y + area.h); y++)
            for (int x = (int)area.x; x < (int)(area.x + area.w); x++)
                if (class_px(tr_px(s, x, y), k)) {
                    sx += x;
                    sy += y;
                    cnt++;
                }
        float ex = lay.cx + want[k][0] * lay.half, ey = lay.cy - want[k][1] * lay.half;
        float gx = cnt ? (float)(sx / cnt) : -1, gy = cnt ? (float)(sy / cnt) : -1;
        CHECKF(cnt > 10 && fabsf(gx - ex) < 4 && fabsf(gy - ey) < 4,
               "PCA: class %d's points at (%.1f, %.1f) (%d px), want (%.1f, %.1f)", k,
               (double)gx, (double)gy, cnt, (double)ex, (double)ey);
        /* The class mean's marker there too: a white ring around the points. */
        int ring = 0;
        for (int y = (int)ey - 12; y <= (int)ey + 12; y++)
            for (int x = (int)ex - 12; x <= (int)ex + 12; x++) {
                const uint8_t *q = tr_px(s, x, y);
                ring += q[0] > 200 && q[1] > 200 && q[2] > 200;
            }
        CHECKF(ring > 8, "PCA: class %d's mean marked by a white ring (%d px)", k, ring);
    }
    tph_unload(&p);
}

/* The covariance kernel on the device against the double-precision computation. */
static void test_covariance_kernel(tr_scene *s, test_host *t)
{
    (void)s;
    nnxr_error err;
    nnxr_ag_kernels k;
    if (!nnxr_ag_kernels_create(&t->h.gpu_api, &k, &err)) {
        CHECKF(false, "kernels: %s", err.message);
        return;
    }
    const uint32_t N = 32, D = 40, XOFF = 5;
    float *x = malloc(sizeof(float) * (N * D + XOFF));
    uint32_t seed = 99;
    for (uint32_t i = 0; i < N * D + XOFF; i++)
        x[i] = 3.0f * tg_uniform(&seed) - 1.0f + (float)(i % D) * 0.5f;
    /* Correlated columns, so that the off-diagonal terms matter. */
    for (uint32_t n = 0; n < N; n++)
        x[XOFF + n * D + 7] = 2.0f * x[XOFF + n * D + 3] - 1.0f;
    nnxr_buffer *xb = tg_buffer(t->model.gpu, "cov x", NNXR_BUFFER_DEVICE, (N * D + XOFF) * 4);
    size_t out_n = (size_t)D * D + D + (size_t)N * D;
    nnxr_buffer *ob = tg_buffer(t->model.gpu, "cov out", NNXR_BUFFER_READBACK, out_n * 4 + 64);
    CHECK(nnxr_buffer_upload(t->model.gpu, xb, 0, x, (N * D + XOFF) * 4, &err));
    nnxr_buffer_slot slots[2] = {{xb, 0, 0}, {ob, 0, 0}};
    nnxr_binding *b = NULL;
    nnxr_recorder *rec = NULL;
    CHECK(t->h.gpu_api.kernel_bind(t->h.gpu_api.ctx, k.cov, slots, 2, &b, &err));
    CHECK(nnxr_recorder_create(t->model.gpu, 0, &rec, &err) && nnxr_recorder_begin(rec, &err));
    nnxr_ag_cov_push push = {.x_off = XOFF, .count = N, .dim = D, .out_off = 16};
    CHECK(nnxr_ag_record_cov(&k, nnxr_recorder_external_cmd(rec), b, &push, &err));
    nnxr_recorder_external(rec);
    CHECK(nnxr_recorder_run(rec, &err));
    float *got = malloc(out_n * 4);
    CHECK(nnxr_buffer_readback(t->model.gpu, ob, 64, got, out_n * 4, &err));
    double *cov = malloc(sizeof(double) * D * D), *mean = malloc(sizeof(double) * D);
    nnxr_ag_covariance_ref(x + XOFF, N, D, cov, mean);
    double worst = 0, scale = 0;
    for (uint32_t i = 0; i < D * D; i++)
        scale = fmax(scale, fabs(cov[i]));
    for (uint32_t i = 0; i < D * D; i++)
        worst = fmax(worst, fabs(got[i] - cov[i]) / scale);
    double worst_mean = 0;
    for (uint32_t i = 0; i < D; i++)
        worst_mean = fmax(worst_mean, fabs(got[D * D + i] - mean[i]) / fmax(1.0, fabs(mean[i])));
    int copy_bad = 0;
    for (uint32_t i = 0; i < N * D; i++)
        copy_bad += got[D * D + D + i] != x[XOFF + i];
    CHECKF(worst < 1e-5, "GPU covariance vs double: worst relative error %g", worst);
    CHECKF(worst_mean < 1e-6, "GPU mean vs double: worst error %g", worst_mean);
    CHECKF(copy_bad == 0, "the kernel's copy of x: %d values differ", copy_bad);
    /* The correlated pair: cov(7, 3) = 2 var(3). */
    CHECK_CLOSE(got[7 * D + 3], 2.0 * cov[3 * D + 3], 1e-4);
    free(got);
    free(cov);
    free(mean);
    free(x);
    nnxr_recorder_destroy(rec);
    t->h.gpu_api.binding_destroy(t->h.gpu_api.ctx, b);
    nnxr_buffer_destroy(t->model.gpu, xb);
    nnxr_buffer_destroy(t->model.gpu, ob);
    nnxr_ag_kernels_destroy(&k);
}

/* ---- Jacobi against known eigen-decompositions --------------------------------------------- */

static void test_jacobi(void)
{
    double vals[4], vecs[16], work[16];
    /* Diagonal: the eigenvalues sorted, the unit vectors. */
    double d[9] = {1, 0, 0, 0, 5, 0, 0, 0, 3};
    CHECK(nnxr_ag_jacobi(d, 3, vals, vecs, work));
    CHECK_CLOSE(vals[0], 5, 1e-12);
    CHECK_CLOSE(vals[1], 3, 1e-12);
    CHECK_CLOSE(vals[2], 1, 1e-12);
    CHECK_CLOSE(vecs[1 * 3 + 0], 1, 1e-12);
    CHECK_CLOSE(vecs[2 * 3 + 1], 1, 1e-12);
    CHECK_CLOSE(vecs[0 * 3 + 2], 1, 1e-12);
    /* [[2, 1], [1, 2]]: 3 along (1, 1)/√2, 1 along (1, −1)/√2 (sign: largest component
     * positive; on a tie the first). */
    double a2[4] = {2, 1, 1, 2};
    CHECK(nnxr_ag_jacobi(a2, 2, vals, vecs, work));
    CHECK_CLOSE(vals[0], 3, 1e-12);
    CHECK_CLOSE(vals[1], 1, 1e-12);
    CHECK_CLOSE(fabs(vecs[0]), M_SQRT1_2, 1e-12);
    CHECK_CLOSE(vecs[0], vecs[2], 1e-12);
    CHECK_CLOSE(vecs[1], -vecs[3], 1e-12);
    /* Q diag(7, 4, 2, −1) Qᵀ with Q an orthonormal matrix built from Householder reflections:
     * the eigenpairs come back (up to sign, fixed by the largest component). */
    double q[16], lam[4] = {7, 4, 2, -1}, a[16];
    double v[4] = {1, 2, -1, 0.5}, vv = 0;
    for (int i = 0; i < 4; i++)
        vv += v[i] * v[i];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            q[i * 4 + j] = (i == j) - 2 * v[i] * v[j] / vv;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double s = 0;
            for (int k = 0; k < 4; k++)
                s += q[i * 4 + k] * lam[k] * q[j * 4 + k];
            a[i * 4 + j] = s;
        }
    CHECK(nnxr_ag_jacobi(a, 4, vals, vecs, work));
    for (int k = 0; k < 4; k++) {
        CHECK_CLOSE(vals[k], lam[k], 1e-10);
        double dot = 0;
        for (int i = 0; i < 4; i++)
            dot += vecs[i * 4 + k] * q[i * 4 + k];
        CHECKF(fabs(fabs(dot) - 1) < 1e-10, "eigenvector %d: |<v, q>| = %.12f", k, fabs(dot));
        /* A v = λ v. */
        double res = 0;
        for (int i = 0; i < 4; i++) {
            double s = 0;
            for (int j = 0; j < 4; j++)
                s += a[i * 4 + j] * vecs[j * 4 + k];
            res = fmax(res, fabs(s - vals[k] * vecs[i * 4 + k]));
        }
        CHECKF(res < 1e-10, "eigenpair %d residual %g", k, res);
    }
}

/* ---- config and requests ------------------------------------------------------------------- */

static void test_config(tr_scene *s, test_host *t)
{
    (void)s;
    fake_model *m = &t->model;
    fill_model(m, 5);
    model_upload(m);
    m->generation = 40;
    tph_plugin p;
    nnxr_error err;
    CHECK(!try_load(t, "colour_map = \"jet\"\n", &p, &err));
    CHECK_CONTAINS(err.message, "colour_map");
    tph_unload(&p);
    CHECK(!try_load(t, "layers = [\"dense1\", \"conv9\"]\n", &p, &err));
    CHECK_CONTAINS(err.message, "no layer 'conv9'");
    CHECK_CONTAINS(err.message, "conv0, dense1, dense2");
    tph_unload(&p);
    CHECK(!try_load(t, "rows = \"sample\"\n", &p, &err));
    CHECK_CONTAINS(err.message, "rows");
    tph_unload(&p);
    CHECK(!try_load(t, "pca_layer = \"dense7\"\n", &p, &err));
    CHECK_CONTAINS(err.message, "pca_layer = \"dense7\"");
    tph_unload(&p);
    t->h.model = NULL;
    CHECK(!try_load(t, "", &p, &err));
    CHECK_CONTAINS(err.message, "this scene has none");
    tph_unload(&p);
    t->h.model = &t->model_api;
    /* Defaults: every layer, PCA on, gallery on; an evaluation every 10 steps when asked. */
    if (load(t, s, "evaluate_every = 10\n", &p)) {
        m->outputs_version = 0;
        t->evaluations = 0;
        nnxr_frame f = {0};
        tph_frame(s, &p, &f);
        f.train_step = 9;
        tph_frame(s, &p, &f);
        CHECKF(t->evaluations == 1, "one evaluation by step 9 (%d)", t->evaluations);
        f.train_step = 10;
        tph_frame(s, &p, &f);
        f.train_step = 25;
        tph_frame(s, &p, &f);
        CHECKF(t->evaluations == 3, "evaluations at the start, step 10, step 25 (%d)",
               t->evaluations);
        f.paused = true;
        f.train_step = 60;
        tph_frame(s, &p, &f);
        CHECKF(t->evaluations == 3, "none while paused (%d)", t->evaluations);
    } else {
        CHECK(false);
    }
    tph_unload(&p);
}

int main(void)
{
    for (int i = 0; i <= 1024; i++)
        viridis8((float)i / 1024.0f, viridis_tab[i]);
    test_jacobi();
    tr_scene s;
    tr_open(&s, W, H, 1);
    test_host t;
    memset(&t, 0, sizeof t);
    t.model.gpu = s.gpu;
    tph_init(&t.h, s.gpu);
    t.h.dump_name = "activations";
    t.h.push = on_push;
    t.h.push_user = &t;
    t.model_api = (nnxr_model_api){&t.model, sizeof t.model_api, model_info, model_generation,
                                   NULL, model_data};
    t.h.model = &t.model_api;
    test_covariance_kernel(&s, &t);
    test_config(&s, &t);
    test_grid(&s, &t);
    test_maps(&s, &t);
    test_gallery(&s, &t);
    test_pca_picture(&s, &t);
    nnxr_buffer_destroy(s.gpu, t.model.probe);
    nnxr_buffer_destroy(s.gpu, t.model.means);
    nnxr_buffer_destroy(s.gpu, t.model.eval);
    tr_close(&s);
    return check_finish();
}
