/* data/npy.c — .npy encoding and parsing, and .npz archives as zip files of STORED members
 * (see npy.h). Readers pull bytes through a small source interface (file at an offset, or
 * memory) so a member is read once, straight into its array, while its CRC-32 accumulates. */
#include "data/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/status.h"
#include "core/atomic_file.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host (arrays are written as they sit in memory)"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_ALIGN 64
#define NPY_MAX_HEADER (1u << 20) /* a larger header is not one numpy would write */
#define ZIP_LIMIT UINT64_C(0xFFFFFFFF)
#define ZIP_MAX_MEMBERS 65535u
#define NPZ_MAX_READ_MEMBERS (1u << 20)

/* ---- dtypes and arrays ---- */

static const struct {
    const char *name;
    const char *descr;
    char kind;
    size_t size;
} dtypes[NNXR_DTYPE_COUNT] = {
    [NNXR_DTYPE_F32] = {"float32", "<f4", 'f', 4}, [NNXR_DTYPE_F64] = {"float64", "<f8", 'f', 8},
    [NNXR_DTYPE_I32] = {"int32", "<i4", 'i', 4},   [NNXR_DTYPE_I64] = {"int64", "<i8", 'i', 8},
    [NNXR_DTYPE_U8] = {"uint8", "|u1", 'u', 1},
};

size_t nnxr_dtype_size(nnxr_dtype dt)
{
    return (unsigned)dt < NNXR_DTYPE_COUNT ? dtypes[dt].size : 0;
}

const char *nnxr_dtype_name(nnxr_dtype dt)
{
    return (unsigned)dt < NNXR_DTYPE_COUNT ? dtypes[dt].name : "unknown";
}

const char *nnxr_dtype_descr(nnxr_dtype dt)
{
    return (unsigned)dt < NNXR_DTYPE_COUNT ? dtypes[dt].descr : "?";
}

nnxr_array nnxr_array_view(nnxr_dtype dt, uint32_t ndim, const uint64_t *dims, const void *data)
{
    nnxr_array a;
    memset(&a, 0, sizeof a);
    a.dtype = dt;
    a.ndim = ndim;
    for (uint32_t i = 0; i < ndim && i < NNXR_NPY_MAX_DIMS; i++)
        a.shape[i] = dims[i];
    a.data = (void *)(uintptr_t)data; /* a view never writes through it */
    return a;
}

bool nnxr_array_count(const nnxr_array *a, uint64_t *elements, uint64_t *bytes)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < a->ndim && i < NNXR_NPY_MAX_DIMS; i++) {
        if (a->shape[i] != 0 && n > UINT64_MAX / a->shape[i])
            return false;
        n *= a->shape[i];
    }
    size_t es = nnxr_dtype_size(a->dtype);
    if (es == 0 || n > UINT64_MAX / es || n * es > (uint64_t)SIZE_MAX / 2)
        return false;
    if (elements)
        *elements = n;
    if (bytes)
        *bytes = n * es;
    return true;
}

void nnxr_array_free(nnxr_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

static bool array_check(const nnxr_array *a, const char *what, uint64_t *bytes, nnxr_error *err)
{
    if ((unsigned)a->dtype >= NNXR_DTYPE_COUNT)
        return nnxr_fail(err, "%s: unknown dtype %d", what, (int)a->dtype);
    if (a->ndim > NNXR_NPY_MAX_DIMS)
        return nnxr_fail(err, "%s: %u dimensions: at most %d supported", what, a->ndim,
                         NNXR_NPY_MAX_DIMS);
    if (!nnxr_array_count(a, NULL, bytes))
        return nnxr_fail(err, "%s: shape overflows the address space", what);
    if (*bytes > 0 && !a->data)
        return nnxr_fail(err, "%s: no data given for %llu bytes", what,
                         (unsigned long long)*bytes);
    return true;
}

/* ---- .npy header ---- */

bool nnxr_npy_header(const nnxr_array *a, char *buf, size_t *len, nnxr_error *err)
{
    uint64_t bytes = 0;
    if (!array_check(a, "npy header", &bytes, err))
        return false;
    char dict[NNXR_NPY_HEADER_MAX];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtypes[a->dtype].descr);
    for (uint32_t i = 0; i < a->ndim; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%llu", i ? ", " : "",
                      (unsigned long long)a->shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", a->ndim == 1 ? "," : "");
    /* numpy's own padding: spaces then '\n' so that magic + length + dict is a multiple of 64
     * (a dict that already fits exactly still gets 64 spaces, as numpy does). */
    size_t pad = NPY_ALIGN - (((size_t)n + 1 + 10) % NPY_ALIGN);
    size_t hlen = (size_t)n + pad + 1;
    if (10 + hlen > NNXR_NPY_HEADER_MAX || hlen > 0xFFFF)
        return nnxr_fail(err, "npy header: too long (%zu bytes)", hlen);
    memcpy(buf, NPY_MAGIC, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xFF);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    *len = 10 + hlen;
    return true;
}

/* ---- header parsing ---- */

typedef struct npy_parser {
    const char *p, *end;
} npy_parser;

static void ps_ws(npy_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool ps_char(npy_parser *ps, char c)
{
    ps_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes into out (at most cap-1 chars). */
static bool ps_string(npy_parser *ps, char *out, size_t cap)
{
    ps_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return false;
    char q = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != q) {
        if (*ps->p == '\\' || n + 1 >= cap)
            return false;
        out[n++] = *ps->p++;
    }
    if (ps->p >= ps->end)
        return false;
    ps->p++;
    out[n] = '\0';
    return true;
}

static bool ps_word(npy_parser *ps, const char *w)
{
    ps_ws(ps);
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, w, n)) {
        ps->p += n;
        return true;
    }
    return false;
}

