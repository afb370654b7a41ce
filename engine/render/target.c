/* render/target.c — the frame loop's one interface over the offscreen and window targets. */
#include "render/target.h"

#include "core/status.h"
#include "render/camera.h"

void nnxr_target_info(const nnxr_target *t, nnxr_render_target_info *info)
{
    if (t->kind == NNXR_TARGET_WINDOW)
        nnxr_window_info(t->window, info);
    else
        nnxr_offscreen_info(t->offscreen, info);
    info->view_count = t->stereo ? 2 : 1;
}

uint32_t nnxr_target_views(const nnxr_target *t, nnxr_view *views, uint32_t max)
{
    if (max == 0)
        return 0;
    nnxr_view mono;
    if (t->kind == NNXR_TARGET_WINDOW)
        nnxr_window_view(t->window, &mono);
    else
        mono = t->fixed_view;
    if (!t->stereo || max < 2) {
        views[0] = mono;
        return 1;
    }
    nnxr_view_stereo(&mono, t->ipd, views);
    return 2;
}

void nnxr_target_set_view(VkCommandBuffer cmd, const nnxr_view *view)
{
    VkViewport vp = {(float)view->x, (float)view->y, (float)view->width, (float)view->height,
                     0.0f, 1.0f};
    VkRect2D sc = {{view->x, view->y}, {view->width, view->height}};
    vkCmdSetViewport(cmd, 0, 1, &vp);
    vkCmdSetScissor(cmd, 0, 1, &sc);
}

nnxr_window_frame nnxr_target_acquire(nnxr_target *t, nnxr_error *err)
{
    return t->kind == NNXR_TARGET_WINDOW ? nnxr_window_acquire(t->window, err)
                                         : NNXR_WINDOW_READY;
}

void nnxr_target_begin(nnxr_target *t, VkCommandBuffer cmd)
{
    if (t->kind == NNXR_TARGET_WINDOW)
        nnxr_window_begin(t->window, cmd);
    else
        nnxr_offscreen_begin(t->offscreen, cmd);
}

void nnxr_target_end(nnxr_target *t, VkCommandBuffer cmd, bool readback)
{
    if (t->kind == NNXR_TARGET_WINDOW)
        nnxr_window_end(t->window, cmd, readback);
    else
        nnxr_offscreen_end(t->offscreen, cmd, readback);
}

bool nnxr_target_submit(nnxr_target *t, nnxr_recorder *rec, bool *resized, nnxr_error *err)
{
    *resized = false;
    if (t->kind == NNXR_TARGET_WINDOW)
        return nnxr_window_present(t->window, rec, resized, err);
    return nnxr_recorder_run(rec, err);
}

bool nnxr_target_can_read(const nnxr_target *t)
{
    return t->kind == NNXR_TARGET_OFFSCREEN || nnxr_window_can_read(t->window);
}

bool nnxr_target_pixels(nnxr_target *t, uint8_t *rgba, nnxr_error *err)
{
    if (t->kind == NNXR_TARGET_WINDOW)
        return nnxr_window_pixels(t->window, rgba, err);
    return nnxr_offscreen_pixels(t->offscreen, rgba, err);
}

void nnxr_target_destroy(nnxr_target *t)
{
    nnxr_offscreen_destroy(t->offscreen);
    nnxr_window_destroy(t->window);
    t->offscreen = NULL;
    t->window = NULL;
}
