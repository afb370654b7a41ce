/* tests/unit/test_data_fashion.c — the real Fashion-MNIST from Debian's dataset-fashion-mnist
 * through the default loader: counts, sizes, labels and pixel sums against values computed by
 * an independent reader (Python's gzip + numpy on the same files). Exits 77 (ctest: skipped)
 * with a message only if the package is not installed. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "data/dataset.h"

static uint64_t pixel_sum(const nnxr_image_set *s)
{
    uint64_t sum = 0;
    size_t n = (size_t)s->count * s->rows * s->cols;
    for (size_t i = 0; i < n; i++)
        sum += s->pixels[i];
    return sum;
}

int main(void)
{
    struct stat st;
    if (stat(NNXR_FASHION_MNIST_DIR, &st) != 0) {
        printf("SKIPPED: %s not found: install Debian's dataset-fashion-mnist\n",
               NNXR_FASHION_MNIST_DIR);
        return 77;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nnxr_error err = {{0}};
    nnxr_image_dataset ds;
    bool ok = nnxr_image_dataset_load(NULL, &ds, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECKF(ok, "%s", err.message);
    if (!ok)
        return check_finish();
    printf("loaded Fashion-MNIST in %.2f s\n",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    CHECK(ds.classes == NNXR_CLASSES_FASHION && ds.num_classes == 10);
    CHECK(!strcmp(ds.class_names[0], "T-shirt/top") && !strcmp(ds.class_names[9], "Ankle boot"));
    CHECK(ds.train.count == 60000 && ds.test.count == 10000 && ds.val.count == 0);
    CHECK(ds.train.rows == 28 && ds.train.cols == 28 && ds.test.rows == 28 && ds.test.cols == 28);

    /* Fashion-MNIST is balanced: 6000 / 1000 of each class. */
    uint32_t hist[10];
    nnxr_image_set_histogram(&ds.train, hist);
    for (int k = 0; k < 10; k++)
        CHECKF(hist[k] == 6000, "train class %d: %u items", k, hist[k]);
    nnxr_image_set_histogram(&ds.test, hist);
    for (int k = 0; k < 10; k++)
        CHECKF(hist[k] == 1000, "test class %d: %u items", k, hist[k]);

    /* First labels and pixel sums, from an independent reader of the same files. */
    static const uint8_t train_first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    static const uint8_t test_first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    CHECK(!memcmp(ds.train.labels, train_first, 10));
    CHECK(!memcmp(ds.test.labels, test_first, 10));
    uint64_t s_train = pixel_sum(&ds.train), s_test = pixel_sum(&ds.test);
    CHECKF(s_train == UINT64_C(3431114169), "train pixel sum %llu", (unsigned long long)s_train);
    CHECKF(s_test == UINT64_C(573469082), "test pixel sum %llu", (unsigned long long)s_test);
    nnxr_image_dataset_free(&ds);

    /* A validation carve and random subset on the real file. */
    nnxr_image_dataset_options o;
    memset(&o, 0, sizeof o);
    o.val_count = 5000;
    o.val_seed = 1;
    o.train_limit = 2000;
    o.test_limit = 1000;
    o.random_subset = true;
    o.subset_seed = 2;
    ok = nnxr_image_dataset_load(&o, &ds, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(ds.val.count == 5000 && ds.train.count == 2000 && ds.test.count == 1000);
        nnxr_image_set_histogram(&ds.val, hist);
        for (int k = 0; k < 10; k++) /* ~500 each; 6 sigma is about 130 */
            CHECKF(hist[k] > 370 && hist[k] < 630, "val class %d: %u items", k, hist[k]);
        nnxr_image_dataset_free(&ds);
    }

    /* All of Fashion-MNIST as one training set (the latent cloud's 70,000 points). */
    ok = nnxr_image_dataset_load(&(nnxr_image_dataset_options){.join_test = true}, &ds, &err);
    CHECKF(ok, "%s", err.message);
    if (ok) {
        CHECK(ds.train.count == 70000 && ds.test.count == 0 && ds.val.count == 0);
        nnxr_image_set_histogram(&ds.train, hist);
        for (int k = 0; k < 10; k++)
            CHECKF(hist[k] == 7000, "joined class %d: %u items", k, hist[k]);
        CHECK(!memcmp(ds.train.labels + 60000, test_first, 10));
        uint64_t s_all = pixel_sum(&ds.train);
        CHECKF(s_all == s_train + s_test, "joined pixel sum %llu", (unsigned long long)s_all);
        nnxr_image_dataset_free(&ds);
    }
    return check_finish();
}
