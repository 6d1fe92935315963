/* The sweep subcommands: plan (what a spec expands to), run (the MPI
 * coordinator) and status (what a journal says). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "cli.h"
#include "sweep/coordinator.h"
#include "sweep/journal.h"
#include "sweep/progress.h"
#include "sweep/spec.h"

/* Cost units (about flops) per core-second, for plan's time estimate:
 * a conservative single-core rate of the MF engines. */
#define COST_PER_CORE_SECOND 1e9

/* Ranks other than 0 stay quiet about spec errors: before MPI_Init the
 * launcher's environment is all we have to tell who we are. */
static int launcher_rank(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t k = 0; k < sizeof vars / sizeof vars[0]; ++k) {
        const char *v = getenv(vars[k]);
        if (v && *v)
            return atoi(v);
    }
    return 0;
}

static int load_spec(const char *cmd, const char *path, sw_tasks *tasks, char **text, int loud)
{
    ssm_error err;
    ssm_status st = sw_spec_load(path, tasks, text, &err);
    if (st == SSM_OK)
        return 0;
    if (loud)
        cli_error(cmd, "%s", err.message);
    return -1;
}

/* The one positional argument after the options (argv[optind]); prints
 * "missing WHAT" or "unexpected argument" and returns NULL otherwise. */
static const char *one_argument(const char *cmd, const char *what, int argc, char **argv, int loud)
{
    if (optind == argc - 1)
        return argv[optind];
    if (loud) {
        if (optind >= argc)
            cli_error(cmd, "missing %s (see 'ssmsweep %s --help')", what, cmd);
        else
            cli_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    }
    return NULL;
}

/* Option parsing of the commands that take only --help: returns -1 to go
 * on, or the exit status. */
static int help_only(const char *cmd, const char *usage, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, OPT_HELP}, {0, 0, 0, 0}};
    int id = cli_next_option(cmd, argc, argv, longopts);
    if (id == -1)
        return -1;
    if (id == OPT_HELP) {
        fputs(usage, stdout);
        return EXIT_SUCCESS;
    }
    return EXIT_USAGE;
}

/* ---- plan ------------------------------------------------------------------------ */

static const char plan_usage[] =
    "Usage: ssmsweep plan SPEC.yaml\n"
    "\n"
    "Prints what a sweep spec expands to, without running anything: the task kind,\n"
    "the number of tasks, each axis with its values, and a cost estimate.  Exit\n"
    "status 2 with a one-line message FILE:LINE:COL for an invalid spec.\n";

