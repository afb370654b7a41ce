/* tests/unit/test_render_draw.c — the drawing primitives of the "nnxr.render" service,
 * rendered offscreen on the device and checked for meaning: each primitive lands where the
 * camera puts it, in the colour its shading formula gives, and not elsewhere; cubes with 3
 * faces match cubes with 6; positions and labels from GPU buffers; atlases and colormaps;
 * the font's glyphs pixel for pixel; bad calls fail with messages. Validation is on. */
#include "test_render_util.h"

#include "render/font.h"

static const nnxr_draw_style plain = {0};

static nnxr_draw_batch *mk(tr_scene *s, nnxr_draw_kind kind, nnxr_draw_style style)
{
    nnxr_draw_batch_desc d = {.name = "test", .kind = kind, .capacity = 4, .style = style};
    nnxr_draw_batch *b = NULL;
    nnxr_error err;
    if (!s->api->batch_create(s->draw, &d, &b, &err)) {
        fprintf(stderr, "batch_create: %s\n", err.message);
        exit(1);
    }
    return b;
}

static void put(tr_scene *s, nnxr_draw_batch *b, const void *inst, uint32_t n)
{
    nnxr_error err;
    bool ok = s->api->batch_write(s->draw, b, 0, inst, n, &err);
    CHECKF(ok, "batch_write: %s", err.message);
}

/* A ball lit at its centre by 0.45 + 0.55 n·l with n = +z (sphere.frag). */
static float centre_light(void)
{
    float l[3] = {-0.35f, 0.45f, 0.82f};
    float n = sqrtf(l[0] * l[0] + l[1] * l[1] + l[2] * l[2]);
    return 0.45f + 0.55f * l[2] / n;
}

static void test_spheres(tr_scene *s)
{
    nnxr_draw_style glow = {.glow = 1.0f};
    nnxr_draw_batch *b = mk(s, NNXR_DRAW_SPHERES, glow);
    nnxr_sphere sp[2] = {{{-1.2f, 0, 0}, 0.3f, {1, 0, 0, 1}}, {{1.2f, 0, 0}, 0.5f, {0, 0, 1, 1}}};
    put(s, b, sp, 2);
    nnxr_draw_batch *list[] = {b, NULL};
    tr_render(s, list);
    int x, y;
    float lit = centre_light();
    float red[3] = {lit, 0, 0}, blue[3] = {0, 0, lit};
    tr_project(s, sp[0].pos, &x, &y);
    CHECKF(tr_near(tr_px(s, x, y), red, 8), "red centre %d %d %d", tr_px(s, x, y)[0],
           tr_px(s, x, y)[1], tr_px(s, x, y)[2]);
    tr_project(s, sp[1].pos, &x, &y);
    CHECKF(tr_near(tr_px(s, x, y), blue, 8), "blue centre %d %d %d", tr_px(s, x, y)[0],
           tr_px(s, x, y)[1], tr_px(s, x, y)[2]);
    /* Radius: the ball of radius 0.5 covers 0.4 to its right, its halo (to 1.0) is dimmer
     * blue at 0.7, and nothing is drawn at 1.1. */
    float in[3] = {1.2f + 0.4f, 0, 0}, halo[3] = {1.2f + 0.7f, 0, 0}, out[3] = {1.2f + 1.1f, 0, 0};
    tr_project(s, in, &x, &y);
    const uint8_t *p = tr_px(s, x, y);
    CHECKF(p[2] > 100 && p[0] == 0, "inside the ball: %d %d %d", p[0], p[1], p[2]);
    tr_project(s, halo, &x, &y);
    p = tr_px(s, x, y);
    CHECKF(p[2] > 10 && p[2] < tr_srgb8(blue[2]) && p[0] == 0, "halo: %d %d %d", p[0], p[1], p[2]);
    tr_project(s, out, &x, &y);
    CHECKF(tr_is_black(tr_px(s, x, y)), "past the halo is background");
    /* No glow: the halo is gone. */
    s->api->batch_set_style(s->draw, b, &plain);
    tr_render(s, list);
    tr_project(s, halo, &x, &y);
    CHECKF(tr_is_black(tr_px(s, x, y)), "no glow, no halo");
    /* Screen space: a 10 px ball at pixel (20, 30). */
    nnxr_draw_style scr = {.space = NNXR_SPACE_SCREEN};
    s->api->batch_set_style(s->draw, b, &scr);
    nnxr_sphere one = {{20, 30, 0}, 10, {0, 1, 0, 1}};
    put(s, b, &one, 1);
    tr_render(s, list);
    CHECKF(tr_px(s, 20, 30)[1] > 200, "screen ball centre green %d", tr_px(s, 20, 30)[1]);
    CHECKF(tr_px(s, 27, 30)[1] > 50 && tr_is_black(tr_px(s, 32, 30)), "screen ball radius 10");
    s->api->batch_destroy(s->draw, b);
}

