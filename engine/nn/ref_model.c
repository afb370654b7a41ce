/* nn/ref_model.c — the CPU reference's sequential networks (layer lists, their parameter layout,
 * forward and backward), the layer-list parser, and the models built from them (mlp, cnn, vae
 * with a classifier head): initialisation, loss and gradient, prediction. The single layers are
 * in nn/ref_layers.c; the conventions are fixed in nn/ref.h. */
#include "nn/ref.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* ------------------------------------------------------------------ networks */

static size_t shape_size(int c, int h, int w)
{
    return (size_t)c * (size_t)h * (size_t)w;
}

static const char *kind_name(nnxr_ref_layer_kind k)
{
    switch (k) {
    case NNXR_REF_DENSE: return "dense";
    case NNXR_REF_CONV2D: return "conv";
    case NNXR_REF_MAXPOOL: return "maxpool";
    case NNXR_REF_FLATTEN: return "flatten";
    case NNXR_REF_ACT: return "activation";
    }
    return "unknown";
}

bool nnxr_ref_net_build(nnxr_ref_net *net, int in_c, int in_h, int in_w,
                        const nnxr_ref_layer_spec *specs, int n_specs, size_t param_offset,
                        nnxr_error *err)
{
    memset(net, 0, sizeof *net);
    if (in_c < 1 || in_h < 1 || in_w < 1 || shape_size(in_c, in_h, in_w) > INT_MAX)
        return nnxr_fail(err, "nn/ref net: input shape %dx%dx%d, expected sizes >= 1", in_c,
                         in_h, in_w);
    if (n_specs < 0 || n_specs > NNXR_REF_MAX_LAYERS)
        return nnxr_fail(err, "nn/ref net: %d layers, expected 0..%d", n_specs,
                         NNXR_REF_MAX_LAYERS);
    if (n_specs > 0 && !specs)
        return nnxr_fail(err, "nn/ref net: %d layers but no layer list", n_specs);
    net->in_c = in_c;
    net->in_h = in_h;
    net->in_w = in_w;
    net->param_offset = param_offset;
    int c = in_c, h = in_h, w = in_w;
    size_t off = param_offset, act = 0;
    for (int i = 0; i < n_specs; i++) {
        const nnxr_ref_layer_spec *s = &specs[i];
        nnxr_ref_layer *l = &net->layers[i];
        l->spec = *s;
        l->in_c = c;
        l->in_h = h;
        l->in_w = w;
        switch (s->kind) {
        case NNXR_REF_DENSE:
            if (h != 1 || w != 1)
                return nnxr_fail(err, "nn/ref net: layer %d (dense) gets a %dx%dx%d image; put "
                                 "a flatten before it", i + 1, c, h, w);
            if (s->units < 1)
                return nnxr_fail(err, "nn/ref net: layer %d (dense) has %d units, expected >= 1",
                                 i + 1, s->units);
            l->w_count = (size_t)s->units * c;
            l->b_count = (size_t)s->units;
            c = s->units;
            break;
        case NNXR_REF_CONV2D: {
            nnxr_ref_conv2d cv = {.batch = 1, .in_ch = c, .in_h = h, .in_w = w,
                                  .out_ch = s->units, .k = s->k, .pad = s->pad};
            int oh, ow;
            if (!nnxr_ref_conv2d_dims(&cv, &oh, &ow, NULL, err))
                return nnxr_fail_prefix(err, "layer %d", i + 1);
            l->w_count = (size_t)s->units * c * s->k * s->k;
            l->b_count = (size_t)s->units;
            c = s->units;
            h = oh;
            w = ow;
            break;
        }
        case NNXR_REF_MAXPOOL:
            if (h < 2 || w < 2)
                return nnxr_fail(err, "nn/ref net: layer %d (maxpool 2x2) gets a %dx%d image, "
                                 "expected at least 2x2", i + 1, h, w);
            h /= 2;
            w /= 2;
            break;
        case NNXR_REF_FLATTEN:
            c = c * h * w;
            h = w = 1;
            break;
        case NNXR_REF_ACT:
            if (s->act != NNXR_REF_LINEAR && s->act != NNXR_REF_RELU && s->act != NNXR_REF_TANH &&
                s->act != NNXR_REF_SIGMOID)
                return nnxr_fail(err, "nn/ref net: layer %d has activation %d, expected linear, "
                                 "relu, tanh or sigmoid", i + 1, (int)s->act);
            break;
        default:
            return nnxr_fail(err, "nn/ref net: layer %d has kind %d, expected dense, conv, "
                             "maxpool, flatten or an activation", i + 1, (int)s->kind);
        }
        if (shape_size(c, h, w) > INT_MAX || l->w_count > INT_MAX)
            return nnxr_fail(err, "nn/ref net: layer %d (%s) is too large", i + 1,
                             kind_name(s->kind));
        l->out_c = c;
        l->out_h = h;
        l->out_w = w;
        l->w_offset = off;
        off += l->w_count;
        l->b_offset = off;
        off += l->b_count;
        l->act_offset = act;
        act += shape_size(c, h, w);
    }
    net->n_layers = n_specs;
    net->param_count = off - param_offset;
    net->act_count = act;
    return true;
}

