/* plugins/annotator/annotator.c — a simulated annotator ("nnxr.annotator") for headless demos
 * and tests of the latent cloud: it plays a user who labels by looking. Every `every` frames
 * (frames every, 2·every, ...) it picks the class with the fewest user labels (among classes
 * that still have an unlabelled point; ties broken by its seeded generator), a random point of
 * that class that no user has decided yet (true classes from the "nnxr.model" data view), reads
 * the cloud's positions and pushes NNXR_CMD_ANNOTATE_SPHERE at that point with `radius` and
 * that class through "nnxr.commands" — the same path a VR hand takes, so the sphere takes
 * every point inside it, right class or not. It stops when `max` annotations are in effect
 * (so a run resumed from a journal goes on to the same total). With `undo_every` = k, every
 * k-th action is an NNXR_CMD_UNDO_ANNOTATION instead (a user taking a sphere back).
 * With `purity` p > 0 it plays a careful user, who sees the images on the cubes: of up to
 * PURITY_TRIES points of the class it shrinks the sphere (down to radius / 8) until at least a
 * fraction p of the points inside are of that class, and takes the first sphere that gets
 * there (or the purest it saw).
 *
 * Keys: every (frames, default 30), radius (metres, 0.15), max (50), undo_every (0 = never,
 * else >= 2), purity (0 = off, else in (0, 1]), seed (1). It needs the "nnxr.cloud"
 * service: a scene with [cloud] enabled. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnxr/cloud.h"
#include "nnxr/gpu.h"
#include "nnxr/model.h"
#include "nnxr/plugin.h"

typedef struct annotator {
    const nnxr_host *host;
    const nnxr_log_api *log;
    const nnxr_cloud_api *cloud;
    const nnxr_model_api *model;
    const nnxr_commands_api *commands;
    const nnxr_gpu_api *gpu;
    int64_t every, max, undo_every;
    double radius, purity;
    uint64_t rng;
    const uint8_t *truth;      /* true classes of the training samples */
    uint32_t n, classes;
    float *pos4;
    int32_t *labels;
    uint32_t *user;
    uint32_t *candidates;
    uint64_t actions;
    bool done;
} annotator;

/* splitmix64: small, seedable, and the same sequence everywhere. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint32_t bound)
{
    return (uint32_t)(next_u64(s) % bound); /* bias < 2^-32 for the bounds used here */
}

