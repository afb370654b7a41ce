/* tests/unit/test_ref_models.c — whole models of nn/ref: the layer-list parser and shapes,
 * initialisation, and central finite differences through an MLP (classification with a mask and
 * regression), CNNs with odd image sizes, and VAEs with a classifier head and a label mask. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "test_ref_util.h"

typedef struct model_ctx {
    nnxr_ref_model *m;
    double *params;
    nnxr_ref_batch *b;
} model_ctx;

static double model_f(void *p)
{
    model_ctx *c = p;
    nnxr_ref_loss_parts l;
    nnxr_error err;
    if (!nnxr_ref_model_loss_grad(c->m, c->params, c->b, &l, NULL, &err))
        return NAN;
    return l.total;
}

/* FD over every parameter of the model; returns the analytic gradient (caller frees). */
static double *fd_model(const char *what, nnxr_ref_model *m, double *params, nnxr_ref_batch *b)
{
    double *g = alloc_zero(m->param_count);
    nnxr_ref_loss_parts l;
    nnxr_error err = {{0}};
    bool ok = nnxr_ref_model_loss_grad(m, params, b, &l, g, &err);
    CHECKF(ok, "%s: %s", what, err.message);
    CHECKF(isfinite(l.total) && l.total > 0, "%s: loss %g", what, l.total);
    model_ctx c = {m, params, b};
    fd_check(what, model_f, &c, params, g, m->param_count);
    return g;
}

/* ------------------------------------------------------------------ parser and shapes */

