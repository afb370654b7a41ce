/* tests/unit/test_data_playground.c — TensorFlow Playground data sets: determinism per seed,
 * split sizes, class balance, each set's geometry against the playground's definitions, how
 * noise moves labels or points, and the feature maps and grids against hand-computed values. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/playground.h"

static nnxr_pg_set raw(nnxr_pg_kind kind, uint32_t n, float noise, uint64_t seed)
{
    nnxr_rng r;
    nnxr_rng_seed(&r, seed, 17);
    nnxr_pg_set s;
    nnxr_error err = {{0}};
    bool ok = nnxr_pg_generate_points(kind, n, noise, &r, &s, &err);
    CHECKF(ok, "%s", err.message);
    return s;
}

static double radius(const nnxr_pg_set *s, uint32_t i)
{
    return hypot(s->xy[2 * i], s->xy[2 * i + 1]);
}

static void test_determinism_and_split(void)
{
    nnxr_error err = {{0}};
    for (int k = 0; k < NNXR_PG_KIND_COUNT; k++) {
        nnxr_pg_options o = nnxr_pg_default_options((nnxr_pg_kind)k);
        o.noise = 0.2f;
        o.train_fraction = 0.7f;
        o.seed = 42;
        nnxr_pg_data a, b, c;
        bool ok = nnxr_pg_generate(&o, &a, &err) && nnxr_pg_generate(&o, &b, &err);
        o.seed = 43;
        ok = ok && nnxr_pg_generate(&o, &c, &err);
        CHECKF(ok, "%s", err.message);
        if (!ok)
            continue;
        uint32_t n = nnxr_pg_kind_is_regression((nnxr_pg_kind)k) ? 1200 : 500;
        uint32_t n_train = (uint32_t)floor(n * 0.7);
        CHECKF(a.train.count == n_train && a.test.count == n - n_train, "%s: %u + %u",
               nnxr_pg_kind_name((nnxr_pg_kind)k), a.train.count, a.test.count);
        CHECK(!memcmp(a.train.xy, b.train.xy, 8 * (size_t)a.train.count) &&
              !memcmp(a.train.target, b.train.target, 4 * (size_t)a.train.count) &&
              !memcmp(a.test.xy, b.test.xy, 8 * (size_t)a.test.count) &&
              !memcmp(a.test.cls, b.test.cls, a.test.count));
        CHECK(memcmp(a.train.xy, c.train.xy, 8 * (size_t)a.train.count) != 0);
        bool finite = true, cls_ok = true;
        for (uint32_t i = 0; i < a.train.count; i++) {
            finite = finite && isfinite(a.train.xy[2 * i]) && isfinite(a.train.xy[2 * i + 1]) &&
                     isfinite(a.train.target[i]);
            if (nnxr_pg_kind_is_regression((nnxr_pg_kind)k))
                cls_ok = cls_ok && a.train.cls[i] == 0;
            else
                cls_ok = cls_ok && (a.train.target[i] == 1.0f || a.train.target[i] == -1.0f) &&
                         a.train.cls[i] == (a.train.target[i] > 0);
        }
        CHECK(finite && cls_ok);
        nnxr_pg_data_free(&a);
        nnxr_pg_data_free(&b);
        nnxr_pg_data_free(&c);
    }
}

static void test_circle(void)
{
    /* noise 0: the inner disc (r < 2.5) is class 1, the ring 3.5..5 class 0, half each */
    nnxr_pg_set s = raw(NNXR_PG_CIRCLE, 500, 0.0f, 1);
    int pos = 0;
    bool geo = true;
    for (uint32_t i = 0; i < s.count; i++) {
        double r = radius(&s, i);
        pos += s.cls[i];
        geo = geo && (s.cls[i] ? r < 2.5 + 1e-6 : (r >= 3.5 - 1e-6 && r <= 5.0 + 1e-6));
    }
    CHECK(pos == 250 && geo);
    /* noise 0.3: same positions (same draws), labels decided at the displaced point, so some
     * flip; a class-1 point lies within 2.5 + 5·noise·√2 */
    nnxr_pg_set n = raw(NNXR_PG_CIRCLE, 500, 0.3f, 1);
    CHECK(!memcmp(s.xy, n.xy, 8 * 500));
    int flips = 0;
    bool bound = true;
    for (uint32_t i = 0; i < n.count; i++) {
        flips += n.cls[i] != s.cls[i];
        if (n.cls[i])
            bound = bound && radius(&n, i) < 2.5 + 5 * 0.3 * sqrt(2.0) + 1e-6;
    }
    CHECKF(flips > 10 && flips < 250, "%d labels flipped at noise 0.3", flips);
    CHECK(bound);
    nnxr_pg_set_free(&s);
    nnxr_pg_set_free(&n);
}

