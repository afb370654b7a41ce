/* tests/unit/test_nnk_fused.c — the fused tiny-MLP step (nnxr_nn_fused_mlp_steps) against the
 * layer-by-layer GPU path (gather, dense, softmax-CE/MSE, dense backward, optimizer: the calls a
 * trainer records) and against the CPU reference (engine/nn/ref) after N steps of the same
 * data order: AIive's 784-8-8-10 on uint8 pixels with a label mask, SGD-momentum and L1/L2;
 * Adam; a float-input regression net with tanh (MSE); enough steps that the fused call splits
 * into several dispatches (lavapipe's loop cap). Also: networks it refuses, and the statistics.
 * Errors: norm-based relative error of the whole parameter vector (test_nnk_util.h). */
#include "test_nnk_util.h"

typedef struct fcase {
    const char *name;
    nnxr_nn_mlp_desc net;
    nnxr_nn_format format;
    uint32_t count;
    uint32_t steps;
    float lr, momentum, l1, l2;
    bool mask;
    double tol_layered, tol_ref;
    bool no_layered; /* long runs: only the reference */
    bool sg_only;    /* beyond the workgroup kernel's shared memory */
} fcase;

static uint64_t nparams(const nnxr_nn_mlp_desc *d)
{
    uint64_t n = 0;
    for (uint32_t l = 1; l <= d->layers; l++)
        n += (uint64_t)d->sizes[l] * d->sizes[l - 1] + d->sizes[l];
    return n;
}

