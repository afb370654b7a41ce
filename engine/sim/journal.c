/* sim/journal.c — the label journal (sim/journal.h): the record format, durable appends,
 * replay at open and the repair of a torn tail. */
#include "sim/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/status.h"

#define MAGIC "NNXRJNL1"
#define VERSION 1u
#define FIXED_PAYLOAD 40u /* seq .. encoded-bytes field */
#define FRAME 8u          /* length + CRC */

struct nnxr_journal {
    int fd;
    char *path;
    uint32_t point_count;
    uint64_t size;        /* bytes of good data in the file */
    nnxr_journal_record *records;
    uint32_t count, cap;
    bool broken;          /* an fsync failed: the file's state is unknown, refuse appends */
};

/* ---- little-endian fields ---------------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int b = 0; b < 4; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int b = 0; b < 8; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static void put_f32(uint8_t *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(p, v);
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int b = 0; b < 4; b++)
        v |= (uint32_t)p[b] << (8 * b);
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v |= (uint64_t)p[b] << (8 * b);
    return v;
}

static float get_f32(const uint8_t *p)
{
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static const char *kind_name(uint32_t k)
{
    switch (k) {
    case NNXR_ANNOT_LABEL: return "label";
    case NNXR_ANNOT_UNLABEL: return "unlabel";
    case NNXR_ANNOT_UNDO: return "undo";
    default: return "?";
    }
}

/* ---- encode / decode --------------------------------------------------------------------- */

bool nnxr_journal_encode(const nnxr_journal_record *rec, uint8_t **bytes, size_t *len,
                         nnxr_error *err)
{
    *bytes = NULL;
    *len = 0;
    if (rec->kind != NNXR_ANNOT_LABEL && rec->kind != NNXR_ANNOT_UNLABEL &&
        rec->kind != NNXR_ANNOT_UNDO)
        return nnxr_fail(err, "journal record: unknown kind %d", (int)rec->kind);
    if (rec->kind == NNXR_ANNOT_UNDO && rec->count)
        return nnxr_fail(err, "journal record: an undo carries no points (got %u)",
                         rec->count);
    if (rec->count && !rec->index)
        return nnxr_fail(err, "journal record: %u points without an index list", rec->count);
    for (uint32_t k = 1; k < rec->count; k++)
        if (rec->index[k] <= rec->index[k - 1])
            return nnxr_fail(err, "journal record: indices must ascend (entry %u: %u after "
                             "%u)", k, rec->index[k], rec->index[k - 1]);
    size_t cap = FRAME + FIXED_PAYLOAD + (size_t)rec->count * 5;
    if (cap - FRAME > NNXR_JOURNAL_MAX_PAYLOAD)
        return nnxr_fail(err, "journal record: %u points exceed the record size limit",
                         rec->count);
    uint8_t *b = malloc(cap);
    if (!b)
        return nnxr_fail(err, "journal record: out of memory (%zu bytes)", cap);
    uint8_t *p = b + FRAME;
    put_u64(p, rec->seq);
    put_u32(p + 8, (uint32_t)rec->kind);
    for (int a = 0; a < 3; a++)
        put_f32(p + 12 + 4 * a, rec->center[a]);
    put_f32(p + 24, rec->radius);
    put_u32(p + 28, (uint32_t)rec->label);
    put_u32(p + 32, rec->count);
    uint8_t *q = p + FIXED_PAYLOAD;
    uint32_t prev = 0;
    for (uint32_t k = 0; k < rec->count; k++) {
        uint32_t gap = k == 0 ? rec->index[0] : rec->index[k] - prev - 1;
        prev = rec->index[k];
        do {
            uint8_t byte = gap & 0x7fu;
            gap >>= 7;
            *q++ = byte | (gap ? 0x80u : 0u);
        } while (gap);
    }
    uint32_t enc = (uint32_t)(q - (p + FIXED_PAYLOAD));
    put_u32(p + 36, enc);
    uint32_t plen = FIXED_PAYLOAD + enc;
    put_u32(b, plen);
    put_u32(b + 4, crc(p, plen));
    *bytes = b;
    *len = FRAME + plen;
    return true;
}

