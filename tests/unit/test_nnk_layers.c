/* tests/unit/test_nnk_layers.c — the layer kernels against engine/nn/ref (double precision) on
 * shapes that are no multiple of any tile: dense forward (bias + every activation fused) and
 * backward (dx with the previous layer's derivative fused, dw, db, accumulation), conv2d
 * (3 -> 5 channels on 9x11 images, k = 3, 4 and 5, valid and same; an aligned shape that takes
 * the vector-load path; rows of whole vec4s; the forward's columns reused, and dx accumulated)
 * forward and backward, maxpool 2x2 on odd sizes with ties (the first maximum wins), and the
 * unfused activations including large |z|. Error measure: see test_nnk_util.h (norm-based
 * relative error <= 1e-4). */
#include "test_nnk_util.h"

static double deriv_y(int act, double y)
{
    switch (act) {
    case NNXR_NN_RELU: return y > 0 ? 1 : 0;
    case NNXR_NN_TANH: return 1 - y * y;
    case NNXR_NN_SIGMOID: return y * (1 - y);
    default: return 1;
    }
}

static void test_dense(nnk_env *e, uint32_t batch, uint32_t in, uint32_t out, int act,
                       int dx_act, bool accumulate, uint32_t seed)
{
    uint32_t s = seed;
    size_t nx = (size_t)batch * in, nw = (size_t)out * in, ny = (size_t)batch * out;
    double *xd, *wd, *bd, *dzd, *dw0d, *db0d;
    /* x is the activated output of a previous layer with dx_act */
    float *xf = nnk_rand(&s, nx, -2, 2, &xd);
    for (size_t i = 0; i < nx; i++) {
        xd[i] = nnxr_ref_act_value((nnxr_ref_act)dx_act, xd[i]);
        xf[i] = (float)xd[i];
        xd[i] = xf[i];
    }
    float *wf = nnk_rand(&s, nw, -0.5f, 0.5f, &wd);
    float *bf = nnk_rand(&s, out, -0.5f, 0.5f, &bd);
    float *dzf = nnk_rand(&s, ny, -1, 1, &dzd);
    float *dw0 = nnk_rand(&s, nw, -1, 1, &dw0d);
    float *db0 = nnk_rand(&s, out, -1, 1, &db0d);
    nnxr_buffer *X = nnk_buf(e, "x", nx, xf), *W = nnk_buf(e, "w", nw, wf), *Bb = nnk_buf(e, "b", out, bf);
    nnxr_buffer *Y = nnk_buf(e, "y", ny, NULL), *DZ = nnk_buf(e, "dz", ny, dzf);
    nnxr_buffer *DX = nnk_buf(e, "dx", nx, NULL), *DW = nnk_buf(e, "dw", nw, dw0), *DB = nnk_buf(e, "db", out, db0);
    nnxr_nn_dense shape = {batch, in, out};
    nnxr_nn_dense_grad g = {.x = nnxr_nn_at(X, 0), .w = nnxr_nn_at(W, 0), .dz = nnxr_nn_at(DZ, 0),
                            .dx = nnxr_nn_at(DX, 0), .dw = nnxr_nn_at(DW, 0), .db = nnxr_nn_at(DB, 0),
                            .dx_act = (nnxr_nn_act)dx_act, .dx_y = nnxr_nn_at(X, 0),
                            .accumulate_dw = accumulate};
    nnk_begin(e);
    nnxr_error err;
    bool ok = nnxr_nn_dense_forward(e->tape, &shape, nnxr_nn_at(X, 0), nnxr_nn_at(W, 0),
                                    nnxr_nn_at(Bb, 0), nnxr_nn_at(Y, 0), (nnxr_nn_act)act, &err) &&
              nnxr_nn_dense_backward(e->tape, &shape, &g, &err);
    CHECKF(ok, "dense: %s", err.message);
    if (ok && nnk_run(e)) {
        double *y = tg_alloc(ny * 8), *dx = tg_alloc(nx * 8), *dw = tg_alloc(nw * 8), *db = tg_alloc(out * 8);
        nnxr_ref_dense_forward((int)batch, (int)in, (int)out, xd, wd, bd, y);
        nnxr_ref_act_forward((nnxr_ref_act)act, ny, y, y);
        for (size_t i = 0; i < nw; i++)
            dw[i] = accumulate ? dw0d[i] : 0;
        for (size_t i = 0; i < out; i++)
            db[i] = accumulate ? db0d[i] : 0;
        nnxr_ref_dense_backward((int)batch, (int)in, (int)out, xd, wd, dzd, dx, dw, db);
        for (size_t i = 0; i < nx; i++)
            dx[i] *= deriv_y(dx_act, xd[i]);
        char label[128];
        float *gy = nnk_read(e, Y, 0, ny), *gdx = nnk_read(e, DX, 0, nx);
        float *gdw = nnk_read(e, DW, 0, nw), *gdb = nnk_read(e, DB, 0, out);
        snprintf(label, sizeof label, "dense %ux%u->%u %s y", batch, in, out,
                 nnxr_ref_act_name((nnxr_ref_act)act));
        NNK_CLOSE(label, gy, y, ny, NNK_TOL);
        snprintf(label, sizeof label, "dense %ux%u->%u dx * %s'", batch, in, out,
                 nnxr_ref_act_name((nnxr_ref_act)dx_act));
        NNK_CLOSE(label, gdx, dx, nx, NNK_TOL);
        snprintf(label, sizeof label, "dense %ux%u->%u dw%s", batch, in, out, accumulate ? " +=" : "");
        NNK_CLOSE(label, gdw, dw, nw, NNK_TOL);
        snprintf(label, sizeof label, "dense %ux%u->%u db%s", batch, in, out, accumulate ? " +=" : "");
        NNK_CLOSE(label, gdb, db, out, NNK_TOL);
        free(y), free(dx), free(dw), free(db), free(gy), free(gdx), free(gdw), free(gdb);
    }
    nnxr_recorder_wait(e->rec, &err);
    nnxr_nn_tape_clear(e->tape);
    nnxr_buffer *bufs[] = {X, W, Bb, Y, DZ, DX, DW, DB};
    for (size_t i = 0; i < 8; i++)
        nnxr_buffer_destroy(e->gpu, bufs[i]);
    free(xf), free(wf), free(bf), free(dzf), free(dw0), free(db0);
    free(xd), free(wd), free(bd), free(dzd), free(dw0d), free(db0d);
}

