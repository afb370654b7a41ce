/* sim/graph_layout.h — the force-directed layout of AIive's graph view, on the CPU (graphs are
 * tens of nodes): nodes are the hidden neurons plus one input and one output node; links carry
 * min-max normalised weights. Forces (DESIGN.md "Graph view", AIive's public constants):
 *   along a link:      k_link ŵ (x_j − x_i) attraction + repulsion k/d² with k = rep_link
 *                      (rep_input for links touching the input node, rep_output for links
 *                      into the output node)
 *   same hidden layer: springs k_layer[l] (x_j − x_i) (10 first layer, 6 the others) and
 *                      repulsion rep_layer/d²
 *   input and output:  repulsion rep_io/d²
 * The repulsion is softened exactly as the latent cloud's: k (x_i − x_j)/(d² + ε²)^{3/2},
 * and the integration step is the cloud's (sim/integrate.h):
 *   v ← (1 − damping) v + dt F ; x ← x + dt v.
 * Damping is on by default (AIive's code needed drag 10: undamped, the graph oscillates);
 * damping = 0 is the paper's "no energy loss". A paused scene simply does not step. */
#ifndef NNXR_SIM_GRAPH_LAYOUT_H
#define NNXR_SIM_GRAPH_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "nnxr/error.h"

#define NNXR_GRAPH_MAX_HIDDEN 16u   /* hidden layers */
#define NNXR_GRAPH_MAX_NODES 4096u

typedef struct nnxr_graph_params {
    float k_link;       /* 10: attraction along a link, times ŵ */
    float rep_link;     /* 700: repulsion along a hidden→hidden link */
    float rep_input;    /* 300: along links touching the input node */
    float rep_output;   /* 100: along links into the output node */
    float k_layer[2];   /* 10, 6: same-layer springs, first hidden layer and the others */
    float rep_layer;    /* 500: same-layer repulsion */
    float rep_io;       /* 1000: input–output repulsion */
    float eps;          /* 0.05: softening length */
    float damping;      /* 0.2 = AIive's drag 10 at Unity's 0.02 s fixed step; 0 = none */
    float dt;           /* 0.02 */
} nnxr_graph_params;

nnxr_graph_params nnxr_graph_params_default(void);
bool nnxr_graph_params_check(const nnxr_graph_params *p, nnxr_error *err);

typedef struct nnxr_graph_link {
    uint32_t a, b;      /* node indices, a in the earlier layer */
    uint32_t group;     /* weight matrix it comes from: 0 = input links .. hidden = output */
    float value;        /* raw: weight, or the mean weight for input/output links */
    float norm;         /* value min-max normalised within its group, in [0, 1] */
} nnxr_graph_link;

/* Node 0 is the input, then the hidden layers in order, the last node is the output.
 * layer_of[i]: 0 input, 1..hidden = hidden layers, hidden+1 output. */
typedef struct nnxr_graph {
    uint32_t hidden;                       /* hidden layers */
    uint32_t sizes[NNXR_GRAPH_MAX_HIDDEN]; /* neurons per hidden layer */
    uint32_t first[NNXR_GRAPH_MAX_HIDDEN]; /* node index of each layer's first neuron */
    uint32_t node_count;
    uint32_t *layer_of;
    float (*pos)[3];
    float (*vel)[3];
    float (*force)[3];
    uint32_t link_count;
    nnxr_graph_link *links;
} nnxr_graph;

/* Nodes laid out along x by layer, spread in y/z with a seeded jitter (so that symmetric
 * layers are not stuck), all links present with norm 1 until weights are set. */
bool nnxr_graph_init(nnxr_graph *g, const uint32_t *sizes, uint32_t hidden, uint64_t seed,
                     nnxr_error *err);
void nnxr_graph_free(nnxr_graph *g);

/* New layer sizes (after surgery): neurons that remain keep their position and velocity;
 * new ones appear near their layer's centre. Link values reset to 1 until set again. */
bool nnxr_graph_resize(nnxr_graph *g, const uint32_t *sizes, uint32_t hidden, uint64_t seed,
                       nnxr_error *err);

/* Weight matrix `group` (0 = input→first hidden, g->hidden = last hidden→output), row-major
 * rows × cols = out × in. Input links get the mean of each first-layer neuron's input row,
 * output links the mean of each last-layer neuron's output column; then the group's values
 * are min-max normalised (all equal → 1). Dimensions must match the neighbouring layers. */
bool nnxr_graph_set_weights(nnxr_graph *g, uint32_t group, const float *w, uint32_t rows,
                            uint32_t cols, nnxr_error *err);

/* F for every node into g->force; returns the potential energy whose negative gradient F is
 * (for tests: finite differences, and the energy of an undamped run). */
double nnxr_graph_forces(nnxr_graph *g, const nnxr_graph_params *p);
/* forces + integration, `steps` times. */
void nnxr_graph_step(nnxr_graph *g, const nnxr_graph_params *p, uint32_t steps);
/* Σ ½|v|² (unit masses). */
double nnxr_graph_kinetic(const nnxr_graph *g);

#endif
