/* tests/unit/test_data_rng.c — PCG32 against the reference pcg32-demo's published output, and
 * the statistics of the derived draws (bounded, float, double, normal, shuffles, jump-ahead). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "data/rng.h"

static void test_known_answers(void)
{
    /* pcg32-demo, seeded pcg32_srandom_r(&rng, 42, 54): round 1's six numbers, then its coins
     * (boundedrand 2, H for 1), rolls (boundedrand 6, plus 1), 51 card draws (boundedrand of
     * 52..2) and three more rounds of 155 draws each; round 5 starts after 6 + 614 draws. */
    static const uint32_t round1[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                       0x83d2f293, 0xbfa4784b, 0xcbed606e};
    static const uint32_t round5[6] = {0xfcef7cd6, 0x1b488b5a, 0xd0daf7ea,
                                       0x1d9a70f7, 0x241a37cf, 0x9a3857b7};
    static const char coins[] = "HHTTTHTHHHTHTTTHHHHHTTTHHHTHTHTHTTHTTTHHHHHHTTTTHHTTTTTHTTTTTTTHT";
    static const int rolls[33] = {3, 4, 1, 1, 2, 2, 3, 2, 4, 3, 2, 4, 3, 3, 5, 2, 3,
                                  1, 3, 1, 5, 1, 4, 1, 5, 6, 4, 6, 6, 2, 6, 3, 3};
    nnxr_rng r;
    nnxr_rng_seed(&r, 42, 54);
    for (int i = 0; i < 6; i++) {
        uint32_t v = nnxr_rng_u32(&r);
        CHECKF(v == round1[i], "draw %d: 0x%08x, expected 0x%08x", i, v, round1[i]);
    }
    char got_coins[sizeof coins];
    for (size_t i = 0; i < sizeof coins - 1; i++)
        got_coins[i] = nnxr_rng_below(&r, 2) ? 'H' : 'T';
    got_coins[sizeof coins - 1] = '\0';
    CHECKF(strcmp(got_coins, coins) == 0, "coins %s", got_coins);
    int roll_ok = 0;
    for (int i = 0; i < 33; i++)
        roll_ok += (int)nnxr_rng_below(&r, 6) + 1 == rolls[i];
    CHECKF(roll_ok == 33, "%d of 33 rolls match", roll_ok);

    /* Round 5 through plain draws and through the jump-ahead. */
    nnxr_rng a, b;
    nnxr_rng_seed(&a, 42, 54);
    nnxr_rng_seed(&b, 42, 54);
    for (int i = 0; i < 620; i++)
        (void)nnxr_rng_u32(&a);
    nnxr_rng_advance(&b, 620);
    CHECK(a.state == b.state && a.inc == b.inc);
    for (int i = 0; i < 6; i++) {
        uint32_t v = nnxr_rng_u32(&a);
        CHECKF(v == round5[i], "round 5 draw %d: 0x%08x, expected 0x%08x", i, v, round5[i]);
    }
    /* Advance by a large, odd count against stepping. */
    nnxr_rng_seed(&a, 7, 3);
    nnxr_rng_seed(&b, 7, 3);
    for (int i = 0; i < 100003; i++)
        (void)nnxr_rng_u32(&a);
    nnxr_rng_advance(&b, 100003);
    CHECK(nnxr_rng_u32(&a) == nnxr_rng_u32(&b));
    nnxr_rng_advance(&b, 0);
    CHECK(nnxr_rng_u32(&a) == nnxr_rng_u32(&b));
}

static void test_streams_and_seeds(void)
{
    nnxr_rng a, b, c;
    nnxr_rng_seed(&a, 1, 1);
    nnxr_rng_seed(&b, 1, 2);
    nnxr_rng_seed(&c, 2, 1);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = nnxr_rng_u32(&a), y = nnxr_rng_u32(&b), z = nnxr_rng_u32(&c);
        same_ab += x == y;
        same_ac += x == z;
    }
    CHECKF(same_ab < 3 && same_ac < 3, "streams/seeds overlap: %d %d", same_ab, same_ac);
}