size_t nnxr_ref_net_in_size(const nnxr_ref_net *net)
{
    return shape_size(net->in_c, net->in_h, net->in_w);
}

size_t nnxr_ref_net_out_size(const nnxr_ref_net *net)
{
    if (net->n_layers == 0)
        return nnxr_ref_net_in_size(net);
    const nnxr_ref_layer *l = &net->layers[net->n_layers - 1];
    return shape_size(l->out_c, l->out_h, l->out_w);
}

/* The input of layer i (the net's input for i = 0). */
static const double *layer_input(const nnxr_ref_net *net, int i, int batch, const double *x,
                                 const double *acts)
{
    return i == 0 ? x : acts + (size_t)batch * net->layers[i - 1].act_offset;
}

/* The net's output: the last layer's acts, or x itself for the identity net. */
static const double *net_output(const nnxr_ref_net *net, int batch, const double *x,
                                const double *acts)
{
    return layer_input(net, net->n_layers, batch, x, acts);
}

static nnxr_ref_conv2d layer_conv(const nnxr_ref_layer *l, int batch)
{
    return (nnxr_ref_conv2d){.batch = batch, .in_ch = l->in_c, .in_h = l->in_h,
                             .in_w = l->in_w, .out_ch = l->out_c, .k = l->spec.k,
                             .pad = l->spec.pad};
}

void nnxr_ref_net_forward(const nnxr_ref_net *net, const double *params, int batch,
                          const double *x, double *acts)
{
    if (batch <= 0)
        return;
    for (int i = 0; i < net->n_layers; i++) {
        const nnxr_ref_layer *l = &net->layers[i];
        const double *in = layer_input(net, i, batch, x, acts);
        double *out = acts + (size_t)batch * l->act_offset;
        size_t out_count = (size_t)batch * shape_size(l->out_c, l->out_h, l->out_w);
        switch (l->spec.kind) {
        case NNXR_REF_DENSE:
            nnxr_ref_dense_forward(batch, l->in_c, l->out_c, in, params + l->w_offset,
                                   params + l->b_offset, out);
            break;
        case NNXR_REF_CONV2D: {
            nnxr_ref_conv2d cv = layer_conv(l, batch);
            nnxr_ref_conv2d_forward(&cv, in, params + l->w_offset, params + l->b_offset, out);
            break;
        }
        case NNXR_REF_MAXPOOL:
            nnxr_ref_maxpool_forward(batch, l->in_c, l->in_h, l->in_w, in, out);
            break;
        case NNXR_REF_FLATTEN:
            nnxr_ref_flatten_forward(out_count, in, out);
            break;
        case NNXR_REF_ACT:
            nnxr_ref_act_forward(l->spec.act, out_count, in, out);
            break;
        }
    }
}

static size_t max_layer_size(const nnxr_ref_net *net)
{
    size_t m = nnxr_ref_net_in_size(net);
    for (int i = 0; i < net->n_layers; i++) {
        const nnxr_ref_layer *l = &net->layers[i];
        size_t s = shape_size(l->out_c, l->out_h, l->out_w);
        if (s > m)
            m = s;
    }
    return m;
}