static bool ps_uint(npy_parser *ps, uint64_t *v)
{
    ps_ws(ps);
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
        return false;
    uint64_t x = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        unsigned d = (unsigned)(*ps->p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
        ps->p++;
    }
    if (ps->p < ps->end && *ps->p == 'L') /* Python 2 longs */
        ps->p++;
    *v = x;
    return true;
}

/* Maps a descr to a dtype; *swap when the data is big-endian. */
static bool descr_dtype(const char *d, nnxr_dtype *dt, bool *swap)
{
    char order = '<';
    if (*d == '<' || *d == '>' || *d == '|' || *d == '=')
        order = *d++;
    for (int i = 0; i < NNXR_DTYPE_COUNT; i++) {
        if (strcmp(d, dtypes[i].descr + 1) != 0)
            continue;
        if (order == '|' && dtypes[i].size != 1)
            return false;
        *dt = (nnxr_dtype)i;
        *swap = order == '>' && dtypes[i].size > 1;
        return true;
    }
    return false;
}

static bool npy_parse_dict(const char *h, size_t n, const char *what, nnxr_array *meta,
                           bool *swap, nnxr_error *err)
{
    npy_parser ps = {h, h + n};
    bool have_descr = false, have_order = false, have_shape = false;
    if (!ps_char(&ps, '{'))
        return nnxr_fail(err, "%s: npy header does not start with '{'", what);
    for (;;) {
        if (ps_char(&ps, '}'))
            break;
        char key[32];
        if (!ps_string(&ps, key, sizeof key) || !ps_char(&ps, ':'))
            return nnxr_fail(err, "%s: npy header: expected 'key': value at offset %ld", what,
                             (long)(ps.p - h));
        if (!strcmp(key, "descr")) {
            char d[32];
            if (!ps_string(&ps, d, sizeof d))
                return nnxr_fail(err,
                                 "%s: npy header: 'descr' is not a simple type string (structured "
                                 "dtypes are not supported)",
                                 what);
            if (!descr_dtype(d, &meta->dtype, swap))
                return nnxr_fail(err,
                                 "%s: dtype '%s' is not supported: expected float32, float64, "
                                 "int32, int64 or uint8",
                                 what, d);
            have_descr = true;
        } else if (!strcmp(key, "fortran_order")) {
            if (ps_word(&ps, "True"))
                return nnxr_fail(err, "%s: Fortran-order arrays are not supported: expected C "
                                      "order",
                                 what);
            if (!ps_word(&ps, "False"))
                return nnxr_fail(err, "%s: npy header: 'fortran_order' is not True or False",
                                 what);
            have_order = true;
        } else if (!strcmp(key, "shape")) {
            if (!ps_char(&ps, '('))
                return nnxr_fail(err, "%s: npy header: 'shape' is not a tuple", what);
            meta->ndim = 0;
            for (;;) {
                if (ps_char(&ps, ')'))
                    break;
                uint64_t v;
                if (meta->ndim >= NNXR_NPY_MAX_DIMS)
                    return nnxr_fail(err, "%s: more than %d dimensions", what, NNXR_NPY_MAX_DIMS);
                if (!ps_uint(&ps, &v))
                    return nnxr_fail(err, "%s: npy header: 'shape' holds something other than "
                                          "non-negative integers",
                                     what);
                meta->shape[meta->ndim++] = v;
                if (ps_char(&ps, ')'))
                    break;
                if (!ps_char(&ps, ','))
                    return nnxr_fail(err, "%s: npy header: 'shape' tuple is malformed", what);
            }
            have_shape = true;
        } else {
            return nnxr_fail(err, "%s: npy header: unexpected key '%s'", what, key);
        }
        if (ps_char(&ps, '}'))
            break;
        if (!ps_char(&ps, ','))
            return nnxr_fail(err, "%s: npy header: expected ',' or '}' at offset %ld", what,
                             (long)(ps.p - h));
    }
    ps_ws(&ps);
    if (ps.p != ps.end)
        return nnxr_fail(err, "%s: npy header: unexpected text after the dictionary", what);
    if (!have_descr || !have_order || !have_shape)
        return nnxr_fail(err, "%s: npy header lacks '%s'", what,
                         !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return true;
}

/* ---- sources: where a reader's bytes come from ---- */

typedef struct npy_src {
    const char *what;
    uint64_t size;    /* bytes available */
    uint64_t pos;     /* next byte to read */
    int fd;           /* file source: fd at base offset */
    uint64_t base;
    const uint8_t *mem; /* memory source */
    uLong crc;        /* CRC-32 of everything read so far */
} npy_src;

/* Reads exactly n bytes (the caller has checked they exist). */
static bool src_read(npy_src *s, void *buf, uint64_t n, nnxr_error *err)
{
    if (n > s->size - s->pos)
        return nnxr_fail(err, "%s: truncated", s->what);
    if (s->mem) {
        memcpy(buf, s->mem + s->pos, (size_t)n);
    } else {
        uint8_t *p = buf;
        uint64_t done = 0;
        while (done < n) {
            size_t chunk = n - done > (1u << 30) ? (1u << 30) : (size_t)(n - done);
            ssize_t r = pread(s->fd, p + done, chunk, (off_t)(s->base + s->pos + done));
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                int e = errno;
                return nnxr_fail(err, "%s: read failed: %s", s->what, strerror(e));
            }
            if (r == 0)
                return nnxr_fail(err, "%s: file ended early (changed while reading?)", s->what);
            done += (uint64_t)r;
        }
    }
    if (n)
        s->crc = crc32_z(s->crc, buf, (size_t)n);
    s->pos += n;
    return true;
}