static void test_lines(tr_scene *s)
{
    nnxr_draw_batch *b = mk(s, NNXR_DRAW_LINES, plain);
    nnxr_line l[2] = {{{-2, -1, 0}, {2, -1, 0}, {1, 1, 1, 1}},
                      {{-2, 1, 0}, {2, 1, 0}, {1, 1, 1, 0.5f}}};
    put(s, b, l, 2);
    nnxr_draw_batch *list[] = {b, NULL};
    tr_render(s, list);
    int x0, y0, x1, y1;
    tr_project(s, l[0].a, &x0, &y0);
    tr_project(s, l[0].b, &x1, &y1);
    /* Along the projected row every pixel between the ends is lit (one row or its
     * neighbour, as the rasteriser rounds), white for alpha 1. */
    int lit = 0, total = 0;
    for (int x = x0 + 2; x < x1 - 2; x++, total++) {
        const uint8_t *a = tr_px(s, x, y0), *b2 = tr_px(s, x, y0 - 1);
        lit += (a[0] == 255 && a[1] == 255) || (b2[0] == 255 && b2[1] == 255);
    }
    CHECKF(lit == total && total > 50, "opaque line: %d of %d pixels white", lit, total);
    /* Alpha 0.5 over black: half the linear intensity. */
    tr_project(s, l[1].a, &x0, &y0);
    int want = tr_srgb8(0.5f), half = 0;
    for (int x = x0 + 2; x < x0 + 40; x++) {
        const uint8_t *a = tr_px(s, x, y0), *b2 = tr_px(s, x, y0 - 1);
        half += abs(a[0] - want) <= 2 || abs(b2[0] - want) <= 2;
    }
    CHECKF(half == 38, "alpha-0.5 line: %d of 38 pixels at %d", half, want);
    /* Nothing between the lines. */
    CHECK(tr_is_black(tr_px(s, (int)s->w / 2, (int)s->h / 2)));
    s->api->batch_destroy(s->draw, b);
}

