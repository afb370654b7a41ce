/* tests/unit/test_data_npy.c — .npy and .npz: round trips of every dtype, numpy itself as the
 * oracle (it reads and checks our files, its np.save bytes must equal ours, and we read its
 * np.save / np.savez / np.savez_compressed output), malformed and truncated files, and the
 * atomic, all-or-nothing writes. Fixtures go to NNXR_TEST_OUT/data_npy. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "data/npy.h"

static char out_dir[512];

static const char *fx(const char *name)
{
    static char buf[8][768];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", out_dir, name);
    return p;
}

static size_t read_file(const char *path, uint8_t **out)
{
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    size_t got = fread(*out, 1, (size_t)n, f);
    fclose(f);
    return got;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n)
        fprintf(stderr, "cannot write %s\n", path);
    if (f)
        fclose(f);
}

static bool no_temp_files(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q '\\.tmp'", out_dir);
    return system(cmd) != 0;
}

/* The test arrays; python recomputes the same formulas. */
static float f32v[12];
static double f64v[5];
static int32_t i32v[24];
static int64_t i64v[1];
static uint8_t u8v[14];
static int64_t i64m[4];

static void fill_values(void)
{
    for (int i = 0; i < 12; i++)
        f32v[i] = (float)i * 0.5f - 1.0f;
    for (int i = 0; i < 5; i++)
        f64v[i] = 3.141592653589793 * i;
    for (int i = 0; i < 24; i++)
        i32v[i] = i * 1000 - 7;
    i64v[0] = -(INT64_C(1) << 40) - 3;
    for (int i = 0; i < 14; i++)
        u8v[i] = (uint8_t)(i * 37 % 256);
    i64m[0] = INT64_MIN;
    i64m[1] = INT64_MAX;
    i64m[2] = 0;
    i64m[3] = -1;
}

typedef struct named {
    const char *name;
    nnxr_array a;
} named;

static int make_arrays(named *out)
{
    static const uint64_t s34[2] = {3, 4}, s5[1] = {5}, s234[3] = {2, 3, 4}, s72[2] = {7, 2},
                          s0[1] = {0}, s4[1] = {4};
    int n = 0;
    out[n++] = (named){"w", nnxr_array_view(NNXR_DTYPE_F32, 2, s34, f32v)};
    out[n++] = (named){"layer0/b", nnxr_array_view(NNXR_DTYPE_F64, 1, s5, f64v)};
    out[n++] = (named){"ints.i32", nnxr_array_view(NNXR_DTYPE_I32, 3, s234, i32v)};
    out[n++] = (named){"scalar", nnxr_array_view(NNXR_DTYPE_I64, 0, NULL, i64v)};
    out[n++] = (named){"pixels", nnxr_array_view(NNXR_DTYPE_U8, 2, s72, u8v)};
    out[n++] = (named){"empty", nnxr_array_view(NNXR_DTYPE_F32, 1, s0, NULL)};
    out[n++] = (named){"extremes", nnxr_array_view(NNXR_DTYPE_I64, 1, s4, i64m)};
    return n;
}

static bool same_array(const nnxr_array *a, const nnxr_array *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim)
        return false;
    for (uint32_t i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    uint64_t bytes;
    if (!nnxr_array_count(a, NULL, &bytes))
        return false;
    return bytes == 0 || !memcmp(a->data, b->data, bytes);
}

static void test_npy_round_trip(void)
{
    named arr[8];
    int n = make_arrays(arr);
    nnxr_error err = {{0}};
    for (int i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "ours_%d.npy", i);
        CHECKF(nnxr_npy_write(fx(name), &arr[i].a, &err), "%s", err.message);
        nnxr_array back;
        bool ok = nnxr_npy_read(fx(name), &back, &err);
        CHECKF(ok, "%s", err.message);
        if (ok) {
            CHECKF(same_array(&arr[i].a, &back), "array %s differs after a round trip",
                   arr[i].name);
            nnxr_array_free(&back);
        }
        /* header: v1.0, data 64-byte aligned, the dict ends in '\n' */
        uint8_t *bytes;
        size_t len = read_file(fx(name), &bytes);
        if (len >= 10) {
            size_t hlen = bytes[8] | (size_t)bytes[9] << 8;
            CHECK(!memcmp(bytes, "\x93NUMPY\x01\x00", 8));
            CHECK((10 + hlen) % 64 == 0 && bytes[10 + hlen - 1] == '\n');
            uint64_t data_bytes;
            nnxr_array_count(&arr[i].a, NULL, &data_bytes);
            CHECK(len == 10 + hlen + data_bytes);
        } else {
            CHECK(len >= 10);
        }
        free(bytes);
    }
    CHECK(no_temp_files());
    CHECK(!strcmp(nnxr_dtype_descr(NNXR_DTYPE_U8), "|u1") && nnxr_dtype_size(NNXR_DTYPE_I64) == 8);
}

