/* data/playground.c — TensorFlow Playground's data generators, their shuffle and split, the
 * noise-free labelling rules and the feature maps (see playground.h for the geometry). */
#include "data/playground.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"

#define PG_PI 3.14159265358979323846
#define PG_MAX_POINTS (1u << 24)
#define PG_STREAM 0x706c6179u /* "play" */

static const char *const kind_names[NNXR_PG_KIND_COUNT] = {
    "circle", "xor", "gauss", "spiral", "plane", "multi_gauss",
};

bool nnxr_pg_kind_parse(const char *name, nnxr_pg_kind *out, nnxr_error *err)
{
    static const struct {
        const char *name;
        nnxr_pg_kind kind;
    } aliases[] = {
        {"circle", NNXR_PG_CIRCLE},          {"xor", NNXR_PG_XOR},
        {"gauss", NNXR_PG_GAUSS},            {"gaussian", NNXR_PG_GAUSS},
        {"spiral", NNXR_PG_SPIRAL},          {"plane", NNXR_PG_PLANE},
        {"reg-plane", NNXR_PG_PLANE},        {"multi_gauss", NNXR_PG_MULTI_GAUSS},
        {"multi-gauss", NNXR_PG_MULTI_GAUSS}, {"multi-gaussian", NNXR_PG_MULTI_GAUSS},
        {"multi_gaussian", NNXR_PG_MULTI_GAUSS}, {"reg-gauss", NNXR_PG_MULTI_GAUSS},
    };
    for (size_t i = 0; name && i < sizeof aliases / sizeof aliases[0]; i++) {
        if (!strcasecmp(name, aliases[i].name)) {
            *out = aliases[i].kind;
            return true;
        }
    }
    return nnxr_fail(err,
                     "playground data set \"%s\": expected circle, xor, gauss, spiral, plane or "
                     "multi_gauss",
                     name ? name : "(none)");
}

const char *nnxr_pg_kind_name(nnxr_pg_kind kind)
{
    return (unsigned)kind < NNXR_PG_KIND_COUNT ? kind_names[kind] : "unknown";
}

bool nnxr_pg_kind_is_regression(nnxr_pg_kind kind)
{
    return kind == NNXR_PG_PLANE || kind == NNXR_PG_MULTI_GAUSS;
}

nnxr_pg_options nnxr_pg_default_options(nnxr_pg_kind kind)
{
    nnxr_pg_options o;
    o.kind = kind;
    o.num_points = nnxr_pg_kind_is_regression(kind) ? 1200 : 500;
    o.noise = 0.0f;
    o.train_fraction = 0.5f;
    o.seed = 1;
    return o;
}

void nnxr_pg_set_free(nnxr_pg_set *set)
{
    if (!set)
        return;
    free(set->xy);
    free(set->target);
    free(set->cls);
    memset(set, 0, sizeof *set);
}

void nnxr_pg_data_free(nnxr_pg_data *data)
{
    if (!data)
        return;
    nnxr_pg_set_free(&data->train);
    nnxr_pg_set_free(&data->test);
}

static bool pg_alloc(nnxr_pg_set *set, uint32_t count, nnxr_error *err)
{
    memset(set, 0, sizeof *set);
    set->xy = malloc(sizeof *set->xy * 2 * (size_t)count + 1);
    set->target = malloc(sizeof *set->target * (size_t)count + 1);
    set->cls = calloc((size_t)count + 1, 1);
    if (!set->xy || !set->target || !set->cls) {
        nnxr_pg_set_free(set);
        return nnxr_fail(err, "playground: out of memory for %u points", count);
    }
    set->count = count;
    return true;
}

static void pg_put(nnxr_pg_set *s, uint32_t i, double x, double y, double target, bool regress)
{
    s->xy[2 * i] = (float)x;
    s->xy[2 * i + 1] = (float)y;
    s->target[i] = (float)target;
    s->cls[i] = (!regress && target > 0) ? 1 : 0;
}

static double circle_label(double x, double y)
{
    return sqrt(x * x + y * y) < 2.5 ? 1.0 : -1.0;
}

