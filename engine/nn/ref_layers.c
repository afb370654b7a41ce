/* nn/ref_layers.c — the CPU reference (double precision) of the single pieces: PRNG and init
 * limits, activations, dense, conv2d, maxpool, flatten, the losses, the VAE pieces and the
 * optimizers. Layouts and formulas are fixed in nn/ref.h; this file follows them literally, in
 * the plainest loops, because it is the oracle the GPU kernels are held to. */
#include "nn/ref.h"

#include <math.h>
#include <string.h>

#include "core/status.h"

/* ------------------------------------------------------------------ random numbers and init */

void nnxr_ref_rng_seed(nnxr_ref_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t nnxr_ref_rng_next(nnxr_ref_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double nnxr_ref_rng_uniform(nnxr_ref_rng *r)
{
    return (double)(nnxr_ref_rng_next(r) >> 11) * 0x1.0p-53;
}

double nnxr_ref_rng_normal(nnxr_ref_rng *r)
{
    /* 1 - u lies in (0, 1], so the logarithm is finite. */
    double u1 = 1.0 - nnxr_ref_rng_uniform(r);
    double u2 = nnxr_ref_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double nnxr_ref_glorot_limit(int fan_in, int fan_out)
{
    int s = fan_in + fan_out;
    return s > 0 ? sqrt(6.0 / (double)s) : 0.0;
}

double nnxr_ref_he_limit(int fan_in)
{
    return fan_in > 0 ? sqrt(6.0 / (double)fan_in) : 0.0;
}

void nnxr_ref_init_uniform(nnxr_ref_rng *r, size_t n, double limit, double *w)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (2.0 * nnxr_ref_rng_uniform(r) - 1.0) * limit;
}

/* ------------------------------------------------------------------ activations */

const char *nnxr_ref_act_name(nnxr_ref_act a)
{
    switch (a) {
    case NNXR_REF_LINEAR: return "linear";
    case NNXR_REF_RELU: return "relu";
    case NNXR_REF_TANH: return "tanh";
    case NNXR_REF_SIGMOID: return "sigmoid";
    }
    return "unknown";
}

static double sigmoid(double z)
{
    /* exp of a non-positive number only, so neither branch overflows. */
    if (z >= 0.0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

double nnxr_ref_act_value(nnxr_ref_act a, double z)
{
    switch (a) {
    case NNXR_REF_RELU: return z > 0.0 ? z : 0.0;
    case NNXR_REF_TANH: return tanh(z);
    case NNXR_REF_SIGMOID: return sigmoid(z);
    case NNXR_REF_LINEAR: break;
    }
    return z;
}

double nnxr_ref_act_deriv(nnxr_ref_act a, double z)
{
    switch (a) {
    case NNXR_REF_RELU: return z > 0.0 ? 1.0 : 0.0;
    case NNXR_REF_TANH: {
        double t = tanh(z);
        return 1.0 - t * t;
    }
    case NNXR_REF_SIGMOID: {
        double s = sigmoid(z);
        return s * (1.0 - s);
    }
    case NNXR_REF_LINEAR: break;
    }
    return 1.0;
}

void nnxr_ref_act_forward(nnxr_ref_act a, size_t n, const double *z, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = nnxr_ref_act_value(a, z[i]);
}

void nnxr_ref_act_backward(nnxr_ref_act a, size_t n, const double *z, const double *dy, double *dz)
{
    for (size_t i = 0; i < n; i++)
        dz[i] = dy[i] * nnxr_ref_act_deriv(a, z[i]);
}

/* ------------------------------------------------------------------ dense */

void nnxr_ref_dense_forward(int batch, int in, int out, const double *x, const double *w,
                            const double *b, double *y)
{
    for (int n = 0; n < batch; n++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int i = 0; i < in; i++)
                s += w[(size_t)o * in + i] * x[(size_t)n * in + i];
            y[(size_t)n * out + o] = s;
        }
}

void nnxr_ref_dense_backward(int batch, int in, int out, const double *x, const double *w,
                             const double *dy, double *dx, double *dw, double *db)
{
    if (dx)
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < in; i++) {
                double s = 0.0;
                for (int o = 0; o < out; o++)
                    s += w[(size_t)o * in + i] * dy[(size_t)n * out + o];
                dx[(size_t)n * in + i] = s;
            }
    if (dw)
        for (int o = 0; o < out; o++)
            for (int i = 0; i < in; i++) {
                double s = 0.0;
                for (int n = 0; n < batch; n++)
                    s += dy[(size_t)n * out + o] * x[(size_t)n * in + i];
                dw[(size_t)o * in + i] += s;
            }
    if (db)
        for (int o = 0; o < out; o++) {
            double s = 0.0;
            for (int n = 0; n < batch; n++)
                s += dy[(size_t)n * out + o];
            db[o] += s;
        }
}

/* ------------------------------------------------------------------ conv2d */

bool nnxr_ref_conv2d_dims(const nnxr_ref_conv2d *c, int *out_h, int *out_w, int *pad_before,
                          nnxr_error *err)
{
    if (c->batch < 0 || c->in_ch < 1 || c->in_h < 1 || c->in_w < 1 || c->out_ch < 1)
        return nnxr_fail(err, "nn/ref conv2d: sizes must be >= 1 (got batch %d, in %dx%dx%d, "
                         "out_ch %d)", c->batch, c->in_ch, c->in_h, c->in_w, c->out_ch);
    if (c->k < 1)
        return nnxr_fail(err, "nn/ref conv2d: kernel size must be >= 1, got %d", c->k);
    int oh, ow, pb;
    if (c->pad == NNXR_REF_PAD_SAME) {
        oh = c->in_h;
        ow = c->in_w;
        pb = (c->k - 1) / 2;
    } else if (c->pad == NNXR_REF_PAD_VALID) {
        oh = c->in_h - c->k + 1;
        ow = c->in_w - c->k + 1;
        pb = 0;
        if (oh < 1 || ow < 1)
            return nnxr_fail(err, "nn/ref conv2d: a %dx%d kernel with \"valid\" padding needs an "
                             "image of at least %dx%d, got %dx%d", c->k, c->k, c->k, c->k,
                             c->in_h, c->in_w);
    } else {
        return nnxr_fail(err, "nn/ref conv2d: padding must be valid or same, got %d",
                         (int)c->pad);
    }
    if (out_h)
        *out_h = oh;
    if (out_w)
        *out_w = ow;
    if (pad_before)
        *pad_before = pb;
    return true;
}

/* Index helpers: images [n][c][h][w], weights [o][c][p][q]. */
static size_t img_at(int C, int H, int W, int n, int c, int y, int x)
{
    return (((size_t)n * C + c) * H + y) * W + x;
}

static size_t ker_at(int Ci, int K, int o, int c, int p, int q)
{
    return (((size_t)o * Ci + c) * K + p) * K + q;
}

void nnxr_ref_conv2d_forward(const nnxr_ref_conv2d *c, const double *x, const double *w,
                             const double *b, double *y)
{
    int oh, ow, pb;
    if (!nnxr_ref_conv2d_dims(c, &oh, &ow, &pb, NULL))
        return;
    for (int n = 0; n < c->batch; n++)
        for (int o = 0; o < c->out_ch; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double s = b ? b[o] : 0.0;
                    for (int ci = 0; ci < c->in_ch; ci++)
                        for (int p = 0; p < c->k; p++)
                            for (int q = 0; q < c->k; q++) {
                                int yy = i + p - pb, xx = j + q - pb;
                                if (yy < 0 || yy >= c->in_h || xx < 0 || xx >= c->in_w)
                                    continue;
                                s += w[ker_at(c->in_ch, c->k, o, ci, p, q)] *
                                     x[img_at(c->in_ch, c->in_h, c->in_w, n, ci, yy, xx)];
                            }
                    y[img_at(c->out_ch, oh, ow, n, o, i, j)] = s;
                }
}

void nnxr_ref_conv2d_backward(const nnxr_ref_conv2d *c, const double *x, const double *w,
                              const double *dy, double *dx, double *dw, double *db)
{
    int oh, ow, pb;
    if (!nnxr_ref_conv2d_dims(c, &oh, &ow, &pb, NULL))
        return;
    if (dx)
        memset(dx, 0, sizeof *dx * (size_t)c->batch * c->in_ch * c->in_h * c->in_w);
    /* Scatter form: each output gradient goes back along exactly the products that made it. */
    for (int n = 0; n < c->batch; n++)
        for (int o = 0; o < c->out_ch; o++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double g = dy[img_at(c->out_ch, oh, ow, n, o, i, j)];
                    if (db)
                        db[o] += g;
                    for (int ci = 0; ci < c->in_ch; ci++)
                        for (int p = 0; p < c->k; p++)
                            for (int q = 0; q < c->k; q++) {
                                int yy = i + p - pb, xx = j + q - pb;
                                if (yy < 0 || yy >= c->in_h || xx < 0 || xx >= c->in_w)
                                    continue;
                                size_t xi = img_at(c->in_ch, c->in_h, c->in_w, n, ci, yy, xx);
                                size_t wi = ker_at(c->in_ch, c->k, o, ci, p, q);
                                if (dw)
                                    dw[wi] += g * x[xi];
                                if (dx)
                                    dx[xi] += g * w[wi];
                            }
                }
}

/* ------------------------------------------------------------------ maxpool, flatten */

/* Offset (dy*2 + dx) of the first maximum of the 2x2 window at output (i, j). */
static int pool_argmax(const double *plane, int w, int i, int j)
{
    int best = 0;
    double bv = plane[(size_t)(2 * i) * w + 2 * j];
    for (int t = 1; t < 4; t++) {
        double v = plane[(size_t)(2 * i + t / 2) * w + 2 * j + t % 2];
        if (v > bv) {
            bv = v;
            best = t;
        }
    }
    return best;
}

void nnxr_ref_maxpool_forward(int batch, int ch, int h, int w, const double *x, double *y)
{
    int oh = h / 2, ow = w / 2;
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < ch; c++) {
            const double *plane = x + img_at(ch, h, w, n, c, 0, 0);
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int t = pool_argmax(plane, w, i, j);
                    y[img_at(ch, oh, ow, n, c, i, j)] =
                        plane[(size_t)(2 * i + t / 2) * w + 2 * j + t % 2];
                }
        }
}

