/* nn/model.c — model descriptions to GPU op chains: building mlp, cnn and vae layouts on top of
 * nn/ref's (so the flat parameter vector is the reference's), fusing each activation into the
 * dense or conv op before it, the scene's cnn layer words, initial weights, checkpoint tensor
 * names and FLOP counts. */
#include "nn/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

bool nnxr_model_act_parse(const char *name, nnxr_nn_act *out, nnxr_error *err)
{
    static const struct {
        const char *name;
        nnxr_nn_act act;
    } acts[] = {{"relu", NNXR_NN_RELU}, {"tanh", NNXR_NN_TANH}, {"sigmoid", NNXR_NN_SIGMOID},
                {"linear", NNXR_NN_LINEAR}};
    for (size_t i = 0; name && i < sizeof acts / sizeof acts[0]; i++)
        if (!strcmp(name, acts[i].name)) {
            *out = acts[i].act;
            return true;
        }
    return nnxr_fail(err, "activation \"%s\": expected relu, tanh, sigmoid or linear",
                     name ? name : "(none)");
}

const char *nnxr_model_act_name(nnxr_nn_act act)
{
    return nnxr_ref_act_name((nnxr_ref_act)act);
}

bool nnxr_model_cnn_words(const char *const *words, size_t n, nnxr_nn_act act,
                          nnxr_ref_layer_spec *specs, uint32_t *n_specs, nnxr_error *err)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];
        char *end;
        /* Each word adds up to two specs (the layer and its activation). */
        if (k + 2 > NNXR_REF_MAX_LAYERS - 2)
            return nnxr_fail(err, "cnn layers: more than %d layers", NNXR_REF_MAX_LAYERS - 2);
        if (!strcmp(w, "maxpool")) {
            specs[k++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_MAXPOOL};
            continue;
        }
        if (!strncmp(w, "fc", 2)) {
            long units = strtol(w + 2, &end, 10);
            if (end == w + 2 || *end || units < 1 || units > 65536)
                return nnxr_fail(err, "cnn layers: \"%s\" (word %zu): expected fcN with N in "
                                 "1..65536", w, i + 1);
            specs[k++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_DENSE, .units = (int)units};
        } else if (!strncmp(w, "conv", 4)) {
            long ch = strtol(w + 4, &end, 10), ks = 3;
            if (end == w + 4 || ch < 1 || ch > 4096)
                return nnxr_fail(err, "cnn layers: \"%s\" (word %zu): expected convN with N in "
                                 "1..4096", w, i + 1);
            if (*end) {
                const char *kp = end + 2;
                if (strncmp(end, "_k", 2) || (ks = strtol(kp, &end, 10)) < 1 || ks > 15 ||
                    *end || end == kp || ks % 2 == 0)
                    return nnxr_fail(err, "cnn layers: \"%s\" (word %zu): expected convN_kK "
                                     "with an odd K in 1..15", w, i + 1);
            }
            specs[k++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_CONV2D, .units = (int)ch,
                                               .k = (int)ks, .pad = NNXR_REF_PAD_SAME};
        } else {
            return nnxr_fail(err, "cnn layers: \"%s\" (word %zu): expected convN, convN_kK, "
                             "maxpool or fcN", w, i + 1);
        }
        specs[k++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_ACT, .act = (nnxr_ref_act)act};
    }
    *n_specs = k;
    return true;
}

