/* gpu/cpu_workers.c — where a CPU Vulkan device's worker threads run. A CPU device (lavapipe)
 * executes workgroups on a pool of its own threads, which sleep at the end of every dispatch
 * and are placed again by the OS at each wake-up. Measured on a 2-vCPU VM: once both workers
 * had last run on one vCPU the kernel kept waking them there, the other vCPU idle for 30 % of
 * the time and a compute-bound step 25 % slower, for seconds at a time. So we find the threads
 * that execute workgroups — created since nnxr_gpu_create began, and busy while a calibration
 * kernel runs — and pin each to its own CPU of the creating thread's affinity mask, as OpenMP's
 * OMP_PROC_BIND does for its threads. Nothing here can fail nnxr_gpu_create: what could not be
 * done is said in info.cpu_workers_note and the threads stay where the OS puts them. */
#include "gpu/internal.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

/* Threads that ran less than this share of the busiest one's time in the calibration are not
 * workers. Measured on lavapipe here: its queue thread ran 1–5 % of the busiest worker's
 * time, a thread that exists with the validation layer on up to 28 % of one 3 ms run (so the
 * runs are long), the workers 30 % or more even three of them sharing two CPUs. */
#define WORKER_SHARE 0.2
/* Calibration: runs, workgroups per allowed CPU in each and loop rounds per invocation —
 * ~10 ms a worker and run on lavapipe here, 25–35 ms in all. */
#define BUSY_RUNS 2
#define BUSY_GROUPS_PER_CPU 32
#define BUSY_ROUNDS 8000u

static bool read_ns(const char *path, uint64_t *ns)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    unsigned long long v = 0;
    bool ok = fscanf(f, "%llu", &v) == 1;
    fclose(f);
    *ns = v;
    return ok;
}

uint32_t nnxr_gpu_thread_times(nnxr_thread_time *out, uint32_t cap)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    uint32_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end || tid <= 0)
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", tid);
        uint64_t ns;
        if (read_ns(path, &ns))   /* a thread that ended meanwhile is simply not listed */
            out[n++] = (nnxr_thread_time){.tid = (int)tid, .ns = ns};
    }
    closedir(d);
    return n;
}

static const nnxr_thread_time *find(const nnxr_thread_time *t, uint32_t n, int tid)
{
    for (uint32_t i = 0; i < n; i++)
        if (t[i].tid == tid)
            return &t[i];
    return NULL;
}

static int by_tid(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static uint64_t ran_ns(const nnxr_thread_time *t, const nnxr_thread_time *before,
                       uint32_t nbefore)
{
    const nnxr_thread_time *b = find(before, nbefore, t->tid);
    /* A thread born during the calibration ran all its time in it. */
    return b && b->ns <= t->ns ? t->ns - b->ns : b ? 0 : t->ns;
}

uint32_t nnxr_gpu_pick_workers(const nnxr_thread_time *start, uint32_t nstart,
                               const nnxr_thread_time *before, uint32_t nbefore,
                               const nnxr_thread_time *after, uint32_t nafter, int self,
                               int *workers, uint32_t cap)
{
    uint64_t most = 0;
    for (uint32_t i = 0; i < nafter; i++)
        if (after[i].tid != self && !find(start, nstart, after[i].tid)) {
            uint64_t ran = ran_ns(&after[i], before, nbefore);
            most = ran > most ? ran : most;
        }
    uint32_t n = 0;
    for (uint32_t i = 0; i < nafter && most > 0 && n < cap; i++)
        if (after[i].tid != self && !find(start, nstart, after[i].tid) &&
            (double)ran_ns(&after[i], before, nbefore) >= WORKER_SHARE * (double)most)
            workers[n++] = after[i].tid;
    qsort(workers, n, sizeof *workers, by_tid);
    return n;
}

int nnxr_gpu_thread_id(void) { return (int)syscall(SYS_gettid); }

typedef struct busy_call {
    nnxr_gpu *gpu;
    nnxr_kernel *kernel;
    nnxr_binding *binding;
    uint32_t groups, rounds;
    bool ok;
    nnxr_error *err;
} busy_call;

static void record_busy(VkCommandBuffer cmd, void *user)
{
    busy_call *c = user;
    c->ok = nnxr_gpu_cmd_dispatch(c->gpu, cmd, c->kernel, c->binding, &c->rounds,
                                  sizeof c->rounds, c->groups, 1, 1, c->err);
}

/* Runs the calibration kernel on `groups` workgroups BUSY_RUNS times and picks the workers
 * from the CPU time each thread ran over all of them: a worker that woke after the others had
 * taken one run's workgroups takes part in the other, and a thread that ran a while once stays
 * small next to the workers' sum. A one-workgroup run
 * first: lavapipe compiles a pipeline's code at its first dispatch, on its queue thread. */
static bool calibrate(nnxr_gpu *gpu, const nnxr_thread_time *start, uint32_t nstart,
                      uint32_t groups, int *workers, uint32_t *count, nnxr_error *err)
{
    enum { CAP = 4096 };
    nnxr_kernel_desc kd = {.shader = "gpu/busy.comp", .buffer_count = 1, .written_mask = 1,
                           .push_size = sizeof(uint32_t)};
    nnxr_buffer_desc bd = {.name = "cpu-worker calibration", .kind = NNXR_BUFFER_DEVICE,
                           .size = (VkDeviceSize)groups * 64 * sizeof(uint32_t)};
    busy_call c = {.gpu = gpu, .groups = 1, .rounds = 1, .err = err};
    nnxr_buffer *sink = NULL;
    nnxr_thread_time *before = malloc(2 * CAP * sizeof *before);
    nnxr_thread_time *after = before ? before + CAP : NULL;
    bool ok = (before || nnxr_fail(err, "out of memory")) &&
              nnxr_kernel_create(gpu, &kd, &c.kernel, err) &&
              nnxr_buffer_create(gpu, &bd, &sink, err);
    if (ok) {
        nnxr_buffer_slot slot = {.buffer = sink};
        ok = nnxr_binding_create(gpu, c.kernel, &slot, 1, &c.binding, err);
    }
    ok = ok && nnxr_gpu_submit_once(gpu, record_busy, &c, err) && c.ok;
    c.groups = groups;
    c.rounds = BUSY_ROUNDS;
    *count = 0;
    uint32_t nbefore = ok ? nnxr_gpu_thread_times(before, CAP) : 0;
    for (int r = 0; ok && r < BUSY_RUNS; r++)
        ok = nnxr_gpu_submit_once(gpu, record_busy, &c, err) && c.ok;
    uint32_t nafter = ok ? nnxr_gpu_thread_times(after, CAP) : 0;
    if (ok && nafter == 0)
        ok = nnxr_fail(err, "no per-thread CPU times (/proc/self/task/*/schedstat)");
    if (ok)
        *count = nnxr_gpu_pick_workers(start, nstart, before, nbefore, after, nafter,
                                       nnxr_gpu_thread_id(), workers, NNXR_GPU_MAX_WORKERS);
    free(before);
    nnxr_binding_destroy(gpu, c.binding);
    nnxr_buffer_destroy(gpu, sink);
    nnxr_kernel_destroy(gpu, c.kernel);
    return ok;
}

static void note(nnxr_gpu_info *in, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->cpu_workers_note, sizeof in->cpu_workers_note, fmt, ap);
    va_end(ap);
    NNXR_INFO("gpu: the CPU device's worker threads are not pinned: %s", in->cpu_workers_note);
}