bool nnxr_ref_net_backward(const nnxr_ref_net *net, const double *params, int batch,
                           const double *x, const double *acts, const double *dout, double *grad,
                           double *dx, nnxr_error *err)
{
    if (batch <= 0)
        return true;
    if (net->n_layers == 0) {
        if (dx)
            memmove(dx, dout, sizeof *dx * (size_t)batch * nnxr_ref_net_in_size(net));
        return true;
    }
    size_t cap = (size_t)batch * max_layer_size(net);
    double *buf = malloc(2 * cap * sizeof *buf);
    if (!buf)
        return nnxr_fail(err, "nn/ref net backward: no memory for %zu doubles", 2 * cap);
    const double *dcur = dout;
    int side = 0;
    for (int i = net->n_layers - 1; i >= 0; i--) {
        const nnxr_ref_layer *l = &net->layers[i];
        const double *in = layer_input(net, i, batch, x, acts);
        double *dnext = i == 0 ? dx : buf + (size_t)side * cap;
        side ^= 1;
        double *dw = grad ? grad + l->w_offset : NULL;
        double *db = grad ? grad + l->b_offset : NULL;
        size_t in_count = (size_t)batch * shape_size(l->in_c, l->in_h, l->in_w);
        switch (l->spec.kind) {
        case NNXR_REF_DENSE:
            nnxr_ref_dense_backward(batch, l->in_c, l->out_c, in, params + l->w_offset, dcur,
                                    dnext, dw, db);
            break;
        case NNXR_REF_CONV2D: {
            nnxr_ref_conv2d cv = layer_conv(l, batch);
            nnxr_ref_conv2d_backward(&cv, in, params + l->w_offset, dcur, dnext, dw, db);
            break;
        }
        case NNXR_REF_MAXPOOL:
            if (dnext)
                nnxr_ref_maxpool_backward(batch, l->in_c, l->in_h, l->in_w, in, dcur, dnext);
            break;
        case NNXR_REF_FLATTEN:
            if (dnext)
                nnxr_ref_flatten_backward(in_count, dcur, dnext);
            break;
        case NNXR_REF_ACT:
            if (dnext)
                nnxr_ref_act_backward(l->spec.act, in_count, in, dcur, dnext);
            break;
        }
        dcur = dnext;
    }
    free(buf);
    return true;
}

/* ------------------------------------------------------------------ the layer-list parser */

static const char *skip_space(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* Reads the arguments "(a, b, ...)" as words into args (each up to 15 chars). */
static bool parse_args(const char **pp, char args[][16], int max, int *n, const char *text,
                       nnxr_error *err)
{
    const char *p = skip_space(*pp);
    *n = 0;
    if (*p != '(')
        return true;
    p++;
    for (;;) {
        p = skip_space(p);
        size_t len = 0;
        while (isalnum((unsigned char)p[len]) || p[len] == '_')
            len++;
        if (len == 0 || len >= 16 || *n >= max)
            return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, expected an argument "
                             "(a number or same/valid)", text, (int)(p - text) + 1);
        memcpy(args[*n], p, len);
        args[*n][len] = '\0';
        (*n)++;
        p = skip_space(p + len);
        if (*p == ')') {
            *pp = p + 1;
            return true;
        }
        if (*p != ',')
            return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, expected ',' or ')'",
                             text, (int)(p - text) + 1);
        p++;
    }
}

static bool parse_count(const char *word, int *out)
{
    char *end;
    long v = strtol(word, &end, 10);
    if (*word == '\0' || *end != '\0' || v < 1 || v > 1 << 20)
        return false;
    *out = (int)v;
    return true;
}