/* Renders cubes with 3 and with 6 faces and compares the pictures. */
static void test_cubes(tr_scene *s)
{
    nnxr_error err;
    /* An atlas of 2 × 2 cells of 4 × 4: cell 0 left half white, cell 3 all white. */
    nnxr_draw_image_desc ad = {.name = "atlas", .format = NNXR_IMAGE_R8, .width = 8,
                               .height = 8, .cell_width = 4, .cell_height = 4};
    nnxr_draw_image *atlas = NULL;
    CHECKF(s->api->image_create(s->draw, &ad, &atlas, &err), "%s", err.message);
    uint8_t c0[16], c3[16];
    for (int i = 0; i < 16; i++) {
        c0[i] = (i % 4) < 2 ? 255 : 0;
        c3[i] = 255;
    }
    CHECKF(s->api->image_upload_cell(s->draw, atlas, 0, c0, &err), "%s", err.message);
    CHECKF(s->api->image_upload_cell(s->draw, atlas, 3, c3, &err), "%s", err.message);
    CHECK(!s->api->image_upload_cell(s->draw, atlas, 4, c3, &err));
    CHECK_CONTAINS(err.message, "cell 4 is past its 4 cells");

    nnxr_draw_style grey = {.shade = NNXR_SHADE_GREY};
    nnxr_draw_batch *b = mk(s, NNXR_DRAW_CUBES, grey);
    CHECKF(s->api->batch_image(s->draw, b, atlas, &err), "%s", err.message);
    /* Two cubes seen from the front-right-top, so three faces of each show. */
    float eye[3] = {2.5f, 2.0f, 5.0f}, at[3] = {0, 0, 0};
    nnxr_view_look_at(&s->view, eye, at, 60.0f, s->w, s->h);
    nnxr_cube cubes[2] = {{{-1, 0, 0}, 1.2f, {1, 1, 1, 1}, 0},
                          {{1.2f, 0, 0}, 1.0f, {0, 1, 0, 1}, 3}};
    put(s, b, cubes, 2);
    nnxr_draw_batch *list[] = {b, NULL};
    tr_render(s, list);
    uint8_t *three = malloc((size_t)s->w * s->h * 4);
    memcpy(three, s->rgba, (size_t)s->w * s->h * 4);
    nnxr_draw_style six = grey;
    six.cube_faces = 6;
    s->api->batch_set_style(s->draw, b, &six);
    tr_render(s, list);
    int differ = 0, covered = 0;
    for (size_t i = 0; i < (size_t)s->w * s->h; i++) {
        differ += memcmp(three + i * 4, s->rgba + i * 4, 3) != 0;
        covered += !tr_is_black(three + i * 4);
    }
    /* Edges may rasterise a little differently; faces must agree. */
    CHECKF(differ <= covered / 50 && covered > 500, "3 vs 6 faces: %d of %d covered pixels "
           "differ", differ, covered);
    /* The front (+z) face of the first cube shows cell 0: left half bright, right half
     * dark (0.2 of the tint, cube shading 0.9). Sample at 25 % and 75 % of its width. */
    float fl[3] = {-1 - 0.3f, -0.1f, 0.6f}, fr[3] = {-1 + 0.3f, -0.1f, 0.6f};
    int x, y;
    tr_project(s, fl, &x, &y);
    const uint8_t *l = tr_px(s, x, y);
    tr_project(s, fr, &x, &y);
    const uint8_t *r = tr_px(s, x, y);
    float bright[3] = {0.9f, 0.9f, 0.9f}, dark[3] = {0.18f, 0.18f, 0.18f};
    CHECKF(tr_near(l, bright, 3), "cell 0 left: %d %d %d", l[0], l[1], l[2]);
    CHECKF(tr_near(r, dark, 3), "cell 0 right: %d %d %d", r[0], r[1], r[2]);
    /* The second cube's top face (shading 1.0) shows white cell 3 tinted green. */
    float top[3] = {1.2f, 0.5f, 0};
    tr_project(s, top, &x, &y);
    const uint8_t *t = tr_px(s, x, y);
    float green[3] = {0, 1, 0};
    CHECKF(tr_near(t, green, 3), "cube 2 top: %d %d %d", t[0], t[1], t[2]);

    /* Positions and labels from GPU buffers: the instances' own positions are ignored. */
    nnxr_buffer *pos = tg_buffer(s->gpu, "positions", NNXR_BUFFER_DEVICE, 256);
    nnxr_buffer *lab = tg_buffer(s->gpu, "labels", NNXR_BUFFER_DEVICE, 256);
    float p4[8] = {-1, 0, 0, 0, 1.2f, 0, 0, 0}; /* float4 per point, at byte offset 16 */
    int32_t labels[2] = {2, -1};
    CHECK(nnxr_buffer_upload(s->gpu, pos, 16, p4, sizeof p4, &err));
    CHECK(nnxr_buffer_upload(s->gpu, lab, 0, labels, sizeof labels, &err));
    nnxr_cube moved[2] = {{{9, 9, 9}, 1.2f, {1, 1, 1, 1}, 3}, {{9, 9, 9}, 1.0f, {1, 1, 1, 1}, 3}};
    put(s, b, moved, 2);
    s->api->batch_set_style(s->draw, b, &grey);
    CHECKF(s->api->batch_positions(s->draw, b, pos, 16, 16, &err), "%s", err.message);
    CHECKF(s->api->batch_labels(s->draw, b, lab, 0, 4, &err), "%s", err.message);
    tr_render(s, list);
    float top1[3] = {-1, 0.6f, 0};
    tr_project(s, top1, &x, &y);
    float class2[3], unl[3];
    nnxr_color_class(2, class2);
    nnxr_color_class(-1, unl);
    CHECKF(tr_near(tr_px(s, x, y), class2, 3), "label 2 colour: %d %d %d", tr_px(s, x, y)[0],
           tr_px(s, x, y)[1], tr_px(s, x, y)[2]);
    tr_project(s, top, &x, &y);
    CHECKF(tr_near(tr_px(s, x, y), unl, 3), "unlabeled grey: %d %d %d", tr_px(s, x, y)[0],
           tr_px(s, x, y)[1], tr_px(s, x, y)[2]);
    /* Far cubes as camera-facing quads: with lod_pixels huge, every cube is one quad that
     * faces the camera (its centre pixel still shows the cell). */
    nnxr_draw_style lod = grey;
    lod.lod_pixels = 10000.0f;
    s->api->batch_set_style(s->draw, b, &lod);
    tr_render(s, list);
    float c1[3] = {-1, 0, 0};
    tr_project(s, c1, &x, &y);
    CHECKF(!tr_is_black(tr_px(s, x, y)), "LOD quad drawn");
    CHECK(!s->api->batch_positions(s->draw, b, pos, 2, 16, &err));
    CHECK_CONTAINS(err.message, "multiples of 4");

    float eye0[3] = {0, 0, 5};
    nnxr_view_look_at(&s->view, eye0, at, 60.0f, s->w, s->h);
    s->api->batch_destroy(s->draw, b);
    s->api->image_destroy(s->draw, atlas);
    nnxr_buffer_destroy(s->gpu, pos);
    nnxr_buffer_destroy(s->gpu, lab);
    free(three);
}

