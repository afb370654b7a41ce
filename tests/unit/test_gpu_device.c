/* tests/unit/test_gpu_device.c — device choice and validation: the ranking and the override
 * rules on fake device lists; override by index and by name on the real device; the error for
 * an unknown device; the device listing; a deliberately invalid Vulkan call is counted by the
 * messenger (so the zero-message checks of the other tests can fail); a missing validation
 * layer is a clear error. */
#include <ctype.h>

#include "test_gpu_util.h"

static nnxr_gpu_candidate cand(const char *name, VkPhysicalDeviceType type, uint32_t api,
                               bool compute, bool gfx, VkDeviceSize mem)
{
    nnxr_gpu_candidate c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", name);
    c.type = type;
    c.api_version = api;
    c.has_compute = compute;
    c.has_graphics_compute = gfx;
    c.device_local_bytes = mem;
    return c;
}

#define V12 VK_API_VERSION_1_2
#define V13 VK_API_VERSION_1_3
#define V11 VK_API_VERSION_1_1
#define GiB ((VkDeviceSize)1 << 30)

static void ranking(void)
{
    nnxr_gpu_candidate disc = cand("GeForce RTX 4090", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, V13,
                                   true, true, 24 * GiB);
    nnxr_gpu_candidate integ = cand("Intel(R) UHD Graphics 770",
                                    VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, V13, true, true, GiB);
    nnxr_gpu_candidate virt = cand("virtio-gpu", VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU, V12, true,
                                   true, GiB);
    nnxr_gpu_candidate cpu = cand("llvmpipe (LLVM 15.0.6, 256 bits)", VK_PHYSICAL_DEVICE_TYPE_CPU,
                                  V13, true, true, 8 * GiB);
    nnxr_gpu_candidate other = cand("mystery", VK_PHYSICAL_DEVICE_TYPE_OTHER, V12, true, true,
                                    GiB);
    CHECK(nnxr_gpu_device_rank(&disc, false) > nnxr_gpu_device_rank(&integ, false));
    CHECK(nnxr_gpu_device_rank(&integ, false) > nnxr_gpu_device_rank(&virt, false));
    CHECK(nnxr_gpu_device_rank(&virt, false) > nnxr_gpu_device_rank(&cpu, false));
    CHECK(nnxr_gpu_device_rank(&cpu, false) > nnxr_gpu_device_rank(&other, false));
    CHECK(nnxr_gpu_device_rank(&other, false) >= 0);

    nnxr_gpu_candidate old = cand("old discrete", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, V11,
                                  true, true, 8 * GiB);
    nnxr_gpu_candidate nocompute = cand("display only", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU,
                                        V13, false, false, 8 * GiB);
    nnxr_gpu_candidate computeonly = cand("Compute Accelerator",
                                          VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, V13, true, false,
                                          64 * GiB);
    CHECK(nnxr_gpu_device_rank(&old, false) < 0);
    CHECK(nnxr_gpu_device_rank(&nocompute, false) < 0);
    CHECK(nnxr_gpu_device_rank(&computeonly, false) > 0);
    CHECK(nnxr_gpu_device_rank(&computeonly, true) < 0);

    nnxr_error err;
    uint32_t got = 99;
    /* Order of enumeration must not matter: cpu first, discrete last. */
    nnxr_gpu_candidate list[] = {cpu, other, virt, integ, old, disc};
    CHECK(nnxr_gpu_choose_device(list, 6, NULL, false, &got, &err) && got == 5);
    CHECK(nnxr_gpu_choose_device(list, 6, "", false, &got, &err) && got == 5);
    CHECK(nnxr_gpu_choose_device(list, 5, NULL, false, &got, &err) && got == 3);
    CHECK(nnxr_gpu_choose_device(list, 3, NULL, false, &got, &err) && got == 2);
    CHECK(nnxr_gpu_choose_device(list, 1, NULL, false, &got, &err) && got == 0);

    /* A compute-only discrete card wins for compute, loses when graphics is needed. */
    nnxr_gpu_candidate mixed[] = {integ, computeonly};
    CHECK(nnxr_gpu_choose_device(mixed, 2, NULL, false, &got, &err) && got == 1);
    CHECK(nnxr_gpu_choose_device(mixed, 2, NULL, true, &got, &err) && got == 0);

    /* Ties: more device-local memory, then the earlier index. */
    nnxr_gpu_candidate small = disc, big = disc, same = disc;
    small.device_local_bytes = 8 * GiB;
    big.device_local_bytes = 16 * GiB;
    nnxr_gpu_candidate ties[] = {small, big, same};
    CHECK(nnxr_gpu_choose_device(ties, 3, NULL, false, &got, &err) && got == 2);
    nnxr_gpu_candidate ties2[] = {small, big, big};
    CHECK(nnxr_gpu_choose_device(ties2, 3, NULL, false, &got, &err) && got == 1);

    /* Overrides: an index, a case-insensitive part of the name. */
    CHECK(nnxr_gpu_choose_device(list, 6, "0", false, &got, &err) && got == 0);
    CHECK(nnxr_gpu_choose_device(list, 6, "3", false, &got, &err) && got == 3);
    CHECK(nnxr_gpu_choose_device(list, 6, "LLVMpipe", false, &got, &err) && got == 0);
    CHECK(nnxr_gpu_choose_device(list, 6, "uhd graphics", false, &got, &err) && got == 3);
    /* "old" matches only "old discrete", which is unusable: a clear refusal. */
    CHECK(!nnxr_gpu_choose_device(list, 6, "old", false, &got, &err));
    CHECK_CONTAINS(err.message, "old discrete");
    CHECK_CONTAINS(err.message, "Vulkan below 1.2");
    CHECK(!nnxr_gpu_choose_device(list, 6, "4", false, &got, &err));
    CHECK_CONTAINS(err.message, "cannot be used");
    CHECK(!nnxr_gpu_choose_device(mixed, 2, "1", true, &got, &err));
    CHECK_CONTAINS(err.message, "graphics and compute");
    /* Unknown: the message lists every device. */
    CHECK(!nnxr_gpu_choose_device(list, 6, "radeon", false, &got, &err));
    CHECK_CONTAINS(err.message, "\"radeon\"");
    for (int i = 0; i < 6; i++)
        CHECK_CONTAINS(err.message, list[i].name);
    CHECK(!nnxr_gpu_choose_device(list, 6, "17", false, &got, &err));
    CHECK_CONTAINS(err.message, "no device has that index");
    CHECK_CONTAINS(err.message, "5: GeForce RTX 4090 (discrete)");
    CHECK(!nnxr_gpu_choose_device(list, 0, NULL, false, &got, &err));
    CHECK_CONTAINS(err.message, "no Vulkan device");
    nnxr_gpu_candidate bad[] = {old, nocompute};
    CHECK(!nnxr_gpu_choose_device(bad, 2, NULL, false, &got, &err));
    CHECK_CONTAINS(err.message, "no usable Vulkan device");
}

