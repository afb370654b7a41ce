/* tests/unit/test_sim_journal.c — the label journal: record round trips; refusal of bad
 * records; a torn last record cut at every byte offset, a corrupt last record, a zero-filled
 * tail — each dropped with the earlier records kept and appends continuing; damage in the
 * middle refused without touching the file; header checks; the label state's undo; and the
 * crash test: a writer process streaming annotations is killed with SIGKILL at random
 * moments, 50 times, and after every restart each annotation it acknowledged (after fsync
 * returned) is there with the exact label state, and the journal loads. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/fs.h"
#include "data/rng.h"
#include "sim/journal.h"
#include "sim/labels.h"

#define NPTS 5000u
#define CLASSES 10u

static char dir[512];

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    nnxr_error err;
    return (uint8_t *)nnxr_read_file(path, len, &err);
}

static void spit(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* A random annotation: kind by dice, a random sorted subset of the points. */
static uint32_t random_record(nnxr_rng *rng, nnxr_journal_record *r, uint32_t *buf,
                              bool may_undo)
{
    memset(r, 0, sizeof *r);
    uint32_t dice = nnxr_rng_below(rng, 10);
    if (dice == 0 && may_undo) {
        r->kind = NNXR_ANNOT_UNDO;
        r->label = -1;
        return 0;
    }
    r->kind = dice <= 1 ? NNXR_ANNOT_UNLABEL : NNXR_ANNOT_LABEL;
    r->label = r->kind == NNXR_ANNOT_LABEL ? (int32_t)nnxr_rng_below(rng, CLASSES) : -1;
    for (int a = 0; a < 3; a++)
        r->center[a] = (float)nnxr_rng_uniform(rng, -2, 2);
    r->radius = (float)nnxr_rng_uniform(rng, 0, 1);
    uint32_t count = 0, i = nnxr_rng_below(rng, 40);
    /* Gaps of all sizes, including ones that need 2- and 3-byte varints. */
    while (i < NPTS && count < 300) {
        buf[count++] = i;
        uint32_t g = nnxr_rng_below(rng, 4);
        i += 1 + (g == 0 ? nnxr_rng_below(rng, 400) : g == 1 ? nnxr_rng_below(rng, 20000) : g);
    }
    r->count = count;
    r->index = buf;
    return count;
}

static bool same_record(const nnxr_journal_record *a, const nnxr_journal_record *b)
{
    return a->seq == b->seq && a->kind == b->kind && a->label == b->label &&
           a->count == b->count && memcmp(a->center, b->center, sizeof a->center) == 0 &&
           a->radius == b->radius &&
           (a->count == 0 || memcmp(a->index, b->index, a->count * sizeof *a->index) == 0);
}

static void roundtrip(void)
{
    nnxr_rng rng;
    nnxr_rng_seed(&rng, 1, 2);
    uint32_t buf[400];
    for (int t = 0; t < 200; t++) {
        nnxr_journal_record r, back;
        random_record(&rng, &r, buf, true);
        r.seq = (uint64_t)t + 1;
        uint8_t *bytes;
        size_t len, used;
        nnxr_error err;
        CHECKF(nnxr_journal_encode(&r, &bytes, &len, &err), "%s", err.message);
        CHECKF(nnxr_journal_decode(bytes, len, NPTS, &back, &used, &err), "%s", err.message);
        CHECK(used == len && same_record(&r, &back));
        free(back.index);
        /* Every single-bit flip is detected (CRC or framing). */
        if (t < 5) {
            size_t undetected = 0;
            for (size_t bit = 0; bit < len * 8; bit++) {
                bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                if (nnxr_journal_decode(bytes, len, NPTS, &back, &used, &err)) {
                    undetected++;
                    free(back.index);
                }
                bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            }
            CHECKF(undetected == 0, "%zu bit flips undetected", undetected);
        }
        free(bytes);
    }
    /* Refusals. */
    nnxr_error err;
    uint8_t *bytes;
    size_t len;
    uint32_t unsorted[3] = {5, 4, 9};
    nnxr_journal_record r = {.seq = 1, .kind = NNXR_ANNOT_LABEL, .label = 1, .count = 3,
                             .index = unsorted};
    CHECK(!nnxr_journal_encode(&r, &bytes, &len, &err));
    CHECK_CONTAINS(err.message, "ascend");
    uint32_t big[2] = {1, NPTS};
    r.index = big;
    r.count = 2;
    CHECK(nnxr_journal_encode(&r, &bytes, &len, &err));
    nnxr_journal_record back;
    size_t used;
    CHECK(!nnxr_journal_decode(bytes, len, NPTS, &back, &used, &err));
    CHECK_CONTAINS(err.message, "beyond 5000 points");
    free(bytes);
    nnxr_journal_record u = {.seq = 1, .kind = NNXR_ANNOT_UNDO, .label = -1, .count = 1,
                             .index = big};
    CHECK(!nnxr_journal_encode(&u, &bytes, &len, &err));
    CHECK_CONTAINS(err.message, "undo carries no points");
}

