/* tests/unit/test_nnk_gemm.c — the GEMM family (engine/nn/layers_gemm.c, shaders/nn/gemm_*.comp)
 * against a double-precision CPU GEMM with the same epilogue: every layout (NN, NT, TN), odd
 * shapes that are no multiple of any tile (scalar loads), aligned shapes (8-float vector loads)
 * and the same data at a misaligned offset (scalar loads) giving the same answer, an inner
 * dimension above 65,535 (split over dispatches: one invocation looping over it would stop at
 * lavapipe's cap and be wrong), the bias / activation / derivative / accumulate / column-sum
 * epilogue, the GPU (shared-memory) configuration forced on this device, and refused input. */
#include "test_nnk_util.h"

typedef struct ref_gemm {
    uint32_t m, n, k;
    bool ta, tb;
    double alpha;
    const double *bias;
    bool bias_rows;
    int act;
    const double *aux;
    int aux_act;
    bool accumulate;
} ref_gemm;

static double ref_act(int a, double z) { return nnxr_ref_act_value((nnxr_ref_act)a, z); }

static double ref_deriv_y(int a, double y)
{
    switch (a) {
    case 1: return y > 0 ? 1 : 0;
    case 2: return 1 - y * y;
    case 3: return y * (1 - y);
    default: return 1;
    }
}

/* c (in: old C when accumulate) -> out; cs = row sums of op(A). */
static void ref_gemm_run(const ref_gemm *g, const double *a, const double *b, double *c,
                         double *cs)
{
    for (uint32_t i = 0; i < g->m; i++) {
        double rs = 0;
        for (uint32_t q = 0; q < g->k; q++)
            rs += g->ta ? a[(size_t)q * g->m + i] : a[(size_t)i * g->k + q];
        if (cs)
            cs[i] = rs;
        for (uint32_t j = 0; j < g->n; j++) {
            double s = 0;
            for (uint32_t q = 0; q < g->k; q++) {
                double av = g->ta ? a[(size_t)q * g->m + i] : a[(size_t)i * g->k + q];
                double bv = g->tb ? b[(size_t)j * g->k + q] : b[(size_t)q * g->n + j];
                s += av * bv;
            }
            double v = g->alpha * s;
            if (g->bias)
                v += g->bias[g->bias_rows ? i : j];
            size_t ci = (size_t)i * g->n + j;
            if (g->accumulate)
                v += c[ci];
            v = ref_act(g->act, v);
            if (g->aux)
                v *= ref_deriv_y(g->aux_act, g->aux[ci]);
            c[ci] = v;
        }
    }
}

typedef struct gemm_case {
    const char *name;
    uint32_t m, n, k;
    bool ta, tb;
    bool bias, bias_rows, aux, accumulate, col_sum;
    int act, aux_act;
    float alpha;
    uint32_t misalign; /* floats of offset in every operand's buffer (1 = misaligned) */
} gemm_case;

