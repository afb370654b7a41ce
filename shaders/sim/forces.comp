// sim/forces.comp — the latent cloud's forces for one j-range [j0, j1) (DESIGN.md "Force
// models"): the softened all-pairs repulsion over that range is added to force[i]; the first
// range of a step also writes the spring to the target and the class attraction
// k_a (mean_c − x_i), which is exactly Σ_{j∈c} k_a (x_j − x_i) / n_c.
//
// Three shapes, chosen by the SHAPE specialization constant from the device (DESIGN.md,
// "Devices"):
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
//   SHAPE 2 (CPU devices with subgroup arithmetic, AUTO's choice there): each pair once
//     (Newton's third law). A workgroup is one subgroup and owns a block of wg × PPI points
//     (PPI ≤ 128 slots of SHAPE 1's kind of register block); against every j after its block
//     it adds the pair term to its point's sum and to a j-side sum that subgroupAdd totals
//     over the lanes and one lane writes to jpart[block][j − j0]; sim/forces_fold.comp then
//     subtracts those from force[j]. The j's inside its own block it meets one-sided (every
//     ordered pair from the i's side, the j-side dropped), the j's before its block not at
//     all (their blocks did those pairs). On a CPU the divider (sqrt, division: 7.4 cycles
//     of a 256-bit pair vector on Zen 5) bounds SHAPE 1, and here a pair costs it once.
//     Measured on lavapipe (Zen 5, 2 cores): two j's per pass over the slots beat one and
//     four (registers), 64 and 128 slots beat 16 and 32 (fewer j-side totals per pair).
// No loop runs more than (j1 − j0) + (j1 − j0)/TILE times per invocation; the host keeps
// j1 − j0 ≤ 32,768 so lavapipe's silent 65,535-iteration loop cap is never reached.
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_GOOGLE_include_directive : require
#include "sim/common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint SHAPE = 0u;
layout(constant_id = 2) const uint PPI = 16u;  // points per invocation: SHAPE 1 ≤ 16, 2 ≤ 128
layout(constant_id = 3) const uint TILE = 128u; // == local size (SHAPE 0)
// SHAPE 1: vec4s in the uniform window (≥ j1 − j0, within maxUniformBufferRange); 0 = every
// lane loads every x_j from the storage buffer.
layout(constant_id = 4) const uint WINDOW = 0u;

layout(std430, set = 0, binding = 0) readonly buffer Pos { vec4 pos[]; };
layout(std430, set = 0, binding = 1) readonly buffer Target { vec4 target[]; };
layout(std430, set = 0, binding = 2) readonly buffer Labels { int labels[]; };
layout(std430, set = 0, binding = 3) readonly buffer Means { vec4 means[]; }; // xyz, w = n_c
layout(std430, set = 0, binding = 4) buffer Force { vec4 force[]; };
// pos[j0 .. j1) again, bound as a uniform buffer (SHAPE 1 with WINDOW > 0 reads it).
layout(std140, set = 0, binding = 5) uniform Window { vec4 win[WINDOW > 0u ? WINDOW : 1u]; };
// SHAPE 2: per block, the j-side sums Σ_i (x_i − x_j) / (…)^{3/2} of this dispatch's j's
// (written for the j's after the block; forces_fold.comp reads no other).
layout(std430, set = 0, binding = 6) writeonly buffer JPart { vec4 jpart[]; };
// SHAPE 2: the block each workgroup takes. A dispatch's busy blocks are the first ones, and a
// CPU device hands each thread a contiguous range of workgroups: this order spreads them.
layout(std430, set = 0, binding = 7) readonly buffer Order { uint order[]; };

layout(push_constant) uniform Push { ForcePush pc; };

shared vec4 tile[TILE];

void finish(uint i, vec3 xi, vec3 acc)
{
    vec3 f = pc.k_r * acc;
    if (pc.first != 0u) {
        f += pc.k_s * (target[i].xyz - xi);
        int c = labels[i];
        if (c >= 0) {
            vec4 m = means[c];
            if (m.w > 0.0)
                f += pc.k_a * (m.xyz - xi);
        }
    } else {
        f += force[i].xyz;
    }
    force[i] = vec4(f, 0.0);
}

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

