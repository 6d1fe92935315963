/* ssmsweep: memory functions and sweeps of linear state space models. */
#include "config.h"

#include <malloc.h>
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

/* The allocator keeps what it got.  glibc gives the top of the heap back
 * (brk) as soon as more than the trim threshold is free there; rank 0's
 * HDF5 writer frees and allocates chunk buffers all run long (its chunk
 * caches hold a window of each column, not all of it), and each give-back
 * costs a TLB shootdown: 9300 brk calls took 5 of 8.3 s of a 10^6-task
 * noop sweep.  Fixed thresholds at the top of the range glibc's dynamic
 * ones move in (blocks below 32 MiB from the heap, up to 64 MiB kept). */
static void keep_heap(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

int main(int argc, char **argv)
{
    keep_heap();
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
