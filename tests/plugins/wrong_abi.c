/* tests/plugins/wrong_abi.c — a plugin built for an ABI version this nnxr does not speak;
 * the loader must refuse it without reading past abi_version. */
#include "nnxr/plugin.h"

NNXR_EXPORT const struct {
    uint32_t abi_version;
} nnxr_entry = {NNXR_ABI_VERSION + 98};
