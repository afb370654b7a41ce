/* tests/unit/test_gpu_workers.c — a CPU device's worker threads (engine/gpu/cpu_workers.c):
 * the choice of workers on made-up thread times; on the real device (lavapipe, its pool size
 * set by LP_NUM_THREADS) the threads found are exactly the pool, are the threads that run a
 * later dispatch, each is pinned to its own CPU while the caller's mask is untouched, and
 * nothing is pinned when the caller or the environment says so, when there is one worker or
 * more workers than CPUs. The calibration kernel's results match the CPU. */
#include <sched.h>
#include <unistd.h>

#include "test_gpu_util.h"

static void pick_on_made_up_times(void)
{
    const uint64_t ms = 1000000;
    /* 1 = the caller, 2 = an application thread: both older than the device. */
    nnxr_thread_time start[] = {{1, 0}, {2, 0}};
    nnxr_thread_time before[] = {{1, 0}, {2, 0}, {10, 7 * ms}, {11, 0}, {12, 0}, {13, 5}};
    nnxr_thread_time after[] = {{1, 90 * ms}, {2, 90 * ms}, {11, 3 * ms},  {10, 11 * ms},
                                {12, 7 * ms / 10}, {13, 5}, {14, 2 * ms}};
    int w[8] = {0};
    uint32_t n = nnxr_gpu_pick_workers(start, 2, before, 6, after, 7, 1, w, 8);
    /* 10 ran 4 ms (the most), 11 3 ms, 14 (born during) 2 ms; 12 ran 0.7 ms < 0.8 ms. */
    CHECKF(n == 3 && w[0] == 10 && w[1] == 11 && w[2] == 14, "n %u: %d %d %d", n, w[0], w[1],
           w[2]);
    CHECK(nnxr_gpu_pick_workers(start, 2, before, 6, after, 7, 1, w, 2) == 2);
    /* Nothing new ran: no workers, even though the caller was busy. */
    nnxr_thread_time idle[] = {{1, 90 * ms}, {2, 90 * ms}, {10, 7 * ms}, {11, 0}};
    CHECK(nnxr_gpu_pick_workers(start, 2, before, 6, idle, 4, 1, w, 8) == 0);
    /* A clock that went backwards (a reused thread id) counts as no time, not as 2^64. */
    nnxr_thread_time back[] = {{10, 6 * ms}, {11, 3 * ms}};
    n = nnxr_gpu_pick_workers(start, 2, before, 6, back, 2, 1, w, 8);
    CHECKF(n == 1 && w[0] == 11, "n %u", n);
}

static int allowed_cpus(cpu_set_t *set)
{
    CPU_ZERO(set);
    if (sched_getaffinity(0, sizeof *set, set) != 0)
        return 0;
    return CPU_COUNT(set);
}

static uint64_t thread_ns(int tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return ns;
}

static uint32_t busy_cpu(uint32_t id, uint32_t rounds)
{
    uint32_t x = id * 2654435761u + 1u;
    for (uint32_t r = 0; r < rounds; r++)
        x = (x * 1664525u + 1013904223u) ^ (x >> 13);
    return x;
}

/* The calibration kernel on `groups` workgroups, its results checked against the CPU; returns
 * the CPU time each of the device's workers ran meanwhile. */
static void run_busy(nnxr_gpu *gpu, uint32_t groups, uint64_t *ran)
{
    const nnxr_gpu_info *in = nnxr_gpu_get_info(gpu);
    nnxr_kernel_desc kd = {.shader = "gpu/busy.comp", .buffer_count = 1, .written_mask = 1,
                           .push_size = 4};
    nnxr_kernel *k = NULL;
    nnxr_error err;
    CHECK(nnxr_kernel_create(gpu, &kd, &k, &err));
    uint32_t count = groups * 64, rounds = 3000;
    nnxr_buffer *sink = tg_buffer(gpu, "sink", NNXR_BUFFER_DEVICE, count * 4);
    nnxr_buffer_slot slot = {.buffer = sink};
    nnxr_binding *b = NULL;
    CHECK(nnxr_binding_create(gpu, k, &slot, 1, &b, &err));
    nnxr_recorder *rec = NULL;
    CHECK(nnxr_recorder_create(gpu, 0, &rec, &err));
    uint64_t t0[NNXR_GPU_MAX_WORKERS];
    for (uint32_t w = 0; w < in->cpu_workers; w++)
        t0[w] = thread_ns(in->cpu_worker_tid[w]);
    CHECK(nnxr_recorder_begin(rec, &err) &&
          nnxr_recorder_dispatch(rec, k, b, &rounds, 4, groups, 1, 1, &err) &&
          nnxr_recorder_run(rec, &err));
    for (uint32_t w = 0; w < in->cpu_workers; w++)
        ran[w] = thread_ns(in->cpu_worker_tid[w]) - t0[w];
    uint32_t *got = malloc(count * 4);
    CHECK(got && nnxr_buffer_readback(gpu, sink, 0, got, count * 4, &err));
    uint32_t wrong = 0;
    for (uint32_t i = 0; got && i < count; i++)
        wrong += got[i] != busy_cpu(i, rounds);
    CHECKF(wrong == 0, "%u of %u results differ from the CPU", wrong, count);
    free(got);
    nnxr_recorder_destroy(rec);
    nnxr_binding_destroy(gpu, b);
    nnxr_buffer_destroy(gpu, sink);
    nnxr_kernel_destroy(gpu, k);
}

