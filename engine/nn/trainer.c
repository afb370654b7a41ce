/* nn/trainer.c — the trainer's life cycle and its loop: configuration checks, the data upload
 * (chunks within maxStorageBufferRange, uint8 pixels packed 4 per uint32), parameter buffers
 * and tensor plans, choosing and replaying the step recordings within a frame's budget,
 * divergence handling, epochs and shuffles, evaluation and its outputs, hyperparameters,
 * the VAE's labels, and the "nnxr.model" service. What a step records is in trainer_record.c,
 * surgery in surgery.c, checkpoints and exports in checkpoint.c. */
#include "nn/trainer_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/status.h"

#define STREAM_SHUFFLE 0x73687566u
#define STREAM_SURGERY 0x73757267u
#define EVAL_BYTES (48u << 20) /* activation memory of one evaluation batch */
#define MAX_SUBMIT_MS 1000.0   /* longest submission nnxr_trainer_steps makes (measured) */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static const char *set_name(nnxr_train_set s)
{
    return s == NNXR_SET_TRAIN ? "train" : s == NNXR_SET_VAL ? "val" : "test";
}

nnxr_train_config nnxr_train_config_default(void)
{
    nnxr_train_config c;
    memset(&c, 0, sizeof c);
    c.model.act = NNXR_NN_RELU;
    c.model.latent = 3;
    c.model.beta = 1.0;
    c.model.cls_weight = 1.0;
    c.optimizer = NNXR_NN_SGD;
    c.lr = 0.05;
    c.momentum = 0.9;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.adam_eps = 1e-8;
    c.batch = 64;
    c.seed = 1;
    c.budget_ms = 8.0;
    c.max_steps_per_frame = 1000;
    c.shuffle = true;
    c.fused = -1;
    c.eval_each_epoch = true;
    c.probe_count = 32;
    c.max_recorded_steps = 1024;
    return c;
}

void tr_publish(nnxr_trainer *t, const char *name, double value)
{
    if (t->cfg.publish)
        t->cfg.publish(t->cfg.publish_user, name, value);
}

static bool make_buffer(nnxr_trainer *t, const char *name, VkDeviceSize bytes, nnxr_buffer **out,
                        nnxr_error *err)
{
    nnxr_buffer_desc d = {.name = name,
                          .kind = NNXR_BUFFER_DEVICE,
                          .size = bytes < 16 ? 16 : (bytes + 15) & ~(VkDeviceSize)15,
                          .split_binding = bytes > t->max_range};
    return nnxr_buffer_create(t->gpu, &d, out, err);
}

static void free_buffer(nnxr_trainer *t, nnxr_buffer **b)
{
    nnxr_buffer_destroy(t->gpu, *b);
    *b = NULL;
}

void tr_rec_free(tr_rec *r)
{
    if (r->rec)
        nnxr_recorder_wait(r->rec, NULL);
    nnxr_nn_tape_destroy(r->tape);
    nnxr_recorder_destroy(r->rec);
    /* The binding belongs to the gpu; callers free it before (see rec_free_all). */
    memset(r, 0, sizeof *r);
}

static void rec_free(nnxr_trainer *t, tr_rec *r)
{
    if (r->rec)
        nnxr_recorder_wait(r->rec, NULL);
    nnxr_binding_destroy(t->gpu, r->extra);
    r->extra = NULL;
    tr_rec_free(r);
}

void tr_invalidate_steps(nnxr_trainer *t)
{
    for (int i = 0; i < TR_MAX_SIZES; i++)
        rec_free(t, &t->steps[i]);
    t->bound_chunk = UINT32_MAX;
}

static void invalidate_evals(nnxr_trainer *t)
{
    for (int s = 0; s < 3; s++) {
        rec_free(t, &t->sets[s].eval);
        rec_free(t, &t->sets[s].quick);
    }
}

/* ------------------------------------------------------------------ plans */

static VkDeviceSize take(VkDeviceSize *off, VkDeviceSize floats)
{
    VkDeviceSize at = *off;
    *off += (floats + 15) & ~(VkDeviceSize)15;
    return at;
}

bool tr_make_plan(nnxr_trainer *t, tr_plan *p, uint32_t batch, bool grads, const char *name,
                  nnxr_error *err)
{
    const nnxr_model *m = &t->model;
    memset(p, 0, sizeof *p);
    p->batch = batch;
    p->grads = grads;
    VkDeviceSize off = 0, b = batch;
    p->x = take(&off, b * m->in_size);
    p->labels = take(&off, b);
    p->mask = take(&off, b);
    if (t->regression)
        p->targets = take(&off, b * m->outputs);
    for (uint32_t c = 0; c < m->n_chains; c++)
        for (uint32_t o = 0; o < m->chains[c].n_ops; o++) {
            VkDeviceSize n = b * m->chains[c].ops[o].out_size;
            if ((VkDeviceSize)n * 4 > t->max_range)
                return nnxr_fail(err, "trainer: %s batch of %u: one layer's output (%llu bytes) "
                                 "exceeds maxStorageBufferRange (%llu bytes); use a smaller "
                                 "batch", name, batch, (unsigned long long)n * 4,
                                 (unsigned long long)t->max_range);
            p->out[c][o] = take(&off, n);
            if (grads)
                p->dz[c][o] = take(&off, n);
        }
    if (t->vae) {
        VkDeviceSize d = b * m->latent;
        p->eps = take(&off, d);
        p->z = take(&off, d);
        p->dlat = take(&off, d);
        if (grads) {
            p->dmu = p->dz[NNXR_CHAIN_MU][0];
            p->dlogvar = p->dz[NNXR_CHAIN_LOGVAR][0];
            const nnxr_model_chain *enc = &m->chains[NNXR_CHAIN_ENC];
            p->dh = enc->n_ops ? p->dz[NNXR_CHAIN_ENC][enc->n_ops - 1] : take(&off, b * m->in_size);
        } else {
            p->dmu = take(&off, d);
            p->dlogvar = take(&off, d);
        }
    }
    p->total = off;
    char full[48];
    snprintf(full, sizeof full, "nn.%s", name);
    if (!make_buffer(t, full, off * 4, &p->buf, err))
        return nnxr_fail_prefix(err, "trainer: %s tensors (batch %u)", name, batch);
    return true;
}

