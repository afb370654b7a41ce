/* nn/layers_bench.c — the GEMM benchmark: GFLOP/s of every tile configuration of the GEMM
 * family at given sizes, with a C reference (a cache-blocked single-thread SGEMM) measured in
 * the same run on the same data, and each result's error against it. GPU times come from
 * timestamps around back-to-back dispatches; the median of three submissions counts. Used by
 * tests/bench/gemm_bench.c and available to `nnxr bench train`. */
#include "nn/layers_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/status.h"

static double cpu_s(void)
{
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0)
        return 0;
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* C = op(A) op(B), row-major, blocked so that a panel of B stays in cache; the inner loop is
 * contiguous for the compiler to vectorise. */
static void c_gemm(uint32_t m, uint32_t n, uint32_t k, bool ta, bool tb, const float *a,
                   const float *b, float *c)
{
    memset(c, 0, (size_t)m * n * sizeof *c);
    const uint32_t KB = 128, NB = 512;
    float *bp = malloc((size_t)KB * NB * sizeof *bp);
    if (!bp)
        return;
    for (uint32_t k0 = 0; k0 < k; k0 += KB) {
        uint32_t kb = k - k0 < KB ? k - k0 : KB;
        for (uint32_t j0 = 0; j0 < n; j0 += NB) {
            uint32_t nb = n - j0 < NB ? n - j0 : NB;
            for (uint32_t q = 0; q < kb; q++)
                for (uint32_t j = 0; j < nb; j++)
                    bp[(size_t)q * nb + j] = tb ? b[(size_t)(j0 + j) * k + k0 + q]
                                                : b[(size_t)(k0 + q) * n + j0 + j];
            for (uint32_t i = 0; i < m; i++) {
                float *crow = c + (size_t)i * n + j0;
                for (uint32_t q = 0; q < kb; q++) {
                    float av = ta ? a[(size_t)(k0 + q) * m + i] : a[(size_t)i * k + k0 + q];
                    const float *brow = bp + (size_t)q * nb;
                    for (uint32_t j = 0; j < nb; j++)
                        crow[j] += av * brow[j];
                }
            }
        }
    }
    free(bp);
}

typedef struct bench_bufs {
    nnxr_buffer *a, *b, *c;
} bench_bufs;

/* Median ms per GEMM of `reps` back-to-back GEMMs, three submissions. */
static bool time_gemm(nnxr_gpu *gpu, nnxr_nn *nn, const bench_bufs *bb, uint32_t m, uint32_t n,
                      uint32_t k, bool ta, bool tb, uint32_t reps, double *ms, double *cpu_ms,
                      nnxr_error *err)
{
    nnxr_recorder *rec = NULL;
    nnxr_nn_tape *tape = NULL;
    bool ok = nnxr_recorder_create(gpu, 4, &rec, err) && nnxr_nn_tape_create(nn, rec, &tape, err) &&
              nnxr_recorder_begin(rec, err) && nnxr_recorder_mark(rec, "begin", err);
    nnxr_nn_gemm_args g = {.m = m, .n = n, .k = k, .trans_a = ta, .trans_b = tb,
                           .a = nnxr_nn_at(bb->a, 0), .b = nnxr_nn_at(bb->b, 0),
                           .c = nnxr_nn_at(bb->c, 0)};
    for (uint32_t r = 0; r < reps && ok; r++) {
        ok = nnxr_nn_gemm(tape, &g, err);
        /* Back-to-back GEMMs write the same C: order them as a real chain would be. */
        nnxr_recorder_barrier(rec);
    }
    ok = ok && nnxr_recorder_mark(rec, "end", err) && nnxr_recorder_end(rec, err);
    double t[3] = {0, 0, 0};
    double c0 = cpu_s();
    for (int i = 0; i < 3 && ok; i++) {
        double w0 = now_s();
        ok = nnxr_recorder_run(rec, err);
        double wall = (now_s() - w0) * 1e9, b = 0, e = 0;
        if (ok && nnxr_recorder_mark_ns(rec, "begin", &b) && nnxr_recorder_mark_ns(rec, "end", &e))
            t[i] = e - b;
        else
            t[i] = wall; /* no timestamps: wall clock of the submission */
    }
    if (ok) {
        /* median of three */
        double lo = fmin(t[0], fmin(t[1], t[2])), hi = fmax(t[0], fmax(t[1], t[2]));
        *ms = (t[0] + t[1] + t[2] - lo - hi) / reps * 1e-6;
        if (cpu_ms)
            *cpu_ms = (cpu_s() - c0) * 1e3 / (3.0 * reps);
    }
    nnxr_nn_tape_destroy(tape);
    nnxr_recorder_destroy(rec);
    return ok;
}

static double rel_err(const float *got, const float *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        num += d * d;
        den += (double)want[i] * want[i];
    }
    return sqrt(num) / fmax(sqrt(den), 1e-30);
}

