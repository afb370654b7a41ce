/* tests/unit/test_ref_optim.c — the optimizers and regularisation of nn/ref: single steps
 * against values worked by hand, L1/L2 against their definition and their penalty's finite
 * differences, loss reduction over a few hundred steps, and an MLP that learns XOR. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test_ref_util.h"

static void test_sgd_step(void)
{
    /* lr 0.1, momentum 0.9, delta_prev [0.1, 0.2], g [0.5, -1]:
     * delta = [0.09 - 0.05, 0.18 + 0.1] = [0.04, 0.28]; w = [1.04, -1.72].
     * Second step, g [0, 0.2]: delta = [0.036, 0.252 - 0.02] = [0.036, 0.232];
     * w = [1.076, -1.488]. */
    double w[2] = {1, -2}, d[2] = {0.1, 0.2};
    const double g1[2] = {0.5, -1}, g2[2] = {0, 0.2};
    nnxr_ref_sgd_momentum_step(2, w, g1, d, 0.1, 0.9);
    CHECK_CLOSE(d[0], 0.04, 1e-15);
    CHECK_CLOSE(d[1], 0.28, 1e-15);
    CHECK_CLOSE(w[0], 1.04, 1e-15);
    CHECK_CLOSE(w[1], -1.72, 1e-15);
    nnxr_ref_sgd_momentum_step(2, w, g2, d, 0.1, 0.9);
    CHECK_CLOSE(d[0], 0.036, 1e-15);
    CHECK_CLOSE(d[1], 0.232, 1e-15);
    CHECK_CLOSE(w[0], 1.076, 1e-15);
    CHECK_CLOSE(w[1], -1.488, 1e-15);
    /* momentum 0 is plain SGD */
    double w0[1] = {3}, d0[1] = {0};
    nnxr_ref_sgd_momentum_step(1, w0, (const double[]){2}, d0, 0.25, 0.0);
    CHECK(w0[0] == 2.5);
}

static void test_adam_step(void)
{
    /* lr 0.1, b1 0.9, b2 0.999, eps 1e-8, w 1.
     * t=1, g 0.5: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25,
     *   w = 1 - 0.1 * 0.5 / (0.5 + 1e-8).
     * t=2, g -1: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975,
     *   mhat = -0.055 / 0.19, vhat = 0.00124975 / 0.001999,
     *   w -= 0.1 * mhat / (sqrt(vhat) + 1e-8). */
    double w[1] = {1}, m[1] = {0}, v[1] = {0};
    nnxr_ref_adam_step(1, w, (const double[]){0.5}, m, v, 1, 0.1, 0.9, 0.999, 1e-8);
    double w1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8);
    CHECK_CLOSE(m[0], 0.05, 1e-15);
    CHECK_CLOSE(v[0], 0.00025, 1e-15);
    CHECK_CLOSE(w[0], w1, 1e-15);
    nnxr_ref_adam_step(1, w, (const double[]){-1}, m, v, 2, 0.1, 0.9, 0.999, 1e-8);
    CHECK_CLOSE(m[0], -0.055, 1e-15);
    CHECK_CLOSE(v[0], 0.00124975, 1e-15);
    double w2 = w1 - 0.1 * (-0.055 / 0.19) / (sqrt(0.00124975 / 0.001999) + 1e-8);
    CHECK_CLOSE(w[0], w2, 1e-14);
    CHECK_CLOSE(w[0], 0.93661035424, 1e-10); /* 0.900000002 + 0.1 * 0.2894737 / 0.7906880 */
    /* t = 0 is taken as 1, never a division by zero */
    double wz[1] = {1}, mz[1] = {0}, vz[1] = {0};
    nnxr_ref_adam_step(1, wz, (const double[]){0.5}, mz, vz, 0, 0.1, 0.9, 0.999, 1e-8);
    CHECK_CLOSE(wz[0], w1, 1e-15);
}

typedef struct pen_ctx {
    size_t n;
    double *w;
    const uint8_t *mask;
    double l1, l2;
} pen_ctx;

static double pen_f(void *p)
{
    pen_ctx *c = p;
    return nnxr_ref_reg_penalty(c->n, c->w, c->mask, c->l1, c->l2);
}