/* A ref net as fused ops. */
static bool chain_from_net(const nnxr_ref_net *net, nnxr_model_chain *c, const char *what,
                           nnxr_error *err)
{
    memset(c, 0, sizeof *c);
    c->in_size = (uint32_t)nnxr_ref_net_in_size(net);
    c->out_size = (uint32_t)nnxr_ref_net_out_size(net);
    c->out_act = NNXR_NN_LINEAR;
    for (int i = 0; i < net->n_layers; i++) {
        const nnxr_ref_layer *l = &net->layers[i];
        if (l->spec.kind == NNXR_REF_FLATTEN)
            continue;
        if (c->n_ops >= NNXR_MODEL_MAX_OPS)
            return nnxr_fail(err, "%s: more than %d operations", what, NNXR_MODEL_MAX_OPS);
        nnxr_model_op *op = &c->ops[c->n_ops++];
        op->in_c = (uint32_t)l->in_c;
        op->in_h = (uint32_t)l->in_h;
        op->in_w = (uint32_t)l->in_w;
        op->out_c = (uint32_t)l->out_c;
        op->out_h = (uint32_t)l->out_h;
        op->out_w = (uint32_t)l->out_w;
        op->in_size = op->in_c * op->in_h * op->in_w;
        op->out_size = op->out_c * op->out_h * op->out_w;
        op->w_offset = l->w_offset;
        op->w_count = l->w_count;
        op->b_offset = l->b_offset;
        op->b_count = l->b_count;
        op->act = NNXR_NN_LINEAR;
        switch (l->spec.kind) {
        case NNXR_REF_DENSE:
            op->kind = NNXR_OP_DENSE;
            /* Dense reads its input as a flat vector whatever shape came before. */
            op->in_c = op->in_size;
            op->in_h = op->in_w = 1;
            break;
        case NNXR_REF_CONV2D:
            op->kind = NNXR_OP_CONV;
            op->k = (uint32_t)l->spec.k;
            op->pad = l->spec.pad == NNXR_REF_PAD_SAME ? NNXR_NN_PAD_SAME : NNXR_NN_PAD_VALID;
            break;
        case NNXR_REF_MAXPOOL: op->kind = NNXR_OP_POOL; break;
        case NNXR_REF_ACT:
            op->kind = NNXR_OP_ACT;
            op->act = (nnxr_nn_act)l->spec.act;
            break;
        default: return nnxr_fail(err, "%s: layer %d has an unknown kind", what, i + 1);
        }
        /* An activation right after dense or conv is fused into it. */
        if ((op->kind == NNXR_OP_DENSE || op->kind == NNXR_OP_CONV) && i + 1 < net->n_layers &&
            net->layers[i + 1].spec.kind == NNXR_REF_ACT) {
            op->act = (nnxr_nn_act)net->layers[i + 1].spec.act;
            i++;
        }
        c->out_act = op->act;
    }
    /* A trailing flatten after an activation keeps that activation on the output. */
    return true;
}

static int to_ints(const uint32_t *in, uint32_t n, int *out)
{
    for (uint32_t i = 0; i < n; i++)
        out[i] = (int)in[i];
    return (int)n;
}

static bool check_widths(const char *what, const uint32_t *w, uint32_t n, nnxr_error *err)
{
    if (n > NNXR_MODEL_MAX_HIDDEN)
        return nnxr_fail(err, "%s: %u hidden layers, at most %d", what, n, NNXR_MODEL_MAX_HIDDEN);
    for (uint32_t i = 0; i < n; i++)
        if (w[i] < 1 || w[i] > (1u << 20))
            return nnxr_fail(err, "%s: hidden layer %u has %u units, expected 1..%u", what,
                             i + 1, w[i], 1u << 20);
    return true;
}