static double xor_label(double x, double y)
{
    return x * y >= 0 ? 1.0 : -1.0;
}

static double plane_target(double x, double y)
{
    return (x + y) / 10.0; /* the playground's linear map [-10, 10] -> [-1, 1], unclamped */
}

static double multi_gauss_target(double x, double y)
{
    static const double bumps[6][3] = {
        {-4, 2.5, 1}, {0, 2.5, -1}, {4, 2.5, 1}, {-4, -2.5, -1}, {0, -2.5, 1}, {4, -2.5, -1},
    };
    double label = 0;
    for (int k = 0; k < 6; k++) {
        double dx = x - bumps[k][0], dy = y - bumps[k][1];
        double s = 1.0 - sqrt(dx * dx + dy * dy) / 2.0; /* [0, 2] -> [1, 0], clamped */
        s = s < 0 ? 0 : s > 1 ? 1 : s;
        double v = bumps[k][2] * s;
        if (fabs(v) > fabs(label))
            label = v;
    }
    return label;
}

/* Distance² from (x, y) to the nearest of 1024 samples along a spiral arm. */
static double spiral_dist2(double x, double y, double delta)
{
    double best = INFINITY;
    for (int k = 0; k <= 1024; k++) {
        double s = k / 1024.0;
        double r = 5.0 * s, t = 1.75 * s * 2.0 * PG_PI + delta;
        double dx = x - r * sin(t), dy = y - r * cos(t);
        double d2 = dx * dx + dy * dy;
        if (d2 < best)
            best = d2;
    }
    return best;
}

double nnxr_pg_truth(nnxr_pg_kind kind, double x1, double x2)
{
    switch (kind) {
    case NNXR_PG_CIRCLE: return circle_label(x1, x2);
    case NNXR_PG_XOR: return xor_label(x1, x2);
    case NNXR_PG_GAUSS: return x1 + x2 >= 0 ? 1.0 : -1.0;
    case NNXR_PG_SPIRAL:
        return spiral_dist2(x1, x2, 0.0) <= spiral_dist2(x1, x2, PG_PI) ? 1.0 : -1.0;
    case NNXR_PG_PLANE: return plane_target(x1, x2);
    case NNXR_PG_MULTI_GAUSS: return multi_gauss_target(x1, x2);
    default: return NAN;
    }
}

