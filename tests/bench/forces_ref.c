/* tests/bench/forces_ref.c — the C baseline of `nnxr bench forces`: the latent cloud's full
 * step (class means, spring, class attraction, all-pairs softened repulsion, damped
 * integration) in fp32 as a careful C programmer would write it for a CPU: structure of
 * arrays, OpenMP threads over i, the j-loop vectorised with `omp simd` (built -O3
 * -march=native -fopenmp, no fast-math, so 1/sqrt is exact as in the shader).
 *
 * usage: forces_ref N STEPS [SEED]  → one JSON object on stdout:
 *   {"n":..,"steps":..,"seconds":..,"cpu_seconds":..,"pairs_per_s":..,"threads":..,
 *    "checksum":..}   (cpu_seconds: user + system time of all threads in the timed part)
 * pairs are counted as n² per step (the i = j term included, as the shader evaluates it). */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define CLASSES 10

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static uint32_t next(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static float gauss(uint32_t *s)
{
    float u = ((float)(next(s) >> 8) + 1.0f) / 16777217.0f, v = (float)(next(s) >> 8) / 16777216.0f;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: forces_ref N STEPS [SEED]\n");
        return 2;
    }
    long nl = strtol(argv[1], NULL, 10), sl = strtol(argv[2], NULL, 10);
    if (nl < 1 || nl > (1L << 22) || sl < 1 || sl > 100000) {
        fprintf(stderr, "forces_ref: N in 1..4194304 and STEPS in 1..100000 expected\n");
        return 2;
    }
    int n = (int)nl, steps = (int)sl;
    uint32_t seed = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 12345u;
    if (!seed)
        seed = 1;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n),
          *z = malloc(sizeof(float) * n), *vx = calloc(n, sizeof(float)),
          *vy = calloc(n, sizeof(float)), *vz = calloc(n, sizeof(float)),
          *tx = malloc(sizeof(float) * n), *ty = malloc(sizeof(float) * n),
          *tz = malloc(sizeof(float) * n), *fx = malloc(sizeof(float) * n),
          *fy = malloc(sizeof(float) * n), *fz = malloc(sizeof(float) * n);
    int *label = malloc(sizeof(int) * n);
    if (!x || !y || !z || !vx || !vy || !vz || !tx || !ty || !tz || !fx || !fy || !fz || !label) {
        fprintf(stderr, "forces_ref: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        x[i] = 0.6f * gauss(&seed);
        y[i] = 0.6f * gauss(&seed);
        z[i] = 0.6f * gauss(&seed);
        tx[i] = x[i];
        ty[i] = y[i];
        tz[i] = z[i];
        label[i] = (int)(next(&seed) % (CLASSES + 1)) - 1;
    }
    /* nnxr_cloud_params_default() */
    const float k_s = 1.0f, k_a = 0.5f, k_r = 1e-5f, eps = 0.02f, damping = 0.1f, dt = 0.05f;
    const float eps2 = eps * eps;
    double t0 = 0, c0 = 0;
    /* Step −1 is a warm-up (OpenMP's threads start, pages are touched), not timed. */
    for (int s = -1; s < steps; s++) {
        if (s == 0) {
            t0 = now();
            c0 = cpu_now();
        }
        double sum[CLASSES][4] = {{0}};
        for (int i = 0; i < n; i++)
            if (label[i] >= 0) {
                sum[label[i]][0] += x[i];
                sum[label[i]][1] += y[i];
                sum[label[i]][2] += z[i];
                sum[label[i]][3] += 1;
            }
        float mean[CLASSES][3];
        for (int c = 0; c < CLASSES; c++)
            for (int a = 0; a < 3; a++)
                mean[c][a] = sum[c][3] > 0 ? (float)(sum[c][a] / sum[c][3]) : 0.0f;
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) {
            float xi = x[i], yi = y[i], zi = z[i], ax = 0, ay = 0, az = 0;
#pragma omp simd reduction(+ : ax, ay, az)
            for (int j = 0; j < n; j++) {
                float dx = xi - x[j], dy = yi - y[j], dz = zi - z[j];
                float r2 = dx * dx + dy * dy + dz * dz + eps2;
                float inv = 1.0f / sqrtf(r2);
                float inv3 = inv * inv * inv;
                ax += dx * inv3;
                ay += dy * inv3;
                az += dz * inv3;
            }
            float f0 = k_r * ax + k_s * (tx[i] - xi), f1 = k_r * ay + k_s * (ty[i] - yi),
                  f2 = k_r * az + k_s * (tz[i] - zi);
            int c = label[i];
            if (c >= 0 && sum[c][3] > 0) {
                f0 += k_a * (mean[c][0] - xi);
                f1 += k_a * (mean[c][1] - yi);
                f2 += k_a * (mean[c][2] - zi);
            }
            fx[i] = f0;
            fy[i] = f1;
            fz[i] = f2;
        }
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) {
            vx[i] = (1.0f - damping) * vx[i] + dt * fx[i];
            vy[i] = (1.0f - damping) * vy[i] + dt * fy[i];
            vz[i] = (1.0f - damping) * vz[i] + dt * fz[i];
            x[i] += dt * vx[i];
            y[i] += dt * vy[i];
            z[i] += dt * vz[i];
        }
    }
    double secs = now() - t0, cpu = cpu_now() - c0;
    double check = 0;
    for (int i = 0; i < n; i++)
        check += (double)x[i] + y[i] + z[i];
    printf("{\"n\": %d, \"steps\": %d, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
           "\"pairs_per_s\": %.6e, \"threads\": %d, \"checksum\": %.9g}\n", n, steps, secs,
           cpu, (double)n * n * steps / secs, omp_get_max_threads(), check);
    free(x); free(y); free(z); free(vx); free(vy); free(vz);
    free(tx); free(ty); free(tz); free(fx); free(fy); free(fz); free(label);
    return 0;
}
