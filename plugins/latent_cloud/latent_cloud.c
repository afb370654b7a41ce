/* plugins/latent_cloud/latent_cloud.c — the latent cloud of Kath et al. ("nnxr.latent_cloud"):
 * every training sample as a cube carrying its image, where the "nnxr.cloud" service's
 * simulation puts it; grey while unlabeled, its class colour once labelled; the annotation
 * spheres in effect drawn translucent in their class colour; the points the classifier is
 * least sure of (highest entropy, not yet labelled by the user) marked with a glowing halo;
 * and a screen-space legend of class colours, class names and label counts.
 *
 * Where the work happens: positions and labels stay on the GPU (the cube batch reads the
 * cloud's buffers directly, so the cloud moves with no readback); the images go once into an
 * atlas; the uncertain points' positions are gathered each frame by a one-dispatch kernel of
 * this plugin. Only small, occasional copies come back to the CPU: user flags, labels and
 * entropy (n values each) when the cloud's labels or the model's evaluation outputs change.
 *
 * User and machine labels: the draw service colours a cube from a label buffer (class colour
 * or grey) and cannot tint one per-point flag differently, so a point whose label comes from
 * the classifier (not the user) is drawn in its class colour at `machine_scale` of the cube
 * size: the user's own labels stand out as full-size cubes. See README.md. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnxr/cloud.h"
#include "nnxr/draw.h"
#include "nnxr/gpu.h"
#include "nnxr/model.h"
#include "nnxr/plugin.h"
#include "nnxr/render.h"

#define PAD 6.0f
#define MAX_LEGEND_CLASSES 32
#define GATHER_GROUP 64u

typedef struct cloudview {
    const nnxr_host *host;
    const nnxr_log_api *log;
    const nnxr_gpu_api *gpu;
    const nnxr_render_api *r;
    const nnxr_model_api *model;
    const nnxr_cloud_api *cloud;
    nnxr_draw *draw;
    nnxr_draw_batch *cubes, *marks, *spheres, *panel, *text;
    nnxr_draw_image *atlas;
    uint32_t atlas_cells;
    bool atlas_tried;

    /* config */
    float cube_size;    /* 0: room / 120 */
    uint32_t cube_faces;
    float lod_pixels;
    bool images;
    float machine_scale;
    bool machine_grey; /* machine_labels = "grey": only the user's labels coloured */
    uint32_t show_uncertain;
    float uncertain_min, uncertain_scale, uncertain_glow, uncertain_color[4];
    bool annotations;
    float annotation_alpha;
    bool legend;
    float legend_x, legend_y, text_px, legend_opacity;

    /* the cloud as last seen */
    bool have;
    uint64_t generation, labels_version, outputs_version;
    uint32_t n, classes;
    float size; /* the cube size in use */
    nnxr_model_region positions, labels_region, user_region, entropy_region;
    int reread; /* frames left that re-read the host copies */
    int32_t *labels;
    uint32_t *user;
    float *entropy;
    uint32_t cap; /* of the three arrays above */
    uint32_t user_count[MAX_LEGEND_CLASSES], machine_count[MAX_LEGEND_CLASSES];
    uint32_t user_total;

    /* the least certain points */
    uint32_t *top;
    uint32_t top_count;
    nnxr_buffer *top_index, *top_pos;
    nnxr_kernel *gather;
    nnxr_binding *gather_bind;
    uint32_t pos_base; /* the positions region's offset, in float4s */

    /* machine_labels = "grey": the labels the cubes show, -1 where no user decided */
    nnxr_kernel *mask;
    nnxr_binding *mask_bind;
    nnxr_buffer *shown;
    uint32_t shown_cap, label_base, user_base;

    /* annotations in effect (a copy: the service's array lasts one frame) */
    nnxr_cloud_annotation *annots;
    uint32_t annot_count, annot_cap;

    bool warned;
} cloudview;

/* An error of the frame loop (which has no way to report one): logged once. */
static void frame_error(cloudview *c, const nnxr_error *err)
{
    if (!c->warned)
        nnxr_logf(c->log, c->host, NNXR_LEVEL_ERROR, "latent cloud: %s", err->message);
    c->warned = true;
}

static void destroy(void *self)
{
    cloudview *c = self;
    if (c->gpu) {
        if (c->gather_bind)
            c->gpu->binding_destroy(c->gpu->ctx, c->gather_bind);
        if (c->gather)
            c->gpu->kernel_destroy(c->gpu->ctx, c->gather);
        if (c->mask_bind)
            c->gpu->binding_destroy(c->gpu->ctx, c->mask_bind);
        if (c->mask)
            c->gpu->kernel_destroy(c->gpu->ctx, c->mask);
        c->gpu->buffer_destroy(c->gpu->ctx, c->shown);
        c->gpu->buffer_destroy(c->gpu->ctx, c->top_index);
        c->gpu->buffer_destroy(c->gpu->ctx, c->top_pos);
    }
    if (c->draw) {
        c->r->batch_destroy(c->draw, c->cubes);
        c->r->batch_destroy(c->draw, c->marks);
        c->r->batch_destroy(c->draw, c->spheres);
        c->r->batch_destroy(c->draw, c->panel);
        c->r->batch_destroy(c->draw, c->text);
        c->r->image_destroy(c->draw, c->atlas);
        c->r->destroy(c->draw);
    }
    free(c->labels);
    free(c->user);
    free(c->entropy);
    free(c->top);
    free(c->annots);
    free(c);
}