/* How the backward is recorded: CONV_PLAIN; CONV_REUSE with x_unchanged right after the
 * forward (the column matrix is reused); CONV_STALE with x_unchanged but another input's
 * forward recorded in between (the tape must notice and recompute). Returns the backward's
 * dispatches (0 on failure). */
enum { CONV_PLAIN, CONV_REUSE, CONV_STALE };

static uint32_t test_conv(nnk_env *e, const nnxr_nn_conv *c, int act, int dx_act, uint32_t seed,
                          int mode)
{
    uint32_t oh, ow;
    nnxr_error err;
    if (!nnxr_nn_conv_dims(c, &oh, &ow, &err)) {
        CHECKF(false, "conv dims: %s", err.message);
        return 0;
    }
    uint32_t s = seed;
    size_t nx = (size_t)c->batch * c->in_ch * c->in_h * c->in_w;
    size_t nw = (size_t)c->out_ch * c->in_ch * c->k * c->k;
    size_t ny = (size_t)c->batch * c->out_ch * oh * ow;
    double *xd, *wd, *bd, *dzd;
    float *xf = nnk_rand(&s, nx, -2, 2, &xd);
    for (size_t i = 0; i < nx; i++) {
        xf[i] = (float)nnxr_ref_act_value((nnxr_ref_act)dx_act, xd[i]);
        xd[i] = xf[i];
    }
    float *wf = nnk_rand(&s, nw, -0.5f, 0.5f, &wd);
    float *bf = nnk_rand(&s, c->out_ch, -0.5f, 0.5f, &bd);
    float *dzf = nnk_rand(&s, ny, -1, 1, &dzd);
    nnxr_buffer *X = nnk_buf(e, "x", nx, xf), *W = nnk_buf(e, "w", nw, wf);
    nnxr_buffer *Bb = nnk_buf(e, "b", c->out_ch, bf), *Y = nnk_buf(e, "y", ny, NULL);
    /* CONV_REUSE also accumulates into an old dx (the derivative multiplies the sum). */
    bool acc = mode == CONV_REUSE;
    double *oldd;
    float *oldf = nnk_rand(&s, nx, -1, 1, &oldd);
    nnxr_buffer *DZ = nnk_buf(e, "dz", ny, dzf), *DX = nnk_buf(e, "dx", nx, acc ? oldf : NULL);
    nnxr_buffer *DW = nnk_buf(e, "dw", nw, NULL), *DB = nnk_buf(e, "db", c->out_ch, NULL);
    nnxr_nn_conv_grad g = {.x = nnxr_nn_at(X, 0), .w = nnxr_nn_at(W, 0), .dz = nnxr_nn_at(DZ, 0),
                           .dx = nnxr_nn_at(DX, 0), .dw = nnxr_nn_at(DW, 0), .db = nnxr_nn_at(DB, 0),
                           .dx_act = (nnxr_nn_act)dx_act, .dx_y = nnxr_nn_at(X, 0),
                           .accumulate_dx = acc, .x_unchanged = mode != CONV_PLAIN};
    /* CONV_STALE: the forward of other data (x2 into y2) in between. */
    double *x2d;
    float *x2f = nnk_rand(&s, nx, -2, 2, &x2d);
    nnxr_buffer *X2 = nnk_buf(e, "x2", nx, x2f), *Y2 = nnk_buf(e, "y2", ny, NULL);
    nnk_begin(e);
    bool ok = nnxr_nn_conv2d_forward(e->tape, c, nnxr_nn_at(X, 0), nnxr_nn_at(W, 0),
                                     nnxr_nn_at(Bb, 0), nnxr_nn_at(Y, 0), (nnxr_nn_act)act, &err);
    if (ok && mode == CONV_STALE)
        ok = nnxr_nn_conv2d_forward(e->tape, c, nnxr_nn_at(X2, 0), nnxr_nn_at(W, 0),
                                    nnxr_nn_at(Bb, 0), nnxr_nn_at(Y2, 0), NNXR_NN_LINEAR, &err);
    uint32_t before = nnxr_nn_tape_dispatches(e->tape);
    ok = ok && nnxr_nn_conv2d_backward(e->tape, c, &g, &err);
    uint32_t backward = ok ? nnxr_nn_tape_dispatches(e->tape) - before : 0;
    CHECKF(ok, "conv: %s", err.message);
    if (ok && nnk_run(e)) {
        nnxr_ref_conv2d rc = {(int)c->batch, (int)c->in_ch, (int)c->in_h, (int)c->in_w,
                              (int)c->out_ch, (int)c->k, (nnxr_ref_pad)c->pad};
        double *y = tg_alloc(ny * 8), *dx = tg_alloc(nx * 8), *dw = tg_alloc(nw * 8);
        double *db = tg_alloc(c->out_ch * 8);
        nnxr_ref_conv2d_forward(&rc, xd, wd, bd, y);
        nnxr_ref_act_forward((nnxr_ref_act)act, ny, y, y);
        nnxr_ref_conv2d_backward(&rc, xd, wd, dzd, dx, dw, db);
        for (size_t i = 0; i < nx; i++)
            dx[i] = (dx[i] + (acc ? oldd[i] : 0.0)) * deriv_y(dx_act, xd[i]);
        float *gy = nnk_read(e, Y, 0, ny), *gdx = nnk_read(e, DX, 0, nx);
        float *gdw = nnk_read(e, DW, 0, nw), *gdb = nnk_read(e, DB, 0, c->out_ch);
        char base[96], label[128];
        static const char *const modes[] = {"", " reuse +acc", " stale"};
        snprintf(base, sizeof base, "conv b%u %u->%u %ux%u k%u %s%s", c->batch, c->in_ch,
                 c->out_ch, c->in_h, c->in_w, c->k, c->pad == NNXR_NN_PAD_SAME ? "same" : "valid",
                 modes[mode]);
        snprintf(label, sizeof label, "%s y", base);
        NNK_CLOSE(label, gy, y, ny, NNK_TOL);
        snprintf(label, sizeof label, "%s dx", base);
        NNK_CLOSE(label, gdx, dx, nx, NNK_TOL);
        snprintf(label, sizeof label, "%s dw", base);
        NNK_CLOSE(label, gdw, dw, nw, NNK_TOL);
        snprintf(label, sizeof label, "%s db", base);
        NNK_CLOSE(label, gdb, db, c->out_ch, NNK_TOL);
        free(y), free(dx), free(dw), free(db), free(gy), free(gdx), free(gdw), free(gdb);
    }
    nnxr_recorder_wait(e->rec, &err);
    nnxr_nn_tape_clear(e->tape);
    nnxr_buffer *bufs[] = {X, W, Bb, Y, DZ, DX, DW, DB, X2, Y2};
    for (size_t i = 0; i < 10; i++)
        nnxr_buffer_destroy(e->gpu, bufs[i]);
    free(xf), free(wf), free(bf), free(dzf), free(xd), free(wd), free(bd), free(dzd);
    free(x2f), free(x2d), free(oldf), free(oldd);
    return backward;
}

