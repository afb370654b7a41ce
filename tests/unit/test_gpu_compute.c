/* tests/unit/test_gpu_compute.c — kernels against the CPU: saxpy through both upload paths
 * (mapped and forced staging, in chunks), a multi-pass sum reduction on awkward sizes, and
 * specialization and push constants reaching the shader. */
#include <math.h>

#include "test_gpu_util.h"

#define SAXPY_N 1000003u

static void saxpy(nnxr_gpu_options opt, bool expect_mapped)
{
    nnxr_gpu *gpu = tg_open(opt);
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    uint32_t n = SAXPY_N;
    float a = 2.5f;
    float *x = tg_alloc(n * sizeof *x), *y = tg_alloc(n * sizeof *y);
    float *out = tg_alloc(n * sizeof *out);
    uint32_t seed = 12345;
    for (uint32_t i = 0; i < n; i++) {
        x[i] = tg_uniform(&seed) * 2 - 1;
        y[i] = tg_uniform(&seed) * 2 - 1;
    }
    nnxr_buffer *bx = tg_buffer(gpu, "x", NNXR_BUFFER_DEVICE, n * sizeof(float));
    nnxr_buffer *by = tg_buffer(gpu, "y", NNXR_BUFFER_DEVICE, n * sizeof(float));
    /* The path taken is the one the gpu announced, and the one the test asked for. */
    CHECK((bx->mapped != NULL) == info->direct_mapping);
    if (!expect_mapped)
        CHECK(bx->mapped == NULL && !info->direct_mapping);
    printf("saxpy: %s path\n", bx->mapped ? "mapped" : "staged");

    /* Upload in two uneven pieces to exercise offsets. */
    VkDeviceSize half = 333331 * sizeof(float);
    TG_OK(nnxr_buffer_upload(gpu, bx, 0, x, half, &e_));
    TG_OK(nnxr_buffer_upload(gpu, bx, half, (char *)x + half, n * sizeof(float) - half, &e_));
    TG_OK(nnxr_buffer_upload(gpu, by, 0, y, n * sizeof(float), &e_));

    nnxr_kernel *k = NULL;
    nnxr_kernel_desc kd = {.shader = "test/saxpy.comp", .buffer_count = 2, .written_mask = 2,
                           .push_size = 8};
    TG_OK(nnxr_kernel_create(gpu, &kd, &k, &e_));
    nnxr_binding *b = NULL;
    nnxr_buffer_slot slots[2] = {{bx, 0, 0}, {by, 0, 0}};
    TG_OK(nnxr_binding_create(gpu, k, slots, 2, &b, &e_));
    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    struct {
        uint32_t n;
        float a;
    } push = {n, a};
    TG_OK(nnxr_recorder_begin(rec, &e_));
    TG_OK(nnxr_recorder_dispatch(rec, k, b, &push, sizeof push, (n + 255) / 256, 1, 1, &e_));
    TG_OK(nnxr_recorder_run(rec, &e_));
    TG_OK(nnxr_buffer_readback(gpu, by, 0, out, n * sizeof(float), &e_));

    uint32_t bad = 0, first_bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        float want = a * x[i] + y[i];
        /* One rounding of difference allowed: the device may fuse the multiply-add. */
        if (fabsf(out[i] - want) > 1e-6f * fmaxf(1.0f, fabsf(want))) {
            if (!bad)
                first_bad = i;
            bad++;
        }
    }
    CHECKF(bad == 0, "%u of %u wrong, first at %u: %g vs %g", bad, n, first_bad,
           (double)out[first_bad], (double)(a * x[first_bad] + y[first_bad]));
    /* The last element (past the last full workgroup) was computed. */
    CHECK_CLOSE(out[n - 1], a * x[n - 1] + y[n - 1], 1e-6);

    /* A readback of a sub-range at an offset. */
    float part[5];
    TG_OK(nnxr_buffer_readback(gpu, by, 777777 * sizeof(float), part, sizeof part, &e_));
    CHECK(memcmp(part, out + 777777, sizeof part) == 0);

    nnxr_recorder_destroy(rec);
    nnxr_binding_destroy(gpu, b);
    nnxr_kernel_destroy(gpu, k);
    nnxr_buffer_destroy(gpu, bx);
    nnxr_buffer_destroy(gpu, by);
    free(x);
    free(y);
    free(out);
    tg_close(gpu);
}

