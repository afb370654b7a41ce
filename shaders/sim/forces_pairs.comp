// sim/forces_pairs.comp — the latent cloud's softened all-pairs repulsion on CPU devices
// with subgroup shuffles (the PAIRS shape, AUTO's choice there; sim/forces.comp has the GPU
// and the plain CPU shapes and says what a dispatch computes). Each pair is met once
// (Newton's third law). A workgroup is one subgroup of wg ≤ 8 lanes and owns a block of
// wg × PPI points (PPI ≤ 64 slots of forces.comp's kind of register block). It takes the
// j's after its block wg at a time, one per lane, and turns them through the lanes with
// subgroupShuffle (8 turns; past wg they weigh 0), so every point of the block meets every
// one of them; each pair term goes to the slot's sum and to a j-side sum that travels with
// its j. After the last turn
// lane k holds the j-side total of the k-th j and writes it to jpart[j − j0][block];
// sim/forces_fold.comp then subtracts those from force[j]. The j's inside its own block it
// meets one-sided (every ordered pair from the i's side, the j-side dropped), the j's before
// its block not at all (their blocks did those pairs).
// The first dispatch of a step also has one workgroup per slice of SIM_SLICE_LEN points
// that sums the slice's positions per class into partial[] for the class attraction, which
// sim/forces_fold.comp then adds: on a CPU device every dispatch of the step costs idle time
// on every thread (measured: each of the separate class-sum, class-mean and integration
// dispatches cost 5–8 % at n = 4,096 on lavapipe), so the step is these two kinds of
// dispatch only.
// Measured on lavapipe (Zen 5, one thread, n = 4,096 / 16,384): with the j broadcast to all
// lanes instead, totalling the j-side with subgroupAdd took ~27 % of the time (llvmpipe
// reduces lane by lane) and the kernel ran at 2.97 / 3.2–3.4 G pairs/s with 64 slots; turned
// through the lanes (a constant shuffle is one vpermps there) 3.74 / 3.78 with 16 slots,
// where a smaller loop body also suits the CPU's front end.
// Its own file: every pipeline of a shader pays for translating all of its macro expansion
// before specialisation drops what it does not use.
// No loop runs more than (j1 − j0) / wg + 1 times per invocation (the class sums: classes ≤ 64,
// and SIM_SLICE_LEN / wg).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;       // the subgroup size
layout(constant_id = 2) const uint PPI = 16u;  // slots, 1..64
layout(constant_id = 4) const uint WINDOW = 1u; // vec4s of the uniform window (≥ j1 − j0)
#define SIM_CLASS_IN_FOLD
#include "sim/forces_io.glsl"

// Per j of this dispatch and block, the j-side sum Σ_i (x_i − x_j) / (…)^{3/2} (written for
// the j's after the block; forces_fold.comp reads no other). A j's blocks lie side by side,
// so the fold reads them in a run: laid out a row per block, its loads took 12.8 % of the
// samples at 16 slots and n = 16,384, most of it waiting; this way ~3.7 %.
layout(std430, set = 0, binding = 6) writeonly buffer JPart { vec4 jpart[]; };
// The block each workgroup takes, or blocks + s for the class sums of slice s. A dispatch's
// busy blocks are the first ones, and a CPU device hands each thread a contiguous range of
// workgroups: this order spreads them.
layout(std430, set = 0, binding = 7) readonly buffer Order { uint order[]; };
// Per slice and class: (Σ x, count) of the slice's points with that label.
layout(std430, set = 0, binding = 8) writeonly buffer Partial { vec4 partial[]; };
// pos and labels again as texel views: lavapipe fetches a texel with one gather, where a
// storage-buffer load is a loop over the lanes with a branch each.
layout(set = 0, binding = 9) uniform samplerBuffer pos_texels;
layout(set = 0, binding = 10) uniform usamplerBuffer label_texels; // int labels as uint

// The pair term once, weighted (w: 1, or 0 for a j past the range or a turn past wg),
// added to the slot's sum and to the j-side sum q. The weight rides in the division's
// numerator: free.
#define PAIR_TERM(a_, q, x_, xj, w) { vec3 d_ = x_ - xj; \
    float r2_ = fma(d_.x, d_.x, fma(d_.y, d_.y, fma(d_.z, d_.z, pc.eps2))); \
    vec3 f_ = d_ * (w / (r2_ * sqrt(r2_))); a_ += f_; q += f_; }
// Two turns of the j's against slot s: two pair terms a visit of its sum.
#define PSLOT_2(s) if (PPI > s) { vec3 x_ = xp[s], a_ = ap[s]; \
    PAIR_TERM(a_, qa, x_, pa, wa) PAIR_TERM(a_, qb, x_, pb, wb) ap[s] = a_; }
