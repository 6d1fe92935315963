/* ssmsweep submit: a sweep as SLURM batch jobs.  Nothing is computed or
 * written here: the sbatch command lines for jobs/ssmsweep.sbatch (one
 * job), or for jobs/ssmsweep-array.sbatch (a job array, one shard per
 * array task) and a jobs/ssmsweep-merge.sbatch job that waits for the
 * whole array, are built and run, or printed (--dry-run).  The scripts
 * do the work (resume, requeue at the time limit, merge); their
 * arguments are the contract:
 *   ssmsweep.sbatch       SPEC OUT.h5 [run options]
 *   ssmsweep-array.sbatch SPEC OUTPREFIX [run options]   (shard i writes OUTPREFIX.shard<i>of<n>.h5)
 *   ssmsweep-merge.sbatch OUT.h5 OUTPREFIX N
 *   ssmsweep-merge.sbatch --parts SPEC OUT.h5   (after a --part-files=keep job) */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "experiments/registry.h"
#include "sweep/coordinator.h"
#include "sweep/leader.h"
#include "sweep/spec.h"

#ifndef SSM_PKGDATADIR
#define SSM_PKGDATADIR "/usr/local/share/ssmsweep"
#endif

static const char submit_usage[] =
    "Usage: ssmsweep submit SPEC.yaml -o OUT.h5 [options] [-- sbatch options]\n"
    "\n"
    "Submits a sweep to SLURM with sbatch.  Without --shards: one job\n"
    "(jobs/ssmsweep.sbatch) that runs the sweep over its ranks and requeues itself\n"
    "at the time limit until it is done.  With --shards N: a job array of N shards\n"
    "(jobs/ssmsweep-array.sbatch; shard I writes OUT.shard<I>of<N>.h5, OUT being\n"
    "OUT.h5 without .h5) and a merge job (jobs/ssmsweep-merge.sbatch) that starts\n"
    "once every shard succeeded and joins them into OUT.h5.  With\n"
    "--part-files=keep: the sweep job, then a one-rank job that merges its part\n"
    "journals into OUT.h5 once it ended (jobs/ssmsweep-merge.sbatch --parts).\n"
    "\n"
    "  -o, --output OUT.h5    results file (required)\n"
    "  --shards N             N shards as a job array, then a merge job (N = 1: one job)\n"
    "  --ranks P              MPI ranks per job (sbatch --ntasks=P)\n"
    "  --time T               time limit per job (sbatch --time=T: MM:SS, HH:MM:SS,\n"
    "                         D-HH:MM:SS)\n"
    "  --max-restarts K       requeue a job at most K times at its time limit\n"
    "                         (SSMSWEEP_MAX_RESTARTS, default 20)\n"
    "  --leaders MODE         ssmsweep run's --leaders (auto, none, node, K)\n"
    "  --part-files[=WHEN]    ssmsweep run's --part-files; keep (for 10^4 ranks\n"
    "                         and 10 ms tasks) queues the one-rank merge job after\n"
    "                         the sweep job, whatever its end (afterany); not\n"
    "                         with --shards\n"
    "  --dry-run              print the sbatch commands (a shell script) and submit\n"
    "                         nothing\n"
    "  -- OPTIONS             passed to sbatch for every job (-- -p debug -A proj)\n"
    "\n"
    "The job scripts come from $SSMSWEEP_JOBS_DIR, else " SSM_PKGDATADIR "/jobs;\n"
    "the jobs run this ssmsweep (exported as SSMSWEEP, with SSMSWEEP_JOBS_DIR).\n"
    "Exit status: 0 submitted (or printed), 1 sbatch or a job script missing, or\n"
    "sbatch failing, 2 bad input (options, spec).\n";

enum { OPT_OUTPUT = 500, OPT_SHARDS, OPT_RANKS, OPT_TIME, OPT_RESTARTS, OPT_DRY_RUN, OPT_LEADERS, OPT_PART_FILES };

/* An sbatch command line under construction. */
typedef struct {
    char *argv[64];
    int argc;
    char *owned[8];   /* the arguments built here, freed at the end */
    int n_owned;
} command;

