/* nn/trainer_record.c — what the trainer records through nn/layers.h: a training step of each
 * model (gather, forward, loss, backward, optimizer update; or the fused tiny-MLP kernel),
 * the frame of a step recording (backup copy first, finiteness checks last), and an
 * evaluation pass over a set (loss statistics, probabilities and predictions, per-class sums,
 * the VAE's mu of every sample, the probe batch's activations).
 *
 * Backward convention: dz[o] is dL/d(pre-activation) of op o's output. Op o's backward writes
 * dz[o-1] already multiplied by op o-1's activation derivative (nn/layers.h's dx_act), so the
 * loss kernels' dL/dlogits is dz of the final linear dense and no separate activation pass
 * is needed except after the VAE's two heads meet on h. */
#include "nn/trainer_impl.h"

#include <string.h>

#include "core/status.h"

static const nnxr_nn_mem none = {NULL, 0};

static nnxr_nn_mem param_at(const nnxr_trainer *t, size_t floats)
{
    return tr_at(t->params, floats);
}

static nnxr_nn_mem grad_at(const nnxr_trainer *t, size_t floats)
{
    return tr_at(t->grads, floats);
}

static nnxr_nn_mem stats_at(const nnxr_trainer *t, uint32_t floats)
{
    return tr_at(t->stats, floats);
}

static nnxr_nn_mem hp_mem(const nnxr_trainer *t)
{
    return nnxr_nn_at(t->hparams, 0);
}

/* Outputs (and gradients) of a chain's ops in a plan. */
static void chain_mems(const tr_plan *p, uint32_t c, uint32_t n_ops, nnxr_nn_mem *outs,
                       nnxr_nn_mem *dzs)
{
    for (uint32_t o = 0; o < n_ops; o++) {
        outs[o] = tr_at(p->buf, p->out[c][o]);
        if (dzs)
            dzs[o] = p->grads ? tr_at(p->buf, p->dz[c][o]) : none;
    }
}

/* The chain's output: its last op's, or its input when it has none. */
static nnxr_nn_mem chain_out(const nnxr_model_chain *ch, nnxr_nn_mem in, const nnxr_nn_mem *outs)
{
    return ch->n_ops ? outs[ch->n_ops - 1] : in;
}

