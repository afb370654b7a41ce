/* tests/plugins/create_fails.c — a plugin whose create refuses, with a message. */
#include <stdio.h>

#include "nnxr/plugin.h"

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    (void)host;
    (void)cfg;
    snprintf(err->message, sizeof err->message, "the test asked it to fail");
    return NULL;
}

static void destroy(void *self) { (void)self; }
static const void *extension(void *self, const char *id)
{
    (void)self;
    (void)id;
    return NULL;
}

NNXR_EXPORT const nnxr_plugin_entry nnxr_entry = {
    NNXR_ABI_VERSION, "test.create_fails", "always fails to create", create, destroy, extension,
};
