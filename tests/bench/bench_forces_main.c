/* tests/bench/bench_forces_main.c — a stand-alone driver of nnxr_bench_forces (app/bench.h)
 * for the smoke test and for runs before `nnxr bench forces` is wired into the CLI. */
#include "app/bench.h"

int main(int argc, char **argv) { return nnxr_bench_forces(argc, argv); }