static void byteswap(void *data, uint64_t count, size_t es)
{
    uint8_t *p = data;
    for (uint64_t i = 0; i < count; i++, p += es)
        for (size_t a = 0, b = es - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

static void describe_shape(const nnxr_array *a, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "(");
    for (uint32_t i = 0; i < a->ndim && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%s%llu", i ? ", " : "",
                      (unsigned long long)a->shape[i]);
    if ((size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "%s)", a->ndim == 1 ? "," : "");
}

/* Parses one whole .npy from the source; the source must end right after the data. */
static bool npy_load(npy_src *s, nnxr_array *out, nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t pre[12];
    if (s->size < 10)
        return nnxr_fail(err, "%s: too short for a .npy file: %llu bytes, expected at least 10",
                         s->what, (unsigned long long)s->size);
    if (!src_read(s, pre, 10, err))
        return false;
    if (memcmp(pre, NPY_MAGIC, 6) != 0)
        return nnxr_fail(err, "%s: bad magic: expected \\x93NUMPY (a .npy file)", s->what);
    unsigned major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0)
        return nnxr_fail(err, "%s: .npy version %u.%u is not supported: expected 1.0, 2.0 or 3.0",
                         s->what, major, minor);
    uint64_t hlen;
    if (major == 1) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
    } else {
        if (s->size < 12)
            return nnxr_fail(err, "%s: truncated .npy preamble", s->what);
        if (!src_read(s, pre + 10, 2, err))
            return false;
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 |
               (uint64_t)pre[11] << 24;
    }
    if (hlen > NPY_MAX_HEADER)
        return nnxr_fail(err, "%s: .npy header of %llu bytes: expected at most %u", s->what,
                         (unsigned long long)hlen, NPY_MAX_HEADER);
    if (hlen > s->size - s->pos)
        return nnxr_fail(err, "%s: truncated: header says %llu bytes, the file has %llu after the "
                              "preamble",
                         s->what, (unsigned long long)hlen,
                         (unsigned long long)(s->size - s->pos));
    char *h = malloc(hlen + 1);
    if (!h)
        return nnxr_fail(err, "%s: out of memory", s->what);
    if (!src_read(s, h, hlen, err)) {
        free(h);
        return false;
    }
    bool swap = false;
    nnxr_array meta;
    memset(&meta, 0, sizeof meta);
    bool ok = npy_parse_dict(h, hlen, s->what, &meta, &swap, err);
    free(h);
    if (!ok)
        return false;
    uint64_t count, bytes;
    if (!nnxr_array_count(&meta, &count, &bytes))
        return nnxr_fail(err, "%s: shape overflows the address space", s->what);
    uint64_t left = s->size - s->pos;
    if (left != bytes) {
        char shp[256];
        describe_shape(&meta, shp, sizeof shp);
        if (left < bytes)
            return nnxr_fail(err, "%s: truncated: shape %s of %s needs %llu bytes of data, found "
                                  "%llu",
                             s->what, shp, dtypes[meta.dtype].name, (unsigned long long)bytes,
                             (unsigned long long)left);
        return nnxr_fail(err, "%s: %llu trailing bytes after the %llu bytes of data of shape %s",
                         s->what, (unsigned long long)(left - bytes), (unsigned long long)bytes,
                         shp);
    }
    meta.data = malloc(bytes ? bytes : 1);
    if (!meta.data)
        return nnxr_fail(err, "%s: out of memory for %llu bytes", s->what,
                         (unsigned long long)bytes);
    if (!src_read(s, meta.data, bytes, err)) {
        free(meta.data);
        return false;
    }
    if (swap)
        byteswap(meta.data, count, dtypes[meta.dtype].size);
    *out = meta;
    return true;
}

