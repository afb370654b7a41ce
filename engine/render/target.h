/* render/target.h — the render targets behind one interface, as the frame loop sees them:
 * the offscreen image (headless: PNG frames) and the desktop window (swapchain, camera). The
 * XR target (one view per eye) is meant to become a third kind here.
 *
 * A frame: acquire → begin → plugins' record_draw per view → end → submit (present or plain
 * submission; returns when the GPU is done) → pixels (when a readback was asked for). */
#ifndef NNXR_RENDER_TARGET_H
#define NNXR_RENDER_TARGET_H

#include "render/offscreen.h"
#include "render/window.h"

typedef enum nnxr_target_kind {
    NNXR_TARGET_OFFSCREEN = 0,
    NNXR_TARGET_WINDOW = 1,
} nnxr_target_kind;

typedef struct nnxr_target {
    nnxr_target_kind kind;
    nnxr_offscreen *offscreen; /* owned, when kind is OFFSCREEN */
    nnxr_window *window;       /* owned, when kind is WINDOW */
    nnxr_view fixed_view;      /* offscreen: the scene's camera */
    bool stereo;               /* two views side by side (nnxr_view_stereo) */
    float ipd;                 /* stereo: distance between the eyes, metres */
} nnxr_target;

void nnxr_target_info(const nnxr_target *t, nnxr_render_target_info *info);
/* The views of this frame: 1, or 2 side by side when stereo; returns how many. */
uint32_t nnxr_target_views(const nnxr_target *t, nnxr_view *views, uint32_t max);
/* Sets the viewport and scissor of one view (before the plugins record its draws). */
void nnxr_target_set_view(VkCommandBuffer cmd, const nnxr_view *view);

/* NNXR_WINDOW_READY, _SKIP (nothing to draw), _RESIZED (prepare the plugins again) or
 * _ERROR; an offscreen target is always ready. */
nnxr_window_frame nnxr_target_acquire(nnxr_target *t, nnxr_error *err);
void nnxr_target_begin(nnxr_target *t, VkCommandBuffer cmd);
void nnxr_target_end(nnxr_target *t, VkCommandBuffer cmd, bool readback);
/* Runs the recorder's commands and presents; returns when the GPU is done. */
bool nnxr_target_submit(nnxr_target *t, nnxr_recorder *rec, bool *resized, nnxr_error *err);
/* Whether a readback is possible at all. */
bool nnxr_target_can_read(const nnxr_target *t);
bool nnxr_target_pixels(nnxr_target *t, uint8_t *rgba, nnxr_error *err);

/* Destroys what the target owns. */
void nnxr_target_destroy(nnxr_target *t);

#endif
