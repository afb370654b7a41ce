/* app/cli_bench_train.c — `nnxr bench train`: training throughput on the chosen Vulkan device
 * for the four models (mlp 784-128-128-10 b64, tiny 784-8-8-10 b32, vae 784-256-3 with a
 * classifier b128, cnn conv16-conv32-pool-fc64-fc64-10 b64): samples/s, steps/s, GFLOP/s and
 * the share of the device's estimated peak; the time to evaluate 500 validation samples of a
 * 784-16-16-10 mlp (AIive's drag re-evaluates at hand speed); optionally test accuracies after
 * the epochs; and PyTorch's figures from tests/bench/torch_baseline.py measured in the
 * same run, with the ratio nnxr/torch. A table, or one JSON object with --json. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/bench.h"
#include "core/fs.h"
#include "core/status.h"
#include "data/dataset.h"
#include "gpu/gpu.h"
#include "nn/trainer.h"

#define MODELS 4

static const char *const model_names[MODELS] = {"mlp", "tiny", "vae", "cnn"};

#define PROFILE_ROWS 32
#define PROFILE_RUNS 5

typedef struct bench_opts {
    bool json;
    double seconds;
    bool want[MODELS];
    const char *device;
    bool no_torch;
    const char *torch_script;
    const char *python;
    bool accuracy;
    bool eval;
    bool profile;
} bench_opts;

typedef struct model_result {
    bool ran;
    char error[NNXR_ERROR_MAX + 16];
    uint32_t batch;
    double samples_s, steps_s, gflops, pct_peak, ms_step;
    double dispatches;
    bool fused;
    double torch_samples_s, torch_steps_s;
    char torch_setting[48];
    double accuracy;  /* test accuracy after `epochs` (--accuracy) */
    uint32_t epochs;
    double acc_seconds;
    nnxr_train_profile_row profile[PROFILE_ROWS]; /* --profile: one step, call by call */
    uint32_t profile_rows;
    uint32_t profile_runs;                        /* submissions averaged */
} model_result;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int usage(FILE *f, int code)
{
    fprintf(f,
            "usage: nnxr bench train [options]\n"
            "\n"
            "Training throughput of mlp 784-128-128-10 (batch 64), tiny 784-8-8-10 (32),\n"
            "vae 784-256-3 + classifier (128) and cnn conv16-conv32-pool-fc64-fc64-10 (64) on the\n"
            "Vulkan device, next to PyTorch on the CPU (tests/bench/torch_baseline.py, run in the\n"
            "same run when python3-torch is installed), and the time of evaluating 500 validation\n"
            "samples of a 784-16-16-10 mlp.\n"
            "\n"
            "options:\n"
            "  --models LIST       some of mlp,tiny,vae,cnn (default all)\n"
            "  --seconds S         length of each of the 3 measuring windows per model, the best\n"
            "                      kept (default 3; PyTorch keeps the best of its 3 settings)\n"
            "  --accuracy          also train mlp 3 epochs and cnn 1 epoch on Fashion-MNIST and\n"
            "                      report test accuracy (minutes on a CPU device)\n"
            "  --no-eval           skip the evaluation timing\n"
            "  --profile           also time one step of each model dispatch by dispatch\n"
            "                      (device timestamps, the mean of %d submissions), by call\n"
            "  --no-torch          skip the PyTorch baseline\n"
            "  --torch-script PATH the baseline script (default: found beside the sources)\n"
            "  --python PATH       python3 with torch (default: $NNXR_PYTHON3, /usr/bin/python3,\n"
            "                      python3)\n"
            "  --device NAME|INDEX the Vulkan device\n"
            "  --json              one JSON object on stdout\n"
            "  --help              this text\n",
            PROFILE_RUNS);
    return code;
}