static bool forward_chain(nnxr_trainer *t, nnxr_nn_tape *tape, uint32_t c, uint32_t batch,
                          nnxr_nn_mem in, const nnxr_nn_mem *outs, nnxr_error *err)
{
    const nnxr_model_chain *ch = &t->model.chains[c];
    for (uint32_t o = 0; o < ch->n_ops; o++) {
        const nnxr_model_op *op = &ch->ops[o];
        nnxr_nn_mem x = o ? outs[o - 1] : in;
        bool ok = true;
        switch (op->kind) {
        case NNXR_OP_DENSE: {
            nnxr_nn_dense d = {batch, op->in_size, op->out_size};
            ok = nnxr_nn_dense_forward(tape, &d, x, param_at(t, op->w_offset),
                                       param_at(t, op->b_offset), outs[o], op->act, err);
            break;
        }
        case NNXR_OP_CONV: {
            nnxr_nn_conv cv = {batch, op->in_c, op->in_h, op->in_w, op->out_c, op->k, op->pad};
            ok = nnxr_nn_conv2d_forward(tape, &cv, x, param_at(t, op->w_offset),
                                        param_at(t, op->b_offset), outs[o], op->act, err);
            break;
        }
        case NNXR_OP_POOL:
            ok = nnxr_nn_maxpool_forward(tape, batch, op->in_c, op->in_h, op->in_w, x, outs[o],
                                         err);
            break;
        case NNXR_OP_ACT:
            ok = nnxr_nn_act_forward(tape, op->act, batch * op->out_size, x, outs[o], err);
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* From dzs[last] back through the chain. dx (optional) receives dL/d(input) times in_act'
 * (or is added to, with accumulate_dx, which needs in_act LINEAR). */
static bool backward_chain(nnxr_trainer *t, nnxr_nn_tape *tape, uint32_t c, uint32_t batch,
                           nnxr_nn_mem in, const nnxr_nn_mem *outs, const nnxr_nn_mem *dzs,
                           nnxr_nn_mem dx, nnxr_nn_act in_act, bool accumulate_dx,
                           nnxr_error *err)
{
    const nnxr_model_chain *ch = &t->model.chains[c];
    for (uint32_t oi = ch->n_ops; oi-- > 0;) {
        const nnxr_model_op *op = &ch->ops[oi];
        nnxr_nn_mem x = oi ? outs[oi - 1] : in;
        nnxr_nn_mem dxm = oi ? dzs[oi - 1] : dx;
        nnxr_nn_act prev = oi ? ch->ops[oi - 1].act : in_act;
        bool acc = oi == 0 && accumulate_dx;
        bool ok = true;
        switch (op->kind) {
        case NNXR_OP_DENSE: {
            nnxr_nn_dense d = {batch, op->in_size, op->out_size};
            nnxr_nn_dense_grad g = {.x = x, .w = param_at(t, op->w_offset), .dz = dzs[oi],
                                    .dx = dxm, .dw = grad_at(t, op->w_offset),
                                    .db = grad_at(t, op->b_offset), .dx_act = prev, .dx_y = x,
                                    .accumulate_dx = acc};
            ok = nnxr_nn_dense_backward(tape, &d, &g, err);
            break;
        }
        case NNXR_OP_CONV: {
            nnxr_nn_conv cv = {batch, op->in_c, op->in_h, op->in_w, op->out_c, op->k, op->pad};
            nnxr_nn_conv_grad g = {.x = x, .w = param_at(t, op->w_offset), .dz = dzs[oi],
                                   .dx = dxm, .dw = grad_at(t, op->w_offset),
                                   .db = grad_at(t, op->b_offset), .dx_act = prev, .dx_y = x,
                                   .accumulate_dx = acc,
                                   /* a step writes a layer's input only in its forward */
                                   .x_unchanged = true};
            ok = nnxr_nn_conv2d_backward(tape, &cv, &g, err);
            break;
        }
        case NNXR_OP_POOL:
            if (dxm.buf && acc)
                return nnxr_fail(err, "trainer: a chain starting with maxpool cannot add its "
                                 "input gradient");
            if (dxm.buf)
                ok = nnxr_nn_maxpool_backward(tape, batch, op->in_c, op->in_h, op->in_w, x,
                                              dzs[oi], dxm, prev, err);
            break;
        case NNXR_OP_ACT:
            if (dxm.buf && acc)
                return nnxr_fail(err, "trainer: a chain starting with an activation cannot add "
                                 "its input gradient");
            /* dzs[oi] is dL/d(this op's input); the op before wants it times its own
             * activation's derivative. */
            if (dxm.buf)
                ok = nnxr_nn_act_backward(tape, prev, batch * op->in_size, x, dzs[oi], dxm, err);
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* The gather of one batch from a chunk: training (shuffled, position from hparams) or
 * evaluation (step_stride 0 at `first`). */
static bool gather(nnxr_trainer *t, nnxr_nn_tape *tape, const tr_chunk *ch, bool train,
                   uint32_t first, uint32_t batch, nnxr_nn_mem x, nnxr_nn_mem labels_out,
                   nnxr_nn_mem mask_out, nnxr_nn_mem targets_out, nnxr_error *err)
{
    nnxr_nn_gather_args g = {.batch = batch,
                             .features = t->model.in_size,
                             .count = ch->count,
                             .format = t->u8 ? NNXR_NN_U8 : NNXR_NN_F32,
                             .src = nnxr_nn_at(ch->x, 0),
                             .index = train ? nnxr_nn_at(ch->index, 0) : none,
                             .first = first,
                             .step_stride = train ? 1 : 0,
                             .hparams = train ? hp_mem(t) : none,
                             .scale = t->shape.scale,
                             .offset = t->shape.offset,
                             .x = x};
    bool vae_labels = t->vae && train && ch->user_labels;
    if (labels_out.buf && (vae_labels || ch->labels)) {
        g.label_format = vae_labels ? NNXR_NN_I32 : NNXR_NN_U8;
        g.labels = nnxr_nn_at(vae_labels ? ch->user_labels : ch->labels, 0);
        g.labels_out = labels_out;
    }
    if (mask_out.buf && vae_labels) {
        g.mask = nnxr_nn_at(ch->mask, 0);
        g.mask_out = mask_out;
    }
    if (!nnxr_nn_gather(tape, &g, err))
        return false;
    if (targets_out.buf && ch->targets) {
        nnxr_nn_gather_args tg = g;
        tg.features = t->model.outputs;
        tg.format = NNXR_NN_F32;
        tg.src = nnxr_nn_at(ch->targets, 0);
        tg.scale = 1.0f;
        tg.offset = 0.0f;
        tg.x = targets_out;
        tg.labels = tg.labels_out = tg.mask = tg.mask_out = none;
        if (!nnxr_nn_gather(tape, &tg, err))
            return false;
    }
    return true;
}

static bool optimize(nnxr_trainer *t, nnxr_nn_tape *tape, nnxr_error *err)
{
    size_t p = t->model.param_count;
    nnxr_nn_opt_args a = {.kind = t->cfg.optimizer,
                          .count = (uint32_t)p,
                          .params = param_at(t, 0),
                          .grads = grad_at(t, 0),
                          .state1 = param_at(t, p),
                          .state2 = param_at(t, 2 * p),
                          .hparams = hp_mem(t),
                          .weight_bits = nnxr_nn_at(t->wbits, 0)};
    return nnxr_nn_optimize(tape, &a, err);
}

static bool seq_step(nnxr_trainer *t, nnxr_nn_tape *tape, const tr_chunk *ch, nnxr_error *err)
{
    const tr_plan *p = &t->train_plan;
    const nnxr_model_chain *c = &t->model.chains[0];
    uint32_t b = p->batch, n = c->n_ops;
    nnxr_nn_mem outs[NNXR_MODEL_MAX_OPS], dzs[NNXR_MODEL_MAX_OPS];
    chain_mems(p, 0, n, outs, dzs);
    nnxr_nn_mem x = tr_at(p->buf, p->x), labels = tr_at(p->buf, p->labels);
    nnxr_nn_mem targets = t->regression ? tr_at(p->buf, p->targets) : none;
    if (!gather(t, tape, ch, true, 0, b, x, t->regression ? none : labels, none, targets, err) ||
        !forward_chain(t, tape, 0, b, x, outs, err))
        return false;
    bool ok;
    if (t->regression) {
        ok = nnxr_nn_mse(tape, b, t->model.outputs, outs[n - 1], targets, dzs[n - 1],
                         stats_at(t, TR_STATS_TRAIN), err);
    } else {
        nnxr_nn_ce_args ce = {.batch = b, .classes = t->model.classes, .logits = outs[n - 1],
                              .labels = labels, .dlogits = dzs[n - 1],
                              .stats = stats_at(t, TR_STATS_TRAIN), .weight = 1.0f};
        ok = nnxr_nn_softmax_ce(tape, &ce, err);
    }
    return ok && backward_chain(t, tape, 0, b, x, outs, dzs, none, NNXR_NN_LINEAR, false, err) &&
           optimize(t, tape, err);
}

static bool vae_step(nnxr_trainer *t, nnxr_nn_tape *tape, const tr_chunk *ch, nnxr_error *err)
{
    const tr_plan *p = &t->train_plan;
    const nnxr_model *m = &t->model;
    uint32_t b = p->batch, d = m->latent;
    nnxr_nn_mem outs[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS], dzs[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS];
    for (uint32_t c = 0; c < m->n_chains; c++)
        chain_mems(p, c, m->chains[c].n_ops, outs[c], dzs[c]);
    const nnxr_model_chain *enc = &m->chains[NNXR_CHAIN_ENC], *dec = &m->chains[NNXR_CHAIN_DEC];
    nnxr_nn_mem x = tr_at(p->buf, p->x), labels = tr_at(p->buf, p->labels),
                mask = tr_at(p->buf, p->mask);
    nnxr_nn_mem h = chain_out(enc, x, outs[NNXR_CHAIN_ENC]);
    nnxr_nn_mem mu = outs[NNXR_CHAIN_MU][0], lv = outs[NNXR_CHAIN_LOGVAR][0];
    nnxr_nn_mem eps = tr_at(p->buf, p->eps), z = tr_at(p->buf, p->z), dlat = tr_at(p->buf, p->dlat);
    bool cls = m->classes > 0;
    if (!gather(t, tape, ch, true, 0, b, x, cls ? labels : none, cls ? mask : none, none, err) ||
        !forward_chain(t, tape, NNXR_CHAIN_ENC, b, x, outs[NNXR_CHAIN_ENC], err) ||
        !forward_chain(t, tape, NNXR_CHAIN_MU, b, h, outs[NNXR_CHAIN_MU], err) ||
        !forward_chain(t, tape, NNXR_CHAIN_LOGVAR, b, h, outs[NNXR_CHAIN_LOGVAR], err) ||
        !nnxr_nn_reparam_forward(tape, b, d, mu, lv, hp_mem(t), eps, z, false, err) ||
        !forward_chain(t, tape, NNXR_CHAIN_DEC, b, z, outs[NNXR_CHAIN_DEC], err))
        return false;
    nnxr_nn_mem logits = outs[NNXR_CHAIN_DEC][dec->n_ops - 1];
    if (!nnxr_nn_bce_logits(tape, b, m->in_size, logits, x, dzs[NNXR_CHAIN_DEC][dec->n_ops - 1],
                            none, stats_at(t, TR_STATS_TRAIN), err) ||
        !backward_chain(t, tape, NNXR_CHAIN_DEC, b, z, outs[NNXR_CHAIN_DEC], dzs[NNXR_CHAIN_DEC],
                        dlat, NNXR_NN_LINEAR, false, err) ||
        !nnxr_nn_vae_latent_backward(tape, b, d, mu, lv, eps, dlat, hp_mem(t),
                                     dzs[NNXR_CHAIN_MU][0], dzs[NNXR_CHAIN_LOGVAR][0],
                                     stats_at(t, TR_STATS_TRAIN + 4), false, err))
        return false;
    if (cls) {
        const nnxr_model_chain *cc = &m->chains[NNXR_CHAIN_CLS];
        bool learn = m->desc.cls_weight > 0;
        nnxr_nn_ce_args ce = {.batch = b, .classes = m->classes,
                              .logits = outs[NNXR_CHAIN_CLS][cc->n_ops - 1], .labels = labels,
                              .mask = mask,
                              .dlogits = learn ? dzs[NNXR_CHAIN_CLS][cc->n_ops - 1] : none,
                              .stats = stats_at(t, TR_STATS_TRAIN + 8),
                              .weight = (float)m->desc.cls_weight};
        if (!forward_chain(t, tape, NNXR_CHAIN_CLS, b, mu, outs[NNXR_CHAIN_CLS], err) ||
            !nnxr_nn_softmax_ce(tape, &ce, err))
            return false;
        /* The classifier's gradient joins mu's (reparameterisation + KL) there. */
        if (learn && !backward_chain(t, tape, NNXR_CHAIN_CLS, b, mu, outs[NNXR_CHAIN_CLS],
                                     dzs[NNXR_CHAIN_CLS], dzs[NNXR_CHAIN_MU][0], NNXR_NN_LINEAR,
                                     true, err))
            return false;
    }
    nnxr_nn_mem dh = enc->n_ops ? tr_at(p->buf, p->dh) : none;
    if (!backward_chain(t, tape, NNXR_CHAIN_MU, b, h, outs[NNXR_CHAIN_MU], dzs[NNXR_CHAIN_MU], dh,
                        NNXR_NN_LINEAR, false, err) ||
        !backward_chain(t, tape, NNXR_CHAIN_LOGVAR, b, h, outs[NNXR_CHAIN_LOGVAR],
                        dzs[NNXR_CHAIN_LOGVAR], dh, NNXR_NN_LINEAR, dh.buf != NULL, err))
        return false;
    if (enc->n_ops) {
        /* dh is dL/dh; the encoder's last op wants it times its activation's derivative. */
        if (enc->out_act != NNXR_NN_LINEAR &&
            !nnxr_nn_act_backward(tape, enc->out_act, b * enc->out_size, h, dh, dh, err))
            return false;
        if (!backward_chain(t, tape, NNXR_CHAIN_ENC, b, x, outs[NNXR_CHAIN_ENC],
                            dzs[NNXR_CHAIN_ENC], none, NNXR_NN_LINEAR, false, err))
            return false;
    }
    return optimize(t, tape, err);
}

static bool fused_steps(nnxr_trainer *t, nnxr_nn_tape *tape, const tr_chunk *ch, uint32_t steps,
                        nnxr_error *err)
{
    const nnxr_model *m = &t->model;
    const nnxr_model_chain *c = &m->chains[0];
    size_t p = m->param_count;
    nnxr_nn_fused_args a;
    memset(&a, 0, sizeof a);
    a.net.layers = c->n_ops;
    a.net.sizes[0] = m->in_size;
    for (uint32_t i = 0; i < c->n_ops; i++)
        a.net.sizes[i + 1] = c->ops[i].out_size;
    a.net.act = m->desc.act;
    a.net.loss = t->regression ? NNXR_NN_LOSS_MSE : NNXR_NN_LOSS_CE;
    a.net.opt = t->cfg.optimizer;
    a.net.batch = t->cfg.batch;
    a.steps = steps;
    a.params = param_at(t, 0);
    a.state1 = param_at(t, p);
    a.state2 = param_at(t, 2 * p);
    a.hparams = hp_mem(t);
    a.weight_bits = nnxr_nn_at(t->wbits, 0);
    a.count = ch->count;
    a.format = t->u8 ? NNXR_NN_U8 : NNXR_NN_F32;
    a.src = nnxr_nn_at(ch->x, 0);
    a.index = nnxr_nn_at(ch->index, 0);
    a.scale = t->shape.scale;
    a.offset = t->shape.offset;
    a.label_format = NNXR_NN_U8;
    a.labels = ch->labels ? nnxr_nn_at(ch->labels, 0) : none;
    a.targets = ch->targets ? nnxr_nn_at(ch->targets, 0) : none;
    a.stats = stats_at(t, TR_STATS_TRAIN);
    return nnxr_nn_fused_mlp_steps(tape, &a, err);
}

static bool begin_rec(nnxr_trainer *t, tr_rec *r, nnxr_error *err)
{
    if (r->rec) {
        nnxr_recorder_wait(r->rec, NULL);
        nnxr_nn_tape_destroy(r->tape);
        r->tape = NULL;
        nnxr_binding_destroy(t->gpu, r->extra);
        r->extra = NULL;
    } else if (!nnxr_recorder_create(t->gpu, t->cfg.profile ? TR_PROFILE_MARKS : 0, &r->rec,
                                     err)) {
        return false;
    }
    r->recorded = false;
    return nnxr_recorder_begin(r->rec, err) && nnxr_nn_tape_create(t->nn, r->rec, &r->tape, err);
}

bool tr_record_steps(nnxr_trainer *t, tr_rec *r, uint32_t steps, nnxr_error *err)
{
    if (!begin_rec(t, r, err))
        return false;
    nnxr_recorder *rec = r->rec;
    const tr_chunk *ch = &t->sets[NNXR_SET_TRAIN].chunks[t->cur_chunk];
    VkDeviceSize pbytes = t->model.param_count * 12;
    /* The backup is the state before this submission: what a divergence restores. */
    bool ok = nnxr_recorder_copy(rec, t->params, 0, t->backup, 0, pbytes, err) &&
              nnxr_recorder_fill(rec, t->stats, TR_STATS_FLAG * 4, 4, 0, err);
    if (ok && t->fused) {
        /* Its dispatches are whole submissions: profiled whole. */
        if (t->cfg.profile) {
            ok = nnxr_recorder_mark(rec, TR_PROFILE_START, err);
            nnxr_nn_tape_set_profile(r->tape, true);
        }
        ok = ok && fused_steps(t, r->tape, ch, steps, err);
        nnxr_nn_tape_set_profile(r->tape, false);
    } else {
        for (uint32_t s = 0; ok && s < steps; s++) {
            nnxr_nn_tape_set_step(r->tape, s);
            bool profile = t->cfg.profile && s == 0;
            if (profile) {
                ok = nnxr_recorder_mark(rec, TR_PROFILE_START, err);
                nnxr_nn_tape_set_profile(r->tape, true);
            }
            ok = ok && (t->vae ? vae_step(t, r->tape, ch, err) : seq_step(t, r->tape, ch, err));
            nnxr_nn_tape_set_profile(r->tape, false);
        }
    }
    ok = ok &&
         nnxr_nn_check_finite(r->tape, (uint32_t)t->model.param_count, param_at(t, 0),
                              stats_at(t, TR_STATS_FLAG), err) &&
         nnxr_nn_check_finite(r->tape, 12, stats_at(t, TR_STATS_TRAIN),
                              stats_at(t, TR_STATS_FLAG), err) &&
         nnxr_recorder_end(rec, err);
    if (!ok)
        return nnxr_fail_prefix(err, "trainer: recording %u step%s", steps, steps > 1 ? "s" : "");
    r->recorded = true;
    r->runs = 0;
    r->steps = steps;
    r->dispatches = nnxr_nn_tape_dispatches(r->tape);
    return true;
}

/* ------------------------------------------------------------------ evaluation */

/* Forward of samples [first, first+n) of a set chunk into plan p. labels_out, mu_out may
 * redirect where labels and mu go; decoder = also run the VAE's decoder (on mu). */
static bool forward_batch(nnxr_trainer *t, nnxr_nn_tape *tape, const tr_plan *p,
                          const tr_chunk *ch, uint32_t first, uint32_t n, nnxr_nn_mem labels_out,
                          nnxr_nn_mem mu_out, bool decoder, nnxr_error *err)
{
    const nnxr_model *m = &t->model;
    nnxr_nn_mem outs[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS];
    for (uint32_t c = 0; c < m->n_chains; c++)
        chain_mems(p, c, m->chains[c].n_ops, outs[c], NULL);
    nnxr_nn_mem x = tr_at(p->buf, p->x);
    nnxr_nn_mem targets = t->regression ? tr_at(p->buf, p->targets) : none;
    if (!gather(t, tape, ch, false, first, n, x, labels_out, none, targets, err))
        return false;
    if (!t->vae)
        return forward_chain(t, tape, 0, n, x, outs[0], err);
    if (mu_out.buf)
        outs[NNXR_CHAIN_MU][0] = mu_out;
    nnxr_nn_mem h = chain_out(&m->chains[NNXR_CHAIN_ENC], x, outs[NNXR_CHAIN_ENC]);
    nnxr_nn_mem mu = outs[NNXR_CHAIN_MU][0];
    return forward_chain(t, tape, NNXR_CHAIN_ENC, n, x, outs[NNXR_CHAIN_ENC], err) &&
           forward_chain(t, tape, NNXR_CHAIN_MU, n, h, outs[NNXR_CHAIN_MU], err) &&
           forward_chain(t, tape, NNXR_CHAIN_LOGVAR, n, h, outs[NNXR_CHAIN_LOGVAR], err) &&
           (!decoder || forward_chain(t, tape, NNXR_CHAIN_DEC, n, mu, outs[NNXR_CHAIN_DEC], err)) &&
           (m->classes == 0 ||
            forward_chain(t, tape, NNXR_CHAIN_CLS, n, mu, outs[NNXR_CHAIN_CLS], err));
}

bool tr_record_forward_batch(nnxr_trainer *t, nnxr_train_set set, uint32_t chunk,
                             uint32_t first, uint32_t n, nnxr_nn_tape *tape, nnxr_error *err)
{
    const tr_plan *p = &t->eval_plan;
    const tr_chunk *ch = &t->sets[set].chunks[chunk];
    return forward_batch(t, tape, p, ch, first, n, tr_at(p->buf, p->labels), none, true, err);
}

static bool eval_batch(nnxr_trainer *t, nnxr_nn_tape *tape, nnxr_train_set which,
                       const tr_chunk *ch, uint32_t first, uint32_t n, bool class_sums,
                       bool quick, nnxr_error *err)
{
    const tr_plan *p = &t->eval_plan;
    const nnxr_model *m = &t->model;
    tr_set *s = &t->sets[which];
    VkDeviceSize g = (VkDeviceSize)ch->first + first;
    uint32_t slot = TR_STATS_SET + 16u * which;
    /* A quick evaluation writes the loss sums only: labels and mu go to the plan. */
    nnxr_nn_mem labels = !ch->labels ? none
                         : quick     ? tr_at(p->buf, p->labels)
                                     : tr_at(s->out, s->labels + g);
    nnxr_nn_mem mu = !t->vae ? none : quick ? none : tr_at(s->out, s->mu + g * m->latent);
    nnxr_nn_mem probs = m->classes && !quick ? tr_at(s->out, s->probs + g * m->classes) : none;
    /* The training set of a VAE is evaluated for its latents and classifier only. */
    bool decoder = t->vae && which != NNXR_SET_TRAIN;
    if (!forward_batch(t, tape, p, ch, first, n, labels, mu, decoder, err))
        return false;
    nnxr_nn_mem outs[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS];
    for (uint32_t c = 0; c < m->n_chains; c++)
        chain_mems(p, c, m->chains[c].n_ops, outs[c], NULL);
    if (!t->vae) {
        const nnxr_model_chain *c = &m->chains[0];
        nnxr_nn_mem y = outs[0][c->n_ops - 1];
        if (t->regression) {
            if (!nnxr_nn_mse(tape, n, m->outputs, y, tr_at(p->buf, p->targets), none,
                             stats_at(t, slot), err))
                return false;
        } else {
            nnxr_nn_ce_args ce = {.batch = n, .classes = m->classes, .logits = y,
                                  .labels = labels, .probs = probs, .stats = stats_at(t, slot),
                                  .weight = 1.0f};
            if (!nnxr_nn_softmax_ce(tape, &ce, err))
                return false;
        }
        for (uint32_t o = 0; class_sums && o < c->n_ops; o++)
            if (!nnxr_nn_class_sums(tape, n, c->ops[o].out_size, m->classes, outs[0][o], labels,
                                    tr_at(t->class_buf, t->class_off[0][o]),
                                    tr_at(t->class_buf, t->class_cnt[0][o]), err))
                return false;
        return true;
    }
    nnxr_nn_mem lv = outs[NNXR_CHAIN_LOGVAR][0];
    if (!mu.buf)
        mu = outs[NNXR_CHAIN_MU][0];
    if (decoder) {
        const nnxr_model_chain *dec = &m->chains[NNXR_CHAIN_DEC];
        nnxr_nn_mem x = tr_at(p->buf, p->x);
        if (!nnxr_nn_bce_logits(tape, n, m->in_size, outs[NNXR_CHAIN_DEC][dec->n_ops - 1], x,
                                none, none, stats_at(t, slot), err) ||
            !nnxr_nn_vae_latent_backward(tape, n, m->latent, mu, lv, tr_at(p->buf, p->eps), none,
                                         hp_mem(t), tr_at(p->buf, p->dmu),
                                         tr_at(p->buf, p->dlogvar), stats_at(t, slot + 4), false,
                                         err))
            return false;
    }
    if (m->classes && labels.buf) {
        const nnxr_model_chain *cc = &m->chains[NNXR_CHAIN_CLS];
        nnxr_nn_ce_args ce = {.batch = n, .classes = m->classes,
                              .logits = outs[NNXR_CHAIN_CLS][cc->n_ops - 1], .labels = labels,
                              .probs = probs, .stats = stats_at(t, slot + 8), .weight = 1.0f};
        if (!nnxr_nn_softmax_ce(tape, &ce, err))
            return false;
    }
    /* Per-class means of every layer by true class; mu went to the set's output buffer. */
    outs[NNXR_CHAIN_MU][0] = mu;
    for (uint32_t c = 0; class_sums && decoder && labels.buf && c < m->n_chains; c++)
        for (uint32_t o = 0; o < m->chains[c].n_ops; o++)
            if (!nnxr_nn_class_sums(tape, n, m->chains[c].ops[o].out_size, m->classes,
                                    outs[c][o], labels, tr_at(t->class_buf, t->class_off[c][o]),
                                    tr_at(t->class_buf, t->class_cnt[c][o]), err))
                return false;
    return true;
}

bool tr_record_eval(nnxr_trainer *t, nnxr_train_set which, bool quick, tr_rec *r,
                    nnxr_error *err)
{
    tr_set *s = &t->sets[which];
    const nnxr_model *m = &t->model;
    bool is_eval_set = which == nnxr_trainer_eval_set(t) && !quick;
    bool class_sums = is_eval_set && t->class_buf != NULL;
    if (!begin_rec(t, r, err))
        return false;
    nnxr_recorder *rec = r->rec;
    uint32_t slot = TR_STATS_SET + 16u * which;
    bool ok = nnxr_recorder_fill(rec, t->stats, slot * 4, 12 * 4, 0, err);
    if (ok && class_sums)
        ok = nnxr_recorder_fill(rec, t->class_buf, 0, t->class_total * 4, 0, err);
    for (uint32_t c = 0; ok && c < s->n_chunks; c++) {
        const tr_chunk *ch = &s->chunks[c];
        for (uint32_t f = 0; ok && f < ch->count; f += t->eval_batch) {
            uint32_t n = ch->count - f < t->eval_batch ? ch->count - f : t->eval_batch;
            ok = eval_batch(t, r->tape, which, ch, f, n, class_sums, quick, err);
        }
    }
    if (ok && m->classes && t->predict && !quick) {
        if (!r->extra) {
            nnxr_buffer_slot slot0 = {s->out, 0, 0};
            ok = nnxr_binding_create(t->gpu, t->predict, &slot0, 1, &r->extra, err);
        }
        uint32_t push[5] = {s->count, m->classes, (uint32_t)s->probs, (uint32_t)s->pred,
                            (uint32_t)s->conf};
        ok = ok && nnxr_recorder_dispatch(rec, t->predict, r->extra, push, sizeof push,
                                          (s->count + 63) / 64, 1, 1, err);
    }
    if (ok && is_eval_set && t->probe_count) {
        const tr_plan *p = &t->probe_plan;
        ok = forward_batch(t, r->tape, p, &s->chunks[0], 0, t->probe_count,
                           s->chunks[0].labels ? tr_at(p->buf, p->labels) : none, none, t->vae,
                           err);
    }
    ok = ok && nnxr_recorder_end(rec, err);
    if (!ok)
        return false;
    r->recorded = true;
    r->dispatches = nnxr_nn_tape_dispatches(r->tape);
    return true;
}
