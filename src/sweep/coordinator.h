/* The MPI coordinator of `ssmsweep run`: dynamic master-worker scheduling
 * of a task table over the ranks of a communicator, with the journal and
 * the HDF5 file written by rank 0.
 *
 * Rank 0 is the master and, on up to 32 ranks, computes too, in a thread
 * of its own (so its main thread serves the workers and the outputs at any
 * moment), taking the cheapest tasks from the tail of the cost-ordered
 * queue while workers get the most expensive ones from the head, in
 * batches sized by guided self-scheduling on cost (a batch holds about
 * remaining_cost / (4 P) of work, at least one task).  Each worker keeps
 * two requests outstanding so a new batch is already waiting when it
 * finishes one, and sends the results of a long batch every --sync
 * seconds.  P = 1 is the same code with no workers.  With node leaders
 * (--leaders, leader.h) rank 0 serves one leader per node instead of the
 * node's ranks; the messages and the shared pieces are in farm.h. */
#ifndef SW_COORDINATOR_H
#define SW_COORDINATOR_H

#include <mpi.h>

#include "leader.h"
#include "progress.h"
#include "tasks.h"

/* How a sweep ended (the caller turns it into an exit status). */
typedef enum {
    SW_RUN_DONE,          /* every task done */
    SW_RUN_TASKS_FAILED,  /* finished, but some tasks failed (see --retry-failed) */
    SW_RUN_INTERRUPTED,   /* stopped by a signal or --walltime: resume with --resume */
    SW_RUN_REFUSED,       /* bad input (spec, options, existing files): nothing was written */
    SW_RUN_ERROR          /* runtime failure (I/O, MPI) */
} sw_run_status;

/* What rank 0 knows of the end of a run. */
typedef struct {
    sw_run_status status;     /* also on the other ranks */
    ssm_error err;            /* SW_RUN_REFUSED, SW_RUN_ERROR: why, one line */
    int after_progress;       /* the error came while progress lines were printed */
    size_t n_tasks, n_done, n_failed;
} sw_run_outcome;


typedef enum {
    SW_PARTS_NONE,        /* rank 0 writes every record */
    SW_PARTS_MERGE,       /* part journals, merged into OUT.h5 by rank 0 at the end */
    SW_PARTS_KEEP         /* part journals, left for a later --resume to merge */
} sw_part_files;

typedef struct {
    const char *output;          /* OUT.h5; the journal is OUT.h5.journal */
    const char *spec_path;
    const char *spec_text;
    const char *command_line;
    int resume, retry_failed, force;
    int merge_only;              /* with resume: absorb the journals (the part journals a
                                    --part-files=keep run left) into OUT.h5, run no task */
    double walltime;             /* seconds from start; 0: none */
    double walltime_margin;      /* stop handing out work this long before; < 0: auto */
    double progress_interval;    /* seconds between progress lines in batch logs */
    double sync_interval;        /* seconds between journal fsyncs (and HDF5 flushes) */
    int quiet;
    sw_say_fn say;               /* NULL: nothing is said */
    void *say_ctx;
    sw_leaders leaders;          /* --leaders: flat or one leader per node (leader.h) */
    sw_part_files part_files;    /* --part-files: under leaders, each leader writes its group's records
                                    to a part journal (journal.h) */
} sw_run_options;

/* Installs the SIGTERM / SIGUSR1 / SIGINT handlers that ask the sweep to
 * stop: no new tasks are handed out, what was received is made durable at
 * once; after SIGUSR1 running tasks finish, after SIGTERM or SIGINT they
 * get half a second and are then abandoned (resume runs them again);
 * everything is closed and the run ends SW_RUN_INTERRUPTED. */
void sw_install_stop_handlers(void);

/* Runs the sweep on comm (all ranks call it with the same tasks and
 * options).  Returns how it ended, the same on every rank, and fills
 * *out (on rank 0 with the error and the counts); prints nothing but the
 * progress lines (to stderr unless quiet) and what it hands to opt->say.
 * The caller (after MPI_Finalize) passes its exit status through
 * sw_coordinate_end. */
sw_run_status sw_coordinate(MPI_Comm comm, const sw_tasks *tasks, const sw_run_options *opt, sw_run_outcome *out);

/* Returns code, or ends the process with it at once where rank 0 left its
 * compute thread inside a task abandoned by a stop (files already
 * closed): no exit handler may run under that task. */
int sw_coordinate_end(int code);

#endif