static void test_xor(void)
{
    nnxr_pg_set s = raw(NNXR_PG_XOR, 2000, 0.0f, 2);
    int pos = 0;
    bool geo = true, lab = true;
    for (uint32_t i = 0; i < s.count; i++) {
        double x = s.xy[2 * i], y = s.xy[2 * i + 1];
        pos += s.cls[i];
        geo = geo && fabs(x) >= 0.3 - 1e-6 && fabs(x) <= 5.3 + 1e-6 && fabs(y) >= 0.3 - 1e-6 &&
              fabs(y) <= 5.3 + 1e-6;
        lab = lab && s.cls[i] == (x * y >= 0);
    }
    CHECK(geo && lab);
    CHECKF(pos > 1000 - 90 && pos < 1000 + 90, "%d of 2000 in class 1", pos); /* 4 sigma */
    nnxr_pg_set n = raw(NNXR_PG_XOR, 2000, 0.5f, 2);
    CHECK(!memcmp(s.xy, n.xy, 8 * 2000));
    int flips = 0;
    for (uint32_t i = 0; i < n.count; i++)
        flips += n.cls[i] != s.cls[i];
    CHECKF(flips > 100 && flips < 1000, "%d labels flipped at noise 0.5", flips);
    nnxr_pg_set_free(&s);
    nnxr_pg_set_free(&n);
}

static void gauss_stats(float noise, double want_var)
{
    nnxr_pg_set s = raw(NNXR_PG_GAUSS, 2000, noise, 3);
    double sum[2][2] = {{0}}, sq[2][2] = {{0}};
    int cnt[2] = {0};
    for (uint32_t i = 0; i < s.count; i++) {
        int c = s.cls[i];
        cnt[c]++;
        for (int d = 0; d < 2; d++) {
            sum[c][d] += s.xy[2 * i + d];
            sq[c][d] += (double)s.xy[2 * i + d] * s.xy[2 * i + d];
        }
    }
    CHECK(cnt[0] == 1000 && cnt[1] == 1000);
    for (int c = 0; c < 2; c++)
        for (int d = 0; d < 2; d++) {
            double mean = sum[c][d] / cnt[c];
            double var = sq[c][d] / cnt[c] - mean * mean;
            double centre = c ? 2.0 : -2.0;
            CHECKF(fabs(mean - centre) < 5 * sqrt(want_var / cnt[c]),
                   "noise %g class %d axis %d: mean %g, expected %g", (double)noise, c, d, mean,
                   centre);
            CHECKF(fabs(var / want_var - 1) < 0.2, "noise %g class %d: variance %g, expected %g",
                   (double)noise, c, var, want_var);
        }
    nnxr_pg_set_free(&s);
}

static void test_gauss(void)
{
    gauss_stats(0.0f, 0.5); /* the playground's variance scale: [0, 0.5] -> [0.5, 4] */
    gauss_stats(0.25f, 2.25);
    gauss_stats(0.5f, 4.0);
}

