/* tests/unit/test_cloud_app.c — the running latent cloud inside an app (engine/app/cloud.c)
 * on a small vae scene, against oracles: the "nnxr.cloud" service's view (sizes, regions,
 * annotations in effect, labels_version, labelled); the entropy buffer against a CPU entropy
 * of the trainer's probabilities; annotate / unlabel / undo through the command queue against
 * a CPU sphere test of the positions read back; machine labels = the trainer's predictions
 * wherever no user decided; freeze_when_paused; and a second app on the same output folder
 * that replays the journal to the same labels and annotations. Exit 77 without
 * Fashion-MNIST. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "app/app.h"
#include "app/cloud.h"
#include "core/fs.h"
#include "sim/journal.h"
#include "test_gpu_util.h"

#define OUT NNXR_TEST_OUT "/cloud_app"

static const char scene_text[] =
    "[scene]\nseed = 3\n"
    "[dataset]\nkind = \"fashion-mnist\"\nsubset = 700\nvalidation = 100\n"
    "[model]\nkind = \"vae\"\nlatent_dim = 3\nencoder = [32]\ndecoder = [32]\n"
    "classifier = [16]\n"
    "[train]\noptimizer = \"adam\"\nlr = 0.001\nbatch = 50\nmax_steps_per_frame = 2\n"
    "[cloud]\nenabled = true\nmachine_labels = %s\nfreeze_when_paused = true\n"
    "knn_sample = 200\nknn_every = 1\n";

typedef struct rig {
    nnxr_scene *scene;
    nnxr_app app;
    nnxr_recorder *rec;
    bool ok;
} rig;

static bool open_rig(rig *r, bool machine)
{
    char text[2048];
    snprintf(text, sizeof text, scene_text, machine ? "true" : "false");
    nnxr_error err;
    memset(r, 0, sizeof *r);
    r->scene = nnxr_scene_parse(text, strlen(text), "cloud_app.toml", &err);
    CHECKF(r->scene != NULL, "%s", err.message);
    if (!r->scene)
        return false;
    nnxr_gpu_options o = {.validate = true};
    r->ok = nnxr_app_init(&r->app, r->scene, &o, NULL, &err) &&
            nnxr_app_start_training(&r->app, &err) && nnxr_app_cloud_start(&r->app, OUT, &err) &&
            nnxr_recorder_create(r->app.gpu, 0, &r->rec, &err);
    CHECKF(r->ok && r->app.cloud, "%s", err.message);
    return r->ok && r->app.cloud;
}

static void close_rig(rig *r)
{
    nnxr_recorder_destroy(r->rec);
    uint32_t v = nnxr_app_shutdown(&r->app);
    CHECKF(v == 0, "%u validation messages", v);
    nnxr_scene_free(r->scene);
}

/* One frame as run.c does it: training, then the cloud recorded into the frame's buffer. */
static void frame(rig *r, bool paused)
{
    nnxr_frame f = {.index = r->app.frame, .paused = paused};
    nnxr_app_apply_commands(&r->app);
    TG_OK(nnxr_recorder_begin(r->rec, &e_));
    r->app.paused = paused;
    TG_OK(nnxr_app_train_frame(&r->app, &e_));
    nnxr_recorder_barrier(r->rec);
    TG_OK(nnxr_app_cloud_frame(r->app.cloud, r->rec, &f, &e_));
    TG_OK(nnxr_recorder_run(r->rec, &e_));
    r->app.frame++;
}

static nnxr_cloud_view view(rig *r)
{
    nnxr_cloud_view v;
    memset(&v, 0, sizeof v);
    TG_OK(r->app.cloud_api.info(r->app.cloud_api.ctx, &v, &e_));
    return v;
}

static void read_region(rig *r, nnxr_model_region g, void *dst)
{
    TG_OK(nnxr_buffer_readback(r->app.gpu, g.buffer, g.offset, dst, g.size, &e_));
}

