/* data/dataset.c — MNIST-layout data sets: file discovery, class names, image/label pairing,
 * seeded subsets and the validation carve (see dataset.h). */
#include "data/dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/status.h"
#include "data/idx.h"
#include "data/rng.h"

/* Streams of the seeded choices, so that the validation carve, the training subset and the
 * test subset stay independent even when they share a seed. */
#define STREAM_VAL 0x76616cu
#define STREAM_TRAIN 0x747261u
#define STREAM_TEST 0x746573u

static const char *const fashion_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

const char *const *nnxr_class_names(nnxr_class_set set, uint32_t *count)
{
    if (count)
        *count = 10;
    return set == NNXR_CLASSES_DIGITS ? digit_names : fashion_names;
}

bool nnxr_class_set_parse(const char *name, nnxr_class_set *out, nnxr_error *err)
{
    if (!name)
        return nnxr_fail(err, "class set: none given: expected \"fashion-mnist\", \"mnist\" or "
                              "\"auto\"");
    if (!strcasecmp(name, "fashion-mnist") || !strcasecmp(name, "fashion_mnist") ||
        !strcasecmp(name, "fashion"))
        *out = NNXR_CLASSES_FASHION;
    else if (!strcasecmp(name, "mnist") || !strcasecmp(name, "digits"))
        *out = NNXR_CLASSES_DIGITS;
    else if (!strcasecmp(name, "auto"))
        *out = NNXR_CLASSES_AUTO;
    else
        return nnxr_fail(err, "class set \"%s\": expected \"fashion-mnist\", \"mnist\" or \"auto\"",
                         name);
    return true;
}

void nnxr_image_set_free(nnxr_image_set *set)
{
    if (!set)
        return;
    free(set->pixels);
    free(set->labels);
    free(set->source_index);
    memset(set, 0, sizeof *set);
}

void nnxr_image_dataset_free(nnxr_image_dataset *ds)
{
    if (!ds)
        return;
    nnxr_image_set_free(&ds->train);
    nnxr_image_set_free(&ds->val);
    nnxr_image_set_free(&ds->test);
    memset(ds, 0, sizeof *ds);
}

bool nnxr_image_set_load(const char *images_path, const char *labels_path, uint32_t num_classes,
                         nnxr_image_set *out, nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    nnxr_idx_images img;
    nnxr_idx_labels lab;
    if (!nnxr_idx_read_images(images_path, &img, err))
        return false;
    if (!nnxr_idx_read_labels(labels_path, num_classes, &lab, err)) {
        nnxr_idx_images_free(&img);
        return false;
    }
    if (img.count != lab.count) {
        nnxr_fail(err, "%s has %u images but %s has %u labels: expected the same count",
                  images_path, img.count, labels_path, lab.count);
        nnxr_idx_images_free(&img);
        nnxr_idx_labels_free(&lab);
        return false;
    }
    uint32_t *index = malloc(sizeof *index * img.count);
    if (!index) {
        nnxr_idx_images_free(&img);
        nnxr_idx_labels_free(&lab);
        return nnxr_fail(err, "%s: out of memory", images_path);
    }
    for (uint32_t i = 0; i < img.count; i++)
        index[i] = i;
    out->count = img.count;
    out->rows = img.rows;
    out->cols = img.cols;
    out->num_classes = num_classes;
    out->pixels = img.pixels;
    out->labels = lab.labels;
    out->source_index = index;
    return true;
}

bool nnxr_image_set_select(const nnxr_image_set *src, const uint32_t *indices, uint32_t n,
                           nnxr_image_set *out, nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    size_t px = (size_t)src->rows * src->cols;
    out->rows = src->rows;
    out->cols = src->cols;
    out->num_classes = src->num_classes;
    out->pixels = malloc(px * n + 1);
    out->labels = malloc((size_t)n + 1);
    out->source_index = malloc(sizeof *out->source_index * n + 1);
    if (!out->pixels || !out->labels || !out->source_index) {
        nnxr_image_set_free(out);
        return nnxr_fail(err, "image set: out of memory for %u items", n);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = indices[i];
        if (k >= src->count) {
            nnxr_image_set_free(out);
            return nnxr_fail(err, "image set: index %u at position %u is out of range: expected "
                                  "0..%u",
                             k, i, src->count ? src->count - 1 : 0);
        }
        memcpy(out->pixels + px * i, src->pixels + px * k, px);
        out->labels[i] = src->labels[k];
        out->source_index[i] = src->source_index ? src->source_index[k] : k;
    }
    out->count = n;
    return true;
}

void nnxr_image_set_histogram(const nnxr_image_set *set, uint32_t *hist)
{
    memset(hist, 0, sizeof *hist * set->num_classes);
    for (uint32_t i = 0; i < set->count; i++)
        if (set->labels[i] < set->num_classes)
            hist[set->labels[i]]++;
}