bool nnxr_ref_layers_parse(const char *text, nnxr_ref_layer_spec *specs, int max_specs,
                           int *n_specs, nnxr_error *err)
{
    *n_specs = 0;
    if (!text)
        return nnxr_fail(err, "nn/ref layers: no text");
    const char *p = skip_space(text);
    if (*p == '\0')
        return nnxr_fail(err, "nn/ref layers: empty list");
    for (;;) {
        p = skip_space(p);
        const char *start = p;
        size_t len = 0;
        while (isalnum((unsigned char)p[len]) || p[len] == '_')
            len++;
        char name[16] = {0};
        if (len == 0 || len >= sizeof name)
            return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, expected a layer name",
                             text, (int)(p - text) + 1);
        memcpy(name, p, len);
        p += len;
        char args[3][16];
        int nargs;
        if (!parse_args(&p, args, 3, &nargs, text, err))
            return false;
        if (*n_specs >= max_specs)
            return nnxr_fail(err, "nn/ref layers \"%s\": more than %d layers", text, max_specs);
        nnxr_ref_layer_spec s = {0};
        int col = (int)(start - text) + 1;
        if (!strcmp(name, "conv")) {
            s.kind = NNXR_REF_CONV2D;
            s.pad = NNXR_REF_PAD_SAME;
            if (nargs < 2 || !parse_count(args[0], &s.units) || !parse_count(args[1], &s.k))
                return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, expected "
                                 "conv(channels, kernel[, same|valid])", text, col);
            if (nargs == 3) {
                if (!strcmp(args[2], "same"))
                    s.pad = NNXR_REF_PAD_SAME;
                else if (!strcmp(args[2], "valid"))
                    s.pad = NNXR_REF_PAD_VALID;
                else
                    return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, padding \"%s\", "
                                     "expected same or valid", text, col, args[2]);
            }
        } else if (!strcmp(name, "dense")) {
            s.kind = NNXR_REF_DENSE;
            if (nargs != 1 || !parse_count(args[0], &s.units))
                return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, expected dense(units)",
                                 text, col);
        } else {
            if (nargs != 0)
                return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, %s takes no "
                                 "arguments", text, col, name);
            s.kind = NNXR_REF_ACT;
            if (!strcmp(name, "maxpool"))
                s.kind = NNXR_REF_MAXPOOL;
            else if (!strcmp(name, "flatten"))
                s.kind = NNXR_REF_FLATTEN;
            else if (!strcmp(name, "relu"))
                s.act = NNXR_REF_RELU;
            else if (!strcmp(name, "tanh"))
                s.act = NNXR_REF_TANH;
            else if (!strcmp(name, "sigmoid"))
                s.act = NNXR_REF_SIGMOID;
            else if (!strcmp(name, "linear"))
                s.act = NNXR_REF_LINEAR;
            else
                return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, unknown layer \"%s\" "
                                 "(expected conv, dense, maxpool, flatten, relu, tanh, sigmoid "
                                 "or linear)", text, col, name);
        }
        specs[(*n_specs)++] = s;
        p = skip_space(p);
        if (*p == '\0')
            return true;
        if (*p != '-')
            return nnxr_fail(err, "nn/ref layers \"%s\": at column %d, expected '-' between "
                             "layers", text, (int)(p - text) + 1);
        p++;
    }
}

/* ------------------------------------------------------------------ models */

/* dense(h1)-act-...-dense(hn)-act into specs, plus dense(out) when out > 0; the count. */
static int dense_stack(nnxr_ref_layer_spec *specs, const int *hidden, int n_hidden,
                       nnxr_ref_act act, int out)
{
    int n = 0;
    for (int i = 0; i < n_hidden; i++) {
        specs[n++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_DENSE, .units = hidden[i]};
        specs[n++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_ACT, .act = act};
    }
    if (out > 0)
        specs[n++] = (nnxr_ref_layer_spec){.kind = NNXR_REF_DENSE, .units = out};
    return n;
}

static bool check_hidden(const char *what, const int *hidden, int n_hidden, nnxr_error *err)
{
    if (n_hidden < 0 || n_hidden > (NNXR_REF_MAX_LAYERS - 1) / 2)
        return nnxr_fail(err, "nn/ref %s: %d hidden layers, expected 0..%d", what, n_hidden,
                         (NNXR_REF_MAX_LAYERS - 1) / 2);
    if (n_hidden > 0 && !hidden)
        return nnxr_fail(err, "nn/ref %s: %d hidden layers but no sizes", what, n_hidden);
    for (int i = 0; i < n_hidden; i++)
        if (hidden[i] < 1)
            return nnxr_fail(err, "nn/ref %s: hidden layer %d has %d units, expected >= 1", what,
                             i + 1, hidden[i]);
    return true;
}

bool nnxr_ref_mlp_build(nnxr_ref_model *m, const nnxr_ref_mlp_config *cfg, nnxr_error *err)
{
    memset(m, 0, sizeof *m);
    if (!check_hidden("mlp", cfg->hidden, cfg->n_hidden, err))
        return false;
    if (cfg->input < 1 || cfg->output < 1)
        return nnxr_fail(err, "nn/ref mlp: input %d and output %d, expected both >= 1",
                         cfg->input, cfg->output);
    nnxr_ref_layer_spec specs[NNXR_REF_MAX_LAYERS];
    int n = dense_stack(specs, cfg->hidden, cfg->n_hidden, cfg->act, cfg->output);
    if (!nnxr_ref_cnn_build(m, cfg->input, 1, 1, specs, n, cfg->loss, err))
        return nnxr_fail_prefix(err, "mlp");
    return true;
}

