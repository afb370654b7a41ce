/* data/rng.c — PCG32 (see rng.h): seeding, bounded integers, floats, normals, jump-ahead and
 * shuffles. */
#include "data/rng.h"

#include <math.h>

void nnxr_rng_seed(nnxr_rng *rng, uint64_t seed, uint64_t stream)
{
    rng->state = 0;
    rng->inc = (stream << 1u) | 1u;
    (void)nnxr_rng_u32(rng);
    rng->state += seed;
    (void)nnxr_rng_u32(rng);
}

uint32_t nnxr_rng_below(nnxr_rng *rng, uint32_t bound)
{
    if (bound == 0)
        return 0;
    /* 2^32 mod bound: draws below it would make the low residues more likely. */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t r = nnxr_rng_u32(rng);
        if (r >= threshold)
            return r % bound;
    }
}

float nnxr_rng_float(nnxr_rng *rng)
{
    return (float)(nnxr_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

double nnxr_rng_double(nnxr_rng *rng)
{
    uint32_t hi = nnxr_rng_u32(rng) >> 5; /* 27 bits */
    uint32_t lo = nnxr_rng_u32(rng) >> 6; /* 26 bits */
    return ((double)hi * 67108864.0 + (double)lo) * (1.0 / 9007199254740992.0);
}

double nnxr_rng_uniform(nnxr_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * nnxr_rng_double(rng);
}

double nnxr_rng_normal(nnxr_rng *rng, double mean, double stddev)
{
    double v1, v2, s;
    do {
        v1 = 2.0 * nnxr_rng_double(rng) - 1.0;
        v2 = 2.0 * nnxr_rng_double(rng) - 1.0;
        s = v1 * v1 + v2 * v2;
    } while (s >= 1.0 || s == 0.0); /* s == 0 would give log(0) */
    return mean + stddev * v1 * sqrt(-2.0 * log(s) / s);
}

void nnxr_rng_advance(nnxr_rng *rng, uint64_t delta)
{
    /* Compose the affine map x -> M x + C with itself by squaring: O(log delta). */
    uint64_t acc_mult = 1, acc_plus = 0;
    uint64_t cur_mult = NNXR_PCG32_MULT, cur_plus = rng->inc;
    while (delta > 0) {
        if (delta & 1u) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1u;
    }
    rng->state = acc_mult * rng->state + acc_plus;
}

void nnxr_rng_shuffle_u32(nnxr_rng *rng, uint32_t *items, size_t count)
{
    if (count < 2)
        return;
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = nnxr_rng_below(rng, (uint32_t)(i + 1));
        uint32_t t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}

void nnxr_rng_permutation(nnxr_rng *rng, uint32_t *out, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        out[i] = i;
    nnxr_rng_shuffle_u32(rng, out, count);
}
