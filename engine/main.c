/* main.c — the `nnxr` command: dispatches to the subcommands of app/cli.h. */
#include <stdio.h>
#include <string.h>

#include "app/cli.h"

static const char usage[] =
    "usage: nnxr COMMAND [ARGS]\n"
    "\n"
    "Trains neural networks on the GPU with Vulkan compute and shows the training in a\n"
    "headset, a window, or headless (PNG frames, metrics, checkpoints).\n"
    "\n"
    "commands:\n"
    "  run SCENE.toml      run a scene (nnxr run --help)\n"
    "  check SCENE.toml    validate a scene and print it with every default filled in\n"
    "  devices             list the Vulkan devices and the limits that matter\n"
    "  plugins             list the plugins found, with id, ABI version and path\n"
    "  toml-json [FILE]    decode TOML to the tagged JSON of the toml-test suite\n"
    "  bench WHAT          benchmarks: train, forces, render (nnxr bench --help)\n"
    "\n"
    "options:\n"
    "  --help              this text (each command has its own --help)\n"
    "  --version           the version\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("nnxr %s\n", NNXR_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } commands[] = {
        {"run", nnxr_cli_run},         {"check", nnxr_cli_check},
        {"devices", nnxr_cli_devices}, {"plugins", nnxr_cli_plugins},
        {"toml-json", nnxr_cli_toml_json}, {"bench", nnxr_cli_bench},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "nnxr: unknown command '%s' (try 'nnxr --help')\n", cmd);
    return 2;
}