static void test_distributions(void)
{
    nnxr_rng r;
    nnxr_rng_seed(&r, 12345, 0);
    enum { N = 200000 };
    double sf = 0, sd = 0, sn = 0, sn2 = 0, sn4 = 0;
    float lo_f = 1, hi_f = 0;
    double dmin = 1, dmax = 0;
    for (int i = 0; i < N; i++) {
        float f = nnxr_rng_float(&r);
        double d = nnxr_rng_double(&r);
        double g = nnxr_rng_normal(&r, 0.0, 1.0);
        sf += f;
        sd += d;
        sn += g;
        sn2 += g * g;
        sn4 += g * g * g * g;
        lo_f = fminf(lo_f, f);
        hi_f = fmaxf(hi_f, f);
        dmin = fmin(dmin, d);
        dmax = fmax(dmax, d);
    }
    CHECK(lo_f >= 0.0f && hi_f < 1.0f && dmin >= 0.0 && dmax < 1.0);
    /* Standard errors: uniform mean 0.00065, normal mean 0.0022, variance 0.0032. */
    CHECK_CLOSE(sf / N, 0.5, 0.004);
    CHECK_CLOSE(sd / N, 0.5, 0.004);
    CHECKF(fabs(sn / N) < 0.012, "normal mean %g", sn / N);
    CHECKF(fabs(sn2 / N - 1.0) < 0.02, "normal variance %g", sn2 / N);
    CHECKF(fabs(sn4 / N - 3.0) < 0.15, "normal 4th moment %g (expected 3)", sn4 / N);
    double shifted = 0;
    for (int i = 0; i < 20000; i++)
        shifted += nnxr_rng_normal(&r, 2.0, 0.5);
    CHECK_CLOSE(shifted / 20000, 2.0, 0.01);
    for (int i = 0; i < 1000; i++) {
        double u = nnxr_rng_uniform(&r, -6.0, 6.0);
        if (!(u >= -6.0 && u < 6.0)) {
            CHECKF(0, "uniform(-6, 6) gave %g", u);
            break;
        }
    }

    /* Bounded draws: every value equally likely (chi-square with 6 degrees of freedom,
     * 0.999 quantile 22.5), and the bound is never reached. */
    uint32_t hist[7] = {0};
    bool in_range = true;
    for (int i = 0; i < 70000; i++) {
        uint32_t v = nnxr_rng_below(&r, 7);
        if (v >= 7)
            in_range = false;
        else
            hist[v]++;
    }
    CHECK(in_range);
    double chi2 = 0;
    for (int k = 0; k < 7; k++)
        chi2 += (hist[k] - 10000.0) * (hist[k] - 10000.0) / 10000.0;
    CHECKF(chi2 < 22.5, "chi2 %g", chi2);
    CHECK(nnxr_rng_below(&r, 0) == 0 && nnxr_rng_below(&r, 1) == 0);
    /* A bound just above 2^31 rejects nearly half the draws; results must stay below it. */
    uint32_t big = 0x80000001u;
    bool big_ok = true;
    for (int i = 0; i < 1000; i++)
        big_ok = big_ok && nnxr_rng_below(&r, big) < big;
    CHECK(big_ok);
}

static void test_permutation(void)
{
    nnxr_rng r;
    nnxr_rng_seed(&r, 99, 5);
    enum { N = 1000 };
    uint32_t *p = malloc(sizeof *p * N), *seen = calloc(N, sizeof *seen);
    nnxr_rng_permutation(&r, p, N);
    int fixed = 0;
    bool perm = true;
    for (int i = 0; i < N; i++) {
        if (p[i] >= N || seen[p[i]]++)
            perm = false;
        fixed += p[i] == (uint32_t)i;
    }
    CHECK(perm);
    CHECKF(fixed < 10, "%d fixed points (a random permutation has about 1)", fixed);
    /* Each position is uniform: where element 0 lands over many shuffles of 4 items. */
    uint32_t where[4] = {0};
    for (int t = 0; t < 40000; t++) {
        uint32_t q[4];
        nnxr_rng_permutation(&r, q, 4);
        for (int k = 0; k < 4; k++)
            if (q[k] == 0)
                where[k]++;
    }
    for (int k = 0; k < 4; k++)
        CHECKF(where[k] > 9500 && where[k] < 10500, "element 0 at %d: %u of 40000", k, where[k]);
    nnxr_rng_shuffle_u32(&r, p, 0);
    nnxr_rng_shuffle_u32(&r, p, 1);
    free(p);
    free(seen);
}

int main(void)
{
    test_known_answers();
    test_streams_and_seeds();
    test_distributions();
    test_permutation();
    return check_finish();
}
