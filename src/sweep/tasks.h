/* The tasks of a sweep, enumerated from a spec.
 *
 * Task i has its parameter vector (one sw_value per parameter of the kind,
 * defaults filled in), a canonical text form "name=value;..." in the
 * kind's parameter order (reals as %.17g, so the text is exact; a
 * parameter flagged SW_PARAM_SILENT_DEFAULT is left out while it holds its
 * default), a 64-bit
 * content hash of that text, and a seed derived from (master seed, hash).
 * Ids are positions in enumeration order; the order of axes in the spec
 * fixes it.
 *
 * A table made from a spec holds its task space (space.h), from which
 * every task's values, hash, seed and cost are computed on demand: a lazy
 * table (sw_spec_parse_lazy) has nothing per task.  A materialized table
 * (sw_spec_parse, or built by hand in tests) also has them in arrays.
 * The accessors below serve both.
 *
 * A table may hold one shard of a spec (sw_tasks_select_shard): then its
 * rows are a subset of the spec's tasks and sw_task_id(t, row) is each
 * one's id in the whole spec.  Everything that runs or stores tasks (the
 * coordinator, the journal, the HDF5 writer) works on rows; only the
 * HDF5 task scale and the user see global ids (sw_task_id). */
#ifndef SW_TASKS_H
#define SW_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"
#include "space.h"

/* One axis of the sweep as the spec wrote it, for `ssmsweep plan`. */
typedef struct {
    char *names;            /* "N" or, for a zip group, "T+tau_max" */
    size_t n_values;
    char *values;           /* the values as text, "16, 32, 64" (may be shortened) */
} sw_axis_info;

/* Which part of a spec a table holds: the tasks whose global id % count
 * == index, out of n_tasks_total.  The whole spec is {0, 1, n_tasks}. */
typedef struct {
    uint64_t index, count, n_tasks_total;
} sw_shard;

typedef struct {
    const sw_kind *kind;
    char *name;             /* the spec's name, or "" */
    sw_axis_info *axes;
    size_t n_axes;
    size_t repeats;
    size_t n_tasks;         /* rows */
    sw_space *space;        /* the spec's task space; NULL for a table built by hand */
    sw_value *values;       /* n_tasks x kind->n_params, row-major; NULL: lazy */
    uint64_t *hash;         /* n_tasks; NULL: lazy */
    uint64_t *seed;         /* n_tasks; NULL: lazy */
    double *cost;           /* n_tasks; NULL: lazy */
    uint64_t master_seed;
    uint64_t spec_hash;     /* hash of kind, master seed and all task hashes in order
                               (of the whole spec, also in a shard) */
    uint64_t *global_id;    /* n_tasks, ascending, of a materialized shard; NULL otherwise */
    sw_shard shard;         /* meaningful when shard.count > 0 */
} sw_tasks;

/* The id in the whole spec of the task in row. */
static inline uint64_t sw_task_id(const sw_tasks *t, size_t row)
{
    if (t->global_id)
        return t->global_id[row];
    return t->shard.count ? t->shard.index + (uint64_t)row * t->shard.count : row;
}

/* The shard t holds; {0, 1, n_tasks} for a whole spec. */
static inline sw_shard sw_tasks_shard(const sw_tasks *t)
{
    if (t->shard.count)
        return t->shard;
    return (sw_shard){0, 1, t->n_tasks};
}

/* The parameters of a materialized table's row. */
static inline const sw_value *sw_task_params(const sw_tasks *t, size_t id)
{
    return t->values + id * t->kind->n_params;
}

/* The most parameters a kind has (test_spec checks every kind), so that a
 * task's values fit a buffer on the stack. */
#define SW_MAX_PARAMS 64

/* The parameters of row of any table: in the table, or computed into buf
 * (kind->n_params <= SW_MAX_PARAMS values). */
const sw_value *sw_task_values(const sw_tasks *t, size_t row, sw_value *buf);
uint64_t sw_task_hash(const sw_tasks *t, size_t row);
uint64_t sw_task_seed(const sw_tasks *t, size_t row);