static void test_quads(tr_scene *s)
{
    nnxr_error err;
    /* A 2 × 1 float image through viridis in screen space: the ends of the map. */
    nnxr_draw_image_desc hd = {.name = "heat", .format = NNXR_IMAGE_R32F, .width = 2,
                               .height = 1};
    nnxr_draw_image *heat = NULL;
    CHECKF(s->api->image_create(s->draw, &hd, &heat, &err), "%s", err.message);
    float v[2] = {-3.0f, 5.0f};
    CHECK(s->api->image_upload(s->draw, heat, 0, 0, 2, 1, v, &err));
    nnxr_draw_style vs = {.space = NNXR_SPACE_SCREEN, .shade = NNXR_SHADE_VIRIDIS,
                          .range = {-3.0f, 5.0f}};
    nnxr_draw_batch *b = mk(s, NNXR_DRAW_QUADS, vs);
    CHECK(s->api->batch_image(s->draw, b, heat, &err));
    nnxr_quad q = {.origin = {10, 20, 0}, .u = {40, 0, 0}, .v = {0, 20, 0}, .uv = {0, 0, 1, 1},
                   .color = {1, 1, 1, 1}};
    put(s, b, &q, 1);
    nnxr_draw_batch *list[] = {b, NULL};
    tr_render(s, list);
    float lo[3], hi[3];
    nnxr_color_viridis(0.0f, lo);
    nnxr_color_viridis(1.0f, hi);
    const uint8_t *a = tr_px(s, 15, 30), *c = tr_px(s, 45, 30);
    CHECKF(tr_near(a, lo, 1), "viridis low end: %d %d %d", a[0], a[1], a[2]);
    CHECKF(tr_near(c, hi, 1), "viridis high end: %d %d %d", c[0], c[1], c[2]);
    CHECK(abs(a[0] - 68) <= 1 && abs(a[1] - 1) <= 1 && abs(a[2] - 84) <= 1);
    CHECK(abs(c[0] - 253) <= 1 && abs(c[1] - 231) <= 1 && abs(c[2] - 37) <= 1);
    CHECK(tr_is_black(tr_px(s, 9, 30)) && tr_is_black(tr_px(s, 51, 30)) &&
          tr_is_black(tr_px(s, 30, 19)) && tr_is_black(tr_px(s, 30, 41)));
    /* The same image updated from a GPU buffer by a recorded copy (no readback). */
    nnxr_buffer *src = tg_buffer(s->gpu, "heat src", NNXR_BUFFER_DEVICE, 16);
    float v2[2] = {5.0f, -3.0f};
    CHECK(nnxr_buffer_upload(s->gpu, src, 0, v2, sizeof v2, &err));
    CHECK(nnxr_recorder_begin(s->rec, &err));
    CHECKF(s->api->image_record_copy(s->draw, heat, nnxr_recorder_cmd(s->rec), src, 0, &err),
           "%s", err.message);
    nnxr_recorder_external(s->rec);
    CHECK(nnxr_recorder_run(s->rec, &err));
    tr_render(s, list);
    CHECKF(tr_near(tr_px(s, 15, 30), hi, 1) && tr_near(tr_px(s, 45, 30), lo, 1),
           "after the GPU copy the ends swap");
    CHECK(!s->api->image_record_copy(s->draw, heat, VK_NULL_HANDLE, src, 12, &err));
    CHECK_CONTAINS(err.message, "copying 8 bytes at offset 12");
    /* A solid translucent quad in world space at the origin. */
    nnxr_draw_style ws = {0};
    s->api->batch_set_style(s->draw, b, &ws);
    CHECK(s->api->batch_image(s->draw, b, NULL, &err));
    nnxr_quad w = {.origin = {-1, -1, 0}, .u = {2, 0, 0}, .v = {0, 2, 0}, .uv = {0, 0, 1, 1},
                   .color = {0, 0, 1, 0.5f}};
    put(s, b, &w, 1);
    tr_render(s, list);
    float half_blue[3] = {0, 0, 0.5f};
    CHECKF(tr_near(tr_px(s, (int)s->w / 2, (int)s->h / 2), half_blue, 2), "translucent quad");
    s->api->batch_destroy(s->draw, b);
    s->api->image_destroy(s->draw, heat);
    nnxr_buffer_destroy(s->gpu, src);
}

