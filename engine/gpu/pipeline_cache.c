/* gpu/pipeline_cache.c — the VkPipelineCache kept on disk between runs. One file per
 * pipelineCacheUUID, so another driver or device never reads it; its header is checked before
 * the driver sees the data; a bad file is ignored (debug message) and a write goes to a
 * temporary file that is synced and renamed into place, so a crash never leaves half a file. */
#include "gpu/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

/* More than this is not a cache we wrote (a few MB is typical). */
#define CACHE_MAX_BYTES ((size_t)256 << 20)
#define HEADER_BYTES 32 /* VkPipelineCacheHeaderVersionOne */

void nnxr_gpu_cache_dir(const char *override, char *out, size_t out_size)
{
    const char *v;
    if (override && *override)
        snprintf(out, out_size, "%s", override);
    else if ((v = getenv("NNXR_CACHE_DIR")) && *v)
        snprintf(out, out_size, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v)
        snprintf(out, out_size, "%s/nnxr", v);
    else if ((v = getenv("HOME")) && *v)
        snprintf(out, out_size, "%s/.cache/nnxr", v);
    else
        out[0] = '\0'; /* nowhere to keep it: run without a cache file */
}

static uint32_t read_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether data is a cache the current device wrote (the header layout is fixed by the spec:
 * length, version, vendorID, deviceID, pipelineCacheUUID, all little-endian on our hosts). */
static bool header_matches(const nnxr_gpu *gpu, const unsigned char *data, size_t size,
                           const char **why)
{
    const VkPhysicalDeviceProperties *p = &gpu->info.properties;
    if (size < HEADER_BYTES) {
        *why = "shorter than a header";
        return false;
    }
    uint32_t len = read_u32(data), version = read_u32(data + 4);
    if (len < HEADER_BYTES || len > size) {
        *why = "bad header length";
        return false;
    }
    if (version != VK_PIPELINE_CACHE_HEADER_VERSION_ONE) {
        *why = "unknown header version";
        return false;
    }
    if (read_u32(data + 8) != p->vendorID || read_u32(data + 12) != p->deviceID) {
        *why = "written for another device";
        return false;
    }
    if (memcmp(data + 16, p->pipelineCacheUUID, VK_UUID_SIZE) != 0) {
        *why = "written by another driver version";
        return false;
    }
    return true;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && (size_t)n <= CACHE_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0) {
            buf = malloc((size_t)n);
            if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
            }
            *size = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

void nnxr_gpu_cache_open(nnxr_gpu *gpu, const char *dir)
{
    nnxr_gpu_info *in = &gpu->info;
    in->pipeline_cache_path[0] = '\0';
    unsigned char *data = NULL;
    size_t size = 0;
    if (dir) {
        char uuid[2 * VK_UUID_SIZE + 1];
        for (unsigned i = 0; i < VK_UUID_SIZE; i++)
            snprintf(uuid + 2 * i, 3, "%02x", in->properties.pipelineCacheUUID[i]);
        int w = snprintf(in->pipeline_cache_path, sizeof in->pipeline_cache_path,
                         "%s/pipelines-%s.vkcache", dir, uuid);
        if (w < 0 || (size_t)w >= sizeof in->pipeline_cache_path) {
            NNXR_DEBUG("gpu: pipeline cache directory path too long; no cache file");
            in->pipeline_cache_path[0] = '\0';
            gpu->cache_enabled = false;
        } else {
            data = read_file(in->pipeline_cache_path, &size);
            const char *why = NULL;
            if (data && !header_matches(gpu, data, size, &why)) {
                NNXR_DEBUG("gpu: ignoring pipeline cache %s: %s", in->pipeline_cache_path, why);
                free(data);
                data = NULL;
            }
        }
    }
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = data ? size : 0,
                                    .pInitialData = data};
    VkResult res = vkCreatePipelineCache(in->device, &ci, NULL, &in->pipeline_cache);
    if (res != VK_SUCCESS && data) {
        NNXR_DEBUG("gpu: the driver refused the pipeline cache %s (%s); starting empty",
                   in->pipeline_cache_path, nnxr_vk_result_name(res));
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        free(data);
        data = NULL;
        res = vkCreatePipelineCache(in->device, &ci, NULL, &in->pipeline_cache);
    }
    if (res != VK_SUCCESS)
        in->pipeline_cache = VK_NULL_HANDLE;
    in->pipeline_cache_loaded = data ? size : 0;
    if (data)
        NNXR_DEBUG("gpu: loaded %zu bytes of pipeline cache from %s", size,
                   in->pipeline_cache_path);
    free(data);
}

/* mkdir -p with private permissions. */
static bool make_dirs(const char *path)
{
    char tmp[1024];
    int w = snprintf(tmp, sizeof tmp, "%s", path);
    if (w < 0 || (size_t)w >= sizeof tmp)
        return false;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    return mkdir(tmp, 0700) == 0 || errno == EEXIST;
}

static bool write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

void nnxr_gpu_cache_save(nnxr_gpu *gpu)
{
    nnxr_gpu_info *in = &gpu->info;
    if (!in->pipeline_cache || !in->pipeline_cache_path[0])
        return;
    size_t size = 0;
    if (vkGetPipelineCacheData(in->device, in->pipeline_cache, &size, NULL) != VK_SUCCESS ||
        size == 0)
        return;
    unsigned char *data = malloc(size);
    if (!data)
        return;
    if (vkGetPipelineCacheData(in->device, in->pipeline_cache, &size, data) != VK_SUCCESS) {
        free(data);
        return;
    }
    const char *why = NULL;
    if (!header_matches(gpu, data, size, &why)) {
        /* Never write what we would refuse to read. */
        NNXR_DEBUG("gpu: not saving the pipeline cache: %s", why);
        free(data);
        return;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", in->pipeline_cache_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", in->pipeline_cache_path, (long)getpid());
    int fd = -1;
    bool ok = (!slash || make_dirs(dir)) &&
              (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0 &&
              write_all(fd, data, size) && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, in->pipeline_cache_path) != 0)
        ok = false;
    if (!ok) {
        NNXR_WARN("gpu: could not save the pipeline cache to %s: %s", in->pipeline_cache_path,
                  strerror(errno));
        unlink(tmp);
    } else if (slash) {
        /* Make the rename itself durable. */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        NNXR_DEBUG("gpu: saved %zu bytes of pipeline cache to %s", size,
                   in->pipeline_cache_path);
    }
    free(data);
}