static int parse(int argc, char **argv, bench_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seconds = 3.0;
    o->eval = true;
    for (int m = 0; m < MODELS; m++)
        o->want[m] = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return usage(stdout, -1);
        if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--accuracy")) {
            o->accuracy = true;
        } else if (!strcmp(a, "--no-torch")) {
            o->no_torch = true;
        } else if (!strcmp(a, "--profile")) {
            o->profile = true;
        } else if (!strcmp(a, "--no-eval")) {
            o->eval = false;
        } else if (!strcmp(a, "--seconds") || !strcmp(a, "--models") || !strcmp(a, "--device") ||
                   !strcmp(a, "--torch-script") || !strcmp(a, "--python")) {
            if (!v) {
                fprintf(stderr, "nnxr bench train: %s needs a value\n", a);
                return 2;
            }
            i++;
            if (!strcmp(a, "--seconds")) {
                char *end;
                errno = 0;
                o->seconds = strtod(v, &end);
                if (errno || *end || !(o->seconds > 0) || o->seconds > 3600) {
                    fprintf(stderr, "nnxr bench train: --seconds expects a number in (0, 3600], "
                            "got '%s'\n", v);
                    return 2;
                }
            } else if (!strcmp(a, "--models")) {
                for (int m = 0; m < MODELS; m++)
                    o->want[m] = false;
                char buf[256];
                snprintf(buf, sizeof buf, "%s", v);
                for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                    int found = -1;
                    for (int m = 0; m < MODELS; m++)
                        if (!strcmp(tok, model_names[m]))
                            found = m;
                    if (found < 0) {
                        fprintf(stderr, "nnxr bench train: unknown model '%s' (mlp, tiny, vae, "
                                "cnn)\n", tok);
                        return 2;
                    }
                    o->want[found] = true;
                }
            } else if (!strcmp(a, "--device")) {
                o->device = v;
            } else if (!strcmp(a, "--torch-script")) {
                o->torch_script = v;
            } else {
                o->python = v;
            }
        } else {
            fprintf(stderr, "nnxr bench train: unknown argument '%s' (see --help)\n", a);
            return 2;
        }
    }
    return 0;
}

/* ---- models ---- */

static nnxr_train_config model_config(int m, nnxr_nn *nn)
{
    nnxr_train_config c = nnxr_train_config_default();
    c.nn = nn;
    c.seed = 1;
    c.eval_each_epoch = false;
    c.probe_count = 0;
    c.model.act = NNXR_NN_RELU;
    switch (m) {
    case 0:
    case 1:
        c.model.kind = NNXR_MODEL_MLP;
        c.model.n_hidden = 2;
        c.model.hidden[0] = c.model.hidden[1] = m == 0 ? 128 : 8;
        c.batch = m == 0 ? 64 : 32;
        c.lr = 0.05;
        c.momentum = 0.9;
        break;
    case 2:
        c.model.kind = NNXR_MODEL_VAE;
        c.model.latent = 3;
        c.model.n_enc = c.model.n_dec = c.model.n_cls = 1;
        c.model.enc[0] = c.model.dec[0] = 256;
        c.model.cls[0] = 32;
        c.model.beta = 1.0;
        c.model.cls_weight = 1.0;
        c.optimizer = NNXR_NN_ADAM;
        c.lr = 1e-3;
        c.batch = 128;
        break;
    default: {
        static const char *const words[] = {"conv16", "conv32", "maxpool", "fc64", "fc64"};
        c.model.kind = NNXR_MODEL_CNN;
        nnxr_model_cnn_words(words, 5, NNXR_NN_RELU, c.model.layers, &c.model.n_layers, NULL);
        c.optimizer = NNXR_NN_ADAM;
        c.lr = 1e-3;
        c.batch = 64;
    }
    }
    return c;
}

/* Roughly the device's fp32 peak when it is a CPU: cores x clock x 32 flops a cycle (two
 * 8-lane FMA units, what llvmpipe's 256-bit code can issue). 0 when unknown. */
static double cpu_peak_gflops(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return 0;
    char line[512];
    double mhz = 0;
    int cores = 0;
    while (fgets(line, sizeof line, f)) {
        double v;
        if (!strncmp(line, "processor", 9))
            cores++;
        else if (sscanf(line, "cpu MHz : %lf", &v) == 1 || sscanf(line, "cpu MHz\t: %lf", &v) == 1)
            mhz = v;
    }
    fclose(f);
    return cores && mhz > 0 ? cores * mhz * 1e-3 * 32.0 : 0;
}

#define BENCH_WINDOWS 3

