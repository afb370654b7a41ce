/* tests/unit/test_ref_layers.c — the single pieces of nn/ref: answers worked by hand for every
 * layer and loss, then central finite differences for every layer's dX, dW and db. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test_ref_util.h"

/* ------------------------------------------------------------------ known answers */

static void test_rng(void)
{
    /* The published splitmix64 sequence for seed 1234567 (the xoshiro authors' test vector). */
    nnxr_ref_rng r;
    nnxr_ref_rng_seed(&r, 1234567);
    const uint64_t want[5] = {6457827717110365317ull, 3203168211198807973ull,
                              9817491932198370423ull, 4593380528125082431ull,
                              16408922859458223821ull};
    for (int i = 0; i < 5; i++) {
        uint64_t got = nnxr_ref_rng_next(&r);
        CHECKF(got == want[i], "splitmix64 draw %d: %llu, expected %llu", i,
               (unsigned long long)got, (unsigned long long)want[i]);
    }
    nnxr_ref_rng_seed(&r, 7);
    double lo = 1, hi = 0, sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        double u = nnxr_ref_rng_uniform(&r);
        lo = fmin(lo, u);
        hi = fmax(hi, u);
        double z = nnxr_ref_rng_normal(&r);
        sum += z;
        sq += z * z;
    }
    CHECK(lo >= 0.0 && hi < 1.0 && lo < 0.001 && hi > 0.999);
    CHECK(fabs(sum / 20000) < 0.03 && fabs(sq / 20000 - 1.0) < 0.05);
    CHECK_CLOSE(nnxr_ref_glorot_limit(3, 5), sqrt(6.0 / 8.0), 1e-15);
    CHECK_CLOSE(nnxr_ref_he_limit(24), 0.5, 1e-15);
}

static void test_activations(void)
{
    CHECK(nnxr_ref_act_value(NNXR_REF_RELU, -2.0) == 0.0);
    CHECK(nnxr_ref_act_value(NNXR_REF_RELU, 3.0) == 3.0);
    CHECK(nnxr_ref_act_deriv(NNXR_REF_RELU, 0.0) == 0.0); /* documented: relu'(0) = 0 */
    CHECK(nnxr_ref_act_deriv(NNXR_REF_RELU, 1e-300) == 1.0);
    CHECK(nnxr_ref_act_deriv(NNXR_REF_RELU, -1.0) == 0.0);
    CHECK_CLOSE(nnxr_ref_act_value(NNXR_REF_SIGMOID, 0.0), 0.5, 1e-15);
    CHECK_CLOSE(nnxr_ref_act_value(NNXR_REF_SIGMOID, log(3.0)), 0.75, 1e-15);
    CHECK_CLOSE(nnxr_ref_act_deriv(NNXR_REF_SIGMOID, log(3.0)), 0.75 * 0.25, 1e-15);
    CHECK(nnxr_ref_act_value(NNXR_REF_SIGMOID, -800.0) >= 0.0);
    CHECK(nnxr_ref_act_value(NNXR_REF_SIGMOID, 800.0) == 1.0);
    CHECK_CLOSE(nnxr_ref_act_value(NNXR_REF_TANH, 0.5), 0.46211715726000974, 1e-15);
    CHECK_CLOSE(nnxr_ref_act_deriv(NNXR_REF_TANH, 0.5), 1.0 - 0.46211715726000974 *
                0.46211715726000974, 1e-15);
    CHECK(nnxr_ref_act_value(NNXR_REF_LINEAR, -7.25) == -7.25);
    CHECK(nnxr_ref_act_deriv(NNXR_REF_LINEAR, -7.25) == 1.0);
    CHECK(!strcmp(nnxr_ref_act_name(NNXR_REF_TANH), "tanh"));
    double z[3] = {-1, 0, 2}, dy[3] = {5, 6, 7}, dz[3];
    nnxr_ref_act_backward(NNXR_REF_RELU, 3, z, dy, dz);
    CHECK(dz[0] == 0 && dz[1] == 0 && dz[2] == 7);
}

