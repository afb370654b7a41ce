/* nn/train_data.c — from a scene to what the trainer takes: the [dataset] loaded into host
 * arrays (Fashion-MNIST or any MNIST-format folder with a subset and a validation carve, or a
 * TensorFlow Playground set with its feature map), and [model] + [train] as a
 * nnxr_train_config. */
#include "nn/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/scene.h"
#include "core/fs.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/playground.h"

/* A path from a scene: absolute, or relative to the scene file's folder. */
static void scene_relative(const nnxr_scene *s, const char *path, char *out, size_t n)
{
    const char *slash = strrchr(s->path, '/');
    if (path[0] == '/' || !slash)
        snprintf(out, n, "%s", path);
    else
        snprintf(out, n, "%.*s/%s", (int)(slash - s->path), s->path, path);
}

static void set_split(nnxr_train_split *sp, const nnxr_image_set *set)
{
    sp->count = set->count;
    sp->u8 = set->count ? set->pixels : NULL;
    sp->labels = set->count ? set->labels : NULL;
}

static bool load_images(const nnxr_scene *s, nnxr_train_data_owned *out, nnxr_error *err)
{
    nnxr_image_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return nnxr_fail(err, "out of memory");
    char dir[4096] = "";
    if (s->dataset.path[0]) {
        scene_relative(s, s->dataset.path, dir, sizeof dir);
        /* A path that is no folder beside the scene is taken as given (from the working
         * directory). */
        if (!nnxr_is_dir(dir))
            snprintf(dir, sizeof dir, "%s", s->dataset.path);
    }
    nnxr_image_dataset_options o = {
        .dir = dir[0] ? dir : NULL,
        .classes = NNXR_CLASSES_AUTO,
        .val_count = (uint32_t)(s->dataset.validation > UINT32_MAX ? UINT32_MAX
                                                                     : s->dataset.validation),
        .val_seed = (uint64_t)s->scene.seed,
        .train_limit = (uint32_t)(s->dataset.subset > UINT32_MAX ? UINT32_MAX : s->dataset.subset),
        .random_subset = true,
        .subset_seed = (uint64_t)s->scene.seed,
        .join_test = s->dataset.join_test,
    };
    if (!strcmp(s->dataset.kind, "fashion-mnist"))
        o.classes = NNXR_CLASSES_FASHION;
    if (!nnxr_image_dataset_load(&o, ds, err)) {
        free(ds);
        return nnxr_fail_prefix(err, "%s: [dataset]", s->path);
    }
    out->images = ds;
    nnxr_train_data *d = &out->data;
    d->in_c = 1;
    d->in_h = ds->train.rows;
    d->in_w = ds->train.cols;
    d->classes = ds->num_classes;
    set_split(&d->train, &ds->train);
    set_split(&d->val, &ds->val);
    set_split(&d->test, &ds->test);
    out->class_names = ds->class_names;
    return true;
}

static bool load_playground(const nnxr_scene *s, nnxr_train_data_owned *out, nnxr_error *err)
{
    nnxr_pg_kind kind;
    const char *name = s->dataset.playground;
    if (!strcmp(name, "multigauss"))
        kind = NNXR_PG_MULTI_GAUSS;
    else if (!nnxr_pg_kind_parse(name, &kind, err))
        return nnxr_fail_prefix(err, "%s: [dataset] playground", s->path);
    nnxr_feature_mask mask = 0;
    for (size_t i = 0; i < s->dataset.feature_count; i++) {
        nnxr_pg_feature bit;
        if (!nnxr_feature_parse(s->dataset.features[i], &bit, err))
            return nnxr_fail_prefix(err, "%s: [dataset] features", s->path);
        mask |= bit;
    }
    nnxr_pg_options o = nnxr_pg_default_options(kind);
    o.num_points = (uint32_t)s->dataset.points;
    o.noise = (float)s->dataset.noise;
    o.train_fraction = (float)s->dataset.train_ratio;
    o.seed = (uint64_t)s->scene.seed;
    nnxr_pg_data *pg = calloc(1, sizeof *pg);
    if (!pg)
        return nnxr_fail(err, "out of memory");
    if (!nnxr_pg_generate(&o, pg, err)) {
        free(pg);
        return nnxr_fail_prefix(err, "%s: [dataset]", s->path);
    }
    out->points = pg;
    uint32_t nf = nnxr_features_count(mask);
    bool regression = nnxr_pg_kind_is_regression(kind);
    nnxr_train_data *d = &out->data;
    d->in_c = nf;
    d->in_h = d->in_w = 1;
    d->classes = regression ? 0 : 2;
    d->outputs = regression ? 1 : 0;
    d->scale = 1.0f;
    const nnxr_pg_set *sets[2] = {&pg->train, &pg->test};
    nnxr_train_split *splits[2] = {&d->train, &d->test};
    for (int i = 0; i < 2; i++) {
        int k = i == 0 ? 0 : 2;
        out->features[k] = malloc((size_t)sets[i]->count * nf * sizeof(float) + 4);
        if (!out->features[k])
            return nnxr_fail(err, "out of memory");
        nnxr_features_apply(mask, sets[i]->xy, sets[i]->count, out->features[k]);
        splits[i]->count = sets[i]->count;
        splits[i]->f32 = out->features[k];
        splits[i]->xy = sets[i]->xy;
        if (regression)
            splits[i]->targets = sets[i]->target;
        else
            splits[i]->labels = sets[i]->cls;
    }
    static const char *const names[2] = {"-1", "+1"};
    out->class_names = regression ? NULL : names;
    /* nnxr_features_apply writes the features in bit order. */
    for (uint32_t bit = 1; bit & NNXR_FEAT_ALL; bit <<= 1)
        if ((mask & bit) && d->feature_count < 8)
            d->features[d->feature_count++] = nnxr_feature_name((nnxr_pg_feature)bit);
    d->domain = NNXR_PG_DOMAIN;
    return true;
}