bool nnxr_pg_generate_points(nnxr_pg_kind kind, uint32_t count, float noise_f, nnxr_rng *rng,
                             nnxr_pg_set *out, nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)kind >= NNXR_PG_KIND_COUNT)
        return nnxr_fail(err, "playground: unknown data set kind %d", (int)kind);
    if (!(noise_f >= 0.0f && noise_f <= 0.5f))
        return nnxr_fail(err, "playground noise %g: expected 0..0.5 (0-50 %%)", (double)noise_f);
    if (count == 0 || count > PG_MAX_POINTS)
        return nnxr_fail(err, "playground: %u points: expected 1..%u", count, PG_MAX_POINTS);
    if (!pg_alloc(out, count, err))
        return false;
    double noise = noise_f;
    /* The playground makes numSamples/2 points of each class; for an odd count the +1 block
     * gets the extra point so the total is exactly `count`. */
    uint32_t n_pos = count - count / 2;
    switch (kind) {
    case NNXR_PG_CIRCLE:
        for (uint32_t i = 0; i < count; i++) {
            bool inner = i < n_pos;
            double r = inner ? nnxr_rng_uniform(rng, 0.0, 2.5) : nnxr_rng_uniform(rng, 3.5, 5.0);
            double a = nnxr_rng_uniform(rng, 0.0, 2.0 * PG_PI);
            double x = r * sin(a), y = r * cos(a);
            double nx = nnxr_rng_uniform(rng, -5.0, 5.0) * noise;
            double ny = nnxr_rng_uniform(rng, -5.0, 5.0) * noise;
            pg_put(out, i, x, y, circle_label(x + nx, y + ny), false);
        }
        break;
    case NNXR_PG_XOR:
        for (uint32_t i = 0; i < count; i++) {
            double x = nnxr_rng_uniform(rng, -5.0, 5.0);
            x += x > 0 ? 0.3 : -0.3; /* keep points off the axes, where the label flips */
            double y = nnxr_rng_uniform(rng, -5.0, 5.0);
            y += y > 0 ? 0.3 : -0.3;
            double nx = nnxr_rng_uniform(rng, -5.0, 5.0) * noise;
            double ny = nnxr_rng_uniform(rng, -5.0, 5.0) * noise;
            pg_put(out, i, x, y, xor_label(x + nx, y + ny), false);
        }
        break;
    case NNXR_PG_GAUSS: {
        double sd = sqrt(0.5 + 7.0 * noise); /* variance [0, 0.5] -> [0.5, 4] */
        for (uint32_t i = 0; i < count; i++) {
            double c = i < n_pos ? 2.0 : -2.0;
            double x = nnxr_rng_normal(rng, c, sd);
            double y = nnxr_rng_normal(rng, c, sd);
            pg_put(out, i, x, y, i < n_pos ? 1.0 : -1.0, false);
        }
        break;
    }
    case NNXR_PG_SPIRAL:
        for (uint32_t i = 0; i < count; i++) {
            bool pos = i < n_pos;
            uint32_t n = pos ? n_pos : count - n_pos;
            uint32_t j = pos ? i : i - n_pos;
            double r = (double)j / n * 5.0;
            double t = 1.75 * (double)j / n * 2.0 * PG_PI + (pos ? 0.0 : PG_PI);
            double x = r * sin(t) + nnxr_rng_uniform(rng, -1.0, 1.0) * noise;
            double y = r * cos(t) + nnxr_rng_uniform(rng, -1.0, 1.0) * noise;
            pg_put(out, i, x, y, pos ? 1.0 : -1.0, false);
        }
        break;
    case NNXR_PG_PLANE:
    case NNXR_PG_MULTI_GAUSS:
        for (uint32_t i = 0; i < count; i++) {
            double x = nnxr_rng_uniform(rng, -6.0, 6.0);
            double y = nnxr_rng_uniform(rng, -6.0, 6.0);
            double nx = nnxr_rng_uniform(rng, -6.0, 6.0) * noise;
            double ny = nnxr_rng_uniform(rng, -6.0, 6.0) * noise;
            double t = kind == NNXR_PG_PLANE ? plane_target(x + nx, y + ny)
                                             : multi_gauss_target(x + nx, y + ny);
            pg_put(out, i, x, y, t, true);
        }
        break;
    default: break;
    }
    return true;
}

static bool pg_take(const nnxr_pg_set *src, const uint32_t *idx, uint32_t n, nnxr_pg_set *dst,
                    nnxr_error *err)
{
    if (!pg_alloc(dst, n, err))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = idx[i];
        dst->xy[2 * i] = src->xy[2 * k];
        dst->xy[2 * i + 1] = src->xy[2 * k + 1];
        dst->target[i] = src->target[k];
        dst->cls[i] = src->cls[k];
    }
    return true;
}

bool nnxr_pg_generate(const nnxr_pg_options *opt, nnxr_pg_data *out, nnxr_error *err)
{
    memset(out, 0, sizeof *out);
    if (!(opt->train_fraction > 0.0f && opt->train_fraction <= 1.0f))
        return nnxr_fail(err, "playground train fraction %g: expected a value in (0, 1]",
                         (double)opt->train_fraction);
    /* floor, as the playground does, but forgiving the float's rounding (0.7f * 500 is
     * 349.99999). */
    double want = (double)opt->num_points * (double)opt->train_fraction;
    uint32_t n_train = (uint32_t)floor(want + 1e-6 * (want > 1.0 ? want : 1.0));
    if (opt->num_points > 0 && n_train == 0)
        return nnxr_fail(err,
                         "playground: %u points with train fraction %g leave no training point",
                         opt->num_points, (double)opt->train_fraction);
    nnxr_rng rng;
    nnxr_rng_seed(&rng, opt->seed, PG_STREAM);
    nnxr_pg_set all;
    if (!nnxr_pg_generate_points(opt->kind, opt->num_points, opt->noise, &rng, &all, err))
        return false;
    uint32_t *perm = malloc(sizeof *perm * all.count);
    if (!perm) {
        nnxr_pg_set_free(&all);
        return nnxr_fail(err, "playground: out of memory");
    }
    nnxr_rng_permutation(&rng, perm, all.count);
    bool ok = pg_take(&all, perm, n_train, &out->train, err) &&
              pg_take(&all, perm + n_train, all.count - n_train, &out->test, err);
    free(perm);
    nnxr_pg_set_free(&all);
    if (!ok) {
        nnxr_pg_data_free(out);
        return false;
    }
    out->kind = opt->kind;
    return true;
}