static void test_parse(void)
{
    nnxr_ref_layer_spec s[NNXR_REF_MAX_LAYERS];
    int n = 0;
    nnxr_error err = {{0}};
    const char *text = "conv(16,3,same)-relu-conv(32,3,same)-relu-maxpool-flatten-dense(64)-"
                       "relu-dense(64)-relu-dense(10)";
    CHECKF(nnxr_ref_layers_parse(text, s, NNXR_REF_MAX_LAYERS, &n, &err), "%s", err.message);
    CHECK(n == 11);
    CHECK(s[0].kind == NNXR_REF_CONV2D && s[0].units == 16 && s[0].k == 3 &&
          s[0].pad == NNXR_REF_PAD_SAME);
    CHECK(s[1].kind == NNXR_REF_ACT && s[1].act == NNXR_REF_RELU);
    CHECK(s[4].kind == NNXR_REF_MAXPOOL && s[5].kind == NNXR_REF_FLATTEN);
    CHECK(s[10].kind == NNXR_REF_DENSE && s[10].units == 10);
    nnxr_ref_model m;
    CHECKF(nnxr_ref_cnn_build(&m, 1, 28, 28, s, n, NNXR_REF_LOSS_SOFTMAX_CE, &err), "%s",
           err.message);
    /* conv16: 16*1*9+16 = 160; conv32: 32*16*9+32 = 4640; 28/2 = 14, flatten 32*14*14 = 6272;
     * dense64: 6272*64+64 = 401472; dense64: 64*64+64 = 4160; dense10: 64*10+10 = 650. */
    CHECKF(m.param_count == 411082, "param_count %zu", m.param_count);
    CHECK(m.net.layers[4].out_c == 32 && m.net.layers[4].out_h == 14 &&
          m.net.layers[4].out_w == 14);
    CHECK(m.net.layers[5].out_c == 6272 && m.net.layers[5].out_h == 1);
    CHECK(m.net.layers[2].w_offset == 160 && m.net.layers[2].b_offset == 160 + 4608);
    CHECK(nnxr_ref_net_out_size(&m.net) == 10);

    /* spaces, defaults (same), valid, other activations */
    CHECK(nnxr_ref_layers_parse(" conv( 4 , 5 ) - tanh -conv(2,3,valid)-sigmoid - linear", s,
                                NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK(n == 5 && s[0].k == 5 && s[0].pad == NNXR_REF_PAD_SAME && s[2].pad ==
          NNXR_REF_PAD_VALID && s[3].act == NNXR_REF_SIGMOID && s[4].act == NNXR_REF_LINEAR);

    /* errors name the place and what was expected */
    CHECK(!nnxr_ref_layers_parse("conv(16)-relu", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK_CONTAINS(err.message, "conv(channels, kernel");
    CHECK(!nnxr_ref_layers_parse("dense(0)", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK_CONTAINS(err.message, "dense(units)");
    CHECK(!nnxr_ref_layers_parse("relu-softplus", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK_CONTAINS(err.message, "unknown layer \"softplus\"");
    CHECK_CONTAINS(err.message, "column 6");
    CHECK(!nnxr_ref_layers_parse("conv(4,3,full)", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK_CONTAINS(err.message, "same or valid");
    CHECK(!nnxr_ref_layers_parse("relu relu", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK_CONTAINS(err.message, "expected '-'");
    CHECK(!nnxr_ref_layers_parse("", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK(!nnxr_ref_layers_parse("relu-relu-relu", s, 2, &n, &err));
    CHECK_CONTAINS(err.message, "more than 2");
    CHECK(!nnxr_ref_layers_parse("dense(3)-", s, NNXR_REF_MAX_LAYERS, &n, &err));

    /* shape errors at build */
    CHECK(nnxr_ref_layers_parse("conv(4,3)-dense(10)", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK(!nnxr_ref_cnn_build(&m, 1, 8, 8, s, n, NNXR_REF_LOSS_SOFTMAX_CE, &err));
    CHECK_CONTAINS(err.message, "flatten");
    CHECK(nnxr_ref_layers_parse("conv(4,5,valid)-flatten-dense(2)", s, NNXR_REF_MAX_LAYERS, &n,
                                &err));
    CHECK(!nnxr_ref_cnn_build(&m, 1, 4, 9, s, n, NNXR_REF_LOSS_SOFTMAX_CE, &err));
    CHECK_CONTAINS(err.message, "layer 1");
    CHECK(nnxr_ref_layers_parse("maxpool-maxpool-flatten", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK(!nnxr_ref_cnn_build(&m, 1, 3, 3, s, n, NNXR_REF_LOSS_SOFTMAX_CE, &err));
    CHECK_CONTAINS(err.message, "maxpool");
    CHECK(nnxr_ref_layers_parse("conv(4,3)", s, NNXR_REF_MAX_LAYERS, &n, &err));
    CHECK(!nnxr_ref_cnn_build(&m, 1, 3, 3, s, n, NNXR_REF_LOSS_SOFTMAX_CE, &err));
    CHECK_CONTAINS(err.message, "flat vector");
    nnxr_ref_mlp_config bad = {.input = 4, .hidden = (const int[]){3, 0}, .n_hidden = 2,
                               .output = 2};
    CHECK(!nnxr_ref_mlp_build(&m, &bad, &err));
    CHECK_CONTAINS(err.message, "hidden layer 2 has 0 units");
}

/* ------------------------------------------------------------------ initialisation */

static void test_init(void)
{
    nnxr_ref_model m;
    nnxr_error err = {{0}};
    nnxr_ref_mlp_config cfg = {.input = 4, .hidden = (const int[]){8}, .n_hidden = 1,
                               .act = NNXR_REF_RELU, .output = 3};
    CHECK(nnxr_ref_mlp_build(&m, &cfg, &err));
    CHECK(m.param_count == 4 * 8 + 8 + 8 * 3 + 3);
    double a[67], b[67], c[67];
    nnxr_ref_model_init(&m, a, 5, NNXR_REF_INIT_AUTO);
    nnxr_ref_model_init(&m, b, 5, NNXR_REF_INIT_AUTO);
    nnxr_ref_model_init(&m, c, 6, NNXR_REF_INIT_AUTO);
    CHECK(!memcmp(a, b, sizeof a));
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* the first layer feeds relu: He, limit sqrt(6/4); well above Glorot's sqrt(6/12) */
    double he = sqrt(6.0 / 4.0), gl0 = sqrt(6.0 / 12.0), gl1 = sqrt(6.0 / 11.0);
    double mx0 = 0, mx1 = 0;
    for (int i = 0; i < 32; i++)
        mx0 = fmax(mx0, fabs(a[i]));
    for (int i = 40; i < 64; i++)
        mx1 = fmax(mx1, fabs(a[i]));
    CHECKF(mx0 <= he && mx0 > gl0, "first layer max |w| %g (He %g, Glorot %g)", mx0, he, gl0);
    CHECKF(mx1 <= gl1 && mx1 > 0.5 * gl1, "output layer max |w| %g (Glorot %g)", mx1, gl1);
    for (int i = 32; i < 40; i++)
        CHECK(a[i] == 0.0);
    CHECK(a[64] == 0.0 && a[65] == 0.0 && a[66] == 0.0);
    /* the first weight is the first draw of splitmix64(5), scaled */
    nnxr_ref_rng r;
    nnxr_ref_rng_seed(&r, 5);
    CHECK(a[0] == (2.0 * nnxr_ref_rng_uniform(&r) - 1.0) * he);
    nnxr_ref_model_init(&m, b, 5, NNXR_REF_INIT_GLOROT);
    CHECK_CLOSE(b[0], a[0] / he * gl0, 1e-15);
    uint8_t mask[67];
    nnxr_ref_model_weight_mask(&m, mask);
    int nw = 0;
    for (int i = 0; i < 67; i++)
        nw += mask[i];
    CHECK(nw == 32 + 24 && mask[0] && !mask[32] && mask[40] && !mask[66]);
}

/* ------------------------------------------------------------------ whole-model gradients */

static void test_mlp(nnxr_ref_rng *rng)
{
    nnxr_error err = {{0}};
    const nnxr_ref_act acts[3] = {NNXR_REF_TANH, NNXR_REF_RELU, NNXR_REF_SIGMOID};
    for (int k = 0; k < 3; k++) {
        nnxr_ref_model m;
        nnxr_ref_mlp_config cfg = {.input = 4, .hidden = (const int[]){6, 5}, .n_hidden = 2,
                                   .act = acts[k], .output = 3};
        CHECK(nnxr_ref_mlp_build(&m, &cfg, &err));
        double *p = alloc_zero(m.param_count);
        nnxr_ref_model_init(&m, p, 100 + k, NNXR_REF_INIT_AUTO);
        fill_uniform(rng, m.param_count, -0.8, 0.8, p); /* non-zero biases too */
        double *x = alloc_uniform(rng, 5 * 4, -1.5, 1.5);
        int32_t labels[5] = {0, 2, 1, -1, 2};
        double mask[5] = {1, 0.5, 2, 0, 1};
        nnxr_ref_batch b = {.n = 5, .x = x, .labels = labels, .mask = mask};
        char name[64];
        snprintf(name, sizeof name, "mlp 4-6-5-3 %s softmax-CE masked", nnxr_ref_act_name(acts[k]));
        free(fd_model(name, &m, p, &b));

        /* predict gives the logits the loss was computed from */
        double logits[15], ce;
        nnxr_ref_loss_parts l;
        CHECK(nnxr_ref_model_predict(&m, p, 5, x, logits, &err));
        CHECK(nnxr_ref_softmax_ce(5, 3, logits, labels, mask, &ce, NULL, &err));
        CHECK(nnxr_ref_model_loss_grad(&m, p, &b, &l, NULL, &err));
        CHECK_CLOSE(l.total, ce, 1e-15);
        CHECK(l.data == l.total && l.kl == 0.0 && l.cls == 0.0);
        /* bad input: a label out of range on a weighted sample, no labels */
        labels[0] = 3;
        CHECK(!nnxr_ref_model_loss_grad(&m, p, &b, &l, NULL, &err));
        CHECK_CONTAINS(err.message, "label[0] = 3");
        b.labels = NULL;
        CHECK(!nnxr_ref_model_loss_grad(&m, p, &b, &l, NULL, &err));
        CHECK_CONTAINS(err.message, "needs labels");
        free(p);
        free(x);
    }
    /* regression: linear output + MSE */
    nnxr_ref_model m;
    nnxr_ref_mlp_config cfg = {.input = 3, .hidden = (const int[]){4}, .n_hidden = 1,
                               .act = NNXR_REF_SIGMOID, .output = 2, .loss = NNXR_REF_LOSS_MSE};
    CHECK(nnxr_ref_mlp_build(&m, &cfg, &err));
    double *p = alloc_uniform(rng, m.param_count, -1, 1);
    double *x = alloc_uniform(rng, 4 * 3, -1, 1), *t = alloc_uniform(rng, 4 * 2, -2, 2);
    nnxr_ref_batch b = {.n = 4, .x = x, .targets = t};
    free(fd_model("mlp 3-4-2 sigmoid MSE", &m, p, &b));
    b.targets = NULL;
    nnxr_ref_loss_parts l;
    CHECK(!nnxr_ref_model_loss_grad(&m, p, &b, &l, NULL, &err));
    CHECK_CONTAINS(err.message, "MSE needs targets");
    free(p), free(x), free(t);
}

typedef struct net_ctx {
    const nnxr_ref_net *net;
    const double *params;
    int batch;
    double *x, *acts, *r;
} net_ctx;

static double net_f(void *p)
{
    net_ctx *c = p;
    nnxr_ref_net_forward(c->net, c->params, c->batch, c->x, c->acts);
    const double *y = c->acts + (size_t)c->batch * c->net->layers[c->net->n_layers - 1].act_offset;
    double s = 0;
    for (size_t i = 0; i < (size_t)c->batch * nnxr_ref_net_out_size(c->net); i++)
        s += c->r[i] * y[i];
    return s;
}

static void test_cnn(nnxr_ref_rng *rng, const char *layers, int c, int h, int w, int classes)
{
    nnxr_ref_layer_spec s[NNXR_REF_MAX_LAYERS];
    int n;
    nnxr_error err = {{0}};
    nnxr_ref_model m;
    CHECKF(nnxr_ref_layers_parse(layers, s, NNXR_REF_MAX_LAYERS, &n, &err), "%s", err.message);
    CHECKF(nnxr_ref_cnn_build(&m, c, h, w, s, n, NNXR_REF_LOSS_SOFTMAX_CE, &err), "%s",
           err.message);
    CHECK(nnxr_ref_net_out_size(&m.net) == (size_t)classes);
    double *p = alloc_zero(m.param_count);
    nnxr_ref_model_init(&m, p, 9, NNXR_REF_INIT_AUTO);
    for (size_t i = 0; i < m.param_count; i++)
        p[i] += 0.1 * (2 * nnxr_ref_rng_uniform(rng) - 1); /* non-zero biases */
    enum { B = 3 };
    size_t nx = (size_t)B * c * h * w;
    double *x = alloc_uniform(rng, nx, -1, 1);
    int32_t labels[B];
    for (int i = 0; i < B; i++)
        labels[i] = i % classes;
    double mask[B] = {1, 0.3, 1};
    nnxr_ref_batch b = {.n = B, .x = x, .labels = labels, .mask = mask};
    char name[128];
    snprintf(name, sizeof name, "cnn %dx%dx%d params", c, h, w);
    printf("  cnn %s on %dx%dx%d: %zu params\n", layers, c, h, w, m.param_count);
    free(fd_model(name, &m, p, &b));

    /* the input gradient of the whole net (what a layer before it would receive) */
    net_ctx nc = {.net = &m.net, .params = p, .batch = B, .x = x};
    nc.acts = alloc_zero((size_t)B * m.net.act_count);
    nc.r = alloc_uniform(rng, (size_t)B * classes, -1, 1);
    double *dx = alloc_zero(nx);
    net_f(&nc);
    CHECK(nnxr_ref_net_backward(&m.net, p, B, x, nc.acts, nc.r, NULL, dx, &err));
    snprintf(name, sizeof name, "cnn %dx%dx%d dX", c, h, w);
    fd_check(name, net_f, &nc, x, dx, nx);
    free(nc.acts), free(nc.r), free(dx), free(p), free(x);
}

static void test_vae(nnxr_ref_rng *rng, nnxr_ref_act act, int hidden)
{
    nnxr_error err = {{0}};
    nnxr_ref_model m;
    const int h5[1] = {5}, h4[1] = {4}, h3[1] = {3};
    nnxr_ref_vae_config cfg = {.input = 6, .latent = 0, .classes = 3, .act = act, .beta = 0.7,
                               .cls_weight = 1.3};
    if (hidden) {
        cfg.enc_hidden = h5, cfg.n_enc_hidden = 1;
        cfg.dec_hidden = h4, cfg.n_dec_hidden = 1;
        cfg.cls_hidden = h3, cfg.n_cls_hidden = 1;
    }
    CHECKF(nnxr_ref_vae_build(&m, &cfg, &err), "%s", err.message);
    CHECK(m.latent == 3);
    size_t want = hidden ? (6 * 5 + 5) + 2 * (5 * 3 + 3) + (3 * 4 + 4 + 4 * 6 + 6) +
                               (3 * 3 + 3 + 3 * 3 + 3)
                         : 2 * (6 * 3 + 3) + (3 * 6 + 6) + (3 * 3 + 3);
    CHECKF(m.param_count == want, "vae param_count %zu, expected %zu", m.param_count, want);
    double *p = alloc_zero(m.param_count);
    nnxr_ref_model_init(&m, p, 3, NNXR_REF_INIT_AUTO);
    for (size_t i = 0; i < m.param_count; i++)
        p[i] += 0.2 * (2 * nnxr_ref_rng_uniform(rng) - 1);
    enum { B = 4 };
    double *x = alloc_uniform(rng, B * 6, 0, 1);
    x[0] = 0.0, x[1] = 1.0; /* the ends of [0, 1] */
    double eps[B * 3];
    for (int i = 0; i < B * 3; i++)
        eps[i] = nnxr_ref_rng_normal(rng);
    int32_t labels[B] = {0, -1, 2, 1};
    double mask[B] = {1, 0, 1, 0.5};
    nnxr_ref_batch b = {.n = B, .x = x, .labels = labels, .mask = mask, .eps = eps};
    char name[96];
    snprintf(name, sizeof name, "vae+classifier %s %s masked", nnxr_ref_act_name(act),
             hidden ? "6-5-3-4-6, cls 3-3-3" : "no hidden layers");
    double *g = fd_model(name, &m, p, &b);

    /* the parts add up, and each is its own loss */
    nnxr_ref_loss_parts l;
    CHECK(nnxr_ref_model_loss_grad(&m, p, &b, &l, NULL, &err));
    CHECK_CLOSE(l.total, l.data + l.kl + 1.3 * l.cls, 1e-14);
    double mu[B * 3], lv[B * 3], z[B * 3], rec[B * 6], cl[B * 3], cl2[B * 3];
    CHECK(nnxr_ref_vae_forward(&m, p, B, x, eps, mu, lv, z, rec, cl, &err));
    for (int i = 0; i < B * 3; i++)
        CHECK_CLOSE(z[i], mu[i] + exp(0.5 * lv[i]) * eps[i], 1e-15);
    CHECK_CLOSE(l.data, nnxr_ref_bce_logits(B, 6, rec, x, NULL), 1e-14);
    CHECK_CLOSE(l.kl, nnxr_ref_kl(B, 3, mu, lv, 0.7, NULL, NULL), 1e-14);
    double ce;
    CHECK(nnxr_ref_softmax_ce(B, 3, cl, labels, mask, &ce, NULL, &err));
    CHECK_CLOSE(l.cls, ce, 1e-14);
    CHECK(nnxr_ref_model_predict(&m, p, B, x, cl2, &err));
    CHECK(!memcmp(cl, cl2, sizeof cl));

    /* The documented choice: the classifier reads mu, so switching it off changes the gradient
     * of the encoder and the mu head, but not of the logvar head or the decoder. */
    nnxr_ref_model m0;
    cfg.cls_weight = 0.0;
    CHECK(nnxr_ref_vae_build(&m0, &cfg, &err));
    double *g0 = alloc_zero(m0.param_count);
    CHECK(nnxr_ref_model_loss_grad(&m0, p, &b, &l, g0, &err));
    double d_enc_mu = 0, d_lv_dec = 0;
    size_t lv_begin = m.logvar.param_offset, dec_end = m.dec.param_offset + m.dec.param_count;
    for (size_t i = 0; i < m.mu.param_offset + m.mu.param_count; i++)
        d_enc_mu = fmax(d_enc_mu, fabs(g[i] - g0[i]));
    for (size_t i = lv_begin; i < dec_end; i++)
        d_lv_dec = fmax(d_lv_dec, fabs(g[i] - g0[i]));
    CHECKF(d_enc_mu > 1e-4, "classifier gradient missing in encoder/mu head (%g)", d_enc_mu);
    CHECKF(d_lv_dec == 0.0, "classifier gradient leaked into logvar head/decoder (%g)", d_lv_dec);

    /* bad input */
    b.eps = NULL;
    CHECK(!nnxr_ref_model_loss_grad(&m, p, &b, &l, NULL, &err));
    CHECK_CONTAINS(err.message, "eps");
    b.eps = eps;
    b.labels = NULL;
    CHECK(!nnxr_ref_model_loss_grad(&m, p, &b, &l, NULL, &err));
    CHECK_CONTAINS(err.message, "labels");
    free(g), free(g0), free(p), free(x);
}

static void test_vae_no_classifier(nnxr_ref_rng *rng)
{
    nnxr_error err = {{0}};
    nnxr_ref_model m;
    nnxr_ref_vae_config cfg = {.input = 5, .latent = 2, .enc_hidden = (const int[]){4},
                               .n_enc_hidden = 1, .act = NNXR_REF_RELU, .beta = 1.0};
    CHECK(nnxr_ref_vae_build(&m, &cfg, &err));
    CHECK(m.cls.n_layers == 0);
    double *p = alloc_uniform(rng, m.param_count, -0.5, 0.5);
    double x[3 * 5], eps[3 * 2], out[9];
    fill_uniform(rng, 15, 0, 1, x);
    fill_uniform(rng, 6, -1, 1, eps);
    nnxr_ref_batch b = {.n = 3, .x = x, .eps = eps}; /* no labels needed */
    free(fd_model("vae relu 5-4-2-5 without classifier", &m, p, &b));
    CHECK(!nnxr_ref_model_predict(&m, p, 3, x, out, &err));
    CHECK_CONTAINS(err.message, "no classifier");
    free(p);
}

int main(void)
{
    test_parse();
    test_init();
    nnxr_ref_rng rng;
    nnxr_ref_rng_seed(&rng, 2024);
    test_mlp(&rng);
    test_cnn(&rng, "conv(4,3,same)-relu-conv(3,3,valid)-tanh-maxpool-flatten-dense(6)-relu-"
                   "dense(3)", 3, 7, 5, 3);
    test_cnn(&rng, "conv(3,2,same)-sigmoid-maxpool-conv(2,1)-relu-flatten-dense(4)", 2, 5, 7, 4);
    test_vae(&rng, NNXR_REF_TANH, 1);
    test_vae(&rng, NNXR_REF_RELU, 1);
    test_vae(&rng, NNXR_REF_SIGMOID, 0);
    test_vae_no_classifier(&rng);
    return check_finish();
}
