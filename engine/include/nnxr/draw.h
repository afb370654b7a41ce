/* nnxr/draw.h — the "nnxr.render" service: drawing primitives shared by plugins, so that a
 * plugin draws spheres, lines, cubes, images, text and hand markers without writing a
 * pipeline of its own. Also the colours of the seeds (AIive's layer colours, viridis, ten
 * class colours and grey for unlabeled) as inline helpers.
 *
 * Model: a plugin creates one drawing context (nnxr_draw) in `create`, prepares it for the
 * target in its own `prepare` (pipelines against the target's render pass), makes batches
 * (one primitive kind each, instances in a GPU buffer) and images, fills them from the CPU or
 * points a batch's positions (and labels) at a GPU buffer that compute writes, and calls
 * `record` for each batch in its `record_draw`. It destroys what it created before its
 * `destroy` returns.
 *
 * Threading and timing: every call on one context comes from the frame loop's thread. Change
 * batches and images (write, resize, positions, labels, image, upload, text) in `update`,
 * `record_compute` or `prepare`, or in `record_draw` before the batch was recorded in this
 * frame: the host has no frame in flight then. Once a batch is recorded, it must stay as it
 * is until the frame ends (a stereo target records it once per eye).
 *
 * Instance layouts are tight arrays of 32-bit values (floats, and uint32 for layers), read
 * by the shaders as they are here. Colours are linear RGB with alpha; the targets store
 * sRGB. Coordinates: world space is right-handed, y up; screen space is pixels of the view,
 * origin at its top-left corner, y down. */
#ifndef NNXR_DRAW_H
#define NNXR_DRAW_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "nnxr/error.h"
#include "nnxr/gpu.h"
#include "nnxr/plugin.h"
#include "nnxr/render.h"

#define NNXR_SERVICE_RENDER "nnxr.render"

/* ---- instances ------------------------------------------------------------------------ */

/* A sphere impostor: a camera-facing disc shaded as a ball, with an optional glow halo
 * (nnxr_draw_style.glow). Screen space: pos in pixels, radius in pixels. */
typedef struct nnxr_sphere {
    float pos[3];
    float radius;
    float color[4];
} nnxr_sphere;

/* A line segment with one colour; alpha blends (links faded by weight). 1 pixel wide. */
typedef struct nnxr_line {
    float a[3];
    float b[3];
    float color[4];
} nnxr_line;

/* An axis-aligned cube of side `size` showing cell `layer` of the batch's image on its faces
 * (NNXR_DRAW_NO_LAYER: plain colour). */
#define NNXR_DRAW_NO_LAYER 0xffffffffu
typedef struct nnxr_cube {
    float pos[3];
    float size;
    float color[4];
    uint32_t layer;
} nnxr_cube;

/* A textured quad, corners origin + s·u + t·v for s, t in [0, 1], showing the image region
 * uv = (u0, v0, u1, v1) (v0 at t = 0). Billboard space: origin is a world point and the
 * corner is offset in the camera's plane: origin + right·q.x + up·q.y with
 * q = offset + s·u.xy + t·v.xy (world units). Screen space: pixels (offset is added). */
typedef struct nnxr_quad {
    float origin[3];
    float offset[2];
    float u[3];
    float v[3];
    float uv[4];
    float color[4];
} nnxr_quad;

/* A hand or controller: an arrow-head pointing along the pose's −z (OpenXR's aim
 * direction), rotation a unit quaternion (x, y, z, w), `size` its length. */
typedef struct nnxr_marker {
    float pos[3];
    float size;
    float rot[4];
    float color[4];
} nnxr_marker;

/* ---- batches and images ---------------------------------------------------------------- */

typedef enum nnxr_draw_kind {
    NNXR_DRAW_SPHERES = 1, /* nnxr_sphere */
    NNXR_DRAW_LINES,       /* nnxr_line */
    NNXR_DRAW_CUBES,       /* nnxr_cube */
    NNXR_DRAW_QUADS,       /* nnxr_quad */
    NNXR_DRAW_MARKERS,     /* nnxr_marker */
    NNXR_DRAW_TEXT,        /* nnxr_quad, filled by text_add, with the built-in font */
} nnxr_draw_kind;

typedef enum nnxr_draw_space {
    NNXR_SPACE_WORLD = 0,     /* world coordinates, depth tested */
    NNXR_SPACE_BILLBOARD = 1, /* quads and text: world anchor, facing the camera */
    NNXR_SPACE_SCREEN = 2,    /* pixels of the view, drawn over the world */
} nnxr_draw_space;

