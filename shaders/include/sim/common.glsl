// include/sim/common.glsl — what the latent-cloud kernels share: the force step's push
// constants and the softened pair repulsion, spelled as engine/sim/integrate.h spells it
// for the CPU (k (x_i − x_j) / (|x_i − x_j|² + ε²)^{3/2}; k applied once per point, after
// the sum, so the pair term is d · inv³ only).
#ifndef SIM_COMMON_GLSL
#define SIM_COMMON_GLSL

// Push constants of sim/forces.comp and sim/forces_pairs.comp (must match struct forces_push
// in engine/sim/forces.c).
struct ForcePush {
    uint n;        // points
    uint j0;       // this dispatch's j-range [j0, j1)
    uint j1;
    uint first;    // 1: the first chunk writes spring + class terms, else it accumulates
    float k_s;
    float k_a;
    float k_r;
    float eps2;    // ε²
    uint jstride;  // PAIRS shape: the j-side partials' row length (the blocks)
    uint classes;  // PAIRS shape: its class-sum workgroups (forces_pairs.comp)
};

// Points per class-sum slice (engine/sim/forces.c's SLICE_LEN): every loop over a slice
// stays far below lavapipe's 65,535-iteration cap.
const uint SIM_SLICE_LEN = 1024u;

// One semi-implicit Euler step (engine/sim/integrate.h): v ← (1 − damping) v + dt F;
// x ← x + dt v.
void sim_integrate(inout vec3 x, inout vec3 v, vec3 f, float damping, float dt)
{
    v = (1.0 - damping) * v + dt * f;
    x += dt * v;
}

// acc += (xi − xj) / (|xi − xj|² + ε²)^{3/2}, two spellings of the same value:
// SIM_REPEL for CPU devices (lavapipe lowers inversesqrt to 1/sqrt anyway; 1/(r² √r²) saves
// a multiply there), SIM_REPEL_RSQ for GPUs, where inversesqrt is one special-function op
// and sqrt + reciprocal would be two (the SFU is the second bottleneck after the FMAs).
#define SIM_REPEL_RSQ(acc, xi, xj, eps2)                               \
    {                                                                  \
        vec3 d_ = (xi) - (xj);                                         \
        float inv_ = inversesqrt(fma(d_.x, d_.x, fma(d_.y, d_.y, fma(d_.z, d_.z, (eps2))))); \
        (acc) = fma(d_, vec3(inv_ * inv_ * inv_), (acc));              \
    }
#define SIM_REPEL(acc, xi, xj, eps2)                                   \
    {                                                                  \
        vec3 d_ = (xi) - (xj);                                         \
        float r2_ = fma(d_.x, d_.x, fma(d_.y, d_.y, fma(d_.z, d_.z, (eps2)))); \
        (acc) = fma(d_, vec3(1.0 / (r2_ * sqrt(r2_))), (acc));         \
    }

#endif