static void test_dense_known(void)
{
    /* W = [[1,2,3],[4,5,6]], b = [0.5,-1]; x0 = [1,0,-1], x1 = [2,1,0].
     * y0 = [1-3+0.5, 4-6-1] = [-1.5, -3]; y1 = [2+2+0.5, 8+5-1] = [4.5, 12]. */
    const double w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {0.5, -1}, x[6] = {1, 0, -1, 2, 1, 0};
    double y[4];
    nnxr_ref_dense_forward(2, 3, 2, x, w, b, y);
    CHECK(y[0] == -1.5 && y[1] == -3 && y[2] == 4.5 && y[3] == 12);
    /* dy = [[1,0],[0,2]]: dx0 = W^T [1,0] = [1,2,3], dx1 = W^T [0,2] = [8,10,12];
     * dW = sum_n dy_n x_n^T = [[1,0,-1],[4,2,0]], db = [1,2]; added to dW = 1, db = 10. */
    const double dy[4] = {1, 0, 0, 2};
    double dx[6], dw[6] = {1, 1, 1, 1, 1, 1}, db[2] = {10, 10};
    nnxr_ref_dense_backward(2, 3, 2, x, w, dy, dx, dw, db);
    const double wdx[6] = {1, 2, 3, 8, 10, 12}, wdw[6] = {2, 1, 0, 5, 3, 1};
    for (int i = 0; i < 6; i++) {
        CHECKF(dx[i] == wdx[i], "dense dx[%d] = %g, expected %g", i, dx[i], wdx[i]);
        CHECKF(dw[i] == wdw[i], "dense dw[%d] = %g, expected %g", i, dw[i], wdw[i]);
    }
    CHECK(db[0] == 11 && db[1] == 12);
}