static void run_case(nnk_env *e, const gemm_case *c, uint32_t seed)
{
    size_t na = (size_t)c->m * c->k, nb = (size_t)c->k * c->n, nc = (size_t)c->m * c->n;
    uint32_t s = seed;
    double *ad, *bd, *biasd, *auxd, *c0d;
    float *af = nnk_rand(&s, na, -1, 1, &ad);
    float *bf = nnk_rand(&s, nb, -1, 1, &bd);
    uint32_t nbias = c->bias_rows ? c->m : c->n;
    float *biasf = nnk_rand(&s, nbias, -1, 1, &biasd);
    float *auxf = nnk_rand(&s, nc, 0.05f, 0.95f, &auxd);
    float *c0f = nnk_rand(&s, nc, -1, 1, &c0d);
    uint32_t o = c->misalign;
    /* Every operand at float offset o of its own buffer. */
    float *pad = tg_alloc((nc + na + nb + 16) * 4);
    nnxr_buffer *A = nnk_buf(e, "A", na + o, NULL), *B = nnk_buf(e, "B", nb + o, NULL);
    nnxr_buffer *C = nnk_buf(e, "C", nc + o, NULL), *BI = nnk_buf(e, "bias", nbias + o, NULL);
    nnxr_buffer *AX = nnk_buf(e, "aux", nc + o, NULL), *CS = nnk_buf(e, "cs", c->m + o, NULL);
    nnk_upload(e, A, o, af, na);
    nnk_upload(e, B, o, bf, nb);
    nnk_upload(e, C, o, c0f, nc);
    nnk_upload(e, BI, o, biasf, nbias);
    nnk_upload(e, AX, o, auxf, nc);
    float cs_old = 0.25f;
    float *cs0 = tg_alloc(c->m * 4);
    for (uint32_t i = 0; i < c->m; i++)
        cs0[i] = cs_old;
    nnk_upload(e, CS, o, cs0, c->m);

    nnxr_nn_gemm_args g = {.m = c->m,
                           .n = c->n,
                           .k = c->k,
                           .trans_a = c->ta,
                           .trans_b = c->tb,
                           .a = nnxr_nn_at(A, o * 4),
                           .b = nnxr_nn_at(B, o * 4),
                           .c = nnxr_nn_at(C, o * 4),
                           .alpha = c->alpha,
                           .accumulate = c->accumulate,
                           .bias = c->bias ? nnxr_nn_at(BI, o * 4) : (nnxr_nn_mem){0},
                           .bias_rows = c->bias_rows,
                           .act = (nnxr_nn_act)c->act,
                           .aux_act = (nnxr_nn_act)c->aux_act,
                           .aux = c->aux ? nnxr_nn_at(AX, o * 4) : (nnxr_nn_mem){0},
                           .col_sum = c->col_sum ? nnxr_nn_at(CS, o * 4) : (nnxr_nn_mem){0}};
    nnk_begin(e);
    nnxr_error err;
    bool ok = nnxr_nn_gemm(e->tape, &g, &err);
    CHECKF(ok, "%s: %s", c->name, err.message);
    uint32_t dispatches = nnxr_nn_tape_dispatches(e->tape);
    if (ok && nnk_run(e)) {
        ref_gemm rg = {c->m, c->n, c->k, c->ta, c->tb, c->alpha == 0 ? 1.0 : c->alpha,
                       c->bias ? biasd : NULL, c->bias_rows, c->act, c->aux ? auxd : NULL,
                       c->aux_act, c->accumulate};
        double *cs = tg_alloc(c->m * 8);
        ref_gemm_run(&rg, ad, bd, c0d, cs);
        float *got = nnk_read(e, C, o, nc);
        char label[160];
        snprintf(label, sizeof label, "%s %ux%ux%u (%u dispatch%s)", c->name, c->m, c->n, c->k,
                 dispatches, dispatches == 1 ? "" : "es");
        NNK_CLOSE(label, got, c0d, nc, NNK_TOL);
        if (c->col_sum) {
            float *gcs = nnk_read(e, CS, o, c->m);
            for (uint32_t i = 0; i < c->m; i++)
                cs[i] += c->accumulate ? cs_old : 0.0;
            snprintf(label, sizeof label, "%s col_sum", c->name);
            NNK_CLOSE(label, gcs, cs, c->m, NNK_TOL);
            free(gcs);
        }
        free(got);
        free(cs);
    }
    nnxr_recorder_wait(e->rec, &err);
    nnxr_nn_tape_clear(e->tape);
    nnxr_buffer_destroy(e->gpu, A);
    nnxr_buffer_destroy(e->gpu, B);
    nnxr_buffer_destroy(e->gpu, C);
    nnxr_buffer_destroy(e->gpu, BI);
    nnxr_buffer_destroy(e->gpu, AX);
    nnxr_buffer_destroy(e->gpu, CS);
    free(af), free(bf), free(biasf), free(auxf), free(c0f), free(cs0), free(pad);
    free(ad), free(bd), free(biasd), free(auxd), free(c0d);
}