static void test_spiral(void)
{
    nnxr_pg_set s = raw(NNXR_PG_SPIRAL, 500, 0.0f, 4);
    /* two arms: the second is the first turned by π, point for point; radius 5·i/n */
    bool mirror = true, radial = true, truth = true;
    for (uint32_t j = 0; j < 250; j++) {
        mirror = mirror && fabsf(s.xy[2 * (250 + j)] + s.xy[2 * j]) < 1e-5f &&
                 fabsf(s.xy[2 * (250 + j) + 1] + s.xy[2 * j + 1]) < 1e-5f;
        radial = radial && fabs(radius(&s, j) - 5.0 * j / 250) < 1e-5;
        radial = radial && s.cls[j] == 1 && s.cls[250 + j] == 0;
    }
    /* every point is nearer its own arm, except at the centre where both arms start */
    for (uint32_t i = 0; i < 500; i++) {
        bool ok = (nnxr_pg_truth(NNXR_PG_SPIRAL, s.xy[2 * i], s.xy[2 * i + 1]) > 0) ==
                  (s.cls[i] == 1);
        if (!ok && radius(&s, i) > 0.1)
            fprintf(stderr, "spiral point %u (%g, %g) class %d: nearer the other arm\n", i,
                    (double)s.xy[2 * i], (double)s.xy[2 * i + 1], s.cls[i]);
        truth = truth && (ok || radius(&s, i) <= 0.1);
    }
    CHECK(mirror);
    CHECK(radial);
    CHECK(truth);
    /* the last point of arm one: t = 1.75·2π·249/250, r = 5·249/250 */
    double t = 1.75 * 2 * M_PI * 249 / 250, r = 5.0 * 249 / 250;
    CHECK_CLOSE(s.xy[2 * 249], r * sin(t), 1e-6);
    CHECK_CLOSE(s.xy[2 * 249 + 1], r * cos(t), 1e-6);
    /* noise moves each coordinate by at most noise (uniform in ±noise), never the labels */
    nnxr_pg_set n = raw(NNXR_PG_SPIRAL, 500, 0.4f, 4);
    double maxd = 0;
    for (uint32_t i = 0; i < 1000; i++)
        maxd = fmax(maxd, fabs(n.xy[i] - s.xy[i]));
    CHECKF(maxd <= 0.4 + 1e-6 && maxd > 0.3, "largest move %g at noise 0.4", maxd);
    CHECK(!memcmp(n.cls, s.cls, 500));
    nnxr_pg_set_free(&s);
    nnxr_pg_set_free(&n);
}

static void test_regression(void)
{
    nnxr_pg_set p = raw(NNXR_PG_PLANE, 1200, 0.0f, 5);
    nnxr_pg_set g = raw(NNXR_PG_MULTI_GAUSS, 1200, 0.0f, 5);
    bool plane = true, mg = true, dom = true;
    double gmin = 0, gmax = 0;
    for (uint32_t i = 0; i < 1200; i++) {
        double x = p.xy[2 * i], y = p.xy[2 * i + 1];
        dom = dom && fabs(x) <= 6 && fabs(y) <= 6 && fabs(g.xy[2 * i]) <= 6 &&
              fabs(g.xy[2 * i + 1]) <= 6;
        plane = plane && fabs(p.target[i] - (x + y) / 10) < 1e-6 && p.cls[i] == 0;
        double t = nnxr_pg_truth(NNXR_PG_MULTI_GAUSS, g.xy[2 * i], g.xy[2 * i + 1]);
        mg = mg && fabs(g.target[i] - t) < 1e-6 && fabs(t) <= 1.0;
        gmin = fmin(gmin, g.target[i]);
        gmax = fmax(gmax, g.target[i]);
    }
    CHECK(plane && mg && dom);
    CHECKF(gmin < -0.8 && gmax > 0.8, "multi_gauss range %g..%g", gmin, gmax);
    /* the bumps: +1 at (-4, 2.5), -1 at (0, 2.5), 0 far from all, halfway down at d = 1 */
    CHECK_CLOSE(nnxr_pg_truth(NNXR_PG_MULTI_GAUSS, -4, 2.5), 1.0, 1e-12);
    CHECK_CLOSE(nnxr_pg_truth(NNXR_PG_MULTI_GAUSS, 0, 2.5), -1.0, 1e-12);
    CHECK_CLOSE(nnxr_pg_truth(NNXR_PG_MULTI_GAUSS, 4, -3.5), -0.5, 1e-12);
    CHECK_CLOSE(nnxr_pg_truth(NNXR_PG_MULTI_GAUSS, 6, 0), 0.0, 1e-12);
    CHECK_CLOSE(nnxr_pg_truth(NNXR_PG_PLANE, 3, 2), 0.5, 1e-12);
    /* noise: same positions, targets taken at a point displaced by at most 6·noise per axis */
    nnxr_pg_set pn = raw(NNXR_PG_PLANE, 1200, 0.5f, 5);
    CHECK(!memcmp(p.xy, pn.xy, 8 * 1200));
    double maxd = 0;
    for (uint32_t i = 0; i < 1200; i++)
        maxd = fmax(maxd, fabs(pn.target[i] - p.target[i]));
    CHECKF(maxd <= 0.6 + 1e-6 && maxd > 0.4, "largest target change %g at noise 0.5", maxd);
    nnxr_pg_set_free(&p);
    nnxr_pg_set_free(&g);
    nnxr_pg_set_free(&pn);
}