void nnxr_gpu_place_cpu_workers(nnxr_gpu *gpu, const nnxr_thread_time *start, uint32_t nstart,
                                bool pin)
{
    nnxr_gpu_info *in = &gpu->info;
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        note(in, "the creating thread's CPU mask is unreadable (%s)", strerror(errno));
        return;
    }
    int cpus[CPU_SETSIZE], ncpu = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &allowed))
            cpus[ncpu++] = c;

    nnxr_error err;
    nnxr_error_clear(&err);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int tids[NNXR_GPU_MAX_WORKERS];
    uint32_t n = 0;
    bool ran = calibrate(gpu, start, nstart, (uint32_t)ncpu * BUSY_GROUPS_PER_CPU, tids, &n,
                         &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    in->cpu_calibration_ms =
        1e3 * (double)(t1.tv_sec - t0.tv_sec) + 1e-6 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (!ran) {
        note(in, "the calibration failed: %s", err.message);
        n = 0;
    } else if (n == 0) {
        note(in, "no driver thread ran the calibration kernel (the caller's thread does the "
                 "work)");
    }
    in->cpu_workers = n;
    for (uint32_t k = 0; k < n; k++) {
        in->cpu_worker_tid[k] = tids[k];
        in->cpu_worker_cpu[k] = -1;
    }
    if (n == 0)
        return;
    if (!pin) {
        note(in, "left to the OS (NNXR_PIN_WORKERS=0 or the caller's choice)");
        return;
    }
    if (n < 2) {
        note(in, "one worker: nothing to keep apart");
        return;
    }
    if ((int)n > ncpu) {
        note(in, "more workers than the %d CPUs this process may use: left to the OS", ncpu);
        return;
    }
    for (uint32_t k = 0; k < n; k++) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[k], &one);
        if (sched_setaffinity(in->cpu_worker_tid[k], sizeof one, &one) != 0) {
            /* All or none: a half-pinned pool would crowd the unpinned ones' CPUs. */
            int why = errno;
            for (uint32_t j = 0; j < k; j++) {
                sched_setaffinity(in->cpu_worker_tid[j], sizeof allowed, &allowed);
                in->cpu_worker_cpu[j] = -1;
            }
            note(in, "pinning a worker failed: %s", strerror(why));
            return;
        }
        in->cpu_worker_cpu[k] = cpus[k];
    }
    in->cpu_workers_pinned = true;
    NNXR_INFO("gpu: the CPU device's %u worker threads pinned one per CPU (calibration %.1f ms)",
              n, in->cpu_calibration_ms);
}