void tr_free_plan(nnxr_trainer *t, tr_plan *p)
{
    nnxr_buffer_destroy(t->gpu, p->buf);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------ data */

static bool upload(nnxr_trainer *t, nnxr_buffer *b, VkDeviceSize offset, const void *data,
                   VkDeviceSize size, nnxr_error *err)
{
    return nnxr_buffer_upload(t->gpu, b, offset, data, size, err);
}

static bool upload_set(nnxr_trainer *t, nnxr_train_set which, const nnxr_train_split *s,
                       nnxr_error *err)
{
    tr_set *set = &t->sets[which];
    set->count = s->count;
    if (s->count == 0)
        return true;
    const nnxr_model *m = &t->model;
    uint32_t features = m->in_size;
    VkDeviceSize per = t->u8 ? features : (VkDeviceSize)features * 4;
    if (t->regression && (VkDeviceSize)m->outputs * 4 > per)
        per = (VkDeviceSize)m->outputs * 4;
    VkDeviceSize max_samples = t->chunk_bytes / per;
    if (max_samples < 1)
        return nnxr_fail(err, "trainer: one %s sample (%llu bytes) exceeds the chunk limit of "
                         "%llu bytes", set_name(which), (unsigned long long)per,
                         (unsigned long long)t->chunk_bytes);
    /* Chunks of equal size (within one sample), aligned to 4 samples so byte labels pack. */
    uint32_t n_chunks = (uint32_t)((s->count + max_samples - 1) / max_samples);
    uint32_t size = (s->count + n_chunks - 1) / n_chunks;
    if (n_chunks > 1)
        size = (size + 3) & ~3u;
    if (size > max_samples)
        size = (uint32_t)(max_samples & ~(VkDeviceSize)3);
    if (size == 0)
        return nnxr_fail(err, "trainer: the chunk limit of %llu bytes holds fewer than 4 "
                         "samples", (unsigned long long)t->chunk_bytes);
    n_chunks = (s->count + size - 1) / size;
    set->chunks = calloc(n_chunks, sizeof *set->chunks);
    if (!set->chunks)
        return nnxr_fail(err, "trainer: out of memory");
    set->n_chunks = n_chunks;
    size_t scratch_bytes = (size_t)size * (per > 4 ? per : 4) + 16;
    uint8_t *scratch = calloc(1, scratch_bytes);
    if (!scratch)
        return nnxr_fail(err, "trainer: out of memory for the upload");
    bool ok = true;
    char name[48];
    for (uint32_t c = 0; ok && c < n_chunks; c++) {
        tr_chunk *ch = &set->chunks[c];
        ch->first = c * size;
        ch->count = s->count - ch->first < size ? s->count - ch->first : size;
        VkDeviceSize xbytes = t->u8 ? (VkDeviceSize)ch->count * features
                                    : (VkDeviceSize)ch->count * features * 4;
        snprintf(name, sizeof name, "nn.%s.x%u", set_name(which), c);
        ok = make_buffer(t, name, (xbytes + 3) & ~(VkDeviceSize)3, &ch->x, err);
        if (ok) {
            const void *src = t->u8 ? (const void *)(s->u8 + (size_t)ch->first * features)
                                    : (const void *)(s->f32 + (size_t)ch->first * features);
            /* Padded to whole uint32 words so every byte the shader may touch is defined. */
            VkDeviceSize padded = (xbytes + 3) & ~(VkDeviceSize)3;
            if (padded != xbytes) {
                uint8_t *tmp = calloc(1, padded);
                ok = tmp != NULL;
                if (ok) {
                    memcpy(tmp, src, xbytes);
                    ok = upload(t, ch->x, 0, tmp, padded, err);
                    free(tmp);
                } else {
                    nnxr_fail(err, "trainer: out of memory");
                }
            } else {
                ok = upload(t, ch->x, 0, src, xbytes, err);
            }
        }
        if (ok && t->model.classes > 0 && !t->vae) {
            snprintf(name, sizeof name, "nn.%s.labels%u", set_name(which), c);
            memset(scratch, 0, scratch_bytes);
            memcpy(scratch, s->labels + ch->first, ch->count);
            VkDeviceSize lb = ((VkDeviceSize)ch->count + 3) & ~(VkDeviceSize)3;
            ok = make_buffer(t, name, lb, &ch->labels, err) &&
                 upload(t, ch->labels, 0, scratch, lb, err);
        }
        if (ok && t->vae && s->labels) {
            /* The VAE's evaluations compare the classifier with the true classes. */
            snprintf(name, sizeof name, "nn.%s.labels%u", set_name(which), c);
            memset(scratch, 0, scratch_bytes);
            memcpy(scratch, s->labels + ch->first, ch->count);
            VkDeviceSize lb = ((VkDeviceSize)ch->count + 3) & ~(VkDeviceSize)3;
            ok = make_buffer(t, name, lb, &ch->labels, err) &&
                 upload(t, ch->labels, 0, scratch, lb, err);
        }
        if (ok && t->regression) {
            snprintf(name, sizeof name, "nn.%s.targets%u", set_name(which), c);
            VkDeviceSize tb = (VkDeviceSize)ch->count * m->outputs * 4;
            ok = make_buffer(t, name, tb, &ch->targets, err) &&
                 upload(t, ch->targets, 0, s->targets + (size_t)ch->first * m->outputs, tb, err);
        }
        if (ok && which == NNXR_SET_TRAIN) {
            uint32_t *idx = (uint32_t *)scratch;
            for (uint32_t i = 0; i < ch->count; i++)
                idx[i] = i;
            snprintf(name, sizeof name, "nn.train.index%u", c);
            ok = make_buffer(t, name, (VkDeviceSize)ch->count * 4, &ch->index, err) &&
                 upload(t, ch->index, 0, idx, (VkDeviceSize)ch->count * 4, err);
        }
        if (ok && which == NNXR_SET_TRAIN && t->vae) {
            int32_t *lab = (int32_t *)scratch;
            for (uint32_t i = 0; i < ch->count; i++)
                lab[i] = -1;
            snprintf(name, sizeof name, "nn.train.user_labels%u", c);
            ok = make_buffer(t, name, (VkDeviceSize)ch->count * 4, &ch->user_labels, err) &&
                 upload(t, ch->user_labels, 0, lab, (VkDeviceSize)ch->count * 4, err);
            memset(scratch, 0, (size_t)ch->count * 4);
            snprintf(name, sizeof name, "nn.train.mask%u", c);
            ok = ok && make_buffer(t, name, (VkDeviceSize)ch->count * 4, &ch->mask, err) &&
                 upload(t, ch->mask, 0, scratch, (VkDeviceSize)ch->count * 4, err);
        }
    }
    free(scratch);
    if (!ok)
        return nnxr_fail_prefix(err, "trainer: uploading the %s set", set_name(which));
    /* Per-sample outputs. */
    VkDeviceSize off = 0, n = s->count;
    uint32_t classes = t->model.classes;
    set->probs = take(&off, classes ? n * classes : 0);
    set->pred = take(&off, classes ? n : 0);
    set->conf = take(&off, classes ? n : 0);
    set->labels = take(&off, n);
    set->mu = take(&off, t->vae ? n * t->model.latent : 0);
    snprintf(name, sizeof name, "nn.%s.outputs", set_name(which));
    if (!make_buffer(t, name, off * 4, &set->out, err))
        return false;
    /* Defined contents before the first evaluation (plugins may draw them at once). */
    void *zeros = calloc(off ? off : 1, 4);
    if (!zeros)
        return nnxr_fail(err, "trainer: out of memory");
    ok = upload(t, set->out, 0, zeros, off * 4, err);
    free(zeros);
    return ok;
}

static void free_set(nnxr_trainer *t, tr_set *set)
{
    rec_free(t, &set->eval);
    rec_free(t, &set->quick);
    for (uint32_t c = 0; c < set->n_chunks; c++) {
        tr_chunk *ch = &set->chunks[c];
        free_buffer(t, &ch->x);
        free_buffer(t, &ch->labels);
        free_buffer(t, &ch->targets);
        free_buffer(t, &ch->user_labels);
        free_buffer(t, &ch->mask);
        free_buffer(t, &ch->index);
    }
    free(set->chunks);
    free_buffer(t, &set->out);
    memset(set, 0, sizeof *set);
}

static bool check_split(const nnxr_train_data *d, const nnxr_train_split *s, const char *what,
                        uint32_t features, nnxr_error *err)
{
    if (s->count == 0)
        return true;
    if (!s->u8 == !s->f32)
        return nnxr_fail(err, "trainer: the %s set needs exactly one of u8 or f32 data", what);
    if (d->classes > 0) {
        if (!s->labels)
            return nnxr_fail(err, "trainer: the %s set has no labels", what);
        for (uint32_t i = 0; i < s->count; i++)
            if (s->labels[i] >= d->classes)
                return nnxr_fail(err, "trainer: %s sample %u has label %u, expected < %u", what,
                                 i, s->labels[i], d->classes);
    } else if (!s->targets) {
        return nnxr_fail(err, "trainer: the %s set of a regression has no targets", what);
    }
    if (s->f32)
        for (size_t i = 0; i < (size_t)s->count * features; i++)
            if (!isfinite(s->f32[i]))
                return nnxr_fail(err, "trainer: %s sample %zu has a non-finite feature", what,
                                 i / features);
    return true;
}

/* ------------------------------------------------------------------ parameters */

static void fill_layer_table(nnxr_trainer *t)
{
    const nnxr_model *m = &t->model;
    t->layer_count = 0;
    for (uint32_t c = 0; c < m->n_chains; c++)
        for (uint32_t o = 0; o < m->chains[c].n_ops; o++) {
            const nnxr_model_op *op = &m->chains[c].ops[o];
            nnxr_model_layer *l = &t->layers[t->layer_count++];
            memset(l, 0, sizeof *l);
            nnxr_model_op_name(m, c, o, l->name, sizeof l->name);
            l->part = (nnxr_model_part)c;
            l->kind = op->kind == NNXR_OP_DENSE  ? NNXR_LAYER_DENSE
                      : op->kind == NNXR_OP_CONV ? NNXR_LAYER_CONV
                      : op->kind == NNXR_OP_POOL ? NNXR_LAYER_MAXPOOL
                                                 : NNXR_LAYER_ACT;
            l->act = (nnxr_model_act)op->act;
            l->in_c = op->in_c;
            l->in_h = op->in_h;
            l->in_w = op->in_w;
            l->out_c = op->out_c;
            l->out_h = op->out_h;
            l->out_w = op->out_w;
            l->k = op->k;
            if (op->w_count) {
                l->weights = (nnxr_model_region){t->params, op->w_offset * 4, op->w_count * 4};
                l->biases = (nnxr_model_region){t->params, op->b_offset * 4, op->b_count * 4};
            }
            if (t->probe_count)
                l->probe = (nnxr_model_region){t->probe_plan.buf, t->probe_plan.out[c][o] * 4,
                                               (VkDeviceSize)t->probe_count * op->out_size * 4};
            if (t->class_buf)
                l->class_mean = (nnxr_model_region){t->class_buf, t->class_off[c][o] * 4,
                                                    (VkDeviceSize)m->classes * op->out_size * 4};
        }
}

static bool fused_ok(nnxr_trainer *t, char *why, size_t n)
{
    const nnxr_model *m = &t->model;
    if (m->desc.kind != NNXR_MODEL_MLP) {
        snprintf(why, n, "not an mlp");
        return false;
    }
    const nnxr_model_chain *c = &m->chains[0];
    nnxr_nn_mlp_desc d;
    memset(&d, 0, sizeof d);
    if (c->n_ops > NNXR_NN_FUSED_MAX_LAYERS) {
        snprintf(why, n, "%u layers (the fused kernel takes %d)", c->n_ops,
                 NNXR_NN_FUSED_MAX_LAYERS);
        return false;
    }
    d.layers = c->n_ops;
    d.sizes[0] = m->in_size;
    for (uint32_t i = 0; i < c->n_ops; i++)
        d.sizes[i + 1] = c->ops[i].out_size;
    d.act = m->desc.act;
    d.loss = t->regression ? NNXR_NN_LOSS_MSE : NNXR_NN_LOSS_CE;
    d.opt = t->cfg.optimizer;
    d.batch = t->cfg.batch;
    return nnxr_nn_fused_mlp_supported(t->nn, &d, why, n);
}

static bool choose_fused(nnxr_trainer *t, nnxr_error *err)
{
    char why[256] = "";
    bool ok = t->cfg.fused != 0 && fused_ok(t, why, sizeof why);
    if (t->cfg.fused == 1 && !ok)
        return nnxr_fail(err, "trainer: the fused tiny-MLP kernel was required but cannot run "
                         "this model: %s", why);
    t->fused = ok;
    return true;
}

static void free_params(nnxr_trainer *t)
{
    tr_invalidate_steps(t);
    invalidate_evals(t);
    tr_free_plan(t, &t->train_plan);
    tr_free_plan(t, &t->eval_plan);
    tr_free_plan(t, &t->probe_plan);
    free_buffer(t, &t->params);
    free_buffer(t, &t->backup);
    free_buffer(t, &t->grads);
    free_buffer(t, &t->wbits);
    free_buffer(t, &t->class_buf);
}

/* Chooses the evaluation batch: as many samples as fit EVAL_BYTES of activations. */
static uint32_t auto_eval_batch(const nnxr_trainer *t)
{
    const nnxr_model *m = &t->model;
    VkDeviceSize per = m->in_size + 4;
    for (uint32_t c = 0; c < m->n_chains; c++)
        for (uint32_t o = 0; o < m->chains[c].n_ops; o++)
            per += m->chains[c].ops[o].out_size;
    per += 5u * m->latent;
    VkDeviceSize n = EVAL_BYTES / (per * 4);
    if (n > 8192)
        n = 8192;
    return n < 1 ? 1 : (uint32_t)n;
}

bool tr_rebuild(nnxr_trainer *t, const nnxr_model_desc *desc, const float *params,
                const float *state1, const float *state2, nnxr_error *err)
{
    nnxr_model m;
    if (!nnxr_model_build(desc, &m, err))
        return false;
    free_params(t);
    t->model = m;
    size_t p = m.param_count;
    bool ok = make_buffer(t, "nn.params", p * 12, &t->params, err) &&
              make_buffer(t, "nn.params.backup", p * 12, &t->backup, err) &&
              make_buffer(t, "nn.grads", p * 4, &t->grads, err) &&
              make_buffer(t, "nn.weight_bits", ((p + 31) / 32) * 4, &t->wbits, err);
    if (!ok)
        return false;
    float *block = calloc(p * 3, sizeof *block);
    uint8_t *isw = malloc(p);
    uint32_t *bits = calloc((p + 31) / 32, 4);
    if (!block || !isw || !bits) {
        free(block);
        free(isw);
        free(bits);
        return nnxr_fail(err, "trainer: out of memory for %zu parameters", p);
    }
    if (params)
        memcpy(block, params, p * 4);
    else
        ok = nnxr_model_init_params(&t->model, t->cfg.seed, block, err);
    if (state1)
        memcpy(block + p, state1, p * 4);
    if (state2)
        memcpy(block + 2 * p, state2, p * 4);
    nnxr_model_weight_mask(&t->model, isw);
    nnxr_nn_pack_weight_bits(p, isw, bits);
    ok = ok && upload(t, t->params, 0, block, p * 12, err) &&
         upload(t, t->backup, 0, block, p * 12, err) &&
         upload(t, t->wbits, 0, bits, ((p + 31) / 32) * 4, err);
    free(block);
    free(isw);
    free(bits);
    if (!ok)
        return false;
    t->eval_batch = t->cfg.eval_batch ? t->cfg.eval_batch : auto_eval_batch(t);
    tr_set *es = &t->sets[nnxr_trainer_eval_set(t)];
    t->probe_count = t->cfg.probe_count < es->count ? t->cfg.probe_count : es->count;
    if (!tr_make_plan(t, &t->train_plan, t->cfg.batch, true, "train", err) ||
        !tr_make_plan(t, &t->eval_plan, t->eval_batch, false, "eval", err) ||
        (t->probe_count && !tr_make_plan(t, &t->probe_plan, t->probe_count, false, "probe", err)))
        return false;
    if (m.classes > 0) {
        VkDeviceSize off = 0;
        for (uint32_t c = 0; c < m.n_chains; c++)
            for (uint32_t o = 0; o < m.chains[c].n_ops; o++) {
                t->class_off[c][o] = take(&off, (VkDeviceSize)m.classes * m.chains[c].ops[o].out_size);
                t->class_cnt[c][o] = take(&off, m.classes);
            }
        t->class_total = off;
        if (!make_buffer(t, "nn.class_means", off * 4, &t->class_buf, err))
            return false;
        float *zeros = calloc(off, 4);
        if (!zeros)
            return nnxr_fail(err, "trainer: out of memory");
        ok = upload(t, t->class_buf, 0, zeros, off * 4, err);
        free(zeros);
        if (!ok)
            return false;
        t->class_means = false;
    }
    if (!choose_fused(t, err))
        return false;
    fill_layer_table(t);
    t->generation++;
    return true;
}

bool tr_upload_hparams(nnxr_trainer *t, nnxr_error *err)
{
    return upload(t, t->hparams, 0, &t->hp, sizeof t->hp, err);
}

/* ------------------------------------------------------------------ epochs */

static bool zero_train_stats(nnxr_trainer *t, nnxr_error *err)
{
    float zeros[16] = {0};
    return upload(t, t->stats, TR_STATS_TRAIN * 4, zeros, sizeof zeros, err);
}

/* Starts chunk chunk_order[chunk_pos] of the epoch: a fresh shuffle of its samples. */
static bool start_chunk(nnxr_trainer *t, nnxr_error *err)
{
    tr_set *s = &t->sets[NNXR_SET_TRAIN];
    t->cur_chunk = t->chunk_order[t->chunk_pos];
    tr_chunk *ch = &s->chunks[t->cur_chunk];
    if (t->cfg.shuffle) {
        nnxr_rng_permutation(&t->rng, t->perm_scratch, ch->count);
        if (!upload(t, ch->index, 0, t->perm_scratch, (VkDeviceSize)ch->count * 4, err))
            return false;
    }
    t->chunk_step = 0;
    t->chunk_steps = ch->count / t->cfg.batch;
    if (t->chunk_steps < 1)
        t->chunk_steps = 1;
    if (s->n_chunks > 1 && t->bound_chunk != t->cur_chunk)
        tr_invalidate_steps(t);
    return true;
}

static bool start_epoch(nnxr_trainer *t, nnxr_error *err)
{
    tr_set *s = &t->sets[NNXR_SET_TRAIN];
    for (uint32_t i = 0; i < s->n_chunks; i++)
        t->chunk_order[i] = i;
    if (t->cfg.shuffle && s->n_chunks > 1)
        nnxr_rng_shuffle_u32(&t->rng, t->chunk_order, s->n_chunks);
    t->chunk_pos = 0;
    return zero_train_stats(t, err) && start_chunk(t, err);
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static void result_from_stats(const nnxr_trainer *t, const float *s, nnxr_eval_result *r)
{
    memset(r, 0, sizeof *r);
    if (t->vae) {
        r->count = (uint32_t)s[3];
        r->bce = ratio(s[0], s[1]);
        r->kl = ratio(s[4], s[5]);
        r->cls_loss = t->model.classes ? ratio(s[8], s[9]) : 0.0;
        r->accuracy = t->model.classes ? ratio(s[10], s[9]) : NAN;
        /* Without labelled samples the classifier adds nothing to what is minimised. */
        bool labelled = t->model.classes && s[9] > 0;
        r->loss = r->bce + r->kl + (labelled ? t->model.desc.cls_weight * r->cls_loss : 0);
    } else {
        r->count = (uint32_t)s[3];
        r->loss = ratio(s[0], s[1]);
        r->accuracy = t->regression ? NAN : ratio(s[2], s[1]);
    }
}

bool nnxr_trainer_train_stats(nnxr_trainer *t, nnxr_eval_result *out, nnxr_error *err)
{
    float s[12];
    if (!nnxr_buffer_readback(t->gpu, t->stats, TR_STATS_TRAIN * 4, s, sizeof s, err))
        return false;
    result_from_stats(t, s, out);
    return true;
}

static void publish_result(nnxr_trainer *t, const char *prefix, const nnxr_eval_result *r)
{
    char name[64];
    snprintf(name, sizeof name, "%s.loss", prefix);
    tr_publish(t, name, r->loss);
    if (!t->regression && (!t->vae || t->model.classes)) {
        snprintf(name, sizeof name, "%s.accuracy", prefix);
        tr_publish(t, name, r->accuracy);
    }
    if (t->vae) {
        snprintf(name, sizeof name, "%s.bce", prefix);
        tr_publish(t, name, r->bce);
        snprintf(name, sizeof name, "%s.kl", prefix);
        tr_publish(t, name, r->kl);
        if (t->model.classes) {
            snprintf(name, sizeof name, "%s.cls_loss", prefix);
            tr_publish(t, name, r->cls_loss);
        }
    }
}

static bool end_epoch(nnxr_trainer *t, nnxr_train_report *rep, nnxr_error *err)
{
    nnxr_eval_result r;
    if (!nnxr_trainer_train_stats(t, &r, err))
        return false;
    t->epoch++;
    publish_result(t, "train", &r);
    tr_publish(t, "epoch", (double)t->epoch);
    NNXR_INFO("epoch %llu: train loss %.4f accuracy %.4f", (unsigned long long)t->epoch, r.loss,
              r.accuracy);
    if (t->cfg.eval_each_epoch) {
        if (!nnxr_trainer_evaluate(t, nnxr_trainer_eval_set(t), NULL, err))
            return false;
        if (t->vae && !nnxr_trainer_evaluate(t, NNXR_SET_TRAIN, NULL, err))
            return false;
    }
    if (rep)
        rep->epochs_ended++;
    if (t->cfg.epochs && t->epoch >= t->cfg.epochs) {
        t->finished = true;
        if (rep)
            rep->finished = true;
        tr_publish(t, "train.finished", 1.0);
    }
    return start_epoch(t, err);
}

/* Moves past a finished chunk (to the next chunk, or the epoch's end). */
static bool advance(nnxr_trainer *t, nnxr_train_report *rep, nnxr_error *err)
{
    while (t->chunk_step >= t->chunk_steps) {
        t->chunk_pos++;
        if (t->chunk_pos >= t->sets[NNXR_SET_TRAIN].n_chunks) {
            if (!end_epoch(t, rep, err))
                return false;
            if (t->finished)
                return true;
        } else if (!start_chunk(t, err)) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ steps */

static bool ensure_steps(nnxr_trainer *t, int k, nnxr_error *err)
{
    tr_rec *r = &t->steps[k];
    if (r->recorded && t->bound_chunk == t->cur_chunk)
        return true;
    if (t->bound_chunk != t->cur_chunk) {
        tr_invalidate_steps(t);
        r = &t->steps[k];
    }
    if (!tr_record_steps(t, r, t->sizes[k], err)) {
        if (!t->fused || t->cfg.fused == 1)
            return false;
        /* The fused kernel has a cache of network shapes (surgery makes new ones): when it
         * refuses, the layered path takes over. */
        NNXR_WARN("trainer: the fused tiny-MLP kernel refused this network (%s); using the "
                  "layered kernels", err ? err->message : "");
        tr_invalidate_steps(t);
        t->fused = false;
        r = &t->steps[k];
        if (!tr_record_steps(t, r, t->sizes[k], err))
            return false;
    }
    t->bound_chunk = t->cur_chunk;
    t->dispatches_per_step = (double)r->dispatches / r->steps;
    return true;
}

static bool restore_backup(nnxr_trainer *t, nnxr_error *err)
{
    size_t bytes = t->model.param_count * 12;
    void *tmp = malloc(bytes);
    if (!tmp)
        return nnxr_fail(err, "trainer: out of memory restoring the weights");
    bool ok = nnxr_buffer_readback(t->gpu, t->backup, 0, tmp, bytes, err) &&
              upload(t, t->params, 0, tmp, bytes, err);
    free(tmp);
    return ok;
}

/* One submission of recording k (sizes[k] steps). */
static bool submit_steps(nnxr_trainer *t, int k, nnxr_train_report *rep, nnxr_error *err)
{
    if (!ensure_steps(t, k, err))
        return false;
    uint32_t n = t->sizes[k];
    t->hp.step = (uint32_t)t->step;
    t->hp.batch_base = t->chunk_step;
    if (!tr_upload_hparams(t, err))
        return false;
    double t0 = now_ms();
    if (!nnxr_recorder_run(t->steps[k].rec, err))
        return nnxr_fail_prefix(err, "trainer: %u steps", n);
    t->last_k = k;
    double ms = now_ms() - t0;
    uint32_t flag = 0;
    if (!nnxr_buffer_readback(t->gpu, t->stats, TR_STATS_FLAG * 4, &flag, 4, err))
        return false;
    if (rep)
        rep->submissions++;
    if (flag) {
        uint32_t zero = 0;
        if (!restore_backup(t, err) || !zero_train_stats(t, err) ||
            !upload(t, t->stats, TR_STATS_FLAG * 4, &zero, 4, err))
            return false;
        NNXR_WARN("training diverged within steps %llu..%llu (NaN or Inf in the weights or "
                  "the loss): the weights of step %llu are restored and training is paused; "
                  "lower the learning rate before resuming",
                  (unsigned long long)t->step + 1, (unsigned long long)(t->step + n),
                  (unsigned long long)t->step);
        tr_publish(t, "train.diverged", 1.0);
        if (rep)
            rep->diverged = true;
        return true;
    }
    /* The step time that sizes submissions. A recording's first run also compiles its
     * pipelines on devices that compile at first dispatch (lavapipe: seconds), so it only
     * counts when there is no estimate yet; a later run that differs by more than 2x (that
     * first one, a new batch size) replaces the estimate rather than being averaged in. */
    double per = ms / n;
    tr_rec *r = &t->steps[k];
    if (t->ms_per_step <= 0)
        t->ms_per_step = per;
    else if (r->runs > 0)
        t->ms_per_step = per > 2 * t->ms_per_step || 2 * per < t->ms_per_step
                             ? per
                             : 0.7 * t->ms_per_step + 0.3 * per;
    r->runs++;
    t->step += n;
    t->chunk_step += n;
    if (rep)
        rep->steps += n;
    if (t->cfg.eval_every && t->step - t->last_eval_step >= t->cfg.eval_every) {
        /* The running train figures of this epoch, then the validation set. */
        nnxr_eval_result r;
        t->last_eval_step = t->step;
        if (!nnxr_trainer_train_stats(t, &r, err) ||
            !nnxr_trainer_evaluate(t, nnxr_trainer_eval_set(t), NULL, err) ||
            (t->vae && !nnxr_trainer_evaluate(t, NNXR_SET_TRAIN, NULL, err)))
            return false;
        publish_result(t, "train", &r);
    }
    return advance(t, rep, err);
}

/* The largest recording of at most n steps. */
static int pick_size(const nnxr_trainer *t, uint64_t n)
{
    int k = 0;
    while (k + 1 < (int)t->n_sizes && t->sizes[k + 1] <= n)
        k++;
    return k;
}

bool nnxr_trainer_frame(nnxr_trainer *t, bool paused, nnxr_train_report *rep, nnxr_error *err)
{
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (paused || t->finished)
        return true;
    if (!advance(t, rep, err))
        return false;
    if (t->finished)
        return true;
    uint64_t want = 1;
    if (t->ms_per_step > 0)
        want = (uint64_t)(t->cfg.budget_ms / t->ms_per_step);
    if (want < 1)
        want = 1;
    if (want > t->cfg.max_steps_per_frame)
        want = t->cfg.max_steps_per_frame;
    uint64_t left = t->chunk_steps - t->chunk_step;
    if (want > left)
        want = left;
    return submit_steps(t, pick_size(t, want), rep, err);
}

bool nnxr_trainer_steps(nnxr_trainer *t, uint64_t n, nnxr_train_report *rep, nnxr_error *err)
{
    nnxr_train_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    uint64_t done = 0;
    while (done < n && !t->finished) {
        if (!advance(t, rep, err))
            return false;
        if (t->finished)
            break;
        uint64_t want = n - done, left = t->chunk_steps - t->chunk_step;
        if (want > left)
            want = left;
        /* Bounded GPU time per submission (watchdogs, fence timeouts, responsiveness). */
        uint64_t cap = t->ms_per_step > 0 ? (uint64_t)(MAX_SUBMIT_MS / t->ms_per_step) : 1;
        if (want > cap)
            want = cap ? cap : 1;
        uint32_t before = rep->steps;
        if (!submit_steps(t, pick_size(t, want), rep, err))
            return false;
        if (rep->diverged)
            break;
        done += rep->steps - before;
    }
    return true;
}

bool nnxr_trainer_epochs(nnxr_trainer *t, uint64_t epochs, nnxr_train_report *rep,
                         nnxr_error *err)
{
    nnxr_train_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    uint64_t target = t->epoch + epochs;
    while (t->epoch < target && !t->finished) {
        uint64_t left = t->chunk_steps - t->chunk_step;
        nnxr_train_report r;
        if (!nnxr_trainer_steps(t, left ? left : 1, &r, err))
            return false;
        rep->steps += r.steps;
        rep->submissions += r.submissions;
        rep->epochs_ended += r.epochs_ended;
        rep->finished = r.finished;
        if (r.diverged) {
            rep->diverged = true;
            break;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ evaluation */

nnxr_train_set nnxr_trainer_eval_set(const nnxr_trainer *t)
{
    return t->has_val ? NNXR_SET_VAL : NNXR_SET_TEST;
}

static bool finish_class_means(nnxr_trainer *t, nnxr_error *err)
{
    const nnxr_model *m = &t->model;
    VkDeviceSize total = t->class_total;
    float *buf = malloc(total * 4);
    if (!buf)
        return nnxr_fail(err, "trainer: out of memory for class means");
    bool ok = nnxr_buffer_readback(t->gpu, t->class_buf, 0, buf, total * 4, err);
    for (uint32_t c = 0; ok && c < m->n_chains; c++)
        for (uint32_t o = 0; o < m->chains[c].n_ops; o++) {
            uint32_t f = m->chains[c].ops[o].out_size;
            for (uint32_t k = 0; k < m->classes; k++) {
                float n = buf[t->class_cnt[c][o] + k];
                float *row = buf + t->class_off[c][o] + (VkDeviceSize)k * f;
                for (uint32_t i = 0; i < f; i++)
                    row[i] = n > 0 ? row[i] / n : 0.0f;
            }
        }
    ok = ok && upload(t, t->class_buf, 0, buf, total * 4, err);
    free(buf);
    t->class_means = ok;
    return ok;
}

static bool evaluate(nnxr_trainer *t, nnxr_train_set which, bool quick, nnxr_eval_result *out,
                     nnxr_error *err)
{
    if ((int)which < 0 || which > NNXR_SET_TEST)
        return nnxr_fail(err, "trainer: evaluate: set %d, expected train, val or test",
                         (int)which);
    tr_set *s = &t->sets[which];
    tr_rec *rec = quick ? &s->quick : &s->eval;
    if (s->count == 0)
        return nnxr_fail(err, "trainer: evaluate: the %s set is empty", set_name(which));
    if (!rec->recorded && !tr_record_eval(t, which, quick, rec, err))
        return nnxr_fail_prefix(err, "trainer: recording the %s evaluation", set_name(which));
    if (!tr_upload_hparams(t, err) || !nnxr_recorder_run(rec->rec, err))
        return nnxr_fail_prefix(err, "trainer: evaluating the %s set", set_name(which));
    float st[12];
    if (!nnxr_buffer_readback(t->gpu, t->stats, (TR_STATS_SET + 16u * which) * 4, st, sizeof st,
                              err))
        return false;
    nnxr_eval_result r;
    result_from_stats(t, st, &r);
    r.count = s->count;
    if (!quick) {
        if (which == nnxr_trainer_eval_set(t) && t->class_buf && !finish_class_means(t, err))
            return false;
        s->evaluated = true;
        s->eval_step = t->step;
        s->eval_gen = t->generation;
        t->outputs_version++;
    }
    s->last = r;
    if (which != NNXR_SET_TRAIN)
        publish_result(t, which == nnxr_trainer_eval_set(t) ? "val" : "test", &r);
    if (out)
        *out = r;
    return true;
}

bool nnxr_trainer_evaluate(nnxr_trainer *t, nnxr_train_set which, nnxr_eval_result *out,
                           nnxr_error *err)
{
    return evaluate(t, which, false, out, err);
}

bool nnxr_trainer_evaluate_quick(nnxr_trainer *t, nnxr_train_set which, nnxr_eval_result *out,
                                 nnxr_error *err)
{
    return evaluate(t, which, true, out, err);
}

bool tr_ensure_evaluated(nnxr_trainer *t, nnxr_train_set which, nnxr_error *err)
{
    tr_set *s = &t->sets[which];
    if (s->evaluated && s->eval_step == t->step && s->eval_gen == t->generation)
        return true;
    return nnxr_trainer_evaluate(t, which, NULL, err);
}

/* ------------------------------------------------------------------ creation */

static bool check_config(const nnxr_train_config *c, nnxr_error *err)
{
    if (c->batch < 1 || c->batch > 65536)
        return nnxr_fail(err, "trainer: batch %u, expected 1..65536", c->batch);
    if (!isfinite(c->lr) || c->lr < 0 || !isfinite(c->momentum) || c->momentum < 0 ||
        c->momentum >= 1 || !isfinite(c->l1) || c->l1 < 0 || !isfinite(c->l2) || c->l2 < 0)
        return nnxr_fail(err, "trainer: lr %g, momentum %g, l1 %g, l2 %g: expected finite, "
                         ">= 0, momentum < 1", c->lr, c->momentum, c->l1, c->l2);
    if (c->beta1 < 0 || c->beta1 >= 1 || c->beta2 < 0 || c->beta2 >= 1 || !(c->adam_eps >= 0))
        return nnxr_fail(err, "trainer: Adam beta1 %g, beta2 %g, epsilon %g: expected betas in "
                         "[0, 1) and epsilon >= 0", c->beta1, c->beta2, c->adam_eps);
    if (c->optimizer != NNXR_NN_SGD && c->optimizer != NNXR_NN_ADAM)
        return nnxr_fail(err, "trainer: optimizer %d, expected sgd or adam", (int)c->optimizer);
    if (!(c->budget_ms > 0) || c->max_steps_per_frame < 1)
        return nnxr_fail(err, "trainer: budget_ms %g and max_steps_per_frame %u must be > 0",
                         c->budget_ms, c->max_steps_per_frame);
    return true;
}

static const char predict_glsl[] =
    "#version 450\n"
    "layout(local_size_x = 64) in;\n"
    "layout(std430, set = 0, binding = 0) buffer Out { uint u[]; };\n"
    "layout(push_constant) uniform Push { uint count, classes, probs, pred, conf; } pc;\n"
    "void main() {\n"
    "  uint i = gl_GlobalInvocationID.x;\n"
    "  if (i >= pc.count) return;\n"
    "  uint base = pc.probs + i * pc.classes;\n"
    "  float best = uintBitsToFloat(u[base]);\n"
    "  uint arg = 0u;\n"
    "  for (uint c = 1u; c < pc.classes; c++) {\n"
    "    float v = uintBitsToFloat(u[base + c]);\n"
    "    if (v > best) { best = v; arg = c; }\n"
    "  }\n"
    "  u[pc.pred + i] = arg;\n"
    "  u[pc.conf + i] = floatBitsToUint(best);\n"
    "}\n";

static bool make_predict_kernel(nnxr_trainer *t, nnxr_error *err)
{
    uint32_t *words = NULL;
    size_t count = 0;
    if (!nnxr_gpu_compile_glsl(predict_glsl, "nn/predict (trainer.c)", VK_SHADER_STAGE_COMPUTE_BIT,
                               &words, &count, err))
        return false;
    nnxr_kernel_desc d = {.name = "nn.predict",
                          .code = words,
                          .code_size = count * 4,
                          .buffer_count = 1,
                          .written_mask = 1,
                          .push_size = 20};
    bool ok = nnxr_kernel_create(t->gpu, &d, &t->predict, err);
    free(words);
    return ok;
}

static void publish_hparams(nnxr_trainer *t);

bool nnxr_trainer_create(nnxr_gpu *gpu, const nnxr_train_config *cfg,
                         const nnxr_train_data *data, nnxr_trainer **out, nnxr_error *err)
{
    *out = NULL;
    if (!check_config(cfg, err))
        return false;
    uint32_t features = data->in_c * data->in_h * data->in_w;
    if (features < 1)
        return nnxr_fail(err, "trainer: data of shape %ux%ux%u", data->in_c, data->in_h,
                         data->in_w);
    if (data->train.count < 1)
        return nnxr_fail(err, "trainer: the training set is empty");
    if (data->classes == 0 && data->outputs < 1)
        return nnxr_fail(err, "trainer: regression data needs outputs >= 1");
    if (!check_split(data, &data->train, "training", features, err) ||
        !check_split(data, &data->val, "validation", features, err) ||
        !check_split(data, &data->test, "test", features, err))
        return false;
    if (data->val.count == 0 && data->test.count == 0)
        return nnxr_fail(err, "trainer: the data has neither a validation nor a test set to "
                         "evaluate on");
    bool u8 = data->train.u8 != NULL;
    if ((data->val.count && (data->val.u8 != NULL) != u8) ||
        (data->test.count && (data->test.u8 != NULL) != u8))
        return nnxr_fail(err, "trainer: every set must have the same kind of data (u8 or f32)");

    nnxr_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return nnxr_fail(err, "trainer: out of memory");
    t->gpu = gpu;
    t->cfg = *cfg;
    t->bound_chunk = UINT32_MAX;
    t->last_k = -1;
    t->shape = *data;
    t->host = data;
    memset(&t->shape.train, 0, sizeof t->shape.train);
    memset(&t->shape.val, 0, sizeof t->shape.val);
    memset(&t->shape.test, 0, sizeof t->shape.test);
    t->u8 = data->train.u8 != NULL;
    t->regression = data->classes == 0;
    t->vae = cfg->model.kind == NNXR_MODEL_VAE;
    t->has_val = data->val.count > 0;
    const nnxr_gpu_info *gi = nnxr_gpu_get_info(gpu);
    t->max_range = gi->properties.limits.maxStorageBufferRange;
    t->chunk_bytes = cfg->chunk_bytes && cfg->chunk_bytes < t->max_range ? cfg->chunk_bytes
                                                                           : t->max_range;
    /* Recording sizes grow by ~sqrt(2): a frame's budget wastes at most ~30 %. */
    uint32_t cap = cfg->max_recorded_steps ? cfg->max_recorded_steps : 1;
    t->sizes[0] = 1;
    t->n_sizes = 1;
    while (t->n_sizes < TR_MAX_SIZES) {
        uint32_t last = t->sizes[t->n_sizes - 1];
        uint32_t next = (uint32_t)(last * 1.41421356 + 0.5);
        if (next <= last)
            next = last + 1;
        if (next > cap)
            break;
        t->sizes[t->n_sizes++] = next;
    }
    nnxr_rng_seed(&t->rng, cfg->seed, STREAM_SHUFFLE);
    nnxr_rng_seed(&t->surgery_rng, cfg->seed, STREAM_SURGERY);

    nnxr_model_desc desc = cfg->model;
    desc.in_c = data->in_c;
    desc.in_h = data->in_h;
    desc.in_w = data->in_w;
    desc.regression = t->regression;
    desc.outputs = t->regression ? data->outputs : data->classes;
    if (t->vae && t->regression)
        desc.outputs = 0;
    bool ok = true;
    if (t->vae && t->regression) {
        ok = nnxr_fail(err, "trainer: a vae trains on images with classes, not regression data");
    } else if (t->vae && !t->u8) {
        ok = nnxr_fail(err, "trainer: a vae needs pixel data in [0, 1] (u8 images)");
    }
    /* The model's layout first (upload_set needs its sizes), then buffers. */
    ok = ok && nnxr_model_build(&desc, &t->model, err);
    if (ok && cfg->nn) {
        t->nn = cfg->nn;
    } else if (ok) {
        nnxr_nn_options o = nnxr_nn_options_default();
        ok = nnxr_nn_create(gpu, &o, &t->nn, err);
        t->own_nn = ok;
    }
    ok = ok && make_buffer(t, "nn.hparams", NNXR_NN_HPARAMS_SIZE, &t->hparams, err) &&
         make_buffer(t, "nn.stats", TR_STATS_FLOATS * 4, &t->stats, err);
    if (ok) {
        float zeros[TR_STATS_FLOATS] = {0};
        ok = upload(t, t->stats, 0, zeros, sizeof zeros, err);
    }
    ok = ok && upload_set(t, NNXR_SET_TRAIN, &data->train, err) &&
         upload_set(t, NNXR_SET_VAL, &data->val, err) &&
         upload_set(t, NNXR_SET_TEST, &data->test, err);
    if (ok && t->model.classes > 0)
        ok = make_predict_kernel(t, err);
    if (ok) {
        tr_set *ts = &t->sets[NNXR_SET_TRAIN];
        uint32_t biggest = 0;
        for (uint32_t i = 0; i < ts->n_chunks; i++)
            if (ts->chunks[i].count > biggest)
                biggest = ts->chunks[i].count;
        t->perm_scratch = malloc((size_t)biggest * 4 + 4);
        t->chunk_order = malloc((size_t)ts->n_chunks * 4 + 4);
        if (!t->perm_scratch || !t->chunk_order)
            ok = nnxr_fail(err, "trainer: out of memory");
    }
    ok = ok && tr_rebuild(t, &desc, NULL, NULL, NULL, err);
    if (ok) {
        t->hp = nnxr_nn_hparams_default();
        t->hp.lr = (float)cfg->lr;
        t->hp.momentum = (float)cfg->momentum;
        t->hp.beta1 = (float)cfg->beta1;
        t->hp.beta2 = (float)cfg->beta2;
        t->hp.adam_eps = (float)cfg->adam_eps;
        t->hp.l1 = (float)cfg->l1;
        t->hp.l2 = (float)cfg->l2;
        t->hp.kl_beta = (float)cfg->model.beta;
        t->hp.seed = (uint32_t)(cfg->seed ^ (cfg->seed >> 32));
        ok = tr_upload_hparams(t, err);
    }
    if (ok && cfg->checkpoint && cfg->checkpoint[0])
        ok = nnxr_trainer_load_checkpoint(t, cfg->checkpoint, err);
    ok = ok && start_epoch(t, err);
    if (ok) {
        publish_hparams(t);
        tr_publish(t, "epoch", (double)t->epoch);
    }
    if (!ok) {
        nnxr_trainer_destroy(t);
        return false;
    }
    *out = t;
    return true;
}

void nnxr_trainer_destroy(nnxr_trainer *t)
{
    if (!t)
        return;
    free_params(t);
    for (int s = 0; s < 3; s++)
        free_set(t, &t->sets[s]);
    free_buffer(t, &t->hparams);
    free_buffer(t, &t->stats);
    nnxr_kernel_destroy(t->gpu, t->predict);
    if (t->own_nn)
        nnxr_nn_destroy(t->nn);
    free(t->perm_scratch);
    free(t->chunk_order);
    free(t);
}

/* ------------------------------------------------------------------ control and state */

static const struct {
    const char *name;
    size_t hp_offset; /* into nnxr_nn_hparams, or SIZE_MAX */
} hparam_names[] = {
    {"lr", offsetof(nnxr_nn_hparams, lr)},
    {"momentum", offsetof(nnxr_nn_hparams, momentum)},
    {"beta1", offsetof(nnxr_nn_hparams, beta1)},
    {"beta2", offsetof(nnxr_nn_hparams, beta2)},
    {"adam_epsilon", offsetof(nnxr_nn_hparams, adam_eps)},
    {"l1", offsetof(nnxr_nn_hparams, l1)},
    {"l2", offsetof(nnxr_nn_hparams, l2)},
    {"beta", offsetof(nnxr_nn_hparams, kl_beta)},
    {"batch", SIZE_MAX},
    {"budget_ms", SIZE_MAX},
    {"max_steps_per_frame", SIZE_MAX},
};

/* "hparam.<name>" for every hyperparameter a frame may change and the optimizer uses, so
 * that displays (the HUD) show the values in effect from the first frame and after every
 * change — and no momentum under Adam, no betas under SGD. */
static void publish_hparams(nnxr_trainer *t)
{
    char metric[48];
    bool adam = t->cfg.optimizer == NNXR_NN_ADAM;
    for (size_t i = 0; i < sizeof hparam_names / sizeof hparam_names[0]; i++) {
        size_t off = hparam_names[i].hp_offset;
        const char *name = hparam_names[i].name;
        bool adam_only = !strcmp(name, "beta1") || !strcmp(name, "beta2") ||
                         !strcmp(name, "adam_epsilon");
        if (adam ? !strcmp(name, "momentum") : adam_only)
            continue;
        double v = off != SIZE_MAX ? *(const float *)((const char *)&t->hp + off)
                   : !strcmp(name, "batch")     ? (double)t->cfg.batch
                   : !strcmp(name, "budget_ms") ? t->cfg.budget_ms
                                                : (double)t->cfg.max_steps_per_frame;
        if (!strcmp(name, "lr"))
            v = t->cfg.lr; /* the double the user gave, not its float */
        snprintf(metric, sizeof metric, "hparam.%s", name);
        tr_publish(t, metric, v);
    }
}

static bool set_hparam(nnxr_trainer *t, const char *name, double v, nnxr_error *err);

bool nnxr_trainer_set_hparam(nnxr_trainer *t, const char *name, double v, nnxr_error *err)
{
    if (!set_hparam(t, name, v, err))
        return false;
    publish_hparams(t);
    return true;
}

static bool set_hparam(nnxr_trainer *t, const char *name, double v, nnxr_error *err)
{
    if (!name)
        return nnxr_fail(err, "set_hparam: no name");
    if (!isfinite(v))
        return nnxr_fail(err, "set_hparam %s: value %g is not finite", name, v);
    if (!strcmp(name, "lr") && (v < 0 || v > 10))
        return nnxr_fail(err, "set_hparam lr: %g, expected 0..10", v);
    if (!strcmp(name, "momentum") && (v < 0 || v >= 1))
        return nnxr_fail(err, "set_hparam momentum: %g, expected 0..<1", v);
    if ((!strcmp(name, "beta1") || !strcmp(name, "beta2")) && (v < 0 || v >= 1))
        return nnxr_fail(err, "set_hparam %s: %g, expected 0..<1", name, v);
    if ((!strcmp(name, "l1") || !strcmp(name, "l2")) && (v < 0 || v > 1))
        return nnxr_fail(err, "set_hparam %s: %g, expected 0..1", name, v);
    if ((!strcmp(name, "adam_epsilon") && (v < 0 || v > 1)) ||
        (!strcmp(name, "beta") && (v < 0 || v > 1000)))
        return nnxr_fail(err, "set_hparam %s: %g is out of range", name, v);
    for (size_t i = 0; i < sizeof hparam_names / sizeof hparam_names[0]; i++) {
        if (strcmp(name, hparam_names[i].name))
            continue;
        if (hparam_names[i].hp_offset != SIZE_MAX) {
            *(float *)((char *)&t->hp + hparam_names[i].hp_offset) = (float)v;
            if (!strcmp(name, "lr"))
                t->cfg.lr = v;
            return tr_upload_hparams(t, err);
        }
        if (!strcmp(name, "budget_ms")) {
            if (!(v > 0) || v > 10000)
                return nnxr_fail(err, "set_hparam budget_ms: %g, expected (0, 10000]", v);
            t->cfg.budget_ms = v;
            return true;
        }
        if (!strcmp(name, "max_steps_per_frame")) {
            if (v < 1 || v > 1e6 || v != floor(v))
                return nnxr_fail(err, "set_hparam max_steps_per_frame: %g, expected a whole "
                                 "number in 1..1000000", v);
            t->cfg.max_steps_per_frame = (uint32_t)v;
            return true;
        }
        /* batch */
        if (v < 1 || v > 65536 || v != floor(v))
            return nnxr_fail(err, "set_hparam batch: %g, expected a whole number in 1..65536", v);
        uint32_t nb = (uint32_t)v, ob = t->cfg.batch;
        if (nb == ob)
            return true;
        tr_plan np;
        t->cfg.batch = nb;
        if (!tr_make_plan(t, &np, nb, true, "train", err)) {
            t->cfg.batch = ob;
            return false;
        }
        tr_invalidate_steps(t);
        tr_free_plan(t, &t->train_plan);
        t->train_plan = np;
        if (!choose_fused(t, err))
            return false;
        /* Continue the epoch at the next whole batch of the new size. */
        uint64_t pos = (uint64_t)t->chunk_step * ob;
        uint32_t count = t->sets[NNXR_SET_TRAIN].chunks[t->cur_chunk].count;
        t->chunk_steps = count / nb ? count / nb : 1;
        t->chunk_step = (uint32_t)((pos + nb - 1) / nb);
        t->generation++;
        return true;
    }
    return nnxr_fail(err, "set_hparam: unknown name \"%s\" (expected lr, momentum, beta1, "
                     "beta2, adam_epsilon, l1, l2, beta, batch, budget_ms or "
                     "max_steps_per_frame)", name);
}

bool nnxr_trainer_get_hparam(const nnxr_trainer *t, const char *name, double *value)
{
    for (size_t i = 0; name && i < sizeof hparam_names / sizeof hparam_names[0]; i++) {
        if (strcmp(name, hparam_names[i].name))
            continue;
        if (hparam_names[i].hp_offset != SIZE_MAX)
            *value = *(const float *)((const char *)&t->hp + hparam_names[i].hp_offset);
        else if (!strcmp(name, "batch"))
            *value = t->cfg.batch;
        else if (!strcmp(name, "budget_ms"))
            *value = t->cfg.budget_ms;
        else
            *value = t->cfg.max_steps_per_frame;
        return true;
    }
    return false;
}

bool nnxr_trainer_set_labels(nnxr_trainer *t, const int32_t *labels, uint32_t count,
                             nnxr_error *err)
{
    tr_set *s = &t->sets[NNXR_SET_TRAIN];
    if (!t->vae || t->model.classes == 0)
        return nnxr_fail(err, "set_labels: only a vae with a classifier trains on a label mask");
    if (!labels || count != s->count)
        return nnxr_fail(err, "set_labels: %u labels for %u training samples", count, s->count);
    for (uint32_t i = 0; i < count; i++)
        if (labels[i] < -1 || labels[i] >= (int32_t)t->model.classes)
            return nnxr_fail(err, "set_labels: sample %u has label %d, expected -1 (unlabeled) "
                             "or 0..%u", i, labels[i], t->model.classes - 1);
    float *mask = malloc((size_t)count * 4 + 4);
    if (!mask)
        return nnxr_fail(err, "set_labels: out of memory");
    for (uint32_t i = 0; i < count; i++)
        mask[i] = labels[i] >= 0 ? 1.0f : 0.0f;
    bool ok = true;
    for (uint32_t c = 0; ok && c < s->n_chunks; c++) {
        tr_chunk *ch = &s->chunks[c];
        ok = upload(t, ch->user_labels, 0, labels + ch->first, (VkDeviceSize)ch->count * 4, err) &&
             upload(t, ch->mask, 0, mask + ch->first, (VkDeviceSize)ch->count * 4, err);
    }
    free(mask);
    return ok;
}

const nnxr_model *nnxr_trainer_model(const nnxr_trainer *t) { return &t->model; }
uint64_t nnxr_trainer_step(const nnxr_trainer *t) { return t->step; }
uint64_t nnxr_trainer_epoch(const nnxr_trainer *t) { return t->epoch; }
bool nnxr_trainer_finished(const nnxr_trainer *t) { return t->finished; }
bool nnxr_trainer_fused(const nnxr_trainer *t) { return t->fused; }
uint32_t nnxr_trainer_train_count(const nnxr_trainer *t) { return t->sets[NNXR_SET_TRAIN].count; }
uint32_t nnxr_trainer_data_chunks(const nnxr_trainer *t)
{
    return t->sets[NNXR_SET_TRAIN].n_chunks;
}
uint32_t nnxr_trainer_profile(const nnxr_trainer *t, nnxr_train_profile_row *rows, uint32_t max)
{
    if (!t->cfg.profile || t->last_k < 0 || !t->steps[t->last_k].rec)
        return 0;
    nnxr_mark marks[TR_PROFILE_MARKS];
    uint32_t n = nnxr_recorder_marks(t->steps[t->last_k].rec, marks, TR_PROFILE_MARKS);
    uint32_t count = 0, i = 0;
    while (i < n && strcmp(marks[i].name, TR_PROFILE_START) != 0)
        i++;
    /* Each mark closes the dispatch recorded just before it. */
    for (i++; i < n; i++) {
        double ms = (marks[i].ns - marks[i - 1].ns) * 1e-6;
        uint32_t r = 0;
        while (r < count && strcmp(rows[r].call, marks[i].name) != 0)
            r++;
        if (r == count) {
            if (count == max)
                continue;
            memset(&rows[count], 0, sizeof rows[count]);
            snprintf(rows[count].call, sizeof rows[count].call, "%s", marks[i].name);
            count++;
        }
        rows[r].dispatches++;
        rows[r].ms += ms;
    }
    return count;
}

double nnxr_trainer_step_dispatches(const nnxr_trainer *t) { return t->dispatches_per_step; }

bool nnxr_trainer_read_params(nnxr_trainer *t, float *params, nnxr_error *err)
{
    return nnxr_buffer_readback(t->gpu, t->params, 0, params, t->model.param_count * 4, err);
}

bool nnxr_trainer_write_params(nnxr_trainer *t, const float *params, nnxr_error *err)
{
    for (size_t i = 0; i < t->model.param_count; i++)
        if (!isfinite(params[i]))
            return nnxr_fail(err, "write_params: parameter %zu is not finite", i);
    return upload(t, t->params, 0, params, t->model.param_count * 4, err);
}

bool nnxr_trainer_read_state(nnxr_trainer *t, float *state1, float *state2, nnxr_error *err)
{
    size_t p = t->model.param_count;
    return (!state1 || nnxr_buffer_readback(t->gpu, t->params, p * 4, state1, p * 4, err)) &&
           (!state2 || nnxr_buffer_readback(t->gpu, t->params, p * 8, state2, p * 4, err));
}

bool nnxr_trainer_read_outputs(nnxr_trainer *t, nnxr_train_set which, float *probs,
                               int32_t *predicted, float *confidence, int32_t *labels,
                               float *mu, nnxr_error *err)
{
    if ((int)which < 0 || which > NNXR_SET_TEST)
        return nnxr_fail(err, "read_outputs: bad set %d", (int)which);
    tr_set *s = &t->sets[which];
    VkDeviceSize n = s->count, k = t->model.classes, d = t->model.latent;
    if ((probs || predicted || confidence) && k == 0)
        return nnxr_fail(err, "read_outputs: the model has no classes");
    if (mu && !t->vae)
        return nnxr_fail(err, "read_outputs: only a vae has mu");
    return (!probs || nnxr_buffer_readback(t->gpu, s->out, s->probs * 4, probs, n * k * 4, err)) &&
           (!predicted ||
            nnxr_buffer_readback(t->gpu, s->out, s->pred * 4, predicted, n * 4, err)) &&
           (!confidence ||
            nnxr_buffer_readback(t->gpu, s->out, s->conf * 4, confidence, n * 4, err)) &&
           (!labels || nnxr_buffer_readback(t->gpu, s->out, s->labels * 4, labels, n * 4, err)) &&
           (!mu || nnxr_buffer_readback(t->gpu, s->out, s->mu * 4, mu, n * d * 4, err));
}

/* ------------------------------------------------------------------ the model service */

static void fill_outputs(const nnxr_trainer *t, const tr_set *s, nnxr_model_outputs *o)
{
    memset(o, 0, sizeof *o);
    if (!s->out)
        return;
    VkDeviceSize n = s->count, k = t->model.classes;
    o->count = s->count;
    if (k) {
        o->probs = (nnxr_model_region){s->out, s->probs * 4, n * k * 4};
        o->predicted = (nnxr_model_region){s->out, s->pred * 4, n * 4};
        o->confidence = (nnxr_model_region){s->out, s->conf * 4, n * 4};
    }
    if (k || t->vae)
        o->labels = (nnxr_model_region){s->out, s->labels * 4, n * 4};
    if (t->vae)
        o->mu = (nnxr_model_region){s->out, s->mu * 4, n * t->model.latent * 4};
}

bool nnxr_trainer_model_info(nnxr_trainer *t, nnxr_model_info *out, nnxr_error *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    const nnxr_model *m = &t->model;
    out->size = sizeof *out;
    out->generation = t->generation;
    out->outputs_version = t->outputs_version;
    out->kind = m->desc.kind;
    out->in_c = m->desc.in_c;
    out->in_h = m->desc.in_h;
    out->in_w = m->desc.in_w;
    out->classes = m->classes;
    out->outputs = t->vae ? m->classes : m->outputs;
    out->latent_dim = m->latent;
    out->layer_count = t->layer_count;
    out->layers = t->layers;
    out->param_count = (uint32_t)m->param_count;
    out->params = (nnxr_model_region){t->params, 0, m->param_count * 4};
    out->probe_count = t->probe_count;
    if (t->probe_count) {
        out->probe_input = (nnxr_model_region){t->probe_plan.buf, t->probe_plan.x * 4,
                                               (VkDeviceSize)t->probe_count * m->in_size * 4};
        out->probe_labels = (nnxr_model_region){t->probe_plan.buf, t->probe_plan.labels * 4,
                                                (VkDeviceSize)t->probe_count * 4};
    }
    fill_outputs(t, &t->sets[nnxr_trainer_eval_set(t)], &out->eval);
    if (t->vae)
        fill_outputs(t, &t->sets[NNXR_SET_TRAIN], &out->samples);
    out->step = t->step;
    out->epoch = t->epoch;
    out->finished = t->finished;
    return true;
}

static bool api_info(void *ctx, nnxr_model_info *out, nnxr_error *err)
{
    return nnxr_trainer_model_info(ctx, out, err);
}

static uint64_t api_generation(void *ctx)
{
    return ((nnxr_trainer *)ctx)->generation;
}

static bool api_set_labels(void *ctx, const int32_t *labels, uint32_t count, nnxr_error *err)
{
    return nnxr_trainer_set_labels(ctx, labels, count, err);
}

static void host_set(const nnxr_train_split *sp, nnxr_model_host_set *o)
{
    *o = (nnxr_model_host_set){.count = sp->count, .u8 = sp->u8, .f32 = sp->f32,
                               .xy = sp->xy, .labels = sp->labels, .targets = sp->targets};
}

static bool api_data(void *ctx, nnxr_model_data *out, nnxr_error *err)
{
    nnxr_trainer *t = ctx;
    const nnxr_train_data *d = t->host;
    memset(out, 0, sizeof *out);
    if (!d)
        return nnxr_fail(err, "model: the training data is not available");
    out->size = sizeof *out;
    out->scale = d->scale != 0.0f ? d->scale : (d->train.u8 ? 1.0f / 255.0f : 1.0f);
    out->offset = d->offset;
    host_set(&d->train, &out->train);
    host_set(nnxr_trainer_eval_set(t) == NNXR_SET_VAL ? &d->val : &d->test, &out->eval);
    out->class_names = d->class_names;
    out->feature_count = d->feature_count < 8 ? d->feature_count : 8;
    for (uint32_t i = 0; i < out->feature_count; i++)
        out->features[i] = d->features[i];
    out->domain = d->domain;
    return true;
}

void nnxr_trainer_fill_model_api(nnxr_trainer *t, nnxr_model_api *api)
{
    memset(api, 0, sizeof *api);
    api->ctx = t;
    api->size = sizeof *api;
    api->info = api_info;
    api->generation = api_generation;
    api->set_labels = api_set_labels;
    api->data = api_data;
}