static void bench_model(nnxr_gpu *gpu, nnxr_nn *nn, int m, const nnxr_train_data *data,
                        double seconds, double peak, model_result *r)
{
    nnxr_train_config c = model_config(m, nn);
    nnxr_trainer *t = NULL;
    nnxr_error err;
    r->batch = c.batch;
    if (!nnxr_trainer_create(gpu, &c, data, &t, &err)) {
        snprintf(r->error, sizeof r->error, "%s", err.message);
        return;
    }
    /* Find a submission size that takes >= 0.25 s (the first run of each size records it). */
    uint64_t n = 1;
    bool ok = true;
    for (;;) {
        ok = nnxr_trainer_steps(t, n, NULL, &err);
        double t0 = now_s();
        ok = ok && nnxr_trainer_steps(t, n, NULL, &err);
        double dt = now_s() - t0;
        if (!ok || dt >= 0.25 || n >= 1024)
            break;
        n *= 2;
    }
    /* The best of BENCH_WINDOWS windows of `seconds`: PyTorch's baseline keeps the best of
     * its thread settings, each measured as long, and a shared machine's load comes and goes. */
    double best = 0;
    for (int w = 0; ok && w < BENCH_WINDOWS; w++) {
        uint64_t steps = 0;
        double t0 = now_s(), dt = 0;
        while (ok && dt < seconds) {
            nnxr_train_report rep;
            ok = nnxr_trainer_steps(t, n, &rep, &err);
            steps += rep.steps;
            dt = now_s() - t0;
            if (ok && rep.diverged)
                ok = nnxr_fail(&err, "training diverged (NaN or Inf): the figures would be of "
                               "restored weights");
        }
        if (ok && steps / dt > best)
            best = steps / dt;
    }
    if (!ok) {
        snprintf(r->error, sizeof r->error, "%s", err.message);
        nnxr_trainer_destroy(t);
        return;
    }
    const nnxr_model *model = nnxr_trainer_model(t);
    double flops_step = 6.0 * nnxr_model_forward_macs(model) * c.batch;
    r->ran = true;
    r->steps_s = best;
    r->samples_s = r->steps_s * c.batch;
    r->ms_step = 1e3 / r->steps_s;
    r->gflops = r->steps_s * flops_step * 1e-9;
    r->pct_peak = peak > 0 ? 100.0 * r->gflops / peak : NAN;
    r->dispatches = nnxr_trainer_step_dispatches(t);
    r->fused = nnxr_trainer_fused(t);
    nnxr_trainer_destroy(t);
}

/* One step of the model timed dispatch by dispatch: a trainer of its own with profiling on
 * (so the measured windows carry no timestamps), the mean of PROFILE_RUNS one-step
 * submissions after one that compiles. */
static void profile_model(nnxr_gpu *gpu, nnxr_nn *nn, int m, const nnxr_train_data *data,
                          model_result *r)
{
    nnxr_train_config c = model_config(m, nn);
    c.profile = true;
    nnxr_trainer *t = NULL;
    nnxr_error err;
    if (!nnxr_trainer_create(gpu, &c, data, &t, &err) || !nnxr_trainer_steps(t, 1, NULL, &err)) {
        snprintf(r->error, sizeof r->error, "profile: %s", err.message);
        nnxr_trainer_destroy(t);
        return;
    }
    for (uint32_t i = 0; i < PROFILE_RUNS; i++) {
        nnxr_train_profile_row rows[PROFILE_ROWS];
        if (!nnxr_trainer_steps(t, 1, NULL, &err)) {
            snprintf(r->error, sizeof r->error, "profile: %s", err.message);
            break;
        }
        /* The same recording each time: the same calls in the same order. */
        uint32_t n = nnxr_trainer_profile(t, rows, PROFILE_ROWS);
        if (i == 0) {
            memcpy(r->profile, rows, n * sizeof rows[0]);
            for (uint32_t k = 0; k < n; k++)
                r->profile[k].ms = 0;
            r->profile_rows = n;
        }
        for (uint32_t k = 0; k < n && k < r->profile_rows; k++)
            r->profile[k].ms += rows[k].ms / PROFILE_RUNS;
        r->profile_runs++;
    }
    nnxr_trainer_destroy(t);
}