/* ---- the gather kernel: positions of the marked points, every frame ----------------------- */

static const char gather_glsl[] =
    "#version 450\n"
    "layout(local_size_x = 64) in;\n"
    "layout(std430, set = 0, binding = 0) readonly buffer P { vec4 pos[]; };\n"
    "layout(std430, set = 0, binding = 1) readonly buffer I { uint idx[]; };\n"
    "layout(std430, set = 0, binding = 2) writeonly buffer O { vec4 outp[]; };\n"
    "layout(push_constant) uniform PC { uint count; uint n; uint base; } pc;\n"
    "void main()\n"
    "{\n"
    "    uint i = gl_GlobalInvocationID.x;\n"
    "    if (i >= pc.count)\n"
    "        return;\n"
    "    uint j = idx[i];\n"
    "    outp[i] = j < pc.n ? vec4(pos[pc.base + j].xyz, 1.0) : vec4(0.0);\n"
    "}\n";

/* machine_labels = "grey": a point's label as the cubes show it, the user's or none. */
static const char mask_glsl[] =
    "#version 450\n"
    "layout(local_size_x = 64) in;\n"
    "layout(std430, set = 0, binding = 0) readonly buffer L { int labels[]; };\n"
    "layout(std430, set = 0, binding = 1) readonly buffer U { uint user[]; };\n"
    "layout(std430, set = 0, binding = 2) writeonly buffer O { int shown[]; };\n"
    "layout(push_constant) uniform PC { uint n; uint lbase; uint ubase; } pc;\n"
    "void main()\n"
    "{\n"
    "    uint i = gl_GlobalInvocationID.x;\n"
    "    if (i >= pc.n)\n"
    "        return;\n"
    "    shown[i] = user[pc.ubase + i] != 0u ? labels[pc.lbase + i] : -1;\n"
    "}\n";

/* A kernel of three storage buffers (the third written) and 12 bytes of push constants. */
static bool make_kernel(cloudview *c, const char *glsl, const char *name, nnxr_kernel **out,
                        nnxr_error *err)
{
    uint32_t *words = NULL;
    size_t count = 0;
    if (!c->gpu->compile_glsl(c->gpu->ctx, glsl, name, VK_SHADER_STAGE_COMPUTE_BIT, &words,
                              &count, err))
        return false;
    nnxr_kernel_desc kd = {.name = name, .code = words, .code_size = count * sizeof(uint32_t),
                           .buffer_count = 3, .written_mask = 4, .push_size = 12};
    bool ok = c->gpu->kernel_create(c->gpu->ctx, &kd, out, err);
    c->gpu->free_spirv(c->gpu->ctx, words);
    return ok;
}

static bool make_gather(cloudview *c, nnxr_error *err)
{
    if (!make_kernel(c, gather_glsl, "latent_cloud/gather.comp", &c->gather, err))
        return false;
    uint32_t k = c->show_uncertain;
    nnxr_buffer_desc id = {.name = "latent_cloud uncertain index", .kind = NNXR_BUFFER_HOST,
                           .size = (VkDeviceSize)k * 4};
    nnxr_buffer_desc pd = {.name = "latent_cloud uncertain positions",
                           .kind = NNXR_BUFFER_DEVICE, .size = (VkDeviceSize)k * 16};
    c->top = calloc(k, sizeof *c->top);
    if (!c->top)
        return nnxr_failf(err, "out of memory");
    return c->gpu->buffer_create(c->gpu->ctx, &id, &c->top_index, err) &&
           c->gpu->buffer_create(c->gpu->ctx, &pd, &c->top_pos, err);
}

