/* nn/layers_gemm.c — the GEMM family and the layers built on it: nnxr_nn_gemm, dense forward
 * and backward, conv2d forward and backward (im2col into a tape scratch buffer + batched GEMM;
 * col2im gathers the input gradient). Here lives the dispatch planning: which pipeline variant
 * fits the operands' alignment, how the inner dimension and the batches are split so that no
 * invocation loops past lavapipe's 65,535-iteration cap, and how the epilogue (bias,
 * activation, derivative, accumulation) is staged over the pieces. */
#include "nn/layers_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "nn/layers_push.h"

/* Loop iterations one invocation may spend in a GEMM dispatch (the k loop steps 8 at a time,
 * plus <8 tail steps per batch): far below the 65,535 cap, which also counts every other
 * loop of the invocation. */
#define GEMM_ITER_BUDGET 12000u

/* Samples per im2col chunk: the column matrix of a chunk stays below this many bytes. */
#define CONV_SCRATCH_BUDGET (48ull << 20)

/* A GEMM over batches (see gemm_common.glsl): the arguments carry the whole extent of each
 * operand over all batches. */
typedef struct gemm_op {
    const char *what;
    uint32_t m, n, k;
    bool ta, tb;
    nn_arg a, b, c, bias, aux, cs;
    uint32_t lda, ldb, ldc;
    uint32_t batches;
    bool reduce;              /* sum the batches into one C */
    uint32_t sa, sb, sc;
    bool accumulate, bias_rows, cs_accumulate;
    nnxr_nn_act act, aux_act;
    float alpha;
} gemm_op;

static uint32_t act_bits(nnxr_nn_act a) { return (uint32_t)a & 3u; }

/* Whether an argument's bound range (from its aligned-down start, as nn_bind binds it) fits
 * in one texel view of texel_bytes per texel. */
static bool texel_fits(const nnxr_nn *nn, const nn_arg *a, uint32_t texel_bytes)
{
    uint64_t lead = a->mem.offset % nn->align;
    uint64_t texels = (lead + a->elems * 4 + texel_bytes - 1) / texel_bytes;
    return texels <= nn->info->properties.limits.maxTexelBufferElements;
}

/* The epilogue flags a CPU GEMM pipeline is specialised on (gemm_cpu.comp's EPI), with the
 * bits that mean nothing without their feature cleared so equal epilogues share a pipeline. */
static uint32_t gemm_epi(uint32_t flags)
{
    uint32_t e = flags & (NN_GEMM_ACCUMULATE | NN_GEMM_BIAS | NN_GEMM_BIAS_ROWS |
                          3u << NN_GEMM_ACT_SHIFT | NN_GEMM_AUX | 3u << NN_GEMM_AUX_ACT_SHIFT);
    if (!(e & NN_GEMM_BIAS))
        e &= ~NN_GEMM_BIAS_ROWS;
    if (!(e & NN_GEMM_AUX))
        e &= ~(3u << NN_GEMM_AUX_ACT_SHIFT);
    return e;
}

/* A recorded GEMM: its bound arguments and the pipeline choice that does not depend on the
 * piece (layout, vector loads, texel view, aligned C octets). */
typedef struct gemm_plan {
    const gemm_op *op;
    nn_arg args[7];
    uint32_t variant; /* nn_gemm_cpu_variant, or the layout for the GPU kernel */
    bool cvec;
    nn_gemm_push p;
} gemm_plan;

/* Binds and records one piece of the GEMM with epilogue flags f over k in [k0, k1) and
 * batches [z0, z1) (gz workgroups deep). */
static bool gemm_piece(nnxr_nn_tape *t, gemm_plan *g, uint32_t f, uint32_t k0, uint32_t k1,
                       uint32_t z0, uint32_t z1, uint32_t gx, uint32_t gy, uint32_t gz,
                       nnxr_error *err)
{
    const nn_gemm_config *cfg = &nn_gemm_configs[t->nn->gemm_config];
    const gemm_op *op = g->op;
    uint32_t offs[7];
    nnxr_kernel *kernel;
    nnxr_binding *binding;
    if (cfg->cpu) {
        uint32_t v = g->variant | (g->cvec ? NN_GEMM_CPU_CVEC : 0u) |
                     gemm_epi(f) << NN_GEMM_CPU_EPI_SHIFT;
        if (!nn_bind(t, NN_K_GEMM_CPU, v, op->what, g->args, 7, &kernel, &binding, offs, err))
            return false;
    } else if (!nn_bind(t, NN_K_GEMM_GPU, g->variant, op->what, g->args, 6, &kernel, &binding,
                        offs, err)) {
        return false;
    }
    nn_gemm_push *p = &g->p;
    p->a_off = offs[0];
    p->b_off = offs[1];
    p->c_off = offs[2];
    p->bias_off = offs[3];
    p->aux_off = offs[4];
    p->cs_off = offs[5];
    p->flags = f;
    p->k0 = k0;
    p->k1 = k1;
    p->z0 = z0;
    p->z1 = z1;
    if (!nn_dispatch(t, kernel, binding, p, sizeof *p, gx, gy, gz, err))
        return nnxr_fail_prefix(err, "%s", op->what);
    return true;
}