void nnxr_ref_maxpool_backward(int batch, int ch, int h, int w, const double *x,
                               const double *dy, double *dx)
{
    if (batch <= 0 || ch <= 0 || h <= 0 || w <= 0)
        return;
    int oh = h / 2, ow = w / 2;
    memset(dx, 0, sizeof *dx * (size_t)batch * ch * h * w);
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < ch; c++) {
            const double *plane = x + img_at(ch, h, w, n, c, 0, 0);
            double *dplane = dx + img_at(ch, h, w, n, c, 0, 0);
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int t = pool_argmax(plane, w, i, j);
                    dplane[(size_t)(2 * i + t / 2) * w + 2 * j + t % 2] +=
                        dy[img_at(ch, oh, ow, n, c, i, j)];
                }
        }
}

void nnxr_ref_flatten_forward(size_t count, const double *x, double *y)
{
    if (count && x != y)
        memmove(y, x, sizeof *x * count);
}

void nnxr_ref_flatten_backward(size_t count, const double *dy, double *dx)
{
    if (count && dx != dy)
        memmove(dx, dy, sizeof *dy * count);
}

/* ------------------------------------------------------------------ losses */

void nnxr_ref_softmax(int batch, int classes, const double *logits, double *probs)
{
    for (int n = 0; n < batch; n++) {
        const double *a = logits + (size_t)n * classes;
        double *p = probs + (size_t)n * classes;
        double mx = -INFINITY;
        for (int k = 0; k < classes; k++)
            mx = fmax(mx, a[k]);
        double s = 0.0;
        for (int k = 0; k < classes; k++)
            s += (p[k] = exp(a[k] - mx));
        for (int k = 0; k < classes; k++)
            p[k] /= s;
    }
}

