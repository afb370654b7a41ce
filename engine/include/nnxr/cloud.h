/* nnxr/cloud.h — the "nnxr.cloud" service: the latent cloud of a VAE scene (Kath et al.), for
 * plugins that draw it or annotate it. The app owns the simulation (positions pulled towards
 * the encoder means, class attraction, repulsion; engine/sim) and steps it every frame after
 * training; plugins read its GPU buffers where they live, and change labels only through
 * commands (NNXR_CMD_ANNOTATE_SPHERE, NNXR_CMD_UNLABEL_SPHERE, NNXR_CMD_UNDO_ANNOTATION), which
 * the app makes durable in the run's label journal before they take effect.
 *
 * Point i is training sample i: its image, true class and the classifier's outputs are those
 * of the model service's `samples` and its data view's `train` set (nnxr/model.h). */
#ifndef NNXR_CLOUD_H
#define NNXR_CLOUD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nnxr/error.h"
#include "nnxr/model.h"

#define NNXR_SERVICE_CLOUD "nnxr.cloud"

/* An annotation in effect (not undone). */
typedef struct nnxr_cloud_annotation {
    float center[3];
    float radius;
    int32_t label;      /* the class given, or -1 for an unlabel sphere */
    uint32_t count;     /* points it took */
    uint64_t frame;     /* the frame it took effect in */
} nnxr_cloud_annotation;

typedef struct nnxr_cloud_view {
    size_t size;                /* sizeof the struct the host filled */
    uint64_t generation;        /* changes when buffers are re-created: re-read the regions */
    uint32_t n;                 /* points */
    uint32_t classes;
    float room;                 /* edge of the room's cube, centred at the origin, metres */
    nnxr_model_region positions; /* float4 [n]: x_i now (w unused) */
    /* int32 [n]: the label each point has in the force model: a user's label where a user
     * decided (user flag 1; -1 if the user unlabelled it), elsewhere the classifier's
     * prediction when the scene lets machine labels in, else -1. */
    nnxr_model_region labels;
    nnxr_model_region user;     /* uint32 [n]: 1 where a user annotation decided the label */
    /* float [n]: entropy (nats, 0 .. ln classes) of the classifier's probabilities for the
     * point, as of the last evaluation; high = uncertain, the points worth labelling next.
     * Absent (buffer NULL) without a classifier. */
    nnxr_model_region entropy;
    uint64_t labels_version;    /* changes with every annotation, unlabel and undo */
    uint32_t labelled;          /* points with a user label (not -1) */
    uint32_t annotation_count;  /* annotations in effect, oldest first */
    const nnxr_cloud_annotation *annotations; /* valid until the next frame */
} nnxr_cloud_view;

typedef struct nnxr_cloud_api {
    void *ctx;
    size_t size;                /* sizeof the table the host filled */
    bool (*info)(void *ctx, nnxr_cloud_view *out, nnxr_error *err);
    /* Copies the positions (float4 x n) back to the CPU: a synchronous readback, for
     * occasional use (picking, a simulated annotator), not for every frame. */
    bool (*read_positions)(void *ctx, float *pos4, uint32_t n, nnxr_error *err);
} nnxr_cloud_api;

#endif