static void real_devices(void)
{
    nnxr_gpu_device_report *reps = NULL;
    uint32_t n = 0;
    TG_OK(nnxr_gpu_list_devices(&reps, &n, &e_));
    CHECK(n >= 1);
    uint32_t defaults = 0, def = 0;
    for (uint32_t i = 0; i < n; i++) {
        CHECK(reps[i].index == i);
        CHECK(strcmp(reps[i].candidate.name, reps[i].properties.deviceName) == 0);
        if (reps[i].is_default) {
            defaults++;
            def = i;
        }
    }
    CHECK(defaults == 1);

    /* Default, by index, by name (changed case, a part of it): the same device each time. */
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    CHECK(nnxr_gpu_get_info(gpu)->device_index == def);
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    snprintf(name, sizeof name, "%s", nnxr_gpu_get_info(gpu)->properties.deviceName);
    tg_close(gpu);

    char idx[16];
    snprintf(idx, sizeof idx, "%u", def);
    gpu = tg_open((nnxr_gpu_options){.device = idx});
    CHECK(nnxr_gpu_get_info(gpu)->device_index == def);
    tg_close(gpu);

    /* A queue that does graphics and compute, when asked. */
    gpu = tg_open((nnxr_gpu_options){.graphics = true});
    CHECK(nnxr_gpu_get_info(gpu)->queue_graphics);
    tg_close(gpu);

    char part[8] = {0};
    for (int i = 0; i < 6 && name[i]; i++)
        part[i] = (char)toupper((unsigned char)name[i]);
    gpu = tg_open((nnxr_gpu_options){.device = part});
    CHECK(strcmp(nnxr_gpu_get_info(gpu)->properties.deviceName, name) == 0);
    tg_close(gpu);

    nnxr_gpu_options o = {.validate = true, .device = "no-such-gpu-anywhere"};
    nnxr_error err;
    gpu = NULL;
    CHECK(!nnxr_gpu_create(&o, &gpu, &err) && gpu == NULL);
    CHECK_CONTAINS(err.message, "no-such-gpu-anywhere");
    CHECK_CONTAINS(err.message, name);
    o.device = "999";
    CHECK(!nnxr_gpu_create(&o, &gpu, &err));
    CHECK_CONTAINS(err.message, "no device has that index");
    free(reps);
}

