/* tests/plugins/no_entry.c — a shared library without the nnxr_entry symbol. */
#include "nnxr/plugin.h"

NNXR_EXPORT int not_an_nnxr_plugin(void);
NNXR_EXPORT int not_an_nnxr_plugin(void) { return 42; }