static void test_text(tr_scene *s)
{
    nnxr_error err;
    nnxr_draw_style scr = {.space = NNXR_SPACE_SCREEN};
    nnxr_draw_batch *b = mk(s, NNXR_DRAW_TEXT, scr);
    float white[4] = {1, 1, 1, 1};
    const char *msg = "Hi 0.5%\n@gz";
    float pos[3] = {10, 10, 0};
    CHECKF(s->api->text_add(s->draw, b, msg, pos, 16.0f, white, 0, &err), "%s", err.message);
    CHECK(s->api->batch_count(s->draw, b) == 9); /* spaces and newlines make no glyph */
    float tw, th;
    s->api->text_size(s->draw, msg, 16.0f, &tw, &th);
    CHECK_CLOSE(tw, 7 * 12.0, 1e-6);
    CHECK_CLOSE(th, 32.0, 1e-6);
    nnxr_draw_batch *list[] = {b, NULL};
    tr_render(s, list);
    /* At 16 px per line each font pixel is 2 × 2 screen pixels: compare every glyph pixel. */
    int wrong = 0, ink = 0;
    int line = 0, col = 0;
    for (const char *p = msg; *p; p++) {
        if (*p == '\n') {
            line++;
            col = 0;
            continue;
        }
        for (uint32_t gy = 0; gy < 8; gy++)
            for (uint32_t gx = 0; gx < 6; gx++) {
                bool want = nnxr_font_ink((unsigned char)*p, gx, gy);
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        const uint8_t *px = tr_px(s, 10 + col * 12 + (int)gx * 2 + dx,
                                                  10 + line * 16 + (int)gy * 2 + dy);
                        bool got = px[0] == 255 && px[1] == 255 && px[2] == 255;
                        wrong += want ? !got : !tr_is_black(px);
                        ink += got;
                    }
            }
        col++;
    }
    CHECKF(wrong == 0 && ink > 200, "text: %d wrong pixels, %d ink", wrong, ink);
    CHECK(tr_is_black(tr_px(s, 9, 9)));
    /* Centred and bottom-aligned: the box ends at the anchor. */
    CHECK(s->api->batch_resize(s->draw, b, 0, &err));
    float anchor[3] = {80, 100, 0};
    CHECK(s->api->text_add(s->draw, b, "I", anchor, 8.0f, white,
                           NNXR_ALIGN_CENTER | NNXR_ALIGN_BOTTOM, &err));
    tr_render(s, list);
    /* 'I' is 3 px wide at columns 1..3 of its 6-px cell, centred: cell 77..83. */
    CHECK(tr_px(s, 79, 98)[0] == 255 && tr_px(s, 79, 93)[0] == 255 && tr_px(s, 78, 92)[0] == 255);
    CHECK(tr_is_black(tr_px(s, 79, 99)) && tr_is_black(tr_px(s, 79, 100)) &&
          tr_is_black(tr_px(s, 77, 96)) && tr_is_black(tr_px(s, 79, 91)));
    /* Billboard text at the origin shows up around the centre. */
    nnxr_draw_style bb = {.space = NNXR_SPACE_BILLBOARD};
    s->api->batch_set_style(s->draw, b, &bb);
    CHECK(s->api->batch_resize(s->draw, b, 0, &err));
    float origin[3] = {0, 0, 0};
    CHECK(s->api->text_add(s->draw, b, "#####", origin, 0.5f, white,
                           NNXR_ALIGN_CENTER | NNXR_ALIGN_MIDDLE, &err));
    tr_render(s, list);
    int lit = 0;
    for (int x = 0; x < (int)s->w; x++)
        lit += tr_px(s, x, (int)s->h / 2)[0] == 255;
    CHECKF(lit > 20, "billboard text row: %d lit", lit);
    /* Errors. */
    nnxr_draw_batch *lines = mk(s, NNXR_DRAW_LINES, plain);
    CHECK(!s->api->text_add(s->draw, lines, "x", origin, 8, white, 0, &err));
    CHECK_CONTAINS(err.message, "is not a text batch");
    CHECK(!s->api->text_add(s->draw, b, "x", origin, -1, white, 0, &err));
    s->api->batch_destroy(s->draw, lines);
    s->api->batch_destroy(s->draw, b);
}

