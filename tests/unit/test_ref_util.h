/* tests/unit/test_ref_util.h — helpers of the nn/ref tests: seeded random arrays and the central
 * finite-difference gradient check (h = 1e-6) every layer and model is held to. */
#ifndef NNXR_TEST_REF_UTIL_H
#define NNXR_TEST_REF_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "nn/ref.h"

#define FD_H 1e-6
#define FD_TOL 1e-6
/* Below this magnitude an entry is compared absolutely (to FD_TOL * FD_FLOOR = 1e-9): the
 * rounding noise of a central difference is ~1e-16 * |f| / h ~ 1e-10 for |f| of order 1. */
#define FD_FLOOR 1e-3

static void fill_uniform(nnxr_ref_rng *r, size_t n, double lo, double hi, double *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nnxr_ref_rng_uniform(r);
}

static double *alloc_uniform(nnxr_ref_rng *r, size_t n, double lo, double hi)
{
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    fill_uniform(r, n, lo, hi, x);
    return x;
}

static double *alloc_zero(size_t n)
{
    double *x = calloc(n ? n : 1, sizeof *x);
    if (!x) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return x;
}

/* A scalar function of the whole state; the check perturbs entries of one array of it. */
typedef double (*fd_fn)(void *ctx);

/* Central differences of f over p[0..n) against the analytic gradient g. The error of entry i
 * is |g - fd| / max(FD_FLOOR, |g|, |fd|) (relative, absolute near zero); the check asserts the
 * largest is <= FD_TOL and that the gradient is not all zeros (else the check could not fail). */
static double fd_check(const char *what, fd_fn f, void *ctx, double *p, const double *g,
                       size_t n)
{
    double worst = 0.0, gmax = 0.0;
    size_t worst_i = 0;
    double worst_g = 0.0, worst_fd = 0.0;
    for (size_t i = 0; i < n; i++) {
        double keep = p[i];
        p[i] = keep + FD_H;
        double fp = f(ctx);
        p[i] = keep - FD_H;
        double fm = f(ctx);
        p[i] = keep;
        double fd = (fp - fm) / (2.0 * FD_H);
        double den = fmax(FD_FLOOR, fmax(fabs(g[i]), fabs(fd)));
        double e = fabs(g[i] - fd) / den;
        gmax = fmax(gmax, fabs(g[i]));
        if (e > worst || !(e == e)) {
            worst = e == e ? e : INFINITY;
            worst_i = i;
            worst_g = g[i];
            worst_fd = fd;
        }
    }
    CHECKF(worst <= FD_TOL, "%s: gradient entry %zu analytic %.12g, finite difference %.12g "
           "(error %.3g)", what, worst_i, worst_g, worst_fd, worst);
    CHECKF(gmax > 1e-6, "%s: the gradient is all (near) zero", what);
    printf("  fd %-44s n=%-5zu max error %.2e\n", what, n, worst);
    return worst;
}

#endif
