/* render/window.c — the desktop target (render/window.h): SDL2 loaded with dlopen, the window
 * and its input, the Vulkan surface and swapchain (FIFO), the render pass with depth and
 * optional MSAA resolved into the swapchain image, swapchain re-creation on resize, present,
 * and the screenshot readback. */
#include "render/window.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <SDL2/SDL.h>
#include <SDL2/SDL_vulkan.h>

#include "core/log.h"
#include "core/status.h"
#include "render/attachments.h"

/* The SDL functions used, resolved from the library at run time. */
typedef struct sdl_api {
    void *lib;
    __typeof__(&SDL_Init) Init;
    __typeof__(&SDL_Quit) Quit;
    __typeof__(&SDL_GetError) GetError;
    __typeof__(&SDL_CreateWindow) CreateWindow;
    __typeof__(&SDL_DestroyWindow) DestroyWindow;
    __typeof__(&SDL_PollEvent) PollEvent;
    __typeof__(&SDL_GetKeyboardState) GetKeyboardState;
    __typeof__(&SDL_GetModState) GetModState;
    __typeof__(&SDL_Vulkan_GetInstanceExtensions) Vulkan_GetInstanceExtensions;
    __typeof__(&SDL_Vulkan_CreateSurface) Vulkan_CreateSurface;
    __typeof__(&SDL_Vulkan_GetDrawableSize) Vulkan_GetDrawableSize;
} sdl_api;

static bool sdl_load(sdl_api *s, char *why, size_t n)
{
    memset(s, 0, sizeof *s);
    s->lib = dlopen("libSDL2-2.0.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!s->lib) {
        snprintf(why, n, "SDL2 is not installed (libSDL2-2.0.so.0: %s)", dlerror());
        return false;
    }
    struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&s->Init, "SDL_Init"},
        {(void **)&s->Quit, "SDL_Quit"},
        {(void **)&s->GetError, "SDL_GetError"},
        {(void **)&s->CreateWindow, "SDL_CreateWindow"},
        {(void **)&s->DestroyWindow, "SDL_DestroyWindow"},
        {(void **)&s->PollEvent, "SDL_PollEvent"},
        {(void **)&s->GetKeyboardState, "SDL_GetKeyboardState"},
        {(void **)&s->GetModState, "SDL_GetModState"},
        {(void **)&s->Vulkan_GetInstanceExtensions, "SDL_Vulkan_GetInstanceExtensions"},
        {(void **)&s->Vulkan_CreateSurface, "SDL_Vulkan_CreateSurface"},
        {(void **)&s->Vulkan_GetDrawableSize, "SDL_Vulkan_GetDrawableSize"},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        *syms[i].slot = dlsym(s->lib, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(why, n, "SDL2 lacks %s (too old?)", syms[i].name);
            dlclose(s->lib);
            s->lib = NULL;
            return false;
        }
    }
    return true;
}

static void sdl_unload(sdl_api *s)
{
    if (s->lib)
        dlclose(s->lib);
    s->lib = NULL;
}


#define MAX_IMAGES 8
#define MAX_EXTENSIONS 8

struct nnxr_window {
    sdl_api sdl;
    bool sdl_started;
    SDL_Window *window;
    const char *extensions[MAX_EXTENSIONS];
    uint32_t extension_count;
    nnxr_camera camera;
    int drag;            /* SDL button held: 0 none */
    bool resize_pending;

    nnxr_gpu *gpu;
    const nnxr_gpu_info *info;
    VkDevice device;
    VkSurfaceKHR surface;
    VkSwapchainKHR swapchain;
    VkFormat color_format, depth_format;
    VkSampleCountFlagBits samples;
    VkExtent2D extent;
    bool can_read;
    uint32_t image_count;
    VkImage images[MAX_IMAGES];
    VkImageView views[MAX_IMAGES];
    VkFramebuffer framebuffers[MAX_IMAGES];
    VkSemaphore render_done[MAX_IMAGES];
    VkSemaphore acquired;
    nnxr_attachment msaa, depth;
    VkRenderPass render_pass;
    float clear[4];
    uint32_t current;
    bool have_image;
    bool read_pending;
    nnxr_buffer *readback;
    VkExtent2D read_extent;
};

