/* app/cli_bench_render.c — `nnxr bench render`: frame time of the renderer on the chosen
 * device at 1280×720 for the latent cloud as n textured cubes (n = 10,000 and 50,000 by
 * default; positions from a GPU buffer that a compute step rewrites each frame, class
 * colours from a label buffer, images from an atlas) and for the graph view of a 784-64-64-10
 * MLP (spheres with glow, 4,224 links, labels; the force layout stepped on the CPU). Each
 * cloud is drawn twice in the same run: by nnxr's cube path (only the faces toward the eye,
 * one camera-facing image quad for cubes smaller than lod_pixels on screen) and by a plain
 * instanced renderer (all six faces, back-face culling) — the baseline. A frame's breakdown:
 * compute and draw from GPU timestamps, readback (image copy + fetch), CPU work, and the wall
 * time of the whole frame. Table on stdout, or one JSON object with --json. */
#include "app/bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "gpu/gpu.h"
#include "render/offscreen.h"
#include "render/png_writer.h"
#include "render/renderer.h"
#include "sim/graph_layout.h"

#define MAX_SIZES 8

typedef struct opts {
    uint32_t sizes[MAX_SIZES];
    uint32_t size_count;
    uint32_t frames, warmup, width, height, samples;
    float lod_pixels, cube_size;
    const char *device;
    const char *save; /* folder for each case's last picture */
    bool json, no_graph;
} opts;

typedef struct result {
    char name[64];
    const char *renderer; /* "nnxr" or "plain" */
    uint32_t n;           /* cubes, or graph nodes */
    uint32_t extra;       /* graph: links */
    double frame_ms, cpu_ms, compute_ms, draw_ms, readback_ms; /* medians */
} result;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, uint32_t n)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void usage(void)
{
    printf("usage: nnxr bench render [options]\n"
           "\n"
           "Frame time of the renderer at 1280x720: the latent cloud as n textured cubes (nnxr's\n"
           "cube path and a plain instanced renderer, the baseline, in the same run) and the\n"
           "graph view of a 784-64-64-10 MLP, with each frame's compute, draw and readback.\n"
           "\n"
           "options:\n"
           "  --sizes N,N,...   cube counts (default 10000,50000)\n"
           "  --frames F        timed frames per case (default 20), after --warmup W (3)\n"
           "  --width W --height H --samples S   target (default 1280 720 1)\n"
           "  --lod-pixels P    cubes smaller than P pixels become one quad (default 16)\n"
           "  --cube-size S     side of a cube in world units (default 0.05)\n"
           "  --no-graph        leave out the graph view\n"
           "  --save DIR        write each case's last frame as DIR/CASE.png\n"
           "  --device NAME|INDEX\n"
           "  --json            one JSON object on stdout\n");
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.sizes = {10000, 50000}, .size_count = 2, .frames = 20, .warmup = 3,
                .width = 1280, .height = 720, .samples = 1, .lod_pixels = 16.0f,
                .cube_size = 0.05f};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return -1;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--no-graph")) {
            o->no_graph = true;
        } else if (!v) {
            fprintf(stderr, "nnxr bench render: unknown option '%s' or it needs a value\n", a);
            return 2;
        } else {
            i++;
            char *end = NULL;
            double x = strtod(v, &end);
            bool num = end && end != v && !*end && isfinite(x) && x >= 0;
            if (!strcmp(a, "--sizes")) {
                o->size_count = 0;
                for (const char *p = v; *p && o->size_count < MAX_SIZES;) {
                    long n = strtol(p, &end, 10);
                    if (end == p || n <= 0 || n > 4000000) {
                        fprintf(stderr, "nnxr bench render: --sizes: expected counts like "
                                "10000,50000, got '%s'\n", v);
                        return 2;
                    }
                    o->sizes[o->size_count++] = (uint32_t)n;
                    p = *end == ',' ? end + 1 : end;
                }
            } else if (!strcmp(a, "--device")) {
                o->device = v;
            } else if (!strcmp(a, "--save")) {
                o->save = v;
            } else if (!num) {
                fprintf(stderr, "nnxr bench render: %s expects a number, got '%s'\n", a, v);
                return 2;
            } else if (!strcmp(a, "--frames") && x >= 1) {
                o->frames = (uint32_t)x;
            } else if (!strcmp(a, "--warmup")) {
                o->warmup = (uint32_t)x;
            } else if (!strcmp(a, "--width") && x >= 16) {
                o->width = (uint32_t)x;
            } else if (!strcmp(a, "--height") && x >= 16) {
                o->height = (uint32_t)x;
            } else if (!strcmp(a, "--samples") && x >= 1) {
                o->samples = (uint32_t)x;
            } else if (!strcmp(a, "--lod-pixels")) {
                o->lod_pixels = (float)x;
            } else if (!strcmp(a, "--cube-size") && x > 0) {
                o->cube_size = (float)x;
            } else {
                fprintf(stderr, "nnxr bench render: unknown option '%s' or value out of range "
                        "'%s'\n", a, v);
                return 2;
            }
        }
    }
    return 0;
}