/* The epilogue flags of a piece: bias on the first, activation and derivative on the last,
 * the pieces after the first accumulating into C (and col_sum). */
static uint32_t piece_flags(const gemm_op *op, bool first, bool last)
{
    uint32_t f = 0;
    if (!first || op->accumulate)
        f |= NN_GEMM_ACCUMULATE;
    if (first && nn_present(op->bias.mem))
        f |= NN_GEMM_BIAS | (op->bias_rows ? NN_GEMM_BIAS_ROWS : 0u);
    if (last) {
        f |= act_bits(op->act) << NN_GEMM_ACT_SHIFT;
        if (nn_present(op->aux.mem))
            f |= NN_GEMM_AUX | act_bits(op->aux_act) << NN_GEMM_AUX_ACT_SHIFT;
    }
    if (nn_present(op->cs.mem)) {
        f |= NN_GEMM_COLSUM;
        if (!first || op->cs_accumulate)
            f |= NN_GEMM_COLSUM_ACCUMULATE;
    }
    return f;
}

static bool gemm_record(nnxr_nn_tape *t, const gemm_op *op, nnxr_error *err)
{
    nnxr_nn *nn = t->nn;
    const nn_gemm_config *cfg = &nn_gemm_configs[nn->gemm_config];
    if (op->ta && op->tb)
        return nnxr_fail(err, "%s: op(A) and op(B) both transposed is not supported", op->what);
    if (!op->m || !op->n || !op->k || !op->batches)
        return nnxr_fail(err, "%s: empty GEMM (m %u, n %u, k %u, batches %u)", op->what, op->m,
                         op->n, op->k, op->batches);
    gemm_plan g = {.op = op,
                   .args = {op->a, op->b, op->c, op->bias, op->aux, op->cs,
                            {"b (texel view)", {0}, 0, true, 16}}};
    uint32_t trans = op->ta ? 2u : op->tb ? 1u : 0u;
    if (cfg->cpu) {
        /* Element offsets from the bound (aligned-down) range starts, by nn_bind's rule,
         * decide which variant the alignment allows. */
        uint32_t oa = nn_bound_elem(nn, op->a.mem);
        uint32_t ob = nn_bound_elem(nn, op->b.mem);
        uint32_t oc = nn_bound_elem(nn, op->c.mem);
        uint32_t ox = nn_bound_elem(nn, op->aux.mem);
        bool avec, bvec;
        if (op->ta)
            avec = oa % 8 == 0 && op->lda % 8 == 0 && op->m % 8 == 0 &&
                   (op->batches == 1 || op->sa % 8 == 0);
        else
            avec = oa % 8 == 0 && op->lda % 8 == 0 && (op->batches == 1 || op->sa % 8 == 0);
        if (op->tb)
            bvec = ob % 8 == 0 && op->ldb % 8 == 0 && (op->batches == 1 || op->sb % 8 == 0);
        else
            bvec = ob % 8 == 0 && op->ldb % 8 == 0 && op->n % 8 == 0 &&
                   (op->batches == 1 || op->sb % 8 == 0);
        /* B's 8-float loads (the operand whose addresses differ between lanes) through a
         * texel view when its range fits one. */
        bool btex = bvec && nn->gemm_texel && texel_fits(nn, &op->b, 16);
        if (btex) {
            g.args[6].mem = op->b.mem;
            g.args[6].elems = op->b.elems;
        }
        g.cvec = oc % 8 == 0 && op->ldc % 8 == 0 && op->n % 8 == 0 &&
                 (op->batches == 1 || op->reduce || op->sc % 8 == 0) &&
                 (!nn_present(op->aux.mem) || ox % 8 == 0);
        g.variant = nn_gemm_cpu_variant(trans, avec, bvec, btex);
    } else {
        g.variant = trans;
    }

    uint32_t gx, gy;
    if (cfg->cpu) {
        uint32_t rm, cn;
        nn_gemm_cpu_tile(cfg, g.variant, &rm, &cn);
        gx = (op->n + cfg->wg * cn - 1) / (cfg->wg * cn);
        gy = (op->m + rm - 1) / rm;
    } else {
        gx = (op->n + cfg->tile - 1) / cfg->tile;
        gy = (op->m + cfg->tile - 1) / cfg->tile;
    }
    if (gx > 65535 || gy > 65535)
        return nnxr_fail(err, "%s: %u x %u outputs need more than 65535 workgroups per "
                              "dimension",
                         op->what, op->m, op->n);

    /* Pieces: k chunks (multiples of 8) and, when reducing, batch ranges. Loop iterations per
     * k: the CPU kernel steps 8 k's per iteration (4 with TRANS_A); the GPU kernel's 16-deep
     * slices count up to 24 iterations with their inner loops. */
    uint32_t kchunk, iters_z;
    if (cfg->cpu) {
        uint32_t kpi = op->ta ? 4u : 8u;
        kchunk = (GEMM_ITER_BUDGET - 8) * kpi & ~7u;
        iters_z = (op->k + kpi - 1) / kpi + 8;
    } else {
        kchunk = (GEMM_ITER_BUDGET / 24 - 1) * 16;
        iters_z = (op->k / 16 + 1) * 24;
    }
    if (op->k <= kchunk)
        kchunk = op->k;
    else
        iters_z = GEMM_ITER_BUDGET;
    uint32_t zchunk = op->reduce ? GEMM_ITER_BUDGET / iters_z : 65535u;
    if (zchunk < 1)
        zchunk = 1;
    uint32_t kpieces = (op->k + kchunk - 1) / kchunk;
    uint32_t zpieces_reduce = op->reduce ? (op->batches + zchunk - 1) / zchunk : 1;
    uint32_t total = kpieces * zpieces_reduce;

    nn_gemm_push *p = &g.p;
    memset(p, 0, sizeof *p);
    p->m = op->m;
    p->n = op->n;
    p->k = op->k;
    p->lda = op->lda;
    p->ldb = op->ldb;
    p->ldc = op->ldc;
    p->alpha = op->alpha;
    p->sa = op->sa;
    p->sb = op->sb;
    p->sc = op->sc;

    if (op->reduce) {
        uint32_t piece = 0;
        for (uint32_t z0 = 0; z0 < op->batches; z0 += zchunk) {
            for (uint32_t k0 = 0; k0 < op->k; k0 += kchunk, piece++) {
                uint32_t f = NN_GEMM_BATCH_REDUCE | piece_flags(op, piece == 0, piece + 1 == total);
                uint32_t k1 = k0 + kchunk < op->k ? k0 + kchunk : op->k;
                uint32_t z1 = z0 + zchunk < op->batches ? z0 + zchunk : op->batches;
                if (!gemm_piece(t, &g, f, k0, k1, z0, z1, gx, gy, 1, err))
                    return false;
            }
        }
        return true;
    }
    /* One C per batch: workgroup z = batch; k pieces accumulate into the same C. */
    for (uint32_t z0 = 0; z0 < op->batches; z0 += 65535u) {
        uint32_t z1 = op->batches - z0 > 65535u ? z0 + 65535u : op->batches;
        uint32_t piece = 0;
        for (uint32_t k0 = 0; k0 < op->k; k0 += kchunk, piece++) {
            if (nn_present(op->cs.mem) && op->batches > 1)
                return nnxr_fail(err, "%s: col_sum over separate batches", op->what);
            uint32_t f = piece_flags(op, piece == 0, piece + 1 == kpieces);
            uint32_t k1 = k0 + kchunk < op->k ? k0 + kchunk : op->k;
            if (!gemm_piece(t, &g, f, k0, k1, z0, z1, gx, gy, z1 - z0, err))
                return false;
        }
    }
    return true;
}

