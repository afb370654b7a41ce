// sim/forces.comp — the latent cloud's forces for one j-range [j0, j1) (DESIGN.md "Force
// models"): the softened all-pairs repulsion over that range is added to force[i]; the first
// range of a step also writes the spring to the target and the class attraction
// k_a (mean_c − x_i), which is exactly Σ_{j∈c} k_a (x_j − x_i) / n_c.
//
// Two shapes, chosen by the SHAPE specialization constant from the device (DESIGN.md,
// "Devices"); CPU devices with subgroup shuffles take a third, sim/forces_pairs.comp:
//   SHAPE 0 (GPU): one point per invocation; the j-range streams through shared memory in
//     tiles of the workgroup's size.
//   SHAPE 1 (CPU devices, lavapipe): PPI points per invocation, no shared memory, no
//     barriers; the j-loop is unrolled ×8 by macro (glslc's [[unroll]] does not unroll), and
//     the PPI points are macro-expanded slots that specialization folds away. Each slot meets
//     the 8 x_j of a block before the next slot, so its point and sum are loaded and stored
//     once per 8 pairs when registers run out (16 slots never fit). The x_j come from a
//     uniform-buffer window over [j0, j1) (WINDOW > 0): lavapipe loads a uniform buffer with
//     one branch-free gather, a storage buffer one lane at a time behind a branch each, which
//     cost ~30 % of this loop's instructions. Measured on lavapipe (Zen 5, 2 cores): 16 slots
//     beat 8 by ~25 %, 24 and 32 gain nothing.
// No loop runs more than (j1 − j0) + (j1 − j0)/TILE times per invocation; the host keeps
// j1 − j0 ≤ 32,768 so lavapipe's silent 65,535-iteration loop cap is never reached.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint SHAPE = 0u;
layout(constant_id = 2) const uint PPI = 16u;  // points per invocation (SHAPE 1), 1..16
layout(constant_id = 3) const uint TILE = 128u; // == local size (SHAPE 0)
// SHAPE 1: vec4s in the uniform window (≥ j1 − j0, within maxUniformBufferRange); 0 = every
// lane loads every x_j from the storage buffer.
layout(constant_id = 4) const uint WINDOW = 0u;

#include "sim/forces_io.glsl"

shared vec4 tile[TILE];

void tiles()
{
    uint i = gl_GlobalInvocationID.x;
    uint lid = gl_LocalInvocationID.x;
    vec3 xi = pos[min(i, pc.n - 1u)].xyz;
    vec3 acc = vec3(0.0);
    for (uint t = pc.j0; t < pc.j1; t += TILE) {
        tile[lid] = pos[min(t + lid, pc.j1 - 1u)];
        barrier();
        uint count = min(TILE, pc.j1 - t);
        uint k = 0u;
        for (; k + 4u <= count; k += 4u) {
            SIM_REPEL_RSQ(acc, xi, tile[k].xyz, pc.eps2)
            SIM_REPEL_RSQ(acc, xi, tile[k + 1u].xyz, pc.eps2)
            SIM_REPEL_RSQ(acc, xi, tile[k + 2u].xyz, pc.eps2)
            SIM_REPEL_RSQ(acc, xi, tile[k + 3u].xyz, pc.eps2)
        }
        for (; k < count; k++)
            SIM_REPEL_RSQ(acc, xi, tile[k].xyz, pc.eps2)
        barrier();
    }
    if (i < pc.n)
        finish(i, xi, acc);
}

// The register block: slot s holds point base + s * local size (consecutive lanes hold
// consecutive points, so the per-point loads and stores are contiguous across lanes). The
// slots are private arrays indexed only by constants, which the compiler keeps in registers.
#define SLOT_INIT(s) xs[s] = vec3(0.0); as[s] = vec3(0.0);
#define SLOT_LOAD(s) if (PPI > s) xs[s] = pos[min(base + s * wg, pc.n - 1u)].xyz;
#define SLOT_PAIR(s, xj) if (PPI > s) SIM_REPEL(as[s], xs[s], xj, pc.eps2)
// One slot against the 8 x_j of a block (p0..p7): the slot's point and sum stay in registers
// for 8 pairs, and the x_j are uniform (broadcast operands).
#define SLOT_8(s) if (PPI > s) { vec3 x_ = xs[s], a_ = as[s]; \
    SIM_REPEL(a_, x_, p0, pc.eps2) SIM_REPEL(a_, x_, p1, pc.eps2) \
    SIM_REPEL(a_, x_, p2, pc.eps2) SIM_REPEL(a_, x_, p3, pc.eps2) \
    SIM_REPEL(a_, x_, p4, pc.eps2) SIM_REPEL(a_, x_, p5, pc.eps2) \
    SIM_REPEL(a_, x_, p6, pc.eps2) SIM_REPEL(a_, x_, p7, pc.eps2) as[s] = a_; }
#define SLOT_STORE(s) if (PPI > s && base + s * wg < pc.n) finish(base + s * wg, xs[s], as[s]);
#define ALL_SLOTS(M) M(0u) M(1u) M(2u) M(3u) M(4u) M(5u) M(6u) M(7u) \
    M(8u) M(9u) M(10u) M(11u) M(12u) M(13u) M(14u) M(15u)
#define ALL_PAIRS(xj) { vec3 xj_ = (xj); \
    SLOT_PAIR(0u, xj_) SLOT_PAIR(1u, xj_) SLOT_PAIR(2u, xj_) SLOT_PAIR(3u, xj_)     \
    SLOT_PAIR(4u, xj_) SLOT_PAIR(5u, xj_) SLOT_PAIR(6u, xj_) SLOT_PAIR(7u, xj_)     \
    SLOT_PAIR(8u, xj_) SLOT_PAIR(9u, xj_) SLOT_PAIR(10u, xj_) SLOT_PAIR(11u, xj_)   \
    SLOT_PAIR(12u, xj_) SLOT_PAIR(13u, xj_) SLOT_PAIR(14u, xj_) SLOT_PAIR(15u, xj_) }

void block()
{
    uint wg = gl_WorkGroupSize.x;
    uint base = gl_WorkGroupID.x * wg * PPI + gl_LocalInvocationID.x;
    vec3 xs[16], as[16];
    ALL_SLOTS(SLOT_INIT)
    ALL_SLOTS(SLOT_LOAD)
    uint j = pc.j0;
    uint end8 = pc.j0 + ((pc.j1 - pc.j0) & ~7u);
    if (WINDOW > 0u) {
        for (; j < end8; j += 8u) {
            uint w = j - pc.j0;
            vec3 p0 = win[w].xyz, p1 = win[w + 1u].xyz, p2 = win[w + 2u].xyz,
                 p3 = win[w + 3u].xyz, p4 = win[w + 4u].xyz, p5 = win[w + 5u].xyz,
                 p6 = win[w + 6u].xyz, p7 = win[w + 7u].xyz;
            ALL_SLOTS(SLOT_8)
        }
    }
    for (; j < end8; j += 8u) {
        vec3 p0 = pos[j].xyz, p1 = pos[j + 1u].xyz, p2 = pos[j + 2u].xyz,
             p3 = pos[j + 3u].xyz, p4 = pos[j + 4u].xyz, p5 = pos[j + 5u].xyz,
             p6 = pos[j + 6u].xyz, p7 = pos[j + 7u].xyz;
        ALL_SLOTS(SLOT_8)
    }
    for (; j < pc.j1; j++)
        ALL_PAIRS(pos[j].xyz)
    ALL_SLOTS(SLOT_STORE)
}

void main()
{
    if (SHAPE == 0u)
        tiles();
    else
        block();
}
