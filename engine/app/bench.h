/* app/bench.h — the `nnxr bench <what>` commands. Each takes its own argv (argv[0] is the
 * benchmark's name), prints a table (or with --json one JSON object: figures, units, device,
 * and the baseline measured in the same run) on stdout and returns the exit code. */
#ifndef NNXR_APP_BENCH_H
#define NNXR_APP_BENCH_H

/* `nnxr bench forces [--sizes n,n,...] [--seconds s] [--rounds k] [--ref PATH] [--torch PATH]
 * [--json]`: pair interactions per second of the latent cloud's force step on the chosen
 * device for n = 4,096, 16,384, 32,768 and 65,536, next to the C reference
 * (tests/bench/forces_ref.c, -O3 -march=native -fopenmp) run as a subprocess in the same run,
 * in alternating rounds, with the median ratio. */
int nnxr_bench_forces(int argc, char **argv);

/* `nnxr bench train [--models mlp,tiny,vae,cnn] [--seconds S] [--accuracy] [--no-torch]
 * [--json]`: training samples/s, steps/s, GFLOP/s and % of the estimated peak of mlp
 * 784-128-128-10 (batch 64), tiny 784-8-8-10 (32), vae 784-256-3 + classifier (128) and cnn
 * conv16-conv32-pool-fc64-fc64-10 (64); the 500-sample evaluation time of a 784-16-16-10 mlp;
 * PyTorch's figures (tests/bench/torch_baseline.py, run as a subprocess) and the ratios. */
int nnxr_bench_train(int argc, char **argv);

/* `nnxr bench render [--sizes n,n] [--frames F] [--samples S] [--json]`: frame time at
 * 1280x720 of the latent cloud as n textured cubes (nnxr's path and a plain renderer, the
 * baseline, in the same run) and of the graph view of a 784-64-64-10 MLP, with each frame's
 * compute, draw and readback. */
int nnxr_bench_render(int argc, char **argv);

#endif
