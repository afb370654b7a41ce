/* gpu/glsl.c — run-time GLSL → SPIR-V through libshaderc, for plugins that bring their own
 * shaders. Same target as the build-time glslc (Vulkan 1.2, optimised). */
#include "gpu/gpu.h"

#include <stdlib.h>
#include <string.h>

#include <shaderc/shaderc.h>

#include "core/status.h"

static bool stage_kind(VkShaderStageFlagBits stage, shaderc_shader_kind *kind)
{
    switch (stage) {
    case VK_SHADER_STAGE_COMPUTE_BIT: *kind = shaderc_glsl_compute_shader; return true;
    case VK_SHADER_STAGE_VERTEX_BIT: *kind = shaderc_glsl_vertex_shader; return true;
    case VK_SHADER_STAGE_FRAGMENT_BIT: *kind = shaderc_glsl_fragment_shader; return true;
    case VK_SHADER_STAGE_GEOMETRY_BIT: *kind = shaderc_glsl_geometry_shader; return true;
    case VK_SHADER_STAGE_TESSELLATION_CONTROL_BIT:
        *kind = shaderc_glsl_tess_control_shader;
        return true;
    case VK_SHADER_STAGE_TESSELLATION_EVALUATION_BIT:
        *kind = shaderc_glsl_tess_evaluation_shader;
        return true;
    default: return false;
    }
}

bool nnxr_gpu_compile_glsl(const char *source, const char *name, VkShaderStageFlagBits stage,
                           uint32_t **words, size_t *word_count, nnxr_error *err)
{
    *words = NULL;
    *word_count = 0;
    if (!name)
        name = "(glsl)";
    if (!source)
        return nnxr_fail(err, "GLSL %s: no source", name);
    shaderc_shader_kind kind;
    if (!stage_kind(stage, &kind))
        return nnxr_fail(err, "GLSL %s: unsupported shader stage 0x%x", name, (unsigned)stage);
    shaderc_compiler_t compiler = shaderc_compiler_initialize();
    shaderc_compile_options_t opts = shaderc_compile_options_initialize();
    if (!compiler || !opts) {
        if (opts)
            shaderc_compile_options_release(opts);
        if (compiler)
            shaderc_compiler_release(compiler);
        return nnxr_fail(err, "GLSL %s: could not start the shaderc compiler", name);
    }
    shaderc_compile_options_set_source_language(opts, shaderc_source_language_glsl);
    shaderc_compile_options_set_target_env(opts, shaderc_target_env_vulkan,
                                           shaderc_env_version_vulkan_1_2);
    shaderc_compile_options_set_optimization_level(opts, shaderc_optimization_level_performance);
    shaderc_compilation_result_t res = shaderc_compile_into_spv(
        compiler, source, strlen(source), kind, name, "main", opts);
    bool ok = false;
    if (!res) {
        nnxr_fail(err, "GLSL %s: the compiler returned nothing", name);
    } else if (shaderc_result_get_compilation_status(res) != shaderc_compilation_status_success) {
        const char *msg = shaderc_result_get_error_message(res);
        size_t n = msg ? strlen(msg) : 0;
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
            n--;
        /* The compiler's own lines ("name:LINE: error: ...") say where and what. */
        nnxr_fail(err, "GLSL %s does not compile: %.*s", name, (int)n, msg ? msg : "");
    } else {
        size_t bytes = shaderc_result_get_length(res);
        uint32_t *out = bytes % 4 == 0 && bytes ? malloc(bytes) : NULL;
        if (!out) {
            nnxr_fail(err, "GLSL %s: bad or unallocatable result (%zu bytes)", name, bytes);
        } else {
            memcpy(out, shaderc_result_get_bytes(res), bytes);
            *words = out;
            *word_count = bytes / 4;
            ok = true;
        }
    }
    if (res)
        shaderc_result_release(res);
    shaderc_compile_options_release(opts);
    shaderc_compiler_release(compiler);
    return ok;
}
