/* Shared pieces of the ssmsweep subcommands: strict number parsing and the
 * model / memory-function options every subcommand understands. */
#ifndef SSM_CLI_H
#define SSM_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "ssm/mf.h"
#include "ssm/model.h"
#include "sweep/tasks.h"

/* The exit statuses of every subcommand, the one list of them.  Job
 * scripts read them: the "Exit status" sections of README.md and
 * doc/ssmsweep.1 describe each (tests/cli_errors.sh checks that they list
 * exactly these). */
enum {
    EXIT_OK = 0,            /* success; run: every task done */
    EXIT_ERROR = 1,         /* runtime failure (I/O, MPI) */
    EXIT_USAGE = 2,         /* bad usage or input; nothing was written */
    EXIT_INTERRUPTED = 3,   /* run: stopped by a signal or --walltime, or --merge-only with tasks
                               left: resume with --resume */
    EXIT_TASKS_FAILED = 4   /* run, merge: finished, but some tasks failed (see --retry-failed) */
};

/* Prints "ssmsweep CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error of the libraries as the command line says it: a parameter at
 * fault spelt as its option ("--tau-max: ..."). */
void cli_error_text(const ssm_error *err, char *buf, size_t size);
/* Prints it: "ssmsweep CMD: --tau-max: ...". */
void cli_fail(const char *cmd, const ssm_error *err);

/* Long options shared by eig, mf and figure1; ids start at 256. */
enum {
    OPT_HELP = 256, OPT_INIT, OPT_N, OPT_DT, OPT_DISC, OPT_RHO, OPT_GROUPS, OPT_REAL_PART,
    OPT_IMAG_SCALE, OPT_SEED, OPT_FILE, OPT_METHOD, OPT_TAU_MAX, OPT_T, OPT_WASHOUT, OPT_RCOND,
    OPT_OUTDIR
};

#define CLI_MODEL_OPTIONS                                                              \
    {"init", required_argument, 0, OPT_INIT}, {"N", required_argument, 0, OPT_N},      \
    {"dt", required_argument, 0, OPT_DT}, {"disc", required_argument, 0, OPT_DISC},    \
    {"rho", required_argument, 0, OPT_RHO}, {"groups", required_argument, 0, OPT_GROUPS}, \
    {"real-part", required_argument, 0, OPT_REAL_PART},                                \
    {"imag-scale", required_argument, 0, OPT_IMAG_SCALE},                              \
    {"seed", required_argument, 0, OPT_SEED}, {"file", required_argument, 0, OPT_FILE}

#define CLI_MF_OPTIONS                                                                 \
    {"method", required_argument, 0, OPT_METHOD},                                      \
    {"tau-max", required_argument, 0, OPT_TAU_MAX}, {"T", required_argument, 0, OPT_T},  \
    {"washout", required_argument, 0, OPT_WASHOUT},                                    \
    {"rcond", required_argument, 0, OPT_RCOND}

/* Applies one parsed option to the model / mf options (either may be
 * NULL).  Returns 1 if consumed, 0 if not ours, -1 after printing an
 * error naming the option. */
int cli_apply_option(const char *cmd, int id, const char *arg, ssm_model *model,
                     ssm_mf_options *mf);

/* getopt_long over argv with our conventions (no getopt messages; an
 * unknown option or a missing argument is reported here). Returns the
 * option id, -1 at the end, or '?' after printing an error. */
int cli_next_option(const char *cmd, int argc, char **argv, const struct option *longopts);

/* The same for commands whose options and arguments come in any order
 * (getopt permutes argv: "merge A.h5 B.h5 -o C.h5"); shortopts lists the
 * short options besides -h in getopt's form ("o:"), each returned as its
 * letter.  With loud 0 nothing is printed (MPI ranks other than 0). */
int cli_next_option_any_order(const char *cmd, int argc, char **argv, const char *shortopts,
                              const struct option *longopts, int loud);

/* Strict parsers: the whole string must be a finite number in range. */
/* An option's least value: its row's in ssm/param.h (cli_parse_long's min). */
#define CLI_MIN(row) ((long)SSM_PARAM_MIN(row))
int cli_parse_double(const char *cmd, const char *opt, const char *arg, double *value);
int cli_parse_long(const char *cmd, const char *opt, const char *arg, long min, long *value);
int cli_parse_size(const char *cmd, const char *opt, const char *arg, size_t *value);
int cli_parse_u64(const char *cmd, const char *opt, const char *arg, unsigned long long *value);
/* A duration in seconds, MM:SS, HH:MM:SS or D-HH:MM:SS (SLURM's --time
 * forms) into seconds (> 0); -1 otherwise, printing nothing. */
int cli_parse_walltime(const char *arg, double *seconds);
/* --part-files' value: NULL or "merge" 1 (SW_PARTS_MERGE), "keep" 2
 * (SW_PARTS_KEEP); -1 otherwise, printing nothing. */
int cli_parse_part_files(const char *arg);

/* Memory (cmd_memory.c): plan's estimate lines; the refusal, exit status 2
 * and one line, of a sweep whose largest task cannot fit in a rank's
 * memory (limit: a --memory-limit value or NULL), or of one computation of
 * task_bytes (mf, train; `what` names it).  0 when it fits. */
int cli_memory_plan(const sw_tasks *t, const char *limit);
/* 0 if limit (or SSMSWEEP_MEMORY_LIMIT) is a size, else the message and 2. */
int cli_memory_limit_ok(const char *cmd, const char *limit);
int cli_memory_gate(const char *cmd, const sw_tasks *t, const char *limit, int loud);
int cli_memory_gate_bytes(const char *cmd, double task_bytes, const char *what);

int cmd_eig(int argc, char **argv);
int cmd_mf(int argc, char **argv);
int cmd_figure1(int argc, char **argv);
int cmd_sweep_plan(int argc, char **argv);
int cmd_sweep_run(int argc, char **argv);
int cmd_sweep_status(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_train(int argc, char **argv);

#endif
