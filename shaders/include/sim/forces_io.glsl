// include/sim/forces_io.glsl — what the latent cloud's two force kernels (sim/forces.comp,
// sim/forces_pairs.comp) share: bindings 0–5, the push constants, and finish(), which writes
// a point's force for the j's of one dispatch. Needs WINDOW (vec4s of the uniform window)
// declared before it is included.
#ifndef SIM_FORCES_IO_GLSL
#define SIM_FORCES_IO_GLSL
#include "sim/common.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Pos { vec4 pos[]; };
layout(std430, set = 0, binding = 1) readonly buffer Target { vec4 target[]; };
layout(std430, set = 0, binding = 2) readonly buffer Labels { int labels[]; };
layout(std430, set = 0, binding = 3) readonly buffer Means { vec4 means[]; }; // xyz, w = n_c
layout(std430, set = 0, binding = 4) buffer Force { vec4 force[]; };
// pos[j0 .. j1) again, bound as a uniform buffer (read when WINDOW > 0).
layout(std140, set = 0, binding = 5) uniform Window { vec4 win[WINDOW > 0u ? WINDOW : 1u]; };

layout(push_constant) uniform Push { ForcePush pc; };

// force[i] = k_r × acc plus, in the first dispatch of a step, the spring and the class
// attraction (unless SIM_CLASS_IN_FOLD: forces_fold.comp adds it); later dispatches add to it.
void finish(uint i, vec3 xi, vec3 acc)
{
    vec3 f = pc.k_r * acc;
    if (pc.first != 0u) {
        f += pc.k_s * (target[i].xyz - xi);
#ifndef SIM_CLASS_IN_FOLD
        int c = labels[i];
        if (c >= 0) {
            vec4 m = means[c];
            if (m.w > 0.0)
                f += pc.k_a * (m.xyz - xi);
        }
#endif
    } else {
        f += force[i].xyz;
    }
    force[i] = vec4(f, 0.0);
}

#endif
