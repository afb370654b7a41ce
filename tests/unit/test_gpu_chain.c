/* tests/unit/test_gpu_chain.c — the recorder's barriers and replay: 100 dependent dispatches
 * in one command buffer give the exact answer, and submitting it again gives the next one;
 * timestamps are monotonic and agree with the wall clock; under synchronization validation
 * the tracked chain is clean while the same chain without barriers is reported (so the
 * barriers are both present and necessary), and external recording is ordered too. */
#include <time.h>

#include "test_gpu_util.h"

#define N 4099u /* not a multiple of the workgroup (64) */
#define A 1664525u
#define B 1013904223u

typedef struct chain {
    nnxr_kernel *k;
    nnxr_buffer *buf[2];
    nnxr_binding *fwd, *back; /* 0 → 1, 1 → 0 */
} chain;

static void chain_open(nnxr_gpu *gpu, chain *c, const uint32_t *x0)
{
    nnxr_kernel_desc kd = {.shader = "test/affine_u32.comp", .buffer_count = 2,
                           .written_mask = 2, .push_size = 12};
    TG_OK(nnxr_kernel_create(gpu, &kd, &c->k, &e_));
    c->buf[0] = tg_buffer(gpu, "ping", NNXR_BUFFER_DEVICE, N * 4);
    c->buf[1] = tg_buffer(gpu, "pong", NNXR_BUFFER_DEVICE, N * 4);
    TG_OK(nnxr_buffer_upload(gpu, c->buf[0], 0, x0, N * 4, &e_));
    nnxr_buffer_slot f[2] = {{c->buf[0], 0, 0}, {c->buf[1], 0, 0}};
    nnxr_buffer_slot b[2] = {{c->buf[1], 0, 0}, {c->buf[0], 0, 0}};
    TG_OK(nnxr_binding_create(gpu, c->k, f, 2, &c->fwd, &e_));
    TG_OK(nnxr_binding_create(gpu, c->k, b, 2, &c->back, &e_));
}

static void chain_close(nnxr_gpu *gpu, chain *c)
{
    nnxr_binding_destroy(gpu, c->fwd);
    nnxr_binding_destroy(gpu, c->back);
    nnxr_buffer_destroy(gpu, c->buf[0]);
    nnxr_buffer_destroy(gpu, c->buf[1]);
    nnxr_kernel_destroy(gpu, c->k);
}

/* steps dispatches, alternating directions; an even count leaves the result in buf[0]. */
static void record_chain(nnxr_recorder *rec, chain *c, int steps, bool marks)
{
    uint32_t push[3] = {N, A, B};
    if (marks)
        TG_OK(nnxr_recorder_mark(rec, "start", &e_));
    for (int s = 0; s < steps; s++) {
        TG_OK(nnxr_recorder_dispatch(rec, c->k, s % 2 ? c->back : c->fwd, push, sizeof push,
                                     (N + 63) / 64, 1, 1, &e_));
        if (marks && s == steps / 2 - 1)
            TG_OK(nnxr_recorder_mark(rec, "half", &e_));
    }
    if (marks)
        TG_OK(nnxr_recorder_mark(rec, "end", &e_));
}