/* ---- create ------------------------------------------------------------------------------- */

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    static const char *const keys[] = {
        "cube_size", "cube_faces", "lod_pixels", "images", "machine_scale", "show_uncertain",
        "uncertain_min", "uncertain_scale", "uncertain_glow", "uncertain_color", "annotations",
        "annotation_alpha", "legend", "legend_x", "legend_y", "text_px", "legend_opacity",
        "machine_labels", NULL};
    static const char *const machine_modes[] = {"color", "grey", NULL};
    static const double def_ucolor[4] = {1.0, 1.0, 1.0, 0.9};
    const nnxr_config_api *cf = host->service(host, NNXR_SERVICE_CONFIG);
    if (!cf)
        return nnxr_failp(err, "the host has no config service");
    cloudview *c = calloc(1, sizeof *c);
    if (!c)
        return nnxr_failp(err, "out of memory");
    c->host = host;
    c->log = host->service(host, NNXR_SERVICE_LOG);
    double size, lod, mscale, umin, uscale, uglow, ucolor[4], aalpha, lx, ly, tpx, lop;
    int64_t faces, k;
    size_t nuc;
    const char *mmode;
    if (!cf->check_keys(cfg, keys, err) ||
        !cf->get_float(cfg, "cube_size", 0.0, 0.0, 100.0, &size, err) ||
        !cf->get_int(cfg, "cube_faces", 3, 1, 6, &faces, err) ||
        !cf->get_float(cfg, "lod_pixels", 16.0, 0.0, 4096.0, &lod, err) ||
        !cf->get_bool(cfg, "images", true, &c->images, err) ||
        !cf->get_float(cfg, "machine_scale", 0.7, 0.05, 1.0, &mscale, err) ||
        !cf->get_string(cfg, "machine_labels", "color", machine_modes, &mmode, err) ||
        !cf->get_int(cfg, "show_uncertain", 20, 0, 100000, &k, err) ||
        !cf->get_float(cfg, "uncertain_min", 0.0, 0.0, 1000.0, &umin, err) ||
        !cf->get_float(cfg, "uncertain_scale", 1.1, 0.1, 100.0, &uscale, err) ||
        !cf->get_float(cfg, "uncertain_glow", 0.6, 0.0, 10.0, &uglow, err) ||
        !cf->get_float_array(cfg, "uncertain_color", def_ucolor, 4, 3, 4, 0.0, 1.0, ucolor,
                             &nuc, err) ||
        !cf->get_bool(cfg, "annotations", true, &c->annotations, err) ||
        !cf->get_float(cfg, "annotation_alpha", 0.2, 0.0, 1.0, &aalpha, err) ||
        !cf->get_bool(cfg, "legend", true, &c->legend, err) ||
        !cf->get_float(cfg, "legend_x", -12.0, -16384.0, 16384.0, &lx, err) ||
        !cf->get_float(cfg, "legend_y", 12.0, -16384.0, 16384.0, &ly, err) ||
        !cf->get_float(cfg, "text_px", 0.0, 0.0, 256.0, &tpx, err) ||
        !cf->get_float(cfg, "legend_opacity", 0.6, 0.0, 1.0, &lop, err)) {
        free(c);
        return NULL;
    }
    if (tpx > 0.0 && tpx < 8.0) {
        free(c);
        return nnxr_failp(err,
                          "%s: text_px = %g: expected 0 (by the view's height) or 8 to 256 "
                          "pixels (the font is 8 px high)",
                          cf->describe(cfg), tpx);
    }
    if (faces != 1 && faces != 3 && faces != 6) {
        free(c);
        return nnxr_failp(err,
                          "%s: cube_faces = %lld: expected 1 (image squares), 3 (the faces "
                          "toward the eye) or 6 (all, culled)",
                          cf->describe(cfg), (long long)faces);
    }
    c->cube_size = (float)size;
    c->cube_faces = (uint32_t)faces;
    c->lod_pixels = (float)lod;
    c->machine_scale = (float)mscale;
    c->machine_grey = !strcmp(mmode, "grey");
    c->show_uncertain = (uint32_t)k;
    c->uncertain_min = (float)umin;
    c->uncertain_scale = (float)uscale;
    c->uncertain_glow = (float)uglow;
    /* Colours in the scene are sRGB, as a user picks them; instances take linear. */
    nnxr_color_from_srgb((float)ucolor[0], (float)ucolor[1], (float)ucolor[2],
                         c->uncertain_color);
    c->uncertain_color[3] = nuc == 4 ? (float)ucolor[3] : 1.0f;
    c->annotation_alpha = (float)aalpha;
    c->legend_x = (float)lx;
    c->legend_y = (float)ly;
    c->text_px = (float)tpx;
    c->legend_opacity = (float)lop;

    c->cloud = host->service(host, NNXR_SERVICE_CLOUD);
    if (!c->cloud || c->cloud->size < offsetof(nnxr_cloud_api, info) + sizeof c->cloud->info ||
        !c->cloud->info) {
        free(c);
        return nnxr_failp(
            err,
            "%s: the latent cloud needs the \"nnxr.cloud\" service, which this "
            "scene does not have (a [model] kind = \"vae\" scene with a cloud has it)",
            cf->describe(cfg));
    }
    c->model = host->service(host, NNXR_SERVICE_MODEL);
    c->gpu = host->service(host, NNXR_SERVICE_GPU);
    c->r = host->service(host, NNXR_SERVICE_RENDER);
    if (!c->gpu || !c->r || c->r->size < sizeof(nnxr_render_api) ||
        c->gpu->size < sizeof(nnxr_gpu_api)) {
        free(c);
        return nnxr_failp(err, "the host has no GPU or render service (is there a Vulkan device "
                               "with graphics?)");
    }
    if (!c->r->create(host, &c->draw, err)) {
        c->draw = NULL;
        destroy(c);
        return NULL;
    }
    nnxr_draw_batch_desc md = {.name = "latent cloud uncertain", .kind = NNXR_DRAW_SPHERES,
                               .capacity = c->show_uncertain ? c->show_uncertain : 1,
                               .style = {.glow = c->uncertain_glow}};
    nnxr_draw_batch_desc sd = {.name = "latent cloud annotations", .kind = NNXR_DRAW_SPHERES,
                               .capacity = 16};
    nnxr_draw_style screen = {.space = NNXR_SPACE_SCREEN};
    nnxr_draw_batch_desc pd = {.name = "latent cloud legend", .kind = NNXR_DRAW_QUADS,
                               .capacity = 16, .style = screen};
    nnxr_draw_batch_desc td = {.name = "latent cloud legend text", .kind = NNXR_DRAW_TEXT,
                               .capacity = 512, .style = screen};
    if (!c->r->batch_create(c->draw, &md, &c->marks, err) ||
        !c->r->batch_create(c->draw, &sd, &c->spheres, err) ||
        !c->r->batch_create(c->draw, &pd, &c->panel, err) ||
        !c->r->batch_create(c->draw, &td, &c->text, err) ||
        (c->show_uncertain && !make_gather(c, err)) ||
        (c->machine_grey &&
         !make_kernel(c, mask_glsl, "latent_cloud/mask.comp", &c->mask, err))) {
        destroy(c);
        return NULL;
    }
    return c;
}