bool nnxr_train_data_load_scene(const nnxr_scene *s, nnxr_train_data_owned *out,
                                nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    bool ok;
    if (!strcmp(s->dataset.kind, "fashion-mnist") || !strcmp(s->dataset.kind, "idx"))
        ok = load_images(s, out, err);
    else if (!strcmp(s->dataset.kind, "playground"))
        ok = load_playground(s, out, err);
    else
        ok = nnxr_fail(err, "%s: [dataset] kind \"%s\": nothing to train on", s->path,
                       s->dataset.kind);
    if (!ok)
        nnxr_train_data_free(out);
    else
        out->data.class_names = out->class_names;
    return ok;
}

void nnxr_train_data_free(nnxr_train_data_owned *d)
{
    if (d->images) {
        nnxr_image_dataset_free(d->images);
        free(d->images);
    }
    if (d->points) {
        nnxr_pg_data_free(d->points);
        free(d->points);
    }
    for (int i = 0; i < 3; i++) {
        free(d->features[i]);
        free(d->labels[i]);
    }
    memset(d, 0, sizeof *d);
}

static bool widths(const int64_t *in, size_t n, uint32_t *out, uint32_t *count, const char *key,
                   const nnxr_scene *s, nnxr_error *err)
{
    if (n > NNXR_MODEL_MAX_HIDDEN)
        return nnxr_fail(err, "%s: [model] %s: %zu layers, at most %d", s->path, key, n,
                         NNXR_MODEL_MAX_HIDDEN);
    for (size_t i = 0; i < n; i++)
        out[i] = (uint32_t)in[i];
    *count = (uint32_t)n;
    return true;
}

bool nnxr_train_config_from_scene(const nnxr_scene *s, const nnxr_train_data *data,
                                  nnxr_train_config *cfg, nnxr_error *err)
{
    *cfg = nnxr_train_config_default();
    nnxr_model_desc *m = &cfg->model;
    const char *kind = s->model.kind;
    if (!strcmp(kind, "mlp"))
        m->kind = NNXR_MODEL_MLP;
    else if (!strcmp(kind, "cnn"))
        m->kind = NNXR_MODEL_CNN;
    else if (!strcmp(kind, "vae"))
        m->kind = NNXR_MODEL_VAE;
    else
        return nnxr_fail(err, "%s: [model] kind \"%s\": nothing to train", s->path, kind);
    if (!nnxr_model_act_parse(s->model.activation, &m->act, err))
        return nnxr_fail_prefix(err, "%s: [model] activation", s->path);
    m->in_c = data->in_c;
    m->in_h = data->in_h;
    m->in_w = data->in_w;
    m->regression = data->classes == 0;
    m->outputs = data->classes ? data->classes : data->outputs;
    if (!widths(s->model.hidden, s->model.hidden_count, m->hidden, &m->n_hidden, "hidden", s,
                err) ||
        !widths(s->model.encoder, s->model.encoder_count, m->enc, &m->n_enc, "encoder", s, err) ||
        !widths(s->model.decoder, s->model.decoder_count, m->dec, &m->n_dec, "decoder", s, err) ||
        !widths(s->model.classifier, s->model.classifier_count, m->cls, &m->n_cls, "classifier",
                s, err))
        return false;
    if (m->kind == NNXR_MODEL_CNN &&
        !nnxr_model_cnn_words(s->model.layers, s->model.layer_count, m->act, m->layers,
                              &m->n_layers, err))
        return nnxr_fail_prefix(err, "%s: [model] layers", s->path);
    m->latent = (uint32_t)s->model.latent_dim;
    m->beta = s->model.beta;
    m->cls_weight = s->model.classifier_weight;
    if (s->model.checkpoint && s->model.checkpoint[0]) {
        scene_relative(s, s->model.checkpoint, cfg->checkpoint_buf, sizeof cfg->checkpoint_buf);
        cfg->checkpoint = cfg->checkpoint_buf;
    }
    cfg->optimizer = !strcmp(s->train.optimizer, "adam") ? NNXR_NN_ADAM : NNXR_NN_SGD;
    cfg->lr = s->train.lr;
    cfg->momentum = s->train.momentum;
    cfg->beta1 = s->train.beta1;
    cfg->beta2 = s->train.beta2;
    cfg->adam_eps = s->train.adam_epsilon;
    cfg->l1 = s->train.l1;
    cfg->l2 = s->train.l2;
    cfg->batch = (uint32_t)s->train.batch;
    cfg->epochs = (uint64_t)s->train.epochs;
    cfg->seed = (uint64_t)(s->train.seed >= 0 ? s->train.seed : s->scene.seed);
    cfg->budget_ms = s->train.budget_ms;
    cfg->max_steps_per_frame = (uint32_t)s->train.max_steps_per_frame;
    cfg->eval_every = (uint64_t)s->train.eval_every;
    cfg->probe_count = (uint32_t)s->train.probe;
    cfg->export_count = (uint32_t)s->train.export_count;
    for (size_t i = 0; i < s->train.export_count && i < 8; i++)
        cfg->export_what[i] = s->train.export_what[i];
    cfg->export_layer_count = (uint32_t)s->train.export_layer_count;
    for (size_t i = 0; i < s->train.export_layer_count && i < 32; i++)
        cfg->export_layers[i] = s->train.export_layers[i];
    return true;
}
