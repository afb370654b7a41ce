/* sim/forces.h — the latent cloud on the GPU (Kath et al.): n points pulled towards their
 * encoder targets z_i, pulled towards the mean of their class and pushed apart by a softened
 * all-pairs repulsion, integrated with damping. Positions, velocities, forces, targets and
 * labels live in GPU buffers that the renderer and the trainer read; this module owns them.
 * Also: the mapping of raw latents into the room, and sphere annotation (which points are
 * inside a sphere is decided on the GPU; the journal makes it durable before it takes effect).
 *
 * Force model (DESIGN.md "Force models"):
 *   F_i = k_s (z_i − x_i)
 *       + Σ_{j: c_j = c_i ≠ none} k_a (x_j − x_i) / n_{c_i}
 *       + Σ_j k_r (x_i − x_j) / (|x_i − x_j|² + ε²)^{3/2}
 *   v_i ← (1 − damping) v_i + dt F_i ;  x_i ← x_i + dt v_i
 * The class term is computed exactly in O(n): Σ_{j∈c}(x_j − x_i)/n_c = (S_c − n_c x_i)/n_c =
 * mean_c − x_i (the j = i term is zero either way), from per-class sums made on the GPU.
 *
 * Buffers are float4 per point (w unused, 0) so that std430 arrays of vec4 match them. Labels
 * are int32 (−1 = none); `user` is uint32 per point, 1 where a user annotation (label or
 * unlabel) decided the label, which nothing but another user action or an undo changes.
 *
 * All calls on one cloud come from the thread that owns its gpu. Calls that run work on the
 * cloud's own recorder (upload, download, set_latents, annotation, undo, replay, exports,
 * step) expect no submission of the caller's that uses the cloud's buffers to be pending. */
#ifndef NNXR_SIM_FORCES_H
#define NNXR_SIM_FORCES_H

#include <stdbool.h>
#include <stdint.h>

#include "gpu/gpu.h"
#include "nnxr/error.h"
#include "sim/journal.h"
#include "sim/labels.h"

/* Scene keys of the latent cloud; may change between frames. */
typedef struct nnxr_cloud_params {
    float k_s;      /* spring to the target z_i */
    float k_a;      /* class attraction */
    float k_r;      /* repulsion */
    float eps;      /* softening length ε (> 0) */
    float damping;  /* fraction of velocity lost per step, [0, 1] */
    float dt;       /* step (> 0) */
    float room;     /* edge of the room's cube, centred at the origin (> 0) */
} nnxr_cloud_params;

/* Starting values for a 4 m room and ~10^4–10^5 points, not yet tuned against the trainer:
 * k_s 1, k_a 0.5, k_r 1e-5 (the total repulsion grows with n: scale it as 1/n to keep the
 * look), ε 0.02, damping 0.1, dt 0.05 (spring period ≈ 125 steps, stable). */
nnxr_cloud_params nnxr_cloud_params_default(void);

/* false (with a message naming the key) if a value is out of range or not finite. */
bool nnxr_cloud_params_check(const nnxr_cloud_params *p, nnxr_error *err);

/* Kernel shape (DESIGN.md "Devices"). AUTO = from nnxr_gpu_info.is_cpu. */
typedef enum nnxr_cloud_shape {
    NNXR_CLOUD_SHAPE_AUTO = 0,
    NNXR_CLOUD_SHAPE_TILES = 1,  /* GPU: shared-memory tiles, one point per invocation */
    NNXR_CLOUD_SHAPE_BLOCK = 2,  /* CPU device: several points per invocation, no shared mem */
    /* CPU device with subgroup shuffles and at most 8 lanes (AUTO's choice there): BLOCK's
     * register block, each pair met once (Newton's third law), the j's turned through the
     * lanes with their j-side sums, which a second dispatch per j-range folds in. */
    NNXR_CLOUD_SHAPE_PAIRS = 3,
} nnxr_cloud_shape;

typedef struct nnxr_cloud_desc {
    uint32_t n;                /* points, 1 .. NNXR_CLOUD_MAX_POINTS */
    uint32_t classes;          /* labels are 0 .. classes−1; 1 .. NNXR_CLOUD_MAX_CLASSES */
    nnxr_cloud_shape shape;    /* AUTO unless a test or benchmark forces one */
    uint32_t points_per_invocation; /* BLOCK: 1..16, 0 = 16; PAIRS: 1..64, 0 = 16 (more
                                     * only past 65,535 blocks) */
    /* invocations per workgroup, 0 = 64 (BLOCK) / 128 (TILES); PAIRS: the subgroup size (a
     * non-zero value makes AUTO choose BLOCK) */
    uint32_t workgroup;
    /* BLOCK shape: read x_j from the storage buffer instead of the chunk's uniform-buffer
     * window (the default: a CPU device gathers a uniform buffer without a branch per lane). */
    bool plain_loads;
    /* j-range of one dispatch (the repulsion is split over ceil(n / chunk) dispatches that
     * accumulate into the force buffer). 0 = auto: about 2^28 pairs per dispatch, so no
     * dispatch runs long enough for a GPU watchdog and no invocation's loops approach
     * lavapipe's 65,535-iteration cap. Clamped to NNXR_CLOUD_MAX_CHUNK and to the uniform
     * window (maxUniformBufferRange / 16 points, 4,096 on lavapipe), rounded down to a
     * multiple of 8 (the unroll) whose windows start at minUniformBufferOffsetAlignment. */
    uint32_t chunk;
} nnxr_cloud_desc;

