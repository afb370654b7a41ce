/* tests/bench/nn_profile.c — where the time of a training step goes, kernel by kernel, from
 * device timestamps: the cnn (conv16-conv32-maxpool-fc64-fc64-10, batch 64, Adam)
 * recorded call by call with a timestamp after each, and the fused tiny-MLP step (784-8-8-10,
 * batch 32, SGD) at several steps per dispatch. Data are seeded noise (the times do not depend
 * on the values). A profiling tool, not a test.
 *
 *   nn_profile [cnn] [tiny] [--reps N] [--gemm-config I]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu/gpu.h"
#include "nn/layers.h"

static nnxr_gpu *gpu;
static nnxr_error err;

#define TRY(x)                                                                  \
    do {                                                                        \
        if (!(x)) {                                                             \
            fprintf(stderr, "nn_profile: %s:%d: %s\n", __FILE__, __LINE__,      \
                    err.message);                                               \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* Process CPU time (lavapipe's threads are in-process): less disturbed by other load on the
 * machine than the wall clock. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static nnxr_buffer *buf_rand(const char *name, size_t floats, float scale, uint32_t seed)
{
    nnxr_buffer_desc d = {.name = name, .kind = NNXR_BUFFER_DEVICE, .size = floats * 4 + 256};
    nnxr_buffer *b;
    TRY(nnxr_buffer_create(gpu, &d, &b, &err));
    float *h = malloc(floats * 4 + 256);
    for (size_t i = 0; i < floats + 64; i++) {
        seed = seed * 1664525u + 1013904223u;
        h[i] = scale * ((float)(seed >> 8) / 16777216.0f - 0.5f);
    }
    TRY(nnxr_buffer_upload(gpu, b, 0, h, floats * 4 + 256, &err));
    free(h);
    return b;
}

static void report(nnxr_recorder *rec, int reps, double wall)
{
    nnxr_mark m[64];
    uint32_t n = nnxr_recorder_marks(rec, m, 64);
    double total = n ? m[n - 1].ns * 1e-6 : 0;
    printf("  %-34s %9s %6s\n", "kernel", "ms", "%");
    for (uint32_t i = 1; i < n; i++) {
        double ms = (m[i].ns - m[i - 1].ns) * 1e-6;
        printf("  %-34s %9.3f %6.1f\n", m[i].name, ms, 100 * ms / total);
    }
    printf("  %-34s %9.3f   (wall per run, best of %d: %.3f ms)\n", "total (timestamps)", total,
           reps, wall);
}

static void profile_cnn(nnxr_nn *nn, int reps)
{
    const uint32_t B = 64;
    nnxr_nn_conv c1 = {B, 1, 28, 28, 16, 3, NNXR_NN_PAD_SAME};
    nnxr_nn_conv c2 = {B, 16, 28, 28, 32, 3, NNXR_NN_PAD_SAME};
    uint32_t f0 = 32 * 14 * 14;
    nnxr_nn_dense d1 = {B, f0, 64}, d2 = {B, 64, 64}, d3 = {B, 64, 10};
    size_t np_c1 = 16 * 9 + 16, np_c2 = 32 * 16 * 9 + 32, np_d1 = 64 * f0 + 64,
           np_d2 = 64 * 64 + 64, np_d3 = 10 * 64 + 10;
    size_t np = np_c1 + np_c2 + np_d1 + np_d2 + np_d3;
    nnxr_buffer *P = buf_rand("params", np, 0.1f, 1), *G = buf_rand("grads", np, 0, 2),
                *S1 = buf_rand("m", np, 0, 3), *S2 = buf_rand("v", np, 0, 4);
    nnxr_buffer *X = buf_rand("x", B * 784, 1, 5), *A1 = buf_rand("a1", B * 16 * 784, 1, 6),
                *A2 = buf_rand("a2", B * 32 * 784, 1, 7), *A3 = buf_rand("pool", B * f0, 1, 8),
                *H1 = buf_rand("h1", B * 64, 1, 9), *H2 = buf_rand("h2", B * 64, 1, 10),
                *LO = buf_rand("logits", B * 10, 1, 11), *DL = buf_rand("dlogits", B * 10, 1, 12),
                *DH2 = buf_rand("dh2", B * 64, 1, 13), *DH1 = buf_rand("dh1", B * 64, 1, 14),
                *DA3 = buf_rand("dpool", B * f0, 1, 15), *DA2 = buf_rand("da2", B * 32 * 784, 1, 16),
                *DA1 = buf_rand("da1", B * 16 * 784, 1, 17), *ST = buf_rand("stats", 4, 0, 18),
                *HP = buf_rand("hp", 16, 0, 19);
    nnxr_buffer_desc ld = {.name = "labels", .kind = NNXR_BUFFER_DEVICE, .size = B * 4};
    nnxr_buffer *LB;
    TRY(nnxr_buffer_create(gpu, &ld, &LB, &err));
    int32_t lab[64];
    for (uint32_t i = 0; i < B; i++)
        lab[i] = (int32_t)(i % 10);
    TRY(nnxr_buffer_upload(gpu, LB, 0, lab, sizeof lab, &err));
    nnxr_nn_hparams hp = nnxr_nn_hparams_default();
    hp.lr = 1e-4f;
    TRY(nnxr_buffer_upload(gpu, HP, 0, &hp, sizeof hp, &err));

    size_t o_c1 = 0, o_c2 = o_c1 + np_c1, o_d1 = o_c2 + np_c2, o_d2 = o_d1 + np_d1,
           o_d3 = o_d2 + np_d2;
#define AT(b, o) nnxr_nn_at(b, (o) * 4u)
    nnxr_recorder *rec;
    nnxr_nn_tape *t;
    TRY(nnxr_recorder_create(gpu, 64, &rec, &err));
    TRY(nnxr_recorder_begin(rec, &err));
    TRY(nnxr_nn_tape_create(nn, rec, &t, &err));
    nnxr_nn_mem none = {0};
    TRY(nnxr_recorder_mark(rec, "start", &err));
    TRY(nnxr_nn_conv2d_forward(t, &c1, AT(X, 0), AT(P, o_c1), AT(P, o_c1 + 144), AT(A1, 0),
                               NNXR_NN_RELU, &err));
    TRY(nnxr_recorder_mark(rec, "conv1 fwd", &err));
    TRY(nnxr_nn_conv2d_forward(t, &c2, AT(A1, 0), AT(P, o_c2), AT(P, o_c2 + 32 * 144), AT(A2, 0),
                               NNXR_NN_RELU, &err));
    TRY(nnxr_recorder_mark(rec, "conv2 fwd", &err));
    TRY(nnxr_nn_maxpool_forward(t, B, 32, 28, 28, AT(A2, 0), AT(A3, 0), &err));
    TRY(nnxr_recorder_mark(rec, "maxpool fwd", &err));
    TRY(nnxr_nn_dense_forward(t, &d1, AT(A3, 0), AT(P, o_d1), AT(P, o_d1 + 64 * f0), AT(H1, 0),
                              NNXR_NN_RELU, &err));
    TRY(nnxr_recorder_mark(rec, "fc1 fwd", &err));
    TRY(nnxr_nn_dense_forward(t, &d2, AT(H1, 0), AT(P, o_d2), AT(P, o_d2 + 64 * 64), AT(H2, 0),
                              NNXR_NN_RELU, &err));
    TRY(nnxr_nn_dense_forward(t, &d3, AT(H2, 0), AT(P, o_d3), AT(P, o_d3 + 640), AT(LO, 0),
                              NNXR_NN_LINEAR, &err));
    nnxr_nn_ce_args ce = {.batch = B, .classes = 10, .logits = AT(LO, 0), .labels = AT(LB, 0),
                          .dlogits = AT(DL, 0), .stats = AT(ST, 0)};
    TRY(nnxr_nn_softmax_ce(t, &ce, &err));
    TRY(nnxr_recorder_mark(rec, "fc2 fc3 fwd + CE", &err));
    nnxr_nn_dense_grad g3 = {.x = AT(H2, 0), .w = AT(P, o_d3), .dz = AT(DL, 0), .dx = AT(DH2, 0),
                             .dw = AT(G, o_d3), .db = AT(G, o_d3 + 640), .dx_act = NNXR_NN_RELU};
    nnxr_nn_dense_grad g2 = {.x = AT(H1, 0), .w = AT(P, o_d2), .dz = AT(DH2, 0), .dx = AT(DH1, 0),
                             .dw = AT(G, o_d2), .db = AT(G, o_d2 + 4096), .dx_act = NNXR_NN_RELU};
    TRY(nnxr_nn_dense_backward(t, &d3, &g3, &err));
    TRY(nnxr_nn_dense_backward(t, &d2, &g2, &err));
    TRY(nnxr_recorder_mark(rec, "fc3 fc2 bwd", &err));
    nnxr_nn_dense_grad g1 = {.x = AT(A3, 0), .w = AT(P, o_d1), .dz = AT(DH1, 0), .dx = AT(DA3, 0),
                             .dw = AT(G, o_d1), .db = AT(G, o_d1 + 64 * f0)};
    TRY(nnxr_nn_dense_backward(t, &d1, &g1, &err));
    TRY(nnxr_recorder_mark(rec, "fc1 bwd", &err));
    TRY(nnxr_nn_maxpool_backward(t, B, 32, 28, 28, AT(A2, 0), AT(DA3, 0), AT(DA2, 0),
                                 NNXR_NN_RELU, &err));
    TRY(nnxr_recorder_mark(rec, "maxpool bwd", &err));
    nnxr_nn_conv_grad cg2 = {.x = AT(A1, 0), .w = AT(P, o_c2), .dz = AT(DA2, 0),
                             .dw = AT(G, o_c2), .db = AT(G, o_c2 + 32 * 144)};
    TRY(nnxr_nn_conv2d_backward(t, &c2, &cg2, &err));
    TRY(nnxr_recorder_mark(rec, "conv2 bwd dw db", &err));
    nnxr_nn_conv_grad cg2x = {.x = AT(A1, 0), .w = AT(P, o_c2), .dz = AT(DA2, 0),
                              .dx = AT(DA1, 0), .dx_act = NNXR_NN_RELU};
    TRY(nnxr_nn_conv2d_backward(t, &c2, &cg2x, &err));
    TRY(nnxr_recorder_mark(rec, "conv2 bwd dx", &err));
    nnxr_nn_conv_grad cg1 = {.x = AT(X, 0), .w = AT(P, o_c1), .dz = AT(DA1, 0),
                             .dw = AT(G, o_c1), .db = AT(G, o_c1 + 144)};
    TRY(nnxr_nn_conv2d_backward(t, &c1, &cg1, &err));
    TRY(nnxr_recorder_mark(rec, "conv1 bwd dw db", &err));
    nnxr_nn_opt_args oa = {.kind = NNXR_NN_ADAM, .count = (uint32_t)np, .params = AT(P, 0),
                           .grads = AT(G, 0), .state1 = AT(S1, 0), .state2 = AT(S2, 0),
                           .hparams = AT(HP, 0), .weight_bits = none};
    TRY(nnxr_nn_optimize(t, &oa, &err));
    TRY(nnxr_recorder_mark(rec, "adam", &err));
    /* The GEMMs of conv2 alone (per sample, no im2col): what the column matrices cost. */
    for (uint32_t n = 0; n < B; n++) {
        nnxr_nn_gemm_args ga = {.m = 32, .n = 784, .k = 144, .a = AT(P, o_c2),
                                .b = AT(DA2, (size_t)(n % 8) * 144 * 784),
                                .c = AT(A2, (size_t)n * 32 * 784), .bias = AT(P, o_c2 + 32 * 144),
                                .bias_rows = true, .act = NNXR_NN_RELU};
        TRY(nnxr_nn_gemm(t, &ga, &err));
    }
    TRY(nnxr_recorder_mark(rec, "[conv2 fwd GEMMs only, 64 disp]", &err));
    for (uint32_t n = 0; n < B; n++) {
        nnxr_nn_gemm_args ga = {.m = 144, .n = 784, .k = 32, .trans_a = true, .a = AT(P, o_c2),
                                .b = AT(DA2, (size_t)n * 32 * 784),
                                .c = AT(A2, (size_t)(n % 8) * 144 * 784)};
        TRY(nnxr_nn_gemm(t, &ga, &err));
    }
    TRY(nnxr_recorder_mark(rec, "[conv2 dcol GEMMs only, 64 disp]", &err));
    for (uint32_t n = 0; n < B; n++) {
        nnxr_nn_gemm_args ga = {.m = 32, .n = 144, .k = 784, .trans_b = true,
                                .a = AT(DA2, (size_t)n * 32 * 784),
                                .b = AT(A2, (size_t)(n % 8) * 144 * 784), .c = AT(G, o_c2),
                                .accumulate = n > 0};
        TRY(nnxr_nn_gemm(t, &ga, &err));
    }
    TRY(nnxr_recorder_mark(rec, "[conv2 dw GEMMs only, 64 disp]", &err));
    TRY(nnxr_recorder_end(rec, &err));
    printf("cnn conv16-conv32-pool-fc64-fc64-10 b64: %u dispatches\n",
           nnxr_nn_tape_dispatches(t));
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        TRY(nnxr_recorder_run(rec, &err));
        double dt = now_ms() - t0;
        if (dt < best)
            best = dt;
    }
    report(rec, reps, best);
    nnxr_nn_tape_destroy(t);
    nnxr_recorder_destroy(rec);
    nnxr_buffer *all[] = {P, G, S1, S2, X, A1, A2, A3, H1, H2, LO, DL, DH2, DH1, DA3, DA2, DA1,
                          ST, HP, LB};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        nnxr_buffer_destroy(gpu, all[i]);
}