static nn_arg arg(const char *name, nnxr_nn_mem m, uint64_t elems, bool optional)
{
    nn_arg a = {name, m, elems, optional, 0};
    return a;
}

static bool check_act(nnxr_nn_act a, const char *what, const char *name, nnxr_error *err)
{
    if ((unsigned)a > NNXR_NN_SIGMOID)
        return nnxr_fail(err, "%s: %s = %d is not an activation (expected 0..3)", what, name,
                         (int)a);
    return true;
}

/* ---- GEMM ------------------------------------------------------------------------------------ */

bool nnxr_nn_gemm(nnxr_nn_tape *t, const nnxr_nn_gemm_args *g, nnxr_error *err)
{
    const char *what = "nnxr_nn_gemm";
    if (!t || !g)
        return nnxr_fail(err, "%s: no %s", what, t ? "arguments" : "tape");
    if (!check_act(g->act, what, "act", err) || !check_act(g->aux_act, what, "aux_act", err))
        return false;
    uint64_t m = g->m, n = g->n, k = g->k;
    gemm_op op = {
        .what = what,
        .m = g->m,
        .n = g->n,
        .k = g->k,
        .ta = g->trans_a,
        .tb = g->trans_b,
        .a = arg("a", g->a, m * k, false),
        .b = arg("b", g->b, k * n, false),
        .c = arg("c", g->c, m * n, false),
        .bias = arg("bias", g->bias, g->bias_rows ? m : n, true),
        .aux = arg("aux", g->aux, m * n, true),
        .cs = arg("col_sum", g->col_sum, m, true),
        .lda = g->trans_a ? g->m : g->k,
        .ldb = g->trans_b ? g->k : g->n,
        .ldc = g->n,
        .batches = 1,
        .accumulate = g->accumulate,
        .bias_rows = g->bias_rows,
        .cs_accumulate = g->accumulate,
        .act = g->act,
        .aux_act = g->aux_act,
        .alpha = g->alpha == 0.0f ? 1.0f : g->alpha,
    };
    return gemm_record(t, &op, err);
}

