/* tests/unit/test_train_learn.c — the trainer learns, on the real device, within CI's budget:
 *   - an mlp on a 10k subset of Fashion-MNIST reaches >= 80 % validation accuracy;
 *   - TensorFlow Playground's spiral with x1, x2, sin x1, sin x2 and two hidden tanh layers
 *     reaches >= 90 % test accuracy; xor (x1, x2) >= 95 %;
 *   - a VAE's latent space (5-NN accuracy of validation mu among training mu) gets better as
 *     the classifier on mu is given labels: three runs from the same start, 0 %, 10 % and
 *     50 % of the training samples labeled.
 * Exit code 77 when Fashion-MNIST is not installed (the playground parts still run first). */
#include <time.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/playground.h"
#include "test_train_util.h"

static nnxr_nn *g_nn;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void playground(nnxr_gpu *gpu, nnxr_pg_kind kind, nnxr_feature_mask features,
                       uint32_t h0, uint32_t h1, uint64_t epochs, double want, const char *what)
{
    nnxr_error err;
    nnxr_pg_options o = nnxr_pg_default_options(kind);
    o.seed = 4;
    nnxr_pg_data pg;
    CHECKF(nnxr_pg_generate(&o, &pg, &err), "%s", err.message);
    uint32_t nf = nnxr_features_count(features);
    float *ftr = tt_alloc((size_t)pg.train.count * nf * 4), *fte = tt_alloc((size_t)pg.test.count * nf * 4);
    nnxr_features_apply(features, pg.train.xy, pg.train.count, ftr);
    nnxr_features_apply(features, pg.test.xy, pg.test.count, fte);
    nnxr_train_data d;
    memset(&d, 0, sizeof d);
    d.in_c = nf;
    d.in_h = d.in_w = 1;
    d.classes = 2;
    d.train = (nnxr_train_split){pg.train.count, NULL, ftr, pg.train.cls, NULL, NULL};
    d.test = (nnxr_train_split){pg.test.count, NULL, fte, pg.test.cls, NULL, NULL};
    nnxr_train_config c = nnxr_train_config_default();
    c.model.kind = NNXR_MODEL_MLP;
    c.model.act = NNXR_NN_TANH;
    c.model.n_hidden = h1 ? 2 : 1;
    c.model.hidden[0] = h0;
    c.model.hidden[1] = h1;
    c.optimizer = NNXR_NN_ADAM;
    c.lr = 0.01;
    c.batch = 10;
    c.seed = 2;
    c.eval_each_epoch = false;
    c.nn = g_nn;
    c.fused = tt_fused();
    nnxr_trainer *t = NULL;
    bool ok = nnxr_trainer_create(gpu, &c, &d, &t, &err);
    CHECKF(ok, "%s: %s", what, err.message);
    if (ok) {
        double t0 = now_s();
        TT_OK(nnxr_trainer_epochs(t, epochs, NULL, &e_));
        double secs = now_s() - t0;
        nnxr_eval_result r;
        TT_OK(nnxr_trainer_evaluate(t, NNXR_SET_TEST, &r, &e_));
        printf("  %-34s test accuracy %.3f after %llu epochs (%llu steps, %.2f s, fused %d)\n",
               what, r.accuracy, (unsigned long long)epochs,
               (unsigned long long)nnxr_trainer_step(t), secs, nnxr_trainer_fused(t));
        CHECKF(r.accuracy >= want, "%s: test accuracy %.3f < %.2f", what, r.accuracy, want);
        nnxr_trainer_destroy(t);
    }
    free(ftr);
    free(fte);
    nnxr_pg_data_free(&pg);
}

/* ---- Fashion-MNIST ---- */

static bool load_fashion(uint32_t train, uint32_t val, nnxr_image_dataset *ds)
{
    nnxr_error err;
    nnxr_image_dataset_options o = {.val_count = val, .val_seed = 5, .train_limit = train,
                                    .random_subset = true, .subset_seed = 6, .skip_test = true};
    if (!nnxr_image_dataset_load(&o, ds, &err)) {
        printf("  Fashion-MNIST not available: %s\n", err.message);
        return false;
    }
    return true;
}