bool nnxr_ref_softmax_ce(int batch, int classes, const double *logits, const int32_t *labels,
                         const double *mask, double *loss, double *dlogits, nnxr_error *err)
{
    if (batch < 0 || classes < 1)
        return nnxr_fail(err, "nn/ref softmax_ce: need batch >= 0 and classes >= 1, got %d, %d",
                         batch, classes);
    double msum = 0.0;
    for (int n = 0; n < batch; n++) {
        double m = mask ? mask[n] : 1.0;
        if (!isfinite(m) || m < 0.0)
            return nnxr_fail(err, "nn/ref softmax_ce: mask[%d] = %g, expected a finite weight "
                             ">= 0", n, m);
        if (m != 0.0 && (labels[n] < 0 || labels[n] >= classes))
            return nnxr_fail(err, "nn/ref softmax_ce: label[%d] = %d, expected 0..%d", n,
                             (int)labels[n], classes - 1);
        msum += m;
    }
    double den = fmax(1.0, msum);
    double total = 0.0;
    for (int n = 0; n < batch; n++) {
        double m = mask ? mask[n] : 1.0;
        const double *a = logits + (size_t)n * classes;
        double mx = -INFINITY;
        for (int k = 0; k < classes; k++)
            mx = fmax(mx, a[k]);
        double s = 0.0;
        for (int k = 0; k < classes; k++)
            s += exp(a[k] - mx);
        double lse = mx + log(s);
        if (m != 0.0)
            total += m * (lse - a[labels[n]]);
        if (dlogits) {
            double *d = dlogits + (size_t)n * classes;
            for (int k = 0; k < classes; k++) {
                double p = exp(a[k] - lse);
                double onehot = (m != 0.0 && k == labels[n]) ? 1.0 : 0.0;
                d[k] = m * (p - onehot) / den;
            }
        }
    }
    *loss = total / den;
    return true;
}