/* ---- dense ----------------------------------------------------------------------------------- */

static bool dense_shape_ok(const nnxr_nn_dense *s, const char *what, nnxr_error *err)
{
    if (!s || !s->batch || !s->in || !s->out)
        return nnxr_fail(err, "%s: shape batch %u, in %u, out %u (each must be >= 1)", what,
                         s ? s->batch : 0, s ? s->in : 0, s ? s->out : 0);
    return true;
}

bool nnxr_nn_dense_forward(nnxr_nn_tape *t, const nnxr_nn_dense *s, nnxr_nn_mem x,
                           nnxr_nn_mem w, nnxr_nn_mem b, nnxr_nn_mem y, nnxr_nn_act act,
                           nnxr_error *err)
{
    const char *what = "nnxr_nn_dense_forward";
    if (!dense_shape_ok(s, what, err) || !check_act(act, what, "act", err))
        return false;
    uint64_t B = s->batch, I = s->in, O = s->out;
    gemm_op op = {.what = what,
                  .m = s->batch,
                  .n = s->out,
                  .k = s->in,
                  .tb = true,
                  .a = arg("x", x, B * I, false),
                  .b = arg("w", w, O * I, false),
                  .c = arg("y", y, B * O, false),
                  .bias = arg("b", b, O, true),
                  .aux = arg("aux", (nnxr_nn_mem){0}, 0, true),
                  .cs = arg("cs", (nnxr_nn_mem){0}, 0, true),
                  .lda = s->in,
                  .ldb = s->in,
                  .ldc = s->out,
                  .batches = 1,
                  .act = act,
                  .alpha = 1.0f};
    return gemm_record(t, &op, err);
}

bool nnxr_nn_dense_backward(nnxr_nn_tape *t, const nnxr_nn_dense *s,
                            const nnxr_nn_dense_grad *g, nnxr_error *err)
{
    const char *what = "nnxr_nn_dense_backward";
    if (!g)
        return nnxr_fail(err, "%s: no arguments", what);
    if (!dense_shape_ok(s, what, err) || !check_act(g->dx_act, what, "dx_act", err))
        return false;
    uint64_t B = s->batch, I = s->in, O = s->out;
    nnxr_nn_mem none = {0};
    if (nn_present(g->dx)) {
        nnxr_nn_mem aux = none;
        if (g->dx_act != NNXR_NN_LINEAR) {
            aux = nn_present(g->dx_y) ? g->dx_y : g->x;
            if (!nn_present(aux))
                return nnxr_fail(err, "%s: dx_act needs dx_y (the layer's input)", what);
        }
        gemm_op op = {.what = "nnxr_nn_dense_backward (dx)",
                      .m = s->batch,
                      .n = s->in,
                      .k = s->out,
                      .a = arg("dz", g->dz, B * O, false),
                      .b = arg("w", g->w, O * I, false),
                      .c = arg("dx", g->dx, B * I, false),
                      .bias = arg("bias", none, 0, true),
                      .aux = arg("dx_y", aux, B * I, true),
                      .cs = arg("cs", none, 0, true),
                      .lda = s->out,
                      .ldb = s->in,
                      .ldc = s->in,
                      .batches = 1,
                      .accumulate = g->accumulate_dx,
                      .aux_act = g->dx_act,
                      .alpha = 1.0f};
        if (!gemm_record(t, &op, err))
            return false;
    }
    if (nn_present(g->dw) || nn_present(g->db)) {
        nnxr_nn_mem dw = g->dw;
        if (!nn_present(dw)) {
            /* db alone: the GEMM still needs a C, which goes to scratch. */
            nnxr_buffer *scr;
            if (!nn_scratch(t, 2, O * I * 4, &scr, err))
                return nnxr_fail_prefix(err, "%s", what);
            dw = nnxr_nn_at(scr, 0);
        }
        gemm_op op = {.what = "nnxr_nn_dense_backward (dw)",
                      .m = s->out,
                      .n = s->in,
                      .k = s->batch,
                      .ta = true,
                      .a = arg("dz", g->dz, B * O, false),
                      .b = arg("x", g->x, B * I, false),
                      .c = arg("dw", dw, O * I, false),
                      .bias = arg("bias", none, 0, true),
                      .aux = arg("aux", none, 0, true),
                      .cs = arg("db", g->db, O, true),
                      .lda = s->out,
                      .ldb = s->in,
                      .ldc = s->in,
                      .batches = 1,
                      .accumulate = g->accumulate_dw && nn_present(g->dw),
                      .cs_accumulate = g->accumulate_dw,
                      .alpha = 1.0f};
        if (!gemm_record(t, &op, err))
            return false;
    }
    return true;
}

