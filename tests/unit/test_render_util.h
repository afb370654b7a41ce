/* tests/unit/test_render_util.h — helpers of the renderer tests: a small offscreen target
 * with a drawing context prepared for it, one call that renders a list of batches and reads
 * the picture back, the pixel a world point lands on, and sRGB comparisons. */
#ifndef NNXR_TEST_RENDER_UTIL_H
#define NNXR_TEST_RENDER_UTIL_H

#define CGLM_FORCE_DEPTH_ZERO_TO_ONE
#define CGLM_FORCE_RIGHT_HANDED
#include <cglm/cglm.h>

#include "render/offscreen.h"
#include "render/png_writer.h"
#include "render/renderer.h"
#include "test_gpu_util.h"

typedef struct tr_scene {
    nnxr_gpu *gpu;
    nnxr_offscreen *target;
    nnxr_recorder *rec;
    const nnxr_render_api *api;
    nnxr_draw *draw;
    nnxr_view view;
    uint32_t w, h;
    uint8_t *rgba;
} tr_scene;

static inline void tr_open(tr_scene *s, uint32_t w, uint32_t h, uint32_t samples)
{
    memset(s, 0, sizeof *s);
    nnxr_gpu_options o = {.graphics = true};
    s->gpu = tg_open(o);
    s->w = w;
    s->h = h;
    nnxr_error err;
    float clear[3] = {0, 0, 0};
    s->api = nnxr_render_api_get();
    nnxr_render_target_info ti;
    if (!nnxr_offscreen_create(s->gpu, w, h, samples, clear, &s->target, &err) ||
        !nnxr_recorder_create(s->gpu, 4, &s->rec, &err) ||
        !nnxr_draw_create_gpu(s->gpu, &s->draw, &err) ||
        (nnxr_offscreen_info(s->target, &ti), !s->api->prepare(s->draw, &ti, &err))) {
        fprintf(stderr, "render test setup: %s\n", err.message);
        exit(1);
    }
    float eye[3] = {0, 0, 5}, at[3] = {0, 0, 0};
    nnxr_view_look_at(&s->view, eye, at, 60.0f, w, h);
    s->rgba = malloc((size_t)w * h * 4);
}

static inline void tr_close(tr_scene *s)
{
    s->api->destroy(s->draw);
    nnxr_recorder_destroy(s->rec);
    nnxr_offscreen_destroy(s->target);
    free(s->rgba);
    tg_close(s->gpu);
}

/* Renders the batches (NULL-terminated) into s->rgba. */
static inline void tr_render(tr_scene *s, nnxr_draw_batch *const *batches)
{
    nnxr_error err;
    if (!nnxr_recorder_begin(s->rec, &err)) {
        fprintf(stderr, "recorder: %s\n", err.message);
        exit(1);
    }
    VkCommandBuffer cmd = nnxr_recorder_cmd(s->rec);
    nnxr_offscreen_begin(s->target, cmd);
    for (size_t i = 0; batches[i]; i++)
        s->api->record(s->draw, batches[i], cmd, &s->view);
    nnxr_offscreen_end(s->target, cmd, true);
    nnxr_recorder_external(s->rec);
    if (!nnxr_recorder_run(s->rec, &err) || !nnxr_offscreen_pixels(s->target, s->rgba, &err)) {
        fprintf(stderr, "render: %s\n", err.message);
        exit(1);
    }
    /* NNXR_TEST_DUMP=DIR keeps every picture, to look at when a check fails. */
    static int dumped;
    const char *dir = getenv("NNXR_TEST_DUMP");
    if (dir && *dir) {
        char path[1024];
        snprintf(path, sizeof path, "%s/render-%03d.png", dir, dumped++);
        if (!nnxr_png_write(path, s->rgba, s->w, s->h, 1, &err))
            fprintf(stderr, "dump: %s\n", err.message);
    }
}

static inline const uint8_t *tr_px(const tr_scene *s, int x, int y)
{
    if (x < 0)
        x = 0;
    if (y < 0)
        y = 0;
    if (x >= (int)s->w)
        x = (int)s->w - 1;
    if (y >= (int)s->h)
        y = (int)s->h - 1;
    return s->rgba + ((size_t)y * s->w + (size_t)x) * 4;
}

/* The pixel a world point projects to (view's matrices, Vulkan's y-down framebuffer). */
static inline void tr_project(const tr_scene *s, const float p[3], int *x, int *y)
{
    mat4 v, pr, vp;
    memcpy(v, s->view.view, sizeof v);
    memcpy(pr, s->view.proj, sizeof pr);
    glm_mat4_mul(pr, v, vp);
    vec4 w = {p[0], p[1], p[2], 1.0f}, c;
    glm_mat4_mulv(vp, w, c);
    *x = (int)floorf((c[0] / c[3] + 1.0f) * 0.5f * (float)s->w);
    *y = (int)floorf((c[1] / c[3] + 1.0f) * 0.5f * (float)s->h);
}

static inline int tr_srgb8(float linear)
{
    float c = linear <= 0.0031308f ? 12.92f * linear : 1.055f * powf(linear, 1.0f / 2.4f) - 0.055f;
    return (int)lroundf(c * 255.0f);
}

/* Whether pixel px is within tol of the sRGB encoding of linear colour c. */
static inline bool tr_near(const uint8_t *px, const float c[3], int tol)
{
    for (int i = 0; i < 3; i++)
        if (abs((int)px[i] - tr_srgb8(c[i])) > tol)
            return false;
    return true;
}

static inline bool tr_is_black(const uint8_t *px) { return px[0] + px[1] + px[2] == 0; }

#endif
