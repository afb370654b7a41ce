/* core/atomic_file.c — temp file + fsync + rename + folder fsync (see atomic_file.h). */
#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "data/rng.h"

#define ATOMIC_BUF_SIZE (256u * 1024u)

static void atomic_release(nnxr_atomic_file *af)
{
    free(af->path);
    free(af->tmp_path);
    free(af->buf);
    af->path = af->tmp_path = NULL;
    af->buf = NULL;
    af->fd = -1;
    af->used = 0;
}

bool nnxr_atomic_open(nnxr_atomic_file *af, const char *path, nnxr_error *err)
{
    memset(af, 0, sizeof *af);
    af->fd = -1;
    if (!path || !*path)
        return nnxr_fail(err, "atomic write: empty file name");
    size_t len = strlen(path);
    af->path = strdup(path);
    af->tmp_path = malloc(len + 32);
    af->buf = malloc(ATOMIC_BUF_SIZE);
    if (!af->path || !af->tmp_path || !af->buf) {
        atomic_release(af);
        return nnxr_fail(err, "%s: out of memory", path);
    }
    /* A name no other writer picks: pid plus a clock-seeded random tag, created exclusively. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    nnxr_rng rng;
    nnxr_rng_seed(&rng, (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30),
                  (uint64_t)getpid() ^ (uint64_t)(uintptr_t)af);
    for (int attempt = 0; attempt < 16; attempt++) {
        snprintf(af->tmp_path, len + 32, "%s.tmp%d.%08x", path, (int)getpid(),
                 nnxr_rng_u32(&rng));
        /* 0666 lets the umask decide, as it would for any ordinary new file. */
        af->fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (af->fd >= 0 || errno != EEXIST)
            break;
    }
    if (af->fd < 0) {
        int e = errno;
        nnxr_fail(err, "%s: cannot create temp file %s: %s", path, af->tmp_path, strerror(e));
        atomic_release(af);
        return false;
    }
    return true;
}

static bool atomic_flush(nnxr_atomic_file *af, nnxr_error *err)
{
    size_t off = 0;
    while (off < af->used) {
        ssize_t n = write(af->fd, af->buf + off, af->used - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return nnxr_fail(err, "%s: write failed: %s", af->path, strerror(e));
        }
        off += (size_t)n;
    }
    af->used = 0;
    return true;
}

bool nnxr_atomic_write(nnxr_atomic_file *af, const void *data, size_t size, nnxr_error *err)
{
    if (!af->tmp_path || af->fd < 0)
        return nnxr_fail(err, "atomic write: file is not open");
    const uint8_t *p = data;
    af->written += size;
    while (size > 0) {
        size_t room = ATOMIC_BUF_SIZE - af->used;
        size_t n = size < room ? size : room;
        memcpy(af->buf + af->used, p, n);
        af->used += n;
        p += n;
        size -= n;
        if (af->used == ATOMIC_BUF_SIZE && !atomic_flush(af, err)) {
            nnxr_atomic_abort(af);
            return false;
        }
    }
    return true;
}

static bool fsync_dir_of(const char *path, nnxr_error *err)
{
    char *copy = strdup(path);
    if (!copy)
        return nnxr_fail(err, "%s: out of memory", path);
    const char *dir = dirname(copy);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        nnxr_fail(err, "%s: cannot open folder %s to sync it: %s", path, dir, strerror(e));
        free(copy);
        return false;
    }
    bool ok = true;
    if (fsync(dfd) != 0 && errno != EINVAL) {
        int e = errno;
        ok = nnxr_fail(err, "%s: fsync of folder %s failed: %s", path, dir, strerror(e));
    }
    close(dfd);
    free(copy);
    return ok;
}

bool nnxr_atomic_commit(nnxr_atomic_file *af, nnxr_error *err)
{
    if (!af->tmp_path || af->fd < 0)
        return nnxr_fail(err, "atomic write: file is not open");
    if (!atomic_flush(af, err)) {
        nnxr_atomic_abort(af);
        return false;
    }
    if (fsync(af->fd) != 0) {
        int e = errno;
        nnxr_fail(err, "%s: fsync failed: %s", af->path, strerror(e));
        nnxr_atomic_abort(af);
        return false;
    }
    int fd = af->fd;
    af->fd = -1;
    if (close(fd) != 0) {
        int e = errno;
        nnxr_fail(err, "%s: close failed: %s", af->path, strerror(e));
        unlink(af->tmp_path);
        atomic_release(af);
        return false;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        int e = errno;
        nnxr_fail(err, "%s: cannot rename %s onto it: %s", af->path, af->tmp_path, strerror(e));
        unlink(af->tmp_path);
        atomic_release(af);
        return false;
    }
    bool ok = fsync_dir_of(af->path, err);
    atomic_release(af);
    return ok;
}

void nnxr_atomic_abort(nnxr_atomic_file *af)
{
    /* tmp_path, not fd, marks an open file: a zeroed struct has fd 0, which is stdin. */
    if (!af || !af->tmp_path)
        return;
    if (af->fd >= 0) {
        close(af->fd);
        af->fd = -1;
    }
    unlink(af->tmp_path);
    atomic_release(af);
}
