// nn/hparams.glsl — word indices of nnxr_nn_hparams (engine/nn/layers.h) in a uint view of the
// hparams buffer.
#ifndef NN_HPARAMS_GLSL
#define NN_HPARAMS_GLSL
#define HP_LR 0u
#define HP_MOMENTUM 1u
#define HP_BETA1 2u
#define HP_BETA2 3u
#define HP_ADAM_EPS 4u
#define HP_L1 5u
#define HP_L2 6u
#define HP_KL_BETA 7u
#define HP_STEP 8u
#define HP_BATCH_BASE 9u
#define HP_SEED 10u
#endif