/* Writes `count` records to a fresh journal; returns the file offsets where each ends. */
static void write_journal(const char *path, uint32_t count, long *ends, uint64_t seed)
{
    unlink(path);
    nnxr_journal *j = NULL;
    nnxr_error err;
    if (!nnxr_journal_open(path, NPTS, &j, NULL, &err)) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    nnxr_rng rng;
    nnxr_rng_seed(&rng, seed, 7);
    uint32_t buf[400];
    for (uint32_t k = 0; k < count; k++) {
        nnxr_journal_record r;
        random_record(&rng, &r, buf, false);
        CHECKF(nnxr_journal_append(j, &r, &err), "%s", err.message);
        CHECK(r.seq == k + 1);
        ends[k] = file_size(path);
    }
    nnxr_journal_close(j);
}

static uint32_t open_count(const char *path, nnxr_journal_report *rep, bool *ok,
                           nnxr_error *err)
{
    nnxr_journal *j = NULL;
    *ok = nnxr_journal_open(path, NPTS, &j, rep, err);
    uint32_t n = *ok ? nnxr_journal_count(j) : 0;
    nnxr_journal_close(j);
    return n;
}

static void torn_tails(void)
{
    char path[600], work[600];
    path_of(path, sizeof path, "torn.journal");
    path_of(work, sizeof work, "torn_work.journal");
    long ends[6];
    write_journal(path, 6, ends, 11);
    size_t len;
    uint8_t *full = slurp(path, &len);
    CHECK(full && (long)len == ends[5]);
    /* Cut at every byte inside the last record: 5 records stay, the tail is dropped. */
    uint32_t wrong = 0, cuts = 0;
    for (long at = ends[4]; at < ends[5]; at++) {
        spit(work, full, (size_t)at);
        nnxr_journal_report rep;
        bool ok;
        nnxr_error err;
        uint32_t n = open_count(work, &rep, &ok, &err);
        bool expect_drop = at > ends[4];
        if (!ok || n != 5 || rep.tail_dropped != expect_drop || file_size(work) != ends[4])
            wrong++;
        cuts++;
    }
    CHECKF(wrong == 0, "%u of %u cuts of the last record mishandled", wrong, cuts);
    /* After a cut the journal takes appends and they survive a reopen. */
    spit(work, full, (size_t)ends[5] - 3);
    nnxr_journal *j = NULL;
    nnxr_journal_report rep;
    nnxr_error err;
    CHECK(nnxr_journal_open(work, NPTS, &j, &rep, &err));
    CHECK(rep.tail_dropped && rep.dropped_at == (uint64_t)ends[4] && rep.records == 5);
    printf("torn tail reported as: %s\n", rep.tail_reason);
    CHECK_CONTAINS(rep.tail_reason, "record 6");
    uint32_t idx[2] = {3, 4999};
    nnxr_journal_record r = {.kind = NNXR_ANNOT_LABEL, .label = 7, .count = 2, .index = idx,
                             .radius = 0.5f};
    CHECK(nnxr_journal_append(j, &r, &err) && r.seq == 6);
    nnxr_journal_close(j);
    bool ok;
    CHECK(open_count(work, &rep, &ok, &err) == 6 && ok && !rep.tail_dropped);
    CHECK(nnxr_journal_open(work, NPTS, &j, NULL, &err));
    if (j) {
        const nnxr_journal_record *last = nnxr_journal_at(j, 5);
        CHECK(last && last->label == 7 && last->count == 2 && last->index[1] == 4999);
        nnxr_journal_close(j);
    }

    /* A corrupt last record (one byte of its payload changed): dropped, 5 kept. */
    uint8_t *copy = malloc(len);
    memcpy(copy, full, len);
    copy[ends[4] + 20] ^= 0x40;
    spit(work, copy, len);
    CHECK(open_count(work, &rep, &ok, &err) == 5 && ok && rep.tail_dropped);
    CHECK_CONTAINS(rep.tail_reason, "CRC mismatch");
    /* Its length field made huge: dropped. */
    memcpy(copy, full, len);
    copy[ends[4] + 3] = 0x7f;
    spit(work, copy, len);
    CHECK(open_count(work, &rep, &ok, &err) == 5 && ok && rep.tail_dropped);
    CHECK_CONTAINS(rep.tail_reason, "length");
    /* A zero-filled tail after all six records (an extent allocated, data never written). */
    uint8_t *zeros = calloc(1, len + 4096);
    memcpy(zeros, full, len);
    spit(work, zeros, len + 4096);
    CHECK(open_count(work, &rep, &ok, &err) == 6 && ok && rep.tail_dropped &&
          rep.dropped_bytes == 4096);
    CHECK(file_size(work) == (long)len);
    free(zeros);

    /* Damage in the middle (record 2 of 6): refused, file untouched. */
    memcpy(copy, full, len);
    copy[ends[0] + 30] ^= 0x01;
    spit(work, copy, len);
    CHECK(open_count(work, &rep, &ok, &err) == 0 && !ok);
    CHECK_CONTAINS(err.message, "record 2 at byte");
    CHECK_CONTAINS(err.message, "damage in the middle");
    CHECK(file_size(work) == (long)len);
    free(copy);

    /* Header: other point count, not a journal, a torn header. */
    CHECK(!nnxr_journal_open(path, NPTS - 1, &j, NULL, &err));
    CHECK_CONTAINS(err.message, "written for 5000 points, this data set has 4999");
    spit(work, (const uint8_t *)"hello world, not a journal at all!", 34);
    CHECK(!nnxr_journal_open(work, NPTS, &j, NULL, &err));
    CHECK_CONTAINS(err.message, "not a label journal");
    spit(work, full, 13);
    CHECK(open_count(work, &rep, &ok, &err) == 0 && ok && rep.tail_dropped);
    CHECK(file_size(work) == NNXR_JOURNAL_HEADER_BYTES);
    uint8_t *hdr = malloc(len);
    memcpy(hdr, full, len);
    hdr[12] ^= 1; /* point count changed: the header CRC catches it */
    spit(work, hdr, len);
    CHECK(!nnxr_journal_open(work, NPTS, &j, NULL, &err));
    CHECK_CONTAINS(err.message, "header is corrupt");
    free(hdr);
    free(full);
}