/* Sum of n floats with the multi-pass kernel; each pass turns m values into
 * ceil(m / (256*ITEMS)) partials, ping-ponging between two scratch buffers. */
#define WG 256u
#define ITEMS 4u

static double gpu_sum(nnxr_gpu *gpu, nnxr_kernel *k, const float *v, uint32_t n)
{
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    uint32_t per_group = WG * ITEMS;
    uint32_t first = (n + per_group - 1) / per_group;
    nnxr_buffer *in = tg_buffer(gpu, "sum.in", NNXR_BUFFER_DEVICE, n * sizeof(float));
    /* Room for the 2-D layout's spare groups too. */
    nnxr_buffer *p[2] = {tg_buffer(gpu, "sum.p0", NNXR_BUFFER_DEVICE, (first + 65536) * 4),
                         tg_buffer(gpu, "sum.p1", NNXR_BUFFER_DEVICE, (first + 65536) * 4)};
    TG_OK(nnxr_buffer_upload(gpu, in, 0, v, n * sizeof(float), &e_));
    nnxr_binding *b[3] = {NULL, NULL, NULL};
    nnxr_buffer_slot s0[2] = {{in, 0, 0}, {p[0], 0, 0}};
    nnxr_buffer_slot s1[2] = {{p[0], 0, 0}, {p[1], 0, 0}};
    nnxr_buffer_slot s2[2] = {{p[1], 0, 0}, {p[0], 0, 0}};
    TG_OK(nnxr_binding_create(gpu, k, s0, 2, &b[0], &e_));
    TG_OK(nnxr_binding_create(gpu, k, s1, 2, &b[1], &e_));
    TG_OK(nnxr_binding_create(gpu, k, s2, 2, &b[2], &e_));

    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    uint32_t m = n, pass = 0;
    const nnxr_buffer *result = in;
    do {
        uint32_t groups = (m + per_group - 1) / per_group;
        uint32_t gx = groups, gy = 1;
        uint32_t maxx = info->properties.limits.maxComputeWorkGroupCount[0];
        if (gx > maxx) {
            gx = maxx;
            gy = (groups + maxx - 1) / maxx;
        }
        uint32_t push = m;
        TG_OK(nnxr_recorder_dispatch(rec, k, b[pass == 0 ? 0 : 1 + (pass - 1) % 2], &push, 4, gx,
                                     gy, 1, &e_));
        result = p[pass % 2];
        m = groups;
        pass++;
    } while (m > 1);
    TG_OK(nnxr_recorder_run(rec, &e_));
    float sum = 0;
    TG_OK(nnxr_buffer_readback(gpu, result, 0, &sum, 4, &e_));
    nnxr_recorder_destroy(rec);
    for (int i = 0; i < 3; i++)
        nnxr_binding_destroy(gpu, b[i]);
    nnxr_buffer_destroy(gpu, in);
    nnxr_buffer_destroy(gpu, p[0]);
    nnxr_buffer_destroy(gpu, p[1]);
    return sum;
}

