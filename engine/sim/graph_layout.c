/* sim/graph_layout.c — AIive's force-directed graph layout on the CPU (sim/graph_layout.h):
 * nodes, links and their normalised values, the forces with their potential, and the
 * integration step shared with the latent cloud (sim/integrate.h). */
#include "sim/graph_layout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/rng.h"
#include "sim/integrate.h"

#define LAYER_SPACING 3.0f  /* graph units between layers at start */
#define LAYER_RADIUS 1.0f   /* neurons start on a circle of this radius */

nnxr_graph_params nnxr_graph_params_default(void)
{
    nnxr_graph_params p = {
        .k_link = 10.0f,
        .rep_link = 700.0f,
        .rep_input = 300.0f,
        .rep_output = 100.0f,
        .k_layer = {10.0f, 6.0f},
        .rep_layer = 500.0f,
        .rep_io = 1000.0f,
        .eps = 0.05f,
        .damping = 0.2f,
        .dt = 0.02f,
    };
    return p;
}

bool nnxr_graph_params_check(const nnxr_graph_params *p, nnxr_error *err)
{
    struct {
        const char *key;
        float v;
    } k[] = {{"k_link", p->k_link},       {"rep_link", p->rep_link},
             {"rep_input", p->rep_input}, {"rep_output", p->rep_output},
             {"k_layer[0]", p->k_layer[0]}, {"k_layer[1]", p->k_layer[1]},
             {"rep_layer", p->rep_layer}, {"rep_io", p->rep_io}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!isfinite(k[i].v) || k[i].v < 0 || k[i].v > 1e6f)
            return nnxr_fail(err, "graph layout parameter %s: expected a number in [0, 1e6], "
                             "got %g", k[i].key, (double)k[i].v);
    if (!isfinite(p->eps) || p->eps <= 0 || p->eps > 100)
        return nnxr_fail(err, "graph layout parameter eps: expected a number in (0, 100], got "
                         "%g", (double)p->eps);
    if (!isfinite(p->damping) || p->damping < 0 || p->damping > 1)
        return nnxr_fail(err, "graph layout parameter damping: expected a number in [0, 1], "
                         "got %g", (double)p->damping);
    if (!isfinite(p->dt) || p->dt <= 0 || p->dt > 10)
        return nnxr_fail(err, "graph layout parameter dt: expected a number in (0, 10], got %g",
                         (double)p->dt);
    return true;
}

static bool check_sizes(const uint32_t *sizes, uint32_t hidden, uint32_t *nodes,
                        nnxr_error *err)
{
    if (hidden < 1 || hidden > NNXR_GRAPH_MAX_HIDDEN)
        return nnxr_fail(err, "graph layout: %u hidden layers, expected 1 .. %u", hidden,
                         NNXR_GRAPH_MAX_HIDDEN);
    uint64_t total = 2;
    for (uint32_t l = 0; l < hidden; l++) {
        if (sizes[l] == 0)
            return nnxr_fail(err, "graph layout: hidden layer %u has no neurons", l + 1);
        total += sizes[l];
    }
    if (total > NNXR_GRAPH_MAX_NODES)
        return nnxr_fail(err, "graph layout: %llu nodes, at most %u", (unsigned long long)total,
                         NNXR_GRAPH_MAX_NODES);
    *nodes = (uint32_t)total;
    return true;
}

/* Allocates arrays and links for the sizes; positions are left to the caller. */
static bool build(nnxr_graph *g, const uint32_t *sizes, uint32_t hidden, nnxr_error *err)
{
    uint32_t nodes = 0;
    if (!check_sizes(sizes, hidden, &nodes, err))
        return false;
    memset(g, 0, sizeof *g);
    g->hidden = hidden;
    g->node_count = nodes;
    uint64_t links = (uint64_t)sizes[0] + sizes[hidden - 1];
    uint32_t first = 1;
    for (uint32_t l = 0; l < hidden; l++) {
        g->sizes[l] = sizes[l];
        g->first[l] = first;
        first += sizes[l];
        if (l + 1 < hidden)
            links += (uint64_t)sizes[l] * sizes[l + 1];
    }
    g->layer_of = malloc(nodes * sizeof *g->layer_of);
    g->pos = calloc(nodes, sizeof *g->pos);
    g->vel = calloc(nodes, sizeof *g->vel);
    g->force = calloc(nodes, sizeof *g->force);
    g->links = malloc(links * sizeof *g->links);
    if (!g->layer_of || !g->pos || !g->vel || !g->force || !g->links) {
        nnxr_graph_free(g);
        return nnxr_fail(err, "graph layout: out of memory for %u nodes", nodes);
    }
    g->layer_of[0] = 0;
    g->layer_of[nodes - 1] = hidden + 1;
    for (uint32_t l = 0; l < hidden; l++)
        for (uint32_t k = 0; k < sizes[l]; k++)
            g->layer_of[g->first[l] + k] = l + 1;
    uint32_t m = 0;
    for (uint32_t k = 0; k < sizes[0]; k++)
        g->links[m++] = (nnxr_graph_link){0, g->first[0] + k, 0, 1, 1};
    for (uint32_t l = 0; l + 1 < hidden; l++)
        for (uint32_t a = 0; a < sizes[l]; a++)
            for (uint32_t b = 0; b < sizes[l + 1]; b++)
                g->links[m++] = (nnxr_graph_link){g->first[l] + a, g->first[l + 1] + b, l + 1,
                                                  1, 1};
    for (uint32_t k = 0; k < sizes[hidden - 1]; k++)
        g->links[m++] = (nnxr_graph_link){g->first[hidden - 1] + k, nodes - 1, hidden, 1, 1};
    g->link_count = m;
    return true;
}

