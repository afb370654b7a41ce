/* nn/checkpoint.c — checkpoints (every parameter tensor, the optimizer state and the counters
 * as one .npz that numpy reads, written atomically by data/npy) and exports for analysis
 * (.npy files of latents, predictions and layer activations). */
#include "nn/trainer_impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/status.h"
#include "data/npy.h"

#define EXPORT_MAX_BYTES (256ull << 20)
#define MAX_TENSORS (2 * NNXR_MODEL_CHAINS * NNXR_MODEL_MAX_OPS)

static nnxr_array scalar_i64(const int64_t *v)
{
    return nnxr_array_view(NNXR_DTYPE_I64, 0, NULL, v);
}

static bool add(nnxr_npz_writer *w, const char *name, nnxr_array a, nnxr_error *err)
{
    return nnxr_npz_writer_add(w, name, &a, err);
}

bool nnxr_trainer_save_checkpoint(nnxr_trainer *t, const char *path, nnxr_error *err)
{
    const nnxr_model *m = &t->model;
    size_t p = m->param_count;
    nnxr_model_tensor tensors[MAX_TENSORS];
    uint32_t nt = nnxr_model_tensors(m, tensors, MAX_TENSORS);
    if (nt > MAX_TENSORS)
        return nnxr_fail(err, "checkpoint %s: %u tensors, at most %d", path, nt, MAX_TENSORS);
    float *block = malloc(p * 12);
    if (!block)
        return nnxr_fail(err, "checkpoint %s: out of memory", path);
    if (!nnxr_buffer_readback(t->gpu, t->params, 0, block, p * 12, err)) {
        free(block);
        return false;
    }
    nnxr_npz_writer *w = NULL;
    bool ok = nnxr_npz_writer_open(path, &w, err);
    char name[64];
    for (int part = 0; ok && part < 3; part++) {
        if (part == 2 && t->cfg.optimizer != NNXR_NN_ADAM)
            break;
        for (uint32_t i = 0; ok && i < nt; i++) {
            const nnxr_model_tensor *ts = &tensors[i];
            if (part == 0)
                snprintf(name, sizeof name, "%.31s", ts->name);
            else
                snprintf(name, sizeof name, "opt%d.%.31s", part, ts->name);
            ok = add(w, name,
                     nnxr_array_view(NNXR_DTYPE_F32, ts->ndim, ts->shape,
                                     block + (size_t)part * p + ts->offset),
                     err);
        }
    }
    int64_t step = (int64_t)t->step, epoch = (int64_t)t->epoch, seed = (int64_t)t->cfg.seed;
    int64_t kind = m->desc.kind, opt = t->cfg.optimizer;
    int64_t hidden[NNXR_MODEL_MAX_HIDDEN];
    for (uint32_t i = 0; i < m->desc.n_hidden; i++)
        hidden[i] = m->desc.hidden[i];
    double hp[8] = {t->hp.lr, t->hp.momentum, t->hp.beta1, t->hp.beta2,
                    t->hp.adam_eps, t->hp.l1, t->hp.l2, t->hp.kl_beta};
    uint64_t nh = m->desc.n_hidden, eight = 8;
    ok = ok && add(w, "meta.step", scalar_i64(&step), err) &&
         add(w, "meta.epoch", scalar_i64(&epoch), err) &&
         add(w, "meta.seed", scalar_i64(&seed), err) &&
         add(w, "meta.kind", scalar_i64(&kind), err) &&
         add(w, "meta.optimizer", scalar_i64(&opt), err) &&
         add(w, "meta.hparams", nnxr_array_view(NNXR_DTYPE_F64, 1, &eight, hp), err);
    if (ok && m->desc.kind == NNXR_MODEL_MLP)
        ok = add(w, "meta.hidden", nnxr_array_view(NNXR_DTYPE_I64, 1, &nh, hidden), err);
    free(block);
    if (!ok) {
        nnxr_npz_writer_abort(w);
        return nnxr_fail_prefix(err, "checkpoint %s", path);
    }
    return nnxr_npz_writer_commit(w, err);
}

static bool read_i64(const nnxr_npz *z, const char *path, const char *name, int64_t *out,
                     bool required, nnxr_error *err)
{
    const nnxr_array *a = nnxr_npz_find(z, name);
    if (!a)
        return required ? nnxr_fail(err, "checkpoint %s: no array '%s'", path, name) : true;
    uint64_t count = 0, bytes;
    nnxr_array_count(a, &count, &bytes);
    if (count != 1 || (a->dtype != NNXR_DTYPE_I64 && a->dtype != NNXR_DTYPE_I32))
        return nnxr_fail(err, "checkpoint %s: '%s' is a %s array of %" PRIu64 " values, "
                         "expected one integer", path, name, nnxr_dtype_name(a->dtype), count);
    *out = a->dtype == NNXR_DTYPE_I64 ? *(const int64_t *)a->data : *(const int32_t *)a->data;
    return true;
}