bool nnxr_npy_parse(const void *bytes, size_t size, const char *what, nnxr_array *out,
                    nnxr_error *err)
{
    npy_src s = {.what = what ? what : "npy", .size = size, .fd = -1, .mem = bytes};
    s.crc = crc32_z(0, NULL, 0);
    return npy_load(&s, out, err);
}

static bool open_regular(const char *path, int *fd_out, uint64_t *size, nnxr_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return nnxr_fail(err, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return nnxr_fail(err, "%s: not a regular file", path);
    }
    *fd_out = fd;
    *size = (uint64_t)st.st_size;
    return true;
}

bool nnxr_npy_read(const char *path, nnxr_array *out, nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return nnxr_fail(err, "npy: no file name given");
    int fd;
    uint64_t size;
    if (!open_regular(path, &fd, &size, err))
        return false;
    npy_src s = {.what = path, .size = size, .fd = fd};
    s.crc = crc32_z(0, NULL, 0);
    bool ok = npy_load(&s, out, err);
    close(fd);
    return ok;
}

bool nnxr_npy_write(const char *path, const nnxr_array *a, nnxr_error *err)
{
    char hdr[NNXR_NPY_HEADER_MAX];
    size_t hlen;
    uint64_t bytes = 0;
    if (!array_check(a, path, &bytes, err) || !nnxr_npy_header(a, hdr, &hlen, err))
        return false;
    nnxr_atomic_file af;
    if (!nnxr_atomic_open(&af, path, err))
        return false;
    if (!nnxr_atomic_write(&af, hdr, hlen, err) ||
        !nnxr_atomic_write(&af, a->data, (size_t)bytes, err))
        return false;
    return nnxr_atomic_commit(&af, err);
}

/* ---- .npz writing ---- */

typedef struct npz_member {
    char *name; /* with ".npy" */
    uint32_t crc;
    uint32_t size;
    uint32_t offset;
} npz_member;

struct nnxr_npz_writer {
    nnxr_atomic_file af;
    npz_member *members;
    size_t count, cap;
};

/* DOS date/time of 1980-01-01 00:00, as numpy's savez writes: archives are reproducible. */
#define ZIP_DOS_TIME 0x0000u
#define ZIP_DOS_DATE 0x0021u
#define ZIP_VERSION 20u                 /* 2.0 */
#define ZIP_MADE_BY (3u << 8 | 20u)     /* Unix, 2.0 */
#define ZIP_FLAG_UTF8 0x0800u

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

static void writer_free(nnxr_npz_writer *w)
{
    for (size_t i = 0; i < w->count; i++)
        free(w->members[i].name);
    free(w->members);
    free(w);
}

bool nnxr_npz_writer_open(const char *path, nnxr_npz_writer **out, nnxr_error *err)
{
    *out = NULL;
    nnxr_npz_writer *w = calloc(1, sizeof *w);
    if (!w)
        return nnxr_fail(err, "%s: out of memory", path ? path : "npz");
    if (!nnxr_atomic_open(&w->af, path, err)) {
        free(w);
        return false;
    }
    *out = w;
    return true;
}

void nnxr_npz_writer_abort(nnxr_npz_writer *w)
{
    if (!w)
        return;
    nnxr_atomic_abort(&w->af);
    writer_free(w);
}

static bool npz_name_ok(nnxr_npz_writer *w, const char *name, nnxr_error *err)
{
    const char *path = w->af.path;
    if (!name || !*name)
        return nnxr_fail(err, "%s: array name is empty", path);
    size_t n = strlen(name);
    if (n > 255)
        return nnxr_fail(err, "%s: array name \"%.40s...\" is %zu bytes: at most 255", path, name,
                         n);
    if (name[0] == '/' || strchr(name, '\\'))
        return nnxr_fail(err, "%s: array name \"%s\": must not start with '/' or hold '\\'",
                         path, name);
    for (const char *p = name; (p = strstr(p, "..")) != NULL; p += 2) {
        bool starts = p == name || p[-1] == '/';
        bool ends = p[2] == '\0' || p[2] == '/';
        if (starts && ends)
            return nnxr_fail(err, "%s: array name \"%s\": must not hold a \"..\" component", path,
                             name);
    }
    for (size_t i = 0; i < w->count; i++)
        if (strlen(w->members[i].name) == n + 4 && !strncmp(w->members[i].name, name, n))
            return nnxr_fail(err, "%s: array name \"%s\" is given twice", path, name);
    return true;
}

