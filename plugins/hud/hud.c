/* plugins/hud/hud.c — the heads-up display ("nnxr.hud"): a screen-space panel with the
 * training's state — epoch and step, paused, the current hyperparameters — and two plots drawn
 * from the metrics service's history: loss (train and validation) and accuracy (train and
 * validation). Text, lines and one translucent quad, redrawn every frame.
 *
 * Layout (pixels of the view, origin top-left): the panel's corner at (x, y) — negative
 * values count from the right or bottom edge —, `width` wide; inside it a padding of 6,
 * text lines `text_px` + 4 high: three header lines, the loss plot (`plot_height`), one
 * line, the accuracy plot. A plot's frame is its rectangle; values are drawn 3 px inside it,
 * the first value of the history at the left edge and the newest at the right. Accuracy spans
 * [0, 1]; loss spans [0, the largest loss shown]. Hyperparameters are read from the metrics
 * named "hparam.<name>" for each name in `hparams`. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnxr/draw.h"
#include "nnxr/plugin.h"
#include "nnxr/render.h"

#define MAX_HPARAMS 8
#define PAD 6.0f
#define INSET 3.0f

typedef struct hud {
    const nnxr_host *host;
    const nnxr_metrics_api *metrics;
    const nnxr_render_api *r;
    nnxr_draw *draw;
    nnxr_draw_batch *panel, *lines, *text;
    double x, y, width, plot_h, text_px, opacity;
    int64_t history;
    const char *hparams[MAX_HPARAMS];
    size_t hparam_count;
    const char *loss[2], *acc[2]; /* series: train, validation */
    double *values;
    bool paused;
    uint64_t step;
} hud;

static void destroy(void *self)
{
    hud *h = self;
    if (h->draw) {
        h->r->batch_destroy(h->draw, h->panel);
        h->r->batch_destroy(h->draw, h->lines);
        h->r->batch_destroy(h->draw, h->text);
        h->r->destroy(h->draw);
    }
    free(h->values);
    free(h);
}

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    static const char *const keys[] = {"x", "y", "width", "plot_height", "text_px", "opacity",
                                       "history", "hparams", "loss", "accuracy", NULL};
    static const char *const def_hparams[] = {"lr", "momentum", "beta1", "batch"};
    static const char *const def_loss[] = {"train.loss", "val.loss"};
    static const char *const def_acc[] = {"train.accuracy", "val.accuracy"};
    const nnxr_config_api *c = host->service(host, NNXR_SERVICE_CONFIG);
    if (!c)
        return nnxr_failp(err, "the host has no config service");
    hud *h = calloc(1, sizeof *h);
    if (!h)
        return nnxr_failp(err, "out of memory");
    h->host = host;
    size_t nl, na;
    if (!c->check_keys(cfg, keys, err) || !c->get_float(cfg, "x", 12, -16384, 16384, &h->x, err) ||
        !c->get_float(cfg, "y", 12, -16384, 16384, &h->y, err) ||
        !c->get_float(cfg, "width", 400, 120, 16384, &h->width, err) ||
        !c->get_float(cfg, "plot_height", 90, 16, 16384, &h->plot_h, err) ||
        !c->get_float(cfg, "text_px", 16, 8, 256, &h->text_px, err) ||
        !c->get_float(cfg, "opacity", 0.6, 0, 1, &h->opacity, err) ||
        !c->get_int(cfg, "history", 500, 2, 4096, &h->history, err) ||
        !c->get_string_array(cfg, "hparams", def_hparams, 4, 0, MAX_HPARAMS, NULL, h->hparams,
                             &h->hparam_count, err) ||
        !c->get_string_array(cfg, "loss", def_loss, 2, 2, 2, NULL, h->loss, &nl, err) ||
        !c->get_string_array(cfg, "accuracy", def_acc, 2, 2, 2, NULL, h->acc, &na, err)) {
        free(h);
        return NULL;
    }
    h->metrics = host->service(host, NNXR_SERVICE_METRICS);
    h->r = host->service(host, NNXR_SERVICE_RENDER);
    if (!h->metrics || !h->r || h->r->size < sizeof(nnxr_render_api)) {
        free(h);
        return nnxr_failp(err, "the host has no metrics or render service (is there a Vulkan "
                               "device with graphics?)");
    }
    h->values = malloc((size_t)h->history * sizeof *h->values);
    if (!h->values) {
        free(h);
        return nnxr_failp(err, "out of memory");
    }
    if (!h->r->create(host, &h->draw, err)) {
        free(h->values);
        free(h);
        return NULL;
    }
    nnxr_draw_style screen = {.space = NNXR_SPACE_SCREEN};
    nnxr_draw_batch_desc pd = {.name = "hud panel", .kind = NNXR_DRAW_QUADS, .capacity = 4,
                               .style = screen};
    nnxr_draw_batch_desc ld = {.name = "hud lines", .kind = NNXR_DRAW_LINES, .capacity = 1024,
                               .style = screen};
    nnxr_draw_batch_desc td = {.name = "hud text", .kind = NNXR_DRAW_TEXT, .capacity = 256,
                               .style = screen};
    if (!h->r->batch_create(h->draw, &pd, &h->panel, err) ||
        !h->r->batch_create(h->draw, &ld, &h->lines, err) ||
        !h->r->batch_create(h->draw, &td, &h->text, err)) {
        destroy(h);
        return NULL;
    }
    return h;
}