static const gemm_case cases[] = {
    /* odd shapes, scalar loads */
    {"NN odd", 13, 29, 7, false, false, false, false, false, false, false, 0, 0, 0, 0},
    {"NT odd +bias relu", 7, 13, 29, false, true, true, false, false, false, false, 1, 0, 0, 0},
    {"TN odd +col_sum", 13, 29, 7, true, false, false, false, false, false, true, 0, 0, 0, 0},
    {"NN odd +aux tanh +acc", 9, 11, 31, false, false, false, false, true, true, false, 0, 2, 0, 0},
    {"NT odd +bias_rows sigmoid x0.5", 11, 5, 17, false, true, true, true, false, false, false,
     3, 0, 0.5f, 0},
    {"TN odd +acc +col_sum", 29, 13, 7, true, false, false, false, false, true, true, 0, 0, 0, 0},
    /* aligned: 8-float vector loads on CPU devices */
    {"NN aligned", 64, 128, 96, false, false, true, false, false, false, false, 1, 0, 0, 0},
    {"NT aligned", 40, 56, 136, false, true, true, false, true, false, false, 0, 1, 0, 0},
    {"TN aligned +col_sum", 48, 64, 40, true, false, false, false, false, false, true, 0, 0, 0, 0},
    /* aligned C octets (written whole on CPU devices) with every epilogue; n = 72 leaves
     * lanes of a 128-column workgroup wholly past the edge */
    {"NN aligned +bias_rows tanh +acc x0.5", 32, 64, 40, false, false, true, true, false, true,
     false, 2, 0, 0.5f, 0},
    {"TN aligned +aux sigmoid +acc", 24, 48, 16, true, false, false, false, true, true, false, 0,
     3, 0, 0},
    {"NT aligned n=72 +bias sigmoid +aux tanh", 16, 72, 24, false, true, true, false, true,
     false, false, 3, 2, 0, 0},
    {"NN aligned n=72 +acc +col_sum", 40, 72, 32, false, false, false, false, false, true, true,
     0, 0, 0, 0},
    /* the same shapes one float off alignment: scalar loads, same answers */
    {"NN misaligned", 64, 128, 96, false, false, true, false, false, false, false, 1, 0, 0, 1},
    {"NT misaligned", 40, 56, 136, false, true, true, false, true, false, false, 0, 1, 0, 1},
    {"TN misaligned +col_sum", 48, 64, 40, true, false, false, false, false, false, true, 0, 0,
     0, 1},
    /* larger, not multiples of the tiles in M */
    {"NN large odd M", 250, 520, 136, false, false, false, false, false, false, false, 0, 0, 0,
     0},
    {"TN large odd N", 136, 257, 250, true, false, false, false, false, false, true, 0, 0, 0, 0},
    /* inner dimension past the loop cap: split into dispatches that accumulate */
    {"NN K=70001 +bias relu", 9, 17, 70001, false, false, true, false, false, false, false, 1,
     0, 0, 0},
    {"NT K=70000 aligned", 16, 16, 70000, false, true, false, false, false, true, false, 0, 0,
     0, 0},
    {"TN K=66000 +col_sum", 16, 24, 66000, true, false, false, false, false, false, true, 0, 0,
     0, 0},
    {"NN K=70000 aligned", 16, 24, 70000, false, false, false, false, false, false, false, 0, 0,
     0, 0},
    {"NT K=70001 odd", 5, 9, 70001, false, true, false, false, false, false, false, 0, 0, 0, 0},
    {"TN K=66001 odd +col_sum", 13, 7, 66001, true, false, false, false, false, false, true, 0,
     0, 0, 0},
};

static void test_refused(nnk_env *e)
{
    nnxr_buffer *b = nnk_buf(e, "small", 16, NULL);
    nnxr_nn_gemm_args g = {.m = 4, .n = 4, .k = 4, .a = nnxr_nn_at(b, 0), .b = nnxr_nn_at(b, 0),
                           .c = nnxr_nn_at(b, 0)};
    nnk_begin(e);
    nnxr_error err;
    g.k = 8; /* A needs 32 floats */
    CHECK(!nnxr_nn_gemm(e->tape, &g, &err));
    CHECK_CONTAINS(err.message, "argument 'a' needs 128 bytes");
    g.k = 4;
    g.trans_a = g.trans_b = true;
    CHECK(!nnxr_nn_gemm(e->tape, &g, &err));
    CHECK_CONTAINS(err.message, "both transposed");
    g.trans_a = g.trans_b = false;
    g.a.offset = 2;
    CHECK(!nnxr_nn_gemm(e->tape, &g, &err));
    CHECK_CONTAINS(err.message, "not a multiple of 4");
    g.a.offset = 0;
    g.m = 0;
    CHECK(!nnxr_nn_gemm(e->tape, &g, &err));
    CHECK_CONTAINS(err.message, "empty GEMM");
    CHECK(nnxr_nn_tape_dispatches(e->tape) == 0);
    nnxr_recorder_end(e->rec, &err);
    nnxr_buffer_destroy(e->gpu, b);
}

int main(void)
{
    nnk_env e = nnk_open();
    printf("gemm config: %s\n", nnxr_nn_gemm_config(e.nn));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&e, &cases[i], 1234u + (uint32_t)i);
    test_refused(&e);
    nnk_close(&e);

    /* The CPU kernel without shared A loads and texel-view B loads (what it does on CPU
     * devices without subgroup shuffles), on the aligned cases where those apply. */
    nnxr_nn_options plain = nnxr_nn_options_default();
    plain.gemm_plain_loads = true;
    nnk_env p = nnk_open_options(plain);
    static const int plain_cases[] = {6, 7, 8, 9, 10, 11, 12, 19};
    for (size_t i = 0; i < sizeof plain_cases / sizeof plain_cases[0]; i++)
        run_case(&p, &cases[plain_cases[i]], 555u + (uint32_t)i);
    nnk_close(&p);

    /* The GPU configuration (shared-memory tiles, barriers) on this device too. */
    nnk_env g = nnk_open_config(1);
    printf("gemm config: %s\n", nnxr_nn_gemm_config(g.nn));
    static const int gpu_cases[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 19, 20, 23};
    for (size_t i = 0; i < sizeof gpu_cases / sizeof gpu_cases[0]; i++)
        run_case(&g, &cases[gpu_cases[i]], 99u + (uint32_t)i);
    nnk_close(&g);
    return check_finish();
}