bool nnxr_npz_writer_add(nnxr_npz_writer *w, const char *name, const nnxr_array *a,
                         nnxr_error *err)
{
    if (!w)
        return nnxr_fail(err, "npz: writer is not open");
    char hdr[NNXR_NPY_HEADER_MAX];
    size_t hlen;
    uint64_t bytes = 0;
    if (!npz_name_ok(w, name, err) || !array_check(a, name, &bytes, err) ||
        !nnxr_npy_header(a, hdr, &hlen, err))
        goto fail;
    if (w->count >= ZIP_MAX_MEMBERS) {
        nnxr_fail(err, "%s: more than %u arrays: ZIP64 archives are not written", w->af.path,
                  ZIP_MAX_MEMBERS);
        goto fail;
    }
    size_t nlen = strlen(name) + 4;
    uint64_t offset = w->af.written;
    uint64_t size = hlen + bytes;
    if (size >= ZIP_LIMIT || offset + 30 + nlen + size >= ZIP_LIMIT) {
        nnxr_fail(err,
                  "%s: array \"%s\" (%llu bytes) would take the archive past 4 GiB: ZIP64 "
                  "archives are not written",
                  w->af.path, name, (unsigned long long)size);
        goto fail;
    }
    if (w->count == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        npz_member *m = realloc(w->members, ncap * sizeof *m);
        if (!m) {
            nnxr_fail(err, "%s: out of memory", w->af.path);
            goto fail;
        }
        w->members = m;
        w->cap = ncap;
    }
    npz_member *m = &w->members[w->count];
    m->name = malloc(nlen + 1);
    if (!m->name) {
        nnxr_fail(err, "%s: out of memory", w->af.path);
        goto fail;
    }
    snprintf(m->name, nlen + 1, "%s.npy", name);
    w->count++;
    uLong crc = crc32_z(0, NULL, 0);
    crc = crc32_z(crc, (const Bytef *)hdr, hlen);
    if (bytes) /* zlib treats a NULL buffer as "give me the initial value" */
        crc = crc32_z(crc, a->data, (size_t)bytes);
    m->crc = (uint32_t)crc;
    m->size = (uint32_t)size;
    m->offset = (uint32_t)offset;
    uint8_t lh[30];
    put32(lh, 0x04034b50u);
    put16(lh + 4, ZIP_VERSION);
    put16(lh + 6, is_ascii(name) ? 0 : ZIP_FLAG_UTF8);
    put16(lh + 8, 0); /* stored */
    put16(lh + 10, ZIP_DOS_TIME);
    put16(lh + 12, ZIP_DOS_DATE);
    put32(lh + 14, m->crc);
    put32(lh + 18, m->size);
    put32(lh + 22, m->size);
    put16(lh + 26, (uint32_t)nlen);
    put16(lh + 28, 0);
    /* nnxr_atomic_write aborts the file itself on failure. */
    if (!nnxr_atomic_write(&w->af, lh, sizeof lh, err) ||
        !nnxr_atomic_write(&w->af, m->name, nlen, err) ||
        !nnxr_atomic_write(&w->af, hdr, hlen, err) ||
        !nnxr_atomic_write(&w->af, a->data, (size_t)bytes, err))
        goto fail;
    return true;
fail:
    nnxr_npz_writer_abort(w);
    return false;
}

bool nnxr_npz_writer_commit(nnxr_npz_writer *w, nnxr_error *err)
{
    if (!w)
        return nnxr_fail(err, "npz: writer is not open");
    uint64_t cd_start = w->af.written;
    for (size_t i = 0; i < w->count; i++) {
        const npz_member *m = &w->members[i];
        size_t nlen = strlen(m->name);
        uint8_t ch[46];
        put32(ch, 0x02014b50u);
        put16(ch + 4, ZIP_MADE_BY);
        put16(ch + 6, ZIP_VERSION);
        put16(ch + 8, is_ascii(m->name) ? 0 : ZIP_FLAG_UTF8);
        put16(ch + 10, 0);
        put16(ch + 12, ZIP_DOS_TIME);
        put16(ch + 14, ZIP_DOS_DATE);
        put32(ch + 16, m->crc);
        put32(ch + 20, m->size);
        put32(ch + 24, m->size);
        put16(ch + 28, (uint32_t)nlen);
        put16(ch + 30, 0);
        put16(ch + 32, 0);
        put16(ch + 34, 0);
        put16(ch + 36, 0);
        put32(ch + 38, 0100644u << 16); /* a regular file, rw-r--r-- */
        put32(ch + 42, m->offset);
        if (!nnxr_atomic_write(&w->af, ch, sizeof ch, err) ||
            !nnxr_atomic_write(&w->af, m->name, nlen, err)) {
            writer_free(w);
            return false;
        }
    }
    uint64_t cd_size = w->af.written - cd_start;
    if (w->af.written + 22 >= ZIP_LIMIT) {
        nnxr_fail(err, "%s: the central directory would end past 4 GiB: ZIP64 archives are not "
                       "written",
                  w->af.path);
        nnxr_npz_writer_abort(w);
        return false;
    }
    uint8_t eocd[22];
    put32(eocd, 0x06054b50u);
    put16(eocd + 4, 0);
    put16(eocd + 6, 0);
    put16(eocd + 8, (uint32_t)w->count);
    put16(eocd + 10, (uint32_t)w->count);
    put32(eocd + 12, (uint32_t)cd_size);
    put32(eocd + 16, (uint32_t)cd_start);
    put16(eocd + 20, 0);
    bool ok = nnxr_atomic_write(&w->af, eocd, sizeof eocd, err) &&
              nnxr_atomic_commit(&w->af, err);
    writer_free(w);
    return ok;
}

