/* tests/unit/test_render_cloud.c — the latent cloud plugin (plugins/latent_cloud, the real .so)
 * driven by the plugin test host (test_plugin_host.h) with this test's fakes: an "nnxr.cloud"
 * whose positions, labels, user flags and entropy live in GPU buffers this test fills, and
 * an "nnxr.model" (a VAE with a data view of synthetic 28x28 images: sample i
 * bright on its right half when i is even, on its left half when odd). Pictures are checked
 * for meaning at the pixels the points project to:
 *   - each cube shows its own image (the bright half where its sample's is) in its label's
 *     class colour — a user's label and a machine label alike —, grey when unlabeled; a
 *     machine-labelled cube is smaller (machine_scale) than a user-labelled one;
 *   - the uncertain markers (a halo around the cube) sit at the highest-entropy points that
 *     no user labelled, follow new entropy (a new outputs_version) and moving points;
 *   - an annotation sphere tints the background of its region in its class colour and leaves
 *     the cube in front of it as it was; it goes when the annotation goes;
 *   - a new generation with more points is followed;
 *   - the legend's swatches show the class colours, and its count text changes with labels;
 *   - bad config keys and a missing cloud service are refused with messages.
 * `test_render_cloud --bench [n ...]` instead times frames of the plugin at 1280x720 (default
 * n = 10,000 and 50,000), with the cube path the plugin uses. */
#include "test_plugin_host.h"

#include <time.h>

#define IMG 28
#define NIMG 8

/* ---- the fake cloud and model ------------------------------------------------------------- */

typedef struct fake_cloud {
    nnxr_gpu *gpu;
    uint32_t n;
    uint64_t generation, labels_version;
    float room;
    nnxr_buffer *pos, *labels, *user, *entropy;
    nnxr_cloud_annotation annots[4];
    uint32_t annot_count;
    uint32_t labelled;
} fake_cloud;

typedef struct fake_model {
    uint64_t outputs_version;
    uint32_t count;
    uint8_t *images;
    uint8_t *classes;
    const char *names[10];
} fake_model;

static void cloud_free(fake_cloud *c)
{
    nnxr_buffer_destroy(c->gpu, c->pos);
    nnxr_buffer_destroy(c->gpu, c->labels);
    nnxr_buffer_destroy(c->gpu, c->user);
    nnxr_buffer_destroy(c->gpu, c->entropy);
    c->pos = c->labels = c->user = c->entropy = NULL;
}

/* Sets the cloud's contents; a new n re-creates the buffers (a new generation). */
static void cloud_set(fake_cloud *c, uint32_t n, const float (*pos)[3], const int32_t *labels,
                      const uint32_t *user, const float *entropy)
{
    nnxr_error err;
    if (n != c->n || !c->pos) {
        nnxr_gpu_wait_idle(c->gpu, NULL);
        cloud_free(c);
        c->pos = tg_buffer(c->gpu, "fake cloud positions", NNXR_BUFFER_DEVICE, (size_t)n * 16);
        c->labels = tg_buffer(c->gpu, "fake cloud labels", NNXR_BUFFER_DEVICE, (size_t)n * 4);
        c->user = tg_buffer(c->gpu, "fake cloud user", NNXR_BUFFER_DEVICE, (size_t)n * 4);
        c->entropy = tg_buffer(c->gpu, "fake cloud entropy", NNXR_BUFFER_DEVICE, (size_t)n * 4);
        c->n = n;
        c->generation++;
    }
    float *p4 = tg_alloc((size_t)n * 16);
    c->labelled = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(p4 + 4 * i, pos[i], 12);
        p4[4 * i + 3] = 1.0f;
        c->labelled += user[i] && labels[i] >= 0;
    }
    CHECK(nnxr_buffer_upload(c->gpu, c->pos, 0, p4, (size_t)n * 16, &err));
    CHECK(nnxr_buffer_upload(c->gpu, c->labels, 0, labels, (size_t)n * 4, &err));
    CHECK(nnxr_buffer_upload(c->gpu, c->user, 0, user, (size_t)n * 4, &err));
    CHECK(nnxr_buffer_upload(c->gpu, c->entropy, 0, entropy, (size_t)n * 4, &err));
    free(p4);
}

