/* tests/unit/test_gpu_cache.c — the pipeline cache on disk: the file appears in
 * NNXR_CACHE_DIR (named by the device's pipelineCacheUUID) after destroy, a second run loads
 * it, garbage and a foreign header are ignored without error, no temporary file is left, and
 * the XDG_CACHE_HOME and HOME fallbacks are where they should be. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_gpu_util.h"

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Creates a gpu, makes one pipeline so the cache has content, and returns what it loaded. */
static size_t run_once(char *path_out, size_t path_size)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    size_t loaded = info->pipeline_cache_loaded;
    snprintf(path_out, path_size, "%s", info->pipeline_cache_path);
    /* Named by the pipelineCacheUUID, so another driver never reads it. */
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++)
        snprintf(uuid + 2 * i, 3, "%02x", info->properties.pipelineCacheUUID[i]);
    CHECK_CONTAINS(path_out, uuid);
    nnxr_kernel *k = NULL;
    nnxr_kernel_desc kd = {.shader = "test/saxpy.comp", .buffer_count = 2, .written_mask = 2,
                           .push_size = 8};
    TG_OK(nnxr_kernel_create(gpu, &kd, &k, &e_));
    nnxr_kernel_destroy(gpu, k);
    tg_close(gpu);
    return loaded;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

int main(void)
{
    char base[512];
    snprintf(base, sizeof base, "%s/gpu-cache-XXXXXX", NNXR_TEST_OUT);
    if (!mkdtemp(base)) {
        snprintf(base, sizeof base, "/tmp/nnxr-gpu-cache-XXXXXX");
        if (!mkdtemp(base)) {
            perror("mkdtemp");
            return 1;
        }
    }
    char dir[600];
    snprintf(dir, sizeof dir, "%s/nested/cache", base); /* created on save */
    setenv("NNXR_CACHE_DIR", dir, 1);

    char path[1024], path2[1024];
    size_t loaded = run_once(path, sizeof path);
    CHECK(loaded == 0); /* nothing there yet */
    CHECKF(strncmp(path, dir, strlen(dir)) == 0, "cache path %s not in %s", path, dir);
    long size = file_size(path);
    /* At least the 32-byte header (a driver that caches nothing, like lavapipe, writes just
     * that). */
    CHECKF(size >= 32, "cache file %s: size %ld", path, size);
    CHECK(count_entries(dir) == 1); /* no temporary left behind */

    loaded = run_once(path2, sizeof path2);
    CHECK(strcmp(path, path2) == 0);
    CHECKF((long)loaded == size, "second run loaded %zu bytes of %ld", loaded, size);

    /* Garbage: ignored, no validation message, and replaced by a good file at destroy. */
    write_bytes(path, "this is not a pipeline cache, not even close", 44);
    loaded = run_once(path2, sizeof path2);
    CHECK(loaded == 0);
    CHECKF(run_once(path2, sizeof path2) == (size_t)file_size(path), "garbage not replaced");

    /* A well-formed header from another driver (UUID byte flipped): ignored too. */
    FILE *f = fopen(path, "rb");
    unsigned char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    CHECK(n >= 32);
    if (n >= 32) {
        buf[20] ^= 0xff;
        write_bytes(path, buf, n);
        CHECK(run_once(path2, sizeof path2) == 0);
        /* And the truncated header. */
        buf[20] ^= 0xff;
        write_bytes(path, buf, 20);
        CHECK(run_once(path2, sizeof path2) == 0);
    }
    CHECK(run_once(path2, sizeof path2) > 0); /* good again */

    /* Fallbacks: $XDG_CACHE_HOME/nnxr, then ~/.cache/nnxr. */
    unsetenv("NNXR_CACHE_DIR");
    char xdg[600], want[700];
    snprintf(xdg, sizeof xdg, "%s/xdg", base);
    setenv("XDG_CACHE_HOME", xdg, 1);
    run_once(path2, sizeof path2);
    snprintf(want, sizeof want, "%s/nnxr/pipelines-", xdg);
    CHECKF(strncmp(path2, want, strlen(want)) == 0, "%s does not start with %s", path2, want);
    CHECK(file_size(path2) >= 32);
    unsetenv("XDG_CACHE_HOME");
    char home[600];
    snprintf(home, sizeof home, "%s/home", base);
    setenv("HOME", home, 1);
    run_once(path2, sizeof path2);
    snprintf(want, sizeof want, "%s/.cache/nnxr/pipelines-", home);
    CHECKF(strncmp(path2, want, strlen(want)) == 0, "%s does not start with %s", path2, want);
    CHECK(file_size(path2) >= 32);

    return check_finish();
}
