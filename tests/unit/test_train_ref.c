/* tests/unit/test_train_ref.c — GPU training against the CPU reference, step for step: small
 * mlp (SGD with momentum and L1/L2; Adam; the fused tiny-MLP kernel), cnn (conv, maxpool,
 * dense) and vae with a classifier on a partial label mask (Adam, the GPU's reparameterisation
 * noise reproduced on the CPU). The trainer runs with shuffling off, so batch k is samples
 * [(k mod steps_per_epoch) * batch, ...); nn/ref replays the same steps in double precision.
 * After N steps every parameter and optimizer value must agree to fp32 accuracy. */
#include "test_train_util.h"

#define TOL 2e-4

static nnxr_nn *g_nn;

typedef struct ref_case {
    const char *name;
    nnxr_train_config cfg;
    nnxr_train_data data;
    uint32_t steps;
    const int32_t *user_labels; /* vae */
} ref_case;

static void run_case(nnxr_gpu *gpu, ref_case *rc)
{
    nnxr_error err;
    nnxr_trainer *t = NULL;
    rc->cfg.nn = g_nn;
    rc->cfg.shuffle = false;
    bool ok = nnxr_trainer_create(gpu, &rc->cfg, &rc->data, &t, &err);
    CHECKF(ok, "%s: create: %s", rc->name, err.message);
    if (!ok)
        return;
    const nnxr_model *m = nnxr_trainer_model(t);
    size_t p = m->param_count;
    float *p0 = tt_alloc(p * 4), *p1 = tt_alloc(p * 4), *s1 = tt_alloc(p * 4),
          *s2 = tt_alloc(p * 4);
    CHECK(nnxr_trainer_read_params(t, p0, &err));
    if (rc->user_labels)
        CHECKF(nnxr_trainer_set_labels(t, rc->user_labels, rc->data.train.count, &err), "%s",
               err.message);

    tt_ref ref;
    tt_ref_init(&ref, m, p0, rc->cfg.optimizer == NNXR_NN_ADAM, &rc->cfg);
    uint32_t b = rc->cfg.batch, f = m->in_size, count = rc->data.train.count;
    uint32_t per_epoch = count / b, d = m->latent;
    double *x = tt_alloc((size_t)b * f * 8), *eps = tt_alloc((size_t)b * (d + 1) * 8),
           *mask = tt_alloc((size_t)b * 8);
    int32_t *labels = tt_alloc((size_t)b * 4);
    uint32_t seed32 = (uint32_t)(rc->cfg.seed ^ (rc->cfg.seed >> 32));
    for (uint32_t k = 0; k < rc->steps; k++) {
        uint32_t first = (k % per_epoch) * b;
        for (uint32_t n = 0; n < b; n++) {
            uint32_t s = first + n;
            for (uint32_t i = 0; i < f; i++)
                x[(size_t)n * f + i] = rc->data.train.u8[(size_t)s * f + i] / 255.0;
            labels[n] = rc->user_labels ? rc->user_labels[s] : rc->data.train.labels[s];
            mask[n] = labels[n] >= 0 ? 1.0 : 0.0;
            for (uint32_t j = 0; j < d; j++)
                eps[n * d + j] = nnxr_nn_rng_normal(seed32, k, n * d + j);
        }
        nnxr_ref_batch batch = {.n = (int)b, .x = x, .labels = labels,
                                .mask = rc->user_labels ? mask : NULL, .eps = eps};
        tt_ref_step(&ref, &batch);
    }

    nnxr_train_report rep;
    ok = nnxr_trainer_steps(t, rc->steps, &rep, &err);
    CHECKF(ok, "%s: steps: %s", rc->name, err.message);
    CHECKF(rep.steps == rc->steps && !rep.diverged, "%s: %u steps taken, diverged %d", rc->name,
           rep.steps, rep.diverged);
    CHECK(nnxr_trainer_step(t) == rc->steps);
    CHECK(nnxr_trainer_read_params(t, p1, &err));
    CHECK(nnxr_trainer_read_state(t, s1, s2, &err));
    size_t at = 0, at1 = 0;
    double e = tt_max_rel(p1, ref.w, p, &at);
    double e1 = tt_max_rel(s1, ref.s1, p, &at1);
    double moved = 0;
    for (size_t i = 0; i < p; i++)
        moved = fmax(moved, fabs((double)p1[i] - p0[i]));
    printf("  %-28s %zu params, %u steps (%s%.2f dispatches/step): max rel error params %.2e, "
           "state %.2e; largest change %.3g\n",
           rc->name, p, rc->steps, nnxr_trainer_fused(t) ? "fused, " : "",
           nnxr_trainer_step_dispatches(t), e, e1, moved);
    CHECKF(e <= TOL, "%s: parameter %zu: gpu %.9g, ref %.9g", rc->name, at, p1[at], ref.w[at]);
    CHECKF(e1 <= TOL, "%s: optimizer state %zu: gpu %.9g, ref %.9g", rc->name, at1, s1[at1],
           ref.s1[at1]);
    if (rc->cfg.optimizer == NNXR_NN_ADAM) {
        double e2 = tt_max_rel(s2, ref.s2, p, &at);
        CHECKF(e2 <= TOL, "%s: Adam v %zu: gpu %.9g, ref %.9g", rc->name, at, s2[at], ref.s2[at]);
    }
    /* The comparison could not fail if nothing moved. */
    CHECKF(moved > 1e-3, "%s: the parameters barely changed (%g)", rc->name, moved);
    tt_ref_free(&ref);
    free(x);
    free(eps);
    free(mask);
    free(labels);
    free(p0);
    free(p1);
    free(s1);
    free(s2);
    nnxr_trainer_destroy(t);
}

