/* app/metrics.c — in-memory metric series and the metrics.jsonl writer. */
#include "app/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/status.h"

bool nnxr_metrics_init(nnxr_metrics *m, const char *jsonl_path, nnxr_error *err)
{
    memset(m, 0, sizeof *m);
    m->series = calloc(NNXR_METRICS_MAX_SERIES, sizeof *m->series);
    if (!m->series)
        return nnxr_fail(err, "out of memory for metrics");
    if (jsonl_path) {
        m->jsonl = fopen(jsonl_path, "w");
        if (!m->jsonl) {
            free(m->series);
            m->series = NULL;
            return nnxr_fail(err, "%s: cannot write: %s", jsonl_path, strerror(errno));
        }
    }
    return true;
}

void nnxr_metrics_close(nnxr_metrics *m)
{
    if (m->jsonl)
        fclose(m->jsonl);
    free(m->series);
    memset(m, 0, sizeof *m);
}

static nnxr_series *find(const nnxr_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->series_count; i++)
        if (!strcmp(m->series[i].name, name))
            return &m->series[i];
    return NULL;
}

/* Metric names go into JSON unescaped, so only plain names are accepted. */
static bool plain_name(const char *name)
{
    if (!name[0] || strlen(name) >= sizeof ((nnxr_series *)0)->name)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-' || *p == '/'))
            return false;
    return true;
}

void nnxr_metrics_publish(nnxr_metrics *m, const char *name, double value)
{
    if (!name || !plain_name(name)) {
        NNXR_WARN("metric name '%s' refused: use letters, digits and . _ - /", name ? name : "");
        return;
    }
    nnxr_series *s = find(m, name);
    if (!s) {
        if (m->series_count >= NNXR_METRICS_MAX_SERIES) {
            NNXR_WARN("metric '%s' dropped: at most %d series", name, NNXR_METRICS_MAX_SERIES);
            return;
        }
        s = &m->series[m->series_count++];
        snprintf(s->name, sizeof s->name, "%s", name);
    }
    s->values[s->count % NNXR_METRICS_HISTORY] = value;
    s->count++;
    if (m->jsonl) {
        if (isfinite(value))
            fprintf(m->jsonl, "{\"frame\":%llu,\"step\":%llu,\"time\":%.6f,\"name\":\"%s\",\"value\":%.9g}\n",
                    (unsigned long long)m->frame, (unsigned long long)m->step, m->time, name, value);
        else /* JSON has no NaN or Infinity: the value is null and the text says which. */
            fprintf(m->jsonl, "{\"frame\":%llu,\"step\":%llu,\"time\":%.6f,\"name\":\"%s\",\"value\":null,\"nonfinite\":\"%s\"}\n",
                    (unsigned long long)m->frame, (unsigned long long)m->step, m->time, name,
                    isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
        fflush(m->jsonl);
    }
}

bool nnxr_metrics_latest(const nnxr_metrics *m, const char *name, double *value)
{
    const nnxr_series *s = find(m, name);
    if (!s || s->count == 0)
        return false;
    *value = s->values[(s->count - 1) % NNXR_METRICS_HISTORY];
    return true;
}

size_t nnxr_metrics_history(const nnxr_metrics *m, const char *name, double *values, size_t max)
{
    const nnxr_series *s = find(m, name);
    if (!s)
        return 0;
    size_t have = s->count < NNXR_METRICS_HISTORY ? s->count : NNXR_METRICS_HISTORY;
    size_t n = have < max ? have : max;
    for (size_t i = 0; i < n; i++)
        values[i] = s->values[(s->count - n + i) % NNXR_METRICS_HISTORY];
    return n;
}