static bool copy_tensor(const nnxr_npz *z, const char *path, const char *name,
                        const nnxr_model_tensor *ts, float *dst, nnxr_error *err)
{
    const nnxr_array *a = nnxr_npz_find(z, name);
    if (!a)
        return nnxr_fail(err, "checkpoint %s: no array '%s' (this model needs it)", path, name);
    if (a->dtype != NNXR_DTYPE_F32)
        return nnxr_fail(err, "checkpoint %s: '%s' is %s, expected float32", path, name,
                         nnxr_dtype_name(a->dtype));
    bool same = a->ndim == ts->ndim;
    for (uint32_t i = 0; same && i < ts->ndim; i++)
        same = a->shape[i] == ts->shape[i];
    if (!same) {
        char got[96] = "", want[96] = "";
        size_t g = 0, wl = 0;
        for (uint32_t i = 0; i < a->ndim && g < sizeof got; i++)
            g += (size_t)snprintf(got + g, sizeof got - g, "%s%" PRIu64, i ? ", " : "",
                                  a->shape[i]);
        for (uint32_t i = 0; i < ts->ndim && wl < sizeof want; i++)
            wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%" PRIu64, i ? ", " : "",
                                   ts->shape[i]);
        return nnxr_fail(err, "checkpoint %s: '%s' has shape (%s), this model needs (%s)", path,
                         name, got, want);
    }
    memcpy(dst + ts->offset, a->data, ts->count * 4);
    return true;
}

bool nnxr_trainer_load_checkpoint(nnxr_trainer *t, const char *path, nnxr_error *err)
{
    nnxr_npz z;
    if (!nnxr_npz_read(path, &z, err))
        return false;
    int64_t kind = t->model.desc.kind, step = 0, epoch = 0, opt = -1;
    bool ok = read_i64(&z, path, "meta.kind", &kind, false, err) &&
              read_i64(&z, path, "meta.step", &step, false, err) &&
              read_i64(&z, path, "meta.epoch", &epoch, false, err) &&
              read_i64(&z, path, "meta.optimizer", &opt, false, err);
    if (ok && kind != (int64_t)t->model.desc.kind)
        ok = nnxr_fail(err, "checkpoint %s: it holds a model of kind %" PRId64 ", this scene "
                       "trains kind %d (1 mlp, 2 cnn, 3 vae)", path, kind, (int)t->model.desc.kind);
    if (ok && (step < 0 || epoch < 0))
        ok = nnxr_fail(err, "checkpoint %s: negative meta.step or meta.epoch", path);
    /* An mlp saved after surgery keeps its widths. */
    const nnxr_array *hid = nnxr_npz_find(&z, "meta.hidden");
    if (ok && hid && t->model.desc.kind == NNXR_MODEL_MLP) {
        uint64_t n = 0, bytes;
        nnxr_array_count(hid, &n, &bytes);
        if (hid->dtype != NNXR_DTYPE_I64 || hid->ndim != 1 || n > NNXR_MODEL_MAX_HIDDEN) {
            ok = nnxr_fail(err, "checkpoint %s: meta.hidden must be int64 of at most %d widths",
                           path, NNXR_MODEL_MAX_HIDDEN);
        } else {
            nnxr_model_desc d = t->model.desc;
            bool differs = n != d.n_hidden;
            d.n_hidden = (uint32_t)n;
            for (uint64_t i = 0; ok && i < n; i++) {
                int64_t v = ((const int64_t *)hid->data)[i];
                if (v < 1 || v > (1 << 20))
                    ok = nnxr_fail(err, "checkpoint %s: meta.hidden[%" PRIu64 "] = %" PRId64,
                                   path, i, v);
                differs = differs || (uint32_t)v != d.hidden[i];
                d.hidden[i] = (uint32_t)v;
            }
            if (ok && differs) {
                NNXR_INFO("checkpoint %s: taking its hidden widths", path);
                ok = tr_rebuild(t, &d, NULL, NULL, NULL, err);
            }
        }
    }
    const nnxr_model *m = &t->model;
    size_t p = m->param_count;
    float *block = ok ? calloc(p * 3, sizeof *block) : NULL;
    if (ok && !block)
        ok = nnxr_fail(err, "checkpoint %s: out of memory", path);
    nnxr_model_tensor tensors[MAX_TENSORS];
    uint32_t nt = nnxr_model_tensors(m, tensors, MAX_TENSORS);
    bool same_opt = opt == (int64_t)t->cfg.optimizer;
    char name[64];
    for (int part = 0; ok && part < 3; part++) {
        if (part > 0 && !same_opt)
            break;
        if (part == 2 && t->cfg.optimizer != NNXR_NN_ADAM)
            break;
        for (uint32_t i = 0; ok && i < nt && i < MAX_TENSORS; i++) {
            if (part == 0)
                snprintf(name, sizeof name, "%.31s", tensors[i].name);
            else
                snprintf(name, sizeof name, "opt%d.%.31s", part, tensors[i].name);
            ok = copy_tensor(&z, path, name, &tensors[i], block + (size_t)part * p, err);
        }
    }
    if (ok && !same_opt)
        NNXR_INFO("checkpoint %s: saved with another optimizer; its state starts at zero", path);
    for (size_t i = 0; ok && i < p * 3; i++)
        if (!isfinite(block[i]))
            ok = nnxr_fail(err, "checkpoint %s: value %zu of the parameters or optimizer state "
                           "is not finite", path, i % p);
    ok = ok && nnxr_buffer_upload(t->gpu, t->params, 0, block, p * 12, err) &&
         nnxr_buffer_upload(t->gpu, t->backup, 0, block, p * 12, err);
    free(block);
    nnxr_npz_free(&z);
    if (ok) {
        t->step = (uint64_t)step;
        t->epoch = (uint64_t)epoch;
        t->finished = t->cfg.epochs && t->epoch >= t->cfg.epochs;
    }
    return ok;
}

