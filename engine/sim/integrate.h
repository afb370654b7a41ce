/* sim/integrate.h — the integration step and the softened pair repulsion shared by the
 * simulations of engine/sim: the graph layout uses them on the CPU, and shaders/sim/ spells
 * the same formulas in GLSL (shaders/include/sim/common.glsl) for the latent cloud.
 *   v ← (1 − damping) v + dt F ;  x ← x + dt v       (semi-implicit Euler)
 *   repulsion on i from j: k (x_i − x_j) / (|x_i − x_j|² + ε²)^{3/2}
 *   (the negative gradient of k / sqrt(|x_i − x_j|² + ε²)) */
#ifndef NNXR_SIM_INTEGRATE_H
#define NNXR_SIM_INTEGRATE_H

#include <math.h>
#include <stdint.h>

static inline void nnxr_sim_integrate3(float *pos, float *vel, const float *force,
                                       uint32_t count, uint32_t stride, float damping,
                                       float dt)
{
    float keep = 1.0f - damping;
    for (uint32_t i = 0; i < count; i++) {
        float *x = pos + (size_t)i * stride, *v = vel + (size_t)i * stride;
        const float *f = force + (size_t)i * stride;
        for (int a = 0; a < 3; a++) {
            v[a] = keep * v[a] + dt * f[a];
            x[a] += dt * v[a];
        }
    }
}

/* Adds the repulsion between i and j to fi and subtracts it from fj; returns the pair's
 * potential energy k / sqrt(d² + ε²). */
static inline double nnxr_sim_repel_pair(const float *xi, const float *xj, float k, float eps,
                                         float *fi, float *fj)
{
    double d[3], r2 = (double)eps * eps;
    for (int a = 0; a < 3; a++) {
        d[a] = (double)xi[a] - xj[a];
        r2 += d[a] * d[a];
    }
    double inv = 1.0 / sqrt(r2);
    double s = k * inv * inv * inv;
    for (int a = 0; a < 3; a++) {
        fi[a] += (float)(s * d[a]);
        fj[a] -= (float)(s * d[a]);
    }
    return k * inv;
}

#endif
