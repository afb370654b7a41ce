/* tests/unit/test_sim_forces.c — the latent cloud's force step against a CPU reference in
 * double precision: the three kernel shapes on sizes that are no multiple of the tile, the
 * chunk, the block or the unroll, many j-chunks per step (the pairs shape: blocks that end
 * inside a j-range and inside a pass of eight j's), and n = 66,001 and 70,000 (all of Fashion-MNIST;
 * both past lavapipe's 65,535-iteration loop cap); momentum conservation with k_s = 0;
 * integration over a few steps; two labelled classes separating; the room mapping of latents.
 *
 * Accuracy: every checked point must satisfy both |F_gpu − F_ref| ≤ 1e-4 |F_ref| and
 * |F_gpu − F_ref| ≤ 1e-4 S_i, where S_i is the sum of the magnitudes of every term of F_i
 * (spring, class, each pair) — the scale fp32 rounding works on when it adds n terms (the
 * relative error against |F_i| alone can only be asked of data where the sums do not cancel
 * to nothing; these clouds are such data, and the second measure keeps the test meaningful
 * if they were not). Points are stored sorted by x, so a j-loop that stops early drops a slab
 * of the cloud on one side of everything: the missing terms all point the same way and the
 * error is about the missing fraction (≈ 1 % for a loop stopped at 65,535 of 66,001), which
 * the test shows it detects; at small n even one missing j is detected. */
#include <math.h>
#include <stdlib.h>

#include "sim/forces.h"
#include "test_gpu_util.h"

#define TOL 1e-4

typedef struct cloud_data {
    uint32_t n, classes;
    float *pos, *vel, *target; /* float4 */
    int32_t *label;
} cloud_data;

