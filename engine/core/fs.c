/* core/fs.c — output folders, atomic writes, whole-file reads, the executable's folder. */
#include "core/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

bool nnxr_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool nnxr_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool nnxr_mkdirs(const char *path, nnxr_error *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return nnxr_fail(err, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return nnxr_fail(err, "%s: cannot create folder: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return nnxr_fail(err, "%s: cannot create folder: %s", buf, strerror(errno));
    if (!nnxr_is_dir(buf))
        return nnxr_fail(err, "%s: exists and is not a folder", buf);
    return true;
}

static void fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

bool nnxr_write_atomic_with(const char *path, bool (*write)(FILE *f, void *user), void *user,
                            nnxr_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return nnxr_fail(err, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return nnxr_fail(err, "%s: cannot write: %s", tmp, strerror(errno));
    bool ok = write(f, user);
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    int saved = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        unlink(tmp);
        return nnxr_fail(err, "%s: write failed: %s", path, strerror(saved));
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        return nnxr_fail(err, "%s: cannot rename into place: %s", path, strerror(saved));
    }
    fsync_parent(path);
    return true;
}

typedef struct bytes {
    const void *data;
    size_t len;
} bytes;

static bool write_bytes(FILE *f, void *user)
{
    const bytes *b = user;
    return fwrite(b->data, 1, b->len, f) == b->len;
}

bool nnxr_write_file_atomic(const char *path, const void *data, size_t len, nnxr_error *err)
{
    bytes b = {data, len};
    return nnxr_write_atomic_with(path, write_bytes, &b, err);
}

char *nnxr_read_file(const char *path, size_t *len, nnxr_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nnxr_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (cap - n - 1 == 0) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        nnxr_fail(err, "%s: %s", path, buf ? "read error" : "out of memory");
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

bool nnxr_exe_dir(char *out, size_t n)
{
    char buf[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (len <= 0)
        return false;
    buf[len] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return snprintf(out, n, "%s", buf) < (int)n;
}