static void run(nnk_env *e, const fcase *c, nnxr_nn_fused_shape shape, uint32_t seed)
{
    const nnxr_nn_mlp_desc *d = &c->net;
    uint32_t B = d->batch, D0 = d->sizes[0], L = d->layers, DO = d->sizes[L], N = c->count;
    uint64_t np = nparams(d);
    bool ce = d->loss == NNXR_NN_LOSS_CE;
    uint32_t s = seed;
    /* data */
    size_t nfeat = (size_t)N * D0;
    uint8_t *px = tg_alloc((nfeat + 3) / 4 * 4);
    float *fx = tg_alloc(nfeat * 4);
    for (size_t i = 0; i < nfeat; i++) {
        px[i] = (uint8_t)(tg_rand(&s) & 255);
        fx[i] = tg_uniform(&s) * 2 - 1;
    }
    uint8_t *lab = tg_alloc((N + 3) / 4 * 4);
    int32_t *lab32 = tg_alloc(N * 4);
    float *maskv = tg_alloc(N * 4), *targ = tg_alloc((size_t)N * DO * 4);
    uint32_t *idx = tg_alloc(N * 4);
    for (uint32_t i = 0; i < N; i++) {
        lab[i] = (uint8_t)(tg_rand(&s) % DO);
        lab32[i] = lab[i];
        maskv[i] = c->mask ? (float)((i % 5) != 0) : 1.0f;
        idx[i] = (i * 37 + 11) % N;
    }
    for (size_t i = 0; i < (size_t)N * DO; i++)
        targ[i] = tg_uniform(&s) - 0.5f;
    /* initial parameters: the reference init */
    nnxr_ref_model model;
    int hidden[4];
    for (uint32_t l = 1; l < L; l++)
        hidden[l - 1] = (int)d->sizes[l];
    nnxr_ref_mlp_config mc = {(int)D0, hidden, (int)L - 1, (nnxr_ref_act)d->act, (int)DO,
                              ce ? NNXR_REF_LOSS_SOFTMAX_CE : NNXR_REF_LOSS_MSE};
    nnxr_error err;
    if (!nnxr_ref_mlp_build(&model, &mc, &err)) {
        CHECKF(false, "ref build: %s", err.message);
        return;
    }
    double *w = tg_alloc(np * 8), *g = tg_alloc(np * 8), *m1 = tg_alloc(np * 8), *m2 = tg_alloc(np * 8);
    nnxr_ref_model_init(&model, w, seed, NNXR_REF_INIT_AUTO);
    float *w0 = tg_alloc(np * 4);
    for (uint64_t i = 0; i < np; i++) {
        w0[i] = (float)w[i];
        w[i] = w0[i];
    }
    uint8_t *isw = tg_alloc(np);
    nnxr_ref_model_weight_mask(&model, isw);

    nnxr_nn_hparams hp = nnxr_nn_hparams_default();
    hp.lr = c->lr;
    hp.momentum = c->momentum;
    hp.l1 = c->l1;
    hp.l2 = c->l2;
    hp.beta2 = 0.99f;
    hp.adam_eps = 1e-6f;
    hp.batch_base = 3;
    hp.step = 2;

    /* GPU buffers: two independent copies of params + state (fused, layered) */
    size_t state = 3 * np;
    nnxr_buffer *PF = nnk_buf(e, "fused params+state", state, NULL);
    nnxr_buffer *PL = nnk_buf(e, "layered params+state", state, NULL);
    nnk_upload(e, PF, 0, w0, np);
    nnk_upload(e, PL, 0, w0, np);
    nnxr_buffer *SRC = c->format == NNXR_NN_U8 ? nnk_buf(e, "pixels", (nfeat + 3) / 4, (float *)px)
                                               : nnk_buf(e, "floats", nfeat, fx);
    nnxr_buffer *LAB = nnk_buf(e, "labels", (N + 3) / 4, (float *)lab);
    nnxr_buffer *MSK = nnk_buf(e, "mask", N, maskv), *IDX = nnk_buf(e, "index", N, (float *)idx);
    nnxr_buffer *TG = nnk_buf(e, "targets", (size_t)N * DO, targ);
    nnxr_buffer *HP = nnk_buf(e, "hparams", 16, (const float *)&hp);
    nnxr_buffer *STF = nnk_buf(e, "stats fused", 4, NULL), *STL = nnk_buf(e, "stats layered", 4, NULL);
    uint32_t widest = D0;
    for (uint32_t l = 1; l <= L; l++)
        widest = d->sizes[l] > widest ? d->sizes[l] : widest;
    nnxr_buffer *ACT = nnk_buf(e, "acts", (size_t)B * widest * (L + 1), NULL);
    nnxr_buffer *DZ = nnk_buf(e, "dz", (size_t)B * widest * 2, NULL);
    nnxr_buffer *GR = nnk_buf(e, "grads", np, NULL), *LO = nnk_buf(e, "lab out", B, NULL);
    nnxr_buffer *MO = nnk_buf(e, "mask out", B, NULL), *TO = nnk_buf(e, "targ out", (size_t)B * DO, NULL);
    uint32_t *pbits = tg_alloc((np + 31) / 32 * 4);
    nnxr_nn_pack_weight_bits(np, isw, pbits);
    nnxr_buffer *BITS = nnk_buf(e, "weight bits", (np + 31) / 32, (float *)pbits);
    free(pbits);

    /* fused: all steps in one call */
    nnk_begin(e);
    nnxr_nn_fused_args fa = {.net = *d, .steps = c->steps, .params = nnxr_nn_at(PF, 0),
                             .state1 = nnxr_nn_at(PF, np * 4), .state2 = nnxr_nn_at(PF, 2 * np * 4),
                             .hparams = nnxr_nn_at(HP, 0), .count = N, .format = c->format,
                             .src = nnxr_nn_at(SRC, 0), .index = nnxr_nn_at(IDX, 0),
                             .label_format = NNXR_NN_U8, .labels = nnxr_nn_at(LAB, 0),
                             .mask = c->mask ? nnxr_nn_at(MSK, 0) : (nnxr_nn_mem){0},
                             .targets = nnxr_nn_at(TG, 0), .stats = nnxr_nn_at(STF, 0),
                             .shape = shape};
    const char *kernel = shape == NNXR_NN_FUSED_SUBGROUP ? "subgroup" : "workgroup";
    bool ok = nnxr_nn_fused_mlp_steps(e->tape, &fa, &err);
    CHECKF(ok, "%s fused (%s kernel): %s", c->name, kernel, err.message);
    uint32_t fused_dispatches = nnxr_nn_tape_dispatches(e->tape);
    if (ok)
        ok = nnk_run(e);
    float *wf = nnk_read(e, PF, 0, np), *sf = nnk_read(e, STF, 0, 4);

    /* layered: the same steps as separate kernels */
    nnk_begin(e);
    size_t per = (size_t)B * widest * 4;
    bool fused_ok = ok;
    ok = true;
    for (uint32_t st = 0; st < (c->no_layered ? 0 : c->steps) && ok; st++) {
        nnxr_nn_tape_set_step(e->tape, st);
        nnxr_nn_gather_args ga = {.batch = B, .features = D0, .count = N, .format = c->format,
                                  .src = nnxr_nn_at(SRC, 0), .index = nnxr_nn_at(IDX, 0),
                                  .step_stride = 1, .hparams = nnxr_nn_at(HP, 0),
                                  .label_format = NNXR_NN_U8, .labels = nnxr_nn_at(LAB, 0),
                                  .mask = c->mask ? nnxr_nn_at(MSK, 0) : (nnxr_nn_mem){0},
                                  .x = nnxr_nn_at(ACT, 0), .labels_out = nnxr_nn_at(LO, 0),
                                  .mask_out = nnxr_nn_at(MO, 0)};
        ok = nnxr_nn_gather(e->tape, &ga, &err);
        if (ok && !ce) {
            nnxr_nn_gather_args gt = {.batch = B, .features = DO, .count = N, .format = NNXR_NN_F32,
                                      .src = nnxr_nn_at(TG, 0), .index = nnxr_nn_at(IDX, 0),
                                      .step_stride = 1, .hparams = nnxr_nn_at(HP, 0),
                                      .x = nnxr_nn_at(TO, 0)};
            ok = nnxr_nn_gather(e->tape, &gt, &err);
        }
        uint64_t off = 0;
        uint64_t woff[5], boff[5];
        for (uint32_t l = 1; l <= L; l++) {
            woff[l] = off;
            off += (uint64_t)d->sizes[l] * d->sizes[l - 1];
            boff[l] = off;
            off += d->sizes[l];
        }
        for (uint32_t l = 1; l <= L && ok; l++) {
            nnxr_nn_dense sh = {B, d->sizes[l - 1], d->sizes[l]};
            ok = nnxr_nn_dense_forward(e->tape, &sh, nnxr_nn_at(ACT, (l - 1) * per), nnxr_nn_at(PL, woff[l] * 4),
                                       nnxr_nn_at(PL, boff[l] * 4), nnxr_nn_at(ACT, l * per),
                                       l == L ? NNXR_NN_LINEAR : d->act, &err);
        }
        if (ok && ce) {
            nnxr_nn_ce_args ca = {.batch = B, .classes = DO, .logits = nnxr_nn_at(ACT, L * per),
                                  .labels = nnxr_nn_at(LO, 0), .mask = nnxr_nn_at(MO, 0),
                                  .dlogits = nnxr_nn_at(DZ, 0), .stats = nnxr_nn_at(STL, 0)};
            ok = nnxr_nn_softmax_ce(e->tape, &ca, &err);
        } else if (ok) {
            ok = nnxr_nn_mse(e->tape, B, DO, nnxr_nn_at(ACT, L * per), nnxr_nn_at(TO, 0), nnxr_nn_at(DZ, 0),
                             nnxr_nn_at(STL, 0), &err);
        }
        for (uint32_t l = L; l >= 1 && ok; l--) {
            nnxr_nn_dense sh = {B, d->sizes[l - 1], d->sizes[l]};
            uint32_t cur = (L - l) % 2, nxt = 1 - cur;
            nnxr_nn_dense_grad gd = {.x = nnxr_nn_at(ACT, (l - 1) * per), .w = nnxr_nn_at(PL, woff[l] * 4),
                                     .dz = nnxr_nn_at(DZ, cur * per),
                                     .dx = l > 1 ? nnxr_nn_at(DZ, nxt * per) : (nnxr_nn_mem){0},
                                     .dw = nnxr_nn_at(GR, woff[l] * 4), .db = nnxr_nn_at(GR, boff[l] * 4),
                                     .dx_act = l > 1 ? d->act : NNXR_NN_LINEAR,
                                     .dx_y = nnxr_nn_at(ACT, (l - 1) * per)};
            ok = nnxr_nn_dense_backward(e->tape, &sh, &gd, &err);
        }
        if (ok) {
            /* regularise weights only */
            nnxr_nn_opt_args oa = {.kind = d->opt, .count = (uint32_t)np, .params = nnxr_nn_at(PL, 0),
                                   .grads = nnxr_nn_at(GR, 0), .state1 = nnxr_nn_at(PL, np * 4),
                                   .state2 = nnxr_nn_at(PL, 2 * np * 4), .hparams = nnxr_nn_at(HP, 0),
                                   .weight_bits = nnxr_nn_at(BITS, 0)};
            ok = nnxr_nn_optimize(e->tape, &oa, &err);
        }
    }
    CHECKF(ok, "%s layered: %s", c->name, err.message);
    uint32_t layered_dispatches = nnxr_nn_tape_dispatches(e->tape);
    if (ok)
        ok = nnk_run(e);
    ok = ok && fused_ok;
    float *wl = nnk_read(e, PL, 0, np), *sl = nnk_read(e, STL, 0, 4);

    /* the CPU reference */
    double *xb = tg_alloc((size_t)B * D0 * 8), *mb = tg_alloc(B * 8), *tb = tg_alloc((size_t)B * DO * 8);
    int32_t *lb = tg_alloc(B * 4);
    double ref_loss = 0;
    for (uint32_t st = 0; st < c->steps; st++) {
        for (uint32_t r = 0; r < B; r++) {
            uint32_t p = (uint32_t)((((uint64_t)hp.batch_base + st) % N) * B + r) % N, smp = idx[p];
            for (uint32_t q = 0; q < D0; q++)
                xb[(size_t)r * D0 + q] = c->format == NNXR_NN_U8 ? (double)(px[(size_t)smp * D0 + q] * (1.0f / 255.0f))
                                                                : fx[(size_t)smp * D0 + q];
            lb[r] = lab[smp];
            mb[r] = maskv[smp];
            for (uint32_t o = 0; o < DO; o++)
                tb[(size_t)r * DO + o] = targ[(size_t)smp * DO + o];
        }
        nnxr_ref_batch rb = {(int)B, xb, lb, c->mask ? mb : NULL, tb, NULL};
        nnxr_ref_loss_parts lp;
        if (!nnxr_ref_model_loss_grad(&model, w, &rb, &lp, g, &err)) {
            CHECKF(false, "ref: %s", err.message);
            break;
        }
        ref_loss += lp.data;
        nnxr_ref_regularize(np, w, isw, c->l1, c->l2, g);
        if (d->opt == NNXR_NN_SGD)
            nnxr_ref_sgd_momentum_step(np, w, g, m1, c->lr, c->momentum);
        else
            nnxr_ref_adam_step(np, w, g, m1, m2, (int64_t)hp.step + st + 1, c->lr, hp.beta1, hp.beta2,
                               hp.adam_eps);
    }
    double *wld = tg_alloc(np * 8);
    for (uint64_t i = 0; i < np; i++)
        wld[i] = wl[i];
    char label[160];
    if (!ok)
        goto done;
    printf("%s: %u steps, fused (%s kernel) %u dispatch%s, layered %u dispatches\n", c->name,
           c->steps, kernel, fused_dispatches, fused_dispatches == 1 ? "" : "es",
           layered_dispatches);
    if (!c->no_layered) {
        snprintf(label, sizeof label, "fused vs layered (GPU), params");
        NNK_CLOSE(label, wf, wld, np, c->tol_layered);
        snprintf(label, sizeof label, "layered vs CPU reference, params");
        NNK_CLOSE(label, wl, w, np, c->tol_ref);
    }
    snprintf(label, sizeof label, "fused vs CPU reference, params");
    NNK_CLOSE(label, wf, w, np, c->tol_ref);
    /* the weights moved at all (a test that cannot fail is a defect) */
    double moved = 0;
    for (uint64_t i = 0; i < np; i++)
        moved += fabs(wf[i] - w0[i]);
    CHECKF(moved > 1e-3 * np * c->lr, "%s: the fused step left the weights where they were", c->name);
    printf("  statistics: fused loss %.6f acc %.4f weight %.1f samples %.0f; layered loss %.6f "
           "acc %.4f weight %.1f samples %.0f; ref mean loss %.6f\n",
           sf[0] / sf[1], sf[2] / sf[1], sf[1], sf[3], sl[0] / sl[1], sl[2] / sl[1], sl[1], sl[3],
           ref_loss / c->steps);
    if (!c->no_layered) {
        CHECK_CLOSE(sf[0], sl[0], 1e-3);
        CHECK_CLOSE(sf[1], sl[1], 1e-6);
        CHECK_CLOSE(sf[2], sl[2], 1e-6);
        CHECK_CLOSE(sf[3], sl[3], 1e-6);
    }
    /* every step counted: a step cut short by the loop cap would be missing here */
    CHECK_CLOSE(sf[3], (double)c->steps * B, 1e-7);
    CHECK_CLOSE(sf[0] / sf[1], ref_loss / c->steps, 1e-3);
done:
    nnxr_recorder_wait(e->rec, &err);
    nnxr_nn_tape_clear(e->tape);
    nnxr_buffer *bufs[] = {PF, PL, SRC, LAB, MSK, IDX, TG, HP, STF, STL, ACT, DZ, GR, LO, MO, TO, BITS};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        nnxr_buffer_destroy(e->gpu, bufs[i]);
    free(px), free(fx), free(lab), free(lab32), free(maskv), free(targ), free(idx);
    free(w), free(g), free(m1), free(m2), free(w0), free(isw), free(wf), free(sf), free(wl), free(sl);
    free(xb), free(mb), free(tb), free(lb), free(wld);
}