/* ---- conv2d ---------------------------------------------------------------------------------- */

bool nnxr_nn_conv_dims(const nnxr_nn_conv *c, uint32_t *out_h, uint32_t *out_w, nnxr_error *err)
{
    if (!c)
        return nnxr_fail(err, "conv2d: no shape");
    if (!c->batch || !c->in_ch || !c->in_h || !c->in_w || !c->out_ch || !c->k)
        return nnxr_fail(err, "conv2d: shape batch %u, in_ch %u, in %ux%u, out_ch %u, k %u "
                              "(each must be >= 1)",
                         c->batch, c->in_ch, c->in_h, c->in_w, c->out_ch, c->k);
    if (c->pad != NNXR_NN_PAD_VALID && c->pad != NNXR_NN_PAD_SAME)
        return nnxr_fail(err, "conv2d: pad %d (expected valid 0 or same 1)", (int)c->pad);
    if (c->pad == NNXR_NN_PAD_SAME) {
        *out_h = c->in_h;
        *out_w = c->in_w;
    } else {
        if (c->k > c->in_h || c->k > c->in_w)
            return nnxr_fail(err, "conv2d: valid padding with k %u larger than the %ux%u image",
                             c->k, c->in_h, c->in_w);
        *out_h = c->in_h - c->k + 1;
        *out_w = c->in_w - c->k + 1;
    }
    return true;
}

typedef struct conv_geom {
    uint32_t oh, ow, pad;
    uint64_t ckk, ohw, ihw;
    uint32_t chunk; /* samples per im2col chunk */
} conv_geom;

static bool conv_geometry(const nnxr_nn_conv *c, const char *what, conv_geom *g,
                          nnxr_error *err)
{
    uint32_t oh, ow;
    if (!nnxr_nn_conv_dims(c, &oh, &ow, err))
        return nnxr_fail_prefix(err, "%s", what);
    g->oh = oh;
    g->ow = ow;
    g->pad = c->pad == NNXR_NN_PAD_SAME ? (c->k - 1) / 2 : 0;
    g->ckk = (uint64_t)c->in_ch * c->k * c->k;
    g->ohw = (uint64_t)oh * ow;
    g->ihw = (uint64_t)c->in_h * c->in_w;
    uint64_t per = g->ckk * g->ohw * 4;
    uint64_t chunk = CONV_SCRATCH_BUDGET / per;
    if (chunk < 1)
        chunk = 1;
    if (chunk > c->batch)
        chunk = c->batch;
    g->chunk = (uint32_t)chunk;
    if (g->ckk > UINT32_MAX / 2 || g->ohw * g->ckk > UINT32_MAX / 2)
        return nnxr_fail(err, "%s: the column matrix of one sample is too large", what);
    return true;
}

/* Loop iterations a row-shaped im2col / col2im invocation may spend on one row (the rest of
 * lavapipe's 65,535 goes to the grid-stride loop). */
#define CONV_ROW_BUDGET 16384u

/* im2col and col2im work per row on CPU devices (variant 1: the index divisions once per
 * row, see im2col.comp) when a row's loops fit the budget, else per element (variant 0). */