static void profile_tiny(nnxr_nn *nn, int reps)
{
    const uint32_t B = 32, N = 8192;
    nnxr_nn_mlp_desc net = {.layers = 3, .sizes = {784, 8, 8, 10}, .act = NNXR_NN_RELU,
                            .loss = NNXR_NN_LOSS_CE, .opt = NNXR_NN_SGD, .batch = B};
    size_t np = 784 * 8 + 8 + 8 * 8 + 8 + 80 + 10;
    nnxr_buffer *P = buf_rand("params", np, 0.1f, 1), *S1 = buf_rand("s1", np, 0, 2),
                *HP = buf_rand("hp", 16, 0, 3), *ST = buf_rand("stats", 4, 0, 4);
    nnxr_buffer_desc dd = {.name = "src", .kind = NNXR_BUFFER_DEVICE, .size = N * 784};
    nnxr_buffer *SRC, *LB;
    TRY(nnxr_buffer_create(gpu, &dd, &SRC, &err));
    dd.name = "labels";
    dd.size = N;
    TRY(nnxr_buffer_create(gpu, &dd, &LB, &err));
    uint8_t *h = malloc(N * 784);
    uint32_t s = 7;
    for (size_t i = 0; i < N * 784; i++) {
        s = s * 1664525u + 1013904223u;
        h[i] = (uint8_t)(s >> 24);
    }
    TRY(nnxr_buffer_upload(gpu, SRC, 0, h, N * 784, &err));
    for (size_t i = 0; i < N; i++)
        h[i] = (uint8_t)(i % 10);
    TRY(nnxr_buffer_upload(gpu, LB, 0, h, N, &err));
    free(h);
    nnxr_nn_hparams hp = nnxr_nn_hparams_default();
    hp.lr = 0.01f;
    TRY(nnxr_buffer_upload(gpu, HP, 0, &hp, sizeof hp, &err));
    printf("tiny 784-8-8-10 b32 SGD, fused kernel\n");
    printf("  %8s %10s %12s %12s %10s %14s\n", "steps", "dispatch", "ms (ts)", "us/step", "steps/s",
           "CPU us/step");
    uint32_t counts[] = {1, 8, 32, 128, 512};
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        nnxr_recorder *rec;
        nnxr_nn_tape *t;
        TRY(nnxr_recorder_create(gpu, 4, &rec, &err));
        TRY(nnxr_recorder_begin(rec, &err));
        TRY(nnxr_nn_tape_create(nn, rec, &t, &err));
        TRY(nnxr_recorder_mark(rec, "a", &err));
        nnxr_nn_fused_args a = {.net = net, .steps = counts[ci], .params = nnxr_nn_at(P, 0),
                                .state1 = nnxr_nn_at(S1, 0), .state2 = nnxr_nn_at(S1, 0),
                                .hparams = nnxr_nn_at(HP, 0), .count = N,
                                .format = NNXR_NN_U8, .src = nnxr_nn_at(SRC, 0),
                                .label_format = NNXR_NN_U8, .labels = nnxr_nn_at(LB, 0),
                                .stats = nnxr_nn_at(ST, 0)};
        TRY(nnxr_nn_fused_mlp_steps(t, &a, &err));
        TRY(nnxr_recorder_mark(rec, "b", &err));
        TRY(nnxr_recorder_end(rec, &err));
        double best = 1e30, bestw = 1e30, bestc = 1e30;
        for (int r = 0; r < reps; r++) {
            double t0 = now_ms(), c0 = cpu_ms();
            TRY(nnxr_recorder_run(rec, &err));
            double w = now_ms() - t0, c = cpu_ms() - c0, ns;
            if (c < bestc)
                bestc = c;
            TRY(nnxr_recorder_mark_ns(rec, "b", &ns));
            if (ns * 1e-6 < best)
                best = ns * 1e-6;
            if (w < bestw)
                bestw = w;
        }
        printf("  %8u %10u %12.3f %12.1f %10.0f %14.1f   (wall %.3f ms)\n", counts[ci],
               nnxr_nn_tape_dispatches(t), best, best * 1e3 / counts[ci],
               counts[ci] / (best * 1e-3), bestc * 1e3 / counts[ci], bestw);
        nnxr_nn_tape_destroy(t);
        nnxr_recorder_destroy(rec);
    }
    nnxr_buffer *all[] = {P, S1, HP, ST, SRC, LB};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        nnxr_buffer_destroy(gpu, all[i]);
}

int main(int argc, char **argv)
{
    bool cnn = false, tiny = false;
    int reps = 5;
    nnxr_nn_options options = nnxr_nn_options_default();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "cnn"))
            cnn = true;
        else if (!strcmp(argv[i], "tiny"))
            tiny = true;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gemm-config") && i + 1 < argc)
            options.gemm_config = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: nn_profile [cnn] [tiny] [--reps N] [--gemm-config I]\n");
            return 2;
        }
    }
    if (!cnn && !tiny)
        cnn = tiny = true;
    if (reps < 1)
        reps = 1;
    nnxr_gpu_options o;
    memset(&o, 0, sizeof o);
    o.app_name = "nn_profile";
    TRY(nnxr_gpu_create(&o, &gpu, &err));
    nnxr_nn *nn;
    TRY(nnxr_nn_create(gpu, &options, &nn, &err));
    if (cnn)
        profile_cnn(nn, reps);
    if (tiny)
        profile_tiny(nn, reps);
    nnxr_nn_destroy(nn);
    nnxr_gpu_destroy(gpu);
    return 0;
}