/* Parses one record. Failures say why; `framing` tells whether the frame itself (length or
 * CRC) was bad, as opposed to a CRC-valid payload with impossible content. */
static bool decode(const uint8_t *data, size_t avail, uint32_t point_count,
                   nnxr_journal_record *rec, size_t *used, bool *framing, nnxr_error *err)
{
    memset(rec, 0, sizeof *rec);
    *framing = true;
    if (avail < FRAME)
        return nnxr_fail(err, "%zu bytes left, less than a record's 8-byte frame", avail);
    uint32_t plen = get_u32(data);
    if (plen < FIXED_PAYLOAD || plen > NNXR_JOURNAL_MAX_PAYLOAD)
        return nnxr_fail(err, "impossible payload length %u", plen);
    if ((uint64_t)plen > avail - FRAME)
        return nnxr_fail(err, "payload length %u runs past the end (%zu bytes left)", plen,
                         avail - FRAME);
    const uint8_t *p = data + FRAME;
    uint32_t want = get_u32(data + 4), got = crc(p, plen);
    if (want != got)
        return nnxr_fail(err, "CRC mismatch (stored %08x, computed %08x)", want, got);
    *framing = false;
    rec->seq = get_u64(p);
    uint32_t kind = get_u32(p + 8);
    for (int a = 0; a < 3; a++)
        rec->center[a] = get_f32(p + 12 + 4 * a);
    rec->radius = get_f32(p + 24);
    rec->label = (int32_t)get_u32(p + 28);
    rec->count = get_u32(p + 32);
    uint32_t enc = get_u32(p + 36);
    if (kind < NNXR_ANNOT_LABEL || kind > NNXR_ANNOT_UNDO)
        return nnxr_fail(err, "unknown kind %u", kind);
    rec->kind = (nnxr_annot_kind)kind;
    if (!isfinite(rec->center[0]) || !isfinite(rec->center[1]) ||
        !isfinite(rec->center[2]) || !isfinite(rec->radius) || rec->radius < 0)
        return nnxr_fail(err, "%s record: sphere not finite or negative radius",
                         kind_name(kind));
    if ((kind == NNXR_ANNOT_LABEL) != (rec->label >= 0) ||
        (kind != NNXR_ANNOT_LABEL && rec->label != -1))
        return nnxr_fail(err, "%s record with label %d", kind_name(kind), rec->label);
    if (kind == NNXR_ANNOT_UNDO && rec->count)
        return nnxr_fail(err, "undo record with %u points", rec->count);
    if (rec->count > point_count)
        return nnxr_fail(err, "%u points in a journal of %u", rec->count, point_count);
    if (enc != plen - FIXED_PAYLOAD)
        return nnxr_fail(err, "index bytes %u do not fill the payload (%u)", enc,
                         plen - FIXED_PAYLOAD);
    rec->index = malloc(rec->count ? (size_t)rec->count * sizeof *rec->index : 1);
    if (!rec->index)
        return nnxr_fail(err, "out of memory for %u indices", rec->count);
    const uint8_t *q = p + FIXED_PAYLOAD, *end = q + enc;
    uint64_t next = 0;
    for (uint32_t k = 0; k < rec->count; k++) {
        uint64_t gap = 0;
        int shift = 0;
        for (;;) {
            if (q >= end || shift > 28) {
                free(rec->index);
                rec->index = NULL;
                return nnxr_fail(err, "index %u: truncated or overlong varint", k);
            }
            uint8_t byte = *q++;
            gap |= (uint64_t)(byte & 0x7fu) << shift;
            shift += 7;
            if (!(byte & 0x80u))
                break;
        }
        uint64_t idx = next + gap;
        if (idx >= point_count) {
            free(rec->index);
            rec->index = NULL;
            return nnxr_fail(err, "index %u is %llu, beyond %u points", k,
                             (unsigned long long)idx, point_count);
        }
        rec->index[k] = (uint32_t)idx;
        next = idx + 1;
    }
    if (q != end) {
        free(rec->index);
        rec->index = NULL;
        return nnxr_fail(err, "%td stray bytes after the indices", end - q);
    }
    *used = FRAME + plen;
    return true;
}

