/* tests/unit/test_train_util.h — helpers of the trainer tests: a gpu with validation on and a
 * shared nnxr_nn, seeded synthetic data sets, the CPU reference of training steps (nn/ref in
 * double precision: the oracle), parameter comparisons, a metrics recorder, and finding a
 * python3 with numpy. */
#ifndef NNXR_TEST_TRAIN_UTIL_H
#define NNXR_TEST_TRAIN_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/rng.h"
#include "nn/ref.h"
#include "nn/trainer.h"
#include "test_gpu_util.h"

static inline void *tt_alloc(size_t bytes)
{
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* A synthetic classification set of u8 "images": each class has its own mean pattern plus
 * noise, so a model can learn it but not trivially. Owned arrays. */
typedef struct tt_images {
    uint32_t count, features, classes;
    uint8_t *pixels, *labels;
} tt_images;

static inline tt_images tt_make_images(uint32_t count, uint32_t features, uint32_t classes,
                                uint64_t seed)
{
    tt_images s = {count, features, classes, tt_alloc((size_t)count * features),
                   tt_alloc(count)};
    nnxr_rng r;
    nnxr_rng_seed(&r, seed, 7);
    uint8_t *proto = tt_alloc((size_t)classes * features);
    for (size_t i = 0; i < (size_t)classes * features; i++)
        proto[i] = (uint8_t)nnxr_rng_below(&r, 256);
    for (uint32_t n = 0; n < count; n++) {
        uint32_t c = nnxr_rng_below(&r, classes);
        s.labels[n] = (uint8_t)c;
        for (uint32_t f = 0; f < features; f++) {
            int v = proto[(size_t)c * features + f] + (int)nnxr_rng_below(&r, 121) - 60;
            s.pixels[(size_t)n * features + f] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(proto);
    return s;
}

static inline void tt_free_images(tt_images *s)
{
    free(s->pixels);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* Train / val / test all from one synthetic set (first `train` samples, then val, then test). */
static inline nnxr_train_data tt_data_from(const tt_images *s, uint32_t in_c, uint32_t in_h,
                                    uint32_t in_w, uint32_t train, uint32_t val, uint32_t test)
{
    nnxr_train_data d;
    memset(&d, 0, sizeof d);
    d.in_c = in_c;
    d.in_h = in_h;
    d.in_w = in_w;
    d.classes = s->classes;
    uint32_t f = s->features;
    d.train = (nnxr_train_split){train, s->pixels, NULL, s->labels, NULL, NULL};
    d.val = (nnxr_train_split){val, val ? s->pixels + (size_t)train * f : NULL, NULL,
                               val ? s->labels + train : NULL, NULL, NULL};
    d.test = (nnxr_train_split){test, test ? s->pixels + (size_t)(train + val) * f : NULL, NULL,
                                test ? s->labels + train + val : NULL, NULL, NULL};
    return d;
}

/* The trainer's choice of the fused tiny-MLP kernel for tests that do not insist on one path:
 * auto, unless NNXR_TEST_NO_FUSED is set (to look at the layered path alone, e.g. in a
 * sanitizer build). */
static inline int tt_fused(void)
{
    const char *e = getenv("NNXR_TEST_NO_FUSED");
    return e && *e && strcmp(e, "0") ? 0 : -1;
}

/* ---- the CPU oracle of training ---- */

typedef struct tt_ref {
    nnxr_ref_model m;
    size_t p;
    double *w, *g, *s1, *s2;
    uint8_t *isw;
    int opt; /* 0 sgd, 1 adam */
    double lr, momentum, beta1, beta2, eps, l1, l2;
    int64_t t;
} tt_ref;

static inline void tt_ref_init(tt_ref *r, const nnxr_model *model, const float *params0, int opt,
                        const nnxr_train_config *c)
{
    memset(r, 0, sizeof *r);
    r->m = model->ref;
    r->p = model->param_count;
    r->w = tt_alloc(r->p * sizeof(double));
    r->g = tt_alloc(r->p * sizeof(double));
    r->s1 = tt_alloc(r->p * sizeof(double));
    r->s2 = tt_alloc(r->p * sizeof(double));
    r->isw = tt_alloc(r->p);
    for (size_t i = 0; i < r->p; i++)
        r->w[i] = params0[i];
    nnxr_ref_model_weight_mask(&r->m, r->isw);
    r->opt = opt;
    r->lr = (float)c->lr;
    r->momentum = (float)c->momentum;
    r->beta1 = (float)c->beta1;
    r->beta2 = (float)c->beta2;
    r->eps = (float)c->adam_eps;
    r->l1 = (float)c->l1;
    r->l2 = (float)c->l2;
}

static inline void tt_ref_free(tt_ref *r)
{
    free(r->w);
    free(r->g);
    free(r->s1);
    free(r->s2);
    free(r->isw);
}

/* One optimizer step on batch b; returns the loss. */
static inline double tt_ref_step(tt_ref *r, const nnxr_ref_batch *b)
{
    nnxr_ref_loss_parts lp;
    nnxr_error err;
    bool ok = nnxr_ref_model_loss_grad(&r->m, r->w, b, &lp, r->g, &err);
    CHECKF(ok, "ref loss: %s", err.message);
    nnxr_ref_regularize(r->p, r->w, r->isw, r->l1, r->l2, r->g);
    r->t++;
    if (r->opt == 0)
        nnxr_ref_sgd_momentum_step(r->p, r->w, r->g, r->s1, r->lr, r->momentum);
    else
        nnxr_ref_adam_step(r->p, r->w, r->g, r->s1, r->s2, r->t, r->lr, r->beta1, r->beta2,
                           r->eps);
    return lp.total;
}

/* Largest |gpu - ref| over the vector, relative to the largest |ref| (at least 1). */
static inline double tt_max_rel(const float *gpu, const double *ref, size_t n, size_t *at)
{
    double worst = 0, scale = 1;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)gpu[i] - ref[i]);
        if (!(e <= worst)) {
            worst = e;
            if (at)
                *at = i;
        }
    }
    return worst / scale;
}

/* ---- metrics ---- */

#define TT_MAX_METRICS 512
typedef struct tt_metrics {
    int count;
    char name[TT_MAX_METRICS][32];
    double value[TT_MAX_METRICS];
} tt_metrics;

static inline void tt_publish(void *user, const char *name, double value)
{
    tt_metrics *m = user;
    if (m->count < TT_MAX_METRICS) {
        snprintf(m->name[m->count], sizeof m->name[0], "%s", name);
        m->value[m->count++] = value;
    }
}

/* The n-th (0-based) value published under name, or NaN. */
static inline double tt_metric(const tt_metrics *m, const char *name, int nth)
{
    for (int i = 0; i < m->count; i++)
        if (!strcmp(m->name[i], name) && nth-- == 0)
            return m->value[i];
    return NAN;
}

static inline int tt_metric_count(const tt_metrics *m, const char *name)
{
    int n = 0;
    for (int i = 0; i < m->count; i++)
        n += !strcmp(m->name[i], name);
    return n;
}

/* ---- numpy ---- */

static inline const char *tt_python_with_numpy(void)
{
    static char cmd[256];
    const char *env = getenv("NNXR_PYTHON3");
    const char *cands[3] = {env, "/usr/bin/python3", "python3"};
    for (int i = 0; i < 3; i++) {
        if (!cands[i] || !*cands[i])
            continue;
        snprintf(cmd, sizeof cmd, "%s -c 'import numpy' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0)
            return cands[i];
    }
    return NULL;
}

#define TT_OK(call)                                                                      \
    do {                                                                                 \
        nnxr_error e_;                                                                   \
        e_.message[0] = '\0';                                                            \
        bool ok_ = (call);                                                               \
        CHECKF(ok_, "%s", e_.message);                                                   \
    } while (0)

#endif