bool nnxr_window_available(char *why, size_t why_size)
{
    const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
    if ((!x || !*x) && (!wl || !*wl)) {
        snprintf(why, why_size, "no display (DISPLAY and WAYLAND_DISPLAY are unset)");
        return false;
    }
    sdl_api s;
    if (!sdl_load(&s, why, why_size))
        return false;
    bool ok = s.Init(SDL_INIT_VIDEO) == 0;
    if (!ok)
        snprintf(why, why_size, "SDL cannot start video: %s", s.GetError());
    s.Quit();
    sdl_unload(&s);
    return ok;
}

bool nnxr_window_open(const char *title, uint32_t width, uint32_t height, const float eye[3],
                      const float target[3], float fov, nnxr_window **out, nnxr_error *err)
{
    nnxr_window *w = calloc(1, sizeof *w);
    if (!w)
        return nnxr_fail(err, "window: out of memory");
    char why[512];
    if (!sdl_load(&w->sdl, why, sizeof why)) {
        free(w);
        return nnxr_fail(err, "window: %s", why);
    }
    if (w->sdl.Init(SDL_INIT_VIDEO) != 0) {
        nnxr_fail(err, "window: SDL cannot start video: %s", w->sdl.GetError());
        nnxr_window_destroy(w);
        return false;
    }
    w->sdl_started = true;
    w->window = w->sdl.CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
                                    (int)width, (int)height,
                                    SDL_WINDOW_VULKAN | SDL_WINDOW_RESIZABLE | SDL_WINDOW_SHOWN);
    if (!w->window) {
        nnxr_fail(err, "window: SDL_CreateWindow %ux%u failed: %s", width, height,
                  w->sdl.GetError());
        nnxr_window_destroy(w);
        return false;
    }
    unsigned n = MAX_EXTENSIONS;
    if (!w->sdl.Vulkan_GetInstanceExtensions(w->window, &n, w->extensions)) {
        nnxr_fail(err, "window: SDL lists no Vulkan surface extensions: %s", w->sdl.GetError());
        nnxr_window_destroy(w);
        return false;
    }
    w->extension_count = n;
    nnxr_camera_init(&w->camera, eye, target, fov);
    *out = w;
    return true;
}

void nnxr_window_instance_extensions(const nnxr_window *w, const char *const **names,
                                     uint32_t *count)
{
    *names = w->extensions;
    *count = w->extension_count;
}

/* ---- images and the swapchain ------------------------------------------------------------ */

static bool make_image(nnxr_window *w, VkFormat format, VkSampleCountFlagBits samples,
                       VkImageUsageFlags usage, VkImageAspectFlags aspect,
                       nnxr_attachment *out, nnxr_error *err)
{
    return nnxr_attachment_create(w->gpu, w->extent.width, w->extent.height, format, samples,
                                  usage, aspect, "window", out, err);
}

/* Everything that depends on the swapchain's size (not the swapchain itself). */
static void free_sized(nnxr_window *w)
{
    for (uint32_t i = 0; i < w->image_count; i++) {
        if (w->framebuffers[i])
            vkDestroyFramebuffer(w->device, w->framebuffers[i], NULL);
        if (w->views[i])
            vkDestroyImageView(w->device, w->views[i], NULL);
        w->framebuffers[i] = VK_NULL_HANDLE;
        w->views[i] = VK_NULL_HANDLE;
    }
    nnxr_attachment_free(w->device, &w->msaa);
    nnxr_attachment_free(w->device, &w->depth);
    nnxr_buffer_destroy(w->gpu, w->readback);
    w->readback = NULL;
}

