/* tests/unit/test_data_idx.c — IDX(.gz) files and the image data set loader on fixtures made
 * here at run time (in NNXR_TEST_OUT/data_idx): round trips against hand-built bytes, every
 * kind of bad file with its own message, folder discovery, class names, subsets and the
 * validation split. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "check.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "data/rng.h"

static char out_dir[512];

static void make_dir(const char *p)
{
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        fprintf(stderr, "cannot create %s: %s\n", p, strerror(errno));
}

static const char *fixture(const char *name)
{
    static char buf[8][768];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", out_dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n, bool gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || (n && gzwrite(f, data, (unsigned)n) != (int)n))
            fprintf(stderr, "cannot write %s\n", path);
        if (f)
            gzclose(f);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n)
        fprintf(stderr, "cannot write %s\n", path);
    if (f)
        fclose(f);
}

/* An IDX image in memory built by hand, independent of the writer under test. */
static size_t idx_bytes(uint8_t *buf, uint8_t type, uint8_t ndims, const uint32_t *dims,
                        const uint8_t *payload, size_t payload_len)
{
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = type;
    buf[n++] = ndims;
    for (int i = 0; i < ndims; i++) {
        buf[n++] = (uint8_t)(dims[i] >> 24);
        buf[n++] = (uint8_t)(dims[i] >> 16);
        buf[n++] = (uint8_t)(dims[i] >> 8);
        buf[n++] = (uint8_t)dims[i];
    }
    if (payload_len)
        memcpy(buf + n, payload, payload_len);
    return n + payload_len;
}

static void fill_random(uint8_t *p, size_t n, uint32_t mod, uint64_t seed)
{
    nnxr_rng r;
    nnxr_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)nnxr_rng_below(&r, mod);
}

static void test_hand_built_file(void)
{
    /* 2 images of 2x3, bytes 0..11, and labels 3, 7: known answers. */
    uint8_t pix[12], buf[64];
    for (int i = 0; i < 12; i++)
        pix[i] = (uint8_t)(i * 20);
    uint32_t dims[3] = {2, 2, 3};
    size_t n = idx_bytes(buf, 0x08, 3, dims, pix, 12);
    write_bytes(fixture("hand-images"), buf, n, false);
    uint8_t lab[2] = {3, 7};
    uint32_t ldims[1] = {2};
    n = idx_bytes(buf, 0x08, 1, ldims, lab, 2);
    write_bytes(fixture("hand-labels.gz"), buf, n, true);

    nnxr_error err = {{0}};
    nnxr_idx_images img;
    bool ok = nnxr_idx_read_images(fixture("hand-images"), &img, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(img.count == 2 && img.rows == 2 && img.cols == 3);
        CHECK(memcmp(img.pixels, pix, 12) == 0);
        nnxr_idx_images_free(&img);
        CHECK(img.pixels == NULL);
    }
    nnxr_idx_labels labels;
    ok = nnxr_idx_read_labels(fixture("hand-labels.gz"), 10, &labels, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(labels.count == 2 && labels.labels[0] == 3 && labels.labels[1] == 7);
        nnxr_idx_labels_free(&labels);
    }
}

