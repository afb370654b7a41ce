/* nn/layers_ops.c — the recording calls of every kernel that is not a GEMM: maxpool,
 * activations, the losses and their statistics, the VAE's reparameterisation and latent
 * backward, the data gather, reductions, the finite check, per-class sums, the optimizers; and
 * the CPU mirror of the GPU random generator. Each call checks its shapes and arguments, binds,
 * and records one or two dispatches. */
#include "nn/layers_internal.h"

#include <math.h>
#include <string.h>

#include "core/status.h"
#include "nn/layers_push.h"

/* Loop iterations one invocation of a single-workgroup kernel may spend (the cap is 65,535
 * for all of an invocation's loops together). */
#define SINGLE_WG_BUDGET 40000u

static nn_arg arg(const char *name, nnxr_nn_mem m, uint64_t elems, bool optional)
{
    nn_arg a = {name, m, elems, optional, 0};
    return a;
}

static const nnxr_nn_mem none = {0};

static bool check_act(nnxr_nn_act a, const char *what, nnxr_error *err)
{
    if ((unsigned)a > NNXR_NN_SIGMOID)
        return nnxr_fail(err, "%s: activation %d (expected 0..3)", what, (int)a);
    return true;
}

static bool check_count(uint64_t count, const char *what, const char *name, nnxr_error *err)
{
    if (count == 0)
        return nnxr_fail(err, "%s: %s is 0", what, name);
    if (count > UINT32_MAX / 2)
        return nnxr_fail(err, "%s: %s = %llu is too large", what, name,
                         (unsigned long long)count);
    return true;
}

/* ---- maxpool --------------------------------------------------------------------------------- */

static bool pool_shape(uint32_t batch, uint32_t ch, uint32_t h, uint32_t w, const char *what,
                       nnxr_error *err)
{
    if (!batch || !ch || h < 2 || w < 2)
        return nnxr_fail(err, "%s: shape batch %u, ch %u, %ux%u (expected >= 1 samples and "
                              "channels and an image of at least 2x2)",
                         what, batch, ch, h, w);
    return check_count((uint64_t)batch * ch * h * w, what, "batch*ch*h*w", err);
}

/* Whether a maxpool takes two windows an invocation (maxpool_*.comp PAIR): no dropped row or
 * column, rows of whole vec4s, and its arguments' element offsets from their bound range
 * starts (nn_bind's rule) multiples of 4 (x, dx) or 2 (y, dy: args[1]). */
static bool pool_pair(const nnxr_nn_tape *t, uint32_t h, uint32_t w, const nn_arg *args,
                      uint32_t count)
{
    if (h % 2 || w % 4)
        return false;
    for (uint32_t i = 0; i < count; i++) {
        if (nn_bound_elem(t->nn, args[i].mem) % (i == 1 ? 2 : 4))
            return false;
    }
    return true;
}

bool nnxr_nn_maxpool_forward(nnxr_nn_tape *t, uint32_t batch, uint32_t ch, uint32_t h,
                             uint32_t w, nnxr_nn_mem x, nnxr_nn_mem y, nnxr_error *err)
{
    const char *what = "nnxr_nn_maxpool_forward";
    if (!pool_shape(batch, ch, h, w, what, err))
        return false;
    uint64_t planes = (uint64_t)batch * ch, out = planes * (h / 2) * (w / 2);
    nn_arg args[2] = {arg("x", x, planes * h * w, false), arg("y", y, out, false)};
    uint32_t offs[2];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_MAXPOOL_FWD, pool_pair(t, h, w, args, 2) ? 1u : 0u, what, args, 2,
                 &k, &b, offs, err))
        return false;
    nn_pool_push p = {.count = (uint32_t)out, .h = h, .w = w, .oh = h / 2, .ow = w / 2,
                      .x_off = offs[0], .y_off = offs[1]};
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(out, 256), 1, 1, err);
}

