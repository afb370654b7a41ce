/* data/dataset.h — labelled image data sets in the MNIST layout (MNIST, Fashion-MNIST): finds
 * the four standard IDX files in a folder (or takes explicit paths), checks that images and
 * labels agree, names the classes, and carves reproducible subsets and a validation split.
 * Pixels stay uint8; the GPU upload normalises them in the shader. */
#ifndef NNXR_DATA_DATASET_H
#define NNXR_DATA_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"

/* Debian's dataset-fashion-mnist installs the four .gz files here. */
#define NNXR_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef enum nnxr_class_set {
    NNXR_CLASSES_AUTO = 0,   /* Fashion-MNIST if any path names "fashion", else MNIST digits */
    NNXR_CLASSES_FASHION,    /* T-shirt/top, Trouser, ... Ankle boot */
    NNXR_CLASSES_DIGITS,     /* "0" ... "9" */
} nnxr_class_set;

/* One split: `count` images of rows x cols and their labels (0..num_classes-1). */
typedef struct nnxr_image_set {
    uint32_t count, rows, cols, num_classes;
    uint8_t *pixels; /* count*rows*cols bytes, malloc'd, owned */
    uint8_t *labels; /* count bytes, malloc'd, owned */
    uint32_t *source_index; /* for each item, its index in the file it came from; owned */
} nnxr_image_set;

typedef struct nnxr_image_dataset {
    nnxr_class_set classes;       /* resolved, never AUTO */
    uint32_t num_classes;         /* 10 for both known sets */
    const char *const *class_names; /* static table of num_classes names */
    nnxr_image_set train;         /* training file minus the validation items, then limited */
    nnxr_image_set val;           /* carved from the training file; count 0 if not asked for */
    nnxr_image_set test;          /* the t10k file, possibly limited; empty when joined */
} nnxr_image_dataset;

typedef struct nnxr_image_dataset_options {
    /* Folder holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
     * t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] (the plain name wins when both
     * exist). NULL or "" means NNXR_FASHION_MNIST_DIR. */
    const char *dir;
    /* Explicit paths override the folder's file of that role (each may be NULL). */
    const char *train_images, *train_labels, *test_images, *test_labels;
    bool skip_test;               /* load only the training file */
    /* The test file's items join the training file's before the validation carve and the
     * subset (Fashion-MNIST: all 70,000 images, for unsupervised models and the latent
     * cloud); their source_index counts on past the training file, and the test set stays
     * empty. Overrides skip_test. */
    bool join_test;
    nnxr_class_set classes;
    /* Validation: val_count items drawn at random (val_seed) from the training file; they are
     * removed from the training set, so the two are disjoint. 0 = no validation set. */
    uint32_t val_count;
    uint64_t val_seed;
    /* Subsets applied after the validation carve: at most train_limit training items and
     * test_limit test items (0 = all). random_subset picks them at random (subset_seed) instead
     * of taking the first ones; either way items keep their file order. */
    uint32_t train_limit, test_limit;
    bool random_subset;
    uint64_t subset_seed;
} nnxr_image_dataset_options;

/* Loads per the options (NULL options = the whole default Fashion-MNIST). On failure *out is
 * left empty and err names the file or option at fault. */
bool nnxr_image_dataset_load(const nnxr_image_dataset_options *opt, nnxr_image_dataset *out,
                             nnxr_error *err);
void nnxr_image_dataset_free(nnxr_image_dataset *ds);

/* Loads one images + labels pair and checks that the counts match (num_classes bounds the
 * labels; 0 skips that check). source_index is 0..count-1. */
bool nnxr_image_set_load(const char *images_path, const char *labels_path, uint32_t num_classes,
                         nnxr_image_set *out, nnxr_error *err);

/* A new set of the items `indices[0..n)` of `src` (copied, in that order). */
bool nnxr_image_set_select(const nnxr_image_set *src, const uint32_t *indices, uint32_t n,
                           nnxr_image_set *out, nnxr_error *err);
void nnxr_image_set_free(nnxr_image_set *set);

/* Counts of each label (hist has num_classes entries). */
void nnxr_image_set_histogram(const nnxr_image_set *set, uint32_t *hist);

/* Pixels of items [first, first+n) as floats in [0, 1] (CPU reference and tests). */
void nnxr_image_set_to_float(const nnxr_image_set *set, uint32_t first, uint32_t n, float *out);

/* Class names of a set (num_classes entries, static storage); *count receives 10. AUTO is
 * treated as FASHION. */
const char *const *nnxr_class_names(nnxr_class_set set, uint32_t *count);

/* Parses "fashion-mnist" / "fashion" / "mnist" / "digits" / "auto". */
bool nnxr_class_set_parse(const char *name, nnxr_class_set *out, nnxr_error *err);

#endif