static void destroy(void *self)
{
    annotator *a = self;
    free(a->pos4);
    free(a->labels);
    free(a->user);
    free(a->candidates);
    free(a);
}

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    static const char *const keys[] = {"every",  "radius", "max", "undo_every",
                                       "purity", "seed",   NULL};
    const nnxr_config_api *c = host->service(host, NNXR_SERVICE_CONFIG);
    if (!c)
        return nnxr_failp(err, "the host has no config service");
    annotator *a = calloc(1, sizeof *a);
    if (!a)
        return nnxr_failp(err, "out of memory");
    a->host = host;
    int64_t seed;
    if (!c->check_keys(cfg, keys, err) ||
        !c->get_int(cfg, "every", 30, 1, 1000000000, &a->every, err) ||
        !c->get_float(cfg, "radius", 0.15, 0.0, 1e4, &a->radius, err) ||
        !c->get_int(cfg, "max", 50, 0, 100000000, &a->max, err) ||
        !c->get_int(cfg, "undo_every", 0, 0, 1000000000, &a->undo_every, err) ||
        !c->get_float(cfg, "purity", 0.0, 0.0, 1.0, &a->purity, err) ||
        !c->get_int(cfg, "seed", 1, 0, INT64_MAX, &seed, err)) {
        free(a);
        return NULL;
    }
    if (a->undo_every == 1) {
        free(a);
        return nnxr_failp(err,
                          "%s undo_every: 1 would undo every annotation it makes; expected 0 "
                          "(never) or >= 2",
                          c->describe(cfg));
    }
    a->rng = (uint64_t)seed * 0x2545f4914f6cdd1dull + 0x5eed;
    a->log = host->service(host, NNXR_SERVICE_LOG);
    a->cloud = host->service(host, NNXR_SERVICE_CLOUD);
    a->model = host->service(host, NNXR_SERVICE_MODEL);
    a->commands = host->service(host, NNXR_SERVICE_COMMANDS);
    a->gpu = host->service(host, NNXR_SERVICE_GPU);
    if (!a->cloud) {
        free(a);
        return nnxr_failp(err,
                          "%s: this scene has no latent cloud (the \"nnxr.cloud\" service): "
                          "the annotator labels its points; set [cloud] enabled = true with a vae "
                          "model",
                          c->describe(cfg));
    }
    if (!a->model || !a->model->data || !a->commands || !a->gpu) {
        free(a);
        return nnxr_failp(err, "%s: the host lacks the model, commands or gpu service",
                          c->describe(cfg));
    }
    nnxr_cloud_view v;
    nnxr_model_data d;
    if (!a->cloud->info(a->cloud->ctx, &v, err) || !a->model->data(a->model->ctx, &d, err)) {
        free(a);
        return NULL;
    }
    if (!d.train.labels || d.train.count != v.n) {
        free(a);
        return nnxr_failp(err,
                          "%s: the cloud has %u points but the training set %u samples with%s "
                          "classes",
                          c->describe(cfg), v.n, d.train.count, d.train.labels ? "" : "out");
    }
    a->truth = d.train.labels;
    a->n = v.n;
    a->classes = v.classes;
    a->pos4 = malloc((size_t)v.n * 16u);
    a->labels = malloc((size_t)v.n * 4u);
    a->user = malloc((size_t)v.n * 4u);
    a->candidates = malloc((size_t)v.n * 4u);
    if (!a->pos4 || !a->labels || !a->user || !a->candidates) {
        destroy(a);
        return nnxr_failp(err, "out of memory for %u points", v.n);
    }
    return a;
}

static void push(annotator *a, const nnxr_command *cmd)
{
    nnxr_error err;
    err.message[0] = '\0';
    if (!a->commands->push(a->host, cmd, &err))
        nnxr_logf(a->log, a->host, NNXR_LEVEL_WARN, "command refused: %s", err.message);
}

#define PURITY_TRIES 16
#define PURITY_SHRINK 0.8
#define PURITY_MIN_FRACTION 0.125 /* of `radius` */

/* The fraction of the points within r of point c whose true class is k (1 if none). */
static double sphere_purity(const annotator *a, uint32_t c, double r, uint32_t k)
{
    const float *o = a->pos4 + (size_t)c * 4u;
    double r2 = r * r;
    uint32_t in = 0, same = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        const float *p = a->pos4 + (size_t)i * 4u;
        double dx = p[0] - o[0], dy = p[1] - o[1], dz = p[2] - o[2];
        if (dx * dx + dy * dy + dz * dz <= r2) {
            in++;
            same += a->truth[i] == k;
        }
    }
    return in ? (double)same / in : 1.0;
}

/* Where a careful user puts the sphere for class k: among up to PURITY_TRIES of the m
 * candidates, the first centre and radius whose sphere is at least a->purity of class k,
 * else the purest seen. */
static void careful_sphere(annotator *a, uint32_t m, uint32_t k, uint32_t *centre, double *radius)
{
    double best = -1.0;
    uint32_t tries = m < PURITY_TRIES ? m : PURITY_TRIES;
    for (uint32_t t = 0; t < tries; t++) {
        uint32_t c = a->candidates[below(&a->rng, m)];
        for (double r = a->radius; r >= a->radius * PURITY_MIN_FRACTION; r *= PURITY_SHRINK) {
            double q = sphere_purity(a, c, r, k);
            if (q > best) {
                best = q;
                *centre = c;
                *radius = r;
            }
            if (q >= a->purity)
                return;
        }
    }
}

