/* The coordinator's queue: the rows still to run, most expensive first,
 * in a few bytes per task.
 *
 * The rows to run (pending, and failed ones with --retry-failed) in
 * decreasing cost, ties in increasing row: a total order, so the schedule
 * does not depend on the sort.  The repeats of a combination of axis
 * values cost the same and are neighbours in row order (a shard's rows of
 * one combination are too), so the queue is the combinations in that
 * order, each expanded into its rows to run when a cursor reaches it: 4
 * bytes per combination (16 more while it is sorted) instead of a row
 * index and a cost per task.  Workers take from the head, rank 0's own
 * thread from the tail (the cheapest).
 *
 * A row's state must not change while the row is still in the queue (the
 * coordinator changes it when the row's result arrives, after it was
 * taken). */
#ifndef SW_QUEUE_H
#define SW_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "ssm/error.h"
#include "tasks.h"

typedef struct {
    const sw_tasks *t;
    const unsigned char *state;  /* per row: sw_status */
    int retry_failed;
    uint32_t *order;             /* combinations with a row to run, in queue order */
    size_t n_entries;
    size_t head, tail;           /* entries head..tail (inclusive) are left */
    size_t head_row, tail_row;   /* next row at the head; one past the last row at the tail */
    double head_cost, tail_cost; /* the cost of a row of the head and the tail entry */
    double cost;                 /* of every row left (an estimate: it sizes batches) */
    size_t left;                 /* rows left */
} sw_queue;

/* state: n_tasks bytes, one sw_status per row of t (a table made from a
 * spec).  SSM_ENOMEM without memory for it. */
ssm_status sw_queue_init(sw_queue *q, const sw_tasks *t, const unsigned char *state, int retry_failed,
                         ssm_error *err);

/* Takes rows from the head (or from the tail) into rows: at least one if
 * any is left, then more while their cost stays below target, at most max.
 * Returns how many. */
size_t sw_queue_take(sw_queue *q, int from_tail, double target, size_t max, uint64_t *rows);

static inline int sw_queue_empty(const sw_queue *q)
{
    return q->left == 0;
}

void sw_queue_free(sw_queue *q);

/* The first row of combination c in the rows of t (n_tasks if none is
 * after it): combination c's rows are first_row(c) .. first_row(c + 1) - 1. */
size_t sw_tasks_combo_row(const sw_tasks *t, uint64_t c);

#endif