static bool make_render_pass(nnxr_window *w, nnxr_error *err)
{
    return nnxr_target_render_pass(w->device, w->color_format, w->depth_format, w->samples,
                                   VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, "window", &w->render_pass,
                                   err);
}

/* (Re)makes the swapchain at the window's drawable size and everything sized by it. */
static bool make_swapchain(nnxr_window *w, nnxr_error *err)
{
    VkPhysicalDevice pd = w->info->physical_device;
    VkSurfaceCapabilitiesKHR caps;
    VkResult r = vkGetPhysicalDeviceSurfaceCapabilitiesKHR(pd, w->surface, &caps);
    if (r != VK_SUCCESS)
        return nnxr_fail(err, "window: cannot query the surface (%d)", r);
    int dw = 0, dh = 0;
    w->sdl.Vulkan_GetDrawableSize(w->window, &dw, &dh);
    VkExtent2D e = caps.currentExtent;
    if (e.width == UINT32_MAX) {
        e.width = (uint32_t)(dw > 0 ? dw : 1);
        e.height = (uint32_t)(dh > 0 ? dh : 1);
    }
    if (e.width < caps.minImageExtent.width)
        e.width = caps.minImageExtent.width;
    if (e.height < caps.minImageExtent.height)
        e.height = caps.minImageExtent.height;
    if (e.width > caps.maxImageExtent.width)
        e.width = caps.maxImageExtent.width;
    if (e.height > caps.maxImageExtent.height)
        e.height = caps.maxImageExtent.height;
    if (e.width == 0 || e.height == 0) {
        w->extent = e;
        return true; /* minimised: no swapchain until it has a size again */
    }
    uint32_t count = caps.minImageCount + 1;
    if (caps.maxImageCount && count > caps.maxImageCount)
        count = caps.maxImageCount;
    if (count > MAX_IMAGES)
        count = MAX_IMAGES;
    w->can_read = (caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT) != 0;
    VkSwapchainKHR old = w->swapchain;
    VkSwapchainCreateInfoKHR si = {
        .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
        .surface = w->surface,
        .minImageCount = count,
        .imageFormat = w->color_format,
        .imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR,
        .imageExtent = e,
        .imageArrayLayers = 1,
        .imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                      (w->can_read ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0),
        .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .preTransform = caps.currentTransform,
        .compositeAlpha = (caps.supportedCompositeAlpha & VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR)
                              ? VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR
                              : (VkCompositeAlphaFlagBitsKHR)caps.supportedCompositeAlpha,
        .presentMode = VK_PRESENT_MODE_FIFO_KHR, /* vsync; always supported */
        .clipped = VK_TRUE,
        .oldSwapchain = old,
    };
    r = vkCreateSwapchainKHR(w->device, &si, NULL, &w->swapchain);
    if (old)
        vkDestroySwapchainKHR(w->device, old, NULL);
    if (r != VK_SUCCESS) {
        w->swapchain = VK_NULL_HANDLE;
        return nnxr_fail(err, "window: vkCreateSwapchainKHR %ux%u failed (%d)", e.width,
                         e.height, r);
    }
    w->extent = e;
    uint32_t n = 0;
    vkGetSwapchainImagesKHR(w->device, w->swapchain, &n, NULL);
    if (n > MAX_IMAGES)
        n = MAX_IMAGES;
    vkGetSwapchainImagesKHR(w->device, w->swapchain, &n, w->images);
    w->image_count = n;
    bool msaa = w->samples != VK_SAMPLE_COUNT_1_BIT;
    if (msaa && !make_image(w, w->color_format, w->samples,
                            VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT |
                                VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT,
                            VK_IMAGE_ASPECT_COLOR_BIT, &w->msaa, err))
        return false;
    if (!make_image(w, w->depth_format, w->samples, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
                    VK_IMAGE_ASPECT_DEPTH_BIT, &w->depth, err))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        VkImageViewCreateInfo vi = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
                                    .image = w->images[i], .viewType = VK_IMAGE_VIEW_TYPE_2D,
                                    .format = w->color_format,
                                    .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
        if ((r = vkCreateImageView(w->device, &vi, NULL, &w->views[i])) != VK_SUCCESS)
            return nnxr_fail(err, "window: vkCreateImageView failed (%d)", r);
        VkImageView att[3] = {msaa ? w->msaa.view : w->views[i], w->depth.view, w->views[i]};
        VkFramebufferCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO,
                                      .renderPass = w->render_pass,
                                      .attachmentCount = msaa ? 3 : 2, .pAttachments = att,
                                      .width = e.width, .height = e.height, .layers = 1};
        if ((r = vkCreateFramebuffer(w->device, &fi, NULL, &w->framebuffers[i])) != VK_SUCCESS)
            return nnxr_fail(err, "window: vkCreateFramebuffer failed (%d)", r);
        if (!w->render_done[i]) {
            VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
            if (vkCreateSemaphore(w->device, &sci, NULL, &w->render_done[i]) != VK_SUCCESS)
                return nnxr_fail(err, "window: vkCreateSemaphore failed");
        }
    }
    if (w->can_read) {
        nnxr_buffer_desc bd = {.name = "window readback", .kind = NNXR_BUFFER_READBACK,
                               .size = (VkDeviceSize)e.width * e.height * 4};
        if (!nnxr_buffer_create(w->gpu, &bd, &w->readback, err))
            return false;
    }
    return true;
}

