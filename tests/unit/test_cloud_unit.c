/* tests/unit/test_cloud_unit.c — pieces of the running latent cloud against oracles: the
 * per-point entropy kernel (shaders/sim/entropy.comp) against a double-precision CPU sum,
 * including rows with zeros, one-hot and uniform rows (known answers 0 and ln k), a
 * non-finite row, and probabilities at an unaligned offset of a larger buffer; the k-NN
 * accuracy of app/cloud.c against known answers and a brute-force majority vote. */
#include <math.h>
#include <stdlib.h>

#include "app/cloud.h"
#include "sim/entropy.h"
#include "test_gpu_util.h"

#define N 1003u
#define K 10u
#define OFFSET_FLOATS 17u /* byte 68: not a multiple of any storage offset alignment */

static void test_entropy(nnxr_gpu *gpu)
{
    uint32_t s = 12345;
    size_t total = OFFSET_FLOATS + (size_t)N * K + 5;
    float *buf = tg_alloc(total * sizeof *buf);
    for (size_t i = 0; i < total; i++)
        buf[i] = -7.0f; /* garbage around the rows: must not be read */
    float *p = buf + OFFSET_FLOATS;
    for (uint32_t i = 0; i < N; i++) {
        float *row = p + (size_t)i * K;
        if (i == 0) {
            for (uint32_t c = 0; c < K; c++)
                row[c] = c == 3 ? 1.0f : 0.0f; /* one-hot */
        } else if (i == 1) {
            for (uint32_t c = 0; c < K; c++)
                row[c] = 1.0f / K;            /* uniform */
        } else if (i == 2) {
            for (uint32_t c = 0; c < K; c++)
                row[c] = c == 5 ? NAN : 0.1f; /* broken */
        } else {
            double sum = 0;
            for (uint32_t c = 0; c < K; c++) {
                /* about a third of the entries exactly zero, the rest a softmax-like spread */
                float u = tg_uniform(&s);
                row[c] = u < 0.3f ? 0.0f : expf(6.0f * tg_uniform(&s));
                sum += row[c];
            }
            if (sum == 0)
                row[0] = 1.0f, sum = 1;
            for (uint32_t c = 0; c < K; c++)
                row[c] = (float)(row[c] / sum);
        }
    }
    nnxr_buffer *probs = tg_buffer(gpu, "test.probs", NNXR_BUFFER_DEVICE, total * 4);
    nnxr_entropy *e = NULL;
    TG_OK(nnxr_buffer_upload(gpu, probs, 0, buf, total * 4, &e_));
    TG_OK(nnxr_entropy_create(gpu, N, K, &e, &e_));
    if (!e)
        return;
    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    TG_OK(nnxr_entropy_bind(e, probs, OFFSET_FLOATS * 4, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    TG_OK(nnxr_entropy_record(e, rec, &e_));
    TG_OK(nnxr_recorder_run(rec, &e_));
    float *h = tg_alloc(N * sizeof *h);
    TG_OK(nnxr_buffer_readback(gpu, nnxr_entropy_buffer(e), 0, h, N * 4, &e_));
    CHECK_CLOSE(h[0], 0.0, 1e-6);
    CHECK_CLOSE(h[1], log((double)K), 1e-5);
    CHECKF(isnan(h[2]), "a NaN row gives %g, expected NaN", (double)h[2]);
    uint32_t bad = 0;
    double worst = 0;
    for (uint32_t i = 3; i < N; i++) {
        double ref = 0;
        for (uint32_t c = 0; c < K; c++) {
            double q = p[(size_t)i * K + c];
            if (q > 0)
                ref -= q * log(q);
        }
        double d = fabs(ref - h[i]);
        if (d > worst)
            worst = d;
        if (!(d <= 2e-6 * fmax(1.0, ref)) || h[i] < 0 || h[i] > log((double)K) + 1e-5)
            bad++;
    }
    CHECKF(bad == 0, "%u of %u entropies off the CPU sum (worst %g)", bad, N - 3, worst);

    /* Refused: rows that do not fit the buffer, an unaligned byte offset. */
    nnxr_error err;
    CHECK(!nnxr_entropy_bind(e, probs, 4 * (OFFSET_FLOATS + 6), &err));
    CHECK_CONTAINS(err.message, "cannot hold");
    CHECK(!nnxr_entropy_bind(e, probs, 2, &err));
    nnxr_entropy *e2 = NULL;
    CHECK(!nnxr_entropy_create(gpu, N, 65, &e2, &err));
    CHECK_CONTAINS(err.message, "classes");

    nnxr_recorder_destroy(rec);
    nnxr_entropy_destroy(e);
    nnxr_buffer_destroy(gpu, probs);
    free(h);
    free(buf);
}

/* Brute force: sort all distances, vote among the k first (ties to the nearest tied). */
static int knn_ref(const float *pts, uint32_t n, const uint8_t *lab, uint32_t i, uint32_t k)
{
    double *d = tg_alloc(n * sizeof *d);
    uint32_t *idx = tg_alloc(n * sizeof *idx);
    uint32_t m = 0;
    for (uint32_t j = 0; j < n; j++) {
        if (j == i)
            continue;
        double s = 0;
        for (int a = 0; a < 3; a++)
            s += ((double)pts[3 * i + a] - pts[3 * j + a]) * ((double)pts[3 * i + a] - pts[3 * j + a]);
        d[m] = s;
        idx[m++] = j;
    }
    for (uint32_t a = 0; a < k; a++) /* partial selection sort, stable on ties */
        for (uint32_t b = a + 1; b < m; b++)
            if (d[b] < d[a]) {
                double t = d[a]; d[a] = d[b]; d[b] = t;
                uint32_t u = idx[a]; idx[a] = idx[b]; idx[b] = u;
            }
    uint32_t votes[256] = {0}, top = 0;
    for (uint32_t a = 0; a < k; a++)
        if (++votes[lab[idx[a]]] > top)
            top = votes[lab[idx[a]]];
    int w = -1;
    for (uint32_t a = 0; a < k && w < 0; a++)
        if (votes[lab[idx[a]]] == top)
            w = lab[idx[a]];
    free(d);
    free(idx);
    return w;
}

static void test_knn(void)
{
    /* Two far clusters with their own classes: 1. Labels alternating on a line with spacing
     * that makes the two nearest neighbours the other class: 0 for k = 2... known cases. */
    enum { M = 400 };
    float *pts = tg_alloc(M * 3 * sizeof *pts);
    uint8_t *lab = tg_alloc(M);
    uint32_t *q = tg_alloc(M * sizeof *q);
    uint32_t s = 99;
    for (uint32_t i = 0; i < M; i++) {
        lab[i] = i < M / 2 ? 2 : 7;
        for (int a = 0; a < 3; a++)
            pts[3 * i + a] = tg_uniform(&s) + (lab[i] == 7 ? 100.0f : 0.0f);
        q[i] = i;
    }
    CHECK_CLOSE(nnxr_knn_accuracy(pts, M, 3, 3, lab, q, M, 5), 1.0, 0);
    /* Swap the classes' labels inside a cluster half-and-half: a point's 1-NN... use the
     * brute-force oracle on random labels instead. */
    for (uint32_t i = 0; i < M; i++)
        lab[i] = (uint8_t)(tg_rand(&s) % 4);
    for (uint32_t k = 1; k <= 7; k += 3) {
        uint32_t right = 0;
        for (uint32_t i = 0; i < M; i++)
            right += knn_ref(pts, M, lab, i, k) == lab[i];
        CHECK_CLOSE(nnxr_knn_accuracy(pts, M, 3, 3, lab, q, M, k), (double)right / M, 1e-12);
    }
    /* Points on a line alternating classes: every point's two nearest are the other class
     * (except the ends), so 2-NN with ties to the nearest → wrong; 1-NN wrong. */
    for (uint32_t i = 0; i < 50; i++) {
        pts[3 * i] = (float)i;
        pts[3 * i + 1] = pts[3 * i + 2] = 0;
        lab[i] = i % 2;
    }
    CHECK_CLOSE(nnxr_knn_accuracy(pts, 50, 3, 3, lab, q, 50, 1), 0.0, 0);
    /* A sample of queries (stride 4 as the positions buffer), and an empty one. */
    float *p4 = tg_alloc(50 * 4 * sizeof *p4);
    for (uint32_t i = 0; i < 50; i++) {
        p4[4 * i] = (float)(i / 10) * 100.0f; /* 5 tight groups of 10 */
        p4[4 * i + 1] = (float)(i % 10) * 0.01f;
        p4[4 * i + 2] = 0;
        p4[4 * i + 3] = 1e9f; /* w must be ignored */
        lab[i] = (uint8_t)(i / 10);
    }
    uint32_t some[3] = {3, 17, 44};
    CHECK_CLOSE(nnxr_knn_accuracy(p4, 50, 4, 3, lab, some, 3, 5), 1.0, 0);
    CHECK_CLOSE(nnxr_knn_accuracy(p4, 50, 4, 3, lab, some, 0, 5), 0.0, 0);
    p4[4 * 17] = NAN;
    CHECK_CLOSE(nnxr_knn_accuracy(p4, 50, 4, 3, lab, some, 3, 5), 2.0 / 3.0, 1e-12);
    free(p4);
    free(pts);
    free(lab);
    free(q);
}

int main(void)
{
    test_knn();
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    test_entropy(gpu);
    tg_close(gpu);
    return check_finish();
}