static void label_state(void)
{
    nnxr_label_state s;
    nnxr_error err;
    CHECK(nnxr_label_state_init(&s, 10, 3, &err));
    uint32_t a[3] = {1, 2, 5}, b[2] = {2, 9}, bad[2] = {3, 3};
    CHECK(nnxr_label_state_apply(&s, NNXR_ANNOT_LABEL, 2, a, 3, NULL, NULL, &err));
    CHECK(nnxr_label_state_apply(&s, NNXR_ANNOT_UNLABEL, 0, b, 2, NULL, NULL, &err));
    CHECK(s.label[1] == 2 && s.label[2] == -1 && s.user[2] == 1 && s.label[9] == -1 &&
          s.user[9] == 1 && s.user[0] == 0);
    CHECK(!nnxr_label_state_apply(&s, NNXR_ANNOT_LABEL, 3, a, 3, NULL, NULL, &err));
    CHECK_CONTAINS(err.message, "label 3 is out of range");
    CHECK(!nnxr_label_state_apply(&s, NNXR_ANNOT_LABEL, 1, bad, 2, NULL, NULL, &err));
    CHECK_CONTAINS(err.message, "ascend");
    bool undone;
    const nnxr_label_change *ch;
    CHECK(nnxr_label_state_undo(&s, &undone, &ch, &err) && undone && ch->count == 2);
    CHECK(s.label[2] == 2 && s.user[2] == 1 && s.label[9] == -1 && s.user[9] == 0);
    /* A new annotation after an undo (the undone slot is reused without a leak). */
    CHECK(nnxr_label_state_apply(&s, NNXR_ANNOT_LABEL, 0, b, 2, NULL, NULL, &err));
    CHECK(s.label[9] == 0 && s.history_count == 2);
    CHECK(nnxr_label_state_undo(&s, &undone, NULL, &err) && undone);
    CHECK(nnxr_label_state_undo(&s, &undone, NULL, &err) && undone);
    CHECK(nnxr_label_state_undo(&s, &undone, NULL, &err) && !undone);
    for (uint32_t i = 0; i < 10; i++)
        CHECK(s.label[i] == -1 && s.user[i] == 0);
    nnxr_label_state_free(&s);
}