int cmd_sweep_plan(int argc, char **argv)
{
    int code = help_only("plan", plan_usage, argc, argv);
    if (code >= 0)
        return code;
    const char *spec = one_argument("plan", "SPEC", argc, argv, 1);
    if (!spec)
        return EXIT_USAGE;
    sw_tasks t;
    char *text = NULL;
    if (load_spec("plan", spec, &t, &text, 1))
        return EXIT_USAGE;
    double total = 0, worst = -1;
    size_t worst_id = 0;
    for (size_t k = 0; k < t.n_tasks; ++k) {
        total += t.cost[k];
        if (t.cost[k] > worst) {
            worst = t.cost[k];
            worst_id = k;
        }
    }
    printf("spec:     %s%s%s%s\n", spec, *t.name ? " (" : "", t.name, *t.name ? ")" : "");
    printf("kind:     %s: %s\n", t.kind->name, t.kind->summary);
    printf("tasks:    %zu", t.n_tasks);
    for (size_t a = 0; a < t.n_axes; ++a)
        printf("%s%zu %s", a ? " x " : " = ", t.axes[a].n_values, t.axes[a].names);
    printf("%s%zu repeat%s\n", t.n_axes ? " x " : " = ", t.repeats, t.repeats == 1 ? "" : "s");
    printf("axes:\n");
    for (size_t a = 0; a < t.n_axes; ++a)
        printf("  %-16s %4zu  %s\n", t.axes[a].names, t.axes[a].n_values, t.axes[a].values);
    char dur[32], par[32];
    sw_format_duration(total / COST_PER_CORE_SECOND, dur, sizeof dur);
    sw_format_duration(fmax(total / COST_PER_CORE_SECOND / 64, worst / COST_PER_CORE_SECOND), par, sizeof par);
    printf("cost:     %.3g units (about flops): ~%s on one core, >= %s on 64 ranks\n", total, dur, par);
    if (t.n_tasks) {
        char canon[512];
        sw_task_canonical(&t, worst_id, canon, sizeof canon);
        printf("largest:  task %zu, %.3g units: %s\n", worst_id, worst, canon);
    }
    printf("seed:     %llu (master), spec hash %016llx\n", (unsigned long long)t.master_seed,
           (unsigned long long)t.spec_hash);
    sw_tasks_free(&t);
    free(text);
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- run ------------------------------------------------------------------------- */

static const char run_usage[] =
    "Usage: [mpirun -np P | srun] ssmsweep run SPEC.yaml -o OUT.h5 [options]\n"
    "\n"
    "Runs every task of the spec over the MPI ranks and writes OUT.h5, with the\n"
    "journal OUT.h5.journal beside it (the record of what is done).\n"
    "\n"
    "  -o, --output OUT.h5    results file (required)\n"
    "  --resume               continue an interrupted sweep: completed tasks are\n"
    "                         kept, OUT.h5 is rebuilt from the journal\n"
    "  --retry-failed         with --resume: run failed tasks again\n"
    "  --force                overwrite an existing OUT.h5 (without --resume), or\n"
    "                         resume a journal written for another spec\n"
    "  --walltime T           stop handing out tasks before T (seconds, MM:SS,\n"
    "                         HH:MM:SS or D-HH:MM:SS) and exit with status 3\n"
    "  --walltime-margin S    how long before T (default min(60 s, T/10))\n"
    "  --progress S           seconds between progress lines in logs (default 10)\n"
    "  --sync S               seconds between journal fsyncs (default 1)\n"
    "  --quiet                no progress output\n"
    "\n"
    "Exit status: 0 all done, 1 error, 2 bad input (nothing written), 3 interrupted\n"
    "by SIGTERM/SIGUSR1/SIGINT or --walltime (resume with --resume), 4 finished\n"
    "with failed tasks.\n";

enum { OPT_OUTPUT = 400, OPT_RESUME, OPT_RETRY, OPT_FORCE, OPT_WALLTIME, OPT_MARGIN, OPT_PROGRESS,
       OPT_SYNC, OPT_QUIET };

/* seconds, MM:SS, HH:MM:SS or D-HH:MM:SS (SLURM's --time forms) */
static int parse_walltime(const char *arg, double *out)
{
    double parts[3] = {0, 0, 0}, days = 0;
    int n = 0;
    const char *p = arg;
    char *end;
    const char *dash = strchr(arg, '-');
    if (dash) {
        days = strtod(arg, &end);
        if (end != dash || days < 0)
            return -1;
        p = dash + 1;
    }
    for (;;) {
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0 || n == 3)
            return -1;
        parts[n++] = v;
        if (*end == '\0')
            break;
        if (*end != ':')
            return -1;
        p = end + 1;
    }
    double s = 0;
    for (int k = 0; k < n; ++k)
        s = s * 60 + parts[k];
    if (dash && n == 3)
        s += days * 86400;
    else if (dash && n != 3)
        s = s * 3600 + days * 86400;   /* D-HH */
    if (!(s > 0))
        return -1;
    *out = s;
    return 0;
}

static char *join_args(int argc, char **argv)
{
    size_t len = 1;
    for (int k = 0; k < argc; ++k)
        len += strlen(argv[k]) + 1;
    char *s = calloc(len, 1);
    for (int k = 0; s && k < argc; ++k) {
        if (k)
            strcat(s, " ");
        strcat(s, argv[k]);
    }
    return s;
}

