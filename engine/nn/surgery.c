/* nn/surgery.c — changing a live mlp between steps (AIive): adding a neuron to a hidden layer
 * (small random incoming and outgoing weights, bias 0, zero optimizer state) or removing one,
 * copying every other parameter and optimizer value bit for bit into the new layout; and
 * setting one neuron's incoming and outgoing weights in place (a hand drags a neuron). */
#include "nn/trainer_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/status.h"

/* Scale of a new neuron's weights relative to the layer's Glorot limit: small enough that
 * the network's function barely changes when it appears. */
#define NEW_WEIGHT_SCALE 0.1

bool tr_surgery_layer(const nnxr_trainer *t, uint32_t layer, uint32_t *op, nnxr_error *err)
{
    const nnxr_model *m = &t->model;
    if (m->desc.kind != NNXR_MODEL_MLP)
        return nnxr_fail(err, "neuron surgery: only an mlp's hidden layers can change (this is "
                         "a %s)", m->desc.kind == NNXR_MODEL_CNN ? "cnn" : "vae");
    if (layer >= m->desc.n_hidden)
        return nnxr_fail(err, "neuron surgery: hidden layer %u does not exist (the mlp has %u "
                         "hidden layer%s, numbered from 0)", layer, m->desc.n_hidden,
                         m->desc.n_hidden == 1 ? "" : "s");
    *op = layer; /* an mlp's ops are its dense layers in order */
    return true;
}

uint32_t nnxr_trainer_hidden_layers(const nnxr_trainer *t, uint32_t *widths, uint32_t max)
{
    const nnxr_model *m = &t->model;
    if (m->desc.kind != NNXR_MODEL_MLP)
        return 0;
    for (uint32_t i = 0; i < m->desc.n_hidden && i < max; i++)
        widths[i] = m->desc.hidden[i];
    return m->desc.n_hidden;
}

/* Copies one dense layer's W and b from the old layout to the new one. rows[r] / cols[c] give
 * the old index of new row r / column c, or -1 for a new one (left as it is in dst). */
static void remap_dense(const nnxr_model_op *o, const nnxr_model_op *n, const float *src,
                        float *dst, const int32_t *rows, const int32_t *cols)
{
    for (uint32_t r = 0; r < n->out_size; r++) {
        if (rows[r] < 0)
            continue;
        for (uint32_t c = 0; c < n->in_size; c++)
            if (cols[c] >= 0)
                dst[n->w_offset + (size_t)r * n->in_size + c] =
                    src[o->w_offset + (size_t)rows[r] * o->in_size + (uint32_t)cols[c]];
        dst[n->b_offset + r] = src[o->b_offset + (uint32_t)rows[r]];
    }
}

/* Rebuilds with hidden layer `layer` resized: `removed` >= 0 drops that neuron, else one is
 * appended. */
static bool resize(nnxr_trainer *t, uint32_t layer, int64_t removed, nnxr_error *err)
{
    const nnxr_model old = t->model;
    nnxr_model_desc desc = old.desc;
    if (removed >= 0)
        desc.hidden[layer]--;
    else
        desc.hidden[layer]++;
    nnxr_model nm;
    if (!nnxr_model_build(&desc, &nm, err))
        return false;
    size_t po = old.param_count, pn = nm.param_count;
    float *ob = malloc(po * 12);
    float *nb = calloc(pn * 3, sizeof *nb);
    uint32_t widest = 0;
    for (uint32_t i = 0; i < nm.chains[0].n_ops; i++) {
        const nnxr_model_op *op = &nm.chains[0].ops[i];
        if (op->in_size > widest)
            widest = op->in_size;
        if (op->out_size > widest)
            widest = op->out_size;
    }
    int32_t *rows = malloc(((size_t)widest + 1) * 4), *cols = malloc(((size_t)widest + 1) * 4);
    bool ok = ob && nb && rows && cols;
    if (!ok)
        nnxr_fail(err, "neuron surgery: out of memory");
    ok = ok && nnxr_buffer_readback(t->gpu, t->params, 0, ob, po * 12, err);
    for (uint32_t i = 0; ok && i < nm.chains[0].n_ops; i++) {
        const nnxr_model_op *o = &old.chains[0].ops[i], *n = &nm.chains[0].ops[i];
        /* Old index of each new row / column: identity, minus the removed one, plus a new
         * last one. */
        for (uint32_t r = 0; r < n->out_size; r++) {
            int64_t v = r;
            if (i == layer && removed >= 0 && r >= removed)
                v = r + 1;
            if (i == layer && removed < 0 && r == o->out_size)
                v = -1;
            rows[r] = (int32_t)v;
        }
        for (uint32_t c = 0; c < n->in_size; c++) {
            int64_t v = c;
            if (i == layer + 1 && removed >= 0 && c >= removed)
                v = c + 1;
            if (i == layer + 1 && removed < 0 && c == o->in_size)
                v = -1;
            cols[c] = (int32_t)v;
        }
        for (int a = 0; a < 3; a++)
            remap_dense(o, n, ob + a * po, nb + a * pn, rows, cols);
    }
    if (ok && removed < 0) {
        /* The new neuron: last row of layer `layer`, last column of layer `layer + 1`. */
        const nnxr_model_op *in = &nm.chains[0].ops[layer], *out = &nm.chains[0].ops[layer + 1];
        uint32_t idx = in->out_size - 1;
        double a1 = NEW_WEIGHT_SCALE * nnxr_ref_glorot_limit((int)in->in_size, (int)in->out_size);
        double a2 = NEW_WEIGHT_SCALE * nnxr_ref_glorot_limit((int)out->in_size, (int)out->out_size);
        for (uint32_t c = 0; c < in->in_size; c++)
            nb[in->w_offset + (size_t)idx * in->in_size + c] =
                (float)nnxr_rng_uniform(&t->surgery_rng, -a1, a1);
        nb[in->b_offset + idx] = 0.0f;
        for (uint32_t r = 0; r < out->out_size; r++)
            nb[out->w_offset + (size_t)r * out->in_size + idx] =
                (float)nnxr_rng_uniform(&t->surgery_rng, -a2, a2);
    }
    ok = ok && tr_rebuild(t, &desc, nb, nb + pn, nb + 2 * pn, err);
    free(ob);
    free(nb);
    free(rows);
    free(cols);
    if (ok)
        NNXR_INFO("hidden layer %u now has %u neurons", layer, desc.hidden[layer]);
    return ok;
}

