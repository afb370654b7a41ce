/* tests/unit/test_sim_labels.c — sphere annotation on the GPU against the CPU: a sphere labels
 * exactly the points inside it; unlabel; undo restores the exact previous labels and flags
 * (several levels); user labels survive machine labels; the exports (.npy, .csv) hold what the
 * GPU holds; a journal written while annotating replays onto a cloud whose points have moved
 * and gives the same labels. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "data/npy.h"
#include "sim/forces.h"
#include "test_gpu_util.h"

#define N 20011u
#define CLASSES 6u

typedef struct snap {
    int32_t label[N];
    uint32_t user[N];
} snap;

static void read_snap(nnxr_cloud *c, snap *s)
{
    TG_OK(nnxr_cloud_read_labels(c, s->label, s->user, &e_));
}

static bool same(const snap *a, const snap *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* CPU oracle for a sphere: 1 inside, 0 outside, -1 within a relative 1e-5 of the surface
 * (fp32 rounding may decide those either way; the positions make them rare). */
static int side(const float *p4, uint32_t i, const float c[3], float r)
{
    double d2 = 0;
    for (int a = 0; a < 3; a++)
        d2 += ((double)p4[4 * i + a] - c[a]) * ((double)p4[4 * i + a] - c[a]);
    double r2 = (double)r * r;
    if (fabs(d2 - r2) <= 1e-5 * r2)
        return -1;
    return d2 < r2;
}

/* Checks the GPU labels after annotating sphere (c, r) with `label` (−1 = unlabel) on top of
 * `before`: inside points take the label with the user flag, others are unchanged. */
static void check_sphere(const float *p4, const snap *before, const snap *after,
                         const float c[3], float r, int32_t label, uint32_t count)
{
    uint32_t inside = 0, wrong = 0, ambiguous = 0, first = UINT32_MAX;
    for (uint32_t i = 0; i < N; i++) {
        int s = side(p4, i, c, r);
        bool ok;
        if (s < 0) {
            ambiguous++;
            continue;
        }
        if (s == 1) {
            inside++;
            ok = after->label[i] == label && after->user[i] == 1;
        } else {
            ok = after->label[i] == before->label[i] && after->user[i] == before->user[i];
        }
        if (!ok) {
            wrong++;
            if (first == UINT32_MAX)
                first = i;
        }
    }
    CHECKF(wrong == 0, "sphere (%g %g %g) r %g: %u points wrong, first %u", (double)c[0],
           (double)c[1], (double)c[2], (double)r, wrong, first);
    CHECKF(ambiguous <= 2, "%u points on the surface", ambiguous);
    /* The reported count is the number of points inside. */
    CHECKF(count >= inside && count <= inside + ambiguous, "count %u, CPU %u (+%u ambiguous)",
           count, inside, ambiguous);
}

static void upload_pred(nnxr_gpu *gpu, nnxr_cloud *c, nnxr_buffer *pred, int32_t value)
{
    int32_t *p = tg_alloc(N * 4u);
    for (uint32_t i = 0; i < N; i++)
        p[i] = (i % 7 == 0) ? 99 : value; /* out of range → none */
    TG_OK(nnxr_buffer_upload(gpu, pred, 0, p, N * 4u, &e_));
    free(p);
    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    TG_OK(nnxr_cloud_record_machine_labels(c, rec, &e_));
    TG_OK(nnxr_recorder_run(rec, &e_));
    nnxr_recorder_destroy(rec);
}

