/* data/rng.h — nnxr's pseudo-random generator: PCG32 (O'Neill's XSH-RR 64/32, the reference
 * pcg32_random_r), so that every seeded thing in the engine — playground data, subsets, splits,
 * shuffles, weight init — is reproducible from one 64-bit seed, and so that GPU shaders can run
 * the very same generator (64-bit LCG state; GLSL needs 64-bit integers or a uvec2 emulation).
 *
 * Known answers: nnxr_rng_seed(&r, 42, 54) gives 0xa15c02b7 0x7b47f409 0xba1d3330 ... exactly as
 * the reference pcg32-demo does; tests/unit/test_data_rng.c pins them. */
#ifndef NNXR_DATA_RNG_H
#define NNXR_DATA_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct nnxr_rng {
    uint64_t state;
    uint64_t inc; /* stream selector, always odd */
} nnxr_rng;

#define NNXR_PCG32_MULT UINT64_C(6364136223846793005)

/* Seeds like the reference pcg32_srandom_r(rng, initstate, initseq): streams with different
 * `stream` values are independent sequences even for the same `seed`. */
void nnxr_rng_seed(nnxr_rng *rng, uint64_t seed, uint64_t stream);

/* Next 32 uniform bits. Inline: it sits in the inner loop of every generator. */
static inline uint32_t nnxr_rng_u32(nnxr_rng *rng)
{
    uint64_t old = rng->state;
    rng->state = old * NNXR_PCG32_MULT + rng->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

/* Uniform integer in [0, bound) without modulo bias (the reference's rejection method, so it
 * consumes the same draws as pcg32_boundedrand_r). bound 0 returns 0. */
uint32_t nnxr_rng_below(nnxr_rng *rng, uint32_t bound);

/* Uniform float in [0, 1) with 24 random bits (one draw). */
float nnxr_rng_float(nnxr_rng *rng);

/* Uniform double in [0, 1) with 53 random bits (two draws: high 27, low 26). */
double nnxr_rng_double(nnxr_rng *rng);

/* Uniform double in [lo, hi). */
double nnxr_rng_uniform(nnxr_rng *rng, double lo, double hi);

/* Normal sample (Marsaglia's polar method, as TensorFlow Playground's normalRandom; the second
 * value of each pair is dropped, so the draw count per call depends only on the stream). */
double nnxr_rng_normal(nnxr_rng *rng, double mean, double stddev);

/* Jumps ahead by `delta` draws in O(log delta) (Brown's LCG jump), e.g. to give each GPU
 * invocation its own slice of one stream. */
void nnxr_rng_advance(nnxr_rng *rng, uint64_t delta);

/* Fisher–Yates shuffle of `count` uint32 indices in place. */
void nnxr_rng_shuffle_u32(nnxr_rng *rng, uint32_t *items, size_t count);

/* Writes a uniformly random permutation of 0..count-1 into out (count ≤ UINT32_MAX). */
void nnxr_rng_permutation(nnxr_rng *rng, uint32_t *out, uint32_t count);

#endif
