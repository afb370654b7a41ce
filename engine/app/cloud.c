/* app/cloud.c — the latent cloud of a running scene (app/cloud.h): creation from [cloud] and
 * the trainer's vae, the label journal of the run (resume or fresh), the annotation commands,
 * re-targeting when mu changes, entropy and machine labels, the k-NN metrics, the
 * "nnxr.cloud" service and the label exports.
 *
 * Choices:
 *  - A journal already in the output folder is replayed by default ([cloud] journal =
 *    "resume"): re-running into a folder is what a user does after a crash or to go on
 *    labelling, and every label made there must survive it. The model itself starts afresh
 *    (unless [model] checkpoint says otherwise) and trains on the replayed labels at once.
 *    "fresh" moves the old journal aside (labels.journal.N.old), never deletes it.
 *  - cloud.knn_accuracy is the k-NN accuracy of the VAE means (raw latent), not of the room
 *    positions: it measures what the model learned from the labels. The positions also carry
 *    the class attraction of the force model, which gathers user-labelled points by
 *    construction and would reward labelling itself rather than learning; they are published
 *    too, as cloud.knn_accuracy_room. */
#include "app/cloud.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/status.h"
#include "data/rng.h"
#include "sim/entropy.h"
#include "sim/journal.h"

struct nnxr_app_cloud {
    nnxr_app *app;
    nnxr_gpu *gpu;
    nnxr_cloud *sim;
    nnxr_journal *journal;
    nnxr_entropy *entropy;     /* NULL without a classifier */
    nnxr_buffer *pred;         /* the classifier's predictions, copied (machine labels) */
    nnxr_cloud_params params;
    uint32_t n, classes, model_classes;
    uint32_t steps_per_frame;
    bool freeze_when_paused, machine_labels;
    uint64_t generation_seen, outputs_seen;
    bool need_refresh;
    const nnxr_buffer *probs_bound;
    VkDeviceSize probs_offset;

    nnxr_cloud_annotation *ann; /* in effect, oldest first */
    uint32_t ann_count, ann_cap;
    uint64_t labels_version;

    const uint8_t *truth;      /* true classes of the training set (host) */
    uint32_t knn_k, knn_every;
    uint32_t *sample;
    uint32_t sample_n;
    float *mu;                 /* n x 3, host copy of the latest means */
    float *pos4;               /* n x 4 scratch */
    int32_t *mask;             /* n scratch: the classifier's labels */
    double knn_mu;
    bool knn_mu_valid;
    uint64_t frame;
};

/* ---- k-NN --------------------------------------------------------------------------------- */

double nnxr_knn_accuracy(const float *pts, uint32_t n, uint32_t stride, uint32_t dim,
                         const uint8_t *labels, const uint32_t *queries, uint32_t q,
                         uint32_t k)
{
    enum { MAX_K = 64 };
    if (q == 0 || k == 0)
        return 0.0;
    if (k > MAX_K)
        k = MAX_K;
    uint32_t right = 0;
    for (uint32_t s = 0; s < q; s++) {
        uint32_t i = queries[s];
        if (i >= n)
            continue;
        const float *xi = pts + (size_t)i * stride;
        bool finite = true;
        for (uint32_t a = 0; a < dim; a++)
            finite = finite && isfinite(xi[a]);
        if (!finite)
            continue;
        double best_d[MAX_K];
        uint8_t best_l[MAX_K];
        uint32_t have = 0;
        for (uint32_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            const float *xj = pts + (size_t)j * stride;
            double d = 0;
            for (uint32_t a = 0; a < dim; a++) {
                double t = (double)xi[a] - xj[a];
                d += t * t;
            }
            if (!(d == d) || isinf(d))
                continue;
            if (have == k && d >= best_d[k - 1])
                continue;
            uint32_t p = have < k ? have++ : k - 1;
            while (p > 0 && best_d[p - 1] > d) {
                best_d[p] = best_d[p - 1];
                best_l[p] = best_l[p - 1];
                p--;
            }
            best_d[p] = d;
            best_l[p] = labels[j];
        }
        if (have == 0)
            continue;
        uint32_t votes[256] = {0};
        uint32_t top = 0;
        for (uint32_t m = 0; m < have; m++)
            if (++votes[best_l[m]] > top)
                top = votes[best_l[m]];
        /* The nearest neighbour whose class has the top count decides ties. */
        uint8_t winner = 0;
        for (uint32_t m = 0; m < have; m++)
            if (votes[best_l[m]] == top) {
                winner = best_l[m];
                break;
            }
        right += winner == labels[i];
    }
    return (double)right / q;
}

