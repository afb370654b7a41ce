/* app/cli_bench_forces.c — `nnxr bench forces`: pair interactions per second of the latent
 * cloud's step (sim/forces.h) on the chosen device for several n, next to the C reference
 * (tests/bench/forces_ref.c, OpenMP + SIMD on all cores) and optionally PyTorch's dense
 * formulation (tests/bench/torch_forces.py), both run as subprocesses in the same run; the
 * ratios; on a CPU device also the same C built for 256-bit vectors (forces_ref_256, when
 * built), which tells a kernel's cost from the width of the vectors it runs on; peak memory
 * at the largest n; and what the kernel's arithmetic intensity implies for a real GPU. Table
 * on stdout, or one JSON object with --json.
 * Each size is measured in rounds, the shader and the C builds in turn, and reported as
 * medians: on a shared VM the CPU time a process gets drifts by tens of percent within
 * seconds (measured here: a worker thread busy 70–90 % of the wall time from one run of the
 * same binary to the next), so one measurement of each side says little about their ratio.
 * Short rounds meet more of those swings on both sides: at n = 4,096 three runs of 9 rounds
 * of 0.3 s gave ratios of 0.48, 0.48 and 0.49; two runs of 3 rounds of 1 s 0.42 and 0.53.
 * On a CPU device the device's worker threads sleep between dispatches and the OS places
 * them again at every wake-up: on the test VM `perf sched` caught both of lavapipe's workers
 * queued on one vCPU while the other idled 30 % of a 2 s window. So nnxr pins them one per
 * CPU (engine/gpu/cpu_workers.c; --no-pin leaves them), and the C reference's OpenMP threads
 * are bound likewise (OMP_PROC_BIND=true unless the environment sets it; not PyTorch's, whose
 * own choice of threads it keeps). The CPUs each side kept busy are printed per round. */
#include "app/bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/status.h"
#include "gpu/gpu.h"
#include "sim/forces.h"

#define MAX_SIZES 16
#define MAX_ROUNDS 15
/* Per pair in the kernel: 3 sub, 3 mul-add for r², 1 add ε², 1 inverse sqrt, 2 mul for
 * inv³, 3 mul-add into the sum: 20 FLOP counting a mul-add as 2 and inversesqrt as 1. */
#define FLOP_PER_PAIR 20.0
/* The same pair in the GPU (tile) shape's instructions (SIM_REPEL_RSQ in sim/common.glsl):
 * 3 sub, 3 fma for r², 2 mul for inv³, 3 fma into the sum, and one inversesqrt, which GPUs
 * run on their special-function units. */
#define TILE_FP32_PER_PAIR 11.0
#define TILE_SFU_PER_PAIR 1.0
/* The real-GPU goal. */
#define GOAL_POINTS 50000u
#define GOAL_STEPS_PER_S 90.0

typedef struct bench_opts {
    uint32_t sizes[MAX_SIZES];
    uint32_t size_count;
    double seconds;          /* target time per measurement */
    uint32_t rounds;         /* measurements per size of the shader and each C build */
    const char *ref;         /* path of forces_ref, NULL = beside the executable */
    const char *ref256;      /* path of forces_ref_256, NULL = beside the executable if there */
    bool no_ref;
    bool no_pin;             /* leave a CPU device's workers unpinned */
    const char *torch;       /* path of torch_forces.py, NULL = don't run */
    const char *python;      /* interpreter for it */
    bool json;
    nnxr_cloud_shape shape;
    uint32_t ppi, wg, chunk;
    bool plain_loads;
    const char *device;
} bench_opts;

/* Figures of one size: the shader's, the C builds' from their median rounds; the ratios are
 * the medians of the rounds' ratios. */
