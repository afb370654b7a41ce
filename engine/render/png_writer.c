/* render/png_writer.c — PNG encoding with libpng (fast settings) and the writer thread. */
#include "render/png_writer.h"

#include <errno.h>
#include <png.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"

#define QUEUE 4

typedef struct job {
    char path[4096];
    uint8_t *rgba;
    uint32_t width, height;
} job;

struct nnxr_png_writer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    job jobs[QUEUE];
    size_t head, len;
    bool stop;
    int level;
    bool failed;
    nnxr_error first_error;
};

bool nnxr_png_write(const char *path, const uint8_t *rgba, uint32_t width, uint32_t height,
                    int level, nnxr_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return nnxr_fail(err, "%s: cannot write: %s", tmp, strerror(errno));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = malloc(height * sizeof *rows);
    if (!png || !info || !rows) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        fclose(f);
        unlink(tmp);
        return nnxr_fail(err, "%s: out of memory for PNG encoding", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        fclose(f);
        unlink(tmp);
        return nnxr_fail(err, "%s: PNG encoding failed", path);
    }
    png_init_io(png, f);
    png_set_compression_level(png, level);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    for (uint32_t y = 0; y < height; y++)
        rows[y] = (png_bytep)(rgba + (size_t)y * width * 4);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    bool ok = fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return nnxr_fail(err, "%s: cannot write: %s", path, strerror(errno));
    }
    return true;
}

bool nnxr_png_read(const char *path, uint8_t **rgba, uint32_t *width, uint32_t *height,
                   nnxr_error *err)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path))
        return nnxr_fail(err, "%s: cannot read PNG: %s", path, im.message);
    im.format = PNG_FORMAT_RGBA;
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(im));
    if (!buf) {
        png_image_free(&im);
        return nnxr_fail(err, "%s: out of memory", path);
    }
    if (!png_image_finish_read(&im, NULL, buf, 0, NULL)) {
        free(buf);
        return nnxr_fail(err, "%s: cannot decode PNG: %s", path, im.message);
    }
    *rgba = buf;
    *width = im.width;
    *height = im.height;
    return true;
}

static void *worker(void *arg)
{
    nnxr_png_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->len == 0 && !w->stop)
            pthread_cond_wait(&w->changed, &w->lock);
        if (w->len == 0 && w->stop)
            break;
        job j = w->jobs[w->head];
        pthread_mutex_unlock(&w->lock);
        nnxr_error err;
        bool ok = nnxr_png_write(j.path, j.rgba, j.width, j.height, w->level, &err);
        free(j.rgba);
        pthread_mutex_lock(&w->lock);
        if (!ok && !w->failed) {
            w->failed = true;
            w->first_error = err;
        }
        /* The slot is freed only now, so a full queue really bounds memory. */
        w->head = (w->head + 1) % QUEUE;
        w->len--;
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

bool nnxr_png_writer_create(int level, nnxr_png_writer **out, nnxr_error *err)
{
    nnxr_png_writer *w = calloc(1, sizeof *w);
    if (!w)
        return nnxr_fail(err, "out of memory");
    w->level = level;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->changed, NULL);
    if (pthread_create(&w->thread, NULL, worker, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->changed);
        free(w);
        return nnxr_fail(err, "cannot start the PNG writer thread");
    }
    *out = w;
    return true;
}

void nnxr_png_writer_submit(nnxr_png_writer *w, const char *path, uint8_t *rgba,
                            uint32_t width, uint32_t height)
{
    pthread_mutex_lock(&w->lock);
    while (w->len == QUEUE)
        pthread_cond_wait(&w->changed, &w->lock);
    job *j = &w->jobs[(w->head + w->len) % QUEUE];
    snprintf(j->path, sizeof j->path, "%s", path);
    j->rgba = rgba;
    j->width = width;
    j->height = height;
    w->len++;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
}

bool nnxr_png_writer_finish(nnxr_png_writer *w, nnxr_error *err)
{
    if (!w)
        return true;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    bool ok = !w->failed;
    if (!ok && err)
        *err = w->first_error;
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->changed);
    free(w);
    return ok;
}