bool nnxr_npz_write(const char *path, const nnxr_npz_entry *entries, size_t count,
                    nnxr_error *err)
{
    nnxr_npz_writer *w;
    if (!nnxr_npz_writer_open(path, &w, err))
        return false;
    for (size_t i = 0; i < count; i++)
        if (!nnxr_npz_writer_add(w, entries[i].name, &entries[i].array, err))
            return false; /* add aborted the writer */
    return nnxr_npz_writer_commit(w, err);
}

/* ---- .npz reading ---- */

void nnxr_npz_free(nnxr_npz *npz)
{
    if (!npz)
        return;
    for (size_t i = 0; i < npz->count; i++) {
        free(npz->names ? npz->names[i] : NULL);
        if (npz->arrays)
            nnxr_array_free(&npz->arrays[i]);
    }
    free(npz->names);
    free(npz->arrays);
    memset(npz, 0, sizeof *npz);
}

const nnxr_array *nnxr_npz_find(const nnxr_npz *npz, const char *name)
{
    for (size_t i = 0; name && i < npz->count; i++)
        if (!strcmp(npz->names[i], name))
            return &npz->arrays[i];
    return NULL;
}

static bool pread_all(int fd, void *buf, size_t n, uint64_t off, const char *path,
                      const char *what, nnxr_error *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            return nnxr_fail(err, "%s: reading %s failed: %s", path, what, strerror(e));
        }
        if (r == 0)
            return nnxr_fail(err, "%s: truncated: %s ends past the end of the file", path, what);
        done += (size_t)r;
    }
    return true;
}

typedef struct npz_cd {
    uint64_t entries, cd_size, cd_offset, eocd_pos;
} npz_cd;

/* Finds the end-of-central-directory record (and its zip64 twin when the sizes need it). */
static bool npz_find_eocd(int fd, uint64_t size, const char *path, npz_cd *cd, nnxr_error *err)
{
    if (size < 22)
        return nnxr_fail(err, "%s: %llu bytes is too short for a zip archive (.npz): expected at "
                              "least 22",
                         path, (unsigned long long)size);
    size_t tail = size < 22 + 65535 ? (size_t)size : 22 + 65535;
    uint8_t *buf = malloc(tail);
    if (!buf)
        return nnxr_fail(err, "%s: out of memory", path);
    if (!pread_all(fd, buf, tail, size - tail, path, "the end of the archive", err)) {
        free(buf);
        return false;
    }
    bool found = false;
    for (size_t i = tail - 22 + 1; i-- > 0;) {
        if (get32(buf + i) == 0x06054b50u && i + 22 + get16(buf + i + 20) == tail) {
            const uint8_t *e = buf + i;
            cd->eocd_pos = size - tail + i;
            cd->entries = get16(e + 10);
            cd->cd_size = get32(e + 12);
            cd->cd_offset = get32(e + 16);
            if (get16(e + 4) != 0 || get16(e + 6) != 0) {
                free(buf);
                return nnxr_fail(err, "%s: multi-disk zip archives are not supported", path);
            }
            found = true;
            break;
        }
    }
    free(buf);
    if (!found)
        return nnxr_fail(err, "%s: no zip end-of-central-directory record: not an .npz (zip) "
                              "file, or truncated",
                         path);
    if (cd->entries == 0xFFFF || cd->cd_size == 0xFFFFFFFFu || cd->cd_offset == 0xFFFFFFFFu) {
        uint8_t loc[20], rec[56];
        if (cd->eocd_pos < 20 ||
            !pread_all(fd, loc, 20, cd->eocd_pos - 20, path, "the zip64 locator", err))
            return nnxr_fail(err, "%s: zip64 end-of-central-directory locator missing", path);
        if (get32(loc) != 0x07064b50u)
            return nnxr_fail(err, "%s: zip64 end-of-central-directory locator missing", path);
        uint64_t recpos = get64(loc + 8);
        if (recpos + 56 > cd->eocd_pos ||
            !pread_all(fd, rec, 56, recpos, path, "the zip64 end record", err) ||
            get32(rec) != 0x06064b50u)
            return nnxr_fail(err, "%s: zip64 end-of-central-directory record is bad", path);
        cd->entries = get64(rec + 32);
        cd->cd_size = get64(rec + 40);
        cd->cd_offset = get64(rec + 48);
        cd->eocd_pos = recpos;
    }
    if (cd->cd_offset > cd->eocd_pos || cd->cd_size > cd->eocd_pos - cd->cd_offset)
        return nnxr_fail(err, "%s: central directory (offset %llu, %llu bytes) lies outside the "
                              "file: truncated or not a zip file",
                         path, (unsigned long long)cd->cd_offset,
                         (unsigned long long)cd->cd_size);
    if (cd->entries > NPZ_MAX_READ_MEMBERS || cd->entries * 46 > cd->cd_size)
        return nnxr_fail(err, "%s: central directory claims %llu members in %llu bytes", path,
                         (unsigned long long)cd->entries, (unsigned long long)cd->cd_size);
    return true;
}