static void test_refused(nnk_env *e)
{
    char why[256];
    nnxr_nn_mlp_desc big = {3, {784, 128, 128, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 64};
    CHECK(!nnxr_nn_fused_mlp_supported(e->nn, &big, why, sizeof why));
    CHECK_CONTAINS(why, "layer 1 has 128 units");
    nnxr_nn_mlp_desc bb = {3, {784, 8, 8, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 128};
    CHECK(!nnxr_nn_fused_mlp_supported(e->nn, &bb, why, sizeof why));
    CHECK_CONTAINS(why, "batch 128");
    nnxr_nn_mlp_desc tiny = {3, {784, 8, 8, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 32};
    CHECK(nnxr_nn_fused_mlp_supported(e->nn, &tiny, why, sizeof why));
    nnxr_nn_mlp_desc wide = {3, {784, 16, 16, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 32};
    CHECK(nnxr_nn_fused_mlp_supported(e->nn, &wide, why, sizeof why));
    /* Batch 64: the workgroup kernel's partial sums no longer fit in shared memory; the
     * subgroup kernel (CPU devices) takes it. */
    wide.batch = 64;
    bool cpu = nnxr_gpu_get_info(e->gpu)->is_cpu;
    CHECK(nnxr_nn_fused_mlp_supported(e->nn, &wide, why, sizeof why) == cpu);
    /* Refusals name the kernel and the reason. */
    nnxr_nn_fused_args a = {.net = wide, .steps = 1, .count = 1, .shape = NNXR_NN_FUSED_WORKGROUP};
    nnxr_error err;
    CHECK(!nnxr_nn_fused_mlp_steps(e->tape, &a, &err));
    CHECK_CONTAINS(err.message, "bytes of shared memory");
    printf("784-16-16-10 batch 64, workgroup kernel: %s\n", err.message);
    nnxr_nn_mlp_desc odd = {4, {5, 8, 7, 3, 2}, NNXR_NN_TANH, NNXR_NN_LOSS_MSE, NNXR_NN_SGD, 13};
    a = (nnxr_nn_fused_args){.net = odd, .steps = 1, .count = 1, .shape = NNXR_NN_FUSED_SUBGROUP};
    CHECK(!nnxr_nn_fused_mlp_steps(e->tape, &a, &err));
    CHECK_CONTAINS(err.message, cpu ? "5 inputs (the subgroup kernel takes multiples of 16)"
                                    : "not a CPU device");
    nnxr_nn_mlp_desc w24 = {3, {784, 24, 8, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 32};
    a.net = w24;
    CHECK(!nnxr_nn_fused_mlp_steps(e->tape, &a, &err));
    CHECK_CONTAINS(err.message, cpu ? "layer 1 has 24 units (the subgroup kernel takes up to 16)"
                                    : "not a CPU device");
    printf("subgroup kernel refusals: %s\n", err.message);
    nnxr_nn_tape_clear(e->tape);
}

int main(void)
{
    nnk_env e = nnk_open();
    test_refused(&e);
    static const fcase cases[] = {
        {"784-8-8-10 relu, u8, mask, SGD-momentum + L1/L2, 6 steps",
         {3, {784, 8, 8, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 32}, NNXR_NN_U8, 100, 6,
         0.05f, 0.9f, 0.0005f, 0.001f, true, 1e-5, 1e-4, false, false},
        {"784-16-16-10 tanh, u8, Adam, 5 steps",
         {3, {784, 16, 16, 10}, NNXR_NN_TANH, NNXR_NN_LOSS_CE, NNXR_NN_ADAM, 24}, NNXR_NN_U8, 90, 5,
         0.01f, 0.0f, 0.0f, 0.001f, false, 1e-4, 1e-4, false, false},
        {"5-8-7-3-2 tanh, f32, MSE, SGD, 40 steps",
         {4, {5, 8, 7, 3, 2}, NNXR_NN_TANH, NNXR_NN_LOSS_MSE, NNXR_NN_SGD, 13}, NNXR_NN_F32, 50, 40,
         0.05f, 0.5f, 0.0f, 0.0f, false, 1e-4, 1e-4, false, false},
        {"784-8-8-10 relu, u8, SGD-momentum, 40 steps",
         {3, {784, 8, 8, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 32}, NNXR_NN_U8, 300, 40,
         0.02f, 0.9f, 0.0f, 0.0f, false, 1e-4, 1e-4, false, false},
        {"784-12-9-7-5 sigmoid, f32, MSE, Adam + L2, batch 13, 12 steps",
         {4, {784, 12, 9, 7, 5}, NNXR_NN_SIGMOID, NNXR_NN_LOSS_MSE, NNXR_NN_ADAM, 13}, NNXR_NN_F32,
         70, 12, 0.01f, 0.0f, 0.0f, 0.002f, false, 1e-4, 1e-4, false, false},
        {"784-16-16-10 relu, u8, mask, SGD-momentum, batch 64, 3 steps (subgroup kernel only)",
         {3, {784, 16, 16, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 64}, NNXR_NN_U8, 200,
         3, 0.05f, 0.9f, 0.0f, 0.0f, true, 1e-4, 1e-4, false, true},
        {"784-8-8-10 relu, u8, SGD-momentum, 600 steps (several dispatches)",
         {3, {784, 8, 8, 10}, NNXR_NN_RELU, NNXR_NN_LOSS_CE, NNXR_NN_SGD, 32}, NNXR_NN_U8, 500, 600,
         0.01f, 0.9f, 0.0f, 0.0f, false, 1e-4, 1e-3, true, false},
    };
    /* Every case through the workgroup kernel, and through the subgroup kernel where it
     * applies (CPU devices, inputs a multiple of 16). */
    bool cpu = nnxr_gpu_get_info(e.gpu)->is_cpu;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].sg_only)
            run(&e, &cases[i], NNXR_NN_FUSED_WORKGROUP, 40 + (uint32_t)i);
        if (cpu && cases[i].net.sizes[0] % 16 == 0)
            run(&e, &cases[i], NNXR_NN_FUSED_SUBGROUP, 40 + (uint32_t)i);
    }
    nnk_close(&e);
    return check_finish();
}