static void test_npz_round_trip(void)
{
    named arr[8];
    int n = make_arrays(arr);
    nnxr_npz_entry e[8];
    for (int i = 0; i < n; i++) {
        e[i].name = arr[i].name;
        e[i].array = arr[i].a;
    }
    nnxr_error err = {{0}};
    CHECKF(nnxr_npz_write(fx("ours.npz"), e, (size_t)n, &err), "%s", err.message);
    nnxr_npz z;
    bool ok = nnxr_npz_read(fx("ours.npz"), &z, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(z.count == (size_t)n);
        for (int i = 0; i < n; i++) {
            const nnxr_array *b = nnxr_npz_find(&z, arr[i].name);
            CHECKF(b && same_array(&arr[i].a, b), "member %s", arr[i].name);
        }
        CHECK(nnxr_npz_find(&z, "nope") == NULL);
        nnxr_npz_free(&z);
    }
    /* the streaming writer, used the way a checkpoint does */
    nnxr_npz_writer *w;
    ok = nnxr_npz_writer_open(fx("stream.npz"), &w, &err);
    for (int i = 0; ok && i < n; i++)
        ok = nnxr_npz_writer_add(w, arr[i].name, &arr[i].a, &err);
    ok = ok && nnxr_npz_writer_commit(w, &err);
    CHECKF(ok, "%s", err.message);
    uint8_t *a_bytes, *b_bytes;
    size_t la = read_file(fx("ours.npz"), &a_bytes), lb = read_file(fx("stream.npz"), &b_bytes);
    CHECK(la > 0 && la == lb && !memcmp(a_bytes, b_bytes, la)); /* reproducible bytes */
    free(a_bytes);
    free(b_bytes);
    CHECK(no_temp_files());
}

/* ---- numpy as the oracle ---- */

