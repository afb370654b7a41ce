/* render/camera.h — the desktop camera: orbit about a target (drag), look around from the eye
 * (drag), pan, zoom (wheel) and fly (keys), and the view it gives. Pure maths, no window: the
 * window target feeds it input, the tests feed it numbers. */
#ifndef NNXR_RENDER_CAMERA_H
#define NNXR_RENDER_CAMERA_H

#include <stdint.h>

#include "nnxr/render.h"

typedef struct nnxr_camera {
    float target[3];
    float distance; /* eye to target, > 0 */
    float yaw;      /* radians about +y; 0 puts the eye on +z of the target */
    float pitch;    /* radians, up positive, within ±(π/2 − 0.01) */
    float fov;      /* vertical, degrees */
    float home[3], home_target[3];
} nnxr_camera;

/* A camera at eye looking at target (as nnxr_view_look_at), which `reset` returns to. */
void nnxr_camera_init(nnxr_camera *c, const float eye[3], const float target[3], float fov);
void nnxr_camera_reset(nnxr_camera *c);

void nnxr_camera_eye(const nnxr_camera *c, float eye[3]);
/* Unit vectors of the camera in world space. */
void nnxr_camera_axes(const nnxr_camera *c, float forward[3], float right[3], float up[3]);

/* Rotates the eye about the target by angles in radians (yaw right, pitch up). */
void nnxr_camera_orbit(nnxr_camera *c, float dyaw, float dpitch);
/* Turns the view about the eye (the target moves). */
void nnxr_camera_look(nnxr_camera *c, float dyaw, float dpitch);
/* Moves eye and target together along the camera's right, up and forward axes (world units). */
void nnxr_camera_move(nnxr_camera *c, float right, float up, float forward);
/* Multiplies the distance by `factor` (clamped to a sane range). */
void nnxr_camera_zoom(nnxr_camera *c, float factor);

/* The view over a width × height viewport at (x, y). */
void nnxr_camera_view(const nnxr_camera *c, int32_t x, int32_t y, uint32_t width,
                      uint32_t height, nnxr_view *view);

/* A stereo pair made from a mono view for the desktop and headless targets (an XR runtime
 * gives its own per-eye poses and asymmetric frusta): the viewport split into a left and a
 * right half, side by side; each eye moved by ipd/2 along the view's right axis (parallel
 * axes), its projection that of the half's aspect at the same vertical field of view.
 * out[0] is the left eye (index 0), out[1] the right (index 1). */
void nnxr_view_stereo(const nnxr_view *mono, float ipd, nnxr_view out[2]);

#endif
