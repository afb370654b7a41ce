/* sim/journal.h — the label journal: every annotation (label, unlabel, undo) appended to a
 * file in the run's output folder and fsync'ed before it takes effect, replayed at start.
 *
 * File: a 32-byte header ("NNXRJNL1", version, point count, reserved, CRC-32 of the first
 * 28 bytes), then records, each
 *     u32 payload length | u32 CRC-32 (zlib) of the payload | payload
 * payload (little-endian):
 *     u64 seq (1, 2, 3, ... in file order) | u32 kind | f32 center[3] | f32 radius |
 *     i32 label | u32 count | u32 encoded bytes | the point indices, ascending, as LEB128
 *     varints of the gaps (first index, then index[k] − index[k−1] − 1)
 * Sphere and label say what the user did; the index list says exactly which points it
 * touched, so replay restores the same labels even though the cloud has moved since.
 *
 * Opening replays the file. A torn or corrupt LAST record (a length running past the end,
 * an impossible length, a CRC or content mismatch with nothing valid after it) is reported
 * in the open report and truncated away (ftruncate + fsync) so appends continue after the
 * last good record; earlier records are kept. A bad record followed by more data is NOT
 * truncated — that is damage in the middle, and cutting there would lose later annotations:
 * open fails with a message naming the record and byte offset. */
#ifndef NNXR_SIM_JOURNAL_H
#define NNXR_SIM_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"
#include "sim/labels.h"

#define NNXR_JOURNAL_FILE "labels.journal"  /* its name in a run's output folder */
#define NNXR_JOURNAL_HEADER_BYTES 32u
#define NNXR_JOURNAL_MAX_PAYLOAD (64u << 20)

typedef struct nnxr_journal_record {
    uint64_t seq;           /* assigned by append */
    nnxr_annot_kind kind;
    float center[3];
    float radius;
    int32_t label;          /* −1 for UNLABEL and UNDO */
    uint32_t count;         /* points; 0 for UNDO */
    uint32_t *index;        /* ascending, unique, < point count */
} nnxr_journal_record;

typedef struct nnxr_journal nnxr_journal;

typedef struct nnxr_journal_report {
    bool created;           /* the file did not exist (or was empty) and was created */
    uint32_t records;       /* good records replayed */
    bool tail_dropped;      /* a torn/corrupt last record was truncated away */
    uint64_t dropped_bytes;
    uint64_t dropped_at;    /* byte offset where the file was cut */
    char tail_reason[256];  /* why (empty when nothing was dropped) */
} nnxr_journal_report;

/* Opens (creating it, and fsync'ing the folder, if missing) the journal at path for a point
 * set of point_count points, reads every record into memory and repairs a torn tail as
 * described above. report may be NULL. A header for another point count, a bad magic or
 * version, or mid-file damage fail with a message naming the file and offset. */
bool nnxr_journal_open(const char *path, uint32_t point_count, nnxr_journal **out,
                       nnxr_journal_report *report, nnxr_error *err);
void nnxr_journal_close(nnxr_journal *j); /* NULL is fine */

uint32_t nnxr_journal_point_count(const nnxr_journal *j);
uint32_t nnxr_journal_count(const nnxr_journal *j);           /* records held */
const nnxr_journal_record *nnxr_journal_at(const nnxr_journal *j, uint32_t i);
uint64_t nnxr_journal_last_seq(const nnxr_journal *j);        /* 0 when empty */
const char *nnxr_journal_path(const nnxr_journal *j);

/* Appends a record (seq assigned here, into rec->seq too) with one write() and fsync()s the
 * file; true means the record is durable. On failure the file is cut back to its previous
 * length and the record is not held. The indices are copied. */
bool nnxr_journal_append(nnxr_journal *j, nnxr_journal_record *rec, nnxr_error *err);

/* Applies every record in order to a fresh label state (n = the journal's point count). */
bool nnxr_journal_replay(const nnxr_journal *j, nnxr_label_state *state, nnxr_error *err);

/* The wire form of one record (length, CRC, payload) in a malloc'ed buffer, and its parse
 * (which checks length, CRC, kind, label range is left to the label state, index order and
 * bound point_count). Exposed for tests. */
bool nnxr_journal_encode(const nnxr_journal_record *rec, uint8_t **bytes, size_t *len,
                         nnxr_error *err);
/* Parses one record at data[0..avail); *used = its full size. The record's index array is
 * malloc'ed (free it). */
bool nnxr_journal_decode(const uint8_t *data, size_t avail, uint32_t point_count,
                         nnxr_journal_record *rec, size_t *used, nnxr_error *err);

#endif
