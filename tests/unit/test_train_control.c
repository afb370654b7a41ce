/* tests/unit/test_train_control.c — the trainer's outputs and live control, each against an
 * oracle: evaluation loss, accuracy, probabilities, predictions, per-class means and probe
 * activations against nn/ref on the parameters read back; neuron surgery keeps every other
 * parameter and optimizer value bit-identical and training goes on; set_weights writes
 * exactly the neuron's links; checkpoints round-trip exactly and numpy reads them; a diverging
 * run is detected within its submission and the weights from before it come back; batch
 * changes, chunked data (same result as unchunked), pause, the frame budget, regression. */
#include <sys/stat.h>
#include <unistd.h>

#include "data/npy.h"
#include "test_train_util.h"

static nnxr_nn *g_nn;

static nnxr_train_config mlp_config(uint32_t h0, uint32_t h1)
{
    nnxr_train_config c = nnxr_train_config_default();
    c.model.kind = NNXR_MODEL_MLP;
    c.model.n_hidden = 2;
    c.model.hidden[0] = h0;
    c.model.hidden[1] = h1;
    c.model.act = NNXR_NN_RELU;
    c.batch = 8;
    c.lr = 0.05;
    c.seed = 3;
    c.nn = g_nn;
    c.probe_count = 6;
    c.fused = tt_fused();
    return c;
}

static nnxr_trainer *make(nnxr_gpu *gpu, const nnxr_train_config *c, const nnxr_train_data *d)
{
    nnxr_error err;
    nnxr_trainer *t = NULL;
    bool ok = nnxr_trainer_create(gpu, c, d, &t, &err);
    CHECKF(ok, "create: %s", err.message);
    return ok ? t : NULL;
}

static void read_region(nnxr_gpu *gpu, nnxr_model_region r, void *out)
{
    nnxr_error err;
    CHECKF(r.buffer && nnxr_buffer_readback(gpu, r.buffer, r.offset, out, r.size, &err),
           "readback: %s", r.buffer ? err.message : "absent region");
}

/* ---- evaluation against nn/ref ---- */