static const char *python_with_numpy(void)
{
    static char cmd[256];
    const char *env = getenv("NNXR_PYTHON3");
    const char *cands[3] = {env, "/usr/bin/python3", "python3"};
    for (int i = 0; i < 3; i++) {
        if (!cands[i] || !*cands[i])
            continue;
        snprintf(cmd, sizeof cmd, "%s -c 'import numpy' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0)
            return cands[i];
    }
    return NULL;
}

static const char *py_script =
    "import sys, zipfile, numpy as np\n"
    "d = sys.argv[1]\n"
    "f32 = np.arange(12, dtype=np.float32).reshape(3, 4) * np.float32(0.5) - np.float32(1)\n"
    "f64 = np.pi * np.arange(5, dtype=np.float64)\n"
    "i32 = (np.arange(24, dtype=np.int32) * 1000 - 7).reshape(2, 3, 4)\n"
    "i64 = np.array(-(1 << 40) - 3, dtype=np.int64)\n"
    "u8 = (np.arange(14) * 37 % 256).astype(np.uint8).reshape(7, 2)\n"
    "ext = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1], dtype=np.int64)\n"
    "emp = np.zeros((0,), dtype=np.float32)\n"
    "want = {'w': f32, 'layer0/b': f64, 'ints.i32': i32, 'scalar': i64, 'pixels': u8,\n"
    "        'empty': emp, 'extremes': ext}\n"
    "zf = zipfile.ZipFile(d + '/ours.npz')\n"
    "assert zf.testzip() is None, 'CRC check failed'\n"
    "assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())\n"
    "z = np.load(d + '/ours.npz')\n"
    "assert sorted(z.files) == sorted(want), z.files\n"
    "for k, v in want.items():\n"
    "    a = z[k]\n"
    "    assert a.dtype == v.dtype and a.shape == v.shape and np.array_equal(a, v), k\n"
    "for i, v in enumerate(want.values()):\n"
    "    a = np.load(d + '/ours_%d.npy' % i)\n"
    "    assert a.dtype == v.dtype and a.shape == v.shape and np.array_equal(a, v), i\n"
    "    np.save(d + '/np_%d.npy' % i, v)\n"
    "np.savez(d + '/np_savez.npz', **want)\n"
    "np.savez_compressed(d + '/np_compressed.npz', **want)\n"
    "np.save(d + '/np_big_endian.npy', np.arange(6, dtype='>f8').reshape(2, 3))\n"
    "np.save(d + '/np_big_endian_i4.npy', np.arange(-3, 3, dtype='>i4'))\n"
    "np.save(d + '/np_fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))\n"
    "np.save(d + '/np_f16.npy', np.ones(3, dtype=np.float16))\n"
    "with open(d + '/np_v2.npy', 'wb') as f:\n"
    "    np.lib.format.write_array(f, f64, version=(2, 0))\n"
    "with zipfile.ZipFile(d + '/np_readme.npz', 'w') as zz:\n"
    "    zz.writestr('readme.txt', 'not an array')\n"
    "print('numpy read and checked our files')\n";

static void test_with_numpy(void)
{
    const char *py = python_with_numpy();
    CHECKF(py != NULL, "no python3 with numpy found (Debian's python3-numpy, or set NNXR_PYTHON3): "
                       "cannot check our files with numpy");
    if (!py)
        return;
    const char *script = fx("check_npz.py");
    write_file(script, py_script, strlen(py_script));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", py, script, out_dir);
    int rc = system(cmd);
    CHECKF(rc == 0, "numpy check failed (exit %d): %s", rc, cmd);
    if (rc != 0)
        return;

    nnxr_error err = {{0}};
    named arr[8];
    int n = make_arrays(arr);
    for (int i = 0; i < n; i++) {
        /* our bytes are numpy's bytes */
        char ours[64], theirs[64];
        snprintf(ours, sizeof ours, "ours_%d.npy", i);
        snprintf(theirs, sizeof theirs, "np_%d.npy", i);
        uint8_t *a, *b;
        size_t la = read_file(fx(ours), &a), lb = read_file(fx(theirs), &b);
        CHECKF(la == lb && la > 0 && !memcmp(a, b, la), "%s differs from numpy's %s", ours, theirs);
        free(a);
        free(b);
        nnxr_array back;
        bool ok = nnxr_npy_read(fx(theirs), &back, &err);
        CHECKF(ok && same_array(&arr[i].a, &back), "%s: %s", theirs, ok ? "differs" : err.message);
        if (ok)
            nnxr_array_free(&back);
    }
    const char *npz_files[2] = {"np_savez.npz", "np_compressed.npz"};
    for (int f = 0; f < 2; f++) {
        nnxr_npz z;
        bool ok = nnxr_npz_read(fx(npz_files[f]), &z, &err);
        CHECKF(ok, "%s", err.message);
        if (!ok)
            continue;
        CHECK(z.count == (size_t)n);
        for (int i = 0; i < n; i++) {
            const nnxr_array *b = nnxr_npz_find(&z, arr[i].name);
            CHECKF(b && same_array(&arr[i].a, b), "%s: member %s", npz_files[f], arr[i].name);
        }
        nnxr_npz_free(&z);
    }
    nnxr_array a;
    bool ok = nnxr_npy_read(fx("np_big_endian.npy"), &a, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        const double *d = a.data;
        CHECK(a.dtype == NNXR_DTYPE_F64 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3);
        CHECK(d[0] == 0.0 && d[1] == 1.0 && d[5] == 5.0);
        nnxr_array_free(&a);
    }
    ok = nnxr_npy_read(fx("np_big_endian_i4.npy"), &a, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        const int32_t *d = a.data;
        CHECK(a.dtype == NNXR_DTYPE_I32 && d[0] == -3 && d[5] == 2);
        nnxr_array_free(&a);
    }
    ok = nnxr_npy_read(fx("np_v2.npy"), &a, &err);
    CHECKF(ok && same_array(&arr[1].a, &a), "v2.0: %s", ok ? "differs" : err.message);
    if (ok)
        nnxr_array_free(&a);
    CHECK(!nnxr_npy_read(fx("np_fortran.npy"), &a, &err));
    CHECK_CONTAINS(err.message, "Fortran-order arrays are not supported");
    CHECK(!nnxr_npy_read(fx("np_f16.npy"), &a, &err));
    CHECK_CONTAINS(err.message, "dtype '<f2' is not supported");
    nnxr_npz z;
    CHECK(!nnxr_npz_read(fx("np_readme.npz"), &z, &err));
    CHECK_CONTAINS(err.message, "member \"readme.txt\": is not a .npy array");
}

/* ---- malformed files ---- */

static void expect_npy_fail(const char *name, const void *bytes, size_t n, const char *want)
{
    write_file(fx(name), bytes, n);
    nnxr_error err = {{0}};
    nnxr_array a;
    bool ok = nnxr_npy_read(fx(name), &a, &err);
    CHECKF(!ok, "%s: read succeeded, expected \"%s\"", name, want);
    if (ok) {
        nnxr_array_free(&a);
        return;
    }
    CHECK(a.data == NULL);
    CHECK_CONTAINS(err.message, want);
    CHECK_CONTAINS(err.message, name);
}

static size_t hand_npy(uint8_t *buf, const char *dict, const void *data, size_t n)
{
    size_t dl = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)dl;
    buf[9] = (uint8_t)(dl >> 8);
    memcpy(buf + 10, dict, dl);
    if (n)
        memcpy(buf + 10 + dl, data, n);
    return 10 + dl + n;
}