typedef struct result {
    uint32_t n, steps;        /* steps per round */
    double seconds, pairs_per_s;
    double cpu_seconds;       /* CPU time of all our threads (lavapipe's too) in the round */
    double ref_cpu_seconds, ref_seconds; /* the C reference's, < 0: not measured */
    double ref_pairs_per_s;   /* < 0: not measured */
    double ref256_pairs_per_s; /* the C reference at 256-bit vectors; < 0: not measured */
    double ratio_c, ratio_c256; /* < 0: not measured */
    uint32_t rounds;
    double round_pairs[MAX_ROUNDS], round_c[MAX_ROUNDS], round_c256[MAX_ROUNDS]; /* < 0: none */
    /* CPUs kept busy in each round (CPU seconds / wall seconds): the shader's process (on a
     * CPU device, the device's threads) and the C reference's; < 0: not measured. */
    double round_cpus[MAX_ROUNDS], round_c_cpus[MAX_ROUNDS];
    uint32_t ref_threads;
    double torch_pairs_per_s; /* < 0: not measured */
    uint32_t chunk, dispatches;
    uint32_t ppi;             /* points per invocation as resolved */
    uint64_t gpu_bytes;
} result;

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

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nnxr bench forces [options]\n"
            "  Pair interactions per second of the latent cloud's force step (all pairs,\n"
            "  fp32) on the Vulkan device, next to the C reference (OpenMP + SIMD) measured\n"
            "  in the same run.\n"
            "  --sizes a,b,...   point counts (default 4096,16384,32768,65536)\n"
            "  --seconds s       time per measurement, at least one step (default 0.3)\n"
            "  --rounds k        measurements per size of the shader and each C build, in\n"
            "                    turn; figures are medians (default 9, at most 15)\n"
            "  --ref PATH        the C reference binary (default: forces_ref beside nnxr)\n"
            "  --no-ref          skip the C reference\n"
            "  --ref-256 PATH    the C reference built for 256-bit vectors, run on CPU devices\n"
            "                    (default: forces_ref_256 beside nnxr, when built)\n"
            "  --torch PATH      also run PyTorch's dense formulation (torch_forces.py)\n"
            "  --python PATH     its interpreter (default /usr/bin/python3, where Debian's\n"
            "                    python3-torch lives, else python3)\n"
            "  --shape auto|tiles|block|pairs, --ppi k, --wg k, --chunk k, --plain-loads\n"
            "                    kernel shape (see sim/forces.h)\n"
            "  --device NAME     Vulkan device (index or name part)\n"
            "  --no-pin          on a CPU device, leave its worker threads where the OS puts\n"
            "                    them (default: one per CPU, as the C's OpenMP threads)\n"
            "  --json            one JSON object on stdout\n");
}

static bool parse_sizes(const char *s, bench_opts *o)
{
    o->size_count = 0;
    while (*s) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v < 1 || v > NNXR_CLOUD_MAX_POINTS || o->size_count == MAX_SIZES)
            return false;
        o->sizes[o->size_count++] = (uint32_t)v;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    return o->size_count > 0;
}