/* ---- the atlas: every training image once ------------------------------------------------ */

static bool build_atlas(cloudview *c, nnxr_error *err)
{
    c->atlas_tried = true;
    if (!c->images || !c->model || !c->model->info ||
        c->model->size < offsetof(nnxr_model_api, data) + sizeof c->model->data ||
        !c->model->data)
        return true;
    nnxr_model_info info = {.size = sizeof info};
    nnxr_model_data data = {.size = sizeof data};
    if (!c->model->info(c->model->ctx, &info, err) ||
        !c->model->data(c->model->ctx, &data, err))
        return false;
    const nnxr_model_host_set *set = &data.train;
    uint32_t cw = info.in_w, ch = info.in_h;
    if (!set->u8 || !set->count || info.in_c != 1 || cw == 0 || ch == 0 || cw > 512 ||
        ch > 512) {
        nnxr_logf(c->log, c->host, NNXR_LEVEL_INFO,
                  "latent cloud: the training set has no single-channel images "
                  "(%ux%ux%u): plain cubes",
                  info.in_c, info.in_h, info.in_w);
        return true;
    }
    /* One 2-D atlas (an array of 70,000 layers would pass maxImageArrayLayers), as square as
     * the device's largest image side allows; samples past its last cell get plain cubes. */
    uint32_t max_side = c->gpu->properties(c->gpu->ctx)->limits.maxImageDimension2D;
    uint32_t max_cols = max_side / cw, max_rows = max_side / ch;
    if (!max_cols || !max_rows)
        return true;
    uint32_t cols = (uint32_t)ceil(sqrt((double)set->count));
    if (cols > max_cols)
        cols = max_cols;
    uint32_t rows = (set->count + cols - 1) / cols;
    if (rows > max_rows)
        rows = max_rows;
    uint64_t cells = (uint64_t)cols * rows;
    c->atlas_cells = cells < set->count ? (uint32_t)cells : set->count;
    if (c->atlas_cells < set->count)
        nnxr_logf(c->log, c->host, NNXR_LEVEL_WARN,
                  "latent cloud: %u of %u images fit the device's %u-pixel atlas;"
                  " the rest show as plain cubes",
                  c->atlas_cells, set->count, max_side);
    nnxr_draw_image_desc d = {.name = "latent cloud atlas",
                              .format = NNXR_IMAGE_R8,
                              .width = cols * cw,
                              .height = rows * ch,
                              .cell_width = cw,
                              .cell_height = ch,
                              .linear = true};
    if (!c->r->image_create(c->draw, &d, &c->atlas, err))
        return false;
    /* Uploaded in strips of whole cell rows (a few MiB each), not as one image in memory. */
    size_t row_bytes = (size_t)d.width * ch, img = (size_t)cw * ch;
    uint32_t strip = (uint32_t)((4u << 20) / row_bytes);
    if (strip == 0)
        strip = 1;
    uint8_t *buf = malloc(row_bytes * strip);
    if (!buf)
        return nnxr_failf(err, "out of memory for the atlas");
    bool ok = true;
    for (uint32_t r0 = 0; ok && r0 < rows; r0 += strip) {
        uint32_t nr = rows - r0 < strip ? rows - r0 : strip;
        memset(buf, 0, row_bytes * nr);
        for (uint32_t r = 0; r < nr; r++)
            for (uint32_t col = 0; col < cols; col++) {
                size_t cell = (size_t)(r0 + r) * cols + col;
                if (cell >= c->atlas_cells)
                    break;
                const uint8_t *src = set->u8 + cell * img;
                for (uint32_t y = 0; y < ch; y++)
                    memcpy(buf + (size_t)r * row_bytes + (size_t)y * d.width + (size_t)col * cw,
                           src + (size_t)y * cw, cw);
            }
        ok = c->r->image_upload(c->draw, c->atlas, 0, r0 * ch, d.width, nr * ch, buf, err);
    }
    free(buf);
    return ok && (!c->cubes || c->r->batch_image(c->draw, c->cubes, c->atlas, err));
}

/* ---- host copies: labels, user flags, entropy -------------------------------------------- */

static bool read_region(cloudview *c, const nnxr_model_region *r, void *dst, nnxr_error *err)
{
    return c->gpu->buffer_readback(c->gpu->ctx, r->buffer, r->offset, dst,
                                   (VkDeviceSize)c->n * 4, err);
}

/* Cube sizes and image cells from the user flags and labels: the classifier's labels at
 * machine_scale, the user's and unlabeled points full size. */
static void write_cubes(cloudview *c)
{
    nnxr_cube *q = c->cubes ? c->r->batch_data(c->draw, c->cubes) : NULL;
    if (!q)
        return;
    float grey[3];
    nnxr_color_class(-1, grey);
    for (uint32_t i = 0; i < c->n; i++) {
        bool machine = !c->machine_grey && c->labels[i] >= 0 && !c->user[i];
        q[i] = (nnxr_cube){{0, 0, 0}, machine ? c->size * c->machine_scale : c->size,
                           {grey[0], grey[1], grey[2], 1.0f},
                           c->atlas && i < c->atlas_cells ? i : NNXR_DRAW_NO_LAYER};
    }
}