/* ---- feature maps ---- */

static const char *const feature_names[7] = {
    "x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2",
};

uint32_t nnxr_features_count(nnxr_feature_mask mask)
{
    uint32_t n = 0;
    for (uint32_t b = 0; b < 7; b++)
        n += (mask >> b) & 1u;
    return n;
}

bool nnxr_feature_parse(const char *name, nnxr_pg_feature *bit, nnxr_error *err)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } aliases[] = {
        {"x1", NNXR_FEAT_X1},         {"x2", NNXR_FEAT_X2},          {"x1^2", NNXR_FEAT_X1_SQ},
        {"x1sq", NNXR_FEAT_X1_SQ},    {"x1_sq", NNXR_FEAT_X1_SQ},    {"x2^2", NNXR_FEAT_X2_SQ},
        {"x2sq", NNXR_FEAT_X2_SQ},    {"x2_sq", NNXR_FEAT_X2_SQ},    {"x1x2", NNXR_FEAT_X1_X2},
        {"x1*x2", NNXR_FEAT_X1_X2},   {"x1_x2", NNXR_FEAT_X1_X2},    {"sin_x1", NNXR_FEAT_SIN_X1},
        {"sin(x1)", NNXR_FEAT_SIN_X1}, {"sinx1", NNXR_FEAT_SIN_X1},  {"sin_x2", NNXR_FEAT_SIN_X2},
        {"sin(x2)", NNXR_FEAT_SIN_X2}, {"sinx2", NNXR_FEAT_SIN_X2},
    };
    for (size_t i = 0; name && i < sizeof aliases / sizeof aliases[0]; i++) {
        if (!strcasecmp(name, aliases[i].name)) {
            *bit = (nnxr_pg_feature)aliases[i].bit;
            return true;
        }
    }
    return nnxr_fail(err,
                     "feature \"%s\": expected one of x1, x2, x1^2, x2^2, x1x2, sin_x1, sin_x2",
                     name ? name : "(none)");
}

const char *nnxr_feature_name(nnxr_pg_feature bit)
{
    for (uint32_t b = 0; b < 7; b++)
        if ((uint32_t)bit == (1u << b))
            return feature_names[b];
    return NULL;
}

void nnxr_features_apply(nnxr_feature_mask mask, const float *xy, size_t count, float *out)
{
    for (size_t i = 0; i < count; i++) {
        double x1 = xy[2 * i], x2 = xy[2 * i + 1];
        double f[7] = {x1, x2, x1 * x1, x2 * x2, x1 * x2, sin(x1), sin(x2)};
        for (uint32_t b = 0; b < 7; b++)
            if (mask & (1u << b))
                *out++ = (float)f[b];
    }
}

void nnxr_pg_grid_points(uint32_t nx, uint32_t ny, float lo, float hi, float *xy)
{
    double span = (double)hi - (double)lo;
    for (uint32_t r = 0; r < ny; r++) {
        double y = ny > 1 ? (double)hi - span * r / (ny - 1) : 0.5 * ((double)lo + hi);
        for (uint32_t c = 0; c < nx; c++) {
            double x = nx > 1 ? (double)lo + span * c / (nx - 1) : 0.5 * ((double)lo + hi);
            xy[2 * ((size_t)r * nx + c)] = (float)x;
            xy[2 * ((size_t)r * nx + c) + 1] = (float)y;
        }
    }
}