static int parse(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){.sizes = {4096, 16384, 32768, 65536}, .size_count = 4, .seconds = 0.3,
                      .rounds = 9};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
            takes = false;
        } else if (!strcmp(a, "--plain-loads")) {
            o->plain_loads = true;
            takes = false;
        } else if (!strcmp(a, "--no-ref")) {
            o->no_ref = true;
            takes = false;
        } else if (!strcmp(a, "--no-pin")) {
            o->no_pin = true;
            takes = false;
        } else if (!v) {
            fprintf(stderr, "nnxr bench forces: option '%s' needs a value\n", a);
            return 2;
        } else if (!strcmp(a, "--sizes")) {
            if (!parse_sizes(v, o)) {
                fprintf(stderr, "nnxr bench forces: --sizes: expected up to %d point counts "
                        "in 1..%u separated by commas, got '%s'\n", MAX_SIZES,
                        NNXR_CLOUD_MAX_POINTS, v);
                return 2;
            }
        } else if (!strcmp(a, "--seconds")) {
            o->seconds = strtod(v, NULL);
            if (!(o->seconds > 0 && o->seconds <= 600)) {
                fprintf(stderr, "nnxr bench forces: --seconds: expected a number in (0, 600], "
                        "got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--rounds")) {
            char *end;
            unsigned long x = strtoul(v, &end, 10);
            if (*end || end == v || x < 1 || x > MAX_ROUNDS) {
                fprintf(stderr, "nnxr bench forces: --rounds: expected a count in 1..%d, got "
                        "'%s'\n", MAX_ROUNDS, v);
                return 2;
            }
            o->rounds = (uint32_t)x;
        } else if (!strcmp(a, "--ref")) {
            o->ref = v;
        } else if (!strcmp(a, "--ref-256")) {
            o->ref256 = v;
        } else if (!strcmp(a, "--torch")) {
            o->torch = v;
        } else if (!strcmp(a, "--python")) {
            o->python = v;
        } else if (!strcmp(a, "--device")) {
            o->device = v;
        } else if (!strcmp(a, "--shape")) {
            if (!strcmp(v, "auto"))
                o->shape = NNXR_CLOUD_SHAPE_AUTO;
            else if (!strcmp(v, "tiles"))
                o->shape = NNXR_CLOUD_SHAPE_TILES;
            else if (!strcmp(v, "block"))
                o->shape = NNXR_CLOUD_SHAPE_BLOCK;
            else if (!strcmp(v, "pairs"))
                o->shape = NNXR_CLOUD_SHAPE_PAIRS;
            else {
                fprintf(stderr, "nnxr bench forces: --shape: expected auto, tiles, block or "
                        "pairs, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--ppi") || !strcmp(a, "--wg") || !strcmp(a, "--chunk")) {
            char *end;
            unsigned long x = strtoul(v, &end, 10);
            if (*end || end == v || x > 1u << 20) {
                fprintf(stderr, "nnxr bench forces: %s: expected a count, got '%s'\n", a, v);
                return 2;
            }
            *(!strcmp(a, "--ppi") ? &o->ppi : !strcmp(a, "--wg") ? &o->wg : &o->chunk) =
                (uint32_t)x;
        } else {
            fprintf(stderr, "nnxr bench forces: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (takes)
            i++;
    }
    return -1;
}

static float gauss(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    uint32_t y = x;
    y ^= y << 13, y ^= y >> 17, y ^= y << 5;
    *s = y;
    float u = ((float)(x >> 8) + 1.0f) / 16777217.0f, v = (float)(y >> 8) / 16777216.0f;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/* A cloud of n points set up for timing: labels, warm-up steps, and the step count that
 * fills the target time (chosen from the last warm-up step). */
typedef struct timed_cloud {
    nnxr_cloud *c;
    nnxr_recorder *rec;
    nnxr_buffer *pred;
    nnxr_cloud_params p;
} timed_cloud;

static void close_cloud(nnxr_gpu *gpu, timed_cloud *t)
{
    nnxr_recorder_destroy(t->rec);
    nnxr_buffer_destroy(gpu, t->pred);
    nnxr_cloud_destroy(t->c);
    *t = (timed_cloud){0};
}

static bool open_cloud(nnxr_gpu *gpu, const bench_opts *o, uint32_t n, timed_cloud *t,
                       result *r, nnxr_error *err)
{
    *t = (timed_cloud){.p = nnxr_cloud_params_default()};
    nnxr_cloud_desc desc = {.n = n, .classes = 10, .shape = o->shape,
                            .points_per_invocation = o->ppi, .workgroup = o->wg,
                            .chunk = o->chunk, .plain_loads = o->plain_loads};
    if (!nnxr_cloud_create(gpu, &desc, &t->c, err))
        return false;
    float *p4 = calloc((size_t)n, 16);
    int32_t *labels = malloc((size_t)n * 4);
    bool ok = p4 && labels;
    if (!ok)
        nnxr_fail(err, "out of memory");
    uint32_t seed = 12345;
    for (uint32_t i = 0; ok && i < n; i++) {
        for (int a = 0; a < 3; a++)
            p4[4 * i + a] = 0.6f * gauss(&seed);
        labels[i] = (int32_t)(i % 11) - 1;
    }
    ok = ok && nnxr_cloud_upload(t->c, p4, NULL, p4, err);
    nnxr_buffer_desc bd = {.name = "bench.labels", .kind = NNXR_BUFFER_DEVICE,
                           .size = (VkDeviceSize)n * 4};
    ok = ok && nnxr_buffer_create(gpu, &bd, &t->pred, err) &&
         nnxr_buffer_upload(gpu, t->pred, 0, labels, (VkDeviceSize)n * 4, err) &&
         nnxr_recorder_create(gpu, 0, &t->rec, err) &&
         nnxr_cloud_bind_predictions(t->c, t->pred, err) && nnxr_recorder_begin(t->rec, err) &&
         nnxr_cloud_record_machine_labels(t->c, t->rec, err) && nnxr_recorder_run(t->rec, err) &&
         nnxr_cloud_bind_predictions(t->c, NULL, err);
    free(p4);
    free(labels);
    /* The first step pays for first use (page faults, the device's threads starting): it
     * took 5× a later one at n = 4,096 on lavapipe, which made rounds 5× too short. The
     * step count comes from the second. */
    ok = ok && nnxr_cloud_step(t->c, &t->p, 1, err);
    double t0 = now();
    ok = ok && nnxr_cloud_step(t->c, &t->p, 1, err);
    double warm = now() - t0;
    if (ok) {
        r->n = n;
        r->steps = (uint32_t)fmin(1000.0, fmax(1.0, ceil(o->seconds / fmax(warm, 1e-6))));
        r->chunk = nnxr_cloud_chunk(t->c);
        r->dispatches = nnxr_cloud_dispatches_per_step(t->c);
        r->ppi = nnxr_cloud_points_per_invocation(t->c);
        r->gpu_bytes = nnxr_cloud_gpu_bytes(t->c) + bd.size;
    } else {
        close_cloud(gpu, t);
    }
    return ok;
}

/* One round: r->steps steps in one submission; wall and CPU seconds. */
static bool run_cloud(timed_cloud *t, uint32_t steps, double *secs, double *cpu,
                      nnxr_error *err)
{
    if (!nnxr_recorder_begin(t->rec, err) ||
        !nnxr_cloud_record_steps(t->c, t->rec, &t->p, steps, err))
        return false;
    double t0 = now(), c0 = cpu_now();
    bool ok = nnxr_recorder_run(t->rec, err);
    *secs = now() - t0;
    *cpu = cpu_now() - c0;
    return ok;
}

/* What a baseline printed (its last line holding "pairs_per_s"); fields absent = −1. */
typedef struct baseline {
    double pairs_per_s, seconds, cpu_seconds, threads;
} baseline;

static double json_field(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

static bool run_baseline(const char *cmd, baseline *b, nnxr_error *err)
{
    b->pairs_per_s = b->seconds = b->cpu_seconds = b->threads = -1;
    FILE *f = popen(cmd, "r");
    if (!f)
        return nnxr_fail(err, "cannot run '%s'", cmd);
    char line[1024], last[1024] = "";
    while (fgets(line, sizeof line, f))
        if (strstr(line, "pairs_per_s"))
            snprintf(last, sizeof last, "%s", line);
    int status = pclose(f);
    b->pairs_per_s = json_field(last, "pairs_per_s");
    if (status != 0 || !(b->pairs_per_s > 0))
        return nnxr_fail(err, "'%s' failed (exit status %d) or printed no pairs_per_s", cmd,
                         status);
    b->seconds = json_field(last, "seconds");
    b->cpu_seconds = json_field(last, "cpu_seconds");
    b->threads = json_field(last, "threads");
    return true;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (v < 0 || !isfinite(v))
        fputs("null", f);
    else
        fprintf(f, "%.6g", v);
}

/* The index of the median of v[0..count) (the lower one of an even count). */
static uint32_t median_index(const double *v, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        uint32_t below = 0, equal_before = 0;
        for (uint32_t j = 0; j < count; j++) {
            below += v[j] < v[i];
            equal_before += j < i && v[j] == v[i];
        }
        if (below + equal_before == (count - 1u) / 2u)
            return i;
    }
    return 0;
}

int nnxr_bench_forces(int argc, char **argv)
{
    bench_opts o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char exe_dir[1024] = ".";
    nnxr_exe_dir(exe_dir, sizeof exe_dir);
    char ref[1200];
    if (o.ref)
        snprintf(ref, sizeof ref, "%s", o.ref);
    else
        snprintf(ref, sizeof ref, "%s/forces_ref", exe_dir);
    bool use_ref = !o.no_ref;
    if (use_ref && access(ref, X_OK) != 0) {
        fprintf(stderr, "nnxr bench forces: C reference '%s' not found or not executable "
                "(build the forces_ref target, or pass --ref PATH or --no-ref)\n", ref);
        return 1;
    }
    char ref256[1200];
    if (o.ref256)
        snprintf(ref256, sizeof ref256, "%s", o.ref256);
    else
        snprintf(ref256, sizeof ref256, "%s/forces_ref_256", exe_dir);
    bool use_ref256 = use_ref && access(ref256, X_OK) == 0;
    if (use_ref && o.ref256 && !use_ref256) {
        fprintf(stderr, "nnxr bench forces: --ref-256 '%s' not found or not executable\n",
                ref256);
        return 1;
    }

    /* The C reference's OpenMP threads bound to CPUs, as nnxr pins a CPU device's workers. */
    const char *omp_bind = getenv("OMP_PROC_BIND") ? getenv("OMP_PROC_BIND") : "true";
    const char *omp_env = getenv("OMP_PROC_BIND") ? "" : "OMP_PROC_BIND=true ";
    nnxr_gpu_options go = {.device = o.device, .leave_cpu_workers = o.no_pin};
    nnxr_gpu *gpu = NULL;
    nnxr_error err;
    if (!nnxr_gpu_create(&go, &gpu, &err)) {
        fprintf(stderr, "nnxr bench forces: %s\n", err.message);
        return 1;
    }
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    result res[MAX_SIZES];
    memset(res, 0, sizeof res);
    uint64_t peak_rss_kib = 0, peak_gpu = 0;
    uint32_t largest = 0;
    nnxr_cloud_shape shape = o.shape;
    uint32_t ppi = 0, wg = 0;
    {
        /* The resolved shape, for the report. */
        nnxr_cloud_desc d = {.n = 64, .classes = 1, .shape = o.shape,
                             .points_per_invocation = o.ppi, .workgroup = o.wg};
        nnxr_cloud *c = NULL;
        if (nnxr_cloud_create(gpu, &d, &c, &err)) {
            shape = nnxr_cloud_get_shape(c);
            ppi = nnxr_cloud_points_per_invocation(c);
            wg = nnxr_cloud_workgroup(c);
            nnxr_cloud_destroy(c);
        }
    }
    for (uint32_t k = 0; k < o.size_count; k++) {
        result *r = &res[k];
        r->ref_pairs_per_s = -1;
        r->ref256_pairs_per_s = -1;
        r->ref_seconds = -1;
        r->ref_cpu_seconds = -1;
        r->torch_pairs_per_s = -1;
        r->ratio_c = r->ratio_c256 = -1;
        r->rounds = o.rounds;
        timed_cloud t;
        if (!open_cloud(gpu, &o, o.sizes[k], &t, r, &err)) {
            fprintf(stderr, "nnxr bench forces: n = %u: %s\n", o.sizes[k], err.message);
            nnxr_gpu_destroy(gpu);
            return 1;
        }
        double secs[MAX_ROUNDS], cpu[MAX_ROUNDS];
        double c[MAX_ROUNDS], ratio_c[MAX_ROUNDS], c256[MAX_ROUNDS], ratio_c256[MAX_ROUNDS];
        baseline cb[MAX_ROUNDS];
        uint32_t n_c = 0, n_c256 = 0;
        for (uint32_t q = 0; q < o.rounds; q++) {
            r->round_c[q] = r->round_c256[q] = r->round_c_cpus[q] = -1;
            if (!run_cloud(&t, r->steps, &secs[q], &cpu[q], &err)) {
                fprintf(stderr, "nnxr bench forces: n = %u: %s\n", o.sizes[k], err.message);
                close_cloud(gpu, &t);
                nnxr_gpu_destroy(gpu);
                return 1;
            }
            r->round_pairs[q] = (double)r->n * r->n * r->steps / secs[q];
            r->round_cpus[q] = cpu[q] / secs[q];
            /* The baselines run while our device is idle, with the same time budget. */
            double per_step = secs[q] / r->steps;
            uint32_t ref_steps = (uint32_t)fmax(1.0, fmin(1000.0, ceil(o.seconds /
                                                                       fmax(per_step / 2.0,
                                                                            1e-6))));
            char cmd[1600];
            if (use_ref) {
                snprintf(cmd, sizeof cmd, "%s'%s' %u %u", omp_env, ref, r->n, ref_steps);
                baseline b;
                if (run_baseline(cmd, &b, &err)) {
                    r->round_c[q] = b.pairs_per_s;
                    if (b.cpu_seconds >= 0 && b.seconds > 0)
                        r->round_c_cpus[q] = b.cpu_seconds / b.seconds;
                    cb[n_c] = b;
                    c[n_c] = b.pairs_per_s;
                    ratio_c[n_c++] = r->round_pairs[q] / b.pairs_per_s;
                } else {
                    fprintf(stderr, "nnxr bench forces: C reference: %s\n", err.message);
                }
            }
            if (use_ref256 && info->is_cpu) {
                snprintf(cmd, sizeof cmd, "%s'%s' %u %u", omp_env, ref256, r->n, ref_steps);
                baseline b;
                if (run_baseline(cmd, &b, &err)) {
                    r->round_c256[q] = c256[n_c256] = b.pairs_per_s;
                    ratio_c256[n_c256++] = r->round_pairs[q] / b.pairs_per_s;
                } else {
                    fprintf(stderr, "nnxr bench forces: C reference (256-bit): %s\n",
                            err.message);
                }
            }
        }
        close_cloud(gpu, &t);
        uint32_t m = median_index(secs, o.rounds);
        r->seconds = secs[m];
        r->cpu_seconds = cpu[m];
        r->pairs_per_s = r->round_pairs[m];
        if (n_c) {
            const baseline *b = &cb[median_index(c, n_c)];
            r->ref_pairs_per_s = b->pairs_per_s;
            r->ref_threads = b->threads > 0 ? (uint32_t)b->threads : 0;
            r->ref_seconds = b->seconds;
            r->ref_cpu_seconds = b->cpu_seconds;
            r->ratio_c = ratio_c[median_index(ratio_c, n_c)];
        }
        if (n_c256) {
            r->ref256_pairs_per_s = c256[median_index(c256, n_c256)];
            r->ratio_c256 = ratio_c256[median_index(ratio_c256, n_c256)];
        }
        if (o.sizes[k] >= largest) {
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            largest = o.sizes[k];
            peak_rss_kib = (uint64_t)ru.ru_maxrss;
            peak_gpu = r->gpu_bytes;
        }
        char cmd[1600];
        if (o.torch) {
            const char *py = o.python ? o.python
                                      : (access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
                                                                               : "python3");
            snprintf(cmd, sizeof cmd, "'%s' '%s' --n %u --seconds %g", py, o.torch, r->n,
                     o.seconds);
            baseline b;
            if (run_baseline(cmd, &b, &err))
                r->torch_pairs_per_s = b.pairs_per_s;
            else
                fprintf(stderr, "nnxr bench forces: PyTorch: %s\n", err.message);
        }
        if (!o.json)
            fprintf(stderr, "n = %u done\n", r->n);
    }

    /* Arithmetic intensity of the kernel as it reads memory: the tile shape loads one vec4
     * per j per workgroup (16 B shared by `wg` points), the block shape one vec4 per j per
     * invocation (shared by `ppi` points in registers; on a CPU device from a uniform
     * buffer, so one gather serves a vector's lanes). */
    uint32_t tile_wg = o.wg ? o.wg : 128;
    double bytes_per_pair_tiles = 16.0 / tile_wg;
    double flop_per_byte_tiles = FLOP_PER_PAIR / bytes_per_pair_tiles;
    /* The real-GPU goal and what it asks of the tile shape: its instruction rates, and its
     * occupancy, which n bounds (one invocation per point; a workgroup holds a vec4 of
     * shared memory per invocation and each invocation a few live values). */
    double goal_pairs = (double)GOAL_POINTS * GOAL_POINTS * GOAL_STEPS_PER_S;
    double goal_flops = goal_pairs * FLOP_PER_PAIR;
    double goal_fp32 = goal_pairs * TILE_FP32_PER_PAIR, goal_sfu = goal_pairs * TILE_SFU_PER_PAIR;
    uint32_t goal_groups = (GOAL_POINTS + tile_wg - 1) / tile_wg;
    uint32_t goal_subgroups32 = (GOAL_POINTS + 31) / 32;

    const char *shape_name = shape == NNXR_CLOUD_SHAPE_BLOCK   ? "block"
                             : shape == NNXR_CLOUD_SHAPE_PAIRS ? "pairs"
                                                               : "tiles";
    if (o.json) {
        FILE *f = stdout;
        fprintf(f, "{\"bench\": \"forces\", \"units\": {\"pairs_per_s\": \"pair interactions "
                   "per second (n^2 per step)\", \"peak_rss\": \"bytes\", \"gpu_buffers\": "
                   "\"bytes\"}, \"rounds\": %u, \"device\": {\"name\": ", o.rounds);
        json_str(f, info->properties.deviceName);
        fprintf(f, ", \"is_cpu\": %s, \"shape\": \"%s\", \"points_per_invocation\": %u, "
                   "\"workgroup\": %u, \"cpu_workers\": %u, \"cpu_workers_pinned\": %s, "
                   "\"worker_cpus\": [",
                info->is_cpu ? "true" : "false", shape_name, ppi, wg, info->cpu_workers,
                info->cpu_workers_pinned ? "true" : "false");
        for (uint32_t w = 0; w < info->cpu_workers; w++)
            fprintf(f, "%s%d", w ? ", " : "", info->cpu_worker_cpu[w]);
        fputs("], \"cpu_workers_note\": ", f);
        json_str(f, info->cpu_workers_note);
        fputs("}, \"baseline\": {\"c_omp_proc_bind\": ", f);
        json_str(f, omp_bind);
        fputs(", \"c_reference\": ", f);
        if (use_ref) {
            json_str(f, ref);
            fprintf(f, ", \"c_flags\": \"-O3 -march=native -fopenmp -fno-math-errno\"");
        } else {
            fputs("null", f);
        }
        fputs(", \"c_reference_256\": ", f);
        if (use_ref256 && info->is_cpu) {
            json_str(f, ref256);
            fprintf(f, ", \"c_256_flags\": \"-O3 -march=native -fopenmp -fno-math-errno "
                       "-mprefer-vector-width=256\"");
        } else {
            fputs("null", f);
        }
        fputs(", \"torch\": ", f);
        if (o.torch)
            json_str(f, o.torch);
        else
            fputs("null", f);
        fputs("}, \"results\": [", f);
        for (uint32_t k = 0; k < o.size_count; k++) {
            const result *r = &res[k];
            fprintf(f, "%s{\"n\": %u, \"steps\": %u, \"seconds\": %.6g, \"pairs_per_s\": ",
                    k ? ", " : "", r->n, r->steps, r->seconds);
            json_num(f, r->pairs_per_s);
            fprintf(f, ", \"steps_per_s\": ");
            json_num(f, r->steps / r->seconds);
            fprintf(f, ", \"cpu_seconds\": ");
            json_num(f, r->cpu_seconds);
            fprintf(f, ", \"pairs_per_cpu_s\": ");
            json_num(f, r->cpu_seconds > 0 ? (double)r->n * r->n * r->steps / r->cpu_seconds
                                           : -1);
            fprintf(f, ", \"chunk\": %u, \"dispatches_per_step\": %u, "
                       "\"points_per_invocation\": %u, \"c_pairs_per_s\": ",
                    r->chunk, r->dispatches, r->ppi);
            json_num(f, r->ref_pairs_per_s);
            fprintf(f, ", \"c_threads\": %u, \"ratio_vs_c\": ", r->ref_threads);
            json_num(f, r->ratio_c);
            double c_per_cpu = r->ref_cpu_seconds > 0 && r->ref_seconds > 0
                                   ? r->ref_pairs_per_s * r->ref_seconds / r->ref_cpu_seconds
                                   : -1;
            fprintf(f, ", \"c_pairs_per_cpu_s\": ");
            json_num(f, c_per_cpu);
            fprintf(f, ", \"ratio_vs_c_per_cpu_s\": ");
            json_num(f, c_per_cpu > 0 && r->cpu_seconds > 0
                            ? (double)r->n * r->n * r->steps / r->cpu_seconds / c_per_cpu
                            : -1);
            fputs(", \"c256_pairs_per_s\": ", f);
            json_num(f, r->ref256_pairs_per_s);
            fputs(", \"ratio_vs_c256\": ", f);
            json_num(f, r->ratio_c256);
            fputs(", \"torch_pairs_per_s\": ", f);
            json_num(f, r->torch_pairs_per_s);
            fputs(", \"ratio_vs_torch\": ", f);
            json_num(f, r->torch_pairs_per_s > 0 ? r->pairs_per_s / r->torch_pairs_per_s : -1);
            fputs(", \"rounds\": [", f);
            for (uint32_t q = 0; q < r->rounds; q++) {
                fprintf(f, "%s{\"pairs_per_s\": ", q ? ", " : "");
                json_num(f, r->round_pairs[q]);
                fputs(", \"c_pairs_per_s\": ", f);
                json_num(f, r->round_c[q]);
                fputs(", \"c256_pairs_per_s\": ", f);
                json_num(f, r->round_c256[q]);
                fputs(", \"cpus\": ", f);
                json_num(f, r->round_cpus[q]);
                fputs(", \"c_cpus\": ", f);
                json_num(f, r->round_c_cpus[q]);
                fputc('}', f);
            }
            fputs("]}", f);
        }
        fprintf(f, "], \"memory\": {\"n\": %u, \"peak_rss\": %llu, \"gpu_buffers\": %llu}, "
                   "\"model\": {\"flop_per_pair\": %.0f, \"tile_flop_per_byte\": %.1f, "
                   "\"goal_points\": %u, \"goal_steps_per_s\": %.0f, "
                   "\"goal_pairs_per_s\": %.4g, \"goal_flops\": %.4g, "
                   "\"tile_fp32_per_pair\": %.0f, \"tile_sfu_per_pair\": %.0f, "
                   "\"goal_fp32_per_s\": %.4g, \"goal_sfu_per_s\": %.4g, "
                   "\"tile_workgroup\": %u, \"tile_shared_bytes\": %u, "
                   "\"goal_workgroups\": %u, \"goal_subgroups_of_32\": %u}}\n",
                largest, (unsigned long long)peak_rss_kib * 1024ull,
                (unsigned long long)peak_gpu, FLOP_PER_PAIR, flop_per_byte_tiles, GOAL_POINTS,
                GOAL_STEPS_PER_S, goal_pairs, goal_flops, TILE_FP32_PER_PAIR, TILE_SFU_PER_PAIR,
                goal_fp32, goal_sfu, tile_wg, tile_wg * 16u, goal_groups, goal_subgroups32);
    } else {
        printf("nnxr bench forces — device: %s (%s), shape %s, workgroup %u\n",
               info->properties.deviceName, info->is_cpu ? "CPU" : "GPU", shape_name, wg);
        if (info->cpu_workers_pinned) {
            printf("its %u worker threads pinned to CPUs", info->cpu_workers);
            for (uint32_t w = 0; w < info->cpu_workers; w++)
                printf("%s%d", w ? ", " : " ", info->cpu_worker_cpu[w]);
        } else if (info->is_cpu) {
            printf("its %u worker threads not pinned: %s", info->cpu_workers,
                   info->cpu_workers_note);
        }
        if (info->is_cpu)
            printf("; the C reference's OpenMP threads: OMP_PROC_BIND=%s\n", omp_bind);
        bool show256 = use_ref256 && info->is_cpu;
        printf("%8s %5s %7s %10s %12s %12s %8s ", "n", "ppi", "steps/s", "dispatches",
               "G pairs/s", "C G pairs/s", "ratio");
        if (show256)
            printf("%12s %8s ", "C256 G/s", "ratio");
        printf("%12s %8s\n", "torch G/s", "ratio");
        for (uint32_t k = 0; k < o.size_count; k++) {
            const result *r = &res[k];
            printf("%8u %5u %7.2f %10u %12.3f ", r->n, r->ppi, r->steps / r->seconds,
                   r->dispatches,
                   r->pairs_per_s / 1e9);
            if (r->ref_pairs_per_s > 0)
                printf("%12.3f %8.2f ", r->ref_pairs_per_s / 1e9, r->ratio_c);
            else
                printf("%12s %8s ", "-", "-");
            if (show256 && r->ref256_pairs_per_s > 0)
                printf("%12.3f %8.2f ", r->ref256_pairs_per_s / 1e9, r->ratio_c256);
            else if (show256)
                printf("%12s %8s ", "-", "-");
            if (r->torch_pairs_per_s > 0)
                printf("%12.3f %8.2f\n", r->torch_pairs_per_s / 1e9,
                       r->pairs_per_s / r->torch_pairs_per_s);
            else
                printf("%12s %8s\n", "-", "-");
        }
        printf("medians of %u rounds (the shader, then the C builds, in turn); a ratio is the "
               "median of the rounds' ratios\n", o.rounds);
        for (uint32_t k = 0; k < o.size_count && o.rounds > 1; k++) {
            const result *r = &res[k];
            if (r->ref_pairs_per_s <= 0)
                continue;
            printf("  n = %u, ratio to C by round:", r->n);
            for (uint32_t q = 0; q < r->rounds; q++)
                if (r->round_c[q] > 0)
                    printf(" %.2f", r->round_pairs[q] / r->round_c[q]);
            printf("\n  n = %u, CPUs busy by round, shader / C:", r->n);
            for (uint32_t q = 0; q < r->rounds; q++)
                if (r->round_c_cpus[q] > 0)
                    printf(" %.1f/%.1f", r->round_cpus[q], r->round_c_cpus[q]);
            printf("\n");
        }
        if (show256)
            printf("C256: the C reference built for 256-bit vectors (-mprefer-vector-width=256),"
                   " the width this CPU device's shaders run at\n");
        printf("peak memory at n = %u: maxrss %.1f MiB, GPU buffers %.2f MiB\n", largest,
               peak_rss_kib / 1024.0, peak_gpu / 1048576.0);
        printf("kernel: %.0f FLOP per pair; the tile shape reads %.3f B per pair from memory "
               "(%.0f FLOP/B); %u points at %.0f steps/s = %.3g pairs/s = %.3g FLOP/s\n",
               FLOP_PER_PAIR, bytes_per_pair_tiles, flop_per_byte_tiles, GOAL_POINTS,
               GOAL_STEPS_PER_S, goal_pairs, goal_flops);
        printf("real-GPU goal, the tile shape: %.3g FP32 instructions/s (%.0f a pair) and %.3g "
               "inverse square roots/s; its %.2f MB of positions a step are no limit at %.0f "
               "FLOP/B, so it is compute-bound: %.0f %% of the FP32 peak of a 10 TFLOP/s GPU\n"
               "  occupancy is bounded by n, not the kernel: %u workgroups of %u with %u B of "
               "shared memory each, %u subgroups of 32 (%.1f per multiprocessor on a 128-SM "
               "GPU), enough to hide the shared-memory and special-function latency\n",
               goal_fp32, TILE_FP32_PER_PAIR, goal_sfu, GOAL_POINTS * 16.0 / 1e6,
               flop_per_byte_tiles, 100.0 * goal_flops / 10e12, goal_groups, tile_wg,
               tile_wg * 16u, goal_subgroups32, goal_subgroups32 / 128.0);
    }
    /* With validation on (NNXR_VALIDATE=1, as in the tests) a message is a failure. */
    uint32_t vmsgs = nnxr_gpu_validation_count(gpu);
    nnxr_gpu_destroy(gpu);
    if (vmsgs) {
        fprintf(stderr, "nnxr bench forces: %u validation messages\n", vmsgs);
        return 1;
    }
    return 0;
}