static void test_maxpool(nnk_env *e, uint32_t batch, uint32_t ch, uint32_t h, uint32_t w,
                         int dx_act, uint32_t seed)
{
    uint32_t s = seed;
    size_t nx = (size_t)batch * ch * h * w, ny = (size_t)batch * ch * (h / 2) * (w / 2);
    double *xd, *dyd;
    float *xf = nnk_rand(&s, nx, -1, 1, &xd);
    /* Ties: quantise some values so that windows hold equal maxima. */
    for (size_t i = 0; i < nx; i += 3) {
        xf[i] = (float)((int)(xf[i] * 2)) * 0.5f;
        xd[i] = xf[i];
    }
    float *dyf = nnk_rand(&s, ny, -1, 1, &dyd);
    nnxr_buffer *X = nnk_buf(e, "x", nx, xf), *Y = nnk_buf(e, "y", ny, NULL);
    nnxr_buffer *DY = nnk_buf(e, "dy", ny, dyf), *DX = nnk_buf(e, "dx", nx, NULL);
    /* dx is written everywhere: prefill garbage */
    float *junk = tg_alloc(nx * 4);
    for (size_t i = 0; i < nx; i++)
        junk[i] = 7.0f;
    nnk_upload(e, DX, 0, junk, nx);
    nnk_begin(e);
    nnxr_error err;
    bool ok = nnxr_nn_maxpool_forward(e->tape, batch, ch, h, w, nnxr_nn_at(X, 0), nnxr_nn_at(Y, 0), &err) &&
              nnxr_nn_maxpool_backward(e->tape, batch, ch, h, w, nnxr_nn_at(X, 0), nnxr_nn_at(DY, 0),
                                       nnxr_nn_at(DX, 0), (nnxr_nn_act)dx_act, &err);
    CHECKF(ok, "maxpool: %s", err.message);
    if (ok && nnk_run(e)) {
        double *y = tg_alloc(ny * 8), *dx = tg_alloc(nx * 8);
        nnxr_ref_maxpool_forward((int)batch, (int)ch, (int)h, (int)w, xd, y);
        nnxr_ref_maxpool_backward((int)batch, (int)ch, (int)h, (int)w, xd, dyd, dx);
        for (size_t i = 0; i < nx; i++)
            dx[i] *= deriv_y(dx_act, xd[i]);
        float *gy = nnk_read(e, Y, 0, ny), *gdx = nnk_read(e, DX, 0, nx);
        char label[96];
        snprintf(label, sizeof label, "maxpool b%u c%u %ux%u y", batch, ch, h, w);
        NNK_CLOSE(label, gy, y, ny, 1e-7);
        snprintf(label, sizeof label, "maxpool b%u c%u %ux%u dx * %s'", batch, ch, h, w,
                 nnxr_ref_act_name((nnxr_ref_act)dx_act));
        NNK_CLOSE(label, gdx, dx, nx, 1e-7);
        free(y), free(dx), free(gy), free(gdx);
    }
    nnxr_recorder_wait(e->rec, &err);
    nnxr_nn_tape_clear(e->tape);
    nnxr_buffer_destroy(e->gpu, X), nnxr_buffer_destroy(e->gpu, Y);
    nnxr_buffer_destroy(e->gpu, DY), nnxr_buffer_destroy(e->gpu, DX);
    free(xf), free(dyf), free(xd), free(dyd), free(junk);
}