static void reduction(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    nnxr_kernel *k = NULL;
    nnxr_spec_constant items = nnxr_spec_u32(0, ITEMS);
    nnxr_kernel_desc kd = {.shader = "test/reduce_sum.comp", .buffer_count = 2,
                           .written_mask = 2, .push_size = 4, .specs = &items, .spec_count = 1};
    TG_OK(nnxr_kernel_create(gpu, &kd, &k, &e_));
    /* 65,537 and beyond: more elements per pass than any loop may iterate on lavapipe. */
    static const uint32_t sizes[] = {1, 255, 256, 257, 1023, 1025, 65537, 70001, 1000003};
    uint32_t seed = 99;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint32_t n = sizes[s];
        float *v = tg_alloc(n * sizeof *v);
        double want = 0;
        for (uint32_t i = 0; i < n; i++) {
            v[i] = tg_uniform(&seed);
            want += v[i];
        }
        double got = gpu_sum(gpu, k, v, n);
        /* Float tree sums of n values in [0,1): error well under 1e-6 relative. */
        CHECKF(fabs(got - want) <= 1e-5 * want + 1e-6, "n = %u: gpu %.9g, cpu %.9g", n, got,
               want);
        free(v);
    }
    nnxr_kernel_destroy(gpu, k);
    tg_close(gpu);
}

static void spec_and_push(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    const uint32_t n = 1000;
    nnxr_buffer *bu = tg_buffer(gpu, "u", NNXR_BUFFER_READBACK, n * 4);
    nnxr_buffer *bf = tg_buffer(gpu, "f", NNXR_BUFFER_READBACK, n * 4);
    CHECK(bu->mapped != NULL);
    struct {
        uint32_t n, add;
        float bias;
    } push = {n, 7, 0.25f};
    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    /* Default constants (MUL 1, SCALE 1), then MUL 3 and SCALE 0.5: the results must follow. */
    for (int variant = 0; variant < 2; variant++) {
        uint32_t mul = variant ? 3 : 1;
        float scale = variant ? 0.5f : 1.0f;
        nnxr_spec_constant specs[2] = {nnxr_spec_u32(0, mul), nnxr_spec_f32(1, scale)};
        nnxr_kernel_desc kd = {.shader = "test/spec_push.comp", .buffer_count = 2,
                               .written_mask = 3, .push_size = sizeof push,
                               .specs = variant ? specs : NULL, .spec_count = variant ? 2 : 0};
        nnxr_kernel *k = NULL;
        TG_OK(nnxr_kernel_create(gpu, &kd, &k, &e_));
        nnxr_binding *b = NULL;
        nnxr_buffer_slot slots[2] = {{bu, 0, 0}, {bf, 0, 0}};
        TG_OK(nnxr_binding_create(gpu, k, slots, 2, &b, &e_));
        push.add = 7 + (uint32_t)variant * 100;
        TG_OK(nnxr_recorder_begin(rec, &e_));
        TG_OK(nnxr_recorder_dispatch(rec, k, b, &push, sizeof push, (n + 63) / 64, 1, 1, &e_));
        TG_OK(nnxr_recorder_run(rec, &e_));
        uint32_t u[1000];
        float f[1000];
        TG_OK(nnxr_buffer_readback(gpu, bu, 0, u, sizeof u, &e_));
        TG_OK(nnxr_buffer_readback(gpu, bf, 0, f, sizeof f, &e_));
        uint32_t bad = 0;
        for (uint32_t i = 0; i < n; i++)
            bad += u[i] != i * mul + push.add || f[i] != (float)i * scale + 0.25f;
        CHECKF(bad == 0, "variant %d: %u wrong (u[5] = %u, f[5] = %g)", variant, bad, u[5],
               (double)f[5]);
        nnxr_binding_destroy(gpu, b);
        nnxr_kernel_destroy(gpu, k);
    }
    nnxr_recorder_destroy(rec);
    nnxr_buffer_destroy(gpu, bu);
    nnxr_buffer_destroy(gpu, bf);
    tg_close(gpu);
}

int main(void)
{
    saxpy((nnxr_gpu_options){0}, true);
    /* Forced staging with a 1 MiB staging buffer: 4 MB go through in chunks. */
    saxpy((nnxr_gpu_options){.force_staging = true, .staging_limit = 1 << 20}, false);
    reduction();
    spec_and_push();
    return check_finish();
}