static void test_eval(nnxr_gpu *gpu)
{
    tt_images img = tt_make_images(120, 35, 4, 21);
    nnxr_train_data d = tt_data_from(&img, 1, 5, 7, 80, 23, 17);
    nnxr_train_config c = mlp_config(9, 6);
    c.eval_batch = 5; /* several evaluation batches, the last one short */
    nnxr_trainer *t = make(gpu, &c, &d);
    if (!t)
        return;
    nnxr_error err;
    TT_OK(nnxr_trainer_steps(t, 12, NULL, &e_));
    nnxr_eval_result r;
    TT_OK(nnxr_trainer_evaluate(t, NNXR_SET_VAL, &r, &e_));
    const nnxr_model *m = nnxr_trainer_model(t);
    size_t p = m->param_count;
    float *pf = tt_alloc(p * 4);
    double *pd = tt_alloc(p * 8);
    CHECK(nnxr_trainer_read_params(t, pf, &err));
    for (size_t i = 0; i < p; i++)
        pd[i] = pf[i];
    uint32_t n = d.val.count, f = 35, k = 4;
    double *x = tt_alloc((size_t)n * f * 8), *acts = tt_alloc((size_t)n * m->ref.net.act_count * 8);
    int32_t *lab = tt_alloc(n * 4);
    for (uint32_t i = 0; i < n * f; i++)
        x[i] = d.val.u8[i] / 255.0;
    for (uint32_t i = 0; i < n; i++)
        lab[i] = d.val.labels[i];
    nnxr_ref_net_forward(&m->ref.net, pd, (int)n, x, acts);
    const nnxr_ref_layer *last = &m->ref.net.layers[m->ref.net.n_layers - 1];
    const double *logits = acts + (size_t)n * last->act_offset;
    double loss;
    CHECK(nnxr_ref_softmax_ce((int)n, (int)k, logits, lab, NULL, &loss, NULL, &err));
    double acc = nnxr_ref_accuracy((int)n, (int)k, logits, lab);
    printf("  eval: gpu loss %.6f accuracy %.4f, ref loss %.6f accuracy %.4f\n", r.loss,
           r.accuracy, loss, acc);
    CHECK_CLOSE(r.loss, loss, 1e-4);
    CHECK_CLOSE(r.accuracy, acc, 1e-6);
    CHECK(r.count == n);

    float *probs = tt_alloc((size_t)n * k * 4), *conf = tt_alloc(n * 4);
    int32_t *pred = tt_alloc(n * 4), *glab = tt_alloc(n * 4);
    CHECK(nnxr_trainer_read_outputs(t, NNXR_SET_VAL, probs, pred, conf, glab, NULL, &err));
    double *rp = tt_alloc((size_t)n * k * 8);
    nnxr_ref_softmax((int)n, (int)k, logits, rp);
    double worst = 0;
    int bad_pred = 0, bad_lab = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t arg = 0;
        for (uint32_t j = 0; j < k; j++) {
            worst = fmax(worst, fabs(probs[i * k + j] - rp[i * k + j]));
            if (rp[i * k + j] > rp[i * k + arg])
                arg = j;
        }
        bad_pred += pred[i] != (int32_t)arg || fabs(conf[i] - rp[i * k + arg]) > 1e-5;
        bad_lab += glab[i] != lab[i];
    }
    CHECKF(worst < 1e-5, "probabilities differ from the reference by %g", worst);
    CHECKF(bad_pred == 0, "%d predictions or confidences differ from the reference", bad_pred);
    CHECKF(bad_lab == 0, "%d labels differ", bad_lab);

    /* The service: per-class means and the probe batch, per layer. */
    nnxr_model_info info;
    CHECK(nnxr_trainer_model_info(t, &info, &err));
    CHECK(info.kind == NNXR_MODEL_MLP && info.layer_count == 3 && info.classes == k);
    CHECK(info.eval.count == n && info.probe_count == 6);
    int layer = 0;
    for (int li = 0; li < m->ref.net.n_layers; li++) {
        const nnxr_ref_layer *rl = &m->ref.net.layers[li];
        /* Ops are the dense layers with their activation fused: compare after the act. */
        bool op_end = li + 1 == m->ref.net.n_layers ||
                      m->ref.net.layers[li + 1].spec.kind != NNXR_REF_ACT;
        if (!op_end)
            continue;
        const nnxr_model_layer *ml = &info.layers[layer++];
        uint32_t w = (uint32_t)(rl->out_c * rl->out_h * rl->out_w);
        float *mean = tt_alloc((size_t)k * w * 4), *probe = tt_alloc((size_t)6 * w * 4);
        read_region(gpu, ml->class_mean, mean);
        read_region(gpu, ml->probe, probe);
        double e_mean = 0, e_probe = 0;
        for (uint32_t cl = 0; cl < k; cl++) {
            int cnt = 0;
            for (uint32_t i = 0; i < n; i++)
                cnt += lab[i] == (int32_t)cl;
            for (uint32_t j = 0; j < w; j++) {
                double s = 0;
                for (uint32_t i = 0; i < n; i++)
                    if (lab[i] == (int32_t)cl)
                        s += acts[(size_t)n * rl->act_offset + (size_t)i * w + j];
                double want = cnt ? s / cnt : 0;
                e_mean = fmax(e_mean, fabs(mean[cl * w + j] - want) / fmax(1, fabs(want)));
            }
        }
        for (uint32_t i = 0; i < 6; i++)
            for (uint32_t j = 0; j < w; j++) {
                double want = acts[(size_t)n * rl->act_offset + (size_t)i * w + j];
                e_probe = fmax(e_probe, fabs(probe[i * w + j] - want) / fmax(1, fabs(want)));
            }
        CHECKF(e_mean < 1e-4, "layer %s: class means differ by %g", ml->name, e_mean);
        CHECKF(e_probe < 1e-4, "layer %s: probe activations differ by %g", ml->name, e_probe);
        free(mean);
        free(probe);
    }
    CHECK(layer == 3);
    float *pin = tt_alloc((size_t)6 * f * 4);
    read_region(gpu, info.probe_input, pin);
    double e_in = 0;
    for (uint32_t i = 0; i < 6 * f; i++)
        e_in = fmax(e_in, fabs(pin[i] - x[i]));
    CHECKF(e_in < 1e-6, "probe input differs by %g", e_in);

    /* The test set evaluates too, and is published as test.*. */
    tt_metrics mt = {0};
    nnxr_trainer_destroy(t);
    c.publish = tt_publish;
    c.publish_user = &mt;
    c.epochs = 2;
    t = make(gpu, &c, &d);
    if (t) {
        nnxr_train_report rep;
        TT_OK(nnxr_trainer_epochs(t, 5, &rep, &e_));
        CHECK(rep.epochs_ended == 2 && rep.finished && nnxr_trainer_finished(t));
        CHECK(nnxr_trainer_epoch(t) == 2 && nnxr_trainer_step(t) == 2 * (80 / 8));
        CHECK(tt_metric_count(&mt, "train.loss") == 2 && tt_metric_count(&mt, "val.accuracy") == 2);
        /* epoch 0 and the hyperparameters in effect are published at creation. */
        CHECK(tt_metric(&mt, "epoch", 0) == 0.0 && tt_metric(&mt, "epoch", 2) == 2.0);
        CHECK_CLOSE(tt_metric(&mt, "hparam.lr", 0), c.lr, 1e-12);
        CHECK(tt_metric(&mt, "hparam.batch", 0) == (double)c.batch);
        TT_OK(nnxr_trainer_set_hparam(t, "momentum", 0.25, &e_));
        CHECK_CLOSE(tt_metric(&mt, "hparam.momentum", 1), 0.25, 1e-7);
        /* SGD publishes its momentum, not Adam's betas. */
        CHECK(tt_metric_count(&mt, "hparam.beta1") == 0 &&
              tt_metric_count(&mt, "hparam.adam_epsilon") == 0);
        TT_OK(nnxr_trainer_evaluate(t, NNXR_SET_TEST, &r, &e_));
        CHECK(r.count == 17 && tt_metric_count(&mt, "test.accuracy") == 1);
        /* Finished: frames take no more steps. */
        TT_OK(nnxr_trainer_frame(t, false, &rep, &e_));
        CHECK(rep.steps == 0);
        nnxr_trainer_destroy(t);
    }
    free(pf);
    free(pd);
    free(x);
    free(acts);
    free(lab);
    free(probs);
    free(conf);
    free(pred);
    free(glab);
    free(rp);
    free(pin);
    tt_free_images(&img);
}

/* ---- surgery ---- */

static int bits_differ(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * 4) != 0;
}