/* Test accuracy after the epochs: mlp 3 (SGD), cnn 1 (Adam), on the whole training
 * file. */
static void bench_accuracy(nnxr_gpu *gpu, nnxr_nn *nn, int m, const nnxr_train_data *data,
                           model_result *r)
{
    nnxr_train_config c = model_config(m, nn);
    c.epochs = m == 0 ? 3 : 1;
    /* Three epochs of SGD with momentum 0.9 settle better at lr 0.02 than at the throughput
     * runs' 0.05 (85.9 % against 86.8 % test accuracy here); the step costs the same. */
    if (m == 0)
        c.lr = 0.02;
    nnxr_trainer *t = NULL;
    nnxr_error err;
    r->epochs = (uint32_t)c.epochs;
    double t0 = now_s();
    nnxr_eval_result e;
    if (!nnxr_trainer_create(gpu, &c, data, &t, &err) ||
        !nnxr_trainer_epochs(t, c.epochs, NULL, &err) ||
        !nnxr_trainer_evaluate(t, NNXR_SET_TEST, &e, &err)) {
        snprintf(r->error, sizeof r->error, "accuracy: %s", err.message);
        r->accuracy = NAN;
    } else {
        r->accuracy = e.accuracy;
    }
    r->acc_seconds = now_s() - t0;
    nnxr_trainer_destroy(t);
}

/* The 784-16-16-10 mlp's validation pass over 500 samples: median of 21 (quick: loss and
 * accuracy, what the EVALUATE command runs; else with every output plugins read). */
static double bench_eval(nnxr_gpu *gpu, nnxr_nn *nn, const nnxr_train_data *full, bool quick,
                         char *why, size_t why_n)
{
    nnxr_train_data d = *full;
    d.val = d.test;
    if (d.val.count > 500)
        d.val.count = 500;
    d.test.count = 0;
    nnxr_train_config c = model_config(0, nn);
    c.model.hidden[0] = c.model.hidden[1] = 16;
    c.probe_count = 32;
    nnxr_trainer *t = NULL;
    nnxr_error err;
    double ms[21];
    int n = 0;
    if (nnxr_trainer_create(gpu, &c, &d, &t, &err) && nnxr_trainer_steps(t, 20, NULL, &err)) {
        for (; n < 21; n++) {
            double t0 = now_s();
            if (!(quick ? nnxr_trainer_evaluate_quick(t, NNXR_SET_VAL, NULL, &err)
                        : nnxr_trainer_evaluate(t, NNXR_SET_VAL, NULL, &err)))
                break;
            ms[n] = (now_s() - t0) * 1e3;
        }
    }
    nnxr_trainer_destroy(t);
    if (n < 21) {
        snprintf(why, why_n, "%s", err.message);
        return NAN;
    }
    /* The first run records the evaluation; the median of the rest. */
    for (int i = 1; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ms[j] < ms[i]) {
                double tmp = ms[i];
                ms[i] = ms[j];
                ms[j] = tmp;
            }
    return ms[1 + (n - 1) / 2];
}

/* ---- the PyTorch baseline ---- */

static bool find_script(const bench_opts *o, char *out, size_t n)
{
    if (o->torch_script) {
        snprintf(out, n, "%s", o->torch_script);
        return nnxr_is_file(out);
    }
    char exe[2048];
    if (!nnxr_exe_dir(exe, sizeof exe))
        return false;
    /* The build tree's share/nnxr/configs links to the sources' configs/. */
    const char *cands[] = {"%s/../share/nnxr/configs/../tests/bench/torch_baseline.py",
                           "%s/../../tests/bench/torch_baseline.py",
                           "%s/../tests/bench/torch_baseline.py"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        snprintf(out, n, cands[i], exe);
        char *real = realpath(out, NULL);
        if (real) {
            snprintf(out, n, "%s", real);
            free(real);
            return true;
        }
    }
    return false;
}