static bool remake(nnxr_window *w, nnxr_error *err)
{
    nnxr_gpu_wait_idle(w->gpu, NULL);
    free_sized(w);
    w->read_pending = false;
    return make_swapchain(w, err);
}

bool nnxr_window_attach(nnxr_window *w, nnxr_gpu *gpu, uint32_t samples,
                        const float clear_rgb[3], nnxr_error *err)
{
    w->gpu = gpu;
    w->info = nnxr_gpu_get_info(gpu);
    w->device = w->info->device;
    for (int i = 0; i < 3; i++)
        w->clear[i] = clear_rgb[i];
    w->clear[3] = 1.0f;
    if (!w->sdl.Vulkan_CreateSurface(w->window, w->info->instance, &w->surface))
        return nnxr_fail(err, "window: SDL cannot make a Vulkan surface: %s",
                         w->sdl.GetError());
    VkBool32 present = VK_FALSE;
    vkGetPhysicalDeviceSurfaceSupportKHR(w->info->physical_device, w->info->queue_family,
                                         w->surface, &present);
    if (!present)
        return nnxr_fail(err, "window: the device '%s' cannot present to this window from "
                         "its queue family %u", w->info->properties.deviceName,
                         w->info->queue_family);
    uint32_t nf = 0;
    vkGetPhysicalDeviceSurfaceFormatsKHR(w->info->physical_device, w->surface, &nf, NULL);
    VkSurfaceFormatKHR formats[64];
    if (nf > 64)
        nf = 64;
    vkGetPhysicalDeviceSurfaceFormatsKHR(w->info->physical_device, w->surface, &nf, formats);
    if (!nf)
        return nnxr_fail(err, "window: the surface offers no formats");
    w->color_format = formats[0].format;
    for (uint32_t i = 0; i < nf; i++)
        if ((formats[i].format == VK_FORMAT_B8G8R8A8_SRGB ||
             formats[i].format == VK_FORMAT_R8G8B8A8_SRGB) &&
            formats[i].colorSpace == VK_COLOR_SPACE_SRGB_NONLINEAR_KHR) {
            w->color_format = formats[i].format;
            break;
        }
    w->depth_format = nnxr_pick_depth_format(w->info->physical_device);
    if (!w->depth_format)
        return nnxr_fail(err, "window: the device has no depth format");
    w->samples = nnxr_pick_samples(&w->info->properties.limits, samples ? samples : 1);
    VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    if (vkCreateSemaphore(w->device, &sci, NULL, &w->acquired) != VK_SUCCESS)
        return nnxr_fail(err, "window: vkCreateSemaphore failed");
    return make_render_pass(w, err) && make_swapchain(w, err);
}