static void test_surgery(nnxr_gpu *gpu)
{
    tt_images img = tt_make_images(100, 35, 4, 22);
    nnxr_train_data d = tt_data_from(&img, 1, 5, 7, 80, 20, 0);
    nnxr_train_config c = mlp_config(7, 5);
    c.optimizer = NNXR_NN_ADAM;
    c.lr = 0.01;
    tt_metrics mt = {0};
    c.publish = tt_publish;
    c.publish_user = &mt;
    nnxr_trainer *t = make(gpu, &c, &d);
    if (!t)
        return;
    /* Adam publishes its betas, not SGD's momentum. */
    CHECK(tt_metric_count(&mt, "hparam.momentum") == 0 &&
          tt_metric_count(&mt, "hparam.beta1") == 1 && tt_metric_count(&mt, "hparam.beta2") == 1);
    nnxr_error err;
    TT_OK(nnxr_trainer_steps(t, 5, NULL, &e_));
    const nnxr_model *m = nnxr_trainer_model(t);
    nnxr_model om = *m;
    size_t po = om.param_count;
    float *a = tt_alloc(po * 4), *a1 = tt_alloc(po * 4), *a2 = tt_alloc(po * 4);
    CHECK(nnxr_trainer_read_params(t, a, &err) && nnxr_trainer_read_state(t, a1, a2, &err));
    nnxr_model_info info;
    CHECK(nnxr_trainer_model_info(t, &info, &err));
    uint64_t gen = info.generation;

    /* Add a neuron to hidden layer 1 (5 -> 6). */
    TT_OK(nnxr_trainer_add_neuron(t, 1, &e_));
    m = nnxr_trainer_model(t);
    uint32_t widths[4];
    CHECK(nnxr_trainer_hidden_layers(t, widths, 4) == 2 && widths[0] == 7 && widths[1] == 6);
    size_t pn = m->param_count;
    CHECK(pn == po + 7 + 1 + 4);
    float *b = tt_alloc(pn * 4), *b1 = tt_alloc(pn * 4), *b2 = tt_alloc(pn * 4);
    CHECK(nnxr_trainer_read_params(t, b, &err) && nnxr_trainer_read_state(t, b1, b2, &err));
    CHECK(nnxr_trainer_model_info(t, &info, &err) && info.generation != gen);
    /* Layer 0 is untouched; layer 1 gains a row; layer 2 a column. */
    const nnxr_model_op *o0 = &om.chains[0].ops[0], *n0 = &m->chains[0].ops[0];
    const nnxr_model_op *o1 = &om.chains[0].ops[1], *n1 = &m->chains[0].ops[1];
    const nnxr_model_op *o2 = &om.chains[0].ops[2], *n2 = &m->chains[0].ops[2];
    int differ = bits_differ(a + o0->w_offset, b + n0->w_offset, o0->w_count + o0->b_count) +
                 bits_differ(a1 + o0->w_offset, b1 + n0->w_offset, o0->w_count + o0->b_count) +
                 bits_differ(a2 + o0->w_offset, b2 + n0->w_offset, o0->w_count + o0->b_count) +
                 bits_differ(a + o1->w_offset, b + n1->w_offset, o1->w_count) +
                 bits_differ(a + o1->b_offset, b + n1->b_offset, o1->b_count) +
                 bits_differ(a1 + o1->w_offset, b1 + n1->w_offset, o1->w_count) +
                 bits_differ(a2 + o1->b_offset, b2 + n1->b_offset, o1->b_count);
    for (uint32_t r = 0; r < 4; r++)
        differ += bits_differ(a + o2->w_offset + r * 5, b + n2->w_offset + r * 6, 5) +
                  bits_differ(a1 + o2->w_offset + r * 5, b1 + n2->w_offset + r * 6, 5) +
                  bits_differ(a2 + o2->w_offset + r * 5, b2 + n2->w_offset + r * 6, 5);
    differ += bits_differ(a + o2->b_offset, b + n2->b_offset, 4);
    CHECKF(differ == 0, "%d blocks of old parameters or state changed", differ);
    double lim1 = nnxr_ref_glorot_limit(7, 6), lim2 = nnxr_ref_glorot_limit(6, 4);
    int new_ok = 1, nonzero = 0;
    for (uint32_t i = 0; i < 7; i++) {
        float w = b[n1->w_offset + 5 * 7 + i];
        new_ok &= fabs(w) <= 0.1 * lim1 && b1[n1->w_offset + 35 + i] == 0 && b2[n1->w_offset + 35 + i] == 0;
        nonzero += w != 0;
    }
    for (uint32_t r = 0; r < 4; r++) {
        float w = b[n2->w_offset + r * 6 + 5];
        new_ok &= fabs(w) <= 0.1 * lim2 && b1[n2->w_offset + r * 6 + 5] == 0;
        nonzero += w != 0;
    }
    new_ok &= b[n1->b_offset + 5] == 0;
    CHECKF(new_ok && nonzero == 11, "the new neuron's weights are not small, random and "
           "stateless (%d nonzero)", nonzero);

    /* Training goes on with the new shape. */
    nnxr_train_report rep;
    TT_OK(nnxr_trainer_steps(t, 4, &rep, &e_));
    CHECK(rep.steps == 4 && nnxr_trainer_step(t) == 9);
    float *c0 = tt_alloc(pn * 4);
    CHECK(nnxr_trainer_read_params(t, c0, &err));
    CHECK(bits_differ(b, c0, pn) && fabs(c0[n1->w_offset + 35]) > 0);

    /* Remove neuron 2 of hidden layer 0 (7 -> 6). */
    nnxr_model bm = *m;
    TT_OK(nnxr_trainer_remove_neuron(t, 0, 2, &e_));
    m = nnxr_trainer_model(t);
    size_t pr = m->param_count;
    CHECK(pr == pn - 35 - 1 - 6);
    float *e = tt_alloc(pr * 4);
    CHECK(nnxr_trainer_read_params(t, e, &err));
    const nnxr_model_op *q0 = &bm.chains[0].ops[0], *r0 = &m->chains[0].ops[0];
    const nnxr_model_op *q1 = &bm.chains[0].ops[1], *r1 = &m->chains[0].ops[1];
    differ = 0;
    for (uint32_t row = 0, nr = 0; row < 7; row++) {
        if (row == 2)
            continue;
        differ += bits_differ(c0 + q0->w_offset + row * 35, e + r0->w_offset + nr * 35, 35) +
                  bits_differ(c0 + q0->b_offset + row, e + r0->b_offset + nr, 1);
        nr++;
    }
    for (uint32_t row = 0; row < 6; row++)
        for (uint32_t col = 0, nc = 0; col < 7; col++) {
            if (col == 2)
                continue;
            differ += bits_differ(c0 + q1->w_offset + row * 7 + col, e + r1->w_offset + row * 6 + nc, 1);
            nc++;
        }
    differ += bits_differ(c0 + bm.chains[0].ops[2].w_offset, e + m->chains[0].ops[2].w_offset,
                          bm.chains[0].ops[2].w_count + bm.chains[0].ops[2].b_count);
    CHECKF(differ == 0, "removing a neuron changed %d other values", differ);
    TT_OK(nnxr_trainer_steps(t, 3, &rep, &e_));
    CHECK(rep.steps == 3 && !rep.diverged);

    /* set_weights: incoming (35) then outgoing (6). */
    float vals[41];
    for (int i = 0; i < 41; i++)
        vals[i] = 0.01f * (float)i - 0.2f;
    TT_OK(nnxr_trainer_set_neuron_weights(t, 0, 4, vals, 41, &e_));
    float *g = tt_alloc(pr * 4);
    CHECK(nnxr_trainer_read_params(t, g, &err));
    int wrong = memcmp(g + r0->w_offset + 4 * 35, vals, 35 * 4) != 0;
    for (uint32_t row = 0; row < 6; row++)
        wrong += g[r1->w_offset + row * 6 + 4] != vals[35 + row];
    CHECKF(wrong == 0, "set_weights wrote %d wrong values", wrong);

    /* Refusals name what is wrong. */
    CHECK(!nnxr_trainer_add_neuron(t, 2, &err));
    CHECK_CONTAINS(err.message, "hidden layer 2 does not exist");
    CHECK(!nnxr_trainer_set_neuron_weights(t, 0, 4, vals, 40, &err));
    CHECK_CONTAINS(err.message, "expected 41 values");
    CHECK(!nnxr_trainer_remove_neuron(t, 1, 6, &err));
    CHECK_CONTAINS(err.message, "no index 6");
    for (int i = 0; i < 5; i++)
        TT_OK(nnxr_trainer_remove_neuron(t, 1, 0, &e_));
    CHECK(!nnxr_trainer_remove_neuron(t, 1, 0, &err));
    CHECK_CONTAINS(err.message, "only one neuron left");
    TT_OK(nnxr_trainer_steps(t, 2, &rep, &e_));
    CHECK(rep.steps == 2);
    nnxr_trainer_destroy(t);
    free(a);
    free(a1);
    free(a2);
    free(b);
    free(b1);
    free(b2);
    free(c0);
    free(e);
    free(g);
    tt_free_images(&img);
}