/* ---- the run ---------------------------------------------------------------------------- */

typedef struct bench {
    const opts *o;
    nnxr_gpu *gpu;
    const nnxr_render_api *api;
    nnxr_draw *draw;
    nnxr_offscreen *target;
    nnxr_recorder *rec;
    nnxr_view view;
    uint8_t *rgba;
    nnxr_kernel *spin;
} bench;

typedef struct frame_work {
    nnxr_draw_batch *batches[4];
    /* cubes: the compute step */
    const nnxr_binding *binding;
    uint32_t n;
    /* graph: the CPU step */
    nnxr_graph *graph;
    nnxr_draw_batch *nodes, *links;
} frame_work;

static void graph_instances(bench *b, frame_work *w)
{
    nnxr_graph *g = w->graph;
    nnxr_error err;
    b->api->batch_resize(b->draw, w->nodes, g->node_count, &err);
    b->api->batch_resize(b->draw, w->links, g->link_count, &err);
    nnxr_sphere *s = b->api->batch_data(b->draw, w->nodes);
    nnxr_line *l = b->api->batch_data(b->draw, w->links);
    float com[3] = {0, 0, 0}, r = 0;
    for (uint32_t i = 0; i < g->node_count; i++)
        for (int a = 0; a < 3; a++)
            com[a] += g->pos[i][a] / (float)g->node_count;
    for (uint32_t i = 0; i < g->node_count; i++) {
        float d = 0;
        for (int a = 0; a < 3; a++)
            d += (g->pos[i][a] - com[a]) * (g->pos[i][a] - com[a]);
        r = fmaxf(r, sqrtf(d));
    }
    float k = r > 0 ? 1.2f / r : 1.0f;
    for (uint32_t i = 0; i < g->node_count; i++) {
        uint32_t layer = g->layer_of[i];
        nnxr_graph_role role = layer == 0                ? NNXR_ROLE_INPUT
                               : layer == g->hidden + 1 ? NNXR_ROLE_OUTPUT
                                                        : nnxr_role_of_hidden(layer - 1);
        for (int a = 0; a < 3; a++)
            s[i].pos[a] = k * (g->pos[i][a] - com[a]);
        s[i].radius = layer == 0 || layer == g->hidden + 1 ? 0.1f : 0.04f;
        nnxr_color_role(role, s[i].color);
        s[i].color[3] = 1.0f;
    }
    for (uint32_t m = 0; m < g->link_count; m++) {
        for (int a = 0; a < 3; a++) {
            l[m].a[a] = k * (g->pos[g->links[m].a][a] - com[a]);
            l[m].b[a] = k * (g->pos[g->links[m].b][a] - com[a]);
        }
        l[m].color[0] = l[m].color[1] = l[m].color[2] = 1.0f;
        l[m].color[3] = 0.6f * g->links[m].norm;
    }
}

