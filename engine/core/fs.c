/* core/fs.c — output folders, atomic writes, whole-file reads, the executable's folder. */
#include "core/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
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

bool nnxr_write_file_atomic(const char *path, const void *data, size_t len, nnxr_error *err)
{
    nnxr_atomic_file af;
    return nnxr_atomic_open(&af, path, err) && nnxr_atomic_write(&af, data, len, err) &&
           nnxr_atomic_commit(&af, err);
}

bool nnxr_write_atomic_with(const char *path, bool (*write)(FILE *f, void *user), void *user,
                            nnxr_error *err)
{
    /* The writer fills memory; the bytes then go through the one atomic-write path. */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return nnxr_fail(err, "%s: out of memory", path);
    bool ok = write(mem, user);
    ok = fclose(mem) == 0 && ok;
    ok = ok ? nnxr_write_file_atomic(path, text, len, err)
            : nnxr_fail(err, "%s: could not produce the content", path);
    free(text);
    return ok;
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