static void test_bad_npy(void)
{
    uint8_t buf[1024];
    float d[12] = {1, 2, 3};
    size_t n;
    const char *ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n";
    /* a hand-made header in another key order, with double quotes, is fine */
    n = hand_npy(buf, "{\"shape\": (3,4), \"fortran_order\": False, \"descr\": \"<f4\"}  \n", d, 48);
    write_file(fx("hand.npy"), buf, n);
    nnxr_error err = {{0}};
    nnxr_array a;
    bool ok = nnxr_npy_read(fx("hand.npy"), &a, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(a.ndim == 2 && a.shape[0] == 3 && a.shape[1] == 4 && ((float *)a.data)[2] == 3.0f);
        nnxr_array_free(&a);
    }

    n = hand_npy(buf, ok_dict, d, 20);
    expect_npy_fail("short-data.npy", buf, n,
                    "truncated: shape (3, 4) of float32 needs 48 bytes of data, found 20");
    n = hand_npy(buf, ok_dict, d, 48);
    buf[n++] = 0;
    expect_npy_fail("trailing.npy", buf, n, "1 trailing bytes");
    n = hand_npy(buf, ok_dict, d, 48);
    buf[0] = 'X';
    expect_npy_fail("magic.npy", buf, n, "bad magic");
    n = hand_npy(buf, ok_dict, d, 48);
    buf[6] = 4;
    expect_npy_fail("version.npy", buf, n, "version 4.0 is not supported");
    n = hand_npy(buf, ok_dict, d, 48);
    expect_npy_fail("short-header.npy", buf, 30, "truncated: header says 60 bytes, the file has 20");
    expect_npy_fail("tiny.npy", buf, 5, "too short for a .npy file: 5 bytes");
    expect_npy_fail("empty.npy", buf, 0, "too short for a .npy file: 0 bytes");
    n = hand_npy(buf, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }\n", d, 24);
    expect_npy_fail("complex.npy", buf, n, "dtype '<c8' is not supported");
    n = hand_npy(buf, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }\n", d, 12);
    expect_npy_fail("struct.npy", buf, n, "structured dtypes are not supported");
    n = hand_npy(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }\n", d, 12);
    expect_npy_fail("fortran.npy", buf, n, "Fortran-order arrays are not supported");
    n = hand_npy(buf, "{'descr': '<f4', 'shape': (3,), }\n", d, 12);
    expect_npy_fail("nokey.npy", buf, n, "lacks 'fortran_order'");
    n = hand_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1), }\n", d, 12);
    expect_npy_fail("negative.npy", buf, n, "'shape' holds something other than");
    n = hand_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}\n", d, 12);
    expect_npy_fail("extra-key.npy", buf, n, "unexpected key 'x'");
    n = hand_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)\n", d, 12);
    expect_npy_fail("unclosed.npy", buf, n, "expected ',' or '}'");
    n = hand_npy(buf,
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999, "
                 "99999999999), }\n",
                 d, 12);
    expect_npy_fail("overflow.npy", buf, n, "shape overflows");
    n = hand_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }\n", d, 12);
    expect_npy_fail("huge-claim.npy", buf, n, "needs 4000000000 bytes of data, found 12");
    CHECK(!nnxr_npy_read(fx("no-such.npy"), &a, &err));
    CHECK_CONTAINS(err.message, "no-such.npy: cannot open: No such file or directory");
    CHECK(!nnxr_npy_read(out_dir, &a, &err));
    CHECK_CONTAINS(err.message, "not a regular file");
}