static void test_regularisation(nnxr_ref_rng *rng)
{
    const double w[5] = {0.5, -2, 0, 3, -0.25};
    const uint8_t mask[5] = {1, 1, 1, 0, 1};
    double g[5] = {0};
    nnxr_ref_regularize(5, w, mask, 0.1, 0.0, g);
    const double want1[5] = {0.1, -0.1, 0.0, 0.0, -0.1}; /* sign(0) = 0; entry 3 is a bias */
    for (int i = 0; i < 5; i++)
        CHECKF(g[i] == want1[i], "L1 g[%d] = %.17g, expected %.17g", i, g[i], want1[i]);
    memset(g, 0, sizeof g);
    nnxr_ref_regularize(5, w, mask, 0.0, 0.01, g);
    for (int i = 0; i < 5; i++) {
        double want = i == 3 ? 0.0 : 0.01 * w[i];
        CHECKF(g[i] == want, "L2 g[%d] = %.17g, expected %.17g", i, g[i], want);
    }
    /* added to an existing gradient, both at once */
    double g2[5] = {1, 1, 1, 1, 1};
    nnxr_ref_regularize(5, w, mask, 0.1, 0.01, g2);
    for (int i = 0; i < 5; i++)
        CHECK(g2[i] == 1.0 + (0.1 * want1[i] / 0.1 + 0.01 * w[i] * (i != 3)));
    CHECK_CLOSE(nnxr_ref_reg_penalty(5, w, mask, 0.1, 0.01),
                0.1 * (0.5 + 2 + 0 + 0.25) + 0.005 * (0.25 + 4 + 0 + 0.0625), 1e-15);
    /* the penalty is what the gradient is the gradient of (away from w = 0) */
    pen_ctx c = {.n = 12, .l1 = 0.03, .l2 = 0.2};
    c.w = alloc_uniform(rng, 12, -1, 1);
    uint8_t m12[12];
    for (int i = 0; i < 12; i++)
        m12[i] = i % 4 != 3;
    c.mask = m12;
    double *gr = alloc_zero(12);
    nnxr_ref_regularize(12, c.w, m12, c.l1, c.l2, gr);
    fd_check("L1+L2 penalty dW", pen_f, &c, c.w, gr, 12);
    free(c.w), free(gr);

    /* on a model: only weights, never biases (AIive-style) */
    nnxr_ref_model m;
    nnxr_error err;
    nnxr_ref_mlp_config cfg = {.input = 2, .hidden = (const int[]){3}, .n_hidden = 1,
                               .act = NNXR_REF_TANH, .output = 2};
    CHECK(nnxr_ref_mlp_build(&m, &cfg, &err));
    double p[17], gm[17] = {0};
    uint8_t wm[17];
    fill_uniform(rng, 17, 0.1, 1, p);
    nnxr_ref_model_weight_mask(&m, wm);
    nnxr_ref_regularize(17, p, wm, 0.0, 0.5, gm);
    for (int i = 0; i < 17; i++) {
        bool bias = (i >= 6 && i < 9) || i >= 15;
        CHECKF(gm[i] == (bias ? 0.0 : 0.5 * p[i]), "model L2 entry %d", i);
    }
}

/* 3 Gaussian blobs in 2-D, 16 points each. */
static void blobs(nnxr_ref_rng *rng, double *x, int32_t *labels, int n)
{
    const double cx[3] = {-1, 1, 0}, cy[3] = {-0.5, -0.5, 1};
    for (int i = 0; i < n; i++) {
        labels[i] = i % 3;
        x[2 * i] = cx[i % 3] + 0.4 * nnxr_ref_rng_normal(rng);
        x[2 * i + 1] = cy[i % 3] + 0.4 * nnxr_ref_rng_normal(rng);
    }
}

/* Trains the model full-batch for `steps`; optimizer 0 = SGD-momentum, 1 = Adam. */
static double train(const nnxr_ref_model *m, double *p, const nnxr_ref_batch *b, int opt,
                    double lr, double mom, int steps, double *first)
{
    size_t n = m->param_count;
    double *g = alloc_zero(n), *s1 = alloc_zero(n), *s2 = alloc_zero(n);
    nnxr_ref_loss_parts l = {0};
    nnxr_error err = {{0}};
    for (int t = 1; t <= steps; t++) {
        if (!nnxr_ref_model_loss_grad(m, p, b, &l, g, &err)) {
            CHECKF(false, "train: %s", err.message);
            break;
        }
        if (t == 1 && first)
            *first = l.total;
        if (opt == 0)
            nnxr_ref_sgd_momentum_step(n, p, g, s1, lr, mom);
        else
            nnxr_ref_adam_step(n, p, g, s1, s2, t, lr, 0.9, 0.999, 1e-8);
    }
    CHECK(nnxr_ref_model_loss_grad(m, p, b, &l, NULL, &err));
    free(g), free(s1), free(s2);
    return l.total;
}