/* The show_uncertain points of highest entropy above uncertain_min that no user has labelled
 * (those are the ones worth labelling next), highest first; ties go to the lower index. */
static void select_top(cloudview *c)
{
    uint32_t k = c->show_uncertain, m = 0;
    uint32_t *h = c->top; /* a min-heap on (entropy, -index) */
#define WORSE(a, b) (c->entropy[a] < c->entropy[b] || (c->entropy[a] == c->entropy[b] && (a) > (b)))
    for (uint32_t i = 0; i < c->n && k; i++) {
        float e = c->entropy[i];
        if (c->user[i] || !isfinite(e) || !(e > c->uncertain_min))
            continue;
        if (m == k && !WORSE(h[0], i))
            continue;
        uint32_t pos;
        if (m < k) {
            pos = m++;
            while (pos > 0 && WORSE(i, h[(pos - 1) / 2])) {
                h[pos] = h[(pos - 1) / 2];
                pos = (pos - 1) / 2;
            }
        } else {
            pos = 0;
            for (;;) {
                uint32_t l = 2 * pos + 1, r = l + 1, s = pos;
                uint32_t sv = i;
                if (l < m && WORSE(h[l], sv))
                    s = l, sv = h[l];
                if (r < m && WORSE(h[r], sv))
                    s = r;
                if (s == pos)
                    break;
                h[pos] = h[s];
                pos = s;
            }
        }
        h[pos] = i;
    }
    /* Heap order → best first (insertion sort: k is small). */
    for (uint32_t a = 1; a < m; a++) {
        uint32_t v = h[a], b = a;
        while (b > 0 && WORSE(h[b - 1], v)) {
            h[b] = h[b - 1];
            b--;
        }
        h[b] = v;
    }
#undef WORSE
    c->top_count = m;
}

static bool write_marks(cloudview *c, nnxr_error *err)
{
    if (!c->r->batch_resize(c->draw, c->marks, c->top_count, err))
        return false;
    if (!c->top_count)
        return true;
    if (c->top_index->mapped)
        memcpy(c->top_index->mapped, c->top, (size_t)c->top_count * 4);
    else if (!c->gpu->buffer_upload(c->gpu->ctx, c->top_index, 0, c->top,
                                    (VkDeviceSize)c->top_count * 4, err))
        return false;
    nnxr_sphere *s = c->r->batch_data(c->draw, c->marks);
    for (uint32_t i = 0; s && i < c->top_count; i++)
        s[i] = (nnxr_sphere){{0, 0, 0}, c->size * c->uncertain_scale,
                             {c->uncertain_color[0], c->uncertain_color[1],
                              c->uncertain_color[2], c->uncertain_color[3]}};
    return true;
}

static bool refresh(cloudview *c, nnxr_error *err)
{
    if (!c->n) {
        c->user_total = c->top_count = 0;
        memset(c->user_count, 0, sizeof c->user_count);
        memset(c->machine_count, 0, sizeof c->machine_count);
        return !c->show_uncertain || write_marks(c, err);
    }
    if (c->user_region.buffer) {
        if (!read_region(c, &c->user_region, c->user, err))
            return false;
    } else {
        memset(c->user, 0, (size_t)c->n * 4);
    }
    if (c->labels_region.buffer) {
        if (!read_region(c, &c->labels_region, c->labels, err))
            return false;
    } else {
        for (uint32_t i = 0; i < c->n; i++)
            c->labels[i] = -1;
    }
    memset(c->user_count, 0, sizeof c->user_count);
    memset(c->machine_count, 0, sizeof c->machine_count);
    c->user_total = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        int32_t l = c->labels[i];
        if (l < 0)
            continue;
        if (c->user[i])
            c->user_total++;
        if ((uint32_t)l < MAX_LEGEND_CLASSES && (c->user[i] || !c->machine_grey))
            (c->user[i] ? c->user_count : c->machine_count)[l]++;
    }
    write_cubes(c);
    c->top_count = 0;
    if (c->show_uncertain && c->entropy_region.buffer) {
        if (!read_region(c, &c->entropy_region, c->entropy, err))
            return false;
        select_top(c);
    }
    return c->show_uncertain ? write_marks(c, err) : true;
}

/* ---- following the cloud ------------------------------------------------------------------ */

static bool region_ok(const nnxr_model_region *r, uint32_t n, uint32_t stride, const char *what,
                      nnxr_error *err)
{
    if (!r->buffer)
        return true;
    if (r->offset % 4 || r->size < (VkDeviceSize)n * stride ||
        r->offset + (VkDeviceSize)n * stride > r->buffer->size)
        return nnxr_failf(err,
                          "the cloud's %s region (offset %llu, %llu bytes) does not hold %u "
                          "points of %u bytes",
                          what, (unsigned long long)r->offset, (unsigned long long)r->size, n,
                          stride);
    return true;
}

/* machine_labels = "grey": the cubes' labels from a buffer of this plugin that the mask
 * kernel fills every frame from the cloud's labels and user flags. */