static void test_bad_npz(void)
{
    nnxr_error err = {{0}};
    nnxr_npz z;
    uint8_t *bytes;
    size_t len = read_file(fx("ours.npz"), &bytes);
    CHECK(len > 200);
    if (len <= 200) {
        free(bytes);
        return;
    }
    /* cut short: the end record is gone */
    write_file(fx("cut.npz"), bytes, len / 2);
    CHECK(!nnxr_npz_read(fx("cut.npz"), &z, &err));
    CHECK_CONTAINS(err.message, "no zip end-of-central-directory record");
    CHECK(z.count == 0 && z.arrays == NULL);
    /* a flipped byte in the first member's data: the CRC catches it */
    uint8_t *copy = malloc(len);
    memcpy(copy, bytes, len);
    copy[30 + 5 + 128 + 3] ^= 0x40; /* local header, "w.npy", npy header, into the floats */
    write_file(fx("flipped.npz"), copy, len);
    CHECK(!nnxr_npz_read(fx("flipped.npz"), &z, &err));
    CHECK_CONTAINS(err.message, "member \"w.npy\": CRC-32 mismatch");
    /* a broken local header signature */
    memcpy(copy, bytes, len);
    copy[0] = 'X';
    write_file(fx("badlocal.npz"), copy, len);
    CHECK(!nnxr_npz_read(fx("badlocal.npz"), &z, &err));
    CHECK_CONTAINS(err.message, "bad local header signature");
    /* the central directory moved off the end of the file */
    memcpy(copy, bytes, len);
    copy[len - 6] = 0xFF;
    copy[len - 5] = 0xFF;
    copy[len - 4] = 0xFF;
    copy[len - 3] = 0x7F;
    write_file(fx("badcd.npz"), copy, len);
    CHECK(!nnxr_npz_read(fx("badcd.npz"), &z, &err));
    CHECK_CONTAINS(err.message, "central directory (offset");
    /* member sizes that run into the directory */
    memcpy(copy, bytes, len);
    uint32_t cd_off = (uint32_t)copy[len - 6] | (uint32_t)copy[len - 5] << 8 |
                      (uint32_t)copy[len - 4] << 16 | (uint32_t)copy[len - 3] << 24;
    copy[cd_off + 20] = 0xFF; /* compressed size of the first member */
    copy[cd_off + 21] = 0xFF;
    copy[cd_off + 24] = 0xFF; /* and its uncompressed size */
    copy[cd_off + 25] = 0xFF;
    write_file(fx("badsize.npz"), copy, len);
    CHECK(!nnxr_npz_read(fx("badsize.npz"), &z, &err));
    CHECK_CONTAINS(err.message, "run past the archive's data area");
    free(copy);
    free(bytes);
    write_file(fx("tiny.npz"), "PK", 2);
    CHECK(!nnxr_npz_read(fx("tiny.npz"), &z, &err));
    CHECK_CONTAINS(err.message, "too short for a zip archive");
    CHECK(!nnxr_npz_read(fx("no-such.npz"), &z, &err));
    CHECK_CONTAINS(err.message, "cannot open");
}