/* ---- checkpoints ---- */

static void test_checkpoint(nnxr_gpu *gpu)
{
    tt_images img = tt_make_images(60, 35, 3, 23);
    nnxr_train_data d = tt_data_from(&img, 1, 5, 7, 48, 12, 0);
    nnxr_train_config c = mlp_config(6, 4);
    c.optimizer = NNXR_NN_ADAM;
    c.lr = 0.01;
    nnxr_trainer *t = make(gpu, &c, &d);
    if (!t)
        return;
    nnxr_error err;
    TT_OK(nnxr_trainer_steps(t, 7, NULL, &e_));
    TT_OK(nnxr_trainer_add_neuron(t, 0, &e_)); /* the checkpoint carries widths 7, 4 */
    TT_OK(nnxr_trainer_steps(t, 2, NULL, &e_));
    mkdir(NNXR_TEST_OUT, 0755);
    const char *path = NNXR_TEST_OUT "/train_ckpt.npz";
    TT_OK(nnxr_trainer_save_checkpoint(t, path, &e_));
    size_t p = nnxr_trainer_model(t)->param_count;
    float *a = tt_alloc(p * 4), *a1 = tt_alloc(p * 4), *a2 = tt_alloc(p * 4);
    CHECK(nnxr_trainer_read_params(t, a, &err) && nnxr_trainer_read_state(t, a1, a2, &err));
    double sum = 0;
    for (size_t i = 0; i < nnxr_trainer_model(t)->chains[0].ops[0].w_count; i++)
        sum += a[i];

    /* A new trainer configured with the old widths takes the checkpoint's. */
    c.checkpoint = path;
    nnxr_trainer *t2 = make(gpu, &c, &d);
    if (t2) {
        CHECK(nnxr_trainer_model(t2)->param_count == p);
        CHECK(nnxr_trainer_step(t2) == 9);
        float *b = tt_alloc(p * 4), *b1 = tt_alloc(p * 4), *b2 = tt_alloc(p * 4);
        CHECK(nnxr_trainer_read_params(t2, b, &err) && nnxr_trainer_read_state(t2, b1, b2, &err));
        CHECKF(!memcmp(a, b, p * 4) && !memcmp(a1, b1, p * 4) && !memcmp(a2, b2, p * 4),
               "the checkpoint round trip is not exact");
        free(b);
        free(b1);
        free(b2);
        nnxr_trainer_destroy(t2);
    }

    /* numpy reads it. */
    const char *py = tt_python_with_numpy();
    CHECKF(py != NULL, "no python3 with numpy (Debian's python3-numpy, or NNXR_PYTHON3)");
    if (py) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "%s -c \"import numpy as np; z = np.load('%s'); "
                 "w = z['dense0.w']; assert w.dtype == np.float32 and w.shape == (7, 35), w.shape; "
                 "assert z['dense2.w'].shape == (3, 4) and z['dense1.b'].shape == (4,); "
                 "assert z['opt2.dense0.w'].shape == (7, 35); "
                 "assert int(z['meta.step']) == 9 and list(z['meta.hidden']) == [7, 4]; "
                 "assert abs(float(w.astype(np.float64).sum()) - %.17g) < 1e-9; "
                 "print('numpy read', len(z.files), 'arrays')\"",
                 py, path, sum);
        int rc = system(cmd);
        CHECKF(rc == 0, "numpy could not read the checkpoint (exit %d)", rc);
    }

    /* Refusals: another architecture, a missing file, a truncated file. */
    nnxr_train_config cc = mlp_config(6, 4);
    cc.model.n_hidden = 1;
    cc.checkpoint = path;
    nnxr_trainer *t3 = NULL;
    nnxr_train_config c3 = cc;
    c3.model.kind = NNXR_MODEL_CNN;
    c3.model.n_layers = 0;
    CHECK(!nnxr_trainer_create(gpu, &c3, &d, &t3, &err));
    CHECK_CONTAINS(err.message, "kind");
    tt_images img2 = tt_make_images(60, 20, 3, 23);
    nnxr_train_data d2 = tt_data_from(&img2, 1, 4, 5, 48, 12, 0);
    CHECK(!nnxr_trainer_create(gpu, &cc, &d2, &t3, &err));
    CHECK_CONTAINS(err.message, "'dense0.w' has shape (7, 35), this model needs (7, 20)");
    cc.checkpoint = NNXR_TEST_OUT "/no_such_checkpoint.npz";
    CHECK(!nnxr_trainer_create(gpu, &cc, &d, &t3, &err));
    CHECK_CONTAINS(err.message, "no_such_checkpoint.npz");
    FILE *in = fopen(path, "rb"), *out = fopen(NNXR_TEST_OUT "/train_ckpt_cut.npz", "wb");
    if (in && out) {
        char buf[700];
        size_t n = fread(buf, 1, sizeof buf, in);
        fwrite(buf, 1, n, out);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    cc.checkpoint = NNXR_TEST_OUT "/train_ckpt_cut.npz";
    cc.model.n_hidden = 2;
    CHECK(!nnxr_trainer_create(gpu, &cc, &d, &t3, &err));
    CHECK_CONTAINS(err.message, "train_ckpt_cut.npz");
    CHECK(t3 == NULL);
    tt_free_images(&img2);
    nnxr_trainer_destroy(t);
    free(a);
    free(a1);
    free(a2);
    tt_free_images(&img);
}

