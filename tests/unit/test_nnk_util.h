/* tests/unit/test_nnk_util.h — helpers of the nn kernel tests (test_nnk_*.c): a gpu with
 * validation on plus the nn kernels and a recorder/tape, float buffers to and from the device,
 * seeded data, and the error measure every comparison uses:
 *
 *   rel_err(gpu, ref) = ||gpu - ref||_2 / max(||ref||_2, 1e-30)
 *
 * (a norm-based relative error: single elements near zero do not blow it up, and a wrong
 * element of normal size shows at once). Tests hold fp32 kernels to <= 1e-4 of the double
 * reference. */
#ifndef NNXR_TEST_NNK_UTIL_H
#define NNXR_TEST_NNK_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"
#include "nn/ref.h"
#include "test_gpu_util.h"

#define NNK_TOL 1e-4

typedef struct nnk_env {
    nnxr_gpu *gpu;
    nnxr_nn *nn;
    nnxr_recorder *rec;
    nnxr_nn_tape *tape;
} nnk_env;

static inline nnk_env nnk_open_options(nnxr_nn_options no)
{
    nnk_env e;
    memset(&e, 0, sizeof e);
    nnxr_gpu_options o;
    memset(&o, 0, sizeof o);
    e.gpu = tg_open(o);
    nnxr_error err;
    if (!nnxr_nn_create(e.gpu, &no, &e.nn, &err) || !nnxr_recorder_create(e.gpu, 8, &e.rec, &err) ||
        !nnxr_nn_tape_create(e.nn, e.rec, &e.tape, &err)) {
        fprintf(stderr, "nnk setup: %s\n", err.message);
        exit(1);
    }
    return e;
}

static inline nnk_env nnk_open_config(int gemm_config)
{
    nnxr_nn_options no = nnxr_nn_options_default();
    no.gemm_config = gemm_config;
    return nnk_open_options(no);
}

static inline nnk_env nnk_open(void) { return nnk_open_config(-1); }

static inline void nnk_close(nnk_env *e)
{
    nnxr_nn_tape_destroy(e->tape);
    nnxr_recorder_destroy(e->rec);
    nnxr_nn_destroy(e->nn);
    tg_close(e->gpu);
}

/* Starts a recording (and clears the tape's bindings of the previous one). */
static inline void nnk_begin(nnk_env *e)
{
    nnxr_error err;
    if (!nnxr_recorder_wait(e->rec, &err) || !nnxr_recorder_begin(e->rec, &err)) {
        fprintf(stderr, "nnk_begin: %s\n", err.message);
        exit(1);
    }
    nnxr_nn_tape_clear(e->tape);
}

static inline bool nnk_run(nnk_env *e)
{
    nnxr_error err;
    if (!nnxr_recorder_run(e->rec, &err)) {
        fprintf(stderr, "nnk_run: %s\n", err.message);
        return false;
    }
    return true;
}

/* A device buffer of n floats holding data (or zeros when data is NULL). */
static inline nnxr_buffer *nnk_buf(nnk_env *e, const char *name, size_t n, const float *data)
{
    nnxr_buffer *b = tg_buffer(e->gpu, name, NNXR_BUFFER_DEVICE, (n ? n : 1) * 4);
    nnxr_error err;
    float *zeros = NULL;
    if (!data) {
        zeros = tg_alloc((n ? n : 1) * 4);
        data = zeros;
    }
    if (!nnxr_buffer_upload(e->gpu, b, 0, data, (n ? n : 1) * 4, &err)) {
        fprintf(stderr, "upload %s: %s\n", name, err.message);
        exit(1);
    }
    free(zeros);
    return b;
}

static inline void nnk_upload(nnk_env *e, nnxr_buffer *b, size_t offset_floats, const float *data,
                       size_t n)
{
    nnxr_error err;
    if (!nnxr_buffer_upload(e->gpu, b, offset_floats * 4, data, n * 4, &err)) {
        fprintf(stderr, "upload %s: %s\n", b->name, err.message);
        exit(1);
    }
}

static inline float *nnk_read(nnk_env *e, const nnxr_buffer *b, size_t offset_floats, size_t n)
{
    float *out = tg_alloc((n ? n : 1) * 4);
    nnxr_error err;
    if (!nnxr_buffer_readback(e->gpu, b, offset_floats * 4, out, n * 4, &err)) {
        fprintf(stderr, "readback %s: %s\n", b->name, err.message);
        exit(1);
    }
    return out;
}

/* n uniform values in [lo, hi) as floats and the same values as doubles (so the reference
 * sees exactly what the GPU sees). */
static inline float *nnk_rand(uint32_t *seed, size_t n, float lo, float hi, double **as_double)
{
    float *f = tg_alloc((n ? n : 1) * 4);
    double *d = as_double ? tg_alloc((n ? n : 1) * 8) : NULL;
    for (size_t i = 0; i < n; i++) {
        f[i] = lo + (hi - lo) * tg_uniform(seed);
        if (d)
            d[i] = f[i];
    }
    if (as_double)
        *as_double = d;
    return f;
}

static inline double *nnk_to_double(const float *f, size_t n)
{
    double *d = tg_alloc((n ? n : 1) * 8);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

static inline double nnk_rel_err(const float *gpu, const double *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)gpu[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    if (!(num == num))
        return INFINITY;
    return sqrt(num) / fmax(sqrt(den), 1e-30);
}

/* Checks rel_err <= tol and prints the figure either way (the test output documents it). */
#define NNK_CLOSE(what, gpu, ref, n, tol)                                                \
    do {                                                                                 \
        double re_ = nnk_rel_err((gpu), (ref), (n));                                     \
        printf("  %-48s rel err %.3g\n", (what), re_);                                   \
        CHECKF(re_ <= (tol), "%s: relative error %.3g > %.3g", (what), re_, (double)(tol)); \
    } while (0)

#define NNK_OK(call)                                                                     \
    do {                                                                                 \
        nnxr_error e_;                                                                   \
        e_.message[0] = '\0';                                                            \
        bool ok_ = (call);                                                               \
        CHECKF(ok_, "%s: %s", #call, e_.message);                                        \
        if (!ok_)                                                                        \
            return;                                                                      \
    } while (0)

#endif