bool nnxr_ref_cnn_build(nnxr_ref_model *m, int in_c, int in_h, int in_w,
                        const nnxr_ref_layer_spec *specs, int n_specs, nnxr_ref_loss loss,
                        nnxr_error *err)
{
    memset(m, 0, sizeof *m);
    if (loss != NNXR_REF_LOSS_SOFTMAX_CE && loss != NNXR_REF_LOSS_MSE)
        return nnxr_fail(err, "nn/ref model: loss %d, expected softmax-CE or MSE", (int)loss);
    if (n_specs < 1)
        return nnxr_fail(err, "nn/ref model: no layers");
    if (!nnxr_ref_net_build(&m->net, in_c, in_h, in_w, specs, n_specs, 0, err))
        return false;
    const nnxr_ref_layer *last = &m->net.layers[n_specs - 1];
    if (last->out_h != 1 || last->out_w != 1)
        return nnxr_fail(err, "nn/ref model: the output is a %dx%dx%d image, expected a flat "
                         "vector (end with flatten or dense)", last->out_c, last->out_h,
                         last->out_w);
    m->kind = NNXR_REF_MODEL_SEQ;
    m->loss = loss;
    m->param_count = m->net.param_count;
    return true;
}

bool nnxr_ref_vae_build(nnxr_ref_model *m, const nnxr_ref_vae_config *cfg, nnxr_error *err)
{
    memset(m, 0, sizeof *m);
    int d = cfg->latent ? cfg->latent : 3;
    if (cfg->input < 1 || d < 1 || cfg->classes < 0)
        return nnxr_fail(err, "nn/ref vae: input %d, latent %d, classes %d; expected input and "
                         "latent >= 1, classes >= 0", cfg->input, d, cfg->classes);
    if (!isfinite(cfg->beta) || !isfinite(cfg->cls_weight))
        return nnxr_fail(err, "nn/ref vae: beta and cls_weight must be finite");
    if (!check_hidden("vae encoder", cfg->enc_hidden, cfg->n_enc_hidden, err) ||
        !check_hidden("vae decoder", cfg->dec_hidden, cfg->n_dec_hidden, err) ||
        !check_hidden("vae classifier", cfg->cls_hidden, cfg->n_cls_hidden, err))
        return false;
    nnxr_ref_layer_spec specs[NNXR_REF_MAX_LAYERS];
    size_t off = 0;
    int n = dense_stack(specs, cfg->enc_hidden, cfg->n_enc_hidden, cfg->act, 0);
    if (!nnxr_ref_net_build(&m->enc, cfg->input, 1, 1, specs, n, off, err))
        return nnxr_fail_prefix(err, "vae encoder");
    off += m->enc.param_count;
    int h = (int)nnxr_ref_net_out_size(&m->enc);
    nnxr_ref_layer_spec head = {.kind = NNXR_REF_DENSE, .units = d};
    if (!nnxr_ref_net_build(&m->mu, h, 1, 1, &head, 1, off, err))
        return nnxr_fail_prefix(err, "vae mu head");
    off += m->mu.param_count;
    if (!nnxr_ref_net_build(&m->logvar, h, 1, 1, &head, 1, off, err))
        return nnxr_fail_prefix(err, "vae logvar head");
    off += m->logvar.param_count;
    n = dense_stack(specs, cfg->dec_hidden, cfg->n_dec_hidden, cfg->act, cfg->input);
    if (!nnxr_ref_net_build(&m->dec, d, 1, 1, specs, n, off, err))
        return nnxr_fail_prefix(err, "vae decoder");
    off += m->dec.param_count;
    if (cfg->classes > 0) {
        n = dense_stack(specs, cfg->cls_hidden, cfg->n_cls_hidden, cfg->act, cfg->classes);
        if (!nnxr_ref_net_build(&m->cls, d, 1, 1, specs, n, off, err))
            return nnxr_fail_prefix(err, "vae classifier");
        off += m->cls.param_count;
    }
    m->kind = NNXR_REF_MODEL_VAE;
    m->input = cfg->input;
    m->latent = d;
    m->classes = cfg->classes;
    m->beta = cfg->beta;
    m->cls_weight = cfg->cls_weight;
    m->param_count = off;
    return true;
}

/* The model's nets in flat-vector order; their count. */
static int model_nets(const nnxr_ref_model *m, const nnxr_ref_net *nets[5])
{
    if (m->kind == NNXR_REF_MODEL_SEQ) {
        nets[0] = &m->net;
        return 1;
    }
    nets[0] = &m->enc;
    nets[1] = &m->mu;
    nets[2] = &m->logvar;
    nets[3] = &m->dec;
    nets[4] = &m->cls;
    return 5;
}