void nnxr_window_destroy(nnxr_window *w)
{
    if (!w)
        return;
    if (w->gpu) {
        nnxr_gpu_wait_idle(w->gpu, NULL);
        free_sized(w);
        for (uint32_t i = 0; i < MAX_IMAGES; i++)
            if (w->render_done[i])
                vkDestroySemaphore(w->device, w->render_done[i], NULL);
        if (w->acquired)
            vkDestroySemaphore(w->device, w->acquired, NULL);
        if (w->render_pass)
            vkDestroyRenderPass(w->device, w->render_pass, NULL);
        if (w->swapchain)
            vkDestroySwapchainKHR(w->device, w->swapchain, NULL);
        if (w->surface)
            vkDestroySurfaceKHR(w->info->instance, w->surface, NULL);
    }
    if (w->window)
        w->sdl.DestroyWindow(w->window);
    if (w->sdl_started)
        w->sdl.Quit();
    sdl_unload(&w->sdl);
    free(w);
}

void nnxr_window_info(const nnxr_window *w, nnxr_render_target_info *info)
{
    *info = (nnxr_render_target_info){
        .render_pass = w->render_pass,
        .color_format = w->color_format,
        .depth_format = w->depth_format,
        .samples = w->samples,
        .width = w->extent.width,
        .height = w->extent.height,
        .view_count = 1,
    };
}

bool nnxr_window_can_read(const nnxr_window *w) { return w->can_read && w->readback; }

/* ---- input ------------------------------------------------------------------------------- */

nnxr_camera *nnxr_window_camera(nnxr_window *w) { return &w->camera; }

void nnxr_window_view(const nnxr_window *w, nnxr_view *view)
{
    nnxr_camera_view(&w->camera, 0, 0, w->extent.width ? w->extent.width : 1,
                     w->extent.height ? w->extent.height : 1, view);
}