/* How a quad or cube pixel is coloured from its image and its instance colour c. */
typedef enum nnxr_draw_shade {
    NNXR_SHADE_SOLID = 0,     /* c (no image) */
    NNXR_SHADE_TEXTURE = 1,   /* RGBA image × c */
    NNXR_SHADE_GREY = 2,      /* single-channel value v (an sRGB-encoded grey): c.rgb · v;
                                 cubes: c.rgb · (0.2 + 0.8 v), so that a black image still
                                 shows its cube's colour */
    NNXR_SHADE_MASK = 3,      /* c with alpha × v (text) */
    NNXR_SHADE_VIRIDIS = 4,   /* viridis((v − range[0]) / (range[1] − range[0])), alpha c.a */
    NNXR_SHADE_DIVERGING = 5, /* blue–white–red over range, alpha c.a */
} nnxr_draw_shade;

typedef struct nnxr_draw_style {
    nnxr_draw_space space;
    nnxr_draw_shade shade;
    float glow;         /* spheres: halo out to (1 + glow) × radius; 0 = none */
    float range[2];     /* VIRIDIS / DIVERGING: the values at the two ends */
    uint32_t cube_faces; /* cubes: 3 = only the faces toward the eye (default, half the
                            triangles), 6 = all six with back-face culling, 1 = every cube
                            as a camera-facing image square (a point sprite), the cheapest */
    float lod_pixels;   /* cubes (3 faces): a cube smaller than this on screen is drawn as
                           one camera-facing image square; 0 = never. Sprites need the
                           device's largePoints feature: without it, 3 faces always */
} nnxr_draw_style;

typedef struct nnxr_draw_batch_desc {
    const char *name;      /* for messages; may be NULL */
    nnxr_draw_kind kind;
    uint32_t capacity;     /* instances to make room for at first (grows when needed) */
    nnxr_draw_style style;
} nnxr_draw_batch_desc;

typedef enum nnxr_image_format {
    NNXR_IMAGE_RGBA8 = 1, /* 4 bytes per pixel, sRGB-encoded colour */
    NNXR_IMAGE_R8 = 2,    /* 1 byte per pixel, a value in [0, 1] (GREY, MASK, colormaps) */
    NNXR_IMAGE_R32F = 3,  /* 1 float per pixel (colormaps with a range); nearest sampling */
} nnxr_image_format;

/* An image, optionally divided into cells of cell_width × cell_height (an atlas: many small
 * images in one texture, as 70,000 images exceed maxImageArrayLayers). Cell k is at column
 * k % (width / cell_width), row k / (width / cell_width). */
typedef struct nnxr_draw_image_desc {
    const char *name;
    nnxr_image_format format;
    uint32_t width, height;
    uint32_t cell_width, cell_height; /* 0 = one cell, the whole image */
    bool linear;                      /* linear filtering (RGBA8, R8); else nearest */
} nnxr_draw_image_desc;

typedef struct nnxr_draw nnxr_draw;             /* a plugin's drawing context */
typedef struct nnxr_draw_batch nnxr_draw_batch; /* instances of one kind */
typedef struct nnxr_draw_image nnxr_draw_image; /* a sampled image */

/* Text alignment for text_add: horizontal | vertical. */
enum {
    NNXR_ALIGN_LEFT = 0, NNXR_ALIGN_CENTER = 1, NNXR_ALIGN_RIGHT = 2,
    NNXR_ALIGN_TOP = 0, NNXR_ALIGN_MIDDLE = 4, NNXR_ALIGN_BOTTOM = 8,
};

/* ---- the service ------------------------------------------------------------------------ */