void nnxr_image_set_to_float(const nnxr_image_set *set, uint32_t first, uint32_t n, float *out)
{
    size_t px = (size_t)set->rows * set->cols;
    const uint8_t *p = set->pixels + px * first;
    for (size_t i = 0; i < px * n; i++)
        out[i] = (float)p[i] * (1.0f / 255.0f);
}

/* The path of a standard file in dir: the plain name if it exists, else name.gz. */
static bool find_in_dir(const char *dir, const char *name, char **out, nnxr_error *err)
{
    size_t len = strlen(dir) + strlen(name) + 8;
    char *p = malloc(len);
    if (!p)
        return nnxr_fail(err, "%s: out of memory", dir);
    struct stat st;
    snprintf(p, len, "%s/%s", dir, name);
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
        *out = p;
        return true;
    }
    snprintf(p, len, "%s/%s.gz", dir, name);
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
        *out = p;
        return true;
    }
    free(p);
    return nnxr_fail(err, "%s: holds neither %s nor %s.gz", dir, name, name);
}

/* The indices i (ascending) with mask[i] == want; n_marked of them are expected. */
static uint32_t *pick_sorted(const uint8_t *mask, uint32_t count, uint32_t n_marked,
                             uint8_t want)
{
    uint32_t *idx = malloc(sizeof *idx * (size_t)n_marked + 1);
    if (!idx)
        return NULL;
    uint32_t k = 0;
    for (uint32_t i = 0; i < count && k < n_marked; i++)
        if (mask[i] == want)
            idx[k++] = i;
    return idx;
}

/* Reduces *set to `limit` items (first ones, or a seeded random choice kept in file order). */
static bool limit_set(nnxr_image_set *set, uint32_t limit, bool random, uint64_t seed,
                      uint64_t stream, nnxr_error *err)
{
    if (limit == 0 || limit >= set->count)
        return true;
    uint32_t *idx;
    if (random) {
        uint32_t *perm = malloc(sizeof *perm * set->count);
        uint8_t *mask = calloc(set->count, 1);
        if (!perm || !mask) {
            free(perm);
            free(mask);
            return nnxr_fail(err, "subset: out of memory");
        }
        nnxr_rng rng;
        nnxr_rng_seed(&rng, seed, stream);
        nnxr_rng_permutation(&rng, perm, set->count);
        for (uint32_t i = 0; i < limit; i++)
            mask[perm[i]] = 1;
        idx = pick_sorted(mask, set->count, limit, 1);
        free(perm);
        free(mask);
    } else {
        idx = malloc(sizeof *idx * limit);
        if (idx)
            for (uint32_t i = 0; i < limit; i++)
                idx[i] = i;
    }
    if (!idx)
        return nnxr_fail(err, "subset: out of memory");
    nnxr_image_set sub;
    bool ok = nnxr_image_set_select(set, idx, limit, &sub, err);
    free(idx);
    if (!ok)
        return false;
    nnxr_image_set_free(set);
    *set = sub;
    return true;
}

/* Moves val_count random items of *train into *val (both keep file order). */
/* Appends b's items to a (same image size; b's source_index counts on past a's file) and
 * leaves b empty. */
static bool join_sets(nnxr_image_set *a, nnxr_image_set *b, nnxr_error *err)
{
    size_t img = (size_t)a->rows * a->cols;
    uint64_t count = (uint64_t)a->count + b->count;
    if (count > UINT32_MAX)
        return nnxr_fail(err, "joining the test items: %llu items in all, at most %u",
                         (unsigned long long)count, UINT32_MAX);
    uint8_t *pixels = realloc(a->pixels, (size_t)count * img);
    if (pixels)
        a->pixels = pixels;
    uint8_t *labels = realloc(a->labels, (size_t)count);
    if (labels)
        a->labels = labels;
    uint32_t *src = realloc(a->source_index, sizeof *src * (size_t)count);
    if (src)
        a->source_index = src;
    if (!pixels || !labels || !src)
        return nnxr_fail(err, "joining the test items: out of memory");
    memcpy(a->pixels + (size_t)a->count * img, b->pixels, (size_t)b->count * img);
    memcpy(a->labels + a->count, b->labels, b->count);
    for (uint32_t i = 0; i < b->count; i++)
        a->source_index[a->count + i] = a->count + b->source_index[i];
    a->count = (uint32_t)count;
    free(b->pixels);
    free(b->labels);
    free(b->source_index);
    uint32_t rows = b->rows, cols = b->cols, classes = b->num_classes;
    *b = (nnxr_image_set){.rows = rows, .cols = cols, .num_classes = classes};
    return true;
}