bool nnxr_nn_maxpool_backward(nnxr_nn_tape *t, uint32_t batch, uint32_t ch, uint32_t h,
                              uint32_t w, nnxr_nn_mem x, nnxr_nn_mem dy, nnxr_nn_mem dx,
                              nnxr_nn_act dx_act, nnxr_error *err)
{
    const char *what = "nnxr_nn_maxpool_backward";
    if (!pool_shape(batch, ch, h, w, what, err) || !check_act(dx_act, what, err))
        return false;
    uint64_t planes = (uint64_t)batch * ch, in = planes * h * w, out = planes * (h / 2) * (w / 2);
    nn_arg args[3] = {arg("x", x, in, false), arg("dy", dy, out, false), arg("dx", dx, in, false)};
    uint32_t offs[3];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_MAXPOOL_BWD, pool_pair(t, h, w, args, 3) ? 1u : 0u, what, args, 3,
                 &k, &b, offs, err))
        return false;
    /* One invocation per 2x2 window cell (maxpool_bwd.comp). */
    uint64_t cells = planes * ((h + 1) / 2) * ((w + 1) / 2);
    nn_pool_push p = {.count = (uint32_t)cells, .h = h, .w = w, .oh = h / 2, .ow = w / 2,
                      .x_off = offs[0], .y_off = offs[1], .z_off = offs[2],
                      .act = (uint32_t)dx_act};
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(cells, 64), 1, 1, err);
}

/* ---- activations ---------------------------------------------------------------------------- */

bool nnxr_nn_act_forward(nnxr_nn_tape *t, nnxr_nn_act act, uint32_t count, nnxr_nn_mem x,
                         nnxr_nn_mem y, nnxr_error *err)
{
    const char *what = "nnxr_nn_act_forward";
    if (!check_act(act, what, err) || !check_count(count, what, "count", err))
        return false;
    nn_arg args[2] = {arg("x", x, count, false), arg("y", y, count, false)};
    uint32_t offs[2];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_ACT_FWD, 0, what, args, 2, &k, &b, offs, err))
        return false;
    nn_act_push p = {.count = count, .a_off = offs[0], .b_off = offs[1], .act = (uint32_t)act};
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(count, 256), 1, 1, err);
}

bool nnxr_nn_act_backward(nnxr_nn_tape *t, nnxr_nn_act act, uint32_t count, nnxr_nn_mem y,
                          nnxr_nn_mem dy, nnxr_nn_mem dz, nnxr_error *err)
{
    const char *what = "nnxr_nn_act_backward";
    if (!check_act(act, what, err) || !check_count(count, what, "count", err))
        return false;
    nn_arg args[3] = {arg("y", y, count, false), arg("dy", dy, count, false),
                      arg("dz", dz, count, false)};
    uint32_t offs[3];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_ACT_BWD, 0, what, args, 3, &k, &b, offs, err))
        return false;
    nn_act_push p = {.count = count, .a_off = offs[0], .b_off = offs[1], .c_off = offs[2],
                     .act = (uint32_t)act};
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(count, 256), 1, 1, err);
}

/* ---- losses ---------------------------------------------------------------------------------- */