static void test_acts(nnk_env *e)
{
    const uint32_t n = 1001;
    uint32_t s = 5;
    double *zd, *dyd;
    float *zf = nnk_rand(&s, n, -6, 6, &zd);
    zf[0] = 0, zf[1] = 40, zf[2] = -40, zf[3] = 1e-6f, zf[4] = -1e-3f, zf[5] = 0.12f;
    for (int i = 0; i < 6; i++)
        zd[i] = zf[i];
    float *dyf = nnk_rand(&s, n, -1, 1, &dyd);
    nnxr_buffer *Z = nnk_buf(e, "z", n, zf), *DY = nnk_buf(e, "dy", n, dyf);
    nnxr_buffer *Y = nnk_buf(e, "y", 4 * n, NULL), *DZ = nnk_buf(e, "dz", 4 * n, NULL);
    nnk_begin(e);
    nnxr_error err;
    bool ok = true;
    for (int a = 0; a < 4 && ok; a++)
        ok = nnxr_nn_act_forward(e->tape, (nnxr_nn_act)a, n, nnxr_nn_at(Z, 0), nnxr_nn_at(Y, a * n * 4), &err) &&
             nnxr_nn_act_backward(e->tape, (nnxr_nn_act)a, n, nnxr_nn_at(Y, a * n * 4), nnxr_nn_at(DY, 0),
                                  nnxr_nn_at(DZ, a * n * 4), &err);
    CHECKF(ok, "acts: %s", err.message);
    if (ok && nnk_run(e)) {
        float *gy = nnk_read(e, Y, 0, 4 * n), *gdz = nnk_read(e, DZ, 0, 4 * n);
        for (int a = 0; a < 4; a++) {
            double *y = tg_alloc(n * 8), *dz = tg_alloc(n * 8);
            nnxr_ref_act_forward((nnxr_ref_act)a, n, zd, y);
            nnxr_ref_act_backward((nnxr_ref_act)a, n, zd, dyd, dz);
            char label[64];
            snprintf(label, sizeof label, "act %s forward", nnxr_ref_act_name((nnxr_ref_act)a));
            NNK_CLOSE(label, gy + a * n, y, n, 1e-6);
            snprintf(label, sizeof label, "act %s backward (from y)", nnxr_ref_act_name((nnxr_ref_act)a));
            NNK_CLOSE(label, gdz + a * n, dz, n, 1e-5);
            bool finite = true;
            for (uint32_t i = 0; i < n; i++)
                finite = finite && isfinite(gy[a * n + i]) && isfinite(gdz[a * n + i]);
            CHECKF(finite, "act %d: non-finite output for |z| = 40", a);
            free(y), free(dz);
        }
        free(gy), free(gdz);
    }
    nnxr_recorder_wait(e->rec, &err);
    nnxr_nn_tape_clear(e->tape);
    nnxr_buffer_destroy(e->gpu, Z), nnxr_buffer_destroy(e->gpu, DY);
    nnxr_buffer_destroy(e->gpu, Y), nnxr_buffer_destroy(e->gpu, DZ);
    free(zf), free(dyf), free(zd), free(dyd);
}