static void place(nnxr_graph *g, uint32_t node, uint32_t layer, uint32_t k, uint32_t count,
                  nnxr_rng *rng)
{
    float x = ((float)layer - 0.5f * (float)(g->hidden + 1)) * LAYER_SPACING;
    float y = 0, z = 0;
    if (layer >= 1 && layer <= g->hidden && count > 1) {
        float t = 6.2831853f * (float)k / (float)count;
        y = LAYER_RADIUS * cosf(t);
        z = LAYER_RADIUS * sinf(t);
    }
    g->pos[node][0] = x + 0.05f * (nnxr_rng_float(rng) - 0.5f);
    g->pos[node][1] = y + 0.05f * (nnxr_rng_float(rng) - 0.5f);
    g->pos[node][2] = z + 0.05f * (nnxr_rng_float(rng) - 0.5f);
}

bool nnxr_graph_init(nnxr_graph *g, const uint32_t *sizes, uint32_t hidden, uint64_t seed,
                     nnxr_error *err)
{
    if (!build(g, sizes, hidden, err))
        return false;
    nnxr_rng rng;
    nnxr_rng_seed(&rng, seed, 0x67726170u);
    for (uint32_t i = 0; i < g->node_count; i++) {
        uint32_t l = g->layer_of[i];
        uint32_t k = (l >= 1 && l <= hidden) ? i - g->first[l - 1] : 0;
        place(g, i, l, k, (l >= 1 && l <= hidden) ? sizes[l - 1] : 1, &rng);
    }
    return true;
}

void nnxr_graph_free(nnxr_graph *g)
{
    if (!g)
        return;
    free(g->layer_of);
    free(g->pos);
    free(g->vel);
    free(g->force);
    free(g->links);
    memset(g, 0, sizeof *g);
}

bool nnxr_graph_resize(nnxr_graph *g, const uint32_t *sizes, uint32_t hidden, uint64_t seed,
                       nnxr_error *err)
{
    nnxr_graph n;
    if (!build(&n, sizes, hidden, err))
        return false;
    nnxr_rng rng;
    nnxr_rng_seed(&rng, seed, 0x72657369u);
    /* Layer centres of the old graph, where new neurons appear. */
    for (uint32_t i = 0; i < n.node_count; i++) {
        uint32_t l = n.layer_of[i];
        uint32_t old = UINT32_MAX;
        if (l == 0)
            old = 0;
        else if (l == hidden + 1)
            old = g->node_count - 1;
        else if (l <= g->hidden && i - n.first[l - 1] < g->sizes[l - 1])
            old = g->first[l - 1] + (i - n.first[l - 1]);
        if (old != UINT32_MAX) {
            memcpy(n.pos[i], g->pos[old], sizeof n.pos[i]);
            memcpy(n.vel[i], g->vel[old], sizeof n.vel[i]);
            continue;
        }
        float centre[3] = {0, 0, 0};
        if (l <= g->hidden) {
            for (uint32_t k = 0; k < g->sizes[l - 1]; k++)
                for (int a = 0; a < 3; a++)
                    centre[a] += g->pos[g->first[l - 1] + k][a] / (float)g->sizes[l - 1];
            for (int a = 0; a < 3; a++)
                n.pos[i][a] = centre[a] + 0.3f * (nnxr_rng_float(&rng) - 0.5f);
        } else {
            place(&n, i, l, i - n.first[l - 1], sizes[l - 1], &rng);
        }
    }
    nnxr_graph_free(g);
    *g = n;
    return true;
}