/* Runs warmup + timed frames of one case. */
static bool run_case(bench *b, frame_work *w, result *r, nnxr_error *err)
{
    const opts *o = b->o;
    uint32_t total = o->warmup + o->frames;
    double *frame = calloc(5 * (size_t)o->frames, sizeof *frame);
    if (!frame)
        return nnxr_fail(err, "out of memory");
    double *cpu = frame + o->frames, *comp = cpu + o->frames, *drw = comp + o->frames,
           *rb = drw + o->frames;
    nnxr_graph_params gp = nnxr_graph_params_default();
    bool ok = true;
    for (uint32_t f = 0; ok && f < total; f++) {
        double t0 = now_ms();
        if (w->graph) {
            nnxr_graph_step(w->graph, &gp, 1);
            graph_instances(b, w);
        }
        double t1 = now_ms();
        ok = nnxr_recorder_begin(b->rec, err) && nnxr_recorder_mark(b->rec, "start", err);
        if (!ok)
            break;
        if (w->binding) {
            struct {
                uint32_t n;
                float angle;
            } push = {w->n, 0.002f};
            ok = nnxr_recorder_dispatch(b->rec, b->spin, w->binding, &push, sizeof push,
                                        (w->n + 255) / 256, 1, 1, err);
        }
        ok = ok && nnxr_recorder_mark(b->rec, "compute", err);
        VkCommandBuffer cmd = nnxr_recorder_external_cmd(b->rec);
        nnxr_offscreen_begin(b->target, cmd);
        for (int i = 0; i < 4 && w->batches[i]; i++)
            b->api->record(b->draw, w->batches[i], cmd, &b->view);
        ok = ok && nnxr_recorder_mark(b->rec, "draw", err);
        nnxr_offscreen_end(b->target, cmd, true);
        nnxr_recorder_external(b->rec);
        ok = ok && nnxr_recorder_mark(b->rec, "end", err) && nnxr_recorder_run(b->rec, err);
        double t2 = now_ms();
        ok = ok && nnxr_offscreen_pixels(b->target, b->rgba, err);
        double t3 = now_ms();
        double m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        bool marks = nnxr_recorder_mark_ns(b->rec, "start", &m0) &&
                     nnxr_recorder_mark_ns(b->rec, "compute", &m1) &&
                     nnxr_recorder_mark_ns(b->rec, "draw", &m2) &&
                     nnxr_recorder_mark_ns(b->rec, "end", &m3);
        if (f >= o->warmup) {
            uint32_t k = f - o->warmup;
            frame[k] = t3 - t0;
            cpu[k] = t1 - t0;
            comp[k] = marks ? (m1 - m0) * 1e-6 : NAN;
            drw[k] = marks ? (m2 - m1) * 1e-6 : NAN;
            rb[k] = (marks ? (m3 - m2) * 1e-6 : 0.0) + (t3 - t2);
        }
    }
    if (ok && o->save) {
        char path[1024];
        nnxr_render_target_info ti;
        nnxr_offscreen_info(b->target, &ti);
        snprintf(path, sizeof path, "%s/%s-%u-%s.png", o->save, w->graph ? "graph" : "cloud",
                 r->n, r->renderer);
        nnxr_error perr;
        if (!nnxr_png_write(path, b->rgba, ti.width, ti.height, 1, &perr))
            fprintf(stderr, "nnxr bench render: %s\n", perr.message);
    }
    if (ok) {
        r->frame_ms = median(frame, o->frames);
        r->cpu_ms = median(cpu, o->frames);
        r->compute_ms = median(comp, o->frames);
        r->draw_ms = median(drw, o->frames);
        r->readback_ms = median(rb, o->frames);
    }
    free(frame);
    return ok;
}

/* A deterministic generator for the cloud and the images. */
static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static float unit(uint32_t *s) { return (float)(next(s) >> 8) / 16777216.0f; }