static void add(command *c, const char *arg)
{
    if (c->argc < (int)(sizeof c->argv / sizeof c->argv[0]) - 1)
        c->argv[c->argc++] = (char *)arg;
    c->argv[c->argc] = NULL;
}

/* Adds printf(fmt, ...) as an argument that c owns. */
static void addf(command *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(command *c, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0 || c->n_owned == (int)(sizeof c->owned / sizeof c->owned[0])) {
        free(n < 0 ? NULL : s);
        return;   /* too many arguments: caught by the length check in main */
    }
    c->owned[c->n_owned++] = s;
    add(c, s);
}

static void command_free(command *c)
{
    for (int k = 0; k < c->n_owned; ++k)
        free(c->owned[k]);
}

/* A word the shell reads back as arg: bare if it is made of safe
 * characters, else in single quotes. */
static void put_quoted(const char *arg, FILE *out)
{
    if (*arg && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+=./:,@%") ==
                    strlen(arg)) {
        fputs(arg, out);
        return;
    }
    fputc('\'', out);
    for (const char *p = arg; *p; ++p)
        if (*p == '\'')
            fputs("'\\''", out);
        else
            fputc(*p, out);
    fputc('\'', out);
}

/* The command as one shell line; raw (not quoted) is written as it is. */
static void print_command(const command *c, const char *before, const char *raw, const char *after)
{
    fputs(before, stdout);
    for (int k = 0; k < c->argc; ++k) {
        if (k)
            fputc(' ', stdout);
        if (c->argv[k] == raw)
            fputs(raw, stdout);
        else
            put_quoted(c->argv[k], stdout);
    }
    fputs(after, stdout);
    fputc('\n', stdout);
}

/* Whether sbatch can be run: some directory of PATH has it. */
static int on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    for (const char *p = path ? path : ""; *p;) {
        size_t len = strcspn(p, ":");
        if (len && (size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, name) < sizeof buf &&
            access(buf, X_OK) == 0)
            return 1;
        p += len + (p[len] == ':');
    }
    return 0;
}

/* Runs c; sbatch --parsable prints "JOBID[;CLUSTER]" on stdout, whose
 * job id goes to id.  Returns 0, or -1 after printing why. */
