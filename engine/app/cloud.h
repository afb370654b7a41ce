/* app/cloud.h — the latent cloud of a running scene (Kath et al.): when the scene has
 * [cloud] enabled = true and a vae, one point per training sample, its target the trainer's mu
 * mapped into the room (again whenever the trainer rewrites mu), stepped every frame after
 * training in the frame's command buffer; the annotation commands (journaled in the run's
 * labels.journal before they take effect, replayed at start) and the classifier's label mask
 * they feed; machine labels, per-point entropy, the latent k-NN metric, the "nnxr.cloud"
 * service, and labels.npy / labels.csv at the end of a run. The simulation itself is
 * engine/sim (forces.h, journal.h, entropy.h). */
#ifndef NNXR_APP_CLOUD_H
#define NNXR_APP_CLOUD_H

#include <stdbool.h>
#include <stdint.h>

#include "gpu/gpu.h"
#include "nnxr/cloud.h"
#include "nnxr/error.h"
#include "nnxr/plugin.h"
#include "sim/forces.h"

struct nnxr_app;
typedef struct nnxr_app_cloud nnxr_app_cloud;

/* After nnxr_app_start_training, before the plugins load: nothing unless [cloud] enabled.
 * Creates the cloud as app->cloud, opens (and replays) <out_dir>/labels.journal — out_dir
 * NULL: no journal (`nnxr check`) —, pushes replayed labels to the trainer, registers the
 * annotation commands and fills app->cloud_api. */
bool nnxr_app_cloud_start(struct nnxr_app *app, const char *out_dir, nnxr_error *err);

/* Frame step 5, after training: re-targets the cloud if the trainer rewrote its outputs
 * (plus entropy and machine labels), publishes the metrics when due, and records the frame's
 * simulation steps into rec (none while paused when [cloud] freeze_when_paused). */
bool nnxr_app_cloud_frame(nnxr_app_cloud *c, nnxr_recorder *rec, const nnxr_frame *frame,
                          nnxr_error *err);

/* The end of a run: the metrics once more, labels.npy and labels.csv into out_dir. */
bool nnxr_app_cloud_finish(nnxr_app_cloud *c, const char *out_dir, nnxr_error *err);

void nnxr_app_cloud_destroy(nnxr_app_cloud *c); /* NULL is fine */

nnxr_cloud *nnxr_app_cloud_sim(nnxr_app_cloud *c);

/* k-NN accuracy: for each of the q query points (indices into pts), the majority class of its
 * k nearest other points (Euclidean over the first `dim` of `stride` floats; ties go to the
 * class of the nearest tied neighbour) against its own; the fraction right. A point with a
 * non-finite coordinate counts as wrong. 0 when q is 0. */
double nnxr_knn_accuracy(const float *pts, uint32_t n, uint32_t stride, uint32_t dim,
                         const uint8_t *labels, const uint32_t *queries, uint32_t q,
                         uint32_t k);

#endif