static bool cloud_cases(bench *b, uint32_t n, result *out, nnxr_error *err)
{
    const opts *o = b->o;
    nnxr_buffer *pos = NULL, *lab = NULL;
    nnxr_binding *bind = NULL;
    nnxr_draw_image *atlas = NULL;
    nnxr_draw_batch *cubes = NULL;
    uint8_t *pix = NULL;
    float *p4 = NULL;
    int32_t *labels = NULL;
    nnxr_cube *inst = NULL;
    bool ok = true;
    /* The images: 28 × 28 cells, as many columns as fit a square-ish atlas (70,000 images
     * exceed maxImageArrayLayers, so no texture array). 256 distinct images are enough to
     * sample from; every cube gets one of them. */
    uint32_t images = n < 1024 ? n : 1024, cols = 32, rows = (images + cols - 1) / cols;
    nnxr_draw_image_desc ad = {.name = "bench atlas", .format = NNXR_IMAGE_R8,
                               .width = cols * 28, .height = rows * 28, .cell_width = 28,
                               .cell_height = 28};
    uint32_t seed = 12345u + n;
    pix = malloc((size_t)ad.width * ad.height);
    p4 = malloc((size_t)n * 16);
    labels = malloc((size_t)n * 4);
    inst = malloc((size_t)n * sizeof *inst);
    ok = pix && p4 && labels && inst;
    if (!ok)
        nnxr_fail(err, "out of memory for %u cubes", n);
    if (ok) {
        for (size_t i = 0; i < (size_t)ad.width * ad.height; i++)
            pix[i] = (uint8_t)(next(&seed) & 0xff);
        for (uint32_t i = 0; i < n; i++) {
            /* A room-sized cloud in clusters, the shape a latent cloud takes. */
            uint32_t c = i % 10;
            float cx = 0.6f * cosf((float)c * 0.628f), cz = 0.6f * sinf((float)c * 0.628f);
            float r = 0.35f * cbrtf(unit(&seed));
            float th = 6.2831853f * unit(&seed), ph = acosf(2.0f * unit(&seed) - 1.0f);
            p4[i * 4 + 0] = cx + r * sinf(ph) * cosf(th);
            p4[i * 4 + 1] = r * cosf(ph);
            p4[i * 4 + 2] = cz + r * sinf(ph) * sinf(th);
            p4[i * 4 + 3] = 1.0f;
            labels[i] = (i / 10) % 10 == 0 ? (int32_t)c : -1; /* 10 % of each cluster */
            inst[i] = (nnxr_cube){{0, 0, 0}, o->cube_size, {1, 1, 1, 1}, i % images};
        }
        nnxr_buffer_desc pd = {.name = "bench positions", .kind = NNXR_BUFFER_DEVICE,
                               .size = (VkDeviceSize)n * 16};
        nnxr_buffer_desc ld = {.name = "bench labels", .kind = NNXR_BUFFER_DEVICE,
                               .size = (VkDeviceSize)n * 4};
        nnxr_draw_batch_desc cd = {.name = "bench cubes", .kind = NNXR_DRAW_CUBES,
                                   .capacity = n, .style = {.shade = NNXR_SHADE_GREY}};
        nnxr_buffer_slot slot = {0};
        ok = nnxr_buffer_create(b->gpu, &pd, &pos, err) &&
             nnxr_buffer_create(b->gpu, &ld, &lab, err) &&
             nnxr_buffer_upload(b->gpu, pos, 0, p4, pd.size, err) &&
             nnxr_buffer_upload(b->gpu, lab, 0, labels, ld.size, err) &&
             b->api->image_create(b->draw, &ad, &atlas, err) &&
             b->api->image_upload(b->draw, atlas, 0, 0, ad.width, ad.height, pix, err) &&
             b->api->batch_create(b->draw, &cd, &cubes, err) &&
             b->api->batch_write(b->draw, cubes, 0, inst, n, err) &&
             b->api->batch_image(b->draw, cubes, atlas, err) &&
             b->api->batch_positions(b->draw, cubes, pos, 0, 16, err) &&
             b->api->batch_labels(b->draw, cubes, lab, 0, 4, err) &&
             ((slot.buffer = pos), nnxr_binding_create(b->gpu, b->spin, &slot, 1, &bind, err));
    }
    for (int variant = 0; ok && variant < 3; variant++) {
        nnxr_draw_style st = {.shade = NNXR_SHADE_GREY};
        if (variant == 0) {
            st.cube_faces = 3;
            st.lod_pixels = o->lod_pixels;
        } else if (variant == 1) {
            st.cube_faces = 6;
        } else {
            st.cube_faces = 1;
        }
        b->api->batch_set_style(b->draw, cubes, &st);
        frame_work w = {.batches = {cubes}, .binding = bind, .n = n};
        result *r = &out[variant];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "latent cloud, %u cubes", n);
        r->renderer = variant == 0 ? "nnxr" : variant == 1 ? "plain" : "sprite";
        r->n = n;
        ok = run_case(b, &w, r, err);
    }
    nnxr_gpu_wait_idle(b->gpu, NULL);
    nnxr_binding_destroy(b->gpu, bind);
    if (cubes)
        b->api->batch_destroy(b->draw, cubes);
    if (atlas)
        b->api->image_destroy(b->draw, atlas);
    nnxr_buffer_destroy(b->gpu, pos);
    nnxr_buffer_destroy(b->gpu, lab);
    free(pix);
    free(p4);
    free(labels);
    free(inst);
    return ok;
}