/* A walk over the rows of a table made from a spec, in order (a walk of
 * its space over the shard's ids: row k is the k-th step). */
ssm_status sw_tasks_walk_start(sw_space_walk *w, const sw_tasks *t, int want_hash, ssm_error *err);

/* Calls visit with the first row of every combination of axis values among
 * the rows of t, and its parameters (every row of a table built by hand):
 * what does not depend on `repeat` (costs, memory, curve lengths) once. */
ssm_status sw_tasks_each_combo(const sw_tasks *t, void (*visit)(void *ctx, size_t row, const sw_value *v), void *ctx,
                               ssm_error *err);

/* The longest value (strlen) of string parameter param over the rows of t:
 * over the spec's values of it (so a shard's file has the column type of
 * the whole spec's), or over the rows of a table built by hand. */
size_t sw_tasks_max_strlen(const sw_tasks *t, int param);

/* One thread's view of any table's rows: the parameters, hash and seed of
 * the row it was moved to, computed from what differs from the row before
 * (neighbours, as batches mostly hold, cost little more than a walk). */
typedef struct {
    const sw_tasks *t;
    sw_space_walk walk;      /* of a lazy table's whole spec */
    const sw_value *values;  /* kind->n_params */
    uint64_t hash, seed;
} sw_task_cursor;

ssm_status sw_task_cursor_start(sw_task_cursor *c, const sw_tasks *t, ssm_error *err);
void sw_task_cursor_at(sw_task_cursor *c, size_t row);
void sw_task_cursor_end(sw_task_cursor *c);

/* Fills the per-task arrays of a lazy table from its space (the rows of
 * its shard, if any): SSM_ENOMEM leaves it lazy. */
ssm_status sw_tasks_materialize(sw_tasks *t, ssm_error *err);

/* Where canonical text goes: put(ctx, text, len) for each piece. */
typedef struct {
    void (*put)(void *ctx, const char *text, size_t len);
    void *ctx;
} sw_text_sink;

/* The canonical fragment of one parameter, "name=value;": integers %lld,
 * reals %.17g (distinct doubles, distinct texts), strings with backslash, ';'
 * and '=' escaped by a backslash; nothing for a parameter flagged
 * SW_PARAM_SILENT_DEFAULT at its default.  A task's canonical text is the
 * fragments of its parameters in the kind's order. */
void sw_param_canonical(const sw_param_desc *d, const sw_value *v, const sw_text_sink *out);

/* A value as `plan` shows it (%g: for reading; hashes use the exact
 * canonical text). */
void sw_value_shown(const sw_value *v, char *buf, size_t size);

/* Canonical text of task id into buf (truncated to size); returns the
 * length it needed. */
size_t sw_task_canonical(const sw_tasks *t, size_t id, char *buf, size_t size);

/* 64-bit FNV-1a of bytes, finalized with ssm_mix64; h is the FNV state to
 * start from, normally SW_HASH_INIT. */
uint64_t sw_hash_bytes(const void *data, size_t len, uint64_t h);
#define SW_HASH_INIT UINT64_C(0xcbf29ce484222325)

/* The FNV-1a state after data, not finalized: hashing data that comes in
 * pieces, sw_hash_bytes(a + b) == ssm_mix64(sw_hash_update(b,
 * sw_hash_update(a, SW_HASH_INIT))). */
uint64_t sw_hash_update(const void *data, size_t len, uint64_t h);

/* Keeps only shard index of count (round robin: global id % count ==
 * index, so every shard gets a fair mix of cheap and expensive tasks),
 * in id order, with their hashes, seeds and costs; spec_hash stays the
 * whole spec's, so the shards of one spec share it.  t must be a whole
 * spec.  SSM_EINVAL unless index < count; SSM_ENOMEM leaves t as it was.
 * A lazy table only records the shard. */
ssm_status sw_tasks_select_shard(sw_tasks *t, uint64_t index, uint64_t count, ssm_error *err);

/* The number of tasks in shard index of count of a spec of n tasks. */
uint64_t sw_shard_size(uint64_t n, uint64_t index, uint64_t count);

void sw_tasks_free(sw_tasks *t);

#endif