bool nnxr_nn_softmax_ce(nnxr_nn_tape *t, const nnxr_nn_ce_args *a, nnxr_error *err)
{
    const char *what = "nnxr_nn_softmax_ce";
    if (!a)
        return nnxr_fail(err, "%s: no arguments", what);
    if (!a->batch || !a->classes || a->batch > 65536 || a->classes > 1024)
        return nnxr_fail(err, "%s: batch %u, classes %u (expected 1..65536 and 1..1024)", what,
                         a->batch, a->classes);
    uint64_t per_inv = ((uint64_t)a->batch + 255) / 256 * (3ull * a->classes + 8);
    if (per_inv > SINGLE_WG_BUDGET)
        return nnxr_fail(err, "%s: batch %u x classes %u is too much work for one workgroup "
                              "(split the batch)",
                         what, a->batch, a->classes);
    bool labels = nn_present(a->labels);
    if (!labels && (nn_present(a->dlogits) || nn_present(a->stats) || nn_present(a->mask)))
        return nnxr_fail(err, "%s: dlogits, mask and stats need labels", what);
    uint64_t bc = (uint64_t)a->batch * a->classes;
    nn_arg args[6] = {arg("logits", a->logits, bc, false), arg("labels", a->labels, a->batch, true),
                      arg("mask", a->mask, a->batch, true), arg("dlogits", a->dlogits, bc, true),
                      arg("probs", a->probs, bc, true),
                      arg("stats", a->stats, NNXR_NN_STATS, true)};
    uint32_t offs[6];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_SOFTMAX_CE, 0, what, args, 6, &k, &b, offs, err))
        return false;
    nn_ce_push p = {.batch = a->batch,
                    .classes = a->classes,
                    .logits_off = offs[0],
                    .labels_off = offs[1],
                    .mask_off = offs[2],
                    .dlogits_off = offs[3],
                    .probs_off = offs[4],
                    .stats_off = offs[5],
                    .flags = (nn_present(a->mask) ? NN_CE_MASK : 0u) |
                             (nn_present(a->dlogits) ? NN_CE_DLOGITS : 0u) |
                             (nn_present(a->probs) ? NN_CE_PROBS : 0u) |
                             (nn_present(a->stats) ? NN_CE_STATS : 0u) |
                             (labels ? NN_CE_LABELS : 0u),
                    .weight = a->weight == 0.0f ? 1.0f : a->weight};
    return nn_dispatch(t, k, b, &p, sizeof p, 1, 1, 1, err);
}

bool nnxr_nn_mse(nnxr_nn_tape *t, uint32_t batch, uint32_t outputs, nnxr_nn_mem y,
                 nnxr_nn_mem tg, nnxr_nn_mem dy, nnxr_nn_mem stats, nnxr_error *err)
{
    const char *what = "nnxr_nn_mse";
    uint64_t total = (uint64_t)batch * outputs;
    if (!batch || !outputs)
        return nnxr_fail(err, "%s: batch %u, outputs %u (each must be >= 1)", what, batch,
                         outputs);
    if ((total + 255) / 256 > SINGLE_WG_BUDGET)
        return nnxr_fail(err, "%s: %llu elements is too much for one workgroup (split the "
                              "batch)",
                         what, (unsigned long long)total);
    nn_arg args[4] = {arg("y", y, total, false), arg("t", tg, total, false),
                      arg("dy", dy, total, true), arg("stats", stats, NNXR_NN_STATS, true)};
    uint32_t offs[4];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_MSE, 0, what, args, 4, &k, &b, offs, err))
        return false;
    nn_mse_push p = {.batch = batch, .outputs = outputs, .y_off = offs[0], .t_off = offs[1],
                     .dy_off = offs[2], .stats_off = offs[3],
                     .flags = (nn_present(dy) ? NN_MSE_DY : 0u) |
                              (nn_present(stats) ? NN_MSE_STATS : 0u)};
    return nn_dispatch(t, k, b, &p, sizeof p, 1, 1, 1, err);
}

