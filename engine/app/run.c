/* app/run.c — `nnxr run`, `nnxr check` and `nnxr plugins`: choosing where a scene runs, the
 * frame loop in DESIGN.md's fixed order (input → update → commands → training → simulation
 * → drawing → present → audio), and a headless run's outputs: frames/NNNNNN.png,
 * metrics.jsonl, scene.resolved.toml and summary.json. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "app/cli.h"
#include "app/cloud.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/status.h"
#include "render/target.h"
#include "render/png_writer.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_VALIDATION = 3 };

#define HEADLESS_DEFAULT_FRAMES 300

static volatile sig_atomic_t g_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- scenes by name ------------------------------------------------------------------------ */

/* A scene given as a bare name ("default" or "default.toml") that is not a file here is looked
 * up among the shipped scenes: share/nnxr/configs beside the binary (the build tree and an
 * install share this layout), then the install prefix. */
static const char *resolve_scene(const char *given, char *buf, size_t n)
{
    if (nnxr_is_file(given) || strchr(given, '/'))
        return given;
    const char *ext = strlen(given) > 5 && !strcmp(given + strlen(given) - 5, ".toml") ? "" : ".toml";
    char exe[3072];
    if (nnxr_exe_dir(exe, sizeof exe)) {
        snprintf(buf, n, "%s/../share/nnxr/configs/%s%s", exe, given, ext);
        if (nnxr_is_file(buf))
            return buf;
    }
    snprintf(buf, n, "%s/share/nnxr/configs/%s%s", NNXR_INSTALL_PREFIX, given, ext);
    return nnxr_is_file(buf) ? buf : given;
}

/* ---- options ------------------------------------------------------------------------------ */

typedef struct run_options {
    const char *scene;
    bool headless;
    long long frames;  /* -1: from the scene */
    double seconds;    /* < 0: from the scene */
    const char *out;
    const char *device;
    bool validate;
    bool verbose;
} run_options;

static const char run_usage[] =
    "usage: nnxr run SCENE.toml [options]\n"
    "\n"
    "Runs a scene: trains its model and shows it in a headset, a window, or headless.\n"
    "SCENE may also name a shipped scene (nnxr run default).\n"
    "\n"
    "options:\n"
    "  --headless          render offscreen whatever the scene's mode says\n"
    "  --frames N          stop after N frames\n"
    "  --seconds S         stop after S seconds of wall-clock time\n"
    "  --out DIR           output folder (default out/SCENE-NAME)\n"
    "  --device NAME|INDEX the Vulkan device: an index from `nnxr devices`, or part of its name\n"
    "  --validate          Vulkan validation layers on (also NNXR_VALIDATE=1); any warning or\n"
    "                      error they report makes the exit status 3\n"
    "  --verbose           log more\n"
    "  --help              this text\n"
    "\n"
    "A headless run writes under the output folder: frames/NNNNNN.png (every [view]\n"
    "frame_every frames, and the last), metrics.jsonl, scene.resolved.toml, summary.json;\n"
    "a scene with a [model] also checkpoint.npz and the [train] export files; one with\n"
    "[cloud] also labels.journal (replayed when a run goes on in the same folder), labels.npy\n"
    "and labels.csv.\n"
    "Exit status: 0 done, 1 error, 2 bad usage, 3 validation messages were reported.\n";

static bool parse_number(const char *flag, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < 0) {
        fprintf(stderr, "nnxr run: %s expects a non-negative number, got '%s'\n", flag, text);
        return false;
    }
    *out = v;
    return true;
}