static bool cloud_info(void *ctx, nnxr_cloud_view *out, nnxr_error *err)
{
    (void)err;
    fake_cloud *c = ctx;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->generation = c->generation;
    out->n = c->n;
    out->classes = 10;
    out->room = c->room;
    out->positions = (nnxr_model_region){c->pos, 0, (VkDeviceSize)c->n * 16};
    out->labels = (nnxr_model_region){c->labels, 0, (VkDeviceSize)c->n * 4};
    out->user = (nnxr_model_region){c->user, 0, (VkDeviceSize)c->n * 4};
    out->entropy = (nnxr_model_region){c->entropy, 0, (VkDeviceSize)c->n * 4};
    out->labels_version = c->labels_version;
    out->labelled = c->labelled;
    out->annotation_count = c->annot_count;
    out->annotations = c->annots;
    return true;
}

static bool model_info(void *ctx, nnxr_model_info *out, nnxr_error *err)
{
    (void)err;
    fake_model *m = ctx;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->generation = 1;
    out->outputs_version = m->outputs_version;
    out->kind = NNXR_MODEL_VAE;
    out->in_c = 1, out->in_h = IMG, out->in_w = IMG;
    out->classes = 10;
    out->latent_dim = 3;
    return true;
}

static uint64_t model_generation(void *ctx)
{
    (void)ctx;
    return 1;
}

static bool model_data(void *ctx, nnxr_model_data *out, nnxr_error *err)
{
    (void)err;
    fake_model *m = ctx;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->scale = 1.0f / 255.0f;
    out->train.count = m->count;
    out->train.u8 = m->images;
    out->train.labels = m->classes;
    out->class_names = m->names;
    return true;
}

/* Sample i: bright (255) on the right half when i is even, on the left half when odd. */
static void model_make(fake_model *m, uint32_t count)
{
    static const char *const names[10] = {"zero", "one", "two", "three", "four",
                                          "five", "six", "seven", "eight", "nine"};
    memset(m, 0, sizeof *m);
    m->count = count;
    m->images = tg_alloc((size_t)count * IMG * IMG);
    m->classes = tg_alloc(count);
    for (uint32_t i = 0; i < count; i++)
        for (int y = 0; y < IMG; y++)
            for (int x = 0; x < IMG; x++)
                m->images[(size_t)i * IMG * IMG + y * IMG + x] =
                    (i % 2 == 0) == (x >= IMG / 2) ? 255 : 0;
    memcpy(m->names, names, sizeof names);
}

/* ---- the host ------------------------------------------------------------------------------- */

typedef struct test_host {
    tph_host h; /* the cloud service while h.cloud points at cloud_api; the model's, model_api */
    fake_cloud cloud;
    nnxr_cloud_api cloud_api;
    fake_model model;
    nnxr_model_api model_api;
} test_host;

static const char plugin_id[] = "nnxr.latent_cloud";

/* Creates the plugin with the [[plugin]] table's keys in `toml`; false with err filled. */
static bool create(test_host *t, const char *toml, tph_plugin *p, nnxr_error *err)
{
    return tph_create(&t->h, plugin_id, toml, p, err);
}

static bool load(test_host *t, tr_scene *s, const char *toml, tph_plugin *p)
{
    return tph_load(&t->h, s, plugin_id, toml, TPH_NEED_UPDATE | TPH_NEED_COMPUTE, p);
}

/* ---- reading the picture ------------------------------------------------------------------- */

static const uint8_t *at(const tr_scene *s, float x, float y, float z)
{
    float p[3] = {x, y, z};
    int px, py;
    tr_project(s, p, &px, &py);
    return tr_px(s, px, py);
}