/* `size` is sizeof the table the host filled: check it before using members added later. */
typedef struct nnxr_render_api {
    size_t size;

    /* The context: pipelines, the font, default resources. create needs the host's
     * "nnxr.gpu" service. destroy frees the context (its batches and images must be gone). */
    bool (*create)(const nnxr_host *host, nnxr_draw **out, nnxr_error *err);
    void (*destroy)(nnxr_draw *d);
    /* From the plugin's prepare: (re)builds the pipelines for this target. */
    bool (*prepare)(nnxr_draw *d, const nnxr_render_target_info *target, nnxr_error *err);
    /* From the plugin's release: frees the pipelines. */
    void (*release)(nnxr_draw *d);

    bool (*batch_create)(nnxr_draw *d, const nnxr_draw_batch_desc *desc,
                         nnxr_draw_batch **out, nnxr_error *err);
    void (*batch_destroy)(nnxr_draw *d, nnxr_draw_batch *b); /* NULL is fine */
    void (*batch_set_style)(nnxr_draw *d, nnxr_draw_batch *b, const nnxr_draw_style *style);
    /* Copies `count` instances (of the batch's kind) to [first, first + count) and sets the
     * batch's count to first + count; first may not exceed the current count. */
    bool (*batch_write)(nnxr_draw *d, nnxr_draw_batch *b, uint32_t first,
                        const void *instances, uint32_t count, nnxr_error *err);
    /* Sets the count, keeping the instances below it (new ones are zero: invisible). */
    bool (*batch_resize)(nnxr_draw *d, nnxr_draw_batch *b, uint32_t count, nnxr_error *err);
    /* The instances in GPU-visible memory (count of them), to write in place; NULL when the
     * batch is empty. Valid until the next write, resize or text_add. */
    void *(*batch_data)(nnxr_draw *d, nnxr_draw_batch *b);
    uint32_t (*batch_count)(const nnxr_draw *d, const nnxr_draw_batch *b);
    /* Positions from a GPU buffer (e.g. a simulation's): instance i's position is the three
     * floats at byte offset + i × stride (multiples of 4); the instances' own pos fields are
     * ignored. buf NULL goes back to the instances' own positions. Spheres, cubes, markers;
     * the buffer must outlive its use by the batch. */
    bool (*batch_positions)(nnxr_draw *d, nnxr_draw_batch *b, const nnxr_buffer *buf,
                            VkDeviceSize offset, uint32_t stride, nnxr_error *err);
    /* Colours from class labels in a GPU buffer: the int32 at offset + i × stride is instance
     * i's class (>= 0: nnxr_color_class, < 0: grey); alpha stays the instance's. Spheres,
     * cubes. buf NULL turns it off. */
    bool (*batch_labels)(nnxr_draw *d, nnxr_draw_batch *b, const nnxr_buffer *buf,
                         VkDeviceSize offset, uint32_t stride, nnxr_error *err);
    /* The image quads and cubes show (NULL: none; text batches use the font). */
    bool (*batch_image)(nnxr_draw *d, nnxr_draw_batch *b, nnxr_draw_image *img,
                        nnxr_error *err);
    /* Records the batch's draws for one view (inside the render pass, from record_draw). */
    void (*record)(nnxr_draw *d, nnxr_draw_batch *b, VkCommandBuffer cmd,
                   const nnxr_view *view);

    bool (*image_create)(nnxr_draw *d, const nnxr_draw_image_desc *desc,
                         nnxr_draw_image **out, nnxr_error *err);
    void (*image_destroy)(nnxr_draw *d, nnxr_draw_image *img); /* NULL is fine */
    /* Synchronous upload of a w × h region at (x, y): tightly packed rows, top row first,
     * in the image's format. Not inside record_draw. */
    bool (*image_upload)(nnxr_draw *d, nnxr_draw_image *img, uint32_t x, uint32_t y,
                         uint32_t w, uint32_t h, const void *pixels, nnxr_error *err);
    /* The same for cell k of an atlas (cell_width × cell_height pixels). */
    bool (*image_upload_cell)(nnxr_draw *d, nnxr_draw_image *img, uint32_t cell,
                              const void *pixels, nnxr_error *err);
    /* The uv rectangle (u0, v0, u1, v1) of cell k, for nnxr_quad.uv. */
    void (*image_cell_uv)(const nnxr_draw *d, const nnxr_draw_image *img, uint32_t cell,
                          float uv[4]);
    /* Records a copy of the whole image from a GPU buffer (tightly packed, the image's
     * format) at byte offset into cmd, outside any render pass — from record_compute, so
     * that compute output (a heatmap) is drawn without a readback. */
    bool (*image_record_copy)(nnxr_draw *d, nnxr_draw_image *img, VkCommandBuffer cmd,
                              const nnxr_buffer *src, VkDeviceSize offset, nnxr_error *err);

    /* Appends the glyphs of `text` ('\n' starts a line; other bytes outside ASCII 32–126
     * show as '?') to a TEXT batch. pos: screen space, the pixel of the anchor; world space,
     * a point, the text along +x with +y up; billboard, a point, facing the camera.
     * height: of a line, in pixels or world units (the font is 8 px high; multiples of 8 are
     * crisp in screen space). align: NNXR_ALIGN_* of the text's box to pos. */
    bool (*text_add)(nnxr_draw *d, nnxr_draw_batch *b, const char *text, const float pos[3],
                     float height, const float color[4], uint32_t align, nnxr_error *err);
    /* Width and height of the box text_add would fill, in the units of `height`. */
    void (*text_size)(const nnxr_draw *d, const char *text, float height, float *width,
                      float *box_height);
} nnxr_render_api;

/* ---- colours (linear RGB, for instance colours) ---------------------------------------- */

static inline float nnxr_srgb_to_linear(float c)
{
    return c <= 0.04045f ? c / 12.92f : powf((c + 0.055f) / 1.055f, 2.4f);
}

static inline void nnxr_color_from_srgb(float r, float g, float b, float out[3])
{
    out[0] = nnxr_srgb_to_linear(r);
    out[1] = nnxr_srgb_to_linear(g);
    out[2] = nnxr_srgb_to_linear(b);
}