bool nnxr_nn_bench_gemm(nnxr_gpu *gpu, const uint32_t *sizes, uint32_t size_count,
                        uint32_t reps, nnxr_nn_bench_row *rows, uint32_t max_rows,
                        uint32_t *row_count, nnxr_error *err)
{
    *row_count = 0;
    if (!gpu || !sizes || !size_count)
        return nnxr_fail(err, "nnxr_nn_bench_gemm: no sizes");
    if (reps < 1)
        reps = 1;
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    uint32_t biggest = 0;
    for (uint32_t i = 0; i < size_count; i++) {
        if (sizes[i] < 1 || sizes[i] > 8192)
            return nnxr_fail(err, "nnxr_nn_bench_gemm: size %u (expected 1..8192)", sizes[i]);
        biggest = sizes[i] > biggest ? sizes[i] : biggest;
    }
    size_t nmax = (size_t)biggest * biggest;
    float *a = malloc(nmax * 4), *b = malloc(nmax * 4), *c = malloc(nmax * 4), *ref = malloc(nmax * 4);
    bool ok = a && b && c && ref;
    if (!ok)
        nnxr_fail(err, "nnxr_nn_bench_gemm: out of memory");
    uint32_t s = 12345;
    for (size_t i = 0; ok && i < nmax; i++) {
        s = s * 1664525u + 1013904223u;
        a[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
        s = s * 1664525u + 1013904223u;
        b[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    bench_bufs bb = {0};
    nnxr_buffer_desc d = {.name = "bench A", .kind = NNXR_BUFFER_DEVICE, .size = nmax * 4};
    ok = ok && nnxr_buffer_create(gpu, &d, &bb.a, err);
    d.name = "bench B";
    ok = ok && nnxr_buffer_create(gpu, &d, &bb.b, err);
    d.name = "bench C";
    ok = ok && nnxr_buffer_create(gpu, &d, &bb.c, err);

    /* One pass per (size, layout): the C reference, then every configuration. */
    for (uint32_t si = 0; si < size_count && ok; si++) {
        uint32_t n = sizes[si];
        size_t nn2 = (size_t)n * n;
        ok = nnxr_buffer_upload(gpu, bb.a, 0, a, nn2 * 4, err) &&
             nnxr_buffer_upload(gpu, bb.b, 0, b, nn2 * 4, err);
        for (uint32_t layout = 0; layout < 3 && ok; layout++) {
            if (layout > 0 && n != biggest)
                break; /* NT and TN only at the largest size */
            bool ta = layout == 2, tb = layout == 1;
            double t0 = now_s(), u0 = cpu_s();
            c_gemm(n, n, n, ta, tb, a, b, ref);
            double cms = (now_s() - t0) * 1e3, ucms = (cpu_s() - u0) * 1e3;
            if (*row_count < max_rows) {
                nnxr_nn_bench_row *r = &rows[(*row_count)++];
                memset(r, 0, sizeof *r);
                snprintf(r->config, sizeof r->config, "cpu-c (1 thread)");
                r->m = r->n = r->k = n;
                r->trans_a = ta;
                r->trans_b = tb;
                r->ms = cms;
                r->gflops = 2.0 * n * n * n / (cms * 1e6);
                r->cpu_ms = ucms;
            }
            /* Every configuration, and the CPU default once more with plain loads (A not
             * shared across the subgroup, B not through a texel view) to show what those
             * are worth in the same run. */
            for (uint32_t pass = 0; pass <= nn_gemm_config_total && ok; pass++) {
                bool plain = pass == nn_gemm_config_total;
                uint32_t ci = plain ? 0 : pass;
                if (nn_gemm_configs[ci].cpu && !info->shader_int64)
                    continue;
                if (plain && !nn_gemm_configs[ci].cpu)
                    continue;
                nnxr_nn_options o = nnxr_nn_options_default();
                o.gemm_config = (int)ci;
                o.gemm_plain_loads = plain;
                nnxr_nn *nnk = NULL;
                ok = nnxr_nn_create(gpu, &o, &nnk, err);
                /* One GEMM first (JIT, warm-up) to size the repetitions to ~1/3 s. */
                double ms1 = 0, ms = 0, cms1 = 0;
                ok = ok && time_gemm(gpu, nnk, &bb, n, n, n, ta, tb, 1, &ms1, NULL, err);
                uint32_t r = reps;
                if (ok && ms1 * r > 330.0)
                    r = (uint32_t)(330.0 / ms1) > 1 ? (uint32_t)(330.0 / ms1) : 1;
                ok = ok && time_gemm(gpu, nnk, &bb, n, n, n, ta, tb, r, &ms, &cms1, err);
                ok = ok && nnxr_buffer_readback(gpu, bb.c, 0, c, nn2 * 4, err);
                if (ok && *row_count < max_rows) {
                    nnxr_nn_bench_row *row = &rows[(*row_count)++];
                    memset(row, 0, sizeof *row);
                    snprintf(row->config, sizeof row->config, "%s%s", nn_gemm_configs[ci].name,
                             plain ? " plain" : "");
                    row->m = row->n = row->k = n;
                    row->trans_a = ta;
                    row->trans_b = tb;
                    row->ms = ms;
                    row->gflops = 2.0 * n * n * n / (ms * 1e6);
                    row->max_rel_err = rel_err(c, ref, nn2);
                    row->cpu_ms = cms1;
                }
                nnxr_nn_destroy(nnk);
            }
        }
    }
    nnxr_buffer_destroy(gpu, bb.a);
    nnxr_buffer_destroy(gpu, bb.b);
    nnxr_buffer_destroy(gpu, bb.c);
    free(a), free(b), free(c), free(ref);
    return ok;
}
