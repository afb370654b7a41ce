/* tests/unit/test_sim_graph.c — AIive's graph layout: the forces are the negative gradient of
 * the returned potential (central finite differences), they sum to zero (all pairwise), link
 * values come from the weights as DESIGN.md says (means for input/output links, min-max
 * normalised per group), the damped layout settles with each hidden layer gathered around its
 * centre, the undamped one keeps its energy, and resizing keeps the surviving nodes. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "sim/graph_layout.h"

static double total_energy(nnxr_graph *g, const nnxr_graph_params *p)
{
    return nnxr_graph_forces(g, p) + nnxr_graph_kinetic(g);
}

static void gradient(void)
{
    nnxr_graph g;
    nnxr_error err;
    uint32_t sizes[3] = {4, 3, 5};
    CHECK(nnxr_graph_init(&g, sizes, 3, 42, &err));
    CHECK(g.node_count == 14 && g.link_count == 4 + 12 + 15 + 5);
    float w0[4 * 6], w1[3 * 4], w2[5 * 3], w3[2 * 5];
    for (size_t i = 0; i < sizeof w0 / sizeof w0[0]; i++)
        w0[i] = sinf((float)i);
    for (size_t i = 0; i < sizeof w1 / sizeof w1[0]; i++)
        w1[i] = cosf((float)i * 1.3f);
    for (size_t i = 0; i < sizeof w2 / sizeof w2[0]; i++)
        w2[i] = (float)i - 7.0f;
    for (size_t i = 0; i < sizeof w3 / sizeof w3[0]; i++)
        w3[i] = sinf((float)i * 0.7f);
    CHECK(nnxr_graph_set_weights(&g, 0, w0, 4, 6, &err));
    CHECK(nnxr_graph_set_weights(&g, 1, w1, 3, 4, &err));
    CHECK(nnxr_graph_set_weights(&g, 2, w2, 5, 3, &err));
    CHECK(nnxr_graph_set_weights(&g, 3, w3, 2, 5, &err));
    /* Input link of neuron k: mean of row k of w0; output link of neuron k: mean of column k
     * of w3; a hidden link a→b carries w[b][a]; each group spans [0, 1]. */
    for (uint32_t m = 0; m < g.link_count; m++) {
        const nnxr_graph_link *k = &g.links[m];
        double want = 0;
        if (k->group == 0) {
            for (int c = 0; c < 6; c++)
                want += w0[(k->b - g.first[0]) * 6 + c] / 6.0;
        } else if (k->group == 3) {
            for (int r = 0; r < 2; r++)
                want += w3[r * 5 + (k->a - g.first[2])] / 2.0;
        } else if (k->group == 1) {
            want = w1[(k->b - g.first[1]) * 4 + (k->a - g.first[0])];
        } else {
            want = w2[(k->b - g.first[2]) * 3 + (k->a - g.first[1])];
        }
        CHECK_CLOSE(k->value, want, 1e-6);
        CHECK(k->norm >= 0 && k->norm <= 1);
    }
    for (uint32_t grp = 0; grp <= 3; grp++) {
        float lo = 2, hi = -1;
        for (uint32_t m = 0; m < g.link_count; m++)
            if (g.links[m].group == grp) {
                lo = fminf(lo, g.links[m].norm);
                hi = fmaxf(hi, g.links[m].norm);
            }
        CHECK(lo == 0.0f && hi == 1.0f);
    }
    CHECK(!nnxr_graph_set_weights(&g, 1, w1, 4, 3, &err));
    CHECK_CONTAINS(err.message, "expected 3 x 4");
    float nanw[24];
    memcpy(nanw, w0, sizeof nanw);
    nanw[7] = NAN;
    CHECK(!nnxr_graph_set_weights(&g, 0, nanw, 4, 6, &err));
    CHECK_CONTAINS(err.message, "[1][1]");

    /* Finite differences of the potential (in double around float positions). */
    nnxr_graph_params p = nnxr_graph_params_default();
    nnxr_graph_step(&g, &p, 30); /* away from the symmetric start */
    nnxr_graph_forces(&g, &p);
    float (*f)[3] = malloc(g.node_count * sizeof *f);
    memcpy(f, g.force, g.node_count * sizeof *f);
    double worst = 0, sum[3] = {0, 0, 0};
    for (uint32_t i = 0; i < g.node_count; i++)
        for (int a = 0; a < 3; a++) {
            float x0 = g.pos[i][a], h = 1e-4f;
            g.pos[i][a] = x0 + h;
            double ep = nnxr_graph_forces(&g, &p);
            g.pos[i][a] = x0 - h;
            double em = nnxr_graph_forces(&g, &p);
            g.pos[i][a] = x0;
            double fd = -(ep - em) / ((double)(x0 + h) - (double)(x0 - h));
            worst = fmax(worst, fabs(fd - f[i][a]) / fmax(1.0, fabs(fd)));
            sum[a] += f[i][a];
        }
    printf("graph forces vs finite differences: max rel err %.2e; |sum F| = %.2e\n", worst,
           sqrt(sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]));
    CHECKF(worst < 1e-4, "forces are not the gradient: %.3e", worst);
    CHECK(fabs(sum[0]) + fabs(sum[1]) + fabs(sum[2]) < 1e-2);
    free(f);
    nnxr_graph_free(&g);
}