/* ------------------------------------------------------------------ exports */

static bool write_npy(const char *dir, const char *file, nnxr_dtype dt, uint32_t ndim,
                      const uint64_t *shape, const void *data, uint32_t *written, nnxr_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    nnxr_array a = nnxr_array_view(dt, ndim, shape, data);
    if (!nnxr_npy_write(path, &a, err))
        return false;
    (*written)++;
    return true;
}

/* Every chosen op's output over the first samples of the evaluation set. */
static bool export_activations(nnxr_trainer *t, const char *dir, uint32_t *written,
                               nnxr_error *err)
{
    const nnxr_model *m = &t->model;
    nnxr_train_set which = nnxr_trainer_eval_set(t);
    tr_set *s = &t->sets[which];
    bool pick[NNXR_MODEL_CHAINS][NNXR_MODEL_MAX_OPS];
    memset(pick, 0, sizeof pick);
    for (uint32_t k = 0; k < t->cfg.export_layer_count; k++) {
        bool found = false;
        char names[1024] = "";
        size_t used = 0;
        for (uint32_t c = 0; c < m->n_chains; c++)
            for (uint32_t o = 0; o < m->chains[c].n_ops; o++) {
                char nm[24];
                nnxr_model_op_name(m, c, o, nm, sizeof nm);
                if (!strcmp(nm, t->cfg.export_layers[k]))
                    found = pick[c][o] = true;
                if (used < sizeof names)
                    used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                             used ? ", " : "", nm);
            }
        if (!found)
            return nnxr_fail(err, "export: no layer named '%s' (this model has %s)",
                             t->cfg.export_layers[k], names);
    }
    if (!t->cfg.export_layer_count)
        for (uint32_t c = 0; c < m->n_chains; c++)
            for (uint32_t o = 0; o < m->chains[c].n_ops; o++)
                pick[c][o] = true;
    nnxr_recorder *rec = NULL;
    nnxr_nn_tape *tape = NULL;
    bool ok = nnxr_recorder_create(t->gpu, 0, &rec, err);
    for (uint32_t c = 0; ok && c < m->n_chains; c++)
        for (uint32_t o = 0; ok && o < m->chains[c].n_ops; o++) {
            if (!pick[c][o])
                continue;
            /* The VAE's training-set pass skips the decoder; exports run it (on mu). */
            const nnxr_model_op *op = &m->chains[c].ops[o];
            uint64_t per = (uint64_t)op->out_size * 4;
            uint32_t n = s->count;
            if ((uint64_t)n * per > EXPORT_MAX_BYTES)
                n = (uint32_t)(EXPORT_MAX_BYTES / per);
            float *host = malloc((size_t)n * per + 4);
            if (!host) {
                ok = nnxr_fail(err, "export: out of memory");
                break;
            }
            uint32_t done = 0;
            for (uint32_t ci = 0; ok && ci < s->n_chunks && done < n; ci++) {
                const tr_chunk *ch = &s->chunks[ci];
                for (uint32_t f = 0; ok && f < ch->count && done < n; f += t->eval_batch) {
                    uint32_t b = ch->count - f < t->eval_batch ? ch->count - f : t->eval_batch;
                    if (b > n - done)
                        b = n - done;
                    nnxr_nn_tape_destroy(tape);
                    tape = NULL;
                    ok = nnxr_recorder_begin(rec, err) &&
                         nnxr_nn_tape_create(t->nn, rec, &tape, err) &&
                         tr_record_forward_batch(t, which, ci, f, b, tape, err) &&
                         nnxr_recorder_run(rec, err) &&
                         nnxr_buffer_readback(t->gpu, t->eval_plan.buf,
                                              t->eval_plan.out[c][o] * 4,
                                              host + (size_t)done * op->out_size,
                                              (VkDeviceSize)b * per, err);
                    done += b;
                }
            }
            char file[64], nm[24];
            nnxr_model_op_name(m, c, o, nm, sizeof nm);
            snprintf(file, sizeof file, "activations_%s.npy", nm);
            uint64_t shape[4] = {n, op->out_c, op->out_h, op->out_w};
            bool flat = op->out_h == 1 && op->out_w == 1;
            ok = ok && write_npy(dir, file, NNXR_DTYPE_F32, flat ? 2 : 4, shape, host, written,
                                 err);
            if (ok && n < s->count)
                NNXR_WARN("export %s: the first %u of %u samples (files stop at 256 MiB)", file, n,
                          s->count);
            free(host);
        }
    nnxr_nn_tape_destroy(tape);
    nnxr_recorder_destroy(rec);
    return ok;
}