static void test_write_refusals_and_atomicity(void)
{
    nnxr_error err = {{0}};
    static const uint64_t s3[1] = {3};
    float v[3] = {1, 2, 3};
    nnxr_array a = nnxr_array_view(NNXR_DTYPE_F32, 1, s3, v);
    nnxr_npz_entry good[1] = {{"a", a}};
    CHECKF(nnxr_npz_write(fx("keep.npz"), good, 1, &err), "%s", err.message);
    uint8_t *before, *after;
    size_t lb = read_file(fx("keep.npz"), &before);

    /* a failed write leaves the old file as it was and no temp file behind */
    nnxr_npz_entry dup[2] = {{"a", a}, {"a", a}};
    CHECK(!nnxr_npz_write(fx("keep.npz"), dup, 2, &err));
    CHECK_CONTAINS(err.message, "array name \"a\" is given twice");
    size_t la = read_file(fx("keep.npz"), &after);
    CHECK(la == lb && !memcmp(before, after, la));
    free(after);
    const char *bad_names[4] = {"", "../up", "/abs", "a/../../b"};
    for (int i = 0; i < 4; i++) {
        nnxr_npz_entry e[1] = {{bad_names[i], a}};
        CHECKF(!nnxr_npz_write(fx("keep.npz"), e, 1, &err), "name \"%s\" accepted", bad_names[i]);
    }
    la = read_file(fx("keep.npz"), &after);
    CHECK(la == lb && !memcmp(before, after, la));
    free(after);
    free(before);
    /* more than 4 GiB is refused before anything is read from the data pointer */
    static const uint64_t huge[2] = {1u << 30, 5};
    nnxr_npz_entry big[1] = {{"big", nnxr_array_view(NNXR_DTYPE_F32, 2, huge, v)}};
    CHECK(!nnxr_npz_write(fx("big.npz"), big, 1, &err));
    CHECK_CONTAINS(err.message, "past 4 GiB: ZIP64 archives are not written");
    struct stat st;
    CHECK(stat(fx("big.npz"), &st) != 0);
    /* bad arrays */
    nnxr_array bad = a;
    bad.dtype = (nnxr_dtype)99;
    CHECK(!nnxr_npy_write(fx("bad.npy"), &bad, &err));
    CHECK_CONTAINS(err.message, "unknown dtype");
    bad = a;
    bad.ndim = 9;
    CHECK(!nnxr_npy_write(fx("bad.npy"), &bad, &err));
    CHECK_CONTAINS(err.message, "9 dimensions");
    bad = a;
    bad.data = NULL;
    CHECK(!nnxr_npy_write(fx("bad.npy"), &bad, &err));
    CHECK_CONTAINS(err.message, "no data given");
    CHECK(stat(fx("bad.npy"), &st) != 0);
    /* a folder that does not exist */
    CHECK(!nnxr_npy_write(fx("no-dir/x.npy"), &a, &err));
    CHECK_CONTAINS(err.message, "cannot create temp file");
    /* overwriting replaces the whole file */
    static const uint64_t s1[1] = {1};
    CHECK(nnxr_npy_write(fx("over.npy"), &a, &err));
    nnxr_array one = nnxr_array_view(NNXR_DTYPE_F32, 1, s1, v);
    CHECK(nnxr_npy_write(fx("over.npy"), &one, &err));
    nnxr_array back;
    CHECK(nnxr_npy_read(fx("over.npy"), &back, &err) && back.shape[0] == 1);
    nnxr_array_free(&back);
    CHECK(no_temp_files());
}

int main(void)
{
    snprintf(out_dir, sizeof out_dir, "%s/data_npy", NNXR_TEST_OUT);
    if (mkdir(NNXR_TEST_OUT, 0777) != 0 && errno != EEXIST)
        perror(NNXR_TEST_OUT);
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        perror(out_dir);
    fill_values();
    test_npy_round_trip();
    test_npz_round_trip();
    test_with_numpy();
    test_bad_npy();
    test_bad_npz();
    test_write_refusals_and_atomicity();
    return check_finish();
}