static bool conv_rows_im2col(const nnxr_nn_tape *t, const nnxr_nn_conv *c, const conv_geom *g)
{
    (void)c;
    return t->nn->info->is_cpu && g->ow <= CONV_ROW_BUDGET;
}

static bool conv_rows_col2im(const nnxr_nn_tape *t, const nnxr_nn_conv *c)
{
    return t->nn->info->is_cpu &&
           (uint64_t)c->in_w * c->k * (c->k + 1) <= CONV_ROW_BUDGET;
}

/* im2col of samples [n0, n0+nb) of x into col (scratch slot 0). */
static bool conv_im2col(nnxr_nn_tape *t, const char *what, const nnxr_nn_conv *c,
                        const conv_geom *g, nnxr_nn_mem x, uint32_t n0, uint32_t nb,
                        nnxr_buffer *col, nnxr_error *err)
{
    uint64_t B = c->batch;
    nn_arg args[3] = {arg("x", x, B * c->in_ch * g->ihw, false),
                      arg("col", nnxr_nn_at(col, 0), (uint64_t)nb * g->ckk * g->ohw, false),
                      {"x (texel view)", {0}, 0, true, 4}};
    uint32_t offs[3];
    nnxr_kernel *k;
    nnxr_binding *b;
    bool rows = conv_rows_im2col(t, c, g);
    /* Row-shaped work reads x through a texel view when it fits one. */
    bool tex = rows && texel_fits(t->nn, &args[0], 4);
    if (tex) {
        args[2].mem = args[0].mem;
        args[2].elems = args[0].elems;
    }
    /* ... and writes 4 elements per store when rows are whole vec4s. */
    bool vec4 = rows && g->ow % 4 == 0 && nn_bound_elem(t->nn, args[1].mem) % 4 == 0;
    if (!nn_bind(t, NN_K_IM2COL, (rows ? 1u : 0u) | (tex ? 2u : 0u) | (vec4 ? 4u : 0u), what,
                 args, 3, &k, &b, offs, err))
        return false;
    t->what = "nnxr_nn_conv2d (im2col)";
    t->col_valid = n0 == 0 && nb == c->batch;
    t->col_x = x;
    t->col_shape = *c;
    uint64_t total = (uint64_t)nb * g->ckk * (rows ? g->oh : g->ohw);
    nn_conv_push p = {.n0 = n0,
                      .nb = nb,
                      .c = c->in_ch,
                      .h = c->in_h,
                      .w = c->in_w,
                      .k = c->k,
                      .oh = g->oh,
                      .ow = g->ow,
                      .pad = g->pad,
                      .x_off = offs[0],
                      .col_off = offs[1],
                      .total = (uint32_t)total};
    return nn_dispatch(t, k, b, &p, sizeof p, nn_groups(total, 64), 1, 1, err);
}

