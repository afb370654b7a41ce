/* data/idx.c — strict IDX(.gz) readers and the writer (see idx.h). zlib's gz* functions read
 * plain and gzip files alike, so one path serves both. */
#include "data/idx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "core/status.h"
#include "core/atomic_file.h"

/* Payloads grow in steps from this size, so a header that lies about a huge count in a tiny
 * file costs a failed read, not a huge allocation. */
#define IDX_FIRST_ALLOC (16u << 20)
#define IDX_GZ_CHUNK (1u << 30)

static const char *idx_type_name(unsigned type)
{
    switch (type) {
    case NNXR_IDX_U8: return "unsigned byte";
    case NNXR_IDX_I8: return "signed byte";
    case NNXR_IDX_I16: return "int16";
    case NNXR_IDX_I32: return "int32";
    case NNXR_IDX_F32: return "float32";
    case NNXR_IDX_F64: return "float64";
    default: return NULL;
    }
}

static bool idx_open(const char *path, gzFile *out, nnxr_error *err)
{
    if (!path || !*path)
        return nnxr_fail(err, "IDX: no file name given");
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return nnxr_fail(err, "%s: cannot open: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        return nnxr_fail(err, "%s: is a folder: expected an IDX file", path);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        int e = errno;
        return nnxr_fail(err, "%s: cannot open: %s", path, e ? strerror(e) : "out of memory");
    }
    gzbuffer(gz, 256u * 1024u);
    *out = gz;
    return true;
}

/* Reads up to n bytes; *got says how many came. false only on a read/decompression error
 * (a short file is not an error here: callers word that themselves). */
static bool idx_read(gzFile gz, const char *path, void *buf, uint64_t n, uint64_t *got,
                     nnxr_error *err)
{
    uint8_t *p = buf;
    *got = 0;
    while (*got < n) {
        uint64_t want = n - *got;
        unsigned chunk = want > IDX_GZ_CHUNK ? IDX_GZ_CHUNK : (unsigned)want;
        int r = gzread(gz, p + *got, chunk);
        if (r < 0) {
            int code;
            const char *msg = gzerror(gz, &code);
            if (!msg)
                msg = "unknown error";
            /* zlib prefixes the path itself; say it once. */
            size_t plen = strlen(path);
            if (!strncmp(msg, path, plen) && !strncmp(msg + plen, ": ", 2))
                msg += plen + 2;
            return nnxr_fail(err, "%s: cannot read: %s%s", path, msg,
                             code == Z_DATA_ERROR ? " (corrupt gzip data)" : "");
        }
        if (r == 0)
            break;
        *got += (uint64_t)r;
    }
    return true;
}