/* ---- the crash test ------------------------------------------------------------------ */

static void child_writer(const char *path, int out, uint64_t seed)
{
    nnxr_error err;
    nnxr_journal *j = NULL;
    nnxr_journal_report rep;
    char line[128];
    if (!nnxr_journal_open(path, NPTS, &j, &rep, &err)) {
        int n = snprintf(line, sizeof line, "error %.100s\n", err.message);
        (void)!write(out, line, (size_t)n);
        _exit(3);
    }
    nnxr_label_state s;
    if (!nnxr_label_state_init(&s, NPTS, CLASSES, &err) || !nnxr_journal_replay(j, &s, &err))
        _exit(4);
    nnxr_rng rng;
    nnxr_rng_seed(&rng, seed, 3);
    uint32_t buf[400];
    for (;;) {
        nnxr_journal_record r;
        random_record(&rng, &r, buf, s.history_count > 0);
        /* The writer's contract: durable first, then applied, then acknowledged. */
        if (!nnxr_journal_append(j, &r, &err))
            _exit(5);
        bool undone = false;
        if (r.kind == NNXR_ANNOT_UNDO
                ? !nnxr_label_state_undo(&s, &undone, NULL, &err)
                : !nnxr_label_state_apply(&s, r.kind, r.label, r.index, r.count, NULL, NULL,
                                          &err))
            _exit(6);
        int n = snprintf(line, sizeof line, "ack %llu %016llx\n", (unsigned long long)r.seq,
                         (unsigned long long)nnxr_label_state_digest(&s));
        if (write(out, line, (size_t)n) != n)
            _exit(7);
    }
}

typedef struct acked {
    uint64_t digest[20000];
    uint64_t max_seq;
} acked;

/* Reopens the journal as a restart would, replays record by record and checks every
 * acknowledged annotation against the writer's digest. */
static bool verify(const char *path, const acked *ack, uint32_t *records, bool *dropped)
{
    nnxr_journal *j = NULL;
    nnxr_journal_report rep;
    nnxr_error err;
    if (!nnxr_journal_open(path, NPTS, &j, &rep, &err)) {
        fprintf(stderr, "journal does not load: %s\n", err.message);
        return false;
    }
    *records = nnxr_journal_count(j);
    *dropped = rep.tail_dropped;
    bool ok = nnxr_journal_last_seq(j) >= ack->max_seq;
    if (!ok)
        fprintf(stderr, "acknowledged seq %llu missing: journal ends at %llu\n",
                (unsigned long long)ack->max_seq,
                (unsigned long long)nnxr_journal_last_seq(j));
    nnxr_label_state s;
    if (!nnxr_label_state_init(&s, NPTS, CLASSES, &err))
        ok = false;
    for (uint32_t k = 0; ok && k < nnxr_journal_count(j); k++) {
        const nnxr_journal_record *r = nnxr_journal_at(j, k);
        bool undone;
        ok = r->kind == NNXR_ANNOT_UNDO
                 ? nnxr_label_state_undo(&s, &undone, NULL, &err) && undone
                 : nnxr_label_state_apply(&s, r->kind, r->label, r->index, r->count, NULL, NULL,
                                          &err);
        if (ok && r->seq <= ack->max_seq && ack->digest[r->seq] != 0 &&
            ack->digest[r->seq] != nnxr_label_state_digest(&s)) {
            fprintf(stderr, "record %llu: label state differs from the writer's\n",
                    (unsigned long long)r->seq);
            ok = false;
        }
    }
    nnxr_label_state_free(&s);
    nnxr_journal_close(j);
    return ok;
}