static bool follow_mask(cloudview *c, const nnxr_cloud_view *v, nnxr_error *err)
{
    if (c->mask_bind)
        c->gpu->binding_destroy(c->gpu->ctx, c->mask_bind);
    c->mask_bind = NULL;
    if (!v->labels.buffer || !c->n)
        return true;
    if (!v->user.buffer)
        return c->r->batch_labels(c->draw, c->cubes, NULL, 0, 4, err); /* none is the user's */
    if (c->n > c->shown_cap) {
        c->gpu->buffer_destroy(c->gpu->ctx, c->shown);
        c->shown = NULL;
        nnxr_buffer_desc d = {.name = "latent_cloud shown labels", .kind = NNXR_BUFFER_DEVICE,
                              .size = (VkDeviceSize)c->n * 4};
        if (!c->gpu->buffer_create(c->gpu->ctx, &d, &c->shown, err))
            return false;
        c->shown_cap = c->n;
    }
    c->label_base = (uint32_t)(v->labels.offset / 4);
    c->user_base = (uint32_t)(v->user.offset / 4);
    nnxr_buffer_slot slots[3] = {{v->labels.buffer, 0, 0}, {v->user.buffer, 0, 0},
                                 {c->shown, 0, 0}};
    return c->gpu->kernel_bind(c->gpu->ctx, c->mask, slots, 3, &c->mask_bind, err) &&
           c->r->batch_labels(c->draw, c->cubes, c->shown, 0, 4, err);
}

/* A new generation: buffers re-created, maybe another n. */
static bool follow(cloudview *c, const nnxr_cloud_view *v, nnxr_error *err)
{
    c->have = false;
    if (!v->positions.buffer)
        return nnxr_failf(err, "the cloud has no positions buffer");
    if (!region_ok(&v->positions, v->n, 16, "positions", err) ||
        !region_ok(&v->labels, v->n, 4, "labels", err) ||
        !region_ok(&v->user, v->n, 4, "user", err) ||
        !region_ok(&v->entropy, v->n, 4, "entropy", err))
        return false;
    if (v->n > c->cap) {
        int32_t *l = realloc(c->labels, (size_t)v->n * 4);
        if (l)
            c->labels = l;
        uint32_t *u = realloc(c->user, (size_t)v->n * 4);
        if (u)
            c->user = u;
        float *e = realloc(c->entropy, (size_t)v->n * 4);
        if (e)
            c->entropy = e;
        if (!l || !u || !e)
            return nnxr_failf(err, "out of memory for %u points", v->n);
        c->cap = v->n;
    }
    c->n = v->n;
    c->classes = v->classes;
    c->positions = v->positions;
    c->labels_region = v->labels;
    c->user_region = v->user;
    c->entropy_region = v->entropy;
    c->size = c->cube_size > 0.0f ? c->cube_size
              : v->room > 0.0f && isfinite(v->room) ? v->room / 120.0f : 0.03f;
    /* A new batch rather than new sources on the old one: the old buffers are gone, and
     * re-pointing one source rewrites the batch's descriptors with the other's stale one. */
    c->r->batch_destroy(c->draw, c->cubes);
    c->cubes = NULL;
    nnxr_draw_style cs = {.shade = NNXR_SHADE_GREY, .cube_faces = c->cube_faces,
                          .lod_pixels = c->lod_pixels};
    nnxr_draw_batch_desc cd = {.name = "latent cloud cubes", .kind = NNXR_DRAW_CUBES,
                               .capacity = c->n ? c->n : 1, .style = cs};
    if (!c->r->batch_create(c->draw, &cd, &c->cubes, err) ||
        (c->atlas && !c->r->batch_image(c->draw, c->cubes, c->atlas, err)) ||
        !c->r->batch_resize(c->draw, c->cubes, c->n, err) ||
        !c->r->batch_positions(c->draw, c->cubes, v->positions.buffer, v->positions.offset, 16,
                               err) ||
        !c->r->batch_labels(c->draw, c->cubes, v->labels.buffer, v->labels.offset, 4, err))
        return false;
    if (c->mask && !follow_mask(c, v, err))
        return false;
    if (c->gather) {
        if (c->gather_bind)
            c->gpu->binding_destroy(c->gpu->ctx, c->gather_bind);
        c->gather_bind = NULL;
        if (v->positions.offset % 16)
            return nnxr_failf(err,
                              "the cloud's positions start at byte %llu, not a float4 boundary",
                              (unsigned long long)v->positions.offset);
        c->pos_base = (uint32_t)(v->positions.offset / 16);
        nnxr_buffer_slot slots[3] = {
            {v->positions.buffer, 0, 0}, {c->top_index, 0, 0}, {c->top_pos, 0, 0}};
        if (!c->gpu->kernel_bind(c->gpu->ctx, c->gather, slots, 3, &c->gather_bind, err) ||
            !c->r->batch_positions(c->draw, c->marks, c->top_pos, 0, 16, err))
            return false;
    }
    c->generation = v->generation;
    c->have = true;
    return true;
}