/* One annotation: the class with the fewest user labels, a random undecided point of it. */
static void annotate(annotator *a, const nnxr_cloud_view *v)
{
    nnxr_error err;
    err.message[0] = '\0';
    const nnxr_gpu_api *g = a->gpu;
    if (!a->cloud->read_positions(a->cloud->ctx, a->pos4, a->n, &err) ||
        !g->buffer_readback(g->ctx, v->labels.buffer, v->labels.offset, a->labels,
                            (VkDeviceSize)a->n * 4u, &err) ||
        !g->buffer_readback(g->ctx, v->user.buffer, v->user.offset, a->user,
                            (VkDeviceSize)a->n * 4u, &err)) {
        nnxr_logf(a->log, a->host, NNXR_LEVEL_WARN, "cannot read the cloud: %s", err.message);
        return;
    }
    uint32_t have[256] = {0}, open[256] = {0};
    for (uint32_t i = 0; i < a->n; i++) {
        if (a->user[i] && a->labels[i] >= 0 && a->labels[i] < 256)
            have[a->labels[i]]++;
        if (!a->user[i])
            open[a->truth[i]]++;
    }
    uint32_t best = UINT32_MAX, ties = 0, pick = 0;
    for (uint32_t k = 0; k < 256; k++) {
        if (!open[k] || k >= a->classes)
            continue;
        if (have[k] < best) {
            best = have[k];
            ties = 0;
        }
        if (have[k] == best && below(&a->rng, ++ties) == 0)
            pick = k; /* reservoir choice: each tied class equally likely */
    }
    if (best == UINT32_MAX) {
        nnxr_logf(a->log, a->host, NNXR_LEVEL_INFO,
                  "every point has a user label: nothing left to annotate");
        a->done = true;
        return;
    }
    uint32_t m = 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (!a->user[i] && a->truth[i] == pick)
            a->candidates[m++] = i;
    uint32_t i = 0;
    double radius = a->radius;
    if (a->purity > 0)
        careful_sphere(a, m, pick, &i, &radius);
    else
        i = a->candidates[below(&a->rng, m)];
    nnxr_command cmd = {.kind = NNXR_CMD_ANNOTATE_SPHERE, .radius = (float)radius,
                        .label = (int32_t)pick};
    memcpy(cmd.center, a->pos4 + (size_t)i * 4u, sizeof cmd.center);
    push(a, &cmd);
}

static void update(void *self, const nnxr_frame *frame)
{
    annotator *a = self;
    if (a->done || frame->index == 0 || frame->index % (uint64_t)a->every != 0)
        return;
    nnxr_cloud_view v;
    nnxr_error err;
    err.message[0] = '\0';
    if (!a->cloud->info(a->cloud->ctx, &v, &err)) {
        nnxr_logf(a->log, a->host, NNXR_LEVEL_WARN, "cloud info: %s", err.message);
        return;
    }
    if ((int64_t)v.annotation_count >= a->max)
        return;
    a->actions++;
    if (a->undo_every && a->actions % (uint64_t)a->undo_every == 0) {
        nnxr_command cmd = {.kind = NNXR_CMD_UNDO_ANNOTATION};
        push(a, &cmd);
        return;
    }
    annotate(a, &v);
}

static const void *extension(void *self, const char *id)
{
    (void)self;
    static const nnxr_update_ext update_ext = {update};
    if (!strcmp(id, NNXR_EXT_UPDATE))
        return &update_ext;
    return NULL;
}

NNXR_EXPORT const nnxr_plugin_entry nnxr_entry = {
    .abi_version = NNXR_ABI_VERSION,
    .id = "nnxr.annotator",
    .description = "Simulated annotator: labels the latent cloud with spheres, by true class",
    .create = create,
    .destroy = destroy,
    .extension = extension,
};