static void test_convergence(nnxr_ref_rng *rng)
{
    enum { N = 48 };
    double x[2 * N];
    int32_t labels[N];
    blobs(rng, x, labels, N);
    nnxr_ref_model m;
    nnxr_error err;
    nnxr_ref_mlp_config cfg = {.input = 2, .hidden = (const int[]){8}, .n_hidden = 1,
                               .act = NNXR_REF_TANH, .output = 3};
    CHECK(nnxr_ref_mlp_build(&m, &cfg, &err));
    nnxr_ref_batch b = {.n = N, .x = x, .labels = labels};
    double p0[51], p[51], first, last, plain;
    CHECK(m.param_count == 51);
    nnxr_ref_model_init(&m, p0, 11, NNXR_REF_INIT_AUTO);

    memcpy(p, p0, sizeof p);
    last = train(&m, p, &b, 0, 0.02, 0.9, 300, &first);
    printf("  SGD-momentum (lr 0.02, mu 0.9): loss %.4f -> %.4f after 300 steps\n", first, last);
    CHECKF(last < 0.25 * first, "SGD-momentum loss %g -> %g", first, last);
    memcpy(p, p0, sizeof p);
    plain = train(&m, p, &b, 0, 0.02, 0.0, 300, NULL);
    printf("  plain SGD    (lr 0.02, mu 0  ): loss %.4f -> %.4f after 300 steps\n", first, plain);
    CHECKF(last < plain, "momentum (%g) should beat plain SGD (%g) at the same lr", last, plain);

    memcpy(p, p0, sizeof p);
    last = train(&m, p, &b, 1, 0.01, 0, 300, &first);
    printf("  Adam (lr 0.01): loss %.4f -> %.4f after 300 steps\n", first, last);
    CHECKF(last < 0.25 * first, "Adam loss %g -> %g", first, last);
    double logits[3 * N];
    CHECK(nnxr_ref_model_predict(&m, p, N, x, logits, &err));
    double acc = nnxr_ref_accuracy(N, 3, logits, labels);
    printf("  Adam blobs accuracy %.3f\n", acc);
    CHECK(acc >= 0.9);
}

static void test_xor(void)
{
    const double x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    const int32_t labels[4] = {0, 1, 1, 0};
    nnxr_ref_model m;
    nnxr_error err;
    nnxr_ref_mlp_config cfg = {.input = 2, .hidden = (const int[]){4}, .n_hidden = 1,
                               .act = NNXR_REF_TANH, .output = 2};
    CHECK(nnxr_ref_mlp_build(&m, &cfg, &err));
    double p[22], logits[8], first;
    CHECK(m.param_count == 22);
    nnxr_ref_model_init(&m, p, 1, NNXR_REF_INIT_AUTO);
    nnxr_ref_batch b = {.n = 4, .x = x, .labels = labels};
    CHECK(nnxr_ref_model_predict(&m, p, 4, x, logits, &err));
    double acc0 = nnxr_ref_accuracy(4, 2, logits, labels);
    double last = train(&m, p, &b, 0, 0.1, 0.9, 500, &first);
    CHECK(nnxr_ref_model_predict(&m, p, 4, x, logits, &err));
    double acc = nnxr_ref_accuracy(4, 2, logits, labels);
    printf("  XOR 2-4-2 tanh, SGD-momentum 500 steps: loss %.4f -> %.5f, accuracy %.0f%% -> "
           "%.0f%%\n", first, last, 100 * acc0, 100 * acc);
    CHECK(acc == 1.0);
    CHECK(last < 0.05);
}

int main(void)
{
    nnxr_ref_rng rng;
    nnxr_ref_rng_seed(&rng, 77);
    test_sgd_step();
    test_adam_step();
    test_regularisation(&rng);
    test_convergence(&rng);
    test_xor();
    return check_finish();
}