static float gauss(uint32_t *s)
{
    float u = tg_uniform(s) + 1e-7f, v = tg_uniform(s);
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static int by_x(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static cloud_data make_data(uint32_t n, uint32_t classes, uint32_t seed)
{
    cloud_data d = {n, classes, tg_alloc(n * 16u), tg_alloc(n * 16u), tg_alloc(n * 16u),
                    tg_alloc(n * 4u)};
    for (uint32_t i = 0; i < n; i++) {
        for (int a = 0; a < 3; a++) {
            d.pos[4 * i + a] = 0.6f * gauss(&seed);
            d.target[4 * i + a] = 0.6f * gauss(&seed);
            d.vel[4 * i + a] = 0.01f * gauss(&seed);
        }
        d.label[i] = (int32_t)(tg_rand(&seed) % (classes + 1)) - 1; /* about 1/(c+1) none */
    }
    qsort(d.pos, n, 16, by_x); /* points sorted along x (see the top comment) */
    return d;
}

static void free_data(cloud_data *d)
{
    free(d->pos);
    free(d->vel);
    free(d->target);
    free(d->label);
}

/* Reference force on point i over j in [0, jend), in double; *scale = S_i. */
static void ref_force(const cloud_data *d, const double (*mean)[4], const nnxr_cloud_params *p,
                      uint32_t i, uint32_t jend, double f[3], double *scale)
{
    const float *x = d->pos + 4 * i;
    double acc[3] = {0, 0, 0}, s = 0, eps2 = (double)p->eps * p->eps;
    for (uint32_t j = 0; j < jend; j++) {
        double dx[3], r2 = eps2;
        for (int a = 0; a < 3; a++) {
            dx[a] = (double)x[a] - d->pos[4 * j + a];
            r2 += dx[a] * dx[a];
        }
        double inv3 = 1.0 / (r2 * sqrt(r2));
        for (int a = 0; a < 3; a++)
            acc[a] += dx[a] * inv3;
        s += p->k_r * sqrt(r2 - eps2) * inv3;
    }
    double spring = 0, cls = 0;
    for (int a = 0; a < 3; a++) {
        double fs = p->k_s * ((double)d->target[4 * i + a] - x[a]);
        double fc = 0;
        int c = d->label[i];
        if (c >= 0 && mean[c][3] > 0)
            fc = p->k_a * (mean[c][a] - x[a]);
        f[a] = p->k_r * acc[a] + fs + fc;
        spring += fs * fs;
        cls += fc * fc;
    }
    *scale = s + sqrt(spring) + sqrt(cls);
}

static void class_means(const cloud_data *d, double (*mean)[4])
{
    memset(mean, 0, sizeof(double[4]) * d->classes);
    for (uint32_t i = 0; i < d->n; i++) {
        int c = d->label[i];
        if (c < 0)
            continue;
        for (int a = 0; a < 3; a++)
            mean[c][a] += d->pos[4 * i + a];
        mean[c][3] += 1;
    }
    for (uint32_t c = 0; c < d->classes; c++)
        for (int a = 0; a < 3 && mean[c][3] > 0; a++)
            mean[c][a] /= mean[c][3];
}

static bool plain_loads; /* the BLOCK shape's other load path, for a second pass */

static nnxr_cloud *make_cloud(nnxr_gpu *gpu, const cloud_data *d, nnxr_cloud_shape shape,
                              uint32_t ppi, uint32_t chunk)
{
    nnxr_cloud_desc desc = {.n = d->n, .classes = d->classes, .shape = shape,
                            .points_per_invocation = ppi, .chunk = chunk,
                            .plain_loads = plain_loads};
    nnxr_cloud *c = NULL;
    nnxr_error err;
    if (!nnxr_cloud_create(gpu, &desc, &c, &err)) {
        fprintf(stderr, "nnxr_cloud_create: %s\n", err.message);
        exit(1);
    }
    TG_OK(nnxr_cloud_upload(c, d->pos, d->vel, d->target, &e_));
    /* Labels reach the GPU through the label buffer, as machine labels would. */
    nnxr_buffer *pred = tg_buffer(gpu, "pred", NNXR_BUFFER_DEVICE, d->n * 4u);
    TG_OK(nnxr_buffer_upload(gpu, pred, 0, d->label, d->n * 4u, &e_));
    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    TG_OK(nnxr_cloud_bind_predictions(c, pred, &e_));
    TG_OK(nnxr_cloud_record_machine_labels(c, rec, &e_));
    TG_OK(nnxr_recorder_run(rec, &e_));
    nnxr_recorder_destroy(rec);
    TG_OK(nnxr_cloud_bind_predictions(c, NULL, &e_));
    nnxr_buffer_destroy(gpu, pred);
    return c;
}

/* Max error measures over the checked points: vs S_i (the test's measure) and vs |F_i|. */
typedef struct errs {
    double rel_scale, rel_norm;
    uint32_t worst;
} errs;

static errs compare(const cloud_data *d, const nnxr_cloud_params *p, const float *force4,
                    const uint32_t *check, uint32_t nc, uint32_t jend)
{
    double(*mean)[4] = tg_alloc(sizeof(double[4]) * d->classes);
    class_means(d, mean);
    errs e = {0, 0, 0};
    for (uint32_t k = 0; k < nc; k++) {
        uint32_t i = check[k];
        double f[3], s, diff = 0, norm = 0;
        ref_force(d, (const double(*)[4])mean, p, i, jend, f, &s);
        for (int a = 0; a < 3; a++) {
            diff += (force4[4 * i + a] - f[a]) * (force4[4 * i + a] - f[a]);
            norm += f[a] * f[a];
        }
        diff = sqrt(diff);
        double rs = diff / s, rn = diff / fmax(sqrt(norm), 1e-30);
        if (rs > e.rel_scale) {
            e.rel_scale = rs;
            e.worst = i;
        }
        if (rn > e.rel_norm)
            e.rel_norm = rn;
    }
    free(mean);
    return e;
}

static nnxr_cloud_params test_params(void)
{
    nnxr_cloud_params p = nnxr_cloud_params_default();
    p.k_s = 0.7f;
    p.k_a = 0.4f;
    p.k_r = 2e-3f;
    p.eps = 0.05f;
    return p;
}

static const char *shape_name(nnxr_cloud_shape s)
{
    return s == NNXR_CLOUD_SHAPE_TILES ? "tiles" : s == NNXR_CLOUD_SHAPE_PAIRS ? "pairs" : "block";
}

/* All points checked for small n. */
static void forces_small(nnxr_gpu *gpu, uint32_t n, nnxr_cloud_shape shape, uint32_t ppi,
                         uint32_t chunk)
{
    cloud_data d = make_data(n, 3, 1000 + n);
    nnxr_cloud *c = make_cloud(gpu, &d, shape, ppi, chunk);
    nnxr_cloud_params p = test_params();
    TG_OK(nnxr_cloud_compute_forces(c, &p, &e_));
    float *force = tg_alloc(n * 16u);
    TG_OK(nnxr_cloud_download(c, NULL, NULL, force, &e_));
    uint32_t *all = tg_alloc(n * 4u);
    for (uint32_t i = 0; i < n; i++)
        all[i] = i;
    errs e = compare(&d, &p, force, all, n, n);
    printf("forces n=%u %s%s ppi=%u chunk=%u (%u dispatches): max err/S %.2e, max err/|F| "
           "%.2e\n", n, shape_name(nnxr_cloud_get_shape(c)),
           plain_loads && shape == NNXR_CLOUD_SHAPE_BLOCK ? " (plain loads)" : "",
           nnxr_cloud_points_per_invocation(c), nnxr_cloud_chunk(c),
           (n + nnxr_cloud_chunk(c) - 1) / nnxr_cloud_chunk(c), e.rel_scale, e.rel_norm);
    CHECKF(e.rel_scale <= TOL, "n=%u %s: error %.3e at point %u", n, shape_name(shape),
           e.rel_scale, e.worst);
    CHECKF(e.rel_norm <= TOL, "n=%u %s: error %.3e relative to |F|", n, shape_name(shape),
           e.rel_norm);
    /* Dropping a single j (the last) must be visible at these sizes: the test can fail. */
    if (n > 1 && n <= 2000) {
        errs drop = compare(&d, &p, force, all, n, n - 1);
        CHECKF(drop.rel_scale > 10 * TOL, "n=%u: a missing last j went unnoticed (%.2e)", n,
               drop.rel_scale);
    }
    free(all);
    free(force);
    nnxr_cloud_destroy(c);
    free_data(&d);
}

/* n past the loop cap: a sample of points (first, last, around chunk edges, random). */
static void forces_large(nnxr_gpu *gpu, uint32_t n)
{
    cloud_data d = make_data(n, 5, 77);
    nnxr_cloud *c = make_cloud(gpu, &d, NNXR_CLOUD_SHAPE_AUTO, 0, 0);
    nnxr_cloud_params p = test_params();
    p.k_r = 2e-5f; /* same total repulsion per point as the small cases, roughly */
    TG_OK(nnxr_cloud_compute_forces(c, &p, &e_));
    float *force = tg_alloc(n * 16u);
    TG_OK(nnxr_cloud_download(c, NULL, NULL, force, &e_));
    uint32_t check[400], nc = 0, seed = 4242;
    for (uint32_t i = 0; i < 20; i++) {
        check[nc++] = i;
        check[nc++] = n - 1 - i;
    }
    while (nc < 400)
        check[nc++] = tg_rand(&seed) % n;
    errs e = compare(&d, &p, force, check, nc, n);
    printf("forces n=%u %s chunk=%u: max err/S %.2e, max err/|F| %.2e over %u points\n", n,
           shape_name(nnxr_cloud_get_shape(c)), nnxr_cloud_chunk(c), e.rel_scale, e.rel_norm,
           nc);
    CHECKF(e.rel_scale <= TOL, "n=%u: error %.3e at point %u", n, e.rel_scale, e.worst);
    CHECKF(e.rel_norm <= TOL, "n=%u: error %.3e relative to |F|", n, e.rel_norm);
    /* What a plain j-loop stopped by lavapipe's cap would return: caught by a wide margin. */
    errs cap = compare(&d, &p, force, check, nc, 65535);
    printf("  a j-loop stopped at 65,535 would show err/S %.2e (tolerance %.0e)\n",
           cap.rel_scale, TOL);
    CHECKF(cap.rel_scale > 10 * TOL, "a loop stopped at 65,535 went unnoticed (%.2e)",
           cap.rel_scale);
    free(force);
    nnxr_cloud_destroy(c);
    free_data(&d);
}

/* With k_s = 0 every remaining force is internal: Σ F = 0 (pair terms are antisymmetric and
 * Σ_{i∈c} (mean_c − x_i) = 0). Also after steps: Σ v stays at its start value times the
 * damping factor. */
static void momentum(nnxr_gpu *gpu, float k_a)
{
    uint32_t n = 3001;
    cloud_data d = make_data(n, 4, 99);
    for (uint32_t i = 0; i < n; i++)
        d.vel[4 * i] = d.vel[4 * i + 1] = d.vel[4 * i + 2] = 0;
    nnxr_cloud *c = make_cloud(gpu, &d, NNXR_CLOUD_SHAPE_AUTO, 0, 512);
    nnxr_cloud_params p = test_params();
    p.k_s = 0;
    p.k_a = k_a;
    TG_OK(nnxr_cloud_compute_forces(c, &p, &e_));
    float *force = tg_alloc(n * 16u), *vel = tg_alloc(n * 16u);
    TG_OK(nnxr_cloud_download(c, NULL, NULL, force, &e_));
    double sum[3] = {0, 0, 0}, mag = 0;
    for (uint32_t i = 0; i < n; i++) {
        double m = 0;
        for (int a = 0; a < 3; a++) {
            sum[a] += force[4 * i + a];
            m += (double)force[4 * i + a] * force[4 * i + a];
        }
        mag += sqrt(m);
    }
    double net = sqrt(sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]);
    printf("momentum k_s=0 k_a=%g: |sum F| = %.3e, sum |F| = %.3e (ratio %.1e)\n",
           (double)k_a, net, mag, net / mag);
    CHECKF(mag > 0 && net <= 1e-5 * mag, "k_a=%g: |sum F| %.3e vs sum |F| %.3e", (double)k_a,
           net, mag);
    TG_OK(nnxr_cloud_step(c, &p, 20, &e_));
    TG_OK(nnxr_cloud_download(c, NULL, vel, NULL, &e_));
    double vs[3] = {0, 0, 0}, vm = 0;
    for (uint32_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++) {
            vs[a] += vel[4 * i + a];
            vm += fabs(vel[4 * i + a]);
        }
    double vnet = sqrt(vs[0] * vs[0] + vs[1] * vs[1] + vs[2] * vs[2]);
    printf("  after 20 steps: |sum v| = %.3e, sum |v_a| = %.3e\n", vnet, vm);
    CHECKF(vm > 0 && vnet <= 1e-4 * vm, "|sum v| %.3e vs %.3e", vnet, vm);
    free(force);
    free(vel);
    nnxr_cloud_destroy(c);
    free_data(&d);
}

/* A few integration steps against the same steps in double on the CPU, four j-ranges a step
 * (the PAIRS shape integrates in its last fold, the others in a dispatch of their own). */
static void trajectory(nnxr_gpu *gpu, nnxr_cloud_shape shape)
{
    uint32_t n = 1500, steps = 5;
    cloud_data d = make_data(n, 3, 5);
    nnxr_cloud *c = make_cloud(gpu, &d, shape, 0, 400);
    nnxr_cloud_params p = test_params();
    TG_OK(nnxr_cloud_step(c, &p, steps, &e_));
    float *pos = tg_alloc(n * 16u), *vel = tg_alloc(n * 16u);
    TG_OK(nnxr_cloud_download(c, pos, vel, NULL, &e_));
    /* CPU: double state, the reference force on a float copy of the positions. */
    double *x = tg_alloc(n * 24u), *v = tg_alloc(n * 24u), *f = tg_alloc(n * 24u);
    for (uint32_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++) {
            x[3 * i + a] = d.pos[4 * i + a];
            v[3 * i + a] = d.vel[4 * i + a];
        }
    double(*mean)[4] = tg_alloc(sizeof(double[4]) * d.classes);
    for (uint32_t s = 0; s < steps; s++) {
        for (uint32_t i = 0; i < n; i++)
            for (int a = 0; a < 3; a++)
                d.pos[4 * i + a] = (float)x[3 * i + a];
        class_means(&d, mean);
        for (uint32_t i = 0; i < n; i++) {
            double scale;
            ref_force(&d, (const double(*)[4])mean, &p, i, n, f + 3 * i, &scale);
        }
        for (uint32_t i = 0; i < 3 * n; i++) {
            v[i] = (1.0 - p.damping) * v[i] + p.dt * f[i];
            x[i] += p.dt * v[i];
        }
    }
    double worst = 0;
    for (uint32_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++)
            worst = fmax(worst, fabs(pos[4 * i + a] - x[3 * i + a]));
    printf("trajectory n=%u %s, %u steps: max |x_gpu - x_ref| = %.2e (room units)\n", n,
           shape_name(nnxr_cloud_get_shape(c)), steps, worst);
    CHECKF(worst <= 1e-5, "trajectory (%s) deviates by %.3e", shape_name(shape), worst);
    free(mean);
    free(x);
    free(v);
    free(f);
    free(pos);
    free(vel);
    nnxr_cloud_destroy(c);
    free_data(&d);
}

/* Two overlapping labelled classes: class attraction contracts each, repulsion between the
 * dense groups pushes them apart. Measured: distance between the class centroids (grows),
 * mean distance of a point to its own centroid (shrinks). */
static void separation(nnxr_gpu *gpu)
{
    uint32_t n = 2000, steps = 300;
    uint32_t seed = 31337;
    cloud_data d = {n, 2, tg_alloc(n * 16u), tg_alloc(n * 16u), tg_alloc(n * 16u),
                    tg_alloc(n * 4u)};
    for (uint32_t i = 0; i < n; i++) {
        d.label[i] = (int32_t)(i % 2);
        for (int a = 0; a < 3; a++) {
            d.pos[4 * i + a] = 0.5f * gauss(&seed) + (a == 0 ? (i % 2 ? 0.1f : -0.1f) : 0);
            d.target[4 * i + a] = d.pos[4 * i + a];
            d.vel[4 * i + a] = 0;
        }
    }
    nnxr_cloud *c = make_cloud(gpu, &d, NNXR_CLOUD_SHAPE_AUTO, 0, 0);
    nnxr_cloud_params p = nnxr_cloud_params_default();
    p.k_s = 0.05f;
    p.k_a = 2.0f;
    p.k_r = 2e-4f;
    p.eps = 0.05f;
    p.damping = 0.2f;
    p.dt = 0.05f;
    double inter[2], intra[2];
    float *pos = tg_alloc(n * 16u);
    for (int phase = 0; phase < 2; phase++) {
        if (phase == 1)
            TG_OK(nnxr_cloud_step(c, &p, steps, &e_));
        TG_OK(nnxr_cloud_download(c, pos, NULL, NULL, &e_));
        double m[2][3] = {{0}}, cnt[2] = {0, 0};
        for (uint32_t i = 0; i < n; i++) {
            for (int a = 0; a < 3; a++)
                m[i % 2][a] += pos[4 * i + a];
            cnt[i % 2]++;
        }
        double dist = 0, spread = 0;
        for (int a = 0; a < 3; a++) {
            m[0][a] /= cnt[0];
            m[1][a] /= cnt[1];
            dist += (m[0][a] - m[1][a]) * (m[0][a] - m[1][a]);
        }
        for (uint32_t i = 0; i < n; i++) {
            double r = 0;
            for (int a = 0; a < 3; a++)
                r += (pos[4 * i + a] - m[i % 2][a]) * (pos[4 * i + a] - m[i % 2][a]);
            spread += sqrt(r);
        }
        inter[phase] = sqrt(dist);
        intra[phase] = spread / n;
    }
    printf("separation over %u steps: centroid distance %.3f -> %.3f, mean intra-class "
           "distance %.3f -> %.3f\n", steps, inter[0], inter[1], intra[0], intra[1]);
    CHECKF(inter[1] > 2 * inter[0], "classes did not separate: %.3f -> %.3f", inter[0],
           inter[1]);
    CHECKF(intra[1] < 0.7 * intra[0], "classes did not contract: %.3f -> %.3f", intra[0],
           intra[1]);
    CHECKF(inter[1] > 2 * intra[1], "classes overlap at the end: centroids %.3f apart, "
           "spread %.3f", inter[1], intra[1]);
    free(pos);
    nnxr_cloud_destroy(c);
    free_data(&d);
}

/* The room mapping: exactly ceil(0.98 n) points inside the cube on the CPU, and the GPU
 * mapping of a float3 latent buffer agrees with it. */
static void room_mapping(nnxr_gpu *gpu)
{
    uint32_t n = 10007, seed = 555;
    float *z = tg_alloc(n * 12u);
    for (uint32_t i = 0; i < n; i++) {
        z[3 * i] = 3.0f + 2.0f * gauss(&seed);
        z[3 * i + 1] = -1.0f + 0.1f * gauss(&seed) * gauss(&seed); /* heavy tails */
        z[3 * i + 2] = 10.0f * tg_uniform(&seed);
    }
    float room = 4.0f;
    nnxr_room_mapping m;
    TG_OK(nnxr_room_mapping_compute(z, n, 3, room, &m, &e_));
    uint32_t inside = 0;
    for (uint32_t i = 0; i < n; i++) {
        double u = 0;
        for (int a = 0; a < 3; a++)
            u = fmax(u, fabs(((double)z[3 * i + a] - m.centre[a]) * m.scale[a]));
        inside += u <= 0.5 * room * (1 + 1e-6);
    }
    uint32_t want = (uint32_t)ceil(0.98 * n);
    printf("room mapping: %u of %u inside (want %u), centre %.3f %.3f %.3f, scale %.3f %.3f "
           "%.3f\n", inside, n, want, (double)m.centre[0], (double)m.centre[1],
           (double)m.centre[2], (double)m.scale[0], (double)m.scale[1], (double)m.scale[2]);
    CHECKF(inside >= want && inside <= want + 2, "%u inside, want %u", inside, want);
    /* Each axis used: the spread of every axis reaches at least 80 % of the half room. */
    for (int a = 0; a < 3; a++) {
        double mx = 0;
        for (uint32_t i = 0; i < n; i++)
            mx = fmax(mx, fabs(((double)z[3 * i + a] - m.centre[a]) * m.scale[a]));
        CHECKF(mx >= 0.8 * 0.5 * room, "axis %d reaches only %.3f", a, mx);
    }
    float bad[6] = {0, 0, 0, NAN, 0, 0};
    nnxr_error err;
    CHECK(!nnxr_room_mapping_compute(bad, 2, 3, room, &m, &err));
    CHECK_CONTAINS(err.message, "point 1, axis 0");

    /* The GPU path: a float3 buffer at an offset into the target buffer. */
    cloud_data d = make_data(n, 2, 9);
    nnxr_cloud *c = make_cloud(gpu, &d, NNXR_CLOUD_SHAPE_AUTO, 0, 0);
    nnxr_buffer *zb = tg_buffer(gpu, "z", NNXR_BUFFER_DEVICE, 64 + n * 12u);
    TG_OK(nnxr_buffer_upload(gpu, zb, 64, z, n * 12u, &e_));
    nnxr_room_mapping mg;
    TG_OK(nnxr_cloud_set_latents(c, zb, 64, 3, room, &mg, &e_));
    CHECK(memcmp(&mg, &m, sizeof m) == 0);
    TG_OK(nnxr_cloud_reset_to_targets(c, &e_));
    float *pos = tg_alloc(n * 16u), *vel = tg_alloc(n * 16u);
    TG_OK(nnxr_cloud_download(c, pos, vel, NULL, &e_));
    double worst = 0, vmax = 0;
    for (uint32_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++) {
            worst = fmax(worst, fabs(pos[4 * i + a] - ((double)z[3 * i + a] - m.centre[a]) *
                                                          m.scale[a]));
            vmax = fmax(vmax, fabs(vel[4 * i + a]));
        }
    printf("  GPU mapping: max deviation %.2e\n", worst);
    CHECKF(worst <= 1e-5 * room, "GPU mapping deviates by %.3e", worst);
    CHECK(vmax == 0);
    nnxr_error e2;
    CHECK(!nnxr_cloud_set_latents(c, zb, 64 + 4, 4, room, NULL, &e2));
    CHECK_CONTAINS(e2.message, "need");
    free(pos);
    free(vel);
    nnxr_buffer_destroy(gpu, zb);
    nnxr_cloud_destroy(c);
    free_data(&d);
    free(z);
}

static void bad_input(nnxr_gpu *gpu)
{
    nnxr_error err;
    nnxr_cloud *c = NULL;
    nnxr_cloud_desc d0 = {.n = 0, .classes = 2};
    CHECK(!nnxr_cloud_create(gpu, &d0, &c, &err) && c == NULL);
    CHECK_CONTAINS(err.message, "n = 0");
    nnxr_cloud_desc d1 = {.n = 10, .classes = 65};
    CHECK(!nnxr_cloud_create(gpu, &d1, &c, &err));
    CHECK_CONTAINS(err.message, "65 classes");
    nnxr_cloud_params p = nnxr_cloud_params_default();
    p.eps = 0;
    CHECK(!nnxr_cloud_params_check(&p, &err));
    CHECK_CONTAINS(err.message, "eps");
    p = nnxr_cloud_params_default();
    p.damping = NAN;
    CHECK(!nnxr_cloud_params_check(&p, &err));
    CHECK_CONTAINS(err.message, "damping");
    CHECK(nnxr_cloud_params_check(&(nnxr_cloud_params){.k_s = 1, .eps = 1, .dt = 1,
                                                         .room = 1}, &err));
    /* The pairs shape: one subgroup a workgroup, the uniform window, at most 64 slots. */
    nnxr_cloud_desc d2 = {.n = 100, .classes = 2, .shape = NNXR_CLOUD_SHAPE_PAIRS,
                          .plain_loads = true};
    CHECK(!nnxr_cloud_create(gpu, &d2, &c, &err) && c == NULL);
    CHECK_CONTAINS(err.message, "plain_loads");
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    d2.plain_loads = false;
    d2.workgroup = info->subgroup_size * 2;
    CHECK(!nnxr_cloud_create(gpu, &d2, &c, &err) && c == NULL);
    CHECK_CONTAINS(err.message, "one subgroup");
    d2.workgroup = 0;
    d2.points_per_invocation = 65;
    CHECK(!nnxr_cloud_create(gpu, &d2, &c, &err) && c == NULL);
    CHECK_CONTAINS(err.message, "0 .. 64");
    /* forces_fold.comp loops over blocks: more than 65,535 would meet lavapipe's loop cap. */
    d2.points_per_invocation = 1;
    d2.n = 65536u * info->subgroup_size + 1u;
    CHECK(!nnxr_cloud_create(gpu, &d2, &c, &err) && c == NULL);
    CHECK_CONTAINS(err.message, "65537 blocks");
    /* AUTO on this CPU device takes the pairs shape (a GPU: tiles). */
    nnxr_cloud_desc d3 = {.n = 100, .classes = 2};
    CHECK(nnxr_cloud_create(gpu, &d3, &c, &err));
    if (c)
        CHECK(nnxr_cloud_get_shape(c) == (info->is_cpu ? NNXR_CLOUD_SHAPE_PAIRS
                                                       : NNXR_CLOUD_SHAPE_TILES));
    nnxr_cloud_destroy(c);
}

int main(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    bad_input(gpu);
    /* Awkward sizes, several chunks per step (chunk 264: not a multiple of any tile). */
    uint32_t sizes[] = {1, 7, 1001, 5003};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        forces_small(gpu, sizes[k], NNXR_CLOUD_SHAPE_BLOCK, 8, 264);
        forces_small(gpu, sizes[k], NNXR_CLOUD_SHAPE_TILES, 0, 264);
    }
    forces_small(gpu, 1001, NNXR_CLOUD_SHAPE_BLOCK, 3, 0);
    forces_small(gpu, 1001, NNXR_CLOUD_SHAPE_BLOCK, 16, 0);
    forces_small(gpu, 5003, NNXR_CLOUD_SHAPE_BLOCK, 0, 0);
    /* Pairs: one block (n = 1, 7); blocks of 64 over four j-ranges with an odd tail; blocks
     * of 24 points (3 slots × 8 lanes) and the default slots, each over 19 j-ranges; the
     * most slots in two j-ranges of the full window. */
    forces_small(gpu, 1, NNXR_CLOUD_SHAPE_PAIRS, 0, 264);
    forces_small(gpu, 7, NNXR_CLOUD_SHAPE_PAIRS, 0, 264);
    forces_small(gpu, 1001, NNXR_CLOUD_SHAPE_PAIRS, 8, 264);
    forces_small(gpu, 5003, NNXR_CLOUD_SHAPE_PAIRS, 3, 264);
    forces_small(gpu, 5003, NNXR_CLOUD_SHAPE_PAIRS, 0, 264);
    forces_small(gpu, 5003, NNXR_CLOUD_SHAPE_PAIRS, 64, 0);
    plain_loads = true;
    forces_small(gpu, 1001, NNXR_CLOUD_SHAPE_BLOCK, 16, 264);
    forces_small(gpu, 5003, NNXR_CLOUD_SHAPE_BLOCK, 5, 0);
    plain_loads = false;
    momentum(gpu, 0.0f);
    momentum(gpu, 0.5f);
    trajectory(gpu, NNXR_CLOUD_SHAPE_PAIRS);
    trajectory(gpu, NNXR_CLOUD_SHAPE_BLOCK);
    trajectory(gpu, NNXR_CLOUD_SHAPE_TILES);
    separation(gpu);
    room_mapping(gpu);
    forces_large(gpu, 66001);
    forces_large(gpu, 70000); /* all of Fashion-MNIST */
    tg_close(gpu);
    return check_finish();
}