/* ---- drawing ---------------------------------------------------------------------------- */

static void add_line(hud *h, float x0, float y0, float x1, float y1, const float c[4])
{
    nnxr_line l = {{x0, y0, 0}, {x1, y1, 0}, {c[0], c[1], c[2], c[3]}};
    nnxr_error err;
    h->r->batch_write(h->draw, h->lines, h->r->batch_count(h->draw, h->lines), &l, 1, &err);
}

static void add_text(hud *h, float x, float y, const char *s, const float c[4])
{
    float p[3] = {x, y, 0};
    nnxr_error err;
    h->r->text_add(h->draw, h->text, s, p, (float)h->text_px, c, NNXR_ALIGN_LEFT, &err);
}

static void fmt_value(char *buf, size_t n, double v, bool percent)
{
    if (!isfinite(v))
        snprintf(buf, n, "-");
    else if (percent)
        snprintf(buf, n, "%.1f%%", 100.0 * v);
    else
        snprintf(buf, n, "%.4g", v);
}

static const float train_rgb[4] = {0.25f, 0.6f, 1.0f, 1.0f};
static const float val_rgb[4] = {1.0f, 0.55f, 0.1f, 1.0f};

/* One plot: its frame, and each series as a polyline over [lo, hi]. */
static void plot(hud *h, float x0, float y0, float w, float ph, const char *const series[2],
                 bool fixed_unit)
{
    const float frame_c[4] = {0.5f, 0.5f, 0.5f, 1.0f};
    add_line(h, x0, y0, x0 + w, y0, frame_c);
    add_line(h, x0 + w, y0, x0 + w, y0 + ph, frame_c);
    add_line(h, x0 + w, y0 + ph, x0, y0 + ph, frame_c);
    add_line(h, x0, y0 + ph, x0, y0, frame_c);
    double lo = 0, hi = 1;
    if (!fixed_unit) {
        hi = 0;
        for (int s = 0; s < 2; s++) {
            size_t n = h->metrics->history(h->host, series[s], h->values, (size_t)h->history);
            for (size_t i = 0; i < n; i++)
                if (isfinite(h->values[i]) && h->values[i] > hi)
                    hi = h->values[i];
        }
        if (hi <= 0)
            hi = 1;
    }
    float ix0 = x0 + INSET, iw = w - 2 * INSET, iy1 = y0 + ph - INSET, ih = ph - 2 * INSET;
    for (int s = 0; s < 2; s++) {
        size_t n = h->metrics->history(h->host, series[s], h->values, (size_t)h->history);
        const float *c = s == 0 ? train_rgb : val_rgb;
        float px = 0, py = 0;
        bool have = false;
        for (size_t i = 0; i < n; i++) {
            double v = h->values[i];
            if (!isfinite(v)) {
                have = false;
                continue;
            }
            double t = (v - lo) / (hi - lo);
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            float x = ix0 + (n > 1 ? iw * (float)i / (float)(n - 1) : iw);
            float y = iy1 - ih * (float)t;
            if (have)
                add_line(h, px, py, x, y, c);
            else if (n == 1 || i + 1 == n || !isfinite(h->values[i + 1]))
                add_line(h, x - 1, y, x + 1, y, c); /* a lone value: a dot */
            px = x;
            py = y;
            have = true;
        }
    }
}