static void test_split_balance(void)
{
    /* circle at noise 0: 250 of each class overall, spread over train and test by the shuffle */
    nnxr_pg_options o = nnxr_pg_default_options(NNXR_PG_CIRCLE);
    nnxr_pg_data d;
    nnxr_error err = {{0}};
    CHECKF(nnxr_pg_generate(&o, &d, &err), "%s", err.message);
    int pos = 0, first_run = 1;
    for (uint32_t i = 0; i < d.train.count; i++)
        pos += d.train.cls[i];
    for (uint32_t i = 0; i < d.test.count; i++)
        pos += d.test.cls[i];
    while (first_run < 40 && d.train.cls[first_run] == d.train.cls[0])
        first_run++;
    CHECK(pos == 250 && d.train.count == 250 && d.test.count == 250);
    CHECKF(first_run < 20, "the first %d training points share a class: not shuffled", first_run);
    nnxr_pg_data_free(&d);
}

static void test_features(void)
{
    float xy[4] = {0.5f, -2.0f, 3.0f, 1.25f};
    float out[14];
    nnxr_features_apply(NNXR_FEAT_ALL, xy, 2, out);
    const float want[14] = {0.5f,  -2.0f, 0.25f, 4.0f,  -1.0f, (float)sin(0.5), (float)sin(-2.0),
                            3.0f,  1.25f, 9.0f,  1.5625f, 3.75f, (float)sin(3.0), (float)sin(1.25)};
    CHECK(!memcmp(out, want, sizeof want));
    nnxr_features_apply(NNXR_FEAT_X1_SQ | NNXR_FEAT_SIN_X2, xy, 2, out);
    CHECK(out[0] == 0.25f && out[1] == (float)sin(-2.0) && out[2] == 9.0f &&
          out[3] == (float)sin(1.25));
    CHECK(nnxr_features_count(NNXR_FEAT_ALL) == 7 && nnxr_features_count(NNXR_FEAT_DEFAULT) == 2 &&
          nnxr_features_count(0) == 0 && nnxr_features_count(0xFFFFFF80u) == 0);

    nnxr_pg_feature f;
    nnxr_error err = {{0}};
    CHECK(nnxr_feature_parse("x1^2", &f, &err) && f == NNXR_FEAT_X1_SQ);
    CHECK(nnxr_feature_parse("sin(x2)", &f, &err) && f == NNXR_FEAT_SIN_X2);
    CHECK(nnxr_feature_parse("x1x2", &f, &err) && f == NNXR_FEAT_X1_X2);
    CHECK(!nnxr_feature_parse("cos_x1", &f, &err));
    CHECK_CONTAINS(err.message, "feature \"cos_x1\": expected one of");
    for (uint32_t b = 0; b < 7; b++) {
        nnxr_pg_feature back;
        const char *name = nnxr_feature_name((nnxr_pg_feature)(1u << b));
        CHECK(name && nnxr_feature_parse(name, &back, &err) && back == (nnxr_pg_feature)(1u << b));
    }
    CHECK(nnxr_feature_name((nnxr_pg_feature)3) == NULL);

    /* grid: image order, edges included */
    float g[12];
    nnxr_pg_grid_points(3, 2, -6.0f, 6.0f, g);
    const float gw[12] = {-6, 6, 0, 6, 6, 6, -6, -6, 0, -6, 6, -6};
    CHECK(!memcmp(g, gw, sizeof gw));
    float big[2 * 100 * 100];
    nnxr_pg_grid_points(100, 100, -6.0f, 6.0f, big);
    CHECK(big[0] == -6.0f && big[1] == 6.0f && big[2 * 9999] == 6.0f && big[2 * 9999 + 1] == -6.0f);
    CHECK_CLOSE(big[2 * 1], -6.0 + 12.0 / 99, 1e-6);
}