int main(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    char dir[512];
    snprintf(dir, sizeof dir, "%s/sim_labels", NNXR_TEST_OUT);
    TG_OK(nnxr_mkdirs(dir, &e_));
    char jpath[600];
    snprintf(jpath, sizeof jpath, "%s/%s", dir, NNXR_JOURNAL_FILE);
    unlink(jpath);

    nnxr_cloud_desc desc = {.n = N, .classes = CLASSES};
    nnxr_cloud *c = NULL;
    TG_OK(nnxr_cloud_create(gpu, &desc, &c, &e_));
    float *p4 = tg_alloc(N * 16u);
    uint32_t seed = 2024;
    for (uint32_t i = 0; i < N; i++)
        for (int a = 0; a < 3; a++)
            p4[4 * i + a] = 4.0f * tg_uniform(&seed) - 2.0f;
    TG_OK(nnxr_cloud_upload(c, p4, NULL, NULL, &e_));
    nnxr_buffer *pred = tg_buffer(gpu, "pred", NNXR_BUFFER_DEVICE, N * 4u);
    TG_OK(nnxr_cloud_bind_predictions(c, pred, &e_));

    nnxr_journal *j = NULL;
    nnxr_journal_report rep;
    TG_OK(nnxr_journal_open(jpath, N, &j, &rep, &e_));
    CHECK(rep.created && rep.records == 0);

    snap *s0 = tg_alloc(sizeof(snap)), *s1 = tg_alloc(sizeof(snap)),
         *s2 = tg_alloc(sizeof(snap)), *s3 = tg_alloc(sizeof(snap)),
         *s4 = tg_alloc(sizeof(snap)), *t = tg_alloc(sizeof(snap));
    read_snap(c, s0);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < N; i++)
        bad += s0->label[i] != -1 || s0->user[i] != 0;
    CHECKF(bad == 0, "a new cloud has %u labelled points", bad);

    /* 1: sphere A, label 1. */
    float ca[3] = {0.3f, -0.2f, 0.1f}, cb[3] = {0.9f, 0.1f, 0.0f}, cc[3] = {0.6f, 0.0f, 0.2f};
    uint32_t count = 0;
    TG_OK(nnxr_cloud_annotate_sphere(c, ca, 0.8f, 1, j, &count, &e_));
    read_snap(c, s1);
    check_sphere(p4, s0, s1, ca, 0.8f, 1, count);
    printf("sphere A: %u points inside\n", count);
    CHECK(count > 500);
    CHECK(nnxr_label_state_labelled(nnxr_cloud_label_state(c)) == count);

    /* 2: machine labels (2) everywhere but where the user decided. */
    upload_pred(gpu, c, pred, 2);
    read_snap(c, s2);
    bad = 0;
    for (uint32_t i = 0; i < N; i++) {
        int32_t want = s1->user[i] ? s1->label[i] : (i % 7 == 0 ? -1 : 2);
        bad += s2->label[i] != want || s2->user[i] != s1->user[i];
    }
    CHECKF(bad == 0, "machine labels: %u points wrong", bad);

    /* 3: sphere B (overlapping A), label 3, on top of machine labels. */
    TG_OK(nnxr_cloud_annotate_sphere(c, cb, 0.6f, 3, j, &count, &e_));
    read_snap(c, s3);
    check_sphere(p4, s2, s3, cb, 0.6f, 3, count);
    printf("sphere B: %u points inside\n", count);

    /* 4: unlabel C; undo restores s3 exactly. */
    TG_OK(nnxr_cloud_unlabel_sphere(c, cc, 0.5f, j, &count, &e_));
    read_snap(c, s4);
    check_sphere(p4, s3, s4, cc, 0.5f, -1, count);
    printf("unlabel C: %u points inside\n", count);
    /* user "none" survives machine labels too */
    upload_pred(gpu, c, pred, 4);
    read_snap(c, t);
    bad = 0;
    for (uint32_t i = 0; i < N; i++)
        if (s4->user[i])
            bad += t->label[i] != s4->label[i] || t->user[i] != 1;
        else
            bad += t->label[i] != (i % 7 == 0 ? -1 : 4);
    CHECKF(bad == 0, "user labels overwritten by machine labels at %u points", bad);
    upload_pred(gpu, c, pred, 2); /* back to the machine labels of s3/s4 */
    read_snap(c, t);
    CHECK(same(t, s4));

    bool undone = false;
    TG_OK(nnxr_cloud_undo(c, j, &undone, &e_));
    CHECK(undone);
    read_snap(c, t);
    CHECKF(same(t, s3), "undo of the unlabel did not restore the labels exactly");
    TG_OK(nnxr_cloud_undo(c, j, &undone, &e_));
    read_snap(c, t);
    CHECKF(undone && same(t, s2), "undo of sphere B did not restore the labels exactly");
    TG_OK(nnxr_cloud_undo(c, j, &undone, &e_));
    read_snap(c, t);
    /* A's points get what they held before A (none, no flag); the machine labels given to the
     * other points after A stay. */
    bad = 0;
    for (uint32_t i = 0; i < N; i++)
        bad += s1->user[i] ? (t->label[i] != -1 || t->user[i] != 0)
                           : (t->label[i] != s2->label[i] || t->user[i] != s2->user[i]);
    CHECKF(undone && bad == 0, "undo of sphere A: %u points not restored exactly", bad);
    TG_OK(nnxr_cloud_undo(c, j, &undone, &e_));
    CHECK(!undone);
    CHECK(nnxr_journal_count(j) == 6); /* 3 annotations, 3 undos (the 4th had nothing) */

    /* Redo A and B for the export and replay checks. */
    TG_OK(nnxr_cloud_annotate_sphere(c, ca, 0.8f, 1, j, &count, &e_));
    TG_OK(nnxr_cloud_annotate_sphere(c, cb, 0.6f, 3, j, &count, &e_));
    TG_OK(nnxr_cloud_unlabel_sphere(c, cc, 0.25f, j, &count, &e_));
    read_snap(c, t);

    /* Bad input: nothing changes, nothing is journaled. */
    nnxr_error err;
    uint32_t before = nnxr_journal_count(j);
    CHECK(!nnxr_cloud_annotate_sphere(c, ca, 0.5f, (int32_t)CLASSES, j, &count, &err));
    CHECK_CONTAINS(err.message, "label 6");
    float nan_c[3] = {NAN, 0, 0};
    CHECK(!nnxr_cloud_annotate_sphere(c, nan_c, 0.5f, 0, j, &count, &err));
    CHECK_CONTAINS(err.message, "finite");
    CHECK(!nnxr_cloud_annotate_sphere(c, ca, -1.0f, 0, j, &count, &err));
    CHECK(nnxr_journal_count(j) == before);
    read_snap(c, s1);
    CHECK(same(t, s1));

    /* An empty sphere: count 0, journaled (the user did it), nothing changes. */
    float far[3] = {50, 50, 50};
    TG_OK(nnxr_cloud_annotate_sphere(c, far, 1.0f, 2, j, &count, &e_));
    CHECK(count == 0);
    read_snap(c, s1);
    CHECK(same(t, s1));

    /* Exports hold the GPU labels. */
    char npy[700], csv[700];
    snprintf(npy, sizeof npy, "%s/labels.npy", dir);
    snprintf(csv, sizeof csv, "%s/labels.csv", dir);
    TG_OK(nnxr_cloud_export_labels_npy(c, npy, &e_));
    TG_OK(nnxr_cloud_export_labels_csv(c, csv, &e_));
    nnxr_array arr;
    TG_OK(nnxr_npy_read(npy, &arr, &e_));
    CHECK(arr.dtype == NNXR_DTYPE_I32 && arr.ndim == 1 && arr.shape[0] == N);
    CHECK(arr.data && memcmp(arr.data, t->label, N * 4u) == 0);
    nnxr_array_free(&arr);
    size_t len = 0;
    char *text = nnxr_read_file(csv, &len, &err);
    CHECK(text != NULL);
    if (text) {
        CHECK(strncmp(text, "index,label,user\n", 17) == 0);
        uint32_t lines = 0, mismatch = 0;
        char *p = text + 17;
        while (*p) {
            unsigned idx, u;
            int lab;
            if (sscanf(p, "%u,%d,%u", &idx, &lab, &u) != 3)
                break;
            mismatch += idx != lines || lab != t->label[lines] || u != t->user[lines];
            lines++;
            p = strchr(p, '\n');
            if (!p)
                break;
            p++;
        }
        CHECKF(lines == N && mismatch == 0, "csv: %u lines, %u mismatches", lines, mismatch);
        free(text);
    }

    /* Replay: a new cloud whose points are elsewhere gets the same user labels. */
    uint64_t digest = nnxr_label_state_digest(nnxr_cloud_label_state(c));
    uint32_t records = nnxr_journal_count(j);
    nnxr_journal_close(j);
    TG_OK(nnxr_journal_open(jpath, N, &j, &rep, &e_));
    CHECK(!rep.created && !rep.tail_dropped && rep.records == records);
    nnxr_cloud *c2 = NULL;
    TG_OK(nnxr_cloud_create(gpu, &desc, &c2, &e_));
    for (uint32_t i = 0; i < N; i++)
        for (int a = 0; a < 3; a++)
            p4[4 * i + a] = -p4[4 * i + a] * 0.5f;
    TG_OK(nnxr_cloud_upload(c2, p4, NULL, NULL, &e_));
    TG_OK(nnxr_cloud_replay_journal(c2, j, &e_));
    CHECK(nnxr_label_state_digest(nnxr_cloud_label_state(c2)) == digest);
    read_snap(c2, s1);
    bad = 0;
    for (uint32_t i = 0; i < N; i++)
        bad += t->user[i] ? (s1->label[i] != t->label[i] || s1->user[i] != 1)
                          : (s1->label[i] != -1 || s1->user[i] != 0);
    CHECKF(bad == 0, "replayed labels differ at %u points", bad);
    /* Replay refuses a cloud that already has annotations, and a journal of another size. */
    CHECK(!nnxr_cloud_replay_journal(c2, j, &err));
    CHECK_CONTAINS(err.message, "already has annotations");
    nnxr_journal *jbad = NULL;
    CHECK(!nnxr_journal_open(jpath, N + 1, &jbad, NULL, &err));
    CHECK_CONTAINS(err.message, "written for 20011 points");
    nnxr_cloud_destroy(c2);
    nnxr_journal_close(j);

    TG_OK(nnxr_cloud_bind_predictions(c, NULL, &e_));
    nnxr_buffer_destroy(gpu, pred);
    nnxr_cloud_destroy(c);
    free(p4);
    free(s0);
    free(s1);
    free(s2);
    free(s3);
    free(s4);
    free(t);
    tg_close(gpu);
    return check_finish();
}