/* " (the gzip stream ends early)" when zlib saw a cut compressed stream, else "". */
static const char *idx_gz_hint(gzFile gz)
{
    int code = Z_OK;
    gzerror(gz, &code);
    return code == Z_BUF_ERROR ? " (the gzip stream ends early)" : "";
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Reads and checks the header of an IDX file that must be uint8 with `ndims` dimensions. */
static bool idx_header(gzFile gz, const char *path, uint32_t ndims, const char *what,
                       uint32_t *dims, nnxr_error *err)
{
    uint8_t magic[4];
    uint64_t got;
    if (!idx_read(gz, path, magic, 4, &got, err))
        return false;
    if (got < 4)
        return nnxr_fail(err, "%s: too short for an IDX header: %llu bytes, expected at least 4%s",
                         path, (unsigned long long)got, idx_gz_hint(gz));
    if (magic[0] != 0 || magic[1] != 0)
        return nnxr_fail(err,
                         "%s: bad magic %02x %02x %02x %02x: expected 00 00 08 %02x (an IDX %s "
                         "file)",
                         path, magic[0], magic[1], magic[2], magic[3], ndims, what);
    if (magic[2] != NNXR_IDX_U8) {
        const char *name = idx_type_name(magic[2]);
        if (name)
            return nnxr_fail(err,
                             "%s: IDX type 0x%02X (%s) is not supported: expected 0x08 (unsigned "
                             "byte)",
                             path, magic[2], name);
        return nnxr_fail(err, "%s: unknown IDX type 0x%02X: expected 0x08 (unsigned byte)", path,
                         magic[2]);
    }
    if (magic[3] != ndims)
        return nnxr_fail(err, "%s: has %u dimension%s: expected %u for an IDX %s file%s", path,
                         magic[3], magic[3] == 1 ? "" : "s", ndims, what,
                         magic[3] == 1 ? " (is it a labels file?)"
                         : magic[3] == 3 ? " (is it an images file?)"
                                         : "");
    uint8_t raw[4 * 3];
    if (!idx_read(gz, path, raw, 4u * ndims, &got, err))
        return false;
    if (got < 4u * ndims)
        return nnxr_fail(err, "%s: truncated header: expected %u bytes of dimensions, found %llu%s",
                         path, 4u * ndims, (unsigned long long)got, idx_gz_hint(gz));
    for (uint32_t i = 0; i < ndims; i++)
        dims[i] = be32(raw + 4 * i);
    if (dims[0] == 0)
        return nnxr_fail(err, "%s: holds 0 items: expected at least one", path);
    return true;
}

/* Reads exactly `expected` payload bytes, then insists on end of file. */
static bool idx_payload(gzFile gz, const char *path, uint64_t expected, const char *what,
                        uint8_t **out, nnxr_error *err)
{
    uint64_t cap = expected < IDX_FIRST_ALLOC ? expected : IDX_FIRST_ALLOC;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return nnxr_fail(err, "%s: out of memory for %llu bytes", path, (unsigned long long)cap);
    uint64_t have = 0;
    for (;;) {
        uint64_t got;
        if (!idx_read(gz, path, buf + have, cap - have, &got, err)) {
            free(buf);
            return false;
        }
        have += got;
        if (have < cap || cap == expected)
            break;
        uint64_t ncap = cap * 2 < expected ? cap * 2 : expected;
        uint8_t *nb = realloc(buf, ncap);
        if (!nb) {
            free(buf);
            return nnxr_fail(err, "%s: out of memory for %llu bytes", path,
                             (unsigned long long)ncap);
        }
        buf = nb;
        cap = ncap;
    }
    if (have < expected) {
        nnxr_fail(err, "%s: truncated: expected %llu bytes of %s data, found %llu%s", path,
                  (unsigned long long)expected, what, (unsigned long long)have, idx_gz_hint(gz));
        free(buf);
        return false;
    }
    uint8_t extra[256];
    uint64_t more = 0, got;
    do {
        if (!idx_read(gz, path, extra, sizeof extra, &got, err)) {
            free(buf);
            return false;
        }
        more += got;
    } while (got == sizeof extra && more < (UINT64_C(1) << 20));
    if (more > 0) {
        nnxr_fail(err, "%s: %s%llu trailing bytes after the %llu bytes of %s data: expected the "
                  "file to end there",
                  path, more >= (UINT64_C(1) << 20) ? "at least " : "", (unsigned long long)more,
                  (unsigned long long)expected, what);
        free(buf);
        return false;
    }
    *out = buf;
    return true;
}

bool nnxr_idx_read_images(const char *path, nnxr_idx_images *out, nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    gzFile gz;
    if (!idx_open(path, &gz, err))
        return false;
    uint32_t dims[3] = {0, 0, 0};
    bool ok = idx_header(gz, path, 3, "images", dims, err);
    if (ok && (dims[1] == 0 || dims[2] == 0 || dims[1] > NNXR_IDX_MAX_SIDE ||
               dims[2] > NNXR_IDX_MAX_SIDE ||
               (uint64_t)dims[1] * dims[2] > NNXR_IDX_MAX_IMAGE))
        ok = nnxr_fail(err,
                       "%s: image size %ux%u is not sane: expected rows and cols in 1..%u and at "
                       "most %u pixels",
                       path, dims[1], dims[2], NNXR_IDX_MAX_SIDE, NNXR_IDX_MAX_IMAGE);
    uint64_t bytes = (uint64_t)dims[0] * dims[1] * dims[2];
    if (ok && bytes > NNXR_IDX_MAX_BYTES)
        ok = nnxr_fail(err, "%s: %u images of %ux%u make %llu bytes: more than the 4 GiB allowed",
                       path, dims[0], dims[1], dims[2], (unsigned long long)bytes);
    uint8_t *pixels = NULL;
    if (ok)
        ok = idx_payload(gz, path, bytes, "pixel", &pixels, err);
    gzclose(gz);
    if (!ok)
        return false;
    out->count = dims[0];
    out->rows = dims[1];
    out->cols = dims[2];
    out->pixels = pixels;
    return true;
}

bool nnxr_idx_read_labels(const char *path, uint32_t num_classes, nnxr_idx_labels *out,
                          nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    gzFile gz;
    if (!idx_open(path, &gz, err))
        return false;
    uint32_t dims[1] = {0};
    bool ok = idx_header(gz, path, 1, "labels", dims, err);
    uint8_t *labels = NULL;
    if (ok)
        ok = idx_payload(gz, path, dims[0], "label", &labels, err);
    gzclose(gz);
    if (!ok)
        return false;
    if (num_classes > 0 && num_classes <= 256) {
        for (uint32_t i = 0; i < dims[0]; i++) {
            if (labels[i] >= num_classes) {
                nnxr_fail(err, "%s: label %u at index %u is out of range: expected 0..%u", path,
                          labels[i], i, num_classes - 1);
                free(labels);
                return false;
            }
        }
    }
    out->count = dims[0];
    out->labels = labels;
    return true;
}

void nnxr_idx_images_free(nnxr_idx_images *img)
{
    if (!img)
        return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

void nnxr_idx_labels_free(nnxr_idx_labels *lab)
{
    if (!lab)
        return;
    free(lab->labels);
    memset(lab, 0, sizeof *lab);
}

/* Streams bytes through deflate (gzip wrapper) into the atomic file. */
static bool idx_deflate(z_stream *zs, nnxr_atomic_file *af, const uint8_t *data, uint64_t size,
                        bool finish, nnxr_error *err)
{
    uint8_t out[64 * 1024];
    uint64_t off = 0;
    for (;;) {
        uint64_t left = size - off;
        unsigned n = left > IDX_GZ_CHUNK ? IDX_GZ_CHUNK : (unsigned)left;
        zs->next_in = (Bytef *)(uintptr_t)(data + off);
        zs->avail_in = n;
        int flush = (finish && off + n == size) ? Z_FINISH : Z_NO_FLUSH;
        int ret;
        do {
            zs->next_out = out;
            zs->avail_out = sizeof out;
            ret = deflate(zs, flush);
            if (ret == Z_STREAM_ERROR)
                return nnxr_fail(err, "%s: gzip compression failed", af->path);
            size_t have = sizeof out - zs->avail_out;
            if (have && !nnxr_atomic_write(af, out, have, err))
                return false;
        } while (zs->avail_out == 0);
        off += n;
        if (off == size)
            return flush != Z_FINISH || ret == Z_STREAM_END ||
                   nnxr_fail(err, "%s: gzip stream did not end", af->path);
    }
}

bool nnxr_idx_write_u8(const char *path, const uint32_t *dims, uint32_t ndims,
                       const uint8_t *data, bool gzip, nnxr_error *err)
{
    if (ndims < 1 || ndims > 4)
        return nnxr_fail(err, "%s: IDX write: %u dimensions: expected 1..4", path, ndims);
    uint64_t size = 1;
    for (uint32_t i = 0; i < ndims; i++) {
        size *= dims[i];
        if (size > NNXR_IDX_MAX_BYTES)
            return nnxr_fail(err, "%s: IDX write: more than 4 GiB of data", path);
    }
    uint8_t header[4 + 16] = {0, 0, NNXR_IDX_U8, (uint8_t)ndims};
    for (uint32_t i = 0; i < ndims; i++) {
        header[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        header[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        header[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        header[7 + 4 * i] = (uint8_t)dims[i];
    }
    size_t header_len = 4 + 4 * (size_t)ndims;
    nnxr_atomic_file af;
    if (!nnxr_atomic_open(&af, path, err))
        return false;
    if (!gzip) {
        if (!nnxr_atomic_write(&af, header, header_len, err) ||
            !nnxr_atomic_write(&af, data, (size_t)size, err))
            return false;
        return nnxr_atomic_commit(&af, err);
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        nnxr_atomic_abort(&af);
        return nnxr_fail(err, "%s: cannot start gzip compression", path);
    }
    bool ok = idx_deflate(&zs, &af, header, header_len, false, err) &&
              idx_deflate(&zs, &af, data, size, true, err);
    deflateEnd(&zs);
    if (!ok) {
        nnxr_atomic_abort(&af);
        return false;
    }
    return nnxr_atomic_commit(&af, err);
}