/* ---- labels --------------------------------------------------------------------------------- */

/* The classifier learns from user labels only: -1 wherever no user gave a class. */
static bool push_labels(nnxr_app_cloud *c, nnxr_error *err)
{
    if (!c->app->trainer || c->model_classes == 0)
        return true;
    const nnxr_label_state *s = nnxr_cloud_label_state(c->sim);
    for (uint32_t i = 0; i < c->n; i++)
        c->mask[i] = s->user[i] && s->label[i] >= 0 ? s->label[i] : -1;
    if (!nnxr_trainer_set_labels(c->app->trainer, c->mask, c->n, err))
        return nnxr_fail_prefix(err, "latent cloud: the classifier's labels");
    return true;
}

static bool ann_push(nnxr_app_cloud *c, const float center[3], float radius, int32_t label,
                     uint32_t count, uint64_t frame, nnxr_error *err)
{
    if (c->ann_count == c->ann_cap) {
        uint32_t cap = c->ann_cap ? c->ann_cap * 2 : 64;
        nnxr_cloud_annotation *a = realloc(c->ann, (size_t)cap * sizeof *a);
        if (!a)
            return nnxr_fail(err, "latent cloud: out of memory for %u annotations", cap);
        c->ann = a;
        c->ann_cap = cap;
    }
    nnxr_cloud_annotation *a = &c->ann[c->ann_count++];
    memcpy(a->center, center, sizeof a->center);
    a->radius = radius;
    a->label = label;
    a->count = count;
    a->frame = frame;
    return true;
}

/* The annotations a replayed journal leaves in effect (undo takes back the latest). */
static bool ann_from_journal(nnxr_app_cloud *c, nnxr_error *err)
{
    c->ann_count = 0;
    for (uint32_t r = 0; r < nnxr_journal_count(c->journal); r++) {
        const nnxr_journal_record *rec = nnxr_journal_at(c->journal, r);
        if (rec->kind == NNXR_ANNOT_UNDO) {
            if (c->ann_count)
                c->ann_count--;
        } else if (!ann_push(c, rec->center, rec->radius,
                             rec->kind == NNXR_ANNOT_LABEL ? rec->label : -1, rec->count, 0,
                             err)) {
            return false;
        }
    }
    return true;
}

/* ---- commands --------------------------------------------------------------------------- */

/* A command arrives between frames; in a window the last frame's submission (which steps the
 * cloud and reads its labels) may still run. Annotations are rare: wait for the device. */
static bool on_sphere(void *user, const nnxr_command *cmd, nnxr_error *err)
{
    nnxr_app_cloud *c = user;
    bool label = cmd->kind == NNXR_CMD_ANNOTATE_SPHERE;
    uint32_t count = 0;
    if (!nnxr_gpu_wait_idle(c->gpu, err))
        return false;
    bool ok = label ? nnxr_cloud_annotate_sphere(c->sim, cmd->center, cmd->radius, cmd->label,
                                                 c->journal, &count, err)
                    : nnxr_cloud_unlabel_sphere(c->sim, cmd->center, cmd->radius, c->journal,
                                                &count, err);
    if (!ok)
        return false;
    c->labels_version++;
    if (!ann_push(c, cmd->center, cmd->radius, label ? cmd->label : -1, count, c->frame, err))
        return false;
    NNXR_INFO("latent cloud: %s sphere at (%.3f, %.3f, %.3f) r %.3f took %u points",
              label ? "annotation" : "unlabel", (double)cmd->center[0], (double)cmd->center[1],
              (double)cmd->center[2], (double)cmd->radius, count);
    return push_labels(c, err);
}