static void scaled(int label, float k, float out[3])
{
    nnxr_color_class(label, out);
    for (int i = 0; i < 3; i++)
        out[i] *= k;
}

/* The front (+z) face of cube i (centre c, half size h): its own image in its label's colour.
 * The face's shade is 0.9 (cube.vert); a bright image pixel shows the colour × 1, a dark one
 * × 0.2 (GREY shading of cubes). */
static bool cube_shows(const tr_scene *s, const float c[3], float h, int label, bool even,
                       const char *what)
{
    float bright[3], dark[3];
    scaled(label, 0.9f, bright);
    scaled(label, 0.9f * 0.2f, dark);
    const uint8_t *right = at(s, c[0] + 0.5f * h, c[1], c[2] + h);
    const uint8_t *left = at(s, c[0] - 0.5f * h, c[1], c[2] + h);
    bool ok = tr_near(right, even ? bright : dark, 8) && tr_near(left, even ? dark : bright, 8);
    if (!ok)
        fprintf(stderr, "%s: right (%d %d %d) left (%d %d %d), want label %d %s half bright\n",
                what, right[0], right[1], right[2], left[0], left[1], left[2], label,
                even ? "right" : "left");
    return ok;
}

static bool is_black(const uint8_t *px) { return px[0] < 4 && px[1] < 4 && px[2] < 4; }

/* The uncertain marker: a white disc behind the cube, seen around it. */
static bool halo_at(const tr_scene *s, const float c[3])
{
    const uint8_t *px = at(s, c[0], c[1] + 0.4f, c[2]);
    return px[0] > 110 && px[1] > 110 && px[2] > 110 && abs(px[0] - px[2]) < 30;
}

/* ---- the scene of the tests ---------------------------------------------------------------- */

static const float pos6[6][3] = {{-1.5f, 0, 0}, {-0.5f, 0, 0}, {0.5f, 0, 0},
                                 {1.5f, 0, 0},  {-1.0f, 0.9f, 0}, {1.0f, -0.9f, 0}};
/* 0 user red, 1 machine blue, 2 unlabeled, 3 user green, 4 unlabeled, 5 machine orange */
static const int32_t lab6[6] = {0, 1, -1, 2, -1, 3};
static const uint32_t user6[6] = {1, 0, 0, 1, 0, 0};
/* Point 3 is the most uncertain but labelled by the user: not marked. */
static const float ent6[6] = {0.1f, 0.5f, 0.3f, 2.2f, 1.5f, 2.0f};

static const char cfg_main[] =
    "cube_size = 0.5\nshow_uncertain = 2\nuncertain_glow = 0\nlegend = false\n";

