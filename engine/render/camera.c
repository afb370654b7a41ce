/* render/camera.c — the desktop camera's orbit, look, move and zoom, and its view. */
#include "render/camera.h"

#include <math.h>
#include <string.h>

#include "render/offscreen.h"

#define PITCH_LIMIT 1.5607963f /* π/2 − 0.01: never straight up, where yaw is undefined */

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

static void set_from(nnxr_camera *c, const float eye[3], const float target[3])
{
    float d[3] = {eye[0] - target[0], eye[1] - target[1], eye[2] - target[2]};
    float len = sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (!(len > 1e-6f) || !isfinite(len)) {
        d[0] = 0, d[1] = 0, d[2] = 1;
        len = 1;
    }
    memcpy(c->target, target, sizeof c->target);
    c->distance = len;
    c->pitch = clampf(asinf(clampf(d[1] / len, -1, 1)), -PITCH_LIMIT, PITCH_LIMIT);
    c->yaw = atan2f(d[0], d[2]);
}

void nnxr_camera_init(nnxr_camera *c, const float eye[3], const float target[3], float fov)
{
    memset(c, 0, sizeof *c);
    c->fov = fov;
    memcpy(c->home, eye, sizeof c->home);
    memcpy(c->home_target, target, sizeof c->home_target);
    set_from(c, eye, target);
}

void nnxr_camera_reset(nnxr_camera *c) { set_from(c, c->home, c->home_target); }

/* Direction from the target to the eye. */
static void back_dir(const nnxr_camera *c, float out[3])
{
    out[0] = cosf(c->pitch) * sinf(c->yaw);
    out[1] = sinf(c->pitch);
    out[2] = cosf(c->pitch) * cosf(c->yaw);
}

void nnxr_camera_eye(const nnxr_camera *c, float eye[3])
{
    float b[3];
    back_dir(c, b);
    for (int i = 0; i < 3; i++)
        eye[i] = c->target[i] + c->distance * b[i];
}

void nnxr_camera_axes(const nnxr_camera *c, float forward[3], float right[3], float up[3])
{
    float b[3];
    back_dir(c, b);
    float f[3] = {-b[0], -b[1], -b[2]};
    /* right = forward × world up, normalised (pitch is kept off the poles) */
    float r[3] = {-f[2], 0.0f, f[0]};
    float rl = sqrtf(r[0] * r[0] + r[2] * r[2]);
    r[0] /= rl, r[2] /= rl;
    float u[3] = {r[1] * f[2] - r[2] * f[1], r[2] * f[0] - r[0] * f[2], r[0] * f[1] - r[1] * f[0]};
    if (forward)
        memcpy(forward, f, sizeof f);
    if (right)
        memcpy(right, r, sizeof r);
    if (up)
        memcpy(up, u, sizeof u);
}

void nnxr_camera_orbit(nnxr_camera *c, float dyaw, float dpitch)
{
    /* Dragging right moves the eye to the left around the target, so the scene turns with
     * the hand. */
    c->yaw -= dyaw;
    c->pitch = clampf(c->pitch + dpitch, -PITCH_LIMIT, PITCH_LIMIT);
}

void nnxr_camera_look(nnxr_camera *c, float dyaw, float dpitch)
{
    float eye[3];
    nnxr_camera_eye(c, eye);
    c->yaw -= dyaw;
    c->pitch = clampf(c->pitch - dpitch, -PITCH_LIMIT, PITCH_LIMIT);
    float b[3];
    back_dir(c, b);
    for (int i = 0; i < 3; i++)
        c->target[i] = eye[i] - c->distance * b[i];
}

void nnxr_camera_move(nnxr_camera *c, float right, float up, float forward)
{
    float f[3], r[3], u[3];
    nnxr_camera_axes(c, f, r, u);
    for (int i = 0; i < 3; i++)
        c->target[i] += right * r[i] + up * u[i] + forward * f[i];
}

void nnxr_camera_zoom(nnxr_camera *c, float factor)
{
    if (factor > 0 && isfinite(factor))
        c->distance = clampf(c->distance * factor, 0.05f, 1000.0f);
}

void nnxr_camera_view(const nnxr_camera *c, int32_t x, int32_t y, uint32_t width,
                      uint32_t height, nnxr_view *view)
{
    float eye[3];
    nnxr_camera_eye(c, eye);
    nnxr_view_look_at(view, eye, c->target, c->fov, width, height);
    view->x = x;
    view->y = y;
}

void nnxr_view_stereo(const nnxr_view *mono, float ipd, nnxr_view out[2])
{
    uint32_t left_w = mono->width / 2 ? mono->width / 2 : 1;
    uint32_t right_w = mono->width > left_w ? mono->width - left_w : 1;
    for (int e = 0; e < 2; e++) {
        nnxr_view *v = &out[e];
        *v = *mono;
        v->index = (uint32_t)e;
        v->x = mono->x + (e ? (int32_t)left_w : 0);
        v->width = e ? right_w : left_w;
        /* world → eye is column-major: row 0 of the rotation is the right axis in world
         * space; moving the eye by +d along it subtracts d from eye-space x. */
        float d = (e ? 0.5f : -0.5f) * ipd;
        v->view[12] -= d;
        for (int k = 0; k < 3; k++)
            v->eye[k] = mono->eye[k] + d * mono->view[k * 4];
        /* proj[0][0] = f / aspect: the half's aspect. */
        float mono_aspect = (float)mono->width / (float)(mono->height ? mono->height : 1);
        float eye_aspect = (float)v->width / (float)(v->height ? v->height : 1);
        v->proj[0] *= mono_aspect / eye_aspect;
    }
}