static uint32_t count_wrong(const uint32_t *got, const uint32_t *x0, int steps)
{
    uint32_t bad = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint32_t v = x0[i];
        for (int s = 0; s < steps; s++)
            v = v * A + B;
        bad += got[i] != v;
    }
    return bad;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void chain_and_replay(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    uint32_t *x0 = tg_alloc(N * 4), *got = tg_alloc(N * 4);
    for (uint32_t i = 0; i < N; i++)
        x0[i] = i * 2654435761u;
    chain c;
    chain_open(gpu, &c, x0);
    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 8, &rec, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    record_chain(rec, &c, 100, true);
    double t0 = now_ns();
    TG_OK(nnxr_recorder_run(rec, &e_));
    double wall = now_ns() - t0;
    TG_OK(nnxr_buffer_readback(gpu, c.buf[0], 0, got, N * 4, &e_));
    uint32_t bad = count_wrong(got, x0, 100);
    CHECKF(bad == 0, "after 100 dispatches %u of %u values wrong", bad, N);

    if (info->timestamps) {
        nnxr_mark m[8];
        uint32_t nm = nnxr_recorder_marks(rec, m, 8);
        CHECK(nm == 3);
        if (nm == 3) {
            CHECK(strcmp(m[0].name, "start") == 0 && strcmp(m[2].name, "end") == 0);
            CHECK(m[0].ns == 0);
            CHECKF(m[1].ns >= m[0].ns && m[2].ns >= m[1].ns, "marks %g %g %g", m[0].ns,
                   m[1].ns, m[2].ns);
            CHECKF(m[2].ns > 0, "100 dispatches took %g ns", m[2].ns);
            /* The device's measure of the work cannot exceed the host's of submit + wait. */
            CHECKF(m[2].ns <= wall * 1.05 + 1e5, "device %g ns > wall %g ns", m[2].ns, wall);
            double half;
            CHECK(nnxr_recorder_mark_ns(rec, "half", &half) && half == m[1].ns);
            printf("timestamps: 100 dispatches in %.3f ms (wall %.3f ms)\n", m[2].ns / 1e6,
                   wall / 1e6);
        }
    } else {
        printf("timestamps: not supported by this queue; marks unchecked\n");
        CHECK(nnxr_recorder_marks(rec, NULL, 0) == 0);
    }

    /* Replay: the same command buffer continues from the current contents. */
    TG_OK(nnxr_recorder_submit(rec, NULL, &e_));
    CHECK(nnxr_recorder_pending(rec));
    TG_OK(nnxr_recorder_wait(rec, &e_));
    CHECK(!nnxr_recorder_pending(rec));
    TG_OK(nnxr_buffer_readback(gpu, c.buf[0], 0, got, N * 4, &e_));
    bad = count_wrong(got, x0, 200);
    CHECKF(bad == 0, "after the replay %u of %u values wrong", bad, N);
    if (info->timestamps)
        CHECK(nnxr_recorder_marks(rec, NULL, 0) == 3);

    /* Too many marks is an error, not a crash. */
    TG_OK(nnxr_recorder_begin(rec, &e_));
    nnxr_error err;
    bool all = true;
    for (int i = 0; i < 9 && all; i++)
        all = nnxr_recorder_mark(rec, "m", &err);
    if (info->timestamps) {
        CHECK(!all);
        if (!all)
            CHECK_CONTAINS(err.message, "all 8 timestamp marks");
    }
    TG_OK(nnxr_recorder_run(rec, &e_));

    /* A dispatch outside a recording is refused. */
    uint32_t push[3] = {N, A, B};
    CHECK(!nnxr_recorder_dispatch(rec, c.k, c.fwd, push, 12, 1, 1, 1, &err));
    CHECK_CONTAINS(err.message, "outside a recording");

    nnxr_recorder_destroy(rec);
    chain_close(gpu, &c);
    free(x0);
    free(got);
    tg_close(gpu);
}

/* Under synchronization validation: the tracked chain is clean, the untracked one is not. */
static void sync_validation(void)
{
    uint32_t *x0 = tg_alloc(N * 4), *got = tg_alloc(N * 4);
    for (uint32_t i = 0; i < N; i++)
        x0[i] = i;
    for (int tracked = 1; tracked >= 0; tracked--) {
        nnxr_gpu *gpu = NULL;
        nnxr_gpu_options o = {.validate = true, .validate_sync = true};
        nnxr_error err;
        if (!nnxr_gpu_create(&o, &gpu, &err)) {
            CHECKF(false, "%s", err.message);
            break;
        }
        chain c;
        chain_open(gpu, &c, x0);
        nnxr_recorder *rec = NULL;
        TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
        nnxr_recorder_set_tracking(rec, tracked);
        TG_OK(nnxr_recorder_begin(rec, &e_));
        record_chain(rec, &c, 6, false);
        if (tracked) {
            /* External recording: a raw dispatch 0 → 1, declared, then a tracked one 1 → 0. */
            uint32_t push[3] = {N, A, B};
            TG_OK(nnxr_gpu_cmd_dispatch(gpu, nnxr_recorder_external_cmd(rec), c.k, c.fwd, push, 12,
                                        (N + 63) / 64, 1, 1, &e_));
            nnxr_recorder_external(rec);
            TG_OK(nnxr_recorder_dispatch(rec, c.k, c.back, push, 12, (N + 63) / 64, 1, 1, &e_));
            /* Copies and fills are tracked too: fill ping's tail, copy it to pong. */
            TG_OK(nnxr_recorder_fill(rec, c.buf[0], (N - 3) * 4, 12, 0xabcdu, &e_));
            TG_OK(nnxr_recorder_copy(rec, c.buf[0], 0, c.buf[1], 0, N * 4, &e_));
        }
        TG_OK(nnxr_recorder_run(rec, &e_));
        uint32_t n = nnxr_gpu_validation_count(gpu);
        if (tracked) {
            CHECKF(n == 0, "tracked chain: %u synchronization messages", n);
            TG_OK(nnxr_buffer_readback(gpu, c.buf[1], 0, got, N * 4, &e_));
            CHECK(count_wrong(got, x0, 8) == 3); /* the three filled words */
            CHECK(got[N - 1] == 0xabcdu && got[N - 4] != 0xabcdu);
        } else {
            CHECKF(n > 0, "untracked chain: synchronization validation reported nothing");
        }
        printf("sync validation, tracking %s: %u messages\n", tracked ? "on" : "off", n);
        nnxr_recorder_destroy(rec);
        chain_close(gpu, &c);
        nnxr_gpu_destroy(gpu);
    }
    free(x0);
    free(got);
}

int main(void)
{
    chain_and_replay();
    sync_validation();
    return check_finish();
}