static void test_cubes_and_markers(tr_scene *s, test_host *t)
{
    t->cloud.room = 4.0f;
    cloud_set(&t->cloud, 6, pos6, lab6, user6, ent6);
    tph_plugin p;
    if (!load(t, s, cfg_main, &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {0};
    tph_frame(s, &p, &f);
    const float h = 0.25f;
    for (int i = 0; i < 6; i++) {
        char what[64];
        snprintf(what, sizeof what, "cube %d", i);
        float hh = lab6[i] >= 0 && !user6[i] ? h * 0.7f : h;
        CHECKF(cube_shows(s, pos6[i], hh, lab6[i], i % 2 == 0, what), "%s: colour and image",
               what);
    }
    /* A machine label's cube is smaller than a user label's: 0.22 from the centre is inside
     * the user's cube 0 (half 0.25) and outside the machine's cube 1 (half 0.175). */
    const uint8_t *u = at(s, pos6[0][0], 0.22f, 0), *m = at(s, pos6[1][0], 0.22f, 0);
    float red[3], blue[3];
    scaled(0, 0.9f, red);
    scaled(1, 0.9f, blue);
    CHECKF(!is_black(u) && is_black(m), "user cube covers 0.22 (%d %d %d), machine cube "
           "does not (%d %d %d)", u[0], u[1], u[2], m[0], m[1], m[2]);
    /* Markers at the two highest-entropy points no user labelled: 5 and 4. */
    for (int i = 0; i < 6; i++)
        CHECKF(halo_at(s, pos6[i]) == (i == 4 || i == 5), "marker at point %d: %s", i,
               halo_at(s, pos6[i]) ? "yes" : "no");

    /* New outputs (an evaluation): entropy now highest at 1 and 2. */
    static const float ent_b[6] = {0.1f, 1.9f, 1.8f, 2.2f, 0.2f, 0.3f};
    cloud_set(&t->cloud, 6, pos6, lab6, user6, ent_b);
    t->model.outputs_version++;
    tph_frame(s, &p, &f);
    for (int i = 0; i < 6; i++)
        CHECKF(halo_at(s, pos6[i]) == (i == 1 || i == 2), "after new outputs, marker at "
               "point %d: %s", i, halo_at(s, pos6[i]) ? "yes" : "no");

    /* The simulation moves point 2 (same buffers): its cube and its marker follow. */
    float moved[6][3];
    memcpy(moved, pos6, sizeof moved);
    moved[2][1] = -0.9f, moved[2][0] = -0.8f;
    cloud_set(&t->cloud, 6, moved, lab6, user6, ent_b);
    tph_frame(s, &p, &f);
    CHECK(cube_shows(s, moved[2], h, -1, true, "moved cube 2"));
    CHECK(halo_at(s, moved[2]));
    CHECK(is_black(at(s, pos6[2][0], pos6[2][1], pos6[2][2] + h)));

    /* The user labels point 2 (labels_version): blue, full size, and no longer marked. */
    int32_t lab_c[6];
    uint32_t user_c[6];
    memcpy(lab_c, lab6, sizeof lab_c);
    memcpy(user_c, user6, sizeof user_c);
    lab_c[2] = 1, user_c[2] = 1;
    cloud_set(&t->cloud, 6, moved, lab_c, user_c, ent_b);
    t->cloud.labels_version++;
    tph_frame(s, &p, &f);
    CHECK(cube_shows(s, moved[2], h, 1, true, "labelled cube 2"));
    CHECK(!halo_at(s, moved[2]));
    CHECK(halo_at(s, pos6[1])); /* 1 is still the most uncertain unlabelled point */

    /* An annotation sphere around cube 0 (purple, class 4): the background in its region
     * takes a purple tint; cube 0, in front of the sphere's centre, keeps its red. */
    t->cloud.annots[0] = (nnxr_cloud_annotation){{pos6[0][0], 0, 0}, 0.7f, 4, 1, 0};
    t->cloud.annot_count = 1;
    t->cloud.labels_version++;
    tph_frame(s, &p, &f);
    const uint8_t *in = at(s, pos6[0][0], -0.45f, 0), *out = at(s, pos6[0][0], -0.85f, 0);
    CHECKF(in[2] > 35 && in[2] > in[0] + 10 && in[0] > in[1] + 10 && is_black(out),
           "annotation tint inside (%d %d %d), outside (%d %d %d)", in[0], in[1], in[2],
           out[0], out[1], out[2]);
    CHECK(cube_shows(s, pos6[0], h, 0, true, "cube 0 in its annotation sphere"));
    t->cloud.annot_count = 0;
    t->cloud.labels_version++;
    tph_frame(s, &p, &f);
    CHECK(is_black(at(s, pos6[0][0], -0.45f, 0)));

    /* A new generation with two more points: 6 (user, cyan), 7 (unlabeled). */
    float pos8[8][3];
    memcpy(pos8, moved, sizeof moved);
    pos8[6][0] = 0.2f, pos8[6][1] = 0.9f, pos8[6][2] = 0;
    pos8[7][0] = 0.3f, pos8[7][1] = -0.9f, pos8[7][2] = 0;
    int32_t lab8[8];
    uint32_t user8[8];
    float ent8[8];
    memcpy(lab8, lab_c, sizeof lab_c);
    memcpy(user8, user_c, sizeof user_c);
    memcpy(ent8, ent_b, sizeof ent_b);
    lab8[6] = 5, user8[6] = 1, ent8[6] = 0.1f;
    lab8[7] = -1, user8[7] = 0, ent8[7] = 0.1f;
    uint64_t gen = t->cloud.generation;
    cloud_set(&t->cloud, 8, (const float(*)[3])pos8, lab8, user8, ent8);
    CHECK(t->cloud.generation != gen);
    tph_frame(s, &p, &f);
    CHECK(cube_shows(s, pos8[6], h, 5, true, "new cube 6"));
    CHECK(cube_shows(s, pos8[7], h, -1, false, "new cube 7"));
    CHECK(cube_shows(s, pos8[0], h, 0, true, "cube 0 after the new generation"));
    CHECK(t->h.errors == 0);
    tph_unload(&p);
    nnxr_gpu_wait_idle(s->gpu, NULL);
}

/* machine_labels = "grey": only the user's labels coloured (the paper's look), the
 * classifier's shown grey and full size; a machine label the user confirms turns coloured. */
static void test_machine_grey(tr_scene *s, test_host *t)
{
    cloud_set(&t->cloud, 6, pos6, lab6, user6, ent6);
    tph_plugin p;
    if (!load(t, s, "cube_size = 0.5\nmachine_labels = \"grey\"\nlegend = false\n"
                    "show_uncertain = 0\n", &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {0};
    tph_frame(s, &p, &f);
    const float h = 0.25f;
    for (int i = 0; i < 6; i++) {
        char what[64];
        snprintf(what, sizeof what, "grey mode, cube %d", i);
        CHECKF(cube_shows(s, pos6[i], h, user6[i] ? lab6[i] : -1, i % 2 == 0, what), "%s",
               what);
    }
    int32_t lab[6];
    uint32_t user[6];
    memcpy(lab, lab6, sizeof lab);
    memcpy(user, user6, sizeof user);
    user[5] = 1;
    cloud_set(&t->cloud, 6, pos6, lab, user, ent6);
    t->cloud.labels_version++;
    tph_frame(s, &p, &f);
    CHECK(cube_shows(s, pos6[5], h, 3, false, "grey mode, cube 5 confirmed by the user"));
    CHECK(cube_shows(s, pos6[1], h, -1, false, "grey mode, cube 1 still the machine's"));
    tph_unload(&p);
}

/* The legend at (10, 10): a line of 16 + 4 px per class after the header, a 16-px swatch
 * 6 px inside the panel. */
static void test_legend(tr_scene *s, test_host *t)
{
    cloud_set(&t->cloud, 6, pos6, lab6, user6, ent6);
    tph_plugin p;
    if (!load(t, s, "cube_size = 0.5\nlegend_x = 10\nlegend_y = 10\nlegend_opacity = 0\n"
                    "text_px = 16\n", &p)) {
        CHECK(false);
        tph_unload(&p);
        return;
    }
    nnxr_frame f = {0};
    tph_frame(s, &p, &f);
    int good = 0;
    for (int k = 0; k < 10; k++) {
        float rgb[3];
        nnxr_color_class(k, rgb);
        const uint8_t *px = tr_px(s, 10 + 6 + 8, 10 + 6 + 20 * (k + 1) + 8);
        good += tr_near(px, rgb, 3);
        if (!tr_near(px, rgb, 3))
            fprintf(stderr, "swatch %d: (%d %d %d)\n", k, px[0], px[1], px[2]);
    }
    CHECKF(good == 10, "%d of 10 class swatches", good);
    /* Text: white pixels right of the swatches, on class 0's line and the header. */
    int white0 = 0, whiteh = 0;
    for (int y = 36; y < 52; y++)
        for (int x = 38; x < 200; x++)
            white0 += tr_px(s, x, y)[0] > 200 && tr_px(s, x, y)[2] > 200;
    uint8_t *header = malloc(200 * 16 * 4);
    for (int y = 16; y < 32; y++)
        for (int x = 16; x < 216; x++) {
            whiteh += tr_px(s, x, y)[0] > 200 && tr_px(s, x, y)[1] > 200;
            memcpy(header + ((y - 16) * 200 + (x - 16)) * 4, tr_px(s, x, y), 4);
        }
    CHECKF(white0 > 40 && whiteh > 40, "legend text: %d white pixels on class 0's line, %d in "
           "the header", white0, whiteh);
    /* One more user label: the header's count changes ("labelled 2 / 6" → "3 / 6"). */
    int32_t lab[6];
    uint32_t user[6];
    memcpy(lab, lab6, sizeof lab);
    memcpy(user, user6, sizeof user);
    lab[4] = 7, user[4] = 1;
    cloud_set(&t->cloud, 6, pos6, lab, user, ent6);
    t->cloud.labels_version++;
    tph_frame(s, &p, &f);
    int diff = 0;
    for (int y = 16; y < 32; y++)
        for (int x = 16; x < 216; x++)
            diff += memcmp(header + ((y - 16) * 200 + (x - 16)) * 4, tr_px(s, x, y), 3) != 0;
    CHECKF(diff > 0 && diff < 200, "header count redrawn: %d pixels changed", diff);
    free(header);
    tph_unload(&p);
    /* legend = false: no swatches. */
    if (load(t, s, "cube_size = 0.5\nlegend = false\nlegend_x = 10\nlegend_y = 10\n", &p)) {
        tph_frame(s, &p, &f);
        CHECK(is_black(tr_px(s, 10 + 6 + 8, 10 + 6 + 20 + 8)));
    } else {
        CHECK(false);
    }
    tph_unload(&p);
}

static void expect_refused(test_host *t, const char *toml, const char *needle)
{
    tph_plugin p;
    nnxr_error err;
    err.message[0] = '\0';
    bool ok = create(t, toml, &p, &err);
    CHECKF(!ok, "accepted: %s", toml);
    if (!ok)
        CHECK_CONTAINS(err.message, needle);
    tph_unload(&p);
}

static void test_config(test_host *t)
{
    expect_refused(t, "cube_sise = 0.1\n", "cube_sise");
    expect_refused(t, "cube_faces = 4\n", "cube_faces");
    expect_refused(t, "show_uncertain = -1\n", "show_uncertain");
    expect_refused(t, "machine_scale = 2.0\n", "machine_scale");
    expect_refused(t, "legend = 3\n", "legend");
    expect_refused(t, "text_px = 4\n", "text_px");
    expect_refused(t, "machine_labels = \"pink\"\n", "machine_labels");
    expect_refused(t, "uncertain_color = [1.0, 2.0, 0.0]\n", "uncertain_color");
    t->h.cloud = NULL;
    expect_refused(t, "", "\"nnxr.cloud\" service");
    t->h.cloud = &t->cloud_api;
    /* No keys at all (as configs/latent_cloud.toml includes it): accepted. */
    tph_plugin p;
    nnxr_error err;
    CHECKF(create(t, "", &p, &err), "defaults refused: %s", err.message);
    tph_unload(&p);
}

/* ---- timing ---------------------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Frames of the plugin with its defaults in a 4 m room seen from outside (as the paper's
 * user first sees it), the points in ten clusters, 10 % labelled by the user. */
static void bench(test_host *t, const uint32_t *ns, int count)
{
    /* As tr_open, but without the validation layers (they would be timed too). */
    tr_scene s;
    memset(&s, 0, sizeof s);
    nnxr_gpu_options o = {.graphics = true};
    nnxr_error err;
    if (!nnxr_gpu_create(&o, &s.gpu, &err)) {
        fprintf(stderr, "bench: %s\n", err.message);
        return;
    }
    s.w = 1280, s.h = 720;
    float clear[3] = {0, 0, 0};
    s.api = nnxr_render_api_get();
    nnxr_render_target_info ti;
    if (!nnxr_offscreen_create(s.gpu, s.w, s.h, 1, clear, &s.target, &err) ||
        !nnxr_recorder_create(s.gpu, 4, &s.rec, &err) ||
        !nnxr_draw_create_gpu(s.gpu, &s.draw, &err) ||
        (nnxr_offscreen_info(s.target, &ti), !s.api->prepare(s.draw, &ti, &err))) {
        fprintf(stderr, "bench setup: %s\n", err.message);
        exit(1);
    }
    s.rgba = malloc((size_t)s.w * s.h * 4);
    tph_set_gpu(&t->h, s.gpu);
    t->cloud.gpu = s.gpu;
    for (int c = 0; c < 3 * count; c++) {
        /* Case 0: the plugin's defaults, the user outside a 4 m room. Case 1: the geometry of
         * `nnxr bench render` (cubes of 0.05 in clusters of radius 0.35 around a ring of 0.6,
         * seen from 2.6 m), whose plain 6-face renderer FACTS.md times. Case 2: the same with
         * only the cubes (no markers, legend, annotations): the plugin's own overhead. */
        bool close = c % 3 != 0, bare = c % 3 == 2;
        float ring = close ? 0.6f : 1.1f, rad = close ? 0.35f : 0.6f;
        float eye[3] = {0.0f, close ? 0.5f : 0.8f, close ? 2.6f : 4.2f}, at_[3] = {0, 0, 0};
        nnxr_view_look_at(&s.view, eye, at_, 60.0f, s.w, s.h);
        uint32_t n = ns[c / 3], seed = 4242u + n;
        fake_model *m = &t->model;
        free(m->images);
        free(m->classes);
        model_make(m, n);
        float(*pos)[3] = tg_alloc((size_t)n * 12);
        int32_t *lab = tg_alloc((size_t)n * 4);
        uint32_t *user = tg_alloc((size_t)n * 4);
        float *ent = tg_alloc((size_t)n * 4);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = i % 10;
            float cx = ring * cosf((float)k * 0.628f), cz = ring * sinf((float)k * 0.628f);
            float r = rad * cbrtf(tg_uniform(&seed));
            float th = 6.2831853f * tg_uniform(&seed), ph = acosf(2.0f * tg_uniform(&seed) - 1);
            pos[i][0] = cx + r * sinf(ph) * cosf(th);
            pos[i][1] = r * cosf(ph);
            pos[i][2] = cz + r * sinf(ph) * sinf(th);
            user[i] = (i / 10) % 10 == 0;
            lab[i] = user[i] ? (int32_t)k : -1;
            ent[i] = tg_uniform(&seed) * 2.3f;
        }
        cloud_set(&t->cloud, n, (const float(*)[3])pos, lab, user, ent);
        t->cloud.annot_count = 4; /* four spheres, as a user's first annotations */
        for (uint32_t k = 0; k < 4; k++)
            t->cloud.annots[k] = (nnxr_cloud_annotation){
                {ring * cosf((float)k * 0.628f), 0, ring * sinf((float)k * 0.628f)},
                0.5f * rad, (int32_t)k, 100, 0};
        tph_plugin p;
        const char *cfg = bare    ? "cube_size = 0.05\nshow_uncertain = 0\nlegend = false\n"
                                    "annotations = false\n"
                          : close ? "cube_size = 0.05\n"
                                  : "";
        if (!load(t, &s, cfg, &p)) {
            tph_unload(&p);
            break;
        }
        nnxr_frame f = {0};
        enum { WARM = 3, FRAMES = 15 };
        double ms[FRAMES], first = 0;
        for (int i = 0; i < WARM + FRAMES; i++) {
            double t0 = now_ms();
            nnxr_error err;
            p.update->update(p.self, &f);
            nnxr_recorder_begin(s.rec, &err);
            VkCommandBuffer cmd = nnxr_recorder_cmd(s.rec);
            p.compute->record_compute(p.self, cmd, &f);
            nnxr_offscreen_begin(s.target, cmd);
            p.draw->record_draw(p.self, cmd, &s.view, &f);
            nnxr_offscreen_end(s.target, cmd, false);
            nnxr_recorder_external(s.rec);
            nnxr_recorder_run(s.rec, &err);
            f.index++;
            if (i >= WARM)
                ms[i - WARM] = now_ms() - t0;
            else if (i == 0)
                first = now_ms() - t0;
        }
        qsort(ms, FRAMES, sizeof ms[0], cmp_d);
        if (!close)
            printf("latent_cloud plugin, %u cubes: first frame (the atlas filled) %.0f ms\n", n,
                   first);
        printf("latent_cloud plugin, %u cubes, 1280x720, %s: median %.1f ms/frame "
               "(min %.1f, max %.1f) over %d frames\n", n,
               bare    ? "bench-render geometry, cubes only"
               : close ? "bench-render geometry, cube_size 0.05"
                       : "defaults, 4 m room",
               ms[FRAMES / 2], ms[0], ms[FRAMES - 1], FRAMES);
        if (getenv("NNXR_TEST_DUMP")) {
            char path[1024];
            nnxr_error err;
            snprintf(path, sizeof path, "%s/cloud-bench-%u-%d.png", getenv("NNXR_TEST_DUMP"), n,
                     c % 3);
            nnxr_recorder_begin(s.rec, &err);
            VkCommandBuffer cmd = nnxr_recorder_cmd(s.rec);
            p.update->update(p.self, &f);
            p.compute->record_compute(p.self, cmd, &f);
            nnxr_offscreen_begin(s.target, cmd);
            p.draw->record_draw(p.self, cmd, &s.view, &f);
            nnxr_offscreen_end(s.target, cmd, true);
            nnxr_recorder_external(s.rec);
            if (nnxr_recorder_run(s.rec, &err) && nnxr_offscreen_pixels(s.target, s.rgba, &err))
                nnxr_png_write(path, s.rgba, s.w, s.h, 1, &err);
        }
        tph_unload(&p);
        free(pos);
        free(lab);
        free(user);
        free(ent);
    }
    nnxr_gpu_wait_idle(s.gpu, NULL);
    cloud_free(&t->cloud);
    free(t->model.images);
    free(t->model.classes);
    tr_close(&s);
}

int main(int argc, char **argv)
{
    test_host t;
    memset(&t, 0, sizeof t);
    tph_init(&t.h, NULL);
    t.h.dump_name = "cloud";
    t.cloud_api = (nnxr_cloud_api){&t.cloud, sizeof t.cloud_api, cloud_info, NULL};
    t.model_api = (nnxr_model_api){&t.model, sizeof t.model_api, model_info, model_generation,
                                   NULL, model_data};
    t.h.cloud = &t.cloud_api;
    t.h.model = &t.model_api;
    if (argc > 1 && !strcmp(argv[1], "--bench")) {
        uint32_t ns[8] = {10000, 50000};
        int count = 2;
        if (argc > 2) {
            count = 0;
            for (int i = 2; i < argc && count < 8; i++)
                ns[count++] = (uint32_t)strtoul(argv[i], NULL, 10);
        }
        bench(&t, ns, count);
        return check_finish();
    }
    tr_scene s;
    tr_open(&s, 640, 360, 1);
    float eye[3] = {0.0f, 0.0f, 5.0f}, at_[3] = {0, 0, 0};
    nnxr_view_look_at(&s.view, eye, at_, 60.0f, s.w, s.h);
    tph_set_gpu(&t.h, s.gpu);
    t.cloud.gpu = s.gpu;
    model_make(&t.model, NIMG);
    test_config(&t);
    test_cubes_and_markers(&s, &t);
    test_machine_grey(&s, &t);
    test_legend(&s, &t);
    nnxr_gpu_wait_idle(s.gpu, NULL);
    cloud_free(&t.cloud);
    free(t.model.images);
    free(t.model.classes);
    tr_close(&s);
    return check_finish();
}
