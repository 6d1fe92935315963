/* The sweep subcommands: plan (what a spec expands to), run (the MPI
 * coordinator), status (what a journal says), merge (shards into one
 * file) and report (the summary table of a results file). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpi.h>

#include "cli.h"
#include "experiments/classrun.h"
#include "experiments/registry.h"
#include "sweep/coordinator.h"
#include "sweep/h5out.h"
#include "sweep/journal.h"
#include "sweep/merge.h"
#include "sweep/outfiles.h"
#include "sweep/progress.h"
#include "sweep/spec.h"
#include "sweep/status.h"
#include "sweep/summary.h"

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

/* --shard I/N: plain decimal numbers, 0 <= I < N. */
static int parse_count(const char **p, unsigned long long *v)
{
    char *end;
    if (!isdigit((unsigned char)**p))
        return -1;
    errno = 0;
    *v = strtoull(*p, &end, 10);
    *p = end;
    return errno ? -1 : 0;
}

static int parse_shard(const char *cmd, const char *arg, unsigned long long shard[2], int loud)
{
    const char *p = arg;
    if (parse_count(&p, &shard[0]) == 0 && *p++ == '/' && parse_count(&p, &shard[1]) == 0 && *p == '\0' &&
        shard[0] < shard[1])
        return 0;
    if (loud)
        cli_error(cmd, "--shard: expected I/N with 0 <= I < N, got '%s'", arg);
    return -1;
}

/* Loads the spec (lazily: no table, every task computed from its id)
 * and, if shard[1] > 0, keeps shard shard[0] of shard[1]. */
static int load_tasks(const char *cmd, const char *path, const unsigned long long shard[2], sw_tasks *tasks,
                      char **text, int loud)
{
    ssm_error err;
    if (sw_spec_load_lazy(path, &ex_registry, tasks, text, &err) != SSM_OK) {
        if (loud)
            cli_fail(cmd, &err);
        return EXIT_USAGE;
    }
    if (shard[1] == 0 || sw_tasks_select_shard(tasks, shard[0], shard[1], &err) == SSM_OK)
        return 0;
    if (loud)
        cli_fail(cmd, &err);
    sw_tasks_free(tasks);
    free(*text);
    *text = NULL;
    return EXIT_ERROR;
}

/* Option parsing of the commands that take only --help and one argument
 * WHAT: returns -1 with *arg set to go on, or the exit status. */
static int help_and_argument(const char *cmd, const char *usage, const char *what, int argc, char **argv,
                             const char **arg)
{
    static const struct option longopts[] = {{"help", no_argument, 0, OPT_HELP}, {0, 0, 0, 0}};
    int id = cli_next_option(cmd, argc, argv, longopts);
    if (id == OPT_HELP) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (id != -1)
        return EXIT_USAGE;
    *arg = one_argument(cmd, what, argc, argv, 1);
    return *arg ? -1 : EXIT_USAGE;
}

/* Runs fn(ctx) in a child process and returns its exit status.  The HDF5
 * library can crash on a damaged file (a segmentation fault in a few of
 * a hundred files with random bytes): the crash then ends as one line
 * naming what was being read, exit status 2, and after_crash (if not
 * NULL) removes what the child left half-written. */
