/* app/metrics.h — named scalar series published by the trainer and plugins: kept in memory
 * for plugins to read (the newest values) and appended to the run's metrics.jsonl, one JSON
 * object per value. */
#ifndef NNXR_APP_METRICS_H
#define NNXR_APP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nnxr/error.h"

#define NNXR_METRICS_MAX_SERIES 128
#define NNXR_METRICS_HISTORY 4096

typedef struct nnxr_series {
    char name[64];
    double values[NNXR_METRICS_HISTORY]; /* a ring */
    size_t count;                        /* values published in all */
} nnxr_series;

typedef struct nnxr_metrics {
    nnxr_series *series;
    size_t series_count;
    FILE *jsonl;       /* NULL: not written */
    uint64_t frame;    /* stamped on each record */
    uint64_t step;
    double time;
} nnxr_metrics;

bool nnxr_metrics_init(nnxr_metrics *m, const char *jsonl_path, nnxr_error *err);
void nnxr_metrics_close(nnxr_metrics *m);
void nnxr_metrics_publish(nnxr_metrics *m, const char *name, double value);
bool nnxr_metrics_latest(const nnxr_metrics *m, const char *name, double *value);
size_t nnxr_metrics_history(const nnxr_metrics *m, const char *name, double *values, size_t max);

#endif