/* ---- divergence ---- */

static void test_divergence(nnxr_gpu *gpu)
{
    tt_images img = tt_make_images(600, 35, 3, 24);
    nnxr_train_data d = tt_data_from(&img, 1, 5, 7, 560, 40, 0);
    nnxr_train_config c = mlp_config(16, 16);
    tt_metrics mt = {0};
    c.publish = tt_publish;
    c.publish_user = &mt;
    c.fused = 0;
    nnxr_trainer *t = make(gpu, &c, &d);
    if (!t)
        return;
    nnxr_error err;
    TT_OK(nnxr_trainer_steps(t, 4, NULL, &e_));
    /* lr far too high: with L2 the weights are multiplied by (1 - lr*l2) = -9 a step. */
    TT_OK(nnxr_trainer_set_hparam(t, "lr", 10.0, &e_));
    TT_OK(nnxr_trainer_set_hparam(t, "l2", 1.0, &e_));
    size_t p = nnxr_trainer_model(t)->param_count;
    float *before = tt_alloc(p * 12), *after = tt_alloc(p * 12);
    bool diverged = false;
    for (int i = 0; i < 8 && !diverged; i++) {
        CHECK(nnxr_trainer_read_params(t, before, &err) &&
              nnxr_trainer_read_state(t, before + p, before + 2 * p, &err));
        uint64_t step = nnxr_trainer_step(t);
        nnxr_train_report rep;
        TT_OK(nnxr_trainer_steps(t, 8, &rep, &e_));
        if (rep.diverged) {
            diverged = true;
            CHECK(rep.submissions == 1 && rep.steps == 0);
            CHECK(nnxr_trainer_step(t) == step);
            CHECK(nnxr_trainer_read_params(t, after, &err) &&
                  nnxr_trainer_read_state(t, after + p, after + 2 * p, &err));
            CHECKF(!memcmp(before, after, p * 12), "the weights from before the diverging "
                   "submission were not restored");
            bool finite = true;
            for (size_t k = 0; k < 3 * p; k++)
                finite = finite && isfinite(after[k]);
            CHECK(finite);
            printf("  divergence detected in the submission of steps %llu..%llu\n",
                   (unsigned long long)step + 1, (unsigned long long)step + 8);
        }
    }
    CHECKF(diverged, "lr 10 with l2 1 did not diverge in 64 steps");
    CHECK(tt_metric(&mt, "train.diverged", 0) == 1.0);
    /* With a sane rate training resumes from the restored weights. */
    TT_OK(nnxr_trainer_set_hparam(t, "lr", 0.01, &e_));
    TT_OK(nnxr_trainer_set_hparam(t, "l2", 0.0, &e_));
    nnxr_train_report rep;
    TT_OK(nnxr_trainer_steps(t, 8, &rep, &e_));
    CHECK(rep.steps == 8 && !rep.diverged);
    nnxr_trainer_destroy(t);
    free(before);
    free(after);
    tt_free_images(&img);
}