static int crash_guarded(const char *cmd, const char *what, int (*fn)(void *ctx), void *ctx,
                         void (*after_crash)(void *ctx))
{
    int status;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return fn(ctx);   /* no process to spare: unguarded */
    if (pid == 0) {
        int code = fn(ctx);
        fflush(stdout);
        fflush(stderr);
        _exit(code);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return EXIT_ERROR;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WTERMSIG(status);
    if (sig != SIGSEGV && sig != SIGBUS && sig != SIGABRT && sig != SIGFPE && sig != SIGILL) {
        /* killed, not crashed (kill -9, a job's end): so is this process */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    if (after_crash)
        after_crash(ctx);
    cli_error(cmd, "the HDF5 library crashed reading %s (signal %d): the file is damaged", what, WTERMSIG(status));
    return EXIT_USAGE;
}

/* ---- plan ------------------------------------------------------------------------ */

static const char plan_usage[] =
    "Usage: ssmsweep plan SPEC.yaml [--shard I/N] [--memory-limit SIZE] [--tasks]\n"
    "\n"
    "Prints what a sweep spec expands to, without running anything: the task kind,\n"
    "the number of tasks, each axis with its values, a cost estimate, and the\n"
    "estimated peak memory (the largest task, per axis value, and whether it fits\n"
    "in the memory of a rank, or in SIZE).  With --shard, what shard I of N holds\n"
    "(the tasks whose id % N == I) and its cost.  With --tasks, instead, every task\n"
    "as a tab-separated line: id, content hash and seed (16 hex digits each), cost\n"
    "and canonical text, after a header line.\n"
    "Exit status 2 with a one-line message FILE:LINE:COL for an invalid spec.\n";

enum { OPT_OUTPUT = 400, OPT_RESUME, OPT_RETRY, OPT_FORCE, OPT_WALLTIME, OPT_MARGIN, OPT_PROGRESS,
       OPT_SYNC, OPT_QUIET, OPT_SHARD, OPT_MEMORY_LIMIT, OPT_TASKS, OPT_LEADERS, OPT_PART_FILES,
       OPT_MERGE_ONLY };
/* Calls visit for every row of t in order, with its cost (the kind's
 * estimate, once per combination: its repeats cost the same). */
static int each_task(const sw_tasks *t, int want_hash, void (*visit)(void *ctx, size_t row, const sw_space_walk *w,
                                                                     double cost),
                     void *ctx)
{
    sw_space_walk w;
    ssm_error err;
    double cost = 0;
    if (sw_tasks_walk_start(&w, t, want_hash, &err) != SSM_OK) {
        cli_fail("plan", &err);
        return EXIT_ERROR;
    }
    for (size_t row = 0; sw_space_walk_next(&w); ++row) {
        if (w.new_combo)
            cost = t->kind->cost(w.values);
        visit(ctx, row, &w, cost);
    }
    sw_space_walk_end(&w);
    return 0;
}

/* plan --tasks: one line per task, what identifies it and what it costs */
static void print_task(void *ctx, size_t row, const sw_space_walk *w, double cost)
{
    char canon[4096];
    (void)row;
    sw_space_canonical(((const sw_tasks *)ctx)->space, w->id, canon, sizeof canon);
    printf("%llu\t%016llx\t%016llx\t%.17g\t%s\n", (unsigned long long)w->id, (unsigned long long)w->hash,
           (unsigned long long)w->seed, cost, canon);
}

/* The total cost of the rows and the first of the most expensive. */
typedef struct {
    double total, worst;
    size_t worst_row;
} cost_sum;

static void add_cost(void *ctx, size_t row, const sw_space_walk *w, double cost)
{
    cost_sum *c = ctx;
    (void)w;
    c->total += cost;   /* task by task: the same sum, to the bit, as over a table */
    if (cost > c->worst) {
        c->worst = cost;
        c->worst_row = row;
    }
}

/* "ids 1, 4, 7, ..." of a shard, shortened */
static void print_shard(const sw_tasks *t)
{
    const sw_shard s = sw_tasks_shard(t);
    printf("shard:    %llu/%llu: %zu of %llu tasks", (unsigned long long)s.index, (unsigned long long)s.count,
           t->n_tasks, (unsigned long long)s.n_tasks_total);
    for (size_t k = 0; k < t->n_tasks && k < 8; ++k)
        printf("%s%llu", k ? ", " : " (ids ", (unsigned long long)sw_task_id(t, k));
    printf("%s\n", t->n_tasks > 8 ? ", ...)" : t->n_tasks ? ")" : "");
}

int cmd_sweep_plan(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, OPT_HELP}, {"shard", required_argument, 0, OPT_SHARD},
        {"memory-limit", required_argument, 0, OPT_MEMORY_LIMIT}, {"tasks", no_argument, 0, OPT_TASKS},
        {0, 0, 0, 0}};
    unsigned long long shard[2] = {0, 0};
    const char *memory_limit = NULL;
    int id, list = 0;
    while ((id = cli_next_option_any_order("plan", argc, argv, "", longopts, 1)) != -1) {
        if (id == OPT_HELP) {
            fputs(plan_usage, stdout);
            return EXIT_OK;
        }
        if (id == OPT_TASKS) {
            list = 1;
            continue;
        }
        if (id == OPT_MEMORY_LIMIT) {
            memory_limit = optarg;
            continue;
        }
        if (id != OPT_SHARD || parse_shard("plan", optarg, shard, 1))
            return EXIT_USAGE;
    }
    const char *spec = one_argument("plan", "SPEC", argc, argv, 1);
    if (!spec || cli_memory_limit_ok("plan", memory_limit))
        return EXIT_USAGE;
    sw_tasks t;
    char *text = NULL;
    int code = load_tasks("plan", spec, shard, &t, &text, 1);
    if (code)
        return code;
    if (list) {
        printf("id\thash\tseed\tcost\tcanonical\n");
        code = each_task(&t, 1, print_task, &t);
        sw_tasks_free(&t);
        free(text);
        return code ? code : fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
    }
    cost_sum sum = {0, -1, 0};
    if ((code = each_task(&t, 0, add_cost, &sum))) {
        sw_tasks_free(&t);
        free(text);
        return code;
    }
    const double total = sum.total, worst = sum.worst;
    const size_t worst_id = sum.worst_row;
    const sw_shard whole = sw_tasks_shard(&t);
    printf("spec:     %s%s%s%s\n", spec, *t.name ? " (" : "", t.name, *t.name ? ")" : "");
    printf("kind:     %s: %s\n", t.kind->name, t.kind->summary);
    printf("tasks:    %llu", (unsigned long long)whole.n_tasks_total);
    for (size_t a = 0; a < t.n_axes; ++a)
        printf("%s%zu %s", a ? " x " : " = ", t.axes[a].n_values, t.axes[a].names);
    printf("%s%zu repeat%s\n", t.n_axes ? " x " : " = ", t.repeats, t.repeats == 1 ? "" : "s");
    printf("axes:\n");
    for (size_t a = 0; a < t.n_axes; ++a)
        printf("  %-16s %4zu  %s\n", t.axes[a].names, t.axes[a].n_values, t.axes[a].values);
    if (shard[1])
        print_shard(&t);
    char dur[32], par[32];
    sw_format_duration(total / COST_PER_CORE_SECOND, dur, sizeof dur);
    sw_format_duration(fmax(total / COST_PER_CORE_SECOND / 64, worst / COST_PER_CORE_SECOND), par, sizeof par);
    printf("cost:     %.3g units (about flops): ~%s on one core, >= %s on 64 ranks\n", total, dur, par);
    if (t.n_tasks) {
        char canon[512];
        sw_task_canonical(&t, worst_id, canon, sizeof canon);
        printf("largest:  task %llu, %.3g units: %s\n", (unsigned long long)sw_task_id(&t, worst_id), worst, canon);
    }
    code = cli_memory_plan(&t, memory_limit);
    printf("seed:     %llu (master), spec hash %016llx\n", (unsigned long long)t.master_seed,
           (unsigned long long)t.spec_hash);
    sw_tasks_free(&t);
    free(text);
    return code ? code : fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
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
    "  --merge-only           --resume that runs no task: merges the part\n"
    "                         journals a --part-files=keep run left (and rebuilds\n"
    "                         OUT.h5 from the journals); one rank is enough.\n"
    "                         Exit status 3 if tasks are left to run\n"
    "  --force                make OUT.h5 hold this spec even if it holds another\n"
    "                         (an edited spec): results of tasks whose parameters\n"
    "                         are unchanged are kept, wherever the tasks now are,\n"
    "                         the rest is computed; results of tasks no longer in\n"
    "                         the spec are dropped.  Refused while another\n"
    "                         process writes OUT.h5\n"
    "  --walltime T           stop handing out tasks before T (seconds, MM:SS,\n"
    "                         HH:MM:SS or D-HH:MM:SS) and exit with status 3\n"
    "  --walltime-margin S    how long before T (default min(60 s, T/10))\n"
    "  --progress S           seconds between progress lines in logs (default 10)\n"
    "  --sync S               seconds between journal fsyncs (default 1)\n"
    "  --quiet                no progress output\n"
    "  --memory-limit SIZE    the memory a rank may use (512M, 4G, none; default:\n"
    "                         physical memory, cgroup or SLURM limit, per rank on\n"
    "                         the node; SSMSWEEP_MEMORY_LIMIT): a sweep whose\n"
    "                         largest task needs more is refused before it starts\n"
    "  --shard I/N            run only shard I of N: the tasks whose id % N == I\n"
    "                         (OUT.h5 then holds those rows, with their ids in\n"
    "                         the whole spec; join the shards with ssmsweep merge);\n"
    "                         --resume needs the same --shard\n"
    "  --leaders MODE         hierarchical coordination: auto (default: one\n"
    "                         leader per node from 256 ranks on), node (one\n"
    "                         leader per node at any size), none (flat: rank 0\n"
    "                         serves every rank), K (one leader per K\n"
    "                         consecutive ranks: tests on one machine); also\n"
    "                         SSMSWEEP_LEADERS.  Results are the same in all\n"
    "                         modes\n"
    "  --part-files[=WHEN]    under leaders, each leader writes its group's\n"
    "                         results to OUT.h5.part<rank>.journal and rank 0\n"
    "                         only counts; WHEN merge (default): rank 0 merges\n"
    "                         them into OUT.h5 at the end; keep: the parts stay\n"
    "                         and a later --resume (one rank is enough) merges\n"
    "                         them.  For 10^5 and more results per second; OUT.h5\n"
    "                         shows the leaders' results only once merged\n"
    "\n"
    "SSMSWEEP_THREADS=1|2|auto: threads per rank for kind sfmnist (auto: 2 when a\n"
    "rank has two CPUs to itself); the results are the same bits.\n"
    "\n"
    "Exit status: 0 all done, 1 error, 2 bad input (nothing written), 3 interrupted\n"
    "by SIGTERM/SIGUSR1/SIGINT or --walltime, or --merge-only with tasks left\n"
    "(resume with --resume), 4 finished\n"
    "with failed tasks.  SIGUSR1 and --walltime let running tasks finish;\n"
    "SIGTERM and SIGINT give them half a second.  Under mpirun, Ctrl-C or\n"
    "SIGTERM to mpirun stops the ranks cleanly but mpirun itself exits with 1;\n"
    "send SIGUSR1 to mpirun for a 3.\n";

int cli_parse_part_files(const char *arg)
{
    return !arg || strcmp(arg, "merge") == 0 ? SW_PARTS_MERGE : strcmp(arg, "keep") == 0 ? SW_PARTS_KEEP : -1;
}

int cli_parse_walltime(const char *arg, double *out)
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

/* The lines a run has for its user (sw_run_options.say). */
static void say_run(void *ctx, int after_progress, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%sssmsweep run: %s\n", after_progress ? "\n" : "", line);
}

static int exit_of(sw_run_status status)
{
    switch (status) {
    case SW_RUN_DONE: return EXIT_OK;
    case SW_RUN_TASKS_FAILED: return EXIT_TASKS_FAILED;
    case SW_RUN_INTERRUPTED: return EXIT_INTERRUPTED;
    case SW_RUN_REFUSED: return EXIT_USAGE;
    case SW_RUN_ERROR: break;
    }
    return EXIT_ERROR;
}

int cmd_sweep_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, OPT_HELP},        {"output", required_argument, 0, OPT_OUTPUT},
        {"resume", no_argument, 0, OPT_RESUME},    {"retry-failed", no_argument, 0, OPT_RETRY},
        {"merge-only", no_argument, 0, OPT_MERGE_ONLY},
        {"force", no_argument, 0, OPT_FORCE},      {"walltime", required_argument, 0, OPT_WALLTIME},
        {"walltime-margin", required_argument, 0, OPT_MARGIN},
        {"progress", required_argument, 0, OPT_PROGRESS},
        {"sync", required_argument, 0, OPT_SYNC},  {"quiet", no_argument, 0, OPT_QUIET},
        {"shard", required_argument, 0, OPT_SHARD}, {"memory-limit", required_argument, 0, OPT_MEMORY_LIMIT},
        {"leaders", required_argument, 0, OPT_LEADERS}, {"part-files", optional_argument, 0, OPT_PART_FILES},
        {0, 0, 0, 0}};
    sw_run_options opt = {0};
    const char *memory_limit = NULL, *leaders = NULL;
    unsigned long long shard[2] = {0, 0};
    const int loud = launcher_rank() == 0;
    opt.walltime_margin = -1;
    opt.progress_interval = 10;
    opt.sync_interval = 1;
    /* -o is the one short option: permute so SPEC may come first */
    int argc_all = argc;
    char **argv_all = argv;
    int id;
    while ((id = cli_next_option_any_order("run", argc, argv, "o:", longopts, loud)) != -1) {
        double v;
        switch (id) {
        case OPT_HELP:
            if (loud)
                fputs(run_usage, stdout);
            return EXIT_OK;
        case 'o':
        case OPT_OUTPUT: opt.output = optarg; break;
        case OPT_RESUME: opt.resume = 1; break;
        case OPT_RETRY: opt.retry_failed = 1; break;
        case OPT_MERGE_ONLY: opt.merge_only = opt.resume = 1; break;
        case OPT_FORCE: opt.force = 1; break;
        case OPT_QUIET: opt.quiet = 1; break;
        case OPT_SHARD:
            if (parse_shard("run", optarg, shard, loud))
                return EXIT_USAGE;
            break;
        case OPT_MEMORY_LIMIT: memory_limit = optarg; break;
        case OPT_LEADERS: leaders = optarg; break;
        case OPT_PART_FILES:
            if (cli_parse_part_files(optarg) < 0) {
                if (loud)
                    cli_error("run", "--part-files: expected merge or keep, got '%s'", optarg);
                return EXIT_USAGE;
            }
            opt.part_files = (sw_part_files)cli_parse_part_files(optarg);
            break;
        case OPT_WALLTIME:
            if (cli_parse_walltime(optarg, &opt.walltime)) {
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
    if (opt.retry_failed && opt.merge_only) {
        if (loud)
            cli_error("run", "--retry-failed runs tasks, --merge-only runs none: choose one");
        return EXIT_USAGE;
    }
    if (opt.retry_failed && !opt.resume) {
        if (loud)
            cli_error("run", "--retry-failed goes with --resume");
        return EXIT_USAGE;
    }
    const char *threads = getenv("SSMSWEEP_THREADS");
    if (threads && sw_class_threads(threads, 1, 1, 1) == 0) {
        if (loud)
            cli_error("run", "SSMSWEEP_THREADS: expected 1, 2 or auto, got '%s'", threads);
        return EXIT_USAGE;
    }
    const char *leaders_from = "--leaders";
    if (!leaders && (leaders = getenv("SSMSWEEP_LEADERS")) != NULL)
        leaders_from = "SSMSWEEP_LEADERS";
    if (leaders && sw_leaders_parse(leaders, &opt.leaders)) {
        if (loud)
            cli_error("run", "%s: expected auto, none, node or a group size K >= 1, got '%s'", leaders_from, leaders);
        return EXIT_USAGE;
    }

    /* the whole spec and the names of the outputs are checked before MPI
     * starts or any file is touched */
    sw_outfiles names;
    ssm_error err;
    if (sw_outfiles_init(&names, opt.output, &err) != SSM_OK) {
        if (loud)
            cli_fail("run", &err);
        return EXIT_USAGE;
    }
    sw_tasks tasks;
    char *text = NULL;
    int code = load_tasks("run", opt.spec_path, shard, &tasks, &text, loud);
    if (code == 0 && (code = cli_memory_gate("run", &tasks, memory_limit, loud))) {
        sw_tasks_free(&tasks);
        free(text);
    }
    if (code)
        return code;
    opt.spec_text = text;
    char *command = join_args(argc_all, argv_all);
    opt.command_line = command ? command : "";

    /* before MPI_Init too: a stop signal during start-up must not kill us */
    sw_install_stop_handlers();
    sw_h5_library_begin();
    int provided;
    /* rank 0 computes in a thread; only the main thread calls MPI */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    sw_install_stop_handlers();
    opt.say = say_run;
    sw_run_outcome outcome;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    code = exit_of(sw_coordinate(MPI_COMM_WORLD, &tasks, &opt, &outcome));
    if (rank == 0 && (outcome.status == SW_RUN_REFUSED || outcome.status == SW_RUN_ERROR)) {
        char why[SSM_ERROR_MSG_MAX + SSM_PARAM_NAME_MAX + 8];
        cli_error_text(&outcome.err, why, sizeof why);
        fprintf(stderr, "%sssmsweep run: %s\n", outcome.after_progress ? "\n" : "", why);
    }
    MPI_Finalize();
    code = sw_coordinate_end(code);
    sw_h5_library_end();
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
    "tasks done, failed and pending, throughput, the most common failure reasons,\n"
    "and damage: a torn tail (a kill during a write; normal) apart from damaged\n"
    "regions in the middle (the disk or a copy; --resume keeps every valid record\n"
    "around them).  Exit status 2 for a missing or foreign journal, 1 if it\n"
    "cannot be read.\n";

int cmd_sweep_status(int argc, char **argv)
{
    const char *output = NULL;
    int code = help_and_argument("status", status_usage, "OUT.h5", argc, argv, &output);
    if (code >= 0)
        return code;
    sw_outfiles names;
    sw_journal_status s;
    ssm_error err;
    if (sw_outfiles_init(&names, output, &err) != SSM_OK) {
        cli_fail("status", &err);
        return EXIT_USAGE;
    }
    const char *path = names.journal;
    ssm_status st = sw_journal_status_read(path, &s, &err);
    if (st) {
        cli_fail("status", &err);
        return st == SSM_EINVAL ? EXIT_USAGE : EXIT_ERROR;
    }
    const sw_journal_header h = s.header;
    const sw_journal_scan scan = s.scan;
    const size_t done = s.n_done, failed = s.n_failed, pending = s.n_pending;
    /* a sweep holding the lock is writing: a cut-off last frame is a write in progress */
    const int live = sw_lock_held(output) == 1;
    printf("journal:  %s (%ld bytes, format version %u%s)\n", path, scan.size, h.version,
           !scan.torn ? ""
           : live     ? "; a write in progress"
                      : "; torn tail: the run was killed during a write, --resume cuts it off");
    if (scan.damaged)
        printf("damaged:  %zu region%s, %ld bytes from byte %ld (about %zu record%s lost); --resume keeps the %zu "
               "valid records and computes the lost tasks again\n", scan.damaged, scan.damaged == 1 ? "" : "s",
               scan.damaged_bytes, scan.first_damage, scan.frames_lost, scan.frames_lost == 1 ? "" : "s",
               scan.records);
    if (s.parts)
        printf("parts:    %zu part journal%s (%s.part<k>.journal) with %zu records%s%s\n", s.parts,
               s.parts == 1 ? "" : "s", output, s.part_records,
               s.part_damaged ? "; damaged regions skipped: " : "", s.part_damaged ? "see --resume" : "");
    printf("kind:     %s, spec hash %016llx\n", h.kind, (unsigned long long)h.spec_hash);
    if (h.shard.count > 1)
        printf("shard:    %llu/%llu (%llu of the spec's %llu tasks)\n", (unsigned long long)h.shard.index,
               (unsigned long long)h.shard.count, (unsigned long long)h.n_tasks,
               (unsigned long long)h.shard.n_tasks_total);
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
    for (int k = 0; k < SW_STATUS_REASONS && s.reason_count[k]; ++k)
        printf("failure:  %zu x %s\n", s.reason_count[k], s.reason[k]);
    if (pending && live)
        printf("state:    running (a process holds the lock on %s)\n", names.lock);
    else
        printf("state:    %s\n", pending == 0 ? (failed ? "finished with failures (--resume --retry-failed)" : "finished")
                                              : "incomplete (resume with --resume)");
    return EXIT_OK;
}

/* ---- merge ----------------------------------------------------------------------- */

static const char merge_usage[] =
    "Usage: ssmsweep merge A.h5 B.h5 ... -o OUT.h5 [--force]\n"
    "\n"
    "Joins results files of one spec (the shards of 'ssmsweep run --shard', or any\n"
    "files of the same spec and shard count) into OUT.h5 with the layout of an\n"
    "unsharded run: rows in task order, the same parameters, hashes, seeds and\n"
    "results.  It writes OUT.h5.journal too, so 'ssmsweep status OUT.h5' works and\n"
    "'ssmsweep run SPEC -o OUT.h5 --resume' runs the tasks still pending.  The\n"
    "inputs are only read; OUT.h5 appears once it is complete.\n"
    "\n"
    "  -o, --output OUT.h5    the merged file (required)\n"
    "  --force                replace an existing OUT.h5 and its journal\n"
    "  --quiet                no summary line on stdout\n"
    "\n"
    "Exit status: 0 every task done, 1 error, 2 bad input (nothing written: inputs\n"
    "of other specs or shard counts, a shard twice, OUT.h5 exists, not a results\n"
    "file), 3 written but tasks pending (missing shards or unfinished runs; a\n"
    "warning names them), 4 written, every task finished, some failed.\n";

typedef struct {
    const char *const *inputs;
    int n;
    const char *output;
    const sw_merge_options *opt;
    int quiet;
} merge_job;

static int merge(void *ctx);

static void merge_discard(void *ctx)
{
    sw_merge_discard(((const merge_job *)ctx)->output);
}

int cmd_merge(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, OPT_HELP},
                                              {"output", required_argument, 0, OPT_OUTPUT},
                                              {"force", no_argument, 0, OPT_FORCE},
                                              {"quiet", no_argument, 0, OPT_QUIET},
                                              {0, 0, 0, 0}};
    sw_merge_options opt = {.kinds = &ex_registry};
    const char *output = NULL;
    int quiet = 0, id, argc_all = argc;
    char **argv_all = argv;
    while ((id = cli_next_option_any_order("merge", argc, argv, "o:", longopts, 1)) != -1) {
        switch (id) {
        case OPT_HELP: fputs(merge_usage, stdout); return EXIT_OK;
        case 'o':
        case OPT_OUTPUT: output = optarg; break;
        case OPT_FORCE: opt.force = 1; break;
        case OPT_QUIET: quiet = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("merge", "missing the files to merge (see 'ssmsweep merge --help')");
        return EXIT_USAGE;
    }
    if (!output) {
        cli_error("merge", "missing -o OUT.h5 (see 'ssmsweep merge --help')");
        return EXIT_USAGE;
    }
    char *command = join_args(argc_all, argv_all), *inputs = join_args(argc - optind, argv + optind);
    opt.command_line = command ? command : "ssmsweep merge";
    opt.merged_from = inputs ? inputs : "";
    merge_job job = {(const char *const *)argv + optind, argc - optind, output, &opt, quiet};
    int code = crash_guarded("merge", "one of the inputs", merge, &job, merge_discard);
    free(command);
    free(inputs);
    return code;
}

static int merge(void *ctx)
{
    const merge_job *job = ctx;
    const char *output = job->output;
    sw_merge_summary sum;
    ssm_error err;
    sw_h5_library_begin();
    ssm_status st = sw_merge(job->inputs, (size_t)job->n, output, job->opt, &sum, &err);
    sw_h5_library_end();
    if (st != SSM_OK) {
        cli_fail("merge", &err);
        return sum.bad_input ? EXIT_USAGE : EXIT_ERROR;
    }
    if (!job->quiet)
        printf("merged %d file%s (shard count %llu) into %s: %llu tasks, %llu done, %llu failed, %llu pending\n",
               job->n, job->n == 1 ? "" : "s", (unsigned long long)sum.shard_count, output,
               (unsigned long long)sum.n_tasks, (unsigned long long)sum.n_done, (unsigned long long)sum.n_failed,
               (unsigned long long)sum.n_pending);
    if (sum.n_pending) {
        char missing[200] = "";
        if (sum.n_missing)
            snprintf(missing, sizeof missing, "; missing shard%s %s of %llu", sum.n_missing == 1 ? "" : "s",
                     sum.missing, (unsigned long long)sum.shard_count);
        cli_error("merge", "warning: %s has %llu of %llu tasks pending%s: 'ssmsweep run SPEC -o %s --resume' runs them",
                  output, (unsigned long long)sum.n_pending, (unsigned long long)sum.n_tasks, missing, output);
        return EXIT_INTERRUPTED;
    }
    if (fflush(stdout) != 0)
        return EXIT_ERROR;
    return sum.n_failed ? EXIT_TASKS_FAILED : EXIT_OK;
}

/* ---- report ---------------------------------------------------------------------- */

static const char report_usage[] =
    "Usage: ssmsweep report OUT.h5\n"
    "\n"
    "Prints the summary table of a results file: task counts, task time, tasks and\n"
    "time per MPI rank, failure reasons (the table of 'ssmsweep-plot summary', without\n"
    "Python).  Reads a file that a sweep is still writing, a shard and a merged file.\n"
    "Exit status 2 for a missing file, a file that is not HDF5 or not an ssmsweep\n"
    "results file.\n";

static int report(void *ctx)
{
    const char *path = ctx;
    sw_summary s;
    ssm_error err;
    sw_h5_library_begin();
    ssm_status st = sw_summary_read(path, &ex_registry, &s, &err);
    if (st == SSM_OK)
        sw_summary_print(&s, stdout);
    else
        cli_fail("report", &err);
    sw_summary_free(&s);
    sw_h5_library_end();
    if (st != SSM_OK)
        return st == SSM_EINVAL ? EXIT_USAGE : EXIT_ERROR;
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}

int cmd_report(int argc, char **argv)
{
    const char *path = NULL;
    int code = help_and_argument("report", report_usage, "OUT.h5", argc, argv, &path);
    if (code >= 0)
        return code;
    return crash_guarded("report", path, report, (void *)path, NULL);
}