static uint32_t inside(const float *p4, uint32_t n, const float c[3], float rad, uint8_t *in)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        double d2 = 0;
        for (int a = 0; a < 3; a++)
            d2 += ((double)p4[4 * i + a] - c[a]) * ((double)p4[4 * i + a] - c[a]);
        in[i] = d2 <= (double)rad * rad;
        k += in[i];
    }
    return k;
}

int main(void)
{
    if (!nnxr_is_dir("/usr/share/datasets/fashion-mnist")) {
        printf("dataset-fashion-mnist is not installed: skipped\n");
        return 77;
    }
    nnxr_error err;
    nnxr_mkdirs(OUT, &err);
    unlink(OUT "/labels.journal");

    rig r;
    if (!open_rig(&r, false)) {
        close_rig(&r);
        return check_finish();
    }
    nnxr_cloud_view v = view(&r);
    uint32_t n = v.n;
    CHECK(n == nnxr_trainer_train_count(r.app.trainer));
    CHECK(v.classes == 10 && v.room == 4.0f && v.size == sizeof v);
    CHECK(v.positions.buffer && v.positions.size == (VkDeviceSize)n * 16);
    CHECK(v.labels.size == (VkDeviceSize)n * 4 && v.user.size == (VkDeviceSize)n * 4);
    CHECK(v.entropy.buffer && v.entropy.size == (VkDeviceSize)n * 4);
    CHECK(v.labels_version == 0 && v.labelled == 0 && v.annotation_count == 0);

    /* Entropy after the first frame = the CPU entropy of the trainer's probabilities. */
    for (int i = 0; i < 3; i++)
        frame(&r, false);
    float *probs = tg_alloc((size_t)n * 10 * 4), *h = tg_alloc((size_t)n * 4);
    int32_t *pred = tg_alloc((size_t)n * 4), *lab = tg_alloc((size_t)n * 4);
    uint32_t *user = tg_alloc((size_t)n * 4);
    float *p4 = tg_alloc((size_t)n * 16), *p4b = tg_alloc((size_t)n * 16);
    uint8_t *in = tg_alloc(n);
    TG_OK(nnxr_trainer_read_outputs(r.app.trainer, NNXR_SET_TRAIN, probs, pred, NULL, NULL,
                                    NULL, &e_));
    read_region(&r, v.entropy, h);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        double ref = 0;
        for (int c = 0; c < 10; c++)
            if (probs[i * 10 + c] > 0)
                ref -= probs[i * 10 + c] * log(probs[i * 10 + c]);
        bad += !(fabs(ref - h[i]) <= 1e-5 * fmax(1.0, ref));
    }
    CHECKF(bad == 0, "%u of %u entropies differ from the trainer's probabilities", bad, n);

    /* Annotate a sphere around point 7 through the command queue. */
    TG_OK(r.app.cloud_api.read_positions(r.app.cloud_api.ctx, p4, n, &e_));
    nnxr_error e2;
    CHECK(!r.app.cloud_api.read_positions(r.app.cloud_api.ctx, p4, n - 1, &e2));
    nnxr_command cmd = {.kind = NNXR_CMD_ANNOTATE_SPHERE, .radius = 0.6f, .label = 4};
    memcpy(cmd.center, p4 + 7 * 4, 12);
    uint32_t want = inside(p4, n, cmd.center, cmd.radius, in);
    TG_OK(nnxr_app_push_command(&r.app, &cmd, &e_));
    nnxr_app_apply_commands(&r.app);
    v = view(&r);
    CHECKF(v.annotation_count == 1 && v.annotations[0].count == want && v.labelled == want,
           "annotations %u, count %u, labelled %u, CPU sphere %u", v.annotation_count,
           v.annotation_count ? v.annotations[0].count : 0, v.labelled, want);
    CHECK(v.annotation_count == 1 && v.annotations[0].label == 4 &&
          v.annotations[0].radius == 0.6f && v.annotations[0].center[0] == cmd.center[0]);
    CHECK(v.labels_version == 1 && want > 1);
    read_region(&r, v.labels, lab);
    read_region(&r, v.user, user);
    bad = 0;
    for (uint32_t i = 0; i < n; i++)
        bad += in[i] ? (lab[i] != 4 || user[i] != 1) : (lab[i] != -1 || user[i] != 0);
    CHECKF(bad == 0, "%u points labelled other than the CPU sphere says", bad);

    /* Unlabel a smaller sphere inside it, then undo it: back to the annotation. */
    nnxr_command un = {.kind = NNXR_CMD_UNLABEL_SPHERE, .radius = 0.3f};
    memcpy(un.center, cmd.center, 12);
    uint8_t *in2 = tg_alloc(n);
    uint32_t want2 = inside(p4, n, un.center, un.radius, in2);
    TG_OK(nnxr_app_push_command(&r.app, &un, &e_));
    nnxr_app_apply_commands(&r.app);
    v = view(&r);
    CHECKF(v.annotation_count == 2 && v.annotations[1].label == -1 &&
           v.labelled == want - want2 && v.labels_version == 2,
           "after unlabel: %u annotations, labelled %u (want %u)", v.annotation_count,
           v.labelled, want - want2);
    nnxr_command undo = {.kind = NNXR_CMD_UNDO_ANNOTATION};
    TG_OK(nnxr_app_push_command(&r.app, &undo, &e_));
    nnxr_app_apply_commands(&r.app);
    v = view(&r);
    CHECK(v.annotation_count == 1 && v.labelled == want && v.labels_version == 3);

    /* Frozen while paused: positions do not move; running: they do. */
    TG_OK(r.app.cloud_api.read_positions(r.app.cloud_api.ctx, p4, n, &e_));
    frame(&r, true);
    TG_OK(r.app.cloud_api.read_positions(r.app.cloud_api.ctx, p4b, n, &e_));
    CHECK(memcmp(p4, p4b, (size_t)n * 16) == 0);
    frame(&r, false);
    TG_OK(r.app.cloud_api.read_positions(r.app.cloud_api.ctx, p4b, n, &e_));
    CHECK(memcmp(p4, p4b, (size_t)n * 16) != 0);
    double knn;
    CHECK(nnxr_metrics_latest(&r.app.metrics, "cloud.knn_accuracy", &knn) && knn > 0.1 &&
          knn <= 1.0);
    double labelled;
    CHECK(nnxr_metrics_latest(&r.app.metrics, "cloud.labelled", &labelled) &&
          labelled == want);
    TG_OK(nnxr_app_cloud_finish(r.app.cloud, OUT, &e_));
    close_rig(&r);

    /* The journal: annotate, unlabel, undo. */
    nnxr_journal *j = NULL;
    TG_OK(nnxr_journal_open(OUT "/labels.journal", n, &j, NULL, &e_));
    CHECK(j && nnxr_journal_count(j) == 3 && nnxr_journal_at(j, 0)->count == want &&
          nnxr_journal_at(j, 2)->kind == NNXR_ANNOT_UNDO);
    nnxr_journal_close(j);

    /* A new app on the same folder, machine labels on: the replay gives the same user labels
     * and annotation; elsewhere the labels are the classifier's predictions. */
    if (open_rig(&r, true)) {
        v = view(&r);
        CHECK(v.annotation_count == 1 && v.labelled == want && v.annotations[0].label == 4 &&
              v.annotations[0].count == want);
        frame(&r, false);
        v = view(&r);
        TG_OK(nnxr_trainer_read_outputs(r.app.trainer, NNXR_SET_TRAIN, NULL, pred, NULL, NULL,
                                        NULL, &e_));
        read_region(&r, v.labels, lab);
        read_region(&r, v.user, user);
        bad = 0;
        uint32_t users = 0;
        for (uint32_t i = 0; i < n; i++) {
            users += user[i];
            bad += user[i] ? lab[i] != 4 : lab[i] != pred[i];
        }
        CHECKF(bad == 0 && users == want, "%u labels are neither the user's nor the "
               "prediction (%u user points, want %u)", bad, users, want);
    }
    close_rig(&r);
    free(probs);
    free(h);
    free(pred);
    free(lab);
    free(user);
    free(p4);
    free(p4b);
    free(in);
    free(in2);
    return check_finish();
}