static void update(void *self, const nnxr_frame *frame)
{
    (void)frame;
    cloudview *c = self;
    nnxr_error err;
    err.message[0] = '\0';
    nnxr_cloud_view v;
    memset(&v, 0, sizeof v);
    v.size = sizeof v;
    if (!c->cloud->info(c->cloud->ctx, &v, &err)) {
        frame_error(c, &err);
        c->have = false;
        return;
    }
    if (!c->atlas_tried && !build_atlas(c, &err))
        frame_error(c, &err); /* plain cubes then */
    bool changed = false;
    if (!c->have || v.generation != c->generation) {
        if (!follow(c, &v, &err)) {
            frame_error(c, &err);
            return;
        }
        changed = true;
    }
    uint64_t outputs = c->outputs_version;
    if (c->model && c->model->info) {
        nnxr_model_info info = {.size = sizeof info};
        if (c->model->info(c->model->ctx, &info, &err))
            outputs = info.outputs_version;
    }
    if (changed || v.labels_version != c->labels_version || outputs != c->outputs_version)
        c->reread = 2; /* now, and once more after the app's GPU work of this frame */
    c->labels_version = v.labels_version;
    c->outputs_version = outputs;
    if (c->reread > 0) {
        c->reread--;
        if (!refresh(c, &err)) {
            frame_error(c, &err);
            return;
        }
    }
    /* The annotations in effect, copied: the service's array lasts until the next frame. */
    uint32_t na = c->annotations && v.annotations ? v.annotation_count : 0;
    if (na > c->annot_cap) {
        nnxr_cloud_annotation *a = realloc(c->annots, (size_t)na * sizeof *a);
        if (!a)
            na = c->annot_cap;
        else
            c->annots = a, c->annot_cap = na;
    }
    if (na)
        memcpy(c->annots, v.annotations, (size_t)na * sizeof *c->annots);
    c->annot_count = na;
}

