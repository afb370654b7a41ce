/* tests/unit/test_nnk_optim.c — the optimizer kernel against engine/nn/ref: SGD with momentum as
 * AIive writes it and Adam with bias correction, one step and several (each step its own
 * gradient, recorded as consecutive tape steps, then the recording replayed after advancing
 * hparams.step as a trainer does), with L1 and L2 on the weights only (weight bits), and the
 * gradient zeroing. Parameters start at an odd offset of a shared buffer (the scalar path) or
 * at multiples of 4 floats (vec4 accesses, the state aligned or not). */
#include "test_nnk_util.h"

#define NP 1037u /* parameters: not a multiple of any workgroup */

/* The vectors at float offset `off` of one buffer, `stride` apart (grads likewise): odd
 * offsets take the kernel's scalar path, multiples of 4 its vec4 accesses (a stride of NP
 * leaves the state vectors unaligned, as in a trainer whose parameter count is odd). */
static void run(nnk_env *e, nnxr_nn_optimizer kind, uint32_t steps, uint32_t replays, float l1,
                float l2, uint32_t step0, uint32_t off, uint32_t stride)
{
    uint32_t s = 17 + kind * 5 + steps;
    double *wd, *gd;
    float *wf = nnk_rand(&s, NP, -1, 1, &wd);
    float *gf = nnk_rand(&s, (size_t)NP * steps, -1, 1, &gd);
    float *gpad = tg_alloc((size_t)stride * steps * 4);
    for (uint32_t st = 0; st < steps; st++)
        memcpy(gpad + (size_t)st * stride, gf + (size_t)st * NP, NP * 4);
    for (uint32_t i = 0; i < NP; i += 97) {
        wf[i] = 0.0f; /* sign(0) = 0 for L1 */
        wd[i] = 0.0;
    }
    uint8_t *isw = tg_alloc(NP);
    for (uint32_t i = 0; i < NP; i++)
        isw[i] = (i % 7) != 3; /* every 7th is a "bias" */
    uint32_t bits[(NP + 31) / 32];
    nnxr_nn_pack_weight_bits(NP, isw, bits);
    nnxr_buffer *P = nnk_buf(e, "params+state", off + 3 * (size_t)stride, NULL);
    nnk_upload(e, P, off, wf, NP);
    nnxr_buffer *G = nnk_buf(e, "grads", (size_t)stride * steps, gpad);
    nnxr_buffer *BITS = nnk_buf(e, "bits", (NP + 31) / 32, (float *)bits);
    nnxr_buffer *HP = tg_buffer(e->gpu, "hp", NNXR_BUFFER_HOST, 64);
    nnxr_nn_hparams hp = nnxr_nn_hparams_default();
    hp.lr = kind == NNXR_NN_SGD ? 0.05f : 0.01f;
    hp.momentum = 0.9f;
    hp.beta1 = 0.9f;
    hp.beta2 = 0.99f;
    hp.adam_eps = 1e-7f;
    hp.l1 = l1;
    hp.l2 = l2;
    hp.step = step0;
    memcpy(HP->mapped, &hp, sizeof hp);
    nnk_begin(e);
    nnxr_error err;
    bool ok = true;
    for (uint32_t st = 0; st < steps && ok; st++) {
        nnxr_nn_tape_set_step(e->tape, st);
        nnxr_nn_opt_args a = {.kind = kind,
                              .count = NP,
                              .params = nnxr_nn_at(P, (size_t)off * 4),
                              .grads = nnxr_nn_at(G, (size_t)st * stride * 4),
                              .state1 = nnxr_nn_at(P, (off + (size_t)stride) * 4),
                              .state2 = nnxr_nn_at(P, (off + 2 * (size_t)stride) * 4),
                              .hparams = nnxr_nn_at(HP, 0),
                              .weight_bits = nnxr_nn_at(BITS, 0)};
        ok = nnxr_nn_optimize(e->tape, &a, &err);
    }
    CHECKF(ok, "optimize: %s", err.message);
    if (ok) {
        for (uint32_t r = 0; r < replays && ok; r++) {
            ok = nnk_run(e);
            hp.step += steps; /* what a trainer does after each submission */
            memcpy(HP->mapped, &hp, sizeof hp);
        }
        double *m = tg_alloc(NP * 8), *v = tg_alloc(NP * 8), *g = tg_alloc(NP * 8);
        int64_t t = step0;
        for (uint32_t r = 0; r < replays; r++)
            for (uint32_t st = 0; st < steps; st++) {
                memcpy(g, gd + (size_t)st * NP, NP * 8);
                nnxr_ref_regularize(NP, wd, isw, l1, l2, g);
                t++;
                if (kind == NNXR_NN_SGD)
                    nnxr_ref_sgd_momentum_step(NP, wd, g, m, hp.lr, hp.momentum);
                else
                    nnxr_ref_adam_step(NP, wd, g, m, v, t, hp.lr, hp.beta1, hp.beta2, hp.adam_eps);
            }
        float *gw = nnk_read(e, P, off, NP), *gs1 = nnk_read(e, P, off + stride, NP);
        char label[160];
        snprintf(label, sizeof label, "%s %u step%s x %u replay%s l1 %.3g l2 %.3g off %u stride "
                 "%u: params", kind == NNXR_NN_SGD ? "SGD-momentum" : "Adam", steps,
                 steps > 1 ? "s" : "", replays, replays > 1 ? "s" : "", l1, l2, off, stride);
        NNK_CLOSE(label, gw, wd, NP, NNK_TOL);
        snprintf(label, sizeof label, "%s %u x %u: %s", kind == NNXR_NN_SGD ? "SGD-momentum" : "Adam",
                 steps, replays, kind == NNXR_NN_SGD ? "delta" : "m");
        NNK_CLOSE(label, gs1, m, NP, NNK_TOL);
        if (kind == NNXR_NN_ADAM) {
            float *gs2 = nnk_read(e, P, off + 2 * stride, NP);
            NNK_CLOSE("Adam: v", gs2, v, NP, NNK_TOL);
            free(gs2);
        }
        free(m), free(v), free(g), free(gw), free(gs1);
    }
    nnxr_recorder_wait(e->rec, &err);
    nnxr_nn_tape_clear(e->tape);
    nnxr_buffer_destroy(e->gpu, P), nnxr_buffer_destroy(e->gpu, G);
    nnxr_buffer_destroy(e->gpu, BITS), nnxr_buffer_destroy(e->gpu, HP);
    free(wf), free(gf), free(gpad), free(wd), free(gd), free(isw);
}