/* ---- hyperparameters, frames, chunks ---- */

static void test_hparams_frames(nnxr_gpu *gpu)
{
    tt_images img = tt_make_images(200, 35, 3, 25);
    nnxr_train_data d = tt_data_from(&img, 1, 5, 7, 160, 40, 0);
    nnxr_train_config c = mlp_config(8, 8);
    nnxr_trainer *t = make(gpu, &c, &d);
    if (!t)
        return;
    nnxr_error err;
    double v = 0;
    TT_OK(nnxr_trainer_set_hparam(t, "lr", 0.125, &e_));
    CHECK(nnxr_trainer_get_hparam(t, "lr", &v) && v == 0.125);
    TT_OK(nnxr_trainer_set_hparam(t, "l2", 0.001, &e_));
    CHECK(nnxr_trainer_get_hparam(t, "l2", &v) && fabs(v - 0.001) < 1e-9);
    CHECK(!nnxr_trainer_set_hparam(t, "learning_rate", 0.1, &err));
    CHECK_CONTAINS(err.message, "unknown name \"learning_rate\"");
    CHECK(!nnxr_trainer_set_hparam(t, "momentum", 1.5, &err));
    CHECK_CONTAINS(err.message, "momentum");
    CHECK(!nnxr_trainer_set_hparam(t, "batch", 0, &err));
    CHECK(!nnxr_trainer_set_labels(t, NULL, 0, &err));
    CHECK_CONTAINS(err.message, "only a vae");

    /* Paused: nothing. A frame: one submission within max_steps_per_frame. */
    nnxr_train_report rep;
    TT_OK(nnxr_trainer_frame(t, true, &rep, &e_));
    CHECK(rep.steps == 0 && rep.submissions == 0 && nnxr_trainer_step(t) == 0);
    TT_OK(nnxr_trainer_set_hparam(t, "max_steps_per_frame", 4, &e_));
    for (int i = 0; i < 4; i++) {
        TT_OK(nnxr_trainer_frame(t, false, &rep, &e_));
        CHECK(rep.submissions == 1 && rep.steps >= 1 && rep.steps <= 4);
    }
    uint64_t s = nnxr_trainer_step(t);
    CHECK(s >= 4 && s <= 16);
    /* A new batch size continues the epoch. */
    TT_OK(nnxr_trainer_set_hparam(t, "batch", 5, &e_));
    CHECK(nnxr_trainer_get_hparam(t, "batch", &v) && v == 5);
    TT_OK(nnxr_trainer_steps(t, 6, &rep, &e_));
    CHECK(rep.steps == 6);
    nnxr_trainer_destroy(t);

    /* Chunked data gives the same training as one chunk (same order, same arithmetic). */
    tt_images ci = tt_make_images(40, 35, 3, 26);
    nnxr_train_data cd = tt_data_from(&ci, 1, 5, 7, 24, 16, 0);
    nnxr_train_config c1 = mlp_config(6, 5);
    c1.batch = 4;
    c1.shuffle = false;
    c1.fused = 0;
    nnxr_train_config c2 = c1;
    c2.chunk_bytes = 8 * 35; /* 8 samples per chunk: 3 chunks of 2 steps */
    c2.eval_batch = 3;
    nnxr_trainer *t1 = make(gpu, &c1, &cd), *t2 = make(gpu, &c2, &cd);
    if (t1 && t2) {
        CHECK(nnxr_trainer_data_chunks(t1) == 1 && nnxr_trainer_data_chunks(t2) == 3);
        TT_OK(nnxr_trainer_steps(t1, 6, NULL, &e_));
        TT_OK(nnxr_trainer_steps(t2, 6, NULL, &e_));
        size_t p = nnxr_trainer_model(t1)->param_count;
        float *a = tt_alloc(p * 4), *b = tt_alloc(p * 4);
        CHECK(nnxr_trainer_read_params(t1, a, &err) && nnxr_trainer_read_params(t2, b, &err));
        size_t at = 0;
        double dd[1];
        (void)dd;
        double worst = 0;
        for (size_t i = 0; i < p; i++)
            if (fabs(a[i] - b[i]) > worst) {
                worst = fabs(a[i] - b[i]);
                at = i;
            }
        CHECKF(worst <= 1e-6, "chunked training differs at %zu by %g", at, worst);
        nnxr_eval_result r1, r2;
        TT_OK(nnxr_trainer_evaluate(t1, NNXR_SET_VAL, &r1, &e_));
        TT_OK(nnxr_trainer_evaluate(t2, NNXR_SET_VAL, &r2, &e_));
        CHECK_CLOSE(r1.loss, r2.loss, 1e-5);
        CHECK(r1.accuracy == r2.accuracy);
        free(a);
        free(b);
    }
    nnxr_trainer_destroy(t1);
    nnxr_trainer_destroy(t2);
    tt_free_images(&ci);
    tt_free_images(&img);
}

/* ---- reproducibility and exports ---- */