bool nnxr_journal_decode(const uint8_t *data, size_t avail, uint32_t point_count,
                         nnxr_journal_record *rec, size_t *used, nnxr_error *err)
{
    bool framing;
    return decode(data, avail, point_count, rec, used, &framing, err);
}

/* ---- file -------------------------------------------------------------------------------- */

static void make_header(uint8_t h[NNXR_JOURNAL_HEADER_BYTES], uint32_t point_count)
{
    memset(h, 0, NNXR_JOURNAL_HEADER_BYTES);
    memcpy(h, MAGIC, 8);
    put_u32(h + 8, VERSION);
    put_u32(h + 12, point_count);
    put_u32(h + 28, crc(h, 28));
}

static bool write_all(int fd, const uint8_t *p, size_t n, uint64_t off, const char *path,
                      nnxr_error *err)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return nnxr_fail(err, "%s: write failed: %s", path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return true;
}

static bool sync_fd(int fd, const char *path, nnxr_error *err)
{
    if (fsync(fd) != 0)
        return nnxr_fail(err, "%s: fsync failed: %s", path, strerror(errno));
    return true;
}

static bool sync_dir(const char *path, nnxr_error *err)
{
    char *copy = strdup(path);
    if (!copy)
        return nnxr_fail(err, "%s: out of memory", path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        nnxr_fail(err, "%s: cannot open its folder %s to fsync it: %s", path, dir,
                  strerror(errno));
        free(copy);
        return false;
    }
    bool ok = fsync(fd) == 0;
    if (!ok)
        nnxr_fail(err, "%s: fsync of the folder %s failed: %s", path, dir, strerror(errno));
    close(fd);
    free(copy);
    return ok;
}

static bool hold(nnxr_journal *j, const nnxr_journal_record *rec, nnxr_error *err)
{
    if (j->count == j->cap) {
        uint32_t cap = j->cap ? j->cap * 2 : 32;
        nnxr_journal_record *r = realloc(j->records, cap * sizeof *r);
        if (!r)
            return nnxr_fail(err, "%s: out of memory for %u records", j->path, cap);
        j->records = r;
        j->cap = cap;
    }
    j->records[j->count++] = *rec;
    return true;
}

/* Is there a valid record anywhere in data[from..size)? Used to tell a torn tail (nothing
 * valid after the bad record) from damage in the middle (valid records follow). A chance CRC
 * match in garbage has odds of 2^-32 per candidate. */
static bool valid_record_after(const uint8_t *data, size_t size, size_t from,
                               uint32_t point_count, uint64_t *found_at)
{
    for (size_t off = from; off + FRAME + FIXED_PAYLOAD <= size; off++) {
        uint32_t plen = get_u32(data + off);
        if (plen < FIXED_PAYLOAD || plen > NNXR_JOURNAL_MAX_PAYLOAD ||
            plen > size - off - FRAME)
            continue;
        nnxr_journal_record r;
        size_t used;
        bool framing;
        nnxr_error e;
        if (decode(data + off, size - off, point_count, &r, &used, &framing, &e)) {
            free(r.index);
            *found_at = off;
            return true;
        }
        if (!framing) { /* CRC matched: a record, even if its content is bad */
            *found_at = off;
            return true;
        }
    }
    return false;
}

static bool cut(nnxr_journal *j, uint64_t at, nnxr_error *err)
{
    if (ftruncate(j->fd, (off_t)at) != 0)
        return nnxr_fail(err, "%s: cannot truncate to %llu bytes: %s", j->path,
                         (unsigned long long)at, strerror(errno));
    return sync_fd(j->fd, j->path, err);
}

static bool read_file(int fd, const char *path, uint8_t **out, size_t *size, nnxr_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return nnxr_fail(err, "%s: cannot stat: %s", path, strerror(errno));
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return nnxr_fail(err, "%s: out of memory for %zu bytes", path, n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(b);
            return nnxr_fail(err, "%s: read failed at byte %zu: %s", path, got,
                             r < 0 ? strerror(errno) : "unexpected end of file");
        }
        got += (size_t)r;
    }
    *out = b;
    *size = n;
    return true;
}