void nnxr_window_poll(nnxr_window *w, double dt, nnxr_window_input *in)
{
    memset(in, 0, sizeof *in);
    SDL_Event ev;
    float h = w->extent.height ? (float)w->extent.height : 1.0f;
    float rad_per_px = 3.14159265f / h;
    while (w->sdl.PollEvent(&ev)) {
        switch (ev.type) {
        case SDL_QUIT:
            in->quit = true;
            break;
        case SDL_WINDOWEVENT:
            if (ev.window.event == SDL_WINDOWEVENT_CLOSE)
                in->quit = true;
            else if (ev.window.event == SDL_WINDOWEVENT_SIZE_CHANGED ||
                     ev.window.event == SDL_WINDOWEVENT_RESIZED)
                w->resize_pending = true;
            break;
        case SDL_KEYDOWN:
            if (ev.key.repeat)
                break;
            if (ev.key.keysym.sym == SDLK_ESCAPE)
                in->quit = true;
            else if (ev.key.keysym.sym == SDLK_SPACE)
                in->toggle_pause = true;
            else if (ev.key.keysym.sym == SDLK_F12 || ev.key.keysym.sym == SDLK_p)
                in->screenshot = true;
            else if (ev.key.keysym.sym == SDLK_r)
                nnxr_camera_reset(&w->camera);
            break;
        case SDL_MOUSEBUTTONDOWN:
            if (!w->drag)
                w->drag = ev.button.button;
            break;
        case SDL_MOUSEBUTTONUP:
            if (w->drag == ev.button.button)
                w->drag = 0;
            break;
        case SDL_MOUSEMOTION: {
            float dx = (float)ev.motion.xrel, dy = (float)ev.motion.yrel;
            bool shift = (w->sdl.GetModState() & KMOD_SHIFT) != 0;
            if ((w->drag == SDL_BUTTON_LEFT && shift) || w->drag == SDL_BUTTON_MIDDLE) {
                float s = w->camera.distance * 2.0f * tanf(w->camera.fov * 0.00872665f) / h;
                nnxr_camera_move(&w->camera, -dx * s, dy * s, 0.0f);
            } else if (w->drag == SDL_BUTTON_LEFT) {
                nnxr_camera_orbit(&w->camera, dx * rad_per_px, dy * rad_per_px);
            } else if (w->drag == SDL_BUTTON_RIGHT) {
                nnxr_camera_look(&w->camera, dx * rad_per_px * 0.5f, -dy * rad_per_px * 0.5f);
            }
            break;
        }
        case SDL_MOUSEWHEEL:
            nnxr_camera_zoom(&w->camera, powf(0.9f, (float)ev.wheel.y));
            break;
        default:
            break;
        }
    }
    /* Held keys fly the camera at a speed proportional to its distance from the target. */
    const Uint8 *keys = w->sdl.GetKeyboardState(NULL);
    if (keys && dt > 0) {
        float speed = (float)dt * fmaxf(w->camera.distance, 0.5f) *
                      ((w->sdl.GetModState() & KMOD_SHIFT) ? 4.0f : 1.0f);
        float f = (float)(keys[SDL_SCANCODE_W] - keys[SDL_SCANCODE_S]);
        float r = (float)(keys[SDL_SCANCODE_D] - keys[SDL_SCANCODE_A]);
        float u = (float)(keys[SDL_SCANCODE_E] - keys[SDL_SCANCODE_Q]);
        if (f || r || u)
            nnxr_camera_move(&w->camera, r * speed, u * speed, f * speed);
    }
}

/* ---- frames ------------------------------------------------------------------------------ */

nnxr_window_frame nnxr_window_acquire(nnxr_window *w, nnxr_error *err)
{
    w->have_image = false;
    if (w->resize_pending) {
        w->resize_pending = false;
        int dw = 0, dh = 0;
        w->sdl.Vulkan_GetDrawableSize(w->window, &dw, &dh);
        if ((uint32_t)dw != w->extent.width || (uint32_t)dh != w->extent.height || !w->swapchain) {
            if (!remake(w, err))
                return NNXR_WINDOW_ERROR;
            return w->extent.width && w->extent.height ? NNXR_WINDOW_RESIZED : NNXR_WINDOW_SKIP;
        }
    }
    if (!w->swapchain || !w->extent.width || !w->extent.height) {
        w->resize_pending = true;
        return NNXR_WINDOW_SKIP;
    }
    VkResult r = vkAcquireNextImageKHR(w->device, w->swapchain, UINT64_MAX, w->acquired,
                                       VK_NULL_HANDLE, &w->current);
    if (r == VK_ERROR_OUT_OF_DATE_KHR) {
        if (!remake(w, err))
            return NNXR_WINDOW_ERROR;
        return NNXR_WINDOW_RESIZED;
    }
    if (r != VK_SUCCESS && r != VK_SUBOPTIMAL_KHR) {
        nnxr_fail(err, "window: vkAcquireNextImageKHR failed (%d)", r);
        return NNXR_WINDOW_ERROR;
    }
    w->have_image = true;
    return NNXR_WINDOW_READY;
}