#define NNXR_CLOUD_MAX_POINTS (1u << 22)
#define NNXR_CLOUD_MAX_CLASSES 64u
#define NNXR_CLOUD_MAX_CHUNK 32768u

typedef struct nnxr_cloud nnxr_cloud;

/* The GPU buffers, for the renderer and the trainer (read them; don't destroy them). */
typedef struct nnxr_cloud_buffers {
    nnxr_buffer *pos;     /* vec4 × n: x_i */
    nnxr_buffer *vel;     /* vec4 × n: v_i */
    nnxr_buffer *force;   /* vec4 × n: F_i of the last step */
    nnxr_buffer *target;  /* vec4 × n: z_i in room coordinates */
    nnxr_buffer *labels;  /* int32 × n: c_i, −1 = none */
    nnxr_buffer *user;    /* uint32 × n: 1 = decided by a user annotation */
} nnxr_cloud_buffers;

/* Creates the buffers (positions, velocities and targets zero, labels none) and kernels. */
bool nnxr_cloud_create(nnxr_gpu *gpu, const nnxr_cloud_desc *desc, nnxr_cloud **out,
                       nnxr_error *err);
/* Waits for its own work; NULL is fine. */
void nnxr_cloud_destroy(nnxr_cloud *cloud);

const nnxr_cloud_buffers *nnxr_cloud_get_buffers(const nnxr_cloud *cloud);
uint32_t nnxr_cloud_count(const nnxr_cloud *cloud);
uint32_t nnxr_cloud_classes(const nnxr_cloud *cloud);
nnxr_cloud_shape nnxr_cloud_get_shape(const nnxr_cloud *cloud);   /* the resolved shape */
uint32_t nnxr_cloud_chunk(const nnxr_cloud *cloud);               /* the resolved chunk */
uint32_t nnxr_cloud_points_per_invocation(const nnxr_cloud *cloud); /* resolved */
uint32_t nnxr_cloud_workgroup(const nnxr_cloud *cloud);           /* resolved */
/* Dispatches one step records (for the benchmark's report). */
uint32_t nnxr_cloud_dispatches_per_step(const nnxr_cloud *cloud);
/* Bytes of GPU buffers the cloud holds. */
uint64_t nnxr_cloud_gpu_bytes(const nnxr_cloud *cloud);

/* ---- state ------------------------------------------------------------------------------ */

/* Uploads room-space float4 arrays (any may be NULL = leave as is). */
bool nnxr_cloud_upload(nnxr_cloud *cloud, const float *pos4, const float *vel4,
                       const float *target4, nnxr_error *err);
/* Reads float4 arrays back (any may be NULL). */
bool nnxr_cloud_download(nnxr_cloud *cloud, float *pos4, float *vel4, float *force4,
                         nnxr_error *err);
/* x ← z, v ← 0 (a fresh start from the targets). */
bool nnxr_cloud_reset_to_targets(nnxr_cloud *cloud, nnxr_error *err);

/* ---- targets: latents into the room -------------------------------------------------- */

/* Per axis a: room = (z_a − centre_a) · scale_a. */
typedef struct nnxr_room_mapping {
    float centre[3];
    float scale[3];
} nnxr_room_mapping;

/* The mapping that centres the latents (per-axis median) and scales each axis so that exactly
 * ceil(0.98 n) points (all but the 2 % farthest in the scaled max-norm) fall inside the cube
 * [−room/2, room/2]^3. Per axis the spread is the 98th percentile of |z_a − median_a|; one
 * common factor then brings the joint 98th percentile of max_a |z_a − m_a| / spread_a to the
 * cube's face. Degenerate axes (spread 0) get scale 1. z holds n points of `stride` floats
 * (3 or 4; x y z first). Refuses non-finite latents, naming the point. */
bool nnxr_room_mapping_compute(const float *z, uint32_t n, uint32_t stride, float room,
                               nnxr_room_mapping *out, nnxr_error *err);