static bool graph_case(bench *b, result *r, nnxr_error *err)
{
    static const uint32_t sizes[2] = {64, 64};
    nnxr_graph g;
    memset(&g, 0, sizeof g);
    nnxr_draw_batch *nodes = NULL, *links = NULL, *text = NULL;
    float *w = malloc(784 * 64 * sizeof *w);
    bool ok = w != NULL;
    if (!ok)
        nnxr_fail(err, "out of memory");
    ok = ok && nnxr_graph_init(&g, sizes, 2, 1, err);
    uint32_t seed = 99;
    static const uint32_t shapes[3][2] = {{64, 784}, {64, 64}, {10, 64}};
    for (uint32_t l = 0; ok && l < 3; l++) {
        for (uint32_t e = 0; e < shapes[l][0] * shapes[l][1]; e++)
            w[e] = unit(&seed) - 0.5f;
        ok = nnxr_graph_set_weights(&g, l, w, shapes[l][0], shapes[l][1], err);
    }
    nnxr_draw_batch_desc nd = {.name = "graph nodes", .kind = NNXR_DRAW_SPHERES,
                               .capacity = 256, .style = {.glow = 1.0f}};
    nnxr_draw_batch_desc ld = {.name = "graph links", .kind = NNXR_DRAW_LINES,
                               .capacity = 8192};
    nnxr_draw_batch_desc td = {.name = "graph labels", .kind = NNXR_DRAW_TEXT, .capacity = 64,
                               .style = {.space = NNXR_SPACE_BILLBOARD}};
    ok = ok && b->api->batch_create(b->draw, &nd, &nodes, err) &&
         b->api->batch_create(b->draw, &ld, &links, err) &&
         b->api->batch_create(b->draw, &td, &text, err);
    float white[4] = {0.8f, 0.8f, 0.8f, 1.0f};
    float at[3] = {-1.2f, 0.3f, 0.0f}, at2[3] = {1.2f, 0.3f, 0.0f};
    ok = ok && b->api->text_add(b->draw, text, "input 784", at, 0.08f, white,
                                NNXR_ALIGN_CENTER, err) &&
         b->api->text_add(b->draw, text, "output 10", at2, 0.08f, white, NNXR_ALIGN_CENTER,
                          err);
    if (ok) {
        nnxr_graph_params gp = nnxr_graph_params_default();
        nnxr_graph_step(&g, &gp, 300); /* settled, as the plugin's warm-up does */
        frame_work fw = {.batches = {links, nodes, text}, .graph = &g, .nodes = nodes,
                         .links = links};
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "graph view, 784-64-64-10");
        r->renderer = "nnxr";
        r->n = g.node_count;
        r->extra = g.link_count;
        ok = run_case(b, &fw, r, err);
    }
    nnxr_gpu_wait_idle(b->gpu, NULL);
    b->api->batch_destroy(b->draw, nodes);
    b->api->batch_destroy(b->draw, links);
    b->api->batch_destroy(b->draw, text);
    nnxr_graph_free(&g);
    free(w);
    return ok;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.3f", v);
    else
        fputs("null", f);
}