bool nnxr_model_build(const nnxr_model_desc *d, nnxr_model *m, nnxr_error *err)
{
    memset(m, 0, sizeof *m);
    m->desc = *d;
    if (d->in_c < 1 || d->in_h < 1 || d->in_w < 1)
        return nnxr_fail(err, "model: input shape %ux%ux%u, expected sizes >= 1", d->in_c,
                         d->in_h, d->in_w);
    if ((uint64_t)d->in_c * d->in_h * d->in_w > (1u << 24))
        return nnxr_fail(err, "model: input of %ux%ux%u is too large", d->in_c, d->in_h, d->in_w);
    if (d->act > NNXR_NN_SIGMOID)
        return nnxr_fail(err, "model: activation %d, expected relu, tanh, sigmoid or linear",
                         (int)d->act);
    m->in_size = d->in_c * d->in_h * d->in_w;
    int ints[NNXR_MODEL_MAX_HIDDEN], ints2[NNXR_MODEL_MAX_HIDDEN], ints3[NNXR_MODEL_MAX_HIDDEN];
    switch (d->kind) {
    case NNXR_MODEL_MLP: {
        if (!check_widths("mlp", d->hidden, d->n_hidden, err))
            return false;
        if (d->outputs < 1)
            return nnxr_fail(err, "mlp: %u outputs, expected >= 1", d->outputs);
        if (!d->regression && d->outputs < 2)
            return nnxr_fail(err, "mlp: a classifier needs >= 2 classes, got %u", d->outputs);
        nnxr_ref_mlp_config c = {.input = (int)m->in_size,
                                 .hidden = ints,
                                 .n_hidden = to_ints(d->hidden, d->n_hidden, ints),
                                 .act = (nnxr_ref_act)d->act,
                                 .output = (int)d->outputs,
                                 .loss = d->regression ? NNXR_REF_LOSS_MSE
                                                       : NNXR_REF_LOSS_SOFTMAX_CE};
        if (!nnxr_ref_mlp_build(&m->ref, &c, err))
            return false;
        break;
    }
    case NNXR_MODEL_CNN: {
        if (d->regression)
            return nnxr_fail(err, "cnn: regression is not offered (classification only)");
        if (d->outputs < 2)
            return nnxr_fail(err, "cnn: %u classes, expected >= 2", d->outputs);
        nnxr_ref_layer_spec specs[NNXR_REF_MAX_LAYERS];
        int n = 0;
        bool image = d->in_h > 1 || d->in_w > 1;
        for (uint32_t i = 0; i < d->n_layers; i++) {
            const nnxr_ref_layer_spec *s = &d->layers[i];
            if (s->kind == NNXR_REF_DENSE && image) {
                if (n >= NNXR_REF_MAX_LAYERS - 2)
                    return nnxr_fail(err, "cnn: more than %d layers", NNXR_REF_MAX_LAYERS - 2);
                specs[n++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_FLATTEN};
                image = false;
            }
            if (s->kind == NNXR_REF_FLATTEN)
                image = false;
            if (s->kind == NNXR_REF_CONV2D || s->kind == NNXR_REF_MAXPOOL) {
                if (!image && i > 0)
                    return nnxr_fail(err, "cnn: layer %u (%s) comes after a dense layer; conv "
                                     "and maxpool must come first", i + 1,
                                     s->kind == NNXR_REF_CONV2D ? "conv" : "maxpool");
            }
            if (n >= NNXR_REF_MAX_LAYERS - 2)
                return nnxr_fail(err, "cnn: more than %d layers", NNXR_REF_MAX_LAYERS - 2);
            specs[n++] = *s;
        }
        if (image)
            specs[n++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_FLATTEN};
        specs[n++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_DENSE, .units = (int)d->outputs};
        if (!nnxr_ref_cnn_build(&m->ref, (int)d->in_c, (int)d->in_h, (int)d->in_w, specs, n,
                                NNXR_REF_LOSS_SOFTMAX_CE, err))
            return nnxr_fail_prefix(err, "cnn");
        break;
    }
    case NNXR_MODEL_VAE: {
        if (!check_widths("vae encoder", d->enc, d->n_enc, err) ||
            !check_widths("vae decoder", d->dec, d->n_dec, err) ||
            !check_widths("vae classifier", d->cls, d->n_cls, err))
            return false;
        if (d->latent < 1 || d->latent > 64)
            return nnxr_fail(err, "vae: latent_dim %u, expected 1..64", d->latent);
        if (d->outputs == 1)
            return nnxr_fail(err, "vae: a classifier needs >= 2 classes, got 1");
        nnxr_ref_vae_config c = {.input = (int)m->in_size,
                                 .latent = (int)d->latent,
                                 .enc_hidden = ints,
                                 .n_enc_hidden = to_ints(d->enc, d->n_enc, ints),
                                 .dec_hidden = ints2,
                                 .n_dec_hidden = to_ints(d->dec, d->n_dec, ints2),
                                 .cls_hidden = ints3,
                                 .n_cls_hidden = to_ints(d->cls, d->n_cls, ints3),
                                 .classes = (int)d->outputs,
                                 .act = (nnxr_ref_act)d->act,
                                 .beta = d->beta,
                                 .cls_weight = d->cls_weight};
        if (!nnxr_ref_vae_build(&m->ref, &c, err))
            return false;
        break;
    }
    default: return nnxr_fail(err, "model: kind %d, expected mlp, cnn or vae", (int)d->kind);
    }
    m->param_count = m->ref.param_count;
    if (m->param_count == 0 || m->param_count > (1u << 28))
        return nnxr_fail(err, "model: %zu parameters, expected 1..%u", m->param_count, 1u << 28);
    if (d->kind == NNXR_MODEL_VAE) {
        const nnxr_ref_net *nets[NNXR_MODEL_CHAINS] = {&m->ref.enc, &m->ref.mu, &m->ref.logvar,
                                                       &m->ref.dec, &m->ref.cls};
        static const char *const names[NNXR_MODEL_CHAINS] = {
            "vae encoder", "vae mu head", "vae logvar head", "vae decoder", "vae classifier"};
        m->n_chains = m->ref.cls.n_layers > 0 ? 5 : 4;
        for (uint32_t i = 0; i < m->n_chains; i++)
            if (!chain_from_net(nets[i], &m->chains[i], names[i], err))
                return false;
        m->classes = (uint32_t)m->ref.classes;
        m->latent = (uint32_t)m->ref.latent;
        m->outputs = m->classes;
    } else {
        m->n_chains = 1;
        if (!chain_from_net(&m->ref.net, &m->chains[0], d->kind == NNXR_MODEL_MLP ? "mlp" : "cnn",
                            err))
            return false;
        m->outputs = m->chains[0].out_size;
        m->classes = d->regression ? 0 : m->outputs;
    }
    return true;
}

