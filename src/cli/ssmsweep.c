/* ssmsweep: memory functions and sweeps of linear state space models. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"eig", cmd_eig, "print the discrete eigenvalues of a configuration"},
    {"mf", cmd_mf, "memory function and capacity of one model"},
    {"figure1", cmd_figure1, "the paper's figure-1 profiles (five configurations) as CSV"},
    {"train", cmd_train, "train a single-layer diagonal SSM on a long-memory task"},
    {"plan", cmd_sweep_plan, "what a sweep spec expands to, with a cost estimate"},
    {"run", cmd_sweep_run, "run a sweep over MPI ranks into one HDF5 file"},
    {"status", cmd_sweep_status, "summarise a running or finished sweep from its journal"},
    {"merge", cmd_merge, "join the shard files of a sweep (run --shard) into one"},
    {"report", cmd_report, "the summary table of a results file (as ssmsweep-plot summary)"},
    {"submit", cmd_submit, "submit a sweep to SLURM: one job, or an array of shards and a merge"},
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: ssmsweep COMMAND [options]   (ssmsweep COMMAND --help for details)\n\n"
                 "Commands:\n");
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; ++k)
        fprintf(out, "  %-10s %s\n", commands[k].name, commands[k].summary);
    fprintf(out, "\nssmsweep %s; see ssmsweep(1).\n", PACKAGE_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ssmsweep %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; ++k)
        if (strcmp(argv[1], commands[k].name) == 0)
            return commands[k].run(argc - 1, argv + 1);
    fprintf(stderr, "ssmsweep: unknown command '%s' (see 'ssmsweep --help')\n", argv[1]);
    return EXIT_USAGE;
}
