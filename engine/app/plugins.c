/* app/plugins.c — the plugin search path, dlopen, entry lookup and ABI check. */
#include "app/plugins.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/status.h"

size_t nnxr_plugin_dirs(char dirs[][PATH_MAX], size_t max)
{
    size_t n = 0;
    const char *env = getenv("NNXR_PLUGIN_PATH");
    if (env) {
        const char *p = env;
        while (*p && n < max) {
            size_t len = strcspn(p, ":");
            if (len > 0 && len < PATH_MAX) {
                memcpy(dirs[n], p, len);
                dirs[n][len] = '\0';
                n++;
            }
            p += len;
            if (*p == ':')
                p++;
        }
    }
    char exe[PATH_MAX - 64];
    if (n < max && nnxr_exe_dir(exe, sizeof exe))
        snprintf(dirs[n++], PATH_MAX, "%s/../lib/nnxr/plugins", exe);
    if (n < max)
        snprintf(dirs[n++], PATH_MAX, "%s/%s", NNXR_INSTALL_PREFIX, NNXR_PLUGIN_INSTALL_DIR);
    return n;
}

/* Opens one library and checks its entry; on failure `problem` says why. */
static bool open_lib(const char *path, nnxr_plugin_lib *out, char *problem, size_t n)
{
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", path);
    dlerror();
    out->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!out->handle) {
        const char *why = dlerror();
        snprintf(problem, n, "cannot be loaded: %s", why ? why : "unknown dlopen error");
        return false;
    }
    const nnxr_plugin_entry *entry = dlsym(out->handle, NNXR_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(problem, n, "has no '%s' symbol (is it an nnxr plugin? see docs/plugins.md)",
                 NNXR_PLUGIN_ENTRY_SYMBOL);
        dlclose(out->handle);
        out->handle = NULL;
        return false;
    }
    /* abi_version is the one field every ABI version keeps first; read nothing else of a
     * foreign version. */
    if (entry->abi_version != NNXR_ABI_VERSION) {
        snprintf(problem, n, "was built for plugin ABI version %u, this nnxr speaks version %d "
                 "(rebuild it against this nnxr's headers)", entry->abi_version,
                 NNXR_ABI_VERSION);
        dlclose(out->handle);
        out->handle = NULL;
        return false;
    }
    if (!entry->id || !entry->create || !entry->destroy || !entry->extension) {
        snprintf(problem, n, "has an incomplete entry (id, create, destroy and extension are "
                 "required)");
        dlclose(out->handle);
        out->handle = NULL;
        return false;
    }
    out->entry = entry;
    return true;
}

bool nnxr_plugin_open(const char *id, nnxr_plugin_lib *out, nnxr_error *err)
{
    char dirs[NNXR_MAX_PLUGIN_DIRS][PATH_MAX];
    size_t nd = nnxr_plugin_dirs(dirs, NNXR_MAX_PLUGIN_DIRS);
    if (strchr(id, '/') || !id[0])
        return nnxr_fail(err, "plugin '%s': a plugin is named by its id, not a path", id);
    char searched[2048] = "";
    size_t used = 0;
    for (size_t i = 0; i < nd; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s.so", dirs[i], id) >= (int)sizeof path)
            continue;
        if (!nnxr_is_file(path)) {
            if (used < sizeof searched)
                used += (size_t)snprintf(searched + used, sizeof searched - used, "%s%s",
                                         used ? ", " : "", dirs[i]);
            continue;
        }
        char real[PATH_MAX], problem[1024];
        if (realpath(path, real))
            snprintf(path, sizeof path, "%s", real);
        if (!open_lib(path, out, problem, sizeof problem))
            return nnxr_fail(err, "plugin '%s' (%s) refused: %s", id, path, problem);
        if (strcmp(out->entry->id, id)) {
            nnxr_fail(err, "plugin '%s' (%s) refused: its entry says it is '%s'", id, path,
                      out->entry->id);
            nnxr_plugin_close(out);
            return false;
        }
        return true;
    }
    return nnxr_fail(err, "plugin '%s' not found: no %s.so in %s (see `nnxr plugins`; "
                     "NNXR_PLUGIN_PATH adds folders)", id, id, searched);
}

void nnxr_plugin_close(nnxr_plugin_lib *lib)
{
    if (lib && lib->handle)
        dlclose(lib->handle);
    if (lib) {
        lib->handle = NULL;
        lib->entry = NULL;
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void nnxr_plugin_scan(nnxr_plugin_visit visit, void *user)
{
    char dirs[NNXR_MAX_PLUGIN_DIRS][PATH_MAX];
    size_t nd = nnxr_plugin_dirs(dirs, NNXR_MAX_PLUGIN_DIRS);
    char *seen[512];
    size_t nseen = 0;
    for (size_t i = 0; i < nd; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        char *names[512];
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d)) && nn < 512) {
            size_t len = strlen(e->d_name);
            if (len > 3 && !strcmp(e->d_name + len - 3, ".so"))
                names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, nn, sizeof names[0], by_name);
        for (size_t k = 0; k < nn; k++) {
            bool dup = false;
            for (size_t s = 0; s < nseen && !dup; s++)
                dup = !strcmp(seen[s], names[k]);
            if (dup || nseen >= 512) {
                free(names[k]);
                continue;
            }
            seen[nseen++] = names[k];
            char path[PATH_MAX + 256];
            snprintf(path, sizeof path, "%s/%s", dirs[i], names[k]);
            char real[PATH_MAX];
            const char *shown = realpath(path, real) ? real : path;
            nnxr_plugin_lib lib;
            char problem[1024] = "";
            if (open_lib(shown, &lib, problem, sizeof problem)) {
                visit(shown, lib.entry, NULL, user);
                nnxr_plugin_close(&lib);
            } else {
                visit(shown, NULL, problem, user);
            }
        }
    }
    for (size_t s = 0; s < nseen; s++)
        free(seen[s]);
}