static bool on_undo(void *user, const nnxr_command *cmd, nnxr_error *err)
{
    (void)cmd;
    nnxr_app_cloud *c = user;
    bool undone = false;
    if (!nnxr_gpu_wait_idle(c->gpu, err) || !nnxr_cloud_undo(c->sim, c->journal, &undone, err))
        return false;
    if (!undone) {
        NNXR_INFO("latent cloud: nothing to undo");
        return true;
    }
    c->labels_version++;
    if (c->ann_count)
        c->ann_count--;
    return push_labels(c, err);
}

/* ---- the service ---------------------------------------------------------------------------- */

static nnxr_model_region whole(const nnxr_buffer *b)
{
    return (nnxr_model_region){b, 0, b ? b->size : 0};
}

static bool svc_info(void *ctx, nnxr_cloud_view *out, nnxr_error *err)
{
    (void)err;
    nnxr_app_cloud *c = ctx;
    const nnxr_cloud_buffers *b = nnxr_cloud_get_buffers(c->sim);
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->generation = 1; /* the cloud's buffers live as long as the run */
    out->n = c->n;
    out->classes = c->classes;
    out->room = c->params.room;
    out->positions = whole(b->pos);
    out->labels = whole(b->labels);
    out->user = whole(b->user);
    out->entropy = whole(c->entropy ? nnxr_entropy_buffer(c->entropy) : NULL);
    out->labels_version = c->labels_version;
    out->labelled = nnxr_label_state_labelled(nnxr_cloud_label_state(c->sim));
    out->annotation_count = c->ann_count;
    out->annotations = c->ann;
    return true;
}

