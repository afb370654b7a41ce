// sim/forces_pairs.comp — the latent cloud's softened all-pairs repulsion on CPU devices
// with subgroup arithmetic (the PAIRS shape, AUTO's choice there; sim/forces.comp has the
// GPU and the plain CPU shapes and says what a dispatch computes). Each pair is met once
// (Newton's third law). A workgroup is one subgroup and owns a block of wg × PPI points
// (PPI ≤ 64 slots of forces.comp's kind of register block); against every j after its block
// it adds the pair term to its point's sum and to a j-side sum that subgroupAdd totals over
// the lanes and one lane writes to jpart[block][j − j0]; sim/forces_fold.comp then subtracts
// those from force[j]. The j's inside its own block it meets one-sided (every ordered pair
// from the i's side, the j-side dropped), the j's before its block not at all (their blocks
// did those pairs). On a CPU the divider (sqrt, division: 7.4 cycles of a 256-bit pair vector
// on Zen 5) bounds forces.comp's block shape, and here a pair costs it once. Measured on
// lavapipe (Zen 5, 2 cores): two j's a slot visit beat one, four ran the same within noise;
// 64 slots beat 16 and 32 (fewer j-side totals per pair); 128 ran about as fast as 64.
// Its own file, and 64 slots at most: every pipeline of a shader pays for translating all
// of its macro expansion before specialisation drops what it does not use. With 128 slots
// this file made each process spend ~5 s and ~500 MB in llvmpipe (Mesa's shader cache did
// not spare it), and while it shared forces.comp, so did every other shape; with 64 a
// process with a warm cache starts its cloud in ~0.5 s.
// No loop runs more than (j1 − j0) / 8 + 1 times per invocation.
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;       // the subgroup size
layout(constant_id = 2) const uint PPI = 64u;  // slots, 1..64
layout(constant_id = 4) const uint WINDOW = 1u; // vec4s of the uniform window (≥ j1 − j0)
#include "sim/forces_io.glsl"

// Per block, the j-side sums Σ_i (x_i − x_j) / (…)^{3/2} of this dispatch's j's (written for
// the j's after the block; forces_fold.comp reads no other).
layout(std430, set = 0, binding = 6) writeonly buffer JPart { vec4 jpart[]; };
// The block each workgroup takes. A dispatch's busy blocks are the first ones, and a CPU
// device hands each thread a contiguous range of workgroups: this order spreads them.
layout(std430, set = 0, binding = 7) readonly buffer Order { uint order[]; };

// The pair term once, weighted (w: 1, or 0 for a j past the range), added to the
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
#define SLOTS_ALL(M) SLOTS_16(M, 0u) SLOTS_16(M, 16u) SLOTS_16(M, 32u) SLOTS_16(M, 48u)
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
    SLOTS_ALL(PSLOT_2) \
    J_TOTAL(qa, j + k) J_TOTAL(qb, j + k + 1u) }

void main()
{
    uint wg = gl_WorkGroupSize.x;
    uint blk = order[gl_WorkGroupID.x];
    uint b0 = blk * wg * PPI, b1 = b0 + wg * PPI;
    // Later dispatches have nothing for blocks past their j-range (the first one writes the
    // spring and class terms of every point).
    if (pc.first == 0u && pc.j1 <= b0)
        return;
    uint base = b0 + gl_LocalInvocationID.x;
    vec3 xp[64], ap[64];
    SLOTS_ALL(PSLOT_INIT)
    uint row = blk * pc.jstride - pc.j0, last = pc.j1 - 1u - pc.j0;
    // Eight j's a pass: llvmpipe stores every slot's sum under the loop's mask at the end
    // of each iteration (3 × PPI blends), which passes of two j's did not amortise (n =
    // 32,768: ~3.7 → ~4.3 G pairs/s, measured before the block order). The last pass's j's
    // past the range weigh nothing.
    for (uint j = max(pc.j0, b0); j < pc.j1; j += 8u) {
        uint w = j - pc.j0;
        PAIR_2(0u) PAIR_2(2u) PAIR_2(4u) PAIR_2(6u)
    }
    SLOTS_ALL(PSLOT_STORE)
}