static nnxr_train_data fashion_data(const nnxr_image_dataset *ds)
{
    nnxr_train_data d;
    memset(&d, 0, sizeof d);
    d.in_c = 1;
    d.in_h = ds->train.rows;
    d.in_w = ds->train.cols;
    d.classes = ds->num_classes;
    d.train = (nnxr_train_split){ds->train.count, ds->train.pixels, NULL, ds->train.labels, NULL, NULL};
    d.val = (nnxr_train_split){ds->val.count, ds->val.pixels, NULL, ds->val.labels, NULL, NULL};
    return d;
}

static void fashion_mlp(nnxr_gpu *gpu, const nnxr_image_dataset *ds)
{
    nnxr_train_data d = fashion_data(ds);
    nnxr_train_config c = nnxr_train_config_default();
    c.model.kind = NNXR_MODEL_MLP;
    c.model.n_hidden = 2;
    c.model.hidden[0] = 64;
    c.model.hidden[1] = 32;
    c.batch = 64;
    c.lr = 0.05;
    c.momentum = 0.9;
    c.seed = 3;
    c.nn = g_nn;
    tt_metrics mt = {0};
    c.publish = tt_publish;
    c.publish_user = &mt;
    nnxr_trainer *t = NULL;
    nnxr_error err;
    bool ok = nnxr_trainer_create(gpu, &c, &d, &t, &err);
    CHECKF(ok, "fashion mlp: %s", err.message);
    if (!ok)
        return;
    double t0 = now_s();
    TT_OK(nnxr_trainer_epochs(t, 3, NULL, &e_));
    double secs = now_s() - t0;
    double a1 = tt_metric(&mt, "val.accuracy", 0), a3 = tt_metric(&mt, "val.accuracy", 2);
    printf("  fashion mlp 784-64-32-10, 10k samples: val accuracy %.4f / %.4f / %.4f after "
           "epochs 1-3 (%.2f s, %llu steps)\n", a1, tt_metric(&mt, "val.accuracy", 1), a3, secs,
           (unsigned long long)nnxr_trainer_step(t));
    CHECKF(a3 >= 0.80, "validation accuracy %.4f < 0.80", a3);
    CHECK(tt_metric(&mt, "train.loss", 2) < tt_metric(&mt, "train.loss", 0));
    nnxr_trainer_destroy(t);
}

/* ---- VAE labels ---- */

static double knn5(const float *train_mu, const int32_t *train_lab, uint32_t nt,
                   const float *val_mu, const int32_t *val_lab, uint32_t nv, uint32_t d)
{
    uint32_t right = 0;
    for (uint32_t i = 0; i < nv; i++) {
        double best[5];
        int32_t lab[5];
        for (int k = 0; k < 5; k++) {
            best[k] = INFINITY;
            lab[k] = -1;
        }
        for (uint32_t j = 0; j < nt; j++) {
            double s = 0;
            for (uint32_t k = 0; k < d; k++) {
                double q = (double)val_mu[i * d + k] - train_mu[j * d + k];
                s += q * q;
            }
            if (s < best[4]) {
                int k = 4;
                while (k > 0 && best[k - 1] > s) {
                    best[k] = best[k - 1];
                    lab[k] = lab[k - 1];
                    k--;
                }
                best[k] = s;
                lab[k] = train_lab[j];
            }
        }
        int votes[16] = {0}, top = lab[0];
        for (int k = 0; k < 5; k++)
            if (lab[k] >= 0 && lab[k] < 16 && ++votes[lab[k]] > votes[top])
                top = lab[k];
        right += top == val_lab[i];
    }
    return (double)right / nv;
}