static bool carve_validation(nnxr_image_set *train, uint32_t val_count, uint64_t seed,
                             nnxr_image_set *val, nnxr_error *err)
{
    uint32_t n = train->count;
    uint32_t *perm = malloc(sizeof *perm * n);
    uint8_t *mask = calloc(n, 1);
    if (!perm || !mask) {
        free(perm);
        free(mask);
        return nnxr_fail(err, "validation split: out of memory");
    }
    nnxr_rng rng;
    nnxr_rng_seed(&rng, seed, STREAM_VAL);
    nnxr_rng_permutation(&rng, perm, n);
    for (uint32_t i = 0; i < val_count; i++)
        mask[perm[i]] = 1;
    free(perm);
    uint32_t *vidx = pick_sorted(mask, n, val_count, 1);
    uint32_t *tidx = pick_sorted(mask, n, n - val_count, 0);
    free(mask);
    nnxr_image_set rest;
    bool ok = vidx && tidx;
    if (!ok)
        nnxr_fail(err, "validation split: out of memory");
    if (ok)
        ok = nnxr_image_set_select(train, vidx, val_count, val, err);
    if (ok) {
        ok = nnxr_image_set_select(train, tidx, n - val_count, &rest, err);
        if (!ok)
            nnxr_image_set_free(val);
    }
    free(vidx);
    free(tidx);
    if (!ok)
        return false;
    nnxr_image_set_free(train);
    *train = rest;
    return true;
}

static bool names_fashion(const char *p)
{
    return p && strcasestr(p, "fashion") != NULL;
}

bool nnxr_image_dataset_load(const nnxr_image_dataset_options *opt_in, nnxr_image_dataset *out,
                             nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    nnxr_image_dataset_options opt;
    if (opt_in)
        opt = *opt_in;
    else
        memset(&opt, 0, sizeof opt);
    const char *dir = (opt.dir && *opt.dir) ? opt.dir : NNXR_FASHION_MNIST_DIR;
    bool default_dir = !(opt.dir && *opt.dir);

    static const char *const std_names[4] = {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    };
    const char *given[4] = {opt.train_images, opt.train_labels, opt.test_images, opt.test_labels};
    char *found[4] = {NULL, NULL, NULL, NULL};
    const char *path[4] = {NULL, NULL, NULL, NULL};
    if (opt.join_test)
        opt.skip_test = false;
    int roles = opt.skip_test ? 2 : 4;
    bool ok = true;
    bool need_dir = false;
    for (int r = 0; r < roles; r++)
        if (!(given[r] && *given[r]))
            need_dir = true;
    struct stat st;
    if (need_dir && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        int e = errno;
        ok = nnxr_fail(err, "data set folder %s: %s%s", dir,
                       stat(dir, &st) == 0 ? "is not a folder" : strerror(e),
                       default_dir ? " (install Debian's dataset-fashion-mnist, or name a folder)"
                                   : "");
    }
    for (int r = 0; ok && r < roles; r++) {
        if (given[r] && *given[r])
            path[r] = given[r];
        else if ((ok = find_in_dir(dir, std_names[r], &found[r], err)))
            path[r] = found[r];
    }

    if (ok) {
        nnxr_class_set cls = opt.classes;
        if (cls == NNXR_CLASSES_AUTO) {
            bool fashion = need_dir && names_fashion(dir);
            for (int r = 0; r < roles; r++)
                fashion = fashion || names_fashion(path[r]);
            cls = fashion ? NNXR_CLASSES_FASHION : NNXR_CLASSES_DIGITS;
        }
        out->classes = cls;
        out->class_names = nnxr_class_names(cls, &out->num_classes);
    }

    if (ok)
        ok = nnxr_image_set_load(path[0], path[1], out->num_classes, &out->train, err);
    if (ok && !opt.skip_test) {
        ok = nnxr_image_set_load(path[2], path[3], out->num_classes, &out->test, err);
        if (ok && (out->test.rows != out->train.rows || out->test.cols != out->train.cols))
            ok = nnxr_fail(err, "%s holds %ux%u images but %s holds %ux%u: expected one size",
                           path[2], out->test.rows, out->test.cols, path[0], out->train.rows,
                           out->train.cols);
    }
    if (ok && opt.join_test)
        ok = join_sets(&out->train, &out->test, err);
    if (ok && opt.val_count > 0) {
        if (opt.val_count >= out->train.count)
            ok = nnxr_fail(err,
                           "validation size %u leaves no training items: %s has %u (expected "
                           "fewer)",
                           opt.val_count, path[0], out->train.count);
        else
            ok = carve_validation(&out->train, opt.val_count, opt.val_seed, &out->val, err);
    }
    if (ok)
        ok = limit_set(&out->train, opt.train_limit, opt.random_subset, opt.subset_seed,
                       STREAM_TRAIN, err);
    if (ok && !opt.skip_test && !opt.join_test)
        ok = limit_set(&out->test, opt.test_limit, opt.random_subset, opt.subset_seed,
                       STREAM_TEST, err);
    for (int r = 0; r < 4; r++)
        free(found[r]);
    if (!ok)
        nnxr_image_dataset_free(out);
    return ok;
}