/* The messenger counts a real validation error: a buffer with no usage flags. */
static void validation_counts(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    CHECK(info->validation);
    CHECK(nnxr_gpu_validation_count(gpu) == 0);
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = 64,
                              /* invalid: VUID-VkBufferCreateInfo-usage-requiredbitmask */
                              .usage = 0,
                              .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkBuffer b = VK_NULL_HANDLE;
    fprintf(stderr, "(a validation error about buffer usage is expected next)\n");
    VkResult res = vkCreateBuffer(info->device, &bci, NULL, &b);
    if (res == VK_SUCCESS)
        vkDestroyBuffer(info->device, b, NULL);
    CHECKF(nnxr_gpu_validation_count(gpu) > 0, "the invalid call was not reported");
    nnxr_gpu_destroy(gpu);

    /* A buffer left alive at teardown is counted too (its small host struct leaks on
     * purpose). */
    gpu = tg_open((nnxr_gpu_options){0});
    nnxr_buffer *left = tg_buffer(gpu, "left-behind", NNXR_BUFFER_DEVICE, 64);
    (void)left;
    CHECK(nnxr_gpu_validation_count(gpu) == 0);
    fprintf(stderr, "(validation errors about a buffer not destroyed are expected next)\n");
    CHECK(nnxr_gpu_destroy_counted(gpu) > 0);
}

/* Validation requested while the layer cannot be found: a clear error. VK_LAYER_PATH replaces
 * the loader's search path for explicit layers. */
static void missing_layer(void)
{
    const char *old = getenv("VK_LAYER_PATH");
    char *saved = old ? strdup(old) : NULL;
    setenv("VK_LAYER_PATH", "/nonexistent/nnxr-test", 1);
    nnxr_gpu *gpu = NULL;
    nnxr_error err;
    nnxr_gpu_options o = {.validate = true};
    CHECK(!nnxr_gpu_create(&o, &gpu, &err));
    CHECK_CONTAINS(err.message, "VK_LAYER_KHRONOS_validation");
    CHECK_CONTAINS(err.message, "not installed");
    if (saved) {
        setenv("VK_LAYER_PATH", saved, 1);
        free(saved);
    } else {
        unsetenv("VK_LAYER_PATH");
    }
}

int main(void)
{
    ranking();
    real_devices();
    validation_counts();
    missing_layer();
    return check_finish();
}