static int parse_run_options(int argc, char **argv, run_options *o)
{
    memset(o, 0, sizeof *o);
    o->frames = -1;
    o->seconds = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        double num;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(run_usage, stdout);
            return -1;
        } else if (!strcmp(a, "--headless")) {
            o->headless = true;
        } else if (!strcmp(a, "--validate")) {
            o->validate = true;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            o->verbose = true;
        } else if (!strcmp(a, "--frames") || !strcmp(a, "--seconds") || !strcmp(a, "--out") ||
                   !strcmp(a, "--device")) {
            if (!next) {
                fprintf(stderr, "nnxr run: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            i++;
            if (!strcmp(a, "--out")) {
                o->out = next;
            } else if (!strcmp(a, "--device")) {
                o->device = next;
            } else {
                if (!parse_number(a, next, &num))
                    return EXIT_USAGE;
                if (!strcmp(a, "--frames")) {
                    if (num != floor(num) || num > 1e15) {
                        fprintf(stderr, "nnxr run: --frames expects a whole number, got '%s'\n",
                                next);
                        return EXIT_USAGE;
                    }
                    o->frames = (long long)num;
                } else {
                    o->seconds = num;
                }
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "nnxr run: unknown option '%s' (see nnxr run --help)\n", a);
            return EXIT_USAGE;
        } else if (o->scene) {
            fprintf(stderr, "nnxr run: one scene at a time ('%s' and '%s')\n", o->scene, a);
            return EXIT_USAGE;
        } else {
            o->scene = a;
        }
    }
    if (!o->scene) {
        fprintf(stderr, "nnxr run: which scene? (usage: nnxr run SCENE.toml [options])\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static bool env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0");
}

/* ---- outputs ------------------------------------------------------------------------------ */

static bool write_resolved(FILE *f, void *user)
{
    return nnxr_scene_write_resolved(user, f);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

typedef struct run_summary {
    const nnxr_app *app;
    const char *mode;
    uint64_t frames;
    uint64_t frames_written;
    double wall;
    double gpu_ms_compute, gpu_ms_draw; /* means per frame, from timestamps; < 0: unknown */
    const char *ended;
    uint32_t validation;
} run_summary;

static const char *device_type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static bool write_summary(FILE *f, void *user)
{
    const run_summary *s = user;
    const nnxr_gpu_info *gi = s->app->gpu ? nnxr_gpu_get_info(s->app->gpu) : NULL;
    fprintf(f, "{\n  \"scene\": ");
    json_string(f, s->app->scene->scene.name);
    fprintf(f, ",\n  \"scene_file\": ");
    json_string(f, s->app->scene->path);
    fprintf(f, ",\n  \"mode\": \"%s\",\n  \"device\": ", s->mode);
    json_string(f, gi ? gi->properties.deviceName : "");
    fprintf(f, ",\n  \"device_type\": \"%s\",\n",
            gi ? device_type_name(gi->properties.deviceType) : "none");
    if (gi && gi->is_cpu) {
        /* Where a CPU device's work ran: a run's speed depends on it (gpu/cpu_workers.c). */
        fprintf(f, "  \"cpu_workers\": {\"count\": %u, \"pinned_to\": ", gi->cpu_workers);
        if (gi->cpu_workers_pinned) {
            for (uint32_t w = 0; w < gi->cpu_workers; w++)
                fprintf(f, "%s%d", w ? ", " : "[", gi->cpu_worker_cpu[w]);
            fputc(']', f);
        } else {
            fputs("null", f);
        }
        fputs(", \"note\": ", f);
        json_string(f, gi->cpu_workers_note);
        fputs("},\n", f);
    }
    fprintf(f, "  \"frames\": %llu,\n  \"frames_written\": %llu,\n",
            (unsigned long long)s->frames, (unsigned long long)s->frames_written);
    fprintf(f, "  \"wall_seconds\": %.3f,\n  \"frames_per_second\": %.2f,\n", s->wall,
            s->wall > 0 ? (double)s->frames / s->wall : 0.0);
    fprintf(f, "  \"steps\": %llu,\n  \"steps_per_second\": %.2f,\n",
            (unsigned long long)s->app->train_step,
            s->wall > 0 ? (double)s->app->train_step / s->wall : 0.0);
    if (s->gpu_ms_compute >= 0)
        fprintf(f, "  \"gpu_ms_per_frame\": {\"compute\": %.3f, \"draw\": %.3f},\n",
                s->gpu_ms_compute, s->gpu_ms_draw);
    fprintf(f, "  \"validation_messages\": %u,\n  \"ended\": \"%s\"\n}\n", s->validation,
            s->ended);
    return !ferror(f);
}

/* ---- the frame loop ----------------------------------------------------------------------- */

typedef struct loop_state {
    nnxr_app *app;
    nnxr_target target;
    bool window;          /* the target is a desktop window */
    nnxr_recorder *rec;
    nnxr_png_writer *png;
    char out[4096];
    uint64_t max_frames;  /* 0 = none */
    double max_seconds;   /* 0 = none */
    uint64_t written;
    bool last_written;
    double compute_ns, draw_ns;
    uint64_t timed_frames;
} loop_state;

static void progress(const loop_state *st, double elapsed, bool final)
{
    double fps = elapsed > 0 ? (double)st->app->frame / elapsed : 0;
    double sps = elapsed > 0 ? (double)st->app->train_step / elapsed : 0;
    double left = -1;
    if (st->max_frames && fps > 0)
        left = (double)(st->max_frames - st->app->frame) / fps;
    if (st->max_seconds > 0) {
        double l2 = st->max_seconds - elapsed;
        left = left < 0 || l2 < left ? l2 : left;
    }
    char total[32] = "";
    if (st->max_frames)
        snprintf(total, sizeof total, "/%llu", (unsigned long long)st->max_frames);
    fprintf(stderr, "\r\033[Knnxr: frame %llu%s  %.1f frames/s  %.0f steps/s",
            (unsigned long long)st->app->frame, total, fps, sps);
    if (left >= 0 && !final)
        fprintf(stderr, "  %.0f s left", left < 0 ? 0 : left);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static bool write_frame(loop_state *st, uint64_t index, nnxr_error *err)
{
    nnxr_render_target_info ti;
    nnxr_target_info(&st->target, &ti);
    size_t bytes = (size_t)ti.width * ti.height * 4;
    uint8_t *rgba = malloc(bytes);
    if (!rgba)
        return nnxr_fail(err, "out of memory for a frame");
    if (!nnxr_target_pixels(&st->target, rgba, err)) {
        free(rgba);
        return false;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/frames/%06llu.png", st->out, (unsigned long long)index);
    nnxr_png_writer_submit(st->png, path, rgba, ti.width, ti.height);
    st->written++;
    return true;
}

/* Plugins build their pipelines for the target (again, after a window resize). */
static bool prepare_plugins(loop_state *st, nnxr_error *err)
{
    nnxr_app *app = st->app;
    nnxr_render_target_info ti;
    nnxr_target_info(&st->target, &ti);
    for (size_t i = 0; i < app->plugin_count; i++) {
        nnxr_plugin_instance *p = &app->plugins[i];
        if (!p->draw)
            continue;
        if (p->prepared && p->draw->release)
            p->draw->release(p->self);
        p->prepared = false;
        nnxr_error perr;
        nnxr_error_clear(&perr);
        if (p->draw->prepare && !p->draw->prepare(p->self, &ti, &perr))
            return nnxr_fail(err, "plugin '%s' (%s) cannot draw into the %ux%u target: %s",
                             p->id, p->lib.path, ti.width, ti.height, perr.message);
        p->prepared = true;
    }
    return true;
}

/* The desktop window's input: its camera moves inside the poll; keys become commands. */
static void window_input(loop_state *st, double dt)
{
    nnxr_window_input in;
    nnxr_window_poll(st->target.window, dt, &in);
    nnxr_error err;
    if (in.quit)
        st->app->quit = true;
    if (in.toggle_pause) {
        nnxr_command c = {.kind = NNXR_CMD_TOGGLE_PAUSE};
        nnxr_app_push_command(st->app, &c, &err);
    }
    if (in.screenshot) {
        nnxr_command c = {.kind = NNXR_CMD_SCREENSHOT};
        nnxr_app_push_command(st->app, &c, &err);
    }
}

static bool run_frame(loop_state *st, double t, double dt, nnxr_error *err)
{
    nnxr_app *app = st->app;
    nnxr_frame frame = {.index = app->frame, .time = t, .dt = dt, .paused = app->paused,
                        .train_step = app->train_step};
    app->metrics.frame = app->frame;
    app->metrics.step = app->train_step;
    app->metrics.time = t;

    /* 1. input: the desktop window's mouse and keys (XR and replay input come later). */
    if (st->window)
        window_input(st, dt);
    /* 2. plugins read the frame (gesture plugins queue commands here). */
    for (size_t i = 0; i < app->plugin_count; i++)
        if (app->plugins[i].update)
            app->plugins[i].update->update(app->plugins[i].self, &frame);
    /* 3. commands, between optimizer steps. */
    nnxr_app_apply_commands(app);
    frame.paused = app->paused;

    if (!nnxr_recorder_begin(st->rec, err))
        return false;
    VkCommandBuffer cmd = nnxr_recorder_cmd(st->rec);
    nnxr_recorder_mark(st->rec, "start", err);
    /* 4. training: as many optimizer steps as fit [train] budget_ms, replayed from the
     * trainer's own recording in one submission; the barrier puts this frame's work after
     * it (a barrier's first scope reaches back through earlier submissions on the queue). */
    if (app->trainer) {
        if (!nnxr_app_train_frame(app, err))
            return false;
        nnxr_recorder_barrier(st->rec);
        frame.paused = app->paused;
        frame.train_step = app->train_step;
        app->metrics.step = app->train_step;
    }
    /* 5. simulation: the latent cloud's steps, then plugins' compute work on the shared
     * buffers. */
    if (app->cloud && !nnxr_app_cloud_frame(app->cloud, st->rec, &frame, err))
        return false;
    for (size_t i = 0; i < app->plugin_count; i++)
        if (app->plugins[i].compute) {
            /* The extension promises that earlier work is complete and visible. */
            app->plugins[i].compute->record_compute(app->plugins[i].self,
                                                    nnxr_recorder_external_cmd(st->rec), &frame);
            nnxr_recorder_external(st->rec);
        }
    nnxr_recorder_mark(st->rec, "compute", err);
    /* 6. drawing, once per view, into the target's image (a window's may have to be remade
     * first, or there is none while it is minimised). */
    bool last = st->max_frames && app->frame + 1 >= st->max_frames;
    bool due = (!st->window && app->frame % (uint64_t)app->scene->view.frame_every == 0) ||
               last || app->screenshot;
    due = due && nnxr_target_can_read(&st->target);
    nnxr_window_frame got = nnxr_target_acquire(&st->target, err);
    if (got == NNXR_WINDOW_RESIZED) {
        if (!prepare_plugins(st, err))
            return false;
        got = nnxr_target_acquire(&st->target, err);
    }
    if (got == NNXR_WINDOW_ERROR)
        return false;
    bool drawn = got == NNXR_WINDOW_READY;
    if (drawn) {
        nnxr_view views[2];
        uint32_t nviews = nnxr_target_views(&st->target, views, 2);
        nnxr_target_begin(&st->target, cmd);
        for (uint32_t v = 0; v < nviews; v++) {
            nnxr_target_set_view(cmd, &views[v]);
            for (size_t i = 0; i < app->plugin_count; i++)
                if (app->plugins[i].draw && app->plugins[i].prepared)
                    app->plugins[i].draw->record_draw(app->plugins[i].self, cmd, &views[v],
                                                      &frame);
        }
        nnxr_target_end(&st->target, cmd, due);
        nnxr_recorder_external(st->rec);
    }
    nnxr_recorder_mark(st->rec, "draw", err);
    /* 7. present: one submission for the frame (presented in a window), then the PNG. */
    bool resized = false;
    if (drawn ? !nnxr_target_submit(&st->target, st->rec, &resized, err)
              : !nnxr_recorder_run(st->rec, err))
        return false;
    if (resized && !prepare_plugins(st, err))
        return false;
    double t0, t1, t2;
    if (nnxr_recorder_mark_ns(st->rec, "start", &t0) &&
        nnxr_recorder_mark_ns(st->rec, "compute", &t1) &&
        nnxr_recorder_mark_ns(st->rec, "draw", &t2)) {
        st->compute_ns += t1 - t0;
        st->draw_ns += t2 - t1;
        st->timed_frames++;
    }
    due = due && drawn && !resized;
    app->screenshot = false;
    st->last_written = due;
    if (due && !write_frame(st, app->frame, err))
        return false;
    /* 8. audio: the sonifier's seam (it reads metrics; FAudio mixes on its own thread). */
    app->frame++;
    return true;
}

/* --headless always wins; "auto" opens a window when there is a display and SDL can start
 * its video (no XR target yet), else runs headless. */
static const char *choose_mode(const nnxr_scene *s, const run_options *o, nnxr_error *err)
{
    if (o->headless || !strcmp(s->scene.mode, "headless"))
        return "headless";
    char why[512];
    if (!strcmp(s->scene.mode, "auto")) {
        if (nnxr_window_available(why, sizeof why))
            return "window";
        NNXR_INFO("no window (%s): running headless", why);
        return "headless";
    }
    if (!strcmp(s->scene.mode, "window")) {
        if (nnxr_window_available(why, sizeof why))
            return "window";
        nnxr_fail(err, "%s: [scene] mode = \"window\": cannot open a window: %s; run with "
                  "--headless or set mode = \"auto\"", s->path, why);
        return NULL;
    }
    nnxr_fail(err, "%s: [scene] mode = \"%s\": this build of nnxr has no OpenXR target yet; "
              "run with --headless or set mode = \"auto\"", s->path, s->scene.mode);
    return NULL;
}

static int run_scene(const run_options *o)
{
    nnxr_error err;
    nnxr_error_clear(&err);
    char scene_buf[4096];
    nnxr_scene *scene = nnxr_scene_load(resolve_scene(o->scene, scene_buf, sizeof scene_buf), &err);
    if (!scene) {
        fprintf(stderr, "nnxr: %s\n", err.message);
        return EXIT_ERROR;
    }
    const char *mode = choose_mode(scene, o, &err);
    if (!mode) {
        fprintf(stderr, "nnxr: %s\n", err.message);
        nnxr_scene_free(scene);
        return EXIT_ERROR;
    }

    loop_state st;
    memset(&st, 0, sizeof st);
    if (o->out)
        snprintf(st.out, sizeof st.out, "%s", o->out);
    else
        snprintf(st.out, sizeof st.out, "out/%s", scene->scene.name);
    char frames_dir[4200], path[4200];
    snprintf(frames_dir, sizeof frames_dir, "%s/frames", st.out);
    if (!nnxr_mkdirs(frames_dir, &err)) {
        fprintf(stderr, "nnxr: %s\n", err.message);
        nnxr_scene_free(scene);
        return EXIT_ERROR;
    }

    nnxr_gpu_options gopt = {.app_name = "nnxr", .validate = o->validate, .device = o->device,
                             .graphics = true};
    float eye[3], look_at[3];
    for (int i = 0; i < 3; i++) {
        eye[i] = (float)scene->view.eye[i];
        look_at[i] = (float)scene->view.target[i];
    }
    /* A window is opened before the GPU: its surface decides the instance extensions. */
    static const char *const swapchain_ext[] = {VK_KHR_SWAPCHAIN_EXTENSION_NAME};
    st.window = !strcmp(mode, "window");
    if (st.window) {
        char title[256];
        snprintf(title, sizeof title, "nnxr — %s", scene->scene.name);
        st.target.kind = NNXR_TARGET_WINDOW;
        if (!nnxr_window_open(title, (uint32_t)scene->view.width, (uint32_t)scene->view.height,
                              eye, look_at, (float)scene->view.fov, &st.target.window, &err)) {
            fprintf(stderr, "nnxr: %s\n", err.message);
            nnxr_scene_free(scene);
            return EXIT_ERROR;
        }
        nnxr_window_instance_extensions(st.target.window, &gopt.instance_extensions,
                                        &gopt.instance_extension_count);
        gopt.device_extensions = swapchain_ext;
        gopt.device_extension_count = 1;
    }
    nnxr_app app;
    snprintf(path, sizeof path, "%s/metrics.jsonl", st.out);
    if (!nnxr_app_init(&app, scene, &gopt, path, &err)) {
        fprintf(stderr, "nnxr: %s\n", err.message);
        nnxr_target_destroy(&st.target);
        nnxr_scene_free(scene);
        return EXIT_ERROR;
    }
    st.app = &app;
    int status = EXIT_OK;
    run_summary sum = {.app = &app, .mode = mode, .gpu_ms_compute = -1, .ended = "completed"};

    float clear[3] = {(float)scene->view.background[0], (float)scene->view.background[1],
                      (float)scene->view.background[2]};
    st.target.stereo = scene->view.stereo;
    st.target.ipd = (float)scene->view.ipd;
    bool ok = nnxr_app_ensure_gpu(&app, &err) &&
              (st.window ? nnxr_window_attach(st.target.window, app.gpu,
                                              (uint32_t)scene->view.samples, clear, &err)
                         : nnxr_offscreen_create(app.gpu, (uint32_t)scene->view.width,
                                                 (uint32_t)scene->view.height,
                                                 (uint32_t)scene->view.samples, clear,
                                                 &st.target.offscreen, &err)) &&
              nnxr_recorder_create(app.gpu, 8, &st.rec, &err) &&
              nnxr_app_start_training(&app, &err) &&
              nnxr_app_cloud_start(&app, st.out, &err) && nnxr_app_load_plugins(&app, &err) &&
              nnxr_png_writer_create((int)scene->view.png_compression, &st.png, &err);
    if (ok && !st.window) {
        nnxr_render_target_info ti;
        nnxr_target_info(&st.target, &ti);
        nnxr_view_look_at(&st.target.fixed_view, eye, look_at, (float)scene->view.fov,
                          ti.width, ti.height);
    }
    ok = ok && prepare_plugins(&st, &err);
    snprintf(path, sizeof path, "%s/scene.resolved.toml", st.out);
    ok = ok && nnxr_write_atomic_with(path, write_resolved, scene, &err);

    if (ok) {
        st.max_frames = o->frames >= 0 ? (uint64_t)o->frames : (uint64_t)scene->scene.frames;
        st.max_seconds = o->seconds >= 0 ? o->seconds : scene->scene.seconds;
        if (!st.max_frames && st.max_seconds <= 0)
            st.max_frames = HEADLESS_DEFAULT_FRAMES;

        g_interrupted = 0;
        struct sigaction sa = {.sa_handler = on_interrupt}, old_int, old_term;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        bool tty = isatty(STDERR_FILENO);
        double start = now_seconds(), last_progress = start, last_frame = start;
        double dt = 1.0 / scene->view.fps;
        while (ok) {
            if (st.max_frames && app.frame >= st.max_frames)
                break;
            double elapsed = now_seconds() - start;
            if (st.max_seconds > 0 && elapsed >= st.max_seconds && app.frame > 0) {
                sum.ended = "time limit";
                break;
            }
            if (app.quit) {
                sum.ended = st.window ? "window closed" : "quit";
                break;
            }
            if (g_interrupted) {
                sum.ended = "interrupted";
                break;
            }
            /* Headless time advances in fixed steps; a window's runs on the wall clock. */
            if (st.window) {
                /* A display without vsync (Xvfb) would run unpaced: hold to [view] fps. */
                double wait = last_frame + dt - now_seconds();
                if (app.frame && wait > 0)
                    usleep((useconds_t)(wait * 1e6));
                double now = now_seconds();
                ok = run_frame(&st, now - start, app.frame ? now - last_frame : 0.0, &err);
                last_frame = now;
            } else {
                ok = run_frame(&st, (double)app.frame * dt, app.frame ? dt : 0.0, &err);
            }
            if (tty && now_seconds() - last_progress > 0.25) {
                progress(&st, now_seconds() - start, false);
                last_progress = now_seconds();
            }
        }
        /* The last image of a headless run is always on disk. */
        if (ok && app.frame > 0 && !st.last_written && !st.window)
            ok = write_frame(&st, app.frame - 1, &err);
        sum.wall = now_seconds() - start;
        if (tty)
            progress(&st, sum.wall, true);
        /* The trained model: a last evaluation, the final checkpoint and the exports. */
        if (ok && app.trainer) {
            snprintf(path, sizeof path, "%s/checkpoint.npz", st.out);
            ok = nnxr_trainer_evaluate(app.trainer, nnxr_trainer_eval_set(app.trainer), NULL,
                                       &err) &&
                 nnxr_trainer_save_checkpoint(app.trainer, path, &err) &&
                 nnxr_trainer_export(app.trainer, st.out, NULL, &err);
        }
        if (ok && app.cloud)
            ok = nnxr_app_cloud_finish(app.cloud, st.out, &err);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (st.timed_frames) {
            sum.gpu_ms_compute = st.compute_ns / (double)st.timed_frames * 1e-6;
            sum.gpu_ms_draw = st.draw_ns / (double)st.timed_frames * 1e-6;
        }
    }
    nnxr_error png_err;
    if (!nnxr_png_writer_finish(st.png, &png_err) && ok) {
        err = png_err;
        ok = false;
    }
    sum.frames = app.frame;
    sum.frames_written = st.written;
    if (!ok) {
        fprintf(stderr, "nnxr: %s\n", err.message);
        status = EXIT_ERROR;
        sum.ended = "error";
    }
    nnxr_recorder_destroy(st.rec);
    /* Plugins release their draw resources before the target goes. */
    for (size_t i = 0; i < app.plugin_count; i++)
        if (app.plugins[i].draw && app.plugins[i].prepared && app.plugins[i].draw->release) {
            app.plugins[i].draw->release(app.plugins[i].self);
            app.plugins[i].prepared = false;
        }
    nnxr_target_destroy(&st.target);
    if (app.gpu)
        sum.validation = nnxr_gpu_validation_count(app.gpu);
    if (app.gpu || app.frame > 0) {
        snprintf(path, sizeof path, "%s/summary.json", st.out);
        nnxr_error serr;
        if (!nnxr_write_atomic_with(path, write_summary, &sum, &serr)) {
            fprintf(stderr, "nnxr: %s\n", serr.message);
            status = EXIT_ERROR;
        }
    }
    uint32_t validation = nnxr_app_shutdown(&app);
    nnxr_scene_free(scene);
    if (status == EXIT_OK && validation > 0) {
        fprintf(stderr, "nnxr: the Vulkan validation layers reported %u warning(s) or "
                "error(s) (see above)\n", validation);
        status = EXIT_VALIDATION;
    }
    if (status == EXIT_OK)
        printf("%s: %llu frames in %.2f s, %llu written to %s/frames\n", o->scene,
               (unsigned long long)sum.frames, sum.wall, (unsigned long long)sum.frames_written,
               st.out);
    return status;
}

int nnxr_cli_run(int argc, char **argv)
{
    run_options o;
    int r = parse_run_options(argc, argv, &o);
    if (r != EXIT_OK)
        return r < 0 ? EXIT_OK : r;
    if (env_flag("NNXR_VALIDATE"))
        o.validate = true;
    if (o.verbose)
        nnxr_log_set_level(NNXR_LOG_INFO);
    return run_scene(&o);
}

/* ---- check -------------------------------------------------------------------------------- */

static const char check_usage[] =
    "usage: nnxr check SCENE.toml [--validate]\n"
    "       nnxr check --schema      (every scene key, as the Markdown of docs/scenes.md)\n"
    "\n"
    "Parses and validates a scene, loads and creates its plugins (which validate their own\n"
    "keys), and prints the scene with every default filled in. Exit status 0 when the scene\n"
    "would run, 1 with a message naming the file, line:column and key otherwise.\n";

int nnxr_cli_check(int argc, char **argv)
{
    const char *path = NULL;
    bool validate = env_flag("NNXR_VALIDATE");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(check_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--validate")) {
            validate = true;
        } else if (!strcmp(argv[i], "--schema")) {
            nnxr_scene_write_schema_markdown(stdout);
            return EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "nnxr check: unknown option '%s'\n", argv[i]);
            return EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "nnxr check: one scene at a time\n");
            return EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "nnxr check: which scene? (usage: nnxr check SCENE.toml)\n");
        return EXIT_USAGE;
    }
    nnxr_error err;
    nnxr_error_clear(&err);
    char scene_buf[4096];
    nnxr_scene *scene = nnxr_scene_load(resolve_scene(path, scene_buf, sizeof scene_buf), &err);
    if (!scene) {
        fprintf(stderr, "nnxr: %s\n", err.message);
        return EXIT_ERROR;
    }
    nnxr_gpu_options gopt = {.app_name = "nnxr", .validate = validate, .graphics = true};
    nnxr_app app;
    bool ok = nnxr_app_init(&app, scene, &gopt, NULL, &err) &&
              nnxr_app_start_training(&app, &err) && nnxr_app_cloud_start(&app, NULL, &err) &&
              nnxr_app_load_plugins(&app, &err);
    if (ok) {
        for (size_t i = 0; i < app.plugin_count; i++)
            printf("# plugin %s: %s\n", app.plugins[i].id, app.plugins[i].lib.path);
        nnxr_scene_write_resolved(scene, stdout);
    } else {
        fprintf(stderr, "nnxr: %s\n", err.message);
    }
    uint32_t validation = nnxr_app_shutdown(&app);
    nnxr_scene_free(scene);
    if (!ok)
        return EXIT_ERROR;
    return validation ? EXIT_VALIDATION : EXIT_OK;
}

/* ---- plugins ------------------------------------------------------------------------------ */

typedef struct plugin_listing {
    bool json;
    size_t count;
} plugin_listing;

static void list_one(const char *path, const nnxr_plugin_entry *entry, const char *problem,
                     void *user)
{
    plugin_listing *l = user;
    if (l->json) {
        printf("%s\n  {\"path\": ", l->count ? "," : "");
        json_string(stdout, path);
        if (entry) {
            printf(", \"id\": ");
            json_string(stdout, entry->id);
            printf(", \"abi_version\": %u, \"description\": ", entry->abi_version);
            json_string(stdout, entry->description ? entry->description : "");
        } else {
            printf(", \"problem\": ");
            json_string(stdout, problem);
        }
        printf("}");
    } else if (entry) {
        printf("%-24s ABI %-3u %s\n%24s          %s\n", entry->id, entry->abi_version,
               entry->description ? entry->description : "", "", path);
    } else {
        printf("%-24s refused: %s\n%24s          %s\n", "(unusable)", problem, "", path);
    }
    l->count++;
}

int nnxr_cli_plugins(int argc, char **argv)
{
    plugin_listing l = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: nnxr plugins [--json]\n\nLists the plugins in the search path "
                   "(NNXR_PLUGIN_PATH, then lib/nnxr/plugins beside the nnxr binary, then %s/%s)"
                   ": id, ABI version, description and path, and the libraries that cannot be "
                   "used, with why.\n", NNXR_INSTALL_PREFIX, NNXR_PLUGIN_INSTALL_DIR);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            l.json = true;
        } else {
            fprintf(stderr, "nnxr plugins: unknown argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (l.json)
        printf("[");
    nnxr_plugin_scan(list_one, &l);
    if (l.json)
        printf("%s]\n", l.count ? "\n" : "");
    else if (!l.count)
        fprintf(stderr, "nnxr: no plugins found (NNXR_PLUGIN_PATH adds folders)\n");
    return EXIT_OK;
}