static void test_refused(nnk_env *e)
{
    nnxr_buffer *b = nnk_buf(e, "small", 64, NULL);
    nnk_begin(e);
    nnxr_error err;
    nnxr_nn_conv c = {2, 3, 4, 4, 5, 5, NNXR_NN_PAD_VALID};
    CHECK(!nnxr_nn_conv2d_forward(e->tape, &c, nnxr_nn_at(b, 0), nnxr_nn_at(b, 0), (nnxr_nn_mem){0},
                                  nnxr_nn_at(b, 0), NNXR_NN_RELU, &err));
    CHECK_CONTAINS(err.message, "valid padding with k 5 larger than the 4x4 image");
    c.k = 3;
    CHECK(!nnxr_nn_conv2d_forward(e->tape, &c, nnxr_nn_at(b, 0), nnxr_nn_at(b, 0), (nnxr_nn_mem){0},
                                  nnxr_nn_at(b, 0), NNXR_NN_RELU, &err));
    CHECK_CONTAINS(err.message, "argument 'x' needs 384 bytes");
    nnxr_nn_dense d = {4, 8, 8};
    CHECK(!nnxr_nn_dense_forward(e->tape, &d, nnxr_nn_at(b, 0), nnxr_nn_at(b, 0), (nnxr_nn_mem){0},
                                 (nnxr_nn_mem){0}, NNXR_NN_RELU, &err));
    CHECK_CONTAINS(err.message, "argument 'y' is missing");
    CHECK(!nnxr_nn_dense_forward(e->tape, &d, nnxr_nn_at(b, 0), nnxr_nn_at(b, 0), (nnxr_nn_mem){0},
                                 nnxr_nn_at(b, 0), (nnxr_nn_act)9, &err));
    CHECK_CONTAINS(err.message, "act = 9 is not an activation");
    CHECK(!nnxr_nn_maxpool_forward(e->tape, 1, 1, 1, 8, nnxr_nn_at(b, 0), nnxr_nn_at(b, 0), &err));
    CHECK_CONTAINS(err.message, "at least 2x2");
    CHECK(nnxr_nn_tape_dispatches(e->tape) == 0);
    nnxr_recorder_end(e->rec, &err);
    nnxr_buffer_destroy(e->gpu, b);
}