static void test_markers_and_errors(tr_scene *s)
{
    nnxr_error err;
    nnxr_draw_batch *b = mk(s, NNXR_DRAW_MARKERS, plain);
    /* Pointing at the camera (+z): rotate −z onto +z, 180° about y. */
    nnxr_marker m = {{0, 0, 0}, 1.5f, {0, 1, 0, 0}, {1, 0.5f, 0, 1}};
    put(s, b, &m, 1);
    nnxr_draw_batch *list[] = {b, NULL};
    tr_render(s, list);
    const uint8_t *c = tr_px(s, (int)s->w / 2, (int)s->h / 2);
    CHECKF(c[0] > 100 && c[0] > c[1] && c[2] == 0, "marker: %d %d %d", c[0], c[1], c[2]);
    float far[3] = {1.2f, 0, 0};
    int x, y;
    tr_project(s, far, &x, &y);
    CHECK(tr_is_black(tr_px(s, x, y)));

    nnxr_line l = {{0, 0, 0}, {1, 1, 1}, {1, 1, 1, 1}};
    nnxr_draw_batch *lines = mk(s, NNXR_DRAW_LINES, plain);
    CHECK(!s->api->batch_write(s->draw, lines, 3, &l, 1, &err));
    CHECK_CONTAINS(err.message, "writing at 3 leaves a gap after its 0 instances");
    nnxr_buffer *buf = tg_buffer(s->gpu, "p", NNXR_BUFFER_DEVICE, 64);
    CHECK(!s->api->batch_positions(s->draw, lines, buf, 0, 16, &err));
    CHECK_CONTAINS(err.message, "for spheres, cubes and markers, not lines");
    nnxr_draw_batch_desc bad = {.name = "bad", .kind = (nnxr_draw_kind)42};
    nnxr_draw_batch *nb = NULL;
    CHECK(!s->api->batch_create(s->draw, &bad, &nb, &err) && !nb);
    CHECK_CONTAINS(err.message, "unknown kind 42");
    nnxr_draw_image_desc huge = {.name = "huge", .format = NNXR_IMAGE_R8, .width = 1u << 20,
                                 .height = 4};
    nnxr_draw_image *im = NULL;
    CHECK(!s->api->image_create(s->draw, &huge, &im, &err) && !im);
    CHECK_CONTAINS(err.message, "maxImageDimension2D");
    /* Growing keeps the instances: 1000 lines written one by one. */
    for (uint32_t i = 0; i < 1000; i++) {
        nnxr_line li = {{(float)i, 0, 0}, {0, (float)i, 0}, {1, 1, 1, 1}};
        CHECK(s->api->batch_write(s->draw, lines, i, &li, 1, &err) || (i = 1000, false));
    }
    const nnxr_line *data = s->api->batch_data(s->draw, lines);
    CHECK(s->api->batch_count(s->draw, lines) == 1000 && data && data[0].a[0] == 0.0f &&
          data[999].a[0] == 999.0f && data[500].b[1] == 500.0f);
    nnxr_buffer_destroy(s->gpu, buf);
    s->api->batch_destroy(s->draw, lines);
    s->api->batch_destroy(s->draw, b);
}

int main(void)
{
    tr_scene s;
    tr_open(&s, 160, 120, 1);
    test_spheres(&s);
    test_lines(&s);
    test_cubes(&s);
    test_quads(&s);
    test_text(&s);
    test_markers_and_errors(&s);
    tr_close(&s);
    return check_finish();
}
