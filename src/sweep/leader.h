/* Hierarchical coordination: one leader per node between rank 0 and the
 * node's ranks.
 *
 * Flat, rank 0 answers every rank's requests and receives every rank's
 * results: O(ranks) messages.  With leaders, the ranks are split into
 * groups (one per node: MPI_Comm_split_type(MPI_COMM_TYPE_SHARED); or, to
 * test on one machine, K consecutive ranks); the lowest rank of a group is
 * its leader.  A leader asks rank 0 for batches sized for its whole group,
 * hands them out to its ranks in smaller batches (and computes too, in a
 * thread, as rank 0 does, in groups of up to MASTER_COMPUTES_MAX_RANKS),
 * and forwards its group's results to rank 0 in aggregated messages (the
 * packed records as the workers sent them, with each request and every
 * --sync / 2 seconds), so rank 0 handles O(groups) messages.  Rank 0's own
 * group talks to rank 0 directly, as does a rank alone in its group.  To
 * rank 0 a leader is a worker whose batches are larger; the workers of a
 * group run the same worker code, with their leader as "rank 0".
 *
 * Stops: rank 0 sends every active leader a STOP message when the sweep
 * stops (signal, --walltime, output error); the leader drops the tasks it
 * holds (they stay pending; --resume runs them) and answers its ranks'
 * requests with "no more work".  A leader that gets a stop signal itself
 * tells rank 0 in its next message. */
#ifndef SW_LEADER_H
#define SW_LEADER_H

#include <mpi.h>

#include "progress.h"
#include "tasks.h"

typedef enum {
    SW_LEADERS_AUTO,     /* one per node from SW_LEADERS_AUTO_MIN_RANKS ranks on */
    SW_LEADERS_NONE,     /* flat */
    SW_LEADERS_NODE,     /* one per node at any size */
    SW_LEADERS_GROUPS    /* one per group_size consecutive ranks (tests) */
} sw_leaders_mode;

/* From this many ranks on, --leaders auto (the default) puts one leader on
 * every node that holds more than one rank (README "Hierarchical
 * coordination": below it rank 0 answers every rank itself in a few
 * percent of its time even for 10 ms tasks). */
#define SW_LEADERS_AUTO_MIN_RANKS 256

typedef struct {
    sw_leaders_mode mode;
    int group_size;      /* SW_LEADERS_GROUPS */
} sw_leaders;

/* Parses "auto", "none", "node" or a group size K >= 1; -1 if none of
 * these. */
int sw_leaders_parse(const char *text, sw_leaders *out);

typedef enum {
    SW_ROLE_MASTER,      /* rank 0 */
    SW_ROLE_WORKER,      /* served by rank 0 directly */
    SW_ROLE_LEADER,      /* served by rank 0, serves its group */
    SW_ROLE_MEMBER       /* served by its group's leader */
} sw_role;

typedef struct {
    int hierarchical;
    sw_role role;
    MPI_Comm group;      /* leader and member: the group, leader = its rank 0 */
    int group_size;
    /* rank 0 only, per world rank: how many computing ranks a batch for
     * that rank feeds (1 a worker, its group's computing ranks for a
     * leader, 0 for ranks rank 0 does not serve), whether it leads */
    int *weight;
    unsigned char *leads;
    int max_weight, clients;  /* the ranks rank 0 serves */
    char description[160];    /* provenance attribute "coordination" */
} sw_layout;

/* Forms the groups and decides flat or hierarchical (collective over
 * world; rank 0 decides and the others follow).  0, or -1 when memory ran
 * out (on every rank). */
int sw_layout_build(MPI_Comm world, const sw_leaders *how, sw_layout *out);
void sw_layout_free(sw_layout *l);

/* The leader's loop, until its group has finished and rank 0 has said "no
 * more work" CREDITS times.  Returns whether its compute thread was left
 * inside a task abandoned by an urgent stop (see sw_coordinate_end).
 * With part_output (part files: OUT.h5), the group's records go to the
 * part journal OUT.h5.part<rank>.journal (synced every sync_interval
 * seconds, closed before the goodbye) and rank 0 gets their (id, status)
 * words only. */
typedef struct {
    const char *ckpt_dir;        /* checkpoints of the group's tasks */
    double sync_interval;        /* seconds */
    const char *part_output;     /* part files: OUT.h5; NULL: records go on to rank 0 */
    sw_say_fn say;               /* the leader's lines (progress.h); NULL: none */
    void *say_ctx;
} sw_leader_io;
int sw_leader(MPI_Comm world, const sw_layout *l, const sw_tasks *t, int rank, const char *host,
              const sw_leader_io *io);

#endif