int nnxr_bench_render(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    nnxr_error err;
    nnxr_error_clear(&err);
    bench b;
    memset(&b, 0, sizeof b);
    b.o = &o;
    nnxr_gpu_options go = {.app_name = "nnxr bench render", .device = o.device,
                           .graphics = true};
    result res[3 * MAX_SIZES + 1];
    uint32_t nres = 0;
    float clear[3] = {0.02f, 0.02f, 0.04f};
    nnxr_kernel_desc kd = {.shader = "render/bench_spin.comp", .buffer_count = 1,
                           .written_mask = 1, .push_size = 8};
    bool ok = nnxr_gpu_create(&go, &b.gpu, &err) &&
              nnxr_offscreen_create(b.gpu, o.width, o.height, o.samples, clear, &b.target,
                                    &err) &&
              nnxr_recorder_create(b.gpu, 8, &b.rec, &err) &&
              nnxr_draw_create_gpu(b.gpu, &b.draw, &err) &&
              nnxr_kernel_create(b.gpu, &kd, &b.spin, &err);
    b.api = nnxr_render_api_get();
    nnxr_render_target_info ti;
    if (ok) {
        nnxr_offscreen_info(b.target, &ti);
        ok = b.api->prepare(b.draw, &ti, &err);
        float eye[3] = {0.0f, 0.5f, 2.6f}, at[3] = {0, 0, 0};
        nnxr_view_look_at(&b.view, eye, at, 60.0f, ti.width, ti.height);
        b.rgba = malloc((size_t)ti.width * ti.height * 4);
        ok = ok && (b.rgba || nnxr_fail(&err, "out of memory"));
    }
    for (uint32_t i = 0; ok && i < o.size_count; i++) {
        if (!o.json)
            fprintf(stderr, "nnxr bench render: %u cubes ...\n", o.sizes[i]);
        ok = cloud_cases(&b, o.sizes[i], &res[nres], &err);
        nres += ok ? 3 : 0;
    }
    if (ok && !o.no_graph) {
        if (!o.json)
            fprintf(stderr, "nnxr bench render: graph view ...\n");
        ok = graph_case(&b, &res[nres], &err);
        nres += ok;
    }
    const nnxr_gpu_info *info = b.gpu ? nnxr_gpu_get_info(b.gpu) : NULL;
    if (ok && o.json) {
        FILE *f = stdout;
        fprintf(f, "{\"benchmark\": \"render\", \"device\": ");
        json_str(f, info->properties.deviceName);
        fprintf(f, ", \"device_type\": \"%s\", \"width\": %u, \"height\": %u, "
                "\"samples\": %u, \"frames\": %u, \"lod_pixels\": %.1f, \"cube_size\": %.3f, "
                "\"units\": \"ms per frame (medians)\", \"target_ms\": {\"cloud_10000\": 60}, "
                "\"results\": [",
                info->is_cpu ? "cpu" : "gpu", ti.width, ti.height, (unsigned)ti.samples,
                o.frames, (double)o.lod_pixels, (double)o.cube_size);
        for (uint32_t i = 0; i < nres; i++) {
            const result *r = &res[i];
            fprintf(f, "%s\n  {\"case\": ", i ? "," : "");
            json_str(f, r->name);
            fprintf(f, ", \"path\": \"%s\", \"baseline\": %s, \"n\": %u, ", r->renderer,
                    strcmp(r->renderer, "plain") ? "false" : "true", r->n);
            if (r->extra)
                fprintf(f, "\"links\": %u, ", r->extra);
            fprintf(f, "\"frame_ms\": ");
            json_num(f, r->frame_ms);
            fprintf(f, ", \"cpu_ms\": ");
            json_num(f, r->cpu_ms);
            fprintf(f, ", \"compute_ms\": ");
            json_num(f, r->compute_ms);
            fprintf(f, ", \"draw_ms\": ");
            json_num(f, r->draw_ms);
            fprintf(f, ", \"readback_ms\": ");
            json_num(f, r->readback_ms);
            for (uint32_t j = 0; j < nres; j++)
                if (j != i && strcmp(r->renderer, "plain") && !strcmp(res[j].renderer, "plain") &&
                    res[j].n == r->n && !strncmp(res[j].name, "latent", 6)) {
                    fprintf(f, ", \"speedup_vs_plain\": ");
                    json_num(f, res[j].frame_ms / r->frame_ms);
                }
            fputc('}', f);
        }
        fprintf(f, "\n]}\n");
    } else if (ok) {
        printf("nnxr bench render — %s, %ux%u, %u sample(s), medians of %u frames (ms)\n",
               info->properties.deviceName, ti.width, ti.height, (unsigned)ti.samples,
               o.frames);
        printf("%-28s %-6s %9s %8s %9s %8s %9s\n", "case", "path", "frame", "cpu", "compute",
               "draw", "readback");
        for (uint32_t i = 0; i < nres; i++) {
            const result *r = &res[i];
            printf("%-28s %-6s %9.2f %8.2f %9.2f %8.2f %9.2f\n", r->name, r->renderer,
                   r->frame_ms, r->cpu_ms, r->compute_ms, r->draw_ms, r->readback_ms);
        }
        printf("nnxr = faces toward the eye only, a camera-facing image sprite below %.0f px;\n"
               "plain = all six faces with back-face culling, the baseline measured in this "
               "run;\nsprite = every cube as an image sprite. Target on lavapipe: <= 60 ms at "
               "10,000 cubes.\n", (double)o.lod_pixels);
    }
    if (!ok)
        fprintf(stderr, "nnxr bench render: %s\n", err.message);
    free(b.rgba);
    nnxr_kernel_destroy(b.gpu, b.spin);
    if (b.draw)
        b.api->destroy(b.draw);
    nnxr_recorder_destroy(b.rec);
    nnxr_offscreen_destroy(b.target);
    nnxr_gpu_destroy(b.gpu);
    return ok ? 0 : 1;
}
