/* app/cli_bench.c — `nnxr bench WHAT`: dispatches to the benchmarks of app/bench.h. */
#include <stdio.h>
#include <string.h>

#include "app/bench.h"
#include "app/cli.h"

static const char usage[] =
    "usage: nnxr bench WHAT [options]\n"
    "\n"
    "Benchmarks on the chosen Vulkan device, each next to a baseline measured in the same run.\n"
    "\n"
    "  train    training throughput of four models, against PyTorch (CPU) when present\n"
    "  forces   pair interactions per second of the latent cloud, against a C reference\n"
    "  render   frame time of the latent cloud and the graph view at 1280x720\n"
    "\n"
    "Each takes --json (one JSON object on stdout) and --help.\n";

int nnxr_cli_bench(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, stdout);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } benches[] = {
        {"train", nnxr_bench_train},
        {"forces", nnxr_bench_forces},
        {"render", nnxr_bench_render},
    };
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
        if (!strcmp(argv[1], benches[i].name))
            return benches[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "nnxr bench: unknown benchmark '%s' (train, forces or render)\n", argv[1]);
    return 2;
}
