/* tests/unit/test_gpu_glsl.c — run-time GLSL and the "nnxr.gpu" service table as a plugin
 * sees it: a compute shader compiled from a string runs and gives the known answer (recorded
 * into the recorder's command buffer through the table, as a plugin's record_compute would);
 * a syntax error's message carries the compiler's line; an unsupported stage is refused. */
#include "test_gpu_util.h"

static const char *good_src =
    "#version 450\n"
    "layout(local_size_x = 32) in;\n"
    "layout(constant_id = 0) const float K = 1.0;\n"
    "layout(std430, binding = 0) readonly buffer In { float a[]; };\n"
    "layout(std430, binding = 1) buffer Out { float b[]; };\n"
    "layout(push_constant) uniform P { uint n; } pc;\n"
    "void main() {\n"
    "    uint i = gl_GlobalInvocationID.x;\n"
    "    if (i < pc.n) b[i] = a[i] * a[i] * K + b[i];\n"
    "}\n";

static const char *bad_src = "#version 450\n"
                             "layout(local_size_x = 32) in;\n"
                             "void main() {\n"
                             "    uint i = gl_GlobalInvocationID.x;\n"
                             "    float x = i +* 2.0;\n"
                             "}\n";

int main(void)
{
    nnxr_gpu *gpu = tg_open((nnxr_gpu_options){0});
    nnxr_gpu_api api;
    nnxr_gpu_fill_api(gpu, &api);
    CHECK(api.ctx == gpu && api.size == sizeof api);
    const nnxr_gpu_info *info = nnxr_gpu_get_info(gpu);
    CHECK(api.device(api.ctx) == info->device);
    CHECK(api.instance(api.ctx) == info->instance);
    CHECK(api.physical_device(api.ctx) == info->physical_device);
    CHECK(api.queue(api.ctx) == info->queue);
    CHECK(api.queue_family(api.ctx) == info->queue_family);
    CHECK(api.pipeline_cache(api.ctx) == info->pipeline_cache);
    CHECK(api.properties(api.ctx)->limits.maxStorageBufferRange ==
          info->properties.limits.maxStorageBufferRange);
    CHECK(api.memory_properties(api.ctx)->memoryTypeCount == info->memory.memoryTypeCount);
    CHECK(api.is_cpu(api.ctx) ==
          (info->properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU));
    CHECK(api.subgroup_size(api.ctx) == info->subgroup_size && info->subgroup_size > 0);

    uint32_t *words = NULL;
    size_t nwords = 0;
    TG_OK(api.compile_glsl(api.ctx, good_src, "square.comp", VK_SHADER_STAGE_COMPUTE_BIT, &words,
                           &nwords, &e_));
    CHECK(words && nwords > 5 && words[0] == 0x07230203u);

    nnxr_kernel *k = NULL;
    nnxr_spec_constant K = nnxr_spec_f32(0, 3.0f);
    nnxr_kernel_desc kd = {.name = "square", .code = words, .code_size = nwords * 4,
                           .buffer_count = 2, .written_mask = 2, .push_size = 4, .specs = &K,
                           .spec_count = 1};
    TG_OK(api.kernel_create(api.ctx, &kd, &k, &e_));
    api.free_spirv(api.ctx, words);

    const uint32_t n = 1001;
    nnxr_buffer *a = NULL, *b = NULL;
    nnxr_buffer_desc da = {.name = "a", .kind = NNXR_BUFFER_DEVICE, .size = n * 4};
    nnxr_buffer_desc db = {.name = "b", .kind = NNXR_BUFFER_DEVICE, .size = n * 4};
    TG_OK(api.buffer_create(api.ctx, &da, &a, &e_));
    TG_OK(api.buffer_create(api.ctx, &db, &b, &e_));
    float av[1001], bv[1001], out[1001];
    for (uint32_t i = 0; i < n; i++) {
        av[i] = (float)i * 0.5f;
        bv[i] = 1.0f;
    }
    TG_OK(api.buffer_upload(api.ctx, a, 0, av, sizeof av, &e_));
    TG_OK(api.buffer_upload(api.ctx, b, 0, bv, sizeof bv, &e_));
    nnxr_binding *bind = NULL;
    nnxr_buffer_slot slots[2] = {{a, 0, 0}, {b, 0, 0}};
    TG_OK(api.kernel_bind(api.ctx, k, slots, 2, &bind, &e_));

    /* As a plugin would: dispatch into the frame's command buffer, twice, with its own
     * barrier between; the engine then learns that external commands were recorded. */
    nnxr_recorder *rec = NULL;
    TG_OK(nnxr_recorder_create(gpu, 0, &rec, &e_));
    TG_OK(nnxr_recorder_begin(rec, &e_));
    VkCommandBuffer cmd = nnxr_recorder_external_cmd(rec);
    TG_OK(api.cmd_dispatch(api.ctx, cmd, k, bind, &n, 4, (n + 31) / 32, 1, 1, &e_));
    api.cmd_barrier(api.ctx, cmd);
    TG_OK(api.cmd_dispatch(api.ctx, cmd, k, bind, &n, 4, (n + 31) / 32, 1, 1, &e_));
    nnxr_recorder_external(rec);
    TG_OK(nnxr_recorder_run(rec, &e_));
    TG_OK(api.buffer_readback(api.ctx, b, 0, out, sizeof out, &e_));
    uint32_t bad = 0;
    for (uint32_t i = 0; i < n; i++)
        bad += out[i] != 1.0f + 2.0f * (av[i] * av[i] * 3.0f);
    CHECKF(bad == 0, "%u wrong; out[10] = %g", bad, (double)out[10]);

    /* Wrong push size through the table: refused. */
    nnxr_error err;
    CHECK(!api.cmd_dispatch(api.ctx, cmd, k, bind, &n, 8, 1, 1, 1, &err));
    CHECK_CONTAINS(err.message, "push constants");

    /* A syntax error on line 5: the compiler's own line is in the message. */
    words = NULL;
    CHECK(!api.compile_glsl(api.ctx, bad_src, "bad.comp", VK_SHADER_STAGE_COMPUTE_BIT, &words,
                            &nwords, &err));
    CHECK(words == NULL);
    CHECK_CONTAINS(err.message, "bad.comp:5:");
    CHECK_CONTAINS(err.message, "error");
    printf("compiler said: %s\n", err.message);
    CHECK(!nnxr_gpu_compile_glsl(good_src, "x", VK_SHADER_STAGE_TASK_BIT_NV, &words, &nwords,
                                 &err));
    CHECK_CONTAINS(err.message, "unsupported shader stage");
    /* A vertex shader compiles too (plugins draw). */
    const char *vs = "#version 450\nvoid main() { gl_Position = vec4(0.0); }\n";
    TG_OK(nnxr_gpu_compile_glsl(vs, "v.vert", VK_SHADER_STAGE_VERTEX_BIT, &words, &nwords, &e_));
    free(words);

    nnxr_recorder_destroy(rec);
    api.binding_destroy(api.ctx, bind);
    api.kernel_destroy(api.ctx, k);
    api.buffer_destroy(api.ctx, a);
    api.buffer_destroy(api.ctx, b);
    tg_close(gpu);
    return check_finish();
}