bool nnxr_nn_bce_logits(nnxr_nn_tape *t, uint32_t batch, uint32_t features, nnxr_nn_mem logits,
                        nnxr_nn_mem tg, nnxr_nn_mem dlogits, nnxr_nn_mem recon,
                        nnxr_nn_mem stats, nnxr_error *err)
{
    const char *what = "nnxr_nn_bce_logits";
    uint64_t total = (uint64_t)batch * features;
    if (!batch || !features || !check_count(total, what, "batch*features", err))
        return nnxr_fail(err, "%s: batch %u, features %u (each must be >= 1)", what, batch,
                         features);
    if ((features + 63) / 64 * ((uint64_t)batch / 65535 + 1) > SINGLE_WG_BUDGET)
        return nnxr_fail(err, "%s: %u features per row is too many", what, features);
    nnxr_buffer *rows = NULL;
    if (nn_present(stats) && !nn_scratch(t, 2, (uint64_t)batch * 4, &rows, err))
        return nnxr_fail_prefix(err, "%s", what);
    nn_arg args[5] = {arg("logits", logits, total, false), arg("t", tg, total, false),
                      arg("dlogits", dlogits, total, true), arg("recon", recon, total, true),
                      arg("rowloss", rows ? nnxr_nn_at(rows, 0) : none, batch, true)};
    uint32_t offs[5];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (nn_present(stats)) {
        /* Check the statistics argument before anything is recorded. */
        nn_arg s = arg("stats", stats, NNXR_NN_STATS, false);
        if (stats.offset % 4 || stats.offset > stats.buf->size ||
            s.elems * 4 > stats.buf->size - stats.offset)
            return nnxr_fail(err, "%s: argument 'stats' needs %u bytes at offset %llu of "
                                  "buffer \"%s\" (%llu bytes)",
                             what, NNXR_NN_STATS * 4, (unsigned long long)stats.offset,
                             stats.buf->name, (unsigned long long)stats.buf->size);
    }
    if (!nn_bind(t, NN_K_BCE, 0, what, args, 5, &k, &b, offs, err))
        return false;
    nn_bce_push p = {.batch = batch, .features = features, .a_off = offs[0], .t_off = offs[1],
                     .d_off = offs[2], .r_off = offs[3], .l_off = offs[4],
                     .flags = (nn_present(dlogits) ? NN_BCE_DLOGITS : 0u) |
                              (nn_present(recon) ? NN_BCE_RECON : 0u) |
                              (rows ? NN_BCE_ROWLOSS : 0u)};
    if (!nn_dispatch(t, k, b, &p, sizeof p, batch > 65535 ? 65535 : batch, 1, 1, err))
        return false;
    if (!rows)
        return true;
    nn_arg rargs[2] = {arg("rowloss", nnxr_nn_at(rows, 0), batch, false),
                       arg("stats", stats, NNXR_NN_STATS, false)};
    uint32_t roffs[2];
    if (!nn_bind(t, NN_K_REDUCE, 0, what, rargs, 2, &k, &b, roffs, err))
        return false;
    nn_reduce_push rp = {.count = batch, .chunk = batch, .x_off = roffs[0], .out_off = roffs[1],
                         .flags = NN_REDUCE_ACCUMULATE | NN_REDUCE_STATS,
                         .extra = (float)batch};
    return nn_dispatch(t, k, b, &rp, sizeof rp, 1, 1, 1, err);
}

/* ---- the GPU random generator, on the CPU --------------------------------------------------- */

static uint32_t rng_hash(uint32_t x)
{
    uint32_t state = x * 747796405u + 2891336453u;
    uint32_t word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

uint32_t nnxr_nn_rng_bits(uint32_t seed, uint32_t step, uint32_t element, uint32_t lane)
{
    uint32_t h = rng_hash(seed ^ 0x9E3779B9u);
    h = rng_hash(h ^ step);
    h = rng_hash(h ^ element);
    return rng_hash(h ^ lane);
}

double nnxr_nn_rng_normal(uint32_t seed, uint32_t step, uint32_t element)
{
    double u1 = ((double)(nnxr_nn_rng_bits(seed, step, element, 0) >> 8) + 0.5) / 16777216.0;
    double u2 = ((double)(nnxr_nn_rng_bits(seed, step, element, 1) >> 8) + 0.5) / 16777216.0;
    return sqrt(-2.0 * log(u1)) * cos(6.28318530717958647692 * u2);
}

/* ---- VAE ------------------------------------------------------------------------------------- */

bool nnxr_nn_reparam_forward(nnxr_nn_tape *t, uint32_t batch, uint32_t d, nnxr_nn_mem mu,
                             nnxr_nn_mem logvar, nnxr_nn_mem hparams, nnxr_nn_mem eps,
                             nnxr_nn_mem z, bool deterministic, nnxr_error *err)
{
    const char *what = "nnxr_nn_reparam_forward";
    uint64_t n = (uint64_t)batch * d;
    if (!batch || !d || !check_count(n, what, "batch*d", err))
        return nnxr_fail(err, "%s: batch %u, d %u (each must be >= 1)", what, batch, d);
    nn_arg args[5] = {arg("mu", mu, n, false), arg("logvar", logvar, n, false),
                      arg("hparams", hparams, NNXR_NN_HPARAMS_SIZE / 4, deterministic),
                      arg("eps", eps, n, false), arg("z", z, n, false)};
    uint32_t offs[5];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_REPARAM, 0, what, args, 5, &k, &b, offs, err))
        return false;
    nn_reparam_push p = {.count = (uint32_t)n, .mu_off = offs[0], .lv_off = offs[1],
                         .hp_off = offs[2], .eps_off = offs[3], .z_off = offs[4],
                         .step_index = t->step,
                         .flags = deterministic ? NN_REPARAM_DETERMINISTIC : 0u};
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(n, 256), 1, 1, err);
}