// SHAPE 2. The pair term once, weighted (w: 1, or 0 for a j past the range), added to the
// slot's sum and to the j-side sum q. The weight rides in the division's numerator: free.
#define PAIR_TERM(a_, q, x_, xj, w) { vec3 d_ = x_ - xj; \
    float r2_ = fma(d_.x, d_.x, fma(d_.y, d_.y, fma(d_.z, d_.z, pc.eps2))); \
    vec3 f_ = d_ * (w / (r2_ * sqrt(r2_))); a_ += f_; q += f_; }
#define PSLOT_2(s) if (PPI > s) { vec3 x_ = xp[s], a_ = ap[s]; \
    PAIR_TERM(a_, qa, x_, pa, wa) PAIR_TERM(a_, qb, x_, pb, wb) ap[s] = a_; }
#define PSLOT_INIT(s) if (PPI > s) { xp[s] = pos[min(base + s * wg, pc.n - 1u)].xyz; \
    ap[s] = vec3(0.0); }
#define PSLOT_STORE(s) if (PPI > s && base + s * wg < pc.n) finish(base + s * wg, xp[s], ap[s]);
#define SLOTS_16(M, o) M((o + 0u)) M((o + 1u)) M((o + 2u)) M((o + 3u)) M((o + 4u)) \
    M((o + 5u)) M((o + 6u)) M((o + 7u)) M((o + 8u)) M((o + 9u)) M((o + 10u)) M((o + 11u)) \
    M((o + 12u)) M((o + 13u)) M((o + 14u)) M((o + 15u))
#define SLOTS_128(M) SLOTS_16(M, 0u) SLOTS_16(M, 16u) SLOTS_16(M, 32u) SLOTS_16(M, 48u) \
    SLOTS_16(M, 64u) SLOTS_16(M, 80u) SLOTS_16(M, 96u) SLOTS_16(M, 112u)
// One j-side total, kept when j lies after the block (inside it every ordered pair is met
// from its own side) and within the range.
#define J_TOTAL(q, jj) if (jj >= b1 && jj < pc.j1) { \
        q = subgroupAdd(q); \
        if (subgroupElect()) \
            jpart[row + jj] = vec4(q, 0.0); \
    }
// j's k and k + 1 of the current pass against every slot.
#define PAIR_2(k) { \
    vec3 pa = win[min(w + k, last)].xyz, pb = win[min(w + k + 1u, last)].xyz; \
    float wa = j + k < pc.j1 ? 1.0 : 0.0, wb = j + k + 1u < pc.j1 ? 1.0 : 0.0; \
    vec3 qa = vec3(0.0), qb = vec3(0.0); \
    SLOTS_128(PSLOT_2) \
    J_TOTAL(qa, j + k) J_TOTAL(qb, j + k + 1u) }

void pairs()
{
    uint wg = gl_WorkGroupSize.x;
    uint blk = order[gl_WorkGroupID.x];
    uint b0 = blk * wg * PPI, b1 = b0 + wg * PPI;
    // Later dispatches have nothing for blocks past their j-range (the first one writes the
    // spring and class terms of every point).
    if (pc.first == 0u && pc.j1 <= b0)
        return;
    uint base = b0 + gl_LocalInvocationID.x;
    vec3 xp[128], ap[128];
    SLOTS_128(PSLOT_INIT)
    uint row = blk * pc.jstride - pc.j0, last = pc.j1 - 1u - pc.j0;
    // Eight j's a pass: llvmpipe stores every slot's sum under the loop's mask at the end
    // of each iteration (3 × PPI blends), which passes of two j's did not amortise (n =
    // 32,768: ~3.7 → ~4.3 G pairs/s, measured before the block order). The last pass's j's
    // past the range weigh nothing.
    for (uint j = max(pc.j0, b0); j < pc.j1; j += 8u) {
        uint w = j - pc.j0;
        PAIR_2(0u) PAIR_2(2u) PAIR_2(4u) PAIR_2(6u)
    }
    SLOTS_128(PSLOT_STORE)
}

void main()
{
    if (SHAPE == 0u)
        tiles();
    else if (SHAPE == 1u)
        block();
    else
        pairs();
}