bool nnxr_trainer_add_neuron(nnxr_trainer *t, uint32_t layer, nnxr_error *err)
{
    uint32_t op;
    if (!tr_surgery_layer(t, layer, &op, err))
        return false;
    if (t->model.desc.hidden[layer] >= (1u << 20))
        return nnxr_fail(err, "add_neuron: hidden layer %u already has %u neurons", layer,
                         t->model.desc.hidden[layer]);
    return resize(t, layer, -1, err);
}

bool nnxr_trainer_remove_neuron(nnxr_trainer *t, uint32_t layer, uint32_t index,
                                nnxr_error *err)
{
    uint32_t op;
    if (!tr_surgery_layer(t, layer, &op, err))
        return false;
    uint32_t width = t->model.desc.hidden[layer];
    if (index >= width)
        return nnxr_fail(err, "remove_neuron: hidden layer %u has %u neurons, no index %u",
                         layer, width, index);
    if (width <= 1)
        return nnxr_fail(err, "remove_neuron: hidden layer %u has only one neuron left", layer);
    return resize(t, layer, index, err);
}

bool nnxr_trainer_set_neuron_weights(nnxr_trainer *t, uint32_t layer, uint32_t index,
                                     const float *values, size_t count, nnxr_error *err)
{
    uint32_t opi;
    if (!tr_surgery_layer(t, layer, &opi, err))
        return false;
    const nnxr_model_op *in = &t->model.chains[0].ops[opi], *out = &t->model.chains[0].ops[opi + 1];
    if (index >= in->out_size)
        return nnxr_fail(err, "set_weights: hidden layer %u has %u neurons, no index %u", layer,
                         in->out_size, index);
    size_t want = (size_t)in->in_size + out->out_size;
    if (!values || count != want)
        return nnxr_fail(err, "set_weights: neuron %u of hidden layer %u has %u incoming and %u "
                         "outgoing weights: expected %zu values, got %zu", index, layer,
                         in->in_size, out->out_size, want, count);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(values[i]))
            return nnxr_fail(err, "set_weights: value %zu is not finite", i);
    if (!nnxr_buffer_upload(t->gpu, t->params,
                            (in->w_offset + (VkDeviceSize)index * in->in_size) * 4, values,
                            (VkDeviceSize)in->in_size * 4, err))
        return false;
    size_t n = out->w_count;
    float *w = malloc(n * 4);
    if (!w)
        return nnxr_fail(err, "set_weights: out of memory");
    bool ok = nnxr_buffer_readback(t->gpu, t->params, out->w_offset * 4, w, n * 4, err);
    for (uint32_t r = 0; ok && r < out->out_size; r++)
        w[(size_t)r * out->in_size + index] = values[in->in_size + r];
    ok = ok && nnxr_buffer_upload(t->gpu, t->params, out->w_offset * 4, w, n * 4, err);
    free(w);
    return ok;
}
