/* nnxr/plugin.h — the plugin ABI. A plugin is a shared library exporting one symbol,
 * `nnxr_entry` (NNXR_PLUGIN_ENTRY_SYMBOL), of type nnxr_plugin_entry. Everything else is
 * found by id: the host's services through host->service(), the plugin's capabilities
 * through entry->extension().
 * Adding a service or an extension never breaks a built plugin; changing a struct that a
 * built plugin already uses bumps NNXR_ABI_VERSION. */
#ifndef NNXR_PLUGIN_H
#define NNXR_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nnxr/config.h"
#include "nnxr/error.h"

#define NNXR_ABI_VERSION 1
#define NNXR_PLUGIN_ENTRY_SYMBOL "nnxr_entry"

#if defined(__GNUC__)
#define NNXR_EXPORT __attribute__((visibility("default")))
#else
#define NNXR_EXPORT
#endif

/* ---- host ------------------------------------------------------------------------------ */

typedef struct nnxr_host nnxr_host;
struct nnxr_host {
    uint32_t abi_version;  /* the host's NNXR_ABI_VERSION */
    const char *plugin_id; /* the id of the plugin this host handle was made for */
    void *host_data;       /* private to the host */
    /* A service table by id (NNXR_SERVICE_*), or NULL when this host has none such. */
    const void *(*service)(const nnxr_host *host, const char *id);
};

/* "nnxr.log": messages go to the engine's log, prefixed with the plugin's id. */
#define NNXR_SERVICE_LOG "nnxr.log"
enum { NNXR_LEVEL_DEBUG = 0, NNXR_LEVEL_INFO = 1, NNXR_LEVEL_WARN = 2, NNXR_LEVEL_ERROR = 3 };
typedef struct nnxr_log_api {
    void (*write)(const nnxr_host *host, int level, const char *message);
} nnxr_log_api;

/* "nnxr.metrics": named scalar series (e.g. "train.loss", "val.accuracy"). Publishing a value
 * also writes it to the run's metrics.jsonl. */
#define NNXR_SERVICE_METRICS "nnxr.metrics"
typedef struct nnxr_metrics_api {
    void (*publish)(const nnxr_host *host, const char *name, double value);
    /* The newest value of a series; false if it has none yet. */
    bool (*latest)(const nnxr_host *host, const char *name, double *value);
    /* Up to max newest values, oldest first; returns how many were written. */
    size_t (*history)(const nnxr_host *host, const char *name, double *values, size_t max);
} nnxr_metrics_api;

/* "nnxr.commands": requests to change the run, applied by the app between optimizer steps.
 * A command kind that the running scene cannot carry out is refused with a message. */
#define NNXR_SERVICE_COMMANDS "nnxr.commands"
typedef enum nnxr_command_kind {
    NNXR_CMD_PAUSE = 1,
    NNXR_CMD_RESUME,
    NNXR_CMD_TOGGLE_PAUSE,
    NNXR_CMD_QUIT,
    NNXR_CMD_SET_HPARAM,      /* name, value */
    NNXR_CMD_ADD_NEURON,      /* layer */
    NNXR_CMD_REMOVE_NEURON,   /* layer, index */
    NNXR_CMD_SET_WEIGHTS,     /* layer, index, values: incoming then outgoing */
    NNXR_CMD_EVALUATE,        /* evaluate the validation set now */
    NNXR_CMD_ANNOTATE_SPHERE, /* center, radius, label */
    NNXR_CMD_UNLABEL_SPHERE,  /* center, radius */
    NNXR_CMD_UNDO_ANNOTATION,
    NNXR_CMD_SCREENSHOT,
} nnxr_command_kind;

typedef struct nnxr_command {
    nnxr_command_kind kind;
    char name[32];         /* SET_HPARAM: "lr", "momentum", "batch", "l1", "l2", ... */
    double value;          /* SET_HPARAM */
    int32_t layer;         /* neuron surgery: hidden layer index, 0-based */
    int32_t index;         /* neuron surgery: neuron index in the layer */
    float center[3];       /* annotation */
    float radius;          /* annotation */
    int32_t label;         /* annotation */
    const float *values;   /* SET_WEIGHTS: copied by push */
    size_t value_count;
} nnxr_command;

typedef struct nnxr_commands_api {
    /* Queues a command; false (with err) if the scene cannot carry out this kind. */
    bool (*push)(const nnxr_host *host, const nnxr_command *cmd, nnxr_error *err);
} nnxr_commands_api;

/* ---- the frame --------------------------------------------------------------------------- */

typedef struct nnxr_frame {
    uint64_t index;      /* 0-based frame number */
    double time;         /* seconds since the run started (fixed steps when headless) */
    double dt;           /* seconds since the previous frame */
    bool paused;         /* training paused */
    uint64_t train_step; /* optimizer steps taken so far */
} nnxr_frame;

/* ---- plugin extensions (returned by entry->extension(self, id)) ------------------------- */

/* "nnxr.update": once per frame, before commands are applied and training runs. */
#define NNXR_EXT_UPDATE "nnxr.update"
typedef struct nnxr_update_ext {
    void (*update)(void *self, const nnxr_frame *frame);
} nnxr_update_ext;

/* ---- helpers for plugin code (header-only: a plugin never links the engine) ------------ */

/* A printf-style message into err; false, so that `return nnxr_failf(err, ...)` ends a failing
 * call. nnxr_failp is the same for calls that return a pointer (create): NULL. */
static inline bool nnxr_vfailf(nnxr_error *err, const char *fmt, va_list ap)
{
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return false;
}
static inline bool nnxr_failf(nnxr_error *err, const char *fmt, ...) NNXR_PRINTF(2, 3);
static inline bool nnxr_failf(nnxr_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nnxr_vfailf(err, fmt, ap);
    va_end(ap);
    return false;
}
static inline void *nnxr_failp(nnxr_error *err, const char *fmt, ...) NNXR_PRINTF(2, 3);
static inline void *nnxr_failp(nnxr_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nnxr_vfailf(err, fmt, ap);
    va_end(ap);
    return NULL;
}

/* A printf-style line to the host's log service (nothing when the host has none). */
static inline void nnxr_logf(const nnxr_log_api *log, const nnxr_host *host, int level,
                             const char *fmt, ...) NNXR_PRINTF(4, 5);
static inline void nnxr_logf(const nnxr_log_api *log, const nnxr_host *host, int level,
                             const char *fmt, ...)
{
    if (!log)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log->write(host, level, msg);
}

/* ---- entry ------------------------------------------------------------------------------ */

typedef struct nnxr_plugin_entry {
    uint32_t abi_version;    /* NNXR_ABI_VERSION the plugin was built with */
    const char *id;          /* "nnxr.graph_view" */
    const char *description; /* one line, for `nnxr plugins` */
    /* Reads and validates its config (cfg is the plugin's [[plugin]] table); returns the
     * plugin's state, or NULL with err filled. */
    void *(*create)(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err);
    void (*destroy)(void *self);
    /* A capability by id (NNXR_EXT_*), or NULL when the plugin has none such. */
    const void *(*extension)(void *self, const char *id);
} nnxr_plugin_entry;

#endif