int main(void)
{
    nnk_env e = nnk_open();
    /* odd shapes (scalar loads) with every activation; aligned ones (vector loads) */
    test_dense(&e, 7, 13, 29, NNXR_NN_RELU, NNXR_NN_TANH, false, 1);
    test_dense(&e, 7, 29, 13, NNXR_NN_TANH, NNXR_NN_RELU, true, 2);
    test_dense(&e, 5, 11, 3, NNXR_NN_SIGMOID, NNXR_NN_SIGMOID, false, 3);
    test_dense(&e, 9, 17, 10, NNXR_NN_LINEAR, NNXR_NN_LINEAR, true, 4);
    test_dense(&e, 24, 96, 40, NNXR_NN_RELU, NNXR_NN_RELU, false, 5);
    nnxr_nn_conv convs[] = {
        {2, 3, 9, 11, 5, 3, NNXR_NN_PAD_VALID},
        {2, 3, 9, 11, 5, 3, NNXR_NN_PAD_SAME},
        {2, 3, 9, 11, 5, 5, NNXR_NN_PAD_VALID},
        {2, 3, 9, 11, 5, 5, NNXR_NN_PAD_SAME},
        {2, 3, 9, 11, 5, 4, NNXR_NN_PAD_SAME},
        {3, 4, 12, 12, 8, 3, NNXR_NN_PAD_SAME},
        {1, 1, 7, 5, 2, 1, NNXR_NN_PAD_VALID},
        /* rows of whole vec4s on CPU devices: output rows (valid 10 -> 8), both (same 8) */
        {2, 3, 10, 10, 4, 3, NNXR_NN_PAD_VALID},
        {2, 2, 8, 8, 3, 5, NNXR_NN_PAD_SAME},
    };
    static const int acts[][2] = {{1, 2}, {2, 1}, {3, 0}, {1, 3}, {0, 1}, {1, 1}, {1, 0},
                                  {2, 3}, {1, 2}};
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++)
        test_conv(&e, &convs[i], acts[i][0], acts[i][1], 10 + (uint32_t)i, CONV_PLAIN);
    /* The forward's column matrix reused by dw: one im2col fewer, same answers; with another
     * forward in between, recomputed (a stale matrix would give a wrong dw). */
    static const size_t reused[] = {1, 5, 8};
    for (size_t j = 0; j < sizeof reused / sizeof reused[0]; j++) {
        size_t i = reused[j];
        uint32_t plain = test_conv(&e, &convs[i], acts[i][0], acts[i][1], 30, CONV_PLAIN);
        uint32_t reuse = test_conv(&e, &convs[i], acts[i][0], acts[i][1], 30, CONV_REUSE);
        uint32_t stale = test_conv(&e, &convs[i], acts[i][0], acts[i][1], 30, CONV_STALE);
        CHECKF(plain > 0 && reuse == plain - 1 && stale == plain,
               "conv %zu backward dispatches: %u plain, %u reusing the forward's columns "
               "(expected one fewer), %u after another forward (expected as plain)",
               i, plain, reuse, stale);
    }
    test_maxpool(&e, 2, 3, 7, 9, NNXR_NN_RELU, 20);
    test_maxpool(&e, 1, 2, 6, 4, NNXR_NN_LINEAR, 21);
    test_maxpool(&e, 3, 2, 8, 12, NNXR_NN_TANH, 22); /* two windows an invocation, CPU devices */
    test_acts(&e);
    test_refused(&e);
    nnk_close(&e);
    return check_finish();
}