/* The fused kernel against the layered path over shuffled epochs of a larger set: the same
 * seed gives both the same batches, so their parameters must agree to fp32 rounding. */
static void fused_vs_layered(nnxr_gpu *gpu)
{
    tt_images img = tt_make_images(700, 784, 10, 15);
    nnxr_train_data d = tt_data_from(&img, 1, 28, 28, 600, 100, 0);
    nnxr_train_config c = nnxr_train_config_default();
    c.model.kind = NNXR_MODEL_MLP;
    c.model.n_hidden = 2;
    c.model.hidden[0] = c.model.hidden[1] = 8;
    c.batch = 32;
    c.seed = 9;
    c.nn = g_nn;
    c.eval_each_epoch = false;
    nnxr_train_config cf = c;
    c.fused = 0;
    cf.fused = 1;
    nnxr_trainer *a = NULL, *b = NULL;
    nnxr_error err;
    bool ok = nnxr_trainer_create(gpu, &c, &d, &a, &err);
    CHECKF(ok, "layered: %s", err.message);
    ok = ok && nnxr_trainer_create(gpu, &cf, &d, &b, &err);
    CHECKF(ok, "fused: %s", err.message);
    if (ok) {
        /* 40 steps: two reshuffles (18 steps an epoch), submissions of several sizes. */
        nnxr_eval_result ra, rb;
        TT_OK(nnxr_trainer_steps(a, 40, NULL, &e_));
        TT_OK(nnxr_trainer_steps(b, 40, NULL, &e_));
        TT_OK(nnxr_trainer_train_stats(a, &ra, &e_));
        TT_OK(nnxr_trainer_train_stats(b, &rb, &e_));
        size_t p = nnxr_trainer_model(a)->param_count, at = 0;
        float *pa = tt_alloc(p * 4), *pb = tt_alloc(p * 4);
        double *pd = tt_alloc(p * 8);
        CHECK(nnxr_trainer_read_params(a, pa, &err) && nnxr_trainer_read_params(b, pb, &err));
        for (size_t i = 0; i < p; i++)
            pd[i] = pa[i];
        double e = tt_max_rel(pb, pd, p, &at);
        printf("  fused vs layered, 784-8-8-10 b32, 40 shuffled steps: max rel difference %.2e "
               "(epoch loss %.4f / %.4f)\n", e, ra.loss, rb.loss);
        CHECKF(e <= TOL, "fused and layered differ at parameter %zu: %.9g vs %.9g", at, pb[at],
               pa[at]);
        CHECK_CLOSE(ra.loss, rb.loss, 1e-4);
        free(pa);
        free(pb);
        free(pd);
    }
    nnxr_trainer_destroy(a);
    nnxr_trainer_destroy(b);
    tt_free_images(&img);
}

