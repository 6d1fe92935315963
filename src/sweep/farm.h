/* The pieces every role of the coordinator shares: the master (rank 0,
 * coordinator.c), the node leaders (leader.c) and the workers.
 *
 * Messages.  A worker (or a leader, for its whole group) sends RESULTS
 * messages [u32 flags] then [u32 len][packed record] ...; with
 * MSG_REQUEST it also asks for the next batch (a worker sends one per
 * batch), without it only delivers results (sent between the tasks of a
 * long batch, so a kill loses at most --sync seconds of a worker's work).
 * One tag for both keeps them in order.  The answer is a WORK message: the
 * task ids of a batch (uint64), none meaning "no more work for this
 * request".  Rank 0 tells each leader with a STOP message (one int: urgent
 * or not) when the sweep stops, so the leader drops the tasks it holds.
 * A leader that receives a stop signal itself says so in the flags of its
 * next RESULTS message (MSG_SIGNAL_SHIFT), and rank 0 stops the sweep.
 * With part files a leader writes its group's records itself and its
 * RESULTS messages carry (id, status) words (MSG_STATUSES). */
#ifndef SW_FARM_H
#define SW_FARM_H

#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox.h"
#include "record.h"
#include "tasks.h"

enum { TAG_RESULTS = 17, TAG_WORK = 18, TAG_STOP = 19 };

/* What MPI_Abort ends every rank with (a broken message between ranks,
 * no memory for one). */
#define ABORT_CODE 1

#define MSG_REQUEST 1u
/* Part files: the payload is (id << 2 | status) words (uint64), one per
 * task the leader's part journal records, instead of packed records. */
#define MSG_STATUSES 2u
/* Part files: the leader could not write its part journal (it said why
 * on stderr); rank 0 stops the sweep as after an output error. */
#define MSG_PART_FAILED 4u
/* bits 8-15 of the flags: a stop signal the sender received, 0 if none */
#define MSG_SIGNAL_SHIFT 8
/* Requests each worker keeps outstanding: one batch runs while the next
 * waits in the MPI buffer, so workers do not idle while rank 0 is busy. */
#define CREDITS 2
/* Upper bound of a batch for one rank, so one message stays small (a
 * leader's batch may hold this many per rank of its group). */
#define MAX_BATCH 4096
/* Up to this many ranks rank 0 computes too (in a thread of its own): on
 * a small machine a pure master would waste a core; on a large job
 * serving every worker promptly matters more than one more worker.  A
 * node leader follows the same rule for the ranks of its group. */
#define MASTER_COMPUTES_MAX_RANKS 32
/* After SIGTERM or SIGINT running tasks get this long before they are
 * abandoned and the files are closed: mpirun sends SIGKILL one second
 * after its SIGTERM (odls_base_sigkill_timeout), SLURM after KillWait. */
#define URGENT_GRACE 0.5
/* How long the main thread of rank 0 or a leader waits for its compute
 * thread's results before it looks at the messages again. */
#define WAIT_SLICE 0.05

/* The stop signal received (SIGTERM, SIGUSR1, SIGINT), 0 if none. */
extern volatile sig_atomic_t sw_stop_signal;

void sw_nap(double seconds);
/* CPU seconds of the calling thread (SSMSWEEP_COORD_STATS). */
double sw_thread_cpu(void);

/* A growable byte buffer for RESULTS messages. */
typedef struct {
    unsigned char *data;
    size_t len, cap;
} sw_bytes;

int sw_bytes_reserve(sw_bytes *b, size_t extra);
/* Empties b and puts the flags word (0) in front. */
int sw_bytes_begin_message(sw_bytes *b);
int sw_bytes_append_record(sw_bytes *b, const sw_record *rec);

/* Sends the RESULTS message in b with these flags to rank 0 of comm and
 * starts a new one in b. */
void sw_send_results(sw_outbox *box, MPI_Comm comm, sw_bytes *b, uint32_t flags);

/* Rank 0 (and a node leader) computes in a thread of its own, so its main
 * thread stays free to serve the workers, write the outputs and, on a
 * stop request, close the files in time however long the task at hand
 * takes.  Only the main thread calls MPI and HDF5. */
typedef struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake_thread, wake_main;
    sw_task_cursor cursor;       /* the thread's view of the tasks */
    const char *host, *ckpt_dir;
    int rank;                    /* the MPI rank its records name */
    uint64_t *ids;               /* the batch */
    size_t n_ids, next;
    int in_task;                 /* a task is running */
    sw_record *done;             /* finished, not yet collected */
    size_t n_done, cap_done;
    int quit, abandon, started, no_memory;
} sw_local;

int sw_local_start(sw_local *w, const sw_tasks *t, int rank, const char *host, const char *ckpt_dir);
/* No batch and no task in hand (also when never started). */
int sw_local_idle(sw_local *w);
/* A batch of n <= MAX_BATCH ids for an idle thread. */
void sw_local_give(sw_local *w, const uint64_t *ids, size_t n);
/* The records finished so far, waiting up to seconds for some: swaps
 * *recs (capacity *cap) with the thread's array, *n records. */
void sw_local_collect(sw_local *w, double seconds, sw_record **recs, size_t *n, size_t *cap);
/* Tells the thread to take no further task of its batch. */
void sw_local_abandon(sw_local *w);
/* Ends the thread unless it is inside a task (then it is left to run: the
 * process ends without waiting, see sw_coordinate_end); returns whether it
 * was left running. */
int sw_local_stop(sw_local *w);

/* A worker: asks rank 0 of comm for batches, runs them, sends the results
 * (those of a long batch every flush_interval seconds) until it has been
 * told CREDITS times that there is no more work. */
void sw_worker(MPI_Comm comm, const sw_tasks *t, int rank, const char *host, const char *ckpt_dir,
               double flush_interval);

#endif