static void build(hud *h, const nnxr_view *view)
{
    nnxr_error err;
    h->r->batch_resize(h->draw, h->panel, 0, &err);
    h->r->batch_resize(h->draw, h->lines, 0, &err);
    h->r->batch_resize(h->draw, h->text, 0, &err);
    float lh = (float)h->text_px + 4.0f;
    float w = (float)h->width, ph = (float)h->plot_h;
    float total_h = 2 * PAD + 4 * lh + 2 * ph + PAD;
    float x = (float)(h->x >= 0 ? h->x : (double)view->width + h->x - w);
    float y = (float)(h->y >= 0 ? h->y : (double)view->height + h->y - total_h);
    nnxr_quad bg = {.origin = {x, y, 0}, .u = {w, 0, 0}, .v = {0, total_h, 0},
                    .uv = {0, 0, 1, 1}, .color = {0.0f, 0.0f, 0.0f, (float)h->opacity}};
    h->r->batch_write(h->draw, h->panel, 0, &bg, 1, &err);

    const float white[4] = {1, 1, 1, 1}, red[4] = {1.0f, 0.05f, 0.03f, 1.0f};
    char line[256], a[32], b[32];
    double epoch = NAN;
    h->metrics->latest(h->host, "epoch", &epoch);
    fmt_value(a, sizeof a, epoch, false);
    snprintf(line, sizeof line, "epoch %s  step %llu", a, (unsigned long long)h->step);
    float tx = x + PAD, ty = y + PAD;
    add_text(h, tx, ty, line, white);
    if (h->paused) {
        float tw;
        h->r->text_size(h->draw, line, (float)h->text_px, &tw, NULL);
        add_text(h, tx + tw + (float)h->text_px, ty, "PAUSED", red);
    }
    ty += lh;
    line[0] = '\0';
    for (size_t i = 0; i < h->hparam_count; i++) {
        char name[80];
        double v = NAN;
        snprintf(name, sizeof name, "hparam.%s", h->hparams[i]);
        /* Not published: not a hyperparameter of this run (momentum under Adam). */
        if (!h->metrics->latest(h->host, name, &v))
            continue;
        fmt_value(a, sizeof a, v, false);
        size_t len = strlen(line);
        snprintf(line + len, sizeof line - len, "%s%s %s", len ? "  " : "", h->hparams[i], a);
    }
    add_text(h, tx, ty, line, white);
    ty += lh;
    double lt = NAN, lv = NAN, at = NAN, av = NAN;
    h->metrics->latest(h->host, h->loss[0], &lt);
    h->metrics->latest(h->host, h->loss[1], &lv);
    h->metrics->latest(h->host, h->acc[0], &at);
    h->metrics->latest(h->host, h->acc[1], &av);
    float cw = (float)h->text_px * 0.75f;
    fmt_value(a, sizeof a, lt, false);
    fmt_value(b, sizeof b, lv, false);
    snprintf(line, sizeof line, "loss  train %s", a);
    add_text(h, tx, ty, line, train_rgb);
    snprintf(line, sizeof line, "val %s", b);
    add_text(h, tx + cw * 19, ty, line, val_rgb);
    ty += lh;
    plot(h, tx, ty, w - 2 * PAD, ph, h->loss, false);
    ty += ph + PAD;
    fmt_value(a, sizeof a, at, true);
    fmt_value(b, sizeof b, av, true);
    snprintf(line, sizeof line, "acc   train %s", a);
    add_text(h, tx, ty, line, train_rgb);
    snprintf(line, sizeof line, "val %s", b);
    add_text(h, tx + cw * 19, ty, line, val_rgb);
    ty += lh;
    plot(h, tx, ty, w - 2 * PAD, ph, h->acc, true);
}

static void update(void *self, const nnxr_frame *frame)
{
    hud *h = self;
    h->paused = frame->paused;
    h->step = frame->train_step;
}

static bool prepare(void *self, const nnxr_render_target_info *target, nnxr_error *err)
{
    hud *h = self;
    return h->r->prepare(h->draw, target, err);
}

static void record_draw(void *self, VkCommandBuffer cmd, const nnxr_view *view,
                        const nnxr_frame *frame)
{
    hud *h = self;
    h->paused = frame->paused;
    h->step = frame->train_step;
    /* Built here, before any of its batches is recorded, from the metrics as they are after
     * this frame's training; the left eye's layout serves the right eye too. */
    if (view->index == 0)
        build(h, view);
    h->r->record(h->draw, h->panel, cmd, view);
    h->r->record(h->draw, h->lines, cmd, view);
    h->r->record(h->draw, h->text, cmd, view);
}

static void release(void *self)
{
    hud *h = self;
    h->r->release(h->draw);
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
    .id = "nnxr.hud",
    .description = "Heads-up display: loss and accuracy curves, hyperparameters, epoch, step, "
                   "paused",
    .create = create,
    .destroy = destroy,
    .extension = extension,
};
