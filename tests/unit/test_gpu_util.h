/* tests/unit/test_gpu_util.h — helpers of the gpu runtime tests: opening a gpu with validation
 * on, seeded test data, and one-call buffer creation. Every test ends by checking that the
 * validation layer reported nothing. */
#ifndef NNXR_TEST_GPU_UTIL_H
#define NNXR_TEST_GPU_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpu/gpu.h"

/* Opens a gpu with validation on (whatever the environment says); exits on failure, since
 * nothing else in the test can run without one. */
static inline nnxr_gpu *tg_open(nnxr_gpu_options o)
{
    o.validate = true;
    nnxr_gpu *gpu = NULL;
    nnxr_error err;
    if (!nnxr_gpu_create(&o, &gpu, &err)) {
        fprintf(stderr, "nnxr_gpu_create: %s\n", err.message);
        exit(1);
    }
    return gpu;
}

static inline void tg_close(nnxr_gpu *gpu)
{
    /* Counted through teardown, so objects left undestroyed fail the test too. */
    uint32_t n = nnxr_gpu_destroy_counted(gpu);
    CHECKF(n == 0, "%u validation messages", n);
}

static inline nnxr_buffer *tg_buffer(nnxr_gpu *gpu, const char *name, nnxr_buffer_kind kind,
                              VkDeviceSize size)
{
    nnxr_buffer_desc d = {.name = name, .kind = kind, .size = size};
    nnxr_buffer *b = NULL;
    nnxr_error err;
    if (!nnxr_buffer_create(gpu, &d, &b, &err)) {
        fprintf(stderr, "nnxr_buffer_create: %s\n", err.message);
        exit(1);
    }
    return b;
}

/* A small deterministic generator (xorshift32) so failures reproduce. */
static inline uint32_t tg_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static inline float tg_uniform(uint32_t *s) { return (float)(tg_rand(s) >> 8) / 16777216.0f; }

static inline void *tg_alloc(size_t bytes)
{
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

#define TG_OK(call)                                                                      \
    do {                                                                                 \
        nnxr_error e_;                                                                   \
        e_.message[0] = '\0';                                                            \
        bool ok_ = (call);                                                               \
        CHECKF(ok_, "%s", e_.message);                                                   \
    } while (0)

#endif