static const char *find_python(const bench_opts *o)
{
    static char cmd[512];
    const char *env = getenv("NNXR_PYTHON3");
    const char *cands[4] = {o->python, env, "/usr/bin/python3", "python3"};
    for (int i = 0; i < 4; i++) {
        if (!cands[i] || !*cands[i])
            continue;
        snprintf(cmd, sizeof cmd, "'%s' -c 'import torch' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0)
            return cands[i];
    }
    return NULL;
}

/* PyTorch's figures for one model, measured right after ours: figures taken minutes apart on
 * a shared machine drift apart with its load. */
static void run_torch(const char *py, const char *script, const bench_opts *o, int model,
                      model_result *res)
{
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "'%s' '%s' --tsv --models %s --seconds %g", py, script,
             model_names[model], o->seconds);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char name[16], setting[48] = "";
        double sps, stps;
        if (sscanf(line, "%15[^\t]\t%lf\t%lf\t%47[^\n]", name, &sps, &stps, setting) < 3)
            continue;
        for (int m = 0; m < MODELS; m++)
            if (!strcmp(name, model_names[m])) {
                res[m].torch_samples_s = sps;
                res[m].torch_steps_s = stps;
                snprintf(res[m].torch_setting, sizeof res[m].torch_setting, "%s", setting);
            }
    }
    pclose(f);
}

/* ---- output ---- */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void json_num(double v)
{
    if (isfinite(v))
        printf("%.6g", v);
    else
        printf("null");
}

