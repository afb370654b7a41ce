/* render/window.h — the desktop target: an SDL2 window with a Vulkan swapchain (vsync, FIFO),
 * resizable, with depth and MSAA like the offscreen target, an orbit / fly camera driven by
 * mouse and keys, and an optional readback of the shown image for screenshots.
 *
 * SDL2 is loaded at run time (libSDL2-2.0.so.0): a build or a machine without it still runs
 * headless, and `auto` mode simply finds no window. The window is opened before the GPU
 * (its Vulkan instance extensions come from SDL) and attached to the GPU after.
 *
 * Mouse and keys: left drag orbits about the target, right drag looks around, middle drag (or
 * shift + left drag) pans, the wheel zooms; W A S D move, Q E move down and up (shift: 4×
 * faster); R resets the camera; space pauses or resumes training; F12 or P asks for a
 * screenshot; Esc or closing the window ends the run. */
#ifndef NNXR_RENDER_WINDOW_H
#define NNXR_RENDER_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu.h"
#include "nnxr/render.h"
#include "render/camera.h"

typedef struct nnxr_window nnxr_window;

/* Whether a window can be opened here: a display (DISPLAY or WAYLAND_DISPLAY), SDL2 found,
 * and its video subsystem starts. Otherwise false with the reason in why. */
bool nnxr_window_available(char *why, size_t why_size);

/* Opens the window; the camera starts at eye looking at target. */
bool nnxr_window_open(const char *title, uint32_t width, uint32_t height, const float eye[3],
                      const float target[3], float fov, nnxr_window **out, nnxr_error *err);
/* The Vulkan instance extensions the window's surface needs (valid while it lives). */
void nnxr_window_instance_extensions(const nnxr_window *w, const char *const **names,
                                     uint32_t *count);
/* Surface, swapchain, render pass, depth (and MSAA) images and framebuffers on gpu, which
 * must have been made with the instance extensions above and VK_KHR_swapchain. */
bool nnxr_window_attach(nnxr_window *w, nnxr_gpu *gpu, uint32_t samples,
                        const float clear_rgb[3], nnxr_error *err);
void nnxr_window_destroy(nnxr_window *w); /* NULL is fine */

void nnxr_window_info(const nnxr_window *w, nnxr_render_target_info *info);

/* What the user asked for since the last poll. */
typedef struct nnxr_window_input {
    bool quit;          /* the window was closed, or Esc */
    bool toggle_pause;  /* space */
    bool screenshot;    /* F12 or P */
} nnxr_window_input;

/* Handles pending events (camera moves with dt seconds of held keys). */
void nnxr_window_poll(nnxr_window *w, double dt, nnxr_window_input *in);
nnxr_camera *nnxr_window_camera(nnxr_window *w);
/* The camera's view over the whole window. */
void nnxr_window_view(const nnxr_window *w, nnxr_view *view);

typedef enum nnxr_window_frame {
    NNXR_WINDOW_ERROR = -1,
    NNXR_WINDOW_READY = 0,   /* an image was acquired: record and present */
    NNXR_WINDOW_SKIP = 1,    /* minimised: nothing to draw this frame */
    NNXR_WINDOW_RESIZED = 2, /* the swapchain was remade: prepare the plugins again, retry */
} nnxr_window_frame;

nnxr_window_frame nnxr_window_acquire(nnxr_window *w, nnxr_error *err);
/* Begins the render pass on the acquired image (clears; full viewport and scissor). */
void nnxr_window_begin(nnxr_window *w, VkCommandBuffer cmd);
/* Ends it; with readback, also copies the image for nnxr_window_pixels. */
void nnxr_window_end(nnxr_window *w, VkCommandBuffer cmd, bool readback);
/* Submits the recorder's commands (waiting for the acquired image), presents, and waits for
 * the submission. *resized is set when the swapchain had to be remade. */
bool nnxr_window_present(nnxr_window *w, nnxr_recorder *rec, bool *resized, nnxr_error *err);
/* RGBA8 rows, top row first, of the last image recorded with readback. */
bool nnxr_window_pixels(nnxr_window *w, uint8_t *rgba, nnxr_error *err);
/* Whether screenshots can be read back (the swapchain allows TRANSFER_SRC). */
bool nnxr_window_can_read(const nnxr_window *w);

#endif