static void test_repro_export(nnxr_gpu *gpu)
{
    tt_images img = tt_make_images(150, 35, 4, 27);
    nnxr_train_data d = tt_data_from(&img, 1, 5, 7, 100, 50, 0);
    nnxr_train_config c = mlp_config(9, 6);
    c.export_what[0] = "activations";
    c.export_what[1] = "predictions";
    c.export_count = 2;
    c.export_layers[0] = "dense1";
    c.export_layer_count = 1;
    c.eval_batch = 7;
    nnxr_trainer *a = make(gpu, &c, &d), *b = make(gpu, &c, &d);
    if (!a || !b) {
        nnxr_trainer_destroy(a);
        nnxr_trainer_destroy(b);
        return;
    }
    nnxr_error err;
    /* One seed, one run: 30 shuffled steps over two epochs give the same bits. */
    TT_OK(nnxr_trainer_steps(a, 30, NULL, &e_));
    TT_OK(nnxr_trainer_steps(b, 30, NULL, &e_));
    size_t p = nnxr_trainer_model(a)->param_count;
    float *pa = tt_alloc(p * 4), *pb = tt_alloc(p * 4);
    CHECK(nnxr_trainer_read_params(a, pa, &err) && nnxr_trainer_read_params(b, pb, &err));
    CHECKF(!memcmp(pa, pb, p * 4), "two runs with one seed differ");

    /* Exports: dense1's activations on the validation set against nn/ref, predictions. */
    const char *dir = NNXR_TEST_OUT "/train_export";
    mkdir(NNXR_TEST_OUT, 0755);
    mkdir(dir, 0755);
    uint32_t written = 0;
    TT_OK(nnxr_trainer_export(a, dir, &written, &e_));
    CHECK(written == 5);
    nnxr_array act, pred;
    memset(&act, 0, sizeof act);
    memset(&pred, 0, sizeof pred);
    CHECK(nnxr_npy_read(NNXR_TEST_OUT "/train_export/activations_dense1.npy", &act, &err));
    CHECK(nnxr_npy_read(NNXR_TEST_OUT "/train_export/predictions.npy", &pred, &err));
    CHECK(act.dtype == NNXR_DTYPE_F32 && act.ndim == 2 && act.shape[0] == 50 && act.shape[1] == 6);
    CHECK(pred.dtype == NNXR_DTYPE_I32 && pred.ndim == 1 && pred.shape[0] == 50);
    const nnxr_model *m = nnxr_trainer_model(a);
    double *pd = tt_alloc(p * 8), *x = tt_alloc(50 * 35 * 8),
           *acts = tt_alloc((size_t)50 * m->ref.net.act_count * 8);
    for (size_t i = 0; i < p; i++)
        pd[i] = pa[i];
    for (int i = 0; i < 50 * 35; i++)
        x[i] = d.val.u8[i] / 255.0;
    nnxr_ref_net_forward(&m->ref.net, pd, 50, x, acts);
    /* dense1 + relu is ref layers 2 and 3: the act layer's output. */
    const double *want = acts + (size_t)50 * m->ref.net.layers[3].act_offset;
    double worst = 0;
    for (int i = 0; act.data && i < 50 * 6; i++)
        worst = fmax(worst, fabs(((float *)act.data)[i] - want[i]) / fmax(1, fabs(want[i])));
    CHECKF(act.data && worst < 1e-5, "exported activations differ from nn/ref by %g", worst);
    nnxr_array_free(&act);
    nnxr_array_free(&pred);
    c.export_layers[0] = "dense7";
    nnxr_trainer *bad = make(gpu, &c, &d);
    if (bad) {
        CHECK(!nnxr_trainer_export(bad, dir, NULL, &err));
        CHECK_CONTAINS(err.message, "no layer named 'dense7' (this model has dense0, dense1, "
                                    "dense2)");
        nnxr_trainer_destroy(bad);
    }
    free(pa);
    free(pb);
    free(pd);
    free(x);
    free(acts);
    nnxr_trainer_destroy(a);
    nnxr_trainer_destroy(b);
    tt_free_images(&img);
}

/* ---- regression (MSE) ---- */

static void test_regression(nnxr_gpu *gpu)
{
    enum { N = 300 };
    float *xs = tt_alloc(N * 2 * 4), *ys = tt_alloc(N * 4);
    nnxr_rng r;
    nnxr_rng_seed(&r, 9, 1);
    for (int i = 0; i < N; i++) {
        xs[2 * i] = (float)nnxr_rng_uniform(&r, -1, 1);
        xs[2 * i + 1] = (float)nnxr_rng_uniform(&r, -1, 1);
        ys[i] = 0.5f * xs[2 * i] - 0.3f * xs[2 * i + 1] + 0.1f;
    }
    nnxr_train_data d;
    memset(&d, 0, sizeof d);
    d.in_c = 2;
    d.in_h = d.in_w = 1;
    d.outputs = 1;
    d.train = (nnxr_train_split){200, NULL, xs, NULL, ys, NULL};
    d.test = (nnxr_train_split){100, NULL, xs + 400, NULL, ys + 200, NULL};
    nnxr_train_config c = nnxr_train_config_default();
    c.model.kind = NNXR_MODEL_MLP;
    c.model.n_hidden = 1;
    c.model.hidden[0] = 8;
    c.model.act = NNXR_NN_TANH;
    c.batch = 10;
    c.lr = 0.05;
    c.nn = g_nn;
    c.fused = tt_fused();
    nnxr_trainer *t = make(gpu, &c, &d);
    if (!t)
        return;
    nnxr_eval_result r0, r1;
    TT_OK(nnxr_trainer_evaluate(t, NNXR_SET_TEST, &r0, &e_));
    TT_OK(nnxr_trainer_epochs(t, 20, NULL, &e_));
    TT_OK(nnxr_trainer_evaluate(t, NNXR_SET_TEST, &r1, &e_));
    printf("  regression: test MSE %.5f -> %.5f (fused %d)\n", r0.loss, r1.loss,
           nnxr_trainer_fused(t));
    CHECK(isnan(r1.accuracy));
    CHECKF(r1.loss < 0.1 * r0.loss && r1.loss < 0.005, "MSE %g -> %g", r0.loss, r1.loss);
    /* The evaluation's MSE against nn/ref on the parameters read back. */
    const nnxr_model *m = nnxr_trainer_model(t);
    size_t p = m->param_count;
    float *pf = tt_alloc(p * 4);
    double *pd = tt_alloc(p * 8), x[200], y[100], t100[100];
    nnxr_error err;
    CHECK(nnxr_trainer_read_params(t, pf, &err));
    for (size_t i = 0; i < p; i++)
        pd[i] = pf[i];
    for (int i = 0; i < 200; i++)
        x[i] = xs[400 + i];
    for (int i = 0; i < 100; i++)
        t100[i] = ys[200 + i];
    CHECK(nnxr_ref_model_predict(&m->ref, pd, 100, x, y, &err));
    double mse = nnxr_ref_mse(100, 1, y, t100, NULL);
    CHECK_CLOSE(r1.loss, mse, 1e-4);
    free(pf);
    free(pd);
    nnxr_trainer_destroy(t);
    free(xs);
    free(ys);
}

