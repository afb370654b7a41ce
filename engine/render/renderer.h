/* render/renderer.h — the engine's side of the "nnxr.render" service (nnxr/draw.h): the
 * service table the host hands to plugins, and a way to make a drawing context straight from
 * an nnxr_gpu for the engine's own code, its tests and `nnxr bench render`. */
#ifndef NNXR_RENDER_RENDERER_H
#define NNXR_RENDER_RENDERER_H

#include "gpu/gpu.h"
#include "nnxr/draw.h"

/* The service table (immutable; one for every app). */
const nnxr_render_api *nnxr_render_api_get(void);

/* A drawing context on gpu (the gpu must have been made with graphics = true); free it with
 * nnxr_render_api_get()->destroy. */
bool nnxr_draw_create_gpu(nnxr_gpu *gpu, nnxr_draw **out, nnxr_error *err);

#endif