bool nnxr_nn_vae_latent_backward(nnxr_nn_tape *t, uint32_t batch, uint32_t d, nnxr_nn_mem mu,
                                 nnxr_nn_mem logvar, nnxr_nn_mem eps, nnxr_nn_mem dz,
                                 nnxr_nn_mem hparams, nnxr_nn_mem dmu, nnxr_nn_mem dlogvar,
                                 nnxr_nn_mem stats, bool accumulate, nnxr_error *err)
{
    const char *what = "nnxr_nn_vae_latent_backward";
    uint64_t n = (uint64_t)batch * d;
    if (!batch || !d)
        return nnxr_fail(err, "%s: batch %u, d %u (each must be >= 1)", what, batch, d);
    if ((n + 255) / 256 > SINGLE_WG_BUDGET)
        return nnxr_fail(err, "%s: batch*d = %llu is too large for one workgroup", what,
                         (unsigned long long)n);
    nn_arg args[8] = {arg("mu", mu, n, false),
                      arg("logvar", logvar, n, false),
                      arg("eps", eps, n, !nn_present(dz)),
                      arg("dz", dz, n, true),
                      arg("hparams", hparams, NNXR_NN_HPARAMS_SIZE / 4, false),
                      arg("dmu", dmu, n, false),
                      arg("dlogvar", dlogvar, n, false),
                      arg("stats", stats, NNXR_NN_STATS, true)};
    uint32_t offs[8];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_VAE_LATENT, 0, what, args, 8, &k, &b, offs, err))
        return false;
    nn_latent_push p = {.batch = batch, .d = d, .mu_off = offs[0], .lv_off = offs[1],
                        .eps_off = offs[2], .dz_off = offs[3], .hp_off = offs[4],
                        .dmu_off = offs[5], .dlv_off = offs[6], .stats_off = offs[7],
                        .flags = (nn_present(dz) ? NN_LATENT_DZ : 0u) |
                                 (accumulate ? NN_LATENT_ACCUMULATE : 0u) |
                                 (nn_present(stats) ? NN_LATENT_STATS : 0u)};
    return nn_dispatch(t, k, b, &p, sizeof p, 1, 1, 1, err);
}

/* ---- data ----------------------------------------------------------------------------------- */