static void settle(void)
{
    nnxr_graph g;
    nnxr_error err;
    uint32_t sizes[2] = {6, 4};
    CHECK(nnxr_graph_init(&g, sizes, 2, 7, &err));
    nnxr_graph_params p = nnxr_graph_params_default();
    CHECK(nnxr_graph_params_check(&p, &err));
    nnxr_graph_step(&g, &p, 3000);
    double ke = nnxr_graph_kinetic(&g);
    bool finite = true;
    for (uint32_t i = 0; i < g.node_count; i++)
        for (int a = 0; a < 3; a++)
            finite = finite && isfinite(g.pos[i][a]);
    CHECK(finite);
    /* Settled: tiny kinetic energy, tiny net forces. */
    nnxr_graph_forces(&g, &p);
    double fmax_ = 0;
    for (uint32_t i = 0; i < g.node_count; i++)
        for (int a = 0; a < 3; a++)
            fmax_ = fmax(fmax_, fabs(g.force[i][a]));
    printf("damped layout after 3000 steps: kinetic %.2e, max |F| %.2e\n", ke, fmax_);
    CHECK(ke < 1e-6 && fmax_ < 1e-2);
    /* The input, the layers and the output stay in order along the first axis that separates
     * them: layer centres are distinct and neurons are nearer their own layer's centre than
     * any other layer's. */
    double centre[2][3] = {{0}};
    for (uint32_t l = 0; l < 2; l++) {
        for (uint32_t k = 0; k < sizes[l]; k++)
            for (int a = 0; a < 3; a++)
                centre[l][a] += g.pos[g.first[l] + k][a] / sizes[l];
    }
    uint32_t misplaced = 0;
    for (uint32_t l = 0; l < 2; l++)
        for (uint32_t k = 0; k < sizes[l]; k++) {
            double d[2];
            for (uint32_t m = 0; m < 2; m++) {
                d[m] = 0;
                for (int a = 0; a < 3; a++)
                    d[m] += pow(g.pos[g.first[l] + k][a] - centre[m][a], 2);
            }
            misplaced += d[l] >= d[1 - l];
        }
    CHECK(misplaced == 0);

    /* No energy loss (damping 0) with a small step: the total energy stays put. */
    p.damping = 0;
    p.dt = 0.001f;
    for (uint32_t i = 0; i < g.node_count; i++)
        g.vel[i][0] += 0.5f * (float)((int)(i % 3) - 1);
    double e0 = total_energy(&g, &p);
    nnxr_graph_step(&g, &p, 2000);
    double e1 = total_energy(&g, &p);
    printf("undamped: energy %.6f -> %.6f\n", e0, e1);
    CHECK(fabs(e1 - e0) < 1e-2 * fabs(e0));

    /* Surgery: a neuron added to layer 1, one removed from layer 2. */
    float keep[3];
    memcpy(keep, g.pos[g.first[0] + 2], sizeof keep);
    float out_pos[3];
    memcpy(out_pos, g.pos[g.node_count - 1], sizeof out_pos);
    uint32_t sizes2[2] = {7, 3};
    CHECK(nnxr_graph_resize(&g, sizes2, 2, 9, &err));
    CHECK(g.node_count == 12 && g.link_count == 7 + 21 + 3);
    CHECK(memcmp(g.pos[g.first[0] + 2], keep, sizeof keep) == 0);
    CHECK(memcmp(g.pos[g.node_count - 1], out_pos, sizeof out_pos) == 0);
    nnxr_graph_params def = nnxr_graph_params_default();
    nnxr_graph_step(&g, &def, 10);
    nnxr_graph_free(&g);

    uint32_t none[1] = {0};
    CHECK(!nnxr_graph_init(&g, none, 1, 1, &err));
    CHECK_CONTAINS(err.message, "hidden layer 1 has no neurons");
    p = nnxr_graph_params_default();
    p.damping = 2;
    CHECK(!nnxr_graph_params_check(&p, &err));
    CHECK_CONTAINS(err.message, "damping");
}

int main(void)
{
    gradient();
    settle();
    return check_finish();
}
