// nn/rng.glsl — the GPU random generator of the nn kernels: a counter-based hash, so that any
// element of any step can be drawn independently and reproducibly. Each stage is PCG's
// RXS-M-XS output permutation of one LCG step (a bijection of 32-bit words), chained over
// (seed, step, element, lane). engine/nn/layers_ops.c mirrors it bit for bit
// (nnxr_nn_rng_bits / nnxr_nn_rng_normal).
#ifndef NN_RNG_GLSL
#define NN_RNG_GLSL

uint nn_hash(uint x)
{
    uint state = x * 747796405u + 2891336453u;
    uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

uint nn_rng_bits(uint seed, uint step, uint element, uint lane)
{
    uint h = nn_hash(seed ^ 0x9E3779B9u);
    h = nn_hash(h ^ step);
    h = nn_hash(h ^ element);
    return nn_hash(h ^ lane);
}

// Uniform in (0, 1): 24 bits, centred in their cell so that log never sees 0.
float nn_rng_uniform(uint bits) { return (float(bits >> 8u) + 0.5) * (1.0 / 16777216.0); }

// N(0, 1) by Box-Muller, cosine branch.
float nn_rng_normal(uint seed, uint step, uint element)
{
    float u1 = nn_rng_uniform(nn_rng_bits(seed, step, element, 0u));
    float u2 = nn_rng_uniform(nn_rng_bits(seed, step, element, 1u));
    return sqrt(-2.0 * log(u1)) * cos(6.28318530717958647692 * u2);
}

#endif