void nnxr_window_begin(nnxr_window *w, VkCommandBuffer cmd)
{
    VkClearValue clears[2] = {
        {.color = {{w->clear[0], w->clear[1], w->clear[2], w->clear[3]}}},
        {.depthStencil = {1.0f, 0}},
    };
    VkRenderPassBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO,
        .renderPass = w->render_pass,
        .framebuffer = w->framebuffers[w->current],
        .renderArea = {{0, 0}, w->extent},
        .clearValueCount = 2,
        .pClearValues = clears,
    };
    vkCmdBeginRenderPass(cmd, &bi, VK_SUBPASS_CONTENTS_INLINE);
    VkViewport vp = {0, 0, (float)w->extent.width, (float)w->extent.height, 0.0f, 1.0f};
    VkRect2D sc = {{0, 0}, w->extent};
    vkCmdSetViewport(cmd, 0, 1, &vp);
    vkCmdSetScissor(cmd, 0, 1, &sc);
}

static void layout_barrier(VkCommandBuffer cmd, VkImage im, VkImageLayout from, VkImageLayout to,
                           VkAccessFlags src, VkAccessFlags dst)
{
    VkImageMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
                              .srcAccessMask = src, .dstAccessMask = dst,
                              .oldLayout = from, .newLayout = to,
                              .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .image = im,
                              .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                         VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 0, NULL, 0, NULL, 1, &b);
}

void nnxr_window_end(nnxr_window *w, VkCommandBuffer cmd, bool readback)
{
    vkCmdEndRenderPass(cmd);
    w->read_pending = false;
    if (!readback || !nnxr_window_can_read(w))
        return;
    VkImage im = w->images[w->current];
    layout_barrier(cmd, im, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                   VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT,
                   VK_ACCESS_TRANSFER_READ_BIT);
    VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                                .imageExtent = {w->extent.width, w->extent.height, 1}};
    vkCmdCopyImageToBuffer(cmd, im, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, w->readback->buffer, 1,
                           &region);
    layout_barrier(cmd, im, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                   VK_IMAGE_LAYOUT_PRESENT_SRC_KHR, VK_ACCESS_TRANSFER_READ_BIT, 0);
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    w->read_pending = true;
    w->read_extent = w->extent;
}

bool nnxr_window_present(nnxr_window *w, nnxr_recorder *rec, bool *resized, nnxr_error *err)
{
    *resized = false;
    if (!w->have_image)
        return nnxr_fail(err, "window: present without an acquired image");
    VkPipelineStageFlags stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    nnxr_submit_sync sync = {.wait_count = 1, .wait = &w->acquired, .wait_stages = &stage,
                             .signal_count = 1, .signal = &w->render_done[w->current]};
    if (!nnxr_recorder_submit(rec, &sync, err))
        return false;
    VkPresentInfoKHR pi = {.sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
                           .waitSemaphoreCount = 1,
                           .pWaitSemaphores = &w->render_done[w->current],
                           .swapchainCount = 1, .pSwapchains = &w->swapchain,
                           .pImageIndices = &w->current};
    VkResult r = vkQueuePresentKHR(w->info->queue, &pi);
    w->have_image = false;
    bool ok = nnxr_recorder_wait(rec, err);
    if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) {
        if (ok && !remake(w, err))
            return false;
        *resized = true;
    } else if (r != VK_SUCCESS) {
        return nnxr_fail(err, "window: vkQueuePresentKHR failed (%d)", r);
    }
    return ok;
}

bool nnxr_window_pixels(nnxr_window *w, uint8_t *rgba, nnxr_error *err)
{
    if (!w->read_pending)
        return nnxr_fail(err, "window: no image was read back (the swapchain of this surface "
                         "cannot be copied from, or the window was resized)");
    size_t n = (size_t)w->read_extent.width * w->read_extent.height;
    if (!nnxr_buffer_readback(w->gpu, w->readback, 0, rgba, (VkDeviceSize)n * 4, err))
        return false;
    if (w->color_format == VK_FORMAT_B8G8R8A8_SRGB || w->color_format == VK_FORMAT_B8G8R8A8_UNORM)
        for (size_t i = 0; i < n; i++) {
            uint8_t t = rgba[i * 4];
            rgba[i * 4] = rgba[i * 4 + 2];
            rgba[i * 4 + 2] = t;
        }
    return true;
}