bool nnxr_nn_gather(nnxr_nn_tape *t, const nnxr_nn_gather_args *a, nnxr_error *err)
{
    const char *what = "nnxr_nn_gather";
    if (!a)
        return nnxr_fail(err, "%s: no arguments", what);
    if (!a->batch || !a->features || !a->count)
        return nnxr_fail(err, "%s: batch %u, features %u, count %u (each must be >= 1)", what,
                         a->batch, a->features, a->count);
    if (a->format != NNXR_NN_U8 && a->format != NNXR_NN_F32)
        return nnxr_fail(err, "%s: format %d (expected U8 or F32)", what, (int)a->format);
    if (a->label_format != NNXR_NN_U8 && a->label_format != NNXR_NN_I32)
        return nnxr_fail(err, "%s: label_format %d (expected U8 or I32)", what,
                         (int)a->label_format);
    uint64_t stride = a->step_stride;
    /* Positions are computed in 32 bits: keep (count-1)*batch*stride + first + batch in range. */
    if ((uint64_t)a->count * a->batch * (stride ? stride : 1) + a->first + a->batch > UINT32_MAX)
        return nnxr_fail(err, "%s: count %u x batch %u is too large for 32-bit positions", what,
                         a->count, a->batch);
    if ((uint64_t)a->count * a->features > UINT32_MAX / 2)
        return nnxr_fail(err, "%s: count %u x features %u is too large", what, a->count,
                         a->features);
    if (nn_present(a->labels_out) && !nn_present(a->labels))
        return nnxr_fail(err, "%s: labels_out needs labels", what);
    if (stride && !nn_present(a->hparams))
        return nnxr_fail(err, "%s: step_stride needs hparams", what);
    uint64_t src_elems = a->format == NNXR_NN_U8 ? ((uint64_t)a->count * a->features + 3) / 4
                                                 : (uint64_t)a->count * a->features;
    uint64_t lab_elems = a->label_format == NNXR_NN_U8 ? ((uint64_t)a->count + 3) / 4 : a->count;
    uint64_t bf = (uint64_t)a->batch * a->features;
    nn_arg args[8] = {arg("src", a->src, src_elems, false),
                      arg("index", a->index, a->count, true),
                      arg("hparams", a->hparams, NNXR_NN_HPARAMS_SIZE / 4, true),
                      arg("labels", a->labels, lab_elems, true),
                      arg("mask", a->mask, a->count, true),
                      arg("x", a->x, bf, false),
                      arg("labels_out", a->labels_out, a->batch, true),
                      arg("mask_out", a->mask_out, a->batch, true)};
    uint32_t offs[8];
    nnxr_kernel *k;
    nnxr_binding *b;
    /* 16 features an invocation when whole uvec4s of the source and vec4s of x line up:
     * element offsets from the bound range starts (nn_bind's rule) multiples of 4. */
    bool wide = a->format == NNXR_NN_U8 && a->features % 16 == 0 &&
                nn_bound_elem(t->nn, args[0].mem) % 4 == 0 &&
                nn_bound_elem(t->nn, args[5].mem) % 4 == 0;
    if (!nn_bind(t, NN_K_GATHER, wide ? 1u : 0u, what, args, 8, &k, &b, offs, err))
        return false;
    bool quad = a->format == NNXR_NN_U8 && a->features % 4 == 0;
    float scale = a->scale != 0.0f ? a->scale : a->format == NNXR_NN_U8 ? 1.0f / 255.0f : 1.0f;
    nn_gather_push p = {
        .batch = a->batch,
        .features = a->features,
        .count = a->count,
        .first = a->first % a->count,
        .step_stride = a->step_stride,
        .step_index = t->step,
        .flags = (a->format == NNXR_NN_F32 ? NN_GATHER_F32 : 0u) |
                 (nn_present(a->index) ? NN_GATHER_INDEX : 0u) |
                 (nn_present(a->labels_out) ? NN_GATHER_LABELS : 0u) |
                 (a->label_format == NNXR_NN_I32 ? NN_GATHER_LABELS_I32 : 0u) |
                 (nn_present(a->mask) ? NN_GATHER_MASK : 0u) |
                 (nn_present(a->mask_out) ? NN_GATHER_MASK_OUT : 0u) |
                 (stride ? NN_GATHER_HPARAMS : 0u) | (quad ? 128u : 0u),
        .scale = scale,
        .offset = a->offset,
        .src_off = offs[0],
        .index_off = offs[1],
        .hp_off = offs[2],
        .labels_off = offs[3],
        .mask_off = offs[4],
        .x_off = offs[5],
        .lo_off = offs[6],
        .mo_off = offs[7],
    };
    uint64_t work = wide ? bf / 16 : quad ? bf / 4 : bf;
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(work, 256), 1, 1, err);
}