int cmd_sweep_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, OPT_HELP},        {"output", required_argument, 0, OPT_OUTPUT},
        {"resume", no_argument, 0, OPT_RESUME},    {"retry-failed", no_argument, 0, OPT_RETRY},
        {"force", no_argument, 0, OPT_FORCE},      {"walltime", required_argument, 0, OPT_WALLTIME},
        {"walltime-margin", required_argument, 0, OPT_MARGIN},
        {"progress", required_argument, 0, OPT_PROGRESS},
        {"sync", required_argument, 0, OPT_SYNC},  {"quiet", no_argument, 0, OPT_QUIET},
        {0, 0, 0, 0}};
    sw_run_options opt = {0};
    const int loud = launcher_rank() == 0;
    opt.walltime_margin = -1;
    opt.progress_interval = 10;
    opt.sync_interval = 1;
    /* -o is the one short option: permute so SPEC may come first */
    int argc_all = argc;
    char **argv_all = argv;
    int id;
    opterr = 0;
    while ((id = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        double v;
        switch (id) {
        case 'h':
        case OPT_HELP:
            if (loud)
                fputs(run_usage, stdout);
            return EXIT_SUCCESS;
        case 'o':
        case OPT_OUTPUT: opt.output = optarg; break;
        case OPT_RESUME: opt.resume = 1; break;
        case OPT_RETRY: opt.retry_failed = 1; break;
        case OPT_FORCE: opt.force = 1; break;
        case OPT_QUIET: opt.quiet = 1; break;
        case OPT_WALLTIME:
            if (parse_walltime(optarg, &opt.walltime)) {
                if (loud)
                    cli_error("run", "--walltime: expected seconds, MM:SS, HH:MM:SS or D-HH:MM:SS, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_MARGIN:
        case OPT_PROGRESS:
        case OPT_SYNC:
            if (cli_parse_double("run", id == OPT_MARGIN ? "walltime-margin" : id == OPT_PROGRESS ? "progress" : "sync",
                                 optarg, &v) || v < 0) {
                if (v < 0 && loud)
                    cli_error("run", "option '%s' must not be negative", argv[optind - 1]);
                return EXIT_USAGE;
            }
            if (id == OPT_MARGIN)
                opt.walltime_margin = v;
            else if (id == OPT_PROGRESS)
                opt.progress_interval = v;
            else
                opt.sync_interval = v;
            break;
        default:
            if (loud)
                cli_error("run", optopt ? "option '%s' needs a value (see 'ssmsweep run --help')"
                                        : "unknown option '%s' (see 'ssmsweep run --help')",
                          argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    opt.spec_path = one_argument("run", "SPEC", argc, argv, loud);
    if (!opt.spec_path)
        return EXIT_USAGE;
    if (!opt.output) {
        if (loud)
            cli_error("run", "missing -o OUT.h5 (see 'ssmsweep run --help')");
        return EXIT_USAGE;
    }
    if (opt.retry_failed && !opt.resume) {
        if (loud)
            cli_error("run", "--retry-failed goes with --resume");
        return EXIT_USAGE;
    }

    /* the whole spec is checked before MPI starts or any file is touched */
    sw_tasks tasks;
    char *text = NULL;
    if (load_spec("run", opt.spec_path, &tasks, &text, loud))
        return EXIT_USAGE;
    opt.spec_text = text;
    char *command = join_args(argc_all, argv_all);
    opt.command_line = command ? command : "";

    /* before MPI_Init too: a stop signal during start-up must not kill us */
    sw_install_stop_handlers();
    MPI_Init(&argc, &argv);
    sw_install_stop_handlers();
    int code = sw_coordinate(MPI_COMM_WORLD, &tasks, &opt);
    MPI_Finalize();
    sw_tasks_free(&tasks);
    free(text);
    free(command);
    return code;
}

/* ---- status ---------------------------------------------------------------------- */

static const char status_usage[] =
    "Usage: ssmsweep status OUT.h5\n"
    "\n"
    "Summarises a finished or running sweep from its journal OUT.h5.journal:\n"
    "tasks done, failed and pending, throughput, the most common failure reasons.\n";

#define MAX_REASONS 5

typedef struct {
    unsigned char *state;
    size_t n_tasks, records;
    size_t recomputed;   /* done tasks that were done again: should never happen */
    double first, last, busy;
    char reason[MAX_REASONS][SW_ERROR_MAX];
    size_t reason_count[MAX_REASONS];
} status_tally;

static int tally_record(void *ctx, const sw_record *rec)
{
    status_tally *s = ctx;
    if (rec->task >= s->n_tasks)
        return 0;
    s->recomputed += s->state[rec->task] == SW_DONE;
    s->state[rec->task] = (unsigned char)rec->status;
    ++s->records;
    if (s->records == 1 || rec->finished < s->first)
        s->first = rec->finished - rec->elapsed;
    if (rec->finished > s->last)
        s->last = rec->finished;
    s->busy += rec->elapsed;
    if (rec->status == SW_FAILED)
        for (int k = 0; k < MAX_REASONS; ++k)
            if (s->reason_count[k] == 0 || strcmp(s->reason[k], rec->error) == 0) {
                snprintf(s->reason[k], SW_ERROR_MAX, "%s", rec->error);
                ++s->reason_count[k];
                break;
            }
    return 0;
}

int cmd_sweep_status(int argc, char **argv)
{
    int code = help_only("status", status_usage, argc, argv);
    if (code >= 0)
        return code;
    const char *output = one_argument("status", "OUT.h5", argc, argv, 1);
    if (!output)
        return EXIT_USAGE;
    char path[4096];
    snprintf(path, sizeof path, "%s.journal", output);
    sw_journal_header h;
    ssm_error err;
    long valid;
    int torn;
    /* a first pass for the header (task count), a second with the tally */
    ssm_status st = sw_journal_read(path, &h, NULL, NULL, &valid, &torn, &err);
    if (st) {
        cli_error("status", "%s", err.message);
        return EXIT_USAGE;
    }
    status_tally s;
    memset(&s, 0, sizeof s);
    s.n_tasks = h.n_tasks;
    s.state = calloc(h.n_tasks ? h.n_tasks : 1, 1);
    if (!s.state) {
        cli_error("status", "out of memory");
        return EXIT_FAILURE;
    }
    st = sw_journal_read(path, &h, tally_record, &s, &valid, &torn, &err);
    if (st) {
        cli_error("status", "%s", err.message);
        free(s.state);
        return EXIT_USAGE;
    }
    size_t done = 0, failed = 0;
    for (size_t k = 0; k < h.n_tasks; ++k) {
        done += s.state[k] == SW_DONE;
        failed += s.state[k] == SW_FAILED;
    }
    size_t pending = h.n_tasks - done - failed;
    printf("journal:  %s (%ld bytes%s)\n", path, valid, torn ? ", torn tail: the run was killed; --resume truncates it" : "");
    printf("kind:     %s, spec hash %016llx\n", h.kind, (unsigned long long)h.spec_hash);
    printf("tasks:    %llu: %zu done, %zu failed, %zu pending (%.1f%% complete)\n",
           (unsigned long long)h.n_tasks, done, failed, pending,
           h.n_tasks ? 100.0 * (double)(done + failed) / (double)h.n_tasks : 100.0);
    if (s.records) {
        char span[32], busy[32];
        double wall = s.last - s.first;
        sw_format_duration(wall, span, sizeof span);
        sw_format_duration(s.busy, busy, sizeof busy);
        printf("time:     %s from first to last record, %s of task time (%.1f tasks/s)\n", span, busy,
               wall > 0 ? (double)s.records / wall : 0.0);
    }
    printf("records:  %zu (recomputed: %zu)\n", s.records, s.recomputed);
    for (int k = 0; k < MAX_REASONS && s.reason_count[k]; ++k)
        printf("failure:  %zu x %s\n", s.reason_count[k], s.reason[k]);
    printf("state:    %s\n", pending == 0 ? (failed ? "finished with failures (--resume --retry-failed)" : "finished")
                                          : "incomplete (running, or resume with --resume)");
    free(s.state);
    return EXIT_SUCCESS;
}