/* Re-encode time (room = the scene's room size): reads the latents (n points of `stride` = 3 or 4 floats at byte `offset`
 * of z) back to compute the mapping on the CPU, then maps them into the target buffer on the
 * GPU. Why the CPU: it runs once every k training steps, the readback is n·16 bytes
 * (zero-copy on unified memory, well under a millisecond over PCIe for 70,000 points), and
 * two quickselects are O(n) — a GPU selection would be several dispatches and a sort for
 * something that is not on the per-frame path. `mapping` may be NULL. */
bool nnxr_cloud_set_latents(nnxr_cloud *cloud, const nnxr_buffer *z, VkDeviceSize offset,
                            uint32_t stride, float room, nnxr_room_mapping *mapping,
                            nnxr_error *err);

/* ---- simulation ---------------------------------------------------------------------------- */

/* Records `steps` simulation steps into rec (which the caller begins, submits and waits).
 * Each step: per-class sums, class means, the repulsion over ceil(n/chunk) dispatches
 * accumulating into the force buffer (the first also adds spring and class terms), and the
 * integration. The PAIRS shape, for CPU devices where every dispatch costs idle time on
 * every thread, does the same in two dispatches per j-range: the forces (the first also
 * sums the classes per slice) and a fold that completes them (j-side, class attraction),
 * the last one integrating. Parameters travel as push constants, so a recorded buffer
 * replays with the values it was recorded with. */
bool nnxr_cloud_record_steps(nnxr_cloud *cloud, nnxr_recorder *rec,
                             const nnxr_cloud_params *params, uint32_t steps,
                             nnxr_error *err);
/* Records only the force computation (no integration): the force buffer holds F_i. */
bool nnxr_cloud_record_forces(nnxr_cloud *cloud, nnxr_recorder *rec,
                              const nnxr_cloud_params *params, nnxr_error *err);
/* One-call forms with the cloud's own recorder (begin, record, run). */
bool nnxr_cloud_step(nnxr_cloud *cloud, const nnxr_cloud_params *params, uint32_t steps,
                     nnxr_error *err);
bool nnxr_cloud_compute_forces(nnxr_cloud *cloud, const nnxr_cloud_params *params,
                               nnxr_error *err);

/* ---- labels and annotation -------------------------------------------------------------- */

/* The user-level label state (CPU mirror; see sim/labels.h): which points a user labelled
 * and how, with the undo history. */
const nnxr_label_state *nnxr_cloud_label_state(const nnxr_cloud *cloud);

/* Annotation. The GPU decides which points lie inside the sphere (|x_i − c|² ≤ r², fp32,
 * positions as they are now); the choice is read back, appended to `journal` (NULL = none)
 * and fsync'ed, and only then written into the label buffers (GPU) and the mirror. `count`
 * (may be NULL) receives the number of points inside. label in [0, classes). */
bool nnxr_cloud_annotate_sphere(nnxr_cloud *cloud, const float center[3], float radius,
                                int32_t label, nnxr_journal *journal, uint32_t *count,
                                nnxr_error *err);
/* Every point inside loses its label; the user decided "none" for them (user flag set), so
 * machine labels do not come back. */
bool nnxr_cloud_unlabel_sphere(nnxr_cloud *cloud, const float center[3], float radius,
                               nnxr_journal *journal, uint32_t *count, nnxr_error *err);
/* Undoes the last annotation not yet undone (journaled first); restores the exact previous
 * label and user flag of every point it touched. *undone = false when there is none. */
bool nnxr_cloud_undo(nnxr_cloud *cloud, nnxr_journal *journal, bool *undone,
                     nnxr_error *err);

/* Re-applies every record of an opened journal to a cloud with no annotations yet (at
 * start). Refuses a journal made for another point count. */
bool nnxr_cloud_replay_journal(nnxr_cloud *cloud, const nnxr_journal *journal,
                               nnxr_error *err);

/* Machine labels (e.g. the classifier's predictions, int32 × n, −1 = none) are written into
 * the label buffer on the GPU everywhere the user flag is 0. bind_predictions names the
 * buffer they come from (NULL forgets it — do that before destroying it; waits for the
 * device when replacing a binding); record_machine_labels records the merge into rec. */
bool nnxr_cloud_bind_predictions(nnxr_cloud *cloud, const nnxr_buffer *pred, nnxr_error *err);
bool nnxr_cloud_record_machine_labels(nnxr_cloud *cloud, nnxr_recorder *rec, nnxr_error *err);

/* Reads the GPU label buffers (labels as training sees them, user flags); either may be
 * NULL. */
bool nnxr_cloud_read_labels(nnxr_cloud *cloud, int32_t *labels, uint32_t *user,
                            nnxr_error *err);

/* Exports the GPU labels: .npy of int32 (n,) and .csv "index,label,user" (label −1 = none).
 * Atomic writes. */
bool nnxr_cloud_export_labels_npy(nnxr_cloud *cloud, const char *path, nnxr_error *err);
bool nnxr_cloud_export_labels_csv(nnxr_cloud *cloud, const char *path, nnxr_error *err);

#endif