static void test_conv_known(void)
{
    /* x[a][b] = 4a + b + 1 on a 4x4 image; K = [[1,2,0],[0,0,0],[0,0,-1]], bias 0.5. As a
     * cross-correlation, y(i,j) = x[i-pt][j-pt] + 2 x[i-pt][j+1-pt] - x[i+2-pt][j+2-pt] + 0.5. */
    double x[16];
    for (int i = 0; i < 16; i++)
        x[i] = i + 1;
    const double k[9] = {1, 2, 0, 0, 0, 0, 0, 0, -1}, b = 0.5;
    nnxr_ref_conv2d c = {.batch = 1, .in_ch = 1, .in_h = 4, .in_w = 4, .out_ch = 1, .k = 3,
                         .pad = NNXR_REF_PAD_VALID};
    int oh, ow, pb;
    nnxr_error err = {{0}};
    CHECK(nnxr_ref_conv2d_dims(&c, &oh, &ow, &pb, &err) && oh == 2 && ow == 2 && pb == 0);
    /* valid: 8i + 2j - 6 + 0.5 */
    double y[16];
    nnxr_ref_conv2d_forward(&c, x, k, &b, y);
    const double wv[4] = {-5.5, -3.5, 2.5, 4.5};
    for (int i = 0; i < 4; i++)
        CHECKF(y[i] == wv[i], "valid conv y[%d] = %g, expected %g", i, y[i], wv[i]);
    /* same (pt = 1), worked cell by cell with zeros outside; the inner 2x2 equals "valid". */
    c.pad = NNXR_REF_PAD_SAME;
    CHECK(nnxr_ref_conv2d_dims(&c, &oh, &ow, &pb, &err) && oh == 4 && ow == 4 && pb == 1);
    nnxr_ref_conv2d_forward(&c, x, k, &b, y);
    const double ws[16] = {-5.5, -6.5, -7.5, 0.5, -7.5, -5.5, -3.5, 11.5,
                           -3.5, 2.5,  4.5,  23.5, 18.5, 29.5, 32.5, 35.5};
    for (int i = 0; i < 16; i++)
        CHECKF(y[i] == ws[i], "same conv y[%d] = %g, expected %g", i, y[i], ws[i]);

    /* Even k = 2, "same" on 3x3: pt = 0 and the zero row/column is at the bottom/right, so
     * K = [[0,0],[0,1]] reads x[i+1][j+1] (0 on the last row and column). */
    const double x3[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, k2[4] = {0, 0, 0, 1};
    nnxr_ref_conv2d c2 = {.batch = 1, .in_ch = 1, .in_h = 3, .in_w = 3, .out_ch = 1, .k = 2,
                          .pad = NNXR_REF_PAD_SAME};
    CHECK(nnxr_ref_conv2d_dims(&c2, &oh, &ow, &pb, &err) && oh == 3 && ow == 3 && pb == 0);
    double y3[9];
    nnxr_ref_conv2d_forward(&c2, x3, k2, NULL, y3);
    const double w3[9] = {5, 6, 0, 8, 9, 0, 0, 0, 0};
    for (int i = 0; i < 9; i++)
        CHECKF(y3[i] == w3[i], "even-k same conv y[%d] = %g, expected %g", i, y3[i], w3[i]);

    /* Two input and two output channels: channel sums and the kernel's [o][c] order.
     * Input planes A = all 1, B = all 2 (2x2); 1x1 kernels W[0] = [1, 10], W[1] = [-1, 0.5]. */
    const double xa[8] = {1, 1, 1, 1, 2, 2, 2, 2}, w11[4] = {1, 10, -1, 0.5}, b2[2] = {0, 3};
    nnxr_ref_conv2d c3 = {.batch = 1, .in_ch = 2, .in_h = 2, .in_w = 2, .out_ch = 2, .k = 1,
                          .pad = NNXR_REF_PAD_VALID};
    double y4[8];
    nnxr_ref_conv2d_forward(&c3, xa, w11, b2, y4);
    for (int i = 0; i < 4; i++)
        CHECK(y4[i] == 21 && y4[4 + i] == 3);

    /* Bad shapes are refused with a message, never computed. */
    nnxr_ref_conv2d bad = {.batch = 1, .in_ch = 1, .in_h = 2, .in_w = 4, .out_ch = 1, .k = 3,
                           .pad = NNXR_REF_PAD_VALID};
    CHECK(!nnxr_ref_conv2d_dims(&bad, &oh, &ow, &pb, &err));
    CHECK_CONTAINS(err.message, "valid");
    bad.k = 0;
    bad.pad = NNXR_REF_PAD_SAME;
    CHECK(!nnxr_ref_conv2d_dims(&bad, &oh, &ow, &pb, &err));
    CHECK_CONTAINS(err.message, "kernel size");
}

static void test_maxpool_known(void)
{
    /* 5x5 (odd: the last row and column are dropped), windows:
     *   (0,0): [3 3 / 3 3]  all tied      -> first, (0,0)
     *   (0,1): [1 7 / 7 2]  (0,1),(1,0)   -> (0,1)
     *   (1,0): [-5 -4 / -4 -9] negatives  -> (0,1) of the window
     *   (1,1): [0 1 / 2 2]  (1,0),(1,1)   -> (1,0)
     * row 4 and column 4 hold 100 and must be ignored. */
    const double x[25] = {3,  3,  1, 7, 100, 3,  3,  7, 2, 100, -5, -4, 0,
                          1,  100, -4, -9, 2, 2, 100, 100, 100, 100, 100, 100};
    double y[4];
    nnxr_ref_maxpool_forward(1, 1, 5, 5, x, y);
    CHECK(y[0] == 3 && y[1] == 7 && y[2] == -4 && y[3] == 2);
    const double dy[4] = {1, 2, 3, 4};
    double dx[25];
    for (int i = 0; i < 25; i++)
        dx[i] = -99; /* backward must overwrite everything */
    nnxr_ref_maxpool_backward(1, 1, 5, 5, x, dy, dx);
    double want[25] = {0};
    want[0] = 1;          /* (0,0) */
    want[3] = 2;          /* (0,3) */
    want[2 * 5 + 1] = 3;  /* (2,1) */
    want[3 * 5 + 2] = 4;  /* (3,2) */
    for (int i = 0; i < 25; i++)
        CHECKF(dx[i] == want[i], "maxpool dx[%d] = %g, expected %g", i, dx[i], want[i]);
}

static void test_flatten(void)
{
    const double x[6] = {1, 2, 3, 4, 5, 6};
    double y[6], d[6];
    nnxr_ref_flatten_forward(6, x, y);
    nnxr_ref_flatten_backward(6, y, d);
    CHECK(!memcmp(x, y, sizeof x) && !memcmp(x, d, sizeof x));
}

static void test_softmax_ce_known(void)
{
    nnxr_error err = {{0}};
    /* logits [1,2,3], label 2: CE = log(1 + e^-1 + e^-2) = 0.40760596444438..., grad p - e_2 */
    const double a[3] = {1, 2, 3};
    const int32_t lab[1] = {2};
    double loss = -1, d[3], p[3];
    CHECK(nnxr_ref_softmax_ce(1, 3, a, lab, NULL, &loss, d, &err));
    CHECK_CLOSE(loss, 0.40760596444438034, 1e-14);
    nnxr_ref_softmax(1, 3, a, p);
    const double wp[3] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
    for (int i = 0; i < 3; i++) {
        CHECK_CLOSE(p[i], wp[i], 1e-14);
        CHECK_CLOSE(d[i], wp[i] - (i == 2), 1e-14);
    }
    /* Masked batch of 3 with weights [1, 0, 0.5]; rows [1,2,3] (label 2), [9,9,9] (unlabeled,
     * label -1) and [0,0,0] (label 0, CE = ln 3): L = (0.40760596... + 0.5 ln 3) / 1.5. */
    const double a9[9] = {1, 2, 3, 9, 9, 9, 0, 0, 0};
    const int32_t l3[3] = {2, -1, 0};
    const double m3[3] = {1, 0, 0.5};
    double d9[9];
    CHECK(nnxr_ref_softmax_ce(3, 3, a9, l3, m3, &loss, d9, &err));
    CHECK_CLOSE(loss, (0.40760596444438034 + 0.5 * log(3.0)) / 1.5, 1e-14);
    for (int k = 0; k < 3; k++) {
        CHECK_CLOSE(d9[k], (wp[k] - (k == 2)) / 1.5, 1e-14);
        CHECK(d9[3 + k] == 0.0);
        CHECK_CLOSE(d9[6 + k], 0.5 * (1.0 / 3.0 - (k == 0)) / 1.5, 1e-14);
    }
    /* All weights 0: the max(1, .) keeps it finite: loss 0, gradient 0. */
    const double m0[3] = {0, 0, 0};
    CHECK(nnxr_ref_softmax_ce(3, 3, a9, l3, m0, &loss, d9, &err) && loss == 0.0);
    for (int i = 0; i < 9; i++)
        CHECK(d9[i] == 0.0);
    /* A fractional total below 1 divides by 1, not by the total. */
    const double ms[3] = {0.25, 0, 0};
    CHECK(nnxr_ref_softmax_ce(3, 3, a9, l3, ms, &loss, NULL, &err));
    CHECK_CLOSE(loss, 0.25 * 0.40760596444438034, 1e-14);
    /* Huge logits stay finite. */
    const double big[2] = {1000, 0};
    const int32_t l1[1] = {1};
    CHECK(nnxr_ref_softmax_ce(1, 2, big, l1, NULL, &loss, d, &err));
    CHECK_CLOSE(loss, 1000.0, 1e-14);
    CHECK_CLOSE(d[0], 1.0, 1e-14);
    CHECK_CLOSE(d[1], -1.0, 1e-14);
    /* Bad labels and weights are refused with a message. */
    const int32_t lbad[3] = {2, 3, 0};
    CHECK(!nnxr_ref_softmax_ce(3, 3, a9, lbad, NULL, &loss, NULL, &err));
    CHECK_CONTAINS(err.message, "label[1] = 3");
    const double mneg[3] = {1, -1, 0};
    CHECK(!nnxr_ref_softmax_ce(3, 3, a9, l3, mneg, &loss, NULL, &err));
    CHECK_CONTAINS(err.message, "mask[1]");
    double acc = nnxr_ref_accuracy(3, 3, a9, l3);
    CHECK_CLOSE(acc, 2.0 / 3.0, 1e-15); /* row 1 ties -> class 0 != -1; row 2 ties -> 0 */
}

static void test_regression_losses_known(void)
{
    /* MSE: y = [1,2], t = [0,4]: (1 + 4) / 2 = 2.5, dy = 2(y - t)/2 = [1, -2]. */
    const double y[2] = {1, 2}, t[2] = {0, 4};
    double dy[2];
    CHECK_CLOSE(nnxr_ref_mse(1, 2, y, t, dy), 2.5, 1e-15);
    CHECK(dy[0] == 1.0 && dy[1] == -2.0);
    /* the same numbers as a batch of 2 with 1 output: still mean over all = 2.5 */
    CHECK_CLOSE(nnxr_ref_mse(2, 1, y, t, dy), 2.5, 1e-15);

    /* BCE from logits: batch 2 x 3 pixels, summed over pixels, mean over the batch.
     * a = 0, t = 0.5: ln 2; a = ln 3 (s = 3/4), t = 1: -ln(3/4); a = ln 3, t = 0: -ln(1/4). */
    const double a[6] = {0, log(3.0), log(3.0), 0, 0, 0};
    const double tt[6] = {0.5, 1, 0, 0.5, 0.5, 0.5};
    double da[6];
    double want = (log(2.0) - log(0.75) - log(0.25) + 3 * log(2.0)) / 2.0;
    CHECK_CLOSE(nnxr_ref_bce_logits(2, 3, a, tt, da), want, 1e-14);
    CHECK_CLOSE(da[0], 0.0, 1e-15);
    CHECK_CLOSE(da[1], (0.75 - 1.0) / 2.0, 1e-15);
    CHECK_CLOSE(da[2], 0.75 / 2.0, 1e-15);
    /* Stable for huge logits, where the naive log(sigmoid) overflows to inf or -inf. */
    const double hl[2] = {800, -800}, ht[2] = {1, 1};
    double v = nnxr_ref_bce_logits(1, 2, hl, ht, NULL);
    CHECK(isfinite(v));
    CHECK_CLOSE(v, 800.0, 1e-14);

    /* Reparameterisation: mu 1, logvar 2 ln 3 (sigma 3), eps 0.5 -> 2.5. */
    const double mu[2] = {1, -1}, lv[2] = {2 * log(3.0), 0}, eps[2] = {0.5, 2};
    double z[2];
    nnxr_ref_reparam_forward(1, 2, mu, lv, eps, z);
    CHECK_CLOSE(z[0], 2.5, 1e-15);
    CHECK_CLOSE(z[1], 1.0, 1e-15);
    double dmu[2] = {10, 10}, dlv[2] = {10, 10};
    const double dz[2] = {1, 1};
    nnxr_ref_reparam_backward(1, 2, lv, eps, dz, dmu, dlv);
    CHECK(dmu[0] == 11 && dmu[1] == 11);                   /* added */
    CHECK_CLOSE(dlv[0], 10 + 0.5 * 0.5 * 3.0, 1e-14);       /* eps * sigma / 2 */
    CHECK_CLOSE(dlv[1], 10 + 2 * 0.5 * 1.0, 1e-14);

    /* KL: (mu 0, lv 0) -> 0; (mu 1, lv 0) -> 0.5; (mu 0, lv ln 2) -> (1 - ln 2)/2.
     * batch 1, d 3, beta 2 -> 2 * (0 + 0.5 + (1 - ln 2)/2). */
    const double kmu[3] = {0, 1, 0}, klv[3] = {0, 0, log(2.0)};
    double kdmu[3] = {0}, kdlv[3] = {0};
    double kl = nnxr_ref_kl(1, 3, kmu, klv, 2.0, kdmu, kdlv);
    CHECK_CLOSE(kl, 2.0 * (0.5 + 0.5 * (1 - log(2.0))), 1e-15);
    CHECK(kdmu[0] == 0 && kdmu[1] == 2.0 && kdmu[2] == 0);
    CHECK_CLOSE(kdlv[2], 2.0 * 0.5 * (2.0 - 1.0), 1e-15);
    CHECK(kdlv[0] == 0 && kdlv[1] == 0);
    /* the mean over the batch: the same sample twice gives the same value */
    const double k2mu[6] = {0, 1, 0, 0, 1, 0}, k2lv[6] = {0, 0, log(2.0), 0, 0, log(2.0)};
    CHECK_CLOSE(nnxr_ref_kl(2, 3, k2mu, k2lv, 2.0, NULL, NULL), kl, 1e-15);
}

/* ------------------------------------------------------------------ finite differences */

typedef struct dense_ctx {
    int batch, in, out;
    double *x, *w, *b, *r, *y;
} dense_ctx;

static double dense_f(void *p)
{
    dense_ctx *c = p;
    nnxr_ref_dense_forward(c->batch, c->in, c->out, c->x, c->w, c->b, c->y);
    double s = 0;
    for (int i = 0; i < c->batch * c->out; i++)
        s += c->r[i] * c->y[i];
    return s;
}

static void fd_dense(nnxr_ref_rng *rng)
{
    dense_ctx c = {.batch = 3, .in = 4, .out = 5};
    c.x = alloc_uniform(rng, 12, -1, 1);
    c.w = alloc_uniform(rng, 20, -1, 1);
    c.b = alloc_uniform(rng, 5, -1, 1);
    c.r = alloc_uniform(rng, 15, -1, 1);
    c.y = alloc_zero(15);
    double *dx = alloc_zero(12), *dw = alloc_zero(20), *db = alloc_zero(5);
    nnxr_ref_dense_backward(3, 4, 5, c.x, c.w, c.r, dx, dw, db);
    fd_check("dense dX", dense_f, &c, c.x, dx, 12);
    fd_check("dense dW", dense_f, &c, c.w, dw, 20);
    fd_check("dense db", dense_f, &c, c.b, db, 5);
    free(c.x), free(c.w), free(c.b), free(c.r), free(c.y), free(dx), free(dw), free(db);
}

typedef struct conv_ctx {
    nnxr_ref_conv2d c;
    size_t ny;
    double *x, *w, *b, *r, *y;
} conv_ctx;

static double conv_f(void *p)
{
    conv_ctx *c = p;
    nnxr_ref_conv2d_forward(&c->c, c->x, c->w, c->b, c->y);
    double s = 0;
    for (size_t i = 0; i < c->ny; i++)
        s += c->r[i] * c->y[i];
    return s;
}

static void fd_conv(nnxr_ref_rng *rng, int in_ch, int h, int w, int out_ch, int k,
                    nnxr_ref_pad pad)
{
    conv_ctx c = {.c = {.batch = 2, .in_ch = in_ch, .in_h = h, .in_w = w, .out_ch = out_ch,
                        .k = k, .pad = pad}};
    int oh, ow;
    nnxr_error err;
    CHECK(nnxr_ref_conv2d_dims(&c.c, &oh, &ow, NULL, &err));
    size_t nx = (size_t)2 * in_ch * h * w, nw = (size_t)out_ch * in_ch * k * k;
    c.ny = (size_t)2 * out_ch * oh * ow;
    c.x = alloc_uniform(rng, nx, -1, 1);
    c.w = alloc_uniform(rng, nw, -1, 1);
    c.b = alloc_uniform(rng, out_ch, -1, 1);
    c.r = alloc_uniform(rng, c.ny, -1, 1);
    c.y = alloc_zero(c.ny);
    double *dx = alloc_zero(nx), *dw = alloc_zero(nw), *db = alloc_zero(out_ch);
    nnxr_ref_conv2d_backward(&c.c, c.x, c.w, c.r, dx, dw, db);
    char name[96];
    const char *ps = pad == NNXR_REF_PAD_SAME ? "same" : "valid";
    snprintf(name, sizeof name, "conv %dx%dx%d k%d %s ->%d dX", in_ch, h, w, k, ps, out_ch);
    fd_check(name, conv_f, &c, c.x, dx, nx);
    snprintf(name, sizeof name, "conv %dx%dx%d k%d %s ->%d dW", in_ch, h, w, k, ps, out_ch);
    fd_check(name, conv_f, &c, c.w, dw, nw);
    snprintf(name, sizeof name, "conv %dx%dx%d k%d %s ->%d db", in_ch, h, w, k, ps, out_ch);
    fd_check(name, conv_f, &c, c.b, db, out_ch);
    free(c.x), free(c.w), free(c.b), free(c.r), free(c.y), free(dx), free(dw), free(db);
}

typedef struct pool_ctx {
    int batch, ch, h, w;
    double *x, *r, *y;
} pool_ctx;

static double pool_f(void *p)
{
    pool_ctx *c = p;
    nnxr_ref_maxpool_forward(c->batch, c->ch, c->h, c->w, c->x, c->y);
    double s = 0;
    for (int i = 0; i < c->batch * c->ch * (c->h / 2) * (c->w / 2); i++)
        s += c->r[i] * c->y[i];
    return s;
}

static void fd_maxpool(nnxr_ref_rng *rng)
{
    pool_ctx c = {.batch = 2, .ch = 3, .h = 7, .w = 5};
    size_t nx = 2 * 3 * 7 * 5, ny = 2 * 3 * 3 * 2;
    c.x = alloc_uniform(rng, nx, -1, 1);
    c.r = alloc_uniform(rng, ny, -1, 1);
    c.y = alloc_zero(ny);
    double *dx = alloc_zero(nx);
    nnxr_ref_maxpool_backward(2, 3, 7, 5, c.x, c.r, dx);
    fd_check("maxpool 3x7x5 dX", pool_f, &c, c.x, dx, nx);
    free(c.x), free(c.r), free(c.y), free(dx);
}

typedef struct act_ctx {
    nnxr_ref_act act;
    size_t n;
    double *z, *r, *y;
} act_ctx;

static double act_f(void *p)
{
    act_ctx *c = p;
    nnxr_ref_act_forward(c->act, c->n, c->z, c->y);
    double s = 0;
    for (size_t i = 0; i < c->n; i++)
        s += c->r[i] * c->y[i];
    return s;
}

static void fd_act(nnxr_ref_rng *rng, nnxr_ref_act a)
{
    act_ctx c = {.act = a, .n = 24};
    c.z = alloc_uniform(rng, c.n, -3, 3);
    c.r = alloc_uniform(rng, c.n, -1, 1);
    c.y = alloc_zero(c.n);
    double *dz = alloc_zero(c.n);
    nnxr_ref_act_backward(a, c.n, c.z, c.r, dz);
    char name[64];
    snprintf(name, sizeof name, "activation %s dZ", nnxr_ref_act_name(a));
    fd_check(name, act_f, &c, c.z, dz, c.n);
    free(c.z), free(c.r), free(c.y), free(dz);
}

typedef struct loss_ctx {
    int batch, n;
    double *a, *t, *mask, *mu, *lv, *eps, *r, *z, beta;
    int32_t *labels;
    int which; /* 0 ce, 1 mse, 2 bce, 3 reparam, 4 kl */
} loss_ctx;

static double loss_f(void *p)
{
    loss_ctx *c = p;
    double v = 0;
    switch (c->which) {
    case 0: {
        nnxr_error err;
        if (!nnxr_ref_softmax_ce(c->batch, c->n, c->a, c->labels, c->mask, &v, NULL, &err))
            return NAN;
        return v;
    }
    case 1: return nnxr_ref_mse(c->batch, c->n, c->a, c->t, NULL);
    case 2: return nnxr_ref_bce_logits(c->batch, c->n, c->a, c->t, NULL);
    case 3:
        nnxr_ref_reparam_forward(c->batch, c->n, c->mu, c->lv, c->eps, c->z);
        for (int i = 0; i < c->batch * c->n; i++)
            v += c->r[i] * c->z[i];
        return v;
    default: return nnxr_ref_kl(c->batch, c->n, c->mu, c->lv, c->beta, NULL, NULL);
    }
}

static void fd_losses(nnxr_ref_rng *rng)
{
    enum { B = 4, N = 5 };
    loss_ctx c = {.batch = B, .n = N, .beta = 0.7};
    c.a = alloc_uniform(rng, B * N, -3, 3);
    c.t = alloc_uniform(rng, B * N, 0, 1);
    c.mask = alloc_uniform(rng, B, 0.2, 1.5);
    c.mask[2] = 0.0;
    int32_t labels[B] = {1, 4, -1, 0};
    c.labels = labels;
    double *d = alloc_zero(B * N), *d2 = alloc_zero(B * N);
    nnxr_error err = {{0}};
    double v;
    c.which = 0;
    CHECK(nnxr_ref_softmax_ce(B, N, c.a, labels, c.mask, &v, d, &err));
    fd_check("softmax-CE masked dLogits", loss_f, &c, c.a, d, B * N);
    c.which = 1;
    nnxr_ref_mse(B, N, c.a, c.t, d);
    fd_check("MSE dY", loss_f, &c, c.a, d, B * N);
    c.which = 2;
    nnxr_ref_bce_logits(B, N, c.a, c.t, d);
    fd_check("BCE dLogits", loss_f, &c, c.a, d, B * N);

    c.mu = alloc_uniform(rng, B * N, -1, 1);
    c.lv = alloc_uniform(rng, B * N, -1, 1);
    c.eps = alloc_uniform(rng, B * N, -2, 2);
    c.r = alloc_uniform(rng, B * N, -1, 1);
    c.z = alloc_zero(B * N);
    c.which = 3;
    memset(d, 0, sizeof(double) * B * N);
    memset(d2, 0, sizeof(double) * B * N);
    nnxr_ref_reparam_backward(B, N, c.lv, c.eps, c.r, d, d2);
    fd_check("reparam dMu", loss_f, &c, c.mu, d, B * N);
    fd_check("reparam dLogvar", loss_f, &c, c.lv, d2, B * N);
    c.which = 4;
    memset(d, 0, sizeof(double) * B * N);
    memset(d2, 0, sizeof(double) * B * N);
    nnxr_ref_kl(B, N, c.mu, c.lv, c.beta, d, d2);
    fd_check("KL dMu", loss_f, &c, c.mu, d, B * N);
    fd_check("KL dLogvar", loss_f, &c, c.lv, d2, B * N);
    free(c.a), free(c.t), free(c.mask), free(c.mu), free(c.lv), free(c.eps), free(c.r);
    free(c.z), free(d), free(d2);
}

int main(void)
{
    test_rng();
    test_activations();
    test_dense_known();
    test_conv_known();
    test_maxpool_known();
    test_flatten();
    test_softmax_ce_known();
    test_regression_losses_known();

    nnxr_ref_rng rng;
    nnxr_ref_rng_seed(&rng, 42);
    fd_dense(&rng);
    fd_conv(&rng, 3, 7, 5, 4, 3, NNXR_REF_PAD_SAME);
    fd_conv(&rng, 3, 7, 5, 4, 3, NNXR_REF_PAD_VALID);
    fd_conv(&rng, 2, 6, 5, 3, 2, NNXR_REF_PAD_SAME);
    fd_conv(&rng, 2, 6, 5, 3, 4, NNXR_REF_PAD_VALID);
    fd_conv(&rng, 2, 5, 7, 3, 5, NNXR_REF_PAD_SAME);
    fd_conv(&rng, 4, 3, 3, 2, 1, NNXR_REF_PAD_SAME);
    fd_maxpool(&rng);
    fd_act(&rng, NNXR_REF_LINEAR);
    fd_act(&rng, NNXR_REF_RELU);
    fd_act(&rng, NNXR_REF_TANH);
    fd_act(&rng, NNXR_REF_SIGMOID);
    fd_losses(&rng);
    return check_finish();
}