/* Opens the device with a pool of `threads` workers and checks what was found and pinned. */
static void pool(const char *threads, bool leave, bool env_off)
{
    setenv("LP_NUM_THREADS", threads, 1);
    if (env_off)
        setenv("NNXR_PIN_WORKERS", "0", 1);
    else
        unsetenv("NNXR_PIN_WORKERS");
    cpu_set_t mask0, mask1;
    int ncpu = allowed_cpus(&mask0);
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){.leave_cpu_workers = leave});
    const nnxr_gpu_info *in = nnxr_gpu_get_info(gpu);
    uint32_t want = (uint32_t)atoi(threads);
    fprintf(stderr, "LP_NUM_THREADS=%s%s: %u workers, pinned %d, calibration %.1f ms; %s\n",
            threads, leave ? " (leave)" : env_off ? " (NNXR_PIN_WORKERS=0)" : "",
            in->cpu_workers, in->cpu_workers_pinned, in->cpu_calibration_ms,
            in->cpu_workers_note);
    CHECKF(in->cpu_workers == want, "%u workers found, the pool has %u", in->cpu_workers, want);
    bool expect_pin = !leave && !env_off && want >= 2 && (int)want <= ncpu;
    CHECK(in->cpu_workers_pinned == expect_pin);
    CHECK(expect_pin || in->cpu_workers_note[0]);
    if (want > (uint32_t)ncpu && !leave && !env_off)
        CHECK(strstr(in->cpu_workers_note, "more workers than") != NULL);

    bool used[CPU_SETSIZE] = {false};
    for (uint32_t w = 0; w < in->cpu_workers; w++) {
        int tid = in->cpu_worker_tid[w];
        CHECK(tid != nnxr_gpu_thread_id());
        cpu_set_t m;
        CPU_ZERO(&m);
        CHECK(sched_getaffinity(tid, sizeof m, &m) == 0);
        if (expect_pin) {
            int c = in->cpu_worker_cpu[w];
            CHECKF(c >= 0 && CPU_COUNT(&m) == 1 && CPU_ISSET(c, &m) && CPU_ISSET(c, &mask0) &&
                       !used[c],
                   "worker %u (thread %d): cpu %d, %d CPUs in its mask", w, tid, c,
                   CPU_COUNT(&m));
            if (c >= 0 && c < CPU_SETSIZE)
                used[c] = true;
        } else {
            CHECK(in->cpu_worker_cpu[w] == -1);
            CHECK(CPU_EQUAL(&m, &mask0));
        }
    }
    allowed_cpus(&mask1);
    CHECK(CPU_EQUAL(&mask0, &mask1)); /* the caller's own mask stays as it was */

    /* The threads found are the ones that execute workgroups: each runs a share of a big
     * dispatch (4 × 64 workgroups per worker, ~10 ms of work each on lavapipe here). */
    uint64_t ran[NNXR_GPU_MAX_WORKERS] = {0};
    run_busy(gpu, 256 * (want ? want : 1), ran);
    for (uint32_t w = 0; w < in->cpu_workers; w++)
        CHECKF(ran[w] > 1000000, "worker %u ran %.3f ms of the dispatch", w, 1e-6 * ran[w]);
    tg_close(gpu);
}

int main(void)
{
    pick_on_made_up_times();
    nnxr_gpu *probe = tg_open((nnxr_gpu_options){.leave_cpu_workers = true});
    bool cpu = nnxr_gpu_get_info(probe)->is_cpu;
    if (!cpu)
        CHECK(nnxr_gpu_get_info(probe)->cpu_workers == 0);
    tg_close(probe);
    if (cpu && access("/proc/self/task", R_OK) == 0 && thread_ns(nnxr_gpu_thread_id()) == 0) {
        /* A kernel without per-thread schedstat: placement is unavailable and says why. */
        nnxr_gpu *g = tg_open((nnxr_gpu_options){0});
        CHECK(nnxr_gpu_get_info(g)->cpu_workers == 0 &&
              strstr(nnxr_gpu_get_info(g)->cpu_workers_note, "schedstat") != NULL);
        tg_close(g);
        fprintf(stderr, "no /proc/self/task/*/schedstat here: worker placement unavailable\n");
    } else if (cpu) {
        pool("2", false, false);
        pool("2", true, false);
        pool("2", false, true);
        pool("3", false, false);
        pool("1", false, false);
    } else {
        fprintf(stderr, "not a CPU device: worker placement is not used\n");
    }
    return check_finish();
}