static int run_sbatch(const command *c, char *id, size_t size)
{
    int fd[2];
    if (pipe(fd) != 0) {
        cli_error("submit", "cannot run sbatch: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execvp(c->argv[0], c->argv);
        fprintf(stderr, "ssmsweep submit: cannot run %s: %s\n", c->argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    char out[256] = "", rest[256];
    size_t got = 0;
    ssize_t n;
    /* the first bytes are the answer; the rest is read only so that
     * sbatch never blocks on a full pipe */
    while (pid > 0 && (n = read(fd[0], got < sizeof out - 1 ? out + got : rest,
                                got < sizeof out - 1 ? sizeof out - 1 - got : sizeof rest)) > 0)
        got += got < sizeof out - 1 ? (size_t)n : 0;
    out[got] = '\0';
    close(fd[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        cli_error("submit", "cannot run sbatch: %s", strerror(errno));
        return -1;
    }
    size_t digits = strspn(out, "0123456789");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || digits == 0 || digits >= size) {
        out[strcspn(out, "\n")] = '\0';   /* its first line says enough */
        cli_error("submit", "sbatch failed (%s%d)%s%s", WIFEXITED(status) ? "exit status " : "signal ",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), *out ? ": " : "", out);
        return -1;
    }
    memcpy(id, out, digits);
    id[digits] = '\0';
    return 0;
}

typedef struct {
    const char *spec, *output;
    unsigned long long shards, ranks, restarts;
    const char *time;
    int has_restarts, dry_run;
    const char *leaders;      /* --leaders, passed to ssmsweep run */
    int part_files;           /* sw_part_files */
    char **extra;   /* sbatch options after "--" */
    int n_extra;
} submit_options;

/* sbatch, its options common to every job, then the job's own. */
static void start_command(command *c, const submit_options *o, const char *self, const char *dir,
                          int with_resources)
{
    char restarts[48] = "";
    add(c, "sbatch");
    add(c, "--parsable");
    if (with_resources && o->ranks)
        addf(c, "--ntasks=%llu", o->ranks);
    if (with_resources && o->time)
        addf(c, "--time=%s", o->time);
    /* the jobs run the ssmsweep that submitted them, not whatever PATH
     * has, with the helpers of the scripts submitted */
    if (o->has_restarts)
        snprintf(restarts, sizeof restarts, ",SSMSWEEP_MAX_RESTARTS=%llu", o->restarts);
    addf(c, "--export=ALL,SSMSWEEP=%s,SSMSWEEP_JOBS_DIR=%s%s", self, dir, restarts);
}

static void add_extra(command *c, const submit_options *o)
{
    for (int k = 0; k < o->n_extra; ++k)
        add(c, o->extra[k]);
}

/* Starts `next`, the job that waits for `first`: submits first (its id to
 * id) and adds --dependency=<dependency>ID; in a dry run adds dry_dependency
 * instead, which names the shell variable the printed first line sets.
 * Then the options after "--".  Returns 0, or -1 if first failed. */
static int start_dependent(command *next, const command *first, const submit_options *o, const char *self,
                           const char *dir, const char *dependency, const char *dry_dependency, char *id, size_t size)
{
    start_command(next, o, self, dir, 0);
    if (o->dry_run)
        add(next, dry_dependency);
    else if (run_sbatch(first, id, size) == 0)
        addf(next, "--dependency=%s%s", dependency, id);
    else
        return -1;
    add_extra(next, o);
    return 0;
}

/* The options of ssmsweep run the sweep's jobs pass on. */
static void add_run_options(command *c, const submit_options *o)
{
    if (o->leaders) {
        add(c, "--leaders");
        add(c, o->leaders);
    }
    if (o->part_files != SW_PARTS_NONE)
        add(c, o->part_files == SW_PARTS_KEEP ? "--part-files=keep" : "--part-files=merge");
}

static int parse_count_option(const char *opt, const char *arg, long min, unsigned long long *value)
{
    long v;
    if (cli_parse_long("submit", opt, arg, min, &v))
        return -1;
    *value = (unsigned long long)v;
    return 0;
}

static int parse_submit(int argc, char **argv, submit_options *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, 0, OPT_HELP},          {"output", required_argument, 0, OPT_OUTPUT},
        {"shards", required_argument, 0, OPT_SHARDS}, {"ranks", required_argument, 0, OPT_RANKS},
        {"time", required_argument, 0, OPT_TIME},    {"max-restarts", required_argument, 0, OPT_RESTARTS},
        {"dry-run", no_argument, 0, OPT_DRY_RUN},    {"leaders", required_argument, 0, OPT_LEADERS},
        {"part-files", optional_argument, 0, OPT_PART_FILES}, {0, 0, 0, 0}};
    /* what follows "--" is sbatch's; getopt would move the arguments
     * before it and lose the boundary */
    int end = 1;
    while (end < argc && strcmp(argv[end], "--") != 0)
        ++end;
    o->extra = argv + (end < argc ? end + 1 : argc);
    o->n_extra = end < argc ? argc - end - 1 : 0;
    int id;
    double seconds;
    while ((id = cli_next_option_any_order("submit", end, argv, "o:", longopts, 1)) != -1) {
        switch (id) {
        case OPT_HELP: fputs(submit_usage, stdout); return EXIT_OK;
        case 'o':
        case OPT_OUTPUT: o->output = optarg; break;
        case OPT_SHARDS:
            if (parse_count_option("shards", optarg, 1, &o->shards))
                return EXIT_USAGE;
            break;
        case OPT_RANKS:
            if (parse_count_option("ranks", optarg, 1, &o->ranks))
                return EXIT_USAGE;
            break;
        case OPT_RESTARTS:
            if (parse_count_option("max-restarts", optarg, 0, &o->restarts))
                return EXIT_USAGE;
            o->has_restarts = 1;
            break;
        case OPT_TIME:
            if (cli_parse_walltime(optarg, &seconds)) {
                cli_error("submit", "--time: expected MM:SS, HH:MM:SS or D-HH:MM:SS, got '%s'", optarg);
                return EXIT_USAGE;
            }
            o->time = optarg;
            break;
        case OPT_DRY_RUN: o->dry_run = 1; break;
        case OPT_LEADERS: {
            sw_leaders mode;
            if (sw_leaders_parse(optarg, &mode)) {
                cli_error("submit", "--leaders: expected auto, none, node or a group size K >= 1, got '%s'", optarg);
                return EXIT_USAGE;
            }
            o->leaders = optarg;
            break;
        }
        case OPT_PART_FILES:
            if ((o->part_files = cli_parse_part_files(optarg)) < 0) {
                cli_error("submit", "--part-files: expected merge or keep, got '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= end) {
        cli_error("submit", "missing SPEC (see 'ssmsweep submit --help')");
        return EXIT_USAGE;
    }
    if (optind < end - 1) {
        cli_error("submit", "unexpected argument '%s' (sbatch options go after --)", argv[optind + 1]);
        return EXIT_USAGE;
    }
    o->spec = argv[optind];
    if (!o->output) {
        cli_error("submit", "missing -o OUT.h5 (see 'ssmsweep submit --help')");
        return EXIT_USAGE;
    }
    if (o->part_files == SW_PARTS_KEEP && o->shards > 1) {
        cli_error("submit", "--part-files=keep goes with one job, not --shards (the shards' merge job cannot "
                  "take part journals): use --part-files");
        return EXIT_USAGE;
    }
    if (o->n_extra > 40) {
        cli_error("submit", "more than 40 sbatch options");
        return EXIT_USAGE;
    }
    return -1;
}

/* dir/name if it is there to read; else NULL after saying which. */
static char *job_script(const char *dir, const char *name)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    if (access(path, R_OK) != 0) {
        cli_error("submit", "cannot read the job script %s: %s (set SSMSWEEP_JOBS_DIR to ssmsweep's jobs/ directory)",
                  path, strerror(errno));
        free(path);
        return NULL;
    }
    return path;
}

/* One job: ssmsweep.sbatch SPEC OUT.h5; with --part-files=keep then the
 * merge of its part journals on one rank, once it ended however it ended
 * (afterany: after a stop the parts hold finished results too, and
 * --merge-only runs no task). */
static int submit_single(const submit_options *o, const char *dir, const char *self)
{
    command c = {0}, merge = {0};
    char id[32] = "", merge_id[32];
    int code = EXIT_ERROR;
    const int keep = o->part_files == SW_PARTS_KEEP;
    char *script = job_script(dir, "ssmsweep.sbatch");
    char *merge_script = script && keep ? job_script(dir, "ssmsweep-merge.sbatch") : NULL;
    if (!script || (keep && !merge_script))
        goto done;
    start_command(&c, o, self, dir, 1);
    add_extra(&c, o);
    add(&c, script);
    add(&c, o->spec);
    add(&c, o->output);
    add_run_options(&c, o);
    if (!keep) {
        if (o->dry_run) {
            print_command(&c, "", NULL, "");
            code = EXIT_OK;
        } else if (run_sbatch(&c, id, sizeof id) == 0) {
            printf("submitted job %s: %s -> %s\n", id, o->spec, o->output);
            code = EXIT_OK;
        }
        goto done;
    }
    const char *dependency = "\"--dependency=afterany:${sweep_job%%;*}\"";
    if (start_dependent(&merge, &c, o, self, dir, "afterany:", dependency, id, sizeof id))
        goto done;
    add(&merge, "--nodes=1");   /* after the sweep's own options, which may ask for more */
    add(&merge, "--ntasks=1");
    add(&merge, merge_script);
    add(&merge, "--parts");
    add(&merge, o->spec);
    add(&merge, o->output);
    if (o->dry_run) {
        print_command(&c, "sweep_job=$(", NULL, ") || exit");
        print_command(&merge, "", dependency, "");
        code = EXIT_OK;
    } else if (run_sbatch(&merge, merge_id, sizeof merge_id) == 0) {
        printf("submitted job %s (part journals kept) and merge job %s (one rank, once it ended): %s -> %s\n", id,
               merge_id, o->spec, o->output);
        code = EXIT_OK;
    } else {
        cli_error("submit", "job %s is queued without its merge job: 'ssmsweep run SPEC -o %s --merge-only' merges "
                  "its part journals once it ended", id, o->output);
    }
done:
    command_free(&c);
    command_free(&merge);
    free(script);
    free(merge_script);
    return code;
}

/* An array of shards writing PREFIX.shard<i>of<n>.h5, then the merge job
 * once all of them succeeded (afterok on an array waits for every task). */
static int submit_sharded(const submit_options *o, const char *dir, const char *self)
{
    command array = {0}, merge = {0};
    char id[32] = "", merge_id[32], *prefix = NULL;
    int code = EXIT_ERROR;
    char *array_script = job_script(dir, "ssmsweep-array.sbatch");
    char *merge_script = array_script ? job_script(dir, "ssmsweep-merge.sbatch") : NULL;
    size_t len = strlen(o->output);
    /* OUT.h5 -> OUT: the shards are OUT.shard<i>of<n>.h5 beside it */
    if (len > 3 && strcmp(o->output + len - 3, ".h5") == 0)
        len -= 3;
    if (!merge_script || !(prefix = strndup(o->output, len)))
        goto done;
    start_command(&array, o, self, dir, 1);
    addf(&array, "--array=0-%llu", o->shards - 1);
    add_extra(&array, o);
    add(&array, array_script);
    add(&array, o->spec);
    add(&array, prefix);
    add_run_options(&array, o);

    /* the dry run prints a script: the merge job depends on the array job
     * id that the first line captures */
    const char *dependency = "\"--dependency=afterok:${array_job%%;*}\"";
    if (start_dependent(&merge, &array, o, self, dir, "afterok:", dependency, id, sizeof id))
        goto done;
    add(&merge, merge_script);
    add(&merge, o->output);
    add(&merge, prefix);
    addf(&merge, "%llu", o->shards);
    if (o->dry_run) {
        print_command(&array, "array_job=$(", NULL, ") || exit");
        print_command(&merge, "", dependency, "");
        code = EXIT_OK;
    } else if (run_sbatch(&merge, merge_id, sizeof merge_id) == 0) {
        printf("submitted array job %s (%llu shards: %s.shard<i>of%llu.h5) and merge job %s (after all of them "
               "succeed): %s -> %s\n", id, o->shards, prefix, o->shards, merge_id, o->spec, o->output);
        code = EXIT_OK;
    } else {
        cli_error("submit", "the array job %s is queued without its merge job: 'scancel %s' cancels it", id, id);
    }
done:
    command_free(&array);
    command_free(&merge);
    free(array_script);
    free(merge_script);
    free(prefix);
    return code;
}

int cmd_submit(int argc, char **argv)
{
    submit_options o = {0};
    int code = parse_submit(argc, argv, &o);
    if (code >= 0)
        return code;
    /* a spec error is found now, not when the job starts after hours in the queue */
    sw_tasks tasks;
    char *text = NULL;
    ssm_error err;
    if (sw_spec_load_lazy(o.spec, &ex_registry, &tasks, &text, &err) != SSM_OK) {
        cli_fail("submit", &err);
        return EXIT_USAGE;
    }
    sw_tasks_free(&tasks);
    free(text);
    if (!o.dry_run && !on_path("sbatch")) {
        cli_error("submit", "sbatch not found on PATH (SLURM's client commands: Debian package slurm-client)");
        return EXIT_ERROR;
    }
    char self[PATH_MAX];
    if (!realpath("/proc/self/exe", self))
        snprintf(self, sizeof self, "ssmsweep");
    const char *dir = getenv("SSMSWEEP_JOBS_DIR");
    if (!dir || !*dir)
        dir = SSM_PKGDATADIR "/jobs";
    /* sbatch --export splits at commas */
    if (strchr(self, ',') || strchr(dir, ',')) {
        cli_error("submit", "cannot pass the path %s to the jobs: it holds a comma", strchr(self, ',') ? self : dir);
        return EXIT_ERROR;
    }
    return o.shards > 1 ? submit_sharded(&o, dir, self) : submit_single(&o, dir, self);
}