/* Inflates a raw-deflate member of csize bytes at off into a new buffer of usize bytes. */
static bool npz_inflate(int fd, uint64_t off, uint64_t csize, uint64_t usize, const char *what,
                        uint8_t **out, nnxr_error *err)
{
    /* deflate cannot do better than about 1032:1; a larger claim is a lie, not a reason to
     * allocate it. */
    if (csize > SIZE_MAX / 2 || usize > csize * 1032 + 1024)
        return nnxr_fail(err, "%s: claims %llu bytes from %llu compressed: impossible for "
                              "deflate",
                         what, (unsigned long long)usize, (unsigned long long)csize);
    uint8_t *in = malloc(csize ? csize : 1);
    uint8_t *dst = malloc(usize ? usize : 1);
    if (!in || !dst) {
        free(in);
        free(dst);
        return nnxr_fail(err, "%s: out of memory", what);
    }
    if (!pread_all(fd, in, (size_t)csize, off, what, "the compressed data", err)) {
        free(in);
        free(dst);
        return false;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    bool ok = inflateInit2(&zs, -15) == Z_OK;
    if (!ok)
        nnxr_fail(err, "%s: cannot start inflate", what);
    uint64_t in_done = 0, out_done = 0;
    int ret = Z_OK;
    while (ok && ret != Z_STREAM_END) {
        uint64_t in_left = csize - in_done, out_left = usize - out_done;
        zs.next_in = in + in_done;
        zs.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        zs.next_out = dst + out_done;
        zs.avail_out = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
        uInt ai = zs.avail_in, ao = zs.avail_out;
        ret = inflate(&zs, Z_NO_FLUSH);
        in_done += ai - zs.avail_in;
        out_done += ao - zs.avail_out;
        if (ret == Z_STREAM_END)
            break;
        if (ret != Z_OK || (ai == zs.avail_in && ao == zs.avail_out))
            ok = nnxr_fail(err, "%s: deflate data is corrupt or does not match its sizes (%s)",
                           what, zs.msg ? zs.msg : "ran out of input or output");
    }
    if (ok && out_done != usize)
        ok = nnxr_fail(err, "%s: inflated to %llu bytes: expected %llu", what,
                       (unsigned long long)out_done, (unsigned long long)usize);
    inflateEnd(&zs);
    free(in);
    if (!ok) {
        free(dst);
        return false;
    }
    *out = dst;
    return true;
}

/* Reads member i whose central record starts at c (len bytes left in the directory). */
static bool npz_read_member(int fd, const char *path, const npz_cd *cd, const uint8_t *c,
                            uint64_t len, size_t *rec_len, char **name_out, nnxr_array *arr,
                            nnxr_error *err)
{
    if (len < 46 || get32(c) != 0x02014b50u)
        return nnxr_fail(err, "%s: central directory record is bad: expected signature PK\\1\\2",
                         path);
    uint32_t flags = get16(c + 8), method = get16(c + 10);
    uint32_t crc = get32(c + 16);
    uint64_t csize = get32(c + 20), usize = get32(c + 24);
    uint32_t nlen = get16(c + 28), xlen = get16(c + 30), clen = get16(c + 32);
    uint64_t loff = get32(c + 42);
    if (46 + (uint64_t)nlen + xlen + clen > len)
        return nnxr_fail(err, "%s: central directory record runs past the directory", path);
    *rec_len = 46 + (size_t)nlen + xlen + clen;
    char *name = malloc(nlen + 1);
    if (!name)
        return nnxr_fail(err, "%s: out of memory", path);
    memcpy(name, c + 46, nlen);
    name[nlen] = '\0';
    char what[640];
    snprintf(what, sizeof what, "%s: member \"%s\"", path, name);
    bool ok = true;
    /* zip64 extra: the 64-bit values of exactly those fields that hold 0xFFFFFFFF. */
    const uint8_t *x = c + 46 + nlen, *xend = x + xlen;
    while (ok && xend - x >= 4) {
        uint32_t id = get16(x), sz = get16(x + 2);
        if (sz > xend - x - 4) {
            ok = nnxr_fail(err, "%s: extra field runs past its record", what);
            break;
        }
        if (id == 0x0001) {
            const uint8_t *v = x + 4, *vend = v + sz;
            uint64_t *fields[3] = {&usize, &csize, &loff};
            for (int k = 0; k < 3 && ok; k++) {
                if (*fields[k] != 0xFFFFFFFFu)
                    continue;
                if (vend - v < 8)
                    ok = nnxr_fail(err, "%s: zip64 extra field is too short", what);
                else {
                    *fields[k] = get64(v);
                    v += 8;
                }
            }
        }
        x += 4 + sz;
    }
    if (ok && memchr(name, '\0', nlen))
        ok = nnxr_fail(err, "%s: member name holds a NUL byte", path);
    if (ok && (nlen < 5 || strcmp(name + nlen - 4, ".npy") != 0))
        ok = nnxr_fail(err, "%s: is not a .npy array (an .npz holds only NAME.npy members)", what);
    if (ok && (flags & 1u))
        ok = nnxr_fail(err, "%s: is encrypted", what);
    if (ok && method != 0 && method != 8)
        ok = nnxr_fail(err, "%s: compression method %u is not supported: expected 0 (stored) or "
                            "8 (deflate)",
                       what, method);
    if (ok && method == 0 && csize != usize)
        ok = nnxr_fail(err, "%s: stored member with different sizes (%llu and %llu)", what,
                       (unsigned long long)csize, (unsigned long long)usize);
    uint8_t lh[30];
    if (ok && (loff > cd->cd_offset || cd->cd_offset - loff < 30))
        ok = nnxr_fail(err, "%s: local header offset %llu lies outside the archive data", what,
                       (unsigned long long)loff);
    if (ok)
        ok = pread_all(fd, lh, 30, loff, path, "a local header", err);
    if (ok && get32(lh) != 0x04034b50u)
        ok = nnxr_fail(err, "%s: bad local header signature at offset %llu", what,
                       (unsigned long long)loff);
    uint64_t data_off = loff + 30 + (uint64_t)get16(lh + 26) + get16(lh + 28);
    if (ok && (data_off > cd->cd_offset || csize > cd->cd_offset - data_off))
        ok = nnxr_fail(err, "%s: truncated: its %llu bytes of data run past the archive's data "
                            "area (offset %llu)",
                       what, (unsigned long long)csize, (unsigned long long)data_off);
    if (ok) {
        uint32_t got = 0;
        if (method == 0) {
            npy_src s = {.what = what, .size = usize, .fd = fd, .base = data_off};
            s.crc = crc32_z(0, NULL, 0);
            ok = npy_load(&s, arr, err);
            got = (uint32_t)s.crc;
        } else {
            uint8_t *raw = NULL;
            ok = npz_inflate(fd, data_off, csize, usize, what, &raw, err);
            if (ok) {
                got = (uint32_t)crc32_z(crc32_z(0, NULL, 0), raw, (size_t)usize);
                ok = nnxr_npy_parse(raw, (size_t)usize, what, arr, err);
                free(raw);
            }
        }
        if (ok && got != crc) {
            nnxr_array_free(arr);
            ok = nnxr_fail(err, "%s: CRC-32 mismatch (stored %08x, computed %08x): the archive is "
                                "corrupt",
                           what, crc, got);
        }
    }
    if (!ok) {
        free(name);
        return false;
    }
    name[nlen - 4] = '\0';
    *name_out = name;
    return true;
}

bool nnxr_npz_read(const char *path, nnxr_npz *out, nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return nnxr_fail(err, "npz: no file name given");
    int fd;
    uint64_t size;
    if (!open_regular(path, &fd, &size, err))
        return false;
    npz_cd cd;
    uint8_t *dir = NULL;
    bool ok = npz_find_eocd(fd, size, path, &cd, err);
    if (ok) {
        dir = malloc(cd.cd_size ? cd.cd_size : 1);
        out->names = calloc(cd.entries + 1, sizeof *out->names);
        out->arrays = calloc(cd.entries + 1, sizeof *out->arrays);
        if (!dir || !out->names || !out->arrays)
            ok = nnxr_fail(err, "%s: out of memory", path);
    }
    if (ok)
        ok = pread_all(fd, dir, (size_t)cd.cd_size, cd.cd_offset, path, "the central directory",
                       err);
    uint64_t pos = 0;
    for (uint64_t i = 0; ok && i < cd.entries; i++) {
        size_t rec;
        ok = npz_read_member(fd, path, &cd, dir + pos, cd.cd_size - pos, &rec, &out->names[i],
                             &out->arrays[i], err);
        if (!ok)
            break;
        out->count = (size_t)i + 1;
        pos += rec;
        for (uint64_t j = 0; j < i; j++)
            if (!strcmp(out->names[j], out->names[i]))
                ok = nnxr_fail(err, "%s: array \"%s\" appears twice", path, out->names[i]);
    }
    free(dir);
    close(fd);
    if (!ok)
        nnxr_npz_free(out);
    return ok;
}
