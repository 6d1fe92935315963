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
#include "tasks.h"

/* Exit statuses of `ssmsweep run` (and merge), for job scripts. */
enum {
    SW_EXIT_OK = 0,           /* every task done */
    SW_EXIT_ERROR = 1,        /* runtime failure (I/O, MPI) */
    SW_EXIT_USAGE = 2,        /* bad input; nothing was written */
    SW_EXIT_INTERRUPTED = 3,  /* stopped by signal or --walltime: resume with --resume */
    SW_EXIT_TASKS_FAILED = 4  /* finished, but some tasks failed (see --retry-failed) */
};

typedef struct {
    const char *output;          /* OUT.h5; the journal is OUT.h5.journal */
    const char *spec_path;
    const char *spec_text;
    const char *command_line;
    int resume, retry_failed, force;
    double walltime;             /* seconds from start; 0: none */
    double walltime_margin;      /* stop handing out work this long before; < 0: auto */
    double progress_interval;    /* seconds between progress lines in batch logs */
    double sync_interval;        /* seconds between journal fsyncs (and HDF5 flushes) */
    int quiet;
    sw_leaders leaders;          /* --leaders: flat or one leader per node (leader.h) */
} sw_run_options;

/* The time now as ISO 8601 UTC, "2026-11-23T07:36:00Z" (for provenance). */
void sw_utc_now(char *buf, size_t size);

/* Installs the SIGTERM / SIGUSR1 / SIGINT handlers that ask the sweep to
 * stop: no new tasks are handed out, what was received is made durable at
 * once; after SIGUSR1 running tasks finish, after SIGTERM or SIGINT they
 * get half a second and are then abandoned (resume runs them again);
 * everything is closed and the exit status is SW_EXIT_INTERRUPTED. */
void sw_install_stop_handlers(void);

/* Runs the sweep on comm (all ranks call it with the same tasks and
 * options).  Returns the exit status, the same on every rank; rank 0
 * prints the messages.  The caller (after MPI_Finalize) passes the status
 * through sw_coordinate_end. */
int sw_coordinate(MPI_Comm comm, const sw_tasks *tasks, const sw_run_options *opt);

/* Returns code, or ends the process with it at once where rank 0 left its
 * compute thread inside a task abandoned by a stop (files already
 * closed): no exit handler may run under that task. */
int sw_coordinate_end(int code);

#endif
