/* The coordinator's queue: combinations in cost order, expanded lazily. */
#include "config.h"

#include "queue.h"

#include "record.h"

#include <stdlib.h>
#include <string.h>

size_t sw_tasks_combo_row(const sw_tasks *t, uint64_t c)
{
    const sw_shard s = sw_tasks_shard(t);
    const uint64_t first_id = c * t->repeats;   /* <= n_tasks of the spec: no overflow */
    uint64_t row = first_id <= s.index ? 0 : (first_id - s.index + s.count - 1) / s.count;
    return row < t->n_tasks ? (size_t)row : t->n_tasks;
}

static double combo_cost(const sw_tasks *t, uint64_t c)
{
    sw_value v[SW_MAX_PARAMS];
    sw_space_params(t->space, c * t->repeats, v);
    return t->kind->cost(v);
}

static int runnable(const sw_queue *q, size_t row)
{
    return q->state[row] == SW_PENDING || (q->retry_failed && q->state[row] == SW_FAILED);
}

typedef struct {
    double cost;
    uint32_t combo;
} entry;

/* Decreasing cost, then increasing combination (and so row): a total
 * order, so the schedule does not depend on the sort algorithm. */
static int by_cost_then_combo(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->cost != b->cost)
        return a->cost > b->cost ? -1 : 1;
    return (a->combo > b->combo) - (a->combo < b->combo);
}

ssm_status sw_queue_init(sw_queue *q, const sw_tasks *t, const unsigned char *state, int retry_failed,
                         ssm_error *err)
{
    memset(q, 0, sizeof *q);
    q->t = t;
    q->state = state;
    q->retry_failed = retry_failed;
    size_t most = t->n_tasks < t->space->n_combos ? t->n_tasks : (size_t)t->space->n_combos;
    entry *e = malloc((most ? most : 1) * sizeof *e);
    sw_space_walk w;
    ssm_status st = e ? sw_tasks_walk_start(&w, t, 0, err)
                      : ssm_fail(err, SSM_ENOMEM, "out of memory for the queue of %zu tasks", t->n_tasks);
    if (st) {
        free(e);
        return st;
    }
    /* one pass over the rows: per combination its cost and rows to run */
    size_t n = 0, to_run = 0;
    for (size_t row = 0; sw_space_walk_next(&w); ++row) {
        if (w.new_combo) {
            if (to_run)
                ++n;
            e[n] = (entry){t->kind->cost(w.values), (uint32_t)w.combo};
            to_run = 0;
        }
        if (runnable(q, row)) {
            ++to_run;
            ++q->left;
            q->cost += e[n].cost;
        }
    }
    if (to_run)
        ++n;
    sw_space_walk_end(&w);
    qsort(e, n, sizeof *e, by_cost_then_combo);
    q->order = malloc((n ? n : 1) * sizeof *q->order);
    if (!q->order) {
        free(e);
        return ssm_fail(err, SSM_ENOMEM, "out of memory for the queue of %zu tasks", t->n_tasks);
    }
    for (size_t k = 0; k < n; ++k)
        q->order[k] = e[k].combo;
    q->n_entries = n;
    if (n) {
        q->head = 0;
        q->tail = n - 1;
        q->head_row = sw_tasks_combo_row(t, q->order[0]);
        q->head_cost = e[0].cost;
        q->tail_row = sw_tasks_combo_row(t, (uint64_t)q->order[n - 1] + 1);
        q->tail_cost = e[n - 1].cost;
    }
    free(e);
    return SSM_OK;
}

/* The next row to run from the head; one is left. */
static size_t from_head(sw_queue *q)
{
    for (;;) {
        size_t end = q->head == q->tail ? q->tail_row : sw_tasks_combo_row(q->t, (uint64_t)q->order[q->head] + 1);
        if (q->head_row >= end) {
            ++q->head;
            q->head_row = sw_tasks_combo_row(q->t, q->order[q->head]);
            q->head_cost = combo_cost(q->t, q->order[q->head]);
            continue;
        }
        if (runnable(q, q->head_row))
            return q->head_row++;
        ++q->head_row;
    }
}

/* The next row to run from the tail; one is left. */
static size_t from_tail(sw_queue *q)
{
    for (;;) {
        size_t begin = q->head == q->tail ? q->head_row : sw_tasks_combo_row(q->t, q->order[q->tail]);
        if (q->tail_row <= begin) {
            --q->tail;
            q->tail_row = sw_tasks_combo_row(q->t, (uint64_t)q->order[q->tail] + 1);
            q->tail_cost = combo_cost(q->t, q->order[q->tail]);
            continue;
        }
        if (runnable(q, q->tail_row - 1))
            return --q->tail_row;
        --q->tail_row;
    }
}

size_t sw_queue_take(sw_queue *q, int tail, double target, size_t max, uint64_t *rows)
{
    size_t n = 0;
    double cost = 0;
    while (q->left > 0 && n < max && (n == 0 || cost < target)) {
        size_t row = tail ? from_tail(q) : from_head(q);
        double c = tail ? q->tail_cost : q->head_cost;
        rows[n++] = row;
        cost += c;
        q->cost -= c;
        --q->left;
    }
    return n;
}

void sw_queue_free(sw_queue *q)
{
    if (q)
        free(q->order);
}