static void report_tail(nnxr_journal_report *rep, uint64_t at, uint64_t bytes,
                        const char *reason)
{
    if (!rep)
        return;
    rep->tail_dropped = true;
    rep->dropped_at = at;
    rep->dropped_bytes = bytes;
    snprintf(rep->tail_reason, sizeof rep->tail_reason, "%s", reason);
}

static bool load(nnxr_journal *j, nnxr_journal_report *rep, nnxr_error *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (!read_file(j->fd, j->path, &data, &size, err))
        return false;
    uint8_t want[NNXR_JOURNAL_HEADER_BYTES];
    make_header(want, j->point_count);
    bool ok = true;
    if (size < NNXR_JOURNAL_HEADER_BYTES) {
        /* Empty, or a crash while the header was being created (no record can have been
         * acknowledged then). Anything else is not a journal. */
        size_t cmp = size < 8 ? size : 8;
        if (memcmp(data, MAGIC, cmp) != 0) {
            free(data);
            return nnxr_fail(err, "%s: not a label journal (%zu bytes, no '%s' magic)",
                             j->path, size, MAGIC);
        }
        if (size > 0) {
            report_tail(rep, 0, size, "torn journal header (a crash while it was created)");
        } else if (rep) {
            rep->created = true;
        }
        ok = write_all(j->fd, want, sizeof want, 0, j->path, err) &&
             (size <= sizeof want || cut(j, sizeof want, err)) &&
             sync_fd(j->fd, j->path, err) && sync_dir(j->path, err);
        j->size = sizeof want;
        free(data);
        return ok;
    }
    if (memcmp(data, MAGIC, 8) != 0) {
        free(data);
        return nnxr_fail(err, "%s: not a label journal (bad magic at byte 0)", j->path);
    }
    if (get_u32(data + 28) != crc(data, 28)) {
        free(data);
        return nnxr_fail(err, "%s: journal header is corrupt (CRC mismatch at byte 28)",
                         j->path);
    }
    uint32_t version = get_u32(data + 8), points = get_u32(data + 12);
    if (version != VERSION) {
        free(data);
        return nnxr_fail(err, "%s: journal version %u, expected %u", j->path, version,
                         VERSION);
    }
    if (points != j->point_count) {
        free(data);
        return nnxr_fail(err, "%s: journal was written for %u points, this data set has %u",
                         j->path, points, j->point_count);
    }
    size_t off = NNXR_JOURNAL_HEADER_BYTES;
    uint32_t index = 0;
    while (off < size) {
        nnxr_journal_record rec;
        size_t used = 0;
        bool framing;
        nnxr_error why;
        bool good = decode(data + off, size - off, j->point_count, &rec, &used, &framing,
                           &why);
        if (good && rec.seq != (uint64_t)index + 1) {
            free(rec.index);
            good = false;
            framing = false;
            snprintf(why.message, sizeof why.message, "sequence number %llu, expected %u",
                     (unsigned long long)rec.seq, index + 1);
        }
        if (!good) {
            uint64_t later;
            if (valid_record_after(data, size, off + 1, j->point_count, &later)) {
                ok = nnxr_fail(err, "%s: record %u at byte %zu is bad (%s) but a valid record "
                               "follows at byte %llu: damage in the middle of the journal; "
                               "refusing to cut it (that would lose later annotations) — "
                               "move the file aside to start afresh", j->path, index + 1, off,
                               why.message, (unsigned long long)later);
                break;
            }
            char reason[256];
            snprintf(reason, sizeof reason, "record %u at byte %zu: %.180s", index + 1, off,
                     why.message);
            report_tail(rep, off, size - off, reason);
            ok = cut(j, off, err);
            break;
        }
        if (!hold(j, &rec, err)) {
            free(rec.index);
            ok = false;
            break;
        }
        off += used;
        index++;
    }
    j->size = off;
    if (rep)
        rep->records = j->count;
    free(data);
    return ok;
}