static void kill_test(void)
{
    char path[600];
    path_of(path, sizeof path, "kill.journal");
    unlink(path);
    acked *ack = calloc(1, sizeof *ack);
    nnxr_rng rng;
    nnxr_rng_seed(&rng, (uint64_t)time(NULL), 99);
    uint32_t failures = 0, torn_added = 0, dropped_total = 0, unacked_present = 0;
    uint64_t total_acks = 0;
    for (int round = 0; round < 50; round++) {
        int fds[2];
        if (pipe(fds) != 0) {
            perror("pipe");
            exit(1);
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            child_writer(path, fds[1], (uint64_t)round * 7919 + 1);
            _exit(0);
        }
        close(fds[1]);
        FILE *in = fdopen(fds[0], "r");
        char line[256];
        uint32_t acks = 0;
        /* Odd rounds kill at a random moment after the writer's first acknowledgement (in the
         * stream: write, fsync or ack); even rounds at a random moment after the start (often
         * while it opens and replays). 0.2 – 50 ms either way. */
        bool got_first = false;
        if ((round & 1) && in && fgets(line, sizeof line, in))
            got_first = true;
        struct timespec d = {0, (long)(200000 + nnxr_rng_below(&rng, 50000000))};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        /* Every ack the writer printed is in the pipe (it wrote them before it died). */
        while (in && (got_first || fgets(line, sizeof line, in))) {
            got_first = false;
            unsigned long long seq, dig;
            if (sscanf(line, "ack %llu %llx", &seq, &dig) == 2 && seq < 20000) {
                ack->digest[seq] = dig;
                if (seq > ack->max_seq)
                    ack->max_seq = seq;
                acks++;
            } else {
                fprintf(stderr, "writer said: %s", line);
                failures++;
            }
        }
        if (in)
            fclose(in);
        CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
               "round %d: writer ended otherwise (status %d)", round, status);
        total_acks += acks;
        /* Now and then, what a power cut in the middle of a write leaves: a partial record
         * (a prefix of a real one) or garbage at the end. */
        if (nnxr_rng_below(&rng, 3) == 0) {
            uint8_t junk[64];
            uint32_t n = 1 + nnxr_rng_below(&rng, sizeof junk);
            for (uint32_t k = 0; k < n; k++)
                junk[k] = (uint8_t)nnxr_rng_u32(&rng);
            if (n > 4 && nnxr_rng_below(&rng, 2)) { /* a plausible length field */
                junk[0] = 60;
                junk[1] = junk[2] = junk[3] = 0;
            }
            int fd = open(path, O_WRONLY | O_APPEND);
            if (fd >= 0) {
                (void)!write(fd, junk, n);
                close(fd);
                torn_added++;
            }
        }
        uint32_t records = 0;
        bool dropped = false;
        bool ok = verify(path, ack, &records, &dropped);
        CHECKF(ok, "round %d: acknowledged annotations lost or journal unreadable", round);
        dropped_total += dropped;
        if (records > ack->max_seq)
            unacked_present++;
        if (!ok)
            failures++;
    }
    printf("kill test: 50 SIGKILLs, %llu annotations acknowledged, journal holds %llu; %u "
           "torn tails planted, %u dropped at reopen; %u times a durable record was not yet "
           "acknowledged at the kill\n", (unsigned long long)total_acks,
           (unsigned long long)ack->max_seq, torn_added, dropped_total, unacked_present);
    CHECK(failures == 0);
    CHECK(total_acks >= 25); /* every odd round waits for one ack before its kill */
    CHECK(dropped_total >= torn_added);
    free(ack);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/sim_journal", NNXR_TEST_OUT);
    nnxr_error err;
    if (!nnxr_mkdirs(dir, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    roundtrip();
    label_state();
    torn_tails();
    kill_test();
    return check_finish();
}