/* AIive's graph: input red, first hidden layer blue, second hidden yellow, output green,
 * links white (alpha = normalised |w|). Further hidden layers cycle through other hues. */
typedef enum nnxr_graph_role {
    NNXR_ROLE_INPUT = 0,
    NNXR_ROLE_HIDDEN1,
    NNXR_ROLE_HIDDEN2,
    NNXR_ROLE_HIDDEN3,
    NNXR_ROLE_HIDDEN4,
    NNXR_ROLE_OUTPUT,
    NNXR_ROLE_LINK,
} nnxr_graph_role;

/* The sRGB values of the roles (the linear colour is nnxr_color_role). */
static inline void nnxr_color_role_srgb(nnxr_graph_role role, float out[3])
{
    static const float t[7][3] = {
        {0.92f, 0.16f, 0.14f}, /* input: red */
        {0.16f, 0.42f, 1.00f}, /* first hidden: blue */
        {1.00f, 0.86f, 0.10f}, /* second hidden: yellow */
        {0.72f, 0.30f, 0.95f}, /* third: violet */
        {0.10f, 0.85f, 0.85f}, /* fourth: cyan */
        {0.15f, 0.85f, 0.25f}, /* output: green */
        {1.00f, 1.00f, 1.00f}, /* links: white */
    };
    int i = (int)role < 0 || (int)role > 6 ? 6 : (int)role;
    out[0] = t[i][0];
    out[1] = t[i][1];
    out[2] = t[i][2];
}

static inline void nnxr_color_role(nnxr_graph_role role, float out[3])
{
    float s[3];
    nnxr_color_role_srgb(role, s);
    nnxr_color_from_srgb(s[0], s[1], s[2], out);
}

/* The role of hidden layer l (0-based) of `hidden` layers. */
static inline nnxr_graph_role nnxr_role_of_hidden(uint32_t l)
{
    return (nnxr_graph_role)(NNXR_ROLE_HIDDEN1 + l % 4);
}

/* Ten distinguishable class colours (sRGB), and grey for unlabeled (label < 0). The shaders
 * use the same table (shaders/include/render/common.glsl). */
static inline void nnxr_color_class_srgb(int label, float out[3])
{
    static const float t[11][3] = {
        {0.90f, 0.10f, 0.10f}, /* 0 red */
        {0.10f, 0.45f, 0.90f}, /* 1 blue */
        {0.15f, 0.70f, 0.20f}, /* 2 green */
        {1.00f, 0.60f, 0.05f}, /* 3 orange */
        {0.60f, 0.25f, 0.80f}, /* 4 purple */
        {0.05f, 0.80f, 0.80f}, /* 5 cyan */
        {0.95f, 0.35f, 0.70f}, /* 6 pink */
        {0.60f, 0.40f, 0.15f}, /* 7 brown */
        {0.75f, 0.85f, 0.10f}, /* 8 lime */
        {0.10f, 0.25f, 0.45f}, /* 9 navy */
        {0.50f, 0.50f, 0.50f}, /* unlabeled: grey */
    };
    int i = label < 0 ? 10 : label % 10;
    out[0] = t[i][0];
    out[1] = t[i][1];
    out[2] = t[i][2];
}

static inline void nnxr_color_class(int label, float out[3])
{
    float s[3];
    nnxr_color_class_srgb(label, s);
    nnxr_color_from_srgb(s[0], s[1], s[2], out);
}

/* Viridis (matplotlib's perceptually uniform map), sampled at nine stops in sRGB and
 * interpolated there; t is clamped to [0, 1]. The shaders use the same stops. */
static inline void nnxr_color_viridis_srgb(float t, float out[3])
{
    static const float v[9][3] = {
        {0.267004f, 0.004874f, 0.329415f}, {0.282623f, 0.140926f, 0.457517f},
        {0.229739f, 0.322361f, 0.545706f}, {0.172719f, 0.448791f, 0.557885f},
        {0.127568f, 0.566949f, 0.550556f}, {0.157851f, 0.683765f, 0.501686f},
        {0.369214f, 0.788888f, 0.382914f}, {0.678489f, 0.863742f, 0.189503f},
        {0.993248f, 0.906157f, 0.143936f},
    };
    t = t != t ? 0.0f : t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
    float x = t * 8.0f;
    int i = (int)x;
    if (i > 7)
        i = 7;
    float f = x - (float)i;
    for (int c = 0; c < 3; c++)
        out[c] = v[i][c] + (v[i + 1][c] - v[i][c]) * f;
}

static inline void nnxr_color_viridis(float t, float out[3])
{
    float s[3];
    nnxr_color_viridis_srgb(t, s);
    nnxr_color_from_srgb(s[0], s[1], s[2], out);
}

#endif