/* ---- reductions and checks ------------------------------------------------------------------ */

/* Elements one reduce workgroup sums (each lane loops chunk/256 times). */
#define REDUCE_CHUNK (256u * 4096u)

bool nnxr_nn_reduce_sum(nnxr_nn_tape *t, uint32_t count, nnxr_nn_mem x, nnxr_nn_mem out,
                        bool accumulate, nnxr_error *err)
{
    const char *what = "nnxr_nn_reduce_sum";
    if (!check_count(count, what, "count", err))
        return false;
    nn_arg args[2] = {arg("x", x, count, false), arg("out", out, 1, false)};
    uint32_t offs[2];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (count <= REDUCE_CHUNK) {
        if (!nn_bind(t, NN_K_REDUCE, 0, what, args, 2, &k, &b, offs, err))
            return false;
        nn_reduce_push p = {.count = count, .chunk = count, .x_off = offs[0],
                            .out_off = offs[1],
                            .flags = accumulate ? NN_REDUCE_ACCUMULATE : 0u};
        return nn_dispatch(t, k, b, &p, sizeof p, 1, 1, 1, err);
    }
    /* Two passes: partial sums per chunk into scratch, then their sum. */
    uint32_t groups = (count + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
    nnxr_buffer *part;
    if (!nn_scratch(t, 2, (uint64_t)groups * 4, &part, err))
        return nnxr_fail_prefix(err, "%s", what);
    nn_arg a1[2] = {args[0], arg("partials", nnxr_nn_at(part, 0), groups, false)};
    if (!nn_bind(t, NN_K_REDUCE, 0, what, a1, 2, &k, &b, offs, err))
        return false;
    nn_reduce_push p1 = {.count = count, .chunk = REDUCE_CHUNK, .x_off = offs[0],
                         .out_off = offs[1]};
    if (!nn_dispatch(t, k, b, &p1, sizeof p1, groups, 1, 1, err))
        return false;
    nn_arg a2[2] = {arg("partials", nnxr_nn_at(part, 0), groups, false), args[1]};
    if (!nn_bind(t, NN_K_REDUCE, 0, what, a2, 2, &k, &b, offs, err))
        return false;
    nn_reduce_push p2 = {.count = groups, .chunk = groups, .x_off = offs[0], .out_off = offs[1],
                         .flags = accumulate ? NN_REDUCE_ACCUMULATE : 0u};
    return nn_dispatch(t, k, b, &p2, sizeof p2, 1, 1, 1, err);
}

bool nnxr_nn_check_finite(nnxr_nn_tape *t, uint32_t count, nnxr_nn_mem x, nnxr_nn_mem flag,
                          nnxr_error *err)
{
    const char *what = "nnxr_nn_check_finite";
    if (!check_count(count, what, "count", err))
        return false;
    nn_arg args[2] = {arg("x", x, count, false), arg("flag", flag, 1, false)};
    uint32_t offs[2];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_CHECK_FINITE, 0, what, args, 2, &k, &b, offs, err))
        return false;
    nn_finite_push p = {.count = count, .x_off = offs[0], .flag_off = offs[1]};
    /* Few workgroups: each lane loops over count / (groups*256) elements. */
    uint32_t groups = nn_groups(count, 256 * 64);
    if ((uint64_t)count / ((uint64_t)groups * 256) > SINGLE_WG_BUDGET)
        groups = nn_groups(count, 256);
    return nn_dispatch(t, k, b, &p, sizeof p, groups, 1, 1, err);
}