int main(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    nnxr_error err;
    nnxr_nn_options o = nnxr_nn_options_default();
    if (!nnxr_nn_create(gpu, &o, &g_nn, &err)) {
        fprintf(stderr, "nnxr_nn_create: %s\n", err.message);
        return 1;
    }

    /* mlp: 5x7 inputs, hidden 6 and 5 (tanh), 3 classes, batch 7, 3 steps per epoch. */
    tt_images img = tt_make_images(30, 35, 3, 11);
    ref_case mlp = {.name = "mlp sgd+l1+l2 (layered)", .cfg = nnxr_train_config_default(),
                    .data = tt_data_from(&img, 1, 5, 7, 21, 9, 0), .steps = 6};
    mlp.cfg.model.kind = NNXR_MODEL_MLP;
    mlp.cfg.model.n_hidden = 2;
    mlp.cfg.model.hidden[0] = 6;
    mlp.cfg.model.hidden[1] = 5;
    mlp.cfg.model.act = NNXR_NN_TANH;
    mlp.cfg.batch = 7;
    mlp.cfg.lr = 0.1;
    mlp.cfg.momentum = 0.8;
    mlp.cfg.l1 = 1e-3;
    mlp.cfg.l2 = 1e-2;
    mlp.cfg.seed = 5;
    mlp.cfg.fused = 0;
    run_case(gpu, &mlp);

    ref_case adam = mlp;
    adam.name = "mlp adam relu (layered)";
    adam.cfg.optimizer = NNXR_NN_ADAM;
    adam.cfg.lr = 0.01;
    adam.cfg.model.act = NNXR_NN_RELU;
    run_case(gpu, &adam);

    if (tt_fused() != 0) {
        ref_case fused = mlp;
        fused.name = "mlp sgd+l1+l2 (fused)";
        fused.cfg.fused = 1;
        run_case(gpu, &fused);

        ref_case fused_adam = adam;
        fused_adam.name = "mlp adam relu (fused)";
        fused_adam.cfg.fused = 1;
        run_case(gpu, &fused_adam);
    } else {
        printf("  (fused cases skipped: NNXR_TEST_NO_FUSED)\n");
    }
    tt_free_images(&img);

    /* The benchmark's tiny network, 784-8-8-10 at batch 32 (AIive's size): 28x28 inputs take
     * the kernels' vectorised paths that the odd shapes above do not. */
    tt_images timg = tt_make_images(128, 784, 10, 14);
    ref_case tiny = {.name = "tiny 784-8-8-10 (layered)", .cfg = nnxr_train_config_default(),
                     .data = tt_data_from(&timg, 1, 28, 28, 96, 32, 0), .steps = 5};
    tiny.cfg.model.kind = NNXR_MODEL_MLP;
    tiny.cfg.model.n_hidden = 2;
    tiny.cfg.model.hidden[0] = tiny.cfg.model.hidden[1] = 8;
    tiny.cfg.batch = 32;
    tiny.cfg.lr = 0.05;
    tiny.cfg.momentum = 0.9;
    tiny.cfg.seed = 7;
    tiny.cfg.fused = 0;
    run_case(gpu, &tiny);
    if (tt_fused() != 0) {
        ref_case tiny_fused = tiny;
        tiny_fused.name = "tiny 784-8-8-10 (fused)";
        tiny_fused.cfg.fused = 1;
        run_case(gpu, &tiny_fused);
        fused_vs_layered(gpu);
    }
    tt_free_images(&timg);

    /* cnn: 1x9x8 images: conv4 (3x3 same) relu, maxpool, conv3 (3x3 valid) relu, dense 5 relu,
     * dense 3; batch 5. */
    tt_images cimg = tt_make_images(20, 72, 3, 12);
    ref_case cnn = {.name = "cnn sgd", .cfg = nnxr_train_config_default(),
                    .data = tt_data_from(&cimg, 1, 9, 8, 15, 5, 0), .steps = 4};
    cnn.cfg.model.kind = NNXR_MODEL_CNN;
    nnxr_ref_layer_spec *L = cnn.cfg.model.layers;
    L[0] = (nnxr_ref_layer_spec){.kind = NNXR_REF_CONV2D, .units = 4, .k = 3,
                                 .pad = NNXR_REF_PAD_SAME};
    L[1] = (nnxr_ref_layer_spec){.kind = NNXR_REF_ACT, .act = NNXR_REF_RELU};
    L[2] = (nnxr_ref_layer_spec){.kind = NNXR_REF_MAXPOOL};
    L[3] = (nnxr_ref_layer_spec){.kind = NNXR_REF_CONV2D, .units = 3, .k = 3,
                                 .pad = NNXR_REF_PAD_VALID};
    L[4] = (nnxr_ref_layer_spec){.kind = NNXR_REF_ACT, .act = NNXR_REF_RELU};
    L[5] = (nnxr_ref_layer_spec){.kind = NNXR_REF_DENSE, .units = 5};
    L[6] = (nnxr_ref_layer_spec){.kind = NNXR_REF_ACT, .act = NNXR_REF_RELU};
    cnn.cfg.model.n_layers = 7;
    cnn.cfg.batch = 5;
    cnn.cfg.lr = 0.05;
    cnn.cfg.momentum = 0.9;
    cnn.cfg.l2 = 1e-3;
    cnn.cfg.seed = 6;
    run_case(gpu, &cnn);
    tt_free_images(&cimg);

    /* vae: 4x5 inputs, encoder 7 (tanh), latent 2, decoder 6, classifier 4, 3 classes; every
     * third sample unlabeled; beta 0.5, classifier weight 2; Adam; batch 6. */
    tt_images vimg = tt_make_images(30, 20, 3, 13);
    int32_t user[24];
    for (int i = 0; i < 24; i++)
        user[i] = i % 3 == 2 ? -1 : vimg.labels[i];
    ref_case vae = {.name = "vae+classifier adam", .cfg = nnxr_train_config_default(),
                    .data = tt_data_from(&vimg, 1, 4, 5, 24, 6, 0), .steps = 5,
                    .user_labels = user};
    vae.cfg.model.kind = NNXR_MODEL_VAE;
    vae.cfg.model.act = NNXR_NN_TANH;
    vae.cfg.model.latent = 2;
    vae.cfg.model.n_enc = 1;
    vae.cfg.model.enc[0] = 7;
    vae.cfg.model.n_dec = 1;
    vae.cfg.model.dec[0] = 6;
    vae.cfg.model.n_cls = 1;
    vae.cfg.model.cls[0] = 4;
    vae.cfg.model.beta = 0.5;
    vae.cfg.model.cls_weight = 2.0;
    vae.cfg.optimizer = NNXR_NN_ADAM;
    vae.cfg.lr = 0.01;
    vae.cfg.batch = 6;
    vae.cfg.seed = 0x1234567890ull;
    run_case(gpu, &vae);

    ref_case vae_sgd = vae;
    vae_sgd.name = "vae+classifier sgd relu";
    vae_sgd.cfg.optimizer = NNXR_NN_SGD;
    vae_sgd.cfg.model.act = NNXR_NN_RELU;
    vae_sgd.cfg.lr = 0.02;
    vae_sgd.cfg.l2 = 1e-3;
    run_case(gpu, &vae_sgd);
    tt_free_images(&vimg);

    nnxr_nn_destroy(g_nn);
    tg_close(gpu);
    return check_finish();
}
