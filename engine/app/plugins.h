/* app/plugins.h — finding and loading plugin libraries: the search path (NNXR_PLUGIN_PATH,
 * then lib/nnxr/plugins beside the executable — the build tree and an install share this
 * layout — then the configured install prefix), the entry symbol and the ABI check. A plugin
 * with id X lives in a file named X.so. */
#ifndef NNXR_APP_PLUGINS_H
#define NNXR_APP_PLUGINS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "nnxr/plugin.h"

#define NNXR_MAX_PLUGIN_DIRS 16

typedef struct nnxr_plugin_lib {
    char path[PATH_MAX];
    void *handle;
    const nnxr_plugin_entry *entry;
} nnxr_plugin_lib;

/* The folders searched, in order; returns how many were written to dirs. */
size_t nnxr_plugin_dirs(char dirs[][PATH_MAX], size_t max);

/* Finds and opens the plugin `id`. Refuses, with its id, path and reason, a plugin that is
 * missing, cannot be loaded, has no entry symbol, was built for another ABI version, or
 * whose entry names another id. */
bool nnxr_plugin_open(const char *id, nnxr_plugin_lib *out, nnxr_error *err);
void nnxr_plugin_close(nnxr_plugin_lib *lib);

/* Calls visit for every *.so in the search path (the first of each name only): entry is NULL
 * when the library cannot be used, and problem says why. */
typedef void (*nnxr_plugin_visit)(const char *path, const nnxr_plugin_entry *entry,
                                  const char *problem, void *user);
void nnxr_plugin_scan(nnxr_plugin_visit visit, void *user);

#endif