static void record_compute(void *self, VkCommandBuffer cmd, const nnxr_frame *frame)
{
    (void)frame;
    cloudview *c = self;
    if (!c->have)
        return;
    bool gather = c->top_count && c->gather_bind, mask = c->mask_bind != NULL;
    if (!gather && !mask)
        return;
    nnxr_error err;
    uint32_t push[3] = {c->top_count, c->n, c->pos_base};
    if (gather &&
        !c->gpu->cmd_dispatch(c->gpu->ctx, cmd, c->gather, c->gather_bind, push, sizeof push,
                              (c->top_count + GATHER_GROUP - 1) / GATHER_GROUP, 1, 1, &err)) {
        frame_error(c, &err);
        return;
    }
    /* Machine labels change on the GPU whenever the classifier's outputs do: masked each
     * frame (one dispatch, n small writes). */
    uint32_t mpush[3] = {c->n, c->label_base, c->user_base};
    uint32_t groups = (c->n + GATHER_GROUP - 1) / GATHER_GROUP;
    if (mask && groups <= c->gpu->properties(c->gpu->ctx)->limits.maxComputeWorkGroupCount[0] &&
        !c->gpu->cmd_dispatch(c->gpu->ctx, cmd, c->mask, c->mask_bind, mpush, sizeof mpush,
                              groups, 1, 1, &err)) {
        frame_error(c, &err);
        return;
    }
    /* The marks' vertex shader reads what this wrote (the host's own barrier after compute
     * work is for compute and transfer). */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         VK_PIPELINE_STAGE_VERTEX_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* ---- drawing ------------------------------------------------------------------------------ */

static float dist2(const float a[3], const float b[3])
{
    float d = 0;
    for (int i = 0; i < 3; i++)
        d += (a[i] - b[i]) * (a[i] - b[i]);
    return d;
}

static void build_spheres(cloudview *c, const nnxr_view *view)
{
    nnxr_error err;
    /* Back to front from the (left) eye, so that nearer translucent spheres blend over
     * farther ones (their discs write depth). Insertion sort: there are few. */
    for (uint32_t a = 1; a < c->annot_count; a++) {
        nnxr_cloud_annotation t = c->annots[a];
        float dt = dist2(t.center, view->eye);
        uint32_t b = a;
        while (b > 0 && dist2(c->annots[b - 1].center, view->eye) < dt) {
            c->annots[b] = c->annots[b - 1];
            b--;
        }
        c->annots[b] = t;
    }
    if (!c->r->batch_resize(c->draw, c->spheres, c->annot_count, &err)) {
        frame_error(c, &err);
        return;
    }
    nnxr_sphere *s = c->r->batch_data(c->draw, c->spheres);
    for (uint32_t i = 0; s && i < c->annot_count; i++) {
        const nnxr_cloud_annotation *a = &c->annots[i];
        float rgb[3];
        nnxr_color_class(a->label, rgb);
        bool ok = isfinite(a->radius) && a->radius > 0 && isfinite(a->center[0]) &&
                  isfinite(a->center[1]) && isfinite(a->center[2]);
        s[i] = (nnxr_sphere){{a->center[0], a->center[1], a->center[2]}, ok ? a->radius : 0.0f,
                             {rgb[0], rgb[1], rgb[2], c->annotation_alpha}};
    }
}

/* The legend, in screen space at (legend_x, legend_y) (negative: from the right / bottom
 * edge): a header "labelled U / n" (the user's labels), then per class a swatch of its colour,
 * its name and the user's count (and "+M guessed": the classifier's labels shown), then a
 * key to the small cubes and the halos when there are any. Lines are text_px + 4 high, the
 * panel's padding 6, a swatch text_px square. */
static void build_legend(cloudview *c, const nnxr_view *view)
{
    nnxr_error err;
    c->r->batch_resize(c->draw, c->panel, 0, &err);
    c->r->batch_resize(c->draw, c->text, 0, &err);
    if (!c->legend || !c->have)
        return;
    const char *const *names = NULL;
    if (c->model && c->model->size >= offsetof(nnxr_model_api, data) + sizeof c->model->data &&
        c->model->data) {
        nnxr_model_data d = {.size = sizeof d};
        if (c->model->data(c->model->ctx, &d, &err))
            names = d.class_names;
    }
    uint32_t nc = c->classes < MAX_LEGEND_CLASSES ? c->classes : MAX_LEGEND_CLASSES;
    /* By default a multiple of the 8-px font (crisp): 8 px at 360 lines, 16 at 720. */
    float tp = c->text_px > 0.0f ? c->text_px
                                 : 8.0f * fmaxf(1.0f, floorf((float)view->height / 360.0f));
    float lh = tp + 4.0f, swatch = tp + 6.0f;
    char lines[MAX_LEGEND_CLASSES + 3][96];
    uint32_t nl = 0, machine = 0;
    snprintf(lines[nl++], sizeof lines[0], "labelled %u / %u", c->user_total, c->n);
    for (uint32_t k = 0; k < nc; k++) {
        char name[40];
        if (names && names[k])
            snprintf(name, sizeof name, "%s", names[k]);
        else
            snprintf(name, sizeof name, "class %u", k);
        machine += c->machine_count[k];
        if (c->machine_count[k])
            snprintf(lines[nl++], sizeof lines[0], "%s  %u  +%u guessed", name,
                     c->user_count[k], c->machine_count[k]);
        else
            snprintf(lines[nl++], sizeof lines[0], "%s  %u", name, c->user_count[k]);
    }
    uint32_t footer = nl;
    if (machine && c->machine_scale < 1.0f)
        snprintf(lines[nl++], sizeof lines[0], "small cubes: guessed");
    if (c->top_count)
        snprintf(lines[nl++], sizeof lines[0], "halo: least certain");
    float w = 0;
    for (uint32_t i = 0; i < nl; i++) {
        float tw;
        c->r->text_size(c->draw, lines[i], tp, &tw, NULL);
        tw += i >= 1 && i <= nc ? swatch : 0.0f;
        w = tw > w ? tw : w;
    }
    w += 2 * PAD;
    float h = 2 * PAD + lh * (float)nl - 4.0f;
    float x = c->legend_x >= 0 ? c->legend_x : (float)view->width + c->legend_x - w;
    float y = c->legend_y >= 0 ? c->legend_y : (float)view->height + c->legend_y - h;
    nnxr_quad q = {.origin = {x, y, 0}, .u = {w, 0, 0}, .v = {0, h, 0}, .uv = {0, 0, 1, 1},
                   .color = {0, 0, 0, c->legend_opacity}};
    c->r->batch_write(c->draw, c->panel, 0, &q, 1, &err);
    const float white[4] = {1, 1, 1, 1}, dim[4] = {0.6f, 0.6f, 0.6f, 1};
    for (uint32_t i = 0; i < nl; i++) {
        float ly = y + PAD + lh * (float)i, tx = x + PAD;
        if (i >= 1 && i <= nc) {
            float rgb[3];
            nnxr_color_class((int)(i - 1), rgb);
            nnxr_quad sq = {.origin = {tx, ly, 0}, .u = {tp, 0, 0}, .v = {0, tp, 0},
                            .uv = {0, 0, 1, 1}, .color = {rgb[0], rgb[1], rgb[2], 1.0f}};
            c->r->batch_write(c->draw, c->panel, c->r->batch_count(c->draw, c->panel), &sq, 1,
                              &err);
            tx += swatch;
        }
        float tpos[3] = {tx, ly, 0};
        c->r->text_add(c->draw, c->text, lines[i], tpos, tp, i >= footer ? dim : white,
                       NNXR_ALIGN_LEFT, &err);
    }
}

static bool prepare(void *self, const nnxr_render_target_info *target, nnxr_error *err)
{
    cloudview *c = self;
    return c->r->prepare(c->draw, target, err);
}

static void record_draw(void *self, VkCommandBuffer cmd, const nnxr_view *view,
                        const nnxr_frame *frame)
{
    (void)frame;
    cloudview *c = self;
    if (!c->have)
        return;
    /* Built before any of these batches is recorded this frame; the left eye's order and
     * layout serve the right eye too. */
    if (view->index == 0) {
        build_spheres(c, view);
        build_legend(c, view);
    }
    c->r->record(c->draw, c->cubes, cmd, view);
    if (c->top_count)
        c->r->record(c->draw, c->marks, cmd, view);
    /* Translucent last among the world's things, so that what lies behind them shows. */
    c->r->record(c->draw, c->spheres, cmd, view);
    c->r->record(c->draw, c->panel, cmd, view);
    c->r->record(c->draw, c->text, cmd, view);
}

static void release(void *self)
{
    cloudview *c = self;
    c->r->release(c->draw);
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
    .id = "nnxr.latent_cloud",
    .description = "The latent cloud (Kath et al.): image cubes coloured by label, annotation "
                   "spheres, the least certain points marked, a legend",
    .create = create,
    .destroy = destroy,
    .extension = extension,
};