void nnxr_ref_model_init(const nnxr_ref_model *m, double *params, uint64_t seed,
                         nnxr_ref_init how)
{
    nnxr_ref_rng rng;
    nnxr_ref_rng_seed(&rng, seed);
    const nnxr_ref_net *nets[5];
    int nn = model_nets(m, nets);
    for (int k = 0; k < nn; k++)
        for (int i = 0; i < nets[k]->n_layers; i++) {
            const nnxr_ref_layer *l = &nets[k]->layers[i];
            if (l->w_count == 0)
                continue;
            int kk = l->spec.kind == NNXR_REF_CONV2D ? l->spec.k * l->spec.k : 1;
            int fan_in = l->in_c * kk, fan_out = l->out_c * kk;
            bool relu_next = i + 1 < nets[k]->n_layers &&
                             nets[k]->layers[i + 1].spec.kind == NNXR_REF_ACT &&
                             nets[k]->layers[i + 1].spec.act == NNXR_REF_RELU;
            bool he = how == NNXR_REF_INIT_HE || (how == NNXR_REF_INIT_AUTO && relu_next);
            double limit = he ? nnxr_ref_he_limit(fan_in) : nnxr_ref_glorot_limit(fan_in, fan_out);
            nnxr_ref_init_uniform(&rng, l->w_count, limit, params + l->w_offset);
            memset(params + l->b_offset, 0, sizeof *params * l->b_count);
        }
}

void nnxr_ref_model_weight_mask(const nnxr_ref_model *m, uint8_t *is_weight)
{
    memset(is_weight, 0, m->param_count);
    const nnxr_ref_net *nets[5];
    int nn = model_nets(m, nets);
    for (int k = 0; k < nn; k++)
        for (int i = 0; i < nets[k]->n_layers; i++) {
            const nnxr_ref_layer *l = &nets[k]->layers[i];
            memset(is_weight + l->w_offset, 1, l->w_count);
        }
}

/* Forward buffers of one batch for the VAE: every intermediate, one allocation. */
typedef struct vae_bufs {
    double *block;
    double *enc_acts, *mu_acts, *lv_acts, *z, *dec_acts, *cls_acts;
    const double *h, *mu, *logvar, *recon, *logits; /* views into the above (or x) */
} vae_bufs;

static bool vae_alloc(const nnxr_ref_model *m, int n, vae_bufs *v, nnxr_error *err)
{
    size_t sizes[6] = {m->enc.act_count, m->mu.act_count, m->logvar.act_count,
                       (size_t)m->latent, m->dec.act_count, m->cls.act_count};
    size_t total = 0;
    for (int i = 0; i < 6; i++)
        total += sizes[i] * (size_t)n;
    memset(v, 0, sizeof *v);
    v->block = malloc((total ? total : 1) * sizeof(double));
    if (!v->block)
        return nnxr_fail(err, "nn/ref vae: no memory for %zu doubles", total);
    double *p = v->block;
    double **dst[6] = {&v->enc_acts, &v->mu_acts, &v->lv_acts, &v->z, &v->dec_acts, &v->cls_acts};
    for (int i = 0; i < 6; i++) {
        *dst[i] = p;
        p += sizes[i] * (size_t)n;
    }
    return true;
}

/* The encoder and both heads; with eps also z and the decoder; the classifier when it exists. */
static void vae_run(const nnxr_ref_model *m, const double *params, int n, const double *x,
                    const double *eps, vae_bufs *v)
{
    nnxr_ref_net_forward(&m->enc, params, n, x, v->enc_acts);
    v->h = net_output(&m->enc, n, x, v->enc_acts);
    nnxr_ref_net_forward(&m->mu, params, n, v->h, v->mu_acts);
    nnxr_ref_net_forward(&m->logvar, params, n, v->h, v->lv_acts);
    v->mu = net_output(&m->mu, n, v->h, v->mu_acts);
    v->logvar = net_output(&m->logvar, n, v->h, v->lv_acts);
    if (eps) {
        nnxr_ref_reparam_forward(n, m->latent, v->mu, v->logvar, eps, v->z);
        nnxr_ref_net_forward(&m->dec, params, n, v->z, v->dec_acts);
        v->recon = net_output(&m->dec, n, v->z, v->dec_acts);
    }
    if (m->cls.n_layers > 0) {
        nnxr_ref_net_forward(&m->cls, params, n, v->mu, v->cls_acts);
        v->logits = net_output(&m->cls, n, v->mu, v->cls_acts);
    }
}