static void test_round_trip(void)
{
    enum { N = 37, R = 5, C = 7 };
    uint8_t *pix = malloc(N * R * C), lab[N];
    fill_random(pix, N * R * C, 256, 1);
    fill_random(lab, N, 10, 2);
    uint32_t dims[3] = {N, R, C}, ldims[1] = {N};
    nnxr_error err = {{0}};
    for (int gz = 0; gz < 2; gz++) {
        const char *ip = fixture(gz ? "rt-images.gz" : "rt-images");
        const char *lp = fixture(gz ? "rt-labels.gz" : "rt-labels");
        CHECKF(nnxr_idx_write_u8(ip, dims, 3, pix, gz, &err), "%s", err.message);
        CHECKF(nnxr_idx_write_u8(lp, ldims, 1, lab, gz, &err), "%s", err.message);
        /* The writer's bytes: gzip magic, or the IDX header itself. */
        FILE *f = fopen(ip, "rb");
        uint8_t head[4] = {0};
        if (f) {
            CHECK(fread(head, 1, 4, f) == 4);
            fclose(f);
        }
        if (gz)
            CHECK(head[0] == 0x1f && head[1] == 0x8b);
        else
            CHECK(head[0] == 0 && head[1] == 0 && head[2] == 8 && head[3] == 3);
        nnxr_idx_images img;
        nnxr_idx_labels l;
        bool ok = nnxr_idx_read_images(ip, &img, &err);
        CHECKF(ok, "%s", err.message);
        if (ok) {
            CHECK(img.count == N && img.rows == R && img.cols == C);
            CHECK(memcmp(img.pixels, pix, N * R * C) == 0);
            nnxr_idx_images_free(&img);
        }
        ok = nnxr_idx_read_labels(lp, 10, &l, &err);
        CHECKF(ok, "%s", err.message);
        if (ok) {
            CHECK(l.count == N && memcmp(l.labels, lab, N) == 0);
            nnxr_idx_labels_free(&l);
        }
    }
    /* No temp files left beside the targets. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '\\.tmp'", out_dir);
    CHECKF(system(cmd) != 0, "temp files left in %s", out_dir);
    uint32_t bad_dims[5] = {1, 1, 1, 1, 1};
    CHECK(!nnxr_idx_write_u8(fixture("five-dims"), bad_dims, 5, pix, false, &err));
    CHECK_CONTAINS(err.message, "expected 1..4");
    free(pix);
}

/* Expects reading images (or labels when labels_classes > 0) from path to fail with `want`. */
static void expect_images_fail(const char *path, const char *want)
{
    nnxr_error err = {{0}};
    nnxr_idx_images img;
    memset(&img, 0xAB, sizeof img);
    bool ok = nnxr_idx_read_images(path, &img, &err);
    CHECKF(!ok, "%s: read succeeded, expected \"%s\"", path, want);
    CHECK(img.pixels == NULL && img.count == 0);
    CHECK_CONTAINS(err.message, want);
    CHECK_CONTAINS(err.message, path);
    if (ok)
        nnxr_idx_images_free(&img);
}

static void expect_labels_fail(const char *path, uint32_t classes, const char *want)
{
    nnxr_error err = {{0}};
    nnxr_idx_labels l;
    bool ok = nnxr_idx_read_labels(path, classes, &l, &err);
    CHECKF(!ok, "%s: read succeeded, expected \"%s\"", path, want);
    CHECK(l.labels == NULL);
    CHECK_CONTAINS(err.message, want);
    CHECK_CONTAINS(err.message, path);
    if (ok)
        nnxr_idx_labels_free(&l);
}

static void test_bad_files(void)
{
    uint8_t pix[160], buf[512];
    fill_random(pix, sizeof pix, 256, 3);
    uint32_t dims[3] = {10, 4, 4};
    size_t n;

    /* bad magic */
    n = idx_bytes(buf, 0x08, 3, dims, pix, 160);
    buf[0] = 0x1f;
    buf[1] = 0x00;
    write_bytes(fixture("bad-magic"), buf, n, false);
    expect_images_fail(fixture("bad-magic"), "bad magic 1f 00 08 03: expected 00 00 08 03");

    /* wrong type, known and unknown */
    n = idx_bytes(buf, 0x0D, 3, dims, pix, 160);
    write_bytes(fixture("float-type"), buf, n, false);
    expect_images_fail(fixture("float-type"),
                       "IDX type 0x0D (float32) is not supported: expected 0x08 (unsigned byte)");
    n = idx_bytes(buf, 0x42, 3, dims, pix, 160);
    write_bytes(fixture("odd-type.gz"), buf, n, true);
    expect_images_fail(fixture("odd-type.gz"), "unknown IDX type 0x42");

    /* a labels file read as images, and an images file read as labels */
    uint32_t ldims[1] = {10};
    uint8_t lab[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3};
    n = idx_bytes(buf, 0x08, 1, ldims, lab, 10);
    write_bytes(fixture("labels-ok"), buf, n, false);
    expect_images_fail(fixture("labels-ok"), "has 1 dimension: expected 3");
    n = idx_bytes(buf, 0x08, 3, dims, pix, 160);
    write_bytes(fixture("images-ok"), buf, n, false);
    expect_labels_fail(fixture("images-ok"), 10, "has 3 dimensions: expected 1");

    /* truncated images: plain, gzip with a short payload, and a cut gzip stream */
    n = idx_bytes(buf, 0x08, 3, dims, pix, 100);
    write_bytes(fixture("short-images"), buf, n, false);
    expect_images_fail(fixture("short-images"),
                       "truncated: expected 160 bytes of pixel data, found 100");
    write_bytes(fixture("short-images.gz"), buf, n, true);
    expect_images_fail(fixture("short-images.gz"),
                       "truncated: expected 160 bytes of pixel data, found 100");
    {
        enum { BIG = 40000 };
        uint8_t *big = malloc(BIG + 16), *gzbuf = malloc(BIG * 2);
        fill_random(big + 16, BIG, 256, 9);
        uint32_t bd[3] = {100, 20, 20};
        idx_bytes(big, 0x08, 3, bd, NULL, 0);
        write_bytes(fixture("cut.gz"), big, BIG + 16, true);
        FILE *f = fopen(fixture("cut.gz"), "rb");
        size_t got = f ? fread(gzbuf, 1, BIG * 2, f) : 0;
        if (f)
            fclose(f);
        write_bytes(fixture("cut.gz"), gzbuf, got / 2, false);
        expect_images_fail(fixture("cut.gz"), "truncated: expected 40000 bytes of pixel data");
        /* the same stream with a byte of its deflate data flipped */
        gzbuf[got / 2] ^= 0x55;
        gzbuf[got / 2 + 1] ^= 0xAA;
        write_bytes(fixture("corrupt.gz"), gzbuf, got, false);
        nnxr_error err = {{0}};
        nnxr_idx_images img;
        CHECK(!nnxr_idx_read_images(fixture("corrupt.gz"), &img, &err));
        CHECK_CONTAINS(err.message, fixture("corrupt.gz"));
        CHECK_CONTAINS(err.message, "corrupt gzip data");
        free(big);
        free(gzbuf);
    }

    /* truncated header, empty file */
    n = idx_bytes(buf, 0x08, 3, dims, NULL, 0);
    write_bytes(fixture("short-header"), buf, 10, false);
    expect_images_fail(fixture("short-header"),
                       "truncated header: expected 12 bytes of dimensions, found 6");
    write_bytes(fixture("empty"), buf, 0, false);
    expect_images_fail(fixture("empty"), "too short for an IDX header: 0 bytes");

    /* truncated labels */
    n = idx_bytes(buf, 0x08, 1, ldims, lab, 7);
    write_bytes(fixture("short-labels"), buf, n, false);
    expect_labels_fail(fixture("short-labels"), 10,
                       "truncated: expected 10 bytes of label data, found 7");

    /* trailing bytes */
    n = idx_bytes(buf, 0x08, 3, dims, pix, 160);
    buf[n++] = 1;
    buf[n++] = 2;
    buf[n++] = 3;
    write_bytes(fixture("trailing-images"), buf, n, false);
    expect_images_fail(fixture("trailing-images"),
                       "3 trailing bytes after the 160 bytes of pixel data");
    write_bytes(fixture("trailing-images.gz"), buf, n, true);
    expect_images_fail(fixture("trailing-images.gz"), "3 trailing bytes");
    n = idx_bytes(buf, 0x08, 1, ldims, lab, 13);
    write_bytes(fixture("trailing-labels"), buf, n, false);
    expect_labels_fail(fixture("trailing-labels"), 10, "3 trailing bytes");

    /* a label out of range names its index */
    uint8_t badlab[10] = {0, 1, 2, 3, 10, 5, 6, 7, 8, 9};
    n = idx_bytes(buf, 0x08, 1, ldims, badlab, 10);
    write_bytes(fixture("label-range"), buf, n, false);
    expect_labels_fail(fixture("label-range"), 10,
                       "label 10 at index 4 is out of range: expected 0..9");

    /* insane sizes, zero count, a count too large for the file (no huge allocation) */
    uint32_t zero_rows[3] = {10, 0, 4}, wide[3] = {10, 5000, 4}, none[3] = {0, 4, 4};
    uint32_t huge[3] = {0x7FFFFFFF, 100, 100}, lots[3] = {1000000, 28, 28};
    n = idx_bytes(buf, 0x08, 3, zero_rows, NULL, 0);
    write_bytes(fixture("zero-rows"), buf, n, false);
    expect_images_fail(fixture("zero-rows"), "image size 0x4 is not sane");
    n = idx_bytes(buf, 0x08, 3, wide, NULL, 0);
    write_bytes(fixture("wide"), buf, n, false);
    expect_images_fail(fixture("wide"), "image size 5000x4 is not sane");
    n = idx_bytes(buf, 0x08, 3, none, NULL, 0);
    write_bytes(fixture("none"), buf, n, false);
    expect_images_fail(fixture("none"), "holds 0 items");
    n = idx_bytes(buf, 0x08, 3, huge, NULL, 0);
    write_bytes(fixture("huge"), buf, n, false);
    expect_images_fail(fixture("huge"), "more than the 4 GiB allowed");
    n = idx_bytes(buf, 0x08, 3, lots, pix, 160);
    write_bytes(fixture("lots"), buf, n, false);
    expect_images_fail(fixture("lots"), "truncated: expected 784000000 bytes of pixel data, found 160");

    /* missing file, a folder, no name */
    expect_images_fail(fixture("no-such-file"), "cannot open: No such file or directory");
    expect_labels_fail(fixture("no-such-file.gz"), 10, "cannot open: No such file or directory");
    expect_images_fail(out_dir, "is a folder");
    nnxr_error err = {{0}};
    nnxr_idx_images img;
    CHECK(!nnxr_idx_read_images(NULL, &img, &err));
    CHECK_CONTAINS(err.message, "no file name");

    /* count mismatch between an images and a labels file */
    n = idx_bytes(buf, 0x08, 1, (uint32_t[]){9}, lab, 9);
    write_bytes(fixture("nine-labels"), buf, n, false);
    nnxr_image_set set;
    CHECK(!nnxr_image_set_load(fixture("images-ok"), fixture("nine-labels"), 10, &set, &err));
    CHECK_CONTAINS(err.message, "has 10 images but");
    CHECK_CONTAINS(err.message, "has 9 labels: expected the same count");
    CHECK(set.pixels == NULL && set.labels == NULL);
}

/* Writes a data set folder of `train` + `test` items of 4x4 with the standard names. */
static void make_set_dir(const char *dir, uint32_t train, uint32_t test, bool gz, uint64_t seed)
{
    make_dir(dir);
    const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    uint32_t counts[2] = {train, test};
    nnxr_error err = {{0}};
    for (int s = 0; s < 2; s++) {
        uint32_t n = counts[s];
        uint8_t *pix = malloc((size_t)n * 16), *lab = malloc(n);
        /* pixel 0 of item i is i (mod 256): the item can be recognised after a split */
        fill_random(pix, (size_t)n * 16, 256, seed + (uint64_t)s);
        fill_random(lab, n, 10, seed + 10 + (uint64_t)s);
        for (uint32_t i = 0; i < n; i++)
            pix[i * 16] = (uint8_t)i;
        char path[1024];
        uint32_t idims[3] = {n, 4, 4}, ldims[1] = {n};
        snprintf(path, sizeof path, "%s/%s%s", dir, names[2 * s], gz ? ".gz" : "");
        CHECKF(nnxr_idx_write_u8(path, idims, 3, pix, gz, &err), "%s", err.message);
        snprintf(path, sizeof path, "%s/%s%s", dir, names[2 * s + 1], gz ? ".gz" : "");
        CHECKF(nnxr_idx_write_u8(path, ldims, 1, lab, gz, &err), "%s", err.message);
        free(pix);
        free(lab);
    }
}

static bool ascending_and_within(const nnxr_image_set *s, uint32_t limit)
{
    for (uint32_t i = 0; i < s->count; i++) {
        if (s->source_index[i] >= limit || (i && s->source_index[i] <= s->source_index[i - 1]))
            return false;
        if (s->pixels[(size_t)i * 16] != (uint8_t)s->source_index[i])
            return false;
    }
    return true;
}

static bool same_indices(const nnxr_image_set *a, const nnxr_image_set *b)
{
    return a->count == b->count &&
           !memcmp(a->source_index, b->source_index, sizeof *a->source_index * a->count);
}

static void test_dataset_loader(void)
{
    char plain[640], fashion[640], empty[640], both[640];
    snprintf(plain, sizeof plain, "%s/digits-plain", out_dir);
    snprintf(fashion, sizeof fashion, "%s/my-fashion-gz", out_dir);
    snprintf(empty, sizeof empty, "%s/empty-dir", out_dir);
    snprintf(both, sizeof both, "%s/both-dir", out_dir);
    make_set_dir(plain, 50, 20, false, 100);
    make_set_dir(fashion, 50, 20, true, 100);
    make_set_dir(both, 30, 10, true, 200);
    make_set_dir(both, 40, 12, false, 300); /* plain files beside .gz ones: plain wins */
    make_dir(empty);

    nnxr_error err = {{0}};
    nnxr_image_dataset ds;
    nnxr_image_dataset_options o;
    memset(&o, 0, sizeof o);
    o.dir = plain;
    bool ok = nnxr_image_dataset_load(&o, &ds, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(ds.train.count == 50 && ds.test.count == 20 && ds.val.count == 0);
        CHECK(ds.train.rows == 4 && ds.train.cols == 4 && ds.num_classes == 10);
        CHECK(ds.classes == NNXR_CLASSES_DIGITS && !strcmp(ds.class_names[7], "7"));
        CHECK(ascending_and_within(&ds.train, 50) && ascending_and_within(&ds.test, 20));
        float f[16];
        nnxr_image_set_to_float(&ds.train, 3, 1, f);
        CHECK_CLOSE(f[0], 3.0 / 255.0, 1e-7);
        CHECK_CLOSE(f[5], ds.train.pixels[3 * 16 + 5] / 255.0, 1e-7);
        uint32_t hist[10], total = 0;
        nnxr_image_set_histogram(&ds.train, hist);
        for (int k = 0; k < 10; k++)
            total += hist[k];
        CHECK(total == 50);
    }
    nnxr_image_dataset gzds;
    o.dir = fashion;
    ok = ok && nnxr_image_dataset_load(&o, &gzds, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(gzds.classes == NNXR_CLASSES_FASHION);
        CHECK(!strcmp(gzds.class_names[0], "T-shirt/top") &&
              !strcmp(gzds.class_names[9], "Ankle boot"));
        CHECK(gzds.train.count == 50 && !memcmp(gzds.train.pixels, ds.train.pixels, 50 * 16) &&
              !memcmp(gzds.train.labels, ds.train.labels, 50));
        CHECK(!memcmp(gzds.test.pixels, ds.test.pixels, 20 * 16));
        nnxr_image_dataset_free(&gzds);
        nnxr_image_dataset_free(&ds);
    }

    /* validation split: disjoint, complete, reproducible, seed-dependent */
    memset(&o, 0, sizeof o);
    o.dir = plain;
    o.val_count = 10;
    o.val_seed = 7;
    nnxr_image_dataset a, b, c;
    ok = nnxr_image_dataset_load(&o, &a, &err) && nnxr_image_dataset_load(&o, &b, &err);
    o.val_seed = 8;
    ok = ok && nnxr_image_dataset_load(&o, &c, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(a.val.count == 10 && a.train.count == 40 && a.test.count == 20);
        CHECK(ascending_and_within(&a.val, 50) && ascending_and_within(&a.train, 50));
        uint8_t seen[50] = {0};
        for (uint32_t i = 0; i < a.train.count; i++)
            seen[a.train.source_index[i]]++;
        for (uint32_t i = 0; i < a.val.count; i++)
            seen[a.val.source_index[i]]++;
        int once = 0;
        for (int i = 0; i < 50; i++)
            once += seen[i] == 1;
        CHECKF(once == 50, "%d of 50 training items in exactly one split", once);
        CHECK(same_indices(&a.val, &b.val) && same_indices(&a.train, &b.train));
        CHECK(!same_indices(&a.val, &c.val));
        /* a random carve, not the first or last ten */
        CHECK(!(a.val.source_index[0] == 0 && a.val.source_index[9] == 9));
        CHECK(!(a.val.source_index[0] == 40 && a.val.source_index[9] == 49));
        nnxr_image_dataset_free(&b);
        nnxr_image_dataset_free(&c);
    }

    /* subsets: the first N, or a seeded random N; both keep file order */
    o.val_seed = 7;
    o.train_limit = 15;
    o.test_limit = 5;
    nnxr_image_dataset first, rnd, rnd2;
    ok = ok && nnxr_image_dataset_load(&o, &first, &err);
    o.random_subset = true;
    o.subset_seed = 3;
    ok = ok && nnxr_image_dataset_load(&o, &rnd, &err) && nnxr_image_dataset_load(&o, &rnd2, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(first.train.count == 15 && first.val.count == 10 && first.test.count == 5);
        /* the first 15 of the 40 left after the carve, and the val set unchanged by the limit */
        CHECK(!memcmp(first.train.source_index, a.train.source_index, 15 * sizeof(uint32_t)));
        CHECK(same_indices(&first.val, &a.val));
        CHECK(first.test.source_index[0] == 0 && first.test.source_index[4] == 4);
        CHECK(rnd.train.count == 15 && rnd.test.count == 5);
        CHECK(ascending_and_within(&rnd.train, 50) && ascending_and_within(&rnd.test, 20));
        CHECK(same_indices(&rnd.train, &rnd2.train) && same_indices(&rnd.test, &rnd2.test));
        CHECK(!same_indices(&rnd.train, &first.train));
        /* random subset items still come from the training remainder, never from val */
        int from_val = 0;
        for (uint32_t i = 0; i < rnd.train.count; i++)
            for (uint32_t j = 0; j < a.val.count; j++)
                from_val += rnd.train.source_index[i] == a.val.source_index[j];
        CHECK(from_val == 0);
        nnxr_image_dataset_free(&first);
        nnxr_image_dataset_free(&rnd);
        nnxr_image_dataset_free(&rnd2);
    }
    if (ok)
        nnxr_image_dataset_free(&a);

    /* plain names win over .gz; explicit paths override the folder's */
    memset(&o, 0, sizeof o);
    o.dir = both;
    ok = nnxr_image_dataset_load(&o, &ds, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(ds.train.count == 40 && ds.test.count == 12);
        nnxr_image_dataset_free(&ds);
    }
    char ti[1024], tl[1024];
    snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte.gz", both);
    snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte.gz", both);
    o.dir = plain;
    o.train_images = ti;
    o.train_labels = tl;
    o.skip_test = true;
    ok = nnxr_image_dataset_load(&o, &ds, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(ds.train.count == 30 && ds.test.count == 0 && ds.test.pixels == NULL);
        nnxr_image_dataset_free(&ds);
    }

    /* the test items joined to the training items: 50 + 20, t10k after the training file
     * (source_index 50..69, pixel 0 still the index in its own file), then carved; the test
     * set is empty */
    memset(&o, 0, sizeof o);
    o.dir = plain;
    o.join_test = true;
    o.skip_test = true; /* joining wins */
    nnxr_image_dataset plain_ds, joined, joined_val;
    ok = nnxr_image_dataset_load(&(nnxr_image_dataset_options){.dir = plain}, &plain_ds, &err) &&
         nnxr_image_dataset_load(&o, &joined, &err);
    o.val_count = 30;
    o.val_seed = 5;
    ok = ok && nnxr_image_dataset_load(&o, &joined_val, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(joined.train.count == 70 && joined.test.count == 0 && joined.test.pixels == NULL);
        CHECK(!memcmp(joined.train.pixels, plain_ds.train.pixels, 50 * 16) &&
              !memcmp(joined.train.pixels + 50 * 16, plain_ds.test.pixels, 20 * 16));
        CHECK(!memcmp(joined.train.labels, plain_ds.train.labels, 50) &&
              !memcmp(joined.train.labels + 50, plain_ds.test.labels, 20));
        bool idx_ok = true;
        for (uint32_t i = 0; i < 70; i++)
            idx_ok = idx_ok && joined.train.source_index[i] == i &&
                     joined.train.pixels[(size_t)i * 16] == (uint8_t)(i < 50 ? i : i - 50);
        CHECK(idx_ok);
        /* the carve draws from both files */
        CHECK(joined_val.val.count == 30 && joined_val.train.count == 40);
        int from_test = 0;
        for (uint32_t i = 0; i < joined_val.val.count; i++)
            from_test += joined_val.val.source_index[i] >= 50;
        CHECKF(from_test > 0 && from_test < 30, "%d of 30 validation items from t10k",
               from_test);
        nnxr_image_dataset_free(&plain_ds);
        nnxr_image_dataset_free(&joined);
        nnxr_image_dataset_free(&joined_val);
    }

    /* errors: no folder, a folder without the files, a validation set as big as the file */
    memset(&o, 0, sizeof o);
    o.dir = fixture("no-such-dir");
    CHECK(!nnxr_image_dataset_load(&o, &ds, &err));
    CHECK_CONTAINS(err.message, "no-such-dir: No such file or directory");
    o.dir = empty;
    CHECK(!nnxr_image_dataset_load(&o, &ds, &err));
    CHECK_CONTAINS(err.message, "holds neither train-images-idx3-ubyte nor "
                                "train-images-idx3-ubyte.gz");
    CHECK(ds.train.pixels == NULL);
    o.dir = plain;
    o.val_count = 50;
    CHECK(!nnxr_image_dataset_load(&o, &ds, &err));
    CHECK_CONTAINS(err.message, "validation size 50 leaves no training items");
    o.val_count = 0;
    o.test_images = fixture("bad-magic");
    CHECK(!nnxr_image_dataset_load(&o, &ds, &err));
    CHECK_CONTAINS(err.message, "bad magic");

    nnxr_class_set cs;
    CHECK(nnxr_class_set_parse("fashion-mnist", &cs, &err) && cs == NNXR_CLASSES_FASHION);
    CHECK(nnxr_class_set_parse("MNIST", &cs, &err) && cs == NNXR_CLASSES_DIGITS);
    CHECK(!nnxr_class_set_parse("cifar", &cs, &err));
    CHECK_CONTAINS(err.message, "class set \"cifar\"");
    uint32_t nc = 0;
    const char *const *names = nnxr_class_names(NNXR_CLASSES_FASHION, &nc);
    CHECK(nc == 10 && !strcmp(names[4], "Coat") && !strcmp(names[8], "Bag"));
}

int main(void)
{
    snprintf(out_dir, sizeof out_dir, "%s/data_idx", NNXR_TEST_OUT);
    make_dir(NNXR_TEST_OUT);
    make_dir(out_dir);
    test_hand_built_file();
    test_round_trip();
    test_bad_files();
    test_dataset_loader();
    return check_finish();
}