static double vae_run(nnxr_gpu *gpu, const nnxr_image_dataset *ds, double labeled, int epochs)
{
    nnxr_train_data d = fashion_data(ds);
    nnxr_train_config c = nnxr_train_config_default();
    c.model.kind = NNXR_MODEL_VAE;
    c.model.act = NNXR_NN_RELU;
    c.model.latent = 3;
    c.model.n_enc = 1;
    c.model.enc[0] = 64;
    c.model.n_dec = 1;
    c.model.dec[0] = 64;
    c.model.n_cls = 1;
    c.model.cls[0] = 16;
    c.model.beta = 1.0;
    c.model.cls_weight = 20.0;
    c.optimizer = NNXR_NN_ADAM;
    c.lr = 2e-3;
    c.batch = 64;
    c.seed = 8;
    c.eval_each_epoch = false;
    c.nn = g_nn;
    nnxr_trainer *t = NULL;
    nnxr_error err;
    if (!nnxr_trainer_create(gpu, &c, &d, &t, &err)) {
        CHECKF(false, "vae: %s", err.message);
        return 0;
    }
    uint32_t n = d.train.count, nv = d.val.count;
    int32_t *labels = tt_alloc(n * 4), *truth = tt_alloc(n * 4), *vlab = tt_alloc(nv * 4);
    nnxr_rng r;
    nnxr_rng_seed(&r, 77, 3);
    for (uint32_t i = 0; i < n; i++) {
        truth[i] = d.train.labels[i];
        labels[i] = nnxr_rng_double(&r) < labeled ? truth[i] : -1;
    }
    TT_OK(nnxr_trainer_set_labels(t, labels, n, &e_));
    TT_OK(nnxr_trainer_epochs(t, (uint64_t)epochs, NULL, &e_));
    float *mu = tt_alloc((size_t)n * 3 * 4), *vmu = tt_alloc((size_t)nv * 3 * 4);
    TT_OK(nnxr_trainer_evaluate(t, NNXR_SET_TRAIN, NULL, &e_));
    nnxr_eval_result vr;
    TT_OK(nnxr_trainer_evaluate(t, NNXR_SET_VAL, &vr, &e_));
    TT_OK(nnxr_trainer_read_outputs(t, NNXR_SET_TRAIN, NULL, NULL, NULL, NULL, mu, &e_));
    TT_OK(nnxr_trainer_read_outputs(t, NNXR_SET_VAL, NULL, NULL, NULL, vlab, vmu, &e_));
    double acc = knn5(mu, truth, n, vmu, vlab, nv, 3);
    printf("  vae 784-64-3, %4.0f %% labeled, %d epochs: latent 5-NN accuracy %.4f (val bce %.1f, "
           "kl %.2f, classifier accuracy %.3f)\n", labeled * 100, epochs, acc, vr.bce, vr.kl,
           vr.accuracy);
    nnxr_trainer_destroy(t);
    free(labels);
    free(truth);
    free(vlab);
    free(mu);
    free(vmu);
    return acc;
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
    playground(gpu, NNXR_PG_SPIRAL,
               NNXR_FEAT_X1 | NNXR_FEAT_X2 | NNXR_FEAT_SIN_X1 | NNXR_FEAT_SIN_X2, 8, 8, 150, 0.90,
               "spiral x1 x2 sin(x1) sin(x2), 8-8 tanh");
    playground(gpu, NNXR_PG_XOR, NNXR_FEAT_X1 | NNXR_FEAT_X2, 8, 0, 60, 0.95,
               "xor x1 x2, 8 tanh");

    int status = 0;
    nnxr_image_dataset ds;
    if (load_fashion(10000, 1000, &ds)) {
        fashion_mlp(gpu, &ds);
        nnxr_image_dataset_free(&ds);
    } else {
        status = 77;
    }
    nnxr_image_dataset vds;
    if (status == 0 && load_fashion(2000, 500, &vds)) {
        double a0 = vae_run(gpu, &vds, 0.0, 6);
        double a1 = vae_run(gpu, &vds, 0.10, 6);
        double a2 = vae_run(gpu, &vds, 0.5, 6);
        CHECKF(a1 > a0 && a2 > a1 && a2 >= a0 + 0.03,
               "latent 5-NN accuracy does not rise with labels: %.4f, %.4f, %.4f", a0, a1, a2);
        nnxr_image_dataset_free(&vds);
    }
    nnxr_nn_destroy(g_nn);
    tg_close(gpu);
    int r = check_finish();
    return r ? r : status;
}
