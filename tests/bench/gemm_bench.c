/* tests/bench/gemm_bench.c — GFLOP/s of nnxr's GEMM kernels (every tile configuration) at
 * 256^3, 512^3 and 1024^3 (or the sizes given), NN layout plus NT and TN at the largest size,
 * against a cache-blocked single-thread C SGEMM measured in the same run on the same data.
 *
 *   gemm_bench [--json] [--reps N] [size ...]
 *
 * Prints a table, or with --json one JSON object (figures, units, device, baseline). A
 * benchmark, not a test: timings depend on the machine and its load. "GFLOP/CPU-s" divides by
 * the process's CPU time instead of the wall clock (lavapipe's threads are in-process), which
 * other load on the machine disturbs far less; on 2 cores the uncontended wall-clock rate is at
 * most twice it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu.h"
#include "nn/layers.h"

int main(int argc, char **argv)
{
    bool json = false;
    uint32_t reps = 3, sizes[16], ns = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = (uint32_t)atoi(argv[++i]);
        } else if (argv[i][0] >= '0' && argv[i][0] <= '9' && ns < 16) {
            sizes[ns++] = (uint32_t)atoi(argv[i]);
        } else {
            fprintf(stderr, "usage: gemm_bench [--json] [--reps N] [size ...]\n");
            return 2;
        }
    }
    if (!ns) {
        sizes[0] = 256, sizes[1] = 512, sizes[2] = 1024;
        ns = 3;
    }
    nnxr_gpu_options o;
    memset(&o, 0, sizeof o);
    nnxr_gpu *gpu = NULL;
    nnxr_error err;
    if (!nnxr_gpu_create(&o, &gpu, &err)) {
        fprintf(stderr, "gemm_bench: %s\n", err.message);
        return 1;
    }
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    nnxr_nn_bench_row rows[256];
    uint32_t count = 0;
    if (!nnxr_nn_bench_gemm(gpu, sizes, ns, reps, rows, 256, &count, &err)) {
        fprintf(stderr, "gemm_bench: %s\n", err.message);
        nnxr_gpu_destroy(gpu);
        return 1;
    }
    if (json) {
        printf("{\"bench\": \"gemm\", \"device\": \"%s\", \"device_type\": \"%s\", \"unit\": "
               "\"GFLOP/s\", \"baseline\": \"cpu-c (1 thread)\", \"results\": [",
               info->properties.deviceName, info->is_cpu ? "cpu" : "gpu");
        for (uint32_t i = 0; i < count; i++) {
            const nnxr_nn_bench_row *r = &rows[i];
            printf("%s{\"config\": \"%s\", \"m\": %u, \"n\": %u, \"k\": %u, \"layout\": \"%s\", "
                   "\"gflops\": %.3f, \"ms\": %.3f, \"cpu_ms\": %.3f, \"gflop_per_cpu_s\": %.3f, "
                   "\"rel_err\": %.3g}",
                   i ? ", " : "", r->config, r->m, r->n, r->k,
                   r->trans_a ? "TN" : r->trans_b ? "NT" : "NN", r->gflops, r->ms, r->cpu_ms,
                   r->cpu_ms > 0 ? 2.0 * r->m * r->n * r->k / (r->cpu_ms * 1e6) : 0.0,
                   r->max_rel_err);
        }
        printf("]}\n");
    } else {
        printf("device: %s (%s)\n", info->properties.deviceName, info->is_cpu ? "CPU" : "GPU");
        printf("%-18s %5s %6s %9s %8s %10s %14s %9s\n", "config", "size", "layout", "ms", "GFLOP/s",
               "CPU ms", "GFLOP/CPU-s", "rel err");
        for (uint32_t i = 0; i < count; i++) {
            const nnxr_nn_bench_row *r = &rows[i];
            printf("%-18s %5u %6s %9.2f %8.2f %10.2f %14.2f %9.2g\n", r->config, r->m,
                   r->trans_a ? "TN" : r->trans_b ? "NT" : "NN", r->ms, r->gflops, r->cpu_ms,
                   r->cpu_ms > 0 ? 2.0 * r->m * r->n * r->k / (r->cpu_ms * 1e6) : 0.0,
                   r->max_rel_err);
        }
    }
    nnxr_gpu_destroy(gpu);
    return 0;
}