bool nnxr_graph_set_weights(nnxr_graph *g, uint32_t group, const float *w, uint32_t rows,
                            uint32_t cols, nnxr_error *err)
{
    if (group > g->hidden)
        return nnxr_fail(err, "graph layout: weight group %u, expected 0 .. %u", group,
                         g->hidden);
    if (rows == 0 || cols == 0 || !w)
        return nnxr_fail(err, "graph layout: weight group %u is empty (%u x %u)", group, rows,
                         cols);
    uint32_t want_rows = group < g->hidden ? g->sizes[group] : rows;
    uint32_t want_cols = group > 0 ? g->sizes[group - 1] : cols;
    if (rows != want_rows || cols != want_cols)
        return nnxr_fail(err, "graph layout: weight group %u is %u x %u, expected %u x %u "
                         "(out x in)", group, rows, cols, want_rows, want_cols);
    for (uint64_t e = 0; e < (uint64_t)rows * cols; e++)
        if (!isfinite(w[e]))
            return nnxr_fail(err, "graph layout: weight group %u, element [%llu][%llu] is %g",
                             group, (unsigned long long)(e / cols),
                             (unsigned long long)(e % cols), (double)w[e]);
    float lo = INFINITY, hi = -INFINITY;
    for (uint32_t m = 0; m < g->link_count; m++) {
        nnxr_graph_link *k = &g->links[m];
        if (k->group != group)
            continue;
        double v = 0;
        if (group == 0) { /* mean of the neuron's input weights: its row */
            uint32_t r = k->b - g->first[0];
            for (uint32_t c = 0; c < cols; c++)
                v += w[(size_t)r * cols + c];
            v /= cols;
        } else if (group == g->hidden) { /* mean of its output weights: its column */
            uint32_t c = k->a - g->first[group - 1];
            for (uint32_t r = 0; r < rows; r++)
                v += w[(size_t)r * cols + c];
            v /= rows;
        } else {
            uint32_t r = k->b - g->first[group], c = k->a - g->first[group - 1];
            v = w[(size_t)r * cols + c];
        }
        k->value = (float)v;
        lo = fminf(lo, k->value);
        hi = fmaxf(hi, k->value);
    }
    for (uint32_t m = 0; m < g->link_count; m++) {
        nnxr_graph_link *k = &g->links[m];
        if (k->group == group)
            k->norm = hi - lo > 1e-12f ? (k->value - lo) / (hi - lo) : 1.0f;
    }
    return true;
}

/* Spring k (x_j − x_i) on i and its opposite on j; returns ½ k d². In double, like the
 * repulsion, so that the potential is exact for the given float positions. */
static double spring(nnxr_graph *g, uint32_t i, uint32_t j, float k)
{
    double e = 0;
    for (int a = 0; a < 3; a++) {
        double d = (double)g->pos[j][a] - g->pos[i][a];
        g->force[i][a] += (float)(k * d);
        g->force[j][a] -= (float)(k * d);
        e += 0.5 * k * d * d;
    }
    return e;
}

double nnxr_graph_forces(nnxr_graph *g, const nnxr_graph_params *p)
{
    memset(g->force, 0, g->node_count * sizeof *g->force);
    double energy = 0;
    for (uint32_t m = 0; m < g->link_count; m++) {
        const nnxr_graph_link *k = &g->links[m];
        float rep = k->group == 0 ? p->rep_input
                                  : (k->group == g->hidden ? p->rep_output : p->rep_link);
        energy += spring(g, k->a, k->b, p->k_link * k->norm);
        energy += nnxr_sim_repel_pair(g->pos[k->a], g->pos[k->b], rep, p->eps, g->force[k->a],
                                      g->force[k->b]);
    }
    for (uint32_t l = 0; l < g->hidden; l++) {
        float ks = p->k_layer[l == 0 ? 0 : 1];
        for (uint32_t a = 0; a < g->sizes[l]; a++)
            for (uint32_t b = a + 1; b < g->sizes[l]; b++) {
                uint32_t i = g->first[l] + a, j = g->first[l] + b;
                energy += spring(g, i, j, ks);
                energy += nnxr_sim_repel_pair(g->pos[i], g->pos[j], p->rep_layer, p->eps,
                                              g->force[i], g->force[j]);
            }
    }
    energy += nnxr_sim_repel_pair(g->pos[0], g->pos[g->node_count - 1], p->rep_io, p->eps,
                                  g->force[0], g->force[g->node_count - 1]);
    return energy;
}

void nnxr_graph_step(nnxr_graph *g, const nnxr_graph_params *p, uint32_t steps)
{
    for (uint32_t s = 0; s < steps; s++) {
        nnxr_graph_forces(g, p);
        nnxr_sim_integrate3(&g->pos[0][0], &g->vel[0][0], &g->force[0][0], g->node_count, 3,
                            p->damping, p->dt);
    }
}

double nnxr_graph_kinetic(const nnxr_graph *g)
{
    double e = 0;
    for (uint32_t i = 0; i < g->node_count; i++)
        for (int a = 0; a < 3; a++)
            e += 0.5 * (double)g->vel[i][a] * g->vel[i][a];
    return e;
}