bool nnxr_nn_conv2d_forward(nnxr_nn_tape *t, const nnxr_nn_conv *c, nnxr_nn_mem x,
                            nnxr_nn_mem w, nnxr_nn_mem b, nnxr_nn_mem y, nnxr_nn_act act,
                            nnxr_error *err)
{
    const char *what = "nnxr_nn_conv2d_forward";
    conv_geom g;
    if (!conv_geometry(c, what, &g, err) || !check_act(act, what, "act", err))
        return false;
    uint64_t B = c->batch, O = c->out_ch;
    /* Check every argument up front so a failure records nothing. */
    nn_arg checks[4] = {arg("x", x, B * c->in_ch * g.ihw, false),
                        arg("w", w, O * g.ckk, false), arg("b", b, O, true),
                        arg("y", y, B * O * g.ohw, false)};
    for (uint32_t i = 0; i < 4; i++) {
        const nn_arg *a = &checks[i];
        if (!a->mem.buf) {
            if (!a->optional)
                return nnxr_fail(err, "%s: argument '%s' is missing", what, a->name);
            continue;
        }
        if (a->mem.offset % 4 || a->mem.offset > a->mem.buf->size ||
            a->elems * 4 > a->mem.buf->size - a->mem.offset)
            return nnxr_fail(err, "%s: argument '%s' needs %llu bytes at offset %llu but "
                                  "buffer \"%s\" has %llu bytes (or the offset is not a "
                                  "multiple of 4)",
                             what, a->name, (unsigned long long)(a->elems * 4),
                             (unsigned long long)a->mem.offset, a->mem.buf->name,
                             (unsigned long long)a->mem.buf->size);
    }
    nnxr_buffer *col;
    if (!nn_scratch(t, 0, (uint64_t)g.chunk * g.ckk * g.ohw * 4, &col, err))
        return nnxr_fail_prefix(err, "%s", what);
    for (uint32_t n0 = 0; n0 < c->batch; n0 += g.chunk) {
        uint32_t nb = c->batch - n0 < g.chunk ? c->batch - n0 : g.chunk;
        if (!conv_im2col(t, what, c, &g, x, n0, nb, col, err))
            return false;
        gemm_op op = {.what = what,
                      .m = c->out_ch,
                      .n = (uint32_t)g.ohw,
                      .k = (uint32_t)g.ckk,
                      .a = arg("w", w, O * g.ckk, false),
                      .b = arg("col", nnxr_nn_at(col, 0), (uint64_t)nb * g.ckk * g.ohw, false),
                      .c = arg("y", nnxr_nn_plus(y, (uint64_t)n0 * O * g.ohw),
                               (uint64_t)nb * O * g.ohw, false),
                      .bias = arg("b", b, O, true),
                      .aux = arg("aux", (nnxr_nn_mem){0}, 0, true),
                      .cs = arg("cs", (nnxr_nn_mem){0}, 0, true),
                      .lda = (uint32_t)g.ckk,
                      .ldb = (uint32_t)g.ohw,
                      .ldc = (uint32_t)g.ohw,
                      .batches = nb,
                      .sa = 0,
                      .sb = (uint32_t)(g.ckk * g.ohw),
                      .sc = (uint32_t)(O * g.ohw),
                      .bias_rows = true,
                      .act = act,
                      .alpha = 1.0f};
        if (!gemm_record(t, &op, err))
            return false;
    }
    return true;
}