double nnxr_ref_mse(int batch, int outputs, const double *y, const double *t, double *dy)
{
    size_t count = (size_t)(batch > 0 ? batch : 0) * (size_t)(outputs > 0 ? outputs : 0);
    if (count == 0)
        return 0.0;
    double s = 0.0;
    for (size_t i = 0; i < count; i++) {
        double e = y[i] - t[i];
        s += e * e;
        if (dy)
            dy[i] = 2.0 * e / (double)count;
    }
    return s / (double)count;
}

double nnxr_ref_bce_logits(int batch, int features, const double *logits, const double *t,
                           double *dlogits)
{
    if (batch <= 0 || features <= 0)
        return 0.0;
    size_t count = (size_t)batch * features;
    double s = 0.0;
    for (size_t i = 0; i < count; i++) {
        double a = logits[i];
        /* -(t log s + (1-t) log(1-s)) rewritten so exp only sees -|a|. */
        s += fmax(a, 0.0) - a * t[i] + log1p(exp(-fabs(a)));
        if (dlogits)
            dlogits[i] = (sigmoid(a) - t[i]) / (double)batch;
    }
    return s / (double)batch;
}

void nnxr_ref_reparam_forward(int batch, int d, const double *mu, const double *logvar,
                              const double *eps, double *z)
{
    size_t count = (size_t)(batch > 0 ? batch : 0) * (size_t)(d > 0 ? d : 0);
    for (size_t i = 0; i < count; i++)
        z[i] = mu[i] + exp(0.5 * logvar[i]) * eps[i];
}

void nnxr_ref_reparam_backward(int batch, int d, const double *logvar, const double *eps,
                               const double *dz, double *dmu, double *dlogvar)
{
    size_t count = (size_t)(batch > 0 ? batch : 0) * (size_t)(d > 0 ? d : 0);
    for (size_t i = 0; i < count; i++) {
        if (dmu)
            dmu[i] += dz[i];
        if (dlogvar)
            dlogvar[i] += dz[i] * eps[i] * 0.5 * exp(0.5 * logvar[i]);
    }
}

double nnxr_ref_kl(int batch, int d, const double *mu, const double *logvar, double beta,
                   double *dmu, double *dlogvar)
{
    if (batch <= 0 || d <= 0)
        return 0.0;
    size_t count = (size_t)batch * d;
    double s = 0.0;
    for (size_t i = 0; i < count; i++) {
        s += -0.5 * (1.0 + logvar[i] - mu[i] * mu[i] - exp(logvar[i]));
        if (dmu)
            dmu[i] += beta * mu[i] / (double)batch;
        if (dlogvar)
            dlogvar[i] += beta * 0.5 * (exp(logvar[i]) - 1.0) / (double)batch;
    }
    return beta * s / (double)batch;
}

double nnxr_ref_accuracy(int batch, int classes, const double *logits, const int32_t *labels)
{
    if (batch <= 0 || classes <= 0)
        return 0.0;
    int right = 0;
    for (int n = 0; n < batch; n++) {
        const double *a = logits + (size_t)n * classes;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (a[k] > a[best])
                best = k;
        right += best == labels[n];
    }
    return (double)right / (double)batch;
}

/* ------------------------------------------------------------------ optimizers */

void nnxr_ref_sgd_momentum_step(size_t n, double *w, const double *g, double *delta, double lr,
                                double momentum)
{
    for (size_t i = 0; i < n; i++) {
        delta[i] = momentum * delta[i] - lr * g[i];
        w[i] += delta[i];
    }
}

void nnxr_ref_adam_step(size_t n, double *w, const double *g, double *m, double *v, int64_t t,
                        double lr, double beta1, double beta2, double eps)
{
    if (t < 1)
        t = 1; /* the bias correction divides by 1 - beta^t, zero at t = 0 */
    double c1 = 1.0 - pow(beta1, (double)t);
    double c2 = 1.0 - pow(beta2, (double)t);
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0 - beta2) * g[i] * g[i];
        double mhat = m[i] / c1, vhat = v[i] / c2;
        w[i] -= lr * mhat / (sqrt(vhat) + eps);
    }
}

static double sign0(double x)
{
    return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : 0.0;
}

void nnxr_ref_regularize(size_t n, const double *w, const uint8_t *is_weight, double l1,
                         double l2, double *g)
{
    for (size_t i = 0; i < n; i++)
        if (!is_weight || is_weight[i])
            g[i] += l1 * sign0(w[i]) + l2 * w[i];
}

double nnxr_ref_reg_penalty(size_t n, const double *w, const uint8_t *is_weight, double l1,
                            double l2)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        if (!is_weight || is_weight[i])
            s += l1 * fabs(w[i]) + 0.5 * l2 * w[i] * w[i];
    return s;
}