/* ---- the VAE's per-class means and the model service's data view ---- */

static void test_vae_class_means(nnxr_gpu *gpu)
{
    tt_images img = tt_make_images(120, 35, 4, 31);
    nnxr_train_data d = tt_data_from(&img, 1, 5, 7, 80, 40, 0);
    nnxr_train_config c = nnxr_train_config_default();
    c.model.kind = NNXR_MODEL_VAE;
    c.model.act = NNXR_NN_RELU;
    c.model.latent = 3;
    c.model.n_enc = 1;
    c.model.enc[0] = 9;
    c.model.n_dec = 1;
    c.model.dec[0] = 9;
    c.model.n_cls = 1;
    c.model.cls[0] = 5;
    c.optimizer = NNXR_NN_ADAM;
    c.lr = 1e-3;
    c.batch = 8;
    c.seed = 5;
    c.nn = g_nn;
    nnxr_trainer *t = make(gpu, &c, &d);
    if (!t) {
        tt_free_images(&img);
        return;
    }
    nnxr_error err;
    TT_OK(nnxr_trainer_steps(t, 6, NULL, &e_));
    /* No sample carries a user label: the training loss is the autoencoder's alone. */
    nnxr_eval_result tr;
    TT_OK(nnxr_trainer_train_stats(t, &tr, &e_));
    CHECKF(isfinite(tr.loss) && fabs(tr.loss - (tr.bce + tr.kl)) <= 1e-9 * fabs(tr.loss),
           "unlabelled vae: train loss %g, bce %g + kl %g", tr.loss, tr.bce, tr.kl);
    CHECK(isnan(tr.cls_loss));
    TT_OK(nnxr_trainer_evaluate(t, NNXR_SET_VAL, NULL, &e_));
    uint32_t n = d.val.count, k = 4;
    float *mu = tt_alloc((size_t)n * 3 * 4);
    int32_t *lab = tt_alloc(n * 4);
    CHECK(nnxr_trainer_read_outputs(t, NNXR_SET_VAL, NULL, NULL, NULL, lab, mu, &err));
    nnxr_model_info info;
    CHECK(nnxr_trainer_model_info(t, &info, &err));
    int with_means = 0;
    const nnxr_model_layer *mul = NULL;
    for (uint32_t i = 0; i < info.layer_count; i++) {
        with_means += info.layers[i].class_mean.buffer != NULL;
        if (!strcmp(info.layers[i].name, "mu"))
            mul = &info.layers[i];
    }
    CHECKF(with_means == (int)info.layer_count, "%d of %u VAE layers have class means",
           with_means, info.layer_count);
    CHECK(mul != NULL);
    if (mul && mul->class_mean.buffer) {
        float mean[4 * 3];
        read_region(gpu, mul->class_mean, mean);
        double worst = 0;
        for (uint32_t cl = 0; cl < k; cl++)
            for (int j = 0; j < 3; j++) {
                double s = 0;
                int cnt = 0;
                for (uint32_t i = 0; i < n; i++)
                    if (lab[i] == (int32_t)cl) {
                        s += mu[i * 3 + j];
                        cnt++;
                    }
                double want = cnt ? s / cnt : 0;
                worst = fmax(worst, fabs(mean[cl * 3 + j] - want) / fmax(1, fabs(want)));
            }
        CHECKF(worst < 1e-5, "mu's class means differ from the means of mu by %g", worst);
    }
    /* The data view: the very arrays the trainer was given, the eval set the validation. */
    nnxr_model_api api;
    nnxr_trainer_fill_model_api(t, &api);
    nnxr_model_data dv;
    CHECK(api.data && api.data(api.ctx, &dv, &err));
    CHECK(dv.size == sizeof dv && dv.train.count == 80 && dv.eval.count == 40);
    CHECK(dv.train.u8 == d.train.u8 && dv.eval.u8 == d.val.u8 && dv.eval.labels == d.val.labels);
    CHECK_CLOSE(dv.scale, 1.0 / 255.0, 1e-9);
    CHECK(dv.feature_count == 0);
    free(mu);
    free(lab);
    nnxr_trainer_destroy(t);
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
    printf("evaluation vs nn/ref\n");
    test_eval(gpu);
    printf("surgery\n");
    test_surgery(gpu);
    printf("checkpoints\n");
    test_checkpoint(gpu);
    printf("divergence\n");
    test_divergence(gpu);
    printf("hyperparameters, frames, chunks\n");
    test_hparams_frames(gpu);
    printf("reproducibility, exports\n");
    test_repro_export(gpu);
    printf("regression\n");
    test_regression(gpu);
    printf("vae class means, data view\n");
    test_vae_class_means(gpu);
    nnxr_nn_destroy(g_nn);
    tg_close(gpu);
    return check_finish();
}