int nnxr_bench_train(int argc, char **argv)
{
    bench_opts o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    nnxr_error err;
    nnxr_gpu_options go = {.app_name = "nnxr bench train", .device = o.device};
    nnxr_gpu *gpu = NULL;
    if (!nnxr_gpu_create(&go, &gpu, &err)) {
        fprintf(stderr, "nnxr bench train: %s\n", err.message);
        return 1;
    }
    const nnxr_gpu_info *gi = nnxr_gpu_get_info(gpu);
    nnxr_nn *nn = NULL;
    nnxr_nn_options no = nnxr_nn_options_default();
    if (!nnxr_nn_create(gpu, &no, &nn, &err)) {
        fprintf(stderr, "nnxr bench train: %s\n", err.message);
        nnxr_gpu_destroy(gpu);
        return 1;
    }
    /* Fashion-MNIST when installed (throughput does not depend on the values); otherwise
     * seeded noise of the same shape. */
    nnxr_image_dataset ds;
    memset(&ds, 0, sizeof ds);
    nnxr_image_dataset_options dopt = {.classes = NNXR_CLASSES_FASHION};
    bool fashion = nnxr_image_dataset_load(&dopt, &ds, &err);
    uint8_t *noise = NULL, *noise_labels = NULL;
    nnxr_train_data data;
    memset(&data, 0, sizeof data);
    data.in_c = 1;
    data.in_h = data.in_w = 28;
    data.classes = 10;
    if (fashion) {
        data.train = (nnxr_train_split){.count = ds.train.count, .u8 = ds.train.pixels,
                                        .labels = ds.train.labels};
        data.test = (nnxr_train_split){.count = ds.test.count, .u8 = ds.test.pixels,
                                       .labels = ds.test.labels};
    } else {
        uint32_t n = 20000;
        noise = malloc((size_t)n * 784);
        noise_labels = malloc(n);
        if (!noise || !noise_labels) {
            fprintf(stderr, "nnxr bench train: out of memory\n");
            return 1;
        }
        uint32_t s = 12345;
        for (size_t i = 0; i < (size_t)n * 784; i++) {
            s = s * 1664525u + 1013904223u;
            noise[i] = (uint8_t)(s >> 24);
        }
        for (uint32_t i = 0; i < n; i++)
            noise_labels[i] = (uint8_t)(i % 10);
        data.train = (nnxr_train_split){.count = n - 2000, .u8 = noise, .labels = noise_labels};
        data.test = (nnxr_train_split){.count = 2000, .u8 = noise + (size_t)(n - 2000) * 784,
                                       .labels = noise_labels + n - 2000};
        if (o.accuracy) {
            fprintf(stderr, "nnxr bench train: --accuracy needs Fashion-MNIST (%s)\n",
                    err.message);
            o.accuracy = false;
        }
    }
    char script[2048] = "";
    const char *py = NULL;
    bool torch = false;
    if (!o.no_torch) {
        if (!find_script(&o, script, sizeof script))
            fprintf(stderr, "nnxr bench train: tests/bench/torch_baseline.py not found (pass "
                    "--torch-script PATH): no PyTorch baseline\n");
        else if (!(py = find_python(&o)))
            fprintf(stderr, "nnxr bench train: no python3 with torch (apt-get install "
                    "python3-torch, or --python PATH): no PyTorch baseline\n");
        else
            torch = true;
    }
    double peak = gi->is_cpu ? cpu_peak_gflops() : 0;
    model_result res[MODELS];
    memset(res, 0, sizeof res);
    for (int m = 0; m < MODELS; m++) {
        res[m].torch_samples_s = res[m].torch_steps_s = NAN;
        res[m].accuracy = NAN;
        if (!o.want[m])
            continue;
        if (!o.json)
            fprintf(stderr, "nnxr bench train: %s ...\n", model_names[m]);
        bench_model(gpu, nn, m, &data, o.seconds, peak, &res[m]);
        if (torch) {
            if (!o.json)
                fprintf(stderr, "nnxr bench train: %s, PyTorch (%s) ...\n", model_names[m],
                        script);
            run_torch(py, script, &o, m, res);
        }
        if (o.accuracy && (m == 0 || m == 3))
            bench_accuracy(gpu, nn, m, &data, &res[m]);
        if (o.profile && res[m].ran)
            profile_model(gpu, nn, m, &data, &res[m]);
    }
    char eval_why[NNXR_ERROR_MAX + 16] = "";
    double eval_ms = o.eval ? bench_eval(gpu, nn, &data, true, eval_why, sizeof eval_why) : NAN;
    double eval_full_ms =
        o.eval ? bench_eval(gpu, nn, &data, false, eval_why, sizeof eval_why) : NAN;

    if (o.json) {
        printf("{\"benchmark\": \"train\", \"device\": ");
        json_str(gi->properties.deviceName);
        printf(", \"device_type\": \"%s\", \"gemm_config\": ", gi->is_cpu ? "cpu" : "gpu");
        json_str(nnxr_nn_gemm_config(nn));
        printf(", \"data\": \"%s\", \"seconds_per_window\": %g, \"windows_per_model\": %d, "
               "\"peak_gflops_estimate\": ", fashion ? "fashion-mnist" : "synthetic", o.seconds,
               BENCH_WINDOWS);
        json_num(peak > 0 ? peak : NAN);
        printf(", \"units\": {\"samples_per_s\": \"samples/s\", \"steps_per_s\": \"steps/s\", "
               "\"gflops\": \"GFLOP/s (6 x multiply-adds of a forward x batch per step)\", "
               "\"eval_500_ms\": \"ms per evaluation of 500 samples\"}, \"models\": {");
        bool first = true;
        for (int m = 0; m < MODELS; m++) {
            if (!o.want[m])
                continue;
            model_result *r = &res[m];
            printf("%s\"%s\": {\"batch\": %u, ", first ? "" : ", ", model_names[m], r->batch);
            first = false;
            if (!r->ran) {
                printf("\"error\": ");
                json_str(r->error);
                printf("}");
                continue;
            }
            printf("\"samples_per_s\": ");
            json_num(r->samples_s);
            printf(", \"steps_per_s\": ");
            json_num(r->steps_s);
            printf(", \"ms_per_step\": ");
            json_num(r->ms_step);
            printf(", \"gflops\": ");
            json_num(r->gflops);
            printf(", \"percent_of_peak\": ");
            json_num(r->pct_peak);
            printf(", \"dispatches_per_step\": %.2f, \"fused\": %s", r->dispatches,
                   r->fused ? "true" : "false");
            printf(", \"torch_samples_per_s\": ");
            json_num(r->torch_samples_s);
            printf(", \"torch_setting\": ");
            json_str(r->torch_setting);
            printf(", \"ratio_vs_torch\": ");
            json_num(r->samples_s / r->torch_samples_s);
            if (o.profile) {
                printf(", \"profile_runs\": %u, \"profile\": [", r->profile_runs);
                for (uint32_t k = 0; k < r->profile_rows; k++) {
                    printf("%s{\"call\": ", k ? ", " : "");
                    json_str(r->profile[k].call);
                    printf(", \"dispatches\": %u, \"ms\": ", r->profile[k].dispatches);
                    json_num(r->profile[k].ms);
                    printf("}");
                }
                printf("]");
            }
            if (o.accuracy && (m == 0 || m == 3)) {
                printf(", \"test_accuracy\": ");
                json_num(r->accuracy);
                printf(", \"epochs\": %u, \"accuracy_seconds\": ", r->epochs);
                json_num(r->acc_seconds);
                if (r->error[0]) {
                    printf(", \"accuracy_error\": ");
                    json_str(r->error);
                }
            }
            printf("}");
        }
        printf("}, \"eval_500_ms\": ");
        json_num(eval_ms);
        printf(", \"eval_500_full_ms\": ");
        json_num(eval_full_ms);
        printf(", \"torch\": %s}\n", torch ? "true" : "false");
    } else {
        printf("nnxr bench train on %s (%s, GEMM %s), %s data, best of %d windows of %.1f s "
               "per model\n", gi->properties.deviceName, gi->is_cpu ? "cpu" : "gpu", nnxr_nn_gemm_config(nn),
               fashion ? "Fashion-MNIST" : "synthetic", BENCH_WINDOWS, o.seconds);
        if (peak > 0)
            printf("estimated fp32 peak %.0f GFLOP/s (cores x clock x 32)\n", peak);
        printf("%-5s %5s %11s %9s %8s %8s %7s %6s %11s %7s\n", "model", "batch", "samples/s",
               "steps/s", "ms/step", "GFLOP/s", "% peak", "disp", "torch s/s", "ratio");
        for (int m = 0; m < MODELS; m++) {
            model_result *r = &res[m];
            if (!o.want[m])
                continue;
            if (!r->ran) {
                printf("%-5s %5u  error: %s\n", model_names[m], r->batch, r->error);
                continue;
            }
            printf("%-5s %5u %11.0f %9.1f %8.3f %8.2f %7.2f %5.1f%s %11.0f %7.2f\n",
                   model_names[m], r->batch, r->samples_s, r->steps_s, r->ms_step, r->gflops,
                   r->pct_peak, r->dispatches, r->fused ? "f" : " ", r->torch_samples_s,
                   r->samples_s / r->torch_samples_s);
        }
        for (int m = 0; m < MODELS; m++)
            if (res[m].torch_setting[0])
                printf("torch %s: %s\n", model_names[m], res[m].torch_setting);
        if (o.accuracy)
            for (int m = 0; m < MODELS; m += 3)
                printf("%s: test accuracy %.4f after %u epoch%s (%.0f s)%s%s\n", model_names[m],
                       res[m].accuracy, res[m].epochs, res[m].epochs == 1 ? "" : "s",
                       res[m].acc_seconds, res[m].error[0] ? "  " : "", res[m].error);
        for (int m = 0; o.profile && m < MODELS; m++) {
            const model_result *r = &res[m];
            if (!o.want[m] || !r->profile_rows)
                continue;
            double sum = 0;
            for (uint32_t k = 0; k < r->profile_rows; k++)
                sum += r->profile[k].ms;
            printf("%s: one step%s by call (device timestamps, mean of %u): %.3f ms\n",
                   model_names[m], r->fused ? " (the fused kernel: a whole submission)" : "",
                   r->profile_runs, sum);
            for (uint32_t k = 0; k < r->profile_rows; k++)
                printf("  %-44s %4u %9.3f ms %5.1f %%\n", r->profile[k].call,
                       r->profile[k].dispatches, r->profile[k].ms,
                       sum > 0 ? 100.0 * r->profile[k].ms / sum : 0.0);
        }
        if (o.eval) {
            if (isfinite(eval_ms))
                printf("evaluate 500 validation samples, mlp 784-16-16-10: %.2f ms (median; "
                       "loss and accuracy), %.2f ms with every output\n", eval_ms,
                       eval_full_ms);
            else
                printf("evaluate: failed: %s\n", eval_why);
        }
    }
    nnxr_image_dataset_free(&ds);
    free(noise);
    free(noise_labels);
    nnxr_nn_destroy(nn);
    nnxr_gpu_destroy(gpu);
    return 0;
}