static void test_names_and_errors(void)
{
    nnxr_error err = {{0}};
    nnxr_pg_kind k;
    for (int i = 0; i < NNXR_PG_KIND_COUNT; i++)
        CHECK(nnxr_pg_kind_parse(nnxr_pg_kind_name((nnxr_pg_kind)i), &k, &err) && (int)k == i);
    CHECK(nnxr_pg_kind_parse("reg-plane", &k, &err) && k == NNXR_PG_PLANE);
    CHECK(nnxr_pg_kind_parse("multi-gaussian", &k, &err) && k == NNXR_PG_MULTI_GAUSS);
    CHECK(!nnxr_pg_kind_parse("moons", &k, &err));
    CHECK_CONTAINS(err.message, "\"moons\": expected circle, xor");
    CHECK(nnxr_pg_kind_is_regression(NNXR_PG_PLANE) && !nnxr_pg_kind_is_regression(NNXR_PG_XOR));

    nnxr_pg_options o = nnxr_pg_default_options(NNXR_PG_XOR);
    nnxr_pg_data d;
    o.noise = 0.6f;
    CHECK(!nnxr_pg_generate(&o, &d, &err));
    CHECK_CONTAINS(err.message, "noise 0.6: expected 0..0.5");
    o.noise = NAN;
    CHECK(!nnxr_pg_generate(&o, &d, &err));
    o.noise = 0;
    o.train_fraction = 0;
    CHECK(!nnxr_pg_generate(&o, &d, &err));
    CHECK_CONTAINS(err.message, "train fraction 0");
    o.train_fraction = 0.5f;
    o.num_points = 0;
    CHECK(!nnxr_pg_generate(&o, &d, &err));
    CHECK_CONTAINS(err.message, "0 points");
    o.num_points = 1;
    CHECK(!nnxr_pg_generate(&o, &d, &err));
    CHECK_CONTAINS(err.message, "leave no training point");
    o.num_points = 7; /* odd counts: all 7 points, the extra one in class 1 */
    o.train_fraction = 1.0f;
    o.kind = NNXR_PG_GAUSS;
    CHECK(nnxr_pg_generate(&o, &d, &err) && d.train.count == 7 && d.test.count == 0);
    int pos = 0;
    for (uint32_t i = 0; i < d.train.count; i++)
        pos += d.train.cls[i];
    CHECK(pos == 4);
    nnxr_pg_data_free(&d);
}

int main(void)
{
    test_determinism_and_split();
    test_circle();
    test_xor();
    test_gauss();
    test_spiral();
    test_regression();
    test_split_balance();
    test_features();
    test_names_and_errors();
    return check_finish();
}