bool nnxr_journal_open(const char *path, uint32_t point_count, nnxr_journal **out,
                       nnxr_journal_report *report, nnxr_error *err)
{
    *out = NULL;
    if (report)
        memset(report, 0, sizeof *report);
    if (point_count == 0)
        return nnxr_fail(err, "%s: a journal needs a point count > 0", path);
    nnxr_journal *j = calloc(1, sizeof *j);
    if (!j)
        return nnxr_fail(err, "%s: out of memory", path);
    j->point_count = point_count;
    j->path = strdup(path);
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (!j->path || j->fd < 0) {
        nnxr_fail(err, "%s: cannot open the label journal: %s", path,
                  j->path ? strerror(errno) : "out of memory");
        nnxr_journal_close(j);
        return false;
    }
    if (!load(j, report, err)) {
        nnxr_journal_close(j);
        return false;
    }
    *out = j;
    return true;
}

void nnxr_journal_close(nnxr_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    for (uint32_t k = 0; k < j->count; k++)
        free(j->records[k].index);
    free(j->records);
    free(j->path);
    free(j);
}

uint32_t nnxr_journal_point_count(const nnxr_journal *j) { return j->point_count; }
uint32_t nnxr_journal_count(const nnxr_journal *j) { return j->count; }
const char *nnxr_journal_path(const nnxr_journal *j) { return j->path; }

const nnxr_journal_record *nnxr_journal_at(const nnxr_journal *j, uint32_t i)
{
    return i < j->count ? &j->records[i] : NULL;
}

uint64_t nnxr_journal_last_seq(const nnxr_journal *j)
{
    return j->count ? j->records[j->count - 1].seq : 0;
}

bool nnxr_journal_append(nnxr_journal *j, nnxr_journal_record *rec, nnxr_error *err)
{
    if (j->broken)
        return nnxr_fail(err, "%s: an earlier fsync failed; the journal refuses further "
                         "annotations (restart to replay what is durable)", j->path);
    for (uint32_t k = 0; k < rec->count; k++)
        if (rec->index[k] >= j->point_count)
            return nnxr_fail(err, "%s: point index %u beyond %u points", j->path,
                             rec->index[k], j->point_count);
    nnxr_journal_record copy = *rec;
    copy.seq = nnxr_journal_last_seq(j) + 1;
    uint8_t *bytes;
    size_t len;
    if (!nnxr_journal_encode(&copy, &bytes, &len, err))
        return nnxr_fail_prefix(err, "%s", j->path);
    copy.index = malloc(rec->count ? (size_t)rec->count * sizeof *copy.index : 1);
    if (!copy.index) {
        free(bytes);
        return nnxr_fail(err, "%s: out of memory", j->path);
    }
    if (rec->count)
        memcpy(copy.index, rec->index, (size_t)rec->count * sizeof *copy.index);
    bool ok = write_all(j->fd, bytes, len, j->size, j->path, err);
    if (!ok) {
        /* Best effort: leave no partial record behind for the next append to follow. */
        if (ftruncate(j->fd, (off_t)j->size) != 0)
            j->broken = true;
    } else if (!sync_fd(j->fd, j->path, err)) {
        j->broken = true;
        ok = false;
    }
    free(bytes);
    if (ok)
        ok = hold(j, &copy, err);
    if (!ok) {
        free(copy.index);
        return false;
    }
    j->size += len;
    rec->seq = copy.seq;
    return true;
}

bool nnxr_journal_replay(const nnxr_journal *j, nnxr_label_state *state, nnxr_error *err)
{
    if (state->n != j->point_count)
        return nnxr_fail(err, "%s: journal of %u points replayed onto %u", j->path,
                         j->point_count, state->n);
    for (uint32_t k = 0; k < j->count; k++) {
        const nnxr_journal_record *r = &j->records[k];
        bool ok;
        if (r->kind == NNXR_ANNOT_UNDO) {
            bool undone;
            ok = nnxr_label_state_undo(state, &undone, NULL, err);
            if (ok && !undone)
                ok = nnxr_fail(err, "undo with nothing to undo");
        } else {
            ok = nnxr_label_state_apply(state, r->kind, r->label, r->index, r->count, NULL,
                                        NULL, err);
        }
        if (!ok)
            return nnxr_fail_prefix(err, "%s: record %u (seq %llu, %s)", j->path, k + 1,
                                    (unsigned long long)r->seq, kind_name(r->kind));
    }
    return true;
}
