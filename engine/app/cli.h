/* app/cli.h — the `nnxr` subcommands. Each takes its own argv (argv[0] is the subcommand's
 * name), prints results to stdout and errors to stderr, and returns the process exit code. */
#ifndef NNXR_APP_CLI_H
#define NNXR_APP_CLI_H

int nnxr_cli_run(int argc, char **argv);
int nnxr_cli_check(int argc, char **argv);
int nnxr_cli_devices(int argc, char **argv);
int nnxr_cli_plugins(int argc, char **argv);
int nnxr_cli_toml_json(int argc, char **argv);
int nnxr_cli_bench(int argc, char **argv);

#endif