static void test_zero_grads(nnk_env *e)
{
    float w[5] = {1, 2, 3, 4, 5}, g[5] = {1, 1, 1, 1, 1};
    nnxr_buffer *W = nnk_buf(e, "w", 5, w), *G = nnk_buf(e, "g", 5, g), *S = nnk_buf(e, "s", 5, NULL);
    nnxr_nn_hparams hp = nnxr_nn_hparams_default();
    hp.lr = 0.5f;
    hp.momentum = 0;
    nnxr_buffer *HP = nnk_buf(e, "hp", 16, (const float *)&hp);
    nnk_begin(e);
    nnxr_nn_opt_args a = {.kind = NNXR_NN_SGD, .count = 5, .params = nnxr_nn_at(W, 0),
                          .grads = nnxr_nn_at(G, 0), .state1 = nnxr_nn_at(S, 0),
                          .hparams = nnxr_nn_at(HP, 0), .zero_grads = true};
    nnxr_error err;
    bool ok = nnxr_nn_optimize(e->tape, &a, &err);
    CHECKF(ok, "%s", err.message);
    if (ok && nnk_run(e)) {
        float *gw = nnk_read(e, W, 0, 5), *gg = nnk_read(e, G, 0, 5);
        CHECK(gw[0] == 0.5f && gw[4] == 4.5f);
        CHECK(gg[0] == 0 && gg[2] == 0 && gg[4] == 0);
        free(gw), free(gg);
    }
    a.kind = (nnxr_nn_optimizer)5;
    CHECK(!nnxr_nn_optimize(e->tape, &a, &err));
    CHECK_CONTAINS(err.message, "optimizer 5");
    a.kind = NNXR_NN_ADAM; /* Adam needs state2 */
    CHECK(!nnxr_nn_optimize(e->tape, &a, &err));
    CHECK_CONTAINS(err.message, "'state2' is missing");
    nnxr_recorder_wait(e->rec, &err);
    nnxr_nn_tape_clear(e->tape);
    nnxr_buffer_destroy(e->gpu, W), nnxr_buffer_destroy(e->gpu, G);
    nnxr_buffer_destroy(e->gpu, S), nnxr_buffer_destroy(e->gpu, HP);
}

int main(void)
{
    nnk_env e = nnk_open();
    run(&e, NNXR_NN_SGD, 1, 1, 0, 0, 0, 3, NP);
    run(&e, NNXR_NN_SGD, 5, 2, 0.01f, 0.02f, 0, 3, NP);
    run(&e, NNXR_NN_ADAM, 1, 1, 0, 0, 0, 3, NP);
    run(&e, NNXR_NN_ADAM, 4, 3, 0.003f, 0.01f, 3, 3, NP);
    /* vec4 accesses: every vector aligned; params and grads aligned, the state not */
    run(&e, NNXR_NN_SGD, 5, 2, 0.01f, 0.02f, 0, 4, 1040);
    run(&e, NNXR_NN_ADAM, 4, 3, 0.003f, 0.01f, 3, 4, 1040);
    run(&e, NNXR_NN_SGD, 1, 3, 0.01f, 0.02f, 0, 0, NP);
    run(&e, NNXR_NN_ADAM, 1, 4, 0.003f, 0.01f, 3, 0, NP);
    test_zero_grads(&e);
    nnk_close(&e);
    return check_finish();
}