bool nnxr_nn_conv2d_backward(nnxr_nn_tape *t, const nnxr_nn_conv *c, const nnxr_nn_conv_grad *gr,
                             nnxr_error *err)
{
    const char *what = "nnxr_nn_conv2d_backward";
    if (!gr)
        return nnxr_fail(err, "%s: no arguments", what);
    conv_geom g;
    if (!conv_geometry(c, what, &g, err) || !check_act(gr->dx_act, what, "dx_act", err))
        return false;
    uint64_t B = c->batch, O = c->out_ch;
    nnxr_nn_mem none = {0};
    nnxr_nn_mem aux = none;
    if (nn_present(gr->dx) && gr->dx_act != NNXR_NN_LINEAR) {
        aux = nn_present(gr->dx_y) ? gr->dx_y : gr->x;
        if (!nn_present(aux))
            return nnxr_fail(err, "%s: dx_act needs dx_y (the layer's input)", what);
    }
    bool want_w = nn_present(gr->dw) || nn_present(gr->db);
    nnxr_buffer *col = NULL, *dcol = NULL, *dws = NULL;
    if (want_w && !nn_scratch(t, 0, (uint64_t)g.chunk * g.ckk * g.ohw * 4, &col, err))
        return nnxr_fail_prefix(err, "%s", what);
    if (nn_present(gr->dx) && !nn_scratch(t, 1, (uint64_t)g.chunk * g.ckk * g.ohw * 4, &dcol, err))
        return nnxr_fail_prefix(err, "%s", what);
    nnxr_nn_mem dw = gr->dw;
    if (want_w && !nn_present(dw)) {
        if (!nn_scratch(t, 2, O * g.ckk * 4, &dws, err))
            return nnxr_fail_prefix(err, "%s", what);
        dw = nnxr_nn_at(dws, 0);
    }
    for (uint32_t n0 = 0; n0 < c->batch; n0 += g.chunk) {
        uint32_t nb = c->batch - n0 < g.chunk ? c->batch - n0 : g.chunk;
        nnxr_nn_mem dz = nnxr_nn_plus(gr->dz, (uint64_t)n0 * O * g.ohw);
        if (!nn_present(gr->dz))
            return nnxr_fail(err, "%s: argument 'dz' is missing", what);
        if (want_w) {
            /* The forward's column matrix, when the tape still holds it and x is unchanged. */
            bool have = gr->x_unchanged && t->col_valid && nb == c->batch &&
                        t->col_x.buf == gr->x.buf && t->col_x.offset == gr->x.offset &&
                        !memcmp(&t->col_shape, c, sizeof *c);
            if (!have && !conv_im2col(t, what, c, &g, gr->x, n0, nb, col, err))
                return false;
            bool acc = n0 > 0 || gr->accumulate_dw;
            gemm_op op = {.what = "nnxr_nn_conv2d_backward (dw)",
                          .m = c->out_ch,
                          .n = (uint32_t)g.ckk,
                          .k = (uint32_t)g.ohw,
                          .tb = true,
                          .a = arg("dz", dz, (uint64_t)nb * O * g.ohw, false),
                          .b = arg("col", nnxr_nn_at(col, 0), (uint64_t)nb * g.ckk * g.ohw, false),
                          .c = arg("dw", dw, O * g.ckk, false),
                          .bias = arg("bias", none, 0, true),
                          .aux = arg("aux", none, 0, true),
                          .cs = arg("db", gr->db, O, true),
                          .lda = (uint32_t)g.ohw,
                          .ldb = (uint32_t)g.ohw,
                          .ldc = (uint32_t)g.ckk,
                          .batches = nb,
                          .reduce = true,
                          .sa = (uint32_t)(O * g.ohw),
                          .sb = (uint32_t)(g.ckk * g.ohw),
                          .sc = 0,
                          .accumulate = acc && (n0 > 0 || nn_present(gr->dw)),
                          .cs_accumulate = acc,
                          .alpha = 1.0f};
            if (!gemm_record(t, &op, err))
                return false;
        }
        if (nn_present(gr->dx)) {
            gemm_op op = {.what = "nnxr_nn_conv2d_backward (dcol)",
                          .m = (uint32_t)g.ckk,
                          .n = (uint32_t)g.ohw,
                          .k = c->out_ch,
                          .ta = true,
                          .a = arg("w", gr->w, O * g.ckk, false),
                          .b = arg("dz", dz, (uint64_t)nb * O * g.ohw, false),
                          .c = arg("dcol", nnxr_nn_at(dcol, 0), (uint64_t)nb * g.ckk * g.ohw, false),
                          .bias = arg("bias", none, 0, true),
                          .aux = arg("aux", none, 0, true),
                          .cs = arg("cs", none, 0, true),
                          .lda = (uint32_t)g.ckk,
                          .ldb = (uint32_t)g.ohw,
                          .ldc = (uint32_t)g.ohw,
                          .batches = nb,
                          .sa = 0,
                          .sb = (uint32_t)(O * g.ohw),
                          .sc = (uint32_t)(g.ckk * g.ohw),
                          .alpha = 1.0f};
            if (!gemm_record(t, &op, err))
                return false;
            uint64_t in_elems = B * c->in_ch * g.ihw;
            nn_arg args[4] = {arg("dcol", nnxr_nn_at(dcol, 0), (uint64_t)nb * g.ckk * g.ohw, false),
                              arg("dx", gr->dx, in_elems, false),
                              arg("dx_y", aux, in_elems, true),
                              {"dcol (texel view)", {0}, 0, true, 4}};
            uint32_t offs[4];
            nnxr_kernel *k;
            nnxr_binding *b;
            bool rows = conv_rows_col2im(t, c);
            bool tex = rows && texel_fits(t->nn, &args[0], 4);
            if (tex) {
                args[3].mem = args[0].mem;
                args[3].elems = args[0].elems;
            }
            bool vec4 = rows && c->in_w % 4 == 0 &&
                        nn_bound_elem(t->nn, args[1].mem) % 4 == 0 &&
                        (!nn_present(aux) || nn_bound_elem(t->nn, args[2].mem) % 4 == 0);
            if (!nn_bind(t, NN_K_COL2IM, (rows ? 1u : 0u) | (tex ? 2u : 0u) | (vec4 ? 4u : 0u),
                         what, args, 4, &k, &b, offs, err))
                return false;
            t->what = "nnxr_nn_conv2d_backward (col2im)";
            uint64_t total = (uint64_t)nb * c->in_ch * (rows ? c->in_h : g.ihw);
            nn_conv_push p = {.n0 = n0,
                              .nb = nb,
                              .c = c->in_ch,
                              .h = c->in_h,
                              .w = c->in_w,
                              .k = c->k,
                              .oh = g.oh,
                              .ow = g.ow,
                              .pad = g.pad,
                              .x_off = offs[1],
                              .col_off = offs[0],
                              .y_off = offs[2],
                              .flags = (gr->accumulate_dx ? NN_CONV_ACCUMULATE : 0u) |
                                       (nn_present(aux) ? act_bits(gr->dx_act) : 0u)
                                           << NN_CONV_ACT_SHIFT,
                              .total = (uint32_t)total};
            if (!nn_dispatch(t, k, b, &p, sizeof p, nn_groups(total, 64), 1, 1, err))
                return false;
        }
    }
    return true;
}