static bool vae_loss_grad(const nnxr_ref_model *m, const double *params, const nnxr_ref_batch *b,
                          nnxr_ref_loss_parts *loss, double *grad, nnxr_error *err)
{
    int n = b->n, d = m->latent;
    if (!b->eps)
        return nnxr_fail(err, "nn/ref vae loss: the batch has no eps");
    if (m->cls.n_layers > 0 && !b->labels)
        return nnxr_fail(err, "nn/ref vae loss: the model has a classifier but the batch has no "
                         "labels");
    vae_bufs v;
    if (!vae_alloc(m, n, &v, err))
        return false;
    vae_run(m, params, n, b->x, b->eps, &v);
    size_t nd = (size_t)n * d, nx = (size_t)n * m->input;
    size_t nc = (size_t)n * (m->classes > 0 ? m->classes : 0);
    size_t nh = (size_t)n * nnxr_ref_net_out_size(&m->enc);
    /* Gradient scratch: recon, z, mu, logvar, logits, h (from mu head), h (from logvar head). */
    double *g = calloc(nx + 3 * nd + nc + 2 * nh + 1, sizeof *g);
    if (!g) {
        free(v.block);
        return nnxr_fail(err, "nn/ref vae loss: no memory for the gradients");
    }
    double *drecon = g, *dz = drecon + nx, *dmu = dz + nd, *dlv = dmu + nd, *dlog = dlv + nd;
    double *dh = dlog + nc, *dh2 = dh + nh;
    bool ok = true;
    double ce = 0.0;
    if (m->cls.n_layers > 0)
        ok = nnxr_ref_softmax_ce(n, m->classes, v.logits, b->labels, b->mask, &ce,
                                 grad ? dlog : NULL, err);
    if (ok) {
        double bce = nnxr_ref_bce_logits(n, m->input, v.recon, b->x, grad ? drecon : NULL);
        double kl = nnxr_ref_kl(n, d, v.mu, v.logvar, m->beta, grad ? dmu : NULL,
                                grad ? dlv : NULL);
        *loss = (nnxr_ref_loss_parts){.total = bce + kl + m->cls_weight * ce, .data = bce,
                                      .kl = kl, .cls = ce};
    }
    if (ok && grad) {
        memset(grad, 0, sizeof *grad * m->param_count);
        ok = nnxr_ref_net_backward(&m->dec, params, n, v.z, v.dec_acts, drecon, grad, dz, err);
        nnxr_ref_reparam_backward(n, d, v.logvar, b->eps, dz, dmu, dlv);
        if (ok && m->cls.n_layers > 0) {
            /* The classifier reads mu, so its gradient joins mu's (reparam + KL) here; dz is
             * free again once the reparameterisation has consumed it. */
            for (size_t i = 0; i < nc; i++)
                dlog[i] *= m->cls_weight;
            ok = nnxr_ref_net_backward(&m->cls, params, n, v.mu, v.cls_acts, dlog, grad, dz,
                                       err);
            for (size_t i = 0; i < nd; i++)
                dmu[i] += dz[i];
        }
        ok = ok && nnxr_ref_net_backward(&m->mu, params, n, v.h, v.mu_acts, dmu, grad, dh, err);
        ok = ok &&
             nnxr_ref_net_backward(&m->logvar, params, n, v.h, v.lv_acts, dlv, grad, dh2, err);
        for (size_t i = 0; ok && i < nh; i++)
            dh[i] += dh2[i];
        ok = ok && nnxr_ref_net_backward(&m->enc, params, n, b->x, v.enc_acts, dh, grad, NULL,
                                         err);
    }
    free(g);
    free(v.block);
    return ok;
}