bool nnxr_model_init_params(const nnxr_model *m, uint64_t seed, float *params, nnxr_error *err)
{
    double *p = malloc(m->param_count * sizeof *p);
    if (!p)
        return nnxr_fail(err, "model init: no memory for %zu parameters", m->param_count);
    nnxr_ref_model_init(&m->ref, p, seed, NNXR_REF_INIT_AUTO);
    for (size_t i = 0; i < m->param_count; i++)
        params[i] = (float)p[i];
    free(p);
    return true;
}

void nnxr_model_weight_mask(const nnxr_model *m, uint8_t *is_weight)
{
    nnxr_ref_model_weight_mask(&m->ref, is_weight);
}

void nnxr_model_op_name(const nnxr_model *m, uint32_t chain, uint32_t op, char *name, size_t n)
{
    const nnxr_model_op *o = &m->chains[chain].ops[op];
    if (m->desc.kind == NNXR_MODEL_VAE) {
        static const char *const prefix[NNXR_MODEL_CHAINS] = {"enc", "mu", "logvar", "dec",
                                                              "cls"};
        if (chain == NNXR_CHAIN_MU || chain == NNXR_CHAIN_LOGVAR)
            snprintf(name, n, "%s", prefix[chain]);
        else
            snprintf(name, n, "%s%u", prefix[chain], op);
        return;
    }
    static const char *const kinds[] = {"dense", "conv", "pool", "act"};
    snprintf(name, n, "%s%u", kinds[o->kind], op);
}

uint32_t nnxr_model_tensors(const nnxr_model *m, nnxr_model_tensor *out, uint32_t max)
{
    uint32_t count = 0;
    for (uint32_t c = 0; c < m->n_chains; c++)
        for (uint32_t i = 0; i < m->chains[c].n_ops; i++) {
            const nnxr_model_op *o = &m->chains[c].ops[i];
            if (o->w_count == 0)
                continue;
            char base[24];
            nnxr_model_op_name(m, c, i, base, sizeof base);
            for (int part = 0; part < 2; part++) {
                if (count < max) {
                    nnxr_model_tensor *t = &out[count];
                    memset(t, 0, sizeof *t);
                    snprintf(t->name, sizeof t->name, "%s.%s", base, part ? "b" : "w");
                    t->offset = part ? o->b_offset : o->w_offset;
                    t->count = part ? o->b_count : o->w_count;
                    t->is_weight = part == 0;
                    if (part) {
                        t->ndim = 1;
                        t->shape[0] = o->b_count;
                    } else if (o->kind == NNXR_OP_CONV) {
                        t->ndim = 4;
                        t->shape[0] = o->out_c;
                        t->shape[1] = o->in_c;
                        t->shape[2] = o->k;
                        t->shape[3] = o->k;
                    } else {
                        t->ndim = 2;
                        t->shape[0] = o->out_c;
                        t->shape[1] = o->in_size;
                    }
                }
                count++;
            }
        }
    return count;
}

double nnxr_model_forward_macs(const nnxr_model *m)
{
    double macs = 0;
    for (uint32_t c = 0; c < m->n_chains; c++)
        for (uint32_t i = 0; i < m->chains[c].n_ops; i++) {
            const nnxr_model_op *o = &m->chains[c].ops[i];
            if (o->kind == NNXR_OP_DENSE)
                macs += (double)o->in_size * o->out_size;
            else if (o->kind == NNXR_OP_CONV)
                macs += (double)o->out_size * o->in_c * o->k * o->k;
        }
    return macs;
}