bool nnxr_trainer_export(nnxr_trainer *t, const char *dir, uint32_t *written, nnxr_error *err)
{
    uint32_t count = 0;
    if (!written)
        written = &count;
    *written = 0;
    const nnxr_model *m = &t->model;
    for (uint32_t i = 0; i < t->cfg.export_count; i++) {
        const char *what = t->cfg.export_what[i];
        bool ok = true;
        if (!strcmp(what, "latents")) {
            if (!t->vae) {
                NNXR_WARN("export latents: only a vae has latents (skipped)");
                continue;
            }
            tr_set *s = &t->sets[NNXR_SET_TRAIN];
            size_t n = s->count, d = m->latent;
            float *mu = malloc(n * d * 4 + 4);
            int32_t *labels = malloc(n * 4 + 4);
            uint64_t shape[2] = {n, d};
            ok = mu && labels;
            if (!ok)
                nnxr_fail(err, "export: out of memory");
            ok = ok && tr_ensure_evaluated(t, NNXR_SET_TRAIN, err) &&
                 nnxr_trainer_read_outputs(t, NNXR_SET_TRAIN, NULL, NULL, NULL, labels, mu, err) &&
                 write_npy(dir, "latents.npy", NNXR_DTYPE_F32, 2, shape, mu, written, err) &&
                 write_npy(dir, "latent_labels.npy", NNXR_DTYPE_I32, 1, shape, labels, written,
                           err);
            free(mu);
            free(labels);
        } else if (!strcmp(what, "predictions")) {
            if (m->classes == 0) {
                NNXR_WARN("export predictions: a regression's outputs are exported with "
                          "\"activations\" (its last layer)");
                continue;
            }
            nnxr_train_set which = nnxr_trainer_eval_set(t);
            size_t n = t->sets[which].count, k = m->classes;
            float *probs = malloc(n * k * 4 + 4), *conf = malloc(n * 4 + 4);
            int32_t *pred = malloc(n * 4 + 4), *labels = malloc(n * 4 + 4);
            uint64_t shape[2] = {n, k};
            ok = probs && conf && pred && labels;
            if (!ok)
                nnxr_fail(err, "export: out of memory");
            ok = ok && tr_ensure_evaluated(t, which, err) &&
                 nnxr_trainer_read_outputs(t, which, probs, pred, conf, labels, NULL, err) &&
                 write_npy(dir, "predictions.npy", NNXR_DTYPE_I32, 1, shape, pred, written, err) &&
                 write_npy(dir, "confidence.npy", NNXR_DTYPE_F32, 1, shape, conf, written, err) &&
                 write_npy(dir, "probs.npy", NNXR_DTYPE_F32, 2, shape, probs, written, err) &&
                 write_npy(dir, "true_labels.npy", NNXR_DTYPE_I32, 1, shape, labels, written,
                           err);
            free(probs);
            free(conf);
            free(pred);
            free(labels);
        } else if (!strcmp(what, "activations")) {
            ok = export_activations(t, dir, written, err);
        } else {
            ok = nnxr_fail(err, "export: unknown item '%s' (expected latents, predictions or "
                           "activations)", what);
        }
        if (!ok)
            return nnxr_fail_prefix(err, "export into %s", dir);
    }
    return true;
}