static bool seq_loss_grad(const nnxr_ref_model *m, const double *params, const nnxr_ref_batch *b,
                          nnxr_ref_loss_parts *loss, double *grad, nnxr_error *err)
{
    int n = b->n;
    if (m->loss == NNXR_REF_LOSS_SOFTMAX_CE && !b->labels)
        return nnxr_fail(err, "nn/ref model loss: softmax-CE needs labels");
    if (m->loss == NNXR_REF_LOSS_MSE && !b->targets)
        return nnxr_fail(err, "nn/ref model loss: MSE needs targets");
    size_t outs = nnxr_ref_net_out_size(&m->net);
    double *acts = malloc(((size_t)n * (m->net.act_count + outs) + 1) * sizeof *acts);
    if (!acts)
        return nnxr_fail(err, "nn/ref model loss: no memory for the activations");
    double *dout = acts + (size_t)n * m->net.act_count;
    nnxr_ref_net_forward(&m->net, params, n, b->x, acts);
    const double *y = net_output(&m->net, n, b->x, acts);
    double value = 0.0;
    bool ok = true;
    if (m->loss == NNXR_REF_LOSS_SOFTMAX_CE)
        ok = nnxr_ref_softmax_ce(n, (int)outs, y, b->labels, b->mask, &value, dout, err);
    else
        value = nnxr_ref_mse(n, (int)outs, y, b->targets, dout);
    if (ok)
        *loss = (nnxr_ref_loss_parts){.total = value, .data = value};
    if (ok && grad) {
        memset(grad, 0, sizeof *grad * m->param_count);
        ok = nnxr_ref_net_backward(&m->net, params, n, b->x, acts, dout, grad, NULL, err);
    }
    free(acts);
    return ok;
}

bool nnxr_ref_model_loss_grad(const nnxr_ref_model *m, const double *params,
                              const nnxr_ref_batch *b, nnxr_ref_loss_parts *loss, double *grad,
                              nnxr_error *err)
{
    if (!b || b->n < 1 || !b->x)
        return nnxr_fail(err, "nn/ref model loss: the batch needs n >= 1 samples and x");
    if (m->kind == NNXR_REF_MODEL_VAE)
        return vae_loss_grad(m, params, b, loss, grad, err);
    if (m->kind == NNXR_REF_MODEL_SEQ)
        return seq_loss_grad(m, params, b, loss, grad, err);
    return nnxr_fail(err, "nn/ref model loss: unknown model kind %d", (int)m->kind);
}

bool nnxr_ref_vae_forward(const nnxr_ref_model *m, const double *params, int n, const double *x,
                          const double *eps, double *mu, double *logvar, double *z,
                          double *recon_logits, double *class_logits, nnxr_error *err)
{
    if (m->kind != NNXR_REF_MODEL_VAE)
        return nnxr_fail(err, "nn/ref vae forward: the model is not a vae");
    if (n < 1 || !x)
        return nnxr_fail(err, "nn/ref vae forward: need n >= 1 samples and x");
    if ((z || recon_logits) && !eps)
        return nnxr_fail(err, "nn/ref vae forward: z and the reconstruction need eps");
    if (class_logits && m->cls.n_layers == 0)
        return nnxr_fail(err, "nn/ref vae forward: the model has no classifier");
    vae_bufs v;
    if (!vae_alloc(m, n, &v, err))
        return false;
    vae_run(m, params, n, x, (z || recon_logits) ? eps : NULL, &v);
    size_t nd = (size_t)n * m->latent;
    if (mu)
        memcpy(mu, v.mu, sizeof *mu * nd);
    if (logvar)
        memcpy(logvar, v.logvar, sizeof *logvar * nd);
    if (z)
        memcpy(z, v.z, sizeof *z * nd);
    if (recon_logits)
        memcpy(recon_logits, v.recon, sizeof *recon_logits * (size_t)n * m->input);
    if (class_logits)
        memcpy(class_logits, v.logits, sizeof *class_logits * (size_t)n * m->classes);
    free(v.block);
    return true;
}

bool nnxr_ref_model_predict(const nnxr_ref_model *m, const double *params, int n,
                            const double *x, double *out, nnxr_error *err)
{
    if (m->kind == NNXR_REF_MODEL_VAE)
        return nnxr_ref_vae_forward(m, params, n, x, NULL, NULL, NULL, NULL, NULL, out, err);
    if (n < 1 || !x)
        return nnxr_fail(err, "nn/ref predict: need n >= 1 samples and x");
    double *acts = malloc(((size_t)n * m->net.act_count + 1) * sizeof *acts);
    if (!acts)
        return nnxr_fail(err, "nn/ref predict: no memory for the activations");
    nnxr_ref_net_forward(&m->net, params, n, x, acts);
    memcpy(out, net_output(&m->net, n, x, acts),
           sizeof *out * (size_t)n * nnxr_ref_net_out_size(&m->net));
    free(acts);
    return true;
}