bool nnxr_nn_class_sums(nnxr_nn_tape *t, uint32_t batch, uint32_t features, uint32_t classes,
                        nnxr_nn_mem x, nnxr_nn_mem labels, nnxr_nn_mem sums,
                        nnxr_nn_mem counts, nnxr_error *err)
{
    const char *what = "nnxr_nn_class_sums";
    if (!batch || !features || !classes)
        return nnxr_fail(err, "%s: batch %u, features %u, classes %u (each must be >= 1)", what,
                         batch, features, classes);
    if (batch > SINGLE_WG_BUDGET)
        return nnxr_fail(err, "%s: batch %u is above %u (split it)", what, batch,
                         SINGLE_WG_BUDGET);
    uint64_t cf = (uint64_t)classes * features;
    if (!check_count(cf, what, "classes*features", err) ||
        !check_count((uint64_t)batch * features, what, "batch*features", err))
        return false;
    nn_arg args[4] = {arg("x", x, (uint64_t)batch * features, false),
                      arg("labels", labels, batch, false), arg("sums", sums, cf, false),
                      arg("counts", counts, classes, false)};
    uint32_t offs[4];
    nnxr_kernel *k;
    nnxr_binding *b;
    if (!nn_bind(t, NN_K_CLASS_SUMS, 0, what, args, 4, &k, &b, offs, err))
        return false;
    nn_class_push p = {.batch = batch, .features = features, .classes = classes,
                       .x_off = offs[0], .labels_off = offs[1], .sums_off = offs[2],
                       .counts_off = offs[3]};
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(cf, 64), 1, 1, err);
}

/* ---- optimizers ----------------------------------------------------------------------------- */

void nnxr_nn_pack_weight_bits(size_t count, const uint8_t *is_weight, uint32_t *bits)
{
    memset(bits, 0, (count + 31) / 32 * sizeof *bits);
    for (size_t i = 0; i < count; i++)
        if (is_weight[i])
            bits[i / 32] |= 1u << (i % 32);
}

bool nnxr_nn_optimize(nnxr_nn_tape *t, const nnxr_nn_opt_args *a, nnxr_error *err)
{
    const char *what = "nnxr_nn_optimize";
    if (!a)
        return nnxr_fail(err, "%s: no arguments", what);
    if (a->kind != NNXR_NN_SGD && a->kind != NNXR_NN_ADAM)
        return nnxr_fail(err, "%s: optimizer %d (expected SGD 0 or Adam 1)", what, (int)a->kind);
    if (!check_count(a->count, what, "count", err))
        return false;
    bool adam = a->kind == NNXR_NN_ADAM;
    nn_arg args[6] = {arg("params", a->params, a->count, false),
                      arg("grads", a->grads, a->count, false),
                      arg("state1", a->state1, a->count, false),
                      arg("state2", a->state2, a->count, !adam),
                      arg("hparams", a->hparams, NNXR_NN_HPARAMS_SIZE / 4, false),
                      arg("weight_bits", a->weight_bits, ((uint64_t)a->count + 31) / 32, true)};
    uint32_t offs[6];
    nnxr_kernel *k;
    nnxr_binding *b;
    /* vec4 accesses for the vectors whose element offset from their bound range start (by
     * nn_bind's rule) is a multiple of 4: params and grads must be, for any. */
    bool al[4];
    for (uint32_t i = 0; i < 4; i++)
        al[i] = !nn_present(args[i].mem) || nn_bound_elem(t->nn, args[i].mem) % 4 == 0;
    bool vec4 = al[0] && al[1];
    uint32_t variant = (adam ? 1u : 0u) |
                       (vec4 ? 2u | (al[2] ? 4u : 0u) | (al[3] ? 8u : 0u) : 0u);
    if (!nn_bind(t, NN_K_OPTIMIZE, variant, what, args, 6, &k, &b, offs, err))
        return false;
    nn_opt_push p = {.count = a->count, .p_off = offs[0], .g_off = offs[1], .s1_off = offs[2],
                     .s2_off = offs[3], .hp_off = offs[4], .bits_off = offs[5],
                     .flags = (adam ? NN_OPT_ADAM : 0u) | (a->zero_grads ? NN_OPT_ZERO_GRADS : 0u) |
                              (nn_present(a->weight_bits) ? NN_OPT_BITS : 0u),
                     .step_index = t->step};
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(vec4 ? a->count / 4 + 1 : a->count, 256),
                       1, 1, err);
}