#define PSLOT_INIT(s) if (PPI > s) { \
    xp[s] = texelFetch(pos_texels, int(min(base + s * wg, pc.n - 1u))).xyz; \
    ap[s] = vec3(0.0); }
#define PSLOT_STORE(s) if (PPI > s && base + s * wg < pc.n) finish(base + s * wg, xp[s], ap[s]);
#define SLOTS_16(M, o) M((o + 0u)) M((o + 1u)) M((o + 2u)) M((o + 3u)) M((o + 4u)) \
    M((o + 5u)) M((o + 6u)) M((o + 7u)) M((o + 8u)) M((o + 9u)) M((o + 10u)) M((o + 11u)) \
    M((o + 12u)) M((o + 13u)) M((o + 14u)) M((o + 15u))
#define SLOTS_ALL(M) SLOTS_16(M, 0u) SLOTS_16(M, 16u) SLOTS_16(M, 32u) SLOTS_16(M, 48u)
// Turns r and r + 1: at turn r lane k holds the j of lane (k + r) mod wg, and pa, q move
// one lane down per turn. qb, a turn ahead of qa, is moved back one lane before the two are
// added; fresh qa, qb per pair of turns keep the slots' chains of additions short.
#define TURN_2(r) { vec3 pb = subgroupShuffle(pa, up1); \
    float wa = r < wg && j + (lane + r) % wg < pc.j1 ? 1.0 : 0.0; \
    float wb = r + 1u < wg && j + (lane + r + 1u) % wg < pc.j1 ? 1.0 : 0.0; \
    vec3 qa = vec3(0.0), qb = vec3(0.0); \
    SLOTS_ALL(PSLOT_2) \
    q = subgroupShuffle(q + (qa + subgroupShuffle(qb, dn1)), up2); \
    pa = subgroupShuffle(pa, up2); }

// The lanes take the slice's points in turn, one class after another; the wg lane sums of
// a class are added by rotations (wg is a power of two), so the result does not depend on
// scheduling.
void class_sums(uint slice)
{
    uint wg = gl_WorkGroupSize.x, lane = gl_SubgroupInvocationID;
    uint begin = slice * SIM_SLICE_LEN, end = min(pc.n, begin + SIM_SLICE_LEN);
    for (uint c = 0u; c < pc.classes; c++) {
        vec4 s = vec4(0.0);
        for (uint i = begin + lane; i < end; i += wg)
            if (texelFetch(label_texels, int(i)).x == c)
                s += vec4(texelFetch(pos_texels, int(i)).xyz, 1.0);
        for (uint k = wg / 2u; k > 0u; k /= 2u)
            s += subgroupShuffle(s, (lane + k) % wg);
        if (lane == 0u)
            partial[slice * pc.classes + c] = s;
    }
}

void main()
{
    uint wg = gl_WorkGroupSize.x;
    uint blk = order[gl_WorkGroupID.x];
    if (blk >= pc.jstride) {
        if (pc.first != 0u)
            class_sums(blk - pc.jstride);
        return;
    }
    uint b0 = blk * wg * PPI, b1 = b0 + wg * PPI;
    // Later dispatches have nothing for blocks past their j-range (the first one writes the
    // spring and class terms of every point).
    if (pc.first == 0u && pc.j1 <= b0)
        return;
    uint lane = gl_SubgroupInvocationID;
    uint up1 = (lane + 1u) % wg, up2 = (lane + 2u) % wg, dn1 = (lane + wg - 1u) % wg;
    uint base = b0 + lane;
    vec3 xp[64], ap[64];
    SLOTS_ALL(PSLOT_INIT)
    uint last = pc.j1 - 1u - pc.j0;
    // j-ranges and blocks start at multiples of wg, so a group of wg j's lies wholly inside
    // the block or after it.
    for (uint j = max(pc.j0, b0); j < pc.j1; j += wg) {
        vec3 pa = win[min(j - pc.j0 + lane, last)].xyz, q = vec3(0.0);
        // Eight turns, unrolled: lavapipe's subgroup at 256 bits. A smaller subgroup (1, 2
        // or 4 lanes) weighs the surplus turns 0 and ends where it began; the host refuses
        // larger ones (a loop over the turns ran at half the speed).
        TURN_2(0u) TURN_2(2u) TURN_2(4u) TURN_2(6u)
        if (j >= b1 && j + lane < pc.j1)
            jpart[(j + lane - pc.j0) * pc.jstride + blk] = vec4(q, 0.0);
    }
    SLOTS_ALL(PSLOT_STORE)
}