static bool svc_read_positions(void *ctx, float *pos4, uint32_t n, nnxr_error *err)
{
    nnxr_app_cloud *c = ctx;
    if (!pos4 || n != c->n)
        return nnxr_fail(err, "nnxr.cloud read_positions: room for %u points, the cloud has %u",
                         n, c->n);
    /* A window's last frame may still be stepping the cloud. */
    return nnxr_gpu_wait_idle(c->gpu, err) && nnxr_cloud_download(c->sim, pos4, NULL, NULL, err);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

void nnxr_app_cloud_destroy(nnxr_app_cloud *c)
{
    if (!c)
        return;
    if (c->gpu)
        nnxr_gpu_wait_idle(c->gpu, NULL);
    if (c->sim)
        nnxr_cloud_bind_predictions(c->sim, NULL, NULL);
    nnxr_cloud_destroy(c->sim);
    nnxr_entropy_destroy(c->entropy);
    nnxr_buffer_destroy(c->gpu, c->pred);
    nnxr_journal_close(c->journal);
    free(c->ann);
    free(c->sample);
    free(c->mu);
    free(c->pos4);
    free(c->mask);
    free(c);
}

nnxr_cloud *nnxr_app_cloud_sim(nnxr_app_cloud *c) { return c->sim; }

/* "fresh": an existing journal goes to labels.journal.N.old (the first N free). */
static bool move_aside(const char *path, nnxr_error *err)
{
    if (!nnxr_is_file(path))
        return true;
    char old[4300];
    for (unsigned k = 1; k < 100000; k++) {
        snprintf(old, sizeof old, "%s.%u.old", path, k);
        if (nnxr_is_file(old))
            continue;
        if (rename(path, old) != 0)
            return nnxr_fail(err, "%s: cannot move it aside to %s: %s", path, old,
                             strerror(errno));
        NNXR_INFO("latent cloud: [cloud] journal = \"fresh\": the old journal is now %s", old);
        return true;
    }
    return nnxr_fail(err, "%s: no free name to move it aside", path);
}

static bool open_journal(nnxr_app_cloud *c, const nnxr_scene *s, const char *out_dir,
                         nnxr_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", out_dir, NNXR_JOURNAL_FILE);
    if (!strcmp(s->cloud.journal, "fresh") && !move_aside(path, err))
        return nnxr_fail_prefix(err, "%s: [cloud] journal", s->path);
    nnxr_journal_report rep;
    if (!nnxr_journal_open(path, c->n, &c->journal, &rep, err))
        return nnxr_fail_prefix(err, "%s: [cloud] (label journal of the output folder; "
                                "another --out, or journal = \"fresh\", starts a new one)",
                                s->path);
    if (rep.tail_dropped)
        NNXR_WARN("%s: a torn last record was cut away (%llu bytes at %llu: %s); every "
                  "earlier annotation is kept", path, (unsigned long long)rep.dropped_bytes,
                  (unsigned long long)rep.dropped_at, rep.tail_reason);
    if (rep.records == 0)
        return true;
    if (!nnxr_cloud_replay_journal(c->sim, c->journal, err))
        return nnxr_fail_prefix(err, "%s: replaying %s", s->path, path);
    if (!ann_from_journal(c, err) || !push_labels(c, err))
        return false;
    c->labels_version++;
    NNXR_INFO("latent cloud: resumed %u journal records from %s: %u points labelled, %u "
              "annotations in effect", rep.records, path,
              nnxr_label_state_labelled(nnxr_cloud_label_state(c->sim)), c->ann_count);
    return true;
}

static bool read_mu(nnxr_app_cloud *c, const nnxr_model_info *info, nnxr_error *err)
{
    const nnxr_model_region *r = &info->samples.mu;
    if (!r->buffer || r->size < (VkDeviceSize)c->n * 12u)
        return nnxr_fail(err, "latent cloud: the trainer has no mu of its %u samples", c->n);
    if (!nnxr_buffer_readback(c->gpu, r->buffer, r->offset, c->mu, (VkDeviceSize)c->n * 12u,
                              err))
        return nnxr_fail_prefix(err, "latent cloud: reading mu");
    c->knn_mu = nnxr_knn_accuracy(c->mu, c->n, 3, 3, c->truth, c->sample, c->sample_n,
                                  c->knn_k);
    c->knn_mu_valid = true;
    return true;
}

bool nnxr_app_cloud_start(nnxr_app *app, const char *out_dir, nnxr_error *err)
{
    const nnxr_scene *s = app->scene;
    if (app->cloud || !s || !s->cloud.enabled)
        return true;
    if (!app->trainer)
        return nnxr_fail(err, "%s: [cloud] enabled needs a vae model to train", s->path);
    nnxr_model_info info;
    if (!nnxr_trainer_model_info(app->trainer, &info, err))
        return false;
    const nnxr_train_data *data = &app->train_data.data;
    if (info.kind != NNXR_MODEL_VAE || info.latent_dim != 3)
        return nnxr_fail(err, "%s: [cloud] enabled needs a vae with a 3-d latent", s->path);
    if (!data->train.labels || data->classes == 0)
        return nnxr_fail(err, "%s: [cloud] enabled needs a classified image dataset",
                         s->path);
    nnxr_app_cloud *c = calloc(1, sizeof *c);
    if (!c)
        return nnxr_fail(err, "latent cloud: out of memory");
    c->app = app;
    c->gpu = app->gpu;
    c->n = nnxr_trainer_train_count(app->trainer);
    c->classes = data->classes;
    c->model_classes = info.classes;
    c->truth = data->train.labels;
    c->params = (nnxr_cloud_params){
        .k_s = (float)s->cloud.k_s, .k_a = (float)s->cloud.k_a, .k_r = (float)s->cloud.k_r,
        .eps = (float)s->cloud.eps, .damping = (float)s->cloud.damping,
        .dt = (float)s->cloud.dt, .room = (float)s->cloud.room};
    c->steps_per_frame = (uint32_t)s->cloud.steps_per_frame;
    c->freeze_when_paused = s->cloud.freeze_when_paused;
    c->machine_labels = s->cloud.machine_labels && info.classes > 0;
    c->knn_k = (uint32_t)s->cloud.knn_k;
    c->knn_every = (uint32_t)s->cloud.knn_every;
    c->need_refresh = true;
    c->mu = malloc((size_t)c->n * 12u);
    c->pos4 = malloc((size_t)c->n * 16u);
    c->mask = malloc((size_t)c->n * 4u);
    c->sample_n = s->cloud.knn_sample < (int64_t)c->n ? (uint32_t)s->cloud.knn_sample : c->n;
    c->sample = malloc((size_t)c->n * 4u);
    app->cloud = c; /* from here on, nnxr_app_shutdown frees it */
    if (!c->mu || !c->pos4 || !c->mask || !c->sample)
        return nnxr_fail(err, "latent cloud: out of memory for %u points", c->n);
    /* A fixed sample: the metric follows the same points all run long. */
    nnxr_rng rng;
    nnxr_rng_seed(&rng, (uint64_t)s->scene.seed, 0xc10d);
    nnxr_rng_permutation(&rng, c->sample, c->n);

    nnxr_cloud_desc desc = {.n = c->n, .classes = c->classes};
    if (!nnxr_cloud_params_check(&c->params, err) ||
        !nnxr_cloud_create(app->gpu, &desc, &c->sim, err))
        return nnxr_fail_prefix(err, "%s: [cloud]", s->path);
    if (info.classes > 0) {
        nnxr_buffer_desc bd = {.name = "cloud.predictions", .kind = NNXR_BUFFER_DEVICE,
                               .size = (VkDeviceSize)c->n * 4u};
        if (!nnxr_entropy_create(app->gpu, c->n, info.classes, &c->entropy, err) ||
            !nnxr_buffer_create(app->gpu, &bd, &c->pred, err) ||
            !nnxr_cloud_bind_predictions(c->sim, c->pred, err))
            return nnxr_fail_prefix(err, "%s: [cloud]", s->path);
    }
    /* x = z at start: the trainer's mu of every sample, evaluated now if it never was. */
    if (info.outputs_version == 0 &&
        (!nnxr_trainer_evaluate(app->trainer, NNXR_SET_TRAIN, NULL, err) ||
         !nnxr_trainer_model_info(app->trainer, &info, err)))
        return false;
    if (!nnxr_cloud_set_latents(c->sim, info.samples.mu.buffer, info.samples.mu.offset, 3,
                                c->params.room, NULL, err) ||
        !nnxr_cloud_reset_to_targets(c->sim, err) || !read_mu(c, &info, err))
        return nnxr_fail_prefix(err, "%s: [cloud]", s->path);
    if (out_dir && !open_journal(c, s, out_dir, err))
        return false;
    nnxr_app_set_handler(app, NNXR_CMD_ANNOTATE_SPHERE, on_sphere, c);
    nnxr_app_set_handler(app, NNXR_CMD_UNLABEL_SPHERE, on_sphere, c);
    nnxr_app_set_handler(app, NNXR_CMD_UNDO_ANNOTATION, on_undo, c);
    app->cloud_api = (nnxr_cloud_api){.ctx = c, .size = sizeof(nnxr_cloud_api),
                                      .info = svc_info, .read_positions = svc_read_positions};
    NNXR_INFO("latent cloud: %u points, %u classes, %u steps a frame, %u dispatches a step",
              c->n, c->classes, c->steps_per_frame, nnxr_cloud_dispatches_per_step(c->sim));
    return true;
}

/* ---- the frame ---------------------------------------------------------------------------- */

static void publish(nnxr_app_cloud *c)
{
    nnxr_metrics *m = &c->app->metrics;
    if (c->knn_mu_valid)
        nnxr_metrics_publish(m, "cloud.knn_accuracy", c->knn_mu);
    /* The positions as the last completed frame left them. */
    nnxr_error e2;
    if (nnxr_cloud_download(c->sim, c->pos4, NULL, NULL, &e2))
        nnxr_metrics_publish(m, "cloud.knn_accuracy_room",
                             nnxr_knn_accuracy(c->pos4, c->n, 4, 3, c->truth, c->sample,
                                               c->sample_n, c->knn_k));
    else
        NNXR_WARN("latent cloud: %s", e2.message);
    nnxr_metrics_publish(m, "cloud.labelled",
                         nnxr_label_state_labelled(nnxr_cloud_label_state(c->sim)));
}

/* The trainer's outputs changed: new targets, entropy, machine labels. */
static bool refresh(nnxr_app_cloud *c, nnxr_recorder *rec, const nnxr_model_info *info,
                    nnxr_error *err)
{
    if (!nnxr_cloud_set_latents(c->sim, info->samples.mu.buffer, info->samples.mu.offset, 3,
                                c->params.room, NULL, err) ||
        !read_mu(c, info, err))
        return false;
    if (c->entropy) {
        const nnxr_model_region *p = &info->samples.probs;
        if ((p->buffer != c->probs_bound || p->offset != c->probs_offset) &&
            !nnxr_entropy_bind(c->entropy, p->buffer, p->offset, err))
            return false;
        c->probs_bound = p->buffer;
        c->probs_offset = p->offset;
        if (!nnxr_entropy_record(c->entropy, rec, err))
            return false;
    }
    if (c->machine_labels) {
        const nnxr_model_region *p = &info->samples.predicted;
        if (!p->buffer || p->size < (VkDeviceSize)c->n * 4u)
            return nnxr_fail(err, "latent cloud: the trainer has no predictions of its samples");
        if (!nnxr_recorder_copy(rec, p->buffer, p->offset, c->pred, 0, (VkDeviceSize)c->n * 4u,
                                err) ||
            !nnxr_cloud_record_machine_labels(c->sim, rec, err))
            return false;
    }
    c->outputs_seen = info->outputs_version;
    c->generation_seen = info->generation;
    c->need_refresh = false;
    return true;
}

bool nnxr_app_cloud_frame(nnxr_app_cloud *c, nnxr_recorder *rec, const nnxr_frame *frame,
                          nnxr_error *err)
{
    c->frame = frame->index;
    nnxr_model_info info;
    if (!nnxr_trainer_model_info(c->app->trainer, &info, err))
        return false;
    if (info.generation != c->generation_seen)
        c->probs_bound = NULL; /* re-created buffers may reuse an address: bind again */
    if (c->need_refresh || info.outputs_version != c->outputs_seen ||
        info.generation != c->generation_seen) {
        /* Latents the mapping refuses (a diverged model's NaN) leave the cloud where it was
         * rather than end the run; the next rewrite tries again. */
        nnxr_error e2;
        nnxr_error_clear(&e2);
        if (!refresh(c, rec, &info, &e2)) {
            NNXR_WARN("latent cloud, frame %llu: the new outputs are not taken: %s",
                      (unsigned long long)frame->index, e2.message);
            c->outputs_seen = info.outputs_version;
            c->generation_seen = info.generation;
            c->need_refresh = false;
        }
    }
    if (frame->index % c->knn_every == 0)
        publish(c);
    if (c->steps_per_frame && !(frame->paused && c->freeze_when_paused) &&
        !nnxr_cloud_record_steps(c->sim, rec, &c->params, c->steps_per_frame, err))
        return nnxr_fail_prefix(err, "latent cloud, frame %llu",
                                (unsigned long long)frame->index);
    return true;
}

bool nnxr_app_cloud_finish(nnxr_app_cloud *c, const char *out_dir, nnxr_error *err)
{
    nnxr_model_info info;
    if (!nnxr_gpu_wait_idle(c->gpu, err) || !nnxr_trainer_model_info(c->app->trainer, &info, err))
        return false;
    if (info.outputs_version != c->outputs_seen && !read_mu(c, &info, err))
        return false;
    publish(c);
    char npy[4200], csv[4200];
    snprintf(npy, sizeof npy, "%s/labels.npy", out_dir);
    snprintf(csv, sizeof csv, "%s/labels.csv", out_dir);
    return nnxr_cloud_export_labels_npy(c->sim, npy, err) &&
           nnxr_cloud_export_labels_csv(c->sim, csv, err);
}
